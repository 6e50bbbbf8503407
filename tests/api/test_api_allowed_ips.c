/* test_api_allowed_ips.c - end to end: where a token may be used from, and from when
 *
 * allowed_ips against the peer's address and, behind a trusted proxy, the
 * address of X-Forwarded-For (the test's libcurl plays both the proxy and
 * an attacker writing that header itself); not_before; last_used_ip.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKENS "/v4/iam/personal_tokens"
#define VERIFY "/v4/auth/verify"

#define XFF(list) "X-Forwarded-For: " list

static struct tsr_h_server *srv;     /* no trusted proxy: the peer is the client */
static struct tsr_h_server *proxied; /* --trusted-proxy 127.0.0.1 */
static char session[TSR_H_SECRET_LEN + 1];
static char psession[TSR_H_SECRET_LEN + 1]; /* on proxied */

struct tok {
    char id[TSR_H_UUID_LEN + 1];
    char secret[TSR_H_SECRET_LEN + 1];
    json_t *data;
};

static int setup(void **state)
{
    static const char *const args[] = {"--trusted-proxy", "127.0.0.1", NULL};
    struct tsr_h_opts o = {.args = args};

    (void)state;
    srv = tsr_h_start(NULL);
    proxied = tsr_h_start(&o);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_login(proxied, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, psession);
    return 0;
}

/* ---- helpers ---- */

static char *dump(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *o = tsr_h_fmt("%s", s ? s : "(null)");
    free(s);
    return o;
}

static const char *token_path(const char *id)
{
    return tsr_h_fmt(TOKENS "/%s", id);
}

/* POST a create on s for auth: a name, expires_at at exp, and the JSON
 * members extra (NULL: none). */
static struct tsr_h_resp *create_at(struct tsr_h_server *s, const char *auth, int64_t exp,
                                    const char *extra)
{
    const char *body = tsr_h_fmt("{\"name\":\"where\",\"expires_at\":\"%s\"%s%s}", tsr_h_time(exp),
                                 extra ? "," : "", extra ? extra : "");
    return tsr_h_send(s, "POST", TOKENS, auth, body);
}

/* The same, expiring 10 days from now. */
static struct tsr_h_resp *create_raw(struct tsr_h_server *s, const char *auth, const char *extra)
{
    return create_at(s, auth, tsr_h_now() + 10 * TSR_H_DAY, extra);
}

/* Creates a token on s for auth (must be 201) expiring at exp with the JSON
 * members extra. */
static void make_at(struct tsr_h_server *s, const char *auth, int64_t exp, const char *extra,
                    struct tok *out)
{
    struct tsr_h_resp *r = create_at(s, auth, exp, extra);
    json_t *d;

    tsr_h_assert_status(r, 201);
    d = tsr_h_jobj(r->json, "data");
    tsr_h_jarr(d, "scopes");
    tsr_h_jarr(d, "allowed_ips");
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(d, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(d, "key"));
    out->data = d;
}

static void make(struct tsr_h_server *s, const char *auth, const char *extra, struct tok *out)
{
    make_at(s, auth, tsr_h_now() + 10 * TSR_H_DAY, extra, out);
}

/* Creates a token on s limited to ips (a JSON array's text). */
static void limited(struct tsr_h_server *s, const char *auth, const char *ips, struct tok *out)
{
    make(s, auth, tsr_h_fmt("\"allowed_ips\":%s", ips), out);
}

static json_t *read_back(struct tsr_h_server *s, const char *auth, const char *id)
{
    struct tsr_h_resp *r = tsr_h_get(s, token_path(id), auth);

    tsr_h_assert_status(r, 200);
    return tsr_h_jobj(r->json, "data");
}

static long count_tokens(struct tsr_h_server *s, const char *auth)
{
    struct tsr_h_resp *r = tsr_h_get(s, TOKENS "?page_size=1", auth);

    tsr_h_assert_status(r, 200);
    return (long)tsr_h_jint(r->json, "count");
}

/* GET path on s with the token secret and up to one more header line. */
static struct tsr_h_resp *get_from(struct tsr_h_server *s, const char *path, const char *secret,
                                   const char *header)
{
    struct tsr_h_req req = {.path = path, .secret = secret, .headers = {header, NULL}};
    return tsr_h_req(s, &req);
}

