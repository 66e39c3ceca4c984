/* Reads process-exporter's `process_names` config with libyaml's event API: a small
 * recursive-descent reader over a fixed schema, whose depth is bounded, that hands each item to
 * the rule compiler. Errors stop loading and say where they are. */
#include "rules/rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "rules/item.h"
#include "util/xalloc.h"

/* A real config nests four levels deep (top mapping, process_names, item, selector list). libyaml
 * 0.2.5 has no limit of its own; this one bounds the reader, which also skips unknown values. */
#define RULES_MAX_DEPTH 64
#define RULES_MAX_FILE_SIZE (16u << 20)

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_SEQ "tag:yaml.org,2002:seq"
#define TAG_MAP "tag:yaml.org,2002:map"

struct loader {
    yaml_parser_t parser;
    yaml_event_t event; /* the current event, owned while have_event */
    bool have_event;
    unsigned depth; /* open collections */
    const char *name;
    const char *buf;
    size_t len;
    char *err;
    size_t errlen;
    rules_warn_fn warn;
    void *warn_arg;
    struct rules *rules;
};

/* Keys already seen in one mapping: libyaml does not detect duplicates. */
struct keyset {
    char **keys;
    size_t n;
    size_t cap;
};

static void keyset_free(struct keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
}

static void strings_free(struct rules_strings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
    free(l->v);
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

static void format_at(struct loader *ld, char *out, size_t outlen, size_t line, size_t column,
                      const char *fmt, va_list ap)
{
    char reason[1024];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    snprintf(out, outlen, "%s:%zu:%zu: %s", ld->name, line, column, reason);
}

/* Writes "NAME:LINE:COL: reason" for a zero-based libyaml mark; returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(struct loader *ld, yaml_mark_t mark,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ld->errlen > 0)
        format_at(ld, ld->err, ld->errlen, mark.line + 1, mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 3, 4))) static void warn_at(struct loader *ld, yaml_mark_t mark,
                                                          const char *fmt, ...)
{
    if (ld->warn == NULL)
        return;
    char message[1280];
    va_list ap;
    va_start(ap, fmt);
    format_at(ld, message, sizeof(message), mark.line + 1, mark.column + 1, fmt, ap);
    va_end(ap);
    ld->warn(ld->warn_arg, message);
}

/* libyaml's reader reports a byte offset only; count lines and characters up to it the way the
 * scanner's marks do. */
static yaml_mark_t mark_from_offset(const struct loader *ld, size_t offset)
{
    yaml_mark_t mark = {0, 0, 0};
    if (offset > ld->len)
        offset = ld->len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char c = (unsigned char)ld->buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= ld->len || ld->buf[i + 1] != '\n'))) {
            mark.line++;
            mark.column = 0;
        } else if ((c & 0xc0) != 0x80) {
            mark.column++;
        }
    }
    mark.index = offset;
    return mark;
}

static int syntax_error(struct loader *ld)
{
    const yaml_parser_t *p = &ld->parser;
    const char *problem = p->problem ? p->problem : "unknown YAML error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        snprintf(ld->err, ld->errlen, "%s: out of memory while reading YAML", ld->name);
        return -1;
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return fail(ld, mark_from_offset(ld, p->problem_offset), "%s (byte 0x%02X)", problem,
                        (unsigned)p->problem_value & 0xff);
        return fail(ld, mark_from_offset(ld, p->problem_offset), "%s", problem);
    default:
        if (p->context)
            return fail(ld, p->problem_mark, "%s (%s at line %zu, column %zu)", problem, p->context,
                        p->context_mark.line + 1, p->context_mark.column + 1);
        return fail(ld, p->problem_mark, "%s", problem);
    }
}

/* libyaml does not type scalars: a plain ~, null or nothing is YAML's null, as yaml.v2 reads it. */
static bool is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        ev->data.scalar.tag != NULL)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *event_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return is_null(ev) ? "null" : "a string";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    default:
        return "something else";
    }
}

static int check_tag(struct loader *ld, const yaml_char_t *tag, const char *expected)
{
    if (tag == NULL || strcmp((const char *)tag, "!") == 0 ||
        strcmp((const char *)tag, expected) == 0)
        return 0;
    return fail(ld, ld->event.start_mark, "unsupported YAML tag \"%s\" on %s", (const char *)tag,
                event_kind(&ld->event));
}

