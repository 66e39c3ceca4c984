/* What the files of src/http share and nothing outside it sees: the server's state and the
 * helpers one file calls in another. */
#ifndef PROCTRACK_HTTP_HTTP_INTERNAL_H
#define PROCTRACK_HTTP_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
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
/* As Prometheus and exporter-toolkit's exporters answer them, behind the same TLS and auth as
 * every path. The server starts after the first scan and config load, so it is ready as soon as
 * it answers. */
#define HEALTHY_PATH "/-/healthy"
#define READY_PATH "/-/ready"

/* ---- connections (http_conns.c) ---------------------------------------------------------- */

struct http_conn_list {
    struct http_conn *head, *tail;
    unsigned count;
};

/* One connection, from libmicrohttpd's NOTIFY_STARTED to NOTIFY_CLOSED. */
struct http_conn {
    int fd;
    unsigned char addr[16]; /* the client's address; IPv4 as the last 4 bytes */
    uint64_t since_ms;      /* when it started reading its current request */
    uint64_t deadline_ms;   /* when it is closed if the request is not in by then */
    bool closing;           /* shut down by us; in no list */
    bool bad_target;        /* the current request's target holds a blank or control byte */
    struct http_web *web;   /* the web config its TLS session was given */
    struct http_conn_list *list;
    struct http_conn *prev, *next;
};

struct http_conns_limits {
    unsigned total;                /* beyond this many, the longest-waiting connection is closed */
    unsigned per_address;          /* the same, within one client address; 0: no share */
    uint64_t request_timeout_ms;   /* from accept to a complete first request */
    uint64_t keepalive_timeout_ms; /* from a response to the next complete request */
};

struct http_conns {
    struct http_conns_limits limits;
    struct http_conn_list first;   /* reading their first request, oldest first */
    struct http_conn_list kept;    /* kept alive, reading their next request, oldest first */
    struct http_conn_list serving; /* request in: being answered */
    unsigned long evicted;         /* closed to make room */
    unsigned long expired;         /* closed at their deadline */
};

uint64_t http_now_ms(void);
void http_conns_init(struct http_conns *t, const struct http_conns_limits *limits);
/* Adds a new connection, closing others (never this one) to stay within the limits. */
struct http_conn *http_conns_add(struct http_conns *t, int fd, const struct sockaddr *client,
                                 uint64_t now_ms);
void http_conns_remove(struct http_conns *t, struct http_conn *c);
/* Its request is complete: no deadline until the response is sent. */
void http_conns_serving(struct http_conns *t, struct http_conn *c);
/* Its response is sent and the connection stays open for another request. */
void http_conns_kept_alive(struct http_conns *t, struct http_conn *c, uint64_t now_ms);
/* Closes the connections past their deadline. Returns the milliseconds until the next deadline,
 * or -1 when no connection is reading. */
int http_conns_expire(struct http_conns *t, uint64_t now_ms);
unsigned http_conns_count(const struct http_conns *t);

/* ---- the worker (http_worker.c) ---------------------------------------------------------- */

/* The forms of a metrics response. */
#define HTTP_VARIANT_OPENMETRICS 1u
#define HTTP_VARIANT_GZIP 2u
#define HTTP_VARIANTS 4u

/* One scan's answers, shared by the scrapes that waited for it. Once handed back, touched only
 * by the event thread. */
struct http_scrape {
    unsigned refs; /* requests that still hold it */
    int rc;
    struct MHD_Response *resp[HTTP_VARIANTS]; /* the forms asked for */
    struct MHD_Response *error;               /* rc < 0: a 500 */
};

enum http_job_kind { HTTP_JOB_SCRAPE, HTTP_JOB_AUTH, HTTP_JOB_RELOAD };

/* Work for the worker, for one suspended connection. */
struct http_job {
    enum http_job_kind kind;
    struct MHD_Connection *conn;
    struct http_job *next;
    bool cancelled; /* the server is stopping: not done, answer 503 */
    /* HTTP_JOB_SCRAPE */
    unsigned variant;
    struct http_scrape *scrape;
    /* HTTP_JOB_AUTH */
    struct basicauth *auth_users; /* of the request's web config, which it holds */
    const char *user, *password;
    enum basicauth_result auth;
    /* HTTP_JOB_RELOAD */
    int reload_rc;
    char reload_err[1024];
};

struct http_worker {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct http_job *head, *tail;        /* waiting */
    struct http_job *batch, *batch_tail; /* scrapes sharing the scan in progress */
    struct http_job *done, *done_tail;   /* for the event thread to resume */
    bool scanning;
    bool stopping;
    struct strbuf body; /* the scan's exposition; worker only */
};

struct http_server;
int http_worker_start(struct http_server *srv);
/* Queues a job; false when the server is stopping (nothing queued). */
bool http_worker_submit(struct http_server *srv, struct http_job *job);
struct http_job *http_worker_take_done(struct http_server *srv);
/* Finishes the job in hand, cancels the others (handed back, cancelled) and joins the thread. */
void http_worker_stop(struct http_server *srv);
void http_worker_free(struct http_server *srv);
/* Drops a request's hold on a scan's answers. NULL is a no-op. */
void http_scrape_release(struct http_scrape *scrape);

