/* The tracker over synthetic scan sequences: no /proc involved. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker/tracker.h"

#define MAXP 256
/* Times are counted in microseconds; the fake source's stat ticks are 1/100 s. */
#define US(ticks) ((uint64_t)(ticks)*10000)

struct fake_proc {
    struct proc_stat st;
    struct proc_metrics m;
    struct proc_thread th[8];
    int nthreads; /* threads reported by task/; st.num_threads is set by the test */
    uint64_t key; /* the process key; 0: the source has none (-ENOTSUP) */
    bool stat_error;
    bool gone_at_metrics;
    unsigned identity_calls;
    unsigned metrics_calls;  /* full reads: status, io, fds and limit */
    unsigned volatile_calls; /* reads of the parts that change while it sleeps */
    unsigned threads_calls;
    unsigned thread_reads;
    unsigned schedstat_calls;
    unsigned switches_calls;
    int switches_error; /* what the kernel answers instead of the switches; 0: them */
    unsigned last_wants;
};

struct fake {
    struct fake_proc p[MAXP];
    size_t n, next;
    uint64_t now;
    bool list_fails;
    /* Exit records waiting to be taken, and those handed over by the last take. */
    struct tracker_exit exits[16], taken[16];
    size_t nexits;
    /* Records sent during the next take's scan: handed over by the take after it. */
    struct tracker_exit later[4];
    size_t nlater;
    bool exits_lost;
    unsigned takes;
    uint64_t swap_moves; /* the system's swap counters */
};

static struct fake_proc *fake_find(struct fake *f, int pid)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->p[i].st.pid == pid)
            return &f->p[i];
    return NULL;
}

/* Adds or replaces the process with this pid. */
static struct fake_proc *fake_set(struct fake *f, int pid, const char *comm, uint64_t start)
{
    struct fake_proc *p = fake_find(f, pid);
    if (!p) {
        assert_true(f->n < MAXP);
        p = &f->p[f->n++];
    }
    memset(p, 0, sizeof(*p));
    p->st.pid = pid;
    p->st.ppid = 1;
    snprintf(p->st.comm, sizeof(p->st.comm), "%s", comm);
    p->st.starttime_ticks = start;
    p->st.state = 'S';
    p->st.num_threads = 1;
    p->m.has_status = p->m.has_io = true;
    p->m.status.has_ctxt = true;
    return p;
}

static void fake_remove(struct fake *f, int pid)
{
    struct fake_proc *p = fake_find(f, pid);
    assert_non_null(p);
    *p = f->p[--f->n];
}

static int f_list(void *ctx)
{
    struct fake *f = ctx;
    f->next = 0;
    return f->list_fails ? -EACCES : 0;
}

static int f_next(void *ctx, struct proc_stat *st)
{
    struct fake *f = ctx;
    if (f->next >= f->n)
        return 0;
    struct fake_proc *p = &f->p[f->next++];
    *st = p->st;
    return p->stat_error ? -EACCES : 1;
}

static int f_identity(void *ctx, const struct proc_stat *st, unsigned needs,
                      struct proc_identity *id, unsigned *failed)
{
    (void)needs;
    struct fake_proc *p = fake_find(ctx, st->pid);
    p->identity_calls++;
    memset(id, 0, sizeof(*id));
    id->pid = st->pid;
    id->ppid = st->ppid;
    id->comm = p->st.comm;
    id->cmdline = "";
    *failed = 0;
    return 0;
}

static int f_metrics(void *ctx, int pid, unsigned wants, struct proc_metrics *m)
{
    struct fake_proc *p = fake_find(ctx, pid);
    if (wants & PROC_WANT_IO)
        p->metrics_calls++;
    else
        p->volatile_calls++;
    p->last_wants = wants;
    if (p->gone_at_metrics)
        return -ESRCH;
    *m = p->m;
    /* Only what was asked for. */
    m->has_status = m->has_status && (wants & PROC_WANT_STATUS);
    m->has_io = m->has_io && (wants & PROC_WANT_IO);
    m->has_open_fds = m->has_open_fds && (wants & PROC_WANT_FDS);
    m->has_fd_limit = m->has_fd_limit && (wants & PROC_WANT_LIMIT);
    m->has_smaps = m->has_smaps && (wants & PROC_WANT_SMAPS);
    if (!(wants & PROC_WANT_WCHAN))
        m->wchan[0] = '\0';
    return 0;
}

static int f_tasks(void *ctx, int pid, const int **tids, size_t *ntids)
{
    static int list[8];
    struct fake_proc *p = fake_find(ctx, pid);
    p->threads_calls++;
    for (int i = 0; i < p->nthreads; i++)
        list[i] = p->th[i].stat.pid;
    *tids = list;
    *ntids = (size_t)p->nthreads;
    return 0;
}

static struct proc_thread *fake_thread_find(struct fake_proc *p, int tid)
{
    for (int i = 0; i < p->nthreads; i++)
        if (p->th[i].stat.pid == tid)
            return &p->th[i];
    return NULL;
}

static int f_thread(void *ctx, int pid, int tid, unsigned wants, struct proc_thread *out,
                    unsigned *failed)
{
    (void)failed;
    struct fake_proc *p = fake_find(ctx, pid);
    struct proc_thread *th = fake_thread_find(p, tid);
    if (!th)
        return -ESRCH;
    p->thread_reads++;
    *out = *th;
    out->has_io = out->has_io && (wants & PROC_WANT_IO);
    if (!(wants & PROC_WANT_WCHAN))
        out->wchan[0] = '\0';
    return 0;
}

/* As in the kernel, schedstat moves whenever the task did anything: here, a hash of all that
 * the fake task reports. */
static uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *b = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int f_schedstat(void *ctx, int pid, int tid, struct proc_schedstat *out)
{
    struct fake_proc *p = fake_find(ctx, pid);
    p->schedstat_calls++;
    memset(out, 0, sizeof(*out));
    if (tid == 0) {
        /* What changes while the task sleeps does not move its schedstat. */
        struct proc_metrics m = p->m;
        m.status.vm_swap_bytes = m.fd_limit = m.pss_bytes = m.swap_pss_bytes = 0;
        out->run_ns = hash_bytes(&p->st, sizeof(p->st)) ^ hash_bytes(&m, sizeof(m));
    } else {
        struct proc_thread *th = fake_thread_find(p, tid);
        if (!th)
            return -ESRCH;
        out->run_ns = hash_bytes(th, sizeof(*th));
    }
    return 0;
}

/* The kernel's answer for a task's switches: those of its status file. */
static int f_switches(void *ctx, int tid, struct proc_switches *out)
{
    struct fake_proc *p = fake_find(ctx, tid);
    if (!p)
        return -ESRCH;
    p->switches_calls++;
    if (p->switches_error)
        return p->switches_error;
    out->voluntary = p->m.status.voluntary_ctxt;
    out->involuntary = p->m.status.nonvoluntary_ctxt;
    return 0;
}

/* Adds a thread to a process (tid == pid for the main thread). */
static struct proc_thread *fake_thread(struct fake_proc *p, int tid, const char *name,
                                       uint64_t start)
{
    assert_true(p->nthreads < 8);
    struct proc_thread *th = &p->th[p->nthreads++];
    memset(th, 0, sizeof(*th));
    th->stat.pid = tid;
    snprintf(th->stat.comm, sizeof(th->stat.comm), "%s", name);
    th->stat.state = 'S';
    th->stat.starttime_ticks = start;
    th->has_io = th->has_status = true;
    th->status.has_ctxt = true;
    p->st.num_threads = p->nthreads;
    return th;
}

static void fake_thread_remove(struct fake_proc *p, int tid)
{
    for (int i = 0; i < p->nthreads; i++) {
        if (p->th[i].stat.pid == tid) {
            p->th[i] = p->th[--p->nthreads];
            p->st.num_threads = p->nthreads;
            return;
        }
    }
    fail();
}

static int f_swap_moves(void *ctx, uint64_t *moves)
{
    *moves = ((struct fake *)ctx)->swap_moves;
    return 0;
}

static uint64_t f_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static size_t f_exits(void *ctx, const struct tracker_exit **records, bool *lost)
{
    struct fake *f = ctx;
    size_t n = f->nexits;
    memcpy(f->taken, f->exits, n * sizeof(*f->exits));
    memcpy(f->exits, f->later, f->nlater * sizeof(*f->later));
    f->nexits = f->nlater;
    f->nlater = 0;
    *records = f->taken;
    *lost = f->exits_lost;
    f->exits_lost = false;
    f->takes++;
    return n;
}

static int f_process_key(void *ctx, int pid, uint64_t *key)
{
    struct fake_proc *p = fake_find(ctx, pid);
    if (!p)
        return -ESRCH;
    if (!p->key)
        return -ENOTSUP;
    *key = p->key;
    return 0;
}

/* Processes whose comm starts with "x" match nothing; the others form a group named after it. */
static int classify(void *ctx, const struct proc_identity *id, struct strbuf *name)
{
    (void)ctx;
    if (id->comm[0] == 'x')
        return -1;
    strbuf_reset(name);
    strbuf_puts(name, id->comm);
    return 0;
}

struct fixture {
    struct fake fake;
    struct tracker_source src;
    struct tracker *t;
};

static struct fixture *fixture_with(struct tracker_options o)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->fake.now = 1000;
    fx->src = (struct tracker_source){.ctx = &fx->fake,
                                      .list = f_list,
                                      .next = f_next,
                                      .identity = f_identity,
                                      .metrics = f_metrics,
                                      .tasks = f_tasks,
                                      .thread = f_thread,
                                      .schedstat = f_schedstat,
                                      .swap_moves = f_swap_moves,
                                      .now_ticks = f_now,
                                      .exits = f_exits,
                                      .process_key = f_process_key};
    struct tracker_classifier c = {.ctx = NULL, .needs = 0, .classify = classify, .list_all = true};
    fx->t = tracker_new(&o, &c);
    return fx;
}

static struct fixture *fixture_new(bool children)
{
    struct tracker_options o = {
        .page_size = 4096, .children = children, .threads = true, .smaps = true, .wchan = true};
    return fixture_with(o);
}

static struct fixture *fixture_refreshing(uint64_t refresh_ticks)
{
    struct tracker_options o = {.page_size = 4096,
                                .children = true,
                                .threads = true,
                                .wchan = true,
                                .refresh_ticks = refresh_ticks};
    return fixture_with(o);
}

/* Quiet tasks are skipped; the periodic full read is so far away that no test meets it. */
static struct fixture *fixture_skipping(void)
{
    return fixture_refreshing(1000000000000ull);
}

static void fixture_free(struct fixture *fx)
{
    tracker_free(fx->t);
    free(fx);
}

