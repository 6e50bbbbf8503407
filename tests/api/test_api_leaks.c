/* test_api_leaks.c - end to end: leaked secrets reported and revoked
 *
 * POST /v4/auth/revoke, open to anyone, and GitHub's secret-scanning
 * receiver, whose reports the test signs as GitHub would, with key pairs it
 * makes with openssl and a key file in GitHub's shape. The server trusts
 * 127.0.0.1 as a proxy, so that each test reports from an address of its
 * own (X-Forwarded-For) and the per-address limit of one never touches
 * another.
 */
#include "harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PASSWORD "leak-user-password"
#define USER     "leak@example.com"
#define REVOKE   "/v4/auth/revoke"
#define GITHUB   "/v4/integrations/github/secret-scanning"
#define ME       "/v4/iam/users/me"
#define KEY_ID   "current-key-id"
#define OLD_ID   "older-key-id"
#define XFF(a)   "X-Forwarded-For: " a

static char dir[4096];       /* the test's key files */
static char keys_file[4200]; /* GitHub's shape, with the two keys below */
static char current[4200], older[4200], stranger[4200]; /* private keys (PEM) */
static struct tsr_h_server *srv;          /* --github-keys-file, --trusted-proxy 127.0.0.1 */
static struct tsr_h_server *plain;        /* no key file */
static char reader[TSR_H_SECRET_LEN + 1]; /* the user's session that reads, never reported */

/* ---- openssl, files ---- */

/* Runs openssl with the NULL-ended argv (argv[0] is "openssl"); it must
 * exit 0. Its chatter on standard error goes to /dev/null. */
static void openssl(const char *const *argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;

    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0), 0);
    if (posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
        fail_msg("cannot run openssl (scripts/install-deps installs it)");
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("openssl %s failed with status %d", argv[1], status);
}

static const char *in_dir(const char *name)
{
    return tsr_h_fmt("%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static const char *read_text(const char *path)
{
    size_t len;
    char *text = tsr_h_read_file(path, &len);

    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* Makes an EC private key on curve into path. */
static void make_key(const char *path, const char *curve)
{
    const char *const argv[] = {"openssl", "ecparam", "-name", curve, "-genkey",
                                "-noout",  "-out",    path,    NULL};

    openssl(argv);
}

/* The public half of the private key at path, as PEM. */
static const char *public_pem(const char *path)
{
    const char *out = tsr_h_fmt("%s.pub", path);
    const char *const argv[] = {"openssl", "ec", "-in", path, "-pubout", "-out", out, NULL};

    openssl(argv);
    return read_text(out);
}

/* What Github-Public-Key-Signature carries: base64 of the DER ECDSA
 * signature, with SHA-256, of body by the private key at key. */
static const char *sign(const char *key, const char *body)
{
    const char *data = in_dir("body"), *sig = in_dir("sig"), *b64 = in_dir("sig.b64");
    const char *const dgst[] = {"openssl", "dgst", "-sha256", "-sign", key,
                                "-out",    sig,    data,      NULL};
    const char *const enc[] = {"openssl", "base64", "-A", "-in", sig, "-out", b64, NULL};

    write_file(data, body, strlen(body));
    openssl(dgst);
    openssl(enc);
    return read_text(b64);
}

/* The SHA-256 of s in lowercase hex, as openssl computes it. */
static const char *sha256_hex(const char *s)
{
    const char *data = in_dir("hashed"), *out = in_dir("hash");
    const char *const argv[] = {"openssl", "dgst", "-sha256", "-r", "-out", out, data, NULL};

    write_file(data, s, strlen(s));
    openssl(argv);
    return tsr_h_strndup(read_text(out), 64);
}

/* GitHub's key list: {"public_keys":[{key_identifier, key, is_current}...]}
 * with one entry per (id, pem) pair, the first current. */
static void write_keys(const char *path, const char *const *ids, const char *const *pems, size_t n)
{
    json_t *list = json_array();
    char *text;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "key_identifier", ids[i], "key",
                                              pems[i], "is_current", i == 0));
    list = json_pack("{s:o}", "public_keys", list);
    text = json_dumps(list, JSON_INDENT(2));
    json_decref(list);
    assert_non_null(text);
    write_file(path, text, strlen(text));
    free(text);
}

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    const char *ids[] = {KEY_ID, OLD_ID};
    const char *pems[2];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/tsr-leaks-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(current, sizeof(current), "%s/current.pem", dir);
    snprintf(older, sizeof(older), "%s/older.pem", dir);
    snprintf(stranger, sizeof(stranger), "%s/stranger.pem", dir);
    snprintf(keys_file, sizeof(keys_file), "%s/github-keys.json", dir);
    make_key(current, "prime256v1");
    make_key(older, "prime256v1");
    make_key(stranger, "prime256v1");
    pems[0] = public_pem(current);
    pems[1] = public_pem(older);
    write_keys(keys_file, ids, pems, 2);

    const char *const args[] = {"--trusted-proxy", "127.0.0.1", "--github-keys-file", keys_file,
                                NULL};
    struct tsr_h_opts o = {.args = args};

    srv = tsr_h_start(&o);
    plain = tsr_h_start(NULL);
    tsr_h_add_user(srv, USER, PASSWORD);
    tsr_h_sleep_ms(1100); /* the contract's bound for a running server to see a new user */
    tsr_h_login(srv, USER, PASSWORD, reader);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- requests ---- */

/* POST /v4/auth/revoke with body (ctype NULL: JSON) from the client addr. */
static struct tsr_h_resp *report(const char *addr, const char *body, const char *ctype)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = REVOKE,
                            .body = body,
                            .ctype = ctype,
                            .headers = {tsr_h_fmt(XFF("%s"), addr), NULL}};

    return tsr_h_req(srv, &req);
}

