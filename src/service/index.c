/* index.c - the in-memory index of live tokens: sharded open addressing */
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "service/grant.h"
#include "service/index.h"
#include "service/live.h"

#define SHARDS       64 /* a power of two; the first key byte picks one */
#define KEY_LEN      16
#define MIN_SLOTS    64
#define MAX_LOAD_NUM 3 /* grow past 3/4 full */
#define MAX_LOAD_DEN 4

/* 80 bytes a token. A slot holds an entry's index + 1 in its low half, 0
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
    int64_t change_seq;      /* of the row it came from; 0 when unknown */
    struct tsr_grant *grant; /* one reference; NULL: unrestricted */
    uint32_t last_used;      /* Unix seconds */
    uint8_t kind;
    bool revoked;
    bool grace; /* a rotated token's previous secret, good until expires_at */
};

#define TOMBSTONE_SECONDS 60

/* The tokens in use, copied where a look-up finds them cheaply. A million
 * entries span some 20,000 pages, and the tokens in use lie scattered over
 * them: each look-up in the big table missed the TLB twice, and in a
 * virtual machine a page walk costs as much as the rest of the look-up.
 * These copies, 32,768 of them in all, lie in 2 MB, which stays within the
 * TLB's reach. Each shard has HOT_SETS sets of HOT_WAYS; a copy goes in its
 * key's set, over a way picked by a counter, which unlike least recently
 * used does not thrash when more tokens take turns than a set holds. While
 * a token has a copy, the copy's last_used is the one that counts. */
#define HOT_SETS 64 /* a power of two */
#define HOT_WAYS 8

struct hot {
    alignas(64) uint8_t key[KEY_LEN];
    uint8_t token_id[TSR_UUID_BYTES];
    uint8_t user_id[TSR_UUID_BYTES];
    int64_t expires_at;
    uint32_t last_used;
    uint8_t kind;
    bool restricted; /* the entry has a grant: a look-up fetches it from there */
};

_Static_assert(sizeof(struct hot) == 64, "a copy is one cache line");

/* Finds take the mutex too: they note uses and make copies. */
struct shard {
    pthread_mutex_t lock;
    uint64_t *slots;
    size_t mask; /* number of slots - 1 */
    struct entry *entries;
    size_t count; /* tombstones included */
    size_t tombstones;
    size_t cap;
    struct hot *hot;                       /* HOT_SETS * HOT_WAYS */
    uint32_t hot_tags[HOT_SETS][HOT_WAYS]; /* tag_of() | 1 in use, 0 free */
    uint32_t hot_fills;                    /* turns the way a fill takes */
};

/* The previous secrets in their grace period, by token: a node that sees
 * a token rotated again must refuse the secret the rotation before left in
 * grace, which the new row no longer names. Few tokens are in grace at a
 * time, so one table under one lock will do: open addressing on the token
 * id (struct grace, below). */
struct grace;

struct graces {
    pthread_mutex_t lock;
    struct grace *slots;
    size_t mask; /* number of slots - 1; 0 before the first */
    size_t count;
};

struct tsr_index {
    struct shard shards[SHARDS];
    struct graces graces;
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

/* ---- the copies of tokens in use ---- */

static size_t hot_set(const uint8_t *key)
{
    return key[1] & (HOT_SETS - 1);
}

static uint32_t hot_tag(const uint8_t *key)
{
    return (uint32_t)(tag_of(key) >> 32) | 1;
}

/* The way of key's set that holds its copy, or HOT_WAYS. The set's copies
 * are fetched while its tags are read: with ten thousand tokens in use the
 * copies drop out of L2 between two uses of one, and two misses one after
 * the other cost twice what two at once do. */
static size_t hot_way(const struct shard *sh, const uint8_t *key)
{
    size_t set = hot_set(key), w;
    uint32_t tag = hot_tag(key);

    for (w = 0; w < HOT_WAYS; w++)
        __builtin_prefetch(&sh->hot[set * HOT_WAYS + w]);
    for (w = 0; w < HOT_WAYS; w++) {
        if (sh->hot_tags[set][w] == tag &&
            memcmp(sh->hot[set * HOT_WAYS + w].key, key, KEY_LEN) == 0)
            break;
    }
    return w;
}

/* Empties a way, handing its last use back to the entry. */
static void hot_evict(struct shard *sh, size_t set, size_t w)
{
    const struct hot *h = &sh->hot[set * HOT_WAYS + w];
    size_t i;

    if (sh->hot_tags[set][w] == 0)
        return;
    i = probe(sh, h->key);
    if (sh->slots[i] != 0 && entry_at(sh, i)->last_used < h->last_used)
        entry_at(sh, i)->last_used = h->last_used;
    sh->hot_tags[set][w] = 0;
}

/* Before the entry for key changes or goes. */
static void hot_drop(struct shard *sh, const uint8_t *key)
{
    size_t w = hot_way(sh, key);

    if (w < HOT_WAYS)
        hot_evict(sh, hot_set(key), w);
}

static struct hot *hot_fill(struct shard *sh, const struct entry *e)
{
    size_t set = hot_set(e->key), w;
    struct hot *h;

