/* test_cli_auth.c - tessera login, logout and whoami; its files, their modes,
 * and the precedence of flags, environment and files */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_harness.h"

static struct tsr_h_server *g_srv;

static int setup(void **state)
{
    (void)state;
    g_srv = tsr_h_start(NULL);
    return 0;
}

/* The personal token object of secret, through the API. */
static json_t *token_of(const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(g_srv, "/v4/iam/personal_tokens/self", secret);

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

/* A personal token for the admin, made through the API. */
static void api_token(const char *name, struct tsr_h_token *out)
{
    char session[TSR_H_SECRET_LEN + 1];

    tsr_h_login(g_srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(g_srv, session, name, NULL, out);
    tsr_h_send(g_srv, "DELETE", "/v4/tokens/self", session, NULL);
}

/* ---- login with a password ---- */

static void test_login_password_on_stdin(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    long sessions_before = tsr_c_live_sessions(g_srv);
    struct tsr_c_run *r;
    const char *token;
    json_t *t;
    int64_t expires;

    (void)state;
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", g_srv->base, "--email",
                  TSR_H_ADMIN_EMAIL, NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "");
    tsr_c_assert_has(r->err, tsr_h_fmt("Logged in to %s as " TSR_H_ADMIN_EMAIL, g_srv->base));
    tsr_c_assert_lacks(r->err, TSR_H_ADMIN_PASSWORD);
    assert_int_equal(tsr_c_count_secrets(r->out) + tsr_c_count_secrets(r->err), 0);

    /* The folder 0700, both files 0600, the server and the token stored. */
    assert_int_equal(tsr_c_mode(e->dir), 0700);
    assert_int_equal(tsr_c_mode(e->config), 0600);
    assert_int_equal(tsr_c_mode(e->creds), 0600);
    assert_string_equal(tsr_c_file_value(e->config, "server"), g_srv->base);
    assert_string_equal(tsr_c_file_value(e->creds, "server"), g_srv->base);
    assert_string_equal(tsr_c_file_value(e->creds, "origin"), "login");
    token = tsr_c_stored_token(e);
    tsr_c_assert_no_stray_secrets(e);

    /* The token: tessera-cli@HOSTNAME, as long as the server allows (its
     * default, 366 days), working. */
    t = token_of(token);
    assert_string_equal(tsr_h_jstr(t, "name"), tsr_h_fmt("tessera-cli@%s", tsr_c_hostname()));
    expires = tsr_h_parse_time(tsr_h_jstr(t, "expires_at"));
    tsr_h_assert_between(expires, tsr_h_now() + 366 * TSR_H_DAY - 120,
                         tsr_h_now() + 366 * TSR_H_DAY);
    assert_true(tsr_h_verify(g_srv, token));

    /* The password session was logged out again. */
    assert_int_equal(tsr_c_live_sessions(g_srv), sessions_before);
}

/* The login's token bounds the expiry of the tokens made with it (no
 * escalation, api.md), so it lasts as long as the server allows: the usual
 * expiries of create token work right after a login. */
static void test_login_token_can_make_long_tokens(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    json_t *t;

    (void)state;
    tsr_c_login(e, g_srv);
    r = tsr_c_run(e, NULL, "create", "token", "--name", "quarterly", "--expires", "90d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    t = token_of(tsr_h_strndup(r->out, TSR_H_SECRET_LEN));
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(t, "expires_at")),
                         tsr_h_now() + 90 * TSR_H_DAY - 120, tsr_h_now() + 90 * TSR_H_DAY);
    r = tsr_c_run(e, NULL, "create", "token", "--name", "most", "--expires", "365d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
}

/* A server without a limit (--max-lifetime 0) gets a login token of 366
 * days, and one with a limit a token of exactly that many. */
static void test_login_follows_the_server_limit(void **state)
{
    static const char *const none[] = {"--max-lifetime", "0", NULL};
    static const char *const short_limit[] = {"--max-lifetime", "45", NULL};
    const char *const *limits[] = {none, short_limit};
    const int64_t days[] = {366, 45};
    struct tsr_h_opts opts = {0};
    struct tsr_h_server *srv;
    struct tsr_c_env *e;
    struct tsr_c_run *r;
    int64_t expires;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        opts.args = limits[i];
        srv = tsr_h_start(&opts);
        e = tsr_c_env_new();
        tsr_c_login(e, srv);
        expires = tsr_h_parse_time(tsr_h_jstr(
            tsr_h_jobj(tsr_h_get(srv, "/v4/iam/personal_tokens/self", tsr_c_stored_token(e))->json,
                       "data"),
            "expires_at"));
        tsr_h_assert_between(expires, tsr_h_now() + days[i] * TSR_H_DAY - 120,
                             tsr_h_now() + days[i] * TSR_H_DAY);
        /* Exactly the limit: a day more is refused by the server. */
        r = tsr_c_run(e, NULL, "create", "token", "--name", "over", "--expires",
                      tsr_h_fmt("%lldd", (long long)days[i] + 1), NULL);
        tsr_c_assert_status(r, 1);
        tsr_h_stop(srv);
    }
}

