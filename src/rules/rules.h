/* Grouping rules: process-exporter's config format (`process_names`), read unchanged, its legacy
 * -procnames/-namemapping flags, and the matcher that turns a process identity into a group name.
 * Knows nothing of files under /proc. */
#ifndef PROCTRACK_RULES_RULES_H
#define PROCTRACK_RULES_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "proc/proc.h"
#include "util/strbuf.h"

struct rules;

/* Called for each non-fatal finding (an unknown key), with "FILE:LINE:COL: message". */
typedef void (*rules_warn_fn)(void *arg, const char *message);

/* Parses a config. `name` is used in messages (a path, or "<default>" for the embedded one).
 * On error returns NULL and writes "NAME:LINE:COL: reason" (1-based) into `err`. Loading stops at
 * the first of: YAML syntax errors, wrong types, duplicate keys, an item without
 * selectors, bad regexes, and name templates Go's text/template would not parse (see template.h);
 * templates that parse but render oddly are warned about (see rules_set_strict_templates). YAML
 * aliases are refused. Unknown keys are only warned about, as process-exporter ignores them;
 * `warn` may be NULL. */
struct rules *rules_load_buffer(const char *name, const char *buf, size_t len, char *err,
                                size_t errlen, rules_warn_fn warn, void *warn_arg);
/* Name templates that Go renders without complaint but oddly (`{{.Matches.typo}}` renders
 * "<no value>"; `{{.Nope}}` stops the name there) load with a warning; with `strict` they are
 * load errors. Set once at start-up (-config.strict-templates). */
void rules_set_strict_templates(bool strict);
/* Reads and parses a file; an unreadable file is an error "PATH: strerror", and so is a file
 * over 16 MiB. */
struct rules *rules_load_file(const char *path, char *err, size_t errlen, rules_warn_fn warn,
                              void *warn_arg);
/* Builds rules from process-exporter's legacy flags; either may be NULL or "" (no entries).
 * `procnames` is "a,b": a process whose comm is exactly "a" joins group "a". `namemapping` is
 * "comm1,regex1,comm2,regex2": for a process whose comm is "comm1", regex1 runs unanchored on the
 * space-joined cmdline and the group is "comm1:" plus the first non-empty capture; without a
 * match or such a capture the process is left out, even if "comm1" is also in `procnames`; a
 * regex without a capture group is taken, as process-exporter takes it, and warned about (`warn`
 * may be NULL). On error (odd element count, empty element, bad regex) returns NULL and writes a
 * reason, without position, into `err`. One rule per distinct comm. */
struct rules *rules_load_legacy(const char *procnames, const char *namemapping, char *err,
                                size_t errlen, rules_warn_fn warn, void *warn_arg);
/* The text -man prints: how -procnames and -namemapping work, with an example. */
const char *rules_legacy_manual(void);
void rules_free(struct rules *rules);

size_t rules_count(const struct rules *rules);
/* The PROC_NEED_* bits the matchers and templates need beyond stat. */
unsigned rules_needs(const struct rules *rules);

/* Tries the rules in file order; the first whose selectors all match wins. Writes the rendered
 * group name into `groupname` (reset first) and returns the rule's index, or -1 when none matches.
 * Not thread-safe: it reuses match buffers held by `rules`. */
int rules_match(struct rules *rules, const struct proc_identity *id, struct strbuf *groupname);

/* Whether the last rules_match() passed over an item whose builtin answered RULES_BUILTIN_LATER:
 * its answer, match or none, may change for the same process. */
bool rules_match_undecided(const struct rules *rules);

/* cmdline regexes that stopped at one of PCRE2's limits instead of answering (catastrophic
 * backtracking, e.g. "^(a+)+$" on a long run of a's): the process was taken as not matching. */
struct rules_match_errors {
    unsigned long long count;
    size_t last_rule; /* index of the rule of the last one */
    int last_code;    /* its PCRE2 error code */
};
const struct rules_match_errors *rules_match_errors(const struct rules *rules);
/* PCRE2's text for an error code. */
void rules_error_message(int code, char *buf, size_t len);

/* Built-in matchers: a config item `builtin: NAME` (e.g. `builtin: pve-qemu`) matches through a
 * function registered here, which knows things the rules do not (files outside /proc). It fills
 * the item's captures, in the builtin's order (pve-qemu: vmid, name), for the name template
 * (`{{.Matches.vmid}}`). An item whose builtin has no function registered matches nothing.
 *
 * A capture points into `id`, or into `scratch`: storage the rules lend to each call, emptied
 * before it and kept until rules_match() returns, when the group name has been rendered from it.
 * So a builtin needs no buffers of its own for its captures, and one call leaves nothing that the
 * next depends on. */
struct rules_span {
    const char *ptr;
    size_t len;
};
#define RULES_SCRATCH_SIZE 512
struct rules_scratch {
    char text[RULES_SCRATCH_SIZE];
    size_t used;
};
/* Copies `len` bytes of `s` into `scratch` and returns the span of the copy, to be stored as a
 * capture; the part that does not fit is cut. */
struct rules_span rules_scratch_put(struct rules_scratch *scratch, const char *s, size_t len);
/* A builtin's answer. LATER is a no that may become a match for the same process (pve-qemu: the
 * VM's config is not there yet, /etc/pve not mounted): rules_match() goes on with the next item,
 * and rules_match_undecided() tells the caller to ask again. */
enum rules_builtin_answer { RULES_BUILTIN_NO, RULES_BUILTIN_MATCH, RULES_BUILTIN_LATER };
typedef enum rules_builtin_answer (*rules_builtin_fn)(void *ctx, const struct proc_identity *id,
                                                      struct rules_span *captures,
                                                      struct rules_scratch *scratch);
void rules_set_builtin(struct rules *rules, const char *builtin, rules_builtin_fn fn, void *ctx);
/* The builtin of rule `index`, or NULL for an ordinary rule. */
const char *rules_builtin_of(const struct rules *rules, size_t index);
/* Whether any rule uses this builtin. */
bool rules_uses_builtin(const struct rules *rules, const char *builtin);

/* The group of rule `index` when its item says `always: true` (a proctrack extension): a literal
 * name, whose group exists from the first scan on, with num_procs 0 while no process is in it.
 * NULL for other rules. */
const char *rules_always_group(const struct rules *rules, size_t index);

/* A short description of rule `index` for logs, e.g. "process_names[2] (default.yml:7:5)" or
 * "-namemapping \"java\"". */
const char *rules_describe(const struct rules *rules, size_t index);

#endif /* PROCTRACK_RULES_RULES_H */
