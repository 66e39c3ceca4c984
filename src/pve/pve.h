/* Proxmox VE QEMU VMs: the `builtin: pve-qemu` matcher, and the collector of what proctrack knows
 * of each VM beyond its processes — facts from its command line and config file, tap NIC counters
 * from sysfs, the pressure and memory of its cgroup scope, its disks over QMP. The counters of the
 * VM's processes are the tracker's, under the group its QEMU process joined; the collector follows
 * their growth.
 *
 * The shape of a collector (the LXC container collector follows it):
 *   1. created from options (pve_new): the roots it reads, and the scan's proc_reader, through
 *      which it reads every file and lists every directory; it opens nothing itself but the
 *      VMs' QMP sockets (pve_disks.h, pve_qmp.h: sockets are no files to read);
 *   2. its builtin matcher (pve_match, given to rules_set_builtin) is pure: it decides from the
 *      identity and the config dir, writes its captures into the rules' scratch, keeps nothing;
 *   3. told of each process the tracker decided for its rule (pve_note_new, with an entry of
 *      tracker_new_at() after tracker_scan()): the decision names the group;
 *   4. refreshed once after each scan (pve_refresh): it asks the tracker which of its processes
 *      are alive, reads the rest through the reader, and adds counter growth through
 *      tracker_delta();
 *   5. written by its families code (src/exporter/pve_families.c) through const getters. */
#ifndef PROCTRACK_PVE_PVE_H
#define PROCTRACK_PVE_PVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"
#include "proc/proc_reader.h"
#include "pve/pve_lxc.h"
#include "pve/pve_parse.h"
#include "pve/pve_qmp.h"
#include "pve/pve_status.h"
#include "rules/rules.h"
#include "tracker/counter.h"

struct tracker;
struct tracker_new_process;

struct pve_options {
    struct proc_reader *reader; /* borrowed: the scan's reader, rooted at the procfs */
    const char *config_dir;     /* "/etc/pve/qemu-server" */
    const char *lxc_config_dir; /* "/etc/pve/lxc" */
    const char *user_cfg;       /* "/etc/pve/user.cfg", for the pools */
    const char *sysfs;          /* "/sys" */
    const char *cgroupfs;       /* "/sys/fs/cgroup" */
    const char *run_dir; /* "/var/run/qemu-server": the VMs' QMP sockets <vmid>.qmp; NULL: none */
};

/* The files of /sys/class/net/<dev>/statistics/ (the kernel's netstat_attrs, net-sysfs.c), in
 * name order: a tap's own counters, seen from the host. pve_local_exporter reports each under its
 * file name. */
enum pve_tap_stat {
    PVE_TAP_COLLISIONS,
    PVE_TAP_MULTICAST,
    PVE_TAP_RX_BYTES,
    PVE_TAP_RX_COMPRESSED,
    PVE_TAP_RX_CRC_ERRORS,
    PVE_TAP_RX_DROPPED,
    PVE_TAP_RX_ERRORS,
    PVE_TAP_RX_FIFO_ERRORS,
    PVE_TAP_RX_FRAME_ERRORS,
    PVE_TAP_RX_LENGTH_ERRORS,
    PVE_TAP_RX_MISSED_ERRORS,
    PVE_TAP_RX_NOHANDLER, /* since Linux 4.6 */
    PVE_TAP_RX_OVER_ERRORS,
    PVE_TAP_RX_PACKETS,
    PVE_TAP_TX_ABORTED_ERRORS,
    PVE_TAP_TX_BYTES,
    PVE_TAP_TX_CARRIER_ERRORS,
    PVE_TAP_TX_COMPRESSED,
    PVE_TAP_TX_DROPPED,
    PVE_TAP_TX_ERRORS,
    PVE_TAP_TX_FIFO_ERRORS,
    PVE_TAP_TX_HEARTBEAT_ERRORS,
    PVE_TAP_TX_PACKETS,
    PVE_TAP_TX_WINDOW_ERRORS,
    PVE_TAP_STATS
};

/* The file name of a statistic ("rx_bytes"). */
const char *pve_tap_stat_name(enum pve_tap_stat stat);

/* The guest's side of a tap, as PVE counts it: what the guest receives is what the host's tap
 * transmits. Each is the tap's file of the other direction. */
enum pve_nic_stat {
    PVE_NIC_RECEIVE_BYTES = PVE_TAP_TX_BYTES,
    PVE_NIC_TRANSMIT_BYTES = PVE_TAP_RX_BYTES,
    PVE_NIC_RECEIVE_PACKETS = PVE_TAP_TX_PACKETS,
    PVE_NIC_TRANSMIT_PACKETS = PVE_TAP_RX_PACKETS,
    PVE_NIC_RECEIVE_ERRORS = PVE_TAP_TX_ERRORS,
    PVE_NIC_TRANSMIT_ERRORS = PVE_TAP_RX_ERRORS,
    PVE_NIC_RECEIVE_DROPS = PVE_TAP_TX_DROPPED,
    PVE_NIC_TRANSMIT_DROPS = PVE_TAP_RX_DROPPED,
};

