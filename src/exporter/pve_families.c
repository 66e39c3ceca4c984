#include "exporter/pve_families.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/pve_pools.h"
#include "util/xalloc.h"

#define KVM "pve_kvm_"

/* The row sets. */
enum {
    ROWS_VMS,
    ROWS_GUESTS,
    ROWS_INFO,
    ROWS_MEMORY,
    ROWS_NICS,
    ROWS_NIC_INFO,
    ROWS_NIC_QUEUES,
    ROWS_PRESSURE,
    ROWS_DISKS,
    ROWS_DISK_INFO,
    ROWS_DISK_SIZE,
    ROWS_COUNT
};

/* What a series shows, for expo_series.kind. */
enum {
    COUNTER = 1,    /* index: enum tracker_counter, of the VM's processes; absent before known */
    CGROUP_MEMORY,  /* memory.current of the scope */
    INCOMING,       /* 1 while migrating in */
    MAXMEM,         /* configured memory, absent when unknown */
    MEMORY_PERCENT, /* resident memory over the host's */
    START_TIME,     /* of the QEMU process, ns since the epoch */
    THREADS,        /* of the QEMU process */
    VCORES,         /* absent when unknown */
    ONE,            /* the constant 1 of pve_kvm_info */
    UP,             /* 1 running, 0 stopped */
    MEMORY_LINE,    /* one memory line of status, in bytes */
    NIC,            /* index: enum pve_tap_stat */
    NIC_QUEUES,     /* queues of a configured NIC */
    STALL_SOME,     /* PSI some total, microseconds */
    STALL_FULL,     /* PSI full total, absent when the kernel has none for the resource */
    QMP_ERRORS,     /* index: enum pve_qmp_error */
    DISK,           /* index: enum pve_disk_stat; times in seconds */
    DISK_SIZE,      /* virtual size, absent when unknown */
};

#define COUNT(label, counter)                                                                      \
    {                                                                                              \
        .label_value = label, .kind = COUNTER, .index = counter                                    \
    }
#define SECONDS(label, counter)                                                                    \
    {                                                                                              \
        .label_value = label, .kind = COUNTER, .index = counter, .unit = EXPO_UNIT_MICROSECONDS    \
    }
#define SHOW(what)                                                                                 \
    {                                                                                              \
        .kind = what                                                                               \
    }
#define SHOW_NIC(stat)                                                                             \
    {                                                                                              \
        .kind = NIC, .index = stat                                                                 \
    }
#define TAP_FAMILY(stat, file)                                                                     \
    {                                                                                              \
        KVM "nic_" file "_total", EXPO_COUNTER, "Tap NIC statistics file " file " (host side)",    \
            ROWS_NICS, 0, NULL,                                                                    \
        {                                                                                          \
            SHOW_NIC(stat)                                                                         \
        }                                                                                          \
    }
#define SHOW_DISK(stat)                                                                            \
    {                                                                                              \
        .kind = DISK, .index = stat                                                                \
    }
/* `name` is pve_qmp_error_name(error), spelled out for a constant initializer. */
#define QMP_ERROR(error, name)                                                                     \
    {                                                                                              \
        .label_value = name, .kind = QMP_ERRORS, .index = error                                    \
    }
#define MICROS(what)                                                                               \
    {                                                                                              \
        .kind = what, .unit = EXPO_UNIT_MICROSECONDS                                               \
    }

