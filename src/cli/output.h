/* output.h - what tessera prints: tables, key-value views, times, JSON
 *
 * Text that comes from the server (names, descriptions) is cleaned before it
 * reaches a terminal: control characters become '?', so no answer can move
 * the cursor or retitle a window. Times are shown in UTC, as the API gives
 * them, so that what the table says matches the JSON.
 */
#ifndef TSR_CLI_OUTPUT_H
#define TSR_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/err.h"

#define TSR_OUT_WHEN_LEN 16 /* "2026-12-30 02:13" */
#define TSR_OUT_CELL_MAX 512

/* Writes j to f as indented JSON and a newline. Returns TSR_OK or
 * TSR_ERR_IO. */
enum tsr_err tsr_out_json(FILE *f, const json_t *j) TSR_MUST_CHECK;

/* Writes t as "YYYY-MM-DD HH:MM" (UTC) and a NUL to out. Cannot fail. */
void tsr_out_when(int64_t t, char out[TSR_OUT_WHEN_LEN + 1]);

/* Writes t relative to now, such as "in 30 days", "5 minutes ago", "in a
 * few seconds" or "just now", to out. Cannot fail. */
void tsr_out_relative(int64_t t, int64_t now, char *out, size_t size);

/* Writes an API time string as "when (relative)", or "when UTC (relative)"
 * with utc; "-" when it is not a time, "never" when s is NULL. Cannot fail. */
void tsr_out_time(const char *s, int64_t now, bool utc, char *out, size_t size);

/* Copies the UTF-8 text s to out with control characters (and invalid
 * bytes) replaced by '?', cut to at most max_cols columns (0: no limit) with
 * "…" at the cut. Returns the columns it takes on a terminal. Cannot fail. */
size_t tsr_out_clean(const char *s, char *out, size_t size, size_t max_cols);

/* Columns that the clean UTF-8 text s takes on a terminal. Cannot fail. */
size_t tsr_out_width(const char *s);

/* The string member key of obj, or "?" when obj is not an object or the
 * member is not a string. Cannot fail. */
const char *tsr_out_jstr(const json_t *obj, const char *key);

/* Prints "label:" padded to a common width, then value (cleaned as
 * tsr_out_clean does, with its line breaks kept and every line after the
 * first indented under the first). Returns TSR_OK or TSR_ERR_IO. */
enum tsr_err tsr_out_pair(FILE *f, const char *label, const char *value) TSR_MUST_CHECK;

/* A table: a header row, then rows of cells, printed with the columns lined
 * up, as kubectl and gh print theirs. */
struct tsr_table {
    size_t ncols;
    const char *const *heads;
    char **cells; /* nrows * ncols copies */
    size_t nrows, cap;
};

/* Starts an empty table with ncols columns named heads (which must outlive
 * it). Cannot fail. */
void tsr_table_init(struct tsr_table *t, size_t ncols, const char *const *heads);

/* Adds a row of ncols cells (copied). Returns TSR_OK or TSR_ERR_NOMEM. */
enum tsr_err tsr_table_add(struct tsr_table *t, const char *const *cells) TSR_MUST_CHECK;

/* Prints the table to f. Returns TSR_OK or TSR_ERR_IO. */
enum tsr_err tsr_table_print(const struct tsr_table *t, FILE *f) TSR_MUST_CHECK;

/* Frees what t holds. Cannot fail. */
void tsr_table_release(struct tsr_table *t);

#endif