/* --expires: a shorter-lived login token, in create token's forms. */
static void test_login_expires(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    long tokens_before;
    struct tsr_c_run *r;
    int64_t expires;

    (void)state;
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", g_srv->base, "--email",
                  TSR_H_ADMIN_EMAIL, "--expires", "7d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "(expires");
    tsr_c_assert_has(r->err, "in 7 days)");
    expires = tsr_h_parse_time(tsr_h_jstr(token_of(tsr_c_stored_token(e)), "expires_at"));
    tsr_h_assert_between(expires, tsr_h_now() + 7 * TSR_H_DAY - 120, tsr_h_now() + 7 * TSR_H_DAY);

    /* A date works as in create token. */
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--email", TSR_H_ADMIN_EMAIL, "--expires",
                  tsr_h_time(tsr_h_now() + 3 * TSR_H_DAY), NULL);
    tsr_c_assert_status(r, 0);
    tsr_h_assert_between(
        tsr_h_parse_time(tsr_h_jstr(token_of(tsr_c_stored_token(e)), "expires_at")),
        tsr_h_now() + 3 * TSR_H_DAY - 120, tsr_h_now() + 3 * TSR_H_DAY);

    /* What tessera itself refuses: exit 2, before any password is read,
     * and the stored token stays. */
    tokens_before = tsr_h_count_tokens(g_srv, tsr_c_stored_token(e));
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--email", TSR_H_ADMIN_EMAIL, "--expires",
                  "soon", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "'soon' is not one of");
    r = tsr_c_run(e, NULL, "login", "--token", tsr_c_stored_token(e), "--expires", "7d", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "--expires is for the token that a login with a password makes");
    /* What the server refuses (beyond its 366 days, or past): its sentence,
     * exit 1, nothing stored or made. */
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--email", TSR_H_ADMIN_EMAIL, "--expires",
                  "400d", NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "expires_at must be at most 366 days from now");
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--email", TSR_H_ADMIN_EMAIL, "--expires",
                  "2020-01-01", NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "expires_at must be in the future");
    assert_int_equal(tsr_h_count_tokens(g_srv, tsr_c_stored_token(e)), tokens_before);
    assert_true(tsr_h_verify(g_srv, tsr_c_stored_token(e)));
}

static void test_login_again_revokes_the_previous_token(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    const char *first, *second;
    struct tsr_c_run *r;

    (void)state;
    tsr_c_login(e, g_srv);
    first = tsr_c_stored_token(e);
    /* The second login needs no --server: the config file has it. */
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--email", TSR_H_ADMIN_EMAIL, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "Revoked the token of the previous login");
    second = tsr_c_stored_token(e);
    assert_string_not_equal(first, second);
    assert_false(tsr_h_verify(g_srv, first));
    assert_true(tsr_h_verify(g_srv, second));
    tsr_c_assert_no_stray_secrets(e);
}

static void test_login_json(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    json_t *j, *data;

    (void)state;
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", g_srv->base, "--email",
                  TSR_H_ADMIN_EMAIL, "--output", "json", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    data = tsr_h_jobj(j, "data");
    tsr_h_assert_keys(data, "id", "email", "created");
    assert_string_equal(tsr_h_jstr(data, "email"), TSR_H_ADMIN_EMAIL);
    json_decref(j);
}