/* In name order, as the rest of the output. */
static const struct expo_family_def families[] = {
    {KVM "cgroup_memory_bytes",
     EXPO_GAUGE,
     "memory.current of the VM's cgroup scope (qemu.slice/<vmid>.scope)",
     ROWS_VMS,
     0,
     NULL,
     {SHOW(CGROUP_MEMORY)}},
    {KVM "cpu_seconds_total",
     EXPO_COUNTER,
     "CPU time of the VM's processes; iowait is block I/O delay (needs delay accounting)",
     ROWS_VMS,
     0,
     "mode",
     {SECONDS("iowait", TRACKER_BLKIO_DELAY), SECONDS("system", TRACKER_CPU_SYSTEM),
      SECONDS("user", TRACKER_CPU_USER)}},
    {KVM "ctx_switches_total",
     EXPO_COUNTER,
     "Context switches of the VM's processes",
     ROWS_VMS,
     0,
     "type",
     {COUNT("involuntary", TRACKER_CTX_NONVOLUNTARY), COUNT("voluntary", TRACKER_CTX_VOLUNTARY)}},
    {KVM "disk_flush_operations_total",
     EXPO_COUNTER,
     "Flushes of a disk (QMP query-blockstats flush_operations)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_FLUSH_OPS)}},
    {KVM "disk_flush_seconds_total",
     EXPO_COUNTER,
     "Time a disk's flushes took (flush_total_time_ns)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_FLUSH_TIME_NS)}},
    {KVM "disk_info",
     EXPO_GAUGE,
     "A disk as pve_local_exporter describes it (QMP query-block; efidisks left out)",
     ROWS_DISK_INFO,
     0,
     NULL,
     {SHOW(ONE)}},
    {KVM "disk_read_bytes_total",
     EXPO_COUNTER,
     "Bytes the guest read from a disk (rd_bytes)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_READ_BYTES)}},
    {KVM "disk_read_operations_total",
     EXPO_COUNTER,
     "Reads of a disk (rd_operations)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_READ_OPS)}},
    {KVM "disk_read_seconds_total",
     EXPO_COUNTER,
     "Time a disk's reads took (rd_total_time_ns)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_READ_TIME_NS)}},
    {KVM "disk_size_bytes",
     EXPO_GAUGE,
     "Size of a disk as the guest sees it (the image's virtual size)",
     ROWS_DISK_SIZE,
     0,
     NULL,
     {SHOW(DISK_SIZE)}},
    {KVM "disk_write_bytes_total",
     EXPO_COUNTER,
     "Bytes the guest wrote to a disk (wr_bytes)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_WRITE_BYTES)}},
    {KVM "disk_write_operations_total",
     EXPO_COUNTER,
     "Writes of a disk (wr_operations)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_WRITE_OPS)}},
    {KVM "disk_write_seconds_total",
     EXPO_COUNTER,
     "Time a disk's writes took (wr_total_time_ns)",
     ROWS_DISKS,
     0,
     NULL,
     {SHOW_DISK(PVE_DISK_WRITE_TIME_NS)}},
    {KVM "guest_cpu_seconds_total",
     EXPO_COUNTER,
     "Time the VM's vCPUs ran guest code (part of user CPU time)",
     ROWS_VMS,
     0,
     NULL,
     {SECONDS(NULL, TRACKER_GUEST)}},
    {KVM "incoming",
     EXPO_GAUGE,
     "1 while the VM was started with -incoming and its config is not on this node yet",
     ROWS_VMS,
     0,
     NULL,
     {SHOW(INCOMING)}},
    {KVM "info",
     EXPO_GAUGE,
     "VM facts: name, configured cpu, tags, pool, QEMU pid (none when stopped)",
     ROWS_INFO,
     0,
     NULL,
     {SHOW(ONE)}},
    {KVM "io_read_bytes_total",
     EXPO_COUNTER,
     "Bytes the VM's processes read from storage",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_READ_BYTES)}},
    {KVM "io_read_chars_total",
     EXPO_COUNTER,
     "Bytes the VM's processes read (rchar)",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_READ_CHARS)}},
    {KVM "io_read_count_total",
     EXPO_COUNTER,
     "Read syscalls of the VM's processes",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_READ_SYSCALLS)}},
    {KVM "io_write_bytes_total",
     EXPO_COUNTER,
     "Bytes the VM's processes wrote to storage",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_WRITE_BYTES)}},
    {KVM "io_write_chars_total",
     EXPO_COUNTER,
     "Bytes the VM's processes wrote (wchar)",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_WRITE_CHARS)}},
    {KVM "io_write_count_total",
     EXPO_COUNTER,
     "Write syscalls of the VM's processes",
     ROWS_VMS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_WRITE_SYSCALLS)}},
    {KVM "maxmem_bytes",
     EXPO_GAUGE,
     "Configured memory of the VM",
     ROWS_VMS,
     0,
     NULL,
     {SHOW(MAXMEM)}},
    {KVM "memory_extended",
     EXPO_GAUGE,
     "Memory lines of the QEMU process's status, in bytes",
     ROWS_MEMORY,
     0,
     NULL,
     {SHOW(MEMORY_LINE)}},
    {KVM "memory_percent",
     EXPO_GAUGE,
     "Resident and hugetlb memory of the QEMU process, percent of the host's",
     ROWS_VMS,
     0,
     NULL,
     {SHOW(MEMORY_PERCENT)}},
    {KVM "network_receive_bytes_total",
     EXPO_COUNTER,
     "Bytes the VM received on a tap NIC (the tap's transmit)",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_BYTES)}},
    {KVM "network_receive_drops_total",
     EXPO_COUNTER,
     "Received packets dropped, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_DROPS)}},
    {KVM "network_receive_errors_total",
     EXPO_COUNTER,
     "Receive errors, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_ERRORS)}},
    {KVM "network_receive_packets_total",
     EXPO_COUNTER,
     "Packets the VM received, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_RECEIVE_PACKETS)}},
    {KVM "network_transmit_bytes_total",
     EXPO_COUNTER,
     "Bytes the VM sent on a tap NIC (the tap's receive)",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_BYTES)}},
    {KVM "network_transmit_drops_total",
     EXPO_COUNTER,
     "Sent packets dropped, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_DROPS)}},
    {KVM "network_transmit_errors_total",
     EXPO_COUNTER,
     "Transmit errors, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_ERRORS)}},
    {KVM "network_transmit_packets_total",
     EXPO_COUNTER,
     "Packets the VM sent, per tap NIC",
     ROWS_NICS,
     0,
     NULL,
     {SHOW_NIC(PVE_NIC_TRANSMIT_PACKETS)}},
    /* pve_local_exporter's names: one family per statistics file of the tap, in the tap's
     * orientation (rx is what the guest sent). */
    TAP_FAMILY(PVE_TAP_COLLISIONS, "collisions"),
    {KVM "nic_info",
     EXPO_GAUGE,
     "NICs of the VM's config as QEMU runs them, pve_local_exporter's labels",
     ROWS_NIC_INFO,
     0,
     NULL,
     {SHOW(ONE)}},
    TAP_FAMILY(PVE_TAP_MULTICAST, "multicast"),
    {KVM "nic_queues",
     EXPO_GAUGE,
     "Queues of a tap NIC (config queues= of a virtio NIC, else 1)",
     ROWS_NIC_QUEUES,
     0,
     NULL,
     {SHOW(NIC_QUEUES)}},
    TAP_FAMILY(PVE_TAP_RX_BYTES, "rx_bytes"),
    TAP_FAMILY(PVE_TAP_RX_COMPRESSED, "rx_compressed"),
    TAP_FAMILY(PVE_TAP_RX_CRC_ERRORS, "rx_crc_errors"),
    TAP_FAMILY(PVE_TAP_RX_DROPPED, "rx_dropped"),
    TAP_FAMILY(PVE_TAP_RX_ERRORS, "rx_errors"),
    TAP_FAMILY(PVE_TAP_RX_FIFO_ERRORS, "rx_fifo_errors"),
    TAP_FAMILY(PVE_TAP_RX_FRAME_ERRORS, "rx_frame_errors"),
    TAP_FAMILY(PVE_TAP_RX_LENGTH_ERRORS, "rx_length_errors"),
    TAP_FAMILY(PVE_TAP_RX_MISSED_ERRORS, "rx_missed_errors"),
    TAP_FAMILY(PVE_TAP_RX_NOHANDLER, "rx_nohandler"),
    TAP_FAMILY(PVE_TAP_RX_OVER_ERRORS, "rx_over_errors"),
    TAP_FAMILY(PVE_TAP_RX_PACKETS, "rx_packets"),
    TAP_FAMILY(PVE_TAP_TX_ABORTED_ERRORS, "tx_aborted_errors"),
    TAP_FAMILY(PVE_TAP_TX_BYTES, "tx_bytes"),
    TAP_FAMILY(PVE_TAP_TX_CARRIER_ERRORS, "tx_carrier_errors"),
    TAP_FAMILY(PVE_TAP_TX_COMPRESSED, "tx_compressed"),
    TAP_FAMILY(PVE_TAP_TX_DROPPED, "tx_dropped"),
    TAP_FAMILY(PVE_TAP_TX_ERRORS, "tx_errors"),
    TAP_FAMILY(PVE_TAP_TX_FIFO_ERRORS, "tx_fifo_errors"),
    TAP_FAMILY(PVE_TAP_TX_HEARTBEAT_ERRORS, "tx_heartbeat_errors"),
    TAP_FAMILY(PVE_TAP_TX_PACKETS, "tx_packets"),
    TAP_FAMILY(PVE_TAP_TX_WINDOW_ERRORS, "tx_window_errors"),
    {KVM "pressure_full_seconds_total",
     EXPO_COUNTER,
     "Time all of the VM's scope was stalled on a resource (PSI full)",
     ROWS_PRESSURE,
     0,
     NULL,
     {MICROS(STALL_FULL)}},
    {KVM "pressure_some_seconds_total",
     EXPO_COUNTER,
     "Time some of the VM's scope was stalled on a resource (PSI some)",
     ROWS_PRESSURE,
     0,
     NULL,
     {MICROS(STALL_SOME)}},
    {KVM "qmp_errors_total",
     EXPO_COUNTER,
     "Failed queries of the VM's QMP socket, by reason",
     ROWS_VMS,
     0,
     "reason",
     {QMP_ERROR(PVE_QMP_CLOSED, "closed"), QMP_ERROR(PVE_QMP_CONNECT, "connect"),
      QMP_ERROR(PVE_QMP_PROTOCOL, "protocol"), QMP_ERROR(PVE_QMP_TIMEOUT, "timeout")}},
    {KVM "start_time_seconds",
     EXPO_GAUGE,
     "Start time of the QEMU process, seconds since the epoch",
     ROWS_VMS,
     0,
     NULL,
     {{.kind = START_TIME, .unit = EXPO_UNIT_NANOSECONDS}}},
    {KVM "threads", EXPO_GAUGE, "Threads of the QEMU process", ROWS_VMS, 0, NULL, {SHOW(THREADS)}},
    {KVM "up",
     EXPO_GAUGE,
     "1 when the VM's QEMU process runs, 0 when the VM is configured on this node and stopped",
     ROWS_GUESTS,
     0,
     NULL,
     {SHOW(UP)}},
    {KVM "vcores", EXPO_GAUGE, "vCPUs of the VM", ROWS_VMS, 0, NULL, {SHOW(VCORES)}},
};

/* A VM: running (the rows of `vms`), or any known (the rows of `guests`). */
struct vm_row {
    const struct pve_vm *vm;
};

/* A NIC, memory line or resource of a running VM: rows of the other sets. */
struct part_row {
    uint32_t vm;   /* index into vms */
    uint32_t part; /* index into the VM's nics, mem_key, or enum pve_resource */
};

struct part_rows {
    struct part_row *rows;
    size_t count, cap;
};

struct pve_families {
    const struct pve *pve;
    struct vm_row *vms;
    size_t nvms, vms_cap;
    struct vm_row *guests;
    size_t nguests, guests_cap;
    struct part_rows memory, nics, nic_info, nic_queues, pressure, disks, disk_info;
    struct strbuf scratch;
};

struct pve_families *pve_families_new(void)
{
    return xcalloc(1, sizeof(struct pve_families));
}

void pve_families_free(struct pve_families *pf)
{
    if (!pf)
        return;
    free(pf->vms);
    free(pf->guests);
    free(pf->memory.rows);
    free(pf->nics.rows);
    free(pf->nic_info.rows);
    free(pf->nic_queues.rows);
    free(pf->pressure.rows);
    free(pf->disks.rows);
    free(pf->disk_info.rows);
    strbuf_free(&pf->scratch);
    free(pf);
}

static void add_part(struct part_rows *set, size_t vm, size_t part)
{
    set->rows = xgrow(set->rows, &set->cap, set->count + 1, sizeof(*set->rows));
    set->rows[set->count++] = (struct part_row){(uint32_t)vm, (uint32_t)part};
}

/* All known VMs and the running ones in vmid order, and the running ones' parts in the order of
 * their label values. */
static void build_rows(struct pve_families *pf)
{
    pf->nvms = pf->nguests = pf->memory.count = pf->nics.count = pf->pressure.count = 0;
    pf->nic_info.count = pf->nic_queues.count = 0;
    pf->disks.count = pf->disk_info.count = 0;
    for (size_t i = 0; i < pve_vm_count(pf->pve); i++) {
        const struct pve_vm *vm = pve_vm_at(pf->pve, i);
        pf->guests = xgrow(pf->guests, &pf->guests_cap, pf->nguests + 1, sizeof(*pf->guests));
        pf->guests[pf->nguests++] = (struct vm_row){vm};
        if (!vm->running)
            continue;
        pf->vms = xgrow(pf->vms, &pf->vms_cap, pf->nvms + 1, sizeof(*pf->vms));
        size_t at = pf->nvms++;
        pf->vms[at] = (struct vm_row){vm};
        /* Memory lines in the order of status, as pve_local_exporter writes them. */
        for (size_t k = 0; k < vm->nmem; k++)
            add_part(&pf->memory, at, k);
        for (size_t k = 0; k < vm->nnics; k++)
            if (vm->nics[k].present)
                add_part(&pf->nics, at, k);
        /* The config's NICs (with user networking no tap, so no queues row: it would have no
         * ifname to tell two apart). */
        for (size_t k = 0; vm->has_config && k < vm->config.nnets; k++) {
            add_part(&pf->nic_info, at, k);
            if (vm->config.nets[k].bridged)
                add_part(&pf->nic_queues, at, k);
        }
        for (size_t r = 0; r < PVE_RESOURCES; r++)
            if (vm->has_pressure[r])
                add_part(&pf->pressure, at, r);
        for (size_t k = 0; k < vm->ndisks; k++) {
            const struct pve_disk *d = &vm->disks[k];
            if (d->present && d->info.has_stats)
                add_part(&pf->disks, at, k);
            /* pve_local_exporter leaves EFI vars disks out of its disk families. */
            if (d->present && d->info.has_info && !strstr(d->info.name, "efidisk"))
                add_part(&pf->disk_info, at, k);
        }
    }
}

static void put_id(const struct pve_vm *vm, struct strbuf *out)
{
    expo_label(out, "id", vm->id, strlen(vm->id));
}

/* ---- one row per running VM ---- */

static const char *const vm_label_names[] = {"id"};

static void vm_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    if (from == 0 && to == 1)
        put_id(pf->vms[row].vm, out);
}

/* ---- one row per known VM, running or stopped ---- */

static void guest_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    if (from == 0 && to == 1)
        put_id(pf->guests[row].vm, out);
}

