/* test_api_activity.c - end to end: GET /v4/iam/activity, the audit log read by its owner */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_PASSWORD "user-password-for-tests"
#define PATH          "/v4/iam/activity"

static struct tsr_h_server *srv;
static char user[TSR_H_SECRET_LEN + 1];  /* act@example.com's session */
static char other[TSR_H_SECRET_LEN + 1]; /* other@example.com's session */
static struct tsr_h_token kept, revoked;
static int64_t started_at;

static int setup(void **state)
{
    (void)state;
    started_at = tsr_h_now();
    srv = tsr_h_start(NULL);
    tsr_h_add_user(srv, "act@example.com", USER_PASSWORD);
    tsr_h_add_user(srv, "other@example.com", USER_PASSWORD);
    tsr_h_login(srv, "act@example.com", USER_PASSWORD, user);
    tsr_h_login(srv, "other@example.com", USER_PASSWORD, other);
    return 0;
}

/* GET path as auth (must be 200, a list of the contract); returns the body. */
static json_t *list(const char *path, const char *auth)
{
    struct tsr_h_resp *r = tsr_h_get(srv, path, auth);

    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "count", "total_pages", "results");
    return r->json;
}

static const char *str_or_null(const json_t *item, const char *key)
{
    json_t *v = json_object_get(item, key);

    assert_non_null(v);
    if (json_is_null(v))
        return NULL;
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* Asserts that item is a record of the contract with these values (id and
 * name NULL: null). */
static void check_item_from(const json_t *item, const char *action, const char *outcome,
                            const char *token_id, const char *token_name, const char *remote)
{
    const char *id, *name, *addr;

    tsr_h_assert_keys(item, "action", "outcome", "at", "token_id", "token_name", "remote_addr",
                      "count");
    assert_string_equal(tsr_h_jstr(item, "action"), action);
    assert_string_equal(tsr_h_jstr(item, "outcome"), outcome);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(item, "at")), started_at, tsr_h_now());
    id = str_or_null(item, "token_id");
    name = str_or_null(item, "token_name");
    if (token_id == NULL)
        assert_null(id);
    else
        assert_string_equal(id ? id : "(null)", token_id);
    if (token_name == NULL)
        assert_null(name);
    else
        assert_string_equal(name ? name : "(null)", token_name);
    addr = str_or_null(item, "remote_addr");
    if (remote == NULL)
        assert_null(addr);
    else
        assert_string_equal(addr ? addr : "(null)", remote);
    tsr_h_assert_between(tsr_h_jint(item, "count"), 1, 1000);
}

/* check_item_from for a request from this test's address. */
static void check_item(const json_t *item, const char *action, const char *outcome,
                       const char *token_id, const char *token_name)
{
    check_item_from(item, action, outcome, token_id, token_name, "127.0.0.1");
}

static void test_activity_newest_first(void **state)
{
    struct tsr_h_resp *r;
    json_t *body = NULL, *results;
    int64_t deadline;

    (void)state;
    tsr_h_create_token(srv, user, "kept", NULL, &kept);
    tsr_h_create_token(srv, user, "revoked", NULL, &revoked);
    r = tsr_h_send(srv, "PATCH", tsr_h_fmt("/v4/iam/personal_tokens/%s", kept.id), user,
                   "{\"name\":\"kept and renamed\"}");
    tsr_h_assert_status(r, 200);
    r = tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", revoked.id), user, NULL);
    tsr_h_assert_status(r, 204);
    assert_false(tsr_h_verify(srv, revoked.secret));

    /* Refusals are written in batches about every 5 s: wait for it, at most 15 s. */
    deadline = tsr_h_mono_ms() + 15000;
    for (;;) {
        body = list(PATH, user);
        results = tsr_h_jarr(body, "results");
        if (json_array_size(results) > 0 &&
            strcmp(tsr_h_jstr(json_array_get(results, 0), "action"), "auth") == 0)
            break;
        assert_true(tsr_h_mono_ms() < deadline);
        tsr_h_sleep_ms(250);
    }
    /* user.add, login, create, create, update, delete, auth: newest first. */
    assert_int_equal(tsr_h_jint(body, "count"), 7);
    assert_int_equal(tsr_h_jint(body, "total_pages"), 1);
    assert_int_equal(json_array_size(results), 7);
    check_item(json_array_get(results, 0), "auth", "failure", revoked.id, "revoked");
    check_item(json_array_get(results, 1), "token.delete", "success", revoked.id, "revoked");
    check_item(json_array_get(results, 2), "token.update", "success", kept.id, "kept and renamed");
    check_item(json_array_get(results, 3), "token.create", "success", revoked.id, "revoked");
    check_item(json_array_get(results, 4), "token.create", "success", kept.id, "kept and renamed");
    /* A session has no name. */
    check_item(json_array_get(results, 5), "login", "success",
               str_or_null(json_array_get(results, 5), "token_id"), NULL);
    assert_non_null(str_or_null(json_array_get(results, 5), "token_id"));
    /* The operator's `tesserad user add` names no token and no address. */
    check_item_from(json_array_get(results, 6), "user.add", "success", NULL, NULL, NULL);
    for (size_t i = 1; i < 7; i++)
        assert_true(tsr_h_parse_time(tsr_h_jstr(json_array_get(results, i - 1), "at")) >=
                    tsr_h_parse_time(tsr_h_jstr(json_array_get(results, i), "at")));

    /* A personal token reads the same log. */
    body = list(PATH, kept.secret);
    assert_int_equal(tsr_h_jint(body, "count"), 7);
}

