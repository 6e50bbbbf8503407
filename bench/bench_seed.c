/* bench_seed.c - fill a database with personal tokens for the benchmarks
 *
 * bench_seed --db PATH --email EMAIL --tokens N --secrets FILE [--keep K]
 *            [--unknown FILE] [--batch B] [--scopes 'A B ...']
 *            [--allowed-ips 'BLOCK BLOCK ...']
 *
 * Inserts N personal tokens for the live user EMAIL (made beforehand with
 * `tesserad user add`) through the store layer, B at a time in one
 * transaction each, expiring in 300 days; writes K of their secrets, spread
 * evenly over the N, to FILE, one a line, for wrk. --unknown FILE writes K
 * more secrets that are well formed (right prefix, length and checksum) but
 * in no database. --scopes gives every token those scopes (space-separated;
 * default global), adding as operator scopes those not Tessera's own nor yet
 * defined; --allowed-ips gives every token that address list (blocks in the
 * order given). A benchmark tool, not a test.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/cidr.h"
#include "core/scope.h"
#include "core/secret.h"
#include "core/uuid.h"
#include "store/store.h"

#define DAY_SECONDS   86400
#define EXPIRY_DAYS   300
#define DEFAULT_KEEP  10000
#define DEFAULT_BATCH 10000
#define MAX_TOKENS    100000000L
#define MAX_BATCH     100000L

struct options {
    const char *db;
    const char *email;
    const char *secrets;
    const char *unknown;
    const char *scopes_arg;
    const char *ips_arg;
    /* As the store keeps them: sorted names; canonical blocks. */
    char scopes[TSR_SCOPES_TEXT_MAX + 1];
    char allowed_ips[TSR_IPS_TEXT_MAX + 1];
    long tokens;
    long keep;
    long batch;
};

static void usage(void)
{
    fprintf(stderr, "usage: bench_seed --db PATH --email EMAIL --tokens N --secrets FILE "
                    "[--keep K] [--unknown FILE] [--batch B] [--scopes 'A B ...'] "
                    "[--allowed-ips 'BLOCK ...']\n");
}

static bool number(const char *flag, const char *arg, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "bench_seed: %s takes a number from %ld to %ld, not '%s'\n", flag, min, max,
                arg);
        return false;
    }
    *out = v;
    return true;
}

/* Splits s at spaces into at most max words (*n of them). */
static bool words(const char *s, const char *flag, size_t max, const char **w, size_t *lens,
                  size_t *n)
{
    *n = 0;
    while (*s) {
        size_t len = strcspn(s, " ");

        if (len > 0) {
            if (*n == max) {
                fprintf(stderr, "bench_seed: %s takes at most %zu entries\n", flag, max);
                return false;
            }
            w[*n] = s;
            lens[(*n)++] = len;
        }
        s += len;
        s += strspn(s, " ");
    }
    return true;
}

/* The names of arg, checked and sorted, as the store keeps them. */
static bool scopes_text(const char *arg, char *out, size_t size)
{
    const char *names[TSR_SCOPES_MAX];
    size_t lens[TSR_SCOPES_MAX], order[TSR_SCOPES_MAX], n;

    if (!words(arg, "--scopes", TSR_SCOPES_MAX, names, lens, &n))
        return false;
    if (n == 0) {
        fprintf(stderr, "bench_seed: --scopes names no scope\n");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!tsr_scope_name_valid(names[i], lens[i])) {
            fprintf(stderr, "bench_seed: '%.*s' is not a scope name\n", (int)lens[i], names[i]);
            return false;
        }
    }
    if (tsr_scopes_join(names, lens, n, order, out, size) == (size_t)-1) {
        fprintf(stderr, "bench_seed: --scopes is too long\n");
        return false;
    }
    return true;
}

