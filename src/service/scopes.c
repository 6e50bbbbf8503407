/* scopes.c - the scopes that exist: the operator's, and the catalog verifies check names against */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"
#include "core/scope.h"
#include "core/timefmt.h"
#include "core/validate.h"
#include "service/internal.h"
#include "service/log.h"

/* The operator's scope names of one read, sorted by byte order, never
 * changed once published: readers search it under a read lock while the
 * next read is built beside it, so a refresh holds the lock only for the
 * swap of one pointer. */
struct names {
    size_t n, cap;
    char (*name)[TSR_SCOPE_NAME_MAX + 1];
};

struct tsr__catalog {
    pthread_rwlock_t lock; /* guards cur */
    struct names *cur;
    pthread_mutex_t refresh_lock; /* one refresh at a time; guards version, loaded */
    int64_t version;
    bool loaded;
};

static void names_free(struct names *n)
{
    if (n == NULL)
        return;
    free(n->name);
    free(n);
}

enum tsr_err tsr__catalog_new(struct tsr__catalog **out)
{
    struct tsr__catalog *cat = calloc(1, sizeof(*cat));
    pthread_rwlockattr_t attr;

    if (cat == NULL)
        return TSR_ERR_NOMEM;
    /* Verifies read without pause; a refresh, rare and quick, must still
     * get its turn among them. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (pthread_rwlock_init(&cat->lock, &attr) != 0) {
        pthread_rwlockattr_destroy(&attr);
        free(cat);
        return TSR_ERR_NOMEM;
    }
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&cat->refresh_lock, NULL);
    *out = cat;
    return TSR_OK;
}

void tsr__catalog_free(struct tsr__catalog *cat)
{
    if (cat == NULL)
        return;
    names_free(cat->cur);
    pthread_rwlock_destroy(&cat->lock);
    pthread_mutex_destroy(&cat->refresh_lock);
    free(cat);
}

/* The most operator scopes a catalog holds: far more than anyone defines,
 * and a bound on what a refresh allocates. */
#define CATALOG_MAX 100000

static enum tsr_err add_name(const struct tsr_scope_row *r, void *ctx)
{
    struct names *n = ctx;

    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 16;
        void *p;

