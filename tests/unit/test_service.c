/* test_service.c - the service's hot path: no database, revocation at once, sync, usage */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "service/service.h"

#define PASSWORD "correct horse battery"

struct fixture {
    char dir[64];
    char db[128];
    struct tsr_store *store;
    struct tsr_service *svc;
    struct tsr_principal admin; /* by a session token */
};

/* A service whose background writer stays asleep during the test, unless
 * sync_ms says otherwise. */
static void open_service(struct fixture *f, int sync_ms, struct tsr_store **store,
                         struct tsr_service **svc)
{
    struct tsr_service_config cfg;
    char why[256];

    tsr_service_config_defaults(&cfg);
    cfg.flush_interval_ms = 600000;
    cfg.sync_interval_ms = sync_ms;
    assert_int_equal(tsr_store_open(f->db, store, why, sizeof(why)), TSR_OK);
    assert_int_equal(tsr_service_new(*store, &cfg, svc), TSR_OK);
}

static void close_service(struct tsr_store *store, struct tsr_service *svc)
{
    tsr_service_free(svc);
    tsr_store_close(store);
}

static void login(struct fixture *f, const char *email, struct tsr_principal *p)
{
    struct tsr_session s;

    assert_int_equal(
        tsr_auth_login(f->svc, email, strlen(email), PASSWORD, strlen(PASSWORD), "127.0.0.1", &s),
        TSR_OK);
    assert_int_equal(
        tsr_auth_secret(f->svc, s.secret, TSR_SECRET_LEN, TSR_ACCEPT_SESSION, "127.0.0.1", p),
        TSR_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct tsr_user_row user;
    struct tsr_problem why;

    snprintf(f->dir, sizeof(f->dir), "/tmp/tsr-service-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
    open_service(f, 600000, &f->store, &f->svc);
    assert_int_equal(tsr_users_add(f->svc, "admin@example.com", PASSWORD, &user, &why), TSR_OK);
    login(f, "admin@example.com", &f->admin);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    close_service(f->store, f->svc);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void create(struct fixture *f, const char *name, int64_t lifetime, struct tsr_token_row *t,
                   char secret[TSR_SECRET_LEN + 1])
{
    char when[TSR_TIME_LEN + 1];
    struct tsr_token_input in = {0};
    struct tsr_problem why;

    tsr_time_format(tsr_time_now() + lifetime, when);
    in.name = (struct tsr_field){.has = true, .s = name, .len = strlen(name)};
    in.expires_at = (struct tsr_field){.has = true, .s = when, .len = strlen(when)};
    assert_int_equal(tsr_tokens_create(f->svc, &f->admin, &in, "127.0.0.1", t, secret, &why),
                     TSR_OK);
}

static enum tsr_err verify(struct tsr_service *svc, const char *secret)
{
    struct tsr_principal p;

    return tsr_auth_secret(svc, secret, strlen(secret), TSR_ACCEPT_PERSONAL, "127.0.0.1", &p);
}

/* A scope the operator has just added from another process can be given
 * at once, before the next sync: the list of scopes already shows it. */
static void test_new_scope_usable_before_sync(void **state)
{
    struct fixture *f = *state;
    struct tsr_store *store2 = NULL;
    struct tsr_service *cmd = NULL;
    struct tsr_problem why = {0};
    struct tsr_token_row t;
    struct tsr_token_input in = {0};
    char secret[TSR_SECRET_LEN + 1], when[TSR_TIME_LEN + 1];

    open_service(f, 600000, &store2, &cmd);
    assert_int_equal(tsr_scopes_add(cmd, "orders:read", NULL, &why), TSR_OK);
    close_service(store2, cmd);
    tsr_time_format(tsr_time_now() + 3600, when);
    in.name = (struct tsr_field){.has = true, .s = "orders", .len = 6};
    in.expires_at = (struct tsr_field){.has = true, .s = when, .len = strlen(when)};
    in.scopes.has = true;
    in.scopes.n = 1;
    in.scopes.items[0] = (struct tsr_field){.has = true, .s = "orders:read", .len = 11};
    assert_int_equal(tsr_tokens_create(f->svc, &f->admin, &in, "", &t, secret, &why), TSR_OK);
    assert_string_equal(t.scopes, "orders:read");
    /* A name nobody added is still refused. */
    in.scopes.items[0] = (struct tsr_field){.has = true, .s = "orders:write", .len = 12};
    assert_int_equal(tsr_tokens_create(f->svc, &f->admin, &in, "", &t, secret, &why),
                     TSR_ERR_INVALID);
}

static void test_verify_runs_no_statement(void **state)
{
    struct fixture *f = *state;
    struct tsr_token_row t;
    char secret[TSR_SECRET_LEN + 1], unknown[TSR_SECRET_LEN + 1];
    uint64_t before;

    create(f, "hot", 3600, &t, secret);
    tsr_secret_generate(TSR_SECRET_PERSONAL, unknown);
    before = tsr_store_statements(f->store);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(verify(f->svc, secret), TSR_OK);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(verify(f->svc, unknown), TSR_ERR_UNAUTHORIZED);
        assert_int_equal(verify(f->svc, "tsr_garbage"), TSR_ERR_UNAUTHORIZED);
    }
    assert_int_equal(tsr_store_statements(f->store), before);
    /* The counter does count: a list is a statement or more. */
    assert_int_equal(tsr_service_flush(f->svc), TSR_OK);
    assert_true(tsr_store_statements(f->store) > before);
}

struct hammer {
    struct tsr_service *svc;
    const char *secret;
    atomic_bool revoked; /* set once the revoke has returned */
    atomic_bool stop;
    atomic_long late_successes;
    atomic_long calls;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;

    while (!atomic_load(&h->stop)) {
        bool after = atomic_load(&h->revoked);

        if (verify(h->svc, h->secret) == TSR_OK && after)
            atomic_fetch_add(&h->late_successes, 1);
        atomic_fetch_add(&h->calls, 1);
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void test_revoke_under_concurrent_verifies(void **state)
{
    enum { THREADS = 4 };
    struct fixture *f = *state;
    struct tsr_token_row t;
    char secret[TSR_SECRET_LEN + 1];
    struct hammer h = {.svc = f->svc};
    pthread_t threads[THREADS];
    struct tsr_problem why;

    create(f, "revoked under load", 3600, &t, secret);
    h.secret = secret;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_main, &h), 0);
    sleep_ms(100);
    assert_int_equal(tsr_tokens_revoke(f->svc, &f->admin, t.id, "127.0.0.1", &why), TSR_OK);
    atomic_store(&h.revoked, true);
    assert_int_equal(verify(f->svc, secret), TSR_ERR_UNAUTHORIZED);
    sleep_ms(100);
    atomic_store(&h.stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(atomic_load(&h.late_successes), 0);
    assert_true(atomic_load(&h.calls) > THREADS);
}

static void test_update_takes_effect_at_once(void **state)
{
    struct fixture *f = *state;
    struct tsr_token_row t, after;
    struct tsr_token_input in = {0};
    struct tsr_principal p;
    struct tsr_problem why;
    char secret[TSR_SECRET_LEN + 1], when[TSR_TIME_LEN + 1];
    int64_t soon = tsr_time_now() + 2;

    create(f, "shortened", 3600, &t, secret);
    tsr_time_format(soon, when);
    in.expires_at = (struct tsr_field){.has = true, .s = when, .len = strlen(when)};
    assert_int_equal(tsr_tokens_update(f->svc, &f->admin, t.id, &in, "", &after, &why), TSR_OK);
    assert_int_equal(tsr_auth_secret(f->svc, secret, TSR_SECRET_LEN, TSR_ACCEPT_PERSONAL, "", &p),
                     TSR_OK);
    assert_int_equal(p.expires_at, soon);
    while (tsr_time_now() <= soon)
        sleep_ms(100);
    assert_int_equal(verify(f->svc, secret), TSR_ERR_UNAUTHORIZED);
}

/* An expired token cannot change: the service reads it and refuses,
 * whatever the store would write, and nothing of it changes. */
static void test_expired_token_cannot_change(void **state)
{
    struct fixture *f = *state;
    struct tsr_token_row t, got, after;
    struct tsr_token_input in = {0};
    struct tsr_problem why;
    char secret[TSR_SECRET_LEN + 1];
    int64_t now = tsr_time_now();

    memset(&t, 0, sizeof(t));
    tsr_uuid7_new(t.id);
    memcpy(t.user_id, f->admin.user_id, sizeof(t.user_id));
    t.kind = TSR_TOKEN_PERSONAL;
    snprintf(t.name, sizeof(t.name), "old");
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, t.secret_hash);
    tsr_secret_hint(secret, t.key_hint);
    t.created = now - 10;
    t.expires_at = now; /* expires_at == now is expired already */
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, now, NULL), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, t.user_id, t.id, &t), TSR_OK);

    in.name = (struct tsr_field){.has = true, .s = "new", .len = 3};
    assert_int_equal(tsr_tokens_update(f->svc, &f->admin, t.id, &in, "", &after, &why),
                     TSR_ERR_EXPIRED);
    assert_int_equal(tsr_store_token_get(f->store, t.user_id, t.id, &got), TSR_OK);
    assert_string_equal(got.name, "old");
    assert_int_equal(got.change_seq, t.change_seq);
    /* A token that is not there is not found, expired or not. */
    assert_int_equal(tsr_tokens_update(f->svc, &f->admin, "00000000-0000-7000-8000-000000000000",
                                       &in, "", &after, &why),
                     TSR_ERR_NOT_FOUND);
}

