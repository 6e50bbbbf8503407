/* dynbuf.h - a growable byte buffer with a hard cap, wiped when it grows or is freed
 *
 * Everything fed by the network grows in one of these: a body, an answer, a
 * query being built. The cap is the caller's promise of how much it will
 * ever hold; a buffer that would pass it keeps what it had and says
 * TSR_ERR_TOOBIG, as curl's dynbuf does. Old blocks are wiped before they
 * are freed, because what a buffer holds may be a secret.
 */
#ifndef TSR_CORE_DYNBUF_H
#define TSR_CORE_DYNBUF_H

#include <stddef.h>

#include "core/err.h"

struct tsr_dynbuf {
    char *p;    /* NULL until the first add; else NUL-terminated after len bytes */
    size_t len; /* bytes held, without the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the most len may ever be */
};

/* An empty buffer that will hold at most max bytes. Cannot fail. */
void tsr_dynbuf_init(struct tsr_dynbuf *b, size_t max);

/* Appends n bytes of data. TSR_ERR_TOOBIG when len would pass max,
 * TSR_ERR_NOMEM when memory runs out; in both cases nothing is added. */
enum tsr_err tsr_dynbuf_add(struct tsr_dynbuf *b, const void *data, size_t n) TSR_MUST_CHECK;

/* Wipes and frees what b holds and leaves it empty, with its cap. Cannot fail. */
void tsr_dynbuf_release(struct tsr_dynbuf *b);

/* Copies src into dst of size bytes, always NUL-terminated (as libuv's
 * uv__strscpy). TSR_ERR_TOOBIG when src did not fit (dst then holds as much
 * as fits), TSR_OK otherwise; src NULL copies "". A caller whose src may be
 * longer than dst checks the result; one whose src is bounded already (an
 * id, an address from inet_ntop) need not. */
enum tsr_err tsr_strscpy(char *dst, size_t size, const char *src);

#endif
