/* validate.c - text rules: UTF-8, code points, control characters, trimming */
#include "core/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#define TSR_EMAIL_MAX 254 /* RFC 5321's limit on a forward path, in bytes */

/* Decodes the code point at s[0..len) (len >= 1) following the
 * well-formed byte sequences of Unicode table 3-7, which excludes overlong
 * forms, surrogates and everything above U+10FFFF. Returns its length in
 * bytes and the code point in *cp, or 0 when the bytes are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b0 = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    size_t n;
    uint32_t v;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
        v = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        v = b0 & 0x0f;
        if (b0 == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        else if (b0 == 0xed)
            hi = 0x9f; /* surrogates U+D800-U+DFFF */
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        v = b0 & 0x07;
        if (b0 == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        else if (b0 == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0, C1 or F5-FF */
    }
    if (len < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = v << 6 | (s[1] & 0x3f);
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    *cp = v;
    return n;
}

bool tsr_utf8_count(const char *s, size_t len, size_t *count)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t step = utf8_decode(p + i, len - i, &cp);
        if (step == 0)
            return false;
        i += step;
        n++;
    }
    *count = n;
    return true;
}

static bool is_trim_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void tsr_trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;

    while (n > 0 && is_trim_space(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_trim_space(p[n - 1]))
        n--;
    *s = p;
    *len = n;
}

static bool is_control(uint32_t cp, bool allow_line_breaks)
{
    if (allow_line_breaks && (cp == '\n' || cp == '\r'))
        return false;
    return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

bool tsr_has_control(const char *s, size_t len, bool allow_line_breaks)
{
    const unsigned char *p = (const unsigned char *)s;

    /* Cc is U+0000-U+001F and U+007F-U+009F: single bytes, or C2 followed
     * by 80-9F. Other bytes of valid UTF-8 never form one, so a byte scan
     * suffices without decoding. */
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x80) {
            if (is_control(p[i], allow_line_breaks))
                return true;
        } else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            return true;
        }
    }
    return false;
}

bool tsr_has_invisible(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    /* Each is three bytes, E2 80 xx, E2 81 xx or EF BB BF; in valid UTF-8
     * those lead bytes start a code point wherever they are. */
    for (size_t i = 0; i + 2 < len; i++) {
        unsigned b = p[i + 2];

        if (p[i] == 0xe2 && p[i + 1] == 0x80 &&
            (b == 0x8b || b == 0x8e || b == 0x8f || (b >= 0xaa && b <= 0xae)))
            return true;
        if (p[i] == 0xe2 && p[i + 1] == 0x81 && b >= 0xa6 && b <= 0xa9)
            return true;
        if (p[i] == 0xef && p[i + 1] == 0xbb && b == 0xbf)
            return true;
    }
    return false;
}

/* Writes a sentence to detail when there is room for one; a sentence too
 * long for detail is cut short, never overrun. */
__attribute__((format(printf, 3, 4))) static void set_detail(char *detail, size_t detail_size,
                                                             const char *fmt, ...)
{
    va_list ap;

    if (detail == NULL || detail_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, detail_size, fmt, ap);
    va_end(ap);
}

enum tsr_err tsr_text_check(const char *field, const char **s, size_t *len, size_t min, size_t max,
                            bool allow_line_breaks, char *detail, size_t detail_size)
{
    size_t count;

    tsr_trim(s, len);
    if (!tsr_utf8_count(*s, *len, &count)) {
        set_detail(detail, detail_size, "%s must be valid UTF-8", field);
        return TSR_ERR_INVALID;
    }
    if (count < min) {
        if (count == 0)
            set_detail(detail, detail_size, "%s must not be empty", field);
        else
            set_detail(detail, detail_size, "%s must be at least %zu characters", field, min);
        return TSR_ERR_INVALID;
    }
    if (count > max) {
        set_detail(detail, detail_size, "%s must be at most %zu characters", field, max);
        return TSR_ERR_INVALID;
    }
    if (tsr_has_control(*s, *len, allow_line_breaks)) {
        set_detail(detail, detail_size, "%s must not contain control characters", field);
        return TSR_ERR_INVALID;
    }
    if (tsr_has_invisible(*s, *len)) {
        set_detail(detail, detail_size,
                   "%s must not contain bidirectional controls or invisible characters", field);
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* Unicode's White_Space property outside Cc (the controls among it, such as
 * TAB, LF and U+0085, are refused as controls). */
static bool is_space(uint32_t cp)
{
    return cp == 0x20 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool tsr_email_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t at = SIZE_MAX;
    uint32_t cp;

    if (s == NULL || len == 0 || len > TSR_EMAIL_MAX)
        return false;
    for (size_t i = 0; i < len;) {
        size_t step = utf8_decode(p + i, len - i, &cp);
        if (step == 0 || is_space(cp) || is_control(cp, false))
            return false;
        if (cp == '@') {
            if (at != SIZE_MAX)
                return false;
            at = i;
        }
        i += step;
    }
    /* At least one character on each side of the one '@'. */
    return at != SIZE_MAX && at > 0 && at + 1 < len;
}
