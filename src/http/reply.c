/* reply.c - building responses: JSON, empty, the contract's error body, security headers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timefmt.h"
#include "core/validate.h"
#include "http/request.h"
#include "service/log.h"

/* No inline script or style anywhere: the pages load their own files only,
 * talk only to their own origin, and may not be framed. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

void tsr__security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

void tsr__req_header(struct tsr_req *req, const char *name, const char *value)
{
    if (req->nheaders >= TSR_MAX_HEADERS)
        return;
    req->header_names[req->nheaders] = name;
    req->header_values[req->nheaders] = value;
    req->nheaders++;
}

static enum MHD_Result queue(struct tsr_req *req, unsigned status, struct MHD_Response *resp,
                             bool json)
{
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    /* Every answer is about one user's secrets: no cache may keep it. */
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    tsr__hsts(req, resp);
    if (json) {
        MHD_add_response_header(resp, "Content-Type", "application/json");
        /* Not on empty answers: verify's 204 is the hot path. */
        tsr__security_headers(resp);
    }
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->header_names[i], req->header_values[i]);
    req->nheaders = 0;
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result tsr__reply_json(struct tsr_req *req, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;

    json_decref(body);
    if (!text)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    return queue(req, status, resp, true);
}

enum MHD_Result tsr__reply_empty(struct tsr_req *req, unsigned status)
{
    return queue(req, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                 false);
}

static const char *title_of(const char *code)
{
    static const char *const titles[][2] = {
        {"invalid_json", "Invalid JSON"},
        {"invalid_field", "Invalid field"},
        {"missing_field", "Missing field"},
        {"unknown_field", "Unknown field"},
        {"nothing_to_change", "Nothing to change"},
        {"invalid_parameter", "Invalid parameter"},
        {"unauthorized", "Unauthorized"},
        {"csrf_required", "CSRF header required"},
        {"not_found", "Not found"},
        {"method_not_allowed", "Method not allowed"},
        {"payload_too_large", "Payload too large"},
        {"unsupported_media_type", "Unsupported media type"},
        {"token_expired", "Token expired"},
        {"token_limit_reached", "Token limit reached"},
        {"rate_limited", "Too many requests"},
        {"internal_error", "Internal error"},
        {"unavailable", "Service unavailable"},
        {"invalid_request", "Invalid request"},
        {"uri_too_long", "URI too long"},
        {"not_implemented", "Not implemented"},
        {"insufficient_scope", "Insufficient scope"},
        {"address_not_allowed", "Address not allowed"},
    };

    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
        if (strcmp(titles[i][0], code) == 0)
            return titles[i][1];
    }
    return "Error";
}

/* A JSON Pointer to a top-level member: '~' becomes "~0" and '/' "~1". */
static json_t *pointer_to(const char *name)
{
    size_t len = strlen(name);
    char *buf = malloc(len * 2 + 2);
    size_t n = 0;
    json_t *out;

    if (!buf)
        return NULL;
    buf[n++] = '/';
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '~' || name[i] == '/') {
            buf[n++] = '~';
            buf[n++] = name[i] == '~' ? '0' : '1';
        } else {
            buf[n++] = name[i];
        }
    }
    out = json_stringn(buf, n);
    free(buf);
    return out;
}

static json_t *source_of(enum tsr_source source, const char *name)
{
    switch (source) {
    case TSR_SOURCE_POINTER:
        return json_pack("{s:o?}", "pointer", pointer_to(name));
    case TSR_SOURCE_PATH:
        return json_pack("{s:s+}", "pointer", "/", name);
    case TSR_SOURCE_PARAMETER:
        return json_pack("{s:s?}", "parameter", name);
    case TSR_SOURCE_NONE:
        break;
    }
    return NULL;
}

enum MHD_Result tsr__reply_error(struct tsr_req *req, unsigned status, const char *code,
                                 const char *detail, enum tsr_source source, const char *name)
{
    char status_text[12];
    json_t *error;

    snprintf(status_text, sizeof(status_text), "%u", status);
    error = json_pack("{s:s, s:s, s:s, s:s?}", "status", status_text, "code", code, "title",
                      title_of(code), "detail", detail);
    if (error && source != TSR_SOURCE_NONE && name)
        json_object_set_new(error, "source", source_of(source, name));
    return tsr__reply_json(req, status, error ? json_pack("{s:[o]}", "errors", error) : NULL);
}

enum MHD_Result tsr__reply_unknown_parameter(struct tsr_req *req, const char *key, size_t key_size)
{
    size_t chars;
    char detail[128];

    if (key_size > 64 || strlen(key) != key_size || !tsr_utf8_count(key, key_size, &chars) ||
        tsr_has_control(key, key_size, false))
        return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_parameter",
                                "a query parameter has a name that is not allowed", TSR_SOURCE_NONE,
                                NULL);
    snprintf(detail, sizeof(detail), "unknown query parameter '%s'", key);
    return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_parameter", detail,
                            TSR_SOURCE_PARAMETER, key);
}

/* The answer to a bad secret, built once: refusing garbage must cost no
 * more than accepting a good secret (and a flood of it, nothing to speak of). */
static struct MHD_Response *token_refusal;
static bool token_refusal_tls; /* built for a TLS listener (with HSTS) */

enum tsr_err tsr__reply_init(bool tls)
{
    json_t *body =
        json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "errors", "status", "401", "code", "unauthorized",
                  "title", "Unauthorized", "detail", "a valid token is required");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text)
        token_refusal = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    free(text);
    if (!token_refusal)
        return TSR_ERR_NOMEM;
    MHD_add_response_header(token_refusal, "Cache-Control", "no-store");
    MHD_add_response_header(token_refusal, "Content-Type", "application/json");
    MHD_add_response_header(token_refusal, "WWW-Authenticate", "Token realm=\"tessera\"");
    if (tls)
        MHD_add_response_header(token_refusal, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, TSR_HSTS);
    token_refusal_tls = tls;
    tsr__security_headers(token_refusal);
    return TSR_OK;
}

