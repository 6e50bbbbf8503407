/* test_api_hashing.c - password hashing apart from verify, its full queue, and stops under load
 *
 * A flood of wrong passwords (with the login limit off, so that none is
 * refused early) must not make GET /v4/auth/verify wait: the passwords are
 * checked on threads of their own. When their queue is full a login is
 * refused at once with 503 and Retry-After. And SIGTERM while clients
 * create tokens and log in must exit 0, with every acknowledged create and
 * login there after a restart, and the last-used time of a token verified
 * just before the stop written.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "harness.h"

#define FLOODERS       4
#define VERIFY_MIN     200  /* verifies measured, at least, alone and under the flood */
#define VERIFY_MIN_MS  1500 /* ... for at least this long */
#define SLOWDOWN_MAX   5    /* times verify's median alone */
#define SLOWDOWN_FLOOR 5.0  /* ms: a bound below this would measure the machine, not us */

#define STORM_CLIENTS 12
#define STORM_EACH    3

#define CLIENTS   4
#define ROUNDS    20
#define STOP_MIN  100 /* ms of load before SIGTERM, at least */
#define STOP_SPAN 400 /* ... plus up to this much */

/* ---- libcurl, for the client threads (the harness's helpers are not for threads) ---- */

struct answer {
    long status;
    bool retry_after_1; /* "Retry-After: 1" */
    struct tsr_h_capture body;
};

static size_t header_line(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (len >= 14 && strncasecmp(p, "Retry-After: 1", 14) == 0 &&
        (len == 14 || p[14] == '\r' || p[14] == '\n')) {
        a->retry_after_1 = true;
    }
    return len;
}

/* One request on c; true with a when an HTTP answer came back. auth and
 * ctype are header lines or NULL; body NULL sends none (with POST as the
 * method all the same when method says so). */
