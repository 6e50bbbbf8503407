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

#endif
