/* Rendering a compiled template: Go's text/template/exec (Go 1.19) over process-exporter's
 * templateParams, with its builtin functions. An evaluation error stops the render where Go's
 * Execute stops; what was written stays, because process-exporter ignores the error and keeps
 * the buffer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"
#include "util/xalloc.h"

struct var {
    const char *name;
    struct tval value;
};

enum loop_signal { LOOP_NONE, LOOP_BREAK, LOOP_CONTINUE };

struct state {
    const struct texec_data *d;
    struct strbuf *out;
    size_t out_start;
    size_t max_output; /* TMPL_MAX_OUTPUT plus the size of the data */
    size_t steps;
    struct var *vars; /* `few` until more are needed: most templates declare none */
    size_t nvars, capvars;
    struct var few[8];
    size_t var_base; /* the running template body's variables start here */
    int depth;       /* {{template}} calls in progress */
    char **strings;  /* results of printf and friends, freed after the render */
    size_t nstrings, capstrings;
    size_t kept; /* their bytes */
    enum loop_signal loop;
    jmp_buf fail;
};

/* Go's template stops with an error here; so does the render. The message is not shown:
 * process-exporter drops it. */
__attribute__((noreturn)) static void exec_fail(struct state *s)
{
    longjmp(s->fail, 1);
}

static void step(struct state *s)
{
    if (++s->steps > TMPL_MAX_STEPS)
        exec_fail(s);
}

static struct tval str_val(const char *p, size_t len)
{
    return (struct tval){.kind = TV_STRING, .s = p, .len = len};
}

static struct tval int_val(int64_t i, enum tval_type type)
{
    return (struct tval){.kind = TV_INT, .type = type, .i = i};
}

static struct tval bool_val(bool b)
{
    return (struct tval){.kind = TV_BOOL, .b = b};
}

/* Keeps a built string alive until the render ends. A string longer than the output may be,
 * or strings adding up to 16 times that, stop the render: `$x = printf "%q%q" $x $x` in a
 * chain would otherwise double without end. */
static struct tval keep(struct state *s, struct strbuf *b)
{
    s->kept += b->len;
    if (b->len > s->max_output || s->kept > 16 * s->max_output) {
        strbuf_free(b);
        exec_fail(s);
    }
    char *p = b->buf ? b->buf : xstrdup("");
    s->strings = xgrow(s->strings, &s->capstrings, s->nstrings + 1, sizeof(*s->strings));
    s->strings[s->nstrings++] = p;
    return str_val(p, b->len);
}

static void push_var(struct state *s, const char *name, struct tval v)
{
    if (s->nvars == s->capvars) {
        size_t cap = s->capvars * 2;
        struct var *grown = xcalloc(cap, sizeof(*grown));
        memcpy(grown, s->vars, s->nvars * sizeof(*grown));
        if (s->vars != s->few)
            free(s->vars);
        s->vars = grown;
        s->capvars = cap;
    }
    s->vars[s->nvars++] = (struct var){name, v};
}

static void set_var(struct state *s, const char *name, struct tval v)
{
    for (size_t i = s->nvars; i-- > s->var_base;)
        if (strcmp(s->vars[i].name, name) == 0) {
            s->vars[i].value = v;
            return;
        }
    exec_fail(s); /* undefined variable */
}

static struct tval var_value(struct state *s, const char *name)
{
    for (size_t i = s->nvars; i-- > s->var_base;)
        if (strcmp(s->vars[i].name, name) == 0)
            return s->vars[i].value;
    exec_fail(s);
}

/* Go's isTrue; none of the types a template sees here is neither true nor false. */
static bool truth(const struct state *s, const struct tval *v)
{
    switch (v->kind) {
    case TV_MISSING:
    case TV_NIL:
        return false;
    case TV_BOOL:
        return v->b;
    case TV_INT:
        return v->i != 0;
    case TV_UINT:
        return v->u != 0;
    case TV_FLOAT:
        return v->f != 0;
    case TV_STRING:
        return v->len > 0;
    case TV_SLICE:
        return v->nitems > 0;
    case TV_MAP:
        return s->d->tmpl->nkeys > 0;
    case TV_TIME:
    case TV_PARAMS:
        return true;
    }
    return false;
}

/* ---- Fields and methods ---- */

