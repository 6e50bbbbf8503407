/* cmd_serve.c - tesserad serve: open the store, create the first admin, serve HTTP */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "http/http.h"
#include "service/log.h"
#include "service/service.h"
#include "tesserad/commands.h"
#include "tesserad/serve_events.h"

#define ADMIN_PASSWORD_FILE "admin-password"
#define PEM_MAX             (1024 * 1024) /* a certificate chain or key file, at most */
/* Open files beside the connections: the listening socket, each thread's
 * epoll and wake-up descriptors, the database and its -wal and -shm. */
#define FILES_RESERVE 64

struct serve_options {
    const char *listen;
    const char *db;
    struct tsr_service_config svc;
    unsigned threads;
    bool log_json;
    const char *tls_cert; /* paths; both or neither */
    const char *tls_key;
    int64_t max_connections;
    int64_t idle_timeout;
    const char *trusted_proxies;
    int64_t per_ip;          /* 0: no cap */
    int64_t header_timeout;  /* seconds */
    const char *github_keys; /* a path: GitHub's secret-scanning keys */
    struct serve_events events;
};

static const char *env_text(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

static bool env_number(const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *v = getenv(name);

    if (!v || !*v)
        return true;
    if (parse_number(v, min, max, out))
        return true;
    die_message("%s must be a whole number from %lld to %lld", name, (long long)min,
                (long long)max);
    return false;
}

static bool defaults(struct serve_options *o)
{
    const char *listen = getenv("TESSERA_LISTEN");

    memset(o, 0, sizeof(*o));
    tsr_service_config_defaults(&o->svc);
    o->listen = listen && *listen ? listen : "127.0.0.1:8080";
    o->db = db_path(NULL);
    o->log_json = !isatty(STDERR_FILENO);
    o->tls_cert = env_text("TESSERA_TLS_CERT");
    o->tls_key = env_text("TESSERA_TLS_KEY");
    o->trusted_proxies = env_text("TESSERA_TRUSTED_PROXY");
    o->github_keys = env_text("TESSERA_GITHUB_KEYS_FILE");
    o->max_connections = TSR_HTTP_MAX_CONNECTIONS;
    o->idle_timeout = TSR_HTTP_IDLE_TIMEOUT;
    o->per_ip = TSR_HTTP_PER_IP;
    o->header_timeout = TSR_HTTP_HEADER_TIMEOUT;
    return events_defaults(&o->events, &o->svc) &&
           env_number("TESSERA_MAX_CONNECTIONS", 1, 1000000, &o->max_connections) &&
           env_number("TESSERA_MAX_CONNECTIONS_PER_IP", 0, 1000000, &o->per_ip) &&
           env_number("TESSERA_HEADER_TIMEOUT", 1, 3600, &o->header_timeout) &&
           env_number("TESSERA_IDLE_TIMEOUT", 1, 86400, &o->idle_timeout) &&
           env_number("TESSERA_MAX_LIFETIME_DAYS", 0, 36500, &o->svc.max_lifetime_days) &&
           env_number("TESSERA_MAX_TOKENS", 0, 1000000, &o->svc.max_tokens) &&
           env_number("TESSERA_LOGIN_MAX_FAILURES", 0, 1000000, &o->svc.login_max_failures) &&
           env_number("TESSERA_LOGIN_WINDOW", 1, 86400 * 7, &o->svc.login_window) &&
           env_number("TESSERA_LOGIN_ACCOUNT_MAX_FAILURES", 0, 1000000,
                      &o->svc.login_account_max_failures) &&
           env_number("TESSERA_LOGIN_ACCOUNT_WINDOW", 1, 86400 * 7, &o->svc.login_account_window) &&
           env_number("TESSERA_TOKEN_RETENTION_DAYS", 0, 36500, &o->svc.token_retention_days) &&
           env_number("TESSERA_AUDIT_RETENTION_DAYS", 0, 36500, &o->svc.audit_retention_days);
}

static bool number_flag(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out)
{
    if (parse_number(arg, min, max, out))
        return true;
    die_message("%s takes a whole number from %lld to %lld, not '%s'", flag, (long long)min,
                (long long)max, arg);
    return false;
}

/* Returns EXIT_OK to go on, or the status to exit with. */
static int parse_options(int argc, char **argv, struct serve_options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"max-lifetime", required_argument, NULL, 'm'},
        {"max-tokens", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'n'},
        {"log-format", required_argument, NULL, 'f'},
        {"login-max-failures", required_argument, NULL, 'L'},
        {"login-window", required_argument, NULL, 'W'},
        {"login-account-max-failures", required_argument, NULL, 'M'},
        {"login-account-window", required_argument, NULL, 'w'},
        {"token-retention", required_argument, NULL, 'R'},
        {"audit-retention", required_argument, NULL, 'A'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"max-connections", required_argument, NULL, 'c'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"trusted-proxy", required_argument, NULL, 'p'},
        {"hash-threads", required_argument, NULL, 'T'},
        {"hash-queue", required_argument, NULL, 'Q'},
        {"max-connections-per-ip", required_argument, NULL, 'P'},
        {"header-timeout", required_argument, NULL, 'H'},
        {"github-keys-file", required_argument, NULL, 'G'},
        {"notify-before", required_argument, NULL, 'N'},
        {"delivery-retry", required_argument, NULL, 'r'},
        {"smtp-url", required_argument, NULL, 'S'},
        {"smtp-from", required_argument, NULL, 'F'},
        {"smtp-credentials-file", required_argument, NULL, 'U'},
        {"public-url", required_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    int64_t threads = 0, hash_threads = 0, hash_queue = 0;
    int c;

    if (!defaults(o))
        return EXIT_USAGE;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        bool ok = true;

        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'm':
            ok = number_flag("--max-lifetime", optarg, 0, 36500, &o->svc.max_lifetime_days);
            break;
        case 't':
            ok = number_flag("--max-tokens", optarg, 0, 1000000, &o->svc.max_tokens);
            break;
        case 'n':
            ok = number_flag("--threads", optarg, 1, 1024, &threads);
            o->threads = (unsigned)threads;
            break;
        case 'L':
            ok =
                number_flag("--login-max-failures", optarg, 0, 1000000, &o->svc.login_max_failures);
            break;
        case 'W':
            ok = number_flag("--login-window", optarg, 1, 86400 * 7, &o->svc.login_window);
            break;
        case 'M':
            ok = number_flag("--login-account-max-failures", optarg, 0, 1000000,
                             &o->svc.login_account_max_failures);
            break;
        case 'w':
            ok = number_flag("--login-account-window", optarg, 1, 86400 * 7,
                             &o->svc.login_account_window);
            break;
        case 'R':
            ok = number_flag("--token-retention", optarg, 0, 36500, &o->svc.token_retention_days);
            break;
        case 'A':
            ok = number_flag("--audit-retention", optarg, 0, 36500, &o->svc.audit_retention_days);
            break;
        case 'C':
            o->tls_cert = optarg;
            break;
        case 'K':
            o->tls_key = optarg;
            break;
        case 'c':
            ok = number_flag("--max-connections", optarg, 1, 1000000, &o->max_connections);
            break;
        case 'i':
            ok = number_flag("--idle-timeout", optarg, 1, 86400, &o->idle_timeout);
            break;
        case 'p':
            o->trusted_proxies = optarg;
            break;
        case 'T':
            ok = number_flag("--hash-threads", optarg, 1, 256, &hash_threads);
            o->svc.hash_threads = (unsigned)hash_threads;
            break;
        case 'Q':
            ok = number_flag("--hash-queue", optarg, 1, 100000, &hash_queue);
            o->svc.hash_queue = (unsigned)hash_queue;
            break;
        case 'P':
            ok = number_flag("--max-connections-per-ip", optarg, 0, 1000000, &o->per_ip);
            break;
        case 'H':
            ok = number_flag("--header-timeout", optarg, 1, 3600, &o->header_timeout);
            break;
        case 'G':
            o->github_keys = optarg;
            break;
        case 'N':
            ok = notify_before_flag("--notify-before", optarg, &o->svc);
            break;
        case 'r':
            ok = delivery_retry_flag("--delivery-retry", optarg, &o->svc);
            break;
        case 'S':
            o->events.smtp_url = optarg;
            break;
        case 'F':
            o->events.smtp_from = optarg;
            break;
        case 'U':
            o->events.smtp_credentials = optarg;
            break;
        case 'u':
            o->events.public_url = optarg;
            break;
        case 'f':
            ok = strcmp(optarg, "text") == 0 || strcmp(optarg, "json") == 0;
            o->log_json = strcmp(optarg, "json") == 0;
            if (!ok)
                die_message("--log-format takes text or json, not '%s'", optarg);
            break;
        case ':':
            die_message("%s needs a value; see 'tesserad --help'", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            die_message("unknown option '%s'; see 'tesserad --help'", argv[optind - 1]);
            return EXIT_USAGE;
        }
        if (!ok)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        die_message("unexpected argument '%s'; see 'tesserad --help'", argv[optind]);
        return EXIT_USAGE;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        die_message("--tls-cert and --tls-key go together: give both or neither");
        return EXIT_USAGE;
    }
    return events_setup(&o->events, &o->svc) ? EXIT_OK : EXIT_USAGE;
}

