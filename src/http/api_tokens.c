/* api_tokens.c - /v4/iam/personal_tokens: create, list, get, change, revoke */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "http/parse.h"
#include "http/request.h"

/* Queues 400 with code for the body member field (NULL: none; is_path: a
 * pointer's path such as "scopes/2", not one member's name); sets
 * *answered and returns false, to go by the convention of request.h. */
static bool bad_body(struct tsr_req *req, const char *code, const char *detail, const char *field,
                     bool is_path, enum MHD_Result *answered)
{
    enum tsr_source source = is_path ? TSR_SOURCE_PATH : TSR_SOURCE_POINTER;

    *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, code, detail,
                                 field ? source : TSR_SOURCE_NONE, field);
    return false;
}

/* Parses the body into in; the strings stay valid as long as *root. */
static bool read_input(struct tsr_req *req, json_t **root, struct tsr_token_input *in,
                       enum MHD_Result *answered)
{
    struct tsr_body_problem why;

    if (tsr__parse_token_body(req->body.p ? req->body.p : "", req->body.len, root, in, &why) !=
        TSR_OK)
        return bad_body(req, why.code, why.detail, why.field, why.field == why.field_buf, answered);
    return true;
}

static enum MHD_Result refused(struct tsr_req *req, enum tsr_err rc, const struct tsr_problem *why)
{
    switch (rc) {
    case TSR_ERR_MISSING:
        if (!why->field[0])
            return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "nothing_to_change", why->detail,
                                    TSR_SOURCE_NONE, NULL);
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "missing_field", why->detail,
                                TSR_SOURCE_PATH, why->field);
    case TSR_ERR_INVALID:
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field", why->detail,
                                why->field[0] ? TSR_SOURCE_PATH : TSR_SOURCE_NONE, why->field);
    case TSR_ERR_SCOPE:
        return tsr__reply_insufficient_scope(req, why->scope, why->detail, why->field);
    case TSR_ERR_LIMIT:
        return tsr__reply_error(req, MHD_HTTP_CONFLICT, "token_limit_reached", why->detail,
                                TSR_SOURCE_NONE, NULL);
    case TSR_ERR_EXPIRED:
        return tsr__reply_error(req, MHD_HTTP_CONFLICT, "token_expired",
                                "the token has expired: it can only be deleted", TSR_SOURCE_NONE,
                                NULL);
    case TSR_OK:
    case TSR_ERR_NOMEM:
    case TSR_ERR_NOT_FOUND:
    case TSR_ERR_EXISTS:
    case TSR_ERR_UNAUTHORIZED:
    case TSR_ERR_FULL:
    case TSR_ERR_BUSY:
    case TSR_ERR_STORE:
    case TSR_ERR_RATE:
    case TSR_ERR_IO:
    case TSR_ERR_TOOBIG:
    case TSR_ERR_TIMEOUT:
    case TSR_ERR_IN_USE:
    case TSR_ERR_ADDRESS:
        break;
    }
    return tsr__reply_failure(req, rc);
}

/* From the store's thread, once the create is durable or refused. */
static void create_done(struct tsr_create_op *op)
{
    tsr__resume(op->ctx);
}

/* Answers a create once the store is done with it. */
static enum MHD_Result created(struct tsr_req *req)
{
    struct tsr_create_op *op = req->op;
    enum MHD_Result ret;

    if (!atomic_load_explicit(&req->op_finished, memory_order_acquire))
        return MHD_YES; /* not yet: create_done resumes the connection */
    if (op->rc != TSR_OK)
        return refused(req, op->rc, &op->why);
    ret = tsr__reply_token_with_key(req, MHD_HTTP_CREATED, &op->token, op->secret);
    sodium_memzero(op->secret, sizeof(op->secret));
    return ret;
}

/* A create does not hold its worker thread while the disk writes: the
 * connection is suspended, the store commits it with whatever other
 * creates arrive meanwhile, and create_done wakes the connection, which
 * comes back to created. */
enum MHD_Result tsr__api_tokens_create(struct tsr_req *req)
{
    struct tsr_token_input in;
    json_t *root;
    enum MHD_Result ret;
    enum tsr_err rc;

    if (!read_input(req, &root, &in, &ret)) {
        json_decref(root);
        return ret;
    }
    req->op = calloc(1, sizeof(*req->op));
    if (!req->op) {
        json_decref(root);
        return tsr__reply_failure(req, TSR_ERR_NOMEM);
    }
    rc = tsr_tokens_create_prepare(req->svc, &req->who, &in, req->remote, req->op);
    json_decref(root);
    if (rc != TSR_OK)
        return refused(req, rc, &req->op->why);
    req->op->done = create_done;
    req->op->ctx = req;
    req->resumed = created;
    /* Suspended before it is queued: the store may finish it at once. */
    if (!tsr__suspend(req)) {
        sodium_memzero(req->op->secret, sizeof(req->op->secret));
        return tsr__reply_stopping(req);
    }
    rc = tsr_tokens_create_submit(req->op);
    if (rc != TSR_OK) {
        req->op->rc = rc;
        create_done(req->op);
    }
    return MHD_YES;
}

