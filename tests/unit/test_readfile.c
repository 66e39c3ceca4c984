/* Bounded whole-file reads: regular files, files that do not report a size, and errors; the
 * primitive under them (readfile_at) and the directory lister (readdir_at). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- readfile_at and readdir_at: the one reader under all of the above ---- */

static void test_read_at_is_bounded_and_cuts_on_request(void **state)
{
    (void)state;
    char path[64];
    struct strbuf sb = STRBUF_INIT;
    write_temp(path, "12345", 5);

    assert_int_equal(readfile_at(AT_FDCWD, path, 4, 0, &sb), -EFBIG);
    assert_int_equal(sb.len, 0);
    assert_true(sb.cap <= 64); /* grown only as far as the bound lets the file go */
    strbuf_puts(&sb, "kept");
    assert_int_equal(readfile_at(AT_FDCWD, path, 4, 0, &sb), -EFBIG);
    assert_string_equal(strbuf_str(&sb), "kept"); /* a refused file appends nothing */
    assert_int_equal(readfile_at(AT_FDCWD, path, 4, READFILE_CUT, &sb), 4);
    assert_string_equal(strbuf_str(&sb), "kept1234");
    assert_int_equal(readfile_at(AT_FDCWD, path, 5, 0, &sb), 5);
    assert_string_equal(strbuf_str(&sb), "kept123412345");

    /* Relative to a directory fd, as the procfs reader opens everything under its root. */
    int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    strbuf_reset(&sb);
    assert_int_equal(readfile_at(dirfd, path + strlen("/tmp/"), 100, 0, &sb), 5);
    assert_string_equal(sb.buf, "12345");
    assert_int_equal(readfile_at(dirfd, "pt-readfile-missing", 100, 0, &sb), -ENOENT);
    assert_int_equal(sb.len, 5);
    close(dirfd);
    unlink(path);
    strbuf_free(&sb);
}

static void test_read_at_grows_past_the_buffer_and_keeps_it(void **state)
{
    (void)state;
    char path[64];
    size_t big = 300 * 1000 + 7;
    char *content = malloc(big);
    assert_non_null(content);
    for (size_t i = 0; i < big; i++)
        content[i] = (char)('a' + i % 26);
    write_temp(path, content, big);

    struct strbuf sb = STRBUF_INIT;
    strbuf_reserve(&sb, 100); /* far smaller than the file */
    assert_int_equal(readfile_at(AT_FDCWD, path, 1u << 20, 0, &sb), (ssize_t)big);
    assert_int_equal(sb.len, big);
    assert_memory_equal(sb.buf, content, big);
    assert_int_equal(sb.buf[big], '\0');
    size_t cap = sb.cap;
    assert_true(cap > big && cap <= 2 * (big + 1));

    /* The next, smaller file reuses the grown buffer: no allocation, no shrinking. */
    char small[64];
    write_temp(small, "cpu 1\n", 6);
    strbuf_reset(&sb);
    char *before = sb.buf;
    assert_int_equal(readfile_at(AT_FDCWD, small, 1u << 20, READFILE_ONE_RECORD, &sb), 6);
    assert_string_equal(sb.buf, "cpu 1\n");
    assert_ptr_equal(sb.buf, before);
    assert_int_equal(sb.cap, cap);

    /* A bound below the file's size refuses it even with a buffer large enough to hold it. */
    strbuf_reset(&sb);
    assert_int_equal(readfile_at(AT_FDCWD, path, big - 1, 0, &sb), -EFBIG);
    assert_int_equal(readfile_at(AT_FDCWD, path, big - 1, READFILE_CUT, &sb), (ssize_t)(big - 1));
    assert_memory_equal(sb.buf, content, big - 1);
    unlink(small);
    unlink(path);
    free(content);
    strbuf_free(&sb);
}

struct listing {
    char names[8][32];
    unsigned char types[8];
    size_t n;
};

static void collect(void *arg, const char *name, unsigned char type)
{
    struct listing *l = arg;
    assert_true(l->n < 8);
    snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
    l->types[l->n++] = type;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_readdir_lists_entries_without_dots(void **state)
{
    (void)state;
    char dir[] = "/tmp/pt-readdir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char *const names[] = {"tap100i0", "lo", "42"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    /* A buffer smaller than the directory: getdents64 is called until it returns 0. */
    char dents[64];
    struct listing l = {0};
    assert_int_equal(readdir_at(AT_FDCWD, dir, dents, sizeof(dents), collect, &l), 0);
    assert_int_equal(l.n, 4);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.names[i], "sub") == 0)
            assert_true(l.types[i] == DT_DIR || l.types[i] == DT_UNKNOWN);
    qsort(l.names, l.n, sizeof(l.names[0]), by_name);
    assert_string_equal(l.names[0], "42");
    assert_string_equal(l.names[1], "lo");
    assert_string_equal(l.names[2], "sub");
    assert_string_equal(l.names[3], "tap100i0");

    char big[4096];
    l.n = 0;
    assert_int_equal(readdir_at(AT_FDCWD, "/nonexistent/pt-readdir", big, sizeof(big), collect, &l),
                     -ENOENT);
    snprintf(path, sizeof(path), "%s/lo", dir);
    assert_int_equal(readdir_at(AT_FDCWD, path, big, sizeof(big), collect, &l), -ENOTDIR);
    assert_int_equal(l.n, 0);

    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_files),
        cmocka_unit_test(test_bounds_and_errors),
        cmocka_unit_test(test_read_at_is_bounded_and_cuts_on_request),
        cmocka_unit_test(test_read_at_grows_past_the_buffer_and_keeps_it),
        cmocka_unit_test(test_readdir_lists_entries_without_dots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
