/* conns.h - the server's own count of connections: per address, and a deadline for headers
 *
 * libmicrohttpd's per-IP limit counts exact addresses and cannot spare a
 * trusted proxy, so tesserad counts connections itself: IPv4 per address,
 * IPv6 per /64 (core/addr.h), proxies exempt. It also cuts a connection off
 * when a request's headers have not all come within the header time-out of
 * its first byte, which libmicrohttpd's own time-out (reset by every byte)
 * cannot do. Each connection costs work when it opens and closes; a request
 * costs two relaxed atomic stores (tsr__conn_headers_in, tsr__conn_request_done).
 */
#ifndef TSR_HTTP_CONNS_H
#define TSR_HTTP_CONNS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "core/addr.h"
#include "core/err.h"

/* One tracked connection; the caller owns it (it lives in the connection's
 * socket context) and keeps it from tsr__conns_open to tsr__conns_close. */
struct tsr_conn {
    struct tsr_conn *prev, *next; /* the sweep's list, under the table's lock */
    int fd;
    bool counted; /* holds a slot of its address */
    struct tsr_addr_key key;
    atomic_bool in_request; /* headers are in; the request is being served */
    atomic_uint completed;  /* requests served on this connection */
    /* The sweep's own notes, touched by it alone. */
    unsigned seen_completed;
    uint64_t seen_bytes;
    int64_t started_ms; /* when the sweep first saw a byte of the request; 0: none yet */
    bool cut;
};

struct tsr_conns;

/* Starts the table and its sweep thread: per_address connections at most
 * from one address (0: no cap), and header_timeout seconds (at least 1) for
 * a request's headers. Returns TSR_OK with *out, or TSR_ERR_NOMEM. */
enum tsr_err tsr__conns_new(unsigned per_address, unsigned header_timeout,
                            struct tsr_conns **out) TSR_MUST_CHECK;

/* Stops the sweep and frees the table; call once no connection is left
 * (after MHD_stop_daemon). NULL is a no-op. */
void tsr__conns_free(struct tsr_conns *t);

/* libmicrohttpd's accept policy: whether sa may open one more connection.
 * An exempt peer (a trusted proxy) always may and is not counted. A yes
 * holds a slot for sa until tsr__conns_open takes it on the same thread;
 * one never taken (libmicrohttpd failed to set the connection up) is given
 * back at that thread's next call. */
bool tsr__conns_admit(struct tsr_conns *t, const struct sockaddr *sa, bool exempt);

/* Starts tracking c, the connection on fd from sa, just admitted on this
 * thread. Cannot fail. */
void tsr__conns_open(struct tsr_conns *t, struct tsr_conn *c, int fd, const struct sockaddr *sa);

/* Stops tracking c and gives back its slot; libmicrohttpd has not yet
 * closed its socket. */
void tsr__conns_close(struct tsr_conns *t, struct tsr_conn *c);

/* The headers of c's request are all in. */
static inline void tsr__conn_headers_in(struct tsr_conn *c)
{
    atomic_store_explicit(&c->in_request, true, memory_order_relaxed);
}

/* c's request has been served: the next one's headers start a new deadline. */
static inline void tsr__conn_request_done(struct tsr_conn *c)
{
    atomic_fetch_add_explicit(&c->completed, 1, memory_order_relaxed);
    atomic_store_explicit(&c->in_request, false, memory_order_relaxed);
}

#endif
