/* Pure parsers for /proc files. Each walks the buffer once with a pointer: no sscanf, no locale,
 * no allocation, so they are cheap enough for every process on every scan and safe to fuzz. */
#include <errno.h>
#include <string.h>

#include "proc/proc.h"

bool proc_parse_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    bool any = false;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            v = UINT64_MAX;
        else
            v = v * 10 + d;
        any = true;
        s++;
    }
    *p = s;
    *out = v;
    return any;
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *skip_field(const char *p, const char *end)
{
    while (p < end && *p != ' ' && *p != '\n')
        p++;
    return p;
}

/* Finds the last occurrence of `c` in [buf, buf+len). */
static const char *find_last(const char *buf, size_t len, char c)
{
    for (size_t i = len; i > 0; i--)
        if (buf[i - 1] == c)
            return buf + i - 1;
    return NULL;
}

int proc_parse_stat(const char *buf, size_t len, struct proc_stat *out)
{
    const char *end = buf + len;
    const char *p = buf;
    uint64_t v;

    memset(out, 0, sizeof(*out));
    if (!proc_parse_u64(&p, end, &v) || v > INT32_MAX) /* (1) pid */
        return -EINVAL;
    out->pid = (int)v;

    /* (2) comm is in parentheses and may itself contain spaces and parentheses ("a) (b"): it
     * ends at the last ')' of the line. */
    const char *open = memchr(p, '(', (size_t)(end - p));
    const char *close = find_last(buf, len, ')');
    if (!open || !close || close < open)
        return -EINVAL;
    size_t comm_len = (size_t)(close - open - 1);
    if (comm_len >= sizeof(out->comm))
        comm_len = sizeof(out->comm) - 1;
    memcpy(out->comm, open + 1, comm_len);
    out->comm[comm_len] = '\0';

    p = skip_spaces(close + 1, end);
    if (p >= end)
        return -EINVAL;
    out->state = *p; /* (3) state */
    p = skip_field(p, end);

    for (int field = 4; field <= 49; field++) {
        p = skip_spaces(p, end);
        if (p >= end || *p == '\n') {
            /* Fields past (24) appeared over the kernel's history; older kernels stop early. */
            if (field > 24)
                break;
            return -EINVAL;
        }
        uint64_t *dst = NULL;
        switch (field) {
        case 4: /* (4) ppid */
            if (!proc_parse_u64(&p, end, &v))
                return -EINVAL;
            out->ppid = v > INT32_MAX ? 0 : (int)v;
            continue;
        case 10:
            dst = &out->minflt;
            break; /* (10) minflt */
        case 11:
            dst = &out->cminflt;
            break; /* (11) cminflt */
        case 12:
            dst = &out->majflt;
            break; /* (12) majflt */
        case 13:
            dst = &out->cmajflt;
            break; /* (13) cmajflt */
        case 14:
            dst = &out->utime_ticks;
            break; /* (14) utime */
        case 15:
            dst = &out->stime_ticks;
            break; /* (15) stime */
        case 16:
            dst = &out->cutime_ticks;
            break; /* (16) cutime */
        case 17:
            dst = &out->cstime_ticks;
            break; /* (17) cstime */
        case 20:   /* (20) num_threads */
            if (!proc_parse_u64(&p, end, &v))
                return -EINVAL;
            out->num_threads = v > INT64_MAX ? INT64_MAX : (int64_t)v;
            continue;
        case 22:
            dst = &out->starttime_ticks;
            break; /* (22) starttime */
        case 23:
            dst = &out->vsize_bytes;
            break; /* (23) vsize */
        case 24:
            dst = &out->rss_pages;
            break; /* (24) rss */
        case 26:
            dst = &out->start_code;
            break; /* (26) startcode */
        case 28:
            dst = &out->start_stack;
            break; /* (28) startstack */
        case 42:
            dst = &out->delayacct_blkio_ticks;
            break; /* (42) delayacct_blkio_ticks */
        case 43:
            dst = &out->guest_time_ticks;
            break; /* (43) guest_time */
        case 48:
            dst = &out->arg_start;
            break; /* (48) arg_start */
        case 49:
            dst = &out->arg_end;
            break; /* (49) arg_end */
        default:
            break;
        }
        if (dst) {
            if (!proc_parse_u64(&p, end, dst))
                return -EINVAL;
        } else {
            p = skip_field(p, end);
        }
    }
    return 0;
}

