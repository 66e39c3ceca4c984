#include "tracker/tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tracker/groups.h"
#include "tracker/table.h"
#include "util/xalloc.h"

struct tracker {
    struct tracker_options options;
    struct tracker_classifier classifier;

    struct table procs;
    struct table threads; /* threads of multi-threaded tracked processes */
    struct groups groups;

    struct proc_stat *pending; /* unmatched new processes waiting for their ancestry */
    size_t npending, pending_cap;

    /* Kernel function names threads sleep in: a bounded set, interned so entries keep an id. */
    char **wchans;
    size_t nwchans, wchans_cap;

    /* The decisions of the current scan (tracker_new_at), names kept in `new_names` as offsets
     * until the scan ends, since group slots may move while it runs. */
    struct decision *decisions;
    size_t ndecisions, decisions_cap;
    struct strbuf new_names;

    uint32_t gen;
    bool scanned;
    uint64_t now_ticks, first_scan_ticks, prev_scan_ticks;
    size_t tracked, ignored;
    struct tracker_errors errors;
    struct strbuf name;
};

/* A tracker_new_process with its names kept as offsets into tracker.new_names. */
struct decision {
    struct tracker_new_process out;
    size_t comm_at, group_at; /* group_at SIZE_MAX: none */
};

/* What one tracked process is going through while its threads are read. */
struct thread_pass {
    struct tracker *t;
    const struct tracker_source *src;
    struct entry *proc;
    struct tracker_group *group;
    bool proc_first_sight;
    size_t seen;
    bool all_quiet; /* every thread was known and had not run */
    unsigned failed;
};

static uint64_t delta(uint64_t now, uint64_t last)
{
    return now > last ? now - last : 0;
}

static enum tracker_state state_of(char s)
{
    switch (s) {
    case 'R':
        return TRACKER_STATE_RUNNING;
    case 'S':
        return TRACKER_STATE_SLEEPING;
    case 'D':
        return TRACKER_STATE_WAITING;
    case 'Z':
        return TRACKER_STATE_ZOMBIE;
    default:
        return TRACKER_STATE_OTHER;
    }
}

static bool sleeping(char s)
{
    return s == 'S' || s == 'D';
}

static void count_failed(struct tracker *t, unsigned failed)
{
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++)
        if (failed & (1u << f))
            t->errors.partial[f]++;
}

/* Adds the growth of stat's cpu and fault counters since the last scan (or, for a task born
 * while we watched, since its birth) to `c`, and remembers the new values. */
static void add_stat_counters(struct tracker_counters *c, struct entry *e,
                              const struct proc_stat *st, bool first_sight)
{
    if (!first_sight || e->from_birth) {
        c->cpu_user_ticks += delta(st->utime_ticks, e->last_utime);
        c->cpu_system_ticks += delta(st->stime_ticks, e->last_stime);
        c->minor_faults += delta(st->minflt, e->last_minflt);
        c->major_faults += delta(st->majflt, e->last_majflt);
        c->blkio_delay_ticks += delta(st->delayacct_blkio_ticks, e->last_blkio);
        c->guest_ticks += delta(st->guest_time_ticks, e->last_guest);
    }
    e->last_blkio = st->delayacct_blkio_ticks;
    e->last_guest = st->guest_time_ticks;
    e->last_utime = st->utime_ticks;
    e->last_stime = st->stime_ticks;
    e->last_minflt = st->minflt;
    e->last_majflt = st->majflt;
}

/* io and context switches may be unreadable for a while (permissions, a racing exit); the last
 * good reading stays the baseline, so nothing is counted twice or subtracted. */
