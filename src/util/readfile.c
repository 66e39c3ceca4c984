#include "util/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The first size a buffer that never held a file grows to: most /proc and /sys files fit. */
#define READFILE_FIRST 4096

ssize_t readfile_at(int dirfd, const char *path, size_t max, unsigned flags, struct strbuf *out)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t start = out->len;
    ssize_t ret;
    for (;;) {
        size_t got = out->len - start;
        /* Room for one byte past `max`: a file of exactly `max` bytes must read as whole. */
        size_t want = max - got < SIZE_MAX ? max - got + 1 : SIZE_MAX;
        size_t room = out->cap > out->len ? out->cap - out->len - 1 : 0;
        if (room == 0) {
            /* Doubling, but never past what the bound lets the file have. */
            size_t grow = out->cap ? out->cap : READFILE_FIRST;
            strbuf_reserve(out, grow < want ? grow : want);
            room = out->cap - out->len - 1;
        }
        size_t ask = room < want ? room : want;
        ssize_t n = read(fd, out->buf + out->len, ask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            out->len = start;
            break;
        }
        out->len += (size_t)n;
        if (out->len - start > max) {
            if (flags & READFILE_CUT) {
                out->len = start + max;
                ret = (ssize_t)max;
            } else {
                out->len = start;
                ret = -EFBIG;
            }
            break;
        }
        if (n == 0 || ((flags & READFILE_ONE_RECORD) && (size_t)n < ask)) {
            ret = (ssize_t)(out->len - start);
            break;
        }
    }
    close(fd);
    out->buf[out->len] = '\0';
    return ret;
}

/* The kernel's record; read through memcpy and offsets, so `dents` needs no alignment. */
struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

int readdir_at(int dirfd, const char *path, char *dents, size_t dents_size, readdir_fn fn,
               void *arg)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    /* getdents64 itself: a whole buffer of entries per call, without readdir's DIR allocation. */
    for (;;) {
        long n = syscall(SYS_getdents64, fd, dents, dents_size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            const char *d = dents + off;
            unsigned short reclen;
            memcpy(&reclen, d + offsetof(struct linux_dirent64, d_reclen), sizeof(reclen));
            off += reclen;
            const char *name = d + offsetof(struct linux_dirent64, d_name);
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            fn(arg, name, (unsigned char)d[offsetof(struct linux_dirent64, d_type)]);
        }
    }
    close(fd);
    return rc;
}

int read_file(const char *path, size_t max, struct strbuf *out)
{
    ssize_t n = readfile_at(AT_FDCWD, path, max, 0, out);
    return n < 0 ? (int)n : 0;
}
