/* test_api_auth.c - end to end: log in and out, Authorization forms, verify, self, healthz */
#include "harness.h"

#include <string.h>

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1]; /* admin's session, from setup */
static char admin_id[TSR_H_UUID_LEN + 1];

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", session);
    tsr_h_assert_status(r, 200);
    snprintf(admin_id, sizeof(admin_id), "%s", tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"));
    return 0;
}

static void assert_no_store(const struct tsr_h_resp *r)
{
    const char *cc = tsr_h_header(r, "Cache-Control");
    assert_non_null(cc);
    assert_non_null(strstr(cc, "no-store"));
}

static void assert_json_type(const struct tsr_h_resp *r)
{
    const char *ct = tsr_h_header(r, "Content-Type");
    assert_non_null(ct);
    assert_int_equal(strncmp(ct, "application/json", 16), 0);
}

/* 401 unauthorized with the challenge of scheme ("Basic" or "Token"). */
static void assert_401(const struct tsr_h_resp *r, const char *scheme)
{
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    const char *wa = tsr_h_header(r, "WWW-Authenticate");
    assert_string_equal(wa ? wa : "(absent)", tsr_h_fmt("%s realm=\"tessera\"", scheme));
    assert_null(strstr(r->body, "tss_"));
    assert_null(strstr(r->body, "tsr_"));
}

static struct tsr_h_resp *login_with(const char *auth)
{
    struct tsr_h_req req = {.method = "POST", .path = "/v4/tokens", .auth = auth};
    return tsr_h_req(srv, &req);
}

static struct tsr_h_resp *get_with(const char *path, const char *auth)
{
    struct tsr_h_req req = {.path = path, .auth = auth};
    return tsr_h_req(srv, &req);
}

static void test_healthz(void **state)
{
    (void)state;
    struct tsr_h_resp *r = tsr_h_get(srv, "/healthz", NULL);
    tsr_h_assert_status(r, 200);
    assert_json_type(r);
    tsr_h_assert_keys(r->json, "status");
    assert_string_equal(tsr_h_jstr(r->json, "status"), "ok");

    struct tsr_h_req head = {.method = "HEAD", .path = "/healthz"};
    r = tsr_h_req(srv, &head);
    tsr_h_assert_status(r, 200);
    assert_int_equal(r->body_len, 0);
}

static void test_login_success(void **state)
{
    (void)state;
    int64_t before = tsr_h_now();
    struct tsr_h_resp *r = login_with(tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD));
    int64_t after = tsr_h_now();
    tsr_h_assert_status(r, 201);
    assert_no_store(r);
    assert_json_type(r);
    tsr_h_assert_keys(r->json, "token", "created_at", "expires_at");
    const char *tok = tsr_h_jstr(r->json, "token");
    assert_true(tsr_h_secret_ok(tok, "tss_"));
    int64_t created = tsr_h_parse_time(tsr_h_jstr(r->json, "created_at"));
    int64_t expires = tsr_h_parse_time(tsr_h_jstr(r->json, "expires_at"));
    tsr_h_assert_between(created, before - 1, after + 1);
    tsr_h_assert_between(expires, before + 24 * 3600 - 5, after + 24 * 3600 + 5);

    /* The new session works, and is a different secret from setup's. */
    assert_string_not_equal(tok, session);
    r = tsr_h_get(srv, "/v4/iam/users/me", tok);
    tsr_h_assert_status(r, 200);
}

static void test_users_me(void **state)
{
    (void)state;
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", session);
    tsr_h_assert_status(r, 200);
    assert_no_store(r);
    assert_json_type(r);
    tsr_h_assert_keys(r->json, "data");
    json_t *d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_keys(d, "id", "email", "created");
    assert_true(tsr_h_uuid_ok(tsr_h_jstr(d, "id")));
    assert_string_equal(tsr_h_jstr(d, "email"), TSR_H_ADMIN_EMAIL);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(d, "created")), tsr_h_now() - 3600,
                         tsr_h_now() + 1);

    /* A personal token sees the same account. */
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "me", NULL, &t);
    r = tsr_h_get(srv, "/v4/iam/users/me", t.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), admin_id);
}

