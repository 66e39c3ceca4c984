/* Which processes belong to a PVE QEMU VM: the decision behind `builtin: pve-qemu`, as pure
 * functions of a process's identity. What the decision needs of the world beyond the identity,
 * whether the VM's config exists on this node and its name, it asks through a callback; it keeps
 * nothing between calls and writes only into the caller's storage. */
#ifndef PROCTRACK_PVE_PVE_MATCH_H
#define PROCTRACK_PVE_PVE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "proc/proc.h"
#include "pve/pve_parse.h"

enum pve_role {
    PVE_ROLE_NONE,
    PVE_ROLE_QEMU,   /* the VM's QEMU process */
    PVE_ROLE_HELPER, /* another process in the VM's cgroup scope: swtpm, virtiofsd */
};

/* What the identity alone tells. QEMU: the exe is qemu-system-<arch> (also " (deleted)") or
 * argv[0] is /usr/bin/kvm, the command line has a valid `-id <vmid>`, and a cgroup path ends in
 * "/qemu.slice/<vmid>.scope" of that vmid (qemu-server starts every VM in that systemd scope, and
 * only root can move a process there); `cmd` is filled. A QEMU binary without a valid -id, or
 * outside its VM's scope, is nothing, not a helper. Helper: a cgroup path ends in
 * "/qemu.slice/<vmid>.scope". `cmd` may be NULL when the command line is not wanted. */
enum pve_role pve_role_of(const struct proc_identity *id, unsigned *vmid, struct pve_cmdline *cmd);

/* Answers for `vmid` whether its config file exists and, when it does, writes the config's name
 * ("" when it has none or does not parse) into `name`. */
typedef bool (*pve_config_fn)(void *ctx, unsigned vmid, char *name, size_t name_size);

struct pve_match {
    enum pve_role role;
    unsigned vmid;
    char id[16];            /* vmid as text */
    char name[128];         /* the config's name, else -name (QEMU), else "vm<vmid>" */
    struct pve_cmdline cmd; /* QEMU only */
};

/* The `builtin: pve-qemu` decision: a QEMU process whose config exists, or that was started with
 * -incoming (a VM migrating in: its config comes last); or a helper in the scope of a VM whose
 * config exists. `config` is asked at most once. Fills `out` and returns true on a match; without
 * one, out->role still tells whether the process is a VM's (its config missing). */
bool pve_match_identity(const struct proc_identity *id, pve_config_fn config, void *ctx,
                        struct pve_match *out);

#endif /* PROCTRACK_PVE_PVE_MATCH_H */
