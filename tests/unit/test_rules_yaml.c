/* The config read as process-exporter's yaml.v2 (v2.4.0) reads it. Each case's outcome, accepted
 * with the group a process lands in or refused, was checked by running Debian's
 * prometheus-process-exporter 0.7.10 on the same YAML (see tests/integration/test_yaml_compat.py,
 * which runs both side by side on a subset). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_identity.h"
#include "rules/rules.h"

#define CONFIG_DIR FIXTURES_DIR "/config"

struct yaml_case {
    const char *yaml;
    /* Refused: the expected "LINE:COL: reason" after "test.yml:". Accepted: NULL. */
    const char *error;
    /* Accepted: the groups of two processes, comm "alpha" (argv "/opt/alpha -x") and comm
     * "beta" (argv "beta"); NULL where the process matches no item. */
    const char *alpha, *beta;
};

static void check_case(const struct yaml_case *c)
{
    char err[512] = "";
    struct rules *rules =
        rules_load_buffer("test.yml", c->yaml, strlen(c->yaml), err, sizeof(err), NULL, NULL);
    if (c->error) {
        char want[512];
        snprintf(want, sizeof(want), "test.yml:%s", c->error);
        if (rules)
            fail_msg("accepted, want %s:\n%s", want, c->yaml);
        assert_string_equal(err, want);
        return;
    }
    if (!rules)
        fail_msg("refused (%s):\n%s", err, c->yaml);
    struct fake_proc p;
    struct strbuf name = STRBUF_INIT;
    const char *want[2] = {c->alpha, c->beta};
    const struct proc_identity *ids[2];
    ids[0] = make_proc(&p, "alpha", ARGV("/opt/alpha", "-x"));
    for (int i = 0; i < 2; i++) {
        struct fake_proc q;
        const struct proc_identity *id = i == 0 ? ids[0] : make_proc(&q, "beta", ARGV("beta"));
        int rc = rules_match(rules, id, &name);
        if (want[i] == NULL && rc >= 0)
            fail_msg("%s matched as \"%s\", want no match:\n%s", id->comm, strbuf_str(&name),
                     c->yaml);
        if (want[i] != NULL && (rc < 0 || strcmp(strbuf_str(&name), want[i]) != 0))
            fail_msg("%s: got %s \"%s\", want \"%s\":\n%s", id->comm, rc < 0 ? "no match" : "",
                     strbuf_str(&name), want[i], c->yaml);
    }
    strbuf_free(&name);
    rules_free(rules);
}

static void check_cases(const struct yaml_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i]);
}

#define CHECK(cases) check_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_aliases_to_scalars_sequences_and_mappings(void **state)
{
    (void)state;
    static const struct yaml_case cases[] = {
        {"x: &c [alpha]\nprocess_names:\n - name: G\n   comm: *c\n", NULL, "G", NULL},
        {"x: &m {name: G, comm: [alpha]}\nprocess_names:\n - *m\n", NULL, "G", NULL},
        {"x: &s beta\nprocess_names:\n - name: G\n   comm: [*s]\n", NULL, NULL, "G"},
        {"x: &l\n - name: G\n   comm: [alpha]\nprocess_names: *l\n", NULL, "G", NULL},
        {"process_names:\n - &i\n   name: G\n   comm: [alpha]\n - *i\n", NULL, "G", NULL},
        /* An alias as a key. */
        {"k: &k name\nprocess_names:\n - *k : G\n   comm: [alpha]\n", NULL, "G", NULL},
        /* An alias names the anchor's latest definition before it. */
        {"a: &a alpha\nb: &b [*a]\nc: &a beta\nprocess_names:\n - name: G\n   comm: *b\n", NULL,
         "G", NULL},
        {"process_names:\n - name: G\n   comm: *nope\n", "3:10: unknown anchor 'nope' referenced",
         NULL, NULL},
        /* Not decoded (unknown keys), so not an error in yaml.v2 either. */
        {"a: &a [*a]\nprocess_names: []\n", NULL, NULL, NULL},
        {"process_names: &p\n - name: G\n   comm: [alpha]\n   x: *p\n", NULL, "G", NULL},
        /* process-exporter: "cannot unmarshal !!seq into string"; an error either way. */
        {"process_names:\n - name: G\n   comm: &c [alpha, *c]\n",
         "3:21: anchor 'c' value contains itself", NULL, NULL},
    };
    CHECK(cases);
}

