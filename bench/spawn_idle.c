/* Starts N idle processes for the benchmark: spawn_idle N [THREADS] [GROUPS]
 * Each child takes the comm "bench-<i % GROUPS>", starts THREADS-1 extra threads, and pauses.
 * Prints "ready" when all are up, then waits; SIGTERM (or the parent's death) ends them all. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void child(int index, int threads, int groups)
{
    char name[24];
    snprintf(name, sizeof(name), "bench-%d", index % groups);
    prctl(PR_SET_NAME, name);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int t = 1; t < threads; t++) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&th, &attr, idle_thread, NULL) != 0)
            _exit(1);
    }
    for (;;)
        pause();
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    int groups = argc > 3 ? atoi(argv[3]) : 10;
    if (n <= 0 || threads <= 0 || groups <= 0)
        return 2;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    if (!pids)
        return 1;
    int started = 0;
    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            stop = 1;
            break;
        }
        if (pid == 0)
            child(started, threads, groups);
        pids[started] = pid;
    }
    if (!stop) {
        printf("ready\n");
        fflush(stdout);
    }
    while (!stop)
        pause();
    /* Only our own children: the process group may hold whoever started us. */
    for (int i = 0; i < started; i++)
        kill(pids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    free(pids);
    return started == n ? 0 : 1;
}
