#include "rules/template.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

enum piece_kind {
    PIECE_TEXT,
    PIECE_COMM,
    PIECE_EXE_BASE,
    PIECE_EXE_FULL,
    PIECE_USERNAME,
    PIECE_PID,
    PIECE_START_TIME,
    PIECE_START_TIME_UNIX,
    PIECE_CGROUPS,
    PIECE_CGROUP_INDEX,
    PIECE_MATCH,
};

struct piece {
    enum piece_kind kind;
    size_t off; /* PIECE_TEXT: offset and length in tmpl->text */
    size_t len;
    size_t arg; /* PIECE_CGROUP_INDEX: the index; PIECE_MATCH: the capture slot */
};

struct tmpl {
    struct strbuf text; /* all literal text, back to back */
    struct piece *pieces;
    size_t npieces;
    size_t cap;
    unsigned needs;
};

static const struct field {
    const char *name;
    enum piece_kind kind;
    unsigned needs;
} fields[] = {
    {".Comm", PIECE_COMM, 0},
    {".ExeBase", PIECE_EXE_BASE, PROC_NEED_CMDLINE},
    {".ExeFull", PIECE_EXE_FULL, PROC_NEED_CMDLINE},
    {".Username", PIECE_USERNAME, PROC_NEED_UID},
    {".PID", PIECE_PID, 0},
    {".StartTime", PIECE_START_TIME, 0},
    {".StartTime.Unix", PIECE_START_TIME_UNIX, 0},
    {".Cgroups", PIECE_CGROUPS, PROC_NEED_CGROUP},
};

#define MATCHES_PREFIX ".Matches."

/* Go's text/template trims these around {{- and -}}. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Characters of a field chain such as .StartTime.Unix; bytes >= 0x80 stand in for the Unicode
 * letters Go accepts in identifiers. */
static bool is_field_char(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
           u == '.' || u >= 0x80;
}

static void add_piece(struct tmpl *t, enum piece_kind kind, size_t off, size_t len, size_t arg)
{
    t->pieces = xgrow(t->pieces, &t->cap, t->npieces + 1, sizeof(*t->pieces));
    t->pieces[t->npieces++] = (struct piece){kind, off, len, arg};
}

static void add_text(struct tmpl *t, const char *s, size_t len)
{
    if (len == 0)
        return;
    /* Adjacent literals (around a comment) are merged into one piece. */
    if (t->npieces > 0 && t->pieces[t->npieces - 1].kind == PIECE_TEXT) {
        t->pieces[t->npieces - 1].len += len;
    } else {
        add_piece(t, PIECE_TEXT, t->text.len, len, 0);
    }
    strbuf_append(&t->text, s, len);
}

static bool span_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static int parse_matches_field(struct tmpl *t, const char *body, size_t len,
                               const char *const *capture_names, size_t ncapture_names, char *err,
                               size_t errlen)
{
    size_t plen = strlen(MATCHES_PREFIX);
    const char *name = body + plen;
    size_t name_len = len - plen;
    if (name_len == 0 || memchr(name, '.', name_len) != NULL) {
        snprintf(err, errlen, "unknown template field \"%.*s\"", (int)len, body);
        return -1;
    }
    for (size_t i = 0; i < ncapture_names; i++) {
        if (span_is(name, name_len, capture_names[i])) {
            add_piece(t, PIECE_MATCH, 0, 0, i);
            t->needs |= PROC_NEED_CMDLINE;
            return 0;
        }
    }
    snprintf(err, errlen,
             "unknown template field \"%.*s\": no cmdline regex of this item has a capture "
             "group named \"%.*s\"",
             (int)len, body, (int)name_len, name);
    return -1;
}

/* `.Field` or `.Field.Method`, with nothing else in the action. */
static int parse_field(struct tmpl *t, const char *body, size_t len,
                       const char *const *capture_names, size_t ncapture_names, char *err,
                       size_t errlen)
{
    size_t plen = strlen(MATCHES_PREFIX);
    if (len > plen && memcmp(body, MATCHES_PREFIX, plen) == 0)
        return parse_matches_field(t, body, len, capture_names, ncapture_names, err, errlen);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (span_is(body, len, fields[i].name)) {
            add_piece(t, fields[i].kind, 0, 0, 0);
            t->needs |= fields[i].needs;
            return 0;
        }
    }
    if (span_is(body, len, ".") || span_is(body, len, ".Matches")) {
        snprintf(err, errlen, "unsupported template action \"%.*s\"", (int)len, body);
        return -1;
    }
    snprintf(err, errlen, "unknown template field \"%.*s\"", (int)len, body);
    return -1;
}

