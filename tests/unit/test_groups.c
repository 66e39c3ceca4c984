/* The per-group thread-name tables of the tracker (src/tracker/groups.c): found through a hash
 * index in constant time, capped with one overflow name, in name order after each scan, and
 * forgotten after the TTL. The tracker's use of them is in test_tracker.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdio.h>
#include <string.h>

#include "tracker/groups.h"

#define TTL 600 /* ticks */

struct fixture {
    struct groups gs;
    struct tracker_group *g;
    uint64_t now;
};

static int setup(void **state)
{
    static struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    groups_init(&fx.gs);
    uint32_t slot = groups_get(&fx.gs, "app");
    fx.g = &fx.gs.slots[slot];
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    groups_free(&fx->gs);
    return 0;
}

/* One scan that sees one thread under each of `names`. */
static void scan_names(struct fixture *fx, const char *const *names, size_t n, size_t max)
{
    groups_begin_scan(&fx->gs);
    for (size_t i = 0; i < n; i++)
        groups_thread_name(fx->g, names[i], max)->count++;
    fx->now += 100;
    groups_end_scan(&fx->gs, false, fx->now, TTL);
}

static const struct tracker_thread_name *find(const struct tracker_group *g, const char *name)
{
    for (size_t i = 0; i < g->nthreads; i++)
        if (strcmp(g->threads[i].name, name) == 0)
            return &g->threads[i];
    return NULL;
}

static void assert_in_name_order(const struct tracker_group *g)
{
    for (size_t i = 1; i < g->nthreads; i++)
        assert_true(strcmp(g->threads[i - 1].name, g->threads[i].name) < 0);
}

static void test_same_name_is_one_tally(void **state)
{
    struct fixture *fx = *state;
    const char *names[] = {"worker", "main", "worker", "worker"};
    scan_names(fx, names, 4, 256);
    assert_int_equal(fx->g->nthreads, 2);
    assert_int_equal(find(fx->g, "worker")->count, 3);
    assert_int_equal(find(fx->g, "main")->count, 1);
    assert_in_name_order(fx->g);
}

/* Names past the cap share one tally, whose name no thread can have; names already in the table
 * keep theirs. */
static void test_names_past_the_cap_go_to_the_overflow_name(void **state)
{
    struct fixture *fx = *state;
    const char *first[] = {"c", "a", "b"};
    scan_names(fx, first, 3, 3);
    const char *next[] = {"a", "d", "b", "e", "d", "c"};
    scan_names(fx, next, 6, 3);
    assert_int_equal(fx->g->nthreads, 4); /* the cap, and the overflow name */
    assert_int_equal(find(fx->g, "a")->count, 1);
    assert_int_equal(find(fx->g, "c")->count, 1);
    assert_null(find(fx->g, "d"));
    assert_int_equal(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW)->count, 3); /* d, e, d */
    assert_true(strlen(TRACKER_THREAD_NAME_OVERFLOW) > 15);                /* TASK_COMM_LEN - 1 */
    assert_in_name_order(fx->g);
}

/* The overflow tally is a name like the others: its counters grow, and its count is 0 (not
 * reported) in a scan that puts no thread there. */
static void test_overflow_counts_only_while_used(void **state)
{
    struct fixture *fx = *state;
    const char *names[] = {"a", "b", "c"};
    scan_names(fx, names, 3, 1);
    struct tracker_thread_name *o = groups_thread_name(fx->g, TRACKER_THREAD_NAME_OVERFLOW, 1);
    assert_int_equal(o->count, 2);
    o->counters.v[TRACKER_CPU_USER] += 7;
    scan_names(fx, names, 1, 1); /* only "a" */
    assert_int_equal(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW)->count, 0);
    assert_int_equal(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW)->counters.v[TRACKER_CPU_USER], 7);
    assert_int_equal(fx->g->nthreads, 2);
}

/* Names absent for longer than the TTL are forgotten, the overflow name too, and free their
 * places under the cap for new names. */
static void test_expired_names_free_their_places(void **state)
{
    struct fixture *fx = *state;
    const char *old[] = {"old1", "old2"};
    scan_names(fx, old, 2, 2);
    const char *churn[] = {"new1", "new2"};
    scan_names(fx, churn, 2, 2);
    assert_non_null(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW));
    assert_null(find(fx->g, "new1"));
    const char *none[] = {NULL};
    for (int i = 0; i < 7; i++) /* 700 ticks with no thread at all */
        scan_names(fx, none, 0, 2);
    assert_int_equal(fx->g->nthreads, 0);
    scan_names(fx, churn, 2, 2);
    assert_int_equal(fx->g->nthreads, 2);
    assert_int_equal(find(fx->g, "new1")->count, 1);
    assert_null(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW));
    /* Still seen within the TTL: kept. */
    for (int i = 0; i < 5; i++)
        scan_names(fx, churn, 1, 2); /* only new1 */
    assert_non_null(find(fx->g, "new2"));
    scan_names(fx, churn, 1, 2);
    scan_names(fx, churn, 1, 2);
    assert_null(find(fx->g, "new2"));
    assert_non_null(find(fx->g, "new1"));
}

/* 200,000 distinct names in one scan, as a process renaming its threads without end would give:
 * the table holds the cap and the overflow name, and every name kept is found again. (Each
 * insertion is constant time; the sorted array with a memmove per name that came before took
 * minutes here. How long is for bench/, not for a test.) */
static void test_many_names_in_constant_time_each(void **state)
{
    struct fixture *fx = *state;
    enum { MANY = 200000, CAP = 65536 };
    char name[16];
    groups_begin_scan(&fx->gs);
    for (unsigned i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "tn%u", i * 2654435761u);
        groups_thread_name(fx->g, name, CAP)->count++;
    }
    fx->now += 100;
    groups_end_scan(&fx->gs, false, fx->now, TTL);
    assert_int_equal(fx->g->nthreads, CAP + 1);
    assert_int_equal(find(fx->g, TRACKER_THREAD_NAME_OVERFLOW)->count, MANY - CAP);
    assert_in_name_order(fx->g);
    /* Found again through the index rebuilt in name order: no new entry. */
    for (unsigned i = 0; i < CAP; i += 97) {
        snprintf(name, sizeof(name), "tn%u", i * 2654435761u);
        assert_int_equal(groups_thread_name(fx->g, name, CAP)->count, 1);
    }
    assert_int_equal(fx->g->nthreads, CAP + 1);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_name_is_one_tally, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_past_the_cap_go_to_the_overflow_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overflow_counts_only_while_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_names_free_their_places, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_names_in_constant_time_each, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
