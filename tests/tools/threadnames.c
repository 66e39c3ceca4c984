/* threadnames: a process whose threads never stop renaming themselves, the load a hostile user can
 * put on the per-thread-name tallies of a group.
 *
 *   threadnames COMM THREADS PERIOD_MS [SECONDS]
 *
 * names itself COMM, starts THREADS threads and prints "ready"; each thread then takes a name
 * never used before ("tn" and a number) every PERIOD_MS milliseconds, by turns through
 * prctl(PR_SET_NAME) and by writing /proc/self/task/TID/comm, as long as the process lives. It
 * exits on SIGTERM, and by itself after SECONDS (default 1200) so that a crashed test run cannot
 * leave it behind. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_uint next_name;
static unsigned period_ms;

static void rename_self(unsigned turn)
{
    char name[16];
    snprintf(name, sizeof(name), "tn%u", atomic_fetch_add(&next_name, 1));
    if (turn % 2 == 0) {
        prctl(PR_SET_NAME, name);
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, name, strlen(name)) < 0)
        prctl(PR_SET_NAME, name);
    if (fd >= 0)
        close(fd);
}

static void *renamer(void *arg)
{
    (void)arg;
    struct timespec period = {(time_t)(period_ms / 1000), (long)(period_ms % 1000) * 1000000};
    for (unsigned turn = 0;; turn++) {
        rename_self(turn);
        nanosleep(&period, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: threadnames COMM THREADS PERIOD_MS [SECONDS]\n");
        return 2;
    }
    prctl(PR_SET_NAME, argv[1]);
    unsigned threads = (unsigned)strtoul(argv[2], NULL, 10);
    period_ms = (unsigned)strtoul(argv[3], NULL, 10);
    unsigned seconds = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1200;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (unsigned i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, renamer, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    /* SIGTERM's default action ends the process; the timeout ends it otherwise. */
    sleep(seconds);
    return 0;
}
