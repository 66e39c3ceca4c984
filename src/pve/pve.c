#include "pve/pve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

struct pve {
    struct pve_options options;
    struct pve_vm **vms; /* in vmid order */
    size_t nvms, vms_cap;
    struct pve_vm *last_match;
    bool refreshed; /* a refresh has run: NICs and scopes seen later count from birth */
    uint64_t mem_total_bytes;
    char buf[65536];
};

static const char *const resource_names[PVE_RESOURCES] = {"cpu", "io", "memory"};

const char *pve_resource_name(enum pve_resource resource)
{
    return resource < PVE_RESOURCES ? resource_names[resource] : "?";
}

/* Reads a small file into pve->buf, NUL-terminated. Returns its length or a negative errno. */
static ssize_t read_small(struct pve *pve, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len < sizeof(pve->buf) - 1) {
        ssize_t n = read(fd, pve->buf + len, sizeof(pve->buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    pve->buf[len] = '\0';
    return (ssize_t)len;
}

struct pve *pve_new(const struct pve_options *options)
{
    struct pve *pve = xcalloc(1, sizeof(*pve));
    pve->options.procfs = xstrdup(options->procfs);
    pve->options.config_dir = xstrdup(options->config_dir);
    pve->options.sysfs = xstrdup(options->sysfs);
    pve->options.cgroupfs = xstrdup(options->cgroupfs);
    return pve;
}

static void vm_free(struct pve_vm *vm)
{
    free(vm->group);
    free(vm->nics);
    free(vm);
}

void pve_free(struct pve *pve)
{
    if (!pve)
        return;
    for (size_t i = 0; i < pve->nvms; i++)
        vm_free(pve->vms[i]);
    free(pve->vms);
    free((char *)pve->options.procfs);
    free((char *)pve->options.config_dir);
    free((char *)pve->options.sysfs);
    free((char *)pve->options.cgroupfs);
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

static void config_path(const struct pve *pve, unsigned vmid, char *path, size_t size)
{
    snprintf(path, size, "%s/%u.conf", pve->options.config_dir, vmid);
}

static bool config_exists(const struct pve *pve, unsigned vmid)
{
    char path[4096];
    config_path(pve, vmid, path, sizeof(path));
    return access(path, F_OK) == 0;
}

/* Re-reads the VM's config when its mtime changed; notes when it is gone. */
static void load_config(struct pve *pve, struct pve_vm *vm)
{
    char path[4096];
    struct stat st;
    config_path(pve, vm->vmid, path, sizeof(path));
    if (stat(path, &st) != 0) {
        vm->has_config = false;
        return;
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (vm->has_config && mtime == vm->config_mtime_ns)
        return;
    ssize_t n = read_small(pve, path);
    struct pve_config config;
    if (n < 0 || pve_parse_config(pve->buf, (size_t)n, &config) != 0) {
        vm->has_config = false;
        return;
    }
    vm->config = config;
    vm->config_mtime_ns = mtime;
    vm->has_config = true;
}

/* Name, cpu, vCPUs and memory, from the most trustworthy source at hand. */
static void derive_facts(struct pve_vm *vm)
{
    const struct pve_config *config = vm->has_config ? &vm->config : NULL;
    if (config && config->name[0])
        snprintf(vm->name, sizeof(vm->name), "%s", config->name);
    else if (vm->cmd.name[0])
        snprintf(vm->name, sizeof(vm->name), "%s", vm->cmd.name);
    else
        snprintf(vm->name, sizeof(vm->name), "vm%u", vm->vmid);
    /* -cpu shows the QEMU base model (x86-64-v2-AES runs as qemu64,+aes,...): the config says
     * what the user chose. */
    snprintf(vm->cpu, sizeof(vm->cpu), "%s",
             config && config->cpu[0] ? config->cpu : vm->cmd.cpu_model);
    vm->vcpus = pve_vcpus(&vm->cmd, config, vm->kvm_threads);
    vm->maxmem_bytes = pve_maxmem_bytes(&vm->cmd, config);
    vm->incoming = vm->cmd.incoming && !vm->has_config;
}

/* The vmid of a "/qemu.slice/<vmid>.scope" cgroup, or 0. */
static unsigned scope_vmid(const struct proc_identity *id)
{
    static const char slice[] = "/qemu.slice/";
    for (size_t i = 0; i < id->ncgroups; i++) {
        const char *p = strstr(id->cgroups[i], slice);
        if (!p)
            continue;
        p += sizeof(slice) - 1;
        unsigned v = 0;
        const char *digits = p;
        while (*p >= '0' && *p <= '9' && v < 100000000u)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (p > digits && strcmp(p, ".scope") == 0 && v > 0)
            return v;
    }
    return 0;
}

static void forget_counters_base(struct pve_vm *vm)
{
    /* A new QEMU process means new taps and a new scope: their counters start again. */
    for (size_t i = 0; i < vm->nnics; i++)
        vm->nics[i].has_last = false;
    for (int r = 0; r < PVE_RESOURCES; r++)
        vm->has_pressure_base[r] = false;
}

bool pve_match(void *ctx, const struct proc_identity *id, struct rules_span *captures,
               struct rules_scratch *scratch)
{
    struct pve *pve = ctx;
    pve->last_match = NULL;
    const char *argv0 = id->argc ? id->argv[0] : NULL;
    if (pve_is_qemu(id->exe, argv0)) {
        struct pve_cmdline cmd;
        if (pve_parse_cmdline(id->argc, id->argv, &cmd) != 0)
            return false;
        if (!cmd.incoming && !config_exists(pve, cmd.vmid))
            return false;
        struct pve_vm *vm = vm_get(pve, cmd.vmid);
        if (vm->pid != id->pid || vm->starttime_ticks != id->starttime_ticks)
            forget_counters_base(vm);
        vm->cmd = cmd;
        vm->pid = id->pid;
        vm->starttime_ticks = id->starttime_ticks;
        vm->start_time_ns = id->start_time_ns;
        vm->running = true;
        vm->counted_threads = -1;
        vm->kvm_threads = 0;
        load_config(pve, vm);
        derive_facts(vm);
        pve->last_match = vm;
        captures[0] = rules_scratch_put(scratch, vm->id, strlen(vm->id));
        captures[1] = rules_scratch_put(scratch, vm->name, strlen(vm->name));
        return true;
    }

    /* swtpm, virtiofsd: started inside the VM's scope before QEMU itself. */
    unsigned vmid = scope_vmid(id);
    if (vmid == 0)
        return false;
    char id_text[16], name[128];
    snprintf(id_text, sizeof(id_text), "%u", vmid);
    struct pve_vm *vm = vm_find(pve, vmid);
    if (vm) {
        snprintf(name, sizeof(name), "%s", vm->name);
    } else {
        if (!config_exists(pve, vmid))
            return false;
        char path[4096];
        struct pve_config config;
        config_path(pve, vmid, path, sizeof(path));
        ssize_t n = read_small(pve, path);
        if (n >= 0 && pve_parse_config(pve->buf, (size_t)n, &config) == 0 && config.name[0])
            snprintf(name, sizeof(name), "%s", config.name);
        else
            snprintf(name, sizeof(name), "vm%u", vmid);
    }
    captures[0] = rules_scratch_put(scratch, id_text, strlen(id_text));
    captures[1] = rules_scratch_put(scratch, name, strlen(name));
    return true;
}

void pve_note_group(struct pve *pve, const char *group)
{
    struct pve_vm *vm = pve->last_match;
    if (!vm || (vm->group && strcmp(vm->group, group) == 0))
        return;
    free(vm->group);
    vm->group = xstrdup(group);
}

/* Memory lines of status the way pve_local_exporter reports them: every Vm*, Rss* and Hugetlb*
 * key, lower-cased, in bytes; and Threads. */
static void parse_status_memory(struct pve_vm *vm, const char *buf)
{
    vm->nmem = 0;
    vm->vmrss_bytes = 0;
    for (const char *line = buf; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        if (colon && (strncmp(line, "Vm", 2) == 0 || strncmp(line, "Rss", 3) == 0 ||
                      strncmp(line, "Hugetlb", 7) == 0)) {
            size_t klen = (size_t)(colon - line);
            const char *v = colon + 1;
            const char *end = line + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            uint64_t kb;
            if (klen < sizeof(vm->mem_key[0]) && vm->nmem < PVE_MEM_KEYS &&
                proc_parse_u64(&v, end, &kb)) {
                for (size_t i = 0; i < klen; i++) {
                    char c = line[i];
                    vm->mem_key[vm->nmem][i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
                }
                vm->mem_key[vm->nmem][klen] = '\0';
                vm->mem_bytes[vm->nmem] = kb * 1024;
                if (strcmp(vm->mem_key[vm->nmem], "vmrss") == 0)
                    vm->vmrss_bytes = kb * 1024;
                vm->nmem++;
            }
        } else if (strncmp(line, "Threads:", 8) == 0) {
            const char *v = line + 8;
            while (*v == ' ' || *v == '\t')
                v++;
            proc_parse_u64(&v, line + len, &vm->threads);
        }
        line = eol ? eol + 1 : line + len;
    }
}

/* Counts the "CPU n/KVM" threads: the real vCPU count, hotplugged ones included. */
static void count_vcpu_threads(struct pve *pve, struct pve_vm *vm)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%d/task", pve->options.procfs, vm->pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char comm[4096];
        snprintf(comm, sizeof(comm), "%s/%d/task/%s/comm", pve->options.procfs, vm->pid,
                 de->d_name);
        ssize_t len = read_small(pve, comm);
        if (len <= 0)
            continue;
        if (pve->buf[len - 1] == '\n')
            pve->buf[len - 1] = '\0';
        n += pve_is_vcpu_thread(pve->buf);
    }
    closedir(d);
    vm->kvm_threads = n;
}

static void refresh_process(struct pve *pve, struct pve_vm *vm)
{
    char path[4096];
    struct proc_stat st;
    snprintf(path, sizeof(path), "%s/%d/stat", pve->options.procfs, vm->pid);
    ssize_t n = read_small(pve, path);
    vm->running = n > 0 && proc_parse_stat(pve->buf, (size_t)n, &st) == 0 &&
                  st.starttime_ticks == vm->starttime_ticks;
    if (!vm->running)
        return;
    snprintf(path, sizeof(path), "%s/%d/status", pve->options.procfs, vm->pid);
    n = read_small(pve, path);
    if (n > 0)
        parse_status_memory(vm, pve->buf);
    if (st.num_threads != vm->counted_threads) {
        count_vcpu_threads(pve, vm);
        vm->counted_threads = st.num_threads;
    }
}

/* Adds the growth of a raw counter to *total. A counter seen for the first time counts whole
 * when it was born after the first refresh; one that went down was recreated and counts whole. */
static void accumulate(uint64_t *total, uint64_t *last, bool *has_last, uint64_t raw,
                       bool count_new)
{
    if (*has_last)
        *total += raw >= *last ? raw - *last : raw;
    else if (count_new)
        *total += raw;
    *last = raw;
}

static void refresh_scope(struct pve *pve, struct pve_vm *vm)
{
    char path[4096];
    for (int r = 0; r < PVE_RESOURCES; r++) {
        snprintf(path, sizeof(path), "%s/qemu.slice/%u.scope/%s.pressure", pve->options.cgroupfs,
                 vm->vmid, resource_names[r]);
        ssize_t n = read_small(pve, path);
        struct pve_pressure p;
        vm->has_pressure[r] = n > 0 && pve_parse_pressure(pve->buf, (size_t)n, &p) == 0;
        if (!vm->has_pressure[r])
            continue;
        bool had = vm->has_pressure_base[r];
        bool had_full = had;
        accumulate(&vm->pressure_some_us[r], &vm->last_some_us[r], &had, p.some_total_us,
                   pve->refreshed);
        if (p.has_full)
            accumulate(&vm->pressure_full_us[r], &vm->last_full_us[r], &had_full, p.full_total_us,
                       pve->refreshed);
        vm->has_full[r] = p.has_full;
        vm->has_pressure_base[r] = true;
    }
    snprintf(path, sizeof(path), "%s/qemu.slice/%u.scope/memory.current", pve->options.cgroupfs,
             vm->vmid);
    ssize_t n = read_small(pve, path);
    vm->has_memory_current =
        n > 0 && pve_parse_u64_line(pve->buf, (size_t)n, &vm->memory_current_bytes) == 0;
}

static struct pve_nic *nic_get(struct pve_vm *vm, const char *ifname)
{
    for (size_t i = 0; i < vm->nnics; i++)
        if (strcmp(vm->nics[i].ifname, ifname) == 0)
            return &vm->nics[i];
    vm->nics = xgrow(vm->nics, &vm->nics_cap, vm->nnics + 1, sizeof(*vm->nics));
    struct pve_nic *nic = &vm->nics[vm->nnics++];
    memset(nic, 0, sizeof(*nic));
    size_t len = strnlen(ifname, sizeof(nic->ifname) - 1); /* tap names are at most 15 bytes */
    memcpy(nic->ifname, ifname, len);
    nic->ifname[len] = '\0';
    /* Keep them in name order for the output. */
    for (size_t i = vm->nnics - 1; i > 0 && strcmp(vm->nics[i - 1].ifname, ifname) > 0; i--) {
        struct pve_nic tmp = vm->nics[i];
        vm->nics[i] = vm->nics[i - 1];
        vm->nics[i - 1] = tmp;
        nic = &vm->nics[i - 1];
    }
    return nic;
}

/* The vmid of a PVE tap device name "tap<vmid>i<n>", or 0. */
static unsigned tap_vmid(const char *name)
{
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

static void refresh_nics(struct pve *pve)
{
    /* The host's tap counts what it sends to the guest as transmitted: PVE reports that as the
     * guest's receive (netin), and so do we. */
    static const char *const files[PVE_NIC_STATS] = {
        [PVE_NIC_RECEIVE_BYTES] = "tx_bytes",     [PVE_NIC_TRANSMIT_BYTES] = "rx_bytes",
        [PVE_NIC_RECEIVE_PACKETS] = "tx_packets", [PVE_NIC_TRANSMIT_PACKETS] = "rx_packets",
        [PVE_NIC_RECEIVE_ERRORS] = "tx_errors",   [PVE_NIC_TRANSMIT_ERRORS] = "rx_errors",
        [PVE_NIC_RECEIVE_DROPS] = "tx_dropped",   [PVE_NIC_TRANSMIT_DROPS] = "rx_dropped",
    };
    for (size_t i = 0; i < pve->nvms; i++)
        for (size_t k = 0; k < pve->vms[i]->nnics; k++)
            pve->vms[i]->nics[k].present = false;

    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/class/net", pve->options.sysfs);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct pve_vm *vm = vm_find(pve, tap_vmid(de->d_name));
        if (!vm || !vm->running)
            continue;
        struct pve_nic *nic = nic_get(vm, de->d_name);
        uint64_t raw[PVE_NIC_STATS];
        bool ok = true;
        for (int s = 0; s < PVE_NIC_STATS && ok; s++) {
            char path[4096];
            int len =
                snprintf(path, sizeof(path), "%s/%s/statistics/%s", dir, de->d_name, files[s]);
            ssize_t n = len > 0 && (size_t)len < sizeof(path) ? read_small(pve, path) : -1;
            ok = n > 0 && pve_parse_u64_line(pve->buf, (size_t)n, &raw[s]) == 0;
        }
        if (!ok)
            continue;
        for (int s = 0; s < PVE_NIC_STATS; s++) {
            bool had = nic->has_last;
            accumulate(&nic->total[s], &nic->last[s], &had, raw[s], pve->refreshed);
        }
        nic->has_last = true;
        nic->present = true;
    }
    closedir(d);
}

static void read_mem_total(struct pve *pve)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/meminfo", pve->options.procfs);
    ssize_t n = read_small(pve, path);
    pve->mem_total_bytes = 0;
    const char *p = n > 0 ? strstr(pve->buf, "MemTotal:") : NULL;
    if (!p)
        return;
    p += 9;
    while (*p == ' ' || *p == '\t')
        p++;
    uint64_t kb;
    if (proc_parse_u64(&p, pve->buf + n, &kb))
        pve->mem_total_bytes = kb * 1024;
}

void pve_refresh(struct pve *pve)
{
    if (pve->nvms == 0)
        return;
    read_mem_total(pve);
    size_t kept = 0;
    for (size_t i = 0; i < pve->nvms; i++) {
        struct pve_vm *vm = pve->vms[i];
        refresh_process(pve, vm);
        load_config(pve, vm);
        /* Stopped and gone from this node (deleted, or migrated away): forget it. */
        if (!vm->running && !vm->has_config) {
            if (pve->last_match == vm)
                pve->last_match = NULL;
            vm_free(vm);
            continue;
        }
        derive_facts(vm);
        if (vm->running)
            refresh_scope(pve, vm);
        pve->vms[kept++] = vm;
    }
    pve->nvms = kept;
    refresh_nics(pve);
    pve->refreshed = true;
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
