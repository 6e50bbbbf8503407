/* test_api_introspect.c - end to end: POST /v4/auth/introspect (RFC 7662) */
#include "harness.h"

#include <string.h>

#define PATH       "/v4/auth/introspect"
#define FORM       "application/x-www-form-urlencoded"
#define BODY_LIMIT 65536

#define LEAVER          "leaver@example.com"
#define LEAVER_PASSWORD "leaver-password"

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1]; /* admin's session, from setup */
static char admin_id[TSR_H_UUID_LEN + 1];
static struct tsr_h_token caller; /* the personal token that introspects */

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", session);
    tsr_h_assert_status(r, 200);
    snprintf(admin_id, sizeof(admin_id), "%s", tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"));
    tsr_h_create_token(srv, session, "introspector", NULL, &caller);
    tsr_h_add_user(srv, LEAVER, LEAVER_PASSWORD);
    return 0;
}

/* POST PATH with "Authorization: auth" (NULL: none), body (NULL: none) sent as
 * ctype (NULL: the form type). */
static struct tsr_h_resp *introspect_as(const char *auth, const char *body, const char *ctype)
{
    struct tsr_h_req req = {
        .method = "POST", .path = PATH, .auth = auth, .body = body, .ctype = ctype ? ctype : FORM};
    return tsr_h_req(srv, &req);
}

static const char *bearer(const char *secret)
{
    return tsr_h_fmt("Bearer %s", secret);
}

/* The caller's own client_secret_basic. */
static const char *basic(void)
{
    return tsr_h_basic(caller.id, caller.secret);
}

/* s form-encoded as RFC 6749 has a client encode its id and secret for
 * Basic: every character but letters and digits as %HH, or (all) every one. */
static const char *form_encode(const char *s, bool all)
{
    char *out = tsr_h_fmt("%*s", (int)strlen(s) * 3, "");
    size_t n = 0;

    for (; *s; s++) {
        bool plain =
            (*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z');
        if (plain && !all)
            out[n++] = *s;
        else
            n += (size_t)snprintf(out + n, 4, "%%%02X", (unsigned char)*s);
    }
    out[n] = '\0';
    return out;
}

static struct tsr_h_resp *introspect(const char *token)
{
    return introspect_as(bearer(caller.secret), tsr_h_fmt("token=%s", token), NULL);
}

static void assert_no_store(const struct tsr_h_resp *r)
{
    const char *cc = tsr_h_header(r, "Cache-Control");
    assert_string_equal(cc ? cc : "(absent)", "no-store");
}

/* 200 {"active":false} and nothing else. */
static void assert_inactive(const struct tsr_h_resp *r)
{
    tsr_h_assert_status(r, 200);
    assert_no_store(r);
    assert_non_null(r->json);
    tsr_h_assert_keys(r->json, "active");
    assert_true(json_is_false(json_object_get(r->json, "active")));
}

/* 200 with exactly RFC 7662's members that Tessera gives, for token t of
 * admin's (a personal token). */
static void assert_active_personal(const struct tsr_h_resp *r, const struct tsr_h_token *t)
{
    tsr_h_assert_status(r, 200);
    assert_no_store(r);
    tsr_h_assert_keys(r->json, "active", "sub", "username", "exp", "iat", "token_type", "jti",
                      "scope");
    assert_true(json_is_true(json_object_get(r->json, "active")));
    assert_string_equal(tsr_h_jstr(r->json, "scope"), "global");
    assert_string_equal(tsr_h_jstr(r->json, "sub"), admin_id);
    assert_string_equal(tsr_h_jstr(r->json, "username"), TSR_H_ADMIN_EMAIL);
    assert_int_equal(tsr_h_jint(r->json, "exp"),
                     tsr_h_parse_time(tsr_h_jstr(t->data, "expires_at")));
    assert_int_equal(tsr_h_jint(r->json, "iat"), tsr_h_parse_time(tsr_h_jstr(t->data, "created")));
    assert_string_equal(tsr_h_jstr(r->json, "token_type"), "personal");
    assert_string_equal(tsr_h_jstr(r->json, "jti"), t->id);
}

/* 401 with both challenges and the contract's error body. */
static void assert_refused(const struct tsr_h_resp *r)
{
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_header_count(r, "WWW-Authenticate"), 2);
    assert_non_null(strstr(r->headers, "WWW-Authenticate: Bearer realm=\"tessera\"\r\n"));
    assert_non_null(strstr(r->headers, "WWW-Authenticate: Basic realm=\"tessera\"\r\n"));
    assert_no_store(r);
}

