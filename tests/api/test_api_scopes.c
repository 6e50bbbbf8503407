/* test_api_scopes.c - end to end: GET /v4/iam/scopes and `tesserad scope add|list|remove`
 *
 * The refusal to remove a scope that a live token lists needs a token that
 * lists it, which only the token API can make here; the store's own test
 * (test_store_sqlite, test_scope_remove_in_use) proves that rule on both
 * engines. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH     "/v4/iam/scopes"
#define BUILTINS 6

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1];
static struct tsr_h_token personal;

static const char *const builtin_names[BUILTINS] = {"global",        "tokens:read", "tokens:write",
                                                    "activity:read", "user:read",   "introspect"};

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(srv, session, "reads scopes", NULL, &personal);
    return 0;
}

/* Asserts c exited with status and, when it failed, wrote exactly one line
 * "tesserad: ..." to standard error. */
#define assert_exit(c, st) assert_exit_at(c, st, __FILE__, __LINE__)
static void assert_exit_at(const struct tsr_h_cmd *c, int status, const char *file, int line)
{
    if (c->status != status)
        print_error("stdout: %s\nstderr: %s\n", c->out, c->err);
    _assert_int_equal((LargestIntegralType)c->status, (LargestIntegralType)status, file, line);
    if (status != 0) {
        size_t len = strlen(c->err);
        bool one_line =
            len > 0 && c->err[len - 1] == '\n' && strchr(c->err, '\n') == c->err + len - 1;
        if (!one_line || strncmp(c->err, "tesserad: ", 10) != 0) {
            print_error("stderr: '%s'\nwant one line 'tesserad: <message>'\n", c->err);
            _fail(file, line);
        }
    }
}

static struct tsr_h_cmd *scope_add(const char *name, const char *description)
{
    if (description == NULL)
        return tsr_h_cmd(srv, NULL, "scope", "add", name, "--db", srv->db, NULL);
    return tsr_h_cmd(srv, NULL, "scope", "add", name, "--description", description, "--db", srv->db,
                     NULL);
}

static struct tsr_h_cmd *scope_remove(const char *name)
{
    return tsr_h_cmd(srv, NULL, "scope", "remove", name, "--db", srv->db, NULL);
}

/* Every scope the server lists, page by page (100 a page), as one array. */
static json_t *all_scopes(void)
{
    json_t *all = json_array();
    long pages = 1;

    for (long page = 1; page <= pages; page++) {
        struct tsr_h_resp *r =
            tsr_h_get(srv, tsr_h_fmt(PATH "?page=%ld&page_size=100", page), personal.secret);
        json_t *results;
        size_t i;
        json_t *item;

        tsr_h_assert_status(r, 200);
        tsr_h_assert_keys(r->json, "count", "total_pages", "results");
        pages = (long)tsr_h_jint(r->json, "total_pages");
        results = tsr_h_jarr(r->json, "results");
        json_array_foreach(results, i, item)
        {
            tsr_h_assert_keys(item, "name", "description", "kind");
            json_array_append(all, item);
        }
    }
    return all;
}

/* The listed scope called name, or NULL. */
static json_t *find(json_t *scopes, const char *name)
{
    size_t i;
    json_t *item;

    json_array_foreach(scopes, i, item)
    {
        if (strcmp(tsr_h_jstr(item, "name"), name) == 0)
            return item;
    }
    return NULL;
}

/* Polls the list (at most ms) until name is listed (want) or not; returns
 * the milliseconds it took, or fails. */
static int64_t wait_listed(const char *name, bool want, int ms)
{
    int64_t start = tsr_h_mono_ms();

    for (;;) {
        json_t *all = all_scopes();
        bool listed = find(all, name) != NULL;

        json_decref(all);
        if (listed == want)
            return tsr_h_mono_ms() - start;
        if (tsr_h_mono_ms() - start > ms)
            fail_msg("scope '%s' still %slisted after %d ms", name, want ? "not " : "", ms);
        tsr_h_sleep_ms(20);
    }
}

