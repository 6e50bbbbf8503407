/* tokens.c - personal tokens: the rules for create, list, change and revoke */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "core/validate.h"
#include "core/cidr.h"
#include "core/dynbuf.h"
#include "core/scope.h"
#include "service/grant.h"
#include "service/events.h"
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

    return rc == TSR_OK ? tsr__index_put(svc->index, t, now) : rc;
}

/* Revoked once the store says so; the index refuses it before the caller
 * answers, so the very next request is refused. */
enum tsr_err tsr__token_revoke(struct tsr_service *svc, const struct tsr_token_row *t,
                               const struct tsr_audit_row *audit)
{
    int64_t now = tsr_time_now();
    enum tsr_err rc = tsr_store_token_revoke(svc->store, t->user_id, t->id, t->kind, now, audit);

    if (rc != TSR_OK)
        return rc;
    if (audit && audit->event[0] != '\0')
        tsr__deliver_wake(svc->deliverer);
    return tsr__index_revoke_token(svc->index, t, now);
}

/* An expired token cannot change, only be deleted: the store says what the
 * token is, the service decides. Deciding on a read before the write is
 * safe: no write makes a token expire sooner than now (a new expires_at is
 * in the future), so a token that is not expired at the read is not at the
 * write either, and the store refuses one revoked in between. */
static enum tsr_err token_update(struct tsr_service *svc, const char *user_id, const char *id,
                                 unsigned fields, const struct tsr_token_row *values, int64_t now,
                                 struct tsr_token_row *out, const char *remote);

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
        tsr_strscpy(why->field, sizeof(why->field), "name");
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
        tsr_strscpy(why->field, sizeof(why->field), "description");
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

/* Refuses the list member i of list ("scopes/3"). */
__attribute__((format(printf, 5, 6))) static enum tsr_err refuse_item(struct tsr_problem *why,
                                                                      enum tsr_err rc,
                                                                      const char *list, size_t i,
                                                                      const char *fmt, ...)
{
    char field[sizeof(why->field)];
    va_list ap;

    snprintf(field, sizeof(field), "%s/%zu", list, i);
    tsr__refuse(why, rc, field, "%s", "");
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    return rc;
}

