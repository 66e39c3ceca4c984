/* The threads of a process (its task/ directory) and the schedstat of a process or thread. */
#include "proc/proc_reader_private.h"

#include <errno.h>

#include "util/xalloc.h"

static void add_tid(void *arg, const char *name, unsigned char type)
{
    struct proc_reader *r = arg;
    int tid;
    (void)type;
    if (proc_parse_pid(name, &tid)) {
        r->tids = xgrow(r->tids, &r->tids_cap, r->ntids + 1, sizeof(*r->tids));
        r->tids[r->ntids++] = tid;
    }
}

int proc_reader_tasks(struct proc_reader *r, int pid, const int **tids, size_t *ntids)
{
    char path[64];
    proc_pid_path(path, pid, "task");
    r->ntids = 0;
    int rc = readdir_at(r->root_fd, path, r->dents, sizeof(r->dents), add_tid, r);
    if (rc < 0)
        return proc_gone(-rc) ? -ESRCH : rc;
    *tids = r->tids;
    *ntids = r->ntids;
    return 0;
}

int proc_reader_thread(struct proc_reader *r, int pid, int tid, unsigned wants,
                       struct proc_thread *th, unsigned *failed)
{
    char path[96];
    proc_task_path(path, pid, tid, "stat");
    ssize_t n = proc_read_at(r, path, &r->file, PROC_FILE_MAX, PROC_ONE_SHOW);
    if (n <= 0 || proc_parse_stat(r->file.buf, (size_t)n, &th->stat) != 0) {
        if (n < 0 && !proc_gone((int)-n)) {
            *failed |= 1u << PROC_FILE_TASK;
            return (int)n;
        }
        return -ESRCH; /* a thread that exited while we looked */
    }
    th->has_io = false;
    if (wants & PROC_WANT_IO) {
        proc_task_path(path, pid, tid, "io");
        n = proc_read_at(r, path, &r->file, PROC_FILE_MAX, PROC_ONE_SHOW);
        th->has_io = n >= 0 && proc_parse_io(r->file.buf, (size_t)n, &th->io) == 0;
        if (!th->has_io && !(n < 0 && proc_gone((int)-n)))
            *failed |= 1u << PROC_FILE_TASK;
    }
    proc_task_path(path, pid, tid, "status");
    n = proc_read_at(r, path, &r->file, PROC_FILE_MAX, PROC_ONE_SHOW);
    th->has_status = n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &th->status) == 0;
    th->wchan[0] = '\0';
    /* Only a sleeping thread has a wchan; skip the read for the others. */
    if ((wants & PROC_WANT_WCHAN) && (th->stat.state == 'S' || th->stat.state == 'D')) {
        proc_task_path(path, pid, tid, "wchan");
        proc_read_wchan(r, path, th->wchan, sizeof(th->wchan), failed);
    }
    return 0;
}

int proc_reader_threads(struct proc_reader *r, int pid, unsigned wants,
                        void (*fn)(void *arg, const struct proc_thread *thread), void *arg,
                        unsigned *failed)
{
    const int *tids;
    size_t ntids;
    int rc = proc_reader_tasks(r, pid, &tids, &ntids);
    if (rc < 0) {
        if (rc != -ESRCH)
            *failed |= 1u << PROC_FILE_TASK;
        return rc;
    }
    struct proc_thread th;
    for (size_t i = 0; i < ntids; i++)
        if (proc_reader_thread(r, pid, tids[i], wants, &th, failed) == 0)
            fn(arg, &th);
    return 0;
}

int proc_reader_schedstat(struct proc_reader *r, int pid, int tid, struct proc_schedstat *out)
{
    char path[96];
    if (tid)
        proc_task_path(path, pid, tid, "schedstat");
    else
        proc_pid_path(path, pid, "schedstat");
    ssize_t n = proc_read_at(r, path, &r->file, 4096, PROC_ONE_SHOW);
    if (n < 0) {
        int err = (int)-n;
        if (err == ENOENT && (r->schedstat_missing || !r->is_procfs))
            return -ENOTSUP; /* a kernel or fixture tree without the file */
        return proc_gone(err) ? -ESRCH : -err;
    }
    return proc_parse_schedstat(r->file.buf, (size_t)n, out) == 0 ? 0 : -EINVAL;
}
