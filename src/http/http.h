/* http.h - tesserad's HTTP server: the /v4 API over libmicrohttpd */
#ifndef TSR_HTTP_HTTP_H
#define TSR_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "service/service.h"

#define TSR_HTTP_MAX_CONNECTIONS 10000 /* connections at once, by default */
#define TSR_HTTP_IDLE_TIMEOUT    30    /* seconds a connection may send nothing, by default */
#define TSR_HTTP_PER_IP          64    /* connections at once from one address (IPv6: /64) */
#define TSR_HTTP_HEADER_TIMEOUT  10    /* seconds from a request's first byte to its last header */

struct tsr_http_config {
    const char *listen;        /* "HOST:PORT", "[V6]:PORT"; port 0 picks a free one */
    unsigned threads;          /* worker threads; 0: one per core */
    int64_t max_lifetime_days; /* the service's limit, told to the consoles; 0: none */
    /* HTTPS with this certificate (chain) and private key, PEM text, both or
     * neither; NULL: plain HTTP. They must outlive the server. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    unsigned max_connections;    /* at once, shared evenly by the threads; 0: the default */
    unsigned idle_timeout;       /* seconds without a byte before a connection is closed;
                                    0: the default */
    const char *trusted_proxies; /* "ADDR[/BITS][,...]" whose X-Forwarded-For is believed;
                                    NULL: none */
    unsigned per_ip_limit;       /* connections at once from one IPv4 address or IPv6 /64,
                                    trusted proxies exempt; 0: the default */
    bool per_ip_unlimited;       /* the operator turned that cap off */
    unsigned header_timeout;     /* seconds from a request's first byte until its headers
                                    must all be in; 0: the default */
    /* GitHub's secret-scanning keys: the JSON GitHub publishes at
     * https://api.github.com/meta/public_keys/secret_scanning, NUL-terminated
     * (read by tsr_http_check and tsr_http_start, not kept); NULL: none,
     * and POST /v4/integrations/github/secret-scanning answers 404. */
    const char *github_keys_json;
};

struct tsr_http;

/* Checks what in cfg can be wrong before anything starts: the list of
 * trusted proxies, GitHub's keys, and that the TLS certificate and key are PEM that
 * libmicrohttpd (GnuTLS) takes and that belong together. Returns TSR_OK, or
 * TSR_ERR_INVALID with a sentence for people in err, such as "--tls-cert and
 * --tls-key cannot be used: the certificate and the given key do not match".
 * Binds nothing and starts no thread. */
enum tsr_err tsr_http_check(const struct tsr_http_config *cfg, char *err,
                            size_t err_size) TSR_MUST_CHECK;

/* Binds cfg->listen and starts serving svc (which must outlive the server).
 * On TSR_OK, *out is the server and url holds "http://HOST:PORT" (with TLS,
 * "https://HOST:PORT") with the port actually bound. Otherwise err holds a
 * sentence for people, such as "cannot listen on 127.0.0.1:8080: address
 * already in use". */
enum tsr_err tsr_http_start(struct tsr_service *svc, const struct tsr_http_config *cfg,
                            struct tsr_http **out, char *url, size_t url_size, char *err,
                            size_t err_size) TSR_MUST_CHECK;

/* Stops accepting, lets requests in flight finish, and frees the server;
 * NULL is a no-op. */
void tsr_http_stop(struct tsr_http *http);

#endif
