/* What a tracked process and its threads add to their group on each scan: counter growth through
 * tracker_counters_advance() (src/tracker/counter.h), gauges from the live values. A task that
 * has not run since its last full read is not read again in full: its counters, state, wchan and
 * open fds cannot have changed. What can change while it sleeps is read on every scan, or when a
 * system-wide signal says it may have changed (see read_volatile()). */
#include <errno.h>
#include <string.h>

#include "tracker/internal.h"
#include "util/xalloc.h"

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

void tracker_count_failed(struct tracker *t, int pid, unsigned failed)
{
    if (!failed)
        return;
    /* A process's files are read one after the other (identity, metrics, threads), so the last
     * process counted is the only one that can come again within the scan. */
    if (t->failed_pid != pid || t->failed_gen != t->gen) {
        t->errors.partial_procs++;
        t->failed_pid = pid;
        t->failed_gen = t->gen;
    }
    for (unsigned f = 0; f < PROC_FILE_COUNT; f++)
        if (failed & (1u << f))
            t->errors.partial[f]++;
}

/* ---- raw readings, indexed by counter ---- */

/* stat counts times in clock ticks; the counters keep microseconds, the unit of exit records. */
uint64_t tracker_ticks_us(const struct tracker *t, uint64_t ticks)
{
    uint64_t per_tick = 1000000 / t->options.ticks_per_second;
    return ticks > UINT64_MAX / per_tick ? UINT64_MAX : ticks * per_tick;
}

static void stat_readings(const struct tracker *t, const struct proc_stat *st, uint64_t *raw)
{
    raw[TRACKER_CPU_USER] = tracker_ticks_us(t, st->utime_ticks);
    raw[TRACKER_CPU_SYSTEM] = tracker_ticks_us(t, st->stime_ticks);
    raw[TRACKER_MINOR_FAULTS] = st->minflt;
    raw[TRACKER_MAJOR_FAULTS] = st->majflt;
    raw[TRACKER_BLKIO_DELAY] = tracker_ticks_us(t, st->delayacct_blkio_ticks);
    raw[TRACKER_GUEST] = tracker_ticks_us(t, st->guest_time_ticks);
}

static void io_readings(const struct proc_io *io, uint64_t *raw)
{
    raw[TRACKER_READ_BYTES] = io->read_bytes;
    raw[TRACKER_WRITE_BYTES] = io->write_bytes;
    raw[TRACKER_READ_CHARS] = io->rchar;
    raw[TRACKER_WRITE_CHARS] = io->wchar;
    raw[TRACKER_READ_SYSCALLS] = io->syscr;
    raw[TRACKER_WRITE_SYSCALLS] = io->syscw;
}

static void ctx_readings(const struct proc_status *status, uint64_t *raw)
{
    raw[TRACKER_CTX_VOLUNTARY] = status->voluntary_ctxt;
    raw[TRACKER_CTX_NONVOLUNTARY] = status->nonvoluntary_ctxt;
}

/* Adds the growth of the counters in `present` to `total` (and to `also`, when not NULL). io and
 * context switches may be unreadable for a while (permissions, a racing exit): the last good
 * reading stays the baseline, so nothing is counted twice or subtracted. */
static void advance(struct entry *e, const uint64_t *raw, uint32_t present,
                    struct tracker_counters *total, struct tracker_counters *also)
{
    struct tracker_counters *totals[2] = {total, also};
    tracker_counters_advance(&e->base, raw, present, e->from_birth, totals, 2);
}

void tracker_restart_counting(struct entry *e)
{
    e->from_birth = false;
    tracker_baseline_reset(&e->base, ~0u);
}

/* ---- threads ---- */

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

/* Whether a full read of this task is due anyway, however quiet it looks: once per period, at a
 * phase of its own (from its id and start time), so that the periodic reads of quiet tasks spread
 * over the scans of a period rather than all falling due in the same one. */
static bool refresh_due(const struct tracker *t, const struct entry *e)
{
    uint64_t period = t->options.refresh_ticks;
    if (!period)
        return true;
    uint64_t h = (uint64_t)(uint32_t)e->id * 0x9e3779b97f4a7c15ull + e->starttime_ticks;
    h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
    uint64_t phase = (h ^ (h >> 29)) % period;
    return (t->now_ticks + phase) / period != (e->last_full_ticks + phase) / period;
}

