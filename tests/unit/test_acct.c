#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acct/acct.h"

#define FAMILY 0x1a

static size_t put_attr(unsigned char *m, size_t at, unsigned short type, const void *data,
                       size_t len)
{
    struct nlattr a = {.nla_len = (unsigned short)(NLA_HDRLEN + len), .nla_type = type};
    memcpy(m + at, &a, sizeof(a));
    memcpy(m + at + NLA_HDRLEN, data, len);
    return at + NLA_ALIGN(a.nla_len);
}

/* An exit record as the kernel sends it: the task's aggregate, and the process's when `ended`. */
static size_t exit_message(unsigned char *m, const struct taskstats *ts, size_t stats_len,
                           bool ended)
{
    memset(m, 0, 2048);
    unsigned char inner[1024];
    uint32_t pid = ts->ac_pid;
    size_t in = put_attr(inner, 0, TASKSTATS_TYPE_PID, &pid, sizeof(pid));
    in = put_attr(inner, in, TASKSTATS_TYPE_STATS, ts, stats_len);
    size_t at = put_attr(m, NLMSG_HDRLEN + GENL_HDRLEN, TASKSTATS_TYPE_AGGR_PID, inner, in);
    if (ended)
        at = put_attr(m, at, TASKSTATS_TYPE_AGGR_TGID, inner, in);
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)at, .nlmsg_type = FAMILY};
    struct genlmsghdr g = {.cmd = TASKSTATS_CMD_NEW, .version = 1};
    memcpy(m, &h, sizeof(h));
    memcpy(m + NLMSG_HDRLEN, &g, sizeof(g));
    return at;
}

static struct taskstats sample_stats(void)
{
    struct taskstats ts;
    memset(&ts, 0, sizeof(ts));
    ts.version = TASKSTATS_VERSION;
    ts.ac_pid = 4243;
    ts.ac_tgid = 4242;
    ts.ac_ppid = 1;
    strcpy(ts.ac_comm, "worker");
    ts.ac_utime = 12000; /* tick samples */
    ts.ac_stime = 4000;
    ts.cpu_run_virtual_total = 15123456; /* ns */
    ts.ac_etime = 400000;
    ts.ac_tgetime = 500000;
    ts.ac_minflt = 77;
    ts.nvcsw = 3;
    ts.read_char = 100;
    return ts;
}

static void test_exit_record_takes_the_exact_cpu_split_as_the_samples(void **state)
{
    (void)state;
    unsigned char m[2048];
    struct taskstats ts = sample_stats();
    size_t len = exit_message(m, &ts, sizeof(ts), false);
    struct acct_exit rec;
    assert_int_equal(acct_parse_taskstats(m, len, FAMILY, &rec), 1);
    assert_int_equal(rec.tid, 4243);
    assert_int_equal(rec.tgid, 4242);
    assert_string_equal(rec.comm, "worker");
    assert_false(rec.process_ended);
    assert_int_equal(rec.utime_us + rec.stime_us, 15123);
    assert_int_equal(rec.utime_us, 11342); /* 3/4 of it, as the samples */
    assert_int_equal(rec.utime_sampled_us, 12000);
    assert_int_equal(rec.elapsed_us, 500000); /* the process's, not the thread's */
    assert_int_equal(rec.minflt, 77);
    assert_true(rec.has_io);
    assert_int_equal(rec.nvcsw, 3);
    assert_int_equal(rec.rchar, 100);

    len = exit_message(m, &ts, sizeof(ts), true);
    assert_int_equal(acct_parse_taskstats(m, len, FAMILY, &rec), 1);
    assert_true(rec.process_ended);
    /* Another family's message is not a record. */
    assert_int_equal(acct_parse_taskstats(m, len, FAMILY + 1, &rec), 0);
}

/* An older kernel's shorter struct: the fields it has, nothing read past it. */
static void test_exit_record_of_an_older_kernel(void **state)
{
    (void)state;
    unsigned char m[2048];
    struct taskstats ts = sample_stats();
    size_t len = exit_message(m, &ts, offsetof(struct taskstats, read_char), false);
    struct acct_exit rec;
    assert_int_equal(acct_parse_taskstats(m, len, FAMILY, &rec), 1);
    assert_false(rec.has_io);
    assert_int_equal(rec.tgid, 4243); /* before ac_tgid: its own */
    assert_int_equal(rec.elapsed_us, 400000);
    assert_int_equal(rec.utime_us + rec.stime_us, 15123);
}

