/* server.c - the libmicrohttpd daemon and the order in which requests are checked */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "http/assets.h"
#include "http/conns.h"
#include "http/github.h"
#include "http/http.h"
#include "http/parse.h"
#include "http/proxy.h"
#include "http/router.h"
#include "service/log.h"

#define LISTEN_BACKLOG 1024
/* What libmicrohttpd may hold per connection: the request's headers and its
 * I/O buffers (bodies are copied out as they come); headers past it are
 * answered 431 by the library. Half its default, because it zeroes the whole
 * of it between two requests on a connection: at 32 KiB that was a tenth of
 * the CPU of a verify. 16 KiB still holds request headers of some 15,000
 * bytes, more than nginx takes by default (8 KiB a header line). */
#define CONNECTION_MEMORY (16 * 1024)
#define FORWARDED_MAX     8   /* X-Forwarded-For headers read; more: keep the peer's address */
#define WHY_MAX           256 /* a message of libmicrohttpd or of the proxy list */
/* TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1), and in 1.2 only
 * suites with forward secrecy and AEAD: ECDHE key exchange (no static RSA,
 * whose recorded sessions a stolen key decrypts; no finite-field DHE, which
 * clients negotiate with weak groups) and GCM or ChaCha20-Poly1305 (no CBC,
 * with its padding oracles, no SHA-1 MACs). TLS 1.3's suites are all of
 * that kind already. */
#define TLS_PRIORITIES                                                                             \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:"      \
    "+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"
/* More query parameters than any endpoint takes (verify takes ten scopes):
 * libmicrohttpd keeps each in the connection's memory, and past what that
 * holds it can neither take the request nor answer it. */
#define QUERY_PARAMETERS_MAX 64
/* The longest request target taken, for the same reason: the target and its
 * parameters' records must leave room in CONNECTION_MEMORY for the headers
 * and an answer; a gateway's verify needs a few hundred bytes. */
#define TARGET_MAX 4096
/* How long a stop waits for answers to resumed requests to go out, and how
 * often it says what it still waits for. */
#define STOP_ANSWER_WAIT_S 10
#define STOP_REPORT_S      5

struct tsr_http {
    struct MHD_Daemon *daemon;
    struct tsr_service *svc;
    int fd;
    int64_t max_lifetime_days;
    struct tsr_proxies proxies;      /* n == 0: X-Forwarded-For is never read */
    struct tsr_conns *conns;         /* per-address counts and the header deadline */
    struct tsr_sigkeys *github_keys; /* NULL: none configured */
    bool tls;
    /* libmicrohttpd aborts the process when its daemon stops with a
     * connection suspended: a stop refuses new suspensions and waits for
     * every one there is. Under lock: */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled when a count falls */
    unsigned suspended;     /* suspended, or about to be, and not yet resumed */
    unsigned held;          /* suspended at some point, not yet completed */
    bool stopping;
    /* Set when a stop begins; read, without the lock, on each accept. */
    atomic_bool refusing;
};

/* What is known of a connection from its start, worked out once rather than
 * once per request: keep-alive connections carry thousands of verifies. */
struct conn_info {
    char remote[TSR_ADDR_MAX + 1];     /* the peer's address as text */
    const struct tsr_proxies *proxies; /* set when the peer is a trusted proxy */
    struct tsr_conn tracked;
};

static bool declared_too_large(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n;
    char *end;

    if (!cl)
        return false;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno == 0 && end != cl && n > TSR_BODY_MAX;
}

static const struct sockaddr *peer_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return info ? info->client_addr : NULL;
}

static void remote_of(const struct sockaddr *sa, char out[TSR_ADDR_MAX + 1])
{
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  TSR_ADDR_MAX + 1);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  TSR_ADDR_MAX + 1);
}

/* libmicrohttpd's accept policy. A stop turns new connections away here
 * rather than with MHD_quiesce_daemon: that takes the listen socket out of
 * each worker's epoll set from the stopping thread while a busy worker,
 * which sees the daemon quiesced, takes it out too, and libmicrohttpd
 * aborts the process in whichever of the two finds it gone. Then the
 * per-address cap, from which trusted proxies are exempt (all of a
 * gateway's clients come from its address). Once per connection, never per
 * request: a verify does not pay for it. */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct tsr_http *http = cls;

    (void)addrlen;
    if (atomic_load_explicit(&http->refusing, memory_order_relaxed))
        return MHD_NO;
    return tsr__conns_admit(http->conns, addr, tsr__proxies_trust_peer(&http->proxies, addr))
               ? MHD_YES
               : MHD_NO;
}

