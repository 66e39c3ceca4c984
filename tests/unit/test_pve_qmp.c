/* QMP replies of a real QEMU 7.2 (Debian's qemu-system-x86, captured with -drive disks as PVE 8
 * starts them and a -blockdev throttle disk as PVE 9 does), and the client against Unix sockets
 * served here: one answering as QEMU does, one that never answers, one that hangs up, one that
 * is no QMP, none; and the collector's accumulation of a VM's disk counters (pve_disks.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pve/pve.h"
#include "pve/pve_disks.h"
#include "pve/pve_qmp.h"

#define QMP_FIXTURES FIXTURES_DIR "/pve/qmp"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", QMP_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, buf, n + 1);
    *len = n;
    return copy;
}

static const struct pve_qmp_disk *disk(const struct pve_qmp_disks *disks, const char *name)
{
    for (size_t i = 0; i < disks->n; i++)
        if (strcmp(disks->disk[i].name, name) == 0)
            return &disks->disk[i];
    return NULL;
}

static void parse_fixtures(struct pve_qmp_disks *disks)
{
    size_t len;
    char *stats = slurp("query-blockstats.json", &len);
    assert_int_equal(pve_qmp_parse_blockstats(stats, len, disks), 0);
    free(stats);
    char *block = slurp("query-block.json", &len);
    assert_int_equal(pve_qmp_parse_block(block, len, disks), 0);
    free(block);
}

static void test_disk_names_as_pve_names_them(void **state)
{
    (void)state;
    char name[32];
    assert_true(pve_qmp_disk_name("drive-scsi0", "scsi0", name, sizeof(name)));
    assert_string_equal(name, "scsi0");
    assert_true(
        pve_qmp_disk_name("", "/machine/peripheral/virtio1/virtio-backend", name, sizeof(name)));
    assert_string_equal(name, "virtio1");
    assert_true(pve_qmp_disk_name("", "scsi1", name, sizeof(name)));
    assert_string_equal(name, "scsi1");
    assert_false(pve_qmp_disk_name("floppy0", "/machine/unattached/device[15]", name, 32));
    assert_false(pve_qmp_disk_name("sd0", NULL, name, sizeof(name)));
    assert_false(pve_qmp_disk_name("", "/machine/unattached/device[15]", name, sizeof(name)));
    assert_false(pve_qmp_disk_name("drive-", NULL, name, sizeof(name)));
    assert_false(pve_qmp_disk_name(NULL, NULL, name, sizeof(name)));
}

static void test_blockstats_and_block_of_a_real_qemu(void **state)
{
    (void)state;
    struct pve_qmp_disks disks = {0};
    parse_fixtures(&disks);
    /* floppy0 and sd0 are the machine's own: not PVE disks. */
    assert_int_equal(disks.n, 4);
    assert_string_equal(disks.disk[0].name, "ide2");
    assert_string_equal(disks.disk[1].name, "scsi0");
    assert_string_equal(disks.disk[2].name, "scsi1");
    assert_string_equal(disks.disk[3].name, "virtio1");

    /* The BIOS read the boot sector of the bootindex disk. */
    const struct pve_qmp_disk *v = disk(&disks, "virtio1");
    assert_true(v->has_stats);
    assert_int_equal(v->stats[PVE_DISK_READ_BYTES], 512);
    assert_int_equal(v->stats[PVE_DISK_READ_OPS], 1);
    assert_int_equal(v->stats[PVE_DISK_READ_TIME_NS], 159035);
    assert_int_equal(v->stats[PVE_DISK_WRITE_BYTES], 0);
    assert_true(v->has_info);
    assert_string_equal(v->block_id, "#block301");
    assert_string_equal(v->path, "/tmp/pveqmp/disk2.raw");
    assert_string_equal(v->format, "raw");
    assert_string_equal(v->attached_to, "/machine/peripheral/virtio1/virtio-backend");
    assert_string_equal(v->cache_mode, "writethrough");
    assert_string_equal(v->detect_zeroes, "on");
    assert_true(v->read_only);
    assert_int_equal(v->size_bytes, 4194304);

    const struct pve_qmp_disk *s0 = disk(&disks, "scsi0");
    assert_true(s0->has_stats && s0->has_info);
    assert_string_equal(s0->block_id, "#block191");
    assert_string_equal(s0->cache_mode, "writeback");
    assert_string_equal(s0->detect_zeroes, "off");
    assert_false(s0->read_only);

    /* -blockdev: named by its qdev id; the image below the throttle node. */
    const struct pve_qmp_disk *s1 = disk(&disks, "scsi1");
    assert_true(s1->has_stats && s1->has_info);
    assert_string_equal(s1->block_id, "drive-scsi1");
    assert_string_equal(s1->path, "/tmp/pveqmp/disk3.raw");
    assert_string_equal(s1->format, "raw");
    assert_string_equal(s1->attached_to, "scsi1");
    assert_int_equal(s1->size_bytes, 4194304);

    /* An empty CD-ROM drive: counters, no medium. */
    const struct pve_qmp_disk *cd = disk(&disks, "ide2");
    assert_true(cd->has_stats);
    assert_false(cd->has_info);
}

