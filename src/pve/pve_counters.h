/* Internal to src/pve: the counters a VM has outside its processes, its tap NICs (sysfs) and the
 * pressure of its cgroup scope (cgroupfs), read through the proc_reader and accumulated through
 * tracker_delta(), as every counter proctrack reports. Also the scope's memory.current. */
#ifndef PROCTRACK_PVE_PVE_COUNTERS_H
#define PROCTRACK_PVE_PVE_COUNTERS_H

#include <stdbool.h>

#include "proc/proc_reader.h"
#include "pve/pve.h"

/* Baselines belong to the counter's source, not to the QEMU process: a tap or scope that outlives a
 * QEMU restart goes on from its last reading, and one recreated under the same name (a new ifindex,
 * a new cgroup inode) starts a new baseline. */

/* Reads the statistics of tap `ifname` under <sysfs>/class/net and adds their growth to the VM's
 * NIC of that name (made on first sight, kept in name order). `from_zero`: a tap without a
 * baseline was born while we watched, so its whole count is growth. Returns false when a file was
 * missing or unreadable (the NIC is then not present). */
bool pve_nic_refresh(struct pve_vm *vm, struct proc_reader *reader, const char *sysfs,
                     const char *ifname, bool from_zero);

/* Reads {cpu,io,memory}.pressure and memory.current of <cgroupfs>/qemu.slice/<vmid>.scope. */
void pve_scope_refresh(struct pve_vm *vm, struct proc_reader *reader, const char *cgroupfs,
                       bool from_zero);

#endif /* PROCTRACK_PVE_PVE_COUNTERS_H */
