/* test_api_rotation.c - end to end: a token gets a new secret, the old one a grace period
 *
 * POST /v4/iam/personal_tokens/{id}/rotate and .../self/rotate. Every
 * refusal is followed by reading back that nothing changed: the old secret
 * still works and the token is as it was. Grace periods are timed against
 * the wall clock the server reads: a rotation is sent early in a second, so
 * that the second the server counts from is the one the test read, and an
 * old secret refused before its grace is over fails the test as surely as
 * one accepted after it.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKENS        "/v4/iam/personal_tokens"
#define VERIFY        "/v4/auth/verify"
#define ACTIVITY      "/v4/iam/activity"
#define USER_PASSWORD "user-password-for-tests"
#define OTHER_EMAIL   "other@example.com"
#define ACTS_EMAIL    "rotates@example.com"
#define POLL_MS       100
#define HOUR          INT64_C(3600)

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1]; /* the admin's */
static char other[TSR_H_SECRET_LEN + 1];   /* another user's */

static int setup(void **state)
{
    (void)state;
    srv = tsr_h_start(NULL);
    /* In this order: once the second can log in, so can the first. */
    tsr_h_add_user(srv, ACTS_EMAIL, USER_PASSWORD);
    tsr_h_add_user(srv, OTHER_EMAIL, USER_PASSWORD);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    /* A running server sees a new user within 1 s. */
    int64_t end = tsr_h_mono_ms() + 3000;
    for (;;) {
        struct tsr_h_req req = {.method = "POST",
                                .path = "/v4/tokens",
                                .auth = tsr_h_basic(OTHER_EMAIL, USER_PASSWORD)};
        struct tsr_h_resp *r = tsr_h_req(srv, &req);
        if (r->status == 201) {
            snprintf(other, sizeof(other), "%s", tsr_h_jstr(r->json, "token"));
            break;
        }
        if (tsr_h_mono_ms() >= end) {
            fail_msg("%s cannot log in 3 s after `user add`: %ld %s", OTHER_EMAIL, r->status,
                     r->body);
        }
        tsr_h_sleep_ms(100);
    }
    return 0;
}

/* ---- helpers ---- */

static char *dump(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char *o = tsr_h_fmt("%s", s ? s : "(null)");
    free(s);
    return o;
}

static const char *token_path(const char *id)
{
    return tsr_h_fmt(TOKENS "/%s", id);
}

static const char *rotate_path(const char *id)
{
    return tsr_h_fmt(TOKENS "/%s/rotate", id);
}

/* POST .../{id}/rotate (id "self": the caller's own) as the holder of
 * secret, with body (NULL: no body and no Content-Type). */
static struct tsr_h_resp *rotate_raw(const char *secret, const char *id, const char *body)
{
    struct tsr_h_req req = {
        .method = "POST", .path = rotate_path(id), .secret = secret, .body = body};
    return tsr_h_req(srv, &req);
}

/* Creates a token as auth (must be 201) expiring at exp, with the JSON
 * members extra after a comma (NULL: none). */
static void make_exp(const char *auth, int64_t exp, const char *extra, struct tsr_h_token *out)
{
    struct tsr_h_resp *r =
        tsr_h_send(srv, "POST", TOKENS, auth,
                   tsr_h_fmt("{\"name\":\"rotation\",\"expires_at\":\"%s\"%s%s}", tsr_h_time(exp),
                             extra ? "," : "", extra ? extra : ""));
    json_t *d;

    tsr_h_assert_status(r, 201);
    d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, true);
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(d, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(d, "key"));
    out->data = d;
}

static void make(const char *auth, const char *extra, struct tsr_h_token *out)
{
    make_exp(auth, tsr_h_now() + 10 * TSR_H_DAY, extra, out);
}

/* The token as its owner's session reads it (200). */
static json_t *read_as(const char *auth, const char *id)
{
    struct tsr_h_resp *r = tsr_h_get(srv, token_path(id), auth);

    tsr_h_assert_status(r, 200);
    tsr_h_assert_keys(r->json, "data");
    tsr_h_assert_token(tsr_h_jobj(r->json, "data"), false);
    return tsr_h_jobj(r->json, "data");
}

static json_t *read_back(const char *id)
{
    return read_as(session, id);
}

/* The token as read back, without what a use of it changes: the picture
 * that a refused rotation must leave as it was. */
static const char *snapshot_as(const char *auth, const char *id)
{
    json_t *d = json_deep_copy(read_as(auth, id));
    const char *s;

    json_object_del(d, "last_used_at");
    json_object_del(d, "last_used_ip");
    s = dump(d);
    json_decref(d);
    return s;
}

static const char *snapshot(const char *id)
{
    return snapshot_as(session, id);
}

/* A header's value, "(absent)" when there is none. */
static const char *hdr(const struct tsr_h_resp *r, const char *name)
{
    const char *v = tsr_h_header(r, name);
    return v ? v : "(absent)";
}

/* Asserts r is a rotation's answer for the token that was before (as read
 * back just before it) whose old secret was old_secret: 200, no-store, the
 * token object and its key, everything the same but the secret, its hint
 * and, when want_exp is not NULL, expires_at. Uses of the token are written
 * in batches, and one may land between the read and the rotation: unless
 * unused says that none can have, last_used_at may only have moved on.
 * Returns the data. */
static json_t *assert_rotated_as(const struct tsr_h_resp *r, const json_t *before,
                                 const char *old_secret, const char *want_exp, bool unused)
{
    static const char *const kept[] = {"id",          "name",       "description", "scopes",
                                       "allowed_ips", "not_before", "created"};
    static const char *const used[] = {"last_used_at", "last_used_ip"};
    json_t *d;
    const char *key;

    tsr_h_assert_status(r, 200);
    assert_non_null(strstr(hdr(r, "Cache-Control"), "no-store"));
    assert_int_equal(strncmp(hdr(r, "Content-Type"), "application/json", 16), 0);
    tsr_h_assert_keys(r->json, "data");
    d = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(d, true); /* key a good tsr_ secret, key_hint its first 8 */
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        const char *was = dump(json_object_get(before, kept[i]));
        const char *is = dump(json_object_get(d, kept[i]));
        if (strcmp(was, is) != 0) {
            fail_msg("a rotation changed %s from %s to %s", kept[i], was, is);
        }
    }
    for (size_t i = 0; unused && i < sizeof(used) / sizeof(used[0]); i++) {
        const char *was = dump(json_object_get(before, used[i]));
        const char *is = dump(json_object_get(d, used[i]));
        if (strcmp(was, is) != 0) {
            fail_msg("a rotation changed %s from %s to %s", used[i], was, is);
        }
    }
    if (!unused && json_is_string(json_object_get(before, "last_used_at"))) {
        tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(d, "last_used_at")),
                             tsr_h_parse_time(tsr_h_jstr(before, "last_used_at")), tsr_h_now());
    }
    assert_string_equal(tsr_h_jstr(d, "status"), "active");
    assert_string_equal(tsr_h_jstr(d, "expires_at"),
                        want_exp ? want_exp : tsr_h_jstr(before, "expires_at"));
    key = tsr_h_jstr(d, "key");
    assert_string_not_equal(key, old_secret);
    assert_string_equal(tsr_h_jstr(d, "key_hint"), tsr_h_strndup(key, 8));
    assert_null(strstr(r->body, old_secret));
    return d;
}

