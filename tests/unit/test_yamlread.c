/* The YAML event reader under the config loaders: positions, limits, keys and scalar types. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdlib.h>
#include <string.h>

#include "util/yamlread.h"

static char err[512];

/* Reads up to the start of the top-level collection. */
static void open_doc(struct yamlread *yr, const char *yaml, unsigned max_depth)
{
    assert_int_equal(yamlread_init(yr, "t.yml", yaml, strlen(yaml), max_depth, err, sizeof(err)),
                     0);
    for (int i = 0; i < 3; i++) /* stream start, document start, collection start */
        assert_int_equal(yamlread_next(yr), 0);
}

/* Reads every event to the end; returns 0 or the first error. */
static int read_all(const char *yaml, unsigned max_depth)
{
    struct yamlread yr;
    int rc = yamlread_init(&yr, "t.yml", yaml, strlen(yaml), max_depth, err, sizeof(err));
    while (rc == 0 && yr.event.type != YAML_STREAM_END_EVENT)
        rc = yamlread_next(&yr);
    yamlread_end(&yr);
    return rc;
}

static void test_syntax_errors_say_where(void **state)
{
    (void)state;
    assert_int_equal(read_all("a: [1, 2\nb: c\n", 8), -1);
    assert_string_equal(err, "t.yml:2:2: did not find expected ',' or ']' (while parsing a flow "
                             "sequence at line 1, column 4)");
    /* libyaml's reader gives a byte offset; the column counts characters, as the scanner does. */
    assert_int_equal(read_all("x: 1\n\xc3\xa9\xc3\xa9: \xff\n", 8), -1);
    assert_string_equal(err, "t.yml:2:5: invalid leading UTF-8 octet (byte 0xFF)");
}

static void test_limits_aliases_and_tags(void **state)
{
    (void)state;
    assert_int_equal(read_all("a: {b: {c: d}}\n", 3), 0);
    assert_int_equal(read_all("a: {b: {c: [d]}}\n", 3), -1);
    assert_string_equal(err, "t.yml:1:12: nesting deeper than 3 levels");
    assert_int_equal(read_all("a: &x 1\nb: *x\n", 8), -1);
    assert_string_equal(err, "t.yml:2:4: YAML aliases are not supported (*x)");
    assert_int_equal(read_all("a: !!int 1\nb: !!str x\nc: ! y\nd: !!seq [1]\ne: !!null\n", 8), 0);
    assert_int_equal(read_all("a: !!binary aGk=\n", 8), -1);
    assert_string_equal(err, "t.yml:1:4: unsupported YAML tag \"tag:yaml.org,2002:binary\" on "
                             "a string");
    assert_int_equal(read_all("a: !local [1]\n", 8), -1);
    assert_string_equal(err, "t.yml:1:4: unsupported YAML tag \"!local\" on a sequence");
}

static void test_keys_values_and_nulls(void **state)
{
    (void)state;
    struct yamlread yr;
    struct yamlread_keys seen = {0};
    yaml_mark_t mark;
    char *s = NULL;
    bool b = false;
    open_doc(&yr,
             "str: 'x y'\nempty: ''\nnone: ~\nquoted: 'null'\nflag: off\nmap: {}\nstr: again\n", 8);
    assert_int_equal(yr.event.type, YAML_MAPPING_START_EVENT);
    assert_int_equal(yr.depth, 1);

    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_string_equal(yamlread_last_key(&seen), "str");
    assert_int_equal(yamlread_string(&yr, "str", false, &s, &mark), 0);
    assert_string_equal(s, "x y");
    assert_int_equal(mark.line, 0);
    assert_int_equal(mark.column, 5);
    free(s);
    s = NULL;

    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_string(&yr, "empty", false, &s, &mark), 0);
    assert_null(s);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_string(&yr, "none", true, &s, &mark), 0);
    assert_null(s);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_string(&yr, "quoted", true, &s, &mark), 0);
    assert_string_equal(s, "null"); /* quoted: a string, not YAML's null */
    free(s);

    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    b = true;
    assert_int_equal(yamlread_bool(&yr, "flag", &b), 0);
    assert_false(b);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_mapping_start(&yr, "map"), 1);
    assert_int_equal(yamlread_next(&yr), 0);
    assert_int_equal(yr.event.type, YAML_MAPPING_END_EVENT);

    assert_int_equal(yamlread_next_key(&yr, &seen), -1);
    assert_string_equal(err, "t.yml:7:1: duplicate key \"str\"");
    yamlread_keys_free(&seen);
    yamlread_end(&yr);
}

