/* Content negotiation: whether a client takes gzip (Accept-Encoding) and OpenMetrics (Accept). */
#include "http/http_internal.h"

#include <string.h>
#include <strings.h>

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

/* Whether the request's `name` header, present, satisfies `test`. A header may be repeated; its
 * values form one comma-separated list (RFC 9110 5.3). */
static bool header_says(struct MHD_Connection *conn, const char *name, bool (*test)(const char *))
{
    struct collect c = {name, STRBUF_INIT};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &c);
    bool yes = c.all.len && test(c.all.buf);
    strbuf_free(&c.all);
    return yes;
}

bool http_client_accepts_gzip(struct MHD_Connection *conn)
{
    return header_says(conn, MHD_HTTP_HEADER_ACCEPT_ENCODING, http_accepts_gzip);
}

bool http_client_wants_openmetrics(struct MHD_Connection *conn)
{
    return header_says(conn, MHD_HTTP_HEADER_ACCEPT, http_wants_openmetrics);
}