static bool guest_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    const struct pve_families *pf = ctx;
    (void)index;
    out->u64 = pf->guests[row].vm->running;
    return kind == UP;
}

static bool vm_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct pve_families *pf = ctx;
    const struct pve_vm *vm = pf->vms[row].vm;
    uint64_t total = pve_mem_total_bytes(pf->pve);
    switch (kind) {
    case COUNTER:
        out->u64 = vm->counters.v[index];
        return vm->has_counters;
    case CGROUP_MEMORY:
        out->u64 = vm->memory_current_bytes;
        return vm->has_memory_current;
    case INCOMING:
        out->u64 = vm->incoming;
        return true;
    case MAXMEM:
        out->u64 = vm->maxmem_bytes;
        return vm->maxmem_bytes != 0;
    case MEMORY_PERCENT:
        out->is_double = true;
        out->f64 =
            total ? 100.0 * ((double)vm->vmrss_bytes + (double)vm->hugetlb_bytes) / (double)total
                  : 0;
        return total != 0;
    case START_TIME:
        out->u64 = vm->start_time_ns;
        return true;
    case THREADS:
        out->u64 = vm->threads;
        return true;
    case VCORES:
        out->u64 = vm->vcpus;
        return vm->vcpus != 0;
    case QMP_ERRORS:
        out->u64 = vm->qmp_errors[index];
        return true;
    default:
        return false;
    }
}

