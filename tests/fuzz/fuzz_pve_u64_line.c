/* pve_parse_u64_line on arbitrary bytes. */
#include "fuzz.h"
#include "pve/pve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t value;
    pve_parse_u64_line((const char *)data, size, &value);
    return 0;
}