static void assert_not_allowed(const struct tsr_h_resp *r)
{
    tsr_h_assert_error(r, 403, "address_not_allowed", TSR_H_SRC_NONE, NULL);
}

/* Verify and the API, from behind header (NULL: none): both allowed, or
 * both 403 address_not_allowed. */
static void assert_usable(struct tsr_h_server *s, const struct tok *t, const char *header,
                          bool usable)
{
    struct tsr_h_resp *v = get_from(s, VERIFY, t->secret, header);
    struct tsr_h_resp *l = get_from(s, TOKENS, t->secret, header);

    print_message("%s from %s: want %s\n", dump(tsr_h_jarr(t->data, "allowed_ips")),
                  header ? header : "the peer", usable ? "allowed" : "403");
    if (usable) {
        tsr_h_assert_status(v, 204);
        tsr_h_assert_status(l, 200);
    } else {
        assert_not_allowed(v);
        assert_not_allowed(l);
    }
}

/* An error of status and code whose source is a pointer at or under pointer. */
static void assert_error_under(const struct tsr_h_resp *r, long status, const char *code,
                               const char *pointer)
{
    json_t *e;
    const char *p;
    size_t n = strlen(pointer);

    tsr_h_assert_status(r, status);
    assert_non_null(r->json);
    e = json_array_get(tsr_h_jarr(r->json, "errors"), 0);
    assert_string_equal(tsr_h_jstr(e, "code"), code);
    p = tsr_h_jstr(tsr_h_jobj(e, "source"), "pointer");
    if (strncmp(p, pointer, n) != 0 || (p[n] != '\0' && p[n] != '/')) {
        fail_msg("pointer %s is not at or under %s: %s", p, pointer, r->body);
    }
}

/* n distinct /24 blocks of 10.0.0.0/8, the last one replaced by last (NULL: not). */
static const char *blocks(int n, const char *last)
{
    char *out = tsr_h_fmt("%s", "[");

    for (int i = 0; i < n; i++) {
        const char *b = i == n - 1 && last ? last : tsr_h_fmt("10.0.%d.0/24", i);
        out = tsr_h_fmt("%s%s\"%s\"", out, i ? "," : "", b);
    }
    return tsr_h_fmt("%s]", out);
}

/* ---- what an allowed_ips member may be ---- */

