/* store_sqlite.c - the SQLite engine: one writer and a few readers over one WAL database */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/uuid.h"
#include "store/commit.h"
#include "store/store_engine.h"

/* Writes go through one connection, serialised by its mutex, because SQLite
 * lets only one writer in at a time anyway. Reads take one of a few more
 * connections so that a long list does not hold up a write: in WAL mode a
 * reader sees the last committed state and never blocks the writer. */
#define SQLITE_READERS  4
#define BUSY_TIMEOUT_MS 5000

/* token_uses is folded into tokens when it holds this many rows, or this
 * long after the last fold, whichever comes first. It holds a row for each
 * token used since the last fold, so the tokens a fleet of gateways keeps
 * using stay in it: each fold rewrites a page of tokens for each of them. */
#define USES_FOLD_ROWS    50000
#define USES_FOLD_SECONDS 600

/* A string argument with no bound of its own beyond SQLite's int lengths. */
#define NO_CAP ((size_t)INT_MAX)

/* ---- SQL ---- */

/* Numbered migrations: entry i is schema version i + 1. Applied in order at
 * open, one transaction each; never edit one that has shipped, add another. */
static const char *const migrations[] = {
    /* 1: users, tokens, audit */
    "CREATE TABLE users("
    " id TEXT PRIMARY KEY,"
    " email TEXT NOT NULL,"
    " password_hash TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " removed_at INTEGER);"
    "CREATE UNIQUE INDEX users_live_email ON users(lower(email)) WHERE removed_at IS NULL;"
    "CREATE TABLE tokens("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users(id),"
    " kind TEXT NOT NULL CHECK(kind IN('personal','session')),"
    " name TEXT NOT NULL,"
    " description TEXT NOT NULL,"
    " secret_hash BLOB NOT NULL UNIQUE,"
    " key_hint TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " last_used_at INTEGER,"
    " last_used_addr TEXT,"
    " revoked_at INTEGER,"
    " change_seq INTEGER NOT NULL UNIQUE);" /* UNIQUE gives change_seq its index */
    "CREATE INDEX tokens_user ON tokens(user_id, kind, revoked_at);"
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " user_id TEXT,"
    " token_id TEXT,"
    " action TEXT NOT NULL,"
    " remote_addr TEXT,"
    " outcome TEXT NOT NULL,"
    " count INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX audit_user ON audit(user_id, id);",
    /* 2: last-used times kept apart from the tokens. Gateways use thousands
     * of tokens at once; a batch of their times rewrites a few pages of this
     * small table instead of one page of the large one for each token, and
     * is folded into tokens now and then (fold_uses). */
    "CREATE TABLE token_uses("
    " token_id TEXT PRIMARY KEY,"
    " last_used_at INTEGER NOT NULL,"
    " last_used_addr TEXT) WITHOUT ROWID;",
    /* 3: what a token may do, from where and from when; the operator's
     * scopes. The tokens made before scopes existed could do everything, so
     * they become global. ADD COLUMN with a constant default rewrites no
     * row: a million tokens migrate at once. scope_version grows with every
     * change of scopes, so that a running server can tell cheaply that
     * another process (tesserad scope add) changed them. */
    "ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'global';"
    "ALTER TABLE tokens ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tokens ADD COLUMN not_before INTEGER;"
    "CREATE TABLE scopes("
    " name TEXT PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE scope_version("
    " one INTEGER PRIMARY KEY CHECK(one = 1),"
    " version INTEGER NOT NULL);"
    "INSERT INTO scope_version(one, version) VALUES(1, 0);",
    /* 4: each user's number, which Azion's clients read as user_id and
     * client_id. The users there are numbered in the order they came; a
     * new one takes the next number above every number ever given, and
     * users are never deleted (only marked removed), so none is reused. */
    "ALTER TABLE users ADD COLUMN number INTEGER;"
    "UPDATE users SET number = (SELECT count(*) FROM users o"
    " WHERE o.created < users.created OR (o.created = users.created AND o.id <= users.id));"
    "CREATE UNIQUE INDEX users_number ON users(number);",
    /* 5: the secret a token had before its last rotation, and until when
     * it is good; found by its hash as the secret is, while few tokens
     * have one (a partial index). */
    "ALTER TABLE tokens ADD COLUMN prev_secret_hash BLOB;"
    "ALTER TABLE tokens ADD COLUMN prev_until INTEGER;"
    "CREATE INDEX tokens_prev ON tokens(prev_secret_hash) WHERE prev_secret_hash IS NOT NULL;",
    /* 6: events for subscribers. An event keeps the token as it was when
     * raised, so that its deliveries say the same however long they take
     * and whatever becomes of the token; a delivery is one event for one
     * webhook or one owner's mailbox, kept once sent for the operator to
     * read. webhook_id outlives its webhook, for that reading. An expiry
     * notice records that a window's notice was raised for a token and
     * expiry, so that it is raised once; tokens_expiring finds the tokens
     * a window holds without reading every token. */
    "CREATE TABLE webhooks("
    " id TEXT PRIMARY KEY,"
    " url TEXT NOT NULL UNIQUE,"
    " key TEXT NOT NULL,"
    " events TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL);"
    "CREATE TABLE events("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " user_id TEXT NOT NULL,"
    " token_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " key_hint TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " scopes TEXT NOT NULL,"
    " notice_before INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX events_at ON events(at);"
    "CREATE TABLE deliveries("
    " id INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,"
    " channel INTEGER NOT NULL CHECK(channel IN (1, 2)),"
    " webhook_id TEXT,"
    " state INTEGER NOT NULL CHECK(state IN (1, 2, 3, 4)),"
    " created INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL,"
    " claimed_until INTEGER,"
    " finished_at INTEGER,"
    " last_status INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX deliveries_event ON deliveries(event_id);"
    "CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id);"
    "CREATE INDEX deliveries_due ON deliveries(next_at) WHERE state = 1;"
    "CREATE TABLE expiry_notices("
    " token_id TEXT NOT NULL,"
    " before_s INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY(token_id, before_s, expires_at)) WITHOUT ROWID;"
    "CREATE INDEX tokens_expiring ON tokens(expires_at)"
    " WHERE kind = 'personal' AND revoked_at IS NULL;",
};

#define MIGRATION_COUNT ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

/* Every write of a token takes the next change_seq. Writes run inside
 * BEGIN IMMEDIATE, so no one else can take the same number, and max() reads
 * one entry of the change_seq index. */
#define NEXT_SEQ "(SELECT coalesce(max(change_seq), 0) + 1 FROM tokens)"

/* A token's last use: the later of its folded time and its time in
 * token_uses (NULL when never used). */
#define LAST_USED                                                                                  \
    "nullif(max(coalesce(t.last_used_at, 0), coalesce((SELECT tu.last_used_at"                     \
    " FROM token_uses tu WHERE tu.token_id = t.id), 0)), 0)"

/* The client of a token's last use: the address that goes with the later
 * of the two times LAST_USED compares (the folded one on a tie, as the fold
 * keeps it). */
#define LAST_USED_IP                                                                               \
    "CASE WHEN coalesce((SELECT tu.last_used_at FROM token_uses tu WHERE tu.token_id = t.id), 0)"  \
    " > coalesce(t.last_used_at, 0) THEN (SELECT tu.last_used_addr FROM token_uses tu"             \
    " WHERE tu.token_id = t.id) ELSE t.last_used_addr END"

/* The columns read_token expects, in its order. */
#define TOKEN_COLS                                                                                 \
    "t.id, t.user_id, t.kind, t.name, t.description, t.secret_hash, t.key_hint, t.created, "       \
    "t.expires_at, " LAST_USED " AS last_used, t.revoked_at, t.change_seq, t.scopes, "             \
    "t.allowed_ips, t.not_before, " LAST_USED_IP ", t.prev_secret_hash, t.prev_until"

/* What the start-up read of every token needs, in TOKEN_COLS' places: the
 * folded last-used time, and no name, description, hint, creation time or
 * last address, which the index does not keep. Each column read costs at
 * a million tokens; these four paid for the three that scopes brought. */
#define TOKEN_COLS_FOLDED                                                                          \
    "t.id, t.user_id, t.kind, '', '', t.secret_hash, '', 0, t.expires_at, t.last_used_at, "        \
    "t.revoked_at, t.change_seq, t.scopes, t.allowed_ips, t.not_before, NULL, "                    \
    "t.prev_secret_hash, t.prev_until"

#define USER_COLS "id, email, password_hash, created, number"

/* The personal tokens of ?1 that are not revoked and that match the search
 * ?2 (NULL for all). instr() rather than LIKE, so that % and _ are literal;
 * SQLite's lower() folds ASCII letters only, as the API promises. */
#define LIST_WHERE                                                                                 \
    " FROM tokens t WHERE t.user_id = ?1 AND t.kind = 'personal' AND t.revoked_at IS NULL"         \
    " AND (?2 IS NULL OR instr(lower(t.name), lower(?2)) > 0"                                      \
    " OR instr(lower(t.description), lower(?2)) > 0)"                                              \
    " AND (?5 IS NULL OR t.expires_at > ?5) AND (?6 IS NULL OR t.expires_at <= ?6)"

#define LIST_SQL(order) "SELECT " TOKEN_COLS LIST_WHERE " ORDER BY " order " LIMIT ?3 OFFSET ?4"

/* The columns read_delivery expects, in its order, with the webhook's key
 * as `key` has it. The owner's address is the live one, for e-mail only. */
#define DELIVERY_COLS(key)                                                                         \
    "d.id, d.channel, d.state, e.id, e.type, e.at, e.user_id, e.token_id, e.name, e.key_hint, "    \
    "e.expires_at, e.scopes, e.notice_before, d.webhook_id, h.url, " key ", u.email, d.created, "  \
    "d.attempts, d.next_at, d.finished_at, d.last_status, d.last_error"

#define DELIVERY_JOINS                                                                             \
    " JOIN events e ON e.id = d.event_id LEFT JOIN webhooks h ON h.id = d.webhook_id"              \
    " LEFT JOIN users u ON d.channel = " TSR__SQL_EMAIL " AND u.id = e.user_id"                    \
    " AND u.removed_at IS NULL"

