#include "exporter/pve_lxc_families.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/pve_pools.h"
#include "util/xalloc.h"

#define LXC "pve_lxc_"

enum { ROWS_CTS, ROWS_GUESTS, ROWS_INFO, ROWS_MEMSTAT, ROWS_NICS, ROWS_PRESSURE, ROWS_COUNT };

/* What a series shows, for expo_series.kind. */
enum {
    CGROUP_MEMORY = 1, /* memory.current */
    CORES,
    CPU_SYSTEM, /* microseconds */
    CPU_USER,
    IO, /* index: enum pve_io_stat */
    MAXMEM,
    MAXSWAP,
    PROCESSES,
    SWAP,
    THREADS,
    ONE,
    UP,         /* 1 running, 0 stopped */
    MEMSTAT,    /* one memory.stat key, bytes */
    NIC,        /* index: enum pve_nic_stat */
    STALL_SOME, /* PSI some total, microseconds */
    STALL_FULL,
};

#define SHOW(what)                                                                                 \
    {                                                                                              \
        .kind = what                                                                               \
    }
#define SHOW_IO(stat)                                                                              \
    {                                                                                              \
        .kind = IO, .index = stat                                                                  \
    }
#define SHOW_NIC(stat)                                                                             \
    {                                                                                              \
        .kind = NIC, .index = stat                                                                 \
    }
#define MICROS(label, what)                                                                        \
    {                                                                                              \
        .label_value = label, .kind = what, .unit = EXPO_UNIT_MICROSECONDS                         \
    }

