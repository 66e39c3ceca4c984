/* Flags parse the way Go's flag package parses them, so process-exporter command lines work. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "tracker/tracker.h"

static int parse(struct cli_options *o, char *err, int argc, char **argv)
{
    return cli_parse(argc, argv, o, err, 256);
}

static void test_defaults_match_process_exporter(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_string_equal(o.listen_address, ":9256");
    assert_string_equal(o.telemetry_path, "/metrics");
    assert_string_equal(o.procfs, "/proc");
    assert_null(o.config_path);
    assert_true(o.children);
    assert_false(o.debug);
    assert_false(o.config_check);
    assert_int_equal(o.max_connections, 4096);
    assert_int_equal(o.max_connections_per_ip, 512);
    assert_true(o.request_timeout_ns == 10000000000ull);
    assert_true(o.connection_timeout_ns == 30000000000ull);
}

static void test_one_or_two_dashes_equals_or_space(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack",
                    "-config.path",
                    "/etc/a.yml",
                    "--web.listen-address=127.0.0.1:1",
                    "--procfs",
                    "/host/proc",
                    "-web.telemetry-path=/m",
                    "-children=false",
                    "--debug"};
    assert_int_equal(parse(&o, err, 9, argv), CLI_OK);
    assert_string_equal(o.config_path, "/etc/a.yml");
    assert_string_equal(o.listen_address, "127.0.0.1:1");
    assert_string_equal(o.procfs, "/host/proc");
    assert_string_equal(o.telemetry_path, "/m");
    assert_false(o.children);
    assert_true(o.debug);
}

static void test_web_config_file(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_null(o.web_config_file);
    char *argv2[] = {"proctrack", "--web.config.file", "/etc/proctrack/web.yml"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_string_equal(o.web_config_file, "/etc/proctrack/web.yml");
    char *argv3[] = {"proctrack", "-web.config.file="};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_OK);
    assert_null(o.web_config_file);
}

static void test_bool_takes_no_separate_value(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    /* Like Go: "-children false" sets children to true and leaves "false" as an argument, where
     * the flags end: the rest is not parsed. */
    char *argv[] = {"proctrack", "-children=false", "-children", "false", "-debug"};
    assert_int_equal(parse(&o, err, 5, argv), CLI_OK);
    assert_true(o.children);
    assert_false(o.debug);
    assert_int_equal(o.first_arg, 3);
    char *argv2[] = {"proctrack", "-children=0", "-debug=T"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_false(o.children);
    assert_true(o.debug);
    char *argv3[] = {"proctrack", "-debug=maybe"};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_ERROR);
    assert_string_equal(err, "invalid value \"maybe\" for flag -debug: parse error");
}

/* process-exporter 0.7.10 (Go's flag package) takes `-procnames bash positional -x` as
 * -procnames bash, and ignores "positional" and everything after it, bad flags included. */
static void test_flags_end_at_the_first_argument(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack",     "-procnames",          "bash", "positional",
                    "-no-such-flag", "-web.listen-address", ":1"};
    assert_int_equal(parse(&o, err, 7, argv), CLI_OK);
    assert_string_equal(o.procnames, "bash");
    assert_string_equal(o.listen_address, ":9256");
    assert_int_equal(o.first_arg, 3);
    /* "--" ends the flags and is not an argument; a lone "-" is one. */
    char *argv2[] = {"proctrack", "-debug", "--", "-recheck"};
    assert_int_equal(parse(&o, err, 4, argv2), CLI_OK);
    assert_true(o.debug);
    assert_false(o.recheck);
    assert_int_equal(o.first_arg, 3);
    char *argv3[] = {"proctrack", "-", "-debug"};
    assert_int_equal(parse(&o, err, 3, argv3), CLI_OK);
    assert_false(o.debug);
    assert_int_equal(o.first_arg, 1);
    char *argv4[] = {"proctrack", "-debug"};
    assert_int_equal(parse(&o, err, 2, argv4), CLI_OK);
    assert_int_equal(o.first_arg, 2);
}

static void test_unknown_flag_and_missing_value(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack", "-nope"};
    assert_int_equal(parse(&o, err, 2, argv), CLI_ERROR);
    assert_string_equal(err, "flag provided but not defined: -nope");
    char *argv2[] = {"proctrack", "-config.path"};
    assert_int_equal(parse(&o, err, 2, argv2), CLI_ERROR);
    assert_string_equal(err, "flag needs an argument: -config.path");
    char *argv3[] = {"proctrack", "---x"};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_ERROR);
    assert_string_equal(err, "bad flag syntax: ---x");
}

static void test_help_flags(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    const char *forms[] = {"-h", "--h", "-help", "--help"};
    for (size_t i = 0; i < 4; i++) {
        char *argv[] = {"proctrack", (char *)forms[i]};
        assert_int_equal(parse(&o, err, 2, argv), CLI_OK);
        assert_true(o.help);
    }
}

static void test_log_level_and_format(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_int_equal(o.log_level, LOG_INFO);
    assert_int_equal(o.log_format, LOG_FORMAT_LOGFMT);
    assert_false(o.log_level_given);
    char *argv2[] = {"proctrack", "--log.level", "debug", "-log.format=json"};
    assert_int_equal(parse(&o, err, 4, argv2), CLI_OK);
    assert_int_equal(o.log_level, LOG_DEBUG);
    assert_int_equal(o.log_format, LOG_FORMAT_JSON);
    assert_true(o.log_level_given);
    /* Given as its default, the level still counts as given: -debug leaves it alone. */
    char *argv3[] = {"proctrack", "-log.level=info", "-debug"};
    assert_int_equal(parse(&o, err, 3, argv3), CLI_OK);
    assert_int_equal(o.log_level, LOG_INFO);
    assert_true(o.log_level_given);
    char *argv4[] = {"proctrack", "-log.level=verbose"};
    assert_int_equal(parse(&o, err, 2, argv4), CLI_ERROR);
    assert_string_equal(err, "invalid value \"verbose\" for flag -log.level: must be debug, "
                             "info, warn or error");
    char *argv5[] = {"proctrack", "-log.format", "JSON"};
    assert_int_equal(parse(&o, err, 3, argv5), CLI_ERROR);
    assert_string_equal(err, "invalid value \"JSON\" for flag -log.format: must be logfmt or json");
}

