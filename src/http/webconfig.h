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

/* Go's crypto/tls cipher suites (tls.CipherSuites(), the ones exporter-toolkit takes) and curves
 * (CurveP256, CurveP384, CurveP521, X25519), as gnutls names their parts. */
struct webconfig_cipher_suite {
    const char *name; /* Go's, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    bool tls13;       /* a TLS 1.3 suite: Go does not let them be chosen, and ignores them */
    const char *kx, *cipher, *mac; /* gnutls's: "ECDHE-RSA", "AES-128-GCM", "AEAD" */
};
struct webconfig_curve {
    const char *name;  /* Go's */
    const char *group; /* gnutls's priority keyword, e.g. GROUP-SECP256R1 */
};
#define WEBCONFIG_NCIPHER_SUITES 17
#define WEBCONFIG_NCURVES 4
extern const struct webconfig_cipher_suite webconfig_cipher_suites[WEBCONFIG_NCIPHER_SUITES];
extern const struct webconfig_curve webconfig_curves[WEBCONFIG_NCURVES];

/* A loaded file. Plain data, read-only once loaded: the HTTP server reads it directly. */
struct webconfig {
    bool tls;        /* tls_server_config names a certificate and key; else plain HTTP */
    char *cert;      /* PEM contents of cert_file, NUL-terminated (a chain is fine) */
    char *key;       /* PEM contents of key_file; wiped when freed */
    char *client_ca; /* PEM contents of client_ca_file, or NULL */
    /* The files the PEM contents came from, relative names resolved (NULL when unset): what is
     * watched for changes. */
    char *cert_path, *key_path, *client_ca_path;
    enum webconfig_client_auth client_auth;
    enum webconfig_tls_version min_version; /* TLS12 unless set, as in exporter-toolkit */
    enum webconfig_tls_version max_version; /* TLS13 unless set */
    /* cipher_suites, as indexes into webconfig_cipher_suites, each once, in the file's order;
     * none: gnutls's defaults. */
    unsigned char ciphers[WEBCONFIG_NCIPHER_SUITES];
    size_t nciphers;
    /* curve_preferences, as indexes into webconfig_curves, each once, in order; none: gnutls's
     * defaults. */
    unsigned char curves[WEBCONFIG_NCURVES];
    size_t ncurves;
    struct webconfig_user *users; /* basic_auth_users; none: no authentication */
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
 * "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" by default; with cipher_suites, only the key
 * exchanges, ciphers and MACs of the listed TLS 1.0-1.2 suites, in their order and chosen in that
 * order (gnutls combines them: webconfig_tls_suite_allowed() tells a combination that was not
 * listed), plus, when TLS 1.3 is allowed, its three suites that Go has, which Go does not let a
 * config choose; with curve_preferences, only those groups, in that order. Returns 0, or -ENOSPC
 * when `outlen` is too small (WEBCONFIG_TLS_PRIORITIES_MAX always does). */
#define WEBCONFIG_TLS_PRIORITIES_MAX 512
int webconfig_tls_priorities(const struct webconfig *wc, char *out, size_t outlen);
/* Whether a TLS 1.0-1.2 session's suite (gnutls's names of its key exchange, cipher and MAC) is
 * one cipher_suites lists; always true without cipher_suites. */
bool webconfig_tls_suite_allowed(const struct webconfig *wc, const char *kx, const char *cipher,
                                 const char *mac);
/* "NoClientCert", "RequireAndVerifyClientCert", ...: the names the file uses. */
const char *webconfig_client_auth_name(enum webconfig_client_auth auth);

#endif /* PROCTRACK_HTTP_WEBCONFIG_H */
