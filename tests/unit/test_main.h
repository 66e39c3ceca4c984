/* Shared by the unit test programs: an optional argument selects tests by name, with cmocka's
 * filter (`*` and `?` wildcards), e.g.
 *     build/tests/test_tracker 'test_counter_*'
 * Include after <cmocka.h>. */
#ifndef PROCTRACK_TESTS_UNIT_TEST_MAIN_H
#define PROCTRACK_TESTS_UNIT_TEST_MAIN_H

static inline void test_filter_from_args(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
}

#endif /* PROCTRACK_TESTS_UNIT_TEST_MAIN_H */
