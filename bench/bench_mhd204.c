/* bench_mhd204.c - the floor: a bare libmicrohttpd handler that answers 204
 *
 * bench_mhd204 [--listen HOST:PORT] [--threads N]
 *
 * Started as tesserad starts its daemon (src/http/server.c): our own
 * listening socket, MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO |
 * MHD_USE_ITC, a pool of N threads, the same timeout and connection limit,
 * and the answer queued on the second call so that keep-alive holds. Each
 * request gets a new empty response, as tesserad's empty answers do, with no
 * header of ours. Prints "listening on http://HOST:PORT" on stderr when
 * ready; stops on SIGINT or SIGTERM. A benchmark tool, not a test.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define LISTEN_BACKLOG     1024
#define CONNECTION_TIMEOUT 60
#define CONNECTION_LIMIT   4096

static char first_call;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &first_call;
        return MHD_YES;
    }
    *upload_data_size = 0;
    resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Binds an IPv4 HOST:PORT (port 0: any free one) and listens. */
static int listen_on(const char *where, char *url, size_t url_size)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    const char *colon = strrchr(where, ':');
    char host[64];
    int one = 1, fd;

    if (!colon || (size_t)(colon - where) >= sizeof(host))
        return -1;
    memcpy(host, where, (size_t)(colon - where));
    host[colon - where] = '\0';
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return -1;
    sin.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        close(fd);
        return -1;
    }
    snprintf(url, url_size, "http://%s:%u", host, (unsigned)ntohs(sin.sin_port));
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *where = "127.0.0.1:0";
    unsigned threads = 1;
    struct MHD_Daemon *daemon;
    char url[128];
    sigset_t set;
    int c, fd, sig = 0;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'l') {
            where = optarg;
        } else if (c == 'n') {
            threads = (unsigned)strtoul(optarg, NULL, 10);
            if (threads < 1 || threads > 1024) {
                fprintf(stderr, "bench_mhd204: --threads takes 1 to 1024\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_mhd204 [--listen HOST:PORT] [--threads N]\n");
            return 2;
        }
    }
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    fd = listen_on(where, url, sizeof(url));
    if (fd < 0) {
        fprintf(stderr, "bench_mhd204: cannot listen on %s: %s\n", where, strerror(errno));
        return 1;
    }
    daemon = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ITC, 0, NULL,
                              NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
                              (unsigned)CONNECTION_LIMIT, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "bench_mhd204: cannot start the daemon\n");
        close(fd);
        return 1;
    }
    fprintf(stderr, "listening on %s\n", url);
    fflush(stderr);
    while (sigwait(&set, &sig) != 0)
        ;
    MHD_quiesce_daemon(daemon);
    MHD_stop_daemon(daemon);
    close(fd);
    return 0;
}
