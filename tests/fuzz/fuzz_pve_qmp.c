/* pve_qmp_parse_blockstats and pve_qmp_parse_block on arbitrary bytes, one after the other into
 * the same disks, as the client does with a VM's two replies; then pve_disk_classify on each. */
#include "fuzz.h"
#include "pve/pve_qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pve_qmp_disks disks;
    disks.n = 0;
    char *buf = fuzz_copy(data, size);
    pve_qmp_parse_blockstats(buf, size, &disks);
    pve_qmp_parse_block(buf, size, &disks);
    free(buf);
    FUZZ_CHECK(disks.n <= PVE_QMP_DISKS_MAX);
    for (size_t i = 0; i < disks.n; i++) {
        const struct pve_qmp_disk *d = &disks.disk[i];
        FUZZ_CHECK(FUZZ_TERMINATED(d->name) && d->name[0] != '\0');
        FUZZ_CHECK(FUZZ_TERMINATED(d->block_id) && FUZZ_TERMINATED(d->path));
        FUZZ_CHECK(FUZZ_TERMINATED(d->format) && FUZZ_TERMINATED(d->attached_to));
        FUZZ_CHECK(FUZZ_TERMINATED(d->cache_mode) && FUZZ_TERMINATED(d->detect_zeroes));
        struct pve_disk_class c;
        pve_disk_classify(d, &c);
        FUZZ_CHECK(FUZZ_TERMINATED(c.type) && FUZZ_TERMINATED(c.vol_name));
        FUZZ_CHECK(FUZZ_TERMINATED(c.pool) && FUZZ_TERMINATED(c.pool_name));
        FUZZ_CHECK(FUZZ_TERMINATED(c.cluster_id) && FUZZ_TERMINATED(c.vg_name));
        /* In name order, each name once. */
        FUZZ_CHECK(i == 0 || strcmp(disks.disk[i - 1].name, d->name) < 0);
    }
    return 0;
}
