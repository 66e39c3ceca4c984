/* What a tracked process reports beyond stat: status, io, open fds, the fd limit, smaps_rollup
 * and wchan, each on request. */
#include "proc/proc_reader_private.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *const file_names[PROC_FILE_COUNT] = {
    [PROC_FILE_STAT] = "stat",   [PROC_FILE_STATUS] = "status", [PROC_FILE_IO] = "io",
    [PROC_FILE_FD] = "fd",       [PROC_FILE_LIMITS] = "limits", [PROC_FILE_CMDLINE] = "cmdline",
    [PROC_FILE_EXE] = "exe",     [PROC_FILE_CGROUP] = "cgroup", [PROC_FILE_SMAPS] = "smaps_rollup",
    [PROC_FILE_WCHAN] = "wchan", [PROC_FILE_TASK] = "task",
};

const char *proc_file_name(enum proc_file file)
{
    return file < PROC_FILE_COUNT ? file_names[file] : "?";
}

static void count_entry(void *arg, const char *name, unsigned char type)
{
    (void)name;
    (void)type;
    (*(uint64_t *)arg)++;
}

/* The number of open fds. On procfs since Linux 6.2 the size of /proc/PID/fd is that number, one
 * stat() instead of listing the directory; older kernels report 0, and then we count entries. */
static int count_fds(struct proc_reader *r, int pid, uint64_t *count)
{
    char path[64];
    proc_pid_path(path, pid, "fd");
    if (r->is_procfs) {
        struct stat st;
        if (fstatat(r->root_fd, path, &st, 0) != 0)
            return -errno;
        if (st.st_size > 0) {
            *count = (uint64_t)st.st_size;
            return 0;
        }
    }
    *count = 0;
    return readdir_at(r->root_fd, path, r->dents, sizeof(r->dents), count_entry, count);
}

void proc_read_wchan(struct proc_reader *r, const char *path, char *out, size_t outlen,
                     unsigned *failed)
{
    out[0] = '\0';
    ssize_t n = proc_read_at(r, path, &r->file, 4096, PROC_ONE_SHOW);
    if (n < 0) {
        if (!proc_gone((int)-n))
            *failed |= 1u << PROC_FILE_WCHAN;
        return;
    }
    size_t len = (size_t)n;
    while (len && (r->file.buf[len - 1] == '\n' || r->file.buf[len - 1] == ' '))
        len--;
    if (len == 0 || (len == 1 && r->file.buf[0] == '0'))
        return;
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, r->file.buf, len);
    out[len] = '\0';
}

int proc_reader_metrics(struct proc_reader *r, int pid, unsigned wants, struct proc_metrics *m)
{
    memset(m, 0, sizeof(*m));
    ssize_t n;

    if (wants & PROC_WANT_STATUS) {
        n = proc_read_pid(r, pid, "status");
        if (n < 0 && proc_gone((int)-n))
            return -ESRCH;
        if (n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &m->status) == 0)
            m->has_status = true;
        else
            m->failed |= 1u << PROC_FILE_STATUS;
    }

    /* A zombie or a process exiting right now may lose io, fd or limits while status still
     * reads; that is not an error, the parts are just absent. */
    if (wants & PROC_WANT_IO) {
        n = proc_read_pid(r, pid, "io");
        if (n >= 0 && proc_parse_io(r->file.buf, (size_t)n, &m->io) == 0)
            m->has_io = true;
        else if (!(n < 0 && proc_gone((int)-n)))
            m->failed |= 1u << PROC_FILE_IO;
    }

    if (wants & PROC_WANT_FDS) {
        int rc = count_fds(r, pid, &m->open_fds);
        if (rc == 0)
            m->has_open_fds = true;
        else if (!proc_gone(-rc))
            m->failed |= 1u << PROC_FILE_FD;
    }

    /* prlimit() is one syscall where formatting /proc/PID/limits costs twenty times more; it
     * needs the right to the process (same user or CAP_SYS_RESOURCE), else the file serves. */
    struct rlimit rl;
    if (!(wants & PROC_WANT_LIMIT)) {
        /* not asked for */
    } else if (r->own_pid_ns && prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0) {
        m->fd_limit = rl.rlim_cur == RLIM_INFINITY ? PROC_LIMIT_UNLIMITED : (uint64_t)rl.rlim_cur;
        m->has_fd_limit = true;
    } else {
        n = proc_read_pid(r, pid, "limits");
        if (n >= 0 && proc_parse_limits_nofile(r->file.buf, (size_t)n, &m->fd_limit) == 0)
            m->has_fd_limit = true;
        else if (!(n < 0 && proc_gone((int)-n)))
            m->failed |= 1u << PROC_FILE_LIMITS;
        else if (!(wants & PROC_WANT_STATUS))
            return -ESRCH; /* without status, this is where an exit shows */
    }

    if (wants & PROC_WANT_SMAPS) {
        /* Kernel threads have no mm: ESRCH here means "nothing to measure", not an exit. */
        n = proc_read_pid(r, pid, "smaps_rollup");
        if (n >= 0 &&
            proc_parse_smaps_rollup(r->file.buf, (size_t)n, &m->pss_bytes, &m->swap_pss_bytes) == 0)
            m->has_smaps = true;
        else if (!(n < 0 && proc_gone((int)-n)) && n != 0)
            m->failed |= 1u << PROC_FILE_SMAPS;
    }
    if (wants & PROC_WANT_WCHAN) {
        char path[64];
        proc_pid_path(path, pid, "wchan");
        proc_read_wchan(r, path, m->wchan, sizeof(m->wchan), &m->failed);
    }
    return 0;
}
