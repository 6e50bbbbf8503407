/* ratelimit.c - failed attempts counted per key (an address, an email), in fixed windows */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "service/ratelimit.h"

#define SLOTS    65536 /* keys tracked at once; a power of two */
#define PROBES   32    /* how far a look-up searches before it gives up */
#define OVERFLOW SLOTS /* the index of the shared overflow window */

/* A key is known by its keyed 64-bit hash: two keys of one table share a
 * window only if their hashes collide in full, which nobody outside can aim
 * for without the key. */
struct window {
    uint64_t tag;
    int64_t start; /* the first failure of this window */
    int64_t failures;
};

struct tsr_ratelimit {
    pthread_mutex_t lock;
    int64_t max;
    int64_t window;
    unsigned char key[crypto_shorthash_KEYBYTES];
    struct window *slots; /* SLOTS, then the overflow window */
};

enum tsr_err tsr__ratelimit_new(int64_t max, int64_t window, struct tsr_ratelimit **out)
{
    struct tsr_ratelimit *rl;

    if (sodium_init() < 0)
        return TSR_ERR_NOMEM;
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return TSR_ERR_NOMEM;
    rl->slots = calloc(SLOTS + 1, sizeof(*rl->slots));
    if (!rl->slots) {
        free(rl);
        return TSR_ERR_NOMEM;
    }
    pthread_mutex_init(&rl->lock, NULL);
    randombytes_buf(rl->key, sizeof(rl->key));
    rl->max = max;
    rl->window = window > 0 ? window : 1;
    *out = rl;
    return TSR_OK;
}

void tsr__ratelimit_free(struct tsr_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    sodium_memzero(rl->key, sizeof(rl->key));
    free(rl->slots);
    free(rl);
}

static uint64_t tag_of(const struct tsr_ratelimit *rl, const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t tag;

    key = key && *key ? key : "-";
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->key);
    memcpy(&tag, h, sizeof(tag));
    return tag;
}

/* A window that counts nothing now: free, given back, or past. */
static bool idle(const struct tsr_ratelimit *rl, const struct window *w, int64_t now)
{
    return w->failures == 0 || now - w->start >= rl->window;
}

/* Near its limit: the last quarter (at least one failure) before max. Such a
 * window is never evicted, so filling the table cannot wipe a count that is
 * about to refuse someone. */
static bool near_limit(const struct tsr_ratelimit *rl, const struct window *w)
{
    int64_t margin = rl->max / 4 > 1 ? rl->max / 4 : 1;

    return w->failures >= rl->max - margin;
}

/* The window that counts tag at now: its own, or a fresh one (*fresh set:
 * an idle slot, or in place of the live window with the fewest failures
 * unless that one is near its limit), or else the shared overflow window.
 * Changes nothing. */
static size_t find(const struct tsr_ratelimit *rl, uint64_t tag, int64_t now, bool *fresh)
{
    size_t home = (size_t)tag & (SLOTS - 1), spare = OVERFLOW, fewest = OVERFLOW;

    *fresh = false;
    for (size_t i = 0; i < PROBES; i++) {
        size_t s = (home + i) & (SLOTS - 1);
        const struct window *w = &rl->slots[s];

        if (w->tag == tag && !idle(rl, w, now))
            return s;
        if (spare == OVERFLOW && idle(rl, w, now))
            spare = s;
        if (fewest == OVERFLOW || w->failures < rl->slots[fewest].failures)
            fewest = s;
    }
    if (spare == OVERFLOW && !near_limit(rl, &rl->slots[fewest]))
        spare = fewest;
    *fresh = spare != OVERFLOW;
    return spare;
}

/* Seconds the window at s still refuses at now; 0 when it does not. */
static int64_t refusal(const struct tsr_ratelimit *rl, size_t s, int64_t now)
{
    const struct window *w = &rl->slots[s];

    if (idle(rl, w, now) || w->failures < rl->max)
        return 0;
    return w->start + rl->window - now;
}

int64_t tsr__ratelimit_wait(struct tsr_ratelimit *rl, const char *key, int64_t now)
{
    int64_t wait = 0;
    uint64_t tag;
    bool fresh;
    size_t s;

    if (rl->max <= 0)
        return 0;
    tag = tag_of(rl, key);
    pthread_mutex_lock(&rl->lock);
    /* A key that would be counted in the overflow window shares its refusal. */
    s = find(rl, tag, now, &fresh);
    if (!fresh)
        wait = refusal(rl, s, now);
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

static int64_t count(struct tsr_ratelimit *rl, const char *key, int64_t now, bool refuse,
                     struct tsr_ratelimit_hold *hold)
{
    uint64_t tag = tag_of(rl, key);
    struct window *w;
    int64_t wait = 0;
    bool fresh;
    size_t s;

    pthread_mutex_lock(&rl->lock);
    s = find(rl, tag, now, &fresh);
    w = &rl->slots[s];
    if (fresh) {
        w->tag = tag;
        w->failures = 0;
    } else {
        wait = refusal(rl, s, now);
    }
    if (wait > 0 && refuse) {
        pthread_mutex_unlock(&rl->lock);
        return wait;
    }
    if (idle(rl, w, now)) {
        w->start = now;
        w->failures = 0;
    }
    w->failures++;
    if (hold) {
        hold->slot = s;
        hold->tag = w->tag;
        hold->start = w->start;
    }
    pthread_mutex_unlock(&rl->lock);
    return 0;
}

int64_t tsr__ratelimit_take(struct tsr_ratelimit *rl, const char *key, int64_t now,
                            struct tsr_ratelimit_hold *hold)
{
    memset(hold, 0, sizeof(*hold));
    hold->slot = SIZE_MAX;
    if (rl->max <= 0)
        return 0;
    return count(rl, key, now, true, hold);
}

void tsr__ratelimit_release(struct tsr_ratelimit *rl, const struct tsr_ratelimit_hold *hold)
{
    struct window *w;

    if (hold->slot > OVERFLOW)
        return;
    pthread_mutex_lock(&rl->lock);
    w = &rl->slots[hold->slot];
    if (w->tag == hold->tag && w->start == hold->start && w->failures > 0)
        w->failures--;
    pthread_mutex_unlock(&rl->lock);
}

void tsr__ratelimit_fail(struct tsr_ratelimit *rl, const char *key, int64_t now)
{
    if (rl->max > 0)
        (void)count(rl, key, now, false, NULL);
}