static void test_validation(void **state)
{
    static const struct {
        const char *in, *want;
    } good[] = {
        {"[\"10.1.2.3\"]", "[\"10.1.2.3/32\"]"},
        {"[\"2001:DB8::/32\"]", "[\"2001:db8::/32\"]"},
        {"[\"10.0.0.0/8\",\"192.0.2.7\",\"::1\",\"2001:db8:0:0::/48\",\"0.0.0.0/0\",\"::/0\"]",
         "[\"10.0.0.0/8\",\"192.0.2.7/32\",\"::1/128\",\"2001:db8::/48\",\"0.0.0.0/0\",\"::/0\"]"},
        /* In the order given; blocks that overlap are not duplicates. */
        {"[\"198.51.100.0/24\",\"10.1.0.0/16\",\"10.0.0.0/8\"]",
         "[\"198.51.100.0/24\",\"10.1.0.0/16\",\"10.0.0.0/8\"]"},
        {"[\"192.0.2.128/25\",\"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\"]",
         "[\"192.0.2.128/25\",\"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128\"]"},
        {"[]", "[]"},
    };
    static const struct {
        const char *in, *pointer;
    } bad[] = {
        /* Host bits set. */
        {"[\"10.0.0.0/8\",\"10.1.2.3/8\"]", "/allowed_ips/1"},
        {"[\"192.0.2.1/24\"]", "/allowed_ips/0"},
        {"[\"2001:db8::1/32\"]", "/allowed_ips/0"},
        {"[\"::1/0\"]", "/allowed_ips/0"},
        /* Not an address or a block. */
        {"[\"\"]", "/allowed_ips/0"},
        {"[\"10.0.0.0/33\"]", "/allowed_ips/0"},
        {"[\"::1/129\"]", "/allowed_ips/0"},
        {"[\"10.0.0.1/\"]", "/allowed_ips/0"},
        {"[\"10.0.0.1/8x\"]", "/allowed_ips/0"},
        {"[\"10.0.0.0/08\"]", "/allowed_ips/0"},
        {"[\"10.0.0.0/-8\"]", "/allowed_ips/0"},
        {"[\"10.0.0.0/+8\"]", "/allowed_ips/0"},
        {"[\"localhost\"]", "/allowed_ips/0"},
        {"[\" 10.0.0.1\"]", "/allowed_ips/0"},
        {"[\"10.0.0.1 \"]", "/allowed_ips/0"},
        {"[\"10.0.0.1:80\"]", "/allowed_ips/0"},
        {"[\"[::1]\"]", "/allowed_ips/0"},
        {"[\"fe80::1%eth0\"]", "/allowed_ips/0"},
        {"[\"256.1.1.1\"]", "/allowed_ips/0"},
        {"[\"10.1\"]", "/allowed_ips/0"},
        {"[\"10.0.0.0/8\",\"junk\"]", "/allowed_ips/1"},
        {"[5]", "/allowed_ips/0"},
        {"[null]", "/allowed_ips/0"},
        {"[[\"10.0.0.1\"]]", "/allowed_ips/0"},
        /* Duplicates: the second is refused, whatever its spelling. */
        {"[\"10.0.0.0/8\",\"10.0.0.0/8\"]", "/allowed_ips/1"},
        {"[\"10.1.2.3\",\"192.0.2.0/24\",\"10.1.2.3/32\"]", "/allowed_ips/2"},
        {"[\"2001:db8::/32\",\"2001:DB8:0::/32\"]", "/allowed_ips/1"},
        /* Not a list. */
        {"\"10.0.0.0/8\"", "/allowed_ips"},
        {"null", "/allowed_ips"},
        {"{}", "/allowed_ips"},
    };
    struct tok t;
    struct tsr_h_resp *r;
    long before;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        print_message("allowed_ips %s\n", good[i].in);
        limited(srv, session, good[i].in, &t);
        assert_string_equal(dump(tsr_h_jarr(t.data, "allowed_ips")), good[i].want);
        assert_string_equal(dump(tsr_h_jarr(read_back(srv, session, t.id), "allowed_ips")),
                            good[i].want);
        r = tsr_h_send(srv, "PATCH", token_path(t.id), session,
                       tsr_h_fmt("{\"allowed_ips\":%s}", good[i].in));
        tsr_h_assert_status(r, 200);
        assert_string_equal(dump(tsr_h_jarr(tsr_h_jobj(r->json, "data"), "allowed_ips")),
                            good[i].want);
    }
    /* The default is anywhere. */
    make(srv, session, NULL, &t);
    assert_string_equal(dump(tsr_h_jarr(t.data, "allowed_ips")), "[]");

    limited(srv, session, "[\"192.0.2.0/24\"]", &t);
    before = count_tokens(srv, session);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("allowed_ips %s\n", bad[i].in);
        tsr_h_assert_error(create_raw(srv, session, tsr_h_fmt("\"allowed_ips\":%s", bad[i].in)),
                           400, "invalid_field", TSR_H_SRC_POINTER, bad[i].pointer);
        tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(t.id), session,
                                      tsr_h_fmt("{\"allowed_ips\":%s}", bad[i].in)),
                           400, "invalid_field", TSR_H_SRC_POINTER, bad[i].pointer);
    }
    /* 50 blocks are fine, 51 too many. */
    tsr_h_assert_error(create_raw(srv, session, tsr_h_fmt("\"allowed_ips\":%s", blocks(51, NULL))),
                       400, "invalid_field", TSR_H_SRC_POINTER, "/allowed_ips");
    tsr_h_assert_error(tsr_h_send(srv, "PATCH", token_path(t.id), session,
                                  tsr_h_fmt("{\"allowed_ips\":%s}", blocks(51, NULL))),
                       400, "invalid_field", TSR_H_SRC_POINTER, "/allowed_ips");
    assert_int_equal(count_tokens(srv, session), before);
    assert_string_equal(dump(tsr_h_jarr(read_back(srv, session, t.id), "allowed_ips")),
                        "[\"192.0.2.0/24\"]");

    struct tok fifty;
    limited(srv, session, blocks(50, "127.0.0.0/8"), &fifty);
    assert_int_equal(json_array_size(tsr_h_jarr(fifty.data, "allowed_ips")), 50);
    assert_usable(srv, &fifty, NULL, true);
    limited(srv, session, blocks(50, NULL), &fifty);
    assert_usable(srv, &fifty, NULL, false);
}

