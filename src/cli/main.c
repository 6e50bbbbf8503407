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
    "tokens on a Tessera server, and say what each may do and from where.\n"
    "\n"
    "Commands:\n"
    "  login [--email E] [--expires E] | --token T\n"
    "                                  log in; store a token made for this machine\n"
    "  logout                          revoke the stored token and forget it\n"
    "  whoami                          show whose token is in force\n"
    "  create token --name N --expires E [--description D] [--scope S]...\n"
    "               [--allow-ip CIDR]... [--not-before T]\n"
    "  list tokens [--search S] [--sort [-]FIELD] [--page N] [--page-size N] [--all]\n"
    "              [--expiring | --status active|expiring|expired]\n"
    "  list scopes [--page-size N]     the scopes a token can be given\n"
    "  describe token ID\n"
    "  update token ID [--name N] [--description D] [--expires E] [--scope S]...\n"
    "               [--allow-ip CIDR]... [--allow-anywhere] [--not-before T]\n"
    "               [--clear-not-before]\n"
    "  rotate token ID [--grace D] [--expires E]\n"
    "                                  a new secret for a token; prints it\n"
    "  delete token ID [--yes]\n"
    "  completion bash                 print the bash completion script\n"
    "  help [COMMAND]                  this text, or a command's\n"
    "\n"
    "'tokens', 'personal-token' and 'personal-tokens' may stand for 'token', and\n"
    "'scopes' for 'scope'.\n"
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

#define LIMITS_HELP                                                                                \
    "  --scope S          what the token may do: a scope's name, as 'tessera list\n"               \
    "                     scopes' shows; repeat for more. Without it, global:\n"                   \
    "                     everything you may do\n"                                                 \
    "  --allow-ip CIDR    an IPv4 or IPv6 address or block (10.0.0.0/8,\n"                         \
    "                     2001:db8::/48) the token may be used from; repeat for\n"                 \
    "                     more. Without it, anywhere\n"                                            \
    "  --not-before T     when it starts working, in the forms of --expires\n"

#define LIMITS_EXAMPLE                                                                             \
    "  tessera create token --name 'orders reader' --expires 90d \\\n"                             \
    "      --scope orders:read --scope tokens:read --allow-ip 10.0.0.0/8\n"

