#include "exporter/exporter.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acct/acct.h"
#include "expo/family.h"
#include "exporter/explain.h"
#include "exporter/group_families.h"
#include "exporter/own_families.h"
#include "exporter/proc_source.h"
#include "exporter/pve_families.h"
#include "exporter/pve_lxc_families.h"
#include "proc/proc_reader.h"
#include "proc/proc_self.h"
#include "tracker/tracker.h"
#include "util/log.h"
#include "util/xalloc.h"

struct exporter {
    struct explain *explain; /* -explain: the processes of the first scan */
    pthread_mutex_t lock;    /* guards the fields up to `published` */
    pthread_cond_t scan_done;
    bool scanning;
    uint64_t scans_done;
    size_t groups_now, tracked_now;
    bool reload_ok;             /* the last config reload (or the first load) succeeded */
    double reload_success_time; /* Unix time of the last successful load */
    struct strbuf published;    /* the last exposition, shared by concurrent scrapes */
    struct strbuf body;         /* where the running scan writes */
    uint64_t scans;             /* for proctrack_scans_total, written by the scanning thread */

    struct exporter_options options;
    struct rules *rules;
    struct pve *pve; /* when the rules use `builtin: pve-qemu` or `pve-lxc` */
    bool *follow;    /* per rule: its decisions go to a collector (the tracker borrows it) */
    size_t nfollow;
    struct proc_reader *reader;
    struct proc_self *self;         /* our own /proc entry, for process_*; NULL when unreadable */
    struct acct_listener *listener; /* exit records, when they are the path */
    enum tracker_exit_path exit_path;
    struct tracker *tracker;
    struct proc_source proc;
    struct tracker_source source;
    uint64_t ticks_per_second;
    uint64_t btime;
    int last_scan_rc;
    double last_scan_seconds;
    unsigned long long regex_errors;      /* proctrack_regex_limit_errors_total */
    unsigned long long regex_errors_seen; /* the count of the current rules already taken */

    /* Scratch for one exposition, reused across scrapes. */
    struct group_families *group_families;
    struct pve_families *pve_families;
    struct pve_lxc_families *pve_lxc_families;
    struct strbuf scratch;
};

static int classify(void *ctx, const struct proc_identity *id, struct strbuf *groupname)
{
    struct exporter *e = ctx;
    return rules_match(e->rules, id, groupname);
}

static bool classify_undecided(void *ctx)
{
    struct exporter *e = ctx;
    return rules_match_undecided(e->rules);
}

