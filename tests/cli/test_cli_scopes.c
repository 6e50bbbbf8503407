/* test_cli_scopes.c - tessera and what a token may do and from where:
 * --scope, --allow-ip and --not-before on create and update, their clearing,
 * the server's refusals, list scopes, and the new members in every view */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_harness.h"

#define BULK_SCOPES 4 /* long names, to fill a table's cell */

static struct tsr_h_server *g_srv;
static struct tsr_c_env *g_env; /* logged in as the admin: a global token */

/* `tesserad scope add NAME [--description D]` on g_srv's database. */
static void scope_add(const char *name, const char *description)
{
    struct tsr_h_cmd *c =
        description != NULL ? tsr_h_cmd(g_srv, NULL, "scope", "add", name, "--description",
                                        description, "--db", g_srv->db, NULL)
                            : tsr_h_cmd(g_srv, NULL, "scope", "add", name, "--db", g_srv->db, NULL);

    if (c->status != 0)
        fail_msg("tesserad scope add %s: exit %d: %s", name, c->status, c->err);
}

/* Whether GET /v4/iam/scopes?page_size=100 (any page) lists name. */
static bool server_lists(const char *name)
{
    for (int page = 1; page <= 3; page++) {
        struct tsr_h_resp *r =
            tsr_h_get(g_srv, tsr_h_fmt("/v4/iam/scopes?page_size=100&page=%d", page),
                      tsr_c_stored_token(g_env));
        const json_t *s;
        size_t i;

        tsr_h_assert_status(r, 200);
        json_array_foreach(tsr_h_jarr(r->json, "results"), i, s)
        {
            if (strcmp(tsr_h_jstr(s, "name"), name) == 0)
                return true;
        }
    }
    return false;
}

static int setup(void **state)
{
    (void)state;
    g_srv = tsr_h_start(NULL);
    g_env = tsr_c_env_new();
    tsr_c_login(g_env, g_srv);
    scope_add("orders:read", "Read orders");
    scope_add("orders:write", "Change orders");
    /* A running server sees the operator's change within a second; allow
     * 10 s on a loaded machine. */
    for (int64_t end = tsr_h_mono_ms() + 10000; !server_lists("orders:write");) {
        if (tsr_h_mono_ms() > end)
            fail_msg("the server did not see the operator scope orders:write");
        tsr_h_sleep_ms(200);
    }
    return 0;
}

/* `tessera ARGS... -o json` (NULL-ended) in g_env, which must exit 0; its
 * output parsed. */
