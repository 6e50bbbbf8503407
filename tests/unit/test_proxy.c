/* test_proxy.c - trusted proxies: the --trusted-proxy list and X-Forwarded-For */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "http/proxy.h"

static struct tsr_proxies parsed(const char *list)
{
    struct tsr_proxies p;
    char err[256] = "";

    if (tsr__proxies_parse(list, &p, err, sizeof(err)) != TSR_OK)
        fail_msg("'%s' refused: %s", list, err);
    return p;
}

static void refused(const char *list, const char *want)
{
    struct tsr_proxies p;
    char err[256] = "";

    assert_int_equal(tsr__proxies_parse(list, &p, err, sizeof(err)), TSR_ERR_INVALID);
    assert_string_equal(err, want);
}

static void test_parse_list(void **state)
{
    struct tsr_proxies p;

    (void)state;
    p = parsed("127.0.0.1");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.nets[0].bits, 128);
    p = parsed(" 10.0.0.0/8 ,\t::1, 2001:db8::/32,192.0.2.1/32");
    assert_int_equal(p.n, 4);
    assert_int_equal(p.nets[0].bits, 96 + 8);
    assert_int_equal(p.nets[1].bits, 128);
    assert_int_equal(p.nets[2].bits, 32);
    assert_int_equal(p.nets[3].bits, 128);
    p = parsed("0.0.0.0/0");
    assert_int_equal(p.nets[0].bits, 96);

    refused("", "'' is not an IP address or ADDR/BITS");
    refused("127.0.0.1,", "'' is not an IP address or ADDR/BITS");
    refused("localhost", "'localhost' is not an IP address or ADDR/BITS");
    refused("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or ADDR/BITS");
    refused("::/129", "'::/129' is not an IP address or ADDR/BITS");
    refused("10.0.0.0/", "'10.0.0.0/' is not an IP address or ADDR/BITS");
    refused("10.0.0.0/-1", "'10.0.0.0/-1' is not an IP address or ADDR/BITS");
    refused("10.0.0.0/ 8", "'10.0.0.0/ 8' is not an IP address or ADDR/BITS");
    refused("10.0.0.0/0008", "'10.0.0.0/0008' is not an IP address or ADDR/BITS");
    refused("[::1]", "'[::1]' is not an IP address or ADDR/BITS");
    refused("1.2.3.4:80", "'1.2.3.4:80' is not an IP address or ADDR/BITS");
    refused("fe80::1%eth0", "'fe80::1%eth0' is not an IP address or ADDR/BITS");
}

static void test_too_many(void **state)
{
    char *list = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&list, &size);
    struct tsr_proxies p;
    char err[256];

    (void)state;
    assert_non_null(f);
    for (int i = 0; i < TSR_PROXIES_MAX; i++)
        fprintf(f, "%s10.0.0.%d", i ? "," : "", i);
    fflush(f);
    p = parsed(list);
    assert_int_equal(p.n, TSR_PROXIES_MAX);
    fputs(",10.0.1.1", f);
    fclose(f);
    assert_int_equal(tsr__proxies_parse(list, &p, err, sizeof(err)), TSR_ERR_INVALID);
    assert_string_equal(err, "at most 64 trusted proxies");
    free(list);
}

static bool trust_v4(const struct tsr_proxies *p, const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};

    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return tsr__proxies_trust_peer(p, (const struct sockaddr *)&sa);
}

static bool trust_v6(const struct tsr_proxies *p, const char *ip)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};

    assert_int_equal(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
    return tsr__proxies_trust_peer(p, (const struct sockaddr *)&sa);
}

