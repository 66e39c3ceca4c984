/* Go's fmt (Sprint, Sprintln, Sprintf: flags, width, precision, the verbs and their %!
 * complaints) for the value types a group-name template sees. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"
#include "util/utf8.h"

/* ---- fmt ---- */

struct fmtspec {
    bool plus, minus, sharp, space, zero, plus_v, sharp_v;
    int width, prec; /* -1: none */
};

const char *tmpl_fmt_type_name(const struct tval *v)
{
    switch (v->kind) {
    case TV_MISSING:
    case TV_NIL:
        return "<nil>";
    case TV_BOOL:
        return "bool";
    case TV_INT:
        return v->type == TT_INT64     ? "int64"
               : v->type == TT_MONTH   ? "time.Month"
               : v->type == TT_WEEKDAY ? "time.Weekday"
                                       : "int";
    case TV_UINT:
        return "uint8";
    case TV_FLOAT:
        return "float64";
    case TV_STRING:
        return "string";
    case TV_TIME:
        return "time.Time";
    case TV_SLICE:
        return "[]string";
    case TV_MAP:
        return "map[string]string";
    case TV_PARAMS:
        return "*config.templateParams";
    }
    return "?";
}

static size_t rune_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        size_t size;
        tmpl_decode_rune(s + i, n - i, &size);
        i += size;
    }
    return count;
}

static void padding(struct strbuf *out, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        strbuf_putc(out, c);
}

/* Go's fmt.pad: to the width in runes, zeros only on the left. */
static void pad(struct strbuf *out, const struct fmtspec *f, const char *s, size_t n)
{
    size_t runes = rune_count(s, n);
    size_t fill = f->width > 0 && (size_t)f->width > runes ? (size_t)f->width - runes : 0;
    if (f->minus) {
        strbuf_append(out, s, n);
        padding(out, fill, ' ');
    } else {
        padding(out, fill, f->zero ? '0' : ' ');
        strbuf_append(out, s, n);
    }
}

/* strconv.Quote (ASCII only with '+'), or a raw string with '#' where Go's CanBackquote. */
static void quote(struct strbuf *b, const char *s, size_t n, bool ascii, bool backquote)
{
    if (backquote) {
        bool can = true;
        for (size_t i = 0; i < n && can; i++) {
            unsigned char c = (unsigned char)s[i];
            can = c != '`' && c != 0x7f && (c >= ' ' || c == '\t');
        }
        size_t size;
        for (size_t i = 0; i < n && can; i += size)
            can = !(tmpl_decode_rune(s + i, n - i, &size) == 0xfffd && size == 1 &&
                    (unsigned char)s[i] >= 0x80);
        if (can) {
            strbuf_putc(b, '`');
            strbuf_append(b, s, n);
            strbuf_putc(b, '`');
            return;
        }
    }
    strbuf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t size;
        uint32_t r = tmpl_decode_rune(s + i, n - i, &size);
        if (r == 0xfffd && size == 1 && c >= 0x80) {
            strbuf_printf(b, "\\x%02x", c);
        } else if (c == '"' || c == '\\') {
            strbuf_putc(b, '\\');
            strbuf_putc(b, (char)c);
        } else if (r < 0x80 && r >= ' ' && r != 0x7f) {
            strbuf_putc(b, (char)c);
        } else if (r < 0x80) {
            const char *esc = strchr("\a\b\f\n\r\t\v", (int)r);
            if (esc && r)
                strbuf_printf(b, "\\%c", "abfnrtv"[esc - "\a\b\f\n\r\t\v"]);
            else
                strbuf_printf(b, "\\x%02x", c);
        } else if (ascii || (r >= 0x80 && r < 0xa0) || r == 0xad || r == 0x2028 || r == 0x2029 ||
                   r == 0xfeff) {
            if (r < 0x10000)
                strbuf_printf(b, "\\u%04x", r);
            else
                strbuf_printf(b, "\\U%08x", r);
        } else {
            strbuf_append(b, s + i, size);
        }
        i += size;
    }
    strbuf_putc(b, '"');
}

/* The byte length of the first `runes` runes of s[0..n). */
static size_t prefix_runes(const char *s, size_t n, size_t runes)
{
    size_t i = 0, size;
    for (size_t k = 0; i < n && k < runes; k++) {
        tmpl_decode_rune(s + i, n - i, &size);
        i += size;
    }
    return i;
}

