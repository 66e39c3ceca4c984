/* proc_parse_stat on arbitrary bytes: comm with any parentheses, fields missing or overlong. */
#include "fuzz.h"
#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proc_stat st;
    if (proc_parse_stat((const char *)data, size, &st) == 0) {
        FUZZ_CHECK(FUZZ_TERMINATED(st.comm));
        FUZZ_CHECK(st.pid >= 0 && st.ppid >= 0 && st.num_threads >= 0);
    }
    return 0;
}
