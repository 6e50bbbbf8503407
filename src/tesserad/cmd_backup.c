/* cmd_backup.c - tesserad backup: a consistent copy of a live database */
#include <getopt.h>
#include <stdio.h>

#include "tesserad/commands.h"

int cmd_backup(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    const char *db = NULL;
    struct tsr_store *store;
    char why[512] = "";
    enum tsr_err rc;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c != 'd') {
            die_message("%s '%s'; see 'tesserad --help'",
                        c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
        db = optarg;
    }
    if (argc - optind != 1) {
        die_message("usage: tesserad backup DEST [--db PATH]");
        return EXIT_USAGE;
    }
    store = open_store(db_path(db));
    if (!store)
        return EXIT_FAIL;
    rc = tsr_store_backup(store, argv[optind], why, sizeof(why));
    tsr_store_close(store);
    if (rc != TSR_OK) {
        die_message("%s", why[0] ? why : tsr_strerror(rc));
        return EXIT_FAIL;
    }
    fprintf(stderr, "copied %s to %s\n", db_path(db), argv[optind]);
    return EXIT_OK;
}