static int setup(void **state)
{
    *state = fixture_new(true);
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static void scan(struct fixture *fx)
{
    assert_int_equal(tracker_scan(fx->t, &fx->src), 0);
    fx->fake.now += 100;
}

static const struct tracker_group *group(struct fixture *fx, const char *name)
{
    const struct tracker_group *g = tracker_group_find(fx->t, name);
    assert_non_null(g);
    return g;
}

static void test_first_scan_is_baseline_later_births_count_from_birth(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 500);
    a->st.utime_ticks = 100;
    a->m.io.write_bytes = 7000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(0));
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_WRITE_BYTES], 0);

    a->st.utime_ticks = 150;
    a->m.io.write_bytes = 7500;
    struct fake_proc *b = fake_set(&fx->fake, 11, "app", fx->fake.now + 5); /* born later */
    b->st.utime_ticks = 30;
    b->m.io.write_bytes = 1000;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(50 + 30));
    assert_int_equal(g->counters.v[TRACKER_WRITE_BYTES], 500 + 1000);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 2);
}

static void test_counter_survives_pid_reuse(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->st.utime_ticks = 500;
    a->m.status.voluntary_ctxt = 900;
    scan(fx);
    a->st.utime_ticks = 600;
    a->m.status.voluntary_ctxt = 1000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(100));
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 100);

    /* Same pid, new starttime: a new process with small counters, not a drop of 580. */
    a = fake_set(&fx->fake, 10, "app", fx->fake.now + 1);
    a->st.utime_ticks = 20;
    a->m.status.voluntary_ctxt = 3;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(120));
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 103);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(tracker_tracked_count(fx->t), 1);
}

static void test_counter_survives_exit_and_entry_is_forgotten(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    struct fake_proc *b = fake_set(&fx->fake, 11, "app", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    b = fake_find(&fx->fake, 11);
    a->st.stime_ticks = 40;
    b->st.stime_ticks = 60;
    b->st.majflt = 3;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_SYSTEM], US(100));
    assert_int_equal(tracker_tracked_count(fx->t), 2);

    fake_remove(&fx->fake, 11);
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_SYSTEM], US(100));
    assert_int_equal(g->counters.v[TRACKER_MAJOR_FAULTS], 3);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(tracker_tracked_count(fx->t), 1);

    fake_remove(&fx->fake, 10);
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_SYSTEM], US(100));
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 0);
    assert_false(g->gauges.has_oldest);
    assert_int_equal(tracker_tracked_count(fx->t), 0);
}

static void test_thread_exit_never_decreases_context_switches(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.status.nonvoluntary_ctxt = 100;
    scan(fx);
    a->m.status.nonvoluntary_ctxt = 3744;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_NONVOLUNTARY], 3644);
    /* A thread exits and the process total falls (process-exporter went 3744 -> 44). */
    a->m.status.nonvoluntary_ctxt = 44;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_NONVOLUNTARY], 3644);
    a->m.status.nonvoluntary_ctxt = 54;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_NONVOLUNTARY], 3654);
}

static void test_unreadable_io_keeps_counter_and_baseline(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.io.read_bytes = 1000;
    scan(fx);
    a->m.io.read_bytes = 2000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_READ_BYTES], 1000);

    a->m.has_io = false;
    a->m.io.read_bytes = 0;
    a->m.failed = 1u << PROC_FILE_IO;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_READ_BYTES], 1000);
    assert_int_equal(tracker_errors(fx->t)->partial[PROC_FILE_IO], 1);

    a->m.has_io = true;
    a->m.failed = 0;
    a->m.io.read_bytes = 2500;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_READ_BYTES], 1500);
}

static void test_ignored_process_costs_one_stat_read(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "xignored", 100);
    fake_set(&fx->fake, 11, "app", 100);
    for (int i = 0; i < 5; i++)
        scan(fx);
    struct fake_proc *x = fake_find(&fx->fake, 10);
    struct fake_proc *a = fake_find(&fx->fake, 11);
    assert_int_equal(x->identity_calls, 1);
    assert_int_equal(x->metrics_calls, 0);
    assert_int_equal(a->identity_calls, 1);
    assert_int_equal(a->metrics_calls, 5);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
    assert_int_equal(tracker_group_count(fx->t), 1);
}

static void test_vanished_processes_are_forgotten_under_churn(void **state)
{
    struct fixture *fx = *state;
    /* Generations of 200 processes each, half ignored, every pid new: memory must follow the
     * live set, not the history. */
    for (int gen = 0; gen < 50; gen++) {
        fx->fake.n = 0;
        for (int i = 0; i < 200; i++)
            fake_set(&fx->fake, 1000 + gen * 200 + i, i % 2 ? "xjunk" : "app", fx->fake.now + 1);
        scan(fx);
        assert_int_equal(tracker_tracked_count(fx->t), 100);
        assert_int_equal(tracker_ignored_count(fx->t), 100);
    }
    fx->fake.n = 0;
    scan(fx);
    assert_int_equal(tracker_tracked_count(fx->t), 0);
    assert_int_equal(tracker_ignored_count(fx->t), 0);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 0);
}

static void test_child_joins_nearest_tracked_ancestor(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "app", 100);
    struct fake_proc *mid = fake_set(&fx->fake, 20, "xshell", 200);
    mid->st.ppid = 10;
    /* The grandchild has a lower pid than its parent: resolution must not depend on order. */
    struct fake_proc *leaf = fake_set(&fx->fake, 5, "xworker", 300);
    leaf->st.ppid = 20;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 3);
    assert_int_equal(tracker_ignored_count(fx->t), 0);
}

static void test_each_scan_lists_the_decisions_it_took(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "app", 100);
    fake_set(&fx->fake, 30, "xlonely", 100);
    struct fake_proc *child = fake_set(&fx->fake, 20, "xchild", 200);
    child->st.ppid = 10;
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 3);
    /* In scan order, adopted children once their ancestry is resolved at the end. */
    const struct tracker_new_process *p = tracker_new_at(fx->t, 0);
    assert_int_equal(p->pid, 10);
    assert_string_equal(p->comm, "app");
    assert_string_equal(p->group, "app");
    assert_int_equal(p->rule, 0);
    assert_int_equal(p->adopted_from, 0);
    assert_int_equal(p->starttime_ticks, 100);
    p = tracker_new_at(fx->t, 1);
    assert_int_equal(p->pid, 30);
    assert_null(p->group);
    assert_int_equal(p->rule, -1);
    p = tracker_new_at(fx->t, 2);
    assert_int_equal(p->pid, 20);
    assert_string_equal(p->group, "app");
    assert_int_equal(p->rule, -1);
    assert_int_equal(p->adopted_from, 10);
    assert_null(tracker_new_at(fx->t, 3));

    /* Nothing new: nothing listed. A failed listing lists nothing either. */
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 0);
    fake_set(&fx->fake, 40, "late", fx->fake.now);
    fx->fake.list_fails = true;
    assert_int_equal(tracker_scan(fx->t, &fx->src), -EACCES);
    assert_int_equal(tracker_new_count(fx->t), 0);
    fx->fake.list_fails = false;
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 1);
    assert_string_equal(tracker_new_at(fx->t, 0)->group, "late");
}

static void test_has_process_knows_pid_and_start_time(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "app", 100);
    fake_set(&fx->fake, 30, "xlone", 300); /* ignored */
    scan(fx);
    assert_true(tracker_has_process(fx->t, 10, 100));
    assert_true(tracker_has_process(fx->t, 30, 300));
    assert_false(tracker_has_process(fx->t, 10, 101)); /* another start: another process */
    assert_false(tracker_has_process(fx->t, 11, 100));

    /* pid 10 exits and is reused. */
    fake_remove(&fx->fake, 10);
    scan(fx);
    assert_false(tracker_has_process(fx->t, 10, 100));
    fake_set(&fx->fake, 10, "app", 900);
    scan(fx);
    assert_false(tracker_has_process(fx->t, 10, 100));
    assert_true(tracker_has_process(fx->t, 10, 900));
}

static void test_only_the_decisions_asked_for_are_listed(void **state)
{
    struct fixture *fx = *state;
    static const bool follow_none[1] = {false}, follow_rule0[1] = {true};
    struct tracker_classifier c = {
        .classify = classify, .list_all = false, .follow = follow_none, .nfollow = 1};
    tracker_set_classifier(fx->t, &c);
    fake_set(&fx->fake, 10, "app", 100);
    fake_set(&fx->fake, 30, "xlonely", 100);
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 0);

    /* Following rule 0: its decisions are listed, not the ignored process's. (10 stays in its
     * group across the reload: no new decision.) */
    c.follow = follow_rule0;
    tracker_set_classifier(fx->t, &c);
    fake_set(&fx->fake, 11, "web", fx->fake.now);
    fake_set(&fx->fake, 31, "xother", fx->fake.now);
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 1);
    assert_int_equal(tracker_new_at(fx->t, 0)->pid, 11);
    assert_int_equal(tracker_new_at(fx->t, 0)->rule, 0);
}

static void test_reused_parent_pid_is_not_an_ancestor(void **state)
{
    struct fixture *fx = *state;
    /* pid 10 is a tracked process that started after the orphan was born: it cannot be the
     * orphan's parent, its pid was merely reused. */
    fake_set(&fx->fake, 10, "app", 900);
    struct fake_proc *orphan = fake_set(&fx->fake, 30, "xorphan", 500);
    orphan->st.ppid = 10;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
}

static void test_exited_parent_is_looked_past(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "app", 100);                           /* grandparent, group app */
    struct fake_proc *mid = fake_set(&fx->fake, 20, "other", 200); /* parent, group other */
    mid->st.ppid = 10;
    scan(fx);
    /* The parent exits; a child it forked just before shows up still naming it as parent. */
    fake_remove(&fx->fake, 20);
    struct fake_proc *c = fake_set(&fx->fake, 30, "xchild", 300);
    c->st.ppid = 20;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 2);
    assert_int_equal(group(fx, "other")->gauges.v[TRACKER_PROCS], 0);
}

static void test_children_off_leaves_unmatched_ignored(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 10, "app", 100);
    struct fake_proc *c = fake_set(&fx->fake, 11, "xchild", 200);
    c->st.ppid = 10;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
    fixture_free(fx);
}

static void test_gauges_sum_live_members(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 300);
    a->st.rss_pages = 10;
    a->st.vsize_bytes = 1 << 20;
    a->st.num_threads = 4;
    a->st.state = 'R';
    a->m.status.vm_swap_bytes = 4096;
    a->m.has_open_fds = a->m.has_fd_limit = true;
    a->m.open_fds = 10;
    a->m.fd_limit = 1000;
    struct fake_proc *b = fake_set(&fx->fake, 11, "app", 200);
    b->st.rss_pages = 5;
    b->st.state = 'D';
    b->m.has_open_fds = b->m.has_fd_limit = true;
    b->m.open_fds = 50;
    b->m.fd_limit = 100;
    struct fake_proc *z = fake_set(&fx->fake, 12, "app", 250);
    z->st.state = 'Z';
    z->m.has_open_fds = z->m.has_fd_limit = true;
    z->m.open_fds = 3;
    z->m.fd_limit = PROC_LIMIT_UNLIMITED;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 3);
    assert_int_equal(g->gauges.v[TRACKER_THREADS], 6);
    assert_int_equal(g->gauges.v[TRACKER_RESIDENT_BYTES], 15 * 4096);
    assert_int_equal(g->gauges.v[TRACKER_VIRTUAL_BYTES], 1 << 20);
    assert_int_equal(g->gauges.v[TRACKER_SWAPPED_BYTES], 4096);
    assert_int_equal(g->gauges.v[TRACKER_OPEN_FDS], 63);
    assert_float_equal(g->gauges.worst_fd_ratio, 0.5, 1e-9);
    assert_true(g->gauges.has_oldest);
    assert_int_equal(g->gauges.oldest_start_ticks, 200);
    assert_int_equal(g->gauges.states[TRACKER_STATE_RUNNING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_WAITING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_ZOMBIE], 1);
    /* Gauges are recomputed, not accumulated. */
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 3);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_OPEN_FDS], 63);
}

