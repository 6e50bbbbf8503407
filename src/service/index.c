/* index.c - the in-memory index of live tokens: sharded open addressing */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "service/index.h"

#define SHARDS       64 /* a power of two; the first key byte picks one */
#define KEY_LEN      16
#define MIN_SLOTS    64
#define MAX_LOAD_NUM 3 /* grow past 3/4 full */
#define MAX_LOAD_DEN 4

/* 72 bytes a token. A slot holds an entry's index + 1 in its low half, 0
 * for empty, and a tag of the key in its high half: a probe passes over
 * other keys' slots without reading their entries, so a look-up touches one
 * entry, one cache line and page of a large index, however long the run.
 *
 * A revoked token stays for a minute as a tombstone, which no put can bring
 * back: revocation is final, so a sync that read the token just before it
 * was revoked cannot make it live again. Its expires_at is then the time
 * the tombstone may go, so the sweep drops both kinds alike. */
struct entry {
    uint8_t key[KEY_LEN];
    uint8_t token_id[TSR_UUID_BYTES];
    uint8_t user_id[TSR_UUID_BYTES];
    int64_t expires_at;
    int64_t change_seq;         /* of the row it came from; 0 when unknown */
    _Atomic uint32_t last_used; /* Unix seconds; written under the read lock */
    uint8_t kind;
    bool revoked;
};

#define TOMBSTONE_SECONDS 60

struct shard {
    pthread_rwlock_t lock;
    uint64_t *slots;
    size_t mask; /* number of slots - 1 */
    struct entry *entries;
    size_t count; /* tombstones included */
    size_t tombstones;
    size_t cap;
};

struct tsr_index {
    struct shard shards[SHARDS];
};

/* The key's bytes are uniformly random, so some of them make the slot. */
static size_t home(const struct shard *sh, const uint8_t *key)
{
    uint64_t h;

    memcpy(&h, key + 8, sizeof(h));
    return (size_t)h & sh->mask;
}

static struct shard *shard_of(struct tsr_index *ix, const uint8_t *key)
{
    return &ix->shards[key[0] & (SHARDS - 1)];
}

/* Other bytes of the key than home() and shard_of() use. */
static uint64_t tag_of(const uint8_t *key)
{
    uint32_t t;

    memcpy(&t, key + 4, sizeof(t));
    return (uint64_t)t << 32;
}

static uint64_t slot_value(const uint8_t *key, size_t e)
{
    return tag_of(key) | (uint64_t)(e + 1);
}

static struct entry *entry_at(const struct shard *sh, size_t i)
{
    return &sh->entries[(uint32_t)sh->slots[i] - 1];
}

/* The slot that holds key, or the empty slot where it would go. */
static size_t probe(const struct shard *sh, const uint8_t *key)
{
    uint64_t tag = tag_of(key);
    size_t i = home(sh, key);

    for (; sh->slots[i] != 0; i = (i + 1) & sh->mask) {
        if ((sh->slots[i] & ~(uint64_t)UINT32_MAX) == tag &&
            memcmp(entry_at(sh, i)->key, key, KEY_LEN) == 0)
            break;
    }
    return i;
}

enum tsr_err tsr__index_new(struct tsr_index **out)
{
    struct tsr_index *ix = calloc(1, sizeof(*ix));

    if (!ix)
        return TSR_ERR_NOMEM;
    pthread_rwlockattr_t attr;