static int fd_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    return info ? info->connect_fd : -1;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct tsr_http *http = cls;
    struct conn_info *ci = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const struct sockaddr *sa = peer_of(conn);

        ci = malloc(sizeof(*ci));
        if (ci) {
            remote_of(sa, ci->remote);
            ci->proxies = tsr__proxies_trust_peer(&http->proxies, sa) ? &http->proxies : NULL;
            tsr__conns_open(http->conns, &ci->tracked, fd_of(conn), sa);
        }
        *socket_context = ci;
    } else {
        if (ci)
            tsr__conns_close(http->conns, &ci->tracked);
        free(ci);
        *socket_context = NULL;
    }
}

static struct conn_info *conn_info_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info ? info->socket_context : NULL;
}

struct forwarded {
    const char *values[FORWARDED_MAX];
    size_t n;
    bool too_many;
};

static enum MHD_Result each_forwarded(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct forwarded *f = cls;

    (void)kind;
    if (!value || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    if (f->n == FORWARDED_MAX) {
        f->too_many = true;
        return MHD_NO;
    }
    f->values[f->n++] = value;
    return MHD_YES;
}

/* A request relayed by a trusted proxy: the client is in X-Forwarded-For,
 * every header of that name read in order. On junk, the peer it stays for
 * the limits and the audit trail, but the client is unknown, and an
 * address list cannot be satisfied by the proxy's own address. */
static void forwarded_address(struct tsr_req *req, const struct tsr_proxies *proxies)
{
    struct forwarded f = {.n = 0};

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_forwarded, &f);
    if (!f.too_many && tsr__forwarded_client(proxies, f.values, f.n, req->remote_buf))
        req->remote = req->remote_buf;
    else
        req->client_unknown = true;
}

static void client_address(struct tsr_req *req)
{
    const struct conn_info *ci = conn_info_of(req->conn);

    if (!ci) {
        /* Out of memory when the connection began: the peer, and no more. */
        remote_of(peer_of(req->conn), req->remote_buf);
        req->remote = req->remote_buf;
        return;
    }
    req->remote = ci->remote;
    if (ci->proxies)
        forwarded_address(req, ci->proxies);
}

/* Copies url without one trailing slash; a path too long for any route
 * becomes "" so that it is simply not found. */
static void set_path(struct tsr_req *req, const char *url)
{
    size_t len = strlen(url);

    if (len > 1 && url[len - 1] == '/')
        len--;
    if (len >= sizeof(req->path))
        len = 0;
    memcpy(req->path, url, len);
    req->path[len] = '\0';
}

/* Marks a request without a body: nothing to keep between the calls, so
 * its state lives on the stack of the last call and nothing is allocated. */
static char bodiless;
/* Marks a request whose query has more than QUERY_PARAMETERS_MAX parameters
 * or whose target is longer than TARGET_MAX. */
static char too_many_parameters;

static void init_request(struct tsr_req *req, struct tsr_service *svc, struct MHD_Connection *conn,
                         const char *url, const char *method)
{
    memset(req, 0, sizeof(*req));
    req->remote = "";
    req->conn = conn;
    req->svc = svc;
    req->method = method;
    set_path(req, url);
}

/* Methods that take no body here: told apart without reading any header,
 * since every verify is a GET. */
static bool bodiless_method(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

bool tsr__suspend(struct tsr_req *req)
{
    struct tsr_http *http = req->http;
    bool ok;

    if (!http)
        return false;
    pthread_mutex_lock(&http->lock);
    ok = !http->stopping;
    if (ok) {
        http->suspended++;
        http->held++;
    }
    pthread_mutex_unlock(&http->lock);
    if (!ok)
        return false;
    req->held = true;
    MHD_suspend_connection(req->conn);
    return true;
}

void tsr__resume(struct tsr_req *req)
{
    struct tsr_http *http = req->http;

    atomic_store_explicit(&req->op_finished, true, memory_order_release);
    /* From here on req belongs to libmicrohttpd's thread again. */
    MHD_resume_connection(req->conn);
    pthread_mutex_lock(&http->lock);
    http->suspended--;
    pthread_cond_broadcast(&http->changed);
    pthread_mutex_unlock(&http->lock);
}

enum MHD_Result tsr__reply_stopping(struct tsr_req *req)
{
    tsr__req_header(req, "Retry-After", "1");
    return tsr__reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                            "the server is stopping; try again", TSR_SOURCE_NONE, NULL);
}

