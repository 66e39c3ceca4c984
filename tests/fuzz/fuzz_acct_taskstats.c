/* acct_parse_taskstats on arbitrary bytes, the family taken from the message's own type so that
 * every input reaches the attribute walk. */
#include <errno.h>
#include <string.h>

#include "acct/acct.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t family = 0;
    if (size >= 6)
        memcpy(&family, data + 4, 2);
    struct acct_exit rec;
    int rc = acct_parse_taskstats(data, size, family, &rec);
    FUZZ_CHECK(rc == -EINVAL || rc == 0 || rc == 1);
    if (rc == 1)
        FUZZ_CHECK(FUZZ_TERMINATED(rec.comm));
    return 0;
}
