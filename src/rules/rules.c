/* Compiled process_names rules: their lifecycle, the compiler that turns config items and legacy
 * flags into rules, the description each rule has for logs, and the built-in matchers.
 * process-exporter's semantics, with PCRE2 standing in for Go's regexp. The YAML reader is in
 * load.c, the matcher in match.c. */
#include "rules/rules.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/compiled.h"
#include "rules/gosyntax.h"
#include "rules/item.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The built-in matchers a config may name, the captures each provides, its default name and
 * what it reads of a process. */
static const struct builtin_def {
    const char *name;
    const char *const *captures;
    size_t ncaptures;
    const char *default_name;
    unsigned needs;
} builtins[] = {
    {"pve-qemu", (const char *const[]){"vmid", "name"}, 2, "qemu/{{.Matches.vmid}}",
     PROC_NEED_CMDLINE | PROC_NEED_EXE | PROC_NEED_CGROUP},
    {"pve-lxc", (const char *const[]){"vmid", "name"}, 2, "lxc/{{.Matches.vmid}}",
     PROC_NEED_CGROUP},
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static void *check_alloc(void *p)
{
    if (p == NULL) {
        log_msg(LOG_ERROR, "out of memory");
        abort();
    }
    return p;
}

static void rule_free(struct rule *r)
{
    for (size_t i = 0; i < r->ncomms; i++)
        free(r->comms[i]);
    free(r->comms);
    for (size_t i = 0; i < r->nexes; i++)
        free(r->exes[i].path);
    free(r->exes);
    for (size_t i = 0; i < r->nregexes; i++) {
        pcre2_match_data_free(r->regexes[i].match_data);
        pcre2_code_free(r->regexes[i].code);
        free(r->regexes[i].groups);
    }
    free(r->regexes);
    for (size_t i = 0; i < r->ncaptures; i++)
        free(r->capture_names[i]);
    free(r->capture_names);
    free(r->captures);
    tmpl_free(r->name);
    free(r->always_group);
    free(r->description);
}

/* PCRE2's JIT before 10.43 does not match multi-byte characters with \S, \D or \W when the
 * pattern has PCRE2_MATCH_INVALID_UTF (PCRE2 issue #224): `--file=(?P<f>\S+)` captured "caf" from
 * "--file=café.txt". Debian 12 ships 10.42, so the JIT is used only from 10.43 on; a regex runs
 * once per new process, and the interpreter is fast enough for that. */
static bool jit_is_usable(void)
{
    uint32_t jit = 0;
    char version[64] = ""; /* "10.42 2022-12-11" */
    if (pcre2_config(PCRE2_CONFIG_JIT, &jit) < 0 || !jit)
        return false;
    if (pcre2_config(PCRE2_CONFIG_VERSION, version) < 0)
        return false;
    char *end;
    unsigned long major = strtoul(version, &end, 10);
    unsigned long minor = *end == '.' ? strtoul(end + 1, NULL, 10) : 0;
    return major > 10 || (major == 10 && minor >= 43);
}

struct rules *rules_new(void)
{
    struct rules *rs = xcalloc(1, sizeof(*rs));
    rs->match_context = check_alloc(pcre2_match_context_create(NULL));
    rs->use_jit = jit_is_usable();
    if (rs->use_jit)
        rs->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (rs->jit_stack)
        pcre2_jit_stack_assign(rs->match_context, NULL, rs->jit_stack);
    return rs;
}

void rules_free(struct rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->nrules; i++)
        rule_free(&rules->rules[i]);
    free(rules->rules);
    for (size_t i = 0; i < rules->nusers; i++)
        free(rules->users[i].name);
    strbuf_free(&rules->go_subject);
    free(rules->go_offsets);
    pcre2_jit_stack_free(rules->jit_stack);
    pcre2_match_context_free(rules->match_context);
    free(rules);
}

/* ---- Compiling ---- */

