/* The listener: a taskstats socket registered for the exit records of every possible CPU, a
 * process connector socket, and a thread that keeps both drained so that a fork storm between
 * two scrapes does not overrun the kernel's receive buffers.
 *
 * Everything the thread and the scrapes share is under one mutex: the queue of exit records, the
 * identities of new processes and the reader that captures them. A take drains the sockets itself
 * before it hands the queue over, so a record sent before the take is in it. The thread holds the
 * mutex for one bounded batch at a time, so a take waits at most for that batch. */

#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acct/acct.h"
#include "proc/proc_reader.h"
#include "util/readfile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define RECV_BUF_BYTES (16u << 20) /* kernel receive buffer asked for each socket */
#define BATCH 64                   /* messages handled per hold of the mutex */
#define KEEP_TAKES 4               /* identities are kept this many takes: two scans */
/* Datagrams a take drains at most: it must end even if tasks exit faster than it can read. */
#define TAKE_MAX 16384

/* A new process as it was when it started or exec'd. */
struct identity {
    int pid, ppid;
    uint64_t start_time_ns;
    int next; /* in its hash chain, -1 at the end */
    bool used;
    bool has_euid;
    uint32_t euid;
    uint64_t starttime_ticks;
    uint64_t take; /* the take count when captured */
    size_t argc, ncgroups;
    /* comm, cmdline, exe, argv[0..argc), cgroups[0..ncgroups), each NUL-terminated */
    char *text;
    size_t text_len, text_cap;
};

struct acct_listener {
    pthread_t thread;
    bool running;
    int ts_fd, cn_fd, stop_fd[2];
    uint16_t family;
    /* The scan's own socket for questions about live tasks, apart from the exit records. */
    int query_fd;
    uint32_t query_seq;
    unsigned char query_buf[4096];

    pthread_mutex_t lock;
    struct acct_exit *queue, *taken;
    uint64_t empty_ns; /* the records socket was last seen empty then */
    size_t nqueue, queue_cap, ntaken, taken_cap, max_records;
    bool lost, full_counted;
    struct acct_stats stats;

    struct proc_reader *reader;
    unsigned needs;
    struct identity *ids; /* a ring: the oldest is overwritten first */
    size_t nids, next_id;
    int *buckets;
    size_t nbuckets;
    uint64_t takes;
    /* The last identity handed out: the consumer's own copy, which the thread never touches. */
    char *out_text;
    size_t out_text_cap;
    const char **argv, **cgroups;
    size_t argv_cap, cgroups_cap;

    unsigned char buf[65536];
};

static uint64_t boot_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- netlink plumbing ---- */

static int nl_send(int fd, const void *msg, size_t len)
{
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    return sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

static void put_attr(unsigned char *msg, size_t *len, uint16_t type, const void *data,
                     size_t data_len)
{
    struct nlattr nla = {.nla_len = (uint16_t)(NLA_HDRLEN + data_len), .nla_type = type};
    memcpy(msg + *len, &nla, sizeof(nla));
    memcpy(msg + *len + NLA_HDRLEN, data, data_len);
    *len += NLA_ALIGN(nla.nla_len);
}

/* A generic netlink request with one attribute; returns the reply's error (0: acked). */
static int genl_request(int fd, uint16_t type, uint8_t cmd, uint16_t attr, const void *data,
                        size_t data_len, unsigned char *reply, size_t reply_cap, ssize_t *got)
{
    unsigned char msg[512];
    size_t len = NLMSG_HDRLEN + GENL_HDRLEN;
    if (NLA_HDRLEN + data_len + len > sizeof(msg))
        return -EINVAL;
    memset(msg, 0, sizeof(msg));
    struct genlmsghdr genl = {.cmd = cmd, .version = 1};
    memcpy(msg + NLMSG_HDRLEN, &genl, sizeof(genl));
    put_attr(msg, &len, attr, data, data_len);
    struct nlmsghdr nlh = {.nlmsg_len = (uint32_t)len,
                           .nlmsg_type = type,
                           .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
                           .nlmsg_seq = 1};
    memcpy(msg, &nlh, sizeof(nlh));
    int rc = nl_send(fd, msg, len);
    if (rc < 0)
        return rc;
    /* The reply (for GETFAMILY) and the ack, in one or two datagrams. A socket of the kernel's
     * own family answers at once; exit records may come in between. */
    static _Thread_local unsigned char rbuf[8192];
    for (int tries = 0; tries < 64; tries++) {
        ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
        if (n < 0)
            return -errno;
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != nlh.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr e;
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(e)))
                    return -EINVAL;
                memcpy(&e, NLMSG_DATA(h), sizeof(e));
                return e.error;
            }
            if (h->nlmsg_len <= reply_cap) {
                memcpy(reply, h, h->nlmsg_len);
                *got = (ssize_t)h->nlmsg_len;
            }
        }
    }
    return -ETIMEDOUT;
}

