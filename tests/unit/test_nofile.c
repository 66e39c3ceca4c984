/* RLIMIT_NOFILE at start-up: what is free under the soft limit, and raising it to the hard one.
 * Each case runs in a child, which may lower its own hard limit for good. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/nofile.h"

#define RESULT_FD 200 /* above every soft limit below: it must not count */

/* In a child: descriptors 0 .. open_fds-1 open and no other below RESULT_FD, limits soft/hard,
 * then nofile_make_room(want). The status comes back through a pipe. */
static struct nofile_status run(unsigned open_fds, rlim_t soft, rlim_t hard, uint64_t want)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(p[1], RESULT_FD) != RESULT_FD)
            _exit(10);
        for (int fd = 0; fd < RESULT_FD; fd++)
            close(fd);
        for (unsigned i = 0; i < open_fds; i++)
            if (open("/dev/null", O_RDONLY) != (int)i)
                _exit(11);
        struct rlimit rl = {soft, hard};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(12);
        struct nofile_status st;
        if (nofile_make_room(want, &st) != 0)
            _exit(13);
        if (write(RESULT_FD, &st, sizeof(st)) != (ssize_t)sizeof(st))
            _exit(14);
        _exit(0);
    }
    close(p[1]);
    struct nofile_status st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(read(p[0], &st, sizeof(st)), sizeof(st));
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return st;
}

static void test_enough_free_leaves_the_limit_alone(void **state)
{
    (void)state;
    struct nofile_status st = run(3, 64, 128, 20);
    assert_int_equal(st.limit, 64);
    assert_int_equal(st.hard, 128);
    assert_int_equal(st.raised_from, 0);
    assert_int_equal(st.free, 20); /* counted up to what was asked */
}

static void test_too_few_free_raises_the_soft_limit_to_the_hard_one(void **state)
{
    (void)state;
    struct nofile_status st = run(3, 16, 96, 40);
    assert_int_equal(st.raised_from, 16);
    assert_int_equal(st.limit, 96);
    assert_int_equal(st.free, 40);
}

/* What `ulimit -n 6` gives: three free, nothing to raise to, and the numbers that say which limit
 * would do. A descriptor open above the limit (RESULT_FD) takes nothing from below it. */
static void test_at_the_hard_limit_says_what_is_free_and_in_use(void **state)
{
    (void)state;
    struct nofile_status st = run(3, 6, 6, 24);
    assert_int_equal(st.limit, 6);
    assert_int_equal(st.raised_from, 0);
    assert_int_equal(st.free, 3);
    assert_int_equal(st.in_use, 3);
    st = run(9, 16, 16, 24);
    assert_int_equal(st.free, 7);
    assert_int_equal(st.in_use, 9);
}

static void test_raised_but_still_short(void **state)
{
    (void)state;
    struct nofile_status st = run(4, 8, 20, 100);
    assert_int_equal(st.raised_from, 8);
    assert_int_equal(st.limit, 20);
    assert_int_equal(st.free, 16);
    assert_int_equal(st.in_use, 4);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enough_free_leaves_the_limit_alone),
        cmocka_unit_test(test_too_few_free_raises_the_soft_limit_to_the_hard_one),
        cmocka_unit_test(test_at_the_hard_limit_says_what_is_free_and_in_use),
        cmocka_unit_test(test_raised_but_still_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
