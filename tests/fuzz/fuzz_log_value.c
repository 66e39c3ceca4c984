/* The logger on arbitrary text in msg and in a field, in both formats: every line is one line,
 * ends with a newline, holds no control character (C0, DEL or C1), and fits LOG_LINE_MAX. */
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/log.h"

static int pipe_fds[2] = {-1, -1};

static void check_line(void)
{
    static char buf[2 * LOG_LINE_MAX];
    ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    FUZZ_CHECK(n > 0 && (size_t)n <= LOG_LINE_MAX);
    FUZZ_CHECK(buf[n - 1] == '\n');
    for (ssize_t i = 0; i < n - 1; i++) {
        FUZZ_CHECK((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
        /* Nor a C1 control (U+0080..U+009F), which terminals obey as C0 ones. */
        FUZZ_CHECK(!((unsigned char)buf[i] == 0xc2 && (unsigned char)buf[i + 1] >= 0x80 &&
                     (unsigned char)buf[i + 1] < 0xa0));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (pipe_fds[0] < 0) {
        if (pipe(pipe_fds) != 0)
            abort();
        fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
        fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);
    }
    char *text = fuzz_copy(data, size);
    for (int json = 0; json < 2; json++) {
        log_setup(LOG_DEBUG, json ? LOG_FORMAT_JSON : LOG_FORMAT_LOGFMT, pipe_fds[1]);
        struct log_line line;
        if (log_begin(&line, LOG_WARN, text)) { /* msg stops at a NUL, as a C string does */
            log_strn(&line, "value", text, size);
            log_str(&line, "after", "x");
            log_end(&line);
        }
        check_line();
    }
    free(text);
    return 0;
}
