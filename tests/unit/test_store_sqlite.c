/* test_store_sqlite.c - the SQLite store: files, users, tokens, audit, threads
 *
 * The same program tests the PostgreSQL engine when TSR_TEST_PG names a
 * cluster's base URL (postgresql://user@host:port), or TSR_TEST_PG_FILE a
 * file that holds one (tests/pg/pg-cluster writes it): each test then gets a
 * database of its own, and the tests of SQLite's files are skipped. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "store/store.h"

#define MAX_SEEN 128

/* The PostgreSQL cluster's base URL, or NULL to test SQLite. */
static const char *g_pg;

/* A fresh folder and a store in its (not yet existing) subfolder "data";
 * with PostgreSQL, a fresh database, and path is its URL. */
struct fixture {
    char dir[64];
    char path[512];
    char pg_db[64]; /* the database's name; "" for SQLite */
    struct tsr_store *store;
    int64_t now;
};

/* Copies src into dst of size bytes, cut to fit. */
static void set_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Joins a and b into out; fails the test when it does not fit. */
static void join(char *out, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);

    assert_true(la + lb < size);
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs sql (no values) on the cluster's database db; fails the test when
 * it fails. Returns the first column of the first row as an integer (-1
 * when there is none). */
static int64_t pg_exec(const char *db, const char *sql)
{
    char url[512];
    PGconn *pg;
    PGresult *r;
    int64_t v = -1;

    snprintf(url, sizeof(url), "%s/%s", g_pg, db);
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(pg));
    r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg));
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(pg);
    return v;
}

/* Gives f a new empty database and points f->path at it. */
static void pg_create(struct fixture *f)
{
    static int n;
    char sql[128];

    snprintf(f->pg_db, sizeof(f->pg_db), "tsr_store_%d_%d", (int)getpid(), ++n);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pg_db);
    pg_exec("postgres", sql);
    snprintf(f->path, sizeof(f->path), "%s/%s", g_pg, f->pg_db);
}

static void pg_drop(struct fixture *f)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->pg_db);
    pg_exec("postgres", sql);
}

/* Skips a test of what only SQLite has (files, pragmas). */
#define SQLITE_ONLY()                                                                              \
    do {                                                                                           \
        if (g_pg != NULL)                                                                          \
            skip();                                                                                \
    } while (0)

static void open_store(struct fixture *f)
{
    char msg[256] = "";
    enum tsr_err rc = tsr_store_open(f->path, &f->store, msg, sizeof(msg));

    if (rc != TSR_OK)
        print_error("open: %s\n", msg);
    assert_int_equal(rc, TSR_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    set_str(f->dir, sizeof(f->dir), "/tmp/tsr-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    join(f->path, sizeof(f->path), f->dir, "/data/tessera.db");
    if (g_pg != NULL)
        pg_create(f);
    f->now = tsr_time_now();
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    tsr_store_close(f->store);
    if (f->pg_db[0])
        pg_drop(f);
    nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static void add_user(struct fixture *f, const char *email, int64_t created,
                     struct tsr_user_row *out)
{
    struct tsr_user_row u;

    memset(&u, 0, sizeof(u));
    tsr_uuid7_new(u.id);
    set_str(u.email, sizeof(u.email), email);
    set_str(u.password_hash, sizeof(u.password_hash), "$argon2id$v=19$m=65536,t=2,p=1$x$y");
    u.created = created;
    assert_int_equal(tsr_store_user_insert(f->store, &u), TSR_OK);
    if (out != NULL)
        *out = u;
}

/* Fills t as a new token of user_id; a NULL id gets a fresh UUIDv7. */
static void fill_token(struct tsr_token_row *t, const char *user_id, enum tsr_token_kind kind,
                       const char *id, const char *name, int64_t created, int64_t expires_at)
{
    char secret[TSR_SECRET_LEN + 1];

    memset(t, 0, sizeof(*t));
    if (id != NULL)
        set_str(t->id, sizeof(t->id), id);
    else
        tsr_uuid7_new(t->id);
    set_str(t->user_id, sizeof(t->user_id), user_id);
    t->kind = kind;
    set_str(t->name, sizeof(t->name), name);
    tsr_secret_generate(kind == TSR_TOKEN_SESSION ? TSR_SECRET_SESSION : TSR_SECRET_PERSONAL,
                        secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, t->secret_hash);
    tsr_secret_hint(secret, t->key_hint);
    t->created = created;
    t->expires_at = expires_at;
}

/* Inserts a token with no limit; returns it in *out. */
static void add_token(struct fixture *f, const char *user_id, enum tsr_token_kind kind,
                      const char *name, int64_t expires_at, struct tsr_token_row *out)
{
    struct tsr_token_row t;

    fill_token(&t, user_id, kind, NULL, name, f->now, expires_at);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);
    if (out != NULL)
        *out = t;
}

/* What a callback saw. */
struct seen {
    int n;
    int stop_after; /* 0: never stop */
    char id[MAX_SEEN][TSR_UUID_LEN + 1];
    int64_t seq[MAX_SEEN];
    int64_t revoked_at[MAX_SEEN];
    int64_t last_used_at[MAX_SEEN];
    char text[MAX_SEEN][64];
};

static enum tsr_err see_token(const struct tsr_token_row *t, void *ctx)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    set_str(s->id[s->n], sizeof(s->id[0]), t->id);
    set_str(s->text[s->n], sizeof(s->text[0]), t->name);
    s->seq[s->n] = t->change_seq;
    s->revoked_at[s->n] = t->revoked_at;
    s->last_used_at[s->n] = t->last_used_at;
    s->n++;
    return (s->stop_after > 0 && s->n >= s->stop_after) ? TSR_ERR_LIMIT : TSR_OK;
}

/* Keeps the last row seen whole, and counts them: ctx is a struct whose
 * first member is a row and second an int. */
struct kept {
    struct tsr_token_row row;
    int n;
};

static enum tsr_err keep_last(const struct tsr_token_row *t, void *ctx)
{
    struct kept *k = ctx;

    k->row = *t;
    k->n++;
    return TSR_OK;
}

/* keep_last for the rows whose scopes are not global nor made of 's'. */
static enum tsr_err keep_scoped(const struct tsr_token_row *t, void *ctx)
{
    if (strcmp(t->scopes, "global") == 0 || t->scopes[0] == 's')
        return TSR_OK;
    return keep_last(t, ctx);
}

static enum tsr_err keep_any(const struct tsr_token_row *t, void *ctx)
{
    *(struct tsr_token_row *)ctx = *t;
    return TSR_OK;
}

static enum tsr_err see_user(const struct tsr_user_row *u, void *ctx)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    set_str(s->id[s->n], sizeof(s->id[0]), u->id);
    set_str(s->text[s->n], sizeof(s->text[0]), u->email);
    s->seq[s->n] = u->created;
    s->n++;
    return (s->stop_after > 0 && s->n >= s->stop_after) ? TSR_ERR_LIMIT : TSR_OK;
}

/* Whether id was seen. */
static bool saw(const struct seen *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->id[i], id) == 0)
            return true;
    return false;
}

/* Runs a query with the given search (NULL for none) and returns how many match. */
static int64_t count_search(struct fixture *f, const char *user_id, const char *search, size_t len,
                            struct seen *s)
{
    struct tsr_token_query q = {
        .user_id = user_id,
        .search = search,
        .search_len = len,
        .order = TSR_ORDER_NAME,
        .limit = 100,
    };
    int64_t total = -1;

    memset(s, 0, sizeof(*s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, s, &total), TSR_OK);
    assert_int_equal(total, s->n);
    return total;
}

static int64_t search(struct fixture *f, const char *user_id, const char *text, struct seen *s)
{
    return count_search(f, user_id, text, text != NULL ? strlen(text) : 0, s);
}

static mode_t mode_of(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* Reads one integer with a connection of the test's own. */
static int64_t sql_int(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (g_pg != NULL)
        return pg_exec(f->pg_db, sql);
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs sql (statements, no values) with a connection of the test's own,
 * with the store closed, so that the test can shape the database behind the
 * store's back. */
static void sql_exec(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    if (g_pg != NULL) {
        (void)pg_exec(f->pg_db, sql);
        return;
    }
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* ---- files and opening ---- */

static void test_open_creates_private_files(void **state)
{
    struct fixture *f = *state;
    char name[160];
    mode_t old;

    SQLITE_ONLY();
    old = umask(0);

    /* Again from nothing, with no umask to hide a wrong mode. */
    tsr_store_close(f->store);
    f->store = NULL;
    nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    open_store(f);
    umask(old);

    join(name, sizeof(name), f->dir, "/data");
    assert_int_equal(mode_of(name), 0700);
    assert_int_equal(mode_of(f->path), 0600);
    join(name, sizeof(name), f->path, "-wal");
    assert_int_equal(mode_of(name), 0600);
    join(name, sizeof(name), f->path, "-shm");
    assert_int_equal(mode_of(name), 0600);
    assert_string_equal(tsr_store_path(f->store), f->path);
    assert_int_equal(tsr_store_ping(f->store), TSR_OK);
}

static void test_open_tightens_wide_mode(void **state)
{
    struct fixture *f = *state;

    SQLITE_ONLY();

    tsr_store_close(f->store);
    f->store = NULL;
    assert_int_equal(chmod(f->path, 0644), 0);
    open_store(f);
    assert_int_equal(mode_of(f->path), 0600);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_user_row got;

    add_user(f, "keep@example.com", 5, &u);
    tsr_store_close(f->store);
    f->store = NULL;
    open_store(f);
    tsr_store_close(f->store);
    f->store = NULL;
    open_store(f);
    assert_int_equal(tsr_store_user_by_id(f->store, u.id, &got), TSR_OK);
    assert_string_equal(got.email, "keep@example.com");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"), 6);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), 6);
}

static void test_open_pragmas(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    SQLITE_ONLY();

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A PostgreSQL URL goes to that engine, which says when it cannot connect. */
static void test_open_reports_unreachable_postgres(void **state)
{
    struct tsr_store *store = NULL;
    char msg[256] = "";

    (void)state;
    assert_int_equal(tsr_store_open("postgres://u@127.0.0.1:1/db", &store, msg, sizeof(msg)),
                     TSR_ERR_IO);
    assert_non_null(strstr(msg, "cannot connect to PostgreSQL"));
    assert_null(strstr(msg, "postgres://"));
    msg[0] = '\0';
    assert_int_equal(tsr_store_open("postgresql://127.0.0.1:1/db", &store, msg, sizeof(msg)),
                     TSR_ERR_IO);
    assert_non_null(strstr(msg, "cannot connect to PostgreSQL"));
    assert_null(store);
}

static void test_open_reports_missing_folders(void **state)
{
    struct fixture *f = *state;
    struct tsr_store *store = NULL;
    char path[160];
    char msg[256] = "";

    SQLITE_ONLY();

    join(path, sizeof(path), f->dir, "/a/b/t.db");
    assert_int_equal(tsr_store_open(path, &store, msg, sizeof(msg)), TSR_ERR_IO);
    assert_non_null(strstr(msg, "cannot create folder"));
    assert_non_null(strstr(msg, "no such file or directory"));
    assert_null(store);
}

/* ---- users ---- */

static void test_user_insert_and_find(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_user_row dup;
    struct tsr_user_row got;

    add_user(f, "Alice@Example.com", 100, &u);
    dup = u;
    tsr_uuid7_new(dup.id);
    set_str(dup.email, sizeof(dup.email), "alice@example.COM");
    assert_int_equal(tsr_store_user_insert(f->store, &dup), TSR_ERR_EXISTS);

    assert_int_equal(tsr_store_user_by_email(f->store, "ALICE@example.com", &got), TSR_OK);
    assert_string_equal(got.id, u.id);
    assert_string_equal(got.email, "Alice@Example.com"); /* stored as given */
    assert_string_equal(got.password_hash, u.password_hash);
    assert_int_equal(got.created, 100);
    assert_int_equal(tsr_store_user_by_id(f->store, u.id, &got), TSR_OK);
    assert_string_equal(got.email, "Alice@Example.com");
    assert_int_equal(tsr_store_user_by_email(f->store, "bob@example.com", &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_user_by_id(f->store, dup.id, &got), TSR_ERR_NOT_FOUND);
    /* A LIKE pattern must not match. */
    assert_int_equal(tsr_store_user_by_email(f->store, "alice@example.%", &got), TSR_ERR_NOT_FOUND);
}

static void test_user_each_and_count(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row a, b, c;
    struct seen s;
    int64_t n = -1;

    add_user(f, "c@example.com", 30, &c);
    add_user(f, "a@example.com", 10, &a);
    add_user(f, "b@example.com", 20, &b);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_user_each(f->store, see_user, &s), TSR_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.id[0], a.id);
    assert_string_equal(s.id[1], b.id);
    assert_string_equal(s.id[2], c.id);
    assert_int_equal(tsr_store_user_count(f->store, &n), TSR_OK);
    assert_int_equal(n, 3);

    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(tsr_store_user_each(f->store, see_user, &s), TSR_ERR_LIMIT);
    assert_int_equal(s.n, 2);
}

static void test_user_set_password_revokes_sessions(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other, got;
    struct tsr_token_row p, s1, s2, so, t;
    int64_t seq0 = 0, seq1 = 0;

    add_user(f, "pw@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "cli", f->now + 1000, &p);
    add_token(f, u.id, TSR_TOKEN_SESSION, "s1", f->now + 1000, &s1);
    add_token(f, u.id, TSR_TOKEN_SESSION, "s2", f->now + 1000, &s2);
    add_token(f, other.id, TSR_TOKEN_SESSION, "so", f->now + 1000, &so);
    assert_int_equal(tsr_store_change_seq(f->store, &seq0), TSR_OK);

    assert_int_equal(tsr_store_user_set_password(f->store, u.id, "$argon2id$new", f->now), TSR_OK);
    assert_int_equal(tsr_store_user_by_id(f->store, u.id, &got), TSR_OK);
    assert_string_equal(got.password_hash, "$argon2id$new");
    assert_int_equal(tsr_store_token_by_hash(f->store, s1.secret_hash, &t), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_by_hash(f->store, s2.secret_hash, &t), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_by_hash(f->store, p.secret_hash, &t), TSR_OK);
    assert_int_equal(tsr_store_token_by_hash(f->store, so.secret_hash, &t), TSR_OK);
    assert_int_equal(tsr_store_change_seq(f->store, &seq1), TSR_OK);
    assert_int_equal(seq1, seq0 + 2); /* one change each */

    assert_int_equal(tsr_store_user_set_password(f->store, p.id, "$x", f->now), TSR_ERR_NOT_FOUND);
}

static void test_user_remove_revokes_tokens(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, again, got;
    struct tsr_token_row p1, p2, s1, t;
    struct seen s;
    int64_t n = -1, max = 0;

    add_user(f, "Gone@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "p1", f->now + 1000, &p1);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "p2", f->now - 10, &p2); /* expired */
    add_token(f, u.id, TSR_TOKEN_SESSION, "s1", f->now + 1000, &s1);

    assert_int_equal(tsr_store_user_remove(f->store, u.id, f->now), TSR_OK);
    assert_int_equal(tsr_store_user_by_id(f->store, u.id, &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_user_by_email(f->store, "gone@example.com", &got),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_user_count(f->store, &n), TSR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tsr_store_token_by_hash(f->store, p1.secret_hash, &t), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_by_hash(f->store, s1.secret_hash, &t), TSR_ERR_NOT_FOUND);
    /* The audit trail can still name them. */
    assert_int_equal(tsr_store_token_by_hash_any(f->store, p1.secret_hash, &t), TSR_OK);
    assert_string_equal(t.id, p1.id);
    assert_int_equal(t.revoked_at, f->now);
    assert_int_equal(tsr_store_token_by_hash_any(f->store, s1.secret_hash, &t), TSR_OK);
    assert_string_equal(t.user_id, u.id);
    uint8_t nobody[TSR_HASH_LEN] = {0};
    assert_int_equal(tsr_store_token_by_hash_any(f->store, nobody, &t), TSR_ERR_NOT_FOUND);

    /* Every token revoked at now, each with a change of its own. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(f->store, 3, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.revoked_at[i], f->now);
        assert_int_equal(s.seq[i], 4 + i);
    }
    assert_int_equal(max, 6);

    assert_int_equal(tsr_store_user_remove(f->store, u.id, f->now), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_user_set_password(f->store, u.id, "$x", f->now), TSR_ERR_NOT_FOUND);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "late", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_ERR_NOT_FOUND);

    /* The email is free again. */
    add_user(f, "gone@EXAMPLE.com", 2, &again);
    assert_int_equal(tsr_store_user_by_email(f->store, "Gone@example.com", &got), TSR_OK);
    assert_string_equal(got.id, again.id);
}

/* ---- tokens ---- */

static void test_token_insert_limit(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other;
    struct tsr_token_row t, b;

    add_user(f, "limit@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    add_token(f, other.id, TSR_TOKEN_PERSONAL, "theirs", f->now + 100, NULL);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "expired", f->now - 1, NULL);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "expires now", f->now, NULL);
    add_token(f, u.id, TSR_TOKEN_SESSION, "session", f->now + 100, NULL);

    /* The two expired tokens count until retention deletes them. */
    fill_token(&b, u.id, TSR_TOKEN_PERSONAL, NULL, "b", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &b, 3, f->now, NULL), TSR_OK);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "d", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 3, f->now, NULL), TSR_ERR_LIMIT);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &b), TSR_ERR_NOT_FOUND);

    /* Sessions are not limited, and no limit is no limit. */
    fill_token(&t, u.id, TSR_TOKEN_SESSION, NULL, "s", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 2, f->now, NULL), TSR_OK);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "e", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);

    /* A revoked token frees its place. */
    fill_token(&b, u.id, TSR_TOKEN_PERSONAL, NULL, "f", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &b, 5, f->now, NULL), TSR_OK);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "g", f->now, f->now + 100);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 5, f->now, NULL), TSR_ERR_LIMIT);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, b.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 5, f->now, NULL), TSR_OK);
}

