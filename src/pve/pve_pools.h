/* The resource pools of a PVE cluster, from /etc/pve/user.cfg: which pool each guest (VM or
 * container: they share one id space) belongs to, and a pool name's levels as pve_local_exporter
 * labels them. The parser is pure (bytes in, calls out); the table allocates, reads no file. */
#ifndef PROCTRACK_PVE_PVE_POOLS_H
#define PROCTRACK_PVE_PVE_POOLS_H

#include <stddef.h>

#include "util/strbuf.h"

/* Calls `fn` for each guest listed by a pool line, in file order. The file is read as PVE reads
 * it: each line trimmed, split at ':' into fields that are trimmed too; a line whose first field
 * is "pool" names the pool in its second field (nested pools as "a/b/c") and lists its members
 * in the fourth, separated by ',', ';' or white space. Members that are not a decimal vmid, and
 * pools whose name is empty or holds a control byte, are skipped. `buf` need not be
 * NUL-terminated. */
typedef void (*pve_pool_member_fn)(void *arg, unsigned vmid, const char *pool, size_t pool_len);
void pve_parse_pools(const char *buf, size_t len, pve_pool_member_fn fn, void *arg);

#define PVE_POOL_LEVELS 3

/* A pool name split at '/' as pve_local_exporter splits it: `count` is the number of parts (0
 * for the empty name), `level` the first three (empty past the last). */
struct pve_pool_levels {
    unsigned count;
    const char *level[PVE_POOL_LEVELS];
    size_t len[PVE_POOL_LEVELS];
};

void pve_pool_levels(const char *pool, struct pve_pool_levels *out);

/* The pool labels of pve_kvm_info and pve_lxc_info as pve_local_exporter writes them, in label
 * name order: pool (the full name), pool1, pool2, pool3 (the first three levels, "" past the
 * last), pool_levels (the number of levels, "0" without a pool). Values point into `pool` and
 * into the struct itself. */
#define PVE_POOL_LABELS 5
struct pve_pool_labels {
    const char *value[PVE_POOL_LABELS];
    size_t len[PVE_POOL_LABELS];
    char levels[16];
};

void pve_pool_labels(const char *pool, struct pve_pool_labels *out);

/* The guest -> pool table of one user.cfg. A guest listed by two pools belongs to the first, as
 * PVE has it. */
struct pve_pool_member {
    unsigned vmid;
    size_t name; /* offset of the pool's name in `names` */
};

struct pve_pools {
    struct pve_pool_member *members; /* in vmid order, one per vmid */
    size_t count, cap;
    struct strbuf names; /* NUL-terminated pool names */
};

/* Replaces the table with the pools of `buf`. */
void pve_pools_load(struct pve_pools *pools, const char *buf, size_t len);
void pve_pools_clear(struct pve_pools *pools);
void pve_pools_free(struct pve_pools *pools);
/* The pool of `vmid`, or "" when it is in none. */
const char *pve_pools_find(const struct pve_pools *pools, unsigned vmid);

#endif /* PROCTRACK_PVE_PVE_POOLS_H */
