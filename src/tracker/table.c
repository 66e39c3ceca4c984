#include "tracker/table.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static size_t slot_of(const struct table *t, int id)
{
    return ((uint32_t)id * 2654435761u) & (t->cap - 1);
}

void table_init(struct table *t)
{
    t->cap = 1024;
    t->used = 0;
    t->slots = xcalloc(t->cap, sizeof(*t->slots));
}

void table_free(struct table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

struct entry *table_find(const struct table *t, int id)
{
    for (size_t i = slot_of(t, id);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].id == id)
            return &t->slots[i];
        if (t->slots[i].id == 0)
            return NULL;
    }
}

static void resize(struct table *t, size_t cap)
{
    struct entry *old = t->slots;
    size_t old_cap = t->cap;
    t->slots = xcalloc(cap, sizeof(*t->slots));
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id == 0)
            continue;
        size_t j = slot_of(t, old[i].id);
        while (t->slots[j].id != 0)
            j = (j + 1) & (cap - 1);
        t->slots[j] = old[i];
    }
    free(old);
}

struct entry *table_insert(struct table *t, int id)
{
    if ((t->used + 1) * 10 > t->cap * 7) /* linear probing stays short below 70% */
        resize(t, t->cap * 2);
    size_t i = slot_of(t, id);
    while (t->slots[i].id != 0)
        i = (i + 1) & (t->cap - 1);
    struct entry *e = &t->slots[i];
    memset(e, 0, sizeof(*e));
    e->id = id;
    t->used++;
    return e;
}

static void delete_slot(struct table *t, size_t i)
{
    size_t mask = t->cap - 1;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].id != 0; j = (j + 1) & mask) {
        size_t home = slot_of(t, t->slots[j].id);
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

void table_delete(struct table *t, struct entry *e)
{
    delete_slot(t, (size_t)(e - t->slots));
}

void table_sweep(struct table *t, uint32_t since, void (*gone)(void *arg, const struct entry *e),
                 void *arg)
{
    /* A deletion shifts later entries back into slot i, so look at slot i again until it holds
     * a live entry or nothing; entries only ever move to slots at or after the hole. */
    for (size_t i = 0; i < t->cap; i++) {
        while (t->slots[i].id != 0 && t->slots[i].seen < since) {
            if (gone)
                gone(arg, &t->slots[i]);
            delete_slot(t, i);
        }
    }
}
