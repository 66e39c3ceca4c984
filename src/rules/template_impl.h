/* The inside of group-name templates, shared by the parser (template.c), the evaluator
 * (template_exec.c) and Go's value printing (template_fmt.c). Internal to src/rules. */
#ifndef PROCTRACK_RULES_TEMPLATE_IMPL_H
#define PROCTRACK_RULES_TEMPLATE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/template.h"
#include "util/strbuf.h"

/* Nodes of the parse tree, as Go's text/template/parse names them. */
enum tnode_kind {
    TN_LIST,     /* kids: the nodes in order */
    TN_TEXT,     /* str */
    TN_ACTION,   /* pipe */
    TN_IF,       /* pipe, list, else_list (may be NULL) */
    TN_RANGE,    /* pipe, list, else_list */
    TN_WITH,     /* pipe, list, else_list */
    TN_BREAK,    /* inside a range */
    TN_CONTINUE, /* inside a range */
    TN_PIPE,     /* kids: commands; names: declared variables; assign: `=` rather than `:=` */
    TN_COMMAND,  /* kids: operands, the first may be a function */
    TN_FIELD,    /* names: .A.B */
    TN_VARIABLE, /* names[0]: "$x" or "$", then fields */
    TN_CHAIN,    /* kids[0]: the operand (a parenthesised pipe), names: the fields after it */
    TN_DOT,
    TN_NIL,
    TN_BOOL,     /* boolean */
    TN_NUMBER,   /* num */
    TN_STRING,   /* str: the unquoted value */
    TN_FUNCTION, /* func */
    TN_TEMPLATE, /* str: the name; pipe (may be NULL): its dot */
};

/* The builtin functions, in Go's names. */
enum tfunc {
    TF_AND,
    TF_OR,
    TF_NOT,
    TF_LEN,
    TF_INDEX,
    TF_SLICE,
    TF_PRINT,
    TF_PRINTF,
    TF_PRINTLN,
    TF_EQ,
    TF_NE,
    TF_LT,
    TF_LE,
    TF_GT,
    TF_GE,
    TF_HTML,
    TF_JS,
    TF_URLQUERY,
    TF_COUNT
};

/* A numeric constant as Go's parser types it: what it may be used as. */
struct tnum {
    bool is_int, is_uint, is_float;
    int64_t i;
    uint64_t u;
    double f;
};

struct tnode {
    enum tnode_kind kind;
    size_t pos; /* byte offset in the template text, for messages */
    struct tnode **kids;
    size_t nkids, capkids;
    struct tnode *pipe, *list, *else_list;
    char **names;
    size_t nnames;
    bool assign;
    bool boolean;
    struct tnum num;
    char *str;
    size_t len;
    enum tfunc func;
};

/* A named template: {{define "name"}} or {{block "name"}}. */
struct tdef {
    const char *name; /* owned by a node */
    struct tnode *body;
    bool empty;
};

struct tmpl {
    struct tnode *root;
    struct tdef *defs;
    size_t ndefs, capdefs;
    struct tnode **nodes; /* every node, to free them */
    size_t nnodes, capnodes;
    unsigned needs;
    /* The keys of .Matches, sorted as Go prints a map, and for each the slot of its value. */
    char **keys;
    size_t *key_slots;
    size_t nkeys;
};

/* Go types a value can have; they decide %T, %v and which comparisons are allowed. */
enum tval_kind {
    TV_MISSING, /* reflect's invalid Value: a map key that is not there, prints <no value> */
    TV_NIL,     /* untyped nil */
    TV_BOOL,
    TV_INT,  /* int, int64, time.Month, time.Weekday: see type */
    TV_UINT, /* uint8: a byte of a string */
    TV_FLOAT,
    TV_STRING,
    TV_TIME,
    TV_SLICE,  /* []string: Cgroups or a slice of it */
    TV_MAP,    /* map[string]string: Matches */
    TV_PARAMS, /* the template's data, *templateParams */
};

enum tval_type { TT_PLAIN, TT_INT64, TT_MONTH, TT_WEEKDAY };

struct tval {
    enum tval_kind kind;
    enum tval_type type; /* TV_INT only */
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    const char *s; /* TV_STRING */
    size_t len;
    /* TV_TIME: nanoseconds since the epoch, the zone's offset east of UTC and its name, whether
     * the Location is Local (else UTC) and whether daylight saving time is in effect. */
    int64_t ns;
    int32_t offset;
    const char *zone;
    bool local, dst;
    const char *const *items; /* TV_SLICE */
    size_t nitems;
};

