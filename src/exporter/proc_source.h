/* The /proc reader (src/proc) as the tracker's source of samples (src/tracker): the glue between
 * two modules that know nothing of each other. */
#ifndef PROCTRACK_EXPORTER_PROC_SOURCE_H
#define PROCTRACK_EXPORTER_PROC_SOURCE_H

#include "proc/proc_reader.h"
#include "tracker/tracker.h"

/* A source reading through `reader`, which must outlive it. */
struct tracker_source proc_source(struct proc_reader *reader);

#endif /* PROCTRACK_EXPORTER_PROC_SOURCE_H */