static struct tval root_field(struct state *s, const char *name)
{
    const struct tmpl_values *values = s->d->values;
    const struct proc_identity *id = values->id;
    const char *comm = id->comm ? id->comm : "";
    if (strcmp(name, "Comm") == 0)
        return str_val(comm, strlen(comm));
    if (strcmp(name, "ExeBase") == 0)
        return str_val(s->d->exe_base, s->d->exe_base_len);
    if (strcmp(name, "ExeFull") == 0) {
        const char *full = id->argc > 0 ? id->argv[0] : comm;
        return str_val(full, strlen(full));
    }
    if (strcmp(name, "Username") == 0) {
        const char *user = values->username ? values->username : "";
        return str_val(user, strlen(user));
    }
    if (strcmp(name, "PID") == 0)
        return int_val(id->pid, TT_PLAIN);
    if (strcmp(name, "StartTime") == 0)
        return (struct tval){.kind = TV_TIME, .ns = (int64_t)id->start_time_ns, .zone = "UTC"};
    if (strcmp(name, "Cgroups") == 0)
        return (struct tval){.kind = TV_SLICE, .items = id->cgroups, .nitems = id->ncgroups};
    if (strcmp(name, "Matches") == 0)
        return (struct tval){.kind = TV_MAP};
    exec_fail(s);
}

