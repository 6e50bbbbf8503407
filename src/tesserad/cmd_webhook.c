/* cmd_webhook.c - tesserad webhook add|list|remove|deliveries: where events are posted */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "service/service.h"
#include "tesserad/commands.h"

#define DELIVERIES_DEFAULT 50

static const char webhook_usage[] =
    "usage: tesserad webhook add URL --secret-file FILE [--events TYPE,...] [--db PATH]\n"
    "       tesserad webhook list [--db PATH]\n"
    "       tesserad webhook remove ID [--db PATH]\n"
    "       tesserad webhook deliveries [ID] [--state pending|done|failed|dropped]\n"
    "                                   [--limit N] [--db PATH]\n"
    "\n"
    "Webhooks receive the events of tokens' lives as signed JSON POSTs:\n"
    "  " TSR_EVENT_TYPES "\n"
    "(every one unless --events names some). The signing key is the first line of\n"
    "FILE. A running server posts to a new webhook from its next event on.\n"
    "'deliveries' shows the newest deliveries (of webhook ID, or of every channel).\n"
    "See tesserad(8).\n";

struct webhook_options {
    const char *db;
    const char *secret_file;
    const char *events;
    const char *state;
    int64_t limit;
};

/* The first line of path, without its line break, into key. */
static bool read_key(const char *path, char *key, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t len;
    bool ok;

    if (!f) {
        die_message("cannot read the secret file %s: %s", path, strerror(errno));
        return false;
    }
    ok = fgets(key, (int)size, f) != NULL;
    fclose(f);
    len = ok ? strcspn(key, "\r\n") : 0;
    if (ok && key[len] == '\0' && len == size - 1) {
        die_message("the secret in %s is longer than %d characters", path, TSR_HOOK_KEY_MAX);
        sodium_memzero(key, size);
        return false;
    }
    key[len] = '\0';
    if (len == 0) {
        die_message("the secret file %s has no secret on its first line", path);
        return false;
    }
    return true;
}

static int add(struct tsr_service *svc, const char *url, const struct webhook_options *o)
{
    char key[TSR_HOOK_KEY_MAX + 2];
    struct tsr_webhook_row hook;
    struct tsr_problem why = {0};
    enum tsr_err rc;

    if (!o->secret_file) {
        die_message("webhook add needs --secret-file FILE: its first line signs every body");
        return EXIT_USAGE;
    }
    if (!read_key(o->secret_file, key, sizeof(key)))
        return EXIT_FAIL;
    rc = tsr_webhooks_add(svc, url, key, o->events, &hook, &why);
    sodium_memzero(key, sizeof(key));
    if (rc == TSR_ERR_INVALID) {
        die_message("%s", why.detail);
        return EXIT_USAGE;
    }
    if (rc == TSR_ERR_EXISTS) {
        die_message("a webhook already posts to %s", url);
        return EXIT_FAIL;
    }
    if (rc != TSR_OK) {
        die_message("cannot add the webhook: %s", tsr_strerror(rc));
        return EXIT_FAIL;
    }
    printf("%s\n", hook.id);
    fprintf(stderr, "added webhook %s for %s\n", hook.id,
            hook.events[0] ? hook.events : "every event");
    return EXIT_OK;
}

static enum tsr_err print_hook(const struct tsr_webhook_row *h, void *ctx)
{
    char created[TSR_TIME_LEN + 1];

    (void)ctx;
    tsr_time_format(h->created, created);
    printf("%-36s  %-20s  %-30s  %s\n", h->id, created, h->events[0] ? h->events : "all", h->url);
    return TSR_OK;
}

