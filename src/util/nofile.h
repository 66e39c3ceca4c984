/* How many file descriptors the process may still open (RLIMIT_NOFILE), and room for more when
 * the hard limit allows it. */
#ifndef PROCTRACK_UTIL_NOFILE_H
#define PROCTRACK_UTIL_NOFILE_H

#include <stdint.h>

struct nofile_status {
    uint64_t limit;       /* the soft limit, after any raise */
    uint64_t hard;        /* the hard limit */
    uint64_t raised_from; /* the soft limit before it was raised; 0: not raised */
    /* Descriptor numbers below `limit` not in use, counted up to the `want` asked for: exact
     * when less than `want`. */
    uint64_t free;
    /* Descriptors open below `limit` (standard streams, inherited ones): exact when `free` is
     * less than `want`, so that `in_use` + n is the limit under which n more fit. */
    uint64_t in_use;
};

/* Makes room for `want` more descriptors: when fewer are free under the soft limit, raises it to
 * the hard limit (as Go's runtime and many daemons do; proctrack waits with poll and epoll, never
 * select, so descriptors past FD_SETSIZE are fine). Returns 0 with `st` filled, or a negative
 * errno when the limits cannot be read. A soft limit that cannot be raised is left as it is:
 * `st->free` says what there is. */
int nofile_make_room(uint64_t want, struct nofile_status *st);

#endif /* PROCTRACK_UTIL_NOFILE_H */
