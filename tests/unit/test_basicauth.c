/* Basic auth against bcrypt hashes made at test time with libcrypt, the caches that spare a
 * scrape (and a guesser) the cost of bcrypt, bcrypt's budget, and the Authorization header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <crypt.h>
#include <errno.h>
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
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_check(fx->auth, "alice", "hunter2:with colon"), BASICAUTH_OK);
}

static void test_wrong_password_or_user_is_refused(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret "), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", ""), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "hunter2:with colon"),
                     BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "alice", "s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "Prometheus", "s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "", "s3cret"), BASICAUTH_DENIED);
}

static void test_unknown_user_costs_a_bcrypt_run(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(basicauth_check(fx->auth, "mallory", "s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 1);
}

static void test_verified_password_is_cached(void **state)
{
    struct fixture *fx = *state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 1);
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);

    /* The cache is per user, and a wrong password is never served from it. */
    assert_int_equal(basicauth_check(fx->auth, "alice", "s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret!"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 3);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 3);
}

static void test_refused_password_is_cached(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "guess"), BASICAUTH_UNKNOWN);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(basicauth_check(fx->auth, "prometheus", "guess"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 1);
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "guess"), BASICAUTH_DENIED);
    /* Unknown users too; and the pair is what is cached, not the password. */
    assert_int_equal(basicauth_check(fx->auth, "mallory", "guess"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "mallory", "guess"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 2);
    /* ("a:", "b") and ("a", ":b") are different pairs. */
    assert_int_equal(basicauth_check(fx->auth, "prometheus", ":s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_check(fx->auth, "prometheus:", "s3cret"), BASICAUTH_DENIED);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), 4);
}

static void test_guesses_do_not_push_out_verified_passwords(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    char guess[32];
    for (int i = 0; i < 300; i++) {
        snprintf(guess, sizeof(guess), "guess%d", i);
        assert_int_equal(basicauth_check(fx->auth, "prometheus", guess), BASICAUTH_DENIED);
    }
    unsigned long runs = basicauth_bcrypt_runs(fx->auth);
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), runs);
    /* The refused cache is bounded: the first guesses were pushed out. */
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "guess0"), BASICAUTH_UNKNOWN);
    assert_int_equal(basicauth_lookup(fx->auth, "prometheus", "guess299"), BASICAUTH_DENIED);
}

/* Once the budget is spent, new pairs are not checked (BUSY) while cached ones still answer;
 * the bucket refills with time. */
static void test_bcrypt_budget_bounds_guessing(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    /* A budget of 1 ns: one run empties it, and it refills by 1 ns a second. */
    basicauth_set_budget(fx->auth, 1, 1);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "guess1"), BASICAUTH_DENIED);
    unsigned long runs = basicauth_bcrypt_runs(fx->auth);
    for (int i = 0; i < 100; i++)
        assert_int_equal(basicauth_check(fx->auth, "prometheus", "guess2"), BASICAUTH_BUSY);
    assert_int_equal(basicauth_check(fx->auth, "alice", "hunter2:with colon"), BASICAUTH_BUSY);
    assert_int_equal(basicauth_bcrypt_runs(fx->auth), runs);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "s3cret"), BASICAUTH_OK);
    assert_int_equal(basicauth_check(fx->auth, "prometheus", "guess1"), BASICAUTH_DENIED);
    /* A generous budget again: checks run. */
    basicauth_set_budget(fx->auth, BASICAUTH_BUDGET_NS_PER_SECOND, BASICAUTH_BUDGET_BURST_NS);
    assert_int_equal(basicauth_check(fx->auth, "alice", "hunter2:with colon"), BASICAUTH_OK);
}

static void parse_ok(const char *header, const char *user, const char *password)
{
    struct basicauth_credentials c;
    assert_int_equal(basicauth_parse(header, strlen(header), &c), 0);
    assert_string_equal(c.user, user);
    assert_string_equal(c.password, password);
    basicauth_credentials_free(&c);
    assert_null(c.buf);
}

static void parse_fails(const char *header, size_t len)
{
    struct basicauth_credentials c;
    assert_int_equal(basicauth_parse(header, len, &c), -EINVAL);
    assert_null(c.buf);
}

/* As Go's Request.BasicAuth reads the header for exporter-toolkit. */
static void test_authorization_header(void **state)
{
    (void)state;
    parse_ok("Basic cHJvbWV0aGV1czpzM2NyZXQ=", "prometheus", "s3cret");
    parse_ok("basic cHJvbWV0aGV1czpzM2NyZXQ=", "prometheus", "s3cret");
    parse_ok("BASIC cHJvbWV0aGV1czpzM2NyZXQ=", "prometheus", "s3cret");
    parse_ok("Basic YWxpY2U6aHVudGVyMjp3aXRoIGNvbG9u", "alice", "hunter2:with colon");
    parse_ok("Basic OnB3", "", "pw");  /* ":pw" */
    parse_ok("Basic dTo=", "u", "");   /* "u:" */
    parse_fails("Basic dXNlcg==", 14); /* "user": no colon */
    parse_fails("Bearer cHJvbWV0aGV1czpzM2NyZXQ=", 31);
    parse_fails("Basic", 5);
    parse_fails("Basic  cHJvbWV0aGV1czpzM2NyZXQ=", 31); /* two spaces: not base64 */
    parse_fails("Basic cHJvbWV0aGV1czpzM2NyZXQ", 29);   /* padding missing */
    parse_fails("Basic cHJvbWV0aGV1czpzM2Ny=XQ=", 30);  /* padding inside */
    parse_fails("Basic cHJvbWV0aGV1czpzM2NyZXQ*", 30);
    /* "a:b\0c", "a\0:b": a NUL anywhere in the decoded text. */
    parse_fails("Basic YTpiAGM=", 14);
    parse_fails("Basic YQA6Yg==", 14);
    /* A NUL in the header itself. */
    parse_fails("Basic cHJvbWV0aGV1czpzM2NyZXQ=\0", 31);
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
        assert_int_equal(basicauth_check(auth, users[i].name, password), BASICAUTH_OK);
    }
    assert_int_equal(basicauth_bcrypt_runs(auth), N);
    /* The last one is still cached; the first was pushed out, and is verified again. */
    assert_int_equal(basicauth_check(auth, users[N - 1].name, "pw99"), BASICAUTH_OK);
    assert_int_equal(basicauth_bcrypt_runs(auth), N);
    assert_int_equal(basicauth_check(auth, users[0].name, "pw0"), BASICAUTH_OK);
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
        r->ok += basicauth_check(r->auth, "prometheus", "s3cret") == BASICAUTH_OK;
        r->ok -= basicauth_check(r->auth, "alice", "wrong") == BASICAUTH_OK;
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
        AUTH_TEST(test_refused_password_is_cached),
        AUTH_TEST(test_guesses_do_not_push_out_verified_passwords),
        AUTH_TEST(test_bcrypt_budget_bounds_guessing),
        cmocka_unit_test(test_authorization_header),
        cmocka_unit_test(test_cache_is_bounded),
        AUTH_TEST(test_concurrent_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
