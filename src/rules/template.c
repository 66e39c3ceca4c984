/* Parsing group-name templates: the parser of Go's text/template/parse (Go 1.19, which Debian's
 * process-exporter 0.7.10 is built with), the same tree and the same errors, each with the byte
 * offset of the token that caused it. The lexer is in template_lex.c, the load-time check in
 * template_check.c, evaluation in template_exec.c. */
#include <errno.h>
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* ---- Parser ---- */

struct parser {
    const char *text;
    struct tmpl *t;
    struct token *toks;
    size_t next;       /* index of the next token */
    const char **vars; /* variables in scope, "$" first */
    size_t *var_lens;
    size_t nvars, capvars, caplens;
    size_t var_base; /* a template body sees only the variables from here on */
    int range_depth;
    int depth;
    bool in_define;
    struct tmpl_diag *err;
    jmp_buf fail;
};

void tmpl_diag_at(const char *text, size_t offset, struct tmpl_diag *d)
{
    d->offset = offset;
    d->line = 1;
    d->column = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            d->line++;
            d->column = 1;
        } else {
            d->column++;
        }
    }
}

__attribute__((format(printf, 3, 4), noreturn)) static void parse_fail(struct parser *p, size_t pos,
                                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
    va_end(ap);
    tmpl_diag_at(p->text, pos, p->err);
    longjmp(p->fail, 1);
}

static struct tnode *new_node(struct parser *p, enum tnode_kind kind, size_t pos)
{
    struct tnode *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->pos = pos;
    struct tmpl *t = p->t;
    t->nodes = xgrow(t->nodes, &t->capnodes, t->nnodes + 1, sizeof(*t->nodes));
    t->nodes[t->nnodes++] = n;
    return n;
}

static void add_kid(struct tnode *n, struct tnode *kid)
{
    n->kids = xgrow(n->kids, &n->capkids, n->nkids + 1, sizeof(*n->kids));
    n->kids[n->nkids++] = kid;
}

static void add_name(struct tnode *n, const char *s, size_t len)
{
    n->names = xrealloc(n->names, (n->nnames + 1) * sizeof(*n->names));
    n->names[n->nnames++] = xstrndup(s, len);
}

/* Go's item.String(), for "unexpected X in Y". */
static const char *tok_str(struct parser *p, const struct token *tk, char *buf, size_t len)
{
    if (tk->kind == TK_EOF)
        return "EOF";
    if (tk->kind == TK_ERROR)
        return tk->msg;
    if (tk->kind >= TK_BLOCK || tk->kind == TK_DOT) {
        snprintf(buf, len, "<%.*s>", (int)tk->len, p->text + tk->pos);
        return buf;
    }
    if (tk->len > 10)
        snprintf(buf, len, "\"%.10s\"...", p->text + tk->pos);
    else
        snprintf(buf, len, "\"%.*s\"", (int)tk->len, p->text + tk->pos);
    return buf;
}

static const struct token *next_tok(struct parser *p)
{
    const struct token *tk = &p->toks[p->next];
    if (tk->kind != TK_EOF && tk->kind != TK_ERROR)
        p->next++;
    return tk;
}

static const struct token *peek_tok(struct parser *p)
{
    return &p->toks[p->next];
}

static const struct token *next_non_space(struct parser *p)
{
    const struct token *tk;
    while ((tk = next_tok(p))->kind == TK_SPACE)
        ;
    return tk;
}

static const struct token *peek_non_space(struct parser *p)
{
    while (p->toks[p->next].kind == TK_SPACE)
        p->next++;
    return &p->toks[p->next];
}

static void backup(struct parser *p, const struct token *tk)
{
    if (tk->kind != TK_EOF && tk->kind != TK_ERROR)
        p->next = (size_t)(tk - p->toks);
}

__attribute__((noreturn)) static void unexpected(struct parser *p, const struct token *tk,
                                                 const char *context)
{
    char buf[64];
    if (tk->kind == TK_ERROR)
        parse_fail(p, tk->pos, "%s", tk->msg);
    parse_fail(p, tk->pos, "unexpected %s in %s", tok_str(p, tk, buf, sizeof(buf)), context);
}

