/* The pve-qemu decision as a pure function: identities of QEMU processes (real PVE command lines)
 * and helpers, with the config dir answered by a table instead of files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdio.h>
#include <string.h>

#include "fake_identity.h"
#include "pve/pve_match.h"

#define QEMU "/usr/bin/qemu-system-x86_64"

/* The configs on "this node": vmid and name ("" for a config without one). */
struct configs {
    struct {
        unsigned vmid;
        const char *name;
    } vm[4];
    size_t n;
    unsigned asked;
};

static bool lookup(void *ctx, unsigned vmid, char *name, size_t name_size)
{
    struct configs *c = ctx;
    c->asked++;
    for (size_t i = 0; i < c->n; i++) {
        if (c->vm[i].vmid == vmid) {
            snprintf(name, name_size, "%s", c->vm[i].name);
            return true;
        }
    }
    return false;
}

static const struct proc_identity *qemu(struct fake_proc *p, const char *exe,
                                        const char *const *argv, const char *const *cgroups)
{
    make_proc(p, "kvm", argv);
    p->id.exe = exe;
    p->id.cgroups = cgroups;
    p->id.ncgroups = cgroups ? 1 : 0;
    return &p->id;
}

static const char *const scope100[] = {"/qemu.slice/100.scope"};
static const char *const scope103[] = {"/qemu.slice/103.scope"};
static const char *const scope104[] = {"/qemu.slice/104.scope"};
static const char *const scope999[] = {"/qemu.slice/999.scope"};

static void test_qemu_with_config_takes_the_config_name(void **state)
{
    (void)state;
    struct configs c = {.vm = {{100, "s-renamed"}}, .n = 1};
    struct fake_proc p;
    struct pve_match m;
    assert_true(pve_match_identity(
        qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "100", "-name", "s,debug-threads=on"), scope100),
        lookup, &c, &m));
    assert_int_equal(m.role, PVE_ROLE_QEMU);
    assert_int_equal(m.vmid, 100);
    assert_string_equal(m.id, "100");
    assert_string_equal(m.name, "s-renamed"); /* the config is newer than the command line */
    assert_string_equal(m.cmd.name, "s");
    assert_int_equal(c.asked, 1);

    /* A config without a name: -name, then "vm<vmid>". */
    c.vm[0].name = "";
    assert_true(pve_match_identity(
        qemu(&p, QEMU " (deleted)", ARGV("/usr/bin/kvm", "-id", "100", "-name", "s"), scope100),
        lookup, &c, &m));
    assert_string_equal(m.name, "s");
    assert_true(pve_match_identity(qemu(&p, "", ARGV("/usr/bin/kvm", "-id", "100"), scope100),
                                   lookup, &c, &m));
    assert_string_equal(m.name, "vm100");
}

static void test_qemu_outside_its_scope_is_no_vm(void **state)
{
    (void)state;
    struct configs c = {.vm = {{100, "s"}, {103, "MCP"}}, .n = 2};
    struct fake_proc p;
    struct pve_match m;
    /* Any user can start something as /usr/bin/kvm with -id 100 (and -incoming); only root can
     * put it in the VM's scope. */
    static const char *const session[] = {"/user.slice/user-1000.slice/session-3.scope"};
    assert_false(
        pve_match_identity(qemu(&p, "/usr/bin/python3.11",
                                ARGV("/usr/bin/kvm", "-id", "100", "-incoming", "defer"), session),
                           lookup, &c, &m));
    assert_false(pve_match_identity(qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "100"), NULL),
                                    lookup, &c, &m));
    /* In another VM's scope it is neither that VM's QEMU nor a helper of it. */
    assert_false(pve_match_identity(qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "100"), scope103),
                                    lookup, &c, &m));
    unsigned vmid = 0;
    assert_int_equal(
        pve_role_of(qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "100"), scope103), &vmid, NULL),
        PVE_ROLE_NONE);
}

static void test_qemu_without_config_only_when_migrating_in(void **state)
{
    (void)state;
    struct configs c = {.n = 0};
    struct fake_proc p;
    struct pve_match m;
    /* -id 999 of something that is not a VM of this node. */
    assert_false(pve_match_identity(
        qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "999", "-name", "ghost"), NULL), lookup, &c,
        &m));
    /* The target of a live migration: its config arrives last. */
    assert_true(pve_match_identity(qemu(&p, QEMU,
                                        ARGV("/usr/bin/kvm", "-id", "104", "-name",
                                             "mig,debug-threads=on", "-incoming", "defer"),
                                        scope104),
                                   lookup, &c, &m));
    assert_int_equal(m.role, PVE_ROLE_QEMU);
    assert_string_equal(m.id, "104");
    assert_string_equal(m.name, "mig");
    assert_true(m.cmd.incoming);
}

