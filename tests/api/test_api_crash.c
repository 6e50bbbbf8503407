/* test_api_crash.c - kill -9 under a load of creates and deletes: nothing acknowledged is lost
 *
 * design.md: "A write is acknowledged only after it is durable ... A kill -9
 * at any moment loses nothing acknowledged." CLIENTS threads, each with a
 * libcurl handle of its own, create and delete personal tokens as fast as
 * the server answers and note every answer that acknowledged something (a
 * 201 with its secret, a 204 to a delete). At a random moment the server
 * gets SIGKILL; it starts again on the same database, and then every
 * acknowledged create that no acknowledged delete followed must verify, and
 * every acknowledged delete must be refused. A request that was in flight
 * at the kill may have gone either way: its token is looked at once, after
 * the restart, and from then on must keep the state it was found in.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "harness.h"

#define CLIENTS   4
#define ROUNDS    20
#define KILL_MIN  100 /* ms of load before the kill, at least */
#define KILL_SPAN 500 /* ... plus up to this much */

enum tok_state {
    TOK_LIVE,    /* acknowledged created, not acknowledged deleted */
    TOK_DELETED, /* acknowledged deleted */
    TOK_UNKNOWN, /* a delete was in flight at the kill */
};

struct tok {
    char id[TSR_H_UUID_LEN + 1];
    char secret[TSR_H_SECRET_LEN + 1];
    enum tok_state state;
    bool recorded; /* handed to the harness's secret scan */
};

struct client {
    int no;
    pthread_t thread;
    unsigned seed;
    /* Set by the main thread before each round. */
    const char *base;
    const char *auth;    /* "Authorization: Token tss_..." */
    const char *expires; /* expires_at for every create */
    /* Every token this client created, acknowledged; live[] indexes those
     * still TOK_LIVE, for picking one to delete. */
    struct tok *toks;
    size_t n, cap;
    size_t *live;
    size_t nlive, live_cap;
    /* This round. */
    long creates, deletes, in_flight;
    char problem[512]; /* set when something broke the contract */
};

static struct tsr_h_server *srv;
static char session[TSR_H_SECRET_LEN + 1];
static atomic_bool killing;

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-tokens", "0", NULL};
    struct tsr_h_opts o = {.args = args};
    srv = tsr_h_start(&o);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    return 0;
}

/* One request; true with *status when an HTTP answer came back. */
static bool call(CURL *c, const char *method, const char *url, const char *auth, const char *body,
                 long *status, struct tsr_h_capture *a)
{
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, auth);
    hl = curl_slist_append(hl, "Expect:");
    if (body != NULL) {
        hl = curl_slist_append(hl, "Content-Type: application/json");
    }
    a->len = 0;
    a->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tsr_h_capture_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK) {
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return true;
}

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap) {
        return true;
    }
    size_t n = *cap ? *cap * 2 : 256;
    void *np = realloc(*p, n * size);
    if (np == NULL) {
        return false;
    }
    *p = np;
    *cap = n;
    return true;
}

