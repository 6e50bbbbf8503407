/* ratelimit.c - failed logins counted per client address, in fixed windows */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/ratelimit.h"
#include "store/store.h"

#define SLOTS  65536 /* addresses tracked at once; a power of two */
#define PROBES 32    /* how far a look-up searches before it gives up */

struct window {
    char addr[TSR_ADDR_MAX + 1]; /* "" for a free slot */
    int64_t start;               /* the first failure of this window */
    int64_t failures;
};

struct tsr_ratelimit {
    pthread_mutex_t lock;
    int64_t max;
    int64_t window;
    struct window *slots;
};

enum tsr_err tsr__ratelimit_new(int64_t max, int64_t window, struct tsr_ratelimit **out)
{
    struct tsr_ratelimit *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return TSR_ERR_NOMEM;
    rl->slots = calloc(SLOTS, sizeof(*rl->slots));
    if (!rl->slots) {
        free(rl);
        return TSR_ERR_NOMEM;
    }
    pthread_mutex_init(&rl->lock, NULL);
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
    free(rl->slots);
    free(rl);
}

/* An unknown address ("") is one address of its own, never a free slot. */
static const char *name_of(const char *addr)
{
    return addr && *addr ? addr : "-";
}

static size_t slot_of(const char *addr)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h & (SLOTS - 1);
}

static bool expired(const struct tsr_ratelimit *rl, const struct window *w, int64_t now)
{
    return w->addr[0] == '\0' || now - w->start >= rl->window;
}

/* The slot of addr, or with make, a slot taken for it (reusing one whose
 * window has passed); NULL when there is none within PROBES. */
static struct window *find(struct tsr_ratelimit *rl, const char *addr, int64_t now, bool make)
{
    size_t home = slot_of(addr);
    struct window *spare = NULL;

    for (size_t i = 0; i < PROBES; i++) {
        struct window *w = &rl->slots[(home + i) & (SLOTS - 1)];

        if (strcmp(w->addr, addr) == 0)
            return w;
        if (!spare && expired(rl, w, now))
            spare = w;
    }
    if (!make || !spare)
        return NULL;
    memset(spare, 0, sizeof(*spare));
    snprintf(spare->addr, sizeof(spare->addr), "%s", addr);
    spare->start = now;
    return spare;
}

int64_t tsr__ratelimit_wait(struct tsr_ratelimit *rl, const char *addr, int64_t now)
{
    struct window *w;
    int64_t wait = 0;

    if (rl->max <= 0)
        return 0;
    pthread_mutex_lock(&rl->lock);
    w = find(rl, name_of(addr), now, false);
    if (w && !expired(rl, w, now) && w->failures >= rl->max)
        wait = w->start + rl->window - now;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

void tsr__ratelimit_fail(struct tsr_ratelimit *rl, const char *addr, int64_t now)
{
    struct window *w;

    if (rl->max <= 0)
        return;
    pthread_mutex_lock(&rl->lock);
    w = find(rl, name_of(addr), now, true);
    if (w && expired(rl, w, now)) {
        w->start = now;
        w->failures = 0;
    }
    if (w)
        w->failures++;
    pthread_mutex_unlock(&rl->lock);
}
