/* harness.h - end-to-end test harness: a real tesserad, libcurl, and leak checks
 *
 * Each test program starts one or more real servers (`tesserad serve` on
 * 127.0.0.1:0 with a temporary database), talks to them over HTTP and runs
 * the operator's `tesserad user ...` commands. The harness records every
 * secret that a response carries; when a server stops, and again when the
 * program ends, it searches the database, its -wal and -shm files and the
 * server's standard error for each of them, and any hit fails the test.
 *
 * Every helper fails the running cmocka test (with both values printed) when
 * something is not as the contract says; none returns an error code. Memory
 * that a helper returns (responses, strings) belongs to the harness and is
 * freed when the program ends: tests never free it.
 *
 * A test program is:
 *
 *     static int setup(void **state) { ... tsr_h_start(NULL) ... }
 *     static const struct CMUnitTest tests[] = { cmocka_unit_test(test_x), ... };
 *     int main(void) { return TSR_H_RUN(tests, setup, NULL); }
 */
#ifndef TSR_TESTS_API_HARNESS_H
#define TSR_TESTS_API_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <jansson.h>

#define TSR_H_ADMIN_EMAIL    "admin@localhost"
#define TSR_H_ADMIN_PASSWORD "admin-password-for-tests"
#define TSR_H_SECRET_LEN     40 /* "tsr_" or "tss_" and 36 base62 characters */
#define TSR_H_UUID_LEN       36
#define TSR_H_TIME_LEN       20 /* "2026-12-30T02:13:00Z" */
#define TSR_H_DAY            INT64_C(86400)

/* ---- running a program ---- */

/* Runs the cmocka group tests[0..n) (setup and teardown may be NULL), then a
 * last test that stops every server still running (each must exit 0) and
 * searches every server's files for every recorded secret; then removes the
 * temporary folders. Returns the number of failed tests. */
int tsr_h_run(const char *tesserad_path, const char *name, const struct CMUnitTest *tests, size_t n,
              CMFixtureFunction setup, CMFixtureFunction teardown);

#define TSR_H_RUN(tests, setup, teardown)                                                          \
    tsr_h_run(TESSERAD_PATH, __FILE__, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)

/* The tesserad executable under test. */
const char *tsr_h_tesserad(void);

/* ---- servers ---- */

struct tsr_h_server {
    char dir[4096]; /* the temporary folder, removed at the end */
    char db[4200];  /* <dir>/tessera.db */
    char log[4200]; /* <dir>/stderr.log: every run appends to it */
    char base[64];  /* "http://127.0.0.1:PORT" */
    int port;
    pid_t pid;         /* 0 when not running */
    bool admin_env;    /* whether TESSERA_ADMIN_PASSWORD is set for it */
    char *args[16];    /* extra arguments after "serve --listen ... --db ...", NULL-ended */
    char *env[8];      /* extra "NAME=value" environment entries, NULL-ended */
    long log_start;    /* where the current run's lines start in log */
    char cainfo[4200]; /* TLS: the CA file libcurl checks the server with; "" for HTTP */
    char listen[64];   /* --listen's value: "127.0.0.1:0" unless the options said otherwise */
};

struct tsr_h_opts {
    const char *const *args; /* extra `serve` arguments, NULL-ended; may be NULL */
    bool no_admin_password;  /* leave TESSERA_ADMIN_PASSWORD unset */
    const char *const *env;  /* more "NAME=value" environment entries, NULL-ended; may be NULL */
    const char *parent;      /* where to make the server's folder (NULL: $TMPDIR or /tmp) */
    const char *cainfo;      /* the server serves HTTPS (args or env give --tls-cert and
                                --tls-key): the CA file that verifies it; NULL: HTTP */
    const char *listen;      /* --listen's value (NULL: "127.0.0.1:0"), e.g. "[::1]:0" for a
                                server whose clients come from IPv6 */
};

