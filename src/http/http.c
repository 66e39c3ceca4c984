#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "expo/expo.h"
#include "http/basicauth.h"
#include "http/clientcert.h"
#include "http/webconfig.h"
#include "util/xalloc.h"

/* Access handlers return enum MHD_Result since 0.9.71; int before. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define ALLOWED_METHODS "GET, HEAD"
#define RELOAD_PATH "/-/reload"
#define REALM "proctrack"
/* Per-connection pool for the request line and headers; responses live outside it. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

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
     * at most LOG_BURST lines per LOG_WINDOW seconds, then a count of the ones left out. */
    time_t log_window;
    unsigned log_lines;
    unsigned long log_dropped;
};

#define LOG_WINDOW 10
#define LOG_BURST 20

/* ---- logging ----------------------------------------------------------------------------- */

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
                fprintf(stderr, "proctrack: http: %lu more messages in %d s left out\n",
                        srv->log_dropped, LOG_WINDOW);
            srv->log_window = now.tv_sec;
            srv->log_lines = 0;
            srv->log_dropped = 0;
        }
        if (srv->log_lines < LOG_BURST) {
            srv->log_lines++;
            fprintf(stderr, "proctrack: http: %s\n", line);
        } else {
            srv->log_dropped++;
        }
    }
    pthread_mutex_unlock(&srv->log_lock);
}

/* ---- listen address ---------------------------------------------------------------------- */

struct listen_addr {
    bool any; /* ":PORT": every interface */
    uint16_t port;
    struct sockaddr_storage sa;
};

static bool parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 5)
            return false;
        v = v * 10 + (unsigned long)(s[n] - '0');
    }
    if (n == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static int resolve_host(const char *host, int family, int flags, struct listen_addr *out, char *why,
                        size_t whylen)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -EINVAL;
    }
    /* Like Go's net.Listen, take the first address the resolver offers. */
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (out->sa.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&out->sa)->sin6_port = htons(out->port);
    } else if (out->sa.ss_family == AF_INET) {
        ((struct sockaddr_in *)&out->sa)->sin_port = htons(out->port);
    } else {
        snprintf(why, whylen, "not an IP address");
        return -EINVAL;
    }
    return 0;
}

/* ":PORT", "IPv4:PORT", "[IPv6]:PORT" or "hostname:PORT", as process-exporter accepts them. */
static int http_parse_listen_address(const char *text, struct listen_addr *out, char *why,
                                     size_t whylen)
{
    memset(out, 0, sizeof(*out));
    const char *colon = strrchr(text, ':');
    if (!colon) {
        snprintf(why, whylen, "missing port");
        return -EINVAL;
    }
    if (!parse_port(colon + 1, &out->port)) {
        snprintf(why, whylen, "invalid port \"%s\" (want 0 to 65535)", colon + 1);
        return -EINVAL;
    }

    size_t host_len = (size_t)(colon - text);
    if (host_len == 0) {
        out->any = true;
        return 0;
    }
    char *host = xstrndup(text, host_len);
    int rc;
    if (host[0] == '[') {
        if (host_len < 3 || host[host_len - 1] != ']') {
            snprintf(why, whylen, "unbalanced brackets around IPv6 address");
            rc = -EINVAL;
            goto out_free_host;
        }
        host[host_len - 1] = '\0';
        rc = resolve_host(host + 1, AF_INET6, AI_NUMERICHOST, out, why, whylen);
        if (rc < 0)
            snprintf(why, whylen, "\"%s\" is not an IPv6 address", host + 1);
    } else if (memchr(host, ']', host_len)) {
        snprintf(why, whylen, "unbalanced brackets around IPv6 address");
        rc = -EINVAL;
    } else if (memchr(host, ':', host_len)) {
        snprintf(why, whylen, "an IPv6 address must be written in brackets, as [::1]:9256");
        rc = -EINVAL;
    } else {
        rc = resolve_host(host, AF_UNSPEC, 0, out, why, whylen);
    }
out_free_host:
    free(host);
    return rc;
}

static bool http_ipv6_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* ---- Accept-Encoding --------------------------------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(tok, word, len) == 0;
}

/* RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]; more decimals are tolerated. */
static bool parse_qvalue(const char *s, size_t len, double *q)
{
    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return false;
    double v = s[0] - '0';
    if (len > 1) {
        if (s[1] != '.')
            return false;
        double scale = 0.1;
        for (size_t i = 2; i < len; i++, scale /= 10) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            v += (s[i] - '0') * scale;
        }
    }
    if (v > 1)
        return false;
    *q = v;
    return true;
}

/* One element of a comma-separated header list ("gzip;q=0.5", "text/plain;version=0.0.4"). */
struct list_item {
    const char *token;
    size_t token_len;
    double q;            /* 1 unless a q parameter says otherwise */
    const char *version; /* the version parameter, NULL when absent */
    size_t version_len;
    bool valid; /* false for a malformed q or stray text: the item counts for nothing */
};

/* Reads the next item of the list at *pp into *it, advancing *pp. Returns false at the end. */
static bool next_list_item(const char **pp, struct list_item *it)
{
    const char *p = *pp;
    while (is_ows(*p) || *p == ',')
        p++;
    if (!*p)
        return false;
    *it = (struct list_item){.token = p, .q = 1, .valid = true};
    while (*p && !is_ows(*p) && *p != ',' && *p != ';')
        p++;
    it->token_len = (size_t)(p - it->token);

    for (p = skip_ows(p); *p == ';'; p = skip_ows(p)) {
        const char *name = p = skip_ows(p + 1);
        while (*p && !is_ows(*p) && *p != ',' && *p != ';' && *p != '=')
            p++;
        size_t name_len = (size_t)(p - name);
        p = skip_ows(p);
        const char *val = p;
        if (*p == '=') {
            val = p = skip_ows(p + 1);
            while (*p && !is_ows(*p) && *p != ',' && *p != ';')
                p++;
        }
        size_t val_len = (size_t)(p - val);
        if (token_is(name, name_len, "q") && !parse_qvalue(val, val_len, &it->q))
            it->valid = false;
        else if (token_is(name, name_len, "version")) {
            it->version = val;
            it->version_len = val_len;
        }
    }
    if (*p && *p != ',') {
        it->valid = false;
        while (*p && *p != ',')
            p++;
    }
    *pp = p;
    return true;
}

/* Raises *slot to q; a repeated entry keeps its best q. */
static void keep_best(double *slot, double q)
{
    if (slot && q > *slot)
        *slot = q;
}

bool http_accepts_gzip(const char *accept_encoding)
{
    double q_gzip = -1, q_star = -1, q_identity = -1;
    struct list_item it;

    for (const char *p = accept_encoding ? accept_encoding : ""; next_list_item(&p, &it);) {
        if (!it.valid)
            continue;
        /* x-gzip is an alias of gzip (RFC 9110 8.4.1.3). */
        if (token_is(it.token, it.token_len, "gzip") || token_is(it.token, it.token_len, "x-gzip"))
            keep_best(&q_gzip, it.q);
        else if (token_is(it.token, it.token_len, "*"))
            keep_best(&q_star, it.q);
        else if (token_is(it.token, it.token_len, "identity"))
            keep_best(&q_identity, it.q);
    }
    /* An explicit gzip entry overrides "*"; gzip must be acceptable (q > 0), and loses only to an
     * identity the client explicitly ranks higher. */
    double q = q_gzip >= 0 ? q_gzip : q_star;
    return q > 0 && q >= q_identity;
}

/* ---- Accept ---------------------------------------------------------------------------- */

bool http_wants_openmetrics(const char *accept)
{
    double q_om = -1, q_plain = -1, q_text_any = -1, q_any = -1;
    struct list_item it;

    for (const char *p = accept ? accept : ""; next_list_item(&p, &it);) {
        if (!it.valid)
            continue;
        if (token_is(it.token, it.token_len, "application/openmetrics-text")) {
            if (!it.version || token_is(it.version, it.version_len, "1.0.0"))
                keep_best(&q_om, it.q);
        } else if (token_is(it.token, it.token_len, "text/plain")) {
            keep_best(&q_plain, it.q);
        } else if (token_is(it.token, it.token_len, "text/*")) {
            keep_best(&q_text_any, it.q);
        } else if (token_is(it.token, it.token_len, "*/*")) {
            keep_best(&q_any, it.q);
        }
    }
    /* The most specific range that covers text/plain gives its q (RFC 9110 12.5.1). */
    double q_text = q_plain >= 0 ? q_plain : q_text_any >= 0 ? q_text_any : q_any;
    return q_om > 0 && q_om >= q_text;
}

