#include "exporter/pve_families.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "expo/expo.h"

#define KVM "pve_kvm_"

struct writer {
    struct strbuf *out;
    const struct pve *pve;
    const struct tracker *tracker;
    double hz;
    struct strbuf labels;
};

typedef void (*vm_sample_fn)(struct writer *w, const struct pve_vm *vm,
                             const struct tracker_group *g, const char *name);

static const char *id_labels(struct writer *w, const struct pve_vm *vm, const char *extra_name,
                             const char *extra_value)
{
    strbuf_reset(&w->labels);
    expo_label(&w->labels, "id", vm->id, strlen(vm->id));
    if (extra_name)
        expo_label(&w->labels, extra_name, extra_value, strlen(extra_value));
    return w->labels.buf;
}

/* Writes one family: its header, then `fn` for every running VM. Families that read counters
 * skip a VM whose group is not known. */
static void family(struct writer *w, const char *name, enum expo_type type, const char *help,
                   bool needs_group, vm_sample_fn fn)
{
    expo_family(w->out, name, type, help);
    for (size_t i = 0; i < pve_vm_count(w->pve); i++) {
        const struct pve_vm *vm = pve_vm_at(w->pve, i);
        if (!vm->running)
            continue;
        const struct tracker_group *g =
            vm->group ? tracker_group_find(w->tracker, vm->group) : NULL;
        if (needs_group && !g)
            continue;
        fn(w, vm, g, name);
    }
}

static void cgroup_memory(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                          const char *name)
{
    (void)g;
    if (vm->has_memory_current)
        expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, vm->memory_current_bytes);
}

static void cpu(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                const char *name)
{
    const uint64_t ticks[3] = {g->counters.v[TRACKER_BLKIO_DELAY],
                               g->counters.v[TRACKER_CPU_SYSTEM], g->counters.v[TRACKER_CPU_USER]};
    const char *modes[3] = {"iowait", "system", "user"};
    for (int m = 0; m < 3; m++)
        expo_sample_double(w->out, name, id_labels(w, vm, "mode", modes[m]), NULL,
                           (double)ticks[m] / w->hz);
}

static void ctx(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                const char *name)
{
    expo_sample_u64(w->out, name, id_labels(w, vm, "type", "involuntary"), NULL,
                    g->counters.v[TRACKER_CTX_NONVOLUNTARY]);
    expo_sample_u64(w->out, name, id_labels(w, vm, "type", "voluntary"), NULL,
                    g->counters.v[TRACKER_CTX_VOLUNTARY]);
}

static void guest(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                  const char *name)
{
    expo_sample_double(w->out, name, id_labels(w, vm, NULL, NULL), NULL,
                       (double)g->counters.v[TRACKER_GUEST] / w->hz);
}

static void incoming(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                     const char *name)
{
    (void)g;
    expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, vm->incoming);
}

static void info(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                 const char *name)
{
    (void)g;
    char pid[16], pve_id[32];
    snprintf(pid, sizeof(pid), "%d", vm->pid);
    snprintf(pve_id, sizeof(pve_id), "qemu/%u", vm->vmid);
    const char *tags = vm->has_config ? vm->config.tags : "";
    strbuf_reset(&w->labels);
    expo_label(&w->labels, "cpu", vm->cpu, strlen(vm->cpu));
    expo_label(&w->labels, "id", vm->id, strlen(vm->id));
    expo_label(&w->labels, "name", vm->name, strlen(vm->name));
    expo_label(&w->labels, "pid", pid, strlen(pid));
    expo_label(&w->labels, "pve_id", pve_id, strlen(pve_id));
    expo_label(&w->labels, "tags", tags, strlen(tags));
    expo_sample_u64(w->out, name, w->labels.buf, NULL, 1);
}

#define COUNTER_SAMPLE(fn, field)                                                                  \
    static void fn(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,       \
                   const char *name)                                                               \
    {                                                                                              \
        expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, g->counters.v[field]);   \
    }