static void test_login_through_a_terminal(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_pty *p;

    (void)state;
    p = tsr_c_pty_start(e, NULL, "login", "--server", g_srv->base, NULL);
    tsr_c_pty_expect(p, "Email: ");
    tsr_c_pty_send(p, TSR_H_ADMIN_EMAIL "\n");
    tsr_c_pty_expect(p, "Password for " TSR_H_ADMIN_EMAIL ": ");
    tsr_c_pty_send(p, TSR_H_ADMIN_PASSWORD "\n");
    assert_int_equal(tsr_c_pty_finish(p), 0);
    /* The email was echoed as typed; the password was not. */
    tsr_c_assert_has(p->buf, "Email: " TSR_H_ADMIN_EMAIL);
    tsr_c_assert_lacks(p->buf, TSR_H_ADMIN_PASSWORD);
    tsr_c_assert_has(p->buf, "Logged in to");
    assert_true(tsr_h_verify(g_srv, tsr_c_stored_token(e)));
}

static void test_login_wrong_password(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;

    (void)state;
    r = tsr_c_run(e, "not-the-password\n", "login", "--server", g_srv->base, "--email",
                  TSR_H_ADMIN_EMAIL, NULL);
    tsr_c_assert_status(r, 3);
    assert_string_equal(r->err, tsr_h_fmt("error: wrong email or password for %s\n", g_srv->base));
    assert_false(tsr_c_exists(e->creds));
    assert_false(tsr_c_exists(e->config));

    r = tsr_c_run(e, "whatever\n", "login", "--server", g_srv->base, "--email",
                  "nobody@example.com", NULL);
    tsr_c_assert_status(r, 3);
}

static void test_login_usage(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;

    (void)state;
    /* No terminal to ask for the email on. */
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", g_srv->base, NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: give --email");
    /* No password on standard input. */
    r = tsr_c_run(e, NULL, "login", "--server", g_srv->base, "--email", TSR_H_ADMIN_EMAIL, NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "no password given");
    r = tsr_c_run(e, "\n", "login", "--server", g_srv->base, "--email", TSR_H_ADMIN_EMAIL, NULL);
    tsr_c_assert_status(r, 2);
    r = tsr_c_run(e, "x\n", "login", "--server", g_srv->base, "--email", "not-an-email", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "is not an email address");
    r = tsr_c_run(e, "x\n", "login", "--yes", NULL);
    tsr_c_assert_status(r, 2);
    assert_false(tsr_c_exists(e->creds));
}

/* ---- login with a token ---- */

static void test_login_with_token(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token t;
    struct tsr_c_run *r;

    (void)state;
    api_token("given by hand", &t);
    r = tsr_c_run(e, NULL, "login", "--server", g_srv->base, "--token", t.secret, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "as " TSR_H_ADMIN_EMAIL);
    tsr_c_assert_has(r->err, "'given by hand'");
    assert_string_equal(tsr_c_stored_token(e), t.secret);
    assert_string_equal(tsr_c_file_value(e->creds, "origin"), "token");
    assert_int_equal(tsr_c_mode(e->creds), 0600);

    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "given by hand");

    /* logout forgets a token the user gave, without revoking it. */
    r = tsr_c_run(e, NULL, "logout", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "not revoked");
    assert_false(tsr_c_exists(e->creds));
    assert_true(tsr_h_verify(g_srv, t.secret));
}

