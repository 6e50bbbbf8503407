/* test_api_diskfull.c - a full disk: writes refused with 503, reads go on, nothing acknowledged
 * lost
 *
 * The database lives on a small tmpfs of its own (mounting one needs root,
 * as CI has; elsewhere the test is skipped and says why). A filler file
 * takes every free byte; then creates must be refused with the contract's
 * error body (503 "unavailable", docs/api.md), one at a time and BURST at
 * once (a group commit that fails as a whole); any write is either done in
 * full (it fitted in room left inside the database's files) or refused with
 * that body and changes nothing; while verifies, lists and /healthz go on
 * answering and the server stays up. Once the filler is gone, creates
 * succeed again, and after a restart every acknowledged create still
 * verifies and no refused delete took effect. Last, a server started on a
 * full disk refuses to start, and says the disk is full.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define TMPFS_SIZE    "8m"
#define FIRST         300   /* creates before the filler: the WAL has room inside it then */
#define BURST         8     /* creates sent at once: one group commit of several */
#define MAX_CREATES   20000 /* before the disk must have refused one */
#define REFUSALS      10    /* in a row: the database's files are full too */
#define MAX_ACKED     (MAX_CREATES + 1000)
#define FLUSH_WAIT_MS 6000 /* longer than the server's 5 s usage flush */

static char mnt[4096];
static bool mounted;
static char why_skipped[4096 + 256];

/* Every acknowledged create: its secret and id. */
static struct acked {
    char secret[TSR_H_SECRET_LEN + 1];
    char id[TSR_H_UUID_LEN + 1];
    bool deleted; /* and then an acknowledged delete */
} acked[MAX_ACKED];
static size_t nacked, ndeleted;

static int mount_tmpfs(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    if (geteuid() != 0) {
        snprintf(why_skipped, sizeof(why_skipped),
                 "needs root to mount a tmpfs for the database (CI runs as root)");
        return 0;
    }
    snprintf(mnt, sizeof(mnt), "%s/tessera-diskfull-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(mnt) == NULL) {
        snprintf(why_skipped, sizeof(why_skipped), "mkdtemp %s: %s", mnt, strerror(errno));
        mnt[0] = '\0';
        return 0;
    }
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=" TMPFS_SIZE ",mode=0700") != 0) {
        snprintf(why_skipped, sizeof(why_skipped), "cannot mount a tmpfs on %s: %s", mnt,
                 strerror(errno));
        rmdir(mnt);
        mnt[0] = '\0';
        return 0;
    }
    mounted = true;
    return 0;
}

/* Runs even when the test failed. A server still running (a failure midway)
 * keeps its files until the harness stops it: the lazy unmount lets go of
 * the mount point now and frees the tmpfs once nothing holds it. */
static int unmount_tmpfs(void **state)
{
    (void)state;
    if (mounted) {
        if (umount2(mnt, MNT_DETACH) != 0) {
            print_error("cannot unmount %s: %s\n", mnt, strerror(errno));
        }
        mounted = false;
    }
    if (mnt[0] != '\0') {
        rmdir(mnt);
    }
    return 0;
}

/* Fills the file system that holds path with one file; returns how many
 * bytes went in. */
static long long fill_disk(const char *path)
{
    static char block[65536];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    long long total = 0;
    if (fd < 0) {
        fail_msg("cannot create %s: %s", path, strerror(errno));
    }
    memset(block, 'x', sizeof(block));
    /* Big blocks, then small ones: the last few KiB count. */
    for (size_t chunk = sizeof(block); chunk >= 512; chunk /= 8) {
        for (;;) {
            ssize_t w = write(fd, block, chunk);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                if (errno != ENOSPC) {
                    fail_msg("writing %s: %s", path, strerror(errno));
                }
                break;
            }
            total += w;
        }
    }
    fsync(fd);
    close(fd);
    return total;
}

static void note(const char *secret, const char *id)
{
    if (nacked == MAX_ACKED) {
        fail_msg("too many creates");
    }
    snprintf(acked[nacked].secret, sizeof(acked[nacked].secret), "%s", secret);
    snprintf(acked[nacked].id, sizeof(acked[nacked].id), "%s", id);
    nacked++;
}

static const char *create_body(int n)
{
    return tsr_h_fmt("{\"name\":\"disk %d\",\"expires_at\":\"%s\"}", n,
                     tsr_h_time(tsr_h_now() + 30 * TSR_H_DAY));
}

/* One create: a 201 is noted, and returned too. */
static struct tsr_h_resp *create(struct tsr_h_server *srv, const char *session, int n)
{
    struct tsr_h_resp *r =
        tsr_h_send(srv, "POST", "/v4/iam/personal_tokens", session, create_body(n));
    if (r->status == 201) {
        json_t *data = tsr_h_jobj(r->json, "data");
        tsr_h_assert_token(data, true);
        note(tsr_h_jstr(data, "key"), tsr_h_jstr(data, "id"));
    }
    return r;
}

