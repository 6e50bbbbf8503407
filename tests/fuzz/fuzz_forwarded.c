/* fuzz_forwarded.c - the --trusted-proxy list and the X-Forwarded-For walk
 *
 * The input is a proxy list, a newline, then X-Forwarded-For values, one
 * per line.
 */
#include <arpa/inet.h>
#include <string.h>

#include "http/proxy.h"
#include "fuzz.h"

#define VALUES_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const char *values[VALUES_MAX];
    struct tsr_proxies p;
    char err[256], out[TSR_ADDR_MAX + 1];
    unsigned char bin[16];
    size_t n = 0;
    char *line, *next;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    next = strchr(text, '\n');
    if (next)
        *next++ = '\0';
    if (tsr__proxies_parse(text, &p, err, sizeof(err)) != TSR_OK) {
        FUZZ_CHECK(err[0] != '\0');
        p.n = 0;
    }
    FUZZ_CHECK(p.n <= TSR_PROXIES_MAX);
    for (size_t i = 0; i < p.n; i++)
        FUZZ_CHECK(p.nets[i].bits <= 128);
    for (line = next; line && n < VALUES_MAX; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        values[n++] = line;
    }
    if (tsr__forwarded_client(&p, values, n, out)) {
        /* Whatever came back is an address in canonical text. */
        FUZZ_CHECK(inet_pton(AF_INET, out, bin) == 1 || inet_pton(AF_INET6, out, bin) == 1);
        FUZZ_CHECK(strlen(out) <= TSR_ADDR_MAX);
    }
    free(text);
    return 0;
}
