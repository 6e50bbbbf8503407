/* cli.c - what every tessera command shares: exit statuses, errors, the
 * server and token in force, and calls to the API */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/output.h"

void tsr_cli_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "error: %s\n", msg);
}

int tsr_cli_usage(const struct tsr_cli *cli, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cli != NULL && cli->name != NULL)
        tsr_cli_error("%s; see 'tessera %s --help'", msg, cli->name);
    else
        tsr_cli_error("%s; see 'tessera --help'", msg);
    return TSR_EXIT_USAGE;
}

/* A non-empty environment variable, or NULL. */
static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int set_server(struct tsr_cli *cli, const char *value, const char *from)
{
    char why[256];

    if (tsr_client_server(value, cli->server, sizeof(cli->server), why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s (from %s)", why, from);
        return TSR_EXIT_USAGE;
    }
    snprintf(cli->server_from, sizeof(cli->server_from), "%s", from);
    return TSR_EXIT_OK;
}

int tsr_cli_start(struct tsr_cli *cli, const struct tsr_args *args, const char *name,
                  const char **params, size_t nparams)
{
    char why[TSR_CONFIG_PATH_MAX + 256];
    char stored[TSR_SERVER_MAX + 1];
    struct tsr_creds creds;
    bool found = false;
    const char *output = args->output;

    memset(cli, 0, sizeof(*cli));
    cli->args = args;
    cli->name = name;
    cli->params = params;
    cli->nparams = nparams;
    if (output != NULL && strcmp(output, "json") != 0 && strcmp(output, "table") != 0)
        return tsr_cli_usage(cli, "--output must be table or json, not '%.64s'", output);
    cli->json = output != NULL && strcmp(output, "json") == 0;
    if (tsr_paths_find(&cli->paths, why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s", why);
        return TSR_EXIT_ERROR;
    }
    if (args->server != NULL)
        return set_server(cli, args->server, "--server");
    if (env("TESSERA_SERVER") != NULL)
        return set_server(cli, env("TESSERA_SERVER"), "TESSERA_SERVER");
    if (tsr_config_read(&cli->paths, stored, sizeof(stored), &found, why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s", why);
        return TSR_EXIT_ERROR;
    }
    if (found)
        return set_server(cli, stored, cli->paths.config);
    /* Without a config file, the server of the stored token is the one the
     * user logged in to. A credentials file that cannot be used is dealt
     * with when a token is needed. */
    if (tsr_creds_read(&cli->paths, &creds, true, &found, why, sizeof(why)) == TSR_OK && found) {
        snprintf(stored, sizeof(stored), "%s", creds.server);
        tsr_creds_wipe(&creds);
        return set_server(cli, stored, cli->paths.credentials);
    }
    return set_server(cli, TSR_CLI_DEFAULT_SERVER, "the default");
}

int tsr_cli_take_token(struct tsr_cli *cli, const char *token, const char *from)
{
    size_t len = strlen(token);

    if (len != TSR_SECRET_LEN || tsr_secret_parse(token, len) == TSR_SECRET_NONE) {
        tsr_cli_error("the token from %s is not a Tessera token (tsr_ and 36 letters and digits "
                      "with a valid checksum): is it mistyped?",
                      from);
        return TSR_EXIT_AUTH;
    }
    memcpy(cli->token, token, TSR_SECRET_LEN + 1);
    snprintf(cli->token_from, sizeof(cli->token_from), "%s", from);
    return TSR_EXIT_OK;
}

int tsr_cli_auth(struct tsr_cli *cli)
{
    char why[TSR_CONFIG_PATH_MAX * 2 + 256];
    struct tsr_creds creds;
    bool found = false;
    enum tsr_err rc;
    int status;

    if (cli->args->token != NULL)
        return tsr_cli_take_token(cli, cli->args->token, "--token");
    if (env("TESSERA_TOKEN") != NULL)
        return tsr_cli_take_token(cli, env("TESSERA_TOKEN"), "TESSERA_TOKEN");
    rc = tsr_creds_read(&cli->paths, &creds, true, &found, why, sizeof(why));
    if (rc != TSR_OK) {
        tsr_cli_error("%s", why);
        return TSR_EXIT_AUTH;
    }
    if (!found) {
        tsr_cli_error("not logged in: run 'tessera login%s%s', or give a token with --token or "
                      "TESSERA_TOKEN",
                      strcmp(cli->server, TSR_CLI_DEFAULT_SERVER) == 0 ? "" : " --server ",
                      strcmp(cli->server, TSR_CLI_DEFAULT_SERVER) == 0 ? "" : cli->server);
        return TSR_EXIT_AUTH;
    }
    /* A stored token goes only to the server it was made by, whatever
     * --server or TESSERA_SERVER say: it must not leak to another. */
    if (strcmp(creds.server, cli->server) != 0) {
        tsr_cli_error("the stored token is for %s, not %s (from %s): log in there with 'tessera "
                      "login --server %s', or give a token with --token or TESSERA_TOKEN",
                      creds.server, cli->server, cli->server_from, cli->server);
        tsr_creds_wipe(&creds);
        return TSR_EXIT_AUTH;
    }
    status = tsr_cli_take_token(cli, creds.token, cli->paths.credentials);
    tsr_creds_wipe(&creds);
    return status;
}

int tsr_cli_send(struct tsr_cli *cli, const struct tsr_request *req, struct tsr_response *resp)
{
    char why[TSR_SERVER_MAX + 512];

    memset(resp, 0, sizeof(*resp));
    if (cli->client == NULL && tsr_client_new(cli->server, &cli->client) != TSR_OK) {
        tsr_cli_error("out of memory");
        return TSR_EXIT_ERROR;
    }
    if (tsr_client_send(cli->client, req, resp, why, sizeof(why)) != TSR_OK) {
        if (strcmp(cli->server_from, "the default") == 0)
            tsr_cli_error("%s (the default server; choose another with --server or "
                          "TESSERA_SERVER)",
                          why);
        else
            tsr_cli_error("%s (server from %s)", why, cli->server_from);
        return TSR_EXIT_ERROR;
    }
    return TSR_EXIT_OK;
}

int tsr_cli_refused(const struct tsr_cli *cli, const struct tsr_response *resp)
{
    char detail[512];

    /* A 401 or 404 counts as such only from a Tessera server: anything else
     * at that URL (a proxy's 404 page) is an error of its own. */
    if (!tsr_response_detail(resp, detail, sizeof(detail))) {
        tsr_cli_error("%s", detail);
        return TSR_EXIT_ERROR;
    }
    if (resp->status == 401) {
        if (cli->token[0] != '\0')
            tsr_cli_error("%s: the token from %s is expired, revoked or unknown to %s; run "
                          "'tessera login'",
                          detail, cli->token_from, cli->server);
        else
            tsr_cli_error("%s", detail);
        return TSR_EXIT_AUTH;
    }
    tsr_cli_error("%s", detail);
    return resp->status == 404 ? TSR_EXIT_NOT_FOUND : TSR_EXIT_ERROR;
}

int tsr_cli_call(struct tsr_cli *cli, const char *method, const char *path, const json_t *body,
                 long want, json_t **out)
{
    struct tsr_request req = {.method = method, .path = path, .token = cli->token, .body = body};
    struct tsr_response resp;
    int status = tsr_cli_send(cli, &req, &resp);

    if (out != NULL)
        *out = NULL;
    if (status != TSR_EXIT_OK)
        return status;
    if (resp.status != want) {
        status = tsr_cli_refused(cli, &resp);
    } else if (out != NULL) {
        *out = resp.json;
        resp.json = NULL;
        if (*out == NULL && want != 204) {
            tsr_cli_error("%s answered %ld without JSON: is it a Tessera server?", cli->server,
                          want);
            status = TSR_EXIT_ERROR;
        }
    }
    tsr_response_release(&resp);
    return status;
}

int tsr_cli_write_failed(void)
{
    if (errno != EPIPE)
        tsr_cli_error("cannot write to standard output: %s", strerror(errno));
    return TSR_EXIT_ERROR;
}

int tsr_cli_print_json(const json_t *j)
{
    if (tsr_out_json(stdout, j) != TSR_OK || fflush(stdout) != 0)
        return tsr_cli_write_failed();

    return TSR_EXIT_OK;
}

void tsr_cli_release(struct tsr_cli *cli)
{
    tsr_client_free(cli->client);
    cli->client = NULL;
    sodium_memzero(cli->token, sizeof(cli->token));
}

static bool seen(const json_t *all, const char *key, const json_t *item)
{
    const char *value = json_string_value(json_object_get(item, key));
    size_t i;
    json_t *t;

    json_array_foreach(all, i, t)
    {
        const char *v = json_string_value(json_object_get(t, key));

        if (v && value && strcmp(v, value) == 0)
            return true;
    }
    return false;
}

int tsr_cli_get_all(struct tsr_cli *cli, tsr_cli_page_path path_of, void *ctx, const char *key,
                    long pages_max, json_t **out)
{
    char path[2048];
    json_t *first = NULL, *page = NULL, *all = json_array();
    int status = all ? TSR_EXIT_OK : TSR_EXIT_ERROR;

    for (long p = 1; status == TSR_EXIT_OK && p <= pages_max; p++) {
        json_t *results, *t;
        size_t i;
        bool done;

        status = path_of(cli, ctx, p, path, sizeof(path));
        if (status == TSR_EXIT_OK)
            status = tsr_cli_call(cli, "GET", path, NULL, 200, &page);
        if (status != TSR_EXIT_OK)
            break;
        results = json_object_get(page, "results");
        json_array_foreach(results, i, t)
        {
            if (!seen(all, key, t))
                json_array_append(all, t);
        }
        done = json_array_size(results) == 0 ||
               p >= json_integer_value(json_object_get(first ? first : page, "total_pages"));
        if (first == NULL)
            first = page;
        else
            json_decref(page);
        page = NULL;
        if (done)
            break;
    }
    if (status == TSR_EXIT_OK && first != NULL) {
        json_object_set(first, "results", all);
        *out = first;
        first = NULL;
    }
    json_decref(first);
    json_decref(all);
    return status;
}
