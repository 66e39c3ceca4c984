/* basicauth_parse on arbitrary Authorization header values. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "http/basicauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct basicauth_credentials c;
    int rc = basicauth_parse((const char *)data, size, &c);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        /* User and password are C strings within the decoded text, without a colon in the user. */
        FUZZ_CHECK(c.user == c.buf && !strchr(c.user, ':'));
        FUZZ_CHECK(c.password == c.user + strlen(c.user) + 1);
        FUZZ_CHECK(strlen(c.user) + 1 + strlen(c.password) <= size);
    } else {
        FUZZ_CHECK(c.buf == NULL);
    }
    basicauth_credentials_free(&c);
    return 0;
}
