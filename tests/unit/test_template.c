#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/template.h"

/* 2017-10-19T22:52:51.19Z, the StartTime example of process-exporter's reference output. */
#define START_2017 (1508453571ull * 1000000000ull + 190000000ull)

static const char *const python_argv[] = {"/usr/bin/python3", "-m", "http.server"};
static const char *const two_cgroups[] = {"/system.slice/a.service", "/user.slice"};

static struct proc_identity python_id(void)
{
    return (struct proc_identity){
        .pid = 4242,
        .comm = "python3",
        .argc = 3,
        .argv = python_argv,
        .cmdline = "/usr/bin/python3 -m http.server",
        .cmdline_len = strlen("/usr/bin/python3 -m http.server"),
        .start_time_ns = START_2017,
        .has_euid = true,
        .euid = 1000,
        .ncgroups = 2,
        .cgroups = two_cgroups,
    };
}

static struct proc_identity kthread_id(void)
{
    return (struct proc_identity){.pid = 2, .comm = "kthreadd", .argc = 0, .cmdline = ""};
}

/* Captures of a regex like `(?P<first>\S+) (?P<second>\S*)`: Go keys the whole match "". */
static const char *const capture_names[] = {"first", "second", ""};

static struct tmpl *compile(const char *text, struct tmpl_diag *warning)
{
    struct tmpl_diag err;
    struct tmpl *t = tmpl_compile(text, strlen(text), capture_names, 3, &err, warning);
    if (t == NULL)
        fail_msg("template %s did not compile: %zu:%zu: %s", text, err.line, err.column,
                 err.message);
    return t;
}

static void assert_renders_values(const char *text, const struct tmpl_values *values,
                                  const char *expected)
{
    struct tmpl *t = compile(text, NULL);
    struct strbuf out = STRBUF_INIT;
    tmpl_render(t, values, &out);
    assert_string_equal(strbuf_str(&out), expected);
    strbuf_free(&out);
    tmpl_free(t);
}

static const struct tmpl_span python_captures[] = {
    {"-m", 2}, {"http.server", 11}, {"-m http.server", 14}};

static void assert_renders(const char *text, const struct proc_identity *id, const char *expected)
{
    struct tmpl_values values = {
        .id = id, .username = "alice", .captures = python_captures, .ncaptures = 3};
    assert_renders_values(text, &values, expected);
}

/* Renders with the python process; for expected values that do not depend on it. */
static void assert_go(const char *text, const char *expected)
{
    struct proc_identity id = python_id();
    assert_renders(text, &id, expected);
}

/* A syntax error: its message, and the 1-based line and column of the token it is about. */
static void assert_compile_error_at(const char *text, size_t line, size_t column,
                                    const char *expected)
{
    struct tmpl_diag err;
    struct tmpl *t = tmpl_compile(text, strlen(text), capture_names, 3, &err, NULL);
    if (t != NULL)
        fail_msg("template %s compiled", text);
    assert_string_equal(err.message, expected);
    if (err.line != line || err.column != column)
        fail_msg("%s: error at %zu:%zu, not %zu:%zu", text, err.line, err.column, line, column);
}

static void assert_compile_error(const char *text, const char *expected)
{
    struct tmpl_diag err;
    struct tmpl *t = tmpl_compile(text, strlen(text), capture_names, 3, &err, NULL);
    if (t != NULL)
        fail_msg("template %s compiled", text);
    assert_string_equal(err.message, expected);
}

/* A template that compiles with a warning at `column` (line 1) that contains `part`. */
static void assert_warns_at(const char *text, size_t column, const char *part)
{
    struct tmpl_diag warning;
    struct tmpl *t = compile(text, &warning);
    if (strstr(warning.message, part) == NULL)
        fail_msg("warning for %s is \"%s\", not about \"%s\"", text, warning.message, part);
    assert_int_equal(warning.line, 1);
    assert_int_equal(warning.column, column);
    tmpl_free(t);
}

static void assert_no_warning(const char *text)
{
    struct tmpl_diag warning;
    struct tmpl *t = compile(text, &warning);
    if (warning.message[0])
        fail_msg("warning for %s: %s", text, warning.message);
    tmpl_free(t);
}

static unsigned needs_of(const char *text)
{
    struct tmpl *t = compile(text, NULL);
    unsigned needs = tmpl_needs(t);
    tmpl_free(t);
    return needs;
}

static void test_literal_text_renders_unchanged(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("web servers } {", &id, "web servers } {");
    assert_renders("", &id, "");
}

static void test_comm_renders_stat_comm(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.Comm}}", &id, "python3");
    assert_renders("[{{.Comm}}]:{{.Comm}}", &id, "[python3]:python3");
}

static void test_exe_base_is_basename_of_argv0(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.ExeBase}}", &id, "python3");
}

static void test_exe_base_follows_go_filepath_base(void **state)
{
    (void)state;
    struct tmpl_span s = tmpl_exe_base("/usr/lib/");
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "lib", 3);
    s = tmpl_exe_base("");
    assert_int_equal(s.len, 1);
    assert_memory_equal(s.ptr, ".", 1);
    s = tmpl_exe_base("///");
    assert_int_equal(s.len, 1);
    assert_memory_equal(s.ptr, "/", 1);
    s = tmpl_exe_base("nginx: worker process");
    assert_int_equal(s.len, strlen("nginx: worker process"));
}

static void test_exe_full_is_argv0_as_given(void **state)
{
    (void)state;
    static const char *const relative[] = {"./process-exporter", "-procnames", "bash"};
    struct proc_identity id = python_id();
    id.argv = relative;
    id.exe = "/opt/bin/process-exporter";
    assert_renders("{{.ExeFull}}", &id, "./process-exporter");
    assert_renders("{{.ExeBase}}", &id, "process-exporter");
}

static void test_exe_fields_fall_back_to_comm_without_argv(void **state)
{
    (void)state;
    struct proc_identity id = kthread_id();
    assert_renders("{{.ExeBase}}/{{.ExeFull}}", &id, "kthreadd/kthreadd");
}

static void test_username_renders_the_given_name_or_nothing(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.Username}}", &id, "alice");
    struct tmpl_values values = {.id = &id, .username = NULL};
    assert_renders_values("<{{.Username}}>", &values, "<>");
}

static void test_pid_renders_in_decimal(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.Comm}}-{{.PID}}", &id, "python3-4242");
}

static void test_start_time_renders_like_go_time_string(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.StartTime}}", &id, "2017-10-19 22:52:51.19 +0000 UTC");
}

