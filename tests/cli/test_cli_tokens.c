/* test_cli_tokens.c - tessera create, list, describe, update and delete
 * token: every option, both output formats, the prompts, the exit statuses */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_harness.h"

static struct tsr_h_server *g_srv;  /* default limits: 366 days */
static struct tsr_h_server *g_long; /* --max-lifetime 1000, for Ny with N > 1 */
static struct tsr_c_env *g_env;     /* logged in to g_srv */
static struct tsr_c_env *g_env_long;

/* A personal token cannot make one that outlives it (no escalation, in
 * api.md). The token that `tessera login` stores lasts the server's whole
 * limit, but these tests make tokens up to that very limit ("1y" is 366 days
 * across a 29 February), later than the login token, so e acts with a
 * password session, which that rule leaves unbound, through TESSERA_TOKEN.
 * test_cli_auth checks that a login token makes the usual expiries, and
 * test_cli_scopes the bound of a shorter one. */
static void use_session(struct tsr_c_env *e, struct tsr_h_server *srv, const char *email,
                        const char *password)
{
    char session[TSR_H_SECRET_LEN + 1];

    tsr_h_login(srv, email, password, session);
    tsr_c_env_set(e, "TESSERA_TOKEN", session);
}

static int setup(void **state)
{
    static const char *const long_args[] = {"--max-lifetime", "1000", NULL};
    struct tsr_h_opts opts = {.args = long_args};

    (void)state;
    g_srv = tsr_h_start(NULL);
    g_long = tsr_h_start(&opts);
    g_env = tsr_c_env_new();
    tsr_c_login(g_env, g_srv);
    use_session(g_env, g_srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    g_env_long = tsr_c_env_new();
    tsr_c_login(g_env_long, g_long);
    use_session(g_env_long, g_long, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    return 0;
}

/* Runs `tessera create token --name N --expires E` in env e and returns the
 * secret it printed (checked: alone on standard output). */
static const char *create(struct tsr_c_env *e, const char *name, const char *expires)
{
    struct tsr_c_run *r =
        tsr_c_run(e, NULL, "create", "token", "--name", name, "--expires", expires, NULL);
    char *secret;

    tsr_c_assert_status(r, 0);
    assert_int_equal(strlen(r->out), TSR_H_SECRET_LEN + 1);
    assert_int_equal(r->out[TSR_H_SECRET_LEN], '\n');
    secret = tsr_h_strndup(r->out, TSR_H_SECRET_LEN);
    assert_true(tsr_h_secret_ok(secret, "tsr_"));
    tsr_c_assert_has(r->err, tsr_h_fmt("Created token '%s'", name));
    tsr_c_assert_has(r->err, "shown only this once");
    tsr_c_assert_lacks(r->err, "tsr_");
    return secret;
}

/* The token object of secret, through the API. */
static json_t *token_of(struct tsr_h_server *srv, const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/personal_tokens/self", secret);

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

static int64_t expires_of(struct tsr_h_server *srv, const char *secret)
{
    return tsr_h_parse_time(tsr_h_jstr(token_of(srv, secret), "expires_at"));
}

static const char *id_of(struct tsr_h_server *srv, const char *secret)
{
    return tsr_h_jstr(token_of(srv, secret), "id");
}

/* now + years calendar years, as tessera counts them. */
static int64_t years_on(int64_t now, int years)
{
    time_t t = (time_t)now;
    struct tm tm;

    gmtime_r(&t, &tm);
    tm.tm_year += years;
    if (tm.tm_mon == 1 && tm.tm_mday == 29)
        tm.tm_mday = 28; /* good enough: only an exact 29 February needs it */
    return (int64_t)timegm(&tm);
}

/* ---- create ---- */

static void test_create_each_expiry_form(void **state)
{
    static const struct {
        const char *form;
        int64_t seconds;
    } relative[] = {
        {"1d", 1 * TSR_H_DAY},     {"7d", 7 * TSR_H_DAY},   {"15d", 15 * TSR_H_DAY},
        {"30d", 30 * TSR_H_DAY},   {"90d", 90 * TSR_H_DAY}, {"3d", 3 * TSR_H_DAY},
        {"366d", 366 * TSR_H_DAY}, {"1w", 7 * TSR_H_DAY},   {"2W", 14 * TSR_H_DAY},
        {"52w", 364 * TSR_H_DAY},  {"10D", 10 * TSR_H_DAY},
    };
    int64_t before, got;

    (void)state;
    for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
        before = tsr_h_now();
        got = expires_of(g_srv, create(g_env, relative[i].form, relative[i].form));
        tsr_h_assert_between(got, before + relative[i].seconds, tsr_h_now() + relative[i].seconds);
    }
    /* 1y: the same date and time next year, within the default 366 days. */
    before = tsr_h_now();
    got = expires_of(g_srv, create(g_env, "1y", "1y"));
    tsr_h_assert_between(got, years_on(before, 1), years_on(tsr_h_now(), 1));
    /* Ny and Y, on a server that allows longer. */
    before = tsr_h_now();
    got = expires_of(g_long, create(g_env_long, "2y", "2y"));
    tsr_h_assert_between(got, years_on(before, 2), years_on(tsr_h_now(), 2));
    got = expires_of(g_long, create(g_env_long, "1Y", "1Y"));
    tsr_h_assert_between(got, years_on(before, 1), years_on(tsr_h_now(), 1));
}

static void test_create_each_date_form(void **state)
{
    /* What follows the day, as typed and as the API answers it. */
    static const char *const dates[][2] = {
        {"", "T00:00:00Z"},
        {"T10:30", "T10:30:00Z"},
        {"T10:30:15", "T10:30:15Z"},
        {"T10:30:15Z", "T10:30:15Z"},
        {"t10:30:15.999z", "T10:30:15Z"},
        {"T10:30:15+02:00", "T08:30:15Z"},
        {"T10:30-05:30", "T16:00:00Z"},
    };
    /* A day 40 days on, as YYYY-MM-DD. */
    const char *day = tsr_h_strndup(tsr_h_time(tsr_h_now() + 40 * TSR_H_DAY), 10);

    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        const char *form = tsr_h_fmt("%s%s", day, dates[i][0]);
        const char *secret = create(g_env, form, form);

        assert_string_equal(tsr_h_jstr(token_of(g_srv, secret), "expires_at"),
                            tsr_h_fmt("%s%s", day, dates[i][1]));
    }
}

static void test_create_secret_works_and_output_json(void **state)
{
    struct tsr_c_run *r;
    json_t *j, *data;
    const char *secret;

    (void)state;
    secret = create(g_env, "works", "7d");
    assert_true(tsr_h_verify(g_srv, secret));

    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "as json", "--description",
                  "two\nlines", "--expires", "30d", "-o", "json", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    tsr_h_assert_keys(j, "data");
    data = tsr_h_jobj(j, "data");
    tsr_h_assert_token(data, true);
    assert_string_equal(tsr_h_jstr(data, "name"), "as json");
    assert_string_equal(tsr_h_jstr(data, "description"), "two\nlines");
    assert_true(tsr_h_verify(g_srv, tsr_h_jstr(data, "key")));
    json_decref(j);
    tsr_c_assert_no_stray_secrets(g_env);
}

static void test_create_refusals(void **state)
{
    struct tsr_c_run *r;
    long before = tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env));

    (void)state;
    /* Checked locally: usage errors, exit 2, no request. */
    static const char *const bad[] = {"0d", "yesterday", "1x", "d", "1000000d", "2026-02-30"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", bad[i], NULL);
        tsr_c_assert_status(r, 2);
        tsr_c_assert_has(r->err, "error: the expiry");
        tsr_c_assert_has(r->err, "see 'tessera create token --help'");
    }
    /* Checked by the server: its detail, exit 1. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "2020-01-01", NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->err, "error: expires_at must be in the future\n");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "2y", NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->err, "error: expires_at must be at most 366 days from now\n");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "  ", "--expires", "1d", NULL);
    tsr_c_assert_status(r, 1);
    tsr_c_assert_has(r->err, "error: name");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "bell\a", "--expires", "1d", NULL);
    tsr_c_assert_status(r, 1);
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--description",
                  "\xff", NULL);
    tsr_c_assert_status(r, 2);
    /* Missing name or expiry without a terminal to ask on. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--expires", "1d", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: --name is required");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: --expires is required");
    r = tsr_c_run(g_env, NULL, "create", "token", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: --name and --expires are required");
    assert_string_equal(r->out, "");
    assert_int_equal(tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env)), before);
}

static void test_create_asks_on_a_terminal(void **state)
{
    const char *out = tsr_h_fmt("%s/secret.out", g_env->home);
    struct tsr_c_pty *p;
    char *secret;
    size_t len;
    int64_t before = tsr_h_now();

    (void)state;
    /* Both asked; standard output to a file, as in $(tessera create token). */
    p = tsr_c_pty_start(g_env, out, "create", "token", NULL);
    tsr_c_pty_expect(p, "Name: ");
    tsr_c_pty_send(p, "\n"); /* empty: asked again */
    tsr_c_pty_expect(p, "A name is required.");
    tsr_c_pty_expect(p, "Name: ");
    tsr_c_pty_send(p, "typed on a terminal\n");
    tsr_c_pty_expect(p, "Expires in (1d, 7d, 15d, 30d, 90d, 1y");
    tsr_c_pty_expect(p, "[30d]: ");
    tsr_c_pty_send(p, "soon\n"); /* not a form: said why, asked again */
    tsr_c_pty_expect(p, "the expiry 'soon' is not one of");
    tsr_c_pty_expect(p, "[30d]: ");
    tsr_c_pty_send(p, "7d\n");
    assert_int_equal(tsr_c_pty_finish(p), 0);
    tsr_c_assert_has(p->buf, "Created token 'typed on a terminal'");
    tsr_c_assert_lacks(p->buf, "tsr_");
    secret = tsr_h_read_file(out, &len);
    assert_non_null(secret);
    assert_int_equal(len, TSR_H_SECRET_LEN + 1);
    secret[TSR_H_SECRET_LEN] = '\0';
    tsr_h_record_secret(secret);
    unlink(out);
    tsr_h_assert_between(expires_of(g_srv, secret), before + 7 * TSR_H_DAY,
                         tsr_h_now() + 7 * TSR_H_DAY);

    /* Only the expiry missing; Enter takes the default, 30 days. */
    before = tsr_h_now();
    p = tsr_c_pty_start(g_env, out, "create", "token", "--name", "default expiry", NULL);
    tsr_c_pty_expect(p, "[30d]: ");
    tsr_c_pty_send(p, "\n");
    assert_int_equal(tsr_c_pty_finish(p), 0);
    tsr_c_assert_lacks(p->buf, "Name: ");
    secret = tsr_h_read_file(out, NULL);
    assert_non_null(secret);
    secret[TSR_H_SECRET_LEN] = '\0';
    tsr_h_record_secret(secret);
    unlink(out);
    tsr_h_assert_between(expires_of(g_srv, secret), before + 30 * TSR_H_DAY,
                         tsr_h_now() + 30 * TSR_H_DAY);

    /* End of input at a question: nothing made. */
    p = tsr_c_pty_start(g_env, NULL, "create", "token", "--expires", "1d", NULL);
    tsr_c_pty_expect(p, "Name: ");
    tsr_c_pty_send(p, "\x04"); /* Ctrl-D */
    assert_int_equal(tsr_c_pty_finish(p), 2);
    tsr_c_assert_has(p->buf, "error: no name given");
}

