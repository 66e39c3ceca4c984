/* Starts N idle processes for the benchmark.
 *
 *   spawn_idle [-t THREADS] [-g GROUPS] [-c CHURN_PER_SEC] [-l MAX_SECONDS]
 *              [-a ACTIVE_FRACTION] [-m ACTIVE_MS] N
 *   spawn_idle N [THREADS] [GROUPS]          (older positional form)
 *
 * Child i takes the comm "bench-<i % GROUPS>" (at most 15 bytes, distinct per group), starts
 * THREADS-1 extra threads, and pauses. With -a F, a fraction F of the children (spread evenly
 * over the indexes) are active instead: once a second, at an offset of their own within the
 * second, their main thread burns ACTIVE_MS (default 1) milliseconds of CPU, so every scan finds
 * them changed. The parent prints "ready" on stdout when all are up.
 * With -c RATE the parent then kills a random child and forks a replacement in the same slot
 * (same comm) RATE times a second, so N stays constant apart from the moment of replacement.
 * SIGTERM/SIGINT, the parent's death or the lifetime alarm (default 3600 s) end it: the parent
 * kills its children, reaps them, prints "churned COUNT SECONDS" on stdout and exits.
 * Only pids the parent forked itself are ever signalled. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 1000000
#define MAX_THREADS 10000
#define MAX_GROUPS 1000000 /* "bench-999999" is 12 bytes: fits the 15-byte comm */

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static pid_t parent_pid;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Once a second, burn burn_ms of CPU; the first one at an offset set by the index, so that the
 * active children do not all wake at once. */
static void active_loop(int index, double burn_ms)
{
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    next.tv_nsec += (long)((unsigned)index * 7919u % 1000u) * 1000000L;
    for (;;) {
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec += next.tv_nsec / 1000000000L;
            next.tv_nsec %= 1000000000L;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        double end = thread_cpu_s() + burn_ms / 1e3;
        volatile unsigned long spin = 0;
        while (thread_cpu_s() < end)
            for (int i = 0; i < 1000; i++)
                spin++;
        next.tv_sec++;
    }
}

static double active_fraction; /* -a */
static double active_ms = 1;   /* -m */

/* Child index is active when the running count floor(i * F) steps up at i: spread evenly. */
static bool is_active(int index)
{
    return (long)((double)(index + 1) * active_fraction) > (long)((double)index * active_fraction);
}

static void child(int index, int threads, int groups)
{
    char name[32]; /* groups <= MAX_GROUPS keeps it within the 15 bytes of a comm */
    snprintf(name, sizeof(name), "bench-%d", index % groups);
    prctl(PR_SET_NAME, name);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) /* the parent died before the prctl */
        _exit(0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    close(0); /* do not hold the parent's pipe open */
    close(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int t = 1; t < threads; t++) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&th, &attr, idle_thread, NULL) != 0)
            _exit(1);
        pthread_attr_destroy(&attr);
    }
    if (is_active(index))
        active_loop(index, active_ms);
    for (;;)
        pause();
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static double parse_double(const char *s, double lo, double hi, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "spawn_idle: bad %s '%s' (%g..%g)\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "spawn_idle: bad %s '%s' (%d..%d)\n", what, s, lo, hi);
        exit(2);
    }
    return (int)v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: spawn_idle [-t THREADS] [-g GROUPS] [-c CHURN_PER_SEC] [-l MAX_SECONDS]\n"
            "                  [-a ACTIVE_FRACTION] [-m ACTIVE_MS] N\n");
    exit(2);
}

/* Reap whatever died without being asked (a child that failed to start its threads) and mark
 * its slot empty, so the churn loop refills it. Returns how many were reaped. */
static int reap_unexpected(pid_t *pids, int n)
{
    int count = 0;
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        count++;
        for (int i = 0; i < n; i++)
            if (pids[i] == pid) {
                pids[i] = 0;
                break;
            }
    }
    return count;
}

int main(int argc, char **argv)
{
    int threads = 1, groups = 10, churn = 0, lifetime = 3600;
    int opt;
    while ((opt = getopt(argc, argv, "t:g:c:l:a:m:h")) != -1) {
        switch (opt) {
        case 't':
            threads = parse_int(optarg, 1, MAX_THREADS, "thread count");
            break;
        case 'g':
            groups = parse_int(optarg, 1, MAX_GROUPS, "group count");
            break;
        case 'c':
            churn = parse_int(optarg, 0, 100000, "churn rate");
            break;
        case 'l':
            lifetime = parse_int(optarg, 1, 7 * 24 * 3600, "lifetime");
            break;
        case 'a':
            active_fraction = parse_double(optarg, 0, 1, "active fraction");
            break;
        case 'm':
            active_ms = parse_double(optarg, 0.001, 900, "active milliseconds");
            break;
        default:
            usage();
        }
    }
    int rest = argc - optind;
    if (rest < 1 || rest > 3)
        usage();
    int n = parse_int(argv[optind], 1, MAX_PROCS, "process count");
    if (rest > 1)
        threads = parse_int(argv[optind + 1], 1, MAX_THREADS, "thread count");
    if (rest > 2)
        groups = parse_int(argv[optind + 2], 1, MAX_GROUPS, "group count");

    parent_pid = getpid();
    /* End with whoever started us, and in any case after the lifetime. */
    pid_t starter = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != starter)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: sleeps and waits return on a signal */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)lifetime);

    /* RLIMIT_NPROC counts threads of the user: take the soft limit up to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NPROC, &rl);
    }

    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    if (!pids)
        return 1;
    int failed = 0;
    int started = 0;
    for (; started < n && !stop; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "spawn_idle: fork #%d: %s\n", started, strerror(errno));
            failed = 1;
            break;
        }
        if (pid == 0)
            child(started, threads, groups);
        pids[started] = pid;
    }
    if (!failed && !stop) {
        printf("ready\n");
        fflush(stdout);
    }

    long churned = 0;
    double churn_start = now();
    if (!failed && churn > 0) {
        rng_state = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
        double interval = 1.0 / churn;
        double next = now() + interval;
        while (!stop) {
            double t = now();
            if (t < next) {
                double wait = next - t;
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
                continue;
            }
            /* Catch up after a stall, but never more than a second's worth at once. */
            if (t - next > 1.0)
                next = t - 1.0;
            next += interval;
            reap_unexpected(pids, n);
            int slot = (int)(rng() % (uint64_t)n);
            if (pids[slot] > 0) {
                kill(pids[slot], SIGKILL);
                while (waitpid(pids[slot], NULL, 0) < 0 && errno == EINTR && !stop)
                    ;
                pids[slot] = 0;
            }
            if (stop)
                break;
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "spawn_idle: churn fork: %s\n", strerror(errno));
                continue; /* the slot stays empty; retried when drawn again */
            }
            if (pid == 0)
                child(slot, threads, groups);
            pids[slot] = pid;
            churned++;
        }
    } else if (!failed) {
        while (!stop)
            pause();
    }
    double churn_seconds = now() - churn_start;

    /* Only our own children: the process group may hold whoever started us. */
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    printf("churned %ld %.3f\n", churned, churn_seconds);
    fflush(stdout);
    free(pids);
    return failed ? 1 : 0;
}