static const struct token *expect(struct parser *p, enum tok_kind kind, const char *context)
{
    const struct token *tk = next_non_space(p);
    if (tk->kind != kind)
        unexpected(p, tk, context);
    return tk;
}

static void push_var(struct parser *p, const char *name, size_t len)
{
    p->vars = xgrow(p->vars, &p->capvars, p->nvars + 1, sizeof(*p->vars));
    p->var_lens = xgrow(p->var_lens, &p->caplens, p->nvars + 1, sizeof(*p->var_lens));
    p->vars[p->nvars] = name;
    p->var_lens[p->nvars++] = len;
}

static void enter(struct parser *p, size_t pos)
{
    if (++p->depth > TMPL_MAX_DEPTH)
        parse_fail(p, pos, "nested deeper than %d", TMPL_MAX_DEPTH);
}

/* ---- Literals ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint32_t tmpl_decode_rune(const char *s, size_t n, size_t *size)
{
    const unsigned char *u = (const unsigned char *)s;
    *size = 1;
    if (u[0] < 0x80)
        return u[0];
    size_t len = utf8_seq_len(u, n);
    if (len == 0)
        return 0xfffd;
    *size = len;
    uint32_t r = u[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++)
        r = r << 6 | (u[i] & 0x3f);
    return r;
}

/* Go's strconv.Unquote of a "..." or '...' literal (quotes included); false on bad syntax. */
static bool unquote(const char *s, size_t n, struct strbuf *out)
{
    char q = s[0];
    size_t i = 1, end = n - 1;
    while (i < end) {
        unsigned char c = (unsigned char)s[i];
        if (c != '\\') {
            if (c == (unsigned char)q && q == '"')
                return false;
            strbuf_putc(out, (char)c);
            i++;
            continue;
        }
        if (++i >= end)
            return false;
        c = (unsigned char)s[i++];
        const char *simple = strchr("abfnrtv\\\'\"", c);
        if (simple && c != '\0') {
            static const char vals[] = "\a\b\f\n\r\t\v\\\'\"";
            if ((c == '\'' && q != '\'') || (c == '"' && q != '"'))
                return false;
            strbuf_putc(out, vals[simple - "abfnrtv\\\'\""]);
        } else if (c == 'x' || c == 'u' || c == 'U') {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int k = 0; k < digits; k++) {
                if (i >= end || hexval((unsigned char)s[i]) < 0)
                    return false;
                v = v * 16 + (uint32_t)hexval((unsigned char)s[i++]);
            }
            if (c == 'x') {
                strbuf_putc(out, (char)v);
            } else {
                if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                    return false;
                utf8_put_rune(out, v);
            }
        } else if (c >= '0' && c <= '7') {
            uint32_t v = (uint32_t)(c - '0');
            for (int k = 0; k < 2; k++) {
                if (i >= end || s[i] < '0' || s[i] > '7')
                    return false;
                v = v * 8 + (uint32_t)(s[i++] - '0');
            }
            if (v > 255)
                return false;
            strbuf_putc(out, (char)v);
        } else {
            return false;
        }
    }
    return true;
}

/* Go's strconv.ParseUint/ParseInt with base 0 on the digits after an optional sign. */
static bool parse_uint(const char *s, size_t n, uint64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    bool prefixed = false;
    if (n >= 2 && s[0] == '0') {
        char b = s[1] | 0x20;
        base = b == 'x' ? 16 : b == 'o' ? 8 : b == 'b' ? 2 : 8;
        prefixed = b == 'x' || b == 'o' || b == 'b';
        i = prefixed ? 2 : 1;
    }
    bool any = !prefixed && i == 1, last_underscore = prefixed;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] == '_') {
            if (last_underscore)
                return false;
            last_underscore = true;
            continue;
        }
        int d = hexval((unsigned char)s[i]);
        if (d < 0 || (unsigned)d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return false;
        v = v * base + (uint64_t)d;
        any = true;
        last_underscore = false;
    }
    *out = v;
    return any && !last_underscore;
}

