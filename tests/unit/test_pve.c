/* The PVE parsers on real `qm showcmd` output and VM configs, on command lines constructed from
 * what qemu-server emits (marked as such), and on truncated and random input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/pve_parse.h"
#include "pve/pve_status.h"

#define PVE_FIXTURES FIXTURES_DIR "/pve"
#define MIB (UINT64_C(1) << 20)
#define MAX_ARGS 512

#define assert_double_near(a, b) assert_true((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static size_t slurp(const char *name, char *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PVE_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    assert_true(n < cap - 1);
    fclose(f);
    buf[n] = '\0';
    return n;
}

/* A command line in the fixture format: one option per line, split at the first space into the
 * flag and its value; line 1 is argv[0]. */
struct args {
    char text[32768];
    const char *argv[MAX_ARGS];
    size_t argc;
};

static void args_from_text(struct args *a, const char *text)
{
    size_t len = strlen(text);
    assert_true(len < sizeof(a->text));
    memcpy(a->text, text, len + 1);
    a->argc = 0;
    for (char *line = a->text; *line;) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = '\0';
        if (*line) {
            char *sp = strchr(line, ' ');
            if (sp)
                *sp = '\0';
            assert_true(a->argc + 2 <= MAX_ARGS);
            a->argv[a->argc++] = line;
            if (sp)
                a->argv[a->argc++] = sp + 1;
        }
        line = next;
    }
}

static void args_from_fixture(struct args *a, const char *name)
{
    static char buf[32768];
    slurp(name, buf, sizeof(buf));
    args_from_text(a, buf);
}

static int parse_text(const char *text, struct pve_cmdline *cmd)
{
    static struct args a;
    args_from_text(&a, text);
    return pve_parse_cmdline(a.argc, a.argv, cmd);
}

static void test_cmdline_fixture_a_pve8(void **state)
{
    (void)state;
    static struct args a;
    struct pve_cmdline cmd;
    args_from_fixture(&a, "cmdline-a.txt");
    assert_int_equal(a.argc, 66); /* 35 lines, 31 with a value */
    assert_int_equal(pve_parse_cmdline(a.argc, a.argv, &cmd), 0);
    assert_int_equal(cmd.vmid, 100);
    assert_string_equal(cmd.name, "s");
    assert_string_equal(cmd.cpu_model, "qemu64");
    assert_int_equal(cmd.smp_cpus, 16);
    assert_int_equal(cmd.smp_sockets, 1);
    assert_int_equal(cmd.smp_cores, 16);
    assert_int_equal(cmd.smp_maxcpus, 16);
    assert_int_equal(cmd.hotplug_cpus, 0);
    assert_int_equal(cmd.m_mib, 2048);
    assert_int_equal(cmd.m_maxmem_mib, 0);
    assert_int_equal(cmd.backends_mib, 0);
    assert_false(cmd.incoming);
    assert_false(cmd.hugepages);
    assert_int_equal(cmd.ntaps, 1);
    assert_string_equal(cmd.taps[0], "tap100i0");
    assert_true(pve_is_qemu(NULL, a.argv[0]));
    assert_int_equal(pve_vcpus(&cmd, NULL, 0), 16);
    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 2048 * MIB);
}

static void test_cmdline_fixture_b_pve9_json_blockdev(void **state)
{
    (void)state;
    static struct args a;
    struct pve_cmdline cmd;
    args_from_fixture(&a, "cmdline-b.txt");
    assert_int_equal(a.argc, 74); /* 39 lines, 35 with a value */
    assert_int_equal(pve_parse_cmdline(a.argc, a.argv, &cmd), 0);
    assert_int_equal(cmd.vmid, 103);
    assert_string_equal(cmd.name, "MCP");
    assert_string_equal(cmd.cpu_model, "qemu64");
    assert_int_equal(cmd.smp_cpus, 20);
    assert_int_equal(cmd.smp_sockets, 1);
    assert_int_equal(cmd.smp_cores, 20);
    assert_int_equal(cmd.smp_maxcpus, 20);
    assert_int_equal(cmd.hotplug_cpus, 0);
    assert_int_equal(cmd.m_mib, 20480);
    assert_int_equal(cmd.m_maxmem_mib, 0);
    assert_int_equal(cmd.backends_mib, 0);
    assert_false(cmd.incoming);
    assert_false(cmd.hugepages);
    assert_int_equal(cmd.ntaps, 1);
    assert_string_equal(cmd.taps[0], "tap103i0");
}

/* Constructed: qemu-server with `hotplug: cpu`, `sockets: 2`, `cores: 4`, `vcpus: 4`. */
static const char vcpu_hotplug[] = "/usr/bin/kvm\n"
                                   "-id 100\n"
                                   "-name hot,debug-threads=on\n"
                                   "-smp 1,sockets=2,cores=4,maxcpus=8\n"
                                   "-cpu qemu64,+aes\n"
                                   "-m 2048\n"
                                   "-device qemu64-x86_64-cpu,id=cpu2,socket-id=0,core-id=1,"
                                   "thread-id=0\n"
                                   "-device qemu64-x86_64-cpu,id=cpu3,socket-id=0,core-id=2,"
                                   "thread-id=0\n"
                                   "-device qemu64-x86_64-cpu,id=cpu4,socket-id=0,core-id=3,"
                                   "thread-id=0\n"
                                   "-device VGA,id=vga,bus=pci.0,addr=0x2\n";

static void test_cmdline_vcpu_hotplug_counts_cpu_devices(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    struct pve_config conf;
    const char config[] = "cores: 4\nhotplug: disk,network,usb,cpu\nsockets: 2\nvcpus: 4\n";

    assert_int_equal(parse_text(vcpu_hotplug, &cmd), 0);
    assert_int_equal(cmd.smp_cpus, 1);
    assert_int_equal(cmd.smp_sockets, 2);
    assert_int_equal(cmd.smp_cores, 4);
    assert_int_equal(cmd.smp_maxcpus, 8);
    assert_int_equal(cmd.hotplug_cpus, 3);
    assert_int_equal(pve_vcpus(&cmd, NULL, 0), 4);

    assert_int_equal(pve_parse_config(config, strlen(config), &conf), 0);
    assert_true(conf.hotplug_cpu);
    assert_int_equal(conf.vcpus, 4);
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 4);
    /* Two more hot-added since start: only the threads know. */
    assert_int_equal(pve_vcpus(&cmd, &conf, 6), 6);
}

/* Constructed after qemu-server's memory-hotplug test: `memory: 66560`, `hotplug: memory`,
 * `numa: 1`. The static 1024 MiB is ram-node0; qemu-server adds DIMMs of 512 MiB, doubling the
 * size every 32 DIMMs, until the config memory is reached: 32x512 + 32x1024 + 8x2048. */
