/* The /proc parsers on captured real files, and the reader on a fixture tree and on live /proc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc.h"
#include "proc/proc_reader.h"
#include "proc/proc_self.h"

#define PROCFS FIXTURES_DIR "/proc"

static size_t slurp(const char *rel, char *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PROCFS, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void test_stat_comm_with_spaces_and_parentheses(void **state)
{
    (void)state;
    char buf[4096];
    size_t n = slurp("3877/stat", buf, sizeof(buf));
    struct proc_stat st;
    assert_int_equal(proc_parse_stat(buf, n, &st), 0);
    assert_int_equal(st.pid, 3877);
    assert_string_equal(st.comm, "a) (b");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.minflt, 117);
    assert_int_equal(st.majflt, 0);
    assert_int_equal(st.num_threads, 3);
    assert_int_equal(st.starttime_ticks, 63208);
    assert_int_equal(st.vsize_bytes, 19320832);
    assert_int_equal(st.rss_pages, 303);
    /* What changes on every exec, for -recheck. */
    assert_int_equal(st.start_code, 94694452260864ull);
    assert_int_equal(st.start_stack, 140737409128560ull);
    assert_int_equal(st.arg_start, 140737409137291ull);
    assert_int_equal(st.arg_end, 140737409137319ull);
}

static void test_stat_kernel_thread_and_zombie(void **state)
{
    (void)state;
    char buf[4096];
    struct proc_stat st;
    size_t n = slurp("2/stat", buf, sizeof(buf));
    assert_int_equal(proc_parse_stat(buf, n, &st), 0);
    assert_string_equal(st.comm, "kthreadd");
    assert_int_equal(st.ppid, 0);
    assert_int_equal(st.vsize_bytes, 0);
    assert_int_equal(st.starttime_ticks, 30);

    n = slurp("3971/stat", buf, sizeof(buf));
    assert_int_equal(proc_parse_stat(buf, n, &st), 0);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.ppid, 3930);
    assert_int_equal(st.minflt, 217);
}

static void test_stat_reads_cpu_and_guest_fields(void **state)
{
    (void)state;
    /* A line shaped like a QEMU process's: utime 1500, stime 250, guest_time (43) 1200. */
    const char *line = "42 (qemu-system-x86) R 1 42 42 0 -1 4194560 9000 0 12 0 1500 250 0 0 20 "
                       "0 7 0 5000 4294967296 131072 18446744073709551615 1 1 0 0 0 0 0 4096 "
                       "0 0 0 0 17 1 0 0 33 1200 0 0 0 0 0 0 0 0 0\n";
    struct proc_stat st;
    assert_int_equal(proc_parse_stat(line, strlen(line), &st), 0);
    assert_string_equal(st.comm, "qemu-system-x86");
    assert_int_equal(st.majflt, 12);
    assert_int_equal(st.utime_ticks, 1500);
    assert_int_equal(st.stime_ticks, 250);
    assert_int_equal(st.num_threads, 7);
    assert_int_equal(st.rss_pages, 131072);
    assert_int_equal(st.delayacct_blkio_ticks, 33);
    assert_int_equal(st.guest_time_ticks, 1200);
}