/* Go's parse.newNumber: what a constant may be used as. */
static void parse_number(struct parser *p, const struct token *tk, struct tnum *num)
{
    const char *s = p->text + tk->pos;
    size_t n = tk->len;
    if (n > 0 && s[n - 1] == 'i')
        parse_fail(p, tk->pos, "complex constants are not supported");
    bool neg = s[0] == '-';
    size_t skip = s[0] == '-' || s[0] == '+';
    uint64_t u;
    memset(num, 0, sizeof(*num));
    if (parse_uint(s + skip, n - skip, &u)) {
        if (!neg) {
            num->is_uint = true;
            num->u = u;
        }
        if (neg ? u <= (uint64_t)INT64_MAX + 1 : u <= INT64_MAX) {
            num->is_int = true;
            num->i = neg ? (int64_t)(0 - u) : (int64_t)u;
            if (num->i == 0) {
                num->is_uint = true;
                num->u = 0;
            }
        }
    }
    if (num->is_int) {
        num->is_float = true;
        num->f = (double)num->i;
    } else if (num->is_uint) {
        num->is_float = true;
        num->f = (double)num->u;
    } else {
        char buf[128];
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < sizeof(buf); i++)
            if (s[i] != '_')
                buf[k++] = s[i];
        buf[k] = '\0';
        char *end;
        errno = 0;
        double f = strtod(buf, &end);
        bool hex = k > 2 && (buf[skip + 1] | 0x20) == 'x' && buf[skip] == '0';
        bool ok = *end == '\0' && k > 0 && errno == 0 && (!hex || strpbrk(buf, "pP"));
        if (ok) {
            if (!strpbrk(buf, ".eEpP"))
                parse_fail(p, tk->pos, "integer overflow: \"%.*s\"", (int)n, s);
            num->is_float = true;
            num->f = f;
            if (f >= -9223372036854775808.0 && f < 9223372036854775808.0 &&
                (double)(int64_t)f == f) {
                num->is_int = true;
                num->i = (int64_t)f;
            }
            if (f >= 0 && f < 18446744073709551616.0 && (double)(uint64_t)f == f) {
                num->is_uint = true;
                num->u = (uint64_t)f;
            }
        }
    }
    if (!num->is_int && !num->is_uint && !num->is_float)
        parse_fail(p, tk->pos, "illegal number syntax: \"%.*s\"", (int)n, s);
    /* Go's idealConstant, which decides how a constant is used as a value: a float only when
     * written as one. */
    bool hex_int = n > 2 + skip && s[skip] == '0' && (s[skip + 1] | 0x20) == 'x' &&
                   !memchr(s, 'p', n) && !memchr(s, 'P', n);
    if (!(num->is_float && !hex_int &&
          (memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n) || memchr(s, 'p', n) ||
           memchr(s, 'P', n))))
        num->f = NAN; /* marks "an integer constant" for the evaluator */
}

static struct tnode *char_constant(struct parser *p, const struct token *tk)
{
    struct strbuf b = STRBUF_INIT;
    const char *s = p->text + tk->pos;
    bool ok = tk->len >= 3 && unquote(s, tk->len, &b);
    size_t size = 0;
    uint32_t r = ok && b.len > 0 ? tmpl_decode_rune(b.buf, b.len, &size) : 0;
    /* One character, and a \x or octal escape only as a byte below 0x80 is a whole rune. */
    if (!ok || size != b.len || (r == 0xfffd && b.len == 1 && (unsigned char)b.buf[0] >= 0x80)) {
        if (ok && b.len == 1)
            r = (unsigned char)b.buf[0];
        else {
            strbuf_free(&b);
            parse_fail(p, tk->pos, "malformed character constant: %.*s", (int)tk->len, s);
        }
    }
    strbuf_free(&b);
    struct tnode *n = new_node(p, TN_NUMBER, tk->pos);
    n->num = (struct tnum){true, true, true, r, r, NAN};
    return n;
}

