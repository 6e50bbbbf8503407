/* test_validate.c - unit tests for core/validate.c: UTF-8, trimming, controls, fields, emails */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/validate.h"

/* Byte strings may hold NULs, so each carries its length. */
#define S(lit) (lit), (sizeof(lit) - 1)

static bool valid(const char *s, size_t len)
{
    size_t n = 12345;
    bool ok = tsr_utf8_count(s, len, &n);
    if (!ok)
        assert_int_equal(n, 12345); /* untouched on failure */
    return ok;
}

static size_t count(const char *s, size_t len)
{
    size_t n = 12345;
    if (!tsr_utf8_count(s, len, &n))
        fail_msg("not valid UTF-8");
    return n;
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(valid(S("")));
    assert_true(valid(S("hello")));
    assert_true(valid(S("\0")));
    assert_true(valid(S("a\0b")));
    assert_true(valid(S("\x7f")));
    assert_true(valid(S("\xc2\x80")));         /* U+0080, the first 2-byte */
    assert_true(valid(S("\xdf\xbf")));         /* U+07FF */
    assert_true(valid(S("\xe0\xa0\x80")));     /* U+0800, the first 3-byte */
    assert_true(valid(S("\xed\x9f\xbf")));     /* U+D7FF, before the surrogates */
    assert_true(valid(S("\xee\x80\x80")));     /* U+E000, after them */
    assert_true(valid(S("\xef\xbf\xbf")));     /* U+FFFF */
    assert_true(valid(S("\xf0\x90\x80\x80"))); /* U+10000, the first 4-byte */
    assert_true(valid(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF, the last */
    assert_true(valid(S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    /* Overlong forms. */
    assert_false(valid(S("\xc0\x80")));
    assert_false(valid(S("\xc1\xbf")));
    assert_false(valid(S("\xe0\x80\x80")));
    assert_false(valid(S("\xe0\x9f\xbf")));
    assert_false(valid(S("\xf0\x80\x80\x80")));
    assert_false(valid(S("\xf0\x8f\xbf\xbf")));
    /* Surrogates U+D800 and U+DFFF. */
    assert_false(valid(S("\xed\xa0\x80")));
    assert_false(valid(S("\xed\xbf\xbf")));
    assert_false(valid(S("\xed\xa0\xbd\xed\xb8\x80"))); /* a CESU-8 pair */
    /* Above U+10FFFF, and bytes that never occur. */
    assert_false(valid(S("\xf4\x90\x80\x80")));
    assert_false(valid(S("\xf5\x80\x80\x80")));
    assert_false(valid(S("\xf8\x88\x80\x80\x80")));
    assert_false(valid(S("\xfe")));
    assert_false(valid(S("\xff")));
    /* Lone continuation bytes. */
    assert_false(valid(S("\x80")));
    assert_false(valid(S("a\xbf")));
    /* Truncated sequences, alone and before more text. */
    assert_false(valid(S("\xc3")));
    assert_false(valid(S("\xe2\x82")));
    assert_false(valid(S("\xf0\x9f\x98")));
    assert_false(valid(S("\xc3z")));
    assert_false(valid(S("\xe2\x82z")));
    assert_false(valid(S("\xf0\x9f\x98z")));
    assert_false(valid(S("ok\xe2")));
    /* A bad continuation inside a longer sequence. */
    assert_false(valid(S("\xe2\xc2\xac")));
    assert_false(valid(S("\xf0\x9f\x98\xc0")));
    /* The length bounds the read: a full sequence cut short by len. */
    assert_false(tsr_utf8_count("\xe2\x82\xac", 2, &(size_t){0}));
}

static void test_utf8_count(void **state)
{
    (void)state;
    assert_int_equal(count(S("")), 0);
    assert_int_equal(count(S("abc")), 3);
    assert_int_equal(count(S("a\0b")), 3);
    assert_int_equal(count(S("caf\xc3\xa9")), 4);                          /* café */
    assert_int_equal(count(S("\xe2\x82\xac\xe2\x82\xac")), 2);             /* €€ */
    assert_int_equal(count(S("\xf0\x9f\x98\x80!")), 2);                    /* 😀! */
    assert_int_equal(count(S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e")), 3); /* 日本語 */
    assert_int_equal(count(S("e\xcc\x81")), 2); /* e + combining acute: two code points */
}

static void trimmed(const char *in, size_t len, const char *want)
{
    const char *s = in;
    size_t n = len;

    tsr_trim(&s, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
    assert_true(s >= in && s + n <= in + len);
}

static void test_trim(void **state)
{
    (void)state;
    trimmed(S(""), "");
    trimmed(S("   "), "");
    trimmed(S(" \t\r\n"), "");
    trimmed(S("abc"), "abc");
    trimmed(S("  abc  "), "abc");
    trimmed(S("\t\r\n a b \n\r\t"), "a b");
    trimmed(S("a\n\nb"), "a\n\nb");
    /* Only those four: vertical tab, form feed, NUL and NBSP stay. */
    trimmed(S("\vx\f"), "\vx\f");
    trimmed(S("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
    /* The length bounds the trim. */
    trimmed("ab  cd", 4, "ab");
}

static void test_has_control(void **state)
{
    (void)state;
    assert_false(tsr_has_control(S(""), false));
    assert_false(tsr_has_control(S("plain text, with punctuation!"), false));
    assert_true(tsr_has_control(S("\0"), false));                /* U+0000 */
    assert_true(tsr_has_control(S("a\x01z"), false));            /* U+0001 */
    assert_true(tsr_has_control(S("a\x1f"), false));             /* U+001F */
    assert_true(tsr_has_control(S("\ta"), false));               /* U+0009 */
    assert_true(tsr_has_control(S("\ta"), true));                /* tab is not a line break */
    assert_true(tsr_has_control(S("a\x7f"), false));             /* U+007F */
    assert_true(tsr_has_control(S("a\xc2\x80"), false));         /* U+0080 */
    assert_true(tsr_has_control(S("a\xc2\x85z"), false));        /* U+0085 NEL */
    assert_true(tsr_has_control(S("a\xc2\x85z"), true));         /* NEL is not LF or CR */
    assert_true(tsr_has_control(S("\xc2\x9f"), false));          /* U+009F */
    assert_false(tsr_has_control(S("\xc2\xa0"), false));         /* U+00A0 NBSP, category Zs */
    assert_false(tsr_has_control(S("x\x20~"), false));           /* U+0020 and U+007E */
    assert_false(tsr_has_control(S("\xe2\x80\xa8"), false));     /* U+2028, category Zl */
    assert_false(tsr_has_control(S("\xe2\x80\x8b"), false));     /* U+200B, category Cf */
    assert_false(tsr_has_control(S("\xc3\x85\xc4\x85"), false)); /* Å ą: 85 as a trail byte */
    assert_false(tsr_has_control(S("\xf0\x9f\x98\x80"), false));
    /* Line breaks pass only with the flag. */
    assert_true(tsr_has_control(S("a\nb"), false));
    assert_true(tsr_has_control(S("a\rb"), false));
    assert_false(tsr_has_control(S("a\nb"), true));
    assert_false(tsr_has_control(S("a\r\nb"), true));
    assert_true(tsr_has_control(S("a\r\n\x0b"), true));
    assert_true(tsr_has_control(S("a\r\n\x0c"), true));
}

/* Runs tsr_text_check and, on failure, checks the detail sentence. */
static void check_text(const char *in, size_t len, size_t min, size_t max, bool lines,
                       const char *want_detail, const char *want_text)
{
    const char *s = in;
    size_t n = len;
    char detail[128];

    memset(detail, 0, sizeof(detail));
    enum tsr_err rc = tsr_text_check("name", &s, &n, min, max, lines, detail, sizeof(detail));
    if (want_detail == NULL) {
        if (rc != TSR_OK)
            fail_msg("refused: %s", detail);
        assert_int_equal(n, strlen(want_text));
        assert_memory_equal(s, want_text, n);
    } else {
        assert_int_equal(rc, TSR_ERR_INVALID);
        assert_string_equal(detail, want_detail);
    }
}

static void test_text_check(void **state)
{
    (void)state;
    check_text(S("CI deploy"), 1, 100, false, NULL, "CI deploy");
    check_text(S("  CI deploy \n"), 1, 100, false, NULL, "CI deploy");
    check_text(S("\xc2\xa0nbsp\xc2\xa0"), 1, 100, false, NULL, "\xc2\xa0nbsp\xc2\xa0");
    check_text(S(""), 0, 500, true, NULL, "");
    check_text(S(" \n "), 0, 500, true, NULL, "");
    check_text(S("line one\nline two\r\n"), 0, 500, true, NULL, "line one\nline two");

    check_text(S(""), 1, 100, false, "name must not be empty", NULL);
    check_text(S(" \t\r\n "), 1, 100, false, "name must not be empty", NULL);
    check_text(S("ab"), 3, 100, false, "name must be at least 3 characters", NULL);
    check_text(S("\xff"), 1, 100, false, "name must be valid UTF-8", NULL);
    check_text(S("a\xc0\x80"), 1, 100, false, "name must be valid UTF-8", NULL);
    check_text(S("a\x01z"), 1, 100, false, "name must not contain control characters", NULL);
    check_text(S("a\nz"), 1, 100, false, "name must not contain control characters", NULL);
    check_text(S("a\tz"), 1, 100, true, "name must not contain control characters", NULL);
    check_text(S("a\xc2\x85z"), 1, 100, true, "name must not contain control characters", NULL);
    /* UTF-8 is checked before anything else, even an over-long text. */
    check_text(S("aaaaaaaaaa\x01\xff"), 1, 5, false, "name must be valid UTF-8", NULL);
}

/* The invisible ones that reorder or hide text; the joiner emoji need stays. */
static void test_has_invisible(void **state)
{
    static const char *const refused[] = {
        "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", /* U+202A-U+202D */
        "\xe2\x80\xae",                                                 /* U+202E RLO */
        "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9", /* U+2066-U+2069 */
        "\xe2\x80\x8b",                                                 /* U+200B ZWSP */
        "\xe2\x80\x8e", "\xe2\x80\x8f",                                 /* U+200E, U+200F */
        "\xef\xbb\xbf",                                                 /* U+FEFF BOM */
    };
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(buf, sizeof(buf), "ci%sdeploy", refused[i]);
        if (!tsr_has_invisible(buf, strlen(buf)))
            fail_msg("passed: code point %zu", i);
        /* At either end too. */
        assert_true(tsr_has_invisible(refused[i], 3));
        check_text(buf, strlen(buf), 1, 100, false,
                   "name must not contain bidirectional controls or invisible characters", NULL);
    }
    assert_false(tsr_has_invisible(S("")));
    assert_false(tsr_has_invisible(S("plain")));
    /* Neighbours of the refused ones pass. */
    assert_false(tsr_has_invisible(S("\xe2\x80\x8c"))); /* U+200C ZWNJ */
    assert_false(tsr_has_invisible(S("\xe2\x80\x8d"))); /* U+200D ZWJ */
    assert_false(tsr_has_invisible(S("\xe2\x80\xa9"))); /* U+2029 */
    assert_false(tsr_has_invisible(S("\xe2\x80\xaf"))); /* U+202F NNBSP */
    assert_false(tsr_has_invisible(S("\xe2\x81\xa5"))); /* U+2065 */
    assert_false(tsr_has_invisible(S("\xe2\x81\xaa"))); /* U+206A */
    assert_false(tsr_has_invisible(S("\xef\xbb\xbe"))); /* U+FEFE */
    assert_false(tsr_has_invisible(S("\xe2\x80")));     /* cut short */
    /* A family emoji: people joined by U+200D. */
    check_text(S("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 team"), 1, 100, false, NULL,
               "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 team");
    /* Descriptions likewise, line breaks or not. */
    check_text(S("line\n\xe2\x80\xae"
                 "evil"),
               0, 500, true, "name must not contain bidirectional controls or invisible characters",
               NULL);
}

static void test_text_check_length(void **state)
{
    char buf[512];

    (void)state;
    /* 100 ASCII characters pass, 101 do not. */
    memset(buf, 'x', 101);
    check_text(buf, 100, 1, 100, false, NULL,
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    check_text(buf, 101, 1, 100, false, "name must be at most 100 characters", NULL);

    /* 100 euro signs are 300 bytes and 100 characters; 101 are too many. */
    for (int i = 0; i < 101; i++)
        memcpy(buf + 3 * i, "\xe2\x82\xac", 3);
    const char *s = buf;
    size_t n = 300;
    char detail[64] = "";
    assert_int_equal(tsr_text_check("name", &s, &n, 1, 100, false, detail, sizeof(detail)), TSR_OK);
    assert_int_equal(n, 300);
    check_text(buf, 303, 1, 100, false, "name must be at most 100 characters", NULL);

    /* Trailing white space does not count. */
    memset(buf, 'y', 100);
    memset(buf + 100, ' ', 50);
    s = buf;
    n = 150;
    assert_int_equal(tsr_text_check("name", &s, &n, 1, 100, false, detail, sizeof(detail)), TSR_OK);
    assert_int_equal(n, 100);
}

static void test_text_check_detail_buffer(void **state)
{
    const char *s = "";
    size_t n = 0;
    char small[8];

    (void)state;
    /* A detail buffer too small is cut short, never overrun; none at all is fine. */
    memset(small, 'q', sizeof(small));
    assert_int_equal(tsr_text_check("description", &s, &n, 1, 5, false, small, sizeof(small)),
                     TSR_ERR_INVALID);
    assert_string_equal(small, "descrip");
    assert_int_equal(tsr_text_check("description", &s, &n, 1, 5, false, NULL, 0), TSR_ERR_INVALID);
    char detail[80];
    s = "  d  ";
    n = 5;
    assert_int_equal(tsr_text_check("description", &s, &n, 0, 500, true, detail, sizeof(detail)),
                     TSR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(*s, 'd');
}

static void test_email(void **state)
{
    (void)state;
    assert_true(tsr_email_valid(S("admin@localhost")));
    assert_true(tsr_email_valid(S("a@b")));
    assert_true(tsr_email_valid(S("first.last+tag@example.co.uk")));
    assert_true(tsr_email_valid(S("J\xc3\xb6rg@b\xc3\xbc"
                                  "cher.example")));
    assert_true(tsr_email_valid(S("\"quoted\"@example.com")));

    assert_false(tsr_email_valid(S("")));
    assert_false(tsr_email_valid(NULL, 0));
    assert_false(tsr_email_valid(S("plain")));
    assert_false(tsr_email_valid(S("@example.com")));
    assert_false(tsr_email_valid(S("user@")));
    assert_false(tsr_email_valid(S("@")));
    assert_false(tsr_email_valid(S("a@b@c")));
    assert_false(tsr_email_valid(S("a@@b")));
    assert_false(tsr_email_valid(S("a b@example.com")));
    assert_false(tsr_email_valid(S(" a@example.com")));
    assert_false(tsr_email_valid(S("a@example.com ")));
    assert_false(tsr_email_valid(S("a\t@example.com")));
    assert_false(tsr_email_valid(S("a@example.com\n")));
    assert_false(tsr_email_valid(S("a\0@example.com")));
    assert_false(tsr_email_valid(S("a@exa\x7fmple.com")));
    assert_false(tsr_email_valid(S("a\xc2\x85@example.com")));     /* U+0085 */
    assert_false(tsr_email_valid(S("a\xc2\xa0@example.com")));     /* U+00A0 NBSP */
    assert_false(tsr_email_valid(S("a@example\xe3\x80\x80.com"))); /* U+3000 */
    assert_false(tsr_email_valid(S("a@example\xe2\x80\xa8.com"))); /* U+2028 */
    assert_false(tsr_email_valid(S("a\xff@example.com")));
    assert_false(tsr_email_valid(S("a@\xc0\x80")));
    /* The length bounds the read: an '@' or junk beyond len is not seen. */
    assert_true(tsr_email_valid("a@b@c", 3));
    assert_false(tsr_email_valid("a@b", 2));

    /* 254 bytes pass, 255 do not. */
    char buf[300];
    memset(buf, 'x', sizeof(buf));
    buf[0] = 'u';
    buf[1] = '@';
    assert_true(tsr_email_valid(buf, 254));
    assert_false(tsr_email_valid(buf, 255));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_count),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_has_control),
        cmocka_unit_test(test_has_invisible),
        cmocka_unit_test(test_text_check),
        cmocka_unit_test(test_text_check_length),
        cmocka_unit_test(test_text_check_detail_buffer),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
