#include "cli/cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* FLAG_LOG_LEVEL and FLAG_LOG_FORMAT are strings on the command line, checked and stored as the
 * logger's enums. */
enum flag_kind {
    FLAG_BOOL,
    FLAG_STRING,
    FLAG_UINT,
    FLAG_DURATION,
    FLAG_LOG_LEVEL,
    FLAG_LOG_FORMAT
};

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t offset;
    const char *def; /* as printed in usage */
    const char *usage;
};

#define OPT(field) offsetof(struct cli_options, field)

static const struct flag flags[] = {
    {"children", FLAG_BOOL, OPT(children), "true",
     "if a proc is tracked, track with it any children that aren't part of their own group"},
    {"cgroupfs", FLAG_STRING, OPT(cgroupfs), "/sys/fs/cgroup",
     "cgroup v2 mount, for the PVE VM scopes and container cgroups"},
    {"config.check", FLAG_BOOL, OPT(config_check), "false",
     "validate the config file (or the embedded default), print what it found, and exit: 0 when "
     "valid, 2 otherwise"},
    {"config.path", FLAG_STRING, OPT(config_path), "",
     "path to YAML config file (process-exporter's format); empty: the embedded default, which "
     "groups every process with a command line by its comm"},
    {"config.strict-templates", FLAG_BOOL, OPT(config_strict_templates), "false",
     "refuse a config whose name templates Go renders oddly (a .Matches key no regex captures "
     "renders \"<no value>\", an unknown field ends the name early) instead of warning"},
    {"debug", FLAG_BOOL, OPT(debug), "false",
     "log each new process and the group it joined, or why it joined none, at level debug; "
     "implies -log.level=debug unless -log.level is given"},
    {"exit-accounting", FLAG_STRING, OPT(exit_accounting), "auto",
     "how the usage of processes that exit is counted: taskstats (the kernel's exit records; "
     "needs CAP_NET_ADMIN), children (parents' children times), auto (taskstats when allowed, "
     "else children) or none (up to the last scrape that saw them, as process-exporter)"},
    {"explain", FLAG_BOOL, OPT(explain), "false",
     "print, for the processes running now, the group each joins and why (the rule, the "
     "ancestor, or that none matched), and exit"},
    {"gather-smaps", FLAG_BOOL, OPT(gather_smaps), "true",
     "gather proportional memory (memtype proportionalResident, proportionalSwapped) from "
     "smaps_rollup"},
    {"log.format", FLAG_LOG_FORMAT, OPT(log_format), "logfmt",
     "output format of log messages: logfmt or json"},
    {"log.level", FLAG_LOG_LEVEL, OPT(log_level), "info",
     "only log messages with the given severity or above: debug, info, warn or error"},
    {"man", FLAG_BOOL, OPT(man), "false", "print the manual of -procnames and -namemapping"},
    {"namemapping", FLAG_STRING, OPT(namemapping), "",
     "comma-separated list, alternating process name and capturing regex to apply to cmdline"},
    {"once-to-stdout-delay", FLAG_DURATION, OPT(once_to_stdout_delay_ns), "0s",
     "don't serve: scan, wait this long, scan again, print the metrics to stdout and exit"},
    {"procfs", FLAG_STRING, OPT(procfs), "/proc", "path to read proc data from"},
    {"procnames", FLAG_STRING, OPT(procnames), "",
     "comma-separated list of process names to monitor"},
    {"pve.config-dir", FLAG_STRING, OPT(pve_config_dir), "/etc/pve/qemu-server",
     "directory of PVE VM configs (<vmid>.conf), for the builtin pve-qemu rule"},
    {"pve.lxc-config-dir", FLAG_STRING, OPT(pve_lxc_config_dir), "/etc/pve/lxc",
     "directory of PVE container configs (<vmid>.conf), for the builtin pve-lxc rule"},
    {"pve.user-cfg", FLAG_STRING, OPT(pve_user_cfg), "/etc/pve/user.cfg",
     "PVE user config, for the pool labels of pve_kvm_info"},
    {"pve.run-dir", FLAG_STRING, OPT(pve_run_dir), "/var/run/qemu-server",
     "directory of PVE VMs' QMP sockets (<vmid>.qmp), for their per-disk statistics"},
    {"recheck", FLAG_BOOL, OPT(recheck), "false",
     "match processes that matched no rule again after they exec (comm or program changed)"},
    {"recheck-with-time-limit", FLAG_DURATION, OPT(recheck_time_limit_ns), "0s",
     "like -recheck, but only while a process is younger than this duration"},
    {"remove-empty-groups", FLAG_BOOL, OPT(remove_empty_groups), "false",
     "forget a group, counters included, when it has no process left"},
    {"sysfs", FLAG_STRING, OPT(sysfs), "/sys",
     "sysfs mount, for the tap NICs of PVE VMs and veths of containers"},
    {"threads", FLAG_BOOL, OPT(threads), "true",
     "report metrics per thread name (thread_* families), and states and wchan per thread; "
     "with false no task/ directory is read"},
    {"threads.max-names", FLAG_UINT, OPT(thread_names_max), "256",
     "thread names tallied per group; threads with a name beyond these are counted under the "
     "threadname \"" CLI_THREAD_NAME_OVERFLOW "\""},
    {"version", FLAG_BOOL, OPT(version), "false", "print version information and exit"},
    {"web.config.file", FLAG_STRING, OPT(web_config_file), "",
     "path to configuration file that can enable TLS or authentication (exporter-toolkit's "
     "web config format)"},
    {"web.connection-timeout", FLAG_DURATION, OPT(connection_timeout_ns), "30s",
     "close a kept-alive connection whose next request is not in within this long of the "
     "previous response, or that makes no progress for this long; 0 for never"},
    {"web.disable-compression", FLAG_BOOL, OPT(disable_compression), "false",
     "never gzip the metrics response, even when the client accepts it"},
    {"web.enable-lifecycle", FLAG_BOOL, OPT(enable_lifecycle), "false",
     "enable POST /-/reload, which reloads the config like SIGHUP"},
    {"web.listen-address", FLAG_STRING, OPT(listen_address), ":9256",
     "address on which to expose metrics and web interface"},
    {"web.max-connections", FLAG_UINT, OPT(max_connections), "4096",
     "maximum number of concurrent HTTP connections; a new one beyond it closes the connection "
     "that has waited longest for its request"},
    {"web.max-connections-per-ip", FLAG_UINT, OPT(max_connections_per_ip), "512",
     "share of the connections one client address may hold; a new one beyond it closes that "
     "address's connection that has waited longest for its request; 0 for no share"},
    {"web.request-timeout", FLAG_DURATION, OPT(request_timeout_ns), "10s",
     "close a new connection whose request (line, headers, body) is not in within this long, "
     "however slowly it trickles in"},
    {"web.telemetry-path", FLAG_STRING, OPT(telemetry_path), "/metrics",
     "path under which to expose metrics"},
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

#define SECOND 1000000000ull
#define HOUR (3600 * SECOND)

/* The values accepted by numeric flags (durations in nanoseconds), so that none is cut down by a
 * narrower type where it is used (an unsigned int of seconds, of connections). A FLAG_UINT or
 * FLAG_DURATION flag not listed takes any value its type holds. */
static const struct flag_range {
    size_t offset;
    uint64_t min, max;
} ranges[] = {
    /* libmicrohttpd's timeout is an unsigned int of seconds; a day is already no timeout. */
    {OPT(connection_timeout_ns), 0, 24 * HOUR},
    /* Milliseconds in an unsigned int where it is used. */
    {OPT(request_timeout_ns), SECOND / 1000, 24 * HOUR},
    {OPT(max_connections), 1, CLI_MAX_CONNECTIONS},
    {OPT(max_connections_per_ip), 0, CLI_MAX_CONNECTIONS},
    {OPT(thread_names_max), 1, CLI_MAX_THREAD_NAMES},
};

/* strconv.ParseBool */
static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* strconv.ParseUint(s, 10, 64): -EINVAL for a malformed number, -ERANGE for one past 2^64-1. */
static int parse_uint(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -EINVAL;
    if (errno)
        return -ERANGE;
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"µs", 1e3}, {"μs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};
    const char *p = s;
    double total = 0;
    if (*p == '+')
        p++;
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*p)
        return -EINVAL;
    while (*p) {
        /* Go's syntax: digits, optionally a fraction; no exponent, no hex (strtod takes both). */
        const char *num = p;
        while ((*p >= '0' && *p <= '9') || *p == '.')
            p++;
        if (p == num || (p - num == 1 && *num == '.') ||
            memchr(num, '.', (size_t)(p - num)) != memrchr(num, '.', (size_t)(p - num)))
            return -EINVAL;
        double v = strtod(num, NULL);
        size_t best = 0;
        int found = -1;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best) {
                best = n;
                found = (int)i;
            }
        }
        if (found < 0)
            return -EINVAL; /* Go: "missing unit in duration" */
        total += v * units[found].ns;
        p += best;
    }
    if (total >= 0x1p63) /* Go's Duration is an int64 of nanoseconds */
        return -ERANGE;
    *ns = (uint64_t)total;
    return 0;
}