    /* Verifies come by the thousand; a change must not wait behind them. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (size_t s = 0; s < SHARDS; s++) {
        struct shard *sh = &ix->shards[s];

        pthread_rwlock_init(&sh->lock, &attr);
        sh->slots = calloc(MIN_SLOTS, sizeof(*sh->slots));
        sh->mask = MIN_SLOTS - 1;
        if (!sh->slots) {
            pthread_rwlockattr_destroy(&attr);
            tsr__index_free(ix);
            return TSR_ERR_NOMEM;
        }
    }
    pthread_rwlockattr_destroy(&attr);
    *out = ix;
    return TSR_OK;
}

void tsr__index_free(struct tsr_index *ix)
{
    if (!ix)
        return;
    for (size_t s = 0; s < SHARDS; s++) {
        pthread_rwlock_destroy(&ix->shards[s].lock);
        free(ix->shards[s].slots);
        free(ix->shards[s].entries);
    }
    free(ix);
}

static enum tsr_err grow_slots(struct shard *sh)
{
    size_t n = (sh->mask + 1) * 2;
    uint64_t *slots = calloc(n, sizeof(*slots));

    if (!slots)
        return TSR_ERR_NOMEM;
    free(sh->slots);
    sh->slots = slots;
    sh->mask = n - 1;
    for (size_t e = 0; e < sh->count; e++)
        sh->slots[probe(sh, sh->entries[e].key)] = slot_value(sh->entries[e].key, e);
    return TSR_OK;
}

static enum tsr_err grow_entries(struct shard *sh)
{
    size_t cap = sh->cap ? sh->cap + sh->cap / 2 : 16;
    struct entry *entries = realloc(sh->entries, cap * sizeof(*entries));

    if (!entries)
        return TSR_ERR_NOMEM;
    sh->entries = entries;
    sh->cap = cap;
    return TSR_OK;
}

static void fill(struct entry *e, const struct tsr_token_row *t)
{
    memcpy(e->key, t->secret_hash, KEY_LEN);
    tsr_uuid_to_bytes(t->id, e->token_id);
    tsr_uuid_to_bytes(t->user_id, e->user_id);
    e->expires_at = t->expires_at;
    e->kind = (uint8_t)t->kind;
    if (t->change_seq > e->change_seq)
        e->change_seq = t->change_seq;
}

/* A put never revives a tombstone, nor lets an older row of the token
 * overwrite a newer one (a sync that read before an update). */
static bool newer(const struct entry *e, const struct tsr_token_row *t)
{
    return !e->revoked && (t->change_seq == 0 || t->change_seq >= e->change_seq);
}

static enum tsr_err put_locked(struct shard *sh, const struct tsr_token_row *t)
{
    size_t i = probe(sh, t->secret_hash);
    enum tsr_err rc;

    if (sh->slots[i] != 0) {
        struct entry *e = entry_at(sh, i);

        if (newer(e, t))
            fill(e, t);
        return TSR_OK;
    }
    if ((sh->count + 1) * MAX_LOAD_DEN > (sh->mask + 1) * MAX_LOAD_NUM) {
        if ((rc = grow_slots(sh)) != TSR_OK)
            return rc;
        i = probe(sh, t->secret_hash);
    }
    if (sh->count == sh->cap && (rc = grow_entries(sh)) != TSR_OK)
        return rc;
    memset(&sh->entries[sh->count], 0, sizeof(sh->entries[0]));
    fill(&sh->entries[sh->count], t);
    sh->slots[i] = slot_value(t->secret_hash, sh->count++);
    return TSR_OK;
}

enum tsr_err tsr__index_put(struct tsr_index *ix, const struct tsr_token_row *t)
{
    struct shard *sh = shard_of(ix, t->secret_hash);
    enum tsr_err rc;

    pthread_rwlock_wrlock(&sh->lock);
    rc = put_locked(sh, t);
    pthread_rwlock_unlock(&sh->lock);
    return rc;
}

/* Empties slot i and shifts later entries of the same run back, so that no
 * probe ever stops early (linear probing without tombstones). */
static void clear_slot(struct shard *sh, size_t i)
{
    size_t j = i;

    sh->slots[i] = 0;
    for (;;) {
        j = (j + 1) & sh->mask;
        if (sh->slots[j] == 0)
            return;
        size_t k = home(sh, entry_at(sh, j)->key);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            sh->slots[i] = sh->slots[j];
            sh->slots[j] = 0;
            i = j;
        }
    }
}

