/* main.c - tessera: the command table, help, and dispatch */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/expiry.h"
#include "core/limits.h"

const char tsr_help_text[] =
    "usage: tessera <command> [options]\n"
    "\n"
    "Tessera's command-line client: create, list, change and revoke your personal\n"
    "tokens on a Tessera server.\n"
    "\n"
    "Commands:\n"
    "  login [--email E] [--token T]   log in; store a token made for this machine\n"
    "  logout                          revoke the stored token and forget it\n"
    "  whoami                          show whose token is in force\n"
    "  create token --name N --expires E [--description D]\n"
    "  list tokens [--search S] [--sort [-]FIELD] [--page N] [--page-size N] [--all]\n"
    "  describe token ID\n"
    "  update token ID [--name N] [--description D] [--expires E]\n"
    "  delete token ID [--yes]\n"
    "  completion bash                 print the bash completion script\n"
    "  help [COMMAND]                  this text, or a command's\n"
    "\n"
    "'tokens', 'personal-token' and 'personal-tokens' may stand for 'token'.\n"
    "\n"
    "Options for every command:\n"
    "  -o, --output table|json   table (the default) or the API's own JSON object\n"
    "      --server URL          the server; else TESSERA_SERVER, the config file,\n"
    "                            or http://127.0.0.1:8080\n"
    "      --token T             the token; else TESSERA_TOKEN, or the stored one\n"
    "  -h, --help                help, for tessera or a command\n"
    "      --version             print tessera's version\n"
    "\n"
    "Files: $XDG_CONFIG_HOME/tessera/config and credentials (~/.config/tessera).\n"
    "Exit status: 0 ok, 1 error, 2 usage, 3 not authenticated, 4 not found.\n"
    "See tessera(1).\n";

#define EXPIRES_HELP                                                                               \
    "  --expires E        when it stops working: 1d, 7d, 15d, 30d, 90d, 1y (the same\n"            \
    "                     date next year), any Nd, Nw or Ny, or a date or time such\n"             \
    "                     as 2026-12-30, 2026-12-30T17:00 or 2026-12-30T17:00:00+01:00\n"          \
    "                     (no zone means UTC)\n"

