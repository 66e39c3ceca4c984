#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static int pipe_fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe(pipe_fds) != 0)
        return -1;
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, 2);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* What was logged since the last call, with the timestamp checked and cut off. */
static const char *logged(void)
{
    static char buf[3 * LOG_LINE_MAX];
    ssize_t n = read(pipe_fds[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static const char *after_ts(const char *line, bool json)
{
    regex_t re;
    const char *pattern = json
                              ? "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                "\\.[0-9]{3}Z\","
                              : "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                "\\.[0-9]{3}Z ";
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED), 0);
    regmatch_t m;
    int rc = regexec(&re, line, 1, &m, 0);
    regfree(&re);
    assert_int_equal(rc, 0);
    return line + m.rm_eo;
}

static void test_logfmt_line_with_fields(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, pipe_fds[1]);
    struct log_line line;
    assert_true(log_begin(&line, LOG_INFO, "serving"));
    log_str(&line, "address", ":9256");
    log_u64(&line, "rules", 3);
    log_i64(&line, "delta", -2);
    log_bool(&line, "tls", false);
    log_f64(&line, "seconds", 0.25);
    log_str(&line, "empty", "");
    log_end(&line);
    assert_string_equal(after_ts(logged(), false),
                        "level=info msg=\"serving\" address=:9256 rules=3 delta=-2 tls=false "
                        "seconds=0.25 empty=\"\"\n");
}

static void test_json_line_with_fields(void **state)
{
    (void)state;
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON, pipe_fds[1]);
    struct log_line line;
    assert_true(log_begin(&line, LOG_ERROR, "bind failed"));
    log_str(&line, "address", "127.0.0.1:1");
    log_u64(&line, "errno", 98);
    log_f64(&line, "ratio", NAN);
    log_end(&line);
    assert_string_equal(after_ts(logged(), true), "\"level\":\"error\",\"msg\":\"bind failed\","
                                                  "\"address\":\"127.0.0.1:1\",\"errno\":98,"
                                                  "\"ratio\":\"NaN\"}\n");
}

static void test_hostile_values_are_escaped(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, pipe_fds[1]);
    struct log_line line;
    const char comm[] = "a b\"c\\d\ne\x1b[2J\xff\xc2\x85z=1";
    assert_true(log_begin(&line, LOG_WARN, "new\nline"));
    log_strn(&line, "comm", comm, sizeof(comm) - 1);
    log_str(&line, "utf8", "h\xc3\xa9llo");
    log_end(&line);
    assert_string_equal(after_ts(logged(), false),
                        "level=warn msg=\"new\\nline\" comm=\"a b\\\"c\\\\d\\ne\\u001b[2J\\ufffd"
                        "\\u0085z=1\" utf8=h\xc3\xa9llo\n");

    log_setup(LOG_INFO, LOG_FORMAT_JSON, pipe_fds[1]);
    assert_true(log_begin(&line, LOG_WARN, "x"));
    log_strn(&line, "comm", comm, sizeof(comm) - 1);
    log_end(&line);
    assert_string_equal(after_ts(logged(), true),
                        "\"level\":\"warn\",\"msg\":\"x\",\"comm\":\"a b\\\"c\\\\d\\ne\\u001b[2J"
                        "\\ufffd\\u0085z=1\"}\n");
}

static void test_levels_below_the_threshold_are_dropped(void **state)
{
    (void)state;
    log_setup(LOG_WARN, LOG_FORMAT_LOGFMT, pipe_fds[1]);
    struct log_line line;
    assert_false(log_begin(&line, LOG_INFO, "quiet"));
    log_str(&line, "k", "v");
    log_end(&line);
    log_msg(LOG_DEBUG, "quieter %d", 1);
    assert_string_equal(logged(), "");
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_ERROR));
    log_msg(LOG_ERROR, "loud %d", 2);
    assert_string_equal(after_ts(logged(), false), "level=error msg=\"loud 2\"\n");
}