/* Another process (here: a second store and service on the same file)
 * removes the user; the running service refuses their token within 1 s. */
static void test_change_by_another_process_within_a_second(void **state)
{
    struct fixture *f = *state;
    struct tsr_store *store2 = NULL, *store3 = NULL;
    struct tsr_service *svc2 = NULL, *svc3 = NULL;
    struct tsr_user_row user;
    struct tsr_principal bob;
    struct tsr_problem why;
    struct tsr_token_row t;
    struct tsr_token_input in = {0};
    char secret[TSR_SECRET_LEN + 1], when[TSR_TIME_LEN + 1];
    struct timespec start, now;
    long waited_ms = 0;

    open_service(f, 200, &store2, &svc2); /* the running server */
    assert_int_equal(tsr_users_add(svc2, "bob@example.com", PASSWORD, &user, &why), TSR_OK);
    {
        struct fixture g = *f;

        g.svc = svc2;
        login(&g, "bob@example.com", &bob);
    }
    tsr_time_format(tsr_time_now() + 3600, when);
    in.name = (struct tsr_field){.has = true, .s = "bob's", .len = 5};
    in.expires_at = (struct tsr_field){.has = true, .s = when, .len = strlen(when)};
    assert_int_equal(tsr_tokens_create(svc2, &bob, &in, "", &t, secret, &why), TSR_OK);
    assert_int_equal(verify(svc2, secret), TSR_OK);

    open_service(f, 600000, &store3, &svc3); /* the operator's command */
    assert_int_equal(tsr_users_remove(svc3, "bob@example.com"), TSR_OK);
    close_service(store3, svc3);

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (verify(svc2, secret) == TSR_OK && waited_ms < 5000) {
        sleep_ms(10);
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    }
    print_message("refused after %ld ms\n", waited_ms);
    assert_int_equal(verify(svc2, secret), TSR_ERR_UNAUTHORIZED);
    assert_true(waited_ms < 1000);
    close_service(store2, svc2);
}

