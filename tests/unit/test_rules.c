#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_identity.h"
#include "rules/rules.h"

#define CONFIG_DIR FIXTURES_DIR "/config"

/* config/default.yml, compiled in by the build. */
extern const char proctrack_default_config[];
extern const size_t proctrack_default_config_len;

/* ---- Helpers ---- */

struct warnings {
    char text[8][256];
    size_t n;
};

static void collect_warning(void *arg, const char *message)
{
    struct warnings *w = arg;
    if (w->n < 8)
        snprintf(w->text[w->n], sizeof(w->text[0]), "%s", message);
    w->n++;
}

static struct rules *load(const char *yaml)
{
    char err[512] = "";
    struct rules *rules =
        rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
    if (rules == NULL)
        fail_msg("config did not load: %s", err);
    return rules;
}

static struct rules *load_fixture(const char *name, struct warnings *w)
{
    char path[512], err[512] = "";
    snprintf(path, sizeof(path), "%s/%s", CONFIG_DIR, name);
    struct rules *rules = rules_load_file(path, err, sizeof(err), w ? collect_warning : NULL, w);
    if (rules == NULL)
        fail_msg("fixture %s did not load: %s", name, err);
    assert_string_equal(err, "");
    return rules;
}

static void assert_buffer_error(const char *yaml, size_t len, const char *expected)
{
    char err[512] = "";
    struct rules *rules = rules_load_buffer("test.yml", yaml, len, err, sizeof(err), NULL, NULL);
    assert_null(rules);
    assert_string_equal(err, expected);
}

/* Loads CONFIG_DIR/bad/NAME and expects the error "PATH" + `suffix` ("LINE:COL: reason"). */
static void assert_fixture_error(const char *name, const char *suffix)
{
    char path[512], expected[1024], err[512] = "";
    snprintf(path, sizeof(path), "%s/bad/%s", CONFIG_DIR, name);
    snprintf(expected, sizeof(expected), "%s:%s", path, suffix);
    struct rules *rules = rules_load_file(path, err, sizeof(err), NULL, NULL);
    assert_null(rules);
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

/* ---- Real configs ---- */

static void test_packaged_all_yaml_groups_processes_with_a_cmdline_by_comm(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("all.yaml", NULL);
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 1);
    assert_int_equal(rules_needs(rules), PROC_NEED_CMDLINE);
    assert_match(rules, make_proc(&p, "bash", ARGV("-bash")), 0, "bash");
    assert_match(rules, make_proc(&p, "kworker/0:1", ARGV("")), -1, "");
    assert_no_match(rules, make_proc(&p, "kthreadd", NULL));
    rules_free(rules);
}

static void test_embedded_default_config_is_pve_then_the_catch_all(void **state)
{
    (void)state;
    char err[256] = "";
    struct rules *rules =
        rules_load_buffer("<default>", proctrack_default_config, proctrack_default_config_len, err,
                          sizeof(err), NULL, NULL);
    assert_non_null(rules);
    assert_int_equal(rules_count(rules), 3);
    assert_string_equal(rules_builtin_of(rules, 0), "pve-qemu");
    assert_string_equal(rules_builtin_of(rules, 1), "pve-lxc");
    assert_null(rules_builtin_of(rules, 2));
    assert_int_equal(rules_needs(rules), PROC_NEED_CMDLINE | PROC_NEED_EXE | PROC_NEED_CGROUP);
    assert_string_equal(rules_describe(rules, 2), "process_names[2] (<default>:11:5)");
    /* Without a registered PVE matcher (no PVE here), everything falls to the catch-all. */
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "sshd", ARGV("sshd: alice [priv]")), 2, "sshd");
    assert_match(rules, make_proc(&p, "kvm", ARGV("/usr/bin/kvm", "-id", "100")), 2, "kvm");
    assert_no_match(rules, make_proc(&p, "kthreadd", NULL));
    rules_free(rules);
}

static void test_readme_selector_example_matches_like_process_exporter(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("readme-selectors.yaml", NULL);
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 3);
    assert_match(rules, make_proc(&p, "bash", ARGV("/bin/bash")), 0, "bash");
    assert_match(rules, make_proc(&p, "postgres", ARGV("/usr/lib/postgresql/15/bin/postgres")), 1,
                 "postgres");
    assert_match(rules, make_proc(&p, "prometheus", ARGV("/usr/local/bin/prometheus")), 1,
                 "prometheus");
    assert_no_match(rules, make_proc(&p, "prometheus", ARGV("./prometheus")));
    assert_match(
        rules,
        make_proc(&p, "process-exporte",
                  ARGV("/usr/local/bin/process-exporter", "-config.path", "/etc/pe/all.yaml")),
        2, "/usr/local/bin/process-exporter:/etc/pe/all.yaml");
    assert_no_match(rules, make_proc(&p, "process-exporte",
                                     ARGV("./process-exporter", "-config.path", "x.yaml")));
    rules_free(rules);
}

static void test_readme_home_config_names_upstart_user_session(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("readme-home.yaml", NULL);
    struct fake_proc p;
    assert_int_equal(rules_count(rules), 2);
    assert_match(rules, make_proc(&p, "gvim", ARGV("gvim", "notes.txt")), 0, "gvim");
    assert_match(rules, make_proc(&p, "upstart", ARGV("/sbin/upstart", "--user")), 1,
                 "upstart:-user");
    assert_no_match(rules, make_proc(&p, "upstart", ARGV("/sbin/upstart")));
    rules_free(rules);
}

static void test_empty_configs_give_zero_rules(void **state)
{
    (void)state;
    static const char *const empty[] = {
        "",
        "# only a comment\n",
        "---\n",
        "process_names: []\n",
        "process_names:\n",
        "process_names: ~\n",
        "--- ~\n",
    };
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        struct rules *rules = load(empty[i]);
        assert_int_equal(rules_count(rules), 0);
        assert_int_equal(rules_needs(rules), 0);
        struct fake_proc p;
        assert_no_match(rules, make_proc(&p, "bash", ARGV("bash")));
        rules_free(rules);
    }
}

static void test_unknown_keys_are_ignored_with_a_positioned_warning(void **state)
{
    (void)state;
    struct warnings w = {0};
    struct rules *rules = load_fixture("unknown-keys.yaml", &w);
    assert_int_equal(rules_count(rules), 2);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.text[0], CONFIG_DIR
                        "/unknown-keys.yaml:2:1: unknown key \"scrape_interval\" ignored");
    assert_string_equal(w.text[1],
                        CONFIG_DIR "/unknown-keys.yaml:6:5: unknown key \"cmdlines\" ignored");
    assert_string_equal(w.text[2],
                        CONFIG_DIR "/unknown-keys.yaml:9:5: unknown key \"labels\" ignored");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "sshd", ARGV("sshd: alice")), 0, "sshd");
    assert_match(rules, make_proc(&p, "nginx", ARGV("/usr/sbin/nginx")), 1, "nginx");
    rules_free(rules);
}

