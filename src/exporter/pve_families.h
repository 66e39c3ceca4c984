/* Internal to src/exporter: the pve_kvm_* families of the PVE VMs, as tables for
 * expo_write_families(): one row per running VM (and per VM's NIC, memory line, stalled
 * resource); pve_kvm_up and pve_kvm_info also have one per stopped VM configured on this node. */
#ifndef PROCTRACK_EXPORTER_PVE_FAMILIES_H
#define PROCTRACK_EXPORTER_PVE_FAMILIES_H

#include "expo/family.h"
#include "pve/pve.h"
#include "util/strbuf.h"

struct pve_families;

struct pve_families *pve_families_new(void);
void pve_families_free(struct pve_families *pf);

/* Everything comes from `pve`: the counters of each VM's processes (followed from its tracker
 * group, so they continue across VM restarts), facts, NICs and the cgroup scope. Writes nothing
 * without a known VM. */
void pve_families_write(struct pve_families *pf, struct strbuf *out, const struct pve *pve,
                        const struct expo_clock *clock);

#endif /* PROCTRACK_EXPORTER_PVE_FAMILIES_H */
