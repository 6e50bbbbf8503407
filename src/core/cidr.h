/* cidr.h - IP addresses and address blocks: parsing, canonical text, matching
 *
 * Pure functions over inet_pton/inet_ntop. An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7) is its IPv4 address everywhere here, and a block inside
 * ::ffff:0:0/96 is the IPv4 block it maps (::ffff:10.0.0.0/104 is
 * 10.0.0.0/8), so that a dual-stack socket's clients match IPv4 lists.
 */
#ifndef TSR_CORE_CIDR_H
#define TSR_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSR_ALLOWED_IPS_MAX 50 /* blocks a token may list */

#define TSR_IP_V4 4
#define TSR_IP_V6 6

/* An address: family TSR_IP_V4 (bytes[0..4)) or TSR_IP_V6 (bytes[0..16));
 * unused bytes are zero. */
struct tsr_ip {
    uint8_t family;
    uint8_t bytes[16];
};

/* A block: an address whose bits past prefix are zero, and the prefix
 * (0-32 for IPv4, 0-128 for IPv6). */
struct tsr_cidr {
    struct tsr_ip ip;
    uint8_t prefix;
};

/* The longest canonical text: 39 characters of IPv6 and "/128" (inet_ntop
 * writes the dotted form only for mapped and compatible addresses, which are
 * shorter). */
#define TSR_CIDR_TEXT_MAX 43
/* The longest list as text: TSR_ALLOWED_IPS_MAX blocks, a space between each. */
#define TSR_IPS_TEXT_MAX (TSR_ALLOWED_IPS_MAX * (TSR_CIDR_TEXT_MAX + 1) - 1)

/* Parses the text of an address ("192.0.2.7", "2001:db8::1",
 * "::ffff:192.0.2.7") of len bytes. False for anything else (a prefix, a
 * port, brackets, a zone "%eth0", white space, ""). */
bool tsr_ip_parse(const char *s, size_t len, struct tsr_ip *out);

enum tsr_cidr_error {
    TSR_CIDR_OK = 0,
    TSR_CIDR_MALFORMED, /* not ADDR or ADDR/PREFIX */
    TSR_CIDR_PREFIX,    /* a prefix too long for the family, or not a decimal number */
    TSR_CIDR_HOST_BITS, /* bits set past the prefix */
};

/* Parses "ADDR" (a /32 or /128) or "ADDR/PREFIX" of len bytes; the prefix
 * is 1-3 decimal digits without a sign or leading zeros ("0" itself is
 * fine). Returns TSR_CIDR_OK and fills *out, or the reason it refuses. */
enum tsr_cidr_error tsr_cidr_parse(const char *s, size_t len, struct tsr_cidr *out);

/* Writes the canonical text of c, the prefix always written
 * ("192.0.2.7/32", "2001:db8::/48"), NUL-terminated; returns its length. */
size_t tsr_cidr_text(const struct tsr_cidr *c, char out[TSR_CIDR_TEXT_MAX + 1]);

/* True when ip lies in c (of the same family). Cannot fail. */
bool tsr_cidr_contains(const struct tsr_cidr *c, const struct tsr_ip *ip);

/* True when every address of inner lies in outer. Cannot fail. */
bool tsr_cidr_within(const struct tsr_cidr *inner, const struct tsr_cidr *outer);

/* True when a and b are the same block. */
bool tsr_cidr_equal(const struct tsr_cidr *a, const struct tsr_cidr *b);

#endif
