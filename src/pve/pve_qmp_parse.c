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

int pve_qmp_parse_blockstats(const char *data, size_t len, struct pve_qmp_disks *disks)
{
    json_t *root;
    const json_t *array = return_array(data, len, &root);
    int rc = array ? 0 : -EPROTO;
    size_t i;
    const json_t *entry;
    json_array_foreach(array, i, entry)
    {
        char name[sizeof(disks->disk[0].name)];
        const json_t *stats = json_object_get(entry, "stats");
        if (!entry_name(entry, name, sizeof(name)) || !json_is_object(stats))
            continue;
        struct pve_qmp_disk *d = disk_get(disks, name);
        if (!d) {
            rc = -E2BIG;
            break;
        }
        for (int s = 0; s < PVE_DISK_STATS; s++) {
            json_int_t v = json_integer_value(json_object_get(stats, stat_keys[s]));
            d->stats[s] = v > 0 ? (uint64_t)v : 0;
        }
        d->has_stats = true;
    }
    json_decref(root);
    return rc;
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
    /* The device it is attached to: the qdev id. */
    if (!pve_qmp_disk_name(NULL, string_member(entry, "qdev"), d->attached_to,
                           sizeof(d->attached_to)))
        d->attached_to[0] = '\0';
    cache_mode(json_object_get(inserted, "cache"), d->cache_mode, sizeof(d->cache_mode));
    s = string_member(inserted, "detect_zeroes");
    if (!s || !copy(d->detect_zeroes, sizeof(d->detect_zeroes), s))
        d->detect_zeroes[0] = '\0';
    d->read_only = json_is_true(json_object_get(inserted, "ro"));
    d->has_info = true;
}

int pve_qmp_parse_block(const char *data, size_t len, struct pve_qmp_disks *disks)
{
    json_t *root;
    const json_t *array = return_array(data, len, &root);
    int rc = array ? 0 : -EPROTO;
    size_t i;
    const json_t *entry;
    json_array_foreach(array, i, entry)
    {
        char name[sizeof(disks->disk[0].name)];
        const json_t *inserted = json_object_get(entry, "inserted");
        if (!entry_name(entry, name, sizeof(name)))
            continue;
        struct pve_qmp_disk *d = disk_get(disks, name);
        if (!d) {
            rc = -E2BIG;
            break;
        }
        if (json_is_object(inserted))
            fill_info(d, entry, inserted);
    }
    json_decref(root);
    return rc;
}
