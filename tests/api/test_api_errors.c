/* test_api_errors.c - end to end: every class of bad request, its error, and that nothing changed
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TOKENS "/v4/iam/personal_tokens"

static struct tsr_h_server *srv;
static char admin[TSR_H_SECRET_LEN + 1];
static struct tsr_h_token victim; /* a token the PATCH tests try to break */
static const char *future;        /* a good expires_at */

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, admin);
    future = tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY);
    tsr_h_create_token(srv, admin, "victim", NULL, &victim);
    return 0;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *o = tsr_h_fmt("%s", s ? s : "(null)");
    free(s);
    return o;
}

/* The victim as a refused request could change it: its last use is left
 * out, since an earlier verify's use is written when the server flushes,
 * which may fall between two reads (slowly, under valgrind). */
static const char *victim_now(void)
{
    struct tsr_h_resp *r = tsr_h_get(srv, tsr_h_fmt(TOKENS "/%s", victim.id), admin);
    tsr_h_assert_status(r, 200);
    json_t *data = json_object_get(r->json, "data");
    json_object_del(data, "last_used_at");
    json_object_del(data, "last_used_ip");
    return dump(r->json);
}

/* n copies of s. */
static const char *repeat(const char *s, int n)
{
    size_t len = strlen(s);
    char *out = tsr_h_fmt("%*s", (int)(len * (size_t)n), "");
    for (int i = 0; i < n; i++) {
        memcpy(out + (size_t)i * len, s, len);
    }
    return out;
}

/* A create request (raw body bytes, JSON content type) that must fail as said
 * and create nothing. */
#define bad_create(body, len, status, code, kind, name)                                            \
    bad_create_at(body, len, status, code, kind, name, __FILE__, __LINE__)
static void bad_create_at(const char *body, size_t len, long status, const char *code,
                          enum tsr_h_source kind, const char *name, const char *file, int line)
{
    print_message("POST %.200s\n", body);
    long before = tsr_h_count_tokens(srv, admin);
    struct tsr_h_req req = {
        .method = "POST", .path = TOKENS, .secret = admin, .body = body, .body_len = len};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);
    tsr__assert_error(r, status, code, kind, name, file, line);
    _assert_int_equal((LargestIntegralType)tsr_h_count_tokens(srv, admin),
                      (LargestIntegralType)before, file, line);
}

/* A PATCH of the victim that must fail as said and change nothing. */
#define bad_patch(body, status, code, kind, name)                                                  \
    bad_patch_at(body, status, code, kind, name, __FILE__, __LINE__)
static void bad_patch_at(const char *body, long status, const char *code, enum tsr_h_source kind,
                         const char *name, const char *file, int line)
{
    print_message("PATCH %.200s\n", body);
    const char *before = victim_now();
    struct tsr_h_resp *r =
        tsr_h_send(srv, "PATCH", tsr_h_fmt(TOKENS "/%s", victim.id), admin, body);
    tsr__assert_error(r, status, code, kind, name, file, line);
    _assert_string_equal(victim_now(), before, file, line);
}

/* A create body with name (raw JSON text of the value) and the good expires_at. */
static const char *with_name(const char *name_json)
{
    return tsr_h_fmt("{\"name\":%s,\"expires_at\":\"%s\"}", name_json, future);
}

static const char *with_desc(const char *desc_json)
{
    return tsr_h_fmt("{\"name\":\"d\",\"description\":%s,\"expires_at\":\"%s\"}", desc_json,
                     future);
}

static const char *with_expiry(const char *exp_json)
{
    return tsr_h_fmt("{\"name\":\"e\",\"expires_at\":%s}", exp_json);
}

static json_t *good_create(const char *body)
{
    print_message("POST %.200s\n", body);
    struct tsr_h_resp *r = tsr_h_send(srv, "POST", TOKENS, admin, body);
    tsr_h_assert_status(r, 201);
    return tsr_h_jobj(r->json, "data");
}

static void test_malformed_json(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"name\":",
        "not json",
        "{'name':'x'}",
        "{\"name\":\"x\",}",
        "{} x",
        "{}{}",
        "[]",
        "[{\"name\":\"x\"}]",
        "\"a string\"",
        "42",
        "null",
        "true",
        " ",
        tsr_h_fmt("{\"name\":\"a\",\"name\":\"b\",\"expires_at\":\"%s\"}", future), /* twice */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        bad_create(bodies[i], 0, 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    }
    /* An empty body with a JSON content type. */
    struct tsr_h_req req = {.method = "POST",
                            .path = TOKENS,
                            .secret = admin,
                            .body = "",
                            .body_len = 0,
                            .ctype = "application/json"};
    long before = tsr_h_count_tokens(srv, admin);
    tsr_h_assert_error(tsr_h_req(srv, &req), 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);
}

