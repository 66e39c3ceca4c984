/* The PVE collector on a fixture tree of a PVE host (procfs with QEMU processes from real PVE
 * command lines, VM configs, sysfs taps, cgroup scopes): the builtin matcher through the rules,
 * the tracker's decisions handed over after each scan, and the refresh after it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exporter/proc_source.h"
#include "proc/proc_reader.h"
#include "pve/pve.h"
#include "rules/rules.h"
#include "tracker/tracker.h"

#define QEMU "/usr/bin/qemu-system-x86_64"
#define BTIME 1700000000
#define START_A 1000
#define START_B 5000

/* ---- the fixture host ---- */

struct host {
    char root[64];
    char proc[96], conf[96], lxc[96], sys[96], cgroup[96], user_cfg[96];
};

static void put(const char *dir, const char *rel, const char *content, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
}

static void puts_at(const char *dir, const char *rel, const char *text)
{
    put(dir, rel, text, strlen(text));
}

/* argv of a fixture command line: one option per line, split at the first space. */
struct argv {
    char text[32768];
    const char *v[512];
    size_t n;
};

static void argv_from_fixture(struct argv *a, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/pve/%s", FIXTURES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t len = fread(a->text, 1, sizeof(a->text) - 1, f);
    fclose(f);
    a->text[len] = '\0';
    a->n = 0;
    for (char *line = strtok(a->text, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strchr(line, ' ');
        if (sp)
            *sp = '\0';
        a->v[a->n++] = line;
        if (sp)
            a->v[a->n++] = sp + 1;
    }
}

static void argv_from_list(struct argv *a, const char *const *list)
{
    a->n = 0;
    while (list[a->n]) {
        a->v[a->n] = list[a->n];
        a->n++;
    }
}

/* A process with its stat, status, cmdline, exe and cgroup, and `nvcpus` "CPU n/KVM" threads
 * besides the main one. */
static void process(struct host *h, int pid, const char *comm, const struct argv *argv,
                    const char *exe, const char *cgroup, uint64_t start, int nvcpus,
                    uint64_t vmrss_kb)
{
    char rel[128];
    static char text[16384];
    int threads = 1 + nvcpus;
    snprintf(rel, sizeof(rel), "%d/stat", pid);
    snprintf(text, sizeof(text),
             "%d (%s) S 1 %d %d 0 -1 4194560 0 0 0 0 10 5 0 0 20 0 %d 0 %llu 1000 100 "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
             pid, comm, pid, pid, threads, (unsigned long long)start);
    puts_at(h->proc, rel, text);
    snprintf(rel, sizeof(rel), "%d/status", pid);
    snprintf(text, sizeof(text),
             "Name:\t%s\nUid:\t0\t0\t0\t0\nVmPeak:\t 3000000 kB\nVmRSS:\t %llu kB\n"
             "RssAnon:\t 100 kB\nHugetlbPages:\t 0 kB\nThreads:\t%d\n"
             "voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n",
             comm, (unsigned long long)vmrss_kb, threads);
    puts_at(h->proc, rel, text);
    size_t len = 0;
    for (size_t i = 0; i < argv->n; i++) {
        size_t n = strlen(argv->v[i]) + 1;
        assert_true(len + n < sizeof(text));
        memcpy(text + len, argv->v[i], n);
        len += n;
    }
    snprintf(rel, sizeof(rel), "%d/cmdline", pid);
    put(h->proc, rel, text, len);
    snprintf(rel, sizeof(rel), "%d/cgroup", pid);
    snprintf(text, sizeof(text), "0::%s\n", cgroup);
    puts_at(h->proc, rel, text);
    char path[512];
    snprintf(path, sizeof(path), "%s/%d/exe", h->proc, pid);
    unlink(path);
    assert_int_equal(symlink(exe, path), 0);
    for (int t = 0; t < threads; t++) {
        snprintf(rel, sizeof(rel), "%d/task/%d/comm", pid, pid + t);
        if (t == 0)
            snprintf(text, sizeof(text), "%s\n", comm);
        else
            snprintf(text, sizeof(text), "CPU %d/KVM\n", t - 1);
        puts_at(h->proc, rel, text);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_process(struct host *h, int pid)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%d", h->proc, pid);
    remove_tree(path);
}

static void tap(struct host *h, const char *name, uint64_t tx_bytes, uint64_t rx_bytes)
{
    static const char *const stats[] = {"rx_packets", "tx_packets", "rx_errors",
                                        "tx_errors",  "rx_dropped", "tx_dropped"};
    char rel[256], text[32];
    snprintf(rel, sizeof(rel), "class/net/%s/statistics/tx_bytes", name);
    snprintf(text, sizeof(text), "%llu\n", (unsigned long long)tx_bytes);
    puts_at(h->sys, rel, text);
    snprintf(rel, sizeof(rel), "class/net/%s/statistics/rx_bytes", name);
    snprintf(text, sizeof(text), "%llu\n", (unsigned long long)rx_bytes);
    puts_at(h->sys, rel, text);
    for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
        snprintf(rel, sizeof(rel), "class/net/%s/statistics/%s", name, stats[i]);
        puts_at(h->sys, rel, "0\n");
    }
}

/* A tap created now: a new ifindex, as the kernel gives every new interface. */
static void new_tap(struct host *h, const char *name, uint64_t tx_bytes, uint64_t rx_bytes)
{
    static unsigned ifindex = 10;
    char rel[256], text[32];
    snprintf(rel, sizeof(rel), "class/net/%s/ifindex", name);
    snprintf(text, sizeof(text), "%u\n", ++ifindex);
    puts_at(h->sys, rel, text);
    tap(h, name, tx_bytes, rx_bytes);
}

static void scope(struct host *h, unsigned vmid, uint64_t cpu_some_us)
{
    char rel[256], text[256];
    const char *line = "%s avg10=0.00 avg60=0.00 avg300=0.00 total=%llu\n";
    snprintf(rel, sizeof(rel), "qemu.slice/%u.scope/cpu.pressure", vmid);
    int n = snprintf(text, sizeof(text), line, "some", (unsigned long long)cpu_some_us);
    snprintf(text + n, sizeof(text) - (size_t)n, line, "full", 0ull);
    puts_at(h->cgroup, rel, text);
    snprintf(rel, sizeof(rel), "qemu.slice/%u.scope/memory.current", vmid);
    puts_at(h->cgroup, rel, "1000000\n");
}

/* A scope created now (a new cgroup directory, so a new inode; the old one goes after it). */
static void new_scope(struct host *h, unsigned vmid, uint64_t cpu_some_us)
{
    char dir[256], old[300];
    snprintf(dir, sizeof(dir), "%s/qemu.slice/%u.scope", h->cgroup, vmid);
    snprintf(old, sizeof(old), "%s.old", dir);
    assert_int_equal(rename(dir, old), 0);
    scope(h, vmid, cpu_some_us);
    remove_tree(old);
}

static const char *const swtpm_argv[] = {"swtpm", "socket", "--terminate", NULL};

/* VM 100 (fixture A) with its swtpm, VM 103 (fixture B, exe deleted by an upgrade) with a helper
 * of its own, a QEMU process without a config, and a shell. */
static void host_new(struct host *h)
{
    strcpy(h->root, "/tmp/pt-pve-collector-XXXXXX");
    assert_non_null(mkdtemp(h->root));
    snprintf(h->proc, sizeof(h->proc), "%s/proc", h->root);
    snprintf(h->conf, sizeof(h->conf), "%s/qemu-server", h->root);
    snprintf(h->lxc, sizeof(h->lxc), "%s/lxc", h->root);
    snprintf(h->sys, sizeof(h->sys), "%s/sys", h->root);
    snprintf(h->cgroup, sizeof(h->cgroup), "%s/cgroup", h->root);
    snprintf(h->user_cfg, sizeof(h->user_cfg), "%s/user.cfg", h->root);
    char text[64];
    snprintf(text, sizeof(text), "cpu  1 2 3 4\nbtime %d\n", BTIME);
    puts_at(h->proc, "stat", text);
    puts_at(h->proc, "meminfo", "MemTotal:       16777216 kB\nMemFree: 1 kB\n");

    static struct argv a, b, other;
    argv_from_fixture(&a, "cmdline-a.txt");
    argv_from_fixture(&b, "cmdline-b.txt");
    process(h, 5000, "kvm", &a, QEMU, "/qemu.slice/100.scope", START_A, 4, 2000000);
    argv_from_list(&other, swtpm_argv);
    process(h, 5001, "swtpm", &other, "/usr/bin/swtpm", "/qemu.slice/103.scope", START_A, 0, 0);
    process(h, 5010, "swtpm", &other, "/usr/bin/swtpm", "/qemu.slice/100.scope", START_A, 0, 0);
    process(h, 6000, "kvm", &b, QEMU " (deleted)", "/qemu.slice/103.scope", START_A, 2, 1000);
    argv_from_list(&other, (const char *const[]){"/usr/bin/kvm", "-id", "999", NULL});
    process(h, 7000, "kvm", &other, QEMU, "/", START_A, 0, 0);
    argv_from_list(&other, (const char *const[]){"bash", NULL});
    process(h, 8000, "bash", &other, "/usr/bin/bash", "/user.slice", START_A, 0, 0);

    puts_at(h->conf, "100.conf", "cores: 16\ncpu: x86-64-v2-AES\nmemory: 2048\nname: s\n");
    puts_at(h->conf, "103.conf", "cores: 20\nmemory: 20480\nname: MCP\nsockets: 1\n");
    new_tap(h, "tap100i0", 2000, 1000);
    new_tap(h, "tap103i0", 6, 5);
    new_tap(h, "fwbr100i0", 99, 99);
    scope(h, 100, 1000000);
}

/* ---- the exporter's loop, in small: scan, hand over the decisions, refresh ---- */

struct world {
    struct host host;
    struct proc_reader *reader;
    struct rules *rules;
    struct tracker *tracker;
    struct proc_source proc;
    struct tracker_source source;
    struct pve *pve;
    unsigned handed; /* decisions given to pve_note_new() */
};

static int classify(void *ctx, const struct proc_identity *id, struct strbuf *groupname)
{
    return rules_match(ctx, id, groupname);
}

static bool undecided(void *ctx)
{
    return rules_match_undecided(ctx);
}

static struct world *world_new(const char *yaml)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    host_new(&w->host);
    char err[256];
    w->reader = proc_reader_new(w->host.proc, err, sizeof(err));
    assert_non_null(w->reader);
    w->rules = rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
    assert_non_null(w->rules);
    struct pve_options po = {.reader = w->reader,
                             .config_dir = w->host.conf,
                             .lxc_config_dir = w->host.lxc,
                             .user_cfg = w->host.user_cfg,
                             .sysfs = w->host.sys,
                             .cgroupfs = w->host.cgroup};
    w->pve = pve_new(&po);
    rules_set_builtin(w->rules, "pve-qemu", pve_match, w->pve);
    rules_set_builtin(w->rules, "pve-lxc", pve_lxc_match, w->pve);
    proc_source_init(&w->proc, w->reader, NULL);
    w->source = proc_source(&w->proc);
    struct tracker_options to = {.page_size = 4096,
                                 .ticks_per_second = proc_reader_ticks_per_second(w->reader)};
    struct tracker_classifier c = {.ctx = w->rules,
                                   .needs = rules_needs(w->rules),
                                   .classify = classify,
                                   .undecided = undecided,
                                   .list_all = true};
    w->tracker = tracker_new(&to, &c);
    return w;
}

