/* The TLS half of the web config: reading the PEM files tls_server_config names and checking
 * them, and the versions, with gnutls before libmicrohttpd is started with them. */
#include "http/webconfig_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "util/readfile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* In the order of Go's tls.CipherSuites(). */
const struct webconfig_cipher_suite webconfig_cipher_suites[WEBCONFIG_NCIPHER_SUITES] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", false, "RSA", "AES-128-CBC", "SHA1"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", false, "RSA", "AES-256-CBC", "SHA1"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", false, "RSA", "AES-128-GCM", "AEAD"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", false, "RSA", "AES-256-GCM", "AEAD"},
    {"TLS_AES_128_GCM_SHA256", true, NULL, "AES-128-GCM", "AEAD"},
    {"TLS_AES_256_GCM_SHA384", true, NULL, "AES-256-GCM", "AEAD"},
    {"TLS_CHACHA20_POLY1305_SHA256", true, NULL, "CHACHA20-POLY1305", "AEAD"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", false, "ECDHE-ECDSA", "AES-128-CBC", "SHA1"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", false, "ECDHE-ECDSA", "AES-256-CBC", "SHA1"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", false, "ECDHE-RSA", "AES-128-CBC", "SHA1"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", false, "ECDHE-RSA", "AES-256-CBC", "SHA1"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", false, "ECDHE-ECDSA", "AES-128-GCM", "AEAD"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", false, "ECDHE-ECDSA", "AES-256-GCM", "AEAD"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", false, "ECDHE-RSA", "AES-128-GCM", "AEAD"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", false, "ECDHE-RSA", "AES-256-GCM", "AEAD"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", false, "ECDHE-RSA", "CHACHA20-POLY1305",
     "AEAD"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", false, "ECDHE-ECDSA", "CHACHA20-POLY1305",
     "AEAD"},
};

const struct webconfig_curve webconfig_curves[WEBCONFIG_NCURVES] = {
    {"CurveP256", "GROUP-SECP256R1"},
    {"CurveP384", "GROUP-SECP384R1"},
    {"CurveP521", "GROUP-SECP521R1"},
    {"X25519", "GROUP-X25519"},
};

/* Appends ":+WORD" unless it is already there. */
static void add_word(struct strbuf *sb, const char *word)
{
    char item[48];
    snprintf(item, sizeof(item), ":+%s", word);
    size_t n = strlen(item);
    for (const char *p = sb->buf; p && (p = strstr(p, item)) != NULL; p += n)
        if (p[n] == ':' || p[n] == '\0')
            return;
    strbuf_puts(sb, item);
}

/* One of the key exchanges, ciphers or MACs (which: 0, 1, 2) of the listed TLS 1.0-1.2 suites,
 * in their order; with TLS 1.3 allowed, then those its suites need, which Go keeps whatever the
 * list says (TLS 1.3 ignores the key exchange list). */
static void add_suite_parts(struct strbuf *sb, const struct webconfig *wc, int which)
{
    for (size_t i = 0; i < wc->nciphers; i++) {
        const struct webconfig_cipher_suite *cs = &webconfig_cipher_suites[wc->ciphers[i]];
        const char *part = which == 0 ? cs->kx : which == 1 ? cs->cipher : cs->mac;
        if (!cs->tls13)
            add_word(sb, part);
    }
    if (which == 0 || wc->max_version < WEBCONFIG_TLS13)
        return;
    for (size_t i = 0; i < WEBCONFIG_NCIPHER_SUITES; i++) {
        const struct webconfig_cipher_suite *cs = &webconfig_cipher_suites[i];
        if (cs->tls13)
            add_word(sb, which == 1 ? cs->cipher : cs->mac);
    }
}

int webconfig_tls_priorities(const struct webconfig *wc, char *out, size_t outlen)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_puts(&sb, "NORMAL");
    if (wc->nciphers)
        strbuf_puts(&sb, ":%SERVER_PRECEDENCE");
    strbuf_puts(&sb, ":-VERS-ALL");
    for (int v = wc->max_version; v >= (int)wc->min_version; v--)
        strbuf_printf(&sb, ":+VERS-TLS1.%d", v - WEBCONFIG_TLS10);
    if (wc->nciphers) {
        static const char *const all[] = {":-KX-ALL", ":-CIPHER-ALL", ":-MAC-ALL"};
        for (int which = 0; which < 3; which++) {
            strbuf_puts(&sb, all[which]);
            add_suite_parts(&sb, wc, which);
        }
    }
    if (wc->ncurves) {
        strbuf_puts(&sb, ":-GROUP-ALL");
        for (size_t i = 0; i < wc->ncurves; i++)
            add_word(&sb, webconfig_curves[wc->curves[i]].group);
    }
    int rc = sb.len < outlen ? 0 : -ENOSPC;
    if (rc == 0)
        memcpy(out, sb.buf, sb.len + 1);
    strbuf_free(&sb);
    return rc;
}

