/* PVE containers as pure functions: the main section of /etc/pve/lxc/<vmid>.conf, and the
 * pve-lxc decision from a process's cgroups, with the config dir answered by a table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fake_identity.h"
#include "pve/pve_lxc.h"

/* The config of section 5 of the PVE notes, as PVE writes it, with a description, raw lxc keys
 * and a snapshot that repeats keys. */
static const char pihole[] = "#Pi-hole%3A DNS sinkhole\n"
                             "arch: amd64\n"
                             "cores: 1\n"
                             "features: nesting=1\n"
                             "hostname: pi-hole\n"
                             "memory: 1024\n"
                             "net0: name=eth0,bridge=vmbr0,firewall=1,gw=192.168.2.1,"
                             "hwaddr=BC:24:11:44:B6:42,ip=192.168.2.122/24,type=veth\n"
                             "onboot: 1\n"
                             "ostype: debian\n"
                             "parent: before-upgrade\n"
                             "rootfs: local-lvm:vm-101-disk-0,size=8G\n"
                             "swap: 512\n"
                             "tags: dns, home;pi\n"
                             "unprivileged: 1\n"
                             "lxc.apparmor.profile: unconfined\n"
                             "lxc.cgroup2.devices.allow: a\n"
                             "\n"
                             "[before-upgrade]\n"
                             "hostname: old-name\n"
                             "memory: 256\n"
                             "snaptime: 1736939109\n";

static void test_config_main_section_only(void **state)
{
    (void)state;
    struct pve_lxc_config c;
    assert_int_equal(pve_parse_lxc_config(pihole, strlen(pihole), &c), 0);
    assert_string_equal(c.hostname, "pi-hole");
    assert_string_equal(c.ostype, "debian");
    assert_string_equal(c.arch, "amd64");
    assert_string_equal(c.tags, "dns;home;pi");
    assert_int_equal(c.cores, 1);
    assert_int_equal(pve_lxc_cpus_milli(&c, 64), 1000);
    assert_int_equal(c.memory_mib, 1024);
    assert_int_equal(c.swap_mib, 512);
    assert_true(c.unprivileged);
    assert_false(c.template_);
    assert_int_equal(pve_lxc_maxmem_bytes(&c), 1024ull << 20);
}

static void test_config_defaults_and_garbage(void **state)
{
    (void)state;
    struct pve_lxc_config c;
    /* No memory, cores or hostname: PVE's defaults are for the consumer to apply. */
    const char minimal[] = "arch: amd64\r\nostype: alpine\r\ncores: many\r\ntemplate: 1\r\n";
    assert_int_equal(pve_parse_lxc_config(minimal, strlen(minimal), &c), 0);
    assert_string_equal(c.hostname, "");
    assert_string_equal(c.ostype, "alpine");
    assert_int_equal(c.cores, 0);
    assert_int_equal(pve_lxc_cpus_milli(&c, 64), 64000); /* the host's */
    assert_int_equal(pve_lxc_cpus_milli(NULL, 2), 2000);
    assert_int_equal(c.memory_mib, 0);
    assert_true(c.template_);
    assert_int_equal(pve_lxc_maxmem_bytes(&c), 512ull << 20);
    assert_int_equal(pve_lxc_maxmem_bytes(NULL), 512ull << 20);

    /* Only raw lxc keys, a snapshot, or nothing: no main section. */
    const char raw_only[] = "lxc.idmap: u 0 100000 65536\n[snap]\nhostname: x\n";
    assert_int_equal(pve_parse_lxc_config(raw_only, strlen(raw_only), &c), -EINVAL);
    assert_int_equal(pve_parse_lxc_config("", 0, &c), -EINVAL);

    /* Not NUL-terminated: the hostname ends at the buffer's end. */
    const char cut[] = "hostname: webXXXX";
    assert_int_equal(pve_parse_lxc_config(cut, 13, &c), 0);
    assert_string_equal(c.hostname, "web");

    /* A hostname longer than the buffer is cut, NUL-terminated. */
    char longname[400] = "hostname: ";
    memset(longname + 10, 'a', 300);
    longname[310] = '\n';
    assert_int_equal(pve_parse_lxc_config(longname, 311, &c), 0);
    assert_int_equal(strlen(c.hostname), sizeof(c.hostname) - 1);
}

