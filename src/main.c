/* proctrack: a process-group tracker and Prometheus exporter. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exporter/exporter.h"
#include "http/http.h"
#include "http/webconfig.h"
#include "rules/rules.h"
#include "util/build_info.h"
#include "util/log.h"
#include "util/nofile.h"

extern const char proctrack_default_config[];
extern const size_t proctrack_default_config_len;

#define EXIT_USAGE 2

/* The descriptors proctrack holds at once besides its connections' sockets: the procfs root, and
 * while a scan runs one file or directory and a pidfd (3); the exit accounting listener's procfs
 * root, its two netlink sockets, its stop pipe and the file it reads (6); the listening socket,
 * libmicrohttpd's inter-thread channel and its epoll descriptor (3); a config file being read on
 * a reload (1); room for the C library's and TLS's own (4). Counted from `ls /proc/PID/fd` of a
 * scraped proctrack, which holds 8 of them between scrapes, with the standard streams apart. */
#define FDS_OWN 17
/* Fewer connections than this, and a scrape could find every one taken by idle clients. */
#define FDS_MIN_CONNECTIONS 4

/* A config loader's warning ("FILE:LINE:COL: unknown key ..."): logged, except under
 * -config.check, whose report on the terminal it is part of. */
static void warn_config(void *arg, const char *message)
{
    const struct cli_options *opts = arg;
    if (opts->config_check) {
        fprintf(stderr, "proctrack: warning: %s\n", message);
        return;
    }
    struct log_line line;
    if (log_begin(&line, LOG_WARN, "config warning")) {
        log_str(&line, "warning", message);
        log_end(&line);
    }
}

/* A start-up failure: `what` failed on `key`=`value`, and `err` says why. */
static void log_failure(const char *what, const char *key, const char *value, const char *err)
{
    struct log_line line;
    if (log_begin(&line, LOG_ERROR, what)) {
        log_str(&line, key, value);
        log_str(&line, "err", err);
        log_end(&line);
    }
}

static int collect(void *arg, struct strbuf *body)
{
    return exporter_collect(arg, body);
}

static bool legacy_mode(const struct cli_options *opts)
{
    return (opts->procnames && *opts->procnames) || (opts->namemapping && *opts->namemapping);
}

/* Where the rules come from, as the landing page, -config.check and the log name it. */
static const char *config_source(const struct cli_options *opts)
{
    return legacy_mode(opts)   ? "-procnames/-namemapping"
           : opts->config_path ? opts->config_path
                               : "the embedded default config";
}

static struct rules *load_rules(const struct cli_options *opts, char *err, size_t errlen)
{
    void *arg = (void *)opts;
    rules_set_strict_templates(opts->config_strict_templates);
    if (legacy_mode(opts))
        return rules_load_legacy(opts->procnames, opts->namemapping, err, errlen, warn_config, arg);
    if (opts->config_path)
        return rules_load_file(opts->config_path, err, errlen, warn_config, arg);
    return rules_load_buffer("<default>", proctrack_default_config, proctrack_default_config_len,
                             err, errlen, warn_config, arg);
}

struct reloader {
    struct exporter *exporter;
    const struct cli_options *opts;
};

/* SIGHUP or POST /-/reload: read the config again. One that does not load changes nothing. */
static int reload(void *arg, char *err, size_t errlen)
{
    struct reloader *r = arg;
    struct log_line line;
    struct rules *rules = load_rules(r->opts, err, errlen);
    if (!rules) {
        if (log_begin(&line, LOG_ERROR, "config reload failed, keeping the current config")) {
            log_str(&line, "config", config_source(r->opts));
            log_str(&line, "err", err);
            log_end(&line);
        }
        exporter_reload_failed(r->exporter);
        return -1;
    }
    size_t n = rules_count(rules);
    exporter_reload(r->exporter, rules);
    if (log_begin(&line, LOG_INFO, "config reloaded")) {
        log_str(&line, "config", config_source(r->opts));
        log_u64(&line, "rules", n);
        log_end(&line);
    }
    return 0;
}

struct landing {
    struct exporter *exporter;
    const char *source;
};

/* What GET / shows. */
static void landing_status(void *arg, struct strbuf *text)
{
    const struct landing *l = arg;
    struct exporter_status st = exporter_status(l->exporter);
    strbuf_printf(text,
                  "Version: %s\nConfig: %s (%zu rules%s)\nGroups: %zu\nTracked processes: %zu\n",
                  PROCTRACK_VERSION, l->source, st.rules,
                  st.reload_ok ? "" : "; the last reload failed", st.groups, st.tracked);
}

/* Ends the process the way `sig` would have, had it not been blocked: a shell that runs
 * proctrack sees it killed by SIGINT or SIGTERM, not a status it could take for a result. */
