/* client.h - Tessera's HTTP API over libcurl, answers parsed with jansson
 *
 * One client holds one connection to one server and reuses it for every
 * request of a command. It follows no redirect, so a token is never sent to
 * another place than the server it was given for, and it bounds everything:
 * 10 s to connect, 30 s per request, TSR_CLIENT_BODY_MAX bytes of answer.
 */
#ifndef TSR_CLI_CLIENT_H
#define TSR_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

#define TSR_CLIENT_BODY_MAX (8 * 1024 * 1024)

struct tsr_client;

struct tsr_request {
    const char *method;   /* "GET", "POST", "PATCH", "DELETE" */
    const char *path;     /* "/v4/...", with its query already escaped */
    const char *token;    /* sent as "Authorization: Token <token>" when not NULL */
    const char *user;     /* with password: Basic authentication instead */
    const char *password; /* wiped by the caller */
    const json_t *body;   /* sent as JSON when not NULL */
};

struct tsr_response {
    long status;
    json_t *json; /* the body as JSON, or NULL when there was none or it was not JSON */
};

/* Sets up libcurl, libsodium and jansson (whose freed memory is then wiped,
 * since a parsed answer may hold a secret) once per program, before any
 * thread. Returns TSR_OK or TSR_ERR_NOMEM. */
enum tsr_err tsr_client_global_init(void) TSR_MUST_CHECK;

/* Undoes tsr_client_global_init. Cannot fail. */
void tsr_client_global_cleanup(void);

/* Checks that server is an http:// or https:// URL of at most
 * TSR_SERVER_MAX bytes and writes it without trailing slashes to out. Returns
 * TSR_OK or TSR_ERR_INVALID with why. */
enum tsr_err tsr_client_server(const char *server, char *out, size_t size, char *why,
                               size_t why_size) TSR_MUST_CHECK;

/* Makes a client for the (checked) server URL. Returns TSR_OK and *out, to
 * free with tsr_client_free, or TSR_ERR_NOMEM. */
enum tsr_err tsr_client_new(const char *server, struct tsr_client **out) TSR_MUST_CHECK;

/* Frees c; NULL is a no-op. */
void tsr_client_free(struct tsr_client *c);

/* The server c talks to. Cannot fail. */
const char *tsr_client_base(const struct tsr_client *c);

/* Sends req and waits for the answer. Returns TSR_OK with any HTTP status in
 * resp (release it with tsr_response_release), or TSR_ERR_IO with a sentence
 * for the user in why when no answer came (what failed and what to check:
 * whether a server runs at the URL, the URL itself, the network), or
 * TSR_ERR_NOMEM. The raw body is wiped before it is freed: it may hold a
 * secret. */
enum tsr_err tsr_client_send(struct tsr_client *c, const struct tsr_request *req,
                             struct tsr_response *resp, char *why, size_t why_size) TSR_MUST_CHECK;

/* Writes the first error's "detail" of an error answer to out and returns
 * true; when the body is not the contract's error body, writes a sentence
 * with the status instead and returns false. */
bool tsr_response_detail(const struct tsr_response *resp, char *out, size_t size);

/* Frees what resp holds; its fields become NULL/0. Cannot fail. */
void tsr_response_release(struct tsr_response *resp);

/* Appends "name=value" (value percent-encoded) to the query in buf, with '?'
 * or '&' as fits. Returns TSR_OK, TSR_ERR_INVALID when buf is too small, or
 * TSR_ERR_NOMEM. */
enum tsr_err tsr_client_query(struct tsr_client *c, char *buf, size_t size, const char *name,
                              const char *value) TSR_MUST_CHECK;

#endif
