/* The web config in use, and reading it again when its files change.
 *
 * exporter-toolkit reads its web config file again for every new TLS connection (with the
 * certificate and key) and every request (users, headers), so that certificates rotate and users
 * change without a restart. Here the config file and the files it names are looked at (one stat()
 * each) at most once a second, when a connection or a request comes, and loaded again when one of
 * them changed. Each load is a generation: the config, its basic auth, and gnutls's credentials
 * (certificate, key, client CAs) and priorities. A new TLS session is given the current
 * generation's credentials and priorities, a request takes the current generation's users and
 * headers; both hold it until they end, so that a generation is freed when the last connection
 * that uses it closes. A config that does not load is logged and leaves the current one in use,
 * until its files change again (exporter-toolkit would answer 500 to every request meanwhile). */
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>

#include "http/clientcert.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Files are looked at no more often than this. */
#define WEB_CHECK_MS 1000

struct http_web {
    const struct webconfig *wc;
    struct webconfig *owned; /* wc, when the generation loaded it (not the first one) */
    struct basicauth *auth;  /* NULL: no basic auth */
    bool has_tls;
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t priority;
    unsigned refs; /* under http_server.web_lock */
};

static void web_free(struct http_web *w)
{
    if (w->has_tls) {
        gnutls_priority_deinit(w->priority);
        gnutls_certificate_free_credentials(w->cred);
    }
    basicauth_free(w->auth);
    webconfig_free(w->owned);
    free(w);
}