static void add_io(struct tracker_counters *c, struct entry *e, const struct proc_io *io)
{
    if (e->has_io_base || e->from_birth) {
        c->read_bytes += delta(io->read_bytes, e->last_read_bytes);
        c->write_bytes += delta(io->write_bytes, e->last_write_bytes);
        c->read_chars += delta(io->rchar, e->last_rchar);
        c->write_chars += delta(io->wchar, e->last_wchar);
        c->read_syscalls += delta(io->syscr, e->last_syscr);
        c->write_syscalls += delta(io->syscw, e->last_syscw);
    }
    e->last_rchar = io->rchar;
    e->last_wchar = io->wchar;
    e->last_syscr = io->syscr;
    e->last_syscw = io->syscw;
    e->last_read_bytes = io->read_bytes;
    e->last_write_bytes = io->write_bytes;
    e->has_io_base = true;
}

static void add_ctx(struct tracker_counters *c, struct entry *e, const struct proc_status *st)
{
    if (e->has_ctx_base || e->from_birth) {
        c->ctx_voluntary += delta(st->voluntary_ctxt, e->last_ctx_vol);
        c->ctx_nonvoluntary += delta(st->nonvoluntary_ctxt, e->last_ctx_nonvol);
    }
    e->last_ctx_vol = st->voluntary_ctxt;
    e->last_ctx_nonvol = st->nonvoluntary_ctxt;
    e->has_ctx_base = true;
}

/* The next reading of the process becomes its baseline: nothing before it is counted. For a
 * process that starts being tracked long after it was first seen (after a reload), and for one
 * that stops being tracked, whose readings would be stale when it is tracked again. */
static void restart_counting(struct entry *e)
{
    e->from_birth = false;
    e->has_io_base = false;
    e->has_ctx_base = false;
}

static uint32_t wchan_intern(struct tracker *t, const char *name)
{
    if (!name[0])
        return 0;
    for (size_t i = 0; i < t->nwchans; i++)
        if (strcmp(t->wchans[i], name) == 0)
            return (uint32_t)i + 1;
    t->wchans = xgrow(t->wchans, &t->wchans_cap, t->nwchans + 1, sizeof(*t->wchans));
    t->wchans[t->nwchans++] = xstrdup(name);
    return (uint32_t)t->nwchans;
}

static const char *wchan_name(const struct tracker *t, uint32_t id)
{
    return id ? t->wchans[id - 1] : "";
}

/* Whether a full read of this task is due anyway, however quiet it looks. */
static bool refresh_due(const struct tracker *t, const struct entry *e)
{
    return !t->options.refresh_ticks ||
           t->now_ticks - e->last_full_ticks >= t->options.refresh_ticks;
}

static bool schedstat_same(const struct entry *e, const struct proc_schedstat *ss)
{
    return e->has_schedstat && ss->run_ns == e->last_run_ns && ss->slices == e->last_slices;
}

/* A thread whose last full read is still true: count what it was. */
static void recount_quiet_thread(struct thread_pass *pass, struct entry *te)
{
    struct tracker_thread_name *tn = groups_thread_name(pass->group, te->name);
    tn->count++;
    pass->group->gauges.states[state_of(te->state)]++;
    if (pass->t->options.wchan)
        groups_count_wchan(pass->group, wchan_name(pass->t, te->wchan));
    te->seen = pass->t->gen;
    pass->seen++;
}

/* One thread of a tracked multi-threaded process: its counters go to its name's tally, its
 * context switches also to the group (so the group's total is a sum of per-thread growth and
 * never falls when a thread exits), its state and wchan to the group's gauges. A thread that has
 * not run since its last full read costs one schedstat read. */
