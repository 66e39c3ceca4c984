/* Children times: what a process's parent says of it after it exits. When a parent reaps a child
 * the kernel adds the child's whole usage (its own, and its own children's) to the parent's
 * cutime, cstime, cminflt and cmajflt (stat fields 16, 17, 10, 12), which every scan reads anyway.
 *
 * A parent's growth in those, minus what was already counted for the children it reaped (their
 * usage at their last reading, or their exit records), is usage nothing else counted: the last
 * interval of its tracked children and the whole life of those no scan saw. It goes to the group
 * of the exited tracked child when there is one, else to the parent's. This is the count when
 * exit records are not available (TRACKER_EXITS_CHILDREN), and for an interval in which records
 * were lost. */
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
    k->group = k->child_group = -1;
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
    bool moved = false;
    uint64_t growth[CHILD_COUNTERS] = {0};
    for (unsigned i = 0; i < CHILD_COUNTERS; i++) {
        if (e->has_child_last && now[i] > e->child_last[i]) {
            growth[i] = now[i] - e->child_last[i];
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

void tracker_children_claim(struct tracker *t, int ppid, int pid, const uint64_t *own,
                            const uint64_t *children, int group)
{
    if (t->options.exits == TRACKER_EXITS_NONE || ppid <= 0)
        return;
    struct kin *k = kin_get(t, ppid);
    uint64_t claim = 0;
    for (unsigned i = 0; i < CHILD_COUNTERS; i++) {
        uint64_t add = own[i] + (children ? children[i] : 0);
        k->claimed[i] += add;
        claim += i < 2 ? add : 0;
    }
    /* What the child's own reaped children claimed from it is in what it hands its parent. */
    struct kin *c = pid > 0 ? kin_find(t, pid) : NULL;
    if (c) {
        k = kin_get(t, ppid); /* kin_find may not move the array, kin_get may have */
        c = kin_find(t, pid);
        for (unsigned i = 0; i < CHILD_COUNTERS; i++) {
            k->claimed[i] += c->claimed[i];
            c->claimed[i] = 0;
        }
    }
    if (group >= 0 && claim >= k->child_claim) {
        k->child_group = group;
        k->child_claim = claim;
    }
}

void tracker_children_claim_entry(struct tracker *t, const struct entry *e)
{
    uint64_t own[CHILD_COUNTERS];
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        own[i] = e->base.last[child_counter[i]];
    tracker_children_claim(t, e->ppid, e->id, own, e->has_child_last ? e->child_last : NULL,
                           e->kind == ENTRY_TRACKED ? (int)e->group : -1);
}

void tracker_children_own(const struct tracker_exit *r, uint64_t *own)
{
    for (unsigned i = 0; i < CHILD_COUNTERS; i++)
        own[i] = r->raw[child_counter[i]];
}

void tracker_children_settle(struct tracker *t)
{
    bool count = t->options.exits == TRACKER_EXITS_CHILDREN ||
                 (t->options.exits == TRACKER_EXITS_RECORDS && t->records_lost);
    if (count)
        t->exit_stats.lost_intervals += t->options.exits == TRACKER_EXITS_RECORDS;
    size_t keep = 0;
    for (size_t i = 0; i < t->nkin; i++) {
        struct kin *k = &t->kin[i];
        struct tracker_counters rem = {0};
        bool left = false;
        for (unsigned c = 0; c < CHILD_COUNTERS; c++) {
            if (k->growth[c] >= k->claimed[c]) {
                rem.v[child_counter[c]] = k->growth[c] - k->claimed[c];
                k->claimed[c] = 0;
            } else {
                /* Claimed before its parent reaped it (or read it): wait one scan for that. */
                k->claimed[c] -= k->growth[c];
                left = true;
            }
            k->growth[c] = 0;
        }
        int group = k->child_group >= 0 ? k->child_group : k->group;
        if (count && group >= 0) {
            struct tracker_counters *total = &t->groups.slots[group].counters;
            for (unsigned c = 0; c < TRACKER_COUNTER_COUNT; c++) {
                uint64_t sum = total->v[c] + rem.v[c];
                total->v[c] = sum < rem.v[c] ? UINT64_MAX : sum;
            }
        }
        if (left && k->age++ == 0) {
            k->child_group = -1;
            k->child_claim = 0;
            t->kin[keep++] = *k;
        }
    }
    t->nkin = keep;
}
