#include "tracker/tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

enum entry_kind { ENTRY_EMPTY, ENTRY_TRACKED, ENTRY_IGNORED, ENTRY_PENDING };

/* One live process. Slots of an open-addressing table keyed by pid; pid 0 marks an empty slot. */
struct entry {
    int pid;
    int ppid;
    uint8_t kind;
    bool from_birth;   /* born after the first scan: its whole usage counts */
    bool has_io_base;  /* the last_ io values below are a real reading */
    bool has_ctx_base; /* likewise for the context switch counts */
    uint32_t seen;     /* scan generation of the last sighting */
    uint32_t group;
    uint64_t starttime_ticks;
    /* The raw counters at the last scan; group counters grow by the differences. */
    uint64_t last_utime, last_stime, last_minflt, last_majflt;
    uint64_t last_read_bytes, last_write_bytes;
    uint64_t last_ctx_vol, last_ctx_nonvol;
};

struct tracker {
    struct tracker_options options;
    struct tracker_classifier classifier;

    struct entry *slots;
    size_t cap, used; /* cap is a power of two */

    struct tracker_group *groups;
    size_t ngroups, groups_cap;
    uint32_t *order; /* group indices in name order */
    size_t order_cap;
    uint32_t *gindex; /* open addressing over groups: index + 1, 0 = empty */
    size_t gindex_cap;

    struct proc_stat *pending; /* unmatched new processes waiting for their ancestry */
    size_t npending, pending_cap;

    uint32_t gen;
    bool scanned;
    uint64_t first_scan_ticks;
    size_t tracked, ignored;
    struct tracker_errors errors;
    struct strbuf name;
};

/* ---- process table ---- */

static size_t slot_of(const struct tracker *t, int pid)
{
    return ((uint32_t)pid * 2654435761u) & (t->cap - 1);
}

static struct entry *entry_find(struct tracker *t, int pid)
{
    for (size_t i = slot_of(t, pid);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].pid == pid)
            return &t->slots[i];
        if (t->slots[i].pid == 0)
            return NULL;
    }
}

static void table_resize(struct tracker *t, size_t cap)
{
    struct entry *old = t->slots;
    size_t old_cap = t->cap;
    t->slots = xcalloc(cap, sizeof(*t->slots));
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].pid == 0)
            continue;
        size_t j = slot_of(t, old[i].pid);
        while (t->slots[j].pid != 0)
            j = (j + 1) & (cap - 1);
        t->slots[j] = old[i];
    }
    free(old);
}

static struct entry *entry_insert(struct tracker *t, int pid)
{
    if ((t->used + 1) * 2 > t->cap)
        table_resize(t, t->cap * 2);
    size_t i = slot_of(t, pid);
    while (t->slots[i].pid != 0)
        i = (i + 1) & (t->cap - 1);
    struct entry *e = &t->slots[i];
    memset(e, 0, sizeof(*e));
    e->pid = pid;
    t->used++;
    return e;
}

/* Deletes slot i by shifting later members of its probe run back, so lookups need no
 * tombstones and the table never degrades under churn. */
static void entry_delete_slot(struct tracker *t, size_t i)
{
    size_t mask = t->cap - 1;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].pid != 0; j = (j + 1) & mask) {
        size_t home = slot_of(t, t->slots[j].pid);
        /* The entry at j may fill the hole unless its home lies cyclically in (hole, j]. */
        bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_after_hole) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
    t->used--;
}

