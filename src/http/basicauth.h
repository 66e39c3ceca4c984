/* HTTP basic auth against the bcrypt hashes of a web config, as exporter-toolkit checks them, and
 * cheap to attack: bcrypt is slow on purpose (about 60 ms at cost 10), so every (user, password)
 * pair checked is remembered, verified or refused, and bcrypt runs within a budget of CPU time.
 * A scrape with a password that verified once costs a keyed hash; a guesser cannot take more
 * than the budget's share of a core. */
#ifndef PROCTRACK_HTTP_BASICAUTH_H
#define PROCTRACK_HTTP_BASICAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/webconfig.h"

/* bcrypt's default budget: 100 ms of CPU per second (a tenth of a core) on average, and up to
 * one second of it at once, so a restart's first scrapes (one bcrypt per user) never wait. */
#define BASICAUTH_BUDGET_NS_PER_SECOND 100000000ull
#define BASICAUTH_BUDGET_BURST_NS 1000000000ull

enum basicauth_result {
    BASICAUTH_OK,      /* the password of that user */
    BASICAUTH_DENIED,  /* unknown user or wrong password */
    BASICAUTH_UNKNOWN, /* (basicauth_lookup) not checked yet: a bcrypt run decides */
    BASICAUTH_BUSY,    /* (basicauth_check) bcrypt's budget is spent: ask again later */
};

/* The user and password of an Authorization header; `buf` holds both and is wiped when freed. */
struct basicauth_credentials {
    char *buf;
    const char *user;
    const char *password;
};

struct basicauth;

/* `users` (at least one) is borrowed and must outlive the returned object. */
struct basicauth *basicauth_new(const struct webconfig_user *users, size_t nusers);
/* NULL is a no-op. */
void basicauth_free(struct basicauth *auth);
/* Replaces the default budget (tests). */
void basicauth_set_budget(struct basicauth *auth, uint64_t ns_per_second, uint64_t burst_ns);

/* Parses an Authorization header value (`len` bytes) the way Go's Request.BasicAuth does for
 * exporter-toolkit: the scheme "Basic" in any case and one space, then standard base64 with
 * padding, split at the first ':' into user and password. Refuses decoded text holding a NUL
 * (which C strings would cut short). Returns 0, or -EINVAL with `out` left empty. */
int basicauth_parse(const char *value, size_t len, struct basicauth_credentials *out);
/* Wipes and frees; the struct is left empty. */
void basicauth_credentials_free(struct basicauth_credentials *creds);

/* What the caches say of this pair: OK, DENIED, or UNKNOWN when it was never checked (or was
 * pushed out). Cheap: a keyed hash and a lookup. Safe from several threads. */
enum basicauth_result basicauth_lookup(struct basicauth *auth, const char *user,
                                       const char *password);
/* The caches, then bcrypt if the budget allows: OK, DENIED, or BUSY (nothing run) when the
 * budget is spent. An unknown user costs a bcrypt run too, so that response times do not tell
 * which users exist. Safe from several threads; bcrypt runs one at a time. */
enum basicauth_result basicauth_check(struct basicauth *auth, const char *user,
                                      const char *password);

/* How many bcrypt verifications have run: for tests of the caches and the budget. */
unsigned long basicauth_bcrypt_runs(struct basicauth *auth);

#endif /* PROCTRACK_HTTP_BASICAUTH_H */