static bool schedstat_same(const struct entry *e, const struct proc_schedstat *ss)
{
    return e->probe == PROBE_SCHEDSTAT && ss->run_ns == e->probe_values[0] &&
           ss->slices == e->probe_values[1];
}

static void keep_schedstat(struct entry *e, bool have, const struct proc_schedstat *ss)
{
    e->probe = have ? PROBE_SCHEDSTAT : PROBE_NONE;
    if (have) {
        e->probe_values[0] = ss->run_ns;
        e->probe_values[1] = ss->slices;
    }
}

/* Asked after the stat read, so a process that was running then shows in `state`; one that ran
 * since its last full read and is not running now was switched out since. */
static bool switches_same(const struct entry *e, const struct proc_switches *sw, char state)
{
    return e->probe == PROBE_SWITCHES && state != 'R' && sw->voluntary == e->probe_values[0] &&
           sw->involuntary == e->probe_values[1];
}

/* A thread whose last full read is still true: count what it was. */
static void recount_quiet_thread(struct thread_pass *pass, struct entry *te)
{
    if (pass->t->options.threads)
        groups_thread_name(pass->group, te->name, pass->t->options.thread_names_max)->count++;
    pass->group->gauges.states[state_of(te->state)]++;
    if (pass->t->options.wchan)
        groups_count_wchan(pass->group, wchan_name(pass->t, te->wchan));
    te->seen = pass->t->gen;
    pass->seen++;
}

#define CTX_BITS TRACKER_FROM_STATUS

/* One thread of a tracked multi-threaded process: its context switches go to the group (so the
 * group's total is a sum of per-thread growth and never falls when a thread exits), its state
 * and wchan to the group's gauges, and with -threads its counters to its name's tally. A thread
 * that has not run since its last full read costs one schedstat read. */
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
    unsigned wants = (t->options.wchan ? PROC_WANT_WCHAN : 0) |
                     (t->options.threads ? PROC_WANT_IO : 0); /* io is only per thread name */
    if (src->thread(src->ctx, pid, tid, wants, &th, &pass->failed) != 0)
        return;
    te = table_find(&t->threads, tid);
    if (te && te->starttime_ticks != th.stat.starttime_ticks) {
        table_delete(&t->threads, te);
        te = NULL;
    }
    if (!te) {
        te = table_insert(&t->threads, tid);
        te->kind = ENTRY_THREAD;
        te->starttime_ticks = th.stat.starttime_ticks;
        /* A thread counts from birth when it was born after we last looked at its process; the
         * usage of threads that were there before is not known. */
        te->from_birth = pass->proc_first_sight ? pass->proc->from_birth
                                                : th.stat.starttime_ticks >= t->prev_scan_ticks;
        if (tid == pid && (pass->proc->base.has & CTX_BITS) == CTX_BITS) {
            /* The main thread's switches were followed through the process's status. */
            for (unsigned c = TRACKER_CTX_VOLUNTARY; c <= TRACKER_CTX_NONVOLUNTARY; c++)
                te->base.last[c] = pass->proc->base.last[c];
            te->base.has |= CTX_BITS;
        }
    }
    te->seen = t->gen;
    pass->seen++;

    struct tracker_group *g = pass->group;
    uint64_t raw[TRACKER_COUNTER_COUNT];
    /* Per thread name only with -threads: without, nothing would show it. */
    struct tracker_thread_name *tn = NULL;
    if (t->options.threads) {
        tn = groups_thread_name(g, th.stat.comm, t->options.thread_names_max);
        tn->count++;
        stat_readings(t, &th.stat, raw);
        advance(te, raw, TRACKER_FROM_STAT, &tn->counters, NULL);
        if (th.has_io) {
            io_readings(&th.io, raw);
            advance(te, raw, TRACKER_FROM_IO, &tn->counters, NULL);
        }
    }
    if (th.has_status && th.status.has_ctxt) {
        ctx_readings(&th.status, raw);
        advance(te, raw, CTX_BITS, tn ? &tn->counters : NULL, &g->counters);
        if (tid == pid) {
            /* Counted above: the process's own baseline follows without counting again. */
            for (unsigned c = TRACKER_CTX_VOLUNTARY; c <= TRACKER_CTX_NONVOLUNTARY; c++)
                pass->proc->base.last[c] = raw[c];
            pass->proc->base.has |= CTX_BITS;
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
    keep_schedstat(te, have_ss, &ss);
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
            tracker_count_failed(pass->t, pass->proc->id, 1u << PROC_FILE_TASK);
        return false;
    }
    pass->all_quiet = true;
    for (size_t i = 0; i < ntids; i++)
        account_thread(pass, tids[i]);
    tracker_count_failed(pass->t, pass->proc->id, pass->failed);
    return pass->seen > 0;
}

