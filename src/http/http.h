/* http.h - tesserad's HTTP server: the /v4 API over libmicrohttpd */
#ifndef TSR_HTTP_HTTP_H
#define TSR_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "service/service.h"

struct tsr_http_config {
    const char *listen;        /* "HOST:PORT", "[V6]:PORT"; port 0 picks a free one */
    unsigned threads;          /* worker threads; 0: one per core */
    int64_t max_lifetime_days; /* the service's limit, told to the consoles; 0: none */
};

struct tsr_http;

/* Binds cfg->listen and starts serving svc (which must outlive the server).
 * On TSR_OK, *out is the server and url holds "http://HOST:PORT" with the
 * port actually bound. Otherwise err holds a sentence for people, such as
 * "cannot listen on 127.0.0.1:8080: address already in use". */
enum tsr_err tsr_http_start(struct tsr_service *svc, const struct tsr_http_config *cfg,
                            struct tsr_http **out, char *url, size_t url_size, char *err,
                            size_t err_size) TSR_MUST_CHECK;

/* Stops accepting, lets requests in flight finish, and frees the server;
 * NULL is a no-op. */
void tsr_http_stop(struct tsr_http *http);

#endif