static void test_lists_builtins(void **state)
{
    struct tsr_h_resp *r;
    json_t *results, *item;
    const char *cookie, *end;

    (void)state;
    r = tsr_h_get(srv, PATH, personal.secret);
    tsr_h_assert_status(r, 200);
    assert_non_null(strstr(tsr_h_header(r, "Content-Type"), "application/json"));
    tsr_h_assert_keys(r->json, "count", "total_pages", "results");
    results = tsr_h_jarr(r->json, "results");
    assert_true(tsr_h_jint(r->json, "count") >= BUILTINS);
    assert_true(json_array_size(results) >= BUILTINS);
    for (size_t i = 0; i < BUILTINS; i++) {
        item = json_array_get(results, i);
        tsr_h_assert_keys(item, "name", "description", "kind");
        assert_string_equal(tsr_h_jstr(item, "name"), builtin_names[i]);
        assert_string_equal(tsr_h_jstr(item, "kind"), "builtin");
        assert_true(strlen(tsr_h_jstr(item, "description")) > 0);
    }
    /* admin is reserved, never a scope a token can hold. */
    assert_null(find(results, "admin"));

    /* A session token and the console's cookie read it too. */
    tsr_h_assert_status(tsr_h_get(srv, PATH, session), 200);
    r = tsr_h_req(srv,
                  &(struct tsr_h_req){.method = "POST",
                                      .path = "/v4/console/session",
                                      .body = "{\"email\":\"" TSR_H_ADMIN_EMAIL
                                              "\",\"password\":\"" TSR_H_ADMIN_PASSWORD "\"}"});
    tsr_h_assert_status(r, 204);
    cookie = tsr_h_header(r, "Set-Cookie");
    assert_non_null(cookie);
    end = strchr(cookie, ';');
    cookie = tsr_h_strndup(cookie, end ? (size_t)(end - cookie) : strlen(cookie));
    tsr_h_record_secret(strchr(cookie, '=') + 1);
    r = tsr_h_req(srv,
                  &(struct tsr_h_req){.path = PATH, .headers = {tsr_h_fmt("Cookie: %s", cookie)}});
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "results"), 0), "name"),
                        "global");
}

static void test_paging(void **state)
{
    struct tsr_h_resp *r;
    json_t *results;
    json_int_t count;

    (void)state;
    r = tsr_h_get(srv, PATH "?page=2&page_size=2", personal.secret);
    tsr_h_assert_status(r, 200);
    count = tsr_h_jint(r->json, "count");
    assert_int_equal(tsr_h_jint(r->json, "total_pages"), (count + 1) / 2);
    results = tsr_h_jarr(r->json, "results");
    assert_int_equal(json_array_size(results), 2);
    assert_string_equal(tsr_h_jstr(json_array_get(results, 0), "name"), "tokens:write");
    assert_string_equal(tsr_h_jstr(json_array_get(results, 1), "name"), "activity:read");

    r = tsr_h_get(srv, PATH "?page_size=1", personal.secret);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "total_pages"), tsr_h_jint(r->json, "count"));
    assert_int_equal(json_array_size(tsr_h_jarr(r->json, "results")), 1);

    /* Past the last page: empty, with the same count. */
    r = tsr_h_get(srv, PATH "?page=1000", personal.secret);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "count"), count);
    assert_int_equal(json_array_size(tsr_h_jarr(r->json, "results")), 0);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    tsr_h_assert_error(tsr_h_get(srv, PATH "?sort=name", personal.secret), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "sort");
    /* The token list's search and ordering are not this list's. */
    tsr_h_assert_error(tsr_h_get(srv, PATH "?search=orders", personal.secret), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "search");
    tsr_h_assert_error(tsr_h_get(srv, PATH "?ordering=name", personal.secret), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "ordering");
    tsr_h_assert_error(tsr_h_get(srv, PATH "?page=0", personal.secret), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "page");
    tsr_h_assert_error(tsr_h_get(srv, PATH "?page_size=101", personal.secret), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "page_size");
    tsr_h_assert_error(tsr_h_get(srv, PATH "?page=1&page=2", personal.secret), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "page");
}