static void test_token_by_hash_and_get(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other;
    struct tsr_token_row p, e, s, got;

    add_user(f, "get@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    fill_token(&p, u.id, TSR_TOKEN_PERSONAL, NULL, "CI deploy", 77, f->now + 500);
    set_str(p.description, sizeof(p.description), "builds\nand deploys");
    assert_int_equal(tsr_store_token_insert(f->store, &p, 0, f->now, NULL), TSR_OK);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "old", f->now - 5, &e);
    add_token(f, u.id, TSR_TOKEN_SESSION, "web", f->now + 500, &s);

    assert_int_equal(tsr_store_token_by_hash(f->store, p.secret_hash, &got), TSR_OK);
    assert_string_equal(got.id, p.id);
    assert_string_equal(got.user_id, u.id);
    assert_int_equal(got.kind, TSR_TOKEN_PERSONAL);
    assert_string_equal(got.name, "CI deploy");
    assert_string_equal(got.description, "builds\nand deploys");
    assert_memory_equal(got.secret_hash, p.secret_hash, TSR_HASH_LEN);
    assert_string_equal(got.key_hint, p.key_hint);
    assert_int_equal(got.created, 77);
    assert_int_equal(got.expires_at, f->now + 500);
    assert_int_equal(got.last_used_at, 0);
    assert_int_equal(got.revoked_at, 0);
    assert_true(got.change_seq > 0);
    assert_int_equal(tsr_store_token_by_hash(f->store, s.secret_hash, &got), TSR_OK);
    assert_int_equal(got.kind, TSR_TOKEN_SESSION);
    assert_int_equal(tsr_store_token_by_hash(f->store, e.secret_hash, &got), TSR_OK); /* expired */

    assert_int_equal(tsr_store_token_get(f->store, u.id, p.id, &got), TSR_OK);
    assert_string_equal(got.name, "CI deploy");
    assert_int_equal(tsr_store_token_get(f->store, u.id, e.id, &got), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, other.id, p.id, &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_get(f->store, u.id, s.id, &got), TSR_ERR_NOT_FOUND);

    assert_int_equal(tsr_store_token_revoke(f->store, u.id, p.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_by_hash(f->store, p.secret_hash, &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_get(f->store, u.id, p.id, &got), TSR_ERR_NOT_FOUND);
}

/* Adds a personal token with a given id, name, description and times. */
static void add_listed(struct fixture *f, const char *user_id, const char *id, const char *name,
                       const char *desc, int64_t created, int64_t expires_at, int64_t last_used)
{
    struct tsr_token_row t;

    fill_token(&t, user_id, TSR_TOKEN_PERSONAL, id, name, created, expires_at);
    set_str(t.description, sizeof(t.description), desc);
    t.last_used_at = last_used;
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);
}

static void test_token_list_search(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other;
    struct tsr_token_row r;
    struct seen s;

    add_user(f, "list@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    add_listed(f, u.id, "00000000-0000-7000-8000-00000000000a", "Alpha 100%", "", 1, f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-00000000000b", "beta_x", "Second one", 1,
               f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-00000000000c", "gamma", "about ALPHA things", 1,
               f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-00000000000d", "ALPHAbet", "", 1, f->now - 9,
               0); /* expired ones are listed */
    add_listed(f, u.id, "00000000-0000-7000-8000-00000000000e", "Ação", "ünïcode", 1, f->now + 9,
               0);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "alpha revoked", f->now + 9, &r);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, r.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_OK);
    add_token(f, u.id, TSR_TOKEN_SESSION, "alpha session", f->now + 9, NULL);
    add_token(f, other.id, TSR_TOKEN_PERSONAL, "alpha other", f->now + 9, NULL);

    assert_int_equal(search(f, u.id, NULL, &s), 5);
    assert_int_equal(search(f, u.id, "", &s), 5);
    assert_int_equal(search(f, u.id, "alpha", &s), 3);
    assert_true(saw(&s, "00000000-0000-7000-8000-00000000000a"));
    assert_true(saw(&s, "00000000-0000-7000-8000-00000000000c"));
    assert_true(saw(&s, "00000000-0000-7000-8000-00000000000d"));
    assert_int_equal(search(f, u.id, "aLpHa", &s), 3);
    assert_int_equal(search(f, u.id, "SECOND", &s), 1);
    assert_string_equal(s.text[0], "beta_x");
    /* % and _ are plain characters. */
    assert_int_equal(search(f, u.id, "%", &s), 1);
    assert_string_equal(s.text[0], "Alpha 100%");
    assert_int_equal(search(f, u.id, "0%", &s), 1);
    assert_int_equal(search(f, u.id, "a%", &s), 0);
    assert_int_equal(search(f, u.id, "_", &s), 1);
    assert_string_equal(s.text[0], "beta_x");
    assert_int_equal(search(f, u.id, "a_x", &s), 1);
    assert_int_equal(search(f, u.id, "b_ta", &s), 0);
    assert_int_equal(search(f, u.id, "beta%", &s), 0);
    /* Other UTF-8 matches as it is; only ASCII letters fold. */
    assert_int_equal(search(f, u.id, "ção", &s), 1);
    assert_int_equal(search(f, u.id, "aÇÃO", &s), 0);
    assert_int_equal(search(f, u.id, "ÜNÏ", &s), 0);
    assert_int_equal(search(f, u.id, "ünï", &s), 1);
    /* The length given counts, not the NUL. */
    assert_int_equal(count_search(f, u.id, "alphaXYZ", 5, &s), 3);
    assert_int_equal(search(f, u.id, "nothing like it", &s), 0);
}

/* Lists the five tokens of test_token_list_order in order and checks the ids' last digits. */
static void check_order(struct fixture *f, const char *user_id, enum tsr_token_order order,
                        bool descending, const char *expect)
{
    struct tsr_token_query q = {
        .user_id = user_id,
        .order = order,
        .descending = descending,
        .limit = 20,
    };
    struct seen s;
    char got[16];
    int64_t total = 0;

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_OK);
    assert_int_equal(total, 5);
    assert_int_equal(s.n, 5);
    for (int i = 0; i < s.n; i++)
        got[i] = s.id[i][TSR_UUID_LEN - 1];
    got[s.n] = '\0';
    assert_string_equal(got, expect);
}

static void test_token_list_order(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    int64_t n = f->now;

    add_user(f, "order@example.com", 1, &u);
    /*         id  name created expires   last used */
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000001", "b", "", 100, n + 1000, 50);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000002", "a", "", 100, n + 2000, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000003", "c", "", 200, n + 1000, 50);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000004", "A", "", 50, n + 3000, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000005", "D", "", 300, n + 500, 70);

    check_order(f, u.id, TSR_ORDER_CREATED, false, "41235");
    check_order(f, u.id, TSR_ORDER_CREATED, true, "53214");
    /* Names without regard to ASCII case; "a" and "A" tie, so by id. */
    check_order(f, u.id, TSR_ORDER_NAME, false, "24135");
    check_order(f, u.id, TSR_ORDER_NAME, true, "53142");
    check_order(f, u.id, TSR_ORDER_EXPIRES_AT, false, "51324");
    check_order(f, u.id, TSR_ORDER_EXPIRES_AT, true, "42315");
    /* Never used last both ways. */
    check_order(f, u.id, TSR_ORDER_LAST_USED_AT, false, "13524");
    check_order(f, u.id, TSR_ORDER_LAST_USED_AT, true, "53142");
}

static void test_token_list_paging(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_query q;
    struct seen s;
    int64_t total = 0;

    add_user(f, "page@example.com", 1, &u);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000001", "t1", "", 100, f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000002", "t2", "", 200, f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000003", "t3", "", 300, f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000004", "t4", "", 400, f->now + 9, 0);
    add_listed(f, u.id, "00000000-0000-7000-8000-000000000005", "t5", "", 500, f->now + 9, 0);

    memset(&q, 0, sizeof(q));
    q.user_id = u.id;
    q.order = TSR_ORDER_CREATED;
    q.descending = true;
    q.offset = 1;
    q.limit = 2;
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_OK);
    assert_int_equal(total, 5);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.text[0], "t4");
    assert_string_equal(s.text[1], "t3");

    q.offset = 4;
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.text[0], "t1");

    q.offset = 10;
    total = 0;
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_OK);
    assert_int_equal(total, 5);
    assert_int_equal(s.n, 0);

    /* A callback's answer ends the walk and comes back. */
    q.offset = 0;
    q.limit = 5;
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_ERR_LIMIT);
    assert_int_equal(s.n, 2);
}

static void test_token_update(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other;
    struct tsr_token_row t, e, sess, v, out, got;

    add_user(f, "upd@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "old", 5, f->now + 1000);
    set_str(t.description, sizeof(t.description), "old desc");
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &t), TSR_OK);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "expired", f->now, &e);
    add_token(f, u.id, TSR_TOKEN_SESSION, "session", f->now + 1000, &sess);

    memset(&v, 0, sizeof(v));
    set_str(v.name, sizeof(v.name), "new");
    set_str(v.description, sizeof(v.description), "not written");
    v.expires_at = 1;
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_OK);
    assert_string_equal(out.id, t.id);
    assert_string_equal(out.name, "new");
    assert_string_equal(out.description, "old desc");
    assert_int_equal(out.expires_at, f->now + 1000);
    assert_int_equal(out.created, 5);
    assert_true(out.change_seq > t.change_seq);

    set_str(v.description, sizeof(v.description), "");
    v.expires_at = f->now + 5000;
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id,
                                            TSR_SET_DESCRIPTION | TSR_SET_EXPIRES_AT, &v, NULL,
                                            NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.name, "new");
    assert_string_equal(got.description, "");
    assert_int_equal(got.expires_at, f->now + 5000);
    assert_true(got.change_seq > out.change_seq);

    assert_int_equal(tsr_store_token_update(f->store, other.id, t.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_update(f->store, u.id, sess.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_update(f->store, u.id, "00000000-0000-7000-8000-000000000000",
                                            TSR_SET_NAME, &v, &out, NULL),
                     TSR_ERR_NOT_FOUND);

    /* Whether an expired token may change is the service's rule: the store
     * writes it as any other (test_service proves the refusal). */
    assert_int_equal(tsr_store_token_get(f->store, u.id, e.id, &e), TSR_OK);
    assert_int_equal(tsr_store_token_update(f->store, u.id, e.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_OK);
    assert_string_equal(out.name, "new");
    assert_true(out.change_seq > e.change_seq);

    assert_int_equal(tsr_store_token_revoke(f->store, u.id, t.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_ERR_NOT_FOUND);
}

static void test_token_revoke(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, other;
    struct tsr_token_row p, s, got;
    int64_t seq0 = 0, seq1 = 0;

    add_user(f, "rev@example.com", 1, &u);
    add_user(f, "other@example.com", 1, &other);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "p", f->now + 100, &p);
    add_token(f, u.id, TSR_TOKEN_SESSION, "s", f->now + 100, &s);

    assert_int_equal(tsr_store_token_revoke(f->store, u.id, p.id, TSR_TOKEN_SESSION, f->now, NULL),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(
        tsr_store_token_revoke(f->store, other.id, p.id, TSR_TOKEN_PERSONAL, f->now, NULL),
        TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_change_seq(f->store, &seq0), TSR_OK);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, p.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_change_seq(f->store, &seq1), TSR_OK);
    assert_int_equal(seq1, seq0 + 1);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, p.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_get(f->store, u.id, p.id, &got), TSR_ERR_NOT_FOUND);

    assert_int_equal(tsr_store_token_revoke(f->store, u.id, s.id, TSR_TOKEN_PERSONAL, f->now, NULL),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, s.id, TSR_TOKEN_SESSION, f->now, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_by_hash(f->store, s.secret_hash, &got), TSR_ERR_NOT_FOUND);
}

static void test_token_each_live_and_changes(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, gone;
    struct tsr_token_row l1, l2, x, r, g;
    struct seen s;
    int64_t max = -1, seq = -1, since = 0;

    assert_int_equal(tsr_store_change_seq(f->store, &seq), TSR_OK);
    assert_int_equal(seq, 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(max, 0);

    add_user(f, "live@example.com", 1, &u);
    add_user(f, "gone@example.com", 1, &gone);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "l1", f->now + 100, &l1);
    add_token(f, u.id, TSR_TOKEN_SESSION, "l2", f->now + 100, &l2);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "x", f->now, &x);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "r", f->now + 100, &r);
    add_token(f, gone.id, TSR_TOKEN_PERSONAL, "g", f->now + 100, &g);
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, r.id, TSR_TOKEN_PERSONAL, f->now - 1, NULL), TSR_OK);
    assert_int_equal(tsr_store_user_remove(f->store, gone.id, f->now - 2), TSR_OK);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 2);
    assert_true(saw(&s, l1.id));
    assert_true(saw(&s, l2.id));
    assert_int_equal(tsr_store_change_seq(f->store, &seq), TSR_OK);
    assert_int_equal(max, seq);
    assert_int_equal(seq, 7); /* five inserts, a revoke, a removal */

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(f->store, 0, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(max, 7);
    for (int i = 1; i < s.n; i++)
        assert_true(s.seq[i] > s.seq[i - 1]);
    assert_string_equal(s.id[0], l1.id);
    assert_string_equal(s.id[1], l2.id);
    assert_string_equal(s.id[2], x.id);
    assert_string_equal(s.id[3], r.id);
    assert_int_equal(s.revoked_at[3], f->now - 1);
    assert_string_equal(s.id[4], g.id);
    assert_int_equal(s.revoked_at[4], f->now - 2);

    since = max;
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(f->store, since, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(max, since);

    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, l1.id, TSR_TOKEN_PERSONAL, f->now, NULL), TSR_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(f->store, since, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], l1.id);
    assert_int_equal(s.revoked_at[0], f->now);
    assert_int_equal(max, since + 1);
}

