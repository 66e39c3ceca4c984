/* The worker: one thread, started with the server, that does what would stall the event loop —
 * scans, bcrypt checks, reloads — for connections the event thread has suspended. Finished jobs
 * go back to the event thread (a list and an eventfd), which resumes their connections: only the
 * event thread touches libmicrohttpd's connections.
 *
 * Scrapes share scans as exporter_collect does: every scrape waiting when a scan starts, and
 * every one that arrives while it runs, gets that scan's result. The result is one
 * MHD_Response per form asked for (text or OpenMetrics, gzip or not), which each waiting
 * connection queues, so forty concurrent scrapes hold one body, not forty. */
#include "http/http_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/* The worker runs a scan; the event thread needs little more than libmicrohttpd and gnutls do.
 * Small stacks keep the address space small under `ulimit -v`. */
#define WORKER_STACK (2u * 1024 * 1024)

static void push(struct http_job **head, struct http_job **tail, struct http_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

/* Hands finished jobs back to the event thread and wakes it. */
static void finish(struct http_server *srv, struct http_job *jobs)
{
    struct http_worker *w = &srv->worker;
    pthread_mutex_lock(&w->lock);
    while (jobs) {
        struct http_job *next = jobs->next;
        push(&w->done, &w->done_tail, jobs);
        jobs = next;
    }
    pthread_mutex_unlock(&w->lock);
    uint64_t one = 1;
    while (write(srv->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

/* Answers for one scan's scrapes: one response per form asked for, shared by all. */
static void answer_scrapes(struct http_server *srv, struct http_job *batch, int rc,
                           const struct strbuf *body)
{
    struct http_scrape *scrape = xcalloc(1, sizeof(*scrape));
    scrape->rc = rc;
    if (rc < 0)
        scrape->error = http_error_response(srv, rc);
    for (struct http_job *j = batch; j; j = j->next) {
        scrape->refs++;
        j->scrape = scrape;
        if (rc >= 0 && !scrape->resp[j->variant])
            scrape->resp[j->variant] = http_metrics_response(srv, body, j->variant);
    }
}

static void run_job(struct http_server *srv, struct http_job *job)
{
    switch (job->kind) {
    case HTTP_JOB_AUTH:
        job->auth = basicauth_check(job->auth_users, job->user, job->password);
        break;
    case HTTP_JOB_RELOAD:
        job->reload_err[0] = '\0';
        job->reload_rc = srv->reload(srv->reload_arg, job->reload_err, sizeof(job->reload_err));
        break;
    case HTTP_JOB_SCRAPE:
        break; /* batched: run_scrapes */
    }
}

static void *worker_main(void *arg)
{
    struct http_server *srv = arg;
    struct http_worker *w = &srv->worker;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        struct http_job *job = w->head;
        if (!job)
            break;
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        job->next = NULL;
        if (w->stopping) {
            job->cancelled = true;
            pthread_mutex_unlock(&w->lock);
            finish(srv, job);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        if (job->kind != HTTP_JOB_SCRAPE) {
            pthread_mutex_unlock(&w->lock);
            run_job(srv, job);
            finish(srv, job);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        /* This scrape, every other one queued, and (through http_worker_submit) every one that
         * comes while the scan runs. */
        w->batch = w->batch_tail = NULL;
        push(&w->batch, &w->batch_tail, job);
        struct http_job **link = &w->head;
        w->tail = NULL;
        while (*link) {
            struct http_job *j = *link;
            if (j->kind == HTTP_JOB_SCRAPE) {
                *link = j->next;
                push(&w->batch, &w->batch_tail, j);
            } else {
                w->tail = j;
                link = &j->next;
            }
        }
        w->scanning = true;
        pthread_mutex_unlock(&w->lock);
        strbuf_reset(&w->body);
        int rc = srv->metrics(srv->metrics_arg, &w->body);
        pthread_mutex_lock(&w->lock);
        struct http_job *batch = w->batch;
        w->batch = w->batch_tail = NULL;
        w->scanning = false;
        pthread_mutex_unlock(&w->lock);
        answer_scrapes(srv, batch, rc, &w->body);
        finish(srv, batch);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int http_worker_start(struct http_server *srv)
{
    struct http_worker *w = &srv->worker;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    int rc = pthread_create(&w->thread, &attr, worker_main, srv);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    w->started = true;
    return 0;
}

bool http_worker_submit(struct http_server *srv, struct http_job *job)
{
    struct http_worker *w = &srv->worker;
    job->next = NULL;
    pthread_mutex_lock(&w->lock);
    bool ok = !w->stopping;
    if (ok && job->kind == HTTP_JOB_SCRAPE && w->scanning) {
        push(&w->batch, &w->batch_tail, job);
    } else if (ok) {
        push(&w->head, &w->tail, job);
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    return ok;
}

struct http_job *http_worker_take_done(struct http_server *srv)
{
    struct http_worker *w = &srv->worker;
    pthread_mutex_lock(&w->lock);
    struct http_job *jobs = w->done;
    w->done = w->done_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    return jobs;
}

void http_worker_stop(struct http_server *srv)
{
    struct http_worker *w = &srv->worker;
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void http_worker_free(struct http_server *srv)
{
    struct http_worker *w = &srv->worker;
    strbuf_free(&w->body);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
}

void http_scrape_release(struct http_scrape *scrape)
{
    if (!scrape || --scrape->refs)
        return;
    for (size_t i = 0; i < HTTP_VARIANTS; i++) {
        if (scrape->resp[i])
            MHD_destroy_response(scrape->resp[i]);
    }
    if (scrape->error)
        MHD_destroy_response(scrape->error);
    free(scrape);
}
