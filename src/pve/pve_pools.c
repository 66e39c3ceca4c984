#include "pve/pve_pools.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "util/xalloc.h"

/* Perl's \s, as PVE trims fields. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct span {
    const char *s;
    size_t len;
};

static struct span trim(const char *s, const char *end)
{
    while (s < end && is_space(*s))
        s++;
    while (end > s && is_space(end[-1]))
        end--;
    return (struct span){s, (size_t)(end - s)};
}

/* The members field: vmids separated by ',', ';', white space or NUL (PVE's split_list). */
static void members(struct span list, struct span pool, pve_pool_member_fn fn, void *arg)
{
    const char *p = list.s, *end = list.s + list.len;
    while (p < end) {
        while (p < end && (*p == ',' || *p == ';' || *p == '\0' || is_space(*p)))
            p++;
        const char *m = p;
        while (p < end && !(*p == ',' || *p == ';' || *p == '\0' || is_space(*p)))
            p++;
        unsigned vmid;
        if (p > m && pve_parse_uint(m, (size_t)(p - m), &vmid))
            fn(arg, vmid, pool.s, pool.len);
    }
}

/* Not empty, no control byte (a NUL would end the name early). PVE itself takes only
 * [A-Za-z0-9_-] and '/': anything printable is kept, as pve_local_exporter keeps it. */
static bool valid_name(struct span name)
{
    for (size_t i = 0; i < name.len; i++)
        if ((unsigned char)name.s[i] < 0x20 || name.s[i] == 0x7f)
            return false;
    return name.len > 0;
}

static void pool_line(const char *line, const char *end, pve_pool_member_fn fn, void *arg)
{
    /* pool:<name>:<comment>:<vmids>:<storages>: */
    struct span field[4] = {{NULL, 0}};
    size_t n = 0;
    for (const char *p = line; n < 4;) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        field[n++] = trim(p, colon ? colon : end);
        if (!colon)
            break;
        p = colon + 1;
    }
    if (n < 4 || !pve_span_is(field[0].s, field[0].len, "pool") || !valid_name(field[1]))
        return;
    members(field[3], field[1], fn, arg);
}

void pve_parse_pools(const char *buf, size_t len, pve_pool_member_fn fn, void *arg)
{
    const char *end = buf + len;
    for (const char *p = buf, *next; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        next = eol ? eol + 1 : end;
        struct span line = trim(p, eol ? eol : end);
        pool_line(line.s, line.s + line.len, fn, arg);
    }
}

void pve_pool_levels(const char *pool, struct pve_pool_levels *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < PVE_POOL_LEVELS; i++)
        out->level[i] = "";
    if (!*pool)
        return;
    const char *p = pool;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (out->count < PVE_POOL_LEVELS) {
            out->level[out->count] = p;
            out->len[out->count] = len;
        }
        out->count++;
        if (!slash)
            break;
        p = slash + 1;
    }
}

/* While loading: every membership in file order; `order` breaks ties so the first one stays. */
struct loading {
    struct pve_pools *pools;
    struct pve_pool_member *all;
    size_t count, cap;
};

static void add_member(void *arg, unsigned vmid, const char *pool, size_t pool_len)
{
    struct loading *l = arg;
    struct pve_pools *pools = l->pools;
    /* Lines list their members together: one copy of the name per run of the same pool. */
    size_t name = pools->names.len;
    if (l->count > 0) {
        const char *last = pools->names.buf + l->all[l->count - 1].name;
        if (strlen(last) == pool_len && memcmp(last, pool, pool_len) == 0)
            name = l->all[l->count - 1].name;
    }
    if (name == pools->names.len) {
        strbuf_append(&pools->names, pool, pool_len);
        strbuf_putc(&pools->names, '\0');
    }
    l->all = xgrow(l->all, &l->cap, l->count + 1, sizeof(*l->all));
    l->all[l->count++] = (struct pve_pool_member){vmid, name};
}

/* By vmid, then by position in the file (names are appended in file order). */
static int by_vmid(const void *a, const void *b)
{
    const struct pve_pool_member *x = a, *y = b;
    if (x->vmid != y->vmid)
        return x->vmid < y->vmid ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

void pve_pools_load(struct pve_pools *pools, const char *buf, size_t len)
{
    pve_pools_clear(pools);
    struct loading l = {.pools = pools, .all = pools->members, .cap = pools->cap};
    pve_parse_pools(buf, len, add_member, &l);
    if (l.count > 1)
        qsort(l.all, l.count, sizeof(*l.all), by_vmid);
    size_t kept = 0;
    for (size_t i = 0; i < l.count; i++)
        if (kept == 0 || l.all[kept - 1].vmid != l.all[i].vmid)
            l.all[kept++] = l.all[i];
    pools->members = l.all;
    pools->cap = l.cap;
    pools->count = kept;
}

void pve_pools_clear(struct pve_pools *pools)
{
    pools->count = 0;
    strbuf_reset(&pools->names);
}

void pve_pools_free(struct pve_pools *pools)
{
    free(pools->members);
    strbuf_free(&pools->names);
    memset(pools, 0, sizeof(*pools));
}

const char *pve_pools_find(const struct pve_pools *pools, unsigned vmid)
{
    size_t lo = 0, hi = pools->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pools->members[mid].vmid < vmid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < pools->count && pools->members[lo].vmid == vmid)
        return pools->names.buf + pools->members[lo].name;
    return "";
}

void pve_pool_labels(const char *pool, struct pve_pool_labels *out)
{
    struct pve_pool_levels lv;
    pve_pool_levels(pool, &lv);
    snprintf(out->levels, sizeof(out->levels), "%u", lv.count);
    out->value[0] = pool;
    out->len[0] = strlen(pool);
    for (size_t i = 0; i < PVE_POOL_LEVELS; i++) {
        out->value[1 + i] = lv.level[i];
        out->len[1 + i] = lv.len[i];
    }
    out->value[4] = out->levels;
    out->len[4] = strlen(out->levels);
}
