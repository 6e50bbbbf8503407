/* leaks.c - secrets reported as leaked: the limit on reports, and their revocation */
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/secret.h"
#include "core/timefmt.h"
#include "service/events.h"
#include "service/internal.h"
#include "service/log.h"

int64_t tsr_leaks_take(struct tsr_service *svc, const char *remote)
{
    char addr[TSR_ADDR_KEY_MAX + 1];

    tsr_addr_key_text(remote, addr);
    return tsr__slidelimit_take(svc->leak_reports, addr, tsr_time_now());
}

/* Whether the secret that hashes to hash would open t but for t's own
 * expiry or not_before: its secret, or the one it had before its last
 * rotation while that one's grace period runs. A previous secret whose
 * grace is over opens nothing any more: a report of it must not cost the
 * owner the token that has moved on. */
static bool opens(const struct tsr_token_row *t, const uint8_t hash[TSR_HASH_LEN], int64_t now)
{
    if (memcmp(t->secret_hash, hash, TSR_HASH_LEN) == 0)
        return true;
    return t->has_prev && memcmp(t->prev_secret_hash, hash, TSR_HASH_LEN) == 0 &&
           now < t->prev_until;
}

/* Revokes the token whose secret the hash is, if it is one of a token that
 * is not revoked; *found says whether it was. */
static enum tsr_err revoke_hash(struct tsr_service *svc, const uint8_t hash[TSR_HASH_LEN],
                                const char *remote, bool *found)
{
    struct tsr_token_row t;
    struct tsr_audit_row audit;
    enum tsr_err rc = tsr_store_token_by_hash(svc->store, hash, &t);

    *found = false;
    if (rc == TSR_ERR_NOT_FOUND)
        return TSR_OK;
    if (rc != TSR_OK)
        return rc;
    if (!opens(&t, hash, tsr_time_now()))
        return TSR_OK;
    /* The event tells its webhooks, and its owner by e-mail, in the
     * revocation's own transaction. */
    tsr__audit_success(&audit, "token.leaked", t.user_id, t.id, remote);
    tsr__audit_event(svc, &audit, TSR_EVENT_LEAKED);
    rc = tsr__token_revoke(svc, &t, &audit);
    /* Revoked in between (its owner, another report): nothing left to do. */
    if (rc == TSR_ERR_NOT_FOUND)
        return TSR_OK;
    if (rc != TSR_OK)
        return rc;
    *found = true;
    tsr_log(TSR_LOG_INFO, "token revoked as leaked id=%s user=%s kind=%s reported from %s", t.id,
            t.user_id, t.kind == TSR_TOKEN_SESSION ? "session" : "personal",
            remote && *remote ? remote : "-");
    return TSR_OK;
}

/* The index of an earlier well-formed entry with the same hash, or i. A
 * secret reported twice is one secret: the second copy is told as the
 * first was, and costs no look-up. */
static size_t first_copy(uint8_t (*hashes)[TSR_HASH_LEN], const bool *wellformed, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (wellformed[j] && memcmp(hashes[j], hashes[i], TSR_HASH_LEN) == 0)
            return j;
    }
    return i;
}

enum tsr_err tsr_leaks_revoke(struct tsr_service *svc, const char *const *secrets,
                              const size_t *lens, size_t n, const char *remote, bool *found)
{
    uint8_t(*hashes)[TSR_HASH_LEN] = calloc(n ? n : 1, sizeof(*hashes));
    bool *wellformed = calloc(n ? n : 1, sizeof(*wellformed));
    bool *live = calloc(n ? n : 1, sizeof(*live));
    enum tsr_err rc = hashes && wellformed && live ? TSR_OK : TSR_ERR_NOMEM;

    for (size_t i = 0; i < n && rc == TSR_OK; i++) {
        size_t first;

        /* Malformed is unknown: no look-up for what no token can have. */
        wellformed[i] = tsr_secret_parse(secrets[i], lens[i]) != TSR_SECRET_NONE;
        if (!wellformed[i])
            continue;
        tsr_secret_hash(secrets[i], lens[i], hashes[i]);
        first = first_copy(hashes, wellformed, i);
        if (first < i)
            live[i] = live[first];
        else
            rc = revoke_hash(svc, hashes[i], remote, &live[i]);
    }
    if (found && rc == TSR_OK)
        memcpy(found, live, n * sizeof(*found));
    free(hashes);
    free(wellformed);
    free(live);
    return rc;
}
