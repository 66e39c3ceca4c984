/* The exporter's concurrency contract, through its public functions and the exposition text only:
 * concurrent scrapes share a running scan, a reload waits for the running scan, and scrapes,
 * reloads and status reads running together give complete, consistent expositions. The threaded
 * tests are also run under ThreadSanitizer (PROCTRACK_TSAN, scripts/sanitize.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exporter/exporter.h"
#include "rules/rules.h"

/* Each process of the fixture tree in a group of its own, named after its comm. */
#define BY_COMM                                                                                    \
    "process_names:\n"                                                                             \
    "  - name: \"{{.Comm}}\"\n"                                                                    \
    "    comm: [kthreadd, \"a) (b\", python3]\n"
#define FIXTURE_PROCESSES 3
/* The same groups from two rules, so that a reload between the two changes the rule count and
 * nothing else. */
#define BY_COMM_AND_UNUSED BY_COMM "  - name: unused\n    comm: [no-such-process]\n"

/* A wait for another thread gives up after this long: far beyond what any step takes, so that a
 * broken exporter fails the test instead of hanging it. */
#define WAIT_LIMIT_MS 20000

static void pause_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct rules *load_rules(const char *yaml)
{
    char err[512] = "";
    struct rules *rules =
        rules_load_buffer("test.yml", yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
    if (rules == NULL)
        fail_msg("config did not load: %s", err);
    return rules;
}

static struct exporter *exporter_on(const char *procfs, const char *yaml)
{
    struct exporter_options options = {.procfs = procfs};
    char err[512] = "";
    struct exporter *e = exporter_new(&options, load_rules(yaml), err, sizeof(err));
    if (e == NULL)
        fail_msg("exporter_new(%s): %s", procfs, err);
    return e;
}

/* ---- reading an exposition ---- */

/* The value of the unlabelled sample `name`, or -1 when the body has none. */
static long long sample_value(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = body; line && *line;) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            return strtoll(line + n + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

/* Appends to `out` every line of `body` that starts with `prefix`, up to the first `stop`
 * character after the prefix (or the whole line), each followed by a newline. */
static void pick_lines(const char *body, const char *prefix, char stop, struct strbuf *out)
{
    size_t n = strlen(prefix);
    for (const char *line = body; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (strncmp(line, prefix, n) == 0) {
            const char *cut = memchr(line + n, stop, len - n);
            strbuf_append(out, line, cut ? (size_t)(cut - line) + 1 : len);
            strbuf_putc(out, '\n');
        }
        line = end ? end + 1 : NULL;
    }
}

/* What every exposition of the fixture tree has in common, whatever scan it came from. */
struct shape {
    struct strbuf families; /* the "# TYPE" lines, in order */
    struct strbuf groups;   /* the label sets of num_procs, in order */
    char last_family[128];  /* the family every complete exposition ends with */
};

static void shape_of(const char *body, struct shape *s)
{
    *s = (struct shape){STRBUF_INIT, STRBUF_INIT, ""};
    pick_lines(body, "# TYPE ", '\n', &s->families);
    pick_lines(body, "namedprocess_namegroup_num_procs{", '}', &s->groups);
    const char *last = strstr(s->families.buf ? s->families.buf : "", "\n# TYPE ");
    for (const char *next = last; next; next = strstr(last + 1, "\n# TYPE "))
        last = next;
    if (last)
        sscanf(last, "\n# TYPE %127s", s->last_family);
}

static void shape_free(struct shape *s)
{
    strbuf_free(&s->families);
    strbuf_free(&s->groups);
}

/* Whether `body` has the families of `ref` in the same order, the same groups, and ends with a
 * whole sample of the last family: a scrape never sees a half-written or mixed exposition. */
static bool same_shape(const char *body, const struct shape *ref, char *why, size_t whylen)
{
    struct shape s;
    shape_of(body, &s);
    bool ok = false;
    size_t len = strlen(body);
    const char *last_line = len > 1 ? body + len - 1 : body;
    while (last_line > body && last_line[-1] != '\n')
        last_line--;
    size_t name_len = strlen(ref->last_family);
    if (strcmp(strbuf_str(&s.families), strbuf_str(&ref->families)) != 0)
        snprintf(why, whylen, "families differ:\n%s", strbuf_str(&s.families));
    else if (strcmp(strbuf_str(&s.groups), strbuf_str(&ref->groups)) != 0)
        snprintf(why, whylen, "groups differ:\n%s", strbuf_str(&s.groups));
    else if (len == 0 || body[len - 1] != '\n' || strncmp(last_line, ref->last_family, name_len) ||
             (last_line[name_len] != ' ' && last_line[name_len] != '{'))
        snprintf(why, whylen, "does not end with a %s sample: ...%s", ref->last_family,
                 len > 200 ? body + len - 200 : body);
    else
        ok = true;
    shape_free(&s);
    return ok;
}

static void test_exposition_of_the_fixture_tree(void **state)
{
    (void)state;
    struct exporter *e = exporter_on(FIXTURES_DIR "/proc", BY_COMM);
    struct strbuf body = STRBUF_INIT;
    assert_int_equal(exporter_collect(e, &body), 0);
    struct shape s;
    shape_of(body.buf, &s);
    assert_string_equal(s.groups.buf, "namedprocess_namegroup_num_procs{groupname=\"a) (b\"}\n"
                                      "namedprocess_namegroup_num_procs{groupname=\"kthreadd\"}\n"
                                      "namedprocess_namegroup_num_procs{groupname=\"python3\"}\n");
    assert_string_equal(s.last_family, "proctrack_regex_limit_errors_total");
    char why[512] = "";
    if (!same_shape(body.buf, &s, why, sizeof(why)))
        fail_msg("%s", why);
    /* exporter_new ran the first scan, this scrape the second. */
    assert_int_equal(sample_value(body.buf, "proctrack_scans_total"), 2);
    assert_int_equal(sample_value(body.buf, "proctrack_config_rules"), 1);

    struct exporter_status st = exporter_status(e);
    assert_int_equal(st.rules, 1);
    assert_int_equal(st.groups, FIXTURE_PROCESSES);
    assert_int_equal(st.tracked, FIXTURE_PROCESSES);
    assert_true(st.reload_ok);
    shape_free(&s);
    strbuf_free(&body);
    exporter_free(e);
}

/* ---- many scrapes, reloads and status reads at once ---- */

#define COLLECTORS 8
#define COLLECTS_EACH 150
#define RELOADS 5
#define STATUS_READERS 2

struct stress {
    struct exporter *e;
    struct shape ref;
    long long first_scans; /* proctrack_scans_total before the threads start */
    struct rules *reloads[RELOADS];
    atomic_int collects_done;
    atomic_bool collectors_finished;
};

/* Threads record their first failure for the main thread to report: cmocka's assertions
 * longjmp, which only the thread running the test may do. */
struct worker {
    pthread_t thread;
    struct stress *st;
    int failures;
    char why[1024];
    long long last_scans; /* proctrack_scans_total of the last body */
    long iterations;
};

static void failed(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failed(struct worker *w, const char *fmt, ...)
{
    if (w->failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->why, sizeof(w->why), fmt, ap);
        va_end(ap);
    }
}

static void *collect_loop(void *arg)
{
    struct worker *w = arg;
    struct strbuf body = STRBUF_INIT;
    char why[512];
    w->last_scans = w->st->first_scans;
    for (int i = 0; i < COLLECTS_EACH; i++) {
        strbuf_reset(&body);
        int rc = exporter_collect(w->st->e, &body);
        atomic_fetch_add(&w->st->collects_done, 1);
        w->iterations++;
        if (rc != 0) {
            failed(w, "exporter_collect returned %d", rc);
            continue;
        }
        if (!same_shape(body.buf, &w->st->ref, why, sizeof(why)))
            failed(w, "collect %d: %s", i, why);
        long long scans = sample_value(body.buf, "proctrack_scans_total");
        if (scans < w->last_scans)
            failed(w, "collect %d: proctrack_scans_total went from %lld to %lld", i, w->last_scans,
                   scans);
        w->last_scans = scans;
        long long rules = sample_value(body.buf, "proctrack_config_rules");
        if (rules != 1 && rules != 2)
            failed(w, "collect %d: proctrack_config_rules %lld", i, rules);
    }
    strbuf_free(&body);
    return NULL;
}

/* Spreads the reloads over the scrapes: reload i once (i+1)/(RELOADS+1) of them are done. */
static void *reload_loop(void *arg)
{
    struct worker *w = arg;
    const int total = COLLECTORS * COLLECTS_EACH;
    for (int i = 0; i < RELOADS; i++) {
        while (atomic_load(&w->st->collects_done) < (i + 1) * total / (RELOADS + 1) &&
               !atomic_load(&w->st->collectors_finished))
            pause_ms(1);
        exporter_reload(w->st->e, w->st->reloads[i]);
        w->iterations++;
    }
    return NULL;
}

static void *status_loop(void *arg)
{
    struct worker *w = arg;
    do {
        struct exporter_status st = exporter_status(w->st->e);
        w->iterations++;
        if (st.groups != FIXTURE_PROCESSES || st.tracked != FIXTURE_PROCESSES ||
            (st.rules != 1 && st.rules != 2) || !st.reload_ok)
            failed(w, "status: %zu rules, %zu groups, %zu tracked, reload_ok %d", st.rules,
                   st.groups, st.tracked, st.reload_ok);
    } while (!atomic_load(&w->st->collectors_finished));
    return NULL;
}

static void check_worker(const char *role, int index, const struct worker *w)
{
    if (w->failures)
        fail_msg("%s %d: %d failures, the first: %s", role, index, w->failures, w->why);
}

static void test_concurrent_scrapes_reloads_and_status_agree(void **state)
{
    (void)state;
    struct stress st = {.e = exporter_on(FIXTURES_DIR "/proc", BY_COMM)};
    struct strbuf body = STRBUF_INIT;
    exporter_collect(st.e, &body);
    shape_of(body.buf, &st.ref);
    st.first_scans = sample_value(body.buf, "proctrack_scans_total");
    assert_true(st.first_scans > 0);
    /* Alternating configs with the same groups; the last one has two rules. */
    for (int i = 0; i < RELOADS; i++)
        st.reloads[i] = load_rules(i % 2 == 0 ? BY_COMM_AND_UNUSED : BY_COMM);

    struct worker collectors[COLLECTORS], reloader, readers[STATUS_READERS];
    for (int i = 0; i < COLLECTORS; i++) {
        collectors[i] = (struct worker){.st = &st};
        assert_int_equal(pthread_create(&collectors[i].thread, NULL, collect_loop, &collectors[i]),
                         0);
    }
    reloader = (struct worker){.st = &st};
    assert_int_equal(pthread_create(&reloader.thread, NULL, reload_loop, &reloader), 0);
    for (int i = 0; i < STATUS_READERS; i++) {
        readers[i] = (struct worker){.st = &st};
        assert_int_equal(pthread_create(&readers[i].thread, NULL, status_loop, &readers[i]), 0);
    }
    for (int i = 0; i < COLLECTORS; i++)
        pthread_join(collectors[i].thread, NULL);
    atomic_store(&st.collectors_finished, true);
    pthread_join(reloader.thread, NULL);
    for (int i = 0; i < STATUS_READERS; i++)
        pthread_join(readers[i].thread, NULL);

    long long max_scans = st.first_scans;
    for (int i = 0; i < COLLECTORS; i++) {
        check_worker("collector", i, &collectors[i]);
        assert_int_equal(collectors[i].iterations, COLLECTS_EACH);
        if (collectors[i].last_scans > max_scans)
            max_scans = collectors[i].last_scans;
    }
    check_worker("reloader", 0, &reloader);
    assert_int_equal(reloader.iterations, RELOADS);
    for (int i = 0; i < STATUS_READERS; i++)
        check_worker("status reader", i, &readers[i]);

    /* One more scrape, alone: it runs a scan of its own, after every other. A scan runs only for
     * a scrape, so the scrapes above ran at most one each; whether they ran fewer (shared some)
     * depends on timing here, and test_scrapes_during_a_scan_share_it forces it instead. */
    strbuf_reset(&body);
    exporter_collect(st.e, &body);
    long long final_scans = sample_value(body.buf, "proctrack_scans_total");
    long long stress_scans = final_scans - 1 - st.first_scans;
    assert_true(max_scans <= final_scans - 1);
    assert_in_range(stress_scans, 1, COLLECTORS * COLLECTS_EACH);
    print_message("%lld scans for %d concurrent scrapes\n", stress_scans,
                  COLLECTORS * COLLECTS_EACH);
    char why[512] = "";
    if (!same_shape(body.buf, &st.ref, why, sizeof(why)))
        fail_msg("after the threads: %s", why);

    /* The last reload's rules are in use. */
    assert_int_equal(sample_value(body.buf, "proctrack_config_rules"), 2);
    struct exporter_status status = exporter_status(st.e);
    assert_int_equal(status.rules, 2);
    assert_int_equal(status.groups, FIXTURE_PROCESSES);
    assert_true(status.reload_ok);

    shape_free(&st.ref);
    strbuf_free(&body);
    exporter_free(st.e);
}

/* ---- a scan held open ---- */

/* A procfs tree of one process, "a) (b" of the fixture tree, whose stat file is a FIFO. A scan
 * reads that stat once, and blocks in it until the feeder thread writes the fixture's contents:
 * the test holds a scan open for as long as it needs, with no sleep that a slow machine could
 * outlast. */
struct held_procfs {
    char root[200];
    char fifo[256];
    dev_t fifo_dev;
    ino_t fifo_ino;
    char stat[512];
    size_t stat_len;
    pthread_t feeder;
    atomic_bool gate_open; /* readers are fed at once; else the feeder holds them */
    atomic_bool holding;   /* a reader is held: a scan is running and waits for the gate */
    atomic_bool writing;   /* from the feeder's write until its close of that end */
    atomic_bool stop;
};

static const char *const PID_FILES[] = {"cgroup", "cmdline", "comm",  "fd",
                                        "io",     "limits",  "status"};
#define HELD_PID "3877"
#define PID_DIR FIXTURES_DIR "/proc/" HELD_PID

/* Whether an fd of this process other than `own` refers to the FIFO: the reader's. */
static bool reader_has_fifo(const struct held_procfs *h, int own)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return false;
    bool open = false;
    for (struct dirent *d; !open && (d = readdir(dir)) != NULL;) {
        struct stat st;
        if (atoi(d->d_name) != own && fstatat(dirfd(dir), d->d_name, &st, 0) == 0 &&
            S_ISFIFO(st.st_mode) && st.st_dev == h->fifo_dev && st.st_ino == h->fifo_ino)
            open = true;
    }
    closedir(dir);
    return open;
}

static void *feed(void *arg)
{
    struct held_procfs *h = arg;
    while (!atomic_load(&h->stop)) {
        /* A non-blocking open for writing succeeds only while a reader is opening the FIFO (or
         * has it open: not here, see below). The reader's open() returns, and its read() blocks
         * until we write. */
        int fd = open(h->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            pause_ms(1);
            continue;
        }
        /* Its fd appears once its open() has returned, and stays until we write and close. */
        while (!reader_has_fifo(h, fd) && !atomic_load(&h->stop))
            pause_ms(1);
        atomic_store(&h->holding, true);
        while (!atomic_load(&h->gate_open) && !atomic_load(&h->stop))
            pause_ms(1);
        atomic_store(&h->holding, false);
        /* Less than PIPE_BUF in one write(): the reader gets it whole, and may finish its scan
         * before we run again (the write wakes it, and it can take our CPU). Until our close, a
         * new reader's open() would find this end open and not wait, and its read() would return
         * EOF at the close: see wait_until_fed(). */
        atomic_store(&h->writing, true);
        ssize_t n = write(fd, h->stat, h->stat_len);
        (void)n;
        close(fd);
        atomic_store(&h->writing, false);
        /* Until the reader has closed its end, an open() would find it again and feed it the
         * stat twice. No new reader can get an fd meanwhile: its open() waits for a writer. */
        while (reader_has_fifo(h, -1) && !atomic_load(&h->stop))
            pause_ms(1);
    }
    return NULL;
}

static int held_setup(void **state)
{
    struct held_procfs *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    atomic_store(&h->gate_open, true);
    const char *tmp = getenv("TMPDIR");
    snprintf(h->root, sizeof(h->root), "%s/test_exporter.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(h->root));
    char path[300];
    snprintf(path, sizeof(path), "%s/stat", h->root);
    assert_int_equal(symlink(FIXTURES_DIR "/proc/stat", path), 0);
    snprintf(path, sizeof(path), "%s/" HELD_PID, h->root);
    assert_int_equal(mkdir(path, 0755), 0);
    for (size_t i = 0; i < sizeof(PID_FILES) / sizeof(PID_FILES[0]); i++) {
        char target[300];
        snprintf(target, sizeof(target), "%s/%s", PID_DIR, PID_FILES[i]);
        snprintf(path, sizeof(path), "%s/" HELD_PID "/%s", h->root, PID_FILES[i]);
        assert_int_equal(symlink(target, path), 0);
    }
    snprintf(h->fifo, sizeof(h->fifo), "%s/" HELD_PID "/stat", h->root);
    assert_int_equal(mkfifo(h->fifo, 0600), 0);
    struct stat st;
    assert_int_equal(stat(h->fifo, &st), 0);
    h->fifo_dev = st.st_dev;
    h->fifo_ino = st.st_ino;

    FILE *f = fopen(PID_DIR "/stat", "r");
    assert_non_null(f);
    h->stat_len = fread(h->stat, 1, sizeof(h->stat), f);
    fclose(f);
    assert_true(h->stat_len > 0 && h->stat_len < sizeof(h->stat));
    assert_int_equal(pthread_create(&h->feeder, NULL, feed, h), 0);
    *state = h;
    return 0;
}

/* Also after a failed test: a scan still held is let go, the tree removed. */
static int held_teardown(void **state)
{
    struct held_procfs *h = *state;
    atomic_store(&h->stop, true);
    pthread_join(h->feeder, NULL);
    char path[300];
    for (size_t i = 0; i < sizeof(PID_FILES) / sizeof(PID_FILES[0]); i++) {
        snprintf(path, sizeof(path), "%s/" HELD_PID "/%s", h->root, PID_FILES[i]);
        unlink(path);
    }
    unlink(h->fifo);
    snprintf(path, sizeof(path), "%s/" HELD_PID, h->root);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/stat", h->root);
    unlink(path);
    rmdir(h->root);
    free(h);
    return 0;
}

/* A thread that runs one exporter call, so that the test can hold it and watch it. */
struct call {
    pthread_t thread;
    struct exporter *e;
    struct rules *reload; /* exporter_reload with these; else exporter_collect */
    atomic_int tid;
    atomic_bool done;
    struct strbuf body;
};

static void *run_call(void *arg)
{
    struct call *c = arg;
    /* Nothing between this store and the exporter call can block. */
    atomic_store(&c->tid, (int)gettid());
    if (c->reload)
        exporter_reload(c->e, c->reload);
    else
        exporter_collect(c->e, &c->body);
    atomic_store(&c->done, true);
    return NULL;
}

static void call_start(struct call *c, struct exporter *e, struct rules *reload)
{
    *c = (struct call){.e = e, .reload = reload, .body = STRBUF_INIT};
    assert_int_equal(pthread_create(&c->thread, NULL, run_call, c), 0);
}

/* The syscall a thread of this process is blocked in, -1 while it runs, -2 when the kernel
 * does not say (no such thread, or no CONFIG_HAVE_ARCH_TRACEHOOK). */
static long blocked_in(int tid)
{
    char path[64], text[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -2;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (strncmp(text, "running", 7) == 0)
        return -1;
    return n > 0 ? strtol(text, NULL, 10) : -2;
}

/* Without /proc/PID/task/TID/syscall nothing here can tell that a thread waits. */
static void skip_unless_threads_can_be_watched(void)
{
    if (blocked_in((int)gettid()) == -2)
        skip();
}

/* Waits until the thread sits in futex(), seen twice 1 ms apart: inside the exporter call that is
 * a condition-variable wait, since no other thread holds the exporter's lock for it to wait on.
 * (The scan that is held blocks in read() without the lock, and every other thread started
 * before is itself waiting.) */
static void wait_until_waiting(struct call *c)
{
    int waited = 0, seen = 0;
    while (atomic_load(&c->tid) == 0 && waited++ < WAIT_LIMIT_MS)
        pause_ms(1);
    while (seen < 2 && waited++ < WAIT_LIMIT_MS) {
        if (atomic_load(&c->done))
            fail_msg("the %s returned while a scan was running", c->reload ? "reload" : "scrape");
        seen = blocked_in(atomic_load(&c->tid)) == SYS_futex ? seen + 1 : 0;
        pause_ms(1);
    }
    if (seen < 2)
        fail_msg("thread %d never waited in futex()", atomic_load(&c->tid));
}

/* Waits until the feeder has closed the end it last wrote to: a scan that has read the stat can
 * return before that, and a scan started then would read EOF, the process gone, instead of a
 * stat. Every scrape after one that read the FIFO starts after this. */
static void wait_until_fed(struct held_procfs *h)
{
    int waited = 0;
    while (atomic_load(&h->writing) && waited++ < WAIT_LIMIT_MS)
        pause_ms(1);
    if (atomic_load(&h->writing))
        fail_msg("the feeder never closed the FIFO after writing");
}

/* Starts a scrape and returns once its scan is held at the FIFO. */
static void start_held_scan(struct held_procfs *h, struct call *c, struct exporter *e)
{
    atomic_store(&h->gate_open, false);
    wait_until_fed(h);
    call_start(c, e, NULL);
    int waited = 0;
    while (!atomic_load(&h->holding) && waited++ < WAIT_LIMIT_MS)
        pause_ms(1);
    if (!atomic_load(&h->holding))
        fail_msg("the scrape's scan never read the FIFO");
}

static void call_join(struct call *c)
{
    pthread_join(c->thread, NULL);
    assert_true(atomic_load(&c->done));
}

#define SHARERS 3

static void test_scrapes_during_a_scan_share_it(void **state)
{
    skip_unless_threads_can_be_watched();
    struct held_procfs *h = *state;
    struct exporter *e = exporter_on(h->root, BY_COMM);

    struct call first, sharers[SHARERS];
    start_held_scan(h, &first, e);
    /* One at a time, so that each finds the lock free and the scan running. */
    for (int i = 0; i < SHARERS; i++) {
        call_start(&sharers[i], e, NULL);
        wait_until_waiting(&sharers[i]);
    }
    assert_false(atomic_load(&first.done));
    atomic_store(&h->gate_open, true);
    call_join(&first);
    long long scans = sample_value(first.body.buf, "proctrack_scans_total");
    assert_int_equal(scans, 2);
    assert_non_null(strstr(first.body.buf, "namedprocess_namegroup_num_procs{groupname="
                                           "\"a) (b\"} 1\n"));
    for (int i = 0; i < SHARERS; i++) {
        call_join(&sharers[i]);
        /* The one scan's exposition, not one of their own. */
        assert_int_equal(sample_value(sharers[i].body.buf, "proctrack_scans_total"), scans);
        assert_non_null(strstr(sharers[i].body.buf, "namedprocess_namegroup_num_procs{groupname="
                                                    "\"a) (b\"} 1\n"));
        strbuf_free(&sharers[i].body);
    }

    /* The next scrape scans again: SHARERS + 2 scrapes, two scans. */
    struct strbuf body = STRBUF_INIT;
    wait_until_fed(h);
    exporter_collect(e, &body);
    assert_int_equal(sample_value(body.buf, "proctrack_scans_total"), scans + 1);
    strbuf_free(&body);
    strbuf_free(&first.body);
    exporter_free(e);
}

static void test_reload_during_a_scan_applies_to_the_next(void **state)
{
    skip_unless_threads_can_be_watched();
    struct held_procfs *h = *state;
    struct exporter *e = exporter_on(h->root, BY_COMM);

    struct call scrape, reload;
    start_held_scan(h, &scrape, e);
    call_start(&reload, e, load_rules(BY_COMM_AND_UNUSED));
    wait_until_waiting(&reload);
    assert_int_equal(exporter_status(e).rules, 1);
    atomic_store(&h->gate_open, true);
    call_join(&scrape);
    call_join(&reload);
    /* The running scan finished with the rules it started with. */
    assert_int_equal(sample_value(scrape.body.buf, "proctrack_config_rules"), 1);
    assert_int_equal(exporter_status(e).rules, 2);

    struct strbuf body = STRBUF_INIT;
    wait_until_fed(h);
    exporter_collect(e, &body);
    assert_int_equal(sample_value(body.buf, "proctrack_config_rules"), 2);
    assert_non_null(strstr(body.buf, "namedprocess_namegroup_num_procs{groupname="
                                     "\"a) (b\"} 1\n"));
    strbuf_free(&body);
    strbuf_free(&scrape.body);
    exporter_free(e);
}

int main(int argc, char **argv)
{
    test_filter_from_args(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition_of_the_fixture_tree),
        cmocka_unit_test(test_concurrent_scrapes_reloads_and_status_agree),
        cmocka_unit_test_setup_teardown(test_scrapes_during_a_scan_share_it, held_setup,
                                        held_teardown),
        cmocka_unit_test_setup_teardown(test_reload_during_a_scan_applies_to_the_next, held_setup,
                                        held_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