/* ---- processes ---- */

/* The process's own state matches its last full read: no counter of stat moved. */
static bool stat_unchanged(const struct tracker *t, const struct entry *e,
                           const struct proc_stat *st)
{
    const uint64_t *last = e->base.last;
    return tracker_ticks_us(t, st->utime_ticks) == last[TRACKER_CPU_USER] &&
           tracker_ticks_us(t, st->stime_ticks) == last[TRACKER_CPU_SYSTEM] &&
           st->minflt == last[TRACKER_MINOR_FAULTS] && st->majflt == last[TRACKER_MAJOR_FAULTS] &&
           st->num_threads == e->last_num_threads && st->state == e->state;
}

static void metrics_from_cache(const struct entry *e, struct proc_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->has_status = e->cache_has & CACHE_STATUS;
    m->status.vm_swap_bytes = e->cache.swap;
    m->has_open_fds = e->cache_has & CACHE_FDS;
    m->open_fds = e->cache.fds;
    m->has_fd_limit = e->cache_has & CACHE_LIMIT;
    m->fd_limit = e->cache.fd_limit;
    m->has_smaps = e->cache_has & CACHE_SMAPS;
    m->pss_bytes = e->cache.pss;
    m->swap_pss_bytes = e->cache.swap_pss;
}

/* What can change while a process does not run, read for a quiet process whose other values come
 * from the cache:
 *  - swap (status VmSwap), but only when the system's swap counters moved since the last scan:
 *    a page goes to swap or comes back through one of them, so when none moved, the cached
 *    VmSwap is exact;
 *  - the fd limit, which prlimit() from another process can change; one syscall;
 *  - with smaps, PSS and SwapPss, which change whenever another process maps, unmaps or swaps a
 *    page this one shares: no signal tells, so smaps_rollup is read every scan, as
 *    process-exporter does.
 * Not the open fd count: fds are added or closed by the task itself, the one exception being
 * seccomp's SECCOMP_IOCTL_NOTIF_ADDFD into a task stopped in a syscall, which runs as soon as the
 * supervisor answers. Not io and context switches: counters of the task's own doing. */
static void read_volatile(struct tracker *t, const struct tracker_source *src, int pid,
                          struct proc_metrics *m)
{
    unsigned wants = PROC_WANT_LIMIT | (t->options.smaps ? PROC_WANT_SMAPS : 0) |
                     (t->swap_moved ? PROC_WANT_STATUS : 0);
    struct proc_metrics now;
    if (src->metrics(src->ctx, pid, wants, &now) != 0)
        return; /* gone since its stat was read: it counts as it was */
    tracker_count_failed(t, pid, now.failed);
    if (now.has_status) {
        m->has_status = true;
        m->status.vm_swap_bytes = now.status.vm_swap_bytes;
    }
    m->has_fd_limit = now.has_fd_limit;
    m->fd_limit = now.fd_limit;
    if (wants & PROC_WANT_SMAPS) {
        m->has_smaps = now.has_smaps;
        m->pss_bytes = now.pss_bytes;
        m->swap_pss_bytes = now.swap_pss_bytes;
    }
}

/* Whether an active process's VmSwap is known without its status file: it was 0 at the last full
 * read and no page went to swap since. Swap entries are added to a process only when its pages
 * go out (which moves the system's counters); they are removed when pages come back (which does
 * too) or by the process itself (munmap, exit), which cannot take 0 lower. */