static void test_config_cpulimit(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned milli;
    } cases[] = {
        {"cpulimit: 2\n", 2000}, {"cpulimit: 0.5\n", 500}, {"cpulimit: 1.25\n", 1250},
        {"cpulimit: .5\n", 500}, {"cpulimit: 1.\n", 0},    {"cpulimit: 1.2345\n", 0},
        {"cpulimit: -1\n", 0},   {"cpulimit: 8193\n", 0},  {"cpulimit: 0\n", 0},
        {"cpulimit: 1.5x\n", 0}, {"cpulimit: .\n", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pve_lxc_config c;
        assert_int_equal(pve_parse_lxc_config(cases[i].text, strlen(cases[i].text), &c), 0);
        assert_int_equal(c.cpulimit_milli, cases[i].milli);
    }
    /* cores wins over cpulimit, as in PVE's status; cpulimit over the host's CPUs. */
    struct pve_lxc_config c;
    const char both[] = "cores: 4\ncpulimit: 1.5\n";
    assert_int_equal(pve_parse_lxc_config(both, strlen(both), &c), 0);
    assert_int_equal(pve_lxc_cpus_milli(&c, 64), 4000);
    c.cores = 0;
    assert_int_equal(pve_lxc_cpus_milli(&c, 64), 1500);
}

/* ---- matching ---- */

struct configs {
    struct {
        unsigned vmid;
        const char *hostname;
    } ct[4];
    size_t n;
    unsigned asked;
};

static bool lookup(void *ctx, unsigned vmid, char *name, size_t name_size)
{
    struct configs *c = ctx;
    c->asked++;
    for (size_t i = 0; i < c->n; i++) {
        if (c->ct[i].vmid == vmid) {
            snprintf(name, name_size, "%s", c->ct[i].hostname);
            return true;
        }
    }
    return false;
}

static const struct proc_identity *in_cgroup(struct fake_proc *p, const char *comm,
                                             const char *const *cgroups, size_t n)
{
    make_proc(p, comm, ARGV(comm));
    p->id.cgroups = cgroups;
    p->id.ncgroups = n;
    return &p->id;
}

static unsigned role_vmid(const char *cgroup, enum pve_lxc_role *role)
{
    struct fake_proc p;
    const char *const cg[] = {cgroup};
    unsigned vmid = 12345;
    *role = pve_lxc_role_of(in_cgroup(&p, "x", cg, 1), &vmid);
    return vmid;
}

static void test_role_from_the_cgroups_pve_container_makes(void **state)
{
    (void)state;
    enum pve_lxc_role role;
    /* The payload: the limits cgroup, its ns, and what the container's init makes below. */
    assert_int_equal(role_vmid("/lxc/101/ns", &role), 101);
    assert_int_equal(role, PVE_LXC_PAYLOAD);
    assert_int_equal(role_vmid("/lxc/101/ns/system.slice/nginx.service", &role), 101);
    assert_int_equal(role, PVE_LXC_PAYLOAD);
    assert_int_equal(role_vmid("/lxc/101", &role), 101);
    assert_int_equal(role, PVE_LXC_PAYLOAD);
    /* A container nested in 101 is 101's, on the host. */
    assert_int_equal(role_vmid("/lxc/101/ns/lxc/5/ns", &role), 101);
    assert_int_equal(role, PVE_LXC_PAYLOAD);
    /* The monitor and its hooks. */
    assert_int_equal(role_vmid("/lxc.monitor/101", &role), 101);
    assert_int_equal(role, PVE_LXC_MONITOR);
    assert_int_equal(role_vmid("/lxc.monitor/999999999", &role), 999999999);
    assert_int_equal(role, PVE_LXC_MONITOR);

    /* Not a container: other layouts, not a vmid, not at the root. */
    static const char *const others[] = {
        "/lxc",
        "/lxc/",
        "/lxc/ns",
        "/lxc/0",
        "/lxc/0101/ns",
        "/lxc/101x/ns",
        "/lxc/1000000000/ns",
        "/lxc.pivot",
        "/lxc.monitor",
        "/lxc.monitor/abc",
        "/lxc.payload.101",
        "/lxc.monitor.101",
        "/qemu.slice/101.scope",
        "/user.slice/lxc/101",
        "/system.slice/pve-container@101.service",
        "",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_int_equal(role_vmid(others[i], &role), 0);
        assert_int_equal(role, PVE_LXC_NONE);
    }
}

