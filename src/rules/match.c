/* The matcher: tries a process identity against the compiled rules in file order, each PCRE2
 * match bounded, and renders the group name of the first rule that matches. */
#include "rules/rules.h"

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/compiled.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* A builtin fills the rule's capture table directly: the two span types must be one layout. */
_Static_assert(sizeof(struct rules_span) == sizeof(struct tmpl_span) &&
                   offsetof(struct rules_span, ptr) == offsetof(struct tmpl_span, ptr) &&
                   offsetof(struct rules_span, len) == offsetof(struct tmpl_span, len),
               "rules_span and tmpl_span differ");

const struct rules_match_errors *rules_match_errors(const struct rules *rules)
{
    return &rules->errors;
}

void rules_error_message(int code, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, len);
}

static bool comm_matches(const struct rule *r, const struct proc_identity *id)
{
    const char *comm = id->comm ? id->comm : "";
    for (size_t i = 0; i < r->ncomms; i++) {
        if (strcmp(r->comms[i], comm) == 0)
            return true;
    }
    return false;
}

static bool exe_matches(const struct rule *r, const struct proc_identity *id)
{
    if (id->argc == 0)
        return false;
    const char *argv0 = id->argv[0];
    struct tmpl_span base = tmpl_exe_base(argv0);
    for (size_t i = 0; i < r->nexes; i++) {
        const struct exe_rule *e = &r->exes[i];
        if (e->full ? strcmp(e->path, argv0) == 0
                    : e->len == base.len && memcmp(e->path, base.ptr, base.len) == 0)
            return true;
    }
    return false;
}

/* PCRE2 backtracks; Go's regexp, which process-exporter uses, does not. A config regex such as
 * "^(a|aa)+$" can take exponential time on a command line any user can write, so a match is
 * bounded: 1M backtracking steps (PCRE2's default is 10M, about 0.1 s per regex here), plus 16 per
 * byte so that the linear search of an ordinary regex over a long (Java) command line stays far
 * inside the bound. */
static uint32_t match_limit(size_t subject_len)
{
    size_t limit = 1000000 + 16 * subject_len;
    return limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
}

static size_t utf8_char_len(const char *s, size_t avail)
{
    return (unsigned char)s[0] < 0x80 ? 1 : utf8_seq_len((const unsigned char *)s, avail);
}

/* Go's regexp reads a string as UTF-8 in which each byte that starts no valid sequence is one
 * character, U+FFFD: `.`, `\S` and `[^/]` match it, and so does a literal U+FFFD. PCRE2 (with
 * PCRE2_MATCH_INVALID_UTF) matches nothing there, so a command line with such bytes is searched
 * as Go sees it: each of them replaced by EF BF BD, with the offsets mapped back after the match
 * (map_offsets) so that captures hold the original bytes, as Go's slices of the string do.
 * Returns the subject to search; `mapped` tells whether it is the copy. */
static const char *go_view(struct rules *rs, const char *s, size_t len, size_t *view_len,
                           bool *mapped)
{
    size_t i = 0, n;
    while (i < len && (n = utf8_char_len(s + i, len - i)) != 0)
        i += n;
    *mapped = i < len;
    *view_len = len;
    if (!*mapped)
        return s;
    strbuf_reset(&rs->go_subject);
    rs->go_offsets =
        xgrow(rs->go_offsets, &rs->go_offsets_cap, 3 * len + 1, sizeof(*rs->go_offsets));
    for (i = 0; i < len; i += n) {
        n = utf8_char_len(s + i, len - i);
        size_t at = rs->go_subject.len;
        if (n == 0) {
            strbuf_append(&rs->go_subject, "\xef\xbf\xbd", 3);
            rs->go_offsets[at] = rs->go_offsets[at + 1] = rs->go_offsets[at + 2] = i;
            n = 1;
        } else {
            strbuf_append(&rs->go_subject, s + i, n);
            for (size_t k = 0; k < n; k++)
                rs->go_offsets[at + k] = i + k;
        }
    }
    rs->go_offsets[rs->go_subject.len] = len;
    *view_len = rs->go_subject.len;
    return rs->go_subject.buf;
}

/* Turns the match's offsets into the go_view copy into offsets into the real command line. A
 * match starts and ends on whole characters, so never inside a replaced byte's three. */
static void map_offsets(const struct rules *rs, pcre2_match_data *md)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    for (uint32_t k = 0; k < 2 * pcre2_get_ovector_count(md); k++) {
        if (ov[k] != PCRE2_UNSET)
            ov[k] = rs->go_offsets[ov[k]];
    }
}

/* Every regex must match; captures of later regexes overwrite earlier ones, and a group that did
 * not take part reads "", as with Go's FindStringSubmatch. */
