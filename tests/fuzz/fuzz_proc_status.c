/* proc_parse_status on arbitrary bytes. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc_status status;
    proc_parse_status((const char *)data, size, &status);
    return 0;
}
