#include "exporter/group_families.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define NS "namedprocess_namegroup_"

/* The row sets. */
enum { ROWS_GROUPS, ROWS_THREADS, ROWS_WCHANS, ROWS_COUNT };

/* What a series shows, for expo_series.kind. */
enum {
    COUNTER = 1,  /* index: enum tracker_counter, of the group or the thread name */
    GAUGE,        /* index: enum tracker_gauge */
    STATE,        /* index: enum tracker_state */
    FD_RATIO,     /* worst_fd_ratio */
    OLDEST_START, /* oldest member's start, absent for a group with none */
    THREAD_COUNT, /* live threads of the name */
    WCHAN_COUNT,  /* threads waiting in the function */
};

/* Option bits for expo_family_def.needs and expo_series.needs. */
enum { NEEDS_THREADS = 1, NEEDS_SMAPS = 2 };

/* Series, by what they show. */
#define COUNT(label, counter)                                                                      \
    {                                                                                              \
        .label_value = label, .kind = COUNTER, .index = counter                                    \
    }
#define SECONDS(label, counter)                                                                    \
    {                                                                                              \
        .label_value = label, .kind = COUNTER, .index = counter, .unit = EXPO_UNIT_MICROSECONDS    \
    }
#define LEVEL(label, gauge)                                                                        \
    {                                                                                              \
        .label_value = label, .kind = GAUGE, .index = gauge                                        \
    }
#define SMAPS(label, gauge)                                                                        \
    {                                                                                              \
        .label_value = label, .kind = GAUGE, .index = gauge, .needs = NEEDS_SMAPS                  \
    }
#define IN_STATE(label, state)                                                                     \
    {                                                                                              \
        .label_value = label, .kind = STATE, .index = state                                        \
    }
#define ONLY(what)                                                                                 \
    {                                                                                              \
        .kind = what                                                                               \
    }

