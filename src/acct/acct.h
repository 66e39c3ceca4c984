/* The kernel's accounting of exiting tasks: taskstats exit records (the final CPU, faults, I/O and
 * context switches of every task that exits) and the process connector's fork and exec events
 * (so that a process that lives between two scans can be read, and so classified, while it is
 * alive).
 *
 * acct_parse.c holds the pure parsers of the netlink messages; acct_listener.c the sockets and
 * the thread that keeps them drained. Nothing here knows groups: the tracker is handed the
 * records (src/tracker/exits.c). */
#ifndef PROCTRACK_ACCT_ACCT_H
#define PROCTRACK_ACCT_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"

/* One exiting task, from a taskstats exit record. */
struct acct_exit {
    int tid;  /* the task */
    int tgid; /* its process */
    int ppid;
    uint32_t uid;
    bool process_ended;   /* the record came with its process's aggregate: the last task exited */
    uint64_t elapsed_us;  /* ac_etime: since the start of the task's process */
    uint64_t received_ns; /* CLOCK_BOOTTIME when it was received */
    /* CLOCK_BOOTTIME when the socket was last seen empty before it was received: it was sent
     * after that. Together with received_ns, how late the exit may have been. */
    uint64_t sent_after_ns;
    char comm[16];
    uint64_t utime_us, stime_us; /* exact: the time on CPU until the record was sent */
    uint64_t utime_sampled_us, stime_sampled_us; /* the scheduler tick's samples */
    uint64_t minflt, majflt;
    uint64_t peak_rss_kb; /* hiwater_rss */
    uint64_t blkio_delay_ns;
    bool has_io; /* the kernel's record is new enough to carry I/O and context switches */
    uint64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes;
    uint64_t nvcsw, nivcsw;
};

/* Parses one netlink message of the TASKSTATS generic netlink family (`family` is its resolved
 * id). Returns 1 with `out` filled for an exit record, 0 for a message that is not one (another
 * command, an ack), or -EINVAL for a malformed message. `out->received_ns` and
 * `out->sent_after_ns` are left alone. */
int acct_parse_taskstats(const void *msg, size_t len, uint16_t family, struct acct_exit *out);

/* Parses the kernel's answer to a TASKSTATS_CMD_GET for the task `tid`. Returns 1 with `out`
 * filled, 0 for a message that is not that answer, or a negative errno: the kernel's error
 * (-ESRCH: no such task), -EINVAL for a malformed message. */
int acct_parse_task_switches(const void *msg, size_t len, uint16_t family, int tid,
                             struct proc_switches *out);

/* A process connector event. */
enum acct_event_kind { ACCT_EVENT_OTHER, ACCT_EVENT_FORK, ACCT_EVENT_EXEC, ACCT_EVENT_COMM };

struct acct_event {
    enum acct_event_kind kind;
    int pid;  /* the new process (fork: the child), or the one that exec'd or was renamed */
    int tgid; /* fork: the child's thread group; a new thread has tgid != pid */
};

/* Parses one netlink message of the process connector. Returns 1 with `out` filled, 0 for a
 * message that is not a proc event, -EINVAL when malformed. */
int acct_parse_proc_event(const void *msg, size_t len, struct acct_event *out);

struct acct_listener;

struct acct_listener_options {
    const char *procfs;    /* where new processes are read from (the exporter's procfs) */
    const char *sysfs;     /* for the list of possible CPUs */
    unsigned needs;        /* PROC_NEED_* parts of a new process's identity to capture */
    size_t max_records;    /* exit records kept between two takes; beyond, they count as lost */
    size_t max_identities; /* identities of new processes kept */
};

/* Registers for the exit records of every possible CPU, subscribes to the process connector
 * (optional: without it, processes that live between two scans are classified from their exit
 * record alone) and starts the thread that drains both. Returns 0, or a negative errno
 * (-EPERM without CAP_NET_ADMIN, -ENOENT without taskstats) with a message in `err`. */
int acct_listener_start(const struct acct_listener_options *options, struct acct_listener **out,
                        char *err, size_t errlen);
void acct_listener_stop(struct acct_listener *listener);

/* The PROC_NEED_* parts of identities captured from now on (the rules changed). */
void acct_listener_set_needs(struct acct_listener *listener, unsigned needs);

/* Whether the process connector is subscribed. */
bool acct_listener_has_events(const struct acct_listener *listener);

/* Hands over the exit records received since the last call, first draining the sockets, so that
 * every task that exited before the call is included. *records stays valid until the next call.
 * *lost is set when some records were lost since the last call (a receive buffer overrun, or
 * more than max_records). */
size_t acct_listener_take(struct acct_listener *listener, const struct acct_exit **records,
                          bool *lost);

/* The identity of a process captured at its fork or exec, when it started between the ticks
 * `earliest_ticks` and `latest_ticks` (±1): the newest capture of that pid in that span. Pointers
 * in `id` stay valid until the next call. Returns 0 or -ENOENT. Identities are kept for two takes
 * after they were captured. */
int acct_listener_identity(struct acct_listener *listener, int pid, uint64_t earliest_ticks,
                           uint64_t latest_ticks, struct proc_identity *id);

/* The context switches of the task `tid` now, asked of the kernel: one TASKSTATS_CMD_GET on a
 * socket of its own, answered before the request returns. Cheaper than reading the task's status
 * file. For one caller at a time (the scan). Returns 0, -ESRCH when the task is gone, or another
 * negative errno. */
int acct_listener_task_switches(struct acct_listener *listener, int tid, struct proc_switches *out);

/* Totals since start. */
struct acct_stats {
    uint64_t records;    /* exit records received */
    uint64_t overruns;   /* times records were lost: ENOBUFS, or the queue was full */
    uint64_t events;     /* connector events received */
    uint64_t identities; /* new processes whose identity was captured */
};
void acct_listener_stats(struct acct_listener *listener, struct acct_stats *out);

#endif /* PROCTRACK_ACCT_ACCT_H */
