/* test_api_limits.c - end to end: connection limits and time-outs against slow and idle clients
 *
 * The attackers are plain TCP sockets bound to 127.0.0.2, so that the
 * server sees them as another address than the real client (libcurl, from
 * 127.0.0.1).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ATTACKERS     2000
#define CLIENT_CALLS  50
#define ANSWER_MS     1000               /* the longest a real client may wait for an answer */
#define PARTIAL       "GET /v4/auth/ver" /* a request line cut short */
#define HEALTHZ_CLOSE "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
#define HEALTHZ_KEEP  "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"

/* Makes the soft limit on open files at least want (up to the hard limit);
 * returns what it was. */
static rlim_t raise_files(rlim_t want)
{
    struct rlimit rl;
    rlim_t was;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    was = rl.rlim_cur;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    return was;
}

static void set_soft_files(rlim_t soft)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Starts a non-blocking connect from from_ip to 127.0.0.1:port. */
static int connect_from(const char *from_ip, int port)
{
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    assert_int_equal(inet_pton(AF_INET, from_ip, &src.sin_addr), 1);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr), 1);
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
        fail_msg("bind to %s: %s", from_ip, strerror(errno));
    if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)
        fail_msg("connect: %s", strerror(errno));
    return fd;
}

/* Waits until every connect of fds[0..n) is done (at most 30 s); fails on
 * any that did not succeed. */
static void wait_connected(const int *fds, size_t n)
{
    struct pollfd *p = calloc(n, sizeof(*p));
    size_t done = 0;
    int64_t end = tsr_h_mono_ms() + 30000;

    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
    while (done < n) {
        if (tsr_h_mono_ms() > end)
            fail_msg("only %zu of %zu connections were made within 30 s", done, n);
        assert_true(poll(p, n, 1000) >= 0);
        for (size_t i = 0; i < n; i++) {
            int err = 0;
            socklen_t len = sizeof(err);

            if (p[i].fd < 0 || p[i].revents == 0)
                continue;
            assert_int_equal(getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
            if (err != 0)
                fail_msg("connection %zu failed: %s", i, strerror(err));
            p[i].fd = -1;
            done++;
        }
    }
    free(p);
}

static void send_all(int fd, const char *text)
{
    size_t len = strlen(text);

    assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Whether the server has closed fd (end of file, or reset), without waiting. */
static bool closed_by_server(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    char c;

    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLHUP | POLLRDHUP | POLLERR))
        return true;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* The answer the server sends on fd within ms (NULL when none, or when it
 * closes without a byte); reads until end of file or ms have passed. */
static char *answer_within(int fd, int ms)
{
    char buf[4096];
    size_t len = 0;
    int64_t end = tsr_h_mono_ms() + ms;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = end - tsr_h_mono_ms();
        ssize_t got;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len == sizeof(buf) - 1)
            break;
    }
    return len ? tsr_h_strndup(buf, len) : NULL;
}

static int attackers[ATTACKERS]; /* -1: none */

static int no_attackers(void **state)
{
    (void)state;
    for (int i = 0; i < ATTACKERS; i++)
        attackers[i] = -1;
    return 0;
}

/* Closes what test_slowloris left open, even when it failed. */
static int close_attackers(void **state)
{
    (void)state;
    for (int i = 0; i < ATTACKERS; i++) {
        if (attackers[i] >= 0)
            close(attackers[i]);
        attackers[i] = -1;
    }
    return 0;
}

/* Two thousand idle and half-sent connections from another address do not
 * slow down a real client: every one of its answers comes within 1 s, on a
 * new connection each time. The server keeps the attackers all along (it
 * does not win by dropping them). */
