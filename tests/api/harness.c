/* harness.c - end-to-end test harness: start tesserad, speak HTTP, hunt for leaked secrets */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#define MAX_SERVERS   16
#define START_WAIT_MS wait_ms(20000)
#define STOP_WAIT_MS  wait_ms(30000)
#define CMD_WAIT_MS   wait_ms(60000)
#define MAX_WRAP      32 /* words of TSR_H_WRAPPER */
#define MAX_BODY      (16 * 1024 * 1024)
#define READY_PREFIX  "listening on http://"
#define READY_TLS     "listening on https://"
#define BASE62        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* ---- the wrapper (TSR_H_WRAPPER) ---- */

static char *g_wrap_text;                /* a copy of TSR_H_WRAPPER, cut into words */
static char *g_wrap_words[MAX_WRAP + 1]; /* NULL-ended; empty when there is no wrapper */
static bool g_wrap_read;

static void read_wrapper(void)
{
    const char *w = getenv("TSR_H_WRAPPER");
    size_t n = 0;

    g_wrap_read = true;
    if (w == NULL || strspn(w, " \t") == strlen(w)) {
        return;
    }
    g_wrap_text = strdup(w);
    if (g_wrap_text == NULL) {
        fail_msg("out of memory");
    }
    for (char *p = g_wrap_text; *p != '\0' && n < MAX_WRAP;) {
        p += strspn(p, " \t");
        if (*p == '\0') {
            break;
        }
        g_wrap_words[n++] = p;
        p += strcspn(p, " \t");
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
    g_wrap_words[n] = NULL;
}

const char *tsr_h_wrapper(void)
{
    if (!g_wrap_read) {
        read_wrapper();
    }
    return g_wrap_words[0] != NULL ? getenv("TSR_H_WRAPPER") : NULL;
}

/* A wait for tesserad: six times as long under a wrapper (valgrind runs a
 * program some 20 to 50 times slower, but most of a wait is not its work). */
static int wait_ms(int ms)
{
    return tsr_h_wrapper() != NULL ? ms * 6 : ms;
}

/* ---- harness-owned memory ---- */

struct owned {
    void *p;
    bool is_json;
};

static struct owned *g_owned;
static size_t g_owned_n, g_owned_cap;

static void *own(void *p, bool is_json)
{
    if (p == NULL) {
        fail_msg("out of memory");
    }
    if (g_owned_n == g_owned_cap) {
        size_t cap = g_owned_cap ? g_owned_cap * 2 : 256;
        struct owned *n = realloc(g_owned, cap * sizeof(*n));
        if (n == NULL) {
            fail_msg("out of memory");
        }
        g_owned = n;
        g_owned_cap = cap;
    }
    g_owned[g_owned_n].p = p;
    g_owned[g_owned_n].is_json = is_json;
    g_owned_n++;
    return p;
}

static void free_owned(void)
{
    for (size_t i = 0; i < g_owned_n; i++) {
        if (g_owned[i].is_json) {
            json_decref(g_owned[i].p);
        } else {
            free(g_owned[i].p);
        }
    }
    free(g_owned);
    g_owned = NULL;
    g_owned_n = g_owned_cap = 0;
}

char *tsr_h_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fail_msg("bad format '%s'", fmt);
    }
    char *s = own(malloc((size_t)n + 1), false);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *tsr_h_strndup(const char *s, size_t len)
{
    char *d = own(malloc(len + 1), false);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Reads path whole into a malloc'd buffer (NUL-terminated); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL) {
            *len = n;
        }
    }
    return buf;
}

char *tsr_h_read_file(const char *path, size_t *len)
{
    char *b = slurp(path, len);
    return b == NULL ? NULL : own(b, false);
}

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return false;
    }
    size_t len = text ? strlen(text) : 0, off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            return false;
        }
        off += (size_t)w;
    }
    return close(fd) == 0;
}

/* ---- time ---- */

int64_t tsr_h_now(void)
{
    struct timespec ts;

    /* The server's clock: time() reads the coarse clock, which lags
     * CLOCK_REALTIME by up to a tick, so just past a second it may still
     * say the one before. */
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t tsr_h_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tsr_h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *tsr_h_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL) {
        fail_msg("cannot format time %lld", (long long)t);
    }
    return tsr_h_fmt("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t tsr__parse_time(const char *s, const char *file, int line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    bool ok = s != NULL && strlen(s) == TSR_H_TIME_LEN;
    for (size_t i = 0; ok && i < TSR_H_TIME_LEN; i++) {
        ok = shape[i] == 'd' ? isdigit((unsigned char)s[i]) != 0 : s[i] == shape[i];
    }
    if (!ok) {
        print_error("not an RFC 3339 UTC time with seconds and Z: '%s'\n", s ? s : "(null)");
        _fail(file, line);
    }
    struct tm tm = {0};
    tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
    tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
    tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
    tm.tm_hour = (s[11] - '0') * 10 + (s[12] - '0');
    tm.tm_min = (s[14] - '0') * 10 + (s[15] - '0');
    tm.tm_sec = (s[17] - '0') * 10 + (s[18] - '0');
    int64_t t = (int64_t)timegm(&tm);
    /* A time that does not exist (2026-02-30) would be normalised by timegm:
     * format it back to catch that. */
    if (strcmp(tsr_h_time(t), s) != 0) {
        print_error("not a valid time: '%s'\n", s);
        _fail(file, line);
    }
    return t;
}

/* ---- secrets ---- */

static char (*g_secrets)[TSR_H_SECRET_LEN + 1];
static size_t g_secrets_n, g_secrets_cap;
/* Per secret: how many responses carried it, and the last one that did. */
static struct seen {
    int responses;
    long last;
} * g_seen;

