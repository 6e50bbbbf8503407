/* test_api_tokens.c - end to end: personal tokens from create to delete, limits, restart, audit */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USER_PASSWORD "user-password-for-tests"

static struct tsr_h_server *srv;  /* defaults */
static struct tsr_h_server *srv2; /* --max-lifetime 0 --max-tokens 3 */
static char admin[TSR_H_SECRET_LEN + 1];
static char admin_id[TSR_H_UUID_LEN + 1];
static char deleted_id[TSR_H_UUID_LEN + 1]; /* by test_delete, for the audit */
static char updated_id[TSR_H_UUID_LEN + 1]; /* by test_patch, for the audit */
static int64_t started_at;

static int setup(void **state)
{
    (void)state;
    started_at = tsr_h_now();
    srv = tsr_h_start(NULL);
    tsr_h_add_user(srv, "pager@example.com", USER_PASSWORD);
    tsr_h_add_user(srv, "search@example.com", USER_PASSWORD);
    tsr_h_add_user(srv, "order@example.com", USER_PASSWORD);
    tsr_h_add_user(srv, "other@example.com", USER_PASSWORD);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, admin);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", admin);
    tsr_h_assert_status(r, 200);
    snprintf(admin_id, sizeof(admin_id), "%s", tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"));
    return 0;
}

static const char *token_path(const char *id)
{
    return tsr_h_fmt("/v4/iam/personal_tokens/%s", id);
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *o = tsr_h_fmt("%s", s ? s : "(null)");
    free(s);
    return o;
}

/* POST a create body; returns the response. */
static struct tsr_h_resp *create_raw(struct tsr_h_server *s, const char *auth, const char *body)
{
    return tsr_h_send(s, "POST", "/v4/iam/personal_tokens", auth, body);
}

static const char *body_for(const char *name, const char *expires_at)
{
    json_t *b = json_pack("{s:s, s:s}", "name", name, "expires_at", expires_at);
    char *s = dump(b);
    json_decref(b);
    return s;
}

/* GET one token (200) and return its "data". */
static json_t *get_token(const char *auth, const char *id)
{
    struct tsr_h_resp *r = tsr_h_get(srv, token_path(id), auth);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "data");
    json_t *d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, false);
    return d;
}

/* The list (200) for query, its shape checked. */
static json_t *list(const char *auth, const char *query)
{
    struct tsr_h_resp *r = tsr_h_get(
        srv, tsr_h_fmt("/v4/iam/personal_tokens%s%s", query ? "?" : "", query ? query : ""), auth);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "count", "total_pages", "results");
    json_t *results = tsr_h_jarr(r->json, "results");
    size_t i;
    json_t *t;
    json_array_foreach(results, i, t)
    {
        tsr_h_assert_token(t, false);
    }
    return r->json;
}

/* The names in a list's results, joined with ",". */
static const char *names(const json_t *l)
{
    json_t *results = json_object_get(l, "results");
    char *out = tsr_h_fmt("%s", "");
    size_t i;
    json_t *t;
    json_array_foreach(results, i, t)
    {
        out = tsr_h_fmt("%s%s%s", out, i ? "," : "", tsr_h_jstr(t, "name"));
    }
    return out;
}

static void test_create(void **state)
{
    (void)state;
    int64_t before = tsr_h_now();
    const char *exp = tsr_h_time(before + 30 * TSR_H_DAY);
    struct tsr_h_resp *r = create_raw(srv, admin, body_for("CI deploy", exp));
    int64_t after = tsr_h_now();
    tsr_h_assert_status(r, 201);
    const char *cc = tsr_h_header(r, "Cache-Control");
    assert_non_null(cc);
    assert_non_null(strstr(cc, "no-store"));
    const char *ct = tsr_h_header(r, "Content-Type");
    assert_non_null(ct);
    assert_int_equal(strncmp(ct, "application/json", 16), 0);
    tsr_h_assert_keys(r->json, "data");
    json_t *d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, true);
    assert_string_equal(tsr_h_jstr(d, "name"), "CI deploy");
    assert_string_equal(tsr_h_jstr(d, "description"), "");
    assert_string_equal(tsr_h_jstr(d, "status"), "active");
    assert_true(json_is_null(json_object_get(d, "last_used_at")));
    assert_string_equal(tsr_h_jstr(d, "expires_at"), exp);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(d, "created")), before - 1, after + 1);
    const char *key = tsr_h_jstr(d, "key");
    assert_string_equal(tsr_h_jstr(d, "key_hint"), tsr_h_strndup(key, 8));

    /* GET answers the same object, without the key. */
    json_t *want = json_deep_copy(d);
    json_object_del(want, "key");
    json_t *got = get_token(admin, tsr_h_jstr(d, "id"));
    char *w = dump(want);
    json_decref(want);
    assert_string_equal(dump(got), w);
    assert_null(strstr(dump(got), key));

    /* The key works. */
    assert_true(tsr_h_verify(srv, key));

    /* Two tokens never share a key or an id. */
    struct tsr_h_token t2;
    tsr_h_create_token(srv, admin, "CI deploy", exp, &t2);
    assert_string_not_equal(t2.secret, key);
    assert_string_not_equal(t2.id, tsr_h_jstr(d, "id"));
}

