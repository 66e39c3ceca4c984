#include "http/basicauth.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "util/xalloc.h"

/* Prometheus servers and a few people: far fewer distinct verified pairs than this. Refused
 * pairs have a cache of their own, so that a guesser cannot push the verified ones out. */
#define VERIFIED_SLOTS 64
#define REFUSED_SLOTS 256
#define MAC_LEN 32 /* HMAC-SHA256 */

/* A checked (user, password) pair, kept only as an HMAC under a key drawn at start-up, so the
 * caches hold nothing that could be checked offline faster than bcrypt. */
struct cached_pair {
    bool used;
    unsigned char mac[MAC_LEN];
};

struct pair_cache {
    struct cached_pair *slots;
    size_t nslots;
    size_t next; /* replaced round-robin once full */
};

struct basicauth {
    const struct webconfig_user *users;
    size_t nusers;
    unsigned char key[MAC_LEN];

    pthread_mutex_t cache_lock;
    struct cached_pair verified_slots[VERIFIED_SLOTS];
    struct cached_pair refused_slots[REFUSED_SLOTS];
    struct pair_cache verified, refused;

    pthread_mutex_t bcrypt_lock;
    struct crypt_data *crypt; /* 32 KiB of libcrypt state, used under bcrypt_lock */
    unsigned long bcrypt_runs;
    /* The budget, a bucket of CPU nanoseconds: each run takes what it used, the bucket refills
     * at ns_per_second up to burst_ns. A run starts only while the bucket is not empty. */
    uint64_t ns_per_second, burst_ns;
    int64_t bucket_ns;
    uint64_t refilled_ns; /* CLOCK_MONOTONIC of the last refill */
};

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
    auth->verified = (struct pair_cache){auth->verified_slots, VERIFIED_SLOTS, 0};
    auth->refused = (struct pair_cache){auth->refused_slots, REFUSED_SLOTS, 0};
    pthread_mutex_init(&auth->cache_lock, NULL);
    pthread_mutex_init(&auth->bcrypt_lock, NULL);
    basicauth_set_budget(auth, BASICAUTH_BUDGET_NS_PER_SECOND, BASICAUTH_BUDGET_BURST_NS);
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
    explicit_bzero(auth->verified_slots, sizeof(auth->verified_slots));
    explicit_bzero(auth->refused_slots, sizeof(auth->refused_slots));
    explicit_bzero(auth->crypt, sizeof(*auth->crypt));
    free(auth->crypt);
    pthread_mutex_destroy(&auth->cache_lock);
    pthread_mutex_destroy(&auth->bcrypt_lock);
    free(auth);
}

void basicauth_set_budget(struct basicauth *auth, uint64_t ns_per_second, uint64_t burst_ns)
{
    pthread_mutex_lock(&auth->bcrypt_lock);
    auth->ns_per_second = ns_per_second;
    auth->burst_ns = burst_ns;
    auth->bucket_ns = (int64_t)burst_ns;
    auth->refilled_ns = clock_ns(CLOCK_MONOTONIC);
    pthread_mutex_unlock(&auth->bcrypt_lock);
}

/* ---- the Authorization header ------------------------------------------------------------ */

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with padding, as Go's base64.StdEncoding decodes it (strictly: no stray
 * characters, whole quanta). Returns the decoded length, or -1. */
static long base64_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = base64_value(c)) < 0) {
                return -1;
            }
        }
        unsigned triple =
            (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[n++] = (unsigned char)(triple >> 16);
        if (pad < 2)
            out[n++] = (unsigned char)(triple >> 8);
        if (pad < 1)
            out[n++] = (unsigned char)triple;
    }
    return (long)n;
}

int basicauth_parse(const char *value, size_t len, struct basicauth_credentials *out)
{
    static const char scheme[] = "Basic ";
    memset(out, 0, sizeof(*out));
    if (!value || len < sizeof(scheme) - 1 || strncasecmp(value, scheme, sizeof(scheme) - 1) != 0)
        return -EINVAL;
    value += sizeof(scheme) - 1;
    len -= sizeof(scheme) - 1;

    char *buf = xmalloc(len / 4 * 3 + 1);
    long n = base64_decode(value, len, (unsigned char *)buf);
    char *colon = n >= 0 ? memchr(buf, ':', (size_t)n) : NULL;
    if (!colon || memchr(buf, '\0', (size_t)n)) {
        explicit_bzero(buf, len / 4 * 3 + 1);
        free(buf);
        return -EINVAL;
    }
    buf[n] = '\0';
    *colon = '\0';
    out->buf = buf;
    out->user = buf;
    out->password = colon + 1;
    return 0;
}

void basicauth_credentials_free(struct basicauth_credentials *creds)
{
    if (creds->buf) {
        size_t len = strlen(creds->user) + 1 + strlen(creds->password);
        explicit_bzero(creds->buf, len);
        free(creds->buf);
    }
    memset(creds, 0, sizeof(*creds));
}

/* ---- caches ------------------------------------------------------------------------------ */

/* HMAC(key, len(user) || user || password): the length keeps ("a:", "b") and ("a", ":b")
 * apart. */
