/* api_tokens.c - /v4/iam/personal_tokens: create, list, get, change, revoke */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/limits.h"
#include "core/timefmt.h"
#include "core/validate.h"
#include "http/parse.h"
#include "http/request.h"

#define PAGE_SIZE_DEFAULT 20
#define PAGE_MAX          1000000000LL
#define SEARCH_MAX_CHARS  500

/* The result of a step that may already have answered the request. */
struct step {
    bool ok;
    enum MHD_Result ret;
};

static struct step answered(enum MHD_Result ret)
{
    return (struct step){false, ret};
}

static const struct step proceed = {true, MHD_YES};

static struct step bad_body(struct tsr_req *req, const char *code, const char *detail,
                            const char *field)
{
    return answered(tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, code, detail,
                                     field ? TSR_SOURCE_POINTER : TSR_SOURCE_NONE, field));
}

/* Takes one member of the body: it must be a string (null is refused too). */
static bool take_field(const char *key, json_t *value, struct tsr_field *f,
                       struct tsr_body_problem *why)
{
    if (!json_is_string(value)) {
        why->code = "invalid_field";
        why->field = key;
        snprintf(why->detail, sizeof(why->detail), "%s must be a string", key);
        return false;
    }
    f->has = true;
    f->s = json_string_value(value);
    f->len = json_string_length(value);
    return true;
}

/* A member name fit to quote in a sentence: at most 64 bytes, cut at a
 * character boundary (jansson has checked it is UTF-8). */