static void classify(const char *path, const char *format, struct pve_disk_class *c)
{
    struct pve_qmp_disk d = {0};
    snprintf(d.path, sizeof(d.path), "%s", path);
    snprintf(d.format, sizeof(d.format), "%s", format);
    pve_disk_classify(&d, c);
}

static void test_disk_classes_as_pve_local_exporter_has_them(void **state)
{
    (void)state;
    struct pve_disk_class c;
    classify("/dev/zvol/rpool/data/vm-100-disk-0", "raw", &c);
    assert_string_equal(c.type, "zvol");
    assert_string_equal(c.pool, "rpool/data");
    assert_string_equal(c.vol_name, "vm-100-disk-0");
    classify("/dev/rbd-pve/5f1e-77/ceph-vm/vm-101-disk-1", "raw", &c);
    assert_string_equal(c.type, "rbd");
    assert_string_equal(c.cluster_id, "5f1e-77");
    assert_string_equal(c.pool, "ceph-vm");
    assert_string_equal(c.pool_name, "ceph-vm");
    assert_string_equal(c.vol_name, "vm-101-disk-1");
    classify("/dev/pve/vm-103-disk-1", "raw", &c);
    assert_string_equal(c.type, "lvm");
    assert_string_equal(c.vg_name, "pve");
    assert_string_equal(c.vol_name, "vm-103-disk-1");
    classify("/mnt/pve/mydir/images/142/vm-142-disk-0.qcow2", "qcow2", &c);
    assert_string_equal(c.type, "qcow2");
    assert_string_equal(c.vol_name, "vm-142-disk-0");
    assert_string_equal(c.pool, "");
    classify("/var/lib/vz/images/100/vm-100-disk-0.raw", "raw", &c);
    assert_string_equal(c.type, "raw");
    assert_string_equal(c.vol_name, "");
    /* Not LVM: a deeper path, a name that only looks like one. */
    classify("/dev/a/b/vm-1-disk-2", "raw", &c);
    assert_string_equal(c.type, "raw");
    classify("/dev/pve/vm-1-disk-", "raw", &c);
    assert_string_equal(c.type, "raw");
    assert_string_equal(c.vg_name, "");
}

static void test_replies_that_are_not_answers(void **state)
{
    (void)state;
    struct pve_qmp_disks disks = {0};
    static const char error[] =
        "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command x has not been "
        "found\"}}\r\n";
    assert_int_equal(pve_qmp_parse_blockstats(error, sizeof(error) - 1, &disks), -EPROTO);
    assert_int_equal(pve_qmp_parse_block("{\"return\": {}}", 14, &disks), -EPROTO);
    assert_int_equal(pve_qmp_parse_block("{\"return\": [", 12, &disks), -EPROTO);
    assert_int_equal(pve_qmp_parse_block("", 0, &disks), -EPROTO);
    assert_int_equal(disks.n, 0);
    /* Counters that are not counters count as 0; other entries stand. */
    static const char odd[] =
        "{\"return\": [{\"device\": \"drive-scsi0\", \"stats\": {\"rd_bytes\": -5, \"wr_bytes\": "
        "\"x\", \"rd_operations\": 7}}, 3, {\"device\": \"drive-virtio0\"}]}";
    assert_int_equal(pve_qmp_parse_blockstats(odd, sizeof(odd) - 1, &disks), 0);
    assert_int_equal(disks.n, 1);
    assert_int_equal(disks.disk[0].stats[PVE_DISK_READ_BYTES], 0);
    assert_int_equal(disks.disk[0].stats[PVE_DISK_WRITE_BYTES], 0);
    assert_int_equal(disks.disk[0].stats[PVE_DISK_READ_OPS], 7);
}