static void test_create_trims(void **state)
{
    (void)state;
    const char *exp = tsr_h_time(tsr_h_now() + 7 * TSR_H_DAY);
    struct tsr_h_resp *r = create_raw(
        srv, admin,
        tsr_h_fmt(
            "{\"name\":\" \\t spaced name \\r\\n\",\"description\":\"\\n  hello\\nworld \\t\","
            "\"expires_at\":\"%s\"}",
            exp));
    tsr_h_assert_status(r, 201);
    json_t *d = tsr_h_jobj(r->json, "data");
    assert_string_equal(tsr_h_jstr(d, "name"), "spaced name");
    assert_string_equal(tsr_h_jstr(d, "description"), "hello\nworld");
}

/* A UTC civil time as Unix seconds. */
static int64_t civil(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static void test_expires_at_forms(void **state)
{
    (void)state;
    /* A day ten days from now, at 12:34:56 UTC. */
    const char *day = tsr_h_strndup(tsr_h_time(tsr_h_now() + 10 * TSR_H_DAY), 10);
    int y = 0, mo = 0, d = 0;
    assert_int_equal(sscanf(day, "%4d-%2d-%2d", &y, &mo, &d), 3);
    int64_t midnight = civil(y, mo, d, 0, 0, 0);
    int64_t noonish = civil(y, mo, d, 12, 34, 56);
    struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {tsr_h_fmt("%s", day), midnight},
        {tsr_h_fmt("%sZ", day), midnight},
        {tsr_h_fmt("%s+02:00", day), midnight - 2 * 3600},
        {tsr_h_fmt("%sT12:34", day), noonish - 56},
        {tsr_h_fmt("%sT12:34Z", day), noonish - 56},
        {tsr_h_fmt("%sT12:34+01:00", day), noonish - 56 - 3600},
        {tsr_h_fmt("%sT12:34:56", day), noonish},
        {tsr_h_fmt("%sT12:34:56Z", day), noonish},
        {tsr_h_fmt("%sT12:34:56z", day), noonish},
        {tsr_h_fmt("%st12:34:56Z", day), noonish},
        {tsr_h_fmt("%st12:34:56z", day), noonish},
        {tsr_h_fmt("%sT12:34:56.9", day), noonish},
        {tsr_h_fmt("%sT12:34:56.999999999Z", day), noonish},
        {tsr_h_fmt("%sT12:34:56.123+02:00", day), noonish - 2 * 3600},
        {tsr_h_fmt("%sT12:34:56+02:00", day), noonish - 2 * 3600},
        {tsr_h_fmt("%sT12:34:56-05:30", day), noonish + 5 * 3600 + 30 * 60},
        {tsr_h_fmt("%sT12:34:56+00:00", day), noonish},
        {tsr_h_fmt("%sT12:34:56-00:00", day), noonish},
        {tsr_h_fmt("%sT23:59:59-23:59", day), civil(y, mo, d, 23, 59, 59) + 23 * 3600 + 59 * 60},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("expires_at %s\n", cases[i].in);
        struct tsr_h_resp *r = create_raw(srv, admin, body_for("form", cases[i].in));
        tsr_h_assert_status(r, 201);
        json_t *data = tsr_h_jobj(r->json, "data");
        assert_string_equal(tsr_h_jstr(data, "expires_at"), tsr_h_time(cases[i].want));
        /* And the stored value is the same. */
        json_t *got = get_token(admin, tsr_h_jstr(data, "id"));
        assert_string_equal(tsr_h_jstr(got, "expires_at"), tsr_h_time(cases[i].want));
    }
}

static void test_max_lifetime(void **state)
{
    (void)state;
    long before = tsr_h_count_tokens(srv, admin);
    int64_t now = tsr_h_now();
    /* 366 days inclusive, counted from the server's now (which is not before ours). */
    struct tsr_h_resp *r =
        create_raw(srv, admin, body_for("366 days", tsr_h_time(now + 366 * TSR_H_DAY)));
    tsr_h_assert_status(r, 201);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "expires_at"),
                        tsr_h_time(now + 366 * TSR_H_DAY));
    /* "1 year" as a date always fits. */
    const char *d366 = tsr_h_strndup(tsr_h_time(now + 366 * TSR_H_DAY), 10);
    r = create_raw(srv, admin, body_for("366 days, a date", d366));
    tsr_h_assert_status(r, 201);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 2);

    const char *too_far[] = {
        tsr_h_time(now + 366 * TSR_H_DAY + 120),
        tsr_h_time(now + 367 * TSR_H_DAY),
        tsr_h_strndup(tsr_h_time(now + 367 * TSR_H_DAY), 10),
        "9999-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < sizeof(too_far) / sizeof(too_far[0]); i++) {
        print_message("expires_at %s\n", too_far[i]);
        r = create_raw(srv, admin, body_for("too far", too_far[i]));
        tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 2);
}

/* A name that reads one way and is another (U+202E turns "gpj.exe" round)
 * is refused, and so are zero-width spaces and byte order marks, in names
 * and descriptions; emoji joined by U+200D stay. Nothing is created. */
