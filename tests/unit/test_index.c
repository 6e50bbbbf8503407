/* test_index.c - the in-memory index: put, find, remove, sweep, and threads */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/secret.h"
#include "core/uuid.h"
#include "service/grant.h"
#include "service/index.h"

#define NOW 2000000000LL

static void make_token(struct tsr_token_row *t, int64_t expires_at)
{
    char secret[TSR_SECRET_LEN + 1];

    memset(t, 0, sizeof(*t));
    tsr_uuid7_new(t->id);
    tsr_uuid7_new(t->user_id);
    t->kind = TSR_TOKEN_PERSONAL;
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, t->secret_hash);
    t->expires_at = expires_at;
    memcpy(t->scopes, "global", sizeof("global"));
}

static void assert_same(const struct tsr_index_hit *hit, const struct tsr_token_row *t)
{
    char id[TSR_UUID_LEN + 1], user[TSR_UUID_LEN + 1];

    tsr_uuid_from_bytes(hit->token_id, id);
    tsr_uuid_from_bytes(hit->user_id, user);
    assert_string_equal(id, t->id);
    assert_string_equal(user, t->user_id);
    assert_int_equal(hit->expires_at, t->expires_at);
    assert_int_equal(hit->kind, t->kind);
}

static void assert_hit(struct tsr_index *ix, const struct tsr_token_row *t)
{
    struct tsr_index_hit hit;

    assert_true(tsr__index_find(ix, t->secret_hash, NOW, &hit));
    assert_same(&hit, t);
}

static void test_put_find_remove(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row a, b;
    struct tsr_index_hit hit;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&a, NOW + 100);
    make_token(&b, NOW + 200);
    assert_false(tsr__index_find(ix, a.secret_hash, NOW, &hit));
    assert_int_equal(tsr__index_put(ix, &a, NOW), TSR_OK);
    assert_int_equal(tsr__index_put(ix, &b, NOW), TSR_OK);
    assert_hit(ix, &a);
    assert_hit(ix, &b);
    assert_int_equal(tsr__index_count(ix), 2);

    /* A put of the same secret replaces, it does not add. */
    a.expires_at = NOW + 50;
    assert_int_equal(tsr__index_put(ix, &a, NOW), TSR_OK);
    assert_hit(ix, &a);
    assert_int_equal(tsr__index_count(ix), 2);

    assert_int_equal(tsr__index_revoke(ix, a.secret_hash, NOW), TSR_OK);
    assert_false(tsr__index_find(ix, a.secret_hash, NOW, &hit));
    assert_hit(ix, &b);
    assert_int_equal(tsr__index_revoke(ix, a.secret_hash, NOW), TSR_OK); /* again: fine */
    assert_int_equal(tsr__index_count(ix), 1);
    tsr__index_free(ix);
    tsr__index_free(NULL);
}

/* A restricted token's grant comes with every look-up, as a reference of
 * its own: a change of the token while a request still reads the old grant
 * frees nothing under it (ASan would see), and the next look-up sees the
 * new one. A global token with no list has none at all. */
static void test_grants_follow_changes(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t, plain;
    struct tsr_index_hit first, second, other;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 100);
    make_token(&plain, NOW + 100);
    strcpy(t.scopes, "orders:read tokens:write");
    strcpy(t.allowed_ips, "10.0.0.0/8 2001:db8::/32");
    t.change_seq = 1;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_int_equal(tsr__index_put(ix, &plain, NOW), TSR_OK);

    assert_true(tsr__index_find(ix, plain.secret_hash, NOW, &other));
    assert_null(other.grant);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW, &first));
    assert_non_null(first.grant);
    assert_true(tsr__grant_holds(first.grant, "orders:read", 11, true));
    assert_true(tsr__grant_holds(first.grant, "tokens:read", 11, true));   /* implied */
    assert_false(tsr__grant_holds(first.grant, "orders:read", 11, false)); /* gone */
    assert_false(tsr__grant_holds(first.grant, "orders:write", 12, true));
    assert_false(tsr__grant_holds(first.grant, "orders", 6, true)); /* a prefix is not a name */
    assert_true(tsr__grant_allows(first.grant, "10.200.0.1"));
    assert_true(tsr__grant_allows(first.grant, "::ffff:10.0.0.1"));
    assert_true(tsr__grant_allows(first.grant, "2001:db8:1::1"));
    assert_false(tsr__grant_allows(first.grant, "192.0.2.1"));
    assert_false(tsr__grant_allows(first.grant, "")); /* unknown: fail closed */

    strcpy(t.scopes, "global");
    t.allowed_ips[0] = '\0';
    t.not_before = NOW + 50;
    t.change_seq = 2;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW, &second));
    assert_non_null(second.grant);
    assert_true(second.grant->global);
    assert_int_equal(second.grant->not_before, NOW + 50);
    /* The old one is still whole for whoever holds it. */
    assert_string_equal(first.grant->scopes, "orders:read tokens:write");
    tsr__grant_unref(first.grant);

    assert_int_equal(tsr__index_revoke(ix, t.secret_hash, NOW), TSR_OK);
    assert_false(tsr__index_find(ix, t.secret_hash, NOW, &first));
    assert_true(second.grant->global);
    tsr__grant_unref(second.grant);
    tsr__index_free(ix);
}

