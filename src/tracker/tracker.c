/* The scan loop: one pass over the source, each process handed to classify.c when it is new and
 * to account.c when it is tracked; then the sweep of what vanished. Lifecycle and accessors. */
#include "tracker/tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tracker/internal.h"
#include "util/xalloc.h"

static void forget(void *arg, const struct entry *e)
{
    struct tracker *t = arg;
    if (e->has_pending)
        tracker_flush_pending(t, (struct entry *)e);
    if (!e->ended) {
        tracker_children_claim_entry(t, e);
        tracker_keep_vanished(t, e);
    }
    if (e->kind == ENTRY_TRACKED)
        t->groups.slots[e->group].members--;
}

/* Whether any of the process's own stat counters is below its baseline: a task's counters only
 * grow, across an exec too, so lower ones belong to another task. */
static bool stat_counters_went_back(const struct tracker *t, const struct entry *e,
                                    const struct proc_stat *st)
{
    static const unsigned which[] = {TRACKER_CPU_USER, TRACKER_CPU_SYSTEM, TRACKER_MINOR_FAULTS,
                                     TRACKER_MAJOR_FAULTS};
    uint64_t now[TRACKER_COUNTER_COUNT];
    now[TRACKER_CPU_USER] = tracker_ticks_us(t, st->utime_ticks);   /* (14) utime */
    now[TRACKER_CPU_SYSTEM] = tracker_ticks_us(t, st->stime_ticks); /* (15) stime */
    now[TRACKER_MINOR_FAULTS] = st->minflt;                         /* (10) minflt */
    now[TRACKER_MAJOR_FAULTS] = st->majflt;                         /* (12) majflt */
    for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
        unsigned c = which[i];
        if ((e->base.has & TRACKER_BIT(c)) && now[c] < e->base.last[c])
            return true;
    }
    return false;
}

/* An entry whose (pid, starttime) is still there may hold another process: starttime counts clock
 * ticks (10 ms), and a pid can be freed and taken again within one (a pid namespace's set_tid
 * does it at will). Both an exec and such a reuse change the program; what tells them apart is
 * the source's process key (a pidfs inode: one per process since boot), or without one, counters
 * that went back (an exec keeps the task's counters, a new process starts from zero). Without
 * either, a change of program is taken for an exec, as before. */
static bool reused_within_a_tick(const struct tracker *t, const struct tracker_source *src,
                                 const struct entry *e, const struct proc_stat *st)
{
    if (tracker_fingerprint(st) == e->fingerprint)
        return false;
    uint64_t key;
    if (e->has_key && src->process_key && src->process_key(src->ctx, st->pid, &key) == 0)
        return entry_key_bits(key) != e->key;
    return e->kind == ENTRY_TRACKED && stat_counters_went_back(t, e, st);
}

/* An ended process seen again with its start time: the same one finishing exit() (its memory
 * already gone, so its program looks changed) or a zombie; or a new one started in the same
 * tick, told by its process key, else by counters below its last reading or above its final
 * record (two ticks of slack for the part of exit() after the record). */
static bool same_ended_process(const struct tracker *t, const struct tracker_source *src,
                               const struct entry *e, const struct proc_stat *st)
{
    if (st->state == 'Z' || st->state == 'X')
        return true;
    uint64_t key;
    if (e->has_key && src->process_key && src->process_key(src->ctx, st->pid, &key) == 0)
        return entry_key_bits(key) == e->key;
    uint64_t cpu = tracker_ticks_us(t, st->utime_ticks) + tracker_ticks_us(t, st->stime_ticks);
    return !stat_counters_went_back(t, e, st) && cpu <= e->final_cpu_us + tracker_ticks_us(t, 2);
}

