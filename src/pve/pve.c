#include "pve/pve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/pve_counters.h"
#include "pve/pve_lxc.h"
#include "pve/pve_lxc_collect.h"
#include "pve/pve_lex.h"
#include "pve/pve_disks.h"
#include "pve/pve_match.h"
#include "pve/pve_pools.h"
#include "tracker/tracker.h"
#include "util/xalloc.h"

/* A config file is read this far: the main section comes first, snapshots after it. */
#define CONFIG_FILE_MAX (64 * 1024)
/* /proc/PID/status, /proc/meminfo: a few KiB. */
#define PROC_TEXT_MAX (64 * 1024)
/* user.cfg: pmxcfs keeps no file larger than 1 MiB. */
#define USER_CFG_MAX (1024 * 1024)

struct pve {
    struct pve_options options;
    struct pve_vm **vms; /* in vmid order */
    size_t nvms, vms_cap;
    uint64_t mem_total_bytes;
    struct pve_cts *cts;                /* the containers */
    char *user_cfg_dir, *user_cfg_name; /* NULL: no user.cfg */
    struct strbuf user_cfg;             /* the bytes `pools` were loaded from */
    bool has_pools;
    struct pve_pools pools;
};

static const char *const resource_names[PVE_RESOURCES] = {"cpu", "io", "memory"};

const char *pve_resource_name(enum pve_resource resource)
{
    return resource < PVE_RESOURCES ? resource_names[resource] : "?";
}

struct pve *pve_new(const struct pve_options *options)
{
    struct pve *pve = xcalloc(1, sizeof(*pve));
    pve->options.reader = options->reader;
    pve->options.config_dir = xstrdup(options->config_dir);
    pve->options.lxc_config_dir = xstrdup(options->lxc_config_dir);
    pve->options.sysfs = xstrdup(options->sysfs);
    pve->options.cgroupfs = xstrdup(options->cgroupfs);
    pve->cts = pve_cts_new();
    const char *cfg = options->user_cfg;
    const char *slash = cfg ? strrchr(cfg, '/') : NULL;
    if (cfg && *cfg) {
        pve->user_cfg_dir =
            slash ? xstrndup(cfg, slash == cfg ? 1 : (size_t)(slash - cfg)) : xstrdup(".");
        pve->user_cfg_name = xstrdup(slash ? slash + 1 : cfg);
    }
    pve->options.run_dir = options->run_dir ? xstrdup(options->run_dir) : NULL;
    return pve;
}

static void vm_free(struct pve_vm *vm)
{
    free(vm->group);
    free(vm->counted_group);
    free(vm->nics);
    free(vm->disks);
    free(vm);
}

void pve_free(struct pve *pve)
{
    if (!pve)
        return;
    for (size_t i = 0; i < pve->nvms; i++)
        vm_free(pve->vms[i]);
    free(pve->vms);
    pve_cts_free(pve->cts);
    free((char *)pve->options.config_dir);
    free((char *)pve->options.lxc_config_dir);
    free((char *)pve->options.sysfs);
    free((char *)pve->options.cgroupfs);
    free(pve->user_cfg_dir);
    free(pve->user_cfg_name);
    strbuf_free(&pve->user_cfg);
    pve_pools_free(&pve->pools);
    free((char *)pve->options.run_dir);
    free(pve);
}