/* A stored list that does not parse is a fault, and fails closed. */
static void test_broken_grant_refuses(void **state)
{
    struct tsr_token_row t;
    struct tsr_grant *g = NULL;

    (void)state;
    make_token(&t, NOW + 100);
    strcpy(t.allowed_ips, "10.0.0.1/8");
    assert_int_equal(tsr__grant_from_row(&t, &g), TSR_OK);
    assert_non_null(g);
    assert_false(tsr__grant_allows(g, "10.0.0.1"));
    assert_false(tsr__grant_holds(g, "global", 6, true));
    tsr__grant_unref(g);
    strcpy(t.allowed_ips, "");
    t.scopes[0] = '\0';
    assert_int_equal(tsr__grant_from_row(&t, &g), TSR_OK);
    assert_non_null(g);
    assert_false(tsr__grant_holds(g, "tokens:read", 11, true));
    tsr__grant_unref(g);
}

static void test_newly_used_once_a_second(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t;
    struct tsr_index_hit hit;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 100);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW, &hit));
    assert_true(hit.newly_used);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW, &hit));
    assert_false(hit.newly_used);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW + 1, &hit));
    assert_true(hit.newly_used);
    /* A replace (an update of the token) keeps what was noted. */
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_true(tsr__index_find(ix, t.secret_hash, NOW + 1, &hit));
    assert_false(hit.newly_used);
    tsr__index_free(ix);
}

/* Many entries, then half removed in random order: linear probing with
 * backward shifts must keep every remaining entry reachable. */
static void test_many_and_removals(void **state)
{
    enum { N = 100000 };
    struct tsr_index *ix = NULL;
    struct tsr_token_row *rows = calloc(N, sizeof(*rows));
    struct tsr_index_hit hit;
    size_t *order = calloc(N, sizeof(*order));

    (void)state;
    assert_non_null(rows);
    assert_non_null(order);
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    for (size_t i = 0; i < N; i++) {
        make_token(&rows[i], NOW + 100000 + (int64_t)i);
        assert_int_equal(tsr__index_put(ix, &rows[i], NOW), TSR_OK);
        order[i] = i;
    }
    assert_int_equal(tsr__index_count(ix), N);
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = randombytes_uniform((uint32_t)(i + 1)), tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
    }
    for (size_t i = 0; i < N / 2; i++)
        assert_int_equal(tsr__index_revoke(ix, rows[order[i]].secret_hash, NOW), TSR_OK);
    assert_int_equal(tsr__index_count(ix), N - N / 2);
    for (size_t i = N / 2; i < N; i++)
        assert_hit(ix, &rows[order[i]]);
    for (size_t i = 0; i < N / 2; i++)
        assert_false(tsr__index_find(ix, rows[order[i]].secret_hash, NOW, &hit));
    /* Once their minute has passed, the sweep drops the tombstones: the
     * backward shifts of linear probing keep every other entry reachable. */
    tsr__index_sweep(ix, NOW + 61);
    assert_int_equal(tsr__index_count(ix), N - N / 2);
    for (size_t i = N / 2; i < N; i++)
        assert_hit(ix, &rows[order[i]]);
    for (size_t i = 0; i < N / 2; i++)
        assert_false(tsr__index_find(ix, rows[order[i]].secret_hash, NOW, &hit));
    tsr__index_free(ix);
    free(rows);
    free(order);
}

