/* router.h - which handler a method and path reach, and what they require */
#ifndef TSR_HTTP_ROUTER_H
#define TSR_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

struct tsr_endpoint {
    const char *method;
    tsr_handler handler;
    unsigned accept;   /* TSR_ACCEPT_* secrets required; 0: the handler decides */
    bool json_body;    /* takes a JSON body (so Content-Type is checked) */
    bool takes_query;  /* the handler reads query parameters itself */
    const char *scope; /* the scope a caller's credential must hold; NULL: none */
};

#define TSR_ROUTE_METHODS 4

/* Which representation a route answers in (represent.c). */
enum tsr_style {
    TSR_STYLE_TESSERA,    /* Tessera's: {data}, id */
    TSR_STYLE_NEGOTIATED, /* Azion's when Accept or Content-Type says version=3 */
    TSR_STYLE_AZION,      /* Azion's own paths: always Azion's */
};

struct tsr_route {
    const char *pattern; /* segments; "{id}" matches a lowercase UUID */
    struct tsr_endpoint endpoints[TSR_ROUTE_METHODS];
    enum tsr_style style;
};

/* Finds the route for the len bytes of path (no query, no trailing slash);
 * writes the {id} segment, if any, to id. NULL when no route matches. */
const struct tsr_route *tsr__route_find(const char *path, size_t len, char id[TSR_UUID_LEN + 1],
                                        bool *has_id);

/* The route's endpoint for method (HEAD finds GET's), or NULL. */
const struct tsr_endpoint *tsr__route_endpoint(const struct tsr_route *route, const char *method);

/* A check that an endpoint makes as soon as a request's headers are in,
 * before its body is read, by the step convention of request.h. */
typedef bool (*tsr_early_check)(struct tsr_req *req, enum MHD_Result *answered);

/* The endpoint's early check, or NULL (most have none). */
tsr_early_check tsr__route_early(const struct tsr_endpoint *ep);

/* Writes the route's methods as an Allow header value, "GET, HEAD, POST". */
void tsr__route_allow(const struct tsr_route *route, char *out, size_t size);

#endif
