/* prompt.h - questions on the terminal, and lines from standard input
 *
 * Everything here reads standard input with read(2), a byte at a time, so
 * that no password or token lingers in a stdio buffer after it is wiped.
 * Prompts go to standard error, so that `$(tessera ...)` still shows them.
 */
#ifndef TSR_CLI_PROMPT_H
#define TSR_CLI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Whether standard input is a terminal, which is when tessera asks
 * questions. Cannot fail. */
bool tsr_prompt_is_tty(void);

/* Reads one line from standard input into buf (NUL-terminated, without its
 * "\n" or "\r\n"). Returns TSR_OK; TSR_ERR_MISSING at end of input before
 * any byte; TSR_ERR_INVALID for a line of size bytes or more (the rest of
 * the line is read and dropped); TSR_ERR_IO when reading fails. */
enum tsr_err tsr_prompt_read_line(char *buf, size_t size) TSR_MUST_CHECK;

/* Writes prompt to standard error and reads the answer as
 * tsr_prompt_read_line does. */
enum tsr_err tsr_prompt_ask(const char *prompt, char *buf, size_t size) TSR_MUST_CHECK;

/* As tsr_prompt_ask, with echo turned off for the answer (turned off before
 * the prompt is written, and restored even on Ctrl-C). Standard input must
 * be a terminal; TSR_ERR_IO when its settings cannot be changed. */
enum tsr_err tsr_prompt_hidden(const char *prompt, char *buf, size_t size) TSR_MUST_CHECK;

#endif
