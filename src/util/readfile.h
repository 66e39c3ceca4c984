/* The one way proctrack reads a file and lists a directory, for /proc, /sys, cgroupfs and config
 * files alike: whole files into a reused, growable, bounded buffer, and directory entries through
 * getdents64 into a caller's buffer. The procfs reader (src/proc) and everything that reads a
 * config file go through these. */
#ifndef PROCTRACK_UTIL_READFILE_H
#define PROCTRACK_UTIL_READFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/strbuf.h"

enum readfile_flags {
    /* A file over `max` bytes is cut there (its first `max` bytes are kept) instead of refused
     * with -EFBIG. */
    READFILE_CUT = 1u << 0,
    /* The file is produced in one go (a sysfs attribute, a single_open() proc file such as
     * schedstat): a read() that does not fill the buffer has returned all of it, so the read()
     * that would return 0 is skipped. Not for ordinary files or seq_files of many records, whose
     * read() may stop short at a page. */
    READFILE_ONE_RECORD = 1u << 1,
};

/* Reads the file `path` (relative to `dirfd`; absolute, or relative to the working directory with
 * AT_FDCWD) and appends its bytes to `out`, which stays NUL-terminated. The buffer is only grown,
 * never shrunk, so once it has reached the size of the largest file a caller reads, each file
 * costs one read() (plus the one that returns 0 at the end) and no allocation. It grows to at most
 * `max` + 1 bytes past its contents. Returns the number of bytes appended; -EFBIG when the file
 * holds more than `max` bytes (nothing is appended, unless READFILE_CUT); or another negative
 * errno (nothing appended). */
ssize_t readfile_at(int dirfd, const char *path, size_t max, unsigned flags, struct strbuf *out);

/* Called for each entry of a directory but "." and ".."; `type` is the d_type (DT_DIR, DT_REG,
 * ..., DT_UNKNOWN on file systems that do not fill it in). */
typedef void (*readdir_fn)(void *arg, const char *name, unsigned char type);

/* Lists the directory `path` (relative to `dirfd` as above) with getdents64 into `dents`, a buffer
 * of `dents_size` bytes that the caller reuses; `fn` may read files but must not list another
 * directory into the same buffer. Returns 0 or a negative errno. */
int readdir_at(int dirfd, const char *path, char *dents, size_t dents_size, readdir_fn fn,
               void *arg);

/* Appends the contents of `path` to `out`, NUL-terminated: readfile_at() from the working
 * directory. Returns 0, -EFBIG when the file holds more than `max` bytes (pipes, /proc files and
 * regular files alike are bounded while reading), or another negative errno; on error nothing is
 * appended. */
int read_file(const char *path, size_t max, struct strbuf *out);

#endif /* PROCTRACK_UTIL_READFILE_H */
