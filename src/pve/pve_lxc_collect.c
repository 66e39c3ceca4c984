/* The container collector: what proctrack knows of each PVE container beyond its processes, read
 * from its config, its cgroup /lxc/<vmid> and its host-side veths (see pve.h). */
#include "pve/pve_lxc_collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "pve/pve_parse.h"
#include "tracker/counter.h"
#include "tracker/tracker.h"
#include "util/xalloc.h"

/* A config file is read this far: the main section comes first, snapshots after it. */
#define CONFIG_FILE_MAX (64 * 1024)
/* cpu.stat, memory.stat, io.stat and PSI files: a few KiB (io.stat: a line per device). */
#define CGROUP_FILE_MAX (64 * 1024)
#define NUMBER_FILE_MAX 64

/* The baseline of one device line of io.stat. A device that leaves the file and comes back lower
 * is a new one (hot-plugged again): it counts from zero, as a recreated cgroup does. */
struct pve_ct_io_dev {
    char dev[24]; /* "MAJ:MIN" */
    uint64_t last[PVE_IO_STATS];
};

struct pve_cts {
    struct pve_ct **cts; /* in vmid order */
    size_t n, cap;
    bool refreshed; /* a refresh has run: containers noted from now on were started since */
};

struct pve_cts *pve_cts_new(void)
{
    return xcalloc(1, sizeof(struct pve_cts));
}

static void ct_free(struct pve_ct *ct)
{
    free(ct->group);
    free(ct->io_devs);
    free(ct->nics);
    free(ct);
}

void pve_cts_free(struct pve_cts *cts)
{
    if (!cts)
        return;
    for (size_t i = 0; i < cts->n; i++)
        ct_free(cts->cts[i]);
    free(cts->cts);
    free(cts);
}

size_t pve_cts_count(const struct pve_cts *cts)
{
    return cts->n;
}

const struct pve_ct *pve_cts_at(const struct pve_cts *cts, size_t index)
{
    return index < cts->n ? cts->cts[index] : NULL;
}

