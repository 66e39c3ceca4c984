/* Command-line flags with the syntax of Go's flag package, as process-exporter has them: one or
 * two dashes, `-flag value` or `-flag=value`, booleans turned off only as `-flag=false`. */
#ifndef PROCTRACK_CLI_CLI_H
#define PROCTRACK_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/log.h"

/* The largest -web.max-connections and -web.max-connections-per-ip: a connection is a file
 * descriptor, and Linux's default ceiling of open files per process (fs.nr_open) is 2^20. */
#define CLI_MAX_CONNECTIONS 1048576
/* The largest -threads.max-names; the tally behind each name is some 200 bytes. */
#define CLI_MAX_THREAD_NAMES 65536
/* The name -h gives for threads beyond -threads.max-names: the tracker's
 * TRACKER_THREAD_NAME_OVERFLOW (cli knows nothing of the tracker; test_cli checks they agree). */
#define CLI_THREAD_NAME_OVERFLOW "(other thread names)"

struct cli_options {
    const char *listen_address;
    const char *telemetry_path;
    const char *config_path; /* NULL: the embedded default */
    bool config_check;
    bool config_strict_templates;
    const char *procfs;
    const char *pve_config_dir;
    const char *pve_lxc_config_dir;
    const char *pve_user_cfg;
    const char *pve_run_dir;
    const char *sysfs;
    const char *cgroupfs;
    bool children;
    bool threads;
    uint64_t thread_names_max; /* -threads.max-names */
    const char *exit_accounting;
    int exits; /* index of exit_accounting in auto, taskstats, children, none */
    bool gather_smaps;
    bool recheck;
    uint64_t recheck_time_limit_ns;
    bool remove_empty_groups;
    uint64_t once_to_stdout_delay_ns;
    const char *procnames;
    const char *namemapping;
    bool man;
    bool debug;
    enum log_level log_level;
    bool log_level_given; /* -log.level was on the command line: -debug leaves it alone */
    enum log_format log_format;
    bool explain;
    bool version;
    bool help;
    uint64_t max_connections;
    uint64_t max_connections_per_ip;
    uint64_t connection_timeout_ns;
    uint64_t request_timeout_ns;
    bool disable_compression;
    bool enable_lifecycle;
    const char *web_config_file; /* NULL: plain HTTP, no authentication */
    /* Arguments after the flags, argv[first_arg] and on (none when first_arg == argc): parsing
     * stops at the first argument that is not a flag, or after "--", as Go's flag package does,
     * and process-exporter ignores what follows. */
    int first_arg;
};

enum cli_result { CLI_OK = 0, CLI_ERROR = -1 };

/* Fills `opts` with defaults, then applies argv up to the first argument that is not a flag. On
 * error writes a one-line message (as Go's
 * flag package words it) into `err` and returns CLI_ERROR. */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen);
void cli_usage(FILE *out, const char *argv0);

/* Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "0". Returns 0, -EINVAL, or -ERANGE for a
 * duration past Go's (an int64 of nanoseconds, some 292 years). */
int cli_parse_duration(const char *s, uint64_t *ns);

#endif /* PROCTRACK_CLI_CLI_H */