static void die_of(int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action of these signals ends the process */
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* -once-to-stdout-delay: the first scan (done) primes the counters; wait, scan again, print.
 * The stop signals stay blocked, for the threads the exporter started; the wait is a
 * sigtimedwait on them, so that one of them ends it and proctrack at once, printing nothing. */
static int print_once(struct exporter *exporter, uint64_t delay_ns, const sigset_t *signals)
{
    uint64_t deadline = monotonic_ns() + delay_ns;
    for (uint64_t now = monotonic_ns(); now < deadline; now = monotonic_ns()) {
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
        int sig = sigtimedwait(signals, NULL, &ts);
        if (sig > 0) {
            exporter_free(exporter);
            die_of(sig);
        }
        if (errno == EAGAIN)
            break;
    }
    struct strbuf body = STRBUF_INIT;
    exporter_collect(exporter, &body);
    int rc = fwrite(body.buf, 1, body.len, stdout) == body.len && fflush(stdout) == 0 ? 0 : 1;
    strbuf_free(&body);
    exporter_free(exporter);
    return rc;
}

/* RLIMIT_NOFILE at start-up: room for proctrack's own descriptors and, when it serves, for its
 * connections, raising the soft limit to the hard one if that helps. Without room for
 * FDS_MIN_CONNECTIONS, libmicrohttpd would find no descriptor for its first connection and
 * retry accept() in a loop, never serving: say what limit is needed instead. With room for some
 * but not -web.max-connections, lowers `*connections` to what fits, so that the connection limit
 * is met before the descriptor limit. Returns false when proctrack cannot run. */
static bool check_descriptors(bool serve, uint64_t *connections)
{
    /* Each connection, and each libmicrohttpd may accept beyond the limit before the longest
     * waiting ones are closed (http_connection_headroom), takes a descriptor. */
    uint64_t conns = serve ? *connections : 0;
    uint64_t least = conns < FDS_MIN_CONNECTIONS ? conns : FDS_MIN_CONNECTIONS;
    uint64_t want = FDS_OWN + conns + http_connection_headroom((unsigned)conns);
    uint64_t need = FDS_OWN + least + http_connection_headroom((unsigned)least);
    struct nofile_status st;
    struct log_line line;
    if (nofile_make_room(want, &st) != 0)
        return true; /* the limits cannot be read: nothing to say about them */
    if (st.free < need) {
        if (log_begin(&line, LOG_ERROR, "too few file descriptors allowed (RLIMIT_NOFILE)")) {
            log_u64(&line, "limit", st.limit);
            log_u64(&line, "hard_limit", st.hard);
            log_u64(&line, "need", st.in_use + need);
            log_end(&line);
        }
        return false;
    }
    if (serve && st.raised_from && log_begin(&line, LOG_INFO, "raised the file descriptor limit")) {
        log_u64(&line, "from", st.raised_from);
        log_u64(&line, "to", st.limit);
        log_end(&line);
    }
    if (st.free < want) {
        /* The most connections whose headroom fits too. */
        uint64_t room = st.free - FDS_OWN;
        *connections = room >= 128 ? room - 64 : room / 2;
        if (log_begin(&line, LOG_WARN,
                      "fewer connections than -web.max-connections fit under "
                      "RLIMIT_NOFILE")) {
            log_u64(&line, "limit", st.limit);
            log_u64(&line, "max_connections", *connections);
            log_u64(&line, "need", st.in_use + want);
            log_end(&line);
        }
    }
    return true;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "unknown";
    }
}

