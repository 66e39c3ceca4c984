/* The replies of query-blockstats and query-block (see pve_qmp.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pve/pve_qmp.h"

static const char *const stat_keys[PVE_DISK_STATS] = {
    "rd_bytes",         "wr_bytes",         "rd_operations",    "wr_operations",
    "flush_operations", "rd_total_time_ns", "wr_total_time_ns", "flush_total_time_ns",
};

const char *pve_disk_stat_key(enum pve_disk_stat stat)
{
    return stat < PVE_DISK_STATS ? stat_keys[stat] : "?";
}

static bool copy(char *to, size_t size, const char *from)
{
    size_t n = strlen(from);
    if (n >= size)
        return false;
    memcpy(to, from, n + 1);
    return true;
}

bool pve_qmp_disk_name(const char *device, const char *qdev, char *name, size_t size)
{
    static const char drive[] = "drive-";
    static const char peripheral[] = "/machine/peripheral/";
    if (device && device[0]) {
        if (strncmp(device, drive, sizeof(drive) - 1) != 0 || !device[sizeof(drive) - 1])
            return false;
        return copy(name, size, device + sizeof(drive) - 1);
    }
    if (!qdev || !qdev[0])
        return false;
    if (qdev[0] != '/')
        return copy(name, size, qdev);
    if (strncmp(qdev, peripheral, sizeof(peripheral) - 1) != 0)
        return false;
    const char *id = qdev + sizeof(peripheral) - 1;
    size_t n = strcspn(id, "/");
    if (n == 0 || n >= size)
        return false;
    memcpy(name, id, n);
    name[n] = '\0';
    return true;
}

/* The disk of that name, added in name order when new; NULL when full. */
static struct pve_qmp_disk *disk_get(struct pve_qmp_disks *disks, const char *name)
{
    size_t pos = 0;
    while (pos < disks->n) {
        int c = strcmp(disks->disk[pos].name, name);
        if (c == 0)
            return &disks->disk[pos];
        if (c > 0)
            break;
        pos++;
    }
    if (disks->n == PVE_QMP_DISKS_MAX)
        return NULL;
    memmove(&disks->disk[pos + 1], &disks->disk[pos], (disks->n - pos) * sizeof(disks->disk[0]));
    disks->n++;
    struct pve_qmp_disk *d = &disks->disk[pos];
    memset(d, 0, sizeof(*d));
    copy(d->name, sizeof(d->name), name);
    return d;
}

static const char *string_member(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

/* The array of a {"return": [...]} reply, or NULL. The reply is one line; *root is freed by the
 * caller. */
static const json_t *return_array(const char *data, size_t len, json_t **root)
{
    *root = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, NULL);
    const json_t *ret = json_object_get(*root, "return");
    return json_is_array(ret) ? ret : NULL;
}

/* A backend's PVE name, or false to skip it. */
static bool entry_name(const json_t *entry, char *name, size_t size)
{
    return json_is_object(entry) && pve_qmp_disk_name(string_member(entry, "device"),
                                                      string_member(entry, "qdev"), name, size);
}

/* Hands every entry of a reply's array that is a PVE disk, and has the object `member` when that
 * is not NULL, to `take`, with its disk (made when new). */
static int each_disk(const char *data, size_t len, struct pve_qmp_disks *disks, const char *member,
                     void (*take)(struct pve_qmp_disk *d, const json_t *entry))
{
    json_t *root;
    const json_t *array = return_array(data, len, &root);
    int rc = array ? 0 : -EPROTO;
    size_t i;
    const json_t *entry;
    json_array_foreach(array, i, entry)
    {
        char name[sizeof(disks->disk[0].name)];
        if (!entry_name(entry, name, sizeof(name)) ||
            (member && !json_is_object(json_object_get(entry, member))))
            continue;
        struct pve_qmp_disk *d = disk_get(disks, name);
        if (!d) {
            rc = -E2BIG;
            break;
        }
        take(d, entry);
    }
    json_decref(root);
    return rc;
}

static void take_stats(struct pve_qmp_disk *d, const json_t *entry)
{
    const json_t *stats = json_object_get(entry, "stats");
    for (int s = 0; s < PVE_DISK_STATS; s++) {
        json_int_t v = json_integer_value(json_object_get(stats, stat_keys[s]));
        d->stats[s] = v > 0 ? (uint64_t)v : 0;
    }
    d->has_stats = true;
}

int pve_qmp_parse_blockstats(const char *data, size_t len, struct pve_qmp_disks *disks)
{
    return each_disk(data, len, disks, "stats", take_stats);
}

/* The innermost "filename" of a json: pseudo-path's nested "file" objects: the image itself. */
static void json_path(const char *pseudo, char *path, size_t size)
{
    json_t *root = json_loads(pseudo, 0, NULL);
    const char *found = NULL;
    const json_t *node = root;
    for (int depth = 0; json_is_object(node) && depth < 16; depth++) {
        const json_t *file = json_object_get(node, "file");
        if (json_is_string(file)) {
            found = json_string_value(file);
            break;
        }
        const char *filename = string_member(node, "filename");
        if (filename)
            found = filename;
        node = file;
    }
    if (!found || !copy(path, size, found))
        path[0] = '\0';
    json_decref(root);
}

/* `info block`'s cache mode, from the "cache" object. */
static void cache_mode(const json_t *cache, char *mode, size_t size)
{
    if (!json_is_object(cache)) {
        mode[0] = '\0';
        return;
    }
    snprintf(mode, size, "%s%s%s",
             json_is_true(json_object_get(cache, "writeback")) ? "writeback" : "writethrough",
             json_is_true(json_object_get(cache, "direct")) ? ", direct" : "",
             json_is_true(json_object_get(cache, "no-flush")) ? ", ignore flushes" : "");
}