/* Makes a temporary folder and starts `tesserad serve --listen 127.0.0.1:0
 * --db <dir>/tessera.db` with opts (NULL: defaults); waits at most 20 s for
 * its "listening on" line, whose host and port become base. */
struct tsr_h_server *tsr_h_start(const struct tsr_h_opts *opts);

/* Starts the server again on its folder and database, with the same options. */
void tsr_h_resume(struct tsr_h_server *srv);

/* Sends sig (SIGTERM or SIGINT), waits at most 30 s, fails unless the server
 * exited normally with status 0, then searches its files for every recorded
 * secret. */
void tsr_h_stop_with(struct tsr_h_server *srv, int sig);
void tsr_h_stop(struct tsr_h_server *srv);

/* Stops (SIGTERM, must exit 0) and starts the server again on the same db. */
void tsr_h_restart(struct tsr_h_server *srv);

/* Kills the server with SIGKILL, on purpose: the only stop after which an
 * end by a signal is what the test wants (fails unless SIGKILL ended it).
 * Then searches its files for every recorded secret. tsr_h_resume starts it
 * again on the same database. */
void tsr_h_kill(struct tsr_h_server *srv);

/* The command that runs before every tesserad the harness starts (servers
 * and operator commands), from the environment variable TSR_H_WRAPPER: words
 * split at white space, no quoting, e.g. "valgrind --error-exitcode=1 -q".
 * With a wrapper, every wait for tesserad (start, stop, command) is 6 times
 * as long. NULL when unset or empty. */
const char *tsr_h_wrapper(void);

/* Fails when any of the server's files (database, -wal, -shm, stderr, and
 * every other file in its folder) holds a recorded secret. */
void tsr_h_scan_secrets(const struct tsr_h_server *srv);

/* Records s (TSR_H_SECRET_LEN characters) as a secret to search for. */
void tsr_h_record_secret(const char *s);

/* The current run's standard error so far (NUL-terminated). */
char *tsr_h_server_stderr(const struct tsr_h_server *srv);

/* ---- operator commands ---- */

struct tsr_h_cmd {
    int status; /* exit status, or -1 when killed by a signal */
    char *out;  /* standard output */
    char *err;  /* standard error */
};

/* Runs tesserad with the NULL-ended arguments after argv[0], stdin_text on
 * standard input (NULL: empty), in srv's folder; waits at most 60 s. */
struct tsr_h_cmd *tsr_h_cmd(const struct tsr_h_server *srv, const char *stdin_text, ...)
    __attribute__((sentinel));

/* Runs `tesserad user VERB EMAIL --db <srv db>` (EMAIL may be NULL), with
 * password_line on standard input (NULL: empty). */
struct tsr_h_cmd *tsr_h_user(const struct tsr_h_server *srv, const char *verb, const char *email,
                             const char *password_line);

/* Adds a user with `tesserad user add` (must exit 0). A running server may
 * take up to 1 s (the contract's bound) to see it: wait before logging in. */
void tsr_h_add_user(const struct tsr_h_server *srv, const char *email, const char *password);

/* ---- HTTP ---- */

/* The start of an answer's body, for tests that drive libcurl themselves:
 * CURLOPT_WRITEFUNCTION tsr_h_capture_write, CURLOPT_WRITEDATA a capture
 * (len 0 to begin). What does not fit is dropped; buf stays a string. */
#define TSR_H_CAPTURE_MAX 8192
struct tsr_h_capture {
    char buf[TSR_H_CAPTURE_MAX];
    size_t len;
};
size_t tsr_h_capture_write(char *p, size_t size, size_t n, void *capture);

struct tsr_h_resp {
    long status;
    char *body; /* raw body, NUL-terminated; "" when none */
    size_t body_len;
    char *headers; /* the final response's header block */
    json_t *json;  /* the body as JSON, or NULL when it is not JSON */
    long connects; /* new connections libcurl opened for it (0: one was reused) */
};

