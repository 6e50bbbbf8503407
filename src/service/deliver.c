/* deliver.c - the delivery threads: claim what is due, send it, record how it went */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"
#include "service/events.h"
#include "service/internal.h"
#include "service/log.h"

/* Retries wait twice as long each time, up to this. */
#define RETRY_MAX_S 3600
/* A claim outlives the attempt it is for: another node may take the
 * delivery only once this one has surely given up on it. */
#define CLAIM_MARGIN_S 30
/* How often the threads look for what is due when nobody tells them. */
#define POLL_MS 1000

struct tsr__deliverer {
    struct tsr_service *svc;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    uint64_t pokes;          /* wake-ups so far; a thread that saw them all sleeps */
    bool noticing;           /* a thread is raising expiry notices */
    int64_t next_notice_ms;  /* when they are looked for next */
    int64_t notice_every_ms; /* how often */
    pthread_t threads[TSR_DELIVERY_THREADS];
    size_t started;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned channels(const struct tsr_service *svc)
{
    return (svc->cfg.senders.post ? TSR_CHANNEL_WEBHOOK : 0u) |
           (svc->cfg.senders.mail ? TSR_CHANNEL_EMAIL : 0u);
}

/* The wait before the next try of a delivery tried `attempts` times before. */
static int64_t retry_delay(const struct tsr_service_config *cfg, int64_t attempts)
{
    int64_t d = cfg->retry_first_s > 0 ? cfg->retry_first_s : 1;

    for (int64_t i = 0; i < attempts && d < RETRY_MAX_S; i++)
        d *= 2;
    return d < RETRY_MAX_S ? d : RETRY_MAX_S;
}

enum outcome {
    SENT,
    RETRY,   /* try again later */
    GIVE_UP, /* it can never work */
};

/* "sha256=" and the hex HMAC-SHA256 of body under key, as GitHub signs. */
static void sign(const char *key, const char *body, size_t len,
                 char out[sizeof("sha256=") + crypto_auth_hmacsha256_BYTES * 2])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, crypto_auth_hmacsha256_BYTES * 2 + 1, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

static enum outcome send_webhook(struct tsr_service *svc, const struct tsr_delivery_row *row,
                                 struct tsr_send_result *res)
{
    char event[64], delivery[64], signature[sizeof("sha256=") + crypto_auth_hmacsha256_BYTES * 2];
    char signature_header[sizeof(signature) + 32];
    const char *headers[3] = {event, delivery, signature_header};
    char *body;
    bool ok;

    if (row->url[0] == '\0') {
        snprintf(res->error, sizeof(res->error), "the webhook was removed");
        return GIVE_UP;
    }
    body = tsr__event_body(&row->event);
    if (!body) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return RETRY;
    }
    sign(row->key, body, strlen(body), signature);
    snprintf(event, sizeof(event), "X-Tessera-Event: %s", row->event.type);
    snprintf(delivery, sizeof(delivery), "X-Tessera-Delivery: %s", row->event.id);
    snprintf(signature_header, sizeof(signature_header), "X-Tessera-Signature-256: %s", signature);
    ok = svc->cfg.senders.post(svc->cfg.senders.ctx, row->url, body, strlen(body), headers, 3,
                               TSR_DELIVERY_TIMEOUT_S, res);
    free(body);
    return ok ? SENT : RETRY;
}

static enum outcome send_mail(struct tsr_service *svc, const struct tsr_delivery_row *row,
                              int64_t now, struct tsr_send_result *res)
{
    char subject[TSR_NAME_MAX_BYTES + 128];
    char *text;
    bool ok;

    if (row->email[0] == '\0') {
        snprintf(res->error, sizeof(res->error), "the token's owner was removed");
        return GIVE_UP;
    }
    text = tsr__event_mail(svc, &row->event, now, subject, sizeof(subject));
    if (!text) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return RETRY;
    }
    ok = svc->cfg.senders.mail(svc->cfg.senders.ctx, row->email, subject, text,
                               TSR_DELIVERY_TIMEOUT_S, res);
    free(text);
    return ok ? SENT : RETRY;
}

static const char *target_of(const struct tsr_delivery_row *row)
{
    return row->channel == TSR_CHANNEL_WEBHOOK ? row->url : "the token's owner";
}

