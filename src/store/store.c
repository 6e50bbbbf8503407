/* store.c - picks the engine for a target and forwards each call to it */
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store_engine.h"

/* True when target begins with prefix, ignoring case as URI schemes do. */
static bool has_scheme(const char *target, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(target, prefix, n) == 0;
}

void tsr__set_msg(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

void tsr__copy_str(char *dst, size_t size, const char *s, size_t n)
{
    if (s == NULL)
        n = 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

enum tsr_err tsr_store_open(const char *target, struct tsr_store **out, char *err_msg,
                            size_t err_msg_size)
{
    const char *msg = NULL;
    enum tsr_err rc = TSR_OK;

    if (target == NULL || target[0] == '\0') {
        msg = "no database given";
        rc = TSR_ERR_INVALID;
        goto out;
    }
    if (has_scheme(target, "postgres://") || has_scheme(target, "postgresql://")) {
        rc = tsr__store_pg_open(target, out, err_msg, err_msg_size);
        goto out;
    }
    rc = tsr__store_sqlite_open(target, out, err_msg, err_msg_size);
out:
    if (msg != NULL)
        tsr__set_msg(err_msg, err_msg_size, "%s", msg);
    return rc;
}

void tsr_store_close(struct tsr_store *store)
{
    if (store != NULL)
        store->ops->close(store);
}

enum tsr_err tsr_store_ping(struct tsr_store *store)
{
    return store->ops->ping(store);
}

const char *tsr_store_path(struct tsr_store *store)
{
    return store->ops->path(store);
}

enum tsr_err tsr_store_user_insert(struct tsr_store *store, const struct tsr_user_row *user)
{
    return store->ops->user_insert(store, user);
}

enum tsr_err tsr_store_user_by_email(struct tsr_store *store, const char *email,
                                     struct tsr_user_row *out)
{
    return store->ops->user_by_email(store, email, out);
}

enum tsr_err tsr_store_user_by_id(struct tsr_store *store, const char *id, struct tsr_user_row *out)
{
    return store->ops->user_by_id(store, id, out);
}

enum tsr_err tsr_store_user_each(struct tsr_store *store,
                                 enum tsr_err (*each)(const struct tsr_user_row *, void *),
                                 void *ctx)
{
    return store->ops->user_each(store, each, ctx);
}

enum tsr_err tsr_store_user_count(struct tsr_store *store, int64_t *out)
{
    return store->ops->user_count(store, out);
}

enum tsr_err tsr_store_user_set_password(struct tsr_store *store, const char *id,
                                         const char *password_hash, int64_t now)
{
    return store->ops->user_set_password(store, id, password_hash, now);
}

enum tsr_err tsr_store_user_remove(struct tsr_store *store, const char *id, int64_t now)
{
    return store->ops->user_remove(store, id, now);
}

enum tsr_err tsr_store_token_insert_many(struct tsr_store *store,
                                         const struct tsr_token_row *tokens, size_t n)
{
    return store->ops->token_insert_many(store, tokens, n);
}

enum tsr_err tsr_store_purge(struct tsr_store *store, int64_t tokens_before, int64_t audit_before,
                             int64_t *tokens, int64_t *audits)
{
    return store->ops->purge(store, tokens_before, audit_before, tokens, audits);
}

enum tsr_err tsr_store_backup(struct tsr_store *store, const char *dest, char *err_msg,
                              size_t err_msg_size)
{
    return store->ops->backup(store, dest, err_msg, err_msg_size);
}

uint64_t tsr_store_statements(struct tsr_store *store)
{
    return store->ops->statements(store);
}

enum tsr_err tsr_store_token_by_hash(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                     struct tsr_token_row *out)
{
    return store->ops->token_by_hash(store, hash, out);
}

enum tsr_err tsr_store_token_by_hash_any(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                         struct tsr_token_row *out)
{
    return store->ops->token_by_hash_any(store, hash, out);
}

enum tsr_err tsr_store_token_get(struct tsr_store *store, const char *user_id, const char *id,
                                 struct tsr_token_row *out)
{
    return store->ops->token_get(store, user_id, id, out);
}

enum tsr_err tsr_store_token_list(struct tsr_store *store, const struct tsr_token_query *q,
                                  enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                  void *ctx, int64_t *total)
{
    return store->ops->token_list(store, q, each, ctx, total);
}

enum tsr_err tsr_store_token_each_live(struct tsr_store *store, int64_t now,
                                       enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                       void *ctx, int64_t *max_seq)
{
    return store->ops->token_each_live(store, now, each, ctx, max_seq);
}

enum tsr_err tsr_store_token_changes(struct tsr_store *store, int64_t since,
                                     enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                     void *ctx, int64_t *max_seq)
{
    return store->ops->token_changes(store, since, each, ctx, max_seq);
}

enum tsr_err tsr_store_change_seq(struct tsr_store *store, int64_t *out)
{
    return store->ops->change_seq(store, out);
}

enum tsr_err tsr_store_token_touch(struct tsr_store *store, const struct tsr_token_use *uses,
                                   size_t n)
{
    return store->ops->token_touch(store, uses, n);
}

enum tsr_err tsr_store_audit_append(struct tsr_store *store, const struct tsr_audit_row *rows,
                                    size_t n)
{
    return store->ops->audit_append(store, rows, n);
}

enum tsr_err tsr_store_audit_each(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_row *, void *),
                                  void *ctx)
{
    return store->ops->audit_each(store, user_id, offset, limit, each, ctx);
}

enum tsr_err tsr_store_audit_list(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                                  void *ctx, int64_t *total)
{
    return store->ops->audit_list(store, user_id, offset, limit, each, ctx, total);
}

enum tsr_err tsr_store_scope_insert(struct tsr_store *store, const struct tsr_scope_row *scope)
{
    return store->ops->scope_insert(store, scope);
}

enum tsr_err tsr_store_scope_remove(struct tsr_store *store, const char *name, int64_t now,
                                    int64_t *in_use)
{
    return store->ops->scope_remove(store, name, now, in_use);
}

enum tsr_err tsr_store_scope_each(struct tsr_store *store,
                                  enum tsr_err (*each)(const struct tsr_scope_row *, void *),
                                  void *ctx)
{
    return store->ops->scope_each(store, each, ctx);
}

enum tsr_err tsr_store_scope_version(struct tsr_store *store, int64_t *out)
{
    return store->ops->scope_version(store, out);
}

enum tsr_err tsr_store_webhook_insert(struct tsr_store *store, const struct tsr_webhook_row *hook)
{
    return store->ops->webhook_insert(store, hook);
}

enum tsr_err tsr_store_webhook_remove(struct tsr_store *store, const char *id, int64_t now)
{
    return store->ops->webhook_remove(store, id, now);
}

enum tsr_err tsr_store_webhook_each(struct tsr_store *store,
                                    enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                                    void *ctx)
{
    return store->ops->webhook_each(store, each, ctx);
}

enum tsr_err tsr_store_delivery_claim(struct tsr_store *store, unsigned channels, int64_t now,
                                      int64_t claimed_until, size_t max,
                                      struct tsr_delivery_row *out, size_t *n)
{
    *n = 0;
    if (max == 0)
        return TSR_OK;
    return store->ops->delivery_claim(store, channels, now, claimed_until, max, out, n);
}

/* Whether an attempt may leave a delivery in state: dropped is for the
 * removal of its webhook alone. */
static bool attempt_state(enum tsr_delivery_state state)
{
    switch (state) {
    case TSR_DELIVERY_PENDING:
    case TSR_DELIVERY_DONE:
    case TSR_DELIVERY_FAILED:
        return true;
    case TSR_DELIVERY_DROPPED:
        break;
    }
    return false;
}

enum tsr_err tsr_store_delivery_finish(struct tsr_store *store, int64_t id,
                                       enum tsr_delivery_state state, int64_t next_at,
                                       int64_t status, const char *error, int64_t now)
{
    char cut[TSR_DELIVERY_ERROR_MAX + 1];

    if (!attempt_state(state))
        return TSR_ERR_INVALID;
    /* A receiver's long answer is cut whole characters short of the row's
     * bound: PostgreSQL refuses text that ends inside one. */
    tsr__copy_str(cut, sizeof(cut), error, error ? strlen(error) : 0);
    return store->ops->delivery_finish(store, id, state, next_at, status, cut, now);
}

enum tsr_err tsr_store_delivery_each(struct tsr_store *store, const char *webhook_id,
                                     enum tsr_delivery_state state, int64_t limit,
                                     enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                     void *ctx)
{
    if ((int)state < 0 || (int)state > (int)TSR_DELIVERY_DROPPED) /* 0 is any */
        return TSR_ERR_INVALID;
    return store->ops->delivery_each(store, webhook_id, state, limit, each, ctx);
}

enum tsr_err tsr_store_expiry_notices(struct tsr_store *store, int64_t now, const int64_t *before,
                                      size_t n, int64_t expired_since, bool mail_owner,
                                      int64_t *raised)
{
    int64_t none;

    /* The windows are read as (before[i - 1], before[i]]: out of order they
     * would overlap, and a token would hear of one expiry twice. */
    for (size_t i = 0; i < n; i++) {
        if (before[i] <= (i > 0 ? before[i - 1] : 0))
            return TSR_ERR_INVALID;
    }
    return store->ops->expiry_notices(store, now, before, n, expired_since, mail_owner,
                                      raised ? raised : &none);
}

bool tsr_store_shared(struct tsr_store *store)
{
    return store->ops->shared != NULL && store->ops->shared(store);
}

enum tsr_err tsr_store_wait_change(struct tsr_store *store, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};

    if (store->ops->wait_change != NULL)
        return store->ops->wait_change(store, timeout_ms);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return TSR_ERR_TIMEOUT;
}