void tsr__reply_release(void)
{
    if (token_refusal)
        MHD_destroy_response(token_refusal);
    token_refusal = NULL;
}

enum MHD_Result tsr__reply_unauthorized(struct tsr_req *req, const char *scheme)
{
    bool basic = strcmp(scheme, "Basic") == 0;

    if (!basic && token_refusal && req->nheaders == 0 && req->tls == token_refusal_tls)
        return MHD_queue_response(req->conn, MHD_HTTP_UNAUTHORIZED, token_refusal);

    tsr__req_header(req, "WWW-Authenticate",
                    basic ? "Basic realm=\"tessera\"" : "Token realm=\"tessera\"");
    return tsr__reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                            basic ? "a valid email and password are required"
                                  : "a valid token is required",
                            TSR_SOURCE_NONE, NULL);
}

/* Logins have failed too often, from this address or for this email: 429
 * until the window has passed. The account's words are the same whether or
 * not the account exists: it counts every email text alike. */
static enum MHD_Result rate_limited(struct tsr_req *req, int64_t retry_after, bool account)
{
    char wait[24];

    snprintf(wait, sizeof(wait), "%lld", (long long)(retry_after > 0 ? retry_after : 1));
    tsr__req_header(req, "Retry-After", wait);
    return tsr__reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                            account ? "too many failed logins for this account; try again later"
                                    : "too many failed logins from this address; try again later",
                            TSR_SOURCE_NONE, NULL);
}

enum MHD_Result tsr__reply_login_limited(struct tsr_req *req, const struct tsr_session *session)
{
    return rate_limited(req, session->retry_after, session->account_limited);
}

enum MHD_Result tsr__reply_failure(struct tsr_req *req, enum tsr_err rc)
{
    switch (rc) {
    case TSR_ERR_UNAUTHORIZED:
        return tsr__reply_unauthorized(req, "Token");
    case TSR_ERR_NOT_FOUND:
        return tsr__reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such token",
                                TSR_SOURCE_NONE, NULL);
    case TSR_ERR_FULL:
        tsr_log(TSR_LOG_ERROR, "%s %s: the database's disk is full", req->method, req->path);
        return tsr__reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                "the server cannot store anything now: its disk is full",
                                TSR_SOURCE_NONE, NULL);
    case TSR_ERR_BUSY:
        tsr__req_header(req, "Retry-After", "1");
        return tsr__reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                "the database is busy; try again", TSR_SOURCE_NONE, NULL);
    case TSR_ERR_RATE:
        return rate_limited(req, tsr_auth_login_wait(req->svc, req->remote), false);
    case TSR_ERR_LIMIT:
        /* The tokens' handlers say which limit; this is the fallback. */
        return tsr__reply_error(req, MHD_HTTP_CONFLICT, "token_limit_reached",
                                "the limit of tokens is reached", TSR_SOURCE_NONE, NULL);
    case TSR_ERR_ADDRESS:
        return tsr__reply_error(req, MHD_HTTP_FORBIDDEN, "address_not_allowed",
                                "this token may not be used from your address", TSR_SOURCE_NONE,
                                NULL);
    case TSR_ERR_SCOPE:
        return tsr__reply_insufficient_scope(req, NULL, "the token lacks a scope this needs", NULL);
    case TSR_ERR_IN_USE:
    case TSR_OK:
    case TSR_ERR_NOMEM:
    case TSR_ERR_INVALID:
    case TSR_ERR_MISSING:
    case TSR_ERR_EXISTS:
    case TSR_ERR_EXPIRED:
    case TSR_ERR_STORE:
    case TSR_ERR_IO:
    case TSR_ERR_TOOBIG:
    case TSR_ERR_TIMEOUT:
        break;
    }
    tsr_log(TSR_LOG_ERROR, "%s %s: %s", req->method, req->path, tsr_strerror(rc));
    return tsr__reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                            "the server failed; the request may be retried", TSR_SOURCE_NONE, NULL);
}

enum MHD_Result tsr__reply_insufficient_scope(struct tsr_req *req, const char *scope,
                                              const char *detail, const char *pointer)
{
    char challenge[64 + TSR_SCOPE_NAME_MAX];

    if (scope && *scope)
        snprintf(challenge, sizeof(challenge), "Bearer error=\"insufficient_scope\", scope=\"%s\"",
                 scope);
    else
        snprintf(challenge, sizeof(challenge), "Bearer error=\"insufficient_scope\"");
    tsr__req_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    return tsr__reply_error(req, MHD_HTTP_FORBIDDEN, "insufficient_scope", detail,
                            pointer && *pointer ? TSR_SOURCE_PATH : TSR_SOURCE_NONE, pointer);
}

enum MHD_Result tsr__reply_param_problem(struct tsr_req *req, const char *key, size_t key_size,
                                         const struct tsr_param_problem *why)
{
    if (why->unknown)
        return tsr__reply_unknown_parameter(req, key, key_size);
    return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_parameter", why->detail,
                            TSR_SOURCE_PARAMETER, why->name);
}

enum MHD_Result tsr__reply_page(struct tsr_req *req, int64_t total, int64_t page_size,
                                json_t *results)
{
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:I, s:I, s:o}", "count", (json_int_t)total, "total_pages",
                                     (json_int_t)((total + page_size - 1) / page_size), "results",
                                     results));
}