static size_t capture_slot(struct rule *r, const char *name)
{
    for (size_t i = 0; i < r->ncaptures; i++) {
        if (strcmp(r->capture_names[i], name) == 0)
            return i;
    }
    r->capture_names = xrealloc(r->capture_names, (r->ncaptures + 1) * sizeof(char *));
    r->capture_names[r->ncaptures] = xstrdup(name);
    return r->ncaptures++;
}

/* Go's RE2 syntax maps onto PCRE2 with these options (and the rewriting of gosyntax.c): `$`
 * without (?m) matches only at the very end, (?m)^ also after a newline that ends the text, \C
 * (one byte, which RE2 refuses) is refused, and a command line with invalid UTF-8 is searched
 * instead of rejected; match.c shows it to PCRE2 as Go's regexp sees it. Without PCRE2_UCP, \d,
 * \w, \b and the POSIX classes are ASCII, as in Go. */
#define REGEX_OPTIONS                                                                              \
    (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_CIRCUMFLEX |           \
     PCRE2_NEVER_BACKSLASH_C)

__attribute__((format(printf, 5, 6))) static int
fail(char *err, size_t errlen, const char *config_name, struct rules_pos pos, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%zu:%zu: %s", config_name, pos.line, pos.column, reason);
    return -1;
}

/* Compiles `len` bytes of `pattern` into the next slot of r->regexes. On a syntax error returns
 * -1 and writes "PCRE2 MESSAGE at offset N" into `reason`, for the caller to place. */
static int compile_regex(const struct rules *rs, struct rule *r, const char *pattern, size_t len,
                         char *reason, size_t reasonlen)
{
    struct go_pattern go = {.text = STRBUF_INIT};
    if (rules_go_translate(pattern, len, &go, reason, reasonlen)) {
        rules_go_pattern_free(&go);
        return -1;
    }
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)strbuf_str(&go.text), go.text.len, REGEX_OPTIONS,
                                     &errcode, &erroff, NULL);
    if (code == NULL) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(errcode, message, sizeof(message));
        size_t at = erroff <= go.text.len ? go.from[erroff] : len;
        snprintf(reason, reasonlen, "%s at offset %zu", (const char *)message, at);
        rules_go_pattern_free(&go);
        return -1;
    }
    /* On failure (no executable memory, say) the interpreter runs instead, to the same effect. */
    if (rs->use_jit)
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);

    struct regex *re = &r->regexes[r->nregexes++];
    re->code = code;
    re->match_data = check_alloc(pcre2_match_data_create_from_pattern(code, NULL));

    uint32_t count = 0, entry_size = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    re->groups = xcalloc(count ? count : 1, sizeof(*re->groups));
    for (uint32_t i = 0; i < count; i++) {
        /* Each entry: the group number, big-endian in two bytes, then the NUL-terminated name,
         * "_k" for the k-th named group. Kept in group order: of two groups with one name, the
         * later one's value counts, as in process-exporter. */
        PCRE2_SPTR entry = table + (size_t)i * entry_size;
        size_t k = strtoul((const char *)entry + 3, NULL, 10);
        re->groups[k].group = (uint32_t)entry[0] << 8 | entry[1];
        re->groups[k].slot = capture_slot(r, go.names[k]);
    }
    re->ngroups = count;
    rules_go_pattern_free(&go);

    uint32_t ncaptures = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncaptures);
    re->unnamed_group = 0;
    for (uint32_t n = ncaptures; n > 0 && re->unnamed_group == 0; n--) {
        bool named = false;
        for (uint32_t i = 0; i < count; i++)
            named |= re->groups[i].group == n;
        if (!named)
            re->unnamed_group = n;
    }
    re->unnamed_slot = capture_slot(r, "");
    return 0;
}

static bool strict_templates;

void rules_set_strict_templates(bool strict)
{
    strict_templates = strict;
}

void rules_set_warn(struct rules *rules, rules_warn_fn warn, void *warn_arg)
{
    rules->warn = warn;
    rules->warn_arg = warn_arg;
}

/* Where a finding in a name template is in the file: exact when the template stands in the file
 * as it is, else the scalar's start, with the place in the template added to the message. */