void exporter_write_explain(struct exporter *e, FILE *out)
{
    explain_write(e->explain, e->rules, e->reader, out);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts and reports the cmdline regexes of this scan that gave up at a PCRE2 limit. */
static void note_regex_errors(struct exporter *e)
{
    const struct rules_match_errors *me = rules_match_errors(e->rules);
    if (me->count <= e->regex_errors_seen)
        return;
    unsigned long long n = me->count - e->regex_errors_seen;
    e->regex_errors += n;
    e->regex_errors_seen = me->count;
    struct log_line line;
    if (log_begin(&line, LOG_WARN,
                  "cmdline regex match gave up; the process is counted as not matching")) {
        char reason[128];
        rules_error_message(me->last_code, reason, sizeof(reason));
        log_u64(&line, "count", n);
        log_str(&line, "reason", reason);
        log_str(&line, "last_rule", rules_describe(e->rules, me->last_rule));
        log_end(&line);
    }
}

/* Whether the process was decided by a rule the PVE collector follows (`builtin: pve-qemu` or
 * `pve-lxc`). */
static bool is_pve_decision(const struct exporter *e, const struct tracker_new_process *p)
{
    return p->rule >= 0 && (size_t)p->rule < e->nfollow && e->follow[p->rule];
}

/* Hands the decisions of the scan to the PVE collector, -explain and -debug. */
static void note_new_processes(struct exporter *e)
{
    if (!e->pve && !e->options.explain && !e->options.debug)
        return;
    size_t n = tracker_new_count(e->tracker);
    for (size_t i = 0; i < n; i++) {
        const struct tracker_new_process *p = tracker_new_at(e->tracker, i);
        if (e->pve && is_pve_decision(e, p)) {
            if (strcmp(rules_builtin_of(e->rules, (size_t)p->rule), "pve-lxc") == 0)
                pve_note_new_lxc(e->pve, p);
            else
                pve_note_new(e->pve, p);
        }
        if (e->options.explain)
            explain_record(e->explain, p->pid, p->comm, p->group, p->rule, p->adopted_from);
        else if (e->options.debug)
            explain_log(e->rules, p->pid, p->comm, p->group, p->rule, p->adopted_from);
    }
}

static void scan(struct exporter *e)
{
    double start = now_seconds();
    e->last_scan_rc = tracker_scan(e->tracker, &e->source);
    note_new_processes(e);
    if (e->pve)
        pve_refresh(e->pve, e->tracker);
    note_regex_errors(e);
    e->last_scan_seconds = now_seconds() - start;
}

/* The classifier for `rules`: every decision listed for -explain and -debug, else only those of
 * the rules a collector follows. `follow` is rebuilt for the rules and kept while they are. */
static struct tracker_classifier classifier_for(struct exporter *e, const struct rules *rules)
{
    size_t n = rules_count(rules);
    e->follow = xrealloc(e->follow, (n ? n : 1) * sizeof(*e->follow));
    e->nfollow = n;
    for (size_t i = 0; i < n; i++) {
        const char *builtin = rules_builtin_of(rules, i);
        e->follow[i] = e->pve && builtin &&
                       (strcmp(builtin, "pve-qemu") == 0 || strcmp(builtin, "pve-lxc") == 0);
    }
    return (struct tracker_classifier){
        .ctx = e,
        .needs = rules_needs(rules),
        .classify = classify,
        .undecided = classify_undecided,
        .list_all = e->options.explain || e->options.debug,
        .follow = e->follow,
        .nfollow = n,
    };
}

/* The groups of the rules' `always: true` items exist from now on (before the next scan). */
static void set_always_groups(struct exporter *e, const struct rules *rules)
{
    size_t n = rules_count(rules), count = 0;
    const char **names = xcalloc(n ? n : 1, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        if (rules_always_group(rules, i))
            names[count++] = rules_always_group(rules, i);
    tracker_set_always(e->tracker, names, count);
    free(names);
}

/* Hands `rules` the PVE matchers when they use them; creates or drops the PVE state to match. */
static void attach_pve(struct exporter *e, struct rules *rules)
{
    if (!rules_uses_builtin(rules, "pve-qemu") && !rules_uses_builtin(rules, "pve-lxc")) {
        pve_free(e->pve);
        e->pve = NULL;
        return;
    }
    if (!e->pve) {
        struct pve_options popts = {
            .reader = e->reader,
            .config_dir = e->options.pve_config_dir,
            .lxc_config_dir = e->options.pve_lxc_config_dir,
            .user_cfg = e->options.pve_user_cfg,
            .sysfs = e->options.sysfs,
            .cgroupfs = e->options.cgroupfs,
            .run_dir = e->options.pve_run_dir,
        };
        e->pve = pve_new(&popts);
    }
    rules_set_builtin(rules, "pve-qemu", pve_match, e->pve);
    rules_set_builtin(rules, "pve-lxc", pve_lxc_match, e->pve);
}

/* The inode number of the initial pid namespace (the kernel's PROC_PID_INIT_INO). Exit records
 * name tasks by their pids there, so they apply only to a procfs of that namespace. */
#define INIT_PID_NS_INO 0xEFFFFFFCu

static bool procfs_of_initial_pid_ns(const char *procfs)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/self/ns/pid", procfs);
    return stat(path, &st) == 0 && st.st_ino == INIT_PID_NS_INO;
}

/* Chooses the exit path and starts the listener of exit records when it is the one. */
static int start_exit_accounting(struct exporter *e, char *err, size_t errlen)
{
    enum exporter_exits want = e->options.exits;
    e->exit_path = TRACKER_EXITS_NONE;
    if (want == EXPORTER_EXITS_NONE)
        return 0;
    e->exit_path = TRACKER_EXITS_CHILDREN;
    if (want == EXPORTER_EXITS_CHILDREN)
        return 0;
    char why[256] = "";
    bool own_ns = procfs_of_initial_pid_ns(e->options.procfs);
    int rc = -ENOTSUP;
    if (own_ns) {
        struct acct_listener_options lo = {
            .procfs = e->options.procfs,
            .sysfs = e->options.sysfs ? e->options.sysfs : "/sys",
            .needs = rules_needs(e->rules),
        };
        rc = acct_listener_start(&lo, &e->listener, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why),
                 "%s is not a procfs of the initial pid namespace, where exit records name tasks",
                 e->options.procfs);
    }
    if (rc == 0) {
        e->exit_path = TRACKER_EXITS_RECORDS;
        if (!acct_listener_has_events(e->listener))
            log_msg(LOG_WARN, "exit accounting: no process connector; processes that live "
                              "between two scans are classified from their exit records alone");
        return 0;
    }
    if (want == EXPORTER_EXITS_TASKSTATS) {
        snprintf(err, errlen, "-exit-accounting=taskstats: %s", why);
        return -1;
    }
    struct log_line line;
    if (log_begin(&line, LOG_INFO, "exit accounting: children times, no exit records")) {
        log_str(&line, "reason", why);
        log_end(&line);
    }
    return 0;
}