/* An engine may keep last-used times apart and move them into tokens now
 * and then; housekeeping (a purge) does that at once. */
static void fold_uses(struct fixture *f)
{
    int64_t tokens = -1, audits = -1;

    assert_int_equal(tsr_store_purge(f->store, 0, 0, &tokens, &audits), TSR_OK);
    assert_int_equal(tokens, 0);
}

static void test_token_touch(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, got;
    struct tsr_token_use uses[2];
    int64_t seq0 = 0, seq1 = 0;

    add_user(f, "touch@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);
    assert_int_equal(tsr_store_change_seq(f->store, &seq0), TSR_OK);

    memset(uses, 0, sizeof(uses));
    set_str(uses[0].id, sizeof(uses[0].id), t.id);
    uses[0].last_used_at = 100;
    set_str(uses[0].last_addr, sizeof(uses[0].last_addr), "10.0.0.1");
    set_str(uses[1].id, sizeof(uses[1].id), "00000000-0000-7000-8000-000000000000");
    uses[1].last_used_at = 100;
    assert_int_equal(tsr_store_token_touch(f->store, uses, 2), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 100);
    fold_uses(f);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 100);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tokens WHERE last_used_addr = '10.0.0.1'"),
                     1);

    /* Only forward. */
    uses[0].last_used_at = 90;
    set_str(uses[0].last_addr, sizeof(uses[0].last_addr), "10.0.0.2");
    assert_int_equal(tsr_store_token_touch(f->store, uses, 1), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 100);
    fold_uses(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tokens WHERE last_used_addr = '10.0.0.1'"),
                     1);

    uses[0].last_used_at = 200;
    uses[0].last_addr[0] = '\0';
    assert_int_equal(tsr_store_token_touch(f->store, uses, 1), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 200);
    fold_uses(f);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 200);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tokens WHERE last_used_addr IS NULL"), 1);

    assert_int_equal(tsr_store_token_touch(f->store, uses, 0), TSR_OK);
    assert_int_equal(tsr_store_change_seq(f->store, &seq1), TSR_OK);
    assert_int_equal(seq1, seq0);
}

/* SQLite keeps last-used times in token_uses and folds them into tokens
 * once it holds 50,000 rows: not once that many have been written, since
 * the same tokens used again and again (a gateway's) stay in it, and each
 * fold rewrites a page of tokens for each token in it. */
static void touch_batch(struct fixture *f, struct tsr_token_use *uses, size_t n,
                        const char *id_or_null, size_t first)
{
    for (size_t i = 0; i < n; i++) {
        memset(&uses[i], 0, sizeof(uses[i]));
        if (id_or_null)
            set_str(uses[i].id, sizeof(uses[i].id), id_or_null);
        else
            snprintf(uses[i].id, sizeof(uses[i].id), "00000000-0000-7000-8000-%012u",
                     (unsigned)(first + i));
        uses[i].last_used_at = 100 + (int64_t)i;
    }
    assert_int_equal(tsr_store_token_touch(f->store, uses, n), TSR_OK);
}

static void test_uses_fold_by_rows_held(void **state)
{
    enum { BATCH = 10000, FOLD_ROWS = 50000 };
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t;
    struct tsr_token_use *uses;

    SQLITE_ONLY();
    uses = calloc(BATCH, sizeof(*uses));
    assert_non_null(uses);
    add_user(f, "fold@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "busy", f->now + 1000, &t);
    for (size_t b = 0; b < 2 * FOLD_ROWS / BATCH; b++)
        touch_batch(f, uses, BATCH, t.id, 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM token_uses"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tokens WHERE last_used_at IS NULL"), 1);

    /* Ids that are gone fill it too (the fold drops them). */
    for (size_t b = 0; b < FOLD_ROWS / BATCH; b++)
        touch_batch(f, uses, BATCH, NULL, b * BATCH);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM token_uses"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tokens WHERE last_used_at IS NULL"), 0);
    free(uses);
}

/* ---- audit ---- */

static enum tsr_err see_audit(const struct tsr_audit_row *r, void *ctx)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    s->seq[s->n] = r->at;
    s->last_used_at[s->n] = r->count;
    set_str(s->id[s->n], sizeof(s->id[0]), r->user_id);
    join(s->text[s->n], sizeof(s->text[0]), r->action, r->remote_addr);
    s->n++;
    return TSR_OK;
}

static void fill_audit(struct tsr_audit_row *r, int64_t at, const char *user_id, const char *action,
                       const char *addr, int64_t count)
{
    memset(r, 0, sizeof(*r));
    r->at = at;
    set_str(r->user_id, sizeof(r->user_id), user_id);
    set_str(r->action, sizeof(r->action), action);
    set_str(r->remote_addr, sizeof(r->remote_addr), addr);
    set_str(r->outcome, sizeof(r->outcome), "success");
    r->count = count;
}

static void test_audit(void **state)
{
    struct fixture *f = *state;
    struct tsr_audit_row rows[4];
    struct seen s;
    const char *u1 = "00000000-0000-7000-8000-000000000001";
    const char *u2 = "00000000-0000-7000-8000-000000000002";

    fill_audit(&rows[0], 1, u1, "login", "::1", 0);
    fill_audit(&rows[1], 2, "", "auth", "10.0.0.9", 5);
    set_str(rows[1].outcome, sizeof(rows[1].outcome), "failure");
    fill_audit(&rows[2], 3, u1, "token.create", "", 1);
    set_str(rows[2].token_id, sizeof(rows[2].token_id), u2);
    fill_audit(&rows[3], 4, u2, "user.add", "", 1);
    assert_int_equal(tsr_store_audit_append(f->store, rows, 4), TSR_OK);
    assert_int_equal(tsr_store_audit_append(f->store, rows, 0), TSR_OK);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, NULL, 0, 100, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.seq[i], 4 - i); /* newest first */
    assert_string_equal(s.id[2], "");
    assert_string_equal(s.text[2], "auth10.0.0.9");
    assert_int_equal(s.last_used_at[2], 5);
    assert_int_equal(s.last_used_at[3], 1); /* a count below 1 is stored as 1 */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE user_id IS NULL"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE token_id IS NULL"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE remote_addr IS NULL"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE outcome = 'failure'"), 1);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, u1, 0, 100, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 3);
    assert_int_equal(s.seq[1], 1);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, NULL, 1, 2, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 3);
    assert_int_equal(s.seq[1], 2);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, NULL, 0, 0, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 0);
}

static enum tsr_err see_entry(const struct tsr_audit_entry *e, void *ctx)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    s->seq[s->n] = e->row.at;
    s->revoked_at[s->n] = e->has_token_name;
    set_str(s->id[s->n], sizeof(s->id[0]), e->row.token_id);
    join(s->text[s->n], sizeof(s->text[0]), e->row.action, e->token_name);
    s->n++;
    return (s->stop_after > 0 && s->n >= s->stop_after) ? TSR_ERR_LIMIT : TSR_OK;
}

static void test_audit_list(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u1, u2;
    struct tsr_token_row t;
    struct tsr_audit_row rows[5];
    struct seen s;
    int64_t total = -1;
    const char *gone = "00000000-0000-7000-8000-00000000dead";

    add_user(f, "one@example.com", f->now, &u1);
    add_user(f, "two@example.com", f->now, &u2);
    add_token(f, u1.id, TSR_TOKEN_PERSONAL, "CI deploy", f->now + 3600, &t);
    fill_audit(&rows[0], 1, u1.id, "login", "::1", 1);
    fill_audit(&rows[1], 2, u1.id, "token.create", "::1", 1);
    set_str(rows[1].token_id, sizeof(rows[1].token_id), t.id);
    fill_audit(&rows[2], 3, u2.id, "login", "::1", 1);
    fill_audit(&rows[3], 4, u1.id, "auth", "10.0.0.9", 3);
    set_str(rows[3].token_id, sizeof(rows[3].token_id), gone); /* purged: no name */
    set_str(rows[3].outcome, sizeof(rows[3].outcome), "failure");
    fill_audit(&rows[4], 5, u1.id, "token.delete", "::1", 1);
    set_str(rows[4].token_id, sizeof(rows[4].token_id), t.id);
    assert_int_equal(tsr_store_audit_append(f->store, rows, 5), TSR_OK);
    /* A revoked token still names its records. */
    assert_int_equal(
        tsr_store_token_revoke(f->store, u1.id, t.id, TSR_TOKEN_PERSONAL, f->now, NULL), TSR_OK);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_list(f->store, u1.id, 0, 100, see_entry, &s, &total), TSR_OK);
    assert_int_equal(total, 4);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.seq[0], 5); /* newest first, only u1's */
    assert_int_equal(s.seq[1], 4);
    assert_int_equal(s.seq[2], 2);
    assert_int_equal(s.seq[3], 1);
    assert_string_equal(s.text[0], "token.deleteCI deploy");
    assert_int_equal(s.revoked_at[0], 1);
    assert_string_equal(s.text[1], "auth");
    assert_string_equal(s.id[1], gone);
    assert_int_equal(s.revoked_at[1], 0);
    assert_string_equal(s.text[2], "token.createCI deploy");
    assert_string_equal(s.id[3], "");
    assert_int_equal(s.revoked_at[3], 0);

    /* A page: the total counts them all. */
    memset(&s, 0, sizeof(s));
    total = -1;
    assert_int_equal(tsr_store_audit_list(f->store, u1.id, 1, 2, see_entry, &s, &total), TSR_OK);
    assert_int_equal(total, 4);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 4);
    assert_int_equal(s.seq[1], 2);

    /* Past the end, and an empty page, still give the total. */
    memset(&s, 0, sizeof(s));
    total = -1;
    assert_int_equal(tsr_store_audit_list(f->store, u1.id, 10, 5, see_entry, &s, &total), TSR_OK);
    assert_int_equal(total, 4);
    assert_int_equal(s.n, 0);
    total = -1;
    assert_int_equal(tsr_store_audit_list(f->store, u2.id, 0, 0, see_entry, &s, &total), TSR_OK);
    assert_int_equal(total, 1);
    assert_int_equal(s.n, 0);
    total = -1;
    assert_int_equal(tsr_store_audit_list(f->store, gone, 0, 5, see_entry, &s, &total), TSR_OK);
    assert_int_equal(total, 0);

    /* What each returns stops the walk and comes back. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    assert_int_equal(tsr_store_audit_list(f->store, u1.id, 0, 100, see_entry, &s, NULL),
                     TSR_ERR_LIMIT);
    assert_int_equal(s.n, 1);
}

static enum tsr_err count_row(const struct tsr_token_row *t, void *ctx)
{
    (void)t;
    (*(int *)ctx)++;
    return TSR_OK;
}

static void test_insert_many_and_statement_count(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row rows[500], got;
    uint64_t before, after;
    int64_t seq0 = 0, seq1 = 0;
    int live = 0;

    add_user(f, "bulk@example.com", 1, &u);
    for (int i = 0; i < 500; i++)
        fill_token(&rows[i], u.id, TSR_TOKEN_PERSONAL, NULL, "bulk", 1, f->now + 100);
    assert_int_equal(tsr_store_change_seq(f->store, &seq0), TSR_OK);
    before = tsr_store_statements(f->store);
    assert_int_equal(tsr_store_token_insert_many(f->store, rows, 500), TSR_OK);
    after = tsr_store_statements(f->store);
    /* BEGIN, 500 inserts and COMMIT, counted statement by statement. */
    assert_true(after - before >= 502);
    assert_int_equal(tsr_store_change_seq(f->store, &seq1), TSR_OK);
    assert_int_equal(seq1, seq0 + 500);
    assert_int_equal(tsr_store_token_by_hash(f->store, rows[499].secret_hash, &got), TSR_OK);
    assert_string_equal(got.id, rows[499].id);
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, count_row, &live, NULL), TSR_OK);
    assert_int_equal(live, 500);
    /* A repeated id fails the whole batch: nothing of it is kept. */
    fill_token(&rows[0], u.id, TSR_TOKEN_PERSONAL, NULL, "fresh", 1, f->now + 100);
    memcpy(rows[1].id, rows[0].id, sizeof(rows[1].id));
    assert_int_not_equal(tsr_store_token_insert_many(f->store, rows, 2), TSR_OK);
    assert_int_equal(tsr_store_token_by_hash(f->store, rows[0].secret_hash, &got),
                     TSR_ERR_NOT_FOUND);
}

