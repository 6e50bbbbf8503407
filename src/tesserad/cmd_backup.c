/* cmd_backup.c - tesserad backup: a consistent copy of a live database */
#include <unistd.h>
#include <stdio.h>

#include "tesserad/commands.h"

int cmd_backup(int argc, char **argv)
{
    const char *db = NULL;
    struct tsr_store *store;
    char why[512] = "", shown[512];
    enum tsr_err rc;

    if (parse_db_option(argc, argv, 1, &db) != EXIT_OK)
        return EXIT_USAGE;
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
    redact_target(db_path(db), shown, sizeof(shown));
    fprintf(stderr, "copied %s to %s\n", shown, argv[optind]);
    return EXIT_OK;
}