/* Every cut of a valid record is rejected or skipped, never read past. */
static void test_truncated_exit_records_are_rejected(void **state)
{
    (void)state;
    unsigned char m[2048];
    struct taskstats ts = sample_stats();
    size_t len = exit_message(m, &ts, sizeof(ts), true);
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char copy[2048];
        memcpy(copy, m, cut);
        struct acct_exit rec;
        assert_true(acct_parse_taskstats(copy, cut, FAMILY, &rec) <= 0);
    }
}

static size_t event_message(unsigned char *m, const struct proc_event *ev)
{
    struct cn_msg cn = {.id = {CN_IDX_PROC, CN_VAL_PROC}, .len = sizeof(*ev)};
    size_t n = NLMSG_HDRLEN + sizeof(cn) + sizeof(*ev);
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)n, .nlmsg_type = NLMSG_DONE};
    memset(m, 0, n);
    memcpy(m, &h, sizeof(h));
    memcpy(m + NLMSG_HDRLEN, &cn, sizeof(cn));
    memcpy(m + NLMSG_HDRLEN + sizeof(cn), ev, sizeof(*ev));
    return n;
}

static void test_proc_events(void **state)
{
    (void)state;
    unsigned char m[512];
    struct proc_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.what = PROC_EVENT_FORK;
    ev.event_data.fork.child_pid = 78;
    ev.event_data.fork.child_tgid = 77;
    struct acct_event out;
    size_t n = event_message(m, &ev);
    assert_int_equal(acct_parse_proc_event(m, n, &out), 1);
    assert_int_equal(out.kind, ACCT_EVENT_FORK);
    assert_int_equal(out.pid, 78);
    assert_int_equal(out.tgid, 77);
    ev.what = PROC_EVENT_EXEC;
    ev.event_data.exec.process_pid = 77;
    ev.event_data.exec.process_tgid = 77;
    n = event_message(m, &ev);
    assert_int_equal(acct_parse_proc_event(m, n, &out), 1);
    assert_int_equal(out.kind, ACCT_EVENT_EXEC);
    assert_int_equal(out.pid, 77);
    for (size_t cut = 0; cut < n; cut++)
        assert_true(acct_parse_proc_event(m, cut, &out) <= 0);
}

