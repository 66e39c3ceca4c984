/* The /proc reader (src/proc) as the tracker's source of samples (src/tracker): the glue between
 * two modules that know nothing of each other. */
#ifndef PROCTRACK_EXPORTER_PROC_SOURCE_H
#define PROCTRACK_EXPORTER_PROC_SOURCE_H

#include "acct/acct.h"
#include "proc/proc_reader.h"
#include "tracker/tracker.h"

/* The reader, and the listener of exit records when there is one. */
struct proc_source {
    struct proc_reader *reader;
    struct acct_listener *listener; /* NULL: no exit records */
    uint64_t ticks_per_second;
    struct tracker_exit *records; /* the last take, converted */
    size_t records_cap;
};

/* `reader` and `listener` (may be NULL) must outlive the source. */
void proc_source_init(struct proc_source *ps, struct proc_reader *reader,
                      struct acct_listener *listener);
void proc_source_free(struct proc_source *ps);
/* The tracker's view of `ps`, valid as long as `ps` is. */
struct tracker_source proc_source(struct proc_source *ps);

#endif /* PROCTRACK_EXPORTER_PROC_SOURCE_H */
