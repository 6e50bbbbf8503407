/* test_api_events.c - end to end: events reach webhooks and owners' mailboxes
 *
 * A real webhook receiver (hook_receiver.py, Python's http.server) keeps
 * every request it gets; a real SMTP relay (Debian's aiosmtpd, through
 * tests/notify/smtp_receiver.py) keeps every message. The server is started
 * with a relay, retries after 1 s and expiry notices 4 s and 2 s before a
 * token's end, so that the whole life of a token fits in seconds. Each
 * signature is recomputed here, with libsodium, from the raw body.
 */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#define TOKENS   "/v4/iam/personal_tokens"
#define PASSWORD "events-user-password"
#define HOOK_KEY "a webhook key: it signs every body"
#define WAIT_MS  15000

struct receiver {
    pid_t pid;
    int in; /* its standard input: closing it stops it */
    int port;
    char dir[4096];
};

static struct receiver hooks, mail;
static struct tsr_h_server *srv;
static char key_file[4200];
static char smtp_url[128];

/* ---- receivers ---- */

/* The port the receiver prints on its first line, or 0 when it printed
 * none within 20 seconds. Byte by byte: nothing past the line is taken. */
static int read_port(int fd)
{
    char line[32];
    size_t len = 0;
    struct pollfd p = {fd, POLLIN, 0};

    while (len < sizeof(line) - 1 && poll(&p, 1, 20000) == 1) {
        if (read(fd, line + len, 1) != 1)
            return 0;
        if (line[len] == '\n') {
            line[len] = '\0';
            return atoi(line);
        }
        len++;
    }
    return 0;
}

/* Starts python3 script DIR, which dies with this program (its parent
 * death signal, and the end of its standard input), and reads its port. */
