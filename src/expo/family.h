/* Metric families as data, and the one writer for all of them.
 *
 * A family set is a table of struct expo_family_def: name, type, help, the extra label (if any)
 * with one series per label value, and for each series which value of a row it shows and in what
 * unit. The rows are what the samples are about (groups, the thread names of a group, VMs, or a
 * single row for process-wide values): a struct expo_rows gives their label values, already in
 * sorted order, and their raw values by (kind, index), the kinds being the row set's own.
 *
 * The writer orders label names and series the way client_golang does, so the output diffs
 * cleanly against process-exporter: labels in name order within a sample, samples sorted by label
 * values in that order. It needs rows sorted by their own labels and series listed in the order
 * of their label values. Knows nothing of processes. */
#ifndef PROCTRACK_EXPO_FAMILY_H
#define PROCTRACK_EXPO_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expo/expo.h"
#include "util/strbuf.h"

/* How a raw value is written. */
enum expo_unit {
    EXPO_UNIT_NONE,         /* as it is: an integer, or a double the row computed */
    EXPO_UNIT_TICKS,        /* clock ticks, written as seconds */
    EXPO_UNIT_MICROSECONDS, /* written as seconds */
    EXPO_UNIT_NANOSECONDS,  /* written as whole seconds */
    EXPO_UNIT_BOOT_TICKS,   /* ticks since boot, written as whole seconds since the epoch */
};

/* One series of a family per row. */
struct expo_series {
    const char *label_value; /* of the family's extra label; NULL when the family has none */
    uint8_t kind;            /* which value of the row (the row set's numbering, from 1) */
    uint8_t index;           /* e.g. a counter or gauge number within that kind */
    uint8_t unit;            /* enum expo_unit */
    uint8_t needs;           /* option bits that must be on for this series (0: always) */
};

#define EXPO_MAX_SERIES 12

struct expo_family_def {
    const char *name;
    enum expo_type type;
    const char *help;
    uint8_t rows;      /* which row set of the writer's (an index into its `rowsets`) */
    uint8_t needs;     /* option bits that must be on for the family (0: always) */
    const char *label; /* the extra label, NULL for none */
    struct expo_series series[EXPO_MAX_SERIES]; /* up to the first with kind 0 */
};

/* A raw value of a row. */
struct expo_value {
    bool is_double;
    uint64_t u64;
    double f64;
};

struct expo_rows {
    void *ctx;
    size_t count;
    const char *const *label_names; /* the rows' own labels, in name order */
    size_t nlabels;
    /* Appends labels [from, to) of `row` to `out` as expo_label() writes them (a comma first when
     * `out` is not empty). */
    void (*labels)(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out);
    /* Whether rows a and b agree on their first `n` label values. Needed only when a family's
     * extra label sorts between the rows' own labels; may be NULL otherwise. */
    bool (*same_prefix)(void *ctx, size_t a, size_t b, size_t n);
    /* Fills `out` with the value (kind, index) of `row`; false leaves the sample out. */
    bool (*value)(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out);
};

/* What unit conversion needs to know. */
struct expo_clock {
    uint64_t ticks_per_second;
    uint64_t boot_time; /* seconds since the epoch */
};

/* Writes the families of `defs` whose `needs` bits are all in `enabled`, in table order. `scratch`
 * is reused for label sets. */
void expo_write_families(struct strbuf *out, const struct expo_family_def *defs, size_t ndefs,
                         const struct expo_rows *rowsets, const struct expo_clock *clock,
                         unsigned enabled, struct strbuf *scratch);

#endif /* PROCTRACK_EXPO_FAMILY_H */