/* In name order, as the rest of the output. */
static const struct expo_family_def families[] = {
    {LXC "cgroup_memory_bytes",
     EXPO_GAUGE,
     "memory.current of the container's cgroup (lxc/<vmid>), as PVE reads it",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(CGROUP_MEMORY)}},
    {LXC "cores",
     EXPO_GAUGE,
     "CPUs of the container as PVE counts them: config cores, else cpulimit, else the host's",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(CORES)}},
    {LXC "cpu_seconds_total",
     EXPO_COUNTER,
     "CPU time of the container's cgroup (cpu.stat)",
     ROWS_CTS,
     0,
     "mode",
     {MICROS("system", CPU_SYSTEM), MICROS("user", CPU_USER)}},
    {LXC "info",
     EXPO_GAUGE,
     "Container facts: name (hostname), ostype, tags, pool, template",
     ROWS_INFO,
     0,
     NULL,
     {SHOW(ONE)}},
    {LXC "io_read_bytes_total",
     EXPO_COUNTER,
     "Bytes the container's cgroup read from block devices (io.stat rbytes)",
     ROWS_CTS,
     0,
     NULL,
     {SHOW_IO(PVE_IO_RBYTES)}},
    {LXC "io_reads_total",
     EXPO_COUNTER,
     "Block device reads of the container's cgroup (io.stat rios)",
     ROWS_CTS,
     0,
     NULL,
     {SHOW_IO(PVE_IO_RIOS)}},
    {LXC "io_write_bytes_total",
     EXPO_COUNTER,
     "Bytes the container's cgroup wrote to block devices (io.stat wbytes)",
     ROWS_CTS,
     0,
     NULL,
     {SHOW_IO(PVE_IO_WBYTES)}},
    {LXC "io_writes_total",
     EXPO_COUNTER,
     "Block device writes of the container's cgroup (io.stat wios)",
     ROWS_CTS,
     0,
     NULL,
     {SHOW_IO(PVE_IO_WIOS)}},
    {LXC "maxmem_bytes",
     EXPO_GAUGE,
     "Configured memory of the container (default 512 MiB)",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(MAXMEM)}},
    {LXC "maxswap_bytes",
     EXPO_GAUGE,
     "Configured swap of the container",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(MAXSWAP)}},
    {LXC "memory_stat_bytes",
     EXPO_GAUGE,
     "Memory of the container's cgroup by kind (memory.stat)",
     ROWS_MEMSTAT,
     0,
     NULL,
     {SHOW(MEMSTAT)}},
    {LXC "network_receive_bytes_total",
     EXPO_COUNTER,
     "Bytes the container received on a veth NIC (the host side's transmit)",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_BYTES)}},
    {LXC "network_receive_drops_total",
     EXPO_COUNTER,
     "Received packets dropped, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_DROPS)}},
    {LXC "network_receive_errors_total",
     EXPO_COUNTER,
     "Receive errors, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_ERRORS)}},
    {LXC "network_receive_packets_total",
     EXPO_COUNTER,
     "Packets the container received, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_PACKETS)}},
    {LXC "network_transmit_bytes_total",
     EXPO_COUNTER,
     "Bytes the container sent on a veth NIC (the host side's receive)",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_BYTES)}},
    {LXC "network_transmit_drops_total",
     EXPO_COUNTER,
     "Sent packets dropped, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_DROPS)}},
    {LXC "network_transmit_errors_total",
     EXPO_COUNTER,
     "Transmit errors, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_ERRORS)}},
    {LXC "network_transmit_packets_total",
     EXPO_COUNTER,
     "Packets the container sent, per veth NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_PACKETS)}},
    {LXC "pressure_full_seconds_total",
     EXPO_COUNTER,
     "Time all of the container's cgroup was stalled on a resource (PSI full)",
     ROWS_PRESSURE,
     0,
     NULL,
     {MICROS(NULL, STALL_FULL)}},
    {LXC "pressure_some_seconds_total",
     EXPO_COUNTER,
     "Time some of the container's cgroup was stalled on a resource (PSI some)",
     ROWS_PRESSURE,
     0,
     NULL,
     {MICROS(NULL, STALL_SOME)}},
    {LXC "processes",
     EXPO_GAUGE,
     "Processes of the container's group, its lxc-start monitor included",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(PROCESSES)}},
    {LXC "swap_bytes",
     EXPO_GAUGE,
     "memory.swap.current of the container's cgroup",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(SWAP)}},
    {LXC "threads",
     EXPO_GAUGE,
     "Threads of the container's group, its lxc-start monitor included",
     ROWS_CTS,
     0,
     NULL,
     {SHOW(THREADS)}},
    {LXC "up",
     EXPO_GAUGE,
     "1 when the container's cgroup exists (it runs), 0 when it is configured on this node and "
     "stopped",
     ROWS_GUESTS,
     0,
     NULL,
     {SHOW(UP)}},
};

/* A part of a running container: a memory.stat key, a veth, a resource. */
struct part_row {
    uint32_t ct;   /* index into cts */
    uint32_t part; /* enum pve_memory_stat, index into nics, enum pve_resource */
};

struct part_rows {
    struct part_row *rows;
    size_t count, cap;
};

struct pve_lxc_families {
    const struct pve *pve;
    const struct pve_ct **cts; /* the running ones, in vmid order */
    size_t ncts, cts_cap;
    const struct pve_ct **guests; /* every known one, running or stopped, in vmid order */
    size_t nguests, guests_cap;
    struct part_rows memstat, nics, pressure;
    struct strbuf scratch;
};

struct pve_lxc_families *pve_lxc_families_new(void)
{
    return xcalloc(1, sizeof(struct pve_lxc_families));
}

void pve_lxc_families_free(struct pve_lxc_families *pf)
{
    if (!pf)
        return;
    free(pf->cts);
    free(pf->guests);
    free(pf->memstat.rows);
    free(pf->nics.rows);
    free(pf->pressure.rows);
    strbuf_free(&pf->scratch);
    free(pf);
}

static void add_part(struct part_rows *set, size_t ct, size_t part)
{
    set->rows = xgrow(set->rows, &set->cap, set->count + 1, sizeof(*set->rows));
    set->rows[set->count++] = (struct part_row){(uint32_t)ct, (uint32_t)part};
}

static void build_rows(struct pve_lxc_families *pf, const struct pve *pve)
{
    pf->pve = pve;
    pf->ncts = pf->nguests = pf->memstat.count = pf->nics.count = pf->pressure.count = 0;
    for (size_t i = 0; i < pve_ct_count(pve); i++) {
        const struct pve_ct *ct = pve_ct_at(pve, i);
        pf->guests = xgrow(pf->guests, &pf->guests_cap, pf->nguests + 1, sizeof(*pf->guests));
        pf->guests[pf->nguests++] = ct;
        if (!ct->running)
            continue;
        pf->cts = xgrow(pf->cts, &pf->cts_cap, pf->ncts + 1, sizeof(*pf->cts));
        size_t at = pf->ncts++;
        pf->cts[at] = ct;
        for (size_t k = 0; k < PVE_MEM_STATS; k++)
            if (ct->memory_stat.has[k])
                add_part(&pf->memstat, at, k);
        for (size_t k = 0; k < ct->nnics; k++)
            if (ct->nics[k].present)
                add_part(&pf->nics, at, k);
        for (size_t r = 0; r < PVE_RESOURCES; r++)
            if (ct->has_pressure[r])
                add_part(&pf->pressure, at, r);
    }
}

/* ---- one row per running container ---- */

static const char *const ct_label_names[] = {"id"};

static void ct_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_lxc_families *pf = ctx;
    if (from == 0 && to == 1)
        expo_label(out, "id", pf->cts[row]->id, strlen(pf->cts[row]->id));
}