COUNTER_SAMPLE(io_read_bytes, TRACKER_READ_BYTES)
COUNTER_SAMPLE(io_read_chars, TRACKER_READ_CHARS)
COUNTER_SAMPLE(io_read_count, TRACKER_READ_SYSCALLS)
COUNTER_SAMPLE(io_write_bytes, TRACKER_WRITE_BYTES)
COUNTER_SAMPLE(io_write_chars, TRACKER_WRITE_CHARS)
COUNTER_SAMPLE(io_write_count, TRACKER_WRITE_SYSCALLS)

static void maxmem(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                   const char *name)
{
    (void)g;
    if (vm->maxmem_bytes)
        expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, vm->maxmem_bytes);
}

static void memory_extended(struct writer *w, const struct pve_vm *vm,
                            const struct tracker_group *g, const char *name)
{
    (void)g;
    for (size_t i = 0; i < vm->nmem; i++)
        expo_sample_u64(w->out, name, id_labels(w, vm, "type", vm->mem_key[i]), NULL,
                        vm->mem_bytes[i]);
}

static void memory_percent(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                           const char *name)
{
    (void)g;
    uint64_t total = pve_mem_total_bytes(w->pve);
    if (total)
        expo_sample_double(w->out, name, id_labels(w, vm, NULL, NULL), NULL,
                           100.0 * (double)vm->vmrss_bytes / (double)total);
}

static void nic_stat(struct writer *w, const struct pve_vm *vm, const char *name,
                     enum pve_nic_stat stat)
{
    for (size_t i = 0; i < vm->nnics; i++)
        if (vm->nics[i].present)
            expo_sample_u64(w->out, name, id_labels(w, vm, "ifname", vm->nics[i].ifname), NULL,
                            vm->nics[i].total[stat]);
}

#define NIC_SAMPLE(fn, stat)                                                                       \
    static void fn(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,       \
                   const char *name)                                                               \
    {                                                                                              \
        (void)g;                                                                                   \
        nic_stat(w, vm, name, stat);                                                               \
    }
NIC_SAMPLE(rx_bytes, PVE_NIC_RECEIVE_BYTES)
NIC_SAMPLE(rx_drops, PVE_NIC_RECEIVE_DROPS)
NIC_SAMPLE(rx_errors, PVE_NIC_RECEIVE_ERRORS)
NIC_SAMPLE(rx_packets, PVE_NIC_RECEIVE_PACKETS)
NIC_SAMPLE(tx_bytes, PVE_NIC_TRANSMIT_BYTES)
NIC_SAMPLE(tx_drops, PVE_NIC_TRANSMIT_DROPS)
NIC_SAMPLE(tx_errors, PVE_NIC_TRANSMIT_ERRORS)
NIC_SAMPLE(tx_packets, PVE_NIC_TRANSMIT_PACKETS)

static void pressure(struct writer *w, const struct pve_vm *vm, const char *name, bool full)
{
    for (int r = 0; r < PVE_RESOURCES; r++) {
        if (!vm->has_pressure[r] || (full && !vm->has_full[r]))
            continue;
        uint64_t us = full ? vm->pressure_full_us[r] : vm->pressure_some_us[r];
        expo_sample_double(w->out, name, id_labels(w, vm, "resource", pve_resource_name(r)), NULL,
                           (double)us / 1e6);
    }
}

static void pressure_full(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                          const char *name)
{
    (void)g;
    pressure(w, vm, name, true);
}

static void pressure_some(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                          const char *name)
{
    (void)g;
    pressure(w, vm, name, false);
}

static void start_time(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                       const char *name)
{
    (void)g;
    expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL,
                    vm->start_time_ns / 1000000000ull);
}

static void threads(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                    const char *name)
{
    (void)g;
    expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, vm->threads);
}

static void vcores(struct writer *w, const struct pve_vm *vm, const struct tracker_group *g,
                   const char *name)
{
    (void)g;
    if (vm->vcpus)
        expo_sample_u64(w->out, name, id_labels(w, vm, NULL, NULL), NULL, vm->vcpus);
}

