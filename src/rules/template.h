/* Group-name templates: the subset of Go text/template that process-exporter configs use, compiled
 * once at load time into a list of pieces so that rendering a name does no parsing. Anything
 * outside the subset is refused when the config is loaded, not rendered as "" later. */
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

/* Compiles `len` bytes of `text`. `.Matches.NAME` must name one of `capture_names`. On error
 * returns NULL and writes a reason that names the offending action into `err` (no position). */
struct tmpl *tmpl_compile(const char *text, size_t len, const char *const *capture_names,
                          size_t ncapture_names, char *err, size_t errlen);
void tmpl_free(struct tmpl *tmpl);

/* The PROC_NEED_* bits the fields used by the template need beyond stat. */
unsigned tmpl_needs(const struct tmpl *tmpl);

/* Appends the rendered text to `out`. Never fails: a value that is not there (an out-of-range
 * `index .Cgroups N`) renders as "". */
void tmpl_render(const struct tmpl *tmpl, const struct tmpl_values *values, struct strbuf *out);

/* The ExeBase of an argv[0]: Go's filepath.Base, which process-exporter also uses to match `exe`
 * rules. Points into `path`, or at a static "." or "/". */
struct tmpl_span tmpl_exe_base(const char *path);

/* Appends Go's time.Time.String() of a UTC instant: "2017-10-19 22:52:51.19 +0000 UTC". */
void tmpl_format_time(unsigned long long ns_since_epoch, struct strbuf *out);

#endif /* PROCTRACK_RULES_TEMPLATE_H */