static void test_role_from_any_hierarchy(void **state)
{
    (void)state;
    /* cgroup v1 or hybrid: one line per hierarchy; the first of a container decides. */
    static const char *const hybrid[] = {"/", "/user.slice", "/lxc/203/ns", "/lxc/203/ns"};
    struct fake_proc p;
    unsigned vmid;
    assert_int_equal(pve_lxc_role_of(in_cgroup(&p, "x", hybrid, 4), &vmid), PVE_LXC_PAYLOAD);
    assert_int_equal(vmid, 203);
    assert_int_equal(pve_lxc_role_of(in_cgroup(&p, "x", NULL, 0), &vmid), PVE_LXC_NONE);
}

static void test_match_needs_the_config_and_names_by_hostname(void **state)
{
    (void)state;
    struct configs c = {.ct = {{101, "pi-hole"}, {102, ""}}, .n = 2};
    struct fake_proc p;
    struct pve_lxc_match m;
    static const char *const init101[] = {"/lxc/101/ns/init.scope"};
    static const char *const monitor101[] = {"/lxc.monitor/101"};
    static const char *const payload102[] = {"/lxc/102/ns"};
    static const char *const payload104[] = {"/lxc/104/ns"};
    static const char *const host[] = {"/system.slice/cron.service"};

    assert_true(pve_lxc_match_identity(in_cgroup(&p, "systemd", init101, 1), lookup, &c, &m));
    assert_int_equal(m.role, PVE_LXC_PAYLOAD);
    assert_int_equal(m.vmid, 101);
    assert_string_equal(m.id, "101");
    assert_string_equal(m.name, "pi-hole");
    assert_int_equal(c.asked, 1);

    /* The monitor joins its container. */
    assert_true(pve_lxc_match_identity(in_cgroup(&p, "lxc-start", monitor101, 1), lookup, &c, &m));
    assert_int_equal(m.role, PVE_LXC_MONITOR);
    assert_string_equal(m.name, "pi-hole");

    /* Without a hostname, PVE's name for it. */
    assert_true(pve_lxc_match_identity(in_cgroup(&p, "init", payload102, 1), lookup, &c, &m));
    assert_string_equal(m.name, "CT102");

    /* No config on this node (another node's container, a plain LXC one): no match. */
    assert_false(pve_lxc_match_identity(in_cgroup(&p, "init", payload104, 1), lookup, &c, &m));
    /* Not in a container's cgroup: the config dir is not even asked. */
    unsigned asked = c.asked;
    assert_false(pve_lxc_match_identity(in_cgroup(&p, "cron", host, 1), lookup, &c, &m));
    assert_int_equal(c.asked, asked);
}

/* ---- cgroup files (captured from Linux 6.1) ---- */

static void test_cpu_stat(void **state)
{
    (void)state;
    const char text[] = "usage_usec 2345678\nuser_usec 2000000\nsystem_usec 345678\n"
                        "core_sched.force_idle_usec 0\nnr_periods 0\nnr_throttled 0\n"
                        "throttled_usec 0\nnr_bursts 0\nburst_usec 0\n";
    struct pve_cpu_stat cpu;
    assert_int_equal(pve_parse_cpu_stat(text, strlen(text), &cpu), 0);
    assert_int_equal(cpu.user_usec, 2000000);
    assert_int_equal(cpu.system_usec, 345678);
    const char partial[] = "usage_usec 5\nuser_usec 5\n";
    assert_int_equal(pve_parse_cpu_stat(partial, strlen(partial), &cpu), -EINVAL);
    /* "user_usecs" is another key; a cut line is no number. */
    const char other[] = "user_usecs 1\nsystem_usec 2\nuser_usec 3x\n";
    assert_int_equal(pve_parse_cpu_stat(other, strlen(other), &cpu), -EINVAL);
}

