/* The libmicrohttpd glue: starting and stopping the daemon, what each new connection is asked
 * for, and libmicrohttpd's own messages, rate-limited. */
#include "http/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "http/clientcert.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Per-connection pool for the request line and headers; responses live outside it. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)
#define LISTEN_BACKLOG 1024
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
#define EVENT_STACK (512u * 1024)

#define LOG_WINDOW 10
#define LOG_BURST 20

/* ---- logging ----------------------------------------------------------------------------- */

/* libmicrohttpd's messages are free text. A refused connection is told apart by its format
 * string, a constant of libmicrohttpd's, which words the total and the per-address limit alike
 * ("Server reached connection limit. Closing inbound connection."); any other message is logged
 * as libmicrohttpd wrote it. */
static void log_mhd_message(const char *fmt, const char *text)
{
    struct log_line line;
    if (strstr(fmt, "connection limit")) {
        if (log_begin(&line, LOG_WARN, "connection refused")) {
            log_str(&line, "reason", text);
            log_end(&line);
        }
    } else if (log_begin(&line, LOG_WARN, "libmicrohttpd error")) {
        log_str(&line, "err", text);
        log_end(&line);
    }
}

static void log_suppressed(unsigned long count, unsigned seconds)
{
    struct log_line line;
    if (log_begin(&line, LOG_WARN, "log messages suppressed")) {
        log_u64(&line, "count", count);
        if (seconds)
            log_u64(&line, "seconds", seconds);
        log_end(&line);
    }
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    struct http_server *srv = cls;
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';

    pthread_mutex_lock(&srv->log_lock);
    if (srv->log_capture) {
        if (srv->start_log.len)
            strbuf_append(&srv->start_log, "; ", 2);
        strbuf_append(&srv->start_log, line, len);
    } else {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec >= srv->log_window + LOG_WINDOW) {
            if (srv->log_dropped)
                log_suppressed(srv->log_dropped, LOG_WINDOW);
            srv->log_window = now.tv_sec;
            srv->log_lines = 0;
            srv->log_dropped = 0;
        }
        if (srv->log_lines < LOG_BURST) {
            srv->log_lines++;
            log_mhd_message(fmt, line);
        } else {
            srv->log_dropped++;
        }
    }
    pthread_mutex_unlock(&srv->log_lock);
}

/* ---- connections ------------------------------------------------------------------------- */

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        uint64_t now_ms = http_now_ms();
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        struct http_conn *c = fd ? http_conns_add(&srv->conns, fd->connect_fd,
                                                  addr ? addr->client_addr : NULL, now_ms)
                                 : NULL;
        *socket_context = c;
        /* Without a place to hold it, the session keeps the credentials libmicrohttpd started
         * with, which live as long as the server. */
        if (c) {
            http_web_refresh(srv, now_ms);
            c->web = http_web_acquire(srv);
            http_web_session(c->web, conn);
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct http_conn *c = *socket_context;
        struct http_web *web = c->web;
        http_conns_remove(&srv->conns, c);
        http_web_release(srv, web);
        *socket_context = NULL;
    }
}

/* ---- the event loop ---------------------------------------------------------------------- */

/* Connections we closed, at most one line per LOG_WINDOW: a flood of slow clients is one line
 * every ten seconds, not one per client. */
static void log_closed_connections(struct http_server *srv, uint64_t now_ms, bool force)
{
    unsigned long evicted = srv->conns.evicted - srv->logged_evicted;
    unsigned long expired = srv->conns.expired - srv->logged_expired;
    if ((!evicted && !expired) || (!force && now_ms < srv->conn_log_ms + LOG_WINDOW * 1000u))
        return;
    struct log_line line;
    if (log_begin(&line, LOG_WARN, "connections closed")) {
        log_u64(&line, "past_deadline", expired);
        log_u64(&line, "to_make_room", evicted);
        log_u64(&line, "open", http_conns_count(&srv->conns));
        log_end(&line);
    }
    srv->logged_evicted = srv->conns.evicted;
    srv->logged_expired = srv->conns.expired;
    srv->conn_log_ms = now_ms;
}

/* libmicrohttpd's loop, run here rather than in its own thread so that between two turns the
 * deadlines are enforced and the connections the worker is done with are resumed, all in the
 * one thread that touches connections. epoll: an idle connection costs memory, not a thread. */
