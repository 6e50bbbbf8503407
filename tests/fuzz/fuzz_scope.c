/* fuzz_scope.c - scope names and the space-separated lists made of them
 *
 * The input is the text of one name, and also, split at newlines, up to
 * TSR_SCOPES_MAX candidate names: the well-formed ones are joined as a
 * token's list and looked up in it.
 */
#include <string.h>

#include "core/scope.h"
#include "fuzz.h"

static bool allowed(unsigned char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return !first && (c == '_' || c == '.' || c == ':' || c == '-');
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);

    return r != 0 ? r : (alen > blen) - (alen < blen);
}

static void check_name(const char *s, size_t len)
{
    bool valid = tsr_scope_name_valid(s, len), rule = len >= 1 && len <= TSR_SCOPE_NAME_MAX;

    for (size_t i = 0; rule && i < len; i++)
        rule = allowed((unsigned char)s[i], i == 0);
    FUZZ_CHECK(valid == rule);
    if (tsr_scope_builtin(s, len))
        FUZZ_CHECK(valid && tsr_scope_reserved(s, len));
    if (tsr_scope_reserved(s, len))
        FUZZ_CHECK(valid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *names[TSR_SCOPES_MAX];
    size_t lens[TSR_SCOPES_MAX], order[TSR_SCOPES_MAX], n = 0, len, at = 0;
    bool seen[TSR_SCOPES_MAX] = {false};
    static char out[TSR_SCOPES_TEXT_MAX + 1];
    char small[8];

    check_name(s, size);
    while (at <= size && n < TSR_SCOPES_MAX) {
        const char *nl = memchr(s + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - s) : size;

        check_name(s + at, end - at);
        if (tsr_scope_name_valid(s + at, end - at)) {
            names[n] = s + at;
            lens[n++] = end - at;
        }
        at = end + 1;
    }

    len = tsr_scopes_join(names, lens, n, order, out, sizeof(out));
    FUZZ_CHECK(len != (size_t)-1 && len == strlen(out) && len <= TSR_SCOPES_TEXT_MAX);
    /* order is a permutation, and out is the names in that order, sorted,
     * one space between each. */
    at = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];

        FUZZ_CHECK(i < n && !seen[i]);
        seen[i] = true;
        if (k > 0) {
            FUZZ_CHECK(out[at] == ' ');
            at++;
            FUZZ_CHECK(name_cmp(names[order[k - 1]], lens[order[k - 1]], names[i], lens[i]) <= 0);
        }
        FUZZ_CHECK(at + lens[i] <= len && memcmp(out + at, names[i], lens[i]) == 0);
        at += lens[i];
        FUZZ_CHECK(at == len || out[at] == ' ');
    }
    FUZZ_CHECK(at == len);
    for (size_t i = 0; i < n; i++) {
        bool prefix_listed = false;

        FUZZ_CHECK(tsr_scopes_has(out, len, names[i], lens[i]));
        /* A name cut short is not found, unless it is itself listed. */
        for (size_t j = 0; j < n; j++)
            prefix_listed |= lens[j] == lens[i] - 1 && memcmp(names[j], names[i], lens[j]) == 0;
        if (lens[i] > 1 && !prefix_listed)
            FUZZ_CHECK(!tsr_scopes_has(out, len, names[i], lens[i] - 1));
    }
    /* What has finds is a listed name, whatever the input's bytes. */
    if (tsr_scopes_has(out, len, s, size)) {
        bool listed = false;

        for (size_t i = 0; i < n; i++)
            listed |= lens[i] == size && memcmp(names[i], s, size) == 0;
        FUZZ_CHECK(listed);
    }
    /* Too small a buffer: an error and "", never a cut list. */
    if (len >= sizeof(small)) {
        FUZZ_CHECK(tsr_scopes_join(names, lens, n, order, small, sizeof(small)) == (size_t)-1);
        FUZZ_CHECK(small[0] == '\0');
    }
    return 0;
}
