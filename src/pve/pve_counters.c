#include "pve/pve_counters.h"

#include <stdio.h>
#include <string.h>

#include "pve/pve_parse.h"
#include "tracker/counter.h"
#include "util/xalloc.h"

/* A sysfs or cgroup file of one number: "18446744073709551615\n" at most. */
#define NUMBER_FILE_MAX 64
/* A PSI file: two lines of four fields. */
#define PRESSURE_FILE_MAX 4096

static struct pve_nic *nic_get(struct pve_vm *vm, const char *ifname)
{
    for (size_t i = 0; i < vm->nnics; i++)
        if (strcmp(vm->nics[i].ifname, ifname) == 0)
            return &vm->nics[i];
    vm->nics = xgrow(vm->nics, &vm->nics_cap, vm->nnics + 1, sizeof(*vm->nics));
    struct pve_nic *nic = &vm->nics[vm->nnics++];
    memset(nic, 0, sizeof(*nic));
    size_t len = strnlen(ifname, sizeof(nic->ifname) - 1); /* tap names are at most 15 bytes */
    memcpy(nic->ifname, ifname, len);
    nic->ifname[len] = '\0';
    /* Keep them in name order for the output. */
    for (size_t i = vm->nnics - 1; i > 0 && strcmp(vm->nics[i - 1].ifname, ifname) > 0; i--) {
        struct pve_nic tmp = vm->nics[i];
        vm->nics[i] = vm->nics[i - 1];
        vm->nics[i - 1] = tmp;
        nic = &vm->nics[i - 1];
    }
    return nic;
}

/* Reads a file of one unsigned number under `root`. */
static bool read_number(struct proc_reader *reader, const char *root, const char *name,
                        uint64_t *out)
{
    const char *data;
    ssize_t n = proc_reader_file(reader, root, name, NUMBER_FILE_MAX, &data);
    return n > 0 && pve_parse_u64_line(data, (size_t)n, out) == 0;
}

static const char *const tap_stat_names[PVE_TAP_STATS] = {
    "collisions",        "multicast",           "rx_bytes",          "rx_compressed",
    "rx_crc_errors",     "rx_dropped",          "rx_errors",         "rx_fifo_errors",
    "rx_frame_errors",   "rx_length_errors",    "rx_missed_errors",  "rx_nohandler",
    "rx_over_errors",    "rx_packets",          "tx_aborted_errors", "tx_bytes",
    "tx_carrier_errors", "tx_compressed",       "tx_dropped",        "tx_errors",
    "tx_fifo_errors",    "tx_heartbeat_errors", "tx_packets",        "tx_window_errors",
};

const char *pve_tap_stat_name(enum pve_tap_stat stat)
{
    return stat < PVE_TAP_STATS ? tap_stat_names[stat] : "?";
}

/* The files PVE's own counters come from (enum pve_nic_stat): without them the tap is not
 * counted. The others may be missing on a kernel (rx_nohandler came in Linux 4.6). */
#define TAP_REQUIRED                                                                               \
    (1u << PVE_TAP_RX_BYTES | 1u << PVE_TAP_TX_BYTES | 1u << PVE_TAP_RX_PACKETS |                  \
     1u << PVE_TAP_TX_PACKETS | 1u << PVE_TAP_RX_ERRORS | 1u << PVE_TAP_TX_ERRORS |                \
     1u << PVE_TAP_RX_DROPPED | 1u << PVE_TAP_TX_DROPPED)

bool pve_nic_refresh(struct pve_vm *vm, struct proc_reader *reader, const char *sysfs,
                     const char *ifname, bool from_zero)
{
    /* Every file is read once and kept in the tap's orientation; PVE's guest-side counters
     * (enum pve_nic_stat) are the same totals, named from the other side. */
    uint64_t raw[PVE_TAP_STATS];
    uint32_t read = 0;
    for (int s = 0; s < PVE_TAP_STATS; s++) {
        char name[128];
        int len =
            snprintf(name, sizeof(name), "class/net/%s/statistics/%s", ifname, tap_stat_names[s]);
        if (len > 0 && (size_t)len < sizeof(name) && read_number(reader, sysfs, name, &raw[s]))
            read |= 1u << s;
        else if (TAP_REQUIRED & (1u << s))
            return false;
    }
    struct pve_nic *nic = nic_get(vm, ifname);
    /* Which tap this is: a tap recreated under the name has a new ifindex. Unreadable (a tree
     * without it), the name alone tells. */
    uint64_t ifindex;
    char index_name[128];
    snprintf(index_name, sizeof(index_name), "class/net/%s/ifindex", ifname);
    if (read_number(reader, sysfs, index_name, &ifindex) && nic->ifindex != ifindex) {
        nic->has_last = false;
        nic->ifindex = ifindex;
    }
    /* One baseline for the files: they come and go with the tap. A reading below it is a tap
     * recreated (a NIC unplugged and plugged again): it counts from zero. A file not read at the
     * last refresh of a tap already counted has no baseline of its own: it only sets one. */
    for (int s = 0; s < PVE_TAP_STATS; s++) {
        if (!(read & (1u << s)))
            continue;
        bool has_last = nic->has_last && (nic->has_stat & (1u << s));
        bool whole = nic->has_last ? false : from_zero;
        nic->total[s] +=
            tracker_delta(&nic->last[s], &has_last, raw[s], whole, TRACKER_DROP_RESTART);
    }
    nic->has_stat = read;
    nic->has_last = true;
    nic->present = true;
    return true;
}

void pve_scope_refresh(struct pve_vm *vm, struct proc_reader *reader, const char *cgroupfs,
                       bool from_zero)
{
    char name[128];
    uint64_t inode;
    snprintf(name, sizeof(name), "qemu.slice/%u.scope", vm->vmid);
    if (proc_reader_inode(reader, cgroupfs, name, &inode) != 0) {
        for (int r = 0; r < PVE_RESOURCES; r++)
            vm->has_pressure[r] = false;
        vm->has_memory_current = false;
        return;
    }
    if (inode != vm->scope_inode) {
        for (int r = 0; r < PVE_RESOURCES; r++)
            vm->has_last_some[r] = vm->has_last_full[r] = false;
        vm->scope_inode = inode;
    }
    for (int r = 0; r < PVE_RESOURCES; r++) {
        snprintf(name, sizeof(name), "qemu.slice/%u.scope/%s.pressure", vm->vmid,
                 pve_resource_name((enum pve_resource)r));
        const char *data;
        ssize_t n = proc_reader_file(reader, cgroupfs, name, PRESSURE_FILE_MAX, &data);
        struct pve_pressure p;
        vm->has_pressure[r] = n > 0 && pve_parse_pressure(data, (size_t)n, &p) == 0;
        if (!vm->has_pressure[r])
            continue;
        /* "some ... total=<us>": a recreated scope starts again from zero. */
        vm->pressure_some_us[r] += tracker_delta(&vm->last_some_us[r], &vm->has_last_some[r],
                                                 p.some_total_us, from_zero, TRACKER_DROP_RESTART);
        if (p.has_full) /* "full ... total=<us>", absent from cpu.pressure before Linux 5.13 */
            vm->pressure_full_us[r] +=
                tracker_delta(&vm->last_full_us[r], &vm->has_last_full[r], p.full_total_us,
                              from_zero, TRACKER_DROP_RESTART);
        vm->has_full[r] = p.has_full;
    }
    snprintf(name, sizeof(name), "qemu.slice/%u.scope/memory.current", vm->vmid);
    vm->has_memory_current = read_number(reader, cgroupfs, name, &vm->memory_current_bytes);
}