struct collect {
    const char *name;
    struct strbuf all;
};

static mhd_result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct collect *c = cls;
    struct strbuf *all = &c->all;
    (void)kind;
    if (key && value && strcasecmp(key, c->name) == 0) {
        if (all->len)
            strbuf_append(all, ", ", 2);
        strbuf_puts(all, value);
    }
    return MHD_YES;
}

/* A header may be repeated; its values form one comma-separated list (RFC 9110 5.3). */
static bool http_client_accepts_gzip(struct MHD_Connection *conn)
{
    struct collect c = {MHD_HTTP_HEADER_ACCEPT_ENCODING, STRBUF_INIT};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &c);
    bool yes = c.all.len && http_accepts_gzip(c.all.buf);
    strbuf_free(&c.all);
    return yes;
}

static bool http_client_wants_openmetrics(struct MHD_Connection *conn)
{
    struct collect c = {MHD_HTTP_HEADER_ACCEPT, STRBUF_INIT};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &c);
    bool yes = c.all.len && http_wants_openmetrics(c.all.buf);
    strbuf_free(&c.all);
    return yes;
}

/* ---- responses --------------------------------------------------------------------------- */

/* Hands the strbuf's memory to MHD, which frees it with free() after sending. On failure MHD
 * has not taken it (0.9.75), so it is freed here. Either way `body` is left empty. */
static struct MHD_Response *response_from_strbuf(struct strbuf *body)
{
    struct MHD_Response *resp;

    if (!body->buf)
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    resp = MHD_create_response_from_buffer(body->len, body->buf, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body->buf);
    body->buf = NULL;
    body->len = body->cap = 0;
    return resp;
}

/* Content-Type, and the web config's headers, which every response carries. */
static bool http_add_headers(const struct http_server *srv, struct MHD_Response *resp,
                             const char *content_type)
{
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
        return false;
    for (size_t i = 0; srv->web && i < srv->web->nheaders; i++) {
        const struct webconfig_header *h = &srv->web->headers[i];
        if (MHD_add_response_header(resp, h->name, h->value) != MHD_YES)
            return false;
    }
    return true;
}

static mhd_result queue(const struct http_server *srv, struct MHD_Connection *conn, unsigned status,
                        struct MHD_Response *resp, const char *content_type)
{
    mhd_result ret = MHD_NO;
    if (http_add_headers(srv, resp, content_type))
        ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A body that outlives the request: a string literal or the server's landing page. */
static mhd_result http_reply_persistent(const struct http_server *srv, struct MHD_Connection *conn,
                                        unsigned status, const char *content_type, const char *body,
                                        size_t len, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(srv, conn, status, resp, content_type);
}

#define REPLY_LITERAL(srv, conn, status, text, allow)                                              \
    http_reply_persistent(srv, conn, status, TEXT_PLAIN, text, sizeof(text) - 1, allow)

static mhd_result http_reply_text(const struct http_server *srv, struct MHD_Connection *conn,
                                  unsigned status, struct strbuf *body)
{
    struct MHD_Response *resp = response_from_strbuf(body);
    if (!resp)
        return MHD_NO;
    return queue(srv, conn, status, resp, TEXT_PLAIN);
}

static mhd_result http_serve_landing(struct http_server *srv, struct MHD_Connection *conn);

static mhd_result http_serve_metrics(struct http_server *srv, struct MHD_Connection *conn)
{
    struct strbuf body = STRBUF_INIT;

    int rc = srv->metrics(srv->metrics_arg, &body);
    if (rc < 0) {
        strbuf_reset(&body);
        strbuf_printf(&body, "error collecting metrics: %s\n", strerror(-rc));
        return http_reply_text(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, &body);
    }

    const char *content_type = EXPO_CONTENT_TYPE;
    if (http_client_wants_openmetrics(conn)) {
        struct strbuf om = STRBUF_INIT;
        expo_openmetrics(body.buf ? body.buf : "", body.len, &om);
        strbuf_free(&body);
        body = om;
        content_type = EXPO_OPENMETRICS_CONTENT_TYPE;
    }

    bool compressed = false;
    if (srv->gzip && http_client_accepts_gzip(conn)) {
        struct strbuf gz = STRBUF_INIT;
        if (expo_gzip(body.buf ? body.buf : "", body.len, &gz) == 0) {
            strbuf_free(&body);
            body = gz;
            compressed = true;
        } else {
            strbuf_free(&gz); /* serve it uncompressed */
        }
    }

    struct MHD_Response *resp = response_from_strbuf(&body);
    if (!resp)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding") != MHD_YES ||
        (compressed &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return queue(srv, conn, MHD_HTTP_OK, resp, content_type);
}

static mhd_result http_serve_reload(struct http_server *srv, struct MHD_Connection *conn)
{
    char err[1024] = "";
    int rc = srv->reload(srv->reload_arg, err, sizeof(err));
    if (rc == 0)
        return REPLY_LITERAL(srv, conn, MHD_HTTP_OK, "OK\n", NULL);
    struct strbuf body = STRBUF_INIT;
    if (err[0])
        strbuf_printf(&body, "%s\n", err);
    else
        strbuf_printf(&body, "reload failed: %s\n", rc < 0 ? strerror(-rc) : "unknown error");
    return http_reply_text(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, &body);
}

/* ---- access ----------------------------------------------------------------------------- */

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    const struct http_server *srv = cls;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && srv->client_auth != WEBCONFIG_NO_CLIENT_CERT)
        clientcert_request(conn);
}

