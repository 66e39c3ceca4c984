/* The main section of a PVE container config, /etc/pve/lxc/<vmid>.conf. A pure parser: see
 * pve_lxc.h. */
#include <errno.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "pve/pve_lxc.h"

/* "2", "0.5", "1.25": a decimal with at most three decimals, in thousandths; 0 when it is none
 * or above 8192 (PVE's bound for cpulimit). */
static unsigned parse_milli(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    size_t int_len = dot ? (size_t)(dot - s) : len;
    size_t frac_len = dot ? len - int_len - 1 : 0;
    uint64_t whole = 0, frac = 0;
    if ((int_len && !pve_parse_dec(s, int_len, &whole)) || (!int_len && !frac_len) ||
        frac_len > 3 || (dot && frac_len == 0) ||
        (frac_len && !pve_parse_dec(dot + 1, frac_len, &frac)) || whole > 8192)
        return 0;
    for (size_t i = frac_len; i < 3; i++)
        frac *= 10;
    return (unsigned)(whole * 1000 + frac);
}

static void lxc_value(void *ctx, const char *key, size_t key_len, const char *val, size_t val_len)
{
    struct pve_lxc_config *out = ctx;
    if (pve_span_is(key, key_len, "hostname")) {
        pve_copy_value(out->hostname, sizeof(out->hostname), val, val_len, false);
    } else if (pve_span_is(key, key_len, "tags")) {
        pve_normalize_tags(out->tags, sizeof(out->tags), val, val_len);
    } else if (pve_span_is(key, key_len, "ostype")) {
        pve_copy_value(out->ostype, sizeof(out->ostype), val, val_len, false);
    } else if (pve_span_is(key, key_len, "arch")) {
        pve_copy_value(out->arch, sizeof(out->arch), val, val_len, false);
    } else if (pve_span_is(key, key_len, "cores")) {
        if (!pve_parse_uint(val, val_len, &out->cores))
            out->cores = 0;
    } else if (pve_span_is(key, key_len, "cpulimit")) {
        out->cpulimit_milli = parse_milli(val, val_len);
    } else if (pve_span_is(key, key_len, "memory")) {
        if (!pve_parse_dec(val, val_len, &out->memory_mib))
            out->memory_mib = 0;
    } else if (pve_span_is(key, key_len, "swap")) {
        if (!pve_parse_dec(val, val_len, &out->swap_mib))
            out->swap_mib = 0;
    } else if (pve_span_is(key, key_len, "unprivileged")) {
        out->unprivileged = pve_truthy(val, val_len);
    } else if (pve_span_is(key, key_len, "template")) {
        out->template_ = pve_truthy(val, val_len);
    }
}

int pve_parse_lxc_config(const char *buf, size_t len, struct pve_lxc_config *out)
{
    memset(out, 0, sizeof(*out));
    return pve_config_walk(buf, len, lxc_value, out) ? 0 : -EINVAL;
}

uint64_t pve_lxc_cpus_milli(const struct pve_lxc_config *config, unsigned host_cpus)
{
    if (config && config->cores)
        return (uint64_t)config->cores * 1000;
    if (config && config->cpulimit_milli)
        return config->cpulimit_milli;
    return (uint64_t)host_cpus * 1000;
}

uint64_t pve_lxc_maxmem_bytes(const struct pve_lxc_config *config)
{
    uint64_t mib = config && config->memory_mib ? config->memory_mib : 512;
    return mib > UINT64_MAX / MIB ? UINT64_MAX : mib * MIB;
}
