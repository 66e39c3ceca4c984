/* The leveled logger every message goes through: logfmt (the default) or JSON lines on stderr,
 *   ts=2026-11-27T10:00:00.000Z level=info msg="serving" address=:9256
 *   {"ts":"2026-11-27T10:00:00.000Z","level":"info","msg":"serving","address":":9256"}
 * as exporters built on Prometheus's libraries log. Values are escaped, so a hostile process name
 * or request cannot split a line or forge a field: quotes, backslashes and control characters are
 * escaped, and bytes that are not UTF-8 become U+FFFD.
 *
 * A line is built on the stack and written with one write(2); nothing is allocated, so the logger
 * also works when memory has run out. Usage:
 *
 *     struct log_line line;
 *     if (log_begin(&line, LOG_WARN, "cmdline regex gave up")) {
 *         log_str(&line, "rule", rule);
 *         log_u64(&line, "count", n);
 *         log_end(&line);
 *     }
 *
 * or, for a message without fields, log_msg(LOG_INFO, "reloaded %zu rules", n). Thread-safe. */
#ifndef PROCTRACK_UTIL_LOG_H
#define PROCTRACK_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* "debug", "info", "warn", "error"; "logfmt", "json". Return 0 or -EINVAL. */
int log_parse_level(const char *text, enum log_level *out);
int log_parse_format(const char *text, enum log_format *out);

/* Lines below `level` are dropped. Writes go to `fd` (2 until set). Not for use while other
 * threads log: call at start-up. */
void log_setup(enum log_level level, enum log_format format, int fd);
bool log_enabled(enum log_level level);

#define LOG_LINE_MAX 4096

struct log_line {
    bool on; /* false when the level is filtered out: the other calls do nothing */
    enum log_format format;
    size_t len;
    bool truncated;
    char buf[LOG_LINE_MAX];
};

/* Starts a line with ts, level and msg. Returns false (and the line is off) when `level` is
 * filtered out. */
bool log_begin(struct log_line *line, enum log_level level, const char *msg);
void log_str(struct log_line *line, const char *key, const char *value);
void log_strn(struct log_line *line, const char *key, const char *value, size_t len);
void log_u64(struct log_line *line, const char *key, uint64_t value);
void log_i64(struct log_line *line, const char *key, int64_t value);
void log_f64(struct log_line *line, const char *key, double value);
void log_bool(struct log_line *line, const char *key, bool value);
/* Writes the line. A line longer than LOG_LINE_MAX is cut at a field boundary and marked with
 * truncated=true. */
void log_end(struct log_line *line);

/* A line with only a message, formatted as printf does. */
void log_msg(enum log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif /* PROCTRACK_UTIL_LOG_H */