static bool swap_unchanged(const struct tracker *t, const struct entry *e)
{
    return e->has_cache && (e->cache_has & CACHE_STATUS) && e->cache.swap == 0 && !t->swap_moved;
}

void tracker_account_begin(struct tracker *t, const struct tracker_source *src)
{
    uint64_t moves = 0;
    bool known = src->swap_moves && src->swap_moves(src->ctx, &moves) == 0;
    t->swap_moved = !known || !t->has_swap_moves || moves != t->swap_moves;
    t->has_swap_moves = known;
    t->swap_moves = moves;
}

static void metrics_to_cache(struct entry *e, const struct proc_metrics *m)
{
    e->cache_has = (m->has_status ? CACHE_STATUS : 0) | (m->has_open_fds ? CACHE_FDS : 0) |
                   (m->has_fd_limit ? CACHE_LIMIT : 0) | (m->has_smaps ? CACHE_SMAPS : 0);
    e->cache.swap = m->status.vm_swap_bytes;
    e->cache.fds = m->open_fds;
    e->cache.fd_limit = m->fd_limit;
    e->cache.pss = m->pss_bytes;
    e->cache.swap_pss = m->swap_pss_bytes;
}

/* An exec changes the comm or the addresses of code, stack and arguments (all randomized per
 * exec). */
uint64_t tracker_fingerprint(const struct proc_stat *st)
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
    tracker_baseline_reset(&e->base, CTX_BITS);
    e->from_birth = false; /* the next reading is a baseline, not a count from zero */
    e->has_cache = false;  /* a new program: read everything */
    struct entry *te = table_find(&t->threads, e->id);
    if (te)
        table_delete(&t->threads, te);
}

static void add_gauges(struct tracker *t, struct tracker_gauges *gg, const struct proc_stat *st,
                       const struct proc_metrics *m)
{
    gg->v[TRACKER_PROCS]++;
    gg->v[TRACKER_THREADS] += st->num_threads > 0 ? (uint64_t)st->num_threads : 0;
    gg->v[TRACKER_RESIDENT_BYTES] += st->rss_pages * t->options.page_size;
    gg->v[TRACKER_VIRTUAL_BYTES] += st->vsize_bytes;
    if (m->has_status)
        gg->v[TRACKER_SWAPPED_BYTES] += m->status.vm_swap_bytes;
    if (m->has_smaps) {
        gg->v[TRACKER_PSS_BYTES] += m->pss_bytes;
        gg->v[TRACKER_SWAP_PSS_BYTES] += m->swap_pss_bytes;
    }
    if (m->has_open_fds) {
        gg->v[TRACKER_OPEN_FDS] += m->open_fds;
        if (m->has_fd_limit && m->fd_limit != PROC_LIMIT_UNLIMITED && m->fd_limit > 0) {
            double ratio = (double)m->open_fds / (double)m->fd_limit;
            if (ratio > gg->worst_fd_ratio)
                gg->worst_fd_ratio = ratio;
        }
    }
    if (!gg->has_oldest || st->starttime_ticks < gg->oldest_start_ticks) {
        gg->oldest_start_ticks = st->starttime_ticks;
        gg->has_oldest = true;
    }
}

void tracker_account_ended(struct tracker *t, struct entry *e, const struct proc_stat *st)
{
    e->seen = t->gen;
    if (e->kind != ENTRY_TRACKED)
        return;
    struct tracker_group *g = &t->groups.slots[e->group];
    struct proc_metrics none;
    memset(&none, 0, sizeof(none));
    add_gauges(t, &g->gauges, st, &none);
    g->gauges.states[state_of(st->state)]++;
}

