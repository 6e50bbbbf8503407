/* test_nodes.c - end to end: three tesserad nodes on one PostgreSQL database
 *
 * Runs only on PostgreSQL (TSR_H_PG or TSR_H_PG_FILE; ctest's test_nodes_pg):
 * every test is skipped otherwise. The nodes share the first one's database
 * (a later --db wins over the harness's own). A token created on one node
 * verifies on the others at once (a miss of the index asks the database); a
 * token revoked on one is refused on every node within 1 s (NOTIFY wakes
 * each node's sync); a change of expiry, of scopes or of the address list,
 * and an operator's `tesserad user remove` reach every node (the last three
 * within 1 s). A rotation reaches every node within 1 s too: the old secret
 * refused, or good there until its grace period ends and not after.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define NODES         3
#define ROUNDS        20 /* revocations timed */
#define USER_PASSWORD "user-password-for-tests"
#define BOUND_MS      1000 /* the contract's bound for a change made elsewhere */
#define TOKENS_PATH   "/v4/iam/personal_tokens"

static struct tsr_h_server *node[NODES];
static char session[NODES][TSR_H_SECRET_LEN + 1]; /* the admin's, one per node */

static int setup(void **state)
{
    (void)state;
    if (tsr_h_pg() == NULL) {
        return 0;
    }
    node[0] = tsr_h_start(NULL);
    const char *args[] = {"--db", node[0]->db, NULL};
    struct tsr_h_opts o = {.args = args};
    for (int i = 1; i < NODES; i++) {
        node[i] = tsr_h_start(&o);
    }
    for (int i = 0; i < NODES; i++) {
        tsr_h_login(node[i], TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session[i]);
    }
    return 0;
}

#define PG_ONLY()                                                                                  \
    do {                                                                                           \
        if (tsr_h_pg() == NULL) {                                                                  \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Polls node n's verify of secret until it answers 401; returns how long
 * that took from start_ms, or fails past BOUND_MS. */
static long long refused_after(int n, const char *secret, int64_t start_ms)
{
    for (;;) {
        if (!tsr_h_verify(node[n], secret)) {
            return (long long)(tsr_h_mono_ms() - start_ms);
        }
        if (tsr_h_mono_ms() - start_ms > 3 * BOUND_MS) {
            fail_msg("node %d still accepts a token revoked %lld ms ago", n,
                     (long long)(tsr_h_mono_ms() - start_ms));
        }
        tsr_h_sleep_ms(1);
    }
}

/* Created on any node, a token verifies at once on every other. */
static void test_created_verifies_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    for (int from = 0; from < NODES; from++) {
        struct tsr_h_token t;
        tsr_h_create_token(node[from], session[from], tsr_h_fmt("from node %d", from), NULL, &t);
        for (int i = 0; i < NODES; i++) {
            int n = (from + 1 + i) % NODES; /* the others first, then itself */
            if (!tsr_h_verify(node[n], t.secret)) {
                fail_msg("a token created on node %d is refused on node %d", from, n);
            }
        }
    }
    /* Two nodes alone, the other way round too. */
    struct tsr_h_token t;
    tsr_h_create_token(node[1], session[1], "two nodes", NULL, &t);
    assert_true(tsr_h_verify(node[0], t.secret));
    assert_true(tsr_h_verify(node[1], t.secret));
}

/* Revoked on one node, a token is refused on every node within 1 s. */
static void test_revoked_refused_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    long long worst[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        int from = round % NODES;
        struct tsr_h_token t;
        tsr_h_create_token(node[from], session[from], tsr_h_fmt("revoke %d", round), NULL, &t);
        /* In every index first, so that only the news can take it out. */
        for (int n = 0; n < NODES; n++) {
            assert_true(tsr_h_verify(node[n], t.secret));
        }
        struct tsr_h_resp *r = tsr_h_send(
            node[from], "DELETE", tsr_h_fmt("%s/%s", TOKENS_PATH, t.id), session[from], NULL);
        int64_t start = tsr_h_mono_ms();
        tsr_h_assert_status(r, 204);
        worst[round] = 0;
        for (int n = 0; n < NODES; n++) {
            long long ms = refused_after(n, t.secret, start);
            if (ms > worst[round]) {
                worst[round] = ms;
            }
        }
        tsr_h_assert_between(worst[round], 0, BOUND_MS);
    }
    qsort(worst, ROUNDS, sizeof(worst[0]), cmp_ll);
    print_message("revoked on one node, refused on all %d: p50 %lld ms, max %lld ms (%d rounds)\n",
                  NODES, worst[ROUNDS / 2], worst[ROUNDS - 1], ROUNDS);
}