/* ---- groups ---- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void gindex_insert(struct tracker *t, uint32_t g)
{
    size_t mask = t->gindex_cap - 1;
    size_t i = hash_name(t->groups[g].name) & mask;
    while (t->gindex[i] != 0)
        i = (i + 1) & mask;
    t->gindex[i] = g + 1;
}

static int group_find(const struct tracker *t, const char *name)
{
    if (t->gindex_cap == 0)
        return -1;
    size_t mask = t->gindex_cap - 1;
    for (size_t i = hash_name(name) & mask; t->gindex[i] != 0; i = (i + 1) & mask) {
        uint32_t g = t->gindex[i] - 1;
        if (strcmp(t->groups[g].name, name) == 0)
            return (int)g;
    }
    return -1;
}

static uint32_t group_get(struct tracker *t, const char *name)
{
    int found = group_find(t, name);
    if (found >= 0)
        return (uint32_t)found;

    uint32_t g = (uint32_t)t->ngroups;
    t->groups = xgrow(t->groups, &t->groups_cap, t->ngroups + 1, sizeof(*t->groups));
    memset(&t->groups[g], 0, sizeof(t->groups[g]));
    t->groups[g].name = xstrdup(name);
    t->ngroups++;

    if (t->ngroups * 2 > t->gindex_cap) {
        free(t->gindex);
        t->gindex_cap = t->gindex_cap ? t->gindex_cap * 2 : 64;
        t->gindex = xcalloc(t->gindex_cap, sizeof(*t->gindex));
        for (uint32_t i = 0; i < t->ngroups; i++)
            gindex_insert(t, i);
    } else {
        gindex_insert(t, g);
    }

    /* Keep the name order up to date here: groups are created rarely, read every scrape. */
    t->order = xgrow(t->order, &t->order_cap, t->ngroups, sizeof(*t->order));
    size_t lo = 0, hi = t->ngroups - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(t->groups[t->order[mid]].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&t->order[lo + 1], &t->order[lo], (t->ngroups - 1 - lo) * sizeof(*t->order));
    t->order[lo] = g;
    return g;
}

/* ---- scan ---- */

static uint64_t delta(uint64_t now, uint64_t last)
{
    return now > last ? now - last : 0;
}

static enum tracker_state state_of(char s)
{
    switch (s) {
    case 'R':
        return TRACKER_STATE_RUNNING;
    case 'S':
        return TRACKER_STATE_SLEEPING;
    case 'D':
        return TRACKER_STATE_WAITING;
    case 'Z':
        return TRACKER_STATE_ZOMBIE;
    default:
        return TRACKER_STATE_OTHER;
    }
}

/* Reads a tracked process's metrics and adds them to its group: deltas to the counters, values
 * to the gauges. On first sight the current values become the baseline, and are also counted
 * when the process was born after the exporter's first scan. */
static void account(struct tracker *t, const struct tracker_source *src, struct entry *e,
                    const struct proc_stat *st, bool first_sight)
{
    struct proc_metrics m;
    if (src->metrics(src->ctx, st->pid, &m) == -ESRCH)
        return; /* gone: not marked seen, swept at the end of this scan */
    e->seen = t->gen;
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++)
        if (m.failed & (1u << f))
            t->errors.partial[f]++;

    struct tracker_group *g = &t->groups[e->group];
    struct tracker_counters *c = &g->counters;
    if (first_sight) {
        if (e->from_birth) {
            c->cpu_user_ticks += st->utime_ticks;
            c->cpu_system_ticks += st->stime_ticks;
            c->minor_faults += st->minflt;
            c->major_faults += st->majflt;
        }
    } else {
        c->cpu_user_ticks += delta(st->utime_ticks, e->last_utime);
        c->cpu_system_ticks += delta(st->stime_ticks, e->last_stime);
        c->minor_faults += delta(st->minflt, e->last_minflt);
        c->major_faults += delta(st->majflt, e->last_majflt);
    }
    e->last_utime = st->utime_ticks;
    e->last_stime = st->stime_ticks;
    e->last_minflt = st->minflt;
    e->last_majflt = st->majflt;

    /* io and status may be unreadable for a while (permissions, a racing exit); the last good
     * reading stays the baseline, so nothing is counted twice or subtracted. */
    if (m.has_io) {
        if (e->has_io_base || e->from_birth) {
            c->read_bytes += delta(m.io.read_bytes, e->has_io_base ? e->last_read_bytes : 0);
            c->write_bytes += delta(m.io.write_bytes, e->has_io_base ? e->last_write_bytes : 0);
        }
        e->last_read_bytes = m.io.read_bytes;
        e->last_write_bytes = m.io.write_bytes;
        e->has_io_base = true;
    }
    if (m.has_status && m.status.has_ctxt) {
        if (e->has_ctx_base || e->from_birth) {
            c->ctx_voluntary +=
                delta(m.status.voluntary_ctxt, e->has_ctx_base ? e->last_ctx_vol : 0);
            c->ctx_nonvoluntary +=
                delta(m.status.nonvoluntary_ctxt, e->has_ctx_base ? e->last_ctx_nonvol : 0);
        }
        e->last_ctx_vol = m.status.voluntary_ctxt;
        e->last_ctx_nonvol = m.status.nonvoluntary_ctxt;
        e->has_ctx_base = true;
    }

    struct tracker_gauges *gg = &g->gauges;
    gg->procs++;
    gg->threads += st->num_threads > 0 ? (uint64_t)st->num_threads : 0;
    gg->resident_bytes += st->rss_pages * t->options.page_size;
    gg->virtual_bytes += st->vsize_bytes;
    if (m.has_status)
        gg->swapped_bytes += m.status.vm_swap_bytes;
    if (m.has_open_fds) {
        gg->open_fds += m.open_fds;
        if (m.has_fd_limit && m.fd_limit != PROC_LIMIT_UNLIMITED && m.fd_limit > 0) {
            double ratio = (double)m.open_fds / (double)m.fd_limit;
            if (ratio > gg->worst_fd_ratio)
                gg->worst_fd_ratio = ratio;
        }
    }
    if (!gg->has_oldest || st->starttime_ticks < gg->oldest_start_ticks) {
        gg->oldest_start_ticks = st->starttime_ticks;
        gg->has_oldest = true;
    }
    gg->states[state_of(st->state)]++;
}

