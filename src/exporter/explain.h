/* What proctrack tells a person about new processes: the -explain table (every process of the
 * first scan, the group it joined and why) and the -debug log lines. Names, group names and command
 * lines are written escaped (util/utf8.h in the table, the logger's escaping in the log), so a
 * process cannot break a line or reach the terminal with control characters. */
#ifndef PROCTRACK_EXPORTER_EXPLAIN_H
#define PROCTRACK_EXPORTER_EXPLAIN_H

#include <stdio.h>

#include "proc/proc_reader.h"
#include "rules/rules.h"

struct explain;

struct explain *explain_new(void);
void explain_free(struct explain *explain);

/* Remembers a new process, from a tracker_new_process: `group` NULL when it joined none,
 * `rule` the index of the rule that matched or -1, `adopted_from` the ancestor it came through. */
void explain_record(struct explain *explain, int pid, const char *comm, const char *group, int rule,
                    int adopted_from);
/* Writes the table of the processes recorded, by pid, with their command lines read now; then a
 * row ("-" for pid and comm) for each group of an `always: true` rule that no process joined. */
void explain_write(struct explain *explain, const struct rules *rules, struct proc_reader *reader,
                   FILE *out);

/* -debug: one line at level debug about a new process (the explain_record arguments), through the
 * logger (util/log.h). */
void explain_log(const struct rules *rules, int pid, const char *comm, const char *group, int rule,
                 int adopted_from);

#endif /* PROCTRACK_EXPORTER_EXPLAIN_H */