/* A new expiry set on one node is the one every node enforces. */
static void test_update_reaches_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    struct tsr_h_token t;
    tsr_h_create_token(node[0], session[0], "shortened", NULL, &t);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], t.secret));
    }
    int64_t until = tsr_h_now() + 3;
    struct tsr_h_resp *r =
        tsr_h_send(node[1], "PATCH", tsr_h_fmt("%s/%s", TOKENS_PATH, t.id), session[1],
                   tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(until)));
    tsr_h_assert_status(r, 200);
    /* Each node's answer about the token is the new one. */
    for (int n = 0; n < NODES; n++) {
        r = tsr_h_get(node[n], tsr_h_fmt("%s/%s", TOKENS_PATH, t.id), session[n]);
        tsr_h_assert_status(r, 200);
        assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "expires_at"),
                            tsr_h_time(until));
    }
    /* And once that time has passed, every node refuses the token: each
     * index holds the new expiry, not the 30 days it was created with. */
    while (tsr_h_now() <= until) {
        tsr_h_sleep_ms(100);
    }
    for (int n = 0; n < NODES; n++) {
        if (tsr_h_verify(node[n], t.secret)) {
            fail_msg("node %d accepts a token whose expiry another node moved", n);
        }
    }
}

/* The operator removes a user from any machine: every node refuses the
 * user's tokens within 1 s. */
static void test_user_remove_reaches_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_add_user(node[0], "gone@example.com", USER_PASSWORD);
    /* Users are not in the index: any node can log the new user in. */
    tsr_h_login(node[2], "gone@example.com", USER_PASSWORD, s);
    struct tsr_h_token t;
    tsr_h_create_token(node[2], s, "doomed", NULL, &t);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], t.secret));
    }
    /* node[0]'s --db is the shared database; the others' own are unused. */
    struct tsr_h_cmd *c = tsr_h_user(node[0], "remove", "gone@example.com", NULL);
    int64_t start = tsr_h_mono_ms();
    assert_int_equal(c->status, 0);
    for (int n = 0; n < NODES; n++) {
        tsr_h_assert_between(refused_after(n, t.secret, start), 0, BOUND_MS);
        assert_false(tsr_h_verify(node[n], s));
    }
}

/* The number Azion's clients read as client_id, as node n gives it. */
static const char *client_id_on(int n, const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(node[n], "/user/me", secret);
    tsr_h_assert_status(r, 200);
    return tsr_h_jstr(tsr_h_jobj(r->json, "results"), "client_id");
}

/* A user's number is the database's, not a node's: every node gives the
 * same, and users made one after the other get different ones. */
static void test_user_numbers_same_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    char s[2][TSR_H_SECRET_LEN + 1];
    const char *emails[2] = {"number-one@example.com", "number-two@example.com"};
    char first[24];
    for (int u = 0; u < 2; u++) {
        tsr_h_add_user(node[0], emails[u], USER_PASSWORD);
        tsr_h_login(node[u + 1], emails[u], USER_PASSWORD, s[u]);
    }
    snprintf(first, sizeof(first), "%s", client_id_on(0, s[0]));
    for (int n = 0; n < NODES; n++) {
        assert_string_equal(client_id_on(n, s[0]), first);
        assert_string_not_equal(client_id_on(n, s[1]), first);
    }
    assert_true(atoll(first) >= 1);
}

/* Node n's verify at path (with its query) of secret, as a status: 204, 401
 * or 403; a 401 or 403 must be the contract's error, a 403 with code
 * forbidden_code. Fails on anything else. */
