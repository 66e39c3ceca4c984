/* The main section of a PVE VM config, /etc/pve/qemu-server/<vmid>.conf. A pure parser: see
 * pve_parse.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pve/pve_lex.h"
#include "pve/pve_parse.h"

void pve_normalize_tags(char *dst, size_t cap, const char *s, size_t len)
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
    struct pve_kv_iter it = pve_kv_start(s, len, NULL);
    struct pve_kv kv;
    while (pve_kv_next(&it, &kv))
        if (kv.flag && pve_span_is(kv.key, kv.key_len, item))
            return true;
    return false;
}

/* PVE's NIC models (qemu-server's $nic_model_list). */
static const char *const nic_models[] = {
    "e1000",    "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e",  "i82551", "i82557b",
    "i82559er", "ne2k_isa",      "ne2k_pci",      "pcnet",         "rtl8139", "virtio", "vmxnet3",
};

static const char *nic_model(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(nic_models) / sizeof(nic_models[0]); i++)
        if (pve_span_is(s, len, nic_models[i]))
            return nic_models[i];
    return NULL;
}

/* net<n>: [model=]<model>[=<mac>] or <model>=<mac>, then bridge=, queues=, .. A line without a
 * model PVE knows is left out: qemu-server would not start the VM with it. */
static void config_net(struct pve_config *out, unsigned index, const char *val, size_t val_len)
{
    struct pve_config_net net = {.index = index};
    const char *model = NULL;
    struct pve_kv_iter it = pve_kv_start(val, val_len, "model");
    struct pve_kv kv;
    while (pve_kv_next(&it, &kv)) {
        const char *m;
        if (pve_kv_key(&kv, "model")) {
            model = nic_model(kv.val, kv.val_len);
        } else if (pve_kv_key(&kv, "macaddr")) {
            pve_copy_value(net.macaddr, sizeof(net.macaddr), kv.val, kv.val_len, false);
        } else if (pve_kv_key(&kv, "bridge")) {
            net.bridged = kv.val_len > 0;
        } else if (pve_kv_key(&kv, "queues")) {
            if (!pve_parse_uint(kv.val, kv.val_len, &net.queues))
                net.queues = 0;
        } else if (!kv.flag && (m = nic_model(kv.key, kv.key_len)) != NULL) {
            model = m; /* virtio=BC:24:11:96:18:29 */
            pve_copy_value(net.macaddr, sizeof(net.macaddr), kv.val, kv.val_len, false);
        }
    }
    if (!model)
        return;
    snprintf(net.model, sizeof(net.model), "%s", model);
    /* Keys are sorted as text (net1, net10, net2): keep the NICs in index order; a repeated key
     * overwrites, as in PVE's parser. */
    size_t pos = 0;
    while (pos < out->nnets && out->nets[pos].index < index)
        pos++;
    if (pos < out->nnets && out->nets[pos].index == index) {
        out->nets[pos] = net;
        return;
    }
    if (out->nnets == PVE_MAX_NETS)
        return;
    memmove(&out->nets[pos + 1], &out->nets[pos], (out->nnets - pos) * sizeof(out->nets[0]));
    out->nets[pos] = net;
    out->nnets++;
}