static size_t vm_pos(const struct pve *pve, unsigned vmid)
{
    size_t lo = 0, hi = pve->nvms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pve->vms[mid]->vmid < vmid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct pve_vm *vm_find(const struct pve *pve, unsigned vmid)
{
    size_t pos = vm_pos(pve, vmid);
    return pos < pve->nvms && pve->vms[pos]->vmid == vmid ? pve->vms[pos] : NULL;
}

static struct pve_vm *vm_get(struct pve *pve, unsigned vmid)
{
    size_t pos = vm_pos(pve, vmid);
    if (pos < pve->nvms && pve->vms[pos]->vmid == vmid)
        return pve->vms[pos];
    struct pve_vm *vm = xcalloc(1, sizeof(*vm));
    vm->vmid = vmid;
    snprintf(vm->id, sizeof(vm->id), "%u", vmid);
    vm->counted_threads = -1;
    pve->vms = xgrow(pve->vms, &pve->vms_cap, pve->nvms + 1, sizeof(*pve->vms));
    memmove(&pve->vms[pos + 1], &pve->vms[pos], (pve->nvms - pos) * sizeof(*pve->vms));
    pve->vms[pos] = vm;
    pve->nvms++;
    return vm;
}

static void config_file(unsigned vmid, char *name, size_t size)
{
    snprintf(name, size, "%u.conf", vmid);
}

/* Reads the config file `name`, whole lines of it, into the reader's buffer. Returns the length
 * or a negative errno. */
static ssize_t read_config_file(struct pve *pve, const char *name, const char **data)
{
    ssize_t n =
        proc_reader_file(pve->options.reader, pve->options.config_dir, name, CONFIG_FILE_MAX, data);
    /* A file cut at the bound ends mid-line: "name: MCP" would read as "name: M". Only whole
     * lines count. */
    if (n == CONFIG_FILE_MAX) {
        while (n > 0 && (*data)[n - 1] != '\n')
            n--;
    }
    return n;
}

/* Reads and parses the config file `name`. Returns 0 or a negative errno. */
static int parse_config_file(struct pve *pve, const char *name, struct pve_config *config)
{
    const char *data;
    ssize_t n = read_config_file(pve, name, &data);
    return n < 0 ? (int)n : pve_parse_config(data, (size_t)n, config);
}

/* The matcher's question: does the VM's config exist (on this node), and what is its name? */
static bool lookup_config(void *ctx, unsigned vmid, char *name, size_t name_size)
{
    struct pve *pve = ctx;
    char file[24];
    int64_t mtime;
    config_file(vmid, file, sizeof(file));
    if (proc_reader_mtime(pve->options.reader, pve->options.config_dir, file, &mtime) != 0)
        return false;
    struct pve_config config;
    snprintf(name, name_size, "%s", parse_config_file(pve, file, &config) == 0 ? config.name : "");
    return true;
}

enum rules_builtin_answer pve_match(void *ctx, const struct proc_identity *id,
                                    struct rules_span *captures, struct rules_scratch *scratch)
{
    struct pve_match m;
    if (!pve_match_identity(id, lookup_config, ctx, &m))
        return m.role == PVE_ROLE_NONE ? RULES_BUILTIN_NO : RULES_BUILTIN_LATER;
    captures[0] = rules_scratch_put(scratch, m.id, strlen(m.id));
    captures[1] = rules_scratch_put(scratch, m.name, strlen(m.name));
    return RULES_BUILTIN_MATCH;
}

/* The LXC matcher's question: does the container's config exist, and what is its hostname? */
static bool lookup_lxc_config(void *ctx, unsigned vmid, char *name, size_t name_size)
{
    struct pve *pve = ctx;
    char file[24];
    int64_t mtime;
    config_file(vmid, file, sizeof(file));
    if (proc_reader_mtime(pve->options.reader, pve->options.lxc_config_dir, file, &mtime) != 0)
        return false;
    const char *data;
    ssize_t n = proc_reader_file(pve->options.reader, pve->options.lxc_config_dir, file,
                                 CONFIG_FILE_MAX, &data);
    struct pve_lxc_config config;
    snprintf(name, name_size, "%s",
             n >= 0 && pve_parse_lxc_config(data, (size_t)n, &config) == 0 ? config.hostname : "");
    return true;
}

enum rules_builtin_answer pve_lxc_match(void *ctx, const struct proc_identity *id,
                                        struct rules_span *captures, struct rules_scratch *scratch)
{
    struct pve_lxc_match m;
    /* In a container's cgroup without its config (yet: /etc/pve not mounted, a container
     * migrating in): asked again later. */
    if (!pve_lxc_match_identity(id, lookup_lxc_config, ctx, &m))
        return m.role == PVE_LXC_NONE ? RULES_BUILTIN_NO : RULES_BUILTIN_LATER;
    captures[0] = rules_scratch_put(scratch, m.id, strlen(m.id));
    captures[1] = rules_scratch_put(scratch, m.name, strlen(m.name));
    return RULES_BUILTIN_MATCH;
}

/* Re-reads the VM's config, and parses it again when its content changed; notes when it is gone.
 * A few KiB per VM and scan, from pmxcfs's memory. */
static void load_config(struct pve *pve, struct pve_vm *vm)
{
    char name[24];
    config_file(vm->vmid, name, sizeof(name));
    const char *data;
    ssize_t n = read_config_file(pve, name, &data);
    if (n < 0) {
        vm->has_config = false;
        return;
    }
    uint64_t hash = pve_content_hash(data, (size_t)n);
    if (vm->has_config && (size_t)n == vm->config_len && hash == vm->config_hash)
        return;
    struct pve_config config;
    if (pve_parse_config(data, (size_t)n, &config) != 0) {
        vm->has_config = false;
        return;
    }
    vm->config = config;
    vm->config_len = (size_t)n;
    vm->config_hash = hash;
    vm->has_config = true;
}

/* Name, cpu, vCPUs and memory, from the most trustworthy source at hand. A stopped VM is what
 * its config says: the command line of its last run is history. */
static void derive_facts(struct pve_vm *vm)
{
    const struct pve_config *config = vm->has_config ? &vm->config : NULL;
    const struct pve_cmdline *cmd = vm->running ? &vm->cmd : NULL;
    if (config && config->name[0])
        snprintf(vm->name, sizeof(vm->name), "%s", config->name);
    else if (cmd && cmd->name[0])
        snprintf(vm->name, sizeof(vm->name), "%s", cmd->name);
    else
        snprintf(vm->name, sizeof(vm->name), "vm%u", vm->vmid);
    /* -cpu shows the QEMU base model (x86-64-v2-AES runs as qemu64,+aes,...): the config says
     * what the user chose. */
    snprintf(vm->cpu, sizeof(vm->cpu), "%s",
             config && config->cpu[0] ? config->cpu
             : cmd                    ? cmd->cpu_model
                                      : "");
    vm->vcpus = pve_vcpus(cmd, config, cmd ? vm->kvm_threads : 0);
    vm->maxmem_bytes = pve_maxmem_bytes(cmd, config);
    vm->incoming = cmd && cmd->incoming && !vm->has_config;
}

void pve_note_new(struct pve *pve, const struct tracker_new_process *p)
{
    if (!p->group)
        return;
    /* The decision is of the scan just done: the process may have gone since, and its pid been
     * taken by another. Its stat says which. */
    struct proc_stat st;
    if (proc_reader_stat(pve->options.reader, p->pid, &st) != 0 ||
        st.starttime_ticks != p->starttime_ticks)
        return;
    struct proc_identity id;
    unsigned failed;
    if (proc_reader_identity(pve->options.reader, &st,
                             PROC_NEED_CMDLINE | PROC_NEED_EXE | PROC_NEED_CGROUP, &id,
                             &failed) != 0)
        return;
    unsigned vmid;
    struct pve_cmdline cmd;
    if (pve_role_of(&id, &vmid, &cmd) != PVE_ROLE_QEMU)
        return; /* a helper: its counters are the group's, nothing more to follow */

    /* A VM whose QEMU started while we watched has taps and a scope as young: they count whole.
     * Else (running at our start, or its config came later) their first readings are baselines,
     * as the process's own counters are. A VM known so far only by its config (stopped) is not
     * counting yet; one that was running goes on counting, its sources keeping their bases. */
    struct pve_vm *vm = vm_get(pve, vmid);
    vm->counting |= p->from_birth;
    vm->cmd = cmd;
    vm->pid = p->pid;
    vm->starttime_ticks = p->starttime_ticks;
    vm->start_time_ns = id.start_time_ns;
    vm->running = true;
    vm->counted_threads = -1;
    vm->kvm_threads = 0;
    if (!vm->group || strcmp(vm->group, p->group) != 0) {
        free(vm->group);
        vm->group = xstrdup(p->group);
    }
    load_config(pve, vm);
    derive_facts(vm);
}

/* Counts the "CPU n/KVM" threads: the real vCPU count, hotplugged ones included. */
static void count_vcpu_threads(struct pve *pve, struct pve_vm *vm)
{
    const int *tids;
    size_t ntids;
    if (proc_reader_tasks(pve->options.reader, vm->pid, &tids, &ntids) != 0)
        return;
    unsigned n = 0;
    for (size_t i = 0; i < ntids; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%d/task/%d/comm", vm->pid, tids[i]);
        /* "CPU 3/KVM\n": the thread's comm, at most 15 bytes and a newline. */
        const char *comm;
        char thread_name[64];
        ssize_t len =
            proc_reader_file(pve->options.reader, NULL, name, sizeof(thread_name) - 1, &comm);
        if (len <= 0)
            continue;
        memcpy(thread_name, comm, (size_t)len);
        thread_name[comm[len - 1] == '\n' ? len - 1 : len] = '\0';
        n += pve_is_vcpu_thread(thread_name);
    }
    vm->kvm_threads = n;
}

/* The QEMU process's memory lines and thread count from its status. Whether it is alive, and its
 * stat, the tracker read in this scan already. */
static void refresh_process(struct pve *pve, struct pve_vm *vm)
{
    char name[32];
    snprintf(name, sizeof(name), "%d/status", vm->pid);
    const char *data;
    ssize_t n = proc_reader_file(pve->options.reader, NULL, name, PROC_TEXT_MAX, &data);
    struct pve_status_memory sm;
    if (n <= 0 || pve_parse_status_memory(data, (size_t)n, &sm) != 0)
        return; /* the last values stand */
    vm->threads = sm.threads;
    vm->nmem = sm.nmem;
    memcpy(vm->mem_key, sm.key, sizeof(vm->mem_key));
    memcpy(vm->mem_bytes, sm.bytes, sizeof(vm->mem_bytes));
    vm->vmrss_bytes = sm.vmrss_bytes;
    vm->hugetlb_bytes = sm.hugetlb_bytes;
    /* status's Threads is stat's (20) num_threads, both the kernel's signal->nr_threads: the
     * thread names are read again only when it changes. */
    if ((int64_t)sm.threads != vm->counted_threads) {
        count_vcpu_threads(pve, vm);
        vm->counted_threads = (int64_t)sm.threads;
    }
}

/* The vmid of a PVE tap device name "tap<vmid>i<n>", or 0. */
static unsigned tap_vmid(const char *name)
{
    /* Interface names are at most IFNAMSIZ - 1 (15) bytes; a longer one is not a tap. */
    if (strnlen(name, 16) >= 16)
        return 0;
    if (strncmp(name, "tap", 3) != 0 || name[3] < '1' || name[3] > '9')
        return 0;
    const char *p = name + 3;
    unsigned v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000000u)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (*p++ != 'i' || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p ? 0 : v;
}

static void note_netdev(void *arg, const char *name, unsigned char type)
{
    struct pve *pve = arg;
    (void)type;
    unsigned vmid = tap_vmid(name);
    struct pve_vm *vm = vmid ? vm_find(pve, vmid) : NULL;
    if (vm && vm->running)
        pve_nic_refresh(vm, pve->options.reader, pve->options.sysfs, name, vm->counting);
}

static void refresh_nics(struct pve *pve)
{
    for (size_t i = 0; i < pve->nvms; i++)
        for (size_t k = 0; k < pve->vms[i]->nnics; k++)
            pve->vms[i]->nics[k].present = false;
    proc_reader_dir(pve->options.reader, pve->options.sysfs, "class/net", note_netdev, pve);
}

static void read_mem_total(struct pve *pve)
{
    const char *data;
    ssize_t n = proc_reader_file(pve->options.reader, NULL, "meminfo", PROC_TEXT_MAX, &data);
    if (n < 0 || proc_parse_meminfo_total(data, (size_t)n, &pve->mem_total_bytes) != 0)
        pve->mem_total_bytes = 0;
}

/* The growth of the VM's group's counters since the last refresh. The first group a VM is seen in
 * counts whole (its counters are the VM's processes' since they joined it); a group the VM moved to
 * (a reload with a new name template) starts from a baseline, so nothing falls back. */
static void follow_group(struct pve_vm *vm, const struct tracker *tracker)
{
    const struct tracker_group *g = vm->group ? tracker_group_find(tracker, vm->group) : NULL;
    if (!g)
        return;
    bool first = !vm->counted_group;
    if (first || strcmp(vm->counted_group, vm->group) != 0) {
        free(vm->counted_group);
        vm->counted_group = xstrdup(vm->group);
        tracker_baseline_reset(&vm->group_base, ~0u);
    }
    struct tracker_counters *totals[1] = {&vm->counters};
    tracker_counters_advance(&vm->group_base, g->counters.v, ~0u, first, totals, 1);
    vm->has_counters = true;
}

void pve_note_new_lxc(struct pve *pve, const struct tracker_new_process *process)
{
    pve_cts_note_new(pve->cts, &pve->options, process);
}

/* A VM config of the config dir, "<vmid>.conf": the VM is known from now on, running or not. */
static void note_config(void *arg, const char *name, unsigned char type)
{
    struct pve *pve = arg;
    (void)type;
    unsigned vmid;
    if (pve_config_file_vmid(name, &vmid))
        vm_get(pve, vmid);
}

/* The pools of user.cfg, loaded again when its bytes changed: one read of a small file, and no
 * edit is missed, however close to the last one (pmxcfs has whole-second mtimes). */
static void refresh_pools(struct pve *pve)
{
    if (!pve->user_cfg_name)
        return;
    const char *data = "";
    ssize_t n = proc_reader_file(pve->options.reader, pve->user_cfg_dir, pve->user_cfg_name,
                                 USER_CFG_MAX, &data);
    size_t len = n > 0 ? (size_t)n : 0; /* none: no pools */
    if (pve->has_pools && len == pve->user_cfg.len &&
        (len == 0 || memcmp(data, pve->user_cfg.buf, len) == 0))
        return;
    strbuf_reset(&pve->user_cfg);
    strbuf_append(&pve->user_cfg, data, len);
    /* A file cut at the bound ends mid-line: only whole lines count. */
    if (len == USER_CFG_MAX) {
        while (len > 0 && data[len - 1] != '\n')
            len--;
    }
    pve_pools_load(&pve->pools, data, len);
    pve->has_pools = true;
}

void pve_refresh(struct pve *pve, const struct tracker *tracker)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pve_cts_refresh(pve->cts, &pve->options, tracker, cpus > 0 ? (unsigned)cpus : 0);
    proc_reader_dir(pve->options.reader, pve->options.config_dir, ".", note_config, pve);
    refresh_pools(pve); /* of VMs and containers alike */
    if (pve->nvms == 0)
        return;
    read_mem_total(pve);
    size_t kept = 0;
    for (size_t i = 0; i < pve->nvms; i++) {
        struct pve_vm *vm = pve->vms[i];
        vm->running = vm->pid > 0 && tracker_has_process(tracker, vm->pid, vm->starttime_ticks);
        if (vm->running)
            refresh_process(pve, vm);
        load_config(pve, vm);
        /* Stopped and gone from this node (deleted, or migrated away): forget it. */
        if (!vm->running && !vm->has_config) {
            vm_free(vm);
            continue;
        }
        derive_facts(vm);
        if (vm->running) {
            pve_scope_refresh(vm, pve->options.reader, pve->options.cgroupfs, vm->counting);
            follow_group(vm, tracker);
        }
        pve->vms[kept++] = vm;
    }
    pve->nvms = kept;
    refresh_nics(pve);
    for (size_t i = 0; i < pve->nvms; i++)
        pve->vms[i]->counting |= pve->vms[i]->running;
    if (pve->options.run_dir)
        pve_disks_refresh(pve->vms, pve->nvms, pve->options.run_dir);
}

uint64_t pve_mem_total_bytes(const struct pve *pve)
{
    return pve->mem_total_bytes;
}

size_t pve_vm_count(const struct pve *pve)
{
    return pve->nvms;
}

const struct pve_vm *pve_vm_at(const struct pve *pve, size_t index)
{
    return index < pve->nvms ? pve->vms[index] : NULL;
}

size_t pve_ct_count(const struct pve *pve)
{
    return pve_cts_count(pve->cts);
}

const struct pve_ct *pve_ct_at(const struct pve *pve, size_t index)
{
    return pve_cts_at(pve->cts, index);
}

const char *pve_vm_pool(const struct pve *pve, const struct pve_vm *vm)
{
    return pve_pools_find(&pve->pools, vm->vmid);
}

const char *pve_ct_pool(const struct pve *pve, const struct pve_ct *ct)
{
    return pve_pools_find(&pve->pools, ct->vmid);
}
