/* rules_load_buffer on arbitrary bytes as a config file. A config that loads is matched against a
 * fixed process, with the pve-qemu builtin registered, and described rule by rule (an `always`
 * group is the name a match renders); one that does
 * not must say why. LeakSanitizer checks that both paths free what they allocated. */
#include "fuzz.h"
#include "fuzz_identity.h"
#include "rules/rules.h"

static void on_warning(void *arg, const char *message)
{
    FUZZ_CHECK(message != NULL && message[0] != '\0');
    (*(size_t *)arg)++;
}

/* Fills the builtin's captures (vmid, name) the way the PVE matcher does. */
static enum rules_builtin_answer fake_pve(void *ctx, const struct proc_identity *id,
                                          struct rules_span *captures,
                                          struct rules_scratch *scratch)
{
    (void)ctx;
    (void)id;
    captures[0] = rules_scratch_put(scratch, "100", 3);
    captures[1] = rules_scratch_put(scratch, "web", 3);
    return RULES_BUILTIN_MATCH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t warnings = 0;
    err[0] = '\0';
    struct rules *rules = rules_load_buffer("fuzz.yaml", (const char *)data, size, err, sizeof(err),
                                            on_warning, &warnings);
    if (!rules) {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    rules_set_builtin(rules, "pve-qemu", fake_pve, NULL);
    rules_needs(rules);
    for (size_t i = 0; i < rules_count(rules); i++)
        FUZZ_CHECK(rules_describe(rules, i) != NULL);

    struct proc_identity id = fuzz_identity();
    struct strbuf groupname = STRBUF_INIT;
    int index = rules_match(rules, &id, &groupname);
    FUZZ_CHECK(index >= -1 && index < (int)rules_count(rules));
    FUZZ_CHECK(index >= 0 || groupname.len == 0);
    /* An `always: true` group is named before any process: the name a match renders. */
    const char *always = index >= 0 ? rules_always_group(rules, (size_t)index) : NULL;
    FUZZ_CHECK(always == NULL || (strlen(always) == groupname.len &&
                                  memcmp(always, groupname.buf, groupname.len) == 0));
    /* Matching again gives the same answer: the reused match buffers hold no state. */
    struct strbuf again = STRBUF_INIT;
    FUZZ_CHECK(rules_match(rules, &id, &again) == index);
    FUZZ_CHECK(again.len == groupname.len &&
               memcmp(strbuf_str(&again), strbuf_str(&groupname), groupname.len) == 0);
    strbuf_free(&again);
    strbuf_free(&groupname);
    rules_free(rules);
    return 0;
}