static void test_purge(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row old_revoked, old_expired, live, newest, got;
    struct tsr_audit_row a = {.at = 100, .count = 1};
    int64_t tokens = -1, audits = -1, seq_before = 0, seq_after = 0;
    struct seen s;

    add_user(f, "purge@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "old revoked", f->now + 1000, &old_revoked);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "old expired", f->now - 500, &old_expired);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "live", f->now + 1000, &live);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, old_revoked.id, TSR_TOKEN_PERSONAL,
                                            f->now - 400, NULL),
                     TSR_OK);
    /* The newest change is an old expiry: it stays, to keep change_seq rising. */
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "newest", f->now - 450, &newest);
    snprintf(a.action, sizeof(a.action), "login");
    snprintf(a.outcome, sizeof(a.outcome), "success");
    assert_int_equal(tsr_store_audit_append(f->store, &a, 1), TSR_OK);
    a.at = f->now;
    assert_int_equal(tsr_store_audit_append(f->store, &a, 1), TSR_OK);
    assert_int_equal(tsr_store_change_seq(f->store, &seq_before), TSR_OK);

    assert_int_equal(tsr_store_purge(f->store, f->now - 100, f->now - 100, &tokens, &audits),
                     TSR_OK);
    assert_int_equal(tokens, 2);
    assert_int_equal(audits, 1);
    assert_int_equal(tsr_store_token_get(f->store, u.id, old_expired.id, &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_by_hash_any(f->store, old_revoked.secret_hash, &got),
                     TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_get(f->store, u.id, live.id, &got), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, newest.id, &got), TSR_OK);
    assert_int_equal(tsr_store_change_seq(f->store, &seq_after), TSR_OK);
    assert_int_equal(seq_after, seq_before);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, NULL, 0, 10, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 1);
}

static void test_backup(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, got;
    struct tsr_token_row t, copy_t;
    struct tsr_store *copy = NULL;
    char dest[256], msg[256] = "";
    struct stat st;

    add_user(f, "backup@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "kept", f->now + 1000, &t);
    snprintf(dest, sizeof(dest), "%s/copy.db", f->dir);
    if (g_pg != NULL) {
        /* pg_dump's job: refused with a sentence that says so, no file. */
        assert_int_equal(tsr_store_backup(f->store, dest, msg, sizeof(msg)), TSR_ERR_INVALID);
        assert_non_null(strstr(msg, "pg_dump"));
        assert_int_not_equal(stat(dest, &st), 0);
        return;
    }
    assert_int_equal(tsr_store_backup(f->store, dest, msg, sizeof(msg)), TSR_OK);
    assert_int_equal(stat(dest, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* An existing file is never overwritten. */
    assert_int_equal(tsr_store_backup(f->store, dest, msg, sizeof(msg)), TSR_ERR_IO);
    assert_non_null(strstr(msg, "copy.db"));

    assert_int_equal(tsr_store_open(dest, &copy, msg, sizeof(msg)), TSR_OK);
    assert_int_equal(tsr_store_user_by_email(copy, "backup@example.com", &got), TSR_OK);
    assert_string_equal(got.id, u.id);
    assert_int_equal(tsr_store_token_by_hash(copy, t.secret_hash, &copy_t), TSR_OK);
    assert_string_equal(copy_t.name, "kept");
    tsr_store_close(copy);
}

/* ---- threads ---- */

#define THREADS           4
#define TOKENS_PER_THREAD 25

struct worker {
    struct fixture *f;
    const char *user_id;
    int failures;
};

static void *insert_many(void *arg)
{
    struct worker *w = arg;
    struct tsr_token_row t;
    struct tsr_token_query q = {.user_id = w->user_id, .limit = 10};
    struct seen *s = calloc(1, sizeof(*s));
    int64_t total = 0;

    if (s == NULL) {
        w->failures++;
        return NULL;
    }
    for (int i = 0; i < TOKENS_PER_THREAD; i++) {
        fill_token(&t, w->user_id, TSR_TOKEN_PERSONAL, NULL, "many", w->f->now, w->f->now + 100);
        if (tsr_store_token_insert(w->f->store, &t, 1000, w->f->now, NULL) != TSR_OK)
            w->failures++;
        /* Reads at the same time, on the reader connections. */
        s->n = 0;
        if (tsr_store_token_list(w->f->store, &q, see_token, s, &total) != TSR_OK)
            w->failures++;
    }
    free(s);
    return NULL;
}

static void test_concurrent_inserts(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct worker w[THREADS];
    pthread_t th[THREADS];
    struct seen s;
    int64_t max = 0;

    add_user(f, "threads@example.com", 1, &u);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.f = f, .user_id = u.id};
        assert_int_equal(pthread_create(&th[i], NULL, insert_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(f->store, 0, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, THREADS * TOKENS_PER_THREAD);
    /* Distinct and without gaps: 1, 2, ... */
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.seq[i], i + 1);
    assert_int_equal(max, THREADS * TOKENS_PER_THREAD);
}

/* Group commit: inserts racing for the last places of a limit are committed
 * together, yet each is counted against the limit on its own. */
struct racer {
    struct fixture *f;
    const char *user_id;
    int ok;
    int limited;
    int other;
};

static void *race_for_places(void *arg)
{
    struct racer *r = arg;
    struct tsr_token_row t;
    struct tsr_audit_row a = {.at = 1, .count = 1};

    snprintf(a.action, sizeof(a.action), "token.create");
    snprintf(a.outcome, sizeof(a.outcome), "success");
    for (int i = 0; i < 10; i++) {
        enum tsr_err rc;

        fill_token(&t, r->user_id, TSR_TOKEN_PERSONAL, NULL, "race", r->f->now, r->f->now + 100);
        rc = tsr_store_token_insert(r->f->store, &t, 25, r->f->now, &a);
        r->ok += rc == TSR_OK;
        r->limited += rc == TSR_ERR_LIMIT;
        r->other += rc != TSR_OK && rc != TSR_ERR_LIMIT;
    }
    return NULL;
}

static void test_group_commit_keeps_the_limit(void **state)
{
    enum { RACERS = 8 };
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct racer r[RACERS];
    pthread_t th[RACERS];
    struct seen s;
    int ok = 0, limited = 0;

    add_user(f, "race@example.com", 1, &u);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){.f = f, .user_id = u.id};
        assert_int_equal(pthread_create(&th[i], NULL, race_for_places, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(r[i].other, 0);
        ok += r[i].ok;
        limited += r[i].limited;
    }
    assert_int_equal(ok, 25);
    assert_int_equal(limited, RACERS * 10 - 25);
    /* Exactly the acknowledged inserts are there, each with its audit row. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_audit_each(f->store, NULL, 0, 1000, see_audit, &s), TSR_OK);
    assert_int_equal(s.n, 25);
}

/* Inserts nobody waits for: each callback comes once, with the outcome, and
 * closing the store commits what is still queued. */
static atomic_int async_ok, async_limited;

static void async_then(void *ctx, enum tsr_err rc)
{
    (void)ctx;
    if (rc == TSR_OK)
        atomic_fetch_add(&async_ok, 1);
    else if (rc == TSR_ERR_LIMIT)
        atomic_fetch_add(&async_limited, 1);
}

static void test_insert_async(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t;
    char msg[256];
    int live = 0;

    add_user(f, "async@example.com", 1, &u);
    atomic_store(&async_ok, 0);
    atomic_store(&async_limited, 0);
    for (int i = 0; i < 60; i++) {
        fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "async", f->now, f->now + 100);
        assert_int_equal(
            tsr_store_token_insert_async(f->store, &t, 50, f->now, NULL, async_then, NULL), TSR_OK);
    }
    tsr_store_close(f->store);
    assert_int_equal(atomic_load(&async_ok), 50);
    assert_int_equal(atomic_load(&async_limited), 10);
    assert_int_equal(tsr_store_open(f->path, &f->store, msg, sizeof(msg)), TSR_OK);
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, count_row, &live, NULL), TSR_OK);
    assert_int_equal(live, 50);
}

/* Two stores on one database, as two nodes are: a limit holds across them,
 * each sees the other's changes, and with PostgreSQL a change on one wakes
 * a waiter on the other. */
static void *race_on(void *arg)
{
    return race_for_places(arg);
}

static void test_two_stores_share(void **state)
{
    enum { RACERS = 4 };
    struct fixture *f = *state;
    struct tsr_store *other = NULL;
    struct tsr_user_row u;
    struct tsr_token_row t, got;
    struct racer r[RACERS];
    pthread_t th[RACERS];
    struct fixture g;
    struct seen s;
    char msg[256] = "";
    int64_t max = 0, t0;
    int ok = 0;

    assert_int_equal(tsr_store_open(f->path, &other, msg, sizeof(msg)), TSR_OK);
    assert_int_equal(tsr_store_shared(other), g_pg != NULL);
    add_user(f, "two@example.com", 1, &u);
    g = *f;
    g.store = other;
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){.f = i % 2 ? &g : f, .user_id = u.id};
        assert_int_equal(pthread_create(&th[i], NULL, race_on, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(r[i].other, 0);
        ok += r[i].ok;
    }
    assert_int_equal(ok, 25);
    /* Numbered without gaps, whichever store wrote. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_changes(other, 0, see_token, &s, &max), TSR_OK);
    assert_int_equal(s.n, 25);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.seq[i], i + 1);

    /* The first wait after opening reports news (it may have missed some);
     * then a change on one store wakes a waiter on the other at once. */
    if (g_pg != NULL) {
        assert_int_equal(tsr_store_wait_change(other, 10), TSR_OK);
        while (tsr_store_wait_change(other, 10) == TSR_OK)
            ;
    }
    assert_int_equal(tsr_store_wait_change(other, 10), TSR_ERR_TIMEOUT);
    add_token(f, u.id, TSR_TOKEN_SESSION, "news", f->now + 100, &t);
    if (g_pg != NULL) {
        t0 = (int64_t)time(NULL);
        assert_int_equal(tsr_store_wait_change(other, 5000), TSR_OK);
        assert_true((int64_t)time(NULL) - t0 <= 1);
    }
    assert_int_equal(tsr_store_token_by_hash(other, t.secret_hash, &got), TSR_OK);
    assert_string_equal(got.id, t.id);
    tsr_store_close(other);
}

/* ---- scopes, address lists, not-before ---- */

/* A database of the schema before scopes (version 2), made by taking
 * version 3 away again, with a token in it: opening it migrates, and the
 * token, which could do everything, becomes global. */
/* Takes a database back to before rotation's columns, for a test that
 * needs an older schema. */
#define UNDO_ROTATION                                                                              \
    "DROP INDEX tokens_prev; ALTER TABLE tokens DROP COLUMN prev_secret_hash;"                     \
    "ALTER TABLE tokens DROP COLUMN prev_until;"

/* And to before events (version 6), for the same. */
#define UNDO_EVENTS                                                                                \
    "DROP TABLE deliveries; DROP TABLE events; DROP TABLE webhooks; DROP TABLE expiry_notices;"    \
    "DROP INDEX tokens_expiring;"

static void test_migration_makes_old_tokens_global(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, got;
    int64_t version = -1;

    add_user(f, "old@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "old", f->now + 1000, &t);
    tsr_store_close(f->store);
    f->store = NULL;
    sql_exec(f, "DELETE FROM schema_migrations WHERE version >= 3;" UNDO_EVENTS UNDO_ROTATION
                "DROP INDEX users_number; ALTER TABLE users DROP COLUMN number;"
                "DROP TABLE scopes; DROP TABLE scope_version;"
                "ALTER TABLE tokens DROP COLUMN scopes;"
                "ALTER TABLE tokens DROP COLUMN allowed_ips;"
                "ALTER TABLE tokens DROP COLUMN not_before;");
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), 2);
    open_store(f);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), 6);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.scopes, "global");
    assert_string_equal(got.allowed_ips, "");
    assert_int_equal(got.not_before, 0);
    assert_string_equal(got.last_used_ip, "");
    assert_int_equal(tsr_store_scope_version(f->store, &version), TSR_OK);
    assert_int_equal(version, 0);
}

/* ---- users' numbers ---- */

static int64_t number_of(struct fixture *f, const char *id)
{
    struct tsr_user_row got;

    assert_int_equal(tsr_store_user_by_id(f->store, id, &got), TSR_OK);
    return got.number;
}

/* Users made before numbers existed get them in the order they came, a
 * removed one too; the next user takes the number after all of them. */
static void test_migration_numbers_users(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row a, b, c, d;

    add_user(f, "second@example.com", 20, &b);
    add_user(f, "first@example.com", 10, &a);
    add_user(f, "third@example.com", 30, &c);
    assert_int_equal(tsr_store_user_remove(f->store, c.id, 40), TSR_OK);
    tsr_store_close(f->store);
    f->store = NULL;
    sql_exec(f, "DELETE FROM schema_migrations WHERE version >= 4;" UNDO_EVENTS UNDO_ROTATION
                "DROP INDEX users_number; ALTER TABLE users DROP COLUMN number;");
    open_store(f);
    assert_int_equal(number_of(f, a.id), 1);
    assert_int_equal(number_of(f, b.id), 2);
    add_user(f, "fourth@example.com", 50, &d);
    assert_int_equal(number_of(f, d.id), 4);
}

/* A number is the user's for good: a removed user's is never given again,
 * and the same email made anew gets a new one. */
static void test_user_numbers_never_reused(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row a, b, again;

    add_user(f, "a@example.com", 1, &a);
    add_user(f, "b@example.com", 2, &b);
    assert_true(number_of(f, a.id) >= 1);
    assert_int_equal(number_of(f, b.id), number_of(f, a.id) + 1);
    assert_int_equal(tsr_store_user_remove(f->store, b.id, 3), TSR_OK);
    add_user(f, "b@example.com", 4, &again);
    assert_int_equal(number_of(f, again.id), number_of(f, a.id) + 2);
    assert_int_equal(number_of(f, a.id), 1);
}

static void fill_long(char *dst, size_t len, char c)
{
    memset(dst, c, len);
    dst[len] = '\0';
}

static void assert_new_fields(const struct tsr_token_row *got, const struct tsr_token_row *want)
{
    assert_string_equal(got->scopes, want->scopes);
    assert_string_equal(got->allowed_ips, want->allowed_ips);
    assert_int_equal(got->not_before, want->not_before);
}

/* What a token may do, from where and from when reads back the same from
 * every call that reads a token. */
