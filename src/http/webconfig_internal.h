/* What the two halves of the web config loader share: the reader's state while a file is read
 * (webconfig.c, the YAML) and what the TLS checks need of it (webconfig_tls.c, gnutls). */
#ifndef PROCTRACK_HTTP_WEBCONFIG_INTERNAL_H
#define PROCTRACK_HTTP_WEBCONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "http/webconfig.h"
#include "util/yamlread.h"

/* The config and every PEM file it names. */
#define WEBCONFIG_MAX_FILE_SIZE (1u << 20)

/* A file named in tls_server_config; it is read once the whole block is known. */
struct file_ref {
    char *path; /* NULL when unset or "" (exporter-toolkit's "not set") */
    yaml_mark_t key_mark;
    yaml_mark_t value_mark;
};

struct tls_block {
    bool present; /* a tls_server_config mapping with at least one key */
    yaml_mark_t mark;
    struct file_ref cert, key, ca;
    bool has_client_auth;
    yaml_mark_t client_auth_mark;
    bool has_max;
    yaml_mark_t max_mark;
};

struct reader {
    struct yamlread yr;
    const char *base_dir;
    struct webconfig *wc;
    size_t users_cap;
    size_t headers_cap;
    struct tls_block tls;
};

/* "TLS10" to "TLS13", indexed by enum webconfig_tls_version - WEBCONFIG_TLS10. */
extern const char *const webconfig_tls_version_names[4];

int webconfig_finish_tls(struct reader *rd);

#endif /* PROCTRACK_HTTP_WEBCONFIG_INTERNAL_H */
