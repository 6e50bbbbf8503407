/* auth.c - logging in, checking secrets, logging out */
#include <string.h>

#include "core/addr.h"
#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "core/dynbuf.h"
#include "service/grant.h"
#include "service/internal.h"
#include "service/log.h"

static unsigned accept_bit(enum tsr_secret_kind kind)
{
    switch (kind) {
    case TSR_SECRET_PERSONAL:
        return TSR_ACCEPT_PERSONAL;
    case TSR_SECRET_SESSION:
        return TSR_ACCEPT_SESSION;
    case TSR_SECRET_NONE:
        break;
    }
    return 0;
}

/* The checksum turns away garbage before any hashing; a well-formed secret
 * costs one SHA-256 and one look-up in the in-memory index, no I/O (but for
 * a miss with a shared store: see tsr__find_token). */
/* Whether a token the index holds may be used at now from remote: not
 * expired, past its not-before, and from an address its list holds. */
static enum tsr_err usable(const struct tsr_index_hit *hit, int64_t now, const char *remote)
{
    if (tsr__expired(hit->expires_at, now))
        return TSR_ERR_UNAUTHORIZED;
    if (!hit->grant)
        return TSR_OK;
    if (tsr__not_yet(hit->grant->not_before, now))
        return TSR_ERR_UNAUTHORIZED;
    return tsr__grant_allows(hit->grant, remote) ? TSR_OK : TSR_ERR_ADDRESS;
}

enum tsr_err tsr_auth_secret(struct tsr_service *svc, const char *secret, size_t len,
                             unsigned accept, const char *remote, struct tsr_principal *out)
{
    enum tsr_secret_kind kind = tsr_secret_parse(secret, len);
    struct tsr_index_hit hit;
    int64_t now = tsr_time_now();
    enum tsr_err rc;

    out->grant = NULL;

    if (kind == TSR_SECRET_NONE) {
        tsr__audit_later(svc, NULL, NULL, NULL, remote);
        return TSR_ERR_UNAUTHORIZED;
    }
    tsr_secret_hash(secret, len, out->secret_hash);
    if ((accept_bit(kind) & accept) == 0 || !tsr__find_token(svc, out->secret_hash, now, &hit)) {
        tsr__audit_later(svc, NULL, NULL, out->secret_hash, remote);
        return TSR_ERR_UNAUTHORIZED;
    }
    /* The grant's lines arrive while the ids are written out. */
    tsr__grant_prefetch(hit.grant);
    tsr_uuid_from_bytes(hit.user_id, out->user_id);
    tsr_uuid_from_bytes(hit.token_id, out->token_id);
    rc = usable(&hit, now, remote);
    if (rc != TSR_OK) {
        tsr__grant_unref(hit.grant);
        tsr__audit_later(svc, out->user_id, out->token_id, NULL, remote);
        return rc;
    }
    out->kind = hit.kind;
    out->expires_at = hit.expires_at;
    out->grant = hit.grant;
    if (hit.newly_used)
        tsr__usage_note(svc, out->token_id, now, remote);
    return TSR_OK;
}

bool tsr__holds(struct tsr_service *svc, const struct tsr_grant *g, const char *s, size_t len)
{
    return tsr__grant_holds(g, s, len, tsr__scope_known(svc, s, len));
}

void tsr_principal_release(struct tsr_principal *p)
{
    tsr__grant_unref(p->grant);
    p->grant = NULL;
}

const char *tsr_principal_scopes(const struct tsr_principal *p, size_t *len)
{
    return tsr__grant_scopes(p->grant, len);
}

enum tsr_err tsr_auth_require(struct tsr_service *svc, const struct tsr_principal *p,
                              const char *scope)
{
    size_t len = strlen(scope);

    return tsr__holds(svc, p->grant, scope, len) ? TSR_OK : TSR_ERR_SCOPE;
}

/* A gateway asking for a scope nobody has is misconfigured; said once a
 * second at most, so that its traffic cannot flood the log. */
static void warn_unknown_scope(const char *s, size_t len)
{
    static _Atomic int64_t last_warned;
    int64_t now = tsr_time_now(), seen = atomic_load_explicit(&last_warned, memory_order_relaxed);

    if (seen >= now || !atomic_compare_exchange_strong_explicit(
                           &last_warned, &seen, now, memory_order_relaxed, memory_order_relaxed))
        return;
    tsr_log(TSR_LOG_WARN, "verify asked for scope '%.*s', which does not exist: nobody holds it",
            (int)len, s);
}