static struct rules_pos template_pos(const struct rules_string *name, const struct tmpl_diag *d,
                                     char *where, size_t wherelen)
{
    where[0] = '\0';
    if (name->verbatim && d->line == 1)
        return (struct rules_pos){name->value_pos.line, name->value_pos.column + d->column - 1};
    snprintf(where, wherelen, " (template line %zu, column %zu)", d->line, d->column);
    return name->pos;
}

/* Compiles the item's name template (`name` NULL: the default `text`) into r->name. A template
 * that Go would render oddly is a warning, or an error under rules_set_strict_templates(true). */
static int compile_name(struct rules *rules, struct rule *r, const char *config_name,
                        const struct rules_string *name, const char *text, char *err, size_t errlen)
{
    struct tmpl_diag bad, odd;
    char where[64];
    r->name = tmpl_compile(text, strlen(text), (const char *const *)r->capture_names, r->ncaptures,
                           &bad, &odd);
    if (!r->name) {
        struct rules_pos pos =
            name ? template_pos(name, &bad, where, sizeof(where)) : (struct rules_pos){1, 1};
        return fail(err, errlen, config_name, pos, "bad name template \"%s\": %s%s", text,
                    bad.message, name ? where : "");
    }
    if (odd.message[0] && name) {
        struct rules_pos pos = template_pos(name, &odd, where, sizeof(where));
        if (strict_templates)
            return fail(err, errlen, config_name, pos,
                        "name template \"%s\": %s%s (-config.strict-templates)", text, odd.message,
                        where);
        if (rules->warn) {
            char message[1024];
            snprintf(message, sizeof(message), "%s:%zu:%zu: name template \"%s\": %s%s",
                     config_name, pos.line, pos.column, text, odd.message, where);
            rules->warn(rules->warn_arg, message);
        }
    }
    return 0;
}

static char **steal_strings(struct rules_strings *l)
{
    char **v = xcalloc(l->n ? l->n : 1, sizeof(*v));
    for (size_t i = 0; i < l->n; i++) {
        v[i] = l->v[i].s;
        l->v[i].s = NULL;
    }
    return v;
}

/* `always: true` asks for the group before any process is in it, so its name must be known
 * without one: literal text. A template is refused rather than the key ignored, since a group
 * that silently never appears is what the key is there to prevent. */
static int check_always(const char *config_name, const struct rules_item *it, char *err,
                        size_t errlen)
{
    if (!it->always)
        return 0;
    if (!it->has_name || it->name.len == 0)
        return fail(err, errlen, config_name, it->always_pos,
                    "\"always: true\" needs a literal name: without \"name\" each process "
                    "names its group");
    if (strstr(it->name.s, "{{"))
        return fail(err, errlen, config_name, it->always_pos,
                    "\"always: true\" needs a literal name, not the template \"%s\": a "
                    "templated name is known only when a process matches",
                    it->name.s);
    return 0;
}

static void append_rule(struct rules *rules, struct rule *r, const char *config_name, size_t index,
                        const struct rules_item *it, unsigned needs)
{
    if (it->always)
        r->always_group = xstrdup(it->name.s);
    struct strbuf desc = STRBUF_INIT;
    strbuf_printf(&desc, "process_names[%zu] (%s:%zu:%zu)", index, config_name, it->pos.line,
                  it->pos.column);
    r->description = desc.buf;
    rules->rules = xgrow(rules->rules, &rules->cap, rules->nrules + 1, sizeof(*rules->rules));
    rules->rules[rules->nrules++] = *r;
    rules->needs |= needs;
}

/* `builtin: NAME`, with an optional name template over the builtin's captures. */
static int add_builtin_item(struct rules *rules, const char *config_name, size_t index,
                            struct rules_item *it, char *err, size_t errlen)
{
    const struct builtin_def *def = NULL;
    for (size_t i = 0; i < NBUILTINS; i++)
        if (strcmp(it->builtin.s, builtins[i].name) == 0)
            def = &builtins[i];
    if (!def)
        return fail(err, errlen, config_name, it->builtin.pos,
                    "unknown builtin \"%s\" (known: pve-qemu, pve-lxc)", it->builtin.s);
    if (it->comm.n || it->exe.n || it->cmdline.n)
        return fail(err, errlen, config_name, it->pos,
                    "a builtin item takes no comm, exe or cmdline: the builtin is its matcher");

