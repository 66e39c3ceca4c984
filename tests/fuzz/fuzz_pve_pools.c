/* pve_pools_load on arbitrary bytes (user.cfg), then every guest it lists found again, and the
 * levels of every pool name. */
#include "fuzz.h"
#include "pve/pve_pools.h"

static void check_member(void *arg, unsigned vmid, const char *pool, size_t pool_len)
{
    const struct pve_pools *pools = arg;
    /* Every listed guest has a pool (the first that lists it), and that is a pool of the file. */
    FUZZ_CHECK(pool_len > 0 && !memchr(pool, '\0', pool_len));
    FUZZ_CHECK(pve_pools_find(pools, vmid)[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    struct pve_pools pools = {0};
    pve_pools_load(&pools, buf, size);
    for (size_t i = 1; i < pools.count; i++)
        FUZZ_CHECK(pools.members[i - 1].vmid < pools.members[i].vmid);
    pve_parse_pools(buf, size, check_member, &pools);
    for (size_t i = 0; i < pools.count; i++) {
        struct pve_pool_levels lv;
        pve_pool_levels(pools.names.buf + pools.members[i].name, &lv);
        FUZZ_CHECK(lv.count >= 1);
        for (size_t k = 0; k < PVE_POOL_LEVELS; k++)
            FUZZ_CHECK(k < lv.count || lv.len[k] == 0);
    }
    pve_pools_free(&pools);
    free(buf);
    return 0;
}
