/* test_api_azion.c - end to end: Azion's own clients, as they speak, against a real tesserad
 *
 * Each test sends what one of Azion's clients sends (the guide's cURL run with
 * curl itself, the azion CLI's login, its SDK's headers, the Console's
 * Content-Type) and checks what that client reads. Every answer in Azion's
 * representation is also checked against the schemas of Azion's OpenAPI
 * (TSR_AZION_OPENAPI) by azion_schema.py, which requires every property that
 * the schemas list: Azion's clients read them without looking first. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AZ              "/iam/personal_tokens"
#define V4              "/v4/iam/personal_tokens"
#define ACCEPT_V3       "Accept: application/json; version=3"
#define ACCEPT_V3_SDK   "Accept: application/json;version=3"
#define CTYPE_V3        "application/json; version=3"
#define USER_PASSWORD   "user-password-for-tests"
#define SECOND_EMAIL    "second@example.com"
#define PAGER_EMAIL     "pager@example.com"
#define CHILD_OUT_MAX   (1024 * 1024)
#define SCHEMA_GET      "PersonalTokenResponseGet"
#define SCHEMA_CREATE   "CreatePersonalTokenResponse"
#define SCHEMA_LIST     "PersonalTokenResponseWithResults"
#define PAGER_CI_TOKENS 7 /* "ci page 1" to "ci page 7" */
#define PAGER_RD_TOKENS 2 /* "R&D a", "R&D b" */
#define PAGER_TOKENS    (PAGER_CI_TOKENS + PAGER_RD_TOKENS)

static struct tsr_h_server *srv;
static char admin[TSR_H_SECRET_LEN + 1]; /* admin's session */
static char pager[TSR_H_SECRET_LEN + 1]; /* the lists' user's session */
static char admin_client_id[32];         /* admin_number()'s */
static char second_client_id[32];

/* How one of Azion's clients speaks to the token endpoints. */
struct client {
    const char *label;
    const char *base;   /* AZ or V4 */
    const char *scheme; /* of Authorization */
    const char *accept; /* an Accept header line, or NULL: libcurl's own */
    const char *ctype;  /* the Content-Type of a body */
    bool ctype_always;  /* sent on GET and DELETE too, as the Console does */
};

static const struct client clients[] = {
    {"the guide's headers on the Azion path", AZ, "Token", ACCEPT_V3, "application/json", false},
    {"the SDK's headers on the Azion path", AZ, "token", ACCEPT_V3_SDK, "application/json", false},
    {"the Azion path without version=3", AZ, "Bearer", NULL, "application/json", false},
    {"/v4 with version=3 in Accept", V4, "Token", ACCEPT_V3, "application/json", false},
    {"/v4 with version=3 in Accept, no space", V4, "token", ACCEPT_V3_SDK, "application/json",
     false},
    {"/v4 with version=3 in Content-Type only (the Console)", V4, "Token", NULL, CTYPE_V3, true},
    {"/v4 with version=3 in Content-Type only, no space", V4, "Token", NULL,
     "application/json;version=3", true},
};

/* The guide's cURL, the SDK, the Console. */
static const struct client *const guide = &clients[0];
static const struct client *const sdk = &clients[1];
static const struct client *const console = &clients[5];

/* ---- running a child: curl, the schema checker ---- */

/* Runs argv (argv[0] a path) with text (NULL: nothing) on standard input; its
 * standard error goes to the test's. Returns its standard output (a
 * harness-owned string) and writes its exit status to *status (-1 when a
 * signal ended it). The input goes through an anonymous file rather than a
 * file in a folder: it may hold a secret, which must leave no trace. */