static void test_token_new_fields_round_trip(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, bare, longest, got, bulk[2];
    struct tsr_token_query q = {.order = TSR_ORDER_CREATED, .limit = 10};
    struct seen s;
    struct kept last;
    int64_t total = 0, max = 0;

    add_user(f, "fields@example.com", 1, &u);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "scoped", 5, f->now + 1000);
    set_str(t.scopes, sizeof(t.scopes), "orders:read tokens:read");
    set_str(t.allowed_ips, sizeof(t.allowed_ips), "10.0.0.0/8 2001:db8::/48 192.0.2.7/32");
    t.not_before = f->now + 60;
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);

    /* Left empty, a row's scopes are those of the tokens from before. */
    fill_token(&bare, u.id, TSR_TOKEN_PERSONAL, NULL, "bare", 6, f->now + 1000);
    assert_int_equal(tsr_store_token_insert(f->store, &bare, 0, f->now, NULL), TSR_OK);

    /* The longest lists a row holds are kept whole. */
    fill_token(&longest, u.id, TSR_TOKEN_PERSONAL, NULL, "longest", 7, f->now + 1000);
    fill_long(longest.scopes, TSR_SCOPES_TEXT_MAX, 's');
    fill_long(longest.allowed_ips, TSR_IPS_TEXT_MAX, '1');
    assert_int_equal(tsr_store_token_insert(f->store, &longest, 0, f->now, NULL), TSR_OK);

    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_new_fields(&got, &t);
    assert_string_equal(got.last_used_ip, "");
    assert_int_equal(tsr_store_token_by_hash(f->store, t.secret_hash, &got), TSR_OK);
    assert_new_fields(&got, &t);
    assert_int_equal(tsr_store_token_by_hash_any(f->store, t.secret_hash, &got), TSR_OK);
    assert_new_fields(&got, &t);
    assert_int_equal(tsr_store_token_get(f->store, u.id, bare.id, &got), TSR_OK);
    assert_string_equal(got.scopes, "global");
    assert_string_equal(got.allowed_ips, "");
    assert_int_equal(got.not_before, 0);
    assert_int_equal(tsr_store_token_get(f->store, u.id, longest.id, &got), TSR_OK);
    assert_new_fields(&got, &longest);
    assert_int_equal(strlen(got.scopes), TSR_SCOPES_TEXT_MAX);
    assert_int_equal(strlen(got.allowed_ips), TSR_IPS_TEXT_MAX);

    /* The list, the changes and the start-up read: the last row seen
     * (the longest) is compared whole. */
    q.user_id = u.id;
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_token_list(f->store, &q, see_token, &s, &total), TSR_OK);
    assert_int_equal(total, 3);
    assert_string_equal(s.id[0], t.id);

    memset(&last, 0, sizeof(last));
    assert_int_equal(tsr_store_token_changes(f->store, 0, keep_last, &last, &max), TSR_OK);
    assert_int_equal(last.n, 3);
    assert_string_equal(last.row.id, longest.id);
    assert_new_fields(&last.row, &longest);
    memset(&last, 0, sizeof(last));
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, keep_scoped, &last, NULL), TSR_OK);
    assert_int_equal(last.n, 1);
    assert_new_fields(&last.row, &t);
    memset(&last, 0, sizeof(last));
    q.limit = 1;
    assert_int_equal(tsr_store_token_list(f->store, &q, keep_last, &last, &total), TSR_OK);
    assert_new_fields(&last.row, &t);

    /* In bulk as one at a time. */
    fill_token(&bulk[0], u.id, TSR_TOKEN_PERSONAL, NULL, "bulk0", 8, f->now + 1000);
    fill_token(&bulk[1], u.id, TSR_TOKEN_PERSONAL, NULL, "bulk1", 9, f->now + 1000);
    set_str(bulk[1].scopes, sizeof(bulk[1].scopes), "a_c");
    set_str(bulk[1].allowed_ips, sizeof(bulk[1].allowed_ips), "::/0");
    bulk[1].not_before = 42;
    assert_int_equal(tsr_store_token_insert_many(f->store, bulk, 2), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, bulk[0].id, &got), TSR_OK);
    assert_string_equal(got.scopes, "global");
    assert_int_equal(tsr_store_token_get(f->store, u.id, bulk[1].id, &got), TSR_OK);
    assert_new_fields(&got, &bulk[1]);
}

/* The last client's address goes with the last use, as the time does,
 * before and after the uses are folded into the tokens. */
static void test_token_last_used_ip(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, got;
    struct tsr_token_use use;
    int64_t max = 0;

    add_user(f, "ip@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);
    memset(&use, 0, sizeof(use));
    set_str(use.id, sizeof(use.id), t.id);
    use.last_used_at = 100;
    set_str(use.last_addr, sizeof(use.last_addr), "2001:db8::7");
    assert_int_equal(tsr_store_token_touch(f->store, &use, 1), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.last_used_ip, "2001:db8::7");
    assert_int_equal(tsr_store_token_by_hash(f->store, t.secret_hash, &got), TSR_OK);
    assert_string_equal(got.last_used_ip, "2001:db8::7");
    fold_uses(f);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.last_used_ip, "2001:db8::7");

    /* A later use from elsewhere, not yet folded, wins over the folded one;
     * an older one changes nothing. */
    use.last_used_at = 200;
    set_str(use.last_addr, sizeof(use.last_addr), "192.0.2.9");
    assert_int_equal(tsr_store_token_touch(f->store, &use, 1), TSR_OK);
    use.last_used_at = 150;
    set_str(use.last_addr, sizeof(use.last_addr), "198.51.100.1");
    assert_int_equal(tsr_store_token_touch(f->store, &use, 1), TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_int_equal(got.last_used_at, 200);
    assert_string_equal(got.last_used_ip, "192.0.2.9");
    assert_int_equal(tsr_store_token_by_hash_any(f->store, t.secret_hash, &got), TSR_OK);
    assert_string_equal(got.last_used_ip, "192.0.2.9");
    assert_int_equal(tsr_store_token_changes(f->store, 0, keep_any, &got, &max), TSR_OK);
    assert_string_equal(got.last_used_ip, "192.0.2.9");
    fold_uses(f);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.last_used_ip, "192.0.2.9");
}

/* Each flag writes its field alone; not-before can be cleared. */
/* Reads the token each_live gives for id into ctx's row. */
struct live_find {
    const char *id;
    struct tsr_token_row row;
    bool found;
};

static enum tsr_err find_live(const struct tsr_token_row *t, void *ctx)
{
    struct live_find *l = ctx;

    if (strcmp(t->id, l->id) == 0) {
        l->row = *t;
        l->found = true;
    }
    return TSR_OK;
}

/* A rotation moves the secret to prev_secret_hash, found by either hash
 * until the caller says otherwise; a second moves the second secret there,
 * and the first is found no more. Nothing else of the token changes. */
static void test_token_rotate(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, v, out, got;
    struct live_find live;
    uint8_t first[TSR_HASH_LEN];

    add_user(f, "rot@example.com", 1, &u);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "rotated", f->now + 1000, &t);
    memcpy(first, t.secret_hash, TSR_HASH_LEN);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_false(got.has_prev);

    memset(&v, 0, sizeof(v));
    memset(v.secret_hash, 0xA1, TSR_HASH_LEN);
    set_str(v.key_hint, sizeof(v.key_hint), "AAAA");
    v.prev_until = f->now + 60;
    set_str(v.name, sizeof(v.name), "not written");
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_SECRET, &v, &out, NULL),
                     TSR_OK);
    assert_memory_equal(out.secret_hash, v.secret_hash, TSR_HASH_LEN);
    assert_true(out.has_prev);
    assert_memory_equal(out.prev_secret_hash, first, TSR_HASH_LEN);
    assert_int_equal(out.prev_until, f->now + 60);
    assert_string_equal(out.key_hint, "AAAA");
    assert_string_equal(out.name, "rotated");
    assert_int_equal(out.expires_at, t.expires_at);
    assert_int_equal(out.created, t.created);
    assert_true(out.change_seq > t.change_seq);

    assert_int_equal(tsr_store_token_by_hash(f->store, first, &got), TSR_OK);
    assert_string_equal(got.id, t.id);
    assert_int_equal(tsr_store_token_by_hash(f->store, v.secret_hash, &got), TSR_OK);
    assert_string_equal(got.id, t.id);
    assert_int_equal(tsr_store_token_by_hash_any(f->store, first, &got), TSR_OK);
    assert_string_equal(got.id, t.id);
    live.id = t.id;
    live.found = false;
    assert_int_equal(tsr_store_token_each_live(f->store, f->now, find_live, &live, NULL), TSR_OK);
    assert_true(live.found);
    assert_true(live.row.has_prev);
    assert_memory_equal(live.row.prev_secret_hash, first, TSR_HASH_LEN);
    assert_int_equal(live.row.prev_until, f->now + 60);

    memset(v.secret_hash, 0xB2, TSR_HASH_LEN);
    v.prev_until = f->now;
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_SECRET, &v, &out, NULL),
                     TSR_OK);
    memset(v.secret_hash, 0xA1, TSR_HASH_LEN);
    assert_memory_equal(out.prev_secret_hash, v.secret_hash, TSR_HASH_LEN);
    assert_int_equal(out.prev_until, f->now);
    assert_int_equal(tsr_store_token_by_hash(f->store, first, &got), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_token_by_hash(f->store, v.secret_hash, &got), TSR_OK);

    /* A change that is no rotation keeps the previous secret as it is. */
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_NAME, &v, &out, NULL),
                     TSR_OK);
    assert_memory_equal(out.prev_secret_hash, v.secret_hash, TSR_HASH_LEN);
    assert_int_equal(out.prev_until, f->now);
    memset(v.secret_hash, 0xB2, TSR_HASH_LEN);
    assert_memory_equal(out.secret_hash, v.secret_hash, TSR_HASH_LEN);
}

static void test_token_update_new_fields(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t, v, out, got;

    add_user(f, "updf@example.com", 1, &u);
    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "t", 5, f->now + 1000);
    set_str(t.scopes, sizeof(t.scopes), "tokens:read");
    set_str(t.allowed_ips, sizeof(t.allowed_ips), "10.0.0.0/8");
    t.not_before = 77;
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, f->now, NULL), TSR_OK);

    memset(&v, 0, sizeof(v));
    set_str(v.name, sizeof(v.name), "not written");
    set_str(v.scopes, sizeof(v.scopes), "orders:read orders:write");
    set_str(v.allowed_ips, sizeof(v.allowed_ips), "not written");
    v.not_before = 99;
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_SCOPES, &v, &out, NULL),
                     TSR_OK);
    assert_string_equal(out.scopes, "orders:read orders:write");
    assert_string_equal(out.allowed_ips, "10.0.0.0/8");
    assert_int_equal(out.not_before, 77);
    assert_string_equal(out.name, "t");

    set_str(v.scopes, sizeof(v.scopes), "not written");
    set_str(v.allowed_ips, sizeof(v.allowed_ips), "");
    assert_int_equal(
        tsr_store_token_update(f->store, u.id, t.id, TSR_SET_ALLOWED_IPS, &v, &out, NULL), TSR_OK);
    assert_string_equal(out.scopes, "orders:read orders:write");
    assert_string_equal(out.allowed_ips, "");
    assert_int_equal(out.not_before, 77);

    set_str(v.allowed_ips, sizeof(v.allowed_ips), "2001:db8::/32");
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id,
                                            TSR_SET_NOT_BEFORE | TSR_SET_ALLOWED_IPS, &v, &out,
                                            NULL),
                     TSR_OK);
    assert_int_equal(out.not_before, 99);
    assert_string_equal(out.allowed_ips, "2001:db8::/32");
    v.not_before = 0;
    assert_int_equal(
        tsr_store_token_update(f->store, u.id, t.id, TSR_SET_NOT_BEFORE, &v, &out, NULL), TSR_OK);
    assert_int_equal(out.not_before, 0);
    assert_string_equal(out.scopes, "orders:read orders:write");

    /* Emptied, the scopes are global again rather than nothing. */
    v.scopes[0] = '\0';
    assert_int_equal(tsr_store_token_update(f->store, u.id, t.id, TSR_SET_SCOPES, &v, NULL, NULL),
                     TSR_OK);
    assert_int_equal(tsr_store_token_get(f->store, u.id, t.id, &got), TSR_OK);
    assert_string_equal(got.scopes, "global");
    assert_string_equal(got.allowed_ips, "2001:db8::/32");
}

static void add_scope(struct fixture *f, const char *name, const char *description,
                      enum tsr_err want)
{
    struct tsr_scope_row r;

    memset(&r, 0, sizeof(r));
    set_str(r.name, sizeof(r.name), name);
    set_str(r.description, sizeof(r.description), description);
    r.created = f->now;
    assert_int_equal(tsr_store_scope_insert(f->store, &r), want);
}

struct scopes_seen {
    int n;
    int stop_after;
    char name[8][TSR_SCOPE_NAME_MAX + 1];
    char description[8][64];
    int64_t created[8];
};

static enum tsr_err see_scope(const struct tsr_scope_row *r, void *ctx)
{
    struct scopes_seen *s = ctx;

    assert_true(s->n < 8);
    set_str(s->name[s->n], sizeof(s->name[0]), r->name);
    set_str(s->description[s->n], sizeof(s->description[0]), r->description);
    s->created[s->n] = r->created;
    s->n++;
    return (s->stop_after > 0 && s->n >= s->stop_after) ? TSR_ERR_LIMIT : TSR_OK;
}

static int64_t scope_version(struct fixture *f)
{
    int64_t v = -1;

    assert_int_equal(tsr_store_scope_version(f->store, &v), TSR_OK);
    return v;
}

static void test_scope_insert_each_version(void **state)
{
    struct fixture *f = *state;
    struct scopes_seen s;
    struct tsr_store *other = NULL;
    char msg[256];
    int64_t v0 = scope_version(f), v = -1;

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_scope_each(f->store, see_scope, &s), TSR_OK);
    assert_int_equal(s.n, 0);

    add_scope(f, "orders:read", "Read orders.\nAll of them.", TSR_OK);
    assert_int_equal(scope_version(f), v0 + 1);
    add_scope(f, "a_c", "", TSR_OK);
    add_scope(f, "abc", "", TSR_OK);
    assert_int_equal(scope_version(f), v0 + 3);
    /* A name taken changes nothing, the version included. */
    add_scope(f, "orders:read", "again", TSR_ERR_EXISTS);
    assert_int_equal(scope_version(f), v0 + 3);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_scope_each(f->store, see_scope, &s), TSR_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.name[0], "a_c");
    assert_string_equal(s.name[1], "abc");
    assert_string_equal(s.name[2], "orders:read");
    assert_string_equal(s.description[2], "Read orders.\nAll of them.");
    assert_int_equal(s.created[2], f->now);

    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    assert_int_equal(tsr_store_scope_each(f->store, see_scope, &s), TSR_ERR_LIMIT);
    assert_int_equal(s.n, 1);

    /* Another process sees the version move; on PostgreSQL it hears of it
     * at once, as of a token's change. */
    assert_int_equal(tsr_store_open(f->path, &other, msg, sizeof(msg)), TSR_OK);
    if (g_pg != NULL) {
        /* The first LISTEN is news itself: notifications may have been missed. */
        assert_int_equal(tsr_store_wait_change(other, 10), TSR_OK);
        assert_int_equal(tsr_store_wait_change(other, 10), TSR_ERR_TIMEOUT);
    }
    add_scope(f, "later", "", TSR_OK);
    if (g_pg != NULL)
        assert_int_equal(tsr_store_wait_change(other, 5000), TSR_OK);
    assert_int_equal(tsr_store_scope_version(other, &v), TSR_OK);
    assert_int_equal(v, v0 + 4);
    tsr_store_close(other);
}

