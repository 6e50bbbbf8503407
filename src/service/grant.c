/* grant.c - a token's scopes, address list and not-before, checked without the store */
#include <stdlib.h>
#include <string.h>

#include "service/grant.h"
#include "service/log.h"

static bool is_global(const char *scopes)
{
    return strcmp(scopes, TSR_SCOPE_GLOBAL) == 0;
}

/* Counts the space-separated words of s. */
static size_t words(const char *s)
{
    size_t n = 0;

    for (; *s; s += strcspn(s, " ")) {
        s += strspn(s, " ");
        if (*s)
            n++;
    }
    return n;
}

/* Byte order, a name before every longer name it begins. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);

    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* qsort_r's order; text is the scopes the names point into. */
static int by_name(const void *a, const void *b, void *text)
{
    const struct tsr_grant_name *x = a, *y = b;
    const char *s = text;

    return name_cmp(s + x->at, x->len, s + y->at, y->len);
}

/* Fills g->names from g->scopes, sorted whatever order the row kept, so
 * that a look-up is a binary search. */
static void index_names(struct tsr_grant *g)
{
    const char *s = g->scopes;
    size_t n = 0;

    for (size_t at = 0; s[at] != '\0';) {
        size_t len = strcspn(s + at, " ");

        if (len > 0)
            g->names[n++] = (struct tsr_grant_name){(uint32_t)at, (uint32_t)len};
        at += len;
        at += strspn(s + at, " ");
    }
    qsort_r(g->names, n, sizeof(*g->names), by_name, g->scopes);
}

/* Parses the row's list of blocks into g->nets; false when one does not parse. */
static bool parse_nets(const char *text, struct tsr_grant *g)
{
    const char *s = text;

    g->nnets = 0;
    while (*s) {
        size_t len = strcspn(s, " ");

        if (len > 0 && tsr_cidr_parse(s, len, &g->nets[g->nnets++]) != TSR_CIDR_OK)
            return false;
        s += len;
        s += strspn(s, " ");
    }
    return true;
}

static void grant_free(struct tsr_grant *g)
{
    tsr_ipset_free(&g->match);
    free(g->names);
    free(g->nets);
    free(g->scopes);
    free(g);
}

enum tsr_err tsr__grant_from_row(const struct tsr_token_row *t, struct tsr_grant **out)
{
    size_t nnets = words(t->allowed_ips);
    struct tsr_grant *g;

    *out = NULL;
    if (is_global(t->scopes) && nnets == 0 && t->not_before == 0)
        return TSR_OK;
    g = calloc(1, sizeof(*g));
    if (!g)
        return TSR_ERR_NOMEM;
    atomic_init(&g->refs, 1);
    g->global = is_global(t->scopes);
    g->not_before = t->not_before;
    g->nscopes = words(t->scopes);
    g->scopes_len = strlen(t->scopes);
    g->scopes = strdup(t->scopes);
    g->names = calloc(g->nscopes ? g->nscopes : 1, sizeof(*g->names));
    g->nets = nnets ? calloc(nnets, sizeof(*g->nets)) : NULL;
    if (!g->scopes || !g->names || (nnets && !g->nets)) {
        grant_free(g);
        return TSR_ERR_NOMEM;
    }
    index_names(g);
    if (!parse_nets(t->allowed_ips, g) || g->nscopes == 0) {
        tsr_log(TSR_LOG_WARN,
                "token %s has a stored scope or address list that does not parse; "
                "it is refused everywhere",
                t->id);
        g->deny_all = true;
    } else if (!tsr_ipset_init(&g->match, g->nets, g->nnets)) {
        grant_free(g);
        return TSR_ERR_NOMEM;
    }
    *out = g;
    return TSR_OK;
}

struct tsr_grant *tsr__grant_ref(struct tsr_grant *g)
{
    if (g)
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void tsr__grant_unref(struct tsr_grant *g)
{
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        grant_free(g);
}

static bool named(const struct tsr_grant *g, const char *s, size_t len)
{
    size_t lo = 0, hi = g->nscopes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct tsr_grant_name *n = &g->names[mid];
        int r = name_cmp(g->scopes + n->at, n->len, s, len);

        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool tsr__grant_holds(const struct tsr_grant *g, const char *s, size_t len, bool known)
{
    static const char read[] = TSR_SCOPE_TOKENS_READ;

    if (!known)
        return false;
    if (!g || g->global)
        return !g || !g->deny_all;
    if (g->deny_all)
        return false;
    if (named(g, s, len))
        return true;
    return len == sizeof(read) - 1 && memcmp(s, read, len) == 0 &&
           named(g, TSR_SCOPE_TOKENS_WRITE, sizeof(TSR_SCOPE_TOKENS_WRITE) - 1);
}

bool tsr__grant_allows(const struct tsr_grant *g, const char *remote)
{
    struct tsr_ip ip;

    if (!g)
        return true;
    if (g->deny_all)
        return false;
    if (g->nnets == 0)
        return true;
    if (!remote || !tsr_ip_parse(remote, strlen(remote), &ip))
        return false;
    return tsr_ipset_contains(&g->match, &ip);
}

bool tsr__grant_covers(const struct tsr_grant *g, const struct tsr_cidr *c)
{
    if (!g || g->nnets == 0)
        return !g || !g->deny_all;
    for (size_t i = 0; i < g->nnets; i++) {
        if (tsr_cidr_within(c, &g->nets[i]))
            return true;
    }
    return false;
}

const char *tsr__grant_scopes(const struct tsr_grant *g, size_t *len)
{
    if (!g) {
        *len = sizeof(TSR_SCOPE_GLOBAL) - 1;
        return TSR_SCOPE_GLOBAL;
    }
    *len = g->scopes_len;
    return g->scopes;
}