static void test_cmdline_memory_hotplug_sums_node_and_dimms(void **state)
{
    (void)state;
    static char text[32768];
    struct pve_cmdline cmd;
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "/usr/bin/kvm\n-id 101\n-name memhot\n-smp 2,sockets=1,cores=2,"
                                "maxcpus=2\n-m size=1024,slots=255,maxmem=4194304M\n"
                                "-object memory-backend-ram,id=ram-node0,size=1024M\n"
                                "-numa node,nodeid=0,cpus=0-1,memdev=ram-node0\n");
    for (unsigned i = 0; i < 72; i++) {
        unsigned mib = i < 32 ? 512 : i < 64 ? 1024 : 2048;
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "-object memory-backend-ram,id=mem-dimm%u,size=%uM\n"
                              "-device pc-dimm,id=dimm%u,memdev=mem-dimm%u,node=0\n",
                              i, mib, i, i);
        assert_true(n < sizeof(text));
    }
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.m_mib, 1024);
    assert_int_equal(cmd.m_maxmem_mib, 4194304);
    assert_int_equal(cmd.backends_mib, 66560);
    assert_false(cmd.hugepages);
    assert_int_equal(cmd.hotplug_cpus, 0); /* pc-dimm is not a CPU */
    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 66560 * MIB);
}

/* Constructed: `hugepages: 2`, `numa: 1`, two NUMA nodes. */
static void test_cmdline_hugepages_numa_file_backends(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char text[] = "/usr/bin/kvm\n-id 102\n-name huge\n-smp 4,sockets=2,cores=2,maxcpus=4\n"
                        "-m 4096\n"
                        "-object memory-backend-file,id=ram-node0,size=2048M,"
                        "mem-path=/run/hugepages/kvm/2048kB,share=on,prealloc=yes\n"
                        "-numa node,nodeid=0,cpus=0-1,memdev=ram-node0\n"
                        "-object memory-backend-file,id=ram-node1,size=2048M,"
                        "mem-path=/run/hugepages/kvm/2048kB,share=on,prealloc=yes\n"
                        "-numa node,nodeid=1,cpus=2-3,memdev=ram-node1\n";
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.backends_mib, 4096);
    assert_int_equal(cmd.m_mib, 4096);
    assert_true(cmd.hugepages);
    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 4096 * MIB);

    /* Any file backend with a path; an empty mem-path is no path. */
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 102\n-object memory-backend-file,id=ram-node0,"
                                "size=1G,mem-path=/dev/hugepages\n",
                                &cmd),
                     0);
    assert_true(cmd.hugepages);
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 102\n-object memory-backend-file,id=ram-node0,"
                                "size=1G,mem-path=\n",
                                &cmd),
                     0);
    assert_false(cmd.hugepages);
    assert_int_equal(cmd.backends_mib, 1024);
}

/* Constructed: memfd NUMA backends (virtiofs with `numa: 1`), and the virtiofs-mem backend that
 * duplicates -m without NUMA. Neither hugepages nor the virtiofs RAM may count. */
static void test_cmdline_memfd_backends_count_virtiofs_mem_does_not(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char numa[] = "/usr/bin/kvm\n-id 104\n-m 4096\n"
                        "-object memory-backend-memfd,id=ram-node0,size=2048M,share=on\n"
                        "-object memory-backend-memfd,id=ram-node1,size=2048M,share=on\n"
                        "-object memory-backend-memfd,id=virtiofs-mem,size=4096M,share=on\n";
    assert_int_equal(parse_text(numa, &cmd), 0);
    assert_int_equal(cmd.backends_mib, 4096);
    assert_false(cmd.hugepages);

    const char plain[] = "/usr/bin/kvm\n-id 105\n-m 4096\n"
                         "-object memory-backend-memfd,id=virtiofs-mem,size=4096M,share=on\n"
                         "-machine memory-backend=virtiofs-mem,type=pc+pve0\n";
    assert_int_equal(parse_text(plain, &cmd), 0);
    assert_int_equal(cmd.backends_mib, 0);
    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 4096 * MIB);

    const char hugetlb[] = "/usr/bin/kvm\n-id 106\n"
                           "-object memory-backend-memfd,id=ram-node0,size=1G,hugetlb=on\n";
    assert_int_equal(parse_text(hugetlb, &cmd), 0);
    assert_int_equal(cmd.backends_mib, 1024);
    assert_true(cmd.hugepages);
}

/* QEMU semantics: a size= of an -object without suffix is bytes; -m without suffix is MiB;
 * maxmem= without suffix is bytes. */
static void test_cmdline_size_units(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char text[] = "/usr/bin/kvm\n-id 107\n-m size=2048,maxmem=8589934592\n"
                        "-object memory-backend-ram,id=ram-node0,size=1073741824\n"
                        "-object memory-backend-ram,id=ram-node1,size=524288K\n"
                        "-object memory-backend-ram,id=mem-dimm0,size=1g\n"
                        "-object memory-backend-ram,id=mem-dimm1,size=0\n"
                        "-object memory-backend-ram,id=mem-dimm2,size=12X\n"
                        "-object memory-backend-ram,id=ram-node,size=1G\n"
                        "-object memory-backend-ram,id=ram-node2x,size=1G\n"
                        "-object memory-backend-epc,id=ram-node3,size=1G\n"
                        "-object iothread,id=iothread-virtioscsi0\n";
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.m_mib, 2048);
    assert_int_equal(cmd.m_maxmem_mib, 8192);
    assert_int_equal(cmd.backends_mib, 1024 + 512 + 1024);

    assert_int_equal(parse_text("/usr/bin/kvm\n-id 107\n-m 2G\n", &cmd), 0);
    assert_int_equal(cmd.m_mib, 2048);
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 107\n-m lots\n", &cmd), 0);
    assert_int_equal(cmd.m_mib, 0);
    /* Sizes that overflow 64 bits are not numbers. */
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 107\n-m 99999999999999999999\n"
                                "-object memory-backend-ram,id=ram-node0,size=17179869184G\n",
                                &cmd),
                     0);
    assert_int_equal(cmd.m_mib, 0);
    assert_int_equal(cmd.backends_mib, 0);
}

/* Constructed: QEMU >= 11 names threads always, and qemu-server no longer adds debug-threads. */
static void test_cmdline_name_without_debug_threads(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 108\n-name web-01\n-smp 2\n", &cmd), 0);
    assert_string_equal(cmd.name, "web-01");
    assert_int_equal(cmd.smp_cpus, 2);
    assert_int_equal(cmd.smp_sockets, 0);
    /* QEMU's own spellings: guest=, and ",," for a literal comma. */
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 108\n-name guest=g1,debug-threads=on\n", &cmd),
                     0);
    assert_string_equal(cmd.name, "g1");
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 108\n-name a,,b,debug-threads=on\n", &cmd), 0);
    assert_string_equal(cmd.name, "a,b");
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 108\n-smp cpus=6,sockets=1,cores=6\n", &cmd), 0);
    assert_int_equal(cmd.smp_cpus, 6);
    assert_string_equal(cmd.name, "");
}