static bool cmdline_matches(struct rules *rs, struct rule *r, const struct proc_identity *id)
{
    const char *subject = id->cmdline ? id->cmdline : "";
    size_t subject_len = id->cmdline ? id->cmdline_len : 0;
    size_t view_len = 0;
    bool mapped = false;
    const char *view = r->nregexes ? go_view(rs, subject, subject_len, &view_len, &mapped) : "";
    for (size_t i = 0; i < r->nregexes; i++) {
        struct regex *re = &r->regexes[i];
        pcre2_set_match_limit(rs->match_context, match_limit(view_len));
        int rc = pcre2_match(re->code, (PCRE2_SPTR)view, view_len, 0, 0, re->match_data,
                             rs->match_context);
        re->last_rc = rc;
        if (rc >= 0 && mapped)
            map_offsets(rs, re->match_data);
        if (rc < 0) {
            /* A match or resource limit (a regex that backtracks without end on this command
             * line) counts as no match: the process stays out of the group, and it is counted. */
            if (rc != PCRE2_ERROR_NOMATCH) {
                rs->errors.count++;
                rs->errors.last_rule = (size_t)(r - rs->rules);
                rs->errors.last_code = rc;
            }
            return false;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->match_data);
        uint32_t u = re->unnamed_group;
        struct tmpl_span whole = {"", 0};
        if ((rc == 0 || u < (uint32_t)rc) && ov[2 * u] != PCRE2_UNSET)
            whole = (struct tmpl_span){subject + ov[2 * u], ov[2 * u + 1] - ov[2 * u]};
        r->captures[re->unnamed_slot] = whole;
        for (size_t g = 0; g < re->ngroups; g++) {
            uint32_t n = re->groups[g].group;
            struct tmpl_span value = {"", 0};
            if ((rc == 0 || n < (uint32_t)rc) && ov[2 * n] != PCRE2_UNSET)
                value = (struct tmpl_span){subject + ov[2 * n], ov[2 * n + 1] - ov[2 * n]};
            r->captures[re->groups[g].slot] = value;
        }
    }
    return true;
}

/* Appends "comm:" and the first non-empty numbered group of the rule's one regex, which has just
 * matched; returns false, appending nothing, when every group is empty or did not take part. */
static bool append_first_capture(const struct rule *r, const struct proc_identity *id,
                                 struct strbuf *groupname)
{
    const struct regex *re = &r->regexes[0];
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->match_data);
    /* rc is one more than the highest group that took part; 0 only if the ovector were short. */
    uint32_t top =
        re->last_rc > 0 ? (uint32_t)re->last_rc : pcre2_get_ovector_count(re->match_data);
    for (uint32_t n = 1; n < top; n++) {
        if (ov[2 * n] == PCRE2_UNSET || ov[2 * n + 1] <= ov[2 * n])
            continue;
        /* Non-empty, so the subject was id->cmdline and not the "" standing in for none. */
        strbuf_puts(groupname, r->comms[0]);
        strbuf_putc(groupname, ':');
        strbuf_append(groupname, id->cmdline + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
        return true;
    }
    return false;
}

static const char *username(struct rules *rs, uint32_t uid)
{
    for (size_t i = 0; i < rs->nusers; i++) {
        if (rs->users[i].uid == uid)
            return rs->users[i].name;
    }
    char stackbuf[1024];
    char *buf = stackbuf;
    size_t size = sizeof(stackbuf);
    struct passwd pw, *found = NULL;
    int rc;
    while ((rc = getpwuid_r(uid, &pw, buf, size, &found)) == ERANGE && size < (1u << 20)) {
        size *= 2;
        buf = xrealloc(buf == stackbuf ? NULL : buf, size);
    }
    char *name;
    if (rc == 0 && found != NULL) {
        name = xstrdup(pw.pw_name);
    } else {
        /* Like Go's os/user fallback in process-exporter: the number itself. */
        struct strbuf sb = STRBUF_INIT;
        strbuf_put_u64(&sb, uid);
        name = sb.buf;
    }
    if (buf != stackbuf)
        free(buf);

    size_t slot;
    if (rs->nusers < USER_CACHE_MAX) {
        slot = rs->nusers++;
    } else {
        slot = rs->next_user_slot++ % USER_CACHE_MAX;
        free(rs->users[slot].name);
    }
    rs->users[slot] = (struct user_entry){uid, name};
    return name;
}

int rules_match(struct rules *rules, const struct proc_identity *id, struct strbuf *groupname)
{
    strbuf_reset(groupname);
    rules->undecided = false;
    for (size_t i = 0; i < rules->nrules; i++) {
        struct rule *r = &rules->rules[i];
        if (r->builtin) {
            if (!r->builtin_fn)
                continue;
            rules->scratch.used = 0;
            enum rules_builtin_answer answer = r->builtin_fn(
                r->builtin_ctx, id, (struct rules_span *)r->captures, &rules->scratch);
            if (answer == RULES_BUILTIN_LATER)
                rules->undecided = true;
            if (answer != RULES_BUILTIN_MATCH)
                continue;
        }
        if (r->matches_nothing)
            continue;
        if (r->ncomms > 0 && !comm_matches(r, id))
            continue;
        if (r->nexes > 0 && !exe_matches(r, id))
            continue;
        if (!cmdline_matches(rules, r, id))
            continue;
        if (r->naming == NAMING_COMM) {
            strbuf_puts(groupname, r->comms[0]);
            return (int)i;
        }
        if (r->naming == NAMING_FIRST_CAPTURE) {
            if (!append_first_capture(r, id, groupname))
                continue;
            return (int)i;
        }
        struct tmpl_values values = {
            .id = id,
            .username = NULL,
            .captures = r->captures,
            .ncaptures = r->ncaptures,
        };
        if ((tmpl_needs(r->name) & PROC_NEED_UID) && id->has_euid)
            values.username = username(rules, id->euid);
        tmpl_render(r->name, &values, groupname);
        return (int)i;
    }
    return -1;
}

bool rules_match_undecided(const struct rules *rules)
{
    return rules->undecided;
}