static void test_only_the_first_yaml_document_is_read(void **state)
{
    (void)state;
    struct warnings w = {0};
    const char *yaml = "process_names: [{comm: [a]}]\n---\nprocess_names: [{comm: [b]}]\n";
    char err[256] = "";
    struct rules *rules =
        rules_load_buffer("multi.yml", yaml, strlen(yaml), err, sizeof(err), collect_warning, &w);
    assert_non_null(rules);
    assert_int_equal(rules_count(rules), 1);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.text[0],
                        "multi.yml:2:1: only the first YAML document is read; the rest is ignored");
    rules_free(rules);
}

static void test_describe_names_the_item_and_where_it_is(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("readme-selectors.yaml", NULL);
    assert_string_equal(rules_describe(rules, 2),
                        "process_names[2] (" CONFIG_DIR "/readme-selectors.yaml:16:5)");
    assert_string_equal(rules_describe(rules, 3), "");
    rules_free(rules);
}

static void test_missing_file_reports_path_and_errno_text(void **state)
{
    (void)state;
    char err[256];
    assert_null(rules_load_file("/nonexistent/proctrack.yml", err, sizeof(err), NULL, NULL));
    assert_string_equal(err, "/nonexistent/proctrack.yml: No such file or directory");
    assert_null(rules_load_file(CONFIG_DIR, err, sizeof(err), NULL, NULL));
    assert_string_equal(err, CONFIG_DIR ": Is a directory");
}

static void test_file_over_16_mib_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/proctrack-test-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (16 << 20) + 1), 0);
    close(fd);
    char err[256], expected[256];
    assert_null(rules_load_file(path, err, sizeof(err), NULL, NULL));
    snprintf(expected, sizeof(expected), "%s:1:1: larger than 16 MiB, not a config file", path);
    assert_string_equal(err, expected);
    unlink(path);
}

/* ---- Selectors ---- */

static void test_comm_matches_exactly_and_case_sensitively(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - comm: [bash, Xorg]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "bash", ARGV("bash")), 0, "bash");
    assert_match(rules, make_proc(&p, "Xorg", ARGV("/usr/lib/xorg/Xorg")), 0, "Xorg");
    assert_no_match(rules, make_proc(&p, "Bash", ARGV("bash")));
    assert_no_match(rules, make_proc(&p, "bash2", ARGV("bash")));
    assert_no_match(rules, make_proc(&p, "bas", ARGV("bash")));
    assert_no_match(rules, make_proc(&p, "xorg", ARGV("xorg")));
    rules_free(rules);
}

static void test_exe_rule_without_slash_matches_basename_of_argv0(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - exe: [postgres]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "postgres", ARGV("/usr/lib/postgresql/15/bin/postgres")), 0,
                 "postgres");
    assert_match(rules, make_proc(&p, "postgres", ARGV("postgres", "-D", "/data")), 0, "postgres");
    assert_no_match(rules, make_proc(&p, "postgres", ARGV("postgres: checkpointer")));
    rules_free(rules);
}

static void test_exe_rule_with_slash_needs_exact_argv0(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - exe: [/usr/bin/process-exporter]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "process-exporte", ARGV("/usr/bin/process-exporter")), 0,
                 "process-exporter");
    assert_no_match(rules, make_proc(&p, "process-exporte", ARGV("./process-exporter")));
    assert_no_match(rules, make_proc(&p, "process-exporte", ARGV("process-exporter")));
    rules_free(rules);
}

static void test_exe_rules_with_the_same_basename_are_all_kept(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - exe: [/usr/bin/python, /opt/bin/python]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "python", ARGV("/usr/bin/python", "a.py")), 0, "python");
    assert_match(rules, make_proc(&p, "python", ARGV("/opt/bin/python", "b.py")), 0, "python");
    assert_no_match(rules, make_proc(&p, "python", ARGV("/bin/python")));
    rules_free(rules);
}

static void test_exe_matches_argv0_not_the_exe_link(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - exe: [python3.11]\n");
    struct fake_proc p;
    make_proc(&p, "python3", ARGV("python3", "-m", "venv"));
    p.id.exe = "/usr/bin/python3.11";
    assert_no_match(rules, &p.id);
    rules_free(rules);
}

static void test_process_without_argv_never_matches_exe(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - exe: [kthreadd]\n  - comm: [kthreadd]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "kthreadd", NULL), 1, "kthreadd");
    rules_free(rules);
}

static void test_selectors_of_an_item_must_all_match(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - comm: [java]\n"
                               "    exe: [java]\n"
                               "    cmdline: ['-jar\\s+app\\.jar']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "java", ARGV("/usr/bin/java", "-jar", "app.jar")), 0, "java");
    assert_no_match(rules, make_proc(&p, "javaw", ARGV("/usr/bin/java", "-jar", "app.jar")));
    assert_no_match(rules, make_proc(&p, "java", ARGV("/usr/bin/jre", "-jar", "app.jar")));
    assert_no_match(rules, make_proc(&p, "java", ARGV("/usr/bin/java", "-jar", "other.jar")));
    rules_free(rules);
}

static void test_cmdline_regexes_must_all_match(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - cmdline: ['--user', '--session']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "upstart", ARGV("/sbin/upstart", "--session", "--user")), 0,
                 "upstart");
    assert_no_match(rules, make_proc(&p, "upstart", ARGV("/sbin/upstart", "--user")));
    rules_free(rules);
}

static void test_cmdline_search_is_unanchored(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - cmdline: ['procnames']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "pe", ARGV("./process-exporter", "-procnames", "bash")), 0,
                 "process-exporter");
    rules_free(rules);
}

static void test_cmdline_anchors_match_the_whole_command_line(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - cmdline: ['^./process-exporter -procnames bash$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "pe", ARGV("./process-exporter", "-procnames", "bash")), 0,
                 "process-exporter");
    assert_no_match(rules,
                    make_proc(&p, "pe", ARGV("./process-exporter", "-procnames", "bash,zsh")));
    assert_no_match(rules, make_proc(&p, "pe", ARGV("x", "./process-exporter -procnames bash")));
    rules_free(rules);
}

static void test_dollar_matches_only_at_the_very_end(void **state)
{
    (void)state;
    /* Go's `$` without (?m) does not match before a final newline, unlike PCRE2's default. */
    struct rules *rules = load("process_names:\n  - cmdline: ['bash$']\n"
                               "  - name: multiline\n    cmdline: ['(?m)bash$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "sh", ARGV("sh", "-c", "bash\n")), 1, "multiline");
    assert_match(rules, make_proc(&p, "sh", ARGV("sh", "-c", "bash")), 0, "sh");
    rules_free(rules);
}

static void test_go_regex_syntax_works(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: \"{{.Matches.port}}\"\n"
                               "    cmdline: ['(?i)^\\S*NGINX\\s+-p\\s+(?P<port>\\d+)$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "nginx", ARGV("/usr/sbin/nginx", "-p", "8080")), 0, "8080");
    assert_match(rules, make_proc(&p, "nginx", ARGV("Nginx", "-p", "80")), 0, "80");
    assert_no_match(rules, make_proc(&p, "nginx", ARGV("nginx", "-p", "http")));
    rules_free(rules);
}

static void test_invalid_utf8_cmdline_is_searched_not_rejected(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: \"{{.Matches.file}}\"\n"
                               "    cmdline: ['(?i)--FILE=(?P<file>\\S+)']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "tool", ARGV("tool\xff\xfe", "--file=caf\xc3\xa9.txt")), 0,
                 "caf\xc3\xa9.txt");
    /* As in Go, a byte that starts no valid sequence is one character, U+FFFD, which \S
     * matches; the capture holds the original bytes. */
    assert_match(rules, make_proc(&p, "tool", ARGV("tool", "--file=a\xc3\x28", "x")), 0, "a\xc3(");
    rules_free(rules);
}

