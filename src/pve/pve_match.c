#include "pve/pve_match.h"

#include <stdio.h>
#include <string.h>

/* The vmid of a "/qemu.slice/<vmid>.scope" cgroup, or 0. */
static unsigned scope_vmid(const struct proc_identity *id)
{
    static const char slice[] = "/qemu.slice/";
    for (size_t i = 0; i < id->ncgroups; i++) {
        const char *p = strstr(id->cgroups[i], slice);
        if (!p)
            continue;
        p += sizeof(slice) - 1;
        unsigned v = 0;
        const char *digits = p;
        while (*p >= '0' && *p <= '9' && v < 100000000u)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (p > digits && strcmp(p, ".scope") == 0 && v > 0)
            return v;
    }
    return 0;
}

enum pve_role pve_role_of(const struct proc_identity *id, unsigned *vmid, struct pve_cmdline *cmd)
{
    const char *argv0 = id->argc ? id->argv[0] : NULL;
    if (pve_is_qemu(id->exe, argv0)) {
        struct pve_cmdline local;
        struct pve_cmdline *c = cmd ? cmd : &local;
        if (pve_parse_cmdline(id->argc, id->argv, c) != 0)
            return PVE_ROLE_NONE;
        /* Anyone can start a binary as /usr/bin/kvm with `-id 100`; only root can put it in the
         * VM's scope, where qemu-server starts every VM. Outside it, it is no VM (and no
         * helper: its scope is not the VM's). */
        if (scope_vmid(id) != c->vmid)
            return PVE_ROLE_NONE;
        *vmid = c->vmid;
        return PVE_ROLE_QEMU;
    }
    /* swtpm, virtiofsd: started inside the VM's scope before QEMU itself. */
    *vmid = scope_vmid(id);
    return *vmid ? PVE_ROLE_HELPER : PVE_ROLE_NONE;
}

bool pve_match_identity(const struct proc_identity *id, pve_config_fn config, void *ctx,
                        struct pve_match *out)
{
    out->role = pve_role_of(id, &out->vmid, &out->cmd);
    if (out->role == PVE_ROLE_NONE)
        return false;
    if (out->role == PVE_ROLE_HELPER)
        memset(&out->cmd, 0, sizeof(out->cmd));
    char config_name[sizeof(out->name)] = "";
    bool has_config = config(ctx, out->vmid, config_name, sizeof(config_name));
    if (out->role == PVE_ROLE_QEMU ? !has_config && !out->cmd.incoming : !has_config)
        return false;
    snprintf(out->id, sizeof(out->id), "%u", out->vmid);
    /* qemu-server starts QEMU with -name from the config's name (or "vm<vmid>"); the config is
     * the newer word after a rename. */
    if (config_name[0])
        snprintf(out->name, sizeof(out->name), "%s", config_name);
    else if (out->role == PVE_ROLE_QEMU && out->cmd.name[0])
        snprintf(out->name, sizeof(out->name), "%s", out->cmd.name);
    else
        snprintf(out->name, sizeof(out->name), "vm%u", out->vmid);
    return true;
}