int tracker_scan(struct tracker *t, const struct tracker_source *src)
{
    t->ndecisions = 0;
    strbuf_reset(&t->new_names);
    int rc = src->list(src->ctx);
    if (rc < 0) {
        t->errors.scan++;
        return rc;
    }
    t->gen++;
    t->prev_scan_ticks = t->now_ticks;
    t->now_ticks = src->now_ticks(src->ctx);
    if (!t->scanned)
        t->first_scan_ticks = t->now_ticks;
    groups_begin_scan(&t->groups);
    tracker_account_begin(t, src);
    t->records_lost = false;
    tracker_take_exits(t, src);

    struct proc_stat st;
    while ((rc = src->next(src->ctx, &st)) != 0) {
        struct entry *e = table_find(&t->procs, st.pid);
        if (rc < 0) {
            /* stat is there but unreadable: keep what we know, count the error. */
            t->errors.procread++;
            if (e)
                e->seen = t->gen;
            continue;
        }
        bool same_start = e && e->starttime_ticks == st.starttime_ticks;
        if (e && e->ended && same_start && same_ended_process(t, src, e, &st)) {
            /* Its exit record was counted: what is left finishes exit() (its memory already
             * gone, so its program looks changed; its process key and counters say it is the
             * same) or is a zombie waiting for its parent. */
            tracker_account_ended(t, e, &st);
            continue;
        }
        if (e && (!same_start || e->ended || reused_within_a_tick(t, src, e, &st))) {
            /* The pid was reused (an ended process that runs again is a new one, started in the
             * same tick): the old process is gone, its usage stays in its group. Its main
             * thread's entry may share the new one's tid and start time: it goes too. */
            struct entry *te = table_find(&t->threads, e->id);
            if (te)
                table_delete(&t->threads, te);
            forget(t, e);
            table_delete(&t->procs, e);
            e = NULL;
        }
        if (!e && tracker_counted_gone(t, &st))
            continue; /* counted whole from its record, now finishing exit() */
        if (!e) {
            tracker_see_new(t, src, &st);
        } else if (e->reclassify) {
            e->reclassify = false;
            tracker_reclassify(t, src, e, &st);
        } else if (e->kind == ENTRY_TRACKED) {
            if (e->has_pending)
                tracker_drop_pending(t, e); /* this reading holds its exited threads */
            tracker_account(t, src, e, &st, false);
        } else {
            e->seen = t->gen; /* ignored: a stat read is all it costs */
            if (t->options.recheck)
                tracker_recheck(t, src, e, &st);
            else
                e->fingerprint = tracker_fingerprint(&st); /* an exec is asked about once */
        }
        e = table_find(&t->procs, st.pid); /* a new entry may have moved the others */
        if (e && e->seen == t->gen && !e->ended)
            tracker_children_read(t, e, &st);
    }
    tracker_resolve_pending(t, src);
    tracker_take_exits(t, src);
    table_sweep(&t->procs, t->gen, forget, t);
    table_sweep(&t->threads, t->gen, NULL, NULL);
    table_sweep(&t->gone, t->gen - 1, NULL, NULL);
    tracker_children_settle(t);
    groups_end_scan(&t->groups, t->options.remove_empty_groups, t->now_ticks,
                    GROUPS_THREAD_NAME_TTL_SECONDS * t->options.ticks_per_second);
    if (t->options.remove_empty_groups)
        table_sweep(&t->gone, UINT32_MAX, NULL, NULL); /* their groups may be gone */

    t->tracked = t->ignored = 0;
    for (size_t i = 0; i < t->procs.cap; i++) {
        if (t->procs.slots[i].kind == ENTRY_TRACKED)
            t->tracked++;
        else if (t->procs.slots[i].kind == ENTRY_IGNORED)
            t->ignored++;
    }
    tracker_publish_decisions(t);
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
    if (t->options.ticks_per_second == 0)
        t->options.ticks_per_second = 100;
    if (t->options.thread_names_max == 0)
        t->options.thread_names_max = TRACKER_THREAD_NAMES_MAX;
    t->classifier = *classifier;
    table_init(&t->procs);
    table_init(&t->threads);
    table_init(&t->gone);
    groups_init(&t->groups);
    return t;
}

void tracker_free(struct tracker *t)
{
    if (!t)
        return;
    groups_free(&t->groups);
    for (size_t i = 0; i < t->nwchans; i++)
        free(t->wchans[i]);
    free(t->wchans);
    table_free(&t->procs);
    table_free(&t->threads);
    table_free(&t->gone);
    free(t->kin);
    free(t->pending_exits);
    free(t->pending);
    free(t->decisions);
    strbuf_free(&t->new_names);
    strbuf_free(&t->name);
    free(t);
}

void tracker_set_always(struct tracker *t, const char *const *names, size_t count)
{
    for (size_t k = 0; k < t->groups.norder; k++)
        t->groups.slots[t->groups.order[k]].always = false;
    for (size_t i = 0; i < count; i++) {
        uint32_t slot = groups_get(&t->groups, names[i]); /* may move the slots */
        t->groups.slots[slot].always = true;
    }
}

size_t tracker_group_count(const struct tracker *t)
{
    return t->groups.norder;
}

const struct tracker_group *tracker_group_at(const struct tracker *t, size_t index)
{
    return index < t->groups.norder ? &t->groups.slots[t->groups.order[index]] : NULL;
}

const struct tracker_group *tracker_group_find(const struct tracker *t, const char *name)
{
    int g = groups_find(&t->groups, name);
    return g >= 0 ? &t->groups.slots[g] : NULL;
}

size_t tracker_new_count(const struct tracker *t)
{
    return t->ndecisions;
}

const struct tracker_new_process *tracker_new_at(const struct tracker *t, size_t index)
{
    return index < t->ndecisions ? &t->decisions[index].out : NULL;
}

bool tracker_has_process(const struct tracker *t, int pid, uint64_t starttime_ticks)
{
    const struct entry *e = table_find(&t->procs, pid);
    return e && e->starttime_ticks == starttime_ticks;
}

const struct tracker_exit_stats *tracker_exit_stats(const struct tracker *t)
{
    return &t->exit_stats;
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
