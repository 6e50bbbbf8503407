/* main.c - tesserad: the server and the operator's commands */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tesserad/commands.h"

static const char usage[] =
    "usage: tesserad [serve] [--listen HOST:PORT] [--db PATH] [--max-lifetime DAYS]\n"
    "                [--max-tokens N] [--threads N] [--log-format text|json]\n"
    "       tesserad user add|passwd|remove EMAIL [--db PATH]\n"
    "       tesserad user list [--db PATH]\n"
    "       tesserad scope add NAME [--description TEXT] [--db PATH]\n"
    "       tesserad scope list | remove NAME [--db PATH]\n"
    "       tesserad webhook add URL --secret-file FILE [--events TYPE,...] [--db PATH]\n"
    "       tesserad webhook list | remove ID | deliveries [ID] [--db PATH]\n"
    "       tesserad backup DEST [--db PATH]\n"
    "       tesserad --help | --version\n"
    "\n"
    "Tessera's server: the personal-token API on HTTP, and the operator's commands.\n"
    "See tesserad(8).\n";

void die_message(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "tesserad: %s\n", msg);
}

const char *db_path(const char *flag)
{
    const char *env = getenv("TESSERA_DB");

    if (flag)
        return flag;
    return env && *env ? env : DEFAULT_DB;
}

bool parse_number(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long n;

    if (!s || *s == '\0')
        return false;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

int parse_db_option(int argc, char **argv, int first, const char **db)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    int c;

    opterr = 0;
    optind = first;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c != 'd') {
            die_message("%s '%s'; see 'tesserad --help'",
                        c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
        *db = optarg;
    }
    return EXIT_OK;
}

/* Appends len bytes of s to out at *at, as far as size allows. */
static void append(char *out, size_t size, size_t *at, const char *s, size_t len)
{
    size_t room = size - 1 - *at;

    if (len > room)
        len = room;
    memcpy(out + *at, s, len);
    *at += len;
    out[*at] = '\0';
}

/* Copies a database target for a message, without what a URL may carry of
 * credentials (user:password@ and ?password=...): messages go to logs. */
void redact_target(const char *target, char *out, size_t size)
{
    const char *scheme_end = strstr(target, "://");
    const char *host, *path, *at_sign, *end;
    size_t n = 0;

    out[0] = '\0';
    if (!scheme_end) {
        append(out, size, &n, target, strlen(target));
        return;
    }
    host = scheme_end + 3;
    path = host + strcspn(host, "/?");
    at_sign = memchr(host, '@', (size_t)(path - host));
    end = target + strcspn(target, "?");
    append(out, size, &n, target, (size_t)(host - target));
    if (at_sign)
        host = at_sign + 1;
    append(out, size, &n, host, (size_t)(end - host));
}

struct tsr_store *open_store(const char *path)
{
    struct tsr_store *store = NULL;
    char why[256] = "";
    char shown[512];
    enum tsr_err rc = tsr_store_open(path, &store, why, sizeof(why));

    if (rc != TSR_OK) {
        redact_target(path, shown, sizeof(shown));
        die_message("cannot open database '%s': %s", shown, why[0] ? why : tsr_strerror(rc));
        return NULL;
    }
    return store;
}

bool open_service(const char *path, struct tsr_store **store, struct tsr_service **svc)
{
    struct tsr_service_config cfg;

    *store = open_store(path);
    if (!*store)
        return false;
    tsr_service_config_defaults(&cfg);
    if (tsr_service_new(*store, &cfg, svc) != TSR_OK) {
        die_message("cannot start: out of memory");
        tsr_store_close(*store);
        return false;
    }
    return true;
}

void close_service(struct tsr_store *store, struct tsr_service *svc)
{
    tsr_service_free(svc);
    tsr_store_close(store);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("tesserad %s\n", TSR_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc > 1 ? argc - 1 : argc, argc > 1 ? argv + 1 : argv);
    if (cmd[0] == '-') /* "tesserad --listen ..." is "tesserad serve --listen ..." */
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    if (strcmp(cmd, "scope") == 0)
        return cmd_scope(argc - 1, argv + 1);
    if (strcmp(cmd, "webhook") == 0)
        return cmd_webhook(argc - 1, argv + 1);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc - 1, argv + 1);
    die_message("unknown command '%s'; see 'tesserad --help'", cmd);
    return EXIT_USAGE;
}