/* ---- pve_kvm_info: one row per known VM, with its facts as labels ---- */

static const char *const info_label_names[] = {"cpu",         "id",     "name",  "pid",
                                               "pool",        "pool1",  "pool2", "pool3",
                                               "pool_levels", "pve_id", "tags",  "template"};
#define INFO_LABELS (sizeof(info_label_names) / sizeof(info_label_names[0]))
#define INFO_POOL 4 /* "pool", the first of the pool labels */

static void info_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct pve_vm *vm = pf->guests[row].vm;
    char pid[16] = "", pve_id[32];
    if (vm->running)
        snprintf(pid, sizeof(pid), "%d", vm->pid);
    snprintf(pve_id, sizeof(pve_id), "qemu/%u", vm->vmid);
    struct pve_pool_labels pool;
    pve_pool_labels(pve_vm_pool(pf->pve, vm), &pool);
    bool template_ = vm->has_config && vm->config.template_;
    const char *values[INFO_LABELS] = {vm->cpu,
                                       vm->id,
                                       vm->name,
                                       pid,
                                       pool.value[0],
                                       pool.value[1],
                                       pool.value[2],
                                       pool.value[3],
                                       pool.value[4],
                                       pve_id,
                                       vm->has_config ? vm->config.tags : "",
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

/* ---- one row per part of a running VM: a memory line, a NIC, a stalled resource ---- */

static const char *const memory_label_names[] = {"id", "type"};
static const char *const nic_label_names[] = {"id", "ifname"};
static const char *const pressure_label_names[] = {"id", "resource"};

static void part_labels(const struct pve_families *pf, const struct part_row *p, const char *label,
                        const char *value, size_t from, size_t to, struct strbuf *out)
{
    if (from == 0 && to > 0)
        put_id(pf->vms[p->vm].vm, out);
    if (to == 2 && from <= 1)
        expo_label(out, label, value, strlen(value));
}

static void memory_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->memory.rows[row];
    part_labels(pf, p, "type", pf->vms[p->vm].vm->mem_key[p->part], from, to, out);
}

