/* expo_write_families: family tables over row sets, in client_golang's order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <string.h>

#include "expo/family.h"

/* Rows of two labels, "b" and "d", sorted; each row has a value per kind. */
struct row {
    const char *b, *d;
    uint64_t value;
    bool present;
};

static const struct row rows[] = {
    {"b1", "d1", 10, true},
    {"b1", "d2", 20, true},
    {"b2", "d1", 300, false},
    {"b2", "d3", 40, true},
};

static const char *const names[] = {"b", "d"};

static void labels(void *ctx, size_t row, size_t from, size_t to, struct strbuf *out)
{
    const struct row *r = &((const struct row *)ctx)[row];
    const char *values[2] = {r->b, r->d};
    for (size_t i = from; i < to; i++)
        expo_label(out, names[i], values[i], strlen(values[i]));
}

static bool same_prefix(void *ctx, size_t a, size_t b, size_t n)
{
    const struct row *r = ctx;
    return n == 1 && strcmp(r[a].b, r[b].b) == 0;
}

enum { PLAIN = 1, SCALED, HIDDEN };

static bool value(void *ctx, size_t row, unsigned kind, unsigned index, struct expo_value *out)
{
    const struct row *r = &((const struct row *)ctx)[row];
    out->u64 = r->value * (index + 1);
    return kind != HIDDEN && (kind == SCALED || r->present);
}

static const char *render(const struct expo_family_def *def, unsigned enabled)
{
    static struct strbuf out;
    struct strbuf scratch = STRBUF_INIT;
    strbuf_reset(&out);
    struct expo_rows set = {(void *)rows, 4, names, 2, labels, same_prefix, value};
    struct expo_clock clock = {100, 1700000000};
    expo_write_families(&out, def, 1, &set, &clock, enabled, &scratch);
    strbuf_free(&scratch);
    return out.buf ? out.buf : "";
}

static void test_label_sorting_first_between_and_last(void **state)
{
    (void)state;
    /* "a" sorts before both row labels: series outermost. */
    struct expo_family_def first = {
        "m",
        EXPO_GAUGE,
        "h",
        0,
        0,
        "a",
        {{.label_value = "x", .kind = PLAIN}, {.label_value = "y", .kind = PLAIN, .index = 1}}};
    assert_string_equal(render(&first, 0), "# HELP m h\n# TYPE m gauge\n"
                                           "m{a=\"x\",b=\"b1\",d=\"d1\"} 10\n"
                                           "m{a=\"x\",b=\"b1\",d=\"d2\"} 20\n"
                                           "m{a=\"x\",b=\"b2\",d=\"d3\"} 40\n"
                                           "m{a=\"y\",b=\"b1\",d=\"d1\"} 20\n"
                                           "m{a=\"y\",b=\"b1\",d=\"d2\"} 40\n"
                                           "m{a=\"y\",b=\"b2\",d=\"d3\"} 80\n");
    /* "c" sorts between them: by b, then the series, then d. */
    struct expo_family_def between = first;
    between.label = "c";
    assert_string_equal(render(&between, 0), "# HELP m h\n# TYPE m gauge\n"
                                             "m{b=\"b1\",c=\"x\",d=\"d1\"} 10\n"
                                             "m{b=\"b1\",c=\"x\",d=\"d2\"} 20\n"
                                             "m{b=\"b1\",c=\"y\",d=\"d1\"} 20\n"
                                             "m{b=\"b1\",c=\"y\",d=\"d2\"} 40\n"
                                             "m{b=\"b2\",c=\"x\",d=\"d3\"} 40\n"
                                             "m{b=\"b2\",c=\"y\",d=\"d3\"} 80\n");
    /* "e" sorts last: by row, then the series. */
    struct expo_family_def last = first;
    last.label = "e";
    assert_string_equal(render(&last, 0), "# HELP m h\n# TYPE m gauge\n"
                                          "m{b=\"b1\",d=\"d1\",e=\"x\"} 10\n"
                                          "m{b=\"b1\",d=\"d1\",e=\"y\"} 20\n"
                                          "m{b=\"b1\",d=\"d2\",e=\"x\"} 20\n"
                                          "m{b=\"b1\",d=\"d2\",e=\"y\"} 40\n"
                                          "m{b=\"b2\",d=\"d3\",e=\"x\"} 40\n"
                                          "m{b=\"b2\",d=\"d3\",e=\"y\"} 80\n");
}

static void test_units_and_options(void **state)
{
    (void)state;
    struct expo_family_def ticks = {"t_seconds_total",
                                    EXPO_COUNTER,
                                    NULL,
                                    0,
                                    0,
                                    NULL,
                                    {{.kind = SCALED, .unit = EXPO_UNIT_TICKS}}};
    assert_string_equal(render(&ticks, 0), "# TYPE t_seconds_total counter\n"
                                           "t_seconds_total{b=\"b1\",d=\"d1\"} 0.1\n"
                                           "t_seconds_total{b=\"b1\",d=\"d2\"} 0.2\n"
                                           "t_seconds_total{b=\"b2\",d=\"d1\"} 3\n"
                                           "t_seconds_total{b=\"b2\",d=\"d3\"} 0.4\n");
    struct expo_family_def boot = {
        "s", EXPO_GAUGE, NULL, 0, 0, NULL, {{.kind = SCALED, .unit = EXPO_UNIT_BOOT_TICKS}}};
    assert_non_null(strstr(render(&boot, 0), "s{b=\"b2\",d=\"d1\"} 1.700000003e+09\n"));

    /* A family or a series whose option is off is left out; a row without a value too. */
    struct expo_family_def opt = {"o",
                                  EXPO_GAUGE,
                                  NULL,
                                  0,
                                  2,
                                  "k",
                                  {{.label_value = "on", .kind = PLAIN},
                                   {.label_value = "smaps", .kind = PLAIN, .needs = 1}}};
    assert_string_equal(render(&opt, 1), "");
    assert_string_equal(render(&opt, 2), "# TYPE o gauge\n"
                                         "o{b=\"b1\",d=\"d1\",k=\"on\"} 10\n"
                                         "o{b=\"b1\",d=\"d2\",k=\"on\"} 20\n"
                                         "o{b=\"b2\",d=\"d3\",k=\"on\"} 40\n");
    assert_non_null(strstr(render(&opt, 3), "o{b=\"b1\",d=\"d1\",k=\"smaps\"} 10\n"));
    struct expo_family_def none = {"n", EXPO_GAUGE, NULL, 0, 0, NULL, {{.kind = HIDDEN}}};
    assert_string_equal(render(&none, 0), "# TYPE n gauge\n");
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_sorting_first_between_and_last),
        cmocka_unit_test(test_units_and_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
