/* A fixed process for the rules and template targets to match and render: a Java service with a
 * command line, an exe, a user and two cgroups. */
#ifndef PROCTRACK_FUZZ_FUZZ_IDENTITY_H
#define PROCTRACK_FUZZ_FUZZ_IDENTITY_H

#include <string.h>

#include "proc/proc.h"

static const char *const fuzz_argv[] = {"/usr/bin/java", "-Denv=prod", "-jar", "/srv/app.jar",
                                        "--profile=web"};
static const char *const fuzz_cgroups[] = {"/system.slice/app.service", "/user.slice"};
#define FUZZ_CMDLINE "/usr/bin/java -Denv=prod -jar /srv/app.jar --profile=web"

static inline struct proc_identity fuzz_identity(void)
{
    return (struct proc_identity){
        .pid = 4242,
        .ppid = 1,
        .starttime_ticks = 63208,
        .start_time_ns = 1508453571190000000ull,
        .comm = "java",
        .argc = sizeof(fuzz_argv) / sizeof(fuzz_argv[0]),
        .argv = fuzz_argv,
        .cmdline = FUZZ_CMDLINE,
        .cmdline_len = sizeof(FUZZ_CMDLINE) - 1,
        .exe = "/usr/lib/jvm/java-17/bin/java",
        .has_euid = true,
        .euid = 1000,
        .ncgroups = sizeof(fuzz_cgroups) / sizeof(fuzz_cgroups[0]),
        .cgroups = fuzz_cgroups,
    };
}

#endif /* PROCTRACK_FUZZ_FUZZ_IDENTITY_H */