static void remove_locked(struct shard *sh, const uint8_t *key)
{
    size_t i = probe(sh, key);
    size_t e, last;

    if (sh->slots[i] == 0)
        return;
    e = (uint32_t)sh->slots[i] - 1;
    if (sh->entries[e].revoked)
        sh->tombstones--;
    clear_slot(sh, i);
    /* Keep the entries dense: the last one moves into the hole. */
    last = sh->count - 1;
    if (e != last) {
        sh->entries[e] = sh->entries[last];
        sh->slots[probe(sh, sh->entries[e].key)] = slot_value(sh->entries[e].key, e);
    }
    sh->count--;
}

/* Marks the token revoked, adding a tombstone when the index does not hold
 * it (a sync may bring its older row in a moment). */
static enum tsr_err bury_locked(struct shard *sh, const uint8_t *hash, int64_t now)
{
    size_t i = probe(sh, hash);
    struct tsr_token_row t;
    struct entry *e;
    enum tsr_err rc;

    if (sh->slots[i] == 0) {
        memset(&t, 0, sizeof(t));
        memcpy(t.secret_hash, hash, TSR_HASH_LEN);
        memcpy(t.id, "00000000-0000-0000-0000-000000000000", TSR_UUID_LEN);
        memcpy(t.user_id, t.id, sizeof(t.user_id));
        if ((rc = put_locked(sh, &t)) != TSR_OK)
            return rc;
        i = probe(sh, hash);
    }
    e = entry_at(sh, i);
    if (!e->revoked)
        sh->tombstones++;
    e->revoked = true;
    e->expires_at = now + TOMBSTONE_SECONDS;
    return TSR_OK;
}

enum tsr_err tsr__index_revoke(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN], int64_t now)
{
    struct shard *sh = shard_of(ix, hash);
    enum tsr_err rc;

    pthread_rwlock_wrlock(&sh->lock);
    rc = bury_locked(sh, hash, now);
    pthread_rwlock_unlock(&sh->lock);
    return rc;
}

bool tsr__index_find(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN], int64_t now,
                     struct tsr_index_hit *out)
{
    struct shard *sh = shard_of(ix, hash);
    uint32_t now32 = (uint32_t)now;
    bool found;

    pthread_rwlock_rdlock(&sh->lock);
    size_t i = probe(sh, hash);
    found = sh->slots[i] != 0 && !entry_at(sh, i)->revoked;
    if (found) {
        struct entry *e = entry_at(sh, i);
        uint32_t seen = atomic_load_explicit(&e->last_used, memory_order_relaxed);

        memcpy(out->token_id, e->token_id, sizeof(out->token_id));
        memcpy(out->user_id, e->user_id, sizeof(out->user_id));
        out->expires_at = e->expires_at;
        out->kind = (enum tsr_token_kind)e->kind;
        /* Only the first use in a second is passed on to be written. */
        out->newly_used = seen < now32 && atomic_compare_exchange_strong_explicit(
                                              &e->last_used, &seen, now32, memory_order_relaxed,
                                              memory_order_relaxed);
    }
    pthread_rwlock_unlock(&sh->lock);
    return found;
}

void tsr__index_sweep(struct tsr_index *ix, int64_t now)
{
    for (size_t s = 0; s < SHARDS; s++) {
        struct shard *sh = &ix->shards[s];

        pthread_rwlock_wrlock(&sh->lock);
        for (size_t e = sh->count; e-- > 0;) {
            if (sh->entries[e].expires_at <= now) {
                uint8_t key[KEY_LEN];

                memcpy(key, sh->entries[e].key, KEY_LEN);
                remove_locked(sh, key);
            }
        }
        pthread_rwlock_unlock(&sh->lock);
    }
}

size_t tsr__index_count(struct tsr_index *ix)
{
    size_t n = 0;

    for (size_t s = 0; s < SHARDS; s++) {
        pthread_rwlock_rdlock(&ix->shards[s].lock);
        n += ix->shards[s].count - ix->shards[s].tombstones;
        pthread_rwlock_unlock(&ix->shards[s].lock);
    }
    return n;
}