/* Constructed after qemu-server's aarch64/simple-arm test. */
static void test_cmdline_aarch64(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char text[] = "/usr/bin/qemu-system-aarch64\n-id 8006\n-name arm,debug-threads=on\n"
                        "-smp 4,sockets=1,cores=4,maxcpus=4\n-cpu max\n-m 2048\n"
                        "-netdev type=tap,id=net0,ifname=tap8006i0,script=/usr/libexec/"
                        "qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/"
                        "pve-bridgedown\n"
                        "-machine type=virt\n";
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.vmid, 8006);
    assert_string_equal(cmd.cpu_model, "max");
    assert_int_equal(cmd.smp_cpus, 4);
    assert_string_equal(cmd.taps[0], "tap8006i0");
    assert_true(pve_is_qemu("/usr/bin/qemu-system-aarch64", "/usr/bin/qemu-system-aarch64"));
    assert_true(pve_is_qemu("", "/usr/bin/qemu-system-aarch64"));
}

/* Constructed: the target of a live migration, tcp and unix socket forms. */
static void test_cmdline_incoming_migration(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 100\n-m 2048\n-incoming defer\n-S\n", &cmd), 0);
    assert_true(cmd.incoming);
    assert_int_equal(cmd.m_mib, 2048);
    assert_int_equal(
        parse_text("/usr/bin/kvm\n-id 100\n-incoming unix:/run/qemu-server/100.migrate\n-S\n",
                   &cmd),
        0);
    assert_true(cmd.incoming);
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 100\n-incoming\n", &cmd), 0);
    assert_true(cmd.incoming);
    assert_int_equal(parse_text("/usr/bin/kvm\n-id 100\n-S\n", &cmd), 0);
    assert_false(cmd.incoming);
}

/* Constructed after qemu-server's netdev-7.1-multiqueues test, with a second NIC. */
static void test_cmdline_multiqueue_and_two_nics(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char text[] =
        "/usr/bin/kvm\n-id 100\n"
        "-netdev type=tap,id=net0,ifname=tap100i0,script=/usr/libexec/qemu-server/pve-bridge,"
        "downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on,queues=2\n"
        "-device virtio-net-pci,mq=on,vectors=6,mac=BC:24:11:00:00:01,netdev=net0,bus=pci.0,"
        "addr=0x12,id=net0\n"
        "-netdev type=user,id=net9,hostfwd=tcp::2222-:22\n"
        "-netdev type=tap,id=net1,ifname=tap100i1,script=/usr/libexec/qemu-server/pve-bridge,"
        "downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on\n"
        "-netdev type=tap,id=net2,ifname=waytoolonginterfacename\n"
        "-netdev type=tap,id=net3\n"
        "-netdev tap,id=net4,ifname=tap100i4\n";
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.ntaps, 3);
    assert_string_equal(cmd.taps[0], "tap100i0");
    assert_string_equal(cmd.taps[1], "tap100i1");
    assert_string_equal(cmd.taps[2], "tap100i4");
    assert_string_equal(cmd.taps[3], "");
}

static void test_cmdline_many_taps_are_capped(void **state)
{
    (void)state;
    static char text[16384];
    struct pve_cmdline cmd;
    size_t n = (size_t)snprintf(text, sizeof(text), "/usr/bin/kvm\n-id 100\n");
    for (unsigned i = 0; i < PVE_MAX_TAPS + 5; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "-netdev type=tap,id=net%u,ifname=tap100i%u\n", i, i);
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.ntaps, PVE_MAX_TAPS);
    assert_string_equal(cmd.taps[PVE_MAX_TAPS - 1], "tap100i31");
}

static void test_cmdline_without_valid_id_is_einval(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    static const char *const bad[] = {"abc",  "0", "-5",   "+5",         "0100",
                                      "100x", "",  " 100", "99999999999"};
    char text[256];

    assert_int_equal(parse_text("/usr/bin/kvm\n-name novmid\n-m 1024\n", &cmd), -EINVAL);
    assert_int_equal(cmd.vmid, 0);
    /* What was found is still there. */
    assert_string_equal(cmd.name, "novmid");
    assert_int_equal(cmd.m_mib, 1024);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"/usr/bin/kvm", "-id", bad[i], "-m", "1024"};
        assert_int_equal(pve_parse_cmdline(5, argv, &cmd), -EINVAL);
        assert_int_equal(cmd.vmid, 0);
    }
    /* -id as the last argument, with no value. */
    snprintf(text, sizeof(text), "/usr/bin/kvm\n-m 1024\n-id\n");
    assert_int_equal(parse_text(text, &cmd), -EINVAL);
    assert_int_equal(pve_parse_cmdline(0, NULL, &cmd), -EINVAL);
    const char *only_argv0[] = {"/usr/bin/kvm"};
    assert_int_equal(pve_parse_cmdline(1, only_argv0, &cmd), -EINVAL);
    /* NULL elements are stepped over. */
    const char *holes[] = {"/usr/bin/kvm", NULL, "-id", "4294967295", "-name", NULL};
    assert_int_equal(pve_parse_cmdline(6, holes, &cmd), 0);
    assert_int_equal(cmd.vmid, UINT_MAX);
    assert_string_equal(cmd.name, "");
}

/* The JSON -object/-device forms (libvirt style, constructed) are not counted and do not crash;
 * QEMU's --opt spelling and last-one-wins hold. */
static void test_cmdline_json_forms_and_spellings(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    const char text[] =
        "/usr/bin/kvm\n--id 109\n"
        "-object {\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\",\"size\":1073741824}\n"
        "-device {\"driver\":\"host-x86_64-cpu\",\"id\":\"cpu1\"}\n"
        "-netdev {\"type\":\"tap\",\"id\":\"net0\",\"ifname\":\"tap109i0\"}\n"
        "-object {\n"
        "-cpu host,+kvm_pv_eoi\n"
        "--cpu kvm64,,x\n"
        "-object memory-backend-ram,size=1G\n"
        "-object id=ram-node0,size=1G\n"
        "-object qom-type=memory-backend-ram,id=ram-node0,size=1G\n"
        "-device -cpu\n"
        "-device driver=max-arm-cpu,id=cpu1\n";
    assert_int_equal(parse_text(text, &cmd), 0);
    assert_int_equal(cmd.vmid, 109);
    assert_int_equal(cmd.backends_mib, 1024); /* only the keyed qom-type= one */
    assert_int_equal(cmd.hotplug_cpus, 1);
    assert_int_equal(cmd.ntaps, 0);
    assert_string_equal(cmd.cpu_model, "kvm64,x");
}