    for (w = 0; w < HOT_WAYS && sh->hot_tags[set][w] != 0; w++)
        ;
    if (w == HOT_WAYS) {
        w = (e->key[2] + sh->hot_fills++) % HOT_WAYS;
        hot_evict(sh, set, w);
    }
    h = &sh->hot[set * HOT_WAYS + w];
    memcpy(h->key, e->key, KEY_LEN);
    memcpy(h->token_id, e->token_id, sizeof(h->token_id));
    memcpy(h->user_id, e->user_id, sizeof(h->user_id));
    h->expires_at = e->expires_at;
    h->last_used = e->last_used;
    h->kind = e->kind;
    h->restricted = e->grant != NULL;
    sh->hot_tags[set][w] = hot_tag(e->key);
    return h;
}

/* ---- the index ---- */

enum tsr_err tsr__index_new(struct tsr_index **out)
{
    struct tsr_index *ix = calloc(1, sizeof(*ix));
    size_t hot_bytes = HOT_SETS * HOT_WAYS * sizeof(struct hot);

    if (!ix)
        return TSR_ERR_NOMEM;
    pthread_mutex_init(&ix->graces.lock, NULL);
    for (size_t s = 0; s < SHARDS; s++) {
        struct shard *sh = &ix->shards[s];

        pthread_mutex_init(&sh->lock, NULL);
        sh->slots = calloc(MIN_SLOTS, sizeof(*sh->slots));
        sh->mask = MIN_SLOTS - 1;
        sh->hot = aligned_alloc(alignof(struct hot), hot_bytes);
        if (!sh->slots || !sh->hot) {
            tsr__index_free(ix);
            return TSR_ERR_NOMEM;
        }
    }
    *out = ix;
    return TSR_OK;
}

void tsr__index_free(struct tsr_index *ix)
{
    if (!ix)
        return;
    for (size_t s = 0; s < SHARDS; s++) {
        for (size_t e = 0; e < ix->shards[s].count; e++)
            tsr__grant_unref(ix->shards[s].entries[e].grant);
        pthread_mutex_destroy(&ix->shards[s].lock);
        free(ix->shards[s].slots);
        free(ix->shards[s].entries);
        free(ix->shards[s].hot);
    }
    pthread_mutex_destroy(&ix->graces.lock);
    free(ix->graces.slots);
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

/* Fills e from t and gives it grant g, returning the grant e held before. */
static struct tsr_grant *fill(struct entry *e, const struct tsr_token_row *t, struct tsr_grant *g)
{
    struct tsr_grant *old = e->grant;

    memcpy(e->key, t->secret_hash, KEY_LEN);
    tsr_uuid_to_bytes(t->id, e->token_id);
    tsr_uuid_to_bytes(t->user_id, e->user_id);
    e->expires_at = t->expires_at;
    e->kind = (uint8_t)t->kind;
    if (t->change_seq > e->change_seq)
        e->change_seq = t->change_seq;
    e->grant = g;
    return old;
}

/* A put never revives a tombstone, nor lets an older row of the token
 * overwrite a newer one (a sync that read before an update). */
static bool newer(const struct entry *e, const struct tsr_token_row *t)
{
    return !e->revoked && (t->change_seq == 0 || t->change_seq >= e->change_seq);
}

/* Puts t with its grant g; *unused is the grant that no entry holds any
 * more (g itself when t was not newer), for the caller to give back. */
static enum tsr_err put_locked(struct shard *sh, const struct tsr_token_row *t, struct tsr_grant *g,
                               bool grace, struct tsr_grant **unused)
{
    size_t i = probe(sh, t->secret_hash);
    enum tsr_err rc;

    *unused = g;
    if (sh->slots[i] != 0) {
        struct entry *e = entry_at(sh, i);

        if (newer(e, t)) {
            hot_drop(sh, t->secret_hash);
            *unused = fill(e, t, g);
            e->grace = grace;
        }
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
    *unused = fill(&sh->entries[sh->count], t, g);
    sh->entries[sh->count].grace = grace;
    sh->slots[i] = slot_value(t->secret_hash, sh->count++);
    return TSR_OK;
}

/* Puts t under its secret_hash with grant g (consumed). */
static enum tsr_err put_key(struct tsr_index *ix, const struct tsr_token_row *t,
                            struct tsr_grant *g, bool grace)
{
    struct shard *sh = shard_of(ix, t->secret_hash);
    struct tsr_grant *unused;
    enum tsr_err rc;

    pthread_mutex_lock(&sh->lock);
    rc = put_locked(sh, t, g, grace, &unused);
    pthread_mutex_unlock(&sh->lock);
    tsr__grant_unref(unused);
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
    size_t i, e, last;

    hot_drop(sh, key);
    i = probe(sh, key);
    if (sh->slots[i] == 0)
        return;
    e = (uint32_t)sh->slots[i] - 1;
    if (sh->entries[e].revoked)
        sh->tombstones--;
    tsr__grant_unref(sh->entries[e].grant);
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
    size_t i;
    static const struct tsr_token_row nothing = {.scopes = TSR_SCOPE_GLOBAL};
    struct tsr_token_row t;
    struct tsr_grant *unused;
    struct entry *e;
    enum tsr_err rc;

    hot_drop(sh, hash);
    i = probe(sh, hash);
    if (sh->slots[i] == 0) {
        t = nothing;
        memcpy(t.secret_hash, hash, TSR_HASH_LEN);
        memcpy(t.id, "00000000-0000-0000-0000-000000000000", TSR_UUID_LEN);
        memcpy(t.user_id, t.id, sizeof(t.user_id));
        if ((rc = put_locked(sh, &t, NULL, false, &unused)) != TSR_OK)
            return rc;
        i = probe(sh, hash);
    }
    e = entry_at(sh, i);
    if (!e->revoked)
        sh->tombstones++;
    /* Under the lock, so no look-up can take a reference meanwhile. */
    tsr__grant_unref(e->grant);
    e->grant = NULL;
    e->revoked = true;
    e->expires_at = now + TOMBSTONE_SECONDS;
    return TSR_OK;
}

enum tsr_err tsr__index_revoke(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN], int64_t now)
{
    struct shard *sh = shard_of(ix, hash);
    enum tsr_err rc;

    pthread_mutex_lock(&sh->lock);
    rc = bury_locked(sh, hash, now);
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

/* ---- rotated tokens ---- */

/* A slot of the graces table: what the newest row seen of a rotated token
 * left in grace (has_key), with that row's change_seq, so that an older row
 * read a moment earlier cannot bring back a secret it named. A slot stays
 * a minute past its grace, as tombstones do; keep 0 marks it empty. */
struct grace {
    uint8_t token_id[TSR_UUID_BYTES];
    uint8_t key[TSR_HASH_LEN]; /* the whole hash, which a burial takes */
    bool has_key;
    int64_t seq;
    int64_t keep; /* when the slot may go */
};

static size_t grace_home(const struct graces *gs, const uint8_t *id)
{
    uint64_t h;

    memcpy(&h, id + 8, sizeof(h)); /* the random half of a UUID */
    return (size_t)h & gs->mask;
}

/* The slot that holds id, or the empty one where it would go. */
static size_t grace_probe(const struct graces *gs, const uint8_t *id)
{
    size_t i = grace_home(gs, id);

    while (gs->slots[i].keep != 0 && memcmp(gs->slots[i].token_id, id, TSR_UUID_BYTES) != 0)
        i = (i + 1) & gs->mask;
    return i;
}

static enum tsr_err graces_grow(struct graces *gs)
{
    size_t n = gs->slots ? (gs->mask + 1) * 2 : MIN_SLOTS;
    struct grace *old = gs->slots, *slots = calloc(n, sizeof(*slots));
    size_t old_n = gs->slots ? gs->mask + 1 : 0;

    if (!slots)
        return TSR_ERR_NOMEM;
    gs->slots = slots;
    gs->mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].keep != 0)
            gs->slots[grace_probe(gs, old[i].token_id)] = old[i];
    }
    free(old);
    return TSR_OK;
}

