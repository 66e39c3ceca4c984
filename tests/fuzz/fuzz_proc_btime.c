/* proc_parse_btime on arbitrary bytes: the whole of /proc/stat. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t btime;
    if (proc_parse_btime((const char *)data, size, &btime) == 0)
        FUZZ_CHECK(btime > 0);
    return 0;
}
