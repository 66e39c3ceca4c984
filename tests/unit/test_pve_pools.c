/* The pools of /etc/pve/user.cfg: the parser on a file as PVE writes it and on hand edits, the
 * levels of nested pool names as pve_local_exporter labels them, and the table built from both. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <string.h>

#include "pve/pve_pools.h"

/* As PVE's write_user_config lays it out: users and their tokens, groups, pools, roles, ACLs,
 * each section sorted and followed by an empty line. */
static const char user_cfg[] = "user:root@pam:1:0:::root@example.com:::\n"
                               "user:alice@pve:1:0:Alice:Smith:alice@example.com:team%20lead::\n"
                               "token:alice@pve!monitoring:0:1:Prometheus:\n"
                               "\n"
                               "group:admins:alice@pve:Administrators:\n"
                               "\n"
                               "pool:production:Production%20guests:100,101,300::\n"
                               "pool:production/tier1:Tier%201:500,501:local-lvm:\n"
                               "pool:production/tier1/db::502::\n"
                               "pool:empty::::\n"
                               "pool:staging:Staging:400:local,local-lvm:\n"
                               "\n"
                               "role:Monitor:Sys.Audit,VM.Audit:\n"
                               "\n"
                               "acl:1:/pool/production:@admins:PVEVMAdmin:\n";

static void test_pools_of_a_file_written_by_pve(void **state)
{
    (void)state;
    struct pve_pools pools = {0};
    pve_pools_load(&pools, user_cfg, strlen(user_cfg));
    assert_int_equal(pools.count, 7);
    assert_string_equal(pve_pools_find(&pools, 100), "production");
    assert_string_equal(pve_pools_find(&pools, 101), "production");
    assert_string_equal(pve_pools_find(&pools, 300), "production");
    assert_string_equal(pve_pools_find(&pools, 400), "staging");
    assert_string_equal(pve_pools_find(&pools, 500), "production/tier1");
    assert_string_equal(pve_pools_find(&pools, 501), "production/tier1");
    assert_string_equal(pve_pools_find(&pools, 502), "production/tier1/db");
    /* In no pool, and ids that only appear elsewhere in the file (expire 0, token privsep 1). */
    assert_string_equal(pve_pools_find(&pools, 102), "");
    assert_string_equal(pve_pools_find(&pools, 0), "");
    assert_string_equal(pve_pools_find(&pools, 1), "");
    pve_pools_free(&pools);
}

static void test_a_guest_in_two_pools_belongs_to_the_first(void **state)
{
    (void)state;
    struct pve_pools pools = {0};
    const char *text = "pool:zeta::100,200::\npool:alpha::200,100,300::\npool:zeta::300::\n";
    pve_pools_load(&pools, text, strlen(text));
    assert_int_equal(pools.count, 3);
    assert_string_equal(pve_pools_find(&pools, 100), "zeta");
    assert_string_equal(pve_pools_find(&pools, 200), "zeta");
    assert_string_equal(pve_pools_find(&pools, 300), "alpha");
    pve_pools_free(&pools);
}

struct seen {
    unsigned vmid[16];
    char pool[16][32];
    size_t n;
};

static void note(void *arg, unsigned vmid, const char *pool, size_t pool_len)
{
    struct seen *s = arg;
    assert_true(s->n < 16 && pool_len < 32);
    s->vmid[s->n] = vmid;
    memcpy(s->pool[s->n], pool, pool_len);
    s->pool[s->n][pool_len] = '\0';
    s->n++;
}

/* Hand edits: white space around lines and fields, members split on ',', ';' and white space,
 * CRLF, no final newline. What PVE would not take is skipped. */
static void test_hand_edits_read_as_pve_reads_them(void **state)
{
    (void)state;
    const char text[] = "  pool : dev :  a comment : 100 ; 101\t102,,103 : local :\r\n"
                        "pool:x\n"                                  /* no member field */
                        "pool:::104::\n"                            /* no name */
                        "pools:other::105::\n"                      /* another kind of line */
                        "#pool:commented::106::\n"                  /* not a pool line either */
                        "pool:bad::abc,1x,-5,+7,4294967296,107::\n" /* only 107 is an id */
                        "pool:ctl\x01name::109::\n"                 /* a control byte */
                        "pool:last::0108";
    struct seen s = {.n = 0};
    pve_parse_pools(text, sizeof(text) - 1, note, &s);
    static const unsigned want[] = {100, 101, 102, 103, 107, 108};
    static const char *const want_pool[] = {"dev", "dev", "dev", "dev", "bad", "last"};
    assert_int_equal(s.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(s.vmid[i], want[i]);
        assert_string_equal(s.pool[i], want_pool[i]);
    }
}