/* Empties slot i and shifts later slots of the same run back, as
 * clear_slot does for the shards. */
static void graces_clear(struct graces *gs, size_t i)
{
    size_t j = i;

    gs->slots[i].keep = 0;
    gs->count--;
    for (;;) {
        j = (j + 1) & gs->mask;
        if (gs->slots[j].keep == 0)
            return;
        size_t k = grace_home(gs, gs->slots[j].token_id);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            gs->slots[i] = gs->slots[j];
            gs->slots[j].keep = 0;
            i = j;
        }
    }
}

/* What a row of a rotated token changes in the graces table. */
struct grace_note {
    const uint8_t *token_id;
    const uint8_t *key; /* the secret it leaves in grace; NULL: none */
    int64_t until;      /* when that grace ends (or ended) */
    int64_t seq;        /* the row's change_seq; 0 counts as newest */
};

/* What noting a row found: whether it is older than what the table holds
 * (nothing changed then), whether the table knew the token, and the secret
 * left in grace before that the row no longer names (has_stale). */
struct grace_seen {
    bool older;
    bool known;
    bool has_stale;
    uint8_t stale[TSR_HASH_LEN];
};

static enum tsr_err graces_note(struct graces *gs, const struct grace_note *n, int64_t now,
                                struct grace_seen *seen)
{
    size_t i;
    struct grace *g;

