/* Children times: what a process's parent says of it after it exits. When a parent reaps a child
 * the kernel adds the child's whole usage (its own, and its own children's) to the parent's
 * cutime, cstime, cminflt and cmajflt (stat fields 16, 17, 10, 12), which every scan reads anyway.
 *
 * A parent's growth in those, minus what was already counted for the children it reaped (their
 * usage at their last reading, or their exit records), is usage nothing else counted: without
 * exit records (TRACKER_EXITS_CHILDREN), the last interval of its tracked children and the whole
 * life of those no scan saw; with them, what records lost (an overrun) and what they cannot hold
 * (the CPU a task spends in exit() after its record was sent: tearing down its memory, closing
 * its files). It goes to the group of the exited child that claimed most when there is one, else
 * to the parent's. */
#include <string.h>

#include "tracker/internal.h"
#include "util/xalloc.h"

/* The four counters children times give, in the order of struct entry.child_last. */
static const enum tracker_counter child_counter[CHILD_COUNTERS] = {
    TRACKER_CPU_USER, TRACKER_CPU_SYSTEM, TRACKER_MINOR_FAULTS, TRACKER_MAJOR_FAULTS};

static struct kin *kin_get(struct tracker *t, int pid)
{
    for (size_t i = 0; i < t->nkin; i++)
        if (t->kin[i].pid == pid)
            return &t->kin[i];
    t->kin = xgrow(t->kin, &t->kin_cap, t->nkin + 1, sizeof(*t->kin));
    struct kin *k = &t->kin[t->nkin++];
    memset(k, 0, sizeof(*k));
    k->pid = pid;
    k->group = -1;
    return k;
}

static struct kin *kin_find(struct tracker *t, int pid)
{
    for (size_t i = 0; i < t->nkin; i++)
        if (t->kin[i].pid == pid)
            return &t->kin[i];
    return NULL;
}

void tracker_children_read(struct tracker *t, struct entry *e, const struct proc_stat *st)
{
    if (t->options.exits == TRACKER_EXITS_NONE)
        return;
    uint64_t now[CHILD_COUNTERS] = {tracker_ticks_us(t, st->cutime_ticks),
                                    tracker_ticks_us(t, st->cstime_ticks), st->cminflt,
                                    st->cmajflt};
    if (e->kind != ENTRY_TRACKED) {
        /* An ignored process's own usage, to be claimed from its parent's when it exits. */
        uint64_t own[CHILD_COUNTERS] = {tracker_ticks_us(t, st->utime_ticks),
                                        tracker_ticks_us(t, st->stime_ticks), st->minflt,
                                        st->majflt};
        for (unsigned i = 0; i < CHILD_COUNTERS; i++)
            e->base.last[child_counter[i]] = own[i];
        for (unsigned i = 0; i < CHILD_COUNTERS; i++)
            e->base.has |= TRACKER_BIT(child_counter[i]);
    }
    /* A process born while we watched counts its children times from zero, as its own; one
     * that was there before starts from this reading, and what its exited children claimed
     * of it until now is in that reading. */
    bool from_zero = !e->has_child_last && e->from_birth;
    if (!e->has_child_last && !from_zero) {
        struct kin *old = kin_find(t, e->id);
        if (old)
            memset(old->claimed, 0, sizeof(old->claimed));
    }
    bool moved = false;
    uint64_t growth[CHILD_COUNTERS] = {0};
    for (unsigned i = 0; i < CHILD_COUNTERS; i++) {
        uint64_t last = e->has_child_last ? e->child_last[i] : 0;
        if ((e->has_child_last || from_zero) && now[i] > last) {
            growth[i] = now[i] - last;
            moved = true;
        }
        e->child_last[i] = now[i];
    }
    e->has_child_last = true;
    if (!moved)
        return;
    struct kin *k = kin_get(t, e->id);
    k->group = e->kind == ENTRY_TRACKED ? (int)e->group : -1;
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        k->growth[i] += growth[i];
}

static bool settle_kin(struct tracker *t, struct kin *k);

static void add_share(struct kin *k, int group, uint64_t weight)
{
    if (group < 0)
        return;
    for (unsigned i = 0; i < k->nshares; i++)
        if (k->shares[i].group == group) {
            k->shares[i].weight += weight;
            return;
        }
    if (k->nshares < KIN_SHARES)
        k->shares[k->nshares++] = (struct kin_share){group, weight};
    else
        k->shares[KIN_SHARES - 1].weight += weight; /* many groups: the last shares out */
}

void tracker_children_claim(struct tracker *t, int ppid, int pid, const uint64_t *own,
                            const uint64_t *children, int group, uint64_t weight)
{
    if (t->options.exits == TRACKER_EXITS_NONE || ppid <= 0)
        return;
    struct kin *k = kin_get(t, ppid);
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        k->claimed[i] += own[i] + (children ? children[i] : 0);
    /* What the child's own reaped children claimed from it is in what it hands its parent. Its
     * growth read in this scan is in that too (its children times at its last reading): the
     * claims that growth explains are settled here, as the child's, and only those still
     * waiting go up. */
    struct kin *c = pid > 0 ? kin_find(t, pid) : NULL;
    if (c) {
        settle_kin(t, c);
        k = kin_get(t, ppid); /* kin_find may not move the array, kin_get may have */
        c = kin_find(t, pid);
        for (unsigned i = 0; i < CHILD_COUNTERS; i++) {
            k->claimed[i] += c->claimed[i];
            c->claimed[i] = 0;
        }
        for (unsigned i = 0; i < c->nshares; i++)
            add_share(k, c->shares[i].group, c->shares[i].weight);
        c->nshares = 0;
    }
    add_share(k, group, weight);
}

