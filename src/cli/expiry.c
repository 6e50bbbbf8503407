/* expiry.c - what `--expires` and `--not-before` accept: presets, Nd/Nw/Ny,
 * or a date; and what `--grace` accepts: a length of time */
#include "cli/expiry.h"

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

/* Seconds in one unit of a length of time; 0 for a letter that is none. */
static int64_t unit_seconds(char unit)
{
    switch (unit) {
    case 's':
    case 'S':
        return 1;
    case 'm':
    case 'M':
        return 60;
    case 'h':
    case 'H':
        return 3600;
    case 'd':
    case 'D':
        return DAY;
    default:
        return 0;
    }
}

/* seconds in the largest of h, m and s that counts it whole, as "24h". */
static void format_duration(int64_t seconds, char *out, size_t size)
{
    if (seconds > 0 && seconds % 3600 == 0)
        snprintf(out, size, "%lldh", (long long)(seconds / 3600));
    else if (seconds > 0 && seconds % 60 == 0)
        snprintf(out, size, "%lldm", (long long)(seconds / 60));
    else
        snprintf(out, size, "%llds", (long long)seconds);
}

enum tsr_err tsr_duration_parse(const char *text, const char *what, int64_t max, int64_t *out,
                                char *why, size_t why_size)
{
    size_t len = strlen(text);
    int64_t n = 0, unit = len >= 2 ? unit_seconds(text[len - 1]) : 0;
    char limit[32];

    if (strcmp(text, "0") == 0) {
        *out = 0;
        return TSR_OK;
    }
    for (size_t i = 0; unit != 0 && i + 1 < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            unit = 0;
        else if (n <= max) /* past max it is too long whatever follows: stop counting */
            n = n * 10 + (text[i] - '0');
    }
    if (unit == 0) {
        snprintf(why, why_size, "%s '%.64s' is not a length of time " TSR_DURATION_FORMS, what,
                 text);
        return TSR_ERR_INVALID;
    }
    if (n > max / unit) {
        format_duration(max, limit, sizeof(limit));
        snprintf(why, why_size, "%s '%.64s' is longer than %s, the most the server allows", what,
                 text, limit);
        return TSR_ERR_INVALID;
    }
    *out = n * unit;
    return TSR_OK;
}