/* A tap NIC of a VM: the counters of its statistics files, each read once per refresh.
 * Counters are accumulated, so they continue when the tap is recreated by a VM restart. */
struct pve_nic {
    char ifname[24];
    uint64_t ifindex; /* which tap of that name the baseline is of; 0 when unknown */
    bool present;     /* seen at the last refresh */
    bool has_last;
    uint32_t has_stat; /* bit per enum pve_tap_stat: read at the last refresh */
    uint64_t total[PVE_TAP_STATS];
    uint64_t last[PVE_TAP_STATS]; /* the sysfs readings at the last refresh */
};

/* A disk of a VM, from QMP (see pve_disks.h). The counters are accumulated, so they continue
 * when the VM restarts. */
struct pve_disk {
    struct pve_qmp_disk info; /* the last answer; its stats are QEMU's own readings */
    bool present;             /* in the last answer of the running QEMU */
    uint64_t total[PVE_DISK_STATS];
    uint64_t last[PVE_DISK_STATS]; /* the readings taken into total */
};

enum pve_resource { PVE_CPU, PVE_IO, PVE_MEMORY, PVE_RESOURCES };

struct pve_vm {
    unsigned vmid;
    char id[16]; /* vmid as text */
    char *group; /* the group the QEMU process joined; NULL until known */
    /* The VM's processes, as the growth of its group's counters, followed through
     * tracker_counters_advance(): they continue across VM restarts, and a reload that renames the
     * group (a new template) starts a new baseline instead of a lower value. */
    bool has_counters;
    struct tracker_counters counters;
    struct tracker_baseline group_base;
    char *counted_group; /* the group `group_base` follows */
    int pid;             /* the QEMU process */
    uint64_t starttime_ticks;
    uint64_t start_time_ns;
    bool running;  /* the QEMU process was alive at the last refresh */
    bool incoming; /* started with -incoming and its config is not on this node (yet) */
    bool has_config;
    struct pve_cmdline cmd;
    struct pve_config config;
    /* Which content `config` was parsed from: its length and FNV-1a hash. Not the mtime: pmxcfs
     * keeps whole seconds, and PVE writes a config several times a second. */
    size_t config_len;
    uint64_t config_hash;

    /* Derived facts. */
    char name[128];
    char cpu[64];
    unsigned vcpus;
    uint64_t maxmem_bytes;
    unsigned kvm_threads; /* "CPU n/KVM" threads, counted when the thread count changes */
    int64_t counted_threads;

    /* From /proc/PID/status of the QEMU process (see pve_status.h). */
    uint64_t threads;
    size_t nmem;
    char mem_key[PVE_MEM_KEYS][PVE_MEM_KEY_MAX];
    uint64_t mem_bytes[PVE_MEM_KEYS];
    uint64_t vmrss_bytes;
    uint64_t hugetlb_bytes;

    struct pve_nic *nics; /* in name order */
    size_t nnics, nics_cap;

    /* cgroup v2 scope qemu.slice/<vmid>.scope; the pressure baselines are of the scope whose
     * directory has inode `scope_inode`, which may outlive a QEMU process */
    uint64_t scope_inode;
    /* Taps and scopes first seen from now on were born while we watched: their whole counts are
     * growth. Set once the VM has been refreshed running, or from the start when its QEMU process
     * started after the first scan. */
    bool counting;
    bool has_pressure[PVE_RESOURCES];
    bool has_full[PVE_RESOURCES];
    uint64_t pressure_some_us[PVE_RESOURCES], pressure_full_us[PVE_RESOURCES];
    uint64_t last_some_us[PVE_RESOURCES], last_full_us[PVE_RESOURCES];
    bool has_last_some[PVE_RESOURCES], has_last_full[PVE_RESOURCES];
    bool has_memory_current;
    uint64_t memory_current_bytes;

    /* Over QMP: disks in name order, and failed queries by enum pve_qmp_error. */
    struct pve_disk *disks;
    size_t ndisks, disks_cap;
    int disks_pid; /* the QEMU the disks' last readings are of */
    uint64_t disks_starttime;
    uint64_t qmp_errors[PVE_QMP_ERRORS];
};

/* A PVE container (`builtin: pve-lxc`), running or configured on this node. Its CPU, memory, I/O
 * and pressure are its cgroup /lxc/<vmid>'s, as PVE reads them; counters accumulate across
 * container restarts, each source (the cgroup, a veth) followed through its own baseline, which a
 * new cgroup (another inode) or a new veth (another ifindex) starts again. */
struct pve_ct {
    unsigned vmid;
    char id[16];  /* vmid as text */
    char *group;  /* the group its processes joined; NULL until known */
    bool running; /* its cgroup existed at the last refresh */
    bool has_config;
    struct pve_lxc_config config;
    size_t config_len; /* of the config file parsed, with its pve_content_hash */
    uint64_t config_hash;
    /* Watched since before its cgroup and veths were made: a new one counts whole. False only
     * for a container running at the first refresh, whose sources set baselines then. */
    bool watched;

