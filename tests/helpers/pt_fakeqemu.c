/* A stand-in for a PVE QEMU process, for the PVE integration tests. Copied into a scratch folder
 * as qemu-system-x86_64 and started with a PVE command line, it looks to /proc like the real one:
 * the exe link, the command line, and threads named "CPU <n>/KVM" (as QEMU names vCPU threads with
 * debug-threads=on) plus a "worker". The vCPU count is taken from -smp. It prints "ready" and
 * sleeps until SIGTERM, or 10 minutes. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_barrier_t named;

static void *named_thread(void *arg)
{
    prctl(PR_SET_NAME, (const char *)arg);
    pthread_barrier_wait(&named);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    int vcpus = 1;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-smp") == 0)
            vcpus = atoi(argv[i + 1]);
    if (vcpus < 1 || vcpus > 64)
        vcpus = 1;
    alarm(600);
    pthread_barrier_init(&named, NULL, (unsigned)vcpus + 2);
    static char names[64][16];
    pthread_t t;
    for (int i = 0; i < vcpus; i++) {
        snprintf(names[i], sizeof(names[i]), "CPU %d/KVM", i);
        pthread_create(&t, NULL, named_thread, names[i]);
    }
    pthread_create(&t, NULL, named_thread, "worker");
    pthread_barrier_wait(&named);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
