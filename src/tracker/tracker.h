/* The tracker: who is who across scans, and what each group has used.
 *
 * Processes are keyed by (pid, starttime), so a reused pid is a new process; a pid reused within
 * one clock tick is told from an exec by the source's process key, or failing that by counters
 * that went back (see tracker_scan). A new process goes through the classifier once and keeps its
 * group for life (unless the classifier's answer was undecided: see tracker_classifier); an
 * unmatched one is remembered as ignored and costs a stat read afterwards. Group counters are sums
 * of non-negative deltas of their members' counters, so they never decrease: not when members exit,
 * not when a pid is reused, not when a file becomes unreadable. Entries of vanished processes are
 * dropped in the same scan, so memory follows the live process count.
 *
 * The tracker reads nothing itself: a source hands it samples, so tests can feed it synthetic
 * scans. */
#ifndef PROCTRACK_TRACKER_TRACKER_H
#define PROCTRACK_TRACKER_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"
#include "tracker/counter.h"
#include "util/strbuf.h"

/* A task that exited, from the kernel's exit record: its final counters. */
struct tracker_exit {
    int tid;  /* the task */
    int pid;  /* its process */
    int ppid; /* the process's parent when it exited */
    /* The process's start, on stat's clock: at the latest, and at the earliest (0: unknown). A
     * record tells only how long ago its process started, and it may have waited to be
     * received. */
    uint64_t starttime_ticks;
    uint64_t earliest_starttime_ticks;
    bool process_ended; /* the last task of the process: the process ended */
    bool has_uid;
    uint32_t uid;
    char comm[16];                       /* the task's name when it exited */
    uint64_t raw[TRACKER_COUNTER_COUNT]; /* CPU: the exact time, which lags by up to a tick */
    uint32_t present;                    /* TRACKER_BIT()s of the counters in raw */
    /* The peak resident size of the task's memory, in KiB (0 when not known): what its exit
     * has to tear down after the record was sent. */
    uint64_t peak_rss_kb;
};

/* How the usage of processes is counted when they exit (README, "Exit accounting"). */
enum tracker_exit_path {
    TRACKER_EXITS_NONE,     /* up to the last scan that saw them, as process-exporter does */
    TRACKER_EXITS_CHILDREN, /* the growth of the children times of their parents */
    TRACKER_EXITS_RECORDS,  /* the kernel's exit records; children times for an interval in
                               which records were lost */
};

/* Where samples come from; see proc_reader.h for the meaning of each call. */
struct tracker_source {
    void *ctx;
    int (*list)(void *ctx);
    int (*next)(void *ctx, struct proc_stat *stat);
    int (*identity)(void *ctx, const struct proc_stat *stat, unsigned needs,
                    struct proc_identity *id, unsigned *failed);
    int (*metrics)(void *ctx, int pid, unsigned wants, struct proc_metrics *m);
    int (*tasks)(void *ctx, int pid, const int **tids, size_t *ntids);
    int (*thread)(void *ctx, int pid, int tid, unsigned wants, struct proc_thread *thread,
                  unsigned *failed);
    /* May be NULL: then every tracked task is read in full on every scan. */
    int (*schedstat)(void *ctx, int pid, int tid, struct proc_schedstat *out);
    /* May be NULL, or fail: the context switches of the task `tid` now (its own, as its status
     * file has them), answered more cheaply than by that file. For a single-threaded process
     * they then replace both its status file's switches and its schedstat as the quiet test. */
    int (*switches)(void *ctx, int tid, struct proc_switches *out);
    /* The system's swap-in and swap-out counters, summed; called once per scan. May be NULL (or
     * fail): then the swap of every quiet process is read again on every scan. */
    int (*swap_moves)(void *ctx, uint64_t *moves);
    /* Clock ticks since boot now, on the clock of stat's starttime. */
    uint64_t (*now_ticks)(void *ctx);
    /* With TRACKER_EXITS_RECORDS: the exit records received since the last call, in the order
     * the kernel sent them, every task that exited before the call included; *lost is set when
     * some were lost. Valid until the next call. */
    size_t (*exits)(void *ctx, const struct tracker_exit **records, bool *lost);
    /* The identity of a process that may have exited, captured while it lived: -ENOENT when
     * none was. May be NULL. */
    int (*gone_identity)(void *ctx, const struct tracker_exit *record, struct proc_identity *id);
    /* May be NULL or return -ENOTSUP: a number that tells the process now holding `pid` from any
     * other that held it since boot. Asked at first sight, and again only when the program seems
     * to have changed (see tracker_scan). Returns 0, or a negative errno. */
    int (*process_key)(void *ctx, int pid, uint64_t *key);
};