/* Reads the PEM file at path (named by flag in messages) into a new
 * NUL-terminated buffer at *out, at most PEM_MAX bytes. */
static bool read_pem(const char *flag, const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t len = 0;
    ssize_t got = 1;
    int saved;

    *out = NULL;
    if (fd < 0)
        goto fail;
    buf = malloc(PEM_MAX + 1);
    if (!buf) {
        errno = ENOMEM;
        goto fail;
    }
    while (len <= PEM_MAX && (got = read(fd, buf + len, PEM_MAX + 1 - len)) > 0)
        len += (size_t)got;
    if (got < 0)
        goto fail;
    close(fd);
    if (len > PEM_MAX) {
        die_message("cannot use %s '%s': larger than %d bytes", flag, path, PEM_MAX);
        free(buf);
        return false;
    }
    buf[len] = '\0';
    *out = buf;
    return true;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    free(buf);
    die_message("cannot read %s '%s': %s", flag, path, strerror(saved));
    return false;
}

/* Frees a PEM buffer, wiping it first: it may hold a private key. */
static void free_pem(char *pem)
{
    if (pem) {
        sodium_memzero(pem, strlen(pem));
        free(pem);
    }
}

/* Raises the soft limit on open files to the hard limit, so that the
 * connection limit can be reached, and warns when it still cannot. */
