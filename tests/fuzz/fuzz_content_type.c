/* fuzz_content_type.c - the Content-Type check of JSON and form bodies, and
 * the version=3 by which Azion's clients ask for Azion's shapes */
#include <string.h>
#include <strings.h>

#include "http/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);

    FUZZ_CHECK(value != NULL);
    memcpy(value, data, size);
    value[size] = '\0';
    if (tsr__is_json(value))
        FUZZ_CHECK(strncasecmp(value, "application/json", 16) == 0);
    if (tsr__is_media_type(value, "application/x-www-form-urlencoded"))
        FUZZ_CHECK(strncasecmp(value, "application/x-www-form-urlencoded", 33) == 0);
    /* Only JSON carries the version; a form never does. */
    FUZZ_CHECK(!tsr__is_media_type(value, "application/json") || tsr__is_json(value));
    if (tsr__asks_azion(value))
        FUZZ_CHECK(strcasestr(value, "version=3") != NULL ||
                   strcasestr(value, "version=\"3\"") != NULL);
    free(value);
    return 0;
}
