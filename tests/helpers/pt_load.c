/* A process with a known name and behaviour, for the integration tests.
 *
 *   pt_load COMM MODE [ARGS...]
 *
 * sets its comm to COMM (prctl PR_SET_NAME), prints "ready" and then, by MODE:
 *   sleep  waits for a signal;
 *   spin   burns user CPU;
 *   write  writes and fsyncs a 64 KiB block to ARGS[0] every 50 ms.
 * Extra arguments are ignored, so tests can shape the command line. It exits on SIGTERM, and by
 * itself after 10 minutes so that a crashed test run cannot leave it behind. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

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
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    alarm(600);
    printf("ready\n");
    fflush(stdout);

    const char *mode = argv[2];
    if (strcmp(mode, "spin") == 0) {
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
