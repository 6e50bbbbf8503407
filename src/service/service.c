/* service.c - the service's lifecycle and its background writer */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dynbuf.h"
#include "core/timefmt.h"
#include "service/events.h"
#include "service/internal.h"
#include "service/log.h"

void tsr_service_config_defaults(struct tsr_service_config *cfg)
{
    /* No sender and no console URL unless the program gives them. */
    *cfg = (struct tsr_service_config){0};
    cfg->max_lifetime_days = TSR_DEFAULT_MAX_LIFETIME;
    cfg->max_tokens = TSR_DEFAULT_MAX_TOKENS;
    /* Every few seconds: at a million tokens, each flush is one UPDATE per
     * token used since the last, and that is what a verify costs beyond
     * its own request. */
    cfg->flush_interval_ms = 5000;
    cfg->sync_interval_ms = 200;
    cfg->login_max_failures = TSR_DEFAULT_LOGIN_FAILURES;
    cfg->login_window = TSR_DEFAULT_LOGIN_WINDOW;
    cfg->login_account_max_failures = TSR_DEFAULT_ACCOUNT_FAILS;
    cfg->login_account_window = TSR_DEFAULT_ACCOUNT_WINDOW;
    cfg->token_retention_days = TSR_DEFAULT_TOKEN_RETENTION;
    cfg->audit_retention_days = TSR_DEFAULT_AUDIT_RETENTION;
    cfg->hash_threads = tsr__hashpool_default_threads();
    cfg->hash_queue = TSR_HASH_QUEUE_DEFAULT;
    cfg->notify_before[0] = 86400;
    cfg->notify_before[1] = 7 * 86400;
    cfg->notify_windows = 2;
    cfg->retry_first_s = 30;
    cfg->give_up_s = 86400;
}

