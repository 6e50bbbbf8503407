/* test_api_limits.c - end to end: connection limits and time-outs against slow and idle clients
 *
 * The attackers are plain TCP sockets bound to other loopback addresses
 * (127.0.0.2, 127.0.1.x, 127.0.2.x), so that the server sees them as other
 * addresses than the real client (libcurl, from 127.0.0.1). Requests are
 * written byte for byte as an attacker writes them.
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

static bool whole_answer(const char *buf, size_t len);

/* Reads what the server sends on fd into buf (NUL-terminated) until ms have
 * passed, it closes, buf is full or, with whole, one whole answer is in;
 * returns the bytes read. */
static size_t read_answer(int fd, int ms, bool whole, char *buf, size_t size)
{
    size_t len = 0;
    int64_t end = tsr_h_mono_ms() + ms;

    buf[0] = '\0';
    while (len < size - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = end - tsr_h_mono_ms();
        ssize_t got;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        got = recv(fd, buf + len, size - 1 - len, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        if (whole && whole_answer(buf, len))
            break;
    }
    return len;
}

/* The answer the server sends on fd within ms (NULL when none, or when it
 * closes without a byte); reads until end of file or ms have passed. */
static char *answer_within(int fd, int ms)
{
    char buf[4096];
    size_t len = read_answer(fd, ms, false, buf, sizeof(buf));

    return len ? tsr_h_strndup(buf, len) : NULL;
}

/* The attackers' sockets of the test under way, test_slowloris's or
 * test_trickle_flood's; -1: none. */
static int attackers[ATTACKERS];

static int no_attackers(void **state)
{
    (void)state;
    for (int i = 0; i < ATTACKERS; i++)
        attackers[i] = -1;
    return 0;
}

/* Closes what a test left open, even when it failed. */
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

/* Two thousand idle and half-sent connections from forty other addresses
 * (fifty each, under the per-address cap) do not slow down a real client:
 * every one of its answers comes within 1 s, on a new connection each time.
 * The server keeps the attackers all along (it does not win by dropping
 * them; the header deadline, which would, is set out of the way). */
static void test_slowloris(void **state)
{
    static const char *const args[] = {"--max-connections", "4000", "--header-timeout", "600",
                                       NULL};
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
        fds[i] = connect_from(tsr_h_fmt("127.0.1.%d", 2 + i / 50), srv->port);
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

/* Sends text on fd, or as much as a closed connection takes. */
static void send_some(int fd, const char *text, size_t len)
{
    (void)send(fd, text, len, MSG_NOSIGNAL);
}

/* Whether buf[0..len) holds a whole answer: its headers and as many bytes
 * of body as its Content-Length says. */
static bool whole_answer(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n");
    const char *cl = strcasestr(buf, "\r\nContent-Length: ");
    unsigned long n;

    (void)len;
    if (!end || !cl || cl > end)
        return false;
    n = strtoul(cl + 18, NULL, 10);
    return (size_t)(buf + len - (end + 4)) >= n;
}

/* Whether fd gets a 200 to req (a GET /healthz) within ms; returns as soon
 * as the whole answer is in, leaving a kept-alive connection ready for the
 * next request. */
static bool served(int fd, const char *req, int ms)
{
    char buf[4096];
    size_t len;

    send_some(fd, req, strlen(req));
    len = read_answer(fd, ms, true, buf, sizeof(buf));
    return whole_answer(buf, len) && strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

/* Whether the server closes fd within ms. */
static bool closed_within(int fd, int ms)
{
    int64_t end = tsr_h_mono_ms() + ms;

    while (tsr_h_mono_ms() < end) {
        if (closed_by_server(fd))
            return true;
        tsr_h_sleep_ms(20);
    }
    return closed_by_server(fd);
}

/* A 65th connection from one address is closed at once, unanswered, while
 * another address still connects; once one of the 64 goes, its address
 * may connect again. */
static void test_per_address_cap(void **state)
{
    struct tsr_h_server *srv;
    int held[64], extra, other;
    bool again = false;

    (void)state;
    raise_files(512);
    srv = tsr_h_start(NULL);
    /* One after the other, as a client opens them: libmicrohttpd accepts a
     * burst of connections a few at a time. */
    for (int i = 0; i < 64; i++) {
        held[i] = connect_from("127.0.2.1", srv->port);
        wait_connected(&held[i], 1);
        if (!served(held[i], HEALTHZ_KEEP, 2000))
            fail_msg("connection %d of 64 from one address was not served", i + 1);
    }
    extra = connect_from("127.0.2.1", srv->port);
    wait_connected(&extra, 1);
    send_some(extra, HEALTHZ_CLOSE, strlen(HEALTHZ_CLOSE));
    assert_null(answer_within(extra, 1000));
    assert_true(closed_within(extra, 1000));
    close(extra);

    other = connect_from("127.0.2.2", srv->port);
    wait_connected(&other, 1);
    assert_true(served(other, HEALTHZ_CLOSE, 2000));
    close(other);

    close(held[0]);
    for (int tries = 0; tries < 20 && !again; tries++) {
        tsr_h_sleep_ms(100);
        extra = connect_from("127.0.2.1", srv->port);
        wait_connected(&extra, 1);
        again = served(extra, HEALTHZ_CLOSE, 1000);
        close(extra);
    }
    if (!again)
        fail_msg("the slot of a closed connection was not given back");
    for (int i = 1; i < 64; i++)
        close(held[i]);
    tsr_h_stop(srv);
}

/* A trusted proxy is not capped (all of a gateway's clients come from its
 * address); another address is, with --max-connections-per-ip 2. */
static void test_proxy_exempt(void **state)
{
    static const char *const args[] = {"--trusted-proxy", "127.0.2.3", "--max-connections-per-ip",
                                       "2", NULL};
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    int proxy[5], client[3];

    (void)state;
    for (int i = 0; i < 5; i++)
        proxy[i] = connect_from("127.0.2.3", srv->port);
    for (int i = 0; i < 3; i++)
        client[i] = connect_from("127.0.2.4", srv->port);
    wait_connected(proxy, 5);
    wait_connected(client, 3);
    for (int i = 0; i < 5; i++) {
        if (!served(proxy[i], HEALTHZ_KEEP, 2000))
            fail_msg("connection %d of the trusted proxy was not served", i + 1);
    }
    for (int i = 0; i < 2; i++)
        assert_true(served(client[i], HEALTHZ_KEEP, 2000));
    send_some(client[2], HEALTHZ_KEEP, strlen(HEALTHZ_KEEP));
    assert_null(answer_within(client[2], 1000));
    assert_true(closed_within(client[2], 1000));
    for (int i = 0; i < 5; i++)
        close(proxy[i]);
    for (int i = 0; i < 3; i++)
        close(client[i]);
    tsr_h_stop(srv);
}

#define TRICKLERS 1000 /* at most ATTACKERS */

static int *const tricklers = attackers;

/* A thousand connections from one address, each trickling its request a
 * byte at a time, hold at most 64 connections, and a fresh client from
 * another address gets /healthz within 2 s all along. */
static void test_trickle_flood(void **state)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    struct tsr_h_server *srv;
    int open_left = 0;
    int64_t start;

    (void)state;
    raise_files(TRICKLERS + 256);
    srv = tsr_h_start(NULL);
    for (int i = 0; i < TRICKLERS; i++)
        tricklers[i] = connect_from("127.0.2.5", srv->port);
    wait_connected(tricklers, TRICKLERS);
    start = tsr_h_mono_ms();
    for (int round = 0; tsr_h_mono_ms() - start < 4000; round++) {
        int fresh;
        int64_t t0;

        for (int i = 0; i < TRICKLERS; i++)
            send_some(tricklers[i], round < (int)sizeof(req) - 1 ? req + round : "a", 1);
        if (round % 5 == 0) {
            fresh = connect_from("127.0.2.6", srv->port);
            t0 = tsr_h_mono_ms();
            wait_connected(&fresh, 1);
            if (!served(fresh, HEALTHZ_CLOSE, 2000))
                fail_msg("a fresh client was not served within 2 s of %lld ms",
                         (long long)(tsr_h_mono_ms() - t0));
            close(fresh);
        }
        tsr_h_sleep_ms(200);
    }
    for (int i = 0; i < TRICKLERS; i++)
        open_left += !closed_by_server(tricklers[i]);
    print_message("%d of %d tricklers still open\n", open_left, TRICKLERS);
    tsr_h_assert_between(open_left, 1, 64);
    close_attackers(NULL);
    tsr_h_stop(srv);
}

/* With --header-timeout 2, a request trickled a byte every 300 ms is cut
 * off 2 s (and at most a sweep more) after its first byte, on a fresh
 * connection and on a kept-alive one after an answer; a connection idle
 * after an answer, and one that keeps sending whole requests, are not. */
static void test_header_deadline(void **state)
{
    static const char *const args[] = {"--header-timeout", "2", "--idle-timeout", "30", NULL};
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    struct tsr_h_opts o = {.args = args};
    struct tsr_h_server *srv = tsr_h_start(&o);
    int fresh, second, idle, busy;
    int64_t start, next_byte, next_busy, cut[2] = {0, 0};
    int sent = 0;

    (void)state;
    fresh = connect_from("127.0.2.7", srv->port);
    second = connect_from("127.0.2.7", srv->port);
    idle = connect_from("127.0.2.7", srv->port);
    busy = connect_from("127.0.2.7", srv->port);
    wait_connected(&fresh, 1);
    wait_connected(&second, 1);
    wait_connected(&idle, 1);
    wait_connected(&busy, 1);
    assert_true(served(second, HEALTHZ_KEEP, 2000));
    assert_true(served(idle, HEALTHZ_KEEP, 2000));
    start = next_byte = next_busy = tsr_h_mono_ms();
    while (tsr_h_mono_ms() - start < 6000) {
        int64_t now = tsr_h_mono_ms();

        if (now >= next_byte) {
            const char *b = sent < (int)sizeof(req) - 1 ? req + sent : "a";

            send_some(fresh, b, 1);
            send_some(second, b, 1);
            sent++;
            next_byte = now + 300;
        }
        if (now >= next_busy) {
            if (!served(busy, HEALTHZ_KEEP, 1000))
                fail_msg("the busy connection was cut after %lld ms", (long long)(now - start));
            next_busy = now + 400;
        }
        if (!cut[0] && closed_by_server(fresh))
            cut[0] = tsr_h_mono_ms() - start;
        if (!cut[1] && closed_by_server(second))
            cut[1] = tsr_h_mono_ms() - start;
        tsr_h_sleep_ms(20);
    }
    print_message("trickled requests cut after %lld and %lld ms\n", (long long)cut[0],
                  (long long)cut[1]);
    if (!cut[0] || !cut[1])
        fail_msg("a trickled request was still open after 6 s");
    tsr_h_assert_between(cut[0], 1800, 4500);
    tsr_h_assert_between(cut[1], 1800, 4500);
    assert_false(closed_by_server(idle));
    assert_true(served(idle, HEALTHZ_KEEP, 2000));
    close(fresh);
    close(second);
    close(idle);
    close(busy);
    tsr_h_stop(srv);
}

/* A query of hundreds of parameters, or a very long target, is answered
 * 414 at once with the contract's error body (it once went unanswered until
 * the idle time-out); 64 parameters are still read, and refused as unknown. */
static void test_many_parameters(void **state)
{
    struct tsr_h_server *srv = tsr_h_start(NULL);
    char session[TSR_H_SECRET_LEN + 1];
    static char query[500 * 4], longq[5000 + 1];
    struct tsr_h_resp *r;
    int64_t t0;

    (void)state;
    tsr_h_login(srv, TSR_H_ADMIN_EMAIL, TSR_H_ADMIN_PASSWORD, session);
    /* "a=1&a=1&...&a=1": parameter n starts at n * 4. */
    for (int n = 0; n < 500; n++)
        memcpy(query + n * 4, "a=1&", 4);
    query[500 * 4 - 1] = '\0';
    memset(longq, 'x', 5000);
    memcpy(longq, "search=", 7);
    longq[5000] = '\0';

    t0 = tsr_h_mono_ms();
    r = tsr_h_get(srv, tsr_h_fmt("/v4/auth/verify?%s", query), NULL);
    tsr_h_assert_error(r, 414, "uri_too_long", TSR_H_SRC_NONE, NULL);
    tsr_h_assert_between(tsr_h_mono_ms() - t0, 0, 2000);
    r = tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens?%s", query), session);
    tsr_h_assert_error(r, 414, "uri_too_long", TSR_H_SRC_NONE, NULL);
    r = tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens?%s", longq), session);
    tsr_h_assert_error(r, 414, "uri_too_long", TSR_H_SRC_NONE, NULL);

    query[64 * 4 - 1] = '\0'; /* 64 parameters */
    r = tsr_h_get(srv, tsr_h_fmt("/v4/iam/personal_tokens?%s", query), session);
    tsr_h_assert_error(r, 400, "invalid_parameter", TSR_H_SRC_PARAMETER, "a");
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    tsr_h_stop(srv);
}

/* What the server sends back on one raw connection for request, until it
 * closes the connection or ms have passed. */
struct exchange {
    char buf[16384];
    size_t len;
    bool closed;
    int64_t took;
};

static void exchange(int port, const char *request, int ms, struct exchange *x)
{
    int fd = connect_from("127.0.2.9", port);
    int64_t t0, end;

    wait_connected(&fd, 1);
    memset(x, 0, sizeof(*x));
    t0 = tsr_h_mono_ms();
    end = t0 + ms;
    send_some(fd, request, strlen(request));
    while (tsr_h_mono_ms() < end && x->len < sizeof(x->buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t got;

        if (poll(&p, 1, (int)(end - tsr_h_mono_ms())) <= 0)
            break;
        got = recv(fd, x->buf + x->len, sizeof(x->buf) - 1 - x->len, 0);
        if (got <= 0) {
            x->closed = true;
            break;
        }
        x->len += (size_t)got;
    }
    x->took = tsr_h_mono_ms() - t0;
    x->buf[x->len] = '\0';
    close(fd);
}

/* The request was answered once, with status and the contract's error code,
 * and the connection then closed: nothing after it was read as a request. */
static void assert_refused_once(const struct exchange *x, const char *status, const char *code)
{
    const char *body = strstr(x->buf, "\r\n\r\n");
    json_t *j;
    int answers = 0;

    for (const char *p = x->buf; (p = strstr(p, "HTTP/1.")) != NULL; p++)
        answers++;
    if (answers != 1 || strncmp(x->buf + 9, status, 3) != 0)
        fail_msg("wanted one %s, got %d answers:\n%s", status, answers, x->buf);
    assert_non_null(body);
    assert_non_null(strstr(x->buf, "\r\nConnection: close\r\n"));
    j = json_loads(body + 4, 0, NULL);
    assert_non_null(j);
    assert_string_equal(tsr_h_jstr(json_array_get(tsr_h_jarr(j, "errors"), 0), "code"), code);
    json_decref(j);
    if (!x->closed)
        fail_msg("the connection stayed open after %s", status);
    tsr_h_assert_between(x->took, 0, 2000);
}

/* Requests whose body length is ambiguous, written as an attacker writes
 * them, are refused 400 and their connection closed, so that the request
 * smuggled in their body is never answered; a coding other than chunked is
 * 501 at once. Honest framings still work. */
static void test_framing(void **state)
{
    static const char smuggled[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    struct tsr_h_server *srv = tsr_h_start(NULL);
    struct exchange *x = malloc(sizeof(*x));

    (void)state;
    assert_non_null(x);
    exchange(srv->port,
             tsr_h_fmt("POST /v4/tokens HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                       "Content-Length: %zu\r\n\r\nhello%s",
                       5 + strlen(smuggled), smuggled),
             3000, x);
    assert_refused_once(x, "400", "invalid_request");
    exchange(srv->port,
             tsr_h_fmt("POST /v4/tokens HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
                       smuggled),
             3000, x);
    assert_refused_once(x, "400", "invalid_request");
    exchange(srv->port,
             tsr_h_fmt("POST /v4/console/session HTTP/1.1\r\nHost: t\r\n"
                       "Transfer-Encoding: chunked\r\nContent-Length: %zu\r\n\r\n0\r\n\r\n%s",
                       5 + strlen(smuggled), smuggled),
             3000, x);
    assert_refused_once(x, "400", "invalid_request");
    exchange(srv->port,
             tsr_h_fmt("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
                       smuggled),
             3000, x);
    assert_refused_once(x, "400", "invalid_request");
    exchange(srv->port, "POST /v4/tokens HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nabc",
             3000, x);
    assert_refused_once(x, "501", "not_implemented");
    exchange(srv->port,
             "POST /v4/tokens HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
             "0\r\n\r\n",
             3000, x);
    assert_refused_once(x, "501", "not_implemented");
    exchange(srv->port,
             "POST /v4/tokens HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             3000, x);
    assert_refused_once(x, "501", "not_implemented");

    /* One chunked body, and a Content-Length given twice alike, are fine:
     * both reach the endpoint, which wants a log-in. */
    exchange(srv->port,
             "POST /v4/tokens HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
             3000, x);
    assert_int_equal(strncmp(x->buf, "HTTP/1.1 401", 12), 0);
    exchange(srv->port,
             "POST /v4/tokens HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
             "Connection: close\r\n\r\n{}",
             3000, x);
    assert_int_equal(strncmp(x->buf, "HTTP/1.1 401", 12), 0);
    tsr_h_assert_status(tsr_h_get(srv, "/healthz", NULL), 200);
    free(x);
    tsr_h_stop(srv);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slowloris, no_attackers, close_attackers),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_limit_enforced),
        cmocka_unit_test(test_open_files_limit),
        cmocka_unit_test(test_per_address_cap),
        cmocka_unit_test(test_proxy_exempt),
        cmocka_unit_test_setup_teardown(test_trickle_flood, no_attackers, close_attackers),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_many_parameters),
        cmocka_unit_test(test_framing),
    };
    return TSR_H_RUN(tests, NULL, NULL);
}
