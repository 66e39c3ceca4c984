/* pve_parse_status_memory on arbitrary bytes. */
#include "fuzz.h"
#include "pve/pve_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pve_status_memory sm;
    if (pve_parse_status_memory((const char *)data, size, &sm) != 0)
        return 0;
    FUZZ_CHECK(sm.nmem <= PVE_MEM_KEYS);
    for (size_t i = 0; i < sm.nmem; i++) {
        FUZZ_CHECK(FUZZ_TERMINATED(sm.key[i]));
        FUZZ_CHECK(sm.key[i][0] != '\0');
    }
    return 0;
}