static void account_thread(struct thread_pass *pass, int tid)
{
    struct tracker *t = pass->t;
    const struct tracker_source *src = pass->src;
    int pid = pass->proc->id;
    struct entry *te = table_find(&t->threads, tid);

    struct proc_schedstat ss;
    bool have_ss =
        src->schedstat && t->options.refresh_ticks && src->schedstat(src->ctx, pid, tid, &ss) == 0;
    if (te && have_ss && te->has_cache && !refresh_due(t, te) && schedstat_same(te, &ss)) {
        recount_quiet_thread(pass, te);
        return;
    }
    pass->all_quiet = false;

    struct proc_thread th;
    if (src->thread(src->ctx, pid, tid, t->options.wchan ? PROC_WANT_WCHAN : 0, &th,
                    &pass->failed) != 0)
        return;
    te = table_find(&t->threads, tid);
    if (te && te->starttime_ticks != th.stat.starttime_ticks) {
        table_delete(&t->threads, te);
        te = NULL;
    }
    bool first = !te;
    if (first) {
        te = table_insert(&t->threads, tid);
        te->kind = ENTRY_THREAD;
        te->starttime_ticks = th.stat.starttime_ticks;
        /* A thread counts from birth when it was born after we last looked at its process; the
         * usage of threads that were there before is not known. */
        te->from_birth = pass->proc_first_sight ? pass->proc->from_birth
                                                : th.stat.starttime_ticks >= t->prev_scan_ticks;
        if (tid == pid && pass->proc->has_ctx_base) {
            /* The main thread's switches were followed through the process's status. */
            te->last_ctx_vol = pass->proc->last_ctx_vol;
            te->last_ctx_nonvol = pass->proc->last_ctx_nonvol;
            te->has_ctx_base = true;
        }
    }
    te->seen = t->gen;
    pass->seen++;

    struct tracker_group *g = pass->group;
    struct tracker_thread_name *tn = groups_thread_name(g, th.stat.comm);
    tn->count++;
    add_stat_counters(&tn->counters, te, &th.stat, first);
    if (th.has_io)
        add_io(&tn->counters, te, &th.io);
    if (th.has_status && th.status.has_ctxt) {
        uint64_t vol = tn->counters.ctx_voluntary, nonvol = tn->counters.ctx_nonvoluntary;
        add_ctx(&tn->counters, te, &th.status);
        g->counters.ctx_voluntary += tn->counters.ctx_voluntary - vol;
        g->counters.ctx_nonvoluntary += tn->counters.ctx_nonvoluntary - nonvol;
        if (tid == pid) {
            pass->proc->last_ctx_vol = th.status.voluntary_ctxt;
            pass->proc->last_ctx_nonvol = th.status.nonvoluntary_ctxt;
            pass->proc->has_ctx_base = true;
        }
    }
    g->gauges.states[state_of(th.stat.state)]++;
    te->wchan = t->options.wchan ? wchan_intern(t, th.wchan) : 0;
    if (t->options.wchan)
        groups_count_wchan(g, wchan_name(t, te->wchan));

    te->state = th.stat.state;
    /* Thread names are at most 15 bytes (TASK_COMM_LEN); longer ones only come from fixtures. */
    size_t name_len = strnlen(th.stat.comm, sizeof(te->name) - 1);
    memcpy(te->name, th.stat.comm, name_len);
    te->name[name_len] = '\0';
    te->has_schedstat = have_ss;
    if (have_ss) {
        te->last_run_ns = ss.run_ns;
        te->last_slices = ss.slices;
    }
    te->last_full_ticks = t->now_ticks;
    te->has_cache = true;
}

/* The threads of a multi-threaded process. Returns false when task/ could not be read. */
static bool account_threads(struct thread_pass *pass)
{
    const struct tracker_source *src = pass->src;
    const int *tids;
    size_t ntids;
    int rc = src->tasks(src->ctx, pass->proc->id, &tids, &ntids);
    if (rc < 0) {
        if (rc != -ESRCH)
            pass->t->errors.partial[PROC_FILE_TASK]++;
        return false;
    }
    pass->all_quiet = true;
    for (size_t i = 0; i < ntids; i++)
        account_thread(pass, tids[i]);
    count_failed(pass->t, pass->failed);
    return pass->seen > 0;
}

