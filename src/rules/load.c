/* Reads process-exporter's `process_names` config: a small recursive-descent reader over a fixed
 * schema, on util/yamlread, that hands each item to the rule compiler. Errors stop loading and say
 * where they are. */
#include "rules/rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/item.h"
#include "util/readfile.h"
#include "util/xalloc.h"
#include "util/yamlread.h"

/* A real config nests four levels deep (top mapping, process_names, item, selector list); the
 * bound also covers the values of unknown keys, which are skipped. */
#define RULES_MAX_DEPTH 64
#define RULES_MAX_FILE_SIZE (16u << 20)

struct loader {
    struct yamlread yr;
    rules_warn_fn warn;
    void *warn_arg;
    /* The items of `process_names`, compiled once the document is read: yaml.v2 decodes the
     * whole document first, and a later `process_names` replaces an earlier one. */
    struct rules_item *items;
    size_t nitems, capitems;
};

static void strings_free(struct rules_strings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
    free(l->v);
    *l = (struct rules_strings){0};
}

static void item_free(struct rules_item *it)
{
    free(it->name.s);
    free(it->builtin.s);
    strings_free(&it->comm);
    strings_free(&it->exe);
    strings_free(&it->cmdline);
}

static struct rules_pos pos_of(yaml_mark_t mark)
{
    return (struct rules_pos){mark.line + 1, mark.column + 1};
}

__attribute__((format(printf, 3, 4))) static void warn_at(struct loader *ld, yaml_mark_t mark,
                                                          const char *fmt, ...)
{
    if (ld->warn == NULL)
        return;
    char reason[1024], message[1280];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(message, sizeof(message), "%s:%zu:%zu: %s", ld->yr.name, mark.line + 1,
             mark.column + 1, reason);
    ld->warn(ld->warn_arg, message);
}

/* The current scalar as a string of the item. yaml.v2 reads a null item of a []string as "". */
static struct rules_string current_string(const struct loader *ld)
{
    const yaml_event_t *ev = &ld->yr.event;
    size_t len = yamlread_is_null(ev) ? 0 : ev->data.scalar.length;
    return (struct rules_string){.s = xstrndup((const char *)ev->data.scalar.value, len),
                                 .len = len,
                                 .pos = pos_of(ev->start_mark)};
}

/* process-exporter ignores unknown keys silently; a warning helps find typos such as `cmdlines`. */
static int skip_unknown(struct loader *ld, const char *key)
{
    warn_at(ld, ld->yr.event.start_mark, "unknown key \"%s\" ignored", key);
    return yamlread_skip(&ld->yr);
}

/* A selector: a sequence of strings, replacing what an earlier same key gave (yaml.v2: the last
 * one wins). Null means absent; an empty list is present, as process-exporter tells them apart. */
static int load_string_list(struct loader *ld, const char *key, struct rules_strings *out)
{
    struct yamlread *yr = &ld->yr;
    strings_free(out);
    int rc = yamlread_sequence_start(yr, key, "of strings");
    if (rc <= 0)
        return rc;
    out->set = true;
    while ((rc = yamlread_next_string_item(yr, key)) == 1) {
        out->v = xgrow(out->v, &out->cap, out->n + 1, sizeof(*out->v));
        out->v[out->n++] = current_string(ld);
    }
    return rc;
}

/* Whether `value` stands in the file as it is from `mark` on (after an opening quote), so that
 * a place in it (a template error) is a place in the file. */
static bool is_verbatim(const struct loader *ld, yaml_mark_t mark, const char *value,
                        struct rules_pos *value_pos)
{
    const char *p = ld->yr.buf, *end = ld->yr.buf + ld->yr.len;
    for (size_t line = 0; line < mark.line && p < end; p++)
        line += *p == '\n';
    for (size_t col = 0; col < mark.column && p < end; col++) /* libyaml counts characters */
        for (p++; p < end && (*p & 0xc0) == 0x80; p++)
            ;
    size_t quote = p < end && (*p == '"' || *p == '\'') ? 1 : 0;
    size_t len = strlen(value);
    *value_pos = (struct rules_pos){mark.line + 1, mark.column + 1 + quote};
    return !strchr(value, '\n') && (size_t)(end - p) >= quote + len &&
           memcmp(p + quote, value, len) == 0;
}

/* A string-valued key of an item (`name`, `builtin`), replacing an earlier same key; null
 * unsets it (yaml.v2 decodes null as ""), "" sets it empty. */
static int load_scalar(struct loader *ld, const char *key, bool *has, struct rules_string *out)
{
    char *value = NULL;
    yaml_mark_t mark;
    if (yamlread_string(&ld->yr, key, true, &value, &mark))
        return -1;
    free(out->s);
    *out = (struct rules_string){0};
    *has = false;
    if (value) {
        *has = true;
        *out = (struct rules_string){.s = value, .len = strlen(value), .pos = pos_of(mark)};
        out->verbatim = is_verbatim(ld, mark, value, &out->value_pos);
    }
    return 0;
}

/* `always: true`: proctrack's own key (process-exporter ignores it, as any unknown key). */
static int load_always(struct loader *ld, const char *key, struct rules_item *it)
{
    if (yamlread_bool(&ld->yr, key, &it->always))
        return -1;
    it->always_pos = pos_of(ld->yr.event.start_mark);
    return 0;
}