static void nic_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->nics.rows[row];
    part_labels(pf, p, "ifname", pf->vms[p->vm].vm->nics[p->part].ifname, from, to, out);
}

/* ---- pve_kvm_nic_info, pve_kvm_nic_queues: one row per NIC of a running VM's config ---- */

static const char *const nic_info_label_names[] = {"id",     "ifname", "macaddr", "model",
                                                   "netdev", "queues", "type"};
#define NIC_INFO_LABELS (sizeof(nic_info_label_names) / sizeof(nic_info_label_names[0]))

static void nic_facts_of(const struct pve_families *pf, const struct part_row *p,
                         struct pve_nic_facts *out)
{
    const struct pve_vm *vm = pf->vms[p->vm].vm;
    pve_nic_facts(vm->vmid, &vm->config.nets[p->part], out);
}

static void nic_info_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    struct pve_nic_facts f;
    nic_facts_of(pf, &pf->nic_info.rows[row], &f);
    char queues[16];
    snprintf(queues, sizeof(queues), "%u", f.queues);
    const char *values[NIC_INFO_LABELS] = {pf->vms[pf->nic_info.rows[row].vm].vm->id,
                                           f.ifname,
                                           f.macaddr,
                                           f.model,
                                           f.netdev,
                                           queues,
                                           f.type};
    for (size_t i = from; i < to; i++)
        expo_label(out, nic_info_label_names[i], values[i], strlen(values[i]));
}

