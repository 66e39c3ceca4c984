/* Per-disk statistics of a QEMU VM over its QMP socket, as PVE's own pvestatd reads them:
 * `query-blockstats` for the I/O counters of each disk and `query-block` for what the disk is.
 *
 * The replies are parsed with jansson (pve_qmp_parse_*: pure, bounded, fuzzed). The client
 * (pve_qmp_query) talks to every VM's socket at once, each over a non-blocking connection, within
 * one overall deadline: it connects, reads the greeting, sends qmp_capabilities, query-blockstats
 * and query-block, reads the three replies and disconnects. A socket that is absent, refuses or
 * never answers costs at most the deadline and is reported with a reason; the socket is never
 * held between queries, since PVE's qm and pvestatd use the same one. */
#ifndef PROCTRACK_PVE_PVE_QMP_H
#define PROCTRACK_PVE_PVE_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pve_disk_stat {
    PVE_DISK_READ_BYTES,
    PVE_DISK_WRITE_BYTES,
    PVE_DISK_READ_OPS,
    PVE_DISK_WRITE_OPS,
    PVE_DISK_FLUSH_OPS,
    PVE_DISK_READ_TIME_NS,
    PVE_DISK_WRITE_TIME_NS,
    PVE_DISK_FLUSH_TIME_NS,
    PVE_DISK_STATS
};

/* The QMP key of each statistic, e.g. "rd_bytes". */
const char *pve_disk_stat_key(enum pve_disk_stat stat);

#define PVE_QMP_DISKS_MAX 64

/* One disk as PVE names it: "scsi0", "virtio1", "ide2", "efidisk0". */
struct pve_qmp_disk {
    char name[32];
    bool has_stats; /* in query-blockstats */
    uint64_t stats[PVE_DISK_STATS];
    bool has_info;          /* in query-block with a medium inserted */
    char block_id[64];      /* the node name: "#block155" (-drive) or "drive-scsi0" (-blockdev) */
    char path[512];         /* the image: the innermost filename of a json: pseudo-path */
    char format[32];        /* the image format ("raw", "qcow2"), below a throttle node */
    char attached_to[96];   /* qdev: "scsi0", "/machine/peripheral/virtio1/virtio-backend" */
    char cache_mode[48];    /* as `info block` says it: "writeback", "writethrough, direct" */
    char detect_zeroes[16]; /* "off", "on", "unmap" */
    bool read_only;
    uint64_t size_bytes; /* virtual size of the image */
};

/* The disks of one VM, in name order. */
struct pve_qmp_disks {
    size_t n;
    struct pve_qmp_disk disk[PVE_QMP_DISKS_MAX];
};

/* The PVE name of a block backend from its `device` and `qdev` members: "drive-scsi0" → "scsi0";
 * without a device (-blockdev), the qdev id ("scsi1", or the id in
 * "/machine/peripheral/virtio1/virtio-backend"). Returns false for what PVE did not set up (the
 * machine's own floppy0, sd0). */
bool pve_qmp_disk_name(const char *device, const char *qdev, char *name, size_t size);

/* Parses a reply line of query-blockstats / query-block into `disks`, adding disks not there yet
 * and filling in their statistics / facts. Returns 0, or -EPROTO for what is not such a reply
 * (an error reply included), -E2BIG past PVE_QMP_DISKS_MAX disks (those parsed are kept). */
int pve_qmp_parse_blockstats(const char *data, size_t len, struct pve_qmp_disks *disks);
int pve_qmp_parse_block(const char *data, size_t len, struct pve_qmp_disks *disks);

/* What pve_local_exporter's pve_kvm_disk_info says of a disk, from its path and format:
 * /dev/zvol/<pool...>/<vol> is "zvol", /dev/rbd-pve/<cluster>/<pool>/<vol> "rbd",
 * /dev/<vg>/vm-<n>-disk-<m> "lvm", else the image format ("raw", "qcow2"; a qcow2 file's vol_name
 * is its name up to the first dot). Labels that do not apply are "". */
struct pve_disk_class {
    char type[32];
    char vol_name[128];
    char pool[128];
    char pool_name[128];
    char cluster_id[64];
    char vg_name[64];
};

void pve_disk_classify(const struct pve_qmp_disk *disk, struct pve_disk_class *out);

/* Why a VM's query failed, for the error counter's reason label. */
enum pve_qmp_error {
    PVE_QMP_OK,
    PVE_QMP_CONNECT,  /* no socket, refused, or not allowed */
    PVE_QMP_TIMEOUT,  /* no whole answer within the deadline */
    PVE_QMP_CLOSED,   /* the peer closed before answering */
    PVE_QMP_PROTOCOL, /* not a QMP greeting, an error reply, an unparsable or oversized reply */
    PVE_QMP_ERRORS
};

const char *pve_qmp_error_name(enum pve_qmp_error error);

/* One VM's query: `path` in, the rest out. */
struct pve_qmp_query {
    const char *path;
    enum pve_qmp_error error;
    struct pve_qmp_disks disks;
};

/* Queries every socket concurrently; returns when all are done or `timeout_ms` after the call,
 * whichever is first (those still going are PVE_QMP_TIMEOUT). */
void pve_qmp_query(struct pve_qmp_query *queries, size_t n, int timeout_ms);

#endif /* PROCTRACK_PVE_PVE_QMP_H */
