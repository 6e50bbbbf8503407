/* test_cidr.c - unit tests for core/cidr.c: addresses, blocks, canonical text, matching */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/cidr.h"

static enum tsr_cidr_error parse(const char *s, struct tsr_cidr *c)
{
    return tsr_cidr_parse(s, strlen(s), c);
}

static struct tsr_cidr block(const char *s)
{
    struct tsr_cidr c;
    enum tsr_cidr_error e = parse(s, &c);

    if (e != TSR_CIDR_OK)
        fail_msg("'%s' refused (%d)", s, (int)e);
    return c;
}

static struct tsr_ip ip(const char *s)
{
    struct tsr_ip a;

    if (!tsr_ip_parse(s, strlen(s), &a))
        fail_msg("'%s' is not an address", s);
    return a;
}

/* The canonical text of s, which must parse. */
static const char *canon(const char *s)
{
    static char out[TSR_CIDR_TEXT_MAX + 1];
    struct tsr_cidr c = block(s);
    size_t n = tsr_cidr_text(&c, out);

    assert_int_equal(n, strlen(out));
    return out;
}

static void test_ip_parse(void **state)
{
    static const uint8_t v4[16] = {192, 0, 2, 7};
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    struct tsr_ip a;

    (void)state;
    a = ip("192.0.2.7");
    assert_int_equal(a.family, TSR_IP_V4);
    assert_memory_equal(a.bytes, v4, 16);
    a = ip("2001:DB8::1");
    assert_int_equal(a.family, TSR_IP_V6);
    assert_memory_equal(a.bytes, v6, 16);
    /* A mapped address is its IPv4 address, in either spelling. */
    a = ip("::ffff:192.0.2.7");
    assert_int_equal(a.family, TSR_IP_V4);
    assert_memory_equal(a.bytes, v4, 16);
    a = ip("::FFFF:c000:207");
    assert_int_equal(a.family, TSR_IP_V4);
    assert_memory_equal(a.bytes, v4, 16);
    a = ip("0:0:0:0:0:ffff:192.0.2.7");
    assert_int_equal(a.family, TSR_IP_V4);
    /* The compatible form is not mapped: it stays IPv6. */
    assert_int_equal(ip("::192.0.2.7").family, TSR_IP_V6);
    assert_int_equal(ip("::").family, TSR_IP_V6);
    assert_int_equal(ip("0.0.0.0").family, TSR_IP_V4);
    /* The longest text inet_pton takes. */
    assert_int_equal(ip("0000:0000:0000:0000:0000:0000:255.255.255.255").family, TSR_IP_V6);
}

static void test_ip_refused(void **state)
{
    static const char *const bad[] = {"",
                                      "localhost",
                                      "192.0.2.7/32",
                                      "192.0.2.7:80",
                                      "[2001:db8::1]",
                                      "2001:db8::1%eth0",
                                      "fe80::1%1",
                                      " 192.0.2.7",
                                      "192.0.2.7 ",
                                      "192.0.2.7\n",
                                      "\t::1",
                                      "192.0.2.256",
                                      "192.0.2",
                                      "192.0.2.07",
                                      "0x7f.0.0.1",
                                      "+1.2.3.4",
                                      "2001:db8:::1",
                                      "2001:db8::1::2",
                                      "1:2:3:4:5:6:7:8:9",
                                      "12345::",
                                      "g::1",
                                      "0000:0000:0000:0000:0000:0000:0255.255.255.255"};
    static const uint8_t zero[sizeof(struct tsr_ip)] = {0};
    struct tsr_ip a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 0xaa, sizeof(a));
        if (tsr_ip_parse(bad[i], strlen(bad[i]), &a))
            fail_msg("'%s' was taken as an address", bad[i]);
        assert_memory_equal(&a, zero, sizeof(a));
    }
    /* A NUL inside, and bytes past len, do not count as the text. */
    assert_false(tsr_ip_parse("10.0.0.1\0", 9, &a));
    assert_false(tsr_ip_parse("10.0\0.0.1", 9, &a));
    assert_true(tsr_ip_parse("10.0.0.1xyz", 8, &a));
    assert_false(tsr_ip_parse("10.0.0.1", 7, &a));
    assert_false(tsr_ip_parse(NULL, 0, &a));
}

