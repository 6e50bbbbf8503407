/* expiry.h - what `--expires` and `--not-before` accept: presets, Nd/Nw/Ny,
 * or a date; and what `--grace` accepts: a length of time
 *
 * Relative forms are counted from now on this machine and sent as an RFC 3339
 * UTC expires_at; the server checks the result against its own clock and
 * lifetime limit. The forms:
 *   Nd  N days of 86,400 seconds       (1d, 7d, 15d, 30d, 90d are presets)
 *   Nw  N weeks of 7 days
 *   Ny  N calendar years: the same day and time N years on, where a 29
 *       February that the target year lacks becomes the 28th. So `1y` is
 *       365 or 366 days, always within the server's default limit of 366
 *       days inclusive, and is what people mean by "a year from now".
 *   a date or date and time in any form the API takes (see timefmt.h).
 * The letters may be in either case. N is a whole number from 1 to 100000.
 */
#ifndef TSR_CLI_EXPIRY_H
#define TSR_CLI_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Parses text into a Unix time, relative forms counted from now. Returns
 * TSR_OK and *out, or TSR_ERR_INVALID with a sentence for the user in why
 * (*out untouched). Does not check that the time is in the future: the
 * server does, with its own clock. */
enum tsr_err tsr_expiry_parse(const char *text, int64_t now, int64_t *out, char *why,
                              size_t why_size) TSR_MUST_CHECK;

/* The same for another time, named by what in the sentence ("the
 * not-before time"), so that a mistake says which option it was in. */
enum tsr_err tsr_when_parse(const char *text, const char *what, int64_t now, int64_t *out,
                            char *why, size_t why_size) TSR_MUST_CHECK;

/* The forms, for help texts and prompts. */
#define TSR_EXPIRY_FORMS "1d, 7d, 15d, 30d, 90d, 1y, any Nd, Nw or Ny, or a date such as 2026-12-30"

/* Parses a length of time, "<N><unit>" with the unit s, m, h or d (either
 * case) and N a whole number, or "0" alone, into seconds from 0 to max
 * (which must be below INT64_MAX / 10).
 * Returns TSR_OK and *out, or TSR_ERR_INVALID with a sentence for the user
 * in why that names the option, what (such as "--grace"); *out untouched. */
enum tsr_err tsr_duration_parse(const char *text, const char *what, int64_t max, int64_t *out,
                                char *why, size_t why_size) TSR_MUST_CHECK;

/* The forms of a length of time, for help texts. */
#define TSR_DURATION_FORMS "such as 0, 90s, 15m, 1h or 1d"

#endif