/* The process's own state matches its last full read: no counter of stat moved. */
static bool stat_unchanged(const struct entry *e, const struct proc_stat *st)
{
    return st->utime_ticks == e->last_utime && st->stime_ticks == e->last_stime &&
           st->minflt == e->last_minflt && st->majflt == e->last_majflt &&
           st->num_threads == e->last_num_threads && st->state == e->state;
}

static void metrics_from_cache(const struct entry *e, struct proc_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->has_status = e->cache.has & CACHE_STATUS;
    m->status.vm_swap_bytes = e->cache.swap;
    m->has_open_fds = e->cache.has & CACHE_FDS;
    m->open_fds = e->cache.fds;
    m->has_fd_limit = e->cache.has & CACHE_LIMIT;
    m->fd_limit = e->cache.fd_limit;
    m->has_smaps = e->cache.has & CACHE_SMAPS;
    m->pss_bytes = e->cache.pss;
    m->swap_pss_bytes = e->cache.swap_pss;
}

static void metrics_to_cache(struct entry *e, const struct proc_metrics *m)
{
    e->cache.has = (m->has_status ? CACHE_STATUS : 0) | (m->has_open_fds ? CACHE_FDS : 0) |
                   (m->has_fd_limit ? CACHE_LIMIT : 0) | (m->has_smaps ? CACHE_SMAPS : 0);
    e->cache.swap = m->status.vm_swap_bytes;
    e->cache.fds = m->open_fds;
    e->cache.fd_limit = m->fd_limit;
    e->cache.pss = m->pss_bytes;
    e->cache.swap_pss = m->swap_pss_bytes;
}

/* What identifies the program a process runs, from stat alone: an exec changes the comm or the
 * addresses of code, stack and arguments (all randomized per exec). */
static uint64_t fingerprint(const struct proc_stat *st)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = st->comm; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    uint64_t v[] = {st->start_code, st->start_stack, st->arg_start, st->arg_end};
    for (size_t i = 0; i < 4; i++)
        h = (h ^ v[i]) * 1099511628211ull;
    return h;
}

/* A tracked process exec'd. When a thread other than the main one calls execve, the kernel gives
 * it the main thread's tid and start time, but it keeps its own context switch and CPU counts:
 * the main thread's baselines (the process's, and its thread entry's) no longer apply. */
static void after_exec(struct tracker *t, struct entry *e)
{
    e->has_ctx_base = false;
    e->has_cache = false; /* a new program: read everything */
    struct entry *te = table_find(&t->threads, e->id);
    if (te)
        table_delete(&t->threads, te);
}

/* Reads a tracked process's metrics and adds them to its group: deltas to the counters, values
 * to the gauges. On first sight the current values become the baseline, and are also counted
 * when the process was born after the exporter's first scan. A process none of whose tasks has
 * run since its last full read is not read beyond stat (and schedstat): nothing can have moved. */