static void report_new(struct tracker *t, const struct proc_stat *st, int group, int rule,
                       int adopted_from)
{
    if (t->options.on_new)
        t->options.on_new(t->options.on_new_arg, st->pid, st->comm,
                          group >= 0 ? t->groups[group].name : NULL, rule, adopted_from);
}

static void count_identity_errors(struct tracker *t, unsigned failed)
{
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++)
        if (failed & (1u << f))
            t->errors.partial[f]++;
}

/* A process seen for the first time: classify it, or park it until its ancestors are known. */
static void see_new(struct tracker *t, const struct tracker_source *src, const struct proc_stat *st)
{
    struct proc_identity id;
    unsigned failed = 0;
    if (src->identity(src->ctx, st, t->classifier.needs, &id, &failed) == -ESRCH)
        return;
    count_identity_errors(t, failed);

    int rule = t->classifier.classify(t->classifier.ctx, &id, &t->name);
    /* Growing the group array cannot move entries: insert after. */
    int group = rule >= 0 ? (int)group_get(t, strbuf_str(&t->name)) : -1;
    struct entry *e = entry_insert(t, st->pid);
    e->ppid = st->ppid;
    e->starttime_ticks = st->starttime_ticks;
    e->from_birth = t->scanned && st->starttime_ticks > t->first_scan_ticks;
    e->seen = t->gen;

    if (group >= 0) {
        e->kind = ENTRY_TRACKED;
        e->group = (uint32_t)group;
        report_new(t, st, group, rule, 0);
        account(t, src, e, st, true);
    } else if (t->options.children) {
        e->kind = ENTRY_PENDING;
        t->pending = xgrow(t->pending, &t->pending_cap, t->npending + 1, sizeof(*t->pending));
        t->pending[t->npending++] = *st;
    } else {
        e->kind = ENTRY_IGNORED;
        report_new(t, st, -1, -1, 0);
    }
}

/* The group of the nearest known ancestor, or -1. An ancestor counts only if it was seen in this
 * scan and started no later than its child: a parent pid that was reused by a younger process
 * is not the parent. */
static int ancestor_group(struct tracker *t, const struct entry *child, int *via)
{
    const struct entry *cur = child;
    for (int depth = 0; depth < 4096; depth++) {
        if (cur->ppid <= 0)
            return -1;
        const struct entry *p = entry_find(t, cur->ppid);
        if (!p || p->seen != t->gen || p->starttime_ticks > cur->starttime_ticks)
            return -1;
        if (p->kind == ENTRY_TRACKED) {
            *via = p->pid;
            return (int)p->group;
        }
        if (p->kind != ENTRY_PENDING)
            return -1;
        cur = p;
    }
    return -1;
}

