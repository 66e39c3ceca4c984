/* pve_parse_config on arbitrary bytes, then the vCPU and memory sums on what it found. */
#include "fuzz.h"
#include "pve/pve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pve_config config;
    if (pve_parse_config((const char *)data, size, &config) != 0)
        return 0;
    FUZZ_CHECK(FUZZ_TERMINATED(config.name) && FUZZ_TERMINATED(config.cpu) &&
               FUZZ_TERMINATED(config.tags));
    pve_vcpus(NULL, &config, 0);
    pve_maxmem_bytes(NULL, &config);
    return 0;
}