static char *run(const char *const argv[], const char *text, int *status)
{
    int in = memfd_create("tsr-azion-stdin", MFD_CLOEXEC);
    int out[2];
    size_t len = text ? strlen(text) : 0, off = 0;

    if (in < 0 || pipe2(out, O_CLOEXEC) != 0)
        fail_msg("cannot set up a child's input and output: %s", strerror(errno));
    while (off < len) {
        ssize_t w = write(in, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("cannot write a child's input: %s", strerror(errno));
        off += (size_t)w;
    }
    if (lseek(in, 0, SEEK_SET) != 0)
        fail_msg("cannot rewind a child's input: %s", strerror(errno));

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("cannot fork: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(out[1], 1) < 0)
            _exit(126);
        /* execv's prototype predates const; it changes nothing. */
        execv(argv[0], (char *const *)(uintptr_t)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in);
    close(out[1]);

    char *buf = malloc(CHILD_OUT_MAX + 1);
    size_t n = 0;
    if (buf == NULL)
        fail_msg("out of memory");
    for (;;) {
        ssize_t got = read(out[0], buf + n, CHILD_OUT_MAX - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || (n += (size_t)got) == CHILD_OUT_MAX)
            break;
    }
    buf[n] = '\0';
    close(out[0]);

    int ws;
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR)
            fail_msg("waitpid: %s", strerror(errno));
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    char *s = tsr_h_fmt("%s", buf);
    free(buf);
    return s;
}

/* azion_schema.py's exit status for doc against Azion's schema called name;
 * its one line of explanation goes to *why. */
static int schema_status(const char *doc, const char *name, char **why)
{
    const char *argv[] = {TSR_PYTHON3, TSR_AZION_SCHEMA_PY, TSR_AZION_OPENAPI, name, NULL};
    int status;

    *why = run(argv, doc, &status);
    return status;
}

/* Asserts doc (JSON text) holds Azion's schema name, every listed property required. */
#define assert_schema(doc, name) assert_schema_at(doc, name, __FILE__, __LINE__)
static void assert_schema_at(const char *doc, const char *name, const char *file, int line)
{
    char *why;
    int status = schema_status(doc, name, &why);

    if (status != 0) {
        print_error("%s (exit %d): %s\nthe document: %s\n", name, status, why, doc);
        _fail(file, line);
    }
}

/* ---- what Azion's clients read ---- */

/* Asserts s is a user's number as /user/me gives it: decimal digits, at least 1. */
static void assert_number_text(const char *s)
{
    bool ok = s[0] >= '1' && s[0] <= '9' && strlen(s) <= 18;

    for (size_t i = 1; ok && s[i] != '\0'; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (!ok)
        fail_msg("client_id '%s' is not a whole number from 1 in decimal digits", s);
}

/* Asserts obj is a token in Azion's representation; created: a create
 * answer's, with key and user_id. */
#define assert_azion_token(obj, created) assert_azion_token_at(obj, created, __FILE__, __LINE__)
static void assert_azion_token_at(const json_t *obj, bool created, const char *file, int line)
{
    if (created)
        tsr__assert_keys(obj, file, line, "uuid", "name", "description", "created", "expires_at",
                         "key_hint", "status", "last_used_at", "scopes", "allowed_ips",
                         "not_before", "last_used_ip", "key", "user_id", NULL);
    else
        tsr__assert_keys(obj, file, line, "uuid", "name", "description", "created", "expires_at",
                         "key_hint", "status", "last_used_at", "scopes", "allowed_ips",
                         "not_before", "last_used_ip", NULL);

    const char *uuid = tsr__jstr(obj, "uuid", file, line);
    if (!tsr_h_uuid_ok(uuid) || uuid[14] != '7' || strchr("89ab", uuid[19]) == NULL) {
        print_error("uuid '%s' is not a lowercase UUIDv7\n", uuid);
        _fail(file, line);
    }
    if (strlen(tsr__jstr(obj, "name", file, line)) == 0) {
        print_error("name is empty\n");
        _fail(file, line);
    }
    json_t *d = json_object_get(obj, "description");
    if (!json_is_null(d) && (!json_is_string(d) || json_string_length(d) == 0)) {
        print_error("description is neither null nor a non-empty string (empty is null)\n");
        _fail(file, line);
    }
    tsr__parse_time(tsr__jstr(obj, "created", file, line), file, line);
    tsr__parse_time(tsr__jstr(obj, "expires_at", file, line), file, line);
    const char *hint = tsr__jstr(obj, "key_hint", file, line);
    if (strlen(hint) != 8 || strncmp(hint, "tsr_", 4) != 0) {
        print_error("key_hint '%s' is not the first 8 characters of a tsr_ secret\n", hint);
        _fail(file, line);
    }
    if (!created)
        return;
    const char *key = tsr__jstr(obj, "key", file, line);
    if (!tsr_h_secret_ok(key, "tsr_")) {
        print_error("key '%s' is not a well-formed personal token\n", key);
        _fail(file, line);
    }
    _assert_string_equal(hint, tsr_h_strndup(key, 8), file, line);
    json_int_t uid = tsr__jint(obj, "user_id", file, line);
    if (uid < 1) {
        print_error("user_id %lld is not a number from 1\n", (long long)uid);
        _fail(file, line);
    }
}

/* Asserts r is JSON and not in {"data": ...}: Azion's bare objects. */
static void assert_bare_json(const struct tsr_h_resp *r)
{
    const char *ct = tsr_h_header(r, "Content-Type");

    if (ct == NULL || strncmp(ct, "application/json", 16) != 0)
        fail_msg("Content-Type %s, want application/json", ct ? ct : "(absent)");
    if (!json_is_object(r->json))
        fail_msg("the body is not a JSON object: %s", r->body);
    if (json_object_get(r->json, "data") != NULL)
        fail_msg("Azion's representation has no \"data\" envelope: %s", r->body);
}

/* Asserts r is 204 with no body and no Content-Type. */
static void assert_no_content(const struct tsr_h_resp *r)
{
    tsr_h_assert_status(r, 204);
    assert_int_equal(r->body_len, 0);
    assert_null(tsr_h_header(r, "Content-Type"));
}

/* The decimal text of n, as client_id writes a user's number. */
static const char *number_text(json_int_t n)
{
    return tsr_h_fmt("%lld", (long long)n);
}

/* ---- requests ---- */

/* method path as client c sends it, authenticated with secret (NULL: no
 * Authorization), body NULL or JSON. */
static struct tsr_h_resp *call(const struct client *c, const char *method, const char *path,
                               const char *secret, const char *body)
{
    struct tsr_h_req req = {
        .method = method,
        .path = path,
        .auth = secret ? tsr_h_fmt("%s %s", c->scheme, secret) : NULL,
        .body = body,
        .ctype = body != NULL || c->ctype_always ? c->ctype : NULL,
    };
    if (c->accept != NULL)
        req.headers[0] = c->accept;
    return tsr_h_req(srv, &req);
}

/* A create body: name, expires_at (RFC 3339 with Z) days from now, description. */
static char *create_body(const char *name, int days, const char *description)
{
    json_t *b = json_pack("{s:s, s:s, s:s}", "name", name, "expires_at",
                          tsr_h_time(tsr_h_now() + days * TSR_H_DAY), "description", description);
    char *s = json_dumps(b, JSON_COMPACT);
    char *o = tsr_h_fmt("%s", s);

    free(s);
    json_decref(b);
    return o;
}

/* Creates a token as c does (must be 201, Azion's create answer holding its
 * schema); returns the answer's object. */
static json_t *create_as(const struct client *c, const char *secret, const char *name,
                         const char *description)
{
    struct tsr_h_resp *r =
        call(c, "POST", c->base, secret, create_body(name, 30, description ? description : ""));

    if (r->status != 201)
        print_error("client: %s\n", c->label);
    tsr_h_assert_status(r, 201);
    assert_bare_json(r);
    assert_azion_token(r->json, true);
    assert_schema(r->body, SCHEMA_CREATE);
    assert_string_equal(tsr_h_jstr(r->json, "name"), name);
    return r->json;
}

/* POST /tokens as the azion CLI logs in; returns the session token. */
static const char *cli_login(const char *email, const char *password)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = "/tokens",
                            .auth = tsr_h_basic(email, password),
                            .ctype = "application/json",
                            .headers = {ACCEPT_V3}};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);

    tsr_h_assert_status(r, 201);
    tsr_h_assert_keys(r->json, "token", "created_at", "expires_at");
    const char *tok = tsr_h_jstr(r->json, "token");
    if (!tsr_h_secret_ok(tok, "tss_"))
        fail_msg("POST /tokens answered a malformed session token '%s'", tok);
    int64_t created = tsr_h_parse_time(tsr_h_jstr(r->json, "created_at"));
    int64_t expires = tsr_h_parse_time(tsr_h_jstr(r->json, "expires_at"));
    assert_int_equal(expires - created, TSR_H_DAY);
    return tok;
}

