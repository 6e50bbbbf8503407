/* test_operator.c - end to end: tesserad's command line, user commands, first start, signals */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOB   "bob@example.com"
#define BOB_1 "bob-password-1"
#define BOB_2 "bob-password-2"

static struct tsr_h_server *srv;

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    return 0;
}

/* Asserts c exited with status and, when it failed, wrote exactly one line
 * "tesserad: ..." to standard error. */
#define assert_exit(c, st) assert_exit_at(c, st, __FILE__, __LINE__)
static void assert_exit_at(const struct tsr_h_cmd *c, int status, const char *file, int line)
{
    if (c->status != status) {
        print_error("stdout: %s\nstderr: %s\n", c->out, c->err);
    }
    _assert_int_equal((LargestIntegralType)c->status, (LargestIntegralType)status, file, line);
    if (status != 0) {
        size_t len = strlen(c->err);
        bool one_line =
            len > 0 && c->err[len - 1] == '\n' && strchr(c->err, '\n') == c->err + len - 1;
        if (!one_line || strncmp(c->err, "tesserad: ", 10) != 0) {
            print_error("stderr: '%s'\n", c->err);
            print_error("want one line 'tesserad: <message>'\n");
            _fail(file, line);
        }
    }
}

static struct tsr_h_resp *login(const char *email, const char *password)
{
    struct tsr_h_req req = {
        .method = "POST", .path = "/v4/tokens", .auth = tsr_h_basic(email, password)};
    return tsr_h_req(srv, &req);
}

/* The line of `user list` for email (any case), or NULL. */
static const char *listed(const char *email)
{
    struct tsr_h_cmd *c = tsr_h_user(srv, "list", NULL, NULL);
    assert_exit(c, 0);
    char *save = NULL;
    char *copy = tsr_h_fmt("%s", c->out);
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        const char *tab = strchr(l, '\t');
        if (tab != NULL && (size_t)(tab - l) == strlen(email) &&
            strncasecmp(l, email, strlen(email)) == 0) {
            return l;
        }
    }
    return NULL;
}

/* Polls (at most ms) until GET path with secret answers want; returns the
 * milliseconds it took, or fails. */
static int64_t wait_status(const char *path, const char *secret, long want, int ms)
{
    int64_t start = tsr_h_mono_ms();
    for (;;) {
        struct tsr_h_resp *r = tsr_h_get(srv, path, secret);
        if (r->status == want) {
            return tsr_h_mono_ms() - start;
        }
        if (tsr_h_mono_ms() - start > ms) {
            fail_msg("GET %s still %ld after %d ms, want %ld", path, r->status, ms, want);
        }
        tsr_h_sleep_ms(50);
    }
}

static void test_help_and_version(void **state)
{
    (void)state;
    struct tsr_h_cmd *c = tsr_h_cmd(NULL, NULL, "--help", NULL);
    assert_exit(c, 0);
    const char *all = tsr_h_fmt("%s%s", c->out, c->err);
    assert_non_null(strstr(all, "serve"));
    assert_non_null(strstr(all, "user"));
    c = tsr_h_cmd(NULL, NULL, "--version", NULL);
    assert_exit(c, 0);
    all = tsr_h_fmt("%s%s", c->out, c->err);
#ifdef TSR_VERSION
    assert_non_null(strstr(all, TSR_VERSION));
#else
    assert_true(strlen(all) > 0);
#endif
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *db = tsr_h_fmt("%s/usage.db", srv->dir);
    /* Each carries a harmless --listen and --db, in case it starts anyway. */
    assert_exit(tsr_h_cmd(srv, NULL, "--bogus", NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "frobnicate", NULL), 2);
    assert_exit(
        tsr_h_cmd(srv, NULL, "serve", "--bogus", "--listen", "127.0.0.1:0", "--db", db, NULL), 2);
    assert_exit(
        tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db, "--bogus", NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "user", NULL), 2);
    assert_exit(tsr_h_cmd(srv, NULL, "user", "frobnicate", "x@example.com", "--db", db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, "password-123\n", "user", "add", "--db", db, NULL), 2);
    assert_exit(tsr_h_cmd(srv, "password-123\n", "user", "add", "x@example.com", "--db", db,
                          "--bogus", NULL),
                2);
    assert_exit(tsr_h_cmd(srv, NULL, "user", "list", "--bogus", "--db", db, NULL), 2);
}