static json_t *assert_rotated(const struct tsr_h_resp *r, const json_t *before,
                              const char *old_secret, const char *want_exp)
{
    return assert_rotated_as(r, before, old_secret, want_exp, false);
}

/* Rotates t, a token of the user whose session is owner (must be 200), as
 * auth through its id or (self) through .../self/rotate with t's own
 * secret; t->secret becomes the new one, and the old is written to old (may
 * be NULL). Returns the answer's data. */
static json_t *rotate_owned(const char *owner, const char *auth, struct tsr_h_token *t, bool self,
                            const char *body, const char *want_exp, char old[TSR_H_SECRET_LEN + 1])
{
    json_t *before = json_deep_copy(read_as(owner, t->id));
    struct tsr_h_resp *r = rotate_raw(self ? t->secret : auth, self ? "self" : t->id, body);
    json_t *d = assert_rotated(r, before, t->secret, want_exp);

    json_decref(before);
    if (old != NULL) {
        memcpy(old, t->secret, TSR_H_SECRET_LEN + 1);
    }
    snprintf(t->secret, sizeof(t->secret), "%s", tsr_h_jstr(d, "key"));
    t->data = d;
    return d;
}

/* rotate_owned for one of the admin's tokens. */
static json_t *rotate_ok(const char *auth, struct tsr_h_token *t, bool self, const char *body,
                         const char *want_exp, char old[TSR_H_SECRET_LEN + 1])
{
    return rotate_owned(session, auth, t, self, body, want_exp, old);
}

/* A grace period or a lifetime short enough to wait for, long enough for
 * the requests a test makes in it: longer under a wrapper (valgrind). */
static int64_t short_wait(void)
{
    return tsr_h_wrapper() ? 15 : 3;
}

/* Waits until the wall clock is early in a second (its first half), so
 * that a request sent now is served in the second tsr_h_now() says. */
static int64_t early_in_a_second(void)
{
    struct timespec ts;

    for (;;) {
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_nsec >= 20 * 1000000L && ts.tv_nsec < 500 * 1000000L) {
            return (int64_t)ts.tv_sec;
        }
        tsr_h_sleep_ms(10);
    }
}

/* Polls verify of secret until it is refused: fails when that happens
 * before the second earliest (the server's clock cannot have reached it)
 * or when it is still accepted once the clock is past latest; while it is
 * accepted, each of the NULL-ended secrets in keep must be accepted too.
 * Returns the second it was first refused. */
static int64_t refused_between(const char *secret, int64_t earliest, int64_t latest,
                               const char *const *keep)
{
    for (;;) {
        int64_t sent = tsr_h_now();
        bool good = tsr_h_verify(srv, secret);
        int64_t now = tsr_h_now();

        if (!good) {
            if (now < earliest) {
                fail_msg("a secret due to be refused from %s was refused at %s",
                         tsr_h_time(earliest), tsr_h_time(now));
            }
            return now;
        }
        if (sent > latest) {
            fail_msg("a secret due to be refused from %s is still accepted at %s",
                     tsr_h_time(earliest), tsr_h_time(sent));
        }
        for (size_t i = 0; keep != NULL && keep[i] != NULL; i++) {
            if (!tsr_h_verify(srv, keep[i])) {
                fail_msg("secret %zu of those to keep is refused at %s", i,
                         tsr_h_time(tsr_h_now()));
            }
        }
        tsr_h_sleep_ms(POLL_MS);
    }
}

/* The token's last_used_at, once it has one (at most 10 s: the lag is 6). */
static const char *wait_last_used(const char *id)
{
    int64_t end = tsr_h_mono_ms() + 10000;

    for (;;) {
        json_t *lu = json_object_get(read_back(id), "last_used_at");
        if (json_is_string(lu)) {
            return tsr_h_fmt("%s", json_string_value(lu));
        }
        if (tsr_h_mono_ms() >= end) {
            fail_msg("last_used_at of %s still null 10 s after a use", id);
        }
        tsr_h_sleep_ms(POLL_MS);
    }
}

/* 403 insufficient_scope with RFC 6750's challenge naming scope. */
static void assert_insufficient(const struct tsr_h_resp *r, const char *scope)
{
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_NONE, NULL);
    assert_string_equal(hdr(r, "WWW-Authenticate"),
                        tsr_h_fmt("Bearer error=\"insufficient_scope\", scope=\"%s\"", scope));
}

/* An error of status and code, whatever its source. */
static void assert_code(const struct tsr_h_resp *r, long status, const char *code)
{
    json_t *e;

    tsr_h_assert_status(r, status);
    assert_non_null(r->json);
    assert_int_equal(json_array_size(tsr_h_jarr(r->json, "errors")), 1);
    e = json_array_get(tsr_h_jarr(r->json, "errors"), 0);
    assert_string_equal(tsr_h_jstr(e, "status"), tsr_h_fmt("%ld", status));
    assert_string_equal(tsr_h_jstr(e, "code"), code);
}

/* Asserts that a refused rotation left t as snap says and its secret good. */
static void assert_unchanged(const struct tsr_h_token *t, const char *snap)
{
    assert_string_equal(snapshot(t->id), snap);
    assert_true(tsr_h_verify(srv, t->secret));
}

static const char *exp_body(int64_t exp)
{
    return tsr_h_fmt("{\"expires_at\":\"%s\"}", tsr_h_time(exp));
}

/* ---- the answer ---- */

/* A rotation keeps everything but the secret: the answer, GET afterwards,
 * and what verify says of the new secret. The old one is refused on the
 * very next request (no grace period is the default). */
