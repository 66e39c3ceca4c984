/* pve_parse_config on arbitrary bytes, then the vCPU and memory sums and the NICs' facts on what
 * it found. */
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
    FUZZ_CHECK(config.nnets <= PVE_MAX_NETS);
    for (size_t i = 0; i < config.nnets; i++) {
        struct pve_nic_facts f;
        pve_nic_facts(4294967295u, &config.nets[i], &f);
        FUZZ_CHECK(FUZZ_TERMINATED(config.nets[i].macaddr) && FUZZ_TERMINATED(f.ifname) &&
                   FUZZ_TERMINATED(f.macaddr) && f.queues >= 1);
        FUZZ_CHECK(i == 0 || config.nets[i - 1].index < config.nets[i].index);
    }
    return 0;
}
