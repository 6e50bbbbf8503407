/* grant.h - what a token may do and from where, as a verify checks it
 *
 * A token that may do everything from anywhere at any time (a global token
 * with no address list and no not-before, and every session token) has no
 * grant: NULL stands for it, so that the common case costs nothing. Others
 * have one, built from the stored row, immutable and counted: the index
 * holds one reference, and a request that found the token holds another
 * until it has answered, so a change of the token never frees what a
 * request still reads.
 */
#ifndef TSR_SERVICE_GRANT_H
#define TSR_SERVICE_GRANT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/err.h"
#include "core/ipset.h"
#include "core/scope.h"
#include "store/store.h"

struct tsr_grant {
    atomic_uint refs;
    bool global;   /* scopes is "global" */
    bool deny_all; /* the stored row did not parse: fail closed */
    int64_t not_before;
    size_t nscopes; /* names in scopes */
    size_t nnets;   /* blocks in nets; 0: anywhere */
    size_t scopes_len;
    size_t hot_bytes;             /* what a verify reads: the first bytes of the grant's block */
    struct tsr_cidr *nets;        /* as stored, for what a new token may be given */
    struct tsr_ipset match;       /* the same, for what a request comes from */
    char *scopes;                 /* the row's text: "global" or sorted names, one space apart */
    struct tsr_grant_name *names; /* the nscopes names of scopes, in byte order */
};

/* One name of a grant's scopes, as a place in its text. */
struct tsr_grant_name {
    uint32_t at, len;
};

/* Builds the grant of row t into *out: NULL when t is unrestricted (see
 * above). TSR_ERR_NOMEM only. A row whose texts do not parse gets a grant
 * that refuses every address (and the problem is logged). */
enum tsr_err tsr__grant_from_row(const struct tsr_token_row *t,
                                 struct tsr_grant **out) TSR_MUST_CHECK;

/* Takes another reference to g (NULL: nothing) and returns g. */
struct tsr_grant *tsr__grant_ref(struct tsr_grant *g);

/* Gives one back, freeing g with the last; NULL is a no-op. */
void tsr__grant_unref(struct tsr_grant *g);

/* Asks the CPU to fetch what a verify will read of g (NULL: nothing), so
 * that its cache misses overlap instead of coming one after another. */
void tsr__grant_prefetch(const struct tsr_grant *g);

/* Whether a credential of grant g (NULL: everything) holds scope s (len
 * bytes), when known says whether s names a scope that exists: a name that
 * is not a scope is held by nobody; global holds every scope that is;
 * tokens:write holds tokens:read. Cannot fail. */
bool tsr__grant_holds(const struct tsr_grant *g, const char *s, size_t len, bool known);

/* Whether g lets its token be used from remote (the client's address as
 * text; "" or junk when unknown, which an address list refuses). */
bool tsr__grant_allows(const struct tsr_grant *g, const char *remote);

/* Whether the block c lies within g's address list (true when g has none). */
bool tsr__grant_covers(const struct tsr_grant *g, const struct tsr_cidr *c);

/* The scopes as text, "global" for NULL; *len its length. */
const char *tsr__grant_scopes(const struct tsr_grant *g, size_t *len);

#endif
