#include "util/yamlread.h"

#include <stdarg.h>
#include <stdio.h>
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

void yamlread_end(struct yamlread *yr)
{
    if (yr->have_event)
        yaml_event_delete(&yr->event);
    yr->have_event = false;
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

bool yamlread_is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    if (ev->data.scalar.tag && !tag_is(ev->data.scalar.tag, "null"))
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
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

static bool scalar_tag_ok(const yaml_char_t *tag)
{
    static const char *const core[] = {"str", "bool", "int", "float", "null"};
    if (!tag || strcmp((const char *)tag, "!") == 0)
        return true;
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        if (tag_is(tag, core[i]))
            return true;
    }
    return false;
}

int yamlread_next(struct yamlread *yr)
{
    if (yr->have_event) {
        yaml_event_delete(&yr->event);
        yr->have_event = false;
    }
    if (!yaml_parser_parse(&yr->parser, &yr->event))
        return syntax_error(yr);
    yr->have_event = true;
    const yaml_event_t *ev = &yr->event;
    const yaml_char_t *tag = NULL;
    bool ok = true;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        /* Supporting them would mean replaying events; configs do not need them. */
        return yamlread_fail(yr, ev->start_mark, "YAML aliases are not supported (*%s)",
                             (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        tag = ev->data.scalar.tag;
        ok = scalar_tag_ok(tag);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++yr->depth > yr->max_depth)
            return yamlread_fail(yr, ev->start_mark, "nesting deeper than %u levels",
                                 yr->max_depth);
        if (ev->type == YAML_SEQUENCE_START_EVENT)
            tag = ev->data.sequence_start.tag;
        else
            tag = ev->data.mapping_start.tag;
        ok = !tag || strcmp((const char *)tag, "!") == 0 ||
             tag_is(tag, ev->type == YAML_SEQUENCE_START_EVENT ? "seq" : "map");
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        yr->depth--;
        break;
    default:
        break;
    }
    if (!ok)
        return yamlread_fail(yr, ev->start_mark, "unsupported YAML tag \"%s\" on %s",
                             (const char *)tag, yamlread_kind(ev));
    return 0;
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
    if (yamlread_next(yr))
        return -1;
    const yaml_event_t *ev = &yr->event;
    if (ev->type == YAML_MAPPING_END_EVENT)
        return 0;
    if (ev->type != YAML_SCALAR_EVENT || yamlread_is_null(ev))
        return yamlread_fail(yr, ev->start_mark, "mapping keys must be strings, not %s",
                             yamlread_kind(ev));
    if (yamlread_no_nul(yr))
        return -1;
    const char *key = (const char *)ev->data.scalar.value;
    for (size_t i = 0; i < seen->n; i++) {
        if (strcmp(seen->keys[i], key) == 0)
            return yamlread_fail(yr, ev->start_mark, "duplicate key \"%s\"", key);
    }
    seen->keys = xgrow(seen->keys, &seen->cap, seen->n + 1, sizeof(*seen->keys));
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
    seen->keys = NULL;
    seen->n = seen->cap = 0;
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
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    if (yamlread_next(yr))
        return -1;
    const yaml_event_t *ev = &yr->event;
    if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)ev->data.scalar.value;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
                *out = strcmp(v, yes[i]) == 0;
                return 0;
            }
        }
    }
    if (ev->type == YAML_SCALAR_EVENT && !yamlread_is_null(ev))
        return yamlread_fail(yr, ev->start_mark, "\"%s\" must be true or false, not \"%s\"", key,
                             (const char *)ev->data.scalar.value);
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
    if (yamlread_next(yr))
        return -1;
    if (yr->event.type != YAML_SEQUENCE_START_EVENT && yr->event.type != YAML_MAPPING_START_EVENT)
        return 0;
    unsigned depth = yr->depth;
    while (yr->depth >= depth) {
        if (yamlread_next(yr))
            return -1;
    }
    return 0;
}
