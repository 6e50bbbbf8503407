/* addr.h - the key that per-address limits count a client under */
#ifndef TSR_CORE_ADDR_H
#define TSR_CORE_ADDR_H

#include <stdbool.h>
#include <stdint.h>

struct sockaddr;

#define TSR_ADDR_KEY_LEN 9 /* a family byte, then 4 bytes (IPv4) or 8 (an IPv6 /64) */

/* What every per-address limit counts by: an IPv4 address, or the /64 of an
 * IPv6 address (one customer's network is a /64, and inside it an attacker
 * picks any of 2^64 addresses). An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7) is its IPv4 address. Unused bytes are zero, so that
 * two keys are equal exactly when their bytes are. */
struct tsr_addr_key {
    uint8_t bytes[TSR_ADDR_KEY_LEN];
};

/* Writes the key of the address text ("192.0.2.7", "2001:db8::1",
 * "::ffff:192.0.2.7") to out. Returns false, out zeroed, for anything else
 * (a name, a port, a prefix, ""). */
bool tsr_addr_key(const char *text, struct tsr_addr_key *out);

/* The same for a socket address (AF_INET or AF_INET6; false otherwise, and
 * for NULL). */
bool tsr_addr_key_sockaddr(const struct sockaddr *sa, struct tsr_addr_key *out);

/* Room for any IPv6 text and "/64"; the texts made are at most 24 long. */
#define TSR_ADDR_KEY_MAX 48

/* The same key as text, for tables keyed by text and for the audit log: an
 * IPv4 address as itself ("192.0.2.7"), an IPv6 one as its /64
 * ("2001:db8:0:1::/64"). NULL, "" and text that is no address (a unix
 * socket's client) all share the key "-". Cannot fail. */
void tsr_addr_key_text(const char *addr, char out[TSR_ADDR_KEY_MAX + 1]);

#endif
