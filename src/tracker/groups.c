#include "tracker/groups.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void groups_init(struct groups *gs)
{
    memset(gs, 0, sizeof(*gs));
}

static void group_release(struct tracker_group *g)
{
    free(g->name);
    for (size_t i = 0; i < g->nthreads; i++)
        free(g->threads[i].name);
    free(g->threads);
    free(g->thread_index);
    for (size_t i = 0; i < g->nwchans; i++)
        free(g->wchans[i].name);
    free(g->wchans);
    memset(g, 0, sizeof(*g));
}

void groups_free(struct groups *gs)
{
    for (size_t i = 0; i < gs->nslots; i++)
        if (gs->slots[i].alive)
            group_release(&gs->slots[i]);
    free(gs->slots);
    free(gs->order);
    free(gs->index);
    free(gs->free_slots);
    memset(gs, 0, sizeof(*gs));
}

int groups_find(const struct groups *gs, const char *name)
{
    if (gs->index_cap == 0)
        return -1;
    size_t mask = gs->index_cap - 1;
    for (size_t i = hash_name(name) & mask; gs->index[i] != 0; i = (i + 1) & mask) {
        uint32_t slot = gs->index[i] - 1;
        if (strcmp(gs->slots[slot].name, name) == 0)
            return (int)slot;
    }
    return -1;
}

/* Rebuilds the name index from the live groups, at a size that keeps it at most half full. */
static void reindex(struct groups *gs)
{
    size_t cap = 64;
    while (cap < gs->norder * 2 + 2)
        cap *= 2;
    free(gs->index);
    gs->index = xcalloc(cap, sizeof(*gs->index));
    gs->index_cap = cap;
    for (size_t k = 0; k < gs->norder; k++) {
        uint32_t slot = gs->order[k];
        size_t i = hash_name(gs->slots[slot].name) & (cap - 1);
        while (gs->index[i] != 0)
            i = (i + 1) & (cap - 1);
        gs->index[i] = slot + 1;
    }
}

