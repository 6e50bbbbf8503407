/* proxy.c - trusted proxies: parse --trusted-proxy, find the client in X-Forwarded-For */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/proxy.h"

#define OWS " \t"

/* An address as the entries are compared: IPv4 mapped into IPv6. */
struct ip {
    unsigned char addr[16];
    bool v4; /* written as IPv4, and printed back so */
};

static void map_v4(const void *in4, unsigned char out[16])
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(out, prefix, sizeof(prefix));
    memcpy(out + 12, in4, 4);
}

/* Parses the len bytes at s, white space around them ignored, as one bare
 * IPv4 or IPv6 address (no brackets, port or zone). */
static bool parse_ip(const char *s, size_t len, struct ip *out)
{
    char text[INET6_ADDRSTRLEN];
    unsigned char in4[4];

    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET, text, in4) == 1) {
        map_v4(in4, out->addr);
        out->v4 = true;
        return true;
    }
    out->v4 = false;
    return inet_pton(AF_INET6, text, out->addr) == 1;
}

static bool in_net(const struct tsr_proxy_net *net, const unsigned char addr[16])
{
    unsigned whole = net->bits / 8, rest = net->bits % 8;

    if (memcmp(net->addr, addr, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((net->addr[whole] ^ addr[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool trusted(const struct tsr_proxies *p, const unsigned char addr[16])
{
    for (size_t i = 0; i < p->n; i++) {
        if (in_net(&p->nets[i], addr))
            return true;
    }
    return false;
}

/* Parses one entry of the list, "ADDR" or "ADDR/BITS", the len bytes at s. */
static bool parse_net(const char *s, size_t len, struct tsr_proxy_net *out)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash ? (size_t)(slash - s) : len;
    struct ip ip;
    unsigned long bits;

    if (!parse_ip(s, addr_len, &ip))
        return false;
    memcpy(out->addr, ip.addr, sizeof(out->addr));
    out->bits = 128;
    if (!slash)
        return true;
    {
        char digits[4];
        size_t n = len - addr_len - 1;
        char *end;

        while (n > 0 && (slash[n] == ' ' || slash[n] == '\t'))
            n--;
        if (n == 0 || n >= sizeof(digits) || strspn(slash + 1, "0123456789") < n)
            return false;
        memcpy(digits, slash + 1, n);
        digits[n] = '\0';
        errno = 0;
        bits = strtoul(digits, &end, 10);
        if (errno != 0 || *end != '\0' || bits > (ip.v4 ? 32UL : 128UL))
            return false;
    }
    out->bits = (unsigned)bits + (ip.v4 ? 96 : 0);
    return true;
}

enum tsr_err tsr__proxies_parse(const char *list, struct tsr_proxies *out, char *err,
                                size_t err_size)
{
    const char *p = list;

    out->n = 0;
    for (;;) {
        size_t len = strcspn(p, ",");

        if (out->n == TSR_PROXIES_MAX) {
            snprintf(err, err_size, "at most %d trusted proxies", TSR_PROXIES_MAX);
            return TSR_ERR_INVALID;
        }
        if (!parse_net(p, len, &out->nets[out->n])) {
            int shown = len > 64 ? 64 : (int)len;

            snprintf(err, err_size, "'%.*s' is not an IP address or ADDR/BITS", shown, p);
            return TSR_ERR_INVALID;
        }
        out->n++;
        if (p[len] == '\0')
            return TSR_OK;
        p += len + 1;
    }
}

bool tsr__proxies_trust_peer(const struct tsr_proxies *p, const struct sockaddr *sa)
{
    unsigned char addr[16];

    if (!sa || p->n == 0)
        return false;
    if (sa->sa_family == AF_INET)
        map_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr);
    else if (sa->sa_family == AF_INET6)
        memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, sizeof(addr));
    else
        return false;
    return trusted(p, addr);
}

bool tsr__forwarded_client(const struct tsr_proxies *p, const char *const *values, size_t n,
                           char out[TSR_ADDR_MAX + 1])
{
    struct ip ip;
    bool found = false;

    /* From the last entry of the last header to the first of the first:
     * only the right end was written by proxies we trust. */
    for (size_t v = n; v-- > 0;) {
        const char *s = values[v];
        size_t end = strlen(s);

        for (;;) {
            size_t start = end;

            while (start > 0 && s[start - 1] != ',')
                start--;
            if (!parse_ip(s + start, end - start, &ip))
                return false;
            found = true;
            if (!trusted(p, ip.addr))
                goto client;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    if (!found)
        return false;
client:
    /* Canonical text: the audit log and the rate limit see one spelling. */
    return inet_ntop(ip.v4 ? AF_INET : AF_INET6, ip.v4 ? ip.addr + 12 : ip.addr, out,
                     TSR_ADDR_MAX + 1) != NULL;
}