/* The deliveries due at ?1 of the channels in the mask ?2. */
#define DELIVERY_DUE                                                                               \
    " d.state = " TSR__SQL_PENDING " AND d.next_at <= ?1 AND coalesce(d.claimed_until, 0) <= ?1"   \
    " AND (d.channel & ?2) != 0"

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PING,
    ST_USER_INSERT,
    ST_USER_BY_EMAIL,
    ST_USER_BY_ID,
    ST_USER_EACH,
    ST_USER_COUNT,
    ST_USER_SET_PASSWORD,
    ST_USER_REMOVE,
    ST_USER_LIVE,
    ST_REVOKE_NEXT_OF_USER,
    ST_TOKEN_COUNT_KEPT,
    ST_TOKEN_INSERT,
    ST_TOKEN_BY_HASH,
    ST_TOKEN_BY_HASH_ANY,
    ST_TOKEN_BY_ID,
    ST_TOKEN_GET,
    ST_TOKEN_LIST_COUNT,
    /* The eight orderings, in the order of enum tsr_token_order, ascending
     * then descending; list_stmt relies on this layout. */
    ST_TOKEN_LIST_CREATED,
    ST_TOKEN_LIST_CREATED_DESC,
    ST_TOKEN_LIST_NAME,
    ST_TOKEN_LIST_NAME_DESC,
    ST_TOKEN_LIST_EXPIRES,
    ST_TOKEN_LIST_EXPIRES_DESC,
    ST_TOKEN_LIST_USED,
    ST_TOKEN_LIST_USED_DESC,
    ST_TOKEN_UPDATE,
    ST_TOKEN_REVOKE,
    ST_TOKEN_EACH_LIVE,
    ST_TOKEN_CHANGES,
    ST_MAX_SEQ,
    ST_TOKEN_TOUCH,
    ST_USES_FOLD,
    ST_USES_CLEAR,
    ST_USES_COUNT,
    ST_AUDIT_INSERT,
    ST_AUDIT_EACH,
    ST_AUDIT_EACH_USER,
    ST_AUDIT_COUNT_USER,
    ST_AUDIT_LIST_USER,
    ST_PURGE_TOKENS,
    ST_PURGE_AUDIT,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_SCOPE_INSERT,
    ST_SCOPE_DELETE,
    ST_SCOPE_EXISTS,
    ST_SCOPE_IN_USE,
    ST_SCOPE_EACH,
    ST_SCOPE_VERSION,
    ST_SCOPE_BUMP,
    ST_WEBHOOK_INSERT,
    ST_WEBHOOK_DELETE,
    ST_WEBHOOK_DROP,
    ST_WEBHOOK_EACH,
    ST_EVENT_INSERT,
    ST_DELIVERY_ADD_HOOKS,
    ST_DELIVERY_ADD_MAIL,
    ST_DELIVERY_DUE,
    ST_DELIVERY_CLAIM,
    ST_DELIVERY_FINISH,
    ST_DELIVERY_EACH,
    ST_NOTICE_RECORD,
    ST_PURGE_EVENTS,
    ST_PURGE_NOTICES,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PING] = "SELECT count(*) FROM schema_migrations",
    [ST_USER_INSERT] = "INSERT INTO users(id, email, password_hash, created, number)"
                       " VALUES(?1, ?2, ?3, ?4, (SELECT coalesce(max(number), 0) + 1 FROM users))",
    [ST_USER_BY_EMAIL] = "SELECT " USER_COLS " FROM users"
                         " WHERE lower(email) = lower(?1) AND removed_at IS NULL",
    [ST_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1 AND removed_at IS NULL",
    [ST_USER_EACH] =
        "SELECT " USER_COLS " FROM users WHERE removed_at IS NULL ORDER BY created, id",
    [ST_USER_COUNT] = "SELECT count(*) FROM users WHERE removed_at IS NULL",
    [ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2"
                             " WHERE id = ?1 AND removed_at IS NULL",
    [ST_USER_REMOVE] = "UPDATE users SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
    [ST_USER_LIVE] = "SELECT 1 FROM users WHERE id = ?1 AND removed_at IS NULL",
    /* One token at a time, because each needs its own change_seq and a
     * scalar subquery in a many-row UPDATE is evaluated only once. ?3 is a
     * kind, or NULL for every kind. */
    [ST_REVOKE_NEXT_OF_USER] = "UPDATE tokens SET revoked_at = ?2, change_seq = " NEXT_SEQ
                               " WHERE id = (SELECT id FROM tokens WHERE user_id = ?1"
                               " AND revoked_at IS NULL AND (?3 IS NULL OR kind = ?3) LIMIT 1)",
    [ST_TOKEN_COUNT_KEPT] = "SELECT count(*) FROM tokens WHERE user_id = ?1 AND kind = 'personal'"
                            " AND revoked_at IS NULL",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens(id, user_id, kind, name, description, secret_hash,"
                        " key_hint, created, expires_at, last_used_at, revoked_at, scopes,"
                        " allowed_ips, not_before, last_used_addr, change_seq)"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                        " ?15, " NEXT_SEQ ")",
    [ST_TOKEN_BY_HASH] =
        "SELECT " TOKEN_COLS " FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE (t.secret_hash = ?1 OR t.prev_secret_hash = ?1) AND t.revoked_at IS NULL"
        " AND u.removed_at IS NULL",
    [ST_TOKEN_BY_HASH_ANY] = "SELECT " TOKEN_COLS " FROM tokens t"
                             " WHERE t.secret_hash = ?1 OR t.prev_secret_hash = ?1",
    [ST_TOKEN_BY_ID] = "SELECT " TOKEN_COLS " FROM tokens t WHERE t.id = ?1",
    [ST_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens t WHERE t.id = ?2 AND t.user_id = ?1"
                     " AND t.kind = 'personal' AND t.revoked_at IS NULL",
    [ST_TOKEN_LIST_COUNT] = "SELECT count(*)" LIST_WHERE,
    /* Names sort without regard to ASCII case, as people expect of a list
     * they read; never-used tokens go last in both directions. */
    [ST_TOKEN_LIST_CREATED] = LIST_SQL("t.created, t.id"),
    [ST_TOKEN_LIST_CREATED_DESC] = LIST_SQL("t.created DESC, t.id DESC"),
    [ST_TOKEN_LIST_NAME] = LIST_SQL("t.name COLLATE NOCASE, t.id"),
    [ST_TOKEN_LIST_NAME_DESC] = LIST_SQL("t.name COLLATE NOCASE DESC, t.id DESC"),
    [ST_TOKEN_LIST_EXPIRES] = LIST_SQL("t.expires_at, t.id"),
    [ST_TOKEN_LIST_EXPIRES_DESC] = LIST_SQL("t.expires_at DESC, t.id DESC"),
    [ST_TOKEN_LIST_USED] = LIST_SQL("last_used NULLS LAST, t.id"),
    [ST_TOKEN_LIST_USED_DESC] = LIST_SQL("last_used DESC NULLS LAST, t.id DESC"),
    /* A NULL value leaves its column as it is; not_before, which NULL
     * clears, is written when ?9 is 1. A new secret ?10 moves the one it
     * replaces to prev_secret_hash (SET reads the row as it was). */
    [ST_TOKEN_UPDATE] =
        "UPDATE tokens SET name = coalesce(?2, name),"
        " description = coalesce(?3, description),"
        " expires_at = coalesce(?4, expires_at),"
        " scopes = coalesce(?6, scopes), allowed_ips = coalesce(?7, allowed_ips),"
        " not_before = CASE WHEN ?9 = 1 THEN ?8 ELSE not_before END,"
        " prev_secret_hash = CASE WHEN ?10 IS NULL THEN prev_secret_hash"
        " ELSE secret_hash END,"
        " prev_until = CASE WHEN ?10 IS NULL THEN prev_until ELSE ?11 END,"
        " secret_hash = coalesce(?10, secret_hash), key_hint = coalesce(?12, key_hint),"
        " change_seq = " NEXT_SEQ " WHERE id = ?1 AND user_id = ?5"
        " AND kind = 'personal' AND revoked_at IS NULL",
    [ST_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?4, change_seq = " NEXT_SEQ
                        " WHERE id = ?2 AND user_id = ?1 AND kind = ?3 AND revoked_at IS NULL",
    [ST_TOKEN_EACH_LIVE] =
        "SELECT " TOKEN_COLS_FOLDED " FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.revoked_at IS NULL AND t.expires_at > ?1"
        " AND u.removed_at IS NULL",
    [ST_TOKEN_CHANGES] = "SELECT " TOKEN_COLS " FROM tokens t WHERE t.change_seq > ?1"
                         " ORDER BY t.change_seq",
    [ST_MAX_SEQ] = "SELECT coalesce(max(change_seq), 0) FROM tokens",
    /* Ids that are gone leave rows that no token reads; the fold drops them. */
    [ST_TOKEN_TOUCH] = "INSERT INTO token_uses(token_id, last_used_at, last_used_addr)"
                       " VALUES(?1, ?2, ?3) ON CONFLICT(token_id) DO UPDATE"
                       " SET last_used_at = excluded.last_used_at,"
                       " last_used_addr = excluded.last_used_addr"
                       " WHERE excluded.last_used_at > token_uses.last_used_at",
    [ST_USES_FOLD] = "UPDATE tokens SET last_used_at = tu.last_used_at,"
                     " last_used_addr = tu.last_used_addr FROM token_uses tu"
                     " WHERE tu.token_id = tokens.id"
                     " AND (tokens.last_used_at IS NULL OR tokens.last_used_at < tu.last_used_at)",
    [ST_USES_CLEAR] = "DELETE FROM token_uses",
    [ST_USES_COUNT] = "SELECT count(*) FROM token_uses",
    [ST_AUDIT_INSERT] = "INSERT INTO audit(at, user_id, token_id, action, remote_addr, outcome,"
                        " count) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_AUDIT_EACH] = "SELECT at, user_id, token_id, action, remote_addr, outcome, count"
                      " FROM audit ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    [ST_AUDIT_EACH_USER] = "SELECT at, user_id, token_id, action, remote_addr, outcome, count"
                           " FROM audit WHERE user_id = ?3 ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    [ST_AUDIT_COUNT_USER] = "SELECT count(*) FROM audit WHERE user_id = ?1",
    [ST_AUDIT_LIST_USER] = "SELECT a.at, a.user_id, a.token_id, a.action, a.remote_addr,"
                           " a.outcome, a.count, t.name FROM audit a"
                           " LEFT JOIN tokens t ON t.id = a.token_id"
                           " WHERE a.user_id = ?1 ORDER BY a.id DESC LIMIT ?2 OFFSET ?3",
    /* The row with the highest change_seq stays, whatever its age: the next
     * change must get a higher number than any a node has seen. */
    [ST_PURGE_TOKENS] = "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens"
                        " WHERE (revoked_at < ?1 OR expires_at < ?1)"
                        " AND change_seq < (SELECT max(change_seq) FROM tokens) LIMIT ?2)",
    [ST_SAVEPOINT] = "SAVEPOINT job",
    [ST_RELEASE] = "RELEASE job",
    [ST_ROLLBACK_TO] = "ROLLBACK TO job",
    [ST_PURGE_AUDIT] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1"
                       " ORDER BY id LIMIT ?2)",
    [ST_SCOPE_INSERT] = "INSERT INTO scopes(name, description, created) VALUES(?1, ?2, ?3)",
    [ST_SCOPE_DELETE] = "DELETE FROM scopes WHERE name = ?1",
    [ST_SCOPE_EXISTS] = "SELECT 1 FROM scopes WHERE name = ?1",
    /* A name is matched whole within the space-separated list, with instr()
     * rather than LIKE: names hold '_', which LIKE takes for a wildcard. */
    [ST_SCOPE_IN_USE] = "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id"
                        " WHERE t.revoked_at IS NULL AND t.expires_at > ?2"
                        " AND u.removed_at IS NULL"
                        " AND instr(' ' || t.scopes || ' ', ' ' || ?1 || ' ') > 0",
    [ST_SCOPE_EACH] = "SELECT name, description, created FROM scopes ORDER BY name",
    [ST_SCOPE_VERSION] = "SELECT version FROM scope_version",
    [ST_SCOPE_BUMP] = "UPDATE scope_version SET version = version + 1",
    [ST_WEBHOOK_INSERT] = "INSERT INTO webhooks(id, url, key, events, created)"
                          " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_WEBHOOK_DELETE] = "DELETE FROM webhooks WHERE id = ?1",
    [ST_WEBHOOK_DROP] = "UPDATE deliveries SET state = " TSR__SQL_DROPPED ", finished_at = ?2,"
                        " claimed_until = NULL WHERE webhook_id = ?1"
                        " AND state = " TSR__SQL_PENDING,
    [ST_WEBHOOK_EACH] = "SELECT id, url, key, events, created FROM webhooks ORDER BY created, id",
    /* ?1 the event's id, ?2 when, ?3 its type, ?4 the token, ?5 the window
     * of a notice: each statement of an event takes the first of these it
     * needs (bind_event). */
    [ST_EVENT_INSERT] = "INSERT INTO events(id, type, at, user_id, token_id, name, key_hint,"
                        " expires_at, scopes, notice_before) SELECT ?1, ?3, ?2, t.user_id, t.id,"
                        " t.name, t.key_hint, t.expires_at, t.scopes, ?5 FROM tokens t"
                        " WHERE t.id = ?4",
    /* A type is matched whole within the space-separated list, with
     * instr() rather than LIKE, for which '_' is a wildcard. */
    [ST_DELIVERY_ADD_HOOKS] =
        "INSERT INTO deliveries(event_id, channel, webhook_id, state, created, next_at)"
        " SELECT ?1, " TSR__SQL_WEBHOOK ", h.id, " TSR__SQL_PENDING ", ?2, ?2 FROM webhooks h"
        " WHERE h.events = '' OR instr(' ' || h.events || ' ', ' ' || ?3 || ' ') > 0"
        " ORDER BY h.created, h.id",
    [ST_DELIVERY_ADD_MAIL] =
        "INSERT INTO deliveries(event_id, channel, webhook_id, state, created, next_at)"
        " VALUES(?1, " TSR__SQL_EMAIL ", NULL, " TSR__SQL_PENDING ", ?2, ?2)",
    [ST_DELIVERY_DUE] =
        "SELECT " DELIVERY_COLS("h.key") " FROM deliveries d" DELIVERY_JOINS " WHERE" DELIVERY_DUE
                                         " ORDER BY d.id LIMIT ?3",
    /* The rows ST_DELIVERY_DUE read, in the same write transaction: all
     * that are due up to the last it gave. */
    [ST_DELIVERY_CLAIM] =
        "UPDATE deliveries AS d SET claimed_until = ?3 WHERE" DELIVERY_DUE " AND d.id <= ?4",
    [ST_DELIVERY_FINISH] =
        "UPDATE deliveries SET attempts = attempts + 1, last_status = ?3, last_error = ?4,"
        " claimed_until = NULL, state = ?2,"
        " next_at = CASE WHEN ?2 = " TSR__SQL_PENDING " THEN ?5 ELSE next_at END,"
        " finished_at = CASE WHEN ?2 = " TSR__SQL_PENDING " THEN NULL ELSE ?6 END"
        " WHERE id = ?1 AND state = " TSR__SQL_PENDING,
    [ST_DELIVERY_EACH] = "SELECT " DELIVERY_COLS(
        "''") " FROM deliveries d" DELIVERY_JOINS
              " WHERE (?1 IS NULL OR d.webhook_id = ?1) AND (?2 = 0 OR d.state = ?2)"
              " ORDER BY d.id DESC LIMIT ?3",
    /* Records the notices of window ?4 (seconds before expiry; 0 for the
     * expiry itself) due at ?1 for the tokens that expire in (?2, ?3] and
     * were made before the window opened, and gives the tokens of those
     * that are new. */
    [ST_NOTICE_RECORD] =
        "INSERT INTO expiry_notices(token_id, before_s, expires_at, at)"
        " SELECT t.id, ?4, t.expires_at, ?1 FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.kind = 'personal' AND t.revoked_at IS NULL AND u.removed_at IS NULL"
        " AND t.expires_at > ?2 AND t.expires_at <= ?3 AND t.created < t.expires_at - ?4"
        " ORDER BY t.id ON CONFLICT DO NOTHING RETURNING token_id",
    /* An event goes with its deliveries (ON DELETE CASCADE), once none is
     * left to send. */
    [ST_PURGE_EVENTS] = "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.at < ?1"
                        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id"
                        " AND d.state = " TSR__SQL_PENDING ") ORDER BY e.at LIMIT ?2)",
    /* Whatever the time ?1: a notice of a token that is gone says nothing. */
    [ST_PURGE_NOTICES] =
        "DELETE FROM expiry_notices WHERE (token_id, before_s, expires_at) IN"
        " (SELECT n.token_id, n.before_s, n.expires_at FROM expiry_notices n"
        " WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = n.token_id) LIMIT ?2)",
};

/* ---- connections ---- */

/* One SQLite connection and its prepared statements, used by one thread at
 * a time: the holder of lock. */
struct conn {
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    atomic_uint_fast64_t *statements; /* the store's count of statements run */
};

struct sqlite_store {
    struct tsr_store base; /* first, so that a struct tsr_store * is one of these */
    char *path;
    struct conn writer;
    struct conn readers[SQLITE_READERS];
    atomic_uint next_reader;
    atomic_uint_fast64_t statements;
    /* Rows of token_uses when last counted, plus the rows written since (an
     * upper bound on its size), and when it was last folded into tokens
     * (monotonic seconds); both under the writer's lock. */
    int64_t uses_unfolded;
    int64_t folded_at;
};

static struct sqlite_store *from_base(struct tsr_store *store)
{
    return (struct sqlite_store *)store;
}

/* Maps an SQLite result code to ours. */
static enum tsr_err map_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return TSR_OK;
    case SQLITE_FULL:
        return TSR_ERR_FULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return TSR_ERR_BUSY;
    case SQLITE_NOMEM:
        return TSR_ERR_NOMEM;
    default:
        return TSR_ERR_STORE;
    }
}

static bool is_unique_violation(int src)
{
    return src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* Gives the cached statement id of c, preparing it on first use. */
static enum tsr_err stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **out)
{
    int src = SQLITE_OK;

    if (c->stmt[id] == NULL)
        src = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id],
                                 NULL);
    *out = c->stmt[id];
    return map_rc(src);
}