static void resolve_pending(struct tracker *t, const struct tracker_source *src)
{
    for (size_t i = 0; i < t->npending; i++) {
        const struct proc_stat *st = &t->pending[i];
        struct entry *e = entry_find(t, st->pid);
        if (!e || e->kind != ENTRY_PENDING)
            continue;
        int via = 0;
        int group = ancestor_group(t, e, &via);
        if (group < 0) {
            e->kind = ENTRY_IGNORED;
            report_new(t, st, -1, -1, 0);
            continue;
        }
        e->kind = ENTRY_TRACKED;
        e->group = (uint32_t)group;
        report_new(t, st, group, -1, via);
        account(t, src, e, st, true);
    }
    t->npending = 0;
}

static void sweep(struct tracker *t)
{
    t->tracked = t->ignored = 0;
    for (size_t i = 0; i < t->cap; i++) {
        while (t->slots[i].pid != 0 && t->slots[i].seen != t->gen)
            entry_delete_slot(t, i);
        if (t->slots[i].kind == ENTRY_TRACKED && t->slots[i].pid != 0)
            t->tracked++;
        else if (t->slots[i].kind == ENTRY_IGNORED && t->slots[i].pid != 0)
            t->ignored++;
    }
}

int tracker_scan(struct tracker *t, const struct tracker_source *src)
{
    int rc = src->list(src->ctx);
    if (rc < 0) {
        t->errors.scan++;
        return rc;
    }
    t->gen++;
    if (!t->scanned)
        t->first_scan_ticks = src->now_ticks(src->ctx);
    for (size_t i = 0; i < t->ngroups; i++)
        memset(&t->groups[i].gauges, 0, sizeof(t->groups[i].gauges));

    struct proc_stat st;
    while ((rc = src->next(src->ctx, &st)) != 0) {
        struct entry *e = entry_find(t, st.pid);
        if (rc < 0) {
            /* stat is there but unreadable: keep what we know, count the error. */
            t->errors.procread++;
            if (e)
                e->seen = t->gen;
            continue;
        }
        if (e && e->starttime_ticks != st.starttime_ticks) {
            /* The pid was reused: the old process is gone, its usage stays in its group. */
            entry_delete_slot(t, (size_t)(e - t->slots));
            e = NULL;
        }
        if (!e)
            see_new(t, src, &st);
        else if (e->kind == ENTRY_TRACKED)
            account(t, src, e, &st, false);
        else
            e->seen = t->gen; /* ignored: a stat read is all it costs */
    }
    resolve_pending(t, src);
    sweep(t);
    t->scanned = true;
    return 0;
}

/* ---- lifecycle and accessors ---- */

struct tracker *tracker_new(const struct tracker_options *options,
                            const struct tracker_classifier *classifier)
{
    struct tracker *t = xcalloc(1, sizeof(*t));
    t->options = *options;
    if (t->options.page_size == 0)
        t->options.page_size = 4096;
    t->classifier = *classifier;
    t->cap = 1024;
    t->slots = xcalloc(t->cap, sizeof(*t->slots));
    return t;
}

void tracker_free(struct tracker *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ngroups; i++)
        free(t->groups[i].name);
    free(t->groups);
    free(t->order);
    free(t->gindex);
    free(t->slots);
    free(t->pending);
    strbuf_free(&t->name);
    free(t);
}

size_t tracker_group_count(const struct tracker *t)
{
    return t->ngroups;
}

const struct tracker_group *tracker_group_at(const struct tracker *t, size_t index)
{
    return index < t->ngroups ? &t->groups[t->order[index]] : NULL;
}

const struct tracker_group *tracker_group_find(const struct tracker *t, const char *name)
{
    int g = group_find(t, name);
    return g >= 0 ? &t->groups[g] : NULL;
}

const struct tracker_errors *tracker_errors(const struct tracker *t)
{
    return &t->errors;
}

size_t tracker_tracked_count(const struct tracker *t)
{
    return t->tracked;
}

size_t tracker_ignored_count(const struct tracker *t)
{
    return t->ignored;
}