static void test_start_time_on_a_whole_second_has_no_dot(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    id.start_time_ns = 1508453571ull * 1000000000ull;
    assert_renders("{{.StartTime}}", &id, "2017-10-19 22:52:51 +0000 UTC");
    id.start_time_ns = 0;
    assert_renders("{{.StartTime}}", &id, "1970-01-01 00:00:00 +0000 UTC");
}

static void test_start_time_keeps_nanoseconds(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    tmpl_format_time(1508453571ull * 1000000000ull + 1, &out);
    assert_string_equal(strbuf_str(&out), "2017-10-19 22:52:51.000000001 +0000 UTC");
    strbuf_reset(&out);
    tmpl_format_time(1508453571ull * 1000000000ull + 123456780, &out);
    assert_string_equal(strbuf_str(&out), "2017-10-19 22:52:51.12345678 +0000 UTC");
    strbuf_free(&out);
}

static void test_start_time_handles_leap_days_and_centuries(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    tmpl_format_time(951782400ull * 1000000000ull, &out);
    assert_string_equal(strbuf_str(&out), "2000-02-29 00:00:00 +0000 UTC");
    strbuf_reset(&out);
    tmpl_format_time(4107628799ull * 1000000000ull, &out);
    assert_string_equal(strbuf_str(&out), "2100-03-01 23:59:59 +0000 UTC");
    strbuf_free(&out);
}

static void test_start_time_unix_is_whole_seconds(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.StartTime.Unix}}", &id, "1508453571");
}

static void test_cgroups_render_like_a_go_slice(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{.Cgroups}}", &id, "[/system.slice/a.service /user.slice]");
    id.ncgroups = 0;
    id.cgroups = NULL;
    assert_renders("{{.Cgroups}}", &id, "[]");
}

static void test_index_cgroups_picks_one_path(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{index .Cgroups 0}}", &id, "/system.slice/a.service");
    assert_renders("{{ index  .Cgroups\t1 }}", &id, "/user.slice");
}

static void test_index_cgroups_out_of_range_stops_the_name(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    /* Go: "error calling index: index out of range: 2"; process-exporter keeps what was written
     * before the failing action. */
    assert_renders("<{{index .Cgroups 2}}>", &id, "<");
}

static void test_matches_render_captures_by_slot(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    struct tmpl_span captures[] = {{"http.server", 11}, {"", 0}, {"", 0}};
    struct tmpl_values values = {.id = &id, .captures = captures, .ncaptures = 3};
    assert_renders_values("{{.Matches.first}}|{{.Matches.second}}", &values, "http.server|");
}

static void test_spaces_inside_braces_are_allowed(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("{{ .Comm }}:{{\t.PID\n}}", &id, "python3:4242");
}

static void test_trim_markers_remove_adjacent_whitespace(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("a \t\n {{- .Comm -}} \n b", &id, "apython3b");
    assert_renders("a {{- .Comm }} b", &id, "apython3 b");
    assert_renders("a {{ .Comm -}} b", &id, "a python3b");
}

static void test_dash_without_space_is_not_a_trim_marker(void **state)
{
    (void)state;
    /* "{{-.Comm}}": the lexer reads "-." as the start of a number. */
    assert_compile_error_at("a {{-.Comm}}", 1, 5, "bad number syntax: \"-.C\"");
    assert_go("{{-3}}", "-3");
}

static void test_comments_render_nothing(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("a{{/* the comm */}}b{{.Comm}}", &id, "abpython3");
    assert_renders("a {{- /* multi\nline */ -}} b", &id, "ab");
}

static void test_needs_follow_the_fields_used(void **state)
{
    (void)state;
    assert_int_equal(needs_of("{{.Comm}}-{{.PID}}-{{.StartTime}}-{{.StartTime.Unix}}"), 0);
    assert_int_equal(needs_of("{{.ExeBase}}"), PROC_NEED_CMDLINE);
    assert_int_equal(needs_of("{{.ExeFull}}"), PROC_NEED_CMDLINE);
    assert_int_equal(needs_of("{{.Matches.first}}"), PROC_NEED_CMDLINE);
    assert_int_equal(needs_of("{{.Username}}"), PROC_NEED_UID);
    assert_int_equal(needs_of("{{.Cgroups}}"), PROC_NEED_CGROUP);
    assert_int_equal(needs_of("{{index .Cgroups 0}}"), PROC_NEED_CGROUP);
    assert_int_equal(needs_of("{{.Username}}{{.Cgroups}}"), PROC_NEED_UID | PROC_NEED_CGROUP);
}

/* Where the expected values come from: "PE" marks output of Debian's process-exporter 0.7.10
 * (built with Go 1.19.8) for the same template, read from its groupname label; "doc" marks
 * Go's documentation of text/template, fmt or time. */

static void test_matches_print_as_a_go_map_in_key_order(void **state)
{
    (void)state;
    /* PE: `{{.Matches}}` gave "map[:zone app:web zone:eu]" for the regex
     * `--name=(?P<app>\w+) (zone)=(?P<zone>\w+)`: the key "" first, keys sorted. */
    assert_go("{{.Matches}}", "map[:-m http.server first:-m second:http.server]");
    assert_go("{{printf \"%#v\" .Matches}}",
              "map[string]string{\"\":\"-m http.server\", \"first\":\"-m\", "
              "\"second\":\"http.server\"}");
    assert_go("{{len .Matches}}", "3");
}

static void test_missing_map_key_renders_no_value(void **state)
{
    (void)state;
    /* PE: "{{.Matches.nope}}" rendered "<no value>"; printf got a nil: "%!s(<nil>)". */
    assert_go("{{.Matches.nope}}", "<no value>");
    assert_go("[{{.Matches.nope.deeper}}]", "[<no value>]");
    assert_go("{{printf \"%s\" .Matches.nope}}", "%!s(<nil>)");
    assert_go("{{print .Matches.nope}}", "<nil>");
    /* PE: index gives the map's zero value, "". */
    assert_go("[{{index .Matches \"nope\"}}]", "[]");
    /* PE: eq of a missing value and a string is false, not an error; if treats it as false. */
    assert_go("{{eq .Matches.nope \"x\"}}", "false");
    assert_go("{{if .Matches.nope}}y{{else}}n{{end}}", "n");
    assert_go("{{not .Matches.nope}}|{{or .Matches.nope \"d\"}}", "true|d");
    /* PE: len of it is an error, and the name stops there. */
    assert_go("a{{len .Matches.nope}}b", "a");
}

