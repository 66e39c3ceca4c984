/* Exit records: the final counters of every task that exits, so that the last interval of a
 * tracked process and the whole life of a process that lived between two scans are counted.
 *
 * Every task's life is counted once, from the reading its baseline holds to its final record:
 *   - a single-threaded process's baseline is its entry's (the reading of its last scan);
 *   - a thread of a multi-threaded process has an entry of its own in the thread table; a
 *     thread born since its process's last read counts whole;
 *   - a process never seen by a scan counts whole, in the group its rules give it, from the
 *     identity captured while it lived (or what the record says of it).
 * A thread that exits while its process lives is already in the process's next reading (the
 * kernel keeps dead threads' times in the process's), so its growth only waits: it counts if the
 * process ends before that reading, and is dropped when the reading comes. */
#include <string.h>

#include "tracker/internal.h"
#include "util/xalloc.h"

/* How late a record's start time may be at least: receiving it may lag behind the exit, and a
 * kernel before taskstats version 12 gives a thread's elapsed time, not its process's. */
#define START_SLACK_TICKS 200

/* The earliest start of the record's process: what the source says, widened to the slack. */
static uint64_t earliest_start(const struct tracker_exit *r)
{
    uint64_t slack =
        r->starttime_ticks > START_SLACK_TICKS ? r->starttime_ticks - START_SLACK_TICKS : 0;
    return r->earliest_starttime_ticks && r->earliest_starttime_ticks < slack
               ? r->earliest_starttime_ticks
               : slack;
}

/* Whether a process that started in the tick `start` (±1) may be the record's. */
static bool starts_within(uint64_t start, uint64_t earliest, uint64_t latest)
{
    return start <= latest + 1 && start + 1 >= earliest;
}

static bool same_process(const struct entry *e, const struct tracker_exit *r)
{
    return starts_within(e->starttime_ticks, earliest_start(r), r->starttime_ticks);
}

static struct pending_exit *find_pending(struct tracker *t, int pid)
{
    for (size_t i = 0; i < t->npending_exits; i++)
        if (t->pending_exits[i].pid == pid)
            return &t->pending_exits[i];
    return NULL;
}

static void remove_pending(struct tracker *t, struct entry *e, struct tracker_counters *out)
{
    struct pending_exit *p = e->has_pending ? find_pending(t, e->id) : NULL;
    e->has_pending = false;
    if (!p)
        return;
    if (out)
        tracker_counters_add(out, &p->growth);
    *p = t->pending_exits[--t->npending_exits];
}

void tracker_drop_pending(struct tracker *t, struct entry *e)
{
    remove_pending(t, e, NULL);
}

void tracker_flush_pending(struct tracker *t, struct entry *e)
{
    struct tracker_counters growth = {0};
    remove_pending(t, e, &growth);
    if (e->kind == ENTRY_TRACKED)
        tracker_counters_add(&t->groups.slots[e->group].counters, &growth);
}

/* The growth of a task since `base`: its final reading minus the baseline, or the whole reading
 * where the task had none and was born while we watched (`whole`). The two CPU modes are taken
 * together: the kernel splits a task's time between user and system on its own, so the split of
 * the final record and of a process's reading differ, while their sum is exact. */
static void growth_since(const struct tracker_exit *r, const struct tracker_baseline *base,
                         bool whole, struct tracker_counters *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned c = 0; c < TRACKER_COUNTER_COUNT; c++) {
        if (!(r->present & TRACKER_BIT(c)))
            continue;
        if (base && (base->has & TRACKER_BIT(c)))
            out->v[c] = r->raw[c] > base->last[c] ? r->raw[c] - base->last[c] : 0;
        else if (whole)
            out->v[c] = r->raw[c];
    }
    uint32_t cpu = TRACKER_BIT(TRACKER_CPU_USER) | TRACKER_BIT(TRACKER_CPU_SYSTEM);
    if (base && (base->has & cpu) == cpu && (r->present & cpu) == cpu) {
        uint64_t now = r->raw[TRACKER_CPU_USER] + r->raw[TRACKER_CPU_SYSTEM];
        uint64_t then = base->last[TRACKER_CPU_USER] + base->last[TRACKER_CPU_SYSTEM];
        uint64_t total = now > then ? now - then : 0;
        uint64_t user = out->v[TRACKER_CPU_USER] < total ? out->v[TRACKER_CPU_USER] : total;
        out->v[TRACKER_CPU_USER] = user;
        out->v[TRACKER_CPU_SYSTEM] = total - user;
    }
}

