/* A reader for fixed-schema YAML files over libyaml's event API, reading YAML the way Go's yaml.v2
 * (v2.4, which process-exporter and exporter-toolkit decode with) does: one current event, nesting
 * bounded (libyaml 0.2.5 has no limit of its own), aliases replayed as the events of their anchor,
 * merge keys (`<<: *a`, `<<: [*a, *b]`) spliced into their mapping, yaml.v2's check against
 * documents that expand aliases too much (billion laughs), and errors written as
 * "NAME:LINE:COL: reason" (1-based), syntax errors included. Values that a loader skips are not
 * expanded, as yaml.v2 does not decode unknown keys.
 * A loader is a small recursive descent over the schema built from these calls; every call that
 * can fail returns -1 with the message written, so loaders stop at the first error. */
#ifndef PROCTRACK_UTIL_YAMLREAD_H
#define PROCTRACK_UTIL_YAMLREAD_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

/* An event kept for replay: the events of anchored nodes and of inline merge values. */
struct yamlread_stored {
    yaml_event_t event;
    size_t target; /* an alias: the recording it names */
};

/* A node's events in the store: [start, end). */
struct yamlread_recording {
    size_t start, end;
    char *anchor;   /* NULL for an inline merge value */
    bool open;      /* its node is still being read */
    unsigned level; /* parser nesting at its start */
};

/* Where events come from: a replay of stored events, above the parser. */
struct yamlread_source {
    size_t first, pos, end;
    size_t recording;
    unsigned origin; /* which mapping a key read from here belongs to (merged keys: their own) */
    bool from_alias;
};

struct yamlread {
    yaml_parser_t parser;
    /* The current event, valid after a successful yamlread_next; a shallow copy of `owned` or of
     * a stored event. */
    yaml_event_t event;
    bool have_event;
    yaml_event_t owned; /* a parser event that no recording keeps */
    bool have_owned;
    unsigned origin; /* of the current event */
    char *scalar;    /* a !!binary value, decoded */
    /* Duplicate keys: yaml.v2's Unmarshal lets the last one win (loaders overwrite); with
     * `strict_keys`, as UnmarshalStrict, a key twice in one mapping is an error. */
    bool strict_keys;
    struct yamlread_stored *store;
    size_t nstore, capstore;
    struct yamlread_recording *recs;
    size_t nrecs, caprecs;
    size_t *anchors; /* hash table: the latest recording of each anchor name, SIZE_MAX free */
    size_t nanchors, capanchors;
    size_t *open_recs; /* recordings still open, innermost last */
    size_t nopen, capopen;
    struct yamlread_source *sources; /* replays, innermost last; the parser is below them */
    size_t nsources, capsources;
    unsigned next_origin;
    unsigned level;               /* the parser's open collections */
    size_t from_alias_sources;    /* replays of aliases among the sources */
    size_t decoded, from_aliases; /* yaml.v2's counts against alias bombs */
    unsigned depth;               /* open collections */
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
    unsigned *origins;
    size_t n;
    size_t cap, caporigins;
};

/* Reads `buf` (UTF-8; it must outlive the reader), naming it `name` in messages. Returns 0, or -1
 * with a message when libyaml cannot start. */
int yamlread_init(struct yamlread *yr, const char *name, const char *buf, size_t len,
                  unsigned max_depth, char *err, size_t errlen);
void yamlread_end(struct yamlread *yr);

/* Writes "NAME:LINE:COL: reason" for a libyaml mark (zero-based); returns -1. */
int yamlread_fail(struct yamlread *yr, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Advances to the next event, an alias replaced by the events of its anchor. Refuses nesting
 * past max_depth, too much aliasing, and scalars whose !!bool, !!int, !!float, !!null or !!binary
 * tag does not fit their text (yaml.v2's "cannot decode"); a !!binary scalar reads decoded.
 * Other tags are accepted and ignored, as yaml.v2 does. */
int yamlread_next(struct yamlread *yr);

/* libyaml does not type scalars: a plain ~, null, Null, NULL or nothing is YAML's null. */
bool yamlread_is_null(const yaml_event_t *ev);
/* "a string", "null", "a sequence" or "a mapping", for messages. */
const char *yamlread_kind(const yaml_event_t *ev);

/* Fails when the current scalar holds a NUL byte (C strings would cut it short). */
int yamlread_no_nul(struct yamlread *yr);

/* Reads the next key of a mapping whose start was consumed, merge keys spliced in: the keys of
 * the merged mappings come where the `<<` stood, for `<<: [*a, *b]` those of *b first, so that
 * the loader's "a later key overwrites" gives yaml.v2's precedence. Returns 1 with the key as the
 * current event, 0 at the end of the mapping, -1 on error: a key that is a collection or holds a
 * NUL byte, a key already in `seen` when strict_keys. A null key reads as "". */
int yamlread_next_key(struct yamlread *yr, struct yamlread_keys *seen);
/* The key yamlread_next_key returned, as a copy that stays valid while its value is read. */
const char *yamlread_last_key(const struct yamlread_keys *seen);
void yamlread_keys_free(struct yamlread_keys *seen);

/* A string value for `key` (named in messages). *mark is where the value starts. Null leaves
 * *out unchanged; so does "" unless `keep_empty`; otherwise *out is a new copy. */
int yamlread_string(struct yamlread *yr, const char *key, bool keep_empty, char **out,
                    yaml_mark_t *mark);
/* A YAML 1.1 boolean as yaml.v2 reads one: y/n, yes/no, true/false, on/off, capitalised or not. */
int yamlread_bool(struct yamlread *yr, const char *key, bool *out);
/* Reads and drops the next value, whatever it holds (nested collections included), without
 * expanding its aliases. */
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
