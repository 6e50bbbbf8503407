/* cli.h - what every tessera command shares: exit statuses, errors, the
 * server and token in force, and calls to the API
 *
 * Precedence, for the server: --server, then TESSERA_SERVER, then the config
 * file, then the server the stored token belongs to, then
 * TSR_CLI_DEFAULT_SERVER. For the token: --token, then TESSERA_TOKEN, then
 * the credentials file, whose token is used only with the server it was
 * stored for.
 */
#ifndef TSR_CLI_CLI_H
#define TSR_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/config.h"
#include "core/secret.h"

#define TSR_CLI_DEFAULT_SERVER "http://127.0.0.1:8080"

/* tessera's exit statuses, documented in tessera(1). */
enum tsr_exit {
    TSR_EXIT_OK = 0,
    TSR_EXIT_ERROR = 1,     /* anything else: the API said no, no connection, a file */
    TSR_EXIT_USAGE = 2,     /* the command line is wrong, or a needed answer is missing */
    TSR_EXIT_AUTH = 3,      /* not authenticated: no usable token, or the server said 401 */
    TSR_EXIT_NOT_FOUND = 4, /* the server said 404: no such token */
};

struct tsr_cli {
    const struct tsr_args *args;
    const char *name;    /* the command, such as "create token", for messages */
    const char **params; /* the words after the command's own */
    size_t nparams;
    bool json; /* --output json */
    struct tsr_paths paths;
    char server[TSR_SERVER_MAX + 1];
    char server_from[TSR_CONFIG_PATH_MAX + 32]; /* where server came from, for messages */
    char token[TSR_SECRET_LEN + 1];             /* "" until tsr_cli_auth */
    char token_from[TSR_CONFIG_PATH_MAX + 32];
    struct tsr_client *client;
};

/* Prints "error: <message>" and a newline to standard error. */
void tsr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "error: <message>" and where to find the command's help; returns
 * TSR_EXIT_USAGE. */
int tsr_cli_usage(const struct tsr_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets cli up for the command called name: the output format, the paths
 * and the server (see above). Returns TSR_EXIT_OK or the status to exit
 * with, having said why. Release cli with tsr_cli_release in either case. */
int tsr_cli_start(struct tsr_cli *cli, const struct tsr_args *args, const char *name,
                  const char **params, size_t nparams);

/* Finds the token (see above) and checks its form locally. Returns
 * TSR_EXIT_OK, or TSR_EXIT_AUTH having said why (none, a mistyped one, a
 * credentials file open to others, one stored for another server). */
int tsr_cli_auth(struct tsr_cli *cli);

/* Takes token (from the place named by from, for messages) as the token in
 * force, after checking its form: prefix, length, alphabet and checksum,
 * with no request. Returns TSR_EXIT_OK, or TSR_EXIT_AUTH having said why
 * (without printing the token). */
int tsr_cli_take_token(struct tsr_cli *cli, const char *token, const char *from);

/* Sends method path (with body, when not NULL) to the server with the
 * token. When the answer has status want, returns TSR_EXIT_OK and, when out
 * is not NULL, its JSON in *out (NULL for an empty body; the caller
 * decrefs). Otherwise says why in one line and returns TSR_EXIT_AUTH for
 * 401, TSR_EXIT_NOT_FOUND for 404, TSR_EXIT_ERROR for the rest. */
int tsr_cli_call(struct tsr_cli *cli, const char *method, const char *path, const json_t *body,
                 long want, json_t **out);

/* Writes to path (size bytes) the path of page (from 1) of a list;
 * returns an exit status. */
typedef int (*tsr_cli_page_path)(struct tsr_cli *cli, void *ctx, long page, char *path,
                                 size_t size);

/* GETs every page of a list (at most pages_max; path_of names them) into
 * one object shaped as the API's, with the results of all pages: things
 * made or deleted meanwhile may shift the pages, so a result whose member
 * key is one already seen is kept once. TSR_EXIT_OK with *out to decref,
 * or the first failing page's status. */
int tsr_cli_get_all(struct tsr_cli *cli, tsr_cli_page_path path_of, void *ctx, const char *key,
                    long pages_max, json_t **out);

/* Sends req to the server (connecting first if need be). Returns
 * TSR_EXIT_OK with the answer in resp, whatever its status (release it), or
 * TSR_EXIT_ERROR having said why no answer came. */
int tsr_cli_send(struct tsr_cli *cli, const struct tsr_request *req, struct tsr_response *resp);

/* Says why resp is a failure, in one line, and returns its exit status as
 * tsr_cli_call does. */
int tsr_cli_refused(const struct tsr_cli *cli, const struct tsr_response *resp);

/* Says that standard output could not be written, unless the reader went
 * away (EPIPE: `tessera list tokens | head`), which is no news to anyone;
 * returns TSR_EXIT_ERROR. */
int tsr_cli_write_failed(void);

/* Prints j as JSON on standard output; returns an exit status. */
int tsr_cli_print_json(const json_t *j);

/* Frees what cli holds and wipes its token. Cannot fail. */
void tsr_cli_release(struct tsr_cli *cli);

#endif