/* Checked against process-exporter 0.7.10 on live processes in
 * tests/integration/test_yaml_compat.py. */
static void test_invalid_utf8_bytes_are_one_character_each_as_in_go(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: dot\n"
                               "    cmdline: ['^/opt/x.z$']\n"
                               "  - name: three\n"
                               "    cmdline: ['^s...e$']\n"
                               "  - name: fffd\n"
                               "    cmdline: ['^r\\x{FFFD}\\x{FFFD}$']\n"
                               "  - name: \"{{.Matches.all}}\"\n"
                               "    cmdline: ['^(?P<all>.+)$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "x", ARGV("/opt/x\xffz")), 0, "dot");
    /* A surrogate's encoding (ED A0 80) is three invalid bytes, three characters. */
    assert_match(rules,
                 make_proc(&p, "s",
                           ARGV("s\xed\xa0\x80"
                                "e")),
                 1, "three");
    /* A truncated sequence is one character per byte too. */
    assert_match(rules, make_proc(&p, "r", ARGV("r\xe2\x82")), 2, "fffd");
    assert_match(rules, make_proc(&p, "q", ARGV("q\xc3\xa9\xff", "\xfe")), 3, "q\xc3\xa9\xff \xfe");
    rules_free(rules);
}

/* Each pattern was tried with process-exporter 0.7.10 (Go 1.19's regexp): the same ones load. */
static void test_regex_syntax_go_refuses_is_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "a(?=b)", "a(?!b)",     "(?<=a)b",   "(?<!a)b", "(a)\\1",      "a\\Z",    "(?<n>a)",
        "(?P=n)", "(?>a)",      "a*+",       "a++",     "a{2}+",       "a**",     "a{2}{3}",
        "a*??",   "*a",         "a|*b",      "(*UTF)a", "(?x)a",       "(?#c)a",  "\\Ka",
        "\\Ga",   "\\ha",       "\\e",       "\\ca",    "\\8",         "\\C",     "a{1001}",
        "{2}",    "\\\xc3\xa9", "\\R",       "\\X",     "\\N",         "\\g1",    "\\k<n>",
        "(?|a)",  "(?R)",       "(?(1)a|b)", "(?i)*",   "[\\b]",       "a\\",     "(?-)a",
        "(?i-)a", "[\\Qa\\E]",  "\\xg",      "\\x{}",   "\\x{110000}", "(?P<>a)", "(?P<a-b>x)",
    };
    static const char *const accepted[] = {
        "a\\z",
        "\\Aa",
        "(?P<n>a)",
        "a*?",
        "(?i)a",
        "(?i:a)",
        "(?-i)a",
        "(?ims-U)a",
        "\\x41",
        "\\x{41}",
        "\\101",
        "\\0",
        "\\pL",
        "\\p{Greek}",
        "\\PL",
        "[\\d\\s]",
        "[[:alpha:]]",
        "[]a]",
        "[^]a]",
        "\\Qa.b\\E",
        "a{1000}",
        "a{2,}",
        "a{,2}",
        "a{",
        "x{y}",
        "\\.",
        "\\-",
        "\\v",
        "\\s+\\S+",
        "^(a|aa)+$",
        "-jar\\s+(?:\\S*/)?([^/ ]+)\\.jar",
        "\\Q",
        "(?)a",
        "^*a",
        "\\b+",
        "a(?i)*",
        "[\\d-z]",
        "[[.a.]]",
        "(?P<1a>x)",
    };
    char yaml[256], err[512];
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(yaml, sizeof(yaml), "process_names:\n  - cmdline: ['%s']\n", refused[i]);
        struct rules *rules =
            rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
        if (rules)
            fail_msg("accepted %s", refused[i]);
        assert_non_null(strstr(err, "test.yml:2:15: bad cmdline regex"));
    }
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        snprintf(yaml, sizeof(yaml), "process_names:\n  - cmdline: ['%s']\n", accepted[i]);
        struct rules *rules =
            rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
        if (!rules)
            fail_msg("refused %s: %s", accepted[i], err);
        rules_free(rules);
    }
    const char *yaml_c = "process_names:\n  - cmdline: ['a\\Cb']\n";
    assert_null(
        rules_load_buffer("test.yml", yaml_c, strlen(yaml_c), err, sizeof(err), NULL, NULL));
    assert_string_equal(err, "test.yml:2:15: bad cmdline regex \"a\\Cb\": Go's regexp refuses the "
                             "escape \\C at offset 1");
}