static int list(struct tsr_service *svc)
{
    enum tsr_err rc;

    printf("%-36s  %-20s  %-30s  %s\n", "ID", "CREATED", "EVENTS", "URL");
    rc = tsr_webhooks_list(svc, print_hook, NULL);
    if (rc != TSR_OK) {
        die_message("cannot list the webhooks: %s", tsr_strerror(rc));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int remove_hook(struct tsr_service *svc, const char *id)
{
    struct tsr_problem why = {0};
    enum tsr_err rc = tsr_webhooks_remove(svc, id, &why);

    if (rc == TSR_ERR_INVALID) {
        die_message("%s", why.detail);
        return EXIT_USAGE;
    }
    if (rc == TSR_ERR_NOT_FOUND) {
        die_message("there is no webhook %s; see 'tesserad webhook list'", id);
        return EXIT_FAIL;
    }
    if (rc != TSR_OK) {
        die_message("cannot remove webhook %s: %s", id, tsr_strerror(rc));
        return EXIT_FAIL;
    }
    fprintf(stderr, "removed webhook %s\n", id);
    return EXIT_OK;
}

static const char *const state_names[] = {
    [TSR_DELIVERY_PENDING] = "pending",
    [TSR_DELIVERY_DONE] = "done",
    [TSR_DELIVERY_FAILED] = "failed",
    [TSR_DELIVERY_DROPPED] = "dropped",
};

static bool parse_state(const char *text, enum tsr_delivery_state *out)
{
    *out = 0;
    if (!text)
        return true;
    for (int s = TSR_DELIVERY_PENDING; s <= TSR_DELIVERY_DROPPED; s++) {
        if (strcmp(text, state_names[s]) == 0) {
            *out = (enum tsr_delivery_state)s;
            return true;
        }
    }
    die_message("--state is one of pending, done, failed and dropped, not '%.40s'", text);
    return false;
}

static enum tsr_err print_delivery(const struct tsr_delivery_row *d, void *ctx)
{
    char when[TSR_TIME_LEN + 1], target[TSR_HOOK_URL_MAX + TSR_EMAIL_MAX + 16];
    int64_t at = d->state == TSR_DELIVERY_PENDING ? d->next_at : d->finished_at;
    bool valid = d->state >= TSR_DELIVERY_PENDING && d->state <= TSR_DELIVERY_DROPPED;

    (void)ctx;
    tsr_time_format(at, when);
    if (d->channel == TSR_CHANNEL_EMAIL)
        snprintf(target, sizeof(target), "mail:%s", d->email[0] ? d->email : "(owner removed)");
    else
        snprintf(target, sizeof(target), "%s", d->url[0] ? d->url : "(webhook removed)");
    printf("%-8lld  %-36s  %-14s  %-7s  %8lld  %6lld  %-20s  %s%s%s\n", (long long)d->id,
           d->event.id, d->event.type, valid ? state_names[d->state] : "?", (long long)d->attempts,
           (long long)d->last_status, when, target, d->last_error[0] ? "  " : "", d->last_error);
    return TSR_OK;
}

static int deliveries(struct tsr_service *svc, const char *id, const struct webhook_options *o)
{
    enum tsr_delivery_state state;
    enum tsr_err rc;

    if (!parse_state(o->state, &state))
        return EXIT_USAGE;
    printf("%-8s  %-36s  %-14s  %-7s  %8s  %6s  %-20s  %s\n", "ID", "EVENT", "TYPE", "STATE",
           "ATTEMPTS", "STATUS", "NEXT/FINISHED", "TARGET  LAST ERROR");
    rc = tsr_deliveries_list(svc, id, state, o->limit, print_delivery, NULL);
    if (rc != TSR_OK) {
        die_message("cannot list the deliveries: %s", tsr_strerror(rc));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Reads the options from argv[2] on; optind is then at the first operand. */
static int parse_options(int argc, char **argv, struct webhook_options *o)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},     {"secret-file", required_argument, NULL, 's'},
        {"events", required_argument, NULL, 'e'}, {"state", required_argument, NULL, 'S'},
        {"limit", required_argument, NULL, 'n'},  {NULL, 0, NULL, 0}};
    int c;

    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'd') {
            o->db = optarg;
        } else if (c == 's') {
            o->secret_file = optarg;
        } else if (c == 'e') {
            o->events = optarg;
        } else if (c == 'S') {
            o->state = optarg;
        } else if (c == 'n' && parse_number(optarg, 1, 100000, &o->limit)) {
            continue;
        } else if (c == 'n') {
            die_message("--limit takes a whole number from 1 to 100000, not '%.40s'", optarg);
            return EXIT_USAGE;
        } else {
            die_message("%s '%s'; see 'tesserad webhook --help'",
                        c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* The operands sub takes: add and remove one, list none, deliveries at most one. */
static bool operands_fit(const char *sub, int n)
{
    if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0)
        return n == 1;
    if (strcmp(sub, "deliveries") == 0)
        return n <= 1;
    return n == 0;
}

static int run(struct tsr_service *svc, const char *sub, const char *operand,
               const struct webhook_options *o)
{
    if (strcmp(sub, "add") == 0)
        return add(svc, operand, o);
    if (strcmp(sub, "remove") == 0)
        return remove_hook(svc, operand);
    if (strcmp(sub, "deliveries") == 0)
        return deliveries(svc, operand, o);
    return list(svc);
}

int cmd_webhook(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    struct webhook_options o = {.limit = DELIVERIES_DEFAULT};
    struct tsr_store *store;
    struct tsr_service *svc = NULL;
    int status;

    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(webhook_usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "remove") != 0 &&
        strcmp(sub, "deliveries") != 0) {
        die_message("usage: tesserad webhook add URL --secret-file FILE [--events TYPE,...] | "
                    "list | remove ID | deliveries [ID]; see 'tesserad webhook --help'");
        return EXIT_USAGE;
    }
    if (parse_options(argc, argv, &o) != EXIT_OK)
        return EXIT_USAGE;
    if (!operands_fit(sub, argc - optind)) {
        die_message("webhook %s takes %s", sub,
                    strcmp(sub, "add") == 0          ? "one URL"
                    : strcmp(sub, "remove") == 0     ? "one ID"
                    : strcmp(sub, "deliveries") == 0 ? "at most one webhook ID"
                                                     : "no argument");
        return EXIT_USAGE;
    }
    if (!open_service(db_path(o.db), &store, &svc))
        return EXIT_FAIL;
    status = run(svc, sub, argc > optind ? argv[optind] : NULL, &o);
    close_service(store, svc);
    return status;
}