static void *event_main(void *arg)
{
    struct http_server *srv = arg;
    for (;;) {
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        int timeout = -1;
        if (MHD_get_timeout(srv->daemon, &mhd_ms) == MHD_YES)
            timeout = mhd_ms > INT32_MAX ? INT32_MAX : (int)mhd_ms;
        int next = http_conns_expire(&srv->conns, http_now_ms());
        if (next >= 0 && (timeout < 0 || next < timeout))
            timeout = next;

        struct epoll_event ev[2];
        int n = epoll_wait(srv->epoll_fd, ev, 2, timeout);
        for (int i = 0; i < n; i++) {
            uint64_t count;
            if (ev[i].data.fd == srv->wake_fd && read(srv->wake_fd, &count, sizeof(count)) < 0 &&
                errno != EAGAIN)
                break;
        }
        for (struct http_job *job = http_worker_take_done(srv), *next_job; job; job = next_job) {
            next_job = job->next;
            MHD_resume_connection(job->conn);
            srv->suspended--;
        }
        MHD_run(srv->daemon);
        log_closed_connections(srv, http_now_ms(), false);

        pthread_mutex_lock(&srv->worker.lock);
        bool stop = srv->stop_loop && srv->suspended == 0 && !srv->worker.done;
        pthread_mutex_unlock(&srv->worker.lock);
        if (stop)
            break;
    }
    log_closed_connections(srv, http_now_ms(), true);
    return NULL;
}

static int start_event_loop(struct http_server *srv, char *err, size_t errlen)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!info || srv->epoll_fd < 0 || srv->wake_fd < 0) {
        snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    struct epoll_event mhd_ev = {.events = EPOLLIN, .data.fd = info->epoll_fd};
    struct epoll_event wake_ev = {.events = EPOLLIN, .data.fd = srv->wake_fd};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &mhd_ev) < 0 ||
        epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->wake_fd, &wake_ev) < 0) {
        snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    int rc = http_worker_start(srv);
    if (rc < 0) {
        snprintf(err, errlen, "cannot start the worker thread: %s", strerror(-rc));
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, EVENT_STACK);
    rc = pthread_create(&srv->event_thread, &attr, event_main, srv);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        http_worker_stop(srv);
        snprintf(err, errlen, "cannot start the event thread: %s", strerror(rc));
        return -1;
    }
    srv->event_started = true;
    return 0;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void server_free(struct http_server *srv)
{
    if (srv->epoll_fd >= 0)
        close(srv->epoll_fd);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    http_worker_free(srv);
    http_web_stop(srv);
    free(srv->telemetry_path);
    free(srv->landing_html);
    strbuf_free(&srv->start_log);
    pthread_mutex_destroy(&srv->log_lock);
    free(srv);
}

struct http_server *http_start(const struct http_config *config, char *err, size_t errlen)
{
    struct listen_addr addr;
    char why[256];
    const char *listen = config->listen_address ? config->listen_address : "";
    const char *path = config->telemetry_path ? config->telemetry_path : "/metrics";