/* Makes a statement ready for its next use and ends its read of the
 * database; NULL is a no-op. */
static void stmt_done(sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps st once: TSR_OK with *row true when a row came, false when done. */
static enum tsr_err stmt_step(sqlite3_stmt *st, bool *row)
{
    int src = sqlite3_step(st);

    *row = src == SQLITE_ROW;
    return map_rc(src);
}

/* Runs a cached statement that takes no values and returns no rows. */
static enum tsr_err exec_cached(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *st = NULL;
    bool row = false;
    enum tsr_err rc = stmt_get(c, id, &st);

    if (rc == TSR_OK)
        rc = stmt_step(st, &row);
    stmt_done(st);
    return rc;
}

/* Ends the open transaction of c: commits when rc is TSR_OK, else rolls
 * back. Returns rc, or the commit's error. */
static enum tsr_err tx_end(struct conn *c, enum tsr_err rc)
{
    if (rc == TSR_OK)
        rc = exec_cached(c, ST_COMMIT);
    /* Some errors (disk full, out of memory) have rolled back already. */
    if (rc != TSR_OK && !sqlite3_get_autocommit(c->db))
        (void)exec_cached(c, ST_ROLLBACK);
    return rc;
}

/* Takes the writer and opens a write transaction on it. BEGIN IMMEDIATE
 * takes the database's write lock now, so what the transaction reads (a
 * count, max(change_seq)) cannot change before it commits. On TSR_OK the
 * caller ends with write_end. */
static enum tsr_err write_begin(struct sqlite_store *s)
{
    enum tsr_err rc;

    pthread_mutex_lock(&s->writer.lock);
    rc = exec_cached(&s->writer, ST_BEGIN_IMMEDIATE);
    if (rc != TSR_OK)
        pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/* Commits (rc TSR_OK) or rolls back, and lets the writer go. */
static enum tsr_err write_end(struct sqlite_store *s, enum tsr_err rc)
{
    rc = tx_end(&s->writer, rc);
    pthread_mutex_unlock(&s->writer.lock);
    return rc;
}

/* Takes a free reader, or waits for one when all are taken. Release with
 * reader_release. */
static struct conn *reader_take(struct sqlite_store *s)
{
    unsigned start = atomic_fetch_add_explicit(&s->next_reader, 1, memory_order_relaxed);
    struct conn *c;

    for (unsigned i = 0; i < SQLITE_READERS; i++) {
        c = &s->readers[(start + i) % SQLITE_READERS];
        if (pthread_mutex_trylock(&c->lock) == 0)
            return c;
    }
    c = &s->readers[start % SQLITE_READERS];
    pthread_mutex_lock(&c->lock);
    return c;
}

static void reader_release(struct conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* ---- values in and out ---- */

/* Each bind_* binds one value unless an earlier one failed (*src not
 * SQLITE_OK), so that a run of binds needs one check at its end. */
static void bind_str(sqlite3_stmt *st, int i, const char *s, size_t cap, int *src)
{
    if (*src != SQLITE_OK)
        return;
    if (s == NULL)
        *src = sqlite3_bind_null(st, i);
    else
        *src = sqlite3_bind_text(st, i, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

/* Binds "" as NULL: the rows use "" for "not set", the database NULL. */
static void bind_opt_str(sqlite3_stmt *st, int i, const char *s, size_t cap, int *src)
{
    bind_str(st, i, (s != NULL && s[0] != '\0') ? s : NULL, cap, src);
}

static void bind_int(sqlite3_stmt *st, int i, int64_t v, int *src)
{
    if (*src == SQLITE_OK)
        *src = sqlite3_bind_int64(st, i, v);
}

/* Binds 0 as NULL, for the times where 0 means "never". */
static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v, int *src)
{
    if (*src != SQLITE_OK)
        return;
    if (v == 0)
        *src = sqlite3_bind_null(st, i);
    else
        *src = sqlite3_bind_int64(st, i, v);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, int n, int *src)
{
    if (*src == SQLITE_OK)
        *src = sqlite3_bind_blob(st, i, p, n, SQLITE_STATIC);
}

/* Copies text column i (NULL gives "") into dst of size bytes. */
static void col_str(sqlite3_stmt *st, int i, char *dst, size_t size)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);

    tsr__copy_str(dst, size, s, n > 0 ? (size_t)n : 0);
}

static enum tsr_err bind_done(int src)
{
    return map_rc(src);
}

/* Reads a row of USER_COLS. */
static void read_user(sqlite3_stmt *st, struct tsr_user_row *out)
{
    col_str(st, 0, out->id, sizeof(out->id));
    col_str(st, 1, out->email, sizeof(out->email));
    col_str(st, 2, out->password_hash, sizeof(out->password_hash));
    out->created = sqlite3_column_int64(st, 3);
    out->number = sqlite3_column_int64(st, 4);
}

/* Reads the previous secret and its end from columns col and col + 1: none
 * when NULL; TSR_ERR_STORE for a hash of the wrong size. */
static enum tsr_err read_prev(sqlite3_stmt *st, int col, struct tsr_token_row *out)
{
    const void *prev = sqlite3_column_blob(st, col);

    out->has_prev = prev != NULL;
    out->prev_until = sqlite3_column_int64(st, col + 1);
    if (!prev)
        return TSR_OK;
    if (sqlite3_column_bytes(st, col) != TSR_HASH_LEN)
        return TSR_ERR_STORE;
    memcpy(out->prev_secret_hash, prev, TSR_HASH_LEN);
    return TSR_OK;
}

/* Reads a row of TOKEN_COLS; TSR_ERR_STORE when it is not one we wrote. A
 * NULL time reads as 0, the rows' "never". */
static enum tsr_err read_token(sqlite3_stmt *st, struct tsr_token_row *out)
{
    const char *kind = (const char *)sqlite3_column_text(st, 2);
    const void *hash = sqlite3_column_blob(st, 5);

    if (kind == NULL || hash == NULL || sqlite3_column_bytes(st, 5) != TSR_HASH_LEN)
        return TSR_ERR_STORE;
    if (tsr__kind_parse(kind, &out->kind) != TSR_OK)
        return TSR_ERR_STORE;
    memcpy(out->secret_hash, hash, TSR_HASH_LEN);
    col_str(st, 0, out->id, sizeof(out->id));
    col_str(st, 1, out->user_id, sizeof(out->user_id));
    col_str(st, 3, out->name, sizeof(out->name));
    col_str(st, 4, out->description, sizeof(out->description));
    col_str(st, 6, out->key_hint, sizeof(out->key_hint));
    out->created = sqlite3_column_int64(st, 7);
    out->expires_at = sqlite3_column_int64(st, 8);
    out->last_used_at = sqlite3_column_int64(st, 9);
    out->revoked_at = sqlite3_column_int64(st, 10);
    out->change_seq = sqlite3_column_int64(st, 11);
    col_str(st, 12, out->scopes, sizeof(out->scopes));
    col_str(st, 13, out->allowed_ips, sizeof(out->allowed_ips));
    out->not_before = sqlite3_column_int64(st, 14);
    col_str(st, 15, out->last_used_ip, sizeof(out->last_used_ip));
    return read_prev(st, 16, out);
}

/* Steps st for its single row and reads column 0 as an integer into *out;
 * TSR_ERR_NOT_FOUND when there is no row. */
static enum tsr_err query_int(sqlite3_stmt *st, int64_t *out)
{
    bool row = false;
    enum tsr_err rc = stmt_step(st, &row);

    if (rc == TSR_OK && !row)
        rc = TSR_ERR_NOT_FOUND;
    if (rc == TSR_OK)
        *out = sqlite3_column_int64(st, 0);
    return rc;
}

/* Steps a statement that writes and gives how many rows it changed. */
static enum tsr_err step_write(struct conn *c, sqlite3_stmt *st, int *changes)
{
    bool row = false;
    enum tsr_err rc = stmt_step(st, &row);

    *changes = rc == TSR_OK ? sqlite3_changes(c->db) : 0;
    return rc;
}

/* ---- readers: take a connection, bind, step, release ---- */

/* Binds the values of a read: one binder a shape of its arguments. */
static void bind_text1(sqlite3_stmt *st, const void *arg, int *src)
{
    bind_str(st, 1, arg, NO_CAP, src);
}

static void bind_hash(sqlite3_stmt *st, const void *arg, int *src)
{
    bind_blob(st, 1, arg, TSR_HASH_LEN, src);
}

static void bind_int1(sqlite3_stmt *st, const void *arg, int *src)
{
    bind_int(st, 1, *(const int64_t *)arg, src);
}

/* arg is {user_id, id}: a token of its owner. */
static void bind_owned(sqlite3_stmt *st, const void *arg, int *src)
{
    const char *const *key = arg;

    bind_str(st, 1, key[0], NO_CAP, src);
    bind_str(st, 2, key[1], NO_CAP, src);
}

/* Reads a row into what ctx points at. */
static enum tsr_err row_user(sqlite3_stmt *st, void *ctx)
{
    read_user(st, ctx);
    return TSR_OK;
}

static enum tsr_err row_token(sqlite3_stmt *st, void *ctx)
{
    return read_token(st, ctx);
}

static enum tsr_err row_int(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return TSR_OK;
}

/* A walk hands each row to its caller's each. */
struct walk {
    enum tsr_err (*user)(const struct tsr_user_row *, void *);
    enum tsr_err (*token)(const struct tsr_token_row *, void *);
    enum tsr_err (*audit)(const struct tsr_audit_row *, void *);
    enum tsr_err (*entry)(const struct tsr_audit_entry *, void *);
    enum tsr_err (*scope)(const struct tsr_scope_row *, void *);
    enum tsr_err (*webhook)(const struct tsr_webhook_row *, void *);
    enum tsr_err (*delivery)(const struct tsr_delivery_row *, void *);
    void *ctx;
    int64_t *max_seq; /* raised to the highest change_seq read; may be NULL */
};

static enum tsr_err walk_user(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_user_row u;

    read_user(st, &u);
    return w->user(&u, w->ctx);
}

static enum tsr_err walk_token(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_token_row t;
    enum tsr_err rc = read_token(st, &t);

    if (rc != TSR_OK)
        return rc;
    if (w->max_seq != NULL && t.change_seq > *w->max_seq)
        *w->max_seq = t.change_seq;
    return w->token(&t, w->ctx);
}

/* Runs statement id on c, bound by bind(st, arg, &src) (NULL: no values),
 * and hands each row to row(st, ctx) until it answers other than TSR_OK.
 * With one, only the first row, and TSR_ERR_NOT_FOUND when none came. */
static enum tsr_err query_on(struct conn *c, enum stmt_id id,
                             void (*bind)(sqlite3_stmt *, const void *, int *), const void *arg,
                             enum tsr_err (*row)(sqlite3_stmt *, void *), void *ctx, bool one)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    bool have = false;
    enum tsr_err rc = stmt_get(c, id, &st);

    if (rc == TSR_OK && bind != NULL) {
        bind(st, arg, &src);
        rc = bind_done(src);
    }
    while (rc == TSR_OK) {
        rc = stmt_step(st, &have);
        if (rc != TSR_OK || !have)
            break;
        rc = row(st, ctx);
        if (one)
            break;
    }
    if (rc == TSR_OK && one && !have)
        rc = TSR_ERR_NOT_FOUND;
    stmt_done(st);
    return rc;
}

/* query_on, on a reader taken for it. */
static enum tsr_err run_query(struct tsr_store *store, enum stmt_id id,
                              void (*bind)(sqlite3_stmt *, const void *, int *), const void *arg,
                              enum tsr_err (*row)(sqlite3_stmt *, void *), void *ctx, bool one)
{
    struct conn *c = reader_take(from_base(store));
    enum tsr_err rc = query_on(c, id, bind, arg, row, ctx, one);

    reader_release(c);
    return rc;
}

/* ---- users ---- */

static enum tsr_err sq_user_insert(struct tsr_store *store, const struct tsr_user_row *user)
{
    struct sqlite_store *s = from_base(store);
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = stmt_get(&s->writer, ST_USER_INSERT, &st);
    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, user->id, sizeof(user->id), &src);
    bind_str(st, 2, user->email, sizeof(user->email), &src);
    bind_str(st, 3, user->password_hash, sizeof(user->password_hash), &src);
    bind_int(st, 4, user->created, &src);
    rc = bind_done(src);
    if (rc != TSR_OK)
        goto out;
    rc = step_write(&s->writer, st, &changes);
    /* The partial unique index on lower(email) is what says "taken". */
    if (rc != TSR_OK && is_unique_violation(sqlite3_extended_errcode(s->writer.db)))
        rc = TSR_ERR_EXISTS;
out:
    stmt_done(st);
    return write_end(s, rc);
}

