/* ratelimit.c - attempts counted per key (an address, an email): failures in fixed windows, and
 * requests in a sliding window */
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

static uint64_t keyed_tag(const unsigned char secret[crypto_shorthash_KEYBYTES], const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t tag;

    key = key && *key ? key : "-";
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), secret);
    memcpy(&tag, h, sizeof(tag));
    return tag;
}

static uint64_t tag_of(const struct tsr_ratelimit *rl, const char *key)
{
    return keyed_tag(rl->key, key);
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

/* ---- requests in a sliding window ---- */

#define SLIDE_SLOTS    8192 /* keys tracked at once; a power of two */
#define SLIDE_OVERFLOW SLIDE_SLOTS

/* A key's requests: the times of the last ones let through, at most max of
 * them (the table's times from slot * max on), in no particular order, so
 * that a clock that steps back never makes one look older than it is. */
struct slide {
    uint64_t tag;
    int64_t newest; /* the latest of its times */
    int64_t used;   /* how many of its times are set */
};

struct tsr_slidelimit {
    pthread_mutex_t lock;
    int64_t max;
    int64_t window;
    unsigned char key[crypto_shorthash_KEYBYTES];
    struct slide *slots; /* SLIDE_SLOTS, then the overflow window */
    int64_t *times;      /* max per slot */
};

enum tsr_err tsr__slidelimit_new(int64_t max, int64_t window, struct tsr_slidelimit **out)
{
    struct tsr_slidelimit *sl;

    if (max > TSR_SLIDELIMIT_MAX)
        return TSR_ERR_INVALID;
    if (sodium_init() < 0)
        return TSR_ERR_NOMEM;
    sl = calloc(1, sizeof(*sl));
    if (!sl)
        return TSR_ERR_NOMEM;
    sl->max = max > 0 ? max : 0;
    sl->window = window > 0 ? window : 1;
    sl->slots = calloc(SLIDE_SLOTS + 1, sizeof(*sl->slots));
    /* Untouched pages of a large calloc cost no memory: a table that few
     * keys use stays small. */
    sl->times =
        calloc((size_t)(SLIDE_SLOTS + 1) * (size_t)(sl->max ? sl->max : 1), sizeof(*sl->times));
    if (!sl->slots || !sl->times) {
        free(sl->slots);
        free(sl->times);
        free(sl);
        return TSR_ERR_NOMEM;
    }
    pthread_mutex_init(&sl->lock, NULL);
    randombytes_buf(sl->key, sizeof(sl->key));
    *out = sl;
    return TSR_OK;
}

void tsr__slidelimit_free(struct tsr_slidelimit *sl)
{
    if (!sl)
        return;
    pthread_mutex_destroy(&sl->lock);
    sodium_memzero(sl->key, sizeof(sl->key));
    free(sl->times);
    free(sl->slots);
    free(sl);
}

static int64_t *times_of(const struct tsr_slidelimit *sl, size_t s)
{
    return sl->times + s * (size_t)sl->max;
}

/* A slot that counts nothing at now: free, or every time in it past. */
static bool slide_idle(const struct tsr_slidelimit *sl, const struct slide *w, int64_t now)
{
    return w->used == 0 || now - w->newest >= sl->window;
}

/* How many of the slot's requests fall in the window that ends at now. */
static int64_t in_window(const struct tsr_slidelimit *sl, size_t s, int64_t now)
{
    const int64_t *t = times_of(sl, s);
    int64_t n = 0;

    for (int64_t i = 0; i < sl->slots[s].used; i++)
        n += now - t[i] < sl->window;
    return n;
}

/* As near_limit above: such a key is never evicted. */
static bool slide_near_limit(const struct tsr_slidelimit *sl, int64_t requests)
{
    int64_t margin = sl->max / 4 > 1 ? sl->max / 4 : 1;

    return requests >= sl->max - margin;
}

/* The slot that counts tag at now, as find does for failures: its own, a
 * fresh one (*fresh set: an idle slot, or in place of the key with the
 * fewest requests in its window unless that one is near its limit), or
 * else the shared overflow window. Changes nothing. */
static size_t slide_find(const struct tsr_slidelimit *sl, uint64_t tag, int64_t now, bool *fresh)
{
    size_t home = (size_t)tag & (SLIDE_SLOTS - 1), spare = SLIDE_OVERFLOW, fewest = SLIDE_OVERFLOW;
    int64_t fewest_n = 0;

    *fresh = false;
    for (size_t i = 0; i < PROBES; i++) {
        size_t s = (home + i) & (SLIDE_SLOTS - 1);
        const struct slide *w = &sl->slots[s];

        if (w->tag == tag && !slide_idle(sl, w, now))
            return s;
        if (spare == SLIDE_OVERFLOW && slide_idle(sl, w, now))
            spare = s;
    }
    if (spare != SLIDE_OVERFLOW) {
        *fresh = true;
        return spare;
    }
    /* Every slot probed is in use: counting their requests is the rare case. */
    for (size_t i = 0; i < PROBES; i++) {
        size_t s = (home + i) & (SLIDE_SLOTS - 1);
        int64_t n = in_window(sl, s, now);

        if (fewest == SLIDE_OVERFLOW || n < fewest_n) {
            fewest = s;
            fewest_n = n;
        }
    }
    if (slide_near_limit(sl, fewest_n))
        return SLIDE_OVERFLOW;
    *fresh = true;
    return fewest;
}

/* Lets one request of the slot through at now and notes its time, or
 * returns the seconds until its oldest request in the window leaves it. */
static int64_t slide_admit(struct tsr_slidelimit *sl, size_t s, int64_t now)
{
    struct slide *w = &sl->slots[s];
    int64_t *t = times_of(sl, s);
    int64_t live = 0, oldest = 0;

    for (int64_t i = 0; i < w->used; i++) {
        live += now - t[i] < sl->window;
        if (t[i] < t[oldest])
            oldest = i;
    }
    if (live >= sl->max)
        return t[oldest] + sl->window - now;
    /* With every place taken, fewer than max in the window means the oldest
     * time is past it: the new one takes its place. */
    if (w->used < sl->max)
        oldest = w->used++;
    t[oldest] = now;
    if (w->used == 1 || now > w->newest)
        w->newest = now;
    return 0;
}

int64_t tsr__slidelimit_take(struct tsr_slidelimit *sl, const char *key, int64_t now)
{
    uint64_t tag;
    int64_t wait;
    bool fresh;
    size_t s;

    if (sl->max <= 0)
        return 0;
    tag = keyed_tag(sl->key, key);
    pthread_mutex_lock(&sl->lock);
    s = slide_find(sl, tag, now, &fresh);
    if (fresh) {
        sl->slots[s].tag = tag;
        sl->slots[s].used = 0;
    }
    wait = slide_admit(sl, s, now);
    pthread_mutex_unlock(&sl->lock);
    return wait;
}
