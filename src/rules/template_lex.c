/* The lexer of group-name templates: Go 1.19's text/template/parse lexer (lex.go), the same
 * tokens at the same places, run over the whole text at once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/template_impl.h"
#include "util/xalloc.h"

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Go's isAlphaNumeric: '_', letters and digits; bytes of multi-byte UTF-8 stand in for the
 * Unicode letters Go accepts. */
static bool is_alnum(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static int peekc(const struct lexer *l, size_t at)
{
    return at < l->n ? (unsigned char)l->s[at] : -1;
}

static void emit(struct lexer *l, enum tok_kind kind)
{
    l->toks = xgrow(l->toks, &l->cap, l->ntoks + 1, sizeof(*l->toks));
    l->toks[l->ntoks++] = (struct token){kind, l->start, l->pos - l->start, NULL};
    l->start = l->pos;
}

__attribute__((format(printf, 2, 3))) static bool lex_fail(struct lexer *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->errbuf, sizeof(l->errbuf), fmt, ap);
    va_end(ap);
    l->toks = xgrow(l->toks, &l->cap, l->ntoks + 1, sizeof(*l->toks));
    l->toks[l->ntoks++] = (struct token){TK_ERROR, l->start, l->pos - l->start, l->errbuf};
    return false;
}

static bool has_prefix(const struct lexer *l, size_t at, const char *p)
{
    size_t k = strlen(p);
    return at <= l->n && l->n - at >= k && memcmp(l->s + at, p, k) == 0;
}

/* " -}}" */
static bool at_right_trim(const struct lexer *l, size_t at)
{
    return at < l->n && is_space(l->s[at]) && peekc(l, at + 1) == '-' &&
           has_prefix(l, at + 2, "}}");
}

/* "{{- " */
static bool left_trim_after(const struct lexer *l, size_t at)
{
    return peekc(l, at) == '-' && at + 1 < l->n && is_space(l->s[at + 1]);
}

