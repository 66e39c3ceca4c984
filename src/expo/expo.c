#include "expo/expo.h"

#include <errno.h>
#include <limits.h>
#include <math.h> /* isnan, isinf, signbit: macros, no libm */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/utf8.h"

/* ---- family headers ---------------------------------------------------------------------- */

static const char *type_name(enum expo_type type)
{
    switch (type) {
    case EXPO_COUNTER:
        return "counter";
    case EXPO_GAUGE:
        return "gauge";
    case EXPO_UNTYPED:
        break;
    }
    return "untyped";
}

/* HELP text escapes only backslash and newline; a double quote stays as it is (text format
 * 0.0.4, unlike OpenMetrics). */
static void append_help(struct strbuf *out, const char *help)
{
    const char *run = help;
    for (const char *p = help; *p; p++) {
        if (*p != '\\' && *p != '\n')
            continue;
        strbuf_append(out, run, (size_t)(p - run));
        strbuf_append(out, *p == '\\' ? "\\\\" : "\\n", 2);
        run = p + 1;
    }
    strbuf_puts(out, run);
}

void expo_family(struct strbuf *out, const char *name, enum expo_type type, const char *help)
{
    if (help) {
        strbuf_append(out, "# HELP ", 7);
        strbuf_puts(out, name);
        strbuf_putc(out, ' ');
        append_help(out, help);
        strbuf_putc(out, '\n');
    }
    strbuf_append(out, "# TYPE ", 7);
    strbuf_puts(out, name);
    strbuf_putc(out, ' ');
    strbuf_puts(out, type_name(type));
    strbuf_putc(out, '\n');
}

/* ---- OpenMetrics ------------------------------------------------------------------------- */

#define TOTAL_SUFFIX "_total"
#define TOTAL_SUFFIX_LEN (sizeof(TOTAL_SUFFIX) - 1)

static bool ends_with_total(const char *name, size_t len)
{
    return len > TOTAL_SUFFIX_LEN &&
           memcmp(name + len - TOTAL_SUFFIX_LEN, TOTAL_SUFFIX, TOTAL_SUFFIX_LEN) == 0;
}

static bool starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* The family a `# TYPE name type` line at `line` declares: name and whether it is a counter.
 * False when `line` is not such a line. */
static bool parse_type_line(const char *line, size_t len, const char **name, size_t *name_len,
                            const char **type, size_t *type_len)
{
    if (!starts_with(line, len, "# TYPE "))
        return false;
    const char *p = line + 7, *end = line + len;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp)
        return false;
    *name = p;
    *name_len = (size_t)(sp - p);
    *type = sp + 1;
    *type_len = (size_t)(end - sp - 1);
    return true;
}

static bool span_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* The family name OpenMetrics declares: a counter's without `_total`. */
static size_t om_family_len(const char *name, size_t len, bool counter)
{
    return counter && ends_with_total(name, len) ? len - TOTAL_SUFFIX_LEN : len;
}

/* A HELP line's text is already escaped for the text format (backslash, newline); OpenMetrics
 * also escapes the double quote, which the text format leaves as it is. */
static void append_om_help(struct strbuf *out, const char *help, size_t len)
{
    const char *run = help, *end = help + len;
    for (const char *p = help; p < end; p++) {
        if (*p != '"')
            continue;
        strbuf_append(out, run, (size_t)(p - run));
        strbuf_append(out, "\\\"", 2);
        run = p + 1;
    }
    strbuf_append(out, run, (size_t)(end - run));
}

void expo_openmetrics(const char *in, size_t len, struct strbuf *out)
{
    const char *end = in + len;

    strbuf_reserve(out, len + 64);
    for (const char *line = in; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        size_t line_len = (size_t)(line_end - line);
        const char *name, *type;
        size_t name_len, type_len;

        if (line_len == 0) {
            /* blank lines are not allowed in OpenMetrics */
        } else if (starts_with(line, line_len, "# HELP ")) {
            /* The writer puts TYPE right after HELP: it tells whether the name loses _total. */
            const char *p = line + 7;
            const char *sp = memchr(p, ' ', line_len - 7);
            size_t help_name_len = sp ? (size_t)(sp - p) : line_len - 7;
            const char *next_end = memchr(next, '\n', (size_t)(end - next));
            bool counter = false;
            if (parse_type_line(next, (size_t)((next_end ? next_end : end) - next), &name,
                                &name_len, &type, &type_len))
                counter = name_len == help_name_len && memcmp(name, p, name_len) == 0 &&
                          span_is(type, type_len, "counter");
            strbuf_append(out, "# HELP ", 7);
            strbuf_append(out, p, om_family_len(p, help_name_len, counter));
            strbuf_putc(out, ' ');
            if (sp)
                append_om_help(out, sp + 1, (size_t)(line_end - sp - 1));
            strbuf_putc(out, '\n');
        } else if (parse_type_line(line, line_len, &name, &name_len, &type, &type_len)) {
            bool counter = span_is(type, type_len, "counter");
            /* A counter without `_total` (process-exporter's scrape error counters) is declared
             * `unknown`, so that its samples keep the name Prometheus stores from the text format
             * and from process-exporter: the dashboards and alerts written for it query that. */
            bool bare_counter = counter && !ends_with_total(name, name_len);
            strbuf_append(out, "# TYPE ", 7);
            strbuf_append(out, name, om_family_len(name, name_len, counter));
            strbuf_putc(out, ' ');
            if (span_is(type, type_len, "untyped") || bare_counter)
                strbuf_puts(out, "unknown");
            else
                strbuf_append(out, type, type_len);
            strbuf_putc(out, '\n');
        } else if (line[0] == '#') {
            /* OpenMetrics has no free comments. */
        } else {
            strbuf_append(out, line, line_len);
            strbuf_putc(out, '\n');
        }
        line = next;
    }
    strbuf_append(out, "# EOF\n", 6);
}

