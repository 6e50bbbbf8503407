/* expiry.c - what `--expires` and `--not-before` accept: presets, Nd/Nw/Ny,
 * or a date; and what `--grace` accepts: a length of time */
#include "cli/expiry.h"
#include "core/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"

#define DAY        INT64_C(86400)
#define MAX_AMOUNT 100000

/* Reads "<digits><unit>" with 1 <= digits <= MAX_AMOUNT; false when text is
 * not of that shape at all. */
static bool split_amount(const char *text, int64_t *amount, char *unit)
{
    size_t len = strlen(text);
    int64_t n = 0;

    if (len < 2 || len > 7)
        return false;
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        n = n * 10 + (text[i] - '0');
    }
    *amount = n;
    *unit = text[len - 1];
    return true;
}

/* now plus years calendar years, or false when the result is out of range. */
static bool add_years(int64_t now, int64_t years, int64_t *out)
{
    time_t t = (time_t)now;
    struct tm tm;
    int64_t year;
    int day;

    if (gmtime_r(&t, &tm) == NULL)
        return false;
    year = (int64_t)tm.tm_year + 1900 + years;
    day = tm.tm_mday;
    if (tm.tm_mon == 1 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        day = 28;
    if (year > 9999)
        return false;
    *out = tsr_time_from_civil(year, tm.tm_mon + 1, day, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

enum tsr_err tsr_expiry_parse(const char *text, int64_t now, int64_t *out, char *why,
                              size_t why_size)
{
    return tsr_when_parse(text, "the expiry", now, out, why, why_size);
}

enum tsr_err tsr_when_parse(const char *text, const char *what, int64_t now, int64_t *out,
                            char *why, size_t why_size)
{
    int64_t amount = 0, t = 0;
    char unit = 0;

    if (split_amount(text, &amount, &unit) && strchr("dDwWyY", unit) != NULL) {
        if (amount < 1 || amount > MAX_AMOUNT) {
            snprintf(why, why_size, "%s '%s' must count from 1 to %d", what, text, MAX_AMOUNT);
            return TSR_ERR_INVALID;
        }
        if (unit == 'd' || unit == 'D')
            t = now + amount * DAY;
        else if (unit == 'w' || unit == 'W')
            t = now + amount * 7 * DAY;
        else if (!add_years(now, amount, &t))
            t = TSR_TIME_MAX + 1;
        if (t > TSR_TIME_MAX) {
            snprintf(why, why_size, "%s '%s' is after the year 9999", what, text);
            return TSR_ERR_INVALID;
        }
        *out = t;
        return TSR_OK;
    }
    if (tsr_time_parse(text, strlen(text), &t) == TSR_OK) {
        *out = t;
        return TSR_OK;
    }
    snprintf(why, why_size, "%s '%.64s' is not one of %s", what, text, TSR_EXPIRY_FORMS);
    return TSR_ERR_INVALID;
}

enum tsr_err tsr_duration_parse(const char *text, const char *what, int64_t max, int64_t *out,
                                char *why, size_t why_size)
{
    char limit[32];

    switch (tsr_duration_seconds(text, max, out)) {
    case TSR_DURATION_OK:
        return TSR_OK;
    case TSR_DURATION_MALFORMED:
        snprintf(why, why_size, "%s '%.64s' is not a length of time " TSR_DURATION_FORMS, what,
                 text);
        break;
    case TSR_DURATION_TOO_LONG:
        /* In hours at most, as people write a grace period. */
        if (max > 0 && max % 3600 == 0)
            snprintf(limit, sizeof(limit), "%lldh", (long long)(max / 3600));
        else
            tsr_duration_format(max, limit, sizeof(limit));
        snprintf(why, why_size, "%s '%.64s' is longer than %s, the most the server allows", what,
                 text, limit);
        break;
    }
    return TSR_ERR_INVALID;
}