static void burn_ms(int ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

/* The real kernel, as root: a child that burns 30 ms and exits is in the next take, with its
 * CPU, and its identity was captured at its fork. Under ThreadSanitizer this also checks the
 * listener thread against the takes. */
/* A listener on this machine's /proc, or the test is skipped where the kernel offers none. */
static struct acct_listener *start_or_skip(void)
{
    struct acct_listener *l = NULL;
    char err[256];
    struct acct_listener_options o = {.procfs = "/proc", .sysfs = "/sys", .needs = 0};
    int rc = acct_listener_start(&o, &l, err, sizeof(err));
    if (rc == -EPERM || rc == -ENOENT || rc == -EPROTONOSUPPORT) {
        print_message("no exit records here (%s): skipped\n", err);
        skip();
    }
    assert_int_equal(rc, 0);
    return l;
}

static void test_task_switches_answer(void **state)
{
    (void)state;
    unsigned char m[2048];
    struct taskstats ts = sample_stats();
    ts.nvcsw = 1234;
    ts.nivcsw = 56;
    size_t len = exit_message(m, &ts, sizeof(ts), false);
    struct proc_switches sw = {0};
    assert_int_equal(acct_parse_task_switches(m, len, FAMILY, 4243, &sw), 1);
    assert_int_equal(sw.voluntary, 1234);
    assert_int_equal(sw.involuntary, 56);
    /* An answer about another task, or of another family, is not this one. */
    assert_int_equal(acct_parse_task_switches(m, len, FAMILY, 4242, &sw), 0);
    assert_int_equal(acct_parse_task_switches(m, len, FAMILY + 1, 4243, &sw), 0);
    /* Stats that stop before the switches are malformed, not zero. */
    len = exit_message(m, &ts, offsetof(struct taskstats, nvcsw), false);
    assert_int_equal(acct_parse_task_switches(m, len, FAMILY, 4243, &sw), -EINVAL);
    /* A message shorter than it says. */
    len = exit_message(m, &ts, sizeof(ts), false);
    assert_int_equal(acct_parse_task_switches(m, len - 8, FAMILY, 4243, &sw), -EINVAL);
}

static void test_task_switches_error(void **state)
{
    (void)state;
    unsigned char m[NLMSG_HDRLEN + sizeof(struct nlmsgerr)];
    struct nlmsgerr e = {.error = -ESRCH};
    struct nlmsghdr h = {.nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_ERROR};
    memcpy(m, &h, sizeof(h));
    memcpy(m + NLMSG_HDRLEN, &e, sizeof(e));
    struct proc_switches sw;
    assert_int_equal(acct_parse_task_switches(m, sizeof(m), FAMILY, 1, &sw), -ESRCH);
    assert_int_equal(acct_parse_task_switches(m, NLMSG_HDRLEN + 2, FAMILY, 1, &sw), -EINVAL);
}

/* The status file's voluntary_ctxt_switches and nonvoluntary_ctxt_switches of `pid`. */
static void status_switches(int pid, struct proc_switches *out)
{
    char path[64], text[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *v = strstr(text, "\nvoluntary_ctxt_switches:");
    const char *nv = strstr(text, "\nnonvoluntary_ctxt_switches:");
    assert_non_null(v);
    assert_non_null(nv);
    out->voluntary = strtoull(strchr(v, ':') + 1, NULL, 10);
    out->involuntary = strtoull(strchr(nv, ':') + 1, NULL, 10);
}

static void test_listener_answers_a_tasks_switches(void **state)
{
    (void)state;
    struct acct_listener *l = start_or_skip();
    /* A child that switches out 40 times, then waits stopped so that nothing changes. */
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 40; i++)
            usleep(200);
        raise(SIGSTOP);
        _exit(0);
    }
    assert_true(child > 0);
    int status;
    assert_int_equal(waitpid(child, &status, WUNTRACED), child);
    assert_true(WIFSTOPPED(status));
    struct proc_switches asked, read;
    assert_int_equal(acct_listener_task_switches(l, child, &asked), 0);
    status_switches(child, &read);
    assert_int_equal(asked.voluntary, read.voluntary);
    assert_int_equal(asked.involuntary, read.involuntary);
    assert_true(asked.voluntary >= 40);
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, NULL, 0), child);
    /* Reaped: the kernel no longer knows the task. */
    assert_int_equal(acct_listener_task_switches(l, child, &asked), -ESRCH);
    acct_listener_stop(l);
}

static void test_listener_receives_a_childs_exit(void **state)
{
    (void)state;
    struct acct_listener *l = start_or_skip();
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "acct-test");
        burn_ms(30);
        _exit(0);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    const struct acct_exit *recs = NULL;
    size_t n = 0;
    bool lost = false, found = false;
    for (int tries = 0; tries < 50 && !found; tries++) {
        n = acct_listener_take(l, &recs, &lost);
        for (size_t i = 0; i < n && !found; i++) {
            if (recs[i].tgid != child)
                continue;
            found = true;
            assert_string_equal(recs[i].comm, "acct-test");
            assert_int_equal(recs[i].ppid, getpid());
            assert_true(recs[i].utime_us + recs[i].stime_us >= 25000);
            /* Sent between the last time the socket was empty and its receipt. */
            assert_true(recs[i].sent_after_ns > 0);
            assert_true(recs[i].sent_after_ns <= recs[i].received_ns);
        }
        if (!found)
            usleep(10000);
    }
    assert_true(found);
    struct acct_stats st;
    acct_listener_stats(l, &st);
    assert_true(st.records >= 1);
    acct_listener_stop(l);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_record_takes_the_exact_cpu_split_as_the_samples),
        cmocka_unit_test(test_exit_record_of_an_older_kernel),
        cmocka_unit_test(test_truncated_exit_records_are_rejected),
        cmocka_unit_test(test_proc_events),
        cmocka_unit_test(test_listener_receives_a_childs_exit),
        cmocka_unit_test(test_task_switches_answer),
        cmocka_unit_test(test_task_switches_error),
        cmocka_unit_test(test_listener_answers_a_tasks_switches),
    };
    test_filter_from_args(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