int main(int argc, char **argv)
{
    struct cli_options opts;
    char err[1024];
    struct log_line line;

    /* Flag errors, like -h, are usage text for a person at a terminal: plain, with the usage. */
    if (cli_parse(argc, argv, &opts, err, sizeof(err)) != CLI_OK) {
        fprintf(stderr, "%s\n", err);
        cli_usage(stderr, argv[0]);
        return EXIT_USAGE;
    }
    log_setup(opts.debug && !opts.log_level_given ? LOG_DEBUG : opts.log_level, opts.log_format,
              STDERR_FILENO);
    if (opts.help) {
        cli_usage(stdout, argv[0]);
        return 0;
    }
    if (opts.version) {
        /* As prometheus/common's version banner reads. */
        printf("proctrack, version %s (branch: %s, revision: %s)\n  compiler:         %s\n",
               proctrack_version, proctrack_branch, proctrack_revision, PROCTRACK_COMPILER);
        return 0;
    }
    if (opts.man) {
        fputs(rules_legacy_manual(), stdout);
        return 0;
    }
    /* Go's flag package stops at the first argument that is not a flag and process-exporter
     * ignores the rest, flags included: so do we, but say so. */
    if (opts.first_arg < argc && log_begin(&line, LOG_WARN, "arguments after the flags ignored")) {
        log_str(&line, "first", argv[opts.first_arg]);
        log_i64(&line, "count", argc - opts.first_arg);
        log_end(&line);
    }
    if (opts.config_path && legacy_mode(&opts)) {
        log_msg(LOG_ERROR, "-config.path cannot be used with -namemapping or -procnames");
        return EXIT_USAGE;
    }

    /* -config.check, -explain and -once-to-stdout-delay print a report and exit: only a daemon
     * that is going to serve announces itself. */
    const char *source = config_source(&opts);
    bool serve = !opts.config_check && !opts.explain && opts.once_to_stdout_delay_ns == 0;
    if (serve && log_begin(&line, LOG_INFO, "starting")) {
        log_str(&line, "version", PROCTRACK_VERSION);
        log_str(&line, "config", source);
        log_end(&line);
    }

    struct rules *rules = load_rules(&opts, err, sizeof(err));
    if (!rules) {
        if (opts.config_check)
            fprintf(stderr, "proctrack: %s\n", err);
        else
            log_failure("cannot load the config", "config", source, err);
        return EXIT_USAGE;
    }
    if (opts.config_check) {
        printf("%s: OK, %zu rules\n", source, rules_count(rules));
        rules_free(rules);
        return 0;
    }

    uint64_t max_connections = opts.max_connections;
    if (!check_descriptors(serve, &max_connections)) {
        rules_free(rules);
        return EXIT_FAILURE;
    }

    /* Block the stop signals before any thread starts, so every thread inherits the mask and
     * only sigwait() below receives them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct exporter_options eopts = {
        .procfs = opts.procfs,
        .children = opts.children,
        .threads = opts.threads,
        .thread_names_max = (size_t)opts.thread_names_max, /* at most CLI_MAX_THREAD_NAMES */
        .exits = (enum exporter_exits)opts.exits,
        .smaps = opts.gather_smaps,
        .recheck = opts.recheck || opts.recheck_time_limit_ns > 0,
        .recheck_limit_ns = opts.recheck_time_limit_ns,
        .remove_empty_groups = opts.remove_empty_groups,
        .debug = opts.debug,
        .explain = opts.explain,
        .pve_config_dir = opts.pve_config_dir,
        .pve_lxc_config_dir = opts.pve_lxc_config_dir,
        .pve_user_cfg = opts.pve_user_cfg,
        .pve_run_dir = opts.pve_run_dir,
        .sysfs = opts.sysfs,
        .cgroupfs = opts.cgroupfs,
    };
    struct exporter *exporter = exporter_new(&eopts, rules, err, sizeof(err));
    if (!exporter) {
        log_failure("cannot start the exporter", "procfs", opts.procfs, err);
        return EXIT_FAILURE;
    }
    if (opts.explain) {
        exporter_write_explain(exporter, stdout);
        exporter_free(exporter);
        return fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
    }
    if (opts.once_to_stdout_delay_ns > 0)
        return print_once(exporter, opts.once_to_stdout_delay_ns, &signals);

    /* TLS and authentication, read before the port is bound. */
    struct webconfig *web = NULL;
    if (opts.web_config_file) {
        web = webconfig_load_file(opts.web_config_file, err, sizeof(err));
        if (!web) {
            log_failure("cannot load the web config", "web_config", opts.web_config_file, err);
            exporter_free(exporter);
            return EXIT_USAGE;
        }
    }

    struct reloader reloader = {exporter, &opts};
    struct landing landing = {exporter, source};
    struct http_config hc = {
        .listen_address = opts.listen_address,
        .telemetry_path = opts.telemetry_path,
        .max_connections = (unsigned)max_connections, /* at most CLI_MAX_CONNECTIONS */
        .max_connections_per_ip = (unsigned)opts.max_connections_per_ip,
        .timeout_seconds = (unsigned)((opts.connection_timeout_ns + 999999999) / 1000000000),
        .request_timeout_ms = (unsigned)((opts.request_timeout_ns + 999999) / 1000000),
        .gzip = !opts.disable_compression,
        .metrics = collect,
        .metrics_arg = exporter,
        .web = web,
        .web_config_file = opts.web_config_file,
        .reload = opts.enable_lifecycle ? reload : NULL,
        .reload_arg = &reloader,
        .landing_status = landing_status,
        .landing_arg = &landing,
    };
    struct http_server *server = http_start(&hc, err, sizeof(err));
    if (!server) {
        log_failure("cannot serve", "address", opts.listen_address, err);
        exporter_free(exporter);
        webconfig_free(web);
        return EXIT_FAILURE;
    }
    struct exporter_status st = exporter_status(exporter);
    if (log_begin(&line, LOG_INFO, "serving")) {
        log_str(&line, "address", opts.listen_address);
        log_u64(&line, "port", http_port(server));
        log_str(&line, "path", opts.telemetry_path);
        log_u64(&line, "rules", st.rules);
        log_u64(&line, "groups", st.groups);
        log_u64(&line, "processes", st.tracked);
        log_end(&line);
    }

    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
        reload(&reloader, err, sizeof(err));
    if (log_begin(&line, LOG_INFO, "shutting down")) {
        log_str(&line, "signal", signal_name(sig));
        log_end(&line);
    }
    http_stop(server);
    webconfig_free(web);
    exporter_free(exporter);
    return 0;
}
