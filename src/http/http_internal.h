/* What the files of src/http share and nothing outside it sees: the server's state and the
 * helpers one file calls in another. */
#ifndef PROCTRACK_HTTP_HTTP_INTERNAL_H
#define PROCTRACK_HTTP_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "http/basicauth.h"
#include "http/http.h"
#include "http/webconfig.h"
#include "util/strbuf.h"

/* Access handlers return enum MHD_Result since 0.9.71; int before. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define RELOAD_PATH "/-/reload"

struct http_server {
    struct MHD_Daemon *daemon;
    char *telemetry_path;
    char *landing_html;
    size_t landing_len;
    void (*landing_status)(void *arg, struct strbuf *text);
    void *landing_arg;
    bool gzip;
    http_metrics_fn metrics;
    void *metrics_arg;
    http_reload_fn reload;
    void *reload_arg;
    unsigned port;
    const struct webconfig *web; /* NULL: none */
    enum webconfig_client_auth client_auth;
    struct basicauth *auth; /* NULL: no basic auth */

    /* While MHD_start_daemon runs, its log lines are kept rather than printed, so that a failed
     * start is reported once, through `err`, instead of twice. */
    pthread_mutex_t log_lock;
    bool log_capture;
    struct strbuf start_log;
    /* Refused connections and failed TLS handshakes are logged by libmicrohttpd one line each:
     * at most LOG_BURST lines per LOG_WINDOW seconds (http.c), then a count of the ones left
     * out. */
    time_t log_window;
    unsigned log_lines;
    unsigned long log_dropped;
};

/* ---- listen address (http_listen.c) ------------------------------------------------------ */

struct listen_addr {
    bool any; /* ":PORT": every interface */
    uint16_t port;
    struct sockaddr_storage sa;
};

int http_parse_listen_address(const char *text, struct listen_addr *out, char *why, size_t whylen);
bool http_ipv6_available(void);

/* ---- content negotiation (http_negotiate.c) ---------------------------------------------- */

bool http_client_accepts_gzip(struct MHD_Connection *conn);
bool http_client_wants_openmetrics(struct MHD_Connection *conn);

/* ---- responses (http_response.c) --------------------------------------------------------- */

bool http_add_headers(const struct http_server *srv, struct MHD_Response *resp,
                      const char *content_type);
mhd_result http_reply_persistent(const struct http_server *srv, struct MHD_Connection *conn,
                                 unsigned status, const char *content_type, const char *body,
                                 size_t len, const char *allow);
#define REPLY_LITERAL(srv, conn, status, text, allow)                                              \
    http_reply_persistent(srv, conn, status, TEXT_PLAIN, text, sizeof(text) - 1, allow)
mhd_result http_reply_text(const struct http_server *srv, struct MHD_Connection *conn,
                           unsigned status, struct strbuf *body);
mhd_result http_serve_metrics(struct http_server *srv, struct MHD_Connection *conn);
mhd_result http_serve_reload(struct http_server *srv, struct MHD_Connection *conn);
char *http_default_landing_page(const char *telemetry_path);
mhd_result http_serve_landing(struct http_server *srv, struct MHD_Connection *conn);

/* ---- routing (http_route.c) -------------------------------------------------------------- */

size_t http_unescape_url(void *cls, struct MHD_Connection *conn, char *uri);
mhd_result http_handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls);

#endif /* PROCTRACK_HTTP_HTTP_INTERNAL_H */
