#include "exporter/explain.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* One process of the first scan. */
struct explain_row {
    int pid;
    char comm[PROC_COMM_MAX];
    char *group; /* NULL: ignored */
    int rule;
    int adopted_from;
};

struct explain {
    struct explain_row *rows;
    size_t n, cap;
};

struct explain *explain_new(void)
{
    return xcalloc(1, sizeof(struct explain));
}

void explain_free(struct explain *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        free(x->rows[i].group);
    free(x->rows);
    free(x);
}

/* `text` made safe for one line of the table (see utf8_put_printable). */
static const char *printable(struct strbuf *sb, const char *text)
{
    strbuf_reset(sb);
    utf8_put_printable(sb, text, strlen(text));
    return strbuf_str(sb);
}

void explain_log(const struct rules *rules, int pid, const char *comm, const char *group, int rule,
                 int adopted_from)
{
    struct log_line line;
    const char *msg = group && rule >= 0 ? "new process joins a group"
                      : group            ? "new process joins its ancestor's group"
                                         : "new process matches no rule";
    if (!log_begin(&line, LOG_DEBUG, msg))
        return;
    log_i64(&line, "pid", pid);
    log_str(&line, "comm", comm);
    if (group)
        log_str(&line, "group", group);
    if (group && rule >= 0)
        log_str(&line, "rule", rules_describe(rules, (size_t)rule));
    else if (group)
        log_i64(&line, "ancestor", adopted_from);
    log_end(&line);
}

void explain_record(struct explain *x, int pid, const char *comm, const char *group, int rule,
                    int adopted_from)
{
    x->rows = xgrow(x->rows, &x->cap, x->n + 1, sizeof(*x->rows));
    struct explain_row *row = &x->rows[x->n++];
    row->pid = pid;
    snprintf(row->comm, sizeof(row->comm), "%s", comm);
    row->group = group ? xstrdup(group) : NULL;
    row->rule = rule;
    row->adopted_from = adopted_from;
}

static int by_pid(const void *a, const void *b)
{
    const struct explain_row *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Writes `text`, made printable, cut to `width` characters ("…" marks a cut) and padded unless
 * last. `tmp` is scratch space. */
static void column(FILE *out, struct strbuf *tmp, const char *text, size_t width, bool last)
{
    printable(tmp, text);
    size_t chars = utf8_count(tmp->buf, tmp->len);
    if (chars > width) {
        fprintf(out, "%.*s…", (int)utf8_prefix(tmp->buf, tmp->len, width - 1), tmp->buf);
        chars = width;
    } else {
        fputs(tmp->buf, out);
    }
    if (!last)
        fprintf(out, "%*s", (int)(width - chars + 2), "");
}

/* Why a process is where it is: the rule, the ancestor (named by its comm), or no rule. */
static void describe_why(const struct explain *x, const struct explain_row *row,
                         const struct rules *rules, struct strbuf *how)
{
    strbuf_reset(how);
    if (row->group && row->rule >= 0) {
        strbuf_puts(how, rules_describe(rules, (size_t)row->rule));
    } else if (row->group) {
        const char *parent = "";
        for (size_t k = 0; k < x->n; k++)
            if (x->rows[k].pid == row->adopted_from)
                parent = x->rows[k].comm;
        strbuf_printf(how, "child of %d (%s)", row->adopted_from, parent);
    } else {
        strbuf_puts(how, "no rule matched");
    }
}

static bool has_member(const struct explain *x, const char *group)
{
    for (size_t i = 0; x && i < x->n; i++)
        if (x->rows[i].group && strcmp(x->rows[i].group, group) == 0)
            return true;
    return false;
}

void explain_write(struct explain *x, const struct rules *rules, struct proc_reader *reader,
                   FILE *out)
{
    struct strbuf cmdline = STRBUF_INIT, how = STRBUF_INIT, tmp = STRBUF_INIT;
    fprintf(out, "%-8s%-17s%-26s%-42s%s\n", "PID", "COMM", "GROUP", "WHY", "COMMAND");
    if (x)
        qsort(x->rows, x->n, sizeof(*x->rows), by_pid);
    for (size_t i = 0; x && i < x->n; i++) {
        const struct explain_row *row = &x->rows[i];
        describe_why(x, row, rules, &how);
        /* Kernel threads and zombies have no command line: "[comm]", as ps shows them. */
        if (proc_reader_cmdline(reader, row->pid, &cmdline) != 0 || cmdline.len == 0) {
            strbuf_reset(&cmdline);
            strbuf_printf(&cmdline, "[%s]", row->comm);
        }
        fprintf(out, "%-8d", row->pid);
        column(out, &tmp, row->comm, 15, false);
        column(out, &tmp, row->group ? row->group : "-", 24, false);
        column(out, &tmp, strbuf_str(&how), 40, false);
        column(out, &tmp, strbuf_str(&cmdline), 70, true);
        fputc('\n', out);
    }
    /* The groups that exist without a process (`always: true`) and have none: there, at 0. */
    for (size_t i = 0; i < rules_count(rules); i++) {
        const char *always = rules_always_group(rules, i);
        if (!always || has_member(x, always))
            continue;
        fprintf(out, "%-8s", "-");
        column(out, &tmp, "-", 15, false);
        column(out, &tmp, always, 24, false);
        column(out, &tmp, rules_describe(rules, i), 40, false);
        column(out, &tmp, "(always: true, no process)", 70, true);
        fputc('\n', out);
    }
    strbuf_free(&cmdline);
    strbuf_free(&how);
    strbuf_free(&tmp);
}