static void test_is_qemu(void **state)
{
    (void)state;
    assert_true(pve_is_qemu("/usr/bin/qemu-system-x86_64", "/usr/bin/kvm"));
    assert_true(pve_is_qemu("/usr/bin/qemu-system-x86_64", "anything"));
    assert_true(pve_is_qemu("/usr/bin/qemu-system-aarch64", NULL));
    assert_true(pve_is_qemu("/usr/bin/qemu-system-x86_64 (deleted)", NULL));
    assert_true(pve_is_qemu("/usr/bin/qemu-system-aarch64 (deleted)", ""));
    assert_true(pve_is_qemu("qemu-system-riscv64", NULL));
    assert_true(pve_is_qemu(NULL, "/usr/bin/kvm"));
    assert_true(pve_is_qemu("", "/usr/bin/kvm"));
    /* An unreadable exe link: the argv0 PVE writes for a foreign arch. */
    assert_true(pve_is_qemu(NULL, "/usr/bin/qemu-system-x86_64"));

    assert_false(pve_is_qemu("/usr/bin/qemu-img", "/usr/bin/qemu-img"));
    assert_false(pve_is_qemu("/usr/bin/qemu-system-", NULL));
    assert_false(pve_is_qemu("/usr/bin/qemu-system- (deleted)", NULL));
    assert_false(pve_is_qemu(" (deleted)", NULL));
    assert_false(pve_is_qemu("/usr/bin/qemu-system-x86_64/", NULL));
    assert_false(pve_is_qemu("/usr/bin/qemu-system-x86_64.dpkg-new", NULL));
    assert_false(pve_is_qemu("/usr/bin/my-qemu-system-x86_64", NULL));
    assert_false(pve_is_qemu("/usr/bin/kvm", NULL)); /* a resolved exe is never the symlink */
    assert_false(pve_is_qemu(NULL, "kvm"));
    assert_false(pve_is_qemu(NULL, "/usr/bin/kvm "));
    assert_false(pve_is_qemu(NULL, "/usr/local/bin/qemu-system-x86_64"));
    assert_false(pve_is_qemu(NULL, "/usr/bin/qemu-system-"));
    assert_false(pve_is_qemu("/usr/lib/systemd/systemd", "/sbin/init"));
    assert_false(pve_is_qemu(NULL, NULL));
    assert_false(pve_is_qemu("", ""));
}

static void test_config_103_real(void **state)
{
    (void)state;
    char buf[4096];
    struct pve_config conf;
    size_t n = slurp("103.conf", buf, sizeof(buf));
    assert_int_equal(pve_parse_config(buf, n, &conf), 0);
    assert_string_equal(conf.name, "MCP");
    assert_string_equal(conf.cpu, "x86-64-v2-AES");
    assert_int_equal(conf.cores, 20);
    assert_int_equal(conf.sockets, 1);
    assert_int_equal(conf.vcpus, 0);
    assert_int_equal(conf.memory_mib, 20480);
    assert_string_equal(conf.tags, "");
    assert_false(conf.hotplug_cpu);
    assert_false(conf.template_);
    assert_int_equal(conf.hugepages, 0);

    static struct args a;
    struct pve_cmdline cmd;
    args_from_fixture(&a, "cmdline-b.txt");
    assert_int_equal(pve_parse_cmdline(a.argc, a.argv, &cmd), 0);
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 20);
    assert_int_equal(pve_maxmem_bytes(&cmd, &conf), 20480 * MIB);
}

static void test_config_142_main_section_only(void **state)
{
    (void)state;
    char buf[4096];
    struct pve_config conf;
    size_t n = slurp("142.conf", buf, sizeof(buf));
    assert_int_equal(pve_parse_config(buf, n, &conf), 0);
    assert_int_equal(conf.memory_mib, 512);
    assert_string_equal(conf.name, "apache");
    assert_string_equal(conf.tags, "foo;bar");
    assert_int_equal(conf.cores, 1);
    assert_int_equal(conf.sockets, 1);
    assert_string_equal(conf.cpu, "");
    assert_int_equal(pve_vcpus(NULL, &conf, 0), 1);
    assert_int_equal(pve_maxmem_bytes(NULL, &conf), 512 * MIB);
}

static int parse_config_str(const char *s, struct pve_config *conf)
{
    return pve_parse_config(s, strlen(s), conf);
}

/* The NICs of a config as qemu-server starts them, and as QEMU's `info network` shows them: the
 * labels pve_local_exporter has. */
static void test_config_nets_as_qemu_runs_them(void **state)
{
    (void)state;
    struct pve_config conf;
    struct pve_nic_facts f;
    char buf[4096];
    size_t n = slurp("103.conf", buf, sizeof(buf));
    assert_int_equal(pve_parse_config(buf, n, &conf), 0);
    assert_int_equal(conf.nnets, 1);
    pve_nic_facts(103, &conf.nets[0], &f);
    assert_string_equal(f.netdev, "net0");
    assert_string_equal(f.ifname, "tap103i0");
    assert_string_equal(f.type, "tap");
    assert_string_equal(f.model, "virtio-net-pci"); /* cmdline-b.txt: -device virtio-net-pci */
    assert_string_equal(f.macaddr, "bc:24:11:96:18:29");
    assert_int_equal(f.queues, 1);

    /* Keys sorted as text, both forms of model and MAC, user networking without a bridge, queues
     * only for virtio, a model PVE does not know, [PENDING] not the running VM. */
    assert_int_equal(
        parse_config_str("net1: model=e1000,macaddr=BC:24:11:00:00:01,bridge=vmbr0,"
                         "queues=4\n"
                         "net10: virtio=BC:24:11:00:00:0A,bridge=vmbr0,tag=5,queues=8\n"
                         "net2: rtl8139=BC:24:11:00:00:02\n"
                         "net3: bogus=BC:24:11:00:00:03,bridge=vmbr0\n"
                         "net32: virtio=BC:24:11:00:00:20,bridge=vmbr0\n"
                         "netx: virtio=BC:24:11:00:00:21,bridge=vmbr0\n"
                         "[PENDING]\nnet4: virtio=BC:24:11:00:00:04,bridge=vmbr0\n",
                         &conf),
        0);
    assert_int_equal(conf.nnets, 3);
    assert_int_equal(conf.nets[0].index, 1);
    assert_int_equal(conf.nets[1].index, 2);
    assert_int_equal(conf.nets[2].index, 10);
    pve_nic_facts(100, &conf.nets[0], &f);
    assert_string_equal(f.model, "e1000");
    assert_string_equal(f.macaddr, "bc:24:11:00:00:01");
    assert_string_equal(f.ifname, "tap100i1");
    assert_int_equal(f.queues, 1); /* PVE passes queues= to virtio only */
    pve_nic_facts(100, &conf.nets[1], &f);
    assert_string_equal(f.type, "user");
    assert_string_equal(f.ifname, "");
    assert_string_equal(f.model, "rtl8139");
    assert_string_equal(f.netdev, "net2");
    pve_nic_facts(100, &conf.nets[2], &f);
    assert_string_equal(f.ifname, "tap100i10");
    assert_string_equal(f.model, "virtio-net-pci");
    assert_int_equal(f.queues, 8);

    /* A repeated key: the later line wins. */
    assert_int_equal(parse_config_str("net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n"
                                      "net0: e1000=BC:24:11:00:00:02,bridge=vmbr0\n",
                                      &conf),
                     0);
    assert_int_equal(conf.nnets, 1);
    assert_string_equal(conf.nets[0].model, "e1000");
    assert_string_equal(conf.nets[0].macaddr, "BC:24:11:00:00:02");
}

