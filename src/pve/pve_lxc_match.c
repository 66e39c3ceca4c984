/* Which processes belong to a PVE container, from their cgroup (see pve_lxc.h). */
#include <stdio.h>
#include <string.h>

#include "pve/pve_lxc.h"

/* The vmid of "<prefix><vmid>" followed by "/" or the end of `path`, or 0. */
static unsigned cgroup_vmid(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return 0;
    const char *p = path + n;
    if (*p < '1' || *p > '9')
        return 0;
    unsigned v = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && p - digits < 9)
        v = v * 10 + (unsigned)(*p++ - '0');
    return *p == '\0' || *p == '/' ? v : 0;
}

enum pve_lxc_role pve_lxc_role_of(const struct proc_identity *id, unsigned *vmid)
{
    for (size_t i = 0; i < id->ncgroups; i++) {
        if ((*vmid = cgroup_vmid(id->cgroups[i], "/lxc/")) != 0)
            return PVE_LXC_PAYLOAD;
        if ((*vmid = cgroup_vmid(id->cgroups[i], "/lxc.monitor/")) != 0)
            return PVE_LXC_MONITOR;
    }
    *vmid = 0;
    return PVE_LXC_NONE;
}

bool pve_lxc_match_identity(const struct proc_identity *id, pve_config_fn config, void *ctx,
                            struct pve_lxc_match *out)
{
    out->role = pve_lxc_role_of(id, &out->vmid);
    if (out->role == PVE_LXC_NONE)
        return false;
    char hostname[sizeof(out->name)] = "";
    if (!config(ctx, out->vmid, hostname, sizeof(hostname)))
        return false;
    snprintf(out->id, sizeof(out->id), "%u", out->vmid);
    if (hostname[0])
        snprintf(out->name, sizeof(out->name), "%s", hostname);
    else
        snprintf(out->name, sizeof(out->name), "CT%u", out->vmid);
    return true;
}