static void test_answer_keeps_all_but_the_secret(void **state)
{
    int64_t now = tsr_h_now();
    struct tsr_h_token t;
    json_t *before, *d;
    char old[TSR_H_SECRET_LEN + 1];
    long count;
    struct tsr_h_resp *r;

    (void)state;
    make(session,
         tsr_h_fmt("\"description\":\"deploys\\nfrom CI\","
                   "\"scopes\":[\"tokens:read\",\"activity:read\"],"
                   "\"allowed_ips\":[\"127.0.0.0/8\",\"2001:db8::/48\"],\"not_before\":\"%s\"",
                   tsr_h_time(now - HOUR)),
         &t);
    /* Used once, so that last_used_at and last_used_ip are not null. */
    assert_true(tsr_h_verify(srv, t.secret));
    wait_last_used(t.id);
    before = json_deep_copy(read_back(t.id));
    assert_string_equal(tsr_h_jstr(before, "last_used_ip"), "127.0.0.1");
    count = tsr_h_count_tokens(srv, session);

    memcpy(old, t.secret, sizeof(old));
    r = rotate_raw(session, t.id, NULL);
    d = assert_rotated_as(r, before, old, NULL, true);
    assert_string_equal(tsr_h_jstr(d, "description"), "deploys\nfrom CI");
    assert_string_equal(dump(tsr_h_jarr(d, "scopes")), "[\"activity:read\",\"tokens:read\"]");
    assert_string_equal(dump(tsr_h_jarr(d, "allowed_ips")), "[\"127.0.0.0/8\",\"2001:db8::/48\"]");
    assert_string_equal(tsr_h_jstr(d, "not_before"), tsr_h_time(now - HOUR));
    snprintf(t.secret, sizeof(t.secret), "%s", tsr_h_jstr(d, "key"));

    /* The old secret is refused from the very next request, everywhere. */
    assert_false(tsr_h_verify(srv, old));
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/self", old), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    /* The new one is the same token, with the same grants. */
    r = tsr_h_get(srv, VERIFY, t.secret);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Token-Id"), t.id);
    assert_string_equal(hdr(r, "X-Tessera-Scopes"), "activity:read tokens:read");
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_jstr(before, "expires_at"));
    r = tsr_h_get(srv, TOKENS "/self", t.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), t.id);
    tsr_h_assert_status(tsr_h_get(srv, ACTIVITY, t.secret), 200);
    tsr_h_assert_error(tsr_h_get(srv, "/v4/iam/users/me", t.secret), 403, "insufficient_scope",
                       TSR_H_SRC_NONE, NULL);

    /* GET answers the rotation's object without the key; the list holds
     * the token once, with the new hint; no new token was made. */
    {
        json_t *want = json_deep_copy(d);
        json_t *got = json_deep_copy(read_back(t.id));
        json_object_del(want, "key");
        json_object_del(want, "last_used_at");
        json_object_del(want, "last_used_ip");
        json_object_del(got, "last_used_at");
        json_object_del(got, "last_used_ip");
        assert_string_equal(dump(got), dump(want));
        json_decref(want);
        json_decref(got);
    }
    assert_int_equal(tsr_h_count_tokens(srv, session), count);
    r = tsr_h_get(srv, TOKENS "?search=deploys&page_size=100", session);
    tsr_h_assert_status(r, 200);
    assert_int_equal(tsr_h_jint(r->json, "count"), 1);
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(r->json, "results"), 0), "key_hint"),
                        tsr_h_strndup(t.secret, 8));
    assert_null(strstr(r->body, t.secret));
    json_decref(before);

    /* {} is the same as no body; so is a trailing slash on the path. */
    rotate_ok(session, &t, false, "{}", NULL, old);
    assert_false(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, t.secret));
    before = json_deep_copy(read_back(t.id));
    r = tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                           .path = tsr_h_fmt("%s/", rotate_path(t.id)),
                                           .secret = session});
    d = assert_rotated(r, before, t.secret, NULL);
    json_decref(before);
    memcpy(old, t.secret, sizeof(old));
    snprintf(t.secret, sizeof(t.secret), "%s", tsr_h_jstr(d, "key"));
    assert_false(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, t.secret));
}

/* An expires_at in the body is the new expiry, by the rules of create, in
 * any of its forms; without one the expiry stays. */
static void test_new_expiry(void **state)
{
    int64_t now = tsr_h_now();
    struct tsr_h_token t;
    const char *day = tsr_h_strndup(tsr_h_time(now + 20 * TSR_H_DAY), 10);
    const char *max = tsr_h_time(now + 366 * TSR_H_DAY);
    struct tsr_h_resp *r;
    char old[TSR_H_SECRET_LEN + 1];

    (void)state;
    make(session, NULL, &t);
    rotate_ok(session, &t, false, tsr_h_fmt("{\"expires_at\":\"%s\"}", day),
              tsr_h_fmt("%sT00:00:00Z", day), old);
    assert_string_equal(tsr_h_jstr(read_back(t.id), "expires_at"), tsr_h_fmt("%sT00:00:00Z", day));
    r = tsr_h_get(srv, VERIFY, t.secret);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_fmt("%sT00:00:00Z", day));
    assert_false(tsr_h_verify(srv, old));

    /* With a zone; and shorter than before. */
    rotate_ok(session, &t, false, tsr_h_fmt("{\"expires_at\":\"%sT12:30+02:00\"}", day),
              tsr_h_fmt("%sT10:30:00Z", day), NULL);
    rotate_ok(
        session, &t, false,
        tsr_h_fmt("{\"expires_at\":\"%s\",\"grace_period\":0}", tsr_h_time(now + 2 * TSR_H_DAY)),
        tsr_h_time(now + 2 * TSR_H_DAY), NULL);
    /* Up to the maximum lifetime from now, inclusive. */
    rotate_ok(session, &t, false, tsr_h_fmt("{\"expires_at\":\"%s\"}", max), max, NULL);
    assert_string_equal(tsr_h_jstr(read_back(t.id), "expires_at"), max);
    /* Without one, it stays. */
    rotate_ok(session, &t, false, "{\"grace_period\":0}", max, NULL);
    assert_true(tsr_h_verify(srv, t.secret));
}

/* ---- grace periods ---- */

/* grace_period 0 is the default: the old secret is refused at once. */
static void test_grace_zero(void **state)
{
    struct tsr_h_token t;
    char old[TSR_H_SECRET_LEN + 1];

    (void)state;
    make(session, NULL, &t);
    assert_true(tsr_h_verify(srv, t.secret));
    rotate_ok(session, &t, false, "{\"grace_period\":0}", NULL, old);
    assert_false(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, t.secret));
    tsr_h_assert_error(tsr_h_get(srv, ACTIVITY, old), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
}

/* With a grace period both secrets work, as the same token, until it ends
 * (not a second sooner); then only the new one. */