static struct tnode *string_node(struct parser *p, const struct token *tk)
{
    struct tnode *n = new_node(p, TN_STRING, tk->pos);
    const char *s = p->text + tk->pos;
    struct strbuf b = STRBUF_INIT;
    if (tk->kind == TK_RAW_STRING) {
        for (size_t i = 1; i + 1 < tk->len; i++)
            if (s[i] != '\r')
                strbuf_putc(&b, s[i]);
    } else if (!unquote(s, tk->len, &b)) {
        strbuf_free(&b);
        parse_fail(p, tk->pos, "invalid syntax in %.*s", (int)tk->len, s);
    }
    n->len = b.len;
    n->str = b.buf ? b.buf : xstrdup("");
    return n;
}

/* ---- Grammar ---- */

static struct tnode *pipeline(struct parser *p, const char *context, enum tok_kind end);
static struct tnode *item_list(struct parser *p, enum tok_kind *ended, size_t *end_pos);
static struct tnode *if_control(struct parser *p, size_t pos);
static struct tnode *define_control(struct parser *p, const struct token *tk);
static struct tnode *template_control(struct parser *p, const struct token *tk);

static const struct func_name {
    const char *name;
    enum tfunc func;
} funcs[] = {
    {"and", TF_AND},     {"or", TF_OR},         {"not", TF_NOT},
    {"len", TF_LEN},     {"index", TF_INDEX},   {"slice", TF_SLICE},
    {"print", TF_PRINT}, {"printf", TF_PRINTF}, {"println", TF_PRINTLN},
    {"eq", TF_EQ},       {"ne", TF_NE},         {"lt", TF_LT},
    {"le", TF_LE},       {"gt", TF_GT},         {"ge", TF_GE},
    {"html", TF_HTML},   {"js", TF_JS},         {"urlquery", TF_URLQUERY},
};

static struct tnode *use_var(struct parser *p, const struct token *tk)
{
    const char *name = p->text + tk->pos;
    for (size_t i = p->var_base; i < p->nvars; i++)
        if (p->var_lens[i] == tk->len && memcmp(p->vars[i], name, tk->len) == 0) {
            struct tnode *n = new_node(p, TN_VARIABLE, tk->pos);
            add_name(n, name, tk->len);
            return n;
        }
    parse_fail(p, tk->pos, "undefined variable \"%.*s\"", (int)tk->len, name);
}

static struct tnode *term(struct parser *p)
{
    const struct token *tk = next_non_space(p);
    const char *s = p->text + tk->pos;
    struct tnode *n;
    switch (tk->kind) {
    case TK_IDENTIFIER:
        for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
            if (strlen(funcs[i].name) == tk->len && memcmp(funcs[i].name, s, tk->len) == 0) {
                n = new_node(p, TN_FUNCTION, tk->pos);
                n->func = funcs[i].func;
                add_name(n, s, tk->len);
                return n;
            }
        parse_fail(p, tk->pos, "function \"%.*s\" not defined", (int)tk->len, s);
    case TK_DOT:
        return new_node(p, TN_DOT, tk->pos);
    case TK_NIL:
        return new_node(p, TN_NIL, tk->pos);
    case TK_VARIABLE:
        return use_var(p, tk);
    case TK_FIELD:
        n = new_node(p, TN_FIELD, tk->pos);
        add_name(n, s + 1, tk->len - 1);
        return n;
    case TK_BOOL:
        n = new_node(p, TN_BOOL, tk->pos);
        n->boolean = s[0] == 't';
        return n;
    case TK_CHAR_CONSTANT:
        return char_constant(p, tk);
    case TK_NUMBER:
        n = new_node(p, TN_NUMBER, tk->pos);
        parse_number(p, tk, &n->num);
        return n;
    case TK_LEFT_PAREN:
        enter(p, tk->pos);
        n = pipeline(p, "parenthesized pipeline", TK_RIGHT_PAREN);
        p->depth--;
        return n;
    case TK_STRING:
    case TK_RAW_STRING:
        return string_node(p, tk);
    default:
        backup(p, tk);
        return NULL;
    }
}