/* GET /user/me as the azion CLI checks a token (must be 200); returns
 * "results" after checking it is {"client_id": digits, "email": email}. */
static json_t *cli_user_me(const char *secret, const char *email)
{
    struct tsr_h_req req = {
        .path = "/user/me", .auth = tsr_h_fmt("token %s", secret), .headers = {ACCEPT_V3}};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);

    tsr_h_assert_status(r, 200);
    assert_bare_json(r);
    tsr_h_assert_keys(r->json, "results");
    json_t *results = tsr_h_jobj(r->json, "results");
    tsr_h_assert_keys(results, "client_id", "email");
    assert_number_text(tsr_h_jstr(results, "client_id"));
    assert_string_equal(tsr_h_jstr(results, "email"), email);
    return results;
}

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    tsr_h_add_user(srv, SECOND_EMAIL, USER_PASSWORD);
    tsr_h_add_user(srv, PAGER_EMAIL, USER_PASSWORD);
    tsr_h_sleep_ms(1100); /* the contract's bound for a running server to see them */
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, admin);
    tsr_h_login(srv, PAGER_EMAIL, USER_PASSWORD, pager);
    return 0;
}

/* admin's number, as /user/me gives it with admin's session. */
static const char *admin_number(void)
{
    if (admin_client_id[0] == '\0')
        snprintf(admin_client_id, sizeof(admin_client_id), "%s",
                 tsr_h_jstr(cli_user_me(admin, TSR_H_ADMIN_EMAIL), "client_id"));
    return admin_client_id;
}

/* ---- the checker itself ---- */

/* The checker must be able to fail: documents that break the schemas, one
 * way each, are refused, and a good one passes. Without this, a checker that
 * accepts everything would let every test below pass. */
static void test_schema_checker_refuses(void **state)
{
    static const char *const good =
        "{\"uuid\":\"01a22a64-1dec-7f16-b6ac-53eee38b067b\",\"name\":\"x\","
        "\"created\":\"2026-11-30T02:58:54Z\",\"expires_at\":\"2026-12-30T00:00:00Z\","
        "\"description\":null,\"key_hint\":\"tsr_abcd\"}";
    static const struct {
        const char *doc, *schema;
    } bad[] = {
        {"{\"name\":\"x\",\"created\":\"2026-11-30T02:58:54Z\","
         "\"expires_at\":\"2026-12-30T00:00:00Z\",\"description\":null}",
         SCHEMA_GET},
        {"{\"uuid\":\"01a22a64-1dec-7f16-b6ac\",\"name\":\"x\","
         "\"created\":\"2026-11-30T02:58:54Z\",\"expires_at\":\"2026-12-30T00:00:00Z\","
         "\"description\":null}",
         SCHEMA_GET},
        {"{\"uuid\":\"01a22a64-1dec-7f16-b6ac-53eee38b067b\",\"name\":\"x\","
         "\"created\":\"2026-11-30 02:58:54\",\"expires_at\":\"2026-12-30T00:00:00Z\","
         "\"description\":null}",
         SCHEMA_GET},
        {"{\"uuid\":\"01a22a64-1dec-7f16-b6ac-53eee38b067b\",\"name\":null,"
         "\"created\":\"2026-11-30T02:58:54Z\",\"expires_at\":\"2026-12-30T00:00:00Z\","
         "\"description\":null}",
         SCHEMA_GET},
        {"{\"uuid\":\"01a22a64-1dec-7f16-b6ac-53eee38b067b\",\"name\":\"x\","
         "\"created\":\"2026-11-30T02:58:54Z\",\"expires_at\":\"2026-12-30T00:00:00Z\","
         "\"description\":null,\"user_id\":1}",
         SCHEMA_CREATE},
        {"{\"count\":0,\"total_pages\":0,\"schema_version\":3,\"links\":{\"next\":null},"
         "\"results\":[]}",
         SCHEMA_LIST},
        {"{\"count\":1,\"total_pages\":1,\"schema_version\":3,"
         "\"links\":{\"next\":null,\"previous\":null},\"results\":[{\"uuid\":\"x\"}]}",
         SCHEMA_LIST},
        {"{\"data\":{}}", SCHEMA_GET},
        {"not JSON", SCHEMA_GET},
    };
    char *why;

    (void)state;
    assert_schema(good, SCHEMA_GET);
    assert_schema(tsr_h_fmt("{\"count\":1,\"total_pages\":1,\"schema_version\":3,"
                            "\"links\":{\"next\":null,\"previous\":null},\"results\":[%s]}",
                            good),
                  SCHEMA_LIST);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = schema_status(bad[i].doc, bad[i].schema, &why);
        if (status != 1 || strchr(why, '\n') != strrchr(why, '\n') || strlen(why) < 5) {
            print_error("%s accepted or not refused on one line (exit %d): '%s'\nthe document: "
                        "%s\n",
                        bad[i].schema, status, why, bad[i].doc);
            fail();
        }
    }
    /* A schema the OpenAPI document does not have is the test's mistake, not the answer's. */
    assert_int_equal(schema_status(good, "NoSuchSchema", &why), 2);
}