static void test_unreadable_stat_and_listing_are_counted(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->stat_error = true;
    scan(fx);
    assert_int_equal(tracker_errors(fx->t)->procread, 1);
    assert_int_equal(tracker_tracked_count(fx->t), 1); /* kept, not forgotten */

    fx->fake.list_fails = true;
    assert_int_equal(tracker_scan(fx->t, &fx->src), -EACCES);
    assert_int_equal(tracker_errors(fx->t)->scan, 1);
}

static void test_process_gone_during_read_is_not_counted(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->gone_at_metrics = true;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 0);
    const struct tracker_errors *e = tracker_errors(fx->t);
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++)
        assert_int_equal(e->partial[f], 0);
    assert_int_equal(e->procread, 0);
}

static void test_groups_come_in_name_order(void **state)
{
    struct fixture *fx = *state;
    const char *names[] = {"zeta", "alpha", "mid", "beta", "omega"};
    for (int i = 0; i < 5; i++)
        fake_set(&fx->fake, 10 + i, names[i], 100);
    scan(fx);
    assert_int_equal(tracker_group_count(fx->t), 5);
    const char *want[] = {"alpha", "beta", "mid", "omega", "zeta"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(tracker_group_at(fx->t, i)->name, want[i]);
    assert_null(tracker_group_at(fx->t, 5));
}

/* Random scans: counters of members go up and down, processes exit, pids are reused, files
 * become unreadable. Whatever happens, no group counter may ever decrease. */
static void test_group_counters_never_decrease_under_random_scans(void **state)
{
    struct fixture *fx = *state;
    struct tracker_counters prev[4] = {0};
    const char *names[4] = {"g0", "g1", "g2", "g3"};
    srand(12345);
    for (int round = 0; round < 400; round++) {
        int op = rand() % 10;
        int pid = 100 + rand() % 40;
        struct fake_proc *p = fake_find(&fx->fake, pid);
        if (op == 0 && p) {
            fake_remove(&fx->fake, pid);
        } else if (op == 1 || !p) {
            p = fake_set(&fx->fake, pid, names[rand() % 4], fx->fake.now + (uint64_t)(rand() % 50));
        }
        for (size_t i = 0; i < fx->fake.n; i++) {
            struct fake_proc *q = &fx->fake.p[i];
            int jitter = rand() % 100 - 20; /* mostly up, sometimes down */
            q->st.utime_ticks = (uint64_t)((int64_t)q->st.utime_ticks + jitter < 0
                                               ? 0
                                               : (int64_t)q->st.utime_ticks + jitter);
            q->m.status.voluntary_ctxt = (uint64_t)(rand() % 1000);
            q->m.has_io = rand() % 5 != 0;
            q->m.io.read_bytes += (uint64_t)(rand() % 4096);
        }
        scan(fx);
        for (int g = 0; g < 4; g++) {
            const struct tracker_group *tg = tracker_group_find(fx->t, names[g]);
            if (!tg)
                continue;
            assert_true(tg->counters.v[TRACKER_CPU_USER] >= prev[g].v[TRACKER_CPU_USER]);
            assert_true(tg->counters.v[TRACKER_CTX_VOLUNTARY] >= prev[g].v[TRACKER_CTX_VOLUNTARY]);
            assert_true(tg->counters.v[TRACKER_READ_BYTES] >= prev[g].v[TRACKER_READ_BYTES]);
            prev[g] = tg->counters;
        }
    }
    assert_true(prev[0].v[TRACKER_CPU_USER] + prev[1].v[TRACKER_CPU_USER] > 0);
}

static void test_guest_iowait_and_io_calls_accumulate_across_restart(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *vm = fake_set(&fx->fake, 10, "kvm", 100);
    scan(fx);
    vm = fake_find(&fx->fake, 10);
    vm->st.guest_time_ticks = 300;
    vm->st.delayacct_blkio_ticks = 7;
    vm->m.io.rchar = 1000;
    vm->m.io.syscw = 12;
    scan(fx);
    /* The VM restarts: a new process, same group, small counters. */
    vm = fake_set(&fx->fake, 20, "kvm", fx->fake.now + 1);
    vm->st.guest_time_ticks = 50;
    vm->m.io.rchar = 10;
    vm->m.io.syscw = 1;
    scan(fx);
    const struct tracker_counters *c = &group(fx, "kvm")->counters;
    assert_int_equal(c->v[TRACKER_GUEST], US(350));
    assert_int_equal(c->v[TRACKER_BLKIO_DELAY], US(7));
    assert_int_equal(c->v[TRACKER_READ_CHARS], 1010);
    assert_int_equal(c->v[TRACKER_WRITE_SYSCALLS], 13);
}

static uint64_t state_sum(const struct tracker_group *g)
{
    uint64_t n = 0;
    for (int i = 0; i < TRACKER_STATE_COUNT; i++)
        n += g->gauges.states[i];
    return n;
}

static const struct tracker_thread_name *thread_name(const struct tracker_group *g,
                                                     const char *name)
{
    for (size_t i = 0; i < g->nthreads; i++)
        if (strcmp(g->threads[i].name, name) == 0)
            return &g->threads[i];
    return NULL;
}

static void test_states_count_each_thread_once(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100)->stat.state = 'R';
    fake_thread(a, 11, "worker", 100);
    fake_thread(a, 12, "worker", 100)->stat.state = 'D';
    struct fake_proc *b = fake_set(&fx->fake, 20, "app", 100); /* single-threaded */
    b->st.state = 'S';
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_THREADS], 4);
    assert_int_equal(state_sum(g), g->gauges.v[TRACKER_THREADS]);
    assert_int_equal(g->gauges.states[TRACKER_STATE_RUNNING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_SLEEPING], 2);
    assert_int_equal(g->gauges.states[TRACKER_STATE_WAITING], 1);
    /* Only multi-threaded processes feed the thread families, as in process-exporter. */
    assert_int_equal(thread_name(g, "worker")->count, 2);
    assert_int_equal(thread_name(g, "app")->count, 1);
    assert_int_equal(fake_find(&fx->fake, 20)->threads_calls, 0);
}

static void test_thread_exit_keeps_counters_monotonic(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100)->status.voluntary_ctxt = 40;
    struct proc_thread *w = fake_thread(a, 11, "worker", 100);
    w->status.voluntary_ctxt = 1000;
    w->stat.utime_ticks = 500;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->th[0].status.voluntary_ctxt = 44;
    a->th[1].status.voluntary_ctxt = 3700;
    a->th[1].stat.utime_ticks = 800;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 4 + 2700);
    assert_int_equal(thread_name(g, "worker")->counters.v[TRACKER_CPU_USER], US(300));
    assert_int_equal(thread_name(g, "worker")->counters.v[TRACKER_CTX_VOLUNTARY], 2700);

    /* The worker exits: the process's live-thread sum drops from 3744 to 44 — ours must not. */
    fake_thread_remove(a, 11);
    a->th[0].status.voluntary_ctxt = 50;
    a->m.status.voluntary_ctxt = 50; /* single-threaded now: status is the main thread */
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 4 + 2700 + 6);
    assert_int_equal(thread_name(g, "worker")->count, 0);
    assert_int_equal(thread_name(g, "worker")->counters.v[TRACKER_CPU_USER], US(300));

    /* A new thread with the old name continues the name's counters from its birth. */
    w = fake_thread(a, 13, "worker", fx->fake.now);
    w->stat.utime_ticks = 7;
    w->status.voluntary_ctxt = 5;
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(thread_name(g, "worker")->count, 1);
    assert_int_equal(thread_name(g, "worker")->counters.v[TRACKER_CPU_USER], US(307));
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 4 + 2700 + 6 + 5);
}

static void test_thread_name_counters_survive_absence_until_ttl(void **state)
{
    struct fixture *fx = *state; /* 100 ticks a second, scans 100 ticks apart */
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100);
    struct proc_thread *w = fake_thread(a, 11, "short", 100);
    w->stat.utime_ticks = 5;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->th[1].stat.utime_ticks = 9;
    scan(fx);
    assert_int_equal(thread_name(group(fx, "app"), "short")->counters.v[TRACKER_CPU_USER], US(4));
    /* Gone for 500 scans (500 s): still remembered, and a new thread of that name adds to it. */
    fake_thread_remove(a, 11);
    fake_thread(a, 12, "worker", 100);
    for (int i = 0; i < 500; i++)
        scan(fx);
    assert_non_null(thread_name(group(fx, "app"), "short"));
    w = fake_thread(a, 13, "short", fx->fake.now);
    w->stat.utime_ticks = 1;
    scan(fx);
    assert_int_equal(thread_name(group(fx, "app"), "short")->counters.v[TRACKER_CPU_USER], US(5));
    /* Gone for more than ten minutes: forgotten, so numbered names cannot pile up. */
    fake_thread_remove(a, 13);
    for (int i = 0; i < 610; i++)
        scan(fx);
    assert_null(thread_name(group(fx, "app"), "short"));
}

/* -threads.max-names: a process renaming its threads fills its group's table up to the cap, and
 * the names past it are tallied, counters and all, under the overflow name. */
static void test_thread_names_past_the_cap_are_tallied_under_one_name(void **state)
{
    (void)state;
    struct fixture *fx = fixture_with((struct tracker_options){
        .page_size = 4096, .children = true, .threads = true, .thread_names_max = 2});
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100);
    fake_thread(a, 11, "w1", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    snprintf(a->th[1].stat.comm, sizeof(a->th[1].stat.comm), "w2"); /* renamed */
    fake_thread(a, 12, "w3", fx->fake.now)->stat.utime_ticks = 4;
    fake_thread(a, 13, "w4", fx->fake.now)->stat.utime_ticks = 6;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->nthreads, 3);
    assert_string_equal(g->threads[0].name, TRACKER_THREAD_NAME_OVERFLOW); /* '(' sorts first */
    assert_string_equal(g->threads[1].name, "app");
    assert_string_equal(g->threads[2].name, "w1");
    assert_int_equal(thread_name(g, "w1")->count, 0); /* renamed away, kept for the TTL */
    assert_int_equal(thread_name(g, TRACKER_THREAD_NAME_OVERFLOW)->count, 3);
    assert_int_equal(thread_name(g, TRACKER_THREAD_NAME_OVERFLOW)->counters.v[TRACKER_CPU_USER],
                     US(10));
    fixture_free(fx);
}

static void test_process_going_single_threaded_continues_from_main_thread(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100)->status.nonvoluntary_ctxt = 10;
    fake_thread(a, 11, "worker", 100)->status.nonvoluntary_ctxt = 90;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->th[0].status.nonvoluntary_ctxt = 20;
    a->th[1].status.nonvoluntary_ctxt = 95;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_NONVOLUNTARY], 15);
    /* Now single-threaded: status holds the main thread's count again. */
    fake_thread_remove(a, 11);
    fake_thread_remove(a, 10);
    a->st.num_threads = 1;
    a->m.status.nonvoluntary_ctxt = 25;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_NONVOLUNTARY], 20);
}

