/* proc_parse_vmstat_swap on arbitrary bytes: the whole of /proc/vmstat. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t moves;
    (void)proc_parse_vmstat_swap((const char *)data, size, &moves);
    return 0;
}