bool tsr_auth_holds_all(struct tsr_service *svc, const struct tsr_principal *p,
                        const char *const *names, const size_t *lens, size_t n, size_t *missing)
{
    for (size_t i = 0; i < n; i++) {
        bool known = tsr__scope_known(svc, names[i], lens[i]);

        if (!known)
            warn_unknown_scope(names[i], lens[i]);
        if (!tsr__grant_holds(p->grant, names[i], lens[i], known)) {
            *missing = i;
            return false;
        }
    }
    return true;
}

/* Verifies password against the user's hash, or against the dummy hash when
 * there is no such user, so both refusals take the same time. */
static bool password_matches(struct tsr_service *svc, const struct tsr_user_row *user, bool found,
                             const char *password, size_t password_len)
{
    const char *hash = found ? user->password_hash : svc->dummy_hash;
    bool ok = crypto_pwhash_str_verify(hash, password, password_len) == 0;

    return ok && found;
}

static enum tsr_err new_session(struct tsr_service *svc, const char *user_id, int64_t now,
                                const char *remote, struct tsr_session *out)
{
    struct tsr_token_row t;
    struct tsr_audit_row audit;
    enum tsr_err rc;

    memset(&t, 0, sizeof(t));
    tsr_uuid7_new(t.id);
    tsr_strscpy(t.user_id, sizeof(t.user_id), user_id);
    t.kind = TSR_TOKEN_SESSION;
    tsr_strscpy(t.scopes, sizeof(t.scopes), TSR_SCOPE_GLOBAL);
    tsr_secret_generate(TSR_SECRET_SESSION, out->secret);
    tsr_secret_hash(out->secret, TSR_SECRET_LEN, t.secret_hash);
    tsr_secret_hint(out->secret, t.key_hint);
    t.created = now;
    t.expires_at = now + TSR_SESSION_LIFETIME;
    tsr__audit_success(&audit, "login", user_id, t.id, remote);
    rc = tsr__token_insert(svc, &t, 0, now, &audit);
    if (rc != TSR_OK) {
        sodium_memzero(out->secret, sizeof(out->secret));
        return rc;
    }
    out->created = t.created;
    out->expires_at = t.expires_at;
    return TSR_OK;
}

/* The key the per-account limit counts email by: its bytes up to
 * TSR_EMAIL_MAX (or a NUL) with ASCII letters folded, as the store folds
 * them when it looks a user up, so that "Ann@X" and "ann@x" are one. */
static void account_key(const char *email, size_t email_len, char out[TSR_EMAIL_MAX + 1])
{
    size_t n = 0;

    for (; n < email_len && n < TSR_EMAIL_MAX && email[n] != '\0'; n++)
        out[n] = email[n] >= 'A' && email[n] <= 'Z' ? (char)(email[n] - 'A' + 'a') : email[n];
    out[n] = '\0';
}

enum tsr_err tsr_auth_login(struct tsr_service *svc, const char *email, size_t email_len,
                            const char *password, size_t password_len, const char *remote,
                            struct tsr_session *out)
{
    struct tsr_user_row user;
    struct tsr_ratelimit_hold by_addr, by_account;
    char email_z[TSR_EMAIL_MAX + 1], addr[TSR_ADDR_KEY_MAX + 1], account[TSR_EMAIL_MAX + 1];
    int64_t now = tsr_time_now();
    bool found = false;
    enum tsr_err rc;

    out->retry_after = 0;
    out->account_limited = false;
    tsr_addr_key_text(remote, addr);
    account_key(email, email_len, account);
    /* Each attempt takes its place in both windows before any password is
     * hashed, so that parallel guesses cannot all pass one check before any
     * of them is counted; a refused guesser costs us no hashing. */
    out->retry_after = tsr__ratelimit_take(svc->logins, addr, now, &by_addr);
    if (out->retry_after > 0)
        return TSR_ERR_RATE;
    out->retry_after = tsr__ratelimit_take(svc->accounts, account, now, &by_account);
    if (out->retry_after > 0) {
        tsr__ratelimit_release(svc->logins, &by_addr);
        out->account_limited = true;
        return TSR_ERR_RATE;
    }
    memset(&user, 0, sizeof(user));
    if (email_len <= TSR_EMAIL_MAX && memchr(email, '\0', email_len) == NULL) {
        memcpy(email_z, email, email_len);
        email_z[email_len] = '\0';
        rc = tsr_store_user_by_email(svc->store, email_z, &user);
        if (rc != TSR_OK && rc != TSR_ERR_NOT_FOUND)
            goto give_back;
        found = rc == TSR_OK;
    }
    if (password_len > TSR_PASSWORD_MAX)
        password_len = TSR_PASSWORD_MAX; /* bounded work; still refused below */
    if (!password_matches(svc, &user, found, password, password_len)) {
        tsr__audit_now(svc, "login", found ? user.id : NULL, NULL, remote, false);
        tsr_log(TSR_LOG_INFO, "login refused from %s", remote && *remote ? remote : "-");
        return TSR_ERR_UNAUTHORIZED;
    }
    rc = new_session(svc, user.id, tsr_time_now(), remote, out);
    if (rc == TSR_OK)
        tsr_log(TSR_LOG_INFO, "login user=%s from %s", user.id, remote && *remote ? remote : "-");
give_back:
    /* Not a wrong password: the attempt does not count against anyone. */
    tsr__ratelimit_release(svc->logins, &by_addr);
    tsr__ratelimit_release(svc->accounts, &by_account);
    return rc;
}