/* ---- list ---- */

/* Makes the tokens the list tests look at, in a fresh account's view: a
 * second user, so that the counts are exact. */
static struct tsr_c_env *g_lister;
static const char *g_list_ids[5];
/* "q7" and "ci7" mark them: the login's own token (named after the host)
 * must not match the searches. */
static const char *const g_list_names[5] = {"alpha q7", "bravo ci7 q7", "charlie q7",
                                            "delta CI7 q7", "echo q7"};

static void make_list_user(void)
{
    static const char *const expiries[5] = {"30d", "1d", "90d", "7d", "15d"};

    if (g_lister != NULL)
        return;
    tsr_h_add_user(g_srv, "lister@example.com", "lister-password");
    g_lister = tsr_c_env_new();
    /* A running server sees a new user within about a second (the API
     * tests check that bound); here, under a loaded machine, allow 10 s. */
    for (int64_t end = tsr_h_mono_ms() + 10000;;) {
        struct tsr_c_run *r = tsr_c_run(g_lister, "lister-password\n", "login", "--server",
                                        g_srv->base, "--email", "lister@example.com", NULL);
        if (r->status == 0)
            break;
        if (tsr_h_mono_ms() > end)
            tsr_c_assert_status(r, 0);
        tsr_h_sleep_ms(200);
    }
    use_session(g_lister, g_srv, "lister@example.com", "lister-password");
    /* Without the login's own token in the way: list through another. */
    for (int i = 0; i < 5; i++)
        g_list_ids[i] = id_of(g_srv, create(g_lister, g_list_names[i], expiries[i]));
}

