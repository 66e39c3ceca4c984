/* pve_parse_lxc_config on arbitrary bytes, then the memory PVE gives the container. */
#include "fuzz.h"
#include "pve/pve_lxc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pve_lxc_config config;
    if (pve_parse_lxc_config((const char *)data, size, &config) != 0)
        return 0;
    FUZZ_CHECK(FUZZ_TERMINATED(config.hostname) && FUZZ_TERMINATED(config.tags) &&
               FUZZ_TERMINATED(config.ostype) && FUZZ_TERMINATED(config.arch));
    FUZZ_CHECK(pve_lxc_maxmem_bytes(&config) >= (config.memory_mib ? 1u : 512u) << 20 ||
               pve_lxc_maxmem_bytes(&config) == UINT64_MAX);
    return 0;
}
