/* test_api_authz.c - end to end: what a token may do (scopes), escalation, verify with scopes
 *
 * Every endpoint is called with a token that holds its scope and with tokens
 * that hold every other single scope, as an attacker holding a weak token
 * would; every refusal is followed by reading back that nothing changed.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKENS     "/v4/iam/personal_tokens"
#define SCOPES     "/v4/iam/scopes"
#define VERIFY     "/v4/auth/verify"
#define INTROSPECT "/v4/auth/introspect"
#define FORM       "application/x-www-form-urlencoded"

/* Operator scopes added with `tesserad scope add` before the tests. */
#define ORDERS_READ  "orders:read"
#define ORDERS_WRITE "orders:write"
#define BULK_N       46
/* One character longer than a scope name may be. */
#define LONG65                                                                                     \
    "a234567890123456789012345678901234567890123456789012345678901234x" /* "bulk.00".."bulk.45":   \
                                                                           with five built-ins, 51 \
                                                                           known names */

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1]; /* the admin's session token */

struct tok {
    char id[TSR_H_UUID_LEN + 1];
    char secret[TSR_H_SECRET_LEN + 1];
    json_t *data;
};

/* ---- helpers ---- */

static char *dump(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *o = tsr_h_fmt("%s", s ? s : "(null)");
    free(s);
    return o;
}

static const char *token_path(const char *id)
{
    return tsr_h_fmt(TOKENS "/%s", id);
}

/* The names of a JSON array of strings, joined with spaces; fails on
 * anything but strings. */
static const char *joined(const json_t *arr)
{
    char *out = tsr_h_fmt("%s", "");
    size_t i;
    json_t *v;

    assert_true(json_is_array(arr));
    json_array_foreach(arr, i, v)
    {
        assert_true(json_is_string(v));
        out = tsr_h_fmt("%s%s%s", out, i ? " " : "", json_string_value(v));
    }
    return out;
}

/* The members this feature adds to a token object, each of its form; the
 * scopes sorted (byte order), distinct, at least one. */
static void assert_token_members(const json_t *d)
{
    json_t *scopes = tsr_h_jarr(d, "scopes");
    json_t *ips = tsr_h_jarr(d, "allowed_ips");
    json_t *nb = json_object_get(d, "not_before");
    json_t *ip = json_object_get(d, "last_used_ip");
    size_t i;
    json_t *v;

    tsr_h_jstr(d, "id");
    tsr_h_jstr(d, "expires_at");
    assert_true(json_array_size(scopes) >= 1);
    json_array_foreach(scopes, i, v)
    {
        assert_true(json_is_string(v));
        if (i > 0 &&
            strcmp(json_string_value(json_array_get(scopes, i - 1)), json_string_value(v)) >= 0) {
            fail_msg("scopes not sorted and distinct: %s", dump(scopes));
        }
    }
    json_array_foreach(ips, i, v)
    {
        assert_true(json_is_string(v));
    }
    if (nb == NULL || (!json_is_null(nb) && !json_is_string(nb))) {
        fail_msg("not_before is neither null nor a time: %s", dump(d));
    }
    if (json_is_string(nb)) {
        tsr_h_parse_time(json_string_value(nb));
    }
    if (ip == NULL || (!json_is_null(ip) && !json_is_string(ip))) {
        fail_msg("last_used_ip is neither null nor a string: %s", dump(d));
    }
}

/* POST a create for auth: name, expires_at at exp, and the JSON members
 * extra (e.g. "\"scopes\":[\"tokens:read\"]"; NULL: none). */
static struct tsr_h_resp *create_raw(const char *auth, const char *name, int64_t exp,
                                     const char *extra)
{
    const char *body = tsr_h_fmt("{\"name\":\"%s\",\"expires_at\":\"%s\"%s%s}", name,
                                 tsr_h_time(exp), extra ? "," : "", extra ? extra : "");
    return tsr_h_send(srv, "POST", TOKENS, auth, body);
}

/* Creates a token for auth (must be 201) expiring at exp with scopes (a
 * JSON array's text; NULL: none given). */
static void make_exp(const char *auth, const char *scopes, int64_t exp, struct tok *out)
{
    struct tsr_h_resp *r =
        create_raw(auth, "authz", exp, scopes ? tsr_h_fmt("\"scopes\":%s", scopes) : NULL);
    json_t *d;

    tsr_h_assert_status(r, 201);
    d = tsr_h_jobj(r->json, "data");
    assert_token_members(d);
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(d, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(d, "key"));
    out->data = d;
}

static void make(const char *auth, const char *scopes, struct tok *out)
{
    make_exp(auth, scopes, tsr_h_now() + 10 * TSR_H_DAY, out);
}

/* GET a token as the session (200); its data. */
static json_t *read_back(const char *id)
{
    struct tsr_h_resp *r = tsr_h_get(srv, token_path(id), session);

    tsr_h_assert_status(r, 200);
    assert_token_members(tsr_h_jobj(r->json, "data"));
    return tsr_h_jobj(r->json, "data");
}

/* The admin's live tokens, counted by the session. */
static long count_tokens(void)
{
    struct tsr_h_resp *r = tsr_h_get(srv, TOKENS "?page_size=1", session);

    tsr_h_assert_status(r, 200);
    return (long)tsr_h_jint(r->json, "count");
}

/* A header's value, "(absent)" when there is none. */
static const char *hdr(const struct tsr_h_resp *r, const char *name)
{
    const char *v = tsr_h_header(r, name);
    return v ? v : "(absent)";
}

/* 403 insufficient_scope with RFC 6750's challenge naming scope. */
static void assert_insufficient(const struct tsr_h_resp *r, const char *scope)
{
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_header_count(r, "WWW-Authenticate"), 1);
    assert_string_equal(hdr(r, "WWW-Authenticate"),
                        tsr_h_fmt("Bearer error=\"insufficient_scope\", scope=\"%s\"", scope));
}

