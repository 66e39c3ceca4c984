/* The connection table: which connections are waiting for a request, since when, and which one
 * goes when the table is full. Touched only by the event thread (libmicrohttpd's callbacks and
 * the loop in http.c), so it takes no lock.
 *
 * A connection is either reading a request (from its accept, or from the end of its previous
 * response when kept alive) or being served. Reading has a deadline that activity does not move:
 * a client that sends one byte a second is closed at the same time as one that sends nothing.
 * Each of the two reading lists is in order of the time the connection started reading, which is
 * also the order of their deadlines, since each list has one timeout. */
#include "http/http_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/xalloc.h"

uint64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void list_push(struct http_conn_list *l, struct http_conn *c)
{
    c->list = l;
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

static void list_unlink(struct http_conn *c)
{
    struct http_conn_list *l = c->list;
    if (!l)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    l->count--;
    c->list = NULL;
    c->prev = c->next = NULL;
}

/* The client's address, an IPv4 address mapped into IPv6 (a dual-stack socket) taken as IPv4,
 * so that one client is one key whichever socket it came in on. */
static void address_key(const struct sockaddr *sa, struct http_conn *c)
{
    memset(c->addr, 0, sizeof(c->addr));
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        memcpy(c->addr + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        memcpy(c->addr, a6, 16);
        if (IN6_IS_ADDR_V4MAPPED(a6))
            c->addr[10] = c->addr[11] = 0;
    }
}

void http_conns_init(struct http_conns *t, const struct http_conns_limits *limits)
{
    memset(t, 0, sizeof(*t));
    t->limits = *limits;
}

/* Closes a connection at the socket: libmicrohttpd sees the end of the stream on its next turn of
 * the loop and closes it the usual way (its callbacks remove it from the table then). The socket
 * stays open until then, so its number cannot have been reused. */
static void evict(struct http_conns *t, struct http_conn *c)
{
    list_unlink(c);
    c->closing = true;
    shutdown(c->fd, SHUT_RDWR);
    t->evicted++;
}

/* The connection that has been reading for the longest of the two lists' heads, or, with
 * `same`, the longest-reading one from that address. NULL when no connection is reading. */
static struct http_conn *oldest_reading(struct http_conns *t, const struct http_conn *same)
{
    struct http_conn *best = NULL;
    struct http_conn_list *lists[] = {&t->first, &t->kept};
    for (size_t i = 0; i < 2; i++) {
        for (struct http_conn *c = lists[i]->head; c; c = c->next) {
            if (same && (c == same || memcmp(c->addr, same->addr, sizeof(c->addr)) != 0))
                continue;
            if (!best || c->since_ms < best->since_ms)
                best = c;
            break; /* the first match of a list is its oldest */
        }
    }
    return best;
}

static unsigned count_from(const struct http_conns *t, const struct http_conn *c)
{
    const struct http_conn_list *lists[] = {&t->first, &t->kept, &t->serving};
    unsigned n = 0;
    for (size_t i = 0; i < 3; i++) {
        for (const struct http_conn *o = lists[i]->head; o; o = o->next)
            n += memcmp(o->addr, c->addr, sizeof(c->addr)) == 0;
    }
    return n;
}

struct http_conn *http_conns_add(struct http_conns *t, int fd, const struct sockaddr *client,
                                 uint64_t now_ms)
{
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    address_key(client, c);
    c->since_ms = now_ms;
    c->deadline_ms = now_ms + t->limits.request_timeout_ms;
    unsigned total = t->first.count + t->kept.count + t->serving.count;

    /* One address over its share gives up its own longest-waiting connection; then the table
     * over its size gives up the longest-waiting one of all. A new client is never the one
     * turned away, so a scraper always gets in, from a busy address or not. */
    if (t->limits.per_address && total >= t->limits.per_address &&
        count_from(t, c) >= t->limits.per_address) {
        struct http_conn *victim = oldest_reading(t, c);
        if (victim) {
            evict(t, victim);
            total--;
        }
    }
    if (t->limits.total && total >= t->limits.total) {
        struct http_conn *victim = oldest_reading(t, NULL);
        if (victim)
            evict(t, victim);
    }
    list_push(&t->first, c);
    return c;
}

void http_conns_remove(struct http_conns *t, struct http_conn *c)
{
    (void)t;
    list_unlink(c);
    free(c);
}

void http_conns_serving(struct http_conns *t, struct http_conn *c)
{
    if (c->closing || c->list == &t->serving)
        return;
    list_unlink(c);
    list_push(&t->serving, c);
}

void http_conns_kept_alive(struct http_conns *t, struct http_conn *c, uint64_t now_ms)
{
    if (c->closing)
        return;
    list_unlink(c);
    c->since_ms = now_ms;
    c->deadline_ms = now_ms + t->limits.keepalive_timeout_ms;
    list_push(&t->kept, c);
}

int http_conns_expire(struct http_conns *t, uint64_t now_ms)
{
    struct http_conn_list *lists[] = {&t->first, &t->kept};
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < 2; i++) {
        struct http_conn *c;
        while ((c = lists[i]->head) && c->deadline_ms <= now_ms) {
            evict(t, c);
            t->evicted--;
            t->expired++;
        }
        if (c && c->deadline_ms < next)
            next = c->deadline_ms;
    }
    if (next == UINT64_MAX)
        return -1;
    return next - now_ms > INT32_MAX ? INT32_MAX : (int)(next - now_ms);
}

unsigned http_conns_count(const struct http_conns *t)
{
    return t->first.count + t->kept.count + t->serving.count;
}
