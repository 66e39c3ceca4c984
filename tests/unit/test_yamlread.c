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

struct text {
    char buf[2048];
    size_t used;
};

static void put(struct text *t, const char *s)
{
    t->used += (size_t)snprintf(t->buf + t->used, sizeof(t->buf) - t->used, "%s", s);
}

/* Writes the value whose first event is current: mappings read with yamlread_next_key, so that
 * merges apply, as {k=v,...}; sequences as [v,...]. */
static int write_value(struct yamlread *yr, struct text *t)
{
    int rc = 0;
    if (yr->event.type == YAML_SCALAR_EVENT) {
        put(t, (const char *)yr->event.data.scalar.value);
    } else if (yr->event.type == YAML_SEQUENCE_START_EVENT) {
        put(t, "[");
        while ((rc = yamlread_next(yr)) == 0 && yr->event.type != YAML_SEQUENCE_END_EVENT) {
            if ((rc = write_value(yr, t)) != 0)
                break;
            put(t, ",");
        }
        put(t, "]");
    } else if (yr->event.type == YAML_MAPPING_START_EVENT) {
        struct yamlread_keys seen = {0};
        put(t, "{");
        while ((rc = yamlread_next_key(yr, &seen)) == 1) {
            put(t, yamlread_last_key(&seen));
            put(t, "=");
            if ((rc = yamlread_next(yr)) != 0 || (rc = write_value(yr, t)) != 0)
                break;
            put(t, ",");
        }
        put(t, "}");
        yamlread_keys_free(&seen);
    }
    return rc < 0 ? -1 : 0;
}

/* The document's top-level value, aliases and merges expanded. */
static int scalars(const char *yaml, char *out, size_t outlen)
{
    struct yamlread yr;
    struct text t = {.used = 0};
    t.buf[0] = '\0';
    open_doc(&yr, yaml, 8);
    int rc = write_value(&yr, &t);
    yamlread_end(&yr);
    snprintf(out, outlen, "%s", t.buf);
    return rc;
}

static void test_limits_aliases_and_tags(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(read_all("a: {b: {c: d}}\n", 3), 0);
    assert_int_equal(read_all("a: {b: {c: [d]}}\n", 3), -1);
    assert_string_equal(err, "t.yml:1:12: nesting deeper than 3 levels");
    /* An alias replays its anchor's events, nesting included. */
    assert_int_equal(scalars("a: &x 1\nb: *x\nc: &y [p, {q: r}]\nd: *y\n", out, sizeof(out)), 0);
    assert_string_equal(out, "{a=1,b=1,c=[p,{q=r,},],d=[p,{q=r,},],}");
    assert_int_equal(read_all("a: &x [[[1]]]\nb: [[*x]]\n", 4), -1);
    assert_string_equal(err, "t.yml:1:8: nesting deeper than 4 levels");
    assert_int_equal(read_all("a: *x\n", 8), -1);
    assert_string_equal(err, "t.yml:1:4: unknown anchor 'x' referenced");
    assert_int_equal(read_all("a: !!int 1\nb: !!str x\nc: ! y\nd: !!seq [1]\ne: !!null\n", 8), 0);
    assert_int_equal(read_all("a: !local [1]\nb: !!set {}\n", 8), 0);
    /* !!binary reads decoded. */
    assert_int_equal(scalars("a: !!binary aGk=\nb: !!binary |\n  aGVs\n  bG8=\n", out, sizeof(out)),
                     0);
    assert_string_equal(out, "{a=hi,b=hello,}");
    assert_int_equal(read_all("a: !!binary aGk\n", 8), -1);
    assert_string_equal(err, "t.yml:1:4: !!binary value is not valid base64");
    assert_int_equal(read_all("a: !!int 0x1F\nb: !!int -0b101\nc: !!int 1_000\nd: !!float .5\n"
                              "e: !!float -.inf\nf: !!float 7\ng: !!bool n\n",
                              8),
                     0);
    assert_int_equal(read_all("a: !!int 1.5\n", 8), -1);
    assert_string_equal(err, "t.yml:1:4: \"1.5\" is not a valid !!int");
}

static void test_merge_keys_splice_the_merged_mappings_in(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(scalars("a: &a {x: 1, y: 2}\nb: {<<: *a, z: 3}\n", out, sizeof(out)), 0);
    assert_string_equal(out, "{a={x=1,y=2,},b={x=1,y=2,z=3,},}");
    /* In a list, the later mapping's keys come first, so that an earlier one overwrites. */
    assert_int_equal(
        scalars("a: &a {x: 1}\nb: &b {x: 2}\nc: {<<: [*a, *b, {x: 3}]}\n", out, sizeof(out)), 0);
    assert_string_equal(out, "{a={x=1,},b={x=2,},c={x=3,x=2,x=1,},}");
    assert_int_equal(scalars("c: {<<: {<<: {x: 1}, y: 2}}\n", out, sizeof(out)), 0);
    assert_string_equal(out, "{c={x=1,y=2,},}");
    assert_int_equal(scalars("a: &a {<<: *a}\n", out, sizeof(out)), -1);
    assert_string_equal(err, "t.yml:1:12: anchor 'a' value contains itself");
}

/* Past the anchor table's first growth, every alias still finds its anchor's latest definition. */
static void test_many_anchors(void **state)
{
    (void)state;
    char yaml[8192], want[4096];
    size_t len = 0, wlen = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "a%d: &x%d v%d\n", i, i, i);
    len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "r: &x7 again\nb: [");
    wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, "r=again,b=[");
    for (int i = 99; i >= 0; i--) {
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "*x%d,", i);
        wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, i == 7 ? "again," : "v%d,", i);
    }
    snprintf(yaml + len, sizeof(yaml) - len, "]\n");
    snprintf(want + wlen, sizeof(want) - wlen, "],}");
    char out[4096];
    struct yamlread yr;
    struct yamlread_keys seen = {0};
    open_doc(&yr, yaml, 8);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(yamlread_next_key(&yr, &seen), 1);
        assert_int_equal(yamlread_skip(&yr), 0);
    }
    yamlread_keys_free(&seen);
    struct text t = {.used = 0};
    t.buf[0] = '\0';
    /* The rest of the top mapping: r and b. */
    yr.event.type = YAML_MAPPING_START_EVENT;
    assert_int_equal(write_value(&yr, &t), 0);
    yamlread_end(&yr);
    snprintf(out, sizeof(out), "%s", t.buf + 1);
    assert_string_equal(out, want);
}

static void test_strict_keys_refuse_a_key_twice_in_one_mapping(void **state)
{
    (void)state;
    struct yamlread yr;
    struct yamlread_keys seen = {0};
    /* The merged x is another mapping's key: yaml.v2's UnmarshalStrict accepts it. */
    open_doc(&yr, "a: &a {x: 1}\n<<: *a\nx: 2\nx: 3\n", 8);
    yr.strict_keys = true;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(yamlread_next_key(&yr, &seen), 1);
        assert_int_equal(yamlread_skip(&yr), 0);
    }
    assert_int_equal(yamlread_next_key(&yr, &seen), -1);
    assert_string_equal(err, "t.yml:4:1: duplicate key \"x\"");
    yamlread_keys_free(&seen);
    yamlread_end(&yr);
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
    yr.strict_keys = true;
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
        cmocka_unit_test(test_merge_keys_splice_the_merged_mappings_in),
        cmocka_unit_test(test_strict_keys_refuse_a_key_twice_in_one_mapping),
        cmocka_unit_test(test_many_anchors),
        cmocka_unit_test(test_keys_values_and_nulls),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_skip_and_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
