/* test_timefmt.c - unit tests for core/timefmt.c: every expires_at form, format, round trips */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/timefmt.h"

/* Asserts that s parses to want, printing both in decimal on failure. */
#define assert_parses(s, want) check_parses((s), (want), __FILE__, __LINE__)
/* Asserts that s is refused and *out left untouched. */
#define assert_refused(s) check_refused((s), __FILE__, __LINE__)

static void check_parses(const char *s, int64_t want, const char *file, int line)
{
    int64_t got = INT64_MIN;
    enum tsr_err rc = tsr_time_parse(s, strlen(s), &got);

    if (rc != TSR_OK) {
        print_error("\"%s\": refused (%d), want %lld\n", s, (int)rc, (long long)want);
        _fail(file, line);
    }
    if (got != want) {
        print_error("\"%s\": got %lld, want %lld\n", s, (long long)got, (long long)want);
        _fail(file, line);
    }
}

static void check_refused(const char *s, const char *file, int line)
{
    int64_t got = 42;
    enum tsr_err rc = tsr_time_parse(s, strlen(s), &got);

    if (rc != TSR_ERR_INVALID || got != 42) {
        print_error("\"%s\": accepted as %lld (rc %d)\n", s, (long long)got, (int)rc);
        _fail(file, line);
    }
}

/* Expected values from Python's datetime(..., tzinfo=...).timestamp(). */
static void test_parse_date(void **state)
{
    (void)state;
    assert_parses("2026-12-30", 1798588800);
    assert_parses("2026-12-30Z", 1798588800);
    assert_parses("2026-12-30z", 1798588800);
    assert_parses("2026-12-30+02:00", 1798581600);
    assert_parses("2026-12-30-23:59", 1798675140);
    assert_parses("2026-12-30+00:00", 1798588800);
    assert_parses("2026-12-30-00:00", 1798588800);
    assert_parses("1970-01-01", 0);
    assert_parses("2100-03-01", 4107542400);
}

static void test_parse_minutes(void **state)
{
    (void)state;
    assert_parses("2026-12-30T02:13", 1798596780);
    assert_parses("2026-12-30t02:13", 1798596780);
    assert_parses("2026-12-30T02:13Z", 1798596780);
    assert_parses("2026-12-30T02:13z", 1798596780);
    assert_parses("2026-12-30t02:13z", 1798596780);
    assert_parses("2026-12-30T02:13+23:59", 1798510440);
    assert_parses("2026-12-30T02:13-01:00", 1798600380);
}

static void test_parse_seconds(void **state)
{
    (void)state;
    assert_parses("2026-12-30T02:13:45", 1798596825);
    assert_parses("2026-12-30t02:13:45", 1798596825);
    assert_parses("2026-12-30T02:13:45Z", 1798596825);
    assert_parses("2026-12-30T02:13:45z", 1798596825);
    assert_parses("2026-12-30T02:13:45+05:30", 1798577025);
    assert_parses("2026-12-30T02:13:45-08:00", 1798625625);
    assert_parses("2026-12-30T02:13:00Z", 1798596780);
    assert_parses("1969-12-31T23:59:59Z", -1);
    assert_parses("2038-01-19T03:14:08Z", INT64_C(2147483648));
    assert_parses("9999-12-31T23:59:59Z", TSR_TIME_MAX);
    assert_parses("0000-01-01T00:00:00Z", INT64_C(-62167219200));
}

static void test_parse_fraction(void **state)
{
    (void)state;
    assert_parses("2026-12-30T02:13:45.0", 1798596825);
    assert_parses("2026-12-30T02:13:45.999", 1798596825);
    assert_parses("2026-12-30T02:13:45.999999999Z", 1798596825);
    assert_parses("2026-12-30t02:13:45.5z", 1798596825);
    assert_parses("2026-12-30T02:13:45.123456+05:30", 1798577025);
    assert_parses("2026-12-30T02:13:45.9-08:00", 1798625625);
    /* Truncated, not rounded, even with many digits. */
    assert_parses("2026-12-30T02:13:59.99999999999999999999999999Z", 1798596839);
    /* Truncation is toward the earlier second before 1970 as after it. */
    assert_parses("1969-12-31T23:59:59.5Z", -1);
}