static void account(struct tracker *t, const struct tracker_source *src, struct entry *e,
                    const struct proc_stat *st, bool first_sight)
{
    uint64_t program = fingerprint(st);
    if (!first_sight && program != e->fingerprint)
        after_exec(t, e);
    e->fingerprint = program;

    bool threaded = t->options.threads && st->num_threads >= 2;
    struct tracker_group *g = &t->groups.slots[e->group];
    bool may_skip = !first_sight && e->has_cache && src->schedstat && !refresh_due(t, e) &&
                    stat_unchanged(e, st);

    struct thread_pass pass = {
        .t = t, .src = src, .proc = e, .group = g, .proc_first_sight = first_sight};
    bool threads_read = threaded && account_threads(&pass);

    /* Single-threaded: the process's schedstat is its only thread's. Read it before the files,
     * so that activity between the two shows as a change next time. */
    struct proc_schedstat ss;
    bool have_ss = !threaded && st->num_threads == 1 && src->schedstat &&
                   t->options.refresh_ticks && src->schedstat(src->ctx, st->pid, 0, &ss) == 0;
    bool quiet = may_skip && (threads_read ? pass.all_quiet : have_ss && schedstat_same(e, &ss));

    struct proc_metrics m;
    bool fresh = false; /* m was read now, not taken from the cache */
    if (quiet) {
        metrics_from_cache(e, &m);
    } else {
        unsigned wants = t->options.smaps ? PROC_WANT_SMAPS : 0;
        if (t->options.wchan && !threads_read && sleeping(st->state))
            wants |= PROC_WANT_WCHAN;
        fresh = src->metrics(src->ctx, st->pid, wants, &m) != -ESRCH;
        if (!fresh && !threads_read)
            return; /* gone: not marked seen, swept at the end of this scan */
        if (!fresh) {
            /* Gone after its threads were counted in the states: count the process too, from
             * its stat, so that the states still add up to num_threads. */
            memset(&m, 0, sizeof(m));
        }
    }
    if (fresh) {
        count_failed(t, m.failed);
        metrics_to_cache(e, &m);
        e->wchan = wchan_intern(t, m.wchan);
        e->has_schedstat = have_ss;
        if (have_ss) {
            e->last_run_ns = ss.run_ns;
            e->last_slices = ss.slices;
        }
        e->last_full_ticks = t->now_ticks;
        e->has_cache = true;
    }
    e->seen = t->gen;
    e->state = st->state;
    e->last_num_threads = st->num_threads;

    add_stat_counters(&g->counters, e, st, first_sight);
    if (fresh && m.has_io)
        add_io(&g->counters, e, &m.io);

    struct tracker_gauges *gg = &g->gauges;
    gg->procs++;
    gg->threads += st->num_threads > 0 ? (uint64_t)st->num_threads : 0;
    gg->resident_bytes += st->rss_pages * t->options.page_size;
    gg->virtual_bytes += st->vsize_bytes;
    if (m.has_status)
        gg->swapped_bytes += m.status.vm_swap_bytes;
    if (m.has_smaps) {
        gg->proportional_resident_bytes += m.pss_bytes;
        gg->proportional_swapped_bytes += m.swap_pss_bytes;
    }
    if (m.has_open_fds) {
        gg->open_fds += m.open_fds;
        if (m.has_fd_limit && m.fd_limit != PROC_LIMIT_UNLIMITED && m.fd_limit > 0) {
            double ratio = (double)m.open_fds / (double)m.fd_limit;
            if (ratio > gg->worst_fd_ratio)
                gg->worst_fd_ratio = ratio;
        }
    }
    if (!gg->has_oldest || st->starttime_ticks < gg->oldest_start_ticks) {
        gg->oldest_start_ticks = st->starttime_ticks;
        gg->has_oldest = true;
    }
    if (threads_read)
        return;
    /* Single-threaded, -threads=false, or task/ unreadable: what the process itself says. */
    if (fresh && m.has_status && m.status.has_ctxt)
        add_ctx(&g->counters, e, &m.status);
    gg->states[state_of(st->state)]++;
    if (t->options.wchan)
        groups_count_wchan(g, wchan_name(t, e->wchan));
}

static void report_new(struct tracker *t, const struct proc_stat *st, int group, int rule,
                       int adopted_from)
{
    t->decisions = xgrow(t->decisions, &t->decisions_cap, t->ndecisions + 1, sizeof(*t->decisions));
    struct decision *d = &t->decisions[t->ndecisions++];
    d->out = (struct tracker_new_process){
        .pid = st->pid,
        .starttime_ticks = st->starttime_ticks,
        .rule = rule,
        .adopted_from = adopted_from,
    };
    d->comm_at = t->new_names.len;
    strbuf_append(&t->new_names, st->comm, strlen(st->comm) + 1);
    d->group_at = SIZE_MAX;
    if (group >= 0) {
        const char *name = t->groups.slots[group].name;
        d->group_at = t->new_names.len;
        strbuf_append(&t->new_names, name, strlen(name) + 1);
    }
}

