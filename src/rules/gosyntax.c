/* Go's regexp (RE2 syntax, as of Go 1.19, which Debian's process-exporter 0.7.10 is built with)
 * and PCRE2 read some patterns differently. A config pattern is parsed here the way Go parses it
 * and handed to PCRE2 rewritten to mean what it means in Go:
 *
 * - what Go refuses stops the config (process-exporter stops on it too): escapes outside Go's set
 *   (\Z, \G, \K, \R, \h, \g, \k, backreferences \1..\9, \e, \c, \x without two hex digits...),
 *   \Q in a class, group forms other than (?:, (?P<name>, (?flags) and (?flags: (lookarounds,
 *   (?<name>, atomic groups, recursion, conditionals, comments, verbs; a flag group with a '-' and
 *   no flag after it), a repetition operator right after another (a*+, a**) or a count over 1000;
 * - \s and \S are Go's [\t\n\f\r ] and its complement (PCRE2's \s also takes \v), \v is only
 *   the vertical tab (a class of vertical space in PCRE2), an octal escape is written \x{...}
 *   (PCRE2 reads \12 as a backreference once there are 12 groups), a literal '{', and inside a
 *   class a literal '[' and a '-' after a class such as \d or [:alpha:], are escaped (PCRE2
 *   refuses [\d-z] and [[.a.]], Go takes them);
 * - a repetition of an empty-width assertion (^*, \b+) or of an operand before flag groups
 *   (a(?i)*, a*(?i)*), which Go takes and PCRE2 refuses, repeats the operand in a (?:...) group,
 *   placed before the flag groups.
 *
 * Each byte of the rewritten pattern remembers the offset in the config's pattern it comes from,
 * so PCRE2's errors name the place in the config. */
#include "rules/gosyntax.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Go's \x: two hex digits, or \x{...} with at least one and a value up to U+10FFFF. */
static size_t hex_escape_len(const char *p, const char *end)
{
    if (p + 2 < end && p[2] == '{') {
        const char *q = p + 3;
        unsigned long v = 0;
        for (; q < end && is_hex(*q); q++) {
            v = v * 16 + (unsigned long)(is_digit(*q) ? *q - '0' : (*q | 0x20) - 'a' + 10);
            if (v > 0x10ffff)
                return 0;
        }
        return q > p + 3 && q < end && *q == '}' ? (size_t)(q - p) + 1 : 0;
    }
    return p + 3 < end && is_hex(p[2]) && is_hex(p[3]) ? 4 : 0;
}

/* Go's parseEscape and the assertions of its parser: returns the escape's length from the
 * backslash, 0 for one Go refuses. In a class, \A \z \b \B are refused by Go too. */
static size_t escape_len(const char *p, const char *end, bool in_class)
{
    if (p + 1 >= end)
        return 0; /* a trailing backslash; PCRE2 refuses it as well */
    char c = p[1];
    if ((unsigned char)c >= 0x80)
        return 0;
    if (!is_alnum(c))
        return 2; /* escaped punctuation */
    switch (c) {
    case 'a':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
        return 2;
    case 'A':
    case 'z':
    case 'b':
    case 'B':
        return in_class ? 0 : 2;
    case 'Q':
        return 2; /* the literal text up to \E is skipped by the caller */
    case 'p':
    case 'P':
        if (p + 2 < end && p[2] == '{') {
            const char *close = memchr(p + 3, '}', (size_t)(end - p - 3));
            return close ? (size_t)(close - p) + 1 : 0;
        }
        return p + 2 < end ? 3 : 0;
    case 'x':
        return hex_escape_len(p, end);
    case '0':
        break;
    default:
        /* \1..\7 is octal only when another octal digit follows; alone it is a backreference. */
        if (c < '1' || c > '7' || p + 2 >= end || p[2] < '0' || p[2] > '7')
            return 0;
        break;
    }
    size_t n = 2; /* octal: up to three digits */
    while (n < 4 && p + n < end && p[n] >= '0' && p[n] <= '7')
        n++;
    return n;
}

static bool is_repeat(const char *p, const char *end, size_t *len)
{
    if (*p == '*' || *p == '+' || *p == '?') {
        *len = 1;
        return true;
    }
    if (*p != '{')
        return false;
    /* {n}, {n,} or {n,m}; anything else is a literal brace in both. */
    const char *q = p + 1;
    if (q >= end || !is_digit(*q))
        return false;
    while (q < end && is_digit(*q))
        q++;
    if (q < end && *q == ',')
        for (q++; q < end && is_digit(*q); q++)
            ;
    if (q >= end || *q != '}')
        return false;
    *len = (size_t)(q - p) + 1;
    return true;
}