static void test_last_used_written_at_shutdown(void **state)
{
    struct fixture *f = *state;
    struct tsr_token_row t, got;
    char secret[TSR_SECRET_LEN + 1];
    int64_t used;

    create(f, "used once", 3600, &t, secret);
    used = tsr_time_now();
    assert_int_equal(verify(f->svc, secret), TSR_OK);
    close_service(f->store, f->svc); /* the flush interval is ten minutes */
    open_service(f, 600000, &f->store, &f->svc);
    assert_int_equal(tsr_store_token_get(f->store, t.user_id, t.id, &got), TSR_OK);
    assert_true(got.last_used_at >= used && got.last_used_at <= used + 2);
}

static enum tsr_err count_live(const struct tsr_token_row *t, void *ctx)
{
    (void)t;
    (*(size_t *)ctx)++;
    return TSR_OK;
}

static void test_index_agrees_with_store_after_restart(void **state)
{
    struct fixture *f = *state;
    struct tsr_token_row t[30];
    char secrets[30][TSR_SECRET_LEN + 1];
    size_t live = 0;
    struct tsr_problem why;

    for (int i = 0; i < 30; i++)
        create(f, "restart", 3600, &t[i], secrets[i]);
    for (int i = 0; i < 10; i++)
        assert_int_equal(tsr_tokens_revoke(f->svc, &f->admin, t[i].id, "", &why), TSR_OK);
    close_service(f->store, f->svc);
    open_service(f, 600000, &f->store, &f->svc);
    assert_int_equal(tsr_store_token_each_live(f->store, tsr_time_now(), count_live, &live, NULL),
                     TSR_OK);
    assert_int_equal(tsr_service_indexed(f->svc), live);
    for (int i = 0; i < 30; i++)
        assert_int_equal(verify(f->svc, secrets[i]), i < 10 ? TSR_ERR_UNAUTHORIZED : TSR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_runs_no_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_under_concurrent_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_takes_effect_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_token_cannot_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_by_another_process_within_a_second, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_last_used_written_at_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_scope_usable_before_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_agrees_with_store_after_restart, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
