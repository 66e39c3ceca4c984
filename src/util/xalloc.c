#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* The logger allocates nothing, so it can still say why the daemon is about to stop. */
static void oom(size_t size)
{
    struct log_line line;
    if (log_begin(&line, LOG_ERROR, "out of memory")) {
        log_u64(&line, "bytes", size);
        log_end(&line);
    }
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        oom(size);
    return p;
}

void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ptr;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            oom(SIZE_MAX);
        n *= 2;
    }
    *cap = n;
    return xrealloc(ptr, n * elem);
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
