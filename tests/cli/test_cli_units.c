/* test_cli_units.c - the CLI's pure parts, without a server: the command
 * line, --expires, --grace, times and text as tables show them */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/expiry.h"
#include "cli/output.h"
#include "core/limits.h"
#include "core/timefmt.h"

#define DAY INT64_C(86400)

/* A sentence that a test expects, in a buffer that the next call reuses. */
static const char *sentence(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sentence(const char *fmt, ...)
{
    static char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

static int64_t civil(int y, int mo, int d, int h, int mi, int s)
{
    return tsr_time_from_civil(y, mo, d, h, mi, s);
}

static void test_expiry_relative(void **state)
{
    int64_t now = civil(2026, 11, 30, 2, 13, 7), t = 0;
    char why[256];

    (void)state;
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"1d", 1 * DAY},   {"7d", 7 * DAY},   {"15d", 15 * DAY},
        {"30d", 30 * DAY}, {"90d", 90 * DAY}, {"366D", 366 * DAY},
        {"1w", 7 * DAY},   {"3W", 21 * DAY},  {"100000d", 100000 * DAY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tsr_expiry_parse(cases[i].text, now, &t, why, sizeof(why)), TSR_OK);
        assert_int_equal(t, now + cases[i].want);
    }
}

static void test_expiry_years_are_calendar_years(void **state)
{
    char why[256];
    int64_t t = 0;

    (void)state;
    assert_int_equal(tsr_expiry_parse("1y", civil(2026, 11, 30, 2, 13, 7), &t, why, sizeof(why)),
                     TSR_OK);
    assert_int_equal(t, civil(2027, 11, 30, 2, 13, 7));
    /* Across a 29 February: 366 days, still within the default limit. */
    assert_int_equal(tsr_expiry_parse("1y", civil(2027, 3, 1, 0, 0, 0), &t, why, sizeof(why)),
                     TSR_OK);
    assert_int_equal(t - civil(2027, 3, 1, 0, 0, 0), 366 * DAY);
    /* From a 29 February to a year without one: the 28th. */
    assert_int_equal(tsr_expiry_parse("1Y", civil(2028, 2, 29, 12, 0, 0), &t, why, sizeof(why)),
                     TSR_OK);
    assert_int_equal(t, civil(2029, 2, 28, 12, 0, 0));
    assert_int_equal(tsr_expiry_parse("4y", civil(2028, 2, 29, 12, 0, 0), &t, why, sizeof(why)),
                     TSR_OK);
    assert_int_equal(t, civil(2032, 2, 29, 12, 0, 0));
    /* Past the year 9999. */
    assert_int_equal(tsr_expiry_parse("9000y", civil(2026, 1, 1, 0, 0, 0), &t, why, sizeof(why)),
                     TSR_ERR_INVALID);
    assert_non_null(strstr(why, "after the year 9999"));
}

