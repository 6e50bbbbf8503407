/* cmd_auth.c - tessera login, logout and whoami */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/commands.h"
#include "cli/expiry.h"
#include "cli/output.h"
#include "cli/prompt.h"
#include "core/timefmt.h"
#include "core/validate.h"

/* The login token's lifetime when the server does not say its limit, and
 * when it has none: a year, as the server's default limit. */
#define FALLBACK_DAYS  30
#define UNLIMITED_DAYS 366
#define EMAIL_MAX      254
#define PASSWORD_MAX   1024
#define HOST_MAX       64
#define DAY            INT64_C(86400)

/* What a login keeps while it works, wiped at the end. */
struct login {
    char email[EMAIL_MAX + 2];
    char password[PASSWORD_MAX + 2];
    char session[TSR_SECRET_LEN + 1];
    struct tsr_creds fresh; /* the token made now */
    char fresh_id[64];
    struct tsr_creds old; /* what a previous login stored */
    bool have_old;
    int64_t expires; /* --expires, parsed, when given */
};

static void login_wipe(struct login *l)
{
    sodium_memzero(l, sizeof(*l));
}

/* ---- asking ---- */

static int get_email(struct tsr_cli *cli, struct login *l)
{
    enum tsr_err rc;

    if (cli->args->email != NULL) {
        if (strlen(cli->args->email) > EMAIL_MAX)
            return tsr_cli_usage(cli, "the email is longer than %d bytes", EMAIL_MAX);
        snprintf(l->email, sizeof(l->email), "%s", cli->args->email);
    } else if (!tsr_prompt_is_tty()) {
        return tsr_cli_usage(cli, "give --email: standard input is not a terminal, so tessera "
                                  "cannot ask for it");
    } else {
        rc = tsr_prompt_ask("Email: ", l->email, sizeof(l->email));
        if (rc != TSR_OK) {
            tsr_cli_error("no email given");
            return TSR_EXIT_USAGE;
        }
    }
    if (!tsr_email_valid(l->email, strlen(l->email)))
        return tsr_cli_usage(cli, "'%.64s' is not an email address", l->email);
    return TSR_EXIT_OK;
}

static int get_password(struct login *l)
{
    enum tsr_err rc;
    char prompt[EMAIL_MAX + 32];

    if (tsr_prompt_is_tty()) {
        snprintf(prompt, sizeof(prompt), "Password for %s: ", l->email);
        rc = tsr_prompt_hidden(prompt, l->password, sizeof(l->password));
    } else {
        rc = tsr_prompt_read_line(l->password, sizeof(l->password));
    }
    if (rc == TSR_ERR_INVALID) {
        tsr_cli_error("the password is longer than %d bytes", PASSWORD_MAX);
        return TSR_EXIT_USAGE;
    }
    if (rc != TSR_OK || l->password[0] == '\0') {
        tsr_cli_error("no password given%s",
                      tsr_prompt_is_tty() ? "" : ": give it as one line on standard input");
        return TSR_EXIT_USAGE;
    }
    return TSR_EXIT_OK;
}

/* ---- the API calls of a login ---- */

/* POST /v4/tokens with Basic: a session token for the rest of the login. */
static int open_session(struct tsr_cli *cli, struct login *l)
{
    struct tsr_request req = {
        .method = "POST", .path = "/v4/tokens", .user = l->email, .password = l->password};
    struct tsr_response resp;
    const char *token;
    int status = tsr_cli_send(cli, &req, &resp);

    sodium_memzero(l->password, sizeof(l->password));
    if (status != TSR_EXIT_OK)
        return status;
    if (resp.status == 401) {
        /* The API's detail speaks of tokens; here it was the password. */
        tsr_cli_error("wrong email or password for %s", cli->server);
        status = TSR_EXIT_AUTH;
    } else if (resp.status != 201) {
        status = tsr_cli_refused(cli, &resp);
    } else {
        token = json_string_value(json_object_get(resp.json, "token"));
        if (token == NULL || strlen(token) != TSR_SECRET_LEN ||
            tsr_secret_parse(token, TSR_SECRET_LEN) != TSR_SECRET_SESSION) {
            tsr_cli_error("%s answered the login without a session token: is it a Tessera "
                          "server?",
                          cli->server);
            status = TSR_EXIT_ERROR;
        } else {
            memcpy(l->session, token, TSR_SECRET_LEN + 1);
        }
    }
    tsr_response_release(&resp);
    return status;
}