static void test_invisible_characters_refused(void **state)
{
    const char *const bad_names[] = {"ci-\u202Egpj.exe", "deploy\u200B", "\uFEFFbuild",
                                     "x\u2066y\u2069", "a\u200Fb"};
    long before;
    struct tsr_h_resp *r;
    const char *expires = tsr_h_time(tsr_h_now() + TSR_H_DAY);
    char body[256];

    (void)state;
    before = tsr_h_count_tokens(srv, admin);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        r = create_raw(srv, admin, body_for(bad_names[i], expires));
        tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    }
    snprintf(body, sizeof(body),
             "{\"name\":\"ok\",\"expires_at\":\"%s\",\"description\":\"line one\\nline "
             "\\u202Atwo\"}",
             expires);
    r = create_raw(srv, admin, body);
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/description");
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);
    r = create_raw(srv, admin, body_for("\U0001F469\u200D\U0001F467 team", expires));
    tsr_h_assert_status(r, 201);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "name"),
                        "\U0001F469\u200D\U0001F467 team");
}

static void start_srv2(void)
{
    if (srv2 == NULL) {
        static const char *const args[] = {"--max-lifetime", "0", "--max-tokens", "3", NULL};
        struct tsr_h_opts o = {.args = args};
        srv2 = tsr_h_start(&o);
    }
}

static void test_max_lifetime_zero_means_no_limit(void **state)
{
    (void)state;
    start_srv2();
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv2, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    struct tsr_h_resp *r = create_raw(srv2, s, body_for("far", "2999-01-01T00:00:00Z"));
    tsr_h_assert_status(r, 201);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "expires_at"),
                        "2999-01-01T00:00:00Z");
    /* Still in the future, though. */
    r = create_raw(srv2, s, body_for("past", "2020-01-01"));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    r = create_raw(srv2, s, body_for("400 days", tsr_h_time(tsr_h_now() + 400 * TSR_H_DAY)));
    tsr_h_assert_status(r, 201);
}

/* The cap counts expired tokens too, until retention deletes them: a user
 * cannot get past it by letting short-lived tokens expire. */
static void test_token_limit_counts_expired(void **state)
{
    static const char *const args[] = {"--max-tokens", "2", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *capped = tsr_h_start(&o);
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t[2];
    struct tsr_h_resp *r;

    (void)state;
    tsr_h_login(capped, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    for (int i = 0; i < 2; i++)
        tsr_h_create_token(capped, s, "short", tsr_h_time(tsr_h_now() + 2), &t[i]);
    tsr_h_sleep_ms(3500);
    assert_false(tsr_h_verify(capped, t[0].secret));
    assert_false(tsr_h_verify(capped, t[1].secret));
    r = create_raw(capped, s, body_for("third", tsr_h_time(tsr_h_now() + TSR_H_DAY)));
    tsr_h_assert_error(r, 409, "token_limit_reached", TSR_H_SRC_NONE, NULL);
    /* Deleting an expired one makes room. */
    tsr_h_assert_status(
        tsr_h_send(capped, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t[0].id), s, NULL),
        204);
    r = create_raw(capped, s, body_for("third", tsr_h_time(tsr_h_now() + TSR_H_DAY)));
    tsr_h_assert_status(r, 201);
    tsr_h_stop(capped);
}

static void test_token_limit(void **state)
{
    (void)state;
    start_srv2();
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv2, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    /* Fill up to 3 whatever the previous test left. */
    long n = tsr_h_count_tokens(srv2, s);
    struct tsr_h_token t;
    for (long i = n; i < 3; i++) {
        tsr_h_create_token(srv2, s, "fill", NULL, &t);
    }
    assert_int_equal(tsr_h_count_tokens(srv2, s), 3);
    struct tsr_h_resp *r =
        create_raw(srv2, s, body_for("fourth", tsr_h_time(tsr_h_now() + TSR_H_DAY)));
    tsr_h_assert_error(r, 409, "token_limit_reached", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv2, s), 3);
    /* Session tokens do not count: a new login still works. */
    char s2[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv2, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s2);

    /* After a delete, one more fits, and only one. */
    r = tsr_h_get(srv2, "/v4/iam/personal_tokens", s);
    const char *victim = tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "results"), 0), "id");
    tsr_h_assert_status(tsr_h_send(srv2, "DELETE", token_path(victim), s, NULL), 204);
    tsr_h_create_token(srv2, s, "fourth", NULL, &t);
    r = create_raw(srv2, s, body_for("fifth", tsr_h_time(tsr_h_now() + TSR_H_DAY)));
    tsr_h_assert_error(r, 409, "token_limit_reached", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv2, s), 3);
    tsr_h_stop(srv2);
}

