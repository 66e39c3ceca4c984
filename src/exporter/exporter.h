/* The exporter: ties the /proc reader, the rules and the tracker together, runs scans one at a
 * time, and writes the metric families. This is the only module that knows all three. */
#ifndef PROCTRACK_EXPORTER_EXPORTER_H
#define PROCTRACK_EXPORTER_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/rules.h"
#include "util/strbuf.h"

/* -exit-accounting: how the usage of processes that exit is counted. */
enum exporter_exits {
    EXPORTER_EXITS_AUTO,      /* the kernel's exit records when allowed, else children times */
    EXPORTER_EXITS_TASKSTATS, /* exit records, or refuse to start */
    EXPORTER_EXITS_CHILDREN,  /* children times */
    EXPORTER_EXITS_NONE,      /* as process-exporter: nothing after the last scan that saw it */
};

struct exporter_options {
    const char *procfs; /* "/proc" */
    bool children;
    bool threads;              /* per-thread-name families; read task/ of multi-threaded members */
    size_t thread_names_max;   /* thread names tallied per group; 0: the tracker's default */
    bool smaps;                /* proportional memory from smaps_rollup */
    bool recheck;              /* match ignored processes again after an exec */
    uint64_t recheck_limit_ns; /* 0: always; else only while younger than this */
    bool remove_empty_groups;
    bool debug;   /* log each new process and the group it joined to stderr */
    bool explain; /* remember why each process of the first scan joined its group */
    /* For `builtin: pve-qemu` and `builtin: pve-lxc`. */
    const char *pve_config_dir;
    const char *pve_lxc_config_dir;
    const char *pve_user_cfg; /* the pools */
    const char *pve_run_dir;
    const char *sysfs;
    const char *cgroupfs;
    enum exporter_exits exits;
};

struct exporter;

/* Takes ownership of `rules`, opens the procfs and runs the first scan, which sets the baseline
 * of every process alive now. On error returns NULL (rules freed) with a message in `err`. */
struct exporter *exporter_new(const struct exporter_options *options, struct rules *rules,
                              char *err, size_t errlen);
void exporter_free(struct exporter *exporter);

/* Scans and appends the exposition to `out`. Thread-safe: scans are serialized. Returns 0. */
int exporter_collect(struct exporter *exporter, struct strbuf *out);

/* A config reload: takes ownership of `rules`, which replace the current ones from the next scan
 * on (waiting for a running scan to finish first). Every live process is matched again; groups
 * keep their counters. */
void exporter_reload(struct exporter *exporter, struct rules *rules);
/* A reload whose config did not load: the current rules stay, and the metrics say it failed. */
void exporter_reload_failed(struct exporter *exporter);

/* -explain: a table of the processes of the first scan, the group each joined and why (the rule
 * that matched, the ancestor it came through, or that none did). Needs options.explain. */
void exporter_write_explain(struct exporter *exporter, FILE *out);

/* Numbers for the landing page and logs, taken together. */
struct exporter_status {
    size_t rules;   /* of the config in use */
    size_t groups;  /* after the last scan */
    size_t tracked; /* processes in a group, after the last scan */
    bool reload_ok; /* false after a failed reload, until the next one succeeds */
};
struct exporter_status exporter_status(struct exporter *exporter);

#endif /* PROCTRACK_EXPORTER_EXPORTER_H */