/* -threads=false, and quiet tasks skipped. */
static struct fixture *fixture_threads_off(void)
{
    struct tracker_options o = {.page_size = 4096,
                                .children = true,
                                .threads = false,
                                .wchan = true,
                                .refresh_ticks = 1000000000000ull};
    return fixture_with(o);
}

/* -threads=false leaves out the thread_* families, not the threads: context switches, states
 * and wchans are those of every thread, as process-exporter reports them. */
static void test_threads_off_still_counts_every_thread(void **state)
{
    (void)state;
    struct fixture *fx = fixture_threads_off();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    struct proc_thread *main_thread = fake_thread(a, 10, "app", 100);
    main_thread->status.voluntary_ctxt = 5;
    strcpy(main_thread->wchan, "do_wait");
    struct proc_thread *w1 = fake_thread(a, 11, "worker", 100);
    w1->status.voluntary_ctxt = 1000;
    w1->status.nonvoluntary_ctxt = 40;
    strcpy(w1->wchan, "hrtimer_nanosleep");
    struct proc_thread *w2 = fake_thread(a, 12, "worker", 100);
    w2->stat.state = 'R';
    w2->status.nonvoluntary_ctxt = 70;
    a->m.status.voluntary_ctxt = 5; /* the process's status: its main thread only */
    scan(fx);
    /* The main thread sleeps; the workers switch. Nothing moves in the process's own files. */
    a = fake_find(&fx->fake, 10);
    a->th[1].status.voluntary_ctxt = 1600;
    a->th[1].status.nonvoluntary_ctxt = 52;
    a->th[2].status.nonvoluntary_ctxt = 130;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 600);
    assert_int_equal(g->counters.v[TRACKER_CTX_NONVOLUNTARY], 12 + 60);
    assert_int_equal(g->gauges.v[TRACKER_THREADS], 3);
    assert_int_equal(state_sum(g), 3);
    assert_int_equal(g->gauges.states[TRACKER_STATE_RUNNING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_SLEEPING], 2);
    assert_int_equal(g->nwchans, 2);
    assert_string_equal(g->wchans[0].name, "do_wait");
    assert_string_equal(g->wchans[1].name, "hrtimer_nanosleep");
    /* No per-name tallies are built, no thread io is read, no smaps without -gather-smaps. */
    assert_int_equal(g->nthreads, 0);
    assert_int_equal(fake_find(&fx->fake, 10)->last_wants & PROC_WANT_SMAPS, 0);
    fixture_free(fx);
}

static void test_threads_off_quiet_threads_cost_a_schedstat_read(void **state)
{
    (void)state;
    struct fixture *fx = fixture_threads_off();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100);
    fake_thread(a, 11, "idle", 100);
    fake_thread(a, 12, "busy", 100);
    scan(fx);
    for (int i = 1; i <= 3; i++) {
        a = fake_find(&fx->fake, 10);
        a->th[2].status.voluntary_ctxt += 10; /* sub-tick: only schedstat and status move */
        scan(fx);
    }
    a = fake_find(&fx->fake, 10);
    assert_int_equal(a->thread_reads, 3 + 3);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 30);
    assert_int_equal(state_sum(group(fx, "app")), 3);
    fixture_free(fx);
}

static void test_wchan_and_proportional_memory(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    strcpy(fake_thread(a, 10, "app", 100)->wchan, "do_epoll_wait");
    strcpy(fake_thread(a, 11, "w", 100)->wchan, "futex_wait_queue");
    strcpy(fake_thread(a, 12, "w", 100)->wchan, "futex_wait_queue");
    struct fake_proc *b = fake_set(&fx->fake, 20, "app", 100);
    strcpy(b->m.wchan, "do_epoll_wait");
    b->m.has_smaps = true;
    b->m.pss_bytes = 1000;
    b->m.swap_pss_bytes = 10;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->nwchans, 2);
    assert_string_equal(g->wchans[0].name, "do_epoll_wait");
    assert_int_equal(g->wchans[0].count, 2);
    assert_int_equal(g->wchans[1].count, 2);
    assert_int_equal(g->gauges.v[TRACKER_PSS_BYTES], 1000);
    assert_int_equal(g->gauges.v[TRACKER_SWAP_PSS_BYTES], 10);
    assert_true(fake_find(&fx->fake, 20)->last_wants & PROC_WANT_SMAPS);
    assert_true(fake_find(&fx->fake, 20)->last_wants & PROC_WANT_WCHAN);
}

static void test_recheck_matches_again_only_after_exec(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096, .children = true, .recheck = true};
    struct fixture *fx = fixture_with(o);
    struct fake_proc *p = fake_set(&fx->fake, 10, "xwrapper", 100);
    p->st.start_code = 0x1000;
    for (int i = 0; i < 4; i++)
        scan(fx);
    p = fake_find(&fx->fake, 10);
    assert_int_equal(p->identity_calls, 1); /* no exec, no second look */
    assert_int_equal(tracker_ignored_count(fx->t), 1);

    /* The wrapper execs its payload: new comm and code address, same pid and start time. */
    strcpy(p->st.comm, "payload");
    p->st.start_code = 0x2000;
    p->st.utime_ticks = 50;
    scan(fx);
    p = fake_find(&fx->fake, 10);
    assert_int_equal(p->identity_calls, 2);
    assert_int_equal(group(fx, "payload")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(tracker_ignored_count(fx->t), 0);
    fixture_free(fx);
}

static void test_recheck_time_limit(void **state)
{
    (void)state;
    struct tracker_options o = {
        .page_size = 4096, .children = true, .recheck = true, .recheck_limit_ticks = 250};
    struct fixture *fx = fixture_with(o);
    struct fake_proc *p = fake_set(&fx->fake, 10, "xwrapper", 900); /* scans at 1000, 1100.. */
    scan(fx);
    strcpy(p->st.comm, "xstill"); /* exec before the limit: looked at again */
    scan(fx);
    p = fake_find(&fx->fake, 10);
    assert_int_equal(p->identity_calls, 2);
    scan(fx); /* now = 1200 >= 900 + 250 */
    strcpy(p->st.comm, "app");
    scan(fx);
    assert_int_equal(fake_find(&fx->fake, 10)->identity_calls, 2);
    assert_null(tracker_group_find(fx->t, "app"));
    fixture_free(fx);
}

static void test_remove_empty_groups(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096, .remove_empty_groups = true};
    struct fixture *fx = fixture_with(o);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_set(&fx->fake, 11, "other", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->st.utime_ticks = 70;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(70));
    fake_remove(&fx->fake, 10);
    scan(fx);
    assert_null(tracker_group_find(fx->t, "app"));
    assert_int_equal(tracker_group_count(fx->t), 1);
    assert_string_equal(tracker_group_at(fx->t, 0)->name, "other");

    /* It comes back from zero (a counter reset, as Prometheus expects). */
    a = fake_set(&fx->fake, 12, "app", fx->fake.now + 1);
    a->st.utime_ticks = 3;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(3));
    assert_int_equal(tracker_group_count(fx->t), 2);
    assert_string_equal(tracker_group_at(fx->t, 0)->name, "app");
    fixture_free(fx);
}

static void test_empty_group_stays_without_the_option(void **state)
{
    struct fixture *fx = *state;
    fake_set(&fx->fake, 10, "app", 100);
    scan(fx);
    fake_remove(&fx->fake, 10);
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 0);
}

/* `always: true`: the group is there at 0 before its first process, and stays. */
static void test_always_group_exists_before_its_first_process(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096, .threads = true, .remove_empty_groups = true};
    struct fixture *fx = fixture_with(o);
    static const char *const always[] = {"app"};
    tracker_set_always(fx->t, always, 1);
    fake_set(&fx->fake, 11, "other", 100);
    scan(fx);
    assert_int_equal(tracker_group_count(fx->t), 2);
    const struct tracker_group *g = group(fx, "app");
    assert_true(g->always);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 0);
    for (size_t c = 0; c < TRACKER_COUNTER_COUNT; c++)
        assert_int_equal(g->counters.v[c], 0);
    assert_int_equal(g->nthreads, 0);

    /* Its first process, born after the first scan, counts from birth. */
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", fx->fake.now + 1);
    a->st.utime_ticks = 30;
    a->st.num_threads = 2;
    fake_thread(a, 10, "app", fx->fake.now + 1);
    fake_thread(a, 12, "worker", fx->fake.now + 1);
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(30));
    assert_int_equal(g->nthreads, 2);

    /* It exits: the group stays, at 0 processes, with -remove-empty-groups too, and keeps its
     * counters; the thread names are no longer reported. */
    fake_remove(&fx->fake, 10);
    fake_remove(&fx->fake, 11);
    scan(fx);
    assert_null(tracker_group_find(fx->t, "other"));
    g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 0);
    assert_int_equal(g->gauges.v[TRACKER_THREADS], 0);
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(30));
    for (size_t i = 0; i < g->nthreads; i++)
        assert_int_equal(g->threads[i].count, 0);

    /* The next one adds to them. */
    a = fake_set(&fx->fake, 13, "app", fx->fake.now + 1);
    a->st.utime_ticks = 5;
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(35));
    fixture_free(fx);
}

/* A reload replaces the set: new names appear before the next scan, a name no longer listed is
 * an ordinary group again (removed when empty with -remove-empty-groups), a name listed again
 * keeps its counters. */
static void test_always_set_is_replaced_on_reload(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096, .remove_empty_groups = true};
    struct fixture *fx = fixture_with(o);
    static const char *const before[] = {"app", "db"};
    tracker_set_always(fx->t, before, 2);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", fx->fake.now + 1);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->st.utime_ticks = 40;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(40));

    static const char *const after[] = {"cache", "app", "app"};
    tracker_set_always(fx->t, after, 3);
    assert_int_equal(tracker_group_count(fx->t), 3);
    assert_string_equal(tracker_group_at(fx->t, 0)->name, "app");
    assert_string_equal(tracker_group_at(fx->t, 1)->name, "cache");
    assert_false(group(fx, "db")->always);
    fake_remove(&fx->fake, 10);
    scan(fx);
    assert_null(tracker_group_find(fx->t, "db"));
    assert_int_equal(tracker_group_count(fx->t), 2);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(40));
    assert_int_equal(group(fx, "cache")->gauges.v[TRACKER_PROCS], 0);

    tracker_set_always(fx->t, NULL, 0);
    scan(fx);
    assert_int_equal(tracker_group_count(fx->t), 0);
    fixture_free(fx);
}

/* Rules after a reload: "app" is now named "new-app", "other" matches nothing. */

/* ---- exit records ---- */

static struct fixture *fixture_exits(bool children)
{
    struct tracker_options o = {
        .page_size = 4096, .children = children, .threads = true, .exits = TRACKER_EXITS_RECORDS};
    return fixture_with(o);
}