void tracker_children_claim_entry(struct tracker *t, const struct entry *e)
{
    uint64_t own[CHILD_COUNTERS];
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        own[i] = e->base.last[child_counter[i]];
    /* Without its record, what a child's claim leaves is its whole last interval: shared by the
     * CPU it had used, the rate it is likely to have gone on at. When no record was lost, a
     * process swept without one is one whose record comes late, and only its exit is missing
     * (see exit_weight() in exits.c): one unit. */
    bool records = t->options.exits == TRACKER_EXITS_RECORDS && !t->records_lost;
    uint64_t weight = records ? 1024 : own[0] + own[1] + 1;
    tracker_children_claim(t, e->ppid, e->id, own, e->has_child_last ? e->child_last : NULL,
                           e->kind == ENTRY_TRACKED ? (int)e->group : -1, weight);
}

/* Whether a claim still waiting for its parent to reap the child can still be matched. Exit
 * records come when a child exits, which may be long before its parent reaps it: their claims wait
 * as long as the parent lives (or, for a parent not seen yet, two scans). Claims of vanished
 * processes were reaped already, and wait one scan, for a parent read before the reaping. */
static bool claim_may_wait(struct tracker *t, const struct kin *k)
{
    if (t->options.exits != TRACKER_EXITS_RECORDS)
        return k->age < 1;
    const struct entry *parent = table_find(&t->procs, k->pid);
    return (parent && !parent->ended) || k->age < 2;
}

static void add_counters(struct tracker *t, int group, const struct tracker_counters *add)
{
    tracker_counters_add(&t->groups.slots[group].counters, add);
}

/* What no claim explains goes to the exited children's groups, in proportion to their weights,
 * or to the parent's group when no tracked child claimed. */
static void share_out(struct tracker *t, const struct kin *k, const struct tracker_counters *rem)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < k->nshares; i++)
        total += k->shares[i].weight;
    if (total == 0) {
        if (k->group >= 0)
            add_counters(t, k->group, rem);
        return;
    }
    struct tracker_counters left = *rem;
    for (unsigned i = 0; i < k->nshares; i++) {
        struct tracker_counters part = left;
        if (i + 1 < k->nshares) {
            double f = (double)k->shares[i].weight / (double)total;
            for (unsigned c = 0; c < TRACKER_COUNTER_COUNT; c++) {
                part.v[c] = (uint64_t)((double)rem->v[c] * f);
                if (part.v[c] > left.v[c])
                    part.v[c] = left.v[c];
                left.v[c] -= part.v[c];
            }
        }
        add_counters(t, k->shares[i].group, &part);
    }
}

/* Matches a parent's growth against the claims of its exited children: what the claims do not
 * explain is shared out now; claims the growth does not reach yet stay. Returns whether some
 * stay. */
static bool settle_kin(struct tracker *t, struct kin *k)
{
    struct tracker_counters rem = {0};
    bool left = false;
    /* CPU as one sum: the kernel splits a child's time between user and system anew when its
     * parent reaps it, so the split of the claims and of the growth differ. */
    uint64_t grown = k->growth[0] + k->growth[1], claimed = k->claimed[0] + k->claimed[1];
    if (grown >= claimed) {
        uint64_t cpu = grown - claimed;
        uint64_t user = grown ? (uint64_t)((double)cpu * k->growth[0] / grown) : 0;
        rem.v[TRACKER_CPU_USER] = user;
        rem.v[TRACKER_CPU_SYSTEM] = cpu - user;
        k->claimed[0] = k->claimed[1] = 0;
    } else {
        /* Claimed before its parent reaped it (or before it was read): wait for that. */
        k->claimed[0] = claimed - grown;
        k->claimed[1] = 0;
        left = true;
    }
    for (unsigned c = 2; c < CHILD_COUNTERS; c++) {
        if (k->growth[c] >= k->claimed[c]) {
            rem.v[child_counter[c]] = k->growth[c] - k->claimed[c];
            k->claimed[c] = 0;
        } else {
            k->claimed[c] -= k->growth[c];
            left = true;
        }
    }
    memset(k->growth, 0, sizeof(k->growth));
    share_out(t, k, &rem);
    return left;
}

void tracker_children_settle(struct tracker *t)
{
    if (t->records_lost)
        t->exit_stats.lost_intervals++;
    size_t keep = 0;
    for (size_t i = 0; i < t->nkin; i++) {
        struct kin *k = &t->kin[i];
        bool left = settle_kin(t, k);
        k->age++;
        if (left && claim_may_wait(t, k)) {
            /* The claims wait for their growth, and their groups with them. */
            k->group = -1; /* set again by the next reading */
            t->kin[keep++] = *k;
        }
    }
    t->nkin = keep;
}