static void test_field_types(void **state)
{
    (void)state;
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\",\"foo\":1}", future), 0, 400,
               "unknown_field", TSR_H_SRC_POINTER, "/foo");
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\",\"Name\":\"b\"}", future), 0, 400,
               "unknown_field", TSR_H_SRC_POINTER, "/Name");
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\",\"key\":\"x\"}", future), 0, 400,
               "unknown_field", TSR_H_SRC_POINTER, "/key");
    /* JSON Pointer escapes ~ and /. */
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\",\"a/b\":1}", future), 0, 400,
               "unknown_field", TSR_H_SRC_POINTER, "/a~1b");
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\",\"m~n\":1}", future), 0, 400,
               "unknown_field", TSR_H_SRC_POINTER, "/m~0n");

    const char *bad_values[] = {"5", "null", "true", "[\"a\"]", "{\"a\":1}", "1.5"};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        bad_create(with_name(bad_values[i]), 0, 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
        /* A null description is an empty one, as Azion's clients send it. */
        if (strcmp(bad_values[i], "null") != 0)
            bad_create(with_desc(bad_values[i]), 0, 400, "invalid_field", TSR_H_SRC_POINTER,
                       "/description");
        bad_create(with_expiry(bad_values[i]), 0, 400, "invalid_field", TSR_H_SRC_POINTER,
                   "/expires_at");
    }
    bad_create(tsr_h_fmt("{\"expires_at\":\"%s\"}", future), 0, 400, "missing_field",
               TSR_H_SRC_POINTER, "/name");
    bad_create(tsr_h_fmt("{\"description\":\"x\",\"expires_at\":\"%s\"}", future), 0, 400,
               "missing_field", TSR_H_SRC_POINTER, "/name");
    bad_create("{\"name\":\"a\"}", 0, 400, "missing_field", TSR_H_SRC_POINTER, "/expires_at");
}

