/* conns.c - connections per address, and the sweep that enforces the header deadline */
#include "http/conns.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/tcp.h> /* glibc's struct tcp_info lacks tcpi_bytes_received */
#include <netinet/in.h>
#include <sys/socket.h>

#include <sodium.h>

#define BUCKETS  4096 /* a power of two; chains stay short with the keyed hash */
#define SWEEP_MS 1000 /* how often the sweep looks: the deadline's precision */

/* How many connections one address holds. */
struct slot {
    struct slot *next;
    struct tsr_addr_key key;
    unsigned n;
};

struct tsr_conns {
    pthread_mutex_t lock; /* the buckets, the list and every counted flag */
    pthread_cond_t wake;
    pthread_t sweeper;
    bool stopping;
    unsigned per_address;
    int64_t header_timeout_ms;
    /* A random key chosen at start-up: nobody outside can compute which
     * addresses share a bucket, so nobody can pile them into one chain. */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    struct slot *buckets[BUCKETS];
    struct tsr_conn *head; /* every tracked connection */
};

/* A slot this thread's accept policy took for a connection libmicrohttpd has
 * not yet set up: tsr__conns_open takes it, or the thread's next admit gives
 * it back (libmicrohttpd closed the socket without a word to us). Accepting
 * and setting up happen on the same thread in libmicrohttpd's internal
 * polling, which is what this relies on. */
static __thread struct {
    struct tsr_conns *t;
    bool held;
    struct tsr_addr_key key;
} pending;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct slot **bucket(struct tsr_conns *t, const struct tsr_addr_key *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, key->bytes, sizeof(key->bytes), t->hash_key);
    memcpy(&v, h, sizeof(v));
    return &t->buckets[v & (BUCKETS - 1)];
}

/* The slot of key, or NULL; with where set to the link that points at it
 * (or at the end of the chain). Under the lock. */
static struct slot *find(struct tsr_conns *t, const struct tsr_addr_key *key, struct slot ***where)
{
    struct slot **p = bucket(t, key);

    while (*p && memcmp((*p)->key.bytes, key->bytes, sizeof(key->bytes)) != 0)
        p = &(*p)->next;
    *where = p;
    return *p;
}

/* Under the lock. */
static void release(struct tsr_conns *t, const struct tsr_addr_key *key)
{
    struct slot **where;
    struct slot *s = find(t, key, &where);

    if (!s)
        return;
    if (--s->n == 0) {
        *where = s->next;
        free(s);
    }
}

/* Takes a slot for key when there is room. Under the lock. */
static bool take(struct tsr_conns *t, const struct tsr_addr_key *key)
{
    struct slot **where;
    struct slot *s = find(t, key, &where);

    if (s) {
        if (s->n >= t->per_address)
            return false;
        s->n++;
        return true;
    }
    s = malloc(sizeof(*s));
    if (!s)
        return false; /* refuse rather than stop counting */
    s->next = NULL;
    s->key = *key;
    s->n = 1;
    *where = s;
    return true;
}

static uint64_t bytes_received(int fd, bool *ok)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    *ok = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
          len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received);
    return ti.tcpi_bytes_received;
}

/* One look at c, under the lock. A request starts with a byte that arrives
 * while c serves none: the kernel's count of bytes received has grown since
 * the sweep last saw c between two requests. The deadline counts from the
 * sweep that saw it grow, so a request is cut between the header time-out
 * and one sweep later after its first byte. */
static void look_at(struct tsr_conns *t, struct tsr_conn *c, int64_t now)
{
    unsigned completed = atomic_load_explicit(&c->completed, memory_order_relaxed);
    uint64_t bytes;
    bool ok;

    if (c->cut || atomic_load_explicit(&c->in_request, memory_order_relaxed)) {
        c->started_ms = 0;
        return;
    }
    bytes = bytes_received(c->fd, &ok);
    if (!ok)
        return;
    if (completed != c->seen_completed) {
        c->seen_completed = completed;
        c->seen_bytes = bytes;
        c->started_ms = 0;
        return;
    }
    if (c->started_ms == 0) {
        if (bytes != c->seen_bytes)
            c->started_ms = now;
        return;
    }
    if (now - c->started_ms >= t->header_timeout_ms) {
        /* libmicrohttpd sees the end of the stream on its next read and
         * closes the connection itself; its socket stays open until it
         * has told tsr__conns_close, which waits for this lock. */
        shutdown(c->fd, SHUT_RDWR);
        c->cut = true;
    }
}

static void *sweep(void *arg)
{
    struct tsr_conns *t = arg;

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct timespec until;
        int64_t now = now_ms();

        for (struct tsr_conn *c = t->head; c; c = c->next)
            look_at(t, c, now);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += SWEEP_MS / 1000;
        until.tv_nsec += (long)(SWEEP_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!t->stopping && pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

enum tsr_err tsr__conns_new(unsigned per_address, unsigned header_timeout, struct tsr_conns **out)
{
    struct tsr_conns *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    *out = NULL;
    if (!t)
        return TSR_ERR_NOMEM;
    t->per_address = per_address;
    t->header_timeout_ms = (int64_t)(header_timeout ? header_timeout : 1) * 1000;
    crypto_shorthash_keygen(t->hash_key);
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->sweeper, NULL, sweep, t) != 0) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return TSR_ERR_NOMEM;
    }
    *out = t;
    return TSR_OK;
}

void tsr__conns_free(struct tsr_conns *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->sweeper, NULL);
    for (size_t i = 0; i < BUCKETS; i++) {
        while (t->buckets[i]) {
            struct slot *s = t->buckets[i];

            t->buckets[i] = s->next;
            free(s);
        }
    }
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    sodium_memzero(t->hash_key, sizeof(t->hash_key));
    free(t);
}

bool tsr__conns_admit(struct tsr_conns *t, const struct sockaddr *sa, bool exempt)
{
    struct tsr_addr_key key;
    bool ok;

    if (t->per_address == 0 || exempt || !tsr_addr_key_sockaddr(sa, &key))
        return true;
    pthread_mutex_lock(&t->lock);
    if (pending.held && pending.t == t)
        release(t, &pending.key);
    pending.held = false;
    ok = take(t, &key);
    if (ok) {
        pending.t = t;
        pending.key = key;
        pending.held = true;
    }
    pthread_mutex_unlock(&t->lock);
    return ok;
}

void tsr__conns_open(struct tsr_conns *t, struct tsr_conn *c, int fd, const struct sockaddr *sa)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    atomic_init(&c->in_request, false);
    atomic_init(&c->completed, 0);
    pthread_mutex_lock(&t->lock);
    if (pending.held && pending.t == t && tsr_addr_key_sockaddr(sa, &c->key) &&
        memcmp(c->key.bytes, pending.key.bytes, sizeof(c->key.bytes)) == 0) {
        pending.held = false;
        c->counted = true;
    }
    c->next = t->head;
    if (t->head)
        t->head->prev = c;
    t->head = c;
    pthread_mutex_unlock(&t->lock);
}

void tsr__conns_close(struct tsr_conns *t, struct tsr_conn *c)
{
    pthread_mutex_lock(&t->lock);
    if (c->counted)
        release(t, &c->key);
    c->counted = false;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&t->lock);
}
