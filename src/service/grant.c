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

/* qsort_r's order; text is the scopes the names point into. */
static int by_name(const void *a, const void *b, void *text)
{
    const struct tsr_grant_name *x = a, *y = b;
    const char *s = text;

    return tsr_scope_name_cmp(s + x->at, x->len, s + y->at, y->len);
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

static size_t align_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* Where each part of a grant sits in its one block: what a verify reads
 * first (the struct, the scopes' text, their index, the ranges), then the
 * blocks as stored, which only a create or a change reads. One block, so
 * that a verify's reads can be fetched from memory at once (prefetch). */
struct layout {
    size_t scopes, names, ranges, hot, nets, total;
};

static struct layout layout_of(size_t scopes_len, size_t nscopes, size_t nnets)
{
    struct layout l;

    l.scopes = sizeof(struct tsr_grant);
    l.names = align_up(l.scopes + scopes_len + 1, _Alignof(struct tsr_grant_name));
    l.ranges =
        align_up(l.names + nscopes * sizeof(struct tsr_grant_name), _Alignof(struct tsr_ip_range));
    l.hot = l.ranges + nnets * sizeof(struct tsr_ip_range);
    l.nets = align_up(l.hot, _Alignof(struct tsr_cidr));
    l.total = l.nets + nnets * sizeof(struct tsr_cidr);
    return l;
}

enum tsr_err tsr__grant_from_row(const struct tsr_token_row *t, struct tsr_grant **out)
{
    size_t nnets = words(t->allowed_ips), nscopes = words(t->scopes), len = strlen(t->scopes);
    struct layout l = layout_of(len, nscopes, nnets);
    struct tsr_grant *g;
    char *block;

    *out = NULL;
    if (is_global(t->scopes) && nnets == 0 && t->not_before == 0)
        return TSR_OK;
    block = calloc(1, l.total);
    if (!block)
        return TSR_ERR_NOMEM;
    g = (struct tsr_grant *)(void *)block;
    atomic_init(&g->refs, 1);
    g->global = is_global(t->scopes);
    g->not_before = t->not_before;
    g->nscopes = nscopes;
    g->scopes_len = len;
    g->scopes = memcpy(block + l.scopes, t->scopes, len + 1);
    g->names = (struct tsr_grant_name *)(void *)(block + l.names);
    g->nets = (struct tsr_cidr *)(void *)(block + l.nets);
    g->hot_bytes = l.hot;
    index_names(g);
    if (!parse_nets(t->allowed_ips, g) || g->nscopes == 0) {
        tsr_log(TSR_LOG_WARN,
                "token %s has a stored scope or address list that does not parse; "
                "it is refused everywhere",
                t->id);
        g->deny_all = true;
    } else {
        tsr_ipset_init(&g->match, g->nets, g->nnets,
                       (struct tsr_ip_range *)(void *)(block + l.ranges));
    }
    *out = g;
    return TSR_OK;
}

void tsr__grant_prefetch(const struct tsr_grant *g)
{
    if (!g)
        return;
    for (size_t at = 64; at < g->hot_bytes; at += 64)
        __builtin_prefetch((const char *)g + at);
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
        free(g);
}

static bool named(const struct tsr_grant *g, const char *s, size_t len)
{
    size_t lo = 0, hi = g->nscopes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct tsr_grant_name *n = &g->names[mid];
        int r = tsr_scope_name_cmp(g->scopes + n->at, n->len, s, len);

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