/* ---- the guide's cURL ---- */

/* The guide's command, run with curl itself: only the host and the date
 * changed, plus options that change nothing on the wire (-q ignores a
 * ~/.curlrc, --noproxy a proxy from the environment; the status is written
 * after the body). */
static void test_guide_curl(void **state)
{
    time_t t = (time_t)(tsr_h_now() + TSR_H_DAY);
    struct tm tm;
    char minute[32];
    int status;

    (void)state;
    if (gmtime_r(&t, &tm) == NULL || strftime(minute, sizeof(minute), "%Y-%m-%dT%H:%M", &tm) == 0)
        fail_msg("cannot format the date");
    char *body = tsr_h_fmt(
        "{\"name\": \"One day token\", \"expires_at\": \"%s\", \"description\": \"example\"}",
        minute);
    const char *argv[] = {TSR_CURL,      "-q",
                          "--silent",    "--show-error",
                          "--noproxy",   "*",
                          "--max-time",  "30",
                          "--write-out", "\n%{http_code}",
                          "--location",  tsr_h_fmt("%s/iam/personal_tokens", srv->base),
                          "--header",    "Accept: application/json; version=3",
                          "--header",    tsr_h_fmt("Authorization: Token %s", admin),
                          "--header",    "Content-Type: application/json",
                          "--data",      body,
                          NULL};
    char *out = run(argv, NULL, &status);
    assert_int_equal(status, 0);

    char *nl = strrchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    if (strcmp(nl + 1, "201") != 0)
        fail_msg("the guide's cURL got %s: %s", nl + 1, out);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("the guide's cURL got no JSON: %s", out);
    const char *key = json_string_value(json_object_get(j, "key"));
    if (key != NULL && strlen(key) == TSR_H_SECRET_LEN)
        tsr_h_record_secret(key); /* it came through curl, not the harness */
    assert_azion_token(j, true);
    assert_schema(out, SCHEMA_CREATE);
    assert_string_equal(tsr_h_jstr(j, "name"), "One day token");
    assert_string_equal(tsr_h_jstr(j, "description"), "example");
    assert_string_equal(tsr_h_jstr(j, "expires_at"), tsr_h_fmt("%s:00Z", minute));
    assert_string_equal(number_text(tsr_h_jint(j, "user_id")), admin_number());
    assert_true(tsr_h_verify(srv, tsr_h_jstr(j, "key")));
    json_decref(j);
}

/* ---- the azion CLI's login ---- */

static void test_cli_login(void **state)
{
    (void)state;
    const char *session = cli_login(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    json_t *me = cli_user_me(session, TSR_H_ADMIN_EMAIL);
    const char *client_id = tsr_h_jstr(me, "client_id");
    assert_string_equal(client_id, admin_number());

    /* The SDK's create with that session: lowercase scheme, version=3 without a space. */
    json_t *made = create_as(sdk, session, "azion cli", "made the SDK's way");
    assert_string_equal(tsr_h_jstr(made, "description"), "made the SDK's way");
    assert_string_equal(number_text(tsr_h_jint(made, "user_id")), client_id);
    const char *key = tsr_h_jstr(made, "key");
    assert_true(tsr_h_verify(srv, key));

    /* The CLI checks the new personal token with /user/me too. */
    me = cli_user_me(key, TSR_H_ADMIN_EMAIL);
    assert_string_equal(tsr_h_jstr(me, "client_id"), client_id);

    /* Another user has another number, and the same on both answers. */
    const char *other = cli_login(SECOND_EMAIL, USER_PASSWORD);
    snprintf(second_client_id, sizeof(second_client_id), "%s",
             tsr_h_jstr(cli_user_me(other, SECOND_EMAIL), "client_id"));
    assert_string_not_equal(second_client_id, client_id);
    made = create_as(sdk, other, "second's", NULL);
    assert_string_equal(number_text(tsr_h_jint(made, "user_id")), second_client_id);
    assert_string_equal(tsr_h_jstr(cli_user_me(tsr_h_jstr(made, "key"), SECOND_EMAIL), "client_id"),
                        second_client_id);
    /* And the lists' user a third. */
    const char *third = tsr_h_jstr(cli_user_me(pager, PAGER_EMAIL), "client_id");
    assert_string_not_equal(third, client_id);
    assert_string_not_equal(third, second_client_id);

    /* A wrong password is Tessera's 401, and /user/me without a token too. */
    struct tsr_h_req bad = {.method = "POST",
                            .path = "/tokens",
                            .auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, "not-the-password"),
                            .ctype = "application/json",
                            .headers = {ACCEPT_V3}};
    struct tsr_h_resp *r = tsr_h_req(srv, &bad);
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    assert_non_null(tsr_h_header(r, "WWW-Authenticate"));
    r = tsr_h_req(srv, &(struct tsr_h_req){.path = "/user/me", .headers = {ACCEPT_V3}});
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    r = tsr_h_send(srv, "POST", "/user/me", session, NULL);
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
    assert_string_equal(tsr_h_header(r, "Allow"), "GET, HEAD");

    /* /v4/iam/users/me keeps Tessera's shape. */
    r = tsr_h_get(srv, "/v4/iam/users/me", session);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "data");
    tsr_h_assert_keys(tsr_h_jobj(r->json, "data"), "id", "email", "created");
}

/* ---- lists ---- */

/* The link a page of path gives to page k (Azion's order of parameters). */
static const char *link_to(const char *path, long k, long page_size, const char *tail)
{
    return tsr_h_fmt("%s?page=%ld&page_size=%ld%s", path, k, page_size, tail);
}

