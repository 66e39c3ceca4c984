/* Reads exporter-toolkit's web config with libyaml's event API, the way rules/load.c reads
 * process-exporter's: a small recursive-descent reader over a fixed schema, depth bounded, that
 * stops at the first error and says where it is. Unlike the rules config, unknown keys are errors,
 * because exporter-toolkit parses this file strictly and a misspelt key here can silently leave an
 * exporter without TLS or authentication. */
#include "http/webconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <yaml.h>

#include "util/strbuf.h"
#include "util/xalloc.h"

/* The schema nests three levels (top, http_server_config, headers). */
#define WEBCONFIG_MAX_DEPTH 8
/* The config and every PEM file it names. */
#define WEBCONFIG_MAX_FILE_SIZE (1u << 20)

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_BOOL "tag:yaml.org,2002:bool"
#define TAG_NULL "tag:yaml.org,2002:null"
#define TAG_MAP "tag:yaml.org,2002:map"

/* A file named in tls_server_config; it is read once the whole block is known. */
struct file_ref {
    char *path; /* NULL when unset or "" (exporter-toolkit's "not set") */
    yaml_mark_t key_mark;
    yaml_mark_t value_mark;
};

struct tls_block {
    bool present; /* a tls_server_config mapping with at least one key */
    yaml_mark_t mark;
    struct file_ref cert, key, ca;
    bool has_client_auth;
    yaml_mark_t client_auth_mark;
    bool has_max;
    yaml_mark_t max_mark;
};

struct reader {
    yaml_parser_t parser;
    yaml_event_t event; /* the current event, owned while have_event */
    bool have_event;
    unsigned depth; /* open collections */
    const char *name;
    const char *buf;
    size_t len;
    const char *base_dir;
    char *err;
    size_t errlen;
    struct webconfig *wc;
    size_t users_cap;
    size_t headers_cap;
    struct tls_block tls;
};

/* Keys already seen in one mapping: libyaml does not detect duplicates. */
struct keyset {
    char **keys;
    size_t n;
    size_t cap;
};

