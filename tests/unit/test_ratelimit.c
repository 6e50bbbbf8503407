/* test_ratelimit.c - attempts per key: the window, the limit, the table, a full table; and
 * the sliding window of requests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/addr.h"
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

/* Take checks and counts in one step; release gives a success back. */
static void test_take_and_release(void **state)
{
    struct tsr_ratelimit *rl = NULL;
    struct tsr_ratelimit_hold h[4];

    (void)state;
    assert_int_equal(tsr__ratelimit_new(3, 900, &rl), TSR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tsr__ratelimit_take(rl, "10.0.0.1", NOW, &h[i]), 0);
    /* Three in flight: the fourth is refused before anyone finished. */
    assert_int_equal(tsr__ratelimit_take(rl, "10.0.0.1", NOW + 1, &h[3]), 899);
    /* One of them succeeded: its place is free again, once. */
    tsr__ratelimit_release(rl, &h[1]);
    assert_int_equal(tsr__ratelimit_take(rl, "10.0.0.1", NOW + 2, &h[3]), 0);
    assert_int_equal(tsr__ratelimit_take(rl, "10.0.0.1", NOW + 2, &h[3]), 898);
    /* A hold from a window that has ended gives nothing back to the next. */
    assert_int_equal(tsr__ratelimit_take(rl, "10.0.0.1", NOW + 900, &h[0]), 0);
    tsr__ratelimit_release(rl, &h[2]);
    tsr__ratelimit_fail(rl, "10.0.0.1", NOW + 901);
    tsr__ratelimit_fail(rl, "10.0.0.1", NOW + 901);
    assert_int_equal(tsr__ratelimit_wait(rl, "10.0.0.1", NOW + 902), 898);
    tsr__ratelimit_free(rl);
}

struct racer {
    struct tsr_ratelimit *rl;
    int passed;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct tsr_ratelimit_hold h;

    for (int i = 0; i < 1000; i++)
        r->passed += tsr__ratelimit_take(r->rl, "10.0.0.9", NOW, &h) == 0;
    return NULL;
}

/* Eight threads at once on one key: exactly the limit gets through. */
static void test_parallel_takes(void **state)
{
    struct racer r[8];
    pthread_t t[8];
    struct tsr_ratelimit *rl = NULL;
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(5, 900, &rl), TSR_OK);
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){.rl = rl};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        passed += r[i].passed;
    }
    assert_int_equal(passed, 5);
    tsr__ratelimit_free(rl);
}

/* An attacker with all the addresses it likes fills the whole table with
 * windows at their limit: the target's failures still count, in the shared
 * overflow window, and it is refused after the limit as before. */
static void test_full_table_still_counts(void **state)
{
    struct tsr_ratelimit *rl = NULL;
    struct tsr_ratelimit_hold h;
    char addr[32];
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(3, 900, &rl), TSR_OK);
    for (int i = 0; i < 70000; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        for (int j = 0; j < 3; j++)
            tsr__ratelimit_fail(rl, addr, NOW);
    }
    for (int i = 0; i < 10; i++)
        passed += tsr__ratelimit_take(rl, "192.0.2.7", NOW + 1, &h) == 0;
    assert_in_range(passed, 0, 3);
    assert_true(tsr__ratelimit_wait(rl, "192.0.2.7", NOW + 1) > 0);
    /* The windows that were full are full still: none was evicted. */
    for (int i = 0; i < 70000; i += 997) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        if (tsr__ratelimit_wait(rl, addr, NOW + 1) == 0)
            fail_msg("%s was let off", addr);
    }
    tsr__ratelimit_free(rl);
}

/* A table full of windows far from their limit makes room for a newcomer
 * by evicting one of them: the newcomer gets a window of its own. */
static void test_full_table_evicts_the_fewest(void **state)
{
    struct tsr_ratelimit *rl = NULL;
    struct tsr_ratelimit_hold h;
    char addr[32];
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(4, 900, &rl), TSR_OK);
    for (int i = 0; i < 70000; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        tsr__ratelimit_fail(rl, addr, NOW);
    }
    for (int i = 0; i < 10; i++)
        passed += tsr__ratelimit_take(rl, "192.0.2.7", NOW + 1, &h) == 0;
    assert_int_equal(passed, 4);
    assert_int_equal(tsr__ratelimit_wait(rl, "192.0.2.7", NOW + 2), 899);
    tsr__ratelimit_free(rl);
}