static void test_config_tags_normalized(void **state)
{
    (void)state;
    struct pve_config conf;
    assert_int_equal(parse_config_str("tags: a, b;c  d\n", &conf), 0);
    assert_string_equal(conf.tags, "a;b;c;d");
    assert_int_equal(parse_config_str("tags: ;;prod,,web; \n", &conf), 0);
    assert_string_equal(conf.tags, "prod;web");
    assert_int_equal(parse_config_str("tags: zeta alpha\r\n", &conf), 0);
    assert_string_equal(conf.tags, "zeta;alpha");

    /* Tags that do not fit are left out whole. */
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof(line), "tags: ");
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "tag%02d;", i);
    assert_int_equal(parse_config_str(line, &conf), 0);
    assert_true(strlen(conf.tags) < sizeof(conf.tags));
    assert_int_equal(strlen(conf.tags), 42 * 6 - 1); /* "tag00;..." 6 bytes each */
    assert_memory_equal(conf.tags + strlen(conf.tags) - 5, "tag41", 5);
}

static void test_config_memory_and_cpu_forms(void **state)
{
    (void)state;
    struct pve_config conf;
    assert_int_equal(parse_config_str("memory: current=2048\n", &conf), 0);
    assert_int_equal(conf.memory_mib, 2048);
    assert_int_equal(parse_config_str("memory: current=4096,max=65536\n", &conf), 0);
    assert_int_equal(conf.memory_mib, 4096);
    assert_int_equal(parse_config_str("memory: lots\n", &conf), 0);
    assert_int_equal(conf.memory_mib, 0);

    assert_int_equal(parse_config_str("cpu: cputype=host,flags=+aes\n", &conf), 0);
    assert_string_equal(conf.cpu, "host");
    assert_int_equal(parse_config_str("cpu: host,flags=+aes;-pcid\n", &conf), 0);
    assert_string_equal(conf.cpu, "host");
    assert_int_equal(parse_config_str("cpu: flags=+aes,cputype=custom-fast\n", &conf), 0);
    assert_string_equal(conf.cpu, "custom-fast");
    assert_int_equal(parse_config_str("cpu: flags=+aes\n", &conf), 0);
    assert_string_equal(conf.cpu, "");
}

static void test_config_hotplug_template_hugepages(void **state)
{
    (void)state;
    struct pve_config conf;
    assert_int_equal(parse_config_str("hotplug: 1\n", &conf), 0);
    assert_false(conf.hotplug_cpu);
    assert_int_equal(parse_config_str("hotplug: 0\n", &conf), 0);
    assert_false(conf.hotplug_cpu);
    assert_int_equal(parse_config_str("hotplug: network,disk,cpu,memory\n", &conf), 0);
    assert_true(conf.hotplug_cpu);
    assert_int_equal(parse_config_str("hotplug: cpu\n", &conf), 0);
    assert_true(conf.hotplug_cpu);
    assert_int_equal(parse_config_str("hotplug: cpufreq,network\n", &conf), 0);
    assert_false(conf.hotplug_cpu);

    assert_int_equal(parse_config_str("template: 1\n", &conf), 0);
    assert_true(conf.template_);
    assert_int_equal(parse_config_str("template: 0\n", &conf), 0);
    assert_false(conf.template_);

    assert_int_equal(parse_config_str("hugepages: 2\n", &conf), 0);
    assert_int_equal(conf.hugepages, 2);
    assert_int_equal(parse_config_str("hugepages: 1024\n", &conf), 0);
    assert_int_equal(conf.hugepages, 1024);
    assert_int_equal(parse_config_str("hugepages: any\n", &conf), 0);
    assert_int_equal(conf.hugepages, PVE_HUGEPAGES_ANY);
    assert_int_equal(parse_config_str("hugepages: 3\n", &conf), 0);
    assert_int_equal(conf.hugepages, 0);

    assert_int_equal(parse_config_str("vcpus: 6\nsockets: 2\n", &conf), 0);
    assert_int_equal(conf.vcpus, 6);
    assert_int_equal(parse_config_str("cores: many\n", &conf), 0);
    assert_int_equal(conf.cores, 0);
}

static void test_config_without_key_lines_is_einval(void **state)
{
    (void)state;
    struct pve_config conf;
    assert_int_equal(pve_parse_config("", 0, &conf), -EINVAL);
    assert_int_equal(parse_config_str("# only%20a%20description\n", &conf), -EINVAL);
    assert_int_equal(parse_config_str("[PENDING]\nmemory: 1024\n", &conf), -EINVAL);
    assert_int_equal(conf.memory_mib, 0);
    assert_int_equal(parse_config_str("garbage\n\n  name: indented\nName: caps\n", &conf), -EINVAL);
    assert_int_equal(parse_config_str("name:\nmemory:   \n", &conf), -EINVAL);
    assert_int_equal(parse_config_str("\x01\x02\xff", &conf), -EINVAL);
    /* A file without a final newline and with white space around the value. */
    assert_int_equal(parse_config_str("unknown-key: x\nname:\tweb \t", &conf), 0);
    assert_string_equal(conf.name, "web");
}

/* Only `len` bytes count: the buffer need not end in NUL, and what follows is not read. */
static void test_config_reads_only_len_bytes(void **state)
{
    (void)state;
    struct pve_config conf;
    const char text[] = "name: first\nmemory: 2048\nname: second\n";
    assert_int_equal(pve_parse_config(text, 22, &conf), 0); /* through "memory: 20" */
    assert_string_equal(conf.name, "first");
    assert_int_equal(conf.memory_mib, 20);

    size_t len = strlen(text);
    char *exact = malloc(len);
    assert_non_null(exact);
    memcpy(exact, text, len); /* no NUL: valgrind sees any read past the end */
    assert_int_equal(pve_parse_config(exact, len, &conf), 0);
    assert_string_equal(conf.name, "second");
    free(exact);
}

