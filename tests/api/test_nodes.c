/* test_nodes.c - end to end: three tesserad nodes on one PostgreSQL database
 *
 * Runs only on PostgreSQL (TSR_H_PG or TSR_H_PG_FILE; ctest's test_nodes_pg):
 * every test is skipped otherwise. The nodes share the first one's database
 * (a later --db wins over the harness's own). A token created on one node
 * verifies on the others at once (a miss of the index asks the database); a
 * token revoked on one is refused on every node within 1 s (NOTIFY wakes
 * each node's sync); a change of expiry and an operator's `tesserad user
 * remove` reach every node.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        cmocka_unit_test(test_unknown_refused),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
