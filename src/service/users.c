/* users.c - accounts: add, change password, remove, list, the first admin */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "core/validate.h"
#include "core/dynbuf.h"
#include "service/internal.h"
#include "service/log.h"

/* The store revoked tokens behind the index's back: catch up at once
 * rather than at the next periodic sync. */
static void sync_now(struct tsr_service *svc)
{
    enum tsr_err rc = tsr_service_sync(svc);

    if (rc != TSR_OK)
        tsr_log(TSR_LOG_ERROR, "cannot read changes to tokens: %s", tsr_strerror(rc));
}

static enum tsr_err hash_password(const char *password, char out[TSR_PWHASH_MAX + 1],
                                  struct tsr_problem *why)
{
    size_t len = strlen(password);
    size_t chars;

    if (!tsr_utf8_count(password, len, &chars))
        return tsr__refuse(why, TSR_ERR_INVALID, "password", "the password must be valid UTF-8");
    if (chars < TSR_PASSWORD_MIN)
        return tsr__refuse(why, TSR_ERR_INVALID, "password",
                           "the password must be at least %d characters", TSR_PASSWORD_MIN);
    if (len > TSR_PASSWORD_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "password",
                           "the password must be at most %d bytes", TSR_PASSWORD_MAX);
    _Static_assert(crypto_pwhash_STRBYTES <= TSR_PWHASH_MAX + 1, "hash fits the row");
    if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

enum tsr_err tsr_users_add(struct tsr_service *svc, const char *email, const char *password,
                           struct tsr_user_row *out, struct tsr_problem *why)
{
    enum tsr_err rc;

    memset(out, 0, sizeof(*out));
    if (!tsr_email_valid(email, strlen(email)))
        return tsr__refuse(why, TSR_ERR_INVALID, "email", "'%s' is not an email address", email);
    rc = hash_password(password, out->password_hash, why);
    if (rc != TSR_OK)
        return rc;
    if (tsr_strscpy(out->email, sizeof(out->email), email) != TSR_OK)
        return tsr__refuse(why, TSR_ERR_INVALID, "email", "the email is longer than %d bytes",
                           TSR_EMAIL_MAX);
    tsr_uuid7_new(out->id);
    out->created = tsr_time_now();
    rc = tsr_store_user_insert(svc->store, out);
    if (rc == TSR_OK)
        tsr__audit_now(svc, "user.add", out->id, NULL, NULL, true);
    return rc;
}

enum tsr_err tsr_users_passwd(struct tsr_service *svc, const char *email, const char *password,
                              struct tsr_problem *why)
{
    struct tsr_user_row user;
    char hash[TSR_PWHASH_MAX + 1];
    enum tsr_err rc;

    rc = tsr_store_user_by_email(svc->store, email, &user);
    if (rc != TSR_OK)
        return rc;
    rc = hash_password(password, hash, why);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_store_user_set_password(svc->store, user.id, hash, tsr_time_now());
    if (rc == TSR_OK) {
        tsr__audit_now(svc, "user.passwd", user.id, NULL, NULL, true);
        sync_now(svc);
    }
    return rc;
}

enum tsr_err tsr_users_remove(struct tsr_service *svc, const char *email)
{
    struct tsr_user_row user;
    enum tsr_err rc;

    rc = tsr_store_user_by_email(svc->store, email, &user);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_store_user_remove(svc->store, user.id, tsr_time_now());
    if (rc == TSR_OK) {
        tsr__audit_now(svc, "user.remove", user.id, NULL, NULL, true);
        sync_now(svc);
    }
    return rc;
}

enum tsr_err tsr_users_each(struct tsr_service *svc,
                            enum tsr_err (*each)(const struct tsr_user_row *, void *), void *ctx)
{
    return tsr_store_user_each(svc->store, each, ctx);
}

enum tsr_err tsr_users_me(struct tsr_service *svc, const struct tsr_principal *p,
                          struct tsr_user_row *out)
{
    return tsr_store_user_by_id(svc->store, p->user_id, out);
}

/* A password as strong as a secret's random part: base62 from the CSPRNG. */
static void random_password(char out[TSR_GENERATED_PW_LEN + 1])
{
    char secret[TSR_SECRET_LEN + 1];

    _Static_assert(TSR_GENERATED_PW_LEN <= TSR_SECRET_RANDOM_LEN, "enough random characters");
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    memcpy(out, secret + TSR_SECRET_PREFIX_LEN, TSR_GENERATED_PW_LEN);
    out[TSR_GENERATED_PW_LEN] = '\0';
    sodium_memzero(secret, sizeof(secret));
}

enum tsr_err tsr_users_ensure_admin(struct tsr_service *svc, const char *password,
                                    char generated[TSR_GENERATED_PW_LEN + 1], bool *created)
{
    struct tsr_user_row user;
    struct tsr_problem why;
    int64_t count;
    enum tsr_err rc;

    *created = false;
    rc = tsr_store_user_count(svc->store, &count);
    if (rc != TSR_OK || count > 0)
        return rc;
    if (!password) {
        random_password(generated);
        password = generated;
    }
    rc = tsr_users_add(svc, TSR_ADMIN_EMAIL, password, &user, &why);
    if (rc == TSR_ERR_INVALID)
        tsr_log(TSR_LOG_ERROR, "cannot create %s: %s", TSR_ADMIN_EMAIL, why.detail);
    *created = rc == TSR_OK;
    return rc;
}