/* Splits off the next whitespace-separated word of [*p, end). */
static bool next_word(const char **p, const char *end, const char **word, size_t *word_len)
{
    while (*p < end && is_space(**p))
        (*p)++;
    if (*p == end)
        return false;
    *word = *p;
    while (*p < end && !is_space(**p))
        (*p)++;
    *word_len = (size_t)(*p - *word);
    return true;
}

/* `index .Cgroups N` with N a decimal constant: the only function call the subset knows. */
static bool parse_cgroup_index(struct tmpl *t, const char *body, size_t len)
{
    const char *p = body, *end = body + len, *word;
    size_t word_len;
    if (!next_word(&p, end, &word, &word_len) || !span_is(word, word_len, "index"))
        return false;
    if (!next_word(&p, end, &word, &word_len) || !span_is(word, word_len, ".Cgroups"))
        return false;
    if (!next_word(&p, end, &word, &word_len))
        return false;
    size_t index = 0;
    for (size_t i = 0; i < word_len; i++) {
        if (word[i] < '0' || word[i] > '9')
            return false;
        /* Saturates: an index that large is out of range and renders as "". */
        index = index > (SIZE_MAX - 9) / 10 ? SIZE_MAX : index * 10 + (size_t)(word[i] - '0');
    }
    if (next_word(&p, end, &word, &word_len))
        return false;
    add_piece(t, PIECE_CGROUP_INDEX, 0, 0, index);
    t->needs |= PROC_NEED_CGROUP;
    return true;
}

/* One action, the text between the delimiters with trim markers and spaces removed. */
static int parse_action(struct tmpl *t, const char *body, size_t len,
                        const char *const *capture_names, size_t ncapture_names, char *err,
                        size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "empty template action \"{{}}\"");
        return -1;
    }
    bool field_chain = body[0] == '.';
    for (size_t i = 0; field_chain && i < len; i++)
        field_chain = is_field_char(body[i]);
    if (field_chain)
        return parse_field(t, body, len, capture_names, ncapture_names, err, errlen);
    if (parse_cgroup_index(t, body, len))
        return 0;
    snprintf(err, errlen, "unsupported template action \"%.*s\"", (int)len, body);
    return -1;
}

/* A comment starts right after the left delimiter (and its trim marker), as in Go, and must end
 * with the right delimiter. Returns the offset after the delimiter, or 0 on error. */
static size_t skip_comment(const char *text, size_t len, size_t p, bool *trim_next, char *err,
                           size_t errlen)
{
    const char *close = memmem(text + p + 2, len - p - 2, "*/", 2);
    if (close == NULL) {
        snprintf(err, errlen, "unclosed comment");
        return 0;
    }
    size_t q = (size_t)(close - text) + 2;
    if (len - q >= 4 && is_space(text[q]) && memcmp(text + q + 1, "-}}", 3) == 0) {
        *trim_next = true;
        return q + 4;
    }
    if (len - q >= 2 && memcmp(text + q, "}}", 2) == 0) {
        *trim_next = false;
        return q + 2;
    }
    snprintf(err, errlen, "comment ends before closing delimiter");
    return 0;
}

struct tmpl *tmpl_compile(const char *text, size_t len, const char *const *capture_names,
                          size_t ncapture_names, char *err, size_t errlen)
{
    struct tmpl *t = xcalloc(1, sizeof(*t));
    bool trim_next = false; /* the previous action ended with -}} */
    size_t pos = 0;
    while (pos < len) {
        const char *open = memmem(text + pos, len - pos, "{{", 2);
        size_t lit_start = pos;
        size_t lit_end = open ? (size_t)(open - text) : len;
        if (trim_next) {
            while (lit_start < lit_end && is_space(text[lit_start]))
                lit_start++;
        }
        if (open == NULL) {
            add_text(t, text + lit_start, lit_end - lit_start);
            break;
        }
        size_t p = lit_end + 2;
        if (len - p >= 2 && text[p] == '-' && is_space(text[p + 1])) {
            p += 2;
            while (lit_end > lit_start && is_space(text[lit_end - 1]))
                lit_end--;
        }
        add_text(t, text + lit_start, lit_end - lit_start);

        if (len - p >= 2 && memcmp(text + p, "/*", 2) == 0) {
            pos = skip_comment(text, len, p, &trim_next, err, errlen);
            if (pos == 0)
                goto out_free;
            continue;
        }
        const char *close = memmem(text + p, len - p, "}}", 2);
        if (close == NULL) {
            snprintf(err, errlen, "unclosed action");
            goto out_free;
        }
        size_t body_end = (size_t)(close - text);
        pos = body_end + 2;
        trim_next = body_end >= p + 2 && text[body_end - 1] == '-' && is_space(text[body_end - 2]);
        if (trim_next)
            body_end--;
        while (p < body_end && is_space(text[p]))
            p++;
        while (body_end > p && is_space(text[body_end - 1]))
            body_end--;
        if (parse_action(t, text + p, body_end - p, capture_names, ncapture_names, err, errlen))
            goto out_free;
    }
    return t;

out_free:
    tmpl_free(t);
    return NULL;
}

