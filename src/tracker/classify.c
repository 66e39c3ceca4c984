/* Deciding the group of a process: once at first sight (the rules, or with -children the group of
 * its nearest tracked ancestor), again after an exec under -recheck, and again for every live
 * process after a reload. Each decision is listed for the exporter (tracker_new_at). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tracker/internal.h"
#include "util/xalloc.h"

static void report_new(struct tracker *t, const struct proc_stat *st, int group, int rule,
                       int adopted_from)
{
    const struct tracker_classifier *c = &t->classifier;
    if (!c->list_all && !(rule >= 0 && (size_t)rule < c->nfollow && c->follow[rule]))
        return;
    t->decisions = xgrow(t->decisions, &t->decisions_cap, t->ndecisions + 1, sizeof(*t->decisions));
    struct decision *d = &t->decisions[t->ndecisions++];
    d->out = (struct tracker_new_process){
        .pid = st->pid,
        .starttime_ticks = st->starttime_ticks,
        .rule = rule,
        .adopted_from = adopted_from,
        .from_birth = t->scanned && st->starttime_ticks > t->first_scan_ticks,
    };
    d->comm_at = t->new_names.len;
    strbuf_append(&t->new_names, st->comm, strlen(st->comm) + 1);
    d->group_at = SIZE_MAX;
    if (group >= 0) {
        const char *name = t->groups.slots[group].name;
        d->group_at = t->new_names.len;
        strbuf_append(&t->new_names, name, strlen(name) + 1);
    }
}

void tracker_publish_decisions(struct tracker *t)
{
    for (size_t i = 0; i < t->ndecisions; i++) {
        struct decision *d = &t->decisions[i];
        d->out.comm = t->new_names.buf + d->comm_at;
        d->out.group = d->group_at == SIZE_MAX ? NULL : t->new_names.buf + d->group_at;
    }
}

static void make_tracked(struct tracker *t, struct entry *e, uint32_t group)
{
    e->kind = ENTRY_TRACKED;
    e->group = group;
    t->groups.slots[group].members++;
}

static void park_pending(struct tracker *t, struct entry *e, const struct proc_stat *st)
{
    e->kind = ENTRY_PENDING;
    t->pending = xgrow(t->pending, &t->pending_cap, t->npending + 1, sizeof(*t->pending));
    t->pending[t->npending++] = *st;
}

/* The classifier's rule for a live process; a process whose answer may still change is
 * classified again at the next scan. */
static int classify_live(struct tracker *t, struct entry *e, const struct proc_identity *id)
{
    const struct tracker_classifier *c = &t->classifier;
    int rule = c->classify(c->ctx, id, &t->name);
    e->undecided = c->undecided && c->undecided(c->ctx);
    if (e->undecided)
        e->reclassify = true;
    return rule;
}

enum matched { MATCHED_GONE = -1, MATCHED_NONE = 0, MATCHED_JOINED = 1 };

/* Runs the rules on a process; when one matches, the process joins its group and is accounted. */
static enum matched match_rules(struct tracker *t, const struct tracker_source *src,
                                struct entry *e, const struct proc_stat *st)
{
    struct proc_identity id;
    unsigned failed = 0;
    if (src->identity(src->ctx, st, t->classifier.needs, &id, &failed) == -ESRCH)
        return MATCHED_GONE;
    tracker_count_failed(t, st->pid, failed);
    int rule = classify_live(t, e, &id);
    if (rule < 0)
        return MATCHED_NONE;
    uint32_t group = groups_get(&t->groups, strbuf_str(&t->name));
    make_tracked(t, e, group);
    report_new(t, st, (int)group, rule, 0);
    tracker_account(t, src, e, st, true);
    return MATCHED_JOINED;
}

