/* cli_harness.c - running the built `tessera` in end-to-end tests */
#include "cli_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

extern char **environ;

#define RUN_WAIT_MS    30000
#define EXPECT_WAIT_MS 10000
#define FINISH_WAIT_MS 20000
#define MAX_ENVS       64
#define MAX_ARGS       32

static struct tsr_c_env *g_envs[MAX_ENVS];
static size_t g_envs_n;
static void **g_kept;
static size_t g_kept_n, g_kept_cap;

/* Keeps p (malloc'd) until the program ends. */
static void *keep(void *p)
{
    if (p == NULL)
        fail_msg("out of memory");
    if (g_kept_n == g_kept_cap) {
        size_t cap = g_kept_cap ? g_kept_cap * 2 : 64;
        void **more = realloc(g_kept, cap * sizeof(*more));

        if (more == NULL)
            fail_msg("out of memory");
        g_kept = more;
        g_kept_cap = cap;
    }
    g_kept[g_kept_n++] = p;
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes every home when the program ends. */
static void remove_homes(void)
{
    bool keep = getenv("TSR_H_KEEP") != NULL;

    for (size_t i = 0; i < g_envs_n; i++) {
        if (keep)
            fprintf(stderr, "kept %s\n", g_envs[i]->home);
        else
            nftw(g_envs[i]->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        for (int k = 0; g_envs[i]->vars[k] != NULL; k++)
            free((void *)(uintptr_t)g_envs[i]->vars[k]);
        free(g_envs[i]);
    }
    g_envs_n = 0;
    for (size_t i = 0; i < g_kept_n; i++)
        free(g_kept[i]);
    free(g_kept);
    g_kept = NULL;
    g_kept_n = g_kept_cap = 0;
}

static void at_end(void)
{
    static bool registered;

    if (!registered) {
        registered = true;
        atexit(remove_homes);
    }
}

static void set_dirs(struct tsr_c_env *e)
{
    if (e->use_xdg)
        snprintf(e->dir, sizeof(e->dir), "%.3000s/tessera", e->xdg);
    else
        snprintf(e->dir, sizeof(e->dir), "%.3000s/.config/tessera", e->home);
    snprintf(e->config, sizeof(e->config), "%.3000s/config", e->dir);
    snprintf(e->creds, sizeof(e->creds), "%.3000s/credentials", e->dir);
}

struct tsr_c_env *tsr_c_env_new(void)
{
    const char *tmp = getenv("TMPDIR");
    struct tsr_c_env *e = calloc(1, sizeof(*e));

    if (e == NULL || g_envs_n == MAX_ENVS)
        fail_msg("out of memory, or too many envs");
    at_end();
    g_envs[g_envs_n++] = e;
    snprintf(e->home, sizeof(e->home), "%s/tessera-cli-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(e->home) == NULL)
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(e->xdg, sizeof(e->xdg), "%.3000s/xdg", e->home);
    e->use_xdg = true;
    set_dirs(e);
    return e;
}

void tsr_c_env_no_xdg(struct tsr_c_env *e)
{
    e->use_xdg = false;
    set_dirs(e);
}

void tsr_c_env_set(struct tsr_c_env *e, const char *name, const char *value)
{
    int k = 0;

    while (e->vars[k] != NULL)
        k++;
    if (k + 1 >= TSR_C_MAX_VARS)
        fail_msg("too many variables");
    e->vars[k] = strdup(tsr_h_fmt("%s=%s", name, value));
    e->vars[k + 1] = NULL;
}

void tsr_c_env_clear(struct tsr_c_env *e)
{
    for (int k = 0; e->vars[k] != NULL; k++) {
        free((void *)(uintptr_t)e->vars[k]);
        e->vars[k] = NULL;
    }
}

/* The child's environment: ours without TESSERA_*, HOME, XDG_CONFIG_HOME,
 * then e's. A malloc'd array of borrowed strings. */
static char **child_env(const struct tsr_c_env *e)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n] != NULL)
        n++;
    env = calloc(n + TSR_C_MAX_VARS + 4, sizeof(*env));
    if (env == NULL)
        fail_msg("out of memory");
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "TESSERA_", 8) == 0 || strncmp(environ[i], "HOME=", 5) == 0 ||
            strncmp(environ[i], "XDG_CONFIG_HOME=", 16) == 0)
            continue;
        env[k++] = environ[i];
    }
    env[k++] = tsr_h_fmt("HOME=%s", e->home);
    if (e->use_xdg)
        env[k++] = tsr_h_fmt("XDG_CONFIG_HOME=%s", e->xdg);
    for (int i = 0; e->vars[i] != NULL; i++)
        env[k++] = (char *)(uintptr_t)e->vars[i];
    env[k] = NULL;
    return env;
}

