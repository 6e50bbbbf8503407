/* fuzz_list_query.c - the query parameters of the token list */
#include <string.h>

#include "http/parse.h"
#include "fuzz.h"

/* The input is "k=v&k&k=v...", already decoded (libmicrohttpd decodes the
 * percent escapes, so a key or value may hold any byte, NUL included); a key
 * without '=' has no value. The first refused parameter ends the list, as in
 * the handler. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct tsr_list_params lp;
    struct tsr_param_problem why;

    tsr__list_params_init(&lp);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *value = eq ? eq + 1 : NULL;
        size_t key_size = (size_t)((eq ? eq : stop) - p);
        size_t value_size = eq ? (size_t)(stop - value) : 0;

        if (tsr__parse_list_param(&lp, p, key_size, value, value_size, &why) != TSR_OK) {
            FUZZ_CHECK(why.unknown || (why.name != NULL && why.detail[0] != '\0'));
            return 0;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    FUZZ_CHECK(lp.page >= 1 && lp.page <= 1000000000);
    FUZZ_CHECK(lp.q.limit >= 1 && lp.q.limit <= 100);
    /* The handler's offset must not overflow. */
    FUZZ_CHECK((lp.page - 1) <= INT64_MAX / lp.q.limit);
    /* A bare "search" is the empty search; any other points into the input. */
    if (lp.q.search && lp.q.search_len > 0)
        FUZZ_CHECK(lp.q.search >= (const char *)data && lp.q.search + lp.q.search_len <= end);
    return 0;
}
