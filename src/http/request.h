/* request.h - one HTTP request as the handlers see it, and how they answer */
#ifndef TSR_HTTP_REQUEST_H
#define TSR_HTTP_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/dynbuf.h"
#include "http/parse.h"
#include "service/service.h"

#define TSR_PATH_MAX    256
#define TSR_MAX_HEADERS 4

struct tsr_http;
struct tsr_req;

typedef enum MHD_Result (*tsr_handler)(struct tsr_req *req);

struct tsr_req {
    struct MHD_Connection *conn;
    struct tsr_http *http; /* the server, which counts suspensions (heap requests only) */
    struct tsr_service *svc;
    const char *method;
    char path[TSR_PATH_MAX];  /* without query and trailing slash */
    struct tsr_dynbuf body;   /* capped at TSR_BODY_MAX, wiped as it grows and goes */
    enum tsr_err body_failed; /* TSR_ERR_TOOBIG (answered 413) or TSR_ERR_NOMEM */
    bool has_id;
    char id[TSR_UUID_LEN + 1];         /* the {id} of the path */
    const char *remote;                /* the client's address as text; "" unknown */
    char remote_buf[TSR_ADDR_MAX + 1]; /* where it is kept when not per connection */
    bool client_unknown;               /* relayed by a trusted proxy that did not say for whom */
    struct tsr_principal who;
    bool by_cookie;             /* authenticated by the console's cookie */
    bool tls;                   /* came over HTTPS */
    bool azion;                 /* answered in Azion's representation (represent.c) */
    struct tsr_create_op *op;   /* a create under way (heap requests only) */
    atomic_bool op_finished;    /* set by the thread that finished op or login */
    struct tsr_login_op *login; /* a login waiting for the hashing threads (heap only) */
    tsr_handler login_answer;   /* answers it once it is done */
    tsr_handler resumed;        /* set before a suspension: answers once resumed */
    bool login_full;            /* the hashing queue was full: nothing was queued */
    bool held;                  /* counted by the server until libmicrohttpd is done with it */
    int64_t max_lifetime_days;  /* the server's limit, for the consoles; 0: none */
    /* GitHub's secret-scanning keys (the server's, heap requests only);
     * NULL: none configured. */
    struct tsr_sigkeys *github_keys;
    bool answered_early; /* answered before its body was read: the rest is let go by */
    /* Headers that the next reply carries; the strings must outlive it. */
    const char *header_names[TSR_MAX_HEADERS];
    const char *header_values[TSR_MAX_HEADERS];
    size_t nheaders;
};

/* Strict-Transport-Security on every HTTPS answer: two years, the value the
 * browsers' preload lists ask for, so that a browser that has once reached
 * the console over HTTPS never again tries plain HTTP (where an attacker on
 * the path could strip TLS). No includeSubDomains: other hosts of the
 * operator's domain are not Tessera's to speak for. */
#define TSR_HSTS "max-age=63072000"

/* Adds Strict-Transport-Security to resp when req came over TLS. */
static inline void tsr__hsts(const struct tsr_req *req, struct MHD_Response *resp)
{
    if (req->tls)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, TSR_HSTS);
}

/* Adds the security headers that every page and JSON answer carries
 * (Content-Security-Policy, X-Frame-Options, Referrer-Policy,
 * X-Content-Type-Options, Cross-Origin-Opener-Policy). */
void tsr__security_headers(struct MHD_Response *resp);

/* The client's address to check a token's address list against: "" when
 * it cannot be known (a trusted proxy sent no usable X-Forwarded-For), so
 * that lists fail closed. */
static inline const char *tsr__client_of(const struct tsr_req *req)
{
    return req->client_unknown ? "" : req->remote;
}

/* Adds a header to the next reply; silently ignored past TSR_MAX_HEADERS. */
void tsr__req_header(struct tsr_req *req, const char *name, const char *value);

/* Queues status with body as compact JSON (the reference is taken). */
enum MHD_Result tsr__reply_json(struct tsr_req *req, unsigned status, json_t *body);

/* Queues status with no body. */
enum MHD_Result tsr__reply_empty(struct tsr_req *req, unsigned status);

/* Where the error points: a body field, a query parameter, or nothing. */
enum tsr_source {
    TSR_SOURCE_NONE,
    TSR_SOURCE_POINTER, /* name is one member's name, to be escaped */
    TSR_SOURCE_PATH,    /* name is a pointer's path already, "scopes/2" */
    TSR_SOURCE_PARAMETER,
};