/* In name order, as client_golang writes them. Series in the order of their label values. */
static const struct expo_family_def families[] = {
    {NS "context_switches_total",
     EXPO_COUNTER,
     "Context switches",
     ROWS_GROUPS,
     0,
     "ctxswitchtype",
     {COUNT("nonvoluntary", TRACKER_CTX_NONVOLUNTARY), COUNT("voluntary", TRACKER_CTX_VOLUNTARY)}},
    {NS "cpu_seconds_total",
     EXPO_COUNTER,
     "Cpu user usage in seconds",
     ROWS_GROUPS,
     0,
     "mode",
     {SECONDS("system", TRACKER_CPU_SYSTEM), SECONDS("user", TRACKER_CPU_USER)}},
    {NS "major_page_faults_total",
     EXPO_COUNTER,
     "Major page faults",
     ROWS_GROUPS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_MAJOR_FAULTS)}},
    {NS "memory_bytes",
     EXPO_GAUGE,
     "number of bytes of memory in use",
     ROWS_GROUPS,
     0,
     "memtype",
     {SMAPS("proportionalResident", TRACKER_PSS_BYTES),
      SMAPS("proportionalSwapped", TRACKER_SWAP_PSS_BYTES),
      LEVEL("resident", TRACKER_RESIDENT_BYTES), LEVEL("swapped", TRACKER_SWAPPED_BYTES),
      LEVEL("virtual", TRACKER_VIRTUAL_BYTES)}},
    {NS "minor_page_faults_total",
     EXPO_COUNTER,
     "Minor page faults",
     ROWS_GROUPS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_MINOR_FAULTS)}},
    {NS "num_procs",
     EXPO_GAUGE,
     "number of processes in this group",
     ROWS_GROUPS,
     0,
     NULL,
     {LEVEL(NULL, TRACKER_PROCS)}},
    {NS "num_threads",
     EXPO_GAUGE,
     "Number of threads",
     ROWS_GROUPS,
     0,
     NULL,
     {LEVEL(NULL, TRACKER_THREADS)}},
    /* Left out for a group with no live member, where process-exporter writes the Go zero time
     * (-62135596800), which breaks every "time() - oldest_start" expression. */
    {NS "oldest_start_time_seconds",
     EXPO_GAUGE,
     "start time in seconds since 1970/01/01 of oldest process in group",
     ROWS_GROUPS,
     0,
     NULL,
     {{.kind = OLDEST_START, .unit = EXPO_UNIT_BOOT_TICKS}}},
    {NS "open_filedesc",
     EXPO_GAUGE,
     "number of open file descriptors for this group",
     ROWS_GROUPS,
     0,
     NULL,
     {LEVEL(NULL, TRACKER_OPEN_FDS)}},
    {NS "read_bytes_total",
     EXPO_COUNTER,
     "number of bytes read by this group",
     ROWS_GROUPS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_READ_BYTES)}},
    {NS "states",
     EXPO_GAUGE,
     "Number of processes in states Running, Sleeping, Waiting, Zombie, or Other",
     ROWS_GROUPS,
     0,
     "state",
     {IN_STATE("Other", TRACKER_STATE_OTHER), IN_STATE("Running", TRACKER_STATE_RUNNING),
      IN_STATE("Sleeping", TRACKER_STATE_SLEEPING), IN_STATE("Waiting", TRACKER_STATE_WAITING),
      IN_STATE("Zombie", TRACKER_STATE_ZOMBIE)}},
    {NS "thread_context_switches_total",
     EXPO_COUNTER,
     "Context switches for these threads",
     ROWS_THREADS,
     NEEDS_THREADS,
     "ctxswitchtype",
     {COUNT("nonvoluntary", TRACKER_CTX_NONVOLUNTARY), COUNT("voluntary", TRACKER_CTX_VOLUNTARY)}},
    {NS "thread_count",
     EXPO_GAUGE,
     "Number of threads in this group with same threadname",
     ROWS_THREADS,
     NEEDS_THREADS,
     NULL,
     {ONLY(THREAD_COUNT)}},
    {NS "thread_cpu_seconds_total",
     EXPO_COUNTER,
     "Cpu user/system usage in seconds",
     ROWS_THREADS,
     NEEDS_THREADS,
     "mode",
     {SECONDS("system", TRACKER_CPU_SYSTEM), SECONDS("user", TRACKER_CPU_USER)}},
    {NS "thread_io_bytes_total",
     EXPO_COUNTER,
     "number of bytes read/written by these threads",
     ROWS_THREADS,
     NEEDS_THREADS,
     "iomode",
     {COUNT("read", TRACKER_READ_BYTES), COUNT("write", TRACKER_WRITE_BYTES)}},
    {NS "thread_major_page_faults_total",
     EXPO_COUNTER,
     "Major page faults for these threads",
     ROWS_THREADS,
     NEEDS_THREADS,
     NULL,
     {COUNT(NULL, TRACKER_MAJOR_FAULTS)}},
    {NS "thread_minor_page_faults_total",
     EXPO_COUNTER,
     "Minor page faults for these threads",
     ROWS_THREADS,
     NEEDS_THREADS,
     NULL,
     {COUNT(NULL, TRACKER_MINOR_FAULTS)}},
    /* Not a thread_* family: process-exporter writes it with -threads=false too. */
    {NS "threads_wchan",
     EXPO_GAUGE,
     "Number of threads in this group waiting on each wchan",
     ROWS_WCHANS,
     0,
     NULL,
     {ONLY(WCHAN_COUNT)}},
    {NS "worst_fd_ratio",
     EXPO_GAUGE,
     "the worst (closest to 1) ratio between open fds and max fds among all procs in this group",
     ROWS_GROUPS,
     0,
     NULL,
     {ONLY(FD_RATIO)}},
    {NS "write_bytes_total",
     EXPO_COUNTER,
     "number of bytes written by this group",
     ROWS_GROUPS,
     0,
     NULL,
     {COUNT(NULL, TRACKER_WRITE_BYTES)}},
};

/* A thread name or wchan of a group: rows of the second and third sets. */
struct member {
    uint32_t group;
    uint32_t index;
};

struct group_families {
    const struct tracker *tracker;
    struct strbuf labels; /* `groupname="..."` of each group, escaped once per scrape */
    size_t *label_at;     /* where each group's labels start in `labels` */
    size_t label_at_cap;
    struct member *threads, *wchans; /* live thread names and wchans, in output order */
    size_t nthreads, nwchans, threads_cap, wchans_cap;
    struct strbuf scratch;
};

struct group_families *group_families_new(void)
{
    return xcalloc(1, sizeof(struct group_families));
}

void group_families_free(struct group_families *gf)
{
    if (!gf)
        return;
    strbuf_free(&gf->labels);
    strbuf_free(&gf->scratch);
    free(gf->label_at);
    free(gf->threads);
    free(gf->wchans);
    free(gf);
}

static const struct tracker_group *group(const struct group_families *gf, size_t i)
{
    return tracker_group_at(gf->tracker, i);
}

static void put_groupname(const struct group_families *gf, size_t gi, struct strbuf *out)
{
    if (out->len)
        strbuf_putc(out, ',');
    strbuf_puts(out, gf->labels.buf + gf->label_at[gi]);
}

/* ---- one row per group ---- */

static const char *const group_label_names[] = {"groupname"};

static void group_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    if (from == 0 && to == 1)
        put_groupname(ctx, row, out);
}

static bool group_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    const struct tracker_group *g = group(ctx, row);
    switch (kind) {
    case COUNTER:
        out->u64 = g->counters.v[index];
        return true;
    case GAUGE:
        out->u64 = g->gauges.v[index];
        return true;
    case STATE:
        out->u64 = g->gauges.states[index];
        return true;
    case FD_RATIO:
        out->is_double = true;
        out->f64 = g->gauges.worst_fd_ratio;
        return true;
    case OLDEST_START:
        out->u64 = g->gauges.oldest_start_ticks;
        return g->gauges.has_oldest;
    default:
        return false;
    }
}