enum tsr_err tsr__refuse(struct tsr_problem *why, enum tsr_err rc, const char *field,
                         const char *fmt, ...)
{
    va_list ap;

    tsr_strscpy(why->field, sizeof(why->field), field ? field : "");
    why->scope[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    return rc;
}

/* Swaps the table being filled for the empty one, then writes the full one
 * without holding the lock, so that requests never wait for the disk. */
enum tsr_err tsr_service_flush(struct tsr_service *svc)
{
    struct tsr__pending *full;
    enum tsr_err rc;

    pthread_mutex_lock(&svc->flush_lock);
    pthread_mutex_lock(&svc->lock);
    full = svc->pending;
    svc->pending = full == &svc->tables[0] ? &svc->tables[1] : &svc->tables[0];
    pthread_mutex_unlock(&svc->lock);

    rc = tsr__pending_write(svc, full);
    pthread_mutex_unlock(&svc->flush_lock);
    return rc;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Applies one change read from the store: a token that is revoked or has
 * expired leaves the index; any other is put (added or replaced). */
static enum tsr_err apply_change(const struct tsr_token_row *t, void *ctx)
{
    struct tsr_service *svc = ctx;

    int64_t now = tsr_time_now();

    switch (tsr__token_state(t, now)) {
    case TSR_TOKEN_REVOKED:
        return tsr__index_revoke_token(svc->index, t, now);
    case TSR_TOKEN_EXPIRED:
        return TSR_OK; /* the sweep drops what the index may still hold */
    case TSR_TOKEN_LIVE:
        break;
    }
    return tsr__index_put(svc->index, t, now);
}

/* Reads every change after the index's change_seq, and applies it, when
 * the store's change_seq is past it (any when above is INT64_MAX). */
static enum tsr_err read_changes(struct tsr_service *svc, int64_t above)
{
    enum tsr_err rc = TSR_OK;

    pthread_mutex_lock(&svc->sync_lock);
    if (above > svc->synced_seq)
        rc = tsr_store_token_changes(svc->store, svc->synced_seq, apply_change, svc,
                                     &svc->synced_seq);
    pthread_mutex_unlock(&svc->sync_lock);
    return rc;
}

enum tsr_err tsr_service_sync(struct tsr_service *svc)
{
    int64_t seq = 0;
    enum tsr_err rc = tsr_store_change_seq(svc->store, &seq), scopes;

    if (rc == TSR_OK)
        rc = read_changes(svc, seq);
    /* The scopes too: `tesserad scope add` runs in a process of its own. */
    scopes = tsr__catalog_refresh(svc);
    return rc != TSR_OK ? rc : scopes;
}

size_t tsr_service_indexed(struct tsr_service *svc)
{
    return tsr__index_count(svc->index);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define SWEEP_INTERVAL_MS     60000
#define HOUSEKEEP_INTERVAL_MS (3600 * 1000)
#define DAY                   86400

enum tsr_err tsr_service_housekeep(struct tsr_service *svc, int64_t *tokens, int64_t *audits)
{
    int64_t now = tsr_time_now(), t = 0, a = 0;
    int64_t tdays = svc->cfg.token_retention_days, adays = svc->cfg.audit_retention_days;
    /* 0 keeps forever: a cut-off before any record. */
    enum tsr_err rc = tsr_store_purge(svc->store, tdays > 0 ? now - tdays * DAY : 0,
                                      adays > 0 ? now - adays * DAY : 0, &t, &a);

    if (rc == TSR_OK && (t > 0 || a > 0))
        tsr_log(TSR_LOG_INFO, "housekeeping deleted %lld old tokens and %lld audit records",
                (long long)t, (long long)a);
    if (tokens)
        *tokens = t;
    if (audits)
        *audits = a;
    return rc;
}

/* Runs the periodic work: the sync often, the flush less often, the sweep of
 * expired tokens out of the index rarely. */
struct schedule {
    int64_t next_flush;
    int64_t next_sweep;
    int64_t next_housekeep;
};

static void writer_tick(struct tsr_service *svc, struct schedule *due, bool stopping)
{
    int64_t now = monotonic_ms();
    enum tsr_err rc = tsr_service_sync(svc);

    if (rc != TSR_OK)
        tsr_log(TSR_LOG_ERROR, "cannot read changes to tokens: %s", tsr_strerror(rc));
    if (stopping || now >= due->next_flush) {
        rc = tsr_service_flush(svc);
        if (rc != TSR_OK)
            tsr_log(TSR_LOG_ERROR, "cannot write usage and audit records: %s", tsr_strerror(rc));
        due->next_flush = now + svc->cfg.flush_interval_ms;
    }
    if (now >= due->next_sweep) {
        tsr__index_sweep(svc->index, tsr_time_now());
        due->next_sweep = now + SWEEP_INTERVAL_MS;
    }
    if (!stopping && now >= due->next_housekeep) {
        rc = tsr_service_housekeep(svc, NULL, NULL);
        if (rc != TSR_OK)
            tsr_log(TSR_LOG_ERROR, "cannot delete old records: %s", tsr_strerror(rc));
        due->next_housekeep = now + HOUSEKEEP_INTERVAL_MS;
    }
}

/* With a shared store, how often the writer reads change_seq whatever it
 * has heard: the safety net for a NOTIFY lost or never sent (a listener
 * that lost its connection, a pooler that drops notifications). */
#define SHARED_SYNC_MS 5000
/* How long the watcher waits for news at a time: also how long stopping
 * may wait for it. */
#define WATCH_SLICE_MS 100

static void *writer_main(void *arg)
{
    struct tsr_service *svc = arg;
    struct timespec deadline;
    int64_t start = monotonic_ms();
    /* The first housekeeping a minute after start, not during it. */
    struct schedule due = {start + svc->cfg.flush_interval_ms, start + SWEEP_INTERVAL_MS,
                           start + SWEEP_INTERVAL_MS};
    bool stopping = false;

    while (!stopping) {
        int64_t wait = svc->shared ? SHARED_SYNC_MS : svc->cfg.sync_interval_ms;
        int64_t to_flush = due.next_flush - monotonic_ms();

        /* A shared store's long wait must not hold up the flush. */
        if (to_flush < wait)
            wait = to_flush > 0 ? to_flush : 0;
        deadline_after(&deadline, (int)wait);
        pthread_mutex_lock(&svc->lock);
        while (!svc->stopping &&
               pthread_cond_timedwait(&svc->wake, &svc->lock, &deadline) != ETIMEDOUT)
            ;
        stopping = svc->stopping;
        pthread_mutex_unlock(&svc->lock);
        writer_tick(svc, &due, stopping);
    }
    return NULL;
}

/* Waits for the store to hear of changes made on other nodes and reads
 * them at once, itself: a revocation anywhere reaches this node's index in
 * a millisecond or two rather than at the next periodic check. News means
 * a change, so it skips the check of change_seq and reads the changes: one
 * query. */
static void *watcher_main(void *arg)
{
    struct tsr_service *svc = arg;

    for (;;) {
        bool stopping;

        pthread_mutex_lock(&svc->lock);
        stopping = svc->stopping;
        pthread_mutex_unlock(&svc->lock);
        if (stopping)
            break;
        if (tsr_store_wait_change(svc->store, WATCH_SLICE_MS) == TSR_OK) {
            enum tsr_err rc = read_changes(svc, INT64_MAX);

            /* A change of scopes sends the same news. */
            if (rc == TSR_OK)
                rc = tsr__catalog_refresh(svc);

            /* The writer's periodic check tries again within seconds. */
            if (rc != TSR_OK)
                tsr_log(TSR_LOG_ERROR, "cannot read changes to tokens: %s", tsr_strerror(rc));
        }
    }
    return NULL;
}

/* Takes one look-up from the bucket, which refills at TSR_MISS_ASKS_PER_SEC
 * and holds at most a second's worth. */
static bool may_ask(struct tsr_service *svc)
{
    int64_t now = monotonic_ms();
    bool ok;

    pthread_mutex_lock(&svc->ask_lock);
    svc->ask_budget += (double)(now - svc->ask_refilled_ms) * TSR_MISS_ASKS_PER_SEC / 1000.0;
    if (svc->ask_budget > TSR_MISS_ASKS_PER_SEC)
        svc->ask_budget = TSR_MISS_ASKS_PER_SEC;
    svc->ask_refilled_ms = now;
    ok = svc->ask_budget >= 1.0;
    if (ok)
        svc->ask_budget -= 1.0;
    pthread_mutex_unlock(&svc->ask_lock);
    return ok;
}

/* A node learns of a token created on another within milliseconds (NOTIFY),
 * but a client may be quicker still: it gets its secret from one node and
 * presents it at once to another, behind the same load balancer. So a miss
 * asks the database, rate-limited, since anyone can make well-formed
 * secrets that no index holds. SQLite, with one process serving, never
 * gets here: its verifies read no database. What the store finds goes
 * through the index, whose tombstones keep a revocation final. */
bool tsr__find_token(struct tsr_service *svc, const uint8_t hash[TSR_HASH_LEN], int64_t now,
                     struct tsr_index_hit *out)
{
    struct tsr_token_row t;

    if (tsr__index_find(svc->index, hash, now, out))
        return true;
    if (!svc->shared || !may_ask(svc))
        return false;
    if (tsr_store_token_by_hash(svc->store, hash, &t) != TSR_OK)
        return false;
    if (tsr__index_put(svc->index, &t, now) != TSR_OK)
        return false;
    return tsr__index_find(svc->index, hash, now, out);
}

static enum tsr_err make_dummy_hash(struct tsr_service *svc)
{
    unsigned char pw[32];

    randombytes_buf(pw, sizeof(pw));
    if (crypto_pwhash_str(svc->dummy_hash, (const char *)pw, sizeof(pw),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

struct load {
    struct tsr_index *index;
    int64_t now;
};

static enum tsr_err load_entry(const struct tsr_token_row *t, void *ctx)
{
    const struct load *l = ctx;

    return tsr__index_load(l->index, t, l->now);
}

/* Fills the index with every live token before the first request. */
static enum tsr_err load_index(struct tsr_service *svc)
{
    struct load l = {.now = tsr_time_now()};
    enum tsr_err rc = tsr__index_new(&svc->index);

    l.index = svc->index;
    if (rc == TSR_OK)
        rc = tsr_store_token_each_live(svc->store, l.now, load_entry, &l, &svc->synced_seq);
    return rc;
}

static enum tsr_err start_writer(struct tsr_service *svc)
{
    pthread_condattr_t attr;
    int err;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    err = pthread_cond_init(&svc->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0)
        return TSR_ERR_NOMEM;
    if (pthread_create(&svc->writer, NULL, writer_main, svc) != 0)
        return TSR_ERR_NOMEM;
    svc->writer_started = true;
    if (svc->shared) {
        if (pthread_create(&svc->watcher, NULL, watcher_main, svc) != 0)
            return TSR_ERR_NOMEM;
        svc->watcher_started = true;
    }
    return TSR_OK;
}

enum tsr_err tsr_service_new(struct tsr_store *store, const struct tsr_service_config *cfg,
                             struct tsr_service **out)
{
    struct tsr_service *svc;
    enum tsr_err rc;

    if (sodium_init() < 0)
        return TSR_ERR_NOMEM;
    svc = calloc(1, sizeof(*svc));
    if (!svc)
        return TSR_ERR_NOMEM;
    svc->store = store;
    svc->cfg = *cfg;
    if (svc->cfg.flush_interval_ms <= 0)
        svc->cfg.flush_interval_ms = 1000;
    if (svc->cfg.sync_interval_ms <= 0)
        svc->cfg.sync_interval_ms = 200;
    pthread_mutex_init(&svc->lock, NULL);
    pthread_mutex_init(&svc->sync_lock, NULL);
    pthread_mutex_init(&svc->flush_lock, NULL);
    pthread_mutex_init(&svc->ask_lock, NULL);
    svc->shared = tsr_store_shared(store);
    svc->ask_budget = TSR_MISS_ASKS_PER_SEC;
    svc->ask_refilled_ms = monotonic_ms();
    svc->pending = &svc->tables[0];

    rc = tsr__pending_init(&svc->tables[0]);
    if (rc == TSR_OK)
        rc = tsr__pending_init(&svc->tables[1]);
    if (rc == TSR_OK)
        rc = tsr__ratelimit_new(svc->cfg.login_max_failures, svc->cfg.login_window, &svc->logins);
    if (rc == TSR_OK)
        rc = tsr__ratelimit_new(svc->cfg.login_account_max_failures, svc->cfg.login_account_window,
                                &svc->accounts);
    if (rc == TSR_OK)
        rc = tsr__slidelimit_new(TSR_LEAK_REPORTS_PER_HOUR, 3600, &svc->leak_reports);
    if (rc == TSR_OK)
        rc = load_index(svc);
    if (rc == TSR_OK)
        rc = tsr__catalog_new(&svc->catalog);
    if (rc == TSR_OK)
        rc = tsr__catalog_refresh(svc);
    if (rc == TSR_OK)
        rc = make_dummy_hash(svc);
    if (rc == TSR_OK)
        rc = tsr__hashpool_new(svc->cfg.hash_threads ? svc->cfg.hash_threads
                                                     : tsr__hashpool_default_threads(),
                               svc->cfg.hash_queue ? svc->cfg.hash_queue : TSR_HASH_QUEUE_DEFAULT,
                               tsr__login_run, &svc->hashers);
    if (rc == TSR_OK)
        rc = start_writer(svc);
    if (rc == TSR_OK)
        rc = tsr__deliver_start(svc, &svc->deliverer);
    if (rc != TSR_OK) {
        tsr_service_free(svc);
        return rc;
    }
    *out = svc;
    return TSR_OK;
}

void tsr_service_free(struct tsr_service *svc)
{
    if (!svc)
        return;
    /* Logins still queued finish first: what they record goes out with the
     * writer's last flush. */
    tsr__hashpool_free(svc->hashers);
    /* Each delivery thread finishes the attempt it is making first. */
    tsr__deliver_stop(svc->deliverer);
    if (svc->writer_started) {
        pthread_mutex_lock(&svc->lock);
        svc->stopping = true;
        pthread_cond_signal(&svc->wake);
        pthread_mutex_unlock(&svc->lock);
        /* The writer flushes once more as it stops. */
        pthread_join(svc->writer, NULL);
        if (svc->watcher_started)
            pthread_join(svc->watcher, NULL);
        pthread_cond_destroy(&svc->wake);
    }
    tsr__pending_release(&svc->tables[0]);
    tsr__pending_release(&svc->tables[1]);
    pthread_mutex_destroy(&svc->lock);
    pthread_mutex_destroy(&svc->flush_lock);
    pthread_mutex_destroy(&svc->sync_lock);
    pthread_mutex_destroy(&svc->ask_lock);
    tsr__index_free(svc->index);
    tsr__catalog_free(svc->catalog);
    tsr__ratelimit_free(svc->logins);
    tsr__ratelimit_free(svc->accounts);
    tsr__slidelimit_free(svc->leak_reports);
    sodium_memzero(svc->dummy_hash, sizeof(svc->dummy_hash));
    free(svc);
}

enum tsr_err tsr_service_ping(struct tsr_service *svc)
{
    return tsr_store_ping(svc->store);
}
