/* cmd_scope.c - tesserad scope add|list|remove: the operator's scopes for the APIs behind the
 * gateway */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "service/service.h"
#include "tesserad/commands.h"

static const char scope_usage[] =
    "usage: tesserad scope add NAME [--description TEXT] [--db PATH]\n"
    "       tesserad scope list [--db PATH]\n"
    "       tesserad scope remove NAME [--db PATH]\n"
    "\n"
    "Scopes that tokens may hold for the APIs behind the gateway, besides Tessera's own.\n"
    "A NAME is 1 to 64 characters of a-z, 0-9, _ . : -, starting with a letter or a digit.\n"
    "A running server learns of a change within a second. See tesserad(8).\n";

static int failed(enum tsr_err rc, const char *name, const struct tsr_problem *why)
{
    if (rc == TSR_ERR_INVALID || rc == TSR_ERR_EXISTS || rc == TSR_ERR_NOT_FOUND ||
        rc == TSR_ERR_IN_USE)
        die_message("%s", why->detail);
    else if (name[0] != '\0')
        die_message("cannot change scope '%s': %s", name, tsr_strerror(rc));
    else
        die_message("cannot list the scopes: %s", tsr_strerror(rc));
    return EXIT_FAIL;
}

/* The widest name of the list, for the table's first column. */
static enum tsr_err measure(const struct tsr_scope_row *s, bool builtin, void *ctx)
{
    int *width = ctx;
    int n = (int)strlen(s->name);

    (void)builtin;
    if (n > *width)
        *width = n;
    return TSR_OK;
}

/* One line a scope: a description's line breaks and tabs print as spaces. */
static enum tsr_err print_scope(const struct tsr_scope_row *s, bool builtin, void *ctx)
{
    const int *width = ctx;

    printf("%-*s  %-8s  ", *width, s->name, builtin ? "builtin" : "operator");
    for (const char *p = s->description; *p; p++)
        putchar(*p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
    putchar('\n');
    return TSR_OK;
}

static int list(struct tsr_service *svc)
{
    int width = (int)strlen("NAME");
    int64_t total = 0;
    enum tsr_err rc = tsr_scopes_list(svc, 0, INT64_MAX, measure, &width, &total);

    if (rc == TSR_OK) {
        printf("%-*s  %-8s  %s\n", width, "NAME", "KIND", "DESCRIPTION");
        rc = tsr_scopes_list(svc, 0, INT64_MAX, print_scope, &width, &total);
    }
    return rc == TSR_OK ? EXIT_OK : failed(rc, "", NULL);
}

static int run(struct tsr_service *svc, const char *sub, const char *name, const char *description)
{
    struct tsr_problem why = {0};
    enum tsr_err rc;

    if (strcmp(sub, "list") == 0)
        return list(svc);
    if (strcmp(sub, "add") == 0)
        rc = tsr_scopes_add(svc, name, description, &why);
    else
        rc = tsr_scopes_remove(svc, name, &why);
    if (rc != TSR_OK)
        return failed(rc, name, &why);
    fprintf(stderr, "%s scope %s\n", strcmp(sub, "add") == 0 ? "added" : "removed", name);
    return EXIT_OK;
}

/* Reads --db and (for add) --description from argv[2] on; optind is then
 * at the first operand. */
static int parse_options(int argc, char **argv, bool add, const char **db, const char **description)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"description", required_argument, NULL, 'D'},
                                             {NULL, 0, NULL, 0}};
    int c;

    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'd') {
            *db = optarg;
        } else if (c == 'D' && add) {
            *description = optarg;
        } else {
            die_message("%s '%s'; see 'tesserad scope --help'",
                        c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_scope(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    const char *db = NULL, *description = NULL;
    bool needs_name = strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0;
    struct tsr_store *store;
    struct tsr_service *svc = NULL;
    int status;

    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(scope_usage, stdout);
        return EXIT_OK;
    }
    if (!needs_name && strcmp(sub, "list") != 0) {
        die_message("usage: tesserad scope add NAME [--description TEXT] [--db PATH] | "
                    "remove NAME [--db PATH] | list [--db PATH]");
        return EXIT_USAGE;
    }
    if (parse_options(argc, argv, strcmp(sub, "add") == 0, &db, &description) != EXIT_OK)
        return EXIT_USAGE;
    if (argc - optind != (needs_name ? 1 : 0)) {
        die_message(needs_name ? "scope %s needs one NAME" : "scope %s takes no argument", sub);
        return EXIT_USAGE;
    }
    if (!open_service(db_path(db), &store, &svc))
        return EXIT_FAIL;
    status = run(svc, sub, needs_name ? argv[optind] : "", description);
    close_service(store, svc);
    return status;
}