static uint32_t crc32_ieee(const char *s, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

static void checksum(const char random[30], char out[6])
{
    uint32_t c = crc32_ieee(random, 30);
    for (int i = 5; i >= 0; i--) {
        out[i] = BASE62[c % 62];
        c /= 62;
    }
}

static bool is_b62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool tsr_h_secret_ok(const char *s, const char *prefix)
{
    if (s == NULL || strlen(s) != TSR_H_SECRET_LEN || strncmp(s, prefix, 4) != 0) {
        return false;
    }
    for (int i = 4; i < TSR_H_SECRET_LEN; i++) {
        if (!is_b62(s[i])) {
            return false;
        }
    }
    char sum[6];
    checksum(s + 4, sum);
    return memcmp(sum, s + 34, 6) == 0;
}

void tsr_h_make_secret(const char *prefix, unsigned seed, char out[TSR_H_SECRET_LEN + 1])
{
    uint32_t x = seed * 2654435761u + 12345u;
    memcpy(out, prefix, 4);
    for (int i = 0; i < 30; i++) {
        x = x * 1103515245u + 12345u;
        out[4 + i] = BASE62[(x >> 16) % 62];
    }
    checksum(out + 4, out + 34);
    out[TSR_H_SECRET_LEN] = '\0';
}

/* Records s; returns its index. */
static size_t record(const char *s)
{
    for (size_t i = 0; i < g_secrets_n; i++) {
        if (memcmp(g_secrets[i], s, TSR_H_SECRET_LEN) == 0) {
            return i;
        }
    }
    if (g_secrets_n == g_secrets_cap) {
        size_t cap = g_secrets_cap ? g_secrets_cap * 2 : 64;
        void *n = realloc(g_secrets, cap * sizeof(*g_secrets));
        void *m = realloc(g_seen, cap * sizeof(*g_seen));
        if (n != NULL) {
            g_secrets = n;
        }
        if (m != NULL) {
            g_seen = m;
        }
        if (n == NULL || m == NULL) {
            fail_msg("out of memory");
        }
        g_secrets_cap = cap;
    }
    memcpy(g_secrets[g_secrets_n], s, TSR_H_SECRET_LEN);
    g_secrets[g_secrets_n][TSR_H_SECRET_LEN] = '\0';
    g_seen[g_secrets_n].responses = 0;
    g_seen[g_secrets_n].last = -1;
    return g_secrets_n++;
}

void tsr_h_record_secret(const char *s)
{
    record(s);
}

/* The secret that a second response carried (index + 1), or 0. */
static size_t g_repeated;

/* Records every "tsr_"/"tss_" followed by 36 base62 characters in buf;
 * response (>= 0) numbers the HTTP response that buf is part of, -1 for
 * anything else. */
static void record_secrets_in(const char *buf, size_t len, long response)
{
    for (size_t i = 0; i + TSR_H_SECRET_LEN <= len; i++) {
        if ((buf[i] != 't') || buf[i + 1] != 's' || (buf[i + 2] != 'r' && buf[i + 2] != 's') ||
            buf[i + 3] != '_') {
            continue;
        }
        size_t k = 4;
        while (k < TSR_H_SECRET_LEN && is_b62(buf[i + k])) {
            k++;
        }
        if (k == TSR_H_SECRET_LEN) {
            size_t x = record(buf + i);
            if (response >= 0 && g_seen[x].last != response) {
                g_seen[x].last = response;
                if (++g_seen[x].responses > 1) {
                    g_repeated = x + 1;
                }
            }
        }
    }
}

static int cmp_secret(const void *a, const void *b)
{
    return memcmp(a, b, TSR_H_SECRET_LEN);
}

/* The first recorded secret in buf[0..len), or NULL. A test that records
 * thousands of secrets (test_api_crash) would make one memmem per secret
 * too slow over megabytes of database: sorted holds the n secrets in order,
 * and first2 marks their first two bytes, so that only a position that
 * starts like one of them costs a binary search. */
static const char *find_secret(const char *buf, size_t len,
                               const char (*sorted)[TSR_H_SECRET_LEN + 1], size_t n,
                               const uint8_t first2[8192])
{
    for (size_t i = 0; n > 0 && i + TSR_H_SECRET_LEN <= len; i++) {
        unsigned k = (unsigned)(unsigned char)buf[i] << 8 | (unsigned char)buf[i + 1];
        if ((first2[k >> 3] & (1u << (k & 7))) == 0) {
            continue;
        }
        const char *s = bsearch(buf + i, sorted, n, sizeof(*sorted), cmp_secret);
        if (s != NULL) {
            return s;
        }
    }
    return NULL;
}

/* Searches every regular file in dir for every recorded secret; returns a
 * malloc'd description of the first hit, or NULL. */
static char *scan_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }
    char(*sorted)[TSR_H_SECRET_LEN + 1] = calloc(g_secrets_n + 1, sizeof(*sorted));
    static uint8_t first2[8192];
    if (sorted == NULL) {
        closedir(d);
        return strdup("out of memory");
    }
    memcpy(sorted, g_secrets, g_secrets_n * sizeof(*sorted));
    qsort(sorted, g_secrets_n, sizeof(*sorted), cmp_secret);
    memset(first2, 0, sizeof(first2));
    for (size_t i = 0; i < g_secrets_n; i++) {
        unsigned k = (unsigned)(unsigned char)sorted[i][0] << 8 | (unsigned char)sorted[i][1];
        first2[k >> 3] |= (uint8_t)(1u << (k & 7));
    }
    char *hit = NULL;
    struct dirent *e;
    while (hit == NULL && (e = readdir(d)) != NULL) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        size_t len = 0;
        char *buf = slurp(path, &len);
        if (buf == NULL) {
            continue;
        }
        const char *found = find_secret(buf, len, sorted, g_secrets_n, first2);
        if (found != NULL) {
            hit = strdup(tsr_h_fmt("secret %.*s found in %s", TSR_H_SECRET_LEN, found, path));
        }
        free(buf);
    }
    closedir(d);
    free(sorted);
    return hit;
}

