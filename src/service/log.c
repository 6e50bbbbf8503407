/* log.c - one line per event on standard error, as text or JSON */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "core/timefmt.h"
#include "service/log.h"

static bool log_json;

void tsr_log_set_json(bool json)
{
    log_json = json;
}

static const char *level_name(enum tsr_log_level level)
{
    switch (level) {
    case TSR_LOG_INFO:
        return "info";
    case TSR_LOG_WARN:
        return "warn";
    case TSR_LOG_ERROR:
        return "error";
    }
    return "info";
}

static void write_json_line(const char *when, const char *level, const char *msg)
{
    json_t *line = json_pack("{s:s, s:s, s:s}", "time", when, "level", level, "msg", msg);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

    if (text)
        dprintf(STDERR_FILENO, "%s\n", text);
    free(text);
    json_decref(line);
}

void tsr_log(enum tsr_log_level level, const char *fmt, ...)
{
    char when[TSR_TIME_LEN + 1];
    char msg[1024];
    va_list ap;

    tsr_time_format(tsr_time_now(), when);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    /* One write(2) per line keeps lines whole when threads log at once. */
    if (log_json)
        write_json_line(when, level_name(level), msg);
    else
        dprintf(STDERR_FILENO, "%s %s %s\n", when, level_name(level), msg);
}
