#include "exporter/exporter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expo/expo.h"
#include "exporter/explain.h"
#include "exporter/pve_families.h"
#include "proc/proc_reader.h"
#include "tracker/tracker.h"
#include "util/xalloc.h"

#define NS "namedprocess_namegroup_"
#define GOFF(field) offsetof(struct tracker_group, field)

struct exporter {
    struct explain *explain; /* -explain: the processes of the first scan */
    pthread_mutex_t lock;    /* guards the fields up to `published` */
    pthread_cond_t scan_done;
    bool scanning;
    uint64_t scans_done;
    size_t groups_now, tracked_now;
    bool reload_ok;             /* the last config reload (or the first load) succeeded */
    double reload_success_time; /* Unix time of the last successful load */
    struct strbuf published;    /* the last exposition, shared by concurrent scrapes */
    struct strbuf body;         /* where the running scan writes */
    uint64_t scans;             /* for proctrack_scans_total, written by the scanning thread */

    struct exporter_options options;
    struct rules *rules;
    struct pve *pve; /* when the rules use `builtin: pve-qemu` */
    struct proc_reader *reader;
    struct tracker *tracker;
    struct tracker_source source;
    uint64_t ticks_per_second;
    uint64_t btime;
    int last_scan_rc;
    double last_scan_seconds;
    unsigned long long regex_errors;      /* proctrack_regex_limit_errors_total */
    unsigned long long regex_errors_seen; /* the count of the current rules already taken */

    /* Scratch for one exposition, reused across scrapes. */
    struct strbuf labels;  /* `groupname="..."` of each group, NUL-separated */
    size_t *label_offsets; /* where each group's labels start in `labels` */
    size_t label_offsets_cap;
    struct strbuf series; /* one sample's full label set */
};

/* ---- the /proc reader as the tracker's source ---- */

static int src_list(void *ctx)
{
    return proc_reader_list(ctx);
}

static int src_next(void *ctx, struct proc_stat *stat)
{
    return proc_reader_next(ctx, stat);
}

static int src_identity(void *ctx, const struct proc_stat *stat, unsigned needs,
                        struct proc_identity *id, unsigned *failed)
{
    return proc_reader_identity(ctx, stat, needs, id, failed);
}

static int src_metrics(void *ctx, int pid, unsigned wants, struct proc_metrics *m)
{
    return proc_reader_metrics(ctx, pid, wants, m);
}

static int src_tasks(void *ctx, int pid, const int **tids, size_t *ntids)
{
    return proc_reader_tasks(ctx, pid, tids, ntids);
}

static int src_thread(void *ctx, int pid, int tid, unsigned wants, struct proc_thread *thread,
                      unsigned *failed)
{
    return proc_reader_thread(ctx, pid, tid, wants, thread, failed);
}

static int src_schedstat(void *ctx, int pid, int tid, struct proc_schedstat *out)
{
    return proc_reader_schedstat(ctx, pid, tid, out);
}

static uint64_t src_now_ticks(void *ctx)
{
    /* stat's starttime counts from boot on CLOCK_BOOTTIME, suspended time included. */
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    uint64_t hz = proc_reader_ticks_per_second(ctx);
    return (uint64_t)ts.tv_sec * hz + (uint64_t)ts.tv_nsec / (1000000000ull / hz);
}

static int classify(void *ctx, const struct proc_identity *id, struct strbuf *groupname)
{
    struct exporter *e = ctx;
    return rules_match(e->rules, id, groupname);
}