/* ---- servers ---- */

static const char *g_tesserad;
static struct tsr_h_server *g_servers[MAX_SERVERS];
static size_t g_servers_n;
static char g_scratch[4096];

const char *tsr_h_tesserad(void)
{
    return g_tesserad;
}

static void make_tmpdir(char *out, size_t size, const char *parent)
{
    const char *tmp = parent != NULL ? parent : getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }
    snprintf(out, size, "%s/tessera-api-XXXXXX", tmp);
    if (mkdtemp(out) == NULL) {
        fail_msg("mkdtemp %s: %s", out, strerror(errno));
    }
}

/* An environment without any TESSERA_ variable, plus extra and more (each
 * may be NULL; more is NULL-ended); a malloc'd array whose strings are
 * environ's and the caller's. */
static char **child_env(const char *extra, char *const *more)
{
    size_t n = 0, m = 0;
    while (environ[n] != NULL) {
        n++;
    }
    while (more != NULL && more[m] != NULL) {
        m++;
    }
    char **env = calloc(n + m + 2, sizeof(*env));
    if (env == NULL) {
        fail_msg("out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "TESSERA_", 8) != 0) {
            env[k++] = environ[i];
        }
    }
    if (extra != NULL) {
        env[k++] = (char *)(uintptr_t)extra;
    }
    for (size_t i = 0; i < m; i++) {
        env[k++] = more[i];
    }
    env[k] = NULL;
    return env;
}

/* Forks and execs tesserad with argv and env, with stdin from in_path
 * (NULL: /dev/null), stdout to out_path, stderr to err_path (appended when
 * append). Returns the child's pid. */
static pid_t spawn(char **argv, char **env, const char *in_path, const char *out_path,
                   const char *err_path, bool append)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int in = open(in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(out_path, flags, 0600);
    int err = open(err_path, flags, 0600);
    if (in < 0 || out < 0 || err < 0) {
        fail_msg("cannot open the files of a child: %s", strerror(errno));
    }
    /* Under a wrapper, its words come first and argv[0] (tesserad) after
     * them; built before the fork, as the child may only exec. */
    char *wrapped[MAX_WRAP + 64];
    const char *path = g_tesserad;
    if (tsr_h_wrapper() != NULL) {
        size_t n = 0;
        for (size_t i = 0; g_wrap_words[i] != NULL; i++) {
            wrapped[n++] = g_wrap_words[i];
        }
        for (size_t i = 0; argv[i] != NULL && n < MAX_WRAP + 63; i++) {
            wrapped[n++] = argv[i];
        }
        wrapped[n] = NULL;
        argv = wrapped;
        path = wrapped[0];
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fail_msg("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
            _exit(126);
        }
        if (strchr(path, '/') != NULL) {
            execve(path, argv, env);
        } else {
            /* A wrapper named without a folder ("valgrind"): look in PATH. */
            environ = env;
            execvp(path, argv);
        }
        _exit(127);
    }
    close(in);
    close(out);
    close(err);
    return pid;
}

/* Waits at most ms for pid; returns true and the wait status in *status when
 * it ended. */
static bool wait_bounded(pid_t pid, int ms, int *status)
{
    int64_t end = tsr_h_mono_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            return true;
        }
        if (r < 0 && errno != EINTR) {
            return false;
        }
        if (tsr_h_mono_ms() >= end) {
            return false;
        }
        tsr_h_sleep_ms(10);
    }
}

static char *describe_status(int status)
{
    if (WIFEXITED(status)) {
        return tsr_h_fmt("exited with status %d", WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return tsr_h_fmt("killed by signal %d", WTERMSIG(status));
    }
    return tsr_h_fmt("ended with wait status %d", status);
}

char *tsr_h_server_stderr(const struct tsr_h_server *srv)
{
    size_t len = 0;
    char *all = tsr_h_read_file(srv->log, &len);
    if (all == NULL) {
        return tsr_h_fmt("%s", "");
    }
    size_t start = (size_t)srv->log_start <= len ? (size_t)srv->log_start : len;
    return all + start;
}

/* The last part of the current run's stderr, for failure messages. */
/* The end of srv's stderr without its info lines: what went wrong, not the
 * thousands of "token created" before it. */
static const char *stderr_tail(const struct tsr_h_server *srv)
{
    const char *e = tsr_h_server_stderr(srv);
    static char kept[6000];
    size_t n = 0;

    for (const char *line = e; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);

        if (!memmem(line, len, "\"level\":\"info\"", 15)) {
            if (len >= sizeof(kept))
                len = sizeof(kept) - 1;
            if (n + len >= sizeof(kept)) {
                size_t drop = n + len - (sizeof(kept) - 1);
                memmove(kept, kept + drop, n - drop);
                n -= drop;
            }
            memcpy(kept + n, line, len);
            n += len;
        }
        line += end ? (size_t)(end - line) + 1 : strlen(line);
    }
    kept[n] = '\0';
    return kept;
}