static void test_stat_rejects_truncated_and_garbage(void **state)
{
    (void)state;
    struct proc_stat st;
    const char *cases[] = {
        "",
        "abc",
        "12 (no close paren S 1 2",
        "12 (x) S 1 2 3",                  /* stops before field 24 */
        "12 (x)",                          /* no state */
        "12 (x) S notanumber 1 1 1 1 1 1", /* ppid not a number */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(proc_parse_stat(cases[i], strlen(cases[i]), &st), -EINVAL);
}

static void test_u64_saturates_instead_of_wrapping(void **state)
{
    (void)state;
    const char *s = "99999999999999999999999 ";
    const char *p = s;
    uint64_t v;
    assert_true(proc_parse_u64(&p, s + strlen(s), &v));
    assert_true(v == UINT64_MAX);
    assert_int_equal(*p, ' ');
    p = "x";
    assert_false(proc_parse_u64(&p, p + 1, &v));
}

static void test_status_fields(void **state)
{
    (void)state;
    char buf[8192];
    struct proc_status st;
    size_t n = slurp("3877/status", buf, sizeof(buf));
    assert_int_equal(proc_parse_status(buf, n, &st), 0);
    assert_true(st.has_uid);
    assert_int_equal(st.euid, 0);
    assert_true(st.has_ctxt);
    assert_int_equal(st.voluntary_ctxt, 7);
    assert_int_equal(st.nonvoluntary_ctxt, 1);
    assert_int_equal(st.vm_swap_bytes, 0);

    /* kthreadd has no VmSwap line at all. */
    n = slurp("2/status", buf, sizeof(buf));
    assert_int_equal(proc_parse_status(buf, n, &st), 0);
    assert_int_equal(st.voluntary_ctxt, 60);
    assert_int_equal(st.vm_swap_bytes, 0);

    const char *synthetic = "Name:\tx\nUid:\t1000\t1001\t1000\t1000\nVmSwap:\t    1234 kB\n"
                            "voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n";
    assert_int_equal(proc_parse_status(synthetic, strlen(synthetic), &st), 0);
    assert_int_equal(st.euid, 1001);
    assert_int_equal(st.vm_swap_bytes, 1234 * 1024);
    assert_int_equal(st.nonvoluntary_ctxt, 6);

    assert_int_equal(proc_parse_status("garbage", 7, &st), -EINVAL);
}

static void test_io_fields(void **state)
{
    (void)state;
    char buf[4096];
    struct proc_io io;
    size_t n = slurp("3877/io", buf, sizeof(buf));
    assert_int_equal(proc_parse_io(buf, n, &io), 0);
    assert_int_equal(io.rchar, 3980);
    assert_int_equal(io.wchar, 3890);
    assert_int_equal(io.read_bytes, 0);
    assert_int_equal(io.write_bytes, 4096);
    const char *partial = "rchar: 1\nwchar: 2\n";
    assert_int_equal(proc_parse_io(partial, strlen(partial), &io), -EINVAL);
}

static void test_limits_nofile(void **state)
{
    (void)state;
    char buf[4096];
    uint64_t soft;
    size_t n = slurp("3877/limits", buf, sizeof(buf));
    assert_int_equal(proc_parse_limits_nofile(buf, n, &soft), 0);
    assert_int_equal(soft, 20000);
    const char *unl = "Limit                     Soft Limit           Hard Limit           Units\n"
                      "Max open files            unlimited            unlimited            files\n";
    assert_int_equal(proc_parse_limits_nofile(unl, strlen(unl), &soft), 0);
    assert_true(soft == PROC_LIMIT_UNLIMITED);
    assert_int_equal(proc_parse_limits_nofile("Max cpu time 1 1\n", 17, &soft), -EINVAL);
}

static void test_btime(void **state)
{
    (void)state;
    char buf[8192];
    uint64_t btime;
    size_t n = slurp("stat", buf, sizeof(buf));
    assert_int_equal(proc_parse_btime(buf, n, &btime), 0);
    assert_int_equal(btime, 1795236808);
    assert_int_equal(proc_parse_btime("cpu 1 2 3\n", 10, &btime), -EINVAL);
}

static void test_meminfo_total(void **state)
{
    (void)state;
    const char *meminfo = "MemTotal:       16329184 kB\nMemFree:         1214420 kB\n";
    uint64_t bytes = 0;
    assert_int_equal(proc_parse_meminfo_total(meminfo, strlen(meminfo), &bytes), 0);
    assert_true(bytes == 16329184ull * 1024);
    /* Only `len` bytes count, and the key must start a line. */
    assert_int_equal(proc_parse_meminfo_total(meminfo, 9, &bytes), -EINVAL);
    const char *other = "HugeMemTotal: 5 kB\nMemFree: 1 kB\n";
    assert_int_equal(proc_parse_meminfo_total(other, strlen(other), &bytes), -EINVAL);
}

static void test_vmstat_swap_moves(void **state)
{
    (void)state;
    /* Lines of a 6.18 /proc/vmstat around the swap counters. */
    const char *vmstat = "nr_swapcached 0\npgpgout 1022976\npswpin 17\npswpout 4113\n"
                         "pgalloc_dma 0\nswap_ra 9\nswap_ra_hit 2\nswpin_zero 3\nswpout_zero 40\n"
                         "zswpin 0\nzswpout 0\nzswpwb 0\n";
    uint64_t moves = 0;
    assert_int_equal(proc_parse_vmstat_swap(vmstat, strlen(vmstat), &moves), 0);
    assert_int_equal(moves, 17 + 4113 + 3 + 40);
    /* An older kernel: pswpin and pswpout only. */
    const char *old = "pgpgin 5\npswpin 1\npswpout 2\npgalloc_dma 0\n";
    assert_int_equal(proc_parse_vmstat_swap(old, strlen(old), &moves), 0);
    assert_int_equal(moves, 3);
    /* Only `len` bytes count; keys must match whole. */
    assert_int_equal(proc_parse_vmstat_swap(vmstat, 16, &moves), -EINVAL);
    const char *none = "pswpinx 5\nnr_swapcached 1\n";
    assert_int_equal(proc_parse_vmstat_swap(none, strlen(none), &moves), -EINVAL);
    const char *bad = "pswpin x\n";
    assert_int_equal(proc_parse_vmstat_swap(bad, strlen(bad), &moves), -EINVAL);
}

static void test_cmdline_split(void **state)
{
    (void)state;
    char buf[64];
    const char *argv[8];
    memcpy(buf, "./cap\0--flag\0arg with space\0", 28);
    assert_int_equal(proc_split_cmdline(buf, 28, argv, 8), 3);
    assert_string_equal(argv[0], "./cap");
    assert_string_equal(argv[2], "arg with space");

    /* A rewritten argv ("nginx: worker process") has no NUL at all. */
    memcpy(buf, "nginx: worker process", 21);
    assert_int_equal(proc_split_cmdline(buf, 21, argv, 8), 1);
    assert_string_equal(argv[0], "nginx: worker process");

    assert_int_equal(proc_split_cmdline(buf, 0, argv, 8), 0);

    /* Arguments rewritten in place (setproctitle): the zeroed rest is not empty arguments. */
    memcpy(buf, "nginx: master\0\0\0\0", 17);
    assert_int_equal(proc_split_cmdline(buf, 17, argv, 8), 1);
    assert_string_equal(argv[0], "nginx: master");
    memcpy(buf, "\0\0x", 3); /* found by fuzzing: the spare byte is set even then */
    assert_int_equal(proc_split_cmdline(buf, 2, argv, 8), 0);
    assert_int_equal(buf[2], '\0');

    /* More arguments than room: the count is still right. */
    memcpy(buf, "a\0b\0c\0", 6);
    assert_int_equal(proc_split_cmdline(buf, 6, argv, 2), 3);
}

struct paths {
    char seen[16][128];
    size_t n;
};

static void collect_path(void *arg, const char *path, size_t len)
{
    struct paths *p = arg;
    if (p->n < 16 && len < 128) {
        memcpy(p->seen[p->n], path, len);
        p->seen[p->n][len] = '\0';
    }
    p->n++;
}

static void test_cgroup_paths(void **state)
{
    (void)state;
    char buf[4096];
    struct paths p = {0};
    size_t n = slurp("3877/cgroup", buf, sizeof(buf));
    assert_int_equal(proc_parse_cgroup(buf, n, collect_path, &p), 10);
    assert_string_equal(p.seen[0], "/");
    assert_string_equal(p.seen[5], "/process_api/85f93fbeb0b301070d06f04c00c2548e");
    memset(&p, 0, sizeof(p));
    const char *v2 = "0::/system.slice/a:b.service\n";
    assert_int_equal(proc_parse_cgroup(v2, strlen(v2), collect_path, &p), 1);
    assert_string_equal(p.seen[0], "/system.slice/a:b.service");
}

static void test_reader_on_fixture_tree(void **state)
{
    (void)state;
    char err[256];
    struct proc_reader *r = proc_reader_new(PROCFS, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(proc_reader_btime(r), 1795236808);
    assert_int_equal(proc_reader_list(r), 0);

    struct proc_stat st;
    int seen = 0;
    bool found_cap = false;
    while (proc_reader_next(r, &st) == 1) {
        seen++;
        if (st.pid != 3877)
            continue;
        found_cap = true;
        struct proc_identity id;
        unsigned failed;
        assert_int_equal(proc_reader_identity(r, &st,
                                              PROC_NEED_CMDLINE | PROC_NEED_CGROUP | PROC_NEED_UID,
                                              &id, &failed),
                         0);
        assert_int_equal(failed, 0);
        assert_int_equal(id.argc, 3);
        assert_string_equal(id.argv[0], "./cap");
        assert_string_equal(id.cmdline, "./cap --flag arg with space");
        assert_int_equal(id.ncgroups, 10);
        assert_true(id.has_euid);
        assert_string_equal(id.comm, "a) (b");
        uint64_t hz = proc_reader_ticks_per_second(r);
        assert_true(id.start_time_ns ==
                    1795236808ull * 1000000000ull + 63208ull * (1000000000ull / hz));

        struct proc_metrics m;
        assert_int_equal(proc_reader_metrics(r, st.pid, PROC_WANT_FULL, &m), 0);
        assert_int_equal(m.failed, 0);
        assert_true(m.has_io && m.has_status && m.has_open_fds && m.has_fd_limit);
        assert_int_equal(m.io.write_bytes, 4096);
        assert_int_equal(m.open_fds, 5);
        assert_int_equal(m.fd_limit, 20000);
    }
    assert_int_equal(seen, 3);
    assert_true(found_cap);

    /* A kernel thread has an empty command line. */
    struct proc_stat kst = {.pid = 2};
    strcpy(kst.comm, "kthreadd");
    struct proc_identity id;
    unsigned failed;
    assert_int_equal(proc_reader_identity(r, &kst, PROC_NEED_CMDLINE, &id, &failed), 0);
    assert_int_equal(id.argc, 0);
    assert_string_equal(id.cmdline, "");

    /* A process that is not there is gone, not an error. */
    struct proc_metrics m;
    assert_int_equal(proc_reader_metrics(r, 999999, PROC_WANT_FULL, &m), -ESRCH);
    proc_reader_free(r);
}

static void test_reader_refuses_a_tree_without_btime(void **state)
{
    (void)state;
    char err[256];
    assert_null(proc_reader_new("/nonexistent/procfs", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/procfs"));
    assert_null(proc_reader_new(FIXTURES_DIR "/proc/3877", err, sizeof(err)));
    assert_non_null(strstr(err, "btime"));
    proc_reader_free(NULL);
}

/* A host with 256 CPUs and 2000 IRQs: btime is past the first 16 KiB of /proc/stat. */
static void test_reader_finds_btime_of_a_large_host(void **state)
{
    (void)state;
    char dir[] = "/tmp/pt-bigstat-XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/stat", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "cpu  1 2 3 4 5 6 7 8 9 10\n");
    for (int cpu = 0; cpu < 256; cpu++)
        fprintf(f, "cpu%d 1234567 890 2345678 987654321 12345 0 67890 0 0 0\n", cpu);
    fprintf(f, "intr 123456789");
    for (int irq = 0; irq < 2000; irq++)
        fprintf(f, " %d", irq * 7);
    fprintf(f, "\nctxt 987654321\nbtime 1795236808\nprocesses 12345\n");
    assert_true(ftell(f) > 16384);
    fclose(f);

    struct proc_reader *r = proc_reader_new(dir, err, sizeof(err));
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(proc_reader_btime(r), 1795236808);
    proc_reader_free(r);
    unlink(path);
    rmdir(dir);
}

static void test_smaps_rollup(void **state)
{
    (void)state;
    char buf[4096];
    uint64_t pss, swap_pss;
    FILE *f = fopen(FIXTURES_DIR "/proc-threads/26706/smaps_rollup", "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(proc_parse_smaps_rollup(buf, n, &pss, &swap_pss), 0);
    assert_int_equal(pss, 439 * 1024);
    assert_int_equal(swap_pss, 0);
    const char *s = "Rss: 10 kB\nPss_Anon: 3 kB\nPss: 7 kB\nSwapPss: 2 kB\n";
    assert_int_equal(proc_parse_smaps_rollup(s, strlen(s), &pss, &swap_pss), 0);
    assert_int_equal(pss, 7 * 1024);
    assert_int_equal(swap_pss, 2 * 1024);
    assert_int_equal(proc_parse_smaps_rollup("Rss: 1 kB\n", 10, &pss, &swap_pss), -EINVAL);
}

struct seen_threads {
    int n;
    char names[8][PROC_COMM_MAX];
    uint64_t vol[8];
    char wchan[8][64];
};

static void collect_thread(void *arg, const struct proc_thread *th)
{
    struct seen_threads *s = arg;
    if (s->n < 8) {
        strcpy(s->names[s->n], th->stat.comm);
        s->vol[s->n] = th->status.voluntary_ctxt;
        strcpy(s->wchan[s->n], th->wchan);
    }
    s->n++;
}

static void test_reader_threads_on_fixture(void **state)
{
    (void)state;
    char err[256];
    struct proc_reader *r = proc_reader_new(FIXTURES_DIR "/proc-threads", err, sizeof(err));
    assert_non_null(r);
    struct seen_threads s = {0};
    unsigned failed = 0;
    assert_int_equal(
        proc_reader_threads(r, 26706, PROC_WANT_WCHAN | PROC_WANT_IO, collect_thread, &s, &failed),
        0);
    assert_int_equal(failed, 0);
    assert_int_equal(s.n, 3);
    int workers = 0;
    for (int i = 0; i < 3; i++) {
        workers += strcmp(s.names[i], "pt-worker") == 0;
        assert_string_equal(s.wchan[i], "__do_sys_pause");
    }
    assert_int_equal(workers, 2);

    struct proc_metrics m;
    assert_int_equal(
        proc_reader_metrics(r, 26706, PROC_WANT_FULL | PROC_WANT_WCHAN | PROC_WANT_SMAPS, &m), 0);
    assert_true(m.has_smaps);
    assert_int_equal(m.pss_bytes, 439 * 1024);
    assert_string_equal(m.wchan, "__do_sys_pause");

    /* Without task/ (the process is gone) the call says so. */
    assert_int_equal(proc_reader_threads(r, 999999, 0, collect_thread, &s, &failed), -ESRCH);
    proc_reader_free(r);
}

static void test_schedstat(void **state)
{
    (void)state;
    struct proc_schedstat ss;
    const char *line = "123456789 2000 17\n";
    assert_int_equal(proc_parse_schedstat(line, strlen(line), &ss), 0);
    assert_true(ss.run_ns == 123456789);
    assert_int_equal(ss.wait_ns, 2000);
    assert_int_equal(ss.slices, 17);
    assert_int_equal(proc_parse_schedstat("1 2", 3, &ss), -EINVAL);

    /* Live: our own counts grow as we run; a fixture tree has none. The kernel folds a running
     * task's time into schedstat only at a tick or a context switch, so a busy loop shorter than
     * a tick may show nothing: sleeping switches this task out, which adds the time it ran since
     * the first read and counts one more slice when it runs again. */
    char err[256];
    struct proc_reader *r = proc_reader_new("/proc", err, sizeof(err));
    assert_non_null(r);
    struct proc_schedstat a, b;
    assert_int_equal(proc_reader_schedstat(r, getpid(), 0, &a), 0);
    for (volatile int i = 0; i < 100000; i++)
        ;
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    assert_int_equal(proc_reader_schedstat(r, getpid(), getpid(), &b), 0);
    assert_true(b.run_ns > a.run_ns);
    assert_true(b.slices > a.slices);
    assert_int_equal(proc_reader_schedstat(r, 999999, 0, &a), -ESRCH);
    proc_reader_free(r);
    r = proc_reader_new(FIXTURES_DIR "/proc", err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(proc_reader_schedstat(r, 3877, 0, &a), -ENOTSUP);
    proc_reader_free(r);
}

static void test_every_file_kind_has_a_name(void **state)
{
    (void)state;
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++) {
        assert_non_null(proc_file_name(f));
        assert_true(strlen(proc_file_name(f)) > 0);
    }
    assert_string_equal(proc_file_name(PROC_FILE_SMAPS), "smaps_rollup");
    assert_string_equal(proc_file_name(PROC_FILE_COUNT), "?");
}

static bool live_has(struct proc_reader *r, int pid, struct proc_stat *out)
{
    assert_int_equal(proc_reader_list(r), 0);
    struct proc_stat st;
    int rc;
    bool found = false;
    while ((rc = proc_reader_next(r, &st)) != 0) {
        if (rc == 1 && st.pid == pid) {
            *out = st;
            found = true;
        }
    }
    return found;
}

static void test_reader_live_sees_a_child_come_and_go(void **state)
{
    (void)state;
    char err[256];
    struct proc_reader *r = proc_reader_new("/proc", err, sizeof(err));
    assert_non_null(r);

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        prctl(PR_SET_NAME, "pt-test-child");
        char c;
        close(pipefd[1]);
        (void)!read(pipefd[0], &c, 1); /* wait until the parent closes the pipe */
        _exit(0);
    }
    close(pipefd[0]);
    struct proc_stat st;
    for (int i = 0; i < 100 && !(live_has(r, child, &st) && strcmp(st.comm, "pt-test-child") == 0);
         i++)
        usleep(10000);
    assert_string_equal(st.comm, "pt-test-child");
    assert_int_equal(st.ppid, getpid());

    struct proc_identity id;
    unsigned failed;
    assert_int_equal(proc_reader_identity(r, &st, PROC_NEED_CMDLINE | PROC_NEED_EXE, &id, &failed),
                     0);
    assert_true(id.argc >= 1);
    assert_int_equal(id.exe[0], '/'); /* resolved absolute path of the binary */

    struct proc_metrics m;
    assert_int_equal(
        proc_reader_metrics(r, child, PROC_WANT_FULL | PROC_WANT_WCHAN | PROC_WANT_SMAPS, &m), 0);
    assert_true(m.has_status);
    assert_true(m.has_open_fds);
    assert_true(m.open_fds >= 1);
    assert_true(m.has_smaps);
    assert_true(m.pss_bytes > 0);
    assert_int_equal(m.failed, 0);
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(m.has_fd_limit);
    assert_true(m.fd_limit == (rl.rlim_cur == RLIM_INFINITY ? PROC_LIMIT_UNLIMITED : rl.rlim_cur));

    close(pipefd[1]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(live_has(r, child, &st));
    assert_int_equal(
        proc_reader_metrics(r, child, PROC_WANT_FULL | PROC_WANT_WCHAN | PROC_WANT_SMAPS, &m),
        -ESRCH);
    proc_reader_free(r);
}

/* The process key: the same for one process however often asked, another for another process,
 * none for a tree that is not our /proc. Kernels before 6.9 have no pidfs: -ENOTSUP there. */
static void test_process_key_tells_processes_apart(void **state)
{
    (void)state;
    char err[256];
    struct proc_reader *r = proc_reader_new("/proc", err, sizeof(err));
    assert_non_null(r);
    uint64_t mine, again, child_key;
    int rc = proc_reader_process_key(r, getpid(), &mine);
    if (rc == -ENOTSUP) {
        proc_reader_free(r);
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(proc_reader_process_key(r, getpid(), &again), 0);
    assert_true(mine == again);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(proc_reader_process_key(r, child, &child_key), 0);
    assert_true(child_key != mine);
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_int_equal(proc_reader_process_key(r, child, &child_key), -ESRCH);
    proc_reader_free(r);

    r = proc_reader_new(FIXTURES_DIR "/proc", err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(proc_reader_process_key(r, 3877, &mine), -ENOTSUP);
    proc_reader_free(r);
}

/* ---- Files and directories under a root, for the collectors beside the tracker ---- */

static void count_name(void *arg, const char *name, unsigned char type)
{
    (void)type;
    if (strcmp(name, "tap100i0") == 0 || strcmp(name, "lo") == 0)
        (*(int *)arg)++;
}

static void test_reader_reads_files_under_a_root(void **state)
{
    (void)state;
    char err[256];
    struct proc_reader *r = proc_reader_new(PROCFS, err, sizeof(err));
    assert_non_null(r);

    /* NULL root: the procfs itself. */
    const char *data;
    ssize_t n = proc_reader_file(r, NULL, "3877/comm", 4096, &data);
    assert_true(n > 0);
    assert_int_equal(strlen(data), n);
    assert_int_equal(proc_reader_file(r, NULL, "3877/nothing", 4096, &data), -ENOENT);
    struct proc_stat st;
    assert_int_equal(proc_reader_stat(r, 3877, &st), 0);
    assert_string_equal(st.comm, "a) (b");
    assert_int_equal(proc_reader_stat(r, 999999, &st), -ESRCH);

    /* A directory by path: a sysfs-like tree. */
    char root[] = "/tmp/pt-proc-root-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof(path), "%s/net", root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/net/tap100i0", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("123456789\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/net/lo", root);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);

    assert_int_equal(proc_reader_file(r, root, "net/tap100i0", 4096, &data), 10);
    assert_string_equal(data, "123456789\n");
    assert_int_equal(proc_reader_file(r, root, "net/tap100i0", 4, &data), 4); /* cut */
    assert_string_equal(data, "1234");
    int64_t mtime = 0;
    assert_int_equal(proc_reader_mtime(r, root, "net/tap100i0", &mtime), 0);
    assert_true(mtime > 0);
    assert_int_equal(proc_reader_mtime(r, root, "net/tap999i0", &mtime), -ENOENT);
    uint64_t inode = 0, other = 0;
    assert_int_equal(proc_reader_inode(r, root, "net", &inode), 0);
    struct stat sb;
    snprintf(path, sizeof(path), "%s/net", root);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(inode, (uint64_t)sb.st_ino);
    assert_int_equal(proc_reader_inode(r, root, "net/lo", &other), 0);
    assert_true(other != inode);
    assert_int_equal(proc_reader_inode(r, root, "net/tap999i0", &inode), -ENOENT);
    int found = 0;
    assert_int_equal(proc_reader_dir(r, root, "net", count_name, &found), 0);
    assert_int_equal(found, 2);
    assert_int_equal(proc_reader_dir(r, root, "absent", count_name, &found), -ENOENT);

    /* The buffer is the reader's own: the per-process reads leave it alone, and an identity
     * read before stays intact. */
    assert_int_equal(proc_reader_file(r, root, "net/tap100i0", 4096, &data), 10);
    struct proc_metrics m;
    assert_int_equal(proc_reader_metrics(r, 3877, PROC_WANT_FULL, &m), 0);
    assert_string_equal(data, "123456789\n");
    assert_int_equal(proc_reader_stat(r, 3877, &st), 0);
    struct proc_identity id;
    unsigned failed;
    assert_int_equal(
        proc_reader_identity(r, &st, PROC_NEED_CMDLINE | PROC_NEED_CGROUP, &id, &failed), 0);
    assert_int_equal(proc_reader_file(r, root, "net/tap100i0", 4096, &data), 10);
    assert_string_equal(id.argv[0], "./cap");
    assert_string_equal(id.cmdline, "./cap --flag arg with space");
    assert_int_equal(id.ncgroups, 10);

    snprintf(path, sizeof(path), "%s/net/lo", root);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/net/tap100i0", root);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/net", root);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(rmdir(root), 0);
    proc_reader_free(r);
}

/* Our own entry, read live: what we open and the limits we set show in the next read. */
static void test_self_follows_fds_and_limits(void **state)
{
    (void)state;
    struct proc_self *self = proc_self_new("/proc");
    assert_non_null(self);
    struct proc_self_metrics before, after;
    assert_int_equal(proc_self_read(self, &before), 0);
    int fds[5];
    for (int i = 0; i < 5; i++)
        assert_true((fds[i] = dup(0)) >= 0);
    struct rlimit nofile;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
    struct rlimit lowered = {nofile.rlim_cur - 1, nofile.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    assert_int_equal(proc_self_read(self, &after), 0);
    assert_int_equal(after.open_fds, before.open_fds + 5);
    assert_int_equal(before.max_fds, nofile.rlim_cur);
    assert_int_equal(after.max_fds, nofile.rlim_cur - 1);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &nofile), 0);
    for (int i = 0; i < 5; i++)
        close(fds[i]);

    /* A page touched is resident; the start time is ours, before now and after boot. */
    assert_true(after.rss_bytes > 0 && after.vsize_bytes >= after.rss_bytes);
    double start = proc_self_start_time(self);
    assert_true(start <= (double)time(NULL) + 1 && start > (double)time(NULL) - 3600);
    proc_self_free(self);
    assert_null(proc_self_new(FIXTURES_DIR "/nonexistent"));
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_comm_with_spaces_and_parentheses),
        cmocka_unit_test(test_stat_kernel_thread_and_zombie),
        cmocka_unit_test(test_stat_reads_cpu_and_guest_fields),
        cmocka_unit_test(test_stat_rejects_truncated_and_garbage),
        cmocka_unit_test(test_u64_saturates_instead_of_wrapping),
        cmocka_unit_test(test_status_fields),
        cmocka_unit_test(test_io_fields),
        cmocka_unit_test(test_limits_nofile),
        cmocka_unit_test(test_btime),
        cmocka_unit_test(test_meminfo_total),
        cmocka_unit_test(test_vmstat_swap_moves),
        cmocka_unit_test(test_cmdline_split),
        cmocka_unit_test(test_cgroup_paths),
        cmocka_unit_test(test_schedstat),
        cmocka_unit_test(test_every_file_kind_has_a_name),
        cmocka_unit_test(test_smaps_rollup),
        cmocka_unit_test(test_reader_threads_on_fixture),
        cmocka_unit_test(test_reader_on_fixture_tree),
        cmocka_unit_test(test_reader_refuses_a_tree_without_btime),
        cmocka_unit_test(test_reader_finds_btime_of_a_large_host),
        cmocka_unit_test(test_reader_live_sees_a_child_come_and_go),
        cmocka_unit_test(test_process_key_tells_processes_apart),
        cmocka_unit_test(test_reader_reads_files_under_a_root),
        cmocka_unit_test(test_self_follows_fds_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