static void test_bearer_active(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "introspected", tsr_h_time(tsr_h_now() + 3 * TSR_H_DAY), &t);
    struct tsr_h_resp *r = introspect(t.secret);
    assert_active_personal(r, &t);
    const char *ct = tsr_h_header(r, "Content-Type");
    assert_string_equal(ct ? ct : "(absent)", "application/json");

    /* Azion's "Token" scheme is taken as Bearer is, any case. */
    r = introspect_as(tsr_h_fmt("token %s", caller.secret), tsr_h_fmt("token=%s", t.secret), NULL);
    assert_active_personal(r, &t);
    /* The caller may introspect its own secret. */
    assert_active_personal(introspect(caller.secret), &caller);
}

static void test_basic_active(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "by basic", NULL, &t);
    assert_active_personal(introspect_as(basic(), tsr_h_fmt("token=%s", t.secret), NULL), &t);

    /* The id and secret form-encoded, as RFC 6749 says and openid-client
     * does (each '-' of the id as %2D), even every character of them. */
    const char *body = tsr_h_fmt("token=%s", t.secret);
    assert_active_personal(
        introspect_as(tsr_h_basic(form_encode(caller.id, false), form_encode(caller.secret, false)),
                      body, NULL),
        &t);
    assert_active_personal(
        introspect_as(tsr_h_basic(form_encode(caller.id, true), form_encode(caller.secret, true)),
                      body, NULL),
        &t);

    /* A session token is introspected too, and says so. */
    int64_t before = tsr_h_now();
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    int64_t after = tsr_h_now();
    struct tsr_h_resp *r = introspect_as(basic(), tsr_h_fmt("token=%s", s), NULL);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "active", "sub", "username", "exp", "iat", "token_type", "jti",
                      "scope");
    assert_true(json_is_true(json_object_get(r->json, "active")));
    assert_string_equal(tsr_h_jstr(r->json, "sub"), admin_id);
    assert_string_equal(tsr_h_jstr(r->json, "username"), TSR_H_ADMIN_EMAIL);
    assert_string_equal(tsr_h_jstr(r->json, "token_type"), "session");
    assert_string_equal(tsr_h_jstr(r->json, "scope"), "global");
    assert_true(tsr_h_uuid_ok(tsr_h_jstr(r->json, "jti")));
    int64_t iat = tsr_h_jint(r->json, "iat");
    tsr_h_assert_between(iat, before - 1, after + 1);
    assert_int_equal(tsr_h_jint(r->json, "exp"), iat + TSR_H_DAY);
}

/* An OAuth client's form: a hint, a charset, parameters Tessera does not
 * know (ignored, as RFC 6749 says), percent-encoding. */
static void test_form_variants(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "variants", NULL, &t);
    const char *bodies[] = {
        tsr_h_fmt("token=%s&token_type_hint=access_token", t.secret),
        tsr_h_fmt("token_type_hint=refresh_token&token=%s", t.secret),
        tsr_h_fmt("client_id=%s&token=%s&scope=a+b", caller.id, t.secret),
        tsr_h_fmt("token=%.10s%%%02X%s", t.secret, t.secret[10], t.secret + 11),
        tsr_h_fmt("&token=%s&", t.secret),
        tsr_h_fmt("token=%s&token_type_hint=", t.secret),
        tsr_h_fmt("token=&token=%s", t.secret),
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        print_message("body %zu\n", i);
        assert_active_personal(introspect_as(basic(), bodies[i], NULL), &t);
    }
    const char *types[] = {FORM "; charset=utf-8", FORM ";charset=UTF-8",
                           "Application/X-WWW-Form-URLEncoded", FORM "; charset=\"utf-8\""};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        print_message("type %s\n", types[i]);
        assert_active_personal(introspect_as(basic(), tsr_h_fmt("token=%s", t.secret), types[i]),
                               &t);
    }
}