/* `tessera list tokens -o json ARGS...` (NULL-ended) as the list user. */
static json_t *list_json(const char *first, ...) __attribute__((sentinel));
static json_t *list_json(const char *first, ...)
{
    const char *args[16] = {"list", "tokens", "-o", "json"};
    const char *a = first;
    int n = 4;
    struct tsr_c_run *r;
    json_t *j;
    va_list ap;

    va_start(ap, first);
    while (a != NULL && n < 15) {
        args[n++] = a;
        a = va_arg(ap, const char *);
    }
    va_end(ap);
    args[n] = NULL;
    r = tsr_c_runv(g_lister, NULL, args);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", r->out);
    tsr_h_assert_keys(j, "count", "total_pages", "results");
    return j;
}

/* The names in a list object's results, joined with ','. */
static const char *names(const json_t *j)
{
    const json_t *results = tsr_h_jarr(j, "results");
    const char *out = "";
    size_t i;
    json_t *t;

    json_array_foreach(results, i, t)
    {
        tsr_h_assert_token(t, false);
        out = tsr_h_fmt("%s%s%s", out, i ? "," : "", tsr_h_jstr(t, "name"));
    }
    return out;
}

static void test_list_table(void **state)
{
    struct tsr_c_run *r;
    const char *login_name = tsr_h_fmt("tessera-cli@%s", tsr_c_hostname());

    (void)state;
    make_list_user();
    r = tsr_c_run(g_lister, NULL, "list", "tokens", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    tsr_c_assert_has(r->out, "ID ");
    tsr_c_assert_has(r->out, "NAME ");
    tsr_c_assert_has(r->out, "HINT ");
    tsr_c_assert_has(r->out, "CREATED (UTC) ");
    tsr_c_assert_has(r->out, "EXPIRES (UTC) ");
    tsr_c_assert_has(r->out, "LAST USED ");
    tsr_c_assert_has(r->out, "STATUS\n");
    for (int i = 0; i < 5; i++) {
        tsr_c_assert_has(r->out, g_list_ids[i]);
        tsr_c_assert_has(r->out, g_list_names[i]);
    }
    tsr_c_assert_has(r->out, login_name);
    /* Expiry: absolute and relative; never used; active. */
    {
        struct tsr_h_resp *t =
            tsr_h_get(g_srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", g_list_ids[2]),
                      tsr_c_stored_token(g_lister));
        const char *at = tsr_h_jstr(tsr_h_jobj(t->json, "data"), "expires_at");

        tsr_c_assert_has(r->out, tsr_h_fmt("%.10s %.5s (in 90 days)", at, at + 11));
    }
    tsr_c_assert_has(r->out, "(in 24 hours)");
    tsr_c_assert_has(r->out, "never");
    tsr_c_assert_has(r->out, "active");
    /* The newest first, by default. */
    assert_true(strstr(r->out, "echo q7") < strstr(r->out, "alpha q7"));
    /* The secrets are not there, only their hints. */
    assert_int_equal(tsr_c_count_secrets(r->out), 0);
    tsr_c_assert_has(r->out, "tsr_");
}

static void test_list_json_is_the_api_object(void **state)
{
    json_t *j;
    struct tsr_h_resp *api;

    (void)state;
    make_list_user();
    j = list_json("--sort", "-created", NULL);
    api = tsr_h_get(g_srv, "/v4/iam/personal_tokens", tsr_c_stored_token(g_lister));
    tsr_h_assert_status(api, 200);
    assert_int_equal(tsr_h_jint(j, "count"), tsr_h_jint(api->json, "count"));
    assert_int_equal(tsr_h_jint(j, "count"), 6);
    assert_int_equal(tsr_h_jint(j, "total_pages"), 1);
    assert_string_equal(names(j), names(api->json));
    json_decref(j);
}

static void test_list_options(void **state)
{
    struct tsr_c_run *r;
    json_t *j;

    (void)state;
    make_list_user();
    /* --search: name or description, ASCII letters in either case. */
    j = list_json("--search", "ci7", NULL);
    assert_string_equal(names(j), "delta CI7 q7,bravo ci7 q7");
    json_decref(j);
    /* --sort, ascending and descending, with the CLI's short names. */
    j = list_json("--search", "q7", "--sort", "name", NULL);
    assert_string_equal(names(j), "alpha q7,bravo ci7 q7,charlie q7,delta CI7 q7,echo q7");
    json_decref(j);
    j = list_json("--search", "q7", "--sort", "-name", NULL);
    assert_string_equal(names(j), "echo q7,delta CI7 q7,charlie q7,bravo ci7 q7,alpha q7");
    json_decref(j);
    j = list_json("--search", "q7", "--sort", "expires", NULL);
    assert_string_equal(names(j), "bravo ci7 q7,delta CI7 q7,echo q7,alpha q7,charlie q7");
    json_decref(j);
    j = list_json("--search", "q7", "--sort=-expires_at", NULL);
    assert_string_equal(names(j), "charlie q7,alpha q7,echo q7,delta CI7 q7,bravo ci7 q7");
    json_decref(j);
    j = list_json("--search", "q7", "--sort", "created", NULL);
    assert_string_equal(names(j), "alpha q7,bravo ci7 q7,charlie q7,delta CI7 q7,echo q7");
    json_decref(j);
    j = list_json("--search", "Q7", "--sort", "-last_used", NULL);
    assert_int_equal(json_array_size(tsr_h_jarr(j, "results")), 5);
    json_decref(j);
    /* --page and --page-size. */
    j = list_json("--sort", "created", "--page-size", "2", NULL);
    assert_int_equal(tsr_h_jint(j, "total_pages"), 3);
    assert_int_equal(json_array_size(tsr_h_jarr(j, "results")), 2);
    json_decref(j);
    j = list_json("--sort", "created", "--page-size=2", "--page=3", NULL);
    assert_string_equal(names(j), "delta CI7 q7,echo q7");
    json_decref(j);
    /* --all: every page in one object. */
    j = list_json("--all", "--page-size", "2", "--sort", "name", NULL);
    assert_int_equal(tsr_h_jint(j, "count"), 6);
    assert_int_equal(json_array_size(tsr_h_jarr(j, "results")), 6);
    assert_true(strncmp(names(j), "alpha q7,bravo ci7 q7,charlie q7,delta CI7 q7,echo q7,", 53) ==
                0);
    json_decref(j);

    /* In a table, what the pages say goes to standard error. */
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--page-size", "2", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "Page 1 of 3 (6 tokens): see the next with --page 2, or all "
                                "with --all.\n");
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--page-size", "2", "--all", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    for (int i = 0; i < 5; i++)
        tsr_c_assert_has(r->out, g_list_names[i]);
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--page", "9", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "");
    assert_string_equal(r->err, "No tokens on page 9: there is 1 page.\n");
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--search", "nothing like it", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "No tokens match that search.\n");
    /* The search is sent escaped: '&' and '%' are text. */
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--search", "a&page=2%", NULL);
    tsr_c_assert_status(r, 0);
    /* The aliases of the noun. */
    r = tsr_c_run(g_lister, NULL, "list", "personal-tokens", NULL);
    tsr_c_assert_status(r, 0);
    r = tsr_c_run(g_lister, NULL, "list", "personal-token", NULL);
    tsr_c_assert_status(r, 0);
    r = tsr_c_run(g_lister, NULL, "list", "token", NULL);
    tsr_c_assert_status(r, 0);
}