    memset(seen, 0, sizeof(*seen));
    if ((gs->count + 1) * 2 > (gs->slots ? gs->mask + 1 : 0) && graces_grow(gs) != TSR_OK)
        return TSR_ERR_NOMEM;
    i = grace_probe(gs, n->token_id);
    g = &gs->slots[i];
    if (g->keep != 0) {
        seen->known = true;
        if (n->seq != 0 && n->seq < g->seq) {
            seen->older = true;
            return TSR_OK;
        }
        if (g->has_key && (!n->key || memcmp(g->key, n->key, TSR_HASH_LEN) != 0)) {
            seen->has_stale = true;
            memcpy(seen->stale, g->key, TSR_HASH_LEN);
        }
    } else {
        gs->count++;
        memset(g, 0, sizeof(*g));
        memcpy(g->token_id, n->token_id, TSR_UUID_BYTES);
    }
    g->has_key = n->key != NULL;
    if (n->key)
        memcpy(g->key, n->key, TSR_HASH_LEN);
    if (n->seq > g->seq)
        g->seq = n->seq;
    g->keep = (n->until > now ? n->until : now) + TOMBSTONE_SECONDS;
    return TSR_OK;
}

static void graces_sweep(struct graces *gs, int64_t now)
{
    for (size_t i = 0; gs->slots && i <= gs->mask;) {
        if (gs->slots[i].keep != 0 && gs->slots[i].keep <= now)
            graces_clear(gs, i); /* a later slot may move into i: look again */
        else
            i++;
    }
}

/* Whether the index holds key at all, live or buried. */
static bool holds_key(struct tsr_index *ix, const uint8_t *key)
{
    struct shard *sh = shard_of(ix, key);
    bool held;

    pthread_mutex_lock(&sh->lock);
    held = sh->slots[probe(sh, key)] != 0;
    pthread_mutex_unlock(&sh->lock);
    return held;
}

/* Buries every secret of token id but keep and keep2: the node missed a
 * rotation (two came between its syncs), so the secret it holds is none
 * the row names. Reads the whole index, which only a rotation the node
 * missed makes it do. */
