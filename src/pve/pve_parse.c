/* Pure parsers for what PVE shows of a QEMU VM. Each walks its input once with pointers: no
 * sscanf, no strtod (the locale would decide the decimal point), no allocation, so they are safe
 * to run on every process of every scan and to fuzz. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "pve/pve_parse.h"

#define MIB (UINT64_C(1) << 20)

/* ---- numbers ------------------------------------------------------------------------------ */

/* The whole span [s, s+len) is an unsigned decimal that fits in 64 bits. */
static bool parse_dec(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_uint(const char *s, size_t len, unsigned *out)
{
    uint64_t v;
    if (!parse_dec(s, len, &v) || v > UINT_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

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
        if (!parse_dec(s, len - 1, &n) || n > (UINT64_MAX >> shift))
            return false;
        *bytes = n << shift;
        return true;
    }
    if (!parse_dec(s, len, &n) || n > UINT64_MAX / unit)
        return false;
    *bytes = n * unit;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- strings ------------------------------------------------------------------------------ */

static bool span_is(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

static bool span_starts(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s, lit, n) == 0;
}

static bool span_ends(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s + len - n, lit, n) == 0;
}

/* A prefix followed by one or more digits and nothing else: "ram-node0", "mem-dimm12". */
static bool span_is_numbered(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    uint64_t ignored;
    return span_starts(s, len, prefix) && len > n && parse_dec(s + n, len - n, &ignored);
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence, so that a
 * name cut to fit its buffer stays valid UTF-8 for the exposition. */
static size_t utf8_cut(const char *s, size_t n)
{
    size_t i = n;
    size_t back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (want == 1)
        return n;
    return back + 1 < want ? i - 1 : n;
}

/* Copies a value into dst[cap], undoing QEMU's ",," escape of a literal comma when `unescape`.
 * Returns the length the whole value has (as strlcpy does), so callers can tell it was cut. */
static size_t copy_value(char *dst, size_t cap, const char *src, size_t len, bool unescape)
{
    size_t full = 0, n = 0;
    bool cut = false;
    for (size_t i = 0; i < len; i++) {
        if (unescape && src[i] == ',' && i + 1 < len && src[i + 1] == ',')
            i++;
        if (n + 1 < cap)
            dst[n++] = src[i];
        else
            cut = true;
        full++;
    }
    if (cut)
        n = utf8_cut(dst, n);
    dst[n] = '\0';
    return full;
}

/* ---- QEMU key=value lists ----------------------------------------------------------------- */

/* QEMU's option syntax ("QemuOpts"): fields separated by ',', a literal comma written ",,". The
 * first field may omit its key, which is then the option's implied one (-smp 16 is cpus=16,
 * -object memory-backend-ram,.. is qom-type=..). A later field without '=' is a boolean flag. */
struct kv_iter {
    const char *p, *end;
    const char *implied;
    bool first;
};

struct kv {
    const char *key, *val;
    size_t key_len, val_len;
    bool flag; /* a field without '=' that is not the implied one: key holds it, val is "on" */
};

static struct kv_iter kv_start(const char *s, size_t len, const char *implied)
{
    struct kv_iter it = {s, s + len, implied, true};
    return it;
}

static bool kv_next(struct kv_iter *it, struct kv *kv)
{
    if (it->p >= it->end)
        return false;
    const char *s = it->p;
    const char *e = s;
    while (e < it->end) {
        if (*e == ',') {
            if (e + 1 < it->end && e[1] == ',') {
                e += 2;
                continue;
            }
            break;
        }
        e++;
    }
    it->p = e < it->end ? e + 1 : e;

    /* As QEMU decides it: a field has a key when '=' comes before any ','. */
    const char *eq = s;
    while (eq < e && *eq != '=' && *eq != ',')
        eq++;
    bool first = it->first;
    it->first = false;
    if (eq < e && *eq == '=') {
        kv->key = s;
        kv->key_len = (size_t)(eq - s);
        kv->val = eq + 1;
        kv->val_len = (size_t)(e - eq - 1);
        kv->flag = false;
    } else if (first && it->implied) {
        kv->key = it->implied;
        kv->key_len = strlen(it->implied);
        kv->val = s;
        kv->val_len = (size_t)(e - s);
        kv->flag = false;
    } else {
        kv->key = s;
        kv->key_len = (size_t)(e - s);
        kv->val = "on";
        kv->val_len = 2;
        kv->flag = true;
    }
    return true;
}

static bool kv_key(const struct kv *kv, const char *key)
{
    return span_is(kv->key, kv->key_len, key);
}

static bool truthy(const char *s, size_t len)
{
    return span_is(s, len, "on") || span_is(s, len, "yes") || span_is(s, len, "true") ||
           span_is(s, len, "y") || span_is(s, len, "1");
}

/* ---- the QEMU command line ---------------------------------------------------------------- */

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
    if (len == 0 || s[0] == '0' || !parse_uint(s, len, &v))
        return 0;
    return v;
}

static void parse_smp(const char *val, struct pve_cmdline *out)
{
    struct kv_iter it = kv_start(val, strlen(val), "cpus");
    struct kv kv;
    while (kv_next(&it, &kv)) {
        unsigned *dst = kv_key(&kv, "cpus")      ? &out->smp_cpus
                        : kv_key(&kv, "sockets") ? &out->smp_sockets
                        : kv_key(&kv, "cores")   ? &out->smp_cores
                        : kv_key(&kv, "maxcpus") ? &out->smp_maxcpus
                                                 : NULL;
        if (dst)
            parse_uint(kv.val, kv.val_len, dst);
    }
}

/* -m [size=]N[,slots=S,maxmem=M]. QEMU reads a size without suffix as MiB (the legacy form), but
 * maxmem= without suffix as bytes. */
static void parse_m(const char *val, struct pve_cmdline *out)
{
    struct kv_iter it = kv_start(val, strlen(val), "size");
    struct kv kv;
    uint64_t bytes;
    while (kv_next(&it, &kv)) {
        if (kv_key(&kv, "size") && parse_size(kv.val, kv.val_len, MIB, &bytes))
            out->m_mib = bytes / MIB;
        else if (kv_key(&kv, "maxmem") && parse_size(kv.val, kv.val_len, 1, &bytes))
            out->m_maxmem_mib = bytes / MIB;
    }
}

/* -object memory-backend-{ram,file,memfd},id=..,size=..[,mem-path=..]. Only the ram-node<i> and
 * mem-dimm<i> backends are guest RAM as configured; virtiofs-mem is the same RAM once more when
 * virtiofs runs without NUMA. Returns the bytes the object adds to the guest RAM. */
static uint64_t parse_object(const char *val, struct pve_cmdline *out)
{
    struct kv_iter it = kv_start(val, strlen(val), "qom-type");
    struct kv kv, type = {0}, id = {0}, size = {0}, mem_path = {0};
    bool hugetlb = false;
    uint64_t bytes;

    if (val[0] == '{') /* JSON form: PVE uses it only for throttle groups */
        return 0;
    while (kv_next(&it, &kv)) {
        if (kv_key(&kv, "qom-type"))
            type = kv;
        else if (kv_key(&kv, "id"))
            id = kv;
        else if (kv_key(&kv, "size"))
            size = kv;
        else if (kv_key(&kv, "mem-path"))
            mem_path = kv;
        else if (kv_key(&kv, "hugetlb"))
            hugetlb = truthy(kv.val, kv.val_len);
    }
    if (!type.val)
        return 0;
    bool is_file = span_is(type.val, type.val_len, "memory-backend-file");
    bool is_memfd = span_is(type.val, type.val_len, "memory-backend-memfd");
    if (!is_file && !is_memfd && !span_is(type.val, type.val_len, "memory-backend-ram"))
        return 0;

    /* PVE writes a file backend only for `hugepages:`, on /run/hugepages/kvm/<size>kB; a memfd
     * can ask for hugetlb pages itself. Hugetlb pages are missing from RSS. */
    bool has_path = mem_path.val && mem_path.val_len > 0;
    if ((has_path && (is_file || span_starts(mem_path.val, mem_path.val_len, "/run/hugepages/"))) ||
        (is_memfd && hugetlb))
        out->hugepages = true;

    if (!id.val || !(span_is_numbered(id.val, id.val_len, "ram-node") ||
                     span_is_numbered(id.val, id.val_len, "mem-dimm")))
        return 0;
    if (!size.val || !parse_size(size.val, size.val_len, 1, &bytes))
        return 0;
    return bytes;
}

static void parse_device(const char *val, struct pve_cmdline *out)
{
    struct kv_iter it = kv_start(val, strlen(val), "driver");
    struct kv kv;
    if (val[0] == '{')
        return;
    while (kv_next(&it, &kv)) {
        /* qemu64-x86_64-cpu, host-x86_64-cpu, max-arm-cpu: one per vCPU beyond -smp */
        if (kv_key(&kv, "driver") && kv.val_len > 4 && span_ends(kv.val, kv.val_len, "-cpu")) {
            out->hotplug_cpus++;
            break;
        }
    }
}

static void parse_netdev(const char *val, struct pve_cmdline *out)
{
    struct kv_iter it = kv_start(val, strlen(val), "type");
    struct kv kv, ifname = {0};
    bool tap = false;
    if (val[0] == '{')
        return;
    while (kv_next(&it, &kv)) {
        if (kv_key(&kv, "type"))
            tap = span_is(kv.val, kv.val_len, "tap");
        else if (kv_key(&kv, "ifname"))
            ifname = kv;
    }
    if (!tap || !ifname.val || out->ntaps >= PVE_MAX_TAPS)
        return;
    /* A name that does not fit IFNAMSIZ is not an interface the kernel could have made. */
    char *dst = out->taps[out->ntaps];
    size_t full = copy_value(dst, sizeof(out->taps[0]), ifname.val, ifname.val_len, true);
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
        struct kv_iter it;
        struct kv kv;
        switch (opt) {
        case OPT_ID:
            out->vmid = parse_vmid(val);
            break;
        case OPT_NAME: /* -name <name>[,debug-threads=on]; QEMU >= 11 drops debug-threads */
            it = kv_start(val, strlen(val), "guest");
            while (kv_next(&it, &kv))
                if (kv_key(&kv, "guest"))
                    copy_value(out->name, sizeof(out->name), kv.val, kv.val_len, true);
            break;
        case OPT_CPU: /* -cpu <model>[,+flag,...] */
            it = kv_start(val, strlen(val), "model");
            out->cpu_model[0] = '\0';
            if (kv_next(&it, &kv) && kv_key(&kv, "model"))
                copy_value(out->cpu_model, sizeof(out->cpu_model), kv.val, kv.val_len, true);
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
        if (span_ends(exe, len, deleted))
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
        if (span_starts(argv0, len, bindir) &&
            is_qemu_system(argv0 + sizeof(bindir) - 1, len - (sizeof(bindir) - 1)))
            return true;
    }
    return false;
}

/* ---- /etc/pve/qemu-server/<vmid>.conf ----------------------------------------------------- */

/* Tags as PVE splits them: on ',', ';' and white space; kept in the order written. A tag that
 * does not fit whole is left out with all after it, rather than cut into a different tag. */
static void normalize_tags(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = 0;
    const char *end = s + len;
    dst[0] = '\0';
    while (s < end) {
        while (s < end && (*s == ',' || *s == ';' || *s == ' ' || *s == '\t'))
            s++;
        const char *t = s;
        while (s < end && *s != ',' && *s != ';' && *s != ' ' && *s != '\t')
            s++;
        size_t tlen = (size_t)(s - t);
        if (tlen == 0)
            continue;
        size_t need = tlen + (n ? 1 : 0);
        if (n + need >= cap)
            break;
        if (n)
            dst[n++] = ';';
        memcpy(dst + n, t, tlen);
        n += tlen;
        dst[n] = '\0';
    }
}

static bool list_has(const char *s, size_t len, const char *item)
{
    struct kv_iter it = kv_start(s, len, NULL);
    struct kv kv;
    while (kv_next(&it, &kv))
        if (kv.flag && span_is(kv.key, kv.key_len, item))
            return true;
    return false;
}

static void config_value(struct pve_config *out, const char *key, size_t key_len, const char *val,
                         size_t val_len)
{
    struct kv_iter it;
    struct kv kv;
    uint64_t n;

    if (span_is(key, key_len, "name")) {
        copy_value(out->name, sizeof(out->name), val, val_len, false);
    } else if (span_is(key, key_len, "cpu")) {
        /* [[cputype=]<model>][,flags=..][,hidden=..]... */
        out->cpu[0] = '\0';
        it = kv_start(val, val_len, "cputype");
        while (kv_next(&it, &kv))
            if (kv_key(&kv, "cputype"))
                copy_value(out->cpu, sizeof(out->cpu), kv.val, kv.val_len, false);
    } else if (span_is(key, key_len, "cores")) {
        if (!parse_uint(val, val_len, &out->cores))
            out->cores = 0;
    } else if (span_is(key, key_len, "sockets")) {
        if (!parse_uint(val, val_len, &out->sockets))
            out->sockets = 0;
    } else if (span_is(key, key_len, "vcpus")) {
        if (!parse_uint(val, val_len, &out->vcpus))
            out->vcpus = 0;
    } else if (span_is(key, key_len, "memory")) {
        /* [current=]<MiB>, since PVE 8.1 a property string */
        out->memory_mib = 0;
        it = kv_start(val, val_len, "current");
        while (kv_next(&it, &kv))
            if (kv_key(&kv, "current") && parse_dec(kv.val, kv.val_len, &n))
                out->memory_mib = n;
    } else if (span_is(key, key_len, "tags")) {
        normalize_tags(out->tags, sizeof(out->tags), val, val_len);
    } else if (span_is(key, key_len, "hotplug")) {
        /* "1" is the default set network,disk,usb; "0" is none */
        out->hotplug_cpu = list_has(val, val_len, "cpu");
    } else if (span_is(key, key_len, "template")) {
        out->template_ = truthy(val, val_len);
    } else if (span_is(key, key_len, "hugepages")) {
        unsigned mib = 0;
        if (span_is(val, val_len, "any"))
            out->hugepages = PVE_HUGEPAGES_ANY;
        else if (parse_uint(val, val_len, &mib) && (mib == 2 || mib == 1024))
            out->hugepages = mib;
        else
            out->hugepages = 0;
    }
}

int pve_parse_config(const char *buf, size_t len, struct pve_config *out)
{
    const char *end = buf + len;
    bool any = false;

    memset(out, 0, sizeof(*out));
    for (const char *p = buf, *next; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        while (eol > p && (eol[-1] == '\r' || eol[-1] == ' ' || eol[-1] == '\t'))
            eol--;
        if (eol == p || *p == '#') /* blank, or the URL-encoded description */
            continue;
        if (*p == '[') /* [PENDING], [special:cloudinit], [<snapshot>]: not the running VM */
            break;

        /* key: value, the key as qemu-server's parser takes it: [a-z][a-z0-9_-]* */
        const char *k = p;
        if (!(*k >= 'a' && *k <= 'z'))
            continue;
        while (k < eol &&
               ((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
            k++;
        if (k == eol || *k != ':')
            continue;
        const char *v = k + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        if (v == eol)
            continue;
        any = true;
        config_value(out, p, (size_t)(k - p), v, (size_t)(eol - v));
    }
    return any ? 0 : -EINVAL;
}

/* ---- derived values ----------------------------------------------------------------------- */

static unsigned clamp_uint(uint64_t v)
{
    return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

unsigned pve_vcpus(const struct pve_cmdline *cmd, const struct pve_config *config,
                   unsigned kvm_threads)
{
    if (kvm_threads > 0)
        return kvm_threads;
    if (config) {
        if (config->vcpus > 0)
            return config->vcpus;
        if (config->sockets > 0 || config->cores > 0)
            return clamp_uint((uint64_t)(config->sockets ? config->sockets : 1) *
                              (config->cores ? config->cores : 1));
    }
    /* With vCPU hotplug the command line holds -smp 1 and one -device per further vCPU. */
    if (cmd && cmd->smp_cpus > 0)
        return clamp_uint((uint64_t)cmd->smp_cpus + cmd->hotplug_cpus);
    return 0;
}

static uint64_t mib_to_bytes(uint64_t mib)
{
    return mib > UINT64_MAX / MIB ? UINT64_MAX : mib * MIB;
}

uint64_t pve_maxmem_bytes(const struct pve_cmdline *cmd, const struct pve_config *config)
{
    if (config && config->memory_mib > 0)
        return mib_to_bytes(config->memory_mib);
    if (cmd && cmd->backends_mib > 0)
        return mib_to_bytes(cmd->backends_mib);
    if (cmd && cmd->m_mib > 0)
        return mib_to_bytes(cmd->m_mib);
    return 0;
}

bool pve_is_vcpu_thread(const char *comm)
{
    if (!comm || strncmp(comm, "CPU ", 4) != 0)
        return false;
    const char *p = comm + 4;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > digits && strcmp(p, "/KVM") == 0;
}

/* ---- cgroup files ------------------------------------------------------------------------- */

/* "12.34": the kernel prints PSI averages with two decimals; no locale decides the point here. */
static bool parse_fixed(const char *s, size_t len, double *out)
{
    size_t i = 0;
    uint64_t ip = 0;
    double frac = 0, scale = 1;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0 || !parse_dec(s, i, &ip))
        return false;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* Digits past what a double holds change nothing. Taking them all, ~310 of them
             * would make frac and scale infinite and frac / scale NaN. */
            if (scale >= 1e18)
                continue;
            frac = frac * 10 + (s[i] - '0');
            scale *= 10;
        }
        if (i == f)
            return false;
    }
    if (i != len)
        return false;
    *out = (double)ip + frac / scale;
    return true;
}

int pve_parse_pressure(const char *buf, size_t len, struct pve_pressure *out)
{
    const char *end = buf + len;

    memset(out, 0, sizeof(*out));
    for (const char *p = buf, *next; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        bool some;
        if (span_starts(p, (size_t)(eol - p), "some "))
            some = true;
        else if (span_starts(p, (size_t)(eol - p), "full "))
            some = false;
        else
            continue;

        double avg10 = 0;
        uint64_t total = 0;
        bool have_avg = false, have_total = false;
        for (const char *t = p + 5, *te; t < eol; t = te) {
            while (t < eol && *t == ' ')
                t++;
            te = t;
            while (te < eol && *te != ' ')
                te++;
            size_t tlen = (size_t)(te - t);
            if (span_starts(t, tlen, "avg10="))
                have_avg = parse_fixed(t + 6, tlen - 6, &avg10);
            else if (span_starts(t, tlen, "total=")) /* microseconds */
                have_total = parse_dec(t + 6, tlen - 6, &total);
        }
        if (!have_avg || !have_total)
            continue;
        if (some) {
            out->has_some = true;
            out->some_avg10 = avg10;
            out->some_total_us = total;
        } else {
            out->has_full = true;
            out->full_avg10 = avg10;
            out->full_total_us = total;
        }
    }
    return out->has_some ? 0 : -EINVAL;
}

int pve_parse_u64_line(const char *buf, size_t len, uint64_t *out)
{
    size_t n = 0;
    while (n < len && buf[n] >= '0' && buf[n] <= '9')
        n++;
    if (n == 0)
        return -EINVAL;
    for (size_t i = n; i < len; i++)
        if (buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\t')
            return -EINVAL;
    return parse_dec(buf, n, out) ? 0 : -ERANGE;
}