static void test_unknown_field_stops_the_name(void **state)
{
    (void)state;
    /* PE: "{{.Nope}}" gave "", "a{{.Nope}}b" gave "a": Execute fails there, and
     * process-exporter keeps the buffer. */
    assert_go("{{.Nope}}", "");
    assert_go("a{{.Nope}}b", "a");
    assert_go("{{.Comm.Foo}}after", "");
    assert_go("pre{{.Matches.first.x}}post", "pre");
    /* PE: 0.7.10 has no Cwd field. */
    assert_go("x{{.Cwd}}", "x");
    assert_go("{{.PID.X}}", "");
    assert_go("{{.StartTime.Nope}}", "");
}

static void test_the_data_prints_as_a_go_struct(void **state)
{
    (void)state;
    /* PE: "{{.}}" gave "{[/ ...] tq6 pt_load /tmp/.../pt_load root 2129 2026-11-27 ... UTC
     * map[...]}", printf %v the same with "&". */
    const char *fields = "[/system.slice/a.service /user.slice] python3 python3 /usr/bin/python3 "
                         "alice 4242 2017-10-19 22:52:51.19 +0000 UTC map[:-m http.server "
                         "first:-m second:http.server]}";
    char expected[512];
    snprintf(expected, sizeof(expected), "{%s", fields);
    assert_go("{{.}}", expected);
    snprintf(expected, sizeof(expected), "&{%s", fields);
    assert_go("{{printf \"%v\" .}}", expected);
    assert_go("{{printf \"%T\" .}}", "*config.templateParams");
    assert_go("{{printf \"%+v\" .}}",
              "&{Cgroups:[/system.slice/a.service /user.slice] Comm:python3 ExeBase:python3 "
              "ExeFull:/usr/bin/python3 Username:alice PID:4242 StartTime:2017-10-19 "
              "22:52:51.19 +0000 UTC Matches:map[:-m http.server first:-m second:http.server]}");
}

static void test_literals_print_as_go_constants(void **state)
{
    (void)state;
    /* PE: "{{1.5}} {{1e6}} {{0x10}} {{'a'}} {{-3}} {{1_000}}" gave "1.5 1e+06 16 97 -3 1000";
     * "{{1e3}}|{{0b101}}|{{0o17}}|{{017}}|{{-0x10}}|{{.5}}" gave "1000|5|15|15|-16|0.5". */
    assert_go("{{1.5}} {{1e6}} {{0x10}} {{'a'}} {{-3}} {{1_000}}", "1.5 1e+06 16 97 -3 1000");
    assert_go("{{1e3}}|{{0b101}}|{{0o17}}|{{017}}|{{-0x10}}|{{.5}}", "1000|5|15|15|-16|0.5");
    assert_go("{{true}} {{false}} {{\"a\\tb\"}} {{`raw\\n`}}", "true false a\tb raw\\n");
    assert_go("{{\"\\u00e9\\x41\\101\"}}", "\xc3\xa9"
                                           "AA");
    /* doc: nil is not a command. */
    assert_go("a{{nil}}", "a");
}

static void test_pipelines_pass_the_value_as_last_argument(void **state)
{
    (void)state;
    /* PE: these four. */
    assert_go("{{.Comm | printf \"%s-x\"}}", "python3-x");
    assert_go("{{\"2006\" | .StartTime.Format}}", "2017");
    assert_go("{{.Comm | len | printf \"%d\"}}", "7");
    assert_go("{{(printf \"%s\" .Comm)}}", "python3");
    /* doc: a parenthesised pipeline's result takes fields. */
    assert_go("{{(index .Cgroups 0) | printf \"<%s>\"}}", "</system.slice/a.service>");
    assert_go("{{(.StartTime).Year}}", "2017");
}

static void test_variables_declare_assign_and_scope(void **state)
{
    (void)state;
    /* PE: "{{$x := 1}}{{$x = 2}}{{$x}}" gave "2"; an assignment inside if changes the outer
     * variable. */
    assert_go("{{$x := 1}}{{$x = 2}}{{$x}}", "2");
    assert_go("{{$x := \"a\"}}{{if true}}{{$x = \"b\"}}{{$y := 1}}{{end}}{{$x}}", "b");
    assert_go("{{$}}", "{[/system.slice/a.service /user.slice] python3 python3 /usr/bin/python3 "
                       "alice 4242 2017-10-19 22:52:51.19 +0000 UTC map[:-m http.server "
                       "first:-m second:http.server]}");
    assert_go("{{with .Cgroups}}{{$.Comm}}{{end}}", "python3");
    assert_go("{{$c := .Comm}}{{$c}}-{{$c | len}}", "python3-7");
    /* A declaration prints nothing. */
    assert_go("[{{$x := .Comm}}]", "[]");
    /* Many variables at once. */
    assert_go("{{$a := 1}}{{$b := 2}}{{$c := 3}}{{$d := 4}}{{$e := 5}}{{$f := 6}}{{$g := 7}}"
              "{{$h := 8}}{{$i := 9}}{{$j := 10}}{{$k := 11}}{{$l := .Comm}}{{$a}}{{$k}}{{$l}}",
              "111python3");
}

static void test_if_else_if_else(void **state)
{
    (void)state;
    /* PE: "{{if eq .Comm \"zz\"}}A{{else if eq .Comm \"tq2\"}}B{{else}}C{{end}}" gave "B" for
     * comm tq2. */
    assert_go("{{if eq .Comm \"zz\"}}A{{else if eq .Comm \"python3\"}}B{{else}}C{{end}}", "B");
    assert_go("{{if eq .Comm \"zz\"}}A{{else if eq .Comm \"yy\"}}B{{else}}C{{end}}", "C");
    assert_go("{{if .Comm}}A{{end}}", "A");
    /* doc: empty values are false: "", 0, false, an empty slice or map. */
    assert_go("{{if \"\"}}y{{end}}{{if 0}}y{{end}}{{if false}}y{{end}}|", "|");
    struct proc_identity id = kthread_id();
    assert_renders("{{if .Cgroups}}y{{else}}none{{end}}", &id, "none");
}