/* The largest count in a {n,m}: Go refuses one over 1000. */
static long repeat_max(const char *p, size_t len)
{
    long max = 0, v = 0;
    for (size_t i = 1; i < len; i++) {
        if (is_digit(p[i])) {
            v = v * 10 + (p[i] - '0');
            if (v > 100000)
                v = 100000;
        } else {
            max = v > max ? v : max;
            v = 0;
        }
    }
    return max;
}

struct translator {
    struct go_pattern *out;
    size_t cap_from;
    size_t *groups; /* output offsets of the open groups */
    size_t ngroups, cap_groups;
    /* The operand a repetition operator would repeat: output bytes [op_start, op_end), whether
     * it is an empty-width assertion and whether it is already repeated. */
    bool has_operand, op_assert, op_repeated;
    size_t op_start, op_end;
};

static void emit(struct translator *t, const char *s, size_t n, size_t origin)
{
    struct go_pattern *o = t->out;
    if (o->text.len + n + 1 > t->cap_from) {
        t->cap_from = (o->text.len + n + 1) * 2;
        o->from = xrealloc(o->from, t->cap_from * sizeof(*o->from));
    }
    for (size_t i = 0; i < n; i++)
        o->from[o->text.len + i] = origin;
    strbuf_append(&o->text, s, n);
}

static void emit_str(struct translator *t, const char *s, size_t origin)
{
    emit(t, s, strlen(s), origin);
}

/* An operand has been emitted from output offset `start` on. */
static void operand(struct translator *t, size_t start, bool assertion)
{
    t->has_operand = true;
    t->op_assert = assertion;
    t->op_repeated = false;
    t->op_start = start;
    t->op_end = t->out->text.len;
}

/* A group opens at output offset `start`: no operand to repeat until it closes. */
static void push_group(struct translator *t, size_t start)
{
    if (t->ngroups == t->cap_groups) {
        t->cap_groups = t->cap_groups ? 2 * t->cap_groups : 16;
        t->groups = xrealloc(t->groups, t->cap_groups * sizeof(*t->groups));
    }
    t->groups[t->ngroups++] = start;
    t->has_operand = false;
}

/* Emits the repetition operator p[0..n) for the current operand, wrapping the operand in (?:...)
 * where PCRE2 would refuse to repeat it as it stands. */
static void emit_repeat(struct translator *t, const char *p, size_t n, size_t origin)
{
    struct go_pattern *o = t->out;
    if (!t->op_assert && !t->op_repeated && o->text.len == t->op_end) {
        emit(t, p, n, origin);
        t->op_end = o->text.len;
        t->op_repeated = true;
        return;
    }
    /* Set the flag groups after the operand aside, wrap the operand, repeat, put them back. */
    size_t tail = o->text.len - t->op_end;
    char *tail_text = xmalloc(tail + 1);
    size_t *tail_from = xmalloc((tail + 1) * sizeof(*tail_from));
    memcpy(tail_text, o->text.buf + t->op_end, tail);
    memcpy(tail_from, o->from + t->op_end, tail * sizeof(*tail_from));
    o->text.len = t->op_end;
    size_t start_origin = o->from[t->op_start];
    emit(t, "(?:", 3, start_origin); /* grows both arrays; moved into place below */
    size_t body = t->op_end - t->op_start;
    memmove(o->text.buf + t->op_start + 3, o->text.buf + t->op_start, body);
    memmove(o->from + t->op_start + 3, o->from + t->op_start, body * sizeof(*o->from));
    memcpy(o->text.buf + t->op_start, "(?:", 3);
    for (size_t i = 0; i < 3; i++)
        o->from[t->op_start + i] = start_origin;
    emit(t, ")", 1, origin);
    emit(t, p, n, origin);
    t->op_end = o->text.len;
    t->op_repeated = true;
    t->op_assert = false;
    for (size_t i = 0; i < tail; i++)
        emit(t, tail_text + i, 1, tail_from[i]);
    free(tail_text);
    free(tail_from);
}

/* The value of an octal escape of `n` bytes (backslash included). */
static unsigned octal_value(const char *p, size_t n)
{
    unsigned v = 0;
    for (size_t i = 1; i < n; i++)
        v = v * 8 + (unsigned)(p[i] - '0');
    return v;
}

/* Emits escape p[0..n) (valid in Go) as PCRE2 reads it with Go's meaning. Returns whether it is
 * a class of several characters, after which a '-' in a class is a literal in Go. */