static void test_caller_refused(void **state)
{
    (void)state;
    struct tsr_h_token other;
    tsr_h_create_token(srv, session, "other", NULL, &other);
    const char *body = tsr_h_fmt("token=%s", other.secret);
    char made_up[TSR_H_SECRET_LEN + 1];
    tsr_h_make_secret("tsr_", 7, made_up);
    char upper[TSR_H_UUID_LEN + 1];
    for (size_t i = 0; i <= TSR_H_UUID_LEN; i++)
        upper[i] =
            (char)(caller.id[i] >= 'a' && caller.id[i] <= 'f' ? caller.id[i] - 32 : caller.id[i]);

    const char *auths[] = {
        NULL,
        "",
        "Bearer",
        bearer(made_up),
        tsr_h_fmt("Bearer %sx", caller.secret),
        bearer(session), /* a session is no client: personal tokens only */
        /* Basic with the wrong id: another token's, a made-up one, in capitals. */
        tsr_h_basic(other.id, caller.secret),
        tsr_h_basic("01a22a64-1dec-7f16-b6ac-53eee38b067b", caller.secret),
        tsr_h_basic(upper, caller.secret),
        tsr_h_basic("", caller.secret),
        tsr_h_basic(caller.id, ""),
        tsr_h_basic(caller.id, other.secret),
        tsr_h_basic(form_encode(other.id, true), caller.secret),
        tsr_h_basic(caller.id, tsr_h_fmt("%s%%00", caller.secret)),
        tsr_h_basic(caller.id, tsr_h_fmt("%s+", caller.secret)),
        tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD),
        "Basic !!!",
        tsr_h_fmt("Digest %s", caller.secret),
    };
    for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
        print_message("auth %zu\n", i);
        assert_refused(introspect_as(auths[i], body, NULL));
    }
    /* Authentication comes before the content type and the body. */
    assert_refused(introspect_as(NULL, "{}", "application/json"));
    assert_refused(introspect_as(tsr_h_basic(other.id, caller.secret), NULL, NULL));

    /* A revoked caller is refused at once. */
    struct tsr_h_token gone;
    tsr_h_create_token(srv, session, "gone caller", NULL, &gone);
    assert_active_personal(
        introspect_as(tsr_h_basic(gone.id, gone.secret), tsr_h_fmt("token=%s", other.secret), NULL),
        &other);
    tsr_h_assert_status(
        tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", gone.id), session, NULL),
        204);
    assert_refused(introspect_as(tsr_h_basic(gone.id, gone.secret),
                                 tsr_h_fmt("token=%s", other.secret), NULL));
    assert_refused(introspect_as(bearer(gone.secret), body, NULL));
}

static void test_inactive(void **state)
{
    (void)state;
    char made_up[TSR_H_SECRET_LEN + 1];
    tsr_h_make_secret("tsr_", 11, made_up);
    char bad_sum[TSR_H_SECRET_LEN + 1];
    memcpy(bad_sum, caller.secret, sizeof(bad_sum));
    bad_sum[TSR_H_SECRET_LEN - 1] = bad_sum[TSR_H_SECRET_LEN - 1] == 'a' ? 'b' : 'a';

    const char *tokens[] = {
        made_up,                               /* well-formed, unknown */
        bad_sum,                               /* a mistyped checksum */
        "hello",                               /* garbage */
        tsr_h_fmt("%sA", caller.secret),       /* one character too many */
        tsr_h_fmt("%.39s", caller.secret),     /* one too few */
        tsr_h_fmt("%%20%s", caller.secret),    /* a space before it */
        tsr_h_fmt("%s%%00", caller.secret),    /* a NUL after it */
        tsr_h_fmt("Bearer+%s", caller.secret), /* the header's value, not the secret */
        tsr_h_fmt("%0300d", 7),                /* long */
    };
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        print_message("token %zu\n", i);
        assert_inactive(introspect(tokens[i]));
    }

    /* Revoked: active until the 204, then not. */
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "to revoke", NULL, &t);
    assert_active_personal(introspect(t.secret), &t);
    tsr_h_assert_status(
        tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session, NULL),
        204);
    assert_inactive(introspect(t.secret));
    assert_inactive(introspect_as(basic(), tsr_h_fmt("token=%s", t.secret), NULL));

    /* A logged-out session. */
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", "/v4/tokens/self", s, NULL), 204);
    assert_inactive(introspect(s));
}

