/* One process_names item as the config wrote it: what the YAML reader (load.c) hands to the rule
 * compiler (rules.c), and the entry point for the legacy flags (legacy.c). Internal to src/rules;
 * knows nothing of libyaml. */
#ifndef PROCTRACK_RULES_ITEM_H
#define PROCTRACK_RULES_ITEM_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h"

struct rules;

/* A place in the config, 1-based. */
struct rules_pos {
    size_t line;
    size_t column;
};

/* A string from the config and where it starts. */
struct rules_string {
    char *s;
    size_t len;
    struct rules_pos pos;
    /* The value stands in the file byte for byte from `value_pos` on (a one-line plain or
     * quoted scalar without escapes), so a place in it is a place in the file. */
    bool verbatim;
    struct rules_pos value_pos;
};

struct rules_strings {
    struct rules_string *v;
    size_t n;
    size_t cap;
    bool set; /* written as a list, maybe empty; `comm: []` matches nothing, `cmdline: []` all */
};

struct rules_item {
    struct rules_pos pos; /* where the item's mapping starts */
    bool has_name;
    struct rules_string name;
    bool has_builtin;
    struct rules_string builtin; /* `builtin: pve-qemu` */
    struct rules_strings comm;
    struct rules_strings exe;
    struct rules_strings cmdline;
    bool always; /* `always: true`, a proctrack extension: the group exists from the start */
    struct rules_pos always_pos;
};

struct rules *rules_new(void);
/* Where rules_add_item reports findings that do not stop loading (name templates that render
 * "<no value>" or stop early); `warn` may be NULL. */
void rules_set_warn(struct rules *rules, rules_warn_fn warn, void *warn_arg);

/* Compiles item number `index` of config `config_name` and appends it as the next rule, taking
 * ownership of the strings it keeps (those are set to NULL in `item`). On error returns -1 and
 * writes "CONFIG:LINE:COL: reason" into `err`. */
int rules_add_item(struct rules *rules, const char *config_name, size_t index,
                   struct rules_item *item, char *err, size_t errlen);

/* Adds the rule for one legacy flag entry (legacy.c): processes whose comm is `comm` join group
 * `comm` when `regex` is NULL (-procnames); otherwise `regex` runs on the command line and names
 * the group "comm:" plus its first non-empty capture, or leaves the process out (-namemapping).
 * A comm has at most one such rule: a new one replaces the comm's earlier one. A regex without a
 * capture group is taken (its comm then never matches) and `warn`, when not NULL, told. On error
 * returns -1 and writes a reason without position into `err`. */
int rules_add_legacy(struct rules *rules, const char *comm, const char *regex, char *err,
                     size_t errlen, rules_warn_fn warn, void *warn_arg);

#endif /* PROCTRACK_RULES_ITEM_H */
