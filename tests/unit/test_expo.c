#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "expo/expo.h"

#define FFFD "\xEF\xBF\xBD"

static const char *label_of(struct strbuf *sb, const char *value, size_t len)
{
    strbuf_reset(sb);
    expo_label(sb, "l", value, len);
    return strbuf_str(sb);
}

static void test_family_escapes_backslash_and_newline_in_help(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    expo_family(&sb, "x_total", EXPO_COUNTER, "a \\ b\nc \"q\" {}#");
    assert_string_equal(strbuf_str(&sb), "# HELP x_total a \\\\ b\\nc \"q\" {}#\n"
                                         "# TYPE x_total counter\n");
    strbuf_free(&sb);
}

static void test_family_type_names(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    expo_family(&sb, "g", EXPO_GAUGE, "G.");
    expo_family(&sb, "u", EXPO_UNTYPED, NULL);
    assert_string_equal(strbuf_str(&sb), "# HELP g G.\n# TYPE g gauge\n# TYPE u untyped\n");
    strbuf_free(&sb);
}

static void test_label_escapes_quote_backslash_newline(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    const char v[] = "a\"b\\c\nd";
    assert_string_equal(label_of(&sb, v, sizeof(v) - 1), "l=\"a\\\"b\\\\c\\nd\"");
    assert_string_equal(label_of(&sb, "\\\\\"\n", 4), "l=\"\\\\\\\\\\\"\\n\"");
    assert_string_equal(label_of(&sb, "", 0), "l=\"\"");
    strbuf_free(&sb);
}

static void test_label_passes_braces_hash_and_controls(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    const char v[] = "{a=b,c}# \t\r\x01\x7f";
    assert_string_equal(label_of(&sb, v, sizeof(v) - 1), "l=\"{a=b,c}# \t\r\x01\x7f\"");
    strbuf_free(&sb);
}

static void test_label_prepends_comma_to_nonempty_buffer(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    expo_label(&sb, "groupname", "nginx", 5);
    expo_label(&sb, "threadname", "worker", 6);
    assert_string_equal(strbuf_str(&sb), "groupname=\"nginx\",threadname=\"worker\"");
    strbuf_free(&sb);
}

static void test_label_uses_only_value_len_bytes(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_string_equal(label_of(&sb, "abcdef", 3), "l=\"abc\"");
    strbuf_free(&sb);
}

static void test_label_keeps_valid_multibyte(void **state)
{
    (void)state;
    static const char *valid[] = {
        "\xC2\x80",         /* U+0080, smallest 2-byte */
        "caf\xC3\xA9",      /* é */
        "\xDF\xBF",         /* U+07FF */
        "\xE0\xA0\x80",     /* U+0800, smallest 3-byte */
        "\xE2\x82\xAC",     /* € */
        "\xED\x9F\xBF",     /* U+D7FF, just below the surrogates */
        "\xEE\x80\x80",     /* U+E000, just above them */
        "\xEF\xBF\xBD",     /* U+FFFD itself */
        "\xEF\xBF\xBF",     /* U+FFFF */
        "\xF0\x90\x80\x80", /* U+10000, smallest 4-byte */
        "\xF0\x9F\x98\x80", /* 😀 */
        "\xF4\x8F\xBF\xBF", /* U+10FFFF, the last code point */
        "\xE6\x97\xA5\xE6\x9C\xAC qemu \xD0\xB2\xD0\xBC",
    };
    struct strbuf sb = STRBUF_INIT;
    struct strbuf want = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        strbuf_reset(&want);
        strbuf_printf(&want, "l=\"%s\"", valid[i]);
        assert_string_equal(label_of(&sb, valid[i], strlen(valid[i])), strbuf_str(&want));
    }
    strbuf_free(&sb);
    strbuf_free(&want);
}