static void test_login_with_token_on_stdin(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token t;
    struct tsr_c_run *r;

    (void)state;
    api_token("from stdin", &t);
    r = tsr_c_run(e, tsr_h_fmt("%s\n", t.secret), "login", "--server", g_srv->base, "--token", "-",
                  NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(tsr_c_stored_token(e), t.secret);
    tsr_c_assert_lacks(r->err, t.secret);
}

static void test_login_with_token_replaces_a_login(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token t;
    const char *made;
    struct tsr_c_run *r;

    (void)state;
    tsr_c_login(e, g_srv);
    made = tsr_c_stored_token(e);
    api_token("replacement", &t);
    r = tsr_c_run(e, NULL, "login", "--token", t.secret, NULL);
    tsr_c_assert_status(r, 0);
    /* The token the login made is stored nowhere now: it is revoked. */
    assert_false(tsr_h_verify(g_srv, made));
    assert_true(tsr_h_verify(g_srv, t.secret));
}

static void test_login_with_bad_tokens(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    char session[TSR_H_SECRET_LEN + 1], made_up[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct tsr_c_run *r;

    (void)state;
    /* A mistyped token is caught by its checksum, with no request. */
    r = tsr_c_run(e, NULL, "login", "--server", "http://127.0.0.1:1", "--token",
                  "tsr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "is not a Tessera token");
    tsr_c_assert_lacks(r->err, "tsr_aaaa");
    /* A well-formed one that the server does not know. */
    tsr_h_make_secret("tsr_", 77, made_up);
    r = tsr_c_run(e, NULL, "login", "--server", g_srv->base, "--token", made_up, NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "error: a valid token is required");
    /* A revoked one. */
    api_token("revoked", &t);
    tsr_h_login(g_srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_assert_status(
        tsr_h_send(g_srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session, NULL),
        204);
    r = tsr_c_run(e, NULL, "login", "--server", g_srv->base, "--token", t.secret, NULL);
    tsr_c_assert_status(r, 3);
    /* A session token lasts a day: not for storing. */
    r = tsr_c_run(e, NULL, "login", "--server", g_srv->base, "--token", session, NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "not a session token");
    tsr_h_send(g_srv, "DELETE", "/v4/tokens/self", session, NULL);
    assert_false(tsr_c_exists(e->creds));
}

/* ---- logout ---- */

static void test_logout(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    const char *token;

    (void)state;
    tsr_c_login(e, g_srv);
    token = tsr_c_stored_token(e);
    r = tsr_c_run(e, NULL, "logout", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->err, "revoked and removed");
    assert_false(tsr_h_verify(g_srv, token));
    assert_false(tsr_c_exists(e->creds));
    assert_true(tsr_c_exists(e->config));

    r = tsr_c_run(e, NULL, "logout", NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "error: not logged in");
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 3);
    r = tsr_c_run(e, NULL, "logout", "--token", token, NULL);
    tsr_c_assert_status(r, 2);
}

static void test_logout_when_the_server_is_away(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    const char *token;
    char *text;

    (void)state;
    tsr_c_login(e, g_srv);
    token = tsr_c_stored_token(e);
    /* Point the stored token at a port where nothing listens. */
    text = tsr_h_fmt("server = http://127.0.0.1:1\ntoken = %s\norigin = login\n", token);
    {
        FILE *f = fopen(e->creds, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
    r = tsr_c_run(e, NULL, "logout", NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "is the Tessera server running there?");
    tsr_c_assert_has(r->err, "the token is still stored");
    assert_true(tsr_c_exists(e->creds));
    assert_true(tsr_h_verify(g_srv, token));
}

/* ---- whoami ---- */

static void test_whoami(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    json_t *j;

    (void)state;
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 3);
    assert_string_equal(r->err, "error: not logged in: run 'tessera login', or give a token with "
                                "--token or TESSERA_TOKEN\n");
    tsr_c_login(e, g_srv);
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Email:        " TSR_H_ADMIN_EMAIL "\n");
    tsr_c_assert_has(r->out, tsr_h_fmt("Server:       %s\n", g_srv->base));
    tsr_c_assert_has(r->out, tsr_h_fmt("tessera-cli@%s (from %s)", tsr_c_hostname(), e->creds));
    tsr_c_assert_has(r->out, "(in 366 days)");
    assert_string_equal(r->err, "");

    r = tsr_c_run(e, NULL, "whoami", "-o", "json", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(j, "data"), "email"), TSR_H_ADMIN_EMAIL);
    json_decref(j);
}

/* ---- files ---- */

static void test_credentials_open_to_others_are_refused(void **state)
{
    static const unsigned modes[] = {0644, 0640, 0604, 0660, 0620};
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    const char *token;

    (void)state;
    tsr_c_login(e, g_srv);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(e->creds, modes[i]), 0);
        r = tsr_c_run(e, NULL, "list", "tokens", NULL);
        tsr_c_assert_status(r, 3);
        tsr_c_assert_has(r->err, tsr_h_fmt("error: '%s' can be read or changed by other users "
                                           "(mode %04o), so it is not used; fix it with: chmod "
                                           "600 %s\n",
                                           e->creds, modes[i], e->creds));
        assert_string_equal(r->out, "");
    }
    assert_int_equal(chmod(e->creds, 0600), 0);
    r = tsr_c_run(e, NULL, "list", "tokens", NULL);
    tsr_c_assert_status(r, 0);

    /* A new login replaces such a file with a private one, and revokes the
     * token that others may have read. */
    token = tsr_c_stored_token(e);
    assert_int_equal(chmod(e->creds, 0644), 0);
    tsr_c_login(e, g_srv);
    assert_int_equal(tsr_c_mode(e->creds), 0600);
    assert_false(tsr_h_verify(g_srv, token));
}

static void test_files_follow_xdg_and_home(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;

    (void)state;
    tsr_c_env_no_xdg(e);
    tsr_c_login(e, g_srv);
    assert_string_equal(e->dir, tsr_h_fmt("%s/.config/tessera", e->home));
    assert_int_equal(tsr_c_mode(e->creds), 0600);
    assert_int_equal(tsr_c_mode(e->dir), 0700);
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    /* A relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
    tsr_c_env_set(e, "XDG_CONFIG_HOME", "relative/path");
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_env_clear(e);
    tsr_c_assert_no_stray_secrets(e);
}

static void test_umask_does_not_loosen_the_files(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    mode_t old = umask(0);

    (void)state;
    /* The child inherits umask 0; the folder and files must still be private. */
    tsr_c_login(e, g_srv);
    umask(old);
    assert_int_equal(tsr_c_mode(e->xdg), 0700);
    assert_int_equal(tsr_c_mode(e->dir), 0700);
    assert_int_equal(tsr_c_mode(e->config), 0600);
    assert_int_equal(tsr_c_mode(e->creds), 0600);
}

/* ---- precedence: flag, then environment, then files ---- */

static void test_server_precedence(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token t;
    struct tsr_c_run *r;

    (void)state;
    api_token("precedence", &t);
    tsr_c_login(e, g_srv); /* the config file now names g_srv */

    /* The file alone. */
    r = tsr_c_run(e, NULL, "whoami", "--token", t.secret, NULL);
    tsr_c_assert_status(r, 0);
    /* The environment beats the file. */
    tsr_c_env_set(e, "TESSERA_SERVER", "http://127.0.0.1:1");
    r = tsr_c_run(e, NULL, "whoami", "--token", t.secret, NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "cannot connect to http://127.0.0.1:1");
    tsr_c_assert_has(r->err, "(server from TESSERA_SERVER)");
    /* The flag beats the environment. */
    r = tsr_c_run(e, NULL, "whoami", "--token", t.secret, "--server", g_srv->base, NULL);
    tsr_c_assert_status(r, 0);
    r = tsr_c_run(e, NULL, "--server", "http://127.0.0.1:2/", "whoami", "--token", t.secret, NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "cannot connect to http://127.0.0.1:2 ");
    tsr_c_assert_has(r->err, "(server from --server)");
    tsr_c_env_clear(e);

    /* With no config file, the stored token's server is the one. */
    assert_int_equal(unlink(e->config), 0);
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    /* With neither, the default. */
    assert_int_equal(unlink(e->creds), 0);
    r = tsr_c_run(e, NULL, "whoami", "--token", t.secret, NULL);
    tsr_c_assert_has(r->err, "http://127.0.0.1:8080");
    r = tsr_c_run(e, NULL, "whoami", "--server", "127.0.0.1:8080", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "must be a URL such as http://127.0.0.1:8080");
}

static void test_token_precedence(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token from_env, from_flag;
    struct tsr_c_run *r;
    const char *file_name = tsr_h_fmt("tessera-cli@%s", tsr_c_hostname());

    (void)state;
    api_token("token from env", &from_env);
    api_token("token from flag", &from_flag);
    tsr_c_login(e, g_srv);

    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, tsr_h_fmt("Token:        %s (from %s)", file_name, e->creds));
    tsr_c_env_set(e, "TESSERA_TOKEN", from_env.secret);
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Token:        token from env (from TESSERA_TOKEN)");
    r = tsr_c_run(e, NULL, "whoami", "--token", from_flag.secret, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Token:        token from flag (from --token)");
    /* An empty variable counts as unset. */
    tsr_c_env_clear(e);
    tsr_c_env_set(e, "TESSERA_TOKEN", "");
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, file_name);
    /* A mistyped one is refused locally, and not echoed. */
    tsr_c_env_clear(e);
    tsr_c_env_set(e, "TESSERA_TOKEN", "tsr_mistyped");
    r = tsr_c_run(e, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 3);
    assert_string_equal(r->err, "error: the token from TESSERA_TOKEN is not a Tessera token (tsr_ "
                                "and 36 letters and digits with a valid checksum): is it "
                                "mistyped?\n");
}