static bool wait_bounded(pid_t pid, int ms, int *status)
{
    int64_t end = tsr_h_mono_ms() + ms;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            return true;
        if ((r < 0 && errno != EINTR) || tsr_h_mono_ms() >= end)
            return false;
        tsr_h_sleep_ms(5);
    }
}

static bool is_b62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Calls found(secret) for every well-formed secret in text; returns how many. */
static int each_secret(const char *text, size_t len, void (*found)(const char *s))
{
    int n = 0;

    for (size_t i = 0; i + TSR_H_SECRET_LEN <= len; i++) {
        char s[TSR_H_SECRET_LEN + 1];
        size_t k = 4;

        if (text[i] != 't' || text[i + 1] != 's' || (text[i + 2] != 'r' && text[i + 2] != 's') ||
            text[i + 3] != '_')
            continue;
        while (k < TSR_H_SECRET_LEN && is_b62(text[i + k]))
            k++;
        if (k < TSR_H_SECRET_LEN)
            continue;
        memcpy(s, text + i, TSR_H_SECRET_LEN);
        s[TSR_H_SECRET_LEN] = '\0';
        if (tsr_h_secret_ok(s, text[i + 2] == 'r' ? "tsr_" : "tss_")) {
            n++;
            if (found != NULL)
                found(s);
        }
    }
    return n;
}

int tsr_c_count_secrets(const char *text)
{
    return each_secret(text, strlen(text), NULL);
}

void tsr_c_record_secrets(const char *text)
{
    each_secret(text, strlen(text), tsr_h_record_secret);
}

struct tsr_c_run *tsr_c_runv(const struct tsr_c_env *e, const char *stdin_text,
                             const char *const *args)
{
    char *in = tsr_h_fmt("%s/run.in", e->home), *out = tsr_h_fmt("%s/run.out", e->home);
    char *err = tsr_h_fmt("%s/run.err", e->home);
    char *argv[MAX_ARGS + 2];
    struct tsr_c_run *r;
    char **env;
    int fin = -1, fout, ferr, status = 0, n = 0;
    pid_t pid;

    argv[n++] = (char *)(uintptr_t)TESSERA_PATH;
    for (int i = 0; args[i] != NULL && n < MAX_ARGS; i++)
        argv[n++] = (char *)(uintptr_t)args[i];
    argv[n] = NULL;
    if (stdin_text != NULL) {
        fin = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fin < 0 || write(fin, stdin_text, strlen(stdin_text)) != (ssize_t)strlen(stdin_text))
            fail_msg("cannot write %s", in);
        close(fin);
    }
    fin = open(stdin_text != NULL ? in : "/dev/null", O_RDONLY | O_CLOEXEC);
    fout = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ferr = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fin < 0 || fout < 0 || ferr < 0)
        fail_msg("cannot open the files of a run: %s", strerror(errno));
    env = child_env(e);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        /* A new session: no controlling terminal, as under CI. */
        setsid();
        if (dup2(fin, 0) < 0 || dup2(fout, 1) < 0 || dup2(ferr, 2) < 0)
            _exit(126);
        execve(TESSERA_PATH, argv, env);
        _exit(127);
    }
    free(env);
    close(fin);
    close(fout);
    close(ferr);
    if (!wait_bounded(pid, RUN_WAIT_MS, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("tessera %s did not exit within %d ms", args[0] ? args[0] : "", RUN_WAIT_MS);
    }
    r = keep(calloc(1, sizeof(*r)));
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->out = tsr_h_read_file(out, NULL);
    r->err = tsr_h_read_file(err, NULL);
    if (r->out == NULL || r->err == NULL)
        fail_msg("cannot read the output of tessera");
    /* The run files are the test's, not the user's: remove them so that the
     * search for stray secrets in the home sees only what tessera wrote. */
    unlink(in);
    unlink(out);
    unlink(err);
    tsr_c_record_secrets(r->out);
    tsr_c_record_secrets(r->err);
    return r;
}

