/* assets.c - serving the embedded consoles: types, ETags, gzip */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/assets.h"
#include "http/parse.h"

/* Pages have no secret in them; the ETag makes each revisit a cheap 304. */
#define ASSET_CACHE "no-cache"

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
    gz = a->gz && ae && tsr__accepts_gzip(ae);
    etag = gz ? a->gz_etag : a->etag;
    inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm && tsr__none_match(inm, etag))
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
