/* ratelimit.h - attempts counted per key (an address, an email): failures in fixed windows, and
 * requests in a sliding window */
#ifndef TSR_SERVICE_RATELIMIT_H
#define TSR_SERVICE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct tsr_ratelimit;

/* What tsr__ratelimit_take counted, so that it can be given back. */
struct tsr_ratelimit_hold {
    size_t slot;
    uint64_t tag;
    int64_t start;
};

/* A limiter that refuses a key after max failures within window seconds,
 * until that window has passed; max 0 turns it off. Its table is keyed with
 * a secret of its own, chosen here, so that nobody outside can tell which
 * keys share a slot. */
enum tsr_err tsr__ratelimit_new(int64_t max, int64_t window,
                                struct tsr_ratelimit **out) TSR_MUST_CHECK;

/* Frees the limiter; NULL is a no-op. */
void tsr__ratelimit_free(struct tsr_ratelimit *rl);

/* Seconds key must still wait at now (0: it may try). Cannot fail. */
int64_t tsr__ratelimit_wait(struct tsr_ratelimit *rl, const char *key, int64_t now);

/* Checks and counts one attempt of key at now, in one step: 0 when the
 * attempt may go ahead (it is counted as a failure already, and *hold says
 * where: tsr__ratelimit_release gives it back if the attempt succeeds), or
 * the seconds key must still wait (nothing counted). Parallel attempts
 * therefore never pass the limit. A full table never stops the counting:
 * it evicts the window with the fewest failures unless that one is near its
 * limit, else counts key in one shared overflow window with the same limit.
 * Cannot fail. */
int64_t tsr__ratelimit_take(struct tsr_ratelimit *rl, const char *key, int64_t now,
                            struct tsr_ratelimit_hold *hold);

/* Gives back the attempt that hold counted, unless its window has ended or
 * been reused since. Cannot fail. */
void tsr__ratelimit_release(struct tsr_ratelimit *rl, const struct tsr_ratelimit_hold *hold);

/* Counts one failure of key at now, whatever its count (as take does, but
 * never refused). Cannot fail. */
void tsr__ratelimit_fail(struct tsr_ratelimit *rl, const char *key, int64_t now);

/* ---- requests in a sliding window ---- */

/* The most requests a sliding limiter lets a key make in one window: each
 * key keeps the times of that many requests. */
#define TSR_SLIDELIMIT_MAX 1000

struct tsr_slidelimit;

/* A limiter that lets a key make at most max requests in any window
 * seconds: a request counts from the moment it is let through until window
 * seconds later, so that a key's allowance comes back one request at a
 * time, never all at once at the edge of a fixed window. max 0 turns it
 * off; TSR_ERR_INVALID above TSR_SLIDELIMIT_MAX. Keyed with a secret of its
 * own, chosen here, as tsr__ratelimit_new's table is. */
enum tsr_err tsr__slidelimit_new(int64_t max, int64_t window,
                                 struct tsr_slidelimit **out) TSR_MUST_CHECK;

/* Frees the limiter; NULL is a no-op. */
void tsr__slidelimit_free(struct tsr_slidelimit *sl);

/* Checks and counts one request of key at now, in one step: 0 when it may
 * go ahead (it is counted), or the seconds until key's next request would
 * be let through, when max requests of key fall in the window that ends at
 * now (nothing counted: a refusal does not push that moment back).
 * Parallel requests therefore never pass the limit. A full table never
 * stops the counting: it evicts the key with the fewest requests in its
 * window unless that one is near its limit, else counts key in one shared
 * overflow window with the same limit. Cannot fail. */
int64_t tsr__slidelimit_take(struct tsr_slidelimit *sl, const char *key, int64_t now);

#endif