static void test_login_email_any_case(void **state)
{
    (void)state;
    char tok[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "Admin@LOCALHOST", TSR_H_ADMIN_PASSWORD, tok);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", tok);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), admin_id);
}

/* Eight failed logins: under the contract's rate limit of 10. */
static void test_login_refused(void **state)
{
    (void)state;
    assert_401(login_with(tsr_h_basic(TSR_H_ADMIN_EMAIL, "wrong-password")), "Basic");
    assert_401(login_with(tsr_h_basic("nobody@example.com", TSR_H_ADMIN_PASSWORD)), "Basic");
    assert_401(login_with(tsr_h_basic(TSR_H_ADMIN_EMAIL, "")), "Basic");
    /* Malformed Basic: not base64, no colon, nothing at all. */
    assert_401(login_with("Basic !!!not-base64!!!"), "Basic");
    assert_401(login_with("Basic YWRtaW5AbG9jYWxob3N0"), "Basic"); /* "admin@localhost" */
    assert_401(login_with("Basic"), "Basic");
    /* No Authorization header, or a token instead of a password. */
    assert_401(login_with(NULL), "Basic");
    assert_401(login_with(tsr_h_fmt("Token %s", session)), "Basic");
}

static void test_malformed_authorization(void **state)
{
    (void)state;
    char made_up[TSR_H_SECRET_LEN + 1];
    tsr_h_make_secret("tss_", 7, made_up);
    tsr_h_record_secret(made_up);
    char bad_sum[TSR_H_SECRET_LEN + 1];
    memcpy(bad_sum, session, sizeof(bad_sum));
    bad_sum[TSR_H_SECRET_LEN - 1] = bad_sum[TSR_H_SECRET_LEN - 1] == 'a' ? 'b' : 'a';
    char bad_random[TSR_H_SECRET_LEN + 1];
    memcpy(bad_random, session, sizeof(bad_random));
    bad_random[10] = bad_random[10] == 'Z' ? 'Y' : 'Z';
    /* Near-copies of a real secret must not reach a log either. */
    tsr_h_record_secret(bad_sum);
    tsr_h_record_secret(bad_random);
    const char *cases[] = {
        NULL,                                                 /* no header */
        session,                                              /* no scheme */
        "Token",                                              /* no secret */
        tsr_h_fmt("Token %s", bad_sum),                       /* bad checksum */
        tsr_h_fmt("Token %s", bad_random),                    /* random part changed */
        tsr_h_fmt("Token %.39s", session),                    /* 39 characters */
        tsr_h_fmt("Token %sa", session),                      /* 41 characters */
        tsr_h_fmt("Token tsx_%s", session + 4),               /* wrong prefix */
        tsr_h_fmt("Token TSS_%s", session + 4),               /* prefix in capitals */
        tsr_h_fmt("Token %s extra", session),                 /* trailing junk */
        tsr_h_fmt("Token %s", made_up),                       /* well-formed, unknown */
        tsr_h_fmt("Digest %s", session),                      /* another scheme */
        tsr_h_fmt("Tokens %s", session),                      /* not quite the scheme */
        tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD), /* Basic is only for login */
        "Token garbage",
        "Bearer ",
        "!@#$%^&*()",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("Authorization: %s\n", cases[i] ? cases[i] : "(none)");
        assert_401(get_with("/v4/iam/users/me", cases[i]), "Token");
        assert_401(get_with("/v4/iam/personal_tokens", cases[i]), "Token");
        assert_401(get_with("/v4/auth/verify", cases[i]), "Token");
    }
    /* And the real one still works. */
    tsr_h_assert_status(get_with("/v4/iam/users/me", tsr_h_fmt("Token %s", session)), 200);
}

static void test_schemes_any_case(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "schemes", NULL, &t);
    const char *schemes[] = {"Token",  "token",  "TOKEN",  "tOkEn",
                             "Bearer", "bearer", "BEARER", "bEaReR"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        print_message("scheme %s\n", schemes[i]);
        struct tsr_h_resp *r =
            get_with("/v4/iam/users/me", tsr_h_fmt("%s %s", schemes[i], session));
        tsr_h_assert_status(r, 200);
        r = get_with("/v4/iam/personal_tokens", tsr_h_fmt("%s %s", schemes[i], t.secret));
        tsr_h_assert_status(r, 200);
        r = get_with("/v4/auth/verify", tsr_h_fmt("%s %s", schemes[i], t.secret));
        tsr_h_assert_status(r, 204);
    }
}

