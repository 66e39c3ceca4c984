#include "util/yamlread.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

int yamlread_init(struct yamlread *yr, const char *name, const char *buf, size_t len,
                  unsigned max_depth, char *err, size_t errlen)
{
    memset(yr, 0, sizeof(*yr));
    yr->name = name;
    yr->buf = buf ? buf : "";
    yr->len = buf ? len : 0;
    yr->max_depth = max_depth;
    yr->err = err;
    yr->errlen = errlen;
    if (errlen > 0)
        err[0] = '\0';
    if (!yaml_parser_initialize(&yr->parser)) {
        snprintf(err, errlen, "%s: out of memory while reading YAML", name);
        return -1;
    }
    yaml_parser_set_input_string(&yr->parser, (const unsigned char *)yr->buf, yr->len);
    /* A config is UTF-8; without this libyaml would also guess UTF-16 from a byte-order mark. */
    yaml_parser_set_encoding(&yr->parser, YAML_UTF8_ENCODING);
    return 0;
}

static void release_event(struct yamlread *yr)
{
    if (yr->have_owned)
        yaml_event_delete(&yr->owned);
    yr->have_owned = false;
    yr->have_event = false;
    free(yr->scalar);
    yr->scalar = NULL;
}

void yamlread_end(struct yamlread *yr)
{
    release_event(yr);
    for (size_t i = 0; i < yr->nstore; i++)
        yaml_event_delete(&yr->store[i].event);
    free(yr->store);
    for (size_t i = 0; i < yr->nrecs; i++)
        free(yr->recs[i].anchor);
    free(yr->recs);
    free(yr->open_recs);
    free(yr->sources);
    free(yr->anchors);
    yr->anchors = NULL;
    yr->nanchors = yr->capanchors = 0;
    yr->store = NULL;
    yr->recs = NULL;
    yr->open_recs = NULL;
    yr->sources = NULL;
    yr->nstore = yr->nrecs = yr->nopen = yr->nsources = 0;
    yaml_parser_delete(&yr->parser);
}

/* ---- errors ------------------------------------------------------------------------------ */

int yamlread_fail(struct yamlread *yr, yaml_mark_t mark, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (yr->errlen > 0)
        snprintf(yr->err, yr->errlen, "%s:%zu:%zu: %s", yr->name, mark.line + 1, mark.column + 1,
                 reason);
    return -1;
}

/* libyaml's reader reports a byte offset only; count lines and characters up to it the way the
 * scanner's marks do. */
static yaml_mark_t mark_from_offset(const struct yamlread *yr, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};
    if (offset > yr->len)
        offset = yr->len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)yr->buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= yr->len || yr->buf[i + 1] != '\n'))) {
            mark.line++;
            mark.column = 0;
        } else if ((c & 0xc0) != 0x80) {
            mark.column++;
        }
    }
    mark.index = offset;
    return mark;
}

static int syntax_error(struct yamlread *yr)
{
    const yaml_parser_t *p = &yr->parser;
    const char *problem = p->problem ? p->problem : "unknown YAML error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        snprintf(yr->err, yr->errlen, "%s: out of memory while reading YAML", yr->name);
        return -1;
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return yamlread_fail(yr, mark_from_offset(yr, p->problem_offset), "%s (byte 0x%02X)",
                                 problem, (unsigned)p->problem_value & 0xff);
        return yamlread_fail(yr, mark_from_offset(yr, p->problem_offset), "%s", problem);
    default:
        if (p->context)
            return yamlread_fail(yr, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
                                 p->context, p->context_mark.line + 1, p->context_mark.column + 1);
        return yamlread_fail(yr, p->problem_mark, "%s", problem);
    }
}

/* ---- events ------------------------------------------------------------------------------ */

static bool tag_is(const yaml_char_t *tag, const char *name)
{
    const char *t = (const char *)tag;
    return strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
           strcmp(t + strlen(TAG_PREFIX), name) == 0;
}

static bool one_of(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, list[i]) == 0)
            return true;
    }
    return false;
}

static bool is_null_text(const char *v)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    return one_of(v, nulls, sizeof(nulls) / sizeof(nulls[0]));
}

bool yamlread_is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT)
        return false;
    if (ev->data.scalar.tag)
        return tag_is(ev->data.scalar.tag, "null");
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           is_null_text((const char *)ev->data.scalar.value);
}