static void test_merge_keys_with_yaml_v2_precedence(void **state)
{
    (void)state;
    static const struct yaml_case cases[] = {
        /* yaml.v2 applies keys in order: a key after the merge wins, one before it loses. */
        {"b: &b {name: Base, comm: [alpha]}\nprocess_names:\n - <<: *b\n   name: Mine\n", NULL,
         "Mine", NULL},
        {"b: &b {name: Base, comm: [alpha]}\nprocess_names:\n - name: Mine\n   <<: *b\n", NULL,
         "Base", NULL},
        /* In a list, the earlier mapping wins. */
        {"a: &a {name: A}\nb: &b {name: B, comm: [beta]}\nprocess_names:\n - <<: [*a, *b]\n", NULL,
         NULL, "A"},
        {"a: &a {name: A, comm: [alpha]}\nb: &b {name: B, comm: [beta]}\nprocess_names:\n"
         " - <<: [*a, *b]\n",
         NULL, "A", NULL},
        {"process_names:\n - <<: {name: G, comm: [alpha]}\n", NULL, "G", NULL},
        {"process_names:\n - !!merge <<: {name: G}\n   comm: [alpha]\n", NULL, "G", NULL},
        /* Quoted, "<<" is an ordinary (unknown) key. */
        {"process_names:\n - '<<': {name: X}\n   comm: [alpha]\n   name: G\n", NULL, "G", NULL},
        {"a: &a {comm: [alpha]}\nb: &b {<<: *a, name: G}\nprocess_names:\n - <<: *b\n", NULL, "G",
         NULL},
        {"base: &base\n  process_names:\n   - name: G\n     comm: [alpha]\n<<: *base\n", NULL, "G",
         NULL},
        /* A null after the merge clears the merged comm. */
        {"b: &b {name: G, comm: [alpha]}\nprocess_names:\n - <<: *b\n   comm: ~\n   exe: [beta]\n",
         NULL, NULL, "G"},
        {"a: &a {name: G}\nb: &b {comm: [alpha]}\nprocess_names:\n - <<: [*a, *b, *a]\n", NULL, "G",
         NULL},
        {"process_names:\n - <<: ~\n   comm: [alpha]\n",
         "2:8: a merge key (<<) needs a mapping or a sequence of mappings", NULL, NULL},
        {"s: &s x\nprocess_names:\n - <<: *s\n   comm: [alpha]\n",
         "3:8: a merge key (<<) needs a mapping or a sequence of mappings", NULL, NULL},
        {"s: &s [1]\nprocess_names:\n - <<: *s\n   comm: [alpha]\n",
         "3:8: a merge key (<<) needs a mapping or a sequence of mappings", NULL, NULL},
        {"process_names:\n - <<: [x]\n   comm: [alpha]\n",
         "2:9: a merge key (<<) needs a mapping or a sequence of mappings", NULL, NULL},
        {"process_names:\n - &m\n   name: G\n   comm: [alpha]\n   <<: *m\n",
         "5:8: anchor 'm' value contains itself", NULL, NULL},
    };
    CHECK(cases);
}

static void test_duplicate_keys_last_one_wins(void **state)
{
    (void)state;
    static const struct yaml_case cases[] = {
        {"process_names:\n - name: First\n   name: Second\n   comm: [alpha]\n", NULL, "Second",
         NULL},
        {"process_names:\n - name: G\n   comm: [alpha]\n   comm: [beta]\n", NULL, NULL, "G"},
        {"process_names:\n - name: G\n   comm: [alpha]\n   comm:\n   exe: [beta]\n", NULL, NULL,
         "G"},
        {"process_names:\n - name: G\n   name:\n   comm: [alpha]\n", NULL, "alpha", NULL},
        {"process_names:\n - name: G\n   comm: []\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: A\n   comm: [alpha]\nprocess_names:\n - name: B\n"
         "   comm: [beta]\n",
         NULL, NULL, "B"},
        /* The first list is replaced before it is compiled: its bad regex does not count. */
        {"process_names:\n - cmdline: ['(']\nprocess_names:\n - name: B\n   comm: [beta]\n", NULL,
         NULL, "B"},
    };
    CHECK(cases);
}

