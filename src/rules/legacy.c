/* process-exporter's older way of choosing processes, from two flags instead of a config file:
 * -procnames and -namemapping, split and checked here the way process-exporter does, then handed
 * to the rule compiler in rules.c so that they run through the same matcher as a config. Also the
 * manual that -man prints. */
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/item.h"
#include "util/xalloc.h"

struct tokens {
    char **v;
    size_t n;
};

/* Splits a flag value at every comma, as Go's strings.Split does, so "a,,b" and "a," have empty
 * elements; NULL and "" are an empty list rather than one empty element. */
static struct tokens split_commas(const char *s)
{
    struct tokens t = {NULL, 0};
    if (s == NULL || *s == '\0')
        return t;
    size_t n = 1;
    for (const char *p = s; *p != '\0'; p++)
        n += *p == ',';
    t.v = xcalloc(n, sizeof(*t.v));
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
        t.v[t.n++] = xstrndup(s, len);
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    return t;
}

static void tokens_free(struct tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
}

/* Returns the 1-based number of the first empty element, or 0 when there is none. */
static size_t first_empty(const struct tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i][0] == '\0')
            return i + 1;
    }
    return 0;
}

struct rules *rules_load_legacy(const char *procnames, const char *namemapping, char *err,
                                size_t errlen, rules_warn_fn warn, void *warn_arg)
{
    struct tokens names = split_commas(procnames);
    struct tokens mapping = split_commas(namemapping);
    struct rules *rules = NULL;
    size_t empty;

    if (mapping.n % 2 != 0) {
        snprintf(err, errlen,
                 "-namemapping must have an even number of comma-separated elements "
                 "(name,regex pairs), not %zu",
                 mapping.n);
        goto out_free_tokens;
    }
    if ((empty = first_empty(&mapping)) != 0) {
        snprintf(err, errlen, "-namemapping element %zu of %zu is empty", empty, mapping.n);
        goto out_free_tokens;
    }

    rules = rules_new();
    /* The plain names go first, as a later rule for a comm replaces the earlier one: a mapping
     * for a comm that -procnames also lists decides alone. When one comm has two mappings, the
     * later pair wins too: process-exporter stores the pairs in a map keyed by comm, and the later
     * one overwrites the earlier. A plain name cannot fail. */
    /* Empty names ("a,b," or "a,,b") are skipped, as process-exporter skips them. */
    for (size_t i = 0; i < names.n; i++)
        if (names.v[i][0])
            rules_add_legacy(rules, names.v[i], NULL, err, errlen, NULL, NULL);
    for (size_t i = 0; i + 1 < mapping.n; i += 2) {
        if (rules_add_legacy(rules, mapping.v[i], mapping.v[i + 1], err, errlen, warn, warn_arg) !=
            0) {
            rules_free(rules);
            rules = NULL;
            goto out_free_tokens;
        }
    }

out_free_tokens:
    tokens_free(&names);
    tokens_free(&mapping);
    return rules;
}

const char *rules_legacy_manual(void)
{
    return "proctrack -procnames NAME,... [-namemapping NAME,REGEX,...] [options]\n"
           "\n"
           "Legacy mode, kept from process-exporter: two flags say which processes to\n"
           "track and how to name their groups, in place of a -config.path file. They\n"
           "cannot be used together with -config.path.\n"
           "\n"
           "A process's NAME here is its comm: the second field of /proc/PID/stat. That is\n"
           "the file name it was started from, unless it renamed itself, cut by the kernel\n"
           "to 15 bytes; a NAME longer than that never matches.\n"
           "\n"
           "-procnames NAME1,NAME2,...\n"
           "    A process whose comm is exactly NAME (case matters) joins the group NAME.\n"
           "\n"
           "-namemapping NAME1,REGEX1,NAME2,REGEX2,...\n"
           "    Pairs of a comm and a regular expression, written as for Go's regexp\n"
           "    package. For a process whose comm is NAME, REGEX is searched for in its\n"
           "    command line, the arguments joined by single spaces (anchor it with ^ and\n"
           "    $ if needed). The process joins the group NAME:TEXT, where TEXT is what\n"
           "    the first capture group that matched something non-empty caught. If REGEX\n"
           "    does not match, or every group caught nothing, the process is not tracked,\n"
           "    even when NAME is also in -procnames: for a comm that has a mapping, the\n"
           "    mapping alone decides. A mapping works without -procnames.\n"
           "    A REGEX cannot contain a comma; one without a capture group never names\n"
           "    a group, so processes with that comm are never tracked (a warning says so).\n"
           "    When a NAME appears twice, the later pair is used.\n"
           "\n"
           "Example:\n"
           "\n"
           "    proctrack -procnames sshd,cron \\\n"
           "      -namemapping 'python3,([^/ ]+)\\.py,java,-jar\\s+(?:\\S*/)?([^/ ]+)\\.jar'\n"
           "\n"
           "tracks sshd and cron as groups of those names, each Python script as a group\n"
           "of its own (\"python3 /srv/bin/backup.py --full\" joins python3:backup), and\n"
           "each java -jar application likewise (\"java -Xmx1g -jar /opt/app/billing.jar\"\n"
           "joins java:billing). Python processes that run no .py file, and java processes\n"
           "without -jar, are left out.\n"
           "\n"
           "A process that matches nothing is not reported, unless -children (on by\n"
           "default) counts it in the group of its nearest tracked ancestor.\n";
}
