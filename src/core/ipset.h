/* ipset.h - an address list made ready to be matched many times
 *
 * A token's blocks become ranges, one array per family, sorted by their
 * first address and with those inside another merged away, so that a
 * look-up is a binary search whatever the list's length and order. It
 * answers as tsr_cidr_contains over the blocks would (an IPv4-mapped IPv6
 * address is its IPv4 address). Pure.
 */
#ifndef TSR_CORE_IPSET_H
#define TSR_CORE_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"

/* An address as a 128-bit number, high half first; IPv4 in the low 32 bits. */
struct tsr_ip_key {
    uint64_t hi, lo;
};

struct tsr_ip_range {
    struct tsr_ip_key first, last;
};

/* The set lives in the caller's memory, so that it can sit beside what
 * else a look-up reads. */
struct tsr_ipset {
    const struct tsr_ip_range *ranges; /* IPv4's [0, n4), then IPv6's [n4, n4 + n6) */
    size_t n4, n6;
};

/* Builds set from the n blocks nets into ranges, room for n of them (a
 * block of neither family is left out: it matches nothing). Cannot fail. */
void tsr_ipset_init(struct tsr_ipset *set, const struct tsr_cidr *nets, size_t n,
                    struct tsr_ip_range *ranges);

/* True when ip lies in one of the set's blocks. Cannot fail. */
bool tsr_ipset_contains(const struct tsr_ipset *set, const struct tsr_ip *ip);

#endif
