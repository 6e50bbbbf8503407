/* fuzz_secret.c - tsr_secret_parse on any bytes; what parses re-formats to itself */
#include <string.h>

#include "core/secret.h"
#include "fuzz.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    enum tsr_secret_kind kind = tsr_secret_parse(s, size);
    char random[TSR_SECRET_RANDOM_LEN], out[TSR_SECRET_LEN + 1], hint[TSR_KEY_HINT_LEN + 1];

    if (kind != TSR_SECRET_NONE) {
        FUZZ_CHECK(kind == TSR_SECRET_PERSONAL || kind == TSR_SECRET_SESSION);
        FUZZ_CHECK(size == TSR_SECRET_LEN);
        tsr_secret_format(kind, s + TSR_SECRET_PREFIX_LEN, out);
        FUZZ_CHECK(memcmp(out, s, TSR_SECRET_LEN) == 0 && out[TSR_SECRET_LEN] == '\0');
        tsr_secret_hint(out, hint);
        FUZZ_CHECK(strlen(hint) == TSR_KEY_HINT_LEN && memcmp(hint, s, TSR_KEY_HINT_LEN) == 0);
    }
    /* A valid checksum is too rare to find by chance: build a secret from the
     * first bytes, then check that it parses and that one changed byte of it
     * (the next input byte says which and how) does not. */
    if (size < TSR_SECRET_RANDOM_LEN + 2)
        return 0;
    for (size_t i = 0; i < TSR_SECRET_RANDOM_LEN; i++)
        random[i] = alphabet[data[i] % 62];
    kind = data[TSR_SECRET_RANDOM_LEN] & 1 ? TSR_SECRET_SESSION : TSR_SECRET_PERSONAL;
    tsr_secret_format(kind, random, out);
    FUZZ_CHECK(strlen(out) == TSR_SECRET_LEN);
    FUZZ_CHECK(tsr_secret_parse(out, TSR_SECRET_LEN) == kind);
    FUZZ_CHECK(tsr_secret_parse(out, TSR_SECRET_LEN - 1) == TSR_SECRET_NONE);
    {
        size_t at = TSR_SECRET_PREFIX_LEN + data[TSR_SECRET_RANDOM_LEN + 1] % 36;
        char was = out[at];

        out[at] = alphabet[(strchr(alphabet, was) - alphabet + 1 + data[0] % 61) % 62];
        /* CRC-32 catches every change of one character of the random part;
         * a changed check digit no longer matches the CRC. */
        FUZZ_CHECK(tsr_secret_parse(out, TSR_SECRET_LEN) == TSR_SECRET_NONE);
    }
    return 0;
}