static void world_scan(struct world *w)
{
    assert_int_equal(tracker_scan(w->tracker, &w->source), 0);
    for (size_t i = 0; i < tracker_new_count(w->tracker); i++) {
        const struct tracker_new_process *p = tracker_new_at(w->tracker, i);
        const char *builtin = p->rule >= 0 ? rules_builtin_of(w->rules, (size_t)p->rule) : NULL;
        if (builtin && strcmp(builtin, "pve-qemu") == 0) {
            pve_note_new(w->pve, p);
            w->handed++;
        } else if (builtin && strcmp(builtin, "pve-lxc") == 0) {
            pve_note_new_lxc(w->pve, p);
        }
    }
    pve_refresh(w->pve, w->tracker);
}

static void world_free(struct world *w)
{
    tracker_free(w->tracker);
    pve_free(w->pve);
    rules_free(w->rules);
    proc_source_free(&w->proc);
    proc_reader_free(w->reader);
    remove_tree(w->host.root);
    free(w);
}

static const struct pve_vm *vm_of(const struct pve *pve, unsigned vmid)
{
    for (size_t i = 0; i < pve_vm_count(pve); i++)
        if (pve_vm_at(pve, i)->vmid == vmid)
            return pve_vm_at(pve, i);
    return NULL;
}

static const struct pve_nic *nic_of(const struct pve_vm *vm, const char *ifname)
{
    for (size_t i = 0; i < vm->nnics; i++)
        if (strcmp(vm->nics[i].ifname, ifname) == 0)
            return &vm->nics[i];
    return NULL;
}

#define DEFAULT_RULES "process_names:\n  - builtin: pve-qemu\n"

/* ---- tests ---- */

