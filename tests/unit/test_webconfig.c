/* exporter-toolkit's web config: what loads, and where each error points. The PEM files are made
 * at test time with gnutls, in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "http/webconfig.h"

/* A real bcrypt hash (of "secret"), as htpasswd -B makes them. */
#define HASH "$2y$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK"

static char dir[64];

/* ---- fixtures ---------------------------------------------------------------------------- */

static void write_file(const char *name, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *read_fixture(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    assert_true(n > 0);
    fclose(f);
    return buf;
}

static void write_key(const char *name, gnutls_x509_privkey_t *key)
{
    gnutls_datum_t pem;
    assert_int_equal(gnutls_x509_privkey_init(key), 0);
    assert_int_equal(gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
                                                  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                                  0),
                     0);
    assert_int_equal(gnutls_x509_privkey_export2(*key, GNUTLS_X509_FMT_PEM, &pem), 0);
    write_file(name, pem.data, pem.size);
    gnutls_free(pem.data);
}

/* A self-signed certificate for `key`, valid for an hour: it serves as server and as CA. */
static void write_cert(const char *name, gnutls_x509_privkey_t key)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t pem;
    time_t now = time(NULL);
    unsigned char serial[] = {1};
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    assert_int_equal(gnutls_x509_crt_set_version(crt, 3), 0);
    assert_int_equal(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), 0);
    assert_int_equal(gnutls_x509_crt_set_dn(crt, "CN=proctrack-test", NULL), 0);
    assert_int_equal(gnutls_x509_crt_set_activation_time(crt, now - 60), 0);
    assert_int_equal(gnutls_x509_crt_set_expiration_time(crt, now + 3600), 0);
    assert_int_equal(gnutls_x509_crt_set_key(crt, key), 0);
    assert_int_equal(gnutls_x509_crt_set_basic_constraints(crt, 1, -1), 0);
    assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
    assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem), 0);
    write_file(name, pem.data, pem.size);
    gnutls_free(pem.data);
    gnutls_x509_crt_deinit(crt);
}

