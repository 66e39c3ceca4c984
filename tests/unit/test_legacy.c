#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdio.h>
#include <string.h>

#include "fake_identity.h"
#include "rules/rules.h"

/* ---- Helpers ---- */

static struct rules *load(const char *procnames, const char *namemapping)
{
    char err[512] = "";
    struct rules *rules = rules_load_legacy(procnames, namemapping, err, sizeof(err), NULL, NULL);
    if (rules == NULL)
        fail_msg("legacy flags did not load: %s", err);
    assert_string_equal(err, "");
    return rules;
}

static void assert_error(const char *procnames, const char *namemapping, const char *expected)
{
    char err[512] = "";
    assert_null(rules_load_legacy(procnames, namemapping, err, sizeof(err), NULL, NULL));
    assert_string_equal(err, expected);
}

/* Matches and checks both the winning index and the rendered group name. */
static void assert_match(struct rules *rules, const struct proc_identity *id, int index,
                         const char *groupname)
{
    struct strbuf name = STRBUF_INIT;
    strbuf_puts(&name, "stale");
    assert_int_equal(rules_match(rules, id, &name), index);
    assert_string_equal(strbuf_str(&name), groupname);
    strbuf_free(&name);
}

static void assert_no_match(struct rules *rules, const struct proc_identity *id)
{
    assert_match(rules, id, -1, "");
}

/* ---- -procnames ---- */

static void test_procnames_match_exactly_and_only_by_comm(void **state)
{
    (void)state;
    struct rules *rules = load("bash,sshd", NULL);
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 2);
    assert_match(rules, make_proc(&p, "bash", ARGV("-bash")), 0, "bash");
    assert_match(rules, make_proc(&p, "sshd", ARGV("sshd: /usr/sbin/sshd -D")), 1, "sshd");
    /* A kernel thread has no cmdline, and plain names do not need one. */
    assert_match(rules, make_proc(&p, "sshd", NULL), 1, "sshd");
    assert_no_match(rules, make_proc(&p, "Bash", ARGV("Bash")));
    assert_no_match(rules, make_proc(&p, "bas", ARGV("bas")));
    assert_no_match(rules, make_proc(&p, "bash5", ARGV("bash")));
    /* Neither argv[0] nor the cmdline counts, only comm. */
    assert_no_match(rules, make_proc(&p, "script.sh", ARGV("/bin/bash", "./script.sh")));
    rules_free(rules);
}

static void test_repeated_procname_is_one_rule(void **state)
{
    (void)state;
    struct rules *rules = load("cron,cron", NULL);
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 1);
    assert_match(rules, make_proc(&p, "cron", ARGV("/usr/sbin/cron", "-f")), 0, "cron");
    rules_free(rules);
}

/* ---- -namemapping ---- */

static void test_mapping_applies_without_procnames(void **state)
{
    (void)state;
    /* The reference's check: comm is cut to 15 bytes, so "process-exporter" is "process-exporte".
     */
    struct rules *rules = load(NULL, "process-exporte,-procnames\\s+(\\S+)");
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 1);
    assert_match(rules,
                 make_proc(&p, "process-exporte", ARGV("./process-exporter", "-procnames", "bash")),
                 0, "process-exporte:bash");
    rules_free(rules);
}

static void test_mapping_name_is_comm_and_first_non_empty_capture(void **state)
{
    (void)state;
    /* Group 1 always takes part and is empty here; group 2 holds the script name. */
    struct rules *rules = load(NULL, "python3,(x*)(\\w+)\\.py");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "/srv/backup.py")), 0,
                 "python3:backup");
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "xxtool.py")), 0, "python3:xx");
    rules_free(rules);
}

static void test_mapping_skips_groups_that_did_not_take_part(void **state)
{
    (void)state;
    struct rules *rules = load(NULL, "python3,-m\\s+(\\S+)|(\\w+)\\.py");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "-m", "http.server")), 0,
                 "python3:http.server");
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "app.py", "--port", "80")), 0,
                 "python3:app");
    rules_free(rules);
}

static void test_mapping_search_is_unanchored_on_the_joined_cmdline(void **state)
{
    (void)state;
    struct rules *rules = load(NULL, "java,-jar (\\S+)\\.jar$,sh,^(\\S+)$");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "java", ARGV("java", "-Xmx1g", "-jar", "billing.jar")), 0,
                 "java:billing");
    assert_no_match(rules, make_proc(&p, "java", ARGV("java", "-jar", "billing.jar", "-v")));
    assert_match(rules, make_proc(&p, "sh", ARGV("/bin/sh")), 1, "sh:/bin/sh");
    assert_no_match(rules, make_proc(&p, "sh", ARGV("/bin/sh", "-c", "true")));
    rules_free(rules);
}

