/* fuzz_scope_query.c - the scope parameters of a verify */
#include <string.h>

#include "core/scope.h"
#include "http/parse.h"
#include "fuzz.h"

/* The input is "k=v&k&k=v...", already decoded (libmicrohttpd decodes the
 * percent escapes, so a key or value may hold any byte, NUL included); a key
 * without '=' has no value. The first refused parameter ends the query, as
 * in the handler. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct tsr_scope_query q = {0};
    struct tsr_param_problem why;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *value = eq ? eq + 1 : NULL;
        size_t key_size = (size_t)((eq ? eq : stop) - p);
        size_t value_size = eq ? (size_t)(stop - value) : 0;
        bool is_scope = key_size == 5 && memcmp(p, "scope", 5) == 0;
        bool well_formed = value && tsr_scope_name_valid(value, value_size);
        size_t before = q.n;

        if (tsr__parse_scope_param(&q, p, key_size, value, value_size, &why) != TSR_OK) {
            FUZZ_CHECK(q.n == before);
            if (!is_scope) {
                FUZZ_CHECK(why.unknown && why.name == NULL);
            } else {
                FUZZ_CHECK(!why.unknown && why.name != NULL && strcmp(why.name, "scope") == 0);
                FUZZ_CHECK(why.detail[0] != '\0');
                /* Refused only for a malformed name or one too many. */
                FUZZ_CHECK(!well_formed || before == TSR_VERIFY_SCOPES_MAX);
            }
            break;
        }
        FUZZ_CHECK(is_scope && well_formed && q.n == before + 1);
        FUZZ_CHECK(q.names[before] == value && q.lens[before] == value_size);
        if (!amp)
            break;
        p = amp + 1;
    }
    FUZZ_CHECK(q.n <= TSR_VERIFY_SCOPES_MAX);
    for (size_t i = 0; i < q.n; i++) {
        FUZZ_CHECK(tsr_scope_name_valid(q.names[i], q.lens[i]));
        FUZZ_CHECK(q.names[i] >= (const char *)data && q.names[i] + q.lens[i] <= end);
    }
    return 0;
}
