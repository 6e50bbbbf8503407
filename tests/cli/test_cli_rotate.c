/* test_cli_rotate.c - tessera rotate token against a real server: the new
 * secret alone on standard output, the old one refused at once or after
 * --grace, --expires, self and the stored token, and the refusals with
 * their exit statuses */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_harness.h"

static struct tsr_h_server *g_srv;
static struct tsr_c_env *g_env; /* logged in as the admin: a global token, stored */

static int setup(void **state)
{
    (void)state;
    g_srv = tsr_h_start(NULL);
    g_env = tsr_c_env_new();
    tsr_c_login(g_env, g_srv);
    return 0;
}

/* The secret that r printed, checked to be alone on standard output. */
static const char *printed_secret(const struct tsr_c_run *r)
{
    const char *secret;

    tsr_c_assert_status(r, 0);
    if (strlen(r->out) != TSR_H_SECRET_LEN + 1 || r->out[TSR_H_SECRET_LEN] != '\n')
        fail_msg("standard output is not one secret and a newline: '%s'", r->out);
    secret = tsr_h_strndup(r->out, TSR_H_SECRET_LEN);
    assert_true(tsr_h_secret_ok(secret, "tsr_"));
    return secret;
}

/* `tessera create token --name N --expires E ARGS...` in e: its secret. */
static const char *create(struct tsr_c_env *e, const char *name, const char *expires)
{
    return printed_secret(
        tsr_c_run(e, NULL, "create", "token", "--name", name, "--expires", expires, NULL));
}

