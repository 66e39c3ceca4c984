/* Internal to src/pve: the disks of running VMs, asked of each VM's QMP socket
 * (<run dir>/<vmid>.qmp) at every refresh, all VMs at once within PVE_QMP_TIMEOUT_MS.
 *
 * Policy: every refresh asks again, as PVE's pvestatd does every 10 s, because the counters are
 * what is wanted and a query is cheap (two small replies). A VM whose query fails keeps its last
 * disks and values (the error is counted by reason); a new QEMU pid drops the facts of the old
 * one, and its counters count from zero again: the totals continue across restarts, as the VM's
 * tap counters do, so they never decrease. */
#ifndef PROCTRACK_PVE_PVE_DISKS_H
#define PROCTRACK_PVE_PVE_DISKS_H

#include <stddef.h>

#include "pve/pve.h"

/* A bound on what a hung QMP socket adds to a refresh, however many VMs have one. */
#define PVE_QMP_TIMEOUT_MS 50

void pve_disks_refresh(struct pve_vm **vms, size_t nvms, const char *run_dir);

#endif /* PROCTRACK_PVE_PVE_DISKS_H */
