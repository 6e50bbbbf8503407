/* config.c - tessera's files: the server in `config`, the token in `credentials` */
#include "cli/config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define CONFIG_DIR_NAME "tessera"

/* Writes "fmt..." to out; false when it did not fit. */
__attribute__((format(printf, 3, 4))) static bool fit(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

enum tsr_err tsr_paths_find(struct tsr_paths *p, char *why, size_t why_size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char pwbuf[4096];
    struct passwd pw, *found = NULL;
    bool ok;

    memset(p, 0, sizeof(*p));
    /* The XDG spec says a relative XDG_CONFIG_HOME is invalid and ignored. */
    if (xdg != NULL && xdg[0] == '/') {
        ok = fit(p->dir, sizeof(p->dir), "%s/%s", xdg, CONFIG_DIR_NAME);
    } else {
        if (home == NULL || home[0] != '/') {
            if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) != 0 || found == NULL ||
                pw.pw_dir == NULL || pw.pw_dir[0] != '/') {
                snprintf(why, why_size,
                         "cannot find your home folder: set HOME or XDG_CONFIG_HOME");
                return TSR_ERR_INVALID;
            }
            home = pw.pw_dir;
        }
        ok = fit(p->dir, sizeof(p->dir), "%s/.config/%s", home, CONFIG_DIR_NAME);
    }
    ok = ok && fit(p->config, sizeof(p->config), "%s/config", p->dir) &&
         fit(p->credentials, sizeof(p->credentials), "%s/credentials", p->dir);
    if (!ok) {
        snprintf(why, why_size, "the path of the configuration folder is too long");
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* ---- reading ---- */

static void trim(char **s, char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
}

struct kv {
    const char *key;
    char *value; /* where to copy it */
    size_t size;
    bool found;
};

/* Parses text (NUL-terminated) as `key = value` lines into the wanted keys;
 * other keys are ignored so that a newer tessera's file still reads. */
static enum tsr_err parse_kv(const char *path, char *text, struct kv *want, size_t nwant, char *why,
                             size_t why_size)
{
    int line = 0;

    for (char *p = text; *p != '\0';) {
        char *eol = strchr(p, '\n');
        char *end = eol ? eol : p + strlen(p);
        char *next = eol ? eol + 1 : end;
        char *eq, *k, *kend, *v;

        line++;
        trim(&p, &end);
        if (p == end || *p == '#') {
            p = next;
            continue;
        }
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL) {
            snprintf(why, why_size, "%s line %d: expected 'key = value'", path, line);
            return TSR_ERR_INVALID;
        }
        k = p;
        kend = eq;
        v = eq + 1;
        trim(&k, &kend);
        trim(&v, &end);
        for (size_t i = 0; i < nwant; i++) {
            if (strlen(want[i].key) != (size_t)(kend - k) ||
                memcmp(want[i].key, k, (size_t)(kend - k)) != 0)
                continue;
            if ((size_t)(end - v) >= want[i].size) {
                snprintf(why, why_size, "%s line %d: the value of %s is too long", path, line,
                         want[i].key);
                return TSR_ERR_INVALID;
            }
            memcpy(want[i].value, v, (size_t)(end - v));
            want[i].value[end - v] = '\0';
            want[i].found = true;
        }
        p = next;
    }
    return TSR_OK;
}

/* Reads the file at fd (at most TSR_CONFIG_FILE_MAX bytes) into buf. */
static enum tsr_err read_all(int fd, const char *path, char *buf, size_t size, char *why,
                             size_t why_size)
{
    size_t n = 0;

    for (;;) {
        ssize_t r = read(fd, buf + n, size - 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_size, "cannot read '%s': %s", path, strerror(errno));
            return TSR_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == size - 1) {
            snprintf(why, why_size, "'%s' is larger than %zu bytes", path, size - 2);
            return TSR_ERR_INVALID;
        }
    }
    buf[n] = '\0';
    return TSR_OK;
}

/* Opens path to read; TSR_OK with *fd -1 when it does not exist. */
static enum tsr_err open_read(const char *path, int *fd, char *why, size_t why_size)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0 && errno != ENOENT) {
        snprintf(why, why_size, "cannot open '%s': %s", path, strerror(errno));
        return TSR_ERR_IO;
    }
    return TSR_OK;
}

