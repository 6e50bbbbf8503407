/* fuzz_router.c - which route a method and path reach */
#include <string.h>

#include "http/router.h"
#include "fuzz.h"

/* The input is "METHOD\npath": the router sees paths of at most
 * TSR_PATH_MAX - 1 bytes (server.c cuts the query and a trailing slash). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    char method[16], id[TSR_UUID_LEN + 1], allow[64];
    const char *path;
    size_t mlen, plen;
    bool has_id = false;
    const struct tsr_route *route;
    const struct tsr_endpoint *ep;

    if (!nl)
        return 0;
    mlen = (size_t)(nl - (const char *)data);
    if (mlen >= sizeof(method))
        return 0;
    memcpy(method, data, mlen);
    method[mlen] = '\0';
    path = nl + 1;
    plen = size - mlen - 1;
    if (plen >= TSR_PATH_MAX)
        return 0;

    memset(id, 'x', sizeof(id));
    route = tsr__route_find(path, plen, id, &has_id);
    if (!route)
        return 0;
    FUZZ_CHECK(route->pattern != NULL);
    if (has_id) {
        FUZZ_CHECK(strlen(id) == TSR_UUID_LEN);
        FUZZ_CHECK(strspn(id, "0123456789abcdef-") == TSR_UUID_LEN);
        FUZZ_CHECK(memmem(path, plen, id, TSR_UUID_LEN) != NULL);
    }
    ep = tsr__route_endpoint(route, method);
    if (ep) {
        FUZZ_CHECK(ep->handler != NULL);
        FUZZ_CHECK(strcmp(ep->method, method) == 0 ||
                   (strcmp(method, "HEAD") == 0 && strcmp(ep->method, "GET") == 0));
    }
    tsr__route_allow(route, allow, sizeof(allow));
    FUZZ_CHECK(memchr(allow, '\0', sizeof(allow)) != NULL && allow[0] != '\0');
    return 0;
}
