/* commands.h - tessera's commands: the table main.c dispatches on, and each
 * command's entry point
 *
 * A command is a verb, and for the token and scope commands a noun (`token`,
 * with the aliases `tokens`, `personal-token` and `personal-tokens`; `scope`,
 * with `scopes`), as in kubectl and the Azion CLI. Each entry point takes a cli that tsr_cli_start
 * has set up, with its parameters in cli->params, and returns an exit status (enum tsr_exit),
 * having printed why when it is not 0.
 */
#ifndef TSR_CLI_COMMANDS_H
#define TSR_CLI_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

struct tsr_command {
    const char *verb;
    const char *noun;  /* "token" or "scope", or NULL for a one-word command */
    unsigned opts;     /* the options it takes besides TSR_OPT_GLOBAL */
    size_t min_params; /* words after the command's own */
    size_t max_params;
    const char *usage; /* one line */
    const char *help;  /* what it does, its options, examples */
    int (*run)(struct tsr_cli *cli);
};

/* The commands, in the order the general help lists them; *n is how many.
 * Cannot fail. */
const struct tsr_command *tsr_commands(size_t *n);

/* Whether word names noun ("token" or "scope") or one of its aliases. */
bool tsr_noun_matches(const char *noun, const char *word);

/* The general help text. */
extern const char tsr_help_text[];

/* The bash completion script, the same as completions/tessera.bash. */
extern const char tsr_bash_completion[];

/* cmd_auth.c */
int tsr_cmd_login(struct tsr_cli *cli);
int tsr_cmd_logout(struct tsr_cli *cli);
int tsr_cmd_whoami(struct tsr_cli *cli);

/* cmd_tokens.c */
int tsr_cmd_create(struct tsr_cli *cli);
int tsr_cmd_list(struct tsr_cli *cli);
int tsr_cmd_describe(struct tsr_cli *cli);
int tsr_cmd_update(struct tsr_cli *cli);
int tsr_cmd_delete(struct tsr_cli *cli);
int tsr_cmd_rotate(struct tsr_cli *cli);

/* cmd_scopes.c */
int tsr_cmd_list_scopes(struct tsr_cli *cli);

/* completion.c */
int tsr_cmd_completion(struct tsr_cli *cli);

#endif