static long verify_status(int n, const char *path, const char *secret, const char *forbidden_code)
{
    struct tsr_h_resp *r = tsr_h_get(node[n], path, secret);
    if (r->status == 401) {
        tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    } else if (r->status == 403) {
        json_t *errors = tsr_h_jarr(r->json, "errors");
        assert_int_equal(json_array_size(errors), 1);
        assert_string_equal(tsr_h_jstr(json_array_get(errors, 0), "code"), forbidden_code);
    } else if (r->status != 204) {
        fail_msg("node %d: verify %s answered %ld: %s", n, path, r->status, r->body);
    }
    return r->status;
}

static long long worst_change_ms; /* the slowest answers_after of a test */

/* Polls node n's verify until it answers want; returns how long that took
 * from start_ms (and keeps the worst in worst_change_ms), or fails past
 * 3 * BOUND_MS. */
static long long answers_after(int n, const char *path, const char *secret, long want,
                               const char *forbidden_code, int64_t start_ms)
{
    for (;;) {
        long got = verify_status(n, path, secret, forbidden_code);
        if (got == want) {
            long long ms = (long long)(tsr_h_mono_ms() - start_ms);
            if (ms > worst_change_ms) {
                worst_change_ms = ms;
            }
            return ms;
        }
        if (tsr_h_mono_ms() - start_ms > 3 * BOUND_MS) {
            fail_msg("node %d still answers %ld, not %ld, %lld ms after the change", n, got, want,
                     (long long)(tsr_h_mono_ms() - start_ms));
        }
        tsr_h_sleep_ms(1);
    }
}

/* Creates a token on node 0 with more members of the body (members: JSON
 * text after a comma); writes its id and secret. */
static void create_with(const char *name, const char *members, struct tsr_h_token *out)
{
    struct tsr_h_resp *r = tsr_h_send(node[0], "POST", TOKENS_PATH, session[0],
                                      tsr_h_fmt("{\"name\":\"%s\",\"expires_at\":\"%s\",%s}", name,
                                                tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY), members));
    tsr_h_assert_status(r, 201);
    json_t *data = tsr_h_jobj(r->json, "data");
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(data, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(data, "key"));
    tsr_h_record_secret(out->secret);
    out->data = data;
}

/* PATCHes token id on node 0 with body (must be 200); returns when it did. */
static int64_t patch_on_first(const char *id, const char *body)
{
    struct tsr_h_resp *r =
        tsr_h_send(node[0], "PATCH", tsr_h_fmt("%s/%s", TOKENS_PATH, id), session[0], body);
    int64_t start = tsr_h_mono_ms();
    tsr_h_assert_status(r, 200);
    return start;
}

/* A change of a token's scopes on node 0 decides the other nodes' verify
 * with ?scope= within 1 s: 403, then 204 once it holds the scope, then 403
 * again once it no longer does. */
static void test_scopes_change_reaches_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    static const char path[] = "/v4/auth/verify?scope=tokens:read";
    struct tsr_h_token t;
    worst_change_ms = 0;
    create_with("scoped", "\"scopes\":[\"user:read\"]", &t);
    /* Known to every node, and lacking the scope there. */
    for (int n = 1; n < NODES; n++) {
        assert_int_equal(verify_status(n, path, t.secret, "insufficient_scope"), 403);
        assert_true(tsr_h_verify(node[n], t.secret));
    }
    for (int round = 0; round < 4; round++) {
        bool holds = round % 2 == 0;
        int64_t start = patch_on_first(t.id, holds ? "{\"scopes\":[\"tokens:read\",\"user:read\"]}"
                                                   : "{\"scopes\":[\"user:read\"]}");
        for (int n = 1; n < NODES; n++) {
            tsr_h_assert_between(
                answers_after(n, path, t.secret, holds ? 204 : 403, "insufficient_scope", start), 0,
                BOUND_MS);
        }
    }
    /* And the scopes the other node gives a gateway are the new ones. */
    patch_on_first(t.id, "{\"scopes\":[\"tokens:read\"]}");
    int64_t start = tsr_h_mono_ms();
    tsr_h_assert_between(answers_after(1, path, t.secret, 204, "insufficient_scope", start), 0,
                         BOUND_MS);
    struct tsr_h_resp *r = tsr_h_get(node[1], path, t.secret);
    tsr_h_assert_status(r, 204);
    assert_non_null(tsr_h_header(r, "X-Tessera-Scopes"));
    assert_string_equal(tsr_h_header(r, "X-Tessera-Scopes"), "tokens:read");
    print_message("scopes changed on one node, decided by the others: worst %lld ms\n",
                  worst_change_ms);
}

