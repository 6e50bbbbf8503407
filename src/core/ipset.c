/* ipset.c - address lists as sorted, disjoint ranges, matched by binary search */
#include "core/ipset.h"

#include <stdlib.h>
#include <string.h>

static uint64_t load_be(const uint8_t *b, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* The key of ip and its family (a mapped address is IPv4); false for a
 * family that is neither. */
static bool key_of(const struct tsr_ip *ip, struct tsr_ip_key *k, uint8_t *family)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (ip->family == TSR_IP_V4 ||
        (ip->family == TSR_IP_V6 && memcmp(ip->bytes, mapped, sizeof(mapped)) == 0)) {
        k->hi = 0;
        k->lo = load_be(ip->family == TSR_IP_V4 ? ip->bytes : ip->bytes + 12, 4);
        *family = TSR_IP_V4;
        return true;
    }
    if (ip->family != TSR_IP_V6)
        return false;
    k->hi = load_be(ip->bytes, 8);
    k->lo = load_be(ip->bytes + 8, 8);
    *family = TSR_IP_V6;
    return true;
}

/* The host bits of a 64-bit half of which the first bits bits (0-64) are the network's. */
static uint64_t host_mask(unsigned bits)
{
    return bits >= 64 ? 0 : UINT64_MAX >> bits;
}

/* The range of block c; false when c is not a block of either family.
 * A block keeps its family (the parser makes a mapped block IPv4). */
static bool range_of(const struct tsr_cidr *c, struct tsr_ip_range *r, uint8_t *family)
{
    struct tsr_ip_key k, host;

    *family = c->ip.family;
    if (*family == TSR_IP_V4 && c->prefix <= 32) {
        k.hi = 0;
        k.lo = load_be(c->ip.bytes, 4);
        host.hi = 0;
        host.lo = (UINT64_C(1) << (32 - c->prefix)) - 1;
    } else if (*family == TSR_IP_V6 && c->prefix <= 128) {
        k.hi = load_be(c->ip.bytes, 8);
        k.lo = load_be(c->ip.bytes + 8, 8);
        host.hi = host_mask(c->prefix);
        host.lo = c->prefix <= 64 ? UINT64_MAX : host_mask(c->prefix - 64u);
    } else {
        return false;
    }
    r->first.hi = k.hi & ~host.hi;
    r->first.lo = k.lo & ~host.lo;
    r->last.hi = r->first.hi | host.hi;
    r->last.lo = r->first.lo | host.lo;
    return true;
}

static int key_cmp(const struct tsr_ip_key *a, const struct tsr_ip_key *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

static int by_first(const void *a, const void *b)
{
    const struct tsr_ip_range *x = a, *y = b;

    return key_cmp(&x->first, &y->first);
}

/* Sorts the n ranges and merges those that overlap; returns how many are left. */
static size_t sort_and_merge(struct tsr_ip_range *r, size_t n)
{
    size_t kept = 0;

    if (n == 0)
        return 0;
    qsort(r, n, sizeof(*r), by_first);
    for (size_t i = 1; i < n; i++) {
        if (key_cmp(&r[i].first, &r[kept].last) <= 0) {
            if (key_cmp(&r[i].last, &r[kept].last) > 0)
                r[kept].last = r[i].last;
        } else {
            r[++kept] = r[i];
        }
    }
    return kept + 1;
}

void tsr_ipset_init(struct tsr_ipset *set, const struct tsr_cidr *nets, size_t n,
                    struct tsr_ip_range *ranges)
{
    size_t n4 = 0, n6 = 0, v4_blocks = 0;

    *set = (struct tsr_ipset){.ranges = ranges};
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        v4_blocks += nets[i].ip.family == TSR_IP_V4;
    for (size_t i = 0; i < n; i++) {
        struct tsr_ip_range r;
        uint8_t family;

        if (!range_of(&nets[i], &r, &family))
            continue;
        if (family == TSR_IP_V4)
            ranges[n4++] = r;
        else
            ranges[v4_blocks + n6++] = r;
    }
    n4 = sort_and_merge(ranges, n4);
    n6 = sort_and_merge(ranges + v4_blocks, n6);
    memmove(ranges + n4, ranges + v4_blocks, n6 * sizeof(*ranges));
    *set = (struct tsr_ipset){.ranges = ranges, .n4 = n4, .n6 = n6};
}

bool tsr_ipset_contains(const struct tsr_ipset *set, const struct tsr_ip *ip)
{
    const struct tsr_ip_range *r;
    struct tsr_ip_key k;
    uint8_t family;
    size_t lo = 0, hi;

    if (!key_of(ip, &k, &family))
        return false;
    r = family == TSR_IP_V4 ? set->ranges : set->ranges + set->n4;
    hi = family == TSR_IP_V4 ? set->n4 : set->n6;
    /* The last range that starts at or before k is the only one that may hold it. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (key_cmp(&r[mid].first, &k) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && key_cmp(&k, &r[lo - 1].last) <= 0;
}
