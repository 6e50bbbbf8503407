/* store.h - the storage interface: users, tokens and audit, for any engine
 *
 * The service layer talks to storage only through these calls; SQL lives in
 * the engine files behind them (store_sqlite.c, store_pg.c). Every
 * call is safe to make from many threads at once. A write returns TSR_OK only
 * after it is durable. Times are Unix seconds (UTC); 0 means "never" or
 * "not set" where a field says so.
 *
 * The calls that change a token take an audit row (NULL for none) that is
 * appended in the same transaction: the change and its record are durable
 * together, with one commit.
 *
 * Errors every call may return besides those it names: TSR_ERR_NOMEM,
 * TSR_ERR_FULL (disk full), TSR_ERR_BUSY (locked too long), TSR_ERR_STORE.
 */
#ifndef TSR_STORE_STORE_H
#define TSR_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/err.h"
#include "core/scope.h"
#include "core/secret.h"
#include "core/uuid.h"

#define TSR_EMAIL_MAX          254
#define TSR_PWHASH_MAX         128 /* an Argon2id string from libsodium, with room */
#define TSR_NAME_MAX_BYTES     400 /* 100 code points of at most 4 bytes */
#define TSR_DESC_MAX_BYTES     2000
#define TSR_ADDR_MAX           46 /* an IPv6 address in text */
#define TSR_EVENT_TYPE_MAX     24 /* "token.expiring" and the like */
#define TSR_HOOK_URL_MAX       2048
#define TSR_HOOK_KEY_MAX       256 /* a webhook's signing key */
#define TSR_HOOK_EVENTS_MAX    256 /* a webhook's event types as text */
#define TSR_DELIVERY_ERROR_MAX 200

struct tsr_store;

struct tsr_user_row {
    char id[TSR_UUID_LEN + 1];
    char email[TSR_EMAIL_MAX + 1];
    char password_hash[TSR_PWHASH_MAX + 1];
    int64_t created;
    int64_t number; /* given by the store at insert: from 1, never reused */
};

enum tsr_token_kind {
    TSR_TOKEN_PERSONAL = 1,
    TSR_TOKEN_SESSION = 2,
};

struct tsr_token_row {
    char id[TSR_UUID_LEN + 1];
    char user_id[TSR_UUID_LEN + 1];
    enum tsr_token_kind kind;
    char name[TSR_NAME_MAX_BYTES + 1];
    char description[TSR_DESC_MAX_BYTES + 1];
    uint8_t secret_hash[TSR_HASH_LEN];
    char key_hint[TSR_KEY_HINT_LEN + 1];
    int64_t created;
    int64_t expires_at;
    int64_t last_used_at; /* 0 when never used */
    int64_t revoked_at;   /* 0 when not revoked */
    int64_t change_seq;   /* raised by every create, update and revoke */
    /* What the token may do: scope names, sorted, one space between each
     * (tsr_scopes_join); "global" for everything. */
    char scopes[TSR_SCOPES_TEXT_MAX + 1];
    /* Where it may be used from: canonical blocks (tsr_cidr_text) in the
     * order given, one space between each; "" for anywhere. */
    char allowed_ips[TSR_IPS_TEXT_MAX + 1];
    int64_t not_before;                  /* 0 when not set */
    char last_used_ip[TSR_ADDR_MAX + 1]; /* the client of the last use; "" when unknown */
    /* The secret it had before its last rotation (has_prev), which is good
     * until prev_until (the moment itself refuses it, as expires_at does):
     * the end of a grace period, or the rotation itself when it had none. */
    bool has_prev;
    uint8_t prev_secret_hash[TSR_HASH_LEN];
    int64_t prev_until;
};

/* Opens the store named by target and applies pending migrations. A target
 * is a file path for SQLite (the folder is created 0700 when missing, the
 * files 0600), or a postgres:// or postgresql:// URL for PostgreSQL (libpq's
 * form; the database must exist, with UTF-8 encoding). On success *out is
 * the store, to be closed with tsr_store_close. Returns TSR_ERR_IO when the
 * file cannot be opened or created (or the database server cannot be
 * reached), TSR_ERR_INVALID for a target no engine takes; *err_msg (when
 * not NULL) then points at a static or store-owned sentence for people. */
