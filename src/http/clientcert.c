#include "http/clientcert.h"

#include <stdio.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

static gnutls_session_t session_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info ? (gnutls_session_t)info->tls_session : NULL;
}

void clientcert_request(struct MHD_Connection *conn)
{
    gnutls_session_t session = session_of(conn);
    if (session)
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
}

bool clientcert_suite_allowed(struct MHD_Connection *conn, const struct webconfig *wc)
{
    gnutls_session_t session = wc->nciphers ? session_of(conn) : NULL;
    if (!session || gnutls_protocol_get_version(session) == GNUTLS_TLS1_3)
        return true;
    const char *kx = gnutls_kx_get_name(gnutls_kx_get(session));
    const char *cipher = gnutls_cipher_get_name(gnutls_cipher_get(session));
    const char *mac = gnutls_mac_get_name(gnutls_mac_get(session));
    return kx && cipher && mac && webconfig_tls_suite_allowed(wc, kx, cipher, mac);
}

bool clientcert_check(struct MHD_Connection *conn, enum webconfig_client_auth policy, char *why,
                      size_t whylen)
{
    if (policy == WEBCONFIG_NO_CLIENT_CERT || policy == WEBCONFIG_REQUEST_CLIENT_CERT)
        return true;
    gnutls_session_t session = session_of(conn);
    if (!session) {
        snprintf(why, whylen, "a client certificate needs TLS");
        return false;
    }
    unsigned count = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &count);
    if (!chain || count == 0) {
        if (policy == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN)
            return true;
        snprintf(why, whylen, "client certificate required");
        return false;
    }
    if (policy == WEBCONFIG_REQUIRE_ANY_CLIENT_CERT)
        return true;

    /* Go's crypto/tls verifies client certificates for ExtKeyUsageClientAuth too. */
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
                                     (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
    if (rc < 0) {
        snprintf(why, whylen, "client certificate not verified: %s", gnutls_strerror(rc));
        return false;
    }
    if (status == 0)
        return true;
    gnutls_datum_t text = {NULL, 0};
    if (gnutls_certificate_verification_status_print(status, gnutls_certificate_type_get(session),
                                                     &text, 0) == 0) {
        snprintf(why, whylen, "client certificate rejected: %s", (const char *)text.data);
        gnutls_free(text.data);
    } else {
        snprintf(why, whylen, "client certificate rejected (status 0x%x)", status);
    }
    return false;
}
