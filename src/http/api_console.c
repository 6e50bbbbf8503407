/* api_console.c - the consoles' cookie session, its CSRF rule, and their settings */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "core/cidr.h"
#include "core/scope.h"
#include "http/request.h"

/* Over TLS the cookie has the __Host- prefix (RFC 6265bis): a browser takes
 * such a cookie only with Secure, Path=/ and no Domain, from an HTTPS
 * origin, so neither a sibling subdomain nor a plain-HTTP page (an attacker
 * on the path answering for http://) can set one that Tessera would then
 * read as a session (cookie tossing, session fixation). Plain HTTP cannot
 * have the prefix: browsers refuse it there. */
#define COOKIE_NAME     "tessera_session"
#define COOKIE_NAME_TLS "__Host-tessera_session"

/* The cookie's attributes; a request that came over TLS adds COOKIE_SECURE,
 * so that the browser never sends the session over plain HTTP. */
#define COOKIE_ATTRIBUTES "; HttpOnly; SameSite=Strict; Path=/"
#define COOKIE_SECURE     "; Secure"

/* The listener serves either TLS or plain HTTP, and reads only the name
 * that fits it. */
static const char *cookie_name(const struct tsr_req *req)
{
    return req->tls ? COOKIE_NAME_TLS : COOKIE_NAME;
}

/* jansson's blocks may hold a password (a login body: the parser's own
 * buffer as well as the string it makes): zero every block it frees. Plain
 * malloc, so that what jansson returns (json_dumps) is freed with free. */
static void wiping_free(void *p)
{
    if (p) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

void tsr__json_wipe_on_free(void)
{
    json_set_alloc_funcs(malloc, wiping_free);
}

bool tsr__session_cookie(const struct tsr_req *req, const char **secret, size_t *len)
{
    const char *value = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, cookie_name(req));

    if (!value)
        return false;
    *secret = value;
    *len = strlen(value);
    return true;
}

bool tsr__csrf_ok(const struct tsr_req *req)
{
    const char *m = req->method;
    const char *header;

    if (strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0 && strcmp(m, "DELETE") != 0 &&
        strcmp(m, "PUT") != 0)
        return true;
    header = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Tessera-CSRF");
    return header && strcmp(header, "1") == 0;
}

/* The fields of a login body; pointers into the parsed JSON. */
struct credentials {
    const char *email;
    size_t email_len;
    const char *password;
    size_t password_len;
};

static enum MHD_Result bad_body(struct tsr_req *req, const char *code, const char *detail,
                                const char *field)
{
    return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, code, detail,
                            field ? TSR_SOURCE_POINTER : TSR_SOURCE_NONE, field);
}

/* Checks {"email": string, "password": string} and nothing else. Returns
 * true when the body is right; otherwise it has answered, into *answered. */
static bool read_credentials(struct tsr_req *req, json_t *root, struct credentials *c,
                             enum MHD_Result *answered)
{
    const char *key;
    json_t *value;
    char detail[160];

    if (!json_is_object(root)) {
        *answered = bad_body(req, "invalid_json", "the body must be a JSON object", NULL);
        return false;
    }
    json_object_foreach(root, key, value)
    {
        bool is_email = strcmp(key, "email") == 0;

        if (!is_email && strcmp(key, "password") != 0) {
            snprintf(detail, sizeof(detail), "unknown field '%.64s'", key);
            *answered = tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, "unknown_field", detail,
                                         TSR_SOURCE_POINTER, key);
            return false;
        }
        if (!json_is_string(value)) {
            snprintf(detail, sizeof(detail), "%s must be a string", key);
            *answered = bad_body(req, "invalid_field", detail, key);
            return false;
        }
        if (is_email) {
            c->email = json_string_value(value);
            c->email_len = json_string_length(value);
        } else {
            c->password = json_string_value(value);
            c->password_len = json_string_length(value);
        }
    }
    if (!c->email) {
        *answered = bad_body(req, "missing_field", "email is required", "email");
        return false;
    }
    if (!c->password) {
        *answered = bad_body(req, "missing_field", "password is required", "password");
        return false;
    }
    return true;
}