static void run_server(struct tsr_h_server *srv)
{
    struct stat st;
    srv->log_start = stat(srv->log, &st) == 0 ? (long)st.st_size : 0;
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)(uintptr_t)g_tesserad;
    argv[n++] = (char *)(uintptr_t) "serve";
    argv[n++] = (char *)(uintptr_t) "--listen";
    argv[n++] = srv->listen;
    argv[n++] = (char *)(uintptr_t) "--db";
    argv[n++] = srv->db;
    for (int i = 0; srv->args[i] != NULL; i++) {
        argv[n++] = srv->args[i];
    }
    argv[n] = NULL;
    char **env =
        child_env(srv->admin_env ? "TESSERA_ADMIN_PASSWORD=" TSR_H_ADMIN_PASSWORD : NULL, srv->env);
    char *out = tsr_h_fmt("%s/stdout.log", srv->dir);
    srv->pid = spawn(argv, env, NULL, out, srv->log, true);
    free(env);

    int64_t end = tsr_h_mono_ms() + START_WAIT_MS;
    for (;;) {
        int status;
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            srv->pid = 0;
            fail_msg("tesserad %s before it was ready; stderr:\n%s", describe_status(status),
                     stderr_tail(srv));
        }
        const char *e = tsr_h_server_stderr(srv);
        const char *ready = srv->cainfo[0] ? READY_TLS : READY_PREFIX;
        const char *p = strstr(e, ready);
        const char *eol = p != NULL ? strchr(p, '\n') : NULL;
        if (eol != NULL) {
            /* HOST is "127.0.0.1" or "[::1]": the port follows the last colon. */
            const char *host = p + strlen(ready);
            const char *colon = eol;
            while (colon > host && *colon != ':') {
                colon--;
            }
            char *endp = NULL;
            errno = 0;
            long port = strtol(colon + 1, &endp, 10);
            if (colon == host || endp != eol || errno != 0 || port <= 0 || port > 65535) {
                fail_msg("bad host or port in the ready line: %s", e);
            }
            srv->port = (int)port;
            const char *scheme = srv->cainfo[0] ? "https://" : "http://";
            size_t slen = strlen(scheme), hlen = (size_t)(colon - host);
            if (slen + hlen + 7 > sizeof(srv->base)) {
                fail_msg("the ready line's host is too long: %s", e);
            }
            memcpy(srv->base, scheme, slen);
            memcpy(srv->base + slen, host, hlen);
            snprintf(srv->base + slen + hlen, sizeof(srv->base) - slen - hlen, ":%d", srv->port);
            return;
        }
        if (tsr_h_mono_ms() >= end) {
            kill(srv->pid, SIGKILL);
            waitpid(srv->pid, NULL, 0);
            srv->pid = 0;
            fail_msg("tesserad did not print '%sPORT' within %d ms; stderr:\n%s", ready,
                     START_WAIT_MS, stderr_tail(srv));
        }
        tsr_h_sleep_ms(20);
    }
}

struct tsr_h_server *tsr_h_start(const struct tsr_h_opts *opts)
{
    if (g_servers_n == MAX_SERVERS) {
        fail_msg("too many servers in one program");
    }
    struct tsr_h_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        fail_msg("out of memory");
    }
    g_servers[g_servers_n++] = srv;
    make_tmpdir(srv->dir, sizeof(srv->dir), opts != NULL ? opts->parent : NULL);
    snprintf(srv->db, sizeof(srv->db), "%s/tessera.db", srv->dir);
    tsr__h_db_init(srv);
    snprintf(srv->log, sizeof(srv->log), "%s/stderr.log", srv->dir);
    srv->admin_env = !(opts != NULL && opts->no_admin_password);
    if (opts != NULL && opts->cainfo != NULL) {
        snprintf(srv->cainfo, sizeof(srv->cainfo), "%s", opts->cainfo);
    }
    snprintf(srv->listen, sizeof(srv->listen), "%s",
             opts != NULL && opts->listen != NULL ? opts->listen : "127.0.0.1:0");
    int n = 0;
    for (int i = 0; opts != NULL && opts->args != NULL && opts->args[i] != NULL; i++) {
        if (n == 15) {
            fail_msg("too many server arguments");
        }
        srv->args[n] = strdup(opts->args[i]);
        if (srv->args[n++] == NULL) {
            fail_msg("out of memory");
        }
    }
    srv->args[n] = NULL;
    n = 0;
    for (int i = 0; opts != NULL && opts->env != NULL && opts->env[i] != NULL; i++) {
        if (n == 7) {
            fail_msg("too many environment entries");
        }
        srv->env[n] = strdup(opts->env[i]);
        if (srv->env[n++] == NULL) {
            fail_msg("out of memory");
        }
    }
    srv->env[n] = NULL;
    run_server(srv);
    return srv;
}

void tsr_h_resume(struct tsr_h_server *srv)
{
    if (srv->pid != 0) {
        fail_msg("server already running");
    }
    run_server(srv);
}

/* Stops srv with sig; returns NULL when it exited 0, else a malloc'd message. */
static char *stop_quiet(struct tsr_h_server *srv, int sig)
{
    if (srv->pid == 0) {
        return NULL;
    }
    char *msg = NULL;
    int status = 0;
    kill(srv->pid, sig);
    if (!wait_bounded(srv->pid, STOP_WAIT_MS, &status)) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, NULL, 0);
        srv->pid = 0;
        msg = tsr_h_fmt("tesserad did not exit within %d ms of signal %d; stderr:\n%s",
                        STOP_WAIT_MS, sig, stderr_tail(srv));
    } else {
        srv->pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            msg = tsr_h_fmt("tesserad %s on signal %d (want exit status 0); stderr:\n%s",
                            describe_status(status), sig, stderr_tail(srv));
        }
    }
    return msg == NULL ? NULL : strdup(msg);
}

void tsr_h_scan_secrets(const struct tsr_h_server *srv)
{
    tsr__h_db_dump(srv);
    char *hit = scan_dir(srv->dir);
    if (hit != NULL) {
        char *m = tsr_h_fmt("%s", hit);
        free(hit);
        fail_msg("%s", m);
    }
}

void tsr_h_stop_with(struct tsr_h_server *srv, int sig)
{
    char *msg = stop_quiet(srv, sig);
    if (msg != NULL) {
        char *m = tsr_h_fmt("%s", msg);
        free(msg);
        fail_msg("%s", m);
    }
    tsr_h_scan_secrets(srv);
}

void tsr_h_stop(struct tsr_h_server *srv)
{
    tsr_h_stop_with(srv, SIGTERM);
}