static void test_user_add(void **state)
{
    (void)state;
    assert_exit(tsr_h_user(srv, "add", BOB, BOB_1 "\n"), 0);
    /* Refused: taken (in any case), too short, not an email, no password. */
    assert_exit(tsr_h_user(srv, "add", BOB, "another-password\n"), 1);
    assert_exit(tsr_h_user(srv, "add", "BOB@Example.COM", "another-password\n"), 1);
    assert_exit(tsr_h_user(srv, "add", "carol@example.com", "short\n"), 1);
    assert_exit(tsr_h_user(srv, "add", "carol@example.com", "1234567\n"), 1);
    assert_exit(tsr_h_user(srv, "add", "carol@example.com", ""), 1);
    assert_exit(tsr_h_user(srv, "add", "not-an-email", "long-enough-password\n"), 1);
    assert_null(listed("carol@example.com"));
    assert_null(listed("not-an-email"));
    /* Exactly 8 is enough; CRLF is stripped; a colon in a password is fine. */
    assert_exit(tsr_h_user(srv, "add", "dave@example.com", "12345678\n"), 0);
    assert_exit(tsr_h_user(srv, "add", "erin@example.com", "erin-password\r\n"), 0);
    assert_exit(tsr_h_user(srv, "add", "Fay@Example.com", "fay:pass:word\n"), 0);

    /* The running server sees them at once: a login reads the database. */
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, BOB, BOB_1, s);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", s);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "email"), BOB);
    tsr_h_login(srv, "dave@example.com", "12345678", s);
    tsr_h_login(srv, "erin@example.com", "erin-password", s);
    tsr_h_login(srv, "fay@example.com", "fay:pass:word", s);
    /* Stored as given. */
    r = tsr_h_get(srv, "/v4/iam/users/me", s);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "email"), "Fay@Example.com");
}

static void test_user_list(void **state)
{
    (void)state;
    struct tsr_h_cmd *c = tsr_h_user(srv, "list", NULL, NULL);
    assert_exit(c, 0);
    assert_null(strstr(c->out, "argon2"));
    assert_null(strstr(c->out, BOB_1));
    int lines = 0;
    char *save = NULL;
    char *copy = tsr_h_fmt("%s", c->out);
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        char email[300], id[64], created[64], extra[8];
        int n = sscanf(l, "%299[^\t]\t%63[^\t]\t%63[^\t]\t%7s", email, id, created, extra);
        if (n != 3) {
            fail_msg("user list line '%s' is not email<TAB>id<TAB>created", l);
        }
        assert_true(tsr_h_uuid_ok(id));
        tsr_h_assert_between(tsr_h_parse_time(created), tsr_h_now() - 600, tsr_h_now() + 1);
        lines++;
    }
    assert_int_equal(lines, 5); /* admin, bob, dave, erin, fay */
    assert_non_null(listed(TSR_H_ADMIN_EMAIL));
    assert_non_null(listed(BOB));
    /* The admin's id is the one the API shows. */
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", s);
    const char *id = tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id");
    assert_non_null(strstr(listed(TSR_H_ADMIN_EMAIL), id));
}

