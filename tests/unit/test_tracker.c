/* The tracker over synthetic scan sequences: no /proc involved. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker/tracker.h"

#define MAXP 256

struct fake_proc {
    struct proc_stat st;
    struct proc_metrics m;
    bool stat_error;
    bool gone_at_metrics;
    unsigned identity_calls;
    unsigned metrics_calls;
};

struct fake {
    struct fake_proc p[MAXP];
    size_t n, next;
    uint64_t now;
    bool list_fails;
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

static int f_metrics(void *ctx, int pid, struct proc_metrics *m)
{
    struct fake_proc *p = fake_find(ctx, pid);
    p->metrics_calls++;
    if (p->gone_at_metrics)
        return -ESRCH;
    *m = p->m;
    return 0;
}

static uint64_t f_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
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

static struct fixture *fixture_new(bool children)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->fake.now = 1000;
    fx->src = (struct tracker_source){&fx->fake, f_list, f_next, f_identity, f_metrics, f_now};
    struct tracker_options o = {.page_size = 4096, .children = children};
    struct tracker_classifier c = {.ctx = NULL, .needs = 0, .classify = classify};
    fx->t = tracker_new(&o, &c);
    return fx;
}

static int setup(void **state)
{
    *state = fixture_new(true);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    tracker_free(fx->t);
    free(fx);
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
    assert_int_equal(group(fx, "app")->counters.cpu_user_ticks, 0);
    assert_int_equal(group(fx, "app")->counters.write_bytes, 0);

    a->st.utime_ticks = 150;
    a->m.io.write_bytes = 7500;
    struct fake_proc *b = fake_set(&fx->fake, 11, "app", fx->fake.now + 5); /* born later */
    b->st.utime_ticks = 30;
    b->m.io.write_bytes = 1000;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.cpu_user_ticks, 50 + 30);
    assert_int_equal(g->counters.write_bytes, 500 + 1000);
    assert_int_equal(g->gauges.procs, 2);
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
    assert_int_equal(group(fx, "app")->counters.cpu_user_ticks, 100);
    assert_int_equal(group(fx, "app")->counters.ctx_voluntary, 100);

    /* Same pid, new starttime: a new process with small counters, not a drop of 580. */
    a = fake_set(&fx->fake, 10, "app", fx->fake.now + 1);
    a->st.utime_ticks = 20;
    a->m.status.voluntary_ctxt = 3;
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.cpu_user_ticks, 120);
    assert_int_equal(g->counters.ctx_voluntary, 103);
    assert_int_equal(g->gauges.procs, 1);
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
    assert_int_equal(group(fx, "app")->counters.cpu_system_ticks, 100);
    assert_int_equal(tracker_tracked_count(fx->t), 2);

    fake_remove(&fx->fake, 11);
    scan(fx);
    const struct tracker_group *g = group(fx, "app");
    assert_int_equal(g->counters.cpu_system_ticks, 100);
    assert_int_equal(g->counters.major_faults, 3);
    assert_int_equal(g->gauges.procs, 1);
    assert_int_equal(tracker_tracked_count(fx->t), 1);

    fake_remove(&fx->fake, 10);
    scan(fx);
    g = group(fx, "app");
    assert_int_equal(g->counters.cpu_system_ticks, 100);
    assert_int_equal(g->gauges.procs, 0);
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
    assert_int_equal(group(fx, "app")->counters.ctx_nonvoluntary, 3644);
    /* A thread exits and the process total falls (process-exporter went 3744 -> 44). */
    a->m.status.nonvoluntary_ctxt = 44;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.ctx_nonvoluntary, 3644);
    a->m.status.nonvoluntary_ctxt = 54;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.ctx_nonvoluntary, 3654);
}

static void test_unreadable_io_keeps_counter_and_baseline(void **state)
{
    struct fixture *fx = *state;
    struct fake_proc *a = fake_set(&fx->fake, 10, "app", 100);
    a->m.io.read_bytes = 1000;
    scan(fx);
    a->m.io.read_bytes = 2000;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.read_bytes, 1000);

    a->m.has_io = false;
    a->m.io.read_bytes = 0;
    a->m.failed = 1u << PROC_FILE_IO;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.read_bytes, 1000);
    assert_int_equal(tracker_errors(fx->t)->partial[PROC_FILE_IO], 1);

    a->m.has_io = true;
    a->m.failed = 0;
    a->m.io.read_bytes = 2500;
    scan(fx);
    assert_int_equal(group(fx, "app")->counters.read_bytes, 1500);
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
    assert_int_equal(group(fx, "app")->gauges.procs, 0);
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
    assert_int_equal(group(fx, "app")->gauges.procs, 3);
    assert_int_equal(tracker_ignored_count(fx->t), 0);
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
    assert_int_equal(group(fx, "app")->gauges.procs, 1);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
}

static void test_children_off_leaves_unmatched_ignored(void **state)
{
    (void)state;
    struct fixture *fx = fixture_new(false);
    fake_set(&fx->fake, 10, "app", 100);
    struct fake_proc *c = fake_set(&fx->fake, 11, "xchild", 200);
    c->st.ppid = 10;
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.procs, 1);
    assert_int_equal(tracker_ignored_count(fx->t), 1);
    tracker_free(fx->t);
    free(fx);
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
    assert_int_equal(g->gauges.procs, 3);
    assert_int_equal(g->gauges.threads, 6);
    assert_int_equal(g->gauges.resident_bytes, 15 * 4096);
    assert_int_equal(g->gauges.virtual_bytes, 1 << 20);
    assert_int_equal(g->gauges.swapped_bytes, 4096);
    assert_int_equal(g->gauges.open_fds, 63);
    assert_float_equal(g->gauges.worst_fd_ratio, 0.5, 1e-9);
    assert_true(g->gauges.has_oldest);
    assert_int_equal(g->gauges.oldest_start_ticks, 200);
    assert_int_equal(g->gauges.states[TRACKER_STATE_RUNNING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_WAITING], 1);
    assert_int_equal(g->gauges.states[TRACKER_STATE_ZOMBIE], 1);
    /* Gauges are recomputed, not accumulated. */
    scan(fx);
    assert_int_equal(group(fx, "app")->gauges.procs, 3);
    assert_int_equal(group(fx, "app")->gauges.open_fds, 63);
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
    assert_int_equal(group(fx, "app")->gauges.procs, 0);
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
            assert_true(tg->counters.cpu_user_ticks >= prev[g].cpu_user_ticks);
            assert_true(tg->counters.ctx_voluntary >= prev[g].ctx_voluntary);
            assert_true(tg->counters.read_bytes >= prev[g].read_bytes);
            prev[g] = tg->counters;
        }
    }
    assert_true(prev[0].cpu_user_ticks + prev[1].cpu_user_ticks > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        cmocka_unit_test_setup_teardown(test_reused_parent_pid_is_not_an_ancestor, setup, teardown),
        cmocka_unit_test(test_children_off_leaves_unmatched_ignored),
        cmocka_unit_test_setup_teardown(test_gauges_sum_live_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_stat_and_listing_are_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_process_gone_during_read_is_not_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_groups_come_in_name_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_counters_never_decrease_under_random_scans,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
