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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_main_section_only),
        cmocka_unit_test(test_config_defaults_and_garbage),
        cmocka_unit_test(test_role_from_the_cgroups_pve_container_makes),
        cmocka_unit_test(test_role_from_any_hierarchy),
        cmocka_unit_test(test_match_needs_the_config_and_names_by_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
