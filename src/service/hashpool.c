/* hashpool.c - a bounded queue of logins and the threads that work it off */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "service/hashpool.h"

struct tsr__hashpool {
    pthread_mutex_t lock; /* guards the queue and stopping */
    pthread_cond_t wake;
    struct tsr_login_op *head, *tail;
    unsigned queued, max_queued;
    bool stopping;
    void (*run)(struct tsr_login_op *op);
    pthread_t *threads;
    unsigned nthreads; /* started */
};

unsigned tsr__hashpool_default_threads(void)
{
    long half = sysconf(_SC_NPROCESSORS_ONLN) / 2;

    return half > 1 ? (unsigned)half : 1;
}

static void *worker_main(void *arg)
{
    struct tsr__hashpool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        struct tsr_login_op *op = pool->head;

        if (!op) {
            if (pool->stopping)
                break;
            pthread_cond_wait(&pool->wake, &pool->lock);
            continue;
        }
        pool->head = op->next;
        if (!pool->head)
            pool->tail = NULL;
        pool->queued--;
        pthread_mutex_unlock(&pool->lock);
        pool->run(op);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

enum tsr_err tsr__hashpool_new(unsigned threads, unsigned queue,
                               void (*run)(struct tsr_login_op *op), struct tsr__hashpool **out)
{
    struct tsr__hashpool *pool = calloc(1, sizeof(*pool));

    *out = NULL;
    if (!pool)
        return TSR_ERR_NOMEM;
    pool->threads = calloc(threads ? threads : 1, sizeof(*pool->threads));
    if (!pool->threads) {
        free(pool);
        return TSR_ERR_NOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->max_queued = queue ? queue : 1;
    pool->run = run;
    for (unsigned i = 0; i < (threads ? threads : 1); i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
            tsr__hashpool_free(pool);
            return TSR_ERR_NOMEM;
        }
        pool->nthreads++;
    }
    *out = pool;
    return TSR_OK;
}

enum tsr_err tsr__hashpool_submit(struct tsr__hashpool *pool, struct tsr_login_op *op)
{
    enum tsr_err rc = TSR_OK;

    pthread_mutex_lock(&pool->lock);
    if (pool->queued >= pool->max_queued) {
        rc = TSR_ERR_BUSY;
    } else {
        op->next = NULL;
        if (pool->tail)
            pool->tail->next = op;
        else
            pool->head = op;
        pool->tail = op;
        pool->queued++;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

void tsr__hashpool_free(struct tsr__hashpool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    /* Each thread empties the queue before it ends: every op gets its run. */
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}
