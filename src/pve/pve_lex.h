/* The pieces the PVE parsers (pve_cmdline.c, pve_config.c, pve_parse.c) share: unsigned decimals,
 * byte spans compared with literals, and QEMU's key=value option lists. Like the parsers, they
 * walk their input once with pointers, without locale or allocation. Internal to src/pve. */
#ifndef PROCTRACK_PVE_PVE_LEX_H
#define PROCTRACK_PVE_PVE_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIB (UINT64_C(1) << 20)

/* ---- numbers ------------------------------------------------------------------------------ */

/* The whole span [s, s+len) is an unsigned decimal that fits in 64 bits. */
bool pve_parse_dec(const char *s, size_t len, uint64_t *out);
/* The same, and it fits in an unsigned. */
bool pve_parse_uint(const char *s, size_t len, unsigned *out);

/* ---- strings ------------------------------------------------------------------------------ */

/* Whether the span equals, starts with or ends with the NUL-terminated `lit`. */
bool pve_span_is(const char *s, size_t len, const char *lit);
bool pve_span_starts(const char *s, size_t len, const char *lit);
bool pve_span_ends(const char *s, size_t len, const char *lit);
/* A prefix followed by one or more digits and nothing else: "ram-node0", "mem-dimm12". */
bool pve_span_is_numbered(const char *s, size_t len, const char *prefix);
/* The vmid of a guest config's file name "<vmid>.conf" (no leading zero, no other name). */
bool pve_config_file_vmid(const char *name, unsigned *vmid);

/* FNV-1a of a file's bytes: a config is parsed again when its length or this changes, since
 * pmxcfs keeps whole-second mtimes and PVE writes a config several times within one. */
uint64_t pve_content_hash(const char *data, size_t len);

/* Copies a value into dst[cap], undoing QEMU's ",," escape of a literal comma when `unescape`.
 * Returns the length the whole value has (as strlcpy does), so callers can tell it was cut. A
 * value cut to fit stays valid UTF-8. */
size_t pve_copy_value(char *dst, size_t cap, const char *src, size_t len, bool unescape);

/* ---- QEMU key=value lists ----------------------------------------------------------------- */

/* QEMU's option syntax ("QemuOpts"): fields separated by ',', a literal comma written ",,". The
 * first field may omit its key, which is then the option's implied one (-smp 16 is cpus=16,
 * -object memory-backend-ram,.. is qom-type=..). A later field without '=' is a boolean flag. */
struct pve_kv_iter {
    const char *p, *end;
    const char *implied;
    bool first;
};

struct pve_kv {
    const char *key, *val;
    size_t key_len, val_len;
    bool flag; /* a field without '=' that is not the implied one: key holds it, val is "on" */
};

/* Iterates over the fields of s[0..len); `implied` names the key of a first field without one
 * (NULL: none). */
struct pve_kv_iter pve_kv_start(const char *s, size_t len, const char *implied);
/* The next field into `kv`; false at the end. */
bool pve_kv_next(struct pve_kv_iter *it, struct pve_kv *kv);
bool pve_kv_key(const struct pve_kv *kv, const char *key);
/* "on", "yes", "true", "y" or "1", as QEMU and PVE read a boolean. */
bool pve_truthy(const char *s, size_t len);

/* ---- PVE guest configs ------------------------------------------------------------------- */

/* Called with each `key: value` of a config's main section. */
typedef void (*pve_config_kv_fn)(void *ctx, const char *key, size_t key_len, const char *val,
                                 size_t val_len);
/* Walks the main section of a guest config (/etc/pve/qemu-server/<vmid>.conf or
 * /etc/pve/lxc/<vmid>.conf): `key: value` lines up to the first line starting with '['
 * ([PENDING], [pve:pending], [special:cloudinit] and snapshots repeat keys). `#` lines (the
 * description), lines without a value and keys outside [a-z][a-z0-9_-]* are skipped. Returns
 * whether there was a `key: value` line. */
bool pve_config_walk(const char *buf, size_t len, pve_config_kv_fn fn, void *ctx);
/* Tags as PVE splits them: on ',', ';' and white space; kept in the order written, joined with
 * ';'. A tag that does not fit whole is left out with all after it, rather than cut into a
 * different tag. */
void pve_normalize_tags(char *dst, size_t cap, const char *s, size_t len);

#endif /* PROCTRACK_PVE_PVE_LEX_H */