/* A change of a token's address list on node 0 decides the other nodes'
 * verify within 1 s. The harness's client is 127.0.0.1. */
static void test_allowed_ips_change_reaches_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    static const char path[] = "/v4/auth/verify";
    static const struct {
        const char *body;
        long want;
    } steps[] = {
        {"{\"allowed_ips\":[\"192.0.2.0/24\",\"127.0.0.1\"]}", 204},
        {"{\"allowed_ips\":[\"192.0.2.0/24\",\"2001:db8::/32\"]}", 403},
        {"{\"allowed_ips\":[]}", 204},
        {"{\"allowed_ips\":[\"127.0.0.2/32\"]}", 403},
    };
    struct tsr_h_token t;
    worst_change_ms = 0;
    create_with("bound", "\"allowed_ips\":[\"192.0.2.0/24\"]", &t);
    for (int n = 1; n < NODES; n++) {
        assert_int_equal(verify_status(n, path, t.secret, "address_not_allowed"), 403);
    }
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int64_t start = patch_on_first(t.id, steps[i].body);
        for (int n = 1; n < NODES; n++) {
            tsr_h_assert_between(
                answers_after(n, path, t.secret, steps[i].want, "address_not_allowed", start), 0,
                BOUND_MS);
        }
    }
    print_message("address list changed on one node, decided by the others: worst %lld ms\n",
                  worst_change_ms);
}

/* ---- rotation ---- */

/* POSTs a rotation of token id to node n as its admin session with body
 * (NULL: none); asserts nothing. */
static struct tsr_h_resp *rotate_raw_on(int n, const char *id, const char *body)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = tsr_h_fmt("%s/%s/rotate", TOKENS_PATH, id),
                            .secret = session[n],
                            .body = body};
    return tsr_h_req(node[n], &req);
}

/* The new secret of a rotation's answer r (must be 200), into secret. */
static void rotated_secret(const struct tsr_h_resp *r, char secret[TSR_H_SECRET_LEN + 1])
{
    tsr_h_assert_status(r, 200);
    snprintf(secret, TSR_H_SECRET_LEN + 1, "%s", tsr_h_jstr(tsr_h_jobj(r->json, "data"), "key"));
}

/* Rotates token id on node n (must be 200); writes the new secret to
 * secret and returns when the answer came. */
static int64_t rotate_on(int n, const char *id, const char *body, char secret[TSR_H_SECRET_LEN + 1])
{
    struct tsr_h_resp *r = rotate_raw_on(n, id, body);
    int64_t done = tsr_h_mono_ms();

    rotated_secret(r, secret);
    return done;
}

/* A grace period or a lifetime short enough to wait for, long enough for
 * the requests a test makes in it: longer under a wrapper (valgrind). */
static int64_t short_wait(void)
{
    return tsr_h_wrapper() ? 15 : 3;
}

/* Waits until the wall clock is early in a second, so that a request sent
 * now is served in the second tsr_h_now() says; returns that second. */
static int64_t early_in_a_second(void)
{
    struct timespec ts;

    for (;;) {
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_nsec >= 20 * 1000000L && ts.tv_nsec < 500 * 1000000L) {
            return (int64_t)ts.tv_sec;
        }
        tsr_h_sleep_ms(10);
    }
}

/* Asserts that every node but `except` (-1: none) answers verify of secret
 * with want within BOUND_MS of start_ms. */
static void everywhere_within_bound(const char *secret, long want, int except, int64_t start_ms)
{
    for (int n = 0; n < NODES; n++) {
        if (n != except) {
            tsr_h_assert_between(
                answers_after(n, "/v4/auth/verify", secret, want, "none", start_ms), 0, BOUND_MS);
        }
    }
}

