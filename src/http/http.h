/* The HTTP front: libmicrohttpd serving the metrics path, a landing page, and errors. Knows sockets
 * and HTTP, nothing of metrics: the body comes from a callback. */
#ifndef PROCTRACK_HTTP_HTTP_H
#define PROCTRACK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

/* Fills `body` (empty on entry) with the exposition. Returns 0, or a negative errno for a failed
 * collection (answered with 500). May be called from several connection threads at once. */
typedef int (*http_metrics_fn)(void *arg, struct strbuf *body);

struct http_config {
    const char *listen_address; /* ":9256", "127.0.0.1:9256", "[::1]:9256", "host:port" */
    const char *telemetry_path; /* "/metrics" */
    unsigned max_connections;   /* concurrent connections; further ones wait or are refused */
    unsigned timeout_seconds;   /* idle connection timeout */
    bool gzip;                  /* compress when the client accepts gzip */
    const char *landing_html;   /* body of GET /; NULL for a built-in page */
    http_metrics_fn metrics;
    void *metrics_arg;
};

struct http_server;

/* Binds and starts serving on internal threads. On error returns NULL with a message in `err`. */
struct http_server *http_start(const struct http_config *config, char *err, size_t errlen);
/* The bound TCP port (useful with port 0). */
unsigned http_port(const struct http_server *server);
/* Stops accepting, closes connections, joins threads. NULL is a no-op. */
void http_stop(struct http_server *server);

#endif /* PROCTRACK_HTTP_HTTP_H */
