/* commit.c - group commit: the write queue, the committer thread and the grouped token writes */
#include "store/commit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_engine.h"

struct tsr__write_job {
    enum tsr_err (*run)(struct tsr__committer *q, void *arg);
    void *arg;
    enum tsr_err rc;
    bool done;
    /* Set for a job whose caller does not wait: called once it is committed
     * (or refused), after which the committer frees the job. */
    void (*then)(void *ctx, enum tsr_err rc);
    void *ctx;
    struct tsr__write_job *next;
};

/* ---- the batch ---- */

/* Runs one job inside the batch's transaction; when the batch holds others,
 * under a savepoint, so that a job that fails (a limit reached, a token not
 * found) undoes only itself. */
static enum tsr_err run_job(struct tsr__committer *q, struct tsr__write_job *j, bool alone)
{
    const struct tsr__tx_ops *ops = q->ops;
    enum tsr_err rc = alone ? TSR_OK : ops->savepoint(q->engine);

    if (rc != TSR_OK)
        return rc;
    rc = j->run(q, j->arg);
    if (alone || ops->failed(q->engine))
        return rc; /* alone, its failure rolls back; a lost transaction the batch sees */
    if (rc != TSR_OK)
        (void)ops->rollback_to(q->engine);
    (void)ops->release(q->engine);
    return rc;
}

/* Commits a batch of jobs in one transaction: one fsync for all of them. A
 * job's own failure is its alone; a failure of the transaction (disk full,
 * say) fails every job that had succeeded. */
static void run_batch(struct tsr__committer *q, struct tsr__write_job *batch)
{
    const struct tsr__tx_ops *ops = q->ops;
    bool alone = batch->next == NULL;
    enum tsr_err rc = ops->begin(q->engine);

    if (rc != TSR_OK) {
        for (struct tsr__write_job *j = batch; j; j = j->next)
            j->rc = rc; /* never run: the transaction failed before it */
        return;
    }
    for (struct tsr__write_job *j = batch; j; j = j->next) {
        if (rc != TSR_OK) {
            j->rc = rc;
            continue;
        }
        j->rc = run_job(q, j, alone);
        if (ops->failed(q->engine))
            rc = j->rc != TSR_OK ? j->rc : TSR_ERR_STORE;
    }
    if (rc == TSR_OK && alone) {
        /* No savepoint to undo a lone job's failure: rolling back does. */
        rc = ops->commit(q->engine, batch->rc);
        if (batch->rc == TSR_OK)
            batch->rc = rc;
        return;
    }
    rc = ops->commit(q->engine, rc);
    for (struct tsr__write_job *j = batch; j; j = j->next) {
        if (rc != TSR_OK && j->rc == TSR_OK)
            j->rc = rc;
    }
}

/* ---- the queue ---- */

#define COMMIT_DELAY_US 1000

/* PostgreSQL's commit_delay, made adaptive: when writers have been meeting
 * in the queue, the leader waits a moment (at most COMMIT_DELAY_US) for as
 * many as last time before it commits, so that they share one commit rather
 * than take turns at one each. A lone writer never waits. Under q->lock. */
static void wait_for_company(struct tsr__committer *q)
{
    size_t want = q->last_batch > 1 ? q->last_batch : 2;
    struct timespec until;

    if (q->last_batch <= 1 && !q->arrived_while)
        return;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += COMMIT_DELAY_US * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (q->queued < want && pthread_cond_timedwait(&q->grew, &q->lock, &until) == 0)
        ;
}

static void enqueue(struct tsr__committer *q, struct tsr__write_job *job)
{
    pthread_mutex_lock(&q->lock);
    *q->tail = job;
    q->tail = &job->next;
    q->queued++;
    if (q->leading)
        q->arrived_while = true;
    pthread_cond_signal(&q->grew);
    pthread_mutex_unlock(&q->lock);
}

/* Queues run(arg) and waits until the committer has committed it. */
static enum tsr_err write_grouped(struct tsr__committer *q,
                                  enum tsr_err (*run)(struct tsr__committer *, void *), void *arg)
{
    struct tsr__write_job job = {.run = run, .arg = arg, .rc = TSR_ERR_STORE};

    enqueue(q, &job);
    pthread_mutex_lock(&q->lock);
    while (!job.done)
        pthread_cond_wait(&q->done, &q->lock);
    pthread_mutex_unlock(&q->lock);
    return job.rc;
}

/* Tells the batch's writers how it went: a waiting caller is woken, a job
 * nobody waits for gets its callback and is freed. */