static void test_list_refusals(void **state)
{
    static const char *const bad[][2] = {
        {"--page", "0"},      {"--page", "x"},        {"--page", "-1"},
        {"--page-size", "0"}, {"--page-size", "101"}, {"--page-size", "1e2"},
        {"--sort", "colour"}, {"--sort", "--name"},   {"--page", "99999999999999999999"},
    };
    struct tsr_c_run *r;

    (void)state;
    make_list_user();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = tsr_c_run(g_lister, NULL, "list", "tokens", bad[i][0], bad[i][1], NULL);
        tsr_c_assert_status(r, 2);
        tsr_c_assert_has(r->err, tsr_h_fmt("error: %s must be", bad[i][0]));
    }
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--all", "--page", "2", NULL);
    tsr_c_assert_status(r, 2);
    r = tsr_c_run(g_lister, NULL, "list", "tokens", "--page", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: option --page needs a value; see 'tessera --help'\n");
}

/* ---- describe ---- */

static void test_describe(void **state)
{
    struct tsr_c_run *r;
    struct tsr_h_resp *api;
    const char *secret, *id, *upper;
    json_t *j;

    (void)state;
    /* The id from create's JSON: asking the API with the secret would mark
     * the token used. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "described", "--description",
                  "first line\nsecond line", "--expires", "15d", "-o", "json", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    secret = tsr_h_fmt("%s", tsr_h_jstr(tsr_h_jobj(j, "data"), "key"));
    id = tsr_h_fmt("%s", tsr_h_jstr(tsr_h_jobj(j, "data"), "id"));
    json_decref(j);

    r = tsr_c_run(g_env, NULL, "describe", "token", id, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, tsr_h_fmt("ID:           %s\n", id));
    tsr_c_assert_has(r->out, "Name:         described\n");
    tsr_c_assert_has(r->out, "Description:  first line\n              second line\n");
    tsr_c_assert_has(r->out, tsr_h_fmt("Hint:         %.8s\n", secret));
    tsr_c_assert_has(r->out, "Status:       active\n");
    tsr_c_assert_has(r->out, "Created:      ");
    tsr_c_assert_has(r->out, "UTC (in 15 days)\n");
    tsr_c_assert_has(r->out, "Last used:    never\n");
    tsr_c_assert_lacks(r->out, secret);

    /* JSON: the API's own object. */
    r = tsr_c_run(g_env, NULL, "describe", "personal-token", id, "--output", "json", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    api = tsr_h_get(g_srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", id), secret);
    tsr_h_assert_status(api, 200);
    tsr_h_assert_token(tsr_h_jobj(j, "data"), false);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(j, "data"), "name"), "described");
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(j, "data"), "expires_at"),
                        tsr_h_jstr(tsr_h_jobj(api->json, "data"), "expires_at"));
    json_decref(j);

    /* An id in capitals is the same id; "self" is the token in force. */
    upper = tsr_h_fmt("%s", id);
    for (char *c = (char *)(uintptr_t)upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    r = tsr_c_run(g_env, NULL, "describe", "token", upper, NULL);
    tsr_c_assert_status(r, 0);
    r = tsr_c_run(g_env, NULL, "describe", "token", "self", "--token", secret, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Name:         described\n");
    /* self with the login's token: its own object. */
    r = tsr_c_run(g_env, NULL, "describe", "token", "self", "-o", "json", "--token",
                  tsr_c_stored_token(g_env), NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, tsr_h_fmt("\"name\": \"tessera-cli@%s\"", tsr_c_hostname()));
}

static void test_not_found_and_bad_ids(void **state)
{
    static const char *const verbs[] = {"describe", "update", "delete"};
    const char *missing = "01936f6e-0000-7000-8000-000000000000";
    struct tsr_c_run *r;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        if (i == 0)
            r = tsr_c_run(g_env, NULL, verbs[i], "token", missing, NULL);
        else if (i == 1)
            r = tsr_c_run(g_env, NULL, verbs[i], "token", missing, "--name", "x", NULL);
        else
            r = tsr_c_run(g_env, NULL, verbs[i], "token", missing, "--yes", NULL);
        tsr_c_assert_status(r, 4);
        assert_string_equal(r->err, "error: no such token\n");
        r = tsr_c_run(g_env, NULL, verbs[i], "token", "12345", NULL);
        tsr_c_assert_status(r, 2);
        tsr_c_assert_has(r->err, "error: '12345' is not a token id");
        r = tsr_c_run(g_env, NULL, verbs[i], "token", NULL);
        tsr_c_assert_status(r, 2);
        tsr_c_assert_has(r->err, "error: missing the token id");
    }
}

