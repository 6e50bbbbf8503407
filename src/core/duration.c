/* duration.c - lengths of time as people write them */
#include "core/duration.h"

#include <stdio.h>
#include <string.h>

#define DAY INT64_C(86400)

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

enum tsr_duration_error tsr_duration_seconds(const char *text, int64_t max, int64_t *out)
{
    size_t len = strlen(text);
    int64_t n = 0, unit = len >= 2 ? unit_seconds(text[len - 1]) : 0;

    if (strcmp(text, "0") == 0) {
        *out = 0;
        return TSR_DURATION_OK;
    }
    for (size_t i = 0; unit != 0 && i + 1 < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            unit = 0;
        else if (n <= max) /* past max it is too long whatever follows: stop counting */
            n = n * 10 + (text[i] - '0');
    }
    if (unit == 0)
        return TSR_DURATION_MALFORMED;
    if (n > max / unit)
        return TSR_DURATION_TOO_LONG;
    *out = n * unit;
    return TSR_DURATION_OK;
}

void tsr_duration_format(int64_t seconds, char *out, size_t size)
{
    if (seconds > 0 && seconds % DAY == 0)
        snprintf(out, size, "%lldd", (long long)(seconds / DAY));
    else if (seconds > 0 && seconds % 3600 == 0)
        snprintf(out, size, "%lldh", (long long)(seconds / 3600));
    else if (seconds > 0 && seconds % 60 == 0)
        snprintf(out, size, "%lldm", (long long)(seconds / 60));
    else
        snprintf(out, size, "%llds", (long long)seconds);
}