static struct tval map_get(const struct state *s, const char *key, size_t keylen, bool *found)
{
    const struct tmpl *t = s->d->tmpl;
    const struct tmpl_values *values = s->d->values;
    for (size_t i = 0; i < t->nkeys; i++) {
        if (strlen(t->keys[i]) == keylen && memcmp(t->keys[i], key, keylen) == 0) {
            *found = true;
            size_t slot = t->key_slots[i];
            if (slot < values->ncaptures)
                return str_val(values->captures[slot].ptr, values->captures[slot].len);
            return str_val("", 0);
        }
    }
    *found = false;
    return (struct tval){.kind = TV_MISSING};
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* How a function parameter is typed in Go, which decides what it accepts. */
enum param { P_VALUE /* reflect.Value */, P_IFACE /* any */, P_STRING };

static struct tval eval_arg(struct state *s, const struct tval *dot, const struct tnode *n,
                            enum param param);

/* A method or field of `recv` named `name`, with `args` (nodes) and the piped `final` value. */
static struct tval eval_field(struct state *s, const struct tval *dot, const struct tval *recv,
                              const char *name, const struct tnode *const *args, size_t nargs,
                              const struct tval *final)
{
    step(s);
    size_t given = nargs + (final != NULL);
    switch (recv->kind) {
    case TV_MISSING:
        return *recv;
    case TV_PARAMS:
        if (given > 0)
            exec_fail(s); /* has arguments but cannot be invoked as function */
        return root_field(s, name);
    case TV_MAP: {
        if (given > 0)
            exec_fail(s); /* is not a method but has arguments */
        bool found;
        return map_get(s, name, strlen(name), &found);
    }
    case TV_TIME:
        break;
    case TV_INT:
        if ((recv->type == TT_MONTH || recv->type == TT_WEEKDAY) && strcmp(name, "String") == 0) {
            if (given > 0)
                exec_fail(s);
            struct strbuf b = STRBUF_INIT;
            tmpl_fmt_value(&b, s->d, recv);
            return keep(s, &b);
        }
        exec_fail(s);
    default:
        exec_fail(s); /* can't evaluate field in type */
    }

    /* time.Time */
    if (strcmp(name, "Format") == 0) {
        if (given != 1)
            exec_fail(s);
        struct tval layout = nargs ? eval_arg(s, dot, args[0], P_STRING) : *final;
        if (layout.kind != TV_STRING)
            exec_fail(s);
        struct strbuf b = STRBUF_INIT;
        tmpl_time_format(&b, recv, layout.s, layout.len);
        return keep(s, &b);
    }
    if (given > 0)
        exec_fail(s);
    struct tmpl_time_civil c;
    tmpl_time_civil(recv, &c);
    if (strcmp(name, "Unix") == 0)
        return int_val(floor_div(recv->ns, 1000000000), TT_INT64);
    if (strcmp(name, "UnixNano") == 0)
        return int_val(recv->ns, TT_INT64);
    if (strcmp(name, "UnixMilli") == 0)
        return int_val(floor_div(recv->ns, 1000000), TT_INT64);
    if (strcmp(name, "UnixMicro") == 0)
        return int_val(floor_div(recv->ns, 1000), TT_INT64);
    if (strcmp(name, "Year") == 0)
        return int_val(c.year, TT_PLAIN);
    if (strcmp(name, "Month") == 0)
        return int_val(c.month, TT_MONTH);
    if (strcmp(name, "Day") == 0)
        return int_val(c.day, TT_PLAIN);
    if (strcmp(name, "Hour") == 0)
        return int_val(c.hour, TT_PLAIN);
    if (strcmp(name, "Minute") == 0)
        return int_val(c.minute, TT_PLAIN);
    if (strcmp(name, "Second") == 0)
        return int_val(c.second, TT_PLAIN);
    if (strcmp(name, "Nanosecond") == 0)
        return int_val(c.nanosecond, TT_PLAIN);
    if (strcmp(name, "YearDay") == 0)
        return int_val(c.yearday, TT_PLAIN);
    if (strcmp(name, "Weekday") == 0)
        return int_val(c.weekday, TT_WEEKDAY);
    if (strcmp(name, "IsZero") == 0)
        return bool_val(false); /* a process started after year 1 */
    if (strcmp(name, "UTC") == 0)
        return (struct tval){.kind = TV_TIME, .ns = recv->ns, .zone = "UTC"};
    if (strcmp(name, "Local") == 0)
        return tmpl_time_local(recv);
    if (strcmp(name, "Location") == 0) {
        /* A *time.Location prints its name: "UTC", or "Local" for the process's zone. */
        const char *loc = recv->local ? "Local" : "UTC";
        return str_val(loc, strlen(loc));
    }
    if (strcmp(name, "IsDST") == 0)
        return bool_val(recv->dst);
    if (strcmp(name, "GoString") == 0) {
        struct strbuf b = STRBUF_INIT;
        tmpl_time_go_string(&b, recv);
        return keep(s, &b);
    }
    if (strcmp(name, "String") == 0) {
        struct strbuf b = STRBUF_INIT;
        tmpl_fmt_value(&b, s->d, recv);
        return keep(s, &b);
    }
    exec_fail(s);
}

static struct tval eval_chain(struct state *s, const struct tval *dot, struct tval recv,
                              char *const *names, size_t n, const struct tnode *const *args,
                              size_t nargs, const struct tval *final)
{
    for (size_t i = 0; i + 1 < n; i++)
        recv = eval_field(s, dot, &recv, names[i], NULL, 0, NULL);
    return eval_field(s, dot, &recv, names[n - 1], args, nargs, final);
}

/* ---- Functions ---- */

static struct tval eval_pipeline(struct state *s, const struct tval *dot, const struct tnode *pipe);
static struct tval eval_function(struct state *s, const struct tval *dot, enum tfunc func,
                                 const struct tnode *const *args, size_t nargs,
                                 const struct tval *final);

/* Go's idealConstant: a number written as a float is a float64, any other an int. */
static struct tval constant(struct state *s, const struct tnum *num)
{
    if (!isnan(num->f))
        return (struct tval){.kind = TV_FLOAT, .f = num->f};
    if (num->is_int)
        return int_val(num->i, TT_PLAIN);
    exec_fail(s); /* overflows int */
}

/* An argument. A missing value stays missing for the functions that take reflect.Value; the
 * callers of those that take an interface turn it into nil. A string parameter takes only a
 * string. */
static struct tval eval_arg(struct state *s, const struct tval *dot, const struct tnode *n,
                            enum param param)
{
    bool string_param = param == P_STRING;
    struct tval v;
    switch (n->kind) {
    case TN_DOT:
        v = *dot;
        break;
    case TN_NIL:
        if (param != P_IFACE)
            exec_fail(s); /* cannot assign nil to reflect.Value / string */
        return (struct tval){.kind = TV_NIL};
    case TN_FIELD:
        v = eval_chain(s, dot, *dot, n->names, n->nnames, NULL, 0, NULL);
        break;
    case TN_VARIABLE:
        v = var_value(s, n->names[0]);
        if (n->nnames > 1)
            v = eval_chain(s, dot, v, n->names + 1, n->nnames - 1, NULL, 0, NULL);
        break;
    case TN_PIPE:
        v = eval_pipeline(s, dot, n);
        break;
    case TN_CHAIN:
        v = eval_chain(s, dot, eval_arg(s, dot, n->kids[0], P_VALUE), n->names, n->nnames, NULL, 0,
                       NULL);
        break;
    case TN_FUNCTION:
        v = eval_function(s, dot, n->func, NULL, 0, NULL);
        break;
    case TN_STRING:
        return str_val(n->str, n->len);
    case TN_BOOL:
        if (string_param)
            exec_fail(s);
        return bool_val(n->boolean);
    case TN_NUMBER:
        if (string_param)
            exec_fail(s); /* expected string; found 3 */
        return constant(s, &n->num);
    default:
        exec_fail(s);
    }
    if (string_param && v.kind != TV_STRING)
        exec_fail(s); /* wrong type for value; expected string */
    return v;
}

/* Go's basicKind classes for comparisons. */
enum bkind { BK_INVALID, BK_BOOL, BK_INT, BK_UINT, BK_FLOAT, BK_STRING };

static enum bkind basic_kind(const struct tval *v)
{
    switch (v->kind) {
    case TV_BOOL:
        return BK_BOOL;
    case TV_INT:
        return BK_INT;
    case TV_UINT:
        return BK_UINT;
    case TV_FLOAT:
        return BK_FLOAT;
    case TV_STRING:
        return BK_STRING;
    default:
        return BK_INVALID;
    }
}

static int cmp_str(const struct tval *a, const struct tval *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static bool same_time(const struct tval *a, const struct tval *b)
{
    return a->ns == b->ns && a->local == b->local;
}

/* Go's eq: arg1 equal to any of the others. */
static bool eq(struct state *s, const struct tval *a, const struct tval *others, size_t n)
{
    bool a_zero = a->kind == TV_MISSING;
    if (a->kind == TV_SLICE || a->kind == TV_MAP)
        exec_fail(s); /* invalid type for comparison */
    if (n == 0)
        exec_fail(s); /* missing argument for comparison */
    enum bkind k1 = basic_kind(a);
    for (size_t i = 0; i < n; i++) {
        const struct tval *b = &others[i];
        enum bkind k2 = basic_kind(b);
        bool b_zero = b->kind == TV_MISSING;
        bool truth = false;
        if (k1 != k2) {
            if (k1 == BK_INT && k2 == BK_UINT)
                truth = a->i >= 0 && (uint64_t)a->i == b->u;
            else if (k1 == BK_UINT && k2 == BK_INT)
                truth = b->i >= 0 && a->u == (uint64_t)b->i;
            else if (!a_zero && !b_zero)
                exec_fail(s); /* incompatible types for comparison */
        } else {
            switch (k1) {
            case BK_BOOL:
                truth = a->b == b->b;
                break;
            case BK_FLOAT:
                truth = a->f == b->f;
                break;
            case BK_INT:
                truth = a->i == b->i;
                break;
            case BK_UINT:
                truth = a->u == b->u;
                break;
            case BK_STRING:
                truth = cmp_str(a, b) == 0;
                break;
            case BK_INVALID:
                if (a_zero || b_zero) {
                    truth = a_zero && b_zero;
                } else {
                    if (b->kind == TV_SLICE || b->kind == TV_MAP)
                        exec_fail(s);
                    truth = a->kind == b->kind &&
                            (a->kind == TV_PARAMS || (a->kind == TV_TIME && same_time(a, b)));
                }
                break;
            }
        }
        if (truth)
            return true;
    }
    return false;
}

/* Go's lt. */
static bool lt(struct state *s, const struct tval *a, const struct tval *b)
{
    enum bkind k1 = basic_kind(a), k2 = basic_kind(b);
    if (k1 == BK_INVALID || k2 == BK_INVALID)
        exec_fail(s); /* invalid type for comparison */
    if (k1 != k2) {
        if (k1 == BK_INT && k2 == BK_UINT)
            return a->i < 0 || (uint64_t)a->i < b->u;
        if (k1 == BK_UINT && k2 == BK_INT)
            return b->i >= 0 && a->u < (uint64_t)b->i;
        exec_fail(s); /* incompatible types for comparison */
    }
    switch (k1) {
    case BK_FLOAT:
        return a->f < b->f;
    case BK_INT:
        return a->i < b->i;
    case BK_UINT:
        return a->u < b->u;
    case BK_STRING:
        return cmp_str(a, b) < 0;
    default:
        exec_fail(s); /* bools do not order */
    }
}

/* Go's indexArg: an integer within [0, cap]. */
static int64_t index_arg(struct state *s, const struct tval *v, size_t cap)
{
    int64_t x;
    if (v->kind == TV_INT)
        x = v->i;
    else if (v->kind == TV_UINT && v->u <= INT64_MAX)
        x = (int64_t)v->u;
    else
        exec_fail(s); /* cannot index slice/array with type ... */
    if (x < 0 || (uint64_t)x > cap)
        exec_fail(s); /* index out of range */
    return x;
}

static size_t value_len(const struct state *s, const struct tval *v)
{
    return v->kind == TV_STRING ? v->len : v->kind == TV_SLICE ? v->nitems : s->d->tmpl->nkeys;
}

static struct tval fn_index(struct state *s, struct tval item, const struct tval *idx, size_t n)
{
    if (item.kind == TV_MISSING || item.kind == TV_NIL)
        exec_fail(s); /* index of untyped nil */
    for (size_t i = 0; i < n; i++) {
        if (item.kind == TV_STRING || item.kind == TV_SLICE) {
            int64_t x = index_arg(s, &idx[i], value_len(s, &item));
            if ((size_t)x == value_len(s, &item))
                exec_fail(s); /* reflect: index out of range */
            if (item.kind == TV_STRING) {
                item = (struct tval){.kind = TV_UINT, .u = (unsigned char)item.s[x]};
            } else {
                const char *e = item.items[x] ? item.items[x] : "";
                item = str_val(e, strlen(e));
            }
        } else if (item.kind == TV_MAP) {
            if (idx[i].kind != TV_STRING)
                exec_fail(s); /* value has type int; should be string */
            bool found;
            item = map_get(s, idx[i].s, idx[i].len, &found);
            if (!found)
                item = str_val("", 0); /* the map's zero value */
        } else {
            exec_fail(s); /* can't index item of type */
        }
    }
    return item;
}

static struct tval fn_slice(struct state *s, struct tval item, const struct tval *idx, size_t n)
{
    if (item.kind == TV_MISSING || item.kind == TV_NIL)
        exec_fail(s); /* slice of untyped nil */
    if (n > 3 || (item.kind != TV_STRING && item.kind != TV_SLICE))
        exec_fail(s);
    if (item.kind == TV_STRING && n == 3)
        exec_fail(s); /* cannot 3-index slice a string */
    size_t len = value_len(s, &item);
    /* Go allows up to the slice's capacity; Cgroups is read here with no spare room. */
    int64_t x[3] = {0, (int64_t)len, (int64_t)len};
    for (size_t i = 0; i < n; i++)
        x[i] = index_arg(s, &idx[i], len);
    if (x[0] > x[1] || (n == 3 && x[1] > x[2]))
        exec_fail(s); /* invalid slice index */
    if (item.kind == TV_STRING)
        return str_val(item.s + x[0], (size_t)(x[1] - x[0]));
    if (x[0] > 0) /* Cgroups may be NULL when empty */
        item.items += x[0];
    item.nitems = (size_t)(x[1] - x[0]);
    return item;
}

static const char hexdigits[] = "0123456789ABCDEF";

/* Go's template.HTMLEscapeString. */
static void html_escape(struct strbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '"':
            strbuf_puts(b, "&#34;");
            break;
        case '\'':
            strbuf_puts(b, "&#39;");
            break;
        case '&':
            strbuf_puts(b, "&amp;");
            break;
        case '<':
            strbuf_puts(b, "&lt;");
            break;
        case '>':
            strbuf_puts(b, "&gt;");
            break;
        case '\0':
            strbuf_puts(b, "\xEF\xBF\xBD");
            break;
        default:
            strbuf_putc(b, p[i]);
        }
    }
}

