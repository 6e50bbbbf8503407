/* audit.c - the audit trail and the write-behind of token usage */
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/timefmt.h"
#include "core/dynbuf.h"
#include "service/internal.h"
#include "service/log.h"

enum tsr_err tsr__pending_init(struct tsr__pending *p)
{
    memset(p, 0, sizeof(*p));
    p->uses = calloc(TSR_PENDING_USES, sizeof(*p->uses));
    /* One more record than entries: the overflow's own. */
    p->audits = calloc(TSR_PENDING_AUDITS + 1, sizeof(*p->audits));
    p->audit_hashes = calloc(TSR_PENDING_AUDITS, sizeof(*p->audit_hashes));
    p->audit_slots = calloc(TSR_AUDIT_SLOTS, sizeof(*p->audit_slots));
    p->audit_named = calloc(TSR_PENDING_AUDITS, sizeof(*p->audit_named));
    if (!p->uses || !p->audits || !p->audit_hashes || !p->audit_slots || !p->audit_named) {
        tsr__pending_release(p);
        return TSR_ERR_NOMEM;
    }
    /* Keyed, so that nobody can send events that all probe one chain. */
    randombytes_buf(p->audit_key, sizeof(p->audit_key));
    return TSR_OK;
}

void tsr__pending_release(struct tsr__pending *p)
{
    free(p->uses);
    free(p->audits);
    free(p->audit_hashes);
    free(p->audit_slots);
    free(p->audit_named);
    memset(p, 0, sizeof(*p));
}

static void fill_audit(struct tsr_audit_row *row, int64_t at, const char *action,
                       const char *user_id, const char *token_id, const char *remote, bool success)
{
    memset(row, 0, sizeof(*row));
    row->at = at;
    row->count = 1;
    tsr_strscpy(row->action, sizeof(row->action), action);
    tsr_strscpy(row->user_id, sizeof(row->user_id), user_id);
    tsr_strscpy(row->token_id, sizeof(row->token_id), token_id);
    tsr_strscpy(row->remote_addr, sizeof(row->remote_addr), remote);
    tsr_strscpy(row->outcome, sizeof(row->outcome), success ? "success" : "failure");
}

void tsr__audit_success(struct tsr_audit_row *row, const char *action, const char *user_id,
                        const char *token_id, const char *remote)
{
    fill_audit(row, tsr_time_now(), action, user_id, token_id, remote, true);
}

void tsr__audit_now(struct tsr_service *svc, const char *action, const char *user_id,
                    const char *token_id, const char *remote, bool success)
{
    struct tsr_audit_row row;
    enum tsr_err rc;

    fill_audit(&row, tsr_time_now(), action, user_id, token_id, remote, success);
    rc = tsr_store_audit_append(svc->store, &row, 1);
    if (rc != TSR_OK)
        tsr_log(TSR_LOG_ERROR, "cannot write audit record %s: %s", action, tsr_strerror(rc));
}

static const uint8_t no_hash[TSR_HASH_LEN];

static bool same_event(const struct tsr__pending *p, size_t i, const char *user_id,
                       const char *token_id, const uint8_t *hash, const char *remote)
{
    const struct tsr_audit_row *row = &p->audits[i];

    return strcmp(row->user_id, user_id ? user_id : "") == 0 &&
           strcmp(row->token_id, token_id ? token_id : "") == 0 &&
           memcmp(p->audit_hashes[i], hash ? hash : no_hash, TSR_HASH_LEN) == 0 &&
           strcmp(row->remote_addr, remote ? remote : "") == 0;
}

/* Where an event's row is, or would go, in the open-addressing slots. */
static size_t event_slot(const struct tsr__pending *p, const char *user_id, const char *token_id,
                         const uint8_t *hash, const char *remote)
{
    unsigned char in[TSR_UUID_LEN + 1 + TSR_ADDR_MAX + 1 + TSR_HASH_LEN], h[8];
    size_t n = 0, i;
    uint64_t v;

    tsr_strscpy((char *)in, TSR_UUID_LEN + 1, token_id);
    n = strlen((char *)in) + 1;
    tsr_strscpy((char *)in + n, TSR_ADDR_MAX + 1, remote);
    n += strlen((char *)in + n) + 1;
    memcpy(in + n, hash ? hash : no_hash, TSR_HASH_LEN);
    n += TSR_HASH_LEN;
    crypto_shorthash(h, in, n, p->audit_key);
    memcpy(&v, h, sizeof(v));
    i = (size_t)v & (TSR_AUDIT_SLOTS - 1);
    while (p->audit_slots[i] != 0 &&
           !same_event(p, p->audit_slots[i] - 1u, user_id, token_id, hash, remote))
        i = (i + 1) & (TSR_AUDIT_SLOTS - 1);
    return i;
}