enum tsr_err tsr_store_open(const char *target, struct tsr_store **out, char *err_msg,
                            size_t err_msg_size) TSR_MUST_CHECK;

/* Closes the store; NULL is a no-op. */
void tsr_store_close(struct tsr_store *store);

/* Answers whether the store is reachable and readable (for /healthz). */
enum tsr_err tsr_store_ping(struct tsr_store *store) TSR_MUST_CHECK;

/* The path of the database file, or NULL for an engine without one. The
 * string is owned by the store. */
const char *tsr_store_path(struct tsr_store *store);

struct tsr_audit_row {
    int64_t at;
    char user_id[TSR_UUID_LEN + 1];  /* "" when unknown */
    char token_id[TSR_UUID_LEN + 1]; /* "" when none */
    char action[32];                 /* "token.create", "login.failed", ... */
    char remote_addr[TSR_ADDR_MAX + 1];
    char outcome[16]; /* "success" or "failure" */
    int64_t count;    /* events this row stands for (>= 1) */
    /* The event the change raises for subscribers ("token.created", ...; ""
     * for none). The token writes below record it in their transaction, as
     * the token is after the change, with one delivery for each webhook that
     * takes that event, and one by e-mail to the token's owner when
     * mail_owner. tsr_store_audit_append ignores both. */
    char event[TSR_EVENT_TYPE_MAX + 1];
    bool mail_owner;
};

/* ---- users ---- */

/* Inserts a user. TSR_ERR_EXISTS when another live user has that email
 * (compared case-insensitively for ASCII letters). */
enum tsr_err tsr_store_user_insert(struct tsr_store *store,
                                   const struct tsr_user_row *user) TSR_MUST_CHECK;

/* Finds the live user with email (case-insensitive). TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_user_by_email(struct tsr_store *store, const char *email,
                                     struct tsr_user_row *out) TSR_MUST_CHECK;

/* Finds the live user with id. TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_user_by_id(struct tsr_store *store, const char *id,
                                  struct tsr_user_row *out) TSR_MUST_CHECK;

/* Calls each(user, ctx) for every live user, oldest first; stops early and
 * returns what each returned when that is not TSR_OK. */
enum tsr_err tsr_store_user_each(struct tsr_store *store,
                                 enum tsr_err (*each)(const struct tsr_user_row *, void *),
                                 void *ctx) TSR_MUST_CHECK;

/* Counts live users into *out. */
enum tsr_err tsr_store_user_count(struct tsr_store *store, int64_t *out) TSR_MUST_CHECK;

/* Replaces the password hash of a live user and revokes that user's session
 * tokens (at time now), in one transaction. TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_user_set_password(struct tsr_store *store, const char *id,
                                         const char *password_hash, int64_t now) TSR_MUST_CHECK;

/* Removes a live user and revokes all their tokens (at time now), in one
 * transaction; the email may then be used again. TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_user_remove(struct tsr_store *store, const char *id,
                                   int64_t now) TSR_MUST_CHECK;

/* ---- tokens ---- */

/* Inserts a token (its change_seq is assigned here). For a personal token,
 * when max_live > 0 and the user already holds max_live stored personal
 * tokens that are not revoked (expired or not), inserts nothing and returns
 * TSR_ERR_LIMIT; the count and the insert are one transaction.
 * TSR_ERR_NOT_FOUND when the user is not live. */
enum tsr_err tsr_store_token_insert(struct tsr_store *store, const struct tsr_token_row *token,
                                    int64_t max_live, int64_t now,
                                    const struct tsr_audit_row *audit) TSR_MUST_CHECK;

/* As tsr_store_token_insert, without waiting: copies token and audit,
 * queues the write and returns TSR_OK (or TSR_ERR_NOMEM, and then() is never
 * called); once the write is durable, or refused, then(ctx, rc) is called
 * from the store's own thread with what tsr_store_token_insert would have
 * returned. then() must not wait for another write of the store. */
enum tsr_err tsr_store_token_insert_async(struct tsr_store *store,
                                          const struct tsr_token_row *token, int64_t max_live,
                                          int64_t now, const struct tsr_audit_row *audit,
                                          void (*then)(void *ctx, enum tsr_err rc),
                                          void *ctx) TSR_MUST_CHECK;