/* ---- update ---- */

static void test_update(void **state)
{
    struct tsr_c_run *r;
    const char *secret = create(g_env, "to update", "7d");
    const char *id = id_of(g_srv, secret);
    int64_t before;
    json_t *j, *t;

    (void)state;
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--name", "updated", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Name:         updated\n");
    assert_string_equal(tsr_h_jstr(token_of(g_srv, secret), "name"), "updated");

    r = tsr_c_run(g_env, NULL, "update", "token", id, "--description", "now described", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(tsr_h_jstr(token_of(g_srv, secret), "description"), "now described");

    before = tsr_h_now();
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--expires", "90d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_h_assert_between(expires_of(g_srv, secret), before + 90 * TSR_H_DAY,
                         tsr_h_now() + 90 * TSR_H_DAY);

    r = tsr_c_run(g_env, NULL, "update", "tokens", id, "--name", "all three", "--description", "",
                  "--expires", "2w", "-o", "json", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    t = tsr_h_jobj(j, "data");
    tsr_h_assert_token(t, false);
    assert_string_equal(tsr_h_jstr(t, "name"), "all three");
    assert_string_equal(tsr_h_jstr(t, "description"), "");
    json_decref(j);
    /* The secret stays the same. */
    assert_true(tsr_h_verify(g_srv, secret));

    r = tsr_c_run(g_env, NULL, "update", "token", id, NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: give at least one of --name, --description, --expires, ");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--expires", "someday", NULL);
    tsr_c_assert_status(r, 2);
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--expires", "400d", NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->err, "error: expires_at must be at most 366 days from now\n");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--yes", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: option --yes does not apply to 'tessera update token'; "
                                "see 'tessera update token --help'\n");
}

