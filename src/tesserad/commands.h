/* commands.h - tesserad's subcommands and what they share */
#ifndef TSR_TESSERAD_COMMANDS_H
#define TSR_TESSERAD_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "service/service.h"
#include "store/store.h"

/* Exit statuses of every tesserad command. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
};

#define DEFAULT_DB "./data/tessera.db"

/* Prints "tesserad: <message>" and a newline to standard error. */
void die_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The database path: --db if given, else $TESSERA_DB, else DEFAULT_DB. */
const char *db_path(const char *flag);

/* Parses a whole decimal number in [min, max] into *out; false otherwise. */
bool parse_number(const char *s, int64_t min, int64_t max, int64_t *out);

/* Reads the options of a command that takes only --db, from argv[first] on;
 * *db is set when given. Returns EXIT_OK with optind at the first operand,
 * or EXIT_USAGE after saying why. */
int parse_db_option(int argc, char **argv, int first, const char **db);

/* Copies a database target (a path or a URL) to out for a message, without
 * what a URL may carry of credentials. Cannot fail (cut to fit). */
void redact_target(const char *target, char *out, size_t size);

/* Opens the store at path, printing why not on failure. */
struct tsr_store *open_store(const char *path);

/* Opens the store at path and a service over it with the default
 * configuration, for a command that runs once; printing why not, it returns
 * false with nothing open. Close with close_service. */
bool open_service(const char *path, struct tsr_store **store, struct tsr_service **svc);

/* Frees what open_service opened. */
void close_service(struct tsr_store *store, struct tsr_service *svc);

int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_scope(int argc, char **argv);
int cmd_webhook(int argc, char **argv);

#endif
