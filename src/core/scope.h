/* scope.h - scope names: what a token may do, as text
 *
 * Pure rules about names and the space-separated lists that the store keeps
 * and the answers give; which scopes exist, and who holds what, is the
 * service's business.
 */
#ifndef TSR_CORE_SCOPE_H
#define TSR_CORE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#define TSR_SCOPE_NAME_MAX    64 /* bytes (the names are ASCII) */
#define TSR_SCOPES_MAX        50 /* scopes a token may list */
#define TSR_VERIFY_SCOPES_MAX 10 /* scope parameters of one verify */
/* The longest list as text: TSR_SCOPES_MAX names and a space between each. */
#define TSR_SCOPES_TEXT_MAX (TSR_SCOPES_MAX * (TSR_SCOPE_NAME_MAX + 1) - 1)

#define TSR_SCOPE_GLOBAL       "global"
#define TSR_SCOPE_ADMIN        "admin"
#define TSR_SCOPE_TOKENS_READ  "tokens:read"
#define TSR_SCOPE_TOKENS_WRITE "tokens:write"
#define TSR_SCOPE_ACTIVITY     "activity:read"
#define TSR_SCOPE_USER_READ    "user:read"
#define TSR_SCOPE_INTROSPECT   "introspect"

/* A scope that Tessera itself defines. */
struct tsr_builtin_scope {
    const char *name;
    const char *description; /* one sentence for people */
};

/* Tessera's own scopes, global first, then tokens:read, tokens:write,
 * activity:read, user:read, introspect (admin is not among them). */
extern const struct tsr_builtin_scope tsr_builtin_scopes[];
extern const size_t tsr_builtin_scope_count;

/* True when the len bytes at s are a well-formed scope name: 1 to
 * TSR_SCOPE_NAME_MAX characters of a-z 0-9 _ . : -, the first a letter or a
 * digit. Cannot fail. */
bool tsr_scope_name_valid(const char *s, size_t len);

/* True when the name (len bytes) is reserved: a built-in scope's, "global" or
 * "admin"; an operator scope may not take it. */
bool tsr_scope_reserved(const char *s, size_t len);

/* The built-in scope of that name, or NULL. */
const struct tsr_builtin_scope *tsr_scope_builtin(const char *s, size_t len);

/* True when the space-separated list (list_len bytes; names separated by
 * exactly one space, as tsr_scopes_join writes them) names s (len bytes)
 * exactly. Cannot fail. */
bool tsr_scopes_has(const char *list, size_t list_len, const char *s, size_t len);

/* The order tsr_scopes_join sorts names in: byte order, a name before every
 * longer name it begins; <0, 0 or >0 as strcmp. */
int tsr_scope_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Sorts the n names (names[i] of lens[i] bytes, each valid) by byte order
 * and writes them space-separated to out (size bytes, NUL-terminated).
 * Returns the length written, or (size_t)-1 when out is too small (out is
 * then ""). order (n entries) receives the permutation: order[k] is the
 * index in names of the k-th name written. n may be 0 ("" written). */
size_t tsr_scopes_join(const char *const *names, const size_t *lens, size_t n, size_t *order,
                       char *out, size_t size);

#endif