static void nic_queues_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->nic_queues.rows[row];
    struct pve_nic_facts f;
    nic_facts_of(pf, p, &f);
    part_labels(pf, p, "ifname", f.ifname, from, to, out);
}

static bool nic_queues_value(void *ctx, size_t row, unsigned kind, unsigned index,
                             struct expo_value *out)
{
    const struct pve_families *pf = ctx;
    struct pve_nic_facts f;
    (void)index;
    nic_facts_of(pf, &pf->nic_queues.rows[row], &f);
    out->u64 = f.queues;
    return kind == NIC_QUEUES;
}

static void pressure_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->pressure.rows[row];
    part_labels(pf, p, "resource", pve_resource_name((enum pve_resource)p->part), from, to, out);
}

/* ---- one row per disk of a running VM: proctrack's counters, pve_local_exporter's facts ---- */

static const char *const disk_label_names[] = {"disk", "id"};

static const struct pve_disk *disk_of(const struct pve_families *pf, const struct part_row *p)
{
    return &pf->vms[p->vm].vm->disks[p->part];
}

static void disk_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->disks.rows[row];
    const char *values[] = {disk_of(pf, p)->info.name, pf->vms[p->vm].vm->id};
    for (size_t i = from; i < to; i++)
        expo_label(out, disk_label_names[i], values[i], strlen(values[i]));
}