static void test_range_over_slices_and_maps(void **state)
{
    (void)state;
    /* PE: range over Matches visits the keys in order; "{{range $i, $v := .Matches}}..." gave
     * "=zone;app=web;zone=eu;". */
    assert_go("{{range $k, $v := .Matches}}{{$k}}={{$v}};{{end}}",
              "=-m http.server;first=-m;second=http.server;");
    assert_go("{{range .Matches}}{{.}},{{end}}", "-m http.server,-m,http.server,");
    assert_go("{{range $i, $c := .Cgroups}}{{$i}}:{{$c}} {{end}}",
              "0:/system.slice/a.service 1:/user.slice ");
    assert_go("{{range $c := .Cgroups}}[{{$c}}]{{end}}", "[/system.slice/a.service][/user.slice]");
    struct proc_identity id = kthread_id();
    assert_renders("{{range .Cgroups}}[{{.}}]{{else}}none{{end}}", &id, "none");
    /* PE: break and continue (Go 1.18). */
    assert_go("{{range $i, $c := .Cgroups}}{{if gt $i 0}}{{break}}{{end}}{{$i}}{{end}}", "0");
    assert_go("{{range .Cgroups}}{{if eq . \"/user.slice\"}}{{continue}}{{end}}<{{.}}>{{end}}",
              "</system.slice/a.service>");
    /* doc (Go 1.19): range over a number is an error. */
    assert_go("a{{range 3}}x{{end}}", "a");
}

static void test_with_sets_dot(void **state)
{
    (void)state;
    /* PE: "{{with $v := .Matches.app}}{{$v}}-{{.}}{{end}}" gave "web-web"; with of a missing
     * key takes the else branch. */
    assert_go("{{with $v := .Matches.second}}{{$v}}-{{.}}{{end}}", "http.server-http.server");
    assert_go("{{with .Matches.nope}}y{{else}}n{{end}}", "n");
    assert_go("{{with .StartTime}}{{.Year}}{{end}}", "2017");
}

static void test_define_template_block(void **state)
{
    (void)state;
    /* PE: each of these; a template body has its own $ and variables, a missing template or
     * argument behaves as Go's. */
    assert_go("{{define \"x\"}}[{{.}}]{{end}}a{{template \"x\" .Comm}}b", "a[python3]b");
    assert_go("{{block \"y\" .PID}}<{{.}}>{{end}}", "<4242>");
    assert_go("{{define \"z\"}}{{$}}{{end}}{{template \"z\" 5}}", "5");
    assert_go("{{template \"nope\" .}}after", "");
    assert_go("{{define \"x\"}} {{end}}{{define \"x\"}}2{{end}}{{template \"x\"}}", "2");
    assert_go("{{define \"w\"}}{{.Comm}}{{end}}{{template \"w\" .}}-{{template \"w\"}}",
              "python3-<no value>");
    assert_go("{{range .Cgroups}}{{block \"b\" .}}{{len .}}{{end}}{{end}}", "2311");
    assert_go("{{if true}}{{template \"q\" 1}}{{end}}{{define \"q\"}}Q{{.}}{{end}}", "Q1");
    assert_go("{{define \"v\"}}{{$x := 1}}{{$x}}{{end}}{{$x := 2}}{{template \"v\"}}{{$x}}", "12");
    /* Go recurses into "cmdname", process-exporter's template, 100000 deep; here 100. */
    struct strbuf expected = STRBUF_INIT;
    for (int i = 0; i < 101; i++)
        strbuf_putc(&expected, 'x');
    assert_go("x{{template \"cmdname\" 1}}", strbuf_str(&expected));
    strbuf_free(&expected);
}

static void test_trim_markers_and_comments(void **state)
{
    (void)state;
    /* PE: "a  {{- .Comm -}}  b" gave "atq0b", and the comments below gave "x  yz". */
    assert_go("a  {{- .Comm -}}  b", "apython3b");
    assert_go("x {{/* c */}} y {{- /* c2 */ -}} z", "x  yz");
    assert_go("{{- .Comm}}", "python3");
    assert_go("{{.Comm\n}}", "python3");
}

static void test_and_or_not_short_circuit(void **state)
{
    (void)state;
    /* PE: "{{and 1 0 \"x\"}}|{{or 0 \"\" \"y\"}}|{{not 0}}" gave "0|y|true". */
    assert_go("{{and 1 0 \"x\"}}|{{or 0 \"\" \"y\"}}|{{not 0}}", "0|y|true");
    assert_go("{{and .Comm .PID}}", "4242");
    /* doc (Go 1.18): and/or stop at the first deciding argument, so the bad index is never
     * evaluated. */
    assert_go("{{or .Comm (index .Cgroups 9)}}", "python3");
    assert_go("{{and \"\" (index .Cgroups 9)}}|", "|");
}

static void test_comparisons(void **state)
{
    (void)state;
    /* PE: "{{eq 1 2 3 1}}|{{lt 1 2}}|{{lt \"a\" \"b\"}}" gave "true|true|true"; eq 1 1.0 and
     * lt 1 "a" are errors; a time.Month compares as an integer; a byte against an int. */
    assert_go("{{eq 1 2 3 1}}|{{lt 1 2}}|{{lt \"a\" \"b\"}}", "true|true|true");
    assert_go("x{{eq 1 1.0}}", "x");
    assert_go("x{{lt 1 \"a\"}}", "x");
    assert_go("{{ne 1 2}}|{{le 2 2}}|{{ge 1 2}}|{{gt \"b\" \"a\"}}|{{eq .StartTime.Month 10}}|"
              "{{lt (index .Comm 0) 200}}",
              "true|true|false|true|true|true");
    /* PE: slices do not compare; times do. */
    assert_go("x{{eq .Cgroups .Cgroups}}", "x");
    assert_go("{{eq .StartTime .StartTime}}", "true");
    assert_go("{{eq .Matches.nope .Matches.other}}", "true");
    assert_go("x{{eq 1}}", "x");
    assert_go("x{{lt true false}}", "x");
}

static void test_len_index_slice(void **state)
{
    (void)state;
    /* PE: len counts bytes of a string; index of a string is a byte (uint8); slice of a
     * string is a string, of a slice a slice; "slice .Comm 3 1" is an error. */
    assert_go("{{len .Cgroups}} {{len .Matches}} {{len .Comm}} {{len \"h\xc3\xa9llo\"}}",
              "2 3 7 6");
    assert_go("{{index .Comm 0}}", "112");
    assert_go("{{index .Matches \"first\"}}|{{index .Matches 1}}", "-m|");
    assert_go("{{slice .Comm 1}}|{{slice .Comm}}|{{slice .Comm 1 3}}|{{slice .Cgroups 1 2}}",
              "ython3|python3|yt|[/user.slice]");
    assert_go("a{{slice .Comm 3 1}}", "a");
    assert_go("a{{slice .Comm 1 2 3}}", "a");
    assert_go("a{{index .Comm 7}}", "a");
    assert_go("{{index .Cgroups}}", "[/system.slice/a.service /user.slice]");
    assert_go("a{{len 3}}", "a");
    /* An empty Cgroups (a kernel thread) slices to an empty slice. */
    struct proc_identity k = kthread_id();
    assert_renders("{{slice .Cgroups 0}}|{{slice .Cgroups}}|{{len .Cgroups}}", &k, "[]|[]|0");
    assert_go("a{{index .StartTime 0}}", "a");
}