static void finish_batch(struct tsr__committer *q, struct tsr__write_job *batch)
{
    struct tsr__write_job *waiting = NULL;

    for (struct tsr__write_job *j = batch, *next; j; j = next) {
        next = j->next;
        if (j->then) {
            j->then(j->ctx, j->rc);
            free(j);
        } else {
            j->next = waiting;
            waiting = j;
        }
    }
    pthread_mutex_lock(&q->lock);
    for (struct tsr__write_job *j = waiting, *next; j; j = next) {
        next = j->next; /* j may return and vanish once done is set */
        j->done = true;
    }
    q->leading = false;
    pthread_cond_broadcast(&q->done);
    pthread_mutex_unlock(&q->lock);
}

/* The one thread that commits: it takes the whole queue, commits it in one
 * transaction, and comes back for more, until the store closes and the
 * queue is empty. Writers never wait on the disk themselves unless they
 * choose to (write_grouped). */
static void *committer_main(void *arg)
{
    struct tsr__committer *q = arg;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->queue && !q->stopping)
            pthread_cond_wait(&q->grew, &q->lock);
        if (!q->queue)
            break;
        q->leading = true;
        wait_for_company(q);
        struct tsr__write_job *batch = q->queue;

        q->last_batch = q->queued;
        q->arrived_while = false;
        q->queue = NULL;
        q->tail = &q->queue;
        q->queued = 0;
        pthread_mutex_unlock(&q->lock);
        run_batch(q, batch);
        finish_batch(q, batch);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

void tsr__committer_init(struct tsr__committer *q, const struct tsr__tx_ops *ops, void *engine)
{
    memset(q, 0, sizeof(*q));
    q->ops = ops;
    q->engine = engine;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->done, NULL);
    pthread_cond_init(&q->grew, NULL);
    q->tail = &q->queue;
}

enum tsr_err tsr__committer_start(struct tsr__committer *q)
{
    q->started = pthread_create(&q->thread, NULL, committer_main, q) == 0;
    return q->started ? TSR_OK : TSR_ERR_NOMEM;
}

void tsr__committer_release(struct tsr__committer *q)
{
    if (q->started) {
        /* The committer empties the queue before it stops. */
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_signal(&q->grew);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
        q->started = false;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->done);
    pthread_cond_destroy(&q->grew);
}

/* ---- the grouped writes ---- */

const char *tsr__kind_text(enum tsr_token_kind kind)
{
    switch (kind) {
    case TSR_TOKEN_PERSONAL:
        return "personal";
    case TSR_TOKEN_SESSION:
        return "session";
    }
    return NULL;
}

enum tsr_err tsr__kind_parse(const char *text, enum tsr_token_kind *out)
{
    if (strcmp(text, "personal") == 0)
        *out = TSR_TOKEN_PERSONAL;
    else if (strcmp(text, "session") == 0)
        *out = TSR_TOKEN_SESSION;
    else
        return TSR_ERR_STORE;
    return TSR_OK;
}

enum tsr_err tsr__delivery_parse(int64_t channel, int64_t state, struct tsr_delivery_row *out)
{
    if (channel != TSR_CHANNEL_WEBHOOK && channel != TSR_CHANNEL_EMAIL)
        return TSR_ERR_STORE;
    if (state < TSR_DELIVERY_PENDING || state > TSR_DELIVERY_DROPPED)
        return TSR_ERR_STORE;
    out->channel = (enum tsr_channel)channel;
    out->state = (enum tsr_delivery_state)state;
    return TSR_OK;
}

void tsr__notice_window(int64_t now, const int64_t *before, size_t n, int64_t expired_since,
                        size_t i, struct tsr__notice_window *out)
{
    if (i >= n) {
        *out = (struct tsr__notice_window){"token.expired", now, expired_since, now, 0};
        return;
    }
    *out = (struct tsr__notice_window){"token.expiring", now, now + (i > 0 ? before[i - 1] : 0),
                                       now + before[i], before[i]};
}

const char *tsr__scopes_or_global(const char *scopes)
{
    return scopes[0] != '\0' ? scopes : TSR_SCOPE_GLOBAL;
}

enum tsr_err tsr__list_order(const struct tsr_token_query *q, int *out)
{
    switch (q->order) {
    case TSR_ORDER_CREATED:
    case TSR_ORDER_NAME:
    case TSR_ORDER_EXPIRES_AT:
    case TSR_ORDER_LAST_USED_AT:
        *out = (int)q->order * 2 + (q->descending ? 1 : 0);
        return TSR_OK;
    }
    return TSR_ERR_INVALID;
}

/* Appends audit (when not NULL) in the open transaction: the change and its
 * record are durable together. */
static enum tsr_err audit_with(struct tsr__committer *q, const struct tsr_audit_row *audit)
{
    char event_id[TSR_UUID_LEN + 1];
    enum tsr_err rc;

    if (audit == NULL)
        return TSR_OK;
    rc = q->ops->audit_add(q->engine, audit);
    if (rc != TSR_OK || audit->event[0] == '\0')
        return rc;
    tsr_uuid7_new(event_id);
    return q->ops->event_add(q->engine, audit, event_id);
}

