/* fuzz_cidr.c - addresses and blocks: parse, canonical text, matching
 *
 * The input is one block or address; when it holds a newline, the text
 * before it and the text after it are also tried as two blocks against
 * each other.
 */
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "fuzz.h"

static unsigned bits_of(const struct tsr_ip *ip)
{
    return ip->family == TSR_IP_V4 ? 32 : 128;
}

static bool is_mapped(const struct tsr_ip *ip)
{
    static const uint8_t prefix[12] = {[10] = 0xff, [11] = 0xff};

    return ip->family == TSR_IP_V6 && memcmp(ip->bytes, prefix, sizeof(prefix)) == 0;
}

/* Every byte past the family's, and every bit past the prefix, is zero. */
static bool well_formed(const struct tsr_cidr *c)
{
    unsigned n = bits_of(&c->ip);

    if (c->ip.family != TSR_IP_V4 && c->ip.family != TSR_IP_V6)
        return false;
    if (c->prefix > n)
        return false;
    for (unsigned bit = c->prefix; bit < 128; bit++)
        if (c->ip.bytes[bit / 8] & (0x80 >> (bit % 8)))
            return false;
    return true;
}

/* What holds for every block that parses. */
static void check_block(const char *s, size_t len, const struct tsr_cidr *c)
{
    char text[TSR_CIDR_TEXT_MAX + 1], again[TSR_CIDR_TEXT_MAX + 1];
    struct tsr_cidr back;
    struct tsr_ip ip;
    const char *slash;
    size_t n, alen;
    bool v6text;

    FUZZ_CHECK(well_formed(c));
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(strchr("0123456789abcdefABCDEF:./", s[i]) != NULL && s[i] != '\0');
    /* A bare address is a /32 or /128, and is what tsr_ip_parse reads. */
    if (!memchr(s, '/', len)) {
        FUZZ_CHECK(c->prefix == bits_of(&c->ip));
        FUZZ_CHECK(tsr_ip_parse(s, len, &ip));
        FUZZ_CHECK(ip.family == c->ip.family && memcmp(ip.bytes, c->ip.bytes, 16) == 0);
    }
    /* A prefix has one spelling, and so has an IPv4 address: what parsed
     * is the canonical text (a mapped block's prefix counts 96 more). */
    slash = memchr(s, '/', len);
    alen = slash ? (size_t)(slash - s) : len;
    v6text = memchr(s, ':', alen) != NULL;
    tsr_cidr_text(c, text);
    if (slash) {
        char want[8];

        snprintf(want, sizeof(want), "%u",
                 c->prefix + (v6text && c->ip.family == TSR_IP_V4 ? 96 : 0));
        FUZZ_CHECK(len - alen - 1 == strlen(want) && memcmp(slash + 1, want, strlen(want)) == 0);
    }
    if (!v6text)
        FUZZ_CHECK(alen == (size_t)(strchr(text, '/') - text) && memcmp(s, text, alen) == 0);
    /* The canonical text round-trips to the same block and the same text. */
    n = tsr_cidr_text(c, text);
    FUZZ_CHECK(n > 0 && n <= TSR_CIDR_TEXT_MAX && n == strlen(text));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(!(text[i] >= 'A' && text[i] <= 'Z'));
    FUZZ_CHECK(strchr(text, '/') != NULL);
    FUZZ_CHECK(tsr_cidr_parse(text, n, &back) == TSR_CIDR_OK);
    FUZZ_CHECK(tsr_cidr_equal(c, &back) && tsr_cidr_equal(&back, c));
    FUZZ_CHECK(tsr_cidr_text(&back, again) == n && memcmp(text, again, n + 1) == 0);
    /* A block holds its own address and lies within itself, and never
     * holds an address of the other family. */
    FUZZ_CHECK(tsr_cidr_contains(c, &c->ip));
    FUZZ_CHECK(tsr_cidr_within(c, c));
    FUZZ_CHECK(tsr_cidr_equal(c, c));
    ip = c->ip;
    ip.family = c->ip.family == TSR_IP_V4 ? TSR_IP_V6 : TSR_IP_V4;
    if (ip.family == TSR_IP_V4)
        memset(ip.bytes + 4, 0, 12);
    FUZZ_CHECK(!tsr_cidr_contains(c, &ip));
    /* Its last address is in it (unless that is an IPv4-mapped one, as
     * the last of ::/80 is: that is an IPv4 client, outside every IPv6
     * block), and so is its own address in the mapped form a dual-stack
     * socket gives; flipping a prefix bit leaves it. */
    ip = c->ip;
    for (unsigned bit = c->prefix; bit < bits_of(&ip); bit++)
        ip.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
    FUZZ_CHECK(tsr_cidr_contains(c, &ip) == !is_mapped(&ip));
    if (c->ip.family == TSR_IP_V4) {
        memset(&ip, 0, sizeof(ip));
        ip.family = TSR_IP_V6;
        ip.bytes[10] = ip.bytes[11] = 0xff;
        memcpy(ip.bytes + 12, c->ip.bytes, 4);
        FUZZ_CHECK(tsr_cidr_contains(c, &ip));
    }
    if (c->prefix > 0) {
        unsigned last = c->prefix - 1;

        ip = c->ip;
        ip.bytes[last / 8] ^= (uint8_t)(0x80 >> (last % 8));
        FUZZ_CHECK(!tsr_cidr_contains(c, &ip));
    }
}