static int resolve_family(int fd, uint16_t *family)
{
    unsigned char reply[4096];
    ssize_t got = 0;
    int rc =
        genl_request(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
                     TASKSTATS_GENL_NAME, sizeof(TASKSTATS_GENL_NAME), reply, sizeof(reply), &got);
    if (rc < 0)
        return rc;
    if (got < (ssize_t)(NLMSG_HDRLEN + GENL_HDRLEN))
        return -ENOENT;
    const unsigned char *p = reply + NLMSG_HDRLEN + GENL_HDRLEN;
    size_t len = (size_t)got - NLMSG_HDRLEN - GENL_HDRLEN;
    while (len >= NLA_HDRLEN) {
        struct nlattr nla;
        memcpy(&nla, p, sizeof(nla));
        if (nla.nla_len < NLA_HDRLEN || nla.nla_len > len)
            break;
        if ((nla.nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID &&
            nla.nla_len >= NLA_HDRLEN + 2) {
            memcpy(family, p + NLA_HDRLEN, 2);
            return 0;
        }
        size_t step = NLA_ALIGN(nla.nla_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return -ENOENT;
}

static void grow_rcvbuf(int fd)
{
    int size = (int)RECV_BUF_BYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int open_taskstats(struct acct_listener *l, const char *sysfs, char *err, size_t errlen)
{
    l->ts_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (l->ts_fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "generic netlink socket: %s", strerror(-rc));
        return rc;
    }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(l->ts_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "bind generic netlink socket: %s", strerror(-rc));
        return rc;
    }
    int rc = resolve_family(l->ts_fd, &l->family);
    if (rc < 0) {
        snprintf(err, errlen, "no TASKSTATS netlink family (kernel without CONFIG_TASKSTATS?): %s",
                 strerror(-rc));
        return -ENOENT;
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/devices/system/cpu/possible", sysfs);
    struct strbuf text = {0};
    rc = read_file(path, 256, &text);
    size_t n = rc < 0 ? 0 : text.len;
    while (n > 0 && (text.buf[n - 1] == '\n' || text.buf[n - 1] == ' '))
        n--;
    char cpus[256];
    memcpy(cpus, text.buf ? text.buf : "", n);
    cpus[n] = '\0';
    strbuf_free(&text);
    if (n == 0) {
        snprintf(err, errlen, "%s: cannot read the possible CPUs", path);
        return -ENOENT;
    }
    grow_rcvbuf(l->ts_fd);
    l->empty_ns = boot_ns(); /* no record is sent before the registration */
    unsigned char reply[1024];
    ssize_t got = 0;
    rc = genl_request(l->ts_fd, l->family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK,
                      cpus, n + 1, reply, sizeof(reply), &got);
    if (rc < 0) {
        snprintf(err, errlen, "register for exit records of CPUs %s: %s", cpus, strerror(-rc));
        return rc;
    }
    return 0;
}

/* A socket that is not registered for exit records: its only messages are answers. */
static void open_query(struct acct_listener *l)
{
    l->query_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (l->query_fd < 0)
        return;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(l->query_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(l->query_fd);
        l->query_fd = -1;
    }
}

static int open_connector(struct acct_listener *l)
{
    l->cn_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (l->cn_fd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
    if (bind(l->cn_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    grow_rcvbuf(l->cn_fd);
    unsigned char msg[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))];
    memset(msg, 0, sizeof(msg));
    struct nlmsghdr nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = NLMSG_DONE};
    struct cn_msg cn = {.id = {.idx = CN_IDX_PROC, .val = CN_VAL_PROC},
                        .len = sizeof(enum proc_cn_mcast_op)};
    enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
    memcpy(msg, &nlh, sizeof(nlh));
    memcpy(msg + NLMSG_HDRLEN, &cn, sizeof(cn));
    memcpy(msg + NLMSG_HDRLEN + sizeof(cn), &op, sizeof(op));
    return nl_send(l->cn_fd, msg, sizeof(msg));
}

/* ---- exit records (with the lock held) ---- */

static void push_record(struct acct_listener *l, const struct acct_exit *rec)
{
    if (l->nqueue >= l->max_records) {
        l->lost = true;
        if (!l->full_counted)
            l->stats.overruns++;
        l->full_counted = true;
        return;
    }
    l->queue = xgrow(l->queue, &l->queue_cap, l->nqueue + 1, sizeof(*l->queue));
    l->queue[l->nqueue++] = *rec;
}

/* Receives up to `max` datagrams. Returns how many were received. */
static unsigned drain_records(struct acct_listener *l, unsigned max)
{
    unsigned got = 0;
    for (unsigned i = 0; i < max; i++) {
        /* A datagram that was not there when the socket was found empty was sent after it. */
        uint64_t before = boot_ns();
        ssize_t n = recv(l->ts_fd, l->buf, sizeof(l->buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                l->empty_ns = before;
            if (errno == ENOBUFS) { /* the kernel dropped records: say so, go on */
                l->lost = true;
                l->stats.overruns++;
                continue;
            }
            if (errno == EINTR)
                continue;
            break;
        }
        got++;
        uint64_t now = boot_ns();
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)l->buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            struct acct_exit rec;
            if (acct_parse_taskstats(h, h->nlmsg_len, l->family, &rec) != 1)
                continue;
            rec.received_ns = now;
            rec.sent_after_ns = l->empty_ns;
            l->stats.records++;
            push_record(l, &rec);
        }
    }
    return got;
}

/* ---- identities of new processes (with the lock held) ---- */

static size_t bucket_of(const struct acct_listener *l, int pid)
{
    return (size_t)(unsigned)pid % l->nbuckets;
}

static void unlink_identity(struct acct_listener *l, size_t slot)
{
    struct identity *id = &l->ids[slot];
    if (!id->used)
        return;
    int *link = &l->buckets[bucket_of(l, id->pid)];
    while (*link >= 0 && *link != (int)slot)
        link = &l->ids[*link].next;
    if (*link == (int)slot)
        *link = id->next;
    id->used = false;
}

static void text_put(struct identity *id, const char *s, size_t len)
{
    id->text = xgrow(id->text, &id->text_cap, id->text_len + len + 1, 1);
    memcpy(id->text + id->text_len, s, len);
    id->text[id->text_len + len] = '\0';
    id->text_len += len + 1;
}

static void capture(struct acct_listener *l, int pid)
{
    struct proc_stat st;
    if (proc_reader_stat(l->reader, pid, &st) < 0)
        return;
    struct proc_identity pid_id;
    unsigned failed = 0;
    if (proc_reader_identity(l->reader, &st, l->needs, &pid_id, &failed) < 0)
        return;
    size_t slot = l->next_id;
    l->next_id = (l->next_id + 1) % l->nids;
    unlink_identity(l, slot);
    struct identity *id = &l->ids[slot];
    id->pid = pid;
    id->used = true;
    id->has_euid = pid_id.has_euid;
    id->euid = pid_id.euid;
    id->starttime_ticks = st.starttime_ticks;
    id->ppid = st.ppid;
    id->start_time_ns = pid_id.start_time_ns;
    id->take = l->takes;
    id->argc = pid_id.argc;
    id->ncgroups = pid_id.ncgroups;
    id->text_len = 0;
    text_put(id, pid_id.comm, strlen(pid_id.comm));
    text_put(id, pid_id.cmdline, pid_id.cmdline_len);
    text_put(id, pid_id.exe, strlen(pid_id.exe));
    for (size_t i = 0; i < pid_id.argc; i++)
        text_put(id, pid_id.argv[i], strlen(pid_id.argv[i]));
    for (size_t i = 0; i < pid_id.ncgroups; i++)
        text_put(id, pid_id.cgroups[i], strlen(pid_id.cgroups[i]));
    size_t b = bucket_of(l, pid);
    id->next = l->buckets[b];
    l->buckets[b] = (int)slot;
    l->stats.identities++;
}

static void drain_events(struct acct_listener *l, unsigned max)
{
    if (l->cn_fd < 0)
        return;
    for (unsigned i = 0; i < max; i++) {
        ssize_t n = recv(l->cn_fd, l->buf, sizeof(l->buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS || errno == EINTR)
                continue; /* lost events only cost identities: records still come */
            break;
        }
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)l->buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            struct acct_event ev;
            if (acct_parse_proc_event(h, h->nlmsg_len, &ev) != 1)
                continue;
            l->stats.events++;
            /* A new process, or one that runs a new program: its own identity. New threads
             * (pid != tgid) belong to a process already known. */
            if ((ev.kind == ACCT_EVENT_FORK || ev.kind == ACCT_EVENT_EXEC) && ev.pid == ev.tgid &&
                ev.pid > 0)
                capture(l, ev.pid);
        }
    }
}