/* The names moved while the scan ran: point at where they are now. */
static void publish_decisions(struct tracker *t)
{
    for (size_t i = 0; i < t->ndecisions; i++) {
        struct decision *d = &t->decisions[i];
        d->out.comm = t->new_names.buf + d->comm_at;
        d->out.group = d->group_at == SIZE_MAX ? NULL : t->new_names.buf + d->group_at;
    }
}

static void make_tracked(struct tracker *t, struct entry *e, uint32_t group)
{
    e->kind = ENTRY_TRACKED;
    e->group = group;
    t->groups.slots[group].members++;
}

static void park_pending(struct tracker *t, struct entry *e, const struct proc_stat *st)
{
    e->kind = ENTRY_PENDING;
    t->pending = xgrow(t->pending, &t->pending_cap, t->npending + 1, sizeof(*t->pending));
    t->pending[t->npending++] = *st;
}

enum classified { CLASSIFIED_GONE = -1, CLASSIFIED_NONE = 0, CLASSIFIED_JOINED = 1 };

/* Runs the rules on a process; when one matches, the process joins its group and is accounted. */
static enum classified classify(struct tracker *t, const struct tracker_source *src,
                                struct entry *e, const struct proc_stat *st)
{
    struct proc_identity id;
    unsigned failed = 0;
    if (src->identity(src->ctx, st, t->classifier.needs, &id, &failed) == -ESRCH)
        return CLASSIFIED_GONE;
    count_failed(t, failed);
    int rule = t->classifier.classify(t->classifier.ctx, &id, &t->name);
    if (rule < 0)
        return CLASSIFIED_NONE;
    uint32_t group = groups_get(&t->groups, strbuf_str(&t->name));
    make_tracked(t, e, group);
    report_new(t, st, (int)group, rule, 0);
    account(t, src, e, st, true);
    return CLASSIFIED_JOINED;
}

/* A process seen for the first time: classify it, or park it until its ancestors are known. */
static void see_new(struct tracker *t, const struct tracker_source *src, const struct proc_stat *st)
{
    struct entry *e = table_insert(&t->procs, st->pid);
    e->ppid = st->ppid;
    e->starttime_ticks = st->starttime_ticks;
    e->from_birth = t->scanned && st->starttime_ticks > t->first_scan_ticks;
    e->seen = t->gen;
    e->kind = ENTRY_IGNORED;
    e->fingerprint = fingerprint(st);
    switch (classify(t, src, e, st)) {
    case CLASSIFIED_JOINED:
        break;
    case CLASSIFIED_GONE:
        table_delete(&t->procs, e);
        break;
    case CLASSIFIED_NONE:
        if (t->options.children)
            park_pending(t, e, st);
        else
            report_new(t, st, -1, -1, 0);
        break;
    }
}

/* An ignored process under -recheck: matched again only when it exec'd since the last try. */
static void recheck(struct tracker *t, const struct tracker_source *src, struct entry *e,
                    const struct proc_stat *st)
{
    if (t->options.recheck_limit_ticks &&
        t->now_ticks >= e->starttime_ticks + t->options.recheck_limit_ticks)
        return;
    uint64_t fp = fingerprint(st);
    if (fp == e->fingerprint)
        return;
    e->fingerprint = fp;
    e->ppid = st->ppid;
    if (classify(t, src, e, st) == CLASSIFIED_NONE && t->options.children)
        park_pending(t, e, st);
}

/* The group of the nearest known ancestor, or -1. An ancestor counts only if it started no later
 * than its child: a parent pid reused by a younger process is not the parent. An ancestor that
 * has exited since the last scan (its entry is still here until the sweep) is not trusted with
 * its group, but the walk goes on through the parent it had. */