enum tsr_err tsr_config_read(const struct tsr_paths *p, char *server, size_t size, bool *found,
                             char *why, size_t why_size)
{
    char text[TSR_CONFIG_FILE_MAX + 2];
    struct kv want[] = {{"server", server, size, false}};
    int fd = -1;
    enum tsr_err rc;

    *found = false;
    rc = open_read(p->config, &fd, why, why_size);
    if (rc != TSR_OK || fd < 0)
        goto out;
    rc = read_all(fd, p->config, text, sizeof(text), why, why_size);
    if (rc == TSR_OK)
        rc = parse_kv(p->config, text, want, 1, why, why_size);
    *found = rc == TSR_OK && want[0].found && server[0] != '\0';
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

enum tsr_err tsr_creds_read(const struct tsr_paths *p, struct tsr_creds *c, bool strict,
                            bool *found, char *why, size_t why_size)
{
    char text[TSR_CONFIG_FILE_MAX + 2];
    char origin[16] = "";
    struct kv want[] = {{"server", c->server, sizeof(c->server), false},
                        {"token", c->token, sizeof(c->token), false},
                        {"origin", origin, sizeof(origin), false}};
    struct stat st;
    int fd = -1;
    enum tsr_err rc;

    tsr_creds_wipe(c);
    text[0] = '\0';
    *found = false;
    rc = open_read(p->credentials, &fd, why, why_size);
    if (rc != TSR_OK || fd < 0)
        goto out;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "cannot check '%s': %s", p->credentials, strerror(errno));
        rc = TSR_ERR_IO;
        goto out;
    }
    /* As ssh does with its keys: a secret that others can read may already
     * be theirs, and one that others can write may not be yours. */
    if (strict && (st.st_mode & 077) != 0) {
        snprintf(why, why_size,
                 "'%s' can be read or changed by other users (mode %04o), so it is not used; "
                 "fix it with: chmod 600 %s",
                 p->credentials, (unsigned)(st.st_mode & 07777), p->credentials);
        rc = TSR_ERR_UNAUTHORIZED;
        goto out;
    }
    if (strict && st.st_uid != geteuid()) {
        snprintf(why, why_size, "'%s' belongs to another user, so it is not used", p->credentials);
        rc = TSR_ERR_UNAUTHORIZED;
        goto out;
    }
    rc = read_all(fd, p->credentials, text, sizeof(text), why, why_size);
    if (rc == TSR_OK)
        rc = parse_kv(p->credentials, text, want, 3, why, why_size);
    if (rc == TSR_OK && (!want[0].found || !want[1].found)) {
        snprintf(why, why_size, "'%s' lacks its server or its token; log in again", p->credentials);
        rc = TSR_ERR_INVALID;
    }
    if (rc == TSR_OK) {
        c->from_login = strcmp(origin, "login") == 0;
        *found = true;
    } else {
        tsr_creds_wipe(c);
    }
out:
    sodium_memzero(text, sizeof(text));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- writing ---- */

/* Makes path and its missing parents, each 0700 (the XDG spec's mode). */
static enum tsr_err make_dirs(const char *path, char *why, size_t why_size)
{
    char buf[TSR_CONFIG_PATH_MAX];
    size_t len = strlen(path);

    if (len >= sizeof(buf))
        return TSR_ERR_IO;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) == 0) {
            /* mkdir honours the umask; the folder must still be ours alone. */
            if (chmod(buf, 0700) != 0) {
                snprintf(why, why_size, "cannot set the mode of '%s': %s", buf, strerror(errno));
                return TSR_ERR_IO;
            }
        } else if (errno != EEXIST) {
            snprintf(why, why_size, "cannot create the folder '%s': %s", buf, strerror(errno));
            return TSR_ERR_IO;
        }
        buf[i] = path[i];
    }
    return TSR_OK;
}

static bool write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, s, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        len -= (size_t)w;
    }
    return true;
}

/* Writes text to path through a temporary file and a rename. */
static enum tsr_err write_atomic(const struct tsr_paths *p, const char *path, const char *text,
                                 char *why, size_t why_size)
{
    char tmp[TSR_CONFIG_PATH_MAX];
    int fd = -1, dfd = -1;
    enum tsr_err rc = make_dirs(p->dir, why, why_size);

    if (rc != TSR_OK)
        return rc;
    if (!fit(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path)) {
        snprintf(why, why_size, "the path '%s' is too long", path);
        return TSR_ERR_IO;
    }
    /* mkstemp creates the file 0600 whatever the umask. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create a file in '%s': %s", p->dir, strerror(errno));
        return TSR_ERR_IO;
    }
    if (fchmod(fd, 0600) != 0 || !write_all(fd, text, strlen(text)) || fsync(fd) != 0) {
        snprintf(why, why_size, "cannot write '%s': %s", tmp, strerror(errno));
        rc = TSR_ERR_IO;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(why, why_size, "cannot write '%s': %s", tmp, strerror(errno));
        rc = TSR_ERR_IO;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(why, why_size, "cannot replace '%s': %s", path, strerror(errno));
        rc = TSR_ERR_IO;
        goto out;
    }
    tmp[0] = '\0';
    /* The rename itself is durable only once the folder is flushed. */
    dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return rc;
}

enum tsr_err tsr_config_write(const struct tsr_paths *p, const char *server, char *why,
                              size_t why_size)
{
    char text[TSR_SERVER_MAX + 256];

    if (!fit(text, sizeof(text),
             "# tessera configuration, written by 'tessera login'\n"
             "server = %s\n",
             server)) {
        snprintf(why, why_size, "the server URL is too long");
        return TSR_ERR_IO;
    }
    return write_atomic(p, p->config, text, why, why_size);
}

enum tsr_err tsr_creds_write(const struct tsr_paths *p, const struct tsr_creds *c, char *why,
                             size_t why_size)
{
    char text[TSR_SERVER_MAX + TSR_SECRET_LEN + 512];
    enum tsr_err rc;

    if (!fit(text, sizeof(text),
             "# tessera credentials, written by 'tessera login': keep this file private (0600)\n"
             "server = %s\n"
             "token = %s\n"
             "origin = %s\n",
             c->server, c->token, c->from_login ? "login" : "token")) {
        snprintf(why, why_size, "the server URL is too long");
        rc = TSR_ERR_IO;
    } else {
        rc = write_atomic(p, p->credentials, text, why, why_size);
    }
    sodium_memzero(text, sizeof(text));
    return rc;
}

enum tsr_err tsr_creds_remove(const struct tsr_paths *p, char *why, size_t why_size)
{
    if (unlink(p->credentials) != 0 && errno != ENOENT) {
        snprintf(why, why_size, "cannot remove '%s': %s", p->credentials, strerror(errno));
        return TSR_ERR_IO;
    }
    return TSR_OK;
}

void tsr_creds_wipe(struct tsr_creds *c)
{
    sodium_memzero(c, sizeof(*c));
}
