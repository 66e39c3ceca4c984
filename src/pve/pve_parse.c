/* Pure parsers for what PVE shows of a QEMU VM: this file holds the values derived from the
 * command line and the config (vCPUs, memory), and the small cgroup and sysfs files; the QEMU
 * command line is read in pve_cmdline.c, the VM config in pve_config.c. Each parser walks its
 * input once with pointers: no sscanf, no strtod (the locale would decide the decimal point),
 * no allocation, so they are safe to run on every process of every scan and to fuzz. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "pve/pve_parse.h"

/* ---- derived values ----------------------------------------------------------------------- */

static unsigned clamp_uint(uint64_t v)
{
    return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

unsigned pve_vcpus(const struct pve_cmdline *cmd, const struct pve_config *config,
                   unsigned kvm_threads)
{
    if (kvm_threads > 0)
        return kvm_threads;
    if (config) {
        if (config->vcpus > 0)
            return config->vcpus;
        if (config->sockets > 0 || config->cores > 0)
            return clamp_uint((uint64_t)(config->sockets ? config->sockets : 1) *
                              (config->cores ? config->cores : 1));
    }
    /* With vCPU hotplug the command line holds -smp 1 and one -device per further vCPU. */
    if (cmd && cmd->smp_cpus > 0)
        return clamp_uint((uint64_t)cmd->smp_cpus + cmd->hotplug_cpus);
    return 0;
}

static uint64_t mib_to_bytes(uint64_t mib)
{
    return mib > UINT64_MAX / MIB ? UINT64_MAX : mib * MIB;
}

uint64_t pve_maxmem_bytes(const struct pve_cmdline *cmd, const struct pve_config *config)
{
    if (config && config->memory_mib > 0)
        return mib_to_bytes(config->memory_mib);
    if (cmd && cmd->backends_mib > 0)
        return mib_to_bytes(cmd->backends_mib);
    if (cmd && cmd->m_mib > 0)
        return mib_to_bytes(cmd->m_mib);
    return 0;
}

bool pve_is_vcpu_thread(const char *comm)
{
    if (!comm || strncmp(comm, "CPU ", 4) != 0)
        return false;
    const char *p = comm + 4;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > digits && strcmp(p, "/KVM") == 0;
}

/* ---- cgroup files ------------------------------------------------------------------------- */

/* "12.34": the kernel prints PSI averages with two decimals; no locale decides the point here. */
static bool parse_fixed(const char *s, size_t len, double *out)
{
    size_t i = 0;
    uint64_t ip = 0;
    double frac = 0, scale = 1;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0 || !pve_parse_dec(s, i, &ip))
        return false;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* Digits past what a double holds change nothing. Taking them all, ~310 of them
             * would make frac and scale infinite and frac / scale NaN. */
            if (scale >= 1e18)
                continue;
            frac = frac * 10 + (s[i] - '0');
            scale *= 10;
        }
        if (i == f)
            return false;
    }
    if (i != len)
        return false;
    *out = (double)ip + frac / scale;
    return true;
}

int pve_parse_pressure(const char *buf, size_t len, struct pve_pressure *out)
{
    const char *end = buf + len;

    memset(out, 0, sizeof(*out));
    for (const char *p = buf, *next; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        bool some;
        if (pve_span_starts(p, (size_t)(eol - p), "some "))
            some = true;
        else if (pve_span_starts(p, (size_t)(eol - p), "full "))
            some = false;
        else
            continue;

        double avg10 = 0;
        uint64_t total = 0;
        bool have_avg = false, have_total = false;
        for (const char *t = p + 5, *te; t < eol; t = te) {
            while (t < eol && *t == ' ')
                t++;
            te = t;
            while (te < eol && *te != ' ')
                te++;
            size_t tlen = (size_t)(te - t);
            if (pve_span_starts(t, tlen, "avg10="))
                have_avg = parse_fixed(t + 6, tlen - 6, &avg10);
            else if (pve_span_starts(t, tlen, "total=")) /* microseconds */
                have_total = pve_parse_dec(t + 6, tlen - 6, &total);
        }
        if (!have_avg || !have_total)
            continue;
        if (some) {
            out->has_some = true;
            out->some_avg10 = avg10;
            out->some_total_us = total;
        } else {
            out->has_full = true;
            out->full_avg10 = avg10;
            out->full_total_us = total;
        }
    }
    return out->has_some ? 0 : -EINVAL;
}

int pve_parse_u64_line(const char *buf, size_t len, uint64_t *out)
{
    size_t n = 0;
    while (n < len && buf[n] >= '0' && buf[n] <= '9')
        n++;
    if (n == 0)
        return -EINVAL;
    for (size_t i = n; i < len; i++)
        if (buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\t')
            return -EINVAL;
    return pve_parse_dec(buf, n, out) ? 0 : -ERANGE;
}