struct tsr_c_run *tsr_c_run(const struct tsr_c_env *e, const char *stdin_text, ...)
{
    const char *args[MAX_ARGS + 1];
    const char *a;
    int n = 0;
    va_list ap;

    va_start(ap, stdin_text);
    while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return tsr_c_runv(e, stdin_text, args);
}

void tsr__c_assert_status(const struct tsr_c_run *r, int want, const char *file, int line)
{
    if (r->status != want) {
        print_error("tessera exited %d, want %d\nstdout:\n%s\nstderr:\n%s\n", r->status, want,
                    r->out, r->err);
        _fail(file, line);
    }
}

void tsr__c_assert_has(const char *haystack, const char *needle, bool want, const char *file,
                       int line)
{
    bool has = haystack != NULL && strstr(haystack, needle) != NULL;

    if (has != want) {
        print_error("%s '%s' in:\n%s\n", want ? "missing" : "unexpected", needle,
                    haystack ? haystack : "(null)");
        _fail(file, line);
    }
}

/* ---- a pseudo-terminal ---- */

static void pty_read(struct tsr_c_pty *p, int ms)
{
    struct pollfd pfd = {.fd = p->master, .events = POLLIN};
    char chunk[4096];
    ssize_t n;

    if (p->master < 0 || poll(&pfd, 1, ms) <= 0)
        return;
    n = read(p->master, chunk, sizeof(chunk));
    if (n <= 0) {
        /* EIO: the program closed its side of the terminal. */
        close(p->master);
        p->master = -1;
        return;
    }
    if (p->len + (size_t)n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8192;
        while (cap < p->len + (size_t)n + 1)
            cap *= 2;
        char *more = realloc(p->buf, cap);

        if (more == NULL)
            fail_msg("out of memory");
        p->buf = more;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, chunk, (size_t)n);
    p->len += (size_t)n;
    p->buf[p->len] = '\0';
}

struct tsr_c_pty *tsr_c_pty_start(const struct tsr_c_env *e, const char *stdout_path, ...)
{
    struct tsr_c_pty *p;
    char *argv[MAX_ARGS + 2];
    const char *a;
    char **env;
    int n = 0, fout = -1;
    va_list ap;

    at_end();
    p = keep(calloc(1, sizeof(*p)));
    argv[n++] = (char *)(uintptr_t)TESSERA_PATH;
    va_start(ap, stdout_path);
    while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS)
        argv[n++] = (char *)(uintptr_t)a;
    va_end(ap);
    argv[n] = NULL;
    if (stdout_path != NULL) {
        fout = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fout < 0)
            fail_msg("cannot open %s", stdout_path);
    }
    env = child_env(e);
    fflush(stdout);
    fflush(stderr);
    p->pid = forkpty(&p->master, NULL, NULL, NULL);
    if (p->pid < 0)
        fail_msg("forkpty: %s", strerror(errno));
    if (p->pid == 0) {
        if (fout >= 0 && dup2(fout, 1) < 0)
            _exit(126);
        execve(TESSERA_PATH, argv, env);
        _exit(127);
    }
    free(env);
    if (fout >= 0)
        close(fout);
    p->buf = calloc(1, 1);
    if (p->buf == NULL)
        fail_msg("out of memory");
    p->cap = 1;
    return p;
}

void tsr_c_pty_expect(struct tsr_c_pty *p, const char *text)
{
    int64_t end = tsr_h_mono_ms() + EXPECT_WAIT_MS;

    for (;;) {
        const char *hit = strstr(p->buf + p->mark, text);

        if (hit != NULL) {
            p->mark = (size_t)(hit - p->buf) + strlen(text);
            return;
        }
        if (p->master < 0 || tsr_h_mono_ms() >= end) {
            print_error("the terminal did not show '%s' within %d ms; it shows:\n%s\n", text,
                        EXPECT_WAIT_MS, p->buf);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            fail();
        }
        pty_read(p, 50);
    }
}

