/* The libmicrohttpd glue: starting and stopping the daemon, what each new connection is asked
 * for, and libmicrohttpd's own messages, rate-limited. */
#include "http/http_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/clientcert.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Per-connection pool for the request line and headers; responses live outside it. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

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
    const struct http_server *srv = cls;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && srv->client_auth != WEBCONFIG_NO_CLIENT_CERT)
        clientcert_request(conn);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void server_free(struct http_server *srv)
{
    basicauth_free(srv->auth);
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
    srv->web = web;
    if (web && web->tls)
        srv->client_auth = web->client_auth;
    if (web && web->nusers)
        srv->auth = basicauth_new(web->users, web->nusers);

    /* A scrape can take tens of milliseconds; a thread per connection keeps a slow one from
     * holding up the others. poll() rather than select() so fds above 1024 are fine. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[10];
    size_t n = 0;
    struct sockaddr_in any4;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)config->timeout_seconds, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, NULL};
    if (config->max_connections)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                            (intptr_t)config->max_connections, NULL};
    /* Slow or idle connections from one address (a slowloris) use up at most this many slots,
     * and Prometheus, from another address, still gets its scrape answered. */
    if (config->max_connections_per_ip)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            (intptr_t)config->max_connections_per_ip, NULL};
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
        notify_connection, srv, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    pthread_mutex_lock(&srv->log_lock);
    srv->log_capture = false;
    pthread_mutex_unlock(&srv->log_lock);

    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on \"%s\": %s", listen,
                 srv->start_log.len ? srv->start_log.buf : "could not start the HTTP daemon");
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
    MHD_stop_daemon(server->daemon);
    if (server->log_dropped)
        log_suppressed(server->log_dropped, 0);
    server_free(server);
}
