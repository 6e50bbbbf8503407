/* test_api_tls.c - end to end: tesserad serve --tls-cert --tls-key, checked by libcurl for real
 *
 * A self-signed certificate for 127.0.0.1 is made with the openssl command
 * in a temporary folder, and libcurl trusts exactly that certificate
 * (CURLOPT_CAINFO), so every request here verifies the server as a browser
 * would.
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

#include <curl/curl.h>

extern char **environ;

static char dir[4096];                         /* the certificates' folder */
static char cert[4200], key[4200];             /* the server's certificate and key */
static char other_cert[4200], other_key[4200]; /* a second pair, for a mismatch */
static char junk[4200];                        /* a file that is not PEM */
static char rsa_cert[4200], rsa_key[4200];     /* an RSA pair */
static struct tsr_h_server *srv;               /* serves HTTPS with cert and key */
static char session[TSR_H_SECRET_LEN + 1];     /* the admin's, over HTTPS */

/* Runs openssl to make a self-signed certificate (valid 2 days, for
 * 127.0.0.1 and localhost) and its P-256 key. */
/* Makes a self-signed certificate for 127.0.0.1 and its key: P-256, or
 * RSA (which static-RSA key exchange needs, so that a refusal of those
 * suites is the server's choice and not its key's). */
static void make_pair_of(const char *cert_path, const char *key_path, bool rsa)
{
    const char *argv[] = {"openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          rsa ? "rsa" : "ec",
                          "-pkeyopt",
                          rsa ? "rsa_keygen_bits:2048" : "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-days",
                          "2",
                          "-subj",
                          "/CN=127.0.0.1",
                          "-addext",
                          "subjectAltName=IP:127.0.0.1,DNS:localhost",
                          "-keyout",
                          key_path,
                          "-out",
                          cert_path,
                          NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;

    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    /* openssl talks on standard error even when all is well. */
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0), 0);
    if (posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
        fail_msg("cannot run openssl (scripts/install-deps installs it)");
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("openssl req failed with status %d", status);
}

static void make_pair(const char *cert_path, const char *key_path)
{
    make_pair_of(cert_path, key_path, false);
}

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/tsr-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(other_cert, sizeof(other_cert), "%s/other-cert.pem", dir);
    snprintf(other_key, sizeof(other_key), "%s/other-key.pem", dir);
    snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
    make_pair(cert, key);
    make_pair(other_cert, other_key);
    snprintf(rsa_cert, sizeof(rsa_cert), "%s/rsa-cert.pem", dir);
    snprintf(rsa_key, sizeof(rsa_key), "%s/rsa-key.pem", dir);
    make_pair_of(rsa_cert, rsa_key, true);
    f = fopen(junk, "w");
    assert_non_null(f);
    /* Not PEM at all. (A certificate block of bad base64 would do as well,
     * but GnuTLS 3.7.9 leaks on that path, which fails the ASan build.) */
    fputs("this is not a certificate\n", f);
    assert_int_equal(fclose(f), 0);

    const char *const args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct tsr_h_opts o = {.args = args, .cainfo = cert};
    srv = tsr_h_start(&o);
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

/* One GET with a fresh libcurl handle: url, trusting cainfo (NULL: the
 * system's CAs), at TLS version tls (0: libcurl's default) with every
 * cipher OpenSSL has, so that a refusal is the server's. Returns libcurl's
 * result; *status is the HTTP status, if any. */
static CURLcode raw_get(const char *url, const char *cainfo, long tls, long *status)
{
    CURL *c = curl_easy_init();
    CURLcode rc;
    FILE *sink = fopen("/dev/null", "w");

    assert_non_null(c);
    assert_non_null(sink);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (cainfo)
        curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
    if (tls) {
        curl_easy_setopt(c, CURLOPT_SSLVERSION, tls);
        curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "DEFAULT@SECLEVEL=0");
    }
    *status = 0;
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    fclose(sink);
    return rc;
}

static void test_ready_line_says_https(void **state)
{
    (void)state;
    assert_non_null(strstr(tsr_h_server_stderr(srv), "listening on https://127.0.0.1:"));
    assert_int_equal(strncmp(srv->base, "https://", 8), 0);
}

