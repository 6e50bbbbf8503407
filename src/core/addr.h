/* addr.h - the unit a per-address limit counts a client by */
#ifndef TSR_CORE_ADDR_H
#define TSR_CORE_ADDR_H

/* Room for any IPv6 text and "/64"; the keys made are at most 24 long. */
#define TSR_ADDR_KEY_MAX 48

/* Writes to out the key that every per-address limit counts addr (a client
 * address as text: "192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7") by: an
 * IPv4 address as itself, an IPv4-mapped IPv6 address as its IPv4 address,
 * any other IPv6 address as its /64 ("2001:db8:0:1::/64"), because whoever
 * holds one address of a /64 holds all of it. NULL, "" and text that is no
 * address (a unix socket's client) all share the key "-". Cannot fail. */
void tsr_addr_key(const char *addr, char out[TSR_ADDR_KEY_MAX + 1]);

#endif
