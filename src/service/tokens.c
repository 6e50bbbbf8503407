/* tokens.c - personal tokens: the rules for create, list, change and revoke */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "core/validate.h"
#include "service/internal.h"
#include "service/log.h"

#define DAY 86400

/* No lock spans the store and the index: the store commits concurrent
 * changes together (group commit), and the index orders what reaches it by
 * change_seq and keeps revocations final, so a sync running at the same
 * time can never undo a change. */
enum tsr_err tsr__token_insert(struct tsr_service *svc, const struct tsr_token_row *t,
                               int64_t max_live, int64_t now, const struct tsr_audit_row *audit)
{
    enum tsr_err rc = tsr_store_token_insert(svc->store, t, max_live, now, audit);

    return rc == TSR_OK ? tsr__index_put(svc->index, t) : rc;
}

/* Revoked once the store says so; the index refuses it before the caller
 * answers, so the very next request is refused. */
enum tsr_err tsr__token_revoke(struct tsr_service *svc, const char *user_id, const char *id,
                               enum tsr_token_kind kind, const uint8_t hash[TSR_HASH_LEN],
                               const struct tsr_audit_row *audit)
{
    int64_t now = tsr_time_now();
    enum tsr_err rc = tsr_store_token_revoke(svc->store, user_id, id, kind, now, audit);

    return rc == TSR_OK ? tsr__index_revoke(svc->index, hash, now) : rc;
}

/* An expired token cannot change, only be deleted: the store says what the
 * token is, the service decides. Deciding on a read before the write is
 * safe: no write makes a token expire sooner than now (a new expires_at is
 * in the future), so a token that is not expired at the read is not at the
 * write either, and the store refuses one revoked in between. */
static enum tsr_err token_update(struct tsr_service *svc, const char *user_id, const char *id,
                                 unsigned fields, const struct tsr_token_row *values, int64_t now,
                                 struct tsr_token_row *out, const char *remote)
{
    struct tsr_audit_row audit;
    struct tsr_token_row before;
    enum tsr_err rc = tsr_store_token_get(svc->store, user_id, id, &before);

    if (rc != TSR_OK)
        return rc;
    if (tsr__token_state(&before, now) == TSR_TOKEN_EXPIRED)
        return TSR_ERR_EXPIRED;
    tsr__audit_success(&audit, "token.update", user_id, id, remote);
    rc = tsr_store_token_update(svc->store, user_id, id, fields, values, out, &audit);
    return rc == TSR_OK ? tsr__index_put(svc->index, out) : rc;
}

const char *tsr_token_status(const struct tsr_token_row *t, int64_t now)
{
    return tsr__expired(t->expires_at, now) ? "expired" : "active";
}