static size_t ct_pos(const struct pve_cts *cts, unsigned vmid)
{
    size_t lo = 0, hi = cts->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cts->cts[mid]->vmid < vmid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct pve_ct *ct_find(const struct pve_cts *cts, unsigned vmid)
{
    size_t pos = ct_pos(cts, vmid);
    return pos < cts->n && cts->cts[pos]->vmid == vmid ? cts->cts[pos] : NULL;
}

static struct pve_ct *ct_get(struct pve_cts *cts, unsigned vmid)
{
    size_t pos = ct_pos(cts, vmid);
    if (pos < cts->n && cts->cts[pos]->vmid == vmid)
        return cts->cts[pos];
    struct pve_ct *ct = xcalloc(1, sizeof(*ct));
    ct->vmid = vmid;
    snprintf(ct->id, sizeof(ct->id), "%u", vmid);
    ct->watched = cts->refreshed;
    cts->cts = xgrow(cts->cts, &cts->cap, cts->n + 1, sizeof(*cts->cts));
    memmove(&cts->cts[pos + 1], &cts->cts[pos], (cts->n - pos) * sizeof(*cts->cts));
    cts->cts[pos] = ct;
    cts->n++;
    return ct;
}

void pve_cts_note_new(struct pve_cts *cts, const struct pve_options *options,
                      const struct tracker_new_process *p)
{
    if (!p->group)
        return;
    /* The decision is of the scan just done: the process may have gone since, and its pid been
     * taken by another. Its stat says which. */
    struct proc_stat st;
    if (proc_reader_stat(options->reader, p->pid, &st) != 0 ||
        st.starttime_ticks != p->starttime_ticks)
        return;
    struct proc_identity id;
    unsigned failed, vmid;
    if (proc_reader_identity(options->reader, &st, PROC_NEED_CGROUP, &id, &failed) != 0 ||
        pve_lxc_role_of(&id, &vmid) == PVE_LXC_NONE)
        return;
    struct pve_ct *ct = ct_get(cts, vmid);
    if (!ct->group || strcmp(ct->group, p->group) != 0) {
        free(ct->group);
        ct->group = xstrdup(p->group);
    }
}

/* Re-reads the config, and parses it again when its content changed (pmxcfs's mtimes have whole
 * seconds); notes when it is gone. */
static void load_config(const struct pve_options *options, struct pve_ct *ct)
{
    char name[24];
    snprintf(name, sizeof(name), "%u.conf", ct->vmid);
    const char *data;
    ssize_t n =
        proc_reader_file(options->reader, options->lxc_config_dir, name, CONFIG_FILE_MAX, &data);
    if (n < 0) {
        ct->has_config = false;
        return;
    }
    if (n == CONFIG_FILE_MAX) /* cut at the bound: only whole lines count */
        while (n > 0 && data[n - 1] != '\n')
            n--;
    uint64_t hash = pve_content_hash(data, (size_t)n);
    if (ct->has_config && (size_t)n == ct->config_len && hash == ct->config_hash)
        return;
    struct pve_lxc_config config;
    if (pve_parse_lxc_config(data, (size_t)n, &config) != 0) {
        ct->has_config = false;
        return;
    }
    ct->config = config;
    ct->config_len = (size_t)n;
    ct->config_hash = hash;
    ct->has_config = true;
}

static void derive_facts(struct pve_ct *ct, unsigned host_cpus)
{
    const struct pve_lxc_config *c = ct->has_config ? &ct->config : NULL;
    if (c && c->hostname[0])
        snprintf(ct->name, sizeof(ct->name), "%s", c->hostname);
    else
        snprintf(ct->name, sizeof(ct->name), "CT%u", ct->vmid);
    ct->cpus_milli = pve_lxc_cpus_milli(c, host_cpus);
    ct->maxmem_bytes = pve_lxc_maxmem_bytes(c);
    uint64_t swap_mib = c ? c->swap_mib : 0;
    ct->maxswap_bytes = swap_mib > UINT64_MAX >> 20 ? UINT64_MAX : swap_mib << 20;
}

static bool read_number(struct proc_reader *reader, const char *root, const char *name,
                        uint64_t *out)
{
    const char *data;
    ssize_t n = proc_reader_file(reader, root, name, NUMBER_FILE_MAX, &data);
    return n > 0 && pve_parse_u64_line(data, (size_t)n, out) == 0;
}

/* Reads "lxc/<vmid>/<file>" of the cgroupfs; returns its length or a negative errno. */
static ssize_t cgroup_file(const struct pve_options *options, const struct pve_ct *ct,
                           const char *file, const char **data)
{
    char name[96];
    snprintf(name, sizeof(name), "lxc/%u/%s", ct->vmid, file);
    return proc_reader_file(options->reader, options->cgroupfs, name, CGROUP_FILE_MAX, data);
}

/* A new cgroup (the container started again): every baseline of it is gone. */
static void cgroup_restart(struct pve_ct *ct)
{
    ct->has_last_cpu = false;
    ct->cgroup_read = false;
    ct->nio_devs = 0;
    for (int r = 0; r < PVE_RESOURCES; r++)
        ct->has_last_some[r] = ct->has_last_full[r] = false;
}

struct io_read {
    struct pve_ct *ct;
    bool from_zero;
};

static void io_device(void *arg, const char *dev, size_t dev_len,
                      const uint64_t values[PVE_IO_STATS])
{
    struct io_read *r = arg;
    struct pve_ct *ct = r->ct;
    struct pve_ct_io_dev *d = NULL;
    for (size_t i = 0; i < ct->nio_devs && !d; i++)
        if (strlen(ct->io_devs[i].dev) == dev_len && memcmp(ct->io_devs[i].dev, dev, dev_len) == 0)
            d = &ct->io_devs[i];
    bool has_last = d != NULL;
    if (!d) {
        if (dev_len >= sizeof(d->dev))
            return;
        ct->io_devs = xgrow(ct->io_devs, &ct->io_devs_cap, ct->nio_devs + 1, sizeof(*ct->io_devs));
        d = &ct->io_devs[ct->nio_devs++];
        memset(d, 0, sizeof(*d));
        memcpy(d->dev, dev, dev_len);
    }
    for (int k = 0; k < PVE_IO_STATS; k++) {
        bool h = has_last;
        ct->io_total[k] +=
            tracker_delta(&d->last[k], &h, values[k], r->from_zero, TRACKER_DROP_RESTART);
    }
}

static void refresh_cgroup(const struct pve_options *options, struct pve_ct *ct, bool from_zero)
{
    const char *data;
    ssize_t n;
    struct pve_cpu_stat cpu;
    n = cgroup_file(options, ct, "cpu.stat", &data);
    ct->has_cpu = n > 0 && pve_parse_cpu_stat(data, (size_t)n, &cpu) == 0;
    if (ct->has_cpu) {
        bool has_last = ct->has_last_cpu;
        ct->cpu_user_us += tracker_delta(&ct->last_user_us, &has_last, cpu.user_usec, from_zero,
                                         TRACKER_DROP_RESTART);
        has_last = ct->has_last_cpu;
        ct->cpu_system_us += tracker_delta(&ct->last_system_us, &has_last, cpu.system_usec,
                                           from_zero, TRACKER_DROP_RESTART);
        ct->has_last_cpu = true;
    }

    n = cgroup_file(options, ct, "io.stat", &data);
    ct->has_io = n >= 0;
    if (n >= 0) {
        /* A device first listed by a cgroup we read before did all its I/O since. */
        struct io_read r = {ct, from_zero || ct->cgroup_read};
        pve_parse_io_stat(data, (size_t)n, io_device, &r);
    }

    char name[96];
    snprintf(name, sizeof(name), "lxc/%u/memory.current", ct->vmid);
    ct->has_memory_current =
        read_number(options->reader, options->cgroupfs, name, &ct->memory_current_bytes);
    snprintf(name, sizeof(name), "lxc/%u/memory.swap.current", ct->vmid);
    ct->has_swap_current =
        read_number(options->reader, options->cgroupfs, name, &ct->swap_current_bytes);
    n = cgroup_file(options, ct, "memory.stat", &data);
    if (n <= 0 || pve_parse_memory_stat(data, (size_t)n, &ct->memory_stat) != 0)
        memset(&ct->memory_stat, 0, sizeof(ct->memory_stat));

    for (int r = 0; r < PVE_RESOURCES; r++) {
        char file[32];
        snprintf(file, sizeof(file), "%s.pressure", pve_resource_name((enum pve_resource)r));
        struct pve_pressure p;
        n = cgroup_file(options, ct, file, &data);
        ct->has_pressure[r] = n > 0 && pve_parse_pressure(data, (size_t)n, &p) == 0;
        if (!ct->has_pressure[r])
            continue;
        ct->pressure_some_us[r] += tracker_delta(&ct->last_some_us[r], &ct->has_last_some[r],
                                                 p.some_total_us, from_zero, TRACKER_DROP_RESTART);
        if (p.has_full)
            ct->pressure_full_us[r] +=
                tracker_delta(&ct->last_full_us[r], &ct->has_last_full[r], p.full_total_us,
                              from_zero, TRACKER_DROP_RESTART);
        ct->has_full[r] = p.has_full;
    }
    ct->cgroup_read = true;
}

/* ---- veths ---- */

/* The vmid of a PVE container's host-side veth "veth<vmid>i<n>", or 0. */
static unsigned veth_vmid(const char *name)
{
    if (strnlen(name, 16) >= 16 || strncmp(name, "veth", 4) != 0 || name[4] < '1' || name[4] > '9')
        return 0;
    const char *p = name + 4;
    unsigned v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000000u)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (*p++ != 'i' || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p ? 0 : v;
}

static size_t nic_index(struct pve_ct *ct, const char *ifname)
{
    for (size_t i = 0; i < ct->nnics; i++)
        if (strcmp(ct->nics[i].ifname, ifname) == 0)
            return i;
    ct->nics = xgrow(ct->nics, &ct->nics_cap, ct->nnics + 1, sizeof(*ct->nics));
    size_t at = ct->nnics++;
    /* In name order for the output. */
    while (at > 0 && strcmp(ct->nics[at - 1].ifname, ifname) > 0) {
        ct->nics[at] = ct->nics[at - 1];
        at--;
    }
    memset(&ct->nics[at], 0, sizeof(ct->nics[at]));
    snprintf(ct->nics[at].ifname, sizeof(ct->nics[at].ifname), "%s", ifname);
    return at;
}

struct veth_scan {
    struct pve_cts *cts;
    const struct pve_options *options;
};

static void note_veth(void *arg, const char *name, unsigned char type)
{
    (void)type;
    struct veth_scan *s = arg;
    unsigned vmid = veth_vmid(name);
    struct pve_ct *ct = vmid ? ct_find(s->cts, vmid) : NULL;
    if (!ct || !ct->running)
        return;
    /* The host's veth transmits what the container receives: PVE's netin is its transmit. The
     * totals are kept in the veth's orientation, by enum pve_tap_stat, as a VM's taps. */
    static const enum pve_nic_stat stats[] = {
        PVE_NIC_RECEIVE_BYTES,    PVE_NIC_TRANSMIT_BYTES, PVE_NIC_RECEIVE_PACKETS,
        PVE_NIC_TRANSMIT_PACKETS, PVE_NIC_RECEIVE_ERRORS, PVE_NIC_TRANSMIT_ERRORS,
        PVE_NIC_RECEIVE_DROPS,    PVE_NIC_TRANSMIT_DROPS,
    };
    enum { NSTATS = sizeof(stats) / sizeof(stats[0]) };
    char file[128];
    uint64_t ifindex = 0, raw[NSTATS];
    for (size_t k = 0; k < NSTATS; k++) {
        snprintf(file, sizeof(file), "class/net/%s/statistics/%s", name,
                 pve_tap_stat_name((enum pve_tap_stat)stats[k]));
        if (!read_number(s->options->reader, s->options->sysfs, file, &raw[k]))
            return;
    }
    /* Unreadable (a tree without it): 0, unknown, and the readings alone tell a new veth. */
    snprintf(file, sizeof(file), "class/net/%s/ifindex", name);
    if (!read_number(s->options->reader, s->options->sysfs, file, &ifindex))
        ifindex = 0;
    size_t at = nic_index(ct, name); /* may move ct->nics */
    struct pve_nic *nic = &ct->nics[at];
    /* Another ifindex is another veth (the container restarted, the NIC was replugged): it was
     * made while we watched, so it counts whole; a veth of a container running at the first
     * refresh sets a baseline then. */
    if (nic->has_last && ifindex && nic->ifindex && nic->ifindex != ifindex)
        nic->has_last = false;
    for (size_t k = 0; k < NSTATS; k++) {
        bool has_last = nic->has_last;
        nic->total[stats[k]] += tracker_delta(&nic->last[stats[k]], &has_last, raw[k], ct->watched,
                                              TRACKER_DROP_RESTART);
    }
    nic->ifindex = ifindex;
    nic->has_last = true;
    nic->present = true;
}

/* A container config of the LXC config dir, "<vmid>.conf": the container is known from now on,
 * running or not. */
static void note_config(void *arg, const char *name, unsigned char type)
{
    (void)type;
    unsigned vmid;
    if (pve_config_file_vmid(name, &vmid))
        ct_get(arg, vmid);
}

void pve_cts_refresh(struct pve_cts *cts, const struct pve_options *options,
                     const struct tracker *tracker, unsigned host_cpus)
{
    proc_reader_dir(options->reader, options->lxc_config_dir, ".", note_config, cts);
    size_t kept = 0;
    for (size_t i = 0; i < cts->n; i++) {
        struct pve_ct *ct = cts->cts[i];
        char name[32];
        uint64_t id;
        snprintf(name, sizeof(name), "lxc/%u", ct->vmid);
        ct->running = proc_reader_inode(options->reader, options->cgroupfs, name, &id) == 0;
        load_config(options, ct);
        /* Stopped and gone from this node (deleted, or migrated away): forget it. */
        if (!ct->running && !ct->has_config) {
            ct_free(ct);
            continue;
        }
        derive_facts(ct, host_cpus);
        for (size_t k = 0; k < ct->nnics; k++)
            ct->nics[k].present = false;
        if (ct->running) {
            /* The cgroup seen before goes on from its baseline; a new one (another id) counts
             * whole when it was made while we watched. */
            if (!ct->has_cgroup_id || ct->cgroup_id != id)
                cgroup_restart(ct);
            ct->cgroup_id = id;
            ct->has_cgroup_id = true;
            refresh_cgroup(options, ct, ct->watched);
            const struct tracker_group *g =
                ct->group ? tracker_group_find(tracker, ct->group) : NULL;
            ct->has_group = g != NULL;
            if (g) {
                ct->processes = g->gauges.v[TRACKER_PROCS];
                ct->threads = g->gauges.v[TRACKER_THREADS];
            }
        }
        cts->cts[kept++] = ct;
    }
    cts->n = kept;
    if (kept) {
        struct veth_scan s = {cts, options};
        proc_reader_dir(options->reader, options->sysfs, "class/net", note_veth, &s);
    }
    for (size_t i = 0; i < cts->n; i++)
        cts->cts[i]->watched = true;
    cts->refreshed = true;
}