static void test_list_and_pages(void **state)
{
    (void)state;
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "pager@example.com", USER_PASSWORD, s);
    json_t *l = list(s, NULL);
    assert_int_equal(tsr_h_jint(l, "count"), 0);
    assert_int_equal(tsr_h_jint(l, "total_pages"), 0);
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 0);

    char ids[45][TSR_H_UUID_LEN + 1];
    for (int i = 0; i < 45; i++) {
        struct tsr_h_token t;
        tsr_h_create_token(srv, s, tsr_h_fmt("tok-%02d", i), NULL, &t);
        memcpy(ids[i], t.id, sizeof(ids[i]));
    }
    /* Default page size 20. */
    l = list(s, NULL);
    assert_int_equal(tsr_h_jint(l, "count"), 45);
    assert_int_equal(tsr_h_jint(l, "total_pages"), 3);
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 20);

    /* Pages 1-3 of 20 hold every token once; page 4 is empty but 200. */
    int seen[45] = {0};
    const size_t want[] = {20, 20, 5, 0};
    for (int page = 1; page <= 4; page++) {
        l = list(s, tsr_h_fmt("page=%d&page_size=20", page));
        assert_int_equal(tsr_h_jint(l, "count"), 45);
        assert_int_equal(tsr_h_jint(l, "total_pages"), 3);
        json_t *res = tsr_h_jarr(l, "results");
        assert_int_equal(json_array_size(res), want[page - 1]);
        size_t i;
        json_t *t;
        json_array_foreach(res, i, t)
        {
            const char *id = tsr_h_jstr(t, "id");
            int k = 0;
            while (k < 45 && strcmp(ids[k], id) != 0) {
                k++;
            }
            assert_true(k < 45);
            seen[k]++;
        }
    }
    for (int k = 0; k < 45; k++) {
        assert_int_equal(seen[k], 1);
    }
    l = list(s, "page=1000");
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 0);
    assert_int_equal(tsr_h_jint(l, "count"), 45);

    l = list(s, "page_size=100");
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 45);
    assert_int_equal(tsr_h_jint(l, "total_pages"), 1);
    l = list(s, "page_size=7");
    assert_int_equal(tsr_h_jint(l, "total_pages"), 7);
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 7);
    l = list(s, "page_size=7&page=7");
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 3);
    l = list(s, "page_size=1&page=45");
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 1);
    assert_int_equal(tsr_h_jint(l, "total_pages"), 45);

    /* Default order -created: created never increases down the list. */
    l = list(s, "page_size=100");
    int64_t prev = INT64_MAX;
    size_t i;
    json_t *t;
    json_array_foreach(tsr_h_jarr(l, "results"), i, t)
    {
        int64_t c = tsr_h_parse_time(tsr_h_jstr(t, "created"));
        assert_true(c <= prev);
        prev = c;
    }
    /* Other users see none of these. */
    char o[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "other@example.com", USER_PASSWORD, o);
    assert_int_equal(tsr_h_jint(list(o, "search=tok-"), "count"), 0);
    assert_int_equal(tsr_h_jint(list(admin, "search=tok-"), "count"), 0);
    assert_int_equal(tsr_h_jint(list(s, "search=tok-"), "count"), 45);
}

static void test_search(void **state)
{
    (void)state;
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "search@example.com", USER_PASSWORD, s);
    const char *exp = tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY);
    const char *tokens[][2] = {
        {"Deploy prod", ""},
        {"deploy staging", ""},
        {"DEPLOY-dev", ""},
        {"100% done", ""},
        {"a_b", ""},
        {"axb", ""},
        {"plain", "has a NeedLe inside"},
        {"\xc3\x84rger", ""}, /* "Ärger" */
    };
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        json_t *b = json_pack("{s:s, s:s, s:s}", "name", tokens[i][0], "description", tokens[i][1],
                              "expires_at", exp);
        tsr_h_assert_status(create_raw(srv, s, dump(b)), 201);
        json_decref(b);
    }
    struct {
        const char *query;
        long count;
    } cases[] = {
        {"search=deploy", 3},
        {"search=DEPLOY", 3},
        {"search=dEpLoY", 3},
        {"search=Deploy%20prod", 1},
        {"search=%25", 1}, /* % is literal */
        {"search=100%25", 1},
        {"search=_", 1}, /* _ is literal */
        {"search=a_b", 1},
        {"search=a%25b", 0},
        {"search=needle", 1}, /* description too */
        {"search=NEEDLE", 1},
        {"search=zzz", 0},
        {"search=%C3%84", 1},     /* Ä */
        {"search=%C3%A4rger", 0}, /* only ASCII letters match either case */
        {"search=deploy&page_size=2", 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("%s\n", cases[i].query);
        json_t *l = list(s, cases[i].query);
        assert_int_equal(tsr_h_jint(l, "count"), cases[i].count);
    }
    json_t *l = list(s, "search=deploy&page_size=2");
    assert_int_equal(tsr_h_jint(l, "total_pages"), 2);
    assert_int_equal(json_array_size(tsr_h_jarr(l, "results")), 2);
    l = list(s, "search=a_b");
    assert_string_equal(names(l), "a_b");
    l = list(s, "search=%25");
    assert_string_equal(names(l), "100% done");
    l = list(s, "search=needle");
    assert_string_equal(names(l), "plain");
}

