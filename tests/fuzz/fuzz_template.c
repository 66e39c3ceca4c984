/* tmpl_compile on arbitrary bytes as a group-name template; one that compiles is rendered with a
 * fixed process and captures, one that does not must say why. */
#include "fuzz.h"
#include "fuzz_identity.h"
#include "rules/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const capture_names[] = {"app", "env", "vmid"};
    static const struct tmpl_span captures[] = {{"app", 3}, {"", 0}, {"100", 3}};
    char err[256];
    err[0] = '\0';
    struct tmpl *t = tmpl_compile((const char *)data, size, capture_names, 3, err, sizeof(err));
    if (!t) {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    tmpl_needs(t);
    struct proc_identity id = fuzz_identity();
    struct tmpl_values values = {
        .id = &id, .username = "alice", .captures = captures, .ncaptures = 3};
    struct strbuf out = STRBUF_INIT;
    tmpl_render(t, &values, &out);
    FUZZ_CHECK(strlen(strbuf_str(&out)) <= out.len);

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