/* The blocks of arg in canonical text, in the order given. */
static bool ips_text(const char *arg, char *out, size_t size)
{
    const char *blocks[TSR_ALLOWED_IPS_MAX];
    size_t lens[TSR_ALLOWED_IPS_MAX], n, used = 0;

    if (!words(arg, "--allowed-ips", TSR_ALLOWED_IPS_MAX, blocks, lens, &n))
        return false;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct tsr_cidr c;
        char text[TSR_CIDR_TEXT_MAX + 1];
        size_t len;

        if (tsr_cidr_parse(blocks[i], lens[i], &c) != TSR_CIDR_OK) {
            fprintf(stderr, "bench_seed: '%.*s' is not an address block\n", (int)lens[i],
                    blocks[i]);
            return false;
        }
        len = tsr_cidr_text(&c, text);
        if (used + (i > 0) + len + 1 > size)
            return false;
        if (i > 0)
            out[used++] = ' ';
        memcpy(out + used, text, len + 1);
        used += len;
    }
    return true;
}

/* Defines each name of the list that is neither Tessera's own nor there yet. */
static bool define_scopes(struct tsr_store *store, const char *list, int64_t now)
{
    while (*list) {
        size_t len = strcspn(list, " ");
        struct tsr_scope_row row;
        enum tsr_err rc;

        if (!tsr_scope_reserved(list, len)) {
            memset(&row, 0, sizeof(row));
            memcpy(row.name, list, len);
            snprintf(row.description, sizeof(row.description), "A scope for the benchmarks");
            row.created = now;
            rc = tsr_store_scope_insert(store, &row);
            if (rc != TSR_OK && rc != TSR_ERR_EXISTS) {
                fprintf(stderr, "bench_seed: cannot add the scope %s: %s\n", row.name,
                        tsr_strerror(rc));
                return false;
            }
        }
        list += len;
        list += strspn(list, " ");
    }
    return true;
}

static bool parse(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},          {"email", required_argument, NULL, 'e'},
        {"tokens", required_argument, NULL, 'n'},      {"secrets", required_argument, NULL, 's'},
        {"keep", required_argument, NULL, 'k'},        {"unknown", required_argument, NULL, 'u'},
        {"batch", required_argument, NULL, 'b'},       {"scopes", required_argument, NULL, 'c'},
        {"allowed-ips", required_argument, NULL, 'i'}, {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->tokens = -1;
    o->keep = DEFAULT_KEEP;
    o->batch = DEFAULT_BATCH;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;

        switch (c) {
        case 'd':
            o->db = optarg;
            break;
        case 'e':
            o->email = optarg;
            break;
        case 's':
            o->secrets = optarg;
            break;
        case 'u':
            o->unknown = optarg;
            break;
        case 'n':
            ok = number("--tokens", optarg, 0, MAX_TOKENS, &o->tokens);
            break;
        case 'k':
            ok = number("--keep", optarg, 0, MAX_TOKENS, &o->keep);
            break;
        case 'b':
            ok = number("--batch", optarg, 1, MAX_BATCH, &o->batch);
            break;
        case 'c':
            o->scopes_arg = optarg;
            break;
        case 'i':
            o->ips_arg = optarg;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok)
            return false;
    }
    if (optind < argc || !o->db || !o->email || !o->secrets || o->tokens < 0) {
        usage();
        return false;
    }
    return scopes_text(o->scopes_arg ? o->scopes_arg : TSR_SCOPE_GLOBAL, o->scopes,
                       sizeof(o->scopes)) &&
           ips_text(o->ips_arg ? o->ips_arg : "", o->allowed_ips, sizeof(o->allowed_ips));
}

static double seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_token(const struct options *o, const char *user_id, int64_t now, long i,
                       struct tsr_token_row *t, char secret[TSR_SECRET_LEN + 1])
{
    memset(t, 0, sizeof(*t));
    tsr_uuid7_new(t->id);
    memcpy(t->user_id, user_id, sizeof(t->user_id));
    t->kind = TSR_TOKEN_PERSONAL;
    snprintf(t->name, sizeof(t->name), "bench %ld", i);
    tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
    tsr_secret_hash(secret, TSR_SECRET_LEN, t->secret_hash);
    tsr_secret_hint(secret, t->key_hint);
    t->created = now;
    t->expires_at = now + (int64_t)EXPIRY_DAYS * DAY_SECONDS;
    memcpy(t->scopes, o->scopes, sizeof(t->scopes));
    memcpy(t->allowed_ips, o->allowed_ips, sizeof(t->allowed_ips));
}