/* An error of status and code whose source is a pointer at or under
 * pointer ("/scopes" takes "/scopes" and "/scopes/1"). */
static void assert_error_under(const struct tsr_h_resp *r, long status, const char *code,
                               const char *pointer)
{
    json_t *e, *src;
    const char *p;
    size_t n = strlen(pointer);

    tsr_h_assert_status(r, status);
    assert_non_null(r->json);
    e = json_array_get(tsr_h_jarr(r->json, "errors"), 0);
    assert_string_equal(tsr_h_jstr(e, "status"), tsr_h_fmt("%ld", status));
    assert_string_equal(tsr_h_jstr(e, "code"), code);
    tsr_h_jstr(e, "title");
    tsr_h_jstr(e, "detail");
    src = tsr_h_jobj(e, "source");
    p = tsr_h_jstr(src, "pointer");
    if (strncmp(p, pointer, n) != 0 || (p[n] != '\0' && p[n] != '/')) {
        fail_msg("pointer %s is not at or under %s: %s", p, pointer, r->body);
    }
}

/* An error of status and code, whatever its source. */
static void assert_code(const struct tsr_h_resp *r, long status, const char *code)
{
    json_t *e;

    tsr_h_assert_status(r, status);
    assert_non_null(r->json);
    e = json_array_get(tsr_h_jarr(r->json, "errors"), 0);
    assert_string_equal(tsr_h_jstr(e, "status"), tsr_h_fmt("%ld", status));
    assert_string_equal(tsr_h_jstr(e, "code"), code);
}

static struct tsr_h_resp *verify_q(const char *secret, const char *query)
{
    return tsr_h_get(srv, tsr_h_fmt(VERIFY "%s", query ? query : ""), secret);
}

static struct tsr_h_resp *introspect_as(const char *caller, const char *secret)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = INTROSPECT,
                            .auth = tsr_h_fmt("Bearer %s", caller),
                            .body = tsr_h_fmt("token=%s", secret),
                            .ctype = FORM};
    return tsr_h_req(srv, &req);
}

/* Every scope GET /v4/iam/scopes lists (as the session): one page of 100,
 * or the first page when it holds them all. */
static json_t *all_scopes(void)
{
    struct tsr_h_resp *r = tsr_h_get(srv, SCOPES "?page_size=100", session);

    if (r->status != 200) {
        r = tsr_h_get(srv, SCOPES, session);
        tsr_h_assert_status(r, 200);
        if (tsr_h_jint(r->json, "total_pages") > 1) {
            fail_msg("GET " SCOPES " takes no page_size and has more than one page");
        }
    }
    tsr_h_assert_status(r, 200);
    return tsr_h_jarr(r->json, "results");
}

/* The listed scope called name, or NULL. */
static json_t *listed(const char *name)
{
    json_t *item;
    size_t i;

    json_array_foreach(all_scopes(), i, item)
    {
        if (strcmp(tsr_h_jstr(item, "name"), name) == 0) {
            return item;
        }
    }
    return NULL;
}

static void scope_add(const char *name, const char *description)
{
    struct tsr_h_cmd *c = description
                              ? tsr_h_cmd(srv, NULL, "scope", "add", name, "--description",
                                          description, "--db", srv->db, NULL)
                              : tsr_h_cmd(srv, NULL, "scope", "add", name, "--db", srv->db, NULL);

    if (c->status != 0) {
        fail_msg("tesserad scope add %s: exit %d: %s", name, c->status, c->err);
    }
}

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    scope_add(ORDERS_READ, "Read orders");
    scope_add(ORDERS_WRITE, "Change orders");
    for (int i = 0; i < BULK_N; i++) {
        scope_add(tsr_h_fmt("bulk.%02d", i), NULL);
    }
    /* The running server learns of them within a second (the contract). */
    int64_t end = tsr_h_mono_ms() + 3000;
    while (listed(ORDERS_WRITE) == NULL) {
        if (tsr_h_mono_ms() >= end) {
            fail_msg("GET " SCOPES " does not list %s 3 s after `scope add`", ORDERS_WRITE);
        }
        tsr_h_sleep_ms(100);
    }
    return 0;
}

/* ---- GET /v4/iam/scopes ---- */