/* ---- the thread ---- */

static void *listen_thread(void *arg)
{
    struct acct_listener *l = arg;
    struct pollfd fds[3] = {{.fd = l->stop_fd[0], .events = POLLIN},
                            {.fd = l->ts_fd, .events = POLLIN},
                            {.fd = l->cn_fd, .events = POLLIN}};
    nfds_t nfds = l->cn_fd >= 0 ? 3 : 2;
    for (;;) {
        if (poll(fds, nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        /* Events first: an exec's identity is worth more the sooner it is read. */
        if (nfds == 3 && fds[2].revents) {
            pthread_mutex_lock(&l->lock);
            drain_events(l, BATCH);
            pthread_mutex_unlock(&l->lock);
        }
        if (fds[1].revents) {
            pthread_mutex_lock(&l->lock);
            drain_records(l, BATCH);
            pthread_mutex_unlock(&l->lock);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

int acct_listener_start(const struct acct_listener_options *o, struct acct_listener **out,
                        char *err, size_t errlen)
{
    struct acct_listener *l = xcalloc(1, sizeof(*l));
    l->ts_fd = l->cn_fd = l->query_fd = l->stop_fd[0] = l->stop_fd[1] = -1;
    l->max_records = o->max_records ? o->max_records : 1u << 16;
    l->nids = o->max_identities ? o->max_identities : 1u << 14;
    l->ids = xcalloc(l->nids, sizeof(*l->ids));
    l->nbuckets = l->nids;
    l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
    for (size_t i = 0; i < l->nbuckets; i++)
        l->buckets[i] = -1;
    l->needs = o->needs;
    pthread_mutex_init(&l->lock, NULL);
    int rc = open_taskstats(l, o->sysfs, err, errlen);
    if (rc < 0)
        goto fail;
    open_query(l);
    l->reader = proc_reader_new(o->procfs, err, errlen);
    if (!l->reader) {
        rc = -EINVAL;
        goto fail;
    }
    if (open_connector(l) < 0) {
        if (l->cn_fd >= 0)
            close(l->cn_fd);
        l->cn_fd = -1;
    }
    if (pipe2(l->stop_fd, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(err, errlen, "pipe: %s", strerror(-rc));
        goto fail;
    }
    rc = -pthread_create(&l->thread, NULL, listen_thread, l);
    if (rc < 0) {
        snprintf(err, errlen, "start the exit record thread: %s", strerror(-rc));
        goto fail;
    }
    l->running = true;
    *out = l;
    return 0;
fail:
    acct_listener_stop(l);
    return rc;
}

void acct_listener_stop(struct acct_listener *l)
{
    if (!l)
        return;
    if (l->running) {
        char c = 0;
        if (write(l->stop_fd[1], &c, 1) < 0) {
            /* a full pipe already says stop */
        }
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (l->stop_fd[i] >= 0)
            close(l->stop_fd[i]);
    if (l->ts_fd >= 0)
        close(l->ts_fd); /* the kernel drops a closed socket's registration */
    if (l->cn_fd >= 0)
        close(l->cn_fd);
    if (l->query_fd >= 0)
        close(l->query_fd);
    proc_reader_free(l->reader);
    for (size_t i = 0; i < l->nids; i++)
        free(l->ids[i].text);
    free(l->ids);
    free(l->buckets);
    free(l->queue);
    free(l->taken);
    free(l->out_text);
    free(l->argv);
    free(l->cgroups);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void acct_listener_set_needs(struct acct_listener *l, unsigned needs)
{
    pthread_mutex_lock(&l->lock);
    l->needs = needs;
    pthread_mutex_unlock(&l->lock);
}

bool acct_listener_has_events(const struct acct_listener *l)
{
    return l->cn_fd >= 0;
}

int acct_listener_task_switches(struct acct_listener *l, int tid, struct proc_switches *out)
{
    if (l->query_fd < 0)
        return -ENOTSUP;
    unsigned char msg[64];
    size_t len = NLMSG_HDRLEN + GENL_HDRLEN;
    memset(msg, 0, sizeof(msg));
    struct genlmsghdr genl = {.cmd = TASKSTATS_CMD_GET, .version = 1};
    memcpy(msg + NLMSG_HDRLEN, &genl, sizeof(genl));
    uint32_t id = (uint32_t)tid;
    put_attr(msg, &len, TASKSTATS_CMD_ATTR_PID, &id, sizeof(id));
    struct nlmsghdr nlh = {.nlmsg_len = (uint32_t)len,
                           .nlmsg_type = l->family,
                           .nlmsg_flags = NLM_F_REQUEST,
                           .nlmsg_seq = ++l->query_seq};
    memcpy(msg, &nlh, sizeof(nlh));
    int rc = nl_send(l->query_fd, msg, len);
    if (rc < 0)
        return rc;
    /* The kernel answers within the send; what is queued before the answer is an answer to an
     * earlier question that was given up on. */
    for (;;) {
        ssize_t n = recv(l->query_fd, l->query_buf, sizeof(l->query_buf), MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN ? -EIO : -errno;
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)l->query_buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != nlh.nlmsg_seq)
                continue;
            rc = acct_parse_task_switches(h, h->nlmsg_len, l->family, tid, out);
            if (rc != 0)
                return rc < 0 ? rc : 0;
        }
    }
}

size_t acct_listener_take(struct acct_listener *l, const struct acct_exit **records, bool *lost)
{
    pthread_mutex_lock(&l->lock);
    drain_events(l, TAKE_MAX);
    if (drain_records(l, TAKE_MAX) == TAKE_MAX) {
        /* Some records of tasks that exited before this take are still in the socket: for the
         * tracker, this interval's records are incomplete. */
        l->lost = true;
    }
    struct acct_exit *q = l->queue;
    size_t cap = l->queue_cap;
    l->queue = l->taken;
    l->queue_cap = l->taken_cap;
    l->taken = q;
    l->taken_cap = cap;
    l->ntaken = l->nqueue;
    l->nqueue = 0;
    *lost = l->lost;
    l->lost = l->full_counted = false;
    l->takes++;
    for (size_t i = 0; i < l->nids; i++)
        if (l->ids[i].used && l->takes - l->ids[i].take > KEEP_TAKES)
            unlink_identity(l, i);
    pthread_mutex_unlock(&l->lock);
    *records = l->taken;
    return l->ntaken;
}

int acct_listener_identity(struct acct_listener *l, int pid, uint64_t earliest_ticks,
                           uint64_t latest_ticks, struct proc_identity *out)
{
    pthread_mutex_lock(&l->lock);
    /* The newest capture of that pid whose process did not start after the record's. */
    const struct identity *best = NULL;
    for (int i = l->buckets[bucket_of(l, pid)]; i >= 0; i = l->ids[i].next) {
        const struct identity *id = &l->ids[i];
        if (id->pid != pid || id->starttime_ticks > latest_ticks + 1)
            continue;
        if (!best || id->starttime_ticks > best->starttime_ticks ||
            (id->starttime_ticks == best->starttime_ticks && id->take >= best->take))
            best = id;
    }
    int rc = -ENOENT;
    if (best && best->starttime_ticks + 1 >= earliest_ticks) {
        l->argv = xgrow(l->argv, &l->argv_cap, best->argc + 1, sizeof(*l->argv));
        l->cgroups = xgrow(l->cgroups, &l->cgroups_cap, best->ncgroups + 1, sizeof(*l->cgroups));
        l->out_text = xgrow(l->out_text, &l->out_text_cap, best->text_len, 1);
        memcpy(l->out_text, best->text, best->text_len);
        const char *p = l->out_text;
        memset(out, 0, sizeof(*out));
        out->pid = pid;
        out->ppid = best->ppid;
        out->start_time_ns = best->start_time_ns;
        out->starttime_ticks = best->starttime_ticks;
        out->comm = p;
        p += strlen(p) + 1;
        out->cmdline = p;
        out->cmdline_len = strlen(p);
        p += out->cmdline_len + 1;
        out->exe = p;
        p += strlen(p) + 1;
        for (size_t i = 0; i < best->argc; i++, p += strlen(p) + 1)
            l->argv[i] = p;
        for (size_t i = 0; i < best->ncgroups; i++, p += strlen(p) + 1)
            l->cgroups[i] = p;
        out->argc = best->argc;
        out->argv = l->argv;
        out->ncgroups = best->ncgroups;
        out->cgroups = l->cgroups;
        out->has_euid = best->has_euid;
        out->euid = best->euid;
        rc = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void acct_listener_stats(struct acct_listener *l, struct acct_stats *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->stats;
    pthread_mutex_unlock(&l->lock);
}
