/* addr.c - per-address keys: IPv4 by address, IPv6 by /64 */
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define FAMILY_V4 4
#define FAMILY_V6 6

static void key_v4(const uint8_t a[4], struct tsr_addr_key *out)
{
    out->bytes[0] = FAMILY_V4;
    memcpy(out->bytes + 1, a, 4);
}

static void key_v6(const struct in6_addr *a, struct tsr_addr_key *out)
{
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        key_v4(a->s6_addr + 12, out);
        return;
    }
    out->bytes[0] = FAMILY_V6;
    memcpy(out->bytes + 1, a->s6_addr, 8);
}

bool tsr_addr_key(const char *text, struct tsr_addr_key *out)
{
    struct in_addr a4;
    struct in6_addr a6;

    memset(out, 0, sizeof(*out));
    if (!text)
        return false;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        key_v4((const uint8_t *)&a4.s_addr, out);
        return true;
    }
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        key_v6(&a6, out);
        return true;
    }
    return false;
}

bool tsr_addr_key_sockaddr(const struct sockaddr *sa, struct tsr_addr_key *out)
{
    memset(out, 0, sizeof(*out));
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)sa;

        key_v4((const uint8_t *)&in4->sin_addr.s_addr, out);
        return true;
    }
    if (sa && sa->sa_family == AF_INET6) {
        key_v6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out);
        return true;
    }
    return false;
}

void tsr_addr_key_text(const char *addr, char out[TSR_ADDR_KEY_MAX + 1])
{
    struct tsr_addr_key key;
    struct in6_addr v6;
    char text[INET6_ADDRSTRLEN];

    if (!addr || !tsr_addr_key(addr, &key)) {
        snprintf(out, TSR_ADDR_KEY_MAX + 1, "-");
        return;
    }
    if (key.bytes[0] == FAMILY_V4) {
        inet_ntop(AF_INET, key.bytes + 1, out, TSR_ADDR_KEY_MAX + 1);
        return;
    }
    memset(&v6, 0, sizeof(v6));
    memcpy(v6.s6_addr, key.bytes + 1, 8);
    inet_ntop(AF_INET6, &v6, text, sizeof(text));
    snprintf(out, TSR_ADDR_KEY_MAX + 1, "%s/64", text);
}