static void test_builtin_captures_survive_a_second_match(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    struct proc_stat st;
    struct proc_identity id;
    unsigned failed;
    const unsigned needs = PROC_NEED_CMDLINE | PROC_NEED_EXE | PROC_NEED_CGROUP;

    struct rules_span first[2], second[2], third[2];
    struct rules_scratch s1 = {.used = 0}, s2 = {.used = 0}, s3 = {.used = 0};
    assert_int_equal(proc_reader_stat(w->reader, 5000, &st), 0);
    assert_int_equal(proc_reader_identity(w->reader, &st, needs, &id, &failed), 0);
    assert_int_equal(pve_match(w->pve, &id, first, &s1), RULES_BUILTIN_MATCH);
    /* A helper of another VM, then a process that is none, matched in between. */
    assert_int_equal(proc_reader_stat(w->reader, 5001, &st), 0);
    assert_int_equal(proc_reader_identity(w->reader, &st, needs, &id, &failed), 0);
    assert_int_equal(pve_match(w->pve, &id, second, &s2), RULES_BUILTIN_MATCH);
    assert_int_equal(proc_reader_stat(w->reader, 7000, &st), 0);
    assert_int_equal(proc_reader_identity(w->reader, &st, needs, &id, &failed), 0);
    assert_int_equal(pve_match(w->pve, &id, third, &s3), RULES_BUILTIN_NO);

    assert_int_equal(first[0].len, 3);
    assert_memory_equal(first[0].ptr, "100", 3);
    assert_int_equal(first[1].len, 1);
    assert_memory_equal(first[1].ptr, "s", 1);
    assert_int_equal(second[0].len, 3);
    assert_memory_equal(second[0].ptr, "103", 3);
    assert_int_equal(second[1].len, 3);
    assert_memory_equal(second[1].ptr, "MCP", 3);
    /* Matching learns nothing: VMs are known from decisions only. */
    assert_int_equal(pve_vm_count(w->pve), 0);
    world_free(w);
}

static void test_collector_learns_the_group_from_the_decision(void **state)
{
    (void)state;
    struct world *w =
        world_new("process_names:\n  - name: 'vm-{{.Matches.name}}-{{.Matches.vmid}}'\n"
                  "    builtin: pve-qemu\n  - name: other\n    comm: [bash]\n");
    world_scan(w);
    /* QEMU 100, its swtpm, the helper of 103 (matched between QEMU 100 and its decision), QEMU
     * 103. Not the QEMU without config, not the shell. */
    assert_int_equal(w->handed, 4);
    assert_int_equal(pve_vm_count(w->pve), 2);
    const struct pve_vm *vm = vm_of(w->pve, 100);
    assert_non_null(vm);
    assert_string_equal(vm->group, "vm-s-100");
    assert_int_equal(vm->pid, 5000);
    assert_true(vm->running);
    assert_string_equal(vm->name, "s");
    assert_string_equal(vm->cpu, "x86-64-v2-AES");
    assert_int_equal(vm->vcpus, 4); /* four "CPU n/KVM" threads */
    assert_int_equal(vm->threads, 5);
    assert_int_equal(vm->vmrss_bytes, 2000000ull * 1024);
    assert_int_equal(vm->start_time_ns,
                     BTIME * 1000000000ull +
                         START_A * (1000000000ull / proc_reader_ticks_per_second(w->reader)));
    assert_int_equal(pve_mem_total_bytes(w->pve), 16777216ull * 1024);
    vm = vm_of(w->pve, 103);
    assert_non_null(vm);
    assert_string_equal(vm->group, "vm-MCP-103");
    assert_int_equal(vm->pid, 6000);
    assert_int_equal(tracker_group_find(w->tracker, "vm-MCP-103")->gauges.v[TRACKER_PROCS], 2);

    /* A decision of a pid that is gone by the time it is handed over teaches nothing. */
    struct tracker_new_process gone = {
        .pid = 5555, .starttime_ticks = 1, .comm = "kvm", .group = "vm-x-105", .rule = 0};
    pve_note_new(w->pve, &gone);
    assert_int_equal(pve_vm_count(w->pve), 2);

    /* The same process decided again (a reload with another template): same VM, new group. */
    struct tracker_new_process again = {
        .pid = 5000, .starttime_ticks = START_A, .comm = "kvm", .group = "qemu/100", .rule = 0};
    pve_note_new(w->pve, &again);
    assert_string_equal(vm_of(w->pve, 100)->group, "qemu/100");
    world_free(w);
}

static void test_nic_counters_through_tap_recreation_and_vm_restart(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w);
    const struct pve_vm *vm = vm_of(w->pve, 100);
    const struct pve_nic *nic = nic_of(vm, "tap100i0");
    assert_non_null(nic);
    assert_true(nic->present);
    /* The first refresh sets the baselines. */
    assert_int_equal(nic->total[PVE_NIC_RECEIVE_BYTES], 0);
    assert_null(nic_of(vm, "fwbr100i0"));

    /* Growth; the guest receives what the tap transmits. */
    tap(&w->host, "tap100i0", 2500, 1300);
    scope(&w->host, 100, 3000000);
    world_scan(w);
    nic = nic_of(vm_of(w->pve, 100), "tap100i0");
    assert_int_equal(nic->total[PVE_NIC_RECEIVE_BYTES], 500);
    assert_int_equal(nic->total[PVE_NIC_TRANSMIT_BYTES], 300);
    assert_int_equal(vm_of(w->pve, 100)->pressure_some_us[PVE_CPU], 2000000);

    /* The NIC unplugged and plugged again, QEMU unchanged: a new tap counting from zero. */
    new_tap(&w->host, "tap100i0", 70, 40);
    world_scan(w);
    nic = nic_of(vm_of(w->pve, 100), "tap100i0");
    assert_int_equal(nic->total[PVE_NIC_RECEIVE_BYTES], 570);
    assert_int_equal(nic->total[PVE_NIC_TRANSMIT_BYTES], 340);

    /* The VM restarts: a new QEMU process, whose new tap is already past the old reading when
     * first seen. It counts whole, not from the old tap's baseline; so does the new scope. */
    static struct argv a;
    argv_from_fixture(&a, "cmdline-a.txt");
    remove_process(&w->host, 5000);
    process(&w->host, 5100, "kvm", &a, QEMU, "/qemu.slice/100.scope", START_B, 4, 1000);
    new_tap(&w->host, "tap100i0", 3000, 100);
    new_scope(&w->host, 100, 4000000);
    world_scan(w);
    vm = vm_of(w->pve, 100);
    assert_int_equal(vm->pid, 5100);
    assert_true(vm->running);
    nic = nic_of(vm, "tap100i0");
    assert_int_equal(nic->total[PVE_NIC_RECEIVE_BYTES], 3570);
    assert_int_equal(nic->total[PVE_NIC_TRANSMIT_BYTES], 440);
    assert_int_equal(vm->pressure_some_us[PVE_CPU], 2000000 + 4000000);

    /* VM 103 stops and its config goes (migrated away): forgotten. VM 100 stops, config stays:
     * known, not running. */
    remove_process(&w->host, 6000);
    char path[256];
    snprintf(path, sizeof(path), "%s/103.conf", w->host.conf);
    unlink(path);
    remove_process(&w->host, 5100);
    world_scan(w);
    assert_null(vm_of(w->pve, 103));
    assert_false(vm_of(w->pve, 100)->running);
    world_free(w);
}

/* Any user can run something with argv[0] /usr/bin/kvm and `-id <vmid> -incoming ...`. Outside
 * the VM's scope it is no VM: the real QEMU keeps its place and its taps' baselines. */
