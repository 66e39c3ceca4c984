/* pidreuse: two processes with one pid and one start time, on demand.
 *
 * /proc's starttime counts clock ticks (10 ms), so a pid freed and taken again within one tick
 * gives a new process the (pid, starttime) of the old one. clone3's set_tid picks the pid of a
 * new process in a pid namespace (and in each one above it, with CAP_SYS_ADMIN over them), which
 * makes the reuse deterministic: this tool creates a pid namespace and then, in rounds driven
 * over stdin and stdout,
 *
 *   P1 <hostpid> <starttime>                       an idle process, comm pt-reuse-idle, is up;
 *                                                  the driver answers with a line when done
 *   P2 <hostpid> <starttime> same_tick=<0|1> us=N  P1 was killed and reaped, and P2 (comm
 *                                                  pt-reuse-heavy) took its pid in both
 *                                                  namespaces, N µs after P1 was born; with
 *                                                  same_tick=1 P2 has burnt BURN_MS of CPU and
 *                                                  sleeps, else it only sleeps
 *
 * after which a line "next" kills P2 and starts another round, and "quit" or the end of stdin
 * ends it all (the namespace dies with its init). Each round starts P1 right after CLOCK_BOOTTIME,
 * the clock of starttime, crosses a tick, so that the whole round fits in one tick as often as
 * the driver is quick. Runs as root.
 *
 * Usage: pidreuse [BURN_MS] */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 10000000ull /* USER_HZ is 100 on every Linux architecture */

static void die(const char *what)
{
    fprintf(stderr, "pidreuse: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns the child's pid in our namespace in the parent, 0 in the child. set_tid, when not
 * NULL, holds the pid wanted in the child's namespace, then in ours ([0] is the innermost, as
 * alloc_pid() reads it). */
static pid_t clone_with(const pid_t *set_tid, size_t nset_tid)
{
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.exit_signal = SIGCHLD;
    args.set_tid = (uint64_t)(uintptr_t)set_tid;
    args.set_tid_size = nset_tid;
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* stat (22) starttime of a process of our namespace. */
static unsigned long long starttime_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        die("open stat");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        die("parse stat");
    p += 2; /* at (3) state */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            die("parse stat");
        p++;
    }
    return strtoull(p, NULL, 10);
}

/* A child's life: take a name, say so with its pid in the namespace, maybe burn CPU, sleep. */
static void child(const char *comm, int ready_fd, int order_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, comm);
    pid_t ns_pid = getpid();
    if (write(ready_fd, &ns_pid, sizeof(ns_pid)) != sizeof(ns_pid))
        _exit(1);
    if (order_fd >= 0) {
        uint32_t burn_ms = 0;
        if (read(order_fd, &burn_ms, sizeof(burn_ms)) != sizeof(burn_ms))
            _exit(1);
        uint64_t until = now_ns(CLOCK_THREAD_CPUTIME_ID) + burn_ms * 1000000ull;
        while (now_ns(CLOCK_THREAD_CPUTIME_ID) < until)
            ;
        if (write(ready_fd, &ns_pid, sizeof(ns_pid)) != sizeof(ns_pid))
            _exit(1);
    }
    for (;;)
        pause();
}

static pid_t read_pid(int fd)
{
    pid_t pid;
    if (read(fd, &pid, sizeof(pid)) != sizeof(pid))
        die("read from child");
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Waits on stdin for the driver; false on "quit" or the end of input. */
static bool driver_says_go(void)
{
    char line[64];
    return fgets(line, sizeof(line), stdin) && strncmp(line, "quit", 4) != 0;
}

int main(int argc, char **argv)
{
    uint32_t burn_ms = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 300;
    if (unshare(CLONE_NEWPID) != 0)
        die("unshare(CLONE_NEWPID)");
    /* The namespace's init: pid 1 there, it keeps the namespace alive and dies with us. */
    pid_t init = fork();
    if (init < 0)
        die("fork init");
    if (init == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;)
            pause();
    }
    int ready[2], order[2];
    if (pipe(ready) != 0 || pipe(order) != 0)
        die("pipe");

    for (;;) {
        /* P1, born right after a tick begins. */
        uint64_t tick = now_ns(CLOCK_BOOTTIME) / TICK_NS;
        uint64_t born;
        while ((born = now_ns(CLOCK_BOOTTIME)) / TICK_NS == tick)
            ;
        pid_t p1 = clone_with(NULL, 0);
        if (p1 < 0)
            die("clone3 P1");
        if (p1 == 0)
            child("pt-reuse-idle", ready[1], -1);
        pid_t p1_ns = read_pid(ready[0]);
        unsigned long long start1 = starttime_of(p1);
        printf("P1 %d %llu\n", (int)p1, start1);
        fflush(stdout);
        bool go = driver_says_go();

        /* P2 takes P1's pid, as soon as it is free. */
        reap(p1);
        if (!go)
            break;
        pid_t set_tid[2] = {p1_ns, p1};
        pid_t p2 = clone_with(set_tid, 2);
        uint64_t p2_born = now_ns(CLOCK_BOOTTIME);
        if (p2 < 0)
            die("clone3 P2 with set_tid");
        if (p2 == 0)
            child("pt-reuse-heavy", ready[1], order[0]);
        read_pid(ready[0]);
        unsigned long long start2 = starttime_of(p2);
        bool same_tick = start1 == start2;
        uint32_t burn = same_tick ? burn_ms : 0;
        if (write(order[1], &burn, sizeof(burn)) != sizeof(burn))
            die("write to P2");
        read_pid(ready[0]); /* the burn is over */
        printf("P2 %d %llu same_tick=%d us=%llu\n", (int)p2, start2, same_tick,
               (unsigned long long)(p2_born - born) / 1000);
        fflush(stdout);
        go = driver_says_go();
        reap(p2);
        if (!go)
            break;
    }
    reap(init);
    return 0;
}
