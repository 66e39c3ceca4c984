/* The memory lines of a QEMU process's /proc/PID/status, as pve_local_exporter reports them in
 * pve_kvm_memory_extended. A pure parser, as in pve_parse.h: no I/O, no allocation. */
#ifndef PROCTRACK_PVE_PVE_STATUS_H
#define PROCTRACK_PVE_PVE_STATUS_H

#include <stddef.h>
#include <stdint.h>

/* More than the 16 such keys of Linux 6.x (VmPeak ... VmSwap, HugetlbPages). */
#define PVE_MEM_KEYS 24
#define PVE_MEM_KEY_MAX 24

struct pve_status_memory {
    size_t nmem;
    char key[PVE_MEM_KEYS][PVE_MEM_KEY_MAX]; /* lower-cased: vmrss, rssanon, hugetlbpages... */
    uint64_t bytes[PVE_MEM_KEYS];
    uint64_t vmrss_bytes;   /* VmRSS, also among the keys; 0 for a process without memory */
    uint64_t hugetlb_bytes; /* HugetlbPages, also among the keys: hugetlb pages the process maps,
                               which VmRSS leaves out (a VM on hugepages: its guest memory) */
    uint64_t threads;       /* Threads: */
};

/* Every line whose key starts with Vm, Rss or Hugetlb and holds a number (kB), in file order, at
 * most PVE_MEM_KEYS of them; keys of PVE_MEM_KEY_MAX bytes or more are skipped. `buf` need not be
 * NUL-terminated. Returns 0, or -EINVAL when there is no Threads line (every kernel since 2.6
 * writes one). */
int pve_parse_status_memory(const char *buf, size_t len, struct pve_status_memory *out);

#endif /* PROCTRACK_PVE_PVE_STATUS_H */
