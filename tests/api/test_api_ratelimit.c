/* test_api_ratelimit.c - end to end: login limits that no client can switch off
 *
 * The attacker here picks its source address: Linux routes all of
 * 127.0.0.0/8 to the loopback, so the test binds each connection to the
 * address it wants (CURLOPT_INTERFACE), and plays a trusted proxy to speak
 * for IPv6 clients.
 */
#include "harness.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define WRONG "wrong-password"

struct attempt {
    struct tsr_h_server *srv;
    const char *source; /* the address to connect from; NULL: any */
    const char *auth;   /* the Authorization value */
    const char *xff;    /* an X-Forwarded-For value; NULL: none */
    long status;
    char retry_after[32];
    char detail[256];
};

static size_t header_line(char *p, size_t size, size_t n, void *arg)
{
    struct attempt *a = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";

    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t v = sizeof(name) - 1, end = len;

        while (v < len && p[v] == ' ')
            v++;
        while (end > v && (p[end - 1] == '\r' || p[end - 1] == '\n'))
            end--;
        if (end - v < sizeof(a->retry_after)) {
            memcpy(a->retry_after, p + v, end - v);
            a->retry_after[end - v] = '\0';
        }
    }
    return len;
}

/* POST /v4/tokens with a->auth from a->source; fills status, Retry-After and
 * the error's detail. Safe from many threads (its own libcurl handle). */