/* What evaluation reads: the process and the captures, with .Matches as sorted keys. */
struct texec_data {
    const struct tmpl *tmpl;
    const struct tmpl_values *values;
    const char *exe_base;
    size_t exe_base_len;
};

/* Tokens, as Go's lexer names its items. */
enum tok_kind {
    TK_ERROR, /* str: the message */
    TK_EOF,
    TK_TEXT,
    TK_LEFT_DELIM,
    TK_RIGHT_DELIM,
    TK_SPACE,
    TK_PIPE,
    TK_LEFT_PAREN,
    TK_RIGHT_PAREN,
    TK_DECLARE,
    TK_ASSIGN,
    TK_CHAR, /* any other printable ASCII character, e.g. ',' */
    TK_CHAR_CONSTANT,
    TK_NUMBER,
    TK_STRING,
    TK_RAW_STRING,
    TK_BOOL,
    TK_DOT,
    TK_FIELD,
    TK_VARIABLE,
    TK_IDENTIFIER,
    /* keywords */
    TK_BLOCK,
    TK_BREAK,
    TK_CONTINUE,
    TK_DEFINE,
    TK_ELSE,
    TK_END,
    TK_IF,
    TK_NIL,
    TK_RANGE,
    TK_TEMPLATE,
    TK_WITH,
};

struct token {
    enum tok_kind kind;
    size_t pos, len; /* the token's bytes in the text */
    const char *msg; /* TK_ERROR */
};

struct lexer {
    const char *s;
    size_t n;
    size_t pos, start;
    int paren_depth;
    struct token *toks;
    size_t ntoks, cap;
    char errbuf[128];
};

/* Tokenizes l->n bytes of l->s into l->toks; the last token is TK_EOF or TK_ERROR. */
void tmpl_lex(struct lexer *l);

/* Fills the offset, line and column of `offset` in `text`. */
void tmpl_diag_at(const char *text, size_t offset, struct tmpl_diag *d);

/* Sets t->needs and fills `warning` (may be NULL) with the first odd spot of the parsed tree. */
void tmpl_check(struct tmpl *t, const char *text, const char *const *capture_names,
                size_t ncapture_names, struct tmpl_diag *warning);

/* Go's fmt: Sprint, Sprintln and Sprintf of evaluated values, and the printing of one value as
 * an action prints it. */
void tmpl_fmt_print(struct strbuf *out, const struct texec_data *d, const struct tval *args,
                    size_t n, bool println);
void tmpl_fmt_printf(struct strbuf *out, const struct texec_data *d, const char *format,
                     size_t flen, const struct tval *args, size_t n);
void tmpl_fmt_value(struct strbuf *out, const struct texec_data *d, const struct tval *v);
/* Go's type name of a value for %T and messages: "string", "time.Time", "[]string"... */
const char *tmpl_fmt_type_name(const struct tval *v);

/* time.Time's Format with a Go layout, and the civil date of an instant in its zone. */
void tmpl_time_format(struct strbuf *out, const struct tval *t, const char *layout, size_t len);
struct tmpl_time_civil {
    int64_t year;
    int month, day, hour, minute, second, nanosecond, weekday, yearday;
};
void tmpl_time_civil(const struct tval *t, struct tmpl_time_civil *c);
/* The instant in the process's local zone (TZ, /etc/localtime), as time.Time.Local. */
struct tval tmpl_time_local(const struct tval *t);
/* time.Time.String(): "2017-10-19 22:52:51.19 +0000 UTC". */
void tmpl_time_string(struct strbuf *out, const struct tval *t);
/* time.Time.GoString: "time.Date(2024, time.May, 1, 9, 5, 0, 0, time.UTC)". */
void tmpl_time_go_string(struct strbuf *out, const struct tval *t);
extern const char *const tmpl_time_month_names[12];
extern const char *const tmpl_time_day_names[7];

/* Decodes one UTF-8 sequence of the `n` bytes at `s`; an invalid byte reads as U+FFFD of size 1,
 * as Go's utf8.DecodeRune reads it. */
uint32_t tmpl_decode_rune(const char *s, size_t n, size_t *size);

/* Evaluation limits: a hostile config cannot make a render run away. The output may be this
 * plus the size of the process's own data (its command line and cgroups). */
#define TMPL_MAX_OUTPUT (64 * 1024)
#define TMPL_MAX_STEPS 1000000
#define TMPL_MAX_DEPTH 100

#endif /* PROCTRACK_RULES_TEMPLATE_IMPL_H */