const char *yamlread_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return yamlread_is_null(ev) ? "null" : "a string";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    default:
        return "something else";
    }
}

/* yaml.v2 resolves a tagged scalar and refuses one whose text is not of the tag's kind. Its
 * rules: underscores dropped; ints as Go's strconv.ParseInt with base 0 (0x, 0o, 0b, 0 octal),
 * or ParseUint; floats as [-+]?(.d+|d+(.d*)?)([eE][-+]?d+)? or .inf/.nan, and any int. */
static bool is_int_text(const char *v)
{
    char digits[128];
    size_t n = 0;
    for (; *v && n + 1 < sizeof(digits); v++)
        if (*v != '_')
            digits[n++] = *v;
    if (*v)
        return false;
    digits[n] = '\0';
    const char *p = digits;
    bool negative = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        base = 8, p += 2;
    else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        base = 2, p += 2;
    else if (p[0] == '0' && p[1] != '\0')
        base = 8, p += 1;
    if (*p == '\0')
        return false;
    /* In range of Go's int64, or of uint64 when not negative. */
    uint64_t value = 0, limit = negative ? (uint64_t)1 << 63 : UINT64_MAX;
    for (; *p; p++) {
        unsigned d = *p >= '0' && *p <= '9'   ? (unsigned)(*p - '0')
                     : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10)
                     : *p >= 'A' && *p <= 'F' ? (unsigned)(*p - 'A' + 10)
                                              : 99;
        if (d >= base || value > (limit - d) / base)
            return false;
        value = value * base + d;
    }
    return true;
}

static bool is_float_text(const char *v)
{
    static const char *const special[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                          "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
    if (one_of(v, special, sizeof(special) / sizeof(special[0])) || is_int_text(v))
        return true;
    const char *p = v;
    size_t intdigits = 0, fracdigits = 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; (*p >= '0' && *p <= '9') || *p == '_'; p++)
        intdigits += *p != '_';
    if (*p == '.')
        for (p++; (*p >= '0' && *p <= '9') || *p == '_'; p++)
            fracdigits += *p != '_';
    if (intdigits == 0 && fracdigits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static bool is_bool_text(const char *v, bool *value)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON"};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                     "False", "FALSE", "off", "Off", "OFF"};
    *value = one_of(v, yes, sizeof(yes) / sizeof(yes[0]));
    return *value || one_of(v, no, sizeof(no) / sizeof(no[0]));
}

/* Go's base64.StdEncoding, which skips \r and \n: padded groups of four. */
static bool base64_decode(const char *in, size_t len, char *out, size_t *outlen)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned quad[4];
    size_t nq = 0, n = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '\r' || c == '\n')
            continue;
        const char *at = c ? strchr(alphabet, c) : NULL;
        if (c == '=' && nq >= 2) {
            pad++;
            quad[nq++] = 0;
        } else if (at && pad == 0) {
            quad[nq++] = (unsigned)(at - alphabet);
        } else {
            return false;
        }
        if (nq == 4) {
            unsigned v = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
            char bytes[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
            memcpy(out + n, bytes, 3 - pad);
            n += 3 - pad;
            nq = 0;
            if (pad)
                pad = 4; /* nothing may follow the padding */
        }
    }
    *outlen = n;
    return nq == 0;
}