/* Returns a pointer past "Key:" when the line at p starts with it, else NULL. */
static const char *match_key(const char *p, const char *end, const char *key, size_t key_len)
{
    if ((size_t)(end - p) < key_len || memcmp(p, key, key_len) != 0)
        return NULL;
    return p + key_len;
}

static const char *next_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

#define KEY(s) s, sizeof(s) - 1

int proc_parse_status(const char *buf, size_t len, struct proc_status *out)
{
    const char *end = buf + len;
    bool named = false;
    bool have_vol = false, have_nonvol = false;

    memset(out, 0, sizeof(*out));
    /* Lines are dispatched on their first byte; the keys wanted are few and appear in this order
     * in every kernel since 2.6.23: Name, Uid, VmSwap, voluntary_, nonvoluntary_ctxt_switches. */
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        const char *v;
        uint64_t n;
        switch (*p) {
        case 'N':
            if (match_key(p, end, KEY("Name:")))
                named = true;
            break;
        case 'U':
            if ((v = match_key(p, end, KEY("Uid:")))) {
                v = skip_spaces(v, end);
                if (!proc_parse_u64(&v, end, &n)) /* real */
                    return -EINVAL;
                v = skip_spaces(v, end);
                if (!proc_parse_u64(&v, end, &n)) /* effective */
                    return -EINVAL;
                out->euid = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
                out->has_uid = true;
            }
            break;
        case 'V':
            if ((v = match_key(p, end, KEY("VmSwap:")))) {
                v = skip_spaces(v, end);
                if (proc_parse_u64(&v, end, &n)) /* in kB */
                    out->vm_swap_bytes = n > UINT64_MAX / 1024 ? UINT64_MAX : n * 1024;
            }
            break;
        case 'v':
            if ((v = match_key(p, end, KEY("voluntary_ctxt_switches:")))) {
                v = skip_spaces(v, end);
                have_vol = proc_parse_u64(&v, end, &out->voluntary_ctxt);
            }
            break;
        case 'n':
            if ((v = match_key(p, end, KEY("nonvoluntary_ctxt_switches:")))) {
                v = skip_spaces(v, end);
                have_nonvol = proc_parse_u64(&v, end, &out->nonvoluntary_ctxt);
            }
            break;
        default:
            break;
        }
    }
    if (!named)
        return -EINVAL;
    out->has_ctxt = have_vol && have_nonvol;
    return 0;
}

int proc_parse_io(const char *buf, size_t len, struct proc_io *out)
{
    static const struct {
        const char *key;
        size_t key_len;
        size_t offset;
    } keys[] = {
        {KEY("rchar:"), offsetof(struct proc_io, rchar)},
        {KEY("wchar:"), offsetof(struct proc_io, wchar)},
        {KEY("syscr:"), offsetof(struct proc_io, syscr)},
        {KEY("syscw:"), offsetof(struct proc_io, syscw)},
        {KEY("read_bytes:"), offsetof(struct proc_io, read_bytes)},
        {KEY("write_bytes:"), offsetof(struct proc_io, write_bytes)},
        {KEY("cancelled_write_bytes:"), offsetof(struct proc_io, cancelled_write_bytes)},
    };
    const char *end = buf + len;
    unsigned found = 0;

    memset(out, 0, sizeof(*out));
    /* The kernel writes the seven lines in this order; try the expected key first. */
    size_t k = 0;
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        for (size_t tries = 0; tries < sizeof(keys) / sizeof(keys[0]); tries++) {
            size_t i = (k + tries) % (sizeof(keys) / sizeof(keys[0]));
            const char *v = match_key(p, end, keys[i].key, keys[i].key_len);
            if (!v)
                continue;
            v = skip_spaces(v, end);
            if (!proc_parse_u64(&v, end, (uint64_t *)((char *)out + keys[i].offset)))
                return -EINVAL;
            found |= 1u << i;
            k = i + 1;
            break;
        }
    }
    /* read_bytes and write_bytes are what the metrics need. */
    return (found & (1u << 4)) && (found & (1u << 5)) ? 0 : -EINVAL;
}

int proc_parse_limits_nofile(const char *buf, size_t len, uint64_t *soft)
{
    const char *end = buf + len;
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        const char *v = match_key(p, end, KEY("Max open files"));
        if (!v)
            continue;
        v = skip_spaces(v, end);
        if ((size_t)(end - v) >= 9 && memcmp(v, "unlimited", 9) == 0) {
            *soft = PROC_LIMIT_UNLIMITED;
            return 0;
        }
        return proc_parse_u64(&v, end, soft) ? 0 : -EINVAL;
    }
    return -EINVAL;
}