static bool credentials_ok(struct http_server *srv, struct MHD_Connection *conn)
{
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &password);
    bool ok = user && password && basicauth_check(srv->auth, user, password);
    if (password) {
        explicit_bzero(password, strlen(password));
        MHD_free(password);
    }
    if (user)
        MHD_free(user);
    return ok;
}

static mhd_result ask_credentials(struct http_server *srv, struct MHD_Connection *conn)
{
    static const char body[] = "Unauthorized\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    mhd_result ret = MHD_NO;
    if (http_add_headers(srv, resp, TEXT_PLAIN))
        ret = MHD_queue_basic_auth_fail_response(conn, REALM, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Answers a request that may not go on (403, 401, 405), as exporter-toolkit checks in this
 * order. Returns false when the request may go on. */
static bool refuse(struct http_server *srv, struct MHD_Connection *conn, const char *method,
                   bool is_reload, mhd_result *ret)
{
    char why[512];
    if (!clientcert_check(conn, srv->client_auth, why, sizeof(why))) {
        struct strbuf body = STRBUF_INIT;
        strbuf_printf(&body, "Forbidden: %s\n", why);
        *ret = http_reply_text(srv, conn, MHD_HTTP_FORBIDDEN, &body);
        return true;
    }
    if (srv->auth && !credentials_ok(srv, conn)) {
        *ret = ask_credentials(srv, conn);
        return true;
    }
    bool get_or_head =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (is_reload && srv->reload && strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        *ret = REPLY_LITERAL(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
                             MHD_HTTP_METHOD_POST);
        return true;
    }
    /* Without a reload hook, /-/reload does not exist, whatever the method. */
    if (!is_reload && !get_or_head) {
        *ret = REPLY_LITERAL(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
                             ALLOWED_METHODS);
        return true;
    }
    return false;
}

/* The path of a request target. A target in absolute form ("http://host:port/metrics", which a
 * server must accept: RFC 9112 3.2.2) is reduced to its path, as Go's server does. */
static const char *request_path(const char *url)
{
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme)
        return url;
    const char *path = strchr(url + scheme, '/');
    return path ? path : "/";
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* libmicrohttpd's percent-decoding, but "%00" stays as it is: a decoded NUL would end the path
 * early for every comparison here, so that "/-/reload%00x" would reach /-/reload (a proxy rule
 * that blocks /-/reload would not). Kept encoded, such a path is simply not found. */
static size_t http_unescape_url(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    char *out = uri;
    for (const char *in = uri; *in;) {
        int hi, lo;
        if (in[0] == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0 &&
            (hi | lo) != 0) {
            *out++ = (char)(hi << 4 | lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - uri);
}

/* MHD calls this at least twice per request: once when the headers are in, then once per chunk
 * of body, then once more with no data. Refusals are answered on the first call, without reading
 * a body; other answers wait for the last call so that a body sent with GET is read and dropped
 * and the connection can be kept alive. */
static mhd_result http_handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    static int headers_seen;
    struct http_server *srv = cls;
    (void)version;
    (void)upload_data;
    url = request_path(url);
    /* The telemetry path wins; http_start refuses it as /-/reload when there is a hook. */
    bool is_reload = strcmp(url, RELOAD_PATH) == 0 && strcmp(url, srv->telemetry_path) != 0;

    if (!*req_cls) {
        mhd_result ret;
        if (refuse(srv, conn, method, is_reload, &ret))
            return ret;
        *req_cls = &headers_seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (is_reload && srv->reload)
        return http_serve_reload(srv, conn);
    if (strcmp(url, srv->telemetry_path) == 0)
        return http_serve_metrics(srv, conn);
    if (strcmp(url, "/") == 0 && srv->landing_status)
        return http_serve_landing(srv, conn);
    if (strcmp(url, "/") == 0)
        return http_reply_persistent(srv, conn, MHD_HTTP_OK, "text/html; charset=utf-8",
                                     srv->landing_html, srv->landing_len, NULL);
    return REPLY_LITERAL(srv, conn, MHD_HTTP_NOT_FOUND, "Not Found\n", NULL);
}

/* ---- landing page ------------------------------------------------------------------------ */

static void append_html_escaped(struct strbuf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            strbuf_puts(out, "&amp;");
            break;
        case '<':
            strbuf_puts(out, "&lt;");
            break;
        case '>':
            strbuf_puts(out, "&gt;");
            break;
        case '"':
            strbuf_puts(out, "&quot;");
            break;
        case '\'':
            strbuf_puts(out, "&#39;");
            break;
        default:
            strbuf_putc(out, *s);
        }
    }
}

static char *http_default_landing_page(const char *telemetry_path)
{
    struct strbuf page = STRBUF_INIT;

    strbuf_puts(&page, "<!DOCTYPE html>\n"
                       "<html>\n"
                       "<head><meta charset=\"utf-8\"><title>proctrack</title></head>\n"
                       "<body>\n"
                       "<h1>proctrack</h1>\n"
                       "<p>Process-group exporter for Prometheus.</p>\n"
                       "<p><a href=\"");
    append_html_escaped(&page, telemetry_path);
    strbuf_puts(&page, "\">");
    append_html_escaped(&page, telemetry_path);
    strbuf_puts(&page, "</a></p>\n</body>\n</html>\n");
    return page.buf;
}

/* The built-in page with what the caller reports now, one line each. */
static mhd_result http_serve_landing(struct http_server *srv, struct MHD_Connection *conn)
{
    struct strbuf text = STRBUF_INIT, page = STRBUF_INIT;
    srv->landing_status(srv->landing_arg, &text);
    strbuf_puts(&page, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>proctrack"
                       "</title></head>\n<body>\n<h1>proctrack</h1>\n<p>Process-group exporter "
                       "for Prometheus.</p>\n<pre>");
    append_html_escaped(&page, strbuf_str(&text));
    strbuf_puts(&page, "</pre>\n<p><a href=\"");
    append_html_escaped(&page, srv->telemetry_path);
    strbuf_puts(&page, "\">");
    append_html_escaped(&page, srv->telemetry_path);
    strbuf_puts(&page, "</a></p>\n</body>\n</html>\n");
    strbuf_free(&text);
    struct MHD_Response *resp = response_from_strbuf(&page);
    if (!resp)
        return MHD_NO;
    return queue(srv, conn, MHD_HTTP_OK, resp, "text/html; charset=utf-8");
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
    if (srv->start_log.len)
        fprintf(stderr, "proctrack: http: %s\n", srv->start_log.buf);
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
        fprintf(stderr, "proctrack: http: %lu more messages left out\n", server->log_dropped);
    server_free(server);
}