static int ancestor_group(struct tracker *t, const struct entry *child, int *via)
{
    const struct entry *cur = child;
    for (int depth = 0; depth < 4096; depth++) {
        if (cur->ppid <= 0)
            return -1;
        const struct entry *p = table_find(&t->procs, cur->ppid);
        if (!p || p->starttime_ticks > cur->starttime_ticks)
            return -1;
        if (p->seen == t->gen && p->kind == ENTRY_TRACKED) {
            *via = p->id;
            return (int)p->group;
        }
        if (p->seen == t->gen && p->kind == ENTRY_IGNORED)
            return -1;
        cur = p; /* pending in this scan, or exited: look further up */
    }
    return -1;
}

static void resolve_pending(struct tracker *t, const struct tracker_source *src)
{
    for (size_t i = 0; i < t->npending; i++) {
        const struct proc_stat *st = &t->pending[i];
        struct entry *e = table_find(&t->procs, st->pid);
        if (!e || e->kind != ENTRY_PENDING)
            continue;
        int via = 0;
        int group = ancestor_group(t, e, &via);
        bool carry_on = e->carry_on;
        e->carry_on = false;
        if (group < 0) {
            e->kind = ENTRY_IGNORED;
            if (carry_on)
                restart_counting(e);
            report_new(t, st, -1, -1, 0);
            continue;
        }
        make_tracked(t, e, (uint32_t)group);
        report_new(t, st, group, -1, via);
        account(t, src, e, st, !carry_on);
    }
    t->npending = 0;
}

/* A process matched again after a reload (see tracker_set_classifier). */
static void reclassify(struct tracker *t, const struct tracker_source *src, struct entry *e,
                       const struct proc_stat *st)
{
    struct proc_identity id;
    unsigned failed = 0;
    if (src->identity(src->ctx, st, t->classifier.needs, &id, &failed) == -ESRCH)
        return; /* gone: swept */
    count_failed(t, failed);
    bool was_tracked = e->kind == ENTRY_TRACKED;
    int rule = t->classifier.classify(t->classifier.ctx, &id, &t->name);
    if (rule >= 0) {
        uint32_t group = groups_get(&t->groups, strbuf_str(&t->name));
        if (was_tracked && e->group == group) {
            account(t, src, e, st, false);
            return;
        }
        if (was_tracked)
            t->groups.slots[e->group].members--;
        else
            restart_counting(e);
        make_tracked(t, e, group);
        report_new(t, st, (int)group, rule, 0);
        /* A moved process goes on from its last reading; a newly tracked one starts here. */
        account(t, src, e, st, !was_tracked);
        return;
    }
    if (was_tracked) {
        t->groups.slots[e->group].members--;
        e->kind = ENTRY_IGNORED;
    }
    e->seen = t->gen;
    if (t->options.children) {
        /* Its usage so far is counted, in its old group; if an ancestor's group takes it, it goes
         * on from its last reading there. */
        e->carry_on = was_tracked;
        park_pending(t, e, st);
    } else {
        if (was_tracked)
            restart_counting(e);
        report_new(t, st, -1, -1, 0);
    }
}

void tracker_set_classifier(struct tracker *t, const struct tracker_classifier *classifier)
{
    t->classifier = *classifier;
    for (size_t i = 0; i < t->procs.cap; i++)
        if (t->procs.slots[i].id != 0)
            t->procs.slots[i].reclassify = true;
}

static void forget(void *arg, const struct entry *e)
{
    struct tracker *t = arg;
    if (e->kind == ENTRY_TRACKED)
        t->groups.slots[e->group].members--;
}

