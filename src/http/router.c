/* router.c - the route table, matched segment by segment */
#include <string.h>

#include "core/uuid.h"
#include "core/scope.h"
#include "http/router.h"

#define SECRET (TSR_ACCEPT_PERSONAL | TSR_ACCEPT_SESSION)
#define READ   TSR_SCOPE_TOKENS_READ
#define WRITE  TSR_SCOPE_TOKENS_WRITE

/* The endpoints that Azion's paths share with their /v4 twins: one row
 * each, so that both paths always require the same. */
/* clang-format off */
#define LOGIN       {"POST", tsr__api_login, 0, false, true, NULL}
#define ME          {"GET", tsr__api_me, SECRET, false, false, TSR_SCOPE_USER_READ}
#define TOKENS_LIST {"GET", tsr__api_tokens_list, SECRET, false, true, READ}
#define TOKEN_MAKE  {"POST", tsr__api_tokens_create, SECRET, true, false, WRITE}
#define TOKEN_GET   {"GET", tsr__api_tokens_get, SECRET, false, false, READ}
#define TOKEN_DROP  {"DELETE", tsr__api_tokens_delete, SECRET, false, false, WRITE}
/* clang-format on */

static const struct tsr_route routes[] = {
    {"/healthz", {{"GET", tsr__api_health, 0, false, false, NULL}}, TSR_STYLE_TESSERA},
    /* Login reads its query itself: after the credentials, as the order wants. */
    {"/v4/tokens", {LOGIN}, TSR_STYLE_TESSERA},
    {"/v4/tokens/self",
     {{"DELETE", tsr__api_logout, SECRET, false, false, NULL}},
     TSR_STYLE_TESSERA},
    /* Verify reads its scope parameters itself. */
    {"/v4/auth/verify",
     {{"GET", tsr__api_verify, TSR_ACCEPT_PERSONAL, false, true, NULL}},
     TSR_STYLE_TESSERA},
    {"/v4/iam/users/me", {ME}, TSR_STYLE_TESSERA},
    {"/v4/iam/personal_tokens", {TOKENS_LIST, TOKEN_MAKE}, TSR_STYLE_NEGOTIATED},
    {"/v4/iam/personal_tokens/self", {TOKEN_GET, TOKEN_DROP}, TSR_STYLE_NEGOTIATED},
    /* A token may rotate itself without tokens:write (the service decides
     * what more it may ask); another needs it. */
    {"/v4/iam/personal_tokens/self/rotate",
     {{"POST", tsr__api_tokens_rotate, SECRET, false, false, NULL}},
     TSR_STYLE_TESSERA},
    {"/v4/iam/personal_tokens/{id}/rotate",
     {{"POST", tsr__api_tokens_rotate, SECRET, false, false, WRITE}},
     TSR_STYLE_TESSERA},
    {"/v4/iam/personal_tokens/{id}",
     {TOKEN_GET, {"PATCH", tsr__api_tokens_update, SECRET, true, false, WRITE}, TOKEN_DROP},
     TSR_STYLE_NEGOTIATED},
    {"/v4/console/session",
     {{"POST", tsr__api_console_login, 0, true, false, NULL},
      {"DELETE", tsr__api_console_logout, TSR_ACCEPT_SESSION, false, false, NULL}},
     TSR_STYLE_TESSERA},
    {"/v4/iam/activity",
     {{"GET", tsr__api_activity_list, SECRET, false, true, TSR_SCOPE_ACTIVITY}},
     TSR_STYLE_TESSERA},
    {"/v4/console/config",
     {{"GET", tsr__api_console_config, SECRET, false, false, NULL}},
     TSR_STYLE_TESSERA},
    {"/v4/iam/scopes",
     {{"GET", tsr__api_scopes_list, SECRET, false, true, NULL}},
     TSR_STYLE_TESSERA},
    /* Introspection authenticates its caller itself (Bearer or an OAuth
     * client's Basic), then reads its query and its form body. */
    {"/v4/auth/introspect",
     {{"POST", tsr__api_introspect, 0, false, true, NULL}},
     TSR_STYLE_TESSERA},
    /* Leaked secrets, reported by anyone: no authentication, and a limit on
     * reports per address that refuses before the body is read (below). */
    {"/v4/auth/revoke", {{"POST", tsr__api_leaks_revoke, 0, true, false, NULL}}, TSR_STYLE_TESSERA},
    /* GitHub's secret scanning authenticates by a signature over the body,
     * which its handler checks before the content type and the query. */
    {"/v4/integrations/github/secret-scanning",
     {{"POST", tsr__api_github_secret_scanning, 0, false, true, NULL}},
     TSR_STYLE_TESSERA},
    /* Azion's paths, as its CLI, SDK and guide call them (docs/azion.md). */
    {"/tokens", {LOGIN}, TSR_STYLE_AZION},
    {"/user/me", {ME}, TSR_STYLE_AZION},
    {"/iam/personal_tokens", {TOKENS_LIST, TOKEN_MAKE}, TSR_STYLE_AZION},
    {"/iam/personal_tokens/{id}", {TOKEN_GET, TOKEN_DROP}, TSR_STYLE_AZION},
};