static int make_files(void **state)
{
    (void)state;
    gnutls_x509_privkey_t key, other;
    snprintf(dir, sizeof(dir), "/tmp/pt-webconfig-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    write_key("key.pem", &key);
    write_cert("cert.pem", key);
    write_key("other-key.pem", &other);
    write_file("garbage.pem", "not a certificate\n", 18);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_privkey_deinit(other);
    return 0;
}

static int remove_files(void **state)
{
    (void)state;
    static const char *const names[] = {"key.pem", "cert.pem", "other-key.pem", "garbage.pem",
                                        "web.yml"};
    char path[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct webconfig *load(const char *yaml)
{
    char err[1024];
    struct webconfig *wc =
        webconfig_load_buffer("web.yml", yaml, strlen(yaml), dir, err, sizeof(err));
    if (!wc)
        fail_msg("rejected: %s\n%s", err, yaml);
    assert_string_equal(err, "");
    return wc;
}

static void expect_error(const char *yaml, const char *want)
{
    char err[1024];
    struct webconfig *wc =
        webconfig_load_buffer("web.yml", yaml, strlen(yaml), dir, err, sizeof(err));
    if (wc) {
        webconfig_free(wc);
        fail_msg("accepted:\n%s", yaml);
    }
    assert_string_equal(err, want);
}

/* The same with the temporary directory in the expected message, at each "%s". */
static void expect_error_in_dir(const char *yaml, const char *want_fmt)
{
    char want[1024];
    snprintf(want, sizeof(want), want_fmt, dir, dir);
    expect_error(yaml, want);
}

#define TLS_OK "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"

/* ---- valid files ------------------------------------------------------------------------- */

static void test_empty_file_means_plain_http_without_auth(void **state)
{
    (void)state;
    static const char *const empty[] = {
        "", "# nothing\n", "---\n", "{}\n", "~\n", "tls_server_config:\nbasic_auth_users:\n"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        struct webconfig *wc = load(empty[i]);
        assert_false(wc->tls);
        assert_null(wc->cert);
        assert_int_equal(wc->nusers, 0);
        assert_int_equal(wc->nheaders, 0);
        webconfig_free(wc);
    }
    webconfig_free(NULL);
}

static void test_full_file_is_read(void **state)
{
    (void)state;
    struct webconfig *wc =
        load("tls_server_config:\n"
             "  cert_file: cert.pem\n"
             "  key_file: \"key.pem\"\n"
             "  client_auth_type: RequireAndVerifyClientCert\n"
             "  client_ca_file: cert.pem\n"
             "  min_version: TLS13\n"
             "  max_version: TLS13\n"
             "  prefer_server_cipher_suites: true\n"
             "http_server_config:\n"
             "  http2: false\n"
             "  headers:\n"
             "    X-Frame-Options: deny\n"
             "    Strict-Transport-Security: max-age=31536000\n"
             "basic_auth_users:\n"
             "  alice: " HASH "\n"
             "  'bob smith': '$2b$04$P2HQ/u8b9MKLUGc5PJbiCuswdDLYbVSmuuZvTYFmGn20jhDj9TgYi'\n");
    char *cert = read_fixture("cert.pem");
    char *key = read_fixture("key.pem");
    assert_true(wc->tls);
    assert_string_equal(wc->cert, cert);
    assert_string_equal(wc->key, key);
    assert_string_equal(wc->client_ca, cert);
    assert_int_equal(wc->client_auth, WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT);
    assert_int_equal(wc->min_version, WEBCONFIG_TLS13);
    assert_int_equal(wc->max_version, WEBCONFIG_TLS13);
    assert_int_equal(wc->nheaders, 2);
    assert_string_equal(wc->headers[0].name, "X-Frame-Options");
    assert_string_equal(wc->headers[0].value, "deny");
    assert_string_equal(wc->headers[1].name, "Strict-Transport-Security");
    assert_string_equal(wc->headers[1].value, "max-age=31536000");
    assert_int_equal(wc->nusers, 2);
    assert_string_equal(wc->users[0].name, "alice");
    assert_string_equal(wc->users[0].hash, HASH);
    assert_string_equal(wc->users[1].name, "bob smith");
    free(cert);
    free(key);
    webconfig_free(wc);
}

static void test_tls_defaults_match_exporter_toolkit(void **state)
{
    (void)state;
    struct webconfig *wc = load(TLS_OK);
    char prio[64];
    assert_true(wc->tls);
    assert_null(wc->client_ca);
    assert_int_equal(wc->client_auth, WEBCONFIG_NO_CLIENT_CERT);
    assert_int_equal(wc->min_version, WEBCONFIG_TLS12);
    assert_int_equal(wc->max_version, WEBCONFIG_TLS13);
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    assert_int_equal(webconfig_tls_priorities(wc, prio, 20), -ENOSPC);
    webconfig_free(wc);

    /* Null and "" mean unset, as in exporter-toolkit. */
    wc = load(TLS_OK "  client_auth_type: \"\"\n  min_version:\n  client_ca_file: ''\n");
    assert_int_equal(wc->client_auth, WEBCONFIG_NO_CLIENT_CERT);
    assert_int_equal(wc->min_version, WEBCONFIG_TLS12);
    assert_null(wc->client_ca);
    webconfig_free(wc);
}

static void test_every_client_auth_type_and_version(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *more;
        enum webconfig_client_auth auth;
    } cases[] = {
        {"NoClientCert", "", WEBCONFIG_NO_CLIENT_CERT},
        {"RequestClientCert", "", WEBCONFIG_REQUEST_CLIENT_CERT},
        {"RequireAnyClientCert", "", WEBCONFIG_REQUIRE_ANY_CLIENT_CERT},
        {"VerifyClientCertIfGiven", "  client_ca_file: cert.pem\n",
         WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN},
        {"RequireAndVerifyClientCert", "  client_ca_file: cert.pem\n",
         WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT},
    };
    char yaml[512], prio[WEBCONFIG_TLS_PRIORITIES_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(yaml, sizeof(yaml), "%s  client_auth_type: %s\n%s", TLS_OK, cases[i].name,
                 cases[i].more);
        struct webconfig *wc = load(yaml);
        assert_int_equal(wc->client_auth, cases[i].auth);
        assert_string_equal(webconfig_client_auth_name(wc->client_auth), cases[i].name);
        webconfig_free(wc);
    }
    struct webconfig *wc = load(TLS_OK "  min_version: TLS10\n  max_version: TLS11\n");
    assert_int_equal(wc->min_version, WEBCONFIG_TLS10);
    assert_int_equal(wc->max_version, WEBCONFIG_TLS11);
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0");
    webconfig_free(wc);

    /* Every version: the longest priority string. */
    wc = load(TLS_OK "  min_version: TLS10\n");
    char all[WEBCONFIG_TLS_PRIORITIES_MAX];
    assert_int_equal(webconfig_tls_priorities(wc, all, sizeof(all)), 0);
    assert_string_equal(all,
                        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0");
    webconfig_free(wc);

    /* The name exporter-toolkit keeps reading for backwards compatibility. */
    wc = load(TLS_OK "  client_auth_type: RequireClientCert\n");
    assert_int_equal(wc->client_auth, WEBCONFIG_REQUIRE_ANY_CLIENT_CERT);
    webconfig_free(wc);
}

/* exporter-toolkit reads the file with yaml.v2 too: aliases and merge keys work (checked with
 * process-exporter 0.7.10), a key twice in one mapping does not. */
static void test_aliases_and_merge_keys(void **state)
{
    (void)state;
    struct webconfig *wc = load("basic_auth_users: &u {alice: \"" HASH "\"}\n"
                                "http_server_config:\n  <<: {http2: y}\n");
    assert_int_equal(wc->nusers, 1);
    assert_string_equal(wc->users[0].name, "alice");
    webconfig_free(wc);
}

static void test_basic_auth_without_tls(void **state)
{
    (void)state;
    struct webconfig *wc = load("basic_auth_users:\n  prometheus: \"" HASH "\"\n");
    assert_false(wc->tls);
    assert_int_equal(wc->nusers, 1);
    assert_string_equal(wc->users[0].name, "prometheus");
    webconfig_free(wc);
}

static void test_bcrypt_hashes_are_recognised(void **state)
{
    (void)state;
    static const struct {
        const char *hash;
        bool ok;
    } cases[] = {
        {HASH, true},
        {"$2b$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", true},
        {"$2a$04$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", true},
        {"$2y$31$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", true},
        {"$2x$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", false},
        {"$2y$03$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", false},
        {"$2y$32$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", false},
        {"$2y$1$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCK", false},
        {"$2y$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjC", false},
        {"$2y$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjCKx", false},
        {"$2y$10$HeIArAdhiKgELXp1s/xVA.h2Mkwx4IH.y.XbDo3YDIKEkNG77PjC!", false},
        {"$6$salt$hash", false},
        {"secret", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (webconfig_is_bcrypt_hash(cases[i].hash) != cases[i].ok)
            fail_msg("\"%s\": want %s", cases[i].hash, cases[i].ok ? "bcrypt" : "not bcrypt");
    }
}

static void test_load_file_takes_paths_from_its_directory(void **state)
{
    (void)state;
    char path[128], err[1024];
    const char yaml[] = TLS_OK "basic_auth_users: {u: \"" HASH "\"}\n";
    write_file("web.yml", yaml, sizeof(yaml) - 1);
    snprintf(path, sizeof(path), "%s/web.yml", dir);
    struct webconfig *wc = webconfig_load_file(path, err, sizeof(err));
    if (!wc)
        fail_msg("%s", err);
    assert_true(wc->tls);
    assert_int_equal(wc->nusers, 1);
    webconfig_free(wc);

    snprintf(path, sizeof(path), "%s/missing.yml", dir);
    assert_null(webconfig_load_file(path, err, sizeof(err)));
    char want[256];
    snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    expect_error("basic_auth_users:\n  a: 'x\n",
                 "web.yml:3:1: found unexpected end of stream (while scanning a quoted scalar at "
                 "line 2, column 6)");
    expect_error("basic_auth_users:\n  a: " HASH "\n c: d\n",
                 "web.yml:3:2: did not find expected key (while parsing a block mapping at line 1, "
                 "column 1)");
    expect_error("a: \"\xff\"\n", "web.yml:1:5: invalid leading UTF-8 octet (byte 0xFF)");
    expect_error("x: &a 1\ny: *a\n", "web.yml:1:1: unknown key \"x\" (want tls_server_config, "
                                     "basic_auth_users or http_server_config)");
    expect_error("{}\n---\n{}\n", "web.yml:2:1: a web config holds one YAML document, not several");
}

/* exporter-toolkit's cipher_suites and curve_preferences: Go's names, mapped to gnutls's parts. */
static void test_cipher_suites_and_curves(void **state)
{
    (void)state;
    char prio[WEBCONFIG_TLS_PRIORITIES_MAX];
    struct webconfig *wc = load(TLS_OK "  cipher_suites:\n"
                                       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
                                       "    - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA\n"
                                       "    - TLS_AES_128_GCM_SHA256\n"
                                       "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
                                       "  curve_preferences: [X25519, CurveP256]\n"
                                       "  prefer_server_cipher_suites: false\n");
    assert_int_equal(wc->nciphers, 3); /* the repeated one once */
    assert_string_equal(webconfig_cipher_suites[wc->ciphers[0]].name,
                        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_int_equal(wc->ncurves, 2);
    assert_string_equal(webconfig_curves[wc->curves[0]].name, "X25519");
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    /* TLS 1.3's suites stay, as Go does not let them be chosen; its key exchange is not KX. */
    assert_string_equal(prio, "NORMAL:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
                              ":-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA"
                              ":-CIPHER-ALL:+AES-128-GCM:+AES-256-CBC:+AES-256-GCM"
                              ":+CHACHA20-POLY1305:-MAC-ALL:+AEAD:+SHA1"
                              ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1");
    /* gnutls takes it, and combines the parts: what was not listed is told apart. */
    gnutls_priority_t cache;
    assert_int_equal(gnutls_priority_init(&cache, prio, NULL), 0);
    gnutls_priority_deinit(cache);
    assert_true(webconfig_tls_suite_allowed(wc, "ECDHE-RSA", "AES-128-GCM", "AEAD"));
    assert_true(webconfig_tls_suite_allowed(wc, "ECDHE-ECDSA", "AES-256-CBC", "SHA1"));
    assert_false(webconfig_tls_suite_allowed(wc, "ECDHE-RSA", "AES-256-CBC", "SHA1"));
    assert_false(webconfig_tls_suite_allowed(wc, "ECDHE-RSA", "AES-256-GCM", "AEAD"));
    webconfig_free(wc);

    /* TLS 1.2 only: no TLS 1.3 cipher is added. Without cipher_suites, gnutls's defaults. */
    wc = load(TLS_OK "  max_version: TLS12\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n");
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    assert_string_equal(prio, "NORMAL:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA"
                              ":-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1");
    webconfig_free(wc);
    wc = load(TLS_OK "  cipher_suites: []\n  curve_preferences:\n");
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    assert_true(webconfig_tls_suite_allowed(wc, "RSA", "3DES-CBC", "SHA1"));
    webconfig_free(wc);

    /* Every name Go's tls.CipherSuites() has is taken, every curve exporter-toolkit knows. */
    char yaml[4096];
    size_t len =
        (size_t)snprintf(yaml, sizeof(yaml), "%s  min_version: TLS10\n  cipher_suites:\n", TLS_OK);
    for (size_t i = 0; i < WEBCONFIG_NCIPHER_SUITES; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "    - %s\n",
                                webconfig_cipher_suites[i].name);
    snprintf(yaml + len, sizeof(yaml) - len,
             "  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n");
    wc = load(yaml);
    assert_int_equal(wc->nciphers, WEBCONFIG_NCIPHER_SUITES);
    assert_int_equal(webconfig_tls_priorities(wc, prio, sizeof(prio)), 0);
    assert_int_equal(gnutls_priority_init(&cache, prio, NULL), 0);
    gnutls_priority_deinit(cache);
    webconfig_free(wc);

    /* Names Go does not take: insecure suites, OpenSSL's names, curves it does not know. */
    expect_error(TLS_OK "  cipher_suites: [TLS_RSA_WITH_3DES_EDE_CBC_SHA]\n",
                 "web.yml:4:19: unknown cipher suite \"TLS_RSA_WITH_3DES_EDE_CBC_SHA\" in "
                 "cipher_suites (Go's crypto/tls names, such as "
                 "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    expect_error(TLS_OK "  cipher_suites:\n    - ECDHE-RSA-AES128-GCM-SHA256\n",
                 "web.yml:5:7: unknown cipher suite \"ECDHE-RSA-AES128-GCM-SHA256\" in "
                 "cipher_suites (Go's crypto/tls names, such as "
                 "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    expect_error(TLS_OK "  curve_preferences: [P256]\n",
                 "web.yml:4:23: unknown curve \"P256\" in curve_preferences (want CurveP256, "
                 "CurveP384, CurveP521 or X25519)");
    expect_error(TLS_OK "  cipher_suites: [[TLS_AES_128_GCM_SHA256]]\n",
                 "web.yml:4:19: items of \"cipher_suites\" must be strings, not a sequence");
    expect_error(TLS_OK "  curve_preferences: X25519\n",
                 "web.yml:4:22: \"curve_preferences\" must be a sequence of strings, not a "
                 "string");
}

static void test_unknown_keys_are_errors(void **state)
{
    (void)state;
    expect_error("tls_config:\n  cert_file: a\n",
                 "web.yml:1:1: unknown key \"tls_config\" (want tls_server_config, "
                 "basic_auth_users or http_server_config)");
    expect_error(TLS_OK "  certfile: x\n",
                 "web.yml:4:3: unknown key \"certfile\" in tls_server_config (want cert_file, "
                 "key_file, client_auth_type, client_ca_file, min_version, max_version, "
                 "cipher_suites, curve_preferences or prefer_server_cipher_suites)");
    expect_error("http_server_config:\n  header: {}\n",
                 "web.yml:2:3: unknown key \"header\" in http_server_config (want headers or "
                 "http2)");
    expect_error(TLS_OK "  client_allowed_sans: [a]\n",
                 "web.yml:4:3: \"client_allowed_sans\" is not supported by proctrack");
    expect_error("rate_limit:\n  interval: 1s\n",
                 "web.yml:1:1: \"rate_limit\" is not supported by proctrack");
    expect_error(TLS_OK "  cert_file: other.pem\n", "web.yml:4:3: duplicate key \"cert_file\"");
    expect_error("basic_auth_users:\n  a: " HASH "\n  a: " HASH "\n",
                 "web.yml:3:3: duplicate key \"a\"");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_error("- a\n", "web.yml:1:1: the top level must be a mapping, not a sequence");
    expect_error("tls_server_config: yes\n",
                 "web.yml:1:20: \"tls_server_config\" must be a mapping, not a string");
    expect_error("tls_server_config:\n  cert_file: [a]\n",
                 "web.yml:2:14: \"cert_file\" must be a string, not a sequence");
    expect_error("basic_auth_users:\n  - a\n",
                 "web.yml:2:3: \"basic_auth_users\" must be a mapping, not a sequence");
    expect_error("basic_auth_users:\n  a: {b: c}\n",
                 "web.yml:2:6: \"a\" must be a string, not a mapping");
    expect_error("basic_auth_users:\n  [a]: b\n",
                 "web.yml:2:3: mapping keys must be strings, not a sequence");
    expect_error("http_server_config:\n  http2: maybe\n",
                 "web.yml:2:10: \"http2\" must be true or false, not \"maybe\"");
    expect_error("http_server_config:\n  http2: 'true'\n",
                 "web.yml:2:10: \"http2\" must be true or false, not \"true\"");
    expect_error("http_server_config:\n  headers: [a]\n",
                 "web.yml:2:12: \"headers\" must be a mapping, not a sequence");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error(TLS_OK "  client_auth_type: RequireAndVerify\n",
                 "web.yml:4:21: unknown client_auth_type \"RequireAndVerify\" (want "
                 "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven "
                 "or RequireAndVerifyClientCert)");
    expect_error(TLS_OK "  min_version: TLS1.2\n",
                 "web.yml:4:16: unknown TLS version \"TLS1.2\" for min_version (want TLS10, "
                 "TLS11, TLS12 or TLS13)");
    expect_error(TLS_OK "  max_version: tls13\n",
                 "web.yml:4:16: unknown TLS version \"tls13\" for max_version (want TLS10, TLS11, "
                 "TLS12 or TLS13)");
    expect_error(TLS_OK "  min_version: TLS13\n  max_version: TLS12\n",
                 "web.yml:5:16: max_version TLS12 is lower than min_version TLS13");
    expect_error(TLS_OK "  max_version: TLS11\n",
                 "web.yml:4:16: max_version TLS11 is lower than min_version TLS12");
    expect_error("basic_auth_users:\n  alice: secret\n",
                 "web.yml:2:10: the password of user \"alice\" is not a bcrypt hash ($2a$, $2b$ or "
                 "$2y$, as htpasswd -B makes them)");
    expect_error("basic_auth_users:\n  alice: \"$6$abc$def\"\n",
                 "web.yml:2:10: the password of user \"alice\" is not a bcrypt hash ($2a$, $2b$ or "
                 "$2y$, as htpasswd -B makes them)");
    expect_error("basic_auth_users:\n  alice:\n",
                 "web.yml:2:9: user \"alice\" has no password hash");
    expect_error("basic_auth_users:\n  'a:b': " HASH "\n",
                 "web.yml:2:3: user name \"a:b\" contains ':', which basic auth cannot send");
    expect_error("basic_auth_users:\n  '': " HASH "\n", "web.yml:2:3: a user name cannot be empty");
    expect_error("basic_auth_users: {}\n",
                 "web.yml:1:1: basic_auth_users is empty: list users, or remove the key to "
                 "disable auth");
    expect_error("http_server_config:\n  headers:\n    X-Powered-By: me\n",
                 "web.yml:3:5: header \"X-Powered-By\" cannot be configured (allowed: "
                 "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
                 "X-XSS-Protection, Content-Security-Policy)");
    expect_error("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                 "web.yml:3:22: invalid value \"allow\" for header \"X-Frame-Options\" (want deny "
                 "or sameorigin)");
    expect_error("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
                 "web.yml:3:29: invalid value \"sniff\" for header \"X-Content-Type-Options\" "
                 "(want nosniff)");
    expect_error("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nb: c\"\n",
                 "web.yml:3:30: the value of header \"Content-Security-Policy\" contains a control "
                 "character");
    expect_error("http_server_config:\n  headers:\n    X-XSS-Protection:\n",
                 "web.yml:3:22: header \"X-XSS-Protection\" has no value");
}

static void test_tls_block_must_be_consistent(void **state)
{
    (void)state;
    expect_error("tls_server_config:\n  cert_file: cert.pem\n",
                 "web.yml:2:3: cert_file is set but key_file is missing");
    expect_error("tls_server_config:\n  key_file: key.pem\n  cert_file: ''\n",
                 "web.yml:2:3: key_file is set but cert_file is missing");
    expect_error("tls_server_config:\n  min_version: TLS13\n",
                 "web.yml:1:1: tls_server_config needs cert_file and key_file");
    expect_error(TLS_OK "  client_auth_type: RequireAndVerifyClientCert\n",
                 "web.yml:4:21: client_auth_type RequireAndVerifyClientCert needs client_ca_file");
    expect_error(TLS_OK "  client_auth_type: VerifyClientCertIfGiven\n",
                 "web.yml:4:21: client_auth_type VerifyClientCertIfGiven needs client_ca_file");
    expect_error(TLS_OK "  client_ca_file: cert.pem\n",
                 "web.yml:4:3: client_ca_file is set but client_auth_type is NoClientCert (want "
                 "RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
}

static void test_files_are_read_and_checked(void **state)
{
    (void)state;
    expect_error_in_dir("tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n",
                        "web.yml:2:14: cannot read cert_file \"%s/nope.pem\": No such file or "
                        "directory");
    expect_error("tls_server_config:\n  cert_file: cert.pem\n  key_file: /nonexistent/key.pem\n",
                 "web.yml:3:13: cannot read key_file \"/nonexistent/key.pem\": No such file or "
                 "directory");
    expect_error_in_dir(TLS_OK "  client_auth_type: RequireAndVerifyClientCert\n"
                               "  client_ca_file: ca.pem\n",
                        "web.yml:5:19: cannot read client_ca_file \"%s/ca.pem\": No such file or "
                        "directory");
    expect_error_in_dir("tls_server_config:\n  cert_file: cert.pem\n  key_file: .\n",
                        "web.yml:3:13: cannot read key_file \"%s/.\": Is a directory");
    expect_error("tls_server_config:\n  cert_file: cert.pem\n  key_file: other-key.pem\n",
                 "web.yml:2:14: cert_file \"cert.pem\" with key_file \"other-key.pem\": The "
                 "certificate and the given key do not match.");
    expect_error("tls_server_config:\n  cert_file: garbage.pem\n  key_file: key.pem\n",
                 "web.yml:2:14: cert_file \"garbage.pem\" with key_file \"key.pem\": Base64 "
                 "decoding error.");
    expect_error(TLS_OK "  client_auth_type: RequireAndVerifyClientCert\n"
                        "  client_ca_file: garbage.pem\n",
                 "web.yml:5:19: client_ca_file \"garbage.pem\": no PEM certificate in it");
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_file_means_plain_http_without_auth),
        cmocka_unit_test(test_full_file_is_read),
        cmocka_unit_test(test_tls_defaults_match_exporter_toolkit),
        cmocka_unit_test(test_every_client_auth_type_and_version),
        cmocka_unit_test(test_aliases_and_merge_keys),
        cmocka_unit_test(test_basic_auth_without_tls),
        cmocka_unit_test(test_bcrypt_hashes_are_recognised),
        cmocka_unit_test(test_load_file_takes_paths_from_its_directory),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_unknown_keys_are_errors),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_cipher_suites_and_curves),
        cmocka_unit_test(test_tls_block_must_be_consistent),
        cmocka_unit_test(test_files_are_read_and_checked),
    };
    return cmocka_run_group_tests(tests, make_files, remove_files);
}