static void scoped_token(struct fixture *f, const char *user_id, const char *name,
                         const char *scopes, int64_t expires_at, struct tsr_token_row *out)
{
    fill_token(out, user_id, TSR_TOKEN_PERSONAL, NULL, name, f->now, expires_at);
    set_str(out->scopes, sizeof(out->scopes), scopes);
    assert_int_equal(tsr_store_token_insert(f->store, out, 0, f->now, NULL), TSR_OK);
}

/* A scope a live token lists stays; one that only looks like it (a '_'
 * that LIKE would take for any character, a longer name that starts with
 * it) or that only dead tokens list does not hold it. */
static void test_scope_remove_in_use(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u, gone;
    struct tsr_token_row live, second, revoked, expired, of_gone, t;
    struct scopes_seen s;
    int64_t n = -1, v;

    add_user(f, "scopes@example.com", 1, &u);
    add_user(f, "gone@example.com", 1, &gone);
    add_scope(f, "a_c", "", TSR_OK);
    add_scope(f, "abc", "", TSR_OK);
    add_scope(f, "orders:read", "", TSR_OK);
    add_scope(f, "orders", "", TSR_OK);
    add_scope(f, "dead", "", TSR_OK);

    scoped_token(f, u.id, "live", "abc orders:read:all tokens:read", f->now + 1000, &live);
    scoped_token(f, u.id, "second", "abc", f->now + 1000, &second);
    scoped_token(f, u.id, "revoked", "dead", f->now + 1000, &revoked);
    scoped_token(f, u.id, "expired", "dead", f->now, &expired);
    scoped_token(f, gone.id, "of gone", "dead", f->now + 1000, &of_gone);
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, revoked.id, TSR_TOKEN_PERSONAL, f->now, NULL),
        TSR_OK);
    assert_int_equal(tsr_store_user_remove(f->store, gone.id, f->now), TSR_OK);

    v = scope_version(f);
    assert_int_equal(tsr_store_scope_remove(f->store, "abc", f->now, &n), TSR_ERR_IN_USE);
    assert_int_equal(n, 2);
    assert_int_equal(tsr_store_scope_remove(f->store, "abc", f->now, NULL), TSR_ERR_IN_USE);
    assert_int_equal(scope_version(f), v);
    assert_int_equal(tsr_store_scope_remove(f->store, "a_c", f->now, &n), TSR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(scope_version(f), v + 1);
    assert_int_equal(tsr_store_scope_remove(f->store, "orders:read", f->now, NULL), TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "orders", f->now, NULL), TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "dead", f->now, NULL), TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "dead", f->now, NULL), TSR_ERR_NOT_FOUND);
    assert_int_equal(tsr_store_scope_remove(f->store, "never", f->now, NULL), TSR_ERR_NOT_FOUND);
    assert_int_equal(scope_version(f), v + 4);

    /* At the start, in the middle and at the end of the list. */
    add_scope(f, "mid", "", TSR_OK);
    scoped_token(f, u.id, "mid", "first mid zlast", f->now + 1000, &t);
    assert_int_equal(tsr_store_scope_remove(f->store, "mid", f->now, &n), TSR_ERR_IN_USE);
    assert_int_equal(n, 1);
    add_scope(f, "first", "", TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "first", f->now, NULL), TSR_ERR_IN_USE);
    add_scope(f, "zlast", "", TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "zlast", f->now, NULL), TSR_ERR_IN_USE);
    /* Expired by the time of the removal. */
    assert_int_equal(tsr_store_scope_remove(f->store, "zlast", f->now + 1000, NULL), TSR_OK);

    /* Once its tokens are revoked, a scope can go. */
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, live.id, TSR_TOKEN_PERSONAL, f->now, NULL), TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "abc", f->now, &n), TSR_ERR_IN_USE);
    assert_int_equal(n, 1);
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, second.id, TSR_TOKEN_PERSONAL, f->now, NULL),
        TSR_OK);
    assert_int_equal(tsr_store_scope_remove(f->store, "abc", f->now, NULL), TSR_OK);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_scope_each(f->store, see_scope, &s), TSR_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.name[0], "first");
    assert_string_equal(s.name[1], "mid");
}

/* ---- events, webhooks, deliveries, expiry notices ---- */

#define DAY            86400
#define MAX_DELIVERIES 64

static void add_hook(struct fixture *f, const char *url, const char *events, int64_t created,
                     struct tsr_webhook_row *out)
{
    struct tsr_webhook_row h;

    memset(&h, 0, sizeof(h));
    tsr_uuid7_new(h.id);
    set_str(h.url, sizeof(h.url), url);
    set_str(h.key, sizeof(h.key), "signing-key");
    set_str(h.events, sizeof(h.events), events);
    h.created = created;
    assert_int_equal(tsr_store_webhook_insert(f->store, &h), TSR_OK);
    if (out != NULL)
        *out = h;
}

/* An audit row of a change at `at` that raises event ("" for none). */
static void fill_event(struct tsr_audit_row *a, int64_t at, const struct tsr_token_row *t,
                       const char *event, bool mail_owner)
{
    fill_audit(a, at, t->user_id, "token.update", "", 1);
    set_str(a->token_id, sizeof(a->token_id), t->id);
    set_str(a->event, sizeof(a->event), event);
    a->mail_owner = mail_owner;
}

/* Renames t at `at`, raising event; returns what the update returned. */
static enum tsr_err rename_with(struct fixture *f, const struct tsr_token_row *t, const char *name,
                                int64_t at, const char *event, bool mail_owner)
{
    struct tsr_token_row v;
    struct tsr_audit_row a;

    memset(&v, 0, sizeof(v));
    set_str(v.name, sizeof(v.name), name);
    fill_event(&a, at, t, event, mail_owner);
    return tsr_store_token_update(f->store, t->user_id, t->id, TSR_SET_NAME, &v, NULL, &a);
}

struct dlist {
    size_t n;
    struct tsr_delivery_row row[MAX_DELIVERIES];
};

static enum tsr_err keep_delivery(const struct tsr_delivery_row *d, void *ctx)
{
    struct dlist *l = ctx;

    assert_true(l->n < MAX_DELIVERIES);
    l->row[l->n++] = *d;
    return TSR_OK;
}

/* The deliveries of webhook_id (NULL: all) in state (0: any), newest
 * first, in a list for the caller to free. */
static struct dlist *deliveries_of(struct fixture *f, const char *webhook_id,
                                   enum tsr_delivery_state state)
{
    struct dlist *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    assert_int_equal(
        tsr_store_delivery_each(f->store, webhook_id, state, MAX_DELIVERIES, keep_delivery, l),
        TSR_OK);
    return l;
}

static size_t count_deliveries(struct fixture *f, const char *webhook_id,
                               enum tsr_delivery_state state)
{
    struct dlist *l = deliveries_of(f, webhook_id, state);
    size_t n = l->n;

    free(l);
    return n;
}

static size_t count_channel(const struct dlist *l, enum tsr_channel channel)
{
    size_t n = 0;

    for (size_t i = 0; i < l->n; i++)
        n += l->row[i].channel == channel;
    return n;
}

/* Claims at most max deliveries of channels due at now, until until, into l. */
static size_t claim(struct fixture *f, unsigned channels, int64_t now, int64_t until, size_t max,
                    struct dlist *l)
{
    size_t n = MAX_DELIVERIES + 1;

    assert_true(max <= MAX_DELIVERIES);
    assert_int_equal(tsr_store_delivery_claim(f->store, channels, now, until, max, l->row, &n),
                     TSR_OK);
    l->n = n;
    return n;
}

/* How many rows of table name token_id. */
static int64_t rows_of_token(struct fixture *f, const char *table, const char *token_id)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE token_id = '%s'", table, token_id);
    return sql_int(f, sql);
}

#define BOTH (TSR_CHANNEL_WEBHOOK | TSR_CHANNEL_EMAIL)

/* A change that names an event gets one delivery for each webhook that
 * takes it (a type matched whole, '_' literal) and one by e-mail when
 * asked, with the token as the change left it; no event, no delivery. */
static void test_event_deliveries(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_webhook_row all, revoked, near;
    struct tsr_token_row t, quiet;
    struct tsr_audit_row a;
    struct dlist *l;
    const int64_t at = 1000;

    add_user(f, "owner@example.com", 1, &u);
    add_hook(f, "https://all.example/hook", "", 1, &all);
    add_hook(f, "https://revoked.example/hook", "token.expiring token.revoked", 2, &revoked);
    /* Names that a match by substring or by LIKE would take. */
    add_hook(f, "https://near.example/hook", "token.revoked.later token.aXb", 3, &near);

    fill_token(&t, u.id, TSR_TOKEN_PERSONAL, NULL, "first", at, f->now + 1000);
    set_str(t.scopes, sizeof(t.scopes), "read write");
    fill_event(&a, at, &t, "token.created", false);
    assert_int_equal(tsr_store_token_insert(f->store, &t, 0, at, &a), TSR_OK);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->row[0].channel, TSR_CHANNEL_WEBHOOK);
    assert_int_equal(l->row[0].state, TSR_DELIVERY_PENDING);
    assert_string_equal(l->row[0].webhook_id, all.id);
    assert_string_equal(l->row[0].url, all.url);
    assert_string_equal(l->row[0].key, ""); /* listings never show it */
    assert_string_equal(l->row[0].email, "");
    assert_string_equal(l->row[0].event.type, "token.created");
    assert_int_equal(l->row[0].event.at, at);
    assert_string_equal(l->row[0].event.user_id, u.id);
    assert_string_equal(l->row[0].event.token_id, t.id);
    assert_string_equal(l->row[0].event.name, "first");
    assert_string_equal(l->row[0].event.key_hint, t.key_hint);
    assert_int_equal(l->row[0].event.expires_at, t.expires_at);
    assert_string_equal(l->row[0].event.scopes, "read write");
    assert_int_equal(l->row[0].event.notice_before, 0);
    assert_int_equal(l->row[0].created, at);
    assert_int_equal(l->row[0].next_at, at);
    assert_int_equal(l->row[0].attempts, 0);
    assert_int_equal(l->row[0].finished_at, 0);
    assert_int_equal(l->row[0].last_status, 0);
    assert_string_equal(l->row[0].last_error, "");
    free(l);

    /* The snapshot is the token after the change; the owner is mailed. */
    assert_int_equal(rename_with(f, &t, "second", at + 1, "token.updated", true), TSR_OK);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 3);
    assert_int_equal(l->row[0].channel, TSR_CHANNEL_EMAIL); /* newest first */
    assert_string_equal(l->row[0].webhook_id, "");
    assert_string_equal(l->row[0].url, "");
    assert_string_equal(l->row[0].email, "owner@example.com");
    assert_string_equal(l->row[0].event.name, "second");
    assert_string_equal(l->row[1].event.name, "second");
    assert_string_equal(l->row[1].webhook_id, all.id);
    assert_string_equal(l->row[0].event.id, l->row[1].event.id);
    assert_string_equal(l->row[2].event.name, "first");
    assert_true(l->row[0].id > l->row[1].id && l->row[1].id > l->row[2].id);
    free(l);

    assert_int_equal(rename_with(f, &t, "third", at + 2, "token.a_b", false), TSR_OK);
    fill_event(&a, at + 3, &t, "token.revoked", true);
    assert_int_equal(tsr_store_token_revoke(f->store, u.id, t.id, TSR_TOKEN_PERSONAL, at + 3, &a),
                     TSR_OK);
    assert_int_equal(count_deliveries(f, all.id, 0), 4);
    assert_int_equal(count_deliveries(f, revoked.id, 0), 1);
    assert_int_equal(count_deliveries(f, near.id, 0), 0);
    l = deliveries_of(f, revoked.id, TSR_DELIVERY_PENDING);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->row[0].event.type, "token.revoked");
    assert_string_equal(l->row[0].event.name, "third");
    free(l);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 7);
    assert_int_equal(count_channel(l, TSR_CHANNEL_EMAIL), 2);
    free(l);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), 4);

    /* No event named, or a change that fails: nothing is raised. */
    fill_token(&quiet, u.id, TSR_TOKEN_PERSONAL, NULL, "quiet", at, f->now + 1000);
    fill_event(&a, at + 4, &quiet, "", true);
    assert_int_equal(tsr_store_token_insert(f->store, &quiet, 0, at + 4, &a), TSR_OK);
    assert_int_equal(rename_with(f, &t, "gone", at + 5, "token.updated", true), TSR_ERR_NOT_FOUND);
    set_str(a.event, sizeof(a.event), "token.created");
    assert_int_equal(tsr_store_token_insert(f->store, &quiet, 0, at + 6, &a), TSR_ERR_EXISTS);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), 4);
    assert_int_equal(count_deliveries(f, NULL, 0), 7);
    assert_int_equal(count_deliveries(f, NULL, TSR_DELIVERY_DONE), 0);
    assert_int_equal(tsr_store_delivery_each(f->store, NULL, (enum tsr_delivery_state)9, 10,
                                             keep_delivery, NULL),
                     TSR_ERR_INVALID);
}

static enum tsr_err see_hook(const struct tsr_webhook_row *h, void *ctx)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    set_str(s->id[s->n], sizeof(s->id[0]), h->id);
    set_str(s->text[s->n], sizeof(s->text[0]), h->events);
    s->seq[s->n] = h->created;
    s->n++;
    return (s->stop_after > 0 && s->n >= s->stop_after) ? TSR_ERR_LIMIT : TSR_OK;
}

/* Webhooks are unique by id and by url and listed oldest first; removing
 * one drops its pending deliveries at once and keeps the rest for reading. */
