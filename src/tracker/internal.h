/* Internal to src/tracker: the tracker's state, shared by its three parts —
 *   tracker.c   the scan loop, lifecycle and accessors;
 *   account.c   what a tracked process and its threads add to their group each scan;
 *   classify.c  deciding the group of a process: rules, -children, -recheck, reloads. */
#ifndef PROCTRACK_TRACKER_INTERNAL_H
#define PROCTRACK_TRACKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker/groups.h"
#include "tracker/table.h"
#include "tracker/tracker.h"

/* A tracker_new_process with its names kept as offsets into tracker.new_names, since group slots
 * may move while the scan runs. */
struct decision {
    struct tracker_new_process out;
    size_t comm_at, group_at; /* group_at SIZE_MAX: none */
};

struct tracker {
    struct tracker_options options;
    struct tracker_classifier classifier;

    struct table procs;
    struct table threads; /* threads of multi-threaded tracked processes */
    struct groups groups;

    struct proc_stat *pending; /* unmatched new processes waiting for their ancestry */
    size_t npending, pending_cap;

    /* The decisions of the current scan (tracker_new_at). */
    struct decision *decisions;
    size_t ndecisions, decisions_cap;
    struct strbuf new_names;

    /* Kernel function names threads sleep in: a bounded set, interned so entries keep an id. */
    char **wchans;
    size_t nwchans, wchans_cap;

    uint32_t gen;
    bool scanned;
    /* The system's swap counters at the last scan, and whether they moved since the one before:
     * when they did not, no process's swap changed and cached VmSwap values are exact. */
    uint64_t swap_moves;
    bool has_swap_moves, swap_moved;
    uint64_t now_ticks, first_scan_ticks, prev_scan_ticks;
    size_t tracked, ignored;
    struct tracker_errors errors;
    struct strbuf name;
};

/* account.c */

/* Once per scan, before the first tracker_account(): what is true of every process this scan. */
void tracker_account_begin(struct tracker *t, const struct tracker_source *src);
/* Reads a tracked process's metrics and adds them to its group. On first sight the current values
 * become the baseline, and are also counted when the process was born after the first scan. */
void tracker_account(struct tracker *t, const struct tracker_source *src, struct entry *e,
                     const struct proc_stat *st, bool first_sight);
/* What identifies the program a process runs, from stat alone. */
uint64_t tracker_fingerprint(const struct proc_stat *st);
/* The next reading of the process becomes its baseline: nothing before it is counted. */
void tracker_restart_counting(struct entry *e);
void tracker_count_failed(struct tracker *t, unsigned failed);

/* classify.c */

/* A process seen for the first time: classify it, or park it until its ancestors are known. */
void tracker_see_new(struct tracker *t, const struct tracker_source *src,
                     const struct proc_stat *st);
/* An ignored process under -recheck: matched again only when it exec'd since the last try. */
void tracker_recheck(struct tracker *t, const struct tracker_source *src, struct entry *e,
                     const struct proc_stat *st);
/* A process matched again after a reload (see tracker_set_classifier). */
void tracker_reclassify(struct tracker *t, const struct tracker_source *src, struct entry *e,
                        const struct proc_stat *st);
/* The processes parked in this scan join their nearest tracked ancestor's group, or none. */
void tracker_resolve_pending(struct tracker *t, const struct tracker_source *src);
/* Names in the decisions point at where they are once the scan is over. */
void tracker_publish_decisions(struct tracker *t);

#endif /* PROCTRACK_TRACKER_INTERNAL_H */