/* The index of the event's row, a new one (count 0) when there was none, or
 * -1 when the table is full. Under svc->lock. */
static long event_row(struct tsr__pending *p, const char *user_id, const char *token_id,
                      const uint8_t *hash, const char *remote)
{
    size_t slot = event_slot(p, user_id, token_id, hash, remote), n;

    if (p->audit_slots[slot] != 0)
        return (long)p->audit_slots[slot] - 1;
    if (p->naudits == TSR_PENDING_AUDITS)
        return -1;
    n = p->naudits++;
    fill_audit(&p->audits[n], tsr_time_now(), "auth", user_id, token_id, remote, false);
    p->audits[n].count = 0;
    memcpy(p->audit_hashes[n], hash ? hash : no_hash, TSR_HASH_LEN);
    p->audit_named[n] = 0;
    p->audit_slots[slot] = (uint16_t)(n + 1);
    return (long)n;
}

/* Failed authentications can come by the thousand from one client: they are
 * counted in memory and written in batches, one row per known token and
 * address, and for secrets nobody holds one row per client address key (and
 * one each for that address's first few secrets, which may be revoked ones
 * whose owners should see them). A look-up costs the same however many rows
 * there are, so that refusing an unknown secret stays as cheap as accepting
 * a known one; and whatever a client sends, it adds a few rows per flush. */
/* The address key of remote, worked out once per thread and address: a
 * client sending unknown secrets on a kept-alive connection asks again and
 * again for the same one, and parsing and printing it each time was most of
 * the cost of a refusal. */
static const char *address_key(const char *remote)
{
    static __thread char last_remote[TSR_ADDR_MAX + 1];
    static __thread char last_key[TSR_ADDR_KEY_MAX + 1];
    static __thread bool known;

    if (!remote)
        remote = "";
    if (!known || strcmp(remote, last_remote) != 0) {
        tsr_addr_key_text(remote, last_key);
        /* One too long to remember is worked out again next time. */
        known = tsr_strscpy(last_remote, sizeof(last_remote), remote) == TSR_OK;
    }
    return last_key;
}

void tsr__audit_later(struct tsr_service *svc, const char *user_id, const char *token_id,
                      const uint8_t *hash, const char *remote)
{
    char key[TSR_ADDR_KEY_MAX + 1];
    struct tsr__pending *p;
    long row = -1, by_addr;

    if (!user_id)
        memcpy(key, address_key(remote), sizeof(key));
    pthread_mutex_lock(&svc->lock);
    p = svc->pending;
    if (user_id) {
        row = event_row(p, user_id, token_id, NULL, remote);
    } else {
        by_addr = event_row(p, NULL, NULL, NULL, key);
        if (hash) {
            size_t slot = event_slot(p, NULL, NULL, hash, remote);

            if (p->audit_slots[slot] != 0)
                row = (long)p->audit_slots[slot] - 1;
            else if (by_addr >= 0 && p->audit_named[by_addr] < TSR_AUDIT_SECRETS_PER_ADDR &&
                     (row = event_row(p, NULL, NULL, hash, remote)) >= 0)
                p->audit_named[by_addr]++;
        }
        if (row < 0)
            row = by_addr;
    }
    if (row >= 0)
        p->audits[row].count++;
    else
        p->dropped_audits++;
    pthread_mutex_unlock(&svc->lock);
}

static size_t id_slot(const char *id)
{
    /* The tail of a UUIDv7 is random, so a few of its bytes make a good slot. */
    size_t h = 0;

    for (size_t i = TSR_UUID_LEN - 8; i < TSR_UUID_LEN; i++)
        h = h * 31 + (unsigned char)id[i];
    return h % TSR_PENDING_USES;
}

