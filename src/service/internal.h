/* internal.h - what the service's own files share; not for other layers */
#ifndef TSR_SERVICE_INTERNAL_H
#define TSR_SERVICE_INTERNAL_H

#include <pthread.h>
#include <sodium.h>

#include "service/hashpool.h"
#include "service/index.h"
#include "service/live.h"
#include "service/ratelimit.h"
#include "service/service.h"

/* How many distinct pending entries the write-behind tables hold between two
 * flushes; past that, further entries wait for the next use or are counted
 * into one overflow record. */
#define TSR_PENDING_USES   16384
#define TSR_PENDING_AUDITS 1024
#define TSR_AUDIT_SLOTS    (TSR_PENDING_AUDITS * 2)
/* Failed authentications with well-formed secrets that no live token has
 * get a record each (its owner's, if the secret was revoked) only for the
 * first few per client address key and flush; the rest are counted in that
 * address's one record, so random secrets cost a few rows, not one each. */
#define TSR_AUDIT_SECRETS_PER_ADDR 3

struct tsr__pending {
    struct tsr_token_use *uses; /* open addressing on the token id */
    size_t nuses;
    struct tsr_audit_row *audits;
    /* The secret hash behind each failed authentication that found no live
     * token (all zero otherwise): the writer looks up whose it was. */
    uint8_t (*audit_hashes)[TSR_HASH_LEN];
    uint16_t *audit_slots; /* open addressing over audits: index + 1, 0 for empty */
    /* Per record of an address key's unknown secrets: how many records of
     * single secrets that address has started (TSR_AUDIT_SECRETS_PER_ADDR). */
    uint8_t *audit_named;
    size_t naudits;
    int64_t dropped_audits;                             /* written as one record of nobody's */
    unsigned char audit_key[crypto_shorthash_KEYBYTES]; /* keys audit_slots */
};

struct tsr_service {
    struct tsr_store *store;
    struct tsr_service_config cfg;
    struct tsr_index *index;
    /* Failed logins per address key (tsr_addr_key), and per email text. */
    struct tsr_ratelimit *logins, *accounts;
    /* Leak reports per address key, in a sliding hour (leaks.c). */
    struct tsr_slidelimit *leak_reports;
    pthread_mutex_t sync_lock; /* one sync at a time */
    int64_t synced_seq;        /* the change_seq the index reflects; under sync_lock */
    /* Verified against when an email is unknown, so that refusing it costs
     * as much as refusing a wrong password. */
    char dummy_hash[crypto_pwhash_STRBYTES];
    struct tsr__hashpool *hashers; /* where logins check their password */
    struct tsr__catalog *catalog;  /* the scopes that exist; refreshed by every sync */

    pthread_mutex_t lock; /* guards pending and stopping; never held over I/O */
    pthread_cond_t wake;
    struct tsr__pending tables[2];
    struct tsr__pending *pending; /* the table being filled */
    pthread_mutex_t flush_lock;   /* one flush at a time */
    pthread_t writer;
    bool writer_started;
    bool stopping;

    /* With a store that other nodes share (tsr_store_shared): the watcher
     * thread waits for the store to hear of a change and then reads the
     * changes at once; a verify that misses the index asks the store, at
     * most TSR_MISS_ASKS_PER_SEC times a second (a token bucket under
     * ask_lock). */
    bool shared;
    pthread_t watcher;
    bool watcher_started;
    pthread_mutex_t ask_lock;
    double ask_budget;
    int64_t ask_refilled_ms;

    /* Sends events' deliveries (deliver.c); NULL without a sender. */
    struct tsr__deliverer *deliverer;
};

#define TSR_MISS_ASKS_PER_SEC 500

/* ---- the scopes that exist (scopes.c) ---- */

/* The operator's scopes as the service last read them, for the checks that
 * must not read the store (a verify's scope parameters). */
struct tsr__catalog;

enum tsr_err tsr__catalog_new(struct tsr__catalog **out) TSR_MUST_CHECK;
void tsr__catalog_free(struct tsr__catalog *cat);

/* Reads the operator's scopes again when the store's scope version has
 * moved since the last read (always on the first call). */
enum tsr_err tsr__catalog_refresh(struct tsr_service *svc) TSR_MUST_CHECK;

/* True when the len bytes at s name a scope a token can hold: a built-in
 * one ("global" among them, "admin" not) or an operator scope of the last
 * read. Never reads the store; cannot fail. */
bool tsr__scope_known(struct tsr_service *svc, const char *s, size_t len);

/* Whether a credential of grant g (NULL: everything) holds scope s: the one
 * rule (tsr__grant_holds) asked with whether s exists. */
bool tsr__holds(struct tsr_service *svc, const struct tsr_grant *g, const char *s, size_t len);

/* Finds the token with that secret hash in the index, as tsr__index_find
 * does; when the index lacks it and the store is shared, asks the store
 * (within the rate above), puts what it finds in the index and finds it
 * there. Cannot fail: a store that fails to answer is a miss. */
bool tsr__find_token(struct tsr_service *svc, const uint8_t hash[TSR_HASH_LEN], int64_t now,
                     struct tsr_index_hit *out);

/* Appends one audit record now (written before the caller answers). A
 * failure to write is logged, not returned: the action itself succeeded. */
void tsr__audit_now(struct tsr_service *svc, const char *action, const char *user_id,
                    const char *token_id, const char *remote, bool success);

/* Counts one failed authentication for the next batch; hash (may be NULL)
 * is that of a well-formed secret the index does not hold. Cannot fail. */
void tsr__audit_later(struct tsr_service *svc, const char *user_id, const char *token_id,
                      const uint8_t *hash, const char *remote);

/* Notes that token_id was used at now from remote, for the next batch.
 * Cannot fail (a full table drops the note; the next use notes it again). */
void tsr__usage_note(struct tsr_service *svc, const char *token_id, int64_t now,
                     const char *remote);

/* Allocates and frees the write-behind tables. */
enum tsr_err tsr__pending_init(struct tsr__pending *p) TSR_MUST_CHECK;
void tsr__pending_release(struct tsr__pending *p);

/* Writes one table's contents to the store and empties it. */
enum tsr_err tsr__pending_write(struct tsr_service *svc, struct tsr__pending *p) TSR_MUST_CHECK;

/* Fills row with one audit record of a success, at the current time.
 * Cannot fail. */
void tsr__audit_success(struct tsr_audit_row *row, const char *action, const char *user_id,
                        const char *token_id, const char *remote);

/* Inserts t in the store with its audit record (see tsr_store_token_insert),
 * then in the index. */
enum tsr_err tsr__token_insert(struct tsr_service *svc, const struct tsr_token_row *t,
                               int64_t max_live, int64_t now,
                               const struct tsr_audit_row *audit) TSR_MUST_CHECK;

/* Revokes token t (its user_id, id and kind; of t as the store read it) in
 * the store with its audit record, then refuses every secret of it in the
 * index (tsr__index_revoke_token). */
enum tsr_err tsr__token_revoke(struct tsr_service *svc, const struct tsr_token_row *t,
                               const struct tsr_audit_row *audit) TSR_MUST_CHECK;

/* Checks op's login (tsr_auth_login), wipes its password and calls
 * op->done: what the hashing threads run. */
void tsr__login_run(struct tsr_login_op *op);

/* Fills why with field and a sentence made from fmt, and returns rc: the
 * one way the service says why it refused something. */
enum tsr_err tsr__refuse(struct tsr_problem *why, enum tsr_err rc, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