/* Go's template.JSEscapeString. */
static void js_escape(struct strbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            i++;
            if (c == '\\' || c == '\'' || c == '"') {
                strbuf_putc(b, '\\');
                strbuf_putc(b, (char)c);
            } else if (c == '<' || c == '>' || c == '&' || c == '=' || c < ' ') {
                strbuf_printf(b, "\\u%04X", c);
            } else {
                strbuf_putc(b, (char)c);
            }
            continue;
        }
        size_t size;
        uint32_t r = tmpl_decode_rune(p + i, n - i, &size);
        /* Non-printing runes are escaped; the C1 controls and the line separators stand for
         * them here. */
        if ((r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xad)
            strbuf_printf(b, "\\u%04X", r);
        else
            strbuf_append(b, p + i, size);
        i += size;
    }
}

/* Go's url.QueryEscape. */
static void query_escape(struct strbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            strbuf_putc(b, (char)c);
        } else if (c == ' ') {
            strbuf_putc(b, '+');
        } else {
            strbuf_putc(b, '%');
            strbuf_putc(b, hexdigits[c >> 4]);
            strbuf_putc(b, hexdigits[c & 15]);
        }
    }
}

static const struct func_sig {
    size_t min;
    bool variadic;
} sigs[TF_COUNT] = {
    [TF_AND] = {1, true},   [TF_OR] = {1, true},     [TF_NOT] = {1, false},
    [TF_LEN] = {1, false},  [TF_INDEX] = {1, true},  [TF_SLICE] = {1, true},
    [TF_PRINT] = {0, true}, [TF_PRINTF] = {1, true}, [TF_PRINTLN] = {0, true},
    [TF_EQ] = {1, true},    [TF_NE] = {2, false},    [TF_LT] = {2, false},
    [TF_LE] = {2, false},   [TF_GT] = {2, false},    [TF_GE] = {2, false},
    [TF_HTML] = {0, true},  [TF_JS] = {0, true},     [TF_URLQUERY] = {0, true},
};