static const char *const client_auth_names[] = {
    [WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
    [WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
    [WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
    [WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
    [WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static const char *const tls_version_names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};

/* exporter-toolkit lets only these headers be set, some only to these values. */
static const struct {
    const char *name;
    const char *values[3]; /* NULL-terminated; empty: any value */
} allowed_headers[] = {
    {"Strict-Transport-Security", {NULL}},
    {"X-Content-Type-Options", {"nosniff", NULL}},
    {"X-Frame-Options", {"deny", "sameorigin", NULL}},
    {"X-XSS-Protection", {NULL}},
    {"Content-Security-Policy", {NULL}},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *webconfig_client_auth_name(enum webconfig_client_auth auth)
{
    if ((size_t)auth < ARRAY_LEN(client_auth_names))
        return client_auth_names[auth];
    return "?";
}

static bool is_bcrypt_b64(char c)
{
    return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

bool webconfig_is_bcrypt_hash(const char *s)
{
    if (strncmp(s, "$2a$", 4) != 0 && strncmp(s, "$2b$", 4) != 0 && strncmp(s, "$2y$", 4) != 0)
        return false;
    if (s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' || s[6] != '$')
        return false;
    int cost = (s[4] - '0') * 10 + (s[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    for (size_t i = 7; i < 7 + 53; i++) {
        if (!is_bcrypt_b64(s[i]))
            return false;
    }
    return s[7 + 53] == '\0';
}

int webconfig_tls_priorities(const struct webconfig *wc, char *out, size_t outlen)
{
    size_t len = (size_t)snprintf(out, outlen, "NORMAL:-VERS-ALL");
    for (int v = wc->max_version; v >= (int)wc->min_version && len < outlen; v--)
        len += (size_t)snprintf(out + len, outlen - len, ":+VERS-TLS1.%d", v - WEBCONFIG_TLS10);
    return len < outlen ? 0 : -ENOSPC;
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Writes "NAME:LINE:COL: reason" for a zero-based libyaml mark; returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(struct reader *rd, yaml_mark_t mark,
                                                      const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (rd->errlen > 0)
        snprintf(rd->err, rd->errlen, "%s:%zu:%zu: %s", rd->name, mark.line + 1, mark.column + 1,
                 reason);
    return -1;
}

/* libyaml's reader reports a byte offset only; count lines and characters up to it the way the
 * scanner's marks do. */
static yaml_mark_t mark_from_offset(const struct reader *rd, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};
    if (offset > rd->len)
        offset = rd->len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)rd->buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= rd->len || rd->buf[i + 1] != '\n'))) {
            mark.line++;
            mark.column = 0;
        } else if ((c & 0xc0) != 0x80) {
            mark.column++;
        }
    }
    mark.index = offset;
    return mark;
}

static int syntax_error(struct reader *rd)
{
    const yaml_parser_t *p = &rd->parser;
    const char *problem = p->problem ? p->problem : "unknown YAML error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        snprintf(rd->err, rd->errlen, "%s: out of memory while reading YAML", rd->name);
        return -1;
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return fail(rd, mark_from_offset(rd, p->problem_offset), "%s (byte 0x%02X)", problem,
                        (unsigned)p->problem_value & 0xff);
        return fail(rd, mark_from_offset(rd, p->problem_offset), "%s", problem);
    default:
        if (p->context)
            return fail(rd, p->problem_mark, "%s (%s at line %zu, column %zu)", problem, p->context,
                        p->context_mark.line + 1, p->context_mark.column + 1);
        return fail(rd, p->problem_mark, "%s", problem);
    }
}

/* ---- events ------------------------------------------------------------------------------ */

/* libyaml does not type scalars: a plain ~, null or nothing is YAML's null. */
static bool is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && strcmp(tag, TAG_NULL) != 0)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *event_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return is_null(ev) ? "null" : "a string";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    default:
        return "something else";
    }
}

static bool tag_is(const yaml_char_t *tag, const char *a, const char *b)
{
    const char *t = (const char *)tag;
    return t == NULL || strcmp(t, "!") == 0 || strcmp(t, a) == 0 || (b && strcmp(t, b) == 0);
}

/* Advances to the next event, tracking nesting and refusing what the reader does not handle. */
static int next_event(struct reader *rd)
{
    if (rd->have_event) {
        yaml_event_delete(&rd->event);
        rd->have_event = false;
    }
    if (!yaml_parser_parse(&rd->parser, &rd->event))
        return syntax_error(rd);
    rd->have_event = true;
    yaml_event_t *ev = &rd->event;
    const yaml_char_t *tag = NULL;
    bool ok = true;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return fail(rd, ev->start_mark, "YAML aliases are not supported (*%s)",
                    (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        tag = ev->data.scalar.tag;
        /* Strings and booleans (http2) are all the schema has; a null is a missing value. */
        ok = tag_is(tag, TAG_STR, TAG_BOOL) || tag_is(tag, TAG_NULL, NULL);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++rd->depth > WEBCONFIG_MAX_DEPTH)
            return fail(rd, ev->start_mark, "nesting deeper than %d levels", WEBCONFIG_MAX_DEPTH);
        if (ev->type == YAML_SEQUENCE_START_EVENT) {
            tag = ev->data.sequence_start.tag;
        } else {
            tag = ev->data.mapping_start.tag;
            ok = tag_is(tag, TAG_MAP, NULL);
        }
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        rd->depth--;
        break;
    default:
        break;
    }
    if (!ok)
        return fail(rd, ev->start_mark, "unsupported YAML tag \"%s\" on %s", (const char *)tag,
                    event_kind(ev));
    return 0;
}

static void keyset_free(struct keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
}

static int check_no_nul(struct reader *rd)
{
    const yaml_event_t *ev = &rd->event;
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
        return fail(rd, ev->start_mark, "string contains a NUL byte");
    return 0;
}

/* Reads the next key of a mapping whose start was consumed. Returns 1 with the key as the
 * current (scalar) event, 0 at the end of the mapping, -1 on error. */
static int next_key(struct reader *rd, struct keyset *seen)
{
    if (next_event(rd))
        return -1;
    const yaml_event_t *ev = &rd->event;
    if (ev->type == YAML_MAPPING_END_EVENT)
        return 0;
    if (ev->type != YAML_SCALAR_EVENT || is_null(ev))
        return fail(rd, ev->start_mark, "mapping keys must be strings, not %s", event_kind(ev));
    if (check_no_nul(rd))
        return -1;
    const char *key = (const char *)ev->data.scalar.value;
    for (size_t i = 0; i < seen->n; i++) {
        if (strcmp(seen->keys[i], key) == 0)
            return fail(rd, ev->start_mark, "duplicate key \"%s\"", key);
    }
    seen->keys = xgrow(seen->keys, &seen->cap, seen->n + 1, sizeof(*seen->keys));
    seen->keys[seen->n++] = xstrdup(key);
    return 1;
}

static const char *current_key(const struct reader *rd)
{
    return (const char *)rd->event.data.scalar.value;
}

/* The key next_key returned, as a copy that stays valid while the value is read. */
static const char *last_key(const struct keyset *seen)
{
    return seen->keys[seen->n - 1];
}

/* A string value. Null leaves *out NULL; so does "" unless `keep_empty`. */
static int load_string(struct reader *rd, const char *key, bool keep_empty, char **out,
                       yaml_mark_t *mark)
{
    if (next_event(rd))
        return -1;
    const yaml_event_t *ev = &rd->event;
    *mark = ev->start_mark;
    if (is_null(ev))
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return fail(rd, ev->start_mark, "\"%s\" must be a string, not %s", key, event_kind(ev));
    if (check_no_nul(rd))
        return -1;
    if (ev->data.scalar.length > 0 || keep_empty)
        *out = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    return 0;
}

/* A YAML 1.1 boolean, as yaml.v2 reads one. */
static int load_bool(struct reader *rd, const char *key, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    if (next_event(rd))
        return -1;
    const yaml_event_t *ev = &rd->event;
    if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)ev->data.scalar.value;
        for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
            if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
                *out = strcmp(v, yes[i]) == 0;
                return 0;
            }
        }
    }
    if (ev->type == YAML_SCALAR_EVENT && !is_null(ev))
        return fail(rd, ev->start_mark, "\"%s\" must be true or false, not \"%s\"", key,
                    (const char *)ev->data.scalar.value);
    return fail(rd, ev->start_mark, "\"%s\" must be true or false, not %s", key, event_kind(ev));
}

