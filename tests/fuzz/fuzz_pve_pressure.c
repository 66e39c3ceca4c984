/* pve_parse_pressure on arbitrary bytes. */
#include "fuzz.h"
#include "pve/pve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pve_pressure pressure;
    if (pve_parse_pressure((const char *)data, size, &pressure) == 0)
        FUZZ_CHECK(pressure.has_some && pressure.some_avg10 >= 0);
    return 0;
}