static void test_expired_tokens(void **state)
{
    struct tsr_c_run *r;
    int64_t at = tsr_h_now() + 3;
    const char *secret = create(g_env, "short lived", tsr_h_time(at));
    const char *id = id_of(g_srv, secret);

    (void)state;
    while (tsr_h_now() <= at + 1) /* bounded: at most about 4 s */
        tsr_h_sleep_ms(100);
    r = tsr_c_run(g_env, NULL, "describe", "token", id, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Status:       expired\n");
    r = tsr_c_run(g_env, NULL, "list", "tokens", "--search", "short lived", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "expired\n");
    /* An expired token can only be deleted. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--name", "revived", NULL);
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->err, "error: the token has expired: it can only be deleted\n");
    /* And it no longer authenticates: exit 3. */
    r = tsr_c_run(g_env, NULL, "list", "tokens", "--token", secret, NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "error: a valid token is required: the token from --token is "
                             "expired, revoked or unknown to");
    r = tsr_c_run(g_env, NULL, "delete", "token", id, "--yes", NULL);
    tsr_c_assert_status(r, 0);
}

/* ---- delete ---- */

static void test_delete_with_yes(void **state)
{
    struct tsr_c_run *r;
    const char *secret = create(g_env, "delete me", "1d");
    const char *id = id_of(g_srv, secret);

    (void)state;
    r = tsr_c_run(g_env, NULL, "delete", "token", id, "--yes", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "");
    assert_string_equal(r->err, tsr_h_fmt("Deleted token 'delete me' (id %s).\n", id));
    assert_false(tsr_h_verify(g_srv, secret));
    r = tsr_c_run(g_env, NULL, "delete", "token", id, "-y", NULL);
    tsr_c_assert_status(r, 4);
    /* json: nothing on standard output (the API answers 204, no body). */
    secret = create(g_env, "delete me too", "1d");
    r = tsr_c_run(g_env, NULL, "delete", "token", id_of(g_srv, secret), "--yes", "-o", "json",
                  NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "");
    assert_false(tsr_h_verify(g_srv, secret));
}

static void test_delete_refused_without_a_terminal(void **state)
{
    struct tsr_c_run *r;
    const char *secret = create(g_env, "keep me", "1d");

    (void)state;
    r = tsr_c_run(g_env, "delete\n", "delete", "token", id_of(g_srv, secret), NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: refusing to delete without confirmation: standard input "
                             "is not a terminal");
    tsr_c_assert_has(r->err, "add --yes");
    assert_true(tsr_h_verify(g_srv, secret));
}

static void test_delete_asks_to_type_delete(void **state)
{
    const char *secret = create(g_env, "confirm me", "1d");
    const char *id = id_of(g_srv, secret);
    struct tsr_c_pty *p;

    (void)state;
    /* Anything but "delete" keeps the token. */
    p = tsr_c_pty_start(g_env, NULL, "delete", "token", id, NULL);
    tsr_c_pty_expect(p, tsr_h_fmt("Token 'confirm me' (id %s, %.8s", id, secret));
    tsr_c_pty_expect(p, "Type delete to confirm: ");
    tsr_c_pty_send(p, "yes\n");
    assert_int_equal(tsr_c_pty_finish(p), 1);
    tsr_c_assert_has(p->buf, "error: not deleted");
    assert_true(tsr_h_verify(g_srv, secret));

    p = tsr_c_pty_start(g_env, NULL, "delete", "token", id, NULL);
    tsr_c_pty_expect(p, "Type delete to confirm: ");
    tsr_c_pty_send(p, "delete\n");
    assert_int_equal(tsr_c_pty_finish(p), 0);
    tsr_c_assert_has(p->buf, "Deleted token 'confirm me'");
    assert_false(tsr_h_verify(g_srv, secret));

    /* A token that is not there is said so before any question. */
    p = tsr_c_pty_start(g_env, NULL, "delete", "token", id, NULL);
    assert_int_equal(tsr_c_pty_finish(p), 4);
    tsr_c_assert_lacks(p->buf, "Type delete");
}

/* ---- authentication ---- */

static void test_not_authenticated(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    const char *secret = create(g_env, "soon revoked", "1d");
    struct tsr_c_run *r;

    (void)state;
    r = tsr_c_run(e, NULL, "list", "tokens", "--server", g_srv->base, NULL);
    tsr_c_assert_status(r, 3);
    tsr_c_assert_has(r->err, "error: not logged in: run 'tessera login --server");
    tsr_c_assert_no_stray_secrets(e);
    r = tsr_c_run(g_env, NULL, "delete", "token", "self", "--yes", "--token", secret, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_env_set(e, "TESSERA_TOKEN", secret);
    tsr_c_env_set(e, "TESSERA_SERVER", g_srv->base);
    r = tsr_c_run(e, NULL, "create", "token", "--name", "x", "--expires", "1d", NULL);
    tsr_c_assert_status(r, 3);
    assert_string_equal(r->out, "");
    tsr_c_assert_has(r->err, "the token from TESSERA_TOKEN is expired, revoked or unknown");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_each_expiry_form),
        cmocka_unit_test(test_create_each_date_form),
        cmocka_unit_test(test_create_secret_works_and_output_json),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_create_asks_on_a_terminal),
        cmocka_unit_test(test_list_table),
        cmocka_unit_test(test_list_json_is_the_api_object),
        cmocka_unit_test(test_list_options),
        cmocka_unit_test(test_list_refusals),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_not_found_and_bad_ids),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_expired_tokens),
        cmocka_unit_test(test_delete_with_yes),
        cmocka_unit_test(test_delete_refused_without_a_terminal),
        cmocka_unit_test(test_delete_asks_to_type_delete),
        cmocka_unit_test(test_not_authenticated),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