void pve_nic_facts(unsigned vmid, const struct pve_config_net *net, struct pve_nic_facts *out)
{
    bool virtio = strcmp(net->model, "virtio") == 0;
    snprintf(out->netdev, sizeof(out->netdev), "net%u", net->index);
    out->ifname[0] = '\0';
    if (net->bridged)
        snprintf(out->ifname, sizeof(out->ifname), "tap%ui%u", vmid, net->index);
    out->type = net->bridged ? "tap" : "user";
    out->model = virtio ? "virtio-net-pci" : net->model;
    size_t i = 0;
    for (; net->macaddr[i] && i < sizeof(out->macaddr) - 1; i++) {
        char c = net->macaddr[i];
        out->macaddr[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out->macaddr[i] = '\0';
    out->queues = virtio && net->queues > 0 ? net->queues : 1;
}

static void config_value(struct pve_config *out, const char *key, size_t key_len, const char *val,
                         size_t val_len)
{
    struct pve_kv_iter it;
    struct pve_kv kv;
    uint64_t n;

    unsigned index;
    if (pve_span_is_numbered(key, key_len, "net")) {
        if (pve_parse_uint(key + 3, key_len - 3, &index) && index < PVE_MAX_NETS)
            config_net(out, index, val, val_len);
    } else if (pve_span_is(key, key_len, "name")) {
        pve_copy_value(out->name, sizeof(out->name), val, val_len, false);
    } else if (pve_span_is(key, key_len, "cpu")) {
        /* [[cputype=]<model>][,flags=..][,hidden=..]... */
        out->cpu[0] = '\0';
        it = pve_kv_start(val, val_len, "cputype");
        while (pve_kv_next(&it, &kv))
            if (pve_kv_key(&kv, "cputype"))
                pve_copy_value(out->cpu, sizeof(out->cpu), kv.val, kv.val_len, false);
    } else if (pve_span_is(key, key_len, "cores")) {
        if (!pve_parse_uint(val, val_len, &out->cores))
            out->cores = 0;
    } else if (pve_span_is(key, key_len, "sockets")) {
        if (!pve_parse_uint(val, val_len, &out->sockets))
            out->sockets = 0;
    } else if (pve_span_is(key, key_len, "vcpus")) {
        if (!pve_parse_uint(val, val_len, &out->vcpus))
            out->vcpus = 0;
    } else if (pve_span_is(key, key_len, "memory")) {
        /* [current=]<MiB>, since PVE 8.1 a property string */
        out->memory_mib = 0;
        it = pve_kv_start(val, val_len, "current");
        while (pve_kv_next(&it, &kv))
            if (pve_kv_key(&kv, "current") && pve_parse_dec(kv.val, kv.val_len, &n))
                out->memory_mib = n;
    } else if (pve_span_is(key, key_len, "tags")) {
        pve_normalize_tags(out->tags, sizeof(out->tags), val, val_len);
    } else if (pve_span_is(key, key_len, "hotplug")) {
        /* "1" is the default set network,disk,usb; "0" is none */
        out->hotplug_cpu = list_has(val, val_len, "cpu");
    } else if (pve_span_is(key, key_len, "template")) {
        out->template_ = pve_truthy(val, val_len);
    } else if (pve_span_is(key, key_len, "hugepages")) {
        unsigned mib = 0;
        if (pve_span_is(val, val_len, "any"))
            out->hugepages = PVE_HUGEPAGES_ANY;
        else if (pve_parse_uint(val, val_len, &mib) && (mib == 2 || mib == 1024))
            out->hugepages = mib;
        else
            out->hugepages = 0;
    }
}

bool pve_config_walk(const char *buf, size_t len, pve_config_kv_fn fn, void *ctx)
{
    const char *end = buf + len;
    bool any = false;

    for (const char *p = buf, *next; p < end; p = next) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        while (eol > p && (eol[-1] == '\r' || eol[-1] == ' ' || eol[-1] == '\t'))
            eol--;
        if (eol == p || *p == '#') /* blank, or the URL-encoded description */
            continue;
        if (*p == '[') /* [PENDING], [special:cloudinit], [<snapshot>]: not the running guest */
            break;

        /* key: value, the key as PVE's config parsers take it: [a-z][a-z0-9_-]* (an LXC
         * container's raw `lxc.*` keys have dots and are skipped) */
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
        fn(ctx, p, (size_t)(k - p), v, (size_t)(eol - v));
    }
    return any;
}

static void config_kv(void *ctx, const char *key, size_t key_len, const char *val, size_t val_len)
{
    config_value(ctx, key, key_len, val, val_len);
}

int pve_parse_config(const char *buf, size_t len, struct pve_config *out)
{
    memset(out, 0, sizeof(*out));
    return pve_config_walk(buf, len, config_kv, out) ? 0 : -EINVAL;
}
