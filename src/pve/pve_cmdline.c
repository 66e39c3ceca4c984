/* The QEMU command line of a PVE VM, and whether a process is such a QEMU. A pure parser: see
 * pve_parse.h. */
#include <errno.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "pve/pve_parse.h"

/* QEMU's size syntax as PVE writes it: a decimal, then optionally one of the suffixes B K M G T P
 * E (either case), each a power of 1024. A number without a suffix is multiplied by `unit`: bytes
 * for object properties, MiB for the legacy `-m 2048`. Fractions ("1.5G") and hex are not
 * accepted; PVE writes neither. */
static bool parse_size(const char *s, size_t len, uint64_t unit, uint64_t *bytes)
{
    static const char suffixes[] = "bkmgtpe";
    uint64_t n;
    if (len == 0)
        return false;
    char last = s[len - 1];
    if (last >= 'A' && last <= 'Z')
        last = (char)(last - 'A' + 'a');
    const char *suffix = (last >= 'a' && last <= 'z') ? strchr(suffixes, last) : NULL;
    if (suffix) {
        unsigned shift = 10 * (unsigned)(suffix - suffixes);
        if (!pve_parse_dec(s, len - 1, &n) || n > (UINT64_MAX >> shift))
            return false;
        *bytes = n << shift;
        return true;
    }
    if (!pve_parse_dec(s, len, &n) || n > UINT64_MAX / unit)
        return false;
    *bytes = n * unit;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

enum qemu_opt {
    OPT_OTHER,
    OPT_ID,
    OPT_NAME,
    OPT_CPU,
    OPT_SMP,
    OPT_M,
    OPT_OBJECT,
    OPT_DEVICE,
    OPT_NETDEV,
    OPT_INCOMING
};

static enum qemu_opt qemu_opt_of(const char *arg)
{
    static const struct {
        const char *name;
        enum qemu_opt opt;
    } opts[] = {
        {"id", OPT_ID},         {"name", OPT_NAME},     {"cpu", OPT_CPU},
        {"smp", OPT_SMP},       {"m", OPT_M},           {"object", OPT_OBJECT},
        {"device", OPT_DEVICE}, {"netdev", OPT_NETDEV}, {"incoming", OPT_INCOMING},
    };
    if (arg[0] != '-')
        return OPT_OTHER;
    arg++;
    if (arg[0] == '-') /* QEMU takes --opt as -opt */
        arg++;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strcmp(arg, opts[i].name) == 0)
            return opts[i].opt;
    return OPT_OTHER;
}

/* A vmid as PVE writes it: decimal, no sign, no leading zero, not 0. */
static unsigned parse_vmid(const char *s)
{
    unsigned v;
    size_t len = strlen(s);
    if (len == 0 || s[0] == '0' || !pve_parse_uint(s, len, &v))
        return 0;
    return v;
}

static void parse_smp(const char *val, struct pve_cmdline *out)
{
    struct pve_kv_iter it = pve_kv_start(val, strlen(val), "cpus");
    struct pve_kv kv;
    while (pve_kv_next(&it, &kv)) {
        unsigned *dst = pve_kv_key(&kv, "cpus")      ? &out->smp_cpus
                        : pve_kv_key(&kv, "sockets") ? &out->smp_sockets
                        : pve_kv_key(&kv, "cores")   ? &out->smp_cores
                        : pve_kv_key(&kv, "maxcpus") ? &out->smp_maxcpus
                                                     : NULL;
        if (dst)
            pve_parse_uint(kv.val, kv.val_len, dst);
    }
}

/* -m [size=]N[,slots=S,maxmem=M]. QEMU reads a size without suffix as MiB (the legacy form), but
 * maxmem= without suffix as bytes. */
static void parse_m(const char *val, struct pve_cmdline *out)
{
    struct pve_kv_iter it = pve_kv_start(val, strlen(val), "size");
    struct pve_kv kv;
    uint64_t bytes;
    while (pve_kv_next(&it, &kv)) {
        if (pve_kv_key(&kv, "size") && parse_size(kv.val, kv.val_len, MIB, &bytes))
            out->m_mib = bytes / MIB;
        else if (pve_kv_key(&kv, "maxmem") && parse_size(kv.val, kv.val_len, 1, &bytes))
            out->m_maxmem_mib = bytes / MIB;
    }
}