static int check_scalar_tag(struct yamlread *yr)
{
    yaml_event_t *ev = &yr->event;
    const yaml_char_t *tag = ev->data.scalar.tag;
    const char *v = (const char *)ev->data.scalar.value;
    bool ok = true, ignored;
    if (!tag || strncmp((const char *)tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
        return 0;
    if (tag_is(tag, "bool"))
        ok = is_bool_text(v, &ignored);
    else if (tag_is(tag, "int"))
        ok = is_int_text(v);
    else if (tag_is(tag, "float"))
        ok = is_float_text(v);
    else if (tag_is(tag, "null"))
        ok = is_null_text(v);
    else if (tag_is(tag, "binary")) {
        size_t len = 0;
        yr->scalar = xmalloc(ev->data.scalar.length / 4 * 3 + 3);
        if (!base64_decode(v, ev->data.scalar.length, yr->scalar, &len))
            return yamlread_fail(yr, ev->start_mark, "!!binary value is not valid base64");
        yr->scalar[len] = '\0';
        ev->data.scalar.value = (yaml_char_t *)yr->scalar;
        ev->data.scalar.length = len;
        return 0;
    }
    if (!ok)
        return yamlread_fail(yr, ev->start_mark, "\"%s\" is not a valid !!%s", v,
                             (const char *)tag + strlen(TAG_PREFIX));
    return 0;
}

/* yaml.v2 refuses a document once more than 100 of more than 1000 decoded nodes came from
 * aliases and their share passes a bound that falls from 99% (up to 400,000 nodes) to 10% (from
 * 4,000,000 on): a small file cannot expand into millions of nodes (a "billion laughs"). */
static bool too_much_aliasing(size_t decoded, size_t from_aliases)
{
    if (from_aliases <= 100 || decoded <= 1000)
        return false;
    double allowed = 0.99;
    if (decoded >= 4000000)
        allowed = 0.10;
    else if (decoded > 400000)
        allowed = 0.99 - 0.89 * ((double)(decoded - 400000) / 3600000.0);
    return (double)from_aliases / (double)decoded > allowed;
}

/* yaml.v2 counts an alias as a value read, and what it expands to as values from aliases. */
static void count_alias(struct yamlread *yr)
{
    yr->decoded++;
    yr->from_aliases += yr->from_alias_sources > 0;
}

static const yaml_char_t *event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT:
        return ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT:
        return ev->data.mapping_start.anchor;
    default:
        return NULL;
    }
}

static bool is_start(const yaml_event_t *ev)
{
    return ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT;
}

static bool is_end(const yaml_event_t *ev)
{
    return ev->type == YAML_SEQUENCE_END_EVENT || ev->type == YAML_MAPPING_END_EVENT;
}

static size_t anchor_hash(const char *name)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211u;
    return h;
}

/* The slot of `name` in the anchor table, or the free slot where it would go. */
static size_t anchor_slot(const struct yamlread *yr, const char *name)
{
    size_t mask = yr->capanchors - 1, i = anchor_hash(name) & mask;
    while (yr->anchors[i] != SIZE_MAX && strcmp(yr->recs[yr->anchors[i]].anchor, name) != 0)
        i = (i + 1) & mask;
    return i;
}

/* The latest definition of an anchor before this point, as yaml.v2 resolves it. */
static size_t find_anchor(const struct yamlread *yr, const char *name)
{
    return yr->capanchors ? yr->anchors[anchor_slot(yr, name)] : SIZE_MAX;
}

static void define_anchor(struct yamlread *yr, size_t rec)
{
    if (2 * (yr->nanchors + 1) > yr->capanchors) {
        size_t *old = yr->anchors, oldcap = yr->capanchors;
        yr->capanchors = oldcap ? 2 * oldcap : 16;
        yr->anchors = xmalloc(yr->capanchors * sizeof(*yr->anchors));
        memset(yr->anchors, 0xff, yr->capanchors * sizeof(*yr->anchors));
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i] != SIZE_MAX)
                yr->anchors[anchor_slot(yr, yr->recs[old[i]].anchor)] = old[i];
        }
        free(old);
    }
    size_t slot = anchor_slot(yr, yr->recs[rec].anchor);
    yr->nanchors += yr->anchors[slot] == SIZE_MAX;
    yr->anchors[slot] = rec;
}

static void open_recording(struct yamlread *yr, const yaml_char_t *anchor)
{
    yr->recs = xgrow(yr->recs, &yr->caprecs, yr->nrecs + 1, sizeof(*yr->recs));
    yr->recs[yr->nrecs] = (struct yamlread_recording){
        .start = yr->nstore,
        .anchor = anchor ? xstrdup((const char *)anchor) : NULL,
        .open = true,
        .level = yr->level,
    };
    yr->open_recs = xgrow(yr->open_recs, &yr->capopen, yr->nopen + 1, sizeof(*yr->open_recs));
    yr->open_recs[yr->nopen++] = yr->nrecs++;
    if (anchor)
        define_anchor(yr, yr->nrecs - 1);
}

/* Closes the recordings whose node the last parser event completed, innermost first. */
static void close_recordings(struct yamlread *yr)
{
    while (yr->nopen > 0) {
        struct yamlread_recording *rec = &yr->recs[yr->open_recs[yr->nopen - 1]];
        if (rec->level < yr->level)
            break;
        rec->open = false;
        rec->end = yr->nstore;
        yr->nopen--;
    }
}

