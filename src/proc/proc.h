/* What the kernel tells about a process, as plain structs, and pure parsers that fill them from the
 * bytes of a /proc file. Nothing here opens a file: see proc_reader.h for the reader. */
#ifndef PROCTRACK_PROC_PROC_H
#define PROCTRACK_PROC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's TASK_COMM_LEN is 16; keep room for longer names from other kernels or fixtures. */
#define PROC_COMM_MAX 64

/* /proc/PID/stat, the fields proctrack uses. Numbers in the comments are proc(5) field numbers. */
struct proc_stat {
    int pid;                        /* (1) */
    char comm[PROC_COMM_MAX];       /* (2) without the parentheses */
    char state;                     /* (3) R S D Z T t X I ... */
    int ppid;                       /* (4) */
    uint64_t minflt;                /* (10) */
    uint64_t cminflt;               /* (11) of children that exited and were waited for */
    uint64_t majflt;                /* (12) */
    uint64_t cmajflt;               /* (13) */
    uint64_t utime_ticks;           /* (14) */
    uint64_t stime_ticks;           /* (15) */
    uint64_t cutime_ticks;          /* (16) of children that exited and were waited for */
    uint64_t cstime_ticks;          /* (17) */
    int64_t num_threads;            /* (20) */
    uint64_t starttime_ticks;       /* (22) clock ticks after boot */
    uint64_t vsize_bytes;           /* (23) */
    uint64_t rss_pages;             /* (24) */
    uint64_t start_code;            /* (26), 0 without ptrace access */
    uint64_t start_stack;           /* (28), 0 without ptrace access */
    uint64_t delayacct_blkio_ticks; /* (42), 0 when absent */
    uint64_t guest_time_ticks;      /* (43), 0 when absent */
    uint64_t arg_start;             /* (48), 0 when absent or without ptrace access */
    uint64_t arg_end;               /* (49) */
};

/* /proc/PID/status, the fields not available from stat. */
struct proc_status {
    bool has_uid;
    uint32_t euid; /* Uid: second value */
    bool has_ctxt;
    uint64_t voluntary_ctxt;    /* voluntary_ctxt_switches */
    uint64_t nonvoluntary_ctxt; /* nonvoluntary_ctxt_switches */
    uint64_t vm_swap_bytes;     /* VmSwap, kB * 1024; 0 for kernel threads */
};

/* The context switches of one task: its own, as its status file shows them. */
struct proc_switches {
    uint64_t voluntary;
    uint64_t involuntary;
};

/* /proc/PID/io */
struct proc_io {
    uint64_t rchar;
    uint64_t wchar;
    uint64_t syscr;
    uint64_t syscw;
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t cancelled_write_bytes;
};

#define PROC_LIMIT_UNLIMITED UINT64_MAX

/* Each returns 0, or -EINVAL when the buffer is not a file of that kind. `buf` need not be
 * NUL-terminated; `len` bytes are read. No allocation, no locale. */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *out);
int proc_parse_status(const char *buf, size_t len, struct proc_status *out);
int proc_parse_io(const char *buf, size_t len, struct proc_io *out);
/* Soft "Max open files" from /proc/PID/limits; PROC_LIMIT_UNLIMITED for "unlimited". */
int proc_parse_limits_nofile(const char *buf, size_t len, uint64_t *soft);
/* /proc/PID/schedstat (or task/TID/schedstat): time on CPU, time waiting to run, times run. A
 * task whose first and third values did not change has not run. */
struct proc_schedstat {
    uint64_t run_ns;
    uint64_t wait_ns;
    uint64_t slices;
};
int proc_parse_schedstat(const char *buf, size_t len, struct proc_schedstat *out);

/* Pss and SwapPss of /proc/PID/smaps_rollup, in bytes. */
int proc_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss_bytes,
                            uint64_t *swap_pss_bytes);
/* `btime` from <procfs>/stat: the boot time in seconds since the epoch. */
int proc_parse_btime(const char *buf, size_t len, uint64_t *btime);
/* The sum of the swap-in and swap-out counters of <procfs>/vmstat (pswpin, pswpout and the
 * zero-page and zswap ones the kernel has): the same sum at two times means that no page of any
 * process went to swap or came back in between. */
int proc_parse_vmstat_swap(const char *buf, size_t len, uint64_t *moves);
/* `MemTotal` from <procfs>/meminfo, in bytes. */
int proc_parse_meminfo_total(const char *buf, size_t len, uint64_t *bytes);

