/* The reader: lists a procfs tree and reads the files of one process at a time into buffers it
 * reuses, so a scan allocates nothing once the buffers have grown to the largest file seen. */
#ifndef PROCTRACK_PROC_PROC_READER_H
#define PROCTRACK_PROC_PROC_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proc.h"
#include "util/readfile.h"
#include "util/strbuf.h"

struct proc_reader;

/* Opens `procfs` (e.g. "/proc", or a fixture tree) and reads btime from its stat file. On error
 * returns NULL and writes a message into `err`. */
struct proc_reader *proc_reader_new(const char *procfs, char *err, size_t errlen);
void proc_reader_free(struct proc_reader *reader);

uint64_t proc_reader_ticks_per_second(const struct proc_reader *reader);
uint64_t proc_reader_page_size(const struct proc_reader *reader);
uint64_t proc_reader_btime(const struct proc_reader *reader);
/* Whether the procfs is /proc of our own pid namespace, so that its pids can be given to the
 * kernel in syscalls and netlink requests. */
bool proc_reader_own_pid_ns(const struct proc_reader *reader);

/* The swap counters of <procfs>/vmstat (see proc_parse_vmstat_swap). Returns 0 or a negative
 * errno (a kernel without swap support, a fixture tree without the file). */
int proc_reader_swap_moves(struct proc_reader *reader, uint64_t *moves);

/* Lists the numeric entries of the procfs root. Returns 0 or a negative errno. */
int proc_reader_list(struct proc_reader *reader);
/* Reads the stat of the next listed process. Returns 1 with `stat` filled, 0 at the end of the
 * list, or a negative errno for a process whose stat exists but could not be read or parsed
 * (stat->pid is set). Processes that vanished since the listing are skipped silently. */
int proc_reader_next(struct proc_reader *reader, struct proc_stat *stat);

/* The stat of one process, read now (for a process learnt of otherwise than by the listing).
 * Returns 0, -ESRCH when it is gone, -EINVAL when its stat does not parse, or another negative
 * errno. */
int proc_reader_stat(struct proc_reader *reader, int pid, struct proc_stat *stat);

/* First sight of a process: fills `id` from `stat` plus the parts `needs` asks for
 * (PROC_NEED_*). Pointers in `id` stay valid until the next call. Returns 0, or -ESRCH when the
 * process is gone. Unreadable optional parts are left empty and their bit set in *failed. */
int proc_reader_identity(struct proc_reader *reader, const struct proc_stat *stat, unsigned needs,
                         struct proc_identity *id, unsigned *failed);

/* A number that tells the process now holding `pid` from every other since boot: the inode of
 * its pidfd. Returns 0, -ENOTSUP when the kernel has no pidfs (before 6.9) or the procfs is not
 * of our pid namespace, -ESRCH when the process is gone, or another negative errno. */
int proc_reader_process_key(struct proc_reader *reader, int pid, uint64_t *key);

/* The command line of `pid`, arguments joined by spaces, into `out` (reset first). Returns 0 or
 * a negative errno. */
int proc_reader_cmdline(struct proc_reader *reader, int pid, struct strbuf *out);

/* The parts of a tracked process's metrics that `wants` asks for (PROC_WANT_*; PROC_WANT_FULL for
 * status, io, open fd count and fd limit). Returns 0 (possibly partial, see struct proc_metrics),
 * or -ESRCH when the process is gone. */
int proc_reader_metrics(struct proc_reader *reader, int pid, unsigned wants,
                        struct proc_metrics *m);

/* Lists the threads of `pid` (its task/ directory); *tids stays valid until the next call.
 * Returns 0, -ESRCH when the process is gone, or another negative errno. */
int proc_reader_tasks(struct proc_reader *reader, int pid, const int **tids, size_t *ntids);
/* One thread's stat, status, io (PROC_WANT_IO) and (PROC_WANT_WCHAN, sleeping threads only) wchan.
 * Returns 0,
 * -ESRCH when it is gone; unreadable parts set PROC_FILE_TASK or PROC_FILE_WCHAN in *failed. */
int proc_reader_thread(struct proc_reader *reader, int pid, int tid, unsigned wants,
                       struct proc_thread *thread, unsigned *failed);
/* schedstat of a process (tid 0: its main thread) or of one thread. Returns 0, -ESRCH when gone,
 * -ENOTSUP when the kernel has no schedstat (CONFIG_SCHED_INFO off). */
int proc_reader_schedstat(struct proc_reader *reader, int pid, int tid, struct proc_schedstat *out);

/* Calls `fn` for each thread of `pid` with what proc_reader_thread() reads. Threads that exit
 * meanwhile are skipped. Returns 0, -ESRCH when the process is gone, or another negative errno when
 * task/ is unreadable; unreadable parts set the PROC_FILE_TASK or PROC_FILE_WCHAN bit in *failed.
 */
int proc_reader_threads(struct proc_reader *reader, int pid, unsigned wants,
                        void (*fn)(void *arg, const struct proc_thread *thread), void *arg,
                        unsigned *failed);

/* Any file or directory under a root, for the collectors that follow processes beyond what the
 * tracker reads (a VM's config, its tap NICs in sysfs, its cgroup's pressure files). `root` is a
 * directory path (a sysfs, a cgroupfs, a config dir), joined as "root/name" and opened by path on
 * every call, since a FUSE mount such as /etc/pve can be remounted under a running exporter; or
 * NULL for the procfs root, with `name` relative to it ("meminfo", "123/status"). */

/* Reads the whole file into a buffer of the reader's own, cut at `max` bytes. *data is
 * NUL-terminated and valid until the next proc_reader_file() call. The buffer is not one that an
 * identity points into, so a builtin matcher may read a file while the rules look at an identity.
 * Returns the length or a negative errno. */
ssize_t proc_reader_file(struct proc_reader *reader, const char *root, const char *name, size_t max,
                         const char **data);
/* The file's modification time in nanoseconds since the epoch. Returns 0 or a negative errno
 * (-ENOENT: there is no such file). */
int proc_reader_mtime(struct proc_reader *reader, const char *root, const char *name,
                      int64_t *mtime_ns);
/* The inode number of a file or directory: tells a cgroup recreated under the same path from the
 * one that was there. Returns 0 or a negative errno. */
int proc_reader_inode(struct proc_reader *reader, const char *root, const char *name,
                      uint64_t *inode);
/* Calls `fn` for each entry of the directory but "." and "..". `fn` may read files with
 * proc_reader_file(), but must not list a directory with this reader. Returns 0 or a negative
 * errno. */
int proc_reader_dir(struct proc_reader *reader, const char *root, const char *name, readdir_fn fn,
                    void *arg);

#endif /* PROCTRACK_PROC_PROC_READER_H */