/* DELETE /v4/tokens/self with the session: a failure only warns, since the
 * session expires by itself within a day. */
static void close_session(struct tsr_cli *cli, struct login *l)
{
    struct tsr_request req = {.method = "DELETE", .path = "/v4/tokens/self", .token = l->session};
    struct tsr_response resp;

    if (l->session[0] == '\0')
        return;
    if (tsr_cli_send(cli, &req, &resp) == TSR_EXIT_OK) {
        if (resp.status != 204)
            fprintf(stderr,
                    "warning: could not log the login session out (HTTP %ld); it "
                    "expires by itself within 24 hours\n",
                    resp.status);
        tsr_response_release(&resp);
    }
    sodium_memzero(l->session, sizeof(l->session));
}

/* When the login token should expire without --expires: as late as the
 * server allows, since a personal token can make only tokens that expire no
 * later than itself. The limit comes from GET /v4/console/config, counted
 * from the server's own clock there (its check counts from its clock a
 * moment later, so a CLI clock ahead of the server's cannot overshoot).
 * When the config cannot be read, FALLBACK_DAYS from now: a login must not
 * fail for want of what only sets its token's length. */
static int64_t longest_expiry(struct tsr_cli *cli, const struct login *l)
{
    struct tsr_request req = {.method = "GET", .path = "/v4/console/config", .token = l->session};
    struct tsr_response resp;
    const json_t *data, *days;
    const char *now_text;
    int64_t now = tsr_time_now(), server_now, n = FALLBACK_DAYS;

    if (tsr_cli_send(cli, &req, &resp) != TSR_EXIT_OK)
        return now + n * DAY;
    data = json_object_get(resp.json, "data");
    days = json_object_get(data, "max_lifetime_days");
    if (resp.status == 200 && json_is_integer(days) && json_integer_value(days) >= 0 &&
        json_integer_value(days) <= TSR_TIME_MAX / DAY) {
        n = json_integer_value(days) == 0 ? UNLIMITED_DAYS : (int64_t)json_integer_value(days);
        now_text = json_string_value(json_object_get(data, "now"));
        if (now_text != NULL && tsr_time_parse(now_text, strlen(now_text), &server_now) == TSR_OK)
            now = server_now;
    }
    tsr_response_release(&resp);
    return now + n * DAY > TSR_TIME_MAX ? TSR_TIME_MAX : now + n * DAY;
}

/* POST /v4/iam/personal_tokens with the session: tessera-cli@HOST. */
static int make_token(struct tsr_cli *cli, struct login *l)
{
    char host[HOST_MAX + 1] = "";
    char name[HOST_MAX + 32], description[HOST_MAX + 128];
    char expires[TSR_TIME_LEN + 1];
    struct tsr_request req = {
        .method = "POST", .path = "/v4/iam/personal_tokens", .token = l->session};
    struct tsr_response resp;
    json_t *body, *data;
    const char *key, *id;
    int status;

    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[HOST_MAX] = '\0';
    snprintf(name, sizeof(name), "tessera-cli@%s", host);
    snprintf(description, sizeof(description),
             "Made by 'tessera login' on %s; 'tessera logout' or the next login revokes it.", host);
    tsr_time_format(cli->args->expires != NULL ? l->expires : longest_expiry(cli, l), expires);
    body = json_pack("{s:s, s:s, s:s}", "name", name, "description", description, "expires_at",
                     expires);
    if (body == NULL) {
        tsr_cli_error("out of memory");
        return TSR_EXIT_ERROR;
    }
    req.body = body;
    status = tsr_cli_send(cli, &req, &resp);
    json_decref(body);
    if (status != TSR_EXIT_OK)
        return status;
    if (resp.status != 201) {
        status = tsr_cli_refused(cli, &resp);
    } else {
        data = json_object_get(resp.json, "data");
        key = json_string_value(json_object_get(data, "key"));
        id = json_string_value(json_object_get(data, "id"));
        if (key == NULL || id == NULL || strlen(key) != TSR_SECRET_LEN ||
            tsr_secret_parse(key, TSR_SECRET_LEN) != TSR_SECRET_PERSONAL) {
            tsr_cli_error("%s answered without the new token: is it a Tessera server?",
                          cli->server);
            status = TSR_EXIT_ERROR;
        } else {
            memcpy(l->fresh.token, key, TSR_SECRET_LEN + 1);
            snprintf(l->fresh.server, sizeof(l->fresh.server), "%s", cli->server);
            snprintf(l->fresh_id, sizeof(l->fresh_id), "%s", id);
            l->fresh.from_login = true;
        }
    }
    tsr_response_release(&resp);
    return status;
}

