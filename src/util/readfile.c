#include "util/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int read_file(const char *path, size_t max, struct strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t start = out->len;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        rc = -EFBIG;
        goto out;
    }
    strbuf_reserve(out, 0);
    out->buf[out->len] = '\0'; /* NUL-terminated even when empty */
    for (;;) {
        strbuf_reserve(out, 16 * 1024);
        ssize_t n = read(fd, out->buf + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->buf[out->len] = '\0';
        if (out->len - start > max) {
            rc = -EFBIG;
            break;
        }
    }
out:
    close(fd);
    return rc;
}