static void test_grace_period(void **state)
{
    const int64_t grace = short_wait();
    struct tsr_h_token t;
    char old[TSR_H_SECRET_LEN + 1];
    int64_t t0, t1;
    struct tsr_h_resp *r;

    (void)state;
    make(session, "\"scopes\":[\"tokens:read\"]", &t);
    assert_true(tsr_h_verify(srv, t.secret));
    t0 = early_in_a_second();
    rotate_ok(session, &t, false, tsr_h_fmt("{\"grace_period\":%lld}", (long long)grace), NULL,
              old);
    t1 = tsr_h_now();

    /* Both work, and are the same token with its grants; verify tells a
     * gateway when the old one stops. */
    r = tsr_h_get(srv, VERIFY, old);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Token-Id"), t.id);
    assert_string_equal(hdr(r, "X-Tessera-Scopes"), "tokens:read");
    tsr_h_assert_between(tsr_h_parse_time(hdr(r, "X-Tessera-Expires-At")), t0 + grace, t1 + grace);
    r = tsr_h_get(srv, TOKENS "/self", old);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), t.id);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "key_hint"),
                        tsr_h_strndup(t.secret, 8));
    r = tsr_h_get(srv, VERIFY, t.secret);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Token-Id"), t.id);

    /* The old one until the grace period is over, and not after. */
    refused_between(old, t0 + grace, t1 + grace + 2, (const char *const[]){t.secret, NULL});
    for (int i = 0; i < 3; i++) {
        assert_false(tsr_h_verify(srv, old));
        tsr_h_sleep_ms(POLL_MS);
    }
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/self", old), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    assert_true(tsr_h_verify(srv, t.secret));
    tsr_h_assert_status(tsr_h_get(srv, TOKENS "/self", t.secret), 200);
}

/* The longest grace period, 86400 s, is taken; the old secret then keeps
 * working well past the moment a shorter one would have ended. */
static void test_grace_longest(void **state)
{
    struct tsr_h_token t;
    char old[TSR_H_SECRET_LEN + 1];

    (void)state;
    make(session, NULL, &t);
    rotate_ok(session, &t, false, "{\"grace_period\":86400}", NULL, old);
    tsr_h_sleep_ms(1500);
    assert_true(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, t.secret));
}

/* A grace period never outlives the old expiry: with a later expiry given,
 * the old secret still stops at the old one; without, both stop there, and
 * then the token, expired, cannot be rotated (409) but can be deleted. Nor
 * does it outlive a shorter expiry given with it. */