static void test_scopes_list(void **state)
{
    static const char *const builtins[] = {"global",        "tokens:read", "tokens:write",
                                           "activity:read", "user:read",   "introspect"};
    struct tok weak;
    struct tsr_h_resp *r;
    json_t *results, *item;
    size_t i;
    long total;

    (void)state;
    tsr_h_assert_error(tsr_h_get(srv, SCOPES, NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    /* Any credential reads it, however little it may do otherwise. */
    make(session, "[\"" ORDERS_READ "\"]", &weak);
    r = tsr_h_get(srv, SCOPES, weak.secret);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "count", "total_pages", "results");
    total = (long)tsr_h_jint(r->json, "count");
    assert_int_equal(total, 6 + 2 + BULK_N);
    results = tsr_h_jarr(r->json, "results");
    assert_true(json_array_size(results) >= 6);
    tsr_h_assert_between(tsr_h_jint(r->json, "total_pages"), 1, total);
    json_array_foreach(results, i, item)
    {
        tsr_h_assert_keys(item, "name", "description", "kind");
        tsr_h_jstr(item, "description");
        if (i < 6) {
            assert_string_equal(tsr_h_jstr(item, "name"), builtins[i]);
            assert_string_equal(tsr_h_jstr(item, "kind"), "builtin");
            assert_true(strlen(tsr_h_jstr(item, "description")) > 0);
        } else {
            assert_string_equal(tsr_h_jstr(item, "kind"), "operator");
            /* The operator's, by name: bulk.* sorts before orders:*. */
            if (i > 6) {
                assert_true(strcmp(tsr_h_jstr(json_array_get(results, i - 1), "name"),
                                   tsr_h_jstr(item, "name")) < 0);
            }
        }
        assert_string_not_equal(tsr_h_jstr(item, "name"), "admin");
    }
    /* The operator's description is there; an operator scope with none has "". */
    json_t *orders = listed(ORDERS_READ);
    assert_non_null(orders);
    assert_string_equal(tsr_h_jstr(orders, "description"), "Read orders");
    assert_string_equal(tsr_h_jstr(orders, "kind"), "operator");
    json_t *bulk = listed("bulk.07");
    assert_non_null(bulk);
    assert_string_equal(tsr_h_jstr(bulk, "description"), "");
}

/* ---- every endpoint's scope ---- */

enum ep {
    E_LIST,
    E_GET,
    E_SELF,
    E_CREATE,
    E_PATCH,
    E_DELETE,
    E_ACTIVITY,
    E_ME,
    E_INTROSPECT,
    E_SCOPES,
    E_CONFIG,
    E_VERIFY,
    E_COUNT
};

static const struct {
    const char *what;
    const char *needs; /* NULL: any credential */
    long ok;
} endpoints[E_COUNT] = {
    [E_LIST] = {"GET " TOKENS, "tokens:read", 200},
    [E_GET] = {"GET " TOKENS "/{id}", "tokens:read", 200},
    [E_SELF] = {"GET " TOKENS "/self", "tokens:read", 200},
    [E_CREATE] = {"POST " TOKENS, "tokens:write", 201},
    [E_PATCH] = {"PATCH " TOKENS "/{id}", "tokens:write", 200},
    [E_DELETE] = {"DELETE " TOKENS "/{id}", "tokens:write", 204},
    [E_ACTIVITY] = {"GET /v4/iam/activity", "activity:read", 200},
    [E_ME] = {"GET /v4/iam/users/me", "user:read", 200},
    [E_INTROSPECT] = {"POST " INTROSPECT, "introspect", 200},
    [E_SCOPES] = {"GET " SCOPES, NULL, 200},
    [E_CONFIG] = {"GET /v4/console/config", NULL, 200},
    [E_VERIFY] = {"GET " VERIFY, NULL, 204},
};

/* Whether a caller whose only scope is held holds need. */
static bool holds(const char *held, const char *need)
{
    return need == NULL || strcmp(held, "global") == 0 || strcmp(held, need) == 0 ||
           (strcmp(held, "tokens:write") == 0 && strcmp(need, "tokens:read") == 0);
}

/* Calls endpoint e with auth; target is a token of the same scopes as the
 * caller (so that only the endpoint's own scope can be what is missing). */
static struct tsr_h_resp *call(enum ep e, const char *auth, const struct tok *target,
                               const char *scopes)
{
    switch (e) {
    case E_LIST:
        return tsr_h_get(srv, TOKENS, auth);
    case E_GET:
        return tsr_h_get(srv, token_path(target->id), auth);
    case E_SELF:
        return tsr_h_get(srv, TOKENS "/self", auth);
    case E_CREATE:
        return create_raw(auth, "made by a scoped token", tsr_h_now() + TSR_H_DAY,
                          tsr_h_fmt("\"scopes\":%s", scopes));
    case E_PATCH:
        return tsr_h_send(srv, "PATCH", token_path(target->id), auth, "{\"name\":\"renamed\"}");
    case E_DELETE:
        return tsr_h_send(srv, "DELETE", token_path(target->id), auth, NULL);
    case E_ACTIVITY:
        return tsr_h_get(srv, "/v4/iam/activity", auth);
    case E_ME:
        return tsr_h_get(srv, "/v4/iam/users/me", auth);
    case E_INTROSPECT:
        return introspect_as(auth, target->secret);
    case E_SCOPES:
        return tsr_h_get(srv, SCOPES, auth);
    case E_CONFIG:
        return tsr_h_get(srv, "/v4/console/config", auth);
    case E_VERIFY:
    case E_COUNT:
        break;
    }
    return tsr_h_get(srv, VERIFY, auth);
}

/* A token holding exactly one scope, for each scope there is (and one of
 * the operator's), against every endpoint: the scope it needs or 403 with
 * the challenge naming that scope; nothing implies anything but
 * tokens:write -> tokens:read. After each refusal nothing changed. */
static void test_endpoint_scopes(void **state)
{
    static const char *const single[] = {"global",        "tokens:read", "tokens:write",
                                         "activity:read", "user:read",   "introspect",
                                         ORDERS_READ};

    (void)state;
    for (size_t s = 0; s < sizeof(single) / sizeof(single[0]); s++) {
        const char *scopes = tsr_h_fmt("[\"%s\"]", single[s]);
        struct tok caller;

        make(session, scopes, &caller);
        assert_string_equal(joined(tsr_h_jarr(caller.data, "scopes")), single[s]);
        for (int e = 0; e < E_COUNT; e++) {
            bool ok = holds(single[s], endpoints[e].needs);
            struct tok target;
            long before = count_tokens();
            struct tsr_h_resp *r;

            print_message("%s with [%s]: want %ld\n", endpoints[e].what, single[s],
                          ok ? endpoints[e].ok : 403L);
            make(session, scopes, &target);
            r = call((enum ep)e, caller.secret, &target, scopes);
            if (ok) {
                tsr_h_assert_status(r, endpoints[e].ok);
                continue;
            }
            assert_insufficient(r, endpoints[e].needs);
            /* The refusal changed nothing. */
            json_t *d = read_back(target.id);
            assert_string_equal(tsr_h_jstr(d, "name"), "authz");
            assert_true(tsr_h_verify(srv, target.secret));
            assert_int_equal(count_tokens(), before + 1);
        }
        /* The caller itself still works: a 403 is no revocation. */
        assert_true(tsr_h_verify(srv, caller.secret));
    }
}

/* A token with two scopes has both; a session holds global everywhere. */
static void test_two_scopes_and_session(void **state)
{
    struct tok both, target;

    (void)state;
    make(session, "[\"user:read\",\"activity:read\"]", &both);
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", both.secret), 200);
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/activity", both.secret), 200);
    assert_insufficient(tsr_h_get(srv, TOKENS, both.secret), "tokens:read");

    for (int e = 0; e < E_COUNT; e++) {
        if (e == E_SELF || e == E_VERIFY || e == E_INTROSPECT) {
            continue; /* a personal token's own: a session gets 404 or 401 there */
        }
        print_message("%s with a session\n", endpoints[e].what);
        make(session, NULL, &target);
        tsr_h_assert_status(call((enum ep)e, session, &target, "[\"global\"]"), endpoints[e].ok);
    }
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/self", session), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
}

/* Revoking itself is a change of tokens too: tokens:write, like any DELETE. */
static void test_delete_self(void **state)
{
    struct tok reader, writer;

    (void)state;
    make(session, "[\"tokens:read\",\"activity:read\"]", &reader);
    make(session, "[\"tokens:write\"]", &writer);
    assert_insufficient(tsr_h_send(srv, "DELETE", TOKENS "/self", reader.secret, NULL),
                        "tokens:write");
    assert_true(tsr_h_verify(srv, reader.secret));
    tsr_h_assert_status(tsr_h_get(srv, TOKENS "/self", reader.secret), 200);
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", TOKENS "/self", writer.secret, NULL), 204);
    assert_false(tsr_h_verify(srv, writer.secret));
}

/* ---- the order of the checks ---- */

static const char *console_cookie(void)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = "/v4/console/session",
                            .body = "{\"email\":\"" TSR_H_ADMIN_EMAIL
                                    "\",\"password\":\"" TSR_H_ADMIN_PASSWORD "\"}"};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);
    const char *set, *end;
    char *cookie;

    tsr_h_assert_status(r, 204);
    set = tsr_h_header(r, "Set-Cookie");
    assert_non_null(set);
    end = strchr(set, ';');
    cookie = tsr_h_strndup(set, end ? (size_t)(end - set) : strlen(set));
    tsr_h_record_secret(strchr(cookie, '=') + 1);
    return tsr_h_fmt("Cookie: %s", cookie);
}

