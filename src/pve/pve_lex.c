/* The pieces the PVE parsers share (see pve_lex.h). */
#include "pve/pve_lex.h"

#include <limits.h>
#include <string.h>

/* ---- numbers ------------------------------------------------------------------------------ */

bool pve_parse_dec(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool pve_parse_uint(const char *s, size_t len, unsigned *out)
{
    uint64_t v;
    if (!pve_parse_dec(s, len, &v) || v > UINT_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

/* ---- strings ------------------------------------------------------------------------------ */

bool pve_span_is(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

bool pve_span_starts(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s, lit, n) == 0;
}

bool pve_span_ends(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s + len - n, lit, n) == 0;
}

bool pve_span_is_numbered(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    uint64_t ignored;
    return pve_span_starts(s, len, prefix) && len > n && pve_parse_dec(s + n, len - n, &ignored);
}

bool pve_config_file_vmid(const char *name, unsigned *vmid)
{
    size_t len = strlen(name);
    return name[0] >= '1' && name[0] <= '9' && pve_span_ends(name, len, ".conf") &&
           pve_parse_uint(name, len - 5, vmid);
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence, so that a
 * name cut to fit its buffer stays valid UTF-8 for the exposition. */
static size_t utf8_cut(const char *s, size_t n)
{
    size_t i = n;
    size_t back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (want == 1)
        return n;
    return back + 1 < want ? i - 1 : n;
}

size_t pve_copy_value(char *dst, size_t cap, const char *src, size_t len, bool unescape)
{
    size_t full = 0, n = 0;
    bool cut = false;
    for (size_t i = 0; i < len; i++) {
        if (unescape && src[i] == ',' && i + 1 < len && src[i + 1] == ',')
            i++;
        if (n + 1 < cap)
            dst[n++] = src[i];
        else
            cut = true;
        full++;
    }
    if (cut)
        n = utf8_cut(dst, n);
    dst[n] = '\0';
    return full;
}

/* ---- QEMU key=value lists ----------------------------------------------------------------- */

struct pve_kv_iter pve_kv_start(const char *s, size_t len, const char *implied)
{
    struct pve_kv_iter it = {s, s + len, implied, true};
    return it;
}

bool pve_kv_next(struct pve_kv_iter *it, struct pve_kv *kv)
{
    if (it->p >= it->end)
        return false;
    const char *s = it->p;
    const char *e = s;
    while (e < it->end) {
        if (*e == ',') {
            if (e + 1 < it->end && e[1] == ',') {
                e += 2;
                continue;
            }
            break;
        }
        e++;
    }
    it->p = e < it->end ? e + 1 : e;

    /* As QEMU decides it: a field has a key when '=' comes before any ','. */
    const char *eq = s;
    while (eq < e && *eq != '=' && *eq != ',')
        eq++;
    bool first = it->first;
    it->first = false;
    if (eq < e && *eq == '=') {
        kv->key = s;
        kv->key_len = (size_t)(eq - s);
        kv->val = eq + 1;
        kv->val_len = (size_t)(e - eq - 1);
        kv->flag = false;
    } else if (first && it->implied) {
        kv->key = it->implied;
        kv->key_len = strlen(it->implied);
        kv->val = s;
        kv->val_len = (size_t)(e - s);
        kv->flag = false;
    } else {
        kv->key = s;
        kv->key_len = (size_t)(e - s);
        kv->val = "on";
        kv->val_len = 2;
        kv->flag = true;
    }
    return true;
}

bool pve_kv_key(const struct pve_kv *kv, const char *key)
{
    return pve_span_is(kv->key, kv->key_len, key);
}

bool pve_truthy(const char *s, size_t len)
{
    return pve_span_is(s, len, "on") || pve_span_is(s, len, "yes") || pve_span_is(s, len, "true") ||
           pve_span_is(s, len, "y") || pve_span_is(s, len, "1");
}

uint64_t pve_content_hash(const char *data, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
    return h;
}