struct tsr_h_req {
    const char *method;     /* NULL: GET */
    const char *path;       /* with its query, if any */
    const char *secret;     /* sends "Authorization: Token <secret>" when not NULL */
    const char *auth;       /* sends "Authorization: <auth>" when not NULL (wins over secret) */
    const char *body;       /* NULL: no body */
    size_t body_len;        /* 0: strlen(body) */
    const char *ctype;      /* NULL: application/json when there is a body; "": no Content-Type */
    const char *headers[8]; /* more "Name: value" lines, NULL-ended */
};

/* Sends req to srv; fails the test when no HTTP answer came back. */
struct tsr_h_resp *tsr_h_req(struct tsr_h_server *srv, const struct tsr_h_req *req);

/* Shorthands: method path with "Authorization: Token secret" (NULL: none) and
 * a JSON body (NULL: none). */
struct tsr_h_resp *tsr_h_send(struct tsr_h_server *srv, const char *method, const char *path,
                              const char *secret, const char *json_body);
struct tsr_h_resp *tsr_h_get(struct tsr_h_server *srv, const char *path, const char *secret);

/* The value of the first header called name (any case) in r, trimmed; NULL
 * when absent. */
const char *tsr_h_header(const struct tsr_h_resp *r, const char *name);

/* How many headers called name r has. */
int tsr_h_header_count(const struct tsr_h_resp *r, const char *name);

/* ---- contract helpers ---- */

enum tsr_h_source {
    TSR_H_SRC_NONE,      /* no "source" */
    TSR_H_SRC_POINTER,   /* {"pointer": name} */
    TSR_H_SRC_PARAMETER, /* {"parameter": name} */
};

/* Asserts r is the contract's error body: status, Content-Type JSON,
 * {"errors":[{"status":"<status>","code":code,"title":...,"detail":...,
 * "source":...}]} with title and detail non-empty strings and source as
 * kind/name says. */
#define tsr_h_assert_error(r, status, code, kind, name)                                            \
    tsr__assert_error(r, status, code, kind, name, __FILE__, __LINE__)
void tsr__assert_error(const struct tsr_h_resp *r, long status, const char *code,
                       enum tsr_h_source kind, const char *name, const char *file, int line);

/* Asserts r has status; prints the body when it does not. */
#define tsr_h_assert_status(r, status) tsr__assert_status(r, status, __FILE__, __LINE__)
void tsr__assert_status(const struct tsr_h_resp *r, long status, const char *file, int line);