static const struct tsr_command commands[] = {
    {"login", NULL, TSR_OPT_EMAIL, 0, 0, "tessera login [--email E] [--server URL] | --token T",
     "Logs in with your email and password: asks for the password without echo\n"
     "(or reads one line from standard input when it is not a terminal), makes a\n"
     "personal token named tessera-cli@HOSTNAME that expires in 30 days, revokes\n"
     "the one a previous login stored, logs the password session out, and stores\n"
     "the token and the server in ~/.config/tessera, so later commands need\n"
     "neither.\n"
     "\n"
     "  --email E          your email (asked for on a terminal when not given)\n"
     "  --token T          store an existing personal token instead, after checking\n"
     "                     it; '-' reads it from standard input, out of sight of ps\n"
     "\n"
     "Examples:\n"
     "  tessera login --server https://tessera.example.com --email me@example.com\n"
     "  tessera login --token - < token.txt\n",
     tsr_cmd_login},
    {"logout", NULL, 0, 0, 0, "tessera logout",
     "Revokes the token that 'tessera login' stored and removes it from this\n"
     "machine. A token stored with 'login --token' is removed but not revoked.\n",
     tsr_cmd_logout},
    {"whoami", NULL, 0, 0, 0, "tessera whoami",
     "Shows the account that the token in force belongs to, the server, and which\n"
     "token it is and when it expires.\n",
     tsr_cmd_whoami},
    {"create", "token", TSR_OPT_NAME | TSR_OPT_DESCRIPTION | TSR_OPT_EXPIRES, 0, 0,
     "tessera create token --name N --expires E [--description D]",
     "Makes a personal token and prints its secret once, alone on standard output,\n"
     "so that $(tessera create token ...) captures it; everything else goes to\n"
     "standard error. On a terminal, a missing name or expiry is asked for.\n"
     "\n"
     "  --name N           1 to " TSR_NAME_MAX_CHARS_TEXT " characters\n"
     "  --description D    up to " TSR_DESC_MAX_CHARS_TEXT " characters\n" EXPIRES_HELP "\n"
     "Examples:\n"
     "  tessera create token --name 'CI deploy' --expires 90d\n"
     "  TOKEN=$(tessera create token --name nightly --expires 2026-12-31)\n",
     tsr_cmd_create},
    {"list", "token",
     TSR_OPT_SEARCH | TSR_OPT_SORT | TSR_OPT_PAGE | TSR_OPT_PAGE_SIZE | TSR_OPT_ALL, 0, 0,
     "tessera list tokens [--search S] [--sort [-]FIELD] [--page N] [--page-size N] [--all]",
     "Lists your personal tokens: id, name, hint (the secret's first characters),\n"
     "when made, when they expire, when last used, and status; times in UTC.\n"
     "\n"
     "  --search S         only tokens whose name or description holds S\n"
     "  --sort [-]FIELD    name, created, expires or last_used; '-' for descending\n"
     "                     (default: -created, the newest first)\n"
     "  --page N           page N (from 1)\n"
     "  --page-size N      tokens per page, 1 to " TSR_PAGE_SIZE_MAX_TEXT " (default 20)\n"
     "  --all              every page; with --output json, the results of all pages\n"
     "                     in one object\n"
     "\n"
     "Examples:\n"
     "  tessera list tokens --sort expires\n"
     "  tessera list tokens --all --output json | jq -r '.results[].id'\n",
     tsr_cmd_list},
    {"describe", "token", 0, 1, 1, "tessera describe token ID",
     "Shows one personal token; ID 'self' is the token in force.\n", tsr_cmd_describe},
    {"update", "token", TSR_OPT_NAME | TSR_OPT_DESCRIPTION | TSR_OPT_EXPIRES, 1, 1,
     "tessera update token ID [--name N] [--description D] [--expires E]",
     "Changes a personal token's name, description or expiry (counted from now);\n"
     "the secret stays the same. An expired token cannot be changed, only deleted.\n"
     "\n"
     "  --name N           1 to " TSR_NAME_MAX_CHARS_TEXT " characters\n"
     "  --description D    up to " TSR_DESC_MAX_CHARS_TEXT
     " characters; '' clears it\n" EXPIRES_HELP,
     tsr_cmd_update},
    {"delete", "token", TSR_OPT_YES, 1, 1, "tessera delete token ID [--yes]",
     "Revokes a personal token at once. On a terminal it shows the token and asks\n"
     "you to type 'delete'; without a terminal it refuses unless given --yes.\n"
     "\n"
     "  -y, --yes          delete without asking\n",
     tsr_cmd_delete},
    {"completion", NULL, 0, 1, 1, "tessera completion bash",
     "Prints the bash completion script. Load it with:\n"
     "  source <(tessera completion bash)\n",
     tsr_cmd_completion},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct tsr_command *tsr_commands(size_t *n)
{
    *n = NCOMMANDS;
    return commands;
}

bool tsr_is_token_noun(const char *word)
{
    return strcmp(word, "token") == 0 || strcmp(word, "tokens") == 0 ||
           strcmp(word, "personal-token") == 0 || strcmp(word, "personal-tokens") == 0;
}

static const struct tsr_command *find(const char *verb)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].verb, verb) == 0)
            return &commands[i];
    }
    return NULL;
}

static int print_help(const struct tsr_command *c)
{
    int n;

    if (c == NULL)
        n = fputs(tsr_help_text, stdout);
    else
        n = printf("usage: %s\n\n%s\nOptions for every command: -o/--output table|json, "
                   "--server URL, --token T, -h/--help.\nSee tessera(1).\n",
                   c->usage, c->help);
    if (n < 0 || fflush(stdout) != 0)
        return TSR_EXIT_ERROR;
    return TSR_EXIT_OK;
}

