#include "exporter/proc_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

#define READER(ctx) (((struct proc_source *)(ctx))->reader)

static int src_list(void *ctx)
{
    return proc_reader_list(READER(ctx));
}

static int src_next(void *ctx, struct proc_stat *stat)
{
    return proc_reader_next(READER(ctx), stat);
}

static int src_identity(void *ctx, const struct proc_stat *stat, unsigned needs,
                        struct proc_identity *id, unsigned *failed)
{
    return proc_reader_identity(READER(ctx), stat, needs, id, failed);
}

static int src_metrics(void *ctx, int pid, unsigned wants, struct proc_metrics *m)
{
    return proc_reader_metrics(READER(ctx), pid, wants, m);
}

static int src_tasks(void *ctx, int pid, const int **tids, size_t *ntids)
{
    return proc_reader_tasks(READER(ctx), pid, tids, ntids);
}

static int src_thread(void *ctx, int pid, int tid, unsigned wants, struct proc_thread *thread,
                      unsigned *failed)
{
    return proc_reader_thread(READER(ctx), pid, tid, wants, thread, failed);
}

static int src_schedstat(void *ctx, int pid, int tid, struct proc_schedstat *out)
{
    return proc_reader_schedstat(READER(ctx), pid, tid, out);
}

static int src_swap_moves(void *ctx, uint64_t *moves)
{
    return proc_reader_swap_moves(READER(ctx), moves);
}

static uint64_t src_now_ticks(void *ctx)
{
    /* stat's starttime counts from boot on CLOCK_BOOTTIME, suspended time included. */
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    uint64_t hz = proc_reader_ticks_per_second(READER(ctx));
    return (uint64_t)ts.tv_sec * hz + (uint64_t)ts.tv_nsec / (1000000000ull / hz);
}

static int src_process_key(void *ctx, int pid, uint64_t *key)
{
    return proc_reader_process_key(READER(ctx), pid, key);
}

/* The listener's records in the tracker's terms: times in microseconds, the start of the
 * process on stat's clock. */
static void convert(const struct proc_source *ps, const struct acct_exit *in,
                    struct tracker_exit *out)
{
    memset(out, 0, sizeof(*out));
    out->tid = in->tid;
    out->pid = in->tgid;
    out->ppid = in->ppid;
    uint64_t ns_per_tick = 1000000000ull / ps->ticks_per_second;
    uint64_t elapsed_ns = in->elapsed_us * 1000;
    out->starttime_ticks =
        in->received_ns > elapsed_ns ? (in->received_ns - elapsed_ns) / ns_per_tick : 0;
    out->earliest_starttime_ticks =
        in->sent_after_ns > elapsed_ns ? (in->sent_after_ns - elapsed_ns) / ns_per_tick : 0;
    out->process_ended = in->process_ended;
    out->has_uid = true;
    out->uid = in->uid;
    memcpy(out->comm, in->comm, sizeof(out->comm));
    out->raw[TRACKER_CPU_USER] = in->utime_us;
    out->raw[TRACKER_CPU_SYSTEM] = in->stime_us;
    out->peak_rss_kb = in->peak_rss_kb;
    out->raw[TRACKER_MINOR_FAULTS] = in->minflt;
    out->raw[TRACKER_MAJOR_FAULTS] = in->majflt;
    out->raw[TRACKER_BLKIO_DELAY] = in->blkio_delay_ns / 1000;
    out->present = TRACKER_BIT(TRACKER_CPU_USER) | TRACKER_BIT(TRACKER_CPU_SYSTEM) |
                   TRACKER_BIT(TRACKER_MINOR_FAULTS) | TRACKER_BIT(TRACKER_MAJOR_FAULTS) |
                   TRACKER_BIT(TRACKER_BLKIO_DELAY);
    if (in->has_io) {
        out->raw[TRACKER_READ_BYTES] = in->read_bytes;
        out->raw[TRACKER_WRITE_BYTES] = in->write_bytes;
        out->raw[TRACKER_READ_CHARS] = in->rchar;
        out->raw[TRACKER_WRITE_CHARS] = in->wchar;
        out->raw[TRACKER_READ_SYSCALLS] = in->syscr;
        out->raw[TRACKER_WRITE_SYSCALLS] = in->syscw;
        out->raw[TRACKER_CTX_VOLUNTARY] = in->nvcsw;
        out->raw[TRACKER_CTX_NONVOLUNTARY] = in->nivcsw;
        out->present |= TRACKER_FROM_IO | TRACKER_FROM_STATUS;
    }
}

static size_t src_exits(void *ctx, const struct tracker_exit **records, bool *lost)
{
    struct proc_source *ps = ctx;
    *records = NULL;
    *lost = false;
    if (!ps->listener)
        return 0;
    const struct acct_exit *in;
    size_t n = acct_listener_take(ps->listener, &in, lost);
    ps->records = xgrow(ps->records, &ps->records_cap, n, sizeof(*ps->records));
    for (size_t i = 0; i < n; i++)
        convert(ps, &in[i], &ps->records[i]);
    *records = ps->records;
    return n;
}

static int src_switches(void *ctx, int tid, struct proc_switches *out)
{
    return acct_listener_task_switches(((struct proc_source *)ctx)->listener, tid, out);
}

static int src_gone_identity(void *ctx, const struct tracker_exit *r, struct proc_identity *id)
{
    struct proc_source *ps = ctx;
    if (!ps->listener)
        return -ENOENT;
    return acct_listener_identity(ps->listener, r->pid, r->earliest_starttime_ticks,
                                  r->starttime_ticks, id);
}

void proc_source_init(struct proc_source *ps, struct proc_reader *reader,
                      struct acct_listener *listener)
{
    memset(ps, 0, sizeof(*ps));
    ps->reader = reader;
    ps->listener = listener;
    ps->ticks_per_second = proc_reader_ticks_per_second(reader);
}

void proc_source_free(struct proc_source *ps)
{
    free(ps->records);
    ps->records = NULL;
    ps->records_cap = 0;
}

struct tracker_source proc_source(struct proc_source *ps)
{
    return (struct tracker_source){
        .ctx = ps,
        .list = src_list,
        .next = src_next,
        .identity = src_identity,
        .metrics = src_metrics,
        .tasks = src_tasks,
        .thread = src_thread,
        .schedstat = src_schedstat,
        /* The kernel is asked by pid: only for pids of our own namespace. */
        .switches = ps->listener && proc_reader_own_pid_ns(ps->reader) ? src_switches : NULL,
        .swap_moves = src_swap_moves,
        .now_ticks = src_now_ticks,
        .process_key = src_process_key,
        .exits = src_exits,
        .gone_identity = src_gone_identity,
    };
}