static void test_pages(void **state)
{
    json_t *all, *page, *results;

    (void)state;
    all = tsr_h_jarr(list(PATH "?page_size=100", user), "results");
    assert_true(json_array_size(all) >= 7);
    page = list(PATH "?page_size=4&page=2", user);
    assert_int_equal(tsr_h_jint(page, "count"), (json_int_t)json_array_size(all));
    assert_int_equal(tsr_h_jint(page, "total_pages"), (json_array_size(all) + 3) / 4);
    results = tsr_h_jarr(page, "results");
    assert_int_equal(json_array_size(results), json_array_size(all) - 4);
    for (size_t i = 0; i < json_array_size(results); i++)
        assert_true(json_equal(json_array_get(results, i), json_array_get(all, 4 + i)));
    page = list(PATH "?page=1&page_size=1", user);
    assert_int_equal(json_array_size(tsr_h_jarr(page, "results")), 1);
    assert_true(json_equal(json_array_get(tsr_h_jarr(page, "results"), 0), json_array_get(all, 0)));
    page = list(PATH "?page=1000", user);
    assert_int_equal(tsr_h_jint(page, "count"), (json_int_t)json_array_size(all));
    assert_int_equal(json_array_size(tsr_h_jarr(page, "results")), 0);
    /* A trailing slash is ignored. */
    assert_int_equal(tsr_h_jint(list(PATH "/", user), "count"), (json_int_t)json_array_size(all));
}

static void test_other_users_records_hidden(void **state)
{
    json_t *body, *results;

    (void)state;
    body = list(PATH, other);
    results = tsr_h_jarr(body, "results");
    /* Only their own: their login and their `user add`. */
    assert_int_equal(tsr_h_jint(body, "count"), 2);
    assert_int_equal(json_array_size(results), 2);
    check_item(json_array_get(results, 0), "login", "success",
               str_or_null(json_array_get(results, 0), "token_id"), NULL);
    check_item_from(json_array_get(results, 1), "user.add", "success", NULL, NULL, NULL);
    for (size_t i = 0; i < json_array_size(results); i++) {
        const char *id = str_or_null(json_array_get(results, i), "token_id");

        assert_true(id == NULL || (strcmp(id, kept.id) != 0 && strcmp(id, revoked.id) != 0));
    }
}

static void test_bad_parameters(void **state)
{
    static const struct {
        const char *query;
        const char *parameter;
    } bad[] = {
        {"page=0", "page"},
        {"page=x", "page"},
        {"page=", "page"},
        {"page=-1", "page"},
        {"page=1000000001", "page"},
        {"page_size=0", "page_size"},
        {"page_size=101", "page_size"},
        {"page_size=1.5", "page_size"},
        {"page=1&page=2", "page"},
        {"page_size=5&page_size=5", "page_size"},
        {"ordering=-at", "ordering"},
        {"search=x", "search"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tsr_h_resp *r = tsr_h_get(srv, tsr_h_fmt(PATH "?%s", bad[i].query), user);

        tsr_h_assert_error(r, 400, "invalid_parameter", TSR_H_SRC_PARAMETER, bad[i].parameter);
    }
}

static void test_authentication(void **state)
{
    char fake[TSR_H_SECRET_LEN + 1];
    struct tsr_h_resp *r;
    const char *set_cookie, *end;
    char *cookie;

    (void)state;
    tsr_h_assert_error(tsr_h_get(srv, PATH, NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    /* Authentication is checked before the query. */
    tsr_h_assert_error(tsr_h_get(srv, PATH "?page=0", NULL), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_make_secret("tsr_", 7, fake);
    tsr_h_assert_error(tsr_h_get(srv, PATH, fake), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_get(srv, PATH, revoked.secret), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    r = tsr_h_send(srv, "POST", PATH, user, "{}");
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);

    /* The console's cookie is accepted, as on every other GET. */
    r = tsr_h_req(
        srv, &(struct tsr_h_req){
                 .method = "POST",
                 .path = "/v4/console/session",
                 .body = "{\"email\":\"act@example.com\",\"password\":\"" USER_PASSWORD "\"}"});
    tsr_h_assert_status(r, 204);
    set_cookie = tsr_h_header(r, "Set-Cookie");
    assert_non_null(set_cookie);
    end = strchr(set_cookie, ';');
    cookie = tsr_h_strndup(set_cookie, end ? (size_t)(end - set_cookie) : strlen(set_cookie));
    tsr_h_record_secret(strchr(cookie, '=') + 1);
    r = tsr_h_req(
        srv, &(struct tsr_h_req){.path = PATH, .headers = {tsr_h_fmt("Cookie: %s", cookie), NULL}});
    tsr_h_assert_status(r, 200);
    /* The console's login is one more record. */
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "results"), 0), "action"),
                        "login");
}

