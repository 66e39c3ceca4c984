#include "proc/proc_self.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/proc.h"
#include "util/readfile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct proc_self {
    int root_fd;
    uint64_t page_size;
    double start_time;
    struct strbuf file;
    char dents[4096];
};

static int read_stat(struct proc_self *self, struct proc_stat *st)
{
    strbuf_reset(&self->file);
    ssize_t n = readfile_at(self->root_fd, "self/stat", 4096, READFILE_ONE_RECORD, &self->file);
    if (n < 0)
        return (int)n;
    return proc_parse_stat(self->file.buf, (size_t)n, st);
}

struct proc_self *proc_self_new(const char *procfs)
{
    struct proc_self *self = xcalloc(1, sizeof(*self));
    self->root_fd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->root_fd < 0)
        goto out_free;
    long page = sysconf(_SC_PAGESIZE);
    long tck = sysconf(_SC_CLK_TCK);
    self->page_size = page > 0 ? (uint64_t)page : 4096;
    /* btime follows a line per CPU and the intr line: tens of KiB on a large host. */
    uint64_t btime;
    ssize_t n = readfile_at(self->root_fd, "stat", 4u << 20, 0, &self->file);
    if (n < 0 || proc_parse_btime(self->file.buf, (size_t)n, &btime) != 0)
        goto out_close_root;
    struct proc_stat st;
    if (read_stat(self, &st) != 0)
        goto out_close_root;
    self->start_time = (double)btime + (double)st.starttime_ticks / (double)(tck > 0 ? tck : 100);
    return self;

out_close_root:
    close(self->root_fd);
out_free:
    strbuf_free(&self->file);
    free(self);
    return NULL;
}

void proc_self_free(struct proc_self *self)
{
    if (!self)
        return;
    close(self->root_fd);
    strbuf_free(&self->file);
    free(self);
}

double proc_self_start_time(const struct proc_self *self)
{
    return self->start_time;
}

static void count_entry(void *arg, const char *name, unsigned char type)
{
    (void)name, (void)type;
    (*(uint64_t *)arg)++;
}

/* Since Linux 6.2 the size of /proc/PID/fd is the number of open fds; older kernels report 0, and
 * then the entries are counted (the listing's own descriptor among them, as client_golang's). */
static int count_fds(struct proc_self *self, uint64_t *count)
{
    struct stat st;
    if (fstatat(self->root_fd, "self/fd", &st, 0) != 0)
        return -errno;
    *count = (uint64_t)st.st_size;
    if (st.st_size > 0)
        return 0;
    return readdir_at(self->root_fd, "self/fd", self->dents, sizeof(self->dents), count_entry,
                      count);
}

static uint64_t soft_limit(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    return (uint64_t)rl.rlim_cur;
}

int proc_self_read(struct proc_self *self, struct proc_self_metrics *out)
{
    struct proc_stat st;
    int rc = read_stat(self, &st);
    if (rc != 0)
        return rc;
    rc = count_fds(self, &out->open_fds);
    if (rc != 0)
        return rc;
    out->cpu_ticks = st.utime_ticks + st.stime_ticks;
    out->rss_bytes = st.rss_pages * self->page_size;
    out->vsize_bytes = st.vsize_bytes;
    out->max_fds = soft_limit(RLIMIT_NOFILE);
    out->max_vsize_bytes = soft_limit(RLIMIT_AS);
    return 0;
}