static void test_label_replaces_each_invalid_byte(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"\x80", 1, FFFD}, /* lone continuation */
        {"a\xBF"
         "b",
         3, "a" FFFD "b"}, /* lone continuation inside text */
        {"\xC3", 1, FFFD}, /* truncated 2-byte at the end */
        {"\xC3"
         "A",
         2, FFFD "A"},              /* 2-byte lead without continuation */
        {"\xE2\x82", 2, FFFD FFFD}, /* truncated 3-byte */
        {"\xE2\x82"
         "x",
         3, FFFD FFFD "x"},                           /* truncated 3-byte inside text */
        {"\xF0\x9F\x98", 3, FFFD FFFD FFFD},          /* truncated 4-byte */
        {"\xC0\xAF", 2, FFFD FFFD},                   /* overlong '/' */
        {"\xC1\xBF", 2, FFFD FFFD},                   /* overlong */
        {"\xE0\x80\xAF", 3, FFFD FFFD FFFD},          /* overlong 3-byte */
        {"\xF0\x80\x80\xAF", 4, FFFD FFFD FFFD FFFD}, /* overlong 4-byte */
        {"\xED\xA0\x80", 3, FFFD FFFD FFFD},          /* surrogate U+D800 */
        {"\xED\xBF\xBF", 3, FFFD FFFD FFFD},          /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* U+110000 */
        {"\xF5\x80\x80\x80", 4, FFFD FFFD FFFD FFFD},
        {"\xF8", 1, FFFD},
        {"\xFE\xFF", 2, FFFD FFFD},
        {"\xFF"
         "\"",
         2, FFFD "\\\""},
        {"\xC3\xA9\xA9", 3, "\xC3\xA9" FFFD}, /* valid é then a stray continuation */
    };
    struct strbuf sb = STRBUF_INIT;
    struct strbuf want = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strbuf_reset(&want);
        strbuf_printf(&want, "l=\"%s\"", cases[i].want);
        assert_string_equal(label_of(&sb, cases[i].in, cases[i].len), strbuf_str(&want));
    }
    for (unsigned c = 0xF5; c <= 0xFF; c++) {
        char in[2] = {(char)c, 'z'};
        assert_string_equal(label_of(&sb, in, 2), "l=\"" FFFD "z\"");
    }
    strbuf_free(&sb);
    strbuf_free(&want);
}

static void test_label_nul_byte_becomes_replacement_char(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    const char v[] = {'a', '\0', 'b', '\0'};
    assert_string_equal(label_of(&sb, v, sizeof(v)), "l=\"a" FFFD "b" FFFD "\"");
    assert_int_equal(strlen(strbuf_str(&sb)), sb.len);
    strbuf_free(&sb);
}

static void test_sample_braces_only_with_labels(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    expo_sample_u64(&sb, "a", NULL, NULL, 7);
    expo_sample_u64(&sb, "b", "", "", 8);
    expo_sample_u64(&sb, "c", "x=\"1\"", NULL, 9);
    expo_sample_u64(&sb, "d", NULL, "mode=\"user\"", 10);
    expo_sample_double(&sb, "e", "x=\"1\"", "mode=\"user\"", 0.5);
    expo_sample_double(&sb, "f", "", NULL, -1.5);
    assert_string_equal(strbuf_str(&sb), "a 7\n"
                                         "b 8\n"
                                         "c{x=\"1\"} 9\n"
                                         "d{mode=\"user\"} 10\n"
                                         "e{x=\"1\",mode=\"user\"} 0.5\n"
                                         "f -1.5\n");
    strbuf_free(&sb);
}

static const char *double_text(struct strbuf *sb, double v)
{
    strbuf_reset(sb);
    expo_format_double(sb, v);
    return strbuf_str(sb);
}

/* Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) returns, which is what
 * client_golang (and so process-exporter) writes. */
