/* Short-lived processes for the exit accounting benchmark.
 *
 *   workload [-d SECONDS] [-l SECONDS] [-p PREFIX] forks|pipelines|slow
 *
 *   forks      100 children a second, each burns 10 ms of CPU and exits
 *   pipelines  20 `sh -c` pipelines a second, 6 processes each (the shell and five commands)
 *   slow       one child every 2 s, each burns 2 s of CPU
 *
 * The parent is named "ptw-parent", the children of forks and slow "ptw-child". The pipelines
 * run ptw-sh, ptw-cat, ptw-sort, ptw-head and ptw-wc: symbolic links to the real programs in a
 * temporary directory, so that their comms name them apart from every other shell on the
 * machine. -p replaces "ptw" (at most 8 bytes, so that every name fits a 15-byte comm), for runs
 * that must not be confused with another one on the same machine.
 *
 * The parent starts children for -d SECONDS (default 60) and waits for the last one. It then
 * stays -l SECONDS (default 0), as a shell or a daemon outlives its children, so that whoever
 * charges exited children to their parent still finds it after the last exit. Then it prints on
 * stdout, as JSON, the CPU of all its descendants from getrusage(RUSAGE_CHILDREN) (every
 * descendant is reaped by its parent, so the kernel has added all of them up) and its own from
 * RUSAGE_SELF. SIGTERM/SIGINT or the parent's death end it early ("stopped": true, the figures
 * then incomplete); its direct children get SIGKILL when it exits. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* dash forks every command of a pipeline, the first one (a builtin) as a subshell: with the
 * shell itself, six processes. %1$s is the prefix. */
static const char PIPELINE[] =
    "echo x | %1$s-cat | %1$s-sort | %1$s-head -1 | %1$s-wc -c >/dev/null";
static const char *const LINKS[][2] = {
    {"sh", "/bin/sh"},         {"cat", "/bin/cat"},   {"sort", "/usr/bin/sort"},
    {"head", "/usr/bin/head"}, {"wc", "/usr/bin/wc"},
};
#define NLINKS (sizeof(LINKS) / sizeof(LINKS[0]))

struct mode {
    const char *name;
    double per_second; /* children started a second */
    double burn_s;     /* CPU each child burns (forks, slow) */
};

static const struct mode MODES[] = {
    {"forks", 100, 0.010},
    {"pipelines", 20, 0},
    {"slow", 0.5, 2.0},
};

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void burn(double seconds)
{
    double end = clock_s(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    volatile unsigned long spin = 0;
    while (clock_s(CLOCK_PROCESS_CPUTIME_ID) < end)
        for (int i = 0; i < 20000; i++)
            spin++;
}

static pid_t parent_pid;
static const char *prefix = "ptw"; /* -p */

static void child_setup(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) /* the parent died before the prctl */
        _exit(1);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    close(1); /* do not hold the parent's stdout open */
}

static pid_t start_child(const struct mode *m, const char *bindir)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    child_setup();
    if (m->burn_s > 0) {
        char name[16];
        snprintf(name, sizeof(name), "%s-child", prefix);
        prctl(PR_SET_NAME, name);
        burn(m->burn_s);
        _exit(0);
    }
    char sh[4096], script[256];
    snprintf(sh, sizeof(sh), "%s/%s-sh", bindir, prefix);
    snprintf(script, sizeof(script), PIPELINE, prefix);
    int null = open("/dev/null", O_WRONLY);
    if (null < 0 || dup2(null, 1) < 0)
        _exit(126);
    execl(sh, sh, "-c", script, (char *)NULL);
    _exit(127);
}

static int make_links(char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(dir))
        return -errno;
    chmod(dir, 0755);
    for (size_t i = 0; i < NLINKS; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s-%s", dir, prefix, LINKS[i][0]);
        if (symlink(LINKS[i][1], path) < 0)
            return -errno;
    }
    return 0;
}

static void remove_links(const char *dir)
{
    for (size_t i = 0; i < NLINKS; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s-%s", dir, prefix, LINKS[i][0]);
        unlink(path);
    }
    rmdir(dir);
}

static void usage(void)
{
    fprintf(stderr, "usage: workload [-d SECONDS] [-l SECONDS] [-p PREFIX] forks|pipelines|slow\n");
    exit(2);
}