static void test_print_println_printf(void **state)
{
    (void)state;
    /* PE: Sprint puts spaces between operands when neither is a string. */
    assert_go("{{print 1 2 \"a\" 3 4}}", "1 2a3 4");
    assert_go("{{print \"a\" \"b\" 1 2 \"c\" true}}", "ab1 2ctrue");
    assert_go("{{println 1 \"a\"}}", "1 a\n");
    /* PE: flags, widths and verbs. */
    assert_go("{{printf \"%q %x %05d %-5s| %5.2f %e %g\" .Comm .Comm 42 \"ab\" 3.14159 "
              "1234.5678 1e21}}",
              "\"python3\" 707974686f6e33 00042 ab   |  3.14 1.234568e+03 1e+21");
    assert_go("{{printf \"%6.2f|%-8q|%+d|% d|%x|%X|%o|%#o|%#x|%b|%c|%U|%#U\" 3.14159 \"tq8\" 5 5 "
              "255 255 8 8 255 5 65 65 233}}",
              "  3.14|\"tq8\"   |+5| 5|ff|FF|10|010|0xff|101|A|U+0041|U+00E9 '\xc3\xa9'");
    assert_go("{{printf \"%*d|%-*d|%.*s\" 5 42 4 7 2 \"abcdef\"}}", "   42|7   |ab");
    assert_go("{{printf \"%[2]s %[1]s\" \"a\" \"b\"}}", "b a");
    assert_go("{{printf \"%x % x %#x\" \"hi\" \"hi\" \"hi\"}}", "6869 68 69 0x6869");
    assert_go("{{printf \"%05s|%-5d|%05d|%+.2f|%08.3f|% x\" \"ab\" 3 -42 2.0 -3.14159 \"\"}}",
              "000ab|3    |-0042|+2.00|-003.142|");
    assert_go("{{printf \"%10.3v|%-10v|\" \"tq4\" \"tq49\"}}", "       tq4|tq49      |");
    assert_go("{{printf \"%c|%q|%v\" 'x' '\\n' '\\u00e9'}}", "x|'\\n'|233");
    assert_go("{{printf \"%.3s\" .Comm}}", "pyt");
    /* PE: precision cuts runes before quoting; %X of a float; %b of a float; %v with a
     * precision is %g's. */
    assert_go("{{printf \"%.2s|%.1q|%.3x\" \"h\xc3\xa9llo\" \"h\xc3\xa9llo\" \"h\xc3\xa9llo\"}}",
              "h\xc3\xa9|\"h\"|68c3a9");
    assert_go("{{printf \"%5t|%-7v|%q|%x|%X|%o|%c\" true false 65 -1 3.5 9 128512}}",
              " true|false  |'A'|-1|0X1.CP+01|11|\xf0\x9f\x98\x80");
    assert_go("{{printf \"%6.2v|%g|%g|%b\" 3.14159 100000.0 1000000.0 1.0}}",
              "   3.1|100000|1e+06|4503599627370496p-52");
    assert_go("{{printf \"%[3]*.[2]*[1]f|%[1]d %d\" 12.0 2 6}}", " 12.00|%!d(float64=12) 2");
    assert_go("{{printf \"%T\" nil}}|{{printf \"%d\" true}}|{{printf \"%v\" .Matches.nope}}",
              "<nil>|%!d(bool=true)|<nil>");
}

static void test_printf_complaints(void **state)
{
    (void)state;
    /* PE: Go's %! forms for a missing operand, an extra one and a bad verb. */
    assert_go("{{printf \"%d %s\" 1}}", "1 %!s(MISSING)");
    assert_go("{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)");
    assert_go("{{printf \"%z\" 1}}", "%!z(int=1)");
    assert_go("{{printf \"%s\" 5}}|{{printf \"%d\" \"x\"}}|{{printf \"%!\"}}|{{printf \"%\"}}|"
              "{{printf \"100%%\"}}",
              "%!s(int=5)|%!d(string=x)|%!!(MISSING)|%!(NOVERB)|100%");
    assert_go("{{printf \"%t %v %s\" true false 1.0}}", "true false %!s(float64=1)");
    assert_go("{{printf \"%v\" nil}}|{{print nil}}", "<nil>|<nil>");
    /* PE: printf's format must be a string. */
    assert_go("a{{printf 3}}", "a");
}

static void test_printf_of_each_value_type(void **state)
{
    (void)state;
    /* PE: types as %T prints them; a Month prints its name for %v, %s and %q, its number
     * for %d. */
    assert_go("{{printf \"%T %T %T %T %T\" .PID .StartTime .Cgroups 'a' .Matches}}",
              "int time.Time []string int map[string]string");
    assert_go("{{printf \"%T %T %T %T\" .StartTime.Month .StartTime.Unix (index .Comm 0) 1.5}}",
              "time.Month int64 uint8 float64");
    assert_go("{{printf \"%v|%d|%s\" .StartTime.Month .StartTime.Month .StartTime.Weekday}}",
              "October|10|Thursday");
    assert_go("{{printf \"%q\" .StartTime.Month}}", "\"October\"");
    assert_go("{{printf \"%s %v\" .Cgroups .Matches}}",
              "[/system.slice/a.service /user.slice] map[:-m http.server first:-m "
              "second:http.server]");
    assert_go("{{printf \"%q\" .Cgroups}}", "[\"/system.slice/a.service\" \"/user.slice\"]");
    assert_go("{{printf \"%#v\" .Cgroups}}",
              "[]string{\"/system.slice/a.service\", \"/user.slice\"}");
    assert_go("{{printf \"%#v|%#v\" .Comm 42}}", "\"python3\"|42");
    assert_go("{{printf \"%d\" .Matches}}",
              "map[%!d(string=):%!d(string=-m http.server) %!d(string=first):%!d(string=-m) "
              "%!d(string=second):%!d(string=http.server)]");
    /* PE: floats: shortest form, exponent below 1e-4 and from 1e6 on. */
    assert_go("{{printf \"%v %v %v %v %v\" 0.000012345 123456.0 1234567.0 100.0 -2.5e-7}}",
              "1.2345e-05 123456 1.234567e+06 100 -2.5e-07");
    assert_go("{{printf \"%e %E %.2e %g %G %.3g\" 123456.789 0.000123 5.0 0.00001 1e100 "
              "1234.5678}}",
              "1.234568e+05 1.230000E-04 5.00e+00 1e-05 1E+100 1.23e+03");
    assert_go("{{printf \"%s\" .StartTime}}", "2017-10-19 22:52:51.19 +0000 UTC");
    assert_go("{{printf \"%#v\" .StartTime}}",
              "time.Date(2017, time.October, 19, 22, 52, 51, 190000000, time.UTC)");
}

