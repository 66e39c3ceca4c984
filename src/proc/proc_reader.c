#include "proc/proc_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/readfile.h"
#include "util/xalloc.h"

#define PROC_SUPER_MAGIC 0x9fa0
/* A command line longer than this is cut; argv[0] and the matchers see its first bytes. */
#define CMDLINE_MAX (4u << 20)

/* The most a per-process file is read to; longer ones are cut. */
#define FILE_MAX (1u << 20)

struct proc_reader {
    int root_fd;
    bool is_procfs;
    bool own_pid_ns; /* the procfs is /proc of our pid namespace: pids can be used in syscalls */
    bool schedstat_missing; /* the kernel has no /proc/PID/schedstat (CONFIG_SCHED_INFO off) */
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
    char dents[64 * 1024];
};

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

/* True for the errors that mean "the process exited while we looked". */
static bool is_gone(int err)
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
static void pid_path(char *path, int pid, const char *name)
{
    char *p = put_uint(path, (unsigned)pid);
    *p++ = '/';
    strcpy(p, name);
}

/* "PID/task/TID/name" */
static void task_path(char *path, int pid, int tid, const char *name)
{
    char *p = put_uint(path, (unsigned)pid);
    memcpy(p, "/task/", 6);
    p = put_uint(p + 6, (unsigned)tid);
    *p++ = '/';
    strcpy(p, name);
}

/* Reads a file under the procfs root into `b` (its previous contents dropped), cut at `max`.
 * Returns the length or a negative errno. */
static ssize_t read_at(struct proc_reader *r, const char *path, struct strbuf *b, size_t max,
                       unsigned flags)
{
    strbuf_reset(b);
    return readfile_at(r->root_fd, path, max, flags | READFILE_CUT, b);
}

/* The files of a process or thread that proctrack reads per scan (stat, status, io, limits,
 * cgroup, smaps_rollup, wchan, schedstat) are each made by one show() call of the kernel
 * (single_open): a read() into a buffer large enough returns all of it, so the read() that would
 * return 0 is skipped. Not cmdline, which is read in pieces from the process's memory. */
#define ONE_SHOW READFILE_ONE_RECORD

/* Reads /proc/PID/name into the reader's file buffer. */
static ssize_t read_pid(struct proc_reader *r, int pid, const char *name)
{
    char path[64];
    pid_path(path, pid, name);
    return read_at(r, path, &r->file, FILE_MAX, ONE_SHOW);
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
    long tck = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    r->ticks_per_second = tck > 0 ? (uint64_t)tck : 100;
    r->page_size = page > 0 ? (uint64_t)page : 4096;

    /* btime follows a line per CPU and the intr line (a number per IRQ): tens of KiB on a large
     * host, so the whole file is read. */
    ssize_t n = read_at(r, "stat", &r->file, 4u << 20, 0);
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

static bool parse_pid(const char *name, int *pid)
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
    if ((type == DT_DIR || type == DT_UNKNOWN) && parse_pid(name, &pid)) {
        r->pids = xgrow(r->pids, &r->pids_cap, r->npids + 1, sizeof(*r->pids));
        r->pids[r->npids++] = pid;
    }
}

int proc_reader_list(struct proc_reader *r)
{
    r->npids = r->next = 0;
    return readdir_at(r->root_fd, ".", r->dents, sizeof(r->dents), add_pid, r);
}

int proc_reader_next(struct proc_reader *r, struct proc_stat *stat)
{
    while (r->next < r->npids) {
        int pid = r->pids[r->next++];
        ssize_t n = read_pid(r, pid, "stat");
        if (n == 0 || (n < 0 && is_gone((int)-n)))
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
    pid_path(path, pid, "cmdline");
    ssize_t n = read_at(r, path, &r->cmdline, CMDLINE_MAX, 0);
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
            if (is_gone(-rc))
                return -ESRCH;
            *failed |= 1u << PROC_FILE_CMDLINE;
            id->cmdline = "";
        }
    }
    if (needs & PROC_NEED_EXE) {
        char path[64];
        pid_path(path, pid, "exe");
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
        ssize_t n = read_pid(r, pid, "cgroup");
        r->ncgroups = 0;
        strbuf_reset(&r->cgroup);
        if (n >= 0) {
            proc_parse_cgroup(r->file.buf, (size_t)n, add_cgroup, r);
            r->cgroups = xgrow(r->cgroups, &r->cgroups_cap, r->ncgroups, sizeof(*r->cgroups));
            for (size_t i = 0; i < r->ncgroups; i++)
                r->cgroups[i] = r->cgroup.buf + r->cgroup_offsets[i];
            id->cgroups = r->cgroups;
            id->ncgroups = r->ncgroups;
        } else if (is_gone((int)-n)) {
            return -ESRCH;
        } else {
            *failed |= 1u << PROC_FILE_CGROUP;
        }
    }
    if (needs & PROC_NEED_UID) {
        ssize_t n = read_pid(r, pid, "status");
        struct proc_status st;
        if (n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &st) == 0 && st.has_uid) {
            id->has_euid = true;
            id->euid = st.euid;
        } else if (n < 0 && is_gone((int)-n)) {
            return -ESRCH;
        } else {
            *failed |= 1u << PROC_FILE_STATUS;
        }
    }
    return 0;
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
    pid_path(path, pid, "fd");
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