/* The record of a task of process `pid`, with `user_us` of user CPU and `minflt` faults. */
static struct tracker_exit *add_exit(struct fixture *fx, int tid, int pid, const char *comm,
                                     uint64_t start, uint64_t user_us, uint64_t minflt)
{
    assert_true(fx->fake.nexits < 16);
    struct tracker_exit *r = &fx->fake.exits[fx->fake.nexits++];
    memset(r, 0, sizeof(*r));
    r->tid = tid;
    r->pid = pid;
    r->ppid = 1;
    r->starttime_ticks = start;
    snprintf(r->comm, sizeof(r->comm), "%s", comm);
    r->raw[TRACKER_CPU_USER] = user_us;
    r->raw[TRACKER_MINOR_FAULTS] = minflt;
    r->present = TRACKER_BIT(TRACKER_CPU_USER) | TRACKER_BIT(TRACKER_CPU_SYSTEM) |
                 TRACKER_BIT(TRACKER_MINOR_FAULTS);
    r->process_ended = tid == pid;
    return r;
}

/* A tracked process that exits between two scans: its last interval counts, once. */
static void test_exit_record_counts_the_last_interval(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    fake_set(&fx->fake, 5, "other", 10);
    scan(fx);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 1050);
    a->st.utime_ticks = 100;
    a->st.minflt = 40;
    scan(fx); /* born after the first scan: counts from birth */
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(100));
    fake_remove(&fx->fake, 10);
    add_exit(fx, 10, 10, "app", 1050, 1234567, 55);
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], 1234567);
    assert_int_equal(g->counters.v[TRACKER_MINOR_FAULTS], 55);
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], 1234567);
    fixture_free(fx);
}

/* A record received long after the exit (its socket flooded): its latest start is seconds after
 * the process's, but the span the source gives holds it. Still the same process: its last
 * interval counts once, not its whole life again as a new one's. */
static void test_late_record_is_still_the_same_process(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    fake_set(&fx->fake, 5, "other", 10);
    scan(fx);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 1050);
    a->st.utime_ticks = 100;
    scan(fx);
    fake_remove(&fx->fake, 10);
    struct tracker_exit *r = add_exit(fx, 10, 10, "app", 1050 + 500, 1200000, 0);
    r->earliest_starttime_ticks = 1040;
    scan(fx);
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], 1200000);
    assert_int_equal(tracker_exit_stats(fx->t)->unseen, 0);
    fixture_free(fx);
}

/* A process that lived between two scans counts whole, in its own group; one that started
 * before the first scan counts nothing, and neither does anything before the first scan. */
static void test_unseen_process_counts_in_its_own_group(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    add_exit(fx, 8, 8, "early", 900, 5000, 1); /* taken before anything is ours */
    fake_set(&fx->fake, 5, "parent", 10);
    scan(fx);
    assert_null(tracker_group_find(fx->t, "early"));
    add_exit(fx, 77, 77, "short", 1050, 15000, 3);
    add_exit(fx, 78, 78, "xnomatch", 1050, 9000, 3);
    add_exit(fx, 79, 79, "old", 500, 9000, 3);
    scan(fx);
    assert_int_equal(group(fx, "short")->counters.v[TRACKER_CPU_USER], 15000);
    assert_int_equal(group(fx, "short")->gauges.v[TRACKER_PROCS], 0);
    assert_null(tracker_group_find(fx->t, "old"));
    assert_int_equal(tracker_exit_stats(fx->t)->unseen, 2);
    fixture_free(fx);
}

/* A process counted whole from its record may still be finishing exit() when the walk reads
 * it, its memory (and command line) gone: it is not a new process, and counts nothing more. */
static void test_process_finishing_exit_is_not_new(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(true);
    fake_set(&fx->fake, 5, "make", 10);
    scan(fx);
    add_exit(fx, 90, 90, "cc", 1050, 2000000, 0)->ppid = 5;
    struct fake_proc *c = fake_set(&fx->fake, 90, "xexiting", 1050);
    c->st.ppid = 5;
    c->st.state = 'R';
    c->st.utime_ticks = 200;
    scan(fx);
    fake_remove(&fx->fake, 90);
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], 2000000);
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], 0);
    fixture_free(fx);
}

/* With -children, an unmatched process known only from its records joins its parent's group,
 * and so do its own children. */
static void test_unseen_child_joins_its_parents_group(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(true);
    fake_set(&fx->fake, 5, "make", 10);
    scan(fx);
    add_exit(fx, 90, 90, "xcc", 1050, 7000, 1)->ppid = 5;
    add_exit(fx, 91, 91, "xas", 1051, 3000, 1)->ppid = 90;
    scan(fx);
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], 7000 + 3000);
    fixture_free(fx);
}

/* The record comes while the process is a zombie: the zombie adds nothing more; and a process
 * that runs on the same pid with the same start time afterwards is a new one. */
static void test_zombie_after_record_and_reuse_in_the_same_tick(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    fake_set(&fx->fake, 5, "other", 10);
    scan(fx);
    struct fake_proc *a = fake_set(&fx->fake, 10, "idle", 1050);
    a->st.utime_ticks = 1;
    scan(fx);
    a->st.state = 'Z';
    a->st.utime_ticks = 2;
    add_exit(fx, 10, 10, "idle", 1050, 20000, 0);
    scan(fx);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], 20000);
    assert_int_equal(group(fx, "idle")->gauges.states[TRACKER_STATE_ZOMBIE], 1);
    scan(fx);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], 20000);
    /* Reaped; a heavy process takes the pid in the same tick. */
    struct fake_proc *b = fake_set(&fx->fake, 10, "heavy", 1050);
    b->st.utime_ticks = 300;
    scan(fx);
    b->st.utime_ticks = 500;
    scan(fx);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], 20000);
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_CPU_USER], US(500));
    fixture_free(fx);
}

/* A thread that exits while its process lives is in the process's next reading; one whose
 * process ends in the same interval counts from its own last reading. */
static void test_thread_exits_count_once(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    fake_set(&fx->fake, 5, "other", 10);
    scan(fx);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 1050);
    a->st.num_threads = 2;
    a->nthreads = 2;
    a->th[0].stat = a->st;
    a->th[1].stat = a->st;
    a->th[1].stat.pid = 11;
    a->st.utime_ticks = 30;
    a->th[0].stat.utime_ticks = 10;
    a->th[1].stat.utime_ticks = 20;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(30));
    /* Thread 11 exits with 250 ms; the process's next reading holds it. */
    add_exit(fx, 11, 10, "app", 1050, 250000, 0)->process_ended = false;
    a = fake_find(&fx->fake, 10);
    a->st.num_threads = 1;
    a->nthreads = 1;
    a->st.utime_ticks = 10 + 25;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(35));
    /* A new thread is read, then both exit before the next scan. */
    a->st.num_threads = 2;
    a->nthreads = 2;
    a->th[0].stat.utime_ticks = 10;
    a->th[1].stat = a->st;
    a->th[1].stat.pid = 12;
    a->th[1].stat.utime_ticks = 5;
    a->st.utime_ticks = 40;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(40));
    fake_remove(&fx->fake, 10);
    add_exit(fx, 12, 10, "app", 1050, 80000, 0)->process_ended = false; /* +3 ticks */
    add_exit(fx, 10, 10, "app", 1050, 110000, 0);                       /* +1 tick */
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(44));
    fixture_free(fx);
}

/* Children times count what exit records lose, and only that: with the record of a child, the
 * parent's growth beyond it (the slice a record misses) goes to the child's group; with the
 * records lost, all of it goes to the parent's. The groups add up to the parent's growth. */
static void test_children_times_fill_in_what_records_lose(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    struct fake_proc *p = fake_set(&fx->fake, 5, "make", 10);
    scan(fx);
    p = fake_find(&fx->fake, 5);
    p->st.cutime_ticks = 1;
    add_exit(fx, 90, 90, "cc", 1050, 7000, 0)->ppid = 5;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1));
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], 0);
    p->st.cutime_ticks = 3;
    fx->fake.exits_lost = true;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1));
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], US(2));
    assert_int_equal(tracker_exit_stats(fx->t)->lost_intervals, 1);
    /* A claim that comes before the reaping waits for it. */
    add_exit(fx, 91, 91, "cc", 1350, 40000, 0)->ppid = 5;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1) + 40000);
    p->st.cutime_ticks = 3 + 5;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1) + 50000);
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], US(2));
    fixture_free(fx);
}

/* A parent read in the scan in which its own record comes: the growth of its children times
 * that reading shows is matched here against the claims of the children it reaped, not handed
 * up to its own parent with them, where it would be counted a second time. */
static void test_parent_ending_in_the_scan_that_reads_its_growth(void **state)
{
    (void)state;
    struct fixture *fx = fixture_exits(false);
    struct fake_proc *r = fake_set(&fx->fake, 2, "runner", 5);
    struct fake_proc *sh = fake_set(&fx->fake, 5, "sh", 10);
    sh->st.ppid = 2;
    scan(fx);
    /* cc exits before the scan; sh reaps it, is read, and exits before the scan ends. */
    add_exit(fx, 90, 90, "cc", 1050, 7000, 0)->ppid = 5;
    sh = fake_find(&fx->fake, 5);
    sh->st.cutime_ticks = 1; /* cc: 7 ms in its record, 10 ms with its exit */
    assert_true(fx->fake.nlater < 4);
    struct tracker_exit *last = &fx->fake.later[fx->fake.nlater++];
    memset(last, 0, sizeof(*last));
    last->tid = last->pid = 5;
    last->ppid = 2;
    last->starttime_ticks = 10;
    snprintf(last->comm, sizeof(last->comm), "sh");
    last->raw[TRACKER_CPU_USER] = 10000;
    last->present = TRACKER_BIT(TRACKER_CPU_USER) | TRACKER_BIT(TRACKER_CPU_SYSTEM);
    last->process_ended = true;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1));
    assert_int_equal(group(fx, "sh")->counters.v[TRACKER_CPU_USER], 10000);
    /* The runner reaps sh: its children times grow by sh's own and sh's children's. */
    fake_remove(&fx->fake, 5);
    r = fake_find(&fx->fake, 2);
    r->st.cutime_ticks = 2;
    scan(fx);
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(1));
    assert_int_equal(group(fx, "sh")->counters.v[TRACKER_CPU_USER], 10000);
    assert_int_equal(group(fx, "runner")->counters.v[TRACKER_CPU_USER], 0);
    fixture_free(fx);
}

/* Without records: a tracked child's last interval comes from its parent's children times, in
 * the child's group; a child no scan saw is counted in its parent's group. */
static void test_children_path_counts_last_intervals_and_unseen_children(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096, .exits = TRACKER_EXITS_CHILDREN};
    struct fixture *fx = fixture_with(o);
    struct fake_proc *p = fake_set(&fx->fake, 5, "make", 10);
    scan(fx);
    struct fake_proc *c = fake_set(&fx->fake, 90, "cc", 1050);
    c->st.ppid = 5;
    c->st.utime_ticks = 10;
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(10));
    fake_remove(&fx->fake, 90);
    p = fake_find(&fx->fake, 5);
    p->st.cutime_ticks = 14; /* cc's 14 ticks: 4 after its last reading */
    scan(fx);
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(14));
    p->st.cutime_ticks = 14 + 6; /* a child no scan saw */
    scan(fx);
    assert_int_equal(group(fx, "make")->counters.v[TRACKER_CPU_USER], US(6));
    assert_int_equal(group(fx, "cc")->counters.v[TRACKER_CPU_USER], US(14));
    fixture_free(fx);
}