/* What the exited task `r` of the tracked or ignored process `e` adds since e's last read. */
static void task_growth(struct tracker *t, const struct entry *e, const struct tracker_exit *r,
                        struct tracker_counters *out)
{
    struct entry *te = table_find(&t->threads, r->tid);
    if (te) {
        /* A thread that was not there at its process's last read exited before it: that
         * reading holds all of it. */
        if (te->seen >= e->seen)
            growth_since(r, &te->base, te->from_birth, out);
        else
            memset(out, 0, sizeof(*out));
        table_delete(&t->threads, te);
        return;
    }
    bool single = e->last_num_threads <= 1;
    if (r->tid == r->pid)
        /* The main thread, followed through the process's own readings when it was alone. */
        growth_since(r, single ? &e->base : NULL, single && e->from_birth, out);
    else
        /* A thread without an entry was born after the last read, when the threads were read
         * (or the process was alone); otherwise nothing is known of it. */
        growth_since(r, NULL, single || e->threads_known, out);
}

/* What a task's record cannot hold is the CPU it used after the record was sent: the rest of its
 * last slice (the exact time is brought up to date at a tick or a switch) and exit() itself,
 * most of which is tearing down its memory. Both reach its parent's children times when the
 * parent reaps it (children.c), and are shared among the exited children's groups by these
 * weights: one unit per process, which every exit costs, plus its pages for the last task of a
 * process (4 MiB, 1,024 pages, weigh one more unit). Not by its CPU: a long-lived parent's
 * second of CPU says nothing of what its exit costs, and would draw its short children's
 * remainders into its own group. */
static uint64_t exit_weight(const struct tracker_exit *r)
{
    uint64_t unit = 1024;
    bool last_task = r->process_ended || r->tid == r->pid;
    return unit + (last_task ? r->peak_rss_kb / 4 : 0);
}

/* A process known only from its records: counted whole, in the group its rules give it. */
static void count_unseen(struct tracker *t, const struct tracker_source *src,
                         const struct tracker_exit *r)
{
    /* Before the first scan nothing is ours; a process that started before it was missed by
     * the first scan only if it started during it. */
    if (!t->scanned || r->starttime_ticks + 1 < t->first_scan_ticks)
        return;
    struct entry *g = table_find(&t->gone, r->pid);
    if (g && (!same_process(g, r) || g->vanished)) {
        table_delete(&t->gone, g);
        g = NULL;
    }
    if (!g) {
        int group = tracker_classify_gone(t, src, r);
        g = table_insert(&t->gone, r->pid);
        g->starttime_ticks = r->starttime_ticks;
        g->earliest_starttime_ticks = earliest_start(r);
        g->ppid = r->ppid;
        g->kind = group >= 0 ? ENTRY_TRACKED : ENTRY_IGNORED;
        g->group = group >= 0 ? (uint32_t)group : 0;
        t->exit_stats.unseen++;
    }
    g->seen = t->gen;
    int group = g->kind == ENTRY_TRACKED ? (int)g->group : -1;
    struct tracker_counters growth;
    growth_since(r, NULL, true, &growth);
    uint64_t own[CHILD_COUNTERS] = {growth.v[TRACKER_CPU_USER], growth.v[TRACKER_CPU_SYSTEM],
                                    growth.v[TRACKER_MINOR_FAULTS], growth.v[TRACKER_MAJOR_FAULTS]};
    tracker_children_claim(t, r->ppid, r->pid, own, NULL, group, exit_weight(r));
    if (group >= 0)
        tracker_counters_add(&t->groups.slots[group].counters, &growth);
}

/* A process ended: its parent's children times hold its usage until its last reading plus what
 * it used since. */