/* Decides the group of a new process: writes its name and returns the index of the matching
 * rule, or returns -1 when nothing matches. */
struct tracker_classifier {
    void *ctx;
    unsigned needs; /* PROC_NEED_* bits the classifier reads */
    int (*classify)(void *ctx, const struct proc_identity *id, struct strbuf *groupname);
    /* May be NULL. Asked right after classify(): whether its answer may change for the same
     * process (a builtin matcher waiting for a file). Such a process is classified again at every
     * scan until the answer is final, and moves as after a reload when it changes. */
    bool (*undecided)(void *ctx);
    /* Which decisions tracker_new_at() lists: every one (for -explain and -debug), or only those
     * taken by a rule whose entry in `follow` (`nfollow` long, borrowed) is true — the rules a
     * collector follows. Listing costs memory per new process, so nothing more is kept. */
    bool list_all;
    const bool *follow;
    size_t nfollow;
};

struct tracker_options {
    uint64_t page_size;        /* bytes per page, for stat's rss */
    uint64_t ticks_per_second; /* of stat's clock (and the source's now_ticks) */
    bool children; /* unmatched new processes join their nearest tracked ancestor's group */
    /* The threads of multi-threaded members are read in any case: states and wchan count each
     * thread, context switches are summed over threads. This adds the per-thread-name tallies
     * (the thread_* families) and the per-thread io reads they need. */
    bool threads;
    /* Thread names tallied per group (0: TRACKER_THREAD_NAMES_MAX). Threads whose name would be
     * one more are tallied under TRACKER_THREAD_NAME_OVERFLOW: a process that renames its threads
     * without end costs a bounded table, not one entry per name it ever used. */
    size_t thread_names_max;
    bool smaps;   /* read smaps_rollup for proportional memory, on every scan */
    bool wchan;   /* tally the kernel functions sleeping threads wait in */
    bool recheck; /* match ignored processes again after an exec (comm or program change) */
    uint64_t recheck_limit_ticks; /* 0: no limit; else recheck only while younger than this */
    bool remove_empty_groups;     /* drop a group, counters and all, when no member is left */
    /* A task that has not run since its last full read (schedstat and stat unchanged) is not
     * read again in full, for up to this long: its counters, state, wchan and open fds cannot
     * have changed. What can change without it running is read anyway: swap when the system's
     * swap counters moved, the fd limit, and with smaps PSS and SwapPss. A thread's name written
     * from outside is at most this old. Each task's periodic full read falls at its own phase of
     * the period, so they spread over the scans. 0: read everything on every scan. */
    uint64_t refresh_ticks;
    enum tracker_exit_path exits;
};

enum tracker_state {
    TRACKER_STATE_RUNNING,
    TRACKER_STATE_SLEEPING,
    TRACKER_STATE_WAITING,
    TRACKER_STATE_ZOMBIE,
    TRACKER_STATE_OTHER,
    TRACKER_STATE_COUNT
};

/* Recomputed from the live members on every scan. */
enum tracker_gauge {
    TRACKER_PROCS,
    TRACKER_THREADS,
    TRACKER_RESIDENT_BYTES, /* stat (24) rss, in bytes */
    TRACKER_VIRTUAL_BYTES,  /* stat (23) vsize */
    TRACKER_SWAPPED_BYTES,  /* status VmSwap */
    TRACKER_OPEN_FDS,
    TRACKER_PSS_BYTES,      /* smaps_rollup Pss */
    TRACKER_SWAP_PSS_BYTES, /* smaps_rollup SwapPss */
    TRACKER_GAUGE_COUNT
};

struct tracker_gauges {
    uint64_t v[TRACKER_GAUGE_COUNT];
    uint64_t states[TRACKER_STATE_COUNT]; /* each thread once */
    double worst_fd_ratio;
    bool has_oldest;
    uint64_t oldest_start_ticks; /* stat starttime of the oldest member */
};

#define TRACKER_THREAD_NAMES_MAX 256
/* 20 bytes: no thread can have it, since the kernel keeps at most 15 bytes of a user thread's
 * name (TASK_COMM_LEN), whatever the bytes. */
#define TRACKER_THREAD_NAME_OVERFLOW "(other thread names)"

/* The threads of a group's multi-threaded members that share one name (thread comm). */
struct tracker_thread_name {
    char *name;
    uint64_t count;                   /* live threads with this name now; 0: not reported */
    struct tracker_counters counters; /* monotonic, kept while the name is absent for a while */
    uint64_t last_seen_ticks;
};

