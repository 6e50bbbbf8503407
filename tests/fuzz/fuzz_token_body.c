/* fuzz_token_body.c - the JSON body of a token's create or update, then the
 * service's checks of each member */
#include <string.h>

#include "core/timefmt.h"
#include "core/validate.h"
#include "http/parse.h"
#include "fuzz.h"

/* The service's rules for each member (src/service/tokens.c), through the
 * same core functions. */
static void check_fields(const struct tsr_token_input *in)
{
    char detail[200];
    const char *s;
    size_t len;
    int64_t t;

    if (in->name.has) {
        s = in->name.s;
        len = in->name.len;
        if (tsr_text_check("name", &s, &len, 1, TSR_NAME_MAX_CHARS, false, detail,
                           sizeof(detail)) == TSR_OK)
            FUZZ_CHECK(len > 0 && s >= in->name.s && s + len <= in->name.s + in->name.len);
    }
    if (in->description.has) {
        s = in->description.s;
        len = in->description.len;
        if (tsr_text_check("description", &s, &len, 0, TSR_DESC_MAX_CHARS, true, detail,
                           sizeof(detail)) == TSR_OK)
            FUZZ_CHECK(len <= in->description.len);
    }
    if (in->expires_at.has)
        (void)tsr_time_parse(in->expires_at.s, in->expires_at.len, &t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = NULL;
    struct tsr_token_input in;
    struct tsr_body_problem why;

    if (size > TSR_BODY_MAX)
        return 0;
    if (tsr__parse_token_body((const char *)data, size, &root, &in, &why) == TSR_OK) {
        FUZZ_CHECK(json_is_object(root));
        FUZZ_CHECK(!in.name.has || in.name.s != NULL);
        FUZZ_CHECK(!in.description.has || in.description.s != NULL);
        FUZZ_CHECK(!in.expires_at.has || in.expires_at.s != NULL);
        check_fields(&in);
    } else {
        FUZZ_CHECK(why.code != NULL && why.detail[0] != '\0');
        FUZZ_CHECK(strcmp(why.code, "invalid_json") == 0 || why.field != NULL);
    }
    json_decref(root);
    return 0;
}