static void check_pair(const struct tsr_cidr *a, const struct tsr_cidr *b)
{
    bool ab = tsr_cidr_within(a, b), ba = tsr_cidr_within(b, a);

    FUZZ_CHECK((ab && ba) == tsr_cidr_equal(a, b));
    if (ab)
        FUZZ_CHECK(tsr_cidr_contains(b, &a->ip) && a->prefix >= b->prefix);
    if (a->ip.family != b->ip.family)
        FUZZ_CHECK(!ab && !ba && !tsr_cidr_contains(a, &b->ip) && !tsr_cidr_contains(b, &a->ip));
    /* Two blocks either nest or do not overlap at all. */
    if (!ab && !ba)
        FUZZ_CHECK(!tsr_cidr_contains(a, &b->ip) && !tsr_cidr_contains(b, &a->ip));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    static const uint8_t zero[sizeof(struct tsr_cidr)];
    struct tsr_cidr c, a, b;
    struct tsr_ip ip;
    enum tsr_cidr_error e = tsr_cidr_parse(s, size, &c);

    FUZZ_CHECK(e == TSR_CIDR_OK || e == TSR_CIDR_MALFORMED || e == TSR_CIDR_PREFIX ||
               e == TSR_CIDR_HOST_BITS);
    if (e == TSR_CIDR_OK)
        check_block(s, size, &c);
    else
        FUZZ_CHECK(memcmp(&c, zero, sizeof(c)) == 0);
    if (tsr_ip_parse(s, size, &ip)) {
        /* An address is exactly a block without a prefix. */
        FUZZ_CHECK(e == TSR_CIDR_OK && c.prefix == bits_of(&ip) && ip.family == c.ip.family);
        FUZZ_CHECK(memcmp(ip.bytes, c.ip.bytes, 16) == 0);
    } else {
        FUZZ_CHECK(e != TSR_CIDR_OK || memchr(s, '/', size) != NULL);
    }
    if (nl) {
        size_t alen = (size_t)(nl - s);

        if (tsr_cidr_parse(s, alen, &a) == TSR_CIDR_OK &&
            tsr_cidr_parse(nl + 1, size - alen - 1, &b) == TSR_CIDR_OK) {
            check_block(s, alen, &a);
            check_block(nl + 1, size - alen - 1, &b);
            check_pair(&a, &b);
            check_pair(&b, &a);
        }
    }
    return 0;
}