/* Each of these was tried with process-exporter 0.7.10 on a live process, with the same result. */
static void test_space_escapes_mean_what_they_mean_in_go(void **state)
{
    (void)state;
    /* Go's \s is [\t\n\f\r ], without the vertical tab PCRE2's takes; \v is the vertical tab
     * alone; [[:space:]] has it in both. */
    struct rules *rules = load("process_names:\n"
                               "  - name: s\n    cmdline: ['^a\\sb$']\n"
                               "  - name: S\n    cmdline: ['^a\\Sb$']\n"
                               "  - name: v\n    cmdline: ['^a[\\v]b$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "a", ARGV("a\tb")), 0, "s");
    assert_match(rules, make_proc(&p, "a", ARGV("a\vb")), 1, "S");
    assert_no_match(rules, make_proc(&p, "a", ARGV("a\nb\n")));
    rules_free(rules);
    rules = load("process_names:\n"
                 "  - name: in\n    cmdline: ['^a[\\s]b$']\n"
                 "  - name: notS\n    cmdline: ['^a[^\\S]b$']\n"
                 "  - name: v\n    cmdline: ['^a\\vb$']\n"
                 "  - name: posix\n    cmdline: ['^a[[:space:]]b$']\n");
    assert_match(rules, make_proc(&p, "a", ARGV("a\fb")), 0, "in");
    assert_match(rules, make_proc(&p, "a", ARGV("a\vb")), 2, "v");
    rules_free(rules);
    /* The vertical tab is no space to [^\S], a space to [[:space:]]; é is no space. */
    rules = load("process_names:\n"
                 "  - name: notS\n    cmdline: ['^a[^\\S]b$']\n"
                 "  - name: posix\n    cmdline: ['^a[[:space:]]b$']\n"
                 "  - name: S\n    cmdline: ['^a[\\S]b$']\n");
    assert_match(rules, make_proc(&p, "a", ARGV("a\vb")), 1, "posix");
    assert_match(rules, make_proc(&p, "a", ARGV("a\rb")), 0, "notS");
    assert_match(rules,
                 make_proc(&p, "a",
                           ARGV("a\xc3\xa9"
                                "b")),
                 2, "S");
    rules_free(rules);
}

static void test_repetition_go_takes_is_taken_and_matches(void **state)
{
    (void)state;
    /* Go repeats an assertion (^*, \b+) and the operand before flag groups (a(?i)*: the a,
     * case-sensitive); PCRE2 refuses all three as written. */
    struct rules *rules = load("process_names:\n"
                               "  - name: caret\n    cmdline: ['^*foo']\n"
                               "  - name: flags\n    cmdline: ['^x(?i)*Y$']\n"
                               "  - name: twice\n    cmdline: ['^z*(?s)*w$']\n"
                               "  - name: bound\n    cmdline: ['bar\\b+$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "a", ARGV("xfoo")), 0, "caret");
    assert_match(rules, make_proc(&p, "a", ARGV("xxy")), 1, "flags");
    assert_match(rules, make_proc(&p, "a", ARGV("y")), 1, "flags");
    assert_no_match(rules, make_proc(&p, "a", ARGV("XXy")));
    assert_match(rules, make_proc(&p, "a", ARGV("zzw")), 2, "twice");
    assert_match(rules, make_proc(&p, "a", ARGV("a", "bar")), 3, "bound");
    rules_free(rules);
}

static void test_classes_literals_and_groups_read_as_in_go(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               /* a '-' after a class escape or POSIX class is a literal */
                               "  - name: hyphen\n    cmdline: ['^[\\d-z][[:alpha:]-]$']\n"
                               /* [. and [= are no collating elements in Go */
                               "  - name: bracket\n    cmdline: ['^[[.a.]]$']\n"
                               /* (?m)^ also after a newline that ends the text */
                               "  - name: caret\n    cmdline: ['(?m)x\\n^$']\n"
                               /* \12 is octal (a newline) even after 12 groups */
                               "  - name: octal\n    cmdline: ['^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)"
                               "(k)(l)\\12$']\n"
                               /* {,2} is a literal in Go */
                               "  - name: brace\n    cmdline: ['^a{,2}$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "a", ARGV("--")), 0, "hyphen");
    assert_no_match(rules, make_proc(&p, "a", ARGV("y-")));
    assert_match(rules, make_proc(&p, "a", ARGV("a]")), 1, "bracket");
    assert_match(rules, make_proc(&p, "a", ARGV("x\n")), 2, "caret");
    assert_match(rules, make_proc(&p, "a", ARGV("abcdefghijkl\n")), 3, "octal");
    assert_match(rules, make_proc(&p, "a", ARGV("a{,2}")), 4, "brace");
    rules_free(rules);
}

static void test_group_names_pcre2_refuses_work_as_in_go(void **state)
{
    (void)state;
    /* A name that starts with a digit, one over 32 bytes, and one used twice: the later group
     * gives the value, as process-exporter fills its map in group order. */
    struct rules *rules =
        load("process_names:\n"
             "  - name: \"{{index .Matches "
             "\\\"1a\\\"}}-{{.Matches.a_name_longer_than_thirty_two_bytes}}-"
             "{{.Matches.d}}\"\n"
             "    cmdline: ['^(?P<1a>\\w)(?P<a_name_longer_than_thirty_two_bytes>\\w)(?P<d>x)?"
             "(?P<d>\\w)$']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "a", ARGV("pqr")), 0, "p-q-r");
    assert_match(rules, make_proc(&p, "a", ARGV("pqxr")), 0, "p-q-r");
    rules_free(rules);
    /* PCRE2's errors name the place in the pattern as written. */
    assert_buffer_error("process_names:\n  - cmdline: ['\\s\\S[z-a]']\n",
                        strlen("process_names:\n  - cmdline: ['\\s\\S[z-a]']\n"),
                        "test.yml:2:15: bad cmdline regex \"\\s\\S[z-a]\": range out of order "
                        "in character class at offset 7");
}

/* A process identity around a long command line (the fake one holds 1 KiB). */
static struct proc_identity long_proc(char *cmdline)
{
    return (struct proc_identity){
        .pid = 1234, .comm = "java", .exe = "", .cmdline = cmdline, .cmdline_len = strlen(cmdline)};
}

static void test_backtracking_regex_gives_up_and_is_counted(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: evil\n"
                               "    cmdline: ['^(a|aa)+$']\n"
                               "  - name: \"{{.Matches.app}}\"\n"
                               "    cmdline: ['^java .*-Dapp=(?P<app>\\w+)', '(a|aa)+$']\n");
    const struct rules_match_errors *errors = rules_match_errors(rules);
    struct fake_proc p;

    /* 60 a's then "!": about 1.5e12 ways to fail, cut short. */
    char evil[64];
    memset(evil, 'a', 60);
    strcpy(evil + 60, "!");
    assert_no_match(rules, make_proc(&p, "sh", ARGV(evil)));
    assert_int_equal(errors->count, 1);
    assert_int_equal(errors->last_rule, 0);
    char message[128];
    rules_error_message(errors->last_code, message, sizeof(message));
    assert_string_equal(message, "match limit exceeded");

    /* An ordinary regex over a 1 MiB command line: .* runs to the end and walks back to the
     * start; the second regex fails at every one of the 1 Mi positions. */
    size_t len = 1u << 20;
    char *cmdline = malloc(len + 1);
    assert_non_null(cmdline);
    strcpy(cmdline, "java -Dapp=shop ");
    for (size_t i = strlen(cmdline); i < len; i++)
        cmdline[i] = i % 8 == 7 ? ' ' : 'x';
    cmdline[len - 1] = 'a';
    cmdline[len] = '\0';
    struct proc_identity id = long_proc(cmdline);
    assert_match(rules, &id, 1, "shop");
    assert_int_equal(errors->count, 1);
    free(cmdline);
    rules_free(rules);
}

static void test_named_captures_merge_and_later_regexes_win(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("captures.yaml", NULL);
    struct fake_proc p;
    /* app from the first regex is replaced by the third's; env comes from the second. */
    assert_match(rules,
                 make_proc(&p, "java",
                           ARGV("java", "-Denv=prod", "-jar", "/srv/billing.jar", "--profile=ui")),
                 0, "java:ui:prod");
    assert_match(rules,
                 make_proc(&p, "java", ARGV("java", "-Denv=dev", "-jar", "a/b.jar", "--profile=x")),
                 0, "java:x:dev");
    rules_free(rules);
}

static void test_named_group_that_did_not_take_part_is_empty(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("captures.yaml", NULL);
    struct fake_proc p;
    /* No -Denv: env is "". No --profile: the third regex matches at the end without its group,
     * and its empty app overwrites "billing", as process-exporter's map assignment does. */
    assert_match(rules, make_proc(&p, "java", ARGV("java", "-jar", "billing.jar")), 0, "java::");
    rules_free(rules);
}

/* ---- Order and names ---- */

static void test_first_matching_item_wins(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: specific\n    cmdline: ['--special']\n"
                               "  - name: any-bash\n    comm: [bash]\n"
                               "  - name: catch-all\n    cmdline: ['.+']\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "bash", ARGV("bash", "--special")), 0, "specific");
    assert_match(rules, make_proc(&p, "bash", ARGV("bash")), 1, "any-bash");
    assert_match(rules, make_proc(&p, "zsh", ARGV("zsh")), 2, "catch-all");
    rules_free(rules);
}

static void test_missing_or_empty_name_means_exe_base(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - comm: [postgres]\n"
                               "  - name: ''\n    comm: [nginx]\n"
                               "  - name:\n    comm: [kthreadd]\n");
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "postgres", ARGV("/usr/lib/postgresql/bin/postgres")), 0,
                 "postgres");
    assert_match(rules, make_proc(&p, "nginx", ARGV("nginx: worker process")), 1,
                 "nginx: worker process");
    assert_match(rules, make_proc(&p, "kthreadd", NULL), 2, "kthreadd");
    rules_free(rules);
}