static void start_receiver(struct receiver *r, const char *script)
{
    int in[2], out[2];
    pid_t parent = getpid();

    snprintf(r->dir, sizeof(r->dir), "%s/tsr-events-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(r->dir))
        fail_msg("cannot make a folder for %s", script);
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    fflush(stdout);
    fflush(stderr);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(127);
        execl(TSR_PYTHON3, TSR_PYTHON3, script, r->dir, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    r->in = in[1];
    r->port = read_port(out[0]);
    close(out[0]);
    if (r->port <= 0)
        fail_msg("%s did not say its port", script);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void stop_receiver(struct receiver *r)
{
    int status;

    if (r->pid <= 0)
        return;
    close(r->in);
    kill(r->pid, SIGTERM);
    waitpid(r->pid, &status, 0);
    nftw(r->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    r->pid = 0;
}

/* ---- what the webhook receiver kept ---- */

struct hook_req {
    int seq;
    char *path;
    char *head; /* the header lines */
    char *body;
    json_t *json;
};

/* The value of header name in head, or NULL. */
static const char *head_value(const char *head, const char *name)
{
    size_t n = strlen(name);

    for (const char *l = head; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':')
            return tsr_h_strndup(l + n + 2, strcspn(l + n + 2, "\n"));
    }
    return NULL;
}

/* Each request read once: the receiver never changes a file it kept. */
#define REQS_MAX 4096
static struct hook_req reqs[REQS_MAX + 1];

static bool read_req(int seq, struct hook_req *out)
{
    size_t len;
    char *text, *split;

    assert_true(seq >= 1 && seq <= REQS_MAX);
    if (reqs[seq].seq == seq) {
        *out = reqs[seq];
        return true;
    }
    text = tsr_h_read_file(tsr_h_fmt("%s/%06d.req", hooks.dir, seq), &len);
    if (!text)
        return false;
    split = strstr(text, "\n\n");
    assert_non_null(split);
    *split = '\0';
    out->seq = seq;
    out->path = tsr_h_strndup(text, strcspn(text, "\n"));
    out->head = text + strlen(out->path) + 1;
    out->body = split + 2;
    out->json = json_loads(out->body, 0, NULL);
    reqs[seq] = *out;
    return true;
}

static void forget_reqs(void)
{
    for (int i = 0; i <= REQS_MAX; i++)
        json_decref(reqs[i].json);
    memset(reqs, 0, sizeof(reqs));
}

/* How many requests the receiver has kept. */
static int kept(void)
{
    int n = 0;

    while (access(tsr_h_fmt("%s/%06d.req", hooks.dir, n + 1), F_OK) == 0)
        n++;
    return n;
}

/* The event's token id. */
static const char *token_of(const struct hook_req *r)
{
    return tsr_h_jstr(tsr_h_jobj(tsr_h_jobj(r->json, "data"), "token"), "id");
}

static bool matches(const struct hook_req *r, const char *path, const char *type,
                    const char *token_id)
{
    const char *event = head_value(r->head, "X-Tessera-Event");

    return strcmp(r->path, path) == 0 && event && strcmp(event, type) == 0 && r->json &&
           strcmp(token_of(r), token_id) == 0;
}

/* Waits for a request on path of event type for token_id after request
 * `after`; fails after WAIT_MS. */
static struct hook_req wait_event(const char *path, const char *type, const char *token_id,
                                  int after)
{
    int64_t until = tsr_h_mono_ms() + WAIT_MS;
    struct hook_req r;

    for (int seq = after + 1; tsr_h_mono_ms() < until;) {
        if (!read_req(seq, &r)) {
            tsr_h_sleep_ms(50);
            continue;
        }
        if (matches(&r, path, type, token_id))
            return r;
        seq++;
    }
    fail_msg("no %s for token %s reached %s", type, token_id, path);
    return r;
}

/* How many requests on path of type for token_id the receiver kept. */
static int count_events(const char *path, const char *type, const char *token_id)
{
    struct hook_req r;
    int n = 0;

    for (int seq = 1; read_req(seq, &r); seq++)
        n += matches(&r, path, type, token_id);
    return n;
}

/* The request's signature is sha256=HMAC-SHA256(HOOK_KEY, body), and its
 * other headers are the contract's. */
static void assert_signed(const struct hook_req *r)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char hex[sizeof(mac) * 2 + 1];
    crypto_auth_hmacsha256_state st;
    const char *sig = head_value(r->head, "X-Tessera-Signature-256");

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)HOOK_KEY, strlen(HOOK_KEY));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->body, strlen(r->body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    assert_non_null(sig);
    assert_string_equal(sig, tsr_h_fmt("sha256=%s", hex));
    assert_string_equal(head_value(r->head, "Content-Type"), "application/json");
    assert_string_equal(head_value(r->head, "X-Tessera-Delivery"), tsr_h_jstr(r->json, "id"));
    assert_true(tsr_h_uuid_ok(tsr_h_jstr(r->json, "id")));
    assert_string_equal(head_value(r->head, "X-Tessera-Event"), tsr_h_jstr(r->json, "type"));
    tsr_h_parse_time(tsr_h_jstr(r->json, "created_at"));
    assert_null(strstr(r->body, "\"key\""));
}

/* ---- the server ---- */

static const char *hook_url(const char *path)
{
    return tsr_h_fmt("http://127.0.0.1:%d%s", hooks.port, path);
}

/* Adds a webhook on path (events NULL: all); returns its id. */
static const char *add_hook(const char *path, const char *events)
{
    struct tsr_h_cmd *c =
        events ? tsr_h_cmd(srv, NULL, "webhook", "add", hook_url(path), "--secret-file", key_file,
                           "--events", events, "--db", srv->db, NULL)
               : tsr_h_cmd(srv, NULL, "webhook", "add", hook_url(path), "--secret-file", key_file,
                           "--db", srv->db, NULL);

    if (c->status != 0)
        fail_msg("webhook add failed (%d): %s", c->status, c->err);
    assert_true(tsr_h_uuid_ok(tsr_h_strndup(c->out, strcspn(c->out, "\n"))));
    return tsr_h_strndup(c->out, strcspn(c->out, "\n"));
}

static int setup(void **state)
{
    int fd;

    (void)state;
    if (sodium_init() < 0)
        return -1;
    start_receiver(&hooks, TSR_HOOK_RECEIVER);
    start_receiver(&mail, TSR_SMTP_RECEIVER);
    snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d", mail.port);
    {
        const char *args[] = {"--smtp-url",
                              smtp_url,
                              "--smtp-from",
                              "tessera@example.com",
                              "--public-url",
                              "https://tessera.example.com/",
                              "--delivery-retry",
                              "1s",
                              "--notify-before",
                              "4s,2s",
                              NULL};
        struct tsr_h_opts o = {.args = args};

        srv = tsr_h_start(&o);
    }
    /* Beside the requests, which are numbered files: the key is not one. */
    snprintf(key_file, sizeof(key_file), "%s/hook.key", hooks.dir);
    fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, HOOK_KEY "\n", strlen(HOOK_KEY) + 1), (ssize_t)strlen(HOOK_KEY) + 1);
    close(fd);
    add_hook("/ok/all", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_receiver(&hooks);
    stop_receiver(&mail);
    forget_reqs();
    return 0;
}