/* {"credentials":[...]} of the n strings. */
static const char *credentials(const char *const *secrets, size_t n)
{
    json_t *list = json_array();
    char *text;
    const char *out;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(secrets[i]));
    list = json_pack("{s:o}", "credentials", list);
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    assert_non_null(text);
    out = tsr_h_fmt("%s", text);
    free(text);
    return out;
}

/* A report of the n secrets from addr, which must be 202 {"count": n}. */
static void report_ok(const char *addr, const char *const *secrets, size_t n)
{
    struct tsr_h_resp *r = report(addr, credentials(secrets, n), NULL);

    tsr_h_assert_status(r, 202);
    tsr_h_assert_keys(r->json, "count");
    assert_int_equal(tsr_h_jint(r->json, "count"), n);
}

/* A GitHub report of body to s from addr, with the two headers (NULL: not
 * sent) and ctype (NULL: JSON). */
static struct tsr_h_resp *github(struct tsr_h_server *s, const char *addr, const char *key_id,
                                 const char *signature, const char *body, const char *ctype)
{
    struct tsr_h_req req = {.method = "POST", .path = GITHUB, .body = body, .ctype = ctype};
    size_t n = 0;

    req.headers[n++] = tsr_h_fmt(XFF("%s"), addr);
    if (key_id)
        req.headers[n++] = tsr_h_fmt("Github-Public-Key-Identifier: %s", key_id);
    if (signature)
        req.headers[n++] = tsr_h_fmt("Github-Public-Key-Signature: %s", signature);
    req.headers[n] = NULL;
    return tsr_h_req(s, &req);
}

/* GitHub's body: one match per secret, of the given type. */
static const char *matches(const char *const *secrets, const char *const *types, size_t n)
{
    json_t *list = json_array();
    char *text;
    const char *out;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s}", "token", secrets[i], "type", types[i], "url",
                            "https://github.com/octocat/Hello-World/blob/1234/config.env", "source",
                            "content"));
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    assert_non_null(text);
    out = tsr_h_fmt("%s", text);
    free(text);
    return out;
}

/* Whether the secret opens the API (200) or not (401); fails otherwise. */
static bool works(struct tsr_h_server *s, const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(s, ME, secret);

    if (r->status == 401) {
        tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
        return false;
    }
    tsr_h_assert_status(r, 200);
    return true;
}

static long long leaked_records(struct tsr_h_server *s, const char *token_id)
{
    return tsr_h_sql_int(s,
                         "SELECT count(*) FROM audit WHERE action = 'token.leaked' AND "
                         "token_id = ?1",
                         token_id, NULL);
}

static long long all_leaked_records(struct tsr_h_server *s)
{
    return tsr_h_sql_int(s, "SELECT count(*) FROM audit WHERE action = 'token.leaked'", NULL, NULL);
}

static long long revoked_tokens(struct tsr_h_server *s)
{
    return tsr_h_sql_int(s, "SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL", NULL, NULL);
}

/* The id of the session token whose secret is session, from the store. */
static const char *session_id(struct tsr_h_server *s, const char *session)
{
    struct tsr_h_resp *r = tsr_h_get(s, "/v4/iam/activity?page_size=100", session);
    json_t *results, *item;
    size_t i;

    /* Its own login is the newest login record of the user whose token it
     * is when it was made just now; the test makes it just before asking. */
    tsr_h_assert_status(r, 200);
    results = tsr_h_jarr(r->json, "results");
    json_array_foreach(results, i, item)
    {
        if (strcmp(tsr_h_jstr(item, "action"), "login") == 0)
            return tsr_h_jstr(item, "token_id");
    }
    fail_msg("no login record for the session");
    return NULL;
}