void tsr_h_restart(struct tsr_h_server *srv)
{
    tsr_h_stop(srv);
    run_server(srv);
}

void tsr_h_kill(struct tsr_h_server *srv)
{
    if (srv->pid == 0) {
        fail_msg("kill: the server is not running");
    }
    int status = 0;
    kill(srv->pid, SIGKILL);
    if (!wait_bounded(srv->pid, STOP_WAIT_MS, &status)) {
        fail_msg("tesserad did not end within %d ms of SIGKILL", STOP_WAIT_MS);
    }
    srv->pid = 0;
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fail_msg("tesserad %s before SIGKILL reached it (want killed by signal %d); stderr:\n%s",
                 describe_status(status), SIGKILL, stderr_tail(srv));
    }
    tsr_h_scan_secrets(srv);
}

/* ---- operator commands ---- */

static struct tsr_h_cmd *run_cmd(const char *dir, const char *stdin_text, char **args)
{
    char *in = tsr_h_fmt("%s/cmd.in", dir);
    char *out = tsr_h_fmt("%s/cmd.out", dir);
    char *err = tsr_h_fmt("%s/cmd.err", dir);
    if (!write_file(in, stdin_text ? stdin_text : "")) {
        fail_msg("cannot write %s: %s", in, strerror(errno));
    }
    char **env = child_env(NULL, NULL);
    pid_t pid = spawn(args, env, in, out, err, false);
    free(env);
    int status = 0;
    if (!wait_bounded(pid, CMD_WAIT_MS, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("tesserad %s did not exit within %d ms", args[1] ? args[1] : "", CMD_WAIT_MS);
    }
    struct tsr_h_cmd *c = own(calloc(1, sizeof(*c)), false);
    c->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    c->out = tsr_h_read_file(out, NULL);
    c->err = tsr_h_read_file(err, NULL);
    if (c->out == NULL || c->err == NULL) {
        fail_msg("cannot read the output of tesserad");
    }
    record_secrets_in(c->out, strlen(c->out), -1);
    record_secrets_in(c->err, strlen(c->err), -1);
    /* The command files hold passwords, never secrets; remove them so that
     * a later scan reads only what the server wrote. */
    unlink(in);
    return c;
}

struct tsr_h_cmd *tsr_h_cmd(const struct tsr_h_server *srv, const char *stdin_text, ...)
{
    char *args[32];
    int n = 0;
    args[n++] = (char *)(uintptr_t)g_tesserad;
    va_list ap;
    va_start(ap, stdin_text);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31) {
        args[n++] = (char *)(uintptr_t)a;
    }
    va_end(ap);
    args[n] = NULL;
    if (srv == NULL && g_scratch[0] == '\0') {
        make_tmpdir(g_scratch, sizeof(g_scratch), NULL);
    }
    return run_cmd(srv ? srv->dir : g_scratch, stdin_text, args);
}

struct tsr_h_cmd *tsr_h_user(const struct tsr_h_server *srv, const char *verb, const char *email,
                             const char *password_line)
{
    if (email == NULL) {
        return tsr_h_cmd(srv, password_line, "user", verb, "--db", srv->db, NULL);
    }
    return tsr_h_cmd(srv, password_line, "user", verb, email, "--db", srv->db, NULL);
}

void tsr_h_add_user(const struct tsr_h_server *srv, const char *email, const char *password)
{
    struct tsr_h_cmd *c = tsr_h_user(srv, "add", email, tsr_h_fmt("%s\n", password));
    if (c->status != 0) {
        print_error("tesserad user add %s: stderr: %s\n", email, c->err);
    }
    assert_int_equal(c->status, 0);
}

/* ---- HTTP ---- */

static void show(const struct tsr_h_resp *r);

static CURL *g_curl;

