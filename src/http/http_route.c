/* Request routing: the access checks, in exporter-toolkit's order, then the path. */
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/clientcert.h"
#include "util/xalloc.h"

#define ALLOWED_METHODS "GET, HEAD"
#define REALM "proctrack"

/* One request, from the first call of the handler (its headers are in) to
 * MHD_OPTION_NOTIFY_COMPLETED. */
enum request_step {
    STEP_CHECKED,   /* passed the checks that need no bcrypt; waiting for the end of the body */
    STEP_AUTH,      /* as above, with credentials no cache knows: bcrypt decides */
    STEP_AUTH_WAIT, /* suspended while the worker runs bcrypt */
    STEP_WORK_WAIT, /* suspended while the worker scans or reloads */
};

struct http_request {
    enum request_step step;
    struct http_web *web; /* the web config in use when it came, held until it is answered */
    struct basicauth_credentials creds;
    struct http_job job;
};

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request is in (or refused): its deadline no longer applies. */
static void mark_serving(struct http_server *srv, struct MHD_Connection *conn)
{
    struct http_conn *c = conn_of(conn);
    if (c)
        http_conns_serving(&srv->conns, c);
}

/* ---- access ----------------------------------------------------------------------------- */

static mhd_result ask_credentials(struct http_server *srv, struct MHD_Connection *conn)
{
    static const char body[] = "Unauthorized\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    mhd_result ret = MHD_NO;
    if (http_add_headers(srv, resp, TEXT_PLAIN) &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES)
        ret = MHD_queue_basic_auth_fail_response(conn, REALM, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* bcrypt's budget is spent (basicauth.h): the password was not checked, so not refused. */
static mhd_result too_many_requests(struct http_server *srv, struct MHD_Connection *conn)
{
    static const char body[] = "Too Many Requests: password checks are rate-limited\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1") != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return http_queue(srv, conn, MHD_HTTP_TOO_MANY_REQUESTS, resp, TEXT_PLAIN);
}

/* The method, once access is granted: 405 for what the path does not take. */
static bool refuse_method(struct http_server *srv, struct MHD_Connection *conn, const char *method,
                          bool is_reload, mhd_result *ret)
{
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

/* Answers a request that may not go on (403, 401, 405), as exporter-toolkit checks in this
 * order, from what the headers say. Returns false when the request may go on; then req->step
 * says whether bcrypt must still decide (and the method is checked after it). */
static bool refuse(struct http_server *srv, struct MHD_Connection *conn, struct http_request *req,
                   const char *method, bool is_reload, mhd_result *ret)
{
    char why[512];
    const struct webconfig *wc = http_web_config(req->web);
    /* gnutls combines the parts of the listed cipher suites; a combination that was not listed
     * is refused here, as Go would have refused the handshake. */
    if (wc && !clientcert_suite_allowed(conn, wc)) {
        *ret = MHD_NO;
        return true;
    }
    if (!clientcert_check(conn, http_web_client_auth(req->web), why, sizeof(why))) {
        struct strbuf body = STRBUF_INIT;
        strbuf_printf(&body, "Forbidden: %s\n", why);
        *ret = http_reply_text(srv, conn, MHD_HTTP_FORBIDDEN, &body);
        return true;
    }
    struct basicauth *auth = http_web_auth(req->web);
    if (auth) {
        const char *value = NULL;
        size_t len = 0;
        static const char name[] = MHD_HTTP_HEADER_AUTHORIZATION;
        if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, name, sizeof(name) - 1, &value,
                                          &len) != MHD_YES ||
            basicauth_parse(value, len, &req->creds) < 0) {
            *ret = ask_credentials(srv, conn);
            return true;
        }
        enum basicauth_result r = basicauth_lookup(auth, req->creds.user, req->creds.password);
        if (r == BASICAUTH_UNKNOWN) {
            req->step = STEP_AUTH;
            return false;
        }
        if (r != BASICAUTH_OK) {
            *ret = ask_credentials(srv, conn);
            return true;
        }
    }
    return refuse_method(srv, conn, method, is_reload, ret);
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
size_t http_unescape_url(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    /* The target as sent (its path, then each query argument): the place to see blanks that
     * libmicrohttpd's lenient parsing let into it. */
    struct http_conn *c = conn_of(conn);
    if (c && !http_target_ok(uri))
        c->bad_target = true;
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

/* Hands the request to the worker and suspends the connection until the worker is done. */
static mhd_result suspend_for(struct http_server *srv, struct MHD_Connection *conn,
                              struct http_request *req, enum http_job_kind kind,
                              enum request_step step)
{
    req->job.kind = kind;
    req->job.conn = conn;
    if (kind == HTTP_JOB_AUTH) {
        req->job.auth_users = http_web_auth(req->web);
        req->job.user = req->creds.user;
        req->job.password = req->creds.password;
    }
    if (kind == HTTP_JOB_SCRAPE) {
        req->job.variant = (http_client_wants_openmetrics(conn) ? HTTP_VARIANT_OPENMETRICS : 0) |
                           (srv->gzip && http_client_accepts_gzip(conn) ? HTTP_VARIANT_GZIP : 0);
    }
    if (!http_worker_submit(srv, &req->job))
        return REPLY_LITERAL(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "Service Unavailable: shutting down\n", NULL);
    MHD_suspend_connection(conn);
    srv->suspended++;
    req->step = step;
    return MHD_YES;
}

/* The worker is done with a scrape: the scan's response in the form asked for. */
static mhd_result answer_scrape(struct http_server *srv, struct MHD_Connection *conn,
                                struct http_request *req)
{
    struct http_scrape *scrape = req->job.scrape;
    req->job.scrape = NULL;
    struct MHD_Response *resp = scrape->rc < 0 ? scrape->error : scrape->resp[req->job.variant];
    mhd_result ret = MHD_NO;
    (void)srv;
    if (resp)
        ret = MHD_queue_response(
            conn, scrape->rc < 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK, resp);
    http_scrape_release(scrape);
    return ret;
}

/* MHD calls this at least twice per request: once when the headers are in, then once per chunk
 * of body, then once more with no data (again after each resume). Refusals are answered on the
 * first call, without reading a body; other answers wait for the last call so that a body sent
 * with GET is read and dropped and the connection can be kept alive. What takes time (bcrypt, a
 * scan, a reload) is done by the worker while the connection is suspended. */
mhd_result http_handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *req_cls;
    mhd_result ret;
    (void)upload_data;
    url = request_path(url);
    /* The telemetry path wins; http_start refuses it as /-/reload when there is a hook. */
    bool is_reload = strcmp(url, RELOAD_PATH) == 0 && strcmp(url, srv->telemetry_path) != 0;

    if (!req) {
        struct http_conn *c = conn_of(conn);
        unsigned status =
            c && c->bad_target ? MHD_HTTP_BAD_REQUEST : http_check_request(conn, version);
        if (status) {
            mark_serving(srv, conn);
            return http_reply_error(
                srv, conn, status,
                status == MHD_HTTP_BAD_REQUEST ? "Bad Request\n" : "Not Implemented\n", NULL);
        }
        req = xcalloc(1, sizeof(*req));
        *req_cls = req;
        http_web_refresh(srv, http_now_ms());
        req->web = http_web_acquire(srv);
        if (refuse(srv, conn, req, method, is_reload, &ret)) {
            mark_serving(srv, conn);
            return ret;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    mark_serving(srv, conn);

    switch (req->step) {
    case STEP_AUTH:
        return suspend_for(srv, conn, req, HTTP_JOB_AUTH, STEP_AUTH_WAIT);
    case STEP_AUTH_WAIT:
        req->step = STEP_CHECKED;
        basicauth_credentials_free(&req->creds);
        if (req->job.cancelled)
            break;
        if (req->job.auth == BASICAUTH_BUSY)
            return too_many_requests(srv, conn);
        if (req->job.auth != BASICAUTH_OK)
            return ask_credentials(srv, conn);
        if (refuse_method(srv, conn, method, is_reload, &ret))
            return ret;
        break;
    case STEP_WORK_WAIT:
        if (req->job.cancelled)
            break;
        if (req->job.kind == HTTP_JOB_RELOAD)
            return http_reply_reload(srv, conn, &req->job);
        return answer_scrape(srv, conn, req);
    case STEP_CHECKED:
        break;
    }
    if (req->job.cancelled)
        return REPLY_LITERAL(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "Service Unavailable: shutting down\n", NULL);

    if (is_reload && srv->reload)
        return suspend_for(srv, conn, req, HTTP_JOB_RELOAD, STEP_WORK_WAIT);
    if (strcmp(url, srv->telemetry_path) == 0)
        return suspend_for(srv, conn, req, HTTP_JOB_SCRAPE, STEP_WORK_WAIT);
    if (strcmp(url, HEALTHY_PATH) == 0)
        return REPLY_LITERAL(srv, conn, MHD_HTTP_OK, "proctrack is Healthy.\n", NULL);
    if (strcmp(url, READY_PATH) == 0)
        return REPLY_LITERAL(srv, conn, MHD_HTTP_OK, "proctrack is Ready.\n", NULL);
    if (strcmp(url, "/") == 0 && srv->landing_status)
        return http_serve_landing(srv, conn);
    if (strcmp(url, "/") == 0)
        return http_reply_persistent(srv, conn, MHD_HTTP_OK, "text/html; charset=utf-8",
                                     srv->landing_html, srv->landing_len, NULL);
    return REPLY_LITERAL(srv, conn, MHD_HTTP_NOT_FOUND, "Not Found\n", NULL);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is answered, or its connection is gone. */
void http_request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                            enum MHD_RequestTerminationCode code)
{
    struct http_server *srv = cls;
    struct http_request *req = *req_cls;
    if (req) {
        http_scrape_release(req->job.scrape);
        basicauth_credentials_free(&req->creds);
        http_web_release(srv, req->web);
        free(req);
        *req_cls = NULL;
    }
    struct http_conn *c = conn_of(conn);
    if (c)
        c->bad_target = false;
    if (c && code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        http_conns_kept_alive(&srv->conns, c, http_now_ms());
}