/* Inserts n tokens in one transaction, with no limit and no audit record:
 * for seeding a database in bulk (benchmarks, imports). Each token's
 * change_seq is assigned here. */
enum tsr_err tsr_store_token_insert_many(struct tsr_store *store,
                                         const struct tsr_token_row *tokens,
                                         size_t n) TSR_MUST_CHECK;

/* Housekeeping: deletes the tokens revoked or expired before tokens_before
 * (except the one holding the highest change_seq) and the audit records
 * older than audit_before, in batches; *tokens and *audits count them.
 * Events older than audit_before go too, with their deliveries, once none
 * of those is pending; so do expiry notices of tokens that are gone. */
enum tsr_err tsr_store_purge(struct tsr_store *store, int64_t tokens_before, int64_t audit_before,
                             int64_t *tokens, int64_t *audits) TSR_MUST_CHECK;

/* Writes a consistent copy of the database, as it is at one moment, to the
 * new file dest (0600; an existing file is refused), while others go on
 * reading and writing. On failure writes a sentence for people to err_msg
 * and leaves no file at dest. PostgreSQL refuses with TSR_ERR_INVALID and a
 * sentence that points at pg_dump, which does this job there. */
enum tsr_err tsr_store_backup(struct tsr_store *store, const char *dest, char *err_msg,
                              size_t err_msg_size) TSR_MUST_CHECK;

/* How many SQL statements the store has run since it was opened, on all its
 * connections: lets a test prove that a code path touches no database. */
uint64_t tsr_store_statements(struct tsr_store *store);

/* Finds the token, of any kind, whose secret or previous secret (has_prev,
 * whatever its prev_until) hashes to hash and that is not revoked and whose
 * user is live (expired ones are returned: the caller decides, with
 * tsr__secret_until). TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_token_by_hash(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                     struct tsr_token_row *out) TSR_MUST_CHECK;

/* Finds the token whose secret or previous secret hashes to hash whatever
 * its state: revoked, expired, or of a removed user (to name it in the
 * audit trail).
 * TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_token_by_hash_any(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                         struct tsr_token_row *out) TSR_MUST_CHECK;

/* Finds user_id's personal token id that is not revoked (expired or not).
 * TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_token_get(struct tsr_store *store, const char *user_id, const char *id,
                                 struct tsr_token_row *out) TSR_MUST_CHECK;

enum tsr_token_order {
    TSR_ORDER_CREATED = 0,
    TSR_ORDER_NAME,
    TSR_ORDER_EXPIRES_AT,
    TSR_ORDER_LAST_USED_AT,
};

struct tsr_token_query {
    const char *user_id;
    const char *search; /* substring of name or description; NULL or "" for all */
    size_t search_len;
    enum tsr_token_order order;
    bool descending;
    int64_t offset;
    int64_t limit;
    /* Only tokens with expires_at > expires_after and <= expires_until;
     * 0 is no bound. */
    int64_t expires_after;
    int64_t expires_until;
};

/* Lists user_id's personal tokens that are not revoked, filtered by
 * q->search (ASCII letters match either case; no wildcards) and q's expiry
 * bounds, ordered by
 * q->order (ties broken by id in the same direction; never-used tokens last
 * in both directions for TSR_ORDER_LAST_USED_AT), and calls each(token, ctx)
 * for those in [offset, offset + limit). *total is the number that match. */
enum tsr_err tsr_store_token_list(struct tsr_store *store, const struct tsr_token_query *q,
                                  enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                  void *ctx, int64_t *total) TSR_MUST_CHECK;

/* Which fields tsr_store_token_update writes. */
enum {
    TSR_SET_NAME = 1,
    TSR_SET_DESCRIPTION = 2,
    TSR_SET_EXPIRES_AT = 4,
    TSR_SET_SCOPES = 8,
    TSR_SET_ALLOWED_IPS = 16,
    TSR_SET_NOT_BEFORE = 32,
    /* A rotation: the secret becomes the previous one, good until
     * values->prev_until, and values' secret_hash and key_hint the
     * token's. */
    TSR_SET_SECRET = 64,
};