/* Revokes the token that the session just made, when storing it failed. */
static void unmake_token(struct tsr_cli *cli, struct login *l)
{
    char path[128];
    struct tsr_request req = {.method = "DELETE", .path = path, .token = l->session};
    struct tsr_response resp;

    snprintf(path, sizeof(path), "/v4/iam/personal_tokens/%s", l->fresh_id);
    if (tsr_cli_send(cli, &req, &resp) == TSR_EXIT_OK)
        tsr_response_release(&resp);
}

/* Revokes a stored token with itself (DELETE /v4/iam/personal_tokens/self)
 * at the server it belongs to. Returns 1 when revoked, 0 when the server no
 * longer knew it (expired or revoked already), -1 when that could not be
 * done (and says so). */
static int revoke_stored(struct tsr_cli *cli, const struct tsr_creds *c)
{
    struct tsr_cli other;
    struct tsr_request req = {
        .method = "DELETE", .path = "/v4/iam/personal_tokens/self", .token = c->token};
    struct tsr_response resp;
    struct tsr_cli *via = cli;
    int result = -1;

    /* The token may belong to another server than the one in force now. */
    if (strcmp(c->server, cli->server) != 0) {
        memset(&other, 0, sizeof(other));
        other.args = cli->args;
        snprintf(other.server, sizeof(other.server), "%s", c->server);
        snprintf(other.server_from, sizeof(other.server_from), "%s", cli->paths.credentials);
        via = &other;
    }
    if (tsr_cli_send(via, &req, &resp) == TSR_EXIT_OK) {
        if (resp.status == 204) {
            result = 1;
        } else if (resp.status == 401 || resp.status == 404) {
            result = 0;
        } else {
            char detail[512];

            tsr_response_detail(&resp, detail, sizeof(detail));
            tsr_cli_error("%s", detail);
        }
        tsr_response_release(&resp);
    }
    if (via != cli)
        tsr_cli_release(via);
    return result;
}

/* GET /v4/iam/users/me with the token in force; the caller decrefs *me. */
static int who(struct tsr_cli *cli, json_t **me)
{
    return tsr_cli_call(cli, "GET", "/v4/iam/users/me", NULL, 200, me);
}