static struct tnode *operand(struct parser *p)
{
    struct tnode *node = term(p);
    if (!node || peek_tok(p)->kind != TK_FIELD)
        return node;
    size_t pos = peek_tok(p)->pos;
    switch (node->kind) {
    case TN_BOOL:
    case TN_STRING:
    case TN_NUMBER:
    case TN_NIL:
    case TN_DOT:
        parse_fail(p, pos, "unexpected . after term \"%.*s\"", (int)(pos - node->pos),
                   p->text + node->pos);
    case TN_FIELD:
    case TN_VARIABLE:
        break;
    default: {
        struct tnode *chain = new_node(p, TN_CHAIN, pos);
        add_kid(chain, node);
        node = chain;
    }
    }
    while (peek_tok(p)->kind == TK_FIELD) {
        const struct token *f = next_tok(p);
        add_name(node, p->text + f->pos + 1, f->len - 1);
    }
    return node;
}

static struct tnode *command(struct parser *p)
{
    struct tnode *cmd = new_node(p, TN_COMMAND, peek_non_space(p)->pos);
    for (;;) {
        peek_non_space(p);
        struct tnode *op = operand(p);
        if (op)
            add_kid(cmd, op);
        const struct token *tk = next_tok(p);
        if (tk->kind == TK_SPACE)
            continue;
        if (tk->kind == TK_RIGHT_DELIM || tk->kind == TK_RIGHT_PAREN)
            backup(p, tk);
        else if (tk->kind != TK_PIPE)
            unexpected(p, tk, "operand");
        break;
    }
    if (cmd->nkids == 0)
        parse_fail(p, cmd->pos, "empty command");
    return cmd;
}

static void declare(struct parser *p, struct tnode *pipe, const struct token *v)
{
    add_name(pipe, p->text + v->pos, v->len);
    push_var(p, p->text + v->pos, v->len);
}

static struct tnode *pipeline(struct parser *p, const char *context, enum tok_kind end)
{
    struct tnode *pipe = new_node(p, TN_PIPE, peek_non_space(p)->pos);
decls:
    if (peek_non_space(p)->kind == TK_VARIABLE) {
        const struct token *v = next_tok(p);
        const struct token *after = peek_tok(p);
        const struct token *nx = peek_non_space(p);
        if (nx->kind == TK_ASSIGN || nx->kind == TK_DECLARE) {
            pipe->assign = nx->kind == TK_ASSIGN;
            next_non_space(p);
            declare(p, pipe, v);
        } else if (nx->kind == TK_CHAR && p->text[nx->pos] == ',') {
            next_non_space(p);
            declare(p, pipe, v);
            if (strcmp(context, "range") == 0 && pipe->nnames < 2) {
                enum tok_kind k = peek_non_space(p)->kind;
                if (k == TK_VARIABLE || k == TK_RIGHT_DELIM || k == TK_RIGHT_PAREN)
                    goto decls;
                parse_fail(p, nx->pos, "range can only initialize variables");
            }
            parse_fail(p, nx->pos, "too many declarations in %s", context);
        } else if (after->kind == TK_SPACE) {
            backup(p, v);
        } else {
            backup(p, v);
        }
    }
    for (;;) {
        const struct token *tk = next_non_space(p);
        if (tk->kind == end) {
            if (pipe->nkids == 0)
                parse_fail(p, tk->pos, "missing value for %s", context);
            for (size_t i = 1; i < pipe->nkids; i++) {
                enum tnode_kind k = pipe->kids[i]->kids[0]->kind;
                if (k == TN_BOOL || k == TN_DOT || k == TN_NIL || k == TN_NUMBER || k == TN_STRING)
                    parse_fail(p, pipe->kids[i]->pos,
                               "non executable command in pipeline stage %zu", i + 1);
            }
            return pipe;
        }
        switch (tk->kind) {
        case TK_BOOL:
        case TK_CHAR_CONSTANT:
        case TK_DOT:
        case TK_FIELD:
        case TK_IDENTIFIER:
        case TK_NUMBER:
        case TK_NIL:
        case TK_RAW_STRING:
        case TK_STRING:
        case TK_VARIABLE:
        case TK_LEFT_PAREN:
            backup(p, tk);
            add_kid(pipe, command(p));
            break;
        default:
            unexpected(p, tk, context);
        }
    }
}