static void test_grace_ends_at_the_old_expiry(void **state)
{
    struct tsr_h_token moved, kept;
    struct tsr_h_token shortened;
    char moved_old[TSR_H_SECRET_LEN + 1], kept_old[TSR_H_SECRET_LEN + 1];
    char shortened_old[TSR_H_SECRET_LEN + 1];
    int64_t exp, later = tsr_h_now() + 10 * TSR_H_DAY;
    const char *snap;

    (void)state;
    exp = early_in_a_second() + short_wait() + 1;
    make_exp(session, exp, NULL, &moved);
    make_exp(session, exp, NULL, &kept);
    make(session, NULL, &shortened);
    rotate_ok(session, &moved, false,
              tsr_h_fmt("{\"grace_period\":3600,\"expires_at\":\"%s\"}", tsr_h_time(later)),
              tsr_h_time(later), moved_old);
    rotate_ok(session, &kept, false, "{\"grace_period\":3600}", tsr_h_time(exp), kept_old);
    /* Nor does it outlive the token: shortened to the same second. */
    rotate_ok(session, &shortened, false,
              tsr_h_fmt("{\"grace_period\":3600,\"expires_at\":\"%s\"}", tsr_h_time(exp)),
              tsr_h_time(exp), shortened_old);
    struct tsr_h_resp *r = tsr_h_get(srv, VERIFY, moved_old);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_time(exp));
    r = tsr_h_get(srv, VERIFY, moved.secret);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_time(later));
    assert_true(tsr_h_verify(srv, kept_old));
    r = tsr_h_get(srv, VERIFY, shortened_old);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_time(exp));

    refused_between(moved_old, exp, exp + 2, (const char *const[]){moved.secret, NULL});
    refused_between(kept_old, exp, exp + 2, NULL);
    refused_between(shortened_old, exp, exp + 2, NULL);
    assert_false(tsr_h_verify(srv, shortened.secret));
    assert_false(tsr_h_verify(srv, kept.secret));
    assert_true(tsr_h_verify(srv, moved.secret));
    assert_false(tsr_h_verify(srv, moved_old));

    /* Expired: 409 whatever the (valid) body, the body's own faults first. */
    assert_string_equal(tsr_h_jstr(read_back(kept.id), "status"), "expired");
    snap = snapshot(kept.id);
    tsr_h_assert_error(rotate_raw(session, kept.id, NULL), 409, "token_expired", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(rotate_raw(session, kept.id, "{\"grace_period\":60}"), 409, "token_expired",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(session, kept.id, exp_body(tsr_h_now() + TSR_H_DAY)), 409,
                       "token_expired", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(session, kept.id, "{\"grace_period\":-1}"), 400, "invalid_field",
                       TSR_H_SRC_POINTER, "/grace_period");
    tsr_h_assert_error(rotate_raw(session, kept.id, "{\"expires_at\":\"2020-01-01\"}"), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    assert_string_equal(snapshot(kept.id), snap);
    assert_false(tsr_h_verify(srv, kept.secret));
    assert_false(tsr_h_verify(srv, kept_old));
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(kept.id), session, NULL), 204);
    tsr_h_assert_error(rotate_raw(session, kept.id, NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
}

/* A second rotation ends the first one's grace period at once: the first
 * secret is refused on the next request, the second has the new grace
 * period, the third works. Then a rotation with a grace period and one
 * without leave only the newest secret. */
static void test_second_rotation_ends_grace(void **state)
{
    struct tsr_h_token t;
    char s[5][TSR_H_SECRET_LEN + 1]; /* s[i]: the secret before rotation i + 1 */
    const int64_t grace = short_wait();
    int64_t t0, t1;

    (void)state;
    make(session, NULL, &t);
    rotate_ok(session, &t, false, "{\"grace_period\":3600}", NULL, s[0]);
    assert_true(tsr_h_verify(srv, s[0]));
    assert_true(tsr_h_verify(srv, t.secret));

    t0 = early_in_a_second();
    rotate_ok(session, &t, false, tsr_h_fmt("{\"grace_period\":%lld}", (long long)grace), NULL,
              s[1]);
    t1 = tsr_h_now();
    assert_false(tsr_h_verify(srv, s[0]));
    assert_true(tsr_h_verify(srv, s[1]));
    assert_true(tsr_h_verify(srv, t.secret));
    refused_between(s[1], t0 + grace, t1 + grace + 2, (const char *const[]){t.secret, NULL});
    assert_false(tsr_h_verify(srv, s[0]));

    rotate_ok(session, &t, false, "{\"grace_period\":3600}", NULL, s[2]);
    assert_true(tsr_h_verify(srv, s[2]));
    rotate_ok(session, &t, false, NULL, NULL, s[3]);
    for (int i = 0; i < 4; i++) {
        if (tsr_h_verify(srv, s[i])) {
            fail_msg("secret %d of 5 is accepted after a rotation without grace", i + 1);
        }
    }
    assert_true(tsr_h_verify(srv, t.secret));
}

/* Revoking a token in its grace period refuses both secrets at once. */
static void test_delete_during_grace(void **state)
{
    struct tsr_h_token t;
    char old[TSR_H_SECRET_LEN + 1];

    (void)state;
    make(session, NULL, &t);
    rotate_ok(session, &t, false, "{\"grace_period\":3600}", NULL, old);
    assert_true(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, t.secret));
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(t.id), session, NULL), 204);
    assert_false(tsr_h_verify(srv, old));
    assert_false(tsr_h_verify(srv, t.secret));
    tsr_h_assert_error(tsr_h_get(srv, TOKENS "/self", old), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(tsr_h_get(srv, token_path(t.id), session), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(rotate_raw(session, t.id, NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);

    /* The same when the token revokes itself with its old secret. */
    make(session, NULL, &t);
    rotate_ok(session, &t, false, "{\"grace_period\":3600}", NULL, old);
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", TOKENS "/self", old, NULL), 204);
    assert_false(tsr_h_verify(srv, old));
    assert_false(tsr_h_verify(srv, t.secret));
}

/* Both secrets of a grace period, and the refusal of an old one, survive a
 * restart: they are in the store, not only in the server's memory. */
static void test_survives_restart(void **state)
{
    struct tsr_h_token graced, plain;
    char graced_old[TSR_H_SECRET_LEN + 1], plain_old[TSR_H_SECRET_LEN + 1];

    (void)state;
    make(session, NULL, &graced);
    make(session, NULL, &plain);
    rotate_ok(session, &graced, false, "{\"grace_period\":3600}", NULL, graced_old);
    rotate_ok(session, &plain, false, NULL, NULL, plain_old);
    tsr_h_restart(srv);
    assert_true(tsr_h_verify(srv, graced_old));
    assert_true(tsr_h_verify(srv, graced.secret));
    assert_false(tsr_h_verify(srv, plain_old));
    assert_true(tsr_h_verify(srv, plain.secret));
    assert_string_equal(tsr_h_jstr(read_back(graced.id), "key_hint"),
                        tsr_h_strndup(graced.secret, 8));
    /* And a rotation after the restart ends that grace period. */
    rotate_ok(session, &graced, false, NULL, NULL, NULL);
    assert_false(tsr_h_verify(srv, graced_old));
}

/* ---- self ---- */

/* Any personal token may rotate itself, whatever its scopes; a new expiry
 * there needs tokens:write, and then no later one than its own. A session
 * has no personal token of its own: 404, as GET self. */
static void test_self(void **state)
{
    int64_t own_exp = tsr_h_now() + 10 * TSR_H_DAY;
    struct tsr_h_token reader, acts, writer, global;
    char old[TSR_H_SECRET_LEN + 1];
    const char *snap;
    struct tsr_h_resp *r;

    (void)state;
    /* No tokens:write needed, no body needed. */
    make(session, "\"scopes\":[\"tokens:read\"]", &reader);
    rotate_ok(NULL, &reader, true, NULL, NULL, old);
    assert_false(tsr_h_verify(srv, old));
    r = tsr_h_get(srv, TOKENS "/self", reader.secret);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "id"), reader.id);

    /* A token with no Tessera scope at all, with a grace period. */
    make(session, "\"scopes\":[\"activity:read\"]", &acts);
    rotate_ok(NULL, &acts, true, "{\"grace_period\":3600}", NULL, old);
    assert_true(tsr_h_verify(srv, old));
    assert_true(tsr_h_verify(srv, acts.secret));
    /* In its grace period the old secret may rotate again: a new secret,
     * and the grace period of the first rotation is over. */
    {
        char older[TSR_H_SECRET_LEN + 1];
        json_t *before = json_deep_copy(read_back(acts.id));
        memcpy(older, acts.secret, sizeof(older));
        r = rotate_raw(old, "self", NULL);
        json_t *d = assert_rotated(r, before, older, NULL);
        json_decref(before);
        snprintf(acts.secret, sizeof(acts.secret), "%s", tsr_h_jstr(d, "key"));
        assert_false(tsr_h_verify(srv, old));
        assert_false(tsr_h_verify(srv, older));
        assert_true(tsr_h_verify(srv, acts.secret));
    }

    /* A new expiry without tokens:write: refused, nothing changed. */
    snap = snapshot(reader.id);
    r = rotate_raw(reader.secret, "self", exp_body(tsr_h_now() + TSR_H_DAY));
    tsr_h_assert_error(r, 403, "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    assert_string_equal(hdr(r, "WWW-Authenticate"),
                        "Bearer error=\"insufficient_scope\", scope=\"tokens:write\"");
    tsr_h_assert_error(rotate_raw(acts.secret, "self",
                                  tsr_h_fmt("{\"grace_period\":60,\"expires_at\":\"%s\"}",
                                            tsr_h_time(tsr_h_now() + TSR_H_DAY))),
                       403, "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    assert_true(tsr_h_verify(srv, acts.secret));
    assert_unchanged(&reader, snap);
    /* Its own id is no "self": that path needs tokens:write. */
    assert_insufficient(rotate_raw(reader.secret, reader.id, NULL), "tokens:write");
    assert_unchanged(&reader, snap);

    /* The scope is checked once the body is known good: a bad expiry is
     * 400, whatever the caller may do. */
    tsr_h_assert_error(rotate_raw(reader.secret, "self", "{\"expires_at\":\"2020-01-01\"}"), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&reader, snap);

    /* With tokens:write a token may give itself a new expiry, but no later
     * than its own, as on PATCH: a leaked token cannot keep itself alive
     * by rotating; through its own id as well. A session may extend it. */
    make_exp(session, own_exp, "\"scopes\":[\"tokens:write\"]", &writer);
    snap = snapshot(writer.id);
    tsr_h_assert_error(rotate_raw(writer.secret, "self", exp_body(own_exp + HOUR)), 403,
                       "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    tsr_h_assert_error(rotate_raw(writer.secret, writer.id, exp_body(own_exp + HOUR)), 403,
                       "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&writer, snap);
    rotate_ok(NULL, &writer, true, exp_body(own_exp - HOUR), tsr_h_time(own_exp - HOUR), old);
    assert_false(tsr_h_verify(srv, old));
    rotate_ok(writer.secret, &writer, false, exp_body(own_exp - 2 * HOUR),
              tsr_h_time(own_exp - 2 * HOUR), NULL);
    snap = snapshot(writer.id);
    tsr_h_assert_error(rotate_raw(writer.secret, "self", exp_body(tsr_h_now() + 367 * TSR_H_DAY)),
                       400, "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&writer, snap);
    rotate_ok(session, &writer, false, exp_body(own_exp + HOUR), tsr_h_time(own_exp + HOUR), NULL);
    r = tsr_h_get(srv, VERIFY, writer.secret);
    tsr_h_assert_status(r, 204);
    assert_string_equal(hdr(r, "X-Tessera-Expires-At"), tsr_h_time(own_exp + HOUR));

    /* A global token likewise. */
    make_exp(session, own_exp, NULL, &global);
    rotate_ok(NULL, &global, true, exp_body(own_exp - 60), tsr_h_time(own_exp - 60), NULL);
    tsr_h_assert_error(rotate_raw(global.secret, "self", exp_body(own_exp)), 403,
                       "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");

    /* A session: 404 with or without a body; nothing is rotated. */
    tsr_h_assert_error(rotate_raw(session, "self", NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(session, "self", "{\"grace_period\":60}"), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(other, "self", NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    /* A revoked or unknown secret: 401. */
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", TOKENS "/self", writer.secret, NULL), 204);
    tsr_h_assert_error(rotate_raw(writer.secret, "self", NULL), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(rotate_raw(old, "self", NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(NULL, "self", NULL), 401, "unauthorized", TSR_H_SRC_NONE, NULL);
}

/* ---- who may rotate what ---- */

/* Through its id: tokens:write and every scope of the token; a personal
 * token gives no later expiry than its own. A session may do all of it. */
static void test_scopes_and_escalation(void **state)
{
    int64_t own_exp = tsr_h_now() + 10 * TSR_H_DAY;
    struct tsr_h_token reader, target, writer, strong, global, weak;
    const char *snap;

    (void)state;
    /* tokens:read cannot rotate another, even one with its own scopes, and
     * learns nothing of its body: the scope comes before it. */
    make(session, "\"scopes\":[\"tokens:read\"]", &reader);
    make(session, "\"scopes\":[\"tokens:read\"]", &target);
    snap = snapshot(target.id);
    assert_insufficient(rotate_raw(reader.secret, target.id, NULL), "tokens:write");
    assert_insufficient(rotate_raw(reader.secret, target.id, "{\"grace_period\":-1}"),
                        "tokens:write");
    assert_insufficient(rotate_raw(reader.secret, target.id, "{not json"), "tokens:write");
    assert_unchanged(&target, snap);
    assert_true(tsr_h_verify(srv, reader.secret)); /* a 403 is no revocation */

    /* tokens:write cannot rotate a token with a scope it lacks. */
    make_exp(session, own_exp, "\"scopes\":[\"tokens:write\"]", &writer);
    make(session, "\"scopes\":[\"tokens:write\",\"activity:read\"]", &strong);
    make(session, NULL, &global);
    snap = snapshot(strong.id);
    assert_insufficient(rotate_raw(writer.secret, strong.id, NULL), "activity:read");
    assert_insufficient(rotate_raw(writer.secret, strong.id, "{\"grace_period\":60}"),
                        "activity:read");
    /* That is known only with a good body: a bad one is 400 first. */
    tsr_h_assert_error(rotate_raw(writer.secret, strong.id, "{\"grace_period\":-1}"), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/grace_period");
    tsr_h_assert_error(rotate_raw(writer.secret, strong.id, "{\"expires_at\":\"2020-01-01\"}"), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&strong, snap);
    snap = snapshot(global.id);
    assert_code(rotate_raw(writer.secret, global.id, NULL), 403, "insufficient_scope");
    assert_unchanged(&global, snap);

    /* A token it may act on: yes, up to its own expiry and not beyond. */
    make_exp(session, own_exp - HOUR, "\"scopes\":[\"tokens:write\"]", &weak);
    rotate_ok(writer.secret, &weak, false, NULL, NULL, NULL);
    snap = snapshot(weak.id);
    tsr_h_assert_error(rotate_raw(writer.secret, weak.id, exp_body(own_exp + HOUR)), 403,
                       "insufficient_scope", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&weak, snap);
    rotate_ok(writer.secret, &weak, false, exp_body(own_exp), tsr_h_time(own_exp), NULL);
    assert_true(tsr_h_verify(srv, weak.secret));

    /* A global token rotates any of its user's; a session too, to any
     * expiry within the maximum lifetime. */
    rotate_ok(global.secret, &strong, false, "{\"grace_period\":10}", NULL, NULL);
    rotate_ok(session, &global, false, exp_body(own_exp + 300 * TSR_H_DAY),
              tsr_h_time(own_exp + 300 * TSR_H_DAY), NULL);
    assert_true(tsr_h_verify(srv, global.secret));
    assert_true(tsr_h_verify(srv, writer.secret));
}

/* Unknown, revoked and another user's tokens are 404, never 403; nothing
 * changes. */
static void test_not_found(void **state)
{
    struct tsr_h_token mine, theirs, theirs_personal, revoked;
    const char *snap_mine, *snap_theirs;
    static const char unknown[] = "01890a5d-ac96-774b-bcce-b302099a8057";

    (void)state;
    make(session, NULL, &mine);
    make(other, NULL, &theirs);
    make(other, NULL, &theirs_personal);
    /* The route is there: the owner rotates it. */
    rotate_ok(session, &mine, false, NULL, NULL, NULL);
    rotate_owned(other, other, &theirs, false, NULL, NULL, NULL);
    snap_mine = snapshot(mine.id);
    snap_theirs = snapshot_as(other, theirs.id);

    tsr_h_assert_error(rotate_raw(session, unknown, NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(session, theirs.id, NULL), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(rotate_raw(session, theirs.id, "{\"grace_period\":60}"), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(other, mine.id, NULL), 404, "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(theirs_personal.secret, mine.id, NULL), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    /* A path id that is not a lowercase UUID matches no route. */
    tsr_h_assert_error(rotate_raw(session, "01890A5D-AC96-774B-BCCE-B302099A8057", NULL), 404,
                       "not_found", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_error(rotate_raw(session, "not-a-uuid", NULL), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    assert_string_equal(snapshot(mine.id), snap_mine);
    assert_string_equal(snapshot_as(other, theirs.id), snap_theirs);
    assert_true(tsr_h_verify(srv, mine.secret));
    assert_true(tsr_h_verify(srv, theirs.secret));

    make(session, NULL, &revoked);
    tsr_h_assert_status(tsr_h_send(srv, "DELETE", token_path(revoked.id), session, NULL), 204);
    tsr_h_assert_error(rotate_raw(session, revoked.id, NULL), 404, "not_found", TSR_H_SRC_NONE,
                       NULL);
    tsr_h_assert_error(rotate_raw(session, revoked.id, "{\"grace_period\":60}"), 404, "not_found",
                       TSR_H_SRC_NONE, NULL);
    assert_false(tsr_h_verify(srv, revoked.secret));
}

/* ---- bad requests ---- */

/* Every bad body is 400 for its member, and leaves the token as it was: the
 * same hint and expiry, the old secret still good. */
static void test_bad_bodies(void **state)
{
    static const struct {
        const char *body;
        const char *code;
        const char *pointer; /* NULL: no source */
    } bad[] = {
        {"{\"grace_period\":-1}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":86401}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":4294967296}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":-4294967296}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":\"10\"}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":1.5}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":null}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":true}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":[10]}", "invalid_field", "/grace_period"},
        {"{\"grace_period\":{}}", "invalid_field", "/grace_period"},
        {"{\"expires_at\":\"2020-01-01\"}", "invalid_field", "/expires_at"},
        {"{\"expires_at\":\"tomorrow\"}", "invalid_field", "/expires_at"},
        {"{\"expires_at\":\"2026-02-30\"}", "invalid_field", "/expires_at"},
        {"{not json", "invalid_json", NULL},
        {"[]", "invalid_json", NULL},
        {"10", "invalid_json", NULL},
        {"null", "invalid_json", NULL},
        {"{\"grace_period\":5,\"grace_period\":6}", "invalid_json", NULL},
        /* Problems named by a key of the body itself. */
        {"{\"expires_at\":null}", "invalid_field", "/expires_at"},
        {"{\"expires_at\":1900000000}", "invalid_field", "/expires_at"},
        {"{\"grace_period\":10,\"bogus\":1}", "unknown_field", "/bogus"},
        {"{\"name\":\"renamed\"}", "unknown_field", "/name"},
        {"{\"scopes\":[\"global\"]}", "unknown_field", "/scopes"},
        {"{\"key\":\"tsr_x\"}", "unknown_field", "/key"},
    };
    int64_t now = tsr_h_now();
    struct tsr_h_token t;
    const char *snap;
    struct tsr_h_resp *r;

    (void)state;
    make(session, NULL, &t);
    snap = snapshot(t.id);

    /* Not JSON's content type: 415. */
    r = tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                           .path = rotate_path(t.id),
                                           .secret = session,
                                           .body = "{\"grace_period\":10}",
                                           .ctype = "text/plain"});
    tsr_h_assert_error(r, 415, "unsupported_media_type", TSR_H_SRC_NONE, NULL);
    /* A query parameter: this endpoint takes none. */
    tsr_h_assert_error(tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                                          .path = tsr_h_fmt("%s?grace_period=10",
                                                                            rotate_path(t.id)),
                                                          .secret = session}),
                       400, "invalid_parameter", TSR_H_SRC_PARAMETER, "grace_period");
    /* Only POST: 405 with Allow (HEAD too, which has no body to check). */
    static const char *const methods[] = {"GET", "PATCH", "DELETE", "PUT"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        r = tsr_h_send(srv, methods[i], rotate_path(t.id), session, NULL);
        tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
        assert_string_equal(hdr(r, "Allow"), "POST");
        r = tsr_h_send(srv, methods[i], rotate_path("self"), t.secret, NULL);
        tsr_h_assert_error(r, 405, "method_not_allowed", TSR_H_SRC_NONE, NULL);
        assert_string_equal(hdr(r, "Allow"), "POST");
    }
    r = tsr_h_send(srv, "HEAD", rotate_path(t.id), session, NULL);
    tsr_h_assert_status(r, 405);
    assert_string_equal(hdr(r, "Allow"), "POST");
    /* No credential: 401 before the body is looked at. */
    tsr_h_assert_error(rotate_raw(NULL, t.id, "{not json"), 401, "unauthorized", TSR_H_SRC_NONE,
                       NULL);
    /* Past the maximum lifetime, and a number past 64 bits (not JSON to the
     * parser). */
    tsr_h_assert_error(rotate_raw(session, t.id, exp_body(now + 366 * TSR_H_DAY + 120)), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    tsr_h_assert_error(rotate_raw(session, t.id, "{\"grace_period\":99999999999999999999999}"), 400,
                       "invalid_json", TSR_H_SRC_NONE, NULL);
    assert_unchanged(&t, snap);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("body %s\n", bad[i].body);
        r = rotate_raw(session, t.id, bad[i].body);
        tsr_h_assert_error(r, 400, bad[i].code, bad[i].pointer ? TSR_H_SRC_POINTER : TSR_H_SRC_NONE,
                           bad[i].pointer);
        /* The same through self, with the token's own secret. */
        if (strstr(bad[i].body, "expires_at") == NULL) {
            r = rotate_raw(t.secret, "self", bad[i].body);
            tsr_h_assert_error(r, 400, bad[i].code,
                               bad[i].pointer ? TSR_H_SRC_POINTER : TSR_H_SRC_NONE, bad[i].pointer);
        }
        assert_unchanged(&t, snap);
    }

    /* The body is checked before the token is looked up. */
    tsr_h_assert_error(
        rotate_raw(session, "01890a5d-ac96-774b-bcce-b302099a8057", "{\"grace_period\":-1}"), 400,
        "invalid_field", TSR_H_SRC_POINTER, "/grace_period");
    tsr_h_assert_error(rotate_raw(other, t.id, "{\"expires_at\":\"2020-01-01\"}"), 400,
                       "invalid_field", TSR_H_SRC_POINTER, "/expires_at");
    assert_unchanged(&t, snap);

    /* The edges that are good: 0 and 86400. */
    rotate_ok(session, &t, false, "{\"grace_period\":86400}", NULL, NULL);
    rotate_ok(session, &t, false, "{\"grace_period\":0}", NULL, NULL);
    assert_true(tsr_h_verify(srv, t.secret));
}

/* ---- the console's cookie ---- */

static const char *console_cookie(void)
{
    struct tsr_h_req req = {.method = "POST",
                            .path = "/v4/console/session",
                            .body = "{\"email\":\"" TSR_H_ADMIN_EMAIL
                                    "\",\"password\":\"" TSR_H_ADMIN_PASSWORD "\"}"};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);
    const char *set, *end;
    char *cookie;

    tsr_h_assert_status(r, 204);
    set = tsr_h_header(r, "Set-Cookie");
    assert_non_null(set);
    end = strchr(set, ';');
    cookie = tsr_h_strndup(set, end ? (size_t)(end - set) : strlen(set));
    tsr_h_record_secret(strchr(cookie, '=') + 1);
    return tsr_h_fmt("Cookie: %s", cookie);
}

/* A rotation is a change: by the cookie it needs the CSRF header. */
static void test_cookie_needs_csrf(void **state)
{
    struct tsr_h_token t;
    const char *cookie = console_cookie();
    const char *snap;
    struct tsr_h_resp *r;
    json_t *before;

    (void)state;
    make(session, NULL, &t);
    snap = snapshot(t.id);
    r = tsr_h_req(srv, &(struct tsr_h_req){
                           .method = "POST", .path = rotate_path(t.id), .headers = {cookie, NULL}});
    tsr_h_assert_error(r, 403, "csrf_required", TSR_H_SRC_NONE, NULL);
    r = tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                           .path = rotate_path(t.id),
                                           .body = "{not json",
                                           .headers = {cookie, NULL}});
    tsr_h_assert_error(r, 403, "csrf_required", TSR_H_SRC_NONE, NULL);
    assert_unchanged(&t, snap);

    before = json_deep_copy(read_back(t.id));
    r = tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                           .path = rotate_path(t.id),
                                           .body = "{\"grace_period\":60}",
                                           .headers = {cookie, "X-Tessera-CSRF: 1", NULL}});
    assert_rotated(r, before, t.secret, NULL);
    json_decref(before);
    assert_true(tsr_h_verify(srv, t.secret));
    assert_true(tsr_h_verify(srv, tsr_h_jstr(tsr_h_jobj(r->json, "data"), "key")));
    /* The cookie's session has no personal token of its own. */
    r = tsr_h_req(srv, &(struct tsr_h_req){.method = "POST",
                                           .path = rotate_path("self"),
                                           .headers = {cookie, "X-Tessera-CSRF: 1", NULL}});
    tsr_h_assert_error(r, 404, "not_found", TSR_H_SRC_NONE, NULL);
}

/* ---- the activity log ---- */

/* The records of action for token id in the user's activity (newest
 * first), each checked; returns how many. */
static size_t count_actions(const char *auth, const char *action, const char *id, const char *name)
{
    struct tsr_h_resp *r = tsr_h_get(srv, ACTIVITY "?page_size=100", auth);
    json_t *item;
    size_t i, n = 0;

    tsr_h_assert_status(r, 200);
    json_array_foreach(tsr_h_jarr(r->json, "results"), i, item)
    {
        json_t *tid = json_object_get(item, "token_id");
        if (strcmp(tsr_h_jstr(item, "action"), action) != 0 || !json_is_string(tid) ||
            strcmp(json_string_value(tid), id) != 0) {
            continue;
        }
        assert_string_equal(tsr_h_jstr(item, "outcome"), "success");
        assert_string_equal(tsr_h_jstr(item, "token_name"), name);
        assert_string_equal(tsr_h_jstr(item, "remote_addr"), "127.0.0.1");
        assert_int_equal(tsr_h_jint(item, "count"), 1);
        n++;
    }
    return n;
}

/* Each rotation is one token.rotate record in its owner's log, written
 * before the answer; refusals write none; no one else sees them. */
static void test_activity(void **state)
{
    char user[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    struct tsr_h_resp *r;
    json_t *newest;

    (void)state;
    tsr_h_login(srv, ACTS_EMAIL, USER_PASSWORD, user);
    make(user, NULL, &t);
    assert_int_equal(count_actions(user, "token.rotate", t.id, "rotation"), 0);

    rotate_owned(user, user, &t, false, NULL, NULL, NULL);
    r = tsr_h_get(srv, ACTIVITY, user);
    tsr_h_assert_status(r, 200);
    newest = json_array_get(tsr_h_jarr(r->json, "results"), 0);
    assert_string_equal(tsr_h_jstr(newest, "action"), "token.rotate");
    assert_string_equal(tsr_h_jstr(newest, "token_id"), t.id);
    tsr_h_assert_between(tsr_h_parse_time(tsr_h_jstr(newest, "at")), tsr_h_now() - 5, tsr_h_now());
    assert_int_equal(count_actions(user, "token.rotate", t.id, "rotation"), 1);

    rotate_owned(user, user, &t, false, "{\"grace_period\":60}", NULL, NULL);
    rotate_owned(user, NULL, &t, true, exp_body(tsr_h_now() + 5 * TSR_H_DAY),
                 tsr_h_time(tsr_h_now() + 5 * TSR_H_DAY), NULL);
    assert_int_equal(count_actions(user, "token.rotate", t.id, "rotation"), 3);
    /* A refused rotation is none. */
    tsr_h_assert_status(rotate_raw(user, t.id, "{\"grace_period\":-1}"), 400);
    assert_int_equal(count_actions(user, "token.rotate", t.id, "rotation"), 3);
    /* Not an update, and nobody else's. */
    assert_int_equal(count_actions(user, "token.update", t.id, "rotation"), 0);
    assert_int_equal(count_actions(session, "token.rotate", t.id, "rotation"), 0);
    assert_int_equal(count_actions(other, "token.rotate", t.id, "rotation"), 0);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_keeps_all_but_the_secret),
        cmocka_unit_test(test_new_expiry),
        cmocka_unit_test(test_grace_zero),
        cmocka_unit_test(test_grace_period),
        cmocka_unit_test(test_grace_longest),
        cmocka_unit_test(test_grace_ends_at_the_old_expiry),
        cmocka_unit_test(test_second_rotation_ends_grace),
        cmocka_unit_test(test_delete_during_grace),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_scopes_and_escalation),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_cookie_needs_csrf),
        cmocka_unit_test(test_activity),
        cmocka_unit_test(test_survives_restart),
        cmocka_unit_test(test_bad_bodies),
    };
    return TSR_H_RUN(tests, setup, NULL);
}