static void test_kvm_outside_the_scope_does_not_take_over_a_vm(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w);
    tap(&w->host, "tap100i0", 2500, 1300);
    world_scan(w);
    assert_int_equal(nic_of(vm_of(w->pve, 100), "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 500);

    static struct argv fake;
    argv_from_list(&fake, (const char *const[]){"/usr/bin/kvm", "-id", "100", "-incoming",
                                                "tcp:127.0.0.1:4444", NULL});
    process(&w->host, 9000, "kvm", &fake, QEMU, "/user.slice/user-1000.slice/session-3.scope",
            START_B, 0, 0);
    world_scan(w); /* the tap did not move */
    const struct pve_vm *vm = vm_of(w->pve, 100);
    assert_int_equal(nic_of(vm, "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 500);
    assert_int_equal(vm->pid, 5000);
    world_free(w);
}

/* QEMU restarted inside a scope that outlives it (the scope is the VM's, not the process's), with
 * a tap that outlives it too: both go on from their last readings, not from zero again. */
static void test_a_scope_and_tap_outliving_a_qemu_restart_count_once(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w);
    tap(&w->host, "tap100i0", 2500, 1300);
    scope(&w->host, 100, 3000000);
    world_scan(w);
    static struct argv a;
    argv_from_fixture(&a, "cmdline-a.txt");
    remove_process(&w->host, 5000);
    process(&w->host, 5100, "kvm", &a, QEMU, "/qemu.slice/100.scope", START_B, 4, 1000);
    tap(&w->host, "tap100i0", 2600, 1350);
    scope(&w->host, 100, 3500000);
    world_scan(w);
    const struct pve_vm *vm = vm_of(w->pve, 100);
    assert_int_equal(vm->pid, 5100);
    assert_int_equal(nic_of(vm, "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 600);
    assert_int_equal(nic_of(vm, "tap100i0")->total[PVE_NIC_TRANSMIT_BYTES], 350);
    assert_int_equal(vm->pressure_some_us[PVE_CPU], 2500000);
    world_free(w);
}

/* proctrack started while /etc/pve was not mounted yet: the VM's processes were seen without its
 * config, and waited in the group of the next item. When the config appears they move to the VM's
 * group at the next scan; its taps, running long before, start from a baseline there. */
static void test_a_vm_whose_config_appears_later_is_reported(void **state)
{
    (void)state;
    struct world *w =
        world_new("process_names:\n  - name: 'qemu/{{.Matches.vmid}}'\n    builtin: pve-qemu\n"
                  "  - name: '{{.Comm}}'\n    cmdline: ['.+']\n");
    char path[256];
    snprintf(path, sizeof(path), "%s/100.conf", w->host.conf);
    assert_int_equal(unlink(path), 0);
    world_scan(w);
    world_scan(w);
    assert_null(vm_of(w->pve, 100));
    assert_non_null(tracker_group_find(w->tracker, "kvm"));
    assert_null(tracker_group_find(w->tracker, "qemu/100"));

    puts_at(w->host.conf, "100.conf", "cores: 16\nmemory: 2048\nname: s\n");
    world_scan(w);
    const struct pve_vm *vm = vm_of(w->pve, 100);
    assert_non_null(vm);
    assert_true(vm->running);
    assert_string_equal(vm->group, "qemu/100");
    /* QEMU and its swtpm */
    assert_int_equal(tracker_group_find(w->tracker, "qemu/100")->gauges.v[TRACKER_PROCS], 2);
    assert_int_equal(nic_of(vm, "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 0);
    tap(&w->host, "tap100i0", 2500, 1300);
    world_scan(w);
    assert_int_equal(nic_of(vm_of(w->pve, 100), "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 500);
    world_free(w);
}

/* pmxcfs keeps whole-second mtimes, and PVE writes a config several times a second (once per
 * hot-plugged DIMM): an edit of the same size and the same mtime is seen all the same. */
static void test_a_config_edit_within_the_same_second_is_seen(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    char path[256];
    snprintf(path, sizeof(path), "%s/100.conf", w->host.conf);
    const struct timespec second[2] = {{.tv_sec = 1700000100}, {.tv_sec = 1700000100}};
    puts_at(w->host.conf, "100.conf", "cores: 16\ncpu: x86-64-v2-AES\nmemory: 2048\nname: s\n");
    assert_int_equal(utimensat(AT_FDCWD, path, second, 0), 0);
    world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->maxmem_bytes, 2048ull << 20);
    puts_at(w->host.conf, "100.conf", "cores: 16\ncpu: x86-64-v2-AES\nmemory: 4096\nname: t\n");
    assert_int_equal(utimensat(AT_FDCWD, path, second, 0), 0);
    world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->maxmem_bytes, 4096ull << 20);
    assert_string_equal(vm_of(w->pve, 100)->name, "t");
    world_free(w);
}

/* A config over the read bound is cut; the line cut in two is not read as a whole one. */
static void test_a_config_cut_at_the_bound_keeps_whole_lines(void **state)
{
    (void)state;
    struct world *w =
        world_new("process_names:\n  - name: 'vm-{{.Matches.name}}-{{.Matches.vmid}}'\n"
                  "    builtin: pve-qemu\n");
    static char conf[70000];
    size_t pad = 65536 - strlen("name: M");
    memset(conf, 'x', pad);
    conf[0] = '#';
    conf[pad - 1] = '\n';
    strcpy(conf + pad, "name: MCP\nmemory: 20480\n");
    puts_at(w->host.conf, "103.conf", conf);
    world_scan(w);
    assert_string_equal(vm_of(w->pve, 103)->group, "vm-MCP-103");
    world_free(w);
}

/* Interface names are at most 15 bytes: a longer name under a fake sysfs is no tap (it would be
 * stored cut and looked up whole, a new NIC on every refresh). */
static void test_a_name_longer_than_an_interface_is_no_tap(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    tap(&w->host, "tap100i00000000000000000001", 10, 10);
    for (int i = 0; i < 3; i++)
        world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->nnics, 1); /* tap100i0 of the fixture only */
    world_free(w);
}

static void test_a_configured_vmid_outside_its_scope_changes_nothing(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w);
    scope(&w->host, 100, 3000000);
    world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->pressure_some_us[PVE_CPU], 2000000);
    /* Not -incoming this time: 100.conf exists, so argv[0] and -id are enough. */
    static struct argv fake;
    argv_from_list(&fake, (const char *const[]){"/usr/bin/kvm", "-c", "pass", "-id", "100", NULL});
    process(&w->host, 9000, "python3", &fake, "/usr/bin/python3.11", "/user.slice", START_B, 0, 0);
    world_scan(w);
    remove_process(&w->host, 9000);
    world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->pressure_some_us[PVE_CPU], 2000000);
    assert_true(vm_of(w->pve, 100)->running); /* QEMU 5000 still runs */
    world_free(w);
}

static void set_utime(struct host *h, int pid, int threads, unsigned long long utime)
{
    char rel[64], text[512];
    snprintf(rel, sizeof(rel), "%d/stat", pid);
    snprintf(text, sizeof(text),
             "%d (kvm) S 1 %d %d 0 -1 4194560 0 0 0 0 %llu 5 0 0 20 0 %d 0 %llu 1000 100 "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
             pid, pid, pid, utime, threads, (unsigned long long)START_A);
    puts_at(h->proc, rel, text);
}

/* A reload that renames the VM's group (a new template) moves its processes to a new group whose
 * counters start over; the VM's counters (pve_kvm_cpu_seconds_total{id}) go on from where they
 * were. */
static void test_a_reload_renaming_the_group_keeps_vm_counters(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w);
    set_utime(&w->host, 5000, 5, 100000);
    world_scan(w);
    uint64_t before = vm_of(w->pve, 100)->counters.v[TRACKER_CPU_USER];
    assert_true(before > 0);
    char err[256];
    const char *yaml = "process_names:\n  - name: 'vm-{{.Matches.vmid}}'\n    builtin: pve-qemu\n";
    struct rules *r2 =
        rules_load_buffer("t2.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
    assert_non_null(r2);
    rules_set_builtin(r2, "pve-qemu", pve_match, w->pve);
    struct tracker_classifier c = {.ctx = r2,
                                   .needs = rules_needs(r2),
                                   .classify = classify,
                                   .undecided = undecided,
                                   .list_all = true};
    tracker_set_classifier(w->tracker, &c);
    struct rules *old = w->rules;
    w->rules = r2;
    rules_free(old);
    set_utime(&w->host, 5000, 5, 100100);
    world_scan(w);
    assert_string_equal(vm_of(w->pve, 100)->group, "vm-100");
    /* The scan of the reload is the new group's baseline: nothing falls back, nothing doubles. */
    assert_int_equal(vm_of(w->pve, 100)->counters.v[TRACKER_CPU_USER], before);
    set_utime(&w->host, 5000, 5, 100150);
    world_scan(w);
    assert_int_equal(vm_of(w->pve, 100)->counters.v[TRACKER_CPU_USER], before + 50 * 10000);
    world_free(w);
}

/* A start time after the tracker's first scan, on stat's clock (boot time in ticks): a process
 * started while we watched. */
static uint64_t started_now(const struct world *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ((uint64_t)ts.tv_sec + 1) * proc_reader_ticks_per_second(w->reader);
}

static void tap_stat(struct host *h, const char *ifname, enum pve_tap_stat stat, uint64_t value)
{
    char rel[256], text[32];
    snprintf(rel, sizeof(rel), "class/net/%s/statistics/%s", ifname, pve_tap_stat_name(stat));
    snprintf(text, sizeof(text), "%llu\n", (unsigned long long)value);
    puts_at(h->sys, rel, text);
}

/* Every statistics file is counted in the tap's orientation, and PVE's guest-side counters are the
 * same totals seen from the other side. A file the kernel lacks is no counter and does not keep
 * the tap from being counted; one that appears on a tap already counted only sets its baseline. */
static void test_tap_statistics_files_in_the_taps_orientation(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    tap_stat(&w->host, "tap100i0", PVE_TAP_COLLISIONS, 3);
    world_scan(w);
    const struct pve_nic *nic = nic_of(vm_of(w->pve, 100), "tap100i0");
    assert_true(nic->present);
    assert_true(nic->has_stat & (1u << PVE_TAP_COLLISIONS));
    assert_false(nic->has_stat & (1u << PVE_TAP_MULTICAST)); /* not in the fixture */

    tap(&w->host, "tap100i0", 2500, 1300);
    tap_stat(&w->host, "tap100i0", PVE_TAP_COLLISIONS, 10);
    tap_stat(&w->host, "tap100i0", PVE_TAP_MULTICAST, 50); /* appears: a baseline only */
    world_scan(w);
    nic = nic_of(vm_of(w->pve, 100), "tap100i0");
    assert_int_equal(nic->total[PVE_TAP_TX_BYTES], 500);
    assert_int_equal(nic->total[PVE_TAP_RX_BYTES], 300);
    assert_int_equal(nic->total[PVE_NIC_RECEIVE_BYTES], nic->total[PVE_TAP_TX_BYTES]);
    assert_int_equal(nic->total[PVE_NIC_TRANSMIT_BYTES], nic->total[PVE_TAP_RX_BYTES]);
    assert_int_equal(nic->total[PVE_TAP_COLLISIONS], 7);
    assert_true(nic->has_stat & (1u << PVE_TAP_MULTICAST));
    assert_int_equal(nic->total[PVE_TAP_MULTICAST], 0);

    tap_stat(&w->host, "tap100i0", PVE_TAP_MULTICAST, 54);
    world_scan(w);
    nic = nic_of(vm_of(w->pve, 100), "tap100i0");
    assert_int_equal(nic->total[PVE_TAP_MULTICAST], 4);

    /* Without one of the files PVE's counters come from, the tap is not counted this time. */
    char path[512];
    snprintf(path, sizeof(path), "%s/class/net/tap100i0/statistics/rx_dropped", w->host.sys);
    assert_int_equal(unlink(path), 0);
    world_scan(w);
    assert_false(nic_of(vm_of(w->pve, 100), "tap100i0")->present);
    world_free(w);
}

/* The first VM started after an exporter that began with none counts its taps and scope from
 * birth, as any later one does: whether a refresh ran before does not matter. */
static void test_first_vm_after_an_empty_start_counts_its_taps_from_birth(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    static const int pids[] = {5000, 5001, 5010, 6000, 7000};
    for (size_t i = 0; i < 5; i++)
        remove_process(&w->host, pids[i]);
    world_scan(w);
    world_scan(w);
    static struct argv a;
    argv_from_fixture(&a, "cmdline-a.txt");
    process(&w->host, 5100, "kvm", &a, QEMU, "/qemu.slice/100.scope", started_now(w), 4, 1000);
    new_tap(&w->host, "tap100i0", 2000, 1000); /* the tap and scope of the VM started just now */
    new_scope(&w->host, 100, 1500000);
    world_scan(w);
    const struct pve_vm *vm = vm_of(w->pve, 100);
    assert_int_equal(nic_of(vm, "tap100i0")->total[PVE_NIC_RECEIVE_BYTES], 2000);
    assert_int_equal(vm->pressure_some_us[PVE_CPU], 1500000);
    world_free(w);
}

/* Every VM configured on this node is known, running or not; what is no VM config is not. A VM
 * that stops is what its config says, not what its last command line said. */
static void test_configured_vms_are_known_stopped_or_running(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    puts_at(w->host.conf, "101.conf", "memory: 512\nname: stopped\n");
    puts_at(w->host.conf, "102.conf", "memory: 512\ntemplate: 1\n");
    puts_at(w->host.conf, "0104.conf", "name: zero\n");
    puts_at(w->host.conf, "105.conf.tmp.1234", "name: tmp\n");
    puts_at(w->host.conf, "abc.conf", "name: abc\n");
    puts_at(w->host.conf, "notes.txt", "name: notes\n");
    world_scan(w);
    assert_int_equal(pve_vm_count(w->pve), 4);
    static const unsigned want[] = {100, 101, 102, 103};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pve_vm_at(w->pve, i)->vmid, want[i]);
    const struct pve_vm *vm = vm_of(w->pve, 101);
    assert_false(vm->running);
    assert_true(vm->has_config);
    assert_string_equal(vm->name, "stopped");
    assert_int_equal(vm->pid, 0);
    assert_false(vm_of(w->pve, 101)->config.template_);
    assert_true(vm_of(w->pve, 102)->config.template_);
    assert_string_equal(vm_of(w->pve, 102)->name, "vm102");
    assert_true(vm_of(w->pve, 100)->running);

    /* VM 101 starts, in its scope, with -cpu host: running, its config name, the CPU it runs. */
    static struct argv a;
    argv_from_list(&a, (const char *const[]){"/usr/bin/kvm", "-id", "101", "-name",
                                             "stopped,debug-threads=on", "-cpu", "host", NULL});
    process(&w->host, 9100, "kvm", &a, QEMU, "/qemu.slice/101.scope", START_B, 1, 1000);
    world_scan(w);
    vm = vm_of(w->pve, 101);
    assert_true(vm->running);
    assert_int_equal(vm->pid, 9100);
    assert_string_equal(vm->cpu, "host");
    assert_int_equal(vm->vcpus, 1);

    /* It stops: known, stopped, and the CPU of its config (none), not of its last run. */
    remove_process(&w->host, 9100);
    world_scan(w);
    vm = vm_of(w->pve, 101);
    assert_false(vm->running);
    assert_string_equal(vm->cpu, "");
    assert_string_equal(vm->name, "stopped");

    /* Its config goes (deleted, or migrated away): forgotten. */
    char path[256];
    snprintf(path, sizeof(path), "%s/101.conf", w->host.conf);
    unlink(path);
    world_scan(w);
    assert_null(vm_of(w->pve, 101));
    assert_int_equal(pve_vm_count(w->pve), 3);
    world_free(w);
}

/* The pools of user.cfg, read again whenever its bytes change: also an edit of the same size
 * with the same mtime, as pmxcfs's whole-second mtimes make two edits within a second look. */
static void test_pools_follow_user_cfg(void **state)
{
    (void)state;
    struct world *w = world_new(DEFAULT_RULES);
    world_scan(w); /* no user.cfg: no pools */
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 100)), "");

    puts_at(w->host.root, "user.cfg",
            "user:root@pam:1:0:::::\n\npool:prod/web:Web:100,101::\npool:lab:::\n");
    world_scan(w);
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 100)), "prod/web");
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 103)), "");

    struct stat st;
    assert_int_equal(stat(w->host.user_cfg, &st), 0);
    puts_at(w->host.root, "user.cfg",
            "user:root@pam:1:0:::::\n\npool:prod/web:Web:101::\npool:lab::103::\n");
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, w->host.user_cfg, times, 0), 0);
    world_scan(w);
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 100)), "");
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 103)), "lab");

    /* user.cfg gone: no pools. */
    unlink(w->host.user_cfg);
    world_scan(w);
    assert_string_equal(pve_vm_pool(w->pve, vm_of(w->pve, 103)), "");
    world_free(w);
}

