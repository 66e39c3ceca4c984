/* LD_PRELOAD shim for running upstream QEMU with a PVE command line: QEMU does not know PVE's
 * `-id <vmid>`, so this drops it from the argv that main() gets. /proc/PID/cmdline shows the
 * argument strings, which stay where they are, so proctrack still sees `-id <vmid>` there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <string.h>

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                        void *);

static main_fn real_main;

static int main_without_id(int argc, char **argv, char **envp)
{
    int kept = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "-id") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return real_main(kept, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real(main_without_id, argc, argv, init, fini, rtld_fini, stack_end);
}
