/* What a Proxmox VE QEMU virtual machine tells about itself: its QEMU command line, its
 * /etc/pve/qemu-server/<vmid>.conf, and the pressure files of its cgroup scope. Pure parsers from
 * bytes to structs, as in src/proc: no I/O, no allocation, no locale, safe on any input. */
#ifndef PROCTRACK_PVE_PVE_PARSE_H
#define PROCTRACK_PVE_PVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVE_MAX_TAPS 32

/* What qemu-server put on the command line. Where an option is repeated, the last one wins, as in
 * QEMU. Strings are truncated to their buffer and always NUL-terminated. */
struct pve_cmdline {
    unsigned vmid;        /* -id; 0 when absent or not a positive decimal */
    char name[128];       /* -name up to the first comma ("myvm,debug-threads=on" -> "myvm") */
    char cpu_model[64];   /* -cpu up to the first comma: "qemu64", "host", "max" */
    unsigned smp_cpus;    /* -smp: first field if numeric, else cpus=; 0 when absent */
    unsigned smp_sockets; /* -smp sockets=, cores=, maxcpus= as given; 0 when absent */
    unsigned smp_cores;
    unsigned smp_maxcpus;
    /* -device entries whose driver ends in "-cpu". With vCPU hotplug PVE starts the VM with
     * -smp 1,... and one such device per further vCPU. */
    unsigned hotplug_cpus;
    uint64_t m_mib;        /* -m N, or the size of -m size=N,slots=..,maxmem=..; 0 when absent */
    uint64_t m_maxmem_mib; /* maxmem= of -m; 0 when absent */
    /* Sum of size= over the memory-backend-{ram,file,memfd} objects with id ram-node<i> (NUMA
     * nodes) or mem-dimm<i> (hotplugged DIMMs): by construction the config's `memory`. */
    uint64_t backends_mib;
    bool incoming;  /* -incoming: the VM is the target of a live migration */
    bool hugepages; /* guest RAM is backed by hugetlbfs (or a hugetlb memfd) */
    size_t ntaps;
    char taps[PVE_MAX_TAPS][16]; /* ifname= of each -netdev type=tap, in order */
};

/* Parses the argv of a QEMU process. Fills `out` as far as it can and returns 0, or -EINVAL when
 * there is no valid -id (then `out` still holds what was found). */
int pve_parse_cmdline(size_t argc, const char *const *argv, struct pve_cmdline *out);

/* True for a QEMU binary PVE starts: `exe` (the resolved /proc/PID/exe, possibly ending in
 * " (deleted)" after a package upgrade) has basename "qemu-system-<arch>", or argv0 is
 * "/usr/bin/kvm" or "/usr/bin/qemu-system-<arch>". Either argument may be NULL or "". */
bool pve_is_qemu(const char *exe, const char *argv0);

/* hugepages: any */
#define PVE_HUGEPAGES_ANY 0xffffffffu

/* net0..net31 */
#define PVE_MAX_NETS 32

/* A `net<n>` line of a VM config: "virtio=BC:24:11:96:18:29,bridge=vmbr1,firewall=1,queues=4"
 * (the model as key of the MAC), or "model=virtio,macaddr=..". */
struct pve_config_net {
    unsigned index;   /* n */
    char model[16];   /* one of PVE's NIC models: "virtio", "e1000", "rtl8139", "vmxnet3", .. */
    char macaddr[18]; /* as written; "" when absent */
    bool bridged;     /* bridge= set: a tap; without, PVE gives the VM QEMU's user networking */
    unsigned queues;  /* queues=; 0 when absent */
};

/* A NIC as QEMU runs it from a net<n> line (what QEMU's `info network` shows, and so the labels
 * of pve_local_exporter): qemu-server's -netdev and -device for it. */
struct pve_nic_facts {
    char netdev[8];    /* "net<n>" */
    char ifname[16];   /* "tap<vmid>i<n>"; "" for user networking */
    const char *type;  /* "tap" or "user" */
    const char *model; /* the -device: "virtio-net-pci" for virtio, else the model */
    char macaddr[18];  /* lower case, as QEMU prints it */
    unsigned queues;   /* queues= for virtio (PVE passes it to no other model), else 1 */
};

void pve_nic_facts(unsigned vmid, const struct pve_config_net *net, struct pve_nic_facts *out);

/* The main section of /etc/pve/qemu-server/<vmid>.conf. */
struct pve_config {
    char name[128];
    char cpu[64];        /* the model: "x86-64-v2-AES", "host", or cputype= of "cputype=X,.." */
    unsigned cores;      /* 0 when absent */
    unsigned sockets;    /* 0 when absent */
    unsigned vcpus;      /* 0 when absent */
    uint64_t memory_mib; /* "memory: 2048" or "memory: current=2048,.."; 0 when absent */
    char tags[256];      /* split on [,; ], empty parts dropped, joined with ';', in order */
    bool hotplug_cpu;    /* hotplug: lists "cpu" ("1" is network,disk,usb) */
    bool template_;      /* template: 1 */
    unsigned hugepages;  /* hugepages: page size in MiB (2, 1024), PVE_HUGEPAGES_ANY, 0 */
    size_t nnets;        /* net<n> lines with a known model, in n order */
    struct pve_config_net nets[PVE_MAX_NETS];
};

/* Parses the main section: `key: value` lines up to the first line starting with '['
 * ([PENDING], [special:cloudinit] and snapshots repeat keys). `#` lines (the description) and
 * unknown keys are skipped. `buf` need not be NUL-terminated. Returns 0, or -EINVAL when the
 * main section holds no `key: value` line. */
int pve_parse_config(const char *buf, size_t len, struct pve_config *out);

/* The VM's vCPU count, most trusted source first: `kvm_threads` (the "CPU <n>/KVM" threads seen
 * in task/, right even after hotplug), config vcpus, config sockets*cores (either defaulting to 1),
 * -smp cpus + hotplug_cpus; else 0. `cmd` and `config` may be NULL. */
unsigned pve_vcpus(const struct pve_cmdline *cmd, const struct pve_config *config,
                   unsigned kvm_threads);

/* The VM's configured memory in bytes: config `memory`, else the sum of the ram-node and mem-dimm
 * backends, else -m; else 0. maxmem= is only the hotplug ceiling and never used. Either argument
 * may be NULL. */
uint64_t pve_maxmem_bytes(const struct pve_cmdline *cmd, const struct pve_config *config);

/* True for a vCPU thread name: "CPU <digits>/KVM". */
bool pve_is_vcpu_thread(const char *comm);

/* A cgroup v2 PSI file ({cpu,io,memory}.pressure):
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=123
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=45
 * total is in microseconds. cpu.pressure lacks "full" before Linux 5.13. */
struct pve_pressure {
    bool has_some, has_full;
    uint64_t some_total_us, full_total_us;
    double some_avg10, full_avg10;
};

/* Returns 0, or -EINVAL when there is no well-formed "some" line. */
int pve_parse_pressure(const char *buf, size_t len, struct pve_pressure *out);

/* A sysfs or cgroup file that holds one unsigned decimal ("12345\n"). Returns 0, -EINVAL when it
 * holds anything else (such as "max"), or -ERANGE when the number does not fit. */
int pve_parse_u64_line(const char *buf, size_t len, uint64_t *out);

#endif /* PROCTRACK_PVE_PVE_PARSE_H */