enum MHD_Result tsr__api_tokens_update(struct tsr_req *req)
{
    struct tsr_token_input in;
    struct tsr_token_row token;
    struct tsr_problem why = {0};
    json_t *root;
    enum MHD_Result ret;
    enum tsr_err rc;

    if (!read_input(req, &root, &in, &ret)) {
        json_decref(root);
        return ret;
    }
    rc = tsr_tokens_update(req->svc, &req->who, req->id, &in, req->remote, &token, &why);
    json_decref(root);
    if (rc != TSR_OK)
        return refused(req, rc, &why);
    return tsr__reply_token(req, MHD_HTTP_OK, &token);
}

/* The body is optional: only one that is there must be JSON. */
enum MHD_Result tsr__api_tokens_rotate(struct tsr_req *req)
{
    struct tsr_rotate_input in;
    struct tsr_body_problem bad;
    struct tsr_token_row token;
    struct tsr_problem why = {0};
    char secret[TSR_SECRET_LEN + 1];
    json_t *root = NULL;
    enum MHD_Result ret;
    enum tsr_err rc;

    if (req->body.len > 0 &&
        !tsr__is_json(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type")))
        return tsr__reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                "the body must be JSON, sent as Content-Type: application/json",
                                TSR_SOURCE_NONE, NULL);
    if (tsr__parse_rotate_body(req->body.p, req->body.len, &root, &in, &bad) != TSR_OK) {
        /* bad.field may be a key of root's. */
        bad_body(req, bad.code, bad.detail, bad.field, false, &ret);
        json_decref(root);
        return ret;
    }
    rc = tsr_tokens_rotate(req->svc, &req->who, req->has_id ? req->id : NULL, &in, req->remote,
                           &token, secret, &why);
    json_decref(root);
    if (rc != TSR_OK)
        return refused(req, rc, &why);
    ret = tsr__reply_token_with_key(req, MHD_HTTP_OK, &token, secret);
    sodium_memzero(secret, sizeof(secret));
    return ret;
}

enum MHD_Result tsr__api_tokens_get(struct tsr_req *req)
{
    struct tsr_token_row token;
    enum tsr_err rc = tsr_tokens_get(req->svc, &req->who, req->has_id ? req->id : NULL, &token);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_token(req, MHD_HTTP_OK, &token);
}

enum MHD_Result tsr__api_tokens_delete(struct tsr_req *req)
{
    struct tsr_problem why = {0};
    enum tsr_err rc =
        tsr_tokens_revoke(req->svc, &req->who, req->has_id ? req->id : NULL, req->remote, &why);

    if (rc != TSR_OK)
        return refused(req, rc, &why);
    return tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
}

/* ---- listing ---- */

struct list_params {
    struct tsr_req *req;
    struct tsr_list_params p;
    bool ok;                  /* no parameter was refused */
    enum MHD_Result answered; /* the refusal's, when one was */
};

/* Checks one parameter; the first refused one is answered and stops the
 * iteration. */
static enum MHD_Result take_parameter(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct list_params *lp = cls;
    struct tsr_param_problem why;

    (void)kind;
    if (tsr__parse_list_param(&lp->p, key, key_size, value, value_size, &why) == TSR_OK)
        return MHD_YES;
    lp->ok = false;
    lp->answered = tsr__reply_param_problem(lp->req, key, key_size, &why);
    return MHD_NO; /* stops the iteration */
}

bool tsr__read_list_params(struct tsr_req *req, struct tsr_list_params *p,
                           enum MHD_Result *answered)
{
    struct list_params lp = {.req = req, .p = *p, .ok = true, .answered = MHD_YES};

    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, take_parameter, &lp);
    *p = lp.p;
    *answered = lp.answered;
    return lp.ok;
}

struct list_out {
    const struct tsr_req *req;
    json_t *results;
    int64_t now;
};

static enum tsr_err add_result(const struct tsr_token_row *t, void *ctx)
{
    struct list_out *out = ctx;

    if (json_array_append_new(out->results, tsr__token_item(out->req, t, out->now)) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

enum MHD_Result tsr__api_tokens_list(struct tsr_req *req)
{
    struct tsr_list_params p;
    struct list_out out = {.req = req, .results = json_array(), .now = tsr_time_now()};
    int64_t total = 0;
    enum MHD_Result ret;
    enum tsr_err rc;

    tsr__list_params_init(&p);
    p.page_size_max = tsr__page_size_max(req);
    if (!tsr__read_list_params(req, &p, &ret) || !out.results) {
        json_decref(out.results);
        return out.results ? ret : MHD_NO;
    }
    p.q.offset = (p.page - 1) * p.q.limit;
    rc = tsr_tokens_list(req->svc, &req->who, &p.q, p.status, add_result, &out, &total);
    if (rc != TSR_OK) {
        json_decref(out.results);
        return tsr__reply_failure(req, rc);
    }
    return tsr__reply_token_page(req, total, &p, out.results);
}