/* A generation for `wc` (loaded and checked by webconfig_load_file, so gnutls takes it). */
static struct http_web *web_new(const struct webconfig *wc, char *err, size_t errlen)
{
    struct http_web *w = xcalloc(1, sizeof(*w));
    w->wc = wc;
    w->refs = 1;
    if (wc->nusers)
        w->auth = basicauth_new(wc->users, wc->nusers);
    if (!wc->tls)
        return w;
    char priorities[WEBCONFIG_TLS_PRIORITIES_MAX];
    const char *where = NULL;
    int rc = gnutls_certificate_allocate_credentials(&w->cred);
    if (rc < 0)
        goto out_fail;
    gnutls_datum_t cert = {(unsigned char *)wc->cert, (unsigned)strlen(wc->cert)};
    gnutls_datum_t key = {(unsigned char *)wc->key, (unsigned)strlen(wc->key)};
    rc = gnutls_certificate_set_x509_key_mem(w->cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (rc >= 0 && wc->client_ca) {
        gnutls_datum_t ca = {(unsigned char *)wc->client_ca, (unsigned)strlen(wc->client_ca)};
        rc = gnutls_certificate_set_x509_trust_mem(w->cred, &ca, GNUTLS_X509_FMT_PEM);
    }
    if (rc >= 0)
        rc = webconfig_tls_priorities(wc, priorities, sizeof(priorities));
    if (rc >= 0)
        rc = gnutls_priority_init(&w->priority, priorities, &where);
    if (rc < 0) {
        gnutls_certificate_free_credentials(w->cred);
        goto out_fail;
    }
    w->has_tls = true;
    return w;

out_fail:
    snprintf(err, errlen, "%s", rc == -ENOSPC ? "TLS priorities too long" : gnutls_strerror(rc));
    basicauth_free(w->auth);
    free(w);
    return NULL;
}

/* ---- changes ----------------------------------------------------------------------------- */

/* What tells a file changed: rewritten in place (size, times) or replaced (a rename, a
 * symlink switched, as Kubernetes updates a mounted secret: the inode). */
static void stamp_of(const char *path, struct http_web_stamp *out)
{
    struct stat st;
    memset(out, 0, sizeof(*out));
    if (!path)
        return;
    if (stat(path, &st) != 0) {
        out->err = errno;
        return;
    }
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = st.st_size;
    out->mtime = st.st_mtim;
    out->ctime = st.st_ctim;
}

static bool same_stamp(const struct http_web_stamp *a, const struct http_web_stamp *b)
{
    return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The config file, then the files the generation in use took its PEM contents from. */
static void stamps_now(const struct http_server *srv, struct http_web_stamp out[HTTP_WEB_FILES])
{
    const struct webconfig *wc = srv->web->wc;
    stamp_of(srv->web_path, &out[0]);
    stamp_of(wc->cert_path, &out[1]);
    stamp_of(wc->key_path, &out[2]);
    stamp_of(wc->client_ca_path, &out[3]);
}

static void log_reload_failed(const struct http_server *srv, const char *err)
{
    struct log_line line;
    if (log_begin(&line, LOG_ERROR, "web config reload failed, keeping the current one")) {
        log_str(&line, "web_config", srv->web_path);
        log_str(&line, "err", err);
        log_end(&line);
    }
}

/* Returns whether a new generation is in use. */
static bool reload(struct http_server *srv)
{
    char err[1024];
    struct webconfig *wc = webconfig_load_file(srv->web_path, err, sizeof(err));
    if (!wc) {
        log_reload_failed(srv, err);
        return false;
    }
    /* libmicrohttpd is started with TLS or without: that cannot change while it runs. */
    if (wc->tls != srv->web->wc->tls) {
        log_reload_failed(srv, wc->tls ? "TLS cannot be turned on without a restart"
                                       : "TLS cannot be turned off without a restart");
        webconfig_free(wc);
        return false;
    }
    struct http_web *w = web_new(wc, err, sizeof(err));
    if (!w) {
        log_reload_failed(srv, err);
        webconfig_free(wc);
        return false;
    }
    w->owned = wc;
    pthread_mutex_lock(&srv->web_lock);
    struct http_web *old = srv->web;
    srv->web = w;
    pthread_mutex_unlock(&srv->web_lock);
    http_web_release(srv, old);
    struct log_line line;
    if (log_begin(&line, LOG_INFO, "web config reloaded")) {
        log_str(&line, "web_config", srv->web_path);
        log_end(&line);
    }
    return true;
}

void http_web_refresh(struct http_server *srv, uint64_t now_ms)
{
    if (!srv->web_path || !srv->web || now_ms - srv->web_checked_ms < WEB_CHECK_MS)
        return;
    srv->web_checked_ms = now_ms;
    struct http_web_stamp now[HTTP_WEB_FILES];
    stamps_now(srv, now);
    bool changed = false;
    for (int i = 0; i < HTTP_WEB_FILES; i++)
        changed |= !same_stamp(&now[i], &srv->web_stamps[i]);
    if (!changed)
        return;
    /* After a load, the files of the new generation (it may name others); after a failure, the
     * files as they were before it, so that one rewritten meanwhile (a key written after its
     * certificate) is tried again at the next look. */
    if (reload(srv))
        stamps_now(srv, srv->web_stamps);
    else
        memcpy(srv->web_stamps, now, sizeof(now));
}

/* ---- generations ------------------------------------------------------------------------- */

int http_web_start(struct http_server *srv, const struct webconfig *wc, const char *path, char *err,
                   size_t errlen)
{
    pthread_mutex_init(&srv->web_lock, NULL);
    if (!wc)
        return 0;
    srv->web = web_new(wc, err, errlen);
    if (!srv->web)
        return -1;
    if (path) {
        srv->web_path = xstrdup(path);
        stamps_now(srv, srv->web_stamps);
        srv->web_checked_ms = http_now_ms();
    }
    return 0;
}

void http_web_stop(struct http_server *srv)
{
    http_web_release(srv, srv->web);
    srv->web = NULL;
    free(srv->web_path);
    pthread_mutex_destroy(&srv->web_lock);
}

/* The lock is not part of what a const server promises: responses are built from a const one. */
static pthread_mutex_t *web_lock(const struct http_server *srv)
{
    return (pthread_mutex_t *)&srv->web_lock;
}

struct http_web *http_web_acquire(const struct http_server *srv)
{
    pthread_mutex_lock(web_lock(srv));
    struct http_web *w = srv->web;
    if (w)
        w->refs++;
    pthread_mutex_unlock(web_lock(srv));
    return w;
}

void http_web_release(const struct http_server *srv, struct http_web *w)
{
    if (!w)
        return;
    pthread_mutex_lock(web_lock(srv));
    bool last = --w->refs == 0;
    pthread_mutex_unlock(web_lock(srv));
    if (last)
        web_free(w);
}

const struct webconfig *http_web_config(const struct http_web *w)
{
    return w ? w->wc : NULL;
}

struct basicauth *http_web_auth(const struct http_web *w)
{
    return w ? w->auth : NULL;
}

enum webconfig_client_auth http_web_client_auth(const struct http_web *w)
{
    return w && w->has_tls ? w->wc->client_auth : WEBCONFIG_NO_CLIENT_CERT;
}

void http_web_session(const struct http_web *w, struct MHD_Connection *conn)
{
    if (!w || !w->has_tls)
        return;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = info ? (gnutls_session_t)info->tls_session : NULL;
    if (!session)
        return;
    /* Before the handshake: the first bytes of it are read after this returns. */
    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, w->cred);
    gnutls_priority_set(session, w->priority);
    if (w->wc->client_auth != WEBCONFIG_NO_CLIENT_CERT)
        clientcert_request(conn);
}