static enum tsr_err bury_others(struct tsr_index *ix, const uint8_t *id, const uint8_t *keep,
                                const uint8_t *keep2, int64_t now)
{
    enum tsr_err rc = TSR_OK;

    for (size_t s = 0; s < SHARDS && rc == TSR_OK; s++) {
        struct shard *sh = &ix->shards[s];

        pthread_mutex_lock(&sh->lock);
        for (size_t e = 0; e < sh->count && rc == TSR_OK; e++) {
            struct entry *en = &sh->entries[e];

            if (!en->revoked && memcmp(en->token_id, id, TSR_UUID_BYTES) == 0 &&
                memcmp(en->key, keep, KEY_LEN) != 0 && memcmp(en->key, keep2, KEY_LEN) != 0) {
                uint8_t key[KEY_LEN];

                memcpy(key, en->key, KEY_LEN);
                rc = bury_locked(sh, key, now);
            }
        }
        pthread_mutex_unlock(&sh->lock);
    }
    return rc;
}

/* Notes a rotated row's previous secret in the graces table and buries
 * what it no longer names; *older says the row is older than one seen. */
static enum tsr_err note_rotation(struct tsr_index *ix, const struct tsr_token_row *t,
                                  int64_t until, bool check_missed, int64_t now, bool *older)
{
    uint8_t id[TSR_UUID_BYTES];
    struct grace_note n = {.token_id = id, .until = until, .seq = t->change_seq};
    struct grace_seen seen;
    bool had_prev = !check_missed || holds_key(ix, t->prev_secret_hash);
    enum tsr_err rc;

    tsr_uuid_to_bytes(t->id, id);
    if (!tsr__expired(until, now))
        n.key = t->prev_secret_hash;
    pthread_mutex_lock(&ix->graces.lock);
    rc = graces_note(&ix->graces, &n, now, &seen);
    pthread_mutex_unlock(&ix->graces.lock);
    *older = seen.older;
    if (rc != TSR_OK || seen.older)
        return rc;
    if (seen.has_stale && memcmp(seen.stale, t->secret_hash, TSR_HASH_LEN) != 0)
        rc = tsr__index_revoke(ix, seen.stale, now);
    if (rc == TSR_OK && !had_prev && !seen.known && until > now - TOMBSTONE_SECONDS)
        rc = bury_others(ix, id, t->secret_hash, t->prev_secret_hash, now);
    return rc;
}

/* Puts the previous secret of rotated row t, with grant g (consumed): a
 * live entry until its grace ends, a tombstone once it has. */
static enum tsr_err put_prev(struct tsr_index *ix, const struct tsr_token_row *t,
                             struct tsr_grant *g, bool check_missed, int64_t now)
{
    int64_t until = tsr__secret_until(t, t->prev_secret_hash);
    struct tsr_token_row prev;
    bool older = false;
    enum tsr_err rc = note_rotation(ix, t, until, check_missed, now, &older);

    if (rc != TSR_OK || older || tsr__expired(until, now)) {
        tsr__grant_unref(g);
        return rc != TSR_OK || older ? rc : tsr__index_revoke(ix, t->prev_secret_hash, now);
    }
    prev = *t;
    memcpy(prev.secret_hash, t->prev_secret_hash, TSR_HASH_LEN);
    prev.expires_at = until;
    return put_key(ix, &prev, g, true);
}

static enum tsr_err put_row(struct tsr_index *ix, const struct tsr_token_row *t, int64_t now,
                            bool check_missed)
{
    struct tsr_grant *g;
    enum tsr_err rc = tsr__grant_from_row(t, &g);

    if (rc != TSR_OK)
        return rc;
    if (t->has_prev && (rc = put_prev(ix, t, tsr__grant_ref(g), check_missed, now)) != TSR_OK) {
        tsr__grant_unref(g);
        return rc;
    }
    return put_key(ix, t, g, false);
}

enum tsr_err tsr__index_put(struct tsr_index *ix, const struct tsr_token_row *t, int64_t now)
{
    return put_row(ix, t, now, true);
}

