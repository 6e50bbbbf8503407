/* test_scopes.c - the service's scopes: add, remove, list, and the catalog that verifies read */
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

#include <cmocka.h>

#include "core/scope.h"
#include "service/internal.h"

struct fixture {
    char dir[64];
    char db[128];
    struct tsr_store *store;
    struct tsr_service *svc;
};

/* A service whose background sync runs every sync_ms. */
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

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/tsr-scopes-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
    /* No background sync during a test: each says when to sync. */
    open_service(f, 600000, &f->store, &f->svc);
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

static bool known(struct tsr_service *svc, const char *s)
{
    return tsr__scope_known(svc, s, strlen(s));
}

static void test_builtins_known(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < tsr_builtin_scope_count; i++)
        assert_true(known(f->svc, tsr_builtin_scopes[i].name));
    assert_true(known(f->svc, "global"));
    assert_false(known(f->svc, "admin"));
    assert_false(known(f->svc, "orders:read"));
    assert_false(known(f->svc, ""));
    assert_false(tsr__scope_known(f->svc, NULL, 0));
    /* Only the len bytes count: a longer name that starts as one does not. */
    assert_true(tsr__scope_known(f->svc, "globalx", 6));
    assert_false(tsr__scope_known(f->svc, "global", 5));
    assert_false(tsr__scope_known(f->svc, "glob\0al", 7));
}

static void test_add_and_remove(void **state)
{
    struct fixture *f = *state;
    struct tsr_problem why = {0};

    assert_int_equal(tsr_scopes_add(f->svc, "orders:read", "  Read orders \n", &why), TSR_OK);
    /* The process that added it knows at once. */
    assert_true(known(f->svc, "orders:read"));
    assert_false(known(f->svc, "orders"));
    assert_false(known(f->svc, "orders:rea"));
    assert_false(known(f->svc, "orders:readx"));

    assert_int_equal(tsr_scopes_add(f->svc, "orders:read", NULL, &why), TSR_ERR_EXISTS);
    assert_string_equal(why.field, "name");
    assert_int_equal(tsr_scopes_add(f->svc, "global", NULL, &why), TSR_ERR_INVALID);
    assert_int_equal(tsr_scopes_add(f->svc, "admin", NULL, &why), TSR_ERR_INVALID);
    assert_int_equal(tsr_scopes_add(f->svc, "Orders", NULL, &why), TSR_ERR_INVALID);
    assert_string_equal(why.field, "name");
    assert_int_equal(tsr_scopes_add(f->svc, "ok", "bad\x01", &why), TSR_ERR_INVALID);
    assert_string_equal(why.field, "description");
    assert_false(known(f->svc, "ok"));

    assert_int_equal(tsr_scopes_remove(f->svc, "tokens:read", &why), TSR_ERR_INVALID);
    assert_int_equal(tsr_scopes_remove(f->svc, "nope", &why), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_scopes_remove(f->svc, "orders:read", &why), TSR_OK);
    assert_false(known(f->svc, "orders:read"));
}

struct listed {
    int n;
    char name[16][TSR_SCOPE_NAME_MAX + 1];
    char description[16][64];
    bool builtin[16];
};

static enum tsr_err see(const struct tsr_scope_row *s, bool builtin, void *ctx)
{
    struct listed *l = ctx;

    assert_true(l->n < 16);
    snprintf(l->name[l->n], sizeof(l->name[0]), "%s", s->name);
    snprintf(l->description[l->n], sizeof(l->description[0]), "%.63s", s->description);
    l->builtin[l->n] = builtin;
    l->n++;
    return TSR_OK;
}