void tracker_see_new(struct tracker *t, const struct tracker_source *src,
                     const struct proc_stat *st)
{
    struct entry *e = table_insert(&t->procs, st->pid);
    /* The key first, the nearest to the stat read: it tells this process from a later one with
     * the same pid and start tick (tracker_scan). */
    uint64_t key;
    if (src->process_key && src->process_key(src->ctx, st->pid, &key) == 0) {
        e->key = entry_key_bits(key);
        e->has_key = true;
    }
    e->ppid = st->ppid;
    e->starttime_ticks = st->starttime_ticks;
    e->from_birth = t->scanned && st->starttime_ticks > t->first_scan_ticks;
    e->seen = t->gen;
    e->kind = ENTRY_IGNORED;
    e->fingerprint = tracker_fingerprint(st);
    switch (match_rules(t, src, e, st)) {
    case MATCHED_JOINED:
        break;
    case MATCHED_GONE:
        table_delete(&t->procs, e);
        break;
    case MATCHED_NONE:
        if (t->options.children)
            park_pending(t, e, st);
        else
            report_new(t, st, -1, -1, 0);
        break;
    }
}

void tracker_recheck(struct tracker *t, const struct tracker_source *src, struct entry *e,
                     const struct proc_stat *st)
{
    uint64_t fp = tracker_fingerprint(st);
    if (fp == e->fingerprint)
        return;
    e->fingerprint = fp; /* past the time limit too: tracker_scan asks about an exec once */
    if (t->options.recheck_limit_ticks &&
        t->now_ticks >= e->starttime_ticks + t->options.recheck_limit_ticks)
        return;
    e->ppid = st->ppid;
    if (match_rules(t, src, e, st) == MATCHED_NONE && t->options.children)
        park_pending(t, e, st);
}

/* The group of the nearest known ancestor, or -1. An ancestor counts only if it started no later
 * than its child: a parent pid reused by a younger process is not the parent. An ancestor that
 * has exited since the last scan (its entry is still here until the sweep) is not trusted with
 * its group, but the walk goes on through the parent it had. */
static int ancestor_group(struct tracker *t, const struct entry *child, int *via)
{
    const struct entry *cur = child;
    for (int depth = 0; depth < 4096; depth++) {
        if (cur->ppid <= 0)
            return -1;
        const struct entry *p = table_find(&t->procs, cur->ppid);
        if (!p || p->starttime_ticks > cur->starttime_ticks)
            return -1;
        if (p->seen == t->gen && p->kind == ENTRY_TRACKED) {
            *via = p->id;
            return (int)p->group;
        }
        if (p->seen == t->gen && p->kind == ENTRY_IGNORED)
            return -1;
        cur = p; /* pending in this scan, or exited: look further up */
    }
    return -1;
}

void tracker_resolve_pending(struct tracker *t, const struct tracker_source *src)
{
    for (size_t i = 0; i < t->npending; i++) {
        const struct proc_stat *st = &t->pending[i];
        struct entry *e = table_find(&t->procs, st->pid);
        if (!e || e->kind != ENTRY_PENDING)
            continue;
        int via = 0;
        int group = ancestor_group(t, e, &via);
        bool carry_on = e->carry_on;
        e->carry_on = false;
        if (group < 0) {
            e->kind = ENTRY_IGNORED;
            if (carry_on)
                tracker_restart_counting(e);
            report_new(t, st, -1, -1, 0);
            continue;
        }
        make_tracked(t, e, (uint32_t)group);
        report_new(t, st, group, -1, via);
        tracker_account(t, src, e, st, !carry_on);
    }
    t->npending = 0;
}

