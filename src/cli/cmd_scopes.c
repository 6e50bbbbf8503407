/* cmd_scopes.c - tessera list scopes: what a token can be given */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/limits.h"

#define PAGES_MAX 100 /* 10,000 scopes: far more than any catalog */
#define DESC_COLS 60  /* longer descriptions are cut in the table */

static int scopes_path(struct tsr_cli *cli, void *ctx, long page, char *path, size_t size)
{
    long page_size = *(const long *)ctx;

    (void)cli;
    if (page == 1)
        snprintf(path, size, "/v4/iam/scopes?page_size=%ld", page_size);
    else
        snprintf(path, size, "/v4/iam/scopes?page_size=%ld&page=%ld", page_size, page);
    return TSR_EXIT_OK;
}

/* Fetches every page: a list of scopes is short, and a chooser needs all
 * of it. */
static int fetch_all(struct tsr_cli *cli, long page_size, json_t **out)
{
    return tsr_cli_get_all(cli, scopes_path, &page_size, "name", PAGES_MAX, out);
}

static const char *const heads[] = {"NAME", "KIND", "DESCRIPTION"};

static int print_scopes(const json_t *obj)
{
    const json_t *results = json_object_get(obj, "results"), *s;
    struct tsr_table table;
    size_t i;
    int status = TSR_EXIT_OK;

    tsr_table_init(&table, sizeof(heads) / sizeof(heads[0]), heads);
    json_array_foreach(results, i, s)
    {
        char name[TSR_OUT_CELL_MAX], kind[32], desc[TSR_OUT_CELL_MAX];
        const char *d = tsr_out_jstr(s, "description");
        const char *cells[] = {name, kind, desc};

        tsr_out_clean(tsr_out_jstr(s, "name"), name, sizeof(name), 0);
        tsr_out_clean(tsr_out_jstr(s, "kind"), kind, sizeof(kind), 0);
        tsr_out_clean(d[0] != '\0' ? d : "-", desc, sizeof(desc), DESC_COLS);
        if (tsr_table_add(&table, cells) != TSR_OK) {
            tsr_cli_error("out of memory");
            status = TSR_EXIT_ERROR;
            break;
        }
    }
    if (status == TSR_EXIT_OK && (tsr_table_print(&table, stdout) != TSR_OK || fflush(stdout)))
        status = tsr_cli_write_failed();
    tsr_table_release(&table);
    return status;
}

int tsr_cmd_list_scopes(struct tsr_cli *cli)
{
    const char *given = cli->args->page_size;
    long page_size = TSR_PAGE_SIZE_MAX;
    char *end = NULL;
    json_t *obj = NULL;
    int status;

    if (given != NULL) {
        errno = 0;
        page_size = given[0] >= '0' && given[0] <= '9' ? strtol(given, &end, 10) : 0;
        if (page_size < 1 || page_size > TSR_PAGE_SIZE_MAX || errno != 0 || *end != '\0')
            return tsr_cli_usage(cli,
                                 "--page-size must be a whole number from 1 to %d, not '%.32s'",
                                 TSR_PAGE_SIZE_MAX, given);
    }
    status = tsr_cli_auth(cli);
    if (status == TSR_EXIT_OK)
        status = fetch_all(cli, page_size, &obj);
    if (status == TSR_EXIT_OK)
        status = cli->json ? tsr_cli_print_json(obj) : print_scopes(obj);
    json_decref(obj);
    return status;
}
