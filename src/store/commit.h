/* commit.h - group commit for every engine: the write queue, the committer
 * thread and the token writes that go through them
 *
 * The token writes a caller may group (insert, update, revoke) are written
 * once, here: they queue up, and one committer thread commits whatever has
 * queued in one transaction, each write under a savepoint of its own, with
 * its audit row in the same transaction. An engine supplies only the
 * primitives below, as a pager sits on sqlite3_io_methods: transaction
 * control on its one writer connection, and one function per statement.
 *
 * Every primitive runs on the committer thread only, between begin and
 * commit, so an engine needs no lock of its own for the writer beyond what
 * its other writes on that connection need.
 */
#ifndef TSR_STORE_COMMIT_H
#define TSR_STORE_COMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct tsr__tx_ops {
    /* Opens a write transaction on the writer, one that may hand out
     * change_seq (the engine takes what it needs to number changes in
     * commit order). On TSR_OK, commit ends it; on failure nothing is open. */
    enum tsr_err (*begin)(void *engine);
    enum tsr_err (*savepoint)(void *engine);
    enum tsr_err (*release)(void *engine);
    enum tsr_err (*rollback_to)(void *engine);
    /* Commits when rc is TSR_OK, else rolls back; lets the writer go.
     * Returns rc, or the commit's error. */
    enum tsr_err (*commit)(void *engine, enum tsr_err rc);
    /* Whether the open transaction is gone (the engine rolled it back, or
     * lost its connection): nothing more may run in it. */
    bool (*failed)(void *engine);

    /* One statement each, in the open transaction. */

    /* TSR_OK when user_id is a live user, TSR_ERR_NOT_FOUND when not. */
    enum tsr_err (*user_live)(void *engine, const char *user_id);
    /* The personal tokens of user_id that count towards the cap: those not revoked. */
    enum tsr_err (*token_count_kept)(void *engine, const char *user_id, int64_t *n);
    /* Inserts t with the next change_seq; TSR_ERR_EXISTS for a repeated
     * id or secret hash. */
    enum tsr_err (*token_add)(void *engine, const struct tsr_token_row *t);
    /* As tsr_store_token_get, in the open transaction. */
    enum tsr_err (*token_get)(void *engine, const char *user_id, const char *id,
                              struct tsr_token_row *out);
    /* Writes the fields of `fields` from v to user_id's unrevoked personal
     * token id with the next change_seq; TSR_ERR_NOT_FOUND when none. */
    enum tsr_err (*token_set)(void *engine, const char *user_id, const char *id, unsigned fields,
                              const struct tsr_token_row *v);
    /* Revokes user_id's unrevoked token id of kind at now with the next
     * change_seq; TSR_ERR_NOT_FOUND when none. */
    enum tsr_err (*token_revoke)(void *engine, const char *user_id, const char *id,
                                 enum tsr_token_kind kind, int64_t now);
    enum tsr_err (*audit_add)(void *engine, const struct tsr_audit_row *row);
    /* Records row->event as event_id, raised at row->at, for the token
     * row->token_id as it is in the open transaction, with its deliveries
     * (store.h's tsr_audit_row). */
    enum tsr_err (*event_add)(void *engine, const struct tsr_audit_row *row, const char *event_id);
};

struct tsr__write_job;

/* The queue and its thread; lives in every store (struct tsr_store). */
struct tsr__committer {
    const struct tsr__tx_ops *ops;
    void *engine;
    pthread_mutex_t lock;
    pthread_cond_t done;
    pthread_cond_t grew;
    struct tsr__write_job *queue;
    struct tsr__write_job **tail;
    size_t queued;
    size_t last_batch;  /* jobs in the batch committed last */
    bool arrived_while; /* a job came while that batch was being committed */
    bool leading;       /* the committer is at work on a batch */
    bool stopping;
    bool started;
    pthread_t thread;
};

/* Makes q ready to queue writes for engine through ops, with no thread yet.
 * Cannot fail. */
void tsr__committer_init(struct tsr__committer *q, const struct tsr__tx_ops *ops, void *engine);

/* Starts the committer thread, once the engine's writer is open.
 * TSR_ERR_NOMEM when no thread can be made. */
enum tsr_err tsr__committer_start(struct tsr__committer *q) TSR_MUST_CHECK;

/* Commits what is still queued, stops the thread (when started) and frees
 * what init took. Call before the engine closes its writer. */
void tsr__committer_release(struct tsr__committer *q);

/* The text a kind is stored as, or NULL for no kind of ours. */
const char *tsr__kind_text(enum tsr_token_kind kind);

/* The kind stored as text; TSR_ERR_STORE for a text we never write. */
enum tsr_err tsr__kind_parse(const char *text, enum tsr_token_kind *out) TSR_MUST_CHECK;

/* The scopes a token row is stored with: its own, or "global" when the
 * caller left them empty, as a row filled before scopes existed would be
 * (the column's default says the same). Cannot fail. */
const char *tsr__scopes_or_global(const char *scopes);

/* store.h's channels and delivery states as the engines' SQL writes them
 * (the rows keep these numbers, so none may change). */
#define TSR__SQL_WEBHOOK "1"
#define TSR__SQL_EMAIL   "2"
#define TSR__SQL_PENDING "1"
#define TSR__SQL_DROPPED "4"
_Static_assert(TSR_CHANNEL_WEBHOOK == 1 && TSR_CHANNEL_EMAIL == 2, "channels as stored");
_Static_assert(TSR_DELIVERY_PENDING == 1 && TSR_DELIVERY_DONE == 2 && TSR_DELIVERY_FAILED == 3 &&
                   TSR_DELIVERY_DROPPED == 4,
               "delivery states as stored");

/* Sets out's channel and state from the numbers a row holds;
 * TSR_ERR_STORE for a number we never write. */
enum tsr_err tsr__delivery_parse(int64_t channel, int64_t state,
                                 struct tsr_delivery_row *out) TSR_MUST_CHECK;

/* One window of expiry notices (tsr_store_expiry_notices): events of type
 * raised at now for the tokens that expire in (after, until], before_s
 * seconds ahead (0 for the expiry itself). */
struct tsr__notice_window {
    const char *type;
    int64_t now;
    int64_t after;
    int64_t until;
    int64_t before_s;
};

/* Window i of tsr_store_expiry_notices' arguments: 0 to n - 1 those of
 * before, n that of the expiry. Cannot fail. */
void tsr__notice_window(int64_t now, const int64_t *before, size_t n, int64_t expired_since,
                        size_t i, struct tsr__notice_window *out);

/* Which of the eight listing orders (enum tsr_token_order, ascending then
 * descending) q asks for, as an offset from the first; TSR_ERR_INVALID for
 * an order there is none of. */
enum tsr_err tsr__list_order(const struct tsr_token_query *q, int *out) TSR_MUST_CHECK;

#endif