/* Finds one live user with a statement that takes key as ?1. */
static enum tsr_err user_find(struct tsr_store *store, enum stmt_id id, const char *key,
                              struct tsr_user_row *out)
{
    return run_query(store, id, bind_text1, key, row_user, out, true);
}

static enum tsr_err sq_user_by_email(struct tsr_store *store, const char *email,
                                     struct tsr_user_row *out)
{
    return user_find(store, ST_USER_BY_EMAIL, email, out);
}

static enum tsr_err sq_user_by_id(struct tsr_store *store, const char *id, struct tsr_user_row *out)
{
    return user_find(store, ST_USER_BY_ID, id, out);
}

static enum tsr_err sq_user_each(struct tsr_store *store,
                                 enum tsr_err (*each)(const struct tsr_user_row *, void *),
                                 void *ctx)
{
    struct walk w = {.user = each, .ctx = ctx};

    return run_query(store, ST_USER_EACH, NULL, NULL, walk_user, &w, false);
}

static enum tsr_err sq_user_count(struct tsr_store *store, int64_t *out)
{
    return run_query(store, ST_USER_COUNT, NULL, NULL, row_int, out, true);
}

/* Revokes, one by one, every unrevoked token of user_id of kind (NULL for
 * all kinds), each with its own change_seq. Inside a write transaction. */
static enum tsr_err revoke_all(struct conn *c, const char *user_id, const char *kind, int64_t now)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 1;
    enum tsr_err rc = stmt_get(c, ST_REVOKE_NEXT_OF_USER, &st);

    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, user_id, NO_CAP, &src);
    bind_int(st, 2, now, &src);
    bind_str(st, 3, kind, NO_CAP, &src);
    rc = bind_done(src);
    while (rc == TSR_OK && changes > 0) {
        rc = step_write(c, st, &changes);
        sqlite3_reset(st); /* keeps the bindings for the next round */
    }
out:
    stmt_done(st);
    return rc;
}

/* Runs a statement on users that takes the id as ?1 and a value as ?2,
 * then revokes the user's tokens of kind (NULL for all): the body of
 * set_password and remove. TSR_ERR_NOT_FOUND when no live user has id. */
static enum tsr_err user_change(struct tsr_store *store, enum stmt_id id, const char *user_id,
                                const char *text, int64_t now, const char *kind)
{
    struct sqlite_store *s = from_base(store);
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = stmt_get(&s->writer, id, &st);
    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, user_id, NO_CAP, &src);
    if (text != NULL)
        bind_str(st, 2, text, NO_CAP, &src);
    else
        bind_int(st, 2, now, &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(&s->writer, st, &changes);
    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
    if (rc == TSR_OK)
        rc = revoke_all(&s->writer, user_id, kind, now);
out:
    stmt_done(st);
    return write_end(s, rc);
}

static enum tsr_err sq_user_set_password(struct tsr_store *store, const char *id,
                                         const char *password_hash, int64_t now)
{
    /* A new password ends every signed-in session, but not the tokens the
     * user made on purpose for their scripts. */
    return user_change(store, ST_USER_SET_PASSWORD, id, password_hash, now, "session");
}

static enum tsr_err sq_user_remove(struct tsr_store *store, const char *id, int64_t now)
{
    return user_change(store, ST_USER_REMOVE, id, NULL, now, NULL);
}

/* ---- tokens ---- */

/* Inserts token with the next change_seq. */
static enum tsr_err token_add(struct conn *c, const struct tsr_token_row *t)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    const char *kind = tsr__kind_text(t->kind);
    enum tsr_err rc = kind ? stmt_get(c, ST_TOKEN_INSERT, &st) : TSR_ERR_INVALID;

    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, t->id, sizeof(t->id), &src);
    bind_str(st, 2, t->user_id, sizeof(t->user_id), &src);
    bind_str(st, 3, kind, NO_CAP, &src);
    bind_str(st, 4, t->name, sizeof(t->name), &src);
    bind_str(st, 5, t->description, sizeof(t->description), &src);
    bind_blob(st, 6, t->secret_hash, TSR_HASH_LEN, &src);
    bind_str(st, 7, t->key_hint, sizeof(t->key_hint), &src);
    bind_int(st, 8, t->created, &src);
    bind_int(st, 9, t->expires_at, &src);
    bind_opt_int(st, 10, t->last_used_at, &src);
    bind_opt_int(st, 11, t->revoked_at, &src);
    bind_str(st, 12, tsr__scopes_or_global(t->scopes), sizeof(t->scopes), &src);
    bind_str(st, 13, t->allowed_ips, sizeof(t->allowed_ips), &src);
    bind_opt_int(st, 14, t->not_before, &src);
    bind_opt_str(st, 15, t->last_used_ip, sizeof(t->last_used_ip), &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
    /* A repeated id or secret hash: as unlikely as guessing a secret. */
    if (rc != TSR_OK && is_unique_violation(sqlite3_extended_errcode(c->db)))
        rc = TSR_ERR_EXISTS;
out:
    stmt_done(st);
    return rc;
}

/* One transaction for all: seeding a million tokens must not take a
 * million commits. */
static enum tsr_err sq_token_insert_many(struct tsr_store *store,
                                         const struct tsr_token_row *tokens, size_t n)
{
    struct sqlite_store *s = from_base(store);
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    for (size_t i = 0; i < n && rc == TSR_OK; i++)
        rc = token_add(&s->writer, &tokens[i]);
    return write_end(s, rc);
}

static uint64_t sq_statements(struct tsr_store *store)
{
    return atomic_load_explicit(&from_base(store)->statements, memory_order_relaxed);
}

static enum tsr_err token_by_hash_with(struct tsr_store *store, enum stmt_id id,
                                       const uint8_t hash[TSR_HASH_LEN], struct tsr_token_row *out)
{
    return run_query(store, id, bind_hash, hash, row_token, out, true);
}

static enum tsr_err sq_token_by_hash(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                     struct tsr_token_row *out)
{
    return token_by_hash_with(store, ST_TOKEN_BY_HASH, hash, out);
}

static enum tsr_err sq_token_by_hash_any(struct tsr_store *store, const uint8_t hash[TSR_HASH_LEN],
                                         struct tsr_token_row *out)
{
    return token_by_hash_with(store, ST_TOKEN_BY_HASH_ANY, hash, out);
}

/* Finds user_id's unrevoked personal token id on c. */
static enum tsr_err token_get_on(struct conn *c, const char *user_id, const char *id,
                                 struct tsr_token_row *out)
{
    const char *key[2] = {user_id, id};

    return query_on(c, ST_TOKEN_GET, bind_owned, key, row_token, out, true);
}

static enum tsr_err sq_token_get(struct tsr_store *store, const char *user_id, const char *id,
                                 struct tsr_token_row *out)
{
    const char *key[2] = {user_id, id};

    return run_query(store, ST_TOKEN_GET, bind_owned, key, row_token, out, true);
}

/* Binds the user and the search of q, the values the count and the
 * listing share, as ?1 and ?2. */
static void bind_query(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct tsr_token_query *q = arg;
    const char *search = q->search;
    size_t len = q->search_len;

    /* A caller that filled only search still gets what it meant. */
    if (search != NULL && len == 0)
        len = strlen(search);
    bind_str(st, 1, q->user_id, NO_CAP, src);
    if (search == NULL || len == 0 || len > NO_CAP)
        bind_str(st, 2, NULL, 0, src);
    else if (*src == SQLITE_OK)
        *src = sqlite3_bind_text(st, 2, search, (int)len, SQLITE_STATIC);
    bind_opt_int(st, 5, q->expires_after, src);
    bind_opt_int(st, 6, q->expires_until, src);
}