static void test_more_disks_than_kept(void **state)
{
    (void)state;
    char *reply = malloc(64 * 1024);
    assert_non_null(reply);
    size_t len = (size_t)sprintf(reply, "{\"return\": [");
    for (int i = 0; i < PVE_QMP_DISKS_MAX + 3; i++)
        len += (size_t)sprintf(reply + len, "%s{\"device\": \"drive-scsi%d\", \"stats\": {}}",
                               i ? ", " : "", i);
    len += (size_t)sprintf(reply + len, "]}");
    struct pve_qmp_disks disks = {0};
    assert_int_equal(pve_qmp_parse_blockstats(reply, len, &disks), -E2BIG);
    assert_int_equal(disks.n, PVE_QMP_DISKS_MAX);
    free(reply);
}

/* A Unix socket server in a thread, playing one of these parts. */
enum part { ANSWER, SILENT, HANG_UP, NOT_QMP };

struct server {
    char path[108];
    int fd;
    enum part part;
    int connections; /* served one after the other; 0 counts as 1 */
    pthread_t thread;
};

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

/* Reads up to the n-th newline. */
static void read_lines(int fd, int n)
{
    char c;
    while (n > 0 && read(fd, &c, 1) == 1)
        n -= c == '\n';
}

static void serve_one(struct server *s)
{
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0)
        return;
    if (s->part == ANSWER) {
        static const char greeting[] =
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
            "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";
        static const char event[] = "{\"timestamp\": {\"seconds\": 1795795761, \"microseconds\": "
                                    "155525}, \"event\": \"RESUME\"}\r\n";
        send_all(fd, greeting, sizeof(greeting) - 1);
        read_lines(fd, 3);
        send_all(fd, "{\"return\": {}}\r\n", 16);
        send_all(fd, event, sizeof(event) - 1);
        size_t len;
        char *stats = slurp("query-blockstats.json", &len);
        send_all(fd, stats, len);
        free(stats);
        char *block = slurp("query-block.json", &len);
        send_all(fd, block, len);
        free(block);
        read_lines(fd, 1); /* until the client hangs up */
    } else if (s->part == NOT_QMP) {
        send_all(fd, "220 smtp.example ESMTP\r\n", 24);
        read_lines(fd, 1);
    }
    close(fd);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    if (s->part == SILENT)
        return NULL; /* never accepts: the connection waits in the backlog */
    for (int i = 0; i < (s->connections ? s->connections : 1); i++)
        serve_one(s);
    return NULL;
}

