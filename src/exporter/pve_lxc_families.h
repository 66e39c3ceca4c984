/* Internal to src/exporter: the pve_lxc_* families of the running PVE containers, as tables for
 * expo_write_families(): one row per container (and per container's memory.stat key, veth,
 * stalled resource). */
#ifndef PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H
#define PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H

#include "expo/family.h"
#include "pve/pve.h"
#include "util/strbuf.h"

struct pve_lxc_families;

struct pve_lxc_families *pve_lxc_families_new(void);
void pve_lxc_families_free(struct pve_lxc_families *pf);

/* Writes nothing without a running container. */
void pve_lxc_families_write(struct pve_lxc_families *pf, struct strbuf *out, const struct pve *pve,
                            const struct expo_clock *clock);

#endif /* PROCTRACK_EXPORTER_PVE_LXC_FAMILIES_H */