/* A mapping value. Returns 1 after its start, 0 for null (absent), -1 on error. */
static int load_mapping_start(struct reader *rd, const char *key)
{
    if (next_event(rd))
        return -1;
    if (is_null(&rd->event))
        return 0;
    if (rd->event.type != YAML_MAPPING_START_EVENT)
        return fail(rd, rd->event.start_mark, "\"%s\" must be a mapping, not %s", key,
                    event_kind(&rd->event));
    return 1;
}

/* Matches a value against a table of names; returns the index or -1. */
static int lookup(const char *value, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- tls_server_config ------------------------------------------------------------------- */

static int load_tls_version(struct reader *rd, const char *key, enum webconfig_tls_version *out,
                            yaml_mark_t *mark)
{
    char *value = NULL;
    if (load_string(rd, key, true, &value, mark))
        return -1;
    if (!value)
        return 0; /* null: the default */
    int i = lookup(value, tls_version_names, ARRAY_LEN(tls_version_names));
    int rc = 0;
    if (i < 0)
        rc =
            fail(rd, *mark, "unknown TLS version \"%s\" for %s (want TLS10, TLS11, TLS12 or TLS13)",
                 value, key);
    else
        *out = (enum webconfig_tls_version)(WEBCONFIG_TLS10 + i);
    free(value);
    return rc;
}

static int load_client_auth(struct reader *rd)
{
    char *value = NULL;
    yaml_mark_t mark;
    if (load_string(rd, "client_auth_type", false, &value, &mark))
        return -1;
    rd->tls.client_auth_mark = mark;
    if (!value)
        return 0; /* null or "": NoClientCert, as in crypto/tls */
    int i = lookup(value, client_auth_names, ARRAY_LEN(client_auth_names));
    int rc = 0;
    if (i < 0) {
        rc = fail(rd, mark,
                  "unknown client_auth_type \"%s\" (want NoClientCert, RequestClientCert, "
                  "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)",
                  value);
    } else {
        rd->wc->client_auth = (enum webconfig_client_auth)i;
        rd->tls.has_client_auth = true;
    }
    free(value);
    return rc;
}

static int load_file_ref(struct reader *rd, struct file_ref *ref)
{
    ref->key_mark = rd->event.start_mark;
    char key[32];
    snprintf(key, sizeof(key), "%s", current_key(rd));
    return load_string(rd, key, false, &ref->path, &ref->value_mark);
}

static int load_tls(struct reader *rd)
{
    static const char *const unsupported[] = {
        "cert", "key", "client_ca", "client_allowed_sans", "cipher_suites", "curve_preferences",
    };
    struct tls_block *t = &rd->tls;
    struct webconfig *wc = rd->wc;
    struct keyset seen = {0};
    int rc;

    while ((rc = next_key(rd, &seen)) == 1) {
        const char *key = last_key(&seen); /* outlives the key's event */
        t->present = true;
        if (strcmp(key, "cert_file") == 0) {
            rc = load_file_ref(rd, &t->cert);
        } else if (strcmp(key, "key_file") == 0) {
            rc = load_file_ref(rd, &t->key);
        } else if (strcmp(key, "client_ca_file") == 0) {
            rc = load_file_ref(rd, &t->ca);
        } else if (strcmp(key, "client_auth_type") == 0) {
            rc = load_client_auth(rd);
        } else if (strcmp(key, "min_version") == 0) {
            yaml_mark_t mark;
            rc = load_tls_version(rd, "min_version", &wc->min_version, &mark);
        } else if (strcmp(key, "max_version") == 0) {
            rc = load_tls_version(rd, "max_version", &wc->max_version, &t->max_mark);
            t->has_max = true;
        } else if (strcmp(key, "prefer_server_cipher_suites") == 0) {
            /* Go ignores it since 1.18; accepted so that existing files load. */
            bool ignored;
            rc = load_bool(rd, key, &ignored);
        } else if (lookup(key, unsupported, ARRAY_LEN(unsupported)) >= 0) {
            rc = fail(rd, rd->event.start_mark, "\"%s\" is not supported by proctrack", key);
        } else {
            rc = fail(rd, rd->event.start_mark,
                      "unknown key \"%s\" in tls_server_config (want cert_file, key_file, "
                      "client_auth_type, client_ca_file, min_version or max_version)",
                      key);
        }
        if (rc)
            break;
    }
    keyset_free(&seen);
    return rc;
}

/* ---- basic_auth_users, http_server_config ------------------------------------------------ */

static int load_users(struct reader *rd, yaml_mark_t block_mark)
{
    struct webconfig *wc = rd->wc;
    struct keyset seen = {0};
    int rc;

    while ((rc = next_key(rd, &seen)) == 1) {
        yaml_mark_t key_mark = rd->event.start_mark;
        char *name = xstrdup(current_key(rd));
        char *hash = NULL;
        yaml_mark_t mark;
        if (name[0] == '\0')
            rc = fail(rd, key_mark, "a user name cannot be empty");
        else if (strchr(name, ':'))
            rc = fail(rd, key_mark, "user name \"%s\" contains ':', which basic auth cannot send",
                      name);
        if (rc == 1)
            rc = load_string(rd, name, true, &hash, &mark);
        if (rc == 0 && !hash)
            rc = fail(rd, mark, "user \"%s\" has no password hash", name);
        if (rc == 0 && !webconfig_is_bcrypt_hash(hash))
            rc = fail(rd, mark,
                      "the password of user \"%s\" is not a bcrypt hash ($2a$, $2b$ or $2y$, as "
                      "htpasswd -B makes them)",
                      name);
        if (rc) {
            free(name);
            free(hash);
            break;
        }
        wc->users = xgrow(wc->users, &rd->users_cap, wc->nusers + 1, sizeof(*wc->users));
        wc->users[wc->nusers++] = (struct webconfig_user){name, hash};
    }
    keyset_free(&seen);
    /* An empty list would lock everyone out (exporter-toolkit) or be read as "no auth"; neither
     * is likely what the file means. */
    if (rc == 0 && wc->nusers == 0)
        rc = fail(rd, block_mark,
                  "basic_auth_users is empty: list users, or remove the key to disable auth");
    return rc;
}

/* Field values may hold spaces and tabs, not other control characters (RFC 9110 5.5). */
static bool has_control_char(const char *s)
{
    for (; *s; s++) {
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return true;
    }
    return false;
}

static int check_header(struct reader *rd, const char *name, yaml_mark_t key_mark,
                        const char *value, yaml_mark_t value_mark)
{
    for (size_t i = 0; i < ARRAY_LEN(allowed_headers); i++) {
        if (strcmp(name, allowed_headers[i].name) != 0)
            continue;
        const char *const *values = allowed_headers[i].values;
        if (has_control_char(value))
            return fail(rd, value_mark, "the value of header \"%s\" contains a control character",
                        name);
        if (!values[0] || lookup(value, values, values[1] ? 2 : 1) >= 0)
            return 0;
        return fail(rd, value_mark, "invalid value \"%s\" for header \"%s\" (want %s%s%s)", value,
                    name, values[0], values[1] ? " or " : "", values[1] ? values[1] : "");
    }
    return fail(rd, key_mark,
                "header \"%s\" cannot be configured (allowed: Strict-Transport-Security, "
                "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                "Content-Security-Policy)",
                name);
}