/* The /64 rule, as the service applies it: the hosts of one /64 share a
 * window, whatever host part each picks. */
static void test_ipv6_hosts_of_one_64(void **state)
{
    struct tsr_ratelimit *rl = NULL;
    struct tsr_ratelimit_hold h;
    char addr[64], key[TSR_ADDR_KEY_MAX + 1];
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__ratelimit_new(5, 900, &rl), TSR_OK);
    for (int i = 0; i < 50; i++) {
        snprintf(addr, sizeof(addr), "2001:db8:7:7:%x::%x", (i * 7919) & 0xffff, i);
        tsr_addr_key_text(addr, key);
        passed += tsr__ratelimit_take(rl, key, NOW, &h) == 0;
    }
    assert_int_equal(passed, 5);
    tsr_addr_key_text("2001:db8:7:8::1", key);
    assert_int_equal(tsr__ratelimit_take(rl, key, NOW, &h), 0);
    tsr__ratelimit_free(rl);
}

/* ---- the sliding window ---- */

#define HOUR 3600

/* Sixty requests a minute apart: the sixty-first is refused until the
 * first is an hour old, then one more goes through, and the next waits for
 * the second's hour. A fixed window would have let all sixty through again
 * at once. */
static void test_slide_one_request_at_a_time(void **state)
{
    struct tsr_slidelimit *sl = NULL;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(60, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + i * 60), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + 3599), 1);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + 3000), 600);
    /* Another key has its own window. */
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.2", NOW + 3000), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + HOUR), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + HOUR), 60);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + HOUR + 59), 1);
    assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW + HOUR + 60), 0);
    tsr__slidelimit_free(sl);
    tsr__slidelimit_free(NULL);
}

/* A burst of sixty at one moment: refusals meanwhile change nothing, and
 * after the hour the whole allowance is back. */
static void test_slide_refusals_do_not_count(void **state)
{
    struct tsr_slidelimit *sl = NULL;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(60, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(tsr__slidelimit_take(sl, "192.0.2.7", NOW), 0);
    for (int i = 1; i < HOUR; i += 7)
        assert_int_equal(tsr__slidelimit_take(sl, "192.0.2.7", NOW + i), HOUR - i);
    for (int i = 0; i < 60; i++)
        assert_int_equal(tsr__slidelimit_take(sl, "192.0.2.7", NOW + HOUR), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "192.0.2.7", NOW + HOUR), HOUR);
    tsr__slidelimit_free(sl);
}

/* A clock that steps back: the requests noted "later" still count, and
 * the wait is until the earliest of them leaves the window. */
static void test_slide_clock_steps_back(void **state)
{
    struct tsr_slidelimit *sl = NULL;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(2, 100, &sl), TSR_OK);
    assert_int_equal(tsr__slidelimit_take(sl, "k", NOW + 50), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "k", NOW), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "k", NOW + 10), 90);
    /* The one at NOW has left, the one at NOW + 50 has not. */
    assert_int_equal(tsr__slidelimit_take(sl, "k", NOW + 100), 0);
    assert_int_equal(tsr__slidelimit_take(sl, "k", NOW + 100), 50);
    tsr__slidelimit_free(sl);
}

static void test_slide_off_and_bounds(void **state)
{
    struct tsr_slidelimit *sl = NULL;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(0, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tsr__slidelimit_take(sl, "10.0.0.1", NOW), 0);
    tsr__slidelimit_free(sl);
    sl = NULL;
    assert_int_equal(tsr__slidelimit_new(TSR_SLIDELIMIT_MAX + 1, HOUR, &sl), TSR_ERR_INVALID);
    assert_null(sl);
    /* NULL and "" are one key, as for failures. */
    assert_int_equal(tsr__slidelimit_new(1, HOUR, &sl), TSR_OK);
    assert_int_equal(tsr__slidelimit_take(sl, "", NOW), 0);
    assert_int_equal(tsr__slidelimit_take(sl, NULL, NOW), HOUR);
    assert_int_equal(tsr__slidelimit_take(sl, "::1", NOW), 0);
    tsr__slidelimit_free(sl);
}