/* Queues the contract's error body: status, code (one of api.md's codes),
 * detail for people, and a source (name is a field or parameter name; for a
 * pointer it is escaped and given a leading '/'). */
enum MHD_Result tsr__reply_error(struct tsr_req *req, unsigned status, const char *code,
                                 const char *detail, enum tsr_source source, const char *name);

/* Queues the error that a service result other than TSR_OK calls for, when
 * it is one every handler answers the same way (401, 404, 5xx). */
enum MHD_Result tsr__reply_failure(struct tsr_req *req, enum tsr_err rc);

/* Queues 403 insufficient_scope with RFC 6750's challenge naming scope
 * (NULL or "": none), detail for people, and the body field at fault
 * (a pointer's path without its first slash; NULL or "": none). */
enum MHD_Result tsr__reply_insufficient_scope(struct tsr_req *req, const char *scope,
                                              const char *detail, const char *pointer);

/* Queues 429 rate_limited for a login refused with TSR_ERR_RATE, with the
 * Retry-After and the limit (address or account) that session gives. */
enum MHD_Result tsr__reply_login_limited(struct tsr_req *req, const struct tsr_session *session);

/* Queues 400 invalid_parameter for a query parameter a parser refused
 * (key_size bytes at key): why names it, or says it is unknown. */
enum MHD_Result tsr__reply_param_problem(struct tsr_req *req, const char *key, size_t key_size,
                                         const struct tsr_param_problem *why);

/* Queues 200 with a page of a list, {count, total_pages, results}, where
 * total is how many there are in all (the reference to results is taken). */
enum MHD_Result tsr__reply_page(struct tsr_req *req, int64_t total, int64_t page_size,
                                json_t *results);

/* Queues 400 invalid_parameter for the query parameter named by the
 * key_size bytes at key (quoted only when it is short printable UTF-8). */
enum MHD_Result tsr__reply_unknown_parameter(struct tsr_req *req, const char *key, size_t key_size);

/* A step that may already have answered the request, by one convention:
 *
 *     bool step(struct tsr_req *req, ..., enum MHD_Result *answered);
 *
 * returns true to go on, or false once it has queued the answer, with what
 * queueing it returned in *answered, which the caller returns at once. The
 * go-on case reads as an ordinary condition (`if (!step(req, &ret)) return
 * ret;`), the value that matters to libmicrohttpd is never mixed up with
 * the one that says whether to go on (as in a function that returns
 * enum MHD_Result with a flag beside it), and nothing is built or copied
 * for it: on verify's path it costs what a bool costs. Most steps were
 * written this way already; a helper that always answers returns
 * enum MHD_Result instead and is no step. */

/* True when the request has no query parameter; otherwise queues 400
 * invalid_parameter for the first one (see the convention above). */
bool tsr__query_empty(struct tsr_req *req, enum MHD_Result *answered);

/* Builds and frees the responses shared by all requests (the refusal of a
 * bad token), for a TLS listener or a plain one; tsr_http_start and
 * tsr_http_stop call them. */
enum tsr_err tsr__reply_init(bool tls) TSR_MUST_CHECK;
void tsr__reply_release(void);

/* Reads the request's query parameters into lp. Returns true, or false when
 * one is refused, after queueing the 400 (see the convention above). */
bool tsr__read_list_params(struct tsr_req *req, struct tsr_list_params *lp,
                           enum MHD_Result *answered);

/* Queues 401 unauthorized with the WWW-Authenticate challenge of scheme
 * ("Token" or "Basic"). */
enum MHD_Result tsr__reply_unauthorized(struct tsr_req *req, const char *scheme);

/* ---- represent.c: Tessera's shapes, or Azion's when req->azion ---- */

/* One token as a list item, at now. NULL when out of memory. */
json_t *tsr__token_item(const struct tsr_req *req, const struct tsr_token_row *t, int64_t now);

/* Queues status with one token: {"data": token}, or Azion's bare object. */
enum MHD_Result tsr__reply_token(struct tsr_req *req, unsigned status,
                                 const struct tsr_token_row *t);

/* Queues status (201 for a token just made, 200 for one rotated) with the
 * token and its new secret as "key"; Azion's adds the creator's number as
 * "user_id". */
