/* test_ipset.c - unit tests for core/ipset.c: it answers as the blocks one by one do */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/cidr.h"
#include "core/ipset.h"

static struct tsr_ip ip(const char *s)
{
    struct tsr_ip a;

    if (!tsr_ip_parse(s, strlen(s), &a))
        fail_msg("'%s' is not an address", s);
    return a;
}

/* A set of the blocks in the space-separated text; nets gets them. */
static void build(struct tsr_ipset *set, const char *text, struct tsr_cidr *nets, size_t *n,
                  struct tsr_ip_range *storage)
{
    char copy[4096], *save = NULL;

    snprintf(copy, sizeof(copy), "%s", text);
    *n = 0;
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (tsr_cidr_parse(w, strlen(w), &nets[*n]) != TSR_CIDR_OK)
            fail_msg("'%s' refused", w);
        (*n)++;
    }
    tsr_ipset_init(set, nets, *n, storage);
}

static bool linear(const struct tsr_cidr *nets, size_t n, const struct tsr_ip *a)
{
    for (size_t i = 0; i < n; i++)
        if (tsr_cidr_contains(&nets[i], a))
            return true;
    return false;
}

static bool has(const char *list, const char *addr)
{
    struct tsr_cidr nets[64];
    struct tsr_ip_range storage[64];
    struct tsr_ipset set;
    struct tsr_ip a = ip(addr);
    size_t n;

    build(&set, list, nets, &n, storage);
    assert_int_equal(tsr_ipset_contains(&set, &a), linear(nets, n, &a));
    return tsr_ipset_contains(&set, &a);
}

static void test_empty(void **state)
{
    struct tsr_ipset set;
    struct tsr_ip a = ip("192.0.2.1");

    (void)state;
    tsr_ipset_init(&set, NULL, 0, NULL);
    assert_false(tsr_ipset_contains(&set, &a));
}

static void test_edges(void **state)
{
    (void)state;
    assert_true(has("192.0.2.0/24", "192.0.2.0"));
    assert_true(has("192.0.2.0/24", "192.0.2.255"));
    assert_false(has("192.0.2.0/24", "192.0.3.0"));
    assert_false(has("192.0.2.0/24", "192.0.1.255"));
    assert_true(has("0.0.0.0/0", "255.255.255.255"));
    assert_true(has("255.255.255.255/32", "255.255.255.255"));
    assert_false(has("255.255.255.254/32", "255.255.255.255"));
    assert_true(has("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_true(has("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff"));
    assert_false(has("2001:db8::/64", "2001:db8:0:1::"));
    assert_true(has("2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff"));
    assert_false(has("2001:db8::/65", "2001:db8::8000:0:0:0"));
    assert_true(has("2001:db8::1/128", "2001:db8::1"));
    assert_false(has("2001:db8::1/128", "2001:db8::2"));
}

static void test_families(void **state)
{
    (void)state;
    /* A mapped address is its IPv4 address, and an IPv6 block never holds it. */
    assert_true(has("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(has("::ffff:10.0.0.0/104", "10.1.2.3"));
    assert_false(has("::/0", "::ffff:10.1.2.3"));
    assert_false(has("0.0.0.0/0", "2001:db8::1"));
    assert_false(has("::/0", "10.1.2.3"));
    /* The IPv4 number 0.0.0.1 and the IPv6 address ::1 are not the same. */
    assert_false(has("0.0.0.1/32", "::1"));
    assert_false(has("::1/128", "0.0.0.1"));
}

static void test_nested_and_unsorted(void **state)
{
    static const char list[] = "11.0.0.0/8 10.1.0.0/16 10.0.0.0/8 10.2.3.0/24 2001:db8:5::/48 "
                               "2001:db8::/32 2001:db9::/32 9.255.255.255/32";

    (void)state;
    assert_true(has(list, "10.200.0.1"));
    assert_true(has(list, "10.1.2.3"));
    assert_true(has(list, "11.255.255.255"));
    assert_true(has(list, "9.255.255.255"));
    assert_false(has(list, "12.0.0.0"));
    assert_false(has(list, "9.255.255.254"));
    assert_true(has(list, "2001:db8:ffff::1"));
    assert_true(has(list, "2001:db9::1"));
    assert_false(has(list, "2001:dba::"));
}

/* A block of random bits near one of a few bases, so that blocks nest,
 * overlap and touch, and a random prefix. */
static void random_block(struct tsr_cidr *c, uint8_t family, const uint8_t *noise)
{
    unsigned max = family == TSR_IP_V4 ? 32 : 128, n = family == TSR_IP_V4 ? 4 : 16;
    unsigned prefix = noise[0] % (max + 1);
    char text[TSR_CIDR_TEXT_MAX + 1];

    memset(c, 0, sizeof(*c));
    c->ip.family = family;
    c->ip.bytes[0] = (uint8_t)(noise[1] & 3);
    memcpy(c->ip.bytes + 1, noise + 2, n - 1);
    for (unsigned b = prefix; b < n * 8; b++)
        c->ip.bytes[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
    c->prefix = (uint8_t)prefix;
    /* It must be a block the parser makes, as the canonical text shows. */
    tsr_cidr_text(c, text);
    assert_int_equal(tsr_cidr_parse(text, strlen(text), c), TSR_CIDR_OK);
}

static void random_ip(struct tsr_ip *a, uint8_t family, const uint8_t *noise)
{
    memset(a, 0, sizeof(*a));
    a->family = family;
    a->bytes[0] = (uint8_t)(noise[0] & 3);
    memcpy(a->bytes + 1, noise + 1, family == TSR_IP_V4 ? 3 : 15);
}

static void test_same_as_one_by_one(void **state)
{
    unsigned char seed[randombytes_SEEDBYTES] = {"tessera ipset"};
    static uint8_t noise[200 * (TSR_ALLOWED_IPS_MAX * 20 + 400 * 17)];

    (void)state;
    randombytes_buf_deterministic(noise, sizeof(noise), seed);
    const uint8_t *at = noise;
    size_t held = 0, checked = 0;

    for (int round = 0; round < 200; round++) {
        struct tsr_cidr nets[TSR_ALLOWED_IPS_MAX];
        struct tsr_ip_range storage[TSR_ALLOWED_IPS_MAX];
        struct tsr_ipset set;
        size_t n = 1 + at[0] % TSR_ALLOWED_IPS_MAX;

        at++;
        for (size_t i = 0; i < n; i++, at += 19)
            random_block(&nets[i], (at[18] & 1) ? TSR_IP_V6 : TSR_IP_V4, at);
        tsr_ipset_init(&set, nets, n, storage);
        for (int j = 0; j < 400; j++, at += 17) {
            struct tsr_ip a;

            random_ip(&a, (at[16] & 1) ? TSR_IP_V6 : TSR_IP_V4, at);
            bool in = linear(nets, n, &a);

            assert_int_equal(tsr_ipset_contains(&set, &a), in);
            held += in;
            checked++;
        }
        /* And each block's own first address, which one of them holds. */
        for (size_t i = 0; i < n; i++)
            assert_true(tsr_ipset_contains(&set, &nets[i].ip));
    }
    /* Both answers came up often, or the comparison showed little. */
    assert_true(held > checked / 10 && held < checked - checked / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_nested_and_unsorted),
        cmocka_unit_test(test_same_as_one_by_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