/* A container, as pve-container lays it out: the monitor in lxc.monitor/<vmid>, init and its
 * services in lxc/<vmid>/ns and below. With its config, all of it is the container's group;
 * without, nothing of it is. */
static void test_container_processes_and_monitor_are_its_group(void **state)
{
    (void)state;
    struct world *w = world_new("process_names:\n  - builtin: pve-qemu\n  - builtin: pve-lxc\n"
                                "  - name: 'ct-{{.Matches.name}}-{{.Matches.vmid}}'\n"
                                "    builtin: pve-lxc\n"
                                "  - name: '{{.Comm}}'\n    cmdline: ['.+']\n");
    puts_at(w->host.lxc, "200.conf", "arch: amd64\nhostname: web\nostype: debian\n");
    static struct argv monitor, init, nginx;
    argv_from_list(&monitor, (const char *const[]){"[lxc monitor] /var/lib/lxc 200", NULL});
    argv_from_list(&init, (const char *const[]){"/sbin/init", NULL});
    argv_from_list(&nginx, (const char *const[]){"nginx: master process", NULL});
    process(&w->host, 9000, "lxc-start", &monitor, "/usr/bin/lxc-start", "/lxc.monitor/200",
            START_A, 0, 0);
    process(&w->host, 9001, "systemd", &init, "/usr/lib/systemd/systemd", "/lxc/200/ns/init.scope",
            START_A, 0, 0);
    process(&w->host, 9002, "nginx", &nginx, "/usr/sbin/nginx",
            "/lxc/200/ns/system.slice/nginx.service", START_A, 0, 0);
    /* Container 201 has no config here (another node's, or plain LXC). */
    process(&w->host, 9100, "systemd", &init, "/usr/lib/systemd/systemd", "/lxc/201/ns/init.scope",
            START_A, 0, 0);
    world_scan(w);
    const struct tracker_group *g = tracker_group_find(w->tracker, "lxc/200");
    assert_non_null(g);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 3);
    assert_null(tracker_group_find(w->tracker, "ct-web-200")); /* the first rule decides */
    assert_null(tracker_group_find(w->tracker, "lxc/201"));
    g = tracker_group_find(w->tracker, "systemd");
    assert_non_null(g);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    /* The VMs are still VMs. */
    assert_non_null(tracker_group_find(w->tracker, "qemu/100"));
    world_free(w);

    /* A config that comes after the processes (/etc/pve mounted late): they are asked again,
     * and join the container at the next scan. */
    w = world_new("process_names:\n  - builtin: pve-lxc\n  - name: other\n    comm: [systemd]\n");
    process(&w->host, 9001, "systemd", &init, "/usr/lib/systemd/systemd", "/lxc/200/ns/init.scope",
            START_A, 0, 0);
    world_scan(w);
    assert_null(tracker_group_find(w->tracker, "lxc/200"));
    puts_at(w->host.lxc, "200.conf", "hostname: late\n");
    world_scan(w);
    g = tracker_group_find(w->tracker, "lxc/200");
    assert_non_null(g);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    world_free(w);

    /* The name template sees the hostname. */
    w = world_new("process_names:\n  - name: 'ct-{{.Matches.name}}-{{.Matches.vmid}}'\n"
                  "    builtin: pve-lxc\n");
    puts_at(w->host.lxc, "200.conf", "hostname: web\n");
    process(&w->host, 9001, "systemd", &init, "/usr/lib/systemd/systemd", "/lxc/200/ns/init.scope",
            START_A, 0, 0);
    world_scan(w);
    g = tracker_group_find(w->tracker, "ct-web-200");
    assert_non_null(g);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    world_free(w);
}