/* A body may hold a password (the console's login): wiped before it goes. */
static void free_body(struct tsr_req *req)
{
    tsr_dynbuf_release(&req->body);
}

static void free_request(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct tsr_http *http = cls;
    struct tsr_req *req = *con_cls;
    struct conn_info *ci = conn_info_of(conn);

    (void)toe;
    if (ci)
        tsr__conn_request_done(&ci->tracked);
    if (req && *con_cls != &bodiless && *con_cls != &too_many_parameters) {
        if (req->op)
            sodium_memzero(req->op->secret, sizeof(req->op->secret));
        free(req->op);
        if (req->login)
            sodium_memzero(req->login, sizeof(*req->login));
        free(req->login);
        free_body(req);
        tsr_principal_release(&req->who);
        if (req->held) {
            pthread_mutex_lock(&http->lock);
            http->held--;
            pthread_cond_broadcast(&http->changed);
            pthread_mutex_unlock(&http->lock);
        }
        free(req);
        *con_cls = NULL;
    }
}

/* Keeps the body up to TSR_BODY_MAX; past that, notes it is too large and
 * lets the rest go by, to answer 413 once the request is read. */
static void take_body(struct tsr_req *req, const char *data, size_t size)
{
    if (req->body_failed != TSR_OK)
        return;
    req->body_failed = tsr_dynbuf_add(&req->body, data, size);
    if (req->body_failed != TSR_OK)
        free_body(req);
}

static enum MHD_Result too_large(struct tsr_req *req)
{
    return tsr__reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                            "the body must be at most 65536 bytes", TSR_SOURCE_NONE, NULL);
}

static enum MHD_Result first_parameter(void *cls, enum MHD_ValueKind kind, const char *key,
                                       size_t key_size, const char *value, size_t value_size)
{
    struct tsr_req *req = cls;

    (void)kind;
    (void)value;
    (void)value_size;
    tsr__reply_unknown_parameter(req, key, key_size);
    return MHD_NO;
}

bool tsr__query_empty(struct tsr_req *req, enum MHD_Result *answered)
{
    if (MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, first_parameter, req) == 0)
        return true;
    *answered = MHD_YES; /* first_parameter has answered */
    return false;
}

static bool authenticate(struct tsr_req *req, const struct tsr_endpoint *ep,
                         enum MHD_Result *answered)
{
    const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
    const char *secret;
    size_t len;
    unsigned accept = ep->accept;
    enum tsr_err rc;

    if (!auth && tsr__session_cookie(req, &secret, &len)) {
        /* The console's cookie carries a session token and nothing else. */
        accept &= TSR_ACCEPT_SESSION;
        req->by_cookie = true;
    } else if (!tsr__parse_bearer(auth, &secret, &len)) {
        secret = "";
        len = 0;
    }
    rc = tsr_auth_secret(req->svc, secret, len, accept, tsr__client_of(req), &req->who);
    if (rc != TSR_OK) {
        *answered = tsr__reply_failure(req, rc);
        return false;
    }
    return true;
}

/* Whether the credential holds the endpoint's scope; answers 403 if not. */
static bool scope_held(struct tsr_req *req, const char *scope, enum MHD_Result *answered)
{
    char detail[96 + TSR_SCOPE_NAME_MAX];

    if (tsr_auth_require(req->svc, &req->who, scope) == TSR_OK)
        return true;
    snprintf(detail, sizeof(detail), "this needs a token with the scope %s", scope);
    *answered = tsr__reply_insufficient_scope(req, scope, detail, NULL);
    return false;
}

/* Azion's clients ask for its representation with "version=3" on either
 * header; the Console sends it as the Content-Type of a GET too. */
