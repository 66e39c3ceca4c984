#include "http/basicauth.h"

#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "util/xalloc.h"

/* Prometheus servers and a few people: far fewer distinct (user, password) pairs than this. */
#define CACHE_SLOTS 64
#define MAC_LEN 32 /* HMAC-SHA256 */

/* A (user, password) pair that verified. The password is kept only as an HMAC under a key drawn
 * at start-up, so the cache holds nothing that could be checked offline faster than bcrypt. */
struct cached_login {
    bool used;
    size_t user;
    unsigned char mac[MAC_LEN];
};

struct basicauth {
    const struct webconfig_user *users;
    size_t nusers;
    unsigned char key[MAC_LEN];

    pthread_mutex_t cache_lock;
    struct cached_login cache[CACHE_SLOTS];
    size_t next_slot; /* replaced round-robin once the cache is full */

    pthread_mutex_t bcrypt_lock;
    struct crypt_data *crypt; /* 32 KiB of libcrypt state, used under bcrypt_lock */
    unsigned long bcrypt_runs;
};

/* Compares without an early exit, so the time taken does not tell how much matched. */
static bool equal_ct(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

struct basicauth *basicauth_new(const struct webconfig_user *users, size_t nusers)
{
    if (nusers == 0)
        return NULL;
    struct basicauth *auth = xcalloc(1, sizeof(*auth));
    auth->users = users;
    auth->nusers = nusers;
    auth->crypt = xcalloc(1, sizeof(*auth->crypt));
    pthread_mutex_init(&auth->cache_lock, NULL);
    pthread_mutex_init(&auth->bcrypt_lock, NULL);
    if (getrandom(auth->key, sizeof(auth->key), 0) != (ssize_t)sizeof(auth->key)) {
        /* Only before the kernel's pool is seeded, early at boot; an exporter then still works,
         * with a cache that an attacker who can read our memory can brute-force faster. */
        for (size_t i = 0; i < sizeof(auth->key); i++)
            auth->key[i] = (unsigned char)(random() >> 7);
    }
    return auth;
}

void basicauth_free(struct basicauth *auth)
{
    if (!auth)
        return;
    explicit_bzero(auth->key, sizeof(auth->key));
    explicit_bzero(auth->cache, sizeof(auth->cache));
    explicit_bzero(auth->crypt, sizeof(*auth->crypt));
    free(auth->crypt);
    pthread_mutex_destroy(&auth->cache_lock);
    pthread_mutex_destroy(&auth->bcrypt_lock);
    free(auth);
}

static bool cache_has(struct basicauth *auth, size_t user, const unsigned char *mac)
{
    bool found = false;
    pthread_mutex_lock(&auth->cache_lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        const struct cached_login *c = &auth->cache[i];
        if (c->used && c->user == user && equal_ct(c->mac, mac, MAC_LEN))
            found = true;
    }
    pthread_mutex_unlock(&auth->cache_lock);
    return found;
}

static void cache_add(struct basicauth *auth, size_t user, const unsigned char *mac)
{
    pthread_mutex_lock(&auth->cache_lock);
    struct cached_login *c = &auth->cache[auth->next_slot];
    auth->next_slot = (auth->next_slot + 1) % CACHE_SLOTS;
    c->used = true;
    c->user = user;
    memcpy(c->mac, mac, MAC_LEN);
    pthread_mutex_unlock(&auth->cache_lock);
}

static bool bcrypt_verify(struct basicauth *auth, const char *password, const char *hash)
{
    pthread_mutex_lock(&auth->bcrypt_lock);
    auth->bcrypt_runs++;
    /* crypt_rn rehashes the password with the salt and cost found in `hash`; a match gives
     * `hash` back. It returns NULL, not a failure token, on errors. */
    const char *out = crypt_rn(password, hash, auth->crypt, sizeof(*auth->crypt));
    size_t len = strlen(hash);
    bool ok = out && strlen(out) == len && equal_ct(out, hash, len);
    explicit_bzero(auth->crypt, sizeof(*auth->crypt));
    pthread_mutex_unlock(&auth->bcrypt_lock);
    return ok;
}

bool basicauth_check(struct basicauth *auth, const char *user, const char *password)
{
    size_t idx = auth->nusers;
    for (size_t i = 0; i < auth->nusers; i++) {
        if (strcmp(auth->users[i].name, user) == 0)
            idx = i;
    }
    bool known = idx < auth->nusers;

    unsigned char mac[MAC_LEN];
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, auth->key, sizeof(auth->key), password,
                         strlen(password), mac) < 0)
        return false;
    if (known && cache_has(auth, idx, mac))
        return true;

    /* An unknown user is checked against a real hash, with a real cost, then refused. */
    bool ok = bcrypt_verify(auth, password, auth->users[known ? idx : 0].hash) && known;
    if (ok)
        cache_add(auth, idx, mac);
    explicit_bzero(mac, sizeof(mac));
    return ok;
}

unsigned long basicauth_bcrypt_runs(struct basicauth *auth)
{
    pthread_mutex_lock(&auth->bcrypt_lock);
    unsigned long n = auth->bcrypt_runs;
    pthread_mutex_unlock(&auth->bcrypt_lock);
    return n;
}