/* The endpoint's scope is checked before content type, body and query: a
 * weak token learns nothing of what it may not call. CSRF comes before the
 * scope for the console's cookie, which holds global. */
static void test_order_of_checks(void **state)
{
    struct tok reader, acts, target;
    long before;
    const char *cookie;
    struct tsr_h_resp *r;

    (void)state;
    make(session, "[\"tokens:read\"]", &reader);
    make(session, "[\"activity:read\"]", &acts);
    make(session, "[\"tokens:read\"]", &target);
    before = count_tokens();

    assert_insufficient(tsr_h_send(srv, "POST", TOKENS, reader.secret, "{not json"),
                        "tokens:write");
    assert_insufficient(tsr_h_send(srv, "POST", TOKENS, reader.secret, "{\"bogus\":1}"),
                        "tokens:write");
    assert_insufficient(tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                                           .path = TOKENS,
                                                           .secret = reader.secret,
                                                           .body = "{\"name\":\"x\"}",
                                                           .ctype = "text/plain"}),
                        "tokens:write");
    assert_insufficient(tsr_h_send(srv, "PATCH", token_path(target.id), reader.secret, "{}"),
                        "tokens:write");
    assert_insufficient(
        tsr_h_send(srv, "PATCH", token_path(target.id), reader.secret, "{\"scopes\":[]}"),
        "tokens:write");
    assert_insufficient(tsr_h_get(srv, TOKENS "?page=0", acts.secret), "tokens:read");
    assert_insufficient(tsr_h_get(srv, TOKENS "?bogus=1", acts.secret), "tokens:read");
    assert_insufficient(tsr_h_get(srv, "/v4/iam/activity?page=0", reader.secret), "activity:read");
    assert_int_equal(count_tokens(), before);
    /* Authentication still comes first. */
    tsr_h_assert_error(tsr_h_send(srv, "POST", TOKENS, NULL, "{not json"), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);

    /* The cookie: without the CSRF header 403 csrf_required, whatever the
     * body; with it, the cookie holds global. */
    cookie = console_cookie();
    r = tsr_h_req(
        srv, &(struct tsr_h_req){
                 .method = "POST", .path = TOKENS, .body = "{not json", .headers = {cookie, NULL}});
    tsr_h_assert_error(r, 403, "csrf_required", TSR_H_SRC_NONE, NULL);
    r = tsr_h_req(
        srv, &(struct tsr_h_req){.method = "POST",
                                 .path = TOKENS,
                                 .body = tsr_h_fmt("{\"name\":\"by cookie\",\"expires_at\":\"%s\"}",
                                                   tsr_h_time(tsr_h_now() + 300 * TSR_H_DAY)),
                                 .headers = {cookie, NULL}});
    tsr_h_assert_error(r, 403, "csrf_required", TSR_H_SRC_NONE, NULL);
    assert_int_equal(count_tokens(), before);
    r = tsr_h_req(
        srv, &(struct tsr_h_req){.method = "POST",
                                 .path = TOKENS,
                                 .body = tsr_h_fmt("{\"name\":\"by cookie\",\"expires_at\":\"%s\"}",
                                                   tsr_h_time(tsr_h_now() + 300 * TSR_H_DAY)),
                                 .headers = {cookie, "X-Tessera-CSRF: 1", NULL}});
    tsr_h_assert_status(r, 201);
    assert_string_equal(joined(tsr_h_jarr(tsr_h_jobj(r->json, "data"), "scopes")), "global");
    r = tsr_h_req(
        srv, &(struct tsr_h_req){.method = "PATCH",
                                 .path = token_path(target.id),
                                 .body = "{\"scopes\":[\"" ORDERS_READ "\",\"activity:read\"]}",
                                 .headers = {cookie, "X-Tessera-CSRF: 1", NULL}});
    tsr_h_assert_status(r, 200);
    assert_string_equal(joined(tsr_h_jarr(tsr_h_jobj(r->json, "data"), "scopes")),
                        "activity:read " ORDERS_READ);
    r = tsr_h_req(srv, &(struct tsr_h_req){.path = "/v4/iam/activity", .headers = {cookie, NULL}});
    tsr_h_assert_status(r, 200);
}