static bool takes_interface(enum tfunc f)
{
    return f == TF_PRINT || f == TF_PRINTF || f == TF_PRINTLN || f == TF_HTML || f == TF_JS ||
           f == TF_URLQUERY;
}

#define MAX_ARGS 64

static struct tval eval_function(struct state *s, const struct tval *dot, enum tfunc func,
                                 const struct tnode *const *args, size_t nargs,
                                 const struct tval *final)
{
    step(s);
    size_t given = nargs + (final != NULL);
    const struct func_sig *sig = &sigs[func];
    if (given < sig->min || (!sig->variadic && given != sig->min) || given > MAX_ARGS)
        exec_fail(s); /* wrong number of args */

    if (func == TF_AND || func == TF_OR) {
        /* Short-circuit: the first argument that decides, else the last. */
        struct tval v = {.kind = TV_MISSING};
        for (size_t i = 0; i < nargs; i++) {
            v = eval_arg(s, dot, args[i], P_VALUE);
            if (truth(s, &v) == (func == TF_OR))
                return v;
        }
        return final ? *final : v;
    }

    struct tval argv[MAX_ARGS];
    for (size_t i = 0; i < nargs; i++)
        argv[i] = eval_arg(s, dot, args[i],
                           func == TF_PRINTF && i == 0 ? P_STRING
                           : takes_interface(func)     ? P_IFACE
                                                       : P_VALUE);
    if (final)
        argv[nargs] = *final;
    if (func == TF_PRINTF && argv[0].kind != TV_STRING)
        exec_fail(s);
    if (takes_interface(func))
        for (size_t i = 0; i < given; i++)
            if (argv[i].kind == TV_MISSING)
                argv[i].kind = TV_NIL;

    struct strbuf b = STRBUF_INIT;
    switch (func) {
    case TF_NOT:
        return bool_val(!truth(s, &argv[0]));
    case TF_LEN:
        if (argv[0].kind != TV_STRING && argv[0].kind != TV_SLICE && argv[0].kind != TV_MAP)
            exec_fail(s); /* len of type */
        return int_val((int64_t)value_len(s, &argv[0]), TT_PLAIN);
    case TF_INDEX:
        return fn_index(s, argv[0], argv + 1, given - 1);
    case TF_SLICE:
        return fn_slice(s, argv[0], argv + 1, given - 1);
    case TF_EQ:
        return bool_val(eq(s, &argv[0], argv + 1, given - 1));
    case TF_NE:
        return bool_val(!eq(s, &argv[0], argv + 1, 1));
    case TF_LT:
        return bool_val(lt(s, &argv[0], &argv[1]));
    case TF_LE:
        return bool_val(lt(s, &argv[0], &argv[1]) || eq(s, &argv[0], &argv[1], 1));
    case TF_GT:
        return bool_val(!(lt(s, &argv[0], &argv[1]) || eq(s, &argv[0], &argv[1], 1)));
    case TF_GE:
        return bool_val(!lt(s, &argv[0], &argv[1]));
    case TF_PRINT:
    case TF_PRINTLN:
        tmpl_fmt_print(&b, s->d, argv, given, func == TF_PRINTLN);
        return keep(s, &b);
    case TF_PRINTF:
        tmpl_fmt_printf(&b, s->d, argv[0].s, argv[0].len, argv + 1, given - 1);
        return keep(s, &b);
    case TF_HTML:
    case TF_JS:
    case TF_URLQUERY: {
        /* Go's evalArgs: one string as it is, anything else as fmt.Sprint prints it. */
        struct strbuf text = STRBUF_INIT;
        /* printableValue: a nil argument reads "<no value>" here, not fmt's "<nil>". */
        for (size_t i = 0; i < given; i++)
            if (argv[i].kind == TV_NIL)
                argv[i] = str_val("<no value>", 10);
        if (given == 1 && argv[0].kind == TV_STRING)
            strbuf_append(&text, argv[0].s, argv[0].len);
        else
            tmpl_fmt_print(&text, s->d, argv, given, false);
        const char *p = text.buf ? text.buf : "";
        if (func == TF_HTML)
            html_escape(&b, p, text.len);
        else if (func == TF_JS)
            js_escape(&b, p, text.len);
        else
            query_escape(&b, p, text.len);
        strbuf_free(&text);
        return keep(s, &b);
    }
    default:
        exec_fail(s);
    }
}

