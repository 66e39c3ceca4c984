/* Request routing: the access checks, in exporter-toolkit's order, then the path. */
#include "http/http_internal.h"

#include <string.h>
#include <strings.h>

#include "http/clientcert.h"

#define ALLOWED_METHODS "GET, HEAD"
#define REALM "proctrack"

/* ---- access ----------------------------------------------------------------------------- */

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
size_t http_unescape_url(void *cls, struct MHD_Connection *conn, char *uri)
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
mhd_result http_handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
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