/* bind_query, and q's page as ?3 and ?4. */
static void bind_page(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct tsr_token_query *q = arg;

    bind_query(st, q, src);
    bind_int(st, 3, q->limit, src);
    bind_int(st, 4, q->offset > 0 ? q->offset : 0, src);
}

/* The body of token_list, inside a read transaction on c. */
static enum tsr_err token_list_on(struct conn *c, const struct tsr_token_query *q,
                                  enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                  void *ctx, int64_t *total)
{
    struct walk w = {.token = each, .ctx = ctx};
    int64_t n = 0;
    int order = 0;
    enum tsr_err rc = tsr__list_order(q, &order);

    if (rc == TSR_OK)
        rc = query_on(c, ST_TOKEN_LIST_COUNT, bind_query, q, row_int, &n, true);
    if (rc != TSR_OK)
        return rc;
    if (total != NULL)
        *total = n;
    /* LIMIT -1 would mean "no limit" to SQLite: an empty page is meant. */
    if (q->limit <= 0)
        return TSR_OK;
    return query_on(c, (enum stmt_id)(ST_TOKEN_LIST_CREATED + order), bind_page, q, walk_token, &w,
                    false);
}

static enum tsr_err sq_token_list(struct tsr_store *store, const struct tsr_token_query *q,
                                  enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                  void *ctx, int64_t *total)
{
    struct conn *c = reader_take(from_base(store));
    /* One read transaction, so that the total and the page agree. */
    enum tsr_err rc = exec_cached(c, ST_BEGIN);

    if (rc == TSR_OK)
        rc = tx_end(c, token_list_on(c, q, each, ctx, total));
    reader_release(c);
    return rc;
}

/* Writes the fields of `fields` from v to user_id's unrevoked personal
 * token id, with the next change_seq; TSR_ERR_NOT_FOUND when none. */
static enum tsr_err token_write(struct conn *c, const char *user_id, const char *id,
                                unsigned fields, const struct tsr_token_row *v)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc = stmt_get(c, ST_TOKEN_UPDATE, &st);

    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, id, NO_CAP, &src);
    /* NULL keeps a column as it is; see ST_TOKEN_UPDATE. */
    bind_str(st, 2, (fields & TSR_SET_NAME) ? v->name : NULL, sizeof(v->name), &src);
    bind_str(st, 3, (fields & TSR_SET_DESCRIPTION) ? v->description : NULL, sizeof(v->description),
             &src);
    if (fields & TSR_SET_EXPIRES_AT)
        bind_int(st, 4, v->expires_at, &src);
    bind_str(st, 5, user_id, NO_CAP, &src);
    bind_str(st, 6, (fields & TSR_SET_SCOPES) ? tsr__scopes_or_global(v->scopes) : NULL,
             sizeof(v->scopes), &src);
    bind_str(st, 7, (fields & TSR_SET_ALLOWED_IPS) ? v->allowed_ips : NULL, sizeof(v->allowed_ips),
             &src);
    bind_opt_int(st, 8, v->not_before, &src);
    bind_int(st, 9, (fields & TSR_SET_NOT_BEFORE) ? 1 : 0, &src);
    if (fields & TSR_SET_SECRET) {
        bind_blob(st, 10, v->secret_hash, TSR_HASH_LEN, &src);
        bind_int(st, 11, v->prev_until, &src);
        bind_str(st, 12, v->key_hint, sizeof(v->key_hint), &src);
    }
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
out:
    stmt_done(st);
    return rc;
}

/* Reads max(change_seq) on c into *out. */
static enum tsr_err max_seq_on(struct conn *c, int64_t *out)
{
    return query_on(c, ST_MAX_SEQ, NULL, NULL, row_int, out, true);
}

/* The body of token_each_live, inside a read transaction on c. */
static enum tsr_err each_live_on(struct conn *c, int64_t now,
                                 enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                 void *ctx, int64_t *max_seq)
{
    struct walk w = {.token = each, .ctx = ctx};
    int64_t seq = 0;
    enum tsr_err rc = max_seq_on(c, &seq);

    if (rc != TSR_OK)
        return rc;
    if (max_seq != NULL)
        *max_seq = seq;
    return query_on(c, ST_TOKEN_EACH_LIVE, bind_int1, &now, walk_token, &w, false);
}

static enum tsr_err sq_token_each_live(struct tsr_store *store, int64_t now,
                                       enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                       void *ctx, int64_t *max_seq)
{
    struct conn *c = reader_take(from_base(store));
    /* One read transaction, so that *max_seq describes exactly the tokens
     * read: a caller that then asks for changes since it misses nothing. */
    enum tsr_err rc = exec_cached(c, ST_BEGIN);

    if (rc == TSR_OK)
        rc = tx_end(c, each_live_on(c, now, each, ctx, max_seq));
    reader_release(c);
    return rc;
}

static enum tsr_err sq_token_changes(struct tsr_store *store, int64_t since,
                                     enum tsr_err (*each)(const struct tsr_token_row *, void *),
                                     void *ctx, int64_t *max_seq)
{
    int64_t seq = since;
    struct walk w = {.token = each, .ctx = ctx, .max_seq = &seq};
    enum tsr_err rc = run_query(store, ST_TOKEN_CHANGES, bind_int1, &since, walk_token, &w, false);

    if (max_seq != NULL)
        *max_seq = seq;
    return rc;
}

static enum tsr_err sq_change_seq(struct tsr_store *store, int64_t *out)
{
    return run_query(store, ST_MAX_SEQ, NULL, NULL, row_int, out, true);
}

/* Writes one use; an id that is gone changes nothing. */
static enum tsr_err touch_one(struct conn *c, sqlite3_stmt *st, const struct tsr_token_use *u)
{
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc;

    bind_str(st, 1, u->id, sizeof(u->id), &src);
    bind_int(st, 2, u->last_used_at, &src);
    bind_opt_str(st, 3, u->last_addr, sizeof(u->last_addr), &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
    stmt_done(st);
    return rc;
}

static int64_t monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* Moves the times of token_uses into tokens and empties it, inside the
 * writer's open transaction. Rare, so that its cost (a page of tokens for
 * each token used) is spread over many batches. */
static enum tsr_err fold_uses(struct sqlite_store *s)
{
    enum tsr_err rc = exec_cached(&s->writer, ST_USES_FOLD);

    if (rc == TSR_OK)
        rc = exec_cached(&s->writer, ST_USES_CLEAR);
    if (rc == TSR_OK) {
        s->uses_unfolded = 0;
        s->folded_at = monotonic_seconds();
    }
    return rc;
}

/* Counts the rows only once as many have been written as could fill it:
 * most writes of a busy server update the rows of tokens already there. */
static enum tsr_err fold_due(struct sqlite_store *s, bool *due)
{
    sqlite3_stmt *st = NULL;
    enum tsr_err rc;

    *due = monotonic_seconds() - s->folded_at >= USES_FOLD_SECONDS;
    if (*due || s->uses_unfolded < USES_FOLD_ROWS)
        return TSR_OK;
    rc = stmt_get(&s->writer, ST_USES_COUNT, &st);
    if (rc == TSR_OK)
        rc = query_int(st, &s->uses_unfolded);
    stmt_done(st);
    *due = rc == TSR_OK && s->uses_unfolded >= USES_FOLD_ROWS;
    return rc;
}

static enum tsr_err sq_token_touch(struct tsr_store *store, const struct tsr_token_use *uses,
                                   size_t n)
{
    struct sqlite_store *s = from_base(store);
    sqlite3_stmt *st = NULL;
    bool due = false;
    enum tsr_err rc;

    if (n == 0)
        return TSR_OK;
    rc = write_begin(s);
    if (rc != TSR_OK)
        return rc;
    rc = stmt_get(&s->writer, ST_TOKEN_TOUCH, &st);
    for (size_t i = 0; i < n && rc == TSR_OK; i++) {
        /* 0 is "never": there is nothing to write for it. */
        if (uses[i].last_used_at > 0)
            rc = touch_one(&s->writer, st, &uses[i]);
    }
    s->uses_unfolded += (int64_t)n;
    if (rc == TSR_OK)
        rc = fold_due(s, &due);
    if (rc == TSR_OK && due)
        rc = fold_uses(s);
    return write_end(s, rc);
}

/* ---- audit ---- */

static enum tsr_err audit_add(struct conn *c, sqlite3_stmt *st, const struct tsr_audit_row *r)
{
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc;

    bind_int(st, 1, r->at, &src);
    bind_opt_str(st, 2, r->user_id, sizeof(r->user_id), &src);
    bind_opt_str(st, 3, r->token_id, sizeof(r->token_id), &src);
    bind_str(st, 4, r->action, sizeof(r->action), &src);
    bind_opt_str(st, 5, r->remote_addr, sizeof(r->remote_addr), &src);
    bind_str(st, 6, r->outcome, sizeof(r->outcome), &src);
    bind_int(st, 7, r->count > 1 ? r->count : 1, &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
    stmt_done(st);
    return rc;
}

static enum tsr_err sq_audit_append(struct tsr_store *store, const struct tsr_audit_row *rows,
                                    size_t n)
{
    struct sqlite_store *s = from_base(store);
    sqlite3_stmt *st = NULL;
    enum tsr_err rc;

    if (n == 0)
        return TSR_OK;
    rc = write_begin(s);
    if (rc != TSR_OK)
        return rc;
    rc = stmt_get(&s->writer, ST_AUDIT_INSERT, &st);
    for (size_t i = 0; i < n && rc == TSR_OK; i++)
        rc = audit_add(&s->writer, st, &rows[i]);
    return write_end(s, rc);
}

static void read_audit(sqlite3_stmt *st, struct tsr_audit_row *out)
{
    out->at = sqlite3_column_int64(st, 0);
    col_str(st, 1, out->user_id, sizeof(out->user_id));
    col_str(st, 2, out->token_id, sizeof(out->token_id));
    col_str(st, 3, out->action, sizeof(out->action));
    col_str(st, 4, out->remote_addr, sizeof(out->remote_addr));
    col_str(st, 5, out->outcome, sizeof(out->outcome));
    out->count = sqlite3_column_int64(st, 6);
}

/* A page of audit records: whose (NULL for all), how many, after how many. */
struct audit_page {
    const char *user_id;
    int64_t limit;
    int64_t offset;
};

static void bind_audit_each(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct audit_page *p = arg;

    bind_int(st, 1, p->limit, src);
    bind_int(st, 2, p->offset > 0 ? p->offset : 0, src);
    if (p->user_id != NULL)
        bind_str(st, 3, p->user_id, NO_CAP, src);
}

static void bind_audit_list(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct audit_page *p = arg;

    bind_str(st, 1, p->user_id, NO_CAP, src);
    bind_int(st, 2, p->limit, src);
    bind_int(st, 3, p->offset > 0 ? p->offset : 0, src);
}

static enum tsr_err walk_audit(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_audit_row row;

    read_audit(st, &row);
    return w->audit(&row, w->ctx);
}

static enum tsr_err walk_entry(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_audit_entry e;

    read_audit(st, &e.row);
    e.has_token_name = sqlite3_column_type(st, 7) != SQLITE_NULL;
    col_str(st, 7, e.token_name, sizeof(e.token_name));
    return w->entry(&e, w->ctx);
}

static enum tsr_err sq_audit_each(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_row *, void *),
                                  void *ctx)
{
    struct audit_page p = {user_id, limit, offset};
    struct walk w = {.audit = each, .ctx = ctx};

    /* LIMIT -1 would mean "no limit" to SQLite: nothing is meant. */
    if (limit <= 0)
        return TSR_OK;
    /* Two statements rather than "?3 IS NULL OR", so that a user's records
     * come straight from the (user_id, id) index. */
    return run_query(store, user_id != NULL ? ST_AUDIT_EACH_USER : ST_AUDIT_EACH, bind_audit_each,
                     &p, walk_audit, &w, false);
}

/* The body of audit_list, inside a read transaction on c. */
static enum tsr_err audit_list_on(struct conn *c, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                                  void *ctx, int64_t *total)
{
    struct audit_page p = {user_id, limit, offset};
    struct walk w = {.entry = each, .ctx = ctx};
    int64_t n = 0;
    enum tsr_err rc = query_on(c, ST_AUDIT_COUNT_USER, bind_text1, user_id, row_int, &n, true);

