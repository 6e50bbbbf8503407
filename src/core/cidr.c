/* cidr.c - IP addresses and blocks: parsing, canonical text, matching */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* The longest address text inet_pton takes: eight groups of four hex
 * digits, the last two written as a dotted quad, is 45 characters. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN - 1)

/* Only hex digits, colons and dots can be part of an address; checking
 * that first refuses zones ("%eth0"), brackets, ports, white space and NUL
 * bytes whatever the C library's inet_pton would make of them. */
static bool addr_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == ':' || c == '.'))
            return false;
    }
    return true;
}

/* Parses the address text; *mapped tells whether it was written as IPv6
 * but is an IPv4-mapped address (then out holds the IPv4 address). */
static bool parse_addr(const char *s, size_t len, struct tsr_ip *out, bool *mapped)
{
    char text[ADDR_TEXT_MAX + 1];
    struct in6_addr a6;

    memset(out, 0, sizeof(*out));
    *mapped = false;
    if (!s || len == 0 || len > ADDR_TEXT_MAX || !addr_chars(s, len))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = TSR_IP_V4;
        return true;
    }
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        out->family = TSR_IP_V4;
        memcpy(out->bytes, a6.s6_addr + 12, 4);
        *mapped = true;
        return true;
    }
    out->family = TSR_IP_V6;
    memcpy(out->bytes, a6.s6_addr, 16);
    return true;
}

bool tsr_ip_parse(const char *s, size_t len, struct tsr_ip *out)
{
    bool mapped;

    return parse_addr(s, len, out, &mapped);
}

/* True when a and b agree in their first bits bits. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* True when every bit of the address past bits is zero. */
static bool host_bits_clear(const struct tsr_ip *ip, unsigned bits)
{
    static const uint8_t zero[16];
    unsigned n = ip->family == TSR_IP_V4 ? 32 : 128;
    unsigned whole = bits / 8, rest = bits % 8;

    if (rest != 0) {
        if ((ip->bytes[whole] & (uint8_t)(0xff >> rest)) != 0)
            return false;
        whole++;
    }
    return memcmp(ip->bytes + whole, zero, n / 8 - whole) == 0;
}

/* The prefix: 1-3 decimal digits, no sign, no leading zero but "0"
 * itself, so that a block has one text only. */
static bool parse_prefix(const char *s, size_t len, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

enum tsr_cidr_error tsr_cidr_parse(const char *s, size_t len, struct tsr_cidr *out)
{
    const char *slash;
    size_t alen;
    unsigned prefix, max;
    bool mapped;

    memset(out, 0, sizeof(*out));
    if (!s)
        return TSR_CIDR_MALFORMED;
    slash = memchr(s, '/', len);
    alen = slash ? (size_t)(slash - s) : len;
    if (!parse_addr(s, alen, &out->ip, &mapped)) {
        memset(out, 0, sizeof(*out));
        return TSR_CIDR_MALFORMED;
    }
    /* A mapped address was written in IPv6, so its prefix counts IPv6 bits. */
    max = out->ip.family == TSR_IP_V6 || mapped ? 128 : 32;
    prefix = max;
    if (slash && (!parse_prefix(slash + 1, len - alen - 1, &prefix) || prefix > max)) {
        memset(out, 0, sizeof(*out));
        return TSR_CIDR_PREFIX;
    }
    if (mapped) {
        /* Below /96 the block reaches past ::ffff:0:0/96, and the ffff bits
         * of the address are then host bits. */
        if (prefix < 96) {
            memset(out, 0, sizeof(*out));
            return TSR_CIDR_HOST_BITS;
        }
        prefix -= 96;
    }
    if (!host_bits_clear(&out->ip, prefix)) {
        memset(out, 0, sizeof(*out));
        return TSR_CIDR_HOST_BITS;
    }
    out->prefix = (uint8_t)prefix;
    return TSR_CIDR_OK;
}

size_t tsr_cidr_text(const struct tsr_cidr *c, char out[TSR_CIDR_TEXT_MAX + 1])
{
    /* inet_ntop writes the compressed lower-case form of RFC 5952; room is
     * left for "/128" after it. */
    const size_t room = TSR_CIDR_TEXT_MAX + 1 - 4;
    unsigned p = c->prefix;
    size_t n;

    if (!inet_ntop(c->ip.family == TSR_IP_V4 ? AF_INET : AF_INET6, c->ip.bytes, out,
                   (socklen_t)room)) {
        out[0] = '\0';
        return 0;
    }
    n = strlen(out);
    out[n++] = '/';
    if (p >= 100)
        out[n++] = (char)('0' + p / 100);
    if (p >= 10)
        out[n++] = (char)('0' + p / 10 % 10);
    out[n++] = (char)('0' + p % 10);
    out[n] = '\0';
    return n;
}

/* An address as the blocks see it: a mapped IPv6 address is IPv4, also
 * when it was made from a socket and not by tsr_ip_parse. */
static const uint8_t *family_bytes(const struct tsr_ip *ip, uint8_t *family)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (ip->family == TSR_IP_V6 && memcmp(ip->bytes, mapped, sizeof(mapped)) == 0) {
        *family = TSR_IP_V4;
        return ip->bytes + 12;
    }
    *family = ip->family;
    return ip->bytes;
}

bool tsr_cidr_contains(const struct tsr_cidr *c, const struct tsr_ip *ip)
{
    uint8_t family;
    const uint8_t *bytes = family_bytes(ip, &family);

    if (family != c->ip.family || (family != TSR_IP_V4 && family != TSR_IP_V6))
        return false;
    if (c->prefix > (family == TSR_IP_V4 ? 32 : 128))
        return false;
    return prefix_equal(c->ip.bytes, bytes, c->prefix);
}

bool tsr_cidr_within(const struct tsr_cidr *inner, const struct tsr_cidr *outer)
{
    unsigned max = outer->ip.family == TSR_IP_V4 ? 32 : 128;

    if (inner->ip.family != outer->ip.family ||
        (outer->ip.family != TSR_IP_V4 && outer->ip.family != TSR_IP_V6))
        return false;
    if (outer->prefix > max || inner->prefix > max || inner->prefix < outer->prefix)
        return false;
    return prefix_equal(outer->ip.bytes, inner->ip.bytes, outer->prefix);
}

bool tsr_cidr_equal(const struct tsr_cidr *a, const struct tsr_cidr *b)
{
    size_t n = a->ip.family == TSR_IP_V4 ? 4 : 16;

    return a->ip.family == b->ip.family && a->prefix == b->prefix &&
           memcmp(a->ip.bytes, b->ip.bytes, n) == 0;
}