static void test_parse_leap_years(void **state)
{
    (void)state;
    assert_parses("2024-02-29", 1709164800);
    assert_parses("2000-02-29", 951782400);
    assert_refused("2025-02-29");
    assert_refused("1900-02-29");
    assert_refused("2100-02-29");
    assert_refused("2024-02-30");
    assert_parses("2025-02-28T23:59:59Z", tsr_time_from_civil(2025, 3, 1, 0, 0, 0) - 1);
    assert_refused("2025-04-31");
    assert_refused("2025-06-31");
    assert_refused("2025-09-31");
    assert_refused("2025-11-31");
    assert_parses("2025-12-31", tsr_time_from_civil(2026, 1, 1, 0, 0, 0) - 86400);
}

static void test_parse_rejects(void **state)
{
    static const char *bad[] = {
        "",
        " ",
        "2026",
        "2026-12",
        "2026-12-3",
        "26-12-30",
        "20261-12-30",
        "2026-1-30",
        "2026-12-1",
        "2026/12/30",
        "2026-12-30 ",
        " 2026-12-30",
        "2026-12-30 02:13:45",
        "2026-12-30_02:13:45",
        "2026-12-30T",
        "2026-12-30T02",
        "2026-12-30T2:13",
        "2026-12-30T02:1",
        "2026-12-30T02:13:",
        "2026-12-30T02:13:4",
        "2026-12-30T02:13:45.",
        "2026-12-30T02:13:45.Z",
        "2026-12-30T02:13:45,5",
        "2026-12-30T02:13.5",
        "2026-12-30T02:13:45ZZ",
        "2026-12-30T02:13:45Zjunk",
        "2026-12-30T02:13:45x",
        "2026-12-30T02:13:45+",
        "2026-12-30T02:13:45+02",
        "2026-12-30T02:13:45+0200",
        "2026-12-30T02:13:45+2:00",
        "2026-12-30T02:13:45+02:0",
        "2026-12-30T02:13:45+02:00Z",
        "2026-12-30T02:13:45+02:00 ",
        "2026-12-30T02:13:45+24:00",
        "2026-12-30T02:13:45+12:60",
        "2026-12-30T02:13:45 Z",
        "2026-12-30T24:00",
        "2026-12-30T24:00:00Z",
        "2026-12-30T23:60",
        "2026-12-30T23:59:60Z",
        "2026-12-30T23:59:99",
        "2026-00-10",
        "2026-13-01",
        "2026-12-00",
        "2026-12-32",
        "+2026-12-30",
        "-2026-12-30",
        "2026-12-30T-1:00",
        "2026-12-30T+1:00",
        "2026-12-30T02:13:45.1.2",
        "2026-12-30X02:13",
        "2026-12-30T02:13:45\n",
        "２０２６-12-30",
        "2026-12-30T02:13:45.１",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_refused(bad[i], __FILE__, __LINE__);
}

/* The parser reads no further than len: a valid prefix of a longer string
 * parses as that prefix, an embedded NUL is not an end, and a heap copy with
 * no NUL after it is read in bounds (ASan). */
static void test_parse_bounded(void **state)
{
    const char *full = "2026-12-30T02:13:45.123+05:30";
    int64_t t = 0;

    (void)state;
    assert_int_equal(tsr_time_parse(full, 10, &t), TSR_OK);
    assert_true(t == 1798588800);
    assert_int_equal(tsr_time_parse(full, 16, &t), TSR_OK);
    assert_true(t == 1798596780);
    assert_int_equal(tsr_time_parse(full, 19, &t), TSR_OK);
    assert_true(t == 1798596825);
    assert_int_equal(tsr_time_parse(full, 21, &t), TSR_OK);
    assert_true(t == 1798596825);
    assert_int_equal(tsr_time_parse(full, 20, &t), TSR_ERR_INVALID);
    assert_int_equal(tsr_time_parse(full, 24, &t), TSR_ERR_INVALID);
    assert_int_equal(tsr_time_parse(full, 27, &t), TSR_ERR_INVALID);
    assert_int_equal(tsr_time_parse("2026-12-30\0", 11, &t), TSR_ERR_INVALID);
    assert_int_equal(tsr_time_parse(NULL, 0, &t), TSR_ERR_INVALID);

    size_t n = strlen(full);
    for (size_t len = 0; len <= n; len++) {
        char *buf = test_malloc(len ? len : 1);
        memcpy(buf, full, len);
        int64_t x;
        enum tsr_err rc = tsr_time_parse(buf, len, &x);
        assert_true(rc == TSR_OK || rc == TSR_ERR_INVALID);
        test_free(buf);
    }
}

static const struct {
    int64_t t;
    const char *text;
} format_kats[] = {
    /* From Python's datetime.fromtimestamp(t, timezone.utc). */
    {0, "1970-01-01T00:00:00Z"},
    {1, "1970-01-01T00:00:01Z"},
    {86399, "1970-01-01T23:59:59Z"},
    {86400, "1970-01-02T00:00:00Z"},
    {951782400, "2000-02-29T00:00:00Z"},
    {1000000000, "2001-09-09T01:46:40Z"},
    {1234567890, "2009-02-13T23:31:30Z"},
    {1709164800, "2024-02-29T00:00:00Z"},
    {1767225599, "2025-12-31T23:59:59Z"},
    {1798596780, "2026-12-30T02:13:00Z"},
    {INT64_C(2147483647), "2038-01-19T03:14:07Z"},
    {INT64_C(2147483648), "2038-01-19T03:14:08Z"},
    {INT64_C(4102444800), "2100-01-01T00:00:00Z"},
    {TSR_TIME_MAX, "9999-12-31T23:59:59Z"},
    /* Clamped to the range. */
    {TSR_TIME_MAX + 1, "9999-12-31T23:59:59Z"},
    {INT64_MAX, "9999-12-31T23:59:59Z"},
    {-1, "1970-01-01T00:00:00Z"},
    {INT64_MIN, "1970-01-01T00:00:00Z"},
};

static void test_format_kat(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(format_kats) / sizeof(format_kats[0]); i++) {
        char out[TSR_TIME_LEN + 1];
        memset(out, 'x', sizeof(out));
        tsr_time_format(format_kats[i].t, out);
        assert_string_equal(out, format_kats[i].text);
    }
}