/* Log in, create a token and verify it, all over verified HTTPS. */
static void test_login_create_verify(void **state)
{
    struct tsr_h_token t;

    (void)state;
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(srv, session, "over TLS", NULL, &t);
    assert_true(tsr_h_verify(srv, t.secret));
    assert_int_equal(tsr_h_count_tokens(srv, session), 1);
    struct tsr_h_resp *r =
        tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", t.id), session, NULL);
    tsr_h_assert_status(r, 204);
    assert_false(tsr_h_verify(srv, t.secret));
}

/* Over TLS the console's cookie is __Host-tessera_session, Secure, Path=/
 * and no Domain, on log-in and on log-out; the server reads that name only,
 * not the plain one (which a page on plain HTTP, or a sibling subdomain,
 * could have set). */
static void test_console_cookie_secure(void **state)
{
    struct tsr_h_req login = {.method = "POST",
                              .path = "/v4/console/session",
                              .body = "{\"email\":\"" TSR_H_ADMIN_EMAIL
                                      "\",\"password\":\"" TSR_H_ADMIN_PASSWORD "\"}"};
    struct tsr_h_resp *r;
    const char *cookie;
    char value[TSR_H_SECRET_LEN + 1];

    (void)state;
    r = tsr_h_req(srv, &login);
    tsr_h_assert_status(r, 204);
    cookie = tsr_h_header(r, "Set-Cookie");
    assert_non_null(cookie);
    assert_int_equal(strncmp(cookie, "__Host-tessera_session=tss_", 27), 0);
    memcpy(value, cookie + 23, TSR_H_SECRET_LEN);
    value[TSR_H_SECRET_LEN] = '\0';
    assert_string_equal(cookie + 23 + TSR_H_SECRET_LEN,
                        "; HttpOnly; SameSite=Strict; Path=/; Secure");
    assert_null(strcasestr(cookie, "Domain"));

    struct tsr_h_req me = {
        .path = "/v4/iam/users/me",
        .headers = {tsr_h_fmt("Cookie: __Host-tessera_session=%s", value), NULL}};
    tsr_h_assert_status(tsr_h_req(srv, &me), 200);
    struct tsr_h_req plain_name = {
        .path = "/v4/iam/users/me",
        .headers = {tsr_h_fmt("Cookie: tessera_session=%s", value), NULL}};
    tsr_h_assert_error(tsr_h_req(srv, &plain_name), 401, "unauthorized", TSR_H_SRC_NONE, NULL);

    struct tsr_h_req logout = {.method = "DELETE",
                               .path = "/v4/console/session",
                               .headers = {tsr_h_fmt("Cookie: __Host-tessera_session=%s", value),
                                           "X-Tessera-CSRF: 1", NULL}};
    r = tsr_h_req(srv, &logout);
    tsr_h_assert_status(r, 204);
    assert_string_equal(
        tsr_h_header(r, "Set-Cookie"),
        "__Host-tessera_session=; HttpOnly; SameSite=Strict; Path=/; Secure; Max-Age=0");
}

/* Plain HTTP keeps its cookie, tessera_session without Secure (a browser
 * would drop a Secure or __Host- cookie set over HTTP), and reads only
 * that name. */
static void test_plain_cookie_not_secure(void **state)
{
    struct tsr_h_server *plain = tsr_h_start(NULL);
    const char *cookie;
    char value[TSR_H_SECRET_LEN + 1];
    struct tsr_h_req login = {.method = "POST",
                              .path = "/v4/console/session",
                              .body = "{\"email\":\"" TSR_H_ADMIN_EMAIL
                                      "\",\"password\":\"" TSR_H_ADMIN_PASSWORD "\"}"};
    struct tsr_h_resp *r;

    (void)state;
    assert_int_equal(strncmp(plain->base, "http://", 7), 0);
    r = tsr_h_req(plain, &login);
    tsr_h_assert_status(r, 204);
    cookie = tsr_h_header(r, "Set-Cookie");
    assert_non_null(cookie);
    assert_null(strstr(cookie, "Secure"));
    assert_int_equal(strncmp(cookie, "tessera_session=tss_", 20), 0);
    memcpy(value, cookie + 16, TSR_H_SECRET_LEN);
    value[TSR_H_SECRET_LEN] = '\0';
    struct tsr_h_req me = {.path = "/v4/iam/users/me",
                           .headers = {tsr_h_fmt("Cookie: tessera_session=%s", value), NULL}};
    tsr_h_assert_status(tsr_h_req(plain, &me), 200);
    struct tsr_h_req host_name = {
        .path = "/v4/iam/users/me",
        .headers = {tsr_h_fmt("Cookie: __Host-tessera_session=%s", value), NULL}};
    tsr_h_assert_error(tsr_h_req(plain, &host_name), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_stop(plain);
}

/* Plain HTTP to the TLS port gets no answer, nor does a client that does
 * not trust the certificate, nor TLS 1.1; the server goes on serving. */
static void test_refusals(void **state)
{
    const char *http_url = tsr_h_fmt("http://127.0.0.1:%d/healthz", srv->port);
    const char *https_url = tsr_h_fmt("https://127.0.0.1:%d/healthz", srv->port);
    long status;
    CURLcode rc;

    (void)state;
    rc = raw_get(http_url, NULL, 0, &status);
    if (rc == CURLE_OK)
        fail_msg("plain HTTP to the TLS port was answered with %ld", status);
    rc = raw_get(https_url, NULL, 0, &status);
    assert_int_equal(rc, CURLE_PEER_FAILED_VERIFICATION);
    rc = raw_get(https_url, cert, CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1, &status);
    if (rc == CURLE_OK)
        fail_msg("TLS 1.1 was accepted");
    rc = raw_get(https_url, cert, CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2, &status);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status, 200);
    rc = raw_get(https_url, cert, 0, &status);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status, 200);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
}

