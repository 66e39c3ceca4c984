/* Flags parse the way Go's flag package parses them, so process-exporter command lines work. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <string.h>

#include "cli/cli.h"

static int parse(struct cli_options *o, char *err, int argc, char **argv)
{
    return cli_parse(argc, argv, o, err, 256);
}

static void test_defaults_match_process_exporter(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_string_equal(o.listen_address, ":9256");
    assert_string_equal(o.telemetry_path, "/metrics");
    assert_string_equal(o.procfs, "/proc");
    assert_null(o.config_path);
    assert_true(o.children);
    assert_false(o.debug);
    assert_false(o.config_check);
    assert_int_equal(o.max_connections, 4096);
    assert_int_equal(o.max_connections_per_ip, 512);
    assert_true(o.request_timeout_ns == 10000000000ull);
    assert_true(o.connection_timeout_ns == 30000000000ull);
}

static void test_one_or_two_dashes_equals_or_space(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack",
                    "-config.path",
                    "/etc/a.yml",
                    "--web.listen-address=127.0.0.1:1",
                    "--procfs",
                    "/host/proc",
                    "-web.telemetry-path=/m",
                    "-children=false",
                    "--debug"};
    assert_int_equal(parse(&o, err, 9, argv), CLI_OK);
    assert_string_equal(o.config_path, "/etc/a.yml");
    assert_string_equal(o.listen_address, "127.0.0.1:1");
    assert_string_equal(o.procfs, "/host/proc");
    assert_string_equal(o.telemetry_path, "/m");
    assert_false(o.children);
    assert_true(o.debug);
}

static void test_web_config_file(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_null(o.web_config_file);
    char *argv2[] = {"proctrack", "--web.config.file", "/etc/proctrack/web.yml"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_string_equal(o.web_config_file, "/etc/proctrack/web.yml");
    char *argv3[] = {"proctrack", "-web.config.file="};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_OK);
    assert_null(o.web_config_file);
}

static void test_bool_takes_no_separate_value(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    /* Like Go: "-children false" sets children to true and leaves "false" as an argument. */
    char *argv[] = {"proctrack", "-children", "false"};
    assert_int_equal(parse(&o, err, 3, argv), CLI_ERROR);
    assert_string_equal(err, "unexpected argument \"false\"");
    char *argv2[] = {"proctrack", "-children=0", "-debug=T"};
    assert_int_equal(parse(&o, err, 3, argv2), CLI_OK);
    assert_false(o.children);
    assert_true(o.debug);
    char *argv3[] = {"proctrack", "-debug=maybe"};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_ERROR);
    assert_string_equal(err, "invalid value \"maybe\" for flag -debug: parse error");
}

static void test_unknown_flag_and_missing_value(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack", "-nope"};
    assert_int_equal(parse(&o, err, 2, argv), CLI_ERROR);
    assert_string_equal(err, "flag provided but not defined: -nope");
    char *argv2[] = {"proctrack", "-config.path"};
    assert_int_equal(parse(&o, err, 2, argv2), CLI_ERROR);
    assert_string_equal(err, "flag needs an argument: -config.path");
    char *argv3[] = {"proctrack", "---x"};
    assert_int_equal(parse(&o, err, 2, argv3), CLI_ERROR);
    assert_string_equal(err, "bad flag syntax: ---x");
}

static void test_help_flags(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    const char *forms[] = {"-h", "--h", "-help", "--help"};
    for (size_t i = 0; i < 4; i++) {
        char *argv[] = {"proctrack", (char *)forms[i]};
        assert_int_equal(parse(&o, err, 2, argv), CLI_OK);
        assert_true(o.help);
    }
}

static void test_log_level_and_format(void **state)
{
    (void)state;
    struct cli_options o;
    char err[256];
    char *argv[] = {"proctrack"};
    assert_int_equal(parse(&o, err, 1, argv), CLI_OK);
    assert_int_equal(o.log_level, LOG_INFO);
    assert_int_equal(o.log_format, LOG_FORMAT_LOGFMT);
    assert_false(o.log_level_given);
    char *argv2[] = {"proctrack", "--log.level", "debug", "-log.format=json"};
    assert_int_equal(parse(&o, err, 4, argv2), CLI_OK);
    assert_int_equal(o.log_level, LOG_DEBUG);
    assert_int_equal(o.log_format, LOG_FORMAT_JSON);
    assert_true(o.log_level_given);
    /* Given as its default, the level still counts as given: -debug leaves it alone. */
    char *argv3[] = {"proctrack", "-log.level=info", "-debug"};
    assert_int_equal(parse(&o, err, 3, argv3), CLI_OK);
    assert_int_equal(o.log_level, LOG_INFO);
    assert_true(o.log_level_given);
    char *argv4[] = {"proctrack", "-log.level=verbose"};
    assert_int_equal(parse(&o, err, 2, argv4), CLI_ERROR);
    assert_string_equal(err, "invalid value \"verbose\" for flag -log.level: must be debug, "
                             "info, warn or error");
    char *argv5[] = {"proctrack", "-log.format", "JSON"};
    assert_int_equal(parse(&o, err, 3, argv5), CLI_ERROR);
    assert_string_equal(err, "invalid value \"JSON\" for flag -log.format: must be logfmt or json");
}

static void test_go_durations(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(cli_parse_duration("30s", &ns), 0);
    assert_true(ns == 30000000000ull);
    assert_int_equal(cli_parse_duration("1h30m", &ns), 0);
    assert_true(ns == 5400000000000ull);
    assert_int_equal(cli_parse_duration("1.5h", &ns), 0);
    assert_true(ns == 5400000000000ull);
    assert_int_equal(cli_parse_duration("300ms", &ns), 0);
    assert_true(ns == 300000000ull);
    assert_int_equal(cli_parse_duration("0", &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(cli_parse_duration("10", &ns), -22);
    assert_int_equal(cli_parse_duration("", &ns), -22);
    assert_int_equal(cli_parse_duration("5x", &ns), -22);
    assert_int_equal(cli_parse_duration("-5s", &ns), -22);
    assert_int_equal(cli_parse_duration("1e3s", &ns), -22);
    assert_int_equal(cli_parse_duration("0x10s", &ns), -22);
    assert_int_equal(cli_parse_duration("1.2.3s", &ns), -22);
    assert_int_equal(cli_parse_duration(".5s", &ns), 0);
    assert_true(ns == 500000000ull);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_process_exporter),
        cmocka_unit_test(test_one_or_two_dashes_equals_or_space),
        cmocka_unit_test(test_web_config_file),
        cmocka_unit_test(test_bool_takes_no_separate_value),
        cmocka_unit_test(test_unknown_flag_and_missing_value),
        cmocka_unit_test(test_help_flags),
        cmocka_unit_test(test_log_level_and_format),
        cmocka_unit_test(test_go_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