static void choose_style(struct tsr_req *req, const struct tsr_route *route)
{
    req->azion =
        route->style == TSR_STYLE_AZION ||
        (route->style == TSR_STYLE_NEGOTIATED &&
         (tsr__asks_azion(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept")) ||
          tsr__asks_azion(
              MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type"))));
}

/* The contract's order: size, path, method, authentication, CSRF, the
 * endpoint's scope, content type, then the handler checks the body and the
 * query. A path that is no
 * route may be a page of the consoles. */
static enum MHD_Result dispatch(struct tsr_req *req)
{
    const struct tsr_route *route;
    const struct tsr_endpoint *ep;
    const struct tsr_embedded *page;
    char allow[64];
    enum MHD_Result ret;

    if (req->body_failed == TSR_ERR_TOOBIG)
        return too_large(req);
    if (req->body_failed != TSR_OK)
        return tsr__reply_failure(req, req->body_failed);
    route = tsr__route_find(req->path, strlen(req->path), req->id, &req->has_id);
    if (!route && (page = tsr__asset_find(req->path)) != NULL)
        return tsr__asset_serve(req, page);
    if (!route)
        return tsr__reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint",
                                TSR_SOURCE_NONE, NULL);
    choose_style(req, route);
    ep = tsr__route_endpoint(route, req->method);
    if (!ep) {
        tsr__route_allow(route, allow, sizeof(allow));
        tsr__req_header(req, "Allow", allow);
        return tsr__reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                "this endpoint does not take that method", TSR_SOURCE_NONE, NULL);
    }
    client_address(req);
    if (ep->accept && !authenticate(req, ep, &ret))
        return ret;
    if (req->by_cookie && !tsr__csrf_ok(req))
        return tsr__reply_error(req, MHD_HTTP_FORBIDDEN, "csrf_required",
                                "a change made with the console's cookie needs the header "
                                "X-Tessera-CSRF: 1",
                                TSR_SOURCE_NONE, NULL);
    if (ep->scope && !scope_held(req, ep->scope, &ret))
        return ret;
    if (ep->json_body &&
        !tsr__is_json(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type")))
        return tsr__reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                "the body must be JSON, sent as Content-Type: application/json",
                                TSR_SOURCE_NONE, NULL);
    if (!ep->takes_query && !tsr__query_empty(req, &ret))
        return ret;
    return ep->handler(req);
}

static struct tsr_req *heap_request(struct tsr_http *http, struct MHD_Connection *conn,
                                    const char *url, const char *method, void **con_cls)
{
    struct tsr_req *req = calloc(1, sizeof(*req));

    if (req) {
        init_request(req, http->svc, conn, url, method);
        tsr_dynbuf_init(&req->body, TSR_BODY_MAX);
        req->http = http;
        req->max_lifetime_days = http->max_lifetime_days;
        req->github_keys = http->github_keys;
        req->tls = http->tls;
        *con_cls = req;
    }
    return req;
}

/* What a request says about the length of its body (RFC 9112 section 6). */
struct framing {
    const char *length; /* the first Content-Length */
    size_t length_size;
    bool lengths_differ; /* a second Content-Length with another value */
    bool length_bad;     /* a Content-Length that is not a number */
    unsigned codings;    /* Transfer-Encoding headers */
    bool chunked;        /* the only one says exactly "chunked" */
};

static enum MHD_Result each_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    struct framing *f = cls;

    (void)kind;
    if (!value)
        return MHD_YES;
    if (key_size == 14 && strcasecmp(key, "Content-Length") == 0) {
        if (value_size == 0 || strspn(value, "0123456789") != value_size)
            f->length_bad = true;
        if (f->length &&
            (value_size != f->length_size || memcmp(value, f->length, value_size) != 0))
            f->lengths_differ = true;
        if (!f->length) {
            f->length = value;
            f->length_size = value_size;
        }
    } else if (key_size == 17 && strcasecmp(key, "Transfer-Encoding") == 0) {
        f->codings++;
        f->chunked = f->codings == 1 && tsr__is_chunked(value, value_size);
    }
    return MHD_YES;
}

/* Refuses a request whose body's length is ambiguous: two different
 * Content-Lengths, or a Content-Length beside a Transfer-Encoding, are read
 * one way by one server and another way by the next, which is how a second
 * request is smuggled inside the first's body (RFC 9112 section 6.3). Such a
 * request gets 400, and a coding other than chunked 501, and then the
 * connection is closed: its remaining bytes are never read as a request.
 * One pass over the headers, which every request pays; verify's few
 * headers make it a few comparisons of lengths. Returns true to go on. */
static bool framing_ok(struct tsr_http *http, struct MHD_Connection *conn, const char *url,
                       const char *method, enum MHD_Result *answered)
{
    struct framing f = {.length = NULL};
    struct tsr_req local;
    const char *detail = NULL;
    unsigned status = MHD_HTTP_BAD_REQUEST;
    const char *code = "invalid_request";

    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, each_framing, &f);
    if (f.length && f.codings)
        detail = "a request must not have both Content-Length and Transfer-Encoding";
    else if (f.lengths_differ)
        detail = "a request must not have two different Content-Length headers";
    else if (f.length_bad)
        detail = "Content-Length must be a number of bytes";
    else if (f.codings && !f.chunked) {
        status = MHD_HTTP_NOT_IMPLEMENTED;
        code = "not_implemented";
        detail = "the only Transfer-Encoding taken is chunked";
    }
    if (!detail)
        return true;
    init_request(&local, http->svc, conn, url, method);
    local.tls = http->tls;
    tsr__req_header(&local, MHD_HTTP_HEADER_CONNECTION, "close");
    *answered = tsr__reply_error(&local, status, code, detail, TSR_SOURCE_NONE, NULL);
    return false;
}

/* Called by libmicrohttpd with the request target just before it parses
 * the query into the connection's memory, one record per parameter. With
 * some 250 parameters that memory was full: libmicrohttpd then had no room
 * to build even its own error answer, and said nothing until the idle
 * time-out. So a query of more than QUERY_PARAMETERS_MAX parameters is cut
 * off here, before that parse, and the request marked, to be answered 414
 * once its headers are in. The text is this request's own, in
 * libmicrohttpd's read buffer, which it cuts up in place itself right after
 * this call; this is the one hook that comes before the parse. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    char *query = strchr(uri, '?');
    unsigned n = 1;
    const char *p;

    (void)cls;
    (void)conn;
    if (!query)
        return NULL;
    for (p = query + 1; *p && (size_t)(p - uri) < TARGET_MAX; p++) {
        if (*p == '&' && ++n > QUERY_PARAMETERS_MAX)
            break;
    }
    if (*p == '\0')
        return NULL;
    query[1] = '\0';
    return &too_many_parameters;
}

static enum MHD_Result uri_too_long(struct tsr_http *http, struct MHD_Connection *conn,
                                    const char *url, const char *method)
{
    struct tsr_req local;
    char detail[128];

    init_request(&local, http->svc, conn, url, method);
    local.tls = http->tls;
    snprintf(detail, sizeof(detail),
             "the request target may have at most %d bytes and %d query parameters", TARGET_MAX,
             QUERY_PARAMETERS_MAX);
    return tsr__reply_error(&local, MHD_HTTP_URI_TOO_LONG, "uri_too_long", detail, TSR_SOURCE_NONE,
                            NULL);
}

/* Runs the check that req's endpoint makes before its body is read
 * (tsr__route_early), if it has one; true to go on (request.h's
 * convention). The route is found again by dispatch, which answers for a
 * path or method that has none. */
static bool early_ok(struct tsr_req *req, enum MHD_Result *answered)
{
    char id[TSR_UUID_LEN + 1];
    bool has_id;
    const struct tsr_route *route = tsr__route_find(req->path, strlen(req->path), id, &has_id);
    const struct tsr_endpoint *ep = route ? tsr__route_endpoint(route, req->method) : NULL;
    tsr_early_check check = ep ? tsr__route_early(ep) : NULL;

    if (!check)
        return true;
    client_address(req);
    if (check(req, answered))
        return true;
    req->answered_early = true;
    return false;
}

/* libmicrohttpd calls this once when the headers are in, once per piece of
 * body, and once more at the end: answering only at the end keeps the
 * connection alive. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct tsr_http *http = cls;
    struct tsr_req *req = *con_cls;
    struct tsr_req local;

    (void)version;
    if (req == (void *)&bodiless && *upload_data_size == 0) {
        enum MHD_Result ret;

        init_request(&local, http->svc, conn, url, method);
        local.max_lifetime_days = http->max_lifetime_days;
        local.tls = http->tls;
        ret = dispatch(&local);
        tsr_principal_release(&local.who);
        return ret;
    }
    if (req == (void *)&bodiless) {
        /* A body came after all (a GET may carry one): keep the request on
         * the heap from here on, to take the body and hold it to its limit. */
        req = heap_request(http, conn, url, method, con_cls);
        if (!req)
            return MHD_NO;
    } else if (!req || req == (void *)&too_many_parameters) {
        struct conn_info *ci = conn_info_of(conn);
        enum MHD_Result ret;

        if (ci)
            tsr__conn_headers_in(&ci->tracked);
        if (!framing_ok(http, conn, url, method, &ret))
            return ret;
        if (req)
            return uri_too_long(http, conn, url, method);
        /* Only a GET or HEAD lives on the stack: a POST may be suspended
         * (a login with Basic has no body), and a suspended request must
         * be on the heap to be found again when it is resumed. */
        if (bodiless_method(method)) {
            *con_cls = &bodiless;
            return MHD_YES;
        }
        req = heap_request(http, conn, url, method, con_cls);
        if (!req)
            return MHD_NO;
        if (!early_ok(req, &ret))
            return ret;
        if (declared_too_large(conn)) {
            req->body_failed = TSR_ERR_TOOBIG;
            return too_large(req);
        }
        return MHD_YES;
    }
    if (req->answered_early) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->resumed)
        return req->resumed(req);
    return dispatch(req);
}

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port. */
static bool split_listen(const char *where, char *host, size_t host_size, char *port,
                         size_t port_size)
{
    const char *colon = strrchr(where, ':');
    const char *h = where;
    size_t hlen, plen;

    if (!colon)
        return false;
    plen = strlen(colon + 1);
    if (plen == 0 || plen >= port_size || strspn(colon + 1, "0123456789") != plen)
        return false;
    hlen = (size_t)(colon - where);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_size)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return strtol(port, NULL, 10) <= 65535;
}