void tmpl_free(struct tmpl *tmpl)
{
    if (tmpl == NULL)
        return;
    strbuf_free(&tmpl->text);
    free(tmpl->pieces);
    free(tmpl);
}

unsigned tmpl_needs(const struct tmpl *tmpl)
{
    return tmpl->needs;
}

/* Go's filepath.Base: trailing slashes dropped, "" for "" becomes ".", all slashes become "/". */
struct tmpl_span tmpl_exe_base(const char *path)
{
    size_t len = strlen(path);
    if (len == 0)
        return (struct tmpl_span){".", 1};
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return (struct tmpl_span){"/", 1};
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return (struct tmpl_span){path + start, len - start};
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days, for
 * non-negative day counts). */
static void civil_from_days(uint64_t days, uint64_t *year, unsigned *month, unsigned *day)
{
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (*month <= 2);
}

void tmpl_format_time(unsigned long long ns_since_epoch, struct strbuf *out)
{
    uint64_t secs = ns_since_epoch / 1000000000u;
    unsigned frac = (unsigned)(ns_since_epoch % 1000000000u);
    uint64_t year;
    unsigned month, day;
    civil_from_days(secs / 86400, &year, &month, &day);
    unsigned sod = (unsigned)(secs % 86400);
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%04llu-%02u-%02u %02u:%02u:%02u", (unsigned long long)year,
                     month, day, sod / 3600, sod / 60 % 60, sod % 60);
    strbuf_append(out, buf, (size_t)n);
    /* Go's ".999999999": up to nine digits, trailing zeros and a bare dot dropped. */
    if (frac != 0) {
        int digits = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        n = snprintf(buf, sizeof(buf), ".%0*u", digits, frac);
        strbuf_append(out, buf, (size_t)n);
    }
    strbuf_puts(out, " +0000 UTC");
}

static void render_cgroups(const struct proc_identity *id, struct strbuf *out)
{
    /* Go's fmt of a []string: [a b c]. */
    strbuf_putc(out, '[');
    for (size_t i = 0; i < id->ncgroups; i++) {
        if (i > 0)
            strbuf_putc(out, ' ');
        strbuf_puts(out, id->cgroups[i]);
    }
    strbuf_putc(out, ']');
}

void tmpl_render(const struct tmpl *tmpl, const struct tmpl_values *values, struct strbuf *out)
{
    const struct proc_identity *id = values->id;
    const char *comm = id->comm ? id->comm : "";
    for (size_t i = 0; i < tmpl->npieces; i++) {
        const struct piece *pc = &tmpl->pieces[i];
        switch (pc->kind) {
        case PIECE_TEXT:
            strbuf_append(out, tmpl->text.buf + pc->off, pc->len);
            break;
        case PIECE_COMM:
            strbuf_puts(out, comm);
            break;
        case PIECE_EXE_BASE:
            if (id->argc > 0) {
                struct tmpl_span base = tmpl_exe_base(id->argv[0]);
                strbuf_append(out, base.ptr, base.len);
            } else {
                strbuf_puts(out, comm);
            }
            break;
        case PIECE_EXE_FULL:
            strbuf_puts(out, id->argc > 0 ? id->argv[0] : comm);
            break;
        case PIECE_USERNAME:
            strbuf_puts(out, values->username ? values->username : "");
            break;
        case PIECE_PID:
            if (id->pid < 0)
                strbuf_putc(out, '-');
            strbuf_put_u64(out, id->pid < 0 ? -(unsigned long long)id->pid
                                            : (unsigned long long)id->pid);
            break;
        case PIECE_START_TIME:
            tmpl_format_time(id->start_time_ns, out);
            break;
        case PIECE_START_TIME_UNIX:
            strbuf_put_u64(out, id->start_time_ns / 1000000000u);
            break;
        case PIECE_CGROUPS:
            render_cgroups(id, out);
            break;
        case PIECE_CGROUP_INDEX:
            /* Go fails the whole template here; an empty value is kinder than no group. */
            if (pc->arg < id->ncgroups)
                strbuf_puts(out, id->cgroups[pc->arg]);
            break;
        case PIECE_MATCH:
            if (pc->arg < values->ncaptures)
                strbuf_append(out, values->captures[pc->arg].ptr, values->captures[pc->arg].len);
            break;
        }
    }
}
