/* test_addr.c - the key a per-address limit counts a client by */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/addr.h"

static const char *key(const char *addr)
{
    static char out[TSR_ADDR_KEY_MAX + 1];

    tsr_addr_key(addr, out);
    return out;
}

static void test_ipv4_is_itself(void **state)
{
    (void)state;
    assert_string_equal(key("192.0.2.7"), "192.0.2.7");
    assert_string_equal(key("127.3.2.1"), "127.3.2.1");
    assert_string_equal(key("255.255.255.255"), "255.255.255.255");
    /* Two addresses of one /24 are two clients. */
    assert_string_not_equal(key("192.0.2.7"), "192.0.2.8");
}

static void test_mapped_ipv4_is_ipv4(void **state)
{
    (void)state;
    assert_string_equal(key("::ffff:192.0.2.7"), "192.0.2.7");
    assert_string_equal(key("::FFFF:c000:0207"), "192.0.2.7");
}

static void test_ipv6_is_its_64(void **state)
{
    char a[TSR_ADDR_KEY_MAX + 1], b[TSR_ADDR_KEY_MAX + 1];

    (void)state;
    assert_string_equal(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert_string_equal(key("2001:DB8:1:2::"), "2001:db8:1:2::/64");
    assert_string_equal(key("::1"), "::/64");
    assert_string_equal(key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ffff:ffff:ffff:ffff::/64");
    /* Every host of a /64 is one client; the next /64 is another. */
    tsr_addr_key("2001:db8:0:1::1", a);
    tsr_addr_key("2001:db8:0:1:ffff:ffff:ffff:fffe", b);
    assert_string_equal(a, b);
    tsr_addr_key("2001:db8:0:2::1", b);
    assert_string_not_equal(a, b);
}

static void test_no_address(void **state)
{
    (void)state;
    assert_string_equal(key(NULL), "-");
    assert_string_equal(key(""), "-");
    assert_string_equal(key("not an address"), "-");
    assert_string_equal(key("192.0.2.7:8080"), "-");
    assert_string_equal(key("2001:db8::1/64"), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_is_itself),
        cmocka_unit_test(test_mapped_ipv4_is_ipv4),
        cmocka_unit_test(test_ipv6_is_its_64),
        cmocka_unit_test(test_no_address),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