void exporter_write_explain(struct exporter *e, FILE *out)
{
    explain_write(e->explain, e->rules, e->reader, out);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts and reports the cmdline regexes of this scan that gave up at a PCRE2 limit. */
static void note_regex_errors(struct exporter *e)
{
    const struct rules_match_errors *me = rules_match_errors(e->rules);
    if (me->count <= e->regex_errors_seen)
        return;
    unsigned long long n = me->count - e->regex_errors_seen;
    e->regex_errors += n;
    e->regex_errors_seen = me->count;
    char reason[128];
    rules_error_message(me->last_code, reason, sizeof(reason));
    fprintf(stderr,
            "proctrack: warning: %llu cmdline regex match%s gave up (%s), the last in %s; "
            "the process%s counted as not matching\n",
            n, n == 1 ? "" : "es", reason, rules_describe(e->rules, me->last_rule),
            n == 1 ? " is" : "es are");
}

/* Whether the process was decided by the `builtin: pve-qemu` rule. */
static bool is_pve_decision(const struct exporter *e, const struct tracker_new_process *p)
{
    const char *builtin = p->rule >= 0 ? rules_builtin_of(e->rules, (size_t)p->rule) : NULL;
    return builtin && strcmp(builtin, "pve-qemu") == 0;
}

/* Hands the decisions of the scan to the PVE collector, -explain and -debug. */
static void note_new_processes(struct exporter *e)
{
    if (!e->pve && !e->options.explain && !e->options.debug)
        return;
    size_t n = tracker_new_count(e->tracker);
    for (size_t i = 0; i < n; i++) {
        const struct tracker_new_process *p = tracker_new_at(e->tracker, i);
        if (e->pve && is_pve_decision(e, p))
            pve_note_new(e->pve, p);
        if (e->options.explain)
            explain_record(e->explain, p->pid, p->comm, p->group, p->rule, p->adopted_from);
        else if (e->options.debug)
            explain_log(stderr, e->rules, p->pid, p->comm, p->group, p->rule, p->adopted_from);
    }
}

static void scan(struct exporter *e)
{
    double start = now_seconds();
    e->last_scan_rc = tracker_scan(e->tracker, &e->source);
    note_new_processes(e);
    if (e->pve)
        pve_refresh(e->pve, e->tracker);
    note_regex_errors(e);
    e->last_scan_seconds = now_seconds() - start;
}

/* Hands `rules` the PVE matcher when they use it; creates or drops the PVE state to match. */
static void attach_pve(struct exporter *e, struct rules *rules)
{
    if (!rules_uses_builtin(rules, "pve-qemu")) {
        pve_free(e->pve);
        e->pve = NULL;
        return;
    }
    if (!e->pve) {
        struct pve_options popts = {
            .reader = e->reader,
            .config_dir = e->options.pve_config_dir,
            .sysfs = e->options.sysfs,
            .cgroupfs = e->options.cgroupfs,
        };
        e->pve = pve_new(&popts);
    }
    rules_set_builtin(rules, "pve-qemu", pve_match, e->pve);
}

struct exporter *exporter_new(const struct exporter_options *options, struct rules *rules,
                              char *err, size_t errlen)
{
    struct proc_reader *reader = proc_reader_new(options->procfs, err, errlen);
    if (!reader) {
        rules_free(rules);
        return NULL;
    }
    struct exporter *e = xcalloc(1, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->scan_done, NULL);
    e->options = *options;
    e->rules = rules;
    e->reader = reader;
    e->reload_ok = true;
    e->reload_success_time = wall_seconds();
    if (options->explain)
        e->explain = explain_new();
    e->ticks_per_second = proc_reader_ticks_per_second(reader);
    e->btime = proc_reader_btime(reader);
    e->source = (struct tracker_source){
        .ctx = reader,
        .list = src_list,
        .next = src_next,
        .identity = src_identity,
        .metrics = src_metrics,
        .tasks = src_tasks,
        .thread = src_thread,
        .schedstat = src_schedstat,
        .now_ticks = src_now_ticks,
    };
    struct tracker_options topts = {
        .page_size = proc_reader_page_size(reader),
        .ticks_per_second = proc_reader_ticks_per_second(reader),
        .children = options->children,
        .threads = options->threads,
        .smaps = options->smaps,
        .wchan = options->threads, /* threads_wchan is a per-thread family */
        .recheck = options->recheck,
        .recheck_limit_ticks =
            options->recheck_limit_ns / (1000000000ull / proc_reader_ticks_per_second(reader)),
        .remove_empty_groups = options->remove_empty_groups,
        .refresh_ticks = 60 * proc_reader_ticks_per_second(reader),
    };
    attach_pve(e, rules);
    struct tracker_classifier classifier = {
        .ctx = e,
        .needs = rules_needs(rules),
        .classify = classify,
    };
    e->tracker = tracker_new(&topts, &classifier);
    scan(e);
    e->scans = 1;
    e->groups_now = tracker_group_count(e->tracker);
    e->tracked_now = tracker_tracked_count(e->tracker);
    return e;
}

void exporter_free(struct exporter *e)
{
    if (!e)
        return;
    tracker_free(e->tracker);
    proc_reader_free(e->reader);
    rules_free(e->rules);
    pve_free(e->pve);
    explain_free(e->explain);
    strbuf_free(&e->labels);
    strbuf_free(&e->series);
    free(e->label_offsets);
    strbuf_free(&e->body);
    strbuf_free(&e->published);
    pthread_cond_destroy(&e->scan_done);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- exposition ---- */

static const char *group_labels(const struct exporter *e, size_t i)
{
    return e->labels.buf + e->label_offsets[i];
}

/* Escapes every group name once per scrape; each is used by some twenty samples. */
static void build_group_labels(struct exporter *e)
{
    size_t n = tracker_group_count(e->tracker);
    strbuf_reset(&e->labels);
    e->label_offsets = xgrow(e->label_offsets, &e->label_offsets_cap, n + 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        const char *name = tracker_group_at(e->tracker, i)->name;
        strbuf_reset(&e->series);
        expo_label(&e->series, "groupname", name, strlen(name));
        e->label_offsets[i] = e->labels.len;
        strbuf_append(&e->labels, e->series.buf, e->series.len + 1); /* with its NUL */
    }
}

static uint64_t group_field(const struct tracker_group *g, size_t offset)
{
    return *(const uint64_t *)((const char *)g + offset);
}

/* A family with groupname as its only label; `offset` locates a uint64_t in the group. */
static void family_u64(struct exporter *e, struct strbuf *out, const char *name,
                       enum expo_type type, const char *help, size_t offset)
{
    size_t n = tracker_group_count(e->tracker);
    expo_family(out, name, type, help);
    for (size_t i = 0; i < n; i++)
        expo_sample_u64(out, name, group_labels(e, i), NULL,
                        group_field(tracker_group_at(e->tracker, i), offset));
}

/* A family with one more label besides groupname. Labels are written in name order and series
 * sorted the way client_golang sorts them, so output diffs cleanly against process-exporter. */
struct extra_label {
    const char *value;
    size_t offset; /* of a uint64_t in struct tracker_group */
    bool ticks;    /* a tick count, written as seconds */
};

static void family_extra(struct exporter *e, struct strbuf *out, const char *name,
                         enum expo_type type, const char *help, const char *label,
                         const struct extra_label *values, size_t nvalues)
{
    size_t n = tracker_group_count(e->tracker);
    bool label_first = strcmp(label, "groupname") < 0;
    expo_family(out, name, type, help);
    for (size_t outer = 0; outer < (label_first ? nvalues : n); outer++) {
        for (size_t inner = 0; inner < (label_first ? n : nvalues); inner++) {
            size_t gi = label_first ? inner : outer;
            const struct extra_label *v = &values[label_first ? outer : inner];
            const struct tracker_group *g = tracker_group_at(e->tracker, gi);
            uint64_t raw = group_field(g, v->offset);
            strbuf_reset(&e->series);
            if (label_first) {
                expo_label(&e->series, label, v->value, strlen(v->value));
                strbuf_putc(&e->series, ',');
                strbuf_puts(&e->series, group_labels(e, gi));
            } else {
                strbuf_puts(&e->series, group_labels(e, gi));
                expo_label(&e->series, label, v->value, strlen(v->value));
            }
            if (v->ticks)
                expo_sample_double(out, name, e->series.buf, NULL,
                                   (double)raw / (double)e->ticks_per_second);
            else
                expo_sample_u64(out, name, e->series.buf, NULL, raw);
        }
    }
}

/* ---- per-thread-name families ---- */

#define TOFF(field) offsetof(struct tracker_counters, field)
#define THREAD_COUNT SIZE_MAX

/* One sample per group and live thread name (and per value of one more label, if any), in
 * client_golang's order: by label names, then values. */
static void family_threads(struct exporter *e, struct strbuf *out, const char *name,
                           enum expo_type type, const char *help, const char *label,
                           const struct extra_label *values, size_t nvalues)
{
    size_t n = tracker_group_count(e->tracker);
    bool label_first = label && strcmp(label, "groupname") < 0;
    size_t nouter = label_first ? nvalues : 1;
    expo_family(out, name, type, help);
    for (size_t o = 0; o < nouter; o++) {
        for (size_t gi = 0; gi < n; gi++) {
            const struct tracker_group *g = tracker_group_at(e->tracker, gi);
            for (size_t v = label_first ? o : 0; v < (label_first ? o + 1 : nvalues); v++) {
                for (size_t ti = 0; ti < g->nthreads; ti++) {
                    const struct tracker_thread_name *tn = &g->threads[ti];
                    if (tn->count == 0)
                        continue;
                    strbuf_reset(&e->series);
                    if (label_first) {
                        expo_label(&e->series, label, values[v].value, strlen(values[v].value));
                        strbuf_putc(&e->series, ',');
                    }
                    strbuf_puts(&e->series, group_labels(e, gi));
                    if (label && !label_first)
                        expo_label(&e->series, label, values[v].value, strlen(values[v].value));
                    expo_label(&e->series, "threadname", tn->name, strlen(tn->name));
                    uint64_t raw =
                        values[v].offset == THREAD_COUNT
                            ? tn->count
                            : *(const uint64_t *)((const char *)&tn->counters + values[v].offset);
                    if (values[v].ticks)
                        expo_sample_double(out, name, e->series.buf, NULL,
                                           (double)raw / (double)e->ticks_per_second);
                    else
                        expo_sample_u64(out, name, e->series.buf, NULL, raw);
                }
            }
        }
    }
}

static void write_thread_families(struct exporter *e, struct strbuf *out)
{
    static const struct extra_label ctx[] = {
        {"nonvoluntary", TOFF(ctx_nonvoluntary), false},
        {"voluntary", TOFF(ctx_voluntary), false},
    };
    family_threads(e, out, NS "thread_context_switches_total", EXPO_COUNTER,
                   "Context switches for these threads", "ctxswitchtype", ctx, 2);
    static const struct extra_label count[] = {{NULL, THREAD_COUNT, false}};
    family_threads(e, out, NS "thread_count", EXPO_GAUGE,
                   "Number of threads in this group with same threadname", NULL, count, 1);
    static const struct extra_label cpu[] = {
        {"system", TOFF(cpu_system_ticks), true},
        {"user", TOFF(cpu_user_ticks), true},
    };
    family_threads(e, out, NS "thread_cpu_seconds_total", EXPO_COUNTER,
                   "Cpu user/system usage in seconds", "mode", cpu, 2);
    static const struct extra_label io[] = {
        {"read", TOFF(read_bytes), false},
        {"write", TOFF(write_bytes), false},
    };
    family_threads(e, out, NS "thread_io_bytes_total", EXPO_COUNTER,
                   "number of bytes read/written by these threads", "iomode", io, 2);
    static const struct extra_label majflt[] = {{NULL, TOFF(major_faults), false}};
    family_threads(e, out, NS "thread_major_page_faults_total", EXPO_COUNTER,
                   "Major page faults for these threads", NULL, majflt, 1);
    static const struct extra_label minflt[] = {{NULL, TOFF(minor_faults), false}};
    family_threads(e, out, NS "thread_minor_page_faults_total", EXPO_COUNTER,
                   "Minor page faults for these threads", NULL, minflt, 1);
}

static void write_wchan(struct exporter *e, struct strbuf *out)
{
    size_t n = tracker_group_count(e->tracker);
    expo_family(out, NS "threads_wchan", EXPO_GAUGE,
                "Number of threads in this group waiting on each wchan");
    for (size_t gi = 0; gi < n; gi++) {
        const struct tracker_group *g = tracker_group_at(e->tracker, gi);
        for (size_t w = 0; w < g->nwchans; w++) {
            if (g->wchans[w].count == 0)
                continue;
            strbuf_reset(&e->series);
            strbuf_puts(&e->series, group_labels(e, gi));
            expo_label(&e->series, "wchan", g->wchans[w].name, strlen(g->wchans[w].name));
            expo_sample_u64(out, NS "threads_wchan", e->series.buf, NULL, g->wchans[w].count);
        }
    }
}

static void write_groups(struct exporter *e, struct strbuf *out)
{
    size_t n = tracker_group_count(e->tracker);
    build_group_labels(e);

    static const struct extra_label ctx[] = {
        {"nonvoluntary", GOFF(counters.ctx_nonvoluntary), false},
        {"voluntary", GOFF(counters.ctx_voluntary), false},
    };
    family_extra(e, out, NS "context_switches_total", EXPO_COUNTER, "Context switches",
                 "ctxswitchtype", ctx, 2);
    static const struct extra_label cpu[] = {
        {"system", GOFF(counters.cpu_system_ticks), true},
        {"user", GOFF(counters.cpu_user_ticks), true},
    };
    family_extra(e, out, NS "cpu_seconds_total", EXPO_COUNTER, "Cpu user usage in seconds", "mode",
                 cpu, 2);
    family_u64(e, out, NS "major_page_faults_total", EXPO_COUNTER, "Major page faults",
               GOFF(counters.major_faults));
    static const struct extra_label mem[] = {
        {"proportionalResident", GOFF(gauges.proportional_resident_bytes), false},
        {"proportionalSwapped", GOFF(gauges.proportional_swapped_bytes), false},
        {"resident", GOFF(gauges.resident_bytes), false},
        {"swapped", GOFF(gauges.swapped_bytes), false},
        {"virtual", GOFF(gauges.virtual_bytes), false},
    };
    /* The proportional types come first in name order; without smaps they are left out. */
    size_t skip = e->options.smaps ? 0 : 2;
    family_extra(e, out, NS "memory_bytes", EXPO_GAUGE, "number of bytes of memory in use",
                 "memtype", mem + skip, 5 - skip);
    family_u64(e, out, NS "minor_page_faults_total", EXPO_COUNTER, "Minor page faults",
               GOFF(counters.minor_faults));
    family_u64(e, out, NS "num_procs", EXPO_GAUGE, "number of processes in this group",
               GOFF(gauges.procs));
    family_u64(e, out, NS "num_threads", EXPO_GAUGE, "Number of threads", GOFF(gauges.threads));

    /* Left out for a group with no live member, where process-exporter writes the Go zero time
     * (-62135596800), which breaks every "time() - oldest_start" expression. */
    expo_family(out, NS "oldest_start_time_seconds", EXPO_GAUGE,
                "start time in seconds since 1970/01/01 of oldest process in group");
    for (size_t i = 0; i < n; i++) {
        const struct tracker_group *g = tracker_group_at(e->tracker, i);
        if (g->gauges.has_oldest)
            expo_sample_u64(out, NS "oldest_start_time_seconds", group_labels(e, i), NULL,
                            e->btime + g->gauges.oldest_start_ticks / e->ticks_per_second);
    }
    family_u64(e, out, NS "open_filedesc", EXPO_GAUGE,
               "number of open file descriptors for this group", GOFF(gauges.open_fds));
    family_u64(e, out, NS "read_bytes_total", EXPO_COUNTER, "number of bytes read by this group",
               GOFF(counters.read_bytes));
    static const struct extra_label states[] = {
        {"Other", GOFF(gauges.states[TRACKER_STATE_OTHER]), false},
        {"Running", GOFF(gauges.states[TRACKER_STATE_RUNNING]), false},
        {"Sleeping", GOFF(gauges.states[TRACKER_STATE_SLEEPING]), false},
        {"Waiting", GOFF(gauges.states[TRACKER_STATE_WAITING]), false},
        {"Zombie", GOFF(gauges.states[TRACKER_STATE_ZOMBIE]), false},
    };
    family_extra(e, out, NS "states", EXPO_GAUGE,
                 "Number of processes in states Running, Sleeping, Waiting, Zombie, or Other",
                 "state", states, 5);
    if (e->options.threads) {
        write_thread_families(e, out);
        write_wchan(e, out);
    }
    expo_family(out, NS "worst_fd_ratio", EXPO_GAUGE,
                "the worst (closest to 1) ratio between open fds and max fds among all procs in "
                "this group");
    for (size_t i = 0; i < n; i++)
        expo_sample_double(out, NS "worst_fd_ratio", group_labels(e, i), NULL,
                           tracker_group_at(e->tracker, i)->gauges.worst_fd_ratio);
    family_u64(e, out, NS "write_bytes_total", EXPO_COUNTER,
               "number of bytes written by this group", GOFF(counters.write_bytes));
}

static void write_errors(struct exporter *e, struct strbuf *out)
{
    const struct tracker_errors *err = tracker_errors(e->tracker);

    expo_family(out, "namedprocess_scrape_errors_total", EXPO_COUNTER,
                "general scrape errors: no proc metrics collected during a cycle");
    expo_sample_u64(out, "namedprocess_scrape_errors_total", NULL, NULL, err->scan);

    expo_family(out, "namedprocess_scrape_partial_errors_total", EXPO_COUNTER,
                "incremented each time a tracked proc's metrics collection fails partially, "
                "e.g. unreadable I/O stats, by file");
    /* In label-value order; an unreadable stat is a procread error, not a partial one. */
    static const enum proc_file files[] = {
        PROC_FILE_CGROUP, PROC_FILE_CMDLINE, PROC_FILE_EXE,    PROC_FILE_FD,   PROC_FILE_IO,
        PROC_FILE_LIMITS, PROC_FILE_SMAPS,   PROC_FILE_STATUS, PROC_FILE_TASK, PROC_FILE_WCHAN,
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        strbuf_reset(&e->series);
        const char *file = proc_file_name(files[i]);
        expo_label(&e->series, "file", file, strlen(file));
        expo_sample_u64(out, "namedprocess_scrape_partial_errors_total", e->series.buf, NULL,
                        err->partial[files[i]]);
    }
    expo_family(out, "namedprocess_scrape_procread_errors_total", EXPO_COUNTER,
                "incremented each time a proc's metrics collection fails");
    expo_sample_u64(out, "namedprocess_scrape_procread_errors_total", NULL, NULL, err->procread);
}

static void write_self(struct exporter *e, struct strbuf *out)
{
    pthread_mutex_lock(&e->lock);
    bool reload_ok = e->reload_ok;
    double reload_time = e->reload_success_time;
    pthread_mutex_unlock(&e->lock);

    expo_family(out, "proctrack_build_info", EXPO_GAUGE,
                "A metric with a constant '1' value labeled by the version of proctrack");
    expo_sample_u64(out, "proctrack_build_info", "version=\"" PROCTRACK_VERSION "\"", NULL, 1);

    expo_family(out, "proctrack_groups", EXPO_GAUGE, "Number of groups reported");
    expo_sample_u64(out, "proctrack_groups", NULL, NULL, tracker_group_count(e->tracker));

    expo_family(out, "proctrack_processes", EXPO_GAUGE,
                "Live processes known to the tracker: in a group, or ignored (matched no rule)");
    expo_sample_u64(out, "proctrack_processes", "state=\"ignored\"", NULL,
                    tracker_ignored_count(e->tracker));
    expo_sample_u64(out, "proctrack_processes", "state=\"tracked\"", NULL,
                    tracker_tracked_count(e->tracker));

    expo_family(out, "proctrack_scans_total", EXPO_COUNTER,
                "Scans of /proc; fewer than scrapes when concurrent scrapes shared a scan");
    expo_sample_u64(out, "proctrack_scans_total", NULL, NULL, e->scans);

    expo_family(out, "proctrack_scrape_duration_seconds", EXPO_GAUGE,
                "Seconds the /proc scan of this scrape took");
    expo_sample_double(out, "proctrack_scrape_duration_seconds", NULL, NULL, e->last_scan_seconds);

    /* As Prometheus and Alertmanager name theirs, so that one alert serves all three. */
    expo_family(out, "proctrack_config_last_reload_successful", EXPO_GAUGE,
                "Whether the last configuration reload attempt was successful");
    expo_sample_u64(out, "proctrack_config_last_reload_successful", NULL, NULL, reload_ok);
    expo_family(out, "proctrack_config_last_reload_success_timestamp_seconds", EXPO_GAUGE,
                "Timestamp of the last successful configuration reload");
    expo_sample_double(out, "proctrack_config_last_reload_success_timestamp_seconds", NULL, NULL,
                       reload_time);
    expo_family(out, "proctrack_config_rules", EXPO_GAUGE,
                "Rules (process_names items) of the configuration in use");
    expo_sample_u64(out, "proctrack_config_rules", NULL, NULL, rules_count(e->rules));

    expo_family(out, "proctrack_regex_limit_errors_total", EXPO_COUNTER,
                "cmdline regex matches that gave up at a PCRE2 limit (catastrophic backtracking); "
                "the process was counted as not matching the rule");
    expo_sample_u64(out, "proctrack_regex_limit_errors_total", NULL, NULL, e->regex_errors);
}

/* One scan and the exposition it produces, into e->body. Runs with `scanning` set, outside the
 * lock: only one thread at a time gets here. */
static void scan_and_write(struct exporter *e)
{
    scan(e);
    e->scans++;
    strbuf_reset(&e->body);
    /* Like process-exporter: when /proc could not be listed, no group is reported rather than
     * stale values; the error counter says why. */
    if (e->last_scan_rc == 0)
        write_groups(e, &e->body);
    write_errors(e, &e->body);
    if (e->last_scan_rc == 0)
        pve_write_families(&e->body, e->pve, e->tracker, e->ticks_per_second);
    write_self(e, &e->body);
}

int exporter_collect(struct exporter *e, struct strbuf *out)
{
    pthread_mutex_lock(&e->lock);
    if (e->scanning) {
        /* A scan is running: its result is as fresh as this scrape can ask for. Share it rather
         * than queue a second walk of /proc behind it. */
        uint64_t want = e->scans_done + 1;
        while (e->scans_done < want)
            pthread_cond_wait(&e->scan_done, &e->lock);
    } else {
        e->scanning = true;
        pthread_mutex_unlock(&e->lock);
        scan_and_write(e);
        pthread_mutex_lock(&e->lock);
        /* The published copy is what waiting scrapes read while the next scan writes e->body. */
        struct strbuf tmp = e->published;
        e->published = e->body;
        e->body = tmp;
        e->groups_now = tracker_group_count(e->tracker);
        e->tracked_now = tracker_tracked_count(e->tracker);
        e->scans_done++;
        e->scanning = false;
        pthread_cond_broadcast(&e->scan_done);
    }
    strbuf_append(out, e->published.buf ? e->published.buf : "", e->published.len);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

void exporter_reload(struct exporter *e, struct rules *rules)
{
    pthread_mutex_lock(&e->lock);
    /* A scan reads the rules outside the lock: let it finish. No new one starts while we hold
     * the lock, since starting one takes it. */
    while (e->scanning)
        pthread_cond_wait(&e->scan_done, &e->lock);
    struct rules *old = e->rules;
    e->rules = rules;
    e->regex_errors_seen = 0;
    attach_pve(e, rules);
    struct tracker_classifier classifier = {
        .ctx = e,
        .needs = rules_needs(rules),
        .classify = classify,
    };
    tracker_set_classifier(e->tracker, &classifier);
    e->reload_ok = true;
    e->reload_success_time = wall_seconds();
    pthread_mutex_unlock(&e->lock);
    rules_free(old);
}

void exporter_reload_failed(struct exporter *e)
{
    pthread_mutex_lock(&e->lock);
    e->reload_ok = false;
    pthread_mutex_unlock(&e->lock);
}

struct exporter_status exporter_status(struct exporter *e)
{
    pthread_mutex_lock(&e->lock);
    struct exporter_status st = {
        .rules = rules_count(e->rules),
        .groups = e->groups_now,
        .tracked = e->tracked_now,
        .reload_ok = e->reload_ok,
    };
    pthread_mutex_unlock(&e->lock);
    return st;
}