    if (rc != TSR_OK)
        return rc;
    if (total != NULL)
        *total = n;
    /* LIMIT -1 would mean "no limit" to SQLite: an empty page is meant. */
    if (limit <= 0)
        return TSR_OK;
    return query_on(c, ST_AUDIT_LIST_USER, bind_audit_list, &p, walk_entry, &w, false);
}

static enum tsr_err sq_audit_list(struct tsr_store *store, const char *user_id, int64_t offset,
                                  int64_t limit,
                                  enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                                  void *ctx, int64_t *total)
{
    struct conn *c = reader_take(from_base(store));
    /* One read transaction, so that the total and the page agree. */
    enum tsr_err rc = exec_cached(c, ST_BEGIN);

    if (rc == TSR_OK)
        rc = tx_end(c, audit_list_on(c, user_id, offset, limit, each, ctx, total));
    reader_release(c);
    return rc;
}

/* ---- operator scopes ---- */

/* Binds a name and a time, as ?1 and ?2: a scope or a webhook at a moment. */
struct text_at {
    const char *text;
    int64_t now;
};

static void bind_text_at(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct text_at *k = arg;

    bind_str(st, 1, k->text, NO_CAP, src);
    bind_int(st, 2, k->now, src);
}

/* Runs statement id (bound by bind) on the writer, inside its open
 * transaction, for the rows it changes. */
static enum tsr_err write_on(struct sqlite_store *s, enum stmt_id id,
                             void (*bind)(sqlite3_stmt *, const void *, int *), const void *arg,
                             int *changes)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    enum tsr_err rc = stmt_get(&s->writer, id, &st);

    *changes = 0;
    if (rc == TSR_OK && bind != NULL) {
        bind(st, arg, &src);
        rc = bind_done(src);
    }
    if (rc == TSR_OK)
        rc = step_write(&s->writer, st, changes);
    stmt_done(st);
    return rc;
}

static void bind_scope_row(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct tsr_scope_row *r = arg;

    bind_str(st, 1, r->name, sizeof(r->name), src);
    bind_str(st, 2, r->description, sizeof(r->description), src);
    bind_int(st, 3, r->created, src);
}

/* Runs insert id (bound by bind) on the writer, inside its open
 * transaction; TSR_ERR_EXISTS when a key it writes is taken. */
static enum tsr_err insert_on(struct sqlite_store *s, enum stmt_id id,
                              void (*bind)(sqlite3_stmt *, const void *, int *), const void *arg)
{
    int changes = 0;
    enum tsr_err rc = write_on(s, id, bind, arg, &changes);

    if (rc != TSR_OK && is_unique_violation(sqlite3_extended_errcode(s->writer.db)))
        rc = TSR_ERR_EXISTS;
    return rc;
}

/* A plain write transaction, as the users' are: scopes change rarely and
 * never in bulk, so they need no group commit. */
static enum tsr_err sq_scope_insert(struct tsr_store *store, const struct tsr_scope_row *scope)
{
    struct sqlite_store *s = from_base(store);
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = insert_on(s, ST_SCOPE_INSERT, bind_scope_row, scope);
    if (rc == TSR_OK)
        rc = write_on(s, ST_SCOPE_BUMP, NULL, NULL, &changes);
    return write_end(s, rc);
}

/* The count and the removal share BEGIN IMMEDIATE's write lock, so no token
 * that lists the name can be written between them. */
static enum tsr_err sq_scope_remove(struct tsr_store *store, const char *name, int64_t now,
                                    int64_t *in_use)
{
    struct sqlite_store *s = from_base(store);
    struct text_at key = {name, now};
    int64_t one = 0, n = 0;
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = query_on(&s->writer, ST_SCOPE_EXISTS, bind_text1, name, row_int, &one, true);
    if (rc == TSR_OK)
        rc = query_on(&s->writer, ST_SCOPE_IN_USE, bind_text_at, &key, row_int, &n, true);
    if (rc == TSR_OK && in_use != NULL)
        *in_use = n;
    if (rc == TSR_OK && n > 0)
        rc = TSR_ERR_IN_USE;
    if (rc == TSR_OK)
        rc = write_on(s, ST_SCOPE_DELETE, bind_text1, name, &changes);
    if (rc == TSR_OK)
        rc = write_on(s, ST_SCOPE_BUMP, NULL, NULL, &changes);
    return write_end(s, rc);
}

static enum tsr_err walk_scope(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_scope_row r;

    col_str(st, 0, r.name, sizeof(r.name));
    col_str(st, 1, r.description, sizeof(r.description));
    r.created = sqlite3_column_int64(st, 2);
    return w->scope(&r, w->ctx);
}

static enum tsr_err sq_scope_each(struct tsr_store *store,
                                  enum tsr_err (*each)(const struct tsr_scope_row *, void *),
                                  void *ctx)
{
    struct walk w = {.scope = each, .ctx = ctx};

    return run_query(store, ST_SCOPE_EACH, NULL, NULL, walk_scope, &w, false);
}

static enum tsr_err sq_scope_version(struct tsr_store *store, int64_t *out)
{
    return run_query(store, ST_SCOPE_VERSION, NULL, NULL, row_int, out, true);
}

/* ---- events, webhooks, deliveries ---- */

/* An event to raise: its id, when, its type, its token, the window of an
 * expiry notice (else 0), and whether the owner is mailed. */
struct event_spec {
    const char *id;
    int64_t at;
    const char *type;
    const char *token_id;
    int64_t notice_before;
    bool mail_owner;
};

/* Binds the values of the statements of an event, as many as st takes:
 * they number them alike and each takes the first it needs. */
static void bind_event(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct event_spec *e = arg;
    int n = sqlite3_bind_parameter_count(st);

    bind_str(st, 1, e->id, TSR_UUID_LEN, src);
    bind_int(st, 2, e->at, src);
    if (n >= 3)
        bind_str(st, 3, e->type, TSR_EVENT_TYPE_MAX, src);
    if (n >= 5) {
        bind_str(st, 4, e->token_id, TSR_UUID_LEN, src);
        bind_int(st, 5, e->notice_before, src);
    }
}

/* Records event e for its token as the writer's open transaction has it,
 * with a delivery for each webhook that takes its type and, for
 * mail_owner, one to the owner's mailbox. TSR_ERR_NOT_FOUND when the
 * token is not there. What a change and an expiry notice both raise. */
static enum tsr_err event_raise(struct sqlite_store *s, const struct event_spec *e)
{
    int changes = 0;
    enum tsr_err rc = write_on(s, ST_EVENT_INSERT, bind_event, e, &changes);

    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
    if (rc == TSR_OK)
        rc = write_on(s, ST_DELIVERY_ADD_HOOKS, bind_event, e, &changes);
    if (rc == TSR_OK && e->mail_owner)
        rc = write_on(s, ST_DELIVERY_ADD_MAIL, bind_event, e, &changes);
    return rc;
}

static void bind_webhook_row(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct tsr_webhook_row *h = arg;

    bind_str(st, 1, h->id, sizeof(h->id), src);
    bind_str(st, 2, h->url, sizeof(h->url), src);
    bind_str(st, 3, h->key, sizeof(h->key), src);
    bind_str(st, 4, h->events, sizeof(h->events), src);
    bind_int(st, 5, h->created, src);
}

static enum tsr_err sq_webhook_insert(struct tsr_store *store, const struct tsr_webhook_row *hook)
{
    struct sqlite_store *s = from_base(store);
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    return write_end(s, insert_on(s, ST_WEBHOOK_INSERT, bind_webhook_row, hook));
}

/* The removal and the dropping share the write lock, so no event can give
 * the webhook a delivery between them. */
static enum tsr_err sq_webhook_remove(struct tsr_store *store, const char *id, int64_t now)
{
    struct sqlite_store *s = from_base(store);
    struct text_at key = {id, now};
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = write_on(s, ST_WEBHOOK_DELETE, bind_text1, id, &changes);
    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
    if (rc == TSR_OK)
        rc = write_on(s, ST_WEBHOOK_DROP, bind_text_at, &key, &changes);
    return write_end(s, rc);
}

static enum tsr_err walk_webhook(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_webhook_row h;

    col_str(st, 0, h.id, sizeof(h.id));
    col_str(st, 1, h.url, sizeof(h.url));
    col_str(st, 2, h.key, sizeof(h.key));
    col_str(st, 3, h.events, sizeof(h.events));
    h.created = sqlite3_column_int64(st, 4);
    return w->webhook(&h, w->ctx);
}

static enum tsr_err sq_webhook_each(struct tsr_store *store,
                                    enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                                    void *ctx)
{
    struct walk w = {.webhook = each, .ctx = ctx};

    return run_query(store, ST_WEBHOOK_EACH, NULL, NULL, walk_webhook, &w, false);
}

/* Reads the event of a row of DELIVERY_COLS, from column 3 on. */
static void read_event(sqlite3_stmt *st, struct tsr_event_row *out)
{
    col_str(st, 3, out->id, sizeof(out->id));
    col_str(st, 4, out->type, sizeof(out->type));
    out->at = sqlite3_column_int64(st, 5);
    col_str(st, 6, out->user_id, sizeof(out->user_id));
    col_str(st, 7, out->token_id, sizeof(out->token_id));
    col_str(st, 8, out->name, sizeof(out->name));
    col_str(st, 9, out->key_hint, sizeof(out->key_hint));
    out->expires_at = sqlite3_column_int64(st, 10);
    col_str(st, 11, out->scopes, sizeof(out->scopes));
    out->notice_before = sqlite3_column_int64(st, 12);
}

/* Reads a row of DELIVERY_COLS; TSR_ERR_STORE when it is not one we wrote. */
static enum tsr_err read_delivery(sqlite3_stmt *st, struct tsr_delivery_row *out)
{
    enum tsr_err rc =
        tsr__delivery_parse(sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), out);

    if (rc != TSR_OK)
        return rc;
    out->id = sqlite3_column_int64(st, 0);
    read_event(st, &out->event);
    col_str(st, 13, out->webhook_id, sizeof(out->webhook_id));
    col_str(st, 14, out->url, sizeof(out->url));
    col_str(st, 15, out->key, sizeof(out->key));
    col_str(st, 16, out->email, sizeof(out->email));
    out->created = sqlite3_column_int64(st, 17);
    out->attempts = sqlite3_column_int64(st, 18);
    out->next_at = sqlite3_column_int64(st, 19);
    out->finished_at = sqlite3_column_int64(st, 20);
    out->last_status = sqlite3_column_int64(st, 21);
    col_str(st, 22, out->last_error, sizeof(out->last_error));
    return TSR_OK;
}

/* A claim: what is due, until when, and the rows taken so far. */
struct claim {
    unsigned channels;
    int64_t now;
    int64_t until;
    size_t max;
    struct tsr_delivery_row *out;
    size_t n;
};

static void bind_due(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct claim *c = arg;

    bind_int(st, 1, c->now, src);
    bind_int(st, 2, (int64_t)c->channels, src);
    bind_int(st, 3, c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max, src);
}

static void bind_claim(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct claim *c = arg;

    bind_int(st, 1, c->now, src);
    bind_int(st, 2, (int64_t)c->channels, src);
    bind_int(st, 3, c->until, src);
    bind_int(st, 4, c->out[c->n - 1].id, src);
}

static enum tsr_err row_claimed(sqlite3_stmt *st, void *ctx)
{
    struct claim *c = ctx;
    enum tsr_err rc = c->n < c->max ? read_delivery(st, &c->out[c->n]) : TSR_ERR_STORE;

    if (rc == TSR_OK)
        c->n++;
    return rc;
}

/* The read and the claim share the write lock: no other claim comes
 * between them. */
static enum tsr_err sq_delivery_claim(struct tsr_store *store, unsigned channels, int64_t now,
                                      int64_t claimed_until, size_t max,
                                      struct tsr_delivery_row *out, size_t *n)
{
    struct sqlite_store *s = from_base(store);
    struct claim c = {channels, now, claimed_until, max, out, 0};
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = query_on(&s->writer, ST_DELIVERY_DUE, bind_due, &c, row_claimed, &c, false);
    if (rc == TSR_OK && c.n > 0)
        rc = write_on(s, ST_DELIVERY_CLAIM, bind_claim, &c, &changes);
    if (rc == TSR_OK && (size_t)changes != c.n)
        rc = TSR_ERR_STORE;
    rc = write_end(s, rc);
    *n = rc == TSR_OK ? c.n : 0;
    return rc;
}

