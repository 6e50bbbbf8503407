/* api_introspect.c - POST /v4/auth/introspect: RFC 7662 token introspection */
#include <string.h>

#include <sodium.h>

#include "core/secret.h"
#include "core/validate.h"
#include "core/scope.h"
#include "http/parse.h"
#include "http/request.h"

/* libmicrohttpd's post processor buffers names in this many bytes (256 is
 * its minimum); a name much longer than any OAuth parameter's, too long for
 * it, makes the body malformed. */
#define FORM_KEY_BUFFER 1024
/* One byte more than a secret: enough to tell that a value is too long. */
#define TOKEN_KEEP (TSR_SECRET_LEN + 1)
#define HINT_MAX   100 /* bytes of token_type_hint */
/* "<token id>:<secret>" decoded from Basic, each character of both
 * possibly form-encoded as %HH, with room for a little more. */
#define CLIENT_CREDENTIALS_MAX (3 * (TSR_UUID_LEN + TSR_SECRET_LEN) + 16)

/* One form parameter of those this endpoint reads: its first value (up to
 * cap bytes; too_long says there was more) and how many non-empty values came. */
struct form_value {
    char *buf;
    size_t cap;
    size_t len;
    bool too_long;
    unsigned given;
};

struct form {
    char token_buf[TOKEN_KEEP];
    char hint_buf[HINT_MAX];
    struct form_value token;
    struct form_value hint;
};

/* libmicrohttpd hands each value over in pieces, off counting the bytes
 * before each piece. RFC 6749 (section 3.1) treats a parameter sent without
 * a value as omitted and has the server ignore parameters it does not know. */
static enum MHD_Result take_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *transfer_encoding, const char *data, uint64_t off,
                                  size_t size)
{
    struct form *form = cls;
    struct form_value *v;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (strcmp(key, "token") == 0)
        v = &form->token;
    else if (strcmp(key, "token_type_hint") == 0)
        v = &form->hint;
    else
        return MHD_YES;
    if (size == 0 || !data)
        return MHD_YES;
    if (off == 0)
        v->given++;
    if (v->given != 1)
        return MHD_YES;
    if (off != v->len || size > v->cap - v->len) {
        v->too_long = true;
        return MHD_YES;
    }
    memcpy(v->buf + v->len, data, size);
    v->len += size;
    return MHD_YES;
}

/* Reads the body into form with libmicrohttpd's own parser. False when it
 * is not a well-formed form. */
static bool read_form(struct tsr_req *req, struct form *form)
{
    struct MHD_PostProcessor *pp;
    bool ok;

    memset(form, 0, sizeof(*form));
    form->token = (struct form_value){.buf = form->token_buf, .cap = sizeof(form->token_buf)};
    form->hint = (struct form_value){.buf = form->hint_buf, .cap = sizeof(form->hint_buf)};
    if (req->body.len == 0)
        return true;
    pp = MHD_create_post_processor(req->conn, FORM_KEY_BUFFER, take_field, form);
    if (!pp)
        return false;
    ok = MHD_post_process(pp, req->body.p, req->body.len) == MHD_YES;
    /* The last value may be held back until the end is known. */
    if (MHD_destroy_post_processor(pp) != MHD_YES)
        ok = false;
    return ok;
}

/* The form's problems in the order a reader meets them: token, then the hint.
 * Queues the 400 and returns false at the first. */
static bool form_ok(struct tsr_req *req, const struct form *form, enum MHD_Result *answered)
{
    size_t chars;

    if (form->token.given == 0) {
        *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "missing_field",
                                     "token is required: the secret to introspect",
                                     TSR_SOURCE_PARAMETER, "token");
        return false;
    }
    if (form->token.given > 1) {
        *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                     "token must be given once", TSR_SOURCE_PARAMETER, "token");
        return false;
    }
    if (form->hint.given > 1) {
        *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                     "token_type_hint must be given at most once",
                                     TSR_SOURCE_PARAMETER, "token_type_hint");
        return false;
    }
    if (form->hint.given == 1 &&
        (form->hint.too_long || !tsr_utf8_count(form->hint.buf, form->hint.len, &chars) ||
         tsr_has_control(form->hint.buf, form->hint.len, false))) {
        *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                     "token_type_hint must be at most 100 bytes of UTF-8 text with "
                                     "no control characters",
                                     TSR_SOURCE_PARAMETER, "token_type_hint");
        return false;
    }
    return true;
}

/* RFC 6749 (section 2.3.1) has a client form-encode its id and its secret
 * before Basic joins them, and clients do (openid-client sends each '-' of
 * an id as %2D). Copies the len bytes at s into out, of size bytes, and
 * decodes them there with libmicrohttpd's unescaping; false when they do not
 * fit. A '+' is left as it is: neither an id nor a secret holds a space. */