/* Waits (at most 1.5 s) until the wall clock is in a new second. */
static void next_second(void)
{
    int64_t t = tsr_h_now();
    int64_t end = tsr_h_mono_ms() + 1500;
    while (tsr_h_now() == t && tsr_h_mono_ms() < end) {
        tsr_h_sleep_ms(20);
    }
    assert_true(tsr_h_now() > t);
}

/* Polls (at most 10 s: the documented lag is 5 s) until token id of auth
 * shows a last_used_at; returns it. */
static int64_t wait_last_used(const char *auth, const char *id)
{
    int64_t end = tsr_h_mono_ms() + 10000;
    for (;;) {
        json_t *d = get_token(auth, id);
        json_t *lu = json_object_get(d, "last_used_at");
        if (!json_is_null(lu)) {
            return tsr_h_parse_time(json_string_value(lu));
        }
        if (tsr_h_mono_ms() >= end) {
            fail_msg("last_used_at of %s still null 10 s after a use", id);
        }
        tsr_h_sleep_ms(100);
    }
}

static void test_ordering(void **state)
{
    (void)state;
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "order@example.com", USER_PASSWORD, s);
    int64_t now = tsr_h_now();
    /* Created in this order, a second apart: b, a, c, d. */
    struct {
        const char *name;
        int days;
        struct tsr_h_token t;
    } tk[] = {{.name = "b-name", .days = 10},
              {.name = "a-name", .days = 30},
              {.name = "c-name", .days = 20},
              {.name = "d-name", .days = 5}};
    for (size_t i = 0; i < 4; i++) {
        if (i > 0) {
            next_second();
        }
        tsr_h_create_token(srv, s, tk[i].name, tsr_h_time(now + tk[i].days * TSR_H_DAY), &tk[i].t);
    }
    /* Used: c, then a a second later; b and d never. */
    assert_true(tsr_h_verify(srv, tk[2].t.secret));
    next_second();
    assert_true(tsr_h_verify(srv, tk[1].t.secret));
    int64_t c_used = wait_last_used(s, tk[2].t.id);
    int64_t a_used = wait_last_used(s, tk[1].t.id);
    assert_true(c_used < a_used);

    struct {
        const char *query;
        const char *want;
    } cases[] = {
        {"ordering=name", "a-name,b-name,c-name,d-name"},
        {"ordering=-name", "d-name,c-name,b-name,a-name"},
        {"ordering=created", "b-name,a-name,c-name,d-name"},
        {"ordering=-created", "d-name,c-name,a-name,b-name"},
        {NULL, "d-name,c-name,a-name,b-name"}, /* the default */
        {"ordering=expires_at", "d-name,b-name,c-name,a-name"},
        {"ordering=-expires_at", "a-name,c-name,b-name,d-name"},
        {"ordering=name&page_size=2&page=2", "c-name,d-name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("%s\n", cases[i].query ? cases[i].query : "(default)");
        assert_string_equal(names(list(s, cases[i].query)), cases[i].want);
    }
    /* Never-used tokens last in both directions (their own order is the id's). */
    const char *asc = names(list(s, "ordering=last_used_at"));
    const char *desc = names(list(s, "ordering=-last_used_at"));
    assert_int_equal(strncmp(asc, "c-name,a-name,", 14), 0);
    assert_int_equal(strncmp(desc, "a-name,c-name,", 14), 0);
    assert_true(strcmp(asc + 14, "b-name,d-name") == 0 || strcmp(asc + 14, "d-name,b-name") == 0);
    assert_true(strcmp(desc + 14, "b-name,d-name") == 0 || strcmp(desc + 14, "d-name,b-name") == 0);
}