/* -object memory-backend-{ram,file,memfd},id=..,size=..[,mem-path=..]. Only the ram-node<i> and
 * mem-dimm<i> backends are guest RAM as configured; virtiofs-mem is the same RAM once more when
 * virtiofs runs without NUMA. Returns the bytes the object adds to the guest RAM. */
static uint64_t parse_object(const char *val, struct pve_cmdline *out)
{
    struct pve_kv_iter it = pve_kv_start(val, strlen(val), "qom-type");
    struct pve_kv kv, type = {0}, id = {0}, size = {0}, mem_path = {0};
    bool hugetlb = false;
    uint64_t bytes;

    if (val[0] == '{') /* JSON form: PVE uses it only for throttle groups */
        return 0;
    while (pve_kv_next(&it, &kv)) {
        if (pve_kv_key(&kv, "qom-type"))
            type = kv;
        else if (pve_kv_key(&kv, "id"))
            id = kv;
        else if (pve_kv_key(&kv, "size"))
            size = kv;
        else if (pve_kv_key(&kv, "mem-path"))
            mem_path = kv;
        else if (pve_kv_key(&kv, "hugetlb"))
            hugetlb = pve_truthy(kv.val, kv.val_len);
    }
    if (!type.val)
        return 0;
    bool is_file = pve_span_is(type.val, type.val_len, "memory-backend-file");
    bool is_memfd = pve_span_is(type.val, type.val_len, "memory-backend-memfd");
    if (!is_file && !is_memfd && !pve_span_is(type.val, type.val_len, "memory-backend-ram"))
        return 0;

    /* PVE writes a file backend only for `hugepages:`, on /run/hugepages/kvm/<size>kB; a memfd
     * can ask for hugetlb pages itself. Hugetlb pages are missing from RSS. */
    bool has_path = mem_path.val && mem_path.val_len > 0;
    if ((has_path &&
         (is_file || pve_span_starts(mem_path.val, mem_path.val_len, "/run/hugepages/"))) ||
        (is_memfd && hugetlb))
        out->hugepages = true;

    if (!id.val || !(pve_span_is_numbered(id.val, id.val_len, "ram-node") ||
                     pve_span_is_numbered(id.val, id.val_len, "mem-dimm")))
        return 0;
    if (!size.val || !parse_size(size.val, size.val_len, 1, &bytes))
        return 0;
    return bytes;
}

static void parse_device(const char *val, struct pve_cmdline *out)
{
    struct pve_kv_iter it = pve_kv_start(val, strlen(val), "driver");
    struct pve_kv kv;
    if (val[0] == '{')
        return;
    while (pve_kv_next(&it, &kv)) {
        /* qemu64-x86_64-cpu, host-x86_64-cpu, max-arm-cpu: one per vCPU beyond -smp */
        if (pve_kv_key(&kv, "driver") && kv.val_len > 4 &&
            pve_span_ends(kv.val, kv.val_len, "-cpu")) {
            out->hotplug_cpus++;
            break;
        }
    }
}

static void parse_netdev(const char *val, struct pve_cmdline *out)
{
    struct pve_kv_iter it = pve_kv_start(val, strlen(val), "type");
    struct pve_kv kv, ifname = {0};
    bool tap = false;
    if (val[0] == '{')
        return;
    while (pve_kv_next(&it, &kv)) {
        if (pve_kv_key(&kv, "type"))
            tap = pve_span_is(kv.val, kv.val_len, "tap");
        else if (pve_kv_key(&kv, "ifname"))
            ifname = kv;
    }
    if (!tap || !ifname.val || out->ntaps >= PVE_MAX_TAPS)
        return;
    /* A name that does not fit IFNAMSIZ is not an interface the kernel could have made. */
    char *dst = out->taps[out->ntaps];
    size_t full = pve_copy_value(dst, sizeof(out->taps[0]), ifname.val, ifname.val_len, true);
    if (full == 0 || full >= sizeof(out->taps[0])) {
        dst[0] = '\0';
        return;
    }
    out->ntaps++;
}

