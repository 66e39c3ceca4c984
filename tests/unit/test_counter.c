/* tracker_delta and tracker_counters_advance: the one rule by which totals grow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <string.h>

#include "tracker/counter.h"

static void test_first_reading_is_a_baseline_unless_born_while_watched(void **state)
{
    (void)state;
    uint64_t last = 0;
    bool has = false;
    assert_int_equal(tracker_delta(&last, &has, 500, false, TRACKER_DROP_IGNORE), 0);
    assert_true(has);
    assert_int_equal(last, 500);
    assert_int_equal(tracker_delta(&last, &has, 530, false, TRACKER_DROP_IGNORE), 30);
    assert_int_equal(tracker_delta(&last, &has, 530, false, TRACKER_DROP_IGNORE), 0);

    has = false;
    assert_int_equal(tracker_delta(&last, &has, 70, true, TRACKER_DROP_IGNORE), 70);
    /* from_zero only matters without a baseline. */
    assert_int_equal(tracker_delta(&last, &has, 75, true, TRACKER_DROP_IGNORE), 5);
}

static void test_a_drop_counts_nothing_or_restarts(void **state)
{
    (void)state;
    uint64_t last = 1000;
    bool has = true;
    assert_int_equal(tracker_delta(&last, &has, 400, false, TRACKER_DROP_IGNORE), 0);
    assert_int_equal(last, 400); /* the lower reading is the new baseline: its growth counts */
    assert_int_equal(tracker_delta(&last, &has, 450, false, TRACKER_DROP_IGNORE), 50);

    /* A recreated tap or scope: what it counted since it was created is new. */
    assert_int_equal(tracker_delta(&last, &has, 20, false, TRACKER_DROP_RESTART), 20);
    assert_int_equal(tracker_delta(&last, &has, 25, false, TRACKER_DROP_RESTART), 5);
}

static void test_advance_moves_only_the_counters_read(void **state)
{
    (void)state;
    struct tracker_baseline base;
    memset(&base, 0, sizeof(base));
    struct tracker_counters group = {{0}}, thread = {{0}};
    struct tracker_counters *both[2] = {&group, &thread};
    uint64_t raw[TRACKER_COUNTER_COUNT] = {0};
    raw[TRACKER_CPU_USER] = 100;
    raw[TRACKER_READ_BYTES] = 4096;
    tracker_counters_advance(&base, raw, TRACKER_FROM_STAT, false, both, 2);
    assert_int_equal(base.has, TRACKER_FROM_STAT);
    assert_int_equal(group.v[TRACKER_CPU_USER], 0);

    raw[TRACKER_CPU_USER] = 130;
    raw[TRACKER_READ_BYTES] = 8192;
    tracker_counters_advance(&base, raw, TRACKER_FROM_STAT, false, both, 2);
    assert_int_equal(group.v[TRACKER_CPU_USER], 30);
    assert_int_equal(thread.v[TRACKER_CPU_USER], 30);
    /* io was not in `present`: no baseline, nothing counted. */
    assert_int_equal(group.v[TRACKER_READ_BYTES], 0);
    assert_false(base.has & TRACKER_BIT(TRACKER_READ_BYTES));

    /* io first read later, from a process born while watched: counted whole, once. */
    tracker_counters_advance(&base, raw, TRACKER_FROM_IO, true, both, 1);
    assert_int_equal(group.v[TRACKER_READ_BYTES], 8192);
    assert_int_equal(thread.v[TRACKER_READ_BYTES], 0);
    tracker_counters_advance(&base, raw, TRACKER_FROM_IO, true, both, 1);
    assert_int_equal(group.v[TRACKER_READ_BYTES], 8192);

    /* Reset: the next reading is a baseline again. */
    tracker_baseline_reset(&base, TRACKER_FROM_IO);
    raw[TRACKER_READ_BYTES] = 10000;
    tracker_counters_advance(&base, raw, TRACKER_FROM_IO, false, both, 1);
    assert_int_equal(group.v[TRACKER_READ_BYTES], 8192);
}

static void test_totals_saturate_instead_of_wrapping(void **state)
{
    (void)state;
    struct tracker_baseline base;
    memset(&base, 0, sizeof(base));
    struct tracker_counters total = {{0}};
    total.v[TRACKER_MINOR_FAULTS] = UINT64_MAX - 5;
    struct tracker_counters *totals[1] = {&total};
    uint64_t raw[TRACKER_COUNTER_COUNT] = {0};
    raw[TRACKER_MINOR_FAULTS] = 10;
    tracker_counters_advance(&base, raw, TRACKER_FROM_STAT, true, totals, 1);
    assert_true(total.v[TRACKER_MINOR_FAULTS] == UINT64_MAX);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_reading_is_a_baseline_unless_born_while_watched),
        cmocka_unit_test(test_a_drop_counts_nothing_or_restarts),
        cmocka_unit_test(test_advance_moves_only_the_counters_read),
        cmocka_unit_test(test_totals_saturate_instead_of_wrapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