static void test_alias_bombs_are_refused_as_yaml_v2_refuses_them(void **state)
{
    (void)state;
    char yaml[4096];
    /* 10^3 merges of a: process-exporter says "document contains excessive aliasing". */
    snprintf(yaml, sizeof(yaml),
             "a: &a {name: G, comm: [alpha]}\n"
             "b: &b {<<: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]}\n"
             "c: &c {<<: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]}\n"
             "d: &d {<<: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}\n"
             "process_names:\n - <<: *d\n");
    struct yaml_case bomb = {yaml, NULL, NULL, NULL};
    char err[512] = "";
    assert_null(rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL));
    assert_non_null(strstr(err, "the document expands aliases too much"));
    assert_int_equal(strncmp(err, "test.yml:1:", 11), 0);
    /* A billion laughs in a key nobody reads is not expanded, so not refused. */
    snprintf(yaml, sizeof(yaml),
             "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
             "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
             "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
             "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
             "process_names:\n - name: G\n   comm: [alpha]\n");
    bomb.alpha = "G";
    check_case(&bomb);
    /* 400 merges of one small mapping: within yaml.v2's ratio, accepted by both. */
    size_t len = (size_t)snprintf(yaml, sizeof(yaml),
                                  "a: &a {name: G, comm: [alpha]}\nprocess_names:\n - <<: [*a");
    for (int i = 1; i < 400; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, ",*a");
    snprintf(yaml + len, sizeof(yaml) - len, "]\n");
    check_case(&bomb);
}

static void test_every_scalar_form_reads_as_yaml_v2_reads_it(void **state)
{
    (void)state;
    static const struct yaml_case cases[] = {
        /* An int, bool or float where a string goes keeps its text. */
        {"process_names:\n - name: 0x1F\n   comm: [alpha]\n", NULL, "0x1F", NULL},
        {"process_names:\n - name: yes\n   comm: [alpha]\n", NULL, "yes", NULL},
        {"process_names:\n - name: 1.50\n   comm: [alpha]\n", NULL, "1.50", NULL},
        {"process_names:\n - name: 2001-12-14\n   comm: [alpha]\n", NULL, "2001-12-14", NULL},
        {"process_names:\n - name: G\n   comm: [123, alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: G\n   comm: [~, alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: !!str G\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: !!binary R2Jpbg==\n   comm: [alpha]\n", NULL, "Gbin", NULL},
        {"process_names:\n - name: !!bool On\n   comm: [alpha]\n", NULL, "On", NULL},
        {"process_names:\n - name: !!float 1e3\n   comm: [alpha]\n", NULL, "1e3", NULL},
        {"process_names:\n - name: !!int '12'\n   comm: [alpha]\n", NULL, "12", NULL},
        {"process_names:\n - name: !!bool y\n   comm: [alpha]\n", NULL, "y", NULL},
        {"process_names:\n - name: !!int 0o17\n   comm: [alpha]\n", NULL, "0o17", NULL},
        {"process_names:\n - name: !!int -0b101\n   comm: [alpha]\n", NULL, "-0b101", NULL},
        {"process_names:\n - name: !!int 1_000\n   comm: [alpha]\n", NULL, "1_000", NULL},
        {"process_names:\n - name: !!int 017\n   comm: [alpha]\n", NULL, "017", NULL},
        {"process_names:\n - name: !!float .5\n   comm: [alpha]\n", NULL, ".5", NULL},
        {"process_names:\n - name: !!float 1_000.5\n   comm: [alpha]\n", NULL, "1_000.5", NULL},
        {"process_names:\n - name: !!float -.Inf\n   comm: [alpha]\n", NULL, "-.Inf", NULL},
        {"process_names:\n - name: !!binary |\n    R2Jp\n    bg==\n   comm: [alpha]\n", NULL,
         "Gbin", NULL},
        {"process_names:\n - name: !!int 018\n   comm: [alpha]\n",
         "2:10: \"018\" is not a valid !!int", NULL, NULL},
        {"process_names:\n - name: !!int 0xFFFFFFFFFFFFFFFFFF\n   comm: [alpha]\n",
         "2:10: \"0xFFFFFFFFFFFFFFFFFF\" is not a valid !!int", NULL, NULL},
        {"process_names:\n - name: !!float nan\n   comm: [alpha]\n",
         "2:10: \"nan\" is not a valid !!float", NULL, NULL},
        /* Other tags are ignored. */
        {"process_names:\n - name: !foo G\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: !!seq G\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: G\n   comm: !!map [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: !!int abc\n   comm: [alpha]\n",
         "2:10: \"abc\" is not a valid "
         "!!int",
         NULL, NULL},
        {"process_names:\n - name: !!bool abc\n   comm: [alpha]\n",
         "2:10: \"abc\" is not a valid !!bool", NULL, NULL},
        {"process_names:\n - name: !!null abc\n   comm: [alpha]\n",
         "2:10: \"abc\" is not a valid !!null", NULL, NULL},
        {"process_names:\n - name: !!float x\n   comm: [alpha]\n",
         "2:10: \"x\" is not a valid !!float", NULL, NULL},
        {"process_names:\n - name: !!binary '***'\n   comm: [alpha]\n",
         "2:10: !!binary value is not valid base64", NULL, NULL},
        {"process_names:\n - name: \"G\\x41\\u00e9\\t\"\n   comm: [alpha]\n", NULL, "GA\xc3\xa9\t",
         NULL},
        {"process_names:\n - name: |\n     G\n   comm: [alpha]\n", NULL, "G\n", NULL},
        {"process_names:\n - name: |-\n     G\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: >-\n     Gfold\n     ed\n   comm: [alpha]\n", NULL, "Gfold ed",
         NULL},
        {"process_names:\n - name: ~\n   comm: [alpha]\n", NULL, "alpha", NULL},
        {"process_names:\n - name:\n   comm: [alpha]\n", NULL, "alpha", NULL},
        {"process_names:\n - name: ''\n   comm: [alpha]\n", NULL, "alpha", NULL},
        /* Keys that are no field: ignored, a null one too; a sequence is an error. */
        {"process_names:\n - 1: x\n   ~: y\n   yes: 1\n   name: G\n   comm: [alpha]\n", NULL, "G",
         NULL},
        {"process_names:\n - [a]: x\n   comm: [alpha]\n",
         "2:4: mapping keys must be strings, not a sequence", NULL, NULL},
    };
    CHECK(cases);
}

