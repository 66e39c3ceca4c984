/* The reader's frame: opening a procfs tree, listing its processes, reading the stat of each, and
 * reading any file or directory under a root for the collectors beside the tracker. */
#include "proc/proc_reader_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/xalloc.h"

#define PROC_SUPER_MAGIC 0x9fa0

/* True for the errors that mean "the process exited while we looked". */
bool proc_gone(int err)
{
    return err == ENOENT || err == ESRCH;
}

/* Writes the decimal `v` at `out` and returns the end; no snprintf on the per-process path. */
static char *put_uint(char *out, unsigned v)
{
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *out++ = digits[--n];
    return out;
}

/* "PID/name" */
void proc_pid_path(char *path, int pid, const char *name)
{
    char *p = put_uint(path, (unsigned)pid);
    *p++ = '/';
    strcpy(p, name);
}

/* "PID/task/TID/name" */
void proc_task_path(char *path, int pid, int tid, const char *name)
{
    char *p = put_uint(path, (unsigned)pid);
    memcpy(p, "/task/", 6);
    p = put_uint(p + 6, (unsigned)tid);
    *p++ = '/';
    strcpy(p, name);
}

/* Reads a file under the procfs root into `b` (its previous contents dropped), cut at `max`.
 * Returns the length or a negative errno. */
ssize_t proc_read_at(struct proc_reader *r, const char *path, struct strbuf *b, size_t max,
                     unsigned flags)
{
    strbuf_reset(b);
    return readfile_at(r->root_fd, path, max, flags | READFILE_CUT, b);
}

/* Reads /proc/PID/name into the reader's file buffer. */
ssize_t proc_read_pid(struct proc_reader *r, int pid, const char *name)
{
    char path[64];
    proc_pid_path(path, pid, name);
    return proc_read_at(r, path, &r->file, PROC_FILE_MAX, PROC_ONE_SHOW);
}

struct proc_reader *proc_reader_new(const char *procfs, char *err, size_t errlen)
{
    struct proc_reader *r = xcalloc(1, sizeof(*r));
    r->root_fd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->root_fd < 0) {
        snprintf(err, errlen, "cannot open procfs %s: %s", procfs, strerror(errno));
        goto out_free;
    }
    struct statfs sfs;
    r->is_procfs = fstatfs(r->root_fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
    /* prlimit() takes a pid of our namespace: only when <procfs>/self is us. */
    char self[32];
    ssize_t self_len = readlinkat(r->root_fd, "self", self, sizeof(self) - 1);
    if (r->is_procfs && self_len > 0) {
        self[self_len] = '\0';
        r->own_pid_ns = atoi(self) == (int)getpid();
    }
    /* Without schedstat every task is read in full; test it on ourselves (or on a fixture's
     * first process, which simply lacks the file). */
    r->schedstat_missing = faccessat(r->root_fd, "self/schedstat", F_OK, 0) != 0 && r->is_procfs;
    r->pidfs = r->own_pid_ns && proc_pidfs_available();
    long tck = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    r->ticks_per_second = tck > 0 ? (uint64_t)tck : 100;
    r->page_size = page > 0 ? (uint64_t)page : 4096;

    /* btime follows a line per CPU and the intr line (a number per IRQ): tens of KiB on a large
     * host, so the whole file is read. */
    ssize_t n = proc_read_at(r, "stat", &r->file, 4u << 20, 0);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s/stat: %s", procfs, strerror((int)-n));
        goto out_close_root;
    }
    if (proc_parse_btime(r->file.buf, (size_t)n, &r->btime) != 0) {
        snprintf(err, errlen, "no btime in %s/stat: is %s a procfs?", procfs, procfs);
        goto out_close_root;
    }
    return r;

out_close_root:
    close(r->root_fd);
    strbuf_free(&r->file);
out_free:
    free(r);
    return NULL;
}

bool proc_reader_own_pid_ns(const struct proc_reader *r)
{
    return r->own_pid_ns;
}

void proc_reader_free(struct proc_reader *r)
{
    if (!r)
        return;
    close(r->root_fd);
    free(r->pids);
    free(r->tids);
    strbuf_free(&r->file);
    strbuf_free(&r->cmdline);
    strbuf_free(&r->joined);
    strbuf_free(&r->exe);
    strbuf_free(&r->cgroup);
    strbuf_free(&r->any);
    strbuf_free(&r->path);
    free(r->argv);
    free(r->cgroups);
    free(r->cgroup_offsets);
    free(r);
}

uint64_t proc_reader_ticks_per_second(const struct proc_reader *r)
{
    return r->ticks_per_second;
}

