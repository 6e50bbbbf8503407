/* test_ratelimit.c - failed logins per address: the window, the limit, the table */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "service/ratelimit.h"

#define NOW 1700000000LL

static void test_limit_and_window(void **state)
{
    struct tsr_ratelimit *rl = NULL;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(3, 900, &rl), TSR_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + i), 0);
        tsr__ratelimit_fail(rl, "10.0.0.1", NOW + i);
    }
    /* The window began at the first failure: 900 s from then. */
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + 10), 890);
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.2", NOW + 10), 0);
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + 899), 1);
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + 900), 0);
    /* A new window starts with the next failure. */
    tsr__ratelimit_fail(rl, "10.0.0.1", NOW + 900);
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + 901), 0);
    tsr__ratelimit_free(rl);
    tsr__ratelimit_free(NULL);
}

static void test_unknown_address_and_off(void **state)
{
    struct tsr_ratelimit *rl = NULL, *off = NULL;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(1, 60, &rl), TSR_OK);
    tsr__ratelimit_fail(rl, "", NOW);
    assert_int_equal(tsr__ratelimit_wait(rl, "", NOW), 60);
    assert_int_equal(tsr__ratelimit_wait(rl, "::1", NOW), 0);
    tsr__ratelimit_free(rl);

    assert_int_equal(tsr__ratelimit_new(0, 60, &off), TSR_OK);
    for (int i = 0; i < 100; i++)
        tsr__ratelimit_fail(off, "10.0.0.1", NOW);
    assert_int_equal(tsr__ratelimit_wait(off, "10.0.0.1", NOW), 0);
    tsr__ratelimit_free(off);
}

/* Many addresses at once: each is limited on its own; the table holds them. */
static void test_many_addresses(void **state)
{
    struct tsr_ratelimit *rl = NULL;
    char addr[32];
    int limited = 0;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(2, 900, &rl), TSR_OK);
    for (int i = 0; i < 20000; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        tsr__ratelimit_fail(rl, addr, NOW);
        tsr__ratelimit_fail(rl, addr, NOW);
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        limited += tsr__ratelimit_wait(rl, addr, NOW + 1) == 899;
    }
    assert_int_equal(limited, 20000);
    tsr__ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_window),
        cmocka_unit_test(test_unknown_address_and_off),
        cmocka_unit_test(test_many_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