static void test_helpers_in_the_scope_of_a_configured_vm(void **state)
{
    (void)state;
    struct configs c = {.vm = {{100, "s"}, {103, ""}}, .n = 2};
    struct fake_proc p;
    struct pve_match m;
    assert_true(pve_match_identity(qemu(&p, "/usr/bin/swtpm", ARGV("swtpm", "socket"), scope100),
                                   lookup, &c, &m));
    assert_int_equal(m.role, PVE_ROLE_HELPER);
    assert_string_equal(m.id, "100");
    assert_string_equal(m.name, "s");
    assert_true(pve_match_identity(qemu(&p, "/usr/libexec/virtiofsd", ARGV("virtiofsd"), scope103),
                                   lookup, &c, &m));
    assert_string_equal(m.name, "vm103");

    /* Not in a VM's scope, or in one without a config. */
    static const char *const service[] = {"/system.slice/pvedaemon.service"};
    static const char *const scope7[] = {"/qemu.slice/7.scope"};
    static const char *const not_a_scope[] = {"/qemu.slice/100.scope.d"};
    assert_false(
        pve_match_identity(qemu(&p, "/usr/bin/perl", ARGV("pvedaemon"), service), lookup, &c, &m));
    assert_false(
        pve_match_identity(qemu(&p, "/usr/bin/swtpm", ARGV("swtpm"), scope7), lookup, &c, &m));
    assert_false(
        pve_match_identity(qemu(&p, "/usr/bin/swtpm", ARGV("swtpm"), not_a_scope), lookup, &c, &m));
    /* A QEMU binary without a valid -id is no helper of the scope it runs in. */
    assert_false(
        pve_match_identity(qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-S"), scope100), lookup, &c, &m));
}

static void test_matches_in_a_row_share_nothing(void **state)
{
    (void)state;
    struct configs c = {.vm = {{100, "s"}, {103, "MCP"}}, .n = 2};
    struct fake_proc p, q, r;
    struct pve_match first, second, third;
    const struct proc_identity *vm100 =
        qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "100", "-name", "s"), scope100);
    assert_true(pve_match_identity(vm100, lookup, &c, &first));
    assert_true(pve_match_identity(qemu(&q, "/usr/bin/swtpm", ARGV("swtpm"), scope103), lookup, &c,
                                   &second));
    assert_false(
        pve_match_identity(qemu(&r, "/usr/bin/bash", ARGV("bash"), NULL), lookup, &c, &third));
    /* The first one's captures are still its own. */
    assert_int_equal(first.role, PVE_ROLE_QEMU);
    assert_string_equal(first.id, "100");
    assert_string_equal(first.name, "s");
    assert_string_equal(second.id, "103");
    assert_string_equal(second.name, "MCP");
    /* The same identity decides the same way however often it is asked. */
    struct pve_match again;
    assert_true(pve_match_identity(vm100, lookup, &c, &again));
    assert_string_equal(again.id, first.id);
    assert_string_equal(again.name, first.name);
}

static void test_role_of_needs_no_config(void **state)
{
    (void)state;
    struct fake_proc p;
    unsigned vmid = 0;
    struct pve_cmdline cmd;
    assert_int_equal(
        pve_role_of(qemu(&p, QEMU, ARGV("/usr/bin/kvm", "-id", "999"), scope999), &vmid, &cmd),
        PVE_ROLE_QEMU);
    assert_int_equal(vmid, 999);
    assert_int_equal(cmd.vmid, 999);
    assert_int_equal(pve_role_of(qemu(&p, "/usr/bin/swtpm", ARGV("swtpm"), scope103), &vmid, NULL),
                     PVE_ROLE_HELPER);
    assert_int_equal(vmid, 103);
    assert_int_equal(pve_role_of(qemu(&p, "/usr/bin/bash", ARGV("bash"), NULL), &vmid, NULL),
                     PVE_ROLE_NONE);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_with_config_takes_the_config_name),
        cmocka_unit_test(test_qemu_without_config_only_when_migrating_in),
        cmocka_unit_test(test_qemu_outside_its_scope_is_no_vm),
        cmocka_unit_test(test_helpers_in_the_scope_of_a_configured_vm),
        cmocka_unit_test(test_matches_in_a_row_share_nothing),
        cmocka_unit_test(test_role_of_needs_no_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
