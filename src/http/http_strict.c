/* Checks of a request's headers where libmicrohttpd is lax, for what RFC 9112 says a server
 * must reject: a request whose length two parsers (a proxy in front of us and we) could read two
 * ways is a way to smuggle a second request past the first. Go's net/http, which
 * process-exporter and exporter-toolkit use, refuses the same. */
#include "http/http_internal.h"

#include <string.h>
#include <strings.h>

struct header_tally {
    unsigned content_length;
    unsigned transfer_encoding;
    unsigned host;
    bool chunked;   /* the one Transfer-Encoding is "chunked" */
    bool malformed; /* a name that is not a token, a NUL, a bad Content-Length */
};

/* RFC 9110 5.6.2: tchar. */
static bool is_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && !(c && strchr(extra, c)))
            return false;
    }
    return true;
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0 || len > 19)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* Whether a NUL cut the value short. libmicrohttpd 0.9.75 parses header lines in place: it turns
 * the CR and LF that end a line into NULs and trims the value's trailing blanks with a NUL, and
 * hands out the value as a C string, so a NUL sent inside the value makes it look shorter and
 * what followed it is silently dropped. The bytes after the string tell: only blanks up to the
 * line's end, unless the client sent a NUL. */
static bool cut_by_nul(const char *value, size_t value_size)
{
    const char *p = value + value_size + 1;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p != '\0';
}

static mhd_result tally_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                               const char *value, size_t value_size)
{
    struct header_tally *t = cls;
    (void)kind;
    /* libmicrohttpd gives the lengths it parsed: a NUL inside makes strlen shorter. */
    if (!key || !is_token(key, key_size) || !value || strlen(value) != value_size ||
        cut_by_nul(value, value_size)) {
        t->malformed = true;
        return MHD_YES;
    }
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        t->content_length++;
        t->malformed |= !value || !all_digits(value, value_size);
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        t->transfer_encoding++;
        t->chunked = value && strcasecmp(value, "chunked") == 0;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        t->host++;
    }
    return MHD_YES;
}

/* Characters RFC 9112 3.2 does not allow in a request target; libmicrohttpd's lenient mode
 * takes "GET /a b HTTP/1.1" as the target "/a b". Checked on the target as sent, before it
 * is percent-decoded. */
bool http_target_ok(const char *uri)
{
    for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return false;
    }
    return true;
}

unsigned http_check_request(struct MHD_Connection *conn, const char *version)
{
    struct header_tally t = {0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, tally_header, &t);
    if (t.malformed)
        return MHD_HTTP_BAD_REQUEST;
    /* RFC 9112 6.3: a Content-Length next to a Transfer-Encoding is a smuggling attempt; two
     * Content-Lengths (even equal) leave the length to whichever one a parser takes. */
    if (t.content_length > 1 || (t.content_length && t.transfer_encoding))
        return MHD_HTTP_BAD_REQUEST;
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1. */
    if (t.host > 1 || (t.host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0))
        return MHD_HTTP_BAD_REQUEST;
    /* Only chunked is a coding we read (RFC 9112 6.1: 501 for the others). */
    if (t.transfer_encoding > 1 || (t.transfer_encoding && !t.chunked))
        return MHD_HTTP_NOT_IMPLEMENTED;
    return 0;
}