static int classify_reloaded(void *ctx, const struct proc_identity *id, struct strbuf *name)
{
    (void)ctx;
    if (strcmp(id->comm, "app") != 0)
        return -1;
    strbuf_reset(name);
    strbuf_puts(name, "new-app");
    return 0;
}

static void test_reload_moves_processes_and_keeps_counters(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_set(&fx->fake, 11, "other", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->st.utime_ticks = 10;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(10));

    struct tracker_classifier c = {.ctx = NULL, .needs = 0, .classify = classify_reloaded};
    tracker_set_classifier(fx->t, &c);
    a->st.utime_ticks = 25;
    scan(fx);
    /* The growth since the last reading goes to the new group; the old one keeps its count. */
    assert_int_equal(group(fx, "new-app")->counters.v[TRACKER_CPU_USER], US(15));
    assert_int_equal(group(fx, "new-app")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(10));
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_PROCS], 0);
    assert_int_equal(group(fx, "other")->gauges.v[TRACKER_PROCS], 0);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
    a->st.utime_ticks = 30;
    scan(fx);
    assert_int_equal(group(fx, "new-app")->counters.v[TRACKER_CPU_USER], US(20));
    assert_int_equal(fake_find(&fx->fake, 10)->identity_calls, 2);
}

/* A classifier whose answer for "vm" and "xvm" waits for something (a builtin's file): until
 * `ready`, "vm" goes to the catch-all group "catch" and "xvm" to none, both undecided; then "vm"
 * joins "vm-group" and "xvm" stays in none, both decided. Others are groups of their comm. */
struct waiting {
    bool ready;
    bool undecided;
};

static int classify_waiting(void *ctx, const struct proc_identity *id, struct strbuf *name)
{
    struct waiting *w = ctx;
    bool waits = strcmp(id->comm, "vm") == 0 || strcmp(id->comm, "xvm") == 0;
    w->undecided = waits && !w->ready;
    if (id->comm[0] == 'x')
        return -1;
    strbuf_reset(name);
    strbuf_puts(name, waits ? (w->ready ? "vm-group" : "catch") : id->comm);
    return 0;
}

static bool undecided_waiting(void *ctx)
{
    return ((struct waiting *)ctx)->undecided;
}

static void undecided_processes_are_asked_until_decided(bool children)
{
    struct fixture *fx = fixture_new(children);
    struct waiting w = {.ready = false};
    struct tracker_classifier c = {
        .ctx = &w, .classify = classify_waiting, .undecided = undecided_waiting, .list_all = true};
    tracker_set_classifier(fx->t, &c);
    fake_set(&fx->fake, 10, "vm", 100);
    fake_set(&fx->fake, 11, "xvm", 100);
    fake_set(&fx->fake, 12, "other", 100);
    scan(fx);
    assert_int_equal(tracker_new_count(fx->t), 3);
    fake_find(&fx->fake, 10)->st.utime_ticks = 10;
    scan(fx);
    /* Asked again, nothing changed: nothing listed; the decided process is not asked again. */
    assert_int_equal(tracker_new_count(fx->t), 0);
    assert_int_equal(group(fx, "catch")->counters.v[TRACKER_CPU_USER], US(10));
    assert_int_equal(fake_find(&fx->fake, 10)->identity_calls, 2);
    assert_int_equal(fake_find(&fx->fake, 11)->identity_calls, 2);
    assert_int_equal(fake_find(&fx->fake, 12)->identity_calls, 1);

    w.ready = true;
    fake_find(&fx->fake, 10)->st.utime_ticks = 25;
    scan(fx);
    /* The answer came: "vm" moves and goes on from its last reading; the catch-all keeps what
     * it counted. */
    assert_int_equal(tracker_new_count(fx->t), 1);
    assert_int_equal(tracker_new_at(fx->t, 0)->pid, 10);
    assert_string_equal(tracker_new_at(fx->t, 0)->group, "vm-group");
    assert_int_equal(group(fx, "vm-group")->counters.v[TRACKER_CPU_USER], US(15));
    assert_int_equal(group(fx, "vm-group")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(group(fx, "catch")->counters.v[TRACKER_CPU_USER], US(10));
    assert_int_equal(group(fx, "catch")->gauges.v[TRACKER_PROCS], 0);
    assert_int_equal(tracker_ignored_count(fx->t), 1);

    /* Decided now: asked no more. */
    fake_find(&fx->fake, 10)->st.utime_ticks = 30;
    scan(fx);
    assert_int_equal(group(fx, "vm-group")->counters.v[TRACKER_CPU_USER], US(20));
    assert_int_equal(fake_find(&fx->fake, 10)->identity_calls, 3);
    assert_int_equal(fake_find(&fx->fake, 11)->identity_calls, 3);
    fixture_free(fx);
}

static void test_undecided_processes_are_asked_until_decided(void **state)
{
    (void)state;
    undecided_processes_are_asked_until_decided(false);
    undecided_processes_are_asked_until_decided(true);
}

static void test_quiet_process_is_read_once_until_it_runs(void **state)
{
    (void)state;
    struct fixture *fx = fixture_skipping();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.has_open_fds = true;
    a->m.open_fds = 7;
    a->m.status.vm_swap_bytes = 4096;
    strcpy(a->m.wchan, "do_select");
    for (int i = 0; i < 5; i++)
        scan(fx);
    a = fake_find(&fx->fake, 10);
    assert_int_equal(a->metrics_calls, 1);
    assert_int_equal(a->schedstat_calls, 5);
    /* The gauges of the quiet scans are those of the last full read. */
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->gauges.v[TRACKER_OPEN_FDS], 7);
    assert_int_equal(g->gauges.v[TRACKER_SWAPPED_BYTES], 4096);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(g->wchans[0].count, 1);

    /* It runs: everything is read again and every counter catches up exactly. */
    a->st.utime_ticks = 3;
    a->m.io.read_bytes = 500;
    a->m.status.voluntary_ctxt = 9;
    scan(fx);
    assert_int_equal(a->metrics_calls, 2);
    g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(3));
    assert_int_equal(g->counters.v[TRACKER_READ_BYTES], 500);
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 9);
    fixture_free(fx);
}

/* A source that answers for a task's switches (exit records on). */
static struct fixture *fixture_with_switches(void)
{
    struct fixture *fx = fixture_skipping();
    fx->src.switches = f_switches;
    return fx;
}

static void test_switches_stand_for_status_and_schedstat(void **state)
{
    (void)state;
    struct fixture *fx = fixture_with_switches();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->st.state = 'S';
    a->m.status.voluntary_ctxt = 5;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    /* The first full read has no VmSwap to go by: status is read. */
    assert_true(a->last_wants & PROC_WANT_STATUS);
    for (int i = 0; i < 3; i++)
        scan(fx);
    assert_int_equal(a->metrics_calls, 1);
    assert_int_equal(a->schedstat_calls, 0);
    assert_int_equal(a->switches_calls, 4);

    /* It ran: the switches moved. Everything but status is read; VmSwap was 0 and no page went
     * to swap, so it is still 0. */
    a->m.status.voluntary_ctxt = 9;
    a->m.status.nonvoluntary_ctxt = 2;
    a->m.io.read_bytes = 500;
    a->m.status.vm_swap_bytes = 0;
    scan(fx);
    assert_int_equal(a->metrics_calls, 2);
    assert_int_equal(a->last_wants & PROC_WANT_STATUS, 0);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 4);
    assert_int_equal(g->counters.v[TRACKER_CTX_NONVOLUNTARY], 2);
    assert_int_equal(g->counters.v[TRACKER_READ_BYTES], 500);
    assert_int_equal(g->gauges.v[TRACKER_SWAPPED_BYTES], 0);
    assert_int_equal(a->schedstat_calls, 0);
    fixture_free(fx);
}

static void test_switches_running_task_is_read_in_full(void **state)
{
    (void)state;
    struct fixture *fx = fixture_with_switches();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->st.state = 'S';
    scan(fx);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    assert_int_equal(a->metrics_calls, 1);
    /* On a CPU since it was last read, never switched out: the switches cannot tell, the state
     * does. */
    a->st.state = 'R';
    a->m.io.write_bytes = 4096;
    scan(fx);
    assert_int_equal(a->metrics_calls, 2);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_WRITE_BYTES], 4096);
    fixture_free(fx);
}

static void test_switches_swapped_process_reads_status(void **state)
{
    (void)state;
    struct fixture *fx = fixture_with_switches();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->st.state = 'S';
    a->m.status.vm_swap_bytes = 8192;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    /* It runs and frees memory that was in swap: nothing moved in the system's counters, yet its
     * VmSwap fell. Only 0 is known to stay 0. */
    a->m.status.voluntary_ctxt = 1;
    a->m.status.vm_swap_bytes = 4096;
    scan(fx);
    assert_true(a->last_wants & PROC_WANT_STATUS);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_SWAPPED_BYTES], 4096);
    fixture_free(fx);
}

static void test_switches_unanswered_fall_back_to_schedstat(void **state)
{
    (void)state;
    struct fixture *fx = fixture_with_switches();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->st.state = 'S';
    a->m.status.voluntary_ctxt = 3;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->switches_error = -EIO;
    scan(fx); /* the probe changed kind: read in full once */
    scan(fx);
    assert_int_equal(a->metrics_calls, 2);
    assert_int_equal(a->schedstat_calls, 2);
    a->m.status.voluntary_ctxt = 7;
    scan(fx);
    assert_int_equal(a->metrics_calls, 3);
    assert_true(a->last_wants & PROC_WANT_STATUS);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 4);
    fixture_free(fx);
}

static void test_sub_tick_activity_is_not_missed(void **state)
{
    (void)state;
    struct fixture *fx = fixture_skipping();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    scan(fx);
    scan(fx);
    /* Less than a tick of CPU: stat is unchanged, but the task ran, and schedstat says so. */
    a = fake_find(&fx->fake, 10);
    a->m.status.voluntary_ctxt = 4;
    a->m.io.write_bytes = 4096;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 4);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_WRITE_BYTES], 4096);
    fixture_free(fx);
}

static void test_quiet_threads_cost_a_schedstat_read(void **state)
{
    (void)state;
    struct fixture *fx = fixture_skipping();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100);
    strcpy(fake_thread(a, 11, "idle", 100)->wchan, "futex_wait_queue");
    struct proc_thread *busy = fake_thread(a, 12, "busy", 100);
    busy->stat.state = 'R';
    scan(fx);
    a = fake_find(&fx->fake, 10);
    assert_int_equal(a->thread_reads, 3);
    for (int i = 1; i <= 3; i++) {
        a->th[2].stat.utime_ticks += 10; /* only the busy thread runs */
        a->st.utime_ticks += 10;
        scan(fx);
    }
    assert_int_equal(a->thread_reads, 3 + 3);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(thread_name(g, "busy")->counters.v[TRACKER_CPU_USER], US(30));
    assert_int_equal(thread_name(g, "idle")->count, 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_RUNNING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_SLEEPING], 2);
    assert_int_equal(g->wchans[0].count, 1);
    assert_int_equal(state_sum(g), 3);
    fixture_free(fx);
}