/* ---- the web config in use (http_web.c) ------------------------------------------------- */

/* The config file and the three PEM files it may name. */
#define HTTP_WEB_FILES 4

struct http_web_stamp {
    int err; /* stat()'s errno, 0 when it succeeded */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

/* One load of the web config (a generation), held by the server while it is the one in use,
 * and by the connections and requests that use it. */
struct http_web;

/* The first generation, from `wc` (borrowed: it must outlive the server), reread from `path`
 * when its files change (NULL: never). Returns 0 or -1 with a message in `err`. */
int http_web_start(struct http_server *srv, const struct webconfig *wc, const char *path, char *err,
                   size_t errlen);
void http_web_stop(struct http_server *srv);
/* Loads the config again when it or a file it names changed, at most once a second; a config
 * that does not load is logged and changes nothing. Event thread. */
void http_web_refresh(struct http_server *srv, uint64_t now_ms);
/* The generation in use (NULL without a web config), held until http_web_release(). Any
 * thread. */
struct http_web *http_web_acquire(const struct http_server *srv);
void http_web_release(const struct http_server *srv, struct http_web *w);
/* What a generation holds; NULL or "none" for NULL. */
const struct webconfig *http_web_config(const struct http_web *w);
struct basicauth *http_web_auth(const struct http_web *w);
enum webconfig_client_auth http_web_client_auth(const struct http_web *w);
/* Gives a new connection's TLS session the generation's certificate, key, client CAs and
 * priorities, and asks for a client certificate when its client_auth_type wants one. */
void http_web_session(const struct http_web *w, struct MHD_Connection *conn);

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
    /* The web config: the generation in use (NULL: none), the file it is reread from, and
     * what its files looked like when last looked at. web_lock guards `web` and every
     * generation's references; the rest is the event thread's. */
    pthread_mutex_t web_lock;
    struct http_web *web;
    char *web_path;
    struct http_web_stamp web_stamps[HTTP_WEB_FILES];
    uint64_t web_checked_ms;

    /* The event thread runs libmicrohttpd's loop (http.c); the worker, the slow work. */
    pthread_t event_thread;
    bool event_started;
    int epoll_fd;
    int wake_fd;        /* eventfd: finished jobs, or stop */
    bool stop_loop;     /* under worker.lock */
    unsigned suspended; /* event thread only */
    struct http_conns conns;
    unsigned long logged_evicted, logged_expired; /* the counts last logged */
    uint64_t conn_log_ms;
    struct http_worker worker;

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
/* Adds the common headers (and Connection: close for a status of 400 or more), queues and
 * releases `resp`. */
mhd_result http_queue(const struct http_server *srv, struct MHD_Connection *conn, unsigned status,
                      struct MHD_Response *resp, const char *content_type);
mhd_result http_reply_persistent(const struct http_server *srv, struct MHD_Connection *conn,
                                 unsigned status, const char *content_type, const char *body,
                                 size_t len, const char *allow);
#define REPLY_LITERAL(srv, conn, status, text, allow)                                              \
    http_reply_persistent(srv, conn, status, TEXT_PLAIN, text, sizeof(text) - 1, allow)
mhd_result http_reply_text(const struct http_server *srv, struct MHD_Connection *conn,
                           unsigned status, struct strbuf *body);
/* The metrics response in one form, built by the worker from the text exposition. */
struct MHD_Response *http_metrics_response(const struct http_server *srv, const struct strbuf *body,
                                           unsigned variant);
struct MHD_Response *http_error_response(const struct http_server *srv, int rc);
/* Queues a response for an error status and closes the connection after it: whatever else the
 * client sent on it is not read as another request. */
mhd_result http_reply_error(const struct http_server *srv, struct MHD_Connection *conn,
                            unsigned status, const char *text, const char *allow);
mhd_result http_reply_reload(struct http_server *srv, struct MHD_Connection *conn,
                             const struct http_job *job);
char *http_default_landing_page(const char *telemetry_path);
mhd_result http_serve_landing(struct http_server *srv, struct MHD_Connection *conn);

/* ---- request checks (http_strict.c) ------------------------------------------------------ */

/* The status a request's line and headers earn before anything else is looked at: 0 when they
 * are fine, 400 for framing that two parsers could read two ways, 501 for a transfer coding
 * we do not know. */
unsigned http_check_request(struct MHD_Connection *conn, const char *version);
bool http_target_ok(const char *uri);

/* ---- routing (http_route.c) -------------------------------------------------------------- */

void http_request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                            enum MHD_RequestTerminationCode code);

size_t http_unescape_url(void *cls, struct MHD_Connection *conn, char *uri);
mhd_result http_handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls);

#endif /* PROCTRACK_HTTP_HTTP_INTERNAL_H */