static void assert_link(const json_t *links, const char *which, const char *want)
{
    json_t *v = json_object_get(links, which);

    if (want == NULL) {
        if (!json_is_null(v))
            fail_msg("links.%s is %s, want null", which,
                     json_is_string(v) ? json_string_value(v) : "not a string");
        return;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        fail_msg("links.%s is %s, want %s", which, json_is_string(v) ? json_string_value(v) : "?",
                 want);
}

/* Follows links.next from first (a path with its query) to the end, as
 * client c; checks every page against want_count, page_size and the links
 * (path, then tail: "&search=...&ordering=..." as the links must keep them).
 * Returns every item in order, each seen once. */
static json_t *walk(const struct client *c, const char *secret, const char *first, long want_count,
                    long page_size, const char *path, const char *tail)
{
    json_t *all = json_array();
    long want_pages = (want_count + page_size - 1) / page_size;
    const char *next = first;
    long k = 0;

    while (next != NULL) {
        k++;
        if (k > want_pages && !(k == 1 && want_pages == 0))
            fail_msg("links.next goes past the %ld pages of %ld tokens: %s", want_pages, want_count,
                     next);
        struct tsr_h_resp *r = call(c, "GET", next, secret, NULL);
        tsr_h_assert_status(r, 200);
        assert_bare_json(r);
        tsr_h_assert_keys(r->json, "count", "total_pages", "schema_version", "links", "results");
        assert_schema(r->body, SCHEMA_LIST);
        assert_int_equal(tsr_h_jint(r->json, "schema_version"), 3);
        assert_int_equal(tsr_h_jint(r->json, "count"), want_count);
        assert_int_equal(tsr_h_jint(r->json, "total_pages"), want_pages);
        json_t *links = tsr_h_jobj(r->json, "links");
        tsr_h_assert_keys(links, "next", "previous");
        assert_link(links, "previous", k == 1 ? NULL : link_to(path, k - 1, page_size, tail));
        assert_link(links, "next", k >= want_pages ? NULL : link_to(path, k + 1, page_size, tail));

        json_t *results = tsr_h_jarr(r->json, "results"), *item;
        size_t i;
        long on_page = want_count - (k - 1) * page_size;
        assert_int_equal(json_array_size(results), on_page > page_size ? page_size : on_page);
        json_array_foreach(results, i, item)
        {
            assert_azion_token(item, false);
            const char *uuid = tsr_h_jstr(item, "uuid"), *seen;
            size_t x;
            json_t *prev;
            json_array_foreach(all, x, prev)
            {
                seen = tsr_h_jstr(prev, "uuid");
                if (strcmp(seen, uuid) == 0)
                    fail_msg("uuid %s is on two pages", uuid);
            }
            json_array_append(all, item);
        }
        next = json_string_value(json_object_get(links, "next"));
        if (next != NULL)
            next = tsr_h_fmt("%s", next); /* r lives on; this keeps the text plainly ours */
    }
    assert_int_equal(k, want_pages > 0 ? want_pages : 1);
    assert_int_equal(json_array_size(all), want_count);
    return all;
}

static void test_list_pages(void **state)
{
    const struct client azion = {"the Azion path", AZ, "Token", NULL, "application/json", false};
    const struct client v4_v3 = {"/v4 with version=3", V4,   "Token", ACCEPT_V3,
                                 "application/json",   false};
    json_t *made = json_array(), *all, *item;
    size_t i;

    (void)state;
    /* Made a few milliseconds apart: tokens made in the same second are
     * ordered by uuid, which orders by the millisecond and then at random. */
    for (int n = 1; n <= PAGER_TOKENS; n++) {
        if (n <= PAGER_CI_TOKENS)
            json_array_append(made, create_as(guide, pager, tsr_h_fmt("ci page %d", n), NULL));
        else
            json_array_append(made, create_as(guide, pager, n == PAGER_TOKENS ? "R&D b" : "R&D a",
                                              n == PAGER_TOKENS ? NULL : "research"));
        tsr_h_sleep_ms(3);
    }

    /* A search and an ordering, given in another order: the links keep them, encoded. */
    all = walk(&azion, pager, AZ "?ordering=name&search=ci%20page&page_size=3", PAGER_CI_TOKENS, 3,
               AZ, "&search=ci%20page&ordering=name");
    json_array_foreach(all, i, item)
    {
        assert_string_equal(tsr_h_jstr(item, "name"), tsr_h_fmt("ci page %zu", i + 1));
        assert_string_equal(tsr_h_jstr(item, "uuid"), tsr_h_jstr(json_array_get(made, i), "uuid"));
        assert_true(json_is_null(json_object_get(item, "description")));
    }
    json_decref(all);

    /* A search that must be percent-encoded in the links. */
    all = walk(sdk, pager, AZ "?search=R%26D&page_size=1&ordering=-created", PAGER_RD_TOKENS, 1, AZ,
               "&search=R%26D&ordering=-created");
    assert_string_equal(tsr_h_jstr(json_array_get(all, 0), "name"), "R&D b");
    assert_string_equal(tsr_h_jstr(json_array_get(all, 1), "name"), "R&D a");
    assert_string_equal(tsr_h_jstr(json_array_get(all, 1), "description"), "research");
    json_decref(all);

    /* No search nor ordering: the links carry page and page_size only; on /v4 with
     * version=3 they keep the request's path. Every token, each once. */
    all = walk(&azion, pager, AZ "?page_size=4", PAGER_TOKENS, 4, AZ, "");
    json_decref(all);
    all = walk(&v4_v3, pager, V4 "?page_size=4", PAGER_TOKENS, 4, V4, "");
    json_array_foreach(all, i, item)
    {
        /* The default order is -created: the last made comes first. */
        assert_string_equal(tsr_h_jstr(item, "uuid"),
                            tsr_h_jstr(json_array_get(made, PAGER_TOKENS - 1 - i), "uuid"));
    }
    json_decref(all);
    all = walk(sdk, pager, V4 "?page=1&page_size=2&ordering=name", PAGER_TOKENS, 2, V4,
               "&ordering=name");
    json_decref(all);

    /* The Console's own call: version=3 in Content-Type on a GET, an empty search. */
    all = walk(console, pager, V4 "?page=1&page_size=100&search=", PAGER_TOKENS, 100, V4, "");
    json_decref(all);

    /* page_size up to 200 in Azion's representation, on its path and on /v4 with
     * version=3 (the Console asks for 200); 100 in Tessera's. */
    static const char *const big_pages[] = {AZ "?page_size=200", V4 "?page_size=200"};
    const struct client *const askers[] = {&azion, &v4_v3, console};
    for (size_t n = 0; n < sizeof(askers) / sizeof(askers[0]); n++) {
        const char *path = askers[n]->base;
        all = walk(askers[n], pager, big_pages[strcmp(path, AZ) == 0 ? 0 : 1], PAGER_TOKENS, 200,
                   path, "");
        json_decref(all);
        tsr_h_assert_error(call(askers[n], "GET", tsr_h_fmt("%s?page_size=201", path), pager, NULL),
                           400, "invalid_parameter", TSR_H_SRC_PARAMETER, "page_size");
    }
    tsr_h_assert_status(tsr_h_get(srv, V4 "?page_size=100", pager), 200);
    tsr_h_assert_error(tsr_h_get(srv, V4 "?page_size=101", pager), 400, "invalid_parameter",
                       TSR_H_SRC_PARAMETER, "page_size");

    /* A page past the end: empty, no next, and previous the last page. */
    struct tsr_h_resp *r = call(&azion, "GET", AZ "?page=9&page_size=4&ordering=name", pager, NULL);
    tsr_h_assert_status(r, 200);
    assert_schema(r->body, SCHEMA_LIST);
    assert_int_equal(json_array_size(tsr_h_jarr(r->json, "results")), 0);
    assert_int_equal(tsr_h_jint(r->json, "total_pages"), 3);
    assert_link(tsr_h_jobj(r->json, "links"), "next", NULL);
    assert_link(tsr_h_jobj(r->json, "links"), "previous", link_to(AZ, 3, 4, "&ordering=name"));

    /* A search that matches nothing: one empty page, both links null. */
    all = walk(&azion, pager, AZ "?search=nothing%20like%20it", 0, 20, AZ, "");
    json_decref(all);
    json_decref(made);
}

/* ---- create, get, delete ---- */

static void test_create_get_delete(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(clients) / sizeof(clients[0]); n++) {
        const struct client *c = &clients[n];
        print_message("%s\n", c->label);
        json_t *made = create_as(c, admin, tsr_h_fmt("cgd %zu", n), "made to be deleted");
        const char *uuid = tsr_h_jstr(made, "uuid");
        const char *key = tsr_h_jstr(made, "key");
        const char *one = tsr_h_fmt("%s/%s", c->base, uuid);
        assert_string_equal(number_text(tsr_h_jint(made, "user_id")), admin_number());
        assert_true(tsr_h_verify(srv, key));

        struct tsr_h_resp *r = call(c, "GET", one, admin, NULL);
        tsr_h_assert_status(r, 200);
        assert_bare_json(r);
        assert_azion_token(r->json, false);
        assert_schema(r->body, SCHEMA_GET);
        static const char *const same[] = {"uuid",    "name",       "description",
                                           "created", "expires_at", "key_hint"};
        for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
            if (!json_equal(json_object_get(r->json, same[k]), json_object_get(made, same[k])))
                fail_msg("%s: %s differs between the create answer and GET", c->label, same[k]);
        }

        /* It is listed, as the Console reads lists: by uuid. */
        r = call(c, "GET", tsr_h_fmt("%s?search=cgd%%20%zu", c->base, n), admin, NULL);
        tsr_h_assert_status(r, 200);
        assert_schema(r->body, SCHEMA_LIST);
        assert_int_equal(tsr_h_jint(r->json, "count"), 1);
        assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "results"), 0), "uuid"),
                            uuid);

        assert_no_content(call(c, "DELETE", one, admin, NULL));
        assert_false(tsr_h_verify(srv, key));
        tsr_h_assert_error(call(c, "GET", one, admin, NULL), 404, "not_found", TSR_H_SRC_NONE,
                           NULL);
        tsr_h_assert_error(call(c, "DELETE", one, admin, NULL), 404, "not_found", TSR_H_SRC_NONE,
                           NULL);
    }

    /* /v4's self, with version=3: the token in use, bare; and it deletes itself. */
    json_t *made = create_as(guide, admin, "self", NULL);
    const char *key = tsr_h_jstr(made, "key");
    for (size_t n = 0; n < sizeof(clients) / sizeof(clients[0]); n++) {
        if (strcmp(clients[n].base, V4) != 0)
            continue;
        struct tsr_h_resp *r = call(&clients[n], "GET", V4 "/self", key, NULL);
        tsr_h_assert_status(r, 200);
        assert_bare_json(r);
        assert_azion_token(r->json, false);
        assert_schema(r->body, SCHEMA_GET);
        assert_string_equal(tsr_h_jstr(r->json, "uuid"), tsr_h_jstr(made, "uuid"));
    }
    struct tsr_h_resp *r = tsr_h_get(srv, V4 "/self", key);
    tsr_h_assert_status(r, 200);
    tsr_h_assert_token(tsr_h_jobj(r->json, "data"), false);
    assert_no_content(call(console, "DELETE", V4 "/self", key, NULL));
    assert_false(tsr_h_verify(srv, key));
}