/* An attempt at a delivery, as tsr_store_delivery_finish records it. */
struct attempt {
    int64_t id;
    enum tsr_delivery_state state;
    int64_t next_at;
    int64_t status;
    const char *error;
    int64_t now;
};

static void bind_attempt(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct attempt *a = arg;

    bind_int(st, 1, a->id, src);
    bind_int(st, 2, (int64_t)a->state, src);
    bind_int(st, 3, a->status, src);
    bind_str(st, 4, a->error, TSR_DELIVERY_ERROR_MAX, src);
    bind_int(st, 5, a->next_at, src);
    bind_int(st, 6, a->now, src);
}

static enum tsr_err sq_delivery_finish(struct tsr_store *store, int64_t id,
                                       enum tsr_delivery_state state, int64_t next_at,
                                       int64_t status, const char *error, int64_t now)
{
    struct sqlite_store *s = from_base(store);
    struct attempt a = {id, state, next_at, status, error, now};
    int changes = 0;
    enum tsr_err rc = write_begin(s);

    if (rc != TSR_OK)
        return rc;
    rc = write_on(s, ST_DELIVERY_FINISH, bind_attempt, &a, &changes);
    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
    return write_end(s, rc);
}

/* A listing of deliveries: whose (NULL for all), in what state (0: any),
 * how many. */
struct delivery_page {
    const char *webhook_id;
    enum tsr_delivery_state state;
    int64_t limit;
};

static void bind_delivery_page(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct delivery_page *p = arg;

    bind_str(st, 1, p->webhook_id, NO_CAP, src);
    bind_int(st, 2, (int64_t)p->state, src);
    bind_int(st, 3, p->limit, src);
}

static enum tsr_err walk_delivery(sqlite3_stmt *st, void *ctx)
{
    struct walk *w = ctx;
    struct tsr_delivery_row d;
    enum tsr_err rc = read_delivery(st, &d);

    return rc == TSR_OK ? w->delivery(&d, w->ctx) : rc;
}

static enum tsr_err sq_delivery_each(struct tsr_store *store, const char *webhook_id,
                                     enum tsr_delivery_state state, int64_t limit,
                                     enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                     void *ctx)
{
    struct delivery_page p = {webhook_id, state, limit};
    struct walk w = {.delivery = each, .ctx = ctx};

    /* LIMIT -1 would mean "no limit" to SQLite: nothing is meant. */
    if (limit <= 0)
        return TSR_OK;
    return run_query(store, ST_DELIVERY_EACH, bind_delivery_page, &p, walk_delivery, &w, false);
}

static void bind_window(sqlite3_stmt *st, const void *arg, int *src)
{
    const struct tsr__notice_window *w = arg;

    bind_int(st, 1, w->now, src);
    bind_int(st, 2, w->after, src);
    bind_int(st, 3, w->until, src);
    bind_int(st, 4, w->before_s, src);
}

/* Records the notices of window w that are new and raises an event for
 * each, counted in *raised. Inside the writer's open transaction.
 * The insert has made all its changes by the time it gives its first row
 * (SQLite's RETURNING), so each event is written while it gives the rest. */
static enum tsr_err notices_raise(struct sqlite_store *s, const struct tsr__notice_window *w,
                                  bool mail_owner, int64_t *raised)
{
    char event_id[TSR_UUID_LEN + 1];
    char token_id[TSR_UUID_LEN + 1];
    struct event_spec e = {event_id, w->now, w->type, token_id, w->before_s, mail_owner};
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    bool row = true;
    enum tsr_err rc = stmt_get(&s->writer, ST_NOTICE_RECORD, &st);

    if (rc == TSR_OK) {
        bind_window(st, w, &src);
        rc = bind_done(src);
    }
    while (rc == TSR_OK) {
        rc = stmt_step(st, &row);
        if (rc != TSR_OK || !row)
            break;
        col_str(st, 0, token_id, sizeof(token_id));
        tsr_uuid7_new(event_id);
        rc = event_raise(s, &e);
        *raised += rc == TSR_OK;
    }
    stmt_done(st);
    return rc;
}

static enum tsr_err sq_expiry_notices(struct tsr_store *store, int64_t now, const int64_t *before,
                                      size_t n, int64_t expired_since, bool mail_owner,
                                      int64_t *raised)
{
    struct sqlite_store *s = from_base(store);
    struct tsr__notice_window w;
    enum tsr_err rc = write_begin(s);

    *raised = 0;
    if (rc != TSR_OK)
        return rc;
    for (size_t i = 0; i <= n && rc == TSR_OK; i++) {
        tsr__notice_window(now, before, n, expired_since, i, &w);
        rc = notices_raise(s, &w, mail_owner, raised);
    }
    rc = write_end(s, rc);
    if (rc != TSR_OK)
        *raised = 0;
    return rc;
}

/* ---- the primitives of group commit (commit.h), on the writer ---- */

static struct conn *tx_conn(void *engine)
{
    return &((struct sqlite_store *)engine)->writer;
}

static enum tsr_err tx_begin(void *engine)
{
    return write_begin(engine);
}

static enum tsr_err tx_savepoint(void *engine)
{
    return exec_cached(tx_conn(engine), ST_SAVEPOINT);
}

static enum tsr_err tx_release(void *engine)
{
    return exec_cached(tx_conn(engine), ST_RELEASE);
}

static enum tsr_err tx_rollback_to(void *engine)
{
    return exec_cached(tx_conn(engine), ST_ROLLBACK_TO);
}

static enum tsr_err tx_commit(void *engine, enum tsr_err rc)
{
    return write_end(engine, rc);
}

/* Some errors (disk full, out of memory) roll the transaction back. */
static bool tx_failed(void *engine)
{
    return sqlite3_get_autocommit(tx_conn(engine)->db) != 0;
}

static enum tsr_err tx_user_live(void *engine, const char *user_id)
{
    int64_t one = 0;

    /* NOT_FOUND when the user is not live */
    return query_on(tx_conn(engine), ST_USER_LIVE, bind_text1, user_id, row_int, &one, true);
}

/* The cap's count: the personal tokens of user_id not revoked, expired ones
 * included until retention deletes them. */
static enum tsr_err tx_token_count_kept(void *engine, const char *user_id, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    enum tsr_err rc = stmt_get(tx_conn(engine), ST_TOKEN_COUNT_KEPT, &st);

    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, user_id, NO_CAP, &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = query_int(st, n);
out:
    stmt_done(st);
    return rc;
}

static enum tsr_err tx_token_add(void *engine, const struct tsr_token_row *t)
{
    return token_add(tx_conn(engine), t);
}

static enum tsr_err tx_token_get(void *engine, const char *user_id, const char *id,
                                 struct tsr_token_row *out)
{
    return token_get_on(tx_conn(engine), user_id, id, out);
}

static enum tsr_err tx_token_set(void *engine, const char *user_id, const char *id, unsigned fields,
                                 const struct tsr_token_row *v)
{
    return token_write(tx_conn(engine), user_id, id, fields, v);
}

static enum tsr_err tx_token_revoke(void *engine, const char *user_id, const char *id,
                                    enum tsr_token_kind kind, int64_t now)
{
    struct conn *c = tx_conn(engine);
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc = stmt_get(c, ST_TOKEN_REVOKE, &st);

    if (rc != TSR_OK)
        goto out;
    bind_str(st, 1, user_id, NO_CAP, &src);
    bind_str(st, 2, id, NO_CAP, &src);
    bind_str(st, 3, tsr__kind_text(kind), NO_CAP, &src);
    bind_int(st, 4, now, &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
    if (rc == TSR_OK && changes == 0)
        rc = TSR_ERR_NOT_FOUND;
out:
    stmt_done(st);
    return rc;
}

static enum tsr_err tx_audit_add(void *engine, const struct tsr_audit_row *row)
{
    struct conn *c = tx_conn(engine);
    sqlite3_stmt *st = NULL;
    enum tsr_err rc = stmt_get(c, ST_AUDIT_INSERT, &st);

    return rc == TSR_OK ? audit_add(c, st, row) : rc;
}

static enum tsr_err tx_event_add(void *engine, const struct tsr_audit_row *row,
                                 const char *event_id)
{
    struct event_spec e = {event_id, row->at, row->event, row->token_id, 0, row->mail_owner};

    return event_raise(engine, &e);
}

static const struct tsr__tx_ops sqlite_tx = {
    .begin = tx_begin,
    .savepoint = tx_savepoint,
    .release = tx_release,
    .rollback_to = tx_rollback_to,
    .commit = tx_commit,
    .failed = tx_failed,
    .user_live = tx_user_live,
    .token_count_kept = tx_token_count_kept,
    .token_add = tx_token_add,
    .token_get = tx_token_get,
    .token_set = tx_token_set,
    .token_revoke = tx_token_revoke,
    .audit_add = tx_audit_add,
    .event_add = tx_event_add,
};

/* ---- the store ---- */

static enum tsr_err sq_ping(struct tsr_store *store)
{
    int64_t n = 0;

    return run_query(store, ST_PING, NULL, NULL, row_int, &n, true);
}

static const char *sq_path(struct tsr_store *store)
{
    return from_base(store)->path;
}

/* strerror(e) with a lower-case first letter, as our messages are. */
static const char *errno_text(int e, char *buf, size_t size)
{
    char tmp[128];
    const char *s = strerror_r(e, tmp, sizeof(tmp));

    tsr__copy_str(buf, size, s, strlen(s));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* Creates the folder that will hold path (mode 0700) when it is missing;
 * only the last level, as a deeper missing path is more likely a typo. */
static enum tsr_err make_folder(const char *path, char *msg, size_t size)
{
    char ebuf[128];
    char *copy = strdup(path);
    const char *dir;
    enum tsr_err rc = TSR_OK;

    if (copy == NULL) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    dir = dirname(copy);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tsr__set_msg(msg, size, "cannot create folder '%s': %s", dir,
                     errno_text(errno, ebuf, sizeof(ebuf)));
        rc = TSR_ERR_IO;
    }
out:
    free(copy);
    return rc;
}

/* Takes every permission from group and others on path when it exists. */
static enum tsr_err make_private(const char *path, char *msg, size_t size)
{
    char ebuf[128];
    struct stat sb;

    if (stat(path, &sb) != 0 || (sb.st_mode & 077) == 0)
        return TSR_OK;
    if (chmod(path, 0600) == 0)
        return TSR_OK;
    tsr__set_msg(msg, size, "cannot make '%s' private: %s", path,
                 errno_text(errno, ebuf, sizeof(ebuf)));
    return TSR_ERR_IO;
}

/* Creates the database file 0600 before SQLite opens it: SQLite gives its
 * -wal and -shm files the mode of the database file, so they are private
 * too. Files left by an older or careless run are made private as well. */
static enum tsr_err make_files(const char *path, char *msg, size_t size)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char ebuf[128];
    size_t len = strlen(path);
    char *name = malloc(len + sizeof("-journal"));
    int fd;
    enum tsr_err rc = TSR_OK;

    if (name == NULL) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        tsr__set_msg(msg, size, "%s", errno_text(errno, ebuf, sizeof(ebuf)));
        rc = TSR_ERR_IO;
        goto out;
    }
    close(fd);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]) && rc == TSR_OK; i++) {
        memcpy(name, path, len);
        memcpy(name + len, suffixes[i], strlen(suffixes[i]) + 1);
        rc = make_private(name, msg, size);
    }
out:
    free(name);
    return rc;
}