static void test_html_js_urlquery(void **state)
{
    (void)state;
    /* PE: these three lines. */
    assert_go("{{html \"<a&'\\\">\"}}", "&lt;a&amp;&#39;&#34;&gt;");
    assert_go("{{js \"a'b\\\"c<>&=\\\\ \\n\"}}",
              "a\\'b\\\"c\\u003C\\u003E\\u0026\\u003D\\\\ \\u000A");
    assert_go("{{urlquery \"a b&c=d/\xc3\xa9\"}}", "a+b%26c%3Dd%2F%C3%A9");
    /* PE: more than one argument, or not a string: printed as fmt.Sprint first. */
    assert_go("{{html .Cgroups}}|{{urlquery .Comm 5}}",
              "[/system.slice/a.service /user.slice]|python35");
    assert_go("{{js \"\\u2028\xc3\xa9\\x7f\"}}", "\\u2028\xc3\xa9\x7f");
    /* PE: a nil or missing argument reads "<no value>" here (printableValue), not "<nil>". */
    assert_go("{{html nil}}|{{js .Matches.nope}}|{{urlquery .Matches}}",
              "&lt;no value&gt;|\\u003Cno "
              "value\\u003E|map%5B%3A-m+http.server+first%3A-m+second%3Ahttp.server%5D");
}

static void test_start_time_methods(void **state)
{
    (void)state;
    /* doc: time.Time's methods; START_2017 is 2017-10-19 22:52:51.19 UTC, a Thursday, day 292
     * of the year. */
    assert_go("{{.StartTime.Year}}-{{.StartTime.Month}}-{{.StartTime.Day}} {{.StartTime.Hour}}:"
              "{{.StartTime.Minute}}:{{.StartTime.Second}}.{{.StartTime.Nanosecond}}",
              "2017-October-19 22:52:51.190000000");
    assert_go("{{.StartTime.YearDay}} {{.StartTime.Weekday}} {{.StartTime.IsZero}}",
              "292 Thursday false");
    assert_go("{{.StartTime.Unix}} {{.StartTime.UnixMilli}} {{.StartTime.UnixMicro}} "
              "{{.StartTime.UnixNano}}",
              "1508453571 1508453571190 1508453571190000 1508453571190000000");
    assert_go("{{.StartTime.String}}|{{.StartTime.UTC}}",
              "2017-10-19 22:52:51.19 +0000 UTC|2017-10-19 22:52:51.19 +0000 UTC");
    assert_go("{{.StartTime.Month.String}}{{.StartTime.Weekday.String}}", "OctoberThursday");
    /* doc: Location prints its name, "UTC" for StartTime (nil loc) and "Local" after .Local;
     * IsDST is false in UTC; GoString is what %#v prints. */
    assert_go("{{.StartTime.Location}}|{{.StartTime.Local.Location}}|{{.StartTime.IsDST}}",
              "UTC|Local|false");
    assert_go("{{.StartTime.GoString}}",
              "time.Date(2017, time.October, 19, 22, 52, 51, 190000000, time.UTC)");
    /* doc (text/template): a method must return one value, or a value and an error; Date and
     * Clock return 3, ISOWeek, Zone and ZoneBounds 2: "can't call method/function" at exec. */
    assert_go("a{{.StartTime.Date}}b", "a");
    assert_go("a{{.StartTime.Clock}}b", "a");
    assert_go("a{{.StartTime.ISOWeek}}b", "a");
    assert_go("a{{.StartTime.Zone}}b", "a");
    assert_go("a{{.StartTime.ZoneBounds}}b", "a");
    /* doc: Truncate, Round, Add, In take an argument; called without one, Go stops. */
    assert_go("a{{.StartTime.Truncate}}b", "a");
    assert_go("a{{.StartTime.Location 1}}b", "a");
    /* PE: methods take their arguments and no others. */
    assert_go("a{{.StartTime.Unix 3}}", "a");
    assert_go("a{{.StartTime.Format}}", "a");
    assert_go("a{{.StartTime.Format 3}}", "a");
}

static void test_start_time_format_layouts(void **state)
{
    (void)state;
    /* PE: "2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM MST" and
     * "Monday January 2 06 03:04:05 pm .999 ,000000 -07 Z07 _2006" on a UTC StartTime. */
    assert_go("{{.StartTime.Format \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM MST\"}}",
              "2017-10-19T22:52:51.190Z Thu Oct 19 10PM UTC");
    assert_go("{{.StartTime.Format \"Monday January 2 06 03:04:05 pm .999 ,000000 -07 Z07 "
              "_2006\"}}",
              "Thursday October 19 17 10:52:51 pm .19 ,190000 +00 Z _2017");
    /* doc: the constants of package time. */
    assert_go("{{.StartTime.Format \"Mon, 02 Jan 2006 15:04:05 -0700\"}}",
              "Thu, 19 Oct 2017 22:52:51 +0000");
    assert_go("{{.StartTime.Format \"2006-01-02T15:04:05.999999999Z07:00\"}}",
              "2017-10-19T22:52:51.19Z");
    assert_go("{{.StartTime.Format \"Jan _2 15:04:05.000000\"}}", "Oct 19 22:52:51.190000");
    assert_go("{{.StartTime.Format \"3:04PM -07:00:00 Z0700 -070000\"}}",
              "10:52PM +00:00:00 Z +000000");
    /* doc: "Janet" is not a month (a lower-case letter follows "Jan"); "1" alone is, and ".0"
     * is a tenth of a second when no digit follows (".01" is a dot and a month). */
    assert_go("{{.StartTime.Format \"Janet 1 .0x .01\"}}", "Janet 10 .1x .10");
    assert_go("{{.StartTime.Format \"Mond\"}}", "Mond");
}