enum tsr_err tsr__index_load(struct tsr_index *ix, const struct tsr_token_row *t, int64_t now)
{
    return put_row(ix, t, now, false);
}

enum tsr_err tsr__index_revoke_token(struct tsr_index *ix, const struct tsr_token_row *t,
                                     int64_t now)
{
    uint8_t id[TSR_UUID_BYTES];
    struct grace_note n = {.token_id = id, .until = now, .seq = t->change_seq};
    struct grace_seen seen = {0};
    enum tsr_err rc = TSR_OK;

    /* Only a rotated token has secrets in grace; its rows say so for good. */
    if (t->has_prev) {
        tsr_uuid_to_bytes(t->id, id);
        pthread_mutex_lock(&ix->graces.lock);
        rc = graces_note(&ix->graces, &n, now, &seen);
        pthread_mutex_unlock(&ix->graces.lock);
    }
    if (rc == TSR_OK && seen.has_stale)
        rc = tsr__index_revoke(ix, seen.stale, now);
    if (rc == TSR_OK && t->has_prev)
        rc = tsr__index_revoke(ix, t->prev_secret_hash, now);
    return rc == TSR_OK ? tsr__index_revoke(ix, t->secret_hash, now) : rc;
}

/* The copy of the live token with that key, made now if need be; NULL
 * when the index has no such token. */
static struct hot *find_locked(struct shard *sh, const uint8_t *key)
{
    size_t w = hot_way(sh, key), i;

    if (w < HOT_WAYS)
        return &sh->hot[hot_set(key) * HOT_WAYS + w];
    i = probe(sh, key);
    if (sh->slots[i] == 0 || entry_at(sh, i)->revoked)
        return NULL;
    return hot_fill(sh, entry_at(sh, i));
}

bool tsr__index_find(struct tsr_index *ix, const uint8_t hash[TSR_HASH_LEN], int64_t now,
                     struct tsr_index_hit *out)
{
    struct shard *sh = shard_of(ix, hash);
    uint32_t now32 = (uint32_t)now;
    struct hot *h;

    pthread_mutex_lock(&sh->lock);
    h = find_locked(sh, hash);
    if (h) {
        memcpy(out->token_id, h->token_id, sizeof(out->token_id));
        memcpy(out->user_id, h->user_id, sizeof(out->user_id));
        out->expires_at = h->expires_at;
        out->kind = (enum tsr_token_kind)h->kind;
        out->grant = h->restricted ? tsr__grant_ref(entry_at(sh, probe(sh, hash))->grant) : NULL;
        /* Only the first use in a second is passed on to be written. */
        out->newly_used = h->last_used < now32;
        if (out->newly_used)
            h->last_used = now32;
    }
    pthread_mutex_unlock(&sh->lock);
    return h != NULL;
}

void tsr__index_sweep(struct tsr_index *ix, int64_t now)
{
    for (size_t s = 0; s < SHARDS; s++) {
        struct shard *sh = &ix->shards[s];

        pthread_mutex_lock(&sh->lock);
        for (size_t e = sh->count; e-- > 0;) {
            if (tsr__expired(sh->entries[e].expires_at, now)) {
                uint8_t key[KEY_LEN];

                memcpy(key, sh->entries[e].key, KEY_LEN);
                /* A grace that ends leaves a tombstone: a row read before
                 * the rotation must not bring the old secret back. Burying
                 * an entry it holds allocates nothing, so it cannot fail. */
                if (sh->entries[e].grace && !sh->entries[e].revoked)
                    (void)bury_locked(sh, key, now);
                else
                    remove_locked(sh, key);
            }
        }
        pthread_mutex_unlock(&sh->lock);
    }
    pthread_mutex_lock(&ix->graces.lock);
    graces_sweep(&ix->graces, now);
    pthread_mutex_unlock(&ix->graces.lock);
}

size_t tsr__index_count(struct tsr_index *ix)
{
    size_t n = 0;

    for (size_t s = 0; s < SHARDS; s++) {
        pthread_mutex_lock(&ix->shards[s].lock);
        n += ix->shards[s].count - ix->shards[s].tombstones;
        pthread_mutex_unlock(&ix->shards[s].lock);
    }
    return n;
}