static void test_logout(void **state)
{
    (void)state;
    char tok[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, tok);
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", tok), 200);

    struct tsr_h_resp *r = tsr_h_send(srv, "DELETE", "/v4/tokens/self", tok, NULL);
    tsr_h_assert_status(r, 204);
    assert_int_equal(r->body_len, 0);
    /* Refused on the very next request, everywhere. */
    assert_401(tsr_h_get(srv, "/v4/iam/users/me", tok), "Token");
    assert_401(tsr_h_send(srv, "DELETE", "/v4/tokens/self", tok, NULL), "Token");
    assert_401(tsr_h_get(srv, "/v4/iam/personal_tokens", tok), "Token");
    /* Other sessions are untouched. */
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", session), 200);

    /* Logging out with a personal token is 404, and the token still works. */
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "not a session", NULL, &t);
    tsr_h_assert_error(tsr_h_send(srv, "DELETE", "/v4/tokens/self", t.secret, NULL), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
    assert_true(tsr_h_verify(srv, t.secret));
    /* Without any credentials: 401. */
    assert_401(tsr_h_send(srv, "DELETE", "/v4/tokens/self", NULL, NULL), "Token");
}

static void test_verify(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "gateway", NULL, &t);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/auth/verify", t.secret);
    tsr_h_assert_status(r, 204);
    assert_int_equal(r->body_len, 0);
    const char *uid = tsr_h_header(r, "X-Tessera-User-Id");
    const char *tid = tsr_h_header(r, "X-Tessera-Token-Id");
    const char *exp = tsr_h_header(r, "X-Tessera-Expires-At");
    assert_string_equal(uid ? uid : "(absent)", admin_id);
    assert_string_equal(tid ? tid : "(absent)", t.id);
    assert_string_equal(exp ? exp : "(absent)", tsr_h_jstr(t.data, "expires_at"));

    r = get_with("/v4/auth/verify", tsr_h_fmt("Bearer %s", t.secret));
    tsr_h_assert_status(r, 204);
    struct tsr_h_req head = {.method = "HEAD", .path = "/v4/auth/verify", .secret = t.secret};
    r = tsr_h_req(srv, &head);
    tsr_h_assert_status(r, 204);
    tid = tsr_h_header(r, "X-Tessera-Token-Id");
    assert_string_equal(tid ? tid : "(absent)", t.id);

    /* Session tokens are not accepted here. */
    r = tsr_h_get(srv, "/v4/auth/verify", session);
    assert_401(r, "Token");
    assert_null(tsr_h_header(r, "X-Tessera-User-Id"));
    assert_401(tsr_h_get(srv, "/v4/auth/verify", NULL), "Token");
}

static void test_personal_self(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "self", NULL, &t);

    /* A session token has no "self" personal token. */
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/personal_tokens/self", session), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "DELETE", "/v4/iam/personal_tokens/self", session, NULL),
                       404, "not_found", TSR_H_SRC_NONE, NULL);

    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/personal_tokens/self", t.secret);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "data");
    json_t *d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, false);
    assert_string_equal(tsr_h_jstr(d, "id"), t.id);
    assert_string_equal(tsr_h_jstr(d, "name"), "self");
    assert_string_equal(tsr_h_jstr(d, "key_hint"), tsr_h_jstr(t.data, "key_hint"));

    r = tsr_h_send(srv, "DELETE", "/v4/iam/personal_tokens/self", t.secret, NULL);
    tsr_h_assert_status(r, 204);
    assert_int_equal(r->body_len, 0);
    assert_false(tsr_h_verify(srv, t.secret));
    assert_401(tsr_h_get(srv, "/v4/iam/personal_tokens/self", t.secret), "Token");
    tsr_h_assert_error(tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
    /* The session that created it is untouched. */
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", session), 200);
}