/* Sends one claimed delivery and records how it went. */
static void attempt(struct tsr_service *svc, const struct tsr_delivery_row *row)
{
    struct tsr_send_result res = {0};
    int64_t now = tsr_time_now(), next = 0;
    enum tsr_delivery_state state = TSR_DELIVERY_DONE;
    enum outcome o = row->channel == TSR_CHANNEL_WEBHOOK ? send_webhook(svc, row, &res)
                                                         : send_mail(svc, row, now, &res);
    enum tsr_err rc;

    now = tsr_time_now();
    if (o != SENT) {
        next = now + retry_delay(&svc->cfg, row->attempts);
        state = o == GIVE_UP || next > row->created + svc->cfg.give_up_s ? TSR_DELIVERY_FAILED
                                                                         : TSR_DELIVERY_PENDING;
        tsr_log(TSR_LOG_WARN, "delivery %lld of %s to %s failed: %s%s", (long long)row->id,
                row->event.type, target_of(row), res.error[0] ? res.error : "no reason given",
                state == TSR_DELIVERY_FAILED ? "; given up" : "; it will be tried again");
    }
    rc = tsr_store_delivery_finish(svc->store, row->id, state, next, res.status,
                                   o == SENT ? "" : res.error, now);
    if (rc != TSR_OK && rc != TSR_ERR_NOT_FOUND)
        tsr_log(TSR_LOG_ERROR, "cannot record delivery %lld: %s (it will be sent again)",
                (long long)row->id, tsr_strerror(rc));
}

/* Raises the expiry notices when they are due and no other thread does. */
static void raise_notices(struct tsr__deliverer *d)
{
    struct tsr_service *svc = d->svc;
    int64_t now_ms = monotonic_ms(), raised = 0, now = tsr_time_now();
    enum tsr_err rc;

    pthread_mutex_lock(&d->lock);
    if (d->noticing || now_ms < d->next_notice_ms) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->noticing = true;
    pthread_mutex_unlock(&d->lock);
    rc = tsr_store_expiry_notices(svc->store, now, svc->cfg.notify_before, svc->cfg.notify_windows,
                                  now - TSR_EXPIRED_NOTICE_WITHIN, svc->cfg.senders.mail != NULL,
                                  &raised);
    if (rc != TSR_OK)
        tsr_log(TSR_LOG_WARN, "cannot raise expiry notices: %s (trying again)", tsr_strerror(rc));
    pthread_mutex_lock(&d->lock);
    d->noticing = false;
    d->next_notice_ms = monotonic_ms() + d->notice_every_ms;
    if (raised > 0) {
        d->pokes++;
        pthread_cond_broadcast(&d->wake);
    }
    pthread_mutex_unlock(&d->lock);
}

/* Sleeps until poked, stopped, or POLL_MS passed; d->lock held. */
static void doze(struct tsr__deliverer *d, uint64_t *seen)
{
    struct timespec until;

    if (d->pokes == *seen && !d->stopping) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += POLL_MS / 1000;
        until.tv_nsec += (long)(POLL_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
    }
    *seen = d->pokes;
}

static void *deliver_main(void *arg)
{
    struct tsr__deliverer *d = arg;
    struct tsr_service *svc = d->svc;
    struct tsr_delivery_row *row = malloc(sizeof(*row));
    uint64_t seen = 0;

    pthread_mutex_lock(&d->lock);
    while (row && !d->stopping) {
        int64_t now = tsr_time_now();
        size_t n = 0;
        enum tsr_err rc;

        pthread_mutex_unlock(&d->lock);
        raise_notices(d);
        rc = tsr_store_delivery_claim(svc->store, channels(svc), now,
                                      now + TSR_DELIVERY_TIMEOUT_S + CLAIM_MARGIN_S, 1, row, &n);
        if (rc != TSR_OK)
            tsr_log(TSR_LOG_WARN, "cannot claim deliveries: %s (trying again)", tsr_strerror(rc));
        if (rc == TSR_OK && n == 1)
            attempt(svc, row);
        pthread_mutex_lock(&d->lock);
        if (rc != TSR_OK || n == 0)
            doze(d, &seen);
    }
    pthread_mutex_unlock(&d->lock);
    if (row)
        sodium_memzero(row, sizeof(*row));
    free(row);
    return NULL;
}

/* Looked for eight times in the shortest window, at most once a second and
 * at least once a minute. */
static int64_t notice_interval_ms(const struct tsr_service_config *cfg)
{
    int64_t ms = cfg->notify_windows > 0 ? cfg->notify_before[0] * 1000 / 8 : 60000;

    return ms < 1000 ? 1000 : ms > 60000 ? 60000 : ms;
}

enum tsr_err tsr__deliver_start(struct tsr_service *svc, struct tsr__deliverer **out)
{
    struct tsr__deliverer *d;
    pthread_condattr_t attr;

    *out = NULL;
    if (channels(svc) == 0)
        return TSR_OK;
    d = calloc(1, sizeof(*d));
    if (!d)
        return TSR_ERR_NOMEM;
    d->svc = svc;
    d->notice_every_ms = notice_interval_ms(&svc->cfg);
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &attr);
    pthread_condattr_destroy(&attr);
    for (; d->started < TSR_DELIVERY_THREADS; d->started++) {
        if (pthread_create(&d->threads[d->started], NULL, deliver_main, d) != 0) {
            tsr__deliver_stop(d);
            return TSR_ERR_NOMEM;
        }
    }
    *out = d;
    return TSR_OK;
}

void tsr__deliver_stop(struct tsr__deliverer *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < d->started; i++)
        pthread_join(d->threads[i], NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void tsr__deliver_wake(struct tsr__deliverer *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->pokes++;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
}