/* ---- without a trusted proxy: the peer ---- */

static void test_peer_address(void **state)
{
    struct tok far, near, anywhere;

    (void)state;
    limited(srv, session, "[\"192.0.2.0/24\"]", &far);
    limited(srv, session, "[\"198.51.100.0/24\",\"127.0.0.0/8\"]", &near);
    make(srv, session, NULL, &anywhere);

    assert_usable(srv, &far, NULL, false);
    assert_usable(srv, &near, NULL, true);
    assert_usable(srv, &anywhere, NULL, true);
    /* Anyone can write X-Forwarded-For: from a peer that is not a trusted
     * proxy it changes nothing. */
    assert_usable(srv, &far, XFF("192.0.2.9"), false);
    assert_usable(srv, &far, XFF("192.0.2.9, 192.0.2.10"), false);
    assert_usable(srv, &near, XFF("198.51.100.7"), true);
    /* HEAD of verify is verify. */
    struct tsr_h_req head = {.method = "HEAD", .path = VERIFY, .secret = far.secret};
    tsr_h_assert_status(tsr_h_req(srv, &head), 403);
    /* A refused use is no revocation: the owner still sees it, as it was. */
    json_t *d = read_back(srv, session, far.id);
    assert_string_equal(tsr_h_jstr(d, "status"), "active");
    assert_string_equal(dump(tsr_h_jarr(d, "allowed_ips")), "[\"192.0.2.0/24\"]");
}

/* A server listening on ::1: its clients' addresses are IPv6. */
static void test_ipv6_peer(void **state)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

    (void)state;
    if (fd >= 0) {
        close(fd);
    }
    if (!have) {
        print_message("SKIPPED: this machine has no IPv6 loopback (::1); the IPv6 peer is not "
                      "tested (IPv6 behind a proxy still is)\n");
        skip();
    }
    struct tsr_h_opts o = {.listen = "[::1]:0"};
    struct tsr_h_server *s6 = tsr_h_start(&o);
    char s6session[TSR_H_SECRET_LEN + 1];
    struct tok lo6, lo4, any6, other6;

    assert_string_equal(tsr_h_strndup(s6->base, 12), "http://[::1]");
    tsr_h_login(s6, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s6session);
    limited(s6, s6session, "[\"::1/128\"]", &lo6);
    limited(s6, s6session, "[\"127.0.0.0/8\"]", &lo4);
    limited(s6, s6session, "[\"192.0.2.0/24\",\"::/0\"]", &any6);
    limited(s6, s6session, "[\"2001:db8::/32\"]", &other6);
    assert_usable(s6, &lo6, NULL, true);
    assert_usable(s6, &any6, NULL, true);
    assert_usable(s6, &lo4, NULL, false);
    assert_usable(s6, &other6, NULL, false);
    assert_usable(s6, &other6, XFF("2001:db8::5"), false);
    tsr_h_stop(s6);
}

/* ---- behind a trusted proxy: X-Forwarded-For ---- */

static void test_forwarded_address(void **state)
{
    struct tok v4, v6, lo, anywhere;

    (void)state;
    limited(proxied, psession, "[\"192.0.2.0/24\"]", &v4);
    limited(proxied, psession, "[\"2001:db8::/32\"]", &v6);
    limited(proxied, psession, "[\"127.0.0.0/8\"]", &lo);
    make(proxied, psession, NULL, &anywhere);

    assert_usable(proxied, &v4, XFF("192.0.2.9"), true);
    assert_usable(proxied, &v4, XFF("198.51.100.1"), false);
    /* The right-most address that is not a trusted proxy is the client: what
     * a client wrote to the left of it counts for nothing. */
    assert_usable(proxied, &v4, XFF("198.51.100.1, 192.0.2.9"), true);
    assert_usable(proxied, &v4, XFF("192.0.2.9, 198.51.100.1"), false);
    assert_usable(proxied, &v4, XFF("192.0.2.9, 127.0.0.1"), true);
    /* An IPv4 client written as an IPv4-mapped IPv6 address is that client. */
    assert_usable(proxied, &v4, XFF("::ffff:192.0.2.9"), true);

    assert_usable(proxied, &v6, XFF("2001:db8::5"), true);
    assert_usable(proxied, &v6, XFF("2001:DB8:0:0:0:0:0:5"), true);
    assert_usable(proxied, &v6, XFF("2001:db9::5"), false);
    assert_usable(proxied, &v6, XFF("192.0.2.9"), false);

    /* The proxy's own address is not the client's. */
    assert_usable(proxied, &lo, XFF("192.0.2.9"), false);

    /* No usable address from the proxy: lists fail closed; a token without
     * a list does not care. */
    assert_usable(proxied, &v4, NULL, false);
    assert_usable(proxied, &v4, XFF("unknown"), false);
    assert_usable(proxied, &lo, NULL, false);
    assert_usable(proxied, &anywhere, NULL, true);
    assert_usable(proxied, &anywhere, XFF("unknown"), true);
    assert_usable(proxied, &anywhere, XFF("198.51.100.1"), true);
}

