#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/utf8.h"

static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_FORMAT_LOGFMT;
static int out_fd = 2;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
/* The last line was cut short by a failed write (disk full, a file size limit): the next line
 * starts on a new one rather than continue it. Guarded by write_lock. */
static bool line_open;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_parse_level(const char *text, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

int log_parse_format(const char *text, enum log_format *out)
{
    if (strcmp(text, "logfmt") == 0)
        *out = LOG_FORMAT_LOGFMT;
    else if (strcmp(text, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -EINVAL;
    return 0;
}

void log_setup(enum log_level level, enum log_format format, int fd)
{
    min_level = level;
    out_format = format;
    out_fd = fd;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level;
}

/* Room kept free for the line's end: `"}` or nothing, a truncation mark, the newline. */
#define RESERVE 24

static void put(struct log_line *l, const char *s, size_t n)
{
    if (l->truncated)
        return;
    if (l->len + n > LOG_LINE_MAX - RESERVE) {
        l->truncated = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* For the few bytes that close a line: RESERVE guarantees the room. */
static void put_reserved(struct log_line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n <= LOG_LINE_MAX) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
    }
}

static void puts_(struct log_line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Whether logfmt must quote the value: Go's logfmt quotes empty values and any holding a space,
 * '=', '"', a control character or something that is not UTF-8. */
static bool needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '=' || c == '"' || c == 0x7f)
            return true;
        if (c >= 0x80) {
            size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);
            /* Not UTF-8, or a C1 control (U+0080..U+009F: NEL, the 8-bit CSI), which the
             * quoted form escapes. */
            if (k == 0 || (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
                return true;
            i += k - 1;
        }
    }
    return false;
}

/* The body of a quoted string, escaped the same way for logfmt and JSON. A value that does not fit
 * is cut on a character boundary. */
static void put_escaped(struct log_line *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !l->truncated; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"':
            put(l, "\\\"", 2);
            continue;
        case '\\':
            put(l, "\\\\", 2);
            continue;
        case '\n':
            put(l, "\\n", 2);
            continue;
        case '\r':
            put(l, "\\r", 2);
            continue;
        case '\t':
            put(l, "\\t", 2);
            continue;
        default:
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(l, esc, 6);
        } else if (c < 0x80) {
            put(l, (const char *)&s[i], 1);
        } else {
            size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);
            /* C1 controls (U+0080..U+009F) move a terminal's cursor as C0 ones do. */
            if (k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)s[i + 1]);
                put(l, esc, 6);
                i++;
            } else if (k == 0) {
                put(l, "\\ufffd", 6);
            } else {
                put(l, s + i, k);
                i += k - 1;
            }
        }
    }
}

static void put_key(struct log_line *l, const char *key)
{
    if (l->format == LOG_FORMAT_JSON) {
        put(l, ",\"", 2);
        put_escaped(l, key, strlen(key));
        put(l, "\":", 2);
    } else {
        put(l, " ", 1);
        puts_(l, key);
        put(l, "=", 1);
    }
}

/* A field whose value is text: always a JSON string; quoted in logfmt when it has to be (or when
 * `quote` asks, as for msg). */
static void field_text(struct log_line *l, const char *key, const char *value, size_t n, bool quote)
{
    size_t mark = l->len;
    put_key(l, key);
    if (l->format == LOG_FORMAT_JSON || quote || needs_quotes(value, n)) {
        put(l, "\"", 1);
        size_t value_start = l->len;
        put_escaped(l, value, n);
        if (l->truncated && l->len > value_start) {
            put_reserved(l, "\""); /* a long value is cut, but stays a well-formed string */
            return;
        }
        put(l, "\"", 1);
    } else {
        put(l, value, n);
    }
    if (l->truncated)
        l->len = mark; /* never half a field */
}

/* A field whose value is a number or a boolean: bare in both formats. */
static void field_raw(struct log_line *l, const char *key, const char *value)
{
    size_t mark = l->len;
    put_key(l, key);
    puts_(l, value);
    if (l->truncated)
        l->len = mark;
}

bool log_begin(struct log_line *l, enum log_level level, const char *msg)
{
    l->on = log_enabled(level);
    if (!l->on)
        return false;
    l->format = out_format;
    l->len = 0;
    l->truncated = false;

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[80];
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    if (l->format == LOG_FORMAT_JSON) {
        puts_(l, "{\"ts\":\"");
        puts_(l, stamp);
        puts_(l, "\",\"level\":\"");
        puts_(l, level_names[level]);
        put(l, "\"", 1);
    } else {
        puts_(l, "ts=");
        puts_(l, stamp);
        puts_(l, " level=");
        puts_(l, level_names[level]);
    }
    field_text(l, "msg", msg, strlen(msg), true);
    return true;
}

void log_strn(struct log_line *l, const char *key, const char *value, size_t len)
{
    if (l->on)
        field_text(l, key, value ? value : "", value ? len : 0, false);
}

void log_str(struct log_line *l, const char *key, const char *value)
{
    log_strn(l, key, value, value ? strlen(value) : 0);
}

void log_u64(struct log_line *l, const char *key, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, value);
    if (l->on)
        field_raw(l, key, text);
}

void log_i64(struct log_line *l, const char *key, int64_t value)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRId64, value);
    if (l->on)
        field_raw(l, key, text);
}

void log_f64(struct log_line *l, const char *key, double value)
{
    if (!l->on)
        return;
    if (!isfinite(value)) {
        /* JSON has no NaN or Inf: written as strings, as Go's logfmt writes them bare. */
        const char *text = isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
        field_text(l, key, text, strlen(text), false);
        return;
    }
    char text[32];
    snprintf(text, sizeof(text), "%.6g", value);
    field_raw(l, key, text);
}

void log_bool(struct log_line *l, const char *key, bool value)
{
    if (l->on)
        field_raw(l, key, value ? "true" : "false");
}

void log_end(struct log_line *l)
{
    if (!l->on)
        return;
    /* RESERVE keeps room for this however full the line is. */
    bool json = l->format == LOG_FORMAT_JSON;
    if (l->truncated)
        put_reserved(l, json ? ",\"truncated\":true" : " truncated=true");
    put_reserved(l, json ? "}\n" : "\n");
    pthread_mutex_lock(&write_lock);
    if (line_open && write(out_fd, "\n", 1) == 1)
        line_open = false;
    size_t done = 0;
    while (done < l->len) {
        ssize_t n = write(out_fd, l->buf + done, l->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* stderr closed or full: a log line is not worth blocking or dying for */
        done += (size_t)n;
    }
    if (done > 0 && done < l->len)
        line_open = true;
    pthread_mutex_unlock(&write_lock);
    l->on = false;
}

void log_msg(enum log_level level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    char msg[LOG_LINE_MAX / 2];
    va_list ap;
    va_start(ap, format);
    vsnprintf(msg, sizeof(msg), format, ap);
    va_end(ap);
    struct log_line line;
    log_begin(&line, level, msg);
    log_end(&line);
}