/* The user's records (newest first) as their owner reads them. */
static json_t *activity(void)
{
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/activity?page_size=100", reader);

    tsr_h_assert_status(r, 200);
    return tsr_h_jarr(r->json, "results");
}

/* The token.leaked record for token_id among records; fails when none. */
static json_t *leaked_record_of(json_t *records, const char *token_id)
{
    json_t *item;
    size_t i;

    json_array_foreach(records, i, item)
    {
        json_t *id = json_object_get(item, "token_id");

        if (strcmp(tsr_h_jstr(item, "action"), "token.leaked") == 0 && json_is_string(id) &&
            strcmp(json_string_value(id), token_id) == 0)
            return item;
    }
    fail_msg("no token.leaked record for %s", token_id);
    return NULL;
}

static void assert_leaked_record(json_t *leaked, const char *token_id, const char *from)
{
    json_t *item = leaked_record_of(leaked, token_id);

    assert_string_equal(tsr_h_jstr(item, "outcome"), "success");
    assert_string_equal(tsr_h_jstr(item, "remote_addr"), from);
    assert_int_equal(tsr_h_jint(item, "count"), 1);
}

/* ---- POST /v4/auth/revoke ---- */

static void test_report_revokes_personal_and_session(void **state)
{
    char leaked_session[TSR_H_SECRET_LEN + 1], unknown[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token personal, kept;
    const char *sid;
    json_t *leaked;

    (void)state;
    tsr_h_login(srv, USER, PASSWORD, leaked_session);
    sid = session_id(srv, leaked_session);
    tsr_h_create_token(srv, reader, "deploy key", NULL, &personal);
    tsr_h_create_token(srv, reader, "kept", NULL, &kept);
    tsr_h_make_secret("tsr_", 4711, unknown);
    assert_true(works(srv, personal.secret) && works(srv, leaked_session));

    /* The answer counts what came, whatever it was: a secret twice too. */
    const char *const secrets[] = {personal.secret, leaked_session, "garbage", unknown,
                                   personal.secret};
    report_ok("198.51.100.10", secrets, 5);

    assert_false(works(srv, personal.secret));
    assert_false(works(srv, leaked_session));
    assert_false(tsr_h_verify(srv, personal.secret));
    assert_true(works(srv, kept.secret) && works(srv, reader));
    /* Revoked as DELETE revokes: gone from the owner's list. */
    tsr_h_assert_status(
        tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", personal.id), reader), 404);

    /* The owner's activity says so, with the reporter's address; once each. */
    leaked = activity();
    assert_leaked_record(leaked, personal.id, "198.51.100.10");
    assert_leaked_record(leaked, sid, "198.51.100.10");
    assert_string_equal(tsr_h_jstr(leaked_record_of(leaked, personal.id), "token_name"),
                        "deploy key");
    assert_int_equal(leaked_records(srv, personal.id), 1);
    assert_int_equal(leaked_records(srv, sid), 1);
    assert_int_equal(leaked_records(srv, kept.id), 0);

    /* Reported again: nothing left to revoke, nothing recorded. */
    report_ok("198.51.100.10", secrets, 2);
    assert_int_equal(leaked_records(srv, personal.id), 1);
    assert_int_equal(leaked_records(srv, sid), 1);
}

/* POST /v4/iam/personal_tokens by the reader with extra members; the token. */
static void create_with(const char *extra, int64_t expires_at, struct tsr_h_token *out)
{
    struct tsr_h_resp *r = tsr_h_send(
        srv, "POST", "/v4/iam/personal_tokens", reader,
        tsr_h_fmt("{\"name\":\"t\",\"expires_at\":\"%s\"%s}", tsr_h_time(expires_at), extra));
    json_t *data;

    tsr_h_assert_status(r, 201);
    data = tsr_h_jobj(r->json, "data");
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(data, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(data, "key"));
    out->data = data;
}

/* A secret is public once leaked, whether or not it works today. */
static void test_expired_and_not_yet_valid_are_revoked(void **state)
{
    struct tsr_h_token expired, later;
    int64_t now = tsr_h_now();
    long before;

    (void)state;
    create_with("", now + 2, &expired);
    create_with(tsr_h_fmt(",\"not_before\":\"%s\"", tsr_h_time(now + 3600)), now + 7200, &later);
    while (tsr_h_now() < now + 3)
        tsr_h_sleep_ms(200);
    assert_false(works(srv, expired.secret));
    assert_false(works(srv, later.secret));
    before = tsr_h_count_tokens(srv, reader);

    const char *const secrets[] = {expired.secret, later.secret};
    report_ok("198.51.100.11", secrets, 2);

    assert_int_equal(tsr_h_count_tokens(srv, reader), before - 2);
    assert_int_equal(leaked_records(srv, expired.id), 1);
    assert_int_equal(leaked_records(srv, later.id), 1);
}

/* A thousand entries that are no live secret: 202 with their number, and
 * nothing revoked or recorded. */
static void test_unknown_and_garbage_change_nothing(void **state)
{
    static const char *secrets[1000];
    char made[600][TSR_H_SECRET_LEN + 1];
    struct tsr_h_token kept;
    long long records, revoked;
    size_t n = 0;

    (void)state;
    tsr_h_create_token(srv, reader, "untouched", NULL, &kept);
    records = all_leaked_records(srv);
    revoked = revoked_tokens(srv);
    for (unsigned i = 0; i < 600; i++) {
        tsr_h_make_secret(i % 2 ? "tsr_" : "tss_", 90000 + i, made[i]);
        if (i % 3 == 0)
            made[i][TSR_H_SECRET_LEN - 1] = made[i][TSR_H_SECRET_LEN - 1] == 'A' ? 'B' : 'A';
        secrets[n++] = made[i];
    }
    /* The kept token's secret with its last character changed, cut short,
     * longer: none is its secret. */
    secrets[n++] = tsr_h_fmt("%.39sX", kept.secret);
    secrets[n++] = tsr_h_fmt("%.39s", kept.secret);
    secrets[n++] = tsr_h_fmt("%sA", kept.secret);
    secrets[n++] = tsr_h_fmt(" %s", kept.secret);
    for (; n < 1000; n++)
        secrets[n] = n % 2 ? "" : "not a secret at all, \xc3\xa9 and \xe2\x9c\x93";
    report_ok("198.51.100.12", secrets, 1000);

    assert_int_equal(all_leaked_records(srv), records);
    assert_int_equal(revoked_tokens(srv), revoked);
    assert_true(works(srv, kept.secret));
    assert_true(tsr_h_verify(srv, kept.secret));
}

/* Rotates the reader's token id with body (NULL: none); the new secret. */
static const char *rotate(const char *id, const char *body)
{
    struct tsr_h_resp *r =
        tsr_h_send(srv, "POST", tsr_h_fmt("/v4/iam/personal_tokens/%s/rotate", id), reader, body);

    tsr_h_assert_status(r, 200);
    return tsr_h_jstr(tsr_h_jobj(r->json, "data"), "key");
}

/* A rotated token's previous secret, while its grace period runs, opens
 * the token: its report revokes the token, new secret and all. Once the
 * grace is over it opens nothing, and its report changes nothing. */
static void test_rotated_secrets(void **state)
{
    struct tsr_h_token graced, rotated;
    const char *fresh, *replaced;

    (void)state;
    tsr_h_create_token(srv, reader, "rotated with grace", NULL, &graced);
    fresh = rotate(graced.id, "{\"grace_period\":3600}");
    assert_true(works(srv, graced.secret) && works(srv, fresh));
    const char *const old[] = {graced.secret};
    report_ok("198.51.100.14", old, 1);
    assert_false(works(srv, graced.secret));
    assert_false(works(srv, fresh));
    assert_int_equal(leaked_records(srv, graced.id), 1);
    assert_leaked_record(activity(), graced.id, "198.51.100.14");

    tsr_h_create_token(srv, reader, "rotated at once", NULL, &rotated);
    replaced = rotate(rotated.id, NULL);
    assert_false(works(srv, rotated.secret));
    const char *const dead[] = {rotated.secret};
    report_ok("198.51.100.14", dead, 1);
    assert_true(works(srv, replaced));
    assert_int_equal(leaked_records(srv, rotated.id), 0);
}

/* 1001 strings: {"credentials":[...]} of n copies of s. */
static const char *many(size_t n, const char *item)
{
    json_t *list = json_array();
    char *text;
    const char *out;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(item));
    list = json_pack("{s:o}", "credentials", list);
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    out = tsr_h_fmt("%s", text);
    free(text);
    return out;
}

static void test_body_errors(void **state)
{
    static const struct {
        const char *body;
        const char *code;
        enum tsr_h_source kind;
        const char *pointer;
    } bad[] = {
        {"{\"credentials\":[]}", "invalid_field", TSR_H_SRC_POINTER, "/credentials"},
        {"{\"credentials\":[1]}", "invalid_field", TSR_H_SRC_POINTER, "/credentials/0"},
        {"{\"credentials\":[\"tsr_x\",null]}", "invalid_field", TSR_H_SRC_POINTER,
         "/credentials/1"},
        {"{\"credentials\":[\"a\",[\"b\"]]}", "invalid_field", TSR_H_SRC_POINTER, "/credentials/1"},
        {"{\"credentials\":\"tsr_x\"}", "invalid_field", TSR_H_SRC_POINTER, "/credentials"},
        {"{\"credentials\":null}", "invalid_field", TSR_H_SRC_POINTER, "/credentials"},
        {"{}", "missing_field", TSR_H_SRC_POINTER, "/credentials"},
        {"{\"credentials\":[\"a\"],\"note\":\"x\"}", "unknown_field", TSR_H_SRC_POINTER, "/note"},
        {"{\"credentials\":[\"a\"],\"credentials\":[\"b\"]}", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"{\"credentials\":[\"a\"", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"[\"tsr_x\"]", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"{\"credentials\":[\"\xff\"]}", "invalid_json", TSR_H_SRC_NONE, NULL},
    };
    struct tsr_h_token kept;
    struct tsr_h_resp *r;
    long long records = all_leaked_records(srv);

    (void)state;
    tsr_h_create_token(srv, reader, "not reported", NULL, &kept);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i].body);
        tsr_h_assert_error(report("198.51.100.13", bad[i].body, NULL), 400, bad[i].code,
                           bad[i].kind, bad[i].pointer);
    }
    tsr_h_assert_error(report("198.51.100.13", many(1001, "tsr_x"), NULL), 400, "invalid_field",
                       TSR_H_SRC_POINTER, "/credentials");
    /* The live secret among 1001 entries, or in a body of the wrong type:
     * refused, and so not revoked. */
    tsr_h_assert_error(report("198.51.100.13", many(1001, kept.secret), NULL), 400, "invalid_field",
                       TSR_H_SRC_POINTER, "/credentials");
    const char *const one[] = {kept.secret};
    tsr_h_assert_error(report("198.51.100.13", credentials(one, 1), "text/plain"), 415,
                       "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(report("198.51.100.13", credentials(one, 1), ""), 415,
                       "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    r = report("198.51.100.13", many(2000, kept.secret), NULL);
    tsr_h_assert_error(r, 413, "payload_too_large", TSR_H_SRC_NONE, NULL);
    assert_true(works(srv, kept.secret));
    assert_int_equal(all_leaked_records(srv), records);
    /* Only POST. */
    r = tsr_h_get(srv, REVOKE, NULL);
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
    assert_string_equal(tsr_h_header(r, "Allow"), "POST");
    /* A charset is fine; the count is what came. */
    r = report("198.51.100.13", "{\"credentials\":[\"x\"]}", "application/json; charset=utf-8");
    tsr_h_assert_status(r, 202);
}