static int open_socket(const struct addrinfo *ai)
{
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int bind_listen(const char *where, char *err, size_t err_size)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char host[256], port[8];
    int fd, gai;

    if (!split_listen(where, host, sizeof(host), port, sizeof(port))) {
        snprintf(err, err_size, "cannot listen on '%s': expected HOST:PORT", where);
        return -1;
    }
    gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_size, "cannot listen on '%s': %s", where, gai_strerror(gai));
        return -1;
    }
    fd = open_socket(ai);
    if (fd < 0)
        snprintf(err, err_size, "cannot listen on %s: %s", where, strerror(errno));
    freeaddrinfo(ai);
    return fd;
}

/* "http://HOST:PORT" (or https) of the address actually bound, port 0 resolved. */
static void bound_url(int fd, bool tls, char *url, size_t size, bool *v6)
{
    const char *scheme = tls ? "https" : "http";
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;

    *v6 = false;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        *v6 = true;
        snprintf(url, size, "%s://[%s]:%u", scheme, host, port);
    } else {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)&ss;

        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        port = ntohs(in4->sin_port);
        snprintf(url, size, "%s://%s:%u", scheme, host, port);
    }
}

/* Keeps libmicrohttpd's first message, on one line: why it refused a
 * certificate or a key. */
__attribute__((format(printf, 2, 0))) static void first_message(void *cls, const char *fmt,
                                                                va_list ap)
{
    char *why = cls;

    if (why[0] != '\0')
        return;
    vsnprintf(why, WHY_MAX, fmt, ap);
    why[strcspn(why, "\r\n")] = '\0';
}