static void test_personal_token_manages_tokens(void **state)
{
    (void)state;
    struct tsr_h_token t, u;
    tsr_h_create_token(srv, session, "manager", NULL, &t);
    /* A personal token may create, read and delete its user's tokens, none
     * outliving it: a day sooner, so that a second passing between the two
     * creates cannot put the new one past it. */
    tsr_h_create_token(srv, t.secret, "made by a token", tsr_h_time(tsr_h_now() + 29 * TSR_H_DAY),
                       &u);
    struct tsr_h_resp *r = tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", u.id), t.secret);
    tsr_h_assert_status(r, 200);
    r = tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", u.id), t.secret, NULL);
    tsr_h_assert_status(r, 204);
    assert_false(tsr_h_verify(srv, u.secret));
    assert_true(tsr_h_verify(srv, t.secret));
}

/* Asserts r came over a connection that was already open and stays open. */
static void assert_kept_alive(const struct tsr_h_resp *r)
{
    assert_int_equal(r->connects, 0);
    const char *conn = tsr_h_header(r, "Connection");
    if (conn != NULL) {
        assert_string_not_equal(conn, "close");
    }
}

static void test_keep_alive(void **state)
{
    (void)state;
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "keep-alive", NULL, &t);
    struct tsr_h_resp *r[] = {
        tsr_h_get(srv, "/healthz", NULL),
        tsr_h_get(srv, "/v4/iam/users/me", session),
        tsr_h_get(srv, "/v4/auth/verify", t.secret),
        tsr_h_get(srv, "/v4/iam/personal_tokens", session),
        tsr_h_send(srv, "PATCH", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session,
                   "{\"name\":\"kept\"}"),
        tsr_h_get(srv, "/v4/auth/verify", NULL),
        tsr_h_get(srv, "/v4/nope", session),
        tsr_h_send(srv, "PUT", "/v4/iam/users/me", session, NULL),
        tsr_h_send(srv, "POST", "/v4/iam/personal_tokens", session, "{}"),
        tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session, NULL),
        tsr_h_get(srv, "/healthz", NULL),
    };
    const long want[] = {200, 200, 204, 200, 200, 401, 404, 405, 400, 204, 200};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        print_message("request %zu\n", i);
        tsr_h_assert_status(r[i], want[i]);
        assert_kept_alive(r[i]);
    }
}

/* After --login-max-failures failures an address is refused with 429 and
 * Retry-After, even with the right password, while verify goes on. */
static void test_login_rate_limit(void **state)
{
    static const char *const args[] = {"--login-max-failures", "3", "--login-window", "60", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *limited = tsr_h_start(&o);
    struct tsr_h_req req = {.method = "POST", .path = "/v4/tokens"};
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct tsr_h_resp *r;

    (void)state;
    tsr_h_login(limited, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    tsr_h_create_token(limited, s, "still verifies", NULL, &t);
    req.auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, "wrong-password");
    for (int i = 0; i < 3; i++)
        tsr_h_assert_status(tsr_h_req(limited, &req), 401);
    r = tsr_h_req(limited, &req);
    tsr_h_assert_error(r, 429, "rate_limited", TSR_H_SRC_NONE, NULL);
    assert_non_null(tsr_h_header(r, "Retry-After"));
    tsr_h_assert_between(strtol(tsr_h_header(r, "Retry-After"), NULL, 10), 1, 60);
    req.auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    tsr_h_assert_error(tsr_h_req(limited, &req), 429, "rate_limited", TSR_H_SRC_NONE, NULL);
    /* The console's login shares the limit; verify is never limited. */
    struct tsr_h_req console = {.method = "POST",
                                .path = "/v4/console/session",
                                .body = "{\"email\":\"admin@localhost\",\"password\":\"x\"}"};
    tsr_h_assert_error(tsr_h_req(limited, &console), 429, "rate_limited", TSR_H_SRC_NONE, NULL);
    for (int i = 0; i < 20; i++)
        assert_true(tsr_h_verify(limited, t.secret));
    tsr_h_stop(limited);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_login_success),
        cmocka_unit_test(test_users_me),
        cmocka_unit_test(test_login_email_any_case),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_malformed_authorization),
        cmocka_unit_test(test_schemes_any_case),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_personal_self),
        cmocka_unit_test(test_personal_token_manages_tokens),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_login_rate_limit),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