/* ---- Pipelines and the tree ---- */

static void not_a_function(struct state *s, const struct tnode *cmd, const struct tval *final)
{
    if (cmd->nkids > 1 || final)
        exec_fail(s); /* can't give argument to non-function */
}

static struct tval eval_command(struct state *s, const struct tval *dot, const struct tnode *cmd,
                                const struct tval *final)
{
    step(s);
    const struct tnode *head = cmd->kids[0];
    const struct tnode *const *args = (const struct tnode *const *)cmd->kids + 1;
    size_t nargs = cmd->nkids - 1;
    switch (head->kind) {
    case TN_FIELD:
        return eval_chain(s, dot, *dot, head->names, head->nnames, args, nargs, final);
    case TN_CHAIN: {
        if (head->kids[0]->kind == TN_NIL)
            exec_fail(s);
        struct tval recv = eval_arg(s, dot, head->kids[0], P_VALUE);
        return eval_chain(s, dot, recv, head->names, head->nnames, args, nargs, final);
    }
    case TN_FUNCTION:
        return eval_function(s, dot, head->func, args, nargs, final);
    case TN_PIPE:
        not_a_function(s, cmd, final);
        return eval_pipeline(s, dot, head);
    case TN_VARIABLE: {
        struct tval v = var_value(s, head->names[0]);
        if (head->nnames == 1) {
            not_a_function(s, cmd, final);
            return v;
        }
        return eval_chain(s, dot, v, head->names + 1, head->nnames - 1, args, nargs, final);
    }
    default:
        break;
    }
    not_a_function(s, cmd, final);
    switch (head->kind) {
    case TN_BOOL:
        return bool_val(head->boolean);
    case TN_DOT:
        return *dot;
    case TN_NUMBER:
        return constant(s, &head->num);
    case TN_STRING:
        return str_val(head->str, head->len);
    default:
        exec_fail(s); /* nil is not a command */
    }
}