struct insert_job {
    const struct tsr_token_row *token;
    int64_t max_live;
    int64_t now;
    const struct tsr_audit_row *audit;
};

/* The cap is the caller's number; the store only makes the count and the
 * insert one transaction, so that two requests at once cannot both take
 * the last free place. */
static enum tsr_err insert_run(struct tsr__committer *q, void *arg)
{
    struct insert_job *a = arg;
    const struct tsr__tx_ops *ops = q->ops;
    int64_t n = 0;
    enum tsr_err rc = ops->user_live(q->engine, a->token->user_id);

    if (rc == TSR_OK && a->token->kind == TSR_TOKEN_PERSONAL && a->max_live > 0) {
        rc = ops->token_count_kept(q->engine, a->token->user_id, &n);
        if (rc == TSR_OK && n >= a->max_live)
            rc = TSR_ERR_LIMIT;
    }
    if (rc == TSR_OK)
        rc = ops->token_add(q->engine, a->token);
    if (rc == TSR_OK)
        rc = audit_with(q, a->audit);
    return rc;
}

enum tsr_err tsr_store_token_insert(struct tsr_store *store, const struct tsr_token_row *token,
                                    int64_t max_live, int64_t now,
                                    const struct tsr_audit_row *audit)
{
    struct insert_job a = {token, max_live, now, audit};

    if (tsr__kind_text(token->kind) == NULL)
        return TSR_ERR_INVALID;
    return write_grouped(&store->committer, insert_run, &a);
}

/* An insert nobody waits for: the job owns copies of what it writes. */
struct insert_later {
    struct tsr__write_job job;
    struct insert_job a;
    struct tsr_token_row token;
    struct tsr_audit_row audit;
};

enum tsr_err tsr_store_token_insert_async(struct tsr_store *store,
                                          const struct tsr_token_row *token, int64_t max_live,
                                          int64_t now, const struct tsr_audit_row *audit,
                                          void (*then)(void *ctx, enum tsr_err rc), void *ctx)
{
    struct insert_later *l;

    if (tsr__kind_text(token->kind) == NULL)
        return TSR_ERR_INVALID;
    l = calloc(1, sizeof(*l));
    if (!l)
        return TSR_ERR_NOMEM;
    l->token = *token;
    if (audit)
        l->audit = *audit;
    l->a = (struct insert_job){&l->token, max_live, now, audit ? &l->audit : NULL};
    l->job = (struct tsr__write_job){
        .run = insert_run, .arg = &l->a, .rc = TSR_ERR_STORE, .then = then, .ctx = ctx};
    /* job is the first member: the committer frees l when it frees the job. */
    enqueue(&store->committer, &l->job);
    return TSR_OK;
}

struct update_job {
    const char *user_id;
    const char *id;
    unsigned fields;
    const struct tsr_token_row *values;
    struct tsr_token_row after;
    const struct tsr_audit_row *audit;
};

static enum tsr_err update_run(struct tsr__committer *q, void *arg)
{
    struct update_job *a = arg;
    enum tsr_err rc = q->ops->token_set(q->engine, a->user_id, a->id, a->fields, a->values);

    if (rc == TSR_OK)
        rc = q->ops->token_get(q->engine, a->user_id, a->id, &a->after);
    if (rc == TSR_OK)
        rc = audit_with(q, a->audit);
    return rc;
}

enum tsr_err tsr_store_token_update(struct tsr_store *store, const char *user_id, const char *id,
                                    unsigned fields, const struct tsr_token_row *values,
                                    struct tsr_token_row *out, const struct tsr_audit_row *audit)
{
    struct update_job a = {
        .user_id = user_id, .id = id, .fields = fields, .values = values, .audit = audit};
    enum tsr_err rc = write_grouped(&store->committer, update_run, &a);

    /* Only a committed change is handed back. */
    if (rc == TSR_OK && out != NULL)
        *out = a.after;
    return rc;
}

struct revoke_job {
    const char *user_id;
    const char *id;
    enum tsr_token_kind kind;
    int64_t now;
    const struct tsr_audit_row *audit;
};

static enum tsr_err revoke_run(struct tsr__committer *q, void *arg)
{
    struct revoke_job *a = arg;
    enum tsr_err rc = q->ops->token_revoke(q->engine, a->user_id, a->id, a->kind, a->now);

    if (rc == TSR_OK)
        rc = audit_with(q, a->audit);
    return rc;
}

enum tsr_err tsr_store_token_revoke(struct tsr_store *store, const char *user_id, const char *id,
                                    enum tsr_token_kind kind, int64_t now,
                                    const struct tsr_audit_row *audit)
{
    struct revoke_job a = {user_id, id, kind, now, audit};

    if (tsr__kind_text(kind) == NULL)
        return TSR_ERR_NOT_FOUND;
    return write_grouped(&store->committer, revoke_run, &a);
}