uint64_t proc_reader_page_size(const struct proc_reader *r)
{
    return r->page_size;
}

uint64_t proc_reader_btime(const struct proc_reader *r)
{
    return r->btime;
}

int proc_reader_swap_moves(struct proc_reader *r, uint64_t *moves)
{
    ssize_t n = proc_read_at(r, "vmstat", &r->file, 1u << 20, 0);
    if (n < 0)
        return (int)n;
    return proc_parse_vmstat_swap(r->file.buf, (size_t)n, moves);
}

bool proc_parse_pid(const char *name, int *pid)
{
    uint64_t v = 0;
    if (*name < '1' || *name > '9')
        return false;
    for (; *name; name++) {
        if (*name < '0' || *name > '9' || v > INT32_MAX / 10)
            return false;
        v = v * 10 + (uint64_t)(*name - '0');
    }
    if (v > INT32_MAX)
        return false;
    *pid = (int)v;
    return true;
}

static void add_pid(void *arg, const char *name, unsigned char type)
{
    struct proc_reader *r = arg;
    int pid;
    if ((type == DT_DIR || type == DT_UNKNOWN) && proc_parse_pid(name, &pid)) {
        r->pids = xgrow(r->pids, &r->pids_cap, r->npids + 1, sizeof(*r->pids));
        r->pids[r->npids++] = pid;
    }
}

int proc_reader_list(struct proc_reader *r)
{
    r->npids = r->next = 0;
    return readdir_at(r->root_fd, ".", r->dents, sizeof(r->dents), add_pid, r);
}

int proc_reader_stat(struct proc_reader *r, int pid, struct proc_stat *stat)
{
    ssize_t n = proc_read_pid(r, pid, "stat");
    if (n == 0 || (n < 0 && proc_gone((int)-n)))
        return -ESRCH;
    if (n < 0)
        return (int)n;
    return proc_parse_stat(r->file.buf, (size_t)n, stat) == 0 ? 0 : -EINVAL;
}

int proc_reader_next(struct proc_reader *r, struct proc_stat *stat)
{
    while (r->next < r->npids) {
        int pid = r->pids[r->next++];
        ssize_t n = proc_read_pid(r, pid, "stat");
        if (n == 0 || (n < 0 && proc_gone((int)-n)))
            continue;
        if (n < 0) {
            stat->pid = pid;
            return (int)n;
        }
        if (proc_parse_stat(r->file.buf, (size_t)n, stat) != 0) {
            stat->pid = pid;
            return -EINVAL;
        }
        return 1;
    }
    return 0;
}

/* Where `name` under `root` is opened from: the procfs root's fd, or the path "root/name". */
static const char *locate(struct proc_reader *r, const char *root, const char *name, int *dirfd)
{
    if (!root) {
        *dirfd = r->root_fd;
        return name;
    }
    strbuf_reset(&r->path);
    strbuf_puts(&r->path, root);
    strbuf_putc(&r->path, '/');
    strbuf_puts(&r->path, name);
    *dirfd = AT_FDCWD;
    return r->path.buf;
}

ssize_t proc_reader_file(struct proc_reader *r, const char *root, const char *name, size_t max,
                         const char **data)
{
    int dirfd;
    const char *path = locate(r, root, name, &dirfd);
    strbuf_reset(&r->any);
    ssize_t n = readfile_at(dirfd, path, max, READFILE_CUT, &r->any);
    *data = strbuf_str(&r->any);
    return n;
}

static int stat_at(struct proc_reader *r, const char *root, const char *name, struct stat *st)
{
    int dirfd;
    const char *path = locate(r, root, name, &dirfd);
    return fstatat(dirfd, path, st, 0) == 0 ? 0 : -errno;
}

int proc_reader_mtime(struct proc_reader *r, const char *root, const char *name, int64_t *mtime_ns)
{
    struct stat st;
    int rc = stat_at(r, root, name, &st);
    if (rc == 0)
        *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return rc;
}

int proc_reader_inode(struct proc_reader *r, const char *root, const char *name, uint64_t *inode)
{
    struct stat st;
    int rc = stat_at(r, root, name, &st);
    if (rc == 0)
        *inode = (uint64_t)st.st_ino;
    return rc;
}

int proc_reader_dir(struct proc_reader *r, const char *root, const char *name, readdir_fn fn,
                    void *arg)
{
    int dirfd;
    const char *path = locate(r, root, name, &dirfd);
    return readdir_at(dirfd, path, r->dents, sizeof(r->dents), fn, arg);
}