static void test_name_rules(void **state)
{
    (void)state;
    const char *bad[] = {
        "\"\"",          "\"   \"",       "\" \\t\\r\\n \"", "\"a\\u0001b\"",
        "\"a\\u0000b\"", "\"a\\u001fb\"", "\"a\\u007fb\"",   "\"a\\u0085b\"",
        "\"a\\u009fb\"", "\"a\\nb\"",     "\"a\\tb\"",       "\"a\\rb\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bad_create(with_name(bad[i]), 0, 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    }
    /* 100 characters, in 1-, 2- and 4-byte UTF-8, with white space around. */
    const char *units[] = {"a", "\xc3\xa9", "\xf0\x9f\x98\x80"}; /* a, é, 😀 */
    for (size_t i = 0; i < 3; i++) {
        const char *n100 = repeat(units[i], 100);
        json_t *d = good_create(with_name(tsr_h_fmt("\"  %s \\n\"", n100)));
        assert_string_equal(tsr_h_jstr(d, "name"), n100);
        bad_create(with_name(tsr_h_fmt("\"%s\"", repeat(units[i], 101))), 0, 400, "invalid_field",
                   TSR_H_SRC_POINTER, "/name");
    }
    /* Escaped forms are the same characters. */
    json_t *d = good_create(with_name(tsr_h_fmt("\"%s\"", repeat("\\u00e9", 100))));
    assert_string_equal(tsr_h_jstr(d, "name"), repeat("\xc3\xa9", 100));
    bad_create(with_name(tsr_h_fmt("\"%s\"", repeat("\\ud83d\\ude00", 101))), 0, 400,
               "invalid_field", TSR_H_SRC_POINTER, "/name");
    /* Other characters that are not Cc are fine, but for the invisible ones
     * that hide or reorder text (U+200B here); the joiner U+200D stays. */
    d = good_create(with_name("\"caf\\u00e9 \\u00a0 \\u2028 \\u200d \xe4\xb8\xad\""));
    assert_string_equal(tsr_h_jstr(d, "name"),
                        "caf\xc3\xa9 \xc2\xa0 \xe2\x80\xa8 \xe2\x80\x8d \xe4\xb8\xad");
    bad_create(with_name("\"zero\\u200bwidth\""), 0, 400, "invalid_field", TSR_H_SRC_POINTER,
               "/name");
}

static void test_description_rules(void **state)
{
    (void)state;
    json_t *d = good_create(with_desc("\"line one\\nline two\""));
    assert_string_equal(tsr_h_jstr(d, "description"), "line one\nline two");
    d = good_create(with_desc("\"\""));
    assert_string_equal(tsr_h_jstr(d, "description"), "");
    d = good_create(with_desc("\"  \\n \""));
    assert_string_equal(tsr_h_jstr(d, "description"), "");
    d = good_create(with_desc(tsr_h_fmt("\"%s\"", repeat("x", 500))));
    assert_string_equal(tsr_h_jstr(d, "description"), repeat("x", 500));
    d = good_create(with_desc(tsr_h_fmt("\"  %s  \"", repeat("\xc3\xa9", 500))));
    assert_string_equal(tsr_h_jstr(d, "description"), repeat("\xc3\xa9", 500));

    const char *bad[] = {
        "\"a\\tb\"",
        "\"a\\u0001b\"",
        "\"a\\u007fb\"",
        "\"a\\u0085b\"",
        "\"a\\u0000b\"",
        tsr_h_fmt("\"%s\"", repeat("x", 501)),
        tsr_h_fmt("\"%s\"", repeat("\xc3\xa9", 501)),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bad_create(with_desc(bad[i]), 0, 400, "invalid_field", TSR_H_SRC_POINTER, "/description");
    }
}

static void test_expires_at_rules(void **state)
{
    (void)state;
    int64_t now = tsr_h_now();
    int year = 0;
    assert_int_equal(sscanf(tsr_h_time(now), "%4d", &year), 1);
    const char *next_year = tsr_h_fmt("%d", year + 1);
    const char *day = tsr_h_strndup(tsr_h_time(now + 10 * TSR_H_DAY), 10);
    const char *bad[] = {
        /* past, or not in the future */
        "2020-01-01",
        tsr_h_time(now - 60),
        tsr_h_time(now),
        "1970-01-01T00:00:00Z",
        /* too far */
        tsr_h_time(now + 400 * TSR_H_DAY),
        "9999-12-31",
        /* not dates */
        "",
        "tomorrow",
        "1767225600",
        tsr_h_fmt("%s-13-01", next_year),
        tsr_h_fmt("%s-00-10", next_year),
        tsr_h_fmt("%s-02-30", next_year),
        tsr_h_fmt("%s-04-31", next_year),
        tsr_h_fmt("%s-1-1", next_year),
        tsr_h_fmt("%sT25:00", day),
        tsr_h_fmt("%sT24:00:00", day),
        tsr_h_fmt("%sT12:60", day),
        tsr_h_fmt("%sT12:34:60", day),
        tsr_h_fmt("%sT12", day),
        tsr_h_fmt("%sT12:34:56.", day),
        tsr_h_fmt("%sT12:34:56+0200", day),
        tsr_h_fmt("%sT12:34:56+02", day),
        tsr_h_fmt("%sT12:34:56 Z", day),
        tsr_h_fmt("%sX12:34:56Z", day),
        tsr_h_fmt("%sT12:34:56ZZ", day),
        tsr_h_fmt("%s ", day),
        tsr_h_fmt("%sT1:2:3Z", day),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bad_create(with_expiry(tsr_h_fmt("\"%s\"", bad[i])), 0, 400, "invalid_field",
                   TSR_H_SRC_POINTER, "/expires_at");
    }
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        ("\"a\xff"
         "b\""),                /* split so that \xff does not swallow the b */
        "\"\xc3\x28\"",         /* bad continuation */
        "\"\xc0\xaf\"",         /* overlong */
        "\"\xed\xa0\x80\"",     /* a surrogate */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xe2\x82\"",         /* truncated */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bad_create(with_name(bad[i]), 0, 400, "invalid_json", TSR_H_SRC_NONE, NULL);
        bad_create(with_desc(bad[i]), 0, 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    }
    /* Outside any string, too. */
    bad_create(tsr_h_fmt("{\"name\":\"a\",\"expires_at\":\"%s\"}\xff", future), 0, 400,
               "invalid_json", TSR_H_SRC_NONE, NULL);
    /* A lone escaped surrogate is not a character either. */
    long before = tsr_h_count_tokens(srv, admin);
    struct tsr_h_resp *r = tsr_h_send(srv, "POST", TOKENS, admin, with_name("\"a\\ud800b\""));
    tsr_h_assert_status(r, 400);
    const char *code = tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "errors"), 0), "code");
    if (strcmp(code, "invalid_json") != 0) {
        tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);
    /* And in a query parameter. */
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "?search=%FF", admin), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "search");
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "?search=%C0%AF", admin), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "search");
}

