/* The compiled rule set, shared by the files of src/rules that build it (rules.c: lifecycle,
 * compiling, naming, builtins) and the one that runs it (match.c). Internal to src/rules. */
#ifndef PROCTRACK_RULES_COMPILED_H
#define PROCTRACK_RULES_COMPILED_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"
#include "rules/template.h"
#include "util/strbuf.h"

/* Distinct effective uids whose names are remembered; past that, entries are replaced in turn. */
#define USER_CACHE_MAX 256

/* A named group of one regex and the slot of the item's capture table it fills. */
struct named_group {
    uint32_t group;
    size_t slot;
};

struct regex {
    pcre2_code *code;
    pcre2_match_data *match_data; /* one per regex, reused by every match */
    struct named_group *groups;
    size_t ngroups;
    int last_rc; /* what the last pcre2_match returned, to read its numbered groups */
    /* Go stores the whole match and every unnamed group under the key "": the last of them
     * (the highest-numbered unnamed group, or 0) wins. */
    uint32_t unnamed_group;
    size_t unnamed_slot;
};

struct exe_rule {
    char *path;
    size_t len;
    bool full; /* contains a '/': argv[0] must equal it, not only its basename */
};

/* How a rule that matched names the group. */
enum rule_naming {
    NAMING_TEMPLATE,      /* process_names: render `name` */
    NAMING_COMM,          /* -procnames: the comm itself */
    NAMING_FIRST_CAPTURE, /* -namemapping: "comm:" and the first non-empty capture of the regex */
};

/* One of the built-in matchers a config may name; rules.c holds their table. */
struct builtin_def;

struct rule {
    enum rule_naming naming;
    const struct builtin_def *builtin; /* NULL for ordinary rules */
    rules_builtin_fn builtin_fn;
    void *builtin_ctx;
    bool matches_nothing; /* `comm: []` or `exe: []` */
    char **comms;
    size_t ncomms;
    struct exe_rule *exes;
    size_t nexes;
    struct regex *regexes;
    size_t nregexes;
    char **capture_names; /* the union of the named groups of all regexes, first seen first */
    size_t ncaptures;
    struct tmpl_span *captures; /* values from the last successful match, by slot */
    struct tmpl *name;          /* NAMING_TEMPLATE only */
    char *always_group;         /* `always: true`: the literal name; else NULL */
    char *description;
};

struct user_entry {
    uint32_t uid;
    char *name;
};

struct rules {
    struct rule *rules;
    size_t nrules;
    size_t cap;
    unsigned needs;
    bool use_jit;
    pcre2_match_context *match_context;
    pcre2_jit_stack *jit_stack;
    struct user_entry users[USER_CACHE_MAX];
    size_t nusers;
    size_t next_user_slot;
    struct rules_match_errors errors;
    struct rules_scratch scratch; /* lent to the builtin matchers, one call at a time */
    bool undecided;               /* of the last rules_match(): see rules_match_undecided() */
    /* A command line with invalid UTF-8 as Go's regexp sees it (match.c), and for each of its
     * bytes the offset in the real command line. */
    struct strbuf go_subject;
    size_t *go_offsets;
    size_t go_offsets_cap;
    rules_warn_fn warn;
    void *warn_arg;
};

#endif /* PROCTRACK_RULES_COMPILED_H */