static struct tval eval_pipeline(struct state *s, const struct tval *dot, const struct tnode *pipe)
{
    struct tval value = {.kind = TV_MISSING};
    for (size_t i = 0; i < pipe->nkids; i++)
        value = eval_command(s, dot, pipe->kids[i], i > 0 ? &value : NULL);
    for (size_t i = 0; i < pipe->nnames; i++) {
        if (pipe->assign)
            set_var(s, pipe->names[i], value);
        else
            push_var(s, pipe->names[i], value);
    }
    return value;
}

/* Appends what fits under the output bound; false when not all of it did (the render must stop,
 * once the caller has freed what it holds). */
static bool write_out(struct state *s, const char *p, size_t n)
{
    size_t room = s->max_output - (s->out->len - s->out_start);
    strbuf_append(s->out, p, n < room ? n : room);
    return n <= room;
}

/* What an action prints: fmt.Fprint of the value, <no value> for a missing one, and the data
 * itself as the struct (Go prints through the pointer). */
static void print_value(struct state *s, const struct tval *v)
{
    struct strbuf b = STRBUF_INIT;
    if (v->kind == TV_MISSING) {
        strbuf_puts(&b, "<no value>");
    } else {
        tmpl_fmt_value(&b, s->d, v);
        if (v->kind == TV_PARAMS && b.len > 0 && b.buf[0] == '&')
            memmove(b.buf, b.buf + 1, b.len--);
    }
    bool whole = write_out(s, b.buf ? b.buf : "", b.len);
    strbuf_free(&b);
    if (!whole)
        exec_fail(s);
}

static void walk(struct state *s, const struct tval *dot, const struct tnode *n);
static void walk_template(struct state *s, const struct tval *dot, const struct tnode *n);

static void walk_range(struct state *s, const struct tval *dot, const struct tnode *n)
{
    size_t mark = s->nvars;
    struct tval v = eval_pipeline(s, dot, n->pipe);
    size_t count = 0;
    if (v.kind == TV_SLICE || v.kind == TV_MAP)
        count = value_len(s, &v);
    else if (v.kind != TV_MISSING && v.kind != TV_NIL)
        exec_fail(s); /* range can't iterate over */
    size_t body_mark = s->nvars;
    for (size_t i = 0; i < count; i++) {
        struct tval key, elem;
        if (v.kind == TV_SLICE) {
            key = int_val((int64_t)i, TT_PLAIN);
            const char *e = v.items[i] ? v.items[i] : "";
            elem = str_val(e, strlen(e));
        } else {
            const char *k = s->d->tmpl->keys[i];
            bool found;
            key = str_val(k, strlen(k));
            elem = map_get(s, k, strlen(k), &found);
        }
        /* The last variable declared takes the element, the one before it the key. */
        if (n->pipe->nnames > 0)
            s->vars[body_mark - 1].value = elem;
        if (n->pipe->nnames > 1)
            s->vars[body_mark - 2].value = key;
        walk(s, &elem, n->list);
        s->nvars = body_mark;
        if (s->loop == LOOP_BREAK) {
            s->loop = LOOP_NONE;
            break;
        }
        s->loop = LOOP_NONE;
    }
    if (count == 0 && n->else_list)
        walk(s, dot, n->else_list);
    s->nvars = mark;
}