static bool same_text(const struct tsr_field *a, const struct tsr_field *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Whether the scope exists: the catalog is refreshed on the next sync
 * after an operator adds one, but GET /v4/iam/scopes reads the database,
 * so a name it already lists must not be refused in between. A miss asks
 * the store for the scopes' version (one row) and reads them again only
 * when it moved. */
static bool scope_exists(struct tsr_service *svc, const struct tsr_field *it)
{
    if (tsr__scope_known(svc, it->s, it->len))
        return true;
    if (tsr__catalog_refresh(svc) != TSR_OK)
        return false;
    return tsr__scope_known(svc, it->s, it->len);
}

/* One name of a scopes list: well-formed, a scope that exists, not given
 * twice, and global only alone (it already holds everything). */
static enum tsr_err check_scope_item(struct tsr_service *svc, const struct tsr_list_field *f,
                                     size_t i, struct tsr_problem *why)
{
    const struct tsr_field *it = &f->items[i];

    if (!tsr_scope_name_valid(it->s, it->len))
        return refuse_item(why, TSR_ERR_INVALID, "scopes", i,
                           "scopes/%zu is not a scope name: 1 to %d of a-z 0-9 _ . : -, starting "
                           "with a letter or a digit",
                           i, TSR_SCOPE_NAME_MAX);
    if (!scope_exists(svc, it))
        return refuse_item(why, TSR_ERR_INVALID, "scopes", i,
                           "scopes/%zu: there is no scope named '%.*s' (GET /v4/iam/scopes lists "
                           "them)",
                           i, (int)it->len, it->s);
    for (size_t j = 0; j < i; j++) {
        if (same_text(&f->items[j], it))
            return refuse_item(why, TSR_ERR_INVALID, "scopes", i,
                               "scopes/%zu repeats '%.*s', given at scopes/%zu", i, (int)it->len,
                               it->s, j);
    }
    if (f->n > 1 && tsr_scope_builtin(it->s, it->len) == &tsr_builtin_scopes[0])
        return refuse_item(why, TSR_ERR_INVALID, "scopes", i,
                           "scopes/%zu: global already holds every scope; give it alone", i);
    return TSR_OK;
}

static enum tsr_err check_scopes(struct tsr_service *svc, const struct tsr_list_field *f,
                                 struct tsr_token_row *row, struct tsr_problem *why)
{
    const char *names[TSR_SCOPES_MAX];
    size_t lens[TSR_SCOPES_MAX], order[TSR_SCOPES_MAX];
    enum tsr_err rc;

    if (f->n == 0)
        return tsr__refuse(why, TSR_ERR_INVALID, "scopes",
                           "scopes must name at least one scope (global for everything)");
    if (f->n > TSR_SCOPES_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "scopes", "scopes may name at most %d scopes",
                           TSR_SCOPES_MAX);
    for (size_t i = 0; i < f->n; i++) {
        if ((rc = check_scope_item(svc, f, i, why)) != TSR_OK)
            return rc;
        names[i] = f->items[i].s;
        lens[i] = f->items[i].len;
    }
    if (tsr_scopes_join(names, lens, f->n, order, row->scopes, sizeof(row->scopes)) == (size_t)-1)
        return tsr__refuse(why, TSR_ERR_INVALID, "scopes", "scopes are too long");
    return TSR_OK;
}

static enum tsr_err refuse_block(struct tsr_problem *why, size_t i, enum tsr_cidr_error e)
{
    switch (e) {
    case TSR_CIDR_PREFIX:
        return refuse_item(why, TSR_ERR_INVALID, "allowed_ips", i,
                           "allowed_ips/%zu has a prefix length its address family does not have "
                           "(0-32 for IPv4, 0-128 for IPv6)",
                           i);
    case TSR_CIDR_HOST_BITS:
        return refuse_item(why, TSR_ERR_INVALID, "allowed_ips", i,
                           "allowed_ips/%zu has bits set past its prefix: give the block's first "
                           "address, such as 192.0.2.0/24",
                           i);
    case TSR_CIDR_OK:
    case TSR_CIDR_MALFORMED:
        break;
    }
    return refuse_item(why, TSR_ERR_INVALID, "allowed_ips", i,
                       "allowed_ips/%zu is not an IP address or ADDRESS/PREFIX block, such as "
                       "203.0.113.0/24 or 2001:db8::/48",
                       i);
}

/* Blocks in canonical text, in the order given, one space apart. */
static enum tsr_err check_ips(const struct tsr_list_field *f, struct tsr_token_row *row,
                              struct tsr_problem *why)
{
    struct tsr_cidr blocks[TSR_ALLOWED_IPS_MAX];
    char text[TSR_CIDR_TEXT_MAX + 1];
    size_t used = 0;

    if (f->n > TSR_ALLOWED_IPS_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "allowed_ips",
                           "allowed_ips may list at most %d addresses or blocks",
                           TSR_ALLOWED_IPS_MAX);
    for (size_t i = 0; i < f->n; i++) {
        enum tsr_cidr_error e = tsr_cidr_parse(f->items[i].s, f->items[i].len, &blocks[i]);
        size_t len;

        if (e != TSR_CIDR_OK)
            return refuse_block(why, i, e);
        for (size_t j = 0; j < i; j++) {
            if (tsr_cidr_equal(&blocks[j], &blocks[i]))
                return refuse_item(why, TSR_ERR_INVALID, "allowed_ips", i,
                                   "allowed_ips/%zu repeats the block of allowed_ips/%zu", i, j);
        }
        len = tsr_cidr_text(&blocks[i], text);
        if (used)
            row->allowed_ips[used++] = ' ';
        memcpy(row->allowed_ips + used, text, len);
        used += len;
    }
    row->allowed_ips[used] = '\0';
    return TSR_OK;
}

static enum tsr_err check_not_before(const struct tsr_field *f, struct tsr_token_row *row,
                                     struct tsr_problem *why)
{
    int64_t t;

    if (f->null) {
        row->not_before = 0;
        return TSR_OK;
    }
    if (tsr_time_parse(f->s, f->len, &t) != TSR_OK || t > TSR_TIME_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "not_before",
                           "not_before must be a date such as 2026-12-30 or 2026-12-30T02:13:00Z");
    row->not_before = t;
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
    if (in->scopes.has && (rc = check_scopes(svc, &in->scopes, row, why)) != TSR_OK)
        return rc;
    if (in->allowed_ips.has && (rc = check_ips(&in->allowed_ips, row, why)) != TSR_OK)
        return rc;
    if (in->not_before.has && (rc = check_not_before(&in->not_before, row, why)) != TSR_OK)
        return rc;
    if (creating && !in->scopes.has)
        tsr_strscpy(row->scopes, sizeof(row->scopes), TSR_SCOPE_GLOBAL);
    *fields = (in->name.has ? TSR_SET_NAME : 0) | (in->description.has ? TSR_SET_DESCRIPTION : 0) |
              (in->expires_at.has ? TSR_SET_EXPIRES_AT : 0) |
              (in->scopes.has ? TSR_SET_SCOPES : 0) |
              (in->allowed_ips.has ? TSR_SET_ALLOWED_IPS : 0) |
              (in->not_before.has ? TSR_SET_NOT_BEFORE : 0);
    if (*fields == 0)
        return tsr__refuse(why, TSR_ERR_MISSING, NULL,
                           "give at least one of name, description, expires_at, scopes, "
                           "allowed_ips and not_before");
    return TSR_OK;
}

/* not_before, as given or kept, must come before expires_at, as given or kept. */
static enum tsr_err check_window(int64_t not_before, int64_t expires_at, struct tsr_problem *why)
{
    if (not_before != 0 && not_before >= expires_at)
        return tsr__refuse(why, TSR_ERR_INVALID, "not_before",
                           "not_before must be before expires_at");
    return TSR_OK;
}

/* ---- no escalation: a credential gives no more than it holds ---- */

/* A checked scope name (at most TSR_SCOPE_NAME_MAX bytes) as a string. */
static void scope_name(const char *s, size_t len, char out[TSR_SCOPE_NAME_MAX + 1])
{
    if (len > TSR_SCOPE_NAME_MAX)
        len = TSR_SCOPE_NAME_MAX;
    memcpy(out, s, len);
    out[len] = '\0';
}

__attribute__((format(printf, 4, 5))) static enum tsr_err
refuse_scope(struct tsr_problem *why, const char *field, const char *scope, const char *fmt, ...)
{
    va_list ap;

    tsr__refuse(why, TSR_ERR_SCOPE, field, "%s", "");
    tsr_strscpy(why->scope, sizeof(why->scope), scope ? scope : "");
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    return TSR_ERR_SCOPE;
}

/* The scopes asked for: each listed one must be held by p (a create that
 * lists none asks for global). */
static enum tsr_err bound_scopes(struct tsr_service *svc, const struct tsr_principal *p,
                                 const struct tsr_list_field *f, struct tsr_problem *why)
{
    char field[sizeof(why->field)];

    if (!f->has) {
        if (tsr__holds(svc, p->grant, TSR_SCOPE_GLOBAL, sizeof(TSR_SCOPE_GLOBAL) - 1))
            return TSR_OK;
        return refuse_scope(why, "scopes", TSR_SCOPE_GLOBAL,
                            "a token without scopes would be global, and your credential is not: "
                            "list the scopes the new token needs");
    }
    for (size_t i = 0; i < f->n; i++) {
        char name[TSR_SCOPE_NAME_MAX + 1];

        if (tsr__holds(svc, p->grant, f->items[i].s, f->items[i].len))
            continue;
        snprintf(field, sizeof(field), "scopes/%zu", i);
        scope_name(f->items[i].s, f->items[i].len, name);
        return refuse_scope(why, field, name,
                            "your credential does not hold %s, so it cannot give it", name);
    }
    return TSR_OK;
}

/* The addresses asked for must lie within the list of a personal token
 * that has one: a create that gives none asks for anywhere. */
static enum tsr_err bound_ips(const struct tsr_principal *p, const struct tsr_token_row *row,
                              struct tsr_problem *why)
{
    struct tsr_cidr c;
    const char *s = row->allowed_ips;
    size_t i = 0;

    if (!p->grant || p->grant->nnets == 0)
        return TSR_OK;
    if (*s == '\0')
        return refuse_scope(why, "allowed_ips", NULL,
                            "your token may be used only from its allowed_ips, so the tokens it "
                            "makes must list addresses within them");
    for (; *s; i++) {
        size_t len = strcspn(s, " ");
        char field[sizeof(why->field)];

        if (tsr_cidr_parse(s, len, &c) != TSR_CIDR_OK || !tsr__grant_covers(p->grant, &c)) {
            snprintf(field, sizeof(field), "allowed_ips/%zu", i);
            return refuse_scope(why, field, NULL,
                                "allowed_ips/%zu lies outside your token's allowed_ips", i);
        }
        s += len + (s[len] == ' ');
    }
    return TSR_OK;
}

/* What a create or change asks for, against what p holds. Session tokens
 * are not bound by an expiry or addresses of their own. */
static enum tsr_err check_bounds(struct tsr_service *svc, const struct tsr_principal *p,
                                 const struct tsr_token_input *in, bool creating, unsigned fields,
                                 const struct tsr_token_row *row, struct tsr_problem *why)
{
    char when[TSR_TIME_LEN + 1];
    enum tsr_err rc;

    if ((creating || in->scopes.has) && (rc = bound_scopes(svc, p, &in->scopes, why)) != TSR_OK)
        return rc;
    if (p->kind != TSR_TOKEN_PERSONAL)
        return TSR_OK;
    if ((fields & TSR_SET_EXPIRES_AT) && row->expires_at > p->expires_at) {
        tsr_time_format(p->expires_at, when);
        return refuse_scope(why, "expires_at", NULL,
                            "expires_at must not be later than your token's own, %s", when);
    }
    if (creating || (fields & TSR_SET_ALLOWED_IPS))
        return bound_ips(p, row, why);
    return TSR_OK;
}

/* Acting on an existing token needs every scope it has, so that a weaker
 * token can neither take over a stronger one nor extend its life. A scope
 * that is gone does not lock its holders' tokens: a global credential
 * still holds it. */
static enum tsr_err may_act_on(const struct tsr_principal *p, const struct tsr_token_row *t,
                               struct tsr_problem *why)
{
    for (const char *s = t->scopes; *s;) {
        size_t len = strcspn(s, " ");

        char name[TSR_SCOPE_NAME_MAX + 1];

        if (!tsr__grant_holds(p->grant, s, len, true)) {
            scope_name(s, len, name);
            return refuse_scope(why, "", name,
                                "the token holds %s, which your credential does not: it cannot "
                                "change or delete it",
                                name);
        }
        s += len + (s[len] == ' ');
    }
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
    if (rc == TSR_OK)
        rc = check_window(op->token.not_before, op->token.expires_at, &op->why);
    if (rc == TSR_OK)
        rc = check_bounds(svc, p, in, true, fields, &op->token, &op->why);
    if (rc != TSR_OK)
        return rc;
    new_token(p, now, &op->token, op->secret);
    tsr__audit_success(&op->audit, "token.create", p->user_id, op->token.id, remote);
    tsr__audit_event(svc, &op->audit, TSR_EVENT_CREATED);
    return TSR_OK;
}

/* The rest of a create, once the store has answered: the index learns of
 * the token before the caller can answer anyone. */
static enum tsr_err created(struct tsr_create_op *op, enum tsr_err rc)
{
    struct tsr_service *svc = op->svc;

    if (rc == TSR_OK)
        rc = tsr__index_put(svc->index, &op->token, tsr_time_now());
    if (rc == TSR_ERR_LIMIT)
        tsr__refuse(&op->why, rc, NULL, "you already hold the maximum of %lld personal tokens",
                    (long long)svc->cfg.max_tokens);
    if (rc != TSR_OK) {
        sodium_memzero(op->secret, sizeof(op->secret));
        return rc;
    }
    tsr__deliver_wake(svc->deliverer);
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
                             struct tsr_token_query *q, enum tsr_list_status status,
                             enum tsr_err (*each)(const struct tsr_token_row *, void *), void *ctx,
                             int64_t *total)
{
    int64_t now = tsr_time_now();

    q->user_id = p->user_id;
    /* The bounds follow tsr__expired: a token expires at expires_at. */
    q->expires_after = status == TSR_LIST_ACTIVE || status == TSR_LIST_EXPIRING ? now : 0;
    q->expires_until = status == TSR_LIST_EXPIRING  ? now + TSR_EXPIRING_SOON
                       : status == TSR_LIST_EXPIRED ? now
                                                    : 0;
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

/* The write of a change that every rule has let through. */
static enum tsr_err token_update(struct tsr_service *svc, const char *user_id, const char *id,
                                 unsigned fields, const struct tsr_token_row *values, int64_t now,
                                 struct tsr_token_row *out, const char *remote)
{
    struct tsr_audit_row audit;
    enum tsr_err rc;

    tsr__audit_success(&audit, "token.update", user_id, id, remote);
    tsr__audit_event(svc, &audit, TSR_EVENT_UPDATED);
    rc = tsr_store_token_update(svc->store, user_id, id, fields, values, out, &audit);
    if (rc != TSR_OK)
        return rc;
    tsr__deliver_wake(svc->deliverer);
    return tsr__index_put(svc->index, out, now);
}

/* The rules of a change that need the token as it is: it has not expired
 * (no write makes a token expire sooner than now, so a token not expired at
 * this read is not at the write either, and the store refuses one revoked
 * in between), its window stays in order, and p may act on it and give it
 * what the change asks. */
static enum tsr_err may_change(struct tsr_service *svc, const struct tsr_principal *p,
                               const struct tsr_token_input *in, unsigned fields,
                               const struct tsr_token_row *values,
                               const struct tsr_token_row *before, int64_t now,
                               struct tsr_problem *why)
{
    int64_t not_before = (fields & TSR_SET_NOT_BEFORE) ? values->not_before : before->not_before;
    int64_t expires_at = (fields & TSR_SET_EXPIRES_AT) ? values->expires_at : before->expires_at;
    enum tsr_err rc;

    if (tsr__token_state(before, now) == TSR_TOKEN_EXPIRED)
        return TSR_ERR_EXPIRED;
    if ((rc = check_window(not_before, expires_at, why)) != TSR_OK)
        return rc;
    if ((rc = may_act_on(p, before, why)) != TSR_OK)
        return rc;
    return check_bounds(svc, p, in, false, fields, values, why);
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
    rc = tsr_store_token_get(svc->store, p->user_id, id, out);
    if (rc == TSR_OK)
        rc = may_change(svc, p, in, fields, &values, out, now, why);
    if (rc == TSR_OK)
        rc = token_update(svc, p->user_id, id, fields, &values, now, out, remote);
    if (rc != TSR_OK)
        return rc;
    tsr_log(TSR_LOG_INFO, "token updated id=%s user=%s", id, p->user_id);
    return TSR_OK;
}

enum tsr_err tsr_tokens_revoke(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const char *remote, struct tsr_problem *why)
{
    struct tsr_token_row t;
    struct tsr_audit_row audit;
    enum tsr_err rc = tsr_tokens_get(svc, p, id, &t);

    if (rc == TSR_OK && id)
        rc = may_act_on(p, &t, why);
    if (rc != TSR_OK)
        return rc;
    tsr__audit_success(&audit, "token.delete", p->user_id, t.id, remote);
    tsr__audit_event(svc, &audit, TSR_EVENT_REVOKED);
    rc = tsr__token_revoke(svc, &t, &audit);
    if (rc != TSR_OK)
        return rc;
    tsr_log(TSR_LOG_INFO, "token revoked id=%s user=%s", t.id, p->user_id);
    return TSR_OK;
}

/* ---- rotation ---- */

/* The rules of a rotation's body alone, checked before the token is looked
 * up, as a change's are: fills values with what they ask for and *fields
 * with which. */
static enum tsr_err check_rotate_input(struct tsr_service *svc, const struct tsr_rotate_input *in,
                                       int64_t now, struct tsr_token_row *values, unsigned *fields,
                                       struct tsr_problem *why)
{
    enum tsr_err rc;

    if (in->has_grace && (in->grace_period < 0 || in->grace_period > TSR_GRACE_MAX_SECONDS))
        return tsr__refuse(why, TSR_ERR_INVALID, "grace_period",
                           "grace_period must be a whole number of seconds from 0 to %d",
                           TSR_GRACE_MAX_SECONDS);
    *fields = TSR_SET_SECRET;
    if (!in->expires_at.has)
        return TSR_OK;
    if ((rc = check_expiry(svc, &in->expires_at, now, values, why)) != TSR_OK)
        return rc;
    *fields |= TSR_SET_EXPIRES_AT;
    return TSR_OK;
}

/* The rules of a rotation of `before`, the token as it is. A new expiry
 * is bound as a change's is: a personal token gives no token, itself
 * included, a later one than its own, so a leaked token cannot keep
 * itself alive by rotating; rotating itself needs tokens:write for it. */
static enum tsr_err check_rotation(struct tsr_service *svc, const struct tsr_principal *p,
                                   const struct tsr_rotate_input *in,
                                   const struct tsr_token_row *before, int64_t now, unsigned fields,
                                   struct tsr_token_row *values, struct tsr_problem *why)
{
    static const struct tsr_token_input none;
    int64_t grace = in->has_grace ? in->grace_period : 0;
    enum tsr_err rc;

    if (tsr__token_state(before, now) == TSR_TOKEN_EXPIRED)
        return TSR_ERR_EXPIRED;
    if ((rc = may_act_on(p, before, why)) != TSR_OK)
        return rc;
    if (fields & TSR_SET_EXPIRES_AT) {
        if (tsr_auth_require(svc, p, TSR_SCOPE_TOKENS_WRITE) != TSR_OK)
            return refuse_scope(why, "expires_at", TSR_SCOPE_TOKENS_WRITE,
                                "a token may rotate itself, but a new expires_at needs %s",
                                TSR_SCOPE_TOKENS_WRITE);
        rc = check_bounds(svc, p, &none, false, fields, values, why);
        if (rc == TSR_OK)
            rc = check_window(before->not_before, values->expires_at, why);
        if (rc != TSR_OK)
            return rc;
    }
    /* During its grace the old secret keeps the old expiry. */
    values->prev_until = now + grace < before->expires_at ? now + grace : before->expires_at;
    return TSR_OK;
}

enum tsr_err tsr_tokens_rotate(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const struct tsr_rotate_input *in,
                               const char *remote, struct tsr_token_row *out,
                               char secret[TSR_SECRET_LEN + 1], struct tsr_problem *why)
{
    const char *target = target_id(p, id);
    struct tsr_token_row values;
    struct tsr_audit_row audit;
    int64_t now = tsr_time_now();
    unsigned fields = 0;
    enum tsr_err rc;

    memset(&values, 0, sizeof(values));
    rc = check_rotate_input(svc, in, now, &values, &fields, why);
    if (rc == TSR_OK && !target)
        rc = TSR_ERR_NOT_FOUND;
    if (rc == TSR_OK)
        rc = tsr_store_token_get(svc->store, p->user_id, target, out);
    if (rc == TSR_OK)
        rc = check_rotation(svc, p, in, out, now, fields, &values, why);
    if (rc != TSR_OK)
        return rc;
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, values.secret_hash);
    tsr_secret_hint(secret, values.key_hint);
    tsr__audit_success(&audit, "token.rotate", p->user_id, target, remote);
    tsr__audit_event(svc, &audit, TSR_EVENT_ROTATED);
    rc = tsr_store_token_update(svc->store, p->user_id, target, fields, &values, out, &audit);
    if (rc == TSR_OK) {
        tsr__deliver_wake(svc->deliverer);
        rc = tsr__index_put(svc->index, out, now);
    }
    if (rc != TSR_OK) {
        sodium_memzero(secret, TSR_SECRET_LEN + 1);
        return rc;
    }
    tsr_log(TSR_LOG_INFO, "token rotated id=%s user=%s grace=%lld", target, p->user_id,
            (long long)(values.prev_until - now));
    return TSR_OK;
}
