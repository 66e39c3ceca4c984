/* What every libFuzzer target shares: the entry point's prototype (the targets build with
 * -Wmissing-prototypes), a check that aborts so that libFuzzer keeps the input, and a copy of the
 * input into a buffer of its own for the parsers that need a NUL or a spare byte. */
#ifndef PROCTRACK_FUZZ_FUZZ_H
#define PROCTRACK_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test, not of the input: a violation is a finding. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A heap copy of the input with one NUL byte past `size`, so that ASan sees any read beyond it. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';
    return buf;
}

/* Whether a fixed-size string field is NUL-terminated within its array. */
#define FUZZ_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

#endif /* PROCTRACK_FUZZ_FUZZ_H */
