/* The QMP client (see pve_qmp.h): every VM's exchange is a small state machine over a
 * non-blocking socket, all of them driven by one poll() loop under one deadline. */
#include "pve/pve_qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

/* A reply larger than this is refused: a VM with PVE_QMP_DISKS_MAX disks answers query-blockstats
 * in about 200 KiB. */
#define REPLY_MAX (1024 * 1024)

static const char *const error_names[PVE_QMP_ERRORS] = {"ok", "connect", "timeout", "closed",
                                                        "protocol"};

const char *pve_qmp_error_name(enum pve_qmp_error error)
{
    return error < PVE_QMP_ERRORS ? error_names[error] : "?";
}

/* Sent at once after the greeting: QMP answers in order. */
static const char commands[] = "{\"execute\":\"qmp_capabilities\"}\n"
                               "{\"execute\":\"query-blockstats\"}\n"
                               "{\"execute\":\"query-block\"}\n";

enum state { GREETING, SENDING, REPLIES, DONE };

struct conn {
    struct pve_qmp_query *query;
    int fd;
    enum state state;
    size_t sent;
    unsigned replies; /* 0: capabilities, 1: blockstats, 2: block */
    char *buf;
    size_t len, cap;
};

static void finish(struct conn *c, enum pve_qmp_error error)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = DONE;
    c->query->error = error;
}

static void start(struct conn *c)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t n = strlen(c->query->path);
    if (n >= sizeof(addr.sun_path)) {
        finish(c, PVE_QMP_CONNECT);
        return;
    }
    memcpy(addr.sun_path, c->query->path, n + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        finish(c, PVE_QMP_CONNECT);
        return;
    }
    /* A full backlog gives EAGAIN on a Unix socket: poll for writability then. */
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EAGAIN &&
        errno != EINPROGRESS)
        finish(c, PVE_QMP_CONNECT);
}

enum line_kind { LINE_EVENT, LINE_RETURN, LINE_OTHER };

static enum line_kind line_kind(const char *line, size_t len)
{
    json_t *root = json_loadb(line, len, 0, NULL);
    enum line_kind kind = json_object_get(root, "event")    ? LINE_EVENT
                          : json_object_get(root, "return") ? LINE_RETURN
                                                            : LINE_OTHER;
    json_decref(root);
    return kind;
}

/* One whole line from the peer. */
static void take_line(struct conn *c, const char *line, size_t len)
{
    if (c->state == GREETING) {
        json_t *root = json_loadb(line, len, 0, NULL);
        bool qmp = json_is_object(json_object_get(root, "QMP"));
        json_decref(root);
        if (!qmp)
            finish(c, PVE_QMP_PROTOCOL);
        else
            c->state = SENDING;
        return;
    }
    enum line_kind kind = line_kind(line, len);
    if (kind == LINE_EVENT)
        return;
    if (kind != LINE_RETURN) {
        finish(c, PVE_QMP_PROTOCOL);
        return;
    }
    struct pve_qmp_disks *disks = &c->query->disks;
    int rc = 0;
    if (c->replies == 1)
        rc = pve_qmp_parse_blockstats(line, len, disks);
    else if (c->replies == 2)
        rc = pve_qmp_parse_block(line, len, disks);
    if (rc == -EPROTO) {
        finish(c, PVE_QMP_PROTOCOL);
        return;
    }
    if (++c->replies == 3)
        finish(c, PVE_QMP_OK);
}

static void readable(struct conn *c)
{
    for (;;) {
        if (c->cap - c->len < 4096) {
            if (c->cap >= REPLY_MAX) {
                finish(c, PVE_QMP_PROTOCOL);
                return;
            }
            c->buf = xgrow(c->buf, &c->cap, c->len + 4096, 1);
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            finish(c, n == 0 ? PVE_QMP_CLOSED : PVE_QMP_CONNECT);
            return;
        }
        c->len += (size_t)n;
        char *nl;
        while (c->state != DONE && (nl = memchr(c->buf, '\n', c->len))) {
            size_t line = (size_t)(nl - c->buf) + 1;
            take_line(c, c->buf, line);
            memmove(c->buf, c->buf + line, c->len - line);
            c->len -= line;
        }
        if (c->state == DONE)
            return;
    }
}

static void writable(struct conn *c)
{
    if (c->state != SENDING)
        return;
    ssize_t n = send(c->fd, commands + c->sent, sizeof(commands) - 1 - c->sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        finish(c, PVE_QMP_CONNECT);
        return;
    }
    c->sent += (size_t)n;
    if (c->sent == sizeof(commands) - 1)
        c->state = REPLIES;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pve_qmp_query(struct pve_qmp_query *queries, size_t n, int timeout_ms)
{
    if (n == 0)
        return;
    struct conn *conns = xcalloc(n, sizeof(*conns));
    struct pollfd *fds = xcalloc(n, sizeof(*fds));
    for (size_t i = 0; i < n; i++) {
        queries[i].disks.n = 0;
        queries[i].error = PVE_QMP_TIMEOUT;
        conns[i] = (struct conn){.query = &queries[i], .fd = -1, .state = GREETING};
        start(&conns[i]);
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        size_t live = 0;
        for (size_t i = 0; i < n; i++) {
            struct conn *c = &conns[i];
            fds[i].fd = c->state == DONE ? -1 : c->fd;
            fds[i].events = (short)(c->state == SENDING ? POLLOUT : POLLIN);
            fds[i].revents = 0;
            live += c->state != DONE;
        }
        int64_t left = deadline - now_ms();
        if (live == 0 || left <= 0)
            break;
        int ready = poll(fds, n, (int)left);
        if (ready < 0 && errno != EINTR)
            break;
        for (size_t i = 0; ready > 0 && i < n; i++) {
            struct conn *c = &conns[i];
            if (c->state == DONE || !fds[i].revents)
                continue;
            if (fds[i].revents & POLLOUT)
                writable(c);
            if (c->state != DONE && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                readable(c);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (conns[i].state != DONE)
            finish(&conns[i], PVE_QMP_TIMEOUT);
        free(conns[i].buf);
    }
    free(conns);
    free(fds);
}