static const char *const disk_info_label_names[] = {
    "attached_to", "block_id",  "cache_mode", "cluster_id", "detect_zeroes",
    "device",      "disk_name", "disk_path",  "disk_type",  "id",
    "pool",        "pool_name", "read_only",  "vg_name",    "vol_name"};

static void disk_info_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->disk_info.rows[row];
    const struct pve_qmp_disk *d = &disk_of(pf, p)->info;
    struct pve_disk_class c;
    pve_disk_classify(d, &c);
    /* As `info block` shows them: the number of a "#block<n>" node name (-drive; none for
     * -blockdev), detect zeroes only when on. */
    const char *block_id = strncmp(d->block_id, "#block", 6) == 0 ? d->block_id + 6 : "";
    const char *detect_zeroes = strcmp(d->detect_zeroes, "off") == 0 ? "" : d->detect_zeroes;
    /* device: the block device a zvol, rbd or LVM path resolves to is not looked up. */
    const char *values[] = {d->attached_to,
                            block_id,
                            d->cache_mode,
                            c.cluster_id,
                            detect_zeroes,
                            "",
                            d->name,
                            d->path,
                            c.type,
                            pf->vms[p->vm].vm->id,
                            c.pool,
                            c.pool_name,
                            d->read_only ? "true" : "",
                            c.vg_name,
                            c.vol_name};
    for (size_t i = from; i < to; i++)
        expo_label(out, disk_info_label_names[i], values[i], strlen(values[i]));
}

static const char *const disk_size_label_names[] = {"disk_name", "id"};

static void disk_size_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p = &pf->disk_info.rows[row];
    const char *values[] = {disk_of(pf, p)->info.name, pf->vms[p->vm].vm->id};
    for (size_t i = from; i < to; i++)
        expo_label(out, disk_size_label_names[i], values[i], strlen(values[i]));
}