static const struct tsr_command commands[] = {
    {"login", NULL, TSR_OPT_EMAIL | TSR_OPT_EXPIRES, 0, 0,
     "tessera login [--email E] [--expires E] [--server URL] | --token T",
     "Logs in with your email and password: asks for the password without echo\n"
     "(or reads one line from standard input when it is not a terminal), makes a\n"
     "personal token named tessera-cli@HOSTNAME that lasts as long as the server\n"
     "allows (its --max-lifetime; a year when it has none), revokes the one a\n"
     "previous login stored, logs the password session out, and stores the token\n"
     "and the server in ~/.config/tessera, so later commands need neither.\n"
     "A token made with this one can expire no later than it, so a shorter\n"
     "--expires also bounds the tokens you create after this login.\n"
     "\n"
     "  --email E          your email (asked for on a terminal when not given)\n"
     "  --expires E        a shorter life for the login's token, in the forms of\n"
     "                     create token's --expires: 1d, 7d, 30d, any Nd, Nw or\n"
     "                     Ny, or a date such as 2026-12-30\n"
     "  --token T          store an existing personal token instead, after checking\n"
     "                     it; '-' reads it from standard input, out of sight of ps\n"
     "\n"
     "Examples:\n"
     "  tessera login --server https://tessera.example.com --email me@example.com\n"
     "  tessera login --email me@example.com --expires 7d\n"
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
    {"create", "token",
     TSR_OPT_NAME | TSR_OPT_DESCRIPTION | TSR_OPT_EXPIRES | TSR_OPT_SCOPE | TSR_OPT_ALLOW_IP |
         TSR_OPT_NOT_BEFORE,
     0, 0,
     "tessera create token --name N --expires E [--description D] [--scope S]... "
     "[--allow-ip CIDR]... [--not-before T]",
     "Makes a personal token and prints its secret once, alone on standard output,\n"
     "so that $(tessera create token ...) captures it; everything else goes to\n"
     "standard error. On a terminal, a missing name or expiry is asked for. The\n"
     "server checks the scopes and addresses and says what it refuses.\n"
     "\n"
     "  --name N           1 to " TSR_NAME_MAX_CHARS_TEXT " characters\n"
     "  --description D    up to " TSR_DESC_MAX_CHARS_TEXT " characters\n" EXPIRES_HELP LIMITS_HELP
     "\n"
     "Examples:\n"
     "  tessera create token --name 'CI deploy' --expires 90d\n"
     "  TOKEN=$(tessera create token --name nightly --expires 2026-12-31)\n" LIMITS_EXAMPLE,
     tsr_cmd_create},
    {"list", "token",
     TSR_OPT_SEARCH | TSR_OPT_SORT | TSR_OPT_PAGE | TSR_OPT_PAGE_SIZE | TSR_OPT_ALL |
         TSR_OPT_STATUS | TSR_OPT_EXPIRING,
     0, 0,
     "tessera list tokens [--search S] [--sort [-]FIELD] [--page N] [--page-size N] [--all] "
     "[--expiring | --status S]",
     "Lists your personal tokens: id, name, scopes (a long list is cut: 'describe'\n"
     "shows it whole), hint (the secret's first characters), when made, when they\n"
     "expire, when last used, and status: active, expiring (active, but it expires\n"
     "within " TSR_EXPIRING_SOON_DAYS_TEXT " days) or expired; times in UTC.\n"
     "\n"
     "  --search S         only tokens whose name or description holds S\n"
     "  --status S         only tokens of status S: active (not expired), expiring\n"
     "                     (active, and expiring within " TSR_EXPIRING_SOON_DAYS_TEXT
     " days) or expired\n"
     "  --expiring         the same as --status expiring\n"
     "  --sort [-]FIELD    name, created, expires or last_used; '-' for descending\n"
     "                     (default: -created, the newest first)\n"
     "  --page N           page N (from 1)\n"
     "  --page-size N      tokens per page, 1 to " TSR_PAGE_SIZE_MAX_TEXT " (default 20)\n"
     "  --all              every page; with --output json, the results of all pages\n"
     "                     in one object\n"
     "\n"
     "Examples:\n"
     "  tessera list tokens --sort expires\n"
     "  tessera list tokens --expiring --sort expires\n"
     "  tessera list tokens --all --output json | jq -r '.results[].id'\n",
     tsr_cmd_list},
    {"list", "scope", TSR_OPT_PAGE_SIZE, 0, 0, "tessera list scopes [--page-size N]",
     "Lists every scope a token can be given: Tessera's own (builtin) first, then\n"
     "those the server's operator added for the services behind it (operator),\n"
     "with what each allows. A token holds global unless made with --scope. It\n"
     "reads every page.\n"
     "\n"
     "  --page-size N      scopes per request, 1 to " TSR_PAGE_SIZE_MAX_TEXT
     " (default " TSR_PAGE_SIZE_MAX_TEXT ")\n"
     "\n"
     "Examples:\n"
     "  tessera list scopes\n"
     "  tessera list scopes --output json | jq -r '.results[].name'\n",
     tsr_cmd_list_scopes},
    {"describe", "token", 0, 1, 1, "tessera describe token ID",
     "Shows one personal token, with its scopes, the addresses it may be used from,\n"
     "when it starts working and the address it was last used from; ID 'self' is\n"
     "the token in force.\n",
     tsr_cmd_describe},
    {"update", "token",
     TSR_OPT_NAME | TSR_OPT_DESCRIPTION | TSR_OPT_EXPIRES | TSR_OPT_SCOPE | TSR_OPT_ALLOW_IP |
         TSR_OPT_ALLOW_ANYWHERE | TSR_OPT_NOT_BEFORE | TSR_OPT_CLEAR_NOT_BEFORE,
     1, 1,
     "tessera update token ID [--name N] [--description D] [--expires E] [--scope S]... "
     "[--allow-ip CIDR]... [--allow-anywhere] [--not-before T] [--clear-not-before]",
     "Changes a personal token's name, description, expiry (counted from now),\n"
     "scopes, addresses or start; the secret stays the same. An expired token\n"
     "cannot be changed, only deleted. --scope and --allow-ip replace the whole\n"
     "list: give every scope or address the token is to have.\n"
     "\n"
     "  --name N           1 to " TSR_NAME_MAX_CHARS_TEXT " characters\n"
     "  --description D    up to " TSR_DESC_MAX_CHARS_TEXT
     " characters; '' clears it\n" EXPIRES_HELP LIMITS_HELP
     "  --allow-anywhere   let it be used from any address again\n"
     "  --clear-not-before let it work at once\n"
     "\n"
     "Examples:\n"
     "  tessera update token ID --scope tokens:read\n"
     "  tessera update token ID --allow-anywhere --clear-not-before\n",
     tsr_cmd_update},
    {"rotate", "token", TSR_OPT_GRACE | TSR_OPT_EXPIRES, 1, 1,
     "tessera rotate token ID [--grace D] [--expires E]",
     "Gives a personal token a new secret and prints it once, alone on standard\n"
     "output, so that $(tessera rotate token ID) captures it; everything else goes\n"
     "to standard error. The token keeps its id, name, description, scopes and\n"
     "addresses, and its expiry unless --expires is given. The old secret stops\n"
     "working at once, or after --grace, so that what uses it can move to the new\n"
     "one. ID 'self' is the token in force; when that came from 'tessera login',\n"
     "the new secret is stored in its place. An expired token cannot be rotated,\n"
     "only deleted.\n"
     "\n"
     "  --grace D          how long the old secret keeps working: 0 (the default),\n"
     "                     or a number and s, m, h or d, such as 90s, 15m or 1h;\n"
     "                     at most 24h. It never outlives the old expiry\n" EXPIRES_HELP "\n"
     "Examples:\n"
     "  NEW=$(tessera rotate token ID --grace 1h)\n"
     "  tessera rotate token self --expires 90d\n"
     "  tessera rotate token ID --output json | jq -r .data.key_hint\n",
     tsr_cmd_rotate},
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

bool tsr_noun_matches(const char *noun, const char *word)
{
    if (strcmp(noun, "scope") == 0)
        return strcmp(word, "scope") == 0 || strcmp(word, "scopes") == 0;
    return strcmp(word, "token") == 0 || strcmp(word, "tokens") == 0 ||
           strcmp(word, "personal-token") == 0 || strcmp(word, "personal-tokens") == 0;
}

/* The command of verb whose noun is noun_word (any noun when NULL: the first
 * of the verb, whose help `tessera VERB --help` shows); NULL when none. */
static const struct tsr_command *find(const char *verb, const char *noun_word)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].verb, verb) == 0 && (noun_word == NULL || commands[i].noun == NULL ||
                                                    tsr_noun_matches(commands[i].noun, noun_word)))
            return &commands[i];
    }
    return NULL;
}

