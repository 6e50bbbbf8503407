/* test_addr.c - unit tests for core/addr.c: IPv4 per address, IPv6 per /64 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/addr.h"

static struct tsr_addr_key key_of(const char *text)
{
    struct tsr_addr_key k;

    assert_true(tsr_addr_key(text, &k));
    return k;
}

static bool same(const char *a, const char *b)
{
    struct tsr_addr_key ka = key_of(a), kb = key_of(b);

    return memcmp(ka.bytes, kb.bytes, sizeof(ka.bytes)) == 0;
}

static void test_v4_per_address(void **state)
{
    static const uint8_t want[TSR_ADDR_KEY_LEN] = {4, 192, 0, 2, 7, 0, 0, 0, 0};
    struct tsr_addr_key k = key_of("192.0.2.7");

    (void)state;
    assert_memory_equal(k.bytes, want, sizeof(want));
    assert_false(same("192.0.2.7", "192.0.2.8"));
    assert_false(same("10.0.0.1", "10.0.0.2"));
    assert_true(same("127.0.0.1", "127.0.0.1"));
}

static void test_v6_per_64(void **state)
{
    static const uint8_t want[TSR_ADDR_KEY_LEN] = {6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
    struct tsr_addr_key k = key_of("2001:db8:0:1::7");

    (void)state;
    assert_memory_equal(k.bytes, want, sizeof(want));
    /* Anything in one /64 is one client. */
    assert_true(same("2001:db8:0:1::7", "2001:db8:0:1:ffff:ffff:ffff:ffff"));
    assert_true(same("2001:db8:0:1::", "2001:db8:0:1:1234:5678:9abc:def0"));
    /* The next /64, and the same bits in another /48, are not. */
    assert_false(same("2001:db8:0:1::7", "2001:db8:0:2::7"));
    assert_false(same("2001:db8:0:1::7", "2001:db9:0:1::7"));
    assert_true(same("::1", "::2")); /* both in ::/64 */
}

static void test_mapped_is_v4(void **state)
{
    (void)state;
    assert_true(same("::ffff:192.0.2.7", "192.0.2.7"));
    assert_false(same("::ffff:192.0.2.7", "::ffff:192.0.2.8"));
    /* An IPv4 key never equals an IPv6 one with the same bytes. */
    assert_false(same("192.0.2.7", "c000:207::"));
    /* Only ::ffff:0:0/96 is mapped: the deprecated compatible form is IPv6. */
    assert_false(same("::192.0.2.7", "192.0.2.7"));
}

static void test_refused(void **state)
{
    static const char *const bad[] = {"",
                                      "localhost",
                                      "192.0.2.7:80",
                                      "192.0.2.7/32",
                                      "[2001:db8::1]",
                                      "2001:db8::1%eth0",
                                      "192.0.2.256",
                                      " 192.0.2.7"};
    static const uint8_t zero[TSR_ADDR_KEY_LEN] = {0};
    struct tsr_addr_key k;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&k, 0xaa, sizeof(k));
        if (tsr_addr_key(bad[i], &k))
            fail_msg("'%s' was taken as an address", bad[i]);
        assert_memory_equal(k.bytes, zero, sizeof(zero));
    }
    assert_false(tsr_addr_key(NULL, &k));
}

static void test_sockaddr(void **state)
{
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(443)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    struct sockaddr_un_like {
        sa_family_t family;
        char path[8];
    } un = {.family = AF_UNIX};
    struct tsr_addr_key k;

    (void)state;
    assert_int_equal(inet_pton(AF_INET, "198.51.100.9", &in4.sin_addr), 1);
    assert_true(tsr_addr_key_sockaddr((struct sockaddr *)&in4, &k));
    assert_memory_equal(k.bytes, key_of("198.51.100.9").bytes, TSR_ADDR_KEY_LEN);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.9", &in6.sin6_addr), 1);
    assert_true(tsr_addr_key_sockaddr((struct sockaddr *)&in6, &k));
    assert_memory_equal(k.bytes, key_of("198.51.100.9").bytes, TSR_ADDR_KEY_LEN);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:aa:bb:1::", &in6.sin6_addr), 1);
    assert_true(tsr_addr_key_sockaddr((struct sockaddr *)&in6, &k));
    assert_memory_equal(k.bytes, key_of("2001:db8:aa:bb::99").bytes, TSR_ADDR_KEY_LEN);
    assert_false(tsr_addr_key_sockaddr((struct sockaddr *)(void *)&un, &k));
    assert_false(tsr_addr_key_sockaddr(NULL, &k));
}

static const char *text_key(const char *addr)
{
    static char out[TSR_ADDR_KEY_MAX + 1];

    tsr_addr_key_text(addr, out);
    return out;
}

static void test_text_ipv4_is_itself(void **state)
{
    (void)state;
    assert_string_equal(text_key("192.0.2.7"), "192.0.2.7");
    assert_string_equal(text_key("127.3.2.1"), "127.3.2.1");
    assert_string_equal(text_key("255.255.255.255"), "255.255.255.255");
    /* Two addresses of one /24 are two clients. */
    assert_string_not_equal(text_key("192.0.2.7"), "192.0.2.8");
}

static void test_text_mapped_ipv4_is_ipv4(void **state)
{
    (void)state;
    assert_string_equal(text_key("::ffff:192.0.2.7"), "192.0.2.7");
    assert_string_equal(text_key("::FFFF:c000:0207"), "192.0.2.7");
}

static void test_text_ipv6_is_its_64(void **state)
{
    char a[TSR_ADDR_KEY_MAX + 1], b[TSR_ADDR_KEY_MAX + 1];

    (void)state;
    assert_string_equal(text_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert_string_equal(text_key("2001:DB8:1:2::"), "2001:db8:1:2::/64");
    assert_string_equal(text_key("::1"), "::/64");
    assert_string_equal(text_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                        "ffff:ffff:ffff:ffff::/64");
    /* Every host of a /64 is one client; the next /64 is another. */
    tsr_addr_key_text("2001:db8:0:1::1", a);
    tsr_addr_key_text("2001:db8:0:1:ffff:ffff:ffff:fffe", b);
    assert_string_equal(a, b);
    tsr_addr_key_text("2001:db8:0:2::1", b);
    assert_string_not_equal(a, b);
}

static void test_text_no_address(void **state)
{
    (void)state;
    assert_string_equal(text_key(NULL), "-");
    assert_string_equal(text_key(""), "-");
    assert_string_equal(text_key("not an address"), "-");
    assert_string_equal(text_key("192.0.2.7:8080"), "-");
    assert_string_equal(text_key("2001:db8::1/64"), "-");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_per_address),
        cmocka_unit_test(test_v6_per_64),
        cmocka_unit_test(test_mapped_is_v4),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_text_ipv4_is_itself),
        cmocka_unit_test(test_text_mapped_ipv4_is_ipv4),
        cmocka_unit_test(test_text_ipv6_is_its_64),
        cmocka_unit_test(test_text_no_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
