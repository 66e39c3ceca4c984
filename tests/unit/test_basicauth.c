/* Basic auth against bcrypt hashes made at test time with libcrypt, and the cache that spares a
 * scrape the cost of bcrypt. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/basicauth.h"

/* Cost 4, bcrypt's lowest, keeps the tests fast; the cache does not depend on the cost. */
static char *bcrypt_hash(const char *password, const char *prefix)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data = calloc(1, sizeof(*data));
    assert_non_null(crypt_gensalt_rn(prefix, 4, NULL, 0, salt, sizeof(salt)));
    char *hash = crypt_rn(password, salt, data, sizeof(*data));
    assert_non_null(hash);
    hash = strdup(hash);
    free(data);
    return hash;
}

struct fixture {
    struct webconfig_user users[2];
    struct basicauth *auth;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->users[0] = (struct webconfig_user){strdup("prometheus"), bcrypt_hash("s3cret", "$2b$")};
    /* htpasswd -B writes $2y$; libcrypt verifies both. */
    char *hash = bcrypt_hash("hunter2:with colon", "$2b$");
    hash[2] = 'y';
    fx->users[1] = (struct webconfig_user){strdup("alice"), hash};
    fx->auth = basicauth_new(fx->users, 2);
    *state = fx;
    return fx->auth ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    basicauth_free(fx->auth);
    for (size_t i = 0; i < 2; i++) {
        free(fx->users[i].name);
        free(fx->users[i].hash);
    }
    free(fx);
    return 0;
}

static void test_right_password_is_accepted(void **state)
{
    struct fixture *fx = *state;
    assert_true(basicauth_check(fx->auth, "prometheus", "s3cret"));
    assert_true(basicauth_check(fx->auth, "alice", "hunter2:with colon"));
}

static void test_wrong_password_or_user_is_refused(void **state)
{
    struct fixture *fx = *state;
    assert_false(basicauth_check(fx->auth, "prometheus", "s3cret "));
    assert_false(basicauth_check(fx->auth, "prometheus", ""));
    assert_false(basicauth_check(fx->auth, "prometheus", "hunter2:with colon"));
    assert_false(basicauth_check(fx->auth, "alice", "s3cret"));
    assert_false(basicauth_check(fx->auth, "Prometheus", "s3cret"));
    assert_false(basicauth_check(fx->auth, "", "s3cret"));
}

static void test_unknown_user_costs_a_bcrypt_run(void **state)
{
    struct fixture *fx = *state;
    assert_false(basicauth_check(fx->auth, "mallory", "s3cret"));
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 1);
}

static void test_verified_password_is_cached(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < 5; i++)
        assert_true(basicauth_check(fx->auth, "prometheus", "s3cret"));
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 1);

    /* The cache is per user, and a wrong password is never served from it. */
    assert_false(basicauth_check(fx->auth, "alice", "s3cret"));
    assert_false(basicauth_check(fx->auth, "prometheus", "s3cret!"));
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 3);
    assert_false(basicauth_check(fx->auth, "prometheus", "s3cret!"));
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 4);
    assert_true(basicauth_check(fx->auth, "prometheus", "s3cret"));
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 4);
}

static void test_cache_is_bounded(void **state)
{
    (void)state;
    enum { N = 100 }; /* more than the cache holds */
    struct webconfig_user users[N];
    char name[16], password[16];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        snprintf(password, sizeof(password), "pw%d", i);
        users[i] = (struct webconfig_user){strdup(name), bcrypt_hash(password, "$2b$")};
    }
    struct basicauth *auth = basicauth_new(users, N);
    for (int i = 0; i < N; i++) {
        snprintf(password, sizeof(password), "pw%d", i);
        assert_true(basicauth_check(auth, users[i].name, password));
    }
    assert_int_equal(basicauth_bcrypt_runs(auth), N);
    /* The last one is still cached; the first was pushed out, and is verified again. */
    assert_true(basicauth_check(auth, users[N - 1].name, "pw99"));
    assert_int_equal(basicauth_bcrypt_runs(auth), N);
    assert_true(basicauth_check(auth, users[0].name, "pw0"));
    assert_int_equal(basicauth_bcrypt_runs(auth), N + 1);
    basicauth_free(auth);
    for (int i = 0; i < N; i++) {
        free(users[i].name);
        free(users[i].hash);
    }
}

struct racer {
    struct basicauth *auth;
    int ok;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 20; i++) {
        r->ok += basicauth_check(r->auth, "prometheus", "s3cret");
        r->ok -= basicauth_check(r->auth, "alice", "wrong");
    }
    return NULL;
}

static void test_concurrent_checks(void **state)
{
    struct fixture *fx = *state;
    pthread_t threads[4];
    struct racer racers[4];
    for (int i = 0; i < 4; i++) {
        racers[i] = (struct racer){fx->auth, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(racers[i].ok, 20);
    }
    basicauth_free(NULL);
    assert_null(basicauth_new(fx->users, 0));
}

#define AUTH_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        AUTH_TEST(test_right_password_is_accepted),
        AUTH_TEST(test_wrong_password_or_user_is_refused),
        AUTH_TEST(test_unknown_user_costs_a_bcrypt_run),
        AUTH_TEST(test_verified_password_is_cached),
        cmocka_unit_test(test_cache_is_bounded),
        AUTH_TEST(test_concurrent_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