/* ---- labels ------------------------------------------------------------------------------ */

#define REPLACEMENT_CHAR "\xEF\xBF\xBD" /* U+FFFD */

/* Runs of bytes that need no change (printable ASCII and well-formed multi-byte sequences) are
 * copied with one append. Each byte that is not part of a well-formed sequence becomes U+FFFD, so
 * a truncated 3-byte sequence gives two replacement characters: the same count Go's decoder
 * yields. A NUL byte inside value_len also becomes U+FFFD: it is valid UTF-8, but label sets are
 * later handed around as C strings, and the text format has no escape for it. */
void expo_label(struct strbuf *out, const char *name, const char *value, size_t value_len)
{
    const unsigned char *p = (const unsigned char *)value;
    const unsigned char *end = p + value_len;
    const unsigned char *run = p;

    if (out->len)
        strbuf_putc(out, ',');
    strbuf_puts(out, name);
    strbuf_append(out, "=\"", 2);
    strbuf_reserve(out, value_len + 1);

    while (p < end) {
        unsigned char c = *p;
        const char *subst;
        size_t subst_len = 2;

        if (c >= 0x80) {
            size_t seq = utf8_seq_len(p, (size_t)(end - p));
            if (seq) {
                p += seq;
                continue;
            }
            subst = REPLACEMENT_CHAR;
            subst_len = 3;
        } else if (c == '\\') {
            subst = "\\\\";
        } else if (c == '"') {
            subst = "\\\"";
        } else if (c == '\n') {
            subst = "\\n";
        } else if (c == '\0') {
            subst = REPLACEMENT_CHAR;
            subst_len = 3;
        } else {
            p++;
            continue;
        }
        strbuf_append(out, (const char *)run, (size_t)(p - run));
        strbuf_append(out, subst, subst_len);
        p++;
        run = p;
    }
    strbuf_append(out, (const char *)run, (size_t)(p - run));
    strbuf_putc(out, '"');
}

/* ---- numbers ----------------------------------------------------------------------------- */

/* A positive number as significant decimal digits without trailing zeros and the position of the
 * decimal point: value = 0.d[0]d[1]...d[nd-1] * 10^dp. This is Go's decimalSlice. */
struct digits {
    char d[24];
    int nd;
    int dp;
};

static void digits_from_u64(uint64_t v, struct digits *out)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out->dp = n;
    int skip = 0;
    while (skip < n - 1 && tmp[skip] == '0')
        skip++;
    out->nd = n - skip;
    for (int i = 0; i < out->nd; i++)
        out->d[i] = tmp[n - 1 - i];
}

/* Does mant * 10^exp10 read back as exactly v? strtod rounds to nearest, ties to even, which is
 * the interval Go's shortest conversion searches. No decimal point, so no locale dependence. */
static bool reads_back(uint64_t mant, int exp10, double v, double *parsed)
{
    char buf[48];
    snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)mant, exp10);
    *parsed = strtod(buf, NULL);
    return *parsed == v;
}

/* Is there a decimal with `n` significant digits that reads back as v? If so, stores the one
 * nearest to v. Only the two neighbours of v at n digits can qualify; printf's correctly rounded
 * %.*e gives the nearer, and the other one is tried too because the rounding interval of a power
 * of two is narrower below than above. */