/* Writes the fields of `fields` from `values` to user_id's personal token id
 * and raises its change_seq, then reads it back into *out (may be NULL).
 * TSR_ERR_NOT_FOUND when it is not there or revoked. An expired token is
 * written like any other: whether it may change is the caller's rule. One
 * transaction. */
enum tsr_err tsr_store_token_update(struct tsr_store *store, const char *user_id, const char *id,
                                    unsigned fields, const struct tsr_token_row *values,
                                    struct tsr_token_row *out,
                                    const struct tsr_audit_row *audit) TSR_MUST_CHECK;

/* Revokes user_id's token id of the given kind (at now) and raises its
 * change_seq. TSR_ERR_NOT_FOUND when it is not there or already revoked. */
enum tsr_err tsr_store_token_revoke(struct tsr_store *store, const char *user_id, const char *id,
                                    enum tsr_token_kind kind, int64_t now,
                                    const struct tsr_audit_row *audit) TSR_MUST_CHECK;

/* Calls each(token, ctx) for every token that is neither revoked nor expired
 * at now and whose user is live, to fill an in-memory index. *max_seq (may be
 * NULL) is the highest change_seq in the store when the read began. For
 * speed, a row's last_used_at may be older than what the other calls read,
 * and an engine may leave name, description, key_hint, created and
 * last_used_ip empty: this read fills an index, which keeps none of them. */
enum tsr_err tsr_store_token_each_live(struct tsr_store *store, int64_t now,
                                       enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                       void *ctx, int64_t *max_seq) TSR_MUST_CHECK;

/* Calls each(token, ctx) for every token whose change_seq > since, in
 * change_seq order, revoked ones included (revoked_at set); *max_seq is the
 * highest change_seq seen (since when none). */
enum tsr_err tsr_store_token_changes(struct tsr_store *store, int64_t since,
                                     enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                     void *ctx, int64_t *max_seq) TSR_MUST_CHECK;

/* The highest change_seq in the store, cheaply, so a caller can tell whether
 * anything changed since it last looked. */
enum tsr_err tsr_store_change_seq(struct tsr_store *store, int64_t *out) TSR_MUST_CHECK;

struct tsr_token_use {
    char id[TSR_UUID_LEN + 1];
    int64_t last_used_at;
    char last_addr[TSR_ADDR_MAX + 1]; /* "" when unknown */
};

/* Writes last_used_at (only where it moves forward) and the last client
 * address of n tokens in one transaction. Ids that are gone are skipped.
 * Does not change change_seq. */
enum tsr_err tsr_store_token_touch(struct tsr_store *store, const struct tsr_token_use *uses,
                                   size_t n) TSR_MUST_CHECK;

/* ---- operator scopes ---- */

/* A scope the operator defined (tesserad scope add) for the APIs behind the
 * gateway. */
struct tsr_scope_row {
    char name[TSR_SCOPE_NAME_MAX + 1];
    char description[TSR_DESC_MAX_BYTES + 1];
    int64_t created;
};

/* Inserts an operator scope. TSR_ERR_EXISTS when one has that name. */
enum tsr_err tsr_store_scope_insert(struct tsr_store *store,
                                    const struct tsr_scope_row *scope) TSR_MUST_CHECK;

/* Removes the operator scope name, unless a token that is neither revoked
 * nor expired at now, of a live user, lists it by name: then TSR_ERR_IN_USE
 * and *in_use (may be NULL) is how many do. The check and the removal are
 * one transaction. TSR_ERR_NOT_FOUND when there is no such scope. */
enum tsr_err tsr_store_scope_remove(struct tsr_store *store, const char *name, int64_t now,
                                    int64_t *in_use) TSR_MUST_CHECK;

/* Calls each(scope, ctx) for every operator scope, by name (byte order);
 * stops early and returns what each returned when that is not TSR_OK. */
enum tsr_err tsr_store_scope_each(struct tsr_store *store,
                                  enum tsr_err (*each)(const struct tsr_scope_row *, void *),
                                  void *ctx) TSR_MUST_CHECK;

/* A number that grows with every insert and removal of an operator scope,
 * by any process: a reader that kept the list can tell cheaply whether to
 * read it again. */
enum tsr_err tsr_store_scope_version(struct tsr_store *store, int64_t *out) TSR_MUST_CHECK;