static void server_start(struct server *s, const char *dir, const char *name, enum part part)
{
    s->connections = 0;
    snprintf(s->path, sizeof(s->path), "%s/%s", dir, name);
    s->part = part;
    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", s->path);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
    unlink(s->path);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_client_against_answering_silent_closing_and_absent_sockets(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_pve_qmp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct server answer, silent, hang_up, not_qmp;
    server_start(&answer, dir, "100.qmp", ANSWER);
    server_start(&silent, dir, "101.qmp", SILENT);
    server_start(&hang_up, dir, "102.qmp", HANG_UP);
    server_start(&not_qmp, dir, "104.qmp", NOT_QMP);
    char absent[160];
    snprintf(absent, sizeof(absent), "%s/103.qmp", dir);

    struct pve_qmp_query q[5] = {{.path = answer.path},
                                 {.path = silent.path},
                                 {.path = hang_up.path},
                                 {.path = absent},
                                 {.path = not_qmp.path}};
    double t0 = now_seconds();
    pve_qmp_query(q, 5, 50);
    double took = now_seconds() - t0;
    /* All at once: the silent one costs the deadline, once. */
    assert_true(took >= 0.045);
    assert_true(took < 0.1);

    assert_int_equal(q[0].error, PVE_QMP_OK);
    struct pve_qmp_disks expected = {0};
    parse_fixtures(&expected);
    assert_int_equal(q[0].disks.n, expected.n);
    assert_memory_equal(&q[0].disks, &expected, sizeof(expected));
    assert_int_equal(q[1].error, PVE_QMP_TIMEOUT);
    assert_int_equal(q[2].error, PVE_QMP_CLOSED);
    assert_int_equal(q[3].error, PVE_QMP_CONNECT);
    assert_int_equal(q[4].error, PVE_QMP_PROTOCOL);
    assert_string_equal(pve_qmp_error_name(q[1].error), "timeout");

    server_stop(&answer);
    server_stop(&silent);
    server_stop(&hang_up);
    server_stop(&not_qmp);
    assert_int_equal(rmdir(dir), 0);
}

static const struct pve_disk *vm_disk(const struct pve_vm *vm, const char *name)
{
    for (size_t i = 0; i < vm->ndisks; i++)
        if (strcmp(vm->disks[i].info.name, name) == 0)
            return &vm->disks[i];
    return NULL;
}

/* The collector's side: counters accumulate over refreshes and across a QEMU restart, a failed
 * query keeps the last values and counts, a new QEMU drops the old one's disks. */
static void test_disk_counters_continue_and_failures_keep_values(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_pve_qmp.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct server s;
    server_start(&s, dir, "100.qmp", ANSWER);
    s.connections = 3;
    struct pve_vm vm = {.vmid = 100, .pid = 4000, .starttime_ticks = 7, .running = true};
    struct pve_vm *vms[] = {&vm};

    pve_disks_refresh(vms, 1, dir);
    const struct pve_disk *d = vm_disk(&vm, "virtio1");
    assert_non_null(d);
    assert_true(d->present);
    assert_int_equal(d->total[PVE_DISK_READ_BYTES], 512);
    assert_string_equal(d->info.path, "/tmp/pveqmp/disk2.raw");
    /* The same readings again: no growth. */
    pve_disks_refresh(vms, 1, dir);
    d = vm_disk(&vm, "virtio1");
    assert_int_equal(d->total[PVE_DISK_READ_BYTES], 512);
    assert_int_equal(d->total[PVE_DISK_READ_OPS], 1);
    /* A new QEMU whose counters start again at 512: all of it is growth. */
    vm.pid = 4100;
    vm.starttime_ticks = 90;
    pve_disks_refresh(vms, 1, dir);
    d = vm_disk(&vm, "virtio1");
    assert_int_equal(d->total[PVE_DISK_READ_BYTES], 1024);
    assert_int_equal(d->total[PVE_DISK_READ_OPS], 2);
    for (size_t e = 0; e < PVE_QMP_ERRORS; e++)
        assert_int_equal(vm.qmp_errors[e], 0);
    server_stop(&s);

    /* The socket gone: the values stand, the error counts. */
    pve_disks_refresh(vms, 1, dir);
    d = vm_disk(&vm, "virtio1");
    assert_true(d->present);
    assert_int_equal(d->total[PVE_DISK_READ_BYTES], 1024);
    assert_int_equal(vm.qmp_errors[PVE_QMP_CONNECT], 1);
    /* Still gone after another restart: the old QEMU's disks are no longer shown. */
    vm.pid = 4200;
    pve_disks_refresh(vms, 1, dir);
    assert_false(vm_disk(&vm, "virtio1")->present);
    assert_int_equal(vm.qmp_errors[PVE_QMP_CONNECT], 2);
    free(vm.disks);
    assert_int_equal(rmdir(dir), 0);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_names_as_pve_names_them),
        cmocka_unit_test(test_blockstats_and_block_of_a_real_qemu),
        cmocka_unit_test(test_disk_classes_as_pve_local_exporter_has_them),
        cmocka_unit_test(test_replies_that_are_not_answers),
        cmocka_unit_test(test_more_disks_than_kept),
        cmocka_unit_test(test_client_against_answering_silent_closing_and_absent_sockets),
        cmocka_unit_test(test_disk_counters_continue_and_failures_keep_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
