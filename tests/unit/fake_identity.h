/* For the rules tests: a process identity as the reader would hand it over, argv joined by
 * single spaces into cmdline. */
#ifndef PROCTRACK_TESTS_FAKE_IDENTITY_H
#define PROCTRACK_TESTS_FAKE_IDENTITY_H

#include <string.h>

#include "proc/proc.h"

struct fake_proc {
    struct proc_identity id;
    const char *argv[16];
    char cmdline[1024];
};

static inline const struct proc_identity *make_proc(struct fake_proc *p, const char *comm,
                                                    const char *const *argv)
{
    memset(p, 0, sizeof(*p));
    size_t len = 0;
    while (argv != NULL && argv[p->id.argc] != NULL) {
        const char *arg = argv[p->id.argc];
        if (p->id.argc > 0)
            p->cmdline[len++] = ' ';
        memcpy(p->cmdline + len, arg, strlen(arg));
        len += strlen(arg);
        p->argv[p->id.argc] = arg;
        p->id.argc++;
    }
    p->cmdline[len] = '\0';
    p->id.pid = 1234;
    p->id.comm = comm;
    p->id.argv = p->argv;
    p->id.cmdline = p->cmdline;
    p->id.cmdline_len = len;
    p->id.exe = "";
    return &p->id;
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif /* PROCTRACK_TESTS_FAKE_IDENTITY_H */
