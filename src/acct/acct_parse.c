/* Pure parsers of the two kinds of netlink messages the listener receives. Every length comes
 * from the message and is checked against the buffer before it is used, so a short or lying
 * message is rejected, never read past. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <stddef.h>
#include <string.h>

#include "acct/acct.h"

/* One netlink attribute. */
struct attr {
    uint16_t type;
    const unsigned char *data;
    size_t len;
};

/* The attributes of [p, p + len), at most `max`; stops at the first malformed one. */
static size_t attrs(const unsigned char *p, size_t len, struct attr *out, size_t max)
{
    size_t n = 0;
    while (len >= NLA_HDRLEN && n < max) {
        struct nlattr nla;
        memcpy(&nla, p, sizeof(nla));
        if (nla.nla_len < NLA_HDRLEN || nla.nla_len > len)
            break;
        out[n].type = nla.nla_type & NLA_TYPE_MASK;
        out[n].data = p + NLA_HDRLEN;
        out[n].len = nla.nla_len - NLA_HDRLEN;
        n++;
        size_t step = NLA_ALIGN(nla.nla_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return n;
}

/* Whether the first `len` bytes of a struct taskstats reach past `field`. */
#define HAS_FIELD(len, field)                                                                      \
    ((len) >= offsetof(struct taskstats, field) + sizeof(((struct taskstats *)0)->field))

static void fill_exit(const unsigned char *data, size_t len, struct acct_exit *out)
{
    struct taskstats ts;
    memset(&ts, 0, sizeof(ts));
    memcpy(&ts, data, len < sizeof(ts) ? len : sizeof(ts));
    out->tid = (int)ts.ac_pid;
    out->tgid = HAS_FIELD(len, ac_tgid) && ts.ac_tgid ? (int)ts.ac_tgid : (int)ts.ac_pid;
    out->ppid = (int)ts.ac_ppid;
    out->uid = ts.ac_uid;
    /* ac_etime is the task's own; ac_tgetime (version 12) its process's. */
    out->elapsed_us = HAS_FIELD(len, ac_tgetime) && ts.ac_tgetime ? ts.ac_tgetime : ts.ac_etime;
    memcpy(out->comm, ts.ac_comm, sizeof(out->comm) - 1);
    out->comm[sizeof(out->comm) - 1] = '\0';
    /* ac_utime and ac_stime are the tick samples (whole ticks of CONFIG_HZ): unbiased over many
     * tasks, but a task that ran less than a tick has 0 or a whole tick. The exact time on CPU
     * is cpu_run_virtual_total (sum_exec_runtime, ns), split as the kernel does for /proc and
     * getrusage (cputime_adjust): in the proportion of the samples, all user time when there is
     * no system sample. It lags: the running slice is added to it only at the next tick or
     * switch, which for a task that lived less than a tick may be after the record. */
    out->utime_us = out->utime_sampled_us = ts.ac_utime;
    out->stime_us = out->stime_sampled_us = ts.ac_stime;
    uint64_t exact_us = ts.cpu_run_virtual_total / 1000;
    if (exact_us) {
        double u = (double)ts.ac_utime, s = (double)ts.ac_stime;
        uint64_t user = exact_us;
        if (ts.ac_stime != 0) {
            double part = (double)exact_us * (u / (u + s));
            user = part < (double)exact_us ? (uint64_t)part : exact_us;
        }
        out->utime_us = user;
        out->stime_us = exact_us - user;
    }
    out->minflt = ts.ac_minflt;
    out->majflt = ts.ac_majflt;
    out->peak_rss_kb = ts.hiwater_rss;
    out->blkio_delay_ns = ts.blkio_delay_total;
    out->has_io = HAS_FIELD(len, nivcsw);
    out->rchar = ts.read_char;
    out->wchar = ts.write_char;
    out->syscr = ts.read_syscalls;
    out->syscw = ts.write_syscalls;
    out->read_bytes = ts.read_bytes;
    out->write_bytes = ts.write_bytes;
    out->nvcsw = ts.nvcsw;
    out->nivcsw = ts.nivcsw;
}

/* The stats of an aggregate attribute (AGGR_PID or AGGR_TGID), or NULL. */
static const struct attr *aggregate_stats(const struct attr *aggr, struct attr *inner, size_t max)
{
    size_t n = attrs(aggr->data, aggr->len, inner, max);
    for (size_t i = 0; i < n; i++)
        if (inner[i].type == TASKSTATS_TYPE_STATS)
            return &inner[i];
    return NULL;
}

/* The netlink header of a message of `len` bytes: 1 when it is of type `type`, 0 when of
 * another, -EINVAL when it does not fit. */
static int nl_header(const unsigned char *p, size_t len, uint16_t type, struct nlmsghdr *nlh)
{
    if (len < NLMSG_HDRLEN)
        return -EINVAL;
    memcpy(nlh, p, sizeof(*nlh));
    if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
        return -EINVAL;
    return nlh->nlmsg_type == type;
}

/* The top-level attributes of a TASKSTATS_CMD_NEW message of the family, at most `max`: their
 * count, 0 for a message that is not one, or -EINVAL when it does not fit. */
static int taskstats_attrs(const unsigned char *p, size_t len, uint16_t family, struct attr *top,
                           size_t max)
{
    struct nlmsghdr nlh;
    int rc = nl_header(p, len, family, &nlh);
    if (rc <= 0)
        return rc;
    if (nlh.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
        return -EINVAL;
    struct genlmsghdr genl;
    memcpy(&genl, p + NLMSG_HDRLEN, sizeof(genl));
    if (genl.cmd != TASKSTATS_CMD_NEW)
        return 0;
    return (int)attrs(p + NLMSG_HDRLEN + GENL_HDRLEN, nlh.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN,
                      top, max);
}

int acct_parse_taskstats(const void *msg, size_t len, uint16_t family, struct acct_exit *out)
{
    const unsigned char *p = msg;
    struct attr top[8], inner[8];
    int n = taskstats_attrs(p, len, family, top, 8);
    if (n <= 0)
        return n;
    const struct attr *task = NULL;
    bool ended = false;
    for (int i = 0; i < n; i++) {
        if (top[i].type == TASKSTATS_TYPE_AGGR_PID && !task)
            task = aggregate_stats(&top[i], inner, 8);
        else if (top[i].type == TASKSTATS_TYPE_AGGR_TGID)
            ended = true;
    }
    /* The smallest record any kernel sends reaches past the fields of version 1. */
    if (!task || !HAS_FIELD(task->len, ac_majflt))
        return task ? -EINVAL : 0;
    memset(out, 0, offsetof(struct acct_exit, received_ns));
    fill_exit(task->data, task->len, out);
    out->process_ended = ended;
    return 1;
}

int acct_parse_task_switches(const void *msg, size_t len, uint16_t family, int tid,
                             struct proc_switches *out)
{
    const unsigned char *p = msg;
    struct nlmsghdr nlh;
    int rc = nl_header(p, len, NLMSG_ERROR, &nlh);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        struct nlmsgerr e;
        if (nlh.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
            return -EINVAL;
        memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
        return e.error < 0 ? e.error : 0;
    }
    struct attr top[4], inner[4];
    int n = taskstats_attrs(p, len, family, top, 4);
    if (n <= 0)
        return n;
    for (int i = 0; i < n; i++) {
        if (top[i].type != TASKSTATS_TYPE_AGGR_PID)
            continue;
        size_t m = attrs(top[i].data, top[i].len, inner, 4);
        const struct attr *stats = NULL;
        bool same_task = false;
        for (size_t j = 0; j < m; j++) {
            uint32_t id;
            if (inner[j].type == TASKSTATS_TYPE_STATS)
                stats = &inner[j];
            else if (inner[j].type == TASKSTATS_TYPE_PID && inner[j].len >= sizeof(id)) {
                memcpy(&id, inner[j].data, sizeof(id));
                same_task = id == (uint32_t)tid;
            }
        }
        if (!same_task)
            return 0;
        if (!stats || !HAS_FIELD(stats->len, nivcsw))
            return -EINVAL;
        struct taskstats ts;
        memset(&ts, 0, sizeof(ts));
        memcpy(&ts, stats->data, sizeof(ts) < stats->len ? sizeof(ts) : stats->len);
        out->voluntary = ts.nvcsw;
        out->involuntary = ts.nivcsw;
        return 1;
    }
    return 0;
}

int acct_parse_proc_event(const void *msg, size_t len, struct acct_event *out)
{
    const unsigned char *p = msg;
    struct nlmsghdr nlh;
    int rc = nl_header(p, len, NLMSG_DONE, &nlh);
    if (rc <= 0)
        return rc;
    size_t body = nlh.nlmsg_len - NLMSG_HDRLEN;
    struct cn_msg cn;
    if (body < sizeof(cn))
        return -EINVAL;
    memcpy(&cn, p + NLMSG_HDRLEN, sizeof(cn));
    if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
        return 0;
    if (cn.len > body - sizeof(cn))
        return -EINVAL;
    /* The event's header and the fields of the smallest event we read. */
    size_t head = offsetof(struct proc_event, event_data);
    if (cn.len < head + sizeof(struct exec_proc_event))
        return -EINVAL;
    struct proc_event ev;
    memset(&ev, 0, sizeof(ev));
    memcpy(&ev, p + NLMSG_HDRLEN + sizeof(cn), cn.len < sizeof(ev) ? cn.len : sizeof(ev));
    out->kind = ACCT_EVENT_OTHER;
    out->pid = out->tgid = 0;
    switch (ev.what) {
    case PROC_EVENT_FORK:
        if (cn.len < head + sizeof(struct fork_proc_event))
            return -EINVAL;
        out->kind = ACCT_EVENT_FORK;
        out->pid = ev.event_data.fork.child_pid;
        out->tgid = ev.event_data.fork.child_tgid;
        break;
    case PROC_EVENT_EXEC:
        out->kind = ACCT_EVENT_EXEC;
        out->pid = ev.event_data.exec.process_pid;
        out->tgid = ev.event_data.exec.process_tgid;
        break;
    case PROC_EVENT_COMM:
        out->kind = ACCT_EVENT_COMM;
        out->pid = ev.event_data.comm.process_pid;
        out->tgid = ev.event_data.comm.process_tgid;
        break;
    default:
        break;
    }
    return 1;
}