static int pair_mac(const struct basicauth *auth, const char *user, const char *password,
                    unsigned char *mac)
{
    gnutls_hmac_hd_t h;
    uint64_t user_len = strlen(user);
    if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, auth->key, sizeof(auth->key)) < 0)
        return -ENOMEM;
    int rc = gnutls_hmac(h, &user_len, sizeof(user_len));
    rc = rc < 0 ? rc : gnutls_hmac(h, user, user_len);
    rc = rc < 0 ? rc : gnutls_hmac(h, password, strlen(password));
    gnutls_hmac_deinit(h, mac);
    return rc < 0 ? -EIO : 0;
}

static bool cache_has(const struct pair_cache *cache, const unsigned char *mac)
{
    bool found = false;
    for (size_t i = 0; i < cache->nslots; i++)
        found |= cache->slots[i].used && equal_ct(cache->slots[i].mac, mac, MAC_LEN);
    return found;
}

static void cache_add(struct pair_cache *cache, const unsigned char *mac)
{
    struct cached_pair *c = &cache->slots[cache->next];
    cache->next = (cache->next + 1) % cache->nslots;
    c->used = true;
    memcpy(c->mac, mac, MAC_LEN);
}

static enum basicauth_result lookup_mac(struct basicauth *auth, const unsigned char *mac)
{
    pthread_mutex_lock(&auth->cache_lock);
    enum basicauth_result r = cache_has(&auth->verified, mac)  ? BASICAUTH_OK
                              : cache_has(&auth->refused, mac) ? BASICAUTH_DENIED
                                                               : BASICAUTH_UNKNOWN;
    pthread_mutex_unlock(&auth->cache_lock);
    return r;
}

enum basicauth_result basicauth_lookup(struct basicauth *auth, const char *user,
                                       const char *password)
{
    unsigned char mac[MAC_LEN];
    if (pair_mac(auth, user, password, mac) < 0)
        return BASICAUTH_DENIED;
    enum basicauth_result r = lookup_mac(auth, mac);
    explicit_bzero(mac, sizeof(mac));
    return r;
}

/* ---- bcrypt ------------------------------------------------------------------------------ */

static void refill(struct basicauth *auth)
{
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    uint64_t elapsed = now - auth->refilled_ns;
    auth->refilled_ns = now;
    /* elapsed * rate / 1e9 without overflow for any gap up to centuries. */
    uint64_t add = elapsed / 1000000u * (auth->ns_per_second / 1000u);
    uint64_t room = (uint64_t)((int64_t)auth->burst_ns - auth->bucket_ns);
    auth->bucket_ns += (int64_t)(add < room ? add : room);
}

/* Runs bcrypt if the budget allows: 1 for a match, 0 for none, -EBUSY when the budget is spent. */
static int bcrypt_verify(struct basicauth *auth, const char *password, const char *hash)
{
    pthread_mutex_lock(&auth->bcrypt_lock);
    refill(auth);
    if (auth->bucket_ns <= 0) {
        pthread_mutex_unlock(&auth->bcrypt_lock);
        return -EBUSY;
    }
    auth->bcrypt_runs++;
    uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    /* crypt_rn rehashes the password with the salt and cost found in `hash`; a match gives
     * `hash` back. It returns NULL, not a failure token, on errors. */
    const char *out = crypt_rn(password, hash, auth->crypt, sizeof(*auth->crypt));
    size_t len = strlen(hash);
    bool ok = out && strlen(out) == len && equal_ct(out, hash, len);
    explicit_bzero(auth->crypt, sizeof(*auth->crypt));
    auth->bucket_ns -= (int64_t)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu);
    pthread_mutex_unlock(&auth->bcrypt_lock);
    return ok;
}

enum basicauth_result basicauth_check(struct basicauth *auth, const char *user,
                                      const char *password)
{
    unsigned char mac[MAC_LEN];
    if (pair_mac(auth, user, password, mac) < 0)
        return BASICAUTH_DENIED;
    enum basicauth_result r = lookup_mac(auth, mac);
    if (r != BASICAUTH_UNKNOWN)
        goto out_wipe;

    size_t idx = auth->nusers;
    for (size_t i = 0; i < auth->nusers; i++) {
        if (strcmp(auth->users[i].name, user) == 0)
            idx = i;
    }
    bool known = idx < auth->nusers;
    /* An unknown user is checked against a real hash, with a real cost, then refused. */
    int match = bcrypt_verify(auth, password, auth->users[known ? idx : 0].hash);
    if (match < 0) {
        r = BASICAUTH_BUSY;
        goto out_wipe;
    }
    r = match && known ? BASICAUTH_OK : BASICAUTH_DENIED;
    pthread_mutex_lock(&auth->cache_lock);
    cache_add(r == BASICAUTH_OK ? &auth->verified : &auth->refused, mac);
    pthread_mutex_unlock(&auth->cache_lock);
out_wipe:
    explicit_bzero(mac, sizeof(mac));
    return r;
}

unsigned long basicauth_bcrypt_runs(struct basicauth *auth)
{
    pthread_mutex_lock(&auth->bcrypt_lock);
    unsigned long n = auth->bcrypt_runs;
    pthread_mutex_unlock(&auth->bcrypt_lock);
    return n;
}
