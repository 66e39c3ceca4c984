#include "tracker/counter.h"

#include <stddef.h>

uint64_t tracker_delta(uint64_t *last, bool *has_last, uint64_t raw, bool from_zero,
                       enum tracker_drop drop)
{
    uint64_t growth = 0;
    if (!*has_last)
        growth = from_zero ? raw : 0;
    else if (raw >= *last)
        growth = raw - *last;
    else if (drop == TRACKER_DROP_RESTART)
        growth = raw;
    *last = raw;
    *has_last = true;
    return growth;
}

static uint64_t saturating_add(uint64_t a, uint64_t b)
{
    uint64_t sum = a + b;
    return sum < b ? UINT64_MAX : sum;
}

void tracker_counters_add(struct tracker_counters *total, const struct tracker_counters *growth)
{
    for (unsigned c = 0; c < TRACKER_COUNTER_COUNT; c++)
        total->v[c] = saturating_add(total->v[c], growth->v[c]);
}

void tracker_counters_advance(struct tracker_baseline *base, const uint64_t *raw, uint32_t present,
                              bool from_zero, struct tracker_counters *const *totals,
                              unsigned ntotals)
{
    for (unsigned c = 0; c < TRACKER_COUNTER_COUNT; c++) {
        if (!(present & TRACKER_BIT(c)))
            continue;
        bool has = base->has & TRACKER_BIT(c);
        uint64_t growth =
            tracker_delta(&base->last[c], &has, raw[c], from_zero, TRACKER_DROP_IGNORE);
        base->has |= TRACKER_BIT(c);
        if (!growth)
            continue;
        for (unsigned t = 0; t < ntotals; t++) {
            if (!totals[t])
                continue;
            /* Saturate rather than wrap: a total never goes back. */
            totals[t]->v[c] = saturating_add(totals[t]->v[c], growth);
        }
    }
}
