/* A growable, always NUL-terminated byte buffer. Reused across scans, it stops allocating once it
 * has reached the size of the largest thing written into it. */
#ifndef PROCTRACK_UTIL_STRBUF_H
#define PROCTRACK_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_put_u64(struct strbuf *sb, unsigned long long v);
/* Returns the contents, or "" for a buffer that was never written. */
const char *strbuf_str(const struct strbuf *sb);

#endif /* PROCTRACK_UTIL_STRBUF_H */
