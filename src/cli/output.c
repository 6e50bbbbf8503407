/* output.c - what tessera prints: tables, key-value views, times, JSON */
#include "cli/output.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "core/timefmt.h"

#define MINUTE 60
#define HOUR   3600
#define DAY    86400

enum tsr_err tsr_out_json(FILE *f, const json_t *j)
{
    if (json_dumpf(j, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF)
        return TSR_ERR_IO;
    return TSR_OK;
}

void tsr_out_when(int64_t t, char out[TSR_OUT_WHEN_LEN + 1])
{
    char iso[TSR_TIME_LEN + 1];

    tsr_time_format(t, iso);
    /* "2026-12-30T02:13:00Z" -> "2026-12-30 02:13" */
    memcpy(out, iso, TSR_OUT_WHEN_LEN);
    out[10] = ' ';
    out[TSR_OUT_WHEN_LEN] = '\0';
}

void tsr_out_relative(int64_t t, int64_t now, char *out, size_t size)
{
    int64_t d = t - now;
    int64_t a = d < 0 ? -d : d;
    int64_t n;
    const char *unit;

    if (a < 45) {
        snprintf(out, size, d > 0 ? "in a few seconds" : "just now");
        return;
    }
    /* Rounded to the nearest unit: a token made for 30 days, looked at a
     * second later, still expires "in 30 days". */
    if (a < 90 * MINUTE) {
        n = (a + MINUTE / 2) / MINUTE;
        unit = "minute";
    } else if (a < 36 * HOUR) {
        n = (a + HOUR / 2) / HOUR;
        unit = "hour";
    } else {
        n = (a + DAY / 2) / DAY;
        unit = "day";
    }
    if (d < 0)
        snprintf(out, size, "%lld %s%s ago", (long long)n, unit, n == 1 ? "" : "s");
    else
        snprintf(out, size, "in %lld %s%s", (long long)n, unit, n == 1 ? "" : "s");
}

void tsr_out_time(const char *s, int64_t now, bool utc, char *out, size_t size)
{
    char when[TSR_OUT_WHEN_LEN + 1], rel[48];
    int64_t t;

    if (s == NULL) {
        snprintf(out, size, "never");
        return;
    }
    if (tsr_time_parse(s, strlen(s), &t) != TSR_OK) {
        snprintf(out, size, "-");
        return;
    }
    tsr_out_when(t, when);
    tsr_out_relative(t, now, rel, sizeof(rel));
    snprintf(out, size, "%s%s (%s)", when, utc ? " UTC" : "", rel);
}

/* Decodes one UTF-8 code point at s (n bytes left); returns its length, or 0
 * for an invalid or truncated sequence. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Columns of one printable code point: wcwidth knows wide and combining
 * characters in a UTF-8 locale; elsewhere, count one. */
static size_t columns(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);

    return w < 0 ? 1 : (size_t)w;
}

size_t tsr_out_clean(const char *s, char *out, size_t size, size_t max_cols)
{
    static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026 */
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0, cols = 0;
    size_t total = tsr_out_width(s);

    while (n > 0) {
        uint32_t cp = '?';
        size_t len = decode(p, n, &cp);
        size_t w;
        bool bad = len == 0 || is_control(cp);

        if (len == 0)
            len = 1;
        w = bad ? 1 : columns(cp);
        /* Leave room for the ellipsis when the text will not fit. */
        if (max_cols > 0 && total > max_cols && cols + w > max_cols - 1) {
            if (o + sizeof(ellipsis) <= size) {
                memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
                o += sizeof(ellipsis) - 1;
                cols++;
            }
            break;
        }
        if (o + (bad ? 1 : len) + 1 > size)
            break;
        if (bad) {
            out[o++] = '?';
        } else {
            memcpy(out + o, p, len);
            o += len;
        }
        cols += w;
        p += len;
        n -= len;
    }
    if (size > 0)
        out[o] = '\0';
    return cols;
}

size_t tsr_out_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), cols = 0;

    while (n > 0) {
        uint32_t cp = '?';
        size_t len = decode(p, n, &cp);

        if (len == 0 || is_control(cp)) {
            cols++;
            len = len ? len : 1;
        } else {
            cols += columns(cp);
        }
        p += len;
        n -= len;
    }
    return cols;
}

const char *tsr_out_jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "?";
}

#define LABEL_COLS 13

enum tsr_err tsr_out_pair(FILE *f, const char *label, const char *value)
{
    char line[TSR_OUT_CELL_MAX * 4];
    bool first = true;
    bool ok = true;

    do {
        const char *eol = strchr(value, '\n');
        size_t len = eol ? (size_t)(eol - value) : strlen(value);
        char raw[TSR_OUT_CELL_MAX * 4];

        if (len >= sizeof(raw))
            len = sizeof(raw) - 1;
        memcpy(raw, value, len);
        raw[len] = '\0';
        if (len > 0 && raw[len - 1] == '\r')
            raw[len - 1] = '\0';
        tsr_out_clean(raw, line, sizeof(line), 0);
        if (first)
            ok = fprintf(f, "%s:%*s%s\n", label, (int)(LABEL_COLS - strlen(label)), "", line) > 0;
        else
            ok = fprintf(f, "%*s%s\n", LABEL_COLS + 1, "", line) > 0;
        first = false;
        value = eol ? eol + 1 : NULL;
    } while (ok && value != NULL);
    return ok ? TSR_OK : TSR_ERR_IO;
}

void tsr_table_init(struct tsr_table *t, size_t ncols, const char *const *heads)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->heads = heads;
}

enum tsr_err tsr_table_add(struct tsr_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char **more = realloc(t->cells, cap * t->ncols * sizeof(*more));

        if (more == NULL)
            return TSR_ERR_NOMEM;
        t->cells = more;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *copy = strdup(cells[i]);

        if (copy == NULL) {
            for (size_t k = 0; k < i; k++)
                free(t->cells[t->nrows * t->ncols + k]);
            return TSR_ERR_NOMEM;
        }
        t->cells[t->nrows * t->ncols + i] = copy;
    }
    t->nrows++;
    return TSR_OK;
}

static bool print_cell(FILE *f, const char *s, size_t width, bool last)
{
    if (fputs(s, f) == EOF)
        return false;
    if (last)
        return fputc('\n', f) != EOF;
    for (size_t w = tsr_out_width(s); w < width + 2; w++) {
        if (fputc(' ', f) == EOF)
            return false;
    }
    return true;
}

enum tsr_err tsr_table_print(const struct tsr_table *t, FILE *f)
{
    size_t widths[16] = {0};
    bool ok = t->ncols <= 16;

    for (size_t c = 0; ok && c < t->ncols; c++) {
        widths[c] = tsr_out_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = tsr_out_width(t->cells[r * t->ncols + c]);

            if (w > widths[c])
                widths[c] = w;
        }
    }
    for (size_t c = 0; ok && c < t->ncols; c++)
        ok = print_cell(f, t->heads[c], widths[c], c + 1 == t->ncols);
    for (size_t r = 0; ok && r < t->nrows; r++) {
        for (size_t c = 0; ok && c < t->ncols; c++)
            ok = print_cell(f, t->cells[r * t->ncols + c], widths[c], c + 1 == t->ncols);
    }
    return ok ? TSR_OK : TSR_ERR_IO;
}

void tsr_table_release(struct tsr_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
