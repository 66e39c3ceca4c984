/* proc_parse_schedstat on arbitrary bytes. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc_schedstat sched;
    proc_parse_schedstat((const char *)data, size, &sched);
    return 0;
}
