#include "exporter/own_families.h"

#include <string.h>

#include "util/build_info.h"

/* What a series shows, for expo_series.kind. */
enum {
    SCAN_ERRORS = 1,
    PROCREAD_ERRORS,
    PARTIAL_ERRORS, /* index: enum proc_file */
    PARTIAL_PROCS,
    VALUE, /* index: enum own_value */
    ONE,   /* the constant 1 of an info metric */
};

#define SHOW(label, what, which)                                                                   \
    {                                                                                              \
        .label_value = label, .kind = what, .index = which                                         \
    }

/* process-exporter's names, types, help and meaning: counters without `_total` and without labels,
 * which its dashboards and alerts sum as they are. The detail by file is
 * proctrack_read_errors_total. */
static const struct expo_family_def error_families[] = {
    {"namedprocess_scrape_errors",
     EXPO_COUNTER,
     "general scrape errors: no proc metrics collected during a cycle",
     0,
     0,
     NULL,
     {SHOW(NULL, SCAN_ERRORS, 0)}},
    {"namedprocess_scrape_partial_errors",
     EXPO_COUNTER,
     "incremented each time a tracked proc's metrics collection fails partially, e.g. unreadable "
     "I/O stats",
     0,
     0,
     NULL,
     {SHOW(NULL, PARTIAL_PROCS, 0)}},
    {"namedprocess_scrape_procread_errors",
     EXPO_COUNTER,
     "incremented each time a proc's metrics collection fails",
     0,
     0,
     NULL,
     {SHOW(NULL, PROCREAD_ERRORS, 0)}},
};

/* The row sets of the self families. */
enum { SELF_ROWS, ERROR_ROWS, BUILD_ROWS };
/* Option bits of the self families. */
enum { HAS_PROCESS = 1 };

/* client_golang's process collector, names and help texts as it writes them. */
static const struct expo_family_def process_families[] = {
    {"process_cpu_seconds_total",
     EXPO_COUNTER,
     "Total user and system CPU time spent in seconds.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_CPU_SECONDS)}},
    {"process_max_fds",
     EXPO_GAUGE,
     "Maximum number of open file descriptors.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_MAX_FDS)}},
    {"process_open_fds",
     EXPO_GAUGE,
     "Number of open file descriptors.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_OPEN_FDS)}},
    {"process_resident_memory_bytes",
     EXPO_GAUGE,
     "Resident memory size in bytes.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_RSS_BYTES)}},
    {"process_start_time_seconds",
     EXPO_GAUGE,
     "Start time of the process since unix epoch in seconds.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_START_TIME)}},
    {"process_virtual_memory_bytes",
     EXPO_GAUGE,
     "Virtual memory size in bytes.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_VSIZE_BYTES)}},
    {"process_virtual_memory_max_bytes",
     EXPO_GAUGE,
     "Maximum amount of virtual memory available in bytes.",
     SELF_ROWS,
     HAS_PROCESS,
     NULL,
     {SHOW(NULL, VALUE, OWN_PROCESS_VSIZE_MAX_BYTES)}},
};

static const struct expo_family_def self_families[] = {
    {"proctrack_build_info",
     EXPO_GAUGE,
     "A metric with a constant '1' value labeled by version, revision, branch, and compiler from "
     "which proctrack was built",
     BUILD_ROWS,
     0,
     NULL,
     {SHOW(NULL, ONE, 0)}},
    {"proctrack_exit_accounting",
     EXPO_GAUGE,
     "How the usage of exited processes is counted: 1 for the path in use (taskstats: the "
     "kernel's exit records; children: parents' children times; none)",
     0,
     0,
     "path",
     {SHOW("children", VALUE, OWN_EXITS_CHILDREN), SHOW("none", VALUE, OWN_EXITS_NONE),
      SHOW("taskstats", VALUE, OWN_EXITS_TASKSTATS)}},
    {"proctrack_exit_record_overruns_total",
     EXPO_COUNTER,
     "Times exit records were lost (the kernel's receive buffer overran under a fork storm); "
     "those intervals were counted from children times",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_EXIT_OVERRUNS)}},
    {"proctrack_exit_records_total",
     EXPO_COUNTER,
     "Exit records taken from the kernel (one per exiting task)",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_EXIT_RECORDS)}},
    {"proctrack_exit_scans_with_lost_records_total",
     EXPO_COUNTER,
     "Scans whose interval lost exit records and was counted from children times instead",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_EXIT_LOST_SCANS)}},
    {"proctrack_exit_unseen_processes_total",
     EXPO_COUNTER,
     "Processes that lived and exited between two scans, counted from their exit records",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_EXIT_UNSEEN)}},
    {"proctrack_groups",
     EXPO_GAUGE,
     "Number of groups reported",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_GROUPS)}},
    {"proctrack_processes",
     EXPO_GAUGE,
     "Live processes known to the tracker: in a group, or ignored (matched no rule)",
     0,
     0,
     "state",
     {SHOW("ignored", VALUE, OWN_IGNORED), SHOW("tracked", VALUE, OWN_TRACKED)}},
    {"proctrack_scans_total",
     EXPO_COUNTER,
     "Scans of /proc; fewer than scrapes when concurrent scrapes shared a scan",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_SCANS)}},
    {"proctrack_scrape_duration_seconds",
     EXPO_GAUGE,
     "Seconds the /proc scan of this scrape took",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_SCAN_SECONDS)}},
    /* As Prometheus and Alertmanager name theirs, so that one alert serves all three. */
    {"proctrack_config_last_reload_successful",
     EXPO_GAUGE,
     "Whether the last configuration reload attempt was successful",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_RELOAD_OK)}},
    {"proctrack_config_last_reload_success_timestamp_seconds",
     EXPO_GAUGE,
     "Timestamp of the last successful configuration reload",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_RELOAD_TIME)}},
    {"proctrack_config_rules",
     EXPO_GAUGE,
     "Rules (process_names items) of the configuration in use",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_RULES)}},
    /* In label-value order; an unreadable stat is a procread error. */
    {"proctrack_read_errors_total",
     EXPO_COUNTER,
     "Files of processes that could not be read (not counted when the process had merely exited), "
     "by file; namedprocess_scrape_partial_errors counts the processes, once per scan",
     ERROR_ROWS,
     0,
     "file",
     {SHOW("cgroup", PARTIAL_ERRORS, PROC_FILE_CGROUP),
      SHOW("cmdline", PARTIAL_ERRORS, PROC_FILE_CMDLINE),
      SHOW("exe", PARTIAL_ERRORS, PROC_FILE_EXE), SHOW("fd", PARTIAL_ERRORS, PROC_FILE_FD),
      SHOW("io", PARTIAL_ERRORS, PROC_FILE_IO), SHOW("limits", PARTIAL_ERRORS, PROC_FILE_LIMITS),
      SHOW("smaps_rollup", PARTIAL_ERRORS, PROC_FILE_SMAPS), SHOW("stat", PROCREAD_ERRORS, 0),
      SHOW("status", PARTIAL_ERRORS, PROC_FILE_STATUS),
      SHOW("task", PARTIAL_ERRORS, PROC_FILE_TASK),
      SHOW("wchan", PARTIAL_ERRORS, PROC_FILE_WCHAN)}},
    {"proctrack_regex_limit_errors_total",
     EXPO_COUNTER,
     "cmdline regex matches that gave up at a PCRE2 limit (catastrophic backtracking); the process "
     "was counted as not matching the rule",
     0,
     0,
     NULL,
     {SHOW(NULL, VALUE, OWN_REGEX_ERRORS)}},
};

