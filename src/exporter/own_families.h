/* The families about proctrack itself: process-exporter's namedprocess_scrape_* error counters
 * and the proctrack_* self metrics, as tables for expo_write_families() over one row. */
#ifndef PROCTRACK_EXPORTER_OWN_FAMILIES_H
#define PROCTRACK_EXPORTER_OWN_FAMILIES_H

#include <stdbool.h>
#include <stdint.h>

#include "tracker/tracker.h"
#include "util/strbuf.h"

/* What the self metrics report, taken together by the exporter. */
struct own_values {
    uint64_t groups;
    uint64_t tracked, ignored;
    uint64_t scans;
    double scan_seconds;
    bool reload_ok;
    double reload_success_time; /* Unix time */
    uint64_t rules;
    uint64_t regex_errors;
};

void own_families_write_errors(struct strbuf *out, const struct tracker_errors *errors,
                               struct strbuf *scratch);
void own_families_write_self(struct strbuf *out, const struct own_values *values,
                             struct strbuf *scratch);

#endif /* PROCTRACK_EXPORTER_OWN_FAMILIES_H */
