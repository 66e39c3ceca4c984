/* Proxmox VE LXC containers as proctrack sees them: the main section of
 * /etc/pve/lxc/<vmid>.conf, and which processes belong to a container, decided from their cgroup
 * alone. Pure functions, as in pve_parse.h and pve_match.h: no I/O, no allocation.
 *
 * pve-container (PVE::LXC::update_lxc_config, LXC >= 4) writes for every container
 *   lxc.cgroup.dir.monitor = lxc.monitor/<vmid>
 *   lxc.cgroup.dir.container = lxc/<vmid>
 *   lxc.cgroup.dir.container.inner = ns
 * so on cgroup v2 the container's limits are set on /lxc/<vmid>, its processes run in
 * /lxc/<vmid>/ns and the cgroups its own init makes below that (/lxc/<vmid>/ns/system.slice/...),
 * and the host's lxc-start of the container (the monitor, "[lxc monitor] /var/lib/lxc <vmid>") and
 * the hooks it runs (pre-start, network up scripts) are in /lxc.monitor/<vmid>. Only root on the
 * host makes cgroups there; the container's root can only make them below its own /lxc/<vmid>/ns.
 */
#ifndef PROCTRACK_PVE_PVE_LXC_H
#define PROCTRACK_PVE_PVE_LXC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"
#include "pve/pve_match.h"

/* The main section of /etc/pve/lxc/<vmid>.conf. Strings are truncated to their buffer. */
struct pve_lxc_config {
    char hostname[128];      /* "" when absent (PVE then uses "CT<vmid>") */
    char tags[256];          /* as pve_config's tags: split on [,; ], joined with ';' */
    char ostype[32];         /* debian, ubuntu, alpine, ..., unmanaged */
    char arch[16];           /* amd64, i386, arm64, armhf, riscv32, riscv64 */
    unsigned cores;          /* 0 when absent: the container may use every host CPU */
    unsigned cpulimit_milli; /* cpulimit ("1.5": 1500, at most three decimals); 0 when absent */
    uint64_t memory_mib;     /* 0 when absent: PVE's default is 512 */
    uint64_t swap_mib;       /* 0 when absent, as PVE takes it */
    bool unprivileged;       /* unprivileged: 1 */
    bool template_;          /* template: 1 */
};

/* Parses the main section (see pve_config_walk in pve_lex.h for the line syntax). `buf` need not
 * be NUL-terminated. Returns 0, or -EINVAL when the main section holds no `key: value` line. */
int pve_parse_lxc_config(const char *buf, size_t len, struct pve_lxc_config *out);

/* The CPUs PVE counts for a container (its API's cpus), in thousandths: config cores, else
 * cpulimit, else `host_cpus`. */
uint64_t pve_lxc_cpus_milli(const struct pve_lxc_config *config, unsigned host_cpus);

/* The memory PVE gives a container: config memory, else 512 MiB; in bytes. */
uint64_t pve_lxc_maxmem_bytes(const struct pve_lxc_config *config);

enum pve_lxc_role {
    PVE_LXC_NONE,
    PVE_LXC_PAYLOAD, /* in /lxc/<vmid> or below: the container's own processes */
    PVE_LXC_MONITOR, /* in /lxc.monitor/<vmid> or below: lxc-start and its hooks */
};

/* What the cgroup paths of the identity tell: the first path that starts with "/lxc/<vmid>" or
 * "/lxc.monitor/<vmid>", followed by "/" or its end, with <vmid> a decimal without leading zero
 * below 1000000000. */
enum pve_lxc_role pve_lxc_role_of(const struct proc_identity *id, unsigned *vmid);

struct pve_lxc_match {
    enum pve_lxc_role role;
    unsigned vmid;
    char id[16];    /* vmid as text */
    char name[128]; /* the config's hostname, else "CT<vmid>" as PVE names it */
};

/* The `builtin: pve-lxc` decision: a process in a container's payload or monitor cgroup, of a
 * container whose config exists (on this node). `config` (the container's hostname as the name)
 * is asked at most once. Fills `out` and returns true on a match. */
bool pve_lxc_match_identity(const struct proc_identity *id, pve_config_fn config, void *ctx,
                            struct pve_lxc_match *out);

/* ---- the container's cgroup v2 files (of /lxc/<vmid>, which holds all of its processes) ---- */

/* cpu.stat: "usage_usec N\nuser_usec N\nsystem_usec N\n..." (microseconds). Returns 0, or
 * -EINVAL without user_usec and system_usec (the cpu controller's core keys since Linux 4.15). */
struct pve_cpu_stat {
    uint64_t user_usec, system_usec;
};
int pve_parse_cpu_stat(const char *buf, size_t len, struct pve_cpu_stat *out);

/* io.stat: one line per device, "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" (keys
 * missing on older kernels count 0). Calls `fn` per device line; returns the number of lines. */
enum pve_io_stat { PVE_IO_RBYTES, PVE_IO_WBYTES, PVE_IO_RIOS, PVE_IO_WIOS, PVE_IO_STATS };
typedef void (*pve_io_stat_fn)(void *ctx, const char *dev, size_t dev_len,
                               const uint64_t values[PVE_IO_STATS]);
size_t pve_parse_io_stat(const char *buf, size_t len, pve_io_stat_fn fn, void *ctx);

/* The memory.stat keys proctrack reports, in name order. */
enum pve_memory_stat {
    PVE_MEM_ANON,
    PVE_MEM_FILE,
    PVE_MEM_KERNEL, /* since Linux 5.18 */
    PVE_MEM_SHMEM,
    PVE_MEM_SOCK,
    PVE_MEM_STATS
};
struct pve_memory_stats {
    bool has[PVE_MEM_STATS];
    uint64_t bytes[PVE_MEM_STATS];
};
const char *pve_memory_stat_name(enum pve_memory_stat stat);
/* memory.stat: "anon N\nfile N\n..." in bytes. Returns 0, or -EINVAL without an anon line. */
int pve_parse_memory_stat(const char *buf, size_t len, struct pve_memory_stats *out);

#endif /* PROCTRACK_PVE_PVE_LXC_H */
