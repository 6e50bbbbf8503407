/* internal.h - what the service's own files share; not for other layers */
#ifndef TSR_SERVICE_INTERNAL_H
#define TSR_SERVICE_INTERNAL_H

#include <pthread.h>
#include <sodium.h>

#include "service/service.h"

/* How many distinct pending entries the write-behind tables hold between two
 * flushes; past that, further entries wait for the next use or are counted
 * into one overflow record. */
#define TSR_PENDING_USES   16384
#define TSR_PENDING_AUDITS 1024

struct tsr__pending {
    struct tsr_token_use *uses; /* open addressing on the token id */
    size_t nuses;
    struct tsr_audit_row *audits;
    size_t naudits;
    int64_t dropped_audits;
};

struct tsr_service {
    struct tsr_store *store;
    struct tsr_service_config cfg;
    /* Verified against when an email is unknown, so that refusing it costs
     * as much as refusing a wrong password. */
    char dummy_hash[crypto_pwhash_STRBYTES];

    pthread_mutex_t lock; /* guards pending and stopping; never held over I/O */
    pthread_cond_t wake;
    struct tsr__pending tables[2];
    struct tsr__pending *pending; /* the table being filled */
    pthread_mutex_t flush_lock;   /* one flush at a time */
    pthread_t writer;
    bool writer_started;
    bool stopping;
};

/* Appends one audit record now (written before the caller answers). A
 * failure to write is logged, not returned: the action itself succeeded. */
void tsr__audit_now(struct tsr_service *svc, const char *action, const char *user_id,
                    const char *token_id, const char *remote, bool success);

/* Counts one failed authentication for the next batch. Cannot fail. */
void tsr__audit_later(struct tsr_service *svc, const char *action, const char *user_id,
                      const char *token_id, const char *remote);

/* Notes that token_id was used at now from remote, for the next batch.
 * Cannot fail (a full table drops the note; the next use notes it again). */
void tsr__usage_note(struct tsr_service *svc, const char *token_id, int64_t now,
                     const char *remote);

/* Allocates and frees the write-behind tables. */
enum tsr_err tsr__pending_init(struct tsr__pending *p) TSR_MUST_CHECK;
void tsr__pending_release(struct tsr__pending *p);

/* Writes one table's contents to the store and empties it. */
enum tsr_err tsr__pending_write(struct tsr_service *svc, struct tsr__pending *p) TSR_MUST_CHECK;

/* Copies at most size-1 bytes of src and a NUL into dst. Cannot fail. */
void tsr__copy(char *dst, size_t size, const char *src);

#endif
