/* introspect.c - RFC 7662 introspection: OAuth clients, and what a secret tells of itself */
#include <string.h>

#include "core/timefmt.h"
#include "core/dynbuf.h"
#include "service/internal.h"

enum tsr_err tsr_auth_client(struct tsr_service *svc, const char *id, size_t id_len,
                             const char *secret, size_t len, const char *remote,
                             struct tsr_principal *out)
{
    enum tsr_err rc = tsr_auth_secret(svc, secret, len, TSR_ACCEPT_PERSONAL, remote, out);

    if (rc != TSR_OK)
        return rc;
    /* A token id is no secret: an ordinary comparison will do. */
    if (id_len != TSR_UUID_LEN || memcmp(id, out->token_id, TSR_UUID_LEN) != 0) {
        tsr__audit_later(svc, out->user_id, out->token_id, NULL, remote);
        tsr_principal_release(out);
        return TSR_ERR_UNAUTHORIZED;
    }
    return TSR_OK;
}

/* What the store adds to what the index said of who: the email, the
 * creation time. Anything revoked, expired or removed between the two looks
 * is simply not active. */
static enum tsr_err describe(struct tsr_service *svc, const struct tsr_principal *who,
                             struct tsr_introspection *out)
{
    struct tsr_token_row token;
    struct tsr_user_row user;
    const char *scopes;
    size_t scopes_len;
    enum tsr_err rc = tsr_store_token_by_hash(svc->store, who->secret_hash, &token);

    if (rc == TSR_OK)
        rc = tsr_store_user_by_id(svc->store, who->user_id, &user);
    if (rc == TSR_ERR_NOT_FOUND)
        return TSR_OK;
    if (rc != TSR_OK)
        return rc;
    if (tsr__token_state(&token, tsr_time_now()) != TSR_TOKEN_LIVE ||
        strcmp(token.id, who->token_id) != 0)
        return TSR_OK;
    out->active = true;
    tsr_strscpy(out->user_id, sizeof(out->user_id), user.id);
    tsr_strscpy(out->email, sizeof(out->email), user.email);
    tsr_strscpy(out->token_id, sizeof(out->token_id), token.id);
    out->kind = token.kind;
    out->created = token.created;
    out->expires_at = token.expires_at;
    scopes = tsr_principal_scopes(who, &scopes_len);
    tsr_strscpy(out->scope, sizeof(out->scope), scopes);
    return TSR_OK;
}

/* The index says whether the secret is live without any I/O, and where it
 * may be used from: a secret presented from outside its address list is
 * not active for this caller. */
enum tsr_err tsr_auth_introspect(struct tsr_service *svc, const struct tsr_principal *caller,
                                 const char *secret, size_t len, const char *remote,
                                 struct tsr_introspection *out)
{
    struct tsr_principal who;
    enum tsr_err rc;

    /* Every authenticated caller may ask about any secret it holds. */
    (void)caller;
    memset(out, 0, sizeof(*out));
    rc = tsr_auth_secret(svc, secret, len, TSR_ACCEPT_PERSONAL | TSR_ACCEPT_SESSION, remote, &who);
    if (rc == TSR_ERR_UNAUTHORIZED || rc == TSR_ERR_ADDRESS)
        return TSR_OK;
    if (rc != TSR_OK)
        return rc;
    rc = describe(svc, &who, out);
    tsr_principal_release(&who);
    return rc;
}
