/* Internal to src/pve: the container half of the PVE collector (see pve.h). struct pve owns one
 * and forwards to it. */
#ifndef PROCTRACK_PVE_PVE_LXC_COLLECT_H
#define PROCTRACK_PVE_PVE_LXC_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "pve/pve.h"

struct pve_cts;

struct pve_cts *pve_cts_new(void);
void pve_cts_free(struct pve_cts *cts);

void pve_cts_note_new(struct pve_cts *cts, const struct pve_options *options,
                      const struct tracker_new_process *process);
/* Re-reads every known container; `host_cpus` is the default of a config without cores. */
void pve_cts_refresh(struct pve_cts *cts, const struct pve_options *options,
                     const struct tracker *tracker, unsigned host_cpus);

size_t pve_cts_count(const struct pve_cts *cts);
const struct pve_ct *pve_cts_at(const struct pve_cts *cts, size_t index);

#endif /* PROCTRACK_PVE_PVE_LXC_COLLECT_H */