static void test_get_and_other_users(void **state)
{
    (void)state;
    struct tsr_h_token x;
    tsr_h_create_token(srv, admin, "admin's", NULL, &x);
    json_t *before = get_token(admin, x.id);
    char *before_s = dump(before);

    char o[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "other@example.com", USER_PASSWORD, o);
    struct tsr_h_token op;
    tsr_h_create_token(srv, o, "other's", NULL, &op);
    const char *as[] = {o, op.secret};
    for (size_t i = 0; i < 2; i++) {
        tsr_h_assert_error(tsr_h_get(srv, token_path(x.id), as[i]), 404, "not_found",
                           TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(x.id), as[i], "{\"name\":\"mine\"}"),
                           404, "not_found", TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(tsr_h_send(srv, "DELETE", token_path(x.id), as[i], NULL), 404,
                           "not_found", TSR_H_SRC_NONE, NULL);
    }
    /* And the other way round. */
    tsr_h_assert_error(tsr_h_get(srv, token_path(op.id), admin), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    /* Nothing changed. */
    assert_string_equal(dump(get_token(admin, x.id)), before_s);
    assert_true(tsr_h_verify(srv, x.secret));
    json_t *l = list(o, "page_size=100");
    assert_string_equal(names(l), "other's");
}

static void test_patch(void **state)
{
    (void)state;
    struct tsr_h_token t;
    int64_t now = tsr_h_now();
    tsr_h_create_token(srv, admin, "before", tsr_h_time(now + 10 * TSR_H_DAY), &t);
    memcpy(updated_id, t.id, sizeof(updated_id));
    json_t *orig = get_token(admin, t.id);
    const char *p = token_path(t.id);

    struct tsr_h_resp *r = tsr_h_send(srv, "PATCH", p, admin, "{\"name\":\"  after  \"}");
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "data");
    json_t *d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, false);
    assert_string_equal(tsr_h_jstr(d, "name"), "after");
    assert_string_equal(tsr_h_jstr(d, "description"), "");
    assert_string_equal(tsr_h_jstr(d, "expires_at"), tsr_h_jstr(orig, "expires_at"));

    r = tsr_h_send(srv, "PATCH", p, admin, "{\"description\":\"new\\ndescription\"}");
    tsr_h_assert_status(r, 200);
    d = tsr_h_jobj(r->json, "data");
    assert_string_equal(tsr_h_jstr(d, "name"), "after");
    assert_string_equal(tsr_h_jstr(d, "description"), "new\ndescription");

    const char *exp60 = tsr_h_time(now + 60 * TSR_H_DAY);
    r = tsr_h_send(srv, "PATCH", p, admin, tsr_h_fmt("{\"expires_at\":\"%s\"}", exp60));
    tsr_h_assert_status(r, 200);
    d = tsr_h_jobj(r->json, "data");
    assert_string_equal(tsr_h_jstr(d, "expires_at"), exp60);
    assert_string_equal(tsr_h_jstr(d, "name"), "after");

    const char *day = tsr_h_strndup(tsr_h_time(now + 90 * TSR_H_DAY), 10);
    r = tsr_h_send(
        srv, "PATCH", p, admin,
        tsr_h_fmt("{\"name\":\"all three\",\"description\":\"\",\"expires_at\":\"%s\"}", day));
    tsr_h_assert_status(r, 200);
    d = tsr_h_jobj(r->json, "data");
    assert_string_equal(tsr_h_jstr(d, "name"), "all three");
    assert_string_equal(tsr_h_jstr(d, "description"), "");
    assert_string_equal(tsr_h_jstr(d, "expires_at"), tsr_h_fmt("%sT00:00:00Z", day));

    /* What never changes. */
    assert_string_equal(tsr_h_jstr(d, "id"), t.id);
    assert_string_equal(tsr_h_jstr(d, "created"), tsr_h_jstr(orig, "created"));
    assert_string_equal(tsr_h_jstr(d, "key_hint"), tsr_h_jstr(orig, "key_hint"));
    assert_null(json_object_get(d, "key"));
    assert_null(strstr(r->body, t.secret));

    /* {} changes nothing and says so. */
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", p, admin, "{}"), 400, "nothing_to_change",
                       TSR_H_SRC_NONE, NULL);
    /* The lifetime is counted from now. */
    tsr_h_assert_error(
        tsr_h_send(srv, "PATCH", p, admin,
                   tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(tsr_h_now() + 367 * TSR_H_DAY))),
        400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    json_t *got = get_token(admin, t.id);
    char *dd = dump(d);
    assert_string_equal(dump(got), dd);

    /* The secret did not change. */
    r = tsr_h_get(srv, "/v4/auth/verify", t.secret);
    tsr_h_assert_status(r, 204);
    const char *hexp = tsr_h_header(r, "X-Tessera-Expires-At");
    assert_string_equal(hexp ? hexp : "(absent)", tsr_h_fmt("%sT00:00:00Z", day));
}

static void test_delete(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, admin, "short-lived", NULL, &t);
    memcpy(deleted_id, t.id, sizeof(deleted_id));
    long before = tsr_h_count_tokens(srv, admin);
    assert_true(tsr_h_verify(srv, t.secret));

    struct tsr_h_resp *r = tsr_h_send(srv, "DELETE", token_path(t.id), admin, NULL);
    tsr_h_assert_status(r, 204);
    assert_int_equal(r->body_len, 0);
    /* Refused on the very next request. */
    assert_false(tsr_h_verify(srv, t.secret));
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/users/me", t.secret), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_get(srv, token_path(t.id), admin), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(tsr_h_send(srv, "DELETE", token_path(t.id), admin, NULL), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(t.id), admin, "{\"name\":\"x\"}"), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before - 1);
    json_t *l = list(admin, "page_size=100&search=short-lived");
    assert_int_equal(tsr_h_jint(l, "count"), 0);
}