enum MHD_Result tsr__reply_token_with_key(struct tsr_req *req, unsigned status,
                                          const struct tsr_token_row *t, const char *secret);

/* Queues 200 with the caller's account: Tessera's {"data": {id, email,
 * created}} or Azion's {"results": {client_id, email}}. */
enum MHD_Result tsr__reply_user(struct tsr_req *req, const struct tsr_user_row *user);

/* The largest page_size a list of tokens takes in this request's
 * representation: Azion's clients ask for up to 200. */
int64_t tsr__page_size_max(const struct tsr_req *req);

/* Queues a page of tokens that p asked for (results' reference is taken):
 * tsr__reply_page's envelope, or Azion's with schema_version and links. */
enum MHD_Result tsr__reply_token_page(struct tsr_req *req, int64_t total,
                                      const struct tsr_list_params *p, json_t *results);

/* Handlers, one per endpoint. */
enum MHD_Result tsr__api_login(struct tsr_req *req);
enum MHD_Result tsr__api_logout(struct tsr_req *req);
enum MHD_Result tsr__api_verify(struct tsr_req *req);
enum MHD_Result tsr__api_me(struct tsr_req *req);
enum MHD_Result tsr__api_health(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_create(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_list(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_get(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_update(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_delete(struct tsr_req *req);
enum MHD_Result tsr__api_tokens_rotate(struct tsr_req *req);
enum MHD_Result tsr__api_console_login(struct tsr_req *req);
enum MHD_Result tsr__api_console_logout(struct tsr_req *req);
enum MHD_Result tsr__api_console_config(struct tsr_req *req);
enum MHD_Result tsr__api_activity_list(struct tsr_req *req);
enum MHD_Result tsr__api_introspect(struct tsr_req *req);
enum MHD_Result tsr__api_scopes_list(struct tsr_req *req);
enum MHD_Result tsr__api_leaks_revoke(struct tsr_req *req);
enum MHD_Result tsr__api_github_secret_scanning(struct tsr_req *req);

/* Counts a leak report against its address's limit as soon as its headers
 * are in (router.h's tsr__route_early), so that a refused report costs no
 * reading of its body: true to go on, else it has queued 429 with
 * Retry-After (see the convention above). */
bool tsr__leaks_admit(struct tsr_req *req, enum MHD_Result *answered);

/* ---- waiting without holding a thread ---- */

/* Suspends req's connection while another thread works for it, counted
 * from before the suspension until libmicrohttpd has finished with the
 * request, so that a stop waits for its answer. Returns false, suspending
 * nothing, once the server is stopping (answer with tsr__reply_stopping)
 * or for a request not on the heap. */
bool tsr__suspend(struct tsr_req *req) TSR_MUST_CHECK;

/* From any thread, once the work req waited for is done (or was never
 * started): marks it finished and resumes the connection, which comes back
 * to on_request, which calls req->resumed. req may be gone when this
 * returns. Cannot fail. */
void tsr__resume(struct tsr_req *req);

/* Queues 503 unavailable with Retry-After: 1: the server is stopping. */
enum MHD_Result tsr__reply_stopping(struct tsr_req *req);

/* Starts a login of the credentials (copied: the caller wipes its own) on
 * the service's hashing threads, with req suspended meanwhile; once it is
 * done, answer(req) is called with req->login->rc set and must answer.
 * Refusals (the rate limit, a full queue, a stop) are answered here or
 * once the connection is resumed. */
enum MHD_Result tsr__login_start(struct tsr_req *req, const char *email, size_t email_len,
                                 const char *password, size_t password_len, tsr_handler answer);

/* Makes jansson zero every block it frees, for the server's life: any may
 * have held a password. tsr_http_start calls it. Cannot fail. */
void tsr__json_wipe_on_free(void);

/* The console's session cookie (api_console.c): finds its value, a session
 * secret to check, under the name that fits req's listener
 * (__Host-tessera_session over TLS, tessera_session over plain HTTP).
 * Returns false when the request has none. */
bool tsr__session_cookie(const struct tsr_req *req, const char **secret, size_t *len);

/* Whether req may go on after cookie authentication: true for a method that
 * changes nothing, else only with the header X-Tessera-CSRF: 1. */
bool tsr__csrf_ok(const struct tsr_req *req);

#endif