static void test_needs_a_credential(void **state)
{
    char fake[TSR_H_SECRET_LEN + 1];

    (void)state;
    tsr_h_assert_error(tsr_h_get(srv, PATH, NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    /* The credential is checked before the parameters. */
    tsr_h_assert_error(tsr_h_get(srv, PATH "?sort=x", NULL), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_make_secret("tsr_", 11, fake);
    tsr_h_assert_error(tsr_h_get(srv, PATH, fake), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "POST", PATH, personal.secret, "{}"), 405,
                       "method_not_allowed", TSR_H_SRC_NONE, NULL);
}

/* The operator adds scopes from another process while the server runs:
 * they are listed within a second, after the built-in ones, by name. */
static void test_add_reaches_running_server(void **state)
{
    json_t *all, *item;
    struct tsr_h_cmd *c;
    size_t i, at_orders = 0, at_alpha = 0, at_zeta = 0;

    (void)state;
    c = scope_add("orders:read", "  Read the orders\nof every shop  ");
    assert_exit(c, 0);
    tsr_h_assert_between(wait_listed("orders:read", true, 1000), 0, 1000);
    assert_exit(scope_add("zeta_1", NULL), 0);
    assert_exit(scope_add("alpha.x-2", ""), 0);
    wait_listed("alpha.x-2", true, 1000);
    wait_listed("zeta_1", true, 1000);

    all = all_scopes();
    for (i = 0; i < BUILTINS; i++)
        assert_string_equal(tsr_h_jstr(json_array_get(all, i), "kind"), "builtin");
    json_array_foreach(all, i, item)
    {
        const char *name = tsr_h_jstr(item, "name");

        if (strcmp(name, "orders:read") == 0)
            at_orders = i;
        else if (strcmp(name, "alpha.x-2") == 0)
            at_alpha = i;
        else if (strcmp(name, "zeta_1") == 0)
            at_zeta = i;
    }
    assert_true(at_alpha >= BUILTINS);
    assert_true(at_alpha < at_orders);
    assert_true(at_orders < at_zeta);
    item = find(all, "orders:read");
    assert_string_equal(tsr_h_jstr(item, "kind"), "operator");
    /* Trimmed, its line break kept. */
    assert_string_equal(tsr_h_jstr(item, "description"), "Read the orders\nof every shop");
    assert_string_equal(tsr_h_jstr(find(all, "zeta_1"), "description"), "");
    json_decref(all);

    /* Taken: refused, nothing changes. */
    assert_exit(scope_add("orders:read", "another"), 1);
    all = all_scopes();
    assert_string_equal(tsr_h_jstr(find(all, "orders:read"), "description"),
                        "Read the orders\nof every shop");
    json_decref(all);
}

static void test_list_command(void **state)
{
    struct tsr_h_cmd *c;
    char *line, *save = NULL;
    bool header = false, global = false, mine = false;

    (void)state;
    assert_exit(scope_add("list.me", "Listed\nby the command"), 0);
    c = tsr_h_cmd(srv, NULL, "scope", "list", "--db", srv->db, NULL);
    assert_exit(c, 0);
    for (line = strtok_r(c->out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char name[80], kind[16];

        if (sscanf(line, "%79s %15s", name, kind) != 2)
            fail_msg("a line of scope list: '%s'", line);
        if (strcmp(name, "NAME") == 0 && strcmp(kind, "KIND") == 0 &&
            strstr(line, "DESCRIPTION") != NULL)
            header = true;
        if (strcmp(name, "global") == 0 && strcmp(kind, "builtin") == 0)
            global = true;
        if (strcmp(name, "list.me") == 0 && strcmp(kind, "operator") == 0)
            mine = strstr(line, "Listed by the command") != NULL;
    }
    assert_true(header);
    assert_true(global);
    assert_true(mine);
}

static void test_remove_reaches_running_server(void **state)
{
    (void)state;
    assert_exit(scope_add("gone.soon", NULL), 0);
    wait_listed("gone.soon", true, 1000);
    assert_exit(scope_remove("gone.soon"), 0);
    tsr_h_assert_between(wait_listed("gone.soon", false, 1000), 0, 1000);
    assert_exit(scope_remove("gone.soon"), 1);
    assert_exit(scope_remove("never.was"), 1);
}

/* Names no operator scope may have, and descriptions that break a token
 * description's rules: exit 1 and one line, and nothing listed. */
static void test_refusals(void **state)
{
    static const char *const names[] = {
        "global",
        "admin",
        "tokens:read",
        "tokens:write",
        "activity:read",
        "user:read",
        "introspect",
        "Orders",
        "_x",
        ".x",
        ":x",
        "a b",
        "a/b",
        "a*",
        "\xc3\xa9t\xc3\xa9",
        "",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */};
    char long_desc[600];
    json_t *all;
    json_int_t before, after;
    struct tsr_h_resp *r;

    (void)state;
    r = tsr_h_get(srv, PATH, personal.secret);
    before = tsr_h_jint(r->json, "count");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_exit(scope_add(names[i], NULL), 1);
    /* 64 characters is the longest name. */
    assert_exit(scope_add("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NULL),
                0);
    assert_exit(scope_remove("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                0);

    memset(long_desc, 'd', 501);
    long_desc[501] = '\0';
    assert_exit(scope_add("desc.long", long_desc), 1);
    long_desc[500] = '\0';
    assert_exit(scope_add("desc.max", long_desc), 0);
    assert_exit(scope_add("desc.control", "bell\x07"), 1);
    assert_exit(scope_add("desc.invisible", "left\xe2\x80\xaeright"), 1);
    assert_exit(scope_add("desc.utf8", "bad \xff"), 1);
    assert_exit(scope_remove("global"), 1);
    assert_exit(scope_remove("admin"), 1);
    assert_exit(scope_remove("Bad Name"), 1);

    all = all_scopes();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *item = find(all, names[i]);

        if (item != NULL)
            assert_string_equal(tsr_h_jstr(item, "kind"), "builtin");
    }
    assert_null(find(all, "desc.long"));
    assert_null(find(all, "desc.control"));
    assert_non_null(find(all, "desc.max"));
    json_decref(all);
    r = tsr_h_get(srv, PATH, personal.secret);
    after = tsr_h_jint(r->json, "count");
    assert_int_equal(after, before + 1);
    assert_exit(scope_remove("desc.max"), 0);
}

static void test_usage(void **state)
{
    struct tsr_h_cmd *c;

    (void)state;
    assert_exit(tsr_h_cmd(srv, NULL, "scope", NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "frob", "--db", srv->db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "add", "--db", srv->db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "add", "a", "b", "--db", srv->db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "add", "a", "--bogus", "--db", srv->db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "add", "a", "--db", srv->db, "--description", NULL),
                2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "remove", "--db", srv->db, NULL), 2);
    assert_exit(
        tsr_h_cmd(srv, NULL, "scope", "remove", "a", "--description", "x", "--db", srv->db, NULL),
        2);
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "list", "extra", "--db", srv->db, NULL), 2);
    /* "-x" reads as an option, so a name cannot start with '-'. */
    assert_exit(tsr_h_cmd(srv, NULL, "scope", "add", "-x", "--db", srv->db, NULL), 2);

    c = tsr_h_cmd(srv, NULL, "scope", "--help", NULL);
    assert_exit(c, 0);
    assert_non_null(strstr(c->out, "scope add NAME"));
    assert_non_null(strstr(c->out, "--description"));
    c = tsr_h_cmd(srv, NULL, "--help", NULL);
    assert_exit(c, 0);
    assert_non_null(strstr(c->out, "tesserad scope add"));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_builtins),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_needs_a_credential),
        cmocka_unit_test(test_add_reaches_running_server),
        cmocka_unit_test(test_list_command),
        cmocka_unit_test(test_remove_reaches_running_server),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_usage),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