/* ---- Tessera's shapes ---- */

static void test_tessera_shapes_unchanged(void **state)
{
    static const char *const accepts[] = {NULL, "Accept: application/json", "Accept: */*"};
    struct tsr_h_resp *r;

    (void)state;
    for (size_t n = 0; n < sizeof(accepts) / sizeof(accepts[0]); n++) {
        const struct client c = {"/v4 without version=3", V4,   "Token", accepts[n],
                                 "application/json",      false};
        r = call(&c, "POST", V4, admin, create_body(tsr_h_fmt("tessera %zu", n), 30, ""));
        tsr_h_assert_status(r, 201);
        tsr_h_assert_keys(r->json, "data");
        json_t *data = tsr_h_jobj(r->json, "data");
        tsr_h_assert_token(data, true); /* "id", no "uuid" nor "user_id" */
        assert_string_equal(tsr_h_jstr(data, "description"), "");
        const char *one = tsr_h_fmt(V4 "/%s", tsr_h_jstr(data, "id"));

        r = call(&c, "GET", one, admin, NULL);
        tsr_h_assert_status(r, 200);
        tsr_h_assert_keys(r->json, "data");
        tsr_h_assert_token(tsr_h_jobj(r->json, "data"), false);

        r = call(&c, "GET", V4 "?page_size=2", admin, NULL);
        tsr_h_assert_status(r, 200);
        tsr_h_assert_keys(r->json, "count", "total_pages", "results");
        json_t *item;
        size_t i;
        json_array_foreach(tsr_h_jarr(r->json, "results"), i, item)
        {
            tsr_h_assert_token(item, false);
        }

        r = call(&c, "PATCH", one, admin, "{\"name\":\"tessera renamed\"}");
        tsr_h_assert_status(r, 200);
        tsr_h_assert_keys(r->json, "data");
        tsr_h_assert_token(tsr_h_jobj(r->json, "data"), false);

        tsr_h_assert_status(call(&c, "DELETE", one, admin, NULL), 204);
    }

    /* Another version is not JSON that Tessera takes: 415, and nothing made. */
    static const char *const others[] = {
        "application/json; version=2", "application/json;version=2", "application/json; version=4"};
    long before = tsr_h_count_tokens(srv, admin);
    json_t *made = create_as(guide, admin, "patched with another version", NULL);
    const char *one = tsr_h_fmt(V4 "/%s", tsr_h_jstr(made, "uuid"));
    before++;
    for (size_t n = 0; n < sizeof(others) / sizeof(others[0]); n++) {
        const struct client c = {"another version", V4, "Token", NULL, others[n], false};
        const struct client a = {"another version", AZ, "Token", NULL, others[n], false};
        tsr_h_assert_error(call(&c, "POST", V4, admin, create_body("v2", 30, "")), 415,
                           "unsupported_media_type", TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(call(&a, "POST", AZ, admin, create_body("v2", 30, "")), 415,
                           "unsupported_media_type", TSR_H_SRC_NONE, NULL);
        tsr_h_assert_error(call(&c, "PATCH", one, admin, "{\"name\":\"v2\"}"), 415,
                           "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);

    /* A quoted value is the same value (RFC 9110 5.6.6): version="3" is version 3. */
    const struct client quoted = {"version=\"3\"",
                                  V4,
                                  "Token",
                                  "Accept: application/json; version=\"3\"",
                                  "application/json; version=\"3\"",
                                  false};
    json_t *q = create_as(&quoted, admin, "quoted version", NULL);
    r = call(&quoted, "DELETE", tsr_h_fmt(V4 "/%s", tsr_h_jstr(q, "uuid")), admin, NULL);
    assert_no_content(r);

    r = call(guide, "GET", tsr_h_fmt(AZ "/%s", tsr_h_jstr(made, "uuid")), admin, NULL);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "name"), "patched with another version");
}

/* ---- description: null ---- */

static void test_description_null(void **state)
{
    const char *body = tsr_h_fmt("{\"name\":\"no description\",\"expires_at\":\"%s\","
                                 "\"description\":null}",
                                 tsr_h_time(tsr_h_now() + 7 * TSR_H_DAY));
    const struct client tessera = {"/v4", V4, "Token", NULL, "application/json", false};
    const struct client v4_v3 = {"/v4 with version=3", V4,   "Token", ACCEPT_V3,
                                 "application/json",   false};
    struct tsr_h_resp *r;

    (void)state;
    /* Azion's answer: null. */
    r = call(guide, "POST", AZ, admin, body);
    tsr_h_assert_status(r, 201);
    assert_azion_token(r->json, true);
    assert_schema(r->body, SCHEMA_CREATE);
    assert_true(json_is_null(json_object_get(r->json, "description")));
    r = call(&v4_v3, "POST", V4, admin, body);
    tsr_h_assert_status(r, 201);
    assert_azion_token(r->json, true);
    assert_true(json_is_null(json_object_get(r->json, "description")));

    /* Tessera's answer: "". */
    r = call(&tessera, "POST", V4, admin, body);
    tsr_h_assert_status(r, 201);
    json_t *data = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(data, true);
    assert_string_equal(tsr_h_jstr(data, "description"), "");

    /* PATCH on /v4 clears a description with null. */
    json_t *made = create_as(guide, admin, "described", "to be cleared");
    const char *uuid = tsr_h_jstr(made, "uuid");
    r = call(&tessera, "PATCH", tsr_h_fmt(V4 "/%s", uuid), admin, "{\"description\":null}");
    tsr_h_assert_status(r, 200);
    data = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(data, false);
    assert_string_equal(tsr_h_jstr(data, "description"), "");
    assert_string_equal(tsr_h_jstr(data, "name"), "described");
    r = call(guide, "GET", tsr_h_fmt(AZ "/%s", uuid), admin, NULL);
    tsr_h_assert_status(r, 200);
    assert_schema(r->body, SCHEMA_GET);
    assert_true(json_is_null(json_object_get(r->json, "description")));

    /* And with version=3 the PATCH answers in Azion's representation. */
    r = call(&tessera, "PATCH", tsr_h_fmt(V4 "/%s", uuid), admin, "{\"description\":\"again\"}");
    tsr_h_assert_status(r, 200);
    r = call(&v4_v3, "PATCH", tsr_h_fmt(V4 "/%s", uuid), admin, "{\"description\":null}");
    tsr_h_assert_status(r, 200);
    assert_bare_json(r);
    assert_azion_token(r->json, false);
    assert_schema(r->body, SCHEMA_GET);
    assert_true(json_is_null(json_object_get(r->json, "description")));

    /* null is still refused where it means nothing. */
    r = call(guide, "POST", AZ, admin,
             tsr_h_fmt("{\"name\":null,\"expires_at\":\"%s\"}",
                       tsr_h_time(tsr_h_now() + 7 * TSR_H_DAY)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/name");
    r = call(&tessera, "PATCH", tsr_h_fmt(V4 "/%s", uuid), admin, "{\"expires_at\":null}");
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    /* And a description that is neither text nor null is told both are taken. */
    r = call(sdk, "POST", AZ, admin,
             tsr_h_fmt("{\"name\":\"x\",\"expires_at\":\"%s\",\"description\":3}",
                       tsr_h_time(tsr_h_now() + 7 * TSR_H_DAY)));
    tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/description");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(r->json, "errors"), 0), "detail")),
                           "or null"));
}

/* ---- errors ---- */

static void test_errors_stay_tessera(void **state)
{
    const char *later = tsr_h_time(tsr_h_now() + 7 * TSR_H_DAY);
    struct tsr_h_resp *r;

    (void)state;
    long before = tsr_h_count_tokens(srv, admin);

    /* Azion's clients read errors[0].detail and source: Tessera's body gives both. */
    for (size_t n = 0; n < sizeof(clients) / sizeof(clients[0]); n++) {
        const struct client *c = &clients[n];
        r = call(c, "POST", c->base, admin,
                 "{\"name\":\"bad date\",\"expires_at\":\"next tuesday\",\"description\":\"x\"}");
        tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
        r = call(c, "POST", c->base, admin, "{\"name\":\"past\",\"expires_at\":\"2001-01-01\"}");
        tsr_h_assert_error(r, 400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
        r = call(c, "POST", c->base, admin, tsr_h_fmt("{\"expires_at\":\"%s\"}", later));
        tsr_h_assert_error(r, 400, "missing_field", TSR_H_SRC_POINTER, "/name");
        r = call(c, "POST", c->base, admin,
                 tsr_h_fmt("{\"name\":\"x\",\"expires_at\":\"%s\",\"scope\":[]}", later));
        tsr_h_assert_error(r, 400, "unknown_field", TSR_H_SRC_POINTER, "/scope");
        r = call(c, "POST", c->base, admin, "{\"name\":");
        tsr_h_assert_error(r, 400, "invalid_json", TSR_H_SRC_NONE, NULL);
        r = call(c, "GET", c->base, NULL, NULL);
        tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
        assert_non_null(tsr_h_header(r, "WWW-Authenticate"));
        r = call(c, "GET", tsr_h_fmt("%s?sort=name", c->base), admin, NULL);
        tsr_h_assert_error(r, 400, "invalid_parameter", TSR_H_SRC_PARAMETER, "sort");
        r = call(c, "GET", tsr_h_fmt("%s?page_size=0", c->base), admin, NULL);
        tsr_h_assert_error(r, 400, "invalid_parameter", TSR_H_SRC_PARAMETER, "page_size");
        r = call(c, "GET", tsr_h_fmt("%s/01a22a64-1dec-7f16-b6ac-53eee38b067b", c->base), admin,
                 NULL);
        tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
    }
    assert_int_equal(tsr_h_count_tokens(srv, admin), before);

    /* PATCH stays /v4's: the Azion paths answer 405 with what they take. */
    json_t *made = create_as(guide, admin, "not patched", "kept");
    const char *uuid = tsr_h_jstr(made, "uuid");
    r = call(guide, "PATCH", tsr_h_fmt(AZ "/%s", uuid), admin, "{\"name\":\"patched\"}");
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
    assert_string_equal(tsr_h_header(r, "Allow"), "GET, HEAD, DELETE");
    r = call(guide, "PUT", AZ, admin, "{}");
    tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
    assert_string_equal(tsr_h_header(r, "Allow"), "GET, HEAD, POST");
    r = call(guide, "GET", tsr_h_fmt(AZ "/%s", uuid), admin, NULL);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(r->json, "name"), "not patched");

    /* Another user's token is 404 there too, not 403. */
    const char *other = cli_login(SECOND_EMAIL, USER_PASSWORD);
    r = call(sdk, "GET", tsr_h_fmt(AZ "/%s", uuid), other, NULL);
    tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
    r = call(sdk, "DELETE", tsr_h_fmt(AZ "/%s", uuid), other, NULL);
    tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
    assert_int_equal(tsr_h_count_tokens(srv, admin), before + 1);
}

/* ---- the user's number ---- */

/* client_id is stored: a restart gives every user the same number. */
static void test_number_survives_restart(void **state)
{
    (void)state;
    if (second_client_id[0] == '\0')
        skip(); /* test_cli_login, which reads it, failed */
    tsr_h_restart(srv);
    const char *session = cli_login(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD);
    assert_string_equal(tsr_h_jstr(cli_user_me(session, TSR_H_ADMIN_EMAIL), "client_id"),
                        admin_number());
    session = cli_login(SECOND_EMAIL, USER_PASSWORD);
    assert_string_equal(tsr_h_jstr(cli_user_me(session, SECOND_EMAIL), "client_id"),
                        second_client_id);
    json_t *made = create_as(console, session, "after the restart", NULL);
    assert_string_equal(number_text(tsr_h_jint(made, "user_id")), second_client_id);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_schema_checker_refuses),
    cmocka_unit_test(test_guide_curl),
    cmocka_unit_test(test_cli_login),
    cmocka_unit_test(test_list_pages),
    cmocka_unit_test(test_create_get_delete),
    cmocka_unit_test(test_tessera_shapes_unchanged),
    cmocka_unit_test(test_description_null),
    cmocka_unit_test(test_errors_stay_tessera),
    cmocka_unit_test(test_number_survives_restart),
};

int main(void)
{
    return TSR_H_RUN(tests, setup, NULL);
}
