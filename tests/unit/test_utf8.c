/* UTF-8 validation and the escaping that keeps names and command lines on one line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <string.h>

#include "util/utf8.h"

static void check_printable(const char *in, size_t n, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_puts(&sb, "<");
    utf8_put_printable(&sb, in, n);
    assert_string_equal(strbuf_str(&sb) + 1, want);
    strbuf_free(&sb);
}

#define PRINTABLE(in, want) check_printable(in, sizeof(in) - 1, want)

static void test_printable_text_is_copied(void **state)
{
    (void)state;
    PRINTABLE("", "");
    PRINTABLE("qemu-system-x86_64 -id 100", "qemu-system-x86_64 -id 100");
    PRINTABLE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 \xc2\xa0",
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 \xc2\xa0");
}

static void test_controls_and_backslash_are_escaped(void **state)
{
    (void)state;
    PRINTABLE("a\nb\rc\td\\e", "a\\nb\\rc\\td\\\\e");
    PRINTABLE("\x1b[2J\x7f\x01", "\\x1b[2J\\x7f\\x01");
    /* C1 controls are valid UTF-8 but a terminal obeys them (U+009B is CSI). */
    PRINTABLE("x\xc2\x9b"
              "1m\xc2\x85",
              "x\\xc2\\x9b1m\\xc2\\x85");
    /* An embedded NUL within n is escaped, not a terminator. */
    PRINTABLE("a\0b", "a\\x00b");
}

static void test_malformed_bytes_are_escaped_one_by_one(void **state)
{
    (void)state;
    PRINTABLE("\xff", "\\xff");
    PRINTABLE("\xc0\xaf", "\\xc0\\xaf");          /* overlong '/' */
    PRINTABLE("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
    PRINTABLE("\xe2\x82", "\\xe2\\x82");          /* cut short at the end */
    PRINTABLE("\xe2\x82z", "\\xe2\\x82z");
    PRINTABLE("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
}

static void test_sequence_lengths(void **state)
{
    (void)state;
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x9f\xbf", 3), 0);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x9f\x90\xa7", 4), 4);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\x80", 1), 0);
}

static void test_counting_and_cutting_respect_characters(void **state)
{
    (void)state;
    const char *s = "\xc3\xa9t\xc3\xa9"; /* été: 3 characters, 5 bytes */
    assert_int_equal(utf8_count(s, 5), 3);
    assert_int_equal(utf8_prefix(s, 5, 0), 0);
    assert_int_equal(utf8_prefix(s, 5, 1), 2);
    assert_int_equal(utf8_prefix(s, 5, 2), 3);
    assert_int_equal(utf8_prefix(s, 5, 3), 5);
    assert_int_equal(utf8_prefix(s, 5, 9), 5);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_text_is_copied),
        cmocka_unit_test(test_controls_and_backslash_are_escaped),
        cmocka_unit_test(test_malformed_bytes_are_escaped_one_by_one),
        cmocka_unit_test(test_sequence_lengths),
        cmocka_unit_test(test_counting_and_cutting_respect_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