/* Copies a checked text field (which holds no NUL) into a row's array. */
static void put_text(char *dst, size_t size, const char *s, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static enum tsr_err check_name(const struct tsr_field *f, struct tsr_token_row *row,
                               struct tsr_problem *why)
{
    const char *s = f->s;
    size_t len = f->len;

    if (tsr_text_check("name", &s, &len, 1, TSR_NAME_MAX_CHARS, false, why->detail,
                       sizeof(why->detail)) != TSR_OK) {
        why->field = "name";
        return TSR_ERR_INVALID;
    }
    put_text(row->name, sizeof(row->name), s, len);
    return TSR_OK;
}

static enum tsr_err check_description(const struct tsr_field *f, struct tsr_token_row *row,
                                      struct tsr_problem *why)
{
    const char *s = f->s;
    size_t len = f->len;

    if (tsr_text_check("description", &s, &len, 0, TSR_DESC_MAX_CHARS, true, why->detail,
                       sizeof(why->detail)) != TSR_OK) {
        why->field = "description";
        return TSR_ERR_INVALID;
    }
    put_text(row->description, sizeof(row->description), s, len);
    return TSR_OK;
}

static enum tsr_err check_expiry(struct tsr_service *svc, const struct tsr_field *f, int64_t now,
                                 struct tsr_token_row *row, struct tsr_problem *why)
{
    int64_t days = svc->cfg.max_lifetime_days;
    int64_t t;

    if (tsr_time_parse(f->s, f->len, &t) != TSR_OK)
        return tsr__refuse(why, TSR_ERR_INVALID, "expires_at",
                           "expires_at must be a date such as 2026-12-30 or 2026-12-30T02:13:00Z");
    if (t <= now)
        return tsr__refuse(why, TSR_ERR_INVALID, "expires_at", "expires_at must be in the future");
    if (days > 0 && t > now + days * DAY)
        return tsr__refuse(why, TSR_ERR_INVALID, "expires_at",
                           "expires_at must be at most %lld day%s from now", (long long)days,
                           days == 1 ? "" : "s");
    if (t > TSR_TIME_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "expires_at",
                           "expires_at must be before the year 10000");
    row->expires_at = t;
    return TSR_OK;
}

/* Checks every field present in `in` and writes the checked values to row;
 * *fields says which. Required fields are required only when `creating`. */
static enum tsr_err check_input(struct tsr_service *svc, const struct tsr_token_input *in,
                                bool creating, int64_t now, struct tsr_token_row *row,
                                unsigned *fields, struct tsr_problem *why)
{
    enum tsr_err rc = TSR_OK;

    *fields = 0;
    if (creating && !in->name.has)
        return tsr__refuse(why, TSR_ERR_MISSING, "name", "name is required");
    if (creating && !in->expires_at.has)
        return tsr__refuse(why, TSR_ERR_MISSING, "expires_at", "expires_at is required");
    if (in->name.has && (rc = check_name(&in->name, row, why)) != TSR_OK)
        return rc;
    if (in->description.has && (rc = check_description(&in->description, row, why)) != TSR_OK)
        return rc;
    if (in->expires_at.has && (rc = check_expiry(svc, &in->expires_at, now, row, why)) != TSR_OK)
        return rc;
    *fields = (in->name.has ? TSR_SET_NAME : 0) | (in->description.has ? TSR_SET_DESCRIPTION : 0) |
              (in->expires_at.has ? TSR_SET_EXPIRES_AT : 0);
    if (*fields == 0)
        return tsr__refuse(why, TSR_ERR_MISSING, NULL,
                           "give at least one of name, description and expires_at");
    return TSR_OK;
}

static void new_token(const struct tsr_principal *p, int64_t now, struct tsr_token_row *t,
                      char secret[TSR_SECRET_LEN + 1])
{
    tsr_uuid7_new(t->id);
    memcpy(t->user_id, p->user_id, sizeof(t->user_id));
    t->kind = TSR_TOKEN_PERSONAL;
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, t->secret_hash);
    tsr_secret_hint(secret, t->key_hint);
    t->created = now;
}

enum tsr_err tsr_tokens_create_prepare(struct tsr_service *svc, const struct tsr_principal *p,
                                       const struct tsr_token_input *in, const char *remote,
                                       struct tsr_create_op *op)
{
    int64_t now = tsr_time_now();
    unsigned fields;
    enum tsr_err rc;

    memset(&op->token, 0, sizeof(op->token));
    op->svc = svc;
    memcpy(op->user_id, p->user_id, sizeof(op->user_id));
    rc = check_input(svc, in, true, now, &op->token, &fields, &op->why);
    if (rc != TSR_OK)
        return rc;
    new_token(p, now, &op->token, op->secret);
    tsr__audit_success(&op->audit, "token.create", p->user_id, op->token.id, remote);
    return TSR_OK;
}

/* The rest of a create, once the store has answered: the index learns of
 * the token before the caller can answer anyone. */
static enum tsr_err created(struct tsr_create_op *op, enum tsr_err rc)
{
    struct tsr_service *svc = op->svc;