/* Threads of the group sleeping in one kernel function. */
struct tracker_wchan {
    char *name;
    uint64_t count;
};

struct tracker_group {
    char *name;
    struct tracker_counters counters;
    struct tracker_gauges gauges;
    /* In name order after each scan; at most the cap of names and the overflow name. */
    struct tracker_thread_name *threads;
    size_t nthreads;
    struct tracker_wchan *wchans; /* in name order; count 0: not reported */
    size_t nwchans;
    /* Bookkeeping of the tracker. */
    size_t threads_cap, wchans_cap;
    uint32_t *thread_index; /* open addressing by thread name: index in threads + 1, 0 = empty */
    size_t thread_index_cap;
    bool threads_unsorted; /* names were added in this scan, at the end of threads */
    bool thread_overflow;  /* threads holds TRACKER_THREAD_NAME_OVERFLOW */
    size_t members;        /* processes in the table that belong here */
    bool always;           /* named by tracker_set_always: kept with no member */
    bool alive;
};

/* What exit accounting counted, since start. */
struct tracker_exit_stats {
    uint64_t records;        /* exit records taken */
    uint64_t unseen;         /* processes counted from their exit records alone */
    uint64_t lost_intervals; /* scans whose records were incomplete: children times counted */
};

/* Cumulative error counts since start. */
struct tracker_errors {
    uint64_t scan;                     /* listing the procfs root failed */
    uint64_t procread;                 /* a process's stat could not be read or parsed */
    uint64_t partial[PROC_FILE_COUNT]; /* a file of a tracked process could not be read */
    /* Processes with at least one unreadable file, once per process per scan: process-exporter's
     * namedprocess_scrape_partial_errors. */
    uint64_t partial_procs;
};

struct tracker;

struct tracker *tracker_new(const struct tracker_options *options,
                            const struct tracker_classifier *classifier);
void tracker_free(struct tracker *tracker);

/* New rules (a config reload): every live process is matched again at the next scan. A process
 * that lands in the same group carries on; one that moves takes its growth from then on to its
 * new group; the usage already counted stays where it was. Groups keep their counters. */
void tracker_set_classifier(struct tracker *tracker, const struct tracker_classifier *classifier);

/* Groups that exist whether or not a process is in them (the config's `always: true`): created
 * now, with every counter at 0 if new, and never removed, not by remove_empty_groups either.
 * Replaces the previous set (a reload): a group named before but not now is kept as any other
 * group is. The names are copied. */
void tracker_set_always(struct tracker *tracker, const char *const *names, size_t count);

/* One pass over the source. Returns 0, or the negative errno of a failed listing (counted in
 * errors.scan; groups keep their previous values). */
int tracker_scan(struct tracker *tracker, const struct tracker_source *source);

/* Groups in name order; pointers are valid until the next scan. */
size_t tracker_group_count(const struct tracker *tracker);
const struct tracker_group *tracker_group_at(const struct tracker *tracker, size_t index);
const struct tracker_group *tracker_group_find(const struct tracker *tracker, const char *name);

/* A process whose group was decided in the last scan: first seen, matched again after a reload
 * or an exec (-recheck), or adopted through -children. */
struct tracker_new_process {
    int pid;
    uint64_t starttime_ticks;
    const char *comm;
    const char *group; /* NULL: it joined none and is ignored */
    int rule;          /* the classifier's rule index, -1 for none */
    int adopted_from;  /* the ancestor's pid when the group came through -children, else 0 */
    bool from_birth;   /* started after the first scan: tracked since it began */
};

/* The decisions of the last scan that the classifier asked for (list_all, follow), in the order
 * they were taken; valid until the next scan. What the exporter hands to -debug, -explain and the
 * collectors that follow the processes of a rule. */
size_t tracker_new_count(const struct tracker *tracker);
const struct tracker_new_process *tracker_new_at(const struct tracker *tracker, size_t index);

/* Whether the last scan that listed the procfs saw the process (pid, starttime): in a group or
 * ignored. What a collector that follows a process asks instead of reading its stat again. */
bool tracker_has_process(const struct tracker *tracker, int pid, uint64_t starttime_ticks);

const struct tracker_errors *tracker_errors(const struct tracker *tracker);
const struct tracker_exit_stats *tracker_exit_stats(const struct tracker *tracker);
/* Live processes known to the tracker after the last scan: in a group, and ignored. */
size_t tracker_tracked_count(const struct tracker *tracker);
size_t tracker_ignored_count(const struct tracker *tracker);

#endif /* PROCTRACK_TRACKER_TRACKER_H */