/* Polls every node's verify of an old secret in its grace period until each
 * refuses it: fails when a node refuses it before the second earliest (no
 * clock can have reached it) or still accepts it once the clock is past
 * latest; until a node refuses it, that node must accept keep too. */
static void grace_ends_everywhere(const char *old, const char *keep, int64_t earliest,
                                  int64_t latest)
{
    bool refused[NODES] = {false};
    int left = NODES;

    while (left > 0) {
        for (int n = 0; n < NODES; n++) {
            if (refused[n]) {
                continue;
            }
            int64_t sent = tsr_h_now();
            bool good = tsr_h_verify(node[n], old);
            int64_t now = tsr_h_now();
            if (!good && now < earliest) {
                fail_msg("node %d refuses a secret in its grace period at %s; it ends at %s", n,
                         tsr_h_time(now), tsr_h_time(earliest));
            }
            if (good && sent > latest) {
                fail_msg("node %d still accepts at %s a secret whose grace period ended at %s", n,
                         tsr_h_time(sent), tsr_h_time(earliest));
            }
            if (!good) {
                refused[n] = true;
                left--;
            } else if (!tsr_h_verify(node[n], keep)) {
                fail_msg("node %d refuses the new secret in the grace period", n);
            }
        }
        tsr_h_sleep_ms(50);
    }
}

/* A token whose secret every node's index holds. */
static void make_known_everywhere(const char *name, struct tsr_h_token *t)
{
    tsr_h_create_token(node[0], session[0], name, NULL, t);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], t->secret));
    }
}

/* Rotated on one node without a grace period: the old secret is refused on
 * every other within 1 s, the new one accepted there within 1 s. */
static void test_rotated_everywhere(void **state)
{
    (void)state;
    PG_ONLY();
    worst_change_ms = 0;
    for (int round = 0; round < 2 * NODES; round++) {
        int from = round % NODES;
        struct tsr_h_token t;
        char fresh[TSR_H_SECRET_LEN + 1];

        make_known_everywhere(tsr_h_fmt("rotate %d", round), &t);
        int64_t start = rotate_on(from, t.id, NULL, fresh);
        assert_false(tsr_h_verify(node[from], t.secret));
        everywhere_within_bound(t.secret, 401, from, start);
        everywhere_within_bound(fresh, 204, -1, start);
    }
    print_message("rotated on one node, old refused and new accepted on the others: worst %lld "
                  "ms\n",
                  worst_change_ms);
}

/* With a grace period, every node accepts both secrets until it ends, then
 * only the new one. */
static void test_rotation_grace_everywhere(void **state)
{
    const int64_t grace = short_wait();
    struct tsr_h_token t;
    char fresh[TSR_H_SECRET_LEN + 1];

    (void)state;
    PG_ONLY();
    make_known_everywhere("graced", &t);
    int64_t t0 = early_in_a_second();
    int64_t start =
        rotate_on(0, t.id, tsr_h_fmt("{\"grace_period\":%lld}", (long long)grace), fresh);
    int64_t t1 = tsr_h_now();
    everywhere_within_bound(fresh, 204, -1, start);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], t.secret));
    }
    grace_ends_everywhere(t.secret, fresh, t0 + grace, t1 + grace + 2);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], fresh));
    }
}

/* Stops (SIGSTOP) or resumes (SIGCONT) every node but the first, so that
 * they miss what happens on it until they resume. */
static void others(int sig)
{
    for (int n = 1; n < NODES; n++) {
        if (kill(node[n]->pid, sig) != 0) {
            fail_msg("kill(node %d, %d) failed", n, sig);
        }
    }
    if (sig == SIGSTOP) {
        tsr_h_sleep_ms(50);
    }
}

/* Two rotations on one node while the others are stopped, so that they
 * never see the first: once they resume, the first secret is refused
 * everywhere within 1 s, the second is good until the grace period of the
 * second rotation ends, the third is good. And when the others have seen
 * the second secret before a rotation without grace, they refuse it within
 * 1 s too. */