static void test_username_comes_from_the_effective_uid(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - name: '{{.Username}}'\n    comm: [sh]\n");
    struct fake_proc p;
    make_proc(&p, "sh", ARGV("sh"));
    p.id.has_euid = true;
    p.id.euid = 0;
    assert_match(rules, &p.id, 0, "root");
    assert_match(rules, &p.id, 0, "root"); /* from the cache */
    p.id.euid = 3999999;                   /* no passwd entry */
    assert_match(rules, &p.id, 0, "3999999");
    p.id.has_euid = false;
    assert_match(rules, &p.id, 0, "");
    rules_free(rules);
}

static void test_cgroup_and_identity_fields_render_through_rules(void **state)
{
    (void)state;
    static const char *const cgroups[] = {"/system.slice/cron.service"};
    struct rules *rules = load_fixture("captures.yaml", NULL);
    struct fake_proc p;
    make_proc(&p, "sleep", ARGV("sleep", "60"));
    p.id.has_euid = true;
    p.id.euid = 0;
    p.id.ncgroups = 1;
    p.id.cgroups = cgroups;
    assert_match(rules, &p.id, 1, "root/sleep@/system.slice/cron.service");
    rules_free(rules);
}

static void test_needs_follow_selectors_and_templates(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        unsigned needs;
    } cases[] = {
        {"process_names: [{name: '{{.Comm}}', comm: [bash]}]", 0},
        {"process_names: [{name: '{{.Comm}}-{{.PID}}-{{.StartTime}}', comm: [bash]}]", 0},
        {"process_names: [{comm: [bash]}]", PROC_NEED_CMDLINE},
        {"process_names: [{name: x, exe: [bash]}]", PROC_NEED_CMDLINE},
        {"process_names: [{name: x, cmdline: [bash]}]", PROC_NEED_CMDLINE},
        {"process_names: [{name: '{{.Username}}', comm: [bash]}]", PROC_NEED_UID},
        {"process_names: [{name: '{{.Cgroups}}', comm: [bash]}]", PROC_NEED_CGROUP},
        {"process_names: [{name: '{{.Comm}}', comm: [a]}, {name: '{{.Username}}', comm: [b]}]",
         PROC_NEED_UID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rules *rules = load(cases[i].yaml);
        assert_int_equal(rules_needs(rules), cases[i].needs);
        rules_free(rules);
    }
}

/* ---- Broken configs: each stops loading with "PATH:LINE:COL: reason" ---- */

static void test_yaml_syntax_error_points_at_the_problem(void **state)
{
    (void)state;
    assert_fixture_error("syntax-unclosed-flow.yaml",
                         "3:8: did not find expected ',' or ']' (while parsing a flow sequence at "
                         "line 2, column 11)");
    assert_fixture_error("syntax-tab-indent.yaml",
                         "2:1: found character that cannot start any token (while scanning for "
                         "the next token at line 2, column 1)");
}

static void test_top_level_must_be_a_mapping(void **state)
{
    (void)state;
    assert_fixture_error(
        "top-level-sequence.yaml",
        "1:1: the top level must be a mapping with a \"process_names\" key, not a sequence");
    assert_fixture_error(
        "top-level-scalar.yaml",
        "1:1: the top level must be a mapping with a \"process_names\" key, not a string");
}

static void test_process_names_must_be_a_sequence_of_mappings(void **state)
{
    (void)state;
    assert_fixture_error("process-names-mapping.yaml",
                         "2:3: \"process_names\" must be a sequence, not a mapping");
    assert_fixture_error("item-scalar.yaml",
                         "3:5: items of \"process_names\" must be mappings, not a string");
}

static void test_selector_given_as_a_string_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("comm-scalar.yaml",
                         "3:11: \"comm\" must be a sequence of strings, not a string");
}

static void test_selector_given_as_a_mapping_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("exe-mapping.yaml",
                         "3:7: \"exe\" must be a sequence of strings, not a mapping");
}

static void test_selector_item_that_is_a_list_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("cmdline-nested-list.yaml",
                         "4:7: items of \"cmdline\" must be strings, not a sequence");
}

static void test_name_that_is_not_a_string_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("name-sequence.yaml", "2:11: \"name\" must be a string, not a sequence");
}

/* Checked against process-exporter 0.7.10: yaml.v2 lets a later key replace an earlier one. */
static void test_duplicate_keys_last_one_wins(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("duplicate-key.yaml", NULL);
    struct fake_proc p;
    assert_no_match(rules, make_proc(&p, "bash", ARGV("bash")));
    assert_match(rules, make_proc(&p, "zsh", ARGV("zsh")), 0, "zsh");
    rules_free(rules);
    rules = load_fixture("duplicate-top-key.yaml", NULL);
    assert_int_equal(rules_count(rules), 1);
    assert_no_match(rules, make_proc(&p, "bash", ARGV("bash")));
    assert_match(rules, make_proc(&p, "zsh", ARGV("zsh")), 0, "zsh");
    rules_free(rules);
}

static void test_item_without_selectors_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("no-matchers.yaml",
                         "3:5: no matchers provided: an item needs comm, exe or cmdline");
    assert_fixture_error("null-selectors.yaml",
                         "2:5: no matchers provided: an item needs comm, exe or cmdline");
    assert_fixture_error("empty-item.yaml", "3:4: no matchers provided: the item is empty");
}

static void test_bad_regex_names_pcre2_message_and_offset(void **state)
{
    (void)state;
    assert_fixture_error("bad-regex.yaml",
                         "5:9: bad cmdline regex \"(?P<app>[^/]+\\.jar\": missing closing "
                         "parenthesis at offset 18");
}

static void test_bad_template_points_at_the_token(void **state)
{
    (void)state;
    /* The error is placed at the token inside the scalar when the scalar stands in the file as
     * it is; "{{.Comm" ends at column 19 with the action unclosed. */
    assert_fixture_error("bad-template.yaml",
                         "2:19: bad name template \"{{.Comm\": unclosed action");
    assert_fixture_error("template-undefined-function.yaml",
                         "2:24: bad name template \"{{.Comm}}-{{fo .PID}}\": function \"fo\" not "
                         "defined");
    assert_fixture_error("template-undefined-variable.yaml",
                         "3:29: bad name template \"{{$x := .Comm}}{{$y}}\": undefined variable "
                         "\"$y\"");
    /* With escapes the scalar's start, and the place in the template. */
    assert_fixture_error("template-end-without-if.yaml",
                         "3:11: bad name template \"{{if eq .Comm \"bash\"}}b{{else}}other{{end}}"
                         "{{end}}\": unexpected {{end}} (template line 1, column 46)");
}