/* A token that fails both its address list and a scope is told about the
 * address; with the address right, about the scope. */
static void test_address_before_scope(void **state)
{
    const char *extra = "\"scopes\":[\"activity:read\"],\"allowed_ips\":[\"192.0.2.0/24\"]";
    struct tok t, pt;
    struct tsr_h_resp *r;

    (void)state;
    make(srv, session, extra, &t);
    assert_not_allowed(tsr_h_get(srv, TOKENS, t.secret));
    assert_not_allowed(tsr_h_get(srv, VERIFY "?scope=tokens:write", t.secret));
    assert_not_allowed(tsr_h_send(srv, "POST", TOKENS, t.secret, "{\"name\":\"x\"}"));
    assert_not_allowed(tsr_h_get(srv, "/v4/iam/activity", t.secret));

    make(proxied, psession, extra, &pt);
    r = get_from(proxied, TOKENS, pt.secret, XFF("192.0.2.9"));
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    r = get_from(proxied, VERIFY "?scope=tokens:write", pt.secret, XFF("192.0.2.9"));
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_status(get_from(proxied, "/v4/iam/activity", pt.secret, XFF("192.0.2.9")), 200);
    assert_not_allowed(get_from(proxied, TOKENS, pt.secret, XFF("198.51.100.1")));
}

/* A PATCH of allowed_ips is what the very next request sees. */
static void test_patch_takes_effect(void **state)
{
    struct tok t;
    const char *path;

    (void)state;
    limited(srv, session, "[\"192.0.2.0/24\"]", &t);
    path = token_path(t.id);
    assert_usable(srv, &t, NULL, false);
    tsr_h_assert_status(
        tsr_h_send(srv, "PATCH", path, session, "{\"allowed_ips\":[\"127.0.0.1\"]}"), 200);
    assert_usable(srv, &t, NULL, true);
    tsr_h_assert_status(
        tsr_h_send(srv, "PATCH", path, session, "{\"allowed_ips\":[\"192.0.2.0/24\"]}"), 200);
    assert_usable(srv, &t, NULL, false);
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", path, session, "{\"allowed_ips\":[]}"), 200);
    assert_usable(srv, &t, NULL, true);
}

/* ---- no escalation ---- */

/* A personal token with a list gives only blocks inside it; a session is
 * not bound so. */