/* Stores the token in l->fresh and the server; says what happened. */
static int store(struct tsr_cli *cli, struct login *l)
{
    char why[TSR_CONFIG_PATH_MAX + 256];

    if (tsr_creds_write(&cli->paths, &l->fresh, why, sizeof(why)) != TSR_OK ||
        tsr_config_write(&cli->paths, cli->server, why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s", why);
        return TSR_EXIT_ERROR;
    }
    return TSR_EXIT_OK;
}

/* Reads what a previous login stored, whatever the file's mode: it is about
 * to be replaced, and its token revoked, which is the right end for a
 * token that others could read. */
static void read_old(struct tsr_cli *cli, struct login *l)
{
    char why[TSR_CONFIG_PATH_MAX + 256];
    bool found = false;

    l->have_old =
        tsr_creds_read(&cli->paths, &l->old, false, &found, why, sizeof(why)) == TSR_OK && found;
}

/* Revokes the previous login's token when it is not the one now stored. */
static void retire_old(struct tsr_cli *cli, struct login *l)
{
    int r;

    if (!l->have_old || !l->old.from_login || strcmp(l->old.token, l->fresh.token) == 0)
        return;
    r = revoke_stored(cli, &l->old);
    if (r > 0 && !cli->json)
        fprintf(stderr, "Revoked the token of the previous login.\n");
    if (r < 0)
        fprintf(stderr,
                "warning: could not revoke the token of the previous login at %s; "
                "delete it with 'tessera delete token' there\n",
                l->old.server);
}

static int welcome(struct tsr_cli *cli, const json_t *me, const json_t *token)
{
    const char *email = tsr_out_jstr(json_object_get(me, "data"), "email");
    const json_t *data = json_object_get(token, "data");
    char name[TSR_OUT_CELL_MAX], when[96];

    if (cli->json)
        return tsr_cli_print_json(me);
    tsr_out_clean(tsr_out_jstr(data, "name"), name, sizeof(name), 0);
    tsr_out_time(json_string_value(json_object_get(data, "expires_at")), tsr_time_now(), true, when,
                 sizeof(when));
    fprintf(stderr,
            "Logged in to %s as %s.\n"
            "The token '%s' (expires %s) is stored in %s.\n",
            cli->server, email, name, when, cli->paths.credentials);
    return TSR_EXIT_OK;
}

/* `tessera login --token T`: check T, then store it. */
static int login_with_token(struct tsr_cli *cli, struct login *l)
{
    char line[TSR_SECRET_LEN + 8];
    json_t *me = NULL, *self = NULL;
    const char *token = cli->args->token;
    enum tsr_err rc;
    int status;

    if (strcmp(token, "-") == 0) {
        /* A token on the command line shows in `ps`; standard input does not. */
        rc = tsr_prompt_is_tty() ? tsr_prompt_hidden("Token: ", line, sizeof(line))
                                 : tsr_prompt_read_line(line, sizeof(line));
        if (rc == TSR_OK)
            status = tsr_cli_take_token(cli, line, "standard input");
        else
            status = tsr_cli_usage(cli, "no token on standard input");
        sodium_memzero(line, sizeof(line));
    } else {
        status = tsr_cli_auth(cli);
    }
    if (status != TSR_EXIT_OK)
        return status;
    if (tsr_secret_parse(cli->token, TSR_SECRET_LEN) != TSR_SECRET_PERSONAL)
        return tsr_cli_usage(cli, "login --token takes a personal token (tsr_...), not a "
                                  "session token, which lasts a day");
    status = tsr_cli_call(cli, "GET", "/v4/iam/personal_tokens/self", NULL, 200, &self);
    if (status == TSR_EXIT_OK)
        status = who(cli, &me);
    if (status == TSR_EXIT_OK) {
        read_old(cli, l);
        memcpy(l->fresh.token, cli->token, TSR_SECRET_LEN + 1);
        snprintf(l->fresh.server, sizeof(l->fresh.server), "%s", cli->server);
        l->fresh.from_login = false;
        status = store(cli, l);
    }
    if (status == TSR_EXIT_OK) {
        retire_old(cli, l);
        status = welcome(cli, me, self);
    }
    json_decref(me);
    json_decref(self);
    return status;
}

int tsr_cmd_login(struct tsr_cli *cli)
{
    struct login l;
    json_t *me = NULL, *token = NULL;
    char why[256];
    int status;

    memset(&l, 0, sizeof(l));
    if (cli->args->token != NULL) {
        if (cli->args->expires != NULL)
            return tsr_cli_usage(cli, "login --token stores the token as it is; --expires is for "
                                      "the token that a login with a password makes");
        status = login_with_token(cli, &l);
        goto out;
    }
    /* Checked before the password is asked for, and counted from now as
     * create token counts it. */
    if (cli->args->expires != NULL && tsr_expiry_parse(cli->args->expires, tsr_time_now(),
                                                       &l.expires, why, sizeof(why)) != TSR_OK)
        return tsr_cli_usage(cli, "%s", why);
    status = get_email(cli, &l);
    if (status == TSR_EXIT_OK)
        status = get_password(&l);
    if (status == TSR_EXIT_OK)
        status = open_session(cli, &l);
    if (status == TSR_EXIT_OK)
        status = make_token(cli, &l);
    if (status != TSR_EXIT_OK)
        goto out;
    /* The old token is read before the new one replaces it, and revoked only
     * after the new one is safely stored. */
    read_old(cli, &l);
    status = store(cli, &l);
    if (status != TSR_EXIT_OK) {
        unmake_token(cli, &l);
        goto out;
    }
    retire_old(cli, &l);
    close_session(cli, &l);
    memcpy(cli->token, l.fresh.token, TSR_SECRET_LEN + 1);
    snprintf(cli->token_from, sizeof(cli->token_from), "%s", cli->paths.credentials);
    status = who(cli, &me);
    if (status == TSR_EXIT_OK)
        status = tsr_cli_call(cli, "GET", "/v4/iam/personal_tokens/self", NULL, 200, &token);
    if (status == TSR_EXIT_OK)
        status = welcome(cli, me, token);
out:
    close_session(cli, &l);
    json_decref(me);
    json_decref(token);
    login_wipe(&l);
    return status;
}

int tsr_cmd_logout(struct tsr_cli *cli)
{
    char why[TSR_CONFIG_PATH_MAX + 256];
    struct tsr_creds c;
    bool found = false;
    int status = TSR_EXIT_OK, revoked = 0;

    if (cli->args->token != NULL)
        return tsr_cli_usage(cli, "logout revokes the stored token and takes no --token; to "
                                  "revoke another, use 'tessera delete token ID'");
    /* Read whatever the mode: the token is about to be revoked and removed. */
    if (tsr_creds_read(&cli->paths, &c, false, &found, why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s", why);
        return TSR_EXIT_ERROR;
    }
    if (!found) {
        tsr_cli_error("not logged in: there is no stored token in %s", cli->paths.credentials);
        return TSR_EXIT_AUTH;
    }
    if (c.from_login) {
        revoked = revoke_stored(cli, &c);
        if (revoked < 0) {
            tsr_cli_error("the token is still stored in %s: try again when %s answers, or "
                          "remove the file to forget the token without revoking it",
                          cli->paths.credentials, c.server);
            status = TSR_EXIT_ERROR;
            goto out;
        }
    }
    if (tsr_creds_remove(&cli->paths, why, sizeof(why)) != TSR_OK) {
        tsr_cli_error("%s", why);
        status = TSR_EXIT_ERROR;
        goto out;
    }
    if (!c.from_login)
        fprintf(stderr,
                "Logged out of %s. The token was given with 'tessera login --token', so "
                "it was not revoked: it works until it expires or you delete it.\n",
                c.server);
    else if (revoked == 0)
        fprintf(stderr, "Logged out of %s (the token had already expired or been revoked).\n",
                c.server);
    else
        fprintf(stderr, "Logged out of %s: the token is revoked and removed.\n", c.server);
out:
    tsr_creds_wipe(&c);
    return status;
}

int tsr_cmd_whoami(struct tsr_cli *cli)
{
    json_t *me = NULL, *self = NULL;
    const json_t *user, *data;
    char line[TSR_OUT_CELL_MAX + 1024 + 256], name[TSR_OUT_CELL_MAX], when[96];
    int status = tsr_cli_auth(cli);

    if (status == TSR_EXIT_OK)
        status = who(cli, &me);
    if (status != TSR_EXIT_OK || cli->json)
        goto out;
    user = json_object_get(me, "data");
    tsr_out_clean(tsr_out_jstr(user, "email"), line, sizeof(line), 0);
    if (tsr_out_pair(stdout, "Email", line) != TSR_OK)
        status = TSR_EXIT_ERROR;
    tsr_out_clean(tsr_out_jstr(user, "id"), line, sizeof(line), 0);
    if (tsr_out_pair(stdout, "User id", line) != TSR_OK ||
        tsr_out_pair(stdout, "Server", cli->server) != TSR_OK)
        status = TSR_EXIT_ERROR;
    /* Which token this is, and how long it has left; a session token has
     * no personal-token object (404). */
    if (tsr_secret_parse(cli->token, TSR_SECRET_LEN) == TSR_SECRET_PERSONAL &&
        tsr_cli_call(cli, "GET", "/v4/iam/personal_tokens/self", NULL, 200, &self) == TSR_EXIT_OK) {
        data = json_object_get(self, "data");
        tsr_out_clean(tsr_out_jstr(data, "name"), name, sizeof(name), 0);
        tsr_out_time(json_string_value(json_object_get(data, "expires_at")), tsr_time_now(), true,
                     when, sizeof(when));
        /* The precision keeps the line within what snprintf must handle. */
        snprintf(line, sizeof(line), "%s (from %.1024s), expires %s", name, cli->token_from, when);
    } else {
        snprintf(line, sizeof(line), "a session token (from %.1024s)", cli->token_from);
    }
    if (tsr_out_pair(stdout, "Token", line) != TSR_OK || fflush(stdout) != 0)
        status = tsr_cli_write_failed();
out:
    if (status == TSR_EXIT_OK && cli->json)
        status = tsr_cli_print_json(me);
    json_decref(me);
    json_decref(self);
    return status;
}
