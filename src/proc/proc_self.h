/* proctrack's own process, for the standard process_* metrics every Prometheus exporter exports
 * (client_golang's process collector): read from <procfs>/self, our own entry, whatever -procfs
 * names for the processes we track. */
#ifndef PROCTRACK_PROC_PROC_SELF_H
#define PROCTRACK_PROC_PROC_SELF_H

#include <stdint.h>

struct proc_self_metrics {
    uint64_t cpu_ticks;       /* (14) utime + (15) stime */
    uint64_t rss_bytes;       /* (24) rss, in bytes */
    uint64_t vsize_bytes;     /* (23) vsize */
    uint64_t open_fds;        /* entries of self/fd */
    uint64_t max_fds;         /* soft RLIMIT_NOFILE */
    uint64_t max_vsize_bytes; /* soft RLIMIT_AS; UINT64_MAX when unlimited */
};

struct proc_self;

/* Opens `procfs` (normally "/proc") and reads our start time: the seconds since the epoch at which
 * this process started, from its btime and self/stat. Returns NULL when either is unreadable. */
struct proc_self *proc_self_new(const char *procfs);
void proc_self_free(struct proc_self *self);

/* Seconds since the epoch, with the clock tick's fraction, as client_golang reports it. */
double proc_self_start_time(const struct proc_self *self);
/* One read of self/stat, a stat() (or, before Linux 6.2, a listing) of self/fd, and getrlimit()
 * for the two limits, which setrlimit() or another process's prlimit() can change at any time.
 * Returns 0 or a negative errno. */
int proc_self_read(struct proc_self *self, struct proc_self_metrics *out);

#endif /* PROCTRACK_PROC_PROC_SELF_H */