static void test_slowloris(void **state)
{
    static const char *const args[] = {"--max-connections", "4000", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv;
    char session[TSR_H_SECRET_LEN + 1];
    struct tsr_h_token t;
    int *fds = attackers;
    int64_t worst = 0, start;
    int dropped = 0;
    long connects = 0;

    (void)state;
    raise_files(ATTACKERS + 256);
    srv = tsr_h_start(&o);
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    tsr_h_create_token(srv, session, "real client", NULL, &t);

    start = tsr_h_mono_ms();
    for (int i = 0; i < ATTACKERS; i++)
        fds[i] = connect_from("127.0.0.2", srv->port);
    wait_connected(fds, ATTACKERS);
    for (int i = 0; i < ATTACKERS; i += 2)
        send_all(fds[i], PARTIAL);
    print_message("%d attackers connected in %lld ms\n", ATTACKERS,
                  (long long)(tsr_h_mono_ms() - start));

    for (int i = 0; i < CLIENT_CALLS; i++) {
        struct tsr_h_req verify = {
            .path = "/v4/auth/verify", .secret = t.secret, .headers = {"Connection: close", NULL}};
        struct tsr_h_req list = {.path = "/v4/iam/personal_tokens",
                                 .secret = session,
                                 .headers = {"Connection: close", NULL}};
        int64_t t0 = tsr_h_mono_ms(), took;
        struct tsr_h_resp *r = tsr_h_req(srv, i % 2 ? &list : &verify);

        took = tsr_h_mono_ms() - t0;
        tsr_h_assert_status(r, i % 2 ? 200 : 204);
        connects += r->connects;
        if (took > worst)
            worst = took;
        if (took > ANSWER_MS)
            fail_msg("answer %d took %lld ms with %d attackers connected", i, (long long)took,
                     ATTACKERS);
    }
    print_message("slowest of %d answers: %lld ms\n", CLIENT_CALLS, (long long)worst);
    /* A new connection for each but the first (kept alive from the log-in). */
    tsr_h_assert_between(connects, CLIENT_CALLS - 1, CLIENT_CALLS);

    for (int i = 0; i < ATTACKERS; i++)
        dropped += closed_by_server(fds[i]);
    assert_int_equal(dropped, 0);
    close_attackers(NULL);
    tsr_h_stop(srv);
}

/* A connection that sends nothing, or stops halfway through its request, or
 * sits idle after an answer, is closed after --idle-timeout; one that keeps
 * talking is not. */
static void test_idle_timeout(void **state)
{
    static const char *const args[] = {"--idle-timeout", "2", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    const char *what[] = {"silent", "half a request line", "idle after an answer"};
    int fds[3], busy;
    int64_t closed_at[3] = {0, 0, 0}, start, next_send;
    char *a;

    (void)state;
    for (int i = 0; i < 3; i++)
        fds[i] = connect_from("127.0.0.2", srv->port);
    busy = connect_from("127.0.0.2", srv->port);
    wait_connected(fds, 3);
    wait_connected(&busy, 1);
    send_all(fds[1], PARTIAL);
    send_all(fds[2], HEALTHZ_KEEP);
    a = answer_within(fds[2], 1000);
    assert_non_null(a);
    assert_int_equal(strncmp(a, "HTTP/1.1 200", 12), 0);
    start = next_send = tsr_h_mono_ms();
    /* The busy one asks every 700 ms for 5 s: never 2 s without a byte. */
    while (tsr_h_mono_ms() - start < 5000) {
        int64_t now = tsr_h_mono_ms();

        if (now >= next_send) {
            send_all(busy, HEALTHZ_KEEP);
            a = answer_within(busy, 1000);
            if (!a || strncmp(a, "HTTP/1.1 200", 12) != 0)
                fail_msg("the busy connection got %s after %lld ms", a ? a : "nothing",
                         (long long)(now - start));
            next_send = now + 700;
        }
        for (int i = 0; i < 3; i++) {
            if (!closed_at[i] && closed_by_server(fds[i]))
                closed_at[i] = tsr_h_mono_ms();
        }
        tsr_h_sleep_ms(20);
    }
    for (int i = 0; i < 3; i++) {
        print_message("%s: closed after %lld ms\n", what[i], (long long)(closed_at[i] - start));
        if (!closed_at[i])
            fail_msg("the %s connection was still open after 5 s", what[i]);
        tsr_h_assert_between(closed_at[i] - start, 1000, 4500);
        close(fds[i]);
    }
    assert_false(closed_by_server(busy));
    close(busy);
    tsr_h_stop(srv);
}

/* With --max-connections 2 (one thread, so one share), a third connection
 * waits in the listen queue while two are held, and is served as soon as
 * one of them goes. */
static void test_limit_enforced(void **state)
{
    static const char *const args[] = {"--max-connections", "2", "--threads", "1", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    int held[2], third;
    char *a;

    (void)state;
    for (int i = 0; i < 2; i++)
        held[i] = connect_from("127.0.0.2", srv->port);
    wait_connected(held, 2);
    /* The server has taken both once it answers one of them. */
    send_all(held[0], HEALTHZ_KEEP);
    a = answer_within(held[0], 2000);
    assert_non_null(a);
    third = connect_from("127.0.0.2", srv->port);
    wait_connected(&third, 1);
    send_all(third, HEALTHZ_CLOSE);
    a = answer_within(third, 1000);
    if (a)
        fail_msg("a third connection was served past --max-connections 2: %s", a);
    close(held[1]);
    a = answer_within(third, 3000);
    if (!a || strncmp(a, "HTTP/1.1 200", 12) != 0)
        fail_msg("the third connection got %s once a slot was free", a ? a : "nothing");
    close(third);
    close(held[0]);
    tsr_h_stop(srv);
}

/* tesserad raises its own soft limit on open files to the hard limit, and
 * warns when --max-connections needs more than that. */
static void test_open_files_limit(void **state)
{
    static const char *const fits[] = {"--max-connections", "4000", NULL};
    static const char *const too_many[] = {"--max-connections", "1000000", NULL};
    struct tsr_h_opts o = {.args = fits};
    struct tsr_h_server *srv;
    struct rlimit rl;
    rlim_t was = raise_files(0);
    char *limits, *line;
    unsigned long long soft = 0, hard = 0;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < 4100)
        skip();
    set_soft_files(1024); /* the server inherits it */
    srv = tsr_h_start(&o);
    set_soft_files(was);
    limits = tsr_h_read_file(tsr_h_fmt("/proc/%d/limits", (int)srv->pid), NULL);
    assert_non_null(limits);
    line = strstr(limits, "Max open files");
    assert_non_null(line);
    line[strcspn(line, "\n")] = '\0';
    print_message("%s\n", line);
    assert_int_equal(sscanf(line, "Max open files %llu %llu", &soft, &hard), 2);
    assert_int_equal(hard, rl.rlim_max);
    assert_int_equal(soft, hard);
    assert_null(strstr(tsr_h_server_stderr(srv), "--max-connections"));
    tsr_h_stop(srv);

    o.args = too_many;
    srv = tsr_h_start(&o);
    assert_non_null(strstr(tsr_h_server_stderr(srv), "--max-connections 1000000 needs about"));
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    tsr_h_stop(srv);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slowloris, no_attackers, close_attackers),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_limit_enforced),
        cmocka_unit_test(test_open_files_limit),
    };
    return TSR_H_RUN(tests, NULL, NULL);
}