void tracker_account(struct tracker *t, const struct tracker_source *src, struct entry *e,
                     const struct proc_stat *st, bool first_sight)
{
    uint64_t program = tracker_fingerprint(st);
    if (!first_sight && program != e->fingerprint)
        after_exec(t, e);
    e->fingerprint = program;
    if (first_sight)
        tracker_baseline_reset(&e->base, ~0u);

    bool threaded = st->num_threads >= 2;
    struct tracker_group *g = &t->groups.slots[e->group];
    bool may_skip = !first_sight && e->has_cache && src->schedstat && !refresh_due(t, e) &&
                    stat_unchanged(t, e, st);

    struct thread_pass pass = {
        .t = t, .src = src, .proc = e, .group = g, .proc_first_sight = first_sight};
    bool threads_read = threaded && account_threads(&pass);
    e->threads_known = threads_read;

    /* Single-threaded: the process's probe is its only thread's, asked before the files so that
     * activity between the two shows as a change next time. The kernel's answer for its context
     * switches when it gives one (they then stand for the status file's too), else schedstat. */
    bool single = !threaded && st->num_threads == 1;
    struct proc_switches sw;
    struct proc_schedstat ss;
    bool have_sw = single && src->switches && src->switches(src->ctx, st->pid, &sw) == 0;
    bool have_ss = single && !have_sw && src->schedstat && t->options.refresh_ticks &&
                   src->schedstat(src->ctx, st->pid, 0, &ss) == 0;
    bool quiet = may_skip && (threads_read ? pass.all_quiet
                              : have_sw    ? switches_same(e, &sw, st->state)
                                           : have_ss && schedstat_same(e, &ss));

    struct proc_metrics m;
    bool fresh = false; /* m was read now, not taken from the cache */
    if (quiet) {
        metrics_from_cache(e, &m);
        read_volatile(t, src, st->pid, &m);
        metrics_to_cache(e, &m);
    } else {
        unsigned wants = PROC_WANT_FULL | (t->options.smaps ? PROC_WANT_SMAPS : 0);
        if (t->options.wchan && !threads_read && sleeping(st->state))
            wants |= PROC_WANT_WCHAN;
        bool swap_known = have_sw && swap_unchanged(t, e);
        if (swap_known)
            wants &= ~PROC_WANT_STATUS;
        fresh = src->metrics(src->ctx, st->pid, wants, &m) != -ESRCH;
        if (!fresh && !threads_read)
            return; /* gone: not marked seen, swept at the end of this scan */
        if (!fresh) {
            /* Gone after its threads were counted in the states: count the process too, from
             * its stat, so that the states still add up to num_threads. */
            memset(&m, 0, sizeof(m));
        } else if (swap_known) {
            m.has_status = true;
            m.status.vm_swap_bytes = 0;
        }
    }
    if (fresh) {
        tracker_count_failed(t, st->pid, m.failed);
        metrics_to_cache(e, &m);
        e->wchan = wchan_intern(t, m.wchan);
        if (have_sw) {
            e->probe = PROBE_SWITCHES;
            e->probe_values[0] = sw.voluntary;
            e->probe_values[1] = sw.involuntary;
        } else {
            keep_schedstat(e, have_ss, &ss);
        }
        e->last_full_ticks = t->now_ticks;
        e->has_cache = true;
    }
    e->seen = t->gen;
    e->state = st->state;
    e->last_num_threads = st->num_threads;

    uint64_t raw[TRACKER_COUNTER_COUNT];
    stat_readings(t, st, raw);
    advance(e, raw, TRACKER_FROM_STAT, &g->counters, NULL);
    if (fresh && m.has_io) {
        io_readings(&m.io, raw);
        advance(e, raw, TRACKER_FROM_IO, &g->counters, NULL);
    }
    add_gauges(t, &g->gauges, st, &m);
    if (threads_read)
        return;
    /* Single-threaded, or task/ unreadable: what the process itself says. */
    if (have_sw) {
        raw[TRACKER_CTX_VOLUNTARY] = sw.voluntary;
        raw[TRACKER_CTX_NONVOLUNTARY] = sw.involuntary;
        advance(e, raw, CTX_BITS, &g->counters, NULL);
    } else if (fresh && m.has_status && m.status.has_ctxt) {
        ctx_readings(&m.status, raw);
        advance(e, raw, CTX_BITS, &g->counters, NULL);
    }
    g->gauges.states[state_of(st->state)]++;
    if (t->options.wchan)
        groups_count_wchan(g, wchan_name(t, e->wchan));
}
