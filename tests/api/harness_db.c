/* harness_db.c - the harness's servers on either engine: SQLite files, or PostgreSQL databases
 *
 * With TSR_H_PG set to a PostgreSQL cluster's base URL (or TSR_H_PG_FILE to
 * a file that holds one, as tests/pg/pg-cluster writes), every server the
 * harness starts gets a fresh database of its own on that cluster, and its
 * --db is that database's URL. The search for leaked secrets then reads a
 * pg_dump of the database, written into the server's folder.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

const char *tsr_h_pg(void)
{
    static char url[512];
    static bool read_once;
    const char *v = getenv("TSR_H_PG");
    const char *file = getenv("TSR_H_PG_FILE");

    if (v != NULL && v[0] != '\0')
        return v;
    if (file == NULL || file[0] == '\0')
        return NULL;
    if (!read_once) {
        FILE *fp = fopen(file, "r");

        if (fp == NULL || fgets(url, sizeof(url), fp) == NULL)
            fail_msg("cannot read the PostgreSQL cluster's URL from %s", file);
        fclose(fp);
        url[strcspn(url, "\r\n")] = '\0';
        read_once = true;
    }
    return url;
}

/* Connects to database db of the cluster; fails the test when it cannot. */
static PGconn *pg_connect(const char *db)
{
    const char *url = tsr_h_fmt("%s/%s", tsr_h_pg(), db);
    PGconn *pg = PQconnectdb(url);

    if (PQstatus(pg) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", url, PQerrorMessage(pg));
    return pg;
}

void tsr__h_db_init(struct tsr_h_server *srv)
{
    static int n;
    const char *name;
    PGconn *pg;
    PGresult *r;

    if (tsr_h_pg() == NULL)
        return;
    name = tsr_h_fmt("tsr_h_%d_%d", (int)getpid(), ++n);
    pg = pg_connect("postgres");
    r = PQexec(pg, tsr_h_fmt("CREATE DATABASE %s", name));
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("CREATE DATABASE %s: %s", name, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    snprintf(srv->db, sizeof(srv->db), "%s/%s", tsr_h_pg(), name);
}

void tsr__h_db_dump(const struct tsr_h_server *srv)
{
    const char *out = tsr_h_fmt("%s/pg-dump.sql", srv->dir);
    const char *dbname = tsr_h_fmt("--dbname=%s", srv->db);
    int status = 0;
    pid_t pid;

    if (tsr_h_pg() == NULL)
        return;
    pid = fork();
    if (pid < 0)
        fail_msg("fork: cannot run pg_dump");
    if (pid == 0) {
        execlp("pg_dump", "pg_dump", "--no-owner", "-f", out, dbname, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("pg_dump of %s failed (status %d)", srv->db, status);
}

/* SQLite's ?N parameters as PostgreSQL's $N. */
static const char *pg_sql(const char *sql)
{
    char *s = tsr_h_fmt("%s", sql);

    for (char *p = s; *p; p++) {
        if (p[0] == '?' && p[1] >= '1' && p[1] <= '9')
            *p = '$';
    }
    return s;
}

long long tsr_h_sql_int(const struct tsr_h_server *srv, const char *sql, const char *a,
                        const char *b)
{
    const char *values[2] = {a, b};
    int n = b != NULL ? 2 : a != NULL ? 1 : 0;
    long long v = -1;

    if (tsr_h_pg() != NULL) {
        PGconn *pg = PQconnectdb(srv->db);
        PGresult *r;

        if (PQstatus(pg) != CONNECTION_OK)
            fail_msg("cannot connect to %s: %s", srv->db, PQerrorMessage(pg));
        r = PQexecParams(pg, pg_sql(sql), n, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
            fail_msg("%s: %s", sql, PQerrorMessage(pg));
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(pg);
        return v;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(srv->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, db ? sqlite3_errmsg(db) : "cannot open");
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, values[i], -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_ROW)
        fail_msg("%s: no row", sql);
    return v;
}