struct buf {
    char *p;
    size_t len, cap;
    bool too_big;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > MAX_BODY) {
        b->too_big = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->too_big = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

size_t tsr_h_capture_write(char *p, size_t size, size_t n, void *capture)
{
    struct tsr_h_capture *c = capture;
    size_t take = size * n;
    if (take > sizeof(c->buf) - 1 - c->len) {
        take = sizeof(c->buf) - 1 - c->len;
    }
    memcpy(c->buf + c->len, p, take);
    c->len += take;
    c->buf[c->len] = '\0';
    return size * n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_add(ud, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    /* Keep only the last response's headers (after a 100 Continue, say). */
    if (size * n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        b->len = 0;
    }
    buf_add(b, p, size * n);
    return size * n;
}

struct tsr_h_resp *tsr_h_req(struct tsr_h_server *srv, const struct tsr_h_req *req)
{
    if (srv->pid == 0) {
        fail_msg("request to a server that is not running");
    }
    if (g_curl == NULL) {
        g_curl = curl_easy_init();
        if (g_curl == NULL) {
            fail_msg("curl_easy_init failed");
        }
    }
    CURL *c = g_curl;
    curl_easy_reset(c);
    const char *method = req->method ? req->method : "GET";
    const char *url = tsr_h_fmt("%s%s", srv->base, req->path);
    struct buf body = {0}, head = {0};
    struct curl_slist *hl = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    if (srv->cainfo[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_CAINFO, srv->cainfo);
    }

    size_t blen = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req->body != NULL || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        }
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    hl = curl_slist_append(hl, "Expect:");
    if (req->ctype == NULL) {
        hl = curl_slist_append(hl, req->body ? "Content-Type: application/json" : "Content-Type:");
    } else if (req->ctype[0] == '\0') {
        hl = curl_slist_append(hl, "Content-Type:");
    } else {
        hl = curl_slist_append(hl, tsr_h_fmt("Content-Type: %s", req->ctype));
    }
    if (req->auth != NULL) {
        hl = curl_slist_append(hl, tsr_h_fmt("Authorization: %s", req->auth));
    } else if (req->secret != NULL) {
        hl = curl_slist_append(hl, tsr_h_fmt("Authorization: Token %s", req->secret));
    }
    for (int i = 0; i < 8 && req->headers[i] != NULL; i++) {
        hl = curl_slist_append(hl, req->headers[i]);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    struct tsr_h_resp *r = own(calloc(1, sizeof(*r)), false);
    r->body = body.p ? own(body.p, false) : tsr_h_fmt("%s", "");
    r->body_len = body.len;
    r->headers = head.p ? own(head.p, false) : tsr_h_fmt("%s", "");
    if (rc != CURLE_OK) {
        fail_msg("%s %s: no HTTP answer: %s (%s); server stderr:\n%s", method, req->path,
                 curl_easy_strerror(rc), errbuf, stderr_tail(srv));
    }
    if (body.too_big || head.too_big) {
        fail_msg("%s %s: response too big", method, req->path);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    /* A secret is in exactly one response: the one that created it. */
    static long responses;
    responses++;
    record_secrets_in(r->body, r->body_len, responses);
    record_secrets_in(r->headers, strlen(r->headers), responses);
    if (g_repeated != 0) {
        const char *sec = g_secrets[g_repeated - 1];
        g_repeated = 0;
        show(r);
        fail_msg("%s %s: secret %s is in a second response", method, req->path, sec);
    }
    if (r->body_len > 0) {
        json_error_t jerr;
        r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (r->json != NULL) {
            own(r->json, true);
        }
    }
    return r;
}

struct tsr_h_resp *tsr_h_send(struct tsr_h_server *srv, const char *method, const char *path,
                              const char *secret, const char *json_body)
{
    struct tsr_h_req req = {.method = method, .path = path, .secret = secret, .body = json_body};
    return tsr_h_req(srv, &req);
}

struct tsr_h_resp *tsr_h_get(struct tsr_h_server *srv, const char *path, const char *secret)
{
    return tsr_h_send(srv, "GET", path, secret, NULL);
}

/* Calls each(value, ctx) for every header called name; stops when it returns true. */
static int each_header(const struct tsr_h_resp *r, const char *name, const char **first)
{
    int count = 0;
    size_t nlen = strlen(name);
    const char *p = r->headers;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        const char *next = eol ? eol + 1 : p + strlen(p);
        const char *end = eol ? eol : next;
        if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            if (count == 0 && first != NULL) {
                const char *v = p + nlen + 1;
                while (v < end && (*v == ' ' || *v == '\t')) {
                    v++;
                }
                const char *ve = end;
                while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) {
                    ve--;
                }
                *first = tsr_h_strndup(v, (size_t)(ve - v));
            }
            count++;
        }
        p = next;
    }
    return count;
}

const char *tsr_h_header(const struct tsr_h_resp *r, const char *name)
{
    const char *v = NULL;
    each_header(r, name, &v);
    return v;
}

int tsr_h_header_count(const struct tsr_h_resp *r, const char *name)
{
    return each_header(r, name, NULL);
}

/* ---- contract helpers ---- */

static void show(const struct tsr_h_resp *r)
{
    print_error("response %ld\n%sbody: %.*s\n", r->status, r->headers,
                (int)(r->body_len > 4000 ? 4000 : r->body_len), r->body);
}

void tsr__assert_status(const struct tsr_h_resp *r, long status, const char *file, int line)
{
    if (r->status != status) {
        show(r);
    }
    _assert_int_equal((LargestIntegralType)r->status, (LargestIntegralType)status, file, line);
}

void tsr__assert_between(const char *what, int64_t v, int64_t lo, int64_t hi, const char *file,
                         int line)
{
    if (v < lo || v > hi) {
        print_error("%s = %lld, want between %lld and %lld\n", what, (long long)v, (long long)lo,
                    (long long)hi);
        _fail(file, line);
    }
}

static void str_eq(const char *got, const char *want, const struct tsr_h_resp *r, const char *file,
                   int line)
{
    if (got == NULL || strcmp(got, want) != 0) {
        if (r != NULL) {
            show(r);
        }
    }
    _assert_string_equal(got ? got : "(absent)", want, file, line);
}