#define FLOOD_V4  3000
#define FLOOD_V6  1000
#define FLOOD_BAD 500
#define FLUSH_MS  5000 /* the service's default flush interval */

/* An attacker sends thousands of random well-formed secrets (and some
 * garbage) from one IPv4 address and from the hosts of one IPv6 /64: each
 * address adds a few audit rows, not one per secret, and nothing lands on
 * a user's row; a user's own revoked token used from there before the
 * flood is still in that user's log, counted. */
static void test_unknown_secrets_bounded(void **state)
{
    static const char *const args[] = {"--trusted-proxy", "127.0.0.1", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *s = tsr_h_start(&o);
    char session[TSR_H_SECRET_LEN + 1], fake[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token gone;
    struct tsr_h_req req = {.path = "/v4/auth/verify"};
    json_t *results, *item;
    long long rows, total, on_users, windows;
    int64_t flood_began;
    bool seen = false;
    size_t i;

    (void)state;
    tsr_h_login(s, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(s, session, "leaked then revoked", NULL, &gone);
    tsr_h_assert_status(
        tsr_h_send(s, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", gone.id), session, NULL),
        204);
    req.headers[0] = "X-Forwarded-For: 203.0.113.5";
    req.secret = gone.secret;
    flood_began = tsr_h_mono_ms();
    for (int n = 0; n < 3; n++)
        tsr_h_assert_status(tsr_h_req(s, &req), 401);
    for (unsigned n = 0; n < FLOOD_V4; n++) {
        tsr_h_make_secret(n % 2 ? "tsr_" : "tss_", 1000 + n, fake);
        req.secret = fake;
        tsr_h_assert_status(tsr_h_req(s, &req), 401);
    }
    for (unsigned n = 0; n < FLOOD_BAD; n++) {
        req.secret = tsr_h_fmt("tsr_not-even-close-%u", n);
        tsr_h_assert_status(tsr_h_req(s, &req), 401);
    }
    for (unsigned n = 0; n < FLOOD_V6; n++) {
        tsr_h_make_secret("tsr_", 9000 + n, fake);
        req.secret = fake;
        req.headers[0] =
            tsr_h_fmt("X-Forwarded-For: 2001:db8:9:9:%x:%x::%x", n * 7 % 65536, n * 13 % 65536, n);
        tsr_h_assert_status(tsr_h_req(s, &req), 401);
    }
    tsr_h_stop(s); /* the last flush */
    /* The server writes every FLUSH_MS; a slow run (valgrind) spans several
     * batches, each with its own rows, and both ends may be partial. */
    windows = (tsr_h_mono_ms() - flood_began) / FLUSH_MS + 2;

    rows = tsr_h_sql_int(s, "SELECT count(*) FROM audit WHERE action = 'auth'", NULL, NULL);
    total = tsr_h_sql_int(s, "SELECT sum(count) FROM audit WHERE action = 'auth'", NULL, NULL);
    on_users = tsr_h_sql_int(
        s, "SELECT coalesce(sum(count), 0) FROM audit WHERE action = 'auth' AND user_id <> ''",
        NULL, NULL);
    print_message("%lld rows for %lld failures in %lld batches\n", rows, total, windows);
    /* Per address and batch: its own row and at most three of single
     * secrets; two addresses, so eight a batch, not one a secret. */
    tsr_h_assert_between(rows, 2, 8 * windows);
    assert_int_equal(total, 3 + FLOOD_V4 + FLOOD_BAD + FLOOD_V6);
    assert_int_equal(on_users, 3);

    tsr_h_resume(s);
    tsr_h_login(s, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    results = tsr_h_jarr(tsr_h_get(s, PATH "?page_size=100", session)->json, "results");
    json_array_foreach(results, i, item)
    {
        if (strcmp(tsr_h_jstr(item, "action"), "auth") != 0)
            continue;
        assert_string_equal(tsr_h_jstr(item, "token_id"), gone.id);
        assert_int_equal(tsr_h_jint(item, "count"), 3);
        seen = true;
    }
    assert_true(seen);
    tsr_h_stop(s);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activity_newest_first),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_other_users_records_hidden),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_authentication),
        cmocka_unit_test(test_unknown_secrets_bounded),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