static const struct flag *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

/* A bound of a range, in the largest unit that divides it: "24h", "90m", "250ms", "0s". */
static void format_duration(uint64_t ns, char *out, size_t outlen)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } units[] = {{HOUR, "h"}, {60 * SECOND, "m"}, {SECOND, "s"}, {1000000, "ms"}, {1000, "us"}};
    size_t i = 0;
    while (i < sizeof(units) / sizeof(units[0]) && ns % units[i].ns != 0)
        i++;
    if (ns == 0 || i == sizeof(units) / sizeof(units[0]))
        snprintf(out, outlen, "%lluns", (unsigned long long)ns);
    else
        snprintf(out, outlen, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].unit);
}

/* The value of a FLAG_UINT or FLAG_DURATION flag against its range: 0, or -ERANGE with the
 * range in words in `why`. */
static int check_range(const struct flag *f, uint64_t v, char *why, size_t whylen)
{
    const struct flag_range *r = NULL;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (ranges[i].offset == f->offset)
            r = &ranges[i];
    if (!r || (v >= r->min && v <= r->max))
        return 0;
    char lo[32], hi[32];
    if (f->kind == FLAG_DURATION) {
        format_duration(r->min, lo, sizeof(lo));
        format_duration(r->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%llu", (unsigned long long)r->min);
        snprintf(hi, sizeof(hi), "%llu", (unsigned long long)r->max);
    }
    if (r->min == 0)
        snprintf(why, whylen, "must be at most %s", hi);
    else
        snprintf(why, whylen, "must be between %s and %s", lo, hi);
    return -ERANGE;
}

static int set_flag(const struct flag *f, const char *value, struct cli_options *opts, char *err,
                    size_t errlen)
{
    void *dst = (char *)opts + f->offset;
    char why[96] = "parse error";
    int rc = 0;
    switch (f->kind) {
    case FLAG_BOOL:
        rc = parse_bool(value, dst);
        break;
    case FLAG_STRING:
        *(const char **)dst = value;
        break;
    case FLAG_UINT:
    case FLAG_DURATION: {
        uint64_t v;
        rc = f->kind == FLAG_UINT ? parse_uint(value, &v) : cli_parse_duration(value, &v);
        if (rc == -ERANGE)
            snprintf(why, sizeof(why), "value out of range");
        else if (rc == 0)
            rc = check_range(f, v, why, sizeof(why));
        if (rc == 0)
            *(uint64_t *)dst = v;
        break;
    }
    case FLAG_LOG_LEVEL:
        rc = log_parse_level(value, dst);
        break;
    case FLAG_LOG_FORMAT:
        rc = log_parse_format(value, dst);
        break;
    }
    if (rc != 0)
        snprintf(err, errlen, "invalid value \"%s\" for flag -%s: %s", value, f->name,
                 f->kind == FLAG_LOG_LEVEL    ? "must be debug, info, warn or error"
                 : f->kind == FLAG_LOG_FORMAT ? "must be logfmt or json"
                                              : why);
    return rc;
}

int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen)
{
    memset(opts, 0, sizeof(*opts));
    opts->first_arg = argc;
    for (size_t i = 0; i < NFLAGS; i++)
        if (set_flag(&flags[i], flags[i].def, opts, err, errlen) != 0)
            return CLI_ERROR;
    opts->config_path = NULL;

    int i;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0')
            break; /* the first argument: it and the rest are not flags */
        const char *name = arg + 1;
        if (*name == '-') {
            name++;
            if (*name == '\0') { /* "--" ends the flags */
                i++;
                break;
            }
        }
        if (*name == '-' || *name == '=') {
            snprintf(err, errlen, "bad flag syntax: %s", arg);
            return CLI_ERROR;
        }
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0)) {
            opts->help = true;
            return CLI_OK;
        }
        const struct flag *f = find_flag(name, len);
        if (!f) {
            snprintf(err, errlen, "flag provided but not defined: -%.*s", (int)len, name);
            return CLI_ERROR;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (f->kind == FLAG_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "flag needs an argument: -%s", f->name);
            return CLI_ERROR;
        }
        if (set_flag(f, value, opts, err, errlen) != 0)
            return CLI_ERROR;
        if (f->kind == FLAG_LOG_LEVEL)
            opts->log_level_given = true;
    }
    opts->first_arg = i;
    static const char *const exit_paths[] = {"auto", "taskstats", "children", "none"};
    opts->exits = -1;
    for (int k = 0; k < 4; k++)
        if (strcmp(opts->exit_accounting, exit_paths[k]) == 0)
            opts->exits = k;
    if (opts->exits < 0) {
        snprintf(err, errlen,
                 "invalid value \"%s\" for flag -exit-accounting: must be auto, taskstats, "
                 "children or none",
                 opts->exit_accounting);
        return CLI_ERROR;
    }
    if (opts->config_path && !*opts->config_path)
        opts->config_path = NULL;
    if (opts->web_config_file && !*opts->web_config_file)
        opts->web_config_file = NULL;
    return CLI_OK;
}

void cli_usage(FILE *out, const char *argv0)
{
    fprintf(out, "Usage of %s:\n", argv0);
    for (size_t i = 0; i < NFLAGS; i++) {
        const struct flag *f = &flags[i];
        bool text =
            f->kind == FLAG_STRING || f->kind == FLAG_LOG_LEVEL || f->kind == FLAG_LOG_FORMAT;
        const char *type = text                       ? " string"
                           : f->kind == FLAG_UINT     ? " uint"
                           : f->kind == FLAG_DURATION ? " duration"
                                                      : "";
        fprintf(out, "  -%s%s\n    \t%s", f->name, type, f->usage);
        if (text && *f->def)
            fprintf(out, " (default \"%s\")", f->def);
        else if (!text && strcmp(f->def, "false") != 0)
            fprintf(out, " (default %s)", f->def);
        fputc('\n', out);
    }
}
