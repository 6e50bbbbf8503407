/* fuzz_text.c - the text rules: UTF-8 counting, field checks, email addresses */
#include <string.h>

#include "core/validate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s, *text;
    size_t len, count = SIZE_MAX, min, max;
    bool breaks;
    char detail[128];

    /* The first byte chooses the limits; the rest is the text. */
    if (size == 0)
        return 0;
    min = data[0] & 3;
    max = min + (data[0] >> 2) * 8;
    breaks = data[0] & 0x80;
    text = (const char *)data + 1;
    len = size - 1;

    if (tsr_utf8_count(text, len, &count)) {
        FUZZ_CHECK(count <= len);
        (void)tsr_has_control(text, len, breaks);
    } else {
        FUZZ_CHECK(count == SIZE_MAX); /* untouched on failure */
    }

    s = text;
    size_t n = len;
    tsr_trim(&s, &n);
    FUZZ_CHECK(s >= text && s + n <= text + len);

    s = text;
    n = len;
    detail[0] = '\0';
    if (tsr_text_check("name", &s, &n, min, max, breaks, detail, sizeof(detail)) == TSR_OK) {
        FUZZ_CHECK(s >= text && s + n <= text + len);
        FUZZ_CHECK(tsr_utf8_count(s, n, &count));
        FUZZ_CHECK(count >= min && count <= max && count <= n);
        FUZZ_CHECK(!tsr_has_control(s, n, breaks));
    } else {
        FUZZ_CHECK(detail[0] != '\0' && memchr(detail, '\0', sizeof(detail)) != NULL);
    }

    if (tsr_email_valid(text, len)) {
        const char *at = memchr(text, '@', len);

        FUZZ_CHECK(len <= 254 && at != NULL && at > text && at + 1 < text + len);
        FUZZ_CHECK(memchr(at + 1, '@', (size_t)(text + len - at - 1)) == NULL);
        FUZZ_CHECK(tsr_utf8_count(text, len, &count));
    }
    return 0;
}
