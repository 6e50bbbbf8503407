/* bench_propagation.c - how long a revocation on one node takes to reach every other
 *
 *   bench_propagation --email E --password P --rounds N URL URL...
 *
 * Logs in on the first node; then, N times: creates a token on one node
 * (each in turn), checks that every node accepts it, deletes it, and from
 * the DELETE's 204 polls every node's verify as fast as one connection each
 * allows until each answers 401. Prints the time to the last 401: p50, p99
 * and max in milliseconds, and exits 1 when a node still accepts the token
 * after 5 s. Talks to 127.0.0.1 only (the URLs bench/pg gives it).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define MAX_NODES  16
#define GIVE_UP_MS 5000

struct body {
    char buf[65536];
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t len = size * n;

    if (b->len + len >= sizeof(b->buf))
        return 0;
    memcpy(b->buf + b->len, p, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Sends method url with "Authorization: auth" (may be NULL) and a JSON body
 * (may be NULL) on the node's connection; returns the status, the body in b. */
static long send_req(CURL *c, const char *method, const char *url, const char *auth,
                     const char *json, struct body *b)
{
    struct curl_slist *h = NULL;
    char line[256];
    long status = 0;

    b->len = 0;
    b->buf[0] = '\0';
    if (auth != NULL) {
        snprintf(line, sizeof(line), "Authorization: %s", auth);
        h = curl_slist_append(h, line);
    }
    if (json != NULL)
        h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPGET, json == NULL && strcmp(method, "GET") == 0 ? 1L : 0L);
    if (json == NULL && strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

static long verify(CURL *c, const char *base, const char *secret, struct body *b)
{
    char url[256], auth[128];

    snprintf(url, sizeof(url), "%s/v4/auth/verify", base);
    snprintf(auth, sizeof(auth), "Token %s", secret);
    return send_req(c, "GET", url, auth, NULL, b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"email", required_argument, NULL, 'e'},
                                             {"password", required_argument, NULL, 'p'},
                                             {"rounds", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    const char *email = NULL, *password = NULL;
    long rounds = 200;
    CURL *conn[MAX_NODES];
    struct body b;
    char url[256], session[128], *userpwd;
    int nodes, opt;
    double *took;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'e')
            email = optarg;
        else if (opt == 'p')
            password = optarg;
        else if (opt == 'r')
            rounds = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    nodes = argc - optind;
    if (email == NULL || password == NULL || rounds <= 0 || nodes < 2 || nodes > MAX_NODES) {
        fprintf(stderr,
                "usage: bench_propagation --email E --password P [--rounds N] URL URL...\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < nodes; i++) {
        conn[i] = curl_easy_init();
        curl_easy_setopt(conn[i], CURLOPT_TCP_NODELAY, 1L);
    }
    took = calloc((size_t)rounds, sizeof(*took));

    /* A session on the first node serves on every node (one database). */
    snprintf(url, sizeof(url), "%s/v4/tokens", argv[optind]);
    size_t upl = strlen(email) + strlen(password) + 2;
    userpwd = malloc(upl);
    if (userpwd == NULL || took == NULL)
        return 1;
    memcpy(userpwd, email, strlen(email));
    userpwd[strlen(email)] = ':';
    memcpy(userpwd + strlen(email) + 1, password, strlen(password) + 1);
    curl_easy_setopt(conn[0], CURLOPT_USERPWD, userpwd);
    long st = send_req(conn[0], "POST", url, NULL, "{}", &b);
    curl_easy_setopt(conn[0], CURLOPT_USERPWD, NULL);
    json_t *j = json_loads(b.buf, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (st != 201 || tok == NULL) {
        fprintf(stderr, "bench_propagation: login answered %ld: %s\n", st, b.buf);
        return 1;
    }
    snprintf(session, sizeof(session), "Token %s", tok);
    json_decref(j);

    for (long r = 0; r < rounds; r++) {
        int from = (int)(r % nodes);
        const char *base = argv[optind + from];
        char secret[64], id[64], body[160];
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        time_t exp = ts.tv_sec + 86400;
        struct tm tm;
        gmtime_r(&exp, &tm);
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(body, sizeof(body), "{\"name\":\"propagation %ld\",\"expires_at\":\"%s\"}", r,
                 when);
        snprintf(url, sizeof(url), "%s/v4/iam/personal_tokens", base);
        st = send_req(conn[from], "POST", url, session, body, &b);
        j = json_loads(b.buf, 0, NULL);
        json_t *data = json_object_get(j, "data");
        if (st != 201 || !json_is_string(json_object_get(data, "key"))) {
            fprintf(stderr, "bench_propagation: create answered %ld: %s\n", st, b.buf);
            return 1;
        }
        snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(data, "key")));
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(data, "id")));
        json_decref(j);
        /* In every index before it is revoked: a node that misses its index
         * asks the database, but only so often a second, so wait for the
         * news when that budget is spent. */
        for (int n = 0; n < nodes; n++) {
            double until = now_ms() + 1000;
            long v;
            while ((v = verify(conn[n], argv[optind + n], secret, &b)) == 401 && now_ms() < until)
                ;
            if (v != 204) {
                fprintf(stderr, "bench_propagation: node %d refuses a new token (round %ld)\n", n,
                        r);
                return 1;
            }
        }
        snprintf(url, sizeof(url), "%s/v4/iam/personal_tokens/%s", base, id);
        st = send_req(conn[from], "DELETE", url, session, NULL, &b);
        double t0 = now_ms();
        if (st != 204) {
            fprintf(stderr, "bench_propagation: delete answered %ld: %s\n", st, b.buf);
            return 1;
        }
        bool refused[MAX_NODES] = {false};
        double at[MAX_NODES] = {0};
        int left = nodes;
        double last = t0;
        while (left > 0) {
            for (int n = 0; n < nodes; n++) {
                if (refused[n])
                    continue;
                long v = verify(conn[n], argv[optind + n], secret, &b);
                if (v == 401) {
                    refused[n] = true;
                    left--;
                    last = now_ms();
                    at[n] = last - t0;
                } else if (v != 204) {
                    fprintf(stderr, "bench_propagation: verify answered %ld\n", v);
                    return 1;
                }
            }
            if (left > 0 && now_ms() - t0 > GIVE_UP_MS) {
                fprintf(stderr,
                        "bench_propagation: a node still accepts a token revoked %.0f ms "
                        "ago\n",
                        now_ms() - t0);
                return 1;
            }
        }
        took[r] = last - t0;
        if (getenv("BENCH_VERBOSE") != NULL && took[r] > 20) {
            fprintf(stderr, "round %ld from node %d:", r, from);
            for (int n = 0; n < nodes; n++)
                fprintf(stderr, " node %d %.1f ms", n, at[n]);
            fprintf(stderr, "\n");
        }
    }
    qsort(took, (size_t)rounds, sizeof(*took), cmp_double);
    printf("propagation of %ld revocations to %d nodes: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
           "max %.2f ms\n",
           rounds, nodes, took[rounds / 2], took[(rounds * 9) / 10], took[(rounds * 99) / 100],
           took[rounds - 1]);
    for (int i = 0; i < nodes; i++)
        curl_easy_cleanup(conn[i]);
    free(took);
    free(userpwd);
    curl_global_cleanup();
    return 0;
}