/* ---- no escalation ---- */

/* A tokens:write token cannot make a token stronger or longer-lived than
 * itself; a session can. Each refusal leaves the tokens as they were. */
static void test_escalation_on_create(void **state)
{
    int64_t own_exp = tsr_h_now() + 10 * TSR_H_DAY;
    struct tok writer, made;
    long before;

    (void)state;
    make_exp(session, "[\"tokens:write\"]", own_exp, &writer);
    before = count_tokens();

    /* No scopes is a request for global. */
    tsr_h_assert_error(create_raw(writer.secret, "escalated", own_exp - 60, NULL), 403,
                       "insufficient_scope", TSR_H_SRC_POINTER, "/scopes");
    assert_error_under(
        create_raw(writer.secret, "escalated", own_exp - 60, "\"scopes\":[\"global\"]"), 403,
        "insufficient_scope", "/scopes");
    assert_error_under(create_raw(writer.secret, "escalated", own_exp - 60,
                                  "\"scopes\":[\"tokens:write\",\"activity:read\"]"),
                       403, "insufficient_scope", "/scopes");
    assert_error_under(
        create_raw(writer.secret, "escalated", own_exp - 60, "\"scopes\":[\"" ORDERS_READ "\"]"),
        403, "insufficient_scope", "/scopes");
    /* A later expiry than its own. */
    tsr_h_assert_error(
        create_raw(writer.secret, "escalated", own_exp + 60, "\"scopes\":[\"tokens:write\"]"), 403,
        "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    assert_int_equal(count_tokens(), before);
    struct tsr_h_resp *r = tsr_h_get(srv, TOKENS "?search=escalated", session);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "count"), 0);

    /* What it holds, up to its own expiry, it may give. */
    make_exp(writer.secret, "[\"tokens:write\"]", own_exp, &made);
    assert_string_equal(joined(tsr_h_jarr(made.data, "scopes")), "tokens:write");
    assert_string_equal(tsr_h_jstr(made.data, "expires_at"), tsr_h_time(own_exp));
    assert_true(tsr_h_verify(srv, made.secret));

    /* A session is bound by none of it. */
    make_exp(session, NULL, tsr_h_now() + 300 * TSR_H_DAY, &made);
    assert_string_equal(joined(tsr_h_jarr(made.data, "scopes")), "global");
    make_exp(session, "[\"tokens:write\",\"activity:read\",\"" ORDERS_READ "\"]",
             tsr_h_now() + 300 * TSR_H_DAY, &made);
    assert_string_equal(joined(tsr_h_jarr(made.data, "scopes")),
                        "activity:read " ORDERS_READ " tokens:write");
    /* A global token holds every scope, the operator's too. */
    struct tok global;
    make_exp(session, NULL, tsr_h_now() + 300 * TSR_H_DAY, &global);
    make(global.secret, "[\"activity:read\",\"" ORDERS_WRITE "\"]", &made);
    assert_string_equal(joined(tsr_h_jarr(made.data, "scopes")), "activity:read " ORDERS_WRITE);
}

/* PATCH and DELETE of a token need every scope of that token; a token
 * cannot raise its own scopes or expiry; a session can do all of it. */