static enum MHD_Result refuse(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)conn;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    return MHD_NO;
}

/* Lets libmicrohttpd load the certificate and key as the server will, in a
 * daemon with no socket and no thread: GnuTLS parses both and checks that
 * they match, and says why not. */
static enum tsr_err check_tls(const struct tsr_http_config *cfg, char *err, size_t err_size)
{
    char why[WHY_MAX] = "";
    struct MHD_Daemon *d;

    if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL)) {
        snprintf(err, err_size, "--tls-cert and --tls-key go together: give both or neither");
        return TSR_ERR_INVALID;
    }
    if (!cfg->tls_cert_pem)
        return TSR_OK;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, err_size, "cannot serve TLS: this libmicrohttpd was built without it");
        return TSR_ERR_INVALID;
    }
    d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         refuse, NULL, MHD_OPTION_EXTERNAL_LOGGER, first_message, why,
                         MHD_OPTION_HTTPS_MEM_CERT, cfg->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
                         cfg->tls_key_pem, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
                         MHD_OPTION_END);
    if (!d) {
        snprintf(err, err_size, "--tls-cert and --tls-key cannot be used: %s",
                 why[0] ? why : "not a PEM certificate and private key that belong together");
        return TSR_ERR_INVALID;
    }
    MHD_stop_daemon(d);
    return TSR_OK;
}