static enum MHD_Result console_answer(struct tsr_req *req)
{
    struct tsr_session *session = &req->login->session;
    char cookie[sizeof(COOKIE_NAME_TLS) + TSR_SECRET_LEN + sizeof(COOKIE_ATTRIBUTES) +
                sizeof(COOKIE_SECURE) + 1];
    enum MHD_Result ret;

    if (req->login->rc == TSR_ERR_UNAUTHORIZED) {
        /* Not Basic: a Basic challenge would make a browser pop up its own
         * login box over the console's form. */
        tsr__req_header(req, "WWW-Authenticate", "Token realm=\"tessera\"");
        return tsr__reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                "the email or the password is wrong", TSR_SOURCE_NONE, NULL);
    }
    if (req->login->rc == TSR_ERR_RATE)
        return tsr__reply_login_limited(req, session);
    if (req->login->rc != TSR_OK)
        return tsr__reply_failure(req, req->login->rc);
    snprintf(cookie, sizeof(cookie), "%s=%s%s%s", cookie_name(req), session->secret,
             COOKIE_ATTRIBUTES, req->tls ? COOKIE_SECURE : "");
    tsr__req_header(req, "Set-Cookie", cookie);
    ret = tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
    sodium_memzero(session->secret, sizeof(session->secret));
    sodium_memzero(cookie, sizeof(cookie));
    return ret;
}

/* Wipes the password's string in root before root goes; jansson's other
 * copies (the parser's buffer) are wiped by its allocator, see
 * tsr__json_wipe_on_free. */
static void free_credentials(json_t *root, const struct credentials *c)
{
    if (c->password)
        sodium_memzero((char *)(uintptr_t)c->password, c->password_len);
    json_decref(root);
}

enum MHD_Result tsr__api_console_login(struct tsr_req *req)
{
    struct credentials c = {0};
    json_error_t error;
    char detail[256];
    json_t *root;
    enum MHD_Result ret;

    root =
        json_loadb(req->body.p ? req->body.p : "", req->body.len, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        snprintf(detail, sizeof(detail), "the body is not valid JSON: %s (line %d, column %d)",
                 error.text, error.line, error.column);
        return bad_body(req, "invalid_json", detail, NULL);
    }
    if (read_credentials(req, root, &c, &ret))
        ret =
            tsr__login_start(req, c.email, c.email_len, c.password, c.password_len, console_answer);
    free_credentials(root, &c);
    return ret;
}

enum MHD_Result tsr__api_console_logout(struct tsr_req *req)
{
    static const char clear[] = COOKIE_NAME "=" COOKIE_ATTRIBUTES "; Max-Age=0";
    static const char clear_secure[] =
        COOKIE_NAME_TLS "=" COOKIE_ATTRIBUTES COOKIE_SECURE "; Max-Age=0";
    enum tsr_err rc = tsr_auth_logout(req->svc, &req->who, req->remote);

    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    tsr__req_header(req, "Set-Cookie", req->tls ? clear_secure : clear);
    return tsr__reply_empty(req, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result tsr__api_console_config(struct tsr_req *req)
{
    char now[TSR_TIME_LEN + 1];

    tsr_time_format(tsr_time_now(), now);
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:{s:I, s:s, s:i, s:i, s:i, s:i, s:i}}", "data",
                                     "max_lifetime_days", (json_int_t)req->max_lifetime_days, "now",
                                     now, "name_max_chars", TSR_NAME_MAX_CHARS,
                                     "description_max_chars", TSR_DESC_MAX_CHARS, "page_size_max",
                                     TSR_PAGE_SIZE_MAX, "scopes_max", TSR_SCOPES_MAX,
                                     "allowed_ips_max", TSR_ALLOWED_IPS_MAX));
}
