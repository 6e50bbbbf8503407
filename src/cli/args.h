/* args.h - tessera's command line: options anywhere, verb-noun commands
 *
 * Options may stand before, between or after the command words, as in
 * kubectl and gh: `tessera -o json list tokens` and `tessera list tokens -o
 * json` are the same. Long options take their value as `--name=V` or
 * `--name V`, short ones as `-o V` or `-oV`; `--` ends the options. An option
 * given twice keeps its last value, so that an alias with defaults can be
 * overridden; only the list options (`--scope`, `--allow-ip`) collect every
 * value, in order, since a token holds several of each.
 */
#ifndef TSR_CLI_ARGS_H
#define TSR_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* One bit per option, so that a command can say which it takes. */
enum tsr_opt {
    TSR_OPT_OUTPUT = 1u << 0,
    TSR_OPT_SERVER = 1u << 1,
    TSR_OPT_TOKEN = 1u << 2,
    TSR_OPT_HELP = 1u << 3,
    TSR_OPT_VERSION = 1u << 4,
    TSR_OPT_EMAIL = 1u << 5,
    TSR_OPT_NAME = 1u << 6,
    TSR_OPT_DESCRIPTION = 1u << 7,
    TSR_OPT_EXPIRES = 1u << 8,
    TSR_OPT_SEARCH = 1u << 9,
    TSR_OPT_SORT = 1u << 10,
    TSR_OPT_PAGE = 1u << 11,
    TSR_OPT_PAGE_SIZE = 1u << 12,
    TSR_OPT_ALL = 1u << 13,
    TSR_OPT_YES = 1u << 14,
    TSR_OPT_SCOPE = 1u << 15,
    TSR_OPT_ALLOW_IP = 1u << 16,
    TSR_OPT_ALLOW_ANYWHERE = 1u << 17,
    TSR_OPT_NOT_BEFORE = 1u << 18,
    TSR_OPT_CLEAR_NOT_BEFORE = 1u << 19,
    TSR_OPT_GRACE = 1u << 20,
    TSR_OPT_STATUS = 1u << 21,
    TSR_OPT_EXPIRING = 1u << 22,
};

/* The options every command takes. */
#define TSR_OPT_GLOBAL (TSR_OPT_OUTPUT | TSR_OPT_SERVER | TSR_OPT_TOKEN | TSR_OPT_HELP)

#define TSR_ARGS_MAX_WORDS 8
/* Values one list option may collect: far above what the server takes (50),
 * so that it, not tessera, says how many a token may hold. */
#define TSR_ARGS_MAX_LIST 256

/* The values of a list option, in the order given. */
struct tsr_args_list {
    const char *v[TSR_ARGS_MAX_LIST];
    size_t n;
};

/* What the command line said. Every string points into argv. */
struct tsr_args {
    const char *words[TSR_ARGS_MAX_WORDS]; /* the words that are not options, in order */
    size_t nwords;
    unsigned given; /* the tsr_opt bits of the options present */
    const char *output, *server, *token, *email, *name, *description, *expires, *search, *sort,
        *page, *page_size, *not_before, *grace, *status;
    struct tsr_args_list scopes, allow_ips; /* --scope, --allow-ip */
};

/* Parses argv[1..argc) into out. Returns TSR_OK, or TSR_ERR_INVALID with a
 * sentence for the user in why (an unknown option, a missing value, too many
 * words or list values). */
enum tsr_err tsr_args_parse(int argc, char **argv, struct tsr_args *out, char *why,
                            size_t why_size) TSR_MUST_CHECK;

/* The spelling of the first option among the bits in opts, such as
 * "--page-size"; "" when opts is 0. Cannot fail. */
const char *tsr_args_name(unsigned opts);

#endif