struct exporter *exporter_new(const struct exporter_options *options, struct rules *rules,
                              char *err, size_t errlen)
{
    struct proc_reader *reader = proc_reader_new(options->procfs, err, errlen);
    if (!reader) {
        rules_free(rules);
        return NULL;
    }
    struct exporter *e = xcalloc(1, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->scan_done, NULL);
    e->options = *options;
    e->rules = rules;
    e->reader = reader;
    e->reload_ok = true;
    e->reload_success_time = wall_seconds();
    e->group_families = group_families_new();
    e->pve_families = pve_families_new();
    e->pve_lxc_families = pve_lxc_families_new();
    if (options->explain)
        e->explain = explain_new();
    e->ticks_per_second = proc_reader_ticks_per_second(reader);
    e->btime = proc_reader_btime(reader);
    /* Our own entry is in the /proc of our pid namespace, whatever -procfs names. */
    e->self = proc_self_new("/proc");
    if (start_exit_accounting(e, err, errlen) < 0) {
        exporter_free(e);
        return NULL;
    }
    proc_source_init(&e->proc, reader, e->listener);
    e->source = proc_source(&e->proc);
    struct tracker_options topts = {
        .page_size = proc_reader_page_size(reader),
        .ticks_per_second = proc_reader_ticks_per_second(reader),
        .children = options->children,
        .threads = options->threads,
        .thread_names_max = options->thread_names_max,
        .smaps = options->smaps,
        .wchan = true, /* threads_wchan is written with -threads=false too */
        .recheck = options->recheck,
        .recheck_limit_ticks =
            options->recheck_limit_ns / (1000000000ull / proc_reader_ticks_per_second(reader)),
        .remove_empty_groups = options->remove_empty_groups,
        .refresh_ticks = 60 * proc_reader_ticks_per_second(reader),
        .exits = e->exit_path,
    };
    attach_pve(e, rules);
    struct tracker_classifier classifier = classifier_for(e, rules);
    e->tracker = tracker_new(&topts, &classifier);
    set_always_groups(e, rules);
    scan(e);
    e->scans = 1;
    e->groups_now = tracker_group_count(e->tracker);
    e->tracked_now = tracker_tracked_count(e->tracker);
    return e;
}

