/* Internal to src/exporter: the pve_kvm_* families of the running PVE VMs. */
#ifndef PROCTRACK_EXPORTER_PVE_FAMILIES_H
#define PROCTRACK_EXPORTER_PVE_FAMILIES_H

#include <stdint.h>

#include "pve/pve.h"
#include "tracker/tracker.h"
#include "util/strbuf.h"

/* Counters come from the tracker group each VM's processes joined, so they continue across VM
 * restarts; facts, NICs and the cgroup scope from `pve`. */
void pve_write_families(struct strbuf *out, const struct pve *pve, const struct tracker *tracker,
                        uint64_t ticks_per_second);

#endif /* PROCTRACK_EXPORTER_PVE_FAMILIES_H */