static void assert_full(const struct tsr_h_resp *r)
{
    tsr_h_assert_error(r, 503, "unavailable", TSR_H_SRC_NONE, NULL);
}

/* A write on a full disk: either it fitted in room that the database's
 * files still had (ok_status: it then counts like any other), or it is
 * refused with the 503 of a full disk. Returns whether it went through. */
static bool done_or_full(const struct tsr_h_resp *r, long ok_status)
{
    if (r->status == ok_status) {
        return true;
    }
    assert_full(r);
    return false;
}

struct sent {
    CURL *c;
    struct curl_slist *hl;
    const char *json;
    struct tsr_h_capture got;
};

/* Sends BURST creates at once (libcurl's multi interface, a connection
 * each), so that the server commits them together; notes each 201, and
 * checks that every other answer is the 503 of a full disk. Returns how
 * many were refused. */
static int burst(struct tsr_h_server *srv, const char *session, int *n)
{
    static struct sent e[BURST];
    CURLM *m = curl_multi_init();
    const char *url = tsr_h_fmt("%s/v4/iam/personal_tokens", srv->base);
    const char *auth = tsr_h_fmt("Authorization: Token %s", session);
    int refused = 0, running = 0;

    assert_non_null(m);
    for (int i = 0; i < BURST; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        e[i].c = curl_easy_init();
        assert_non_null(e[i].c);
        e[i].hl = curl_slist_append(NULL, auth);
        e[i].hl = curl_slist_append(e[i].hl, "Content-Type: application/json");
        e[i].hl = curl_slist_append(e[i].hl, "Expect:");
        e[i].json = create_body((*n)++);
        curl_easy_setopt(e[i].c, CURLOPT_URL, url);
        curl_easy_setopt(e[i].c, CURLOPT_HTTPHEADER, e[i].hl);
        curl_easy_setopt(e[i].c, CURLOPT_POSTFIELDS, e[i].json);
        curl_easy_setopt(e[i].c, CURLOPT_WRITEFUNCTION, tsr_h_capture_write);
        curl_easy_setopt(e[i].c, CURLOPT_WRITEDATA, &e[i].got);
        curl_easy_setopt(e[i].c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e[i].c, CURLOPT_TIMEOUT, 30L);
        curl_multi_add_handle(m, e[i].c);
    }
    do {
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc == CURLM_OK && running) {
            mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        if (mc != CURLM_OK) {
            fail_msg("curl_multi: %s", curl_multi_strerror(mc));
        }
    } while (running);
    for (int i = 0; i < BURST; i++) {
        long status = 0;
        curl_easy_getinfo(e[i].c, CURLINFO_RESPONSE_CODE, &status);
        json_t *j = json_loadb(e[i].got.buf, e[i].got.len, 0, NULL);
        json_t *data = json_object_get(j, "data");
        const char *key = json_string_value(json_object_get(data, "key"));
        const char *id = json_string_value(json_object_get(data, "id"));
        json_t *err = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(err, "code"));
        if (status == 201 && key != NULL && id != NULL && tsr_h_secret_ok(key, "tsr_")) {
            tsr_h_record_secret(key);
            note(key, id);
        } else if (status == 503 && code != NULL && strcmp(code, "unavailable") == 0) {
            refused++;
        } else {
            fail_msg("a create of a burst answered %ld: %s", status, e[i].got.buf);
        }
        json_decref(j);
        curl_multi_remove_handle(m, e[i].c);
        curl_easy_cleanup(e[i].c);
        curl_slist_free_all(e[i].hl);
    }
    curl_multi_cleanup(m);
    return refused;
}

static void all_verify(struct tsr_h_server *srv, const char *when)
{
    for (size_t i = 0; i < nacked; i++) {
        if (acked[i].deleted) {
            if (tsr_h_verify(srv, acked[i].secret)) {
                fail_msg("%s: deleted token %s verifies again", when, acked[i].id);
            }
        } else if (!tsr_h_verify(srv, acked[i].secret)) {
            fail_msg("%s: acknowledged token %s (%zu of %zu) no longer verifies", when, acked[i].id,
                     i + 1, nacked);
        }
    }
}

