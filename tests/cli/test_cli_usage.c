/* test_cli_usage.c - tessera's command line itself: help on every command,
 * --version, completion, usage errors and their exit status */
#include <string.h>

#include "cli_harness.h"

static struct tsr_c_env *g_env;

static int setup(void **state)
{
    (void)state;
    g_env = tsr_c_env_new();
    return 0;
}

static const char *const commands[][3] = {
    {"login", NULL, "usage: tessera login"},
    {"logout", NULL, "usage: tessera logout"},
    {"whoami", NULL, "usage: tessera whoami"},
    {"create", "token",
     "usage: tessera create token --name N --expires E [--description D] "
     "[--scope S]... [--allow-ip CIDR]... [--not-before T]\n"},
    {"list", "tokens", "usage: tessera list tokens [--search S] [--sort [-]FIELD]"},
    {"list", "scopes", "usage: tessera list scopes [--page-size N]\n"},
    {"describe", "token", "usage: tessera describe token ID"},
    {"update", "token",
     "usage: tessera update token ID [--name N] [--description D] [--expires E] "
     "[--scope S]... [--allow-ip CIDR]... [--allow-anywhere] [--not-before T] "
     "[--clear-not-before]\n"},
    {"rotate", "token", "usage: tessera rotate token ID [--grace D] [--expires E]\n"},
    {"delete", "token", "usage: tessera delete token ID [--yes]"},
    {"completion", NULL, "usage: tessera completion bash"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void test_help_on_every_command(void **state)
{
    struct tsr_c_run *r;

    (void)state;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *verb = commands[i][0], *noun = commands[i][1];

        /* --help and -h anywhere, and `tessera help VERB`: all the same,
         * on standard output, exit 0, and no server needed. */
        r = noun ? tsr_c_run(g_env, NULL, verb, noun, "--help", NULL)
                 : tsr_c_run(g_env, NULL, verb, "--help", NULL);
        tsr_c_assert_status(r, 0);
        assert_true(strncmp(r->out, commands[i][2], strlen(commands[i][2])) == 0);
        tsr_c_assert_has(r->out, "--output");
        assert_string_equal(r->err, "");
        const char *first = r->out;
        r = noun ? tsr_c_run(g_env, NULL, "-h", verb, noun, NULL)
                 : tsr_c_run(g_env, NULL, verb, "-h", NULL);
        tsr_c_assert_status(r, 0);
        assert_string_equal(r->out, first);
        r = noun ? tsr_c_run(g_env, NULL, "help", verb, noun, NULL)
                 : tsr_c_run(g_env, NULL, "help", verb, NULL);
        tsr_c_assert_status(r, 0);
        assert_string_equal(r->out, first);
        if (noun != NULL) {
            bool scopes = strcmp(noun, "scopes") == 0;

            /* With the noun's aliases. */
            r = tsr_c_run(g_env, NULL, verb, scopes ? "scope" : "personal-token", "--help", NULL);
            tsr_c_assert_status(r, 0);
            assert_string_equal(r->out, first);
            /* The verb alone, with --help or after help: its token command,
             * the first noun it takes. */
            r = tsr_c_run(g_env, NULL, verb, "--help", NULL);
            tsr_c_assert_status(r, 0);
            if (scopes)
                assert_string_not_equal(r->out, first);
            else
                assert_string_equal(r->out, first);
            r = tsr_c_run(g_env, NULL, "help", verb, NULL);
            tsr_c_assert_status(r, 0);
            if (scopes)
                tsr_c_assert_has(r->out, "usage: tessera list tokens");
            else
                assert_string_equal(r->out, first);
        }
    }
}

static void test_general_help_and_version(void **state)
{
    struct tsr_c_run *r;

    (void)state;
    r = tsr_c_run(g_env, NULL, "--help", NULL);
    tsr_c_assert_status(r, 0);
    tsr_c_assert_has(r->out, "usage: tessera <command> [options]");
    for (size_t i = 0; i < NCOMMANDS; i++)
        tsr_c_assert_has(r->out, tsr_h_fmt("  %s", commands[i][0]));
    tsr_c_assert_has(r->out, "Exit status: 0 ok, 1 error, 2 usage, 3 not authenticated, 4 not "
                             "found.");
    const char *help = r->out;
    r = tsr_c_run(g_env, NULL, "help", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, help);
    /* No command at all: the help, on standard error, as a usage error. */
    r = tsr_c_run(g_env, NULL, NULL);
    tsr_c_assert_status(r, 2);
    assert_string_equal(r->err, help);
    assert_string_equal(r->out, "");

    r = tsr_c_run(g_env, NULL, "--version", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "tessera " TSR_VERSION_TEXT "\n");
    r = tsr_c_run(g_env, NULL, "version", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, "tessera " TSR_VERSION_TEXT "\n");
}

static void test_completion(void **state)
{
    struct tsr_c_run *r;
    const char *file = tsr_h_read_file(TSR_SOURCE_DIR "/completions/tessera.bash", NULL);

    (void)state;
    assert_non_null(file);
    r = tsr_c_run(g_env, NULL, "completion", "bash", NULL);
    tsr_c_assert_status(r, 0);
    assert_string_equal(r->out, file);
    tsr_c_assert_has(r->out, "complete -F _tessera tessera");
    r = tsr_c_run(g_env, NULL, "completion", "fish", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "only bash is supported");
    r = tsr_c_run(g_env, NULL, "completion", NULL);
    tsr_c_assert_status(r, 2);
}

static void test_completion_in_bash(void **state)
{
    const char *script =
        tsr_h_fmt("source %s/completions/tessera.bash\n"
                  "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _tessera;"
                  " echo \"${COMPREPLY[*]}\"; }\n"
                  "t tessera ''\n"
                  "t tessera cr\n"
                  "t tessera create ''\n"
                  "t tessera list tokens --so\n"
                  "t tessera list tokens --sort -\n"
                  "t tessera create token --expires ''\n"
                  "t tessera -o ''\n"
                  "t tessera delete token x --y\n"
                  "t tessera list ''\n"
                  "t tessera create token --not\n"
                  "t tessera update token x --allow-\n"
                  "t tessera update token x --scope a --clear\n"
                  "t tessera update token x --allow-ip ''\n"
                  "t tessera list scopes --\n"
                  "t tessera login --e\n"
                  "t tessera login --expires ''\n"
                  "t tessera rotate ''\n"
                  "t tessera rotate token x --\n"
                  "t tessera rotate token x --grace ''\n"
                  "t tessera rotate token x --grace 1h --e\n"
                  "t tessera list tokens --exp\n"
                  "t tessera list tokens --st\n"
                  "t tessera list tokens --status ''\n"
                  "t tessera list tokens --status expi\n"
                  "t tessera list tokens --status active --sea\n",
                  TSR_SOURCE_DIR);
    const char *path = tsr_h_fmt("%s/complete.sh", g_env->home);
    FILE *f = fopen(path, "w");
    char *out;
    FILE *p;
    char buf[4096];
    size_t n;

    (void)state;
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    p = popen(tsr_h_fmt("timeout 20 bash --norc --noprofile %s", path), "r");
    assert_non_null(p);
    n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    assert_int_equal(pclose(p), 0);
    out = buf;
    assert_string_equal(out, "login logout whoami create list describe update rotate delete "
                             "completion help\n"
                             "create\n"
                             "token tokens personal-token personal-tokens\n"
                             "--sort\n"
                             "-name -created -expires -last_used\n"
                             "1d 7d 15d 30d 90d 1y\n"
                             "table json\n"
                             "--yes\n"
                             "token tokens personal-token personal-tokens scope scopes\n"
                             "--not-before\n"
                             "--allow-ip --allow-anywhere\n"
                             "--clear-not-before\n"
                             "\n"
                             "--page-size --output --server --token --help\n"
                             "--email --expires\n"
                             "1d 7d 15d 30d 90d 1y\n"
                             "token tokens personal-token personal-tokens\n"
                             "--grace --expires --output --server --token --help\n"
                             "0 15m 1h 24h\n"
                             "--expires\n"
                             "--expiring\n"
                             "--status\n"
                             "active expiring expired\n"
                             "expiring expired\n"
                             "--search\n");
}

static void test_usage_errors_exit_2(void **state)
{
    static const char *const cases[][6] = {
        {"frobnicate", NULL, NULL, NULL, NULL,
         "error: unknown command 'frobnicate'; see 'tessera --help'\n"},
        {"list", "tokens", "--bogus", NULL, NULL,
         "error: unknown option '--bogus'; see 'tessera --help'\n"},
        {"list", "tokens", "-q", NULL, NULL, "error: unknown option '-q'; see 'tessera --help'\n"},
        {"create", NULL, NULL, NULL, NULL,
         "error: 'tessera create' needs to know what: token; see 'tessera create token --help'\n"},
        {"create", "widget", NULL, NULL, NULL,
         "error: 'tessera create' works on tokens, not 'widget'; see 'tessera create token "
         "--help'\n"},
        {"create", "scope", NULL, NULL, NULL,
         "error: 'tessera create' works on tokens, not 'scope'; see 'tessera create token "
         "--help'\n"},
        {"list", "widgets", NULL, NULL, NULL,
         "error: 'tessera list' works on tokens or scopes, not 'widgets'; see 'tessera list "
         "tokens --help'\n"},
        {"list", NULL, NULL, NULL, NULL,
         "error: 'tessera list' needs to know what: token or scope; see 'tessera list tokens "
         "--help'\n"},
        {"list", "tokens", "--scope", "global", NULL,
         "error: option --scope does not apply to 'tessera list tokens'; see 'tessera list "
         "tokens --help'\n"},
        {"create", "token", "--allow-ip", NULL, NULL,
         "error: option --allow-ip needs a value; see 'tessera --help'\n"},
        {"update", "token", "x", "--clear-not-before=1", NULL,
         "error: option --clear-not-before takes no value; see 'tessera --help'\n"},
        {"help", "list", "widgets", NULL, NULL,
         "error: no such command 'list'; see 'tessera --help'\n"},
        {"list", "tokens", "--name", "x", NULL,
         "error: option --name does not apply to 'tessera list tokens'; see 'tessera list tokens "
         "--help'\n"},
        {"describe", "token", "a", "b", NULL,
         "error: unexpected argument 'b'; see 'tessera describe token --help'\n"},
        {"whoami", "extra", NULL, NULL, NULL,
         "error: unexpected argument 'extra'; see 'tessera whoami --help'\n"},
        {"whoami", "-o", "yaml", NULL, NULL,
         "error: --output must be table or json, not 'yaml'; see 'tessera whoami --help'\n"},
        {"whoami", "--output", NULL, NULL, NULL,
         "error: option --output needs a value; see 'tessera --help'\n"},
        {"whoami", "--all=yes", NULL, NULL, NULL,
         "error: option --all takes no value; see 'tessera --help'\n"},
        {"help", "nothing", NULL, NULL, NULL,
         "error: no such command 'nothing'; see 'tessera --help'\n"},
        {"rotate", "token", "self", "--grace", "25h",
         "error: --grace '25h' is longer than 24h, the most the server allows; see 'tessera "
         "rotate token --help'\n"},
        {"rotate", "token", "self", "--grace", "1 h",
         "error: --grace '1 h' is not a length of time such as 0, 90s, 15m, 1h or 1d; see "
         "'tessera rotate token --help'\n"},
        {"rotate", "token", "self", "--expires", "soon",
         "error: the expiry 'soon' is not one of 1d, 7d, 15d, 30d, 90d, 1y, any Nd, Nw or Ny, or a "
         "date such as 2026-12-30"
         "; see 'tessera rotate token --help'\n"},
        {"rotate", "token", "self", "--yes", NULL,
         "error: option --yes does not apply to 'tessera rotate token'; see 'tessera rotate "
         "token --help'\n"},
        {"rotate", "token", NULL, NULL, NULL,
         "error: missing the token id; see 'tessera rotate token --help'\n"},
        {"rotate", "token", "12345", NULL, NULL,
         "error: '12345' is not a token id: ids are UUIDs such as "
         "0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b, as 'tessera list tokens' shows; see 'tessera "
         "rotate token --help'\n"},
        {"whoami", "--server", "ftp://x", NULL, NULL,
         "error: the server 'ftp://x' must be a URL such as http://127.0.0.1:8080 (from "
         "--server)\n"},
    };
    struct tsr_c_run *r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[6] = {NULL};
        for (int k = 0; k < 5 && cases[i][k] != NULL; k++)
            args[k] = cases[i][k];
        r = tsr_c_runv(g_env, NULL, args);
        tsr_c_assert_status(r, 2);
        assert_string_equal(r->err, cases[i][5]);
        assert_string_equal(r->out, "");
    }
    /* "--" ends the options: what follows is a word. */
    r = tsr_c_run(g_env, NULL, "describe", "token", "--", "--help", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "'--help' is not a token id");
    /* The environment's server is checked too. */
    tsr_c_env_set(g_env, "TESSERA_SERVER", "localhost:8080");
    r = tsr_c_run(g_env, NULL, "whoami", NULL);
    tsr_c_assert_status(r, 2);
    tsr_c_assert_has(r->err, "(from TESSERA_SERVER)");
    tsr_c_env_clear(g_env);
    /* Nothing was written. */
    assert_false(tsr_c_exists(g_env->dir));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_on_every_command),
        cmocka_unit_test(test_general_help_and_version),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_completion_in_bash),
        cmocka_unit_test(test_usage_errors_exit_2),
    };

    return TSR_H_RUN(tests, setup, NULL);
}