/* Copies the wchan file (a kernel symbol, or "0" for none) into out. */
static void read_wchan(struct proc_reader *r, const char *path, char *out, size_t outlen,
                       unsigned *failed)
{
    out[0] = '\0';
    ssize_t n = read_at(r, path, &r->file, 4096, ONE_SHOW);
    if (n < 0) {
        if (!is_gone((int)-n))
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

    ssize_t n = read_pid(r, pid, "status");
    if (n < 0 && is_gone((int)-n))
        return -ESRCH;
    if (n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &m->status) == 0)
        m->has_status = true;
    else
        m->failed |= 1u << PROC_FILE_STATUS;

    /* A zombie or a process exiting right now may lose io, fd or limits while status still
     * reads; that is not an error, the parts are just absent. */
    n = read_pid(r, pid, "io");
    if (n >= 0 && proc_parse_io(r->file.buf, (size_t)n, &m->io) == 0)
        m->has_io = true;
    else if (!(n < 0 && is_gone((int)-n)))
        m->failed |= 1u << PROC_FILE_IO;

    int rc = count_fds(r, pid, &m->open_fds);
    if (rc == 0)
        m->has_open_fds = true;
    else if (!is_gone(-rc))
        m->failed |= 1u << PROC_FILE_FD;

    /* prlimit() is one syscall where formatting /proc/PID/limits costs twenty times more; it
     * needs the right to the process (same user or CAP_SYS_RESOURCE), else the file serves. */
    struct rlimit rl;
    if (r->own_pid_ns && prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0) {
        m->fd_limit = rl.rlim_cur == RLIM_INFINITY ? PROC_LIMIT_UNLIMITED : (uint64_t)rl.rlim_cur;
        m->has_fd_limit = true;
    } else {
        n = read_pid(r, pid, "limits");
        if (n >= 0 && proc_parse_limits_nofile(r->file.buf, (size_t)n, &m->fd_limit) == 0)
            m->has_fd_limit = true;
        else if (!(n < 0 && is_gone((int)-n)))
            m->failed |= 1u << PROC_FILE_LIMITS;
    }

    if (wants & PROC_WANT_SMAPS) {
        /* Kernel threads have no mm: ESRCH here means "nothing to measure", not an exit. */
        n = read_pid(r, pid, "smaps_rollup");
        if (n >= 0 &&
            proc_parse_smaps_rollup(r->file.buf, (size_t)n, &m->pss_bytes, &m->swap_pss_bytes) == 0)
            m->has_smaps = true;
        else if (!(n < 0 && is_gone((int)-n)) && n != 0)
            m->failed |= 1u << PROC_FILE_SMAPS;
    }
    if (wants & PROC_WANT_WCHAN) {
        char path[64];
        pid_path(path, pid, "wchan");
        read_wchan(r, path, m->wchan, sizeof(m->wchan), &m->failed);
    }
    return 0;
}

static void add_tid(void *arg, const char *name, unsigned char type)
{
    struct proc_reader *r = arg;
    int tid;
    (void)type;
    if (parse_pid(name, &tid)) {
        r->tids = xgrow(r->tids, &r->tids_cap, r->ntids + 1, sizeof(*r->tids));
        r->tids[r->ntids++] = tid;
    }
}

int proc_reader_tasks(struct proc_reader *r, int pid, const int **tids, size_t *ntids)
{
    char path[64];
    pid_path(path, pid, "task");
    r->ntids = 0;
    int rc = readdir_at(r->root_fd, path, r->dents, sizeof(r->dents), add_tid, r);
    if (rc < 0)
        return is_gone(-rc) ? -ESRCH : rc;
    *tids = r->tids;
    *ntids = r->ntids;
    return 0;
}

int proc_reader_thread(struct proc_reader *r, int pid, int tid, unsigned wants,
                       struct proc_thread *th, unsigned *failed)
{
    char path[96];
    task_path(path, pid, tid, "stat");
    ssize_t n = read_at(r, path, &r->file, FILE_MAX, ONE_SHOW);
    if (n <= 0 || proc_parse_stat(r->file.buf, (size_t)n, &th->stat) != 0) {
        if (n < 0 && !is_gone((int)-n)) {
            *failed |= 1u << PROC_FILE_TASK;
            return (int)n;
        }
        return -ESRCH; /* a thread that exited while we looked */
    }
    task_path(path, pid, tid, "io");
    n = read_at(r, path, &r->file, FILE_MAX, ONE_SHOW);
    th->has_io = n >= 0 && proc_parse_io(r->file.buf, (size_t)n, &th->io) == 0;
    if (!th->has_io && !(n < 0 && is_gone((int)-n)))
        *failed |= 1u << PROC_FILE_TASK;
    task_path(path, pid, tid, "status");
    n = read_at(r, path, &r->file, FILE_MAX, ONE_SHOW);
    th->has_status = n >= 0 && proc_parse_status(r->file.buf, (size_t)n, &th->status) == 0;
    th->wchan[0] = '\0';
    /* Only a sleeping thread has a wchan; skip the read for the others. */
    if ((wants & PROC_WANT_WCHAN) && (th->stat.state == 'S' || th->stat.state == 'D')) {
        task_path(path, pid, tid, "wchan");
        read_wchan(r, path, th->wchan, sizeof(th->wchan), failed);
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
        task_path(path, pid, tid, "schedstat");
    else
        pid_path(path, pid, "schedstat");
    ssize_t n = read_at(r, path, &r->file, 4096, ONE_SHOW);
    if (n < 0) {
        int err = (int)-n;
        if (err == ENOENT && (r->schedstat_missing || !r->is_procfs))
            return -ENOTSUP; /* a kernel or fixture tree without the file */
        return is_gone(err) ? -ESRCH : -err;
    }
    return proc_parse_schedstat(r->file.buf, (size_t)n, out) == 0 ? 0 : -EINVAL;
}
