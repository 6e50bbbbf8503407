/* dynbuf.c - a growable byte buffer with a hard cap, wiped when it grows or is freed */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/dynbuf.h"

#define FIRST_CAP 1024

void tsr_dynbuf_init(struct tsr_dynbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

/* Room for need bytes and a NUL: a new block, the old one copied, wiped and
 * freed, since realloc would leave its copy behind unwiped. */
static enum tsr_err grow(struct tsr_dynbuf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    char *p;

    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = malloc(cap);
    if (!p)
        return TSR_ERR_NOMEM;
    if (b->p) {
        memcpy(p, b->p, b->len + 1);
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
    return TSR_OK;
}

enum tsr_err tsr_dynbuf_add(struct tsr_dynbuf *b, const void *data, size_t n)
{
    if (n > b->max - b->len)
        return TSR_ERR_TOOBIG;
    if (b->len + n + 1 > b->cap) {
        enum tsr_err rc = grow(b, b->len + n);

        if (rc != TSR_OK)
            return rc;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return TSR_OK;
}

void tsr_dynbuf_release(struct tsr_dynbuf *b)
{
    if (b->p) {
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

enum tsr_err tsr_strscpy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size) : 0;

    if (size == 0)
        return src && *src ? TSR_ERR_TOOBIG : TSR_OK;
    if (n == size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return TSR_ERR_TOOBIG;
    }
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return TSR_OK;
}