static void test_webhook_insert_each_remove(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_webhook_row a, b, again;
    struct tsr_token_row t;
    struct dlist *l, *got = calloc(1, sizeof(*got));
    struct seen s;
    int64_t done_id = 0;

    assert_non_null(got);
    add_user(f, "hooks@example.com", 1, &u);
    add_hook(f, "https://a.example/", "token.updated", 10, &a);
    add_hook(f, "https://b.example/", "", 5, &b);
    again = a;
    set_str(again.url, sizeof(again.url), "https://other.example/");
    assert_int_equal(tsr_store_webhook_insert(f->store, &again), TSR_ERR_EXISTS);
    tsr_uuid7_new(again.id);
    set_str(again.url, sizeof(again.url), a.url);
    assert_int_equal(tsr_store_webhook_insert(f->store, &again), TSR_ERR_EXISTS);

    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_webhook_each(f->store, see_hook, &s), TSR_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.id[0], b.id);
    assert_string_equal(s.id[1], a.id);
    assert_string_equal(s.text[1], "token.updated");
    assert_int_equal(s.seq[1], 10);
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    assert_int_equal(tsr_store_webhook_each(f->store, see_hook, &s), TSR_ERR_LIMIT);
    assert_int_equal(s.n, 1);

    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);
    assert_int_equal(rename_with(f, &t, "one", 100, "token.updated", false), TSR_OK);
    l = deliveries_of(f, a.id, 0);
    assert_int_equal(l->n, 1);
    done_id = l->row[0].id;
    free(l);
    assert_int_equal(
        tsr_store_delivery_finish(f->store, done_id, TSR_DELIVERY_DONE, 0, 200, NULL, 150), TSR_OK);
    assert_int_equal(rename_with(f, &t, "two", 200, "token.updated", false), TSR_OK);
    /* b's first, as the older webhook, then a's, which is being sent. */
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, 200, 260, 10, got), 3);
    assert_string_equal(got->row[0].webhook_id, b.id);
    assert_string_equal(got->row[2].webhook_id, a.id);

    assert_int_equal(tsr_store_webhook_remove(f->store, a.id, 777), TSR_OK);
    assert_int_equal(tsr_store_webhook_remove(f->store, a.id, 778), TSR_ERR_NOT_FOUND);
    memset(&s, 0, sizeof(s));
    assert_int_equal(tsr_store_webhook_each(f->store, see_hook, &s), TSR_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], b.id);

    l = deliveries_of(f, a.id, 0);
    assert_int_equal(l->n, 2);
    assert_int_equal(l->row[0].state, TSR_DELIVERY_DROPPED);
    assert_int_equal(l->row[0].finished_at, 777);
    assert_string_equal(l->row[0].webhook_id, a.id);
    assert_string_equal(l->row[0].url, ""); /* the webhook is gone */
    assert_int_equal(l->row[1].id, done_id);
    assert_int_equal(l->row[1].state, TSR_DELIVERY_DONE);
    assert_int_equal(l->row[1].finished_at, 150);
    free(l);
    /* The attempt that was under way finds its delivery dropped. */
    assert_int_equal(
        tsr_store_delivery_finish(f->store, got->row[2].id, TSR_DELIVERY_DONE, 0, 200, NULL, 800),
        TSR_ERR_NOT_FOUND);
    assert_int_equal(count_deliveries(f, b.id, TSR_DELIVERY_PENDING), 2);
    assert_int_equal(claim(f, BOTH, 1000, 1060, 10, got), 2);
    assert_string_equal(got->row[0].webhook_id, b.id);
    assert_string_equal(got->row[1].webhook_id, b.id);
    free(got);
}

/* Claims take due deliveries of the channels asked, oldest first, and hold
 * them until their claim ends; an attempt is recorded as it says. */
static void test_delivery_claim_and_finish(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_webhook_row h;
    struct tsr_token_row t;
    struct dlist *l = calloc(1, sizeof(*l)), *got;
    char long_error[400];
    int64_t first, second, third;
    const int64_t t0 = 5000;

    assert_non_null(l);
    add_user(f, "claims@example.com", 1, &u);
    add_hook(f, "https://claims.example/", "", 1, &h);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rename_with(f, &t, "renamed", t0, "token.updated", true), TSR_OK);

    assert_int_equal(claim(f, BOTH, t0 - 1, t0 + 60, 10, l), 0); /* not due yet */
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, t0, t0 + 60, 2, l), 2);
    first = l->row[0].id;
    second = l->row[1].id;
    assert_true(first < second);
    assert_int_equal(l->row[0].channel, TSR_CHANNEL_WEBHOOK);
    assert_string_equal(l->row[0].url, h.url);
    assert_string_equal(l->row[0].key, "signing-key");
    assert_string_equal(l->row[0].email, "");
    assert_string_equal(l->row[0].event.type, "token.updated");
    assert_string_equal(l->row[0].event.name, "renamed");
    assert_int_equal(l->row[0].state, TSR_DELIVERY_PENDING);
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, t0, t0 + 60, 2, l), 1);
    third = l->row[0].id;
    assert_true(third > second);
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, t0 + 59, t0 + 60, 10, l), 0); /* held */
    assert_int_equal(claim(f, TSR_CHANNEL_EMAIL, t0, t0 + 30, 10, l), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(l->row[i].channel, TSR_CHANNEL_EMAIL);
        assert_string_equal(l->row[i].email, "claims@example.com");
        assert_string_equal(l->row[i].webhook_id, "");
        assert_string_equal(l->row[i].key, "");
    }

    /* A retry is due again at its next_at, with the attempt recorded. */
    assert_int_equal(tsr_store_delivery_finish(f->store, first, TSR_DELIVERY_PENDING, t0 + 100, 500,
                                               "server error", t0 + 1),
                     TSR_OK);
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, t0 + 99, t0 + 200, 10, l), 2);
    assert_int_equal(l->row[0].id, second); /* the others' claims ran out */
    assert_int_equal(l->row[1].id, third);
    assert_int_equal(claim(f, TSR_CHANNEL_WEBHOOK, t0 + 100, t0 + 200, 10, l), 1);
    assert_int_equal(l->row[0].id, first);
    assert_int_equal(l->row[0].attempts, 1);
    assert_int_equal(l->row[0].next_at, t0 + 100);
    assert_int_equal(l->row[0].last_status, 500);
    assert_string_equal(l->row[0].last_error, "server error");
    assert_int_equal(l->row[0].finished_at, 0);

    assert_int_equal(
        tsr_store_delivery_finish(f->store, first, TSR_DELIVERY_DONE, 0, 204, NULL, t0 + 101),
        TSR_OK);
    assert_int_equal(
        tsr_store_delivery_finish(f->store, first, TSR_DELIVERY_DONE, 0, 204, NULL, t0 + 102),
        TSR_ERR_NOT_FOUND);
    memset(long_error, 0, sizeof(long_error));
    long_error[0] = 'x';
    for (int i = 0; i < 150; i++)
        memcpy(long_error + 1 + 2 * i, "\xc3\xa9", 2); /* é: cut whole, not in two */
    assert_int_equal(tsr_store_delivery_finish(f->store, second, TSR_DELIVERY_FAILED, 0, 0,
                                               long_error, t0 + 103),
                     TSR_OK);
    assert_int_equal(
        tsr_store_delivery_finish(f->store, third, TSR_DELIVERY_DROPPED, 0, 0, NULL, t0 + 104),
        TSR_ERR_INVALID);
    assert_int_equal(
        tsr_store_delivery_finish(f->store, 999999, TSR_DELIVERY_DONE, 0, 0, NULL, t0 + 104),
        TSR_ERR_NOT_FOUND);

    got = deliveries_of(f, h.id, TSR_DELIVERY_DONE);
    assert_int_equal(got->n, 1);
    assert_int_equal(got->row[0].id, first);
    assert_int_equal(got->row[0].attempts, 2);
    assert_int_equal(got->row[0].finished_at, t0 + 101);
    assert_int_equal(got->row[0].last_status, 204);
    assert_string_equal(got->row[0].last_error, "");
    free(got);
    got = deliveries_of(f, h.id, TSR_DELIVERY_FAILED);
    assert_int_equal(got->n, 1);
    assert_int_equal(got->row[0].id, second);
    assert_int_equal(got->row[0].finished_at, t0 + 103);
    assert_int_equal(strlen(got->row[0].last_error), 199);
    assert_memory_equal(got->row[0].last_error, long_error, 199);
    free(got);
    assert_int_equal(count_deliveries(f, h.id, TSR_DELIVERY_PENDING), 1);
    l->n = 0;
    assert_int_equal(tsr_store_delivery_each(f->store, NULL, 0, 2, keep_delivery, l), TSR_OK);
    assert_int_equal(l->n, 2);
    assert_true(l->row[0].id > l->row[1].id);
    assert_int_equal(tsr_store_delivery_each(f->store, NULL, 0, 0, keep_delivery, l), TSR_OK);
    assert_int_equal(l->n, 2);

    /* The owner's address is read when the mail is sent: gone with them. */
    assert_int_equal(tsr_store_user_remove(f->store, u.id, t0 + 200), TSR_OK);
    assert_int_equal(claim(f, TSR_CHANNEL_EMAIL, t0 + 200, t0 + 260, 10, l), 3);
    assert_string_equal(l->row[0].email, "");
    assert_string_equal(l->row[0].event.user_id, u.id);
    free(l);
}

/* Several claimers at once, on two stores as on two nodes, each get
 * deliveries no other got, and together all of them. */
#define CLAIM_TOKENS  100
#define CLAIM_TOTAL   (2 * CLAIM_TOKENS)
#define CLAIMERS      8
#define CLAIM_AT_ONCE 2

struct claimer {
    struct tsr_store *store;
    pthread_barrier_t *start;
    int64_t now;
    int64_t ids[CLAIM_TOTAL];
    int n;
    int failures;
};

static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    struct tsr_delivery_row *rows = calloc(CLAIM_AT_ONCE, sizeof(*rows));
    size_t got = 1;

    pthread_barrier_wait(c->start); /* all at once, so that the claims meet */
    if (rows == NULL) {
        c->failures++;
        return NULL;
    }
    while (got > 0) {
        if (tsr_store_delivery_claim(c->store, BOTH, c->now, c->now + 600, CLAIM_AT_ONCE, rows,
                                     &got) != TSR_OK) {
            c->failures++;
            break;
        }
        for (size_t i = 0; i < got && c->failures == 0; i++) {
            if (c->n == CLAIM_TOTAL)
                c->failures++; /* more than there are: some came twice */
            else
                c->ids[c->n++] = rows[i].id;
        }
        if (c->failures > 0)
            break;
    }
    free(rows);
    return NULL;
}

static void test_delivery_claims_never_overlap(void **state)
{
    struct fixture *f = *state;
    struct tsr_store *other = NULL;
    struct tsr_user_row u;
    struct tsr_token_row *tokens = calloc(CLAIM_TOKENS, sizeof(*tokens));
    struct claimer *c = calloc(CLAIMERS, sizeof(*c));
    pthread_t th[CLAIMERS];
    pthread_barrier_t start;
    int64_t before[1] = {DAY}, raised = 0, seen_total = 0;
    char msg[256] = "";
    bool *seen = calloc(10 * CLAIM_TOTAL, sizeof(*seen));

    assert_non_null(tokens);
    assert_non_null(c);
    assert_non_null(seen);
    add_user(f, "many@example.com", 1, &u);
    add_hook(f, "https://many.example/", "", 1, NULL);
    for (int i = 0; i < CLAIM_TOKENS; i++)
        fill_token(&tokens[i], u.id, TSR_TOKEN_PERSONAL, NULL, "many", 1, f->now + DAY / 2);
    assert_int_equal(tsr_store_token_insert_many(f->store, tokens, CLAIM_TOKENS), TSR_OK);
    assert_int_equal(tsr_store_expiry_notices(f->store, f->now, before, 1, f->now, true, &raised),
                     TSR_OK);
    assert_int_equal(raised, CLAIM_TOKENS);

    assert_int_equal(tsr_store_open(f->path, &other, msg, sizeof(msg)), TSR_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, CLAIMERS), 0);
    for (int i = 0; i < CLAIMERS; i++) {
        c[i].store = i % 2 ? other : f->store;
        c[i].start = &start;
        c[i].now = f->now;
        assert_int_equal(pthread_create(&th[i], NULL, claim_all, &c[i]), 0);
    }
    for (int i = 0; i < CLAIMERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(c[i].failures, 0);
        for (int k = 0; k < c[i].n; k++) {
            assert_in_range(c[i].ids[k], 1, 10 * CLAIM_TOTAL - 1);
            assert_false(seen[c[i].ids[k]]);
            seen[c[i].ids[k]] = true;
        }
        seen_total += c[i].n;
    }
    assert_int_equal(seen_total, CLAIM_TOTAL);
    pthread_barrier_destroy(&start);
    tsr_store_close(other);
    free(seen);
    free(c);
    free(tokens);
}

/* A connection of the test's own to f's PostgreSQL database. */
static PGconn *pg_connect(struct fixture *f)
{
    char url[512];
    PGconn *pg;

    snprintf(url, sizeof(url), "%s/%s", g_pg, f->pg_db);
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("connect %s: %s", url, PQerrorMessage(pg));
    return pg;
}

static void pg_run(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
}

/* PostgreSQL: a claim passes over the deliveries that another node's claim
 * holds locked, at once, rather than wait for them or take them too. */
static void test_delivery_claim_skips_locked(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t;
    struct dlist *l;
    char sql[128];
    int64_t oldest, newest, t0;
    PGconn *pg;

    if (g_pg == NULL)
        skip(); /* SQLite's claims take turns on its one write lock */
    add_user(f, "locked@example.com", 1, &u);
    add_hook(f, "https://locked.example/", "", 1, NULL);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);
    assert_int_equal(rename_with(f, &t, "one", 100, "token.updated", false), TSR_OK);
    assert_int_equal(rename_with(f, &t, "two", 100, "token.updated", false), TSR_OK);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 2);
    newest = l->row[0].id;
    oldest = l->row[1].id;

    pg = pg_connect(f);
    pg_run(pg, "BEGIN");
    snprintf(sql, sizeof(sql), "SELECT id FROM deliveries WHERE id = %lld FOR UPDATE",
             (long long)oldest);
    pg_run(pg, sql);
    t0 = (int64_t)time(NULL);
    assert_int_equal(claim(f, BOTH, 100, 160, 10, l), 1);
    assert_int_equal(l->row[0].id, newest);
    assert_true((int64_t)time(NULL) - t0 <= 1); /* no wait for the lock's timeout */
    pg_run(pg, "ROLLBACK");
    assert_int_equal(claim(f, BOTH, 100, 160, 10, l), 1);
    assert_int_equal(l->row[0].id, oldest);
    PQfinish(pg);
    free(l);
}

/* A change that raises an event, run on a thread of its own. */
struct raiser {
    struct fixture *f;
    const struct tsr_token_row *t;
    atomic_bool done;
    enum tsr_err rc;
};

static void *raise_one(void *arg)
{
    struct raiser *r = arg;

    r->rc = rename_with(r->f, r->t, "raced", 100, "token.updated", false);
    atomic_store(&r->done, true);
    return NULL;
}

