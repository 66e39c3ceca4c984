/* proc_parse_io on arbitrary bytes. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc_io io;
    proc_parse_io((const char *)data, size, &io);
    return 0;
}