static void test_go_durations(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(cli_parse_duration("30s", &ns), 0);
    assert_true(ns == 30000000000ull);
    assert_int_equal(cli_parse_duration("1h30m", &ns), 0);
    assert_true(ns == 5400000000000ull);
    assert_int_equal(cli_parse_duration("1.5h", &ns), 0);
    assert_true(ns == 5400000000000ull);
    assert_int_equal(cli_parse_duration("300ms", &ns), 0);
    assert_true(ns == 300000000ull);
    assert_int_equal(cli_parse_duration("0", &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(cli_parse_duration("10", &ns), -22);
    assert_int_equal(cli_parse_duration("", &ns), -22);
    assert_int_equal(cli_parse_duration("5x", &ns), -22);
    assert_int_equal(cli_parse_duration("-5s", &ns), -22);
    assert_int_equal(cli_parse_duration("1e3s", &ns), -22);
    assert_int_equal(cli_parse_duration("0x10s", &ns), -22);
    assert_int_equal(cli_parse_duration("1.2.3s", &ns), -22);
    assert_int_equal(cli_parse_duration("2562048h", &ns), -ERANGE); /* past Go's int64 */
    assert_int_equal(cli_parse_duration(".5s", &ns), 0);
    assert_true(ns == 500000000ull);
}

/* A value a narrower type would cut down is refused, naming the flag, rather than wrapped:
 * 4294967296s of timeout used to become 0 (none), 4294967297 connections 1. */
static void test_numbers_out_of_range_are_refused(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    static const struct {
        const char *arg, *message;
    } refused[] = {
        {"-web.connection-timeout=4294967296s",
         "invalid value \"4294967296s\" for flag -web.connection-timeout: must be at most 24h"},
        {"-web.connection-timeout=24h0m0.001s",
         "invalid value \"24h0m0.001s\" for flag -web.connection-timeout: must be at most 24h"},
        {"-web.max-connections=4294967297",
         "invalid value \"4294967297\" for flag -web.max-connections: must be between 1 and "
         "1048576"},
        {"-web.max-connections=0",
         "invalid value \"0\" for flag -web.max-connections: must be between 1 and 1048576"},
        {"-web.max-connections=18446744073709551616",
         "invalid value \"18446744073709551616\" for flag -web.max-connections: value out of "
         "range"},
        {"-web.max-connections-per-ip=1048577",
         "invalid value \"1048577\" for flag -web.max-connections-per-ip: must be at most "
         "1048576"},
        {"-once-to-stdout-delay=2562048h",
         "invalid value \"2562048h\" for flag -once-to-stdout-delay: value out of range"},
        {"-recheck-with-time-limit=9999999999999999999ns",
         "invalid value \"9999999999999999999ns\" for flag -recheck-with-time-limit: value out "
         "of range"},
        {"-web.max-connections=-1",
         "invalid value \"-1\" for flag -web.max-connections: parse error"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char *argv[] = {"proctrack", (char *)refused[i].arg};
        assert_int_equal(parse(&o, err, 2, argv), CLI_ERROR);
        assert_string_equal(err, refused[i].message);
    }
}

static void test_numbers_at_the_ends_of_their_range(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack", "-web.connection-timeout=24h", "-web.max-connections=1048576",
                    "-web.max-connections-per-ip=0", "-once-to-stdout-delay=2562047h"};
    assert_int_equal(parse(&o, err, 5, argv), CLI_OK);
    assert_true(o.connection_timeout_ns == 24ull * 3600 * 1000000000);
    assert_true(o.max_connections == 1048576);
    assert_true(o.max_connections_per_ip == 0);
    assert_true(o.once_to_stdout_delay_ns == 2562047ull * 3600 * 1000000000);
    char *argv2[] = {"proctrack", "-web.connection-timeout=0", "-web.max-connections=1"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_true(o.connection_timeout_ns == 0);
    assert_true(o.max_connections == 1);
}

static void test_thread_names_max(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_true(o.thread_names_max == TRACKER_THREAD_NAMES_MAX);
    char *argv2[] = {"proctrack", "-threads.max-names", "1"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_true(o.thread_names_max == 1);
    char *argv3[] = {"proctrack", "-threads.max-names=0"};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_ERROR);
    assert_string_equal(err, "invalid value \"0\" for flag -threads.max-names: must be between 1 "
                             "and 65536");
    /* What -h names is what the output shows. */
    assert_string_equal(CLI_THREAD_NAME_OVERFLOW, TRACKER_THREAD_NAME_OVERFLOW);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_process_exporter),
        cmocka_unit_test(test_one_or_two_dashes_equals_or_space),
        cmocka_unit_test(test_web_config_file),
        cmocka_unit_test(test_bool_takes_no_separate_value),
        cmocka_unit_test(test_flags_end_at_the_first_argument),
        cmocka_unit_test(test_unknown_flag_and_missing_value),
        cmocka_unit_test(test_help_flags),
        cmocka_unit_test(test_log_level_and_format),
        cmocka_unit_test(test_go_durations),
        cmocka_unit_test(test_numbers_out_of_range_are_refused),
        cmocka_unit_test(test_numbers_at_the_ends_of_their_range),
        cmocka_unit_test(test_thread_names_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
