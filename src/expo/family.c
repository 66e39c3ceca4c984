#include "expo/family.h"

#include <string.h>

static size_t series_count(const struct expo_family_def *def)
{
    size_t n = 0;
    while (n < EXPO_MAX_SERIES && def->series[n].kind != 0)
        n++;
    return n;
}

static void write_sample(struct strbuf *out, const char *name, const char *labels,
                         const struct expo_series *s, const struct expo_value *v,
                         const struct expo_clock *clock)
{
    double hz = (double)clock->ticks_per_second;
    switch ((enum expo_unit)s->unit) {
    case EXPO_UNIT_TICKS:
        expo_sample_double(out, name, labels, NULL, (double)v->u64 / hz);
        return;
    case EXPO_UNIT_MICROSECONDS:
        expo_sample_double(out, name, labels, NULL, (double)v->u64 / 1e6);
        return;
    case EXPO_UNIT_NANOSECONDS:
        expo_sample_u64(out, name, labels, NULL, v->u64 / 1000000000ull);
        return;
    case EXPO_UNIT_BOOT_TICKS:
        expo_sample_u64(out, name, labels, NULL,
                        clock->boot_time + v->u64 / clock->ticks_per_second);
        return;
    case EXPO_UNIT_NONE:
        break;
    }
    if (v->is_double)
        expo_sample_double(out, name, labels, NULL, v->f64);
    else
        expo_sample_u64(out, name, labels, NULL, v->u64);
}

/* Samples of rows [first, end) for one series: the run of rows that share the labels before the
 * extra one. */
static void write_run(struct strbuf *out, const struct expo_family_def *def,
                      const struct expo_series *s, const struct expo_rows *rows, size_t split,
                      size_t first, size_t end, const struct expo_clock *clock,
                      struct strbuf *scratch)
{
    for (size_t row = first; row < end; row++) {
        struct expo_value v = {0};
        if (!rows->value(rows->ctx, row, s->kind, s->index, &v))
            continue;
        strbuf_reset(scratch);
        rows->labels(rows->ctx, row, 0, split, scratch);
        if (def->label)
            expo_label(scratch, def->label, s->label_value, strlen(s->label_value));
        rows->labels(rows->ctx, row, split, rows->nlabels, scratch);
        write_sample(out, def->name, scratch->buf ? scratch->buf : "", s, &v, clock);
    }
}

static void write_family(struct strbuf *out, const struct expo_family_def *def,
                         const struct expo_rows *rows, const struct expo_clock *clock,
                         unsigned enabled, struct strbuf *scratch)
{
    /* Where the extra label goes among the rows' own: sorted by name, as client_golang does. */
    size_t split = rows->nlabels;
    if (def->label) {
        split = 0;
        while (split < rows->nlabels && strcmp(rows->label_names[split], def->label) < 0)
            split++;
    }
    size_t nseries = series_count(def);
    expo_family(out, def->name, def->type, def->help);
    /* Runs of rows sharing the labels before the extra one; within a run, series by series. */
    for (size_t first = 0; first < rows->count;) {
        size_t end = first + 1;
        if (split == 0)
            end = rows->count;
        else if (split < rows->nlabels)
            while (end < rows->count && rows->same_prefix(rows->ctx, first, end, split))
                end++;
        for (size_t i = 0; i < nseries; i++)
            if ((def->series[i].needs & enabled) == def->series[i].needs)
                write_run(out, def, &def->series[i], rows, split, first, end, clock, scratch);
        first = end;
    }
}

void expo_write_families(struct strbuf *out, const struct expo_family_def *defs, size_t ndefs,
                         const struct expo_rows *rowsets, const struct expo_clock *clock,
                         unsigned enabled, struct strbuf *scratch)
{
    for (size_t i = 0; i < ndefs; i++)
        if ((defs[i].needs & enabled) == defs[i].needs)
            write_family(out, &defs[i], &rowsets[defs[i].rows], clock, enabled, scratch);
}