/* The single row has no labels of its own. */
static void no_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    (void)ctx, (void)row, (void)from, (void)to, (void)out;
}

static bool error_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    (void)row;
    const struct tracker_errors *err = ctx;
    switch (kind) {
    case SCAN_ERRORS:
        out->u64 = err->scan;
        return true;
    case PROCREAD_ERRORS:
        out->u64 = err->procread;
        return true;
    case PARTIAL_ERRORS:
        out->u64 = err->partial[index];
        return true;
    case PARTIAL_PROCS:
        out->u64 = err->partial_procs;
        return true;
    default:
        return false;
    }
}

static bool self_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    (void)row;
    const struct own_values *values = ctx;
    if (kind == VALUE && index < OWN_VALUE_COUNT)
        *out = values->v[index];
    else
        return false;
    return true;
}

static const struct expo_clock no_clock = {1, 0};

void own_families_write_errors(struct strbuf *out, const struct tracker_errors *errors,
                               struct strbuf *scratch)
{
    const struct expo_rows row = {(void *)errors, 1, NULL, 0, no_labels, NULL, error_value};
    expo_write_families(out, error_families, sizeof(error_families) / sizeof(error_families[0]),
                        &row, &no_clock, 0, scratch);
}

/* proctrack_build_info's labels, in name order; the compiler stands where Go exporters have
 * goversion. */
static const char *const build_label_names[] = {"branch", "compiler", "revision", "version"};

static void build_labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    (void)ctx, (void)row;
    const char *const values[] = {proctrack_branch, PROCTRACK_COMPILER, proctrack_revision,
                                  proctrack_version};
    for (size_t i = from; i < to; i++)
        expo_label(out, build_label_names[i], values[i], strlen(values[i]));
}

static bool build_value(void *ctx, size_t row, unsigned kind, unsigned index,
                        struct expo_value *out)
{
    (void)ctx, (void)row, (void)kind, (void)index;
    *out = (struct expo_value){.u64 = 1};
    return true;
}

void own_families_write_self(struct strbuf *out, const struct own_values *values,
                             const struct tracker_errors *errors, struct strbuf *scratch)
{
    const struct expo_rows rows[] = {
        [SELF_ROWS] = {(void *)values, 1, NULL, 0, no_labels, NULL, self_value},
        [ERROR_ROWS] = {(void *)errors, 1, NULL, 0, no_labels, NULL, error_value},
        [BUILD_ROWS] = {NULL, 1, build_label_names, 4, build_labels, NULL, build_value},
    };
    unsigned enabled = values->has_process ? HAS_PROCESS : 0;
    expo_write_families(out, process_families,
                        sizeof(process_families) / sizeof(process_families[0]), rows, &no_clock,
                        enabled, scratch);
    expo_write_families(out, self_families, sizeof(self_families) / sizeof(self_families[0]), rows,
                        &no_clock, enabled, scratch);
}
