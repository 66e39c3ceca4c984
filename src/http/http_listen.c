/* -web.listen-address: the forms process-exporter accepts, resolved to one socket address. */
#include "http/http_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

static bool parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 5)
            return false;
        v = v * 10 + (unsigned long)(s[n] - '0');
    }
    if (n == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

static int resolve_host(const char *host, int family, int flags, struct listen_addr *out, char *why,
                        size_t whylen)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -EINVAL;
    }
    /* Like Go's net.Listen, take the first address the resolver offers. */
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (out->sa.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&out->sa)->sin6_port = htons(out->port);
    } else if (out->sa.ss_family == AF_INET) {
        ((struct sockaddr_in *)&out->sa)->sin_port = htons(out->port);
    } else {
        snprintf(why, whylen, "not an IP address");
        return -EINVAL;
    }
    return 0;
}

/* ":PORT", "IPv4:PORT", "[IPv6]:PORT" or "hostname:PORT", as process-exporter accepts them. */
int http_parse_listen_address(const char *text, struct listen_addr *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    const char *colon = strrchr(text, ':');
    if (!colon) {
        snprintf(why, whylen, "missing port");
        return -EINVAL;
    }
    if (!parse_port(colon + 1, &out->port)) {
        snprintf(why, whylen, "invalid port \"%s\" (want 0 to 65535)", colon + 1);
        return -EINVAL;
    }

    size_t host_len = (size_t)(colon - text);
    if (host_len == 0) {
        out->any = true;
        return 0;
    }
    char *host = xstrndup(text, host_len);
    int rc;
    if (host[0] == '[') {
        if (host_len < 3 || host[host_len - 1] != ']') {
            snprintf(why, whylen, "unbalanced brackets around IPv6 address");
            rc = -EINVAL;
            goto out_free_host;
        }
        host[host_len - 1] = '\0';
        rc = resolve_host(host + 1, AF_INET6, AI_NUMERICHOST, out, why, whylen);
        if (rc < 0)
            snprintf(why, whylen, "\"%s\" is not an IPv6 address", host + 1);
    } else if (memchr(host, ']', host_len)) {
        snprintf(why, whylen, "unbalanced brackets around IPv6 address");
        rc = -EINVAL;
    } else if (memchr(host, ':', host_len)) {
        snprintf(why, whylen, "an IPv6 address must be written in brackets, as [::1]:9256");
        rc = -EINVAL;
    } else {
        rc = resolve_host(host, AF_UNSPEC, 0, out, why, whylen);
    }
out_free_host:
    free(host);
    return rc;
}

bool http_ipv6_available(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}