static void test_stored_token_goes_only_to_its_server(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;

    (void)state;
    tsr_c_login(e, g_srv);
    r = tsr_c_run(e, NULL, "list", "tokens", "--server", "http://127.0.0.1:1", NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, tsr_h_fmt("error: the stored token is for %s, not "
                                       "http://127.0.0.1:1 (from --server)",
                                       g_srv->base));
    /* A trailing slash names the same server. */
    r = tsr_c_run(e, NULL, "list", "tokens", "--server", tsr_h_fmt("%s/", g_srv->base), NULL);
    tsr_c_assert_status(r, 0);
}

static void test_connection_errors(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_h_token t;
    struct tsr_c_run *r;

    (void)state;
    api_token("connection", &t);
    /* Some other program may serve the default port on a developer's
     * machine: check the message only when nothing answered there. */
    r = tsr_c_run(e, NULL, "list", "tokens", "--token", t.secret, NULL);
    if (r->status == 1) {
        tsr_c_assert_has(r->err, "error: cannot connect to http://127.0.0.1:8080");
        tsr_c_assert_has(r->err, "is the Tessera server running there?");
        tsr_c_assert_has(r->err, "the default server; choose another with --server or "
                                 "TESSERA_SERVER");
    }
    r = tsr_c_run(e, "x\n", "login", "--server", "http://127.0.0.1:1", "--email", "a@b.c", NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "is the Tessera server running there?");
    r = tsr_c_run(e, NULL, "whoami", "--token", t.secret, "--server", "http://nonexistent.invalid",
                  NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "check the server URL");
}