static void raise_files_limit(int64_t max_connections)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return;
    }
    if (rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < (uint64_t)max_connections + FILES_RESERVE)
        tsr_log(TSR_LOG_WARN,
                "--max-connections %lld needs about %lld open files, but this process may "
                "open %llu; raise the limit (ulimit -n, or LimitNOFILE= in systemd)",
                (long long)max_connections, (long long)max_connections + FILES_RESERVE,
                (unsigned long long)rl.rlim_cur);
}

/* Writes the generated password to a 0600 file beside the database. */
static bool write_admin_password(const char *db, const char *password, char *path, size_t size)
{
    char dir[4096];
    int fd;
    size_t len = strlen(password);
    bool ok;

    snprintf(dir, sizeof(dir), "%s", db);
    snprintf(path, size, "%s/%s", dirname(dir), ADMIN_PASSWORD_FILE);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return false;
    ok = fchmod(fd, 0600) == 0 && write(fd, password, len) == (ssize_t)len &&
         write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    return close(fd) == 0 && ok;
}

/* A database URL has no folder beside it for the generated password. */
static bool is_url(const char *db)
{
    return strstr(db, "://") != NULL;
}

static bool ensure_admin(struct tsr_store *store, struct tsr_service *svc, const char *db)
{
    const char *given = getenv("TESSERA_ADMIN_PASSWORD");
    char generated[TSR_GENERATED_PW_LEN + 1];
    char path[4200], shown[4200];
    bool created;
    int64_t users = 0;
    enum tsr_err rc;

    if (!(given && *given) && is_url(db)) {
        /* Refused before anything is created: an admin whose password
         * could not be written anywhere is one nobody can log in as. */
        rc = tsr_store_user_count(store, &users);
        if (rc == TSR_OK && users == 0) {
            die_message("the first start on a database URL needs TESSERA_ADMIN_PASSWORD "
                        "(there is no folder to write %s's password to)",
                        TSR_ADMIN_EMAIL);
            return false;
        }
    }
    rc = tsr_users_ensure_admin(svc, given && *given ? given : NULL, generated, &created);
    if (rc != TSR_OK) {
        die_message("cannot create the first user %s: %s", TSR_ADMIN_EMAIL, tsr_strerror(rc));
        return false;
    }
    if (!created)
        return true;
    if (given && *given) {
        tsr_log(TSR_LOG_INFO, "created %s with the password in TESSERA_ADMIN_PASSWORD",
                TSR_ADMIN_EMAIL);
        return true;
    }
    if (!write_admin_password(db, generated, path, sizeof(path))) {
        sodium_memzero(generated, sizeof(generated));
        redact_target(path, shown, sizeof(shown));
        die_message("cannot write '%s': %s", shown, strerror(errno));
        return false;
    }
    sodium_memzero(generated, sizeof(generated));
    tsr_log(TSR_LOG_INFO, "created %s; its password is in %s", TSR_ADMIN_EMAIL, path);
    return true;
}