static void test_mapping_applies_only_to_its_comm(void **state)
{
    (void)state;
    struct rules *rules = load(NULL, "java,-jar\\s+(\\S+)");
    struct fake_proc p;
    assert_no_match(rules, make_proc(&p, "python3", ARGV("java", "-jar", "x.jar")));
    assert_no_match(rules, make_proc(&p, "Java", ARGV("java", "-jar", "x.jar")));
    rules_free(rules);
}

static void test_mapping_without_a_name_leaves_process_out_even_if_in_procnames(void **state)
{
    (void)state;
    struct rules *rules = load("python3,bash", "python3,(\\w*)\\.py");
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 2);
    /* No match at all. */
    assert_no_match(rules, make_proc(&p, "python3", ARGV("python3", "-c", "pass")));
    /* A match whose only group is empty. */
    assert_no_match(rules, make_proc(&p, "python3", ARGV("python3", ".py")));
    /* No cmdline at all: the regex runs on "". */
    assert_no_match(rules, make_proc(&p, "python3", NULL));
    struct proc_identity bare = {.pid = 7, .comm = "python3"};
    assert_no_match(rules, &bare);
    /* The plain names that have no mapping still work, and the mapping itself too. */
    assert_match(rules, make_proc(&p, "bash", ARGV("bash")), 1, "bash");
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "job.py")), 0, "python3:job");
    rules_free(rules);
}

static void test_later_mapping_for_a_comm_wins(void **state)
{
    (void)state;
    struct rules *rules = load(NULL, "java,-jar\\s+(\\S+),java,-cp\\s+(\\S+)");
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 1);
    assert_no_match(rules, make_proc(&p, "java", ARGV("java", "-jar", "a.jar")));
    assert_match(rules, make_proc(&p, "java", ARGV("java", "-cp", "lib", "Main")), 0, "java:lib");
    rules_free(rules);
}

static void test_manual_example_names_what_the_manual_says(void **state)
{
    (void)state;
    static const char mapping[] = "python3,([^/ ]+)\\.py,java,-jar\\s+(?:\\S*/)?([^/ ]+)\\.jar";
    const char *manual = rules_legacy_manual();
    assert_non_null(strstr(manual, "-procnames sshd,cron"));
    assert_non_null(strstr(manual, mapping));
    assert_non_null(strstr(manual, "python3:backup"));
    assert_non_null(strstr(manual, "java:billing"));
    assert_int_equal(manual[strlen(manual) - 1], '\n');

    struct rules *rules = load("sshd,cron", mapping);
    struct fake_proc p;
    struct strbuf name = STRBUF_INIT;
    assert_in_range(
        rules_match(rules,
                    make_proc(&p, "python3", ARGV("python3", "/srv/bin/backup.py", "--full")),
                    &name),
        0, 3);
    assert_string_equal(strbuf_str(&name), "python3:backup");
    assert_in_range(
        rules_match(rules,
                    make_proc(&p, "java", ARGV("java", "-Xmx1g", "-jar", "/opt/app/billing.jar")),
                    &name),
        0, 3);
    assert_string_equal(strbuf_str(&name), "java:billing");
    assert_in_range(rules_match(rules, make_proc(&p, "cron", ARGV("/usr/sbin/cron", "-f")), &name),
                    0, 3);
    assert_string_equal(strbuf_str(&name), "cron");
    assert_no_match(rules, make_proc(&p, "python3", ARGV("python3", "-c", "print(1)")));
    assert_no_match(rules, make_proc(&p, "java", ARGV("java", "-cp", "lib", "Main")));
    strbuf_free(&name);
    rules_free(rules);
}

/* ---- Counting, needs, descriptions ---- */

static void test_null_and_empty_flags_give_zero_rules(void **state)
{
    (void)state;
    const char *values[][2] = {{NULL, NULL}, {"", ""}, {NULL, ""}, {"", NULL}};
    struct fake_proc p;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct rules *rules = load(values[i][0], values[i][1]);
        assert_int_equal(rules_count(rules), 0);
        assert_int_equal(rules_needs(rules), 0);
        assert_no_match(rules, make_proc(&p, "bash", ARGV("bash")));
        rules_free(rules);
    }
}

static void test_only_mappings_need_the_cmdline(void **state)
{
    (void)state;
    struct rules *rules = load("bash,sshd", NULL);
    assert_int_equal(rules_needs(rules), 0);
    rules_free(rules);
    rules = load(NULL, "java,-jar\\s+(\\S+)");
    assert_int_equal(rules_needs(rules), PROC_NEED_CMDLINE);
    rules_free(rules);
    rules = load("bash", "java,-jar\\s+(\\S+)");
    assert_int_equal(rules_needs(rules), PROC_NEED_CMDLINE);
    rules_free(rules);
}

static void test_one_rule_per_comm_described_by_its_flag(void **state)
{
    (void)state;
    struct rules *rules = load("bash,java,cron", "java,-jar\\s+(\\S+)");
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 3);
    assert_string_equal(rules_describe(rules, 0), "-procnames \"bash\"");
    assert_string_equal(rules_describe(rules, 1), "-namemapping \"java\"");
    assert_string_equal(rules_describe(rules, 2), "-procnames \"cron\"");
    assert_string_equal(rules_describe(rules, 3), "");
    assert_match(rules, make_proc(&p, "java", ARGV("java", "-jar", "x.jar")), 1, "java:x.jar");
    assert_match(rules, make_proc(&p, "cron", ARGV("cron")), 2, "cron");
    rules_free(rules);
}

