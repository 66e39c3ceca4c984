/* The parsers of a container's cgroup files (cpu.stat, memory.stat, io.stat) on arbitrary bytes.
 * io.stat hands each device's name as a span of the input: it must lie within it. */
#include "fuzz.h"
#include "pve/pve_lxc.h"

struct span_check {
    const char *buf;
    size_t size;
};

static void device(void *ctx, const char *dev, size_t dev_len, const uint64_t values[PVE_IO_STATS])
{
    const struct span_check *c = ctx;
    (void)values;
    FUZZ_CHECK(dev >= c->buf && dev + dev_len <= c->buf + c->size && dev_len > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct pve_cpu_stat cpu;
    pve_parse_cpu_stat(buf, size, &cpu);
    struct pve_memory_stats memory;
    if (pve_parse_memory_stat(buf, size, &memory) == 0)
        FUZZ_CHECK(memory.has[PVE_MEM_ANON]);
    struct span_check c = {buf, size};
    pve_parse_io_stat(buf, size, device, &c);
    return 0;
}
