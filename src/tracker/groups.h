/* Internal to src/tracker: the set of groups, found by name, listed in name order, with the
 * per-thread-name and per-wchan tallies of each. Slots of removed groups are reused, so the
 * index a process holds stays valid for as long as the process is a member. */
#ifndef PROCTRACK_TRACKER_GROUPS_H
#define PROCTRACK_TRACKER_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker/tracker.h"

/* A thread name absent for this long loses its counters (so that numbered thread names do not
 * fill the table for good). Time, not scans: short-lived threads are missed by most scans, and
 * scans come as often as scrapes do. */
#define GROUPS_THREAD_NAME_TTL_SECONDS 600

struct groups {
    struct tracker_group *slots;
    size_t nslots, slots_cap;
    uint32_t *order; /* live slots in name order */
    size_t norder, order_cap;
    uint32_t *index; /* open addressing by name: slot + 1, 0 = empty */
    size_t index_cap;
    uint32_t *free_slots;
    size_t nfree, free_cap;
};

void groups_init(struct groups *gs);
void groups_free(struct groups *gs);
int groups_find(const struct groups *gs, const char *name);
/* The slot of the group with this name, created if needed. */
uint32_t groups_get(struct groups *gs, const char *name);
/* Zeroes every gauge and tally before a scan. */
void groups_begin_scan(struct groups *gs);
/* Forgets thread names not seen for longer than `ttl_ticks`, and with remove_empty drops groups
 * that have no member, except those marked `always`. */
void groups_end_scan(struct groups *gs, bool remove_empty, uint64_t now_ticks, uint64_t ttl_ticks);

/* The tally of a thread name in the group, created if needed: found through a hash table and
 * added at the end, in constant time however many names there are; put in name order at the end
 * of the scan. When the group already has `max` names, a new name is tallied under
 * TRACKER_THREAD_NAME_OVERFLOW instead. */
struct tracker_thread_name *groups_thread_name(struct tracker_group *g, const char *name,
                                               size_t max);
void groups_count_wchan(struct tracker_group *g, const char *wchan);

#endif /* PROCTRACK_TRACKER_GROUPS_H */