static void quote_key(const char *key, char *out, size_t size)
{
    size_t n = strlen(key);

    if (n >= size)
        n = size - 1;
    while (n > 0 && n < strlen(key) && ((unsigned char)key[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, key, n);
    out[n] = '\0';
}

static void unknown_field(const char *key, struct tsr_body_problem *why)
{
    char quoted[65];

    quote_key(key, quoted, sizeof(quoted));
    why->code = "unknown_field";
    why->field = key;
    snprintf(why->detail, sizeof(why->detail), "unknown field '%s'", quoted);
}

enum tsr_err tsr__parse_token_body(const char *body, size_t len, json_t **root,
                                   struct tsr_token_input *in, struct tsr_body_problem *why)
{
    json_error_t error;
    const char *key;
    json_t *value;

    memset(in, 0, sizeof(*in));
    why->code = NULL;
    why->field = NULL;
    why->detail[0] = '\0';
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    if (!*root) {
        why->code = "invalid_json";
        snprintf(why->detail, sizeof(why->detail),
                 "the body is not valid JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return TSR_ERR_INVALID;
    }
    if (!json_is_object(*root)) {
        why->code = "invalid_json";
        snprintf(why->detail, sizeof(why->detail), "the body must be a JSON object");
        return TSR_ERR_INVALID;
    }
    json_object_foreach(*root, key, value)
    {
        struct tsr_field *f = strcmp(key, "name") == 0          ? &in->name
                              : strcmp(key, "description") == 0 ? &in->description
                              : strcmp(key, "expires_at") == 0  ? &in->expires_at
                                                                : NULL;

        if (!f) {
            unknown_field(key, why);
            return TSR_ERR_INVALID;
        }
        if (!take_field(key, value, f, why))
            return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* Parses the body into in; the strings stay valid as long as *root. */
static struct step read_input(struct tsr_req *req, json_t **root, struct tsr_token_input *in)
{
    struct tsr_body_problem why;

    if (tsr__parse_token_body(req->body.p ? req->body.p : "", req->body.len, root, in, &why) !=
        TSR_OK)
        return bad_body(req, why.code, why.detail, why.field);
    return proceed;
}

static enum MHD_Result refused(struct tsr_req *req, enum tsr_err rc, const struct tsr_problem *why)
{
    switch (rc) {
    case TSR_ERR_MISSING:
        if (!why->field)
            return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "nothing_to_change", why->detail,
                                    TSR_SOURCE_NONE, NULL);
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "missing_field", why->detail,
                                TSR_SOURCE_POINTER, why->field);
    case TSR_ERR_INVALID:
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_field", why->detail,
                                why->field ? TSR_SOURCE_POINTER : TSR_SOURCE_NONE, why->field);
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
        break;
    }
    return tsr__reply_failure(req, rc);
}

/* From the store's thread, once the create is durable or refused. */
static void create_done(struct tsr_create_op *op)
{
    tsr__resume(op->ctx);
}

/* A create does not hold its worker thread while the disk writes: the
 * connection is suspended, the store commits it with whatever other
 * creates arrive meanwhile, and create_done wakes the connection, which
 * comes back here through tsr__api_tokens_created. */
enum MHD_Result tsr__api_tokens_create(struct tsr_req *req)
{
    struct tsr_token_input in;
    json_t *root;
    struct step s = read_input(req, &root, &in);
    enum tsr_err rc;

    if (!s.ok) {
        json_decref(root);
        return s.ret;
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

enum MHD_Result tsr__api_tokens_created(struct tsr_req *req)
{
    struct tsr_create_op *op = req->op;
    json_t *data;
    enum MHD_Result ret;

    if (!atomic_load_explicit(&req->op_finished, memory_order_acquire))
        return MHD_YES; /* not yet: create_done resumes the connection */
    if (op->rc != TSR_OK)
        return refused(req, op->rc, &op->why);
    data = tsr__token_json(&op->token, tsr_time_now());
    if (data)
        json_object_set_new(data, "key", json_string(op->secret));
    ret = tsr__reply_json(req, MHD_HTTP_CREATED, data ? json_pack("{s:o}", "data", data) : NULL);
    sodium_memzero(op->secret, sizeof(op->secret));
    return ret;
}

enum MHD_Result tsr__api_tokens_update(struct tsr_req *req)
{
    struct tsr_token_input in;
    struct tsr_token_row token;
    struct tsr_problem why = {0};
    json_t *root;
    struct step s = read_input(req, &root, &in);
    enum tsr_err rc;

    if (!s.ok) {
        json_decref(root);
        return s.ret;
    }
    rc = tsr_tokens_update(req->svc, &req->who, req->id, &in, req->remote, &token, &why);
    json_decref(root);
    if (rc != TSR_OK)
        return refused(req, rc, &why);
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:o}", "data", tsr__token_json(&token, tsr_time_now())));
}

enum MHD_Result tsr__api_tokens_get(struct tsr_req *req)
{
    struct tsr_token_row token;
    enum tsr_err rc = tsr_tokens_get(req->svc, &req->who, req->has_id ? req->id : NULL, &token);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:o}", "data", tsr__token_json(&token, tsr_time_now())));
}

enum MHD_Result tsr__api_tokens_delete(struct tsr_req *req)
{
    enum tsr_err rc =
        tsr_tokens_revoke(req->svc, &req->who, req->has_id ? req->id : NULL, req->remote);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
}

/* ---- listing ---- */

struct list_params {
    struct tsr_req *req;
    struct tsr_list_params p;
    struct step result;
};

static bool parse_count(const char *value, size_t len, int64_t min, int64_t max, int64_t *out)
{
    int64_t n = 0;

    if (len == 0 || len > 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return false;
        n = n * 10 + (value[i] - '0');
    }
    if (n < min || n > max)
        return false;
    *out = n;
    return true;
}

static bool parse_ordering(const char *value, size_t len, struct tsr_token_query *q)
{
    static const struct {
        const char *name;
        enum tsr_token_order order;
    } orders[] = {{"name", TSR_ORDER_NAME},
                  {"created", TSR_ORDER_CREATED},
                  {"expires_at", TSR_ORDER_EXPIRES_AT},
                  {"last_used_at", TSR_ORDER_LAST_USED_AT}};

    q->descending = len > 0 && value[0] == '-';
    if (q->descending) {
        value++;
        len--;
    }
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        if (strlen(orders[i].name) == len && memcmp(orders[i].name, value, len) == 0) {
            q->order = orders[i].order;
            return true;
        }
    }
    return false;
}

static bool search_ok(const char *value, size_t len)
{
    size_t chars;

    return tsr_utf8_count(value, len, &chars) && chars <= SEARCH_MAX_CHARS &&
           !tsr_has_control(value, len, true);
}

static enum tsr_err bad_parameter(struct tsr_param_problem *why, const char *name,
                                  const char *detail)
{
    why->name = name;
    snprintf(why->detail, sizeof(why->detail), "%s", detail);
    return TSR_ERR_INVALID;
}

static enum tsr_err take_value(struct tsr_list_params *lp, size_t which, const char *value,
                               size_t len, struct tsr_param_problem *why)
{
    struct tsr_token_query *q = &lp->q;

    switch (which) {
    case 0:
        if (!parse_count(value, len, 1, PAGE_MAX, &lp->page))
            return bad_parameter(why, "page", "page must be a whole number from 1");
        break;
    case 1:
        if (!parse_count(value, len, 1, TSR_PAGE_SIZE_MAX, &q->limit))
            return bad_parameter(
                why, "page_size",
                "page_size must be a whole number from 1 to " TSR_PAGE_SIZE_MAX_TEXT);
        break;
    case 2:
        if (!search_ok(value, len))
            return bad_parameter(why, "search",
                                 "search must be valid UTF-8 text of at most 500 characters with "
                                 "no control characters");
        q->search = value;
        q->search_len = len;
        break;
    default:
        if (!parse_ordering(value, len, q))
            return bad_parameter(why, "ordering",
                                 "ordering must be one of name, created, expires_at and "
                                 "last_used_at, each optionally prefixed by '-'");
        break;
    }
    return TSR_OK;
}

void tsr__list_params_init(struct tsr_list_params *lp)
{
    memset(lp, 0, sizeof(*lp));
    lp->page = 1;
    lp->q.order = TSR_ORDER_CREATED;
    lp->q.descending = true;
    lp->q.limit = PAGE_SIZE_DEFAULT;
}

/* Names are matched with their lengths, so that a name with a NUL in it is
 * never taken for a known one. */
enum tsr_err tsr__parse_list_param(struct tsr_list_params *lp, const char *key, size_t key_size,
                                   const char *value, size_t value_size,
                                   struct tsr_param_problem *why)
{
    static const char *const names[] = {"page", "page_size", "search", "ordering"};
    size_t known = lp->paging_only ? 2 : sizeof(names) / sizeof(names[0]);
    size_t i;

    why->unknown = false;
    why->name = NULL;
    why->detail[0] = '\0';
    for (i = 0; i < known; i++) {
        if (strlen(names[i]) == key_size && memcmp(names[i], key, key_size) == 0)
            break;
    }
    if (i == known) {
        why->unknown = true;
        return TSR_ERR_INVALID;
    }
    if (lp->seen & (1u << i)) {
        why->name = names[i];
        snprintf(why->detail, sizeof(why->detail), "%s must be given at most once", names[i]);
        return TSR_ERR_INVALID;
    }
    lp->seen |= 1u << i;
    return take_value(lp, i, value ? value : "", value ? value_size : 0, why);
}

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
    lp->result =
        answered(why.unknown ? tsr__reply_unknown_parameter(lp->req, key, key_size)
                             : tsr__reply_error(lp->req, MHD_HTTP_BAD_REQUEST, "invalid_parameter",
                                                why.detail, TSR_SOURCE_PARAMETER, why.name));
    return MHD_NO; /* stops the iteration */
}

