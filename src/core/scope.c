/* scope.c - scope names: the built-in ones, the name rule, lists as text */
#include "core/scope.h"

#include <string.h>

const struct tsr_builtin_scope tsr_builtin_scopes[] = {
    {TSR_SCOPE_GLOBAL, "Everything the user may do, with every operator scope"},
    {TSR_SCOPE_TOKENS_READ, "List and read your tokens"},
    {TSR_SCOPE_TOKENS_WRITE, "Create, change, rotate and delete your tokens (implies tokens:read)"},
    {TSR_SCOPE_ACTIVITY, "Read your activity log"},
    {TSR_SCOPE_USER_READ, "Read your account"},
    {TSR_SCOPE_INTROSPECT, "Introspect secrets (RFC 7662)"},
};
const size_t tsr_builtin_scope_count = sizeof(tsr_builtin_scopes) / sizeof(tsr_builtin_scopes[0]);

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool tsr_scope_name_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > TSR_SCOPE_NAME_MAX)
        return false;
    /* The first character is a letter or digit so that a name never looks
     * like an option ("-x") or a relative path (".x") in a command line. */
    if (!is_alnum((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!is_alnum(c) && c != '_' && c != '.' && c != ':' && c != '-')
            return false;
    }
    return true;
}

static bool same(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

const struct tsr_builtin_scope *tsr_scope_builtin(const char *s, size_t len)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < tsr_builtin_scope_count; i++)
        if (same(s, len, tsr_builtin_scopes[i].name))
            return &tsr_builtin_scopes[i];
    return NULL;
}

bool tsr_scope_reserved(const char *s, size_t len)
{
    return tsr_scope_builtin(s, len) != NULL || (s && same(s, len, TSR_SCOPE_ADMIN));
}

bool tsr_scopes_has(const char *list, size_t list_len, const char *s, size_t len)
{
    size_t start = 0;

    if (!list || !s || len == 0)
        return false;
    /* Name by name, never a substring search: "tokens:read" must not be
     * found inside "tokens:read.all" or across the space of "a b". */
    while (start < list_len) {
        const char *sp = memchr(list + start, ' ', list_len - start);
        size_t end = sp ? (size_t)(sp - list) : list_len;

        if (end - start == len && memcmp(list + start, s, len) == 0)
            return true;
        start = end + 1;
    }
    return false;
}

int tsr_scope_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);

    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

size_t tsr_scopes_join(const char *const *names, const size_t *lens, size_t n, size_t *order,
                       char *out, size_t size)
{
    size_t need = 0, at = 0;

    /* An insertion sort: n is at most a few dozen, and it is stable, so
     * that equal names keep the order they came in. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;

        while (j > 0 &&
               tsr_scope_name_cmp(names[order[j - 1]], lens[order[j - 1]], names[i], lens[i]) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        need += lens[i] + (i > 0);
    }
    if (!out || need >= size) {
        if (out && size > 0)
            out[0] = '\0';
        return (size_t)-1;
    }
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            out[at++] = ' ';
        memcpy(out + at, names[order[k]], lens[order[k]]);
        at += lens[order[k]];
    }
    out[at] = '\0';
    return at;
}