/* ---- audit ---- */

/* Appends n audit records in one transaction. */
enum tsr_err tsr_store_audit_append(struct tsr_store *store, const struct tsr_audit_row *rows,
                                    size_t n) TSR_MUST_CHECK;

/* Calls each(row, ctx) for the audit records of user_id (all users when NULL),
 * newest first, at most limit of them after skipping offset. */
enum tsr_err tsr_store_audit_each(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_row *, void *),
                                  void *ctx) TSR_MUST_CHECK;

/* An audit record as its owner reads it: the row and the name of its token
 * (has_token_name false when the record names no token, or the token is
 * gone from the database). */
struct tsr_audit_entry {
    struct tsr_audit_row row;
    bool has_token_name;
    char token_name[TSR_NAME_MAX_BYTES + 1];
};

/* Calls each(entry, ctx) for user_id's audit records, newest first, at most
 * limit of them after skipping offset; *total (when not NULL) is the number
 * of user_id's records. Total and page come from one read transaction, so
 * they agree. Stops early and returns what each returned when that is not
 * TSR_OK. */
enum tsr_err tsr_store_audit_list(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                                  void *ctx, int64_t *total) TSR_MUST_CHECK;

/* ---- events for subscribers: webhooks and e-mail ---- */

/* An event, with the token as it was when the event was raised. */
struct tsr_event_row {
    char id[TSR_UUID_LEN + 1];
    char type[TSR_EVENT_TYPE_MAX + 1];
    int64_t at;
    char user_id[TSR_UUID_LEN + 1];
    char token_id[TSR_UUID_LEN + 1];
    char name[TSR_NAME_MAX_BYTES + 1];
    char key_hint[TSR_KEY_HINT_LEN + 1];
    int64_t expires_at;
    char scopes[TSR_SCOPES_TEXT_MAX + 1];
    int64_t notice_before; /* token.expiring: the window that raised it, in seconds; else 0 */
};

/* A webhook the operator set (tesserad webhook add). */
struct tsr_webhook_row {
    char id[TSR_UUID_LEN + 1];
    char url[TSR_HOOK_URL_MAX + 1];
    char key[TSR_HOOK_KEY_MAX + 1];       /* signs each body (HMAC-SHA256) */
    char events[TSR_HOOK_EVENTS_MAX + 1]; /* event types, one space apart; "" for every one */
    int64_t created;
};

/* Inserts a webhook. TSR_ERR_EXISTS when a webhook has that id or url. */
enum tsr_err tsr_store_webhook_insert(struct tsr_store *store,
                                      const struct tsr_webhook_row *hook) TSR_MUST_CHECK;

/* Removes webhook id; its deliveries still pending become dropped (at now),
 * in the same transaction. TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_store_webhook_remove(struct tsr_store *store, const char *id,
                                      int64_t now) TSR_MUST_CHECK;

/* Calls each(hook, ctx) for every webhook, oldest first; stops early and
 * returns what each returned when that is not TSR_OK. */
enum tsr_err tsr_store_webhook_each(struct tsr_store *store,
                                    enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                                    void *ctx) TSR_MUST_CHECK;

enum tsr_channel {
    TSR_CHANNEL_WEBHOOK = 1,
    TSR_CHANNEL_EMAIL = 2,
};

enum tsr_delivery_state {
    TSR_DELIVERY_PENDING = 1, /* to be tried (again) at next_at */
    TSR_DELIVERY_DONE = 2,    /* delivered */
    TSR_DELIVERY_FAILED = 3,  /* given up on */
    TSR_DELIVERY_DROPPED = 4, /* its webhook was removed first */
};

/* One event for one subscriber. */
struct tsr_delivery_row {
    int64_t id;
    enum tsr_channel channel;
    enum tsr_delivery_state state;
    struct tsr_event_row event;
    /* TSR_CHANNEL_WEBHOOK: the webhook ("" and empty once it is removed). */
    char webhook_id[TSR_UUID_LEN + 1];
    char url[TSR_HOOK_URL_MAX + 1];
    char key[TSR_HOOK_KEY_MAX + 1];
    /* TSR_CHANNEL_EMAIL: the address of the token's owner ("" when the
     * user is gone). */
    char email[TSR_EMAIL_MAX + 1];
    int64_t created;
    int64_t attempts;
    int64_t next_at;     /* pending: when it is due */
    int64_t finished_at; /* done, failed, dropped: when; else 0 */
    int64_t last_status; /* the receiver's HTTP status or SMTP reply code; 0: none */
    char last_error[TSR_DELIVERY_ERROR_MAX + 1]; /* "" when none */
};