/* More tokens in use than the index keeps copies of (32,768): finds evict
 * copies and make new ones, yet each answer follows the latest put or
 * revoke, and a use is passed on once a second, however often its copy
 * came and went. */
static void test_copies_follow_changes(void **state)
{
    enum { N = 50000 };
    struct tsr_index *ix = NULL;
    struct tsr_token_row *rows = calloc(N, sizeof(*rows));
    struct tsr_index_hit hit;
    size_t newly = 0;

    (void)state;
    assert_non_null(rows);
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    for (size_t i = 0; i < N; i++) {
        make_token(&rows[i], NOW + 100);
        assert_int_equal(tsr__index_put(ix, &rows[i], NOW), TSR_OK);
    }
    for (size_t i = 0; i < N; i++) {
        assert_true(tsr__index_find(ix, rows[i].secret_hash, NOW, &hit));
        assert_true(hit.newly_used);
    }
    for (size_t i = 0; i < N; i += 2) {
        rows[i].expires_at = NOW + 200 + (int64_t)i;
        assert_int_equal(tsr__index_put(ix, &rows[i], NOW), TSR_OK);
    }
    for (size_t i = 1; i < N; i += 10)
        assert_int_equal(tsr__index_revoke(ix, rows[i].secret_hash, NOW), TSR_OK);
    for (size_t round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            if (i % 10 == 1) {
                assert_false(tsr__index_find(ix, rows[i].secret_hash, NOW, &hit));
                continue;
            }
            assert_true(tsr__index_find(ix, rows[i].secret_hash, NOW, &hit));
            assert_same(&hit, &rows[i]);
            newly += hit.newly_used;
        }
    }
    assert_int_equal(newly, 0);
    tsr__index_free(ix);
    free(rows);
}

/* Many tokens of a few users must each still name their own. */
static void test_tokens_share_users(void **state)
{
    enum { USERS = 3, TOKENS = 3000 };
    struct tsr_index *ix = NULL;
    struct tsr_token_row *rows = calloc(TOKENS, sizeof(*rows));
    char users[USERS][TSR_UUID_LEN + 1];

    (void)state;
    assert_non_null(rows);
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    for (size_t u = 0; u < USERS; u++)
        tsr_uuid7_new(users[u]);
    for (size_t i = 0; i < TOKENS; i++) {
        make_token(&rows[i], NOW + 100);
        memcpy(rows[i].user_id, users[i % USERS], sizeof(rows[i].user_id));
        assert_int_equal(tsr__index_put(ix, &rows[i], NOW), TSR_OK);
    }
    for (size_t i = 0; i < TOKENS; i++)
        assert_hit(ix, &rows[i]);
    tsr__index_free(ix);
    free(rows);
}

/* Revocation is final, and an older row never overwrites a newer one: what
 * a sync that read the store a moment too early would try. */
static void test_stale_puts_lose(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t, stale;
    struct tsr_index_hit hit;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 100);
    t.change_seq = 5;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    stale = t;
    stale.change_seq = 4;
    stale.expires_at = NOW + 999;
    assert_int_equal(tsr__index_put(ix, &stale, NOW), TSR_OK);
    assert_hit(ix, &t);

    assert_int_equal(tsr__index_revoke(ix, t.secret_hash, NOW), TSR_OK);
    t.change_seq = 9;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_false(tsr__index_find(ix, t.secret_hash, NOW, &hit));
    assert_int_equal(tsr__index_count(ix), 0);

    /* Revoked before the index ever saw it: the sync's put comes too late. */
    make_token(&stale, NOW + 100);
    assert_int_equal(tsr__index_revoke(ix, stale.secret_hash, NOW), TSR_OK);
    assert_int_equal(tsr__index_put(ix, &stale, NOW), TSR_OK);
    assert_false(tsr__index_find(ix, stale.secret_hash, NOW, &hit));
    tsr__index_free(ix);
}

static void test_sweep(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row live, dead[50];
    struct tsr_index_hit hit;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&live, NOW + 10);
    assert_int_equal(tsr__index_put(ix, &live, NOW), TSR_OK);
    for (size_t i = 0; i < 50; i++) {
        make_token(&dead[i], NOW - (int64_t)i);
        assert_int_equal(tsr__index_put(ix, &dead[i], NOW), TSR_OK);
    }
    tsr__index_sweep(ix, NOW);
    assert_int_equal(tsr__index_count(ix), 1);
    assert_hit(ix, &live);
    for (size_t i = 0; i < 50; i++)
        assert_false(tsr__index_find(ix, dead[i].secret_hash, NOW, &hit));
    tsr__index_free(ix);
}