static const struct pve_ct *ct_of(const struct pve *pve, unsigned vmid)
{
    for (size_t i = 0; i < pve_ct_count(pve); i++)
        if (pve_ct_at(pve, i)->vmid == vmid)
            return pve_ct_at(pve, i);
    return NULL;
}

static void ct_cgroup(struct host *h, uint64_t user_usec, const char *io_stat)
{
    char text[256];
    snprintf(text, sizeof(text), "usage_usec %llu\nuser_usec %llu\nsystem_usec 500000\n",
             (unsigned long long)(user_usec + 500000), (unsigned long long)user_usec);
    puts_at(h->cgroup, "lxc/200/cpu.stat", text);
    puts_at(h->cgroup, "lxc/200/io.stat", io_stat);
}

/* The cgroup's counters follow the cgroup: devices of io.stat that leave and come back, and a new
 * cgroup (the container restarted) that counts whole; its gauges are the last reading. */
static void test_container_counters_follow_its_cgroup(void **state)
{
    (void)state;
    struct world *w = world_new("process_names:\n  - builtin: pve-lxc\n");
    puts_at(w->host.lxc, "200.conf", "cores: 3\nhostname: web\nostype: alpine\nswap: 64\n");
    static struct argv init;
    argv_from_list(&init, (const char *const[]){"/sbin/init", NULL});
    process(&w->host, 9001, "init", &init, "/sbin/init", "/lxc/200/ns", START_A, 0, 0);
    ct_cgroup(&w->host, 1000000, "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
    puts_at(w->host.cgroup, "lxc/200/memory.current", "4096000\n");
    puts_at(w->host.cgroup, "lxc/200/memory.swap.current", "8192\n");
    puts_at(w->host.cgroup, "lxc/200/memory.stat", "anon 100\nfile 200\nshmem 7\n");
    puts_at(w->host.cgroup, "lxc/200/cpu.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=10\n");
    world_scan(w);
    const struct pve_ct *ct = ct_of(w->pve, 200);
    assert_non_null(ct);
    assert_true(ct->running);
    assert_string_equal(ct->group, "lxc/200");
    assert_string_equal(ct->name, "web");
    assert_int_equal(ct->cpus_milli, 3000);
    assert_int_equal(ct->maxmem_bytes, 512ull << 20);
    assert_int_equal(ct->maxswap_bytes, 64ull << 20);
    assert_int_equal(ct->processes, 1);
    assert_int_equal(ct->memory_current_bytes, 4096000);
    assert_int_equal(ct->swap_current_bytes, 8192);
    assert_int_equal(ct->memory_stat.bytes[PVE_MEM_SHMEM], 7);
    assert_false(ct->memory_stat.has[PVE_MEM_KERNEL]);
    /* Running at the start: every counter sets its baseline. */
    assert_int_equal(ct->cpu_user_us, 0);
    assert_int_equal(ct->io_total[PVE_IO_RBYTES], 0);
    assert_int_equal(ct->pressure_some_us[PVE_CPU], 0);

    /* Its veths, in name order whatever the directory's order; each from its baseline. */
    tap(&w->host, "veth200i2", 30, 3);
    tap(&w->host, "veth200i0", 10, 1);
    tap(&w->host, "veth200i1", 20, 2);
    tap(&w->host, "veth2000i0", 99, 99); /* container 2000's */
    world_scan(w);
    ct = ct_of(w->pve, 200);
    assert_int_equal(ct->nnics, 3);
    for (size_t i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "veth200i%zu", i);
        assert_string_equal(ct->nics[i].ifname, name);
        assert_true(ct->nics[i].present);
        /* Born while watched: counted whole, the host's transmit as the container's receive. */
        assert_int_equal(ct->nics[i].total[PVE_NIC_RECEIVE_BYTES], 10 * (i + 1));
        assert_int_equal(ct->nics[i].total[PVE_NIC_TRANSMIT_BYTES], i + 1);
    }
    tap(&w->host, "veth200i1", 25, 2);
    world_scan(w);
    assert_int_equal(ct_of(w->pve, 200)->nics[1].total[PVE_NIC_RECEIVE_BYTES], 25);

    /* Growth, and a device's first I/O in a cgroup already followed counts whole. */
    ct_cgroup(&w->host, 1500000,
              "8:0 rbytes=150 wbytes=200 rios=2 wios=2\n253:0 rbytes=10 wbytes=1 rios=1 wios=1\n");
    world_scan(w);
    ct = ct_of(w->pve, 200);
    assert_int_equal(ct->cpu_user_us, 500000);
    assert_int_equal(ct->cpu_system_us, 0);
    assert_int_equal(ct->io_total[PVE_IO_RBYTES], 60);
    assert_int_equal(ct->io_total[PVE_IO_RIOS], 2);

    /* 8:0 leaves the file: nothing falls back. It comes back lower: a new device, counted whole. */
    ct_cgroup(&w->host, 1500000, "253:0 rbytes=30 wbytes=1 rios=1 wios=1\n");
    world_scan(w);
    assert_int_equal(ct_of(w->pve, 200)->io_total[PVE_IO_RBYTES], 80);
    ct_cgroup(&w->host, 1500000,
              "8:0 rbytes=5 wbytes=0 rios=1 wios=0\n253:0 rbytes=30 wbytes=1 rios=1 wios=1\n");
    world_scan(w);
    assert_int_equal(ct_of(w->pve, 200)->io_total[PVE_IO_RBYTES], 85);

    /* The container restarts: a new cgroup (another inode) counts whole, even above the old
     * cgroup's readings. */
    char path[512], old[512];
    snprintf(path, sizeof(path), "%s/lxc/200", w->host.cgroup);
    /* Made before the old one goes, so that this file system cannot reuse its inode number (on
     * cgroupfs, ids never come back). */
    snprintf(old, sizeof(old), "%s/lxc/old", w->host.cgroup);
    assert_int_equal(rename(path, old), 0);
    ct_cgroup(&w->host, 2000000, "8:0 rbytes=500 wbytes=0 rios=9 wios=0\n");
    remove_tree(old);
    world_scan(w);
    ct = ct_of(w->pve, 200);
    assert_int_equal(ct->cpu_user_us, 500000 + 2000000);
    assert_int_equal(ct->cpu_system_us, 500000);
    assert_int_equal(ct->io_total[PVE_IO_RBYTES], 85 + 500);
    assert_false(ct->has_memory_current);

    /* Stopped: kept while its config is here, not running; forgotten without it. */
    remove_tree(path);
    world_scan(w);
    assert_non_null(ct_of(w->pve, 200));
    assert_false(ct_of(w->pve, 200)->running);
    snprintf(path, sizeof(path), "%s/200.conf", w->host.lxc);
    assert_int_equal(unlink(path), 0);
    world_scan(w);
    assert_null(ct_of(w->pve, 200));
    world_free(w);
}