    if (rc == TSR_OK)
        rc = tsr__index_put(svc->index, &op->token);
    if (rc == TSR_ERR_LIMIT)
        tsr__refuse(&op->why, rc, NULL, "you already hold the maximum of %lld personal tokens",
                    (long long)svc->cfg.max_tokens);
    if (rc != TSR_OK) {
        sodium_memzero(op->secret, sizeof(op->secret));
        return rc;
    }
    tsr_log(TSR_LOG_INFO, "token created id=%s user=%s", op->token.id, op->user_id);
    return TSR_OK;
}

static void submitted(void *ctx, enum tsr_err rc)
{
    struct tsr_create_op *op = ctx;

    op->rc = created(op, rc);
    op->done(op);
}

enum tsr_err tsr_tokens_create_submit(struct tsr_create_op *op)
{
    struct tsr_service *svc = op->svc;

    return tsr_store_token_insert_async(svc->store, &op->token, svc->cfg.max_tokens,
                                        op->token.created, &op->audit, submitted, op);
}

enum tsr_err tsr_tokens_create(struct tsr_service *svc, const struct tsr_principal *p,
                               const struct tsr_token_input *in, const char *remote,
                               struct tsr_token_row *out, char secret[TSR_SECRET_LEN + 1],
                               struct tsr_problem *why)
{
    struct tsr_create_op op = {0};
    enum tsr_err rc = tsr_tokens_create_prepare(svc, p, in, remote, &op);

    if (rc == TSR_OK)
        rc = created(&op, tsr_store_token_insert(svc->store, &op.token, svc->cfg.max_tokens,
                                                 op.token.created, &op.audit));
    *out = op.token;
    *why = op.why;
    memcpy(secret, op.secret, TSR_SECRET_LEN + 1);
    sodium_memzero(op.secret, sizeof(op.secret));
    return rc;
}

enum tsr_err tsr_tokens_list(struct tsr_service *svc, const struct tsr_principal *p,
                             struct tsr_token_query *q,
                             enum tsr_err (*each)(const struct tsr_token_row *, void *), void *ctx,
                             int64_t *total)
{
    q->user_id = p->user_id;
    return tsr_store_token_list(svc->store, q, each, ctx, total);
}

/* The token a request means: its id, or for "self" the one it came with. */
static const char *target_id(const struct tsr_principal *p, const char *id)
{
    if (id)
        return id;
    return p->kind == TSR_TOKEN_PERSONAL ? p->token_id : NULL;
}

enum tsr_err tsr_tokens_get(struct tsr_service *svc, const struct tsr_principal *p, const char *id,
                            struct tsr_token_row *out)
{
    const char *target = target_id(p, id);

    if (!target)
        return TSR_ERR_NOT_FOUND;
    return tsr_store_token_get(svc->store, p->user_id, target, out);
}

enum tsr_err tsr_tokens_update(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const struct tsr_token_input *in, const char *remote,
                               struct tsr_token_row *out, struct tsr_problem *why)
{
    struct tsr_token_row values;
    int64_t now = tsr_time_now();
    unsigned fields;
    enum tsr_err rc;

    memset(&values, 0, sizeof(values));
    rc = check_input(svc, in, false, now, &values, &fields, why);
    if (rc != TSR_OK)
        return rc;
    rc = token_update(svc, p->user_id, id, fields, &values, now, out, remote);
    if (rc != TSR_OK)
        return rc;
    tsr_log(TSR_LOG_INFO, "token updated id=%s user=%s", id, p->user_id);
    return TSR_OK;
}

enum tsr_err tsr_tokens_revoke(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const char *remote)
{
    struct tsr_token_row t;
    struct tsr_audit_row audit;
    enum tsr_err rc = tsr_tokens_get(svc, p, id, &t);

    if (rc != TSR_OK)
        return rc;
    tsr__audit_success(&audit, "token.delete", p->user_id, t.id, remote);
    rc = tsr__token_revoke(svc, p->user_id, t.id, TSR_TOKEN_PERSONAL, t.secret_hash, &audit);
    if (rc != TSR_OK)
        return rc;
    tsr_log(TSR_LOG_INFO, "token revoked id=%s user=%s", t.id, p->user_id);
    return TSR_OK;
}
