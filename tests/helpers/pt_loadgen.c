/* A load generator for the thread tests: pt_loadgen COMM [FILE]
 *
 * Sets its comm to COMM and starts threads that rename themselves (prctl PR_SET_NAME) and do
 * distinct work: "pt-userbusy" spins in user space, "pt-sysbusy" writes and fsyncs FILE (or a file
 * in /tmp), "pt-waiting" and two "pt-idle" sleep. It also forks one child, "pt-child", which
 * sleeps. Prints "ready" once every thread has its name. Exits on SIGTERM, and after 10 minutes by
 * itself. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *io_path = "/tmp/pt_loadgen.dat";
static pthread_barrier_t named;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *userbusy(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "pt-userbusy");
    pthread_barrier_wait(&named);
    volatile unsigned long x = 0;
    for (;;)
        x++;
    return NULL;
}

static void *sysbusy(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "pt-sysbusy");
    pthread_barrier_wait(&named);
    static char block[16384];
    memset(block, 'y', sizeof(block));
    int fd = open(io_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    for (;;) {
        if (fd >= 0) {
            if (write(fd, block, sizeof(block)) < 0 || fsync(fd) < 0)
                break;
            lseek(fd, 0, SEEK_SET);
        }
        nap_ms(20);
    }
    return NULL;
}

static void *sleeper(void *arg)
{
    prctl(PR_SET_NAME, (const char *)arg);
    pthread_barrier_wait(&named);
    for (;;)
        pause();
    return NULL;
}

static pid_t child;

static void on_term(int sig)
{
    (void)sig;
    if (child > 0)
        kill(child, SIGTERM);
    unlink(io_path);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s COMM [FILE]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        io_path = argv[2];
    prctl(PR_SET_NAME, argv[1]);
    alarm(600);

    child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "pt-child");
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        for (;;)
            pause();
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);

    pthread_barrier_init(&named, NULL, 6);
    pthread_t t;
    pthread_create(&t, NULL, userbusy, NULL);
    pthread_create(&t, NULL, sysbusy, NULL);
    pthread_create(&t, NULL, sleeper, "pt-waiting");
    pthread_create(&t, NULL, sleeper, "pt-idle");
    pthread_create(&t, NULL, sleeper, "pt-idle");
    pthread_barrier_wait(&named);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