static void test_config_long_values_truncate(void **state)
{
    (void)state;
    struct pve_config conf;
    char text[1024];
    memcpy(text, "name: ", 6);
    memset(text + 6, 'x', 400);
    memcpy(text + 406, "\n", 2);
    assert_int_equal(parse_config_str(text, &conf), 0);
    assert_int_equal(strlen(conf.name), sizeof(conf.name) - 1);

    /* A name cut in the middle of a UTF-8 sequence loses the whole character. */
    size_t n = (size_t)snprintf(text, sizeof(text), "name: ");
    memset(text + n, 'y', 126);
    n += 126;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "\xc3\xa9z\n"); /* é at bytes 126..127 */
    assert_int_equal(parse_config_str(text, &conf), 0);
    assert_int_equal(strlen(conf.name), 126);

    n = (size_t)snprintf(text, sizeof(text), "cpu: cputype=");
    memset(text + n, 'c', 100);
    text[n + 100] = '\0';
    assert_int_equal(parse_config_str(text, &conf), 0);
    assert_int_equal(strlen(conf.cpu), sizeof(conf.cpu) - 1);
}

static void test_vcpus_trust_order(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    struct pve_config conf;
    memset(&cmd, 0, sizeof(cmd));
    memset(&conf, 0, sizeof(conf));
    cmd.smp_cpus = 1;
    cmd.hotplug_cpus = 3;

    assert_int_equal(pve_vcpus(&cmd, NULL, 0), 4);
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 4); /* config has none of the keys */
    conf.cores = 4;
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 4); /* sockets default to 1 */
    conf.sockets = 2;
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 8);
    conf.cores = 0;
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 2); /* cores default to 1 */
    conf.cores = 4;
    conf.vcpus = 5;
    assert_int_equal(pve_vcpus(&cmd, &conf, 0), 5);
    assert_int_equal(pve_vcpus(&cmd, &conf, 7), 7);
    assert_int_equal(pve_vcpus(NULL, NULL, 3), 3);

    cmd.smp_cpus = 0;
    assert_int_equal(pve_vcpus(&cmd, NULL, 0), 0);
    assert_int_equal(pve_vcpus(NULL, NULL, 0), 0);
    conf.vcpus = 0;
    conf.sockets = conf.cores = UINT_MAX;
    assert_int_equal(pve_vcpus(NULL, &conf, 0), UINT_MAX);
}

static void test_maxmem_order(void **state)
{
    (void)state;
    struct pve_cmdline cmd;
    struct pve_config conf;
    memset(&cmd, 0, sizeof(cmd));
    memset(&conf, 0, sizeof(conf));
    cmd.m_mib = 1024;
    cmd.m_maxmem_mib = 4194304;

    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 1024 * MIB); /* never the hotplug ceiling */
    cmd.backends_mib = 3072;
    assert_int_equal(pve_maxmem_bytes(&cmd, NULL), 3072 * MIB);
    assert_int_equal(pve_maxmem_bytes(&cmd, &conf), 3072 * MIB);
    conf.memory_mib = 4096;
    assert_int_equal(pve_maxmem_bytes(&cmd, &conf), 4096 * MIB);
    assert_int_equal(pve_maxmem_bytes(NULL, &conf), 4096 * MIB);
    assert_int_equal(pve_maxmem_bytes(NULL, NULL), 0);
    conf.memory_mib = UINT64_MAX;
    assert_int_equal(pve_maxmem_bytes(NULL, &conf), UINT64_MAX);
}

static void test_vcpu_thread_names(void **state)
{
    (void)state;
    assert_true(pve_is_vcpu_thread("CPU 0/KVM"));
    assert_true(pve_is_vcpu_thread("CPU 12/KVM"));
    assert_true(pve_is_vcpu_thread("CPU 1023/KVM"));
    assert_false(pve_is_vcpu_thread("CPU x/KVM"));
    assert_false(pve_is_vcpu_thread("CPU /KVM"));
    assert_false(pve_is_vcpu_thread("CPU 1/KVMx"));
    assert_false(pve_is_vcpu_thread("CPU 1/KV"));
    assert_false(pve_is_vcpu_thread("CPU 1"));
    assert_false(pve_is_vcpu_thread("cpu 1/KVM"));
    assert_false(pve_is_vcpu_thread(" CPU 1/KVM"));
    assert_false(pve_is_vcpu_thread("worker"));
    assert_false(pve_is_vcpu_thread("IO iothread-vir"));
    assert_false(pve_is_vcpu_thread(""));
    assert_false(pve_is_vcpu_thread(NULL));
}

static void test_pressure_real_files(void **state)
{
    (void)state;
    char buf[1024];
    struct pve_pressure psi;
    size_t n = slurp("pressure-io.txt", buf, sizeof(buf));
    assert_int_equal(pve_parse_pressure(buf, n, &psi), 0);
    assert_true(psi.has_some);
    assert_true(psi.has_full);
    assert_int_equal(psi.some_total_us, 20595897);
    assert_int_equal(psi.full_total_us, 19797688);
    assert_double_near(psi.some_avg10, 0.07);
    assert_double_near(psi.full_avg10, 0.07);

    n = slurp("pressure-cpu.txt", buf, sizeof(buf));
    assert_int_equal(pve_parse_pressure(buf, n, &psi), 0);
    assert_int_equal(psi.some_total_us, 77921383);
    assert_true(psi.has_full);
    assert_int_equal(psi.full_total_us, 0);

    n = slurp("pressure-memory.txt", buf, sizeof(buf));
    assert_int_equal(pve_parse_pressure(buf, n, &psi), 0);
    assert_int_equal(psi.some_total_us, 0);
    assert_double_near(psi.some_avg10, 0.0);
}

static void test_pressure_cpu_without_full_line(void **state)
{
    (void)state;
    struct pve_pressure psi;
    /* Kernels before 5.13 write only the "some" line for cpu. */
    const char old[] = "some avg10=12.34 avg60=5.00 avg300=100.00 total=9876543210\n";
    assert_int_equal(pve_parse_pressure(old, strlen(old), &psi), 0);
    assert_true(psi.has_some);
    assert_false(psi.has_full);
    assert_int_equal(psi.some_total_us, UINT64_C(9876543210));
    assert_double_near(psi.some_avg10, 12.34);
    assert_int_equal(psi.full_total_us, 0);
}

