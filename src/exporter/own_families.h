/* The families about proctrack itself: process-exporter's namedprocess_scrape_* error counters,
 * the standard process_* metrics and the proctrack_* self metrics, as tables for
 * expo_write_families() over one row. */
#ifndef PROCTRACK_EXPORTER_OWN_FAMILIES_H
#define PROCTRACK_EXPORTER_OWN_FAMILIES_H

#include <stdbool.h>
#include <stdint.h>

#include "expo/family.h"
#include "tracker/tracker.h"
#include "util/strbuf.h"

/* What the self metrics report, taken together by the exporter. */
enum own_value {
    OWN_GROUPS,
    OWN_TRACKED,
    OWN_IGNORED,
    OWN_SCANS,
    OWN_SCAN_SECONDS, /* a double */
    OWN_RELOAD_OK,
    OWN_RELOAD_TIME, /* a double: Unix time of the last successful load */
    OWN_RULES,
    OWN_REGEX_ERRORS,
    OWN_EXITS_NONE, /* 1 for the exit accounting path in use, 0 for the others */
    OWN_EXITS_CHILDREN,
    OWN_EXITS_TASKSTATS,
    OWN_EXIT_RECORDS,
    OWN_EXIT_OVERRUNS,
    OWN_EXIT_UNSEEN,
    OWN_EXIT_LOST_SCANS,
    /* The process_* metrics of proctrack itself, when /proc/self could be read. */
    OWN_PROCESS_CPU_SECONDS, /* a double */
    OWN_PROCESS_MAX_FDS,
    OWN_PROCESS_OPEN_FDS,
    OWN_PROCESS_RSS_BYTES,
    OWN_PROCESS_START_TIME, /* a double */
    OWN_PROCESS_VSIZE_BYTES,
    OWN_PROCESS_VSIZE_MAX_BYTES, /* a double, as Go writes 2^64-1 for unlimited */
    OWN_VALUE_COUNT
};

struct own_values {
    struct expo_value v[OWN_VALUE_COUNT];
    bool has_process; /* the OWN_PROCESS_* values are there */
};

void own_families_write_errors(struct strbuf *out, const struct tracker_errors *errors,
                               struct strbuf *scratch);
/* The process_* families (client_golang's process collector, with its help texts), then the
 * proctrack_* ones, proctrack_read_errors_total among them. */
void own_families_write_self(struct strbuf *out, const struct own_values *values,
                             const struct tracker_errors *errors, struct strbuf *scratch);

#endif /* PROCTRACK_EXPORTER_OWN_FAMILIES_H */
