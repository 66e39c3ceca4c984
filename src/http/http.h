/* The HTTP front: libmicrohttpd serving the metrics path, a landing page, and errors, over TLS and
 * behind basic auth when a web config asks for them. Knows sockets and HTTP, nothing of metrics:
 * the body comes from a callback, in the text format, which it may hand out as OpenMetrics. */
#ifndef PROCTRACK_HTTP_HTTP_H
#define PROCTRACK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

/* Fills `body` (empty on entry) with the exposition. Returns 0, or a negative errno for a failed
 * collection (answered with 500). Called from the server's worker thread, one call at a time;
 * the scrapes that wait while it runs share its result. */
typedef int (*http_metrics_fn)(void *arg, struct strbuf *body);

/* Reloads whatever the caller reloads (POST /-/reload). Returns 0, or non-zero with a message in
 * `err` (a negative errno with `err` left empty also works), answered with 500 and that text.
 * Called from the server's worker thread. */
typedef int (*http_reload_fn)(void *arg, char *err, size_t errlen);

struct webconfig;

/* Strings are copied by http_start; metrics_arg, reload_arg and web must outlive the server. */
struct http_config {
    const char *listen_address; /* ":9256" (all interfaces, IPv6 and IPv4), "127.0.0.1:9256",
                                   "[::1]:9256", "host:port" (first address it resolves to);
                                   port 0 picks a free one */
    const char *telemetry_path; /* "/metrics"; must start with '/'; NULL means "/metrics" */
    /* Concurrent connections (0: 4096, fewer when RLIMIT_NOFILE cannot be raised to fit). A new
     * connection beyond it, or beyond max_connections_per_ip from one address (0: no share),
     * closes the connection of that scope that has waited longest for its request; one being
     * answered is never closed. */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    /* A new connection's first request (line, headers, body) must be in within
     * request_timeout_ms of its accept (0: 10 s); a kept-alive connection's next one within
     * timeout_seconds of the previous response (0: 30 s). Activity does not move either. */
    unsigned request_timeout_ms;
    unsigned timeout_seconds;
    bool gzip;                /* compress when the client accepts gzip */
    const char *landing_html; /* body of GET /; NULL for a built-in page */
    /* Optional, with the built-in page: appends plain-text lines ("Groups: 12") shown on it,
     * escaped here; called for each GET /. */
    void (*landing_status)(void *arg, struct strbuf *text);
    void *landing_arg;
    http_metrics_fn metrics;
    void *metrics_arg;
    http_reload_fn reload; /* NULL: /-/reload is 404 like any unknown path */
    void *reload_arg;
    /* TLS, client certificates, basic auth (on every path) and extra response headers, from
     * -web.config.file; NULL for plain HTTP without any of them. */
    const struct webconfig *web;
    /* The file `web` was loaded from, read again when it or a file it names changes (at most
     * once a second, as connections and requests come): certificates, users, headers and TLS
     * settings change without a restart; TLS cannot be turned on or off. NULL: never. */
    const char *web_config_file;
};

struct http_server;

/* Binds and starts serving: an event thread serves every connection, a worker thread runs the
 * metrics callback, reloads and bcrypt checks (http_worker.c); no thread is started later. On error
 * returns NULL with a message in `err`, such as `invalid listen address "x": missing port` or
 * `cannot listen on "127.0.0.1:9256": ... Address already in use`.
 *
 * Each request is checked in this order: the client certificate, as the web config's
 * client_auth_type asks (403 when missing or not verified), then basic auth when the web config
 * lists users (401 with `WWW-Authenticate: Basic realm="proctrack"`), then the method (405), then
 * the path (404). Requests whose framing is ambiguous (two Content-Lengths, Content-Length with
 * Transfer-Encoding, no Host in HTTP/1.1, a malformed header) are 400, an unknown transfer
 * coding 501; every answer of 400 or more closes the connection. When bcrypt's budget is spent
 * (basicauth.h), credentials no cache knows get 429 with Retry-After: 1. */
struct http_server *http_start(const struct http_config *config, char *err, size_t errlen);
/* The bound TCP port (useful with port 0). */
unsigned http_port(const struct http_server *server);
/* Stops accepting, closes connections, joins threads. NULL is a no-op. */
void http_stop(struct http_server *server);

/* Whether an Accept-Encoding value (NULL when the header is absent) lets us send gzip: codings
 * are compared case-insensitively with optional ";q=" weights. An explicit gzip (or x-gzip) entry
 * wins over "*"; q=0 refuses; an explicit identity with a higher q than gzip is preferred. */
bool http_accepts_gzip(const char *accept_encoding);

/* Whether an Accept value (NULL when the header is absent) asks for OpenMetrics 1.0.0 rather than
 * the text format: an application/openmetrics-text entry, unversioned or version=1.0.0, with a q
 * above 0 and at least that of text/plain (else text/\*, else \*\/\*). */
bool http_wants_openmetrics(const char *accept);

/* Connections libmicrohttpd may accept beyond `max_connections` before the connection table
 * closes the longest-waiting ones: each needs a descriptor too. */
static inline unsigned http_connection_headroom(unsigned max_connections)
{
    return max_connections < 64 ? max_connections : 64;
}

#endif /* PROCTRACK_HTTP_HTTP_H */
