/* store_engine.h - private: what an engine gives store.c, one function per store.h call
 *
 * An engine embeds struct tsr_store as the first member of its own struct,
 * points ops at its table, and casts back in each function. store.c only
 * forwards; the contracts are those of store.h. The grouped token writes
 * (insert, update, revoke) are not here: commit.c runs them on the
 * primitives the engine gives its committer (commit.h).
 *
 * A callback handed to a store call (the `each` functions) runs while the
 * engine holds one of its connections, so it must not call back into the
 * store: with every connection taken that would wait on itself.
 */
#ifndef TSR_STORE_STORE_ENGINE_H
#define TSR_STORE_STORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/commit.h"
#include "store/store.h"

struct tsr__store_ops {
    void (*close)(struct tsr_store *store);
    enum tsr_err (*ping)(struct tsr_store *store);
    const char *(*path)(struct tsr_store *store);

    enum tsr_err (*user_insert)(struct tsr_store *store, const struct tsr_user_row *user);
    enum tsr_err (*user_by_email)(struct tsr_store *store, const char *email,
                                  struct tsr_user_row *out);
    enum tsr_err (*user_by_id)(struct tsr_store *store, const char *id, struct tsr_user_row *out);
    enum tsr_err (*user_each)(struct tsr_store *store,
                              enum tsr_err (*each)(const struct tsr_user_row *, void *), void *ctx);
    enum tsr_err (*user_count)(struct tsr_store *store, int64_t *out);
    enum tsr_err (*user_set_password)(struct tsr_store *store, const char *id,
                                      const char *password_hash, int64_t now);
    enum tsr_err (*user_remove)(struct tsr_store *store, const char *id, int64_t now);

    enum tsr_err (*token_by_hash)(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                  struct tsr_token_row *out);
    enum tsr_err (*token_insert_many)(struct tsr_store *store, const struct tsr_token_row *tokens,
                                      size_t n);
    uint64_t (*statements)(struct tsr_store *store);
    enum tsr_err (*purge)(struct tsr_store *store, int64_t tokens_before, int64_t audit_before,
                          int64_t *tokens, int64_t *audits);
    enum tsr_err (*backup)(struct tsr_store *store, const char *dest, char *msg, size_t size);
    enum tsr_err (*token_by_hash_any)(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                      struct tsr_token_row *out);
    enum tsr_err (*token_get)(struct tsr_store *store, const char *user_id, const char *id,
                              struct tsr_token_row *out);
    enum tsr_err (*token_list)(struct tsr_store *store, const struct tsr_token_query *q,
                               enum tsr_err (*each)(const struct tsr_token_row *, void *),
                               void *ctx, int64_t *total);
    enum tsr_err (*token_each_live)(struct tsr_store *store, int64_t now,
                                    enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                    void *ctx, int64_t *max_seq);
    enum tsr_err (*token_changes)(struct tsr_store *store, int64_t since,
                                  enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                  void *ctx, int64_t *max_seq);
    enum tsr_err (*change_seq)(struct tsr_store *store, int64_t *out);
    enum tsr_err (*token_touch)(struct tsr_store *store, const struct tsr_token_use *uses,
                                size_t n);

    enum tsr_err (*audit_append)(struct tsr_store *store, const struct tsr_audit_row *rows,
                                 size_t n);
    enum tsr_err (*audit_each)(struct tsr_store *store, const char *user_id, int64_t offset,
                               int64_t limit,
                               enum tsr_err (*each)(const struct tsr_audit_row *, void *),
                               void *ctx);
    enum tsr_err (*audit_list)(struct tsr_store *store, const char *user_id, int64_t offset,
                               int64_t limit,
                               enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                               void *ctx, int64_t *total);

    enum tsr_err (*scope_insert)(struct tsr_store *store, const struct tsr_scope_row *scope);
    enum tsr_err (*scope_remove)(struct tsr_store *store, const char *name, int64_t now,
                                 int64_t *in_use);
    enum tsr_err (*scope_each)(struct tsr_store *store,
                               enum tsr_err (*each)(const struct tsr_scope_row *, void *),
                               void *ctx);
    enum tsr_err (*scope_version)(struct tsr_store *store, int64_t *out);

    enum tsr_err (*webhook_insert)(struct tsr_store *store, const struct tsr_webhook_row *hook);
    enum tsr_err (*webhook_remove)(struct tsr_store *store, const char *id, int64_t now);
    enum tsr_err (*webhook_each)(struct tsr_store *store,
                                 enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                                 void *ctx);
    enum tsr_err (*delivery_claim)(struct tsr_store *store, unsigned channels, int64_t now,
                                   int64_t claimed_until, size_t max, struct tsr_delivery_row *out,
                                   size_t *n);
    enum tsr_err (*delivery_finish)(struct tsr_store *store, int64_t id,
                                    enum tsr_delivery_state state, int64_t next_at, int64_t status,
                                    const char *error, int64_t now);
    enum tsr_err (*delivery_each)(struct tsr_store *store, const char *webhook_id,
                                  enum tsr_delivery_state state, int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                  void *ctx);
    enum tsr_err (*expiry_notices)(struct tsr_store *store, int64_t now, const int64_t *before,
                                   size_t n, int64_t expired_since, bool mail_owner,
                                   int64_t *raised);

    /* Optional (NULL): an engine without them is not shared and hears of no
     * change; store.c answers for it. */
    enum tsr_err (*wait_change)(struct tsr_store *store, int timeout_ms);
    bool (*shared)(struct tsr_store *store);
};

/* The part of every engine's store that store.c and commit.c see. */
struct tsr_store {
    const struct tsr__store_ops *ops;
    struct tsr__committer committer; /* the grouped token writes (commit.c) */
};

/* Writes a sentence for people to msg (cut to size), when the caller gave
 * room for one. Cannot fail. */
void tsr__set_msg(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies the n bytes at s and a NUL into dst of size bytes, cutting before
 * a UTF-8 sequence that would not fit whole. A NULL s gives "". Cannot
 * fail. */
void tsr__copy_str(char *dst, size_t size, const char *s, size_t n);

/* Opens (creating when missing) the SQLite database at path, as
 * tsr_store_open describes; on failure writes a sentence for people to
 * err_msg (when not NULL) and leaves *out untouched. */
enum tsr_err tsr__store_sqlite_open(const char *path, struct tsr_store **out, char *err_msg,
                                    size_t err_msg_size) TSR_MUST_CHECK;

/* Opens the PostgreSQL database named by a postgres:// or postgresql:// URL
 * (libpq's), applying pending migrations, as tsr_store_open describes; on
 * failure writes a sentence for people to err_msg (when not NULL). */
enum tsr_err tsr__store_pg_open(const char *url, struct tsr_store **out, char *err_msg,
                                size_t err_msg_size) TSR_MUST_CHECK;

#endif
