/* test_api_proxy.c - end to end: --trusted-proxy and the client address of X-Forwarded-For
 *
 * The test's libcurl plays the proxy: it connects from 127.0.0.1 and writes
 * X-Forwarded-For as nginx's $proxy_add_x_forwarded_for would.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT  "203.0.113.7"   /* the client that fails to log in */
#define OTHER   "198.51.100.23" /* another client, who logs in fine */
#define SPOOFED "198.51.100.99" /* what a client writes itself, left of the rest */

static struct tsr_h_server *proxied; /* --trusted-proxy 127.0.0.1 */

static int setup(void **state)
{
    static const char *const args[] = {
        "--trusted-proxy", "127.0.0.1", "--login-max-failures", "3", "--login-window", "600", NULL};
    struct tsr_h_opts o = {.args = args};

    (void)state;
    proxied = tsr_h_start(&o);
    return 0;
}

/* POST /v4/tokens as admin with password, sending the header lines h1, h2
 * (NULL: none); the status. */
static long login(struct tsr_h_server *srv, const char *password, const char *h1, const char *h2)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = "/v4/tokens",
                            .auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, password),
                            .headers = {h1, h2, NULL}};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);

    if (r->status == 429)
        tsr_h_assert_error(r, 429, "rate_limited", TSR_H_SRC_NONE, NULL);
    return r->status;
}

#define XFF(list) "X-Forwarded-For: " list

/* Three failures from CLIENT behind the proxy limit CLIENT, and only it. */
static void test_rate_limit_per_forwarded_client(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(login(proxied, "wrong-password", XFF(CLIENT), NULL), 401);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(CLIENT), NULL), 429);
    /* Another client behind the same proxy, and the proxy itself, get in. */
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(OTHER), NULL), 201);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, NULL, NULL), 201);
    /* Only the right end counts: what the client wrote to the left of the
     * address the proxy saw changes nothing... */
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(SPOOFED ", " CLIENT), NULL), 429);
    /* ...and trusted proxies on the way are skipped, spaces or not. */
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(CLIENT ",127.0.0.1"), NULL), 429);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(" " CLIENT " , 127.0.0.1 "), NULL),
                     429);
    /* Two headers are one list, in order. */
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(SPOOFED), XFF(CLIENT)), 429);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF(CLIENT), XFF(OTHER)), 201);
}

/* An entry that is not a bare IP address on the way: the peer's address is
 * used (the proxy's, not limited here). */
static void test_junk_falls_back_to_peer(void **state)
{
    static const char *const junk[] = {
        XFF(CLIENT ":4711"), XFF("[" CLIENT "]"),  XFF("unknown"),       XFF(CLIENT ",,"), XFF(","),
        XFF(CLIENT "/32"),   XFF("203.0.113.777"), XFF("203.0.113.7 x"),
    };

    (void)state;
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        print_message("%s\n", junk[i]);
        assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, junk[i], NULL), 201);
    }
    /* Junk left of the client is never read. */
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF("unknown, " CLIENT), NULL), 429);
}

/* IPv6 clients, compared in one spelling, counted per /64: another host of
 * the /64 is the same client, the next /64 another. */
static void test_ipv6_client(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(login(proxied, "wrong-password", XFF("2001:db8::7"), NULL), 401);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF("2001:DB8:0:0::7"), NULL), 429);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF("2001:db8::8"), NULL), 429);
    assert_int_equal(login(proxied, TSR_H_ADMIN_PASSWORD, XFF("2001:db8:0:1::8"), NULL), 201);
}

/* Whether the admin's audit log on srv has a record of action and outcome
 * from remote. */
static bool audited(struct tsr_h_server *srv, const char *action, const char *outcome,
                    const char *remote)
{
    char session[TSR_H_SECRET_LEN + 1];
    struct tsr_h_resp *r;
    json_t *results, *item;
    size_t i;

    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    r = tsr_h_get(srv, "/v4/iam/activity?page_size=100", session);
    tsr_h_assert_status(r, 200);
    results = tsr_h_jarr(r->json, "results");
    json_array_foreach(results, i, item)
    {
        json_t *addr = json_object_get(item, "remote_addr");

        if (strcmp(tsr_h_jstr(item, "action"), action) == 0 &&
            strcmp(tsr_h_jstr(item, "outcome"), outcome) == 0 && json_is_string(addr) &&
            strcmp(json_string_value(addr), remote) == 0)
            return true;
    }
    return false;
}

/* The audit log holds the forwarded addresses, not the proxy's or what the
 * client made up. */
