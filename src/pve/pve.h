/* Proxmox VE QEMU VMs: the `builtin: pve-qemu` matcher, and what proctrack knows of each VM beyond
 * its processes — facts from its command line and config file, tap NIC counters from sysfs, and
 * the pressure and memory of its cgroup scope. Knows files, not groups' counters: those stay in
 * the tracker, under the group the VM's processes joined. */
#ifndef PROCTRACK_PVE_PVE_H
#define PROCTRACK_PVE_PVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc/proc.h"
#include "pve/pve_parse.h"
#include "rules/rules.h"

struct pve_options {
    const char *procfs;     /* "/proc" */
    const char *config_dir; /* "/etc/pve/qemu-server" */
    const char *sysfs;      /* "/sys" */
    const char *cgroupfs;   /* "/sys/fs/cgroup" */
};

enum pve_nic_stat {
    PVE_NIC_RECEIVE_BYTES,
    PVE_NIC_TRANSMIT_BYTES,
    PVE_NIC_RECEIVE_PACKETS,
    PVE_NIC_TRANSMIT_PACKETS,
    PVE_NIC_RECEIVE_ERRORS,
    PVE_NIC_TRANSMIT_ERRORS,
    PVE_NIC_RECEIVE_DROPS,
    PVE_NIC_TRANSMIT_DROPS,
    PVE_NIC_STATS
};

/* A tap NIC of a VM, counted from the guest's side as PVE counts it: what the guest receives is
 * what the host's tap transmits. Counters are accumulated, so they continue when the tap is
 * recreated by a VM restart. */
struct pve_nic {
    char ifname[24];
    bool present; /* seen at the last refresh */
    bool has_last;
    uint64_t total[PVE_NIC_STATS];
    uint64_t last[PVE_NIC_STATS];
};

enum pve_resource { PVE_CPU, PVE_IO, PVE_MEMORY, PVE_RESOURCES };

#define PVE_MEM_KEYS 24

struct pve_vm {
    unsigned vmid;
    char id[16]; /* vmid as text */
    char *group; /* the group the QEMU process joined; NULL until known */
    int pid;     /* the QEMU process */
    uint64_t starttime_ticks;
    uint64_t start_time_ns;
    bool running;  /* the QEMU process was alive at the last refresh */
    bool incoming; /* started with -incoming and its config is not on this node (yet) */
    bool has_config;
    struct pve_cmdline cmd;
    struct pve_config config;
    int64_t config_mtime_ns;

    /* Derived facts. */
    char name[128];
    char cpu[64];
    unsigned vcpus;
    uint64_t maxmem_bytes;
    unsigned kvm_threads; /* "CPU n/KVM" threads, counted when the thread count changes */
    int64_t counted_threads;

    /* From /proc/PID/status of the QEMU process. */
    uint64_t threads;
    size_t nmem;
    char mem_key[PVE_MEM_KEYS][24]; /* lower-cased: vmrss, rssanon, hugetlbpages... */
    uint64_t mem_bytes[PVE_MEM_KEYS];
    uint64_t vmrss_bytes;

    struct pve_nic *nics;
    size_t nnics, nics_cap;

    /* cgroup v2 scope qemu.slice/<vmid>.scope */
    bool has_pressure[PVE_RESOURCES];
    bool has_full[PVE_RESOURCES];
    uint64_t pressure_some_us[PVE_RESOURCES], pressure_full_us[PVE_RESOURCES];
    uint64_t last_some_us[PVE_RESOURCES], last_full_us[PVE_RESOURCES];
    bool has_pressure_base[PVE_RESOURCES];
    bool has_memory_current;
    uint64_t memory_current_bytes;
};

struct pve;

struct pve *pve_new(const struct pve_options *options);
void pve_free(struct pve *pve);

/* The `builtin: pve-qemu` matcher (a rules_builtin_fn; ctx is the struct pve). A QEMU process of
 * PVE: its exe is qemu-system-<arch> (also " (deleted)") or argv[0] is /usr/bin/kvm, it has
 * `-id <vmid>`, and <config_dir>/<vmid>.conf exists (or it was started with -incoming: a VM
 * migrating in, whose config comes last). A helper in the VM's cgroup scope (swtpm, virtiofsd)
 * matches too. Captures: vmid, name. */
bool pve_match(void *ctx, const struct proc_identity *id, struct rules_span *captures,
               struct rules_scratch *scratch);
/* Tells which group the process pve_match() just matched has joined. */
void pve_note_group(struct pve *pve, const char *group);

/* Re-reads what changes for every known VM; once per scrape, after the scan. */
void pve_refresh(struct pve *pve);
/* Host memory for pve_kvm_memory_percent; 0 when unknown. */
uint64_t pve_mem_total_bytes(const struct pve *pve);

/* Known VMs in vmid order. */
size_t pve_vm_count(const struct pve *pve);
const struct pve_vm *pve_vm_at(const struct pve *pve, size_t index);

const char *pve_resource_name(enum pve_resource resource);

#endif /* PROCTRACK_PVE_PVE_H */
