/* The check of a parsed template, once at load: which parts of a process it reads
 * (tmpl_needs), and the first spot that Go renders as "<no value>" or stops at, from what is known
 * of each value's type before any process is: the data's fields, StartTime's methods, the item's
 * capture names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"
#include "util/xalloc.h"

/* What a value is known to be before the process is. */
enum stype { ST_UNKNOWN, ST_ROOT, ST_STRING, ST_INT, ST_ENUM, ST_TIME, ST_SLICE, ST_MAP, ST_BOOL };

static const char *stype_name(enum stype t)
{
    static const char *const names[] = {
        "?",        "*config.templateParams", "string", "int", "time.Month", "time.Time",
        "[]string", "map[string]string",      "bool"};
    return names[t];
}

static const struct root_field {
    const char *name;
    enum stype type;
    unsigned needs;
} root_fields[] = {
    {"Cgroups", ST_SLICE, PROC_NEED_CGROUP},
    {"Comm", ST_STRING, 0},
    {"ExeBase", ST_STRING, PROC_NEED_CMDLINE},
    {"ExeFull", ST_STRING, PROC_NEED_CMDLINE},
    {"Username", ST_STRING, PROC_NEED_UID},
    {"PID", ST_INT, 0},
    {"StartTime", ST_TIME, 0},
    {"Matches", ST_MAP, PROC_NEED_CMDLINE},
};

static const struct time_method {
    const char *name;
    enum stype type;
} time_methods[] = {
    {"Unix", ST_INT},        {"UnixNano", ST_INT},  {"UnixMilli", ST_INT},   {"UnixMicro", ST_INT},
    {"Year", ST_INT},        {"Month", ST_ENUM},    {"Day", ST_INT},         {"Hour", ST_INT},
    {"Minute", ST_INT},      {"Second", ST_INT},    {"Nanosecond", ST_INT},  {"YearDay", ST_INT},
    {"Weekday", ST_ENUM},    {"String", ST_STRING}, {"Format", ST_STRING},   {"IsZero", ST_BOOL},
    {"UTC", ST_TIME},        {"Local", ST_TIME},    {"Location", ST_STRING}, {"IsDST", ST_BOOL},
    {"GoString", ST_STRING},
};

/* Methods of time.Time that Go's templates refuse to call at execution: more than one result, the
 * second not an error. */
static const struct several_results {
    const char *name;
    int results;
} time_several_results[] = {
    {"Date", 3}, {"Clock", 3}, {"ISOWeek", 2}, {"Zone", 2}, {"ZoneBounds", 2},
};

#define ALL_NEEDS (PROC_NEED_CMDLINE | PROC_NEED_UID | PROC_NEED_CGROUP)

struct checker {
    const char *text;
    struct tmpl *t;
    const char *const *captures;
    size_t ncaptures;
    struct tmpl_diag *warning;
    const char **vars;
    enum stype *var_types;
    size_t nvars, cap_vars, cap_types;
};

