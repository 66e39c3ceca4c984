/* proc_split_cmdline on arbitrary bytes, in a buffer with the one spare byte it writes. Every
 * argument it returns must lie inside the buffer and end at a NUL within it. */
#include "fuzz.h"
#include "proc/proc.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    buf[size] = 'x'; /* the parser must set it */
    const char *argv[MAX_ARGS];
    size_t argc = proc_split_cmdline(buf, size, argv, MAX_ARGS);
    FUZZ_CHECK(buf[size] == '\0');
    FUZZ_CHECK(argc <= size + 1);
    for (size_t i = 0; i < argc && i < MAX_ARGS; i++) {
        FUZZ_CHECK(argv[i] >= buf && argv[i] <= buf + size);
        FUZZ_CHECK(strlen(argv[i]) <= (size_t)(buf + size - argv[i]));
    }
    free(buf);
    return 0;
}
