/* log.h - one line per event on standard error, as text or JSON */
#ifndef TSR_SERVICE_LOG_H
#define TSR_SERVICE_LOG_H

#include <stdbool.h>

enum tsr_log_level {
    TSR_LOG_INFO,
    TSR_LOG_WARN,
    TSR_LOG_ERROR,
};

/* Chooses JSON lines (true) or text lines (false); text is the default.
 * Call before any thread logs. */
void tsr_log_set_json(bool json);

/* Writes one line: the time, the level and the message made from fmt. The
 * caller guarantees the message holds no secret or password. Cannot fail
 * (a line that cannot be written is dropped). */
void tsr_log(enum tsr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