static void test_local_start_time_follows_tz(void **state)
{
    (void)state;
    /* PE (TZ=Europe/Berlin): "{{.StartTime.Local}}|{{.StartTime.Local.Format \"MST -0700
     * Z07:00\"}}" gave "2026-11-27 15:49:24.93 +0100 CET|CET +0100 +01:00". */
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    assert_go("{{.StartTime.Local}}|{{.StartTime.Local.Format \"MST -0700 Z07:00\"}}",
              "2017-10-20 00:52:51.19 +0200 CEST|CEST +0200 +02:00");
    assert_go("{{.StartTime.Local.Day}}", "20");
    /* doc: CEST is daylight saving time; the Location of a local time is named "Local". */
    assert_go("{{.StartTime.Local.IsDST}} {{.StartTime.Local.Location}} {{.StartTime.IsDST}}",
              "true Local false");
    assert_go("{{printf \"%#v\" .StartTime.Local}}",
              "time.Date(2017, time.October, 20, 0, 52, 51, 190000000, time.Local)");
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void test_syntax_errors_name_the_token(void **state)
{
    (void)state;
    /* doc/Go's parser: these messages; the position is the offending token's. */
    assert_compile_error_at("{{.Comm", 1, 8, "unclosed action");
    assert_compile_error_at("ab{{if .Comm}}x", 1, 16, "unexpected EOF");
    assert_compile_error_at("a{{end}}", 1, 4, "unexpected {{end}}");
    assert_compile_error_at("a{{else}}", 1, 4, "unexpected {{else}}");
    assert_compile_error_at("{{ foo .Comm }}", 1, 4, "function \"foo\" not defined");
    assert_compile_error_at("{{.Comm}}{{$x}}", 1, 12, "undefined variable \"$x\"");
    assert_compile_error_at("a {{ }}", 1, 6, "missing value for command");
    assert_compile_error_at("{{.Comm | 3}}", 1, 11, "non executable command in pipeline stage 2");
    assert_compile_error_at("{{(.Comm}}", 1, 9, "unclosed left paren");
    assert_compile_error_at("{{.Comm)}}", 1, 8, "unexpected right paren U+0029 ')'");
    assert_compile_error_at("{{\"abc}}", 1, 3, "unterminated quoted string");
    assert_compile_error_at("{{`abc}}", 1, 3, "unterminated raw quoted string");
    assert_compile_error_at("{{'ab}}", 1, 3, "unterminated character constant");
    assert_compile_error_at("{{'ab'}}", 1, 3, "malformed character constant: 'ab'");
    assert_compile_error_at("x{{break}}", 1, 4, "{{break}} outside {{range}}");
    assert_compile_error_at("{{/* no end }}", 1, 1, "unclosed comment");
    assert_compile_error_at("{{/* c */ .Comm}}", 1, 1, "comment ends before closing delimiter");
    assert_compile_error_at("{{.Comm .}}x{{.Comm.}}", 1, 20, "unexpected <.> in operand");
    assert_compile_error_at("a\nb {{ 3.Comm }}", 2, 6, "bad number syntax: \"3.C\"");
    assert_compile_error_at("{{.Comm #}}", 1, 9, "unexpected \"#\" in operand");
    assert_compile_error_at("{{if}}{{end}}", 1, 5, "missing value for if");
    assert_compile_error_at("{{range $a, $b, $c := .Cgroups}}{{end}}", 1, 15,
                            "too many declarations in range");
    assert_compile_error_at("{{range $a, 3}}{{end}}", 1, 11, "range can only initialize variables");
    assert_compile_error_at("{{$a, $b := 3}}", 1, 5, "too many declarations in command");
    assert_compile_error_at("{{with .Comm}}{{else if .PID}}{{end}}", 1, 22,
                            "unexpected <if> in input");
    assert_compile_error_at("{{3.Comm}}", 1, 3, "bad number syntax: \"3.C\"");
    assert_compile_error_at("{{\"x\".Comm}}", 1, 6, "unexpected . after term \"\"x\"\"");
    assert_compile_error_at("{{99999999999999999999}}", 1, 3,
                            "integer overflow: \"99999999999999999999\"");
    assert_compile_error_at("{{\"\\q\"}}", 1, 3, "invalid syntax in \"\\q\"");
    assert_compile_error("{{define \"x\"}}1{{end}}{{define \"x\"}}2{{end}}",
                         "template: multiple definition of template \"x\"");
    assert_compile_error("{{if true}}{{define \"x\"}}{{end}}{{end}}",
                         "unexpected <define> in command");
    assert_compile_error("{{template .Comm}}", "unexpected \".Comm\" in template clause");
    assert_compile_error("{{.Comm := 3}}", "unexpected \":=\" in operand");
    /* A variable's scope ends with the if that declared it. */
    assert_compile_error("{{if true}}{{$y := 1}}{{end}}{{$y}}", "undefined variable \"$y\"");
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT;
    for (int i = 0; i < 200; i++)
        strbuf_puts(&text, "{{if true}}");
    assert_compile_error(strbuf_str(&text), "nested deeper than 100");
    strbuf_reset(&text);
    strbuf_puts(&text, "{{");
    for (int i = 0; i < 200; i++)
        strbuf_puts(&text, "(");
    assert_compile_error(strbuf_str(&text), "nested deeper than 100");
    strbuf_free(&text);
}

static void test_output_and_work_are_bounded(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    struct tmpl_values values = {.id = &id};
    /* 2^30 iterations would take minutes: the step budget stops it. */
    struct strbuf text = STRBUF_INIT;
    static const char *const many[] = {"a", "b", "c", "d"};
    id.cgroups = many;
    id.ncgroups = 4;
    for (int i = 0; i < 15; i++)
        strbuf_puts(&text, "{{range $.Cgroups}}");
    for (int i = 0; i < 15; i++)
        strbuf_puts(&text, "{{end}}");
    struct tmpl *t = compile(strbuf_str(&text), NULL);
    struct strbuf out = STRBUF_INIT;
    tmpl_render(t, &values, &out);
    assert_int_equal(out.len, 0);
    tmpl_free(t);
    /* Output stops at 64 KiB plus the size of the data (command line and cgroups), so that a
     * name may still hold a whole command line. */
    t = compile("{{range .Cgroups}}{{range $.Cgroups}}{{range $.Cgroups}}{{range $.Cgroups}}"
                "{{range $.Cgroups}}{{range $.Cgroups}}{{printf \"%1000s\" .}}{{end}}{{end}}"
                "{{end}}{{end}}{{end}}{{end}}",
                NULL);
    tmpl_render(t, &values, &out);
    assert_int_equal(out.len, 64 * 1024 + id.cmdline_len + 4);
    tmpl_free(t);
    /* A string that doubles in a variable stops the render, output or not. */
    strbuf_reset(&out);
    strbuf_reset(&text);
    strbuf_puts(&text, "a{{$x := .Comm}}");
    for (int i = 0; i < 40; i++)
        strbuf_puts(&text, "{{$x = printf \"%q%x\" $x $x}}");
    strbuf_puts(&text, "{{len $x}}");
    t = compile(strbuf_str(&text), NULL);
    tmpl_render(t, &values, &out);
    assert_string_equal(strbuf_str(&out), "a");
    tmpl_free(t);
    strbuf_free(&out);
    strbuf_free(&text);
}

static void test_warnings_name_what_go_renders_oddly(void **state)
{
    (void)state;
    assert_warns_at("x-{{.Matches.nope}}", 13, "renders \"<no value>\"");
    assert_warns_at("{{.Comm}}{{.Nope}}", 12, "can't evaluate field Nope");
    assert_warns_at("{{.StartTime.Years}}", 13, "field Years in type time.Time");
    assert_warns_at("{{.StartTime.Zone}}", 13,
                    "can't call method/function \"Zone\" with 2 results");
    assert_warns_at("{{.Comm.Len}}", 8, "field Len in type string");
    assert_warns_at("{{$x := .Matches}}{{$x.typo}}", 23, "\"typo\"");
    assert_warns_at("{{with .StartTime}}{{.Yr}}{{end}}", 22, "field Yr");
    assert_no_warning("{{.Matches.first}}{{.Matches}}{{.StartTime.Format \"2006\"}}");
    assert_no_warning("{{range .Cgroups}}{{.}}{{end}}{{with .Comm}}{{.}}{{end}}");
    assert_no_warning("{{.StartTime.Month.String}}{{(index .Cgroups 0)}}");
}

static void test_needs_cover_whatever_may_print_the_data(void **state)
{
    (void)state;
    unsigned all = PROC_NEED_CMDLINE | PROC_NEED_UID | PROC_NEED_CGROUP;
    assert_int_equal(needs_of("{{.}}"), all);
    assert_int_equal(needs_of("{{printf \"%v\" $}}"), all);
    assert_int_equal(needs_of("{{$d := .}}{{$d.Comm}}"), all);
    assert_int_equal(needs_of("{{range .Cgroups}}{{.}}{{end}}"), PROC_NEED_CGROUP);
    assert_int_equal(needs_of("{{with .Comm}}{{.}}{{end}}"), 0);
    assert_int_equal(needs_of("{{if .PID}}{{.Username}}{{end}}"), PROC_NEED_UID);
    assert_int_equal(needs_of("{{printf \"%s\" .ExeFull}}"), PROC_NEED_CMDLINE);
    assert_int_equal(needs_of("{{.StartTime.Format \"2006\"}}"), 0);
}

static void test_rendering_appends_and_reuses_the_buffer(void **state)
{
    (void)state;
    const char *text = "{{.Comm}}@{{.StartTime}}";
    struct tmpl_diag err;
    struct tmpl *t = tmpl_compile(text, strlen(text), NULL, 0, &err, NULL);
    assert_non_null(t);
    struct proc_identity id = python_id();
    struct tmpl_values values = {.id = &id};
    struct strbuf out = STRBUF_INIT;
    strbuf_puts(&out, ">");
    tmpl_render(t, &values, &out);
    assert_string_equal(strbuf_str(&out), ">python3@2017-10-19 22:52:51.19 +0000 UTC");
    char *warm = out.buf;
    size_t cap = out.cap;
    for (int i = 0; i < 100; i++) {
        strbuf_reset(&out);
        tmpl_render(t, &values, &out);
    }
    assert_ptr_equal(out.buf, warm);
    assert_int_equal(out.cap, cap);
    strbuf_free(&out);
    tmpl_free(t);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_text_renders_unchanged),
        cmocka_unit_test(test_comm_renders_stat_comm),
        cmocka_unit_test(test_exe_base_is_basename_of_argv0),
        cmocka_unit_test(test_exe_base_follows_go_filepath_base),
        cmocka_unit_test(test_exe_full_is_argv0_as_given),
        cmocka_unit_test(test_exe_fields_fall_back_to_comm_without_argv),
        cmocka_unit_test(test_username_renders_the_given_name_or_nothing),
        cmocka_unit_test(test_pid_renders_in_decimal),
        cmocka_unit_test(test_start_time_renders_like_go_time_string),
        cmocka_unit_test(test_start_time_on_a_whole_second_has_no_dot),
        cmocka_unit_test(test_start_time_keeps_nanoseconds),
        cmocka_unit_test(test_start_time_handles_leap_days_and_centuries),
        cmocka_unit_test(test_start_time_unix_is_whole_seconds),
        cmocka_unit_test(test_cgroups_render_like_a_go_slice),
        cmocka_unit_test(test_index_cgroups_picks_one_path),
        cmocka_unit_test(test_index_cgroups_out_of_range_stops_the_name),
        cmocka_unit_test(test_matches_render_captures_by_slot),
        cmocka_unit_test(test_spaces_inside_braces_are_allowed),
        cmocka_unit_test(test_trim_markers_remove_adjacent_whitespace),
        cmocka_unit_test(test_dash_without_space_is_not_a_trim_marker),
        cmocka_unit_test(test_comments_render_nothing),
        cmocka_unit_test(test_needs_follow_the_fields_used),
        cmocka_unit_test(test_rendering_appends_and_reuses_the_buffer),
        cmocka_unit_test(test_matches_print_as_a_go_map_in_key_order),
        cmocka_unit_test(test_missing_map_key_renders_no_value),
        cmocka_unit_test(test_unknown_field_stops_the_name),
        cmocka_unit_test(test_the_data_prints_as_a_go_struct),
        cmocka_unit_test(test_literals_print_as_go_constants),
        cmocka_unit_test(test_pipelines_pass_the_value_as_last_argument),
        cmocka_unit_test(test_variables_declare_assign_and_scope),
        cmocka_unit_test(test_if_else_if_else),
        cmocka_unit_test(test_range_over_slices_and_maps),
        cmocka_unit_test(test_with_sets_dot),
        cmocka_unit_test(test_define_template_block),
        cmocka_unit_test(test_trim_markers_and_comments),
        cmocka_unit_test(test_and_or_not_short_circuit),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_len_index_slice),
        cmocka_unit_test(test_print_println_printf),
        cmocka_unit_test(test_printf_complaints),
        cmocka_unit_test(test_printf_of_each_value_type),
        cmocka_unit_test(test_html_js_urlquery),
        cmocka_unit_test(test_start_time_methods),
        cmocka_unit_test(test_start_time_format_layouts),
        cmocka_unit_test(test_local_start_time_follows_tz),
        cmocka_unit_test(test_syntax_errors_name_the_token),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_output_and_work_are_bounded),
        cmocka_unit_test(test_warnings_name_what_go_renders_oddly),
        cmocka_unit_test(test_needs_cover_whatever_may_print_the_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