void tsr_c_pty_send(struct tsr_c_pty *p, const char *text)
{
    size_t len = strlen(text), off = 0;

    while (off < len) {
        ssize_t w = write(p->master, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("cannot type on the terminal: %s", strerror(errno));
        off += (size_t)w;
    }
}

int tsr_c_pty_finish(struct tsr_c_pty *p)
{
    int64_t end = tsr_h_mono_ms() + FINISH_WAIT_MS;
    int status = 0;

    while (p->master >= 0 && tsr_h_mono_ms() < end)
        pty_read(p, 50);
    if (!wait_bounded(p->pid, (int)(end > tsr_h_mono_ms() ? end - tsr_h_mono_ms() : 1), &status)) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        fail_msg("tessera on the terminal did not exit within %d ms; it shows:\n%s", FINISH_WAIT_MS,
                 p->buf);
    }
    if (p->master >= 0) {
        close(p->master);
        p->master = -1;
    }
    p->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    tsr_c_record_secrets(p->buf);
    keep(p->buf);
    return p->status;
}

/* ---- checks ---- */

unsigned tsr_c_mode(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return (unsigned)(st.st_mode & 07777);
}

bool tsr_c_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

const char *tsr_c_file_value(const char *path, const char *key)
{
    char *text = tsr_h_read_file(path, NULL);
    size_t klen = strlen(key);

    if (text == NULL)
        return NULL;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *eol = strchr(line, '\n');

        if (eol != NULL)
            *eol = '\0';
        if (strncmp(line, key, klen) == 0 && strncmp(line + klen, " = ", 3) == 0)
            return line + klen + 3;
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

static const struct tsr_c_env *g_scan_env;
static char g_scan_problem[8192];

static int scan_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t len = 0;
    char *text;

    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode) || g_scan_problem[0] != '\0')
        return 0;
    if (strstr(path, ".tmp-") != NULL) {
        snprintf(g_scan_problem, sizeof(g_scan_problem), "temporary file left: %s", path);
        return 0;
    }
    if (strcmp(path, g_scan_env->creds) == 0)
        return 0;
    text = tsr_h_read_file(path, &len);
    if (text != NULL && each_secret(text, len, NULL) > 0)
        snprintf(g_scan_problem, sizeof(g_scan_problem), "a secret is in %s", path);
    return 0;
}

void tsr_c_assert_no_stray_secrets(const struct tsr_c_env *e)
{
    g_scan_env = e;
    g_scan_problem[0] = '\0';
    nftw(e->home, scan_one, 16, FTW_PHYS);
    if (g_scan_problem[0] != '\0')
        fail_msg("%s", g_scan_problem);
}

long tsr_c_live_sessions(const struct tsr_h_server *srv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;

    if (sqlite3_open_v2(srv->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM tokens WHERE kind = 'session' AND revoked_at IS "
                           "NULL",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (n < 0)
        fail_msg("cannot count the sessions in %s", srv->db);
    return n;
}

const char *tsr_c_hostname(void)
{
    char host[256] = "";

    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        return "localhost";
    host[64] = '\0';
    return tsr_h_fmt("%s", host);
}

void tsr_c_login(struct tsr_c_env *e, const struct tsr_h_server *srv)
{
    struct tsr_c_run *r = tsr_c_run(e, TSR_H_ADMIN_PASSWORD "\n", "login", "--server", srv->base,
                                    "--email", TSR_H_ADMIN_EMAIL, NULL);

    tsr_c_assert_status(r, 0);
}

const char *tsr_c_stored_token(const struct tsr_c_env *e)
{
    const char *t = tsr_c_file_value(e->creds, "token");

    if (t == NULL || !tsr_h_secret_ok(t, "tsr_"))
        fail_msg("no well-formed token in %s", e->creds);
    return t;
}
