/* api_auth.c - log in with Basic, log out, and verify a secret for gateways */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "http/parse.h"
#include "http/request.h"

/* Splits "<scheme> <credential>": the scheme compared case-insensitively,
 * one or more spaces, then a credential with no white space in it. */
static bool split_scheme(const char *value, const char *scheme, const char **cred, size_t *len)
{
    size_t n = strlen(scheme);
    const char *p;

    if (!value || strncasecmp(value, scheme, n) != 0 || (value[n] != ' ' && value[n] != '\t'))
        return false;
    p = value + n;
    while (*p == ' ' || *p == '\t')
        p++;
    *len = strcspn(p, " \t");
    /* White space after the credential is not part of the header's value. */
    if (*len == 0 || p[strspn(p + *len, " \t") + *len] != '\0')
        return false;
    *cred = p;
    return true;
}

bool tsr__parse_bearer(const char *value, const char **secret, size_t *len)
{
    return split_scheme(value, "Token", secret, len) || split_scheme(value, "Bearer", secret, len);
}

bool tsr__parse_basic(const char *value, char *buf, size_t size, const char **email,
                      size_t *email_len, const char **password, size_t *password_len)
{
    const char *b64;
    size_t b64_len, bin_len;
    char *colon;

    if (!split_scheme(value, "Basic", &b64, &b64_len))
        return false;
    if (sodium_base642bin((unsigned char *)buf, size - 1, b64, b64_len, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    buf[bin_len] = '\0';
    colon = memchr(buf, ':', bin_len);
    if (!colon)
        return false;
    *email = buf;
    *email_len = (size_t)(colon - buf);
    *password = colon + 1;
    *password_len = bin_len - *email_len - 1;
    return true;
}

enum MHD_Result tsr__api_login(struct tsr_req *req)
{
    const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
    char buf[TSR_EMAIL_MAX + TSR_PASSWORD_MAX + 8];
    const char *email, *password;
    size_t email_len, password_len;
    struct tsr_session session;
    char created[TSR_TIME_LEN + 1], expires[TSR_TIME_LEN + 1];
    enum tsr_err rc;
    enum MHD_Result ret;

    if (!tsr__parse_basic(auth, buf, sizeof(buf), &email, &email_len, &password, &password_len))
        return tsr__reply_unauthorized(req, "Basic");
    if (!tsr__query_empty(req, &ret)) {
        sodium_memzero(buf, sizeof(buf));
        return ret;
    }
    rc = tsr_auth_login(req->svc, email, email_len, password, password_len, req->remote, &session);
    sodium_memzero(buf, sizeof(buf));
    if (rc == TSR_ERR_UNAUTHORIZED)
        return tsr__reply_unauthorized(req, "Basic");
    if (rc == TSR_ERR_RATE)
        return tsr__reply_login_limited(req, &session);
    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    tsr_time_format(session.created, created);
    tsr_time_format(session.expires_at, expires);
    ret = tsr__reply_json(req, MHD_HTTP_CREATED,
                          json_pack("{s:s, s:s, s:s}", "token", session.secret, "created_at",
                                    created, "expires_at", expires));
    sodium_memzero(session.secret, sizeof(session.secret));
    return ret;
}

enum MHD_Result tsr__api_logout(struct tsr_req *req)
{
    enum tsr_err rc = tsr_auth_logout(req->svc, &req->who, req->remote);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
}

static struct MHD_Response *build_answer(const struct tsr_principal *who)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    char expires[TSR_TIME_LEN + 1];

    if (!resp)
        return NULL;
    tsr_time_format(who->expires_at, expires);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Tessera-User-Id", who->user_id);
    MHD_add_response_header(resp, "X-Tessera-Token-Id", who->token_id);
    MHD_add_response_header(resp, "X-Tessera-Expires-At", expires);
    return resp;
}

/* The answer is built for each verify. Keeping built answers for tokens
 * seen before (one libmicrohttpd response each, a dozen allocations) saved
 * building them when a thousand tokens were in use, but cost more than it
 * saved in cache misses when ten thousand were. */
enum MHD_Result tsr__api_verify(struct tsr_req *req)
{
    struct MHD_Response *resp = build_answer(&req->who);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(req->conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ret;
}
