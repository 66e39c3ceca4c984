/* Go's regexp (RE2 syntax, as of Go 1.19, which Debian's process-exporter 0.7.10 is built with)
 * refuses some syntax that PCRE2 takes: a config with it stops process-exporter, so it stops
 * proctrack too, instead of matching by rules process-exporter never had. Checked here before
 * PCRE2 compiles: escapes outside Go's set (\Z, \G, \K, \R, \h, \g, \k, backreferences \1..\9,
 * \e, \c...), group forms other than (?:, (?P<name>, (?flags) and (?flags:  (lookarounds,
 * (?<name>, atomic groups, recursion, conditionals, comments, verbs), and a repetition operator
 * right after another (possessive a*+, a**) or a count over 1000. What Go takes, this takes. */
#include "rules/gosyntax.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
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
        if (p + 2 < end && p[2] == '{') {
            const char *close = memchr(p + 3, '}', (size_t)(end - p - 3));
            return close ? (size_t)(close - p) + 1 : 0;
        }
        return p + 3 < end ? 4 : 0;
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

int rules_go_syntax_check(const char *pattern, size_t len, char *reason, size_t reasonlen)
{
    const char *p = pattern, *end = pattern + len;
    bool in_class = false, after_repeat = false, can_repeat = false;
    while (p < end) {
        size_t n = 1;
        const char *at = p;
        if (*p == '\\') {
            if (p + 1 < end && p[1] == 'Q') {
                const char *e = p + 2;
                while (e + 1 < end && !(e[0] == '\\' && e[1] == 'E'))
                    e++;
                p = e + 1 < end ? e + 2 : end;
                after_repeat = false;
                can_repeat = true;
                continue;
            }
            n = escape_len(p, end, in_class);
            if (n == 0) {
                /* The escaped character whole, which may take several bytes. */
                int clen = p + 1 < end ? 1 : 0;
                if (clen && (unsigned char)p[1] >= 0x80)
                    clen = (int)utf8_seq_len((const unsigned char *)p + 1, (size_t)(end - p - 1));
                snprintf(reason, reasonlen, "Go's regexp refuses the escape \\%.*s at offset %zu",
                         clen, p + 1, (size_t)(at - pattern));
                return -1;
            }
            after_repeat = false;
            can_repeat = !in_class;
        } else if (in_class) {
            if (*p == '[' && p + 1 < end && p[1] == ':') {
                const char *close = strstr(p + 2, ":]");
                if (close && close < end)
                    n = (size_t)(close - p) + 2;
            } else if (*p == ']') {
                in_class = false;
                can_repeat = true;
            }
        } else if (*p == '[') {
            in_class = true;
            after_repeat = false;
            /* A ] right after [ or [^ is a literal. */
            if (p + 1 < end && p[1] == '^')
                n++;
            if (p + n < end && p[n] == ']')
                n++;
        } else if (*p == '(' && p + 1 < end && p[1] == '?') {
            const char *q = p + 2;
            if (q < end && *q == 'P' && q + 1 < end && q[1] == '<') {
                n = 4;
                can_repeat = false;
            } else {
                while (q < end && (*q == 'i' || *q == 'm' || *q == 's' || *q == 'U' || *q == '-'))
                    q++;
                if (q >= end || (*q != ')' && *q != ':')) {
                    snprintf(reason, reasonlen,
                             "Go's regexp refuses the group syntax %.*s at offset %zu",
                             (int)(q < end ? q - p + 1 : end - p), p, (size_t)(at - pattern));
                    return -1;
                }
                n = (size_t)(q - p) + 1;
                if (*q == ':')
                    can_repeat = false; /* flags alone, (?i), leave the operand before them */
            }
            after_repeat = false;
        } else if (is_repeat(p, end, &n)) {
            if (*p == '{' && repeat_max(p, n) > 1000) {
                snprintf(reason, reasonlen,
                         "Go's regexp refuses a repeat count over 1000 (%.*s) "
                         "at offset %zu",
                         (int)n, p, (size_t)(at - pattern));
                return -1;
            }
            if (!can_repeat) {
                snprintf(reason, reasonlen,
                         "Go's regexp refuses a repetition operator without an operand (%.*s) at "
                         "offset %zu",
                         (int)n, p, (size_t)(at - pattern));
                return -1;
            }
            if (after_repeat) {
                snprintf(reason, reasonlen,
                         "Go's regexp refuses a repetition operator right after another (%.*s) "
                         "at offset %zu",
                         (int)n, p, (size_t)(at - pattern));
                return -1;
            }
            after_repeat = true;
            /* A lazy ? belongs to the operator before it. */
            if (p + n < end && p[n] == '?')
                n++;
        } else {
            after_repeat = false;
            can_repeat = *p != '(' && *p != '|';
        }
        p += n;
    }
    return 0;
}
