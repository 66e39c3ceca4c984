/* proc_parse_cgroup on arbitrary bytes. The callback reads every byte of each path, so that ASan
 * sees a path that reaches outside the buffer. */
#include "fuzz.h"
#include "proc/proc.h"

struct walk {
    const char *buf;
    size_t len;
    size_t calls;
    unsigned sum;
};

static void on_path(void *arg, const char *path, size_t path_len)
{
    struct walk *w = arg;
    FUZZ_CHECK(path >= w->buf && path_len <= (size_t)(w->buf + w->len - path));
    for (size_t i = 0; i < path_len; i++)
        w->sum += (unsigned char)path[i];
    w->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walk w = {(const char *)data, size, 0, 0};
    size_t n = proc_parse_cgroup((const char *)data, size, on_path, &w);
    FUZZ_CHECK(n == w.calls);
    return 0;
}
