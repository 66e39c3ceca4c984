/* Reads exporter-toolkit's web config with util/yamlread: a small recursive-descent reader over
 * a fixed schema that stops at the first error and says where it is. Unlike the rules config,
 * unknown keys are errors, because exporter-toolkit parses this file strictly and a misspelt key
 * here can silently leave an exporter without TLS or authentication. */
#include "http/webconfig_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/readfile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/yamlread.h"

/* The schema nests three levels (top, http_server_config, headers). */
#define WEBCONFIG_MAX_DEPTH 8

static const char *const client_auth_names[] = {
    [WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
    [WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
    [WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
    [WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
    [WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

const char *const webconfig_tls_version_names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};

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

static const char *current_key(const struct reader *rd)
{
    return (const char *)rd->yr.event.data.scalar.value;
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
    if (yamlread_string(&rd->yr, key, true, &value, mark))
        return -1;
    if (!value)
        return 0; /* null: the default */
    int i = lookup(value, webconfig_tls_version_names, ARRAY_LEN(webconfig_tls_version_names));
    int rc = 0;
    if (i < 0)
        rc = yamlread_fail(&rd->yr, *mark,
                           "unknown TLS version \"%s\" for %s (want TLS10, TLS11, TLS12 or TLS13)",
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
    if (yamlread_string(&rd->yr, "client_auth_type", false, &value, &mark))
        return -1;
    rd->tls.client_auth_mark = mark;
    if (!value)
        return 0; /* null or "": NoClientCert, as in crypto/tls */
    int i = lookup(value, client_auth_names, ARRAY_LEN(client_auth_names));
    /* exporter-toolkit still reads this older name, as RequireAnyClientCert. */
    if (i < 0 && strcmp(value, "RequireClientCert") == 0)
        i = WEBCONFIG_REQUIRE_ANY_CLIENT_CERT;
    int rc = 0;
    if (i < 0) {
        rc = yamlread_fail(
            &rd->yr, mark,
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
    ref->key_mark = rd->yr.event.start_mark;
    char key[32];
    snprintf(key, sizeof(key), "%s", current_key(rd));
    return yamlread_string(&rd->yr, key, false, &ref->path, &ref->value_mark);
}

/* cipher_suites or curve_preferences: a sequence of Go's names, each looked up with `find`; the
 * indexes, each once, in order, go to out[0..*n). Null or [] leaves gnutls's defaults. */
static int load_name_list(struct reader *rd, const char *key, int (*find)(const char *),
                          const char *what, const char *hint, unsigned char *out, size_t *n)
{
    struct yamlread *yr = &rd->yr;
    int rc = yamlread_sequence_start(yr, key, "of strings");
    if (rc <= 0)
        return rc;
    while ((rc = yamlread_next_string_item(yr, key)) == 1) {
        int i = find(current_key(rd));
        if (i < 0)
            return yamlread_fail(yr, yr->event.start_mark, "unknown %s \"%s\" in %s (%s)", what,
                                 current_key(rd), key, hint);
        if (!memchr(out, i, *n))
            out[(*n)++] = (unsigned char)i;
    }
    return rc;
}

static int find_cipher_suite(const char *name)
{
    for (int i = 0; i < WEBCONFIG_NCIPHER_SUITES; i++)
        if (strcmp(webconfig_cipher_suites[i].name, name) == 0)
            return i;
    return -1;
}

static int find_curve(const char *name)
{
    for (int i = 0; i < WEBCONFIG_NCURVES; i++)
        if (strcmp(webconfig_curves[i].name, name) == 0)
            return i;
    return -1;
}

static int load_tls(struct reader *rd)
{
    static const char *const unsupported[] = {
        "cert",
        "key",
        "client_ca",
        "client_allowed_sans",
    };
    struct tls_block *t = &rd->tls;
    struct webconfig *wc = rd->wc;
    struct yamlread_keys seen = {0};
    int rc;

    while ((rc = yamlread_next_key(&rd->yr, &seen)) == 1) {
        const char *key = yamlread_last_key(&seen); /* outlives the key's event */
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
        } else if (strcmp(key, "cipher_suites") == 0) {
            rc = load_name_list(rd, key, find_cipher_suite, "cipher suite",
                                "Go's crypto/tls names, such as "
                                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                wc->ciphers, &wc->nciphers);
        } else if (strcmp(key, "curve_preferences") == 0) {
            rc = load_name_list(rd, key, find_curve, "curve",
                                "want CurveP256, CurveP384, CurveP521 or X25519", wc->curves,
                                &wc->ncurves);
        } else if (strcmp(key, "prefer_server_cipher_suites") == 0) {
            /* Go ignores it since 1.18; accepted so that existing files load. */
            bool ignored;
            rc = yamlread_bool(&rd->yr, key, &ignored);
        } else if (lookup(key, unsupported, ARRAY_LEN(unsupported)) >= 0) {
            rc = yamlread_fail(&rd->yr, rd->yr.event.start_mark,
                               "\"%s\" is not supported by proctrack", key);
        } else {
            rc = yamlread_fail(&rd->yr, rd->yr.event.start_mark,
                               "unknown key \"%s\" in tls_server_config (want cert_file, key_file, "
                               "client_auth_type, client_ca_file, min_version, max_version, "
                               "cipher_suites, curve_preferences or "
                               "prefer_server_cipher_suites)",
                               key);
        }
        if (rc)
            break;
    }
    yamlread_keys_free(&seen);
    return rc;
}

/* ---- basic_auth_users, http_server_config ------------------------------------------------ */

static int load_users(struct reader *rd, yaml_mark_t block_mark)
{
    struct webconfig *wc = rd->wc;
    struct yamlread_keys seen = {0};
    int rc;

    while ((rc = yamlread_next_key(&rd->yr, &seen)) == 1) {
        yaml_mark_t key_mark = rd->yr.event.start_mark;
        char *name = xstrdup(current_key(rd));
        char *hash = NULL;
        yaml_mark_t mark;
        if (name[0] == '\0')
            rc = yamlread_fail(&rd->yr, key_mark, "a user name cannot be empty");
        else if (strchr(name, ':'))
            rc = yamlread_fail(&rd->yr, key_mark,
                               "user name \"%s\" contains ':', which basic auth cannot send", name);
        if (rc == 1)
            rc = yamlread_string(&rd->yr, name, true, &hash, &mark);
        if (rc == 0 && !hash)
            rc = yamlread_fail(&rd->yr, mark, "user \"%s\" has no password hash", name);
        if (rc == 0 && !webconfig_is_bcrypt_hash(hash))
            rc = yamlread_fail(
                &rd->yr, mark,
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
    yamlread_keys_free(&seen);
    /* An empty list would lock everyone out (exporter-toolkit) or be read as "no auth"; neither
     * is likely what the file means. */
    if (rc == 0 && wc->nusers == 0)
        rc = yamlread_fail(
            &rd->yr, block_mark,
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
            return yamlread_fail(&rd->yr, value_mark,
                                 "the value of header \"%s\" contains a control character", name);
        if (!values[0] || lookup(value, values, values[1] ? 2 : 1) >= 0)
            return 0;
        return yamlread_fail(&rd->yr, value_mark,
                             "invalid value \"%s\" for header \"%s\" (want %s%s%s)", value, name,
                             values[0], values[1] ? " or " : "", values[1] ? values[1] : "");
    }
    return yamlread_fail(&rd->yr, key_mark,
                         "header \"%s\" cannot be configured (allowed: Strict-Transport-Security, "
                         "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                         "Content-Security-Policy)",
                         name);
}

static int load_headers(struct reader *rd)
{
    struct webconfig *wc = rd->wc;
    struct yamlread_keys seen = {0};
    int rc = yamlread_mapping_start(&rd->yr, "headers");
    if (rc <= 0)
        return rc;
    while ((rc = yamlread_next_key(&rd->yr, &seen)) == 1) {
        yaml_mark_t key_mark = rd->yr.event.start_mark;
        char *name = xstrdup(current_key(rd));
        char *value = NULL;
        yaml_mark_t mark;
        rc = yamlread_string(&rd->yr, name, true, &value, &mark);
        if (rc == 0 && !value)
            rc = yamlread_fail(&rd->yr, mark, "header \"%s\" has no value", name);
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
    yamlread_keys_free(&seen);
    return rc;
}

static int load_http_server(struct reader *rd)
{
    struct yamlread_keys seen = {0};
    int rc;
    while ((rc = yamlread_next_key(&rd->yr, &seen)) == 1) {
        const char *key = yamlread_last_key(&seen); /* outlives the key's event */
        if (strcmp(key, "headers") == 0) {
            rc = load_headers(rd);
        } else if (strcmp(key, "http2") == 0) {
            /* libmicrohttpd speaks HTTP/1.1 only, which either value allows. */
            bool ignored;
            rc = yamlread_bool(&rd->yr, key, &ignored);
        } else {
            rc = yamlread_fail(&rd->yr, rd->yr.event.start_mark,
                               "unknown key \"%s\" in http_server_config (want headers or http2)",
                               key);
        }
        if (rc)
            break;
    }
    yamlread_keys_free(&seen);
    return rc;
}

static int load_top(struct reader *rd)
{
    struct yamlread_keys seen = {0};
    int rc;
    while ((rc = yamlread_next_key(&rd->yr, &seen)) == 1) {
        const char *key = yamlread_last_key(&seen); /* outlives the key's event */
        yaml_mark_t key_mark = rd->yr.event.start_mark;
        if (strcmp(key, "tls_server_config") == 0) {
            rd->tls.mark = key_mark;
            rc = yamlread_mapping_start(&rd->yr, key);
            if (rc == 1)
                rc = load_tls(rd);
        } else if (strcmp(key, "basic_auth_users") == 0) {
            rc = yamlread_mapping_start(&rd->yr, key);
            if (rc == 1)
                rc = load_users(rd, key_mark);
        } else if (strcmp(key, "http_server_config") == 0) {
            rc = yamlread_mapping_start(&rd->yr, key);
            if (rc == 1)
                rc = load_http_server(rd);
        } else if (strcmp(key, "rate_limit") == 0) {
            rc = yamlread_fail(&rd->yr, key_mark, "\"%s\" is not supported by proctrack", key);
        } else {
            rc = yamlread_fail(&rd->yr, key_mark,
                               "unknown key \"%s\" (want tls_server_config, basic_auth_users or "
                               "http_server_config)",
                               key);
        }
        if (rc)
            break;
    }
    yamlread_keys_free(&seen);
    return rc;
}

static int load_stream(struct reader *rd)
{
    if (yamlread_next(&rd->yr) ||
        yamlread_next(&rd->yr)) /* the stream start, then a document or the end */
        return -1;
    if (rd->yr.event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (yamlread_next(&rd->yr))
        return -1;
    if (rd->yr.event.type == YAML_MAPPING_START_EVENT) {
        if (load_top(rd))
            return -1;
    } else if (!yamlread_is_null(&rd->yr.event)) {
        return yamlread_fail(&rd->yr, rd->yr.event.start_mark,
                             "the top level must be a mapping, not %s",
                             yamlread_kind(&rd->yr.event));
    }
    if (yamlread_next(&rd->yr) ||
        yamlread_next(&rd->yr)) /* the document end, then the stream end */
        return -1;
    if (rd->yr.event.type != YAML_STREAM_END_EVENT)
        return yamlread_fail(&rd->yr, rd->yr.event.start_mark,
                             "a web config holds one YAML document, not several");
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
    free(wc->cert_path);
    free(wc->key_path);
    free(wc->client_ca_path);
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
    struct reader rd = {.base_dir = base_dir};
    if (yamlread_init(&rd.yr, name, buf, len, WEBCONFIG_MAX_DEPTH, err, errlen))
        return NULL;
    rd.yr.strict_keys = true; /* exporter-toolkit decodes with yaml.v2's UnmarshalStrict */
    rd.wc = xcalloc(1, sizeof(*rd.wc));
    rd.wc->min_version = WEBCONFIG_TLS12;
    rd.wc->max_version = WEBCONFIG_TLS13;

    int rc = load_stream(&rd);
    if (rc == 0)
        rc = webconfig_finish_tls(&rd);
    yamlread_end(&rd.yr);

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
    int rc = read_file(path, WEBCONFIG_MAX_FILE_SIZE, &content);
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
