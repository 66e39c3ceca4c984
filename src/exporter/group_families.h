/* process-exporter's namedprocess_namegroup_* families, as tables for expo_write_families(): one
 * row per group, per live thread name of a group, and per wchan of a group. */
#ifndef PROCTRACK_EXPORTER_GROUP_FAMILIES_H
#define PROCTRACK_EXPORTER_GROUP_FAMILIES_H

#include <stdbool.h>

#include "expo/family.h"
#include "tracker/tracker.h"
#include "util/strbuf.h"

struct group_families;

struct group_families *group_families_new(void);
void group_families_free(struct group_families *gf);

/* Writes every group family of `tracker`'s last scan. `threads` adds the thread_* families and
 * threads_wchan, `smaps` the proportional memory types. */
void group_families_write(struct group_families *gf, struct strbuf *out,
                          const struct tracker *tracker, const struct expo_clock *clock,
                          bool threads, bool smaps);

#endif /* PROCTRACK_EXPORTER_GROUP_FAMILIES_H */