static bool shortest_probe(double v, int n, uint64_t *mant, int *exp10)
{
    char buf[48];
    uint64_t m = 0;
    int e = 0;
    double parsed;

    snprintf(buf, sizeof(buf), "%.*e", n - 1, v);
    const char *p = buf;
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9')
            m = m * 10 + (uint64_t)(*p - '0');
    }
    if (*p == 'e')
        e = atoi(p + 1);
    e -= n - 1;
    if (!reads_back(m, e, v, &parsed)) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        /* Only a power of two (all 52 fraction bits clear) has a rounding interval narrower on
         * one side (below), where the farther neighbour can read back while the nearer one
         * does not. */
        if (bits & ((UINT64_C(1) << 52) - 1))
            return false;
        m = parsed > v ? m - 1 : m + 1;
        if (!reads_back(m, e, v, &parsed))
            return false;
    }
    *mant = m;
    *exp10 = e;
    return true;
}

#define TWO_POW_53 9007199254740992.0

/* Values such as CPU seconds (ticks / 100) have few decimals. For them, find the smallest j such
 * that an integer r with r / 10^j == v exists. Both r < 2^53 and 10^j are exact, so IEEE division
 * rounds r / 10^j exactly as strtod rounds "r e-j": r reads back. As v * 10^j < 2^53, half an ulp
 * of v is below 10^-j, so only the integers next to v * 10^j can read back. When exactly one
 * does, it is Go's answer: nothing with fewer decimals read back, and no other candidate with j
 * decimals exists to be nearer. Two candidates, or too many decimals, go to the general search. */
static bool few_decimals(double v, struct digits *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

    for (int j = 0; j < (int)(sizeof(pow10) / sizeof(pow10[0])); j++) {
        double scaled = v * pow10[j];
        if (scaled >= TWO_POW_53 - 2)
            return false;
        /* Truncating after adding a half may land one off the nearest integer; the
         * neighbours are tried anyway. */
        uint64_t r = (uint64_t)(scaled + 0.5);
        uint64_t hit = 0;
        int hits = 0;
        for (uint64_t c = r ? r - 1 : r; c <= r + 1; c++) {
            if ((double)c / pow10[j] == v) {
                hit = c;
                hits++;
            }
        }
        if (hits > 1)
            return false;
        if (hits == 1) {
            digits_from_u64(hit, out);
            out->dp -= j;
            return true;
        }
    }
    return false;
}

/* Shortest digits that read back as v (positive, finite, non-zero): Go's strconv shortest mode,
 * which picks the fewest digits and, among those, the value nearest to v. */
static void shortest_digits(double v, struct digits *out)
{
    /* Integers up to 2^53 are exact and their neighbours are at least 1 away, so their own digits
     * are the answer; this is the common case (bytes, counts) and needs no printf. */
    if (v <= TWO_POW_53 && v == (double)(uint64_t)v) {
        digits_from_u64((uint64_t)v, out);
        return;
    }
    if (few_decimals(v, out))
        return;
    /* If some n-digit decimal reads back, so does some (n+1)-digit one: binary search. Seventeen
     * digits always suffice for a double. What reaches this point is mostly long (0.1 + 0.2 and
     * the like), so try 16 and 15 digits before halving. */
    int lo = 1, hi = 17;
    uint64_t best_mant = 0;
    int best_exp = 0;
    bool found = false;
    while (lo < hi) {
        int mid = hi >= 16 ? hi - 1 : lo + (hi - lo) / 2;
        uint64_t m;
        int e;
        if (shortest_probe(v, mid, &m, &e)) {
            hi = mid;
            best_mant = m;
            best_exp = e;
            found = true;
        } else {
            lo = mid + 1;
        }
    }
    if (!found)
        shortest_probe(v, 17, &best_mant, &best_exp);
    digits_from_u64(best_mant, out);
    out->dp += best_exp;
}

/* Go's 'g' layout for shortest digits: exponent form when the decimal exponent is below -4 or at
 * least 6 (strconv sets eprec = 6 in shortest mode), with at least two exponent digits. */
static void append_layout(struct strbuf *out, bool neg, const struct digits *dg)
{
    char buf[64];
    size_t n = 0;
    int exp = dg->dp - 1;

    if (neg)
        buf[n++] = '-';
    if (exp < -4 || exp >= 6) {
        buf[n++] = dg->d[0];
        if (dg->nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dg->d + 1, (size_t)dg->nd - 1);
            n += (size_t)dg->nd - 1;
        }
        buf[n++] = 'e';
        buf[n++] = exp < 0 ? '-' : '+';
        if (exp < 0)
            exp = -exp;
        if (exp >= 100)
            buf[n++] = (char)('0' + exp / 100);
        buf[n++] = (char)('0' + exp / 10 % 10);
        buf[n++] = (char)('0' + exp % 10);
    } else if (dg->dp <= 0) {
        /* 0.000ddd: at most four zeros after the point, by the rule above. */
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = dg->dp; i < 0; i++)
            buf[n++] = '0';
        memcpy(buf + n, dg->d, (size_t)dg->nd);
        n += (size_t)dg->nd;
    } else {
        /* dp is 1..6 here, so an integer part never needs more than 5 padding zeros. */
        int whole = dg->nd < dg->dp ? dg->nd : dg->dp;
        memcpy(buf + n, dg->d, (size_t)whole);
        n += (size_t)whole;
        for (int i = whole; i < dg->dp; i++)
            buf[n++] = '0';
        if (dg->nd > dg->dp) {
            buf[n++] = '.';
            memcpy(buf + n, dg->d + dg->dp, (size_t)(dg->nd - dg->dp));
            n += (size_t)(dg->nd - dg->dp);
        }
    }
    strbuf_append(out, buf, n);
}