static void round_trip(int64_t t)
{
    char out[TSR_TIME_LEN + 1];
    int64_t back = -1;

    tsr_time_format(t, out);
    assert_int_equal(strlen(out), TSR_TIME_LEN);
    if (tsr_time_parse(out, TSR_TIME_LEN, &back) != TSR_OK || back != t)
        fail_msg("%lld -> \"%s\" -> %lld", (long long)t, out, (long long)back);
}

static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(format_kats) / sizeof(format_kats[0]); i++) {
        if (format_kats[i].t >= 0 && format_kats[i].t <= TSR_TIME_MAX)
            round_trip(format_kats[i].t);
    }
    /* Every day boundary (and the seconds beside it) for 1970-2500, which
     * covers each month length, every leap-year rule and the 400-year cycle. */
    for (int64_t t = 0; t < INT64_C(16725225600); t += 86400) {
        round_trip(t);
        round_trip(t + 86399);
    }
    /* A spread over the whole range with an odd stride. */
    for (int64_t t = 0; t <= TSR_TIME_MAX; t += INT64_C(999999937))
        round_trip(t);
    round_trip(TSR_TIME_MAX);
}

static void test_from_civil(void **state)
{
    (void)state;
    assert_true(tsr_time_from_civil(1970, 1, 1, 0, 0, 0) == 0);
    assert_true(tsr_time_from_civil(2026, 12, 30, 2, 13, 0) == 1798596780);
    assert_true(tsr_time_from_civil(2000, 2, 29, 0, 0, 0) == 951782400);
    assert_true(tsr_time_from_civil(1969, 12, 31, 23, 59, 59) == -1);
    assert_true(tsr_time_from_civil(0, 1, 1, 0, 0, 0) == INT64_C(-62167219200));
    assert_true(tsr_time_from_civil(9999, 12, 31, 23, 59, 59) == TSR_TIME_MAX);
}

static void test_now(void **state)
{
    int64_t s = tsr_time_now();
    int64_t ms = tsr_time_now_ms();

    (void)state;
    /* After 2025-01-01 and before 2100, and the two clocks agree. */
    assert_true(s > 1735689600 && s < INT64_C(4102444800));
    assert_true(ms / 1000 >= s && ms / 1000 <= s + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_parse_minutes),
        cmocka_unit_test(test_parse_seconds),
        cmocka_unit_test(test_parse_fraction),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_bounded),
        cmocka_unit_test(test_format_kat),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_from_civil),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