    if (http_parse_listen_address(listen, &addr, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "invalid listen address \"%s\": %s", listen, why);
        return NULL;
    }
    if (path[0] != '/') {
        snprintf(err, errlen, "invalid telemetry path \"%s\": must start with /", path);
        return NULL;
    }
    if (!config->metrics) {
        snprintf(err, errlen, "no metrics callback");
        return NULL;
    }
    if (config->reload && strcmp(path, RELOAD_PATH) == 0) {
        snprintf(err, errlen, "invalid telemetry path \"%s\": taken by the reload endpoint", path);
        return NULL;
    }
    const struct webconfig *web = config->web;
    if (web && web->tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "the web config enables TLS, which this libmicrohttpd lacks");
        return NULL;
    }

    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->epoll_fd = srv->wake_fd = -1;
    pthread_mutex_init(&srv->log_lock, NULL);
    srv->telemetry_path = xstrdup(path);
    srv->landing_html =
        config->landing_html ? xstrdup(config->landing_html) : http_default_landing_page(path);
    srv->landing_len = strlen(srv->landing_html);
    srv->landing_status = config->landing_status;
    srv->landing_arg = config->landing_arg;
    srv->gzip = config->gzip;
    srv->metrics = config->metrics;
    srv->metrics_arg = config->metrics_arg;
    srv->reload = config->reload;
    srv->reload_arg = config->reload_arg;
    if (http_web_start(srv, web, config->web_config_file, err, errlen) < 0) {
        server_free(srv);
        return NULL;
    }

    /* main.c fitted the limit under RLIMIT_NOFILE, headroom included. */
    unsigned max_connections =
        config->max_connections ? config->max_connections : DEFAULT_MAX_CONNECTIONS;
    struct http_conns_limits limits = {
        .total = max_connections,
        .per_address = config->max_connections_per_ip,
        .request_timeout_ms =
            config->request_timeout_ms ? config->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS,
        /* 0: no timeout; a day is as good as none. */
        .keepalive_timeout_ms =
            config->timeout_seconds ? config->timeout_seconds * 1000ull : 24ull * 3600 * 1000,
    };
    http_conns_init(&srv->conns, &limits);

    /* Event-driven: one thread (ours, event_main) serves every connection through epoll; the
     * worker does the slow work while the connection waits suspended. */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[12];
    size_t n = 0;
    struct sockaddr_in any4;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)config->timeout_seconds, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, NULL};
    /* Room above our own limit for the connections accepted before the ones they push out are
     * gone: http_conns closes the longest-waiting connection rather than refuse a new one. */
    opts[n++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_LIMIT,
        (intptr_t)(max_connections + http_connection_headroom(max_connections)), NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG, NULL};
    /* Not libmicrohttpd's strict mode: 0.9.75 sends the header block of its own 400 twice (as it
     * does for a bad Content-Length value, which no option avoids). http_strict.c checks all
     * that strict mode would (Host, blanks in the target and in header names) and more, and
     * answers once. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 0, NULL};
    if (addr.any && http_ipv6_available()) {
        flags |= MHD_USE_DUAL_STACK; /* [::] that also takes IPv4 */
    } else if (addr.any) {
        memset(&any4, 0, sizeof(any4));
        any4.sin_family = AF_INET;
        any4.sin_addr.s_addr = htonl(INADDR_ANY);
        any4.sin_port = htons(addr.port);
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &any4};
    } else {
        /* 0.9.75 picks the socket family from this flag, not from the sockaddr. */
        if (addr.sa.ss_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr.sa};
    }
    char priorities[WEBCONFIG_TLS_PRIORITIES_MAX];
    if (web && web->tls) {
        /* PEM contents, which libmicrohttpd hands to gnutls as it starts. */
        flags |= MHD_USE_TLS;
        webconfig_tls_priorities(web, priorities, sizeof(priorities));
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, web->cert};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, web->key};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, priorities};
        if (web->client_ca)
            opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, web->client_ca};
    }
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    srv->log_capture = true;
    srv->daemon = MHD_start_daemon(
        flags, addr.port, NULL, NULL, http_handle_request, srv, MHD_OPTION_EXTERNAL_LOGGER, log_mhd,
        srv, MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_url, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        notify_connection, srv, MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, srv,
        MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    pthread_mutex_lock(&srv->log_lock);
    srv->log_capture = false;
    pthread_mutex_unlock(&srv->log_lock);

    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on \"%s\": %s", listen,
                 srv->start_log.len ? srv->start_log.buf : "could not start the HTTP daemon");
        server_free(srv);
        return NULL;
    }
    if (start_event_loop(srv, err, errlen) < 0) {
        MHD_stop_daemon(srv->daemon);
        server_free(srv);
        return NULL;
    }
    struct log_line line;
    if (srv->start_log.len && log_begin(&line, LOG_WARN, "libmicrohttpd error while starting")) {
        log_str(&line, "err", srv->start_log.buf);
        log_end(&line);
    }
    strbuf_free(&srv->start_log);

    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info && info->port ? info->port : addr.port;
    if (errlen)
        err[0] = '\0';
    return srv;
}

unsigned http_port(const struct http_server *server)
{
    return server->port;
}

void http_stop(struct http_server *server)
{
    if (!server)
        return;
    /* The worker finishes what it holds and hands back the rest, cancelled (503); the event
     * loop resumes every suspended connection, which libmicrohttpd requires before it stops. */
    http_worker_stop(server);
    pthread_mutex_lock(&server->worker.lock);
    server->stop_loop = true;
    pthread_mutex_unlock(&server->worker.lock);
    uint64_t one = 1;
    while (write(server->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    if (server->event_started)
        pthread_join(server->event_thread, NULL);
    MHD_stop_daemon(server->daemon);
    if (server->log_dropped)
        log_suppressed(server->log_dropped, 0);
    server_free(server);
}