static int load_headers(struct reader *rd)
{
    struct webconfig *wc = rd->wc;
    struct keyset seen = {0};
    int rc = load_mapping_start(rd, "headers");
    if (rc <= 0)
        return rc;
    while ((rc = next_key(rd, &seen)) == 1) {
        yaml_mark_t key_mark = rd->event.start_mark;
        char *name = xstrdup(current_key(rd));
        char *value = NULL;
        yaml_mark_t mark;
        rc = load_string(rd, name, true, &value, &mark);
        if (rc == 0 && !value)
            rc = fail(rd, mark, "header \"%s\" has no value", name);
        if (rc == 0)
            rc = check_header(rd, name, key_mark, value, mark);
        if (rc) {
            free(name);
            free(value);
            break;
        }
        wc->headers = xgrow(wc->headers, &rd->headers_cap, wc->nheaders + 1, sizeof(*wc->headers));
        wc->headers[wc->nheaders++] = (struct webconfig_header){name, value};
    }
    keyset_free(&seen);
    return rc;
}

static int load_http_server(struct reader *rd)
{
    struct keyset seen = {0};
    int rc;
    while ((rc = next_key(rd, &seen)) == 1) {
        const char *key = last_key(&seen); /* outlives the key's event */
        if (strcmp(key, "headers") == 0) {
            rc = load_headers(rd);
        } else if (strcmp(key, "http2") == 0) {
            /* libmicrohttpd speaks HTTP/1.1 only, which either value allows. */
            bool ignored;
            rc = load_bool(rd, key, &ignored);
        } else {
            rc = fail(rd, rd->event.start_mark,
                      "unknown key \"%s\" in http_server_config (want headers or http2)", key);
        }
        if (rc)
            break;
    }
    keyset_free(&seen);
    return rc;
}

