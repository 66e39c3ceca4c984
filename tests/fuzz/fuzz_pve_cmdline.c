/* pve_parse_cmdline on an argv made of the input split at NULs, as /proc/PID/cmdline is; then
 * pve_is_qemu and the vCPU and memory sums on what it found. */
#include "fuzz.h"
#include "proc/proc.h"
#include "pve/pve_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    size_t argc = proc_split_cmdline(buf, size, NULL, 0);
    const char **argv = malloc((argc + 1) * sizeof(*argv));
    if (!argv)
        abort();
    proc_split_cmdline(buf, size, argv, argc);

    struct pve_cmdline cmd;
    pve_parse_cmdline(argc, argv, &cmd);
    FUZZ_CHECK(FUZZ_TERMINATED(cmd.name) && FUZZ_TERMINATED(cmd.cpu_model));
    FUZZ_CHECK(cmd.ntaps <= PVE_MAX_TAPS);
    for (size_t i = 0; i < cmd.ntaps; i++)
        FUZZ_CHECK(FUZZ_TERMINATED(cmd.taps[i]));
    pve_is_qemu(argc ? argv[0] : NULL, argc ? argv[0] : NULL);
    pve_vcpus(&cmd, NULL, 0);
    pve_maxmem_bytes(&cmd, NULL);

    free(argv);
    free(buf);
    return 0;
}