/* Readers find the tokens that stay while a writer adds and removes others:
 * none of theirs may ever be missed (run under TSan too). */
struct race {
    struct tsr_index *ix;
    struct tsr_token_row *stay;
    size_t nstay;
    atomic_bool done;
    atomic_long misses;
    atomic_long finds;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    struct tsr_index_hit hit;
    size_t i = 0;

    while (!atomic_load(&r->done)) {
        if (!tsr__index_find(r->ix, r->stay[i % r->nstay].secret_hash, NOW + (int64_t)(i % 7),
                             &hit))
            atomic_fetch_add(&r->misses, 1);
        atomic_fetch_add(&r->finds, 1);
        i++;
    }
    return NULL;
}

/* ---- rotation ---- */

/* r rotated: its secret becomes the previous one, good until `until`, and
 * it gets a new secret and the next change_seq. */
static void rotate(struct tsr_token_row *r, int64_t until)
{
    struct tsr_token_row fresh;

    make_token(&fresh, r->expires_at);
    memcpy(r->prev_secret_hash, r->secret_hash, TSR_HASH_LEN);
    memcpy(r->secret_hash, fresh.secret_hash, TSR_HASH_LEN);
    r->has_prev = true;
    r->prev_until = until;
    r->change_seq++;
}

static bool found(struct tsr_index *ix, const uint8_t *hash, int64_t now)
{
    struct tsr_index_hit hit;
    bool f = tsr__index_find(ix, hash, now, &hit);

    if (f)
        tsr__grant_unref(hit.grant);
    return f;
}

/* With a grace both secrets are found, the old one until its grace ends
 * (its hit says so); without one, only the new secret. */
static void test_rotation_grace(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t;
    struct tsr_index_hit hit;
    uint8_t first[TSR_HASH_LEN];

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 1000);
    t.change_seq = 1;
    memcpy(first, t.secret_hash, TSR_HASH_LEN);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    rotate(&t, NOW + 30);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_hit(ix, &t);
    assert_true(tsr__index_find(ix, first, NOW, &hit));
    assert_int_equal(hit.expires_at, NOW + 30);
    assert_int_equal(tsr__index_count(ix), 2);

    /* The grace ends: a tombstone that no older row brings back. */
    tsr__index_sweep(ix, NOW + 30);
    assert_false(found(ix, first, NOW + 30));
    memcpy(t.secret_hash, first, TSR_HASH_LEN);
    t.has_prev = false;
    t.change_seq = 1;
    assert_int_equal(tsr__index_put(ix, &t, NOW + 30), TSR_OK);
    assert_false(found(ix, first, NOW + 30));
    tsr__index_free(ix);
}

static void test_rotation_without_grace(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t, before;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 1000);
    t.change_seq = 1;
    before = t;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    rotate(&t, NOW);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_hit(ix, &t);
    assert_false(found(ix, before.secret_hash, NOW));
    /* A sync that read the row before the rotation changes nothing. */
    assert_int_equal(tsr__index_put(ix, &before, NOW), TSR_OK);
    assert_false(found(ix, before.secret_hash, NOW));
    assert_int_equal(tsr__index_count(ix), 1);
    tsr__index_free(ix);
}

/* A second rotation ends the grace the first began, seen step by step or
 * only at the end (a node that missed the middle row), and a row read
 * before it brings nothing back. */
static void test_rotation_twice(void **state)
{
    struct tsr_index *ix = NULL, *missed = NULL;
    struct tsr_token_row t, middle;
    uint8_t first[TSR_HASH_LEN];

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    assert_int_equal(tsr__index_new(&missed), TSR_OK);
    make_token(&t, NOW + 1000);
    t.change_seq = 1;
    memcpy(first, t.secret_hash, TSR_HASH_LEN);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_int_equal(tsr__index_put(missed, &t, NOW), TSR_OK);
    rotate(&t, NOW + 300);
    middle = t;
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_true(found(ix, first, NOW));
    rotate(&t, NOW + 300);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    assert_int_equal(tsr__index_put(missed, &t, NOW), TSR_OK);
    for (int i = 0; i < 2; i++) {
        struct tsr_index *x = i ? missed : ix;

        assert_false(found(x, first, NOW));
        assert_true(found(x, middle.secret_hash, NOW));
        assert_hit(x, &t);
        assert_int_equal(tsr__index_put(x, &middle, NOW), TSR_OK);
        assert_false(found(x, first, NOW));
        assert_hit(x, &t);
        assert_int_equal(tsr__index_count(x), 2);
    }
    tsr__index_free(ix);
    tsr__index_free(missed);
}