void tracker_reclassify(struct tracker *t, const struct tracker_source *src, struct entry *e,
                        const struct proc_stat *st)
{
    struct proc_identity id;
    unsigned failed = 0;
    if (src->identity(src->ctx, st, t->classifier.needs, &id, &failed) == -ESRCH)
        return; /* gone: swept */
    tracker_count_failed(t, st->pid, failed);
    bool was_tracked = e->kind == ENTRY_TRACKED;
    bool asked_again = e->undecided; /* its last answer was undecided: asked at every scan */
    int rule = classify_live(t, e, &id);
    if (rule >= 0) {
        uint32_t group = groups_get(&t->groups, strbuf_str(&t->name));
        if (was_tracked && e->group == group) {
            if (e->has_pending)
                tracker_drop_pending(t, e); /* as any scan of a tracked process */
            tracker_account(t, src, e, st, false);
            return;
        }
        if (was_tracked)
            t->groups.slots[e->group].members--;
        else
            tracker_restart_counting(e);
        make_tracked(t, e, group);
        report_new(t, st, (int)group, rule, 0);
        /* A moved process goes on from its last reading; a newly tracked one starts here. */
        tracker_account(t, src, e, st, !was_tracked);
        return;
    }
    if (!was_tracked && asked_again) {
        e->seen = t->gen; /* ignored still, as after its last answer: nothing new to list */
        return;
    }
    if (was_tracked) {
        t->groups.slots[e->group].members--;
        e->kind = ENTRY_IGNORED;
    }
    e->seen = t->gen;
    if (t->options.children) {
        /* Its usage so far is counted, in its old group; if an ancestor's group takes it, it goes
         * on from its last reading there. */
        e->carry_on = was_tracked;
        if (!was_tracked)
            tracker_restart_counting(e); /* if adopted, it counts from here (as at :187) */
        park_pending(t, e, st);
    } else {
        if (was_tracked)
            tracker_restart_counting(e);
        report_new(t, st, -1, -1, 0);
    }
}

void tracker_set_classifier(struct tracker *t, const struct tracker_classifier *classifier)
{
    t->classifier = *classifier;
    for (size_t i = 0; i < t->procs.cap; i++)
        if (t->procs.slots[i].id != 0)
            t->procs.slots[i].reclassify = true;
}

/* The group of the parent of a process that is gone: a tracked process, or another process
 * known only from its records (a shell's children, say). */
static int gone_ancestor_group(struct tracker *t, const struct tracker_exit *r, int *via)
{
    const struct entry *p = table_find(&t->procs, r->ppid);
    if (!p || p->starttime_ticks > r->starttime_ticks + 1)
        p = table_find(&t->gone, r->ppid);
    if (!p || p->starttime_ticks > r->starttime_ticks + 1 || p->kind != ENTRY_TRACKED)
        return -1;
    *via = p->id;
    return (int)p->group;
}

int tracker_classify_gone(struct tracker *t, const struct tracker_source *src,
                          const struct tracker_exit *r)
{
    struct proc_identity id;
    if (!src->gone_identity || src->gone_identity(src->ctx, r, &id) != 0) {
        memset(&id, 0, sizeof(id));
        id.pid = r->pid;
        id.ppid = r->ppid;
        id.starttime_ticks = r->starttime_ticks;
        id.comm = r->comm;
        id.exe = "";
        id.cmdline = "";
        id.has_euid = r->has_uid;
        id.euid = r->uid;
    }
    /* The name it had when it exited, as a scan would have seen it last. A thread's record
     * carries the thread's name, not its process's. */
    if (r->tid == r->pid)
        id.comm = r->comm;
    /* A process gone before its command line could be read is known by its name; kernel
     * threads (children of kthreadd) have none. */
    const char *argv[1] = {id.comm};
    if (id.argc == 0 && r->ppid != 2 && r->pid != 2) {
        id.argc = 1;
        id.argv = argv;
        id.cmdline = id.comm;
        id.cmdline_len = strlen(id.comm);
    }
    int rule = t->classifier.classify(t->classifier.ctx, &id, &t->name);
    int group = -1, via = 0;
    if (rule >= 0)
        group = (int)groups_get(&t->groups, strbuf_str(&t->name));
    else if (t->options.children)
        group = gone_ancestor_group(t, r, &via);
    struct proc_stat st = {.pid = r->pid, .starttime_ticks = r->starttime_ticks};
    size_t len = strnlen(id.comm, sizeof(st.comm) - 1);
    memcpy(st.comm, id.comm, len);
    report_new(t, &st, group, rule, via);
    return group;
}