int proc_parse_schedstat(const char *buf, size_t len, struct proc_schedstat *out)
{
    const char *end = buf + len;
    const char *p = buf;
    if (!proc_parse_u64(&p, end, &out->run_ns))
        return -EINVAL;
    p = skip_spaces(p, end);
    if (!proc_parse_u64(&p, end, &out->wait_ns))
        return -EINVAL;
    p = skip_spaces(p, end);
    return proc_parse_u64(&p, end, &out->slices) ? 0 : -EINVAL;
}

int proc_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss_bytes,
                            uint64_t *swap_pss_bytes)
{
    const char *end = buf + len;
    bool have_pss = false;
    *pss_bytes = *swap_pss_bytes = 0;
    /* Pss_Anon, Pss_File... follow Pss: only the exact keys count. */
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        const char *v;
        uint64_t kb;
        if ((v = match_key(p, end, KEY("Pss:")))) {
            v = skip_spaces(v, end);
            if (!proc_parse_u64(&v, end, &kb))
                return -EINVAL;
            *pss_bytes = kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
            have_pss = true;
        } else if ((v = match_key(p, end, KEY("SwapPss:")))) {
            v = skip_spaces(v, end);
            if (!proc_parse_u64(&v, end, &kb))
                return -EINVAL;
            *swap_pss_bytes = kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
        }
    }
    return have_pss ? 0 : -EINVAL;
}

int proc_parse_btime(const char *buf, size_t len, uint64_t *btime)
{
    const char *end = buf + len;
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        const char *v = match_key(p, end, KEY("btime "));
        if (v)
            return proc_parse_u64(&v, end, btime) && *btime > 0 ? 0 : -EINVAL;
    }
    return -EINVAL;
}

int proc_parse_vmstat_swap(const char *buf, size_t len, uint64_t *moves)
{
    /* Every way a page goes to swap or comes back from it: to and from a swap device, zero-filled
     * pages that skip the I/O (6.12+), and zswap, whose stores do not count in pswpout. */
    static const struct {
        const char *key;
        size_t key_len;
    } keys[] = {{KEY("pswpin ")},      {KEY("pswpout ")}, {KEY("swpin_zero ")},
                {KEY("swpout_zero ")}, {KEY("zswpin ")},  {KEY("zswpout ")}};
    const char *end = buf + len;
    bool found = false;
    *moves = 0;
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            const char *v = match_key(p, end, keys[i].key, keys[i].key_len);
            uint64_t n;
            if (!v)
                continue;
            if (!proc_parse_u64(&v, end, &n))
                return -EINVAL;
            *moves += n; /* wraps together with the counters; only equality is asked */
            found = true;
            break;
        }
    }
    return found ? 0 : -EINVAL;
}

int proc_parse_meminfo_total(const char *buf, size_t len, uint64_t *bytes)
{
    const char *end = buf + len;
    for (const char *p = buf; p < end; p = next_line(p, end)) {
        const char *v = match_key(p, end, KEY("MemTotal:"));
        if (!v)
            continue;
        v = skip_spaces(v, end);
        uint64_t kb;
        if (!proc_parse_u64(&v, end, &kb)) /* in kB */
            return -EINVAL;
        *bytes = kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
        return 0;
    }
    return -EINVAL;
}

size_t proc_split_cmdline(char *buf, size_t len, const char **argv, size_t max)
{
    /* Trailing NULs end the list (as Go's procfs trims them): a process that rewrote its
     * arguments in place leaves the rest of the area zeroed, which is not empty arguments. */
    buf[len] = '\0'; /* the spare byte, as the contract says, whatever the trimming below */
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    if (len == 0)
        return 0;
    size_t argc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (buf[i] != '\0')
            continue;
        if (argc < max)
            argv[argc] = buf + start;
        argc++;
        start = i + 1;
    }
    return argc;
}

size_t proc_parse_cgroup(const char *buf, size_t len,
                         void (*fn)(void *arg, const char *path, size_t path_len), void *arg)
{
    const char *end = buf + len;
    size_t n = 0;
    for (const char *p = buf; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        /* hierarchy-ID:controller-list:path; the path itself may contain ':'. */
        const char *c1 = memchr(p, ':', (size_t)(eol - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (c2) {
            fn(arg, c2 + 1, (size_t)(eol - c2 - 1));
            n++;
        }
        p = eol + 1;
    }
    return n;
}