static bool ct_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct pve_ct *ct = ((const struct pve_lxc_families *)ctx)->cts[row];
    switch (kind) {
    case CGROUP_MEMORY:
        out->u64 = ct->memory_current_bytes;
        return ct->has_memory_current;
    case CORES:
        out->is_double = true;
        out->f64 = (double)ct->cpus_milli / 1000.0;
        return ct->cpus_milli != 0;
    case CPU_SYSTEM:
        out->u64 = ct->cpu_system_us;
        return ct->has_last_cpu;
    case CPU_USER:
        out->u64 = ct->cpu_user_us;
        return ct->has_last_cpu;
    case IO:
        out->u64 = ct->io_total[index];
        return ct->has_io;
    case MAXMEM:
        out->u64 = ct->maxmem_bytes;
        return true;
    case MAXSWAP:
        out->u64 = ct->maxswap_bytes;
        return true;
    case PROCESSES:
        out->u64 = ct->processes;
        return ct->has_group;
    case SWAP:
        out->u64 = ct->swap_current_bytes;
        return ct->has_swap_current;
    case THREADS:
        out->u64 = ct->threads;
        return ct->has_group;
    default:
        return false;
    }
}

/* ---- one row per known container, running or stopped ---- */

static void guest_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_ct *ct = ((const struct pve_lxc_families *)ctx)->guests[row];
    if (from == 0 && to == 1)
        expo_label(out, "id", ct->id, strlen(ct->id));
}

static bool guest_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    (void)index;
    out->u64 = ((const struct pve_lxc_families *)ctx)->guests[row]->running;
    return kind == UP;
}

/* ---- pve_lxc_info: one row per known container, with its facts as labels ---- */

static const char *const info_label_names[] = {"id",     "name",  "ostype",  "pool",
                                               "pool1",  "pool2", "pool3",   "pool_levels",
                                               "pve_id", "tags",  "template"};
#define INFO_LABELS (sizeof(info_label_names) / sizeof(info_label_names[0]))
#define INFO_POOL 3 /* "pool", the first of the pool labels */

static void info_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_lxc_families *pf = ctx;
    const struct pve_ct *ct = pf->guests[row];
    char pve_id[32];
    snprintf(pve_id, sizeof(pve_id), "lxc/%u", ct->vmid);
    /* The pool labels as pve_kvm_info's: VMs and containers share the pools of user.cfg. */
    struct pve_pool_labels pool;
    pve_pool_labels(pve_ct_pool(pf->pve, ct), &pool);
    bool template_ = ct->has_config && ct->config.template_;
    const char *values[INFO_LABELS] = {ct->id,
                                       ct->name,
                                       ct->has_config ? ct->config.ostype : "",
                                       pool.value[0],
                                       pool.value[1],
                                       pool.value[2],
                                       pool.value[3],
                                       pool.value[4],
                                       pve_id,
                                       ct->has_config ? ct->config.tags : "",
                                       template_ ? "1" : "0"};
    for (size_t i = from; i < to; i++) {
        size_t p = i - INFO_POOL; /* the pool labels: spans of the pool name */
        expo_label(out, info_label_names[i], values[i],
                   i >= INFO_POOL && p < PVE_POOL_LABELS ? pool.len[p] : strlen(values[i]));
    }
}

