#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "expo/expo.h"
#include "http/http.h"
#include "http/webconfig.h"

static const char EXPOSITION[] = "# HELP proctrack_test_up Test.\n"
                                 "# TYPE proctrack_test_up gauge\n"
                                 "proctrack_test_up{groupname=\"a \\\"b\\\"\"} 1\n";

struct fake_collector {
    atomic_int calls;
    int fail_with;     /* negative errno to return, or 0 */
    unsigned delay_ms; /* to simulate a slow scan */
    size_t repeat;     /* how many copies of EXPOSITION to write */
};

static int fake_metrics(void *arg, struct strbuf *body)
{
    struct fake_collector *fc = arg;
    atomic_fetch_add(&fc->calls, 1);
    if (fc->delay_ms) {
        struct timespec ts = {fc->delay_ms / 1000, (long)(fc->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fc->fail_with)
        return fc->fail_with;
    for (size_t i = 0; i < (fc->repeat ? fc->repeat : 1); i++)
        strbuf_append(body, EXPOSITION, sizeof(EXPOSITION) - 1);
    return 0;
}

struct fixture {
    struct fake_collector fc;
    struct http_server *srv;
    unsigned port;
};

static struct http_config test_config(struct fake_collector *fc)
{
    struct http_config cfg = {
        .listen_address = "127.0.0.1:0",
        .telemetry_path = "/metrics",
        .max_connections = 16,
        .timeout_seconds = 5,
        .gzip = true,
        .landing_html = NULL,
        .metrics = fake_metrics,
        .metrics_arg = fc,
    };
    return cfg;
}

static int setup_server(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char err[256];
    struct http_config cfg = test_config(&fx->fc);
    fx->srv = http_start(&cfg, err, sizeof(err));
    if (!fx->srv) {
        fprintf(stderr, "http_start: %s\n", err);
        free(fx);
        return -1;
    }
    fx->port = http_port(fx->srv);
    *state = fx;
    return 0;
}

static int teardown_server(void **state)
{
    struct fixture *fx = *state;
    http_stop(fx->srv);
    free(fx);
    return 0;
}

/* ---- a minimal HTTP/1.1 client ----------------------------------------------------------- */

struct reply {
    int status;
    struct strbuf raw;
    size_t head_len; /* up to and including the blank line */
    const char *body;
    size_t body_len;
};

static int connect_local(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    /* A server bug must fail the test, not hang the suite. */
    struct timeval tv = {5, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until the server closes (requests carry "Connection: close") and splits the reply. */
static void read_reply(int fd, struct reply *r)
{
    char buf[16384];
    ssize_t n;
    memset(r, 0, sizeof(*r));
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        strbuf_append(&r->raw, buf, (size_t)n);
    assert_int_equal(n, 0); /* EOF, not a timeout */
    close(fd);

    const char *raw = strbuf_str(&r->raw);
    const char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    r->head_len = (size_t)(end - raw) + 4;
    r->body = raw + r->head_len;
    r->body_len = r->raw.len - r->head_len;
    assert_int_equal(strncmp(raw, "HTTP/1.1 ", 9), 0);
    r->status = atoi(raw + 9);
}

static void exchange(unsigned port, const char *request, struct reply *r)
{
    int fd = connect_local(port);
    send_all(fd, request, strlen(request));
    read_reply(fd, r);
}

static void get(unsigned port, const char *method, const char *path, const char *extra_headers,
                struct reply *r)
{
    char req[1024];
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
             method, path, extra_headers ? extra_headers : "");
    exchange(port, req, r);
}

/* The value of a response header (case-insensitive name), or NULL. Valid until the next call. */
static const char *header(const struct reply *r, const char *name)
{
    static char value[512];
    size_t name_len = strlen(name);
    const char *line = strstr(r->raw.buf, "\r\n") + 2;
    const char *head_end = r->raw.buf + r->head_len - 2;

    while (line < head_end) {
        const char *eol = strstr(line, "\r\n");
        if ((size_t)(eol - line) > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof(value), "%.*s", (int)(eol - v), v);
            return value;
        }
        line = eol + 2;
    }
    return NULL;
}

static void reply_free(struct reply *r)
{
    strbuf_free(&r->raw);
}

static void gunzip(const char *in, size_t len, struct strbuf *out)
{
    z_stream zs;
    char buf[65536];
    int rc;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    do {
        zs.next_out = (Bytef *)buf;
        zs.avail_out = sizeof(buf);
        rc = inflate(&zs, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        strbuf_append(out, buf, sizeof(buf) - zs.avail_out);
    } while (rc != Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_metrics_served_with_content_type_and_body(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(header(&r, "Vary"), "Accept, Accept-Encoding");
    assert_null(header(&r, "Content-Encoding"));
    assert_int_equal(r.body_len, sizeof(EXPOSITION) - 1);
    assert_memory_equal(r.body, EXPOSITION, r.body_len);
    assert_int_equal(atomic_load(&fx->fc.calls), 1);
    reply_free(&r);
}

static void test_head_has_headers_and_no_body(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "HEAD", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), EXPO_CONTENT_TYPE);
    assert_string_equal(header(&r, "Vary"), "Accept, Accept-Encoding");
    assert_int_equal(atoi(header(&r, "Content-Length")), sizeof(EXPOSITION) - 1);
    assert_int_equal(r.body_len, 0);
    reply_free(&r);
}

static void test_query_string_is_ignored_for_routing(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/metrics?collect[]=x&debug=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, sizeof(EXPOSITION) - 1);
    reply_free(&r);
}

static void test_get_with_body_is_served(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    exchange(fx->port,
             "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 11\r\n\r\n"
             "hello world",
             &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, EXPOSITION, sizeof(EXPOSITION) - 1);
    reply_free(&r);
}

static void test_unknown_path_is_404(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/nope", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    reply_free(&r);
    get(fx->port, "GET", "/metrics/", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(atomic_load(&fx->fc.calls), 0);
    reply_free(&r);
}

static void test_encoded_nul_does_not_cut_the_path(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/metrics%00.html", NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    get(fx->port, "GET", "/metr%69cs", NULL, &r); /* other escapes are decoded */
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(atomic_load(&fx->fc.calls), 1);
}

static void test_absolute_form_target_is_routed_by_its_path(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    exchange(
        fx->port,
        "GET http://127.0.0.1/metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, EXPOSITION, sizeof(EXPOSITION) - 1);
    reply_free(&r);
    exchange(fx->port,
             "GET HTTP://example.org/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
}

static void test_other_methods_are_405_with_allow(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    exchange(fx->port,
             "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"
             "a=b",
             &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "GET, HEAD");
    reply_free(&r);
    const char *methods[] = {"DELETE", "PUT", "OPTIONS"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        get(fx->port, methods[i], "/metrics", NULL, &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(header(&r, "Allow"), "GET, HEAD");
        reply_free(&r);
    }
    assert_int_equal(atomic_load(&fx->fc.calls), 0);
}

static void test_gzip_negotiation(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *headers;
        bool gzip;
    } cases[] = {
        {NULL, false},
        {"Accept-Encoding: gzip\r\n", true},
        {"Accept-Encoding: GZip\r\n", true},
        {"Accept-Encoding: gzip;q=0\r\n", false},
        {"Accept-Encoding: deflate, gzip;q=0.5\r\n", true},
        {"Accept-Encoding: *\r\n", true},
        {"Accept-Encoding: identity\r\n", false},
        {"Accept-Encoding: gzip;q=0, *\r\n", false},
        {"Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n", true},
    };
    fx->fc.repeat = 2000;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct reply r;
        get(fx->port, "GET", "/metrics", cases[i].headers, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Vary"), "Accept, Accept-Encoding");
        assert_string_equal(header(&r, "Content-Type"), EXPO_CONTENT_TYPE);
        struct strbuf plain = STRBUF_INIT;
        if (cases[i].gzip) {
            assert_non_null(header(&r, "Content-Encoding"));
            assert_string_equal(header(&r, "Content-Encoding"), "gzip");
            gunzip(r.body, r.body_len, &plain);
            assert_true(r.body_len < plain.len / 10);
        } else {
            assert_null(header(&r, "Content-Encoding"));
            strbuf_append(&plain, r.body, r.body_len);
        }
        assert_int_equal(plain.len, 2000 * (sizeof(EXPOSITION) - 1));
        for (size_t off = 0; off < plain.len; off += sizeof(EXPOSITION) - 1)
            assert_memory_equal(plain.buf + off, EXPOSITION, sizeof(EXPOSITION) - 1);
        strbuf_free(&plain);
        reply_free(&r);
    }
}

static void test_gzip_disabled_by_config(void **state)
{
    (void)state;
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    char err[256];
    cfg.gzip = false;
    struct http_server *srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    struct reply r;
    get(http_port(srv), "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(header(&r, "Content-Encoding"));
    assert_memory_equal(r.body, EXPOSITION, sizeof(EXPOSITION) - 1);
    reply_free(&r);
    http_stop(srv);
}

static void test_accept_encoding_parser(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool gzip;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"gzip", true},
        {" gzip ", true},
        {"x-gzip", true},
        {"GZIP", true},
        {"gzip;q=1", true},
        {"gzip;q=1.0", true},
        {"gzip; q=0.001", true},
        {"gzip;q=0", false},
        {"gzip;Q=0", false},
        {"gzip ; q = 0", false},
        {"gzip;q=0.0", false},
        {"gzip;q=0.000", false},
        {"deflate, gzip;q=0.5", true},
        {"deflate,br", false},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
        {"*", true},
        {"*;q=0", false},
        {"gzip;q=0, *", false},
        {"*, gzip;q=0", false},
        {"identity", false},
        {"identity;q=1, gzip;q=0.5", false},
        {"identity;q=0.5, gzip", true},
        {"gzip, identity", true},
        {"gzipx", false},
        {"gzip;q=2", false}, /* malformed weight: the entry is ignored */
        {"gzip;q=abc", false},
        {"gzip;q=abc, *", true},
        {",,gzip,,", true},
        {"gzip;level=9", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (http_accepts_gzip(cases[i].value) != cases[i].gzip)
            fail_msg("Accept-Encoding \"%s\": want %s", cases[i].value ? cases[i].value : "(none)",
                     cases[i].gzip ? "gzip" : "identity");
    }
}

static void test_accept_openmetrics_negotiation(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool om;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"*/*", false},
        {"text/plain", false},
        {"application/openmetrics-text", true},
        {"application/openmetrics-text; version=1.0.0", true},
        {"Application/OpenMetrics-Text;version=1.0.0", true},
        {"application/openmetrics-text;version=0.0.1", false},
        {"application/openmetrics-text;version=2.0.0", false},
        {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
         "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         true},
        {"application/openmetrics-text;q=0", false},
        {"application/openmetrics-text;q=0.5, text/plain", false},
        {"application/openmetrics-text;q=0.5, text/plain;q=0.5", true},
        {"application/openmetrics-text;q=0.5, */*", false},
        {"application/openmetrics-text;q=0.5, text/plain;q=0.2, */*", true},
        {"application/openmetrics-text;q=0.5, text/*;q=0.9", false},
        {"application/openmetrics-text;q=abc", false},
        {"text/plain;q=0, application/openmetrics-text;q=0.1", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (http_wants_openmetrics(cases[i].value) != cases[i].om)
            fail_msg("Accept \"%s\": want %s", cases[i].value ? cases[i].value : "(none)",
                     cases[i].om ? "OpenMetrics" : "text");
    }
}

static void test_openmetrics_served_when_asked(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n",
        &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_string_equal(header(&r, "Vary"), "Accept, Accept-Encoding");
    static const char want[] = "# HELP proctrack_test_up Test.\n"
                               "# TYPE proctrack_test_up gauge\n"
                               "proctrack_test_up{groupname=\"a \\\"b\\\"\"} 1\n"
                               "# EOF\n";
    assert_int_equal(r.body_len, sizeof(want) - 1);
    assert_memory_equal(r.body, want, r.body_len);
    reply_free(&r);

    get(fx->port, "GET", "/metrics",
        "Accept: application/openmetrics-text\r\nAccept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Encoding"), "gzip");
    struct strbuf plain = STRBUF_INIT;
    gunzip(r.body, r.body_len, &plain);
    assert_int_equal(plain.len, sizeof(want) - 1);
    assert_memory_equal(plain.buf, want, plain.len);
    strbuf_free(&plain);
    reply_free(&r);
}

static void test_collection_error_is_500(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    fx->fc.fail_with = -EIO;
    get(fx->port, "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_null(header(&r, "Content-Encoding"));
    assert_non_null(strstr(r.body, strerror(EIO)));
    assert_int_equal(atomic_load(&fx->fc.calls), 1);
    reply_free(&r);
}

static void test_landing_page_links_to_telemetry_path(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    get(fx->port, "GET", "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<title>proctrack</title>"));
    assert_non_null(strstr(r.body, "<a href=\"/metrics\">"));
    assert_int_equal(atomic_load(&fx->fc.calls), 0);
    reply_free(&r);
}

static void test_landing_page_escapes_path_and_can_be_replaced(void **state)
{
    (void)state;
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    char err[256];
    cfg.telemetry_path = "/x\"<b>&'";
    struct http_server *srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    struct reply r;
    get(http_port(srv), "GET", "/", NULL, &r);
    assert_non_null(strstr(r.body, "<a href=\"/x&quot;&lt;b&gt;&amp;&#39;\">"));
    assert_null(strstr(r.body, "<b>"));
    reply_free(&r);
    http_stop(srv);

    cfg.telemetry_path = "/probe";
    cfg.landing_html = "<html>custom</html>";
    srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    get(http_port(srv), "GET", "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, strlen("<html>custom</html>"));
    assert_memory_equal(r.body, "<html>custom</html>", r.body_len);
    reply_free(&r);
    get(http_port(srv), "GET", "/probe", NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    get(http_port(srv), "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    http_stop(srv);
}

/* Thread per connection: a scrape stuck in a slow scan must not hold up other requests. */
static void test_slow_scrape_does_not_block_other_connections(void **state)
{
    struct fixture *fx = *state;
    fx->fc.delay_ms = 1000;
    int slow = connect_local(fx->port);
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(slow, req, sizeof(req) - 1);
    while (atomic_load(&fx->fc.calls) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct reply r;
    get(fx->port, "GET", "/", NULL, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 200);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(elapsed < 0.8);
    reply_free(&r);

    read_reply(slow, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_bad_listen_addresses_are_rejected(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",          "9256",          "localhost",       "127.0.0.1",     "127.0.0.1:",
        ":65536",    "127.0.0.1:-1",  "127.0.0.1:+80",   "127.0.0.1:abc", "127.0.0.1:80x",
        ":123456",   "::1:9256",      "[::1:9256",       "[::1]x:9256",   "[]:9256",
        "[zz]:9256", "[127.0.0.1]:0", "127.0.0.1]:9256",
    };
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        char want[128];
        cfg.listen_address = bad[i];
        struct http_server *srv = http_start(&cfg, err, sizeof(err));
        if (srv) {
            http_stop(srv);
            fail_msg("listen address \"%s\" was accepted", bad[i]);
        }
        snprintf(want, sizeof(want), "invalid listen address \"%s\": ", bad[i]);
        assert_int_equal(strncmp(err, want, strlen(want)), 0);
        assert_true(strlen(err) > strlen(want));
    }
}

static void test_bad_telemetry_path_is_rejected(void **state)
{
    (void)state;
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    char err[256] = "";
    cfg.telemetry_path = "metrics";
    assert_null(http_start(&cfg, err, sizeof(err)));
    assert_string_equal(err, "invalid telemetry path \"metrics\": must start with /");
}

static void test_second_server_on_same_port_fails(void **state)
{
    struct fixture *fx = *state;
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    char addr[64], err[256] = "";
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", fx->port);
    cfg.listen_address = addr;
    struct http_server *second = http_start(&cfg, err, sizeof(err));
    if (second) {
        http_stop(second);
        fail_msg("a second server bound %s", addr);
    }
    char want[128];
    snprintf(want, sizeof(want), "cannot listen on \"%s\": ", addr);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    assert_non_null(strstr(err, strerror(EADDRINUSE)));

    /* The first server still answers. */
    struct reply r;
    get(fx->port, "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_port_zero_binds_an_ephemeral_port(void **state)
{
    struct fixture *fx = *state;
    assert_in_range(fx->port, 1, 65535);
    http_stop(NULL); /* a no-op */
}

/* ---- web config: basic auth, headers; the reload hook ------------------------------------ */

/* A web config with user "prometheus" (password "s3cret", hashed now at bcrypt's lowest cost)
 * and two extra headers. */
static struct webconfig *auth_webconfig(void)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], yaml[512], err[512];
    struct crypt_data *data = calloc(1, sizeof(*data));
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
    const char *hash = crypt_rn("s3cret", salt, data, sizeof(*data));
    assert_non_null(hash);
    snprintf(yaml, sizeof(yaml),
             "basic_auth_users:\n"
             "  prometheus: '%s'\n"
             "http_server_config:\n"
             "  headers:\n"
             "    X-Frame-Options: deny\n"
             "    X-Content-Type-Options: nosniff\n",
             hash);
    free(data);
    struct webconfig *wc =
        webconfig_load_buffer("web.yml", yaml, strlen(yaml), NULL, err, sizeof(err));
    if (!wc)
        fail_msg("%s", err);
    return wc;
}

/* "prometheus:s3cret" and "prometheus:wrong" */
#define GOOD_AUTH "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n"
#define BAD_AUTH "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n"

static void assert_extra_headers(const struct reply *r)
{
    assert_non_null(header(r, "X-Frame-Options"));
    assert_string_equal(header(r, "X-Frame-Options"), "deny");
    assert_string_equal(header(r, "X-Content-Type-Options"), "nosniff");
}

static void test_basic_auth_guards_every_path(void **state)
{
    (void)state;
    struct fake_collector fc = {0};
    struct http_config cfg = test_config(&fc);
    struct webconfig *wc = auth_webconfig();
    char err[256];
    cfg.web = wc;
    struct http_server *srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    unsigned port = http_port(srv);
    struct reply r;

    static const char *const paths[] = {"/metrics", "/", "/nope", "/-/reload"};
    static const char *const refused[] = {NULL, BAD_AUTH, "Authorization: Basic !!!\r\n",
                                          "Authorization: Bearer abc\r\n",
                                          /* "prometheus" without a colon */
                                          "Authorization: Basic cHJvbWV0aGV1cw==\r\n"};
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
            get(port, "GET", paths[p], refused[i], &r);
            if (r.status != 401)
                fail_msg("GET %s with %s: %d", paths[p], refused[i] ? refused[i] : "nothing",
                         r.status);
            assert_string_equal(header(&r, "WWW-Authenticate"), "Basic realm=\"proctrack\"");
            assert_extra_headers(&r);
            reply_free(&r);
        }
    }
    /* Authentication comes before the method check. */
    get(port, "DELETE", "/metrics", NULL, &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    assert_int_equal(atomic_load(&fc.calls), 0);

    get(port, "GET", "/metrics", GOOD_AUTH, &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, EXPOSITION, sizeof(EXPOSITION) - 1);
    assert_extra_headers(&r);
    reply_free(&r);
    get(port, "GET", "/nope", GOOD_AUTH, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    get(port, "DELETE", "/metrics", GOOD_AUTH, &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);

    http_stop(srv);
    webconfig_free(wc);
}

static void test_extra_headers_on_every_response(void **state)
{
    (void)state;
    struct fake_collector fc = {.fail_with = -EIO};
    struct http_config cfg = test_config(&fc);
    char err[256];
    const char yaml[] = "http_server_config:\n  headers:\n"
                        "    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n";
    struct webconfig *wc =
        webconfig_load_buffer("web.yml", yaml, sizeof(yaml) - 1, NULL, err, sizeof(err));
    assert_non_null(wc);
    cfg.web = wc;
    struct http_server *srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    static const struct {
        const char *method, *path;
        int status;
    } cases[] = {
        {"GET", "/", 200},  {"HEAD", "/", 200}, {"GET", "/metrics", 500},
        {"GET", "/x", 404}, {"PUT", "/", 405},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct reply r;
        get(http_port(srv), cases[i].method, cases[i].path, NULL, &r);
        assert_int_equal(r.status, cases[i].status);
        assert_extra_headers(&r);
        reply_free(&r);
    }
    http_stop(srv);
    webconfig_free(wc);
}

struct fake_reload {
    atomic_int calls;
    int rc;
    const char *message;
};

static int fake_reload(void *arg, char *err, size_t errlen)
{
    struct fake_reload *fr = arg;
    atomic_fetch_add(&fr->calls, 1);
    if (fr->message)
        snprintf(err, errlen, "%s", fr->message);
    return fr->rc;
}

static void test_reload_hook(void **state)
{
    (void)state;
    struct fake_collector fc = {0};
    struct fake_reload fr = {0};
    struct http_config cfg = test_config(&fc);
    char err[256];
    cfg.reload = fake_reload;
    cfg.reload_arg = &fr;
    struct http_server *srv = http_start(&cfg, err, sizeof(err));
    assert_non_null(srv);
    unsigned port = http_port(srv);
    struct reply r;

    exchange(port,
             "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: 0\r\n\r\n",
             &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 3);
    assert_memory_equal(r.body, "OK\n", 3);
    assert_int_equal(atomic_load(&fr.calls), 1);
    reply_free(&r);

    /* A body is read and dropped before the hook runs. */
    fr.rc = -EINVAL;
    fr.message = "config.yml:3:5: unknown key \"nmae\"";
    exchange(port,
             "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: 5\r\n\r\nhello",
             &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_int_equal(r.body_len, strlen(fr.message) + 1);
    assert_memory_equal(r.body, "config.yml:3:5: unknown key \"nmae\"\n", r.body_len);
    assert_int_equal(atomic_load(&fr.calls), 2);
    reply_free(&r);

    fr.message = NULL;
    exchange(port, "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, strerror(EINVAL)));
    reply_free(&r);

    /* An encoded NUL does not reach the hook through a longer path. */
    exchange(port, "POST /-/reload%00x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_not_equal(r.status, 200);
    assert_int_equal(atomic_load(&fr.calls), 3);
    reply_free(&r);

    get(port, "GET", "/-/reload", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "POST");
    reply_free(&r);
    get(port, "POST", "/metrics", NULL, &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);
    assert_int_equal(atomic_load(&fr.calls), 3);
    http_stop(srv);

    cfg.telemetry_path = "/-/reload";
    assert_null(http_start(&cfg, err, sizeof(err)));
    assert_string_equal(err, "invalid telemetry path \"/-/reload\": taken by the reload endpoint");
}

static void test_reload_path_is_404_without_hook(void **state)
{
    struct fixture *fx = *state;
    struct reply r;
    exchange(fx->port,
             "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: 0\r\n\r\n",
             &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    get(fx->port, "GET", "/-/reload", NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    get(fx->port, "POST", "/elsewhere", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "GET, HEAD");
    reply_free(&r);
}

#define SERVER_TEST(f) cmocka_unit_test_setup_teardown(f, setup_server, teardown_server)

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        SERVER_TEST(test_metrics_served_with_content_type_and_body),
        SERVER_TEST(test_head_has_headers_and_no_body),
        SERVER_TEST(test_query_string_is_ignored_for_routing),
        SERVER_TEST(test_get_with_body_is_served),
        SERVER_TEST(test_unknown_path_is_404),
        SERVER_TEST(test_encoded_nul_does_not_cut_the_path),
        SERVER_TEST(test_absolute_form_target_is_routed_by_its_path),
        SERVER_TEST(test_other_methods_are_405_with_allow),
        SERVER_TEST(test_gzip_negotiation),
        cmocka_unit_test(test_gzip_disabled_by_config),
        cmocka_unit_test(test_accept_encoding_parser),
        cmocka_unit_test(test_accept_openmetrics_negotiation),
        SERVER_TEST(test_openmetrics_served_when_asked),
        SERVER_TEST(test_collection_error_is_500),
        SERVER_TEST(test_landing_page_links_to_telemetry_path),
        cmocka_unit_test(test_landing_page_escapes_path_and_can_be_replaced),
        SERVER_TEST(test_slow_scrape_does_not_block_other_connections),
        cmocka_unit_test(test_bad_listen_addresses_are_rejected),
        cmocka_unit_test(test_bad_telemetry_path_is_rejected),
        SERVER_TEST(test_second_server_on_same_port_fails),
        SERVER_TEST(test_port_zero_binds_an_ephemeral_port),
        cmocka_unit_test(test_basic_auth_guards_every_path),
        cmocka_unit_test(test_extra_headers_on_every_response),
        cmocka_unit_test(test_reload_hook),
        SERVER_TEST(test_reload_path_is_404_without_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