/* Waits (at most five seconds) until r is done or a statement of the
 * database waits for a lock: the event is then held by the removal. */
static void wait_done_or_blocked(struct fixture *f, struct raiser *r)
{
    for (int i = 0; i < 500 && !atomic_load(&r->done); i++) {
        if (sql_int(f, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                       " AND datname = current_database()") > 0)
            return;
        usleep(10000);
    }
}

/* PostgreSQL: a webhook removed on one node while another raises an event
 * gets no delivery that stays pending: the event waits for the removal,
 * then passes the webhook by. */
static void test_webhook_remove_races_event(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_webhook_row gone, kept;
    struct tsr_token_row t;
    struct raiser r = {.f = f, .t = &t, .rc = TSR_ERR_STORE};
    pthread_t th;
    char sql[256];
    PGconn *pg;

    if (g_pg == NULL)
        skip(); /* SQLite's writes take turns on its one write lock */
    add_user(f, "race-hook@example.com", 1, &u);
    add_hook(f, "https://gone.example/", "", 1, &gone);
    add_hook(f, "https://kept.example/", "", 2, &kept);
    add_token(f, u.id, TSR_TOKEN_PERSONAL, "t", f->now + 1000, &t);

    /* tsr_store_webhook_remove's two statements, held uncommitted. */
    pg = pg_connect(f);
    pg_run(pg, "BEGIN");
    snprintf(sql, sizeof(sql), "DELETE FROM webhooks WHERE id = '%s'", gone.id);
    pg_run(pg, sql);
    snprintf(sql, sizeof(sql),
             "UPDATE deliveries SET state = 4, finished_at = 1 WHERE webhook_id = '%s'"
             " AND state = 1",
             gone.id);
    pg_run(pg, sql);
    atomic_init(&r.done, false);
    assert_int_equal(pthread_create(&th, NULL, raise_one, &r), 0);
    wait_done_or_blocked(f, &r);
    pg_run(pg, "COMMIT");
    assert_int_equal(pthread_join(th, NULL), 0);
    PQfinish(pg);
    assert_int_equal(r.rc, TSR_OK);
    assert_int_equal(count_deliveries(f, gone.id, TSR_DELIVERY_PENDING), 0);
    assert_int_equal(count_deliveries(f, kept.id, TSR_DELIVERY_PENDING), 1);
}

/* Counts the events of type for token_id with notice_before. */
static int64_t events_of(struct fixture *f, const char *token_id, const char *type,
                         int64_t notice_before)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM events WHERE token_id = '%s' AND type = '%s'"
             " AND notice_before = %lld",
             token_id, type, (long long)notice_before);
    return sql_int(f, sql);
}

/* Inserts a token made at created; returns it in *out. */
static void made_token(struct fixture *f, const char *user_id, enum tsr_token_kind kind,
                       const char *name, int64_t created, int64_t expires_at,
                       struct tsr_token_row *out)
{
    fill_token(out, user_id, kind, NULL, name, created, expires_at);
    assert_int_equal(tsr_store_token_insert(f->store, out, 0, created, NULL), TSR_OK);
}

static int64_t notices(struct fixture *f, const int64_t *before, size_t n, int64_t now,
                       int64_t expired_since, bool mail_owner)
{
    int64_t raised = -1;

    assert_int_equal(
        tsr_store_expiry_notices(f->store, now, before, n, expired_since, mail_owner, &raised),
        TSR_OK);
    return raised;
}

/* Each window's notice comes once per token and expiry, none for a window
 * a token was born in, again for a new expiry; token.expired once; none for
 * revoked or session tokens, nor for the tokens of removed users. */
static void test_expiry_notices(void **state)
{
    struct fixture *f = *state;
    const int64_t now = f->now, before[2] = {DAY, 7 * DAY};
    const int64_t descending[2] = {7 * DAY, DAY}, zero[1] = {0};
    struct tsr_user_row u, gone;
    struct tsr_token_row a, b, c, revoked, theirs, session, g, h, far, v;
    struct dlist *l;
    int64_t raised = 0;

    add_user(f, "expiring@example.com", 1, &u);
    add_user(f, "gone@example.com", 1, &gone);
    add_hook(f, "https://expiry.example/", "token.expiring token.expired", 1, NULL);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "a", now - 30 * DAY, now + 5 * DAY, &a);
    /* born inside the 7-day window */
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "b", now - 3600, now + 5 * DAY, &b);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "c", now - 30 * DAY, now + DAY / 2, &c);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "revoked", now - 30 * DAY, now + 5 * DAY, &revoked);
    made_token(f, gone.id, TSR_TOKEN_PERSONAL, "theirs", now - 30 * DAY, now + 5 * DAY, &theirs);
    made_token(f, u.id, TSR_TOKEN_SESSION, "session", now - 30 * DAY, now + 5 * DAY, &session);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "g", now - 30 * DAY, now - 10, &g);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "h", now - 30 * DAY, now - 7200, &h);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "far", now - 30 * DAY, now + 20 * DAY, &far);
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, revoked.id, TSR_TOKEN_PERSONAL, now - 1, NULL),
        TSR_OK);
    /* Removed behind the store's back, without its tokens being revoked:
     * the user's own liveness must keep its token out. */
    sql_exec(f, "UPDATE users SET removed_at = 1 WHERE email = 'gone@example.com'");

    assert_int_equal(tsr_store_expiry_notices(f->store, now, descending, 2, now, true, &raised),
                     TSR_ERR_INVALID);
    assert_int_equal(tsr_store_expiry_notices(f->store, now, zero, 1, now, true, &raised),
                     TSR_ERR_INVALID);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM expiry_notices"), 0);

    assert_int_equal(notices(f, before, 2, now, now - 3600, true), 3);
    assert_int_equal(events_of(f, a.id, "token.expiring", 7 * DAY), 1);
    assert_int_equal(events_of(f, c.id, "token.expiring", DAY), 1);
    assert_int_equal(events_of(f, g.id, "token.expired", 0), 1);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 6);
    assert_int_equal(count_channel(l, TSR_CHANNEL_EMAIL), 3);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->row[i].event.token_id, a.id) == 0) {
            assert_int_equal(l->row[i].event.at, now);
            assert_int_equal(l->row[i].event.expires_at, a.expires_at);
            assert_string_equal(l->row[i].event.name, "a");
        }
    }
    free(l);
    assert_int_equal(notices(f, before, 2, now, now - 3600, true), 0);

    /* Three days on, a and b are two days from expiry, in the window a has
     * heard of and b was born in; c expired before expired_since. */
    assert_int_equal(notices(f, before, 2, now + 3 * DAY, now + 3 * DAY - 3600, true), 0);
    /* Half a day before: the 1-day window, for both; no mail asked. */
    assert_int_equal(notices(f, before, 2, now + 4 * DAY + DAY / 2, now + 4 * DAY, false), 2);
    assert_int_equal(events_of(f, a.id, "token.expiring", DAY), 1);
    assert_int_equal(events_of(f, b.id, "token.expiring", DAY), 1);
    assert_int_equal(events_of(f, b.id, "token.expiring", 7 * DAY), 0);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 8);
    assert_int_equal(count_channel(l, TSR_CHANNEL_EMAIL), 3);
    free(l);

    /* Expired: a, b and c now; g not again, h (expired earlier) now that
     * the caller looks that far back. */
    assert_int_equal(notices(f, before, 2, now + 5 * DAY + 10, now, true), 3);
    assert_int_equal(notices(f, before, 2, now + 5 * DAY + 10, now - 7300, true), 1);
    assert_int_equal(events_of(f, h.id, "token.expired", 0), 1);
    assert_int_equal(events_of(f, g.id, "token.expired", 0), 1);
    assert_int_equal(notices(f, before, 2, now + 5 * DAY + 10, 0, true), 0);

    /* A new expiry arms the notices again. */
    memset(&v, 0, sizeof(v));
    v.expires_at = now + 11 * DAY;
    assert_int_equal(
        tsr_store_token_update(f->store, u.id, a.id, TSR_SET_EXPIRES_AT, &v, NULL, NULL), TSR_OK);
    assert_int_equal(notices(f, before, 2, now + 5 * DAY + 10, now, true), 1);
    assert_int_equal(events_of(f, a.id, "token.expiring", 7 * DAY), 2);
    assert_int_equal(rows_of_token(f, "expiry_notices", a.id), 4);

    assert_int_equal(rows_of_token(f, "events", revoked.id), 0);
    assert_int_equal(rows_of_token(f, "events", theirs.id), 0);
    assert_int_equal(rows_of_token(f, "events", session.id), 0);
    assert_int_equal(rows_of_token(f, "events", far.id), 0);
    /* No windows: only the expired are looked for, far and a at its new expiry. */
    assert_int_equal(notices(f, NULL, 0, now + 30 * DAY, now, true), 2);
    assert_int_equal(events_of(f, far.id, "token.expired", 0), 1);
}

/* Old events go once none of their deliveries is pending, with them; the
 * notices of purged tokens go too. */
static void test_purge_events(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row kept, old;
    struct dlist *l;
    const int64_t before[1] = {DAY};
    int64_t tokens = 0, audits = 0, done = 0;

    add_user(f, "purge-events@example.com", 1, &u);
    add_hook(f, "https://purge.example/", "", 1, NULL);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "kept", 1, f->now + DAY / 2, &kept);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "old", 1, f->now + DAY / 2, &old);
    assert_int_equal(notices(f, before, 1, f->now, f->now, false), 2);
    assert_int_equal(
        tsr_store_token_revoke(f->store, u.id, old.id, TSR_TOKEN_PERSONAL, f->now - 400, NULL),
        TSR_OK);

    assert_int_equal(rename_with(f, &kept, "done", 100, "token.updated", false), TSR_OK);
    l = deliveries_of(f, NULL, 0);
    assert_int_equal(l->n, 3);
    done = l->row[0].id;
    free(l);
    assert_int_equal(
        tsr_store_delivery_finish(f->store, done, TSR_DELIVERY_DONE, 0, 200, NULL, 101), TSR_OK);
    assert_int_equal(rename_with(f, &kept, "pending", 100, "token.updated", false), TSR_OK);
    assert_int_equal(rename_with(f, &kept, "new", f->now, "token.updated", false), TSR_OK);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), 5);

    assert_int_equal(tsr_store_purge(f->store, f->now - 100, f->now - 100, &tokens, &audits),
                     TSR_OK);
    assert_int_equal(tokens, 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), 4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE name = 'done'"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE name = 'pending'"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM deliveries"), 4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM deliveries WHERE state <> 1"), 0);
    assert_int_equal(rows_of_token(f, "expiry_notices", old.id), 0);
    assert_int_equal(rows_of_token(f, "expiry_notices", kept.id), 1);

    /* Sent at last, the old event goes at the next purge. */
    l = deliveries_of(f, NULL, TSR_DELIVERY_PENDING);
    for (size_t i = 0; i < l->n; i++) {
        if (l->row[i].event.at == 100)
            assert_int_equal(tsr_store_delivery_finish(f->store, l->row[i].id, TSR_DELIVERY_FAILED,
                                                       0, 0, "gave up", 102),
                             TSR_OK);
    }
    free(l);
    assert_int_equal(tsr_store_purge(f->store, f->now - 100, f->now - 100, &tokens, &audits),
                     TSR_OK);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE at = 100"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM deliveries"), 3);
}

/* A database of version 5, with a token in it, takes version 6 at open:
 * the token, expiring, is noticed then. */
static void test_migration_adds_events(void **state)
{
    struct fixture *f = *state;
    struct tsr_user_row u;
    struct tsr_token_row t;
    const int64_t before[1] = {DAY};

    add_user(f, "six@example.com", 1, &u);
    made_token(f, u.id, TSR_TOKEN_PERSONAL, "six", 1, f->now + DAY / 2, &t);
    tsr_store_close(f->store);
    f->store = NULL;
    sql_exec(f, "DELETE FROM schema_migrations WHERE version >= 6;" UNDO_EVENTS);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), 5);
    open_store(f);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), 6);
    add_hook(f, "https://six.example/", "", 1, NULL);
    assert_int_equal(notices(f, before, 1, f->now, f->now, true), 1);
    assert_int_equal(count_deliveries(f, NULL, TSR_DELIVERY_PENDING), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* The cluster's base URL from TSR_TEST_PG, or from the file TSR_TEST_PG_FILE
 * names; NULL for neither. */
static const char *pg_base(void)
{
    static char url[256];
    const char *v = getenv("TSR_TEST_PG");
    const char *file = getenv("TSR_TEST_PG_FILE");
    FILE *fp;

    if (v != NULL && v[0] != '\0')
        return v;
    if (file == NULL || file[0] == '\0')
        return NULL;
    fp = fopen(file, "r");
    if (fp == NULL || fgets(url, sizeof(url), fp) == NULL) {
        fprintf(stderr, "cannot read the cluster's URL from %s\n", file);
        exit(1);
    }
    fclose(fp);
    url[strcspn(url, "\n")] = '\0';
    return url;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_creates_private_files),
        T(test_open_tightens_wide_mode),
        T(test_reopen_keeps_data),
        T(test_open_pragmas),
        T(test_open_reports_unreachable_postgres),
        T(test_open_reports_missing_folders),
        T(test_user_insert_and_find),
        T(test_user_each_and_count),
        T(test_user_set_password_revokes_sessions),
        T(test_user_remove_revokes_tokens),
        T(test_token_insert_limit),
        T(test_token_by_hash_and_get),
        T(test_insert_many_and_statement_count),
        T(test_purge),
        T(test_backup),
        T(test_group_commit_keeps_the_limit),
        T(test_insert_async),
        T(test_token_list_search),
        T(test_token_list_order),
        T(test_token_list_paging),
        T(test_token_update),
        T(test_token_revoke),
        T(test_token_each_live_and_changes),
        T(test_token_touch),
        T(test_uses_fold_by_rows_held),
        T(test_audit),
        T(test_audit_list),
        T(test_concurrent_inserts),
        T(test_two_stores_share),
        T(test_migration_numbers_users),
        T(test_user_numbers_never_reused),
        T(test_migration_makes_old_tokens_global),
        T(test_token_new_fields_round_trip),
        T(test_token_last_used_ip),
        T(test_token_update_new_fields),
        T(test_token_rotate),
        T(test_scope_insert_each_version),
        T(test_scope_remove_in_use),
        T(test_event_deliveries),
        T(test_webhook_insert_each_remove),
        T(test_delivery_claim_and_finish),
        T(test_delivery_claims_never_overlap),
        T(test_delivery_claim_skips_locked),
        T(test_webhook_remove_races_event),
        T(test_expiry_notices),
        T(test_purge_events),
        T(test_migration_adds_events),
    };

    g_pg = pg_base();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