static int load_top(struct reader *rd)
{
    struct keyset seen = {0};
    int rc;
    while ((rc = next_key(rd, &seen)) == 1) {
        const char *key = last_key(&seen); /* outlives the key's event */
        yaml_mark_t key_mark = rd->event.start_mark;
        if (strcmp(key, "tls_server_config") == 0) {
            rd->tls.mark = key_mark;
            rc = load_mapping_start(rd, key);
            if (rc == 1)
                rc = load_tls(rd);
        } else if (strcmp(key, "basic_auth_users") == 0) {
            rc = load_mapping_start(rd, key);
            if (rc == 1)
                rc = load_users(rd, key_mark);
        } else if (strcmp(key, "http_server_config") == 0) {
            rc = load_mapping_start(rd, key);
            if (rc == 1)
                rc = load_http_server(rd);
        } else if (strcmp(key, "rate_limit") == 0) {
            rc = fail(rd, key_mark, "\"%s\" is not supported by proctrack", key);
        } else {
            rc = fail(rd, key_mark,
                      "unknown key \"%s\" (want tls_server_config, basic_auth_users or "
                      "http_server_config)",
                      key);
        }
        if (rc)
            break;
    }
    keyset_free(&seen);
    return rc;
}

static int load_stream(struct reader *rd)
{
    if (next_event(rd) || next_event(rd)) /* the stream start, then a document or the end */
        return -1;
    if (rd->event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (next_event(rd))
        return -1;
    if (rd->event.type == YAML_MAPPING_START_EVENT) {
        if (load_top(rd))
            return -1;
    } else if (!is_null(&rd->event)) {
        return fail(rd, rd->event.start_mark, "the top level must be a mapping, not %s",
                    event_kind(&rd->event));
    }
    if (next_event(rd) || next_event(rd)) /* the document end, then the stream end */
        return -1;
    if (rd->event.type != YAML_STREAM_END_EVENT)
        return fail(rd, rd->event.start_mark, "a web config holds one YAML document, not several");
    return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole file, NUL-terminated, up to WEBCONFIG_MAX_FILE_SIZE. Returns 0 or -errno. */
static int read_whole(const char *path, struct strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    strbuf_reserve(out, 1);
    out->buf[0] = '\0';
    for (;;) {
        strbuf_reserve(out, 16 * 1024);
        ssize_t n = read(fd, out->buf + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->buf[out->len] = '\0';
        if (out->len > WEBCONFIG_MAX_FILE_SIZE) {
            rc = -EFBIG;
            break;
        }
    }
    close(fd);
    return rc;
}

static char *resolve(const struct reader *rd, const char *path)
{
    if (path[0] == '/' || !rd->base_dir || !rd->base_dir[0])
        return xstrdup(path);
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb, "%s/%s", rd->base_dir, path);
    return sb.buf;
}

/* Reads a PEM file the config names into *out. */
static int read_pem(struct reader *rd, const char *key, struct file_ref *ref, char **out)
{
    char *path = resolve(rd, ref->path);
    struct strbuf content = STRBUF_INIT;
    int rc = read_whole(path, &content);
    if (rc < 0) {
        fail(rd, ref->value_mark, "cannot read %s \"%s\": %s", key, path, strerror(-rc));
        /* The key may have been partly read. */
        if (content.buf)
            explicit_bzero(content.buf, content.cap);
        strbuf_free(&content);
    } else {
        *out = content.buf;
    }
    free(path);
    return rc < 0 ? -1 : 0;
}

/* gnutls parses the files now, so a bad one stops start-up with its position rather than as a
 * libmicrohttpd failure to start. */
static int check_pem(struct reader *rd)
{
    struct webconfig *wc = rd->wc;
    struct tls_block *t = &rd->tls;
    gnutls_certificate_credentials_t cred;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0)
        return fail(rd, t->mark, "cannot check the certificates: %s", gnutls_strerror(rc));

    gnutls_datum_t cert = {(unsigned char *)wc->cert, (unsigned)strlen(wc->cert)};
    gnutls_datum_t key = {(unsigned char *)wc->key, (unsigned)strlen(wc->key)};
    rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        rc = fail(rd, t->cert.value_mark, "cert_file \"%s\" with key_file \"%s\": %s", t->cert.path,
                  t->key.path, gnutls_strerror(rc));
        goto out_free_cred;
    }
    if (wc->client_ca) {
        gnutls_datum_t ca = {(unsigned char *)wc->client_ca, (unsigned)strlen(wc->client_ca)};
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            rc = fail(rd, t->ca.value_mark, "client_ca_file \"%s\": %s", t->ca.path,
                      rc < 0 ? gnutls_strerror(rc) : "no PEM certificate in it");
            goto out_free_cred;
        }
    }
    char priorities[64];
    gnutls_priority_t cache;
    const char *where = NULL;
    webconfig_tls_priorities(wc, priorities, sizeof(priorities));
    rc = gnutls_priority_init(&cache, priorities, &where);
    if (rc < 0) {
        rc = fail(rd, t->mark, "TLS versions %s to %s: %s",
                  tls_version_names[wc->min_version - WEBCONFIG_TLS10],
                  tls_version_names[wc->max_version - WEBCONFIG_TLS10], gnutls_strerror(rc));
        goto out_free_cred;
    }
    gnutls_priority_deinit(cache);
    rc = 0;