int pve_parse_cmdline(size_t argc, const char *const *argv, struct pve_cmdline *out)
{
    uint64_t backend_bytes = 0;

    memset(out, 0, sizeof(*out));
    if (!argv)
        return -EINVAL;
    /* Every option PVE writes comes with its value as the next argument; options this parser
     * does not know are stepped over one argument at a time, their values never start with '-'. */
    for (size_t i = 1; i < argc; i++) {
        if (!argv[i])
            continue;
        enum qemu_opt opt = qemu_opt_of(argv[i]);
        if (opt == OPT_OTHER)
            continue;
        if (opt == OPT_INCOMING)
            out->incoming = true;
        if (i + 1 >= argc || !argv[i + 1])
            break;
        const char *val = argv[++i];
        struct pve_kv_iter it;
        struct pve_kv kv;
        switch (opt) {
        case OPT_ID:
            out->vmid = parse_vmid(val);
            break;
        case OPT_NAME: /* -name <name>[,debug-threads=on]; QEMU >= 11 drops debug-threads */
            it = pve_kv_start(val, strlen(val), "guest");
            while (pve_kv_next(&it, &kv))
                if (pve_kv_key(&kv, "guest"))
                    pve_copy_value(out->name, sizeof(out->name), kv.val, kv.val_len, true);
            break;
        case OPT_CPU: /* -cpu <model>[,+flag,...] */
            it = pve_kv_start(val, strlen(val), "model");
            out->cpu_model[0] = '\0';
            if (pve_kv_next(&it, &kv) && pve_kv_key(&kv, "model"))
                pve_copy_value(out->cpu_model, sizeof(out->cpu_model), kv.val, kv.val_len, true);
            break;
        case OPT_SMP:
            parse_smp(val, out);
            break;
        case OPT_M:
            parse_m(val, out);
            break;
        case OPT_OBJECT:
            backend_bytes = add_sat(backend_bytes, parse_object(val, out));
            break;
        case OPT_DEVICE:
            parse_device(val, out);
            break;
        case OPT_NETDEV:
            parse_netdev(val, out);
            break;
        case OPT_INCOMING:
        case OPT_OTHER:
            break;
        }
    }
    out->backends_mib = backend_bytes / MIB;
    return out->vmid ? 0 : -EINVAL;
}

/* "qemu-system-" followed by an architecture: x86_64, aarch64, riscv64, ppc64 ... */
static bool is_qemu_system(const char *s, size_t len)
{
    static const char prefix[] = "qemu-system-";
    const size_t plen = sizeof(prefix) - 1;
    if (len <= plen || memcmp(s, prefix, plen) != 0)
        return false;
    for (size_t i = plen; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

bool pve_is_qemu(const char *exe, const char *argv0)
{
    static const char deleted[] = " (deleted)";
    static const char bindir[] = "/usr/bin/";

    if (exe && *exe) {
        size_t len = strlen(exe);
        /* The kernel appends " (deleted)" to the exe link of a binary unlinked or replaced since
         * exec, which is what a pve-qemu-kvm upgrade does under a running VM. */
        if (pve_span_ends(exe, len, deleted))
            len -= sizeof(deleted) - 1;
        const char *base = exe + len;
        while (base > exe && base[-1] != '/')
            base--;
        if (is_qemu_system(base, (size_t)(exe + len - base)))
            return true;
    }
    if (argv0 && *argv0) {
        /* /usr/bin/kvm for the host's architecture, /usr/bin/qemu-system-<arch> for another
         * `arch:`. The argv0 test serves when the exe link cannot be read (no ptrace access). */
        if (strcmp(argv0, "/usr/bin/kvm") == 0)
            return true;
        size_t len = strlen(argv0);
        if (pve_span_starts(argv0, len, bindir) &&
            is_qemu_system(argv0 + sizeof(bindir) - 1, len - (sizeof(bindir) - 1)))
            return true;
    }
    return false;
}
