/* Allocation that aborts on failure: a small daemon has nothing sensible to do without memory,
 * and call sites stay readable. */
#ifndef PROCTRACK_UTIL_XALLOC_H
#define PROCTRACK_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array to hold at least `need` elements of `elem` bytes, doubling; updates *cap. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif /* PROCTRACK_UTIL_XALLOC_H */
