/* cmd_user.c - tesserad user add|list|passwd|remove: the operator's accounts */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "core/timefmt.h"
#include "service/service.h"
#include "tesserad/commands.h"

#define LINE_MAX_BYTES (TSR_PASSWORD_MAX + 2)

/* Reads one line from f into buf without its line ending; false at EOF or
 * for a line longer than the buffer. */
static bool read_line(FILE *f, char *buf, size_t size)
{
    size_t len;

    if (!fgets(buf, (int)size, f))
        return false;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    else if (!feof(f))
        return false;
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    return true;
}

static bool prompt_hidden(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    bool ok;

    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return false;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    ok = read_line(stdin, buf, size);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return ok;
}

/* From the terminal without echo, asked twice; else one line of stdin. */
static bool read_password(char *buf, size_t size)
{
    char again[LINE_MAX_BYTES];
    bool same;

    if (!isatty(STDIN_FILENO)) {
        if (read_line(stdin, buf, size))
            return true;
        die_message("cannot read the password: give it as one line on standard input");
        return false;
    }
    if (!prompt_hidden("Password: ", buf, size) ||
        !prompt_hidden("Repeat password: ", again, sizeof(again))) {
        die_message("cannot read the password");
        return false;
    }
    same = strcmp(buf, again) == 0;
    sodium_memzero(again, sizeof(again));
    if (!same)
        die_message("the passwords do not match");
    return same;
}

static int failed(enum tsr_err rc, const char *email, const struct tsr_problem *why)
{
    if (rc == TSR_ERR_INVALID)
        die_message("%s", why->detail);
    else if (rc == TSR_ERR_EXISTS)
        die_message("a user with the email '%s' already exists", email);
    else if (rc == TSR_ERR_NOT_FOUND)
        die_message("no user with the email '%s'", email);
    else
        die_message("cannot change user '%s': %s", email, tsr_strerror(rc));
    return EXIT_FAIL;
}

static enum tsr_err print_user(const struct tsr_user_row *u, void *ctx)
{
    char created[TSR_TIME_LEN + 1];

    (void)ctx;
    tsr_time_format(u->created, created);
    printf("%s\t%s\t%s\n", u->email, u->id, created);
    return TSR_OK;
}

static int run(struct tsr_service *svc, const char *sub, const char *email)
{
    struct tsr_problem why = {0};
    struct tsr_user_row user;
    char password[LINE_MAX_BYTES];
    enum tsr_err rc;

    if (strcmp(sub, "list") == 0) {
        rc = tsr_users_each(svc, print_user, NULL);
        return rc == TSR_OK ? EXIT_OK : failed(rc, "", &why);
    }
    if (strcmp(sub, "remove") == 0) {
        rc = tsr_users_remove(svc, email);
        if (rc == TSR_OK)
            fprintf(stderr, "removed %s and revoked their tokens\n", email);
        return rc == TSR_OK ? EXIT_OK : failed(rc, email, &why);
    }
    if (!read_password(password, sizeof(password)))
        return EXIT_FAIL;
    if (strcmp(sub, "add") == 0)
        rc = tsr_users_add(svc, email, password, &user, &why);
    else
        rc = tsr_users_passwd(svc, email, password, &why);
    sodium_memzero(password, sizeof(password));
    if (rc != TSR_OK)
        return failed(rc, email, &why);
    fprintf(stderr, "%s %s\n", strcmp(sub, "add") == 0 ? "added" : "changed the password of",
            email);
    return EXIT_OK;
}

static bool known_sub(const char *sub, bool *needs_email)
{
    *needs_email = strcmp(sub, "list") != 0;
    return strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0 || strcmp(sub, "remove") == 0 ||
           strcmp(sub, "list") == 0;
}

int cmd_user(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    const char *db = NULL;
    bool needs_email;
    struct tsr_store *store;
    struct tsr_service *svc = NULL;
    int status;

    if (!known_sub(sub, &needs_email)) {
        die_message("usage: tesserad user add|passwd|remove EMAIL [--db PATH] | list [--db PATH]");
        return EXIT_USAGE;
    }
    if (parse_db_option(argc, argv, 2, &db) != EXIT_OK)
        return EXIT_USAGE;
    if (argc - optind != (needs_email ? 1 : 0)) {
        die_message(needs_email ? "user %s needs one EMAIL" : "user %s takes no argument", sub);
        return EXIT_USAGE;
    }
    if (!open_service(db_path(db), &store, &svc))
        return EXIT_FAIL;
    status = run(svc, sub, needs_email ? argv[optind] : "");
    close_service(store, svc);
    return status;
}