/* Loads CONFIG_DIR/strict/NAME twice: with a warning, then refused under strict templates. */
static void assert_strict_fixture(const char *name, const char *suffix)
{
    char path[512], expected[1024], err[512] = "";
    snprintf(path, sizeof(path), "%s/strict/%s", CONFIG_DIR, name);
    snprintf(expected, sizeof(expected), "%s:%s", path, suffix);
    struct warnings w = {0};
    struct rules *rules = rules_load_file(path, err, sizeof(err), collect_warning, &w);
    if (rules == NULL)
        fail_msg("%s did not load: %s", name, err);
    assert_int_equal(w.n, 1);
    rules_free(rules);
    rules_set_strict_templates(true);
    rules = rules_load_file(path, err, sizeof(err), NULL, NULL);
    rules_set_strict_templates(false);
    assert_null(rules);
    assert_string_equal(err, expected);
    /* The warning says the same, without the flag's name. */
    char *flag = strstr(expected, " (-config.strict-templates)");
    assert_non_null(flag);
    *flag = '\0';
    assert_string_equal(w.text[0], expected);
}

static void test_odd_templates_warn_or_are_refused_when_strict(void **state)
{
    (void)state;
    assert_strict_fixture("unknown-field.yaml",
                          "2:24: name template \"{{.Comm}}-{{.Nope}}\": can't evaluate field Nope "
                          "in type *config.templateParams: the name ends with what is rendered "
                          "before this (-config.strict-templates)");
    assert_strict_fixture("unknown-capture.yaml",
                          "4:35: name template \"{{.ExeBase}}:{{.Matches.Config}}\": "
                          ".Matches.Config renders \"<no value>\": no cmdline regex of this item "
                          "has a capture group named \"Config\" (-config.strict-templates)");
    assert_strict_fixture("builtin-unknown-capture.yaml",
                          "3:22: name template \"{{.Matches.pool}}\": .Matches.pool renders "
                          "\"<no value>\": no cmdline regex of this item has a capture group "
                          "named \"pool\" (-config.strict-templates)");
}

static void test_odd_templates_render_as_go_renders_them(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - name: 'x{{.Matches.nope}}'\n"
                               "    comm: [a]\n"
                               "  - name: 'b{{.Nope}}c'\n"
                               "    comm: [b]\n"
                               "  - name: '{{.Matches}}'\n"
                               "    cmdline: ['^(\\S+) (?P<arg>\\S+)']\n");
    struct proc_identity a = {.pid = 10, .comm = "a"};
    assert_match(rules, &a, 0, "x<no value>");
    struct proc_identity b = {.pid = 11, .comm = "b"};
    assert_match(rules, &b, 1, "b");
    /* process-exporter: the whole match and unnamed groups under "", the last one winning. */
    static const char *const argv[] = {"cat", "file", "more"};
    struct proc_identity c = {.pid = 12,
                              .comm = "c",
                              .argc = 3,
                              .argv = argv,
                              .cmdline = "cat file more",
                              .cmdline_len = 13};
    assert_match(rules, &c, 2, "map[:cat arg:file]");
    rules_free(rules);
}

static void test_go_template_functions_work_in_names(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("functions.yaml", NULL);
    struct proc_identity bash = {.pid = 10, .comm = "bash"};
    assert_match(rules, &bash, 0, "bas");
    rules_free(rules);
}

static void test_yaml_aliases_are_read(void **state)
{
    (void)state;
    struct rules *rules = load_fixture("alias.yaml", NULL);
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "zsh", ARGV("zsh")), 0, "zsh");
    rules_free(rules);
}

static void test_binary_selector_and_non_string_key_are_refused(void **state)
{
    (void)state;
    assert_fixture_error("binary-selector.yaml",
                         "2:11: \"comm\" must be a sequence of strings, not a string");
    assert_fixture_error("non-string-key.yaml",
                         "3:5: mapping keys must be strings, not a sequence");
}

static void test_string_with_nul_byte_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("nul-in-string.yaml", "2:12: string contains a NUL byte");
}

static void test_invalid_utf8_in_config_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("invalid-utf8.yaml", "2:17: invalid trailing UTF-8 octet (byte 0x28)");
}

static void test_deep_nesting_is_refused_before_it_costs_anything(void **state)
{
    (void)state;
    assert_fixture_error("deep-nesting.yaml", "3:73: nesting deeper than 64 levels");

    /* Under an unknown key, where the reader only skips: a megabyte of open brackets stops at
     * the 64th, which is the 65th level under the top mapping. */
    size_t len = 1 << 20;
    char *deep = malloc(len);
    assert_non_null(deep);
    memset(deep, '[', len);
    memcpy(deep, "x: ", 3);
    assert_buffer_error(deep, len, "test.yml:1:67: nesting deeper than 64 levels");
    for (size_t i = 3; i + 4 <= len; i += 4)
        memcpy(deep + i, "{a: ", 4);
    assert_buffer_error(deep, len, "test.yml:1:256: nesting deeper than 64 levels");
    free(deep);
}

static void test_binary_garbage_is_refused(void **state)
{
    (void)state;
    assert_fixture_error("binary.yaml", "1:1: control characters are not allowed (byte 0x7F)");
    static const char garbage[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9";
    assert_buffer_error(garbage, sizeof(garbage) - 1,
                        "test.yml:1:1: control characters are not allowed (byte 0x1F)");
    assert_buffer_error("process_names:\n  - comm: [\xff]\n",
                        strlen("process_names:\n  - comm: [\xff]\n"),
                        "test.yml:2:12: invalid leading UTF-8 octet (byte 0xFF)");
    assert_buffer_error("a: b\0c", 6,
                        "test.yml:1:5: control characters are not allowed (byte "
                        "0x00)");
}

/* ---- Built-in matchers ---- */

/* A stand-in for the PVE matcher: comm "kvm" with argv[2] as the vmid (a capture into the
 * identity), and a name written into the scratch the rules lend. */
static enum rules_builtin_answer fake_vm_matcher(void *ctx, const struct proc_identity *id,
                                                 struct rules_span *caps,
                                                 struct rules_scratch *scratch)
{
    int *calls = ctx;
    (*calls)++;
    if (strcmp(id->comm, "kvm") != 0 || id->argc < 3)
        return RULES_BUILTIN_NO;
    caps[0] = (struct rules_span){id->argv[2], strlen(id->argv[2])};
    char name[] = "web";
    caps[1] = rules_scratch_put(scratch, name, 3);
    memset(name, 'x', 3); /* the capture is the rules' copy */
    return RULES_BUILTIN_MATCH;
}

static void test_builtin_item_matches_through_its_function(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - builtin: pve-qemu\n"
                               "  - name: '{{.Matches.name}}-{{.Matches.vmid}}'\n"
                               "    builtin: pve-qemu\n"
                               "  - name: '{{.Comm}}'\n"
                               "    cmdline: ['.+']\n");
    struct fake_proc p;
    const struct proc_identity *vm = make_proc(&p, "kvm", ARGV("/usr/bin/kvm", "-id", "100"));
    /* Not registered yet: the builtin items match nothing. */
    assert_match(rules, vm, 2, "kvm");
    int calls = 0;
    rules_set_builtin(rules, "pve-qemu", fake_vm_matcher, &calls);
    assert_match(rules, vm, 0, "qemu/100");
    assert_int_equal(calls, 1);
    struct fake_proc q;
    assert_match(rules, make_proc(&q, "bash", ARGV("bash")), 2, "bash");
    assert_string_equal(rules_builtin_of(rules, 0), "pve-qemu");
    assert_null(rules_builtin_of(rules, 2));
    assert_true(rules_uses_builtin(rules, "pve-qemu"));
    assert_true(rules_needs(rules) & PROC_NEED_EXE);
    assert_true(rules_needs(rules) & PROC_NEED_CGROUP);
    rules_free(rules);

    rules = load("process_names:\n  - name: '{{.Matches.name}}:{{.Matches.vmid}}'\n"
                 "    builtin: pve-qemu\n");
    rules_set_builtin(rules, "pve-qemu", fake_vm_matcher, &calls);
    assert_match(rules, vm, 0, "web:100");
    assert_false(rules_uses_builtin(rules, "other"));
    rules_free(rules);
}