static void test_expiry_dates_and_refusals(void **state)
{
    static const char *const bad[] = {
        "0d",  "00d",      "-1d", "1",    "d",          "1h",
        "1 d", "1000001d", "",    "soon", "2026-02-30", "2026-12-30T25:00",
        "+1d",
    };
    int64_t t = 0;
    char why[256];

    (void)state;
    assert_int_equal(tsr_expiry_parse("2026-12-30", 0, &t, why, sizeof(why)), TSR_OK);
    assert_int_equal(t, civil(2026, 12, 30, 0, 0, 0));
    assert_int_equal(tsr_expiry_parse("2026-12-30T17:00+01:00", 0, &t, why, sizeof(why)), TSR_OK);
    assert_int_equal(t, civil(2026, 12, 30, 16, 0, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = 42;
        if (tsr_expiry_parse(bad[i], civil(2026, 1, 1, 0, 0, 0), &t, why, sizeof(why)) !=
            TSR_ERR_INVALID)
            fail_msg("'%s' was taken", bad[i]);
        assert_int_equal(t, 42);
        assert_true(strncmp(why, "the expiry '", 12) == 0);
    }
    /* --not-before takes the same forms, and its mistakes say whose they are. */
    assert_int_equal(tsr_when_parse("7d", "the not-before time", 100, &t, why, sizeof(why)),
                     TSR_OK);
    assert_int_equal(t, 100 + 7 * 86400);
    assert_int_equal(
        tsr_when_parse("2026-12-30T17:00Z", "the not-before time", 0, &t, why, sizeof(why)),
        TSR_OK);
    assert_int_equal(t, civil(2026, 12, 30, 17, 0, 0));
    assert_int_equal(tsr_when_parse("soon", "the not-before time", 0, &t, why, sizeof(why)),
                     TSR_ERR_INVALID);
    assert_string_equal(why, "the not-before time 'soon' is not one of " TSR_EXPIRY_FORMS);
    assert_int_equal(tsr_when_parse("0w", "the not-before time", 0, &t, why, sizeof(why)),
                     TSR_ERR_INVALID);
    assert_string_equal(why, "the not-before time '0w' must count from 1 to 100000");
}

static void test_grace_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t want;
    } good[] = {
        {"0", 0},      {"0s", 0},     {"0h", 0},        {"1s", 1},         {"90s", 90},
        {"15m", 900},  {"15M", 900},  {"1h", 3600},     {"1H", 3600},      {"24h", 86400},
        {"1d", 86400}, {"1D", 86400}, {"1440m", 86400}, {"86400s", 86400}, {"007h", 25200},
    };
    static const char *const not_durations[] = {
        "",    "s",    "h",   "1",  "3600", "-1h", "+1h", "1 h",  " 1h",
        "1h ", "1.5h", "1hm", "1w", "1y",   "h1",  "1x",  "0x1h", "1h30m",
    };
    static const char *const too_long[] = {
        "86401s", "1441m", "25h", "2d", "99999999999999999999999999h", "9223372036854775807s",
    };
    int64_t t;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        t = -1;
        if (tsr_duration_parse(good[i].text, "--grace", TSR_GRACE_MAX_SECONDS, &t, why,
                               sizeof(why)) != TSR_OK)
            fail_msg("'%s' was refused: %s", good[i].text, why);
        assert_int_equal(t, good[i].want);
    }
    for (size_t i = 0; i < sizeof(not_durations) / sizeof(not_durations[0]); i++) {
        t = 42;
        if (tsr_duration_parse(not_durations[i], "--grace", TSR_GRACE_MAX_SECONDS, &t, why,
                               sizeof(why)) != TSR_ERR_INVALID)
            fail_msg("'%s' was taken", not_durations[i]);
        assert_int_equal(t, 42);
        assert_string_equal(why, sentence("--grace '%s' is not a length of time such as "
                                          "0, 90s, 15m, 1h or 1d",
                                          not_durations[i]));
    }
    for (size_t i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++) {
        t = 42;
        if (tsr_duration_parse(too_long[i], "--grace", TSR_GRACE_MAX_SECONDS, &t, why,
                               sizeof(why)) != TSR_ERR_INVALID)
            fail_msg("'%s' was taken", too_long[i]);
        assert_int_equal(t, 42);
        assert_string_equal(why, sentence("--grace '%s' is longer than 24h, the most the "
                                          "server allows",
                                          too_long[i]));
    }
    /* The limit is said in the unit that counts it whole. */
    assert_int_equal(tsr_duration_parse("2h", "--x", 5400, &t, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "--x '2h' is longer than 90m, the most the server allows");
    assert_int_equal(tsr_duration_parse("1m", "--x", 59, &t, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "--x '1m' is longer than 59s, the most the server allows");
}

static void test_relative_times(void **state)
{
    static const struct {
        int64_t delta;
        const char *want;
    } cases[] = {
        {0, "just now"},
        {-44, "just now"},
        {44, "in a few seconds"},
        {-45, "1 minute ago"},
        {5 * 60, "in 5 minutes"},
        {89 * 60, "in 89 minutes"},
        {90 * 60, "in 2 hours"},
        {DAY - 5, "in 24 hours"},
        {-35 * 3600, "35 hours ago"},
        {36 * 3600, "in 2 days"},
        {30 * DAY - 1, "in 30 days"},
        {365 * DAY, "in 365 days"},
        {-DAY * 3, "3 days ago"},
    };
    char out[64];
    int64_t now = civil(2026, 11, 30, 0, 0, 0);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tsr_out_relative(now + cases[i].delta, now, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
    tsr_out_time("2026-12-30T02:13:00Z", now, true, out, sizeof(out));
    assert_string_equal(out, "2026-12-30 02:13 UTC (in 30 days)");
    tsr_out_time("2026-12-30T02:13:00Z", now, false, out, sizeof(out));
    assert_string_equal(out, "2026-12-30 02:13 (in 30 days)");
    tsr_out_time(NULL, now, true, out, sizeof(out));
    assert_string_equal(out, "never");
    tsr_out_time("garbage", now, true, out, sizeof(out));
    assert_string_equal(out, "-");
}

static void test_text_is_cleaned_and_cut(void **state)
{
    char out[256];

    (void)state;
    /* Control characters (an escape sequence, C1 controls, a line break) and
     * invalid UTF-8 never reach the terminal. */
    assert_int_equal(tsr_out_clean("a\x1b[2Jb\nc\xc2\x9b"
                                   "d\xff",
                                   out, sizeof(out), 0),
                     11);
    assert_string_equal(out, "a?[2Jb?c?d?");
    /* Cut at max columns with an ellipsis, which counts as one. */
    assert_int_equal(tsr_out_clean("abcdefghij", out, sizeof(out), 5), 5);
    assert_string_equal(out, "abcd\xe2\x80\xa6");
    assert_int_equal(tsr_out_clean("abcde", out, sizeof(out), 5), 5);
    assert_string_equal(out, "abcde");
    /* Wide characters take two columns in a UTF-8 locale. */
    if (setlocale(LC_CTYPE, "C.UTF-8") != NULL) {
        assert_int_equal(tsr_out_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本 */
        assert_int_equal(tsr_out_clean("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", out, sizeof(out), 5),
                         5);
        assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa6");
        setlocale(LC_CTYPE, "C");
    }
    /* A small buffer is never overrun. */
    tsr_out_clean("abcdefghij", out, 4, 0);
    assert_string_equal(out, "abc");
}

static void test_table_lines_up(void **state)
{
    static const char *const heads[] = {"ID", "NAME", "STATUS"};
    const char *row1[] = {"1", "a long name", "active"};
    const char *row2[] = {"22", "b", "expired"};
    struct tsr_table t;
    char buf[512];
    FILE *f = fmemopen(buf, sizeof(buf), "w");

    (void)state;
    assert_non_null(f);
    tsr_table_init(&t, 3, heads);
    assert_int_equal(tsr_table_add(&t, row1), TSR_OK);
    assert_int_equal(tsr_table_add(&t, row2), TSR_OK);
    assert_int_equal(tsr_table_print(&t, f), TSR_OK);
    fclose(f);
    tsr_table_release(&t);
    assert_string_equal(buf, "ID  NAME         STATUS\n"
                             "1   a long name  active\n"
                             "22  b            expired\n");
}

/* A writable argv of the NULL-ended words, as main gets one. */
static char g_words[16][32];
static char *g_argv[17];

static char **argv_of(int *argc, ...)
{
    va_list ap;
    const char *w;
    int n = 0;

    va_start(ap, argc);
    while ((w = va_arg(ap, const char *)) != NULL && n < 16) {
        snprintf(g_words[n], sizeof(g_words[n]), "%s", w);
        g_argv[n] = g_words[n];
        n++;
    }
    va_end(ap);
    g_argv[n] = NULL;
    *argc = n;
    return g_argv;
}

static void test_args(void **state)
{
    struct tsr_args a;
    char why[128];
    char **argv;
    int argc;

    (void)state;
    argv = argv_of(&argc, "tessera", "-o", "json", "list", "--sort", "-name", "tokens", "-y",
                   "--page=2", "--", "--all", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_OK);
    assert_int_equal(a.nwords, 3);
    assert_string_equal(a.words[0], "list");
    assert_string_equal(a.words[1], "tokens");
    assert_string_equal(a.words[2], "--all");
    assert_string_equal(a.output, "json");
    assert_string_equal(a.sort, "-name");
    assert_string_equal(a.page, "2");
    assert_int_equal(a.given, TSR_OPT_OUTPUT | TSR_OPT_SORT | TSR_OPT_YES | TSR_OPT_PAGE);
    assert_string_equal(tsr_args_name(TSR_OPT_PAGE_SIZE), "--page-size");

    /* The last of an option given twice wins. */
    argv = argv_of(&argc, "tessera", "-ojson", "--output", "table", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_OK);
    assert_string_equal(a.output, "table");
    assert_int_equal(a.scopes.n, 0);
    assert_int_equal(a.allow_ips.n, 0);

    /* ... but a list option keeps every value, in order, in both spellings. */
    argv = argv_of(&argc, "tessera", "--scope", "b:read", "--allow-ip=10.0.0.0/8", "--scope=a",
                   "--allow-anywhere", "--allow-ip", "::1", "--scope", "--x", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_OK);
    assert_int_equal(a.scopes.n, 3);
    assert_string_equal(a.scopes.v[0], "b:read");
    assert_string_equal(a.scopes.v[1], "a");
    assert_string_equal(a.scopes.v[2], "--x");
    assert_int_equal(a.allow_ips.n, 2);
    assert_string_equal(a.allow_ips.v[0], "10.0.0.0/8");
    assert_string_equal(a.allow_ips.v[1], "::1");
    assert_int_equal(a.given, TSR_OPT_SCOPE | TSR_OPT_ALLOW_IP | TSR_OPT_ALLOW_ANYWHERE);
    /* --grace takes a value, in both spellings. */
    argv = argv_of(&argc, "tessera", "rotate", "token", "self", "--grace", "1h", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_OK);
    assert_string_equal(a.grace, "1h");
    assert_int_equal(a.given, TSR_OPT_GRACE);
    argv = argv_of(&argc, "tessera", "--grace=0", "--grace", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "option --grace needs a value");
    argv = argv_of(&argc, "tessera", "--scope", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "option --scope needs a value");
    argv = argv_of(&argc, "tessera", "--clear-not-before=x", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "option --clear-not-before takes no value");

    argv = argv_of(&argc, "tessera", "--nope", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "unknown option '--nope'");
    argv = argv_of(&argc, "tessera", "--name", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "option --name needs a value");
    argv = argv_of(&argc, "tessera", "--yes=1", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "option --yes takes no value");
    argv = argv_of(&argc, "tessera", "-z", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    argv = argv_of(&argc, "tessera", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL);
    assert_int_equal(tsr_args_parse(argc, argv, &a, why, sizeof(why)), TSR_ERR_INVALID);
    assert_string_equal(why, "too many arguments, starting at '9'");
}

static void test_server_urls(void **state)
{
    char out[64], why[256];

    (void)state;
    assert_int_equal(
        tsr_client_server("http://127.0.0.1:8080///", out, sizeof(out), why, sizeof(why)), TSR_OK);
    assert_string_equal(out, "http://127.0.0.1:8080");
    assert_int_equal(
        tsr_client_server("HTTPS://tessera.example.com/base", out, sizeof(out), why, sizeof(why)),
        TSR_OK);
    assert_string_equal(out, "HTTPS://tessera.example.com/base");
    static const char *const bad[] = {"127.0.0.1:8080", "ftp://x",     "http://",    "http:///",
                                      "http://a b",     "http://x/?q", "http://x/#f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tsr_client_server(bad[i], out, sizeof(out), why, sizeof(why)),
                         TSR_ERR_INVALID);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry_relative),
        cmocka_unit_test(test_expiry_years_are_calendar_years),
        cmocka_unit_test(test_expiry_dates_and_refusals),
        cmocka_unit_test(test_grace_durations),
        cmocka_unit_test(test_relative_times),
        cmocka_unit_test(test_text_is_cleaned_and_cut),
        cmocka_unit_test(test_table_lines_up),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_server_urls),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