static double parse_seconds(const char *s, int zero_ok)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !((v > 0 || (zero_ok && v == 0)) && v <= 86400)) {
        fprintf(stderr, "workload: bad number of seconds '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    double duration = 60, linger = 0;
    int opt;
    while ((opt = getopt(argc, argv, "d:l:p:h")) != -1) {
        switch (opt) {
        case 'd':
            duration = parse_seconds(optarg, 0);
            break;
        case 'l':
            linger = parse_seconds(optarg, 1);
            break;
        case 'p':
            prefix = optarg;
            if (strlen(prefix) < 1 || strlen(prefix) > 8 ||
                strspn(prefix, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(prefix)) {
                fprintf(stderr, "workload: bad prefix '%s' (1-8 of a-z 0-9 - _)\n", prefix);
                return 2;
            }
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 1)
        usage();
    const struct mode *m = NULL;
    for (size_t i = 0; i < sizeof(MODES) / sizeof(MODES[0]); i++)
        if (strcmp(argv[optind], MODES[i].name) == 0)
            m = &MODES[i];
    if (!m)
        usage();

    parent_pid = getpid();
    pid_t starter = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != starter)
        return 1;
    char name[16];
    snprintf(name, sizeof(name), "%s-parent", prefix);
    prctl(PR_SET_NAME, name);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: sleeps return on a signal */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char bindir[4096] = "";
    if (m->burn_s == 0) {
        int err = make_links(bindir, sizeof(bindir));
        if (err < 0) {
            fprintf(stderr, "workload: %s: %s\n", bindir, strerror(-err));
            remove_links(bindir);
            return 1;
        }
        /* The pipeline finds its commands by name. */
        const char *path = getenv("PATH");
        char newpath[8192];
        snprintf(newpath, sizeof(newpath), "%s:%s", bindir, path ? path : "/usr/bin:/bin");
        setenv("PATH", newpath, 1);
    }

    double start = clock_s(CLOCK_MONOTONIC);
    double interval = 1.0 / m->per_second;
    double next = start;
    long started = 0, failed = 0;
    int status;
    while (!stop) {
        double t = clock_s(CLOCK_MONOTONIC);
        if (t - start >= duration)
            break;
        if (t < next) {
            sleep_s(next - t < 0.05 ? next - t : 0.05);
            while (waitpid(-1, &status, WNOHANG) > 0)
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    failed++;
            continue;
        }
        /* Keep the rate: after a stall, catch up with at most one second's worth. */
        if (t - next > 1.0)
            next = t - 1.0;
        next += interval;
        if (start_child(m, bindir) < 0) {
            fprintf(stderr, "workload: fork: %s\n", strerror(errno));
            failed++;
            continue;
        }
        started++;
    }
    double spawn_end = clock_s(CLOCK_MONOTONIC);
    /* The last children finish their work; a stop request ends them. */
    for (;;) {
        pid_t pid = waitpid(-1, &status, 0);
        if (pid > 0) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed++;
            continue;
        }
        /* On a stop request, leave: the children get SIGKILL when we exit (a pipeline's
         * commands then finish on their own within milliseconds). */
        if (errno != EINTR || stop)
            break;
    }
    double end = clock_s(CLOCK_MONOTONIC);
    if (!stop)
        sleep_s(linger); /* a signal cuts it short */
    if (bindir[0])
        remove_links(bindir);

    struct rusage kids, self;
    getrusage(RUSAGE_CHILDREN, &kids);
    getrusage(RUSAGE_SELF, &self);
    printf("{\"mode\": \"%s\", \"prefix\": \"%s\", \"duration\": %.3f, \"linger\": %.3f, "
           "\"spawn_seconds\": %.3f, "
           "\"elapsed\": %.3f, "
           "\"started\": %ld, \"failed\": %ld, \"children_user\": %.6f, \"children_sys\": %.6f, "
           "\"children_cpu\": %.6f, \"self_cpu\": %.6f, \"stopped\": %s}\n",
           m->name, prefix, duration, linger, spawn_end - start, end - start, started, failed,
           tv_s(kids.ru_utime), tv_s(kids.ru_stime), tv_s(kids.ru_utime) + tv_s(kids.ru_stime),
           tv_s(self.ru_utime) + tv_s(self.ru_stime), stop ? "true" : "false");
    fflush(stdout);
    return stop ? 130 : 0;
}