/* A builtin that cannot decide yet for "kvm" (its VM's config is missing), and says no to others.
 */
static enum rules_builtin_answer later_matcher(void *ctx, const struct proc_identity *id,
                                               struct rules_span *caps,
                                               struct rules_scratch *scratch)
{
    (void)ctx;
    (void)caps;
    (void)scratch;
    return strcmp(id->comm, "kvm") == 0 ? RULES_BUILTIN_LATER : RULES_BUILTIN_NO;
}

/* An undecided builtin passes the process on to the next items, and the match says it may change.
 */
static void test_builtin_later_is_undecided(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n"
                               "  - builtin: pve-qemu\n"
                               "  - name: '{{.Comm}}'\n"
                               "    cmdline: ['.+']\n");
    rules_set_builtin(rules, "pve-qemu", later_matcher, NULL);
    struct fake_proc p, q;
    assert_match(rules, make_proc(&p, "kvm", ARGV("/usr/bin/kvm", "-id", "100")), 1, "kvm");
    assert_true(rules_match_undecided(rules));
    assert_match(rules, make_proc(&q, "bash", ARGV("bash")), 1, "bash");
    assert_false(rules_match_undecided(rules));
    rules_free(rules);
}

/* A builtin whose name capture is a long run of one letter, taken from argv[1]. */
static enum rules_builtin_answer long_name_matcher(void *ctx, const struct proc_identity *id,
                                                   struct rules_span *caps,
                                                   struct rules_scratch *scratch)
{
    (void)ctx;
    char name[300];
    memset(name, id->argv[1][0], sizeof(name));
    caps[0] = rules_scratch_put(scratch, id->argv[1], 1);
    caps[1] = rules_scratch_put(scratch, name, sizeof(name));
    return RULES_BUILTIN_MATCH;
}

static void test_builtin_scratch_is_lent_afresh_to_each_call(void **state)
{
    (void)state;
    struct rules *rules = load("process_names:\n  - name: '{{.Matches.vmid}}{{.Matches.name}}'\n"
                               "    builtin: pve-qemu\n");
    rules_set_builtin(rules, "pve-qemu", long_name_matcher, NULL);
    struct fake_proc p, q;
    char a[302], b[302];
    memset(a, 'a', 301);
    a[301] = '\0';
    memset(b, 'b', 301);
    b[301] = '\0';
    /* Each match renders its whole name: the second is not cut by what the first left. */
    assert_match(rules, make_proc(&p, "kvm", ARGV("kvm", "a")), 0, a);
    assert_match(rules, make_proc(&q, "kvm", ARGV("kvm", "b")), 0, b);
    rules_free(rules);

    /* What does not fit is cut, never written past the storage. */
    struct rules_scratch scratch = {.used = 0};
    static char big[RULES_SCRATCH_SIZE + 10];
    memset(big, 'z', sizeof(big));
    struct rules_span s1 = rules_scratch_put(&scratch, big, 10);
    struct rules_span s2 = rules_scratch_put(&scratch, big, sizeof(big));
    assert_int_equal(s1.len, 10);
    assert_int_equal(s2.len, RULES_SCRATCH_SIZE - 10);
    assert_ptr_equal(s2.ptr, scratch.text + 10);
    assert_int_equal(rules_scratch_put(&scratch, "x", 1).len, 0);
}

static void test_builtin_item_errors(void **state)
{
    (void)state;
    const char *unknown = "process_names:\n  - builtin: pve-openvz\n";
    assert_buffer_error(unknown, strlen(unknown),
                        "test.yml:2:14: unknown builtin \"pve-openvz\" (known: pve-qemu, pve-lxc)");
    const char *mixed = "process_names:\n  - builtin: pve-qemu\n    comm: [kvm]\n";
    assert_buffer_error(mixed, strlen(mixed),
                        "test.yml:2:5: a builtin item takes no comm, exe or cmdline: the builtin "
                        "is its matcher");
    const char *capture = "process_names:\n  - builtin: pve-qemu\n    name: '{{.Matches.pool'\n";
    char err[512] = "";
    assert_null(
        rules_load_buffer("test.yml", capture, strlen(capture), err, sizeof(err), NULL, NULL));
    assert_non_null(strstr(err, "test.yml:3:27: bad name template"));
    const char *type = "process_names:\n  - builtin: [pve-qemu]\n";
    assert_buffer_error(type, strlen(type),
                        "test.yml:2:14: \"builtin\" must be a string, not a sequence");
}

/* ---- always: true (a proctrack extension) ---- */

static void test_always_item_names_its_literal_group(void **state)
{
    (void)state;
    const char *yaml = "process_names:\n"
                       "  - name: postgres\n    always: true\n    comm: [postgres]\n"
                       "  - name: '{{.Comm}}'\n    always: false\n    comm: [nginx]\n"
                       "  - name: cron\n    comm: [cron]\n"
                       "  - name: qemu-vms\n    always: yes\n    builtin: pve-qemu\n";
    struct warnings w = {0};
    char err[512] = "";
    struct rules *rules =
        rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), collect_warning, &w);
    assert_non_null(rules);
    assert_int_equal(w.n, 0); /* a key of its own, not an unknown one */
    assert_string_equal(rules_always_group(rules, 0), "postgres");
    assert_null(rules_always_group(rules, 1));
    assert_null(rules_always_group(rules, 2));
    assert_string_equal(rules_always_group(rules, 3), "qemu-vms");
    assert_null(rules_always_group(rules, 4));
    /* The item matches as any other. */
    struct fake_proc p;
    assert_match(rules, make_proc(&p, "postgres", ARGV("postgres", "-D", "/srv")), 0, "postgres");
    assert_match(rules, make_proc(&p, "nginx", ARGV("nginx")), 1, "nginx");
    rules_free(rules);
}

