/* cli_parse_duration (Go's time.ParseDuration) on the input as a C string. */
#include "fuzz.h"
#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_copy(data, size);
    uint64_t ns;
    if (cli_parse_duration(s, &ns) == 0)
        FUZZ_CHECK(ns <= (uint64_t)INT64_MAX); /* Go's Duration is an int64 */
    free(s);
    return 0;
}