/* Every container configured on this node is known, running (its cgroup lxc/<vmid> exists) or
 * stopped; what is no container config is not. Forgotten when neither running nor configured.
 * Their pools come from user.cfg also on a node without VMs. */
/* A container's config edited twice within a second, to the same size: seen all the same, as a
 * VM's is (pmxcfs keeps whole-second mtimes). */
static void test_a_container_config_edit_within_the_same_second_is_seen(void **state)
{
    (void)state;
    struct world *w = world_new("process_names:\n  - builtin: pve-lxc\n");
    char path[512];
    snprintf(path, sizeof(path), "%s/201.conf", w->host.lxc);
    const struct timespec second[2] = {{.tv_sec = 1700000100}, {.tv_sec = 1700000100}};
    puts_at(w->host.lxc, "201.conf", "hostname: db\nmemory: 2048\n");
    assert_int_equal(utimensat(AT_FDCWD, path, second, 0), 0);
    world_scan(w);
    assert_int_equal(ct_of(w->pve, 201)->maxmem_bytes, 2048ull << 20);
    puts_at(w->host.lxc, "201.conf", "hostname: dc\nmemory: 4096\n");
    assert_int_equal(utimensat(AT_FDCWD, path, second, 0), 0);
    world_scan(w);
    assert_int_equal(ct_of(w->pve, 201)->maxmem_bytes, 4096ull << 20);
    assert_string_equal(ct_of(w->pve, 201)->name, "dc");
    world_free(w);
}

