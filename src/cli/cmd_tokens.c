/* cmd_tokens.c - tessera create, list, describe, update, rotate and delete token */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/expiry.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "core/limits.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "core/validate.h"

#define ANSWER_MAX     (TSR_NAME_MAX_CHARS * 4 + 112) /* a name's code points, of up to 4 bytes */
#define ASKS           3    /* how often a question is asked before giving up */
#define PAGES_MAX      1000 /* --all stops here: 100,000 tokens */
#define NAME_COLS      40   /* longer names are cut in tables; describe shows them whole */
#define SCOPE_COLS     32   /* and longer lists of scopes */
#define WRAP_COLS      64   /* describe breaks lists of scopes and addresses here */
#define PATH_MAX_BYTES 2048
#define DEFAULT_EXPIRY "30d"

/* ---- shared ---- */

/* The id parameter as the API wants it: a lowercase UUID, or "self" where
 * allowed. Upper case is forgiven, since some tools print UUIDs that way. */
static int token_path(struct tsr_cli *cli, bool self_ok, char *path, size_t size)
{
    const char *given = cli->params[0];
    char id[TSR_UUID_LEN + 1];
    size_t len = strlen(given);

    if (self_ok && strcmp(given, "self") == 0) {
        snprintf(path, size, "/v4/iam/personal_tokens/self");
        return TSR_EXIT_OK;
    }
    if (len == TSR_UUID_LEN) {
        for (size_t i = 0; i < len; i++)
            id[i] = (given[i] >= 'A' && given[i] <= 'F') ? (char)(given[i] - 'A' + 'a') : given[i];
        id[len] = '\0';
        if (tsr_uuid_valid(id, len)) {
            snprintf(path, size, "/v4/iam/personal_tokens/%s", id);
            return TSR_EXIT_OK;
        }
    }
    return tsr_cli_usage(cli,
                         "'%.64s' is not a token id: ids are UUIDs such as "
                         "0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b, as 'tessera list tokens' shows",
                         given);
}

/* The strings of arr joined by spaces, with a line break instead of the
 * space before one that would take a line past WRAP_COLS: tsr_out_pair
 * indents the lines after the first. none when arr is empty; NULL when arr
 * is not an array (a server from before scopes) or memory ran out. The
 * caller frees it. */
static char *wrapped(const json_t *arr, const char *none)
{
    const json_t *s;
    size_t i, size = 1, o = 0, cols = 0;
    char *out;

    if (!json_is_array(arr))
        return NULL;
    if (json_array_size(arr) == 0)
        return strdup(none);
    json_array_foreach(arr, i, s)
    {
        size += (json_is_string(s) ? json_string_length(s) : 1) + 1;
    }
    out = malloc(size);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    json_array_foreach(arr, i, s)
    {
        const char *text = json_is_string(s) ? json_string_value(s) : "?";
        size_t w = tsr_out_width(text);
        bool wrap = i > 0 && cols + 1 + w > WRAP_COLS;

        o += (size_t)snprintf(out + o, size - o, "%s%s", i == 0 ? "" : wrap ? "\n" : " ", text);
        cols = wrap || i == 0 ? w : cols + 1 + w;
    }
    return out;
}

/* Prints "label: value" for a list member of t, when t has it. */
static bool print_list_pair(const json_t *t, const char *label, const char *key, const char *none)
{
    char *text = wrapped(json_object_get(t, key), none);
    bool ok = text == NULL || tsr_out_pair(stdout, label, text) == TSR_OK;

    free(text);
    return ok;
}

/* Prints a token object as labelled lines. Members that an older server
 * does not send (scopes and the rest) are left out rather than guessed. */
static int print_token(const json_t *t)
{
    char name[TSR_OUT_CELL_MAX], when[96];
    const char *desc = tsr_out_jstr(t, "description");
    json_t *used = json_object_get(t, "last_used_at");
    json_t *not_before = json_object_get(t, "not_before");
    json_t *used_ip = json_object_get(t, "last_used_ip");
    int64_t now = tsr_time_now();
    bool ok;

    tsr_out_clean(tsr_out_jstr(t, "name"), name, sizeof(name), 0);
    ok = tsr_out_pair(stdout, "ID", tsr_out_jstr(t, "id")) == TSR_OK &&
         tsr_out_pair(stdout, "Name", name) == TSR_OK &&
         tsr_out_pair(stdout, "Description", desc[0] != '\0' ? desc : "-") == TSR_OK &&
         tsr_out_pair(stdout, "Hint", tsr_out_jstr(t, "key_hint")) == TSR_OK &&
         tsr_out_pair(stdout, "Status", tsr_out_jstr(t, "status")) == TSR_OK;
    ok = ok && print_list_pair(t, "Scopes", "scopes", "-");
    ok = ok && print_list_pair(t, "Allowed IPs", "allowed_ips", "anywhere");
    tsr_out_time(tsr_out_jstr(t, "created"), now, true, when, sizeof(when));
    ok = ok && tsr_out_pair(stdout, "Created", when) == TSR_OK;
    if (json_is_string(not_before))
        tsr_out_time(json_string_value(not_before), now, true, when, sizeof(when));
    else
        snprintf(when, sizeof(when), "none");
    ok = ok && (not_before == NULL || tsr_out_pair(stdout, "Not before", when) == TSR_OK);
    tsr_out_time(tsr_out_jstr(t, "expires_at"), now, true, when, sizeof(when));
    ok = ok && tsr_out_pair(stdout, "Expires", when) == TSR_OK;
    tsr_out_time(json_is_string(used) ? json_string_value(used) : NULL, now, true, when,
                 sizeof(when));
    ok = ok && tsr_out_pair(stdout, "Last used", when) == TSR_OK;
    ok = ok && (used_ip == NULL ||
                tsr_out_pair(stdout, "Last used IP",
                             json_is_string(used_ip) ? json_string_value(used_ip) : "-") == TSR_OK);
    if (!ok || fflush(stdout) != 0)
        return tsr_cli_write_failed();

    return TSR_EXIT_OK;
}