/* {{template "name" pipeline}}: the body with the pipeline's value as dot and as $, and no
 * other variables. process-exporter's template is named "cmdname". */
static void walk_template(struct state *s, const struct tval *dot, const struct tnode *n)
{
    const struct tmpl *t = s->d->tmpl;
    const struct tnode *body = NULL;
    for (size_t i = 0; i < t->ndefs && !body; i++)
        if (strcmp(t->defs[i].name, n->str) == 0)
            body = t->defs[i].body;
    if (!body && strcmp(n->str, "cmdname") == 0)
        body = t->root;
    if (!body || s->depth >= TMPL_MAX_DEPTH)
        exec_fail(s); /* template not defined; exceeded maximum template depth */
    struct tval v = {.kind = TV_MISSING};
    if (n->pipe)
        v = eval_pipeline(s, dot, n->pipe);
    size_t base = s->var_base, nvars = s->nvars;
    s->var_base = s->nvars;
    push_var(s, "$", v);
    s->depth++;
    walk(s, &v, body);
    s->depth--;
    s->var_base = base;
    s->nvars = nvars;
}

static void walk(struct state *s, const struct tval *dot, const struct tnode *n)
{
    step(s);
    switch (n->kind) {
    case TN_LIST:
        for (size_t i = 0; i < n->nkids && s->loop == LOOP_NONE; i++)
            walk(s, dot, n->kids[i]);
        return;
    case TN_TEXT:
        if (!write_out(s, n->str, n->len))
            exec_fail(s);
        return;
    case TN_ACTION: {
        struct tval v = eval_pipeline(s, dot, n->pipe);
        if (n->pipe->nnames == 0)
            print_value(s, &v);
        return;
    }
    case TN_IF:
    case TN_WITH: {
        size_t mark = s->nvars;
        struct tval v = eval_pipeline(s, dot, n->pipe);
        if (truth(s, &v))
            walk(s, n->kind == TN_WITH ? &v : dot, n->list);
        else if (n->else_list)
            walk(s, dot, n->else_list);
        s->nvars = mark;
        return;
    }
    case TN_RANGE:
        walk_range(s, dot, n);
        return;
    case TN_TEMPLATE:
        walk_template(s, dot, n);
        return;
    case TN_BREAK:
        s->loop = LOOP_BREAK;
        return;
    case TN_CONTINUE:
        s->loop = LOOP_CONTINUE;
        return;
    default:
        exec_fail(s);
    }
}

/* setjmp in a frame of its own, so that nothing the evaluation changes lives in it. */
static void render(struct state *s, const struct tval *root)
{
    if (setjmp(s->fail) == 0)
        walk(s, root, s->d->tmpl->root);
}

void tmpl_render(const struct tmpl *tmpl, const struct tmpl_values *values, struct strbuf *out)
{
    const struct proc_identity *id = values->id;
    struct texec_data d = {.tmpl = tmpl, .values = values};
    if (id->argc > 0) {
        struct tmpl_span base = tmpl_exe_base(id->argv[0]);
        d.exe_base = base.ptr;
        d.exe_base_len = base.len;
    } else {
        d.exe_base = id->comm ? id->comm : "";
        d.exe_base_len = strlen(d.exe_base);
    }
    /* A name may hold the whole command line (a capture of `(?s).*`): the bound grows with it. */
    size_t data_len = id->cmdline_len;
    for (size_t i = 0; i < id->ncgroups; i++)
        data_len += strlen(id->cgroups[i]);
    struct state s = {
        .d = &d, .out = out, .out_start = out->len, .max_output = TMPL_MAX_OUTPUT + data_len};
    s.vars = s.few;
    s.capvars = sizeof(s.few) / sizeof(s.few[0]);
    struct tval root = {.kind = TV_PARAMS};
    push_var(&s, "$", root);
    render(&s, &root);
    for (size_t i = 0; i < s.nstrings; i++)
        free(s.strings[i]);
    free(s.strings);
    if (s.vars != s.few)
        free(s.vars);
}
