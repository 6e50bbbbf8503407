/* timefmt.c - RFC 3339 times: parse every expires_at form, format, the clock */
#include "core/timefmt.h"

#include <stdbool.h>
#include <time.h>

#define TSR_SECONDS_PER_DAY INT64_C(86400)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n decimal digits at s[*pos] (bounded by len) into *out and
 * moves *pos past them; false when there are fewer than n digits. */
static bool read_digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;

    if (len - *pos < (size_t)n)
        return false;
    for (int i = 0; i < n; i++) {
        char c = s[*pos + (size_t)i];
        if (!is_digit(c))
            return false;
        v = v * 10 + (c - '0');
    }
    *pos += (size_t)n;
    *out = v;
    return true;
}

/* True when s[*pos] is c (bounded by len); then moves *pos past it. */
static bool read_char(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return false;
    (*pos)++;
    return true;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month == 2 && is_leap(year))
        return 29;
    return days[month - 1];
}

/* Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic
 * Gregorian date, for any year. The era split keeps the divisions exact for
 * negative years. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Howard Hinnant's civil_from_days, the inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

int64_t tsr_time_from_civil(int64_t year, int month, int day, int hour, int minute, int second)
{
    return days_from_civil(year, month, day) * TSR_SECONDS_PER_DAY + hour * INT64_C(3600) +
           minute * INT64_C(60) + second;
}

/* Reads the zone that ends every form: nothing (UTC), "Z"/"z", or
 * "+HH:MM"/"-HH:MM", which must reach exactly to len. *offset is the zone's
 * offset east of UTC in seconds. */
static bool read_zone(const char *s, size_t len, size_t pos, int64_t *offset)
{
    int hh, mm;
    int sign;

    if (pos == len) {
        *offset = 0;
        return true;
    }
    if (s[pos] == 'Z' || s[pos] == 'z') {
        *offset = 0;
        return pos + 1 == len;
    }
    if (s[pos] == '+')
        sign = 1;
    else if (s[pos] == '-')
        sign = -1;
    else
        return false;
    pos++;
    if (!read_digits(s, len, &pos, 2, &hh) || !read_char(s, len, &pos, ':') ||
        !read_digits(s, len, &pos, 2, &mm) || pos != len)
        return false;
    if (hh > 23 || mm > 59)
        return false;
    *offset = sign * (hh * INT64_C(3600) + mm * INT64_C(60));
    return true;
}

enum tsr_err tsr_time_parse(const char *s, size_t len, int64_t *out)
{
    size_t pos = 0;
    /* Set on every path that reads them; gcc 12's -O2 cannot see it. */
    int year = 0, month = 0, day = 0;
    int hour = 0, minute = 0, second = 0;
    int64_t offset;

    if (s == NULL)
        return TSR_ERR_INVALID;
    if (!read_digits(s, len, &pos, 4, &year) || !read_char(s, len, &pos, '-') ||
        !read_digits(s, len, &pos, 2, &month) || !read_char(s, len, &pos, '-') ||
        !read_digits(s, len, &pos, 2, &day))
        return TSR_ERR_INVALID;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return TSR_ERR_INVALID;

    if (pos < len && (s[pos] == 'T' || s[pos] == 't')) {
        pos++;
        if (!read_digits(s, len, &pos, 2, &hour) || !read_char(s, len, &pos, ':') ||
            !read_digits(s, len, &pos, 2, &minute))
            return TSR_ERR_INVALID;
        if (read_char(s, len, &pos, ':')) {
            if (!read_digits(s, len, &pos, 2, &second))
                return TSR_ERR_INVALID;
            /* A fraction is only allowed after seconds; it is truncated, so
             * its digits are checked and skipped. */
            if (read_char(s, len, &pos, '.')) {
                size_t start = pos;
                while (pos < len && is_digit(s[pos]))
                    pos++;
                if (pos == start)
                    return TSR_ERR_INVALID;
            }
        }
        /* RFC 3339 allows a leap second (:60); Unix time has none, and an
         * expiry never needs one, so it is refused with 24:00. */
        if (hour > 23 || minute > 59 || second > 59)
            return TSR_ERR_INVALID;
    }

    if (!read_zone(s, len, pos, &offset))
        return TSR_ERR_INVALID;

    *out = tsr_time_from_civil(year, month, day, hour, minute, second) - offset;
    return TSR_OK;
}

/* Writes v as exactly n decimal digits, zero-padded, at p. */
static void put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void tsr_time_format(int64_t t, char out[TSR_TIME_LEN + 1])
{
    int64_t year;
    int month, day;

    if (t < 0)
        t = 0;
    if (t > TSR_TIME_MAX)
        t = TSR_TIME_MAX;

    int64_t days = t / TSR_SECONDS_PER_DAY;
    int64_t secs = t % TSR_SECONDS_PER_DAY;
    civil_from_days(days, &year, &month, &day);

    /* Digits are written by hand: every field is in range after the clamp,
     * and this keeps the format fixed-width with no snprintf to check. */
    put_digits(out, year, 4);
    out[4] = '-';
    put_digits(out + 5, month, 2);
    out[7] = '-';
    put_digits(out + 8, day, 2);
    out[10] = 'T';
    put_digits(out + 11, secs / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, secs / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, secs % 60, 2);
    out[19] = 'Z';
    out[TSR_TIME_LEN] = '\0';
}

int64_t tsr_time_now(void)
{
    struct timespec ts;

    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t tsr_time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
