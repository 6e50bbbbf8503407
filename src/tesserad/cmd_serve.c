/* cmd_serve.c - tesserad serve: open the store, create the first admin, serve HTTP */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "http/http.h"
#include "service/log.h"
#include "service/service.h"
#include "tesserad/commands.h"

#define ADMIN_PASSWORD_FILE "admin-password"

struct serve_options {
    const char *listen;
    const char *db;
    struct tsr_service_config svc;
    unsigned threads;
    bool log_json;
};

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
    return env_number("TESSERA_MAX_LIFETIME_DAYS", 0, 36500, &o->svc.max_lifetime_days) &&
           env_number("TESSERA_MAX_TOKENS", 0, 1000000, &o->svc.max_tokens) &&
           env_number("TESSERA_LOGIN_MAX_FAILURES", 0, 1000000, &o->svc.login_max_failures) &&
           env_number("TESSERA_LOGIN_WINDOW", 1, 86400 * 7, &o->svc.login_window) &&
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
        {"token-retention", required_argument, NULL, 'R'},
        {"audit-retention", required_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    int64_t threads = 0;
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
        case 'R':
            ok = number_flag("--token-retention", optarg, 0, 36500, &o->svc.token_retention_days);
            break;
        case 'A':
            ok = number_flag("--audit-retention", optarg, 0, 36500, &o->svc.audit_retention_days);
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
    return EXIT_OK;
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

static bool ensure_admin(struct tsr_service *svc, const char *db)
{
    const char *given = getenv("TESSERA_ADMIN_PASSWORD");
    char generated[TSR_GENERATED_PW_LEN + 1];
    char path[4200];
    bool created;
    enum tsr_err rc =
        tsr_users_ensure_admin(svc, given && *given ? given : NULL, generated, &created);

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
        die_message("cannot write '%s': %s", path, strerror(errno));
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

static int serve(const struct serve_options *o, struct tsr_service *svc, sigset_t *set)
{
    struct tsr_http_config hc = {
        .listen = o->listen, .threads = o->threads, .max_lifetime_days = o->svc.max_lifetime_days};
    struct tsr_http *http = NULL;
    char url[128], err[512];
    int sig = 0;

    if (tsr_http_start(svc, &hc, &http, url, sizeof(url), err, sizeof(err)) != TSR_OK) {
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

int cmd_serve(int argc, char **argv)
{
    struct serve_options o;
    struct tsr_store *store;
    struct tsr_service *svc = NULL;
    int status = parse_options(argc, argv, &o);
    sigset_t set;
    enum tsr_err rc;

    if (status != EXIT_OK)
        return status;
    block_signals(&set);
    tsr_log_set_json(o.log_json);
    store = open_store(o.db);
    if (!store)
        return EXIT_FAIL;
    rc = tsr_service_new(store, &o.svc, &svc);
    if (rc != TSR_OK) {
        die_message("cannot start: %s", tsr_strerror(rc));
        tsr_store_close(store);
        return EXIT_FAIL;
    }
    status = ensure_admin(svc, o.db) ? serve(&o, svc, &set) : EXIT_FAIL;
    tsr_service_free(svc); /* writes what it still holds */
    tsr_store_close(store);
    if (status == EXIT_OK)
        tsr_log(TSR_LOG_INFO, "stopped");
    return status;
}