static void test_user_passwd(void **state)
{
    (void)state;
    char session[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, BOB, BOB_1, session);
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "bob's", NULL, &t);

    assert_exit(tsr_h_user(srv, "passwd", BOB, BOB_2 "\n"), 0);
    /* Bob's sessions end within 1 s (allowing scheduling slack); his personal
     * tokens stay. */
    int64_t ms = wait_status("/v4/iam/users/me", session, 401, 1250);
    print_message("session refused %lld ms after passwd\n", (long long)ms);
    assert_true(tsr_h_verify(srv, t.secret));
    /* Old password refused, new accepted. */
    struct tsr_h_resp *r = login(BOB, BOB_1);
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    char s2[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, BOB, BOB_2, s2);

    /* Refused: unknown user, short password (which changes nothing). */
    assert_exit(tsr_h_user(srv, "passwd", "nobody@example.com", "long-enough-password\n"), 1);
    assert_exit(tsr_h_user(srv, "passwd", BOB, "short\n"), 1);
    tsr_h_login(srv, BOB, BOB_2, s2);
    /* Any case of the email works. */
    assert_exit(tsr_h_user(srv, "passwd", "BOB@EXAMPLE.COM", BOB_1 "\n"), 0);
    tsr_h_login(srv, BOB, BOB_1, s2);
}

static void test_user_remove(void **state)
{
    (void)state;
    char session[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, BOB, BOB_1, session);
    struct tsr_h_token t;
    tsr_h_create_token(srv, session, "bob's last", NULL, &t);
    assert_true(tsr_h_verify(srv, t.secret));

    assert_exit(tsr_h_user(srv, "remove", BOB, NULL), 0);
    int64_t ms = wait_status("/v4/auth/verify", t.secret, 401, 1250);
    print_message("personal token refused %lld ms after remove\n", (long long)ms);
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/users/me", session), 401, "unauthorized",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(login(BOB, BOB_1), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    assert_null(listed(BOB));
    assert_non_null(listed(TSR_H_ADMIN_EMAIL));
    /* Twice, or someone who never was: 1. */
    assert_exit(tsr_h_user(srv, "remove", BOB, NULL), 1);
    assert_exit(tsr_h_user(srv, "remove", "nobody@example.com", NULL), 1);

    /* The email can be used again, by a new account that inherits nothing. */
    assert_exit(tsr_h_user(srv, "add", BOB, "new-bob-password\n"), 0);
    char s2[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, BOB, "new-bob-password", s2);
    assert_int_equal(tsr_h_count_tokens(srv, s2), 0);
    assert_false(tsr_h_verify(srv, t.secret));
    tsr_h_assert_error(tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), s2), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
}

static void assert_mode_0600(const char *path, bool must_exist)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (must_exist) {
            fail_msg("%s: %s", path, strerror(errno));
        }
        return;
    }
    print_message("%s: %o\n", path, (unsigned)(st.st_mode & 07777));
    assert_int_equal(st.st_mode & 07777, 0600);
}

/* SQLite's files are ours to keep private; a PostgreSQL database is its
 * server's. */
static void assert_db_modes(const struct tsr_h_server *s)
{
    if (tsr_h_pg() != NULL) {
        return;
    }
    assert_mode_0600(s->db, true);
    assert_mode_0600(tsr_h_fmt("%s-wal", s->db), false);
    assert_mode_0600(tsr_h_fmt("%s-shm", s->db), false);
    assert_mode_0600(tsr_h_fmt("%s-journal", s->db), false);
}