/* Inserts o->tokens tokens in batches and writes every stride-th secret
 * (K of them at most) to out. */
static bool seed(struct tsr_store *store, const char *user_id, const struct options *o, FILE *out)
{
    struct tsr_token_row *rows = calloc((size_t)o->batch, sizeof(*rows));
    long stride = o->keep > 0 && o->tokens > o->keep ? o->tokens / o->keep : 1;
    long kept = 0, done = 0;
    int64_t now = (int64_t)time(NULL);
    char secret[TSR_SECRET_LEN + 1];

    if (!rows) {
        fprintf(stderr, "bench_seed: out of memory\n");
        return false;
    }
    while (done < o->tokens) {
        long n = o->tokens - done < o->batch ? o->tokens - done : o->batch;
        enum tsr_err rc;

        for (long j = 0; j < n; j++) {
            long i = done + j;

            make_token(o, user_id, now, i, &rows[j], secret);
            if (kept < o->keep && i % stride == 0) {
                fprintf(out, "%s\n", secret);
                kept++;
            }
        }
        rc = tsr_store_token_insert_many(store, rows, (size_t)n);
        if (rc != TSR_OK) {
            fprintf(stderr, "bench_seed: inserting tokens %ld..%ld: %s\n", done, done + n - 1,
                    tsr_strerror(rc));
            free(rows);
            return false;
        }
        done += n;
    }
    sodium_memzero(secret, sizeof(secret));
    free(rows);
    return true;
}

static bool write_unknown(const char *path, long k)
{
    FILE *f = fopen(path, "w");
    char secret[TSR_SECRET_LEN + 1];

    if (!f) {
        fprintf(stderr, "bench_seed: cannot write '%s': %s\n", path, strerror(errno));
        return false;
    }
    for (long i = 0; i < k; i++) {
        tsr_secret_generate(TSR_SECRET_PERSONAL, secret);
        fprintf(f, "%s\n", secret);
    }
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct tsr_store *store = NULL;
    struct tsr_user_row user;
    char msg[512] = "";
    FILE *out;
    double t0;
    bool ok;
    enum tsr_err rc;

    if (!parse(argc, argv, &o))
        return 2;
    if (sodium_init() < 0) {
        fprintf(stderr, "bench_seed: libsodium cannot start\n");
        return 1;
    }
    rc = tsr_store_open(o.db, &store, msg, sizeof(msg));
    if (rc != TSR_OK) {
        fprintf(stderr, "bench_seed: cannot open '%s': %s\n", o.db, msg);
        return 1;
    }
    rc = tsr_store_user_by_email(store, o.email, &user);
    if (rc != TSR_OK) {
        fprintf(stderr, "bench_seed: no live user %s in '%s' (%s); add it with tesserad user add\n",
                o.email, o.db, tsr_strerror(rc));
        tsr_store_close(store);
        return 1;
    }
    if (!define_scopes(store, o.scopes, (int64_t)time(NULL))) {
        tsr_store_close(store);
        return 1;
    }
    out = fopen(o.secrets, "w");
    if (!out) {
        fprintf(stderr, "bench_seed: cannot write '%s': %s\n", o.secrets, strerror(errno));
        tsr_store_close(store);
        return 1;
    }
    t0 = seconds_now();
    ok = seed(store, user.id, &o, out);
    ok = fclose(out) == 0 && ok;
    tsr_store_close(store);
    if (ok && o.unknown)
        ok = write_unknown(o.unknown, o.keep);
    if (!ok)
        return 1;
    fprintf(stderr, "bench_seed: %ld tokens for %s in %.1f s\n", o.tokens, o.email,
            seconds_now() - t0);
    return 0;
}
