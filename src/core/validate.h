/* validate.h - text rules: UTF-8, code points, control characters, trimming */
#ifndef TSR_CORE_VALIDATE_H
#define TSR_CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* True when the len bytes at s are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF); then *count is the number of code
 * points. On false, *count is untouched. NUL bytes are valid code points. */
bool tsr_utf8_count(const char *s, size_t len, size_t *count);

/* Moves *s and shrinks *len past leading and trailing spaces, tabs, carriage
 * returns and line feeds. Cannot fail. */
void tsr_trim(const char **s, size_t *len);

/* True when the valid UTF-8 text s holds a code point of Unicode category Cc
 * (U+0000-U+001F, U+007F-U+009F); with allow_line_breaks, LF and CR pass. */
bool tsr_has_control(const char *s, size_t len, bool allow_line_breaks);

/* True when the valid UTF-8 text s holds a code point that changes how text
 * around it is shown while being invisible itself: the bidirectional
 * controls U+202A-U+202E and U+2066-U+2069, U+200B, U+200E, U+200F and
 * U+FEFF (the zero-width joiner U+200D is not one: emoji need it). */
bool tsr_has_invisible(const char *s, size_t len);

/* Checks a text field the way the API counts it: trims *s and *len (see
 * tsr_trim), then requires valid UTF-8, min..max code points, no control
 * characters (LF and CR pass with allow_line_breaks) and nothing that
 * tsr_has_invisible finds. On failure returns
 * TSR_ERR_INVALID and writes a sentence naming field to detail, such as
 * "name must be at most 100 characters". Returns TSR_OK otherwise. */
enum tsr_err tsr_text_check(const char *field, const char **s, size_t *len, size_t min, size_t max,
                            bool allow_line_breaks, char *detail,
                            size_t detail_size) TSR_MUST_CHECK;

/* True when s looks like an email address: at most 254 bytes of valid UTF-8,
 * exactly one '@' with at least one character before it and a domain after it
 * that holds no '@', and no white space or control characters. */
bool tsr_email_valid(const char *s, size_t len);

#endif
