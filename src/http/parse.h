/* parse.h - the pure parsers of request parts, apart from libmicrohttpd
 *
 * The handlers call these; the fuzz harnesses (tests/fuzz/) call them too,
 * linked against tsr_http_parse alone. Nothing here includes libmicrohttpd.
 */
#ifndef TSR_HTTP_PARSE_H
#define TSR_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/scope.h"
#include "service/service.h"

/* The longest body read; a longer one is answered 413. */
#define TSR_BODY_MAX (64 * 1024)

/* Why a body was refused: one of api.md's codes, the member at fault (NULL
 * when none; it points into the parsed root) and a sentence for people. */
struct tsr_body_problem {
    const char *code;
    const char *field; /* a member name, or field_buf for an item ("scopes/2") */
    char field_buf[40];
    char detail[256];
};

/* Parses the len bytes at body as the JSON object of a token's create or
 * update into in (members name, description, expires_at and not_before,
 * each a string, not_before also null; scopes and allowed_ips, arrays of
 * strings).
 * Returns TSR_OK, or TSR_ERR_INVALID with *why filled in. Either way *root
 * is the parsed document or NULL; the caller json_decref()s it, and the
 * strings of in and why->field stay valid as long as it. */
enum tsr_err tsr__parse_token_body(const char *body, size_t len, json_t **root,
                                   struct tsr_token_input *in,
                                   struct tsr_body_problem *why) TSR_MUST_CHECK;

/* Parses the len bytes at body as a rotation's optional JSON object into in
 * (expires_at, a string; grace_period, a whole number whose range the
 * service checks); no bytes mean no members. As tsr__parse_token_body
 * otherwise: *root (NULL for no body) is for the caller to json_decref. */
enum tsr_err tsr__parse_rotate_body(const char *body, size_t len, json_t **root,
                                    struct tsr_rotate_input *in,
                                    struct tsr_body_problem *why) TSR_MUST_CHECK;

/* The secrets of a leak report: n of them (1 to TSR_LEAK_REPORT_MAX), each
 * secrets[i] of lens[i] bytes, and for GitHub's reports the type GitHub
 * gave it; pointers into the parsed document. */
struct tsr_leak_report {
    size_t n;
    const char *secrets[TSR_LEAK_REPORT_MAX];
    size_t lens[TSR_LEAK_REPORT_MAX];
    const char *types[TSR_LEAK_REPORT_MAX];
    size_t type_lens[TSR_LEAK_REPORT_MAX];
};

/* Parses the len bytes at body as the JSON object of POST /v4/auth/revoke,
 * {"credentials": [1 to TSR_LEAK_REPORT_MAX strings]} and no other member,
 * into *report (types unset). Returns TSR_OK, or TSR_ERR_INVALID with *why
 * filled in. Either way *root is the parsed document or NULL; the caller
 * json_decref()s it, and the strings of report and why->field stay valid
 * as long as it. */
enum tsr_err tsr__parse_revoke_body(const char *body, size_t len, json_t **root,
                                    struct tsr_leak_report *report,
                                    struct tsr_body_problem *why) TSR_MUST_CHECK;

/* The query parameters of the token list, as they are read one by one. */
struct tsr_list_params {
    struct tsr_token_query q; /* q.limit is the page size */
    int64_t page;
    unsigned seen;         /* one bit per known parameter, to refuse repeats */
    bool paging_only;      /* a list that takes page and page_size, no search or ordering */
    int64_t page_size_max; /* TSR_PAGE_SIZE_MAX unless the caller raises it */
    const char *ordering;  /* the ordering as given, for links to other pages */
    size_t ordering_len;
    enum tsr_list_status status;
    const char *status_text; /* as given, for links; NULL when not */
};

/* Sets lp to the defaults: page 1 of 20, newest first. Cannot fail. */
void tsr__list_params_init(struct tsr_list_params *lp);

/* Why a query parameter was refused: unknown (then the caller names the key
 * itself), or a known one, name, with a sentence for people. */
struct tsr_param_problem {
    bool unknown;
    const char *name;
    char detail[160];
};

/* Takes one query parameter (key_size bytes at key, value_size at value;
 * value NULL for a bare key) into lp. Returns TSR_OK, or TSR_ERR_INVALID
 * with *why filled in. lp->q.search points into value when it is set. */
enum tsr_err tsr__parse_list_param(struct tsr_list_params *lp, const char *key, size_t key_size,
                                   const char *value, size_t value_size,
                                   struct tsr_param_problem *why) TSR_MUST_CHECK;

/* The scope parameters of a verify, as they are read one by one. */
struct tsr_scope_query {
    size_t n;
    const char *names[TSR_VERIFY_SCOPES_MAX]; /* into the values given */
    size_t lens[TSR_VERIFY_SCOPES_MAX];
};

/* Takes one query parameter of a verify into q: "scope", whose value must
 * be a well-formed scope name (tsr_scope_name_valid), at most
 * TSR_VERIFY_SCOPES_MAX times. Returns TSR_OK, or TSR_ERR_INVALID with *why
 * filled in (why->unknown for another key). q->n starts at 0. */
enum tsr_err tsr__parse_scope_param(struct tsr_scope_query *q, const char *key, size_t key_size,
                                    const char *value, size_t value_size,
                                    struct tsr_param_problem *why) TSR_MUST_CHECK;

/* Finds the credential of an "Authorization: Token|Bearer <secret>" header
 * value (scheme case-insensitive). Returns false when value is malformed
 * (NULL included). */
bool tsr__parse_bearer(const char *value, const char **secret, size_t *len);

/* Decodes an "Authorization: Basic base64(email:password)" value into buf of
 * size bytes; email and password point into it. False for anything malformed
 * (value NULL included). */
bool tsr__parse_basic(const char *value, char *buf, size_t size, const char **email,
                      size_t *email_len, const char **password, size_t *password_len);

/* True when the Content-Type value type (NULL: none) is the media type media
 * (compared without regard to case) with at most a charset parameter that
 * says UTF-8. */
bool tsr__is_media_type(const char *type, const char *media);

/* tsr__is_media_type for application/json, which may also carry Azion's
 * "version=3". */
bool tsr__is_json(const char *type);

/* True when an Accept or Content-Type value (NULL: none) has, on any of its
 * media ranges, the parameter "version=3" (or version="3") that asks for
 * Azion's representation. */
bool tsr__asks_azion(const char *value);

/* True when the size bytes at v, a Transfer-Encoding value, say exactly
 * "chunked" (case-insensitive, white space around it aside). */
bool tsr__is_chunked(const char *v, size_t size);

/* Accept-Encoding (RFC 9110 12.5.3): true unless gzip, or the "*" that
 * stands for it, has q=0. */
bool tsr__accepts_gzip(const char *value);

/* If-None-Match (RFC 9110 13.1.2): true when value is "*" or lists etag
 * (quotes included), compared weakly. */
bool tsr__none_match(const char *value, const char *etag);

#endif