    struct rule r = {0};
    r.builtin = def;
    r.ncaptures = def->ncaptures;
    r.capture_names = xcalloc(def->ncaptures, sizeof(*r.capture_names));
    for (size_t i = 0; i < def->ncaptures; i++)
        r.capture_names[i] = xstrdup(def->captures[i]);
    r.captures = xcalloc(def->ncaptures, sizeof(*r.captures));
    r.exes = xcalloc(1, sizeof(*r.exes));
    r.regexes = xcalloc(1, sizeof(*r.regexes));

    bool named = it->has_name && it->name.len > 0;
    const char *text = named ? it->name.s : def->default_name;
    if (compile_name(rules, &r, config_name, named ? &it->name : NULL, text, err, errlen)) {
        rule_free(&r);
        return -1;
    }
    append_rule(rules, &r, config_name, index, it, def->needs | tmpl_needs(r.name));
    return 0;
}

struct rules_span rules_scratch_put(struct rules_scratch *scratch, const char *s, size_t len)
{
    size_t room = sizeof(scratch->text) - scratch->used;
    if (len > room)
        len = room;
    char *copy = scratch->text + scratch->used;
    memcpy(copy, s, len);
    scratch->used += len;
    return (struct rules_span){copy, len};
}

void rules_set_builtin(struct rules *rules, const char *builtin, rules_builtin_fn fn, void *ctx)
{
    for (size_t i = 0; i < rules->nrules; i++) {
        struct rule *r = &rules->rules[i];
        if (r->builtin && strcmp(r->builtin->name, builtin) == 0) {
            r->builtin_fn = fn;
            r->builtin_ctx = ctx;
        }
    }
}

const char *rules_builtin_of(const struct rules *rules, size_t index)
{
    if (index >= rules->nrules || !rules->rules[index].builtin)
        return NULL;
    return rules->rules[index].builtin->name;
}

bool rules_uses_builtin(const struct rules *rules, const char *builtin)
{
    for (size_t i = 0; i < rules->nrules; i++)
        if (rules->rules[i].builtin && strcmp(rules->rules[i].builtin->name, builtin) == 0)
            return true;
    return false;
}

int rules_add_item(struct rules *rules, const char *config_name, size_t index,
                   struct rules_item *it, char *err, size_t errlen)
{
    if (check_always(config_name, it, err, errlen))
        return -1;
    if (it->has_builtin)
        return add_builtin_item(rules, config_name, index, it, err, errlen);
    if (!it->comm.set && !it->exe.set && !it->cmdline.set)
        return fail(err, errlen, config_name, it->pos,
                    "no matchers provided: an item needs comm, exe or cmdline");

    struct rule r = {0};
    unsigned needs = 0;
    /* As in process-exporter, an empty comm or exe list is a matcher that takes no process. */
    r.matches_nothing = (it->comm.set && it->comm.n == 0) || (it->exe.set && it->exe.n == 0);
    r.ncomms = it->comm.n;
    r.comms = steal_strings(&it->comm);

    /* process-exporter keys exe rules by basename, so `/usr/bin/python` and `/opt/bin/python` in
     * one list collapse to the last; here every rule is kept and tried. */
    r.exes = xcalloc(it->exe.n ? it->exe.n : 1, sizeof(*r.exes));
    for (size_t i = 0; i < it->exe.n; i++) {
        r.exes[i].full = strchr(it->exe.v[i].s, '/') != NULL;
        r.exes[i].path = it->exe.v[i].s;
        r.exes[i].len = it->exe.v[i].len;
        it->exe.v[i].s = NULL;
    }
    r.nexes = it->exe.n;
    if (r.nexes > 0)
        needs |= PROC_NEED_CMDLINE;

