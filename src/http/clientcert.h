/* Client certificates on libmicrohttpd's TLS connections, checked the way Go's crypto/tls applies
 * a client_auth_type. libmicrohttpd 0.9.75 asks for a certificate only when it was given a trust
 * list and never checks one; these fill the gap through the connection's gnutls session. */
#ifndef PROCTRACK_HTTP_CLIENTCERT_H
#define PROCTRACK_HTTP_CLIENTCERT_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "http/webconfig.h"

/* Makes the coming handshake ask the client for a certificate (without requiring one: a client
 * without one is answered 403, which says more than a failed handshake). For
 * MHD_CONNECTION_NOTIFY_STARTED, which runs before the handshake. */
void clientcert_request(struct MHD_Connection *conn);

/* Whether the connection's client certificate satisfies `policy`. If not, writes why into `why`
 * ("client certificate required", "client certificate rejected: ...issuer is unknown"). A
 * certificate is verified against client_ca_file, for the TLS client purpose when it names
 * purposes, and for its validity dates. */
bool clientcert_check(struct MHD_Connection *conn, enum webconfig_client_auth policy, char *why,
                      size_t whylen);

/* Whether a TLS 1.0-1.2 connection's cipher suite is one the web config's cipher_suites lists
 * (webconfig_tls_suite_allowed); true for TLS 1.3, plain HTTP, or no cipher_suites. */
bool clientcert_suite_allowed(struct MHD_Connection *conn, const struct webconfig *wc);

#endif /* PROCTRACK_HTTP_CLIENTCERT_H */
