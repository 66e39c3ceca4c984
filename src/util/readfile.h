/* Reading a whole (config or key) file into memory, bounded. */
#ifndef PROCTRACK_UTIL_READFILE_H
#define PROCTRACK_UTIL_READFILE_H

#include <stddef.h>

#include "util/strbuf.h"

/* Appends the contents of `path` to `out`, NUL-terminated. Returns 0, -EFBIG when the file holds
 * more than `max` bytes (a regular file is refused from its size before reading; pipes and /proc
 * files are bounded while reading), or another negative errno. */
int read_file(const char *path, size_t max, struct strbuf *out);

#endif /* PROCTRACK_UTIL_READFILE_H */
