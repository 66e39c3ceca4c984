/* Refuses the regex syntax that PCRE2 takes and Go's regexp does not (see gosyntax.c). Internal
 * to src/rules. */
#ifndef PROCTRACK_RULES_GOSYNTAX_H
#define PROCTRACK_RULES_GOSYNTAX_H

#include <stddef.h>

/* Returns 0 when Go's regexp would parse `pattern` as far as this check sees, or -1 with a
 * reason ("... at offset N") for one it refuses. */
int rules_go_syntax_check(const char *pattern, size_t len, char *reason, size_t reasonlen);

#endif /* PROCTRACK_RULES_GOSYNTAX_H */