static bool at_terminator(const struct lexer *l)
{
    int c = peekc(l, l->pos);
    if (c == -1 || is_space(c))
        return true;
    if (c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(')
        return true;
    return has_prefix(l, l->pos, "}}");
}

static void skip_spaces(struct lexer *l)
{
    while (l->pos < l->n && is_space(l->s[l->pos]))
        l->pos++;
    l->start = l->pos;
}

static bool lex_comment(struct lexer *l)
{
    const char *end = memmem(l->s + l->pos + 2, l->n - l->pos - 2, "*/", 2);
    if (!end)
        return lex_fail(l, "unclosed comment");
    l->pos = (size_t)(end - l->s) + 2;
    if (at_right_trim(l, l->pos)) {
        l->pos += 4;
        skip_spaces(l);
        return true;
    }
    if (!has_prefix(l, l->pos, "}}"))
        return lex_fail(l, "comment ends before closing delimiter");
    l->pos += 2;
    l->start = l->pos;
    return true;
}

static bool lex_quote(struct lexer *l, int quote, const char *what)
{
    for (;;) {
        int c = peekc(l, l->pos);
        if (c == '\\' && quote != '`') {
            l->pos++;
            c = peekc(l, l->pos);
            if (c != -1 && c != '\n') {
                l->pos++;
                continue;
            }
        }
        if (c == -1 || (c == '\n' && quote != '`'))
            return lex_fail(l, "unterminated %s", what);
        l->pos++;
        if (c == quote)
            return true;
    }
}

static bool accept(struct lexer *l, const char *set)
{
    int c = peekc(l, l->pos);
    if (c > 0 && strchr(set, c)) {
        l->pos++;
        return true;
    }
    return false;
}

static void accept_run(struct lexer *l, const char *set)
{
    while (accept(l, set))
        ;
}

/* Go's scanNumber: the shape only; the value is checked by the parser. */
static bool lex_number(struct lexer *l)
{
    accept(l, "+-");
    const char *digits = "0123456789_";
    if (accept(l, "0")) {
        if (accept(l, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (accept(l, "oO"))
            digits = "01234567_";
        else if (accept(l, "bB"))
            digits = "01_";
    }
    accept_run(l, digits);
    if (accept(l, "."))
        accept_run(l, digits);
    if (strlen(digits) == 11 && accept(l, "eE")) {
        accept(l, "+-");
        accept_run(l, "0123456789_");
    }
    if (strlen(digits) == 23 && accept(l, "pP")) {
        accept(l, "+-");
        accept_run(l, "0123456789_");
    }
    accept(l, "i");
    if (l->pos < l->n && is_alnum((unsigned char)l->s[l->pos])) {
        l->pos++;
        return lex_fail(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                        l->s + l->start);
    }
    int c = peekc(l, l->pos);
    if (c == '+' || c == '-')
        return lex_fail(l, "complex constants are not supported");
    emit(l, TK_NUMBER);
    return true;
}

static const struct keyword {
    const char *word;
    enum tok_kind kind;
} keywords[] = {
    {"block", TK_BLOCK},
    {"break", TK_BREAK},
    {"continue", TK_CONTINUE},
    {"define", TK_DEFINE},
    {"else", TK_ELSE},
    {"end", TK_END},
    {"if", TK_IF},
    {"nil", TK_NIL},
    {"range", TK_RANGE},
    {"template", TK_TEMPLATE},
    {"with", TK_WITH},
};

static bool bad_char(struct lexer *l)
{
    return lex_fail(l, "bad character U+%04X '%c'", (unsigned)peekc(l, l->pos), peekc(l, l->pos));
}

static bool lex_identifier(struct lexer *l)
{
    while (l->pos < l->n && is_alnum((unsigned char)l->s[l->pos]))
        l->pos++;
    if (!at_terminator(l))
        return bad_char(l);
    const char *w = l->s + l->start;
    size_t wl = l->pos - l->start;
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strlen(keywords[i].word) == wl && memcmp(keywords[i].word, w, wl) == 0) {
            emit(l, keywords[i].kind);
            return true;
        }
    }
    if ((wl == 4 && memcmp(w, "true", 4) == 0) || (wl == 5 && memcmp(w, "false", 5) == 0))
        emit(l, TK_BOOL);
    else
        emit(l, TK_IDENTIFIER);
    return true;
}

/* After the '.' or '$'. */
static bool lex_field_or_variable(struct lexer *l, enum tok_kind kind)
{
    if (at_terminator(l)) {
        emit(l, kind == TK_VARIABLE ? TK_VARIABLE : TK_DOT);
        return true;
    }
    while (l->pos < l->n && is_alnum((unsigned char)l->s[l->pos]))
        l->pos++;
    if (!at_terminator(l))
        return bad_char(l);
    emit(l, kind);
    return true;
}

/* One token inside an action; false at the end of the action or on error. */
static bool lex_inside(struct lexer *l, bool *done)
{
    if (at_right_trim(l, l->pos) || has_prefix(l, l->pos, "}}")) {
        if (l->paren_depth != 0)
            return lex_fail(l, "unclosed left paren");
        bool trim = at_right_trim(l, l->pos);
        l->pos += trim ? 4 : 2;
        emit(l, TK_RIGHT_DELIM);
        if (trim)
            skip_spaces(l);
        *done = true;
        return true;
    }
    int c = peekc(l, l->pos);
    if (c == -1)
        return lex_fail(l, "unclosed action");
    if (is_space(c)) {
        size_t nsp = 0;
        while (l->pos < l->n && is_space(l->s[l->pos])) {
            l->pos++;
            nsp++;
        }
        if (at_right_trim(l, l->pos - 1)) {
            l->pos--;
            if (nsp == 1)
                return true; /* the space belongs to " -}}" */
        }
        emit(l, TK_SPACE);
        return true;
    }
    l->pos++;
    switch (c) {
    case '=':
        emit(l, TK_ASSIGN);
        return true;
    case ':':
        if (peekc(l, l->pos) != '=')
            return lex_fail(l, "expected :=");
        l->pos++;
        emit(l, TK_DECLARE);
        return true;
    case '|':
        emit(l, TK_PIPE);
        return true;
    case '"':
        if (!lex_quote(l, '"', "quoted string"))
            return false;
        emit(l, TK_STRING);
        return true;
    case '`':
        if (!lex_quote(l, '`', "raw quoted string"))
            return false;
        emit(l, TK_RAW_STRING);
        return true;
    case '\'':
        if (!lex_quote(l, '\'', "character constant"))
            return false;
        emit(l, TK_CHAR_CONSTANT);
        return true;
    case '$':
        return lex_field_or_variable(l, TK_VARIABLE);
    case '(':
        emit(l, TK_LEFT_PAREN);
        l->paren_depth++;
        return true;
    case ')':
        if (--l->paren_depth < 0)
            return lex_fail(l, "unexpected right paren U+0029 ')'");
        emit(l, TK_RIGHT_PAREN);
        return true;
    case '.': {
        int d = peekc(l, l->pos);
        if (d < '0' || d > '9')
            return lex_field_or_variable(l, TK_FIELD);
        l->pos--;
        return lex_number(l);
    }
    default:
        break;
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        l->pos--;
        return lex_number(l);
    }
    if (is_alnum(c)) {
        l->pos--;
        return lex_identifier(l);
    }
    if (c > ' ' && c < 0x7f) {
        emit(l, TK_CHAR);
        return true;
    }
    l->pos--;
    return lex_fail(l, "unrecognized character in action: U+%04X", (unsigned)c);
}

void tmpl_lex(struct lexer *l)
{
    for (;;) {
        const char *open = memmem(l->s + l->pos, l->n - l->pos, "{{", 2);
        if (!open) {
            l->pos = l->n;
            if (l->pos > l->start)
                emit(l, TK_TEXT);
            emit(l, TK_EOF);
            return;
        }
        l->pos = (size_t)(open - l->s);
        size_t text_end = l->pos;
        bool trim = left_trim_after(l, l->pos + 2);
        if (trim)
            while (text_end > l->start && is_space(l->s[text_end - 1]))
                text_end--;
        if (text_end > l->start) {
            size_t save = l->pos;
            l->pos = text_end;
            emit(l, TK_TEXT);
            l->pos = save;
        }
        l->start = l->pos;
        size_t after = l->pos + 2 + (trim ? 2 : 0);
        if (has_prefix(l, after, "/*")) {
            l->pos = after;
            if (!lex_comment(l))
                return;
            continue;
        }
        l->pos += 2;
        emit(l, TK_LEFT_DELIM);
        l->pos = after;
        l->start = l->pos;
        l->paren_depth = 0;
        bool done = false;
        while (!done)
            if (!lex_inside(l, &done))
                return;
    }
}