/* Sixty requests an hour from one address, whatever they carry: the
 * sixty-first is refused with Retry-After before its body is looked at,
 * and another address is not. */
static void test_rate_limit_per_address(void **state)
{
    const char *const nothing[] = {"tsr_x"};
    struct tsr_h_token kept;
    struct tsr_h_resp *r;
    const char *wait;
    int64_t seconds;

    (void)state;
    tsr_h_create_token(srv, reader, "still live", NULL, &kept);
    for (int i = 0; i < 20; i++) {
        report_ok("203.0.113.7", nothing, 1);
        tsr_h_assert_status(report("203.0.113.7", "{not json", NULL), 400);
        tsr_h_assert_status(report("203.0.113.7", credentials(nothing, 1), "text/plain"), 415);
    }
    const char *const live[] = {kept.secret};
    r = report("203.0.113.7", credentials(live, 1), NULL);
    tsr_h_assert_error(r, 429, "rate_limited", TSR_H_SRC_NONE, NULL);
    wait = tsr_h_header(r, "Retry-After");
    assert_non_null(wait);
    seconds = strtoll(wait, NULL, 10);
    tsr_h_assert_between(seconds, 3600 - 120, 3600);
    /* Refused first: a bad body, the wrong type, a body too large. */
    tsr_h_assert_error(report("203.0.113.7", "{not json", NULL), 429, "rate_limited",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(report("203.0.113.7", credentials(nothing, 1), "text/plain"), 429,
                       "rate_limited", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(report("203.0.113.7", many(2000, "tsr_x"), NULL), 429, "rate_limited",
                       TSR_H_SRC_NONE, NULL);
    assert_true(works(srv, kept.secret));
    assert_int_equal(leaked_records(srv, kept.id), 0);
    /* Another address, and the same one's neighbour, are on their own. */
    report_ok("203.0.113.8", nothing, 1);
    r = report("203.0.113.8", credentials(live, 1), NULL);
    tsr_h_assert_status(r, 202);
    assert_false(works(srv, kept.secret));
}

/* IPv6 clients count by /64: a neighbour in the same /64 shares the limit. */
static void test_rate_limit_per_64(void **state)
{
    const char *const nothing[] = {"tsr_x"};

    (void)state;
    for (int i = 0; i < 60; i++)
        report_ok(tsr_h_fmt("2001:db8:5:6::%x", i + 1), nothing, 1);
    tsr_h_assert_error(report("2001:db8:5:6:ffff::1", credentials(nothing, 1), NULL), 429,
                       "rate_limited", TSR_H_SRC_NONE, NULL);
    report_ok("2001:db8:5:7::1", nothing, 1);
}

/* ---- GitHub's secret scanning ---- */

static void check_feedback(const json_t *item, const char *secret, const char *type,
                           const char *label)
{
    tsr_h_assert_keys(item, "token_hash", "token_type", "label");
    assert_string_equal(tsr_h_jstr(item, "token_hash"), sha256_hex(secret));
    assert_string_equal(tsr_h_jstr(item, "token_type"), type);
    assert_string_equal(tsr_h_jstr(item, "label"), label);
}

static void test_github_revokes_and_labels(void **state)
{
    char session[TSR_H_SECRET_LEN + 1], unknown[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token personal;
    struct tsr_h_resp *r;
    const char *sid, *body;
    json_t *list, *leaked;

    (void)state;
    tsr_h_login(srv, USER, PASSWORD, session);
    sid = session_id(srv, session);
    tsr_h_create_token(srv, reader, "pushed by mistake", NULL, &personal);
    tsr_h_make_secret("tsr_", 123456, unknown);
    const char *const secrets[] = {personal.secret, session, unknown, "AKIAIOSFODNN7EXAMPLE",
                                   personal.secret};
    const char *const types[] = {"tessera_personal_token", "tessera_session_token",
                                 "tessera_personal_token", "tessera_personal_token",
                                 "tessera_personal_token"};
    body = matches(secrets, types, 5);

    r = github(srv, "140.82.115.1", KEY_ID, sign(current, body), body, NULL);
    tsr_h_assert_status(r, 200);
    assert_non_null(strstr(tsr_h_header(r, "Content-Type"), "application/json"));
    list = r->json;
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 5);
    check_feedback(json_array_get(list, 0), personal.secret, types[0], "true_positive");
    check_feedback(json_array_get(list, 1), session, types[1], "true_positive");
    check_feedback(json_array_get(list, 2), unknown, types[2], "false_positive");
    check_feedback(json_array_get(list, 3), secrets[3], types[3], "false_positive");
    /* The same secret twice in one report is one live secret. */
    check_feedback(json_array_get(list, 4), personal.secret, types[4], "true_positive");

    assert_false(works(srv, personal.secret));
    assert_false(works(srv, session));
    leaked = activity();
    assert_leaked_record(leaked, personal.id, "140.82.115.1");
    assert_leaked_record(leaked, sid, "140.82.115.1");

    /* GitHub may still sign with a key it no longer calls current; what
     * is revoked already is no live secret any more. */
    r = github(srv, "140.82.115.1", OLD_ID, sign(older, body), body, NULL);
    tsr_h_assert_status(r, 200);
    assert_int_equal(json_array_size(r->json), 5);
    for (size_t i = 0; i < 5; i++)
        check_feedback(json_array_get(r->json, i), secrets[i], types[i], "false_positive");
    assert_int_equal(leaked_records(srv, personal.id), 1);
}

/* Anything not signed by a key of the file is refused before it is read,
 * and revokes nothing. */
static void test_github_refuses_unsigned(void **state)
{
    struct tsr_h_token target;
    const char *body, *good;
    struct tsr_h_resp *r;

    (void)state;
    tsr_h_create_token(srv, reader, "target", NULL, &target);
    const char *const secrets[] = {target.secret};
    const char *const types[] = {"tessera_personal_token"};
    body = matches(secrets, types, 1);
    good = sign(current, body);

    static const char *const bad_signatures[] = {"", "not base64!", "AAAA", "MEQCIA==="};
    const struct {
        const char *id;
        const char *sig;
        const char *body;
    } refused[] = {
        {KEY_ID, sign(current, "[]"), body},    /* another body's signature */
        {KEY_ID, good, tsr_h_fmt("%s ", body)}, /* the body changed after signing */
        {OLD_ID, good, body},                   /* the other key's name */
        {KEY_ID, sign(stranger, body), body},   /* a key GitHub does not list */
        {"no-such-key", good, body},            /* a name the file does not have */
        {NULL, good, body},                     /* no key identifier */
        {KEY_ID, NULL, body},                   /* no signature */
        {NULL, NULL, body},                     /* neither */
        {KEY_ID, bad_signatures[0], body},      /* signatures that are no base64 DER */
        {KEY_ID, bad_signatures[1], body},
        {KEY_ID, bad_signatures[2], body},
        {KEY_ID, bad_signatures[3], body},
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        print_message("refusal %zu\n", i);
        r = github(srv, "140.82.115.2", refused[i].id, refused[i].sig, refused[i].body, NULL);
        tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
        assert_non_null(tsr_h_header(r, "WWW-Authenticate"));
    }
    assert_true(works(srv, target.secret));
    assert_int_equal(leaked_records(srv, target.id), 0);

    /* Signed, but not what the endpoint takes: the contract's 415 and 400. */
    r = github(srv, "140.82.115.2", KEY_ID, good, body, "text/plain");
    tsr_h_assert_error(r, 415, "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    static const struct {
        const char *body;
        const char *code;
        enum tsr_h_source kind;
        const char *pointer;
    } bad[] = {
        {"[]", "invalid_field", TSR_H_SRC_NONE, NULL},
        {"{\"token\":\"x\",\"type\":\"t\"}", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"[{\"token\":\"x\",\"type\":\"t\"}", "invalid_json", TSR_H_SRC_NONE, NULL},
        {"[\"tsr_x\"]", "invalid_field", TSR_H_SRC_POINTER, "/0"},
        {"[{\"type\":\"t\"}]", "missing_field", TSR_H_SRC_POINTER, "/0/token"},
        {"[{\"token\":\"x\",\"type\":\"t\"},{\"token\":1,\"type\":\"t\"}]", "invalid_field",
         TSR_H_SRC_POINTER, "/1/token"},
        {"[{\"token\":\"x\"}]", "missing_field", TSR_H_SRC_POINTER, "/0/type"},
        {"[{\"token\":\"x\",\"type\":null}]", "invalid_field", TSR_H_SRC_POINTER, "/0/type"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i].body);
        r = github(srv, "140.82.115.2", KEY_ID, sign(current, bad[i].body), bad[i].body, NULL);
        tsr_h_assert_error(r, 400, bad[i].code, bad[i].kind, bad[i].pointer);
    }
    /* Members GitHub may add later are not refused. */
    const char *more = tsr_h_fmt("[{\"token\":\"x\",\"type\":\"t\",\"url\":\"\",\"source\":"
                                 "\"commit\",\"repository\":{\"full_name\":\"o/r\"}}]");
    r = github(srv, "140.82.115.2", KEY_ID, sign(current, more), more, NULL);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(json_array_get(r->json, 0), "label"), "false_positive");
    /* A query parameter is refused, once the signature has been checked. */
    struct tsr_h_req with_query = {.method = "POST",
                                   .path = GITHUB "?debug=1",
                                   .body = body,
                                   .headers = {"Github-Public-Key-Identifier: " KEY_ID,
                                               tsr_h_fmt("Github-Public-Key-Signature: %s", good),
                                               NULL}};
    tsr_h_assert_error(tsr_h_req(srv, &with_query), 400, "invalid_parameter", TSR_H_SRC_PARAMETER,
                       "debug");
    assert_true(works(srv, target.secret));
    assert_int_equal(leaked_records(srv, target.id), 0);
}