static void fmt_string(struct strbuf *out, const struct fmtspec *f, char verb, const char *s,
                       size_t n)
{
    struct strbuf b = STRBUF_INIT;
    switch (verb) {
    case 'v':
        if (f->sharp_v) {
            quote(&b, s, n, false, false);
            break;
        }
        /* fall through */
    case 's': {
        /* The precision cuts runes. */
        strbuf_append(&b, s, f->prec >= 0 ? prefix_runes(s, n, (size_t)f->prec) : n);
        break;
    }
    case 'q': {
        size_t end = n;
        if (f->prec >= 0) /* Go cuts to the precision in runes, then quotes */
            end = prefix_runes(s, n, (size_t)f->prec);
        quote(&b, s, end, f->plus, f->sharp);
        break;
    }
    case 'x':
    case 'X': {
        size_t len = f->prec >= 0 && (size_t)f->prec < n ? (size_t)f->prec : n;
        const char *digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        for (size_t i = 0; i < len; i++) {
            if (f->space && i > 0)
                strbuf_putc(&b, ' ');
            if (f->sharp && (f->space || i == 0))
                strbuf_puts(&b, verb == 'x' ? "0x" : "0X");
            strbuf_putc(&b, digits[(unsigned char)s[i] >> 4]);
            strbuf_putc(&b, digits[(unsigned char)s[i] & 15]);
        }
        break;
    }
    }
    pad(out, f, b.buf ? b.buf : "", b.len);
    strbuf_free(&b);
}

static void print_value(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                        char verb, const struct fmtspec *f, int depth);

static void bad_verb(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                     char verb)
{
    strbuf_printf(out, "%%!%c(", verb);
    if (v->kind == TV_NIL || v->kind == TV_MISSING) {
        strbuf_puts(out, "<nil>");
    } else {
        strbuf_puts(out, tmpl_fmt_type_name(v));
        strbuf_putc(out, '=');
        struct fmtspec plain = {.width = -1, .prec = -1};
        print_value(out, d, v, 'v', &plain, 0);
    }
    strbuf_putc(out, ')');
}

/* Go's fmtInteger. */
static void fmt_integer(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                        char verb, const struct fmtspec *f)
{
    bool neg = v->kind == TV_INT && v->i < 0;
    uint64_t u = v->kind == TV_INT ? (neg ? 0 - (uint64_t)v->i : (uint64_t)v->i) : v->u;
    unsigned base;
    switch (verb) {
    case 'v':
        if (f->sharp_v && v->kind == TV_UINT) {
            strbuf_printf(out, "0x%llx", (unsigned long long)u);
            return;
        }
        /* fall through */
    case 'd':
        base = 10;
        break;
    case 'b':
        base = 2;
        break;
    case 'o':
    case 'O':
        base = 8;
        break;
    case 'x':
    case 'X':
        base = 16;
        break;
    case 'c': {
        struct strbuf b = STRBUF_INIT;
        utf8_put_rune(&b, neg ? 0xfffd : u);
        pad(out, f, b.buf, b.len);
        strbuf_free(&b);
        return;
    }
    case 'q': {
        struct strbuf r = STRBUF_INIT, b = STRBUF_INIT;
        utf8_put_rune(&r, neg ? 0xfffd : u);
        quote(&b, r.buf, r.len, f->plus, false);
        b.buf[0] = b.buf[b.len - 1] = '\'';
        pad(out, f, b.buf, b.len);
        strbuf_free(&r);
        strbuf_free(&b);
        return;
    }
    case 'U': {
        struct strbuf b = STRBUF_INIT;
        strbuf_printf(&b, "U+%04llX", (unsigned long long)u);
        if (f->sharp && u <= 0x10ffff) {
            strbuf_puts(&b, " '");
            utf8_put_rune(&b, u);
            strbuf_putc(&b, '\'');
        }
        pad(out, f, b.buf, b.len);
        strbuf_free(&b);
        return;
    }
    default:
        bad_verb(out, d, v, verb);
        return;
    }
    char digits[80];
    size_t nd = 0;
    const char *set = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[nd++] = set[u % base];
        u /= base;
    } while (u > 0);
    int prec = 0;
    bool zero_value = nd == 1 && digits[0] == '0';
    struct fmtspec g = *f;
    if (f->prec >= 0) {
        prec = f->prec;
        if (prec == 0 && zero_value) {
            g.zero = false;
            pad(out, &g, "", 0);
            return;
        }
    } else if (f->zero && f->width > 0 && !f->minus) {
        prec = f->width;
        if (neg || f->plus || f->space)
            prec--;
    }
    struct strbuf b = STRBUF_INIT;
    if (neg)
        strbuf_putc(&b, '-');
    else if (f->plus)
        strbuf_putc(&b, '+');
    else if (f->space)
        strbuf_putc(&b, ' ');
    if (f->sharp) {
        if (verb == 'b')
            strbuf_puts(&b, "0b");
        else if (verb == 'x')
            strbuf_puts(&b, "0x");
        else if (verb == 'X')
            strbuf_puts(&b, "0X");
        else if (verb == 'o' && !(prec <= (int)nd && digits[nd - 1] == '0'))
            strbuf_putc(&b, '0');
    }
    if (verb == 'O')
        strbuf_puts(&b, "0o");
    for (int i = (int)nd; i < prec; i++)
        strbuf_putc(&b, '0');
    while (nd > 0)
        strbuf_putc(&b, digits[--nd]);
    g.zero = false;
    pad(out, &g, b.buf, b.len);
    strbuf_free(&b);
}