static void fill_info(struct pve_qmp_disk *d, const json_t *entry, const json_t *inserted)
{
    const char *s = string_member(inserted, "node-name");
    if (!s || !copy(d->block_id, sizeof(d->block_id), s))
        d->block_id[0] = '\0';
    s = string_member(inserted, "file");
    if (s && strncmp(s, "json:", 5) == 0)
        json_path(s + 5, d->path, sizeof(d->path));
    else if (!s || !copy(d->path, sizeof(d->path), s))
        d->path[0] = '\0';
    /* The image's format, below PVE 9's throttle node. */
    const json_t *image = json_object_get(inserted, "image");
    for (int depth = 0; depth < 16; depth++) {
        const json_t *below = json_object_get(image, "backing-image");
        s = string_member(image, "format");
        if (!s || strcmp(s, "throttle") != 0 || !json_is_object(below))
            break;
        image = below;
    }
    if (!s || !copy(d->format, sizeof(d->format), s))
        d->format[0] = '\0';
    json_int_t size = json_integer_value(json_object_get(image, "virtual-size"));
    d->size_bytes = size > 0 ? (uint64_t)size : 0;
    /* What `info block` says it is attached to: the qdev. */
    s = string_member(entry, "qdev");
    if (!s || !copy(d->attached_to, sizeof(d->attached_to), s))
        d->attached_to[0] = '\0';
    cache_mode(json_object_get(inserted, "cache"), d->cache_mode, sizeof(d->cache_mode));
    s = string_member(inserted, "detect_zeroes");
    if (!s || !copy(d->detect_zeroes, sizeof(d->detect_zeroes), s))
        d->detect_zeroes[0] = '\0';
    d->read_only = json_is_true(json_object_get(inserted, "ro"));
    d->has_info = true;
}

static void take_info(struct pve_qmp_disk *d, const json_t *entry)
{
    const json_t *inserted = json_object_get(entry, "inserted");
    if (json_is_object(inserted))
        fill_info(d, entry, inserted);
}

int pve_qmp_parse_block(const char *data, size_t len, struct pve_qmp_disks *disks)
{
    return each_disk(data, len, disks, NULL, take_info);
}

/* Copies [from, from + n) as a string; false when it does not fit. */
static bool copy_span(char *to, size_t size, const char *from, size_t n)
{
    if (n >= size)
        return false;
    memcpy(to, from, n);
    to[n] = '\0';
    return true;
}

/* "vm-<digits>-disk-<digits>" */
static bool lvm_volume(const char *s)
{
    static const char vm[] = "vm-", disk[] = "-disk-";
    if (strncmp(s, vm, sizeof(vm) - 1) != 0)
        return false;
    s += sizeof(vm) - 1;
    size_t n = strspn(s, "0123456789");
    if (n == 0 || strncmp(s + n, disk, sizeof(disk) - 1) != 0)
        return false;
    s += n + sizeof(disk) - 1;
    n = strspn(s, "0123456789");
    return n > 0 && s[n] == '\0';
}

void pve_disk_classify(const struct pve_qmp_disk *disk, struct pve_disk_class *out)
{
    static const char zvol[] = "/dev/zvol/", rbd[] = "/dev/rbd-pve/";
    memset(out, 0, sizeof(*out));
    copy(out->type, sizeof(out->type), disk->format);
    const char *path = disk->path;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(disk->format, "qcow2") == 0) {
        size_t dot = strcspn(base, ".");
        if (dot > 0 && base[dot] == '.')
            copy_span(out->vol_name, sizeof(out->vol_name), base, dot);
    }
    if (strncmp(path, zvol, sizeof(zvol) - 1) == 0) {
        copy(out->type, sizeof(out->type), "zvol");
        const char *rest = path + sizeof(zvol) - 1;
        if (base > rest) {
            copy_span(out->pool, sizeof(out->pool), rest, (size_t)(base - 1 - rest));
            copy(out->vol_name, sizeof(out->vol_name), base);
        }
    } else if (strncmp(path, rbd, sizeof(rbd) - 1) == 0) {
        copy(out->type, sizeof(out->type), "rbd");
        /* The last three components: cluster, pool, volume. */
        const char *rest = path + sizeof(rbd) - 1;
        const char *cut[3] = {NULL, NULL, NULL};
        for (const char *p = rest; *p; p++)
            if (*p == '/') {
                cut[0] = cut[1];
                cut[1] = cut[2];
                cut[2] = p;
            }
        if (cut[1]) {
            const char *cluster = cut[0] ? cut[0] + 1 : rest;
            copy_span(out->cluster_id, sizeof(out->cluster_id), cluster,
                      (size_t)(cut[1] - cluster));
            copy_span(out->pool, sizeof(out->pool), cut[1] + 1, (size_t)(cut[2] - cut[1] - 1));
            copy(out->pool_name, sizeof(out->pool_name), out->pool);
            copy(out->vol_name, sizeof(out->vol_name), base);
        }
    } else if (strncmp(path, "/dev/", 5) == 0 && lvm_volume(base)) {
        const char *vg = path + 5;
        if (base - 1 > vg && memchr(vg, '/', (size_t)(base - 1 - vg)) == NULL) {
            copy(out->type, sizeof(out->type), "lvm");
            copy_span(out->vg_name, sizeof(out->vg_name), vg, (size_t)(base - 1 - vg));
            copy(out->vol_name, sizeof(out->vol_name), base);
        }
    }
}
