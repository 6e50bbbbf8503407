/* proxy.h - trusted proxies: the --trusted-proxy list, and the client address they forward
 *
 * Behind a reverse proxy every connection comes from the proxy, so the
 * address that the login rate limit, the audit log and the last-used address
 * see must come from the X-Forwarded-For header instead, but only when the
 * peer is a proxy the operator named: anyone else can write that header.
 * Pure functions, no I/O; tests/fuzz/fuzz_forwarded.c fuzzes both parsers.
 */
#ifndef TSR_HTTP_PROXY_H
#define TSR_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#include "core/err.h"
#include "store/store.h"

#define TSR_PROXIES_MAX 64 /* entries in --trusted-proxy */

/* One entry: an address and how many of its leading bits must match (32 or
 * 128 for a single address). An IPv4 entry is kept as its IPv4-mapped IPv6
 * address (::ffff:a.b.c.d), so that it also matches an IPv4 peer of a
 * dual-stack socket. */
struct tsr_proxy_net {
    unsigned char addr[16];
    unsigned bits;
};

struct tsr_proxies {
    size_t n; /* 0: no proxy is trusted */
    struct tsr_proxy_net nets[TSR_PROXIES_MAX];
};

/* Parses list, "ADDR[/BITS][,ADDR[/BITS]...]" (IPv4 or IPv6 addresses,
 * spaces around the commas allowed), into out. Returns TSR_OK, or
 * TSR_ERR_INVALID with a sentence for people in err, such as
 * "'10.0.0.300' is not an IP address or ADDR/BITS". */
enum tsr_err tsr__proxies_parse(const char *list, struct tsr_proxies *out, char *err,
                                size_t err_size) TSR_MUST_CHECK;

/* Whether the peer sa (AF_INET or AF_INET6; NULL: no) is in p. */
bool tsr__proxies_trust_peer(const struct tsr_proxies *p, const struct sockaddr *sa);

/* The client of a request that a trusted proxy relayed, from its
 * X-Forwarded-For headers: values[0..n) in the order they came, each a
 * comma-separated list of addresses to which every proxy on the way
 * appended the address it was reached from. Walking from the right end,
 * entries in p are proxies and skipped; the first one that is not is the
 * client (the leftmost entry, when all are proxies). Writes it in canonical
 * text to out and returns true; returns false, leaving out alone, when there
 * is no entry or the walk meets one that is not a bare IP address before it
 * ends: the caller then keeps the peer's address. Cannot fail otherwise. */
bool tsr__forwarded_client(const struct tsr_proxies *p, const char *const *values, size_t n,
                           char out[TSR_ADDR_MAX + 1]);

#endif
