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

/* The growth of a tracked process's exited threads since its last read, waiting to learn
 * whether the process outlives the interval (its next read covers it) or not. */
struct pending_exit {
    int pid;
    struct tracker_counters growth;
};

#define CHILD_COUNTERS 4
#define KIN_SHARES 8

/* What a parent's children times grew by in this scan, and what its exited children claim of
 * it: their usage as already counted or recorded (children.c). */
struct kin {
    int pid;
    int group; /* the parent's, -1 when it is not tracked */
    /* The groups of its exited children, weighted by what each is thought to miss: what no
     * claim explains is shared among them, or goes to the parent's group when there is none. */
    struct kin_share {
        int group;
        uint64_t weight;
    } shares[KIN_SHARES];
    unsigned nshares;
    uint32_t age; /* scans a claim has waited for its reaping */
    uint64_t growth[CHILD_COUNTERS], claimed[CHILD_COUNTERS];
};

struct tracker {
    struct tracker_options options;
    struct tracker_classifier classifier;

    struct table procs;
    struct table threads; /* threads of multi-threaded tracked processes */
    struct table gone;    /* processes known only from their exit records, for two scans */
    struct pending_exit *pending_exits;
    size_t npending_exits, pending_exits_cap;
    struct tracker_exit_stats exit_stats;
    bool records_lost; /* some exit records of this scan's interval were lost */
    struct kin *kin;
    size_t nkin, kin_cap;
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
    int failed_pid; /* the last process counted in errors.partial_procs, in scan failed_gen */
    uint32_t failed_gen;
    struct strbuf name;
};

/* account.c */

/* Once per scan, before the first tracker_account(): what is true of every process this scan. */
void tracker_account_begin(struct tracker *t, const struct tracker_source *src);
/* Reads a tracked process's metrics and adds them to its group. On first sight the current values
 * become the baseline, and are also counted when the process was born after the first scan. */
void tracker_account(struct tracker *t, const struct tracker_source *src, struct entry *e,
                     const struct proc_stat *st, bool first_sight);
/* A process whose exit record was counted, seen as a zombie: it counts in the gauges only. */
void tracker_account_ended(struct tracker *t, struct entry *e, const struct proc_stat *st);
/* stat's clock ticks in microseconds, the unit of the time counters. */
uint64_t tracker_ticks_us(const struct tracker *t, uint64_t ticks);
/* What identifies the program a process runs, from stat alone. */
uint64_t tracker_fingerprint(const struct proc_stat *st);
/* The next reading of the process becomes its baseline: nothing before it is counted. */
void tracker_restart_counting(struct entry *e);
/* Counts the files of process `pid` that could not be read (PROC_FILE_* bits of `failed`), and the
 * process once per scan when there was any. */
void tracker_count_failed(struct tracker *t, int pid, unsigned failed);

/* exits.c */

/* Takes the exit records the source has received: called before the walk (so that a process
 * whose pid was reused since is ended first) and after it (for those that exited meanwhile). */
void tracker_take_exits(struct tracker *t, const struct tracker_source *src);
/* A tracked process was read: its exited threads' growth is in that reading. */
void tracker_drop_pending(struct tracker *t, struct entry *e);
/* A process vanished before its exit record was taken (the records fell behind): it is kept for
 * two scans in the gone table, so that a late record counts from its last reading. */
void tracker_keep_vanished(struct tracker *t, const struct entry *e);
/* Whether the walk reads a process that was counted whole from its exit record, finishing its
 * exit() (or a zombie): it must not be seen as new. */
bool tracker_counted_gone(const struct tracker *t, const struct proc_stat *st);
/* A tracked process vanished without an exit record: what is known of its threads counts. */
void tracker_flush_pending(struct tracker *t, struct entry *e);
/* children.c */

/* Every process read in a scan: the growth of its children times. */
void tracker_children_read(struct tracker *t, struct entry *e, const struct proc_stat *st);
/* A child `pid` of `ppid` exited: its parent's children times hold `own` (CPU user, system,
 * minor and major faults) and `children` (its own children times, may be NULL) of it. */
void tracker_children_claim(struct tracker *t, int ppid, int pid, const uint64_t *own,
                            const uint64_t *children, int group, uint64_t weight);
/* A process that vanished: its last reading is what its parent's children times hold of it. */
void tracker_children_claim_entry(struct tracker *t, const struct entry *e);
/* After the sweep: what no claim explains counts (children path, or records lost). */
void tracker_children_settle(struct tracker *t);

/* classify.c */

/* Decides the group of a process known only from an exit record (-1: none). */
int tracker_classify_gone(struct tracker *t, const struct tracker_source *src,
                          const struct tracker_exit *r);

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
