/* test_cli_expiring.c - tessera list tokens --expiring and --status against a
 * real server: the filter as the server applies it, kept on every page of
 * --all, the table's mark on a token about to expire, and the refusals */
#include <stdarg.h>
#include <string.h>

#include "cli_harness.h"

static struct tsr_h_server *g_srv;
static struct tsr_c_env *g_env; /* logged in as the admin: its own token lasts a year */

static int setup(void **state)
{
    (void)state;
    g_srv = tsr_h_start(NULL);
    g_env = tsr_c_env_new();
    tsr_c_login(g_env, g_srv);
    return 0;
}

/* `tessera list tokens [-o json] ARGS...` (NULL-ended) in g_env. */
static struct tsr_c_run *list_run(bool json, const char *first, va_list ap)
{
    const char *args[20] = {"list", "tokens", "-o", "json"};
    int n = json ? 4 : 2;

    for (const char *a = first; a != NULL && n < 19; a = va_arg(ap, const char *))
        args[n++] = a;
    args[n] = NULL;
    return tsr_c_runv(g_env, NULL, args);
}

static struct tsr_c_run *list(const char *first, ...) __attribute__((sentinel));
static struct tsr_c_run *list(const char *first, ...)
{
    struct tsr_c_run *r;
    va_list ap;

    va_start(ap, first);
    r = list_run(false, first, ap);
    va_end(ap);
    return r;
}

/* The names of `tessera list tokens -o json ARGS...`, joined with ',';
 * the command must succeed and print the API's list object. */
static const char *names(const char *first, ...) __attribute__((sentinel));
static const char *names(const char *first, ...)
{
    struct tsr_c_run *r;
    const char *out = "";
    json_t *j, *t;
    size_t i;
    va_list ap;

    va_start(ap, first);
    r = list_run(true, first, ap);
    va_end(ap);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", r->out);
    tsr_h_assert_keys(j, "count", "total_pages", "results");
    assert_int_equal(tsr_h_jint(j, "count"), json_array_size(tsr_h_jarr(j, "results")));
    json_array_foreach(tsr_h_jarr(j, "results"), i, t)
    {
        tsr_h_assert_token(t, false);
        out = tsr_h_fmt("%s%s%s", out, i ? "," : "", tsr_h_jstr(t, "name"));
    }
    json_decref(j);
    return out;
}

/* The line of text that holds needle, without its newline. */
static const char *line_with(const char *text, const char *needle)
{
    const char *at = strstr(text, needle), *start, *end;

    if (at == NULL)
        fail_msg("no line holds '%s' in:\n%s", needle, text);
    for (start = at; start > text && start[-1] != '\n'; start--)
        continue;
    end = strchr(at, '\n');
    return tsr_h_strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* Before any token of the tests exists: the account holds only the login's,
 * which lasts a year, so no token is expiring or expired. */
static void test_none_of_a_status(void **state)
{
    struct tsr_c_run *r;

    (void)state;
    r = list("--expiring", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "");
    assert_string_equal(r->err, "No expiring tokens: none expires within 7 days.\n");
    r = list("--status", "expired", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "No expired tokens.\n");
    r = list("--status", "active", "--search", "nothing like it", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "No active tokens match that search.\n");
    assert_string_equal(names("--status", "active", NULL),
                        tsr_h_fmt("tessera-cli@%s", tsr_c_hostname()));
}

/* Makes "soon x9" (2 days), "later x9" (30 days) and "gone x9", which
 * expires 2 s after it is made; returns once that has passed. */
static void make_tokens(void)
{
    static bool made;
    int64_t gone = tsr_h_now() + 2;
    struct tsr_c_run *r;

    if (made)
        return;
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "gone x9", "--expires",
                  tsr_h_time(gone), NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "soon x9", "--expires", "2d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    r = tsr_c_run(g_env, NULL, "create", "token", "--name", "later x9", "--expires", "30d", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_record_secrets(r->out);
    for (int64_t end = tsr_h_mono_ms() + 5000; tsr_h_now() <= gone && tsr_h_mono_ms() < end;)
        tsr_h_sleep_ms(100);
    assert_true(tsr_h_now() > gone);
    made = true;
}

static void test_each_status(void **state)
{
    (void)state;
    make_tokens();
    assert_string_equal(names("--search", "x9", "--sort", "name", NULL),
                        "gone x9,later x9,soon x9");
    assert_string_equal(names("--search", "x9", "--expiring", NULL), "soon x9");
    assert_string_equal(names("--search", "x9", "--status", "expiring", NULL), "soon x9");
    /* Saying it twice is no contradiction. */
    assert_string_equal(names("--search", "x9", "--expiring", "--status", "expiring", NULL),
                        "soon x9");
    assert_string_equal(names("--search", "x9", "--status", "expired", NULL), "gone x9");
    assert_string_equal(names("--search", "x9", "--status=active", "--sort", "name", NULL),
                        "later x9,soon x9");
    /* Without --search: the login's own token is active, not expiring. */
    assert_string_equal(names("--expiring", NULL), "soon x9");
    assert_string_equal(names("--status", "expired", NULL), "gone x9");
}

/* What tessera prints as JSON is the server's answer to status=: the
 * objects' own status stays active or expired. */
static void test_json_is_the_servers_answer(void **state)
{
    struct tsr_h_resp *api;
    struct tsr_c_run *r;
    json_t *j;

    (void)state;
    make_tokens();
    r = list("-o", "json", "--expiring", NULL);
    tsr_c_assert_status(r, 0);
    j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    api = tsr_h_get(g_srv, "/v4/iam/personal_tokens?status=expiring", tsr_c_stored_token(g_env));
    tsr_h_assert_status(api, 200);
    if (!json_equal(j, api->json))
        fail_msg("tessera printed:\n%s\nthe server answered:\n%s", r->out, api->body);
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(j, "results"), 0), "status"),
                        "active");
    json_decref(j);
}