static void test_configured_containers_are_known_stopped_or_running(void **state)
{
    (void)state;
    struct world *w = world_new("process_names:\n  - builtin: pve-lxc\n");
    char path[512];
    /* No VM on this node: the pools are read for the containers alone. */
    snprintf(path, sizeof(path), "%s/100.conf", w->host.conf);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/103.conf", w->host.conf);
    assert_int_equal(unlink(path), 0);
    puts_at(w->host.root, "user.cfg", "pool:ct/infra::200,201::\n");
    puts_at(w->host.lxc, "200.conf", "hostname: web\nostype: debian\n");
    puts_at(w->host.lxc, "201.conf", "hostname: db\nmemory: 2048\n");
    puts_at(w->host.lxc, "202.conf", "ostype: alpine\ntemplate: 1\n");
    puts_at(w->host.lxc, "0204.conf", "hostname: zero\n");
    puts_at(w->host.lxc, "205.conf.tmp.1234", "hostname: tmp\n");
    puts_at(w->host.lxc, "abc.conf", "hostname: abc\n");
    static struct argv init;
    argv_from_list(&init, (const char *const[]){"/sbin/init", NULL});
    process(&w->host, 9001, "init", &init, "/sbin/init", "/lxc/200/ns", START_A, 0, 0);
    ct_cgroup(&w->host, 1000000, "");
    world_scan(w);
    assert_int_equal(pve_vm_count(w->pve), 0);
    assert_int_equal(pve_ct_count(w->pve), 3);
    static const unsigned want[] = {200, 201, 202};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pve_ct_at(w->pve, i)->vmid, want[i]);
    assert_true(ct_of(w->pve, 200)->running);
    assert_string_equal(ct_of(w->pve, 200)->group, "lxc/200");
    const struct pve_ct *ct = ct_of(w->pve, 201);
    assert_false(ct->running);
    assert_true(ct->has_config);
    assert_string_equal(ct->name, "db");
    assert_int_equal(ct->maxmem_bytes, 2048ull << 20);
    assert_null(ct->group);
    assert_false(ct->config.template_);
    assert_true(ct_of(w->pve, 202)->config.template_);
    assert_string_equal(ct_of(w->pve, 202)->name, "CT202");
    assert_string_equal(pve_ct_pool(w->pve, ct_of(w->pve, 200)), "ct/infra");
    assert_string_equal(pve_ct_pool(w->pve, ct), "ct/infra");
    assert_string_equal(pve_ct_pool(w->pve, ct_of(w->pve, 202)), "");

    /* 201 starts after the first scan: its new cgroup counts whole. */
    snprintf(path, sizeof(path), "%s/lxc/201", w->host.cgroup);
    puts_at(path, "cpu.stat", "usage_usec 300\nuser_usec 200\nsystem_usec 100\n");
    world_scan(w);
    ct = ct_of(w->pve, 201);
    assert_true(ct->running);
    assert_int_equal(ct->cpu_user_us, 200);
    assert_int_equal(ct->cpu_system_us, 100);

    /* 200 stops: kept, stopped. 201's config goes while it runs (migrating away): kept while
     * it runs, forgotten when it stops too. */
    snprintf(path, sizeof(path), "%s/lxc/200", w->host.cgroup);
    remove_tree(path);
    remove_process(&w->host, 9001);
    snprintf(path, sizeof(path), "%s/201.conf", w->host.lxc);
    assert_int_equal(unlink(path), 0);
    world_scan(w);
    assert_false(ct_of(w->pve, 200)->running);
    assert_true(ct_of(w->pve, 201)->running);
    assert_false(ct_of(w->pve, 201)->has_config);
    snprintf(path, sizeof(path), "%s/lxc/201", w->host.cgroup);
    remove_tree(path);
    world_scan(w);
    assert_null(ct_of(w->pve, 201));
    assert_int_equal(pve_ct_count(w->pve), 2);
    world_free(w);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_captures_survive_a_second_match),
        cmocka_unit_test(test_collector_learns_the_group_from_the_decision),
        cmocka_unit_test(test_nic_counters_through_tap_recreation_and_vm_restart),
        cmocka_unit_test(test_kvm_outside_the_scope_does_not_take_over_a_vm),
        cmocka_unit_test(test_a_scope_and_tap_outliving_a_qemu_restart_count_once),
        cmocka_unit_test(test_a_config_cut_at_the_bound_keeps_whole_lines),
        cmocka_unit_test(test_a_vm_whose_config_appears_later_is_reported),
        cmocka_unit_test(test_a_config_edit_within_the_same_second_is_seen),
        cmocka_unit_test(test_a_name_longer_than_an_interface_is_no_tap),
        cmocka_unit_test(test_tap_statistics_files_in_the_taps_orientation),
        cmocka_unit_test(test_a_configured_vmid_outside_its_scope_changes_nothing),
        cmocka_unit_test(test_first_vm_after_an_empty_start_counts_its_taps_from_birth),
        cmocka_unit_test(test_a_reload_renaming_the_group_keeps_vm_counters),
        cmocka_unit_test(test_container_processes_and_monitor_are_its_group),
        cmocka_unit_test(test_container_counters_follow_its_cgroup),
        cmocka_unit_test(test_configured_vms_are_known_stopped_or_running),
        cmocka_unit_test(test_pools_follow_user_cfg),
        cmocka_unit_test(test_configured_containers_are_known_stopped_or_running),
        cmocka_unit_test(test_a_container_config_edit_within_the_same_second_is_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
