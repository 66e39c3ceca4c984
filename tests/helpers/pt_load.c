/* A process with a known name and behaviour, for the integration tests.
 *
 *   pt_load COMM MODE [ARGS...]
 *
 * sets its comm to COMM (prctl PR_SET_NAME), prints "ready" and then, by MODE:
 *   sleep  waits for a signal;
 *   spin   burns user CPU;
 *   write  writes and fsyncs a 64 KiB block to ARGS[0] every 50 ms;
 *   threads  starts one sleeping thread per further argument, named by it (any bytes);
 *   rewrite  overwrites its own argv in place with ARGS[0], as setproctitle() does;
 *   threadchurn  starts and joins short-lived threads (some renamed) as fast as it can.
 * Extra arguments are ignored, so tests can shape the command line. It exits on SIGTERM, and by
 * itself after 10 minutes so that a crashed test run cannot leave it behind. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void *short_lived(void *arg)
{
    if (arg)
        prctl(PR_SET_NAME, "pt-shortthr");
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 20000; i++)
        x += i;
    return NULL;
}

static void *named_sleeper(void *arg)
{
    prctl(PR_SET_NAME, (const char *)arg);
    for (;;)
        pause();
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s COMM sleep|spin|write [FILE] [ARGS...]\n", argv[0]);
        return 2;
    }
    prctl(PR_SET_NAME, argv[1]);
    const char *mode = argv[2];
    if (strcmp(mode, "threads") == 0) {
        for (int i = 3; i < argc; i++) {
            pthread_t t;
            pthread_create(&t, NULL, named_sleeper, argv[i]);
        }
        usleep(100000); /* let them name themselves before "ready" */
    } else if (strcmp(mode, "rewrite") == 0 && argc > 3) {
        /* The argument strings are contiguous: replace them all by one string, NUL-padded. */
        char *start = argv[0];
        char *end = argv[argc - 1] + strlen(argv[argc - 1]);
        static char title[65536];
        snprintf(title, sizeof(title), "%s", argv[3]);
        size_t room = (size_t)(end - start);
        size_t n = strlen(title) < room ? strlen(title) : room;
        memset(start, 0, room);
        memcpy(start, title, n);
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    alarm(600);
    printf("ready\n");
    fflush(stdout);

    if (strcmp(mode, "threadchurn") == 0) {
        for (unsigned long n = 0; !stop; n++) {
            pthread_t t[4];
            for (int i = 0; i < 4; i++)
                pthread_create(&t[i], NULL, short_lived, (n + (unsigned)i) % 2 ? "x" : NULL);
            for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        }
    } else if (strcmp(mode, "spin") == 0) {
        volatile unsigned long x = 0;
        while (!stop)
            x++;
    } else if (strcmp(mode, "write") == 0 && argc > 3) {
        static char block[65536];
        memset(block, 'x', sizeof(block));
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return 1;
        while (!stop) {
            if (write(fd, block, sizeof(block)) < 0 || fsync(fd) < 0)
                return 1;
            lseek(fd, 0, SEEK_SET);
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        close(fd);
    } else {
        while (!stop)
            pause();
    }
    return 0;
}