static void test_always_needs_a_literal_name(void **state)
{
    (void)state;
    static const char templated[] = "\"always: true\" needs a literal name, not the template ";
    static const char unnamed[] =
        "\"always: true\" needs a literal name: without \"name\" each process names its group";
    static const struct {
        const char *yaml, *where, *reason, *rest;
    } cases[] = {
        {"  - name: '{{.Comm}}'\n    comm: [sshd]\n    always: true\n", "4:13", templated,
         "\"{{.Comm}}\": a templated name is known only when a process matches"},
        {"  - {name: 'java-{{.Matches.app}}', always: true, cmdline: ['(?P<app>x)']}\n", "2:45",
         templated,
         "\"java-{{.Matches.app}}\": a templated name is known only when a process matches"},
        {"  - always: true\n    comm: [sshd]\n", "2:13", unnamed, ""},
        {"  - name: ''\n    always: true\n    comm: [sshd]\n", "3:13", unnamed, ""},
        {"  - builtin: pve-qemu\n    always: true\n", "3:13", unnamed, ""},
        {"  - name: sshd\n    always: maybe\n    comm: [sshd]\n", "3:13",
         "\"always\" must be true or false, not \"maybe\"", ""},
        {"  - name: sshd\n    always: [true]\n    comm: [sshd]\n", "3:13",
         "\"always\" must be true or false, not a sequence", ""},
        /* yaml.v2: the last of a repeated key wins */
        {"  - name: '{{.Comm}}'\n    always: false\n    always: true\n    comm: [sshd]\n", "4:13",
         templated, "\"{{.Comm}}\": a templated name is known only when a process matches"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[256], expected[512];
        snprintf(yaml, sizeof(yaml), "process_names:\n%s", cases[i].yaml);
        snprintf(expected, sizeof(expected), "test.yml:%s: %s%s", cases[i].where, cases[i].reason,
                 cases[i].rest);
        assert_buffer_error(yaml, strlen(yaml), expected);
    }
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_item_matches_through_its_function),
        cmocka_unit_test(test_builtin_scratch_is_lent_afresh_to_each_call),
        cmocka_unit_test(test_builtin_later_is_undecided),
        cmocka_unit_test(test_builtin_item_errors),
        cmocka_unit_test(test_always_item_names_its_literal_group),
        cmocka_unit_test(test_always_needs_a_literal_name),
        cmocka_unit_test(test_packaged_all_yaml_groups_processes_with_a_cmdline_by_comm),
        cmocka_unit_test(test_embedded_default_config_is_pve_then_the_catch_all),
        cmocka_unit_test(test_readme_selector_example_matches_like_process_exporter),
        cmocka_unit_test(test_readme_home_config_names_upstart_user_session),
        cmocka_unit_test(test_empty_configs_give_zero_rules),
        cmocka_unit_test(test_unknown_keys_are_ignored_with_a_positioned_warning),
        cmocka_unit_test(test_only_the_first_yaml_document_is_read),
        cmocka_unit_test(test_describe_names_the_item_and_where_it_is),
        cmocka_unit_test(test_missing_file_reports_path_and_errno_text),
        cmocka_unit_test(test_file_over_16_mib_is_refused),
        cmocka_unit_test(test_comm_matches_exactly_and_case_sensitively),
        cmocka_unit_test(test_exe_rule_without_slash_matches_basename_of_argv0),
        cmocka_unit_test(test_exe_rule_with_slash_needs_exact_argv0),
        cmocka_unit_test(test_exe_rules_with_the_same_basename_are_all_kept),
        cmocka_unit_test(test_exe_matches_argv0_not_the_exe_link),
        cmocka_unit_test(test_process_without_argv_never_matches_exe),
        cmocka_unit_test(test_selectors_of_an_item_must_all_match),
        cmocka_unit_test(test_cmdline_regexes_must_all_match),
        cmocka_unit_test(test_cmdline_search_is_unanchored),
        cmocka_unit_test(test_cmdline_anchors_match_the_whole_command_line),
        cmocka_unit_test(test_dollar_matches_only_at_the_very_end),
        cmocka_unit_test(test_go_regex_syntax_works),
        cmocka_unit_test(test_invalid_utf8_cmdline_is_searched_not_rejected),
        cmocka_unit_test(test_invalid_utf8_bytes_are_one_character_each_as_in_go),
        cmocka_unit_test(test_regex_syntax_go_refuses_is_refused),
        cmocka_unit_test(test_space_escapes_mean_what_they_mean_in_go),
        cmocka_unit_test(test_repetition_go_takes_is_taken_and_matches),
        cmocka_unit_test(test_classes_literals_and_groups_read_as_in_go),
        cmocka_unit_test(test_group_names_pcre2_refuses_work_as_in_go),
        cmocka_unit_test(test_backtracking_regex_gives_up_and_is_counted),
        cmocka_unit_test(test_named_captures_merge_and_later_regexes_win),
        cmocka_unit_test(test_named_group_that_did_not_take_part_is_empty),
        cmocka_unit_test(test_first_matching_item_wins),
        cmocka_unit_test(test_missing_or_empty_name_means_exe_base),
        cmocka_unit_test(test_username_comes_from_the_effective_uid),
        cmocka_unit_test(test_cgroup_and_identity_fields_render_through_rules),
        cmocka_unit_test(test_needs_follow_selectors_and_templates),
        cmocka_unit_test(test_yaml_syntax_error_points_at_the_problem),
        cmocka_unit_test(test_top_level_must_be_a_mapping),
        cmocka_unit_test(test_process_names_must_be_a_sequence_of_mappings),
        cmocka_unit_test(test_selector_given_as_a_string_is_refused),
        cmocka_unit_test(test_selector_given_as_a_mapping_is_refused),
        cmocka_unit_test(test_selector_item_that_is_a_list_is_refused),
        cmocka_unit_test(test_name_that_is_not_a_string_is_refused),
        cmocka_unit_test(test_duplicate_keys_last_one_wins),
        cmocka_unit_test(test_item_without_selectors_is_refused),
        cmocka_unit_test(test_bad_regex_names_pcre2_message_and_offset),
        cmocka_unit_test(test_bad_template_points_at_the_token),
        cmocka_unit_test(test_odd_templates_warn_or_are_refused_when_strict),
        cmocka_unit_test(test_odd_templates_render_as_go_renders_them),
        cmocka_unit_test(test_go_template_functions_work_in_names),
        cmocka_unit_test(test_yaml_aliases_are_read),
        cmocka_unit_test(test_binary_selector_and_non_string_key_are_refused),
        cmocka_unit_test(test_string_with_nul_byte_is_refused),
        cmocka_unit_test(test_invalid_utf8_in_config_is_refused),
        cmocka_unit_test(test_deep_nesting_is_refused_before_it_costs_anything),
        cmocka_unit_test(test_binary_garbage_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