/* if/range/with: the pipeline, the list, and an optional else list. Variables declared inside
 * go out of scope at the end. */
static struct tnode *control(struct parser *p, enum tnode_kind kind, size_t pos,
                             const char *context)
{
    size_t nvars = p->nvars;
    enter(p, pos);
    struct tnode *n = new_node(p, kind, pos);
    n->pipe = pipeline(p, context, TK_RIGHT_DELIM);
    if (kind == TN_RANGE)
        p->range_depth++;
    enum tok_kind ended;
    size_t end_pos;
    n->list = item_list(p, &ended, &end_pos);
    if (kind == TN_RANGE)
        p->range_depth--;
    if (ended == TK_ELSE) {
        if (kind == TN_IF && peek_non_space(p)->kind == TK_IF) {
            /* {{else if b}} reads as {{else}}{{if b}}...{{end}}{{end}}, with one {{end}}. */
            const struct token *tk = next_tok(p);
            n->else_list = new_node(p, TN_LIST, tk->pos);
            add_kid(n->else_list, if_control(p, tk->pos));
        } else {
            n->else_list = item_list(p, &ended, &end_pos);
            if (ended != TK_END)
                parse_fail(p, end_pos, "expected end; found {{else}}");
        }
    }
    p->nvars = nvars;
    p->depth--;
    return n;
}

static struct tnode *if_control(struct parser *p, size_t pos)
{
    return control(p, TN_IF, pos, "if");
}

/* One text or action; an {{end}} or {{else}} is returned as NULL with `ended` set. */
static struct tnode *text_or_action(struct parser *p, enum tok_kind *ended, size_t *end_pos)
{
    const struct token *tk = next_non_space(p);
    if (tk->kind == TK_TEXT) {
        struct tnode *n = new_node(p, TN_TEXT, tk->pos);
        n->str = xstrndup(p->text + tk->pos, tk->len);
        n->len = tk->len;
        return n;
    }
    if (tk->kind != TK_LEFT_DELIM)
        unexpected(p, tk, "input");
    tk = next_non_space(p);
    *end_pos = tk->pos;
    switch (tk->kind) {
    case TK_ELSE:
        /* {{else if ...}} leaves the "if" for the caller. */
        if (peek_non_space(p)->kind != TK_IF)
            expect(p, TK_RIGHT_DELIM, "else");
        *ended = TK_ELSE;
        return NULL;
    case TK_END:
        expect(p, TK_RIGHT_DELIM, "end");
        *ended = TK_END;
        return NULL;
    case TK_IF:
        return if_control(p, tk->pos);
    case TK_RANGE:
        return control(p, TN_RANGE, tk->pos, "range");
    case TK_WITH:
        return control(p, TN_WITH, tk->pos, "with");
    case TK_BREAK:
    case TK_CONTINUE: {
        bool brk = tk->kind == TK_BREAK;
        if (p->range_depth == 0)
            parse_fail(p, tk->pos, "{{%s}} outside {{range}}", brk ? "break" : "continue");
        expect(p, TK_RIGHT_DELIM, brk ? "{{break}}" : "{{continue}}");
        return new_node(p, brk ? TN_BREAK : TN_CONTINUE, tk->pos);
    }
    case TK_TEMPLATE:
    case TK_BLOCK:
        return template_control(p, tk);
    case TK_DEFINE:
        /* Only at the top level, as Go's parse loop takes it; elsewhere it is an operand. */
        if (p->depth == 0 && !p->in_define)
            return define_control(p, tk);
        /* fall through */
    default: {
        backup(p, tk);
        struct tnode *n = new_node(p, TN_ACTION, tk->pos);
        n->pipe = pipeline(p, "command", TK_RIGHT_DELIM);
        return n;
    }
    }
}

