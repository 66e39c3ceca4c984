/* Prometheus text exposition format 0.0.4: family headers, samples, label escaping, number
 * formatting, and gzip of a finished body. Knows nothing of processes. */
#ifndef PROCTRACK_EXPO_EXPO_H
#define PROCTRACK_EXPO_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define EXPO_OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

enum expo_type { EXPO_COUNTER, EXPO_GAUGE, EXPO_UNTYPED };

/* "# HELP name help\n# TYPE name type\n"; HELP text escaped (backslash, newline). A NULL help
 * leaves out the HELP line. */
void expo_family(struct strbuf *out, const char *name, enum expo_type type, const char *help);

/* Appends `name="value"` with the value escaped (backslash, double quote, newline) and made valid
 * UTF-8 (each invalid byte becomes U+FFFD). A NUL byte within value_len also becomes U+FFFD, so
 * the label set stays a C string. Label sets are built once with this and reused for every
 * sample of the same series. A comma is prepended when `out` is not empty. */
void expo_label(struct strbuf *out, const char *name, const char *value, size_t value_len);

/* One sample line: name, then {labels} when `labels` (already built by expo_label) is non-empty,
 * then the value. `extra` is an optional further label (already escaped, e.g. `mode="user"`).
 * A u64 is printed as Go prints float64(value), as process-exporter does: 7, 1.6564224e+07. */
void expo_sample_u64(struct strbuf *out, const char *name, const char *labels, const char *extra,
                     uint64_t value);
void expo_sample_double(struct strbuf *out, const char *name, const char *labels, const char *extra,
                        double value);

/* Shortest text that parses back to the same double, laid out as Go's
 * strconv.FormatFloat(v, 'g', -1, 64): exponent form when the decimal exponent is < -4 or >= 6
 * (0.0013, 123456, 1e+06, 1e-05). NaN, +Inf, -Inf spelled as Prometheus wants. */
void expo_format_double(struct strbuf *out, double value);

/* Rewrites a finished exposition in the text format, as written by the functions above, as
 * OpenMetrics 1.0.0 into `out` (appended to): a counter family is declared without its `_total`
 * suffix while its samples keep it, a counter without `_total` and `untyped` become `unknown`, HELP
 * text also escapes double quotes, comments other than HELP and TYPE are dropped, and `# EOF` ends
 * it. */
void expo_openmetrics(const char *in, size_t len, struct strbuf *out);

/* Compresses `len` bytes of `in` into `out` (reset first) as a gzip stream, zlib level 1.
 * 0 or -EIO. */
int expo_gzip(const char *in, size_t len, struct strbuf *out);

#endif /* PROCTRACK_EXPO_EXPO_H */