static void test_pressure_garbage(void **state)
{
    (void)state;
    struct pve_pressure psi;
    static const char *const bad[] = {
        "",
        "\n",
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00\n",
        "some avg10=x avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=1. avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=0.00 total=-1\n",
        "some avg10=0.00 total=99999999999999999999999\n",
        "somE avg10=0.00 total=1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pve_parse_pressure(bad[i], strlen(bad[i]), &psi), -EINVAL);
    /* Tokens in any order, a broken "full" line does not spoil "some". */
    const char ok[] = "some total=5 avg300=0.00 avg10=1.5\nfull avg10=oops total=3\n";
    assert_int_equal(pve_parse_pressure(ok, strlen(ok), &psi), 0);
    assert_int_equal(psi.some_total_us, 5);
    assert_double_near(psi.some_avg10, 1.5);
    assert_false(psi.has_full);
}

/* A fraction of ~310 digits made avg10 NaN. The input is also in the fuzz corpus:
 * tests/fuzz/corpus/fuzz_pve_pressure/long-fraction. */
static void test_pressure_long_fraction_is_a_number(void **state)
{
    (void)state;
    struct pve_pressure psi;
    char line[600] = "some avg10=1.";
    size_t n = strlen(line);
    memset(line + n, '9', 400);
    n += 400;
    memcpy(line + n, " total=7\n", 9);
    n += 9;
    assert_int_equal(pve_parse_pressure(line, n, &psi), 0);
    assert_double_near(psi.some_avg10, 2.0);
    assert_int_equal(psi.some_total_us, 7);
}

static void test_u64_line(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(pve_parse_u64_line("12345\n", 6, &v), 0);
    assert_int_equal(v, 12345);
    assert_int_equal(pve_parse_u64_line("12345", 5, &v), 0);
    assert_int_equal(pve_parse_u64_line("0\n", 2, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(pve_parse_u64_line("18446744073709551615\n", 21, &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(pve_parse_u64_line("18446744073709551616\n", 21, &v), -ERANGE);
    assert_int_equal(pve_parse_u64_line("max\n", 4, &v), -EINVAL);
    assert_int_equal(pve_parse_u64_line("", 0, &v), -EINVAL);
    assert_int_equal(pve_parse_u64_line("\n", 1, &v), -EINVAL);
    assert_int_equal(pve_parse_u64_line("12 34\n", 6, &v), -EINVAL);
    assert_int_equal(pve_parse_u64_line("-1\n", 3, &v), -EINVAL);
    assert_int_equal(pve_parse_u64_line("123456", 3, &v), 0); /* only len bytes */
    assert_int_equal(v, 123);
}

/* Every argument of the real command lines cut at every length, each in a buffer of exactly that
 * size, and every prefix of argv: nothing may read out of bounds (run under valgrind). */
static void test_truncated_cmdlines_never_crash(void **state)
{
    (void)state;
    static const char *const fixtures[] = {"cmdline-a.txt", "cmdline-b.txt"};
    static struct args a;
    struct pve_cmdline cmd;
    for (size_t f = 0; f < 2; f++) {
        args_from_fixture(&a, fixtures[f]);
        const char *argv[MAX_ARGS];
        memcpy(argv, a.argv, a.argc * sizeof(argv[0]));
        for (size_t i = 0; i < a.argc; i++) {
            size_t len = strlen(a.argv[i]);
            for (size_t cut = 0; cut <= len; cut++) {
                char *piece = malloc(cut + 1);
                assert_non_null(piece);
                memcpy(piece, a.argv[i], cut);
                piece[cut] = '\0';
                argv[i] = piece;
                int rc = pve_parse_cmdline(a.argc, argv, &cmd);
                assert_true(rc == 0 || rc == -EINVAL);
                assert_true(cmd.ntaps <= PVE_MAX_TAPS);
                assert_true(strlen(cmd.name) < sizeof(cmd.name));
                free(piece);
            }
            argv[i] = a.argv[i];
        }
        for (size_t argc = 0; argc <= a.argc; argc++) {
            int rc = pve_parse_cmdline(argc, argv, &cmd);
            assert_int_equal(rc, argc >= 3 ? 0 : -EINVAL);
        }
    }
}

static void test_truncated_files_never_crash(void **state)
{
    (void)state;
    static const char *const files[] = {"103.conf",        "142.conf",      "pressure-cpu.txt",
                                        "pressure-io.txt", "cmdline-a.txt", "cmdline-b.txt"};
    static char buf[32768];
    struct pve_config conf;
    struct pve_pressure psi;
    uint64_t v;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t n = slurp(files[f], buf, sizeof(buf));
        for (size_t cut = 0; cut <= n; cut++) {
            char *exact = malloc(cut ? cut : 1);
            assert_non_null(exact);
            memcpy(exact, buf, cut);
            int rc = pve_parse_config(exact, cut, &conf);
            assert_true(rc == 0 || rc == -EINVAL);
            rc = pve_parse_pressure(exact, cut, &psi);
            assert_true(rc == 0 || rc == -EINVAL);
            rc = pve_parse_u64_line(exact, cut, &v);
            assert_true(rc == 0 || rc == -EINVAL || rc == -ERANGE);
            free(exact);
        }
    }
}

/* ---- The memory lines of status ---- */

static void test_status_memory_real_file(void **state)
{
    (void)state;
    static char buf[8192];
    FILE *f = fopen(FIXTURES_DIR "/proc/3877/status", "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct pve_status_memory m;
    assert_int_equal(pve_parse_status_memory(buf, n, &m), 0);
    /* VmPeak VmSize VmLck VmPin VmHWM VmRSS RssAnon RssFile RssShmem VmData VmStk VmExe VmLib
     * VmPTE VmSwap HugetlbPages, in file order. */
    assert_int_equal(m.nmem, 16);
    assert_string_equal(m.key[0], "vmpeak");
    assert_int_equal(m.bytes[0], 18868 * 1024);
    assert_string_equal(m.key[6], "rssanon");
    assert_int_equal(m.bytes[6], 116 * 1024);
    assert_string_equal(m.key[15], "hugetlbpages");
    assert_int_equal(m.vmrss_bytes, 1456 * 1024);
    assert_int_equal(m.hugetlb_bytes, 0);
    assert_int_equal(m.threads, 3);
}

static void test_status_memory_bounds(void **state)
{
    (void)state;
    /* Only `len` bytes count: the Threads line past it is not seen. */
    const char *text = "VmRSS:\t 100 kB\nHugetlbPages:\t 4194304 kB\nThreads:\t7\n";
    struct pve_status_memory m;
    assert_int_equal(pve_parse_status_memory(text, strlen("VmRSS:\t 100 kB\n"), &m), -EINVAL);
    assert_int_equal(pve_parse_status_memory(text, strlen(text), &m), 0);
    assert_int_equal(m.vmrss_bytes, 100 * 1024);
    assert_int_equal(m.hugetlb_bytes, 4194304ull * 1024);
    assert_int_equal(m.threads, 7);

    /* Keys too long for the table are skipped; the table holds at most PVE_MEM_KEYS lines; a key
     * without a number is not one. */
    static char many[8192];
    size_t len = 0;
    len += (size_t)snprintf(many + len, sizeof(many) - len,
                            "VmAVeryLongKeyThatDoesNotFit:\t1 kB\nVmNothing:\t\nName:\tkvm\n");
    for (int i = 0; i < PVE_MEM_KEYS + 5; i++)
        len += (size_t)snprintf(many + len, sizeof(many) - len, "Rss%d:\t%d kB\n", i, i);
    len += (size_t)snprintf(many + len, sizeof(many) - len, "Threads:\t18\n");
    assert_int_equal(pve_parse_status_memory(many, len, &m), 0);
    assert_int_equal(m.nmem, PVE_MEM_KEYS);
    assert_string_equal(m.key[0], "rss0");
    assert_string_equal(m.key[PVE_MEM_KEYS - 1], "rss23");
    assert_int_equal(m.bytes[PVE_MEM_KEYS - 1], 23 * 1024);
    assert_int_equal(m.vmrss_bytes, 0);
    assert_int_equal(m.threads, 18);

    /* Every cut of a real file parses or says -EINVAL, reading nothing past the cut. */
    static char buf[8192];
    FILE *f = fopen(FIXTURES_DIR "/proc/3877/status", "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t cut = 0; cut <= n; cut++) {
        char *exact = malloc(cut ? cut : 1);
        assert_non_null(exact);
        memcpy(exact, buf, cut);
        int rc = pve_parse_status_memory(exact, cut, &m);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_true(m.nmem <= PVE_MEM_KEYS);
        free(exact);
    }
}

/* A small deterministic generator, so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_random_input_never_crashes(void **state)
{
    (void)state;
    static const char *const tokens[] = {"-id",
                                         "-name",
                                         "-cpu",
                                         "-smp",
                                         "-m",
                                         "-object",
                                         "-device",
                                         "-netdev",
                                         "-incoming",
                                         "--id",
                                         "100",
                                         "0",
                                         ",",
                                         ",,",
                                         "=",
                                         "size=",
                                         "M",
                                         "G",
                                         "id=",
                                         "ram-node",
                                         "mem-dimm",
                                         "1",
                                         "memory-backend-file",
                                         "memory-backend-ram",
                                         "mem-path=",
                                         "/run/hugepages/",
                                         "type=tap",
                                         "ifname=",
                                         "tap100i0",
                                         "-cpu",
                                         "driver=",
                                         "{",
                                         "\"",
                                         "maxmem=",
                                         "cpus=",
                                         "\xff",
                                         "",
                                         "guest=",
                                         "hugetlb",
                                         "qom-type="};
    const size_t ntokens = sizeof(tokens) / sizeof(tokens[0]);
    uint32_t seed = 0x9e3779b9u;
    struct pve_cmdline cmd;
    struct pve_config conf;
    struct pve_pressure psi;

    for (int round = 0; round < 3000; round++) {
        char pieces[24][64];
        const char *argv[24];
        size_t argc = 1 + rng_next(&seed) % 23;
        for (size_t i = 0; i < argc; i++) {
            size_t n = 0, parts = 1 + rng_next(&seed) % 4;
            pieces[i][0] = '\0';
            for (size_t k = 0; k < parts; k++) {
                const char *t = tokens[rng_next(&seed) % ntokens];
                size_t tl = strlen(t);
                if (n + tl >= sizeof(pieces[i]))
                    break;
                memcpy(pieces[i] + n, t, tl + 1);
                n += tl;
            }
            argv[i] = pieces[i];
        }
        int rc = pve_parse_cmdline(argc, argv, &cmd);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_true(cmd.ntaps <= PVE_MAX_TAPS);

        unsigned char bytes[200];
        size_t len = rng_next(&seed) % sizeof(bytes);
        static const char alphabet[] = "ab:#[ \n\r,;=0123456789current=cputype=tags:some total=.";
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rng_next(&seed);
            bytes[i] = (r & 0x100) ? (unsigned char)r
                                   : (unsigned char)alphabet[r % (sizeof(alphabet) - 1)];
        }
        char *exact = malloc(len ? len : 1);
        assert_non_null(exact);
        memcpy(exact, bytes, len);
        rc = pve_parse_config(exact, len, &conf);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_true(strlen(conf.tags) < sizeof(conf.tags));
        rc = pve_parse_pressure(exact, len, &psi);
        assert_true(rc == 0 || rc == -EINVAL);
        free(exact);
    }
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline_fixture_a_pve8),
        cmocka_unit_test(test_cmdline_fixture_b_pve9_json_blockdev),
        cmocka_unit_test(test_cmdline_vcpu_hotplug_counts_cpu_devices),
        cmocka_unit_test(test_cmdline_memory_hotplug_sums_node_and_dimms),
        cmocka_unit_test(test_cmdline_hugepages_numa_file_backends),
        cmocka_unit_test(test_cmdline_memfd_backends_count_virtiofs_mem_does_not),
        cmocka_unit_test(test_cmdline_size_units),
        cmocka_unit_test(test_cmdline_name_without_debug_threads),
        cmocka_unit_test(test_cmdline_aarch64),
        cmocka_unit_test(test_cmdline_incoming_migration),
        cmocka_unit_test(test_cmdline_multiqueue_and_two_nics),
        cmocka_unit_test(test_cmdline_many_taps_are_capped),
        cmocka_unit_test(test_cmdline_without_valid_id_is_einval),
        cmocka_unit_test(test_cmdline_json_forms_and_spellings),
        cmocka_unit_test(test_is_qemu),
        cmocka_unit_test(test_config_103_real),
        cmocka_unit_test(test_config_142_main_section_only),
        cmocka_unit_test(test_config_nets_as_qemu_runs_them),
        cmocka_unit_test(test_config_tags_normalized),
        cmocka_unit_test(test_config_memory_and_cpu_forms),
        cmocka_unit_test(test_config_hotplug_template_hugepages),
        cmocka_unit_test(test_config_without_key_lines_is_einval),
        cmocka_unit_test(test_config_reads_only_len_bytes),
        cmocka_unit_test(test_config_long_values_truncate),
        cmocka_unit_test(test_vcpus_trust_order),
        cmocka_unit_test(test_maxmem_order),
        cmocka_unit_test(test_vcpu_thread_names),
        cmocka_unit_test(test_pressure_real_files),
        cmocka_unit_test(test_pressure_cpu_without_full_line),
        cmocka_unit_test(test_pressure_garbage),
        cmocka_unit_test(test_pressure_long_fraction_is_a_number),
        cmocka_unit_test(test_u64_line),
        cmocka_unit_test(test_truncated_cmdlines_never_crash),
        cmocka_unit_test(test_truncated_files_never_crash),
        cmocka_unit_test(test_status_memory_real_file),
        cmocka_unit_test(test_status_memory_bounds),
        cmocka_unit_test(test_random_input_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