/* The name of {{template "name"}}, {{block "name"}} or {{define "name"}}. */
static char *template_name(struct parser *p, const char *context)
{
    const struct token *tk = next_non_space(p);
    if (tk->kind != TK_STRING && tk->kind != TK_RAW_STRING)
        unexpected(p, tk, context);
    struct tnode *n = string_node(p, tk);
    return n->str;
}

/* Parses a template body into t->defs[name], with variables and range nesting of its own, as Go
 * parses a definition into a tree of its own. */
static void define_body(struct parser *p, const char *name, size_t pos, const char *context)
{
    size_t base = p->var_base, nvars = p->nvars;
    int range_depth = p->range_depth;
    bool in_define = p->in_define;
    p->var_base = p->nvars;
    push_var(p, "$", 1);
    p->range_depth = 0;
    p->in_define = true;
    enum tok_kind ended;
    size_t end_pos;
    struct tnode *body = item_list(p, &ended, &end_pos);
    if (ended != TK_END)
        parse_fail(p, end_pos, "unexpected {{else}} in %s", context);
    p->var_base = base;
    p->nvars = nvars;
    p->range_depth = range_depth;
    p->in_define = in_define;

    struct tmpl *t = p->t;
    bool empty = true; /* Go's IsEmptyTree: nothing but spaces */
    for (size_t i = 0; i < body->nkids && empty; i++)
        for (size_t k = 0; k < body->kids[i]->len && empty; k++)
            empty = body->kids[i]->kind == TN_TEXT && strchr(" \t\r\n", body->kids[i]->str[k]);
    empty = empty && (body->nkids == 0 || body->kids[0]->kind == TN_TEXT);
    for (size_t i = 0; i < t->ndefs; i++) {
        if (strcmp(t->defs[i].name, name) == 0) {
            if (!empty && !t->defs[i].empty)
                parse_fail(p, pos, "template: multiple definition of template \"%s\"", name);
            if (!empty)
                t->defs[i] = (struct tdef){name, body, empty};
            return;
        }
    }
    t->defs = xgrow(t->defs, &t->capdefs, t->ndefs + 1, sizeof(*t->defs));
    t->defs[t->ndefs++] = (struct tdef){name, body, empty};
}

static struct tnode *define_control(struct parser *p, const struct token *tk)
{
    char *name = template_name(p, "define clause");
    expect(p, TK_RIGHT_DELIM, "define clause");
    define_body(p, name, tk->pos, "define clause");
    return new_node(p, TN_LIST, tk->pos); /* renders nothing where it stands */
}

/* {{template "name" pipeline}}, and {{block "name" pipeline}}...{{end}}, which defines the
 * template and runs it. */
static struct tnode *template_control(struct parser *p, const struct token *tk)
{
    bool block = tk->kind == TK_BLOCK;
    const char *context = block ? "block clause" : "template clause";
    struct tnode *n = new_node(p, TN_TEMPLATE, tk->pos);
    n->str = xstrdup(template_name(p, context));
    enter(p, tk->pos);
    if (block) {
        n->pipe = pipeline(p, context, TK_RIGHT_DELIM);
        define_body(p, n->str, tk->pos, context);
    } else {
        const struct token *after = next_non_space(p);
        if (after->kind != TK_RIGHT_DELIM) {
            backup(p, after);
            n->pipe = pipeline(p, context, TK_RIGHT_DELIM);
        }
    }
    p->depth--;
    return n;
}

static struct tnode *item_list(struct parser *p, enum tok_kind *ended, size_t *end_pos)
{
    struct tnode *list = new_node(p, TN_LIST, peek_non_space(p)->pos);
    for (;;) {
        const struct token *tk = peek_non_space(p);
        if (tk->kind == TK_EOF)
            parse_fail(p, tk->pos, "unexpected EOF");
        if (tk->kind == TK_ERROR)
            parse_fail(p, tk->pos, "%s", tk->msg);
        struct tnode *n = text_or_action(p, ended, end_pos);
        if (!n)
            return list;
        add_kid(list, n);
    }
}