static void test_parse_level_and_format(void **state)
{
    (void)state;
    enum log_level level;
    enum log_format format;
    assert_int_equal(log_parse_level("debug", &level), 0);
    assert_int_equal(level, LOG_DEBUG);
    assert_int_equal(log_parse_level("warn", &level), 0);
    assert_int_equal(level, LOG_WARN);
    assert_int_equal(log_parse_level("error", &level), 0);
    assert_int_equal(log_parse_level("warning", &level), -EINVAL);
    assert_int_equal(log_parse_level("INFO", &level), -EINVAL);
    assert_int_equal(log_parse_format("json", &format), 0);
    assert_int_equal(format, LOG_FORMAT_JSON);
    assert_int_equal(log_parse_format("logfmt", &format), 0);
    assert_int_equal(format, LOG_FORMAT_LOGFMT);
    assert_int_equal(log_parse_format("text", &format), -EINVAL);
}

static void test_a_long_line_is_cut_and_stays_one_line(void **state)
{
    (void)state;
    static char huge[3 * LOG_LINE_MAX];
    memset(huge, '\n', sizeof(huge) - 1);
    for (int json = 0; json < 2; json++) {
        log_setup(LOG_INFO, json ? LOG_FORMAT_JSON : LOG_FORMAT_LOGFMT, pipe_fds[1]);
        struct log_line line;
        assert_true(log_begin(&line, LOG_INFO, "long"));
        log_str(&line, "first", "kept");
        log_str(&line, "cmdline", huge);
        log_str(&line, "after", "dropped");
        log_end(&line);
        const char *out = logged();
        size_t len = strlen(out);
        assert_true(len <= LOG_LINE_MAX);
        assert_int_equal(out[len - 1], '\n');
        assert_null(memchr(out, '\n', len - 1));
        assert_non_null(strstr(out, json ? "\"first\":\"kept\"" : "first=kept"));
        assert_null(strstr(out, "dropped"));
        const char *end = json ? "\\n\",\"truncated\":true}\n" : "\\n\" truncated=true\n";
        assert_string_equal(out + len - strlen(end), end);
    }
}

/* C1 controls (U+009B is an 8-bit CSI, U+0085 is NEL) move a terminal's cursor: a value holding
 * one is quoted, so that they are escaped. */
static void test_c1_controls_are_quoted_and_escaped(void **state)
{
    (void)state;
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, pipe_fds[1]);
    struct log_line line;
    assert_true(log_begin(&line, LOG_WARN, "x"));
    log_str(&line, "comm",
            "a\xc2\x9b"
            "2Jb\xc2\x85"
            "c");
    log_end(&line);
    assert_string_equal(after_ts(logged(), false),
                        "level=warn msg=\"x\" comm=\"a\\u009b2Jb\\u0085c\"\n");
}

/* A disk that fills up mid-line leaves half a line: the next one starts on a line of its own. */
static void test_a_line_cut_by_a_failed_write_is_not_continued(void **state)
{
    (void)state;
    char path[] = "/tmp/pt-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, small = {60, 0};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0); /* a disk that fills up mid-line */
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT, fd);
    log_msg(LOG_WARN, "first line, long enough to be cut");
    setrlimit(RLIMIT_FSIZE, &old);
    log_msg(LOG_WARN, "second");
    static char buf[512];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    const char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    const char *second = strstr(buf + 1, "ts=");
    assert_non_null(second);
    assert_true(second == nl + 1);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logfmt_line_with_fields),
        cmocka_unit_test(test_json_line_with_fields),
        cmocka_unit_test(test_hostile_values_are_escaped),
        cmocka_unit_test(test_levels_below_the_threshold_are_dropped),
        cmocka_unit_test(test_parse_level_and_format),
        cmocka_unit_test(test_a_long_line_is_cut_and_stays_one_line),
        cmocka_unit_test(test_c1_controls_are_quoted_and_escaped),
        cmocka_unit_test(test_a_line_cut_by_a_failed_write_is_not_continued),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
