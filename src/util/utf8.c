#include "util/utf8.h"

/* Follows Unicode Table 3-7, which rules out overlong forms (C0, C1, E0 80..9F, F0 80..8F),
 * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). */
size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len;

    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}

static void put_hex(struct strbuf *out, unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    char esc[4] = {'\\', 'x', digits[c >> 4], digits[c & 15]};
    strbuf_append(out, esc, sizeof(esc));
}

void utf8_put_printable(struct strbuf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;

    strbuf_reserve(out, n);
    while (p < end) {
        unsigned char c = *p;
        size_t seq = 1;

        if (c >= 0x80) {
            seq = utf8_seq_len(p, (size_t)(end - p));
            /* U+0080..U+009F (C2 80..C2 9F) are C1 controls: 9B alone starts a terminal CSI. */
            if (seq && !(c == 0xC2 && p[1] < 0xA0)) {
                p += seq;
                continue;
            }
        } else if (c >= 0x20 && c != 0x7F && c != '\\') {
            p++;
            continue;
        }
        strbuf_append(out, (const char *)run, (size_t)(p - run));
        if (c == '\\')
            strbuf_append(out, "\\\\", 2);
        else if (c == '\n')
            strbuf_append(out, "\\n", 2);
        else if (c == '\r')
            strbuf_append(out, "\\r", 2);
        else if (c == '\t')
            strbuf_append(out, "\\t", 2);
        else
            for (size_t i = 0; i < (seq ? seq : 1); i++)
                put_hex(out, p[i]);
        p += seq ? seq : 1;
        run = p;
    }
    strbuf_append(out, (const char *)run, (size_t)(p - run));
}

size_t utf8_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

size_t utf8_prefix(const char *s, size_t n, size_t chars)
{
    size_t i = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == 0)
                break;
            chars--;
        }
        i++;
    }
    return i;
}

void utf8_put_rune(struct strbuf *b, uint64_t r)
{
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    char buf[4];
    size_t n;
    if (r < 0x80) {
        buf[0] = (char)r, n = 1;
    } else if (r < 0x800) {
        buf[0] = (char)(0xc0 | r >> 6), buf[1] = (char)(0x80 | (r & 0x3f)), n = 2;
    } else if (r < 0x10000) {
        buf[0] = (char)(0xe0 | r >> 12), buf[1] = (char)(0x80 | (r >> 6 & 0x3f));
        buf[2] = (char)(0x80 | (r & 0x3f)), n = 3;
    } else {
        buf[0] = (char)(0xf0 | r >> 18), buf[1] = (char)(0x80 | (r >> 12 & 0x3f));
        buf[2] = (char)(0x80 | (r >> 6 & 0x3f)), buf[3] = (char)(0x80 | (r & 0x3f)), n = 4;
    }
    strbuf_append(b, buf, n);
}