void expo_format_double(struct strbuf *out, double value)
{
    struct digits dg;

    if (isnan(value)) {
        strbuf_append(out, "NaN", 3);
        return;
    }
    if (isinf(value)) {
        strbuf_puts(out, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (value == 0) {
        strbuf_puts(out, signbit(value) ? "-0" : "0");
        return;
    }
    bool neg = value < 0;
    shortest_digits(neg ? -value : value, &dg);
    append_layout(out, neg, &dg);
}

/* process-exporter exports every value as a Go float64, so a u64 is printed the way Go prints
 * float64(value): 16564224 becomes 1.6564224e+07, and 2^64-1 becomes 1.8446744073709552e+19. */
static void format_u64(struct strbuf *out, uint64_t value)
{
    struct digits dg;

    if (value == 0) {
        strbuf_putc(out, '0');
        return;
    }
    if (value <= (UINT64_C(1) << 53)) {
        digits_from_u64(value, &dg);
        append_layout(out, false, &dg);
        return;
    }
    expo_format_double(out, (double)value);
}

static void sample_head(struct strbuf *out, const char *name, const char *labels, const char *extra)
{
    bool has_labels = labels && *labels;
    bool has_extra = extra && *extra;

    strbuf_puts(out, name);
    if (has_labels || has_extra) {
        strbuf_putc(out, '{');
        if (has_labels)
            strbuf_puts(out, labels);
        if (has_labels && has_extra)
            strbuf_putc(out, ',');
        if (has_extra)
            strbuf_puts(out, extra);
        strbuf_putc(out, '}');
    }
    strbuf_putc(out, ' ');
}

void expo_sample_u64(struct strbuf *out, const char *name, const char *labels, const char *extra,
                     uint64_t value)
{
    sample_head(out, name, labels, extra);
    format_u64(out, value);
    strbuf_putc(out, '\n');
}

void expo_sample_double(struct strbuf *out, const char *name, const char *labels, const char *extra,
                        double value)
{
    sample_head(out, name, labels, extra);
    expo_format_double(out, value);
    strbuf_putc(out, '\n');
}

/* ---- compression ------------------------------------------------------------------------- */

/* Level 1: on a real-sized exposition it is several times faster than the default level 6 and the
 * output is only modestly larger; see the commit that chose it for the numbers. */
#define EXPO_GZIP_LEVEL 1

int expo_gzip(const char *in, size_t len, struct strbuf *out)
{
    z_stream zs;
    int rc = -EIO;

    strbuf_reset(out);
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16 asks zlib for a gzip header and trailer instead of a zlib one. */
    if (deflateInit2(&zs, EXPO_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -EIO;

    size_t bound = deflateBound(&zs, (uLong)len);
    strbuf_reserve(out, bound);

    /* avail_in and avail_out are 32-bit; feed bodies past 4 GiB in slices. */
    size_t in_left = len;
    size_t out_left = out->cap - 1;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.next_out = (Bytef *)out->buf;
    for (;;) {
        uInt in_chunk = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        uInt out_chunk = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
        int flush = in_chunk == in_left ? Z_FINISH : Z_NO_FLUSH;
        zs.avail_in = in_chunk;
        zs.avail_out = out_chunk;
        int zrc = deflate(&zs, flush);
        size_t consumed = in_chunk - zs.avail_in;
        size_t produced = out_chunk - zs.avail_out;
        in_left -= consumed;
        out_left -= produced;
        if (zrc == Z_STREAM_END)
            break;
        if ((zrc != Z_OK && zrc != Z_BUF_ERROR) || out_left == 0 || (!consumed && !produced))
            goto out_end;
    }
    out->len = out->cap - 1 - out_left;
    out->buf[out->len] = '\0';
    rc = 0;
out_end:
    deflateEnd(&zs);
    if (rc)
        strbuf_reset(out);
    return rc;
}
