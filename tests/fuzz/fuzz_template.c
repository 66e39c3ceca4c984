/* tmpl_compile on arbitrary bytes as a group-name template; one that compiles is rendered with a
 * fixed process and captures, one that does not must say why and where. A render stays within
 * its output bound whatever the template does. */
#include "fuzz.h"
#include "fuzz_identity.h"
#include "rules/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const capture_names[] = {"app", "env", "vmid", ""};
    static const struct tmpl_span captures[] = {{"app", 3}, {"", 0}, {"100", 3}, {"x", 1}};
    struct tmpl_diag err, warning;
    struct tmpl *t = tmpl_compile((const char *)data, size, capture_names, 4, &err, &warning);
    if (!t) {
        FUZZ_CHECK(err.message[0] != '\0' && err.offset <= size && err.line >= 1 &&
                   err.column >= 1);
        return 0;
    }
    FUZZ_CHECK(warning.message[0] == '\0' || warning.offset <= size);
    tmpl_needs(t);
    struct proc_identity id = fuzz_identity();
    struct tmpl_values values = {
        .id = &id, .username = "alice", .captures = captures, .ncaptures = 4};
    struct strbuf out = STRBUF_INIT;
    tmpl_render(t, &values, &out);
    FUZZ_CHECK(out.len <= 64 * 1024);

    /* A kernel thread: no command line, no cgroups, no user. */
    struct proc_identity kthread = {.pid = 2, .comm = "kthreadd", .cmdline = "", .exe = ""};
    values.id = &kthread;
    values.username = "";
    strbuf_reset(&out);
    tmpl_render(t, &values, &out);
    strbuf_free(&out);
    tmpl_free(t);
    return 0;
}
