/* webconfig_load_buffer (-web.config.file) on arbitrary bytes. Paths in it resolve under a folder
 * that does not exist, so the fuzzer never reads real files; an error must name a position. */
#include <string.h>

#include "fuzz.h"
#include "http/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    struct webconfig *wc = webconfig_load_buffer("web.yml", (const char *)data, size,
                                                 "/nonexistent-fuzz-dir", err, sizeof(err));
    if (wc) {
        webconfig_free(wc);
        return 0;
    }
    FUZZ_CHECK(strncmp(err, "web.yml", 7) == 0);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    return 0;
}