static void test_two_rotations_everywhere(void **state)
{
    const int64_t grace = short_wait();
    struct tsr_h_token t;
    char s2[TSR_H_SECRET_LEN + 1], s3[TSR_H_SECRET_LEN + 1], s4[TSR_H_SECRET_LEN + 1];

    (void)state;
    PG_ONLY();
    make_known_everywhere("rotated twice", &t);
    int64_t t0 = early_in_a_second();
    /* Nothing may fail while they are stopped: they would not stop. */
    others(SIGSTOP);
    struct tsr_h_resp *first = rotate_raw_on(0, t.id, "{\"grace_period\":3600}");
    struct tsr_h_resp *second =
        rotate_raw_on(0, t.id, tsr_h_fmt("{\"grace_period\":%lld}", (long long)grace));
    int64_t t1 = tsr_h_now();
    others(SIGCONT);
    int64_t start = tsr_h_mono_ms();
    rotated_secret(first, s2);
    rotated_secret(second, s3);
    assert_false(tsr_h_verify(node[0], t.secret));
    everywhere_within_bound(t.secret, 401, -1, start);
    everywhere_within_bound(s3, 204, -1, start);
    grace_ends_everywhere(s2, s3, t0 + grace, t1 + grace + 2);
    for (int n = 0; n < NODES; n++) {
        assert_false(tsr_h_verify(node[n], t.secret));
        assert_true(tsr_h_verify(node[n], s3));
    }

    /* The second secret in every index, then a rotation without grace. */
    rotate_on(0, t.id, "{\"grace_period\":3600}", s4);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], s3));
        assert_true(tsr_h_verify(node[n], s4));
    }
    char s5[TSR_H_SECRET_LEN + 1];
    start = rotate_on(0, t.id, NULL, s5);
    everywhere_within_bound(s3, 401, -1, start);
    everywhere_within_bound(s4, 401, -1, start);
    everywhere_within_bound(s5, 204, -1, start);
}

/* Revoked on one node in its grace period, a token's both secrets are
 * refused on every node within 1 s. */
static void test_revoked_in_grace_everywhere(void **state)
{
    struct tsr_h_token t;
    char fresh[TSR_H_SECRET_LEN + 1];

    (void)state;
    PG_ONLY();
    make_known_everywhere("revoked in grace", &t);
    rotate_on(0, t.id, "{\"grace_period\":3600}", fresh);
    for (int n = 0; n < NODES; n++) {
        assert_true(tsr_h_verify(node[n], t.secret));
        assert_true(tsr_h_verify(node[n], fresh));
    }
    struct tsr_h_resp *r =
        tsr_h_send(node[1], "DELETE", tsr_h_fmt("%s/%s", TOKENS_PATH, t.id), session[1], NULL);
    int64_t start = tsr_h_mono_ms();
    tsr_h_assert_status(r, 204);
    everywhere_within_bound(t.secret, 401, -1, start);
    everywhere_within_bound(fresh, 401, -1, start);
}

/* Made-up secrets that no node holds: refused, and the database is asked
 * at a bounded rate (nothing to see from outside but the refusals). */
static void test_unknown_refused(void **state)
{
    (void)state;
    PG_ONLY();
    for (unsigned i = 0; i < 300; i++) {
        char made_up[TSR_H_SECRET_LEN + 1];
        tsr_h_make_secret("tsr_", 1000 + i, made_up);
        tsr_h_record_secret(made_up);
        assert_false(tsr_h_verify(node[i % NODES], made_up));
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_verifies_everywhere),
        cmocka_unit_test(test_revoked_refused_everywhere),
        cmocka_unit_test(test_update_reaches_everywhere),
        cmocka_unit_test(test_user_remove_reaches_everywhere),
        cmocka_unit_test(test_user_numbers_same_everywhere),
        cmocka_unit_test(test_scopes_change_reaches_everywhere),
        cmocka_unit_test(test_allowed_ips_change_reaches_everywhere),
        cmocka_unit_test(test_rotated_everywhere),
        cmocka_unit_test(test_rotation_grace_everywhere),
        cmocka_unit_test(test_two_rotations_everywhere),
        cmocka_unit_test(test_revoked_in_grace_everywhere),
        cmocka_unit_test(test_unknown_refused),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