/* `tessera help [VERB [NOUN]]`. */
static int help_command(const struct tsr_args *a)
{
    const struct tsr_command *c;

    if (a->nwords < 2)
        return print_help(NULL);
    c = find(a->words[1]);
    if (c == NULL || (c->noun != NULL && a->nwords > 2 && !tsr_is_token_noun(a->words[2])))
        return tsr_cli_usage(NULL, "no such command '%.32s'", a->words[1]);
    return print_help(c);
}

static int run(int argc, char **argv)
{
    struct tsr_args a;
    struct tsr_cli cli;
    const struct tsr_command *c;
    char why[256], name[32];
    size_t first; /* where the command's parameters start among the words */
    unsigned extra;
    int status;

    if (tsr_args_parse(argc, argv, &a, why, sizeof(why)) != TSR_OK)
        return tsr_cli_usage(NULL, "%s", why);
    if ((a.given & TSR_OPT_VERSION) != 0 || (a.nwords == 1 && strcmp(a.words[0], "version") == 0)) {
        printf("tessera %s\n", TSR_VERSION);
        return fflush(stdout) == 0 ? TSR_EXIT_OK : TSR_EXIT_ERROR;
    }
    if (a.nwords == 0) {
        if ((a.given & TSR_OPT_HELP) != 0)
            return print_help(NULL);
        fputs(tsr_help_text, stderr);
        return TSR_EXIT_USAGE;
    }
    if (strcmp(a.words[0], "help") == 0)
        return help_command(&a);
    c = find(a.words[0]);
    if (c == NULL)
        return tsr_cli_usage(NULL, "unknown command '%.32s'", a.words[0]);
    /* "list tokens" reads better than "list token"; both work. */
    snprintf(name, sizeof(name), "%s%s%s%s", c->verb, c->noun ? " " : "", c->noun ? c->noun : "",
             c->noun && strcmp(c->verb, "list") == 0 ? "s" : "");
    memset(&cli, 0, sizeof(cli));
    cli.name = name;
    first = 1;
    if (c->noun != NULL) {
        if (a.nwords < 2) {
            if ((a.given & TSR_OPT_HELP) != 0)
                return print_help(c);
            return tsr_cli_usage(&cli, "'tessera %s' needs to know what: token", c->verb);
        }
        if (!tsr_is_token_noun(a.words[1]))
            return tsr_cli_usage(&cli, "'tessera %s' works on tokens, not '%.32s'", c->verb,
                                 a.words[1]);
        first = 2;
    }
    if ((a.given & TSR_OPT_HELP) != 0)
        return print_help(c);
    extra = a.given & ~(unsigned)(TSR_OPT_GLOBAL | c->opts);
    if (extra != 0)
        return tsr_cli_usage(&cli, "option %s does not apply to 'tessera %s'", tsr_args_name(extra),
                             name);
    if (a.nwords - first < c->min_params)
        return tsr_cli_usage(&cli, "missing %s", c->noun ? "the token id" : "the shell's name");
    if (a.nwords - first > c->max_params)
        return tsr_cli_usage(&cli, "unexpected argument '%.64s'", a.words[first + c->max_params]);
    /* completion needs no server, and must work whatever the config says. */
    if (c->run == tsr_cmd_completion) {
        cli.params = a.words + first;
        cli.nparams = a.nwords - first;
        return c->run(&cli);
    }
    status = tsr_cli_start(&cli, &a, name, a.words + first, a.nwords - first);
    if (status == TSR_EXIT_OK)
        status = c->run(&cli);
    tsr_cli_release(&cli);
    return status;
}

int main(int argc, char **argv)
{
    int status;

    /* Widths of names in tables follow the terminal's character set. */
    setlocale(LC_CTYPE, "");
    /* Writes to a reader that went away (`tessera list tokens | head`) or
     * to a closed connection fail with EPIPE instead of killing tessera:
     * output is checked, and libcurl is told not to touch signals. */
    signal(SIGPIPE, SIG_IGN);
    if (tsr_client_global_init() != TSR_OK) {
        fputs("error: cannot set up libcurl\n", stderr);
        return TSR_EXIT_ERROR;
    }
    status = run(argc, argv);
    tsr_client_global_cleanup();
    return status;
}
