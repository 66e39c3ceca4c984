#include "util/nofile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>

/* Free descriptor numbers below `limit`, counted up to `enough`, and those in use on the way.
 * The kernel gives out the lowest free number, and none at or above the soft limit, so what an
 * open() can still get is exactly the free numbers below it. A loop of fcntl() rather than a
 * listing of /proc/self/fd, which needs a descriptor and a mounted procfs: it stops after
 * `enough` free ones and the few in use before them. */
static void count_free(uint64_t limit, uint64_t enough, struct nofile_status *st)
{
    st->free = st->in_use = 0;
    for (uint64_t fd = 0; fd < limit && st->free < enough && fd <= (uint64_t)INT32_MAX; fd++) {
        if (fcntl((int)fd, F_GETFD) == -1 && errno == EBADF)
            st->free++;
        else
            st->in_use++;
    }
}

int nofile_make_room(uint64_t want, struct nofile_status *st)
{
    struct rlimit rl;
    memset(st, 0, sizeof(*st));
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    st->limit = rl.rlim_cur;
    st->hard = rl.rlim_max;
    count_free(st->limit, want, st);
    if (st->free >= want || rl.rlim_cur >= rl.rlim_max)
        return 0;
    uint64_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0; /* a seccomp filter, say: what there is stays in `st` */
    st->raised_from = before;
    st->limit = rl.rlim_cur;
    count_free(st->limit, want, st);
    return 0;
}