/* A new user and a session of theirs. */
static void new_user(const char *email, char session[TSR_H_SECRET_LEN + 1])
{
    tsr_h_add_user(srv, email, PASSWORD);
    tsr_h_sleep_ms(1100);
    tsr_h_login(srv, email, PASSWORD, session);
}

/* ---- tests ---- */

/* Create, change, rotate and delete each reach a webhook of every event,
 * signed; a webhook of one event gets only that one. */
static void test_each_change_raises_its_event(void **state)
{
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct hook_req r;
    int start = kept();

    (void)state;
    add_hook("/ok/revoked-only", "token.revoked");
    new_user("changes@example.com", s);
    tsr_h_create_token(srv, s, "events ci", NULL, &t);
    r = wait_event("/ok/all", "token.created", t.id, start);
    assert_signed(&r);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(tsr_h_jobj(r.json, "data"), "token"), "name"),
                        "events ci");
    assert_null(strstr(r.body, t.secret));
    tsr_h_assert_status(tsr_h_send(srv, "PATCH", tsr_h_fmt(TOKENS "/%s", t.id), s,
                                   "{\"name\":\"events ci renamed\"}"),
                        200);
    r = wait_event("/ok/all", "token.updated", t.id, r.seq);
    assert_signed(&r);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(tsr_h_jobj(r.json, "data"), "token"), "name"),
                        "events ci renamed");
    tsr_h_assert_status(tsr_h_send(srv, "POST", tsr_h_fmt(TOKENS "/%s/rotate", t.id), s, NULL),
                        200);
    r = wait_event("/ok/all", "token.rotated", t.id, r.seq);
    assert_signed(&r);
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", tsr_h_fmt(TOKENS "/%s", t.id), s, NULL), 204);
    r = wait_event("/ok/all", "token.revoked", t.id, r.seq);
    assert_signed(&r);
    wait_event("/ok/revoked-only", "token.revoked", t.id, start);
    tsr_h_sleep_ms(1500);
    assert_int_equal(count_events("/ok/revoked-only", "token.created", t.id), 0);
    assert_int_equal(count_events("/ok/revoked-only", "token.updated", t.id), 0);
    assert_int_equal(count_events("/ok/all", "token.created", t.id), 1);
    assert_int_equal(count_events("/ok/all", "token.revoked", t.id), 1);
}

/* A receiver that fails three times, with the server killed after the
 * third, gets the event a fourth time, once, when the server is back. */
static void test_retries_survive_sigkill(void **state)
{
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct hook_req first, r;
    struct tsr_h_cmd *c;
    int start = kept();
    const char *id;

    (void)state;
    id = add_hook("/flaky/3/created", "token.created");
    new_user("flaky@example.com", s);
    tsr_h_create_token(srv, s, "flaky", NULL, &t);
    first = wait_event("/flaky/3/created", "token.created", t.id, start);
    r = wait_event("/flaky/3/created", "token.created", t.id, first.seq);
    r = wait_event("/flaky/3/created", "token.created", t.id, r.seq);
    tsr_h_sleep_ms(300); /* the third failure is recorded */
    tsr_h_kill(srv);
    tsr_h_resume(srv);
    r = wait_event("/flaky/3/created", "token.created", t.id, r.seq);
    assert_signed(&r);
    assert_string_equal(head_value(r.head, "X-Tessera-Delivery"),
                        head_value(first.head, "X-Tessera-Delivery"));
    assert_string_equal(r.body, first.body);
    tsr_h_sleep_ms(3000);
    assert_int_equal(count_events("/flaky/3/created", "token.created", t.id), 4);
    c = tsr_h_cmd(srv, NULL, "webhook", "deliveries", id, "--db", srv->db, NULL);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->out, "token.created"));
    assert_non_null(strstr(c->out, " done "));
    assert_non_null(strstr(c->out, "       4 "));
}

/* The owner of a token revoked as leaked gets an e-mail that names it and
 * holds no secret; the webhook hears token.leaked. */