static void test_the_buffer_is_not_read_past_its_length(void **state)
{
    (void)state;
    /* "pool:p::12" then "3": the member is 12. */
    const char text[] = "pool:p::123";
    struct seen s = {.n = 0};
    pve_parse_pools(text, sizeof(text) - 2, note, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.vmid[0], 12);
    s.n = 0;
    pve_parse_pools(text, 0, note, &s);
    assert_int_equal(s.n, 0);
}

static void assert_levels(const char *pool, unsigned count, const char *l1, const char *l2,
                          const char *l3)
{
    struct pve_pool_levels lv;
    pve_pool_levels(pool, &lv);
    assert_int_equal(lv.count, count);
    const char *want[] = {l1, l2, l3};
    for (size_t i = 0; i < PVE_POOL_LEVELS; i++) {
        assert_int_equal(lv.len[i], strlen(want[i]));
        assert_memory_equal(lv.level[i], want[i], lv.len[i]);
    }
}

/* As pve_local_exporter splits them: every part counts, the first three are labels. */
static void test_levels_of_nested_pools(void **state)
{
    (void)state;
    assert_levels("", 0, "", "", "");
    assert_levels("production", 1, "production", "", "");
    assert_levels("production/tier1", 2, "production", "tier1", "");
    assert_levels("a/b/c", 3, "a", "b", "c");
    assert_levels("a/b/c/d", 4, "a", "b", "c");
    assert_levels("a//b", 3, "a", "", "b");
}

/* The labels of the info families, in label name order: pool, pool1..pool3, pool_levels. */
static void test_pool_labels(void **state)
{
    (void)state;
    static const struct {
        const char *pool;
        const char *want[PVE_POOL_LABELS];
    } cases[] = {
        {"", {"", "", "", "", "0"}},
        {"lab", {"lab", "lab", "", "", "1"}},
        {"a/b/c/d", {"a/b/c/d", "a", "b", "c", "4"}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct pve_pool_labels pl;
        pve_pool_labels(cases[c].pool, &pl);
        for (size_t i = 0; i < PVE_POOL_LABELS; i++) {
            assert_int_equal(pl.len[i], strlen(cases[c].want[i]));
            assert_memory_equal(pl.value[i], cases[c].want[i], pl.len[i]);
        }
    }
}

/* A reload replaces the table whole: a guest moved or removed is no longer where it was. */
static void test_loading_again_replaces_the_table(void **state)
{
    (void)state;
    struct pve_pools pools = {0};
    const char *before = "pool:a::100,101::\npool:b::102::\n";
    const char *after = "pool:b::100::\n";
    pve_pools_load(&pools, before, strlen(before));
    assert_string_equal(pve_pools_find(&pools, 101), "a");
    pve_pools_load(&pools, after, strlen(after));
    assert_int_equal(pools.count, 1);
    assert_string_equal(pve_pools_find(&pools, 100), "b");
    assert_string_equal(pve_pools_find(&pools, 101), "");
    assert_string_equal(pve_pools_find(&pools, 102), "");
    pve_pools_load(&pools, "", 0);
    assert_int_equal(pools.count, 0);
    assert_string_equal(pve_pools_find(&pools, 100), "");
    pve_pools_free(&pools);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pools_of_a_file_written_by_pve),
        cmocka_unit_test(test_a_guest_in_two_pools_belongs_to_the_first),
        cmocka_unit_test(test_hand_edits_read_as_pve_reads_them),
        cmocka_unit_test(test_the_buffer_is_not_read_past_its_length),
        cmocka_unit_test(test_levels_of_nested_pools),
        cmocka_unit_test(test_pool_labels),
        cmocka_unit_test(test_loading_again_replaces_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