/* A revocation refuses every secret of the token, the one in grace too. */
static void test_rotation_revoked(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t;
    uint8_t first[TSR_HASH_LEN];

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 1000);
    t.change_seq = 1;
    memcpy(first, t.secret_hash, TSR_HASH_LEN);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    rotate(&t, NOW + 300);
    assert_int_equal(tsr__index_put(ix, &t, NOW), TSR_OK);
    t.change_seq++;
    t.revoked_at = NOW;
    assert_int_equal(tsr__index_revoke_token(ix, &t, NOW), TSR_OK);
    assert_false(found(ix, first, NOW));
    assert_false(found(ix, t.secret_hash, NOW));
    assert_int_equal(tsr__index_count(ix), 0);
    tsr__index_free(ix);
}

/* The grace never outlives the token's expiry, and filling an index from
 * the store puts both secrets. */
static void test_rotation_loaded(void **state)
{
    struct tsr_index *ix = NULL;
    struct tsr_token_row t;
    struct tsr_index_hit hit;

    (void)state;
    assert_int_equal(tsr__index_new(&ix), TSR_OK);
    make_token(&t, NOW + 100);
    t.change_seq = 1;
    rotate(&t, NOW + 500);
    assert_int_equal(tsr__index_load(ix, &t, NOW), TSR_OK);
    assert_hit(ix, &t);
    assert_true(tsr__index_find(ix, t.prev_secret_hash, NOW, &hit));
    assert_int_equal(hit.expires_at, NOW + 100);
    tsr__index_free(ix);
}

static void test_concurrent_readers_and_writer(void **state)
{
    enum { STAY = 2000, CHURN = 20000, READERS = 4 };
    struct race r = {0};
    struct tsr_token_row *churn = calloc(CHURN, sizeof(*churn));
    pthread_t threads[READERS];

    (void)state;
    r.stay = calloc(STAY, sizeof(*r.stay));
    r.nstay = STAY;
    assert_non_null(churn);
    assert_non_null(r.stay);
    assert_int_equal(tsr__index_new(&r.ix), TSR_OK);
    for (size_t i = 0; i < STAY; i++) {
        make_token(&r.stay[i], NOW + 100);
        assert_int_equal(tsr__index_put(r.ix, &r.stay[i], NOW), TSR_OK);
    }
    for (size_t i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, reader, &r), 0);
    for (size_t i = 0; i < CHURN; i++) {
        make_token(&churn[i], NOW + 100);
        assert_int_equal(tsr__index_put(r.ix, &churn[i], NOW), TSR_OK);
        if (i % 2 == 1)
            assert_int_equal(tsr__index_revoke(r.ix, churn[i - 1].secret_hash, NOW), TSR_OK);
    }
    atomic_store(&r.done, true);
    for (size_t i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(atomic_load(&r.misses), 0);
    assert_true(atomic_load(&r.finds) > 0);
    assert_int_equal(tsr__index_count(r.ix), STAY + CHURN / 2);
    tsr__index_free(r.ix);
    free(r.stay);
    free(churn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_find_remove),
        cmocka_unit_test(test_newly_used_once_a_second),
        cmocka_unit_test(test_grants_follow_changes),
        cmocka_unit_test(test_broken_grant_refuses),
        cmocka_unit_test(test_many_and_removals),
        cmocka_unit_test(test_copies_follow_changes),
        cmocka_unit_test(test_tokens_share_users),
        cmocka_unit_test(test_stale_puts_lose),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_rotation_grace),
        cmocka_unit_test(test_rotation_without_grace),
        cmocka_unit_test(test_rotation_twice),
        cmocka_unit_test(test_rotation_revoked),
        cmocka_unit_test(test_rotation_loaded),
        cmocka_unit_test(test_concurrent_readers_and_writer),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