static void test_list_pages(void **state)
{
    struct fixture *f = *state;
    struct tsr_problem why = {0};
    struct listed l;
    int64_t total = 0;
    size_t b = tsr_builtin_scope_count;

    assert_int_equal(tsr_scopes_add(f->svc, "zz", NULL, &why), TSR_OK);
    assert_int_equal(tsr_scopes_add(f->svc, "aa", " trimmed ", &why), TSR_OK);

    memset(&l, 0, sizeof(l));
    assert_int_equal(tsr_scopes_list(f->svc, 0, 100, see, &l, &total), TSR_OK);
    assert_int_equal(total, (int64_t)b + 2);
    assert_int_equal(l.n, (int)b + 2);
    for (size_t i = 0; i < b; i++) {
        assert_string_equal(l.name[i], tsr_builtin_scopes[i].name);
        assert_true(l.builtin[i]);
    }
    assert_string_equal(l.name[b], "aa");
    assert_string_equal(l.description[b], "trimmed");
    assert_false(l.builtin[b]);
    assert_string_equal(l.name[b + 1], "zz");

    /* A page across the two kinds. */
    memset(&l, 0, sizeof(l));
    assert_int_equal(tsr_scopes_list(f->svc, (int64_t)b - 1, 2, see, &l, &total), TSR_OK);
    assert_int_equal(total, (int64_t)b + 2);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.name[0], tsr_builtin_scopes[b - 1].name);
    assert_string_equal(l.name[1], "aa");

    memset(&l, 0, sizeof(l));
    assert_int_equal(tsr_scopes_list(f->svc, 100, 10, see, &l, &total), TSR_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(total, (int64_t)b + 2);
    memset(&l, 0, sizeof(l));
    assert_int_equal(tsr_scopes_list(f->svc, 0, 0, see, &l, &total), TSR_OK);
    assert_int_equal(l.n, 0);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
    struct timespec ts = {0, 5 * 1000000L};

    nanosleep(&ts, NULL);
}

/* Another process (the operator's command) adds and removes a scope: a
 * sync sees it, and a running server's own sync within a second. */
static void test_other_process_within_a_second(void **state)
{
    struct fixture *f = *state;
    struct tsr_store *store2 = NULL, *store3 = NULL;
    struct tsr_service *running = NULL, *cmd = NULL;
    struct tsr_problem why = {0};
    int64_t start;

    open_service(f, 200, &store2, &running);
    open_service(f, 600000, &store3, &cmd);
    assert_int_equal(tsr_scopes_add(cmd, "orders:read", NULL, &why), TSR_OK);

    assert_false(known(f->svc, "orders:read"));
    assert_int_equal(tsr_service_sync(f->svc), TSR_OK);
    assert_true(known(f->svc, "orders:read"));

    start = mono_ms();
    while (!known(running, "orders:read") && mono_ms() - start < 5000)
        nap();
    assert_true(known(running, "orders:read"));
    assert_true(mono_ms() - start < 1000);

    assert_int_equal(tsr_scopes_remove(cmd, "orders:read", &why), TSR_OK);
    start = mono_ms();
    while (known(running, "orders:read") && mono_ms() - start < 5000)
        nap();
    assert_false(known(running, "orders:read"));
    assert_true(mono_ms() - start < 1000);
    assert_int_equal(tsr_service_sync(f->svc), TSR_OK);
    assert_false(known(f->svc, "orders:read"));

    close_service(store3, cmd);
    close_service(store2, running);
}

struct reader {
    struct tsr_service *svc;
    atomic_bool *stop;
    long checks;
};

static void *read_catalog(void *arg)
{
    struct reader *r = arg;

    while (!atomic_load(r->stop)) {
        /* Always there, whatever a refresh does meanwhile. */
        assert_true(known(r->svc, "keep.me"));
        assert_true(known(r->svc, "tokens:read"));
        (void)known(r->svc, "comes.and.goes");
        r->checks++;
    }
    return NULL;
}

/* Verifies read the catalog on many threads while a sync swaps it. */
static void test_readers_during_refresh(void **state)
{
    struct fixture *f = *state;
    struct tsr_problem why = {0};
    struct reader readers[4];
    pthread_t th[4];
    atomic_bool stop;

    atomic_init(&stop, false);
    assert_int_equal(tsr_scopes_add(f->svc, "keep.me", NULL, &why), TSR_OK);
    for (int i = 0; i < 4; i++) {
        readers[i] = (struct reader){f->svc, &stop, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_catalog, &readers[i]), 0);
    }
    for (int i = 0; i < 50; i++) {
        assert_int_equal(tsr_scopes_add(f->svc, "comes.and.goes", NULL, &why), TSR_OK);
        assert_true(known(f->svc, "comes.and.goes"));
        assert_int_equal(tsr_scopes_remove(f->svc, "comes.and.goes", &why), TSR_OK);
        assert_false(known(f->svc, "comes.and.goes"));
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(readers[i].checks > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_process_within_a_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_during_refresh, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