/* Claims at most max due deliveries of the channels in the mask channels
 * (TSR_CHANNEL_* or-ed): pending ones with next_at <= now that no claim
 * holds after now, oldest first. Each is claimed until claimed_until and
 * copied to out[0..*n). Several processes may claim at once (PostgreSQL:
 * FOR UPDATE SKIP LOCKED): none gets a delivery another holds. */
enum tsr_err tsr_store_delivery_claim(struct tsr_store *store, unsigned channels, int64_t now,
                                      int64_t claimed_until, size_t max,
                                      struct tsr_delivery_row *out, size_t *n) TSR_MUST_CHECK;

/* Records an attempt at delivery id: attempts grows by one, last_status
 * and last_error (NULL: "") are written, the claim ends; state becomes
 * `state`: TSR_DELIVERY_PENDING again at next_at, or DONE or FAILED
 * (finished_at = now). TSR_ERR_NOT_FOUND when it is not pending (its
 * webhook was removed meanwhile). */
enum tsr_err tsr_store_delivery_finish(struct tsr_store *store, int64_t id,
                                       enum tsr_delivery_state state, int64_t next_at,
                                       int64_t status, const char *error,
                                       int64_t now) TSR_MUST_CHECK;

/* Calls each(delivery, ctx) for the deliveries of webhook_id (NULL: of
 * every channel and webhook) in state (0: any), newest first, at most
 * limit; stops early and returns what each returned when that is not
 * TSR_OK. A delivery's key is left empty. */
enum tsr_err tsr_store_delivery_each(struct tsr_store *store, const char *webhook_id,
                                     enum tsr_delivery_state state, int64_t limit,
                                     enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                     void *ctx) TSR_MUST_CHECK;

/* Raises the expiry notices that are due at now, each once, in one
 * transaction, with their deliveries as a change's event has them
 * (mail_owner for all). Of personal tokens that are not revoked, of live
 * users:
 * - token.expiring, notice_before = before[i], for those with expires_at
 *   in (now + before[i - 1], now + before[i]] (before[-1] is 0) that were
 *   made before expires_at - before[i] (no notice of a window a token was
 *   born in), once per token, window and expires_at: a new expiry arms
 *   its notices again. before[0..n) is ascending and positive.
 * - token.expired for those with expires_at in (expired_since, now], once
 *   per token and expires_at.
 * *raised (may be NULL) counts the events. */
enum tsr_err tsr_store_expiry_notices(struct tsr_store *store, int64_t now, const int64_t *before,
                                      size_t n, int64_t expired_since, bool mail_owner,
                                      int64_t *raised) TSR_MUST_CHECK;

/* ---- changes made elsewhere ---- */

/* Whether other processes on other machines write this store too (several
 * nodes on one PostgreSQL): an in-memory index may then lack a token created
 * a moment ago elsewhere, and may ask the store about it. False for SQLite,
 * whose other writers (the operator's commands) the periodic change check
 * finds within a second. Cannot fail. */
bool tsr_store_shared(struct tsr_store *store);

/* Waits at most timeout_ms for the engine to hear that tokens changed
 * (PostgreSQL: a NOTIFY, sent in the transaction of every change of
 * change_seq). TSR_OK when it heard of a change, or may have missed one (its
 * listening connection was opened or opened again): read the changes now.
 * TSR_ERR_TIMEOUT when the time ran out without news, or the database
 * cannot be reached. An engine that hears nothing (SQLite) only waits and
 * returns TSR_ERR_TIMEOUT: its callers poll tsr_store_change_seq. For one
 * caller at a time, the thread that keeps an index in step: a notification
 * goes to the first call that waits after it came. */
enum tsr_err tsr_store_wait_change(struct tsr_store *store, int timeout_ms) TSR_MUST_CHECK;

#endif