static void test_disk_full(void **state)
{
    (void)state;
    if (!mounted) {
        print_message("skipped: %s\n", why_skipped);
        skip();
    }
    static const char *const args[] = {"--max-tokens", "0", NULL};
    struct tsr_h_opts o = {.args = args, .parent = mnt};
    struct tsr_h_server *srv = tsr_h_start(&o);
    char session[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    int n = 0;
    for (; n < FIRST; n++) {
        tsr_h_assert_status(create(srv, session, n), 201);
    }

    const char *filler = tsr_h_fmt("%s/filler", mnt);
    long long filled = fill_disk(filler);
    print_message("filler took %lld KiB of the %s tmpfs\n", filled / 1024, TMPFS_SIZE);

    /* Creates go on while the database's files have room inside them; the
     * first that needs more of the disk is refused. A refused commit may
     * leave a little room in the WAL file (the part of its frames that got
     * written), so a smaller write may still fit after it: go on until the
     * disk has refused REFUSALS creates in a row. */
    int first_refusal = -1, in_row = 0;
    for (int i = 0; i < MAX_CREATES && in_row < REFUSALS; i++, n++) {
        if (done_or_full(create(srv, session, n), 201)) {
            in_row = 0;
        } else if (in_row++ == 0 && first_refusal < 0) {
            first_refusal = i;
        }
    }
    if (in_row < REFUSALS) {
        fail_msg("%d creates on a full disk, and never %d refused in a row", MAX_CREATES, REFUSALS);
    }
    print_message("the disk refused create %d after the filler first, and %d in a row by %zu "
                  "acknowledged\n",
                  first_refusal + 1, REFUSALS, nacked);
    /* Many creates at once are committed in one group: refused together,
     * none half done. */
    int refused = 0;
    for (int i = 0; i < 5; i++) {
        refused += burst(srv, session, &n);
    }
    assert_true(refused > 0);
    /* Other writes: each done in full or refused in full. */
    if (done_or_full(tsr_h_send(srv, "DELETE", tsr_h_fmt("/v4/iam/personal_tokens/%s", acked[0].id),
                                session, NULL),
                     204)) {
        acked[0].deleted = true;
        ndeleted++;
    }
    const char *changed = tsr_h_fmt("/v4/iam/personal_tokens/%s", acked[1].id);
    const char *name = "disk 1";
    if (done_or_full(tsr_h_send(srv, "PATCH", changed, session, "{\"name\":\"renamed\"}"), 200)) {
        name = "renamed";
    }
    struct tsr_h_req login = {.method = "POST",
                              .path = "/v4/tokens",
                              .auth = tsr_h_basic(TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD)};
    done_or_full(tsr_h_req(srv, &login), 201);

    /* Reads go on: verify, list, get, /healthz; and again once the
     * background writer has tried to write the usage it holds. */
    all_verify(srv, "disk full");
    assert_int_equal(tsr_h_count_tokens(srv, session), (long)(nacked - ndeleted));
    struct tsr_h_resp *r = tsr_h_get(srv, changed, session);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "name"), name);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    tsr_h_sleep_ms(FLUSH_WAIT_MS);
    all_verify(srv, "disk full, after a flush");
    done_or_full(create(srv, session, n++), 201);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    /* (The server's log lines about it are lost: its stderr is a file on
     * the same full tmpfs.) */

    /* Room again: writes succeed at once, together too. */
    if (unlink(filler) != 0) {
        fail_msg("cannot remove %s: %s", filler, strerror(errno));
    }
    for (int i = 0; i < 20; i++, n++) {
        tsr_h_assert_status(create(srv, session, n), 201);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(burst(srv, session, &n), 0);
    }
    char fresh[TSR_H_SECRET_LEN + 1];
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, fresh);
    all_verify(srv, "disk freed");

    /* And all of it is on disk: every acknowledged create, none of the
     * refused writes. */
    tsr_h_restart(srv);
    all_verify(srv, "after a restart");
    assert_int_equal(tsr_h_count_tokens(srv, session), (long)(nacked - ndeleted));
    r = tsr_h_get(srv, changed, session);
    tsr_h_assert_status(r, 200);
    assert_string_equal(tsr_h_jstr(tsr_h_jobj(r->json, "data"), "name"), name);
    print_message("%zu acknowledged creates verify after the restart\n", nacked);

    /* A clean stop leaves the database alone, without its -wal and -shm;
     * a start on a full disk cannot make them, and must say why. */
    tsr_h_stop(srv);
    fill_disk(filler);
    struct tsr_h_cmd *c =
        tsr_h_cmd(NULL, NULL, "serve", "--listen", "127.0.0.1:0", "--db", srv->db, NULL);
    if (c->status != 1 || strstr(c->err, "the disk is full") == NULL) {
        fail_msg("a start on a full disk: exit status %d, stderr: %s (want 1 and 'the disk is "
                 "full')",
                 c->status, c->err);
    }
    if (unlink(filler) != 0) {
        fail_msg("cannot remove %s: %s", filler, strerror(errno));
    }
    tsr_h_resume(srv);
    all_verify(srv, "after a start refused for a full disk");
    /* Stopped here, not by the harness at the end: the tmpfs, and the
     * server's folder in it, are gone by then. */
    tsr_h_stop(srv);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_disk_full),
};

int main(void)
{
    return TSR_H_RUN(tests, mount_tmpfs, unmount_tmpfs);
}