/* Reads GitHub's keys of cfg into *out (NULL when there are none). */
static enum tsr_err github_keys(const struct tsr_http_config *cfg, struct tsr_sigkeys **out,
                                char *err, size_t err_size)
{
    char why[WHY_MAX];
    enum tsr_err rc;

    *out = NULL;
    if (!cfg->github_keys_json)
        return TSR_OK;
    rc = tsr_sigkeys_new(out);
    if (rc == TSR_OK)
        rc = tsr__github_keys_parse(cfg->github_keys_json, strlen(cfg->github_keys_json), *out, why,
                                    sizeof(why));
    if (rc != TSR_OK)
        snprintf(err, err_size, "--github-keys-file: %s",
                 rc == TSR_ERR_INVALID ? why : tsr_strerror(rc));
    if (rc != TSR_OK) {
        tsr_sigkeys_free(*out);
        *out = NULL;
    }
    return rc;
}

enum tsr_err tsr_http_check(const struct tsr_http_config *cfg, char *err, size_t err_size)
{
    struct tsr_proxies proxies;
    struct tsr_sigkeys *keys;
    char why[WHY_MAX];
    enum tsr_err rc;

    if (cfg->trusted_proxies &&
        tsr__proxies_parse(cfg->trusted_proxies, &proxies, why, sizeof(why)) != TSR_OK) {
        snprintf(err, err_size, "--trusted-proxy: %s", why);
        return TSR_ERR_INVALID;
    }
    rc = github_keys(cfg, &keys, err, err_size);
    tsr_sigkeys_free(keys);
    if (rc != TSR_OK)
        return rc;
    return check_tls(cfg, err, err_size);
}

/* Frees what tsr_http_start took before the daemon runs. */
static void start_failed(struct tsr_http *http)
{
    if (http->fd >= 0)
        close(http->fd);
    tsr__conns_free(http->conns);
    tsr_sigkeys_free(http->github_keys);
    tsr__reply_release();
    pthread_cond_destroy(&http->changed);
    pthread_mutex_destroy(&http->lock);
    free(http);
}