void pve_write_families(struct strbuf *out, const struct pve *pve, const struct tracker *tracker,
                        uint64_t ticks_per_second)
{
    if (!pve || pve_vm_count(pve) == 0)
        return;
    struct writer w = {out, pve, tracker, (double)ticks_per_second, STRBUF_INIT};
    const enum expo_type C = EXPO_COUNTER, G = EXPO_GAUGE;
    /* In name order, as the rest of the output. */
    family(&w, KVM "cgroup_memory_bytes", G,
           "memory.current of the VM's cgroup scope (qemu.slice/<vmid>.scope)", false,
           cgroup_memory);
    family(&w, KVM "cpu_seconds_total", C,
           "CPU time of the VM's processes; iowait is block I/O delay (needs delay accounting)",
           true, cpu);
    family(&w, KVM "ctx_switches_total", C, "Context switches of the VM's processes", true, ctx);
    family(&w, KVM "guest_cpu_seconds_total", C,
           "Time the VM's vCPUs ran guest code (part of user CPU time)", true, guest);
    family(&w, KVM "incoming", G,
           "1 while the VM was started with -incoming and its config is not on this node yet",
           false, incoming);
    family(&w, KVM "info", G, "VM facts: name, configured cpu, tags, QEMU pid", false, info);
    family(&w, KVM "io_read_bytes_total", C, "Bytes the VM's processes read from storage", true,
           io_read_bytes);
    family(&w, KVM "io_read_chars_total", C, "Bytes the VM's processes read (rchar)", true,
           io_read_chars);
    family(&w, KVM "io_read_count_total", C, "Read syscalls of the VM's processes", true,
           io_read_count);
    family(&w, KVM "io_write_bytes_total", C, "Bytes the VM's processes wrote to storage", true,
           io_write_bytes);
    family(&w, KVM "io_write_chars_total", C, "Bytes the VM's processes wrote (wchar)", true,
           io_write_chars);
    family(&w, KVM "io_write_count_total", C, "Write syscalls of the VM's processes", true,
           io_write_count);
    family(&w, KVM "maxmem_bytes", G, "Configured memory of the VM", false, maxmem);
    family(&w, KVM "memory_extended", G, "Memory lines of the QEMU process's status, in bytes",
           false, memory_extended);
    family(&w, KVM "memory_percent", G,
           "Resident memory of the QEMU process, percent of the host's", false, memory_percent);
    family(&w, KVM "network_receive_bytes_total", C,
           "Bytes the VM received on a tap NIC (the tap's transmit)", false, rx_bytes);
    family(&w, KVM "network_receive_drops_total", C, "Received packets dropped, per tap NIC", false,
           rx_drops);
    family(&w, KVM "network_receive_errors_total", C, "Receive errors, per tap NIC", false,
           rx_errors);
    family(&w, KVM "network_receive_packets_total", C, "Packets the VM received, per tap NIC",
           false, rx_packets);
    family(&w, KVM "network_transmit_bytes_total", C,
           "Bytes the VM sent on a tap NIC (the tap's receive)", false, tx_bytes);
    family(&w, KVM "network_transmit_drops_total", C, "Sent packets dropped, per tap NIC", false,
           tx_drops);
    family(&w, KVM "network_transmit_errors_total", C, "Transmit errors, per tap NIC", false,
           tx_errors);
    family(&w, KVM "network_transmit_packets_total", C, "Packets the VM sent, per tap NIC", false,
           tx_packets);
    family(&w, KVM "pressure_full_seconds_total", C,
           "Time all of the VM's scope was stalled on a resource (PSI full)", false, pressure_full);
    family(&w, KVM "pressure_some_seconds_total", C,
           "Time some of the VM's scope was stalled on a resource (PSI some)", false,
           pressure_some);
    family(&w, KVM "start_time_seconds", G,
           "Start time of the QEMU process, seconds since the epoch", false, start_time);
    family(&w, KVM "threads", G, "Threads of the QEMU process", false, threads);
    family(&w, KVM "vcores", G, "vCPUs of the VM", false, vcores);
    strbuf_free(&w.labels);
}
