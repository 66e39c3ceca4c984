#include "exporter/proc_source.h"

#include <time.h>

static int src_list(void *ctx)
{
    return proc_reader_list(ctx);
}

static int src_next(void *ctx, struct proc_stat *stat)
{
    return proc_reader_next(ctx, stat);
}

static int src_identity(void *ctx, const struct proc_stat *stat, unsigned needs,
                        struct proc_identity *id, unsigned *failed)
{
    return proc_reader_identity(ctx, stat, needs, id, failed);
}

static int src_metrics(void *ctx, int pid, unsigned wants, struct proc_metrics *m)
{
    return proc_reader_metrics(ctx, pid, wants, m);
}

static int src_tasks(void *ctx, int pid, const int **tids, size_t *ntids)
{
    return proc_reader_tasks(ctx, pid, tids, ntids);
}

static int src_thread(void *ctx, int pid, int tid, unsigned wants, struct proc_thread *thread,
                      unsigned *failed)
{
    return proc_reader_thread(ctx, pid, tid, wants, thread, failed);
}

static int src_schedstat(void *ctx, int pid, int tid, struct proc_schedstat *out)
{
    return proc_reader_schedstat(ctx, pid, tid, out);
}

static int src_swap_moves(void *ctx, uint64_t *moves)
{
    return proc_reader_swap_moves(ctx, moves);
}

static uint64_t src_now_ticks(void *ctx)
{
    /* stat's starttime counts from boot on CLOCK_BOOTTIME, suspended time included. */
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    uint64_t hz = proc_reader_ticks_per_second(ctx);
    return (uint64_t)ts.tv_sec * hz + (uint64_t)ts.tv_nsec / (1000000000ull / hz);
}

struct tracker_source proc_source(struct proc_reader *reader)
{
    return (struct tracker_source){
        .ctx = reader,
        .list = src_list,
        .next = src_next,
        .identity = src_identity,
        .metrics = src_metrics,
        .tasks = src_tasks,
        .thread = src_thread,
        .schedstat = src_schedstat,
        .swap_moves = src_swap_moves,
        .now_ticks = src_now_ticks,
    };
}