static void test_file_modes(void **state)
{
    (void)state;
    mode_t old = umask(0);
    /* A permissive umask for the next server must not loosen anything. */
    struct tsr_h_server *open_srv = tsr_h_start(NULL);
    umask(old);
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(open_srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    struct tsr_h_token t;
    tsr_h_create_token(open_srv, s, "mode", NULL, &t);
    assert_db_modes(open_srv);
    assert_db_modes(srv);
    /* With TESSERA_ADMIN_PASSWORD set, no password file is written. */
    assert_int_equal(access(tsr_h_fmt("%s/admin-password", srv->dir), F_OK), -1);
    assert_null(strstr(tsr_h_server_stderr(srv), TSR_H_ADMIN_PASSWORD));
    tsr_h_stop(open_srv);
    assert_db_modes(open_srv);
}

/* On PostgreSQL there is no folder beside the database for a generated
 * password: a first start without TESSERA_ADMIN_PASSWORD is refused before
 * it creates an admin nobody could log in as, and no message shows the
 * password of the database URL. */
static void test_first_start_on_url_needs_password(void **state)
{
    static const char pw[] = "db-password-never-shown";
    struct tsr_h_server fresh;
    struct tsr_h_cmd *c;
    const char *at, *url, *bad;

    (void)state;
    if (tsr_h_pg() == NULL) {
        skip();
    }
    memset(&fresh, 0, sizeof(fresh));
    tsr__h_db_init(&fresh);
    at = strchr(strstr(fresh.db, "://") + 3, '@');
    assert_non_null(at);
    url = tsr_h_fmt("%.*s:%s%s", (int)(at - fresh.db), fresh.db, pw, at);
    c = tsr_h_cmd(NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", url, NULL);
    print_message("stderr: %s\n", c->err);
    assert_int_not_equal(c->status, 0);
    assert_non_null(strstr(c->err, "TESSERA_ADMIN_PASSWORD"));
    /* One line: the error, nothing else. */
    assert_ptr_equal(strchr(c->err, '\n'), strrchr(c->err, '\n'));
    assert_null(strstr(c->err, pw));
    assert_null(strstr(c->out, pw));
    assert_int_equal(tsr_h_sql_int(&fresh, "SELECT count(*) FROM users", NULL, NULL), 0);

    /* A database that cannot be opened is named without the password. */
    bad = tsr_h_fmt("%.*s:%s%s_none", (int)(at - fresh.db), fresh.db, pw, at);
    c = tsr_h_cmd(NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", bad, NULL);
    assert_int_not_equal(c->status, 0);
    assert_non_null(strstr(c->err, "cannot open database"));
    assert_null(strstr(c->err, pw));
}

static void test_first_start_admin_password(void **state)
{
    (void)state;
    /* The password file goes beside a database file: with PostgreSQL there
     * is none, and the operator gives TESSERA_ADMIN_PASSWORD or adds users
     * with `tesserad user add` (docs/scale-out.md). */
    if (tsr_h_pg() != NULL) {
        skip();
    }
    struct tsr_h_opts o = {.no_admin_password = true};
    struct tsr_h_server *first = tsr_h_start(&o);
    const char *path = tsr_h_fmt("%s/admin-password", first->dir);
    const char *err = tsr_h_server_stderr(first);
    print_message("stderr: %s\n", err);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "admin@localhost"));
    assert_mode_0600(path, true);

    size_t len = 0;
    char *pw = tsr_h_read_file(path, &len);
    assert_non_null(pw);
    while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r')) {
        pw[--len] = '\0';
    }
    assert_true(len >= 16);
    assert_int_equal(strcspn(pw, " \t\r\n"), len);
    /* The password is in the file, never on standard error. */
    assert_null(memmem(err, strlen(err), pw, len));

    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(first, TSR_H_ADMIN_EMAIL, pw, s);
    struct tsr_h_resp *r = tsr_h_get(first, "/v4/iam/users/me", s);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "email"), TSR_H_ADMIN_EMAIL);
    assert_db_modes(first);

    /* SIGINT stops it cleanly too (exit 0, checked by the harness). */
    tsr_h_stop_with(first, SIGINT);
    /* A second start does not make another admin or another password. */
    tsr_h_resume(first);
    size_t len2 = 0;
    char *pw2 = tsr_h_read_file(path, &len2);
    assert_non_null(pw2);
    assert_int_equal(strncmp(pw2, pw, len), 0);
    const char *err2 = tsr_h_server_stderr(first);
    assert_null(memmem(err2, strlen(err2), pw, len));
    tsr_h_login(first, TSR_H_ADMIN_EMAIL, pw, s);
    tsr_h_stop_with(first, SIGINT);
    /* Nothing anywhere in its folder but the file holds the password. */
    const char *files[] = {"stderr.log", "stdout.log", "tessera.db", "tessera.db-wal"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t flen = 0;
        char *buf = tsr_h_read_file(tsr_h_fmt("%s/%s", first->dir, files[i]), &flen);
        if (buf != NULL) {
            assert_null(memmem(buf, flen, pw, len));
        }
    }
}