static bool info_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    (void)ctx, (void)row, (void)index;
    out->u64 = 1;
    return kind == ONE;
}

/* ---- one row per part of a running container ---- */

static const char *const memstat_label_names[] = {"id", "type"};
static const char *const nic_label_names[] = {"id", "ifname"};
static const char *const pressure_label_names[] = {"id", "resource"};

static void part_labels(const struct pve_lxc_families *pf, const struct part_row *p,
                        const char *label, const char *value, size_t from, size_t to,
                        struct strbuf *out)
{
    if (from == 0 && to > 0)
        expo_label(out, "id", pf->cts[p->ct]->id, strlen(pf->cts[p->ct]->id));
    if (to == 2 && from <= 1)
        expo_label(out, label, value, strlen(value));
}

static void memstat_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_lxc_families *pf = ctx;
    const struct part_row *p = &pf->memstat.rows[row];
    part_labels(pf, p, "type", pve_memory_stat_name((enum pve_memory_stat)p->part), from, to, out);
}

static void nic_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_lxc_families *pf = ctx;
    const struct part_row *p = &pf->nics.rows[row];
    part_labels(pf, p, "ifname", pf->cts[p->ct]->nics[p->part].ifname, from, to, out);
}

static void pressure_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_lxc_families *pf = ctx;
    const struct part_row *p = &pf->pressure.rows[row];
    part_labels(pf, p, "resource", pve_resource_name((enum pve_resource)p->part), from, to, out);
}

static bool part_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct pve_lxc_families *pf = ctx;
    const struct part_row *p;
    switch (kind) {
    case MEMSTAT:
        p = &pf->memstat.rows[row];
        out->u64 = pf->cts[p->ct]->memory_stat.bytes[p->part];
        return true;
    case NIC:
        p = &pf->nics.rows[row];
        out->u64 = pf->cts[p->ct]->nics[p->part].total[index];
        return true;
    case STALL_SOME:
        p = &pf->pressure.rows[row];
        out->u64 = pf->cts[p->ct]->pressure_some_us[p->part];
        return true;
    case STALL_FULL:
        p = &pf->pressure.rows[row];
        out->u64 = pf->cts[p->ct]->pressure_full_us[p->part];
        return pf->cts[p->ct]->has_full[p->part];
    default:
        return false;
    }
}

void pve_lxc_families_write(struct pve_lxc_families *pf, struct strbuf *out, const struct pve *pve,
                            const struct expo_clock *clock)
{
    if (!pve)
        return;
    build_rows(pf, pve);
    if (pf->nguests == 0)
        return;
    const struct expo_rows rowsets[ROWS_COUNT] = {
        [ROWS_CTS] = {pf, pf->ncts, ct_label_names, 1, ct_labels, NULL, ct_value},
        [ROWS_GUESTS] = {pf, pf->nguests, ct_label_names, 1, guest_labels, NULL, guest_value},
        [ROWS_INFO] = {pf, pf->nguests, info_label_names, INFO_LABELS, info_labels, NULL,
                       info_value},
        [ROWS_MEMSTAT] = {pf, pf->memstat.count, memstat_label_names, 2, memstat_labels, NULL,
                          part_value},
        [ROWS_NICS] = {pf, pf->nics.count, nic_label_names, 2, nic_labels, NULL, part_value},
        [ROWS_PRESSURE] = {pf, pf->pressure.count, pressure_label_names, 2, pressure_labels, NULL,
                           part_value},
    };
    expo_write_families(out, families, sizeof(families) / sizeof(families[0]), rowsets, clock, 0,
                        &pf->scratch);
}
