/* Group-name templates: Go's text/template as process-exporter runs it (Go 1.19), over its
 * templateParams (Comm, ExeBase, ExeFull, Username, PID, StartTime, Cgroups, Matches). A template
 * is compiled once at load time into a tree, so rendering a name does no parsing. What Go refuses
 * to parse is refused here with the position of the offending token; what Go renders, however
 * odd (a missing capture renders "<no value>"; an unknown field stops the template, leaving what
 * was rendered before it), renders the same, and the compiler reports the first such spot as a
 * warning. */
#ifndef PROCTRACK_RULES_TEMPLATE_H
#define PROCTRACK_RULES_TEMPLATE_H

#include <stddef.h>

#include "proc/proc.h"
#include "util/strbuf.h"

struct tmpl;

/* A borrowed piece of a string, e.g. a regex capture inside a command line. */
struct tmpl_span {
    const char *ptr;
    size_t len;
};

/* What a render reads besides the process identity. */
struct tmpl_values {
    const struct proc_identity *id;
    /* The effective user's name; read only when tmpl_needs() has PROC_NEED_UID. */
    const char *username;
    /* Capture values, indexed like the `capture_names` given to tmpl_compile(). */
    const struct tmpl_span *captures;
    size_t ncaptures;
};

/* A finding in a template: where (a byte offset into the text, and the 1-based line and column
 * it is at) and what. An empty message means none. */
struct tmpl_diag {
    size_t offset;
    size_t line;
    size_t column;
    char message[256];
};

/* Compiles `len` bytes of `text`. `capture_names` are the keys of .Matches (with "" for the
 * whole match and unnamed groups, as Go stores them). On a syntax error returns NULL and fills
 * `err`. Otherwise fills `warning` (may be NULL) with the first spot where the template renders
 * something other than its author probably meant: a capture name the item has not, a field that
 * does not exist (Go stops there), or no message. */
struct tmpl *tmpl_compile(const char *text, size_t len, const char *const *capture_names,
                          size_t ncapture_names, struct tmpl_diag *err, struct tmpl_diag *warning);
void tmpl_free(struct tmpl *tmpl);

/* The PROC_NEED_* bits the fields used by the template need beyond stat. */
unsigned tmpl_needs(const struct tmpl *tmpl);

/* Appends the rendered text to `out`. Never fails: where Go's Execute returns an error,
 * process-exporter keeps what was written before it, and so does this. Output is cut at 64 KiB
 * and evaluation at a million steps. */
void tmpl_render(const struct tmpl *tmpl, const struct tmpl_values *values, struct strbuf *out);

/* The ExeBase of an argv[0]: Go's filepath.Base, which process-exporter also uses to match `exe`
 * rules. Points into `path`, or at a static "." or "/". */
struct tmpl_span tmpl_exe_base(const char *path);

/* Appends Go's time.Time.String() of a UTC instant: "2017-10-19 22:52:51.19 +0000 UTC". */
void tmpl_format_time(unsigned long long ns_since_epoch, struct strbuf *out);

#endif /* PROCTRACK_RULES_TEMPLATE_H */