static void test_inactive_expired(void **state)
{
    (void)state;
    int64_t exp = tsr_h_now() + 2;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "short-lived", tsr_h_time(exp), &t);
    struct tsr_h_resp *r = introspect(t.secret);
    if (tsr_h_now() < exp) {
        assert_active_personal(r, &t);
        assert_int_equal(tsr_h_jint(r->json, "exp"), exp);
    }
    int64_t end = tsr_h_mono_ms() + 5000;
    while (tsr_h_now() <= exp && tsr_h_mono_ms() < end)
        tsr_h_sleep_ms(100);
    assert_true(tsr_h_now() > exp);
    assert_inactive(introspect(t.secret));
}

static void test_inactive_user_removed(void **state)
{
    (void)state;
    /* Added in setup: the expiry test before this one has given the server
     * more than the contract's 1 s to see it. */
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, LEAVER, LEAVER_PASSWORD, s);
    struct tsr_h_token t;
    tsr_h_create_token(srv, s, "leaver's", NULL, &t);
    struct tsr_h_resp *r = introspect(t.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "username"), LEAVER);
    assert_string_not_equal(tsr_h_jstr(r->json, "sub"), admin_id);

    struct tsr_h_cmd *c = tsr_h_user(srv, "remove", LEAVER, NULL);
    assert_int_equal(c->status, 0);
    /* Within the contract's 1 s, the removal reaches the server. */
    int64_t end = tsr_h_mono_ms() + 2000;
    do {
        r = introspect(t.secret);
        if (r->json && json_is_false(json_object_get(r->json, "active")))
            break;
        tsr_h_sleep_ms(50);
    } while (tsr_h_mono_ms() < end);
    assert_inactive(r);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    const char *a = basic();

    /* No token: no body, an empty one, an empty value, another name. */
    const char *missing[] = {NULL,       "",       "token=", "token_type_hint=access_token",
                             "tokens=x", "Token=x"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        print_message("missing %zu\n", i);
        tsr_h_assert_error(introspect_as(a, missing[i], NULL), 400, "missing_field",
                           TSR_H_SRC_PARAMETER, "token");
    }
    /* Not a form: JSON, none, multipart, text, a prefix of the type. */
    const char *types[] = {"application/json", "",       "multipart/form-data; boundary=x",
                           "text/plain",       FORM "x", FORM "; charset=latin1",
                           FORM "; a=b"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        print_message("type '%s'\n", types[i]);
        tsr_h_assert_error(introspect_as(a, tsr_h_fmt("token=%s", caller.secret), types[i]), 400,
                           "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    }
    /* Repeated parameters. */
    tsr_h_assert_error(
        introspect_as(a, tsr_h_fmt("token=%s&token=%s", caller.secret, caller.secret), NULL), 400,
        "invalid_field", TSR_H_SRC_PARAMETER, "token");
    tsr_h_assert_error(introspect_as(a, "token=x&token=y", NULL), 400, "invalid_field",
                       TSR_H_SRC_PARAMETER, "token");
    const char *hints[] = {"token_type_hint=a&token_type_hint=b", "token_type_hint=a%01b",
                           "token_type_hint=%FF", "token_type_hint=a%0Ab",
                           tsr_h_fmt("token_type_hint=%0101d", 1)};
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        print_message("hint %zu\n", i);
        tsr_h_assert_error(
            introspect_as(a, tsr_h_fmt("token=%s&%s", caller.secret, hints[i]), NULL), 400,
            "invalid_field", TSR_H_SRC_PARAMETER, "token_type_hint");
    }
    /* A long unknown name is ignored like any other. */
    tsr_h_assert_status(introspect_as(a, tsr_h_fmt("%0900d=1&token=%s", 0, caller.secret), NULL),
                        200);
    /* A hint of 100 bytes is fine. */
    tsr_h_assert_status(
        introspect_as(a, tsr_h_fmt("token=%s&token_type_hint=%0100d", caller.secret, 1), NULL),
        200);
    /* What libmicrohttpd's parser does not take as a form. */
    const char *malformed[] = {"=x", tsr_h_fmt("token=%s&bare", caller.secret),
                               tsr_h_fmt("token=a=%s", caller.secret),
                               tsr_h_fmt("%01100d=1&token=%s", 0, caller.secret)};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        print_message("malformed %zu\n", i);
        tsr_h_assert_error(introspect_as(a, malformed[i], NULL), 400, "invalid_field",
                           TSR_H_SRC_NONE, NULL);
    }
    /* A query parameter is refused, as everywhere. */
    struct tsr_h_req q = {.method = "POST",
                          .path = PATH "?token=x",
                          .auth = a,
                          .body = tsr_h_fmt("token=%s", caller.secret),
                          .ctype = FORM};
    tsr_h_assert_error(tsr_h_req(srv, &q), 400, "invalid_parameter", TSR_H_SRC_PARAMETER, "token");
    /* Over 64 KiB: 413 before anything else, as on every path. */
    char *big = tsr_h_fmt("token=%s&pad=%0*d", caller.secret, BODY_LIMIT, 0);
    tsr_h_assert_error(introspect_as(a, big, NULL), 413, "payload_too_large", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(introspect_as(NULL, big, NULL), 413, "payload_too_large", TSR_H_SRC_NONE,
                       NULL);
    /* Just under it, with the token last, is read to the end. */
    char *fits =
        tsr_h_fmt("pad=%0*d&token=%s", BODY_LIMIT - 4 - 1 - 6 - TSR_H_SECRET_LEN, 0, caller.secret);
    assert_int_equal(strlen(fits), BODY_LIMIT);
    assert_active_personal(introspect_as(a, fits, NULL), &caller);
}