enum tsr_err tsr_http_start(struct tsr_service *svc, const struct tsr_http_config *cfg,
                            struct tsr_http **out, char *url, size_t url_size, char *err,
                            size_t err_size)
{
    struct tsr_http *http = calloc(1, sizeof(*http));
    unsigned threads = cfg->threads ? cfg->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    unsigned limit = cfg->max_connections ? cfg->max_connections : TSR_HTTP_MAX_CONNECTIONS;
    unsigned timeout = cfg->idle_timeout ? cfg->idle_timeout : TSR_HTTP_IDLE_TIMEOUT;
    unsigned per_ip = cfg->per_ip_unlimited ? 0
                      : cfg->per_ip_limit   ? cfg->per_ip_limit
                                            : TSR_HTTP_PER_IP;
    unsigned header_timeout = cfg->header_timeout ? cfg->header_timeout : TSR_HTTP_HEADER_TIMEOUT;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    bool tls = cfg->tls_cert_pem != NULL;
    /* Only the TLS options vary, so they alone go in an array. */
    struct MHD_OptionItem tls_options[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)(uintptr_t)cfg->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)cfg->tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    bool v6;

    pthread_condattr_t attr;

    if (!http)
        return TSR_ERR_NOMEM;
    http->fd = -1;
    pthread_mutex_init(&http->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&http->changed, &attr);
    pthread_condattr_destroy(&attr);
    if (threads < 1)
        threads = 1;
    /* Each thread takes its share of the limit: none may get a share of 0. */
    if (threads > limit)
        threads = limit;
    tsr__json_wipe_on_free();
    if (tsr__reply_init(tls) != TSR_OK) {
        start_failed(http);
        return TSR_ERR_NOMEM;
    }
    http->svc = svc;
    http->max_lifetime_days = cfg->max_lifetime_days;
    http->tls = tls;
    if (tsr__conns_new(per_ip, header_timeout, &http->conns) != TSR_OK) {
        start_failed(http);
        return TSR_ERR_NOMEM;
    }
    if (check_tls(cfg, err, err_size) != TSR_OK ||
        (cfg->trusted_proxies &&
         tsr__proxies_parse(cfg->trusted_proxies, &http->proxies, err, err_size) != TSR_OK) ||
        github_keys(cfg, &http->github_keys, err, err_size) != TSR_OK) {
        start_failed(http);
        return TSR_ERR_INVALID;
    }
    http->fd = bind_listen(cfg->listen, err, err_size);
    if (http->fd < 0) {
        start_failed(http);
        return TSR_ERR_IO;
    }
    bound_url(http->fd, tls, url, url_size, &v6);
    if (v6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    /* One time-out for every connection, whether it is still sending its
     * request or idle between two: libmicrohttpd keeps connections with the
     * daemon's time-out in a list it checks from the oldest end, but scans
     * every connection with a time-out of its own on each turn of its loop,
     * so a shorter one for unfinished requests would make thousands of
     * slow attackers cost every request. That time-out is idle time, reset
     * by every byte, so a client that trickles a byte now and then would
     * hold a connection for ever: the header deadline is kept apart, by the
     * sweep thread of conns.c, which costs the event loops nothing, and the
     * per-address cap bounds how many such connections one client holds
     * until the sweep cuts them. */
    http->daemon = MHD_start_daemon(
        flags, 0, admit, http, on_request, http, MHD_OPTION_LISTEN_SOCKET, http->fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, free_request, http,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, http, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        http, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
    if (!http->daemon) {
        snprintf(err, err_size, "cannot start the HTTP server on %s", cfg->listen);
        start_failed(http);
        return TSR_ERR_IO;
    }
    *out = http;
    return TSR_OK;
}

/* Waits on http->changed (lock held) until *count is 0 or, with a
 * deadline (limit_s > 0), until limit_s seconds have passed; says every
 * STOP_REPORT_S seconds what it waits for. Returns *count. */
static unsigned wait_for(struct tsr_http *http, const unsigned *count, const char *what,
                         int limit_s)
{
    struct timespec start, until;
    int waited = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (*count > 0 && (limit_s == 0 || waited < limit_s)) {
        until = start;
        until.tv_sec += waited + 1;
        if (pthread_cond_timedwait(&http->changed, &http->lock, &until) != ETIMEDOUT)
            continue;
        if (++waited % STOP_REPORT_S == 0)
            tsr_log(TSR_LOG_INFO, "stopping: waiting for %u %s", *count, what);
    }
    return *count;
}

void tsr_http_stop(struct tsr_http *http)
{
    unsigned left;

    if (!http)
        return;
    /* No new connections (see on_accept); those open go on being served
     * (a verify on a kept-alive connection is still answered), but may no
     * longer start anything that suspends them. */
    atomic_store_explicit(&http->refusing, true, memory_order_relaxed);
    pthread_mutex_lock(&http->lock);
    http->stopping = true;
    /* A suspended connection is resumed by the thread that works for it
     * (the store's, a hashing one), which always ends: without a bound. */
    wait_for(http, &http->suspended, "suspended requests", 0);
    /* Then the answers go out, unless a client does not read its own. */
    left = wait_for(http, &http->held, "answers to resumed requests", STOP_ANSWER_WAIT_S);
    pthread_mutex_unlock(&http->lock);
    if (left > 0)
        tsr_log(TSR_LOG_WARN, "stopping: %u answers not sent after %d s: their connections close",
                left, STOP_ANSWER_WAIT_S);
    /* Closes the listen socket too: it was never quiesced. */
    MHD_stop_daemon(http->daemon);
    tsr__conns_free(http->conns);
    tsr_sigkeys_free(http->github_keys);
    tsr__reply_release();
    pthread_cond_destroy(&http->changed);
    pthread_mutex_destroy(&http->lock);
    free(http);
}
