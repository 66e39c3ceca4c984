/* Bounded whole-file reads: regular files, files that do not report a size, and errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/readfile.h"

static void write_temp(char *path, const char *content, size_t len)
{
    strcpy(path, "/tmp/pt-readfile-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static void test_reads_whole_files(void **state)
{
    (void)state;
    char path[64];
    struct strbuf sb = STRBUF_INIT;

    write_temp(path, "", 0);
    assert_int_equal(read_file(path, 10, &sb), 0);
    assert_int_equal(sb.len, 0);
    assert_string_equal(strbuf_str(&sb), ""); /* NUL-terminated even when empty */
    unlink(path);

    write_temp(path, "a\0b\n", 4);
    assert_int_equal(read_file(path, 4, &sb), 0); /* exactly the bound */
    assert_int_equal(sb.len, 4);
    assert_memory_equal(sb.buf, "a\0b\n", 5);
    unlink(path);
    strbuf_free(&sb);
}

static void test_bounds_and_errors(void **state)
{
    (void)state;
    char path[64];
    struct strbuf sb = STRBUF_INIT;

    write_temp(path, "12345", 5);
    assert_int_equal(read_file(path, 4, &sb), -EFBIG); /* refused from its size */
    unlink(path);

    /* /proc files report size 0: the bound applies while reading. */
    strbuf_reset(&sb);
    assert_int_equal(read_file("/proc/self/maps", 16, &sb), -EFBIG);
    strbuf_reset(&sb);
    assert_int_equal(read_file("/proc/self/maps", 1 << 20, &sb), 0);
    assert_true(sb.len > 16);
    assert_int_equal(strlen(sb.buf), sb.len);

    assert_int_equal(read_file("/nonexistent/pt-readfile", 10, &sb), -ENOENT);
    assert_int_equal(read_file("/tmp", 10, &sb), -EISDIR);
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_files),
        cmocka_unit_test(test_bounds_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