static void test_audit_log(void **state)
{
    (void)state;
    assert_true(audited(proxied, "login", "failure", CLIENT));
    assert_true(audited(proxied, "login", "success", OTHER));
    assert_true(audited(proxied, "login", "failure", "2001:db8::7"));
    assert_false(audited(proxied, "login", "success", SPOOFED));
    assert_false(audited(proxied, "login", "failure", SPOOFED));
}

/* GET /v4/auth/verify sees the forwarded address too: the address its
 * service call is given is the one a use is noted with, and the one a
 * refusal is audited with (written in batches, and when the server stops);
 * the audit record is what the API shows. */
static void test_verify_address(void **state)
{
    char session[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct tsr_h_req verify = {.path = "/v4/auth/verify", .headers = {XFF("192.0.2.44"), NULL}};

    (void)state;
    tsr_h_login(proxied, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(proxied, session, "behind a proxy", NULL, &t);
    verify.secret = t.secret;
    tsr_h_assert_status(tsr_h_req(proxied, &verify), 204);
    tsr_h_assert_status(
        tsr_h_send(proxied, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session, NULL),
        204);
    tsr_h_assert_status(tsr_h_req(proxied, &verify), 401);
    tsr_h_restart(proxied);
    assert_true(audited(proxied, "auth", "failure", "192.0.2.44"));
}

/* Without --trusted-proxy, or when the peer is not one of them, the header
 * is ignored: every client behind it is the peer. */
static void test_untrusted_header_ignored(void **state)
{
    static const char *const other_proxy[] = {"--trusted-proxy", "192.0.2.0/24, ::1",
                                              "--login-max-failures", "3", NULL};
    static const char *const none[] = {"--login-max-failures", "3", NULL};
    const char *const *args[] = {none, other_proxy};

    (void)state;
    for (int k = 0; k < 2; k++) {
        struct tsr_h_opts o = {.args = args[k]};
        struct tsr_h_server *srv = tsr_h_start(&o);

        for (int i = 0; i < 3; i++)
            assert_int_equal(login(srv, "wrong-password", XFF(CLIENT), NULL), 401);
        assert_int_equal(login(srv, TSR_H_ADMIN_PASSWORD, XFF(OTHER), NULL), 429);
        assert_int_equal(login(srv, TSR_H_ADMIN_PASSWORD, NULL, NULL), 429);
        /* Its audit log has the peer. Reading it takes a log-in, which a
         * restart lets through: the rate limit lives in memory. */
        tsr_h_restart(srv);
        assert_false(audited(srv, "login", "failure", CLIENT));
        assert_true(audited(srv, "login", "failure", "127.0.0.1"));
        tsr_h_stop(srv);
    }
}

/* TESSERA_TRUSTED_PROXY does what the flag does; a CIDR block matches. */
static void test_environment_and_cidr(void **state)
{
    static const char *const env[] = {"TESSERA_TRUSTED_PROXY=10.0.0.1, 127.0.0.0/8", NULL};
    struct tsr_h_opts o = {.env = env};
    struct tsr_h_server *srv = tsr_h_start(&o);

    (void)state;
    assert_int_equal(login(srv, "wrong-password", XFF("203.0.113.9"), NULL), 401);
    assert_true(audited(srv, "login", "failure", "203.0.113.9"));
    tsr_h_stop(srv);
}

/* A list that is not addresses is a usage error, before anything opens. */
static void test_bad_list(void **state)
{
    static const char *const bad[] = {"",        "127.0.0.1,", "localhost",   "10.0.0.0/33",
                                      "::1/129", "10.0.0.1/",  "10.0.0.1/8x", "1.2.3.4:80"};
    const char *db = tsr_h_fmt("%s/refused.db", proxied->dir);

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tsr_h_cmd *c = tsr_h_cmd(proxied, NULL, "serve", "--listen", "127.0.0.1:0", "--db",
                                        db, "--trusted-proxy", bad[i], NULL);

        print_message("'%s': %s", bad[i], c->err);
        assert_int_equal(c->status, 2);
        assert_int_equal(strncmp(c->err, "tesserad: --trusted-proxy: ", 27), 0);
        assert_ptr_equal(strchr(c->err, '\n'), c->err + strlen(c->err) - 1);
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit_per_forwarded_client),
        cmocka_unit_test(test_junk_falls_back_to_peer),
        cmocka_unit_test(test_ipv6_client),
        cmocka_unit_test(test_audit_log),
        cmocka_unit_test(test_verify_address),
        cmocka_unit_test(test_untrusted_header_ignored),
        cmocka_unit_test(test_environment_and_cidr),
        cmocka_unit_test(test_bad_list),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