/* Advances to the next event, tracking nesting and refusing what the reader does not handle. */
static int next_event(struct loader *ld)
{
    if (ld->have_event) {
        yaml_event_delete(&ld->event);
        ld->have_event = false;
    }
    if (!yaml_parser_parse(&ld->parser, &ld->event))
        return syntax_error(ld);
    ld->have_event = true;
    yaml_event_t *ev = &ld->event;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        /* Supporting them would mean replaying events; configs do not need them. */
        return fail(ld, ev->start_mark, "YAML aliases are not supported (*%s)",
                    (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        return check_tag(ld, ev->data.scalar.tag, TAG_STR);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (++ld->depth > RULES_MAX_DEPTH)
            return fail(ld, ev->start_mark, "nesting deeper than %d levels", RULES_MAX_DEPTH);
        if (ev->type == YAML_SEQUENCE_START_EVENT)
            return check_tag(ld, ev->data.sequence_start.tag, TAG_SEQ);
        return check_tag(ld, ev->data.mapping_start.tag, TAG_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        ld->depth--;
        return 0;
    default:
        return 0;
    }
}

static int check_no_nul(struct loader *ld)
{
    const yaml_event_t *ev = &ld->event;
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
        return fail(ld, ev->start_mark, "string contains a NUL byte");
    return 0;
}

/* The current scalar as a string of the item. yaml.v2 reads a null item of a []string as "". */
static struct rules_string current_string(const struct loader *ld)
{
    const yaml_event_t *ev = &ld->event;
    size_t len = is_null(ev) ? 0 : ev->data.scalar.length;
    return (struct rules_string){xstrndup((const char *)ev->data.scalar.value, len), len,
                                 pos_of(ev->start_mark)};
}

/* Reads the next key of a mapping whose start was consumed. Returns 1 with the key as the
 * current (scalar) event, 0 at the end of the mapping, -1 on error. */
static int next_key(struct loader *ld, struct keyset *seen)
{
    if (next_event(ld))
        return -1;
    const yaml_event_t *ev = &ld->event;
    if (ev->type == YAML_MAPPING_END_EVENT)
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return fail(ld, ev->start_mark, "mapping keys must be strings, not %s", event_kind(ev));
    if (check_no_nul(ld))
        return -1;
    const char *key = (const char *)ev->data.scalar.value;
    for (size_t i = 0; i < seen->n; i++) {
        if (strcmp(seen->keys[i], key) == 0)
            return fail(ld, ev->start_mark, "duplicate key \"%s\"", key);
    }
    seen->keys = xgrow(seen->keys, &seen->cap, seen->n + 1, sizeof(*seen->keys));
    seen->keys[seen->n++] = xstrdup(key);
    return 1;
}

static const char *current_key(const struct loader *ld)
{
    return (const char *)ld->event.data.scalar.value;
}

/* process-exporter ignores unknown keys silently; a warning helps find typos such as `cmdlines`. */
static int skip_unknown(struct loader *ld)
{
    warn_at(ld, ld->event.start_mark, "unknown key \"%s\" ignored", current_key(ld));
    if (next_event(ld))
        return -1;
    if (ld->event.type != YAML_SEQUENCE_START_EVENT && ld->event.type != YAML_MAPPING_START_EVENT)
        return 0;
    unsigned depth = ld->depth;
    while (ld->depth >= depth) {
        if (next_event(ld))
            return -1;
    }
    return 0;
}

/* A selector: a sequence of strings. Null or empty means absent, as in process-exporter. */
static int load_string_list(struct loader *ld, const char *key, struct rules_strings *out)
{
    if (next_event(ld))
        return -1;
    if (is_null(&ld->event))
        return 0;
    if (ld->event.type != YAML_SEQUENCE_START_EVENT)
        return fail(ld, ld->event.start_mark, "\"%s\" must be a sequence of strings, not %s", key,
                    event_kind(&ld->event));
    for (;;) {
        if (next_event(ld))
            return -1;
        const yaml_event_t *ev = &ld->event;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (ev->type != YAML_SCALAR_EVENT)
            return fail(ld, ev->start_mark, "items of \"%s\" must be strings, not %s", key,
                        event_kind(ev));
        if (check_no_nul(ld))
            return -1;
        out->v = xgrow(out->v, &out->cap, out->n + 1, sizeof(*out->v));
        out->v[out->n++] = current_string(ld);
    }
}

/* A string-valued key of an item (`name`, `builtin`); null leaves it unset. */
static int load_scalar(struct loader *ld, const char *key, bool *has, struct rules_string *out)
{
    if (next_event(ld))
        return -1;
    const yaml_event_t *ev = &ld->event;
    if (is_null(ev))
        return 0;
    if (ev->type != YAML_SCALAR_EVENT)
        return fail(ld, ev->start_mark, "\"%s\" must be a string, not %s", key, event_kind(ev));
    if (check_no_nul(ld))
        return -1;
    *has = true;
    *out = current_string(ld);
    return 0;
}

static int load_item(struct loader *ld, size_t index)
{
    struct rules_item it = {.pos = pos_of(ld->event.start_mark)};
    struct keyset seen = {0};
    int rc;
    while ((rc = next_key(ld, &seen)) == 1) {
        const char *key = current_key(ld);
        if (strcmp(key, "name") == 0)
            rc = load_scalar(ld, "name", &it.has_name, &it.name);
        else if (strcmp(key, "builtin") == 0)
            rc = load_scalar(ld, "builtin", &it.has_builtin, &it.builtin);
        else if (strcmp(key, "comm") == 0)
            rc = load_string_list(ld, "comm", &it.comm);
        else if (strcmp(key, "exe") == 0)
            rc = load_string_list(ld, "exe", &it.exe);
        else if (strcmp(key, "cmdline") == 0)
            rc = load_string_list(ld, "cmdline", &it.cmdline);
        else
            rc = skip_unknown(ld);
        if (rc)
            break;
    }
    if (rc == 0)
        rc = rules_add_item(ld->rules, ld->name, index, &it, ld->err, ld->errlen);
    keyset_free(&seen);
    item_free(&it);
    return rc;
}

static int load_items(struct loader *ld)
{
    if (next_event(ld))
        return -1;
    if (is_null(&ld->event))
        return 0;
    if (ld->event.type != YAML_SEQUENCE_START_EVENT)
        return fail(ld, ld->event.start_mark, "\"process_names\" must be a sequence, not %s",
                    event_kind(&ld->event));
    for (size_t index = 0;; index++) {
        if (next_event(ld))
            return -1;
        const yaml_event_t *ev = &ld->event;
        if (ev->type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (is_null(ev))
            return fail(ld, ev->start_mark, "no matchers provided: the item is empty");
        if (ev->type != YAML_MAPPING_START_EVENT)
            return fail(ld, ev->start_mark, "items of \"process_names\" must be mappings, not %s",
                        event_kind(ev));
        if (load_item(ld, index))
            return -1;
    }
}

static int load_top(struct loader *ld)
{
    struct keyset seen = {0};
    int rc;
    while ((rc = next_key(ld, &seen)) == 1) {
        if (strcmp(current_key(ld), "process_names") == 0)
            rc = load_items(ld);
        else
            rc = skip_unknown(ld);
        if (rc)
            break;
    }
    keyset_free(&seen);
    return rc;
}

static int load_document(struct loader *ld)
{
    if (next_event(ld))
        return -1;
    if (ld->event.type == YAML_MAPPING_START_EVENT) {
        if (load_top(ld))
            return -1;
    } else if (!is_null(&ld->event)) {
        return fail(ld, ld->event.start_mark,
                    "the top level must be a mapping with a \"process_names\" key, not %s",
                    event_kind(&ld->event));
    }
    return next_event(ld); /* the document end */
}

static int load_stream(struct loader *ld)
{
    if (next_event(ld) || next_event(ld)) /* the stream start, then a document or the end */
        return -1;
    if (ld->event.type == YAML_STREAM_END_EVENT)
        return 0;
    if (load_document(ld) || next_event(ld))
        return -1;
    /* yaml.v2, as process-exporter calls it, reads the first document only. */
    if (ld->event.type == YAML_DOCUMENT_START_EVENT)
        warn_at(ld, ld->event.start_mark,
                "only the first YAML document is read; the rest is ignored");
    return 0;
}

struct rules *rules_load_buffer(const char *name, const char *buf, size_t len, char *err,
                                size_t errlen, rules_warn_fn warn, void *warn_arg)
{
    struct loader ld = {
        .name = name,
        .buf = buf ? buf : "",
        .len = buf ? len : 0,
        .err = err,
        .errlen = errlen,
        .warn = warn,
        .warn_arg = warn_arg,
    };
    if (errlen > 0)
        err[0] = '\0';
    if (!yaml_parser_initialize(&ld.parser)) {
        snprintf(err, errlen, "%s: out of memory while reading YAML", name);
        return NULL;
    }
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)ld.buf, ld.len);
    /* A config is UTF-8; without this libyaml would also guess UTF-16 from a byte-order mark. */
    yaml_parser_set_encoding(&ld.parser, YAML_UTF8_ENCODING);
    ld.rules = rules_new();

    int rc = load_stream(&ld);

    if (ld.have_event)
        yaml_event_delete(&ld.event);
    yaml_parser_delete(&ld.parser);
    if (rc) {
        rules_free(ld.rules);
        return NULL;
    }
    return ld.rules;
}

struct rules *rules_load_file(const char *path, char *err, size_t errlen, rules_warn_fn warn,
                              void *warn_arg)
{
    struct rules *rules = NULL;
    struct strbuf content = STRBUF_INIT;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > RULES_MAX_FILE_SIZE)
        goto out_too_large;
    for (;;) {
        strbuf_reserve(&content, 64 * 1024);
        ssize_t n = read(fd, content.buf + content.len, content.cap - content.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out_close_fd;
        }
        if (n == 0)
            break;
        content.len += (size_t)n;
        content.buf[content.len] = '\0';
        /* Files that do not report their size (pipes, /proc) are bounded here. */
        if (content.len > RULES_MAX_FILE_SIZE)
            goto out_too_large;
    }
    rules = rules_load_buffer(path, content.buf, content.len, err, errlen, warn, warn_arg);
    goto out_close_fd;

out_too_large:
    snprintf(err, errlen, "%s:1:1: larger than %u MiB, not a config file", path,
             RULES_MAX_FILE_SIZE >> 20);
out_close_fd:
    close(fd);
    strbuf_free(&content);
    return rules;
}