static void test_escalation(void **state)
{
    static const char *const refused[] = {
        "[]",
        "[\"192.0.2.0/24\"]",
        "[\"126.0.0.0/7\"]", /* holds 127.0.0.0/8 and more */
        "[\"0.0.0.0/0\"]",
        "[\"::1/128\"]",
        "[\"127.0.0.1\",\"11.0.0.1\"]",
    };
    static const struct {
        const char *in, *want;
    } granted[] = {
        {"[\"127.0.0.0/16\",\"10.1.0.0/16\"]", "[\"127.0.0.0/16\",\"10.1.0.0/16\"]"},
        {"[\"127.0.0.1\"]", "[\"127.0.0.1/32\"]"},
        {"[\"10.0.0.0/8\",\"127.0.0.0/8\"]", "[\"10.0.0.0/8\",\"127.0.0.0/8\"]"},
    };
    struct tok parent, child, given;
    long before;

    (void)state;
    /* Each expiring well before its maker: only the addresses are wrong. */
    make_at(srv, session, tsr_h_now() + 300 * TSR_H_DAY,
            "\"allowed_ips\":[\"127.0.0.0/8\",\"10.0.0.0/8\"]", &parent);
    make(srv, session, NULL, &given);
    before = count_tokens(srv, session);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        print_message("a token limited to 127.0.0.0/8, 10.0.0.0/8 gives %s\n", refused[i]);
        assert_error_under(
            create_raw(srv, parent.secret, tsr_h_fmt("\"allowed_ips\":%s", refused[i])), 403,
            "insufficient_scope", "/allowed_ips");
        assert_error_under(tsr_h_send(srv, "PATCH", token_path(given.id), parent.secret,
                                      tsr_h_fmt("{\"allowed_ips\":%s}", refused[i])),
                           403, "insufficient_scope", "/allowed_ips");
    }
    /* Giving no list at all is asking for anywhere. */
    assert_error_under(create_raw(srv, parent.secret, NULL), 403, "insufficient_scope",
                       "/allowed_ips");
    assert_int_equal(count_tokens(srv, session), before);
    assert_string_equal(dump(tsr_h_jarr(read_back(srv, session, given.id), "allowed_ips")), "[]");

    for (size_t i = 0; i < sizeof(granted) / sizeof(granted[0]); i++) {
        limited(srv, parent.secret, granted[i].in, &child);
        assert_string_equal(dump(tsr_h_jarr(child.data, "allowed_ips")), granted[i].want);
    }
    /* The child of a sub-block is itself bound to it. */
    make_at(srv, parent.secret, tsr_h_now() + 200 * TSR_H_DAY, "\"allowed_ips\":[\"127.0.0.0/16\"]",
            &child);
    assert_error_under(create_raw(srv, child.secret, "\"allowed_ips\":[\"127.0.0.0/8\"]"), 403,
                       "insufficient_scope", "/allowed_ips");
    limited(srv, child.secret, "[\"127.0.0.1/32\"]", &given);
    assert_usable(srv, &given, NULL, true);
    /* Narrowing another token's list is fine. */
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", token_path(given.id), parent.secret,
                                   "{\"allowed_ips\":[\"10.2.0.0/16\"]}"),
                        200);
    /* A session gives anything. */
    limited(srv, session, "[]", &child);
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", token_path(parent.id), session,
                                   "{\"allowed_ips\":[\"0.0.0.0/0\",\"::/0\"]}"),
                        200);
}

/* ---- not_before ---- */