static void test_patch_errors(void **state)
{
    (void)state;
    const char *before = victim_now();
    bad_patch("{}", 400, "nothing_to_change", TSR_H_SRC_NONE, NULL);
    bad_patch("", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("{\"name\":", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("[]", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("null", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("{\"name\":\"a\",\"name\":\"b\"}", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("{\"name\":\"\\xff\"}", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("{\"name\":\"a\xff\"}", 400, "invalid_json", TSR_H_SRC_NONE, NULL);
    bad_patch("{\"foo\":1}", 400, "unknown_field", TSR_H_SRC_POINTER, "/foo");
    bad_patch("{\"name\":\"ok\",\"foo\":1}", 400, "unknown_field", TSR_H_SRC_POINTER, "/foo");
    bad_patch("{\"id\":\"x\"}", 400, "unknown_field", TSR_H_SRC_POINTER, "/id");
    bad_patch("{\"status\":\"expired\"}", 400, "unknown_field", TSR_H_SRC_POINTER, "/status");
    bad_patch("{\"key\":\"x\"}", 400, "unknown_field", TSR_H_SRC_POINTER, "/key");
    bad_patch("{\"name\":null}", 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    bad_patch("{\"name\":5}", 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    bad_patch("{\"name\":\"\"}", 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    bad_patch("{\"name\":\"  \"}", 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    bad_patch(tsr_h_fmt("{\"name\":\"%s\"}", repeat("n", 101)), 400, "invalid_field",
              TSR_H_SRC_POINTER, "/name");
    bad_patch("{\"name\":\"a\\u0001\"}", 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    bad_patch("{\"description\":\"a\\tb\"}", 400, "invalid_field", TSR_H_SRC_POINTER,
              "/description");
    bad_patch(tsr_h_fmt("{\"description\":\"%s\"}", repeat("d", 501)), 400, "invalid_field",
              TSR_H_SRC_POINTER, "/description");
    bad_patch("{\"expires_at\":null}", 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    bad_patch("{\"expires_at\":\"2020-01-01\"}", 400, "invalid_field", TSR_H_SRC_POINTER,
              "/expires_at");
    bad_patch("{\"expires_at\":\"soon\"}", 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    bad_patch(tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(tsr_h_now() + 400 * TSR_H_DAY)), 400,
              "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    /* A good name with a bad expires_at changes neither. */
    bad_patch("{\"name\":\"changed\",\"expires_at\":\"2020-01-01\"}", 400, "invalid_field",
              TSR_H_SRC_POINTER, "/expires_at");
    assert_string_equal(victim_now(), before);
    assert_true(tsr_h_verify(srv, victim.secret));

    /* The body is looked at before the id: 400 for a bad body, 404 for a good one. */
    const char *unknown = TOKENS "/01890000-0000-7000-8000-000000000000";
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", unknown, admin, "{}"), 400, "nothing_to_change",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", unknown, admin, "{\"foo\":1}"), 400,
                       "unknown_field", TSR_H_SRC_POINTER, "/foo");
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", unknown, admin, "{\"name\":\"x\"}"), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
}

static void test_query_parameters(void **state)
{
    (void)state;
    struct {
        const char *query;
        const char *param;
    } bad[] = {
        {"page=0", "page"},
        {"page=-1", "page"},
        {"page=x", "page"},
        {"page=", "page"},
        {"page=1.5", "page"},
        {"page=1x", "page"},
        {"page=%201", "page"},
        {"page=99999999999999999999999", "page"},
        {"page_size=0", "page_size"},
        {"page_size=101", "page_size"},
        {"page_size=-5", "page_size"},
        {"page_size=abc", "page_size"},
        {"page_size=", "page_size"},
        {"ordering=foo", "ordering"},
        {"ordering=-foo", "ordering"},
        {"ordering=--name", "ordering"},
        {"ordering=+name", "ordering"},
        {"ordering=", "ordering"},
        {"ordering=name,created", "ordering"},
        {"ordering=id", "ordering"},
        {"bogus=1", "bogus"},
        {"page=1&bogus=1", "bogus"},
        {"Page=1", "Page"},
        {"page=1&page=2", "page"},
        {"page=1&page=1", "page"},
        {"search=a&search=b", "search"},
        {"ordering=name&ordering=name", "ordering"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("?%s\n", bad[i].query);
        tsr_h_assert_error(tsr_h_get(srv, tsr_h_fmt(TOKENS "?%s", bad[i].query), admin), 400,
                           "invalid_parameter", TSR_H_SRC_PARAMETER, bad[i].param);
    }
    /* The edges that are fine. */
    const char *good[] = {"page=1",
                          "page_size=1",
                          "page_size=100",
                          "ordering=name",
                          "ordering=-last_used_at",
                          "search=",
                          "search=x&page=2&page_size=5",
                          "page=1000000"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        print_message("?%s\n", good[i]);
        tsr_h_assert_status(tsr_h_get(srv, tsr_h_fmt(TOKENS "?%s", good[i]), admin), 200);
    }
    /* Unknown parameters are refused on other endpoints too, and create nothing. */
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/users/me?foo=1", admin), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "foo");
    long before = tsr_h_count_tokens(srv, admin);
    tsr_h_assert_error(tsr_h_send(srv, "POST", TOKENS "?foo=1", admin, with_name("\"q\"")), 400,
                       "invalid_parameter", TSR_H_SRC_PARAMETER, "foo");
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);
}

static void test_content_type(void **state)
{
    (void)state;
    const char *body = with_name("\"typed\"");
    const char *bad[] = {"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                         "text/json",  "multipart/form-data; boundary=x",   ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("Content-Type: %s\n", bad[i][0] ? bad[i] : "(none)");
        long before = tsr_h_count_tokens(srv, admin);
        struct tsr_h_req req = {
            .method = "POST", .path = TOKENS, .secret = admin, .body = body, .ctype = bad[i]};
        tsr_h_assert_error(tsr_h_req(srv, &req), 415, "unsupported_media_type", TSR_H_SRC_NONE,
                           NULL);
        assert_int_equal(tsr_h_count_tokens(srv, admin), before);

        const char *v = victim_now();
        struct tsr_h_req patch = {.method = "PATCH",
                                  .path = tsr_h_fmt(TOKENS "/%s", victim.id),
                                  .secret = admin,
                                  .body = "{\"name\":\"typed\"}",
                                  .ctype = bad[i]};
        tsr_h_assert_error(tsr_h_req(srv, &patch), 415, "unsupported_media_type", TSR_H_SRC_NONE,
                           NULL);
        assert_string_equal(victim_now(), v);
    }
    const char *good[] = {"application/json", "application/json; charset=utf-8",
                          "application/json;charset=utf-8", "application/json; charset=UTF-8",
                          "Application/JSON"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        print_message("Content-Type: %s\n", good[i]);
        struct tsr_h_req req = {
            .method = "POST", .path = TOKENS, .secret = admin, .body = body, .ctype = good[i]};
        tsr_h_assert_status(tsr_h_req(srv, &req), 201);
    }
}

/* A valid create body padded with spaces to exactly size bytes. */
static const char *padded(size_t size)
{
    const char *b = with_name("\"padded\"");
    size_t len = strlen(b);
    assert_true(size >= len);
    char *out = tsr_h_fmt("%s%*s", b, (int)(size - len), "");
    assert_int_equal(strlen(out), size);
    return out;
}

static void test_body_size(void **state)
{
    (void)state;
    /* 64 KiB is fine; one byte more is not. */
    long before = tsr_h_count_tokens(srv, admin);
    struct tsr_h_req req = {
        .method = "POST", .path = TOKENS, .secret = admin, .body = padded(65536)};
    tsr_h_assert_status(tsr_h_req(srv, &req), 201);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 1);
    req.body = padded(65537);
    tsr_h_assert_error(tsr_h_req(srv, &req), 413, "payload_too_large", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 1);
    req.body = padded(200000);
    tsr_h_assert_error(tsr_h_req(srv, &req), 413, "payload_too_large", TSR_H_SRC_NONE, NULL);

    /* Size is checked before everything else: path, method, auth, content type. */
    const char *big = padded(70000);
    struct tsr_h_req cases[] = {
        {.method = "POST", .path = "/v4/nope", .secret = admin, .body = big},
        {.method = "POST", .path = "/v4/nope", .body = big},
        {.method = "PUT", .path = TOKENS, .body = big},
        {.method = "POST", .path = TOKENS, .body = big},
        {.method = "POST", .path = TOKENS, .secret = admin, .body = big, .ctype = "text/plain"},
        {.method = "PATCH", .path = tsr_h_fmt(TOKENS "/%s", victim.id), .body = big},
        {.method = "GET", .path = "/v4/iam/users/me", .secret = admin, .body = big},
        {.method = "POST", .path = "/v4/tokens", .body = big},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("%s %s with %zu bytes\n", cases[i].method, cases[i].path, strlen(big));
        tsr_h_assert_error(tsr_h_req(srv, &cases[i]), 413, "payload_too_large", TSR_H_SRC_NONE,
                           NULL);
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 1);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
}

/* The methods of an Allow header, sorted and joined with ", ". */
static const char *allow_set(const struct tsr_h_resp *r)
{
    const char *a = tsr_h_header(r, "Allow");
    if (a == NULL) {
        return "(no Allow header)";
    }
    char *methods[16];
    int n = 0;
    char *copy = tsr_h_fmt("%s", a), *save = NULL;
    for (char *m = strtok_r(copy, ", ", &save); m != NULL && n < 16;
         m = strtok_r(NULL, ", ", &save)) {
        methods[n++] = m;
    }
    for (int i = 1; i < n; i++) {
        for (int k = i; k > 0 && strcmp(methods[k - 1], methods[k]) > 0; k--) {
            char *t = methods[k];
            methods[k] = methods[k - 1];
            methods[k - 1] = t;
        }
    }
    char *out = tsr_h_fmt("%s", "");
    for (int i = 0; i < n; i++) {
        out = tsr_h_fmt("%s%s%s", out, i ? ", " : "", methods[i]);
    }
    return out;
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    const char *id = tsr_h_fmt(TOKENS "/%s", victim.id);
    struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"PUT", TOKENS, "GET, HEAD, POST"},
        {"DELETE", TOKENS, "GET, HEAD, POST"},
        {"PATCH", TOKENS, "GET, HEAD, POST"},
        {"POST", id, "DELETE, GET, HEAD, PATCH"},
        {"PUT", id, "DELETE, GET, HEAD, PATCH"},
        {"PATCH", TOKENS "/self", "DELETE, GET, HEAD"},
        {"POST", TOKENS "/self", "DELETE, GET, HEAD"},
        {"GET", "/v4/tokens", "POST"},
        {"DELETE", "/v4/tokens", "POST"},
        {"GET", "/v4/tokens/self", "DELETE"},
        {"POST", "/v4/tokens/self", "DELETE"},
        {"POST", "/v4/auth/verify", "GET, HEAD"},
        {"DELETE", "/v4/auth/verify", "GET, HEAD"},
        {"POST", "/v4/iam/users/me", "GET, HEAD"},
        {"DELETE", "/v4/iam/users/me", "GET, HEAD"},
        {"POST", "/healthz", "GET, HEAD"},
    };
    const char *before = victim_now();
    const char *auths[] = {NULL, admin};
    for (size_t a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            print_message("%s %s (%s)\n", cases[i].method, cases[i].path,
                          auths[a] ? "with auth" : "no auth");
            struct tsr_h_resp *r = tsr_h_send(srv, cases[i].method, cases[i].path, auths[a], NULL);
            tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
            assert_string_equal(allow_set(r), cases[i].allow);
        }
    }
    assert_string_equal(victim_now(), before);
    assert_true(tsr_h_verify(srv, victim.secret));
}

static void test_unknown_paths(void **state)
{
    (void)state;
    const char *paths[] = {
        "/v4/nope",
        "/v4",
        "/v4/iam",
        "/v4/iam/users",
        "/v4/iam/users/you",
        "/v4/iam/personal_tokens/self/extra",
        tsr_h_fmt(TOKENS "/%s/extra", victim.id),
        "/v4/tokens/other",
        "/v4/auth",
        "/v5/iam/personal_tokens",
        "/V4/iam/personal_tokens",
        "/v4/IAM/personal_tokens",
        "/healthz/x",
    };
    const char *auths[] = {NULL, admin};
    for (size_t a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            print_message("GET %s (%s)\n", paths[i], auths[a] ? "with auth" : "no auth");
            tsr_h_assert_error(tsr_h_get(srv, paths[i], auths[a]), 404, "not_found", TSR_H_SRC_NONE,
                               NULL);
            tsr_h_assert_error(tsr_h_send(srv, "DELETE", paths[i], auths[a], NULL), 404,
                               "not_found", TSR_H_SRC_NONE, NULL);
        }
    }
}

static void test_path_ids(void **state)
{
    (void)state;
    char upper[TSR_H_UUID_LEN + 1];
    for (int i = 0; i <= TSR_H_UUID_LEN; i++) {
        upper[i] =
            (char)(victim.id[i] >= 'a' && victim.id[i] <= 'f' ? victim.id[i] - 32 : victim.id[i]);
    }
    const char *ids[] = {
        upper,
        "abc",
        tsr_h_strndup(victim.id, 35),
        tsr_h_fmt("%sa", victim.id),
        tsr_h_fmt("{%s}", victim.id),
        tsr_h_fmt("urn:uuid:%s", victim.id),
        "0189000000007000800000000000000000",
        "01890000-0000-7000-8000-00000000000g",
        "01890000_0000_7000_8000_000000000000",
        "%30%31%38%39", /* percent-encoded digits */
    };
    const char *before = victim_now();
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const char *p = tsr_h_fmt(TOKENS "/%s", ids[i]);
        print_message("%s\n", p);
        tsr_h_assert_error(tsr_h_get(srv, p, admin), 404, "not_found", TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(tsr_h_send(srv, "PATCH", p, admin, "{\"name\":\"x\"}"), 404, "not_found",
                           TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(tsr_h_send(srv, "DELETE", p, admin, NULL), 404, "not_found",
                           TSR_H_SRC_NONE, NULL);
        /* Not even a route: 404 before authentication. */
        tsr_h_assert_error(tsr_h_get(srv, p, NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    }
    assert_string_equal(victim_now(), before);
    assert_true(tsr_h_verify(srv, victim.secret));
    /* A well-formed id that is nobody's. */
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/01890000-0000-7000-8000-000000000000", admin), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/00000000-0000-4000-8000-000000000000", admin), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
}

static void test_trailing_slash(void **state)
{
    (void)state;
    struct tsr_h_resp *r = tsr_h_get(srv, TOKENS "/", admin);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "count"), tsr_h_count_tokens(srv, admin));
    r = tsr_h_get(srv, TOKENS "/?page_size=1", admin);
    tsr_h_assert_status(r, 200);
    assert_int_equal(json_array_size(tsr_h_jarr(r->json, "results")), 1);
    r = tsr_h_get(srv, tsr_h_fmt(TOKENS "/%s/", victim.id), admin);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), victim.id);
    tsr_h_assert_status(tsr_h_get(srv, "/v4/iam/users/me/", admin), 200);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz/", NULL), 200);
    tsr_h_assert_status(tsr_h_get(srv, "/v4/auth/verify/", victim.secret), 204);

    r = tsr_h_send(srv, "POST", TOKENS "/", admin, with_name("\"slash\""));
    tsr_h_assert_status(r, 201);
    const char *id = tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id");
    r = tsr_h_send(srv, "PATCH", tsr_h_fmt(TOKENS "/%s/", id), admin, "{\"name\":\"slashed\"}");
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "name"), "slashed");
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", tsr_h_fmt(TOKENS "/%s/", id), admin, NULL), 204);
    tsr_h_assert_error(tsr_h_get(srv, tsr_h_fmt(TOKENS "/%s", id), admin), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    /* A 405 is a 405 with or without the slash. */
    r = tsr_h_send(srv, "PUT", TOKENS "/", admin, NULL);
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
}

static void test_order_of_checks(void **state)
{
    (void)state;
    const char *id = tsr_h_fmt(TOKENS "/%s", victim.id);
    struct tsr_h_resp *r;
    /* path before method before authentication */
    tsr_h_assert_error(tsr_h_get(srv, "/v4/nope", NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "PUT", "/v4/nope", NULL, NULL), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    r = tsr_h_send(srv, "PUT", TOKENS, NULL, NULL);
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
    assert_non_null(tsr_h_header(r, "Allow"));
    r = tsr_h_send(srv, "PUT", id, "tsr_garbage", "not json");
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);

    /* authentication before content type, body and query */
    struct tsr_h_req req = {
        .method = "POST", .path = TOKENS, .body = "not json", .ctype = "text/plain"};
    r = tsr_h_req(srv, &req);
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    const char *wa = tsr_h_header(r, "WWW-Authenticate");
    assert_string_equal(wa ? wa : "(absent)", "Token realm=\"tessera\"");
    req.secret = "tsr_bad";
    tsr_h_assert_error(tsr_h_req(srv, &req), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "POST", TOKENS, NULL, "{\"foo\":1}"), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "?page=0&bogus=1", NULL), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", id, NULL, "{}"), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    /* A well-formed id is a route: authentication comes before looking it up. */
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/01890000-0000-7000-8000-000000000000", NULL), 401,
                       "unauthorized", TSR_H_SRC_NONE, NULL);

    /* content type before body and query */
    req.secret = admin;
    tsr_h_assert_error(tsr_h_req(srv, &req), 415, "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    req.path = TOKENS "?bogus=1";
    tsr_h_assert_error(tsr_h_req(srv, &req), 415, "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    struct tsr_h_req patch = {
        .method = "PATCH", .path = id, .secret = admin, .body = "{}", .ctype = "text/plain"};
    tsr_h_assert_error(tsr_h_req(srv, &patch), 415, "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    assert_true(tsr_h_verify(srv, victim.secret));
}

/* Decided: a body on an endpoint that takes none is ignored (up to 64 KiB). */
static void test_body_ignored(void **state)
{
    (void)state;
    struct tsr_h_req get = {
        .path = "/v4/iam/users/me", .secret = admin, .body = "junk", .ctype = "text/plain"};
    tsr_h_assert_status(tsr_h_req(srv, &get), 200);
    struct tsr_h_req login = {.method = "POST",
                              .path = "/v4/tokens",
                              .auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD),
                              .body = "{\"email\":\"someone-else\"}"};
    tsr_h_assert_status(tsr_h_req(srv, &login), 201);
    struct tsr_h_token t;
    tsr_h_create_token(srv, admin, "deleted with a body", NULL, &t);
    struct tsr_h_req del = {.method = "DELETE",
                            .path = tsr_h_fmt(TOKENS "/%s", t.id),
                            .secret = admin,
                            .body = "{\"name\":1}",
                            .ctype = "text/plain"};
    tsr_h_assert_status(tsr_h_req(srv, &del), 204);
    assert_false(tsr_h_verify(srv, t.secret));
}

/* Decided: every /v4 response, errors included, says Cache-Control: no-store. */
static void test_errors_not_cached(void **state)
{
    (void)state;
    struct tsr_h_resp *r[] = {
        tsr_h_get(srv, "/v4/nope", NULL),
        tsr_h_send(srv, "PUT", TOKENS, NULL, NULL),
        tsr_h_get(srv, TOKENS, NULL),
        tsr_h_get(srv, TOKENS "?page=0", admin),
        tsr_h_send(srv, "POST", TOKENS, admin, "{}"),
        tsr_h_get(srv, TOKENS "/01890000-0000-7000-8000-000000000000", admin),
        tsr_h_get(srv, TOKENS, admin),
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        const char *cc = tsr_h_header(r[i], "Cache-Control");
        print_message("response %zu: %ld, Cache-Control: %s\n", i, r[i]->status,
                      cc ? cc : "(absent)");
        assert_non_null(cc);
        assert_non_null(strstr(cc, "no-store"));
    }
}

static void test_head(void **state)
{
    (void)state;
    struct tsr_h_req req = {.method = "HEAD", .path = TOKENS, .secret = admin};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);
    tsr_h_assert_status(r, 200);
    assert_int_equal(r->body_len, 0);
    req.path = "/v4/iam/users/me";
    tsr_h_assert_status(tsr_h_req(srv, &req), 200);
    req.secret = NULL;
    tsr_h_assert_status(tsr_h_req(srv, &req), 401);
}

/* Sends raw bytes on a new connection; returns the status of the answer, or 0
 * when the server closed the connection without one. */
static int raw_exchange(const char *bytes, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            break; /* the server may close early: then read what it said */
        }
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[256] = "";
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    int status = 0;
    if (got > 0 && sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        fail_msg("not an HTTP answer: %s", buf);
    }
    return status;
}