/* Splits /proc/PID/cmdline in place: NUL-separated arguments, written as pointers into `buf`
 * (which must have one writable byte past `len`, set to NUL). Returns the argument count, of which
 * at most `max` are stored. A trailing NUL does not start a new argument. */
size_t proc_split_cmdline(char *buf, size_t len, const char **argv, size_t max);

/* Walks /proc/PID/cgroup and calls `fn` with the path column of each line (hierarchy id and
 * controllers dropped), in file order. Returns the number of lines. */
size_t proc_parse_cgroup(const char *buf, size_t len,
                         void (*fn)(void *arg, const char *path, size_t path_len), void *arg);

/* Parses an unsigned decimal number at *p (up to `end`), advancing *p. Returns false when there is
 * no digit. Saturates at UINT64_MAX instead of wrapping. */
bool proc_parse_u64(const char **p, const char *end, uint64_t *out);

/* Which optional parts of a process's identity a consumer needs read at first sight. */
enum proc_need {
    PROC_NEED_CMDLINE = 1u << 0,
    PROC_NEED_EXE = 1u << 1, /* readlink of /proc/PID/exe */
    PROC_NEED_CGROUP = 1u << 2,
    PROC_NEED_UID = 1u << 3, /* effective uid, from status */
};

/* Who a process is: read once, when a (pid, starttime) is first seen, and handed to the rules.
 * All pointers are borrowed from the reader and valid until its next identity read. */
struct proc_identity {
    int pid;
    int ppid;
    uint64_t starttime_ticks;
    uint64_t start_time_ns; /* since the epoch: btime + starttime / ticks per second */
    const char *comm;
    size_t argc; /* 0 for kernel threads and zombies */
    const char *const *argv;
    const char *cmdline; /* argv joined by single spaces; "" when argc is 0 */
    size_t cmdline_len;
    const char *exe; /* resolved /proc/PID/exe, "" when unknown */
    bool has_euid;
    uint32_t euid;
    size_t ncgroups;
    const char *const *cgroups; /* path column of each /proc/PID/cgroup line */
};

/* The per-process files proctrack reads, for error accounting. */
enum proc_file {
    PROC_FILE_STAT,
    PROC_FILE_STATUS,
    PROC_FILE_IO,
    PROC_FILE_FD,
    PROC_FILE_LIMITS,
    PROC_FILE_CMDLINE,
    PROC_FILE_EXE,
    PROC_FILE_CGROUP,
    PROC_FILE_SMAPS, /* smaps_rollup */
    PROC_FILE_WCHAN,
    PROC_FILE_TASK, /* the task/ directory and the files of its threads */
    PROC_FILE_COUNT
};

/* The file's name under /proc/PID, e.g. "io". */
const char *proc_file_name(enum proc_file file);

/* What a tracked process reports beyond stat, read on every scan. A part that could not be read
 * for a reason other than the process being gone has its has_ flag false and its bit set in
 * `failed` (1u << enum proc_file). */
struct proc_metrics {
    bool has_status;
    struct proc_status status;
    bool has_io;
    struct proc_io io;
    bool has_open_fds;
    uint64_t open_fds;
    bool has_fd_limit;
    uint64_t fd_limit; /* soft RLIMIT_NOFILE, PROC_LIMIT_UNLIMITED for none */
    bool has_smaps;
    uint64_t pss_bytes;
    uint64_t swap_pss_bytes;
    char wchan[64]; /* kernel function the task sleeps in; "" when running or unknown */
    unsigned failed;
};

/* Parts of struct proc_metrics (and of struct proc_thread: io and wchan) to read. */
enum proc_want {
    PROC_WANT_SMAPS = 1u << 0,
    PROC_WANT_WCHAN = 1u << 1,
    PROC_WANT_STATUS = 1u << 2,
    PROC_WANT_IO = 1u << 3,
    PROC_WANT_FDS = 1u << 4,
    PROC_WANT_LIMIT = 1u << 5,
    PROC_WANT_FULL = PROC_WANT_STATUS | PROC_WANT_IO | PROC_WANT_FDS | PROC_WANT_LIMIT,
};

/* One thread of a process, from /proc/PID/task/TID. */
struct proc_thread {
    struct proc_stat stat; /* comm is the thread name */
    bool has_io;
    struct proc_io io;
    bool has_status;
    struct proc_status status;
    char wchan[64];
};

#endif /* PROCTRACK_PROC_PROC_H */