/* TESSERA_TLS_CERT and TESSERA_TLS_KEY do what the flags do. */
static void test_environment(void **state)
{
    const char *const env[] = {tsr_h_fmt("TESSERA_TLS_CERT=%s", cert),
                               tsr_h_fmt("TESSERA_TLS_KEY=%s", key), NULL};
    struct tsr_h_opts o = {.env = env, .cainfo = cert};
    struct tsr_h_server *s = tsr_h_start(&o);

    (void)state;
    assert_int_equal(strncmp(s->base, "https://", 8), 0);
    tsr_h_assert_status(tsr_h_get(s, "/healthz", NULL), 200);
    tsr_h_stop(s);
}

/* Runs `tesserad serve` with the TLS files given and expects a usage error:
 * exit 2, one line on standard error holding want, and no database made. */
static void refused(const char *cert_path, const char *key_path, const char *want)
{
    const char *db = tsr_h_fmt("%s/refused.db", srv->dir);
    struct tsr_h_cmd *c;
    struct stat st;

    if (cert_path && key_path)
        c = tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-cert",
                      cert_path, "--tls-key", key_path, NULL);
    else if (cert_path)
        c = tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-cert",
                      cert_path, NULL);
    else
        c = tsr_h_cmd(srv, NULL, "serve", "--listen", "127.0.0.1:0", "--db", db, "--tls-key",
                      key_path, NULL);
    print_message("stderr: %s", c->err);
    assert_int_equal(c->status, 2);
    assert_int_equal(strncmp(c->err, "tesserad: ", 10), 0);
    assert_non_null(strstr(c->err, want));
    assert_ptr_equal(strchr(c->err, '\n'), c->err + strlen(c->err) - 1);
    assert_int_not_equal(stat(db, &st), 0);
}

static void test_bad_files(void **state)
{
    const char *missing = tsr_h_fmt("%s/no-such-cert.pem", dir);

    (void)state;
    refused(missing, key, tsr_h_fmt("cannot read --tls-cert '%s': No such file", missing));
    refused(cert, missing, tsr_h_fmt("cannot read --tls-key '%s': No such file", missing));
    refused(dir, key, "cannot read --tls-cert");
    refused(junk, key, "--tls-cert and --tls-key cannot be used");
    refused(cert, junk, "--tls-cert and --tls-key cannot be used");
    refused(cert, other_key, "do not match");
    refused(key, cert, "--tls-cert and --tls-key cannot be used");
    refused(cert, NULL, "--tls-cert and --tls-key go together");
    refused(NULL, key, "--tls-cert and --tls-key go together");
    /* The server that uses them is unharmed. */
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
}

/* One GET of /healthz over TLS 1.2 offering only the OpenSSL cipher suites
 * in ciphers. Returns libcurl's result. */
static CURLcode get_with_ciphers(int port, const char *cainfo, const char *ciphers, long *status)
{
    CURL *c = curl_easy_init();
    CURLcode rc;
    FILE *sink = fopen("/dev/null", "w");

    assert_non_null(c);
    assert_non_null(sink);
    curl_easy_setopt(c, CURLOPT_URL, tsr_h_fmt("https://127.0.0.1:%d/healthz", port));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, tsr_h_fmt("%s@SECLEVEL=0", ciphers));
    *status = 0;
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    fclose(sink);
    return rc;
}