__attribute__((format(printf, 3, 4))) static void warn(struct checker *c, size_t pos,
                                                       const char *fmt, ...)
{
    if (!c->warning || c->warning->message[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->warning->message, sizeof(c->warning->message), fmt, ap);
    va_end(ap);
    tmpl_diag_at(c->text, pos, c->warning);
}

/* The position of field `i` of a chain node, for messages: the i-th '.' of its text. */
static size_t field_pos(const struct checker *c, const struct tnode *n, size_t i)
{
    size_t pos = n->pos;
    if (n->kind == TN_VARIABLE && n->nnames > 0)
        pos += strlen(n->names[0]), i--;
    for (size_t k = 0; k < i; k++) {
        pos++;
        while (c->text[pos] != '.')
            pos++;
    }
    return pos;
}

static enum stype check_fields(struct checker *c, const struct tnode *n, size_t first,
                               enum stype type)
{
    for (size_t i = first; i < n->nnames; i++) {
        const char *name = n->names[i];
        size_t pos = field_pos(c, n, i);
        enum stype next = ST_UNKNOWN;
        bool found = false;
        if (type == ST_ROOT || type == ST_UNKNOWN) {
            for (size_t k = 0; k < sizeof(root_fields) / sizeof(root_fields[0]); k++)
                if (strcmp(root_fields[k].name, name) == 0) {
                    c->t->needs |= root_fields[k].needs;
                    next = type == ST_ROOT ? root_fields[k].type : ST_UNKNOWN;
                    found = true;
                }
            if (type == ST_ROOT && !found) {
                warn(c, pos,
                     "can't evaluate field %s in type %s: the name ends with what is "
                     "rendered before this",
                     name, stype_name(type));
                return ST_UNKNOWN;
            }
        } else if (type == ST_MAP) {
            for (size_t k = 0; k < c->ncaptures; k++)
                if (strcmp(c->captures[k], name) == 0)
                    found = true;
            if (!found)
                warn(c, pos,
                     ".Matches.%s renders \"<no value>\": no cmdline regex of this item has a "
                     "capture group named \"%s\"",
                     name, name);
            next = ST_STRING;
        } else if (type == ST_TIME) {
            for (size_t k = 0; k < sizeof(time_methods) / sizeof(time_methods[0]); k++)
                if (strcmp(time_methods[k].name, name) == 0) {
                    next = time_methods[k].type;
                    found = true;
                }
            for (size_t k = 0;
                 !found && k < sizeof(time_several_results) / sizeof(time_several_results[0]); k++)
                if (strcmp(time_several_results[k].name, name) == 0) {
                    warn(c, pos,
                         "can't call method/function \"%s\" with %d results: the name ends "
                         "with what is rendered before this",
                         name, time_several_results[k].results);
                    return ST_UNKNOWN;
                }
            if (!found) {
                warn(c, pos,
                     "can't evaluate field %s in type time.Time: the name ends with what is "
                     "rendered before this",
                     name);
                return ST_UNKNOWN;
            }
        } else if (type == ST_ENUM && strcmp(name, "String") == 0) {
            next = ST_STRING;
        } else {
            warn(c, pos,
                 "can't evaluate field %s in type %s: the name ends with what is rendered "
                 "before this",
                 name, stype_name(type));
            return ST_UNKNOWN;
        }
        type = next;
    }
    return type;
}

static enum stype check_pipe(struct checker *c, const struct tnode *pipe, enum stype dot);

/* A whole value that may be the data: printing or passing it reads everything. */
static enum stype whole(struct checker *c, enum stype t)
{
    if (t == ST_ROOT || t == ST_UNKNOWN)
        c->t->needs |= ALL_NEEDS;
    return t;
}

static enum stype var_type(const struct checker *c, const char *name)
{
    for (size_t i = c->nvars; i-- > 0;)
        if (strcmp(c->vars[i], name) == 0)
            return c->var_types[i];
    return ST_UNKNOWN;
}

static enum stype check_operand(struct checker *c, const struct tnode *n, enum stype dot)
{
    switch (n->kind) {
    case TN_DOT:
        return whole(c, dot);
    case TN_FIELD:
        return check_fields(c, n, 0, dot);
    case TN_VARIABLE: {
        enum stype t = var_type(c, n->names[0]);
        if (n->nnames == 1)
            return whole(c, t);
        return check_fields(c, n, 1, t);
    }
    case TN_CHAIN:
        return check_fields(c, n, 0, check_operand(c, n->kids[0], dot));
    case TN_PIPE:
        return whole(c, check_pipe(c, n, dot));
    case TN_STRING:
        return ST_STRING;
    case TN_NUMBER:
        return ST_INT;
    case TN_BOOL:
        return ST_BOOL;
    default:
        return ST_UNKNOWN;
    }
}

static enum stype check_command(struct checker *c, const struct tnode *cmd, enum stype dot)
{
    enum stype head_type = ST_UNKNOWN, first = ST_UNKNOWN;
    for (size_t i = 0; i < cmd->nkids; i++) {
        enum stype t = check_operand(c, cmd->kids[i], dot);
        if (i == 0)
            head_type = t;
        if (i == 1)
            first = t;
    }
    const struct tnode *head = cmd->kids[0];
    if (head->kind != TN_FUNCTION)
        return head_type;
    switch (head->func) {
    case TF_PRINT:
    case TF_PRINTF:
    case TF_PRINTLN:
    case TF_HTML:
    case TF_JS:
    case TF_URLQUERY:
        return ST_STRING;
    case TF_LEN:
        return ST_INT;
    case TF_INDEX:
        return first == ST_SLICE || first == ST_MAP ? ST_STRING : ST_UNKNOWN;
    case TF_SLICE:
        return first;
    case TF_AND:
    case TF_OR:
        return ST_UNKNOWN;
    default:
        return ST_BOOL;
    }
}

static void check_declare(struct checker *c, const char *name, enum stype t, bool assign)
{
    if (assign) {
        for (size_t i = c->nvars; i-- > 0;)
            if (strcmp(c->vars[i], name) == 0) {
                if (c->var_types[i] != t)
                    c->var_types[i] = ST_UNKNOWN;
                return;
            }
    }
    c->vars = xgrow(c->vars, &c->cap_vars, c->nvars + 1, sizeof(*c->vars));
    c->var_types = xgrow(c->var_types, &c->cap_types, c->nvars + 1, sizeof(*c->var_types));
    c->vars[c->nvars] = name;
    c->var_types[c->nvars++] = t;
}

static enum stype check_pipe(struct checker *c, const struct tnode *pipe, enum stype dot)
{
    enum stype t = ST_UNKNOWN;
    for (size_t i = 0; i < pipe->nkids; i++)
        t = check_command(c, pipe->kids[i], dot);
    /* A pipeline's result fed to the next command as its last argument is a whole value. */
    if (pipe->nkids > 1)
        whole(c, ST_UNKNOWN == t ? ST_STRING : t);
    return t;
}

static void check_list(struct checker *c, const struct tnode *list, enum stype dot);

static void check_node(struct checker *c, const struct tnode *n, enum stype dot)
{
    size_t nvars = c->nvars;
    switch (n->kind) {
    case TN_ACTION: {
        enum stype t = check_pipe(c, n->pipe, dot);
        for (size_t i = 0; i < n->pipe->nnames; i++)
            check_declare(c, n->pipe->names[i], t, n->pipe->assign);
        if (n->pipe->nnames == 0)
            whole(c, t);
        return; /* declarations stay in scope to the end of the list */
    }
    case TN_IF:
    case TN_WITH: {
        enum stype t = check_pipe(c, n->pipe, dot);
        for (size_t i = 0; i < n->pipe->nnames; i++)
            check_declare(c, n->pipe->names[i], t, n->pipe->assign);
        check_list(c, n->list, n->kind == TN_WITH ? t : dot);
        if (n->else_list)
            check_list(c, n->else_list, dot);
        break;
    }
    case TN_TEMPLATE:
        if (n->pipe)
            whole(c, check_pipe(c, n->pipe, dot));
        return;
    case TN_RANGE: {
        enum stype t = check_pipe(c, n->pipe, dot);
        enum stype elem = t == ST_SLICE || t == ST_MAP ? ST_STRING : ST_UNKNOWN;
        enum stype key = t == ST_SLICE ? ST_INT : t == ST_MAP ? ST_STRING : ST_UNKNOWN;
        if (n->pipe->nnames == 1)
            check_declare(c, n->pipe->names[0], elem, false);
        if (n->pipe->nnames == 2) {
            check_declare(c, n->pipe->names[0], key, false);
            check_declare(c, n->pipe->names[1], elem, false);
        }
        check_list(c, n->list, elem);
        if (n->else_list)
            check_list(c, n->else_list, dot);
        break;
    }
    default:
        return;
    }
    c->nvars = nvars;
}

static void check_list(struct checker *c, const struct tnode *list, enum stype dot)
{
    size_t nvars = c->nvars;
    for (size_t i = 0; i < list->nkids; i++)
        check_node(c, list->kids[i], dot);
    if (list != c->t->root)
        c->nvars = nvars;
}

void tmpl_check(struct tmpl *t, const char *text, const char *const *capture_names,
                size_t ncapture_names, struct tmpl_diag *warning)
{
    struct checker c = {.text = text,
                        .t = t,
                        .captures = capture_names,
                        .ncaptures = ncapture_names,
                        .warning = warning};
    check_declare(&c, "$", ST_ROOT, false);
    check_list(&c, t->root, ST_ROOT);
    /* A template body's dot is whatever a call passes it: anything, as far as is known here. */
    for (size_t i = 0; i < t->ndefs; i++) {
        c.nvars = 0;
        check_declare(&c, "$", ST_UNKNOWN, false);
        check_list(&c, t->defs[i].body, ST_UNKNOWN);
    }
    free(c.vars);
    free(c.var_types);
}