/* Signals are taken by sigwait in the main thread only: every thread the
 * server starts inherits this mask. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve(const struct tsr_http_config *hc, struct tsr_service *svc, sigset_t *set)
{
    struct tsr_http *http = NULL;
    char url[128], err[512];
    int sig = 0;

    if (tsr_http_start(svc, hc, &http, url, sizeof(url), err, sizeof(err)) != TSR_OK) {
        die_message("%s", err);
        return EXIT_FAIL;
    }
    /* The contract's ready line, exactly, whatever the log format. */
    fprintf(stderr, "listening on %s\n", url);
    fflush(stderr);
    while (sigwait(set, &sig) != 0)
        ;
    tsr_log(TSR_LOG_INFO, "stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    tsr_http_stop(http);
    return EXIT_OK;
}

/* The files that serve reads before anything is opened; each NULL when not
 * given. */
struct serve_files {
    char *cert;
    char *key;
    char *github_keys;
};

/* Reads the TLS files and GitHub's keys and checks the HTTP settings into
 * hc, before anything is opened: what is wrong with them is a usage error. */
static int http_config(const struct serve_options *o, struct tsr_http_config *hc,
                       struct serve_files *files)
{
    char err[512];

    *files = (struct serve_files){.cert = NULL};
    if (o->tls_cert && (!read_pem("--tls-cert", o->tls_cert, &files->cert) ||
                        !read_pem("--tls-key", o->tls_key, &files->key)))
        return EXIT_USAGE;
    /* Not PEM but JSON, read the same way: a small text file, whole. */
    if (o->github_keys && !read_pem("--github-keys-file", o->github_keys, &files->github_keys))
        return EXIT_USAGE;
    *hc = (struct tsr_http_config){
        .listen = o->listen,
        .threads = o->threads,
        .max_lifetime_days = o->svc.max_lifetime_days,
        .tls_cert_pem = files->cert,
        .tls_key_pem = files->key,
        .max_connections = (unsigned)o->max_connections,
        .idle_timeout = (unsigned)o->idle_timeout,
        .trusted_proxies = o->trusted_proxies,
        .per_ip_limit = (unsigned)o->per_ip,
        .per_ip_unlimited = o->per_ip == 0,
        .header_timeout = (unsigned)o->header_timeout,
        .github_keys_json = files->github_keys,
    };
    if (tsr_http_check(hc, err, sizeof(err)) != TSR_OK) {
        die_message("%s", err);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_options o;
    struct tsr_http_config hc;
    struct tsr_store *store = NULL;
    struct tsr_service *svc;
    struct serve_files files = {.cert = NULL};
    int status = parse_options(argc, argv, &o);
    sigset_t set;
    enum tsr_err rc;

    if (status == EXIT_OK)
        status = http_config(&o, &hc, &files);
    if (status != EXIT_OK)
        goto out;
    block_signals(&set);
    tsr_log_set_json(o.log_json);
    if (!tsr_notify_global_init()) {
        die_message("cannot start libcurl, which sends webhooks and e-mail");
        status = EXIT_FAIL;
        goto out;
    }
    raise_files_limit(o.max_connections);
    store = open_store(o.db);
    if (!store) {
        status = EXIT_FAIL;
        goto out;
    }
    rc = tsr_service_new(store, &o.svc, &svc);
    if (rc != TSR_OK) {
        die_message("cannot start: %s", tsr_strerror(rc));
        status = EXIT_FAIL;
        goto out;
    }
    status = ensure_admin(store, svc, o.db) ? serve(&hc, svc, &set) : EXIT_FAIL;
    tsr_service_free(svc); /* writes what it still holds */
out:
    tsr_store_close(store);
    free_pem(files.cert);
    free_pem(files.key);
    free_pem(files.github_keys);
    sodium_memzero(&o.events.smtp, sizeof(o.events.smtp));
    tsr_notify_global_cleanup();
    if (status == EXIT_OK)
        tsr_log(TSR_LOG_INFO, "stopped");
    return status;
}