/* Last: the server stops cleanly (exit status 0) on SIGTERM. */
static void test_server_exits_0_on_sigterm(void **state)
{
    (void)state;
    tsr_h_stop(g_srv);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_password_on_stdin),
        cmocka_unit_test(test_login_token_can_make_long_tokens),
        cmocka_unit_test(test_login_follows_the_server_limit),
        cmocka_unit_test(test_login_expires),
        cmocka_unit_test(test_login_again_revokes_the_previous_token),
        cmocka_unit_test(test_login_json),
        cmocka_unit_test(test_login_through_a_terminal),
        cmocka_unit_test(test_login_wrong_password),
        cmocka_unit_test(test_login_usage),
        cmocka_unit_test(test_login_with_token),
        cmocka_unit_test(test_login_with_token_on_stdin),
        cmocka_unit_test(test_login_with_token_replaces_a_login),
        cmocka_unit_test(test_login_with_bad_tokens),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_logout_when_the_server_is_away),
        cmocka_unit_test(test_whoami),
        cmocka_unit_test(test_credentials_open_to_others_are_refused),
        cmocka_unit_test(test_files_follow_xdg_and_home),
        cmocka_unit_test(test_umask_does_not_loosen_the_files),
        cmocka_unit_test(test_server_precedence),
        cmocka_unit_test(test_token_precedence),
        cmocka_unit_test(test_stored_token_goes_only_to_its_server),
        cmocka_unit_test(test_connection_errors),
        cmocka_unit_test(test_server_exits_0_on_sigterm),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
