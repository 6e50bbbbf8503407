/* assets.c - serving the embedded consoles: types, ETags, gzip, security headers */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/assets.h"

/* No inline script or style anywhere: the pages load their own files only,
 * talk only to their own origin, and may not be framed. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

/* Pages have no secret in them; the ETag makes each revisit a cheap 304. */
#define ASSET_CACHE "no-cache"

void tsr__security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static int by_path(const void *key, const void *elem)
{
    return strcmp(key, ((const struct tsr_embedded *)elem)->path);
}

static const struct tsr_embedded *lookup(const char *path)
{
    return bsearch(path, tsr__embedded, tsr__embedded_count, sizeof(tsr__embedded[0]), by_path);
}

const struct tsr_embedded *tsr__asset_find(const char *path)
{
    char index[TSR_PATH_MAX + sizeof("/index.html")];
    const struct tsr_embedded *a;

    if (path[0] != '/' || strstr(path, "//"))
        return NULL;
    if (strcmp(path, "/") != 0 && (a = lookup(path)) != NULL)
        return a;
    snprintf(index, sizeof(index), "%s/index.html", strcmp(path, "/") == 0 ? "" : path);
    return lookup(index);
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Whether the q parameter among the element's parameters [p, end) is zero. */
static bool q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;

        p = skip_space(p);
        if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p >= stop || *p != '0')
                return false;
            for (p++; p < stop && *p != ' ' && *p != '\t'; p++) {
                if (*p != '.' && *p != '0')
                    return false;
            }
            return true;
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

/* Accept-Encoding (RFC 9110 12.5.3): gzip unless it, or the "*" that stands
 * for it, has q=0. */
static bool accepts_gzip(const char *value)
{
    bool named = false, gzip = false, star = false;
    const char *p = value;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *name = skip_space(p);
        size_t len = strcspn(name, ";, \t");
        const char *params = name + len < end ? name + len : end;

        if ((len == 4 && strncasecmp(name, "gzip", 4) == 0) ||
            (len == 6 && strncasecmp(name, "x-gzip", 6) == 0)) {
            named = true;
            gzip = !q_is_zero(params, end);
        } else if (len == 1 && name[0] == '*') {
            star = !q_is_zero(params, end);
        }
        p = comma ? comma + 1 : NULL;
    }
    return named ? gzip : star;
}

/* If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags compared
 * weakly, so W/"x" names "x" too. */
static bool none_match(const char *value, const char *etag)
{
    size_t etag_len = strlen(etag);
    const char *p = value;

    while (p && *p) {
        const char *tag = skip_space(p);
        const char *comma = strchr(tag, ',');
        size_t len = comma ? (size_t)(comma - tag) : strlen(tag);

        while (len > 0 && (tag[len - 1] == ' ' || tag[len - 1] == '\t'))
            len--;
        if (len == 1 && tag[0] == '*')
            return true;
        if (len >= 2 && tag[0] == 'W' && tag[1] == '/') {
            tag += 2;
            len -= 2;
        }
        if (len == etag_len && memcmp(tag, etag, len) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static enum MHD_Result queue_asset(struct tsr_req *req, unsigned status, struct MHD_Response *resp,
                                   const struct tsr_embedded *a, const char *etag)
{
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    tsr__security_headers(resp);
    tsr__hsts(req, resp);
    MHD_add_response_header(resp, "Cache-Control", ASSET_CACHE);
    MHD_add_response_header(resp, "ETag", etag);
    if (a->gz)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result tsr__asset_serve(struct tsr_req *req, const struct tsr_embedded *a)
{
    const char *ae, *inm;
    bool gz;
    const char *etag;
    struct MHD_Response *resp;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        tsr__req_header(req, "Allow", "GET, HEAD");
        return tsr__reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                "a page takes only GET and HEAD", TSR_SOURCE_NONE, NULL);
    }
    ae = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept-Encoding");
    gz = a->gz && ae && accepts_gzip(ae);
    etag = gz ? a->gz_etag : a->etag;
    inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm && none_match(inm, etag))
        return queue_asset(req, MHD_HTTP_NOT_MODIFIED,
                           MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), a,
                           etag);
    resp = MHD_create_response_from_buffer(gz ? a->gz_size : a->size,
                                           (void *)(uintptr_t)(gz ? a->gz : a->data),
                                           MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", a->type);
        if (gz)
            MHD_add_response_header(resp, "Content-Encoding", "gzip");
    }
    return queue_asset(req, MHD_HTTP_OK, resp, a, etag);
}