static void test_escalation_on_patch(void **state)
{
    int64_t own_exp = tsr_h_now() + 10 * TSR_H_DAY;
    struct tok writer, strong, global, weak, wide;
    json_t *d;

    (void)state;
    make_exp(session, "[\"tokens:write\"]", own_exp, &writer);
    make(session, "[\"tokens:write\",\"activity:read\"]", &strong);
    make(session, NULL, &global);
    make_exp(session, "[\"tokens:write\"]", own_exp - 3600, &weak);

    /* A stronger token: neither changed nor deleted. */
    const struct tok *stronger[] = {&strong, &global};
    for (int i = 0; i < 2; i++) {
        const char *path = token_path(stronger[i]->id);
        const char *scopes = joined(tsr_h_jarr(read_back(stronger[i]->id), "scopes"));

        assert_code(tsr_h_send(srv, "PATCH", path, writer.secret, "{\"name\":\"taken\"}"), 403,
                    "insufficient_scope");
        assert_code(tsr_h_send(srv, "PATCH", path, writer.secret,
                               tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(own_exp - 60))),
                    403, "insufficient_scope");
        assert_code(tsr_h_send(srv, "DELETE", path, writer.secret, NULL), 403,
                    "insufficient_scope");
        d = read_back(stronger[i]->id);
        assert_string_equal(tsr_h_jstr(d, "name"), "authz");
        assert_string_equal(joined(tsr_h_jarr(d, "scopes")), scopes);
        assert_true(tsr_h_verify(srv, stronger[i]->secret));
    }
    {
        struct tsr_h_resp *r =
            tsr_h_send(srv, "DELETE", token_path(strong.id), writer.secret, NULL);
        tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    }

    /* A weaker token: not given a scope the writer lacks, nor a later expiry
     * than the writer's; a new name is fine. */
    const char *path = token_path(weak.id);
    assert_error_under(tsr_h_send(srv, "PATCH", path, writer.secret,
                                  "{\"scopes\":[\"tokens:write\",\"activity:read\"]}"),
                       403, "insufficient_scope", "/scopes");
    assert_error_under(tsr_h_send(srv, "PATCH", path, writer.secret, "{\"scopes\":[\"global\"]}"),
                       403, "insufficient_scope", "/scopes");
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", path, writer.secret,
                                  tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(own_exp + 3600))),
                       403, "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    d = read_back(weak.id);
    assert_string_equal(joined(tsr_h_jarr(d, "scopes")), "tokens:write");
    assert_string_equal(tsr_h_jstr(d, "expires_at"), tsr_h_time(own_exp - 3600));
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", path, writer.secret, "{\"name\":\"renamed\"}"),
                        200);
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", path, writer.secret,
                                   tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(own_exp))),
                        200);

    /* Itself: no more scopes, no longer life. */
    path = token_path(writer.id);
    assert_error_under(tsr_h_send(srv, "PATCH", path, writer.secret,
                                  "{\"scopes\":[\"tokens:write\",\"user:read\"]}"),
                       403, "insufficient_scope", "/scopes");
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", path, writer.secret,
                                  tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(own_exp + 3600))),
                       403, "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    d = read_back(writer.id);
    assert_string_equal(joined(tsr_h_jarr(d, "scopes")), "tokens:write");
    assert_string_equal(tsr_h_jstr(d, "expires_at"), tsr_h_time(own_exp));

    /* Lowering is no escalation: a token with two scopes may drop one of
     * another's. */
    make(session, "[\"tokens:write\",\"activity:read\"]", &wide);
    {
        struct tsr_h_resp *r = tsr_h_send(srv, "PATCH", token_path(strong.id), wide.secret,
                                          "{\"scopes\":[\"activity:read\"]}");
        tsr_h_assert_status(r, 200);
        assert_string_equal(joined(tsr_h_jarr(tsr_h_jobj(r->json, "data"), "scopes")),
                            "activity:read");
    }

    /* A session: anything. */
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", token_path(writer.id), session,
                                   tsr_h_fmt("{\"scopes\":[\"global\"],\"expires_at\":\"%s\"}",
                                             tsr_h_time(tsr_h_now() + 300 * TSR_H_DAY))),
                        200);
    d = read_back(writer.id);
    assert_string_equal(joined(tsr_h_jarr(d, "scopes")), "global");
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(global.id), session, NULL), 204);
    assert_false(tsr_h_verify(srv, global.secret));
}

/* ---- what a scopes member may be ---- */

/* 51 distinct known names: five built-ins (not global) and the bulk ones. */
static const char *many_scopes(int n)
{
    static const char *const own[] = {"activity:read", "introspect", "tokens:read", "tokens:write",
                                      "user:read"};
    char *out = tsr_h_fmt("%s", "[");

    for (int i = 0; i < n; i++) {
        const char *name = i < 5 ? own[i] : tsr_h_fmt("bulk.%02d", i - 5);
        out = tsr_h_fmt("%s%s\"%s\"", out, i ? "," : "", name);
    }
    return tsr_h_fmt("%s]", out);
}

