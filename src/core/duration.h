/* duration.h - lengths of time as people write them: 0, 90s, 15m, 1h, 1d */
#ifndef TSR_CORE_DURATION_H
#define TSR_CORE_DURATION_H

#include <stddef.h>
#include <stdint.h>

enum tsr_duration_error {
    TSR_DURATION_OK = 0,
    TSR_DURATION_MALFORMED, /* not "0" nor digits and one of s, m, h, d */
    TSR_DURATION_TOO_LONG,  /* more than the maximum given */
};

/* Parses text into *out seconds, at most max. Pure. */
enum tsr_duration_error tsr_duration_seconds(const char *text, int64_t max, int64_t *out);

/* Writes seconds in the largest of d, h, m and s that counts it whole ("24h"). */
void tsr_duration_format(int64_t seconds, char *out, size_t size);

#endif
