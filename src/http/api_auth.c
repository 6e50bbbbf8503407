/* api_auth.c - log in with Basic, log out, and verify a secret for gateways */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "http/parse.h"
#include "http/request.h"

/* From a hashing thread, once the login is decided. */
static void login_done(struct tsr_login_op *op)
{
    tsr__resume(op->ctx);
}

/* Answers a login whose connection has been resumed. */
static enum MHD_Result login_finished(struct tsr_req *req)
{
    if (!atomic_load_explicit(&req->op_finished, memory_order_acquire))
        return MHD_YES; /* not yet: login_done resumes the connection */
    if (req->login_full) {
        tsr__req_header(req, "Retry-After", "1");
        return tsr__reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                "too many logins are waiting to be checked; try again",
                                TSR_SOURCE_NONE, NULL);
    }
    return req->login_answer(req);
}

enum MHD_Result tsr__login_start(struct tsr_req *req, const char *email, size_t email_len,
                                 const char *password, size_t password_len, tsr_handler answer)
{
    enum tsr_err rc;

    req->login = calloc(1, sizeof(*req->login));
    if (!req->login)
        return tsr__reply_failure(req, TSR_ERR_NOMEM);
    req->login->done = login_done;
    req->login->ctx = req;
    req->login_answer = answer;
    req->resumed = login_finished;
    /* Suspended before it is queued: a hashing thread may finish it at once. */
    if (!tsr__suspend(req))
        return tsr__reply_stopping(req);
    rc = tsr_auth_login_submit(req->svc, email, email_len, password, password_len, req->remote,
                               req->login);
    if (rc != TSR_OK) {
        /* Answered from on_request, as a finished login is. */
        req->login->rc = rc;
        req->login_full = rc == TSR_ERR_BUSY;
        login_done(req->login);
    }
    return MHD_YES;
}

static enum MHD_Result basic_answer(struct tsr_req *req)
{
    struct tsr_session *session = &req->login->session;
    char created[TSR_TIME_LEN + 1], expires[TSR_TIME_LEN + 1];
    enum MHD_Result ret;

    if (req->login->rc == TSR_ERR_UNAUTHORIZED)
        return tsr__reply_unauthorized(req, "Basic");
    if (req->login->rc == TSR_ERR_RATE)
        return tsr__reply_login_limited(req, session);
    if (req->login->rc != TSR_OK)
        return tsr__reply_failure(req, req->login->rc);
    tsr_time_format(session->created, created);
    tsr_time_format(session->expires_at, expires);
    ret = tsr__reply_json(req, MHD_HTTP_CREATED,
                          json_pack("{s:s, s:s, s:s}", "token", session->secret, "created_at",
                                    created, "expires_at", expires));
    sodium_memzero(session->secret, sizeof(session->secret));
    return ret;
}

/* The password is checked on the service's hashing threads, never here:
 * see tsr__login_start. */
enum MHD_Result tsr__api_login(struct tsr_req *req)
{
    const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
    char buf[TSR_EMAIL_MAX + TSR_PASSWORD_MAX + 8];
    const char *email, *password;
    size_t email_len, password_len;
    enum MHD_Result ret;

    if (!tsr__parse_basic(auth, buf, sizeof(buf), &email, &email_len, &password, &password_len)) {
        sodium_memzero(buf, sizeof(buf));
        return tsr__reply_unauthorized(req, "Basic");
    }
    if (tsr__query_empty(req, &ret))
        ret = tsr__login_start(req, email, email_len, password, password_len, basic_answer);
    sodium_memzero(buf, sizeof(buf));
    return ret;
}

enum MHD_Result tsr__api_logout(struct tsr_req *req)
{
    enum tsr_err rc = tsr_auth_logout(req->svc, &req->who, req->remote);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
}

static struct MHD_Response *build_answer(const struct tsr_req *req)
{
    const struct tsr_principal *who = &req->who;
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    char expires[TSR_TIME_LEN + 1];
    size_t scopes_len;

    if (!resp)
        return NULL;
    tsr_time_format(who->expires_at, expires);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Tessera-User-Id", who->user_id);
    MHD_add_response_header(resp, "X-Tessera-Token-Id", who->token_id);
    MHD_add_response_header(resp, "X-Tessera-Expires-At", expires);
    MHD_add_response_header(resp, "X-Tessera-Scopes", tsr_principal_scopes(who, &scopes_len));
    tsr__hsts(req, resp);
    return resp;
}

struct scope_params {
    struct tsr_req *req;
    struct tsr_scope_query q;
    bool ok;                  /* no parameter was refused */
    enum MHD_Result answered; /* the refusal's, when one was */
};

/* Takes one query parameter; the first refused one is answered and stops
 * the iteration. */
static enum MHD_Result take_scope(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    struct scope_params *sp = cls;
    struct tsr_param_problem why;

    (void)kind;
    if (tsr__parse_scope_param(&sp->q, key, key_size, value, value_size, &why) == TSR_OK)
        return MHD_YES;
    sp->ok = false;
    sp->answered = tsr__reply_param_problem(sp->req, key, key_size, &why);
    return MHD_NO;
}

/* Whether the token holds every scope the gateway asks for; answers 403 if
 * not (nginx's auth_request passes a 403 on to its client). */
static bool scopes_held(struct tsr_req *req, enum MHD_Result *answered)
{
    struct scope_params sp = {.req = req, .ok = true, .answered = MHD_YES};
    char scope[TSR_SCOPE_NAME_MAX + 1], detail[96 + TSR_SCOPE_NAME_MAX];
    size_t missing;

    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, take_scope, &sp);
    if (!sp.ok) {
        *answered = sp.answered;
        return false;
    }
    if (sp.q.n == 0 ||
        tsr_auth_holds_all(req->svc, &req->who, sp.q.names, sp.q.lens, sp.q.n, &missing))
        return true;
    /* A well-formed name: at most TSR_SCOPE_NAME_MAX bytes. */
    memcpy(scope, sp.q.names[missing], sp.q.lens[missing]);
    scope[sp.q.lens[missing]] = '\0';
    snprintf(detail, sizeof(detail), "the token does not hold the scope %s", scope);
    *answered = tsr__reply_insufficient_scope(req, scope, detail, NULL);
    return false;
}

/* The answer is built for each verify. Keeping built answers for tokens
 * seen before (one libmicrohttpd response each, a dozen allocations) saved
 * building them when a thousand tokens were in use, but cost more than it
 * saved in cache misses when ten thousand were. */
enum MHD_Result tsr__api_verify(struct tsr_req *req)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!scopes_held(req, &ret))
        return ret;
    resp = build_answer(req);
    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(req->conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ret;
}