void exporter_free(struct exporter *e)
{
    if (!e)
        return;
    tracker_free(e->tracker);
    acct_listener_stop(e->listener);
    proc_source_free(&e->proc);
    proc_reader_free(e->reader);
    proc_self_free(e->self);
    rules_free(e->rules);
    free(e->follow);
    pve_free(e->pve);
    explain_free(e->explain);
    group_families_free(e->group_families);
    pve_families_free(e->pve_families);
    pve_lxc_families_free(e->pve_lxc_families);
    strbuf_free(&e->scratch);
    strbuf_free(&e->body);
    strbuf_free(&e->published);
    pthread_cond_destroy(&e->scan_done);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- exposition ---- */

static void write_self(struct exporter *e, struct strbuf *out)
{
    pthread_mutex_lock(&e->lock);
    bool reload_ok = e->reload_ok;
    double reload_time = e->reload_success_time;
    pthread_mutex_unlock(&e->lock);
    const struct tracker_exit_stats *exits = tracker_exit_stats(e->tracker);
    struct acct_stats acct = {0};
    if (e->listener)
        acct_listener_stats(e->listener, &acct);
    struct own_values v = {
        {
            [OWN_GROUPS] = {.u64 = tracker_group_count(e->tracker)},
            [OWN_TRACKED] = {.u64 = tracker_tracked_count(e->tracker)},
            [OWN_IGNORED] = {.u64 = tracker_ignored_count(e->tracker)},
            [OWN_SCANS] = {.u64 = e->scans},
            [OWN_SCAN_SECONDS] = {.is_double = true, .f64 = e->last_scan_seconds},
            [OWN_RELOAD_OK] = {.u64 = reload_ok},
            [OWN_RELOAD_TIME] = {.is_double = true, .f64 = reload_time},
            [OWN_RULES] = {.u64 = rules_count(e->rules)},
            [OWN_REGEX_ERRORS] = {.u64 = e->regex_errors},
            [OWN_EXITS_NONE] = {.u64 = e->exit_path == TRACKER_EXITS_NONE},
            [OWN_EXITS_CHILDREN] = {.u64 = e->exit_path == TRACKER_EXITS_CHILDREN},
            [OWN_EXITS_TASKSTATS] = {.u64 = e->exit_path == TRACKER_EXITS_RECORDS},
            [OWN_EXIT_RECORDS] = {.u64 = exits->records},
            [OWN_EXIT_OVERRUNS] = {.u64 = acct.overruns},
            [OWN_EXIT_UNSEEN] = {.u64 = exits->unseen},
            [OWN_EXIT_LOST_SCANS] = {.u64 = exits->lost_intervals},
        },
        .has_process = false};
    struct proc_self_metrics self;
    if (e->self && proc_self_read(e->self, &self) == 0) {
        v.has_process = true;
        v.v[OWN_PROCESS_CPU_SECONDS] = (struct expo_value){
            .is_double = true, .f64 = (double)self.cpu_ticks / (double)e->ticks_per_second};
        v.v[OWN_PROCESS_MAX_FDS].u64 = self.max_fds;
        v.v[OWN_PROCESS_OPEN_FDS].u64 = self.open_fds;
        v.v[OWN_PROCESS_RSS_BYTES].u64 = self.rss_bytes;
        v.v[OWN_PROCESS_START_TIME] =
            (struct expo_value){.is_double = true, .f64 = proc_self_start_time(e->self)};
        v.v[OWN_PROCESS_VSIZE_BYTES].u64 = self.vsize_bytes;
        v.v[OWN_PROCESS_VSIZE_MAX_BYTES] =
            (struct expo_value){.is_double = true, .f64 = (double)self.max_vsize_bytes};
    }
    own_families_write_self(out, &v, tracker_errors(e->tracker), &e->scratch);
}

/* One scan and the exposition it produces, into e->body. Runs with `scanning` set, outside the
 * lock: only one thread at a time gets here. */
static void scan_and_write(struct exporter *e)
{
    scan(e);
    e->scans++;
    strbuf_reset(&e->body);
    /* Like process-exporter: when /proc could not be listed, no group is reported rather than
     * stale values; the error counter says why. */
    struct expo_clock clock = {e->ticks_per_second, e->btime};
    if (e->last_scan_rc == 0)
        group_families_write(e->group_families, &e->body, e->tracker, &clock, e->options.threads,
                             e->options.smaps);
    own_families_write_errors(&e->body, tracker_errors(e->tracker), &e->scratch);
    if (e->last_scan_rc == 0) {
        pve_families_write(e->pve_families, &e->body, e->pve, &clock);
        pve_lxc_families_write(e->pve_lxc_families, &e->body, e->pve, &clock);
    }
    write_self(e, &e->body);
}

int exporter_collect(struct exporter *e, struct strbuf *out)
{
    pthread_mutex_lock(&e->lock);
    if (e->scanning) {
        /* A scan is running: its result is as fresh as this scrape can ask for. Share it rather
         * than queue a second walk of /proc behind it. */
        uint64_t want = e->scans_done + 1;
        while (e->scans_done < want)
            pthread_cond_wait(&e->scan_done, &e->lock);
    } else {
        e->scanning = true;
        pthread_mutex_unlock(&e->lock);
        scan_and_write(e);
        pthread_mutex_lock(&e->lock);
        /* The published copy is what waiting scrapes read while the next scan writes e->body. */
        struct strbuf tmp = e->published;
        e->published = e->body;
        e->body = tmp;
        e->groups_now = tracker_group_count(e->tracker);
        e->tracked_now = tracker_tracked_count(e->tracker);
        e->scans_done++;
        e->scanning = false;
        pthread_cond_broadcast(&e->scan_done);
    }
    strbuf_append(out, e->published.buf ? e->published.buf : "", e->published.len);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

void exporter_reload(struct exporter *e, struct rules *rules)
{
    pthread_mutex_lock(&e->lock);
    /* A scan reads the rules outside the lock: let it finish. No new one starts while we hold
     * the lock, since starting one takes it. */
    while (e->scanning)
        pthread_cond_wait(&e->scan_done, &e->lock);
    struct rules *old = e->rules;
    e->rules = rules;
    e->regex_errors_seen = 0;
    attach_pve(e, rules);
    struct tracker_classifier classifier = classifier_for(e, rules);
    tracker_set_classifier(e->tracker, &classifier);
    set_always_groups(e, rules);
    if (e->listener)
        acct_listener_set_needs(e->listener, classifier.needs);
    e->reload_ok = true;
    e->reload_success_time = wall_seconds();
    pthread_mutex_unlock(&e->lock);
    rules_free(old);
}

void exporter_reload_failed(struct exporter *e)
{
    pthread_mutex_lock(&e->lock);
    e->reload_ok = false;
    pthread_mutex_unlock(&e->lock);
}

struct exporter_status exporter_status(struct exporter *e)
{
    pthread_mutex_lock(&e->lock);
    struct exporter_status st = {
        .rules = rules_count(e->rules),
        .groups = e->groups_now,
        .tracked = e->tracked_now,
        .reload_ok = e->reload_ok,
    };
    pthread_mutex_unlock(&e->lock);
    return st;
}
