/* timefmt.h - RFC 3339 times: parse every expires_at form, format, the clock */
#ifndef TSR_CORE_TIMEFMT_H
#define TSR_CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TSR_TIME_LEN 20 /* "2026-12-30T02:13:00Z", without the NUL */

/* The latest time that formats in four-digit years: 9999-12-31T23:59:59Z. */
#define TSR_TIME_MAX INT64_C(253402300799)

/* Parses the len bytes at s as one of the forms that expires_at accepts:
 *   YYYY-MM-DD                      (00:00:00 of that day)
 *   YYYY-MM-DDTHH:MM
 *   YYYY-MM-DDTHH:MM:SS[.fraction]  (the fraction is truncated)
 * each followed by nothing (UTC), "Z", or "+HH:MM"/"-HH:MM"; "T" and "Z" in
 * either case. The date must exist (leap years counted), hours 00-23,
 * minutes 00-59, seconds 00-59, offsets at most 23:59.
 * Returns TSR_OK and the Unix time in *out, or TSR_ERR_INVALID (*out untouched). */
enum tsr_err tsr_time_parse(const char *s, size_t len, int64_t *out) TSR_MUST_CHECK;

/* Writes t (0 <= t <= TSR_TIME_MAX) as "YYYY-MM-DDTHH:MM:SSZ" and a NUL to
 * out; a t outside that range is clamped to it. Cannot fail. */
void tsr_time_format(int64_t t, char out[TSR_TIME_LEN + 1]);

/* Converts a civil date in UTC to Unix time; no range checks. Cannot fail. */
int64_t tsr_time_from_civil(int64_t year, int month, int day, int hour, int minute, int second);

/* The wall clock: Unix time in seconds, and in milliseconds. Cannot fail. */
int64_t tsr_time_now(void);
int64_t tsr_time_now_ms(void);

#endif