static void test_environment(void **state)
{
    (void)state;
    static const char *const env[] = {"TESSERA_MAX_LIFETIME_DAYS=1", "TESSERA_MAX_TOKENS=2", NULL};
    struct tsr_h_opts o = {.env = env};
    struct tsr_h_server *e = tsr_h_start(&o);
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(e, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    int64_t now = tsr_h_now();
    struct tsr_h_resp *r = tsr_h_send(
        e, "POST", "/v4/iam/personal_tokens", s,
        tsr_h_fmt("{\"name\":\"2 days\",\"expires_at\":\"%s\"}", tsr_h_time(now + 2 * TSR_H_DAY)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    struct tsr_h_token t;
    tsr_h_create_token(e, s, "1 day", tsr_h_time(now + TSR_H_DAY), &t);
    tsr_h_create_token(e, s, "1 day more", tsr_h_time(now + TSR_H_DAY), &t);
    r = tsr_h_send(
        e, "POST", "/v4/iam/personal_tokens", s,
        tsr_h_fmt("{\"name\":\"third\",\"expires_at\":\"%s\"}", tsr_h_time(now + TSR_H_DAY)));
    tsr_h_assert_error(r, 409, "token_limit_reached", TSR_H_SRC_NONE, NULL);
    tsr_h_stop(e);
}

static void test_sigint(void **state)
{
    (void)state;
    char s[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    struct tsr_h_token t;
    tsr_h_create_token(srv, s, "before SIGINT", NULL, &t);
    tsr_h_stop_with(srv, SIGINT);
    tsr_h_resume(srv);
    assert_true(tsr_h_verify(srv, t.secret));
}

/* tesserad backup copies the live database; the copy opens and holds the
 * data; an existing destination is refused. */
static void test_backup(void **state)
{
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct tsr_h_cmd *c;
    struct stat st;
    const char *dest = tsr_h_fmt("%s/copy.db", srv->dir);

    (void)state;
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, s);
    tsr_h_create_token(srv, s, "backed up", NULL, &t);
    if (tsr_h_pg() != NULL) {
        /* pg_dump's job: refused, with a sentence that says so, no file. */
        c = tsr_h_cmd(srv, NULL, "backup", dest, "--db", srv->db, NULL);
        assert_int_equal(c->status, 1);
        assert_non_null(strstr(c->err, "pg_dump"));
        assert_int_not_equal(stat(dest, &st), 0);
        return;
    }
    c = tsr_h_cmd(srv, NULL, "backup", dest, "--db", srv->db, NULL);
    assert_int_equal(c->status, 0);
    assert_int_equal(stat(dest, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    c = tsr_h_cmd(srv, NULL, "backup", dest, "--db", srv->db, NULL);
    assert_int_equal(c->status, 1);
    assert_non_null(strstr(c->err, "copy.db"));
    c = tsr_h_cmd(srv, NULL, "backup", "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    c = tsr_h_cmd(srv, NULL, "user", "list", "--db", dest, NULL);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->out, TSR_H_ADMIN_EMAIL));
    /* A server started on the copy accepts the token. */
    const char *args[] = {"--db", dest, NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *restored = tsr_h_start(&o);
    assert_true(tsr_h_verify(restored, t.secret));
    tsr_h_stop(restored);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_user_add),
        cmocka_unit_test(test_user_list),
        cmocka_unit_test(test_user_passwd),
        cmocka_unit_test(test_user_remove),
        cmocka_unit_test(test_file_modes),
        cmocka_unit_test(test_first_start_admin_password),
        cmocka_unit_test(test_first_start_on_url_needs_password),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_sigint),
        cmocka_unit_test(test_backup),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