static bool disk_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct pve_families *pf = ctx;
    if (kind == DISK) {
        const struct pve_disk *d = disk_of(pf, &pf->disks.rows[row]);
        if (index == PVE_DISK_READ_TIME_NS || index == PVE_DISK_WRITE_TIME_NS ||
            index == PVE_DISK_FLUSH_TIME_NS) {
            out->is_double = true;
            out->f64 = (double)d->total[index] / 1e9;
        } else {
            out->u64 = d->total[index];
        }
        return true;
    }
    const struct pve_disk *d = disk_of(pf, &pf->disk_info.rows[row]);
    switch (kind) {
    case ONE:
        out->u64 = 1;
        return true;
    case DISK_SIZE:
        out->u64 = d->info.size_bytes;
        return d->info.size_bytes != 0;
    default:
        return false;
    }
}

static bool part_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct pve_families *pf = ctx;
    const struct part_row *p;
    switch (kind) {
    case MEMORY_LINE:
        p = &pf->memory.rows[row];
        out->u64 = pf->vms[p->vm].vm->mem_bytes[p->part];
        return true;
    case NIC:
        p = &pf->nics.rows[row];
        out->u64 = pf->vms[p->vm].vm->nics[p->part].total[index];
        return pf->vms[p->vm].vm->nics[p->part].has_stat &
               (1u << index); /* a file the kernel has */
    case STALL_SOME:
        p = &pf->pressure.rows[row];
        out->u64 = pf->vms[p->vm].vm->pressure_some_us[p->part];
        return true;
    case STALL_FULL:
        p = &pf->pressure.rows[row];
        out->u64 = pf->vms[p->vm].vm->pressure_full_us[p->part];
        return pf->vms[p->vm].vm->has_full[p->part];
    default:
        return false;
    }
}

void pve_families_write(struct pve_families *pf, struct strbuf *out, const struct pve *pve,
                        const struct expo_clock *clock)
{
    if (!pve || pve_vm_count(pve) == 0)
        return;
    pf->pve = pve;
    build_rows(pf);
    const struct expo_rows rowsets[ROWS_COUNT] = {
        [ROWS_VMS] = {pf, pf->nvms, vm_label_names, 1, vm_labels, NULL, vm_value},
        [ROWS_GUESTS] = {pf, pf->nguests, vm_label_names, 1, guest_labels, NULL, guest_value},
        [ROWS_INFO] = {pf, pf->nguests, info_label_names, INFO_LABELS, info_labels, NULL,
                       info_value},
        [ROWS_MEMORY] = {pf, pf->memory.count, memory_label_names, 2, memory_labels, NULL,
                         part_value},
        [ROWS_NICS] = {pf, pf->nics.count, nic_label_names, 2, nic_labels, NULL, part_value},
        [ROWS_NIC_INFO] = {pf, pf->nic_info.count, nic_info_label_names, NIC_INFO_LABELS,
                           nic_info_labels, NULL, info_value},
        [ROWS_NIC_QUEUES] = {pf, pf->nic_queues.count, nic_label_names, 2, nic_queues_labels, NULL,
                             nic_queues_value},
        [ROWS_PRESSURE] = {pf, pf->pressure.count, pressure_label_names, 2, pressure_labels, NULL,
                           part_value},
        [ROWS_DISKS] = {pf, pf->disks.count, disk_label_names, 2, disk_labels, NULL, disk_value},
        [ROWS_DISK_INFO] = {pf, pf->disk_info.count, disk_info_label_names, 15, disk_info_labels,
                            NULL, disk_value},
        [ROWS_DISK_SIZE] = {pf, pf->disk_info.count, disk_size_label_names, 2, disk_size_labels,
                            NULL, disk_value},
    };
    expo_write_families(out, families, sizeof(families) / sizeof(families[0]), rowsets, clock, 0,
                        &pf->scratch);
}