/* strconv's shortest 'g' (%v and %g): the fewest digits that read back as the same float64, in
 * exponent form when the decimal exponent is below -4 or at least 6. */
static void shortest_g(struct strbuf *b, double v, char e)
{
    char buf[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf: [-]d.ddde[+-]XX */
    char *ep = strchr(buf, 'e');
    int exp = atoi(ep + 1);
    char digs[32];
    size_t nd = 0;
    for (char *q = buf; q < ep; q++)
        if (*q >= '0' && *q <= '9')
            digs[nd++] = *q;
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    if (v < 0)
        strbuf_putc(b, '-');
    if (exp < -4 || exp >= 6) {
        strbuf_putc(b, digs[0]);
        if (nd > 1) {
            strbuf_putc(b, '.');
            strbuf_append(b, digs + 1, nd - 1);
        }
        strbuf_printf(b, "%c%c%02d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    if (exp < 0) {
        strbuf_puts(b, "0.");
        for (int i = -1; i > exp; i--)
            strbuf_putc(b, '0');
        strbuf_append(b, digs, nd);
        return;
    }
    for (int i = 0; i <= exp; i++)
        strbuf_putc(b, (size_t)i < nd ? digs[i] : '0');
    if ((size_t)exp + 1 < nd) {
        strbuf_putc(b, '.');
        strbuf_append(b, digs + exp + 1, nd - (size_t)exp - 1);
    }
}

/* Go's fmtFloat. */
static void fmt_float(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                      char verb, const struct fmtspec *f)
{
    struct strbuf num = STRBUF_INIT;
    double x = v->f;
    if (!strchr("vbgGxXfFeE", verb)) {
        bad_verb(out, d, v, verb);
        return;
    }
    if (isinf(x) || isnan(x)) {
        strbuf_puts(&num, isnan(x) ? "NaN" : x < 0 ? "-Inf" : f->plus ? "+Inf" : "+Inf");
        if (!isnan(x) && x > 0 && !f->plus)
            memmove(num.buf, num.buf + 1, num.len--);
    } else if ((verb == 'v' || verb == 'g' || verb == 'G') && f->prec < 0) {
        shortest_g(&num, x, verb == 'G' ? 'E' : 'e');
    } else if (verb == 'b') {
        /* Go's %b: a decimal mantissa and a binary exponent, 1.0 is "4503599627370496p-52". */
        int e;
        double m = frexp(x, &e);
        strbuf_printf(&num, "%lldp%+d", (long long)ldexp(m, 53), x == 0 ? -1074 : e - 53);
    } else {
        char cfmt[8] = "%.*";
        char c = verb == 'F'   ? 'f'
                 : verb == 'x' ? 'a'
                 : verb == 'X' ? 'A'
                 : verb == 'v' ? 'g'
                               : verb;
        cfmt[3] = c;
        cfmt[4] = '\0';
        int prec = f->prec >= 0 ? f->prec : (c == 'a' || c == 'A') ? -1 : 6;
        char buf[512];
        if (prec < 0)
            snprintf(buf, sizeof(buf), c == 'a' ? "%a" : "%A", x);
        else
            snprintf(buf, sizeof(buf), cfmt, prec > 400 ? 400 : prec, x);
        char *p = strpbrk(buf, "pP");
        if ((c == 'a' || c == 'A') && p && p[1] && p[2] && !p[3]) {
            /* Go writes at least two exponent digits: 0x1.cp+01 where C writes 0x1.cp+1. */
            p[3] = p[2];
            p[2] = '0';
            p[4] = '\0';
        }
        strbuf_puts(&num, buf);
    }
    struct strbuf b = STRBUF_INIT;
    const char *s = num.buf;
    bool neg = s[0] == '-';
    if (neg)
        s++;
    if (neg)
        strbuf_putc(&b, '-');
    else if (f->plus && s[0] != '+')
        strbuf_putc(&b, '+');
    else if (f->space && s[0] != '+')
        strbuf_putc(&b, ' ');
    size_t body = strlen(s);
    if (f->zero && !f->minus && f->width > 0 && !isinf(x) && !isnan(x) &&
        (size_t)f->width > b.len + body) {
        padding(&b, (size_t)f->width - b.len - body, '0');
    }
    strbuf_puts(&b, s);
    struct fmtspec g = *f;
    g.zero = false;
    pad(out, &g, b.buf, b.len);
    strbuf_free(&b);
    strbuf_free(&num);
}

static void print_value(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                        char verb, const struct fmtspec *f, int depth)
{
    switch (v->kind) {
    case TV_MISSING:
    case TV_NIL:
        if (verb == 'v')
            pad(out, f, "<nil>", 5);
        else
            bad_verb(out, d, v, verb);
        return;
    case TV_BOOL:
        if (verb == 'v' || verb == 't')
            pad(out, f, v->b ? "true" : "false", v->b ? 4 : 5);
        else
            bad_verb(out, d, v, verb);
        return;
    case TV_INT:
        if ((v->type == TT_MONTH || v->type == TT_WEEKDAY) && strchr("vsxXq", verb) &&
            !f->sharp_v) {
            /* Stringer: "November", or "%!Month(13)" out of range. */
            struct strbuf b = STRBUF_INIT;
            bool month = v->type == TT_MONTH;
            if (month ? v->i >= 1 && v->i <= 12 : v->i >= 0 && v->i <= 6)
                strbuf_puts(&b,
                            month ? tmpl_time_month_names[v->i - 1] : tmpl_time_day_names[v->i]);
            else
                strbuf_printf(&b, "%%!%s(%lld)", month ? "Month" : "Weekday", (long long)v->i);
            fmt_string(out, f, verb, b.buf, b.len);
            strbuf_free(&b);
            return;
        }
        fmt_integer(out, d, v, verb, f);
        return;
    case TV_UINT:
        fmt_integer(out, d, v, verb, f);
        return;
    case TV_FLOAT:
        fmt_float(out, d, v, verb, f);
        return;
    case TV_STRING:
        if (strchr("vsxXq", verb))
            fmt_string(out, f, verb, v->s, v->len);
        else
            bad_verb(out, d, v, verb);
        return;
    case TV_TIME: {
        if (f->sharp_v) {
            tmpl_time_go_string(out, v);
            return;
        }
        if (!strchr("vsxXq", verb)) {
            bad_verb(out, d, v, verb);
            return;
        }
        struct strbuf b = STRBUF_INIT;
        tmpl_time_string(&b, v);
        fmt_string(out, f, verb, b.buf, b.len);
        strbuf_free(&b);
        return;
    }
    case TV_SLICE:
        strbuf_puts(out, f->sharp_v ? "[]string{" : "[");
        for (size_t i = 0; i < v->nitems; i++) {
            if (i > 0)
                strbuf_puts(out, f->sharp_v ? ", " : " ");
            const char *e = v->items[i] ? v->items[i] : "";
            struct tval ev = {.kind = TV_STRING, .s = e, .len = strlen(e)};
            print_value(out, d, &ev, verb, f, depth + 1);
        }
        strbuf_puts(out, f->sharp_v ? "}" : "]");
        return;
    case TV_MAP:
        strbuf_puts(out, f->sharp_v ? "map[string]string{" : "map[");
        for (size_t i = 0; i < d->tmpl->nkeys; i++) {
            if (i > 0)
                strbuf_puts(out, f->sharp_v ? ", " : " ");
            const char *k = d->tmpl->keys[i];
            size_t slot = d->tmpl->key_slots[i];
            struct tval kv = {.kind = TV_STRING, .s = k, .len = strlen(k)};
            struct tval vv = {.kind = TV_STRING, .s = "", .len = 0};
            if (slot < d->values->ncaptures) {
                vv.s = d->values->captures[slot].ptr;
                vv.len = d->values->captures[slot].len;
            }
            print_value(out, d, &kv, verb, f, depth + 1);
            strbuf_putc(out, ':');
            print_value(out, d, &vv, verb, f, depth + 1);
        }
        strbuf_puts(out, f->sharp_v ? "}" : "]");
        return;
    case TV_PARAMS: {
        /* The struct's fields in declaration order (process-exporter 0.7.10's templateParams). */
        static const char *const names[] = {"Cgroups",  "Comm", "ExeBase",   "ExeFull",
                                            "Username", "PID",  "StartTime", "Matches"};
        const struct proc_identity *id = d->values->id;
        const char *comm = id->comm ? id->comm : "";
        const char *full = id->argc > 0 ? id->argv[0] : comm;
        const char *user = d->values->username ? d->values->username : "";
        struct tval fields[8] = {
            {.kind = TV_SLICE, .items = id->cgroups, .nitems = id->ncgroups},
            {.kind = TV_STRING, .s = comm, .len = strlen(comm)},
            {.kind = TV_STRING, .s = d->exe_base, .len = d->exe_base_len},
            {.kind = TV_STRING, .s = full, .len = strlen(full)},
            {.kind = TV_STRING, .s = user, .len = strlen(user)},
            {.kind = TV_INT, .i = id->pid},
            {.kind = TV_TIME, .ns = (int64_t)id->start_time_ns, .zone = "UTC"},
            {.kind = TV_MAP},
        };
        strbuf_puts(out, f->sharp_v ? "&config.templateParams{" : "&{");
        for (size_t i = 0; i < 8; i++) {
            if (i > 0)
                strbuf_puts(out, f->sharp_v ? ", " : " ");
            if (f->plus_v || f->sharp_v) {
                strbuf_puts(out, names[i]);
                strbuf_putc(out, ':');
            }
            print_value(out, d, &fields[i], verb, f, depth + 1);
        }
        strbuf_putc(out, '}');
        return;
    }
    }
}

static void print_arg(struct strbuf *out, const struct texec_data *d, const struct tval *v,
                      char verb, const struct fmtspec *f)
{
    if (verb == 'T') {
        const char *name = tmpl_fmt_type_name(v);
        fmt_string(out, f, 's', name, strlen(name));
        return;
    }
    if (verb == 'p') {
        bad_verb(out, d, v, verb);
        return;
    }
    print_value(out, d, v, verb, f, 0);
}

void tmpl_fmt_value(struct strbuf *out, const struct texec_data *d, const struct tval *v)
{
    struct fmtspec f = {.width = -1, .prec = -1};
    print_arg(out, d, v, 'v', &f);
}

void tmpl_fmt_print(struct strbuf *out, const struct texec_data *d, const struct tval *args,
                    size_t n, bool println)
{
    bool prev_string = false;
    for (size_t i = 0; i < n; i++) {
        bool is_string = args[i].kind == TV_STRING;
        if (i > 0 && (println || (!is_string && !prev_string)))
            strbuf_putc(out, ' ');
        tmpl_fmt_value(out, d, &args[i]);
        prev_string = is_string;
    }
    if (println)
        strbuf_putc(out, '\n');
}

/* A number in the format at *i, at most 1e6 as Go's parsenum reads it. */
static bool parse_num(const char *s, size_t n, size_t *i, int *out)
{
    if (*i >= n || s[*i] < '0' || s[*i] > '9')
        return false;
    long v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (v > 1000000)
            return false;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = (int)v;
    return true;
}

/* An [n] argument index; returns false for a bad one. */
static bool arg_index(const char *s, size_t n, size_t *i, size_t *argnum, size_t nargs,
                      bool *reordered)
{
    if (*i >= n || s[*i] != '[')
        return true;
    *reordered = true;
    size_t j = *i + 1;
    int v;
    if (!parse_num(s, n, &j, &v) || j >= n || s[j] != ']' || v < 1 || (size_t)v > nargs) {
        while (j < n && s[j] != ']')
            j++;
        *i = j < n ? j + 1 : j;
        return false;
    }
    *argnum = (size_t)v - 1;
    *i = j + 1;
    return true;
}

static bool int_arg(const struct tval *args, size_t nargs, size_t *argnum, int *out)
{
    if (*argnum >= nargs)
        return false;
    const struct tval *v = &args[(*argnum)++];
    if (v->kind == TV_INT && v->i >= -1000000 && v->i <= 1000000) {
        *out = (int)v->i;
        return true;
    }
    if (v->kind == TV_UINT && v->u <= 1000000) {
        *out = (int)v->u;
        return true;
    }
    return false;
}

void tmpl_fmt_printf(struct strbuf *out, const struct texec_data *d, const char *s, size_t n,
                     const struct tval *args, size_t nargs)
{
    size_t argnum = 0;
    bool reordered = false;
    for (size_t i = 0; i < n;) {
        if (s[i] != '%') {
            size_t j = i;
            while (j < n && s[j] != '%')
                j++;
            strbuf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        i++;
        struct fmtspec f = {.width = -1, .prec = -1};
        for (; i < n; i++) {
            char c = s[i];
            if (c == '#')
                f.sharp = true;
            else if (c == '0')
                f.zero = !f.minus;
            else if (c == '+')
                f.plus = true;
            else if (c == '-')
                f.minus = true, f.zero = false;
            else if (c == ' ')
                f.space = true;
            else
                break;
        }
        bool good = arg_index(s, n, &i, &argnum, nargs, &reordered);
        if (i < n && s[i] == '*') {
            i++;
            if (!int_arg(args, nargs, &argnum, &f.width)) {
                strbuf_puts(out, "%!(BADWIDTH)");
            } else if (f.width < 0) {
                f.width = -f.width;
                f.minus = true;
                f.zero = false;
            }
        } else {
            parse_num(s, n, &i, &f.width);
        }
        if (i < n && s[i] == '.') {
            i++;
            good = arg_index(s, n, &i, &argnum, nargs, &reordered) && good;
            if (i < n && s[i] == '*') {
                i++;
                if (!int_arg(args, nargs, &argnum, &f.prec) || f.prec < 0) {
                    f.prec = -1;
                    strbuf_puts(out, "%!(BADPREC)");
                }
            } else if (!parse_num(s, n, &i, &f.prec)) {
                f.prec = 0;
            }
        }
        good = arg_index(s, n, &i, &argnum, nargs, &reordered) && good;
        if (i >= n) {
            strbuf_puts(out, "%!(NOVERB)");
            break;
        }
        size_t size;
        uint32_t verb_rune = tmpl_decode_rune(s + i, n - i, &size);
        char verb = verb_rune < 0x80 ? (char)verb_rune : '?';
        i += size;
        if (verb == '%') {
            strbuf_putc(out, '%');
            continue;
        }
        if (!good) {
            strbuf_printf(out, "%%!%c(BADINDEX)", verb);
            continue;
        }
        if (argnum >= nargs) {
            strbuf_printf(out, "%%!%c(MISSING)", verb);
            continue;
        }
        if (verb == 'v') {
            f.sharp_v = f.sharp;
            f.sharp = false;
            f.plus_v = f.plus;
            f.plus = false;
        }
        print_arg(out, d, &args[argnum++], verb, &f);
    }
    if (!reordered && argnum < nargs) {
        strbuf_puts(out, "%!(EXTRA ");
        for (size_t k = argnum; k < nargs; k++) {
            if (k > argnum)
                strbuf_puts(out, ", ");
            if (args[k].kind == TV_NIL || args[k].kind == TV_MISSING) {
                strbuf_puts(out, "<nil>");
            } else {
                strbuf_puts(out, tmpl_fmt_type_name(&args[k]));
                strbuf_putc(out, '=');
                tmpl_fmt_value(out, d, &args[k]);
            }
        }
        strbuf_putc(out, ')');
    }
}