static void test_leak_mails_the_owner(void **state)
{
    char s[TSR_H_SECRET_LEN + 1], *eml = NULL, *env;
    struct tsr_h_token t;
    struct tsr_h_resp *resp;
    struct hook_req r;
    int start = kept();
    int64_t until;
    size_t len;

    (void)state;
    new_user("leaky@example.com", s);
    tsr_h_create_token(srv, s, "pasted in a ticket", NULL, &t);
    resp = tsr_h_send(srv, "POST", "/v4/auth/revoke", NULL,
                      tsr_h_fmt("{\"credentials\":[\"%s\"]}", t.secret));
    tsr_h_assert_status(resp, 202);
    r = wait_event("/ok/all", "token.leaked", t.id, start);
    assert_signed(&r);
    for (until = tsr_h_mono_ms() + WAIT_MS; !eml && tsr_h_mono_ms() < until;) {
        eml = tsr_h_read_file(tsr_h_fmt("%s/leaky@example.com.eml", mail.dir), &len);
        if (!eml)
            tsr_h_sleep_ms(50);
    }
    if (!eml)
        fail_msg("no e-mail reached leaky@example.com");
    assert_non_null(strstr(eml, "To: leaky@example.com"));
    assert_non_null(strstr(eml, "From: tessera@example.com"));
    assert_non_null(strstr(eml, "exposed"));
    assert_non_null(strstr(eml, "pasted in a ticket"));
    assert_non_null(strstr(eml, t.id));
    assert_non_null(strstr(eml, "https://tessera.example.com/"));
    assert_null(strstr(eml, t.secret));
    assert_null(strstr(eml, t.secret + 8));
    env = tsr_h_read_file(tsr_h_fmt("%s/leaky@example.com.env", mail.dir), &len);
    assert_non_null(env);
    assert_non_null(strstr(env, "MAIL FROM:<tessera@example.com>"));
    assert_non_null(strstr(env, "RCPT TO:<leaky@example.com>"));
}

/* Notices 4 s and 2 s before the end, then the end, each once; a new
 * expiry arms them again; a window a token is born in stays silent. */
static void test_expiry_notices(void **state)
{
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t, short_lived;
    struct hook_req r;
    int start = kept();
    int64_t end = tsr_h_now() + 9;
    const json_t *data;

    (void)state;
    new_user("expiring@example.com", s);
    tsr_h_create_token(srv, s, "short", tsr_h_time(end), &t);
    tsr_h_create_token(srv, s, "shorter", tsr_h_time(tsr_h_now() + 3), &short_lived);
    r = wait_event("/ok/all", "token.expiring", t.id, start);
    data = tsr_h_jobj(r.json, "data");
    assert_int_equal(tsr_h_jint(data, "notice_before_seconds"), 4);
    tsr_h_assert_between(tsr_h_now(), end - 5, end - 2);
    assert_signed(&r);
    r = wait_event("/ok/all", "token.expiring", t.id, r.seq);
    assert_int_equal(tsr_h_jint(tsr_h_jobj(r.json, "data"), "notice_before_seconds"), 2);
    tsr_h_assert_between(tsr_h_now(), end - 3, end);
    r = wait_event("/ok/all", "token.expired", t.id, r.seq);
    tsr_h_assert_between(tsr_h_now(), end, end + 2);
    assert_signed(&r);
    tsr_h_sleep_ms(2500);
    assert_int_equal(count_events("/ok/all", "token.expiring", t.id), 2);
    assert_int_equal(count_events("/ok/all", "token.expired", t.id), 1);
    /* Born 3 s before its end: the 2 s notice only. */
    assert_int_equal(count_events("/ok/all", "token.expiring", short_lived.id), 1);
    assert_int_equal(count_events("/ok/all", "token.expired", short_lived.id), 1);
}

static void test_new_expiry_arms_notices_again(void **state)
{
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct hook_req r;
    int start = kept();
    char *eml = NULL;
    size_t len;

    (void)state;
    new_user("extends@example.com", s);
    tsr_h_create_token(srv, s, "extended", tsr_h_time(tsr_h_now() + 6), &t);
    r = wait_event("/ok/all", "token.expiring", t.id, start);
    assert_int_equal(tsr_h_jint(tsr_h_jobj(r.json, "data"), "notice_before_seconds"), 4);
    tsr_h_assert_status(
        tsr_h_send(srv, "PATCH", tsr_h_fmt(TOKENS "/%s", t.id), s,
                   tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(tsr_h_now() + 7))),
        200);
    r = wait_event("/ok/all", "token.expiring", t.id, r.seq);
    r = wait_event("/ok/all", "token.expiring", t.id, r.seq);
    assert_int_equal(tsr_h_jint(tsr_h_jobj(r.json, "data"), "notice_before_seconds"), 2);
    for (int64_t until = tsr_h_mono_ms() + WAIT_MS; tsr_h_mono_ms() < until;) {
        eml = tsr_h_read_file(tsr_h_fmt("%s/extends@example.com.eml", mail.dir), &len);
        if (eml && strstr(eml, "expires in"))
            break;
        tsr_h_sleep_ms(50);
    }
    assert_non_null(eml);
    assert_non_null(strstr(eml, "Subject: Your Tessera token \"extended\" expires in"));
}