bool tsr__read_list_params(struct tsr_req *req, struct tsr_list_params *p, enum MHD_Result *ret)
{
    struct list_params lp = {.req = req, .p = *p, .result = {true, MHD_YES}};

    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, take_parameter, &lp);
    *p = lp.p;
    *ret = lp.result.ret;
    return lp.result.ok;
}

struct list_out {
    json_t *results;
    int64_t now;
};

static enum tsr_err add_result(const struct tsr_token_row *t, void *ctx)
{
    struct list_out *out = ctx;

    if (json_array_append_new(out->results, tsr__token_json(t, out->now)) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

enum MHD_Result tsr__api_tokens_list(struct tsr_req *req)
{
    struct tsr_list_params p;
    struct list_out out = {.results = json_array(), .now = tsr_time_now()};
    int64_t total = 0;
    enum MHD_Result ret;
    enum tsr_err rc;

    tsr__list_params_init(&p);
    if (!tsr__read_list_params(req, &p, &ret) || !out.results) {
        json_decref(out.results);
        return out.results ? ret : MHD_NO;
    }
    p.q.offset = (p.page - 1) * p.q.limit;
    rc = tsr_tokens_list(req->svc, &req->who, &p.q, add_result, &out, &total);
    if (rc != TSR_OK) {
        json_decref(out.results);
        return tsr__reply_failure(req, rc);
    }
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:I, s:I, s:o}", "count", (json_int_t)total, "total_pages",
                                     (json_int_t)((total + p.q.limit - 1) / p.q.limit), "results",
                                     out.results));
}