static int load_item(struct loader *ld)
{
    struct rules_item it = {.pos = pos_of(ld->yr.event.start_mark)};
    struct yamlread_keys seen = {0};
    int rc;
    while ((rc = yamlread_next_key(&ld->yr, &seen)) == 1) {
        const char *key = yamlread_last_key(&seen);
        if (strcmp(key, "name") == 0)
            rc = load_scalar(ld, key, &it.has_name, &it.name);
        else if (strcmp(key, "builtin") == 0)
            rc = load_scalar(ld, key, &it.has_builtin, &it.builtin);
        else if (strcmp(key, "comm") == 0)
            rc = load_string_list(ld, key, &it.comm);
        else if (strcmp(key, "exe") == 0)
            rc = load_string_list(ld, key, &it.exe);
        else if (strcmp(key, "cmdline") == 0)
            rc = load_string_list(ld, key, &it.cmdline);
        else if (strcmp(key, "always") == 0)
            rc = load_always(ld, key, &it);
        else
            rc = skip_unknown(ld, key);
        if (rc)
            break;
    }
    yamlread_keys_free(&seen);
    if (rc) {
        item_free(&it);
        return rc;
    }
    ld->items = xgrow(ld->items, &ld->capitems, ld->nitems + 1, sizeof(*ld->items));
    ld->items[ld->nitems++] = it;
    return 0;
}

static void items_free(struct loader *ld)
{
    for (size_t i = 0; i < ld->nitems; i++)
        item_free(&ld->items[i]);
    ld->nitems = 0;
}

static int load_items(struct loader *ld)
{
    struct yamlread *yr = &ld->yr;
    items_free(ld);
    int rc = yamlread_sequence_start(yr, "process_names", "");
    if (rc <= 0)
        return rc;
    for (;;) {
        if (yamlread_next(yr))
            return -1;
        const yaml_event_t *ev = &yr->event;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (yamlread_is_null(ev))
            return yamlread_fail(yr, ev->start_mark, "no matchers provided: the item is empty");
        if (ev->type != YAML_MAPPING_START_EVENT)
            return yamlread_fail(yr, ev->start_mark,
                                 "items of \"process_names\" must be mappings, not %s",
                                 yamlread_kind(ev));
        if (load_item(ld))
            return -1;
    }
}

static int load_top(struct loader *ld)
{
    struct yamlread_keys seen = {0};
    int rc;
    while ((rc = yamlread_next_key(&ld->yr, &seen)) == 1) {
        const char *key = yamlread_last_key(&seen);
        if (strcmp(key, "process_names") == 0)
            rc = load_items(ld);
        else
            rc = skip_unknown(ld, key);
        if (rc)
            break;
    }
    yamlread_keys_free(&seen);
    return rc;
}

static int load_document(struct loader *ld)
{
    struct yamlread *yr = &ld->yr;
    if (yamlread_next(yr))
        return -1;
    if (yr->event.type == YAML_MAPPING_START_EVENT) {
        if (load_top(ld))
            return -1;
    } else if (!yamlread_is_null(&yr->event)) {
        return yamlread_fail(yr, yr->event.start_mark,
                             "the top level must be a mapping with a \"process_names\" key, not %s",
                             yamlread_kind(&yr->event));
    }
    return yamlread_next(yr); /* the document end */
}

static int load_stream(struct loader *ld)
{
    struct yamlread *yr = &ld->yr;
    if (yamlread_next(yr) || yamlread_next(yr)) /* the stream start, then a document or the end */
        return -1;
    if (yr->event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (load_document(ld) || yamlread_next(yr))
        return -1;
    /* yaml.v2, as process-exporter calls it, reads the first document only. */
    if (yr->event.type == YAML_DOCUMENT_START_EVENT)
        warn_at(ld, yr->event.start_mark,
                "only the first YAML document is read; the rest is ignored");
    return 0;
}

struct rules *rules_load_buffer(const char *name, const char *buf, size_t len, char *err,
                                size_t errlen, rules_warn_fn warn, void *warn_arg)
{
    struct loader ld = {.warn = warn, .warn_arg = warn_arg};
    if (yamlread_init(&ld.yr, name, buf, len, RULES_MAX_DEPTH, err, errlen))
        return NULL;
    struct rules *rules = rules_new();
    rules_set_warn(rules, warn, warn_arg);
    int rc = load_stream(&ld);
    yamlread_end(&ld.yr);
    for (size_t i = 0; rc == 0 && i < ld.nitems; i++)
        rc = rules_add_item(rules, name, i, &ld.items[i], err, errlen);
    items_free(&ld);
    free(ld.items);
    if (rc) {
        rules_free(rules);
        return NULL;
    }
    return rules;
}

struct rules *rules_load_file(const char *path, char *err, size_t errlen, rules_warn_fn warn,
                              void *warn_arg)
{
    struct strbuf content = STRBUF_INIT;
    struct rules *rules = NULL;
    int rc = read_file(path, RULES_MAX_FILE_SIZE, &content);
    if (rc == -EFBIG)
        snprintf(err, errlen, "%s:1:1: larger than %u MiB, not a config file", path,
                 RULES_MAX_FILE_SIZE >> 20);
    else if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    else
        rules = rules_load_buffer(path, content.buf, content.len, err, errlen, warn, warn_arg);
    strbuf_free(&content);
    return rules;
}