/* Two servers on one database (a second node on PostgreSQL, a second
 * process on SQLite) raise and deliver each event once between them. */
static void test_two_nodes_deliver_once(void **state)
{
    const char *args[] = {"--db",
                          srv->db,
                          "--smtp-url",
                          smtp_url,
                          "--smtp-from",
                          "tessera@example.com",
                          "--delivery-retry",
                          "1s",
                          "--notify-before",
                          "4s,2s",
                          NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *other = tsr_h_start(&o);
    char s[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct hook_req r;
    int start = kept();

    (void)state;
    new_user("two-nodes@example.com", s);
    tsr_h_create_token(srv, s, "on two nodes", tsr_h_time(tsr_h_now() + 6), &t);
    r = wait_event("/ok/all", "token.created", t.id, start);
    r = wait_event("/ok/all", "token.expiring", t.id, r.seq);
    r = wait_event("/ok/all", "token.expiring", t.id, r.seq);
    wait_event("/ok/all", "token.expired", t.id, r.seq);
    tsr_h_sleep_ms(2500);
    assert_int_equal(count_events("/ok/all", "token.created", t.id), 1);
    assert_int_equal(count_events("/ok/all", "token.expiring", t.id), 2);
    assert_int_equal(count_events("/ok/all", "token.expired", t.id), 1);
    tsr_h_stop(other);
}

/* The operator's commands refuse what is wrong with one line, and list
 * and remove what is there. */
static void test_webhook_commands(void **state)
{
    struct tsr_h_cmd *c;
    const char *id;

    (void)state;
    c = tsr_h_cmd(srv, NULL, "webhook", "add", "ftp://example.com/", "--secret-file", key_file,
                  "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "https://"));
    c = tsr_h_cmd(srv, NULL, "webhook", "add", "https://user:pw@example.com/", "--secret-file",
                  key_file, "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    c = tsr_h_cmd(srv, NULL, "webhook", "add", "https://example.com/", "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "--secret-file"));
    c = tsr_h_cmd(srv, NULL, "webhook", "add", "https://example.com/", "--secret-file",
                  "/nonexistent/key", "--db", srv->db, NULL);
    assert_int_equal(c->status, 1);
    c = tsr_h_cmd(srv, NULL, "webhook", "add", "https://example.com/", "--secret-file", key_file,
                  "--events", "token.created,token.exploded", "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    assert_non_null(strstr(c->err, "token.exploded"));
    id = add_hook("/ok/commands", "token.created,token.expired");
    c = tsr_h_cmd(srv, NULL, "webhook", "add", hook_url("/ok/commands"), "--secret-file", key_file,
                  "--db", srv->db, NULL);
    assert_int_equal(c->status, 1);
    c = tsr_h_cmd(srv, NULL, "webhook", "list", "--db", srv->db, NULL);
    assert_int_equal(c->status, 0);
    assert_non_null(strstr(c->out, id));
    assert_non_null(strstr(c->out, "token.created token.expired"));
    assert_null(strstr(c->out, HOOK_KEY));
    c = tsr_h_cmd(srv, NULL, "webhook", "remove", id, "--db", srv->db, NULL);
    assert_int_equal(c->status, 0);
    c = tsr_h_cmd(srv, NULL, "webhook", "list", "--db", srv->db, NULL);
    assert_null(strstr(c->out, id));
    c = tsr_h_cmd(srv, NULL, "webhook", "remove", id, "--db", srv->db, NULL);
    assert_int_equal(c->status, 1);
    c = tsr_h_cmd(srv, NULL, "webhook", "remove", "not-an-id", "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
    c = tsr_h_cmd(srv, NULL, "webhook", "deliveries", "--state", "lost", "--db", srv->db, NULL);
    assert_int_equal(c->status, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_commands),
        cmocka_unit_test(test_each_change_raises_its_event),
        cmocka_unit_test(test_retries_survive_sigkill),
        cmocka_unit_test(test_leak_mails_the_owner),
        cmocka_unit_test(test_expiry_notices),
        cmocka_unit_test(test_new_expiry_arms_notices_again),
        cmocka_unit_test(test_two_nodes_deliver_once),
    };

    return TSR_H_RUN(tests, setup, teardown);
}
