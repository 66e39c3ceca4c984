/* Internal to src/tracker: an open-addressing table of live tasks keyed by pid (or tid), with
 * backward-shift deletion so that churn never leaves tombstones behind. Used once for processes
 * and once for the threads of tracked processes. */
#ifndef PROCTRACK_TRACKER_TABLE_H
#define PROCTRACK_TRACKER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker/counter.h"

enum entry_kind { ENTRY_EMPTY, ENTRY_TRACKED, ENTRY_IGNORED, ENTRY_PENDING, ENTRY_THREAD };

/* One live process or thread; id 0 marks an empty slot. Small fields first, so that a table of
 * tens of thousands of entries has no padding to pay for. */
struct entry {
    int id; /* pid or tid */
    int ppid;
    uint32_t seen; /* scan generation of the last sighting */
    uint32_t group;
    uint32_t wchan; /* interned wchan at the last full read, 0 = none */
    uint8_t kind;
    bool from_birth; /* born after tracking began: its whole usage counts */
    bool reclassify; /* match again (new rules, or an undecided answer) at the next scan */
    bool undecided;  /* the classifier's last answer may change (tracker_classifier.undecided) */
    bool carry_on;   /* tracked before a reload, waiting for its ancestor's group: keep counting */
    /* For skipping the reads of a task that has not run since the last full read: PROBE_*, what
     * `probe` holds. */
    uint8_t probe;
    bool has_cache;
    bool ended;         /* its exit record was counted; a zombie, or gone */
    bool has_pending;   /* exited threads' growth waits in tracker.pending_exits */
    bool threads_known; /* its threads were read at its last full read */
    bool has_child_last;
    bool vanished;     /* in the gone table: swept before its exit record came */
    char state;        /* stat state at the last full read */
    uint8_t cache_has; /* CACHE_* bits: which of `cache` are real readings */
    char name[16];     /* threads: their name at the last full read */
    /* Processes: the low bits of the source's process key at first sight. Two processes that
     * share a pid and a start tick would need 2^31 others born in between to share them. */
    uint32_t key : 31;
    uint32_t has_key : 1;
    uint64_t starttime_ticks;
    uint64_t earliest_starttime_ticks; /* gone, from a record: the start is known to a span */
    uint64_t fingerprint; /* the program it runs (see tracker_fingerprint() in account.c) */
    /* The raw counters at the last scan; group counters grow by the differences. */
    struct tracker_baseline base;
    uint64_t child_last[4]; /* cutime, cstime (µs), cminflt, cmajflt at the last read */
    int64_t last_num_threads;
    uint64_t probe_values[2]; /* at the last full read: run_ns and slices, or the switches */
    uint64_t last_full_ticks; /* when status, io... were last read */
    uint64_t final_cpu_us;    /* ended: the CPU of its last task's exit record */
    struct {
        uint64_t swap, fds, fd_limit, pss, swap_pss;
    } cache; /* processes: the slow-changing gauges of the last full read */
};

/* What tells that a task has not run since its last full read: its schedstat (time on CPU and
 * timeslices, which grow when it runs), or, for a single-threaded process the kernel answers for
 * (tracker_source.switches), its context switches together with its state: a task that ran and
 * is not running now was switched out since, and every switch out counts in one of the two. */
enum { PROBE_NONE, PROBE_SCHEDSTAT, PROBE_SWITCHES };

enum { CACHE_STATUS = 1, CACHE_FDS = 2, CACHE_LIMIT = 4, CACHE_SMAPS = 8 };

/* The bits of a source's process key that an entry keeps. */
static inline uint32_t entry_key_bits(uint64_t key)
{
    return (uint32_t)key & 0x7fffffffu;
}

struct table {
    struct entry *slots;
    size_t cap; /* a power of two */
    size_t used;
};

void table_init(struct table *t);
void table_free(struct table *t);
/* The entry with this id, or NULL; a const table gives an entry that must not be written. */
struct entry *table_find(const struct table *t, int id);
/* A zeroed entry with this id; the id must not be present. May move other entries. */
struct entry *table_insert(struct table *t, int id);
void table_delete(struct table *t, struct entry *e);
/* Deletes every entry not seen since generation `since`, calling `gone` first for each. */
void table_sweep(struct table *t, uint32_t since, void (*gone)(void *arg, const struct entry *e),
                 void *arg);

#endif /* PROCTRACK_TRACKER_TABLE_H */