/* Appends s to the string in out (size bytes), as much as fits. */
static void append(char *out, const char *s, size_t size)
{
    size_t used = strlen(out), n = strlen(s);

    if (used + 1 >= size)
        return;
    if (n > size - used - 1)
        n = size - used - 1;
    memcpy(out + used, s, n);
    out[used + n] = '\0';
}

/* The nouns that verb takes, "token" or "token or scope", plural with
 * plural. Cannot fail. */
static void nouns_of(const char *verb, bool plural, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].verb, verb) != 0 || commands[i].noun == NULL)
            continue;
        if (out[0] != '\0')
            append(out, " or ", size);
        append(out, commands[i].noun, size);
        if (plural)
            append(out, "s", size);
    }
}

/* "list tokens" reads better than "list token"; both work. */
static void name_of(const struct tsr_command *c, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s%s", c->verb, c->noun ? " " : "", c->noun ? c->noun : "",
             c->noun && strcmp(c->verb, "list") == 0 ? "s" : "");
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
    c = find(a->words[1], NULL);
    if (c != NULL && c->noun != NULL && a->nwords > 2)
        c = find(a->words[1], a->words[2]);
    if (c == NULL)
        return tsr_cli_usage(NULL, "no such command '%.32s'", a->words[1]);
    return print_help(c);
}

static int run(int argc, char **argv)
{
    struct tsr_args a;
    struct tsr_cli cli;
    const struct tsr_command *c;
    char why[256], name[32], nouns[64];
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
    c = find(a.words[0], NULL);
    if (c == NULL)
        return tsr_cli_usage(NULL, "unknown command '%.32s'", a.words[0]);
    name_of(c, name, sizeof(name));
    memset(&cli, 0, sizeof(cli));
    cli.name = name;
    first = 1;
    if (c->noun != NULL) {
        const struct tsr_command *with_noun = a.nwords < 2 ? NULL : find(c->verb, a.words[1]);

        if (a.nwords < 2 && (a.given & TSR_OPT_HELP) != 0)
            return print_help(c);
        nouns_of(c->verb, a.nwords >= 2, nouns, sizeof(nouns));
        if (a.nwords < 2)
            return tsr_cli_usage(&cli, "'tessera %s' needs to know what: %s", c->verb, nouns);
        if (with_noun == NULL)
            return tsr_cli_usage(&cli, "'tessera %s' works on %s, not '%.32s'", c->verb, nouns,
                                 a.words[1]);
        c = with_noun;
        name_of(c, name, sizeof(name));
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