static void test_memory_stat(void **state)
{
    (void)state;
    const char text[] = "anon 1048576\nfile 2097152\nkernel 65536\nkernel_stack 16384\n"
                        "pagetables 8192\nsec_pagetables 0\npercpu 0\nsock 4096\nvmalloc 0\n"
                        "shmem 12288\nfile_mapped 0\n";
    struct pve_memory_stats m;
    assert_int_equal(pve_parse_memory_stat(text, strlen(text), &m), 0);
    assert_int_equal(m.bytes[PVE_MEM_ANON], 1048576);
    assert_int_equal(m.bytes[PVE_MEM_FILE], 2097152);
    assert_int_equal(m.bytes[PVE_MEM_KERNEL], 65536); /* not kernel_stack */
    assert_int_equal(m.bytes[PVE_MEM_SHMEM], 12288);
    assert_int_equal(m.bytes[PVE_MEM_SOCK], 4096);
    /* Before Linux 5.18 there is no "kernel". */
    const char old[] = "anon 1\nfile 2\n";
    assert_int_equal(pve_parse_memory_stat(old, strlen(old), &m), 0);
    assert_false(m.has[PVE_MEM_KERNEL]);
    assert_true(m.has[PVE_MEM_FILE]);
    assert_string_equal(pve_memory_stat_name(PVE_MEM_KERNEL), "kernel");
    assert_int_equal(pve_parse_memory_stat("file 2\n", 7, &m), -EINVAL);
}

struct io_lines {
    char dev[4][16];
    uint64_t v[4][PVE_IO_STATS];
    size_t n;
};

static void io_line(void *ctx, const char *dev, size_t dev_len, const uint64_t values[PVE_IO_STATS])
{
    struct io_lines *l = ctx;
    assert_true(l->n < 4 && dev_len < 16);
    memcpy(l->dev[l->n], dev, dev_len);
    l->dev[l->n][dev_len] = '\0';
    memcpy(l->v[l->n], values, sizeof(l->v[0]));
    l->n++;
}

static void test_io_stat(void **state)
{
    (void)state;
    const char text[] = "253:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                        "8:0 rbytes=1000 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n"
                        "7:1 rbytes=5\n" /* an older kernel's fewer keys */
                        "garbage line\n";
    struct io_lines l = {.n = 0};
    assert_int_equal(pve_parse_io_stat(text, strlen(text), io_line, &l), 3);
    assert_string_equal(l.dev[0], "253:0");
    assert_int_equal(l.v[0][PVE_IO_RBYTES], 4096);
    assert_int_equal(l.v[0][PVE_IO_WBYTES], 8192);
    assert_int_equal(l.v[0][PVE_IO_RIOS], 1);
    assert_int_equal(l.v[0][PVE_IO_WIOS], 2);
    assert_string_equal(l.dev[1], "8:0");
    assert_int_equal(l.v[1][PVE_IO_RIOS], 3);
    assert_string_equal(l.dev[2], "7:1");
    assert_int_equal(l.v[2][PVE_IO_RBYTES], 5);
    assert_int_equal(l.v[2][PVE_IO_WIOS], 0);
    l.n = 0;
    assert_int_equal(pve_parse_io_stat("", 0, io_line, &l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_main_section_only),
        cmocka_unit_test(test_config_defaults_and_garbage),
        cmocka_unit_test(test_config_cpulimit),
        cmocka_unit_test(test_role_from_the_cgroups_pve_container_makes),
        cmocka_unit_test(test_role_from_any_hierarchy),
        cmocka_unit_test(test_match_needs_the_config_and_names_by_hostname),
        cmocka_unit_test(test_cpu_stat),
        cmocka_unit_test(test_memory_stat),
        cmocka_unit_test(test_io_stat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