void tsr__assert_error(const struct tsr_h_resp *r, long status, const char *code,
                       enum tsr_h_source kind, const char *name, const char *file, int line)
{
    tsr__assert_status(r, status, file, line);
    const char *ct = tsr_h_header(r, "Content-Type");
    if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
        show(r);
        print_error("Content-Type: %s, want application/json\n", ct ? ct : "(absent)");
        _fail(file, line);
    }
    if (r->json == NULL || !json_is_object(r->json) || json_object_size(r->json) != 1) {
        show(r);
        print_error("error body is not {\"errors\":[...]}\n");
        _fail(file, line);
    }
    json_t *errors = json_object_get(r->json, "errors");
    if (!json_is_array(errors) || json_array_size(errors) < 1) {
        show(r);
        print_error("\"errors\" is not a non-empty array\n");
        _fail(file, line);
    }
    json_t *e = json_array_get(errors, 0);
    if (!json_is_object(e)) {
        show(r);
        _fail(file, line);
    }
    const char *want_status = tsr_h_fmt("%ld", status);
    str_eq(json_string_value(json_object_get(e, "status")), want_status, r, file, line);
    str_eq(json_string_value(json_object_get(e, "code")), code, r, file, line);
    const char *title = json_string_value(json_object_get(e, "title"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    if (title == NULL || title[0] == '\0' || detail == NULL || detail[0] == '\0') {
        show(r);
        print_error("title and detail must be non-empty strings\n");
        _fail(file, line);
    }
    json_t *src = json_object_get(e, "source");
    size_t want_keys = 4;
    switch (kind) {
    case TSR_H_SRC_NONE:
        if (src != NULL) {
            show(r);
            print_error("want no \"source\"\n");
            _fail(file, line);
        }
        break;
    case TSR_H_SRC_POINTER:
    case TSR_H_SRC_PARAMETER: {
        const char *key = kind == TSR_H_SRC_POINTER ? "pointer" : "parameter";
        if (!json_is_object(src) || json_object_size(src) != 1) {
            show(r);
            print_error("want \"source\": {\"%s\": \"%s\"}\n", key, name);
            _fail(file, line);
        }
        str_eq(json_string_value(json_object_get(src, key)), name, r, file, line);
        want_keys = 5;
        break;
    }
    }
    if (json_object_size(e) != want_keys) {
        show(r);
        print_error("want exactly status, code, title, detail%s\n",
                    want_keys == 5 ? " and source" : "");
        _fail(file, line);
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *tsr_h_basic(const char *email, const char *password)
{
    char *in = tsr_h_fmt("%s:%s", email, password);
    size_t n = strlen(in);
    char *out = own(malloc(6 + (n + 2) / 3 * 4 + 1), false);
    memcpy(out, "Basic ", 6);
    char *o = out + 6;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (uint32_t)(unsigned char)in[i + 2];
        }
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

void tsr_h_login(struct tsr_h_server *srv, const char *email, const char *password,
                 char out[TSR_H_SECRET_LEN + 1])
{
    struct tsr_h_req req = {
        .method = "POST", .path = "/v4/tokens", .auth = tsr_h_basic(email, password)};
    struct tsr_h_resp *r = tsr_h_req(srv, &req);
    tsr_h_assert_status(r, 201);
    const char *tok = tsr_h_jstr(r->json, "token");
    if (!tsr_h_secret_ok(tok, "tss_")) {
        fail_msg("login answered a malformed session token '%s'", tok);
    }
    memcpy(out, tok, TSR_H_SECRET_LEN + 1);
}

void tsr_h_create_token(struct tsr_h_server *srv, const char *auth, const char *name,
                        const char *expires_at, struct tsr_h_token *out)
{
    json_t *b = json_pack("{s:s, s:s}", "name", name, "expires_at",
                          expires_at ? expires_at : tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY));
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    own(s, false);
    struct tsr_h_resp *r = tsr_h_send(srv, "POST", "/v4/iam/personal_tokens", auth, s);
    tsr_h_assert_status(r, 201);
    json_t *data = tsr_h_jobj(r->json, "data");
    tsr_h_assert_token(data, true);
    snprintf(out->id, sizeof(out->id), "%s", tsr_h_jstr(data, "id"));
    snprintf(out->secret, sizeof(out->secret), "%s", tsr_h_jstr(data, "key"));
    out->data = data;
}

long tsr_h_count_tokens(struct tsr_h_server *srv, const char *auth)
{
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/iam/personal_tokens", auth);
    tsr_h_assert_status(r, 200);
    return (long)tsr_h_jint(r->json, "count");
}

bool tsr_h_verify(struct tsr_h_server *srv, const char *secret)
{
    struct tsr_h_resp *r = tsr_h_get(srv, "/v4/auth/verify", secret);
    if (r->status == 204) {
        return true;
    }
    tsr_h_assert_error(r, 401, "unauthorized", TSR_H_SRC_NONE, NULL);
    return false;
}

/* ---- JSON ---- */

static void show_json(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    print_error("in: %s\n", s ? s : "(null)");
    free(s);
}

const char *tsr__jstr(const json_t *obj, const char *key, const char *file, int line)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_string(v)) {
        print_error("\"%s\" is not a string\n", key);
        show_json(obj);
        _fail(file, line);
    }
    return json_string_value(v);
}

json_int_t tsr__jint(const json_t *obj, const char *key, const char *file, int line)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_integer(v)) {
        print_error("\"%s\" is not an integer\n", key);
        show_json(obj);
        _fail(file, line);
    }
    return json_integer_value(v);
}

json_t *tsr__jget(const json_t *obj, const char *key, json_type type, const char *file, int line)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_typeof(v) != type) {
        print_error("\"%s\" is not an %s\n", key, type == JSON_OBJECT ? "object" : "array");
        show_json(obj);
        _fail(file, line);
    }
    return v;
}

void tsr__assert_keys(const json_t *obj, const char *file, int line, ...)
{
    if (!json_is_object(obj)) {
        print_error("not an object\n");
        show_json(obj);
        _fail(file, line);
    }
    va_list ap;
    va_start(ap, line);
    size_t n = 0;
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        if (json_object_get(obj, k) == NULL) {
            va_end(ap);
            print_error("missing key \"%s\"\n", k);
            show_json(obj);
            _fail(file, line);
        }
        n++;
    }
    va_end(ap);
    if (json_object_size(obj) != n) {
        print_error("%zu keys, want exactly %zu\n", json_object_size(obj), n);
        show_json(obj);
        _fail(file, line);
    }
}

bool tsr_h_uuid_ok(const char *s)
{
    if (s == NULL || strlen(s) != TSR_H_UUID_LEN) {
        return false;
    }
    for (int i = 0; i < TSR_H_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* An array of strings; sorted and not empty when asked. */
static void assert_strings(const json_t *obj, const char *key, bool sorted_nonempty,
                           const char *file, int line)
{
    json_t *a = tsr__jget(obj, key, JSON_ARRAY, file, line), *v;
    const char *prev = NULL;
    size_t i;

    if (sorted_nonempty && json_array_size(a) == 0) {
        print_error("\"%s\" is empty\n", key);
        _fail(file, line);
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v)) {
            print_error("\"%s\"[%zu] is not a string\n", key, i);
            _fail(file, line);
        }
        if (sorted_nonempty && prev && strcmp(prev, json_string_value(v)) >= 0) {
            print_error("\"%s\" is not sorted without repeats\n", key);
            show_json(obj);
            _fail(file, line);
        }
        prev = json_string_value(v);
    }
}

