/* Go's regexp syntax for PCRE2: refuses what Go refuses and rewrites what the two read
 * differently (see gosyntax.c). Internal to src/rules. */
#ifndef PROCTRACK_RULES_GOSYNTAX_H
#define PROCTRACK_RULES_GOSYNTAX_H

#include <stddef.h>

#include "util/strbuf.h"

/* The pattern PCRE2 compiles for a Go pattern, for each of its bytes (and its end) the offset in
 * the Go pattern it comes from, and the names of its named groups: PCRE2 knows group names[i] as
 * "_i". */
struct go_pattern {
    struct strbuf text;
    size_t *from;
    char **names;
    size_t nnames;
};

/* Writes into `out` the PCRE2 pattern that means what `pattern` means to Go's regexp and returns
 * 0, or returns -1 with a reason ("... at offset N") for a pattern Go refuses. */
int rules_go_translate(const char *pattern, size_t len, struct go_pattern *out, char *reason,
                       size_t reasonlen);
void rules_go_pattern_free(struct go_pattern *gp);

#endif /* PROCTRACK_RULES_GOSYNTAX_H */