/* ---- Errors ---- */

static void test_odd_namemapping_element_count_is_refused(void **state)
{
    (void)state;
    assert_error(NULL, "java",
                 "-namemapping must have an even number of comma-separated elements "
                 "(name,regex pairs), not 1");
    assert_error("bash", "java,(\\S+),python3",
                 "-namemapping must have an even number of comma-separated elements "
                 "(name,regex pairs), not 3");
    /* A comma inside a regex splits it. */
    assert_error(NULL, "java,(\\S{1,3})",
                 "-namemapping must have an even number of comma-separated elements "
                 "(name,regex pairs), not 3");
}

static void test_empty_procnames_elements_are_skipped(void **state)
{
    (void)state;
    char err[256];
    struct rules *r = rules_load_legacy("bash,,sshd,", NULL, err, sizeof(err), NULL, NULL);
    assert_non_null(r);
    assert_int_equal(rules_count(r), 2);
    rules_free(r);
}

static void test_empty_namemapping_elements_are_refused(void **state)
{
    (void)state;
    assert_error(NULL, ",(x)", "-namemapping element 1 of 2 is empty");
    assert_error(NULL, "java,", "-namemapping element 2 of 2 is empty");
    assert_error("bash", "java,(x),,(y)", "-namemapping element 3 of 4 is empty");
}

static void test_bad_regex_names_pcre2_message_and_offset(void **state)
{
    (void)state;
    assert_error(NULL, "java,(x",
                 "bad namemapping regex \"(x\": missing closing parenthesis at offset 2");
    /* The first bad pair is reported, also when its comm is listed in -procnames. */
    assert_error("java", "python3,(\\w+)\\.py,java,x(?<n,perl,(y)",
                 "bad namemapping regex \"x(?<n\": Go's regexp refuses the group syntax (?< at "
                 "offset 1");
}

static void collect_warning(void *arg, const char *message)
{
    strbuf_puts(arg, message);
    strbuf_putc(arg, '\n');
}

/* process-exporter 0.7.10 takes a mapping without a capture group; no process of its comm is
 * then tracked, even one -procnames lists, and other comms are not affected. */
static void test_regex_without_capture_group_matches_nothing(void **state)
{
    (void)state;
    char err[512] = "";
    struct strbuf warnings = STRBUF_INIT;
    struct rules *rules = rules_load_legacy("java,bash", "python3,(\\w+)\\.py,java,-jar", err,
                                            sizeof(err), collect_warning, &warnings);
    assert_non_null(rules);
    assert_string_equal(strbuf_str(&warnings),
                        "namemapping regex \"-jar\" for \"java\" has no capture group: processes "
                        "with that comm are never tracked\n");
    struct fake_proc p;
    assert_no_match(rules, make_proc(&p, "java", ARGV("java", "-jar", "app.jar")));
    assert_no_match(rules, make_proc(&p, "java", ARGV("java", "-cp", "x")));
    assert_match(rules, make_proc(&p, "python3", ARGV("python3", "backup.py")), 2,
                 "python3:backup");
    assert_match(rules, make_proc(&p, "bash", ARGV("bash")), 1, "bash");
    rules_free(rules);
    strbuf_free(&warnings);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procnames_match_exactly_and_only_by_comm),
        cmocka_unit_test(test_repeated_procname_is_one_rule),
        cmocka_unit_test(test_mapping_applies_without_procnames),
        cmocka_unit_test(test_mapping_name_is_comm_and_first_non_empty_capture),
        cmocka_unit_test(test_mapping_skips_groups_that_did_not_take_part),
        cmocka_unit_test(test_mapping_search_is_unanchored_on_the_joined_cmdline),
        cmocka_unit_test(test_mapping_applies_only_to_its_comm),
        cmocka_unit_test(test_mapping_without_a_name_leaves_process_out_even_if_in_procnames),
        cmocka_unit_test(test_later_mapping_for_a_comm_wins),
        cmocka_unit_test(test_manual_example_names_what_the_manual_says),
        cmocka_unit_test(test_null_and_empty_flags_give_zero_rules),
        cmocka_unit_test(test_only_mappings_need_the_cmdline),
        cmocka_unit_test(test_one_rule_per_comm_described_by_its_flag),
        cmocka_unit_test(test_odd_namemapping_element_count_is_refused),
        cmocka_unit_test(test_empty_procnames_elements_are_skipped),
        cmocka_unit_test(test_empty_namemapping_elements_are_refused),
        cmocka_unit_test(test_bad_regex_names_pcre2_message_and_offset),
        cmocka_unit_test(test_regex_without_capture_group_matches_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