static bool emit_escape(struct translator *t, const char *p, size_t n, bool in_class, size_t origin)
{
    char buf[16];
    switch (p[1]) {
    case 's':
        emit_str(t, in_class ? "\\t\\n\\f\\r\\x20" : "[\\t\\n\\f\\r\\x20]", origin);
        return true;
    case 'S':
        emit_str(t,
                 in_class ? "\\x00-\\x08\\x0b\\x0e-\\x1f\\x21-\\x{10ffff}" : "[^\\t\\n\\f\\r\\x20]",
                 origin);
        return true;
    case 'v':
        emit_str(t, "\\x0b", origin);
        return false;
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'p':
    case 'P':
        emit(t, p, n, origin);
        return true;
    default:
        if (is_digit(p[1])) {
            snprintf(buf, sizeof(buf), "\\x{%x}", octal_value(p, n));
            emit_str(t, buf, origin);
        } else {
            emit(t, p, n, origin);
        }
        return false;
    }
}

/* Go's parsePerlFlags after "(?": flags i, m, s, U, one '-' with at least one flag after it,
 * then ':' or ')'. Returns the length of the flags and the ':' or ')', 0 if Go refuses them. */
static size_t flags_len(const char *q, const char *end)
{
    bool negated = false, saw_flag = false;
    for (const char *f = q; f < end; f++) {
        switch (*f) {
        case 'i':
        case 'm':
        case 's':
        case 'U':
            saw_flag = true;
            break;
        case '-':
            if (negated)
                return 0;
            negated = true;
            saw_flag = false;
            break;
        case ':':
        case ')':
            return negated && !saw_flag ? 0 : (size_t)(f - q) + 1;
        default:
            return 0;
        }
    }
    return 0;
}