static void test_type_errors(void **state)
{
    (void)state;
    struct yamlread yr;
    char *s = NULL;
    bool b;
    yaml_mark_t mark;

    open_doc(&yr, "[a, [b], 'yes', {c: d}]\n", 8);
    assert_int_equal(yamlread_string(&yr, "k", false, &s, &mark), 0);
    assert_string_equal(s, "a");
    free(s);
    s = NULL;
    assert_int_equal(yamlread_string(&yr, "k", false, &s, &mark), -1);
    assert_string_equal(err, "t.yml:1:5: \"k\" must be a string, not a sequence");
    assert_null(s);
    yamlread_end(&yr);

    open_doc(&yr, "['yes', {c: d}, [x]]\n", 8);
    assert_int_equal(yamlread_bool(&yr, "b", &b), -1);
    assert_string_equal(err, "t.yml:1:2: \"b\" must be true or false, not \"yes\"");
    assert_int_equal(yamlread_bool(&yr, "b", &b), -1);
    assert_string_equal(err, "t.yml:1:9: \"b\" must be true or false, not a mapping");
    yamlread_end(&yr);

    open_doc(&yr, "[x]\n", 8);
    assert_int_equal(yamlread_mapping_start(&yr, "m"), -1);
    assert_string_equal(err, "t.yml:1:2: \"m\" must be a mapping, not a string");
    yamlread_end(&yr);

    struct yamlread_keys seen = {0};
    open_doc(&yr, "{[a]: b}\n", 8);
    assert_int_equal(yamlread_next_key(&yr, &seen), -1);
    assert_string_equal(err, "t.yml:1:2: mapping keys must be strings, not a sequence");
    yamlread_keys_free(&seen);
    yamlread_end(&yr);
}

static void test_skip_and_sequences(void **state)
{
    (void)state;
    struct yamlread yr;
    struct yamlread_keys seen = {0};
    open_doc(&yr, "a: {b: [1, {c: [2]}], d: e}\nf: scalar\ng: [x, y]\nh: ~\ni: {}\n", 8);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_skip(&yr), 0); /* a nested value, skipped whole */
    assert_int_equal(yr.depth, 1);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_string_equal(yamlread_last_key(&seen), "f");
    assert_int_equal(yamlread_skip(&yr), 0); /* a scalar */
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_string_equal(yamlread_last_key(&seen), "g");
    assert_int_equal(yamlread_sequence_start(&yr, "g", "of strings"), 1);
    assert_int_equal(yr.depth, 2);
    assert_int_equal(yamlread_skip(&yr), 0);
    assert_int_equal(yamlread_skip(&yr), 0);
    assert_int_equal(yamlread_next(&yr), 0);
    assert_int_equal(yr.event.type, YAML_SEQUENCE_END_EVENT);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_sequence_start(&yr, "h", ""), 0); /* null: absent */
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_sequence_start(&yr, "i", "of strings"), -1);
    assert_string_equal(err, "t.yml:5:4: \"i\" must be a sequence of strings, not a mapping");
    yamlread_keys_free(&seen);
    yamlread_end(&yr);

    open_doc(&yr, "[x]\n", 8);
    assert_int_equal(yamlread_sequence_start(&yr, "s", ""), -1);
    assert_string_equal(err, "t.yml:1:2: \"s\" must be a sequence, not a string");
    yamlread_end(&yr);

    /* A skipped value still has its nesting bounded. */
    open_doc(&yr, "k: [[[[x]]]]\n", 3);
    assert_int_equal(yamlread_next_key(&yr, &seen), 1);
    assert_int_equal(yamlread_skip(&yr), -1);
    assert_string_equal(err, "t.yml:1:6: nesting deeper than 3 levels");
    yamlread_keys_free(&seen);
    yamlread_end(&yr);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_errors_say_where),
        cmocka_unit_test(test_limits_aliases_and_tags),
        cmocka_unit_test(test_keys_values_and_nulls),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_skip_and_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