static void test_validation(void **state)
{
    static const struct {
        const char *scopes;
        const char *pointer;
    } bad[] = {
        {"[\"orders:nope\"]", "/scopes/0"},
        {"[\"tokens:read\",\"orders:nope\"]", "/scopes/1"},
        {"[\"tokens:read\",\"tokens:read\"]", "/scopes/1"},
        {"[\"" ORDERS_READ "\",\"activity:read\",\"" ORDERS_READ "\"]", "/scopes/2"},
        {"[\"\"]", "/scopes/0"},
        {"[\"tokens:read\",\"\"]", "/scopes/1"},
        {"[\"Orders\"]", "/scopes/0"},
        {"[\"_x\"]", "/scopes/0"},
        {"[\"-x\"]", "/scopes/0"},
        {"[\"orders read\"]", "/scopes/0"},
        {"[\"Tokens:read\"]", "/scopes/0"},
        {"[\" tokens:read\"]", "/scopes/0"},
        {"[\"tokens:read/\"]", "/scopes/0"},
        {"[\"admin\"]", "/scopes/0"},
        {"[5]", "/scopes/0"},
        {"[null]", "/scopes/0"},
        {"[[\"tokens:read\"]]", "/scopes/0"},
        {"[\"" LONG65 "\"]", "/scopes/0"},
        {"[]", "/scopes"},
        {"null", "/scopes"},
        {"\"tokens:read\"", "/scopes"},
        {"{}", "/scopes"},
    };
    struct tok t;
    long before;
    struct tsr_h_resp *r;

    (void)state;
    make(session, "[\"tokens:read\"]", &t);
    before = count_tokens();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("scopes %s\n", bad[i].scopes);
        tsr_h_assert_error(create_raw(session, "invalid", tsr_h_now() + TSR_H_DAY,
                                      tsr_h_fmt("\"scopes\":%s", bad[i].scopes)),
                           400, "invalid_field", TSR_H_SRC_POINTER, bad[i].pointer);
        tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(t.id), session,
                                      tsr_h_fmt("{\"scopes\":%s}", bad[i].scopes)),
                           400, "invalid_field", TSR_H_SRC_POINTER, bad[i].pointer);
    }
    /* 51 distinct known names are too many; 50 are fine. */
    tsr_h_assert_error(create_raw(session, "invalid", tsr_h_now() + TSR_H_DAY,
                                  tsr_h_fmt("\"scopes\":%s", many_scopes(51))),
                       400, "invalid_field", TSR_H_SRC_POINTER, "/scopes");
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(t.id), session,
                                  tsr_h_fmt("{\"scopes\":%s}", many_scopes(51))),
                       400, "invalid_field", TSR_H_SRC_POINTER, "/scopes");
    assert_int_equal(count_tokens(), before);
    assert_string_equal(joined(tsr_h_jarr(read_back(t.id), "scopes")), "tokens:read");

    struct tok fifty;
    make(session, many_scopes(50), &fifty);
    assert_int_equal(json_array_size(tsr_h_jarr(fifty.data, "scopes")), 50);
    r = verify_q(fifty.secret, "?scope=bulk.44&scope=activity:read&scope=tokens:write");
    tsr_h_assert_status(r, 204);
    assert_non_null(strstr(hdr(r, "X-Tessera-Scopes"), "bulk.44 introspect"));

    /* Answers list them sorted, whatever the order given; the default is
     * global. */
    struct tok sorted;
    make(session, "[\"user:read\",\"" ORDERS_READ "\",\"activity:read\"]", &sorted);
    assert_string_equal(dump(tsr_h_jarr(sorted.data, "scopes")),
                        "[\"activity:read\",\"" ORDERS_READ "\",\"user:read\"]");
    assert_string_equal(dump(tsr_h_jarr(read_back(sorted.id), "scopes")),
                        "[\"activity:read\",\"" ORDERS_READ "\",\"user:read\"]");
    r = tsr_h_send(srv, "PATCH", token_path(t.id), session,
                   "{\"scopes\":[\"tokens:write\",\"introspect\",\"activity:read\"]}");
    tsr_h_assert_status(r, 200);
    assert_string_equal(dump(tsr_h_jarr(tsr_h_jobj(r->json, "data"), "scopes")),
                        "[\"activity:read\",\"introspect\",\"tokens:write\"]");
    r = tsr_h_get(srv, TOKENS "?search=authz&page_size=100", session);
    tsr_h_assert_status(r, 200);
    {
        json_t *item;
        size_t i;
        bool seen = false;

        json_array_foreach(tsr_h_jarr(r->json, "results"), i, item)
        {
            assert_token_members(item);
            if (strcmp(tsr_h_jstr(item, "id"), sorted.id) == 0) {
                assert_string_equal(joined(tsr_h_jarr(item, "scopes")),
                                    "activity:read " ORDERS_READ " user:read");
                seen = true;
            }
        }
        assert_true(seen);
    }
    struct tok dflt;
    make(session, NULL, &dflt);
    assert_string_equal(dump(tsr_h_jarr(dflt.data, "scopes")), "[\"global\"]");
    assert_string_equal(dump(tsr_h_jarr(dflt.data, "allowed_ips")), "[]");
    assert_true(json_is_null(json_object_get(dflt.data, "not_before")));
    assert_true(json_is_null(json_object_get(dflt.data, "last_used_ip")));
}

/* ---- verify with scopes ---- */

static void assert_verified(const struct tsr_h_resp *r, const struct tok *t, const char *scopes)
{
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Scopes"), scopes);
    assert_string_equal(hdr(r, "X-Tessera-Token-Id"), t->id);
    assert_non_null(tsr_h_header(r, "X-Tessera-User-Id"));
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_jstr(t->data, "expires_at"));
}

static void assert_verify_refused(const struct tsr_h_resp *r)
{
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    /* The challenge names the scope, as every endpoint's does. */
    const char *want = "Bearer error=\"insufficient_scope\", scope=\"";
    const char *got = hdr(r, "WWW-Authenticate");
    if (strncmp(got, want, strlen(want)) != 0) {
        fail_msg("verify's 403 challenge is '%s'", got);
    }
}