/* The next event as stored or parsed, aliases not expanded, as the current event. For an alias,
 * *target is the recording it names; *at is where the event is stored, SIZE_MAX if it is not.
 * With `capture`, a collection that starts here is stored whole even without an anchor. */
static int raw_next(struct yamlread *yr, size_t *target, size_t *at, bool capture)
{
    release_event(yr);
    *target = *at = SIZE_MAX;
    while (yr->nsources > 0) {
        struct yamlread_source *src = &yr->sources[yr->nsources - 1];
        if (src->pos < src->end) {
            *at = src->pos++;
            yr->event = yr->store[*at].event;
            *target = yr->store[*at].target;
            yr->origin = src->origin;
            yr->have_event = true;
            return 0;
        }
        yr->from_alias_sources -= src->from_alias;
        yr->nsources--;
    }
    if (!yaml_parser_parse(&yr->parser, &yr->owned))
        return syntax_error(yr);
    yr->have_owned = true;
    yr->origin = 0;
    const yaml_event_t *ev = &yr->owned;
    if (ev->type == YAML_ALIAS_EVENT) {
        *target = find_anchor(yr, (const char *)ev->data.alias.anchor);
        if (*target == SIZE_MAX)
            return yamlread_fail(yr, ev->start_mark, "unknown anchor '%s' referenced",
                                 (const char *)ev->data.alias.anchor);
    }
    const yaml_char_t *anchor = event_anchor(ev);
    if (anchor || (capture && is_start(ev)))
        open_recording(yr, anchor);
    if (is_start(ev))
        yr->level++;
    else if (is_end(ev))
        yr->level--;
    yr->event = *ev;
    yr->have_event = true;
    if (yr->nopen > 0) {
        yr->store = xgrow(yr->store, &yr->capstore, yr->nstore + 1, sizeof(*yr->store));
        *at = yr->nstore;
        yr->store[yr->nstore++] = (struct yamlread_stored){*ev, *target};
        yr->have_owned = false; /* the store owns it now */
    }
    close_recordings(yr);
    return 0;
}

/* Reads raw events up to the end of the node whose start is the current event; *last is where
 * its last event is stored. */
static int raw_finish_node(struct yamlread *yr, size_t *last)
{
    size_t target;
    unsigned nesting = 1;
    while (nesting > 0) {
        if (raw_next(yr, &target, last, false))
            return -1;
        if (is_start(&yr->event) && yr->depth + ++nesting > yr->max_depth)
            return yamlread_fail(yr, yr->event.start_mark, "nesting deeper than %u levels",
                                 yr->max_depth);
        if (is_end(&yr->event))
            nesting--;
    }
    return 0;
}

/* Replays stored events [start, end) before the parser's next ones. A recording being read or
 * replayed already would repeat without end, an error in yaml.v2 too. */
static int push_replay(struct yamlread *yr, size_t rec, size_t start, size_t end, unsigned origin,
                       bool from_alias, yaml_mark_t mark)
{
    if (rec != SIZE_MAX) {
        /* A started replay on the stack encloses the current event; one not started yet is a
         * later mapping of the same merge list. */
        bool again = yr->recs[rec].open;
        for (size_t i = 0; i < yr->nsources && !again; i++)
            again = yr->sources[i].recording == rec && yr->sources[i].pos > yr->sources[i].first;
        if (again)
            return yamlread_fail(yr, mark, "anchor '%s' value contains itself",
                                 yr->recs[rec].anchor);
    }
    yr->sources = xgrow(yr->sources, &yr->capsources, yr->nsources + 1, sizeof(*yr->sources));
    yr->sources[yr->nsources++] =
        (struct yamlread_source){start, start, end, rec, origin, from_alias};
    yr->from_alias_sources += from_alias;
    return 0;
}