static void attempt(struct attempt *a)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct tsr_h_capture body = {.len = 0};
    char url[128], line[512];
    json_t *root;

    assert_non_null(c);
    snprintf(url, sizeof(url), "%s/v4/tokens", a->srv->base);
    snprintf(line, sizeof(line), "Authorization: %s", a->auth);
    h = curl_slist_append(h, line);
    if (a->xff) {
        snprintf(line, sizeof(line), "X-Forwarded-For: %s", a->xff);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tsr_h_capture_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (a->source)
        curl_easy_setopt(c, CURLOPT_INTERFACE, a->source);
    a->retry_after[0] = a->detail[0] = '\0';
    a->status = curl_easy_perform(c) == CURLE_OK ? 0 : -1;
    if (a->status == 0)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    root = json_loads(body.buf, 0, NULL);
    if (root) {
        json_t *e = json_array_get(json_object_get(root, "errors"), 0);
        const char *token = json_string_value(json_object_get(root, "token"));

        if (json_is_string(json_object_get(e, "detail")))
            snprintf(a->detail, sizeof(a->detail), "%s",
                     json_string_value(json_object_get(e, "detail")));
        if (token)
            tsr_h_record_secret(token);
        json_decref(root);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void *attempt_thread(void *arg)
{
    attempt(arg);
    return NULL;
}

/* One attempt, in the test's thread; its status. */
static long try_login(struct attempt *a, struct tsr_h_server *srv, const char *source,
                      const char *email, const char *password)
{
    *a = (struct attempt){.srv = srv, .source = source, .auth = tsr_h_basic(email, password)};
    attempt(a);
    if (a->status <= 0)
        fail_msg("no answer from %s for %s", source ? source : "127.0.0.1", email);
    return a->status;
}

#define PARALLEL 40

/* Forty wrong passwords at once from one address, limit 5: the check and
 * the count are one step, so exactly five are answered 401 and the other
 * thirty-five 429, however the server's threads interleave them. */
static void test_parallel_guesses(void **state)
{
    static const char *const args[] = {
        "--login-max-failures", "5", "--login-window", "600", "--threads", "16", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    static struct attempt a[PARALLEL];
    pthread_t t[PARALLEL];
    const char *auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, WRONG);
    int n401 = 0, n429 = 0;
    struct attempt last;

    (void)state;
    for (int i = 0; i < PARALLEL; i++) {
        a[i] = (struct attempt){.srv = srv, .source = "127.0.5.5", .auth = auth};
        assert_int_equal(pthread_create(&t[i], NULL, attempt_thread, &a[i]), 0);
    }
    for (int i = 0; i < PARALLEL; i++) {
        pthread_join(t[i], NULL);
        n401 += a[i].status == 401;
        n429 += a[i].status == 429;
        if (a[i].status == 429)
            tsr_h_assert_between(strtol(a[i].retry_after, NULL, 10), 1, 600);
    }
    print_message("401: %d, 429: %d\n", n401, n429);
    assert_int_equal(n401, 5);
    assert_int_equal(n429, PARALLEL - 5);
    /* The right password from there is refused too; another address is not. */
    assert_int_equal(try_login(&last, srv, "127.0.5.5", TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD),
                     429);
    assert_non_null(strstr(last.detail, "address"));
    assert_int_equal(try_login(&last, srv, "127.0.5.6", TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD),
                     201);
    tsr_h_stop(srv);
}

/* The slot the old, unkeyed table gave an address: FNV-1a of its text. */
static unsigned fnv_slot(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (unsigned)(h & 65535);
}

#define FILLERS 40

/* An attacker that knows how the table places addresses picks forty of
 * 127.0.0.0/8 that land where the target's would, and fails once from each
 * before the target starts guessing: the target's failures still count. */
static void test_filled_table_keeps_counting(void **state)
{
    static const char *const args[] = {
        "--login-max-failures", "3", "--login-window", "600", "--threads", "8", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv;
    static char fill[FILLERS][32];
    static struct attempt a[FILLERS];
    pthread_t t[FILLERS];
    const char *target = "127.9.9.9", *auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, WRONG);
    unsigned home = fnv_slot(target);
    struct attempt last;
    int found = 0;

    (void)state;
    for (unsigned i = 1; found < FILLERS && i < (1u << 24); i++) {
        snprintf(fill[found], sizeof(fill[found]), "127.%u.%u.%u", i >> 16, (i >> 8) & 255,
                 i & 255);
        if (fnv_slot(fill[found]) == home && strcmp(fill[found], target) != 0)
            found++;
    }
    assert_int_equal(found, FILLERS);
    srv = tsr_h_start(&o);
    for (int i = 0; i < FILLERS; i++) {
        a[i] = (struct attempt){.srv = srv, .source = fill[i], .auth = auth};
        assert_int_equal(pthread_create(&t[i], NULL, attempt_thread, &a[i]), 0);
    }
    for (int i = 0; i < FILLERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].status, 401);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(try_login(&last, srv, target, TSR_H_ADMIN_EMAIL, WRONG), 401);
    assert_int_equal(try_login(&last, srv, target, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD), 429);
    tsr_h_stop(srv);
}

/* Behind a trusted proxy, the hosts of one IPv6 /64 are one client, and an
 * IPv4-mapped address is its IPv4 address. */
static void test_ipv6_counts_per_64(void **state)
{
    static const char *const args[] = {
        "--trusted-proxy", "127.0.0.1", "--login-max-failures", "3", "--login-window", "600", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    const char *hosts[] = {"2001:db8:5:5::1", "2001:db8:5:5:1:2:3:4", "2001:db8:5:5:ffff::9"};
    const char *wrong = tsr_h_basic(TSR_H_ADMIN_EMAIL, WRONG);
    const char *right = tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    struct attempt a;

    (void)state;
    for (int i = 0; i < 3; i++) {
        a = (struct attempt){.srv = srv, .auth = wrong, .xff = hosts[i]};
        attempt(&a);
        assert_int_equal(a.status, 401);
    }
    a = (struct attempt){.srv = srv, .auth = right, .xff = "2001:db8:5:5::abcd"};
    attempt(&a);
    assert_int_equal(a.status, 429);
    assert_non_null(strstr(a.detail, "address"));
    a = (struct attempt){.srv = srv, .auth = right, .xff = "2001:db8:5:6::1"};
    attempt(&a);
    assert_int_equal(a.status, 201);

    for (int i = 0; i < 3; i++) {
        a = (struct attempt){.srv = srv, .auth = wrong, .xff = "::ffff:203.0.113.50"};
        attempt(&a);
        assert_int_equal(a.status, 401);
    }
    a = (struct attempt){.srv = srv, .auth = right, .xff = "203.0.113.50"};
    attempt(&a);
    assert_int_equal(a.status, 429);
    tsr_h_stop(srv);
}

/* Failures for one email text count from every address, for a user or for
 * nobody alike, and the 429 reads the same for both. */
static void test_account_limit(void **state)
{
    static const char *const args[] = {"--login-account-max-failures", "4",
                                       "--login-account-window", "600", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    const char *as_typed[] = {"admin@localhost", "Admin@LocalHost", "ADMIN@LOCALHOST",
                              "admin@LOCALHOST"};
    char source[32], admin_detail[256];
    struct attempt a;

    (void)state;
    tsr_h_add_user(srv, "bob@example.com", "bob-password-long");
    for (int i = 0; i < 4; i++) {
        snprintf(source, sizeof(source), "127.0.7.%d", i + 1);
        assert_int_equal(try_login(&a, srv, source, as_typed[i], WRONG), 401);
        assert_int_equal(try_login(&a, srv, source, "ghost@example.com", WRONG), 401);
    }
    /* From a fresh address, with the right password: the account is shut. */
    assert_int_equal(try_login(&a, srv, "127.0.7.9", TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD), 429);
    tsr_h_assert_between(strtol(a.retry_after, NULL, 10), 1, 600);
    assert_non_null(strstr(a.detail, "account"));
    snprintf(admin_detail, sizeof(admin_detail), "%s", a.detail);
    assert_int_equal(try_login(&a, srv, "127.0.7.9", "Ghost@Example.com", "anything"), 429);
    assert_string_equal(a.detail, admin_detail);
    /* Other accounts, from the same addresses, are not affected. */
    sleep(1);
    assert_int_equal(try_login(&a, srv, "127.0.7.1", "bob@example.com", "bob-password-long"), 201);
    tsr_h_stop(srv);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_guesses),
        cmocka_unit_test(test_filled_table_keeps_counting),
        cmocka_unit_test(test_ipv6_counts_per_64),
        cmocka_unit_test(test_account_limit),
    };

    return TSR_H_RUN(tests, NULL, NULL);
}
