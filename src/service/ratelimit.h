/* ratelimit.h - failed logins counted per client address, in fixed windows */
#ifndef TSR_SERVICE_RATELIMIT_H
#define TSR_SERVICE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct tsr_ratelimit;

/* A limiter that refuses an address after max failures within window
 * seconds, until that window has passed; max 0 turns it off. */
enum tsr_err tsr__ratelimit_new(int64_t max, int64_t window,
                                struct tsr_ratelimit **out) TSR_MUST_CHECK;

/* Frees the limiter; NULL is a no-op. */
void tsr__ratelimit_free(struct tsr_ratelimit *rl);

/* Seconds addr must still wait at now (0: it may try). Cannot fail. */
int64_t tsr__ratelimit_wait(struct tsr_ratelimit *rl, const char *addr, int64_t now);

/* Counts one failure of addr at now. Cannot fail (when the table is full of
 * live windows, the failure is not counted). */
void tsr__ratelimit_fail(struct tsr_ratelimit *rl, const char *addr, int64_t now);

#endif