out_free_cred:
    gnutls_certificate_free_credentials(cred);
    return rc;
}

static bool verifies(enum webconfig_client_auth auth)
{
    return auth == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ||
           auth == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT;
}

/* Checks tls_server_config as a whole, then reads and checks the files it names. */
static int finish_tls(struct reader *rd)
{
    struct tls_block *t = &rd->tls;
    struct webconfig *wc = rd->wc;

    if (!t->present)
        return 0;
    if (t->cert.path && !t->key.path)
        return fail(rd, t->cert.key_mark, "cert_file is set but key_file is missing");
    if (t->key.path && !t->cert.path)
        return fail(rd, t->key.key_mark, "key_file is set but cert_file is missing");
    /* exporter-toolkit would serve plain HTTP here; a policy or version without a certificate
     * is more likely a mistake. */
    if (!t->cert.path)
        return fail(rd, t->mark, "tls_server_config needs cert_file and key_file");
    if (verifies(wc->client_auth) && !t->ca.path)
        return fail(rd, t->client_auth_mark, "client_auth_type %s needs client_ca_file",
                    webconfig_client_auth_name(wc->client_auth));
    if (t->ca.path && wc->client_auth == WEBCONFIG_NO_CLIENT_CERT)
        return fail(rd, t->ca.key_mark,
                    "client_ca_file is set but client_auth_type is NoClientCert (want "
                    "RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
    if (wc->max_version < wc->min_version)
        return fail(rd, t->has_max ? t->max_mark : t->mark,
                    "max_version %s is lower than min_version %s",
                    tls_version_names[wc->max_version - WEBCONFIG_TLS10],
                    tls_version_names[wc->min_version - WEBCONFIG_TLS10]);

    if (read_pem(rd, "cert_file", &t->cert, &wc->cert) ||
        read_pem(rd, "key_file", &t->key, &wc->key) ||
        (t->ca.path && read_pem(rd, "client_ca_file", &t->ca, &wc->client_ca)))
        return -1;
    if (check_pem(rd))
        return -1;
    wc->tls = true;
    return 0;
}

/* ---- public ------------------------------------------------------------------------------ */

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void webconfig_free(struct webconfig *wc)
{
    if (!wc)
        return;
    free(wc->cert);
    wipe_free(wc->key);
    free(wc->client_ca);
    for (size_t i = 0; i < wc->nusers; i++) {
        free(wc->users[i].name);
        free(wc->users[i].hash);
    }
    free(wc->users);
    for (size_t i = 0; i < wc->nheaders; i++) {
        free(wc->headers[i].name);
        free(wc->headers[i].value);
    }
    free(wc->headers);
    free(wc);
}

struct webconfig *webconfig_load_buffer(const char *name, const char *buf, size_t len,
                                        const char *base_dir, char *err, size_t errlen)
{
    struct reader rd = {
        .name = name,
        .buf = buf ? buf : "",
        .len = buf ? len : 0,
        .base_dir = base_dir,
        .err = err,
        .errlen = errlen,
    };
    if (errlen > 0)
        err[0] = '\0';
    if (!yaml_parser_initialize(&rd.parser)) {
        snprintf(err, errlen, "%s: out of memory while reading YAML", name);
        return NULL;
    }
    yaml_parser_set_input_string(&rd.parser, (const unsigned char *)rd.buf, rd.len);
    yaml_parser_set_encoding(&rd.parser, YAML_UTF8_ENCODING);
    rd.wc = xcalloc(1, sizeof(*rd.wc));
    rd.wc->min_version = WEBCONFIG_TLS12;
    rd.wc->max_version = WEBCONFIG_TLS13;

    int rc = load_stream(&rd);
    if (rd.have_event)
        yaml_event_delete(&rd.event);
    yaml_parser_delete(&rd.parser);
    if (rc == 0)
        rc = finish_tls(&rd);

    free(rd.tls.cert.path);
    free(rd.tls.key.path);
    free(rd.tls.ca.path);
    if (rc) {
        webconfig_free(rd.wc);
        return NULL;
    }
    return rd.wc;
}

struct webconfig *webconfig_load_file(const char *path, char *err, size_t errlen)
{
    struct strbuf content = STRBUF_INIT;
    int rc = read_whole(path, &content);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        strbuf_free(&content);
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    struct webconfig *wc = webconfig_load_buffer(path, content.buf, content.len, dir, err, errlen);
    free(dir);
    strbuf_free(&content);
    return wc;
}
