/* Who a process is: its command line, exe and cgroups, read once when it is first seen. */
#include "proc/proc_reader_private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/xalloc.h"

/* A command line longer than this is cut; argv[0] and the matchers see its first bytes. */
#define CMDLINE_MAX (4u << 20)

static void add_cgroup(void *arg, const char *path, size_t len)
{
    struct proc_reader *r = arg;
    r->cgroup_offsets =
        xgrow(r->cgroup_offsets, &r->offsets_cap, r->ncgroups + 1, sizeof(*r->cgroup_offsets));
    r->cgroup_offsets[r->ncgroups++] = r->cgroup.len;
    strbuf_append(&r->cgroup, path, len);
    strbuf_putc(&r->cgroup, '\0');
}

static int read_cmdline(struct proc_reader *r, int pid, struct proc_identity *id)
{
    char path[64];
    proc_pid_path(path, pid, "cmdline");
    ssize_t n = proc_read_at(r, path, &r->cmdline, CMDLINE_MAX, 0);
    if (n < 0)
        return (int)n;
    size_t len = (size_t)n;
    /* The joined form: NULs between arguments become spaces, the final one is dropped. */
    size_t jlen = len;
    while (jlen > 0 && r->cmdline.buf[jlen - 1] == '\0')
        jlen--;
    strbuf_reset(&r->joined);
    strbuf_append(&r->joined, r->cmdline.buf, jlen);
    for (size_t i = 0; i < jlen; i++)
        if (r->joined.buf[i] == '\0')
            r->joined.buf[i] = ' ';

    size_t argc = proc_split_cmdline(r->cmdline.buf, len, r->argv, r->argv_cap);
    if (argc > r->argv_cap) {
        r->argv = xgrow(r->argv, &r->argv_cap, argc, sizeof(*r->argv));
        proc_split_cmdline(r->cmdline.buf, len, r->argv, r->argv_cap);
    }
    id->argc = argc;
    id->argv = r->argv;
    id->cmdline = r->joined.buf;
    id->cmdline_len = jlen;
    return 0;
}

int proc_reader_cmdline(struct proc_reader *r, int pid, struct strbuf *out)
{
    struct proc_identity id;
    strbuf_reset(out);
    int rc = read_cmdline(r, pid, &id);
    if (rc == 0)
        strbuf_append(out, id.cmdline, id.cmdline_len);
    return rc;
}

int proc_reader_identity(struct proc_reader *r, const struct proc_stat *stat, unsigned needs,
                         struct proc_identity *id, unsigned *failed)
{
    int pid = stat->pid;
    memset(id, 0, sizeof(*id));
    id->pid = pid;
    id->ppid = stat->ppid;
    id->starttime_ticks = stat->starttime_ticks;
    id->start_time_ns =
        r->btime * 1000000000ull + stat->starttime_ticks * (1000000000ull / r->ticks_per_second);
    id->comm = stat->comm;
    id->cmdline = "";
    id->exe = "";
    *failed = 0;

    if (needs & PROC_NEED_CMDLINE) {
        int rc = read_cmdline(r, pid, id);
        if (rc < 0) {
            if (proc_gone(-rc))
                return -ESRCH;
            *failed |= 1u << PROC_FILE_CMDLINE;
            id->cmdline = "";
        }
    }
    if (needs & PROC_NEED_EXE) {
        char path[64];
        proc_pid_path(path, pid, "exe");
        strbuf_reset(&r->exe);
        strbuf_reserve(&r->exe, 4096);
        ssize_t n = readlinkat(r->root_fd, path, r->exe.buf, r->exe.cap - 1);
        if (n >= 0) {
            r->exe.buf[n] = '\0';
            id->exe = r->exe.buf;
        } else if (errno != ENOENT) { /* kernel threads have no exe */
            *failed |= 1u << PROC_FILE_EXE;
        }
    }
    if (needs & PROC_NEED_CGROUP) {
        ssize_t n = proc_read_pid(r, pid, "cgroup");
        r->ncgroups = 0;
        strbuf_reset(&r->cgroup);
        if (n >= 0) {
            proc_parse_cgroup(r->file.buf, (size_t)n, add_cgroup, r);
            r->cgroups = xgrow(r->cgroups, &r->cgroups_cap, r->ncgroups, sizeof(*r->cgroups));
            for (size_t i = 0; i < r->ncgroups; i++)
                r->cgroups[i] = r->cgroup.buf + r->cgroup_offsets[i];
            id->cgroups = r->cgroups;
            id->ncgroups = r->ncgroups;
        } else if (proc_gone((int)-n)) {
            return -ESRCH;
        } else {
            *failed |= 1u << PROC_FILE_CGROUP;
        }
    }
    if (needs & PROC_NEED_UID) {
        ssize_t n = proc_read_pid(r, pid, "status");
        struct proc_status st;
        if (n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &st) == 0 && st.has_uid) {
            id->has_euid = true;
            id->euid = st.euid;
        } else if (n < 0 && proc_gone((int)-n)) {
            return -ESRCH;
        } else {
            *failed |= 1u << PROC_FILE_STATUS;
        }
    }
    return 0;
}

/* Since Linux 6.9 a pidfd is a file of pidfs, and its inode number is the struct pid's, taken
 * from a 64-bit counter when the pid is allocated: unique for the boot, kept across an exec
 * (even from a worker thread, which takes over the leader's pid), new when a pid number is
 * reused. Before, pidfds were anonymous inodes, all with one inode number: useless here. */
#define PIDFS_MAGIC 0x50494446

static int pidfd_open_of(int pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

bool proc_pidfs_available(void)
{
    int fd = pidfd_open_of((int)getpid());
    if (fd < 0)
        return false;
    struct statfs sfs;
    bool pidfs = fstatfs(fd, &sfs) == 0 && sfs.f_type == PIDFS_MAGIC;
    close(fd);
    return pidfs;
}

int proc_reader_process_key(struct proc_reader *r, int pid, uint64_t *key)
{
    if (!r->pidfs)
        return -ENOTSUP;
    int fd = pidfd_open_of(pid);
    if (fd < 0)
        return fd; /* -ESRCH: gone; -EINVAL: the pid is now a thread's */
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    close(fd);
    if (rc == 0)
        *key = (uint64_t)st.st_ino;
    return rc;
}