static json_t *run_json(const char *first, ...) __attribute__((sentinel));
static json_t *run_json(const char *first, ...)
{
    const char *args[32];
    const char *a = first;
    int n = 0;
    struct tsr_c_run *r;
    json_t *j;
    va_list ap;

    va_start(ap, first);
    while (a != NULL && n < 29) {
        args[n++] = a;
        a = va_arg(ap, const char *);
    }
    va_end(ap);
    args[n++] = "-o";
    args[n++] = "json";
    args[n] = NULL;
    r = tsr_c_runv(g_env, NULL, args);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    j = json_loads(r->out, 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", r->out);
    return j;
}

/* The token object of id, through the API with the login's token. */
static json_t *api_token(const char *id)
{
    struct tsr_h_resp *r =
        tsr_h_get(g_srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", id), tsr_c_stored_token(g_env));

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

/* The strings of the array member key of obj, joined with ','. */
static const char *joined(const json_t *obj, const char *key)
{
    const json_t *arr = tsr_h_jarr(obj, key), *s;
    const char *out = "";
    size_t i;

    json_array_foreach(arr, i, s)
    {
        assert_true(json_is_string(s));
        out = tsr_h_fmt("%s%s%s", out, i ? "," : "", json_string_value(s));
    }
    return out;
}

/* The line of text that holds needle (without its line break). */
static const char *line_with(const char *text, const char *needle)
{
    const char *at = strstr(text, needle), *start, *end;

    if (at == NULL)
        fail_msg("no line holds '%s' in:\n%s", needle, text);
    for (start = at; start > text && start[-1] != '\n'; start--)
        ;
    end = strchr(at, '\n');
    return tsr_h_strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* The row of a table that starts with the cell first. */
static const char *row_of(const char *table, const char *first)
{
    const char *needle = tsr_h_fmt("\n%s ", first);
    const char *at = strstr(table, needle);

    if (at == NULL)
        fail_msg("no row starts with '%s' in:\n%s", first, table);
    return line_with(at + 1, needle + 1);
}

/* Makes a token with `tessera create token ... -o json` and the extra
 * arguments (NULL-ended); returns its id. */
static const char *create_json(const char *name, ...) __attribute__((sentinel));
static const char *create_json(const char *name, ...)
{
    const char *args[32] = {"create", "token", "--name", name, "--expires", "14d"};
    const char *a;
    int n = 6;
    struct tsr_c_run *r;
    json_t *j;
    const char *id;
    va_list ap;

    va_start(ap, name);
    while ((a = va_arg(ap, const char *)) != NULL && n < 29)
        args[n++] = a;
    va_end(ap);
    args[n++] = "-o";
    args[n++] = "json";
    args[n] = NULL;
    r = tsr_c_runv(g_env, NULL, args);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    id = tsr_h_fmt("%s", tsr_h_jstr(tsr_h_jobj(j, "data"), "id"));
    json_decref(j);
    return id;
}

/* ---- create, and reading back ---- */

static void test_create_scoped_and_read_back(void **state)
{
    const char *not_before = tsr_h_time(tsr_h_now() + 3 * TSR_H_DAY);
    struct tsr_c_run *r;
    json_t *j, *data, *api;
    const char *id, *secret, *row;
    size_t i;
    json_t *t;
    bool found = false;

    (void)state;
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "scoped", "--expires", "14d", "--scope",
                  "tokens:read", "--scope", "orders:read", "--allow-ip", "10.0.0.0/8", "--allow-ip",
                  "192.0.2.7", "--allow-ip", "2001:db8::/48", "--not-before", not_before, "-o",
                  "json", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    data = tsr_h_jobj(j, "data");
    id = tsr_h_fmt("%s", tsr_h_jstr(data, "id"));
    secret = tsr_h_fmt("%s", tsr_h_jstr(data, "key"));
    /* The server's members, passed through: sorted scopes, canonical
     * blocks in the order given. */
    assert_string_equal(joined(data, "scopes"), "orders:read,tokens:read");
    assert_string_equal(joined(data, "allowed_ips"), "10.0.0.0/8,192.0.2.7/32,2001:db8::/48");
    assert_string_equal(tsr_h_jstr(data, "not_before"), not_before);
    assert_true(json_is_null(json_object_get(data, "last_used_ip")));
    json_decref(j);
    /* And stored so. */
    api = api_token(id);
    assert_string_equal(joined(api, "scopes"), "orders:read,tokens:read");
    assert_string_equal(joined(api, "allowed_ips"), "10.0.0.0/8,192.0.2.7/32,2001:db8::/48");
    assert_string_equal(tsr_h_jstr(api, "not_before"), not_before);

    /* describe: each on its own labelled line. */
    r = tsr_c_run(g_env, NULL, "describe", "token", id, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Scopes:       orders:read tokens:read\n");
    tsr_c_assert_has(r->out, "Allowed IPs:  10.0.0.0/8 192.0.2.7/32 2001:db8::/48\n");
    tsr_c_assert_has(r->out, tsr_h_fmt("Not before:   %.10s %.5s UTC (in 3 days)\n", not_before,
                                       not_before + 11));
    tsr_c_assert_has(r->out, "Last used IP: -\n");
    tsr_c_assert_lacks(r->out, secret);
    /* describe -o json: the API's object. */
    j = run_json("describe", "token", id, NULL);
    data = tsr_h_jobj(j, "data");
    assert_string_equal(joined(data, "scopes"), joined(api, "scopes"));
    assert_string_equal(joined(data, "allowed_ips"), joined(api, "allowed_ips"));
    assert_string_equal(tsr_h_jstr(data, "not_before"), not_before);
    assert_true(json_is_null(json_object_get(data, "last_used_ip")));
    json_decref(j);

    /* list: a SCOPES column, space-separated. */
    r = tsr_c_run(g_env, NULL, "list", "tokens", "--search", "scoped", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(line_with(r->out, "ID "), "SCOPES ");
    row = line_with(r->out, id);
    tsr_c_assert_has(row, " orders:read tokens:read ");
    tsr_c_assert_has(row, "active");
    /* list -o json: the members as the API gives them. */
    j = run_json("list", "tokens", "--all", NULL);
    json_array_foreach(tsr_h_jarr(j, "results"), i, t)
    {
        if (strcmp(tsr_h_jstr(t, "id"), id) != 0)
            continue;
        found = true;
        assert_string_equal(joined(t, "scopes"), "orders:read,tokens:read");
        assert_string_equal(joined(t, "allowed_ips"), "10.0.0.0/8,192.0.2.7/32,2001:db8::/48");
        assert_string_equal(tsr_h_jstr(t, "not_before"), not_before);
    }
    assert_true(found);
    json_decref(j);
    /* Not yet valid: the server refuses it as unknown until not_before. */
    assert_false(tsr_h_verify(g_srv, secret));
}

static void test_default_is_global(void **state)
{
    const char *id = create_json("unscoped", NULL);
    struct tsr_c_run *r;

    (void)state;
    assert_string_equal(joined(api_token(id), "scopes"), "global");
    assert_string_equal(joined(api_token(id), "allowed_ips"), "");
    r = tsr_c_run(g_env, NULL, "describe", "token", id, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Scopes:       global\n");
    tsr_c_assert_has(r->out, "Allowed IPs:  anywhere\n");
    tsr_c_assert_has(r->out, "Not before:   none\n");
    r = tsr_c_run(g_env, NULL, "list", "tokens", "--search", "unscoped", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(line_with(r->out, id), " global ");
}

/* ---- update ---- */

static void test_update_replaces_scopes_and_addresses(void **state)
{
    const char *id = create_json("to rescope", "--scope", "tokens:read", "--scope", "orders:read",
                                 "--allow-ip", "10.0.0.0/8", NULL);
    struct tsr_c_run *r;
    json_t *j, *data;

    (void)state;
    /* --scope replaces the whole list. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--scope", "orders:write", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Scopes:       orders:write\n");
    tsr_c_assert_has(r->out, "Allowed IPs:  10.0.0.0/8\n");
    assert_string_equal(joined(api_token(id), "scopes"), "orders:write");
    /* Two again, and the address list replaced too, as JSON. */
    j = run_json("update", "token", id, "--scope", "user:read", "--scope", "orders:read",
                 "--allow-ip", "2001:db8:1::/48", "--allow-ip", "198.51.100.0/24", NULL);
    data = tsr_h_jobj(j, "data");
    assert_string_equal(joined(data, "scopes"), "orders:read,user:read");
    assert_string_equal(joined(data, "allowed_ips"), "2001:db8:1::/48,198.51.100.0/24");
    json_decref(j);
    data = api_token(id);
    assert_string_equal(joined(data, "scopes"), "orders:read,user:read");
    assert_string_equal(joined(data, "allowed_ips"), "2001:db8:1::/48,198.51.100.0/24");
    /* The name is untouched by all this. */
    assert_string_equal(tsr_h_jstr(data, "name"), "to rescope");
    /* --scope global makes it global again. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--scope", "global", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(joined(api_token(id), "scopes"), "global");
}

static void test_update_clears(void **state)
{
    const char *not_before = tsr_h_time(tsr_h_now() + 2 * TSR_H_DAY);
    const char *id =
        create_json("to clear", "--allow-ip", "203.0.113.0/24", "--not-before", not_before, NULL);
    struct tsr_c_run *r;
    json_t *data;

    (void)state;
    data = api_token(id);
    assert_string_equal(joined(data, "allowed_ips"), "203.0.113.0/24");
    assert_string_equal(tsr_h_jstr(data, "not_before"), not_before);
    /* A later not-before, in a relative form. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--not-before", "7d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(api_token(id), "not_before")),
                         tsr_h_now() - 60 + 7 * TSR_H_DAY, tsr_h_now() + 7 * TSR_H_DAY);
    /* Both cleared at once. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--allow-anywhere", "--clear-not-before",
                  NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "Allowed IPs:  anywhere\n");
    tsr_c_assert_has(r->out, "Not before:   none\n");
    data = api_token(id);
    assert_int_equal(json_array_size(tsr_h_jarr(data, "allowed_ips")), 0);
    assert_true(json_is_null(json_object_get(data, "not_before")));
    /* Each alone: an address list again, then cleared on its own. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--allow-ip", "192.0.2.0/24", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(joined(api_token(id), "allowed_ips"), "192.0.2.0/24");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--allow-anywhere", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(joined(api_token(id), "allowed_ips"), "");
    /* Clearing what is already clear is no mistake. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--clear-not-before", NULL);
    tsr_c_assert_status(r, 0);
    assert_true(json_is_null(json_object_get(api_token(id), "not_before")));
}

/* ---- the server's refusals ---- */

/* Asserts that r failed with exit 1 and one line, "error: ...", that holds
 * what. */
static void assert_refused(const struct tsr_c_run *r, const char *what)
{
    tsr_c_assert_status(r, 1);
    assert_string_equal(r->out, "");
    assert_true(strncmp(r->err, "error: ", 7) == 0);
    assert_non_null(strchr(r->err, '\n'));
    assert_string_equal(strchr(r->err, '\n'), "\n");
    tsr_c_assert_has(r->err, what);
}

static void test_server_refusals(void **state)
{
    const char *id = create_json("refusals", "--scope", "orders:read", NULL);
    long before = tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env));
    struct tsr_c_run *r;

    (void)state;
    /* An unknown scope: the server's own sentence, on one line. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--scope",
                  "tokens:read", "--scope", "no-such:scope", NULL);
    assert_refused(r, "scopes");
    /* A malformed name, a duplicate, and an address with host bits set. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--scope",
                  "Orders Read", NULL);
    assert_refused(r, "scopes");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--scope",
                  "orders:read", "--scope", "orders:read", NULL);
    assert_refused(r, "scopes");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--allow-ip",
                  "10.0.0.1/8", NULL);
    assert_refused(r, "allowed_ips");
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--allow-ip",
                  "not an address", NULL);
    assert_refused(r, "allowed_ips");
    /* not_before must come before expires_at. */
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "x", "--expires", "1d", "--not-before",
                  "2d", NULL);
    assert_refused(r, "not_before");
    /* Nothing was made. */
    assert_int_equal(tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env)), before);

    /* On update too, and the token is left as it was. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--scope", "orders:write", "--scope",
                  "no-such:scope", NULL);
    assert_refused(r, "scopes");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--name", "renamed", "--allow-ip",
                  "2001:db8::1/32", NULL);
    assert_refused(r, "allowed_ips");
    assert_string_equal(joined(api_token(id), "scopes"), "orders:read");
    assert_string_equal(tsr_h_jstr(api_token(id), "name"), "refusals");
}

/* A login token made shorter with --expires bounds what it makes: the
 * server's one-line refusal, and nothing made. */
static void test_short_login_bounds_what_it_makes(void **state)
{
    struct tsr_c_env *e = tsr_c_env_new();
    struct tsr_c_run *r;
    long before;

    (void)state;
    r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", g_srv->base, "--email",
                  TSR_H_ADMIN_EMAIL, "--expires", "7d", NULL);
    tsr_c_assert_status(r, 0);
    before = tsr_h_count_tokens(g_srv, tsr_c_stored_token(e));
    r = tsr_c_run(e, NULL, "create", "token", "--name", "x", "--expires", "30d", NULL);
    assert_refused(r, "expires_at must not be later than your token's own");
    assert_int_equal(tsr_h_count_tokens(g_srv, tsr_c_stored_token(e)), before);
    /* Within its week it makes tokens as usual. */
    r = tsr_c_run(e, NULL, "create", "token", "--name", "x", "--expires", "6d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
}

/* ---- what tessera itself refuses: usage, exit 2, no request ---- */

static void test_usage_errors(void **state)
{
    static const char *const cases[][9] = {
        {"create", "token", "--name", "x", "--expires", "1d", "--scope", NULL,
         "error: option --scope needs a value; see 'tessera --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--allow-ip", NULL,
         "error: option --allow-ip needs a value; see 'tessera --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--not-before", NULL,
         "error: option --not-before needs a value; see 'tessera --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--not-before", "yesterday",
         "error: the not-before time 'yesterday' is not one of 1d, 7d, 15d, 30d, 90d, 1y, any "
         "Nd, Nw or Ny, or a date such as 2026-12-30; see 'tessera create token --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--not-before", "0d",
         "error: the not-before time '0d' must count from 1 to 100000; see 'tessera create "
         "token --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--allow-anywhere", NULL,
         "error: option --allow-anywhere does not apply to 'tessera create token'; see "
         "'tessera create token --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--clear-not-before", NULL,
         "error: option --clear-not-before does not apply to 'tessera create token'; see "
         "'tessera create token --help'\n"},
        {"create", "token", "--name", "x", "--expires", "1d", "--allow-anywhere=yes", NULL,
         "error: option --allow-anywhere takes no value; see 'tessera --help'\n"},
        {"list", "scopes", "--all", NULL, NULL, NULL, NULL, NULL,
         "error: option --all does not apply to 'tessera list scopes'; see 'tessera list "
         "scopes --help'\n"},
        {"list", "scopes", "extra", NULL, NULL, NULL, NULL, NULL,
         "error: unexpected argument 'extra'; see 'tessera list scopes --help'\n"},
        {"list", "scopes", "--scope", "global", NULL, NULL, NULL, NULL,
         "error: option --scope does not apply to 'tessera list scopes'; see 'tessera list "
         "scopes --help'\n"},
    };
    const char *id = create_json("usage", NULL);
    long before = tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env));
    struct tsr_c_run *r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[9] = {NULL};
        for (int k = 0; k < 8 && cases[i][k] != NULL; k++)
            args[k] = cases[i][k];
        r = tsr_c_runv(g_env, NULL, args);
        tsr_c_assert_status(r, 2);
        assert_string_equal(r->err, cases[i][8]);
        assert_string_equal(r->out, "");
    }
    /* On update: contradictions, and a bad time. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--allow-ip", "10.0.0.0/8",
                  "--allow-anywhere", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: --allow-ip and --allow-anywhere cannot be used together; "
                                "see 'tessera update token --help'\n");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--not-before", "1d", "--clear-not-before",
                  NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: --not-before and --clear-not-before cannot be used "
                                "together; see 'tessera update token --help'\n");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--not-before", "2026-02-30", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: the not-before time '2026-02-30' is not one of");
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--scope", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: option --scope needs a value; see 'tessera --help'\n");
    r = tsr_c_run(g_env, NULL, "update", "token", id, NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: give at least one of --name, --description, --expires, "
                             "--scope, --allow-ip, --allow-anywhere, --not-before and "
                             "--clear-not-before");
    /* A scope that is not UTF-8 cannot even be sent. */
    r = tsr_c_run(g_env, NULL, "update", "token", id, "--scope", "\xff", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "must be UTF-8 text");
    /* Nothing was made or changed. */
    assert_int_equal(tsr_h_count_tokens(g_srv, tsr_c_stored_token(g_env)), before);
    assert_string_equal(joined(api_token(id), "scopes"), "global");
    assert_string_equal(joined(api_token(id), "allowed_ips"), "");
}

/* ---- list scopes ---- */

static void test_list_scopes(void **state)
{
    static const char *const builtins[] = {"global",        "tokens:read", "tokens:write",
                                           "activity:read", "user:read",   "introspect"};
    struct tsr_c_run *r;
    struct tsr_h_resp *api;
    json_t *j;
    const char *prev;

    (void)state;
    r = tsr_c_run(g_env, NULL, "list", "scopes", NULL);
    tsr_c_assert_status(r, 0);
    prev = r->out;
    assert_string_equal(r->err, "");
    tsr_c_assert_has(line_with(r->out, "NAME "), "KIND ");
    tsr_c_assert_has(line_with(r->out, "NAME "), "DESCRIPTION");
    assert_true(strncmp(r->out, "NAME ", 5) == 0);
    /* Tessera's own first, in their order, then the operator's. */
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        const char *row = row_of(r->out, builtins[i]);
        const char *at = strstr(r->out, tsr_h_fmt("\n%s ", builtins[i]));

        tsr_c_assert_has(row, " builtin ");
        assert_true(at > prev);
        prev = at;
    }
    tsr_c_assert_has(row_of(r->out, "orders:read"), " operator ");
    tsr_c_assert_has(row_of(r->out, "orders:read"), "Read orders");
    tsr_c_assert_has(row_of(r->out, "orders:write"), "Change orders");
    assert_true(strstr(r->out, "\norders:read ") > prev);
    assert_true(strstr(r->out, "\norders:write ") > strstr(r->out, "\norders:read "));
    /* The alias, and JSON as the API gives it. */
    r = tsr_c_run(g_env, NULL, "list", "scope", NULL);
    tsr_c_assert_status(r, 0);
    j = run_json("list", "scopes", NULL);
    tsr_h_assert_keys(j, "count", "total_pages", "results");
    api = tsr_h_get(g_srv, "/v4/iam/scopes", tsr_c_stored_token(g_env));
    tsr_h_assert_status(api, 200);
    assert_int_equal(tsr_h_jint(j, "count"), tsr_h_jint(api->json, "count"));
    assert_int_equal(json_array_size(tsr_h_jarr(j, "results")), tsr_h_jint(api->json, "count"));
    {
        const json_t *s = json_array_get(tsr_h_jarr(j, "results"), 0);

        tsr_h_assert_keys(s, "name", "description", "kind");
        assert_string_equal(tsr_h_jstr(s, "name"), "global");
        assert_string_equal(tsr_h_jstr(s, "kind"), "builtin");
    }
    json_decref(j);
    /* Without a token: not authenticated. */
    {
        struct tsr_c_env *none = tsr_c_env_new();

        r = tsr_c_run(none, NULL, "list", "scopes", "--server", g_srv->base, NULL);
        tsr_c_assert_status(r, 3);
    }
}

/* More scopes than one page holds: list scopes reads them all, and a token
 * holding several long ones has its list cut in the table only. */
static void test_many_scopes(void **state)
{
    struct tsr_c_run *r;
    struct tsr_h_resp *api;
    json_t *j;
    const json_t *s;
    const char *id, *row, *last = tsr_h_fmt("bulk-%03d:read", BULK_SCOPES - 1);
    const char *got = "", *want = "";
    size_t i;
    long total;

    (void)state;
    for (int k = 0; k < BULK_SCOPES; k++)
        scope_add(tsr_h_fmt("bulk-%03d:read", k), NULL);
    for (int64_t end = tsr_h_mono_ms() + 10000; !server_lists(last);) {
        if (tsr_h_mono_ms() > end)
            fail_msg("the server did not see the operator scope %s", last);
        tsr_h_sleep_ms(200);
    }
    api = tsr_h_get(g_srv, "/v4/iam/scopes?page_size=100", tsr_c_stored_token(g_env));
    tsr_h_assert_status(api, 200);
    total = (long)tsr_h_jint(api->json, "count");
    assert_int_equal(total, 6 + 2 + BULK_SCOPES);
    json_array_foreach(tsr_h_jarr(api->json, "results"), i, s)
    {
        want = tsr_h_fmt("%s%s,", want, tsr_h_jstr(s, "name"));
    }
    /* Three a page: four requests, every scope once, in the server's order. */
    j = run_json("list", "scopes", "--page-size", "3", NULL);
    assert_int_equal(tsr_h_jint(j, "count"), total);
    assert_int_equal(json_array_size(tsr_h_jarr(j, "results")), total);
    json_array_foreach(tsr_h_jarr(j, "results"), i, s)
    {
        got = tsr_h_fmt("%s%s,", got, tsr_h_jstr(s, "name"));
    }
    assert_string_equal(got, want);
    json_decref(j);
    r = tsr_c_run(g_env, NULL, "list", "scopes", "--page-size=3", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    tsr_c_assert_has(row_of(r->out, "bulk-000:read"), " operator ");
    tsr_c_assert_has(row_of(r->out, last), " operator ");
    tsr_c_assert_has(row_of(r->out, "introspect"), " builtin ");
    r = tsr_c_run(g_env, NULL, "list", "scopes", "--page-size", "101", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: --page-size must be a whole number from 1 to 100");

    id = create_json("long list", "--scope", "bulk-000:read", "--scope", "bulk-001:read", "--scope",
                     "bulk-002:read", "--scope", "bulk-003:read", NULL);
    r = tsr_c_run(g_env, NULL, "list", "tokens", "--search", "long list", NULL);
    tsr_c_assert_status(r, 0);
    row = line_with(r->out, id);
    tsr_c_assert_has(row, " bulk-000:read bulk-001:read \xE2\x80\xA6 ");
    tsr_c_assert_lacks(row, "bulk-003:read");
    r = tsr_c_run(g_env, NULL, "describe", "token", id, NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out,
                     "Scopes:       bulk-000:read bulk-001:read bulk-002:read bulk-003:read\n");
    tsr_c_assert_lacks(r->out, "\xE2\x80\xA6");
    j = run_json("list", "tokens", "--search", "long list", NULL);
    assert_string_equal(joined(json_array_get(tsr_h_jarr(j, "results"), 0), "scopes"),
                        "bulk-000:read,bulk-001:read,bulk-002:read,bulk-003:read");
    json_decref(j);
}

/* ---- completion of scope names, from the server ---- */

static void test_completion_of_scopes(void **state)
{
    const char *dir = tsr_h_strndup(TESSERA_PATH, strrchr(TESSERA_PATH, '/') - TESSERA_PATH);
    const char *script =
        tsr_h_fmt("export PATH=%s:$PATH HOME=%s XDG_CONFIG_HOME=%s\n"
                  "source %s/completions/tessera.bash\n"
                  "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _tessera;"
                  " echo \"${COMPREPLY[*]}\"; }\n"
                  "t tessera create token --scope ord\n"
                  "t tessera update token x --scope tokens:w\n"
                  "t tessera create token --sc\n"
                  "t tessera list sc\n",
                  dir, g_env->home, g_env->xdg, TSR_SOURCE_DIR);
    const char *path = tsr_h_fmt("%s/complete.sh", g_env->home);
    FILE *f = fopen(path, "w");
    FILE *p;
    char buf[4096];
    size_t n;

    (void)state;
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    p = popen(tsr_h_fmt("env -u TESSERA_SERVER -u TESSERA_TOKEN timeout 20 bash --norc "
                        "--noprofile %s",
                        path),
              "r");
    assert_non_null(p);
    n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(buf, "orders:read orders:write\n"
                             "tokens:write\n"
                             "--scope\n"
                             "scope scopes\n");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_scoped_and_read_back),
        cmocka_unit_test(test_default_is_global),
        cmocka_unit_test(test_update_replaces_scopes_and_addresses),
        cmocka_unit_test(test_update_clears),
        cmocka_unit_test(test_server_refusals),
        cmocka_unit_test(test_short_login_bounds_what_it_makes),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_list_scopes),
        cmocka_unit_test(test_completion_of_scopes),
        cmocka_unit_test(test_many_scopes),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
