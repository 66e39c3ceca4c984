/* acct_parse_proc_event on arbitrary bytes. */
#include <errno.h>

#include "acct/acct.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acct_event ev;
    int rc = acct_parse_proc_event(data, size, &ev);
    FUZZ_CHECK(rc == -EINVAL || rc == 0 || rc == 1);
    if (rc == 1)
        FUZZ_CHECK(ev.kind == ACCT_EVENT_OTHER || ev.kind == ACCT_EVENT_FORK ||
                   ev.kind == ACCT_EVENT_EXEC || ev.kind == ACCT_EVENT_COMM);
    return 0;
}
