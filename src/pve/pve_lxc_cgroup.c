/* The cgroup v2 files of a container: pure parsers, see pve_lxc.h. */
#include <errno.h>
#include <string.h>

#include "proc/proc.h"
#include "pve/pve_lex.h"
#include "pve/pve_lxc.h"

static const char *const memory_stat_names[PVE_MEM_STATS] = {"anon", "file", "kernel", "shmem",
                                                             "sock"};

const char *pve_memory_stat_name(enum pve_memory_stat stat)
{
    return stat < PVE_MEM_STATS ? memory_stat_names[stat] : "?";
}

/* Calls `fn` with the key and the value of each "key value" line of a flat keyed file whose value
 * is an unsigned decimal. */
static void flat_keyed(const char *buf, size_t len,
                       void (*fn)(void *ctx, const char *key, size_t key_len, uint64_t value),
                       void *ctx)
{
    const char *end = buf + len;
    for (const char *line = buf; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = eol ? eol : end;
        const char *sp = memchr(line, ' ', (size_t)(line_end - line));
        if (sp) {
            const char *v = sp + 1;
            uint64_t n;
            if (proc_parse_u64(&v, line_end, &n) && v == line_end)
                fn(ctx, line, (size_t)(sp - line), n);
        }
        line = eol ? eol + 1 : end;
    }
}

struct cpu_stat_read {
    struct pve_cpu_stat *out;
    bool user, system;
};

static void cpu_stat_key(void *ctx, const char *key, size_t key_len, uint64_t value)
{
    struct cpu_stat_read *r = ctx;
    if (pve_span_is(key, key_len, "user_usec")) {
        r->out->user_usec = value;
        r->user = true;
    } else if (pve_span_is(key, key_len, "system_usec")) {
        r->out->system_usec = value;
        r->system = true;
    }
}

int pve_parse_cpu_stat(const char *buf, size_t len, struct pve_cpu_stat *out)
{
    struct cpu_stat_read r = {out, false, false};
    memset(out, 0, sizeof(*out));
    flat_keyed(buf, len, cpu_stat_key, &r);
    return r.user && r.system ? 0 : -EINVAL;
}

static void memory_stat_key(void *ctx, const char *key, size_t key_len, uint64_t value)
{
    struct pve_memory_stats *out = ctx;
    for (int i = 0; i < PVE_MEM_STATS; i++) {
        if (pve_span_is(key, key_len, memory_stat_names[i])) {
            out->has[i] = true;
            out->bytes[i] = value;
        }
    }
}

int pve_parse_memory_stat(const char *buf, size_t len, struct pve_memory_stats *out)
{
    memset(out, 0, sizeof(*out));
    flat_keyed(buf, len, memory_stat_key, out);
    return out->has[PVE_MEM_ANON] ? 0 : -EINVAL;
}

size_t pve_parse_io_stat(const char *buf, size_t len, pve_io_stat_fn fn, void *ctx)
{
    static const char *const keys[PVE_IO_STATS] = {"rbytes", "wbytes", "rios", "wios"};
    const char *end = buf + len;
    size_t lines = 0;
    for (const char *line = buf; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = eol ? eol : end;
        const char *sp = memchr(line, ' ', (size_t)(line_end - line));
        const char *colon = sp ? memchr(line, ':', (size_t)(sp - line)) : NULL;
        if (colon && colon > line) {
            uint64_t values[PVE_IO_STATS] = {0};
            /* key=value fields separated by spaces */
            for (const char *f = sp + 1; f < line_end;) {
                const char *fe = memchr(f, ' ', (size_t)(line_end - f));
                if (!fe)
                    fe = line_end;
                const char *eq = memchr(f, '=', (size_t)(fe - f));
                uint64_t n;
                if (eq && pve_parse_dec(eq + 1, (size_t)(fe - eq - 1), &n))
                    for (int k = 0; k < PVE_IO_STATS; k++)
                        if (pve_span_is(f, (size_t)(eq - f), keys[k]))
                            values[k] = n;
                f = fe + 1;
            }
            fn(ctx, line, (size_t)(sp - line), values);
            lines++;
        }
        line = eol ? eol + 1 : end;
    }
    return lines;
}