    char reason[512];
    r.regexes = xcalloc(it->cmdline.n ? it->cmdline.n : 1, sizeof(*r.regexes));
    for (size_t i = 0; i < it->cmdline.n; i++) {
        const struct rules_string *src = &it->cmdline.v[i];
        if (compile_regex(rules, &r, src->s, src->len, reason, sizeof(reason))) {
            fail(err, errlen, config_name, src->pos, "bad cmdline regex \"%s\": %s", src->s,
                 reason);
            goto out_free;
        }
        needs |= PROC_NEED_CMDLINE;
    }

    bool named = it->has_name && it->name.len > 0;
    if (compile_name(rules, &r, config_name, named ? &it->name : NULL,
                     named ? it->name.s : "{{.ExeBase}}", err, errlen))
        goto out_free;
    needs |= tmpl_needs(r.name);
    r.captures = xcalloc(r.ncaptures ? r.ncaptures : 1, sizeof(*r.captures));
    append_rule(rules, &r, config_name, index, it, needs);
    return 0;

out_free:
    rule_free(&r);
    return -1;
}

static struct rule *legacy_rule_for(struct rules *rs, const char *comm)
{
    for (size_t i = 0; i < rs->nrules; i++) {
        struct rule *r = &rs->rules[i];
        if (r->naming != NAMING_TEMPLATE && strcmp(r->comms[0], comm) == 0)
            return r;
    }
    return NULL;
}

/* process-exporter keeps -procnames and -namemapping in one map keyed by comm, so a comm has at
 * most one legacy rule: the last one added for it, in the place of the first. */
int rules_add_legacy(struct rules *rules, const char *comm, const char *regex, char *err,
                     size_t errlen, rules_warn_fn warn, void *warn_arg)
{
    struct rule r = {0};
    struct strbuf desc = STRBUF_INIT;
    r.comms = xcalloc(1, sizeof(*r.comms));
    r.comms[0] = xstrdup(comm);
    r.ncomms = 1;
    r.regexes = xcalloc(1, sizeof(*r.regexes));
    if (regex == NULL) {
        r.naming = NAMING_COMM;
        strbuf_printf(&desc, "-procnames \"%s\"", comm);
    } else {
        char reason[512];
        if (compile_regex(rules, &r, regex, strlen(regex), reason, sizeof(reason))) {
            snprintf(err, errlen, "bad namemapping regex \"%s\": %s", regex, reason);
            goto out_free;
        }
        uint32_t ngroups = 0;
        pcre2_pattern_info(r.regexes[0].code, PCRE2_INFO_CAPTURECOUNT, &ngroups);
        if (ngroups == 0 && warn) {
            /* process-exporter takes it, and its comm then never matches: so do we. */
            char message[1024];
            snprintf(message, sizeof(message),
                     "namemapping regex \"%s\" for \"%s\" has no capture group: processes "
                     "with that comm are never tracked",
                     regex, comm);
            warn(warn_arg, message);
        }
        r.naming = NAMING_FIRST_CAPTURE;
        r.captures = xcalloc(r.ncaptures ? r.ncaptures : 1, sizeof(*r.captures));
        strbuf_printf(&desc, "-namemapping \"%s\"", comm);
        rules->needs |= PROC_NEED_CMDLINE;
    }
    r.description = desc.buf;

    struct rule *existing = legacy_rule_for(rules, comm);
    if (existing != NULL) {
        rule_free(existing);
        *existing = r;
    } else {
        rules->rules = xgrow(rules->rules, &rules->cap, rules->nrules + 1, sizeof(*rules->rules));
        rules->rules[rules->nrules++] = r;
    }
    return 0;

out_free:
    rule_free(&r);
    return -1;
}

size_t rules_count(const struct rules *rules)
{
    return rules->nrules;
}

unsigned rules_needs(const struct rules *rules)
{
    return rules->needs;
}

const char *rules_always_group(const struct rules *rules, size_t index)
{
    return index < rules->nrules ? rules->rules[index].always_group : NULL;
}

const char *rules_describe(const struct rules *rules, size_t index)
{
    return index < rules->nrules ? rules->rules[index].description : "";
}