/* ---- one row per group and live thread name, or wchan ---- */

static const char *const thread_label_names[] = {"groupname", "threadname"};
static const char *const wchan_label_names[] = {"groupname", "wchan"};

static void member_labels(const struct group_families *gf, const struct member *m,
                          const char *label, const char *value, size_t from, size_t to,
                          struct strbuf *out)
{
    if (from == 0 && to > 0)
        put_groupname(gf, m->group, out);
    if (to == 2 && from <= 1)
        expo_label(out, label, value, strlen(value));
}

static void thread_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct group_families *gf = ctx;
    const struct member *m = &gf->threads[row];
    member_labels(gf, m, "threadname", group(gf, m->group)->threads[m->index].name, from, to, out);
}

static void wchan_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct group_families *gf = ctx;
    const struct member *m = &gf->wchans[row];
    member_labels(gf, m, "wchan", group(gf, m->group)->wchans[m->index].name, from, to, out);
}

static bool thread_same_group(void *ctx, size_t a, size_t b, size_t n)
{
    const struct group_families *gf = ctx;
    return n == 1 && gf->threads[a].group == gf->threads[b].group;
}

static bool thread_value(void *ctx, size_t row, unsigned kind, unsigned index,
                         struct expo_value *out)
{
    const struct group_families *gf = ctx;
    const struct member *m = &gf->threads[row];
    const struct tracker_thread_name *tn = &group(gf, m->group)->threads[m->index];
    if (kind == THREAD_COUNT)
        out->u64 = tn->count;
    else if (kind == COUNTER)
        out->u64 = tn->counters.v[index];
    else
        return false;
    return true;
}

static bool wchan_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    (void)index;
    const struct group_families *gf = ctx;
    const struct member *m = &gf->wchans[row];
    out->u64 = group(gf, m->group)->wchans[m->index].count;
    return kind == WCHAN_COUNT;
}

/* Escapes every group name once per scrape (each is used by some twenty samples), and lists the
 * live thread names (with -threads) and wchans: those not reported now (count 0) are left out. */
static void build_rows(struct group_families *gf, bool threads)
{
    size_t n = tracker_group_count(gf->tracker);
    strbuf_reset(&gf->labels);
    gf->label_at = xgrow(gf->label_at, &gf->label_at_cap, n + 1, sizeof(size_t));
    gf->nthreads = gf->nwchans = 0;
    for (size_t gi = 0; gi < n; gi++) {
        const struct tracker_group *g = group(gf, gi);
        strbuf_reset(&gf->scratch);
        expo_label(&gf->scratch, "groupname", g->name, strlen(g->name));
        gf->label_at[gi] = gf->labels.len;
        strbuf_append(&gf->labels, gf->scratch.buf, gf->scratch.len + 1); /* with its NUL */
        for (size_t i = 0; threads && i < g->nthreads; i++) {
            if (g->threads[i].count == 0)
                continue;
            gf->threads =
                xgrow(gf->threads, &gf->threads_cap, gf->nthreads + 1, sizeof(*gf->threads));
            gf->threads[gf->nthreads++] = (struct member){(uint32_t)gi, (uint32_t)i};
        }
        for (size_t i = 0; i < g->nwchans; i++) {
            if (g->wchans[i].count == 0)
                continue;
            gf->wchans = xgrow(gf->wchans, &gf->wchans_cap, gf->nwchans + 1, sizeof(*gf->wchans));
            gf->wchans[gf->nwchans++] = (struct member){(uint32_t)gi, (uint32_t)i};
        }
    }
}

void group_families_write(struct group_families *gf, struct strbuf *out,
                          const struct tracker *tracker, const struct expo_clock *clock,
                          bool threads, bool smaps)
{
    gf->tracker = tracker;
    build_rows(gf, threads);
    const struct expo_rows rowsets[ROWS_COUNT] = {
        [ROWS_GROUPS] = {gf, tracker_group_count(tracker), group_label_names, 1, group_labels, NULL,
                         group_value},
        [ROWS_THREADS] = {gf, gf->nthreads, thread_label_names, 2, thread_labels, thread_same_group,
                          thread_value},
        [ROWS_WCHANS] = {gf, gf->nwchans, wchan_label_names, 2, wchan_labels, NULL, wchan_value},
    };
    unsigned enabled = (threads ? NEEDS_THREADS : 0) | (smaps ? NEEDS_SMAPS : 0);
    expo_write_families(out, families, sizeof(families) / sizeof(families[0]), rowsets, clock,
                        enabled, &gf->scratch);
}