static void test_trust_peer(void **state)
{
    struct tsr_proxies p = parsed("10.1.0.0/17, 192.0.2.7, 2001:db8:ab00::/40");
    struct tsr_proxies none = {.n = 0};

    (void)state;
    assert_true(trust_v4(&p, "10.1.0.1"));
    assert_true(trust_v4(&p, "10.1.127.255"));
    assert_false(trust_v4(&p, "10.1.128.0"));
    assert_false(trust_v4(&p, "10.0.255.255"));
    assert_true(trust_v4(&p, "192.0.2.7"));
    assert_false(trust_v4(&p, "192.0.2.8"));
    /* An IPv4 peer of a dual-stack socket. */
    assert_true(trust_v6(&p, "::ffff:192.0.2.7"));
    assert_false(trust_v6(&p, "::192.0.2.7"));
    assert_true(trust_v6(&p, "2001:db8:abff::1"));
    assert_false(trust_v6(&p, "2001:db8:ac00::1"));
    assert_false(trust_v4(&none, "10.1.0.1"));
    assert_false(tsr__proxies_trust_peer(&p, NULL));
    p = parsed("0.0.0.0/0");
    assert_true(trust_v4(&p, "203.0.113.1"));
    assert_false(trust_v6(&p, "2001:db8::1"));
}

/* The client of the values (NULL-ended); "" when the peer is to be kept. */
static const char *client(const struct tsr_proxies *p, const char *v0, const char *v1)
{
    static char out[TSR_ADDR_MAX + 1];
    const char *values[2] = {v0, v1};

    snprintf(out, sizeof(out), "%s", "unchanged");
    if (!tsr__forwarded_client(p, values, v1 ? 2 : v0 ? 1 : 0, out)) {
        assert_string_equal(out, "unchanged");
        return "";
    }
    return out;
}

static void test_forwarded_client(void **state)
{
    struct tsr_proxies p = parsed("127.0.0.1,10.0.0.0/8,::1");

    (void)state;
    assert_string_equal(client(&p, "203.0.113.7", NULL), "203.0.113.7");
    assert_string_equal(client(&p, "1.1.1.1, 203.0.113.7", NULL), "203.0.113.7");
    assert_string_equal(client(&p, "203.0.113.7, 10.2.3.4,127.0.0.1", NULL), "203.0.113.7");
    assert_string_equal(client(&p, "\t203.0.113.7 ,\t10.2.3.4 ", NULL), "203.0.113.7");
    /* Every entry a proxy: the leftmost. */
    assert_string_equal(client(&p, "10.9.9.9, 127.0.0.1", NULL), "10.9.9.9");
    /* Two headers, in order. */
    assert_string_equal(client(&p, "1.1.1.1", "203.0.113.7"), "203.0.113.7");
    assert_string_equal(client(&p, "203.0.113.7", "10.0.0.1"), "203.0.113.7");
    /* Junk left of the client is never read. */
    assert_string_equal(client(&p, "unknown, 203.0.113.7", NULL), "203.0.113.7");
    assert_string_equal(client(&p, "garbage", "203.0.113.7"), "203.0.113.7");
    /* Canonical text. */
    assert_string_equal(client(&p, "2001:DB8:0:0::7", NULL), "2001:db8::7");
    assert_string_equal(client(&p, "::FFFF:203.0.113.7", NULL), "::ffff:203.0.113.7");
    /* Junk on the way, or nothing: keep the peer. */
    assert_string_equal(client(&p, NULL, NULL), "");
    assert_string_equal(client(&p, "", NULL), "");
    assert_string_equal(client(&p, " ", NULL), "");
    assert_string_equal(client(&p, "203.0.113.7,", NULL), "");
    assert_string_equal(client(&p, "203.0.113.7, unknown", NULL), "");
    assert_string_equal(client(&p, "203.0.113.7:80", NULL), "");
    assert_string_equal(client(&p, "[2001:db8::7]", NULL), "");
    assert_string_equal(client(&p, "203.0.113.7", "junk"), "");
    assert_string_equal(client(&p, "203.0.113.7", ""), "");
    assert_string_equal(client(&p, "1111:2222:3333:4444:5555:6666:255.255.255.255x", NULL), "");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_trust_peer),
        cmocka_unit_test(test_forwarded_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