static bool call(CURL *c, const char *method, const char *url, const char *auth, const char *ctype,
                 const char *body, struct answer *a)
{
    struct curl_slist *hl = NULL;
    CURLcode rc;

    memset(a, 0, sizeof(*a));
    hl = curl_slist_append(hl, "Expect:");
    if (auth != NULL) {
        hl = curl_slist_append(hl, auth);
    }
    if (ctype != NULL) {
        hl = curl_slist_append(hl, ctype);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tsr_h_capture_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK) {
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    return true;
}

/* Whether a is the contract's 503: code unavailable and Retry-After: 1. */
static bool is_unavailable(const struct answer *a)
{
    json_t *root = json_loadb(a->body.buf, a->body.len, 0, NULL);
    json_t *err = json_array_get(json_object_get(root, "errors"), 0);
    const char *code = json_string_value(json_object_get(err, "code"));
    bool ok =
        a->status == 503 && a->retry_after_1 && code != NULL && strcmp(code, "unavailable") == 0;

    json_decref(root);
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- verify under a flood of wrong passwords ---- */

struct flooder {
    pthread_t thread;
    const char *url;
    const char *auth; /* "Authorization: Basic ..." with a wrong password */
    atomic_bool *stop;
    atomic_long *logins; /* answered, all flooders */
    char problem[512];
};

static void *flood_main(void *arg)
{
    struct flooder *f = arg;
    CURL *c = curl_easy_init();
    struct answer *a = malloc(sizeof(*a));

    if (c == NULL || a == NULL) {
        snprintf(f->problem, sizeof(f->problem), "out of memory");
        goto out;
    }
    while (!atomic_load(f->stop)) {
        if (!call(c, "POST", f->url, f->auth, NULL, NULL, a)) {
            snprintf(f->problem, sizeof(f->problem), "a wrong-password login got no answer");
            break;
        }
        if (a->status != 401) {
            snprintf(f->problem, sizeof(f->problem), "a wrong-password login: %ld %.300s",
                     a->status, a->body.buf);
            break;
        }
        atomic_fetch_add(f->logins, 1);
    }
out:
    free(a);
    curl_easy_cleanup(c);
    return NULL;
}

/* The median in ms of verifies of secret on one kept-alive connection, at
 * least VERIFY_MIN of them over at least VERIFY_MIN_MS. */
static double verify_median(CURL *c, const char *url, const char *auth)
{
    size_t cap = 4096, n = 0;
    double *ms = malloc(cap * sizeof(*ms));
    double start = now_ms(), median;
    struct answer *a = malloc(sizeof(*a));

    assert_non_null(ms);
    assert_non_null(a);
    while (n < VERIFY_MIN || now_ms() - start < VERIFY_MIN_MS) {
        double t0 = now_ms();

        assert_true(call(c, "GET", url, auth, NULL, NULL, a));
        assert_int_equal(a->status, 204);
        if (n == cap) {
            cap *= 2;
            ms = realloc(ms, cap * sizeof(*ms));
            assert_non_null(ms);
        }
        ms[n++] = now_ms() - t0;
    }
    qsort(ms, n, sizeof(*ms), cmp_double);
    median = ms[n / 2];
    free(ms);
    free(a);
    return median;
}

static void test_verify_not_starved_by_wrong_passwords(void **state)
{
    (void)state;
    static const char *const args[] = {"--login-max-failures", "0", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    char session[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token tok;
    static struct flooder fl[FLOODERS];
    atomic_bool stop = false;
    atomic_long logins = 0;
    const char *verify_url = tsr_h_fmt("%s/v4/auth/verify", srv->base);
    const char *login_url = tsr_h_fmt("%s/v4/tokens", srv->base);
    const char *wrong =
        tsr_h_fmt("Authorization: %s", tsr_h_basic(TSR_H_ADMIN_EMAIL, "not-the-password-at-all"));
    CURL *c = curl_easy_init();
    double alone, flooded, bound;
    long during;

    assert_non_null(c);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(srv, session, "verify under a flood", NULL, &tok);
    const char *auth = tsr_h_fmt("Authorization: Token %s", tok.secret);

    alone = verify_median(c, verify_url, auth);
    for (int i = 0; i < FLOODERS; i++) {
        fl[i].url = login_url;
        fl[i].auth = wrong;
        fl[i].stop = &stop;
        fl[i].logins = &logins;
        if (pthread_create(&fl[i].thread, NULL, flood_main, &fl[i]) != 0) {
            fail_msg("cannot start a flooder");
        }
    }
    /* Until the first refusals are out: the hashing threads are busy. */
    while (atomic_load(&logins) < FLOODERS) {
        tsr_h_sleep_ms(10);
    }
    during = atomic_load(&logins);
    flooded = verify_median(c, verify_url, auth);
    during = atomic_load(&logins) - during;
    atomic_store(&stop, true);
    for (int i = 0; i < FLOODERS; i++) {
        pthread_join(fl[i].thread, NULL);
        if (fl[i].problem[0] != '\0') {
            fail_msg("flooder %d: %s", i, fl[i].problem);
        }
    }
    curl_easy_cleanup(c);
    bound = alone * SLOWDOWN_MAX > SLOWDOWN_FLOOR ? alone * SLOWDOWN_MAX : SLOWDOWN_FLOOR;
    print_message("verify median %.3f ms alone, %.3f ms while %d clients sent %ld wrong "
                  "passwords (bound %.3f ms)\n",
                  alone, flooded, FLOODERS, during, bound);
    /* A flood that never got going would prove nothing: the flooders keep
     * the hashing threads busy, so one answer in the window shows it ran
     * (a loaded machine under ASan hashes one password a second or so). */
    assert_true(during >= 1);
    if (flooded > bound) {
        fail_msg("verify's median went from %.3f ms to %.3f ms under the flood (bound %.3f ms)",
                 alone, flooded, bound);
    }
    tsr_h_stop(srv);
}

/* ---- a full queue ---- */

struct stormer {
    pthread_t thread;
    int no;
    const char *base;
    const char *basic; /* "Authorization: Basic ..." with a wrong password */
    pthread_barrier_t *go;
    long s401, s503;
    char problem[512];
};

static void *storm_main(void *arg)
{
    struct stormer *s = arg;
    CURL *c = curl_easy_init();
    struct answer *a = malloc(sizeof(*a));
    char url[128];

    pthread_barrier_wait(s->go);
    if (c == NULL || a == NULL) {
        snprintf(s->problem, sizeof(s->problem), "out of memory");
        goto out;
    }
    for (int k = 0; k < STORM_EACH; k++) {
        bool console = (s->no + k) % 2 == 1;
        bool ok;

        if (console) {
            snprintf(url, sizeof(url), "%s/v4/console/session", s->base);
            ok =
                call(c, "POST", url, NULL, "Content-Type: application/json",
                     "{\"email\":\"" TSR_H_ADMIN_EMAIL "\",\"password\":\"wrong-wrong-wrong\"}", a);
        } else {
            snprintf(url, sizeof(url), "%s/v4/tokens", s->base);
            ok = call(c, "POST", url, s->basic, NULL, NULL, a);
        }
        if (!ok) {
            snprintf(s->problem, sizeof(s->problem), "a login got no answer");
            break;
        }
        if (a->status == 401) {
            s->s401++;
        } else if (is_unavailable(a)) {
            s->s503++;
        } else {
            snprintf(s->problem, sizeof(s->problem), "%s login: %ld%s %.300s",
                     console ? "console" : "Basic", a->status,
                     a->retry_after_1 ? " (Retry-After: 1)" : "", a->body.buf);
            break;
        }
    }
out:
    free(a);
    curl_easy_cleanup(c);
    return NULL;
}

static void test_full_queue_is_503_with_retry_after(void **state)
{
    (void)state;
    static const char *const args[] = {
        "--login-max-failures", "0", "--hash-threads", "1", "--hash-queue", "1", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    static struct stormer st[STORM_CLIENTS];
    const char *basic =
        tsr_h_fmt("Authorization: %s", tsr_h_basic(TSR_H_ADMIN_EMAIL, "wrong-wrong-wrong"));
    pthread_barrier_t go;
    long s401 = 0, s503 = 0;
    char session[TSR_H_SECRET_LEN + 1];

    pthread_barrier_init(&go, NULL, STORM_CLIENTS);
    for (int i = 0; i < STORM_CLIENTS; i++) {
        st[i].no = i;
        st[i].base = srv->base;
        st[i].basic = basic;
        st[i].go = &go;
        if (pthread_create(&st[i].thread, NULL, storm_main, &st[i]) != 0) {
            fail_msg("cannot start a client");
        }
    }
    for (int i = 0; i < STORM_CLIENTS; i++) {
        pthread_join(st[i].thread, NULL);
        if (st[i].problem[0] != '\0') {
            fail_msg("client %d: %s", i, st[i].problem);
        }
        s401 += st[i].s401;
        s503 += st[i].s503;
    }
    pthread_barrier_destroy(&go);
    print_message("%d logins at once, one thread and one place in the queue: %ld refused 401, "
                  "%ld turned away 503\n",
                  STORM_CLIENTS * STORM_EACH, s401, s503);
    assert_int_equal(s401 + s503, STORM_CLIENTS * STORM_EACH);
    assert_true(s503 >= 1);
    assert_true(s401 >= 2);
    /* The queue drains: the right password gets in. */
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_stop(srv);
}

/* ---- SIGTERM under load ---- */

struct made {
    char id[TSR_H_UUID_LEN + 1];
    char secret[TSR_H_SECRET_LEN + 1];
    bool is_session; /* a login's session, not a personal token */
};

struct client {
    int no;
    pthread_t thread;
    const char *base;
    const char *auth;    /* "Authorization: Token tss_..." */
    const char *basic;   /* "Authorization: Basic ..." with the right password */
    const char *expires; /* expires_at for every create */
    atomic_bool *stopping;
    /* Every create and login acknowledged, all rounds. */
    struct made *made;
    size_t n, cap;
    size_t recorded;         /* made[0..recorded) handed to the secret scan */
    size_t checked;          /* made[0..checked) found after a restart */
    long acked, turned_away; /* this round */
    char problem[512];
};

static bool take_made(struct client *cl, const struct answer *a, bool is_session)
{
    json_t *root = json_loadb(a->body.buf, a->body.len, 0, NULL);
    json_t *data = is_session ? root : json_object_get(root, "data");
    const char *key = json_string_value(json_object_get(data, is_session ? "token" : "key"));
    const char *id = is_session ? "" : json_string_value(json_object_get(data, "id"));
    bool ok = key != NULL && id != NULL && strlen(key) == TSR_H_SECRET_LEN;

    if (ok && cl->n == cl->cap) {
        size_t cap = cl->cap ? cl->cap * 2 : 256;
        struct made *m = realloc(cl->made, cap * sizeof(*m));

        ok = m != NULL;
        if (ok) {
            cl->made = m;
            cl->cap = cap;
        }
    }
    if (ok) {
        struct made *m = &cl->made[cl->n++];

        snprintf(m->id, sizeof(m->id), "%s", id);
        snprintf(m->secret, sizeof(m->secret), "%s", key);
        m->is_session = is_session;
    }
    json_decref(root);
    return ok;
}

/* Creates tokens (and, for client 0, logs in) until an answer fails to
 * come or the server turns it away, both of which are fine only once the
 * stop has begun. */
static void *client_main(void *arg)
{
    struct client *cl = arg;
    CURL *c = curl_easy_init();
    struct answer *a = malloc(sizeof(*a));
    char url[256], body[128];
    unsigned k = 0;

    if (c == NULL || a == NULL) {
        snprintf(cl->problem, sizeof(cl->problem), "client %d: out of memory", cl->no);
        goto out;
    }
    for (;; k++) {
        bool login = cl->no == 0 && k % 2 == 1;

        if (login) {
            snprintf(url, sizeof(url), "%s/v4/tokens", cl->base);
            body[0] = '\0';
        } else {
            snprintf(url, sizeof(url), "%s/v4/iam/personal_tokens", cl->base);
            snprintf(body, sizeof(body), "{\"name\":\"stop %d.%u\",\"expires_at\":\"%s\"}", cl->no,
                     k, cl->expires);
        }
        if (!call(c, "POST", url, login ? cl->basic : cl->auth,
                  login ? NULL : "Content-Type: application/json", body, a)) {
            if (!atomic_load(cl->stopping)) {
                snprintf(cl->problem, sizeof(cl->problem), "client %d: no answer before the stop",
                         cl->no);
            }
            break;
        }
        if (a->status == 201 && take_made(cl, a, login)) {
            cl->acked++;
            continue;
        }
        if (atomic_load(cl->stopping) && is_unavailable(a)) {
            cl->turned_away++;
            break;
        }
        snprintf(cl->problem, sizeof(cl->problem), "client %d: %s: %ld %.300s", cl->no,
                 login ? "login" : "create", a->status, a->body.buf);
        break;
    }
out:
    free(a);
    curl_easy_cleanup(c);
    return NULL;
}

/* Whether GET /v4/iam/personal_tokens/{id} shows a last_used_at. */
static bool last_used_set(struct tsr_h_server *srv, const char *session, const char *id)
{
    struct tsr_h_resp *r = tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens/%s", id), session);
    json_t *data;

    tsr_h_assert_status(r, 200);
    data = tsr_h_jobj(r->json, "data");
    return json_is_string(json_object_get(data, "last_used_at"));
}

static void test_sigterm_under_load_loses_nothing(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-tokens", "0", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    static struct client clients[CLIENTS];
    char session[TSR_H_SECRET_LEN + 1];
    const char *basic =
        tsr_h_fmt("Authorization: %s", tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD));
    const char *expires = tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY);
    unsigned seed = (unsigned)tsr_h_mono_ms();
    atomic_bool stopping;
    long total_acked = 0, total_away = 0;

    print_message("seed %u\n", seed);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    for (int round = 1; round <= ROUNDS; round++) {
        int after = STOP_MIN + (int)(rand_r(&seed) % (STOP_SPAN + 1));
        struct tsr_h_token used;
        long acked = 0, away = 0, checked = 0;
        const char *auth = tsr_h_fmt("Authorization: Token %s", session);

        tsr_h_create_token(srv, session, tsr_h_fmt("used before stop %d", round), NULL, &used);
        assert_false(last_used_set(srv, session, used.id));
        atomic_store(&stopping, false);
        for (int i = 0; i < CLIENTS; i++) {
            struct client *cl = &clients[i];

            cl->no = i;
            cl->base = srv->base;
            cl->auth = auth;
            cl->basic = basic;
            cl->expires = expires;
            cl->stopping = &stopping;
            cl->acked = cl->turned_away = 0;
            if (pthread_create(&cl->thread, NULL, client_main, cl) != 0) {
                fail_msg("cannot start a client thread");
            }
        }
        tsr_h_sleep_ms(after);
        /* Used a moment before the stop: far sooner than the writer's
         * periodic flush, so only the flush at the stop can keep it. */
        assert_true(tsr_h_verify(srv, used.secret));
        atomic_store(&stopping, true);
        tsr_h_stop(srv); /* fails unless tesserad exits 0 */
        for (int i = 0; i < CLIENTS; i++) {
            pthread_join(clients[i].thread, NULL);
            if (clients[i].problem[0] != '\0') {
                fail_msg("round %d: %s", round, clients[i].problem);
            }
            acked += clients[i].acked;
            away += clients[i].turned_away;
        }
        for (int i = 0; i < CLIENTS; i++) {
            for (; clients[i].recorded < clients[i].n; clients[i].recorded++) {
                tsr_h_record_secret(clients[i].made[clients[i].recorded].secret);
            }
        }
        tsr_h_scan_secrets(srv);
        tsr_h_resume(srv);
        if (!last_used_set(srv, session, used.id)) {
            fail_msg("round %d: the last use of %s, a moment before SIGTERM, was lost", round,
                     used.id);
        }
        /* Every acknowledgement of this round holds. */
        for (int i = 0; i < CLIENTS; i++) {
            for (; clients[i].checked < clients[i].n; clients[i].checked++) {
                const struct made *m = &clients[i].made[clients[i].checked];

                if (m->is_session) {
                    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/users/me", m->secret);

                    if (r->status != 200) {
                        fail_msg("round %d: an acknowledged login (client %d) was lost: %ld", round,
                                 i, r->status);
                    }
                } else if (!tsr_h_verify(srv, m->secret)) {
                    fail_msg("round %d: the acknowledged create of %s (client %d) was lost", round,
                             m->id, i);
                }
                checked++;
            }
        }
        print_message("round %2d: SIGTERM after %3d ms: %3ld acknowledged, %ld turned away; "
                      "%ld checked\n",
                      round, after, acked, away, checked);
        total_acked += acked;
        total_away += away;
    }
    print_message("%d stops under load: %ld acknowledged, none lost; %ld turned away 503\n", ROUNDS,
                  total_acked, total_away);
    /* A load that never got going would prove nothing. */
    assert_true(total_acked >= ROUNDS);
    for (int i = 0; i < CLIENTS; i++) {
        free(clients[i].made);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_verify_not_starved_by_wrong_passwords),
    cmocka_unit_test(test_full_queue_is_503_with_retry_after),
    cmocka_unit_test(test_sigterm_under_load_loses_nothing),
};

int main(void)
{
    return TSR_H_RUN(tests, NULL, NULL);
}