static void test_not_before(void **state)
{
    int64_t now = tsr_h_now();
    int64_t exp = now + 10 * TSR_H_DAY;
    struct tok later, soon;
    struct tsr_h_resp *r;
    json_t *nb;

    (void)state;
    /* Before not_before the token is unknown: 401, on verify and the API. */
    make(srv, session, tsr_h_fmt("\"not_before\":\"%s\"", tsr_h_time(now + 3600)), &later);
    assert_string_equal(tsr_h_jstr(later.data, "not_before"), tsr_h_time(now + 3600));
    tsr_h_assert_error(tsr_h_get(srv, VERIFY, later.secret), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(tsr_h_get(srv, TOKENS, later.secret), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    /* Its owner sees it, and clearing not_before works at once. */
    assert_string_equal(tsr_h_jstr(read_back(srv, session, later.id), "not_before"),
                        tsr_h_time(now + 3600));
    r = tsr_h_send(srv, "PATCH", token_path(later.id), session, "{\"not_before\":null}");
    tsr_h_assert_status(r, 200);
    assert_true(json_is_null(json_object_get(tsr_h_jobj(r->json, "data"), "not_before")));
    assert_true(tsr_h_verify(srv, later.secret));
    tsr_h_assert_status(tsr_h_get(srv, TOKENS, later.secret), 200);
    /* And setting one in the future stops it at once. */
    r = tsr_h_send(srv, "PATCH", token_path(later.id), session,
                   tsr_h_fmt("{\"not_before\":\"%s\"}", tsr_h_time(now + 7200)));
    tsr_h_assert_status(r, 200);
    assert_false(tsr_h_verify(srv, later.secret));

    /* A not_before a few seconds ahead: refused until then, good after. */
    int64_t nb_at = tsr_h_now() + 3;
    make(srv, session, tsr_h_fmt("\"not_before\":\"%s\"", tsr_h_time(nb_at)), &soon);
    assert_false(tsr_h_verify(srv, soon.secret));
    int64_t end = tsr_h_mono_ms() + 8000;
    while (!tsr_h_verify(srv, soon.secret)) {
        if (tsr_h_mono_ms() >= end) {
            fail_msg("a token whose not_before was %s still refused at %s", tsr_h_time(nb_at),
                     tsr_h_time(tsr_h_now()));
        }
        tsr_h_sleep_ms(100);
    }
    assert_true(tsr_h_now() >= nb_at);
    tsr_h_assert_status(tsr_h_get(srv, TOKENS, soon.secret), 200);

    /* The formats of expires_at; the time must be before expires_at. */
    const char *day = tsr_h_strndup(tsr_h_time(now + 2 * TSR_H_DAY), 10);
    r = create_raw(srv, session, tsr_h_fmt("\"not_before\":\"%s\"", day));
    tsr_h_assert_status(r, 201);
    nb = json_object_get(tsr_h_jobj(r->json, "data"), "not_before");
    assert_string_equal(json_string_value(nb), tsr_h_fmt("%sT00:00:00Z", day));
    long before = count_tokens(srv, session);
    static const char *const bad[] = {"\"tomorrow\"", "5", "\"\"", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tsr_h_assert_error(create_raw(srv, session, tsr_h_fmt("\"not_before\":%s", bad[i])), 400,
                           "invalid_field", TSR_H_SRC_POINTER, "/not_before");
    }
    r = tsr_h_send(srv, "POST", TOKENS, session,
                   tsr_h_fmt("{\"name\":\"x\",\"expires_at\":\"%s\",\"not_before\":\"%s\"}",
                             tsr_h_time(exp), tsr_h_time(exp + 60)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/not_before");
    r = tsr_h_send(srv, "POST", TOKENS, session,
                   tsr_h_fmt("{\"name\":\"x\",\"expires_at\":\"%s\",\"not_before\":\"%s\"}",
                             tsr_h_time(exp), tsr_h_time(exp)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/not_before");
    assert_int_equal(count_tokens(srv, session), before);
    /* A PATCH past the token's expiry likewise, and changes nothing. */
    r = tsr_h_send(
        srv, "PATCH", token_path(soon.id), session,
        tsr_h_fmt("{\"not_before\":\"%s\"}",
                  tsr_h_time(tsr_h_parse_time(tsr_h_jstr(soon.data, "expires_at")) + 60)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/not_before");
    assert_string_equal(tsr_h_jstr(read_back(srv, session, soon.id), "not_before"),
                        tsr_h_time(nb_at));
    assert_true(tsr_h_verify(srv, soon.secret));
}

/* ---- last_used_ip ---- */

/* Polls (at most 12 s: uses are written every few seconds) until token id
 * on s shows a last_used_ip; returns it. */
static const char *wait_last_used_ip(struct tsr_h_server *s, const char *auth, const char *id)
{
    int64_t end = tsr_h_mono_ms() + 12000;

    for (;;) {
        json_t *ip = json_object_get(read_back(s, auth, id), "last_used_ip");

        if (json_is_string(ip)) {
            return tsr_h_fmt("%s", json_string_value(ip));
        }
        assert_true(json_is_null(ip));
        if (tsr_h_mono_ms() >= end) {
            fail_msg("last_used_ip of %s still null 12 s after a use", id);
        }
        tsr_h_sleep_ms(200);
    }
}

static void test_last_used_ip(void **state)
{
    struct tok direct, behind;

    (void)state;
    make(srv, session, NULL, &direct);
    make(proxied, psession, NULL, &behind);
    assert_true(json_is_null(json_object_get(direct.data, "last_used_ip")));
    assert_true(json_is_null(json_object_get(read_back(srv, session, direct.id), "last_used_ip")));
    assert_true(tsr_h_verify(srv, direct.secret));
    tsr_h_assert_status(get_from(proxied, VERIFY, behind.secret, XFF("203.0.113.7")), 204);
    assert_string_equal(wait_last_used_ip(srv, session, direct.id), "127.0.0.1");
    assert_string_equal(wait_last_used_ip(proxied, psession, behind.id), "203.0.113.7");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_peer_address),
        cmocka_unit_test(test_ipv6_peer),
        cmocka_unit_test(test_forwarded_address),
        cmocka_unit_test(test_address_before_scope),
        cmocka_unit_test(test_patch_takes_effect),
        cmocka_unit_test(test_escalation),
        cmocka_unit_test(test_not_before),
        cmocka_unit_test(test_last_used_ip),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
