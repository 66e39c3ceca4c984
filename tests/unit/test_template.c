#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdlib.h>
#include <string.h>

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

static void assert_renders_values(const char *text, const struct tmpl_values *values,
                                  const char *expected)
{
    char err[256] = "";
    static const char *const names[] = {"first", "second"};
    struct tmpl *t = tmpl_compile(text, strlen(text), names, 2, err, sizeof(err));
    if (t == NULL)
        fail_msg("template %s did not compile: %s", text, err);
    struct strbuf out = STRBUF_INIT;
    tmpl_render(t, values, &out);
    assert_string_equal(strbuf_str(&out), expected);
    strbuf_free(&out);
    tmpl_free(t);
}

static void assert_renders(const char *text, const struct proc_identity *id, const char *expected)
{
    struct tmpl_values values = {.id = id, .username = "alice"};
    assert_renders_values(text, &values, expected);
}

static void assert_compile_error(const char *text, const char *expected)
{
    char err[256] = "";
    static const char *const names[] = {"first"};
    struct tmpl *t = tmpl_compile(text, strlen(text), names, 1, err, sizeof(err));
    assert_null(t);
    assert_string_equal(err, expected);
}

static unsigned needs_of(const char *text)
{
    char err[256];
    static const char *const names[] = {"first"};
    struct tmpl *t = tmpl_compile(text, strlen(text), names, 1, err, sizeof(err));
    assert_non_null(t);
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

static void test_index_cgroups_out_of_range_renders_empty(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    assert_renders("<{{index .Cgroups 2}}>", &id, "<>");
    assert_renders("<{{index .Cgroups 99999999999999999999999}}>", &id, "<>");
}

static void test_matches_render_captures_by_slot(void **state)
{
    (void)state;
    struct proc_identity id = python_id();
    struct tmpl_span captures[] = {{"http.server", 11}, {"", 0}};
    struct tmpl_values values = {.id = &id, .captures = captures, .ncaptures = 2};
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
    assert_compile_error("a {{-.Comm}}", "unsupported template action \"-.Comm\"");
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

static void test_unknown_field_is_refused(void **state)
{
    (void)state;
    assert_compile_error("{{.Nope}}", "unknown template field \".Nope\"");
    assert_compile_error("x{{ .Comm.Len }}", "unknown template field \".Comm.Len\"");
    assert_compile_error("{{.StartTime.Year}}", "unknown template field \".StartTime.Year\"");
    assert_compile_error("{{.comm}}", "unknown template field \".comm\"");
}

static void test_unknown_capture_name_is_refused(void **state)
{
    (void)state;
    assert_compile_error("{{.Matches.Cfgfile}}",
                         "unknown template field \".Matches.Cfgfile\": no cmdline regex of this "
                         "item has a capture group named \"Cfgfile\"");
    assert_compile_error("{{.Matches.first.x}}", "unknown template field \".Matches.first.x\"");
}

static void test_functions_and_pipelines_are_refused(void **state)
{
    (void)state;
    assert_compile_error("{{printf \"%.3s\" .Comm}}",
                         "unsupported template action \"printf \"%.3s\" .Comm\"");
    assert_compile_error("{{.Comm | len}}", "unsupported template action \".Comm | len\"");
    assert_compile_error("{{if .Comm}}x{{end}}", "unsupported template action \"if .Comm\"");
    assert_compile_error("{{.Matches}}", "unsupported template action \".Matches\"");
    assert_compile_error("{{.}}", "unsupported template action \".\"");
    assert_compile_error("{{index .Matches 0}}",
                         "unsupported template action \"index .Matches 0\"");
    assert_compile_error("{{index .Cgroups -1}}",
                         "unsupported template action \"index .Cgroups -1\"");
    assert_compile_error("{{index .Cgroups 0 1}}",
                         "unsupported template action \"index .Cgroups 0 1\"");
}

static void test_malformed_actions_are_refused(void **state)
{
    (void)state;
    assert_compile_error("{{.Comm", "unclosed action");
    assert_compile_error("a {{ }}", "empty template action \"{{}}\"");
    assert_compile_error("{{/* no end }}", "unclosed comment");
    assert_compile_error("{{/* c */ .Comm}}", "comment ends before closing delimiter");
}

static void test_rendering_appends_and_reuses_the_buffer(void **state)
{
    (void)state;
    char err[128];
    const char *text = "{{.Comm}}@{{.StartTime}}";
    struct tmpl *t = tmpl_compile(text, strlen(text), NULL, 0, err, sizeof(err));
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
        cmocka_unit_test(test_index_cgroups_out_of_range_renders_empty),
        cmocka_unit_test(test_matches_render_captures_by_slot),
        cmocka_unit_test(test_spaces_inside_braces_are_allowed),
        cmocka_unit_test(test_trim_markers_remove_adjacent_whitespace),
        cmocka_unit_test(test_dash_without_space_is_not_a_trim_marker),
        cmocka_unit_test(test_comments_render_nothing),
        cmocka_unit_test(test_needs_follow_the_fields_used),
        cmocka_unit_test(test_unknown_field_is_refused),
        cmocka_unit_test(test_unknown_capture_name_is_refused),
        cmocka_unit_test(test_functions_and_pipelines_are_refused),
        cmocka_unit_test(test_malformed_actions_are_refused),
        cmocka_unit_test(test_rendering_appends_and_reuses_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