/* scopes, allowed_ips, not_before and last_used_ip, as the contract shapes them. */
static void assert_grant_members(const json_t *obj, const char *file, int line)
{
    json_t *nb = json_object_get(obj, "not_before"), *ip = json_object_get(obj, "last_used_ip");

    assert_strings(obj, "scopes", true, file, line);
    assert_strings(obj, "allowed_ips", false, file, line);
    if (!json_is_null(nb))
        tsr__parse_time(tsr__jstr(obj, "not_before", file, line), file, line);
    if (!json_is_null(ip) && !json_is_string(ip)) {
        print_error("\"last_used_ip\" is neither null nor a string\n");
        _fail(file, line);
    }
}

void tsr__assert_token(const json_t *obj, bool with_key, const char *file, int line)
{
    if (with_key) {
        tsr__assert_keys(obj, file, line, "id", "name", "description", "key_hint", "created",
                         "expires_at", "last_used_at", "status", "scopes", "allowed_ips",
                         "not_before", "last_used_ip", "key", NULL);
    } else {
        tsr__assert_keys(obj, file, line, "id", "name", "description", "key_hint", "created",
                         "expires_at", "last_used_at", "status", "scopes", "allowed_ips",
                         "not_before", "last_used_ip", NULL);
    }
    assert_grant_members(obj, file, line);
    const char *id = tsr__jstr(obj, "id", file, line);
    if (!tsr_h_uuid_ok(id) || id[14] != '7' || strchr("89ab", id[19]) == NULL) {
        print_error("id '%s' is not a lowercase UUIDv7\n", id);
        _fail(file, line);
    }
    tsr__jstr(obj, "name", file, line);
    tsr__jstr(obj, "description", file, line);
    const char *hint = tsr__jstr(obj, "key_hint", file, line);
    if (strlen(hint) != 8 || strncmp(hint, "tsr_", 4) != 0) {
        print_error("key_hint '%s' is not the first 8 characters of a tsr_ secret\n", hint);
        _fail(file, line);
    }
    tsr__parse_time(tsr__jstr(obj, "created", file, line), file, line);
    tsr__parse_time(tsr__jstr(obj, "expires_at", file, line), file, line);
    json_t *lu = json_object_get(obj, "last_used_at");
    if (!json_is_null(lu)) {
        tsr__parse_time(tsr__jstr(obj, "last_used_at", file, line), file, line);
    }
    const char *st = tsr__jstr(obj, "status", file, line);
    if (strcmp(st, "active") != 0 && strcmp(st, "expired") != 0) {
        print_error("status '%s' is neither active nor expired\n", st);
        _fail(file, line);
    }
    if (with_key) {
        const char *key = tsr__jstr(obj, "key", file, line);
        if (!tsr_h_secret_ok(key, "tsr_")) {
            print_error("key '%s' is not a well-formed personal token\n", key);
            _fail(file, line);
        }
        _assert_string_equal(hint, tsr_h_strndup(key, 8), file, line);
    }
}

/* ---- running a program ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void final_check(void **state)
{
    (void)state;
    char *problem = NULL;
    for (size_t i = 0; i < g_servers_n; i++) {
        char *m = stop_quiet(g_servers[i], SIGTERM);
        if (m != NULL && problem == NULL) {
            problem = m;
        } else {
            free(m);
        }
    }
    for (size_t i = 0; i < g_servers_n && problem == NULL; i++) {
        tsr__h_db_dump(g_servers[i]);
        problem = scan_dir(g_servers[i]->dir);
    }
    if (problem != NULL) {
        char *m = tsr_h_fmt("%s", problem);
        free(problem);
        fail_msg("%s", m);
    }
    print_message("searched %zu server folder(s) for %zu secret(s): none found\n", g_servers_n,
                  g_secrets_n);
}

int tsr_h_run(const char *tesserad_path, const char *name, const struct CMUnitTest *tests, size_t n,
              CMFixtureFunction setup, CMFixtureFunction teardown)
{
    g_tesserad = tesserad_path;
    signal(SIGPIPE, SIG_IGN);
    for (char **e = environ; *e != NULL;) {
        if (strncmp(*e, "TESSERA_", 8) == 0) {
            char *eq = strchr(*e, '=');
            char *var = strndup(*e, eq ? (size_t)(eq - *e) : strlen(*e));
            if (var == NULL) {
                return 1;
            }
            unsetenv(var);
            free(var);
            e = environ;
        } else {
            e++;
        }
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    int failed = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    static const struct CMUnitTest last[] = {
        cmocka_unit_test(final_check),
    };
    failed += _cmocka_run_group_tests("no secret leaked", last, 1, NULL, NULL);

    bool keep = getenv("TSR_H_KEEP") != NULL;
    for (size_t i = 0; i < g_servers_n; i++) {
        struct tsr_h_server *srv = g_servers[i];
        if (srv->pid != 0) {
            kill(srv->pid, SIGKILL);
            waitpid(srv->pid, NULL, 0);
        }
        if (keep) {
            fprintf(stderr, "kept %s\n", srv->dir);
        } else {
            nftw(srv->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        }
        for (int k = 0; srv->args[k] != NULL; k++) {
            free(srv->args[k]);
        }
        for (int k = 0; srv->env[k] != NULL; k++) {
            free(srv->env[k]);
        }
        free(srv);
    }
    if (g_scratch[0] != '\0') {
        nftw(g_scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (g_curl != NULL) {
        curl_easy_cleanup(g_curl);
    }
    curl_global_cleanup();
    free(g_secrets);
    free(g_seen);
    free(g_wrap_text);
    g_wrap_text = NULL;
    g_wrap_words[0] = NULL;
    free_owned();
    return failed;
}
