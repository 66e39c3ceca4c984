/* Responses: the metrics (OpenMetrics and gzip when asked for), the reload answer, the landing
 * page, and the headers every response carries. */
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>

#include "expo/expo.h"

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
bool http_add_headers(const struct http_server *srv, struct MHD_Response *resp,
                      const char *content_type)
{
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
        return false;
    /* The web config in use now: a response shared by several scrapes is built once. */
    struct http_web *web = http_web_acquire(srv);
    const struct webconfig *wc = http_web_config(web);
    bool ok = true;
    for (size_t i = 0; wc && ok && i < wc->nheaders; i++)
        ok = MHD_add_response_header(resp, wc->headers[i].name, wc->headers[i].value) == MHD_YES;
    http_web_release(srv, web);
    return ok;
}

/* Error answers close the connection: after a request we refused, what follows on the
 * connection may be the rest of it (an unread body, a smuggled request), not a new one. */
mhd_result http_queue(const struct http_server *srv, struct MHD_Connection *conn, unsigned status,
                      struct MHD_Response *resp, const char *content_type)
{
    mhd_result ret = MHD_NO;
    if (http_add_headers(srv, resp, content_type) &&
        (status < 400 ||
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES))
        ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A body that outlives the request: a string literal or the server's landing page. */
mhd_result http_reply_persistent(const struct http_server *srv, struct MHD_Connection *conn,
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
    return http_queue(srv, conn, status, resp, content_type);
}

mhd_result http_reply_text(const struct http_server *srv, struct MHD_Connection *conn,
                           unsigned status, struct strbuf *body)
{
    struct MHD_Response *resp = response_from_strbuf(body);
    if (!resp)
        return MHD_NO;
    return http_queue(srv, conn, status, resp, TEXT_PLAIN);
}

mhd_result http_reply_error(const struct http_server *srv, struct MHD_Connection *conn,
                            unsigned status, const char *text, const char *allow)
{
    return http_reply_persistent(srv, conn, status, TEXT_PLAIN, text, strlen(text), allow);
}

struct MHD_Response *http_error_response(const struct http_server *srv, int rc)
{
    struct strbuf body = STRBUF_INIT;
    strbuf_printf(&body, "error collecting metrics: %s\n", strerror(-rc));
    struct MHD_Response *resp = response_from_strbuf(&body);
    if (resp && (!http_add_headers(srv, resp, TEXT_PLAIN) ||
                 MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return resp;
}

/* Called by the worker, once per form a scan's scrapes asked for. */
struct MHD_Response *http_metrics_response(const struct http_server *srv, const struct strbuf *text,
                                           unsigned variant)
{
    struct strbuf body = STRBUF_INIT;
    const char *content_type = EXPO_CONTENT_TYPE;
    if (variant & HTTP_VARIANT_OPENMETRICS) {
        expo_openmetrics(text->buf ? text->buf : "", text->len, &body);
        content_type = EXPO_OPENMETRICS_CONTENT_TYPE;
    } else {
        strbuf_append(&body, text->buf ? text->buf : "", text->len);
    }

    bool compressed = false;
    if (variant & HTTP_VARIANT_GZIP) {
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
        return NULL;
    if (!http_add_headers(srv, resp, content_type) ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding") != MHD_YES ||
        (compressed &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") != MHD_YES)) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

mhd_result http_reply_reload(struct http_server *srv, struct MHD_Connection *conn,
                             const struct http_job *job)
{
    if (job->reload_rc == 0)
        return REPLY_LITERAL(srv, conn, MHD_HTTP_OK, "OK\n", NULL);
    struct strbuf body = STRBUF_INIT;
    if (job->reload_err[0])
        strbuf_printf(&body, "%s\n", job->reload_err);
    else
        strbuf_printf(&body, "reload failed: %s\n",
                      job->reload_rc < 0 ? strerror(-job->reload_rc) : "unknown error");
    return http_reply_text(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, &body);
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

char *http_default_landing_page(const char *telemetry_path)
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
mhd_result http_serve_landing(struct http_server *srv, struct MHD_Connection *conn)
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
    return http_queue(srv, conn, MHD_HTTP_OK, resp, "text/html; charset=utf-8");
}
