/* live.h - the one rule for whether a token may be used at a given moment
 *
 * Every check of a token's life (verify, introspection, a change, the
 * index's sweep, the list's status) asks these, so that what the next rules
 * add (scopes, not-before, addresses) has one place to go. Inline: verify
 * asks on every request.
 */
#ifndef TSR_SERVICE_LIVE_H
#define TSR_SERVICE_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

enum tsr_token_state {
    TSR_TOKEN_LIVE,    /* may be used */
    TSR_TOKEN_EXPIRED, /* its expires_at has come: it can only be deleted */
    TSR_TOKEN_REVOKED, /* revoked (deleted, logged out, its user removed) */
};

/* Whether a token that expires at expires_at has expired at now: the
 * moment itself counts as expired. */
static inline bool tsr__expired(int64_t expires_at, int64_t now)
{
    return expires_at <= now;
}

/* Whether a token whose not_before (0: none) is that may not be used yet at
 * now: from the moment itself on it may. */
static inline bool tsr__not_yet(int64_t not_before, int64_t now)
{
    return not_before > now;
}

/* The state of t at now. Cannot fail. */
static inline enum tsr_token_state tsr__token_state(const struct tsr_token_row *t, int64_t now)
{
    if (t->revoked_at != 0)
        return TSR_TOKEN_REVOKED;
    return tsr__expired(t->expires_at, now) ? TSR_TOKEN_EXPIRED : TSR_TOKEN_LIVE;
}

/* Until when the secret that hashes to hash is good for t, which the store
 * found by it (tsr_store_token_by_hash): t's expires_at for its secret, the
 * earlier of that and prev_until for the one it had before its last
 * rotation, 0 (long past) for any other. Cannot fail. */
static inline int64_t tsr__secret_until(const struct tsr_token_row *t,
                                        const uint8_t hash[TSR_HASH_LEN])
{
    if (memcmp(t->secret_hash, hash, TSR_HASH_LEN) == 0)
        return t->expires_at;
    if (t->has_prev && memcmp(t->prev_secret_hash, hash, TSR_HASH_LEN) == 0)
        return t->prev_until < t->expires_at ? t->prev_until : t->expires_at;
    return 0;
}

#endif
