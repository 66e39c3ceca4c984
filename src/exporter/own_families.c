#include "exporter/own_families.h"

/* What a series shows, for expo_series.kind. */
enum {
    SCAN_ERRORS = 1,
    PROCREAD_ERRORS,
    PARTIAL_ERRORS, /* index: enum proc_file */
    VALUE,          /* index: enum own_value */
    ONE,            /* the constant 1 of an info metric */
};

#define SHOW(label, what, which)                                                                   \
    {                                                                                              \
        .label_value = label, .kind = what, .index = which                                         \
    }

static const struct expo_family_def error_families[] = {
    {"namedprocess_scrape_errors_total",
     EXPO_COUNTER,
     "general scrape errors: no proc metrics collected during a cycle",
     0,
     0,
     NULL,
     {SHOW(NULL, SCAN_ERRORS, 0)}},
    /* In label-value order; an unreadable stat is a procread error, not a partial one. */
    {"namedprocess_scrape_partial_errors_total",
     EXPO_COUNTER,
     "incremented each time a tracked proc's metrics collection fails partially, e.g. unreadable "
     "I/O stats, by file",
     0,
     0,
     "file",
     {SHOW("cgroup", PARTIAL_ERRORS, PROC_FILE_CGROUP),
      SHOW("cmdline", PARTIAL_ERRORS, PROC_FILE_CMDLINE),
      SHOW("exe", PARTIAL_ERRORS, PROC_FILE_EXE), SHOW("fd", PARTIAL_ERRORS, PROC_FILE_FD),
      SHOW("io", PARTIAL_ERRORS, PROC_FILE_IO), SHOW("limits", PARTIAL_ERRORS, PROC_FILE_LIMITS),
      SHOW("smaps_rollup", PARTIAL_ERRORS, PROC_FILE_SMAPS),
      SHOW("status", PARTIAL_ERRORS, PROC_FILE_STATUS),
      SHOW("task", PARTIAL_ERRORS, PROC_FILE_TASK),
      SHOW("wchan", PARTIAL_ERRORS, PROC_FILE_WCHAN)}},
    {"namedprocess_scrape_procread_errors_total",
     EXPO_COUNTER,
     "incremented each time a proc's metrics collection fails",
     0,
     0,
     NULL,
     {SHOW(NULL, PROCREAD_ERRORS, 0)}},
};

static const struct expo_family_def self_families[] = {
    {"proctrack_build_info",
     EXPO_GAUGE,
     "A metric with a constant '1' value labeled by the version of proctrack",
     0,
     0,
     "version",
     {SHOW(PROCTRACK_VERSION, ONE, 0)}},
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
    default:
        return false;
    }
}

static bool self_value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    (void)row;
    const struct own_values *values = ctx;
    if (kind == ONE)
        *out = (struct expo_value){.u64 = 1};
    else if (kind == VALUE && index < OWN_VALUE_COUNT)
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

void own_families_write_self(struct strbuf *out, const struct own_values *values,
                             struct strbuf *scratch)
{
    const struct expo_rows row = {(void *)values, 1, NULL, 0, no_labels, NULL, self_value};
    expo_write_families(out, self_families, sizeof(self_families) / sizeof(self_families[0]), &row,
                        &no_clock, 0, scratch);
}