static void test_format_double_matches_go(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {7, "7"},
        {100, "100"},
        {100000, "100000"},
        {123456, "123456"},
        {999999, "999999"},
        {1e6, "1e+06"},
        {1234567, "1.234567e+06"},
        {16564224, "1.6564224e+07"},
        {323764224, "3.23764224e+08"},
        {123456789, "1.23456789e+08"},
        {1795235777, "1.795235777e+09"},
        {1795235777.12, "1.79523577712e+09"},
        {1e21, "1e+21"},
        {1e100, "1e+100"},
        {9007199254740992.0, "9.007199254740992e+15"},
        {18446744073709551615.0, "1.8446744073709552e+19"},
        {0.1, "0.1"},
        {0.5, "0.5"},
        {9.14, "9.14"},
        {12.34, "12.34"},
        {999999.5, "999999.5"},
        {0.0013, "0.0013"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {2.4e-05, "2.4e-05"},
        {0.04000000000000001, "0.04000000000000001"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {-1.5, "-1.5"},
        {-1234567, "-1.234567e+06"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
    };
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(double_text(&sb, cases[i].v), cases[i].want);
    strbuf_free(&sb);
}

static void test_format_double_specials(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_string_equal(double_text(&sb, -0.0), "-0");
    assert_string_equal(double_text(&sb, NAN), "NaN");
    assert_string_equal(double_text(&sb, INFINITY), "+Inf");
    assert_string_equal(double_text(&sb, -INFINITY), "-Inf");
    strbuf_free(&sb);
}

/* Powers of two have a rounding interval twice as wide above as below; for these the nearest
 * decimal of the shortest length does not read back and the one above must be chosen. */
static void test_format_double_asymmetric_powers_of_two(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_string_equal(double_text(&sb, 0x1p-1017), "7.120236347223045e-307");
    assert_string_equal(double_text(&sb, 0x1p-1007), "7.291122019556398e-304");
    assert_string_equal(double_text(&sb, 0x1p-808), "5.858190679279809e-244");
    assert_string_equal(double_text(&sb, 0x1p-1074), "5e-324");
    assert_string_equal(double_text(&sb, 0x1p1023), "8.98846567431158e+307");
    strbuf_free(&sb);
}

static void test_format_double_reads_back(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof(v));
        if (!isfinite(v))
            continue;
        const char *text = double_text(&sb, v);
        assert_true(strtod(text, NULL) == v);
        assert_true(strlen(text) <= 24);
    }
    strbuf_free(&sb);
}

static void test_sample_u64_prints_like_go_float64(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *want;
    } cases[] = {
        {0, "x 0\n"},
        {7, "x 7\n"},
        {999999, "x 999999\n"},
        {1000000, "x 1e+06\n"},
        {16564224, "x 1.6564224e+07\n"},
        {(UINT64_C(1) << 53) - 1, "x 9.007199254740991e+15\n"},
        {UINT64_C(1) << 53, "x 9.007199254740992e+15\n"},
        {(UINT64_C(1) << 53) + 1, "x 9.007199254740992e+15\n"}, /* float64 rounds it down */
        {UINT64_C(1) << 63, "x 9.223372036854776e+18\n"},
        {UINT64_MAX, "x 1.8446744073709552e+19\n"},
    };
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strbuf_reset(&sb);
        expo_sample_u64(&sb, "x", NULL, NULL, cases[i].v);
        assert_string_equal(strbuf_str(&sb), cases[i].want);
    }
    strbuf_free(&sb);
}