int tracker_scan(struct tracker *t, const struct tracker_source *src)
{
    t->ndecisions = 0;
    strbuf_reset(&t->new_names);
    int rc = src->list(src->ctx);
    if (rc < 0) {
        t->errors.scan++;
        return rc;
    }
    t->gen++;
    t->prev_scan_ticks = t->now_ticks;
    t->now_ticks = src->now_ticks(src->ctx);
    if (!t->scanned)
        t->first_scan_ticks = t->now_ticks;
    groups_begin_scan(&t->groups);

    struct proc_stat st;
    while ((rc = src->next(src->ctx, &st)) != 0) {
        struct entry *e = table_find(&t->procs, st.pid);
        if (rc < 0) {
            /* stat is there but unreadable: keep what we know, count the error. */
            t->errors.procread++;
            if (e)
                e->seen = t->gen;
            continue;
        }
        if (e && e->starttime_ticks != st.starttime_ticks) {
            /* The pid was reused: the old process is gone, its usage stays in its group. */
            forget(t, e);
            table_delete(&t->procs, e);
            e = NULL;
        }
        if (!e) {
            see_new(t, src, &st);
        } else if (e->reclassify) {
            e->reclassify = false;
            reclassify(t, src, e, &st);
        } else if (e->kind == ENTRY_TRACKED) {
            account(t, src, e, &st, false);
        } else {
            e->seen = t->gen; /* ignored: a stat read is all it costs */
            if (t->options.recheck)
                recheck(t, src, e, &st);
        }
    }
    resolve_pending(t, src);
    table_sweep(&t->procs, t->gen, forget, t);
    table_sweep(&t->threads, t->gen, NULL, NULL);
    groups_end_scan(&t->groups, t->options.remove_empty_groups, t->now_ticks,
                    GROUPS_THREAD_NAME_TTL_SECONDS * t->options.ticks_per_second);

    t->tracked = t->ignored = 0;
    for (size_t i = 0; i < t->procs.cap; i++) {
        if (t->procs.slots[i].kind == ENTRY_TRACKED)
            t->tracked++;
        else if (t->procs.slots[i].kind == ENTRY_IGNORED)
            t->ignored++;
    }
    publish_decisions(t);
    t->scanned = true;
    return 0;
}

/* ---- lifecycle and accessors ---- */

struct tracker *tracker_new(const struct tracker_options *options,
                            const struct tracker_classifier *classifier)
{
    struct tracker *t = xcalloc(1, sizeof(*t));
    t->options = *options;
    if (t->options.page_size == 0)
        t->options.page_size = 4096;
    if (t->options.ticks_per_second == 0)
        t->options.ticks_per_second = 100;
    t->classifier = *classifier;
    table_init(&t->procs);
    table_init(&t->threads);
    groups_init(&t->groups);
    return t;
}

void tracker_free(struct tracker *t)
{
    if (!t)
        return;
    groups_free(&t->groups);
    for (size_t i = 0; i < t->nwchans; i++)
        free(t->wchans[i]);
    free(t->wchans);
    table_free(&t->procs);
    table_free(&t->threads);
    free(t->pending);
    free(t->decisions);
    strbuf_free(&t->new_names);
    strbuf_free(&t->name);
    free(t);
}

size_t tracker_group_count(const struct tracker *t)
{
    return t->groups.norder;
}

const struct tracker_group *tracker_group_at(const struct tracker *t, size_t index)
{
    return index < t->groups.norder ? &t->groups.slots[t->groups.order[index]] : NULL;
}

const struct tracker_group *tracker_group_find(const struct tracker *t, const char *name)
{
    int g = groups_find(&t->groups, name);
    return g >= 0 ? &t->groups.slots[g] : NULL;
}

size_t tracker_new_count(const struct tracker *t)
{
    return t->ndecisions;
}

const struct tracker_new_process *tracker_new_at(const struct tracker *t, size_t index)
{
    return index < t->ndecisions ? &t->decisions[index].out : NULL;
}

bool tracker_has_process(const struct tracker *t, int pid, uint64_t starttime_ticks)
{
    const struct entry *e = table_find(&t->procs, pid);
    return e && e->starttime_ticks == starttime_ticks;
}

const struct tracker_errors *tracker_errors(const struct tracker *t)
{
    return &t->errors;
}

size_t tracker_tracked_count(const struct tracker *t)
{
    return t->tracked;
}

size_t tracker_ignored_count(const struct tracker *t)
{
    return t->ignored;
}