__attribute__((format(printf, 3, 4))) static int refuse(char *reason, size_t reasonlen,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, reasonlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int translate(struct translator *t, const char *pattern, size_t len, char *reason,
                     size_t reasonlen)
{
    const char *p = pattern, *end = pattern + len;
    bool in_class = false, after_repeat = false, class_type = false;
    while (p < end) {
        size_t n = 1, at = (size_t)(p - pattern), start = t->out->text.len;
        bool was_type = class_type;
        class_type = false;
        if (*p == '\\' && p + 1 < end && p[1] == 'Q') {
            if (in_class)
                return refuse(reason, reasonlen,
                              "Go's regexp refuses the escape \\Q in a class at offset %zu", at);
            /* Each quoted character is a literal of its own, as Go parses it. */
            const char *e = p + 2;
            while (e < end && !(e + 1 < end && e[0] == '\\' && e[1] == 'E')) {
                size_t clen = utf8_seq_len((const unsigned char *)e, (size_t)(end - e));
                size_t from = t->out->text.len, origin = (size_t)(e - pattern);
                if ((unsigned char)*e < 0x80 && !is_alnum(*e))
                    emit(t, "\\", 1, origin);
                emit(t, e, clen ? clen : 1, origin);
                operand(t, from, false);
                e += clen ? clen : 1;
            }
            p = e < end ? e + 2 : end;
            after_repeat = false;
            continue;
        }
        if (*p == '\\') {
            n = escape_len(p, end, in_class);
            if (n == 0) {
                /* The escaped character whole, which may take several bytes. */
                int clen = p + 1 < end ? 1 : 0;
                if (clen && (unsigned char)p[1] >= 0x80)
                    clen = (int)utf8_seq_len((const unsigned char *)p + 1, (size_t)(end - p - 1));
                return refuse(reason, reasonlen,
                              "Go's regexp refuses the escape \\%.*s at offset %zu", clen, p + 1,
                              at);
            }
            class_type = emit_escape(t, p, n, in_class, at);
            if (!in_class)
                operand(t, start, strchr("AzbB", p[1]) != NULL);
            after_repeat = false;
        } else if (in_class) {
            if (*p == '[' && p + 1 < end && p[1] == ':' && strstr(p + 2, ":]") &&
                strstr(p + 2, ":]") < end) {
                n = (size_t)(strstr(p + 2, ":]") - p) + 2;
                emit(t, p, n, at);
                class_type = true;
            } else if (*p == '[') {
                emit(t, "\\[", 2, at);
            } else if (*p == '-' && was_type && p + 1 < end && p[1] != ']') {
                emit(t, "\\-", 2, at);
            } else if (*p == ']') {
                emit(t, p, 1, at);
                in_class = false;
                operand(t, t->op_start, false);
            } else {
                n = utf8_seq_len((const unsigned char *)p, (size_t)(end - p));
                n = n ? n : 1;
                emit(t, p, n, at);
            }
        } else if (*p == '[') {
            in_class = true;
            after_repeat = false;
            t->op_start = start; /* the operand once the class closes */
            /* A ] right after [ or [^ is a literal. */
            if (p + 1 < end && p[1] == '^')
                n++;
            if (p + n < end && p[n] == ']')
                n++;
            emit(t, p, n, at);
        } else if (*p == '(' && p + 1 < end && p[1] == '?') {
            const char *q = p + 2;
            if (q + 1 < end && q[0] == 'P' && q[1] == '<') {
                const char *name = q + 2, *close = name;
                while (close < end && (is_alnum(*close) || *close == '_'))
                    close++;
                if (close == name || close >= end || *close != '>')
                    return refuse(reason, reasonlen,
                                  "Go's regexp refuses the capture group name in %.*s at offset "
                                  "%zu",
                                  (int)(close < end ? close - p + 1 : end - p), p, at);
                /* PCRE2 refuses a name that starts with a digit, is over 32 bytes long or is
                 * used twice; Go takes them. Groups are named _0, _1... in their order. */
                struct go_pattern *o = t->out;
                o->names = xrealloc(o->names, (o->nnames + 1) * sizeof(*o->names));
                o->names[o->nnames] = xstrndup(name, (size_t)(close - name));
                char buf[32];
                snprintf(buf, sizeof(buf), "(?P<_%zu>", o->nnames++);
                emit_str(t, buf, at);
                n = (size_t)(close - p) + 1;
                push_group(t, start);
                after_repeat = false;
                p += n;
                continue;
            } else {
                size_t f = flags_len(q, end);
                if (f == 0) {
                    const char *bad = q;
                    while (bad < end && strchr("imsU-", *bad))
                        bad++;
                    return refuse(reason, reasonlen,
                                  "Go's regexp refuses the group syntax %.*s at offset %zu",
                                  (int)(bad < end ? bad - p + 1 : end - p), p, at);
                }
                n = 2 + f;
            }
            emit(t, p, n, at);
            if (p[n - 1] != ')') { /* a group opens; flags alone, (?i), leave the operand */
                push_group(t, start);
            }
            after_repeat = false;
        } else if (*p == '(') {
            emit(t, p, 1, at);
            push_group(t, start);
            after_repeat = false;
        } else if (*p == ')') {
            emit(t, p, 1, at);
            if (t->ngroups > 0)
                operand(t, t->groups[--t->ngroups], false);
            after_repeat = false; /* an unmatched ')' is left for PCRE2 to refuse, as Go does */
        } else if (is_repeat(p, end, &n)) {
            if (*p == '{' && repeat_max(p, n) > 1000)
                return refuse(reason, reasonlen,
                              "Go's regexp refuses a repeat count over 1000 (%.*s) at offset %zu",
                              (int)n, p, at);
            if (!t->has_operand)
                return refuse(reason, reasonlen,
                              "Go's regexp refuses a repetition operator without an operand "
                              "(%.*s) at offset %zu",
                              (int)n, p, at);
            if (after_repeat)
                return refuse(reason, reasonlen,
                              "Go's regexp refuses a repetition operator right after another "
                              "(%.*s) at offset %zu",
                              (int)n, p, at);
            /* A lazy ? belongs to the operator before it. */
            if (p + n < end && p[n] == '?')
                n++;
            emit_repeat(t, p, n, at);
            after_repeat = true;
        } else if (*p == '{') {
            emit(t, "\\{", 2, at); /* a literal in Go; PCRE2 10.43 reads {,n} as a count */
            operand(t, start, false);
            after_repeat = false;
        } else {
            n = utf8_seq_len((const unsigned char *)p, (size_t)(end - p));
            n = n ? n : 1;
            emit(t, p, n, at);
            if (*p == '|')
                t->has_operand = false;
            else
                operand(t, start, *p == '^' || *p == '$');
            after_repeat = false;
        }
        p += n;
    }
    emit(t, "", 0, len);
    t->out->from[t->out->text.len] = len;
    return 0;
}

int rules_go_translate(const char *pattern, size_t len, struct go_pattern *out, char *reason,
                       size_t reasonlen)
{
    struct translator t = {.out = out};
    strbuf_reset(&out->text);
    int rc = translate(&t, pattern, len, reason, reasonlen);
    free(t.groups);
    return rc;
}

void rules_go_pattern_free(struct go_pattern *gp)
{
    strbuf_free(&gp->text);
    free(gp->from);
    gp->from = NULL;
    for (size_t i = 0; i < gp->nnames; i++)
        free(gp->names[i]);
    free(gp->names);
    gp->names = NULL;
    gp->nnames = 0;
}