        if (cap > CATALOG_MAX)
            return TSR_ERR_TOOBIG;
        p = realloc(n->name, cap * sizeof(n->name[0]));
        if (p == NULL)
            return TSR_ERR_NOMEM;
        n->name = p;
        n->cap = cap;
    }
    return tsr_strscpy(n->name[n->n++], sizeof(n->name[0]), r->name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

enum tsr_err tsr__catalog_refresh(struct tsr_service *svc)
{
    struct tsr__catalog *cat = svc->catalog;
    struct names *fresh = NULL, *old;
    int64_t version = 0;
    enum tsr_err rc;

    pthread_mutex_lock(&cat->refresh_lock);
    /* The version first: a change between the two reads leaves the
     * version behind the list, which only costs the next sync a read. */
    rc = tsr_store_scope_version(svc->store, &version);
    if (rc != TSR_OK || (cat->loaded && version == cat->version))
        goto out;
    fresh = calloc(1, sizeof(*fresh));
    if (fresh == NULL) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    rc = tsr_store_scope_each(svc->store, add_name, fresh);
    if (rc != TSR_OK)
        goto out;
    /* The store sorts by byte order already; bsearch must not depend on a
     * collation it cannot see. */
    if (fresh->n > 1)
        qsort(fresh->name, fresh->n, sizeof(fresh->name[0]), by_name);
    pthread_rwlock_wrlock(&cat->lock);
    old = cat->cur;
    cat->cur = fresh;
    pthread_rwlock_unlock(&cat->lock);
    fresh = old;
    cat->version = version;
    cat->loaded = true;
out:
    pthread_mutex_unlock(&cat->refresh_lock);
    names_free(fresh);
    return rc;
}

bool tsr__scope_known(struct tsr_service *svc, const char *s, size_t len)
{
    struct tsr__catalog *cat = svc->catalog;
    char key[TSR_SCOPE_NAME_MAX + 1];
    bool found = false;

    if (tsr_scope_builtin(s, len) != NULL)
        return true;
    if (s == NULL || len == 0 || len > TSR_SCOPE_NAME_MAX || memchr(s, '\0', len) != NULL)
        return false;
    memcpy(key, s, len);
    key[len] = '\0';
    pthread_rwlock_rdlock(&cat->lock);
    if (cat->cur != NULL && cat->cur->n > 0)
        found =
            bsearch(key, cat->cur->name, cat->cur->n, sizeof(cat->cur->name[0]), by_name) != NULL;
    pthread_rwlock_unlock(&cat->lock);
    return found;
}

/* Refuses a name that is not one an operator scope may have. */
static enum tsr_err check_name(const char *name, struct tsr_problem *why)
{
    size_t len = strlen(name);

    if (!tsr_scope_name_valid(name, len))
        return tsr__refuse(why, TSR_ERR_INVALID, "name",
                           "a scope name is 1 to %d characters of a-z, 0-9, '_', '.', ':' and "
                           "'-', starting with a letter or a digit",
                           TSR_SCOPE_NAME_MAX);
    if (tsr_scope_reserved(name, len))
        return tsr__refuse(why, TSR_ERR_INVALID, "name",
                           "'%s' is a name Tessera keeps for its own scopes", name);
    return TSR_OK;
}

/* Tells the catalog of this process at once: the caller may be the server
 * itself, and a failure here is mended by the next sync. */
static void refresh_now(struct tsr_service *svc)
{
    enum tsr_err rc = tsr__catalog_refresh(svc);

    if (rc != TSR_OK)
        tsr_log(TSR_LOG_ERROR, "cannot read the scopes: %s", tsr_strerror(rc));
}

enum tsr_err tsr_scopes_add(struct tsr_service *svc, const char *name, const char *description,
                            struct tsr_problem *why)
{
    struct tsr_scope_row row;
    const char *d = description != NULL ? description : "";
    size_t len = strlen(d);
    enum tsr_err rc = check_name(name, why);

    if (rc != TSR_OK)
        return rc;
    if (tsr_text_check("description", &d, &len, 0, TSR_DESC_MAX_CHARS, true, why->detail,
                       sizeof(why->detail)) != TSR_OK) {
        tsr_strscpy(why->field, sizeof(why->field), "description");
        return TSR_ERR_INVALID;
    }
    /* A description within its count of characters fits the row's bytes. */
    if (len > TSR_DESC_MAX_BYTES)
        return tsr__refuse(why, TSR_ERR_INVALID, "description",
                           "description must be at most %d bytes", TSR_DESC_MAX_BYTES);
    memset(&row, 0, sizeof(row));
    memcpy(row.name, name, strlen(name));
    memcpy(row.description, d, len);
    row.created = tsr_time_now();
    rc = tsr_store_scope_insert(svc->store, &row);
    if (rc == TSR_ERR_EXISTS)
        return tsr__refuse(why, rc, "name", "scope '%s' exists already", name);
    if (rc != TSR_OK)
        return rc;
    tsr__audit_now(svc, "scope.add", NULL, NULL, NULL, true);
    refresh_now(svc);
    return TSR_OK;
}

enum tsr_err tsr_scopes_remove(struct tsr_service *svc, const char *name, struct tsr_problem *why)
{
    int64_t in_use = 0;
    enum tsr_err rc = check_name(name, why);

    if (rc != TSR_OK)
        return rc;
    rc = tsr_store_scope_remove(svc->store, name, tsr_time_now(), &in_use);
    if (rc == TSR_ERR_IN_USE)
        return tsr__refuse(why, rc, "name",
                           "scope '%s' is held by %lld live token%s: revoke %s or give %s other "
                           "scopes first",
                           name, (long long)in_use, in_use == 1 ? "" : "s",
                           in_use == 1 ? "it" : "them", in_use == 1 ? "it" : "them");
    if (rc == TSR_ERR_NOT_FOUND)
        return tsr__refuse(why, rc, "name", "there is no scope '%s'", name);
    if (rc != TSR_OK)
        return rc;
    tsr__audit_now(svc, "scope.remove", NULL, NULL, NULL, true);
    refresh_now(svc);
    return TSR_OK;
}

/* A page of the list: what to skip, what to hand on, how many there were. */
struct page {
    int64_t offset, limit, seen;
    enum tsr_err (*each)(const struct tsr_scope_row *, bool, void *);
    void *ctx;
};

static enum tsr_err page_one(const struct tsr_scope_row *r, bool builtin, struct page *p)
{
    int64_t i = p->seen++;

    if (i < p->offset || i - p->offset >= p->limit)
        return TSR_OK;
    return p->each(r, builtin, p->ctx);
}

/* each() runs while the store holds a connection: it must not call the
 * store, and the callers' (an answer's JSON, a table on standard output)
 * do not. */
static enum tsr_err page_operator(const struct tsr_scope_row *r, void *ctx)
{
    return page_one(r, false, ctx);
}

enum tsr_err tsr_scopes_list(struct tsr_service *svc, int64_t offset, int64_t limit,
                             enum tsr_err (*each)(const struct tsr_scope_row *, bool builtin,
                                                  void *),
                             void *ctx, int64_t *total)
{
    struct page p = {offset > 0 ? offset : 0, limit > 0 ? limit : 0, 0, each, ctx};
    struct tsr_scope_row row;
    enum tsr_err rc = TSR_OK;

    /* The operator's scopes from the store, not the catalog: a list shows
     * what exists now, descriptions included. */
    for (size_t i = 0; i < tsr_builtin_scope_count && rc == TSR_OK; i++) {
        const struct tsr_builtin_scope *b = &tsr_builtin_scopes[i];

        memset(&row, 0, sizeof(row));
        rc = tsr_strscpy(row.name, sizeof(row.name), b->name);
        if (rc == TSR_OK)
            rc = tsr_strscpy(row.description, sizeof(row.description), b->description);
        if (rc == TSR_OK)
            rc = page_one(&row, true, &p);
    }
    if (rc == TSR_OK)
        rc = tsr_store_scope_each(svc->store, page_operator, &p);
    if (rc == TSR_OK && total != NULL)
        *total = p.seen;
    return rc;
}
