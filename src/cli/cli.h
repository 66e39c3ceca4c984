/* Command-line flags with the syntax of Go's flag package, as process-exporter has them: one or
 * two dashes, `-flag value` or `-flag=value`, booleans turned off only as `-flag=false`. */
#ifndef PROCTRACK_CLI_CLI_H
#define PROCTRACK_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/log.h"

struct cli_options {
    const char *listen_address;
    const char *telemetry_path;
    const char *config_path; /* NULL: the embedded default */
    bool config_check;
    const char *procfs;
    const char *pve_config_dir;
    const char *sysfs;
    const char *cgroupfs;
    bool children;
    bool threads;
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
};

enum cli_result { CLI_OK = 0, CLI_ERROR = -1 };

/* Fills `opts` with defaults, then applies argv. On error writes a one-line message (as Go's
 * flag package words it) into `err` and returns CLI_ERROR. */
int cli_parse(int argc, char **argv, struct cli_options *opts, char *err, size_t errlen);
void cli_usage(FILE *out, const char *argv0);

/* Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "0". Returns 0 or -EINVAL. */
int cli_parse_duration(const char *s, uint64_t *ns);

#endif /* PROCTRACK_CLI_CLI_H */