static struct tnode *parse_root(struct parser *p)
{
    struct tnode *root = new_node(p, TN_LIST, 0);
    for (;;) {
        const struct token *tk = peek_tok(p);
        if (tk->kind == TK_EOF)
            return root;
        if (tk->kind == TK_ERROR)
            parse_fail(p, tk->pos, "%s", tk->msg);
        enum tok_kind ended;
        size_t end_pos = tk->pos;
        struct tnode *n = text_or_action(p, &ended, &end_pos);
        if (!n)
            parse_fail(p, end_pos, "unexpected {{%s}}", ended == TK_END ? "end" : "else");
        add_kid(root, n);
    }
}

/* setjmp in a frame of its own, so that nothing the parser changes lives in it. */
static bool parse(struct parser *p)
{
    if (setjmp(p->fail))
        return false;
    p->t->root = parse_root(p);
    return true;
}

/* ---- Public ---- */

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct tmpl *tmpl_compile(const char *text, size_t len, const char *const *capture_names,
                          size_t ncapture_names, struct tmpl_diag *err, struct tmpl_diag *warning)
{
    struct tmpl *t = xcalloc(1, sizeof(*t));
    memset(err, 0, sizeof(*err));
    if (warning)
        memset(warning, 0, sizeof(*warning));
    /* Go reads the text as a string; a NUL is a character like any other, but not in C. */
    char *copy = xstrndup(text, len);
    struct parser p = {.text = copy, .t = t, .err = err};
    struct lexer lx = {.s = copy, .n = strlen(copy)};
    tmpl_lex(&lx);
    p.toks = lx.toks;
    push_var(&p, "$", 1);
    bool ok = parse(&p);
    free(lx.toks);
    free(p.vars);
    free(p.var_lens);
    if (!ok) {
        free(copy);
        tmpl_free(t);
        return NULL;
    }

    t->nkeys = ncapture_names;
    t->keys = xcalloc(ncapture_names ? ncapture_names : 1, sizeof(*t->keys));
    t->key_slots = xcalloc(ncapture_names ? ncapture_names : 1, sizeof(*t->key_slots));
    for (size_t i = 0; i < ncapture_names; i++)
        t->keys[i] = xstrdup(capture_names[i]);
    qsort(t->keys, t->nkeys, sizeof(*t->keys), cmp_keys);
    for (size_t i = 0; i < t->nkeys; i++)
        for (size_t k = 0; k < ncapture_names; k++)
            if (strcmp(t->keys[i], capture_names[k]) == 0)
                t->key_slots[i] = k;

    tmpl_check(t, copy, capture_names, ncapture_names, warning);
    free(copy);
    return t;
}

void tmpl_free(struct tmpl *tmpl)
{
    if (tmpl == NULL)
        return;
    for (size_t i = 0; i < tmpl->nnodes; i++) {
        struct tnode *n = tmpl->nodes[i];
        for (size_t k = 0; k < n->nnames; k++)
            free(n->names[k]);
        free(n->names);
        free(n->kids);
        free(n->str);
        free(n);
    }
    free(tmpl->nodes);
    free(tmpl->defs);
    for (size_t i = 0; i < tmpl->nkeys; i++)
        free(tmpl->keys[i]);
    free(tmpl->keys);
    free(tmpl->key_slots);
    free(tmpl);
}

unsigned tmpl_needs(const struct tmpl *tmpl)
{
    return tmpl->needs;
}

/* Go's filepath.Base: trailing slashes dropped, "" for "" becomes ".", all slashes become "/". */
struct tmpl_span tmpl_exe_base(const char *path)
{
    size_t len = strlen(path);
    if (len == 0)
        return (struct tmpl_span){".", 1};
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0)
        return (struct tmpl_span){"/", 1};
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return (struct tmpl_span){path + start, len - start};
}