void tsr__usage_note(struct tsr_service *svc, const char *token_id, int64_t now, const char *remote)
{
    struct tsr__pending *p;
    size_t slot = id_slot(token_id);

    pthread_mutex_lock(&svc->lock);
    p = svc->pending;
    for (size_t probe = 0; probe < TSR_PENDING_USES; probe++) {
        struct tsr_token_use *u = &p->uses[(slot + probe) % TSR_PENDING_USES];

        if (u->id[0] == '\0') {
            if (p->nuses * 4 >= TSR_PENDING_USES * 3)
                break; /* keep probes short: the next flush makes room */
            tsr_strscpy(u->id, sizeof(u->id), token_id);
            p->nuses++;
        } else if (strcmp(u->id, token_id) != 0) {
            continue;
        }
        u->last_used_at = now;
        tsr_strscpy(u->last_addr, sizeof(u->last_addr), remote);
        break;
    }
    pthread_mutex_unlock(&svc->lock);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct tsr_token_use *)a)->id, ((const struct tsr_token_use *)b)->id);
}

static enum tsr_err write_uses(struct tsr_service *svc, struct tsr__pending *p)
{
    size_t n = 0;

    /* Pack the used slots to the front; the table is emptied afterwards. */
    for (size_t i = 0; i < TSR_PENDING_USES && n < p->nuses; i++) {
        if (p->uses[i].id[0] != '\0') {
            if (i != n)
                p->uses[n] = p->uses[i];
            n++;
        }
    }
    /* In id order the updates walk the primary key's pages in turn. */
    qsort(p->uses, n, sizeof(*p->uses), by_id);
    return n ? tsr_store_token_touch(svc->store, p->uses, n) : TSR_OK;
}

/* Names the token behind a failed authentication whose secret the index
 * did not hold (revoked, or of a removed user), off the request path. */
static void name_tokens(struct tsr_service *svc, struct tsr__pending *p)
{
    struct tsr_token_row t;

    for (size_t i = 0; i < p->naudits; i++) {
        if (memcmp(p->audit_hashes[i], no_hash, TSR_HASH_LEN) == 0 ||
            tsr_store_token_by_hash_any(svc->store, p->audit_hashes[i], &t) != TSR_OK)
            continue;
        tsr_strscpy(p->audits[i].user_id, sizeof(p->audits[i].user_id), t.user_id);
        tsr_strscpy(p->audits[i].token_id, sizeof(p->audits[i].token_id), t.id);
    }
}

static enum tsr_err write_audits(struct tsr_service *svc, struct tsr__pending *p)
{
    size_t n = 0;

    name_tokens(svc, p);
    /* An address's record that only started others has nothing to say. */
    for (size_t i = 0; i < p->naudits; i++)
        if (p->audits[i].count > 0)
            p->audits[n++] = p->audits[i];
    if (p->dropped_audits > 0) {
        /* Too many distinct events to keep apart: the rest go in one record
         * of nobody's and no address, never on a user's own record. */
        fill_audit(&p->audits[n], tsr_time_now(), "auth", NULL, NULL, NULL, false);
        p->audits[n++].count = p->dropped_audits;
        tsr_log(TSR_LOG_WARN, "%lld failed authentications folded into one audit record",
                (long long)p->dropped_audits);
    }
    return n ? tsr_store_audit_append(svc->store, p->audits, n) : TSR_OK;
}

enum tsr_err tsr__pending_write(struct tsr_service *svc, struct tsr__pending *p)
{
    enum tsr_err rc = write_uses(svc, p);
    enum tsr_err rc2 = write_audits(svc, p);

    /* What could not be written is dropped: usage is a hint, and a store
     * that refuses writes has been logged loudly already. */
    if (p->nuses > 0)
        memset(p->uses, 0, TSR_PENDING_USES * sizeof(*p->uses));
    p->nuses = 0;
    if (p->naudits > 0) {
        memset(p->audit_hashes, 0, p->naudits * sizeof(*p->audit_hashes));
        memset(p->audit_slots, 0, TSR_AUDIT_SLOTS * sizeof(*p->audit_slots));
    }
    p->naudits = 0;
    p->dropped_audits = 0;
    return rc != TSR_OK ? rc : rc2;
}

enum tsr_err tsr_activity_list(struct tsr_service *svc, const struct tsr_principal *p,
                               int64_t offset, int64_t limit,
                               enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                               void *ctx, int64_t *total)
{
    return tsr_store_audit_list(svc->store, p->user_id, offset, limit, each, ctx, total);
}