struct slide_racer {
    struct tsr_slidelimit *sl;
    int passed;
};

static void *slide_race(void *arg)
{
    struct slide_racer *r = arg;

    for (int i = 0; i < 1000; i++)
        r->passed += tsr__slidelimit_take(r->sl, "10.0.0.9", NOW) == 0;
    return NULL;
}

/* Eight threads at once on one key: exactly the limit gets through. */
static void test_slide_parallel(void **state)
{
    struct slide_racer r[8];
    pthread_t t[8];
    struct tsr_slidelimit *sl = NULL;
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(60, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 8; i++) {
        r[i] = (struct slide_racer){.sl = sl};
        assert_int_equal(pthread_create(&t[i], NULL, slide_race, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        passed += r[i].passed;
    }
    assert_int_equal(passed, 60);
    tsr__slidelimit_free(sl);
}

static const char *nth_addr(char *buf, size_t size, int i)
{
    snprintf(buf, size, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
    return buf;
}

/* An attacker with many addresses fills the table with keys at their
 * limit: a newcomer is still counted (in the shared overflow window) and
 * refused past the limit, and none of the full keys is let off. */
static void test_slide_full_table_still_counts(void **state)
{
    struct tsr_slidelimit *sl = NULL;
    char addr[32];
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(4, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 20000; i++)
        for (int j = 0; j < 4; j++)
            tsr__slidelimit_take(sl, nth_addr(addr, sizeof(addr), i), NOW);
    for (int i = 0; i < 10; i++)
        passed += tsr__slidelimit_take(sl, "192.0.2.7", NOW + 1) == 0;
    assert_in_range(passed, 0, 4);
    assert_true(tsr__slidelimit_take(sl, "192.0.2.7", NOW + 1) > 0);
    for (int i = 0; i < 20000; i += 997) {
        if (tsr__slidelimit_take(sl, nth_addr(addr, sizeof(addr), i), NOW + 1) == 0)
            fail_msg("%s was let off", addr);
    }
    tsr__slidelimit_free(sl);
}

/* A table full of keys far from their limit makes room for a newcomer by
 * evicting one of them: the newcomer gets its whole allowance. */
static void test_slide_full_table_evicts_the_fewest(void **state)
{
    struct tsr_slidelimit *sl = NULL;
    char addr[32];
    int passed = 0;

    (void)state;
    assert_int_equal(tsr__slidelimit_new(8, HOUR, &sl), TSR_OK);
    for (int i = 0; i < 20000; i++)
        tsr__slidelimit_take(sl, nth_addr(addr, sizeof(addr), i), NOW);
    for (int i = 0; i < 20; i++)
        passed += tsr__slidelimit_take(sl, "192.0.2.7", NOW + 1) == 0;
    assert_int_equal(passed, 8);
    assert_int_equal(tsr__slidelimit_take(sl, "192.0.2.7", NOW + 2), HOUR - 1);
    tsr__slidelimit_free(sl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_window),
        cmocka_unit_test(test_unknown_address_and_off),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_take_and_release),
        cmocka_unit_test(test_parallel_takes),
        cmocka_unit_test(test_full_table_still_counts),
        cmocka_unit_test(test_full_table_evicts_the_fewest),
        cmocka_unit_test(test_ipv6_hosts_of_one_64),
        cmocka_unit_test(test_slide_one_request_at_a_time),
        cmocka_unit_test(test_slide_refusals_do_not_count),
        cmocka_unit_test(test_slide_clock_steps_back),
        cmocka_unit_test(test_slide_off_and_bounds),
        cmocka_unit_test(test_slide_parallel),
        cmocka_unit_test(test_slide_full_table_still_counts),
        cmocka_unit_test(test_slide_full_table_evicts_the_fewest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