static void test_verify_scopes(void **state)
{
    struct tok reader, writer, global;
    char fake[TSR_H_SECRET_LEN + 1];
    const char *eleven = "";

    (void)state;
    make(session, "[\"tokens:read\",\"" ORDERS_READ "\"]", &reader);
    make(session, "[\"tokens:write\"]", &writer);
    make(session, NULL, &global);

    /* Without scope parameters: good is good, the scopes said. */
    assert_verified(verify_q(reader.secret, NULL), &reader, ORDERS_READ " tokens:read");
    assert_verified(verify_q(global.secret, NULL), &global, "global");
    /* One, and two, held. */
    assert_verified(verify_q(reader.secret, "?scope=" ORDERS_READ), &reader,
                    ORDERS_READ " tokens:read");
    assert_verified(verify_q(reader.secret, "?scope=orders%3Aread"), &reader,
                    ORDERS_READ " tokens:read");
    assert_verified(verify_q(reader.secret, "?scope=tokens:read&scope=" ORDERS_READ), &reader,
                    ORDERS_READ " tokens:read");
    /* One of one, or one of two, lacking. */
    assert_verify_refused(verify_q(reader.secret, "?scope=" ORDERS_WRITE));
    assert_verify_refused(verify_q(reader.secret, "?scope=" ORDERS_READ "&scope=" ORDERS_WRITE));
    assert_verify_refused(verify_q(reader.secret, "?scope=" ORDERS_WRITE "&scope=" ORDERS_READ));
    assert_verify_refused(verify_q(reader.secret, "?scope=tokens:write"));
    assert_verify_refused(verify_q(reader.secret, "?scope=global"));
    /* tokens:write implies tokens:read, and nothing else. */
    assert_verified(verify_q(writer.secret, "?scope=tokens:read"), &writer, "tokens:write");
    assert_verify_refused(verify_q(writer.secret, "?scope=activity:read"));
    /* global holds every scope there is, the operator's too... */
    assert_verified(verify_q(global.secret, "?scope=" ORDERS_READ "&scope=introspect"), &global,
                    "global");
    assert_verified(verify_q(global.secret, "?scope=global"), &global, "global");
    /* ...but not a well-formed name that is no scope, nor admin: the server
     * warns about the name (a typo in a gateway's configuration). */
    assert_verify_refused(verify_q(global.secret, "?scope=orders:raed"));
    assert_verify_refused(verify_q(global.secret, "?scope=" ORDERS_READ "&scope=orders:raed"));
    assert_verify_refused(verify_q(global.secret, "?scope=admin"));
    assert_non_null(strstr(tsr_h_server_stderr(srv), "orders:raed"));

    /* Malformed names, and more than ten, are 400 for the parameter. */
    static const char *const malformed[] = {"?scope=",
                                            "?scope=Orders",
                                            "?scope=_x",
                                            "?scope=orders%20read",
                                            "?scope=tokens:read&scope=BAD",
                                            "?scope=" LONG65};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        print_message("%s\n", malformed[i]);
        tsr_h_assert_error(verify_q(global.secret, malformed[i]), 400, "invalid_parameter",
                           TSR_H_SRC_PARAMETER, "scope");
    }
    const char *ten = "?scope=tokens:read";
    for (int i = 1; i < 10; i++) {
        ten = tsr_h_fmt("%s&scope=%s", ten, i % 2 ? ORDERS_READ : "tokens:read");
    }
    assert_verified(verify_q(reader.secret, ten), &reader, ORDERS_READ " tokens:read");
    eleven = tsr_h_fmt("%s&scope=tokens:read", ten);
    tsr_h_assert_error(verify_q(reader.secret, eleven), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "scope");

    /* Authentication comes before the query: an unknown secret, or a
     * session, is 401 whatever the scopes asked. */
    tsr_h_make_secret("tsr_", 4242, fake);
    tsr_h_assert_error(verify_q(fake, "?scope=" ORDERS_READ), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(verify_q(fake, "?scope=Orders"), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(verify_q(NULL, "?scope=" ORDERS_READ), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(verify_q(session, "?scope=tokens:read"), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(verify_q(session, NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
}

/* Introspection's active answer gives the scopes as stored. */
static void test_introspection_scope(void **state)
{
    struct tok caller, reader, global;
    struct tsr_h_resp *r;

    (void)state;
    make(session, "[\"introspect\"]", &caller);
    make(session, "[\"tokens:read\",\"" ORDERS_READ "\"]", &reader);
    make(session, NULL, &global);
    r = introspect_as(caller.secret, reader.secret);
    tsr_h_assert_status(r, 200);
    assert_true(json_is_true(json_object_get(r->json, "active")));
    assert_string_equal(tsr_h_jstr(r->json, "scope"), ORDERS_READ " tokens:read");
    r = introspect_as(caller.secret, global.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "scope"), "global");
    r = introspect_as(caller.secret, session);
    tsr_h_assert_status(r, 200);
    assert_true(json_is_true(json_object_get(r->json, "active")));
    assert_string_equal(tsr_h_jstr(r->json, "scope"), "global");
    /* An inactive answer says nothing more. */
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(reader.id), session, NULL), 204);
    r = introspect_as(caller.secret, reader.secret);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "active");
}

/* A PATCH of scopes is what the very next request on this node sees. */
static void test_patch_takes_effect(void **state)
{
    struct tok t;
    struct tsr_h_resp *r;

    (void)state;
    make(session, "[\"" ORDERS_READ "\"]", &t);
    assert_verified(verify_q(t.secret, "?scope=" ORDERS_READ), &t, ORDERS_READ);
    assert_verify_refused(verify_q(t.secret, "?scope=" ORDERS_WRITE));
    assert_insufficient(tsr_h_get(srv, TOKENS, t.secret), "tokens:read");

    r = tsr_h_send(srv, "PATCH", token_path(t.id), session,
                   "{\"scopes\":[\"" ORDERS_WRITE "\",\"tokens:read\"]}");
    tsr_h_assert_status(r, 200);
    assert_verified(verify_q(t.secret, "?scope=" ORDERS_WRITE), &t, ORDERS_WRITE " tokens:read");
    assert_verify_refused(verify_q(t.secret, "?scope=" ORDERS_READ));
    tsr_h_assert_status(tsr_h_get(srv, TOKENS, t.secret), 200);

    r = tsr_h_send(srv, "PATCH", token_path(t.id), session, "{\"scopes\":[\"activity:read\"]}");
    tsr_h_assert_status(r, 200);
    assert_verify_refused(verify_q(t.secret, "?scope=" ORDERS_WRITE));
    assert_insufficient(tsr_h_get(srv, TOKENS, t.secret), "tokens:read");
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/activity", t.secret), 200);

    /* And after a restart, read from the store. */
    tsr_h_restart(srv);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    assert_verified(verify_q(t.secret, "?scope=activity:read"), &t, "activity:read");
    assert_verify_refused(verify_q(t.secret, "?scope=" ORDERS_WRITE));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes_list),
        cmocka_unit_test(test_endpoint_scopes),
        cmocka_unit_test(test_two_scopes_and_session),
        cmocka_unit_test(test_delete_self),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_escalation_on_create),
        cmocka_unit_test(test_escalation_on_patch),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_verify_scopes),
        cmocka_unit_test(test_introspection_scope),
        cmocka_unit_test(test_patch_takes_effect),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