int64_t tsr_auth_login_wait(struct tsr_service *svc, const char *remote)
{
    char addr[TSR_ADDR_KEY_MAX + 1];

    tsr_addr_key_text(remote, addr);
    return tsr__ratelimit_wait(svc->logins, addr, tsr_time_now());
}

enum tsr_err tsr_auth_logout(struct tsr_service *svc, const struct tsr_principal *p,
                             const char *remote)
{
    struct tsr_audit_row audit;
    struct tsr_token_row t = {.kind = TSR_TOKEN_SESSION}; /* sessions are never rotated */

    if (p->kind != TSR_TOKEN_SESSION)
        return TSR_ERR_NOT_FOUND;
    memcpy(t.user_id, p->user_id, sizeof(t.user_id));
    memcpy(t.id, p->token_id, sizeof(t.id));
    memcpy(t.secret_hash, p->secret_hash, sizeof(t.secret_hash));
    tsr__audit_success(&audit, "logout", p->user_id, p->token_id, remote);
    return tsr__token_revoke(svc, &t, &audit);
}

/* On a hashing thread: the login as the synchronous call does it, whose
 * limit check runs again here (failures may have come in meanwhile). */
void tsr__login_run(struct tsr_login_op *op)
{
    op->rc = tsr_auth_login(op->svc, op->email, op->email_len, op->password, op->password_len,
                            op->remote, &op->session);
    sodium_memzero(op->password, sizeof(op->password));
    op->password_len = 0;
    op->done(op);
}

/* Whether remote's address or the email is refused at this moment, as
 * tsr_auth_login would refuse it (out's retry_after and account_limited set
 * as it sets them); counts nothing. */
static bool limited_now(struct tsr_service *svc, const char *email, size_t email_len,
                        const char *remote, struct tsr_session *out)
{
    char addr[TSR_ADDR_KEY_MAX + 1], account[TSR_EMAIL_MAX + 1];
    int64_t now = tsr_time_now();

    tsr_addr_key_text(remote, addr);
    account_key(email, email_len, account);
    out->account_limited = false;
    out->retry_after = tsr__ratelimit_wait(svc->logins, addr, now);
    if (out->retry_after > 0)
        return true;
    out->retry_after = tsr__ratelimit_wait(svc->accounts, account, now);
    out->account_limited = out->retry_after > 0;
    return out->account_limited;
}

enum tsr_err tsr_auth_login_submit(struct tsr_service *svc, const char *email, size_t email_len,
                                   const char *password, size_t password_len, const char *remote,
                                   struct tsr_login_op *op)
{
    enum tsr_err rc;

    /* Refused before it takes a place in the queue: a guesser costs us
     * nothing. tsr_auth_login takes the places for real on the hashing thread. */
    if (limited_now(svc, email, email_len, remote, &op->session))
        return TSR_ERR_RATE;
    op->svc = svc;
    op->email_len = email_len < sizeof(op->email) ? email_len : sizeof(op->email);
    memcpy(op->email, email, op->email_len);
    op->password_len = password_len < sizeof(op->password) ? password_len : sizeof(op->password);
    memcpy(op->password, password, op->password_len);
    tsr_strscpy(op->remote, sizeof(op->remote), remote ? remote : "");
    rc = tsr__hashpool_submit(svc->hashers, op);
    if (rc != TSR_OK) {
        sodium_memzero(op->password, sizeof(op->password));
        op->password_len = 0;
    }
    return rc;
}
