/* Internal to src/exporter: the pve_lxc_* families of the PVE containers, as tables for
 * expo_write_families(): pve_lxc_up and pve_lxc_info one row per known container, running or
 * stopped; the others one row per running container (and per its memory.stat key, veth,
 * stalled resource). */
#ifndef PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H
#define PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H

#include "expo/family.h"
#include "pve/pve.h"
#include "util/strbuf.h"

struct pve_lxc_families;

struct pve_lxc_families *pve_lxc_families_new(void);
void pve_lxc_families_free(struct pve_lxc_families *pf);

/* Writes nothing without a known container. */
void pve_lxc_families_write(struct pve_lxc_families *pf, struct strbuf *out, const struct pve *pve,
                            const struct expo_clock *clock);

#endif /* PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H */