static void test_garbage_does_not_hurt(void **state)
{
    (void)state;
    const char *huge_header =
        tsr_h_fmt("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", repeat("h", 200000));
    const char *reqs[] = {
        "garbage\r\n\r\n",
        "GET\r\n\r\n",
        "GET /healthz HTTP/9.9\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST /v4/iam/personal_tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\n",
        "\x00\x01\x02\xff\r\n\r\n",
        huge_header,
    };
    const size_t lens[] = {0, 0, 0, 0, 0, 0, 8, 0};
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        int st = raw_exchange(reqs[i], lens[i] ? lens[i] : strlen(reqs[i]));
        print_message("raw request %zu: %d\n", i, st);
        if (st != 0 && (st < 400 || st > 505 || (st >= 500 && st != 505))) {
            fail_msg("raw request %zu answered %d: want a 4xx, 505, or a closed connection", i, st);
        }
    }
    /* Chunked bodies over 64 KiB are too large as well. */
    const char *chunk = repeat(" ", 40000);
    const char *chunked =
        tsr_h_fmt("POST /v4/iam/personal_tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s\r\n"
                  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
                  admin, 40000, chunk, 40000, chunk);
    long before = tsr_h_count_tokens(srv, admin);
    int st = raw_exchange(chunked, strlen(chunked));
    if (st != 0) {
        assert_int_equal(st, 413);
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);
}

static void test_still_serving(void **state)
{
    (void)state;
    struct tsr_h_resp *r = tsr_h_get(srv, "/healthz", NULL);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "status"), "ok");
    assert_true(tsr_h_verify(srv, victim.secret));
    struct tsr_h_resp *v = tsr_h_get(srv, tsr_h_fmt(TOKENS "/%s", victim.id), admin);
    tsr_h_assert_status(v, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(v->json, "data"), "name"), "victim");
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(v->json, "data"), "description"), "");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_description_rules),
        cmocka_unit_test(test_expires_at_rules),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_patch_errors),
        cmocka_unit_test(test_query_parameters),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_body_size),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_path_ids),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_body_ignored),
        cmocka_unit_test(test_errors_not_cached),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_garbage_does_not_hurt),
        cmocka_unit_test(test_still_serving),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
