/* test_dynbuf.c - the capped buffer and the copy that reports truncation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/dynbuf.h"

static void test_grows_to_its_cap_and_not_past(void **state)
{
    struct tsr_dynbuf b;
    char chunk[700];

    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    tsr_dynbuf_init(&b, 5000);
    for (int i = 0; i < 7; i++)
        assert_int_equal(tsr_dynbuf_add(&b, chunk, sizeof(chunk)), TSR_OK);
    assert_int_equal(b.len, 4900);
    assert_int_equal(strlen(b.p), 4900);
    /* 100 more fit exactly; one more byte does not, and changes nothing. */
    assert_int_equal(tsr_dynbuf_add(&b, chunk, 100), TSR_OK);
    assert_int_equal(tsr_dynbuf_add(&b, "y", 1), TSR_ERR_TOOBIG);
    assert_int_equal(b.len, 5000);
    assert_int_equal(b.p[4999], 'x');
    assert_int_equal(b.p[5000], '\0');
    assert_true(b.cap <= 5001);
    tsr_dynbuf_release(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    tsr_dynbuf_release(&b); /* twice is harmless */
}

static void test_a_huge_add_cannot_wrap_the_cap(void **state)
{
    struct tsr_dynbuf b;

    (void)state;
    tsr_dynbuf_init(&b, 64);
    assert_int_equal(tsr_dynbuf_add(&b, "abc", 3), TSR_OK);
    assert_int_equal(tsr_dynbuf_add(&b, "abc", SIZE_MAX - 1), TSR_ERR_TOOBIG);
    assert_string_equal(b.p, "abc");
    assert_int_equal(tsr_dynbuf_add(&b, "", 0), TSR_OK);
    assert_string_equal(b.p, "abc");
    tsr_dynbuf_release(&b);
}

static void test_strscpy_says_when_it_cut(void **state)
{
    char dst[6];

    (void)state;
    assert_int_equal(tsr_strscpy(dst, sizeof(dst), "hello"), TSR_OK);
    assert_string_equal(dst, "hello");
    assert_int_equal(tsr_strscpy(dst, sizeof(dst), "hello!"), TSR_ERR_TOOBIG);
    assert_string_equal(dst, "hello");
    assert_int_equal(tsr_strscpy(dst, sizeof(dst), NULL), TSR_OK);
    assert_string_equal(dst, "");
    assert_int_equal(tsr_strscpy(dst, 0, "a"), TSR_ERR_TOOBIG);
    assert_int_equal(tsr_strscpy(dst, 0, ""), TSR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_to_its_cap_and_not_past),
        cmocka_unit_test(test_a_huge_add_cannot_wrap_the_cap),
        cmocka_unit_test(test_strscpy_says_when_it_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
