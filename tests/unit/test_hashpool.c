/* test_hashpool.c - the password-checking threads: their bounded queue, their order, their stop */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "service/hashpool.h"

#define OPS 8

/* A run that holds its thread until the test lets it go, and notes the
 * order in which ops ran. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static bool released;
static int started, order[OPS * 2];

static void held_run(struct tsr_login_op *op)
{
    pthread_mutex_lock(&lock);
    order[started++] = (int)(intptr_t)op->ctx;
    pthread_cond_broadcast(&changed);
    while (!released)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void reset(void)
{
    released = false;
    started = 0;
}

static void wait_started(int n)
{
    pthread_mutex_lock(&lock);
    while (started < n)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void release(void)
{
    pthread_mutex_lock(&lock);
    released = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* One thread busy, two places: the fourth op is refused at once, and the
 * freed pool still runs the two that waited, in order. */
static void test_full_queue_refuses_and_stop_runs_the_rest(void **state)
{
    struct tsr__hashpool *pool = NULL;
    struct tsr_login_op ops[4] = {0};

    (void)state;
    reset();
    for (int i = 0; i < 4; i++)
        ops[i].ctx = (void *)(intptr_t)i;
    assert_int_equal(tsr__hashpool_new(1, 2, held_run, &pool), TSR_OK);
    assert_int_equal(tsr__hashpool_submit(pool, &ops[0]), TSR_OK);
    wait_started(1); /* ops[0] holds the only thread */
    assert_int_equal(tsr__hashpool_submit(pool, &ops[1]), TSR_OK);
    assert_int_equal(tsr__hashpool_submit(pool, &ops[2]), TSR_OK);
    assert_int_equal(tsr__hashpool_submit(pool, &ops[3]), TSR_ERR_BUSY);
    assert_int_equal(started, 1);
    release();
    tsr__hashpool_free(pool);
    assert_int_equal(started, 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    tsr__hashpool_free(NULL);
}

/* Every thread works: with OPS threads, OPS ops run at once. */
static void test_threads_work_at_once(void **state)
{
    struct tsr__hashpool *pool = NULL;
    struct tsr_login_op ops[OPS] = {0};

    (void)state;
    reset();
    assert_int_equal(tsr__hashpool_new(OPS, 1, held_run, &pool), TSR_OK);
    for (int i = 0; i < OPS; i++) {
        ops[i].ctx = (void *)(intptr_t)i;
        assert_int_equal(tsr__hashpool_submit(pool, &ops[i]), TSR_OK);
        wait_started(i + 1); /* taken by a thread: the queue's one place is free again */
    }
    release();
    tsr__hashpool_free(pool);
    assert_int_equal(started, OPS);
}

static void test_default_threads(void **state)
{
    (void)state;
    assert_true(tsr__hashpool_default_threads() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_queue_refuses_and_stop_runs_the_rest),
        cmocka_unit_test(test_threads_work_at_once),
        cmocka_unit_test(test_default_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