static void test_canonical_text(void **state)
{
    (void)state;
    assert_string_equal(canon("192.0.2.7"), "192.0.2.7/32");
    assert_string_equal(canon("10.0.0.0/8"), "10.0.0.0/8");
    assert_string_equal(canon("2001:db8::1"), "2001:db8::1/128");
    assert_string_equal(canon("2001:DB8:0:0::/48"), "2001:db8::/48");
    assert_string_equal(canon("2001:0db8:0000:0000:0000:0000:0000:0000/32"), "2001:db8::/32");
    assert_string_equal(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1/128");
    assert_string_equal(canon("FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF"),
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
    assert_string_equal(canon("0.0.0.0/0"), "0.0.0.0/0");
    assert_string_equal(canon("::/0"), "::/0");
    assert_string_equal(canon("::"), "::/128");
    assert_string_equal(canon("::1"), "::1/128");
    assert_string_equal(canon("255.255.255.255/32"), "255.255.255.255/32");
    /* The longest text there is fits TSR_CIDR_TEXT_MAX exactly. */
    assert_int_equal(strlen(canon("1111:2222:3333:4444:5555:6666:7777:8888")), TSR_CIDR_TEXT_MAX);
}

static void test_mapped_blocks(void **state)
{
    struct tsr_cidr c;

    (void)state;
    /* The prefix of a mapped block counts IPv6 bits: /104 is 8 IPv4 bits. */
    assert_string_equal(canon("::ffff:10.0.0.0/104"), "10.0.0.0/8");
    assert_string_equal(canon("::ffff:192.0.2.7"), "192.0.2.7/32");
    assert_string_equal(canon("::ffff:192.0.2.7/128"), "192.0.2.7/32");
    assert_string_equal(canon("::ffff:0:0/96"), "0.0.0.0/0");
    assert_string_equal(canon("::FFFF:C000:200/120"), "192.0.2.0/24");
    c = block("::ffff:10.0.0.0/104");
    {
        struct tsr_cidr v4 = block("10.0.0.0/8");

        assert_true(tsr_cidr_equal(&c, &v4));
    }
    /* Below /96 the block is not inside ::ffff:0:0/96: the ffff bits are
     * host bits. */
    assert_int_equal(parse("::ffff:10.0.0.0/95", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("::ffff:0:0/80", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("::ffff:0:0/0", &c), TSR_CIDR_HOST_BITS);
    /* Host bits past the mapped prefix. */
    assert_int_equal(parse("::ffff:10.0.0.1/104", &c), TSR_CIDR_HOST_BITS);
    /* A mapped prefix may go to 128 and no further; an IPv4 one to 32. */
    assert_int_equal(parse("::ffff:10.0.0.1/129", &c), TSR_CIDR_PREFIX);
    assert_int_equal(parse("10.0.0.1/33", &c), TSR_CIDR_PREFIX);
    assert_int_equal(parse("10.0.0.0/104", &c), TSR_CIDR_PREFIX);
    /* The compatible form and ::ffff:0:0/80's neighbours are IPv6. */
    assert_string_equal(canon("::192.0.2.7"), "::192.0.2.7/128");
    assert_string_equal(canon("::ffff:0:0:0/96"), "::ffff:0:0:0/96");
}

static void test_host_bits(void **state)
{
    struct tsr_cidr c;

    (void)state;
    assert_int_equal(parse("10.0.0.1/8", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("10.0.0.1/31", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("10.0.0.2/31", &c), TSR_CIDR_OK);
    assert_int_equal(parse("10.128.0.0/8", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("10.128.0.0/9", &c), TSR_CIDR_OK);
    assert_int_equal(parse("0.0.0.1/0", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("128.0.0.0/0", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("128.0.0.0/1", &c), TSR_CIDR_OK);
    assert_int_equal(parse("2001:db8::1/64", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("2001:db8:8000::/33", &c), TSR_CIDR_OK);
    assert_int_equal(parse("2001:db8:8000::/32", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("::1/127", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("::2/127", &c), TSR_CIDR_OK);
    assert_int_equal(parse("8000::/0", &c), TSR_CIDR_HOST_BITS);
    /* Every prefix of each family, at each boundary. */
    for (unsigned p = 0; p <= 32; p++) {
        char text[32];

        snprintf(text, sizeof(text), "255.255.255.255/%u", p);
        assert_int_equal(parse(text, &c), p == 32 ? TSR_CIDR_OK : TSR_CIDR_HOST_BITS);
    }
    for (unsigned p = 0; p <= 128; p++) {
        char text[64];

        snprintf(text, sizeof(text), "::1/%u", p);
        assert_int_equal(parse(text, &c), p == 128 ? TSR_CIDR_OK : TSR_CIDR_HOST_BITS);
        snprintf(text, sizeof(text), "::/%u", p);
        assert_int_equal(parse(text, &c), TSR_CIDR_OK);
        assert_int_equal(c.prefix, p);
    }
}

static void test_prefix_syntax(void **state)
{
    static const char *const bad[] = {
        "10.0.0.0/",    "10.0.0.0/08", "10.0.0.0/008",  "10.0.0.0/00",  "10.0.0.0/+8",
        "10.0.0.0/-8",  "10.0.0.0/ 8", "10.0.0.0/8 ",   "10.0.0.0/8a",  "10.0.0.0/0x8",
        "10.0.0.0/8/8", "10.0.0.0//8", "10.0.0.0/33",   "10.0.0.0/999", "10.0.0.0/1000",
        "::/129",       "::/0128",     "::/4294967424", "::/256",       "10.0.0.0/8\n",
    };
    struct tsr_cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum tsr_cidr_error e = parse(bad[i], &c);

        if (e != TSR_CIDR_PREFIX)
            fail_msg("'%s': got %d, want TSR_CIDR_PREFIX", bad[i], (int)e);
    }
    assert_int_equal(tsr_cidr_parse("10.0.0.0/8\0", 11, &c), TSR_CIDR_PREFIX);
    assert_int_equal(parse("10.0.0.0/0", &c), TSR_CIDR_HOST_BITS);
    assert_int_equal(parse("0.0.0.0/0", &c), TSR_CIDR_OK);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(parse("::/128", &c), TSR_CIDR_OK);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(parse("10.0.0.0/32", &c), TSR_CIDR_OK);
    assert_int_equal(c.prefix, 32);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0/8",
        "10.0.0.0.0/8",
        "localhost/8",
        "[2001:db8::]/32",
        "2001:db8::%eth0/32",
        "fe80::1%eth0",
        " 10.0.0.0/8",
        "10.0.0.0 /8",
        "10.0.0.256/32",
        "010.0.0.0/8",
        "10.0.0.0-10.0.0.255",
        "*",
        "any",
        "0000:0000:0000:0000:0000:0000:0000:0000:0000/32",
    };
    static const uint8_t zero[sizeof(struct tsr_cidr)] = {0};
    struct tsr_cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum tsr_cidr_error e;

        memset(&c, 0xaa, sizeof(c));
        e = parse(bad[i], &c);
        if (e != TSR_CIDR_MALFORMED)
            fail_msg("'%s': got %d, want TSR_CIDR_MALFORMED", bad[i], (int)e);
        assert_memory_equal(&c, zero, sizeof(c));
    }
    assert_int_equal(tsr_cidr_parse("10.0\0.0.0/8", 11, &c), TSR_CIDR_MALFORMED);
    assert_int_equal(tsr_cidr_parse("2001:db8::\0/32", 14, &c), TSR_CIDR_MALFORMED);
    assert_int_equal(tsr_cidr_parse(NULL, 0, &c), TSR_CIDR_MALFORMED);
    /* Only len bytes count: what follows is not read. */
    assert_int_equal(tsr_cidr_parse("10.0.0.0/8junk", 10, &c), TSR_CIDR_OK);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(tsr_cidr_parse("0.0.0.0/24", 9, &c), TSR_CIDR_OK);
    assert_int_equal(c.prefix, 2);
}

static void test_contains(void **state)
{
    struct tsr_cidr net8 = block("10.0.0.0/8"), v6 = block("2001:db8::/32"),
                    all4 = block("0.0.0.0/0"), all6 = block("::/0"), host = block("192.0.2.7"),
                    odd = block("10.0.0.0/13");
    struct tsr_ip mapped6 = {.family = TSR_IP_V6,
                             .bytes = {[10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1}};

    (void)state;
    {
        struct tsr_ip a = ip("10.0.0.1"), b = ip("10.255.255.255"), c = ip("11.0.0.0"),
                      d = ip("9.255.255.255"), m = ip("::ffff:10.1.2.3");

        assert_true(tsr_cidr_contains(&net8, &a));
        assert_true(tsr_cidr_contains(&net8, &b));
        assert_false(tsr_cidr_contains(&net8, &c));
        assert_false(tsr_cidr_contains(&net8, &d));
        assert_true(tsr_cidr_contains(&net8, &m));
        assert_true(tsr_cidr_contains(&all4, &a));
        assert_true(tsr_cidr_contains(&all4, &m));
    }
    {
        struct tsr_ip a = ip("10.7.255.255"), b = ip("10.8.0.0");

        assert_true(tsr_cidr_contains(&odd, &a));
        assert_false(tsr_cidr_contains(&odd, &b));
    }
    {
        struct tsr_ip a = ip("2001:db8:ffff::1"), b = ip("2001:db9::"), l = ip("::1");

        assert_true(tsr_cidr_contains(&v6, &a));
        assert_false(tsr_cidr_contains(&v6, &b));
        assert_true(tsr_cidr_contains(&all6, &a));
        assert_true(tsr_cidr_contains(&all6, &l));
    }
    {
        /* Never across families: ::/0 holds no IPv4 client, mapped or
         * not, and 0.0.0.0/0 no IPv6 one. */
        struct tsr_ip a4 = ip("192.0.2.7"), m = ip("::ffff:192.0.2.7"), a6 = ip("c000:207::");

        assert_false(tsr_cidr_contains(&all6, &a4));
        assert_false(tsr_cidr_contains(&all6, &m));
        assert_false(tsr_cidr_contains(&all4, &a6));
        assert_true(tsr_cidr_contains(&host, &a4));
        assert_true(tsr_cidr_contains(&host, &m));
        assert_false(tsr_cidr_contains(&host, &a6));
    }
    /* An address made from a socket, still in its mapped IPv6 form. */
    assert_true(tsr_cidr_contains(&net8, &mapped6));
    assert_false(tsr_cidr_contains(&all6, &mapped6));
    {
        /* ::/80 spans ::ffff:0:0/96 in IPv6 arithmetic, but the addresses
         * there are IPv4 clients: no IPv6 block holds them. */
        struct tsr_cidr low = block("::/80");
        struct tsr_ip top = ip("::ffff:255.255.255.255"), below = ip("::fffe:ffff:ffff");

        assert_false(tsr_cidr_contains(&low, &top));
        assert_false(tsr_cidr_contains(&low, &mapped6));
        assert_true(tsr_cidr_contains(&low, &below));
    }
}

static void test_within(void **state)
{
    struct tsr_cidr net8 = block("10.0.0.0/8"), net16 = block("10.1.0.0/16"),
                    other = block("11.0.0.0/16"), h = block("10.1.2.3"), all4 = block("0.0.0.0/0"),
                    all6 = block("::/0"), v6 = block("2001:db8::/32"),
                    v6in = block("2001:db8:1::/48"), mapped = block("::ffff:10.1.0.0/112"),
                    v6same = block("a01::/16");

    (void)state;
    assert_true(tsr_cidr_within(&net16, &net8));
    assert_false(tsr_cidr_within(&net8, &net16));
    assert_true(tsr_cidr_within(&h, &net16));
    assert_true(tsr_cidr_within(&h, &net8));
    assert_false(tsr_cidr_within(&other, &net8));
    assert_true(tsr_cidr_within(&net8, &net8));
    assert_true(tsr_cidr_within(&all4, &all4));
    assert_true(tsr_cidr_within(&net8, &all4));
    assert_false(tsr_cidr_within(&all4, &net8));
    assert_true(tsr_cidr_within(&v6in, &v6));
    assert_false(tsr_cidr_within(&v6, &v6in));
    assert_true(tsr_cidr_within(&v6, &all6));
    assert_true(tsr_cidr_within(&mapped, &net8));
    assert_true(tsr_cidr_within(&mapped, &net16));
    /* Never across families, not even between the /0s, nor between blocks
     * whose bytes agree. */
    assert_false(tsr_cidr_within(&net8, &all6));
    assert_false(tsr_cidr_within(&all6, &all4));
    assert_false(tsr_cidr_within(&all4, &all6));
    assert_false(tsr_cidr_within(&mapped, &all6));
    assert_false(tsr_cidr_within(&v6same, &net8));
    assert_false(tsr_cidr_within(&net16, &v6same));
}

static void test_equal(void **state)
{
    struct tsr_cidr a = block("10.0.0.0/8"), b = block("::ffff:10.0.0.0/104"),
                    c = block("10.0.0.0/9"), d = block("a00::/8"), e = block("2001:DB8::/32"),
                    f = block("2001:db8:0::/32");

    (void)state;
    assert_true(tsr_cidr_equal(&a, &b));
    assert_false(tsr_cidr_equal(&a, &c));
    assert_false(tsr_cidr_equal(&a, &d));
    assert_true(tsr_cidr_equal(&e, &f));
    assert_false(tsr_cidr_equal(&e, &a));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse),       cmocka_unit_test(test_ip_refused),
        cmocka_unit_test(test_canonical_text), cmocka_unit_test(test_mapped_blocks),
        cmocka_unit_test(test_host_bits),      cmocka_unit_test(test_prefix_syntax),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_contains),
        cmocka_unit_test(test_within),         cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