static void test_expires_while_running(void **state)
{
    (void)state;
    int64_t exp = tsr_h_now() + 2;
    struct tsr_h_token t;
    tsr_h_create_token(srv, admin, "ephemeral", tsr_h_time(exp), &t);
    assert_string_equal(tsr_h_jstr(t.data, "status"), "active");
    bool good = tsr_h_verify(srv, t.secret);
    if (tsr_h_now() < exp) {
        assert_true(good);
    }
    /* Wait until the clock is past expires_at (bounded: about 3 s). */
    int64_t end = tsr_h_mono_ms() + 5000;
    while (tsr_h_now() <= exp && tsr_h_mono_ms() < end) {
        tsr_h_sleep_ms(100);
    }
    assert_true(tsr_h_now() > exp);

    assert_false(tsr_h_verify(srv, t.secret));
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/users/me", t.secret), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    /* Still listed, as expired. */
    json_t *l = list(admin, "search=ephemeral");
    assert_int_equal(tsr_h_jint(l, "count"), 1);
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(l, "results"), 0), "status"),
                        "expired");
    assert_string_equal(tsr_h_jstr(get_token(admin, t.id), "status"), "expired");
    /* It cannot be changed, only deleted. */
    const char *p = token_path(t.id);
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", p, admin, "{\"name\":\"revived\"}"), 409,
                       "token_expired", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(
        tsr_h_send(srv, "PATCH", p, admin,
                   tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(tsr_h_now() + TSR_H_DAY))),
        409, "token_expired", TSR_H_SRC_NONE, NULL);
    /* The body is looked at first. */
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", p, admin, "{}"), 400, "nothing_to_change",
                       TSR_H_SRC_NONE, NULL);
    assert_string_equal(tsr_h_jstr(get_token(admin, t.id), "name"), "ephemeral");
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", p, admin, NULL), 204);
    tsr_h_assert_error(tsr_h_get(srv, p, admin), 404, "not_found", TSR_H_SRC_NONE, NULL);
}

/* status= keeps the tokens that are active (not expired), expiring (of
 * those, the ones that expire within 7 days) or expired; links keep it. */
static void test_status_filter(void **state)
{
    (void)state;
    int64_t gone = tsr_h_now() + 2;
    struct tsr_h_token soon, later, expired;
    tsr_h_create_token(srv, admin, "stat-soon", tsr_h_time(tsr_h_now() + 6 * TSR_H_DAY), &soon);
    tsr_h_create_token(srv, admin, "stat-later", tsr_h_time(tsr_h_now() + 8 * TSR_H_DAY), &later);
    tsr_h_create_token(srv, admin, "stat-gone", tsr_h_time(gone), &expired);
    int64_t end = tsr_h_mono_ms() + 5000;
    while (tsr_h_now() <= gone && tsr_h_mono_ms() < end) {
        tsr_h_sleep_ms(100);
    }
    assert_true(tsr_h_now() > gone);

    assert_string_equal(names(list(admin, "search=stat-&ordering=name")),
                        "stat-gone,stat-later,stat-soon");
    assert_string_equal(names(list(admin, "search=stat-&ordering=name&status=active")),
                        "stat-later,stat-soon");
    assert_string_equal(names(list(admin, "search=stat-&ordering=name&status=expiring")),
                        "stat-soon");
    json_t *l = list(admin, "search=stat-&status=expired");
    assert_string_equal(names(l), "stat-gone");
    assert_int_equal(tsr_h_jint(l, "count"), 1);

    /* Azion's pages link to the next page, with the filter. */
    struct tsr_h_resp *r =
        tsr_h_get(srv, "/iam/personal_tokens?search=stat-&status=active&page_size=1", admin);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "count"), 2);
    assert_non_null(strstr(tsr_h_jstr(tsr_h_jobj(r->json, "links"), "next"), "status=active"));

    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/personal_tokens?status=revoked", admin), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "status");
    tsr_h_assert_error(
        tsr_h_get(srv, "/v4/iam/personal_tokens?status=active&status=expired", admin), 400,
        "invalid_parameter", TSR_H_SRC_PARAMETER, "status");
    const char *ids[] = {soon.id, later.id, expired.id};
    for (size_t i = 0; i < 3; i++)
        tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(ids[i]), admin, NULL), 204);
}

static void test_last_used(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, admin, "used", NULL, &t);
    assert_true(json_is_null(json_object_get(get_token(admin, t.id), "last_used_at")));
    /* Managing a token with the session does not use it. */
    int64_t before = tsr_h_now();
    assert_true(tsr_h_verify(srv, t.secret));
    int64_t used = wait_last_used(admin, t.id);
    tsr_h_assert_between(used, before - 1, tsr_h_now() + 1);
    /* Using it through another endpoint counts as well. */
    next_second();
    before = tsr_h_now();
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", t.secret), 200);
    int64_t end = tsr_h_mono_ms() + 10000;
    while (tsr_h_parse_time(tsr_h_jstr(get_token(admin, t.id), "last_used_at")) < before &&
           tsr_h_mono_ms() < end) {
        tsr_h_sleep_ms(100);
    }
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(get_token(admin, t.id), "last_used_at")),
                         before, tsr_h_now() + 1);
}

