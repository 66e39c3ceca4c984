#include "pve/pve_disks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* The VM's disk of that name, made on first sight, kept in name order. */
static struct pve_disk *disk_get(struct pve_vm *vm, const char *name)
{
    size_t pos = 0;
    while (pos < vm->ndisks) {
        int c = strcmp(vm->disks[pos].info.name, name);
        if (c == 0)
            return &vm->disks[pos];
        if (c > 0)
            break;
        pos++;
    }
    vm->disks = xgrow(vm->disks, &vm->disks_cap, vm->ndisks + 1, sizeof(*vm->disks));
    memmove(&vm->disks[pos + 1], &vm->disks[pos], (vm->ndisks - pos) * sizeof(*vm->disks));
    vm->ndisks++;
    struct pve_disk *d = &vm->disks[pos];
    memset(d, 0, sizeof(*d));
    snprintf(d->info.name, sizeof(d->info.name), "%s", name);
    return d;
}

/* Takes one VM's answer: facts as they are now, counter growth since the last reading. */
static void take(struct pve_vm *vm, const struct pve_qmp_disks *disks)
{
    bool same_qemu = vm->disks_pid == vm->pid && vm->disks_starttime == vm->starttime_ticks;
    for (size_t k = 0; k < vm->ndisks; k++) {
        vm->disks[k].present = false;
        if (!same_qemu)
            memset(vm->disks[k].last, 0, sizeof(vm->disks[k].last));
    }
    vm->disks_pid = vm->pid;
    vm->disks_starttime = vm->starttime_ticks;
    for (size_t i = 0; i < disks->n; i++) {
        const struct pve_qmp_disk *q = &disks->disk[i];
        struct pve_disk *d = disk_get(vm, q->name);
        uint64_t total[PVE_DISK_STATS];
        memcpy(total, d->total, sizeof(total));
        d->info = *q;
        memcpy(d->total, total, sizeof(total));
        d->present = true;
        if (!q->has_stats)
            continue;
        for (int s = 0; s < PVE_DISK_STATS; s++) {
            /* A reading below the last one is a new start of the counter (a drive
             * re-added under the same name): all of it is growth. */
            uint64_t now = q->stats[s];
            d->total[s] += now >= d->last[s] ? now - d->last[s] : now;
            d->last[s] = now;
        }
    }
}

void pve_disks_refresh(struct pve_vm **vms, size_t nvms, const char *run_dir)
{
    struct pve_qmp_query *queries = xcalloc(nvms ? nvms : 1, sizeof(*queries));
    struct pve_vm **asked = xcalloc(nvms ? nvms : 1, sizeof(*asked));
    char(*paths)[256] = xcalloc(nvms ? nvms : 1, sizeof(*paths));
    size_t n = 0;
    for (size_t i = 0; i < nvms; i++) {
        struct pve_vm *vm = vms[i];
        if (!vm->running)
            continue;
        /* A new QEMU: the facts of the old one go now, whatever the answer. */
        if (vm->disks_pid != vm->pid || vm->disks_starttime != vm->starttime_ticks)
            for (size_t k = 0; k < vm->ndisks; k++)
                vm->disks[k].present = false;
        snprintf(paths[n], sizeof(paths[n]), "%s/%u.qmp", run_dir, vm->vmid);
        queries[n].path = paths[n];
        asked[n++] = vm;
    }
    pve_qmp_query(queries, n, PVE_QMP_TIMEOUT_MS);
    for (size_t i = 0; i < n; i++) {
        if (queries[i].error == PVE_QMP_OK)
            take(asked[i], &queries[i].disks);
        else
            asked[i]->qmp_errors[queries[i].error]++;
    }
    free(queries);
    free(asked);
    free(paths);
}
