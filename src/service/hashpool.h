/* hashpool.h - the threads that check passwords, apart from those that serve requests
 *
 * Argon2id is meant to be slow: checked on the threads that answer HTTP, a
 * flood of wrong passwords (within the per-address limits, from many
 * addresses) made every verify wait behind it. A login is handed to this
 * pool instead, whose queue is bounded: when it is full the login is
 * refused at once, so that a flood costs at most the pool's threads.
 */
#ifndef TSR_SERVICE_HASHPOOL_H
#define TSR_SERVICE_HASHPOOL_H

#include "service/service.h"

#define TSR_HASH_QUEUE_DEFAULT 64 /* logins that may wait for a thread */

struct tsr__hashpool;

/* Starts threads (at least 1) that call run for each submitted op, in the
 * order submitted; at most queue ops (at least 1) wait for a thread. */
enum tsr_err tsr__hashpool_new(unsigned threads, unsigned queue,
                               void (*run)(struct tsr_login_op *op),
                               struct tsr__hashpool **out) TSR_MUST_CHECK;

/* Queues op. TSR_OK: run(op) will be called once, from a pool thread.
 * TSR_ERR_BUSY when queue ops already wait: run is never called. */
enum tsr_err tsr__hashpool_submit(struct tsr__hashpool *pool,
                                  struct tsr_login_op *op) TSR_MUST_CHECK;

/* Runs what is still queued, stops the threads and frees the pool; NULL is
 * a no-op. */
void tsr__hashpool_free(struct tsr__hashpool *pool);

/* The default number of threads: half the cores, at least one, so that
 * hashing never takes every core from the threads that serve verify. */
unsigned tsr__hashpool_default_threads(void);

#endif