static void test_full_read_at_least_every_refresh_period(void **state)
{
    (void)state;
    struct fixture *fx = fixture_refreshing(6000); /* scans are 100 ticks apart */
    fake_set(&fx->fake, 10, "app", 100);
    int last_read = 0;
    for (int i = 1; i <= 200; i++) {
        unsigned before = fake_find(&fx->fake, 10)->metrics_calls;
        scan(fx);
        if (fake_find(&fx->fake, 10)->metrics_calls != before) {
            /* Once a period, never twice in one. */
            assert_true(i == 1 || (i - last_read <= 60 && i - last_read >= 1));
            last_read = i;
        }
        assert_true(i - last_read < 60);
    }
    unsigned reads = fake_find(&fx->fake, 10)->metrics_calls;
    assert_true(reads >= 1 + 3 && reads <= 1 + 4); /* 19900 ticks: three or four boundaries */
    fixture_free(fx);
}

static void test_periodic_full_reads_spread_over_the_period(void **state)
{
    (void)state;
    struct fixture *fx = fixture_refreshing(6000); /* 60 scans a period */
    enum { N = 240 };
    for (int pid = 1000; pid < 1000 + N; pid++)
        fake_set(&fx->fake, pid, "app", 100 + (uint64_t)pid % 7);
    scan(fx); /* all read: first sight */
    unsigned total = 0, max = 0;
    for (int i = 0; i < 60; i++) {
        unsigned before = 0, after = 0;
        for (size_t k = 0; k < fx->fake.n; k++)
            before += fx->fake.p[k].metrics_calls;
        scan(fx);
        for (size_t k = 0; k < fx->fake.n; k++)
            after += fx->fake.p[k].metrics_calls;
        total += after - before;
        if (after - before > max)
            max = after - before;
    }
    /* Each process once in the period, and no scan pays for many more than its share (4). */
    assert_int_equal(total, N);
    assert_true(max <= 10);
    for (size_t k = 0; k < fx->fake.n; k++)
        assert_int_equal(fx->fake.p[k].metrics_calls, 2);
    fixture_free(fx);
}

static void test_swap_of_a_quiet_process_follows_the_system_swap_counters(void **state)
{
    (void)state;
    struct fixture *fx = fixture_skipping();
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.status.vm_swap_bytes = 0;
    fx->fake.swap_moves = 50;
    scan(fx);
    scan(fx);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    assert_int_equal(a->metrics_calls, 1);
    assert_int_equal(a->last_wants & PROC_WANT_STATUS, 0); /* nothing moved: VmSwap is exact */

    /* Paged out from outside while it sleeps (process_madvise): it did not run, but the system's
     * swap-out counter moved. */
    a->m.status.vm_swap_bytes = 1 << 20;
    fx->fake.swap_moves = 50 + 256;
    scan(fx);
    assert_int_equal(a->metrics_calls, 1);
    assert_true(a->last_wants & PROC_WANT_STATUS);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_SWAPPED_BYTES], 1 << 20);
    scan(fx);
    assert_int_equal(a->last_wants & PROC_WANT_STATUS, 0);
    assert_int_equal(group(fx, "app")->gauges.v[TRACKER_SWAPPED_BYTES], 1 << 20);
    fixture_free(fx);
}

static void test_limit_and_pss_of_a_quiet_process_are_read_every_scan(void **state)
{
    (void)state;
    struct tracker_options o = {.page_size = 4096,
                                .children = true,
                                .threads = true,
                                .smaps = true,
                                .refresh_ticks = 1000000000000ull};
    struct fixture *fx = fixture_with(o);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.has_open_fds = a->m.has_fd_limit = a->m.has_smaps = true;
    a->m.open_fds = 100;
    a->m.fd_limit = 1024;
    a->m.pss_bytes = 8000;
    scan(fx);
    scan(fx);
    /* prlimit from outside, and another process unmapping pages this one shares. */
    a = fake_find(&fx->fake, 10);
    a->m.fd_limit = 200;
    a->m.pss_bytes = 12000;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(a->metrics_calls, 1);
    assert_int_equal(a->volatile_calls, 2);
    assert_true(g->gauges.worst_fd_ratio == 0.5);
    assert_int_equal(g->gauges.v[TRACKER_PSS_BYTES], 12000);
    assert_int_equal(g->gauges.v[TRACKER_OPEN_FDS], 100); /* from the cache */
    fixture_free(fx);
}

static int classify_none(void *ctx, const struct proc_identity *id, struct strbuf *name)
{
    (void)ctx;
    (void)id;
    (void)name;
    return -1;
}

static void set_rules(struct fixture *fx,
                      int (*fn)(void *, const struct proc_identity *, struct strbuf *))
{
    struct tracker_classifier c = {.ctx = NULL, .needs = 0, .classify = fn};
    tracker_set_classifier(fx->t, &c);
}

/* Tracked, ignored after a reload, tracked again after another: what it did while ignored is
 * counted nowhere, io and context switches included. */
static void test_retracked_process_starts_again_from_a_baseline(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->st.utime_ticks = 10;
    a->m.io.read_bytes = 100;
    a->m.status.voluntary_ctxt = 10;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(10));
    assert_int_equal(g->counters.v[TRACKER_READ_BYTES], 100);

    set_rules(fx, classify_none); /* app no longer matched */
    scan(fx);
    /* Hours pass while it is ignored. */
    a->st.utime_ticks = 100000;
    a->m.io.read_bytes = 1000000000;
    a->m.status.voluntary_ctxt = 5000000;
    for (int i = 0; i < 5; i++)
        scan(fx);

    set_rules(fx, classify); /* matched again */
    scan(fx);
    g = group(fx, "app");
    /* baseline: the ignored time is not counted */
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(10));
    assert_int_equal(g->counters.v[TRACKER_READ_BYTES], 100);
    fixture_free(fx);
}

/* A process born after the first scan, ignored, then matched after a reload: it counts from the
 * reload on, not its whole lifetime in one scan. */
static void test_reload_counts_a_newly_tracked_process_from_then_on(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    set_rules(fx, classify_none);
    fake_set(&fx->fake, 5, "app", 50); /* an existing member keeps the group alive */
    scan(fx);
    struct fake_proc *b = fake_set(&fx->fake, 11, "app", fx->fake.now + 1);
    b->st.utime_ticks = 5;
    scan(fx);
    b = fake_find(&fx->fake, 11);
    b->st.utime_ticks = 360000; /* an hour of CPU while ignored */
    b->m.io.write_bytes = 1u << 30;
    scan(fx);
    set_rules(fx, classify);
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(0));
    assert_int_equal(g->counters.v[TRACKER_WRITE_BYTES], 0);
    fixture_free(fx);
}

/* A child adopted through -children keeps counting across a reload (it goes through the pending
 * list again). */
static void test_reload_keeps_counting_an_adopted_child(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(true);
    fake_set(&fx->fake, 10, "app", 100);
    struct fake_proc *c = fake_set(&fx->fake, 11, "xchild", 100);
    c->st.ppid = 10;
    scan(fx);
    c = fake_find(&fx->fake, 11);
    c->st.utime_ticks = 20;
    c->m.io.read_bytes = 20;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CPU_USER], US(20));
    set_rules(fx, classify); /* the very same rules */
    c->st.utime_ticks = 70;
    c->m.io.read_bytes = 70;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_READ_BYTES], 70);
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(70));
    fixture_free(fx);
}

/* A worker thread execs: the kernel gives it the main thread's tid and start time, but it keeps
 * its own counters. The exec shows in stat (the new program's code address); nothing is counted
 * twice. */
static void test_exec_from_a_worker_thread_counts_nothing_twice(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100)->status.voluntary_ctxt = 100;
    fake_thread(a, 12, "worker", 100)->status.voluntary_ctxt = 1000;
    a->m.status.voluntary_ctxt = 100;
    scan(fx);
    a = fake_find(&fx->fake, 10);
    a->th[1].status.voluntary_ctxt = 5000; /* the worker switches 4000 times */
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 4000);
    /* The worker execs: thread 12 becomes tid 10 (start time of the leader), the rest die. Its
     * switch count (5000) carries over; nothing switches after the exec. */
    fake_thread_remove(a, 12);
    a->th[0].status.voluntary_ctxt = 5000;
    a->m.status.voluntary_ctxt = 5000;
    a->st.num_threads = 1;
    a->st.start_code = 0x55550000; /* the new program's code */
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CTX_VOLUNTARY], 4000);
    fixture_free(fx);
}

/* A multi-threaded process that exits between its threads and its own files: counted whole, so
 * the states still add up to num_threads. */
static void test_process_gone_after_its_threads_keeps_states_whole(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    fake_thread(a, 10, "app", 100);
    fake_thread(a, 11, "w", 100);
    fake_set(&fx->fake, 20, "app", 100);
    scan(fx);
    fake_find(&fx->fake, 10)->gone_at_metrics = true;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(state_sum(g), g->gauges.v[TRACKER_THREADS]);
    fixture_free(fx);
}

/* A process born while we watched (from_birth) execs a new program (same task, so its switch
 * count carries on): only the switches since the last scan are new. */
static void test_exec_of_a_process_born_while_watched_counts_nothing_twice(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 5, "app", 50); /* first scan: the baseline */
    scan(fx);
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", fx->fake.now + 1); /* born later */
    a->m.status.voluntary_ctxt = 10;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY],
                     10); /* counted from birth */
    a = fake_find(&fx->fake, 10);
    a->st.start_code = 0x55550000; /* exec: a new program in the same task */
    a->m.status.voluntary_ctxt = 15;
    scan(fx);
    /* At most the 15 it really did: the first 10 are not counted again. */
    assert_true(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY] <= 15);
    fixture_free(fx);
}

static int classify_app_only(void *ctx, const struct proc_identity *id, struct strbuf *name)
{
    (void)ctx;
    if (strcmp(id->comm, "app") != 0)
        return -1;
    strbuf_reset(name);
    strbuf_puts(name, "app");
    return 0;
}

/* -children: a child born while watched, ignored because its parent matched nothing, is adopted
 * after a reload that makes its parent tracked. Like a process the reload matches directly
 * (test_reload_counts_a_newly_tracked_process_from_then_on), it should count from the reload on,
 * not its whole life in one scan. */
static void test_reload_counts_a_newly_adopted_child_from_then_on(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(true);
    set_rules(fx, classify_none);
    fake_set(&fx->fake, 10, "app", 100);
    scan(fx);
    struct fake_proc *c = fake_set(&fx->fake, 11, "xchild", fx->fake.now + 1); /* born later */
    c->st.ppid = 10;
    scan(fx);
    c = fake_find(&fx->fake, 11);
    c->st.utime_ticks = 360000; /* an hour of CPU while ignored */
    c->m.io.write_bytes = 1u << 30;
    scan(fx);
    set_rules(fx, classify_app_only);
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(0));
    assert_int_equal(g->counters.v[TRACKER_WRITE_BYTES], 0);
    fixture_free(fx);
}

