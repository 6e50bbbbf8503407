/* addr.c - the unit a per-address limit counts a client by */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/addr.h"

void tsr_addr_key(const char *addr, char out[TSR_ADDR_KEY_MAX + 1])
{
    struct in_addr v4;
    struct in6_addr v6;
    char text[INET6_ADDRSTRLEN];

    snprintf(out, TSR_ADDR_KEY_MAX + 1, "-");
    if (!addr || !*addr)
        return;
    if (inet_pton(AF_INET, addr, &v4) == 1) {
        inet_ntop(AF_INET, &v4, out, TSR_ADDR_KEY_MAX + 1);
        return;
    }
    if (inet_pton(AF_INET6, addr, &v6) != 1)
        return;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        memcpy(&v4, &v6.s6_addr[12], sizeof(v4));
        inet_ntop(AF_INET, &v4, out, TSR_ADDR_KEY_MAX + 1);
        return;
    }
    memset(&v6.s6_addr[8], 0, 8);
    inet_ntop(AF_INET6, &v6, text, sizeof(text));
    snprintf(out, TSR_ADDR_KEY_MAX + 1, "%s/64", text);
}