static void inflate_gzip(const struct strbuf *gz, struct strbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz->buf;
    zs.avail_in = (uInt)gz->len;
    strbuf_reset(out);
    int rc;
    do {
        strbuf_reserve(out, 65536);
        zs.next_out = (Bytef *)out->buf + out->len;
        zs.avail_out = 65536;
        rc = inflate(&zs, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        out->len = 65536 - zs.avail_out + out->len;
    } while (rc != Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
}

static void test_gzip_round_trip(void **state)
{
    (void)state;
    struct strbuf body = STRBUF_INIT, gz = STRBUF_INIT, back = STRBUF_INIT, lab = STRBUF_INIT;
    for (int i = 0; i < 20000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "group-%d", i % 300);
        strbuf_reset(&lab);
        expo_label(&lab, "groupname", name, strlen(name));
        expo_sample_u64(&body, "namedprocess_namegroup_memory_bytes", lab.buf,
                        "memtype=\"resident\"", (uint64_t)i * 40961);
    }
    assert_int_equal(expo_gzip(body.buf, body.len, &gz), 0);
    assert_true(gz.len > 18 && gz.len < body.len / 4);
    assert_int_equal((unsigned char)gz.buf[0], 0x1f); /* gzip magic */
    assert_int_equal((unsigned char)gz.buf[1], 0x8b);
    inflate_gzip(&gz, &back);
    assert_int_equal(back.len, body.len);
    assert_memory_equal(back.buf, body.buf, body.len);
    strbuf_free(&body);
    strbuf_free(&gz);
    strbuf_free(&back);
    strbuf_free(&lab);
}

static void test_gzip_empty_body_and_reuse(void **state)
{
    (void)state;
    struct strbuf gz = STRBUF_INIT, back = STRBUF_INIT;
    assert_int_equal(expo_gzip("", 0, &gz), 0);
    inflate_gzip(&gz, &back);
    assert_int_equal(back.len, 0);
    /* The output buffer is reset, not appended to. */
    assert_int_equal(expo_gzip("abc", 3, &gz), 0);
    inflate_gzip(&gz, &back);
    assert_int_equal(back.len, 3);
    assert_memory_equal(back.buf, "abc", 3);
    strbuf_free(&gz);
    strbuf_free(&back);
}

#define PROMTOOL "/usr/bin/promtool"

/* The parser Prometheus itself uses, on label values built to break naive writers. */
static void test_hostile_exposition_passes_promtool(void **state)
{
    (void)state;
    if (access(PROMTOOL, X_OK) != 0)
        skip();

    static const char hostile[][16] = {
        "\"}",          "a\\",
        "x\ny",         "}{#",
        "\\\"\\n",      "\xC0\xAF",
        "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xE2\x82",     "\x80\xFF",
        "\t\r\x01",     "=,{",
        "# HELP",       "\xF0\x9F\x98\x80",
    };
    struct strbuf body = STRBUF_INIT, lab = STRBUF_INIT;
    expo_family(&body, "proctrack_test_cpu_seconds_total", EXPO_COUNTER,
                "CPU with \"quotes\", a \\ and a\nnewline.");
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        strbuf_reset(&lab);
        expo_label(&lab, "groupname", hostile[i], strlen(hostile[i]));
        expo_sample_double(&body, "proctrack_test_cpu_seconds_total", lab.buf, "mode=\"user\"",
                           (double)i / 3);
    }
    /* One value carries a NUL byte and every other escape at once. */
    const char with_nul[] = {'n', '\0', '"', '\\', '\n', (char)0xC3};
    strbuf_reset(&lab);
    expo_label(&lab, "groupname", with_nul, sizeof(with_nul));
    expo_sample_double(&body, "proctrack_test_cpu_seconds_total", lab.buf, "mode=\"user\"", NAN);
    expo_family(&body, "proctrack_test_memory_bytes", EXPO_GAUGE, "Memory.");
    expo_sample_u64(&body, "proctrack_test_memory_bytes", lab.buf, NULL, UINT64_MAX);
    expo_sample_double(&body, "proctrack_test_memory_bytes", NULL, NULL, -INFINITY);

    char path[] = "/tmp/proctrack-test-expo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body.buf, body.len), (ssize_t)body.len);
    close(fd);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char output[4096];
    size_t n = fread(output, 1, sizeof(output) - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    unlink(path);
    if (n)
        fprintf(stderr, "promtool said:\n%s\nexposition:\n%s", output, body.buf);
    assert_string_equal(output, "");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    strbuf_free(&body);
    strbuf_free(&lab);
}

static const char *to_om(struct strbuf *text, struct strbuf *om)
{
    strbuf_reset(om);
    expo_openmetrics(text->buf ? text->buf : "", text->len, om);
    return strbuf_str(om);
}

static void test_openmetrics_counter_family_drops_total_samples_keep_it(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, om = STRBUF_INIT, lab = STRBUF_INIT;
    expo_family(&text, "ns_cpu_seconds_total", EXPO_COUNTER, "Cpu \"user\" and \\ system.");
    expo_label(&lab, "groupname", "a_total b", 9);
    expo_sample_u64(&text, "ns_cpu_seconds_total", lab.buf, "mode=\"user\"", 3);
    expo_family(&text, "ns_thread_count", EXPO_GAUGE, "Threads.");
    expo_sample_u64(&text, "ns_thread_count", lab.buf, NULL, 2);
    assert_string_equal(to_om(&text, &om),
                        "# HELP ns_cpu_seconds Cpu \\\"user\\\" and \\\\ system.\n"
                        "# TYPE ns_cpu_seconds counter\n"
                        "ns_cpu_seconds_total{groupname=\"a_total b\",mode=\"user\"} 3\n"
                        "# HELP ns_thread_count Threads.\n"
                        "# TYPE ns_thread_count gauge\n"
                        "ns_thread_count{groupname=\"a_total b\"} 2\n"
                        "# EOF\n");
    strbuf_free(&text);
    strbuf_free(&om);
    strbuf_free(&lab);
}

static void test_openmetrics_untyped_becomes_unknown_and_gauge_total_stays(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, om = STRBUF_INIT;
    expo_family(&text, "u", EXPO_UNTYPED, NULL);
    expo_sample_u64(&text, "u", "", NULL, 1);
    expo_family(&text, "g_total", EXPO_GAUGE, "G.");
    expo_sample_u64(&text, "g_total", "", NULL, 5);
    assert_string_equal(to_om(&text, &om), "# TYPE u unknown\nu 1\n"
                                           "# HELP g_total G.\n# TYPE g_total gauge\ng_total 5\n"
                                           "# EOF\n");
    strbuf_free(&text);
    strbuf_free(&om);
}

static void test_openmetrics_counter_without_total_keeps_its_sample_names(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, om = STRBUF_INIT;
    expo_family(&text, "c", EXPO_COUNTER, "C.");
    expo_sample_u64(&text, "c", "a=\"1\"", NULL, 1);
    expo_sample_u64(&text, "cc", "", NULL, 1);
    /* Prometheus then stores `c`, as it does from the text format. */
    assert_string_equal(to_om(&text, &om),
                        "# HELP c C.\n# TYPE c unknown\nc{a=\"1\"} 1\ncc 1\n# EOF\n");
    strbuf_free(&text);
    strbuf_free(&om);
}

static void test_openmetrics_empty_body_is_just_eof(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, om = STRBUF_INIT;
    assert_string_equal(to_om(&text, &om), "# EOF\n");
    strbuf_puts(&text, "# a comment\n\n");
    assert_string_equal(to_om(&text, &om), "# EOF\n");
    strbuf_free(&text);
    strbuf_free(&om);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_escapes_backslash_and_newline_in_help),
        cmocka_unit_test(test_family_type_names),
        cmocka_unit_test(test_label_escapes_quote_backslash_newline),
        cmocka_unit_test(test_label_passes_braces_hash_and_controls),
        cmocka_unit_test(test_label_prepends_comma_to_nonempty_buffer),
        cmocka_unit_test(test_label_uses_only_value_len_bytes),
        cmocka_unit_test(test_label_keeps_valid_multibyte),
        cmocka_unit_test(test_label_replaces_each_invalid_byte),
        cmocka_unit_test(test_label_nul_byte_becomes_replacement_char),
        cmocka_unit_test(test_sample_braces_only_with_labels),
        cmocka_unit_test(test_format_double_matches_go),
        cmocka_unit_test(test_format_double_specials),
        cmocka_unit_test(test_format_double_asymmetric_powers_of_two),
        cmocka_unit_test(test_format_double_reads_back),
        cmocka_unit_test(test_sample_u64_prints_like_go_float64),
        cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_gzip_empty_body_and_reuse),
        cmocka_unit_test(test_hostile_exposition_passes_promtool),
        cmocka_unit_test(test_openmetrics_counter_family_drops_total_samples_keep_it),
        cmocka_unit_test(test_openmetrics_untyped_becomes_unknown_and_gauge_total_stays),
        cmocka_unit_test(test_openmetrics_counter_without_total_keeps_its_sample_names),
        cmocka_unit_test(test_openmetrics_empty_body_is_just_eof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