/* --expires: parsed here, sent as RFC 3339 UTC. */
static bool parse_expiry(const char *text, char out[TSR_TIME_LEN + 1], char *why, size_t size)
{
    int64_t t;

    if (tsr_expiry_parse(text, tsr_time_now(), &t, why, size) != TSR_OK)
        return false;
    tsr_time_format(t, out);
    return true;
}

/* --not-before: the forms of --expires, counted the same way. */
static bool parse_not_before(const char *text, char out[TSR_TIME_LEN + 1], char *why, size_t size)
{
    int64_t t;

    if (tsr_when_parse(text, "the not-before time", tsr_time_now(), &t, why, size) != TSR_OK)
        return false;
    tsr_time_format(t, out);
    return true;
}

/* Sets body's member key to the values of l as an array of strings, as
 * given: which names and blocks are good is the server's to say. False
 * when a value is not UTF-8 (jansson refuses it) or memory ran out. */
static bool set_list(json_t *body, const char *key, const struct tsr_args_list *l)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        if (json_array_append_new(arr, json_string(l->v[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr != NULL && json_object_set_new(body, key, arr) == 0;
}

/* What create and update send about scopes, addresses and not-before,
 * added to body. Returns TSR_EXIT_OK, or TSR_EXIT_USAGE having said why. */
static int set_limits(struct tsr_cli *cli, json_t *body)
{
    const struct tsr_args *a = cli->args;
    char not_before[TSR_TIME_LEN + 1], why[256];
    bool ok = true;

    if (a->allow_ips.n > 0 && (a->given & TSR_OPT_ALLOW_ANYWHERE) != 0)
        return tsr_cli_usage(cli, "--allow-ip and --allow-anywhere cannot be used together");
    if (a->not_before != NULL && (a->given & TSR_OPT_CLEAR_NOT_BEFORE) != 0)
        return tsr_cli_usage(cli, "--not-before and --clear-not-before cannot be used together");
    if (a->not_before != NULL && !parse_not_before(a->not_before, not_before, why, sizeof(why)))
        return tsr_cli_usage(cli, "%s", why);
    ok = a->scopes.n == 0 || set_list(body, "scopes", &a->scopes);
    ok = ok && (a->allow_ips.n == 0 || set_list(body, "allowed_ips", &a->allow_ips));
    ok = ok && ((a->given & TSR_OPT_ALLOW_ANYWHERE) == 0 ||
                json_object_set_new(body, "allowed_ips", json_array()) == 0);
    ok = ok && (a->not_before == NULL ||
                json_object_set_new(body, "not_before", json_string(not_before)) == 0);
    ok = ok && ((a->given & TSR_OPT_CLEAR_NOT_BEFORE) == 0 ||
                json_object_set_new(body, "not_before", json_null()) == 0);
    if (!ok)
        return tsr_cli_usage(cli, "the scopes and addresses must be UTF-8 text");
    return TSR_EXIT_OK;
}

/* ---- create ---- */

static int ask_name(struct tsr_cli *cli, char *buf, size_t size)
{
    for (int i = 0; i < ASKS; i++) {
        const char *s = buf;
        size_t len;
        enum tsr_err rc = tsr_prompt_ask("Name: ", buf, size);

        if (rc == TSR_ERR_MISSING || rc == TSR_ERR_IO)
            break;
        len = strlen(buf);
        tsr_trim(&s, &len);
        if (rc == TSR_OK && len > 0)
            return TSR_EXIT_OK;
        fprintf(stderr, rc == TSR_OK ? "A name is required.\n" : "That name is too long.\n");
    }
    return tsr_cli_usage(cli, "no name given");
}

static int ask_expiry(struct tsr_cli *cli, char out[TSR_TIME_LEN + 1])
{
    char answer[ANSWER_MAX], why[256];

    for (int i = 0; i < ASKS; i++) {
        enum tsr_err rc = tsr_prompt_ask(
            "Expires in (" TSR_EXPIRY_FORMS ") [" DEFAULT_EXPIRY "]: ", answer, sizeof(answer));

        if (rc == TSR_ERR_MISSING || rc == TSR_ERR_IO)
            break;
        if (rc == TSR_OK && answer[0] == '\0')
            snprintf(answer, sizeof(answer), "%s", DEFAULT_EXPIRY);
        if (rc == TSR_OK && parse_expiry(answer, out, why, sizeof(why)))
            return TSR_EXIT_OK;
        fprintf(stderr, "%s.\n", rc == TSR_OK ? why : "That answer is too long");
    }
    return tsr_cli_usage(cli, "no expiry given");
}

int tsr_cmd_create(struct tsr_cli *cli)
{
    const struct tsr_args *a = cli->args;
    char name[ANSWER_MAX], expires[TSR_TIME_LEN + 1], why[256], when[96];
    char shown[TSR_OUT_CELL_MAX], not_before[TSR_TIME_LEN + 1];
    json_t *body = NULL, *resp = NULL, *data;
    const char *key;
    int status = tsr_cli_auth(cli);

    if (status != TSR_EXIT_OK)
        return status;
    /* Check what was given before asking for what was not. */
    if (a->expires != NULL && !parse_expiry(a->expires, expires, why, sizeof(why)))
        return tsr_cli_usage(cli, "%s", why);
    if (a->not_before != NULL && !parse_not_before(a->not_before, not_before, why, sizeof(why)))
        return tsr_cli_usage(cli, "%s", why);
    if ((a->name == NULL || a->expires == NULL) && !tsr_prompt_is_tty())
        return tsr_cli_usage(cli,
                             "%s required: standard input is not a terminal, so tessera "
                             "cannot ask",
                             a->name == NULL && a->expires == NULL ? "--name and --expires are"
                             : a->name == NULL                     ? "--name is"
                                                                   : "--expires is");
    if (a->name != NULL)
        snprintf(name, sizeof(name), "%s", a->name);
    else if ((status = ask_name(cli, name, sizeof(name))) != TSR_EXIT_OK)
        return status;
    if (a->expires == NULL && (status = ask_expiry(cli, expires)) != TSR_EXIT_OK)
        return status;

    body = json_pack("{s:s, s:s}", "name", name, "expires_at", expires);
    if (body != NULL && a->description != NULL &&
        json_object_set_new(body, "description", json_string(a->description)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (body == NULL) {
        /* jansson refuses text that is not UTF-8. */
        return tsr_cli_usage(cli, "the name and description must be UTF-8 text");
    }
    if ((status = set_limits(cli, body)) != TSR_EXIT_OK) {
        json_decref(body);
        return status;
    }
    status = tsr_cli_call(cli, "POST", "/v4/iam/personal_tokens", body, 201, &resp);
    json_decref(body);
    if (status != TSR_EXIT_OK)
        goto out;
    if (cli->json) {
        status = tsr_cli_print_json(resp);
        goto out;
    }
    data = json_object_get(resp, "data");
    key = json_string_value(json_object_get(data, "key"));
    if (key == NULL) {
        tsr_cli_error("%s answered without the new token: is it a Tessera server?", cli->server);
        status = TSR_EXIT_ERROR;
        goto out;
    }
    tsr_out_clean(tsr_out_jstr(data, "name"), shown, sizeof(shown), 0);
    tsr_out_time(tsr_out_jstr(data, "expires_at"), tsr_time_now(), true, when, sizeof(when));
    fprintf(stderr,
            "Created token '%s' (id %s), expiring %s.\n"
            "Copy it now: it is shown only this once.\n",
            shown, tsr_out_jstr(data, "id"), when);
    fflush(stderr);
    /* The secret alone on standard output, so $(tessera create token ...)
     * captures it and nothing else. */
    if (printf("%s\n", key) < 0 || fflush(stdout) != 0) {
        status = tsr_cli_write_failed();
    }
out:
    json_decref(resp);
    return status;
}

/* ---- list ---- */

static const char *ordering_of(const char *sort, bool *desc)
{
    static const char *const names[][2] = {
        {"name", "name"},
        {"created", "created"},
        {"expires", "expires_at"},
        {"expires_at", "expires_at"},
        {"expires-at", "expires_at"},
        {"last_used", "last_used_at"},
        {"last-used", "last_used_at"},
        {"last_used_at", "last_used_at"},
        {"last-used-at", "last_used_at"},
    };

    *desc = sort[0] == '-';
    if (*desc)
        sort++;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i][0], sort) == 0)
            return names[i][1];
    }
    return NULL;
}

static bool whole(const char *s, long min, long max, long *out)
{
    char *end;
    long n;

    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* The values of --status, which are the API's, and what a list of none
 * says. */
static const char *const statuses[][2] = {
    {"active", "No active tokens."},
    {"expiring", "No expiring tokens: none expires within " TSR_EXPIRING_SOON_DAYS_TEXT " days."},
    {"expired", "No expired tokens."},
};

#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

struct listing {
    long page, page_size;
    char ordering[16];
    const char *const *status; /* a row of statuses, or NULL for every token */
    json_t *all;               /* results of every page (--all) */
};

/* The status that --status or --expiring asks for, into ls->status.
 * Returns TSR_EXIT_OK, or TSR_EXIT_USAGE having said why. */
static int status_of(struct tsr_cli *cli, struct listing *ls)
{
    const struct tsr_args *a = cli->args;
    const char *want = a->status != NULL ? a->status : "expiring";
    bool expiring = (a->given & TSR_OPT_EXPIRING) != 0;
    size_t i;

    if (a->status == NULL && !expiring)
        return TSR_EXIT_OK;
    for (i = 0; i < NSTATUSES && strcmp(statuses[i][0], want) != 0; i++)
        continue;
    if (i == NSTATUSES)
        return tsr_cli_usage(cli, "--status must be active, expiring or expired, not '%.32s'",
                             want);
    /* --expiring is a short --status expiring: it may repeat it, not
     * contradict it. */
    if (expiring && strcmp(want, "expiring") != 0)
        return tsr_cli_usage(cli, "--expiring and --status %s cannot be used together", want);
    ls->status = statuses[i];
    return TSR_EXIT_OK;
}

static int list_path(struct tsr_cli *cli, const struct listing *ls, long page, char *path,
                     size_t size)
{
    char num[24];
    bool ok;

    if (cli->client == NULL && tsr_client_new(cli->server, &cli->client) != TSR_OK) {
        tsr_cli_error("out of memory");
        return TSR_EXIT_ERROR;
    }
    snprintf(path, size, "/v4/iam/personal_tokens");
    snprintf(num, sizeof(num), "%ld", page);
    ok = page == 1 || tsr_client_query(cli->client, path, size, "page", num) == TSR_OK;
    snprintf(num, sizeof(num), "%ld", ls->page_size);
    ok = ok && (ls->page_size == 0 ||
                tsr_client_query(cli->client, path, size, "page_size", num) == TSR_OK);
    ok = ok && (cli->args->search == NULL ||
                tsr_client_query(cli->client, path, size, "search", cli->args->search) == TSR_OK);
    ok = ok && (ls->ordering[0] == '\0' ||
                tsr_client_query(cli->client, path, size, "ordering", ls->ordering) == TSR_OK);
    ok = ok && (ls->status == NULL ||
                tsr_client_query(cli->client, path, size, "status", ls->status[0]) == TSR_OK);
    if (!ok)
        return tsr_cli_usage(cli, "the search text is too long");
    return TSR_EXIT_OK;
}

static int listing_path(struct tsr_cli *cli, void *ctx, long page, char *path, size_t size)
{
    return list_path(cli, ctx, page, path, size);
}

/* Fetches every page into one object shaped as the API's. */
static int list_all(struct tsr_cli *cli, struct listing *ls, json_t **out)
{
    return tsr_cli_get_all(cli, listing_path, ls, "id", PAGES_MAX, out);
}

static const char *const list_heads[] = {
    "ID", "NAME", "SCOPES", "HINT", "CREATED (UTC)", "EXPIRES (UTC)", "LAST USED", "STATUS",
};

/* A token's scopes, space-separated, for a table: at most SCOPE_COLS
 * columns, cut after the last whole name that fits with " …" (a first name
 * too long by itself is cut as names are); "-" when the server sent none. */
static void scopes_cell(const json_t *t, char *out, size_t size)
{
    const json_t *arr = json_object_get(t, "scopes"), *s;
    size_t i, n = json_array_size(arr), cols = 0, o = 0;

    snprintf(out, size, "-");
    json_array_foreach(arr, i, s)
    {
        char name[SCOPE_COLS * 4 + 8];
        const char *text = json_is_string(s) ? json_string_value(s) : "?";
        size_t w = tsr_out_clean(text, name, sizeof(name), SCOPE_COLS);
        /* Unless this is the last, what follows needs room for " …". */
        size_t room = i + 1 < n ? SCOPE_COLS - 2 : SCOPE_COLS;

        if (cols + (i > 0) + w > room) {
            /* Not even the first fits: cut it, which shows an ellipsis. */
            if (i == 0)
                tsr_out_clean(text, out, size, SCOPE_COLS - 2);
            else
                snprintf(out + o, size - o, " \xE2\x80\xA6");
            return;
        }
        o += (size_t)snprintf(out + o, size - o, "%s%s", i > 0 ? " " : "", name);
        cols += (i > 0) + w;
    }
}

/* The STATUS cell of t: the server's status, except that an active token
 * that expires within the window that status=expiring selects reads
 * "expiring", so that the table shows what is about to stop working. */
static const char *status_cell(const json_t *t, int64_t now)
{
    const char *status = tsr_out_jstr(t, "status");
    const char *at = tsr_out_jstr(t, "expires_at");
    int64_t expires;

    if (strcmp(status, "active") == 0 && tsr_time_parse(at, strlen(at), &expires) == TSR_OK &&
        expires > now && expires - now <= TSR_EXPIRING_SOON)
        return "expiring";
    return status;
}

/* Says on standard error that the list is empty, and why it may be. */
static void say_none(const struct tsr_cli *cli, const struct listing *ls, long long count,
                     long long pages)
{
    if (count > 0)
        fprintf(stderr, "No tokens on page %ld: there %s %lld page%s.\n", ls->page,
                pages == 1 ? "is" : "are", pages, pages == 1 ? "" : "s");
    else if (cli->args->search != NULL)
        fprintf(stderr, "No %s%stokens match that search.\n", ls->status ? ls->status[0] : "",
                ls->status ? " " : "");
    else if (ls->status != NULL)
        fprintf(stderr, "%s\n", ls->status[1]);
    else
        fprintf(stderr, "No tokens yet: make one with 'tessera create token'.\n");
}

static int print_list(struct tsr_cli *cli, const struct listing *ls, const json_t *obj, bool all)
{
    const json_t *results = json_object_get(obj, "results");
    json_int_t count = json_integer_value(json_object_get(obj, "count"));
    json_int_t pages = json_integer_value(json_object_get(obj, "total_pages"));
    int64_t now = tsr_time_now();
    struct tsr_table table;
    const json_t *t;
    size_t i;
    int status = TSR_EXIT_OK;

    if (json_array_size(results) == 0) {
        say_none(cli, ls, (long long)count, (long long)pages);
        return TSR_EXIT_OK;
    }
    tsr_table_init(&table, sizeof(list_heads) / sizeof(list_heads[0]), list_heads);
    json_array_foreach(results, i, t)
    {
        char name[TSR_OUT_CELL_MAX], scopes[TSR_OUT_CELL_MAX], hint[32];
        char created[TSR_OUT_WHEN_LEN + 1], expires[96], used[64];
        const json_t *u = json_object_get(t, "last_used_at");
        const char *cells[] = {tsr_out_jstr(t, "id"), name, scopes, hint, created, expires, used,
                               status_cell(t, now)};
        int64_t when;

        tsr_out_clean(tsr_out_jstr(t, "name"), name, sizeof(name), NAME_COLS);
        scopes_cell(t, scopes, sizeof(scopes));
        tsr_out_clean(tsr_out_jstr(t, "key_hint"), hint, sizeof(hint), 0);
        if (tsr_time_parse(tsr_out_jstr(t, "created"), strlen(tsr_out_jstr(t, "created")), &when) ==
            TSR_OK)
            tsr_out_when(when, created);
        else
            snprintf(created, sizeof(created), "-");
        tsr_out_time(tsr_out_jstr(t, "expires_at"), now, false, expires, sizeof(expires));
        if (json_is_string(u) &&
            tsr_time_parse(json_string_value(u), json_string_length(u), &when) == TSR_OK)
            tsr_out_relative(when, now, used, sizeof(used));
        else
            snprintf(used, sizeof(used), "never");
        if (tsr_table_add(&table, cells) != TSR_OK) {
            tsr_cli_error("out of memory");
            status = TSR_EXIT_ERROR;
            break;
        }
    }
    if (status == TSR_EXIT_OK && (tsr_table_print(&table, stdout) != TSR_OK || fflush(stdout))) {
        status = tsr_cli_write_failed();
    }
    tsr_table_release(&table);
    if (status == TSR_EXIT_OK && !all && ls->page < pages)
        fprintf(stderr,
                "Page %ld of %lld (%lld tokens): see the next with --page %ld, or all "
                "with --all.\n",
                ls->page, (long long)pages, (long long)count, ls->page + 1);
    else if (status == TSR_EXIT_OK && !all && pages > 1)
        fprintf(stderr, "Page %ld of %lld (%lld tokens).\n", ls->page, (long long)pages,
                (long long)count);
    return status;
}

int tsr_cmd_list(struct tsr_cli *cli)
{
    const struct tsr_args *a = cli->args;
    struct listing ls = {.page = 1};
    char path[PATH_MAX_BYTES];
    json_t *obj = NULL;
    bool all = (a->given & TSR_OPT_ALL) != 0;
    bool desc;
    const char *ordering;
    int status;

    if (a->page != NULL && !whole(a->page, 1, 1000000000L, &ls.page))
        return tsr_cli_usage(cli, "--page must be a whole number from 1, not '%.32s'", a->page);
    if (a->page_size != NULL && !whole(a->page_size, 1, TSR_PAGE_SIZE_MAX, &ls.page_size))
        return tsr_cli_usage(cli, "--page-size must be a whole number from 1 to %d, not '%.32s'",
                             TSR_PAGE_SIZE_MAX, a->page_size);
    if (all && a->page != NULL)
        return tsr_cli_usage(cli, "--all and --page cannot be used together");
    if (a->sort != NULL) {
        ordering = ordering_of(a->sort, &desc);
        if (ordering == NULL)
            return tsr_cli_usage(cli,
                                 "--sort must be name, created, expires or last_used, each "
                                 "optionally prefixed by '-' for descending order, not '%.32s'",
                                 a->sort);
        snprintf(ls.ordering, sizeof(ls.ordering), "%s%s", desc ? "-" : "", ordering);
    }
    if ((status = status_of(cli, &ls)) != TSR_EXIT_OK)
        return status;
    if (all && ls.page_size == 0)
        ls.page_size = TSR_PAGE_SIZE_MAX;
    status = tsr_cli_auth(cli);
    if (status != TSR_EXIT_OK)
        return status;
    if (all) {
        status = list_all(cli, &ls, &obj);
    } else {
        status = list_path(cli, &ls, ls.page, path, sizeof(path));
        if (status == TSR_EXIT_OK)
            status = tsr_cli_call(cli, "GET", path, NULL, 200, &obj);
    }
    if (status == TSR_EXIT_OK)
        status = cli->json ? tsr_cli_print_json(obj) : print_list(cli, &ls, obj, all);
    json_decref(obj);
    return status;
}

/* ---- describe, update, delete ---- */

int tsr_cmd_describe(struct tsr_cli *cli)
{
    char path[128];
    json_t *obj = NULL;
    int status = token_path(cli, true, path, sizeof(path));

    if (status == TSR_EXIT_OK)
        status = tsr_cli_auth(cli);
    if (status == TSR_EXIT_OK)
        status = tsr_cli_call(cli, "GET", path, NULL, 200, &obj);
    if (status == TSR_EXIT_OK)
        status = cli->json ? tsr_cli_print_json(obj) : print_token(json_object_get(obj, "data"));
    json_decref(obj);
    return status;
}

int tsr_cmd_update(struct tsr_cli *cli)
{
    const struct tsr_args *a = cli->args;
    char path[128], expires[TSR_TIME_LEN + 1], why[256];
    json_t *body = NULL, *obj = NULL;
    int status = token_path(cli, false, path, sizeof(path));
    bool ok;

    if (status != TSR_EXIT_OK)
        return status;
    if ((a->given &
         (TSR_OPT_NAME | TSR_OPT_DESCRIPTION | TSR_OPT_EXPIRES | TSR_OPT_SCOPE | TSR_OPT_ALLOW_IP |
          TSR_OPT_ALLOW_ANYWHERE | TSR_OPT_NOT_BEFORE | TSR_OPT_CLEAR_NOT_BEFORE)) == 0)
        return tsr_cli_usage(cli, "give at least one of --name, --description, --expires, "
                                  "--scope, --allow-ip, --allow-anywhere, --not-before and "
                                  "--clear-not-before");
    if (a->expires != NULL && !parse_expiry(a->expires, expires, why, sizeof(why)))
        return tsr_cli_usage(cli, "%s", why);
    body = json_object();
    ok = body != NULL;
    ok = ok && (a->name == NULL || json_object_set_new(body, "name", json_string(a->name)) == 0);
    ok = ok && (a->description == NULL ||
                json_object_set_new(body, "description", json_string(a->description)) == 0);
    ok = ok &&
         (a->expires == NULL || json_object_set_new(body, "expires_at", json_string(expires)) == 0);
    if (!ok) {
        json_decref(body);
        return tsr_cli_usage(cli, "the name and description must be UTF-8 text");
    }
    if ((status = set_limits(cli, body)) != TSR_EXIT_OK) {
        json_decref(body);
        return status;
    }
    status = tsr_cli_auth(cli);
    if (status == TSR_EXIT_OK)
        status = tsr_cli_call(cli, "PATCH", path, body, 200, &obj);
    if (status == TSR_EXIT_OK)
        status = cli->json ? tsr_cli_print_json(obj) : print_token(json_object_get(obj, "data"));
    json_decref(body);
    json_decref(obj);
    return status;
}

/* Asks the user to type "delete", as the consoles do. */
static int confirm_delete(struct tsr_cli *cli, const json_t *t)
{
    char name[TSR_OUT_CELL_MAX], when[96], answer[64];
    const char *typed = answer;
    size_t len;
    enum tsr_err rc;

    tsr_out_clean(tsr_out_jstr(t, "name"), name, sizeof(name), 0);
    tsr_out_time(tsr_out_jstr(t, "expires_at"), tsr_time_now(), true, when, sizeof(when));
    fprintf(stderr,
            "Token '%s' (id %s, %s, expires %s) will be revoked at once: whatever uses it "
            "stops working.\n",
            name, tsr_out_jstr(t, "id"), tsr_out_jstr(t, "key_hint"), when);
    rc = tsr_prompt_ask("Type delete to confirm: ", answer, sizeof(answer));
    if (rc == TSR_OK) {
        len = strlen(answer);
        tsr_trim(&typed, &len);
        if (len == 6 && memcmp(typed, "delete", 6) == 0)
            return TSR_EXIT_OK;
    }
    (void)cli;
    tsr_cli_error("not deleted: the answer was not 'delete'");
    return TSR_EXIT_ERROR;
}

int tsr_cmd_delete(struct tsr_cli *cli)
{
    char path[128], name[TSR_OUT_CELL_MAX];
    json_t *obj = NULL;
    const json_t *t;
    bool yes = (cli->args->given & TSR_OPT_YES) != 0;
    int status = token_path(cli, true, path, sizeof(path));

    if (status != TSR_EXIT_OK)
        return status;
    if (!yes && !tsr_prompt_is_tty())
        return tsr_cli_usage(cli, "refusing to delete without confirmation: standard input is "
                                  "not a terminal, so tessera cannot ask you to type 'delete'; "
                                  "add --yes to delete anyway");
    status = tsr_cli_auth(cli);
    /* Fetch it first: to show what is about to go, and to say "no such
     * token" before asking anything. */
    if (status == TSR_EXIT_OK)
        status = tsr_cli_call(cli, "GET", path, NULL, 200, &obj);
    if (status != TSR_EXIT_OK)
        goto out;
    t = json_object_get(obj, "data");
    if (!yes && (status = confirm_delete(cli, t)) != TSR_EXIT_OK)
        goto out;
    /* By id, even for "self": the confirmation was about this token. */
    if (!tsr_uuid_valid(tsr_out_jstr(t, "id"), strlen(tsr_out_jstr(t, "id")))) {
        tsr_cli_error("%s answered without the token's id: is it a Tessera server?", cli->server);
        status = TSR_EXIT_ERROR;
        goto out;
    }
    snprintf(path, sizeof(path), "/v4/iam/personal_tokens/%s", tsr_out_jstr(t, "id"));
    status = tsr_cli_call(cli, "DELETE", path, NULL, 204, NULL);
    if (status == TSR_EXIT_OK) {
        tsr_out_clean(tsr_out_jstr(t, "name"), name, sizeof(name), 0);
        fprintf(stderr, "Deleted token '%s' (id %s).\n", name, tsr_out_jstr(t, "id"));
    }
out:
    json_decref(obj);
    return status;
}

/* ---- rotate ---- */

/* What a rotation sends: the new expiry and the grace period when given,
 * else no body at all. Returns TSR_EXIT_OK with *out (NULL for none; the
 * caller decrefs) and *grace (seconds, 0 when not given), or an exit
 * status having said why. */
static int rotate_body(struct tsr_cli *cli, json_t **out, int64_t *grace)
{
    const struct tsr_args *a = cli->args;
    char expires[TSR_TIME_LEN + 1], why[256];
    json_t *body;
    bool ok;

    *out = NULL;
    *grace = 0;
    if (a->expires != NULL && !parse_expiry(a->expires, expires, why, sizeof(why)))
        return tsr_cli_usage(cli, "%s", why);
    /* The server judges too; this spares a request that must fail, and
     * says it in tessera's terms. */
    if (a->grace != NULL && tsr_duration_parse(a->grace, "--grace", TSR_GRACE_MAX_SECONDS, grace,
                                               why, sizeof(why)) != TSR_OK)
        return tsr_cli_usage(cli, "%s", why);
    if (a->expires == NULL && a->grace == NULL)
        return TSR_EXIT_OK;
    body = json_object();
    ok = body != NULL;
    ok = ok &&
         (a->expires == NULL || json_object_set_new(body, "expires_at", json_string(expires)) == 0);
    ok = ok &&
         (a->grace == NULL || json_object_set_new(body, "grace_period", json_integer(*grace)) == 0);
    if (!ok) {
        json_decref(body);
        tsr_cli_error("out of memory");
        return TSR_EXIT_ERROR;
    }
    *out = body;
    return TSR_EXIT_OK;
}

/* Whether the token named on the command line is the personal token in
 * force, whose old secret tessera itself must stop using. For an id, asks
 * the server which token is in force; when it cannot tell (a token that may
 * not read itself, no answer), the answer is no, and the rotation itself
 * then says whatever is wrong. */
static bool rotates_itself(struct tsr_cli *cli)
{
    struct tsr_request req = {
        .method = "GET", .path = "/v4/iam/personal_tokens/self", .token = cli->token};
    struct tsr_response resp;
    const char *id;
    bool same;

    if (tsr_secret_parse(cli->token, TSR_SECRET_LEN) != TSR_SECRET_PERSONAL)
        return false;
    if (strcmp(cli->params[0], "self") == 0)
        return true;
    if (tsr_cli_send(cli, &req, &resp) != TSR_EXIT_OK)
        return false;
    id = json_string_value(json_object_get(json_object_get(resp.json, "data"), "id"));
    /* token_path forgave capitals in the id given; the server's are lower. */
    same = resp.status == 200 && id != NULL && strcasecmp(id, cli->params[0]) == 0;
    tsr_response_release(&resp);
    return same;
}

/* Puts the new secret of the token in force into the credentials file it
 * came from, keeping the file's server and origin, so that the next command
 * works; a token from --token or TESSERA_TOKEN can only be told about.
 * until is when the old secret stops working, "" for at once. Returns an
 * exit status, having said what happened. */
static int keep_using(struct tsr_cli *cli, const char *key, const char *until)
{
    char why[TSR_CONFIG_PATH_MAX + 256];
    struct tsr_creds c;
    bool found = false;
    int status = TSR_EXIT_OK;

    if (strcmp(cli->token_from, cli->paths.credentials) != 0) {
        fprintf(stderr, "It was the token in force, from %s: put the new secret there%s%s.\n",
                cli->token_from, until[0] != '\0' ? " before " : "", until);
        return TSR_EXIT_OK;
    }
    if (tsr_creds_read(&cli->paths, &c, true, &found, why, sizeof(why)) != TSR_OK || !found) {
        tsr_cli_error("%s", found ? why : "the credentials file is gone");
        status = TSR_EXIT_ERROR;
    } else {
        memcpy(c.token, key, TSR_SECRET_LEN + 1);
        if (tsr_creds_write(&cli->paths, &c, why, sizeof(why)) != TSR_OK) {
            tsr_cli_error("%s", why);
            status = TSR_EXIT_ERROR;
        }
    }
    tsr_creds_wipe(&c);
    if (status != TSR_EXIT_OK)
        fprintf(stderr, "It was the token in force, and tessera still holds the old secret: "
                        "store the new one with 'tessera login --token -'.\n");
    else if (!cli->json)
        fprintf(stderr, "It was the token in force: the new secret is stored in %s.\n",
                cli->paths.credentials);
    return status;
}

/* Says what was rotated, and until when the old secret works ("" for no
 * longer), on standard error. */
static void say_rotated(const json_t *data, const char *until)
{
    char name[TSR_OUT_CELL_MAX], when[96];

    tsr_out_clean(tsr_out_jstr(data, "name"), name, sizeof(name), 0);
    tsr_out_time(tsr_out_jstr(data, "expires_at"), tsr_time_now(), true, when, sizeof(when));
    fprintf(stderr,
            "Rotated token '%s' (id %s), expiring %s. The old secret %s%s.\n"
            "Copy the new one now: it is shown only this once.\n",
            name, tsr_out_jstr(data, "id"), when,
            until[0] != '\0' ? "works until " : "no longer works", until);
}

int tsr_cmd_rotate(struct tsr_cli *cli)
{
    char path[160], rotate_path[sizeof(path) + sizeof("/rotate")];
    char until[96] = "", until_time[TSR_TIME_LEN + 1];
    json_t *body = NULL, *resp = NULL, *data;
    const char *key;
    int64_t grace = 0;
    bool itself;
    int status = token_path(cli, true, path, sizeof(path)), kept = TSR_EXIT_OK;

    if (status == TSR_EXIT_OK)
        status = rotate_body(cli, &body, &grace);
    if (status == TSR_EXIT_OK)
        status = tsr_cli_auth(cli);
    if (status != TSR_EXIT_OK)
        goto out;
    itself = rotates_itself(cli);
    snprintf(rotate_path, sizeof(rotate_path), "%s/rotate", path);
    status = tsr_cli_call(cli, "POST", rotate_path, body, 200, &resp);
    if (status != TSR_EXIT_OK)
        goto out;
    data = json_object_get(resp, "data");
    key = json_string_value(json_object_get(data, "key"));
    if (key == NULL || strlen(key) != TSR_SECRET_LEN ||
        tsr_secret_parse(key, TSR_SECRET_LEN) != TSR_SECRET_PERSONAL) {
        tsr_cli_error("%s answered without the new secret: is it a Tessera server?", cli->server);
        status = TSR_EXIT_ERROR;
        goto out;
    }
    if (grace > 0) {
        /* At the latest: the server never lets it outlive the old expiry. */
        int64_t now = tsr_time_now();

        tsr_time_format(now + grace, until_time);
        tsr_out_time(until_time, now, true, until, sizeof(until));
    }
    if (!cli->json)
        say_rotated(data, until);
    /* Before the secret is printed: a reader of the output that stops
     * early must not leave the credentials file holding a dead secret. */
    if (itself)
        kept = keep_using(cli, key, until);
    fflush(stderr);
    /* The secret alone on standard output, as create prints it. */
    if (cli->json)
        status = tsr_cli_print_json(resp);
    else if (printf("%s\n", key) < 0 || fflush(stdout) != 0)
        status = tsr_cli_write_failed();
    if (status == TSR_EXIT_OK)
        status = kept;
out:
    json_decref(body);
    json_decref(resp);
    return status;
}