static void test_survives_restart(void **state)
{
    (void)state;
    struct tsr_h_token t;
    tsr_h_create_token(srv, admin, "durable", NULL, &t);
    json_t *l = list(admin, "page_size=100&ordering=name");
    char *before = dump(l);
    long count = tsr_h_jint(l, "count");
    /* A use just before the stop is flushed at shutdown. */
    int64_t used = tsr_h_now();
    assert_true(tsr_h_verify(srv, t.secret));

    tsr_h_restart(srv);

    assert_true(tsr_h_verify(srv, t.secret));
    /* The session survives too. */
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me", admin), 200);
    l = list(admin, "page_size=100&ordering=name");
    assert_int_equal(tsr_h_jint(l, "count"), count);
    json_t *d = get_token(admin, t.id);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(d, "last_used_at")), used - 1,
                         tsr_h_now() + 1);
    /* Everything else as it was (the last use aside). */
    json_t *a = json_loads(before, 0, NULL);
    assert_non_null(a);
    json_t *ra = json_object_get(a, "results"), *rb = tsr_h_jarr(l, "results");
    assert_int_equal(json_array_size(ra), json_array_size(rb));
    for (size_t i = 0; i < json_array_size(ra); i++) {
        json_object_del(json_array_get(ra, i), "last_used_at");
        json_object_del(json_array_get(ra, i), "last_used_ip");
        json_t *b = json_deep_copy(json_array_get(rb, i));
        json_object_del(b, "last_used_at");
        json_object_del(b, "last_used_ip");
        char *sb = dump(b);
        json_decref(b);
        assert_string_equal(dump(json_array_get(ra, i)), sb);
    }
    json_decref(a);
    /* Another user's data too. */
    char o[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, "pager@example.com", USER_PASSWORD, o);
    assert_int_equal(tsr_h_count_tokens(srv, o), 45);
}

static void test_audit(void **state)
{
    (void)state;
    /* One failed login and one failed authentication, now. */
    struct tsr_h_req bad = {.method = "POST",
                            .path = "/v4/tokens",
                            .auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, "not-the-password")};
    tsr_h_assert_status(tsr_h_req(srv, &bad), 401);
    char made_up[TSR_H_SECRET_LEN + 1];
    tsr_h_make_secret("tsr_", 42, made_up);
    tsr_h_record_secret(made_up);
    assert_false(tsr_h_verify(srv, made_up));
    /* Failed authentications are written in batches, and at the latest on stop. */
    tsr_h_stop(srv);

    /* The server's database, on either engine (tsr_h_sql_int). */
    struct {
        const char *what;
        const char *sql;
        const char *a, *b;
    } q[] = {
        {"token.create by admin",
         "SELECT count(*) FROM audit WHERE action = 'token.create' AND user_id = ?1", admin_id,
         NULL},
        {"token.update of the patched token",
         "SELECT count(*) FROM audit WHERE action = 'token.update' AND token_id = ?1 AND user_id "
         "= ?2",
         updated_id, admin_id},
        {"token.delete of the deleted token",
         "SELECT count(*) FROM audit WHERE action = 'token.delete' AND token_id = ?1 AND user_id "
         "= ?2",
         deleted_id, admin_id},
        {"login success",
         "SELECT count(*) FROM audit WHERE action = 'login' AND outcome = "
         "'success' AND user_id = ?1",
         admin_id, NULL},
        {"login failure",
         "SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'failure'", NULL, NULL},
        {"auth failure",
         "SELECT coalesce(sum(count), 0) FROM audit WHERE action = 'auth' AND "
         "outcome = 'failure'",
         NULL, NULL},
        {"auth failure with the revoked token's id",
         "SELECT count(*) FROM audit WHERE action = 'auth' AND outcome = 'failure' AND token_id = "
         "?1",
         deleted_id, NULL},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        long long n = tsr_h_sql_int(srv, q[i].sql, q[i].a, q[i].b);
        print_message("%s: %lld\n", q[i].what, n);
        if (n < 1) {
            fail_msg("no audit row for %s", q[i].what);
        }
    }
    /* Every row's time is within this program's run. */
    tsr_h_assert_between(tsr_h_sql_int(srv, "SELECT count(*) FROM audit WHERE at < ?1 OR at > ?2",
                                       tsr_h_fmt("%lld", (long long)started_at - 5),
                                       tsr_h_fmt("%lld", (long long)tsr_h_now() + 5)),
                         0, 0);
    tsr_h_scan_secrets(srv);
    /* Nor does any file hold a password in clear (pg-dump.sql: PostgreSQL's). */
    const char *files[] = {"tessera.db", "tessera.db-wal", "stderr.log", "stdout.log",
                           "pg-dump.sql"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len = 0;
        char *buf = tsr_h_read_file(tsr_h_fmt("%s/%s", srv->dir, files[i]), &len);
        if (buf != NULL) {
            assert_null(memmem(buf, len, TSR_H_ADMIN_PASSWORD, strlen(TSR_H_ADMIN_PASSWORD)));
            assert_null(memmem(buf, len, USER_PASSWORD, strlen(USER_PASSWORD)));
        }
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_create_trims),
        cmocka_unit_test(test_expires_at_forms),
        cmocka_unit_test(test_max_lifetime),
        cmocka_unit_test(test_max_lifetime_zero_means_no_limit),
        cmocka_unit_test(test_invisible_characters_refused),
        cmocka_unit_test(test_token_limit),
        cmocka_unit_test(test_token_limit_counts_expired),
        cmocka_unit_test(test_list_and_pages),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_ordering),
        cmocka_unit_test(test_get_and_other_users),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_expires_while_running),
        cmocka_unit_test(test_status_filter),
        cmocka_unit_test(test_last_used),
        cmocka_unit_test(test_survives_restart),
        cmocka_unit_test(test_audit),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