static void test_empty_selectors_and_items_as_process_exporter_treats_them(void **state)
{
    (void)state;
    static const struct yaml_case cases[] = {
        /* An empty comm or exe list is a matcher that takes nothing; an empty cmdline list (no
         * regex to fail) takes everything. */
        {"process_names:\n - name: Never\n   comm: []\n - name: Next\n   comm: [alpha]\n", NULL,
         "Next", NULL},
        {"process_names:\n - name: Never\n   exe: []\n - name: Next\n   comm: [alpha]\n", NULL,
         "Next", NULL},
        {"process_names:\n - name: All\n   cmdline: []\n", NULL, "All", "All"},
        {"process_names:\n - name: G\n   comm: []\n   exe: [alpha]\n", NULL, NULL, NULL},
        {"process_names:\n - name: G\n   cmdline: []\n   comm: [alpha]\n", NULL, "G", NULL},
        {"process_names:\n - name: G\n   cmdline: []\n   exe: [beta]\n", NULL, NULL, "G"},
        {"process_names:\n - name: G\n   comm:\n",
         "2:4: no matchers provided: an item needs comm, exe or cmdline", NULL, NULL},
        {"process_names:\n - name: G\n",
         "2:4: no matchers provided: an item needs comm, exe or cmdline", NULL, NULL},
        {"process_names:\n - {}\n", "2:4: no matchers provided: an item needs comm, exe or cmdline",
         NULL, NULL},
        {"process_names:\n - \n", "2:3: no matchers provided: the item is empty", NULL, NULL},
        {"process_names: []\n", NULL, NULL, NULL},
        {"process_names:\n", NULL, NULL, NULL},
        {"", NULL, NULL, NULL},
        {"# nothing\n", NULL, NULL, NULL},
        {"process_names:\n - foo\n",
         "2:4: items of \"process_names\" must be mappings, not a string", NULL, NULL},
        {"process_names: {a: b}\n", "1:16: \"process_names\" must be a sequence, not a mapping",
         NULL, NULL},
        /* A process_names merged in after the explicit one replaces it. */
        {"b: &b\n  process_names:\n   - name: FromB\n     comm: [alpha]\nprocess_names:\n"
         " - name: Own\n   comm: [beta]\n<<: *b\n",
         NULL, "FromB", NULL},
        {"process_names:\n - name: G\n   comm: alpha\n",
         "3:10: \"comm\" must be a sequence of strings, not a string", NULL, NULL},
        /* Only the first document is read, even when a later one is not YAML. */
        {"process_names:\n - name: G\n   comm: [alpha]\n---\n: : [\n", NULL, "G", NULL},
    };
    CHECK(cases);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliases_to_scalars_sequences_and_mappings),
        cmocka_unit_test(test_merge_keys_with_yaml_v2_precedence),
        cmocka_unit_test(test_duplicate_keys_last_one_wins),
        cmocka_unit_test(test_alias_bombs_are_refused_as_yaml_v2_refuses_them),
        cmocka_unit_test(test_every_scalar_form_reads_as_yaml_v2_reads_it),
        cmocka_unit_test(test_empty_selectors_and_items_as_process_exporter_treats_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