/* GitHub's body of n matches of "x". */
static const char *github_entries(int n)
{
    json_t *list = json_array();
    char *text;
    const char *out;

    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "token", "x", "type", "t"));
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    assert_non_null(text);
    out = tsr_h_fmt("%s", text);
    free(text);
    return out;
}

/* The bounds of the body: TSR_LEAK_REPORT_MAX matches, the server's size cap. */
static void test_github_bounds(void **state)
{
    struct tsr_h_resp *r;
    const char *body;
    char *big;

    (void)state;
    body = github_entries(1001);
    r = github(srv, "140.82.115.3", KEY_ID, sign(current, body), body, NULL);
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_NONE, NULL);
    body = github_entries(1000);
    r = github(srv, "140.82.115.3", KEY_ID, sign(current, body), body, NULL);
    tsr_h_assert_status(r, 200);
    assert_int_equal(json_array_size(r->json), 1000);
    /* Over the server's body cap: 413, whatever the signature. */
    big = malloc(70 * 1024 + 1);
    assert_non_null(big);
    memset(big, ' ', 70 * 1024);
    big[0] = '[';
    big[70 * 1024 - 1] = ']';
    big[70 * 1024] = '\0';
    r = github(srv, "140.82.115.3", KEY_ID, "AAAA", big, NULL);
    tsr_h_assert_error(r, 413, "payload_too_large", TSR_H_SRC_NONE, NULL);
    free(big);
}