/* test_exec_from_a_worker_thread_counts_nothing_twice, for a process born while watched. */
static void test_exec_from_a_worker_thread_of_a_process_born_while_watched(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 5, "app", 50);
    scan(fx);
    uint64_t born = fx->fake.now + 1;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", born);
    fake_thread(a, 10, "app", born)->status.voluntary_ctxt = 100;
    fake_thread(a, 12, "worker", born)->status.voluntary_ctxt = 1000;
    a->m.status.voluntary_ctxt = 100;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 1100); /* from birth */
    a = fake_find(&fx->fake, 10);
    a->th[1].status.voluntary_ctxt = 5000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 5100);
    fake_thread_remove(a, 12);
    a->th[0].status.voluntary_ctxt = 5000;
    a->m.status.voluntary_ctxt = 5000;
    a->st.num_threads = 1;
    a->st.start_code = 0x55550000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.v[TRACKER_CTX_VOLUNTARY], 5100);
    fixture_free(fx);
}

/* Two processes can share a pid and a start time: starttime counts clock ticks, and a pid can be
 * freed and taken again within one. The tests below start a process after the first scan (so it
 * counts from birth), let it run, and then replace it within the same tick, or exec it. */
static struct fake_proc *start_idle(struct fixture *fx, uint64_t *born)
{
    fake_set(&fx->fake, 5, "base", 50);
    scan(fx);
    *born = fx->fake.now + 1;
    struct fake_proc *p = fake_set(&fx->fake, 10, "idle", *born);
    p->st.utime_ticks = 40;
    p->st.minflt = 300;
    scan(fx);
    p = fake_find(&fx->fake, 10);
    p->st.utime_ticks = 50; /* 10 more */
    p->st.minflt = 320;
    scan(fx);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], US(50));
    return p;
}

static size_t decisions_for(struct fixture *fx, int pid, const char *groupname)
{
    size_t n = 0;
    for (size_t i = 0; i < tracker_new_count(fx->t); i++) {
        const struct tracker_new_process *d = tracker_new_at(fx->t, i);
        if (d->pid == pid && d->group && strcmp(d->group, groupname) == 0)
            n++;
    }
    return n;
}

/* An exec changes the program, the counters go on: the same process, in the same group. */
static void test_exec_keeps_the_group_and_counts_on(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    uint64_t born;
    struct fake_proc *p = start_idle(fx, &born);
    snprintf(p->st.comm, sizeof(p->st.comm), "heavy");
    p->st.start_code = 0x55550000;
    p->st.utime_ticks = 80;
    p->st.minflt = 400;
    scan(fx);
    assert_null(tracker_group_find(fx->t, "heavy"));
    assert_int_equal(decisions_for(fx, 10, "heavy"), 0);
    const struct tracker_group *g = group(fx, "idle");
    assert_int_equal(g->counters.v[TRACKER_CPU_USER], US(80));
    assert_int_equal(g->counters.v[TRACKER_MINOR_FAULTS], 400);
    assert_int_equal(g->gauges.v[TRACKER_PROCS], 1);
    fixture_free(fx);
}

/* Without a process key: another program whose counters are below the old one's is another
 * process. It is classified again and counts from its birth; the old group keeps what it had. */
static void test_pid_reused_within_a_tick_shows_in_counters_going_back(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    uint64_t born;
    start_idle(fx, &born);
    struct fake_proc *p = fake_set(&fx->fake, 10, "heavy", born); /* same pid, same tick */
    p->st.utime_ticks = 7;
    p->st.minflt = 90;
    scan(fx);
    assert_int_equal(decisions_for(fx, 10, "heavy"), 1);
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_CPU_USER], US(7));
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_MINOR_FAULTS], 90);
    assert_int_equal(group(fx, "heavy")->gauges.v[TRACKER_PROCS], 1);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], US(50));
    assert_int_equal(group(fx, "idle")->gauges.v[TRACKER_PROCS], 0);
    p = fake_find(&fx->fake, 10);
    p->st.utime_ticks = 30;
    scan(fx);
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_CPU_USER], US(30));
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], US(50));
    fixture_free(fx);
}

/* With a process key, the key decides, whatever the counters do: an exec keeps it; a new
 * process with the old pid and start tick has another, even when it has used more than the old
 * one (where counters alone would take it for an exec). */
static void test_pid_reused_within_a_tick_is_told_by_the_process_key(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 5, "base", 50);
    scan(fx);
    uint64_t born = fx->fake.now + 1;
    struct fake_proc *p = fake_set(&fx->fake, 10, "idle", born);
    p->key = 1000;
    p->st.utime_ticks = 40;
    scan(fx);
    p = fake_find(&fx->fake, 10);
    p->st.comm[0] = 'I'; /* an exec: the group stays */
    p->st.utime_ticks = 45;
    scan(fx);
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], US(45));
    assert_null(tracker_group_find(fx->t, "Idle"));

    p = fake_set(&fx->fake, 10, "heavy", born);
    p->key = 1001;
    p->st.utime_ticks = 300; /* more than the idle one had: counters do not tell */
    p->st.minflt = 5000;
    scan(fx);
    assert_int_equal(decisions_for(fx, 10, "heavy"), 1);
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_CPU_USER], US(300));
    assert_int_equal(group(fx, "idle")->counters.v[TRACKER_CPU_USER], US(45));
    assert_int_equal(group(fx, "idle")->gauges.v[TRACKER_PROCS], 0);
    fixture_free(fx);
}

/* The same when the old process was ignored: it has no counters to compare, but a key. */
static void test_pid_of_an_ignored_process_reused_within_a_tick_is_classified(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 5, "base", 50);
    scan(fx);
    uint64_t born = fx->fake.now + 1;
    fake_set(&fx->fake, 10, "xidle", born)->key = 1000; /* matches nothing */
    scan(fx);
    scan(fx);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
    struct fake_proc *p = fake_set(&fx->fake, 10, "heavy", born);
    p->key = 1001;
    p->st.utime_ticks = 300;
    scan(fx);
    assert_int_equal(decisions_for(fx, 10, "heavy"), 1);
    assert_int_equal(group(fx, "heavy")->counters.v[TRACKER_CPU_USER], US(300));
    assert_int_equal(tracker_ignored_count(fx->t), 0);
    fixture_free(fx);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retracked_process_starts_again_from_a_baseline),
        cmocka_unit_test(test_exec_keeps_the_group_and_counts_on),
        cmocka_unit_test(test_pid_reused_within_a_tick_shows_in_counters_going_back),
        cmocka_unit_test(test_pid_reused_within_a_tick_is_told_by_the_process_key),
        cmocka_unit_test(test_pid_of_an_ignored_process_reused_within_a_tick_is_classified),
        cmocka_unit_test(test_reload_counts_a_newly_tracked_process_from_then_on),
        cmocka_unit_test(test_reload_keeps_counting_an_adopted_child),
        cmocka_unit_test(test_exec_from_a_worker_thread_counts_nothing_twice),
        cmocka_unit_test(test_process_gone_after_its_threads_keeps_states_whole),
        cmocka_unit_test_setup_teardown(test_first_scan_is_baseline_later_births_count_from_birth,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_survives_pid_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_survives_exit_and_entry_is_forgotten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thread_exit_never_decreases_context_switches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_io_keeps_counter_and_baseline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ignored_process_costs_one_stat_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_processes_are_forgotten_under_churn, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_child_joins_nearest_tracked_ancestor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_scan_lists_the_decisions_it_took, setup,
                                        teardown),
        cmocka_unit_test(test_exec_of_a_process_born_while_watched_counts_nothing_twice),
        cmocka_unit_test(test_reload_counts_a_newly_adopted_child_from_then_on),
        cmocka_unit_test(test_exec_from_a_worker_thread_of_a_process_born_while_watched),
        cmocka_unit_test_setup_teardown(test_has_process_knows_pid_and_start_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_the_decisions_asked_for_are_listed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reused_parent_pid_is_not_an_ancestor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exited_parent_is_looked_past, setup, teardown),
        cmocka_unit_test(test_children_off_leaves_unmatched_ignored),
        cmocka_unit_test_setup_teardown(test_gauges_sum_live_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_stat_and_listing_are_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_process_gone_during_read_is_not_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_groups_come_in_name_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_counters_never_decrease_under_random_scans,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_iowait_and_io_calls_accumulate_across_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_count_each_thread_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_exit_keeps_counters_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_process_going_single_threaded_continues_from_main_thread, setup, teardown),
        cmocka_unit_test(test_thread_names_past_the_cap_are_tallied_under_one_name),
        cmocka_unit_test_setup_teardown(test_thread_name_counters_survive_absence_until_ttl, setup,
                                        teardown),
        cmocka_unit_test(test_threads_off_still_counts_every_thread),
        cmocka_unit_test(test_threads_off_quiet_threads_cost_a_schedstat_read),
        cmocka_unit_test_setup_teardown(test_wchan_and_proportional_memory, setup, teardown),
        cmocka_unit_test(test_recheck_matches_again_only_after_exec),
        cmocka_unit_test(test_recheck_time_limit),
        cmocka_unit_test(test_remove_empty_groups),
        cmocka_unit_test(test_always_group_exists_before_its_first_process),
        cmocka_unit_test(test_always_set_is_replaced_on_reload),
        cmocka_unit_test(test_undecided_processes_are_asked_until_decided),
        cmocka_unit_test_setup_teardown(test_reload_moves_processes_and_keeps_counters, setup,
                                        teardown),
        cmocka_unit_test(test_quiet_process_is_read_once_until_it_runs),
        cmocka_unit_test(test_switches_stand_for_status_and_schedstat),
        cmocka_unit_test(test_switches_running_task_is_read_in_full),
        cmocka_unit_test(test_switches_swapped_process_reads_status),
        cmocka_unit_test(test_switches_unanswered_fall_back_to_schedstat),
        cmocka_unit_test(test_sub_tick_activity_is_not_missed),
        cmocka_unit_test(test_quiet_threads_cost_a_schedstat_read),
        cmocka_unit_test(test_exit_record_counts_the_last_interval),
        cmocka_unit_test(test_unseen_process_counts_in_its_own_group),
        cmocka_unit_test(test_unseen_child_joins_its_parents_group),
        cmocka_unit_test(test_process_finishing_exit_is_not_new),
        cmocka_unit_test(test_zombie_after_record_and_reuse_in_the_same_tick),
        cmocka_unit_test(test_thread_exits_count_once),
        cmocka_unit_test(test_children_times_fill_in_what_records_lose),
        cmocka_unit_test(test_parent_ending_in_the_scan_that_reads_its_growth),
        cmocka_unit_test(test_late_record_is_still_the_same_process),
        cmocka_unit_test(test_children_path_counts_last_intervals_and_unseen_children),
        cmocka_unit_test(test_full_read_at_least_every_refresh_period),
        cmocka_unit_test(test_periodic_full_reads_spread_over_the_period),
        cmocka_unit_test(test_swap_of_a_quiet_process_follows_the_system_swap_counters),
        cmocka_unit_test(test_limit_and_pss_of_a_quiet_process_are_read_every_scan),
        cmocka_unit_test_setup_teardown(test_empty_group_stays_without_the_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
