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
    if (e->kind == ENTRY_TRACKED)
        t->groups.slots[e->group].members--;
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
        if (e && e->starttime_ticks != st.starttime_ticks) {
            /* The pid was reused: the old process is gone, its usage stays in its group. */
            forget(t, e);
            table_delete(&t->procs, e);
            e = NULL;
        }
        if (!e) {
            tracker_see_new(t, src, &st);
        } else if (e->reclassify) {
            e->reclassify = false;
            tracker_reclassify(t, src, e, &st);
        } else if (e->kind == ENTRY_TRACKED) {
            tracker_account(t, src, e, &st, false);
        } else {
            e->seen = t->gen; /* ignored: a stat read is all it costs */
            if (t->options.recheck)
                tracker_recheck(t, src, e, &st);
        }
    }
    tracker_resolve_pending(t, src);
    table_sweep(&t->procs, t->gen, forget, t);
    table_sweep(&t->threads, t->gen, NULL, NULL);
    groups_end_scan(&t->groups, t->options.remove_empty_groups, t->now_ticks,
                    GROUPS_THREAD_NAME_TTL_SECONDS * t->options.ticks_per_second);

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
    t->classifier = *classifier;
    table_init(&t->procs);
    table_init(&t->threads);
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
    free(t->pending);
    free(t->decisions);
    strbuf_free(&t->new_names);
    strbuf_free(&t->name);
    free(t);
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