static void claim_ended(struct tracker *t, const struct entry *e, const struct tracker_exit *r,
                        const struct tracker_counters *growth)
{
    static const enum tracker_counter own_counter[CHILD_COUNTERS] = {
        TRACKER_CPU_USER, TRACKER_CPU_SYSTEM, TRACKER_MINOR_FAULTS, TRACKER_MAJOR_FAULTS};
    uint64_t own[CHILD_COUNTERS];
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        own[i] = e->base.last[own_counter[i]] + growth->v[own_counter[i]];
    tracker_children_claim(t, r->ppid, e->id, own, e->has_child_last ? e->child_last : NULL,
                           e->kind == ENTRY_TRACKED ? (int)e->group : -1, exit_weight(r));
}

bool tracker_counted_gone(const struct tracker *t, const struct proc_stat *st)
{
    const struct entry *g = table_find(&t->gone, st->pid);
    /* What the record said of the start: a span (see struct tracker_exit). */
    return g && !g->vanished &&
           starts_within(st->starttime_ticks, g->earliest_starttime_ticks, g->starttime_ticks);
}

void tracker_keep_vanished(struct tracker *t, const struct entry *e)
{
    if (t->options.exits != TRACKER_EXITS_RECORDS || e->kind != ENTRY_TRACKED)
        return;
    struct entry *g = table_find(&t->gone, e->id);
    if (!g)
        g = table_insert(&t->gone, e->id);
    *g = *e;
    g->vanished = true;
    g->has_pending = false;
    g->seen = t->gen;
}

/* The record of a process swept before it came: its last interval counts, once; its parent's
 * children times were claimed at the sweep. */
static bool take_late_record(struct tracker *t, const struct tracker_exit *r)
{
    struct entry *g = table_find(&t->gone, r->pid);
    if (!g || !g->vanished || !same_process(g, r))
        return false;
    if (g->ended)
        return true;
    struct tracker_counters growth;
    task_growth(t, g, r, &growth);
    tracker_counters_add(&t->groups.slots[g->group].counters, &growth);
    g->ended = r->process_ended || (r->tid == r->pid && g->last_num_threads <= 1);
    return true;
}

static void take_record(struct tracker *t, const struct tracker_source *src,
                        const struct tracker_exit *r)
{
    struct entry *e = table_find(&t->procs, r->pid);
    if (e && !same_process(e, r)) {
        if (r->starttime_ticks + 1 < e->starttime_ticks) {
            /* An older holder of the pid, whose record comes after the new one was seen. */
            count_unseen(t, src, r);
            return;
        }
        /* The pid was reused since the entry's process was read: that one has ended, its
         * record lost. What is known of it counts; the rest is the children times' (path 2). */
        tracker_flush_pending(t, e);
        e->ended = true;
        e = NULL;
    }
    if (!e || e->ended) {
        if (!e && !take_late_record(t, r))
            count_unseen(t, src, r);
        return;
    }
    struct tracker_counters growth;
    task_growth(t, e, r, &growth);
    bool ended = r->process_ended || (r->tid == r->pid && e->last_num_threads <= 1);
    if (ended)
        e->final_cpu_us = r->raw[TRACKER_CPU_USER] + r->raw[TRACKER_CPU_SYSTEM];
    if (e->kind != ENTRY_TRACKED) {
        if (ended)
            claim_ended(t, e, r, &growth);
        e->ended = e->ended || ended;
        return;
    }
    if (ended) {
        remove_pending(t, e, &growth);
        tracker_counters_add(&t->groups.slots[e->group].counters, &growth);
        claim_ended(t, e, r, &growth);
        e->ended = true;
        return;
    }
    struct pending_exit *p = e->has_pending ? find_pending(t, e->id) : NULL;
    if (!p) {
        t->pending_exits = xgrow(t->pending_exits, &t->pending_exits_cap, t->npending_exits + 1,
                                 sizeof(*t->pending_exits));
        p = &t->pending_exits[t->npending_exits++];
        memset(p, 0, sizeof(*p));
        p->pid = e->id;
        e->has_pending = true;
    }
    tracker_counters_add(&p->growth, &growth);
}

void tracker_take_exits(struct tracker *t, const struct tracker_source *src)
{
    if (t->options.exits != TRACKER_EXITS_RECORDS || !src->exits)
        return;
    const struct tracker_exit *records;
    bool lost = false;
    size_t n = src->exits(src->ctx, &records, &lost);
    for (size_t i = 0; i < n; i++)
        take_record(t, src, &records[i]);
    t->exit_stats.records += n;
    if (lost)
        t->records_lost = true;
}