/* Asserts lo <= v <= hi (signed), printing all three when not. */
#define tsr_h_assert_between(v, lo, hi)                                                            \
    tsr__assert_between(#v, (int64_t)(v), (int64_t)(lo), (int64_t)(hi), __FILE__, __LINE__)
void tsr__assert_between(const char *what, int64_t v, int64_t lo, int64_t hi, const char *file,
                         int line);

/* Logs in with Basic email:password (must be 201) and writes the session
 * secret to out. */
void tsr_h_login(struct tsr_h_server *srv, const char *email, const char *password,
                 char out[TSR_H_SECRET_LEN + 1]);

/* The "Basic ..." value for email:password. */
const char *tsr_h_basic(const char *email, const char *password);

struct tsr_h_token {
    char id[TSR_H_UUID_LEN + 1];
    char secret[TSR_H_SECRET_LEN + 1];
    json_t *data; /* the "data" object of the response */
};

/* Creates a personal token (must be 201) with name and expires_at (NULL:
 * 30 days from now) for the holder of auth (a secret). */
void tsr_h_create_token(struct tsr_h_server *srv, const char *auth, const char *name,
                        const char *expires_at, struct tsr_h_token *out);

/* GET /v4/iam/personal_tokens (must be 200); its "count". */
long tsr_h_count_tokens(struct tsr_h_server *srv, const char *auth);

/* Whether GET /v4/auth/verify with "Token secret" answers 204 (true) or 401
 * (false); fails on anything else. */
bool tsr_h_verify(struct tsr_h_server *srv, const char *secret);

/* ---- JSON and values ---- */

/* The string member key of obj; fails when obj is not an object or the
 * member is not a string. */
#define tsr_h_jstr(obj, key) tsr__jstr(obj, key, __FILE__, __LINE__)
const char *tsr__jstr(const json_t *obj, const char *key, const char *file, int line);

/* The integer member key of obj; fails when it is not an integer. */
#define tsr_h_jint(obj, key) tsr__jint(obj, key, __FILE__, __LINE__)
json_int_t tsr__jint(const json_t *obj, const char *key, const char *file, int line);

/* The member key of obj (an object or array of the type asked); fails when absent. */
#define tsr_h_jobj(obj, key) tsr__jget(obj, key, JSON_OBJECT, __FILE__, __LINE__)
#define tsr_h_jarr(obj, key) tsr__jget(obj, key, JSON_ARRAY, __FILE__, __LINE__)
json_t *tsr__jget(const json_t *obj, const char *key, json_type type, const char *file, int line);

/* Asserts obj is an object with exactly the NULL-ended keys. */
#define tsr_h_assert_keys(obj, ...) tsr__assert_keys(obj, __FILE__, __LINE__, __VA_ARGS__, NULL)
void tsr__assert_keys(const json_t *obj, const char *file, int line, ...);

/* Asserts obj is a personal token object of the contract (exactly its keys,
 * each of the right form); with_key also wants "key" (a create response). */
#define tsr_h_assert_token(obj, with_key) tsr__assert_token(obj, with_key, __FILE__, __LINE__)
void tsr__assert_token(const json_t *obj, bool with_key, const char *file, int line);

/* Whether s is a well-formed secret with prefix ("tsr_" or "tss_") and a
 * correct checksum. */
bool tsr_h_secret_ok(const char *s, const char *prefix);

/* Makes a well-formed secret (correct checksum) with prefix whose random part
 * is made from seed; writes it and a NUL to out. */
void tsr_h_make_secret(const char *prefix, unsigned seed, char out[TSR_H_SECRET_LEN + 1]);

/* Whether s is a lowercase UUID (8-4-4-4-12 hex). */
bool tsr_h_uuid_ok(const char *s);

/* Unix time now, and in milliseconds from a monotonic clock. */
int64_t tsr_h_now(void);
int64_t tsr_h_mono_ms(void);
void tsr_h_sleep_ms(int ms);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into a harness-owned string. */
const char *tsr_h_time(int64_t t);

/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ"; fails the test for anything else. */
#define tsr_h_parse_time(s) tsr__parse_time(s, __FILE__, __LINE__)
int64_t tsr__parse_time(const char *s, const char *file, int line);

/* printf into a harness-owned string. */
char *tsr_h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A harness-owned copy of len bytes at s, NUL-terminated. */
char *tsr_h_strndup(const char *s, size_t len);

/* Reads a whole file into a harness-owned buffer; NULL when it cannot be read. */
char *tsr_h_read_file(const char *path, size_t *len);

/* ---- the engine (harness_db.c) ---- */

/* The PostgreSQL cluster's base URL when the tests run on PostgreSQL
 * (TSR_H_PG, or the file TSR_H_PG_FILE names), else NULL: SQLite. With
 * PostgreSQL each server gets a fresh database of its own and srv->db is
 * its URL. */
const char *tsr_h_pg(void);

/* One integer from sql (SQLite's ?1 and ?2 stand for a and b, either may be
 * NULL) on srv's database, whichever the engine; fails without a row. */
long long tsr_h_sql_int(const struct tsr_h_server *srv, const char *sql, const char *a,
                        const char *b);

/* The harness's own: with PostgreSQL, gives srv a fresh database (srv->db)
 * and writes a pg_dump of it into srv's folder for the secret search. */
void tsr__h_db_init(struct tsr_h_server *srv);
void tsr__h_db_dump(const struct tsr_h_server *srv);

#endif
