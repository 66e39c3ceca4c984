#include "pve/pve_status.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proc/proc.h"

static bool starts_with(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(p, prefix, n) == 0;
}

int pve_parse_status_memory(const char *buf, size_t len, struct pve_status_memory *out)
{
    const char *end = buf + len;
    bool threads = false;
    memset(out, 0, sizeof(*out));
    for (const char *line = buf; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = eol ? eol : end;
        size_t line_len = (size_t)(line_end - line);
        const char *colon = memchr(line, ':', line_len);
        if (colon) {
            size_t klen = (size_t)(colon - line);
            const char *v = colon + 1;
            while (v < line_end && (*v == ' ' || *v == '\t'))
                v++;
            uint64_t n;
            if (starts_with(line, klen, "Vm") || starts_with(line, klen, "Rss") ||
                starts_with(line, klen, "Hugetlb")) {
                /* "VmRSS:	 2000000 kB" */
                if (klen < PVE_MEM_KEY_MAX && out->nmem < PVE_MEM_KEYS &&
                    proc_parse_u64(&v, line_end, &n)) {
                    char *key = out->key[out->nmem];
                    for (size_t i = 0; i < klen; i++)
                        key[i] = line[i] >= 'A' && line[i] <= 'Z' ? (char)(line[i] + 32) : line[i];
                    key[klen] = '\0';
                    uint64_t bytes = n > UINT64_MAX / 1024 ? UINT64_MAX : n * 1024;
                    out->bytes[out->nmem++] = bytes;
                    if (strcmp(key, "vmrss") == 0)
                        out->vmrss_bytes = bytes;
                    else if (strcmp(key, "hugetlbpages") == 0)
                        out->hugetlb_bytes = bytes;
                }
            } else if (klen == 7 && memcmp(line, "Threads", 7) == 0) {
                threads = proc_parse_u64(&v, line_end, &out->threads);
            }
        }
        line = eol ? eol + 1 : end;
    }
    return threads ? 0 : -EINVAL;
}
