/* A reader for fixed-schema YAML files over libyaml's event API: one current event, nesting
 * bounded (libyaml 0.2.5 has no limit of its own), aliases refused, duplicate keys found (libyaml
 * does not), and errors written as "NAME:LINE:COL: reason" (1-based), syntax errors included.
 * A loader is a small recursive descent over the schema built from these calls; every call that
 * can fail returns -1 with the message written, so loaders stop at the first error. */
#ifndef PROCTRACK_UTIL_YAMLREAD_H
#define PROCTRACK_UTIL_YAMLREAD_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

struct yamlread {
    yaml_parser_t parser;
    yaml_event_t event; /* the current event, valid after a successful yamlread_next */
    bool have_event;
    unsigned depth; /* open collections */
    unsigned max_depth;
    const char *name;
    const char *buf;
    size_t len;
    char *err;
    size_t errlen;
};

/* Keys already seen in one mapping. Zero-initialise; free with yamlread_keys_free. */
struct yamlread_keys {
    char **keys;
    size_t n;
    size_t cap;
};

/* Reads `buf` (UTF-8; it must outlive the reader), naming it `name` in messages. Returns 0, or -1
 * with a message when libyaml cannot start. */
int yamlread_init(struct yamlread *yr, const char *name, const char *buf, size_t len,
                  unsigned max_depth, char *err, size_t errlen);
void yamlread_end(struct yamlread *yr);

/* Writes "NAME:LINE:COL: reason" for a libyaml mark (zero-based); returns -1. */
int yamlread_fail(struct yamlread *yr, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Advances to the next event. Refuses aliases, nesting past max_depth, and tags other than
 * YAML's core ones (str, bool, int, float, null, seq, map, "!"). */
int yamlread_next(struct yamlread *yr);

/* libyaml does not type scalars: a plain ~, null, Null, NULL or nothing is YAML's null. */
bool yamlread_is_null(const yaml_event_t *ev);
/* "a string", "null", "a sequence" or "a mapping", for messages. */
const char *yamlread_kind(const yaml_event_t *ev);

/* Fails when the current scalar holds a NUL byte (C strings would cut it short). */
int yamlread_no_nul(struct yamlread *yr);

/* Reads the next key of a mapping whose start was consumed. Returns 1 with the key as the current
 * event, 0 at the end of the mapping, -1 on error: a key that is not a string, holds a NUL byte or
 * is already in `seen`. */
int yamlread_next_key(struct yamlread *yr, struct yamlread_keys *seen);
/* The key yamlread_next_key returned, as a copy that stays valid while its value is read. */
const char *yamlread_last_key(const struct yamlread_keys *seen);
void yamlread_keys_free(struct yamlread_keys *seen);

/* A string value for `key` (named in messages). *mark is where the value starts. Null leaves
 * *out unchanged; so does "" unless `keep_empty`; otherwise *out is a new copy. */
int yamlread_string(struct yamlread *yr, const char *key, bool keep_empty, char **out,
                    yaml_mark_t *mark);
/* A YAML 1.1 boolean (true/false, yes/no, on/off, in three capitalisations), as yaml.v2 reads. */
int yamlread_bool(struct yamlread *yr, const char *key, bool *out);
/* Reads and drops the next value, whatever it holds (nested collections included). */
int yamlread_skip(struct yamlread *yr);
/* A mapping value. Returns 1 after its start, 0 for null (absent), -1 on error. */
int yamlread_mapping_start(struct yamlread *yr, const char *key);
/* A sequence value, the same way; `of` completes the message ("\"KEY\" must be a sequence OF"),
 * "" for none. */
int yamlread_sequence_start(struct yamlread *yr, const char *key, const char *of);
/* The next item of a sequence of strings whose start was consumed: returns 1 with the item as the
 * current scalar event, 0 at the end of the sequence, -1 on error (an item that is not a string,
 * or holds a NUL byte; `key` names the sequence in messages). */
int yamlread_next_string_item(struct yamlread *yr, const char *key);

#endif /* PROCTRACK_UTIL_YAMLREAD_H */
