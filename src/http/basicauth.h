/* HTTP basic auth against the bcrypt hashes of a web config, as exporter-toolkit checks them:
 * bcrypt is slow on purpose (about 60 ms at cost 10), so a password that verified is remembered
 * and the next scrape with it costs a keyed hash instead. */
#ifndef PROCTRACK_HTTP_BASICAUTH_H
#define PROCTRACK_HTTP_BASICAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/webconfig.h"

struct basicauth;

/* `users` (at least one) is borrowed and must outlive the returned object. */
struct basicauth *basicauth_new(const struct webconfig_user *users, size_t nusers);
/* NULL is a no-op. */
void basicauth_free(struct basicauth *auth);

/* Whether `password` is the password of `user`. Safe from several threads at once; bcrypt runs
 * one at a time, as in exporter-toolkit, so that guessing cannot take every core. An unknown user
 * costs a bcrypt run too, so that response times do not tell which users exist. */
bool basicauth_check(struct basicauth *auth, const char *user, const char *password);

/* How many bcrypt verifications have run: for tests of the cache. */
unsigned long basicauth_bcrypt_runs(struct basicauth *auth);

#endif /* PROCTRACK_HTTP_BASICAUTH_H */