/* A 201's id and key into t; false when the body is not the contract's. */
static bool parse_created(const struct tsr_h_capture *a, struct tok *t)
{
    json_t *root = json_loadb(a->buf, a->len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    const char *id = json_string_value(json_object_get(data, "id"));
    const char *key = json_string_value(json_object_get(data, "key"));
    bool ok = id != NULL && key != NULL && strlen(id) == TSR_H_UUID_LEN &&
              strlen(key) == TSR_H_SECRET_LEN;
    if (ok) {
        memcpy(t->id, id, sizeof(t->id));
        memcpy(t->secret, key, sizeof(t->secret));
        t->state = TOK_LIVE;
        t->recorded = false;
    }
    json_decref(root);
    return ok;
}

/* Notes a request that got no answer: fine once the kill has begun, a
 * broken contract before. */
static void no_answer(struct client *cl, const char *what)
{
    cl->in_flight++;
    if (!atomic_load(&killing)) {
        snprintf(cl->problem, sizeof(cl->problem), "client %d: %s got no answer before the kill",
                 cl->no, what);
    }
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    CURL *c = curl_easy_init();
    struct tsr_h_capture *a = malloc(sizeof(*a));
    char url[256], body[256];
    unsigned k = 0;

    if (c == NULL || a == NULL) {
        snprintf(cl->problem, sizeof(cl->problem), "client %d: out of memory", cl->no);
        goto out;
    }
    while (cl->problem[0] == '\0') {
        long status = 0;
        /* Delete half the time when there is something to delete. */
        if (cl->nlive > 0 && rand_r(&cl->seed) % 2 == 0) {
            size_t li = (size_t)rand_r(&cl->seed) % cl->nlive;
            struct tok *t = &cl->toks[cl->live[li]];
            snprintf(url, sizeof(url), "%s/v4/iam/personal_tokens/%s", cl->base, t->id);
            /* Out of the live list now: whatever the answer, it is no
             * longer a token that must verify. */
            cl->live[li] = cl->live[--cl->nlive];
            if (!call(c, "DELETE", url, cl->auth, NULL, &status, a)) {
                t->state = TOK_UNKNOWN;
                no_answer(cl, "a delete");
                break;
            }
            if (status != 204) {
                snprintf(cl->problem, sizeof(cl->problem), "client %d: DELETE %s: %ld %.300s",
                         cl->no, t->id, status, a->buf);
                break;
            }
            t->state = TOK_DELETED;
            cl->deletes++;
            continue;
        }
        snprintf(url, sizeof(url), "%s/v4/iam/personal_tokens", cl->base);
        snprintf(body, sizeof(body), "{\"name\":\"crash %d.%u\",\"expires_at\":\"%s\"}", cl->no,
                 k++, cl->expires);
        if (!call(c, "POST", url, cl->auth, body, &status, a)) {
            no_answer(cl, "a create");
            break;
        }
        if (status != 201 || !grow((void **)&cl->toks, &cl->cap, cl->n + 1, sizeof(*cl->toks)) ||
            !grow((void **)&cl->live, &cl->live_cap, cl->nlive + 1, sizeof(*cl->live)) ||
            !parse_created(a, &cl->toks[cl->n])) {
            snprintf(cl->problem, sizeof(cl->problem), "client %d: POST: %ld %.300s", cl->no,
                     status, a->buf);
            break;
        }
        cl->live[cl->nlive++] = cl->n++;
        cl->creates++;
    }
out:
    free(a);
    curl_easy_cleanup(c);
    return NULL;
}

/* After a restart: every token in the state it was acknowledged in; a
 * token whose delete was in flight is looked at and keeps what it shows.
 * Adds to *live and *deleted what was checked. */
static void check_tokens(struct client *cl, long *live, long *deleted, long *settled)
{
    size_t nlive = 0;
    for (size_t i = 0; i < cl->n; i++) {
        struct tok *t = &cl->toks[i];
        bool ok = tsr_h_verify(srv, t->secret);
        if (!grow((void **)&cl->live, &cl->live_cap, nlive + 1, sizeof(*cl->live))) {
            fail_msg("out of memory");
        }
        switch (t->state) {
        case TOK_LIVE:
            if (!ok) {
                fail_msg("acknowledged create of %s (client %d) lost after kill -9", t->id, cl->no);
            }
            cl->live[nlive++] = i;
            (*live)++;
            break;
        case TOK_DELETED:
            if (ok) {
                fail_msg("acknowledged delete of %s (client %d) undone by kill -9", t->id, cl->no);
            }
            (*deleted)++;
            break;
        case TOK_UNKNOWN:
            t->state = ok ? TOK_LIVE : TOK_DELETED;
            if (ok) {
                cl->live[nlive++] = i;
            }
            (*settled)++;
            break;
        }
    }
    cl->nlive = nlive;
}

static void test_kill9_loses_nothing_acknowledged(void **state)
{
    (void)state;
    static struct client clients[CLIENTS];
    const char *auth = tsr_h_fmt("Authorization: Token %s", session);
    const char *expires = tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY);
    unsigned seed = (unsigned)tsr_h_mono_ms();
    long total_creates = 0, total_deletes = 0, total_in_flight = 0;
    int64_t t0 = tsr_h_mono_ms();

    print_message("seed %u\n", seed);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].no = i;
        clients[i].seed = seed + (unsigned)i * 7919u;
    }
    for (int round = 1; round <= ROUNDS; round++) {
        int after = KILL_MIN + (int)(rand_r(&seed) % (KILL_SPAN + 1));
        atomic_store(&killing, false);
        for (int i = 0; i < CLIENTS; i++) {
            struct client *cl = &clients[i];
            cl->base = srv->base;
            cl->auth = auth;
            cl->expires = expires;
            cl->creates = cl->deletes = cl->in_flight = 0;
            if (pthread_create(&cl->thread, NULL, client_main, cl) != 0) {
                fail_msg("cannot start a client thread");
            }
        }
        tsr_h_sleep_ms(after);
        atomic_store(&killing, true);
        tsr_h_kill(srv);
        long creates = 0, deletes = 0, in_flight = 0;
        for (int i = 0; i < CLIENTS; i++) {
            pthread_join(clients[i].thread, NULL);
            if (clients[i].problem[0] != '\0') {
                fail_msg("%s", clients[i].problem);
            }
            creates += clients[i].creates;
            deletes += clients[i].deletes;
            in_flight += clients[i].in_flight;
        }
        /* The scan at every stop and at the end looks for each of them. */
        for (int i = 0; i < CLIENTS; i++) {
            for (size_t k = 0; k < clients[i].n; k++) {
                if (!clients[i].toks[k].recorded) {
                    tsr_h_record_secret(clients[i].toks[k].secret);
                    clients[i].toks[k].recorded = true;
                }
            }
        }
        tsr_h_scan_secrets(srv);
        tsr_h_resume(srv);
        long live = 0, deleted = 0, settled = 0;
        for (int i = 0; i < CLIENTS; i++) {
            check_tokens(&clients[i], &live, &deleted, &settled);
        }
        print_message("round %2d: killed after %3d ms: %4ld creates and %4ld deletes acknowledged, "
                      "%ld in flight; %ld live and %ld deleted hold, %ld in-flight deletes "
                      "settled\n",
                      round, after, creates, deletes, in_flight, live, deleted, settled);
        total_creates += creates;
        total_deletes += deletes;
        total_in_flight += in_flight;
    }
    print_message("%d kills in %lld ms: %ld creates and %ld deletes acknowledged, none lost; "
                  "%ld requests in flight at a kill\n",
                  ROUNDS, (long long)(tsr_h_mono_ms() - t0), total_creates, total_deletes,
                  total_in_flight);
    /* A load that never got going would prove nothing. */
    assert_true(total_creates >= ROUNDS);
    assert_true(total_deletes >= ROUNDS);
    assert_true(total_in_flight >= 1);
    for (int i = 0; i < CLIENTS; i++) {
        free(clients[i].toks);
        free(clients[i].live);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kill9_loses_nothing_acknowledged),
};

int main(void)
{
    return TSR_H_RUN(tests, setup, NULL);
}
