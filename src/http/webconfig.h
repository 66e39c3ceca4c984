/* The web config file of Prometheus' exporter-toolkit (-web.config.file): TLS, client
 * certificates, basic auth and extra response headers, in the same YAML format, so one file
 * serves node_exporter, process-exporter and proctrack alike. Loading reads the PEM files it
 * names: libmicrohttpd takes certificate contents, not paths. */
#ifndef PROCTRACK_HTTP_WEBCONFIG_H
#define PROCTRACK_HTTP_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* tls_server_config.client_auth_type, as Go's crypto/tls names the policies. */
enum webconfig_client_auth {
    WEBCONFIG_NO_CLIENT_CERT,                 /* none asked for (the default) */
    WEBCONFIG_REQUEST_CLIENT_CERT,            /* asked for, not required, not verified */
    WEBCONFIG_REQUIRE_ANY_CLIENT_CERT,        /* required, not verified */
    WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,    /* optional, verified when given */
    WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT, /* required and verified */
};

enum webconfig_tls_version {
    WEBCONFIG_TLS10 = 10,
    WEBCONFIG_TLS11,
    WEBCONFIG_TLS12,
    WEBCONFIG_TLS13,
};

struct webconfig_user {
    char *name;
    char *hash; /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct webconfig_header {
    char *name;
    char *value;
};

/* A loaded file. Plain data, read-only once loaded: the HTTP server reads it directly. */
struct webconfig {
    bool tls;        /* tls_server_config names a certificate and key; else plain HTTP */
    char *cert;      /* PEM contents of cert_file, NUL-terminated (a chain is fine) */
    char *key;       /* PEM contents of key_file; wiped when freed */
    char *client_ca; /* PEM contents of client_ca_file, or NULL */
    enum webconfig_client_auth client_auth;
    enum webconfig_tls_version min_version; /* TLS12 unless set, as in exporter-toolkit */
    enum webconfig_tls_version max_version; /* TLS13 unless set */
    struct webconfig_user *users;           /* basic_auth_users; none: no authentication */
    size_t nusers;
    struct webconfig_header *headers; /* http_server_config.headers, added to every response */
    size_t nheaders;
};

/* Parses a web config. `name` is used in messages; relative file names in it are taken from
 * `base_dir` (NULL: the working directory), as exporter-toolkit takes them from the directory of
 * the config file. On error returns NULL and writes "NAME:LINE:COL: reason" (1-based) into `err`:
 * YAML syntax errors, wrong types, duplicate or unknown keys (exporter-toolkit parses strictly),
 * unknown client_auth_type or TLS version values, a cert_file without key_file or the reverse,
 * client_ca_file missing for a policy that verifies or set for NoClientCert, files that cannot
 * be read or hold no usable certificate or key, a certificate and key that do not match,
 * passwords not hashed with bcrypt, and headers exporter-toolkit does not allow. An empty file is
 * valid: plain HTTP without authentication. */
struct webconfig *webconfig_load_buffer(const char *name, const char *buf, size_t len,
                                        const char *base_dir, char *err, size_t errlen);
/* Reads and parses a file; relative paths in it are relative to its directory. An unreadable file
 * is an error "PATH: strerror". */
struct webconfig *webconfig_load_file(const char *path, char *err, size_t errlen);
/* NULL is a no-op. */
void webconfig_free(struct webconfig *wc);

/* Whether `s` is a bcrypt hash that libcrypt verifies: "$2a$", "$2b$" or "$2y$", a cost of 04 to
 * 31, "$", then 53 characters of bcrypt's base64 (22 of salt, 31 of hash). */
bool webconfig_is_bcrypt_hash(const char *s);
/* The gnutls priority string that allows min_version to max_version, newest first:
 * "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" by default. Returns 0, or -ENOSPC when `outlen` is
 * too small (WEBCONFIG_TLS_PRIORITIES_MAX always does: TLS10 to TLS13 takes 69 bytes). */
#define WEBCONFIG_TLS_PRIORITIES_MAX 96
int webconfig_tls_priorities(const struct webconfig *wc, char *out, size_t outlen);
/* "NoClientCert", "RequireAndVerifyClientCert", ...: the names the file uses. */
const char *webconfig_client_auth_name(enum webconfig_client_auth auth);

#endif /* PROCTRACK_HTTP_WEBCONFIG_H */
