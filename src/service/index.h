/* index.h - the in-memory index of live tokens: secret hash to who and until when
 *
 * A verify reads only this, never the database. Look-ups and changes take
 * the mutex of one of many shards for a moment, so threads seldom meet; a
 * look-up writes too (it notes the use, and copies the tokens in use where
 * the next look-up finds them with no TLB miss). Keys are the first 16 bytes
 * of a secret's SHA-256: finding another secret with the same 128 bits is a
 * preimage attack.
 */
#ifndef TSR_SERVICE_INDEX_H
#define TSR_SERVICE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

struct tsr_index;
struct tsr_grant;

struct tsr_index_hit {
    uint8_t token_id[TSR_UUID_BYTES];
    uint8_t user_id[TSR_UUID_BYTES];
    int64_t expires_at;
    enum tsr_token_kind kind;
    bool newly_used; /* the first use noted in this second */
    /* What it may do and from where (grant.h): a reference for the caller
     * to give back with tsr__grant_unref; NULL when unrestricted. */
    struct tsr_grant *grant;
};

/* Creates an empty index. */
enum tsr_err tsr__index_new(struct tsr_index **out) TSR_MUST_CHECK;

/* Frees the index; NULL is a no-op. */
void tsr__index_free(struct tsr_index *ix);

/* Adds t (by its secret hash), or replaces what the index holds for it
 * unless that came from a newer row (by change_seq; 0 counts as newest) or
 * the token was revoked. A rotated t (has_prev) also puts its previous
 * secret, found until its grace ends at now or later (and a tombstone
 * after), and refuses from now on any older secret of the token that t no
 * longer names: one the rotation before left in grace, or the one this
 * index held when it missed a rotation. */
enum tsr_err tsr__index_put(struct tsr_index *ix, const struct tsr_token_row *t,
                            int64_t now) TSR_MUST_CHECK;

/* As tsr__index_put, for filling an empty index from the store, row by row
 * (one row a token): an index that held nothing cannot have missed a
 * rotation. */
enum tsr_err tsr__index_load(struct tsr_index *ix, const struct tsr_token_row *t,
                             int64_t now) TSR_MUST_CHECK;

/* Refuses the token with that secret hash from now on, for good: no later
 * put brings it back (the index keeps a tombstone for a minute, which
 * outlasts any sync that read the token before it was revoked). Absent is
 * fine. Fails only for want of memory. */
enum tsr_err tsr__index_revoke(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN],
                               int64_t now) TSR_MUST_CHECK;

/* Refuses every secret of revoked row t from now on: its secret, its
 * previous one, and any the index holds in grace for it. Fails only for
 * want of memory. */
enum tsr_err tsr__index_revoke_token(struct tsr_index *ix, const struct tsr_token_row *t,
                                     int64_t now) TSR_MUST_CHECK;

/* Finds the token with that secret hash and notes its use at now. False when
 * the index has no such token. Allocates nothing and cannot fail. */
bool tsr__index_find(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN], int64_t now,
                     struct tsr_index_hit *out);

/* Drops every token that has expired at now, and the tombstones whose
 * minute has passed. Cannot fail. */
void tsr__index_sweep(struct tsr_index *ix, int64_t now);

/* How many live tokens the index holds (tombstones not counted). */
size_t tsr__index_count(struct tsr_index *ix);

#endif
