/* Internal to src/proc: the reader's state and the helpers its files share. The reader is split
 * along its seams: proc_reader.c opens the tree, lists it and reads any file under a root;
 * proc_identity.c reads who a new process is; proc_metrics.c what a tracked one reports;
 * proc_threads.c its threads and schedstat. All of them read through util/readfile.h. */
#ifndef PROCTRACK_PROC_PROC_READER_PRIVATE_H
#define PROCTRACK_PROC_PROC_READER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proc_reader.h"
#include "util/readfile.h"
#include "util/strbuf.h"

/* The most a per-process file is read to; longer ones are cut. */
#define PROC_FILE_MAX (1u << 20)

/* The files of a process or thread that proctrack reads per scan (stat, status, io, limits,
 * cgroup, smaps_rollup, wchan, schedstat) are each made by one show() call of the kernel
 * (single_open): a read() into a buffer large enough returns all of it, so the read() that would
 * return 0 is skipped. Not cmdline, which is read in pieces from the process's memory. */
#define PROC_ONE_SHOW READFILE_ONE_RECORD

struct proc_reader {
    int root_fd;
    bool is_procfs;
    bool own_pid_ns; /* the procfs is /proc of our pid namespace: pids can be used in syscalls */
    bool schedstat_missing; /* the kernel has no /proc/PID/schedstat (CONFIG_SCHED_INFO off) */
    bool pidfs;             /* own_pid_ns, and pidfds have an inode per process (Linux >= 6.9) */
    uint64_t ticks_per_second;
    uint64_t page_size;
    uint64_t btime;

    int *pids;
    size_t npids, pids_cap, next;
    int *tids;
    size_t ntids, tids_cap;

    struct strbuf file;    /* stat, status, io, limits, schedstat, wchan */
    struct strbuf cmdline; /* split in place into argv */
    struct strbuf joined;  /* argv joined by spaces */
    struct strbuf exe;
    struct strbuf cgroup; /* NUL-separated cgroup paths */
    const char **argv;
    size_t argv_cap;
    const char **cgroups;
    size_t *cgroup_offsets;
    size_t offsets_cap, cgroups_cap, ncgroups;
    struct strbuf any;  /* proc_reader_file(): apart from the buffers identities point into */
    struct strbuf path; /* root/name of proc_reader_file(), proc_reader_dir() */
    char dents[64 * 1024];
};

/* Whether pidfds live in pidfs, where each has the inode number of its process (see
 * proc_reader_process_key). */
bool proc_pidfs_available(void);
/* True for the errors that mean "the process exited while we looked". */
bool proc_gone(int err);
/* "PID/name" and "PID/task/TID/name" into `path` (64 and 96 bytes are enough). */
void proc_pid_path(char *path, int pid, const char *name);
void proc_task_path(char *path, int pid, int tid, const char *name);
/* A decimal pid or tid as a directory name lists it ("1234"; not "0", "01" or "self"). */
bool proc_parse_pid(const char *name, int *pid);
/* Reads a file under the procfs root into `b` (its previous contents dropped), cut at `max`.
 * Returns the length or a negative errno. */
ssize_t proc_read_at(struct proc_reader *r, const char *path, struct strbuf *b, size_t max,
                     unsigned flags);
/* Reads /proc/PID/name into r->file. */
ssize_t proc_read_pid(struct proc_reader *r, int pid, const char *name);
/* Copies a wchan file (a kernel symbol, or "0" for none) into out; sets PROC_FILE_WCHAN in
 * *failed when it is unreadable for a reason other than an exit. */
void proc_read_wchan(struct proc_reader *r, const char *path, char *out, size_t outlen,
                     unsigned *failed);

#endif /* PROCTRACK_PROC_PROC_READER_PRIVATE_H */