/* Runs SQL that holds no values (pragmas, a migration) on c. */
static enum tsr_err exec_sql(struct conn *c, const char *sql)
{
    return map_rc(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

/* Switches the database to WAL, which needs checking: a file system
 * without shared memory, for one, leaves it in another mode. */
static enum tsr_err use_wal(struct conn *c)
{
    sqlite3_stmt *st = NULL;
    bool row = false;
    const char *mode;
    enum tsr_err rc = map_rc(sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL));

    if (rc == TSR_OK)
        rc = stmt_step(st, &row);
    if (rc == TSR_OK) {
        mode = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (mode == NULL || strcasecmp(mode, "wal") != 0)
            rc = TSR_ERR_STORE;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Opens c on path. The writer gets WAL and synchronous=FULL, so that a
 * commit is on disk before we answer; a reader is made read-only. */
/* Counts every statement any connection runs, so that a test can prove the
 * verify path runs none. */
static int count_statement(unsigned type, void *ctx, void *p, void *x)
{
    atomic_uint_fast64_t *statements = ctx;

    (void)type;
    (void)p;
    (void)x;
    atomic_fetch_add_explicit(statements, 1, memory_order_relaxed);
    return 0;
}

static enum tsr_err conn_setup(struct conn *c, const char *path, bool writer)
{
    /* NOMUTEX: our own lock already keeps each connection to one thread. */
    int src = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    enum tsr_err rc = map_rc(src);

    if (src == SQLITE_CANTOPEN)
        rc = TSR_ERR_IO;
    if (rc != TSR_OK)
        return rc;
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    sqlite3_trace_v2(c->db, SQLITE_TRACE_STMT, count_statement, c->statements);
    rc = exec_sql(c, "PRAGMA foreign_keys=ON");
    if (rc == TSR_OK && writer)
        rc = use_wal(c);
    if (rc == TSR_OK && writer)
        rc = exec_sql(c, "PRAGMA synchronous=FULL");
    /* The writer walks the tokens' pages for every batch of last-used times:
     * 32 MiB keeps a million tokens' keys in memory. */
    if (rc == TSR_OK && writer)
        rc = exec_sql(c, "PRAGMA cache_size=-32768");
    if (rc == TSR_OK && !writer)
        rc = exec_sql(c, "PRAGMA query_only=ON");
    return rc;
}

/* conn_setup, with a sentence for people when it fails. */
static enum tsr_err conn_open(struct conn *c, const char *path, bool writer, char *msg, size_t size)
{
    enum tsr_err rc = conn_setup(c, path, writer);
    const char *why = "out of memory";

    if (rc == TSR_OK)
        return rc;
    /* A full disk shows as an I/O error here (the -shm file cannot grow to
     * its first page): say what the operator must fix. */
    if (c->db != NULL && sqlite3_system_errno(c->db) == ENOSPC) {
        why = "the disk is full";
        rc = TSR_ERR_FULL;
    } else if (c->db != NULL && sqlite3_errcode(c->db) != SQLITE_OK)
        why = sqlite3_errmsg(c->db);
    else if (c->db != NULL)
        why = "the file system cannot hold a WAL database";
    tsr__set_msg(msg, size, "%s", why);
    return rc;
}

/* Applies migration `version` when the database is below it, in one
 * transaction with its entry in schema_migrations. */
static enum tsr_err migrate_one(struct conn *c, int64_t version, int64_t *found)
{
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int changes = 0;
    enum tsr_err rc = exec_sql(c, "BEGIN IMMEDIATE;"
                                  "CREATE TABLE IF NOT EXISTS schema_migrations("
                                  "version INTEGER PRIMARY KEY)");

    if (rc != TSR_OK)
        goto out;
    rc = map_rc(sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                   -1, &st, NULL));
    if (rc == TSR_OK)
        rc = query_int(st, found);
    sqlite3_finalize(st);
    st = NULL;
    /* A newer program has been here: its schema is not ours to touch. */
    if (rc != TSR_OK || *found >= version || *found > MIGRATION_COUNT)
        goto out;
    rc = exec_sql(c, migrations[version - 1]);
    if (rc == TSR_OK)
        rc = map_rc(sqlite3_prepare_v2(c->db, "INSERT INTO schema_migrations(version) VALUES(?1)",
                                       -1, &st, NULL));
    if (rc != TSR_OK)
        goto out;
    bind_int(st, 1, version, &src);
    rc = bind_done(src);
    if (rc == TSR_OK)
        rc = step_write(c, st, &changes);
out:
    sqlite3_finalize(st);
    return tx_end(c, rc);
}

static enum tsr_err migrate(struct conn *c, const char *path, char *msg, size_t size)
{
    int64_t found = 0;
    enum tsr_err rc = TSR_OK;

    for (int64_t v = 1; v <= MIGRATION_COUNT && rc == TSR_OK; v++)
        rc = migrate_one(c, v, &found);
    if (rc != TSR_OK) {
        tsr__set_msg(msg, size, "cannot update the schema of '%s': %s", path,
                     sqlite3_errmsg(c->db));
    } else if (found > MIGRATION_COUNT) {
        tsr__set_msg(msg, size,
                     "database '%s' has schema version %lld, newer than this program's %lld", path,
                     (long long)found, (long long)MIGRATION_COUNT);
        rc = TSR_ERR_STORE;
    }
    return rc;
}

static void conn_close(struct conn *c)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close_v2(c->db);
    pthread_mutex_destroy(&c->lock);
}

static void sq_close(struct tsr_store *store)
{
    struct sqlite_store *s = from_base(store);

    if (s == NULL)
        return;
    tsr__committer_release(&s->base.committer);
    /* Readers first: the last connection to close checkpoints the WAL. */
    for (int i = 0; i < SQLITE_READERS; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    free(s->path);
    free(s);
}

#define PURGE_BATCH 10000

/* Deletes in batches, each its own transaction, so that a large purge never
 * holds the write lock for long. */
static enum tsr_err purge_batches(struct sqlite_store *s, enum stmt_id id, int64_t before,
                                  int64_t *purged)
{
    enum tsr_err rc = TSR_OK;
    int changes = PURGE_BATCH;

    *purged = 0;
    while (rc == TSR_OK && changes == PURGE_BATCH) {
        sqlite3_stmt *st = NULL;
        int src = SQLITE_OK;

        changes = 0;
        rc = write_begin(s);
        if (rc != TSR_OK)
            break;
        rc = stmt_get(&s->writer, id, &st);
        if (rc == TSR_OK) {
            bind_int(st, 1, before, &src);
            bind_int(st, 2, PURGE_BATCH, &src);
            rc = bind_done(src);
        }
        if (rc == TSR_OK)
            rc = step_write(&s->writer, st, &changes);
        stmt_done(st);
        rc = write_end(s, rc);
        if (rc == TSR_OK)
            *purged += changes;
    }
    return rc;
}

static enum tsr_err sq_purge(struct tsr_store *store, int64_t tokens_before, int64_t audit_before,
                             int64_t *tokens, int64_t *audits)
{
    struct sqlite_store *s = from_base(store);
    int64_t events = 0, notices = 0;
    /* Fold first: the last-used times of the tokens purged go with them. */
    enum tsr_err rc = write_begin(s);

    if (rc == TSR_OK)
        rc = write_end(s, fold_uses(s));
    if (rc == TSR_OK)
        rc = purge_batches(s, ST_PURGE_TOKENS, tokens_before, tokens);

    if (rc == TSR_OK)
        rc = purge_batches(s, ST_PURGE_AUDIT, audit_before, audits);
    if (rc == TSR_OK)
        rc = purge_batches(s, ST_PURGE_EVENTS, audit_before, &events);
    /* After the tokens, so that the notices of those just purged go too. */
    if (rc == TSR_OK)
        rc = purge_batches(s, ST_PURGE_NOTICES, audit_before, &notices);
    return rc;
}

/* SQLite's online backup from a reader: one read transaction, so the copy
 * is consistent while the server goes on writing. */
static enum tsr_err sq_backup(struct tsr_store *store, const char *dest, char *msg, size_t size)
{
    struct sqlite_store *s = from_base(store);
    sqlite3 *out = NULL;
    sqlite3_backup *b;
    struct conn *c;
    int src, fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    char buf[128];

    if (fd < 0) {
        tsr__set_msg(msg, size, "cannot create '%s': %s", dest,
                     errno_text(errno, buf, sizeof(buf)));
        return TSR_ERR_IO;
    }
    close(fd);
    src = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE, NULL);
    if (src == SQLITE_OK) {
        c = reader_take(s);
        b = sqlite3_backup_init(out, "main", c->db, "main");
        src = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(out);
        if (b)
            sqlite3_backup_finish(b);
        reader_release(c);
        if (src == SQLITE_DONE)
            src = SQLITE_OK;
    }
    if (src != SQLITE_OK)
        tsr__set_msg(msg, size, "cannot copy the database to '%s': %s", dest, sqlite3_errstr(src));
    sqlite3_close(out);
    if (src != SQLITE_OK)
        unlink(dest);
    return map_rc(src);
}

static const struct tsr__store_ops sqlite_ops = {
    .close = sq_close,
    .ping = sq_ping,
    .path = sq_path,
    .user_insert = sq_user_insert,
    .user_by_email = sq_user_by_email,
    .user_by_id = sq_user_by_id,
    .user_each = sq_user_each,
    .user_count = sq_user_count,
    .user_set_password = sq_user_set_password,
    .user_remove = sq_user_remove,
    .token_by_hash = sq_token_by_hash,
    .token_by_hash_any = sq_token_by_hash_any,
    .token_insert_many = sq_token_insert_many,
    .statements = sq_statements,
    .purge = sq_purge,
    .backup = sq_backup,
    .token_get = sq_token_get,
    .token_list = sq_token_list,
    .token_each_live = sq_token_each_live,
    .token_changes = sq_token_changes,
    .change_seq = sq_change_seq,
    .token_touch = sq_token_touch,
    .audit_append = sq_audit_append,
    .audit_each = sq_audit_each,
    .audit_list = sq_audit_list,
    .scope_insert = sq_scope_insert,
    .scope_remove = sq_scope_remove,
    .scope_each = sq_scope_each,
    .scope_version = sq_scope_version,
    .webhook_insert = sq_webhook_insert,
    .webhook_remove = sq_webhook_remove,
    .webhook_each = sq_webhook_each,
    .delivery_claim = sq_delivery_claim,
    .delivery_finish = sq_delivery_finish,
    .delivery_each = sq_delivery_each,
    .expiry_notices = sq_expiry_notices,
};

/* Allocates a store with no connection open yet. */
static struct sqlite_store *store_new(const char *path)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.ops = &sqlite_ops;
    s->folded_at = monotonic_seconds();
    s->path = strdup(path);
    if (s->path == NULL) {
        free(s);
        return NULL;
    }
    s->writer.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < SQLITE_READERS; i++)
        s->readers[i].lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    atomic_init(&s->next_reader, 0);
    atomic_init(&s->statements, 0);
    tsr__committer_init(&s->base.committer, &sqlite_tx, s);
    return s;
}

/* Opens the writer, brings the schema up to date, then opens the readers,
 * which thus never see an old schema. */
static enum tsr_err store_connect(struct sqlite_store *s, char *msg, size_t size)
{
    enum tsr_err rc;

    s->writer.statements = &s->statements;
    for (size_t i = 0; i < SQLITE_READERS; i++)
        s->readers[i].statements = &s->statements;
    rc = conn_open(&s->writer, s->path, true, msg, size);

    if (rc == TSR_OK)
        rc = migrate(&s->writer, s->path, msg, size);
    for (int i = 0; i < SQLITE_READERS && rc == TSR_OK; i++)
        rc = conn_open(&s->readers[i], s->path, false, msg, size);
    return rc;
}

enum tsr_err tsr__store_sqlite_open(const char *path, struct tsr_store **out, char *err_msg,
                                    size_t err_msg_size)
{
    struct sqlite_store *s = NULL;
    enum tsr_err rc = TSR_OK;

    /* Each connection would get a database of its own. */
    if (strcmp(path, ":memory:") == 0) {
        tsr__set_msg(err_msg, err_msg_size, "an in-memory database is not supported");
        rc = TSR_ERR_INVALID;
        goto out;
    }
    s = store_new(path);
    if (s == NULL) {
        tsr__set_msg(err_msg, err_msg_size, "out of memory");
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    rc = make_folder(path, err_msg, err_msg_size);
    if (rc == TSR_OK)
        rc = make_files(path, err_msg, err_msg_size);
    if (rc == TSR_OK)
        rc = store_connect(s, err_msg, err_msg_size);
    if (rc == TSR_OK && (rc = tsr__committer_start(&s->base.committer)) != TSR_OK)
        tsr__set_msg(err_msg, err_msg_size, "cannot start a thread");
    if (rc != TSR_OK)
        goto out;
    *out = &s->base;
    s = NULL;
out:
    if (s != NULL)
        sq_close(&s->base);
    return rc;
}
