/* Counters: the one rule by which every total proctrack reports grows.
 *
 * A total is a sum of non-negative deltas of raw kernel counters. Each raw counter is followed
 * through a baseline (its last reading); tracker_delta() is the only function that turns a new
 * reading into growth, so the two promises live here and nowhere else:
 *   - never decreases: a reading below the baseline adds nothing (a process's counters cannot go
 *     back, so it is a misread or a new program) or, for counters whose source can be recreated
 *     (a tap NIC, a cgroup), counts from zero;
 *   - never counted twice: the baseline moves to every reading that was counted.
 * Process and thread counters are arrays indexed by enum tracker_counter, so every source (stat,
 * io, status, and later exit records) goes through tracker_counters_advance(). */
#ifndef PROCTRACK_TRACKER_COUNTER_H
#define PROCTRACK_TRACKER_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

enum tracker_counter {
    TRACKER_CPU_USER,         /* µs: stat (14) utime */
    TRACKER_CPU_SYSTEM,       /* µs: stat (15) stime */
    TRACKER_MINOR_FAULTS,     /* stat (10) minflt */
    TRACKER_MAJOR_FAULTS,     /* stat (12) majflt */
    TRACKER_BLKIO_DELAY,      /* µs: stat (42) delayacct_blkio_ticks, with delay accounting on */
    TRACKER_GUEST,            /* µs: stat (43) guest_time, running a guest's vCPUs (in user) */
    TRACKER_READ_BYTES,       /* io read_bytes */
    TRACKER_WRITE_BYTES,      /* io write_bytes */
    TRACKER_READ_CHARS,       /* io rchar */
    TRACKER_WRITE_CHARS,      /* io wchar */
    TRACKER_READ_SYSCALLS,    /* io syscr */
    TRACKER_WRITE_SYSCALLS,   /* io syscw */
    TRACKER_CTX_VOLUNTARY,    /* status voluntary_ctxt_switches */
    TRACKER_CTX_NONVOLUNTARY, /* status nonvoluntary_ctxt_switches */
    TRACKER_COUNTER_COUNT
};

#define TRACKER_BIT(c) (1u << (c))
/* The counters each file gives. */
#define TRACKER_FROM_STAT                                                                          \
    (TRACKER_BIT(TRACKER_CPU_USER) | TRACKER_BIT(TRACKER_CPU_SYSTEM) |                             \
     TRACKER_BIT(TRACKER_MINOR_FAULTS) | TRACKER_BIT(TRACKER_MAJOR_FAULTS) |                       \
     TRACKER_BIT(TRACKER_BLKIO_DELAY) | TRACKER_BIT(TRACKER_GUEST))
#define TRACKER_FROM_IO                                                                            \
    (TRACKER_BIT(TRACKER_READ_BYTES) | TRACKER_BIT(TRACKER_WRITE_BYTES) |                          \
     TRACKER_BIT(TRACKER_READ_CHARS) | TRACKER_BIT(TRACKER_WRITE_CHARS) |                          \
     TRACKER_BIT(TRACKER_READ_SYSCALLS) | TRACKER_BIT(TRACKER_WRITE_SYSCALLS))
#define TRACKER_FROM_STATUS                                                                        \
    (TRACKER_BIT(TRACKER_CTX_VOLUNTARY) | TRACKER_BIT(TRACKER_CTX_NONVOLUNTARY))

/* Monotonic totals, as integers (microseconds, bytes, counts), converted only at output. Times
 * are kept in microseconds, not clock ticks, so that the sub-tick usage of short-lived processes
 * adds up. */
struct tracker_counters {
    uint64_t v[TRACKER_COUNTER_COUNT];
};

/* The raw readings of one task at its last scan. A counter whose bit is clear in `has` has no
 * reading yet (first sight, unreadable so far, or counting restarted). */
struct tracker_baseline {
    uint64_t last[TRACKER_COUNTER_COUNT];
    uint32_t has;
};

/* What a reading below the baseline means. */
enum tracker_drop {
    TRACKER_DROP_IGNORE,  /* counts nothing; the lower reading becomes the baseline */
    TRACKER_DROP_RESTART, /* the source was recreated: the reading counts whole */
};

/* The growth of one raw counter: returns it and moves the baseline to `raw`. Without a baseline
 * (*has_last false) the reading only sets it, unless `from_zero` (the source was born while we
 * watched), when it counts whole. */
uint64_t tracker_delta(uint64_t *last, bool *has_last, uint64_t raw, bool from_zero,
                       enum tracker_drop drop);

/* For each counter in `present`: adds the growth of raw[c] since base->last[c] to every total in
 * `totals` (NULL entries skipped) and moves the baseline. `from_zero` as in tracker_delta. */
void tracker_counters_advance(struct tracker_baseline *base, const uint64_t *raw, uint32_t present,
                              bool from_zero, struct tracker_counters *const *totals,
                              unsigned ntotals);

/* Adds `growth` to `total`, every counter saturating rather than wrapping. For growth that is
 * already a difference (an exit record's final interval, children times not claimed). */
void tracker_counters_add(struct tracker_counters *total, const struct tracker_counters *growth);

/* Forgets the baselines in `which`: the next reading of those only sets them. */
static inline void tracker_baseline_reset(struct tracker_baseline *base, uint32_t which)
{
    base->has &= ~which;
}

#endif /* PROCTRACK_TRACKER_COUNTER_H */
