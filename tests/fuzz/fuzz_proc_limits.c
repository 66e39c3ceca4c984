/* proc_parse_limits_nofile on arbitrary bytes. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t soft;
    proc_parse_limits_nofile((const char *)data, size, &soft);
    return 0;
}