static bool form_decode(const char *s, size_t len, char *out, size_t size, size_t *out_len)
{
    if (len >= size)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    *out_len = MHD_http_unescape(out);
    return true;
}

/* Authenticates the caller by "Authorization: Bearer|Token <secret>", or by
 * "Basic base64(<token id>:<secret>)" as an OAuth client sends its
 * client_id and client_secret. Personal tokens only, as verify. */
static enum tsr_err authenticate_client(struct tsr_req *req)
{
    const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
    char buf[CLIENT_CREDENTIALS_MAX], id[CLIENT_CREDENTIALS_MAX], secret[CLIENT_CREDENTIALS_MAX];
    const char *raw_id, *raw_secret;
    size_t raw_id_len, raw_secret_len, id_len, secret_len;
    enum tsr_err rc;

    if (tsr__parse_bearer(auth, &raw_secret, &raw_secret_len))
        return tsr_auth_secret(req->svc, raw_secret, raw_secret_len, TSR_ACCEPT_PERSONAL,
                               tsr__client_of(req), &req->who);
    if (tsr__parse_basic(auth, buf, sizeof(buf), &raw_id, &raw_id_len, &raw_secret,
                         &raw_secret_len) &&
        form_decode(raw_id, raw_id_len, id, sizeof(id), &id_len) &&
        form_decode(raw_secret, raw_secret_len, secret, sizeof(secret), &secret_len))
        rc = tsr_auth_client(req->svc, id, id_len, secret, secret_len, tsr__client_of(req),
                             &req->who);
    else
        /* Refused as the router refuses a missing header: audited. */
        rc = tsr_auth_secret(req->svc, "", 0, TSR_ACCEPT_PERSONAL, tsr__client_of(req), &req->who);
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

/* 401 with both ways in: Bearer for gateways, Basic for OAuth clients. */
static enum MHD_Result refuse_client(struct tsr_req *req)
{
    tsr__req_header(req, "WWW-Authenticate", "Bearer realm=\"tessera\"");
    tsr__req_header(req, "WWW-Authenticate", "Basic realm=\"tessera\"");
    return tsr__reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                            "a valid personal token is required, as a Bearer token or as Basic "
                            "with the token's id and secret",
                            TSR_SOURCE_NONE, NULL);
}

static json_t *answer_of(const struct tsr_introspection *in)
{
    if (!in->active)
        return json_pack("{s:b}", "active", 0);
    return json_pack("{s:b, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "active", 1, "sub", in->user_id,
                     "username", in->email, "exp", (json_int_t)in->expires_at, "iat",
                     (json_int_t)in->created, "token_type",
                     in->kind == TSR_TOKEN_SESSION ? "session" : "personal", "jti", in->token_id,
                     "scope", in->scope);
}

/* RFC 7662 answers every malformed request 400 (RFC 6749's invalid_request);
 * here with the contract's error body, whose code says what was wrong. */
enum MHD_Result tsr__api_introspect(struct tsr_req *req)
{
    struct form form;
    struct tsr_introspection in;
    enum tsr_err rc;
    enum MHD_Result ret;
    bool parsed;

    rc = authenticate_client(req);
    if (rc == TSR_ERR_UNAUTHORIZED)
        return refuse_client(req);
    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    if (tsr_auth_require(req->svc, &req->who, TSR_SCOPE_INTROSPECT) != TSR_OK)
        return tsr__reply_insufficient_scope(req, TSR_SCOPE_INTROSPECT,
                                             "introspection needs a token with the scope "
                                             "introspect",
                                             NULL);
    if (!tsr__is_media_type(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type"),
                            "application/x-www-form-urlencoded"))
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "unsupported_media_type",
                                "the body must be a form, sent as Content-Type: "
                                "application/x-www-form-urlencoded",
                                TSR_SOURCE_NONE, NULL);
    if (!tsr__query_empty(req, &ret))
        return ret;
    parsed = read_form(req, &form);
    /* The body holds a secret: keep it no longer than it is needed. */
    if (req->body.p)
        sodium_memzero(req->body.p, req->body.len);
    if (!parsed) {
        ret = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               "the body is not a well-formed form", TSR_SOURCE_NONE, NULL);
        goto out;
    }
    if (!form_ok(req, &form, &ret))
        goto out;
    memset(&in, 0, sizeof(in));
    /* A value longer than any secret is no secret: not active, no look-up. */
    if (!form.token.too_long) {
        rc = tsr_auth_introspect(req->svc, &req->who, form.token.buf, form.token.len,
                                 tsr__client_of(req), &in);
        if (rc != TSR_OK) {
            ret = tsr__reply_failure(req, rc);
            goto out;
        }
    }
    ret = tsr__reply_json(req, MHD_HTTP_OK, answer_of(&in));
out:
    sodium_memzero(&form, sizeof(form));
    return ret;
}
