/* fuzz_time.c - tsr_time_parse on any bytes; what parses formats and re-parses */
#include <string.h>

#include "core/timefmt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t = INT64_MIN, again = INT64_MIN, raw;
    char out[TSR_TIME_LEN + 1];

    if (tsr_time_parse((const char *)data, size, &t) == TSR_OK) {
        FUZZ_CHECK(t != INT64_MIN);
        if (t >= 0 && t <= TSR_TIME_MAX) {
            tsr_time_format(t, out);
            FUZZ_CHECK(strlen(out) == TSR_TIME_LEN);
            FUZZ_CHECK(tsr_time_parse(out, TSR_TIME_LEN, &again) == TSR_OK);
            FUZZ_CHECK(again == t);
        }
    } else {
        FUZZ_CHECK(t == INT64_MIN); /* untouched on failure */
    }
    /* Any time formats, clamped to the four-digit years, and parses back. */
    if (size >= sizeof(raw)) {
        memcpy(&raw, data, sizeof(raw));
        tsr_time_format(raw, out);
        FUZZ_CHECK(strlen(out) == TSR_TIME_LEN);
        FUZZ_CHECK(tsr_time_parse(out, TSR_TIME_LEN, &again) == TSR_OK);
        FUZZ_CHECK(again == (raw < 0 ? 0 : raw > TSR_TIME_MAX ? TSR_TIME_MAX : raw));
    }
    return 0;
}
