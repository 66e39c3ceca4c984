/* proc_parse_smaps_rollup on arbitrary bytes. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t pss, swap_pss;
    proc_parse_smaps_rollup((const char *)data, size, &pss, &swap_pss);
    return 0;
}