/* A server without GitHub's keys has no such endpoint, whatever is sent. */
static void test_github_404_without_keys(void **state)
{
    char session[TSR_H_SECRET_LEN + 1];
    const char *body;
    struct tsr_h_resp *r;

    (void)state;
    tsr_h_login(plain, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    const char *const secrets[] = {session};
    const char *const types[] = {"tessera_session_token"};
    body = matches(secrets, types, 1);
    r = github(plain, "140.82.115.4", KEY_ID, sign(current, body), body, NULL);
    tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
    r = github(plain, "140.82.115.4", NULL, NULL, "", "");
    tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
    assert_true(works(plain, session));
}

/* A key file that cannot be used stops the start, in one line, exit 2. */
static void test_bad_key_files(void **state)
{
    const char *rsa = in_dir("rsa.pem"), *p384 = in_dir("p384.pem");
    const char *const rsa_argv[] = {"openssl", "genpkey",  "-algorithm",
                                    "RSA",     "-pkeyopt", "rsa_keygen_bits:2048",
                                    "-out",    rsa,        NULL};
    const char *const rsa_pub[] = {"openssl",         "pkey", "-in", rsa, "-pubout", "-out",
                                   in_dir("rsa.pub"), NULL};
    const char *ids[] = {"k"};
    const char *pems[1];
    const struct {
        const char *name;
        const char *text; /* NULL: written below */
        const char *says;
    } files[] = {
        {"not-json", "public_keys: []\n", "not JSON"},
        {"empty", "{\"public_keys\":[]}", "at least one key"},
        {"no-list", "{\"keys\":[]}", "public_keys"},
        {"no-key", "{\"public_keys\":[{\"key_identifier\":\"k\"}]}", "public_keys/0"},
        {"no-id", "{\"public_keys\":[{\"key\":\"x\"}]}", "public_keys/0"},
        {"not-pem", "{\"public_keys\":[{\"key_identifier\":\"k\",\"key\":\"x\"}]}",
         "public_keys/0"},
        {"p384", NULL, "P-256"},
        {"rsa", NULL, "P-256"},
    };
    struct tsr_h_cmd *c;

    (void)state;
    make_key(p384, "secp384r1");
    pems[0] = public_pem(p384);
    write_keys(in_dir("p384"), ids, pems, 1);
    openssl(rsa_argv);
    openssl(rsa_pub);
    pems[0] = read_text(in_dir("rsa.pub"));
    write_keys(in_dir("rsa"), ids, pems, 1);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *path = in_dir(files[i].name);

        print_message("%s\n", files[i].name);
        if (files[i].text)
            write_file(path, files[i].text, strlen(files[i].text));
        c = tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", in_dir("never.db"),
                      "--github-keys-file", path, NULL);
        assert_int_equal(c->status, 2);
        assert_int_equal(strncmp(c->err, "tesserad: --github-keys-file: ", 30), 0);
        assert_non_null(strstr(c->err, files[i].says));
        assert_int_equal(strchr(c->err, '\n') - c->err, strlen(c->err) - 1);
    }
    c = tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", in_dir("never.db"),
                  "--github-keys-file", in_dir("missing.json"), NULL);
    assert_int_equal(c->status, 2);
    assert_int_equal(strncmp(c->err, "tesserad: cannot read --github-keys-file ", 41), 0);
    assert_int_equal(access(in_dir("never.db"), F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_revokes_personal_and_session),
        cmocka_unit_test(test_expired_and_not_yet_valid_are_revoked),
        cmocka_unit_test(test_unknown_and_garbage_change_nothing),
        cmocka_unit_test(test_rotated_secrets),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_rate_limit_per_address),
        cmocka_unit_test(test_rate_limit_per_64),
        cmocka_unit_test(test_github_revokes_and_labels),
        cmocka_unit_test(test_github_refuses_unsigned),
        cmocka_unit_test(test_github_bounds),
        cmocka_unit_test(test_github_404_without_keys),
        cmocka_unit_test(test_bad_key_files),
    };

    return TSR_H_RUN(tests, setup, teardown);
}