/* Position of `name` in the name order (where it is, or where it would go). */
static size_t order_pos(const struct groups *gs, const char *name)
{
    size_t lo = 0, hi = gs->norder;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(gs->slots[gs->order[mid]].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t groups_get(struct groups *gs, const char *name)
{
    int found = groups_find(gs, name);
    if (found >= 0)
        return (uint32_t)found;

    uint32_t slot;
    if (gs->nfree) {
        slot = gs->free_slots[--gs->nfree];
    } else {
        gs->slots = xgrow(gs->slots, &gs->slots_cap, gs->nslots + 1, sizeof(*gs->slots));
        slot = (uint32_t)gs->nslots++;
    }
    struct tracker_group *g = &gs->slots[slot];
    memset(g, 0, sizeof(*g));
    g->name = xstrdup(name);
    g->alive = true;

    /* Groups are created rarely and listed every scrape: keep the order up to date here. */
    gs->order = xgrow(gs->order, &gs->order_cap, gs->norder + 1, sizeof(*gs->order));
    size_t pos = order_pos(gs, name);
    memmove(&gs->order[pos + 1], &gs->order[pos], (gs->norder - pos) * sizeof(*gs->order));
    gs->order[pos] = slot;
    gs->norder++;
    reindex(gs);
    return slot;
}

static void remove_group(struct groups *gs, size_t order_index)
{
    uint32_t slot = gs->order[order_index];
    group_release(&gs->slots[slot]);
    memmove(&gs->order[order_index], &gs->order[order_index + 1],
            (gs->norder - order_index - 1) * sizeof(*gs->order));
    gs->norder--;
    gs->free_slots = xgrow(gs->free_slots, &gs->free_cap, gs->nfree + 1, sizeof(*gs->free_slots));
    gs->free_slots[gs->nfree++] = slot;
}

void groups_begin_scan(struct groups *gs)
{
    for (size_t k = 0; k < gs->norder; k++) {
        struct tracker_group *g = &gs->slots[gs->order[k]];
        memset(&g->gauges, 0, sizeof(g->gauges));
        for (size_t i = 0; i < g->nthreads; i++)
            g->threads[i].count = 0;
        for (size_t i = 0; i < g->nwchans; i++)
            g->wchans[i].count = 0;
    }
}

/* ---- thread names: a dense array, a hash index into it, sorted once per scan ---- */

static struct tracker_thread_name *thread_find(const struct tracker_group *g, const char *name,
                                               size_t *slot)
{
    size_t mask = g->thread_index_cap - 1;
    size_t i = hash_name(name) & mask;
    for (; g->thread_index[i] != 0; i = (i + 1) & mask) {
        struct tracker_thread_name *t = &g->threads[g->thread_index[i] - 1];
        if (strcmp(t->name, name) == 0)
            return t;
    }
    *slot = i;
    return NULL;
}

/* Rebuilds the index, at a size that keeps it at most half full with `room` more names. It never
 * shrinks (it is bounded by the cap on names): names that expire are mostly replaced by new ones,
 * and the index need not be reallocated for them. */
static void thread_reindex(struct tracker_group *g, size_t room)
{
    size_t cap = g->thread_index_cap ? g->thread_index_cap : 16;
    while (cap < (g->nthreads + room) * 2)
        cap *= 2;
    if (cap != g->thread_index_cap) {
        free(g->thread_index);
        g->thread_index = xcalloc(cap, sizeof(*g->thread_index));
        g->thread_index_cap = cap;
    } else {
        memset(g->thread_index, 0, cap * sizeof(*g->thread_index));
    }
    g->thread_overflow = false;
    for (size_t k = 0; k < g->nthreads; k++) {
        const char *name = g->threads[k].name;
        size_t i = hash_name(name) & (cap - 1);
        while (g->thread_index[i] != 0)
            i = (i + 1) & (cap - 1);
        g->thread_index[i] = (uint32_t)k + 1;
        if (strcmp(name, TRACKER_THREAD_NAME_OVERFLOW) == 0)
            g->thread_overflow = true;
    }
}

static int compare_thread_names(const void *a, const void *b)
{
    return strcmp(((const struct tracker_thread_name *)a)->name,
                  ((const struct tracker_thread_name *)b)->name);
}

/* Forgets the names absent for longer than the TTL; then, if names came or went, puts the rest
 * in name order (the order of the output) and indexes them again. */
static void age_thread_names(struct tracker_group *g, uint64_t now_ticks, uint64_t ttl_ticks)
{
    size_t kept = 0;
    for (size_t i = 0; i < g->nthreads; i++) {
        struct tracker_thread_name *t = &g->threads[i];
        if (t->count)
            t->last_seen_ticks = now_ticks;
        if (now_ticks - t->last_seen_ticks > ttl_ticks) {
            free(t->name);
            continue;
        }
        g->threads[kept++] = *t;
    }
    if (kept == g->nthreads && !g->threads_unsorted)
        return;
    g->nthreads = kept;
    if (g->threads_unsorted)
        qsort(g->threads, g->nthreads, sizeof(*g->threads), compare_thread_names);
    g->threads_unsorted = false;
    thread_reindex(g, 0);
}

void groups_end_scan(struct groups *gs, bool remove_empty, uint64_t now_ticks, uint64_t ttl_ticks)
{
    bool removed = false;
    for (size_t k = gs->norder; k-- > 0;) {
        struct tracker_group *g = &gs->slots[gs->order[k]];
        age_thread_names(g, now_ticks, ttl_ticks);
        /* A member whose stat was unreadable this scan still holds the slot. */
        if (remove_empty && !g->always && g->gauges.v[TRACKER_PROCS] == 0 && g->members == 0) {
            remove_group(gs, k);
            removed = true;
        }
    }
    if (removed)
        reindex(gs);
}

struct tracker_thread_name *groups_thread_name(struct tracker_group *g, const char *name,
                                               size_t max)
{
    size_t slot;
    if ((g->nthreads + 1) * 2 > g->thread_index_cap)
        thread_reindex(g, 1);
    struct tracker_thread_name *t = thread_find(g, name, &slot);
    if (t)
        return t;
    if (g->nthreads - g->thread_overflow >= max) {
        name = TRACKER_THREAD_NAME_OVERFLOW;
        t = thread_find(g, name, &slot);
        if (t)
            return t;
        g->thread_overflow = true;
    }
    g->threads = xgrow(g->threads, &g->threads_cap, g->nthreads + 1, sizeof(*g->threads));
    t = &g->threads[g->nthreads];
    memset(t, 0, sizeof(*t));
    t->name = xstrdup(name);
    g->thread_index[slot] = (uint32_t)++g->nthreads;
    g->threads_unsorted = true;
    return t;
}

void groups_count_wchan(struct tracker_group *g, const char *wchan)
{
    if (!wchan[0])
        return;
    size_t lo = 0, hi = g->nwchans;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->wchans[mid].name, wchan);
        if (c == 0) {
            g->wchans[mid].count++;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    g->wchans = xgrow(g->wchans, &g->wchans_cap, g->nwchans + 1, sizeof(*g->wchans));
    memmove(&g->wchans[lo + 1], &g->wchans[lo], (g->nwchans - lo) * sizeof(*g->wchans));
    g->wchans[lo].name = xstrdup(wchan);
    g->wchans[lo].count = 1;
    g->nwchans++;
}