bool webconfig_tls_suite_allowed(const struct webconfig *wc, const char *kx, const char *cipher,
                                 const char *mac)
{
    if (!wc->nciphers)
        return true;
    for (size_t i = 0; i < wc->nciphers; i++) {
        const struct webconfig_cipher_suite *cs = &webconfig_cipher_suites[wc->ciphers[i]];
        if (!cs->tls13 && strcmp(cs->kx, kx) == 0 && strcmp(cs->cipher, cipher) == 0 &&
            strcmp(cs->mac, mac) == 0)
            return true;
    }
    return false;
}

/* ---- files ------------------------------------------------------------------------------- */

static char *resolve(const struct reader *rd, const char *path)
{
    if (path[0] == '/' || !rd->base_dir || !rd->base_dir[0])
        return xstrdup(path);
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb, "%s/%s", rd->base_dir, path);
    return sb.buf;
}

/* Reads a PEM file the config names into *out, and its path, resolved, into *path_out. */
static int read_pem(struct reader *rd, const char *key, struct file_ref *ref, char **out,
                    char **path_out)
{
    char *path = resolve(rd, ref->path);
    struct strbuf content = STRBUF_INIT;
    int rc = read_file(path, WEBCONFIG_MAX_FILE_SIZE, &content);
    if (rc < 0) {
        yamlread_fail(&rd->yr, ref->value_mark, "cannot read %s \"%s\": %s", key, path,
                      strerror(-rc));
        /* The key may have been partly read. */
        if (content.buf)
            explicit_bzero(content.buf, content.cap);
        strbuf_free(&content);
        free(path);
    } else {
        *out = content.buf;
        *path_out = path;
    }
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
        return yamlread_fail(&rd->yr, t->mark, "cannot check the certificates: %s",
                             gnutls_strerror(rc));

    gnutls_datum_t cert = {(unsigned char *)wc->cert, (unsigned)strlen(wc->cert)};
    gnutls_datum_t key = {(unsigned char *)wc->key, (unsigned)strlen(wc->key)};
    rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        rc = yamlread_fail(&rd->yr, t->cert.value_mark, "cert_file \"%s\" with key_file \"%s\": %s",
                           t->cert.path, t->key.path, gnutls_strerror(rc));
        goto out_free_cred;
    }
    if (wc->client_ca) {
        gnutls_datum_t ca = {(unsigned char *)wc->client_ca, (unsigned)strlen(wc->client_ca)};
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            rc = yamlread_fail(&rd->yr, t->ca.value_mark, "client_ca_file \"%s\": %s", t->ca.path,
                               rc < 0 ? gnutls_strerror(rc) : "no PEM certificate in it");
            goto out_free_cred;
        }
    }
    char priorities[WEBCONFIG_TLS_PRIORITIES_MAX];
    gnutls_priority_t cache;
    const char *where = NULL;
    rc = webconfig_tls_priorities(wc, priorities, sizeof(priorities));
    if (rc == 0)
        rc = gnutls_priority_init(&cache, priorities, &where);
    if (rc < 0) {
        rc = yamlread_fail(&rd->yr, t->mark, "TLS versions %s to %s, cipher suites and curves: %s",
                           webconfig_tls_version_names[wc->min_version - WEBCONFIG_TLS10],
                           webconfig_tls_version_names[wc->max_version - WEBCONFIG_TLS10],
                           gnutls_strerror(rc));
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
int webconfig_finish_tls(struct reader *rd)
{
    struct tls_block *t = &rd->tls;
    struct webconfig *wc = rd->wc;

    if (!t->present)
        return 0;
    if (t->cert.path && !t->key.path)
        return yamlread_fail(&rd->yr, t->cert.key_mark, "cert_file is set but key_file is missing");
    if (t->key.path && !t->cert.path)
        return yamlread_fail(&rd->yr, t->key.key_mark, "key_file is set but cert_file is missing");
    /* exporter-toolkit would serve plain HTTP here; a policy or version without a certificate
     * is more likely a mistake. */
    if (!t->cert.path)
        return yamlread_fail(&rd->yr, t->mark, "tls_server_config needs cert_file and key_file");
    if (verifies(wc->client_auth) && !t->ca.path)
        return yamlread_fail(&rd->yr, t->client_auth_mark,
                             "client_auth_type %s needs client_ca_file",
                             webconfig_client_auth_name(wc->client_auth));
    if (t->ca.path && wc->client_auth == WEBCONFIG_NO_CLIENT_CERT)
        return yamlread_fail(&rd->yr, t->ca.key_mark,
                             "client_ca_file is set but client_auth_type is NoClientCert (want "
                             "RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
    if (wc->max_version < wc->min_version)
        return yamlread_fail(&rd->yr, t->has_max ? t->max_mark : t->mark,
                             "max_version %s is lower than min_version %s",
                             webconfig_tls_version_names[wc->max_version - WEBCONFIG_TLS10],
                             webconfig_tls_version_names[wc->min_version - WEBCONFIG_TLS10]);

    if (read_pem(rd, "cert_file", &t->cert, &wc->cert, &wc->cert_path) ||
        read_pem(rd, "key_file", &t->key, &wc->key, &wc->key_path) ||
        (t->ca.path && read_pem(rd, "client_ca_file", &t->ca, &wc->client_ca, &wc->client_ca_path)))
        return -1;
    if (check_pem(rd))
        return -1;
    wc->tls = true;
    return 0;
}