/* The token object of secret, through the API (which marks it used). */
static json_t *token_of(const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(g_srv, "/v4/iam/personal_tokens/self", secret);

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

/* The token object of id, through the API with the session of e's login. */
static json_t *token_by_id(const char *id)
{
    struct tsr_h_resp *r =
        tsr_h_get(g_srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", id), tsr_c_stored_token(g_env));

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

/* How many lines text holds. */
static int lines(const char *text)
{
    int n = 0;

    for (const char *p = text; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

static void test_rotate_prints_only_the_new_secret(void **state)
{
    const char *old = create(g_env, "to rotate", "30d");
    json_t *before = token_of(old);
    const char *id = tsr_h_fmt("%s", tsr_h_jstr(before, "id"));
    const char *created = tsr_h_fmt("%s", tsr_h_jstr(before, "created"));
    const char *expires = tsr_h_fmt("%s", tsr_h_jstr(before, "expires_at"));
    struct tsr_c_run *r;
    const char *fresh;
    json_t *after;

    (void)state;
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, NULL);
    fresh = printed_secret(r);
    assert_string_not_equal(fresh, old);
    tsr_c_assert_has(r->err, tsr_h_fmt("Rotated token 'to rotate' (id %s), expiring ", id));
    tsr_c_assert_has(r->err, "The old secret no longer works.\n");
    tsr_c_assert_has(r->err, "shown only this once");
    tsr_c_assert_lacks(r->err, "tsr_");
    /* No grace: the new secret works, the old one is refused at once. */
    assert_true(tsr_h_verify(g_srv, fresh));
    assert_false(tsr_h_verify(g_srv, old));
    /* The same token, with the new secret's hint; its times stay. */
    after = token_of(fresh);
    assert_string_equal(tsr_h_jstr(after, "id"), id);
    assert_string_equal(tsr_h_jstr(after, "name"), "to rotate");
    assert_string_equal(tsr_h_jstr(after, "key_hint"), tsr_h_strndup(fresh, 8));
    assert_string_equal(tsr_h_jstr(after, "created"), created);
    assert_string_equal(tsr_h_jstr(after, "expires_at"), expires);
    /* The capitals of an id are forgiven, as elsewhere. */
    const char *upper = tsr_h_fmt("%s", id);
    for (char *c = (char *)(uintptr_t)upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    r = tsr_c_run(g_env, NULL, "rotate", "personal-token", upper, NULL);
    assert_false(tsr_h_verify(g_srv, fresh));
    assert_true(tsr_h_verify(g_srv, printed_secret(r)));
    tsr_c_assert_no_stray_secrets(g_env);
}

static void test_grace_keeps_both_until_the_next_rotation(void **state)
{
    const char *first = create(g_env, "with grace", "30d");
    const char *id = tsr_h_fmt("%s", tsr_h_jstr(token_of(first), "id"));
    const char *second, *third;
    struct tsr_c_run *r;

    (void)state;
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--grace", "1h", NULL);
    second = printed_secret(r);
    tsr_c_assert_has(r->err, "The old secret works until ");
    tsr_c_assert_has(r->err, "UTC (in 60 minutes).\n");
    /* Both work during the grace period. */
    assert_true(tsr_h_verify(g_srv, second));
    assert_true(tsr_h_verify(g_srv, first));
    assert_true(tsr_h_verify(g_srv, first));
    /* A second rotation ends the first one's grace period at once. */
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--grace=0", NULL);
    third = printed_secret(r);
    tsr_c_assert_has(r->err, "The old secret no longer works.\n");
    assert_true(tsr_h_verify(g_srv, third));
    assert_false(tsr_h_verify(g_srv, second));
    assert_false(tsr_h_verify(g_srv, first));
    /* Other spellings of a grace period, within the limit. */
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--grace", "24h", NULL);
    assert_true(tsr_h_verify(g_srv, printed_secret(r)));
    assert_true(tsr_h_verify(g_srv, third));
    tsr_c_assert_has(r->err, "UTC (in 24 hours).\n");
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--grace", "90S", NULL);
    assert_true(tsr_h_verify(g_srv, printed_secret(r)));
}

static void test_expires_and_json(void **state)
{
    const char *old = create(g_env, "new expiry", "7d");
    const char *id = tsr_h_fmt("%s", tsr_h_jstr(token_of(old), "id"));
    int64_t before = tsr_h_now();
    struct tsr_c_run *r;
    json_t *j, *data;

    (void)state;
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--expires", "30d", "--output", "json", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    j = json_loads(r->out, 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", r->out);
    tsr_h_assert_keys(j, "data");
    data = tsr_h_jobj(j, "data");
    tsr_h_assert_token(data, true);
    assert_string_equal(tsr_h_jstr(data, "id"), id);
    assert_string_equal(tsr_h_jstr(data, "name"), "new expiry");
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(data, "expires_at")), before + 30 * TSR_H_DAY,
                         tsr_h_now() + 30 * TSR_H_DAY);
    assert_true(tsr_h_verify(g_srv, tsr_h_jstr(data, "key")));
    assert_false(tsr_h_verify(g_srv, old));
    /* And the server holds the same expiry. */
    assert_string_equal(tsr_h_jstr(token_by_id(id), "expires_at"), tsr_h_jstr(data, "expires_at"));
    /* An expiry the server refuses: its reason, exit 1. */
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--expires", "2020-01-01", NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->err, "error: expires_at must be in the future\n");
    assert_string_equal(r->out, "");
    assert_true(tsr_h_verify(g_srv, tsr_h_jstr(data, "key")));
    json_decref(j);
}

static void test_refusals(void **state)
{
    static const char *const bad_grace[] = {"25h", "2d", "86401s", "1x", "1 h", "-1h", "3600"};
    const char *secret = create(g_env, "not rotated", "1d");
    const char *id = tsr_h_fmt("%s", tsr_h_jstr(token_of(secret), "id"));
    const char *missing = "01936f6e-0000-7000-8000-000000000000";
    struct tsr_c_run *r;

    (void)state;
    /* No such token: the server's 404, exit 4. */
    r = tsr_c_run(g_env, NULL, "rotate", "token", missing, NULL);
    tsr_c_assert_status(r, 4);
    assert_string_equal(r->err, "error: no such token\n");
    assert_string_equal(r->out, "");
    r = tsr_c_run(g_env, NULL, "rotate", "token", missing, "--grace", "1h", NULL);
    tsr_c_assert_status(r, 4);
    /* What is wrong on the command line is said before any request: exit 2. */
    for (size_t i = 0; i < sizeof(bad_grace) / sizeof(bad_grace[0]); i++) {
        r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--grace", bad_grace[i], NULL);
        tsr_c_assert_status(r, 2);
        tsr_c_assert_has(r->err, tsr_h_fmt("error: --grace '%s' is ", bad_grace[i]));
        tsr_c_assert_has(r->err, "; see 'tessera rotate token --help'\n");
        assert_int_equal(lines(r->err), 1);
        assert_string_equal(r->out, "");
    }
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--expires", "soon", NULL);
    tsr_c_assert_status(r, 2);
    assert_int_equal(lines(r->err), 1);
    r = tsr_c_run(g_env, NULL, "rotate", "token", "12345", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: '12345' is not a token id");
    r = tsr_c_run(g_env, NULL, "rotate", "token", NULL);
    tsr_c_assert_status(r, 2);
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, "--yes", NULL);
    tsr_c_assert_status(r, 2);
    /* None of that touched the token. */
    assert_true(tsr_h_verify(g_srv, secret));
    assert_string_equal(tsr_h_jstr(token_by_id(id), "key_hint"), tsr_h_strndup(secret, 8));
    /* A token without a login to use: exit 3. */
    struct tsr_c_env *nobody = tsr_c_env_new();
    r = tsr_c_run(nobody, NULL, "rotate", "token", id, "--server", g_srv->base, NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "error: not logged in");
    assert_true(tsr_h_verify(g_srv, secret));
}

static void test_expired_token_cannot_be_rotated(void **state)
{
    int64_t at = tsr_h_now() + 3;
    const char *secret = create(g_env, "expired, then rotated", tsr_h_time(at));
    const char *id = tsr_h_fmt("%s", tsr_h_jstr(token_of(secret), "id"));
    struct tsr_c_run *r;

    (void)state;
    while (tsr_h_now() <= at + 1) /* bounded: at most about 4 s */
        tsr_h_sleep_ms(100);
    r = tsr_c_run(g_env, NULL, "rotate", "token", id, NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->out, "");
    tsr_c_assert_has(r->err, "error: ");
    tsr_c_assert_has(r->err, "expired");
    assert_int_equal(lines(r->err), 1);
    assert_string_equal(tsr_h_jstr(token_by_id(id), "key_hint"), tsr_h_strndup(secret, 8));
}

static void test_self_replaces_the_stored_token(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    const char *old, *fresh, *by_id, *id;
    struct tsr_c_run *r;

    (void)state;
    tsr_c_login(e, g_srv);
    old = tsr_h_fmt("%s", tsr_c_stored_token(e));
    r = tsr_c_run(e, NULL, "rotate", "token", "self", NULL);
    fresh = printed_secret(r);
    tsr_c_assert_has(r->err, tsr_h_fmt("the new secret is stored in %s", e->creds));
    /* The next command uses the new secret, and the old one is gone. */
    assert_string_equal(tsr_c_stored_token(e), fresh);
    assert_int_equal(tsr_c_mode(e->creds), 0600);
    assert_string_equal(tsr_c_file_value(e->creds, "origin"), "login");
    assert_false(tsr_h_verify(g_srv, old));
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    /* By its id, the same. */
    id = tsr_h_fmt("%s", tsr_h_jstr(token_of(fresh), "id"));
    r = tsr_c_run(e, NULL, "rotate", "token", id, "--grace", "1h", NULL);
    by_id = printed_secret(r);
    assert_string_equal(tsr_c_stored_token(e), by_id);
    assert_true(tsr_h_verify(g_srv, fresh)); /* in its grace period */
    r = tsr_c_run(e, NULL, "list", "tokens", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, tsr_h_strndup(by_id, 8));
    /* Another token is not the stored one: the file stays. */
    r = tsr_c_run(e, NULL, "rotate", "token", tsr_h_jstr(token_of(create(e, "other", "1d")), "id"),
                  NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_lacks(r->err, "stored in");
    assert_string_equal(tsr_c_stored_token(e), by_id);
    /* logout revokes what is stored now. */
    r = tsr_c_run(e, NULL, "logout", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "the token is revoked");
    assert_false(tsr_h_verify(g_srv, by_id));
    tsr_c_assert_no_stray_secrets(e);
}

static void test_self_from_the_environment(void **state)
{
    const char *old = create(g_env, "in a variable", "1d");
    const char *stored = tsr_h_fmt("%s", tsr_c_stored_token(g_env));
    struct tsr_c_run *r;
    const char *fresh;

    (void)state;
    tsr_c_env_set(g_env, "TESSERA_TOKEN", old);
    r = tsr_c_run(g_env, NULL, "rotate", "token", "self", NULL);
    tsr_c_env_clear(g_env);
    fresh = printed_secret(r);
    tsr_c_assert_has(r->err,
                     "It was the token in force, from TESSERA_TOKEN: put the new secret there.\n");
    assert_true(tsr_h_verify(g_srv, fresh));
    assert_false(tsr_h_verify(g_srv, old));
    /* The credentials file holds another token and stays as it was. */
    assert_string_equal(tsr_c_stored_token(g_env), stored);
    /* A session token has no self to rotate. */
    char session[TSR_H_SECRET_LEN + 1];
    tsr_h_login(g_srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_c_env_set(g_env, "TESSERA_TOKEN", session);
    r = tsr_c_run(g_env, NULL, "rotate", "token", "self", NULL);
    tsr_c_env_clear(g_env);
    tsr_c_assert_status(r, 4);
    assert_int_equal(lines(r->err), 1);
}

static void test_scopes_bound_rotation(void **state)
{
    struct tsr_c_run *r;
    const char *reader, *target, *target_id, *fresh;

    (void)state;
    /* Any personal token may rotate itself, even one that can do nothing
     * else with tokens... */
    reader = printed_secret(tsr_c_run(g_env, NULL, "create", "token", "--name", "who am I",
                                      "--expires", "7d", "--scope", "user:read", NULL));
    r = tsr_c_run(g_env, NULL, "rotate", "token", "self", "--token", reader, NULL);
    fresh = printed_secret(r);
    tsr_c_assert_has(r->err, "It was the token in force, from --token: put the new secret there.");
    assert_false(tsr_h_verify(g_srv, reader));
    /* ... but not give itself a new expiry without tokens:write, */
    r = tsr_c_run(g_env, NULL, "rotate", "token", "self", "--token", fresh, "--expires", "1d",
                  NULL);
    tsr_c_assert_status(r, 1);
    assert_int_equal(lines(r->err), 1);
    assert_string_equal(r->out, "");
    assert_true(tsr_h_verify(g_srv, fresh));
    /* nor rotate another token. */
    target = create(g_env, "a stronger one", "7d");
    target_id = tsr_h_fmt("%s", tsr_h_jstr(token_of(target), "id"));
    r = tsr_c_run(g_env, NULL, "rotate", "token", target_id, "--token", fresh, NULL);
    tsr_c_assert_status(r, 1);
    assert_int_equal(lines(r->err), 1);
    assert_true(tsr_h_verify(g_srv, target));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_prints_only_the_new_secret),
        cmocka_unit_test(test_grace_keeps_both_until_the_next_rotation),
        cmocka_unit_test(test_expires_and_json),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_expired_token_cannot_be_rotated),
        cmocka_unit_test(test_self_replaces_the_stored_token),
        cmocka_unit_test(test_self_from_the_environment),
        cmocka_unit_test(test_scopes_bound_rotation),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