/* The endpoints with a check before their body is read: a table of their
 * own, so that the rows above need no field that nearly all leave empty. */
static const struct {
    tsr_handler handler;
    tsr_early_check check;
} early_checks[] = {
    {tsr__api_leaks_revoke, tsr__leaks_admit},
};

tsr_early_check tsr__route_early(const struct tsr_endpoint *ep)
{
    for (size_t i = 0; i < sizeof(early_checks) / sizeof(early_checks[0]); i++) {
        if (early_checks[i].handler == ep->handler)
            return early_checks[i].check;
    }
    return NULL;
}

#define ID_HOLE "{id}"

/* Matches one pattern against path; a "{id}" segment takes a lowercase UUID. */
static bool matches(const char *pattern, const char *path, size_t len, char id[TSR_UUID_LEN + 1],
                    bool *has_id)
{
    size_t plen = strlen(pattern);
    const char *hole = memchr(pattern, '{', plen);
    size_t head, tail;

    if (!hole)
        return plen == len && memcmp(pattern, path, len) == 0;
    head = (size_t)(hole - pattern);
    /* What follows the hole, such as "/rotate". */
    tail = plen - head - (sizeof(ID_HOLE) - 1);
    if (len != head + TSR_UUID_LEN + tail || memcmp(pattern, path, head) != 0 ||
        !tsr_uuid_valid(path + head, TSR_UUID_LEN) ||
        memcmp(hole + sizeof(ID_HOLE) - 1, path + head + TSR_UUID_LEN, tail) != 0)
        return false;
    memcpy(id, path + head, TSR_UUID_LEN);
    id[TSR_UUID_LEN] = '\0';
    *has_id = true;
    return true;
}

const struct tsr_route *tsr__route_find(const char *path, size_t len, char id[TSR_UUID_LEN + 1],
                                        bool *has_id)
{
    *has_id = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (matches(routes[i].pattern, path, len, id, has_id))
            return &routes[i];
    }
    return NULL;
}

const struct tsr_endpoint *tsr__route_endpoint(const struct tsr_route *route, const char *method)
{
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    for (size_t i = 0; i < TSR_ROUTE_METHODS && route->endpoints[i].method; i++) {
        if (strcmp(route->endpoints[i].method, method) == 0)
            return &route->endpoints[i];
    }
    return NULL;
}

static void append(char *out, size_t size, size_t *used, const char *method)
{
    size_t n = strlen(method);

    if (*used + n + 3 > size)
        return;
    if (*used > 0) {
        memcpy(out + *used, ", ", 2);
        *used += 2;
    }
    memcpy(out + *used, method, n);
    *used += n;
    out[*used] = '\0';
}

void tsr__route_allow(const struct tsr_route *route, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < TSR_ROUTE_METHODS && route->endpoints[i].method; i++) {
        append(out, size, &used, route->endpoints[i].method);
        if (strcmp(route->endpoints[i].method, "GET") == 0)
            append(out, size, &used, "HEAD");
    }
}