static void test_methods(void **state)
{
    (void)state;
    const char *methods[] = {"GET", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        struct tsr_h_req req = {.method = methods[i], .path = PATH, .auth = basic()};
        struct tsr_h_resp *r = tsr_h_req(srv, &req);
        tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
        const char *allow = tsr_h_header(r, "Allow");
        assert_string_equal(allow ? allow : "(absent)", "POST");
    }
    /* A trailing slash is ignored. */
    struct tsr_h_req req = {.method = "POST",
                            .path = PATH "/",
                            .auth = basic(),
                            .body = tsr_h_fmt("token=%s", caller.secret),
                            .ctype = FORM};
    assert_active_personal(tsr_h_req(srv, &req), &caller);
}

/* Verify's answer and introspect's agree for the same secret. */
static void test_agrees_with_verify(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "both", NULL, &t);
    struct tsr_h_req v = {.path = "/v4/auth/verify", .secret = t.secret};
    struct tsr_h_resp *vr = tsr_h_req(srv, &v);
    tsr_h_assert_status(vr, 204);
    struct tsr_h_resp *r = introspect(t.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "sub"), tsr_h_header(vr, "X-Tessera-User-Id"));
    assert_string_equal(tsr_h_jstr(r->json, "jti"), tsr_h_header(vr, "X-Tessera-Token-Id"));
    assert_int_equal(tsr_h_jint(r->json, "exp"),
                     tsr_h_parse_time(tsr_h_header(vr, "X-Tessera-Expires-At")));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bearer_active),
    cmocka_unit_test(test_basic_active),
    cmocka_unit_test(test_form_variants),
    cmocka_unit_test(test_caller_refused),
    cmocka_unit_test(test_inactive),
    cmocka_unit_test(test_inactive_expired),
    cmocka_unit_test(test_inactive_user_removed),
    cmocka_unit_test(test_bad_bodies),
    cmocka_unit_test(test_methods),
    cmocka_unit_test(test_agrees_with_verify),
};

int main(void)
{
    return TSR_H_RUN(tests, setup, NULL);
}