/* Only forward-secret AEAD suites: a client that offers static RSA key
 * exchange or CBC with SHA-1, even with ECDHE, fails the handshake; ECDHE
 * with GCM or ChaCha20 succeeds. An RSA certificate, so that static RSA
 * would be possible if the server allowed it. */
static void test_forward_secret_only(void **state)
{
    static const char *const refused_suites[] = {"AES128-SHA",           "AES256-SHA",
                                                 "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
                                                 "AES128-GCM-SHA256",    "AES256-GCM-SHA384"};
    static const char *const taken_suites[] = {"ECDHE-RSA-AES128-GCM-SHA256",
                                               "ECDHE-RSA-AES256-GCM-SHA384",
                                               "ECDHE-RSA-CHACHA20-POLY1305"};
    const char *const args[] = {"--tls-cert", rsa_cert, "--tls-key", rsa_key, NULL};
    struct tsr_h_opts o = {.args = args, .cainfo = rsa_cert};
    struct tsr_h_server *s = tsr_h_start(&o);
    long status;
    CURLcode rc;

    (void)state;
    for (size_t i = 0; i < sizeof(refused_suites) / sizeof(refused_suites[0]); i++) {
        rc = get_with_ciphers(s->port, rsa_cert, refused_suites[i], &status);
        if (rc == CURLE_OK)
            fail_msg("a client offering only %s was answered %ld", refused_suites[i], status);
    }
    for (size_t i = 0; i < sizeof(taken_suites) / sizeof(taken_suites[0]); i++) {
        rc = get_with_ciphers(s->port, rsa_cert, taken_suites[i], &status);
        if (rc != CURLE_OK || status != 200)
            fail_msg("a client offering %s got %s (%ld)", taken_suites[i], curl_easy_strerror(rc),
                     status);
    }
    /* The ECDSA server likewise. */
    rc = get_with_ciphers(srv->port, cert, "ECDHE-ECDSA-AES128-SHA", &status);
    if (rc == CURLE_OK)
        fail_msg("a client offering only ECDHE-ECDSA-AES128-SHA was answered %ld", status);
    rc = get_with_ciphers(srv->port, cert, "ECDHE-ECDSA-AES128-GCM-SHA256", &status);
    assert_int_equal(rc, CURLE_OK);
    assert_int_equal(status, 200);
    tsr_h_stop(s);
}

/* Strict-Transport-Security on every HTTPS answer (JSON, empty, the shared
 * refusal of a bad token, a page, an error), and on none over plain HTTP. */
static void test_hsts(void **state)
{
    struct tsr_h_server *plain = tsr_h_start(NULL);
    struct tsr_h_token t;
    char bad[TSR_H_SECRET_LEN + 1];
    const char *paths[] = {"/healthz", "/v4/auth/verify", "/v4/auth/verify", "/", "/no-such"};
    const char *secrets[5];
    long want[] = {200, 401, 204, 200, 404};

    (void)state;
    tsr_h_create_token(srv, session, "hsts", NULL, &t);
    tsr_h_make_secret("tsr_", 7, bad);
    secrets[0] = NULL;
    secrets[1] = bad;
    secrets[2] = t.secret;
    secrets[3] = NULL;
    secrets[4] = NULL;
    for (size_t i = 0; i < 5; i++) {
        struct tsr_h_resp *r = tsr_h_get(srv, paths[i], secrets[i]);

        tsr_h_assert_status(r, want[i]);
        if (tsr_h_header_count(r, "Strict-Transport-Security") != 1)
            fail_msg("%s over HTTPS: %d Strict-Transport-Security headers", paths[i],
                     tsr_h_header_count(r, "Strict-Transport-Security"));
        assert_string_equal(tsr_h_header(r, "Strict-Transport-Security"), "max-age=63072000");
    }
    for (size_t i = 0; i < 5; i++) {
        struct tsr_h_resp *r = tsr_h_get(plain, paths[i], i == 2 ? NULL : secrets[i]);

        assert_null(tsr_h_header(r, "Strict-Transport-Security"));
    }
    tsr_h_stop(plain);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_line_says_https),
        cmocka_unit_test(test_login_create_verify),
        cmocka_unit_test(test_console_cookie_secure),
        cmocka_unit_test(test_plain_cookie_not_secure),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_forward_secret_only),
        cmocka_unit_test(test_hsts),
    };
    return TSR_H_RUN(tests, setup, teardown);
}
