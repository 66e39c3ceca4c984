/* expo_label on an arbitrary value. Whatever the bytes, the label must be `name="..."` with valid
 * UTF-8 between the quotes, no raw newline or NUL, no unescaped quote, and only the three escapes
 * of the text format. */
#include "fuzz.h"
#include "expo/expo.h"

/* Length of a well-formed UTF-8 sequence at s (Unicode Table 3-7), or 0. Written apart from
 * expo.c's on purpose: an oracle should not share the code it checks. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    size_t len;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "groupname=\"";
    struct strbuf out = STRBUF_INIT;
    expo_label(&out, "groupname", (const char *)data, size);

    const unsigned char *p = (const unsigned char *)strbuf_str(&out);
    FUZZ_CHECK(out.len >= sizeof(prefix) && memcmp(p, prefix, sizeof(prefix) - 1) == 0);
    FUZZ_CHECK(strlen((const char *)p) == out.len);
    const unsigned char *end = p + out.len - 1; /* the closing quote */
    FUZZ_CHECK(*end == '"');
    for (p += sizeof(prefix) - 1; p < end;) {
        FUZZ_CHECK(*p != '\n' && *p != '"');
        if (*p == '\\') {
            FUZZ_CHECK(p + 1 < end && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'));
            p += 2;
            continue;
        }
        size_t n = utf8_len(p, (size_t)(end - p));
        FUZZ_CHECK(n > 0);
        p += n;
    }

    /* A second label is joined with a comma. */
    size_t first_len = out.len;
    expo_label(&out, "x", (const char *)data, size);
    FUZZ_CHECK(out.buf[first_len] == ',');
    strbuf_free(&out);
    return 0;
}