    /* Derived facts. */
    char name[128];         /* hostname, else "CT<vmid>" */
    uint64_t cpus_milli;    /* CPUs as PVE counts them, in thousandths (pve_lxc_cpus_milli) */
    uint64_t maxmem_bytes;  /* config memory, else 512 MiB */
    uint64_t maxswap_bytes; /* config swap */

    /* Of its group (the tracker's): processes, threads; has_group false before it is known. */
    bool has_group;
    uint64_t processes, threads;

    /* cgroup v2 /lxc/<vmid> */
    bool has_cgroup_id;
    uint64_t cgroup_id; /* its inode: another one is a new cgroup */
    bool cgroup_read;   /* the cgroup of cgroup_id was read before: new io.stat devices are new */
    bool has_cpu;
    uint64_t cpu_user_us, cpu_system_us;
    uint64_t last_user_us, last_system_us;
    bool has_last_cpu;
    bool has_io;
    uint64_t io_total[PVE_IO_STATS];
    struct pve_ct_io_dev *io_devs; /* per-device baselines of io.stat */
    size_t nio_devs, io_devs_cap;
    bool has_memory_current, has_swap_current;
    uint64_t memory_current_bytes, swap_current_bytes;
    struct pve_memory_stats memory_stat;
    bool has_pressure[PVE_RESOURCES];
    bool has_full[PVE_RESOURCES];
    uint64_t pressure_some_us[PVE_RESOURCES], pressure_full_us[PVE_RESOURCES];
    uint64_t last_some_us[PVE_RESOURCES], last_full_us[PVE_RESOURCES];
    bool has_last_some[PVE_RESOURCES], has_last_full[PVE_RESOURCES];

    struct pve_nic *nics; /* its host-side veths "veth<vmid>i<n>", in name order */
    size_t nnics, nics_cap;
};

struct pve;

struct pve *pve_new(const struct pve_options *options);
void pve_free(struct pve *pve);

/* The `builtin: pve-qemu` matcher (a rules_builtin_fn; ctx is the struct pve, of which it uses
 * only the options): pve_match_identity() (pve_match.h), with the config looked up through the
 * reader. Captures: vmid, name. A QEMU process or helper in a VM's scope whose config is not
 * there (yet: /etc/pve mounted after proctrack started) is RULES_BUILTIN_LATER. */
enum rules_builtin_answer pve_match(void *ctx, const struct proc_identity *id,
                                    struct rules_span *captures, struct rules_scratch *scratch);

/* The `builtin: pve-lxc` matcher (a rules_builtin_fn; ctx is the struct pve):
 * pve_lxc_match_identity() (pve_lxc.h), with the config looked up in the LXC config dir through
 * the reader; LATER for a process in a container's cgroup whose config is not there. Captures:
 * vmid, name (the hostname). */
enum rules_builtin_answer pve_lxc_match(void *ctx, const struct proc_identity *id,
                                        struct rules_span *captures, struct rules_scratch *scratch);

/* A process of the last scan that the tracker put in a group through the pve-qemu rule. For the
 * QEMU process of a VM, the collector reads its command line and config and follows it from now
 * on, under the decision's group; helpers need nothing. */
void pve_note_new(struct pve *pve, const struct tracker_new_process *process);

/* A process of the last scan that the tracker put in a group through the pve-lxc rule: the
 * collector learns the container and its group. */
void pve_note_new_lxc(struct pve *pve, const struct tracker_new_process *process);

/* Re-reads what changes for every known VM and container; once per scan, after the scan and the
 * pve_note_new() calls of its decisions. Lists the config dirs (a stat per config; a config is
 * read again only when it changed), so that a VM or container configured on this node is known
 * stopped as well as running, and reads the pools of user.cfg (parsed again only when its bytes
 * changed). */
void pve_refresh(struct pve *pve, const struct tracker *tracker);
/* Host memory for pve_kvm_memory_percent; 0 when unknown. */
uint64_t pve_mem_total_bytes(const struct pve *pve);

/* Known VMs in vmid order: the running ones, and every VM configured on this node (a config in
 * the config dir), stopped or not. */
size_t pve_vm_count(const struct pve *pve);
const struct pve_vm *pve_vm_at(const struct pve *pve, size_t index);
/* The pool the VM is in, per user.cfg at the last refresh; "" when none. */
const char *pve_vm_pool(const struct pve *pve, const struct pve_vm *vm);

/* Known containers in vmid order: the running ones (their cgroup /lxc/<vmid> exists), and every
 * container configured on this node (a config in the LXC config dir), stopped or not. */
size_t pve_ct_count(const struct pve *pve);
const struct pve_ct *pve_ct_at(const struct pve *pve, size_t index);
/* The pool the container is in, per user.cfg at the last refresh; "" when none. */
const char *pve_ct_pool(const struct pve *pve, const struct pve_ct *ct);

const char *pve_resource_name(enum pve_resource resource);

#endif /* PROCTRACK_PVE_PVE_H */