int yamlread_next(struct yamlread *yr)
{
    size_t target, at;
    for (;;) {
        if (raw_next(yr, &target, &at, false))
            return -1;
        if (yr->event.type != YAML_ALIAS_EVENT)
            break;
        count_alias(yr);
        const struct yamlread_recording *rec = &yr->recs[target];
        if (push_replay(yr, target, rec->start, rec->end, yr->origin, true, yr->event.start_mark))
            return -1;
    }
    const yaml_event_t *ev = &yr->event;
    if (ev->type == YAML_SCALAR_EVENT || is_start(ev)) {
        yr->decoded++;
        yr->from_aliases += yr->from_alias_sources > 0;
        if (too_much_aliasing(yr->decoded, yr->from_aliases))
            return yamlread_fail(yr, ev->start_mark,
                                 "the document expands aliases too much: %zu of the %zu values "
                                 "read so far come from aliases (yaml.v2 refuses it too)",
                                 yr->from_aliases, yr->decoded);
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return check_scalar_tag(yr);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++yr->depth > yr->max_depth)
            return yamlread_fail(yr, ev->start_mark, "nesting deeper than %u levels",
                                 yr->max_depth);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        yr->depth--;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- merge keys -------------------------------------------------------------------------- */

/* yaml.v2's test: "<<" plain and untagged, or tagged !!merge. */
static bool is_merge_key(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || strcmp((const char *)ev->data.scalar.value, "<<") != 0)
        return false;
    if (ev->data.scalar.tag)
        return tag_is(ev->data.scalar.tag, "merge");
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* One mapping to merge, as stored events: the current raw event, an alias or a mapping. */
struct merge_operand {
    size_t rec; /* for an alias; SIZE_MAX for a mapping written in place */
    size_t start, end;
    yaml_mark_t mark;
};

static int merge_operand(struct yamlread *yr, size_t target, size_t at, struct merge_operand *op)
{
    const yaml_event_t *ev = &yr->event;
    op->mark = ev->start_mark;
    op->rec = SIZE_MAX;
    if (ev->type == YAML_ALIAS_EVENT) {
        const struct yamlread_recording *rec = &yr->recs[target];
        count_alias(yr);
        if (!rec->open && yr->store[rec->start].event.type == YAML_MAPPING_START_EVENT) {
            *op = (struct merge_operand){target, rec->start, rec->end, ev->start_mark};
            return 0;
        }
        if (rec->open)
            return yamlread_fail(yr, ev->start_mark, "anchor '%s' value contains itself",
                                 rec->anchor);
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        size_t last;
        if (raw_finish_node(yr, &last))
            return -1;
        op->start = at;
        op->end = last + 1;
        return 0;
    }
    return yamlread_fail(yr, op->mark,
                         "a merge key (<<) needs a mapping or a sequence of mappings");
}

/* Splices the value of a merge key in: its mappings' events replay, without their start and
 * end, as the next keys of the mapping being read. In a list the first mapping's keys come last,
 * so that they win; every merged mapping's keys are a mapping of their own for strict_keys. */
static int splice_merge(struct yamlread *yr)
{
    size_t target, at;
    struct merge_operand *ops = NULL;
    size_t nops = 0, cap = 0;
    int rc = -1;
    if (raw_next(yr, &target, &at, true))
        return -1;
    if (yr->event.type == YAML_SEQUENCE_START_EVENT) {
        for (;;) {
            if (raw_next(yr, &target, &at, false))
                goto out_free;
            if (yr->event.type == YAML_SEQUENCE_END_EVENT)
                break;
            ops = xgrow(ops, &cap, nops + 1, sizeof(*ops));
            if (merge_operand(yr, target, at, &ops[nops++]))
                goto out_free;
        }
    } else {
        ops = xgrow(ops, &cap, 1, sizeof(*ops));
        if (merge_operand(yr, target, at, &ops[nops++]))
            goto out_free;
    }
    for (size_t i = 0; i < nops; i++) {
        if (push_replay(yr, ops[i].rec, ops[i].start + 1, ops[i].end - 1, ++yr->next_origin,
                        ops[i].rec != SIZE_MAX, ops[i].mark))
            goto out_free;
    }
    rc = 0;
out_free:
    free(ops);
    return rc;
}

/* ---- keys and values --------------------------------------------------------------------- */

int yamlread_no_nul(struct yamlread *yr)
{
    const yaml_event_t *ev = &yr->event;
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
        return yamlread_fail(yr, ev->start_mark, "string contains a NUL byte");
    return 0;
}

int yamlread_next_key(struct yamlread *yr, struct yamlread_keys *seen)
{
    const yaml_event_t *ev = &yr->event;
    for (;;) {
        if (yamlread_next(yr))
            return -1;
        if (!is_merge_key(ev))
            break;
        if (splice_merge(yr))
            return -1;
    }
    if (ev->type == YAML_MAPPING_END_EVENT)
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return yamlread_fail(yr, ev->start_mark, "mapping keys must be strings, not %s",
                             yamlread_kind(ev));
    if (yamlread_no_nul(yr))
        return -1;
    /* yaml.v2 reads a null key into a string as "". */
    const char *key = yamlread_is_null(ev) ? "" : (const char *)ev->data.scalar.value;
    for (size_t i = 0; yr->strict_keys && i < seen->n; i++) {
        if (seen->origins[i] == yr->origin && strcmp(seen->keys[i], key) == 0)
            return yamlread_fail(yr, ev->start_mark, "duplicate key \"%s\"", key);
    }
    seen->keys = xgrow(seen->keys, &seen->cap, seen->n + 1, sizeof(*seen->keys));
    seen->origins = xgrow(seen->origins, &seen->caporigins, seen->n + 1, sizeof(*seen->origins));
    seen->origins[seen->n] = yr->origin;
    seen->keys[seen->n++] = xstrdup(key);
    return 1;
}

const char *yamlread_last_key(const struct yamlread_keys *seen)
{
    return seen->keys[seen->n - 1];
}

void yamlread_keys_free(struct yamlread_keys *seen)
{
    for (size_t i = 0; i < seen->n; i++)
        free(seen->keys[i]);
    free(seen->keys);
    free(seen->origins);
    seen->keys = NULL;
    seen->origins = NULL;
    seen->n = seen->cap = seen->caporigins = 0;
}

int yamlread_string(struct yamlread *yr, const char *key, bool keep_empty, char **out,
                    yaml_mark_t *mark)
{
    if (yamlread_next(yr))
        return -1;
    const yaml_event_t *ev = &yr->event;
    *mark = ev->start_mark;
    if (yamlread_is_null(ev))
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return yamlread_fail(yr, ev->start_mark, "\"%s\" must be a string, not %s", key,
                             yamlread_kind(ev));
    if (yamlread_no_nul(yr))
        return -1;
    if (ev->data.scalar.length > 0 || keep_empty)
        *out = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    return 0;
}

int yamlread_bool(struct yamlread *yr, const char *key, bool *out)
{
    if (yamlread_next(yr))
        return -1;
    const yaml_event_t *ev = &yr->event;
    const char *v = (const char *)ev->data.scalar.value;
    /* A plain scalar, or one tagged !!bool (checked by yamlread_next). */
    if (ev->type == YAML_SCALAR_EVENT &&
        (ev->data.scalar.tag ? tag_is(ev->data.scalar.tag, "bool")
                             : ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) &&
        is_bool_text(v, out))
        return 0;
    if (ev->type == YAML_SCALAR_EVENT && !yamlread_is_null(ev))
        return yamlread_fail(yr, ev->start_mark, "\"%s\" must be true or false, not \"%s\"", key,
                             v);
    return yamlread_fail(yr, ev->start_mark, "\"%s\" must be true or false, not %s", key,
                         yamlread_kind(ev));
}

static int collection_start(struct yamlread *yr, yaml_event_type_t type, const char *key,
                            const char *what)
{
    if (yamlread_next(yr))
        return -1;
    if (yamlread_is_null(&yr->event))
        return 0;
    if (yr->event.type != type)
        return yamlread_fail(yr, yr->event.start_mark, "\"%s\" must be %s, not %s", key, what,
                             yamlread_kind(&yr->event));
    return 1;
}

int yamlread_mapping_start(struct yamlread *yr, const char *key)
{
    return collection_start(yr, YAML_MAPPING_START_EVENT, key, "a mapping");
}

int yamlread_sequence_start(struct yamlread *yr, const char *key, const char *of)
{
    char what[128];
    snprintf(what, sizeof(what), "a sequence%s%s", *of ? " " : "", of);
    return collection_start(yr, YAML_SEQUENCE_START_EVENT, key, what);
}

int yamlread_next_string_item(struct yamlread *yr, const char *key)
{
    if (yamlread_next(yr))
        return -1;
    const yaml_event_t *ev = &yr->event;
    if (ev->type == YAML_SEQUENCE_END_EVENT)
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return yamlread_fail(yr, ev->start_mark, "items of \"%s\" must be strings, not %s", key,
                             yamlread_kind(ev));
    return yamlread_no_nul(yr) ? -1 : 1;
}

int yamlread_skip(struct yamlread *yr)
{
    size_t target, at, last;
    if (raw_next(yr, &target, &at, false))
        return -1;
    return is_start(&yr->event) ? raw_finish_node(yr, &last) : 0;
}