/* --all asks every page with the filter: pages of one token each, sorted by
 * name, hold later then soon only when the second page is filtered too (it
 * would be "later x9" again, after "gone x9", without). */
static void test_all_pages_keep_the_filter(void **state)
{
    struct tsr_c_run *r;

    (void)state;
    make_tokens();
    assert_string_equal(names("--all", "--page-size", "1", "--search", "x9", "--sort", "name",
                              "--status", "active", NULL),
                        "later x9,soon x9");
    assert_string_equal(
        names("--all", "--page-size", "1", "--search", "x9", "--sort", "-name", "--expiring", NULL),
        "soon x9");
    /* And pages one at a time. */
    r = list("--page-size", "1", "--search", "x9", "--status", "active", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "Page 1 of 2 (2 tokens): see the next with --page 2, or all "
                                "with --all.\n");
    r = list("--all", "--page-size", "1", "--status", "expired", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    tsr_c_assert_has(r->out, "gone x9");
    tsr_c_assert_lacks(r->out, "soon x9");
}

/* The table says "expiring" in the STATUS column of a token that expires
 * within 7 days, lined up under the heading like every other cell. */
static void test_table_marks_expiring(void **state)
{
    struct tsr_c_run *r;
    const char *head, *soon, *later, *gone;
    size_t col;

    (void)state;
    make_tokens();
    r = list("--search", "x9", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->err, "");
    head = line_with(r->out, "STATUS");
    soon = line_with(r->out, "soon x9");
    later = line_with(r->out, "later x9");
    gone = line_with(r->out, "gone x9");
    col = (size_t)(strstr(head, "STATUS") - head);
    assert_string_equal(head + col, "STATUS");
    assert_true(strlen(soon) > col);
    assert_string_equal(soon + col, "expiring");
    assert_string_equal(later + col, "active");
    assert_string_equal(gone + col, "expired");
    tsr_c_assert_has(soon, "(in 2 days)");
    /* The list of the expiring ones marks them too. */
    r = list("--expiring", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(line_with(r->out, "soon x9"), "  expiring");
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {"bogus", "Active", "", "revoked", "expiring,expired"};
    struct tsr_c_run *r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = list("--status", bad[i], NULL);
        tsr_c_assert_status(r, 2);
        assert_string_equal(r->out, "");
        assert_string_equal(r->err, tsr_h_fmt("error: --status must be active, expiring or "
                                              "expired, not '%s'; see 'tessera list tokens "
                                              "--help'\n",
                                              bad[i]));
    }
    r = list("--expiring", "--status", "expired", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: --expiring and --status expired cannot be used together; "
                                "see 'tessera list tokens --help'\n");
    r = list("--status", "active", "--expiring", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: --expiring and --status active cannot be used together; "
                                "see 'tessera list tokens --help'\n");
    r = list("--status", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: option --status needs a value; see 'tessera --help'\n");
    r = list("--expiring=yes", NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, "error: option --expiring takes no value; see 'tessera --help'\n");
    /* Only list tokens takes them. */
    r = tsr_c_run(g_env, NULL, "list", "scopes", "--expiring", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "error: option --expiring does not apply to 'tessera list scopes'");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none_of_a_status),
        cmocka_unit_test(test_each_status),
        cmocka_unit_test(test_json_is_the_servers_answer),
        cmocka_unit_test(test_all_pages_keep_the_filter),
        cmocka_unit_test(test_table_marks_expiring),
        cmocka_unit_test(test_refusals),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
