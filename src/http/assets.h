/* assets.h - the web consoles compiled into tesserad */
#ifndef TSR_HTTP_ASSETS_H
#define TSR_HTTP_ASSETS_H

#include <stddef.h>

#include "http/request.h"

/* One file of web/, as tools/embed.c wrote it at build time. */
struct tsr_embedded {
    const char *path;          /* the URL path: "/index.html", "/rtm/app.js" */
    const char *type;          /* the Content-Type */
    const unsigned char *data; /* the bytes as they are in web/ */
    size_t size;
    const unsigned char *gz; /* a gzip copy, or NULL when gzip would not help */
    size_t gz_size;
    const char *etag;    /* strong ETag of data, quotes included */
    const char *gz_etag; /* strong ETag of gz, quotes included */
};

/* Sorted by path (strcmp), so that a look-up is a binary search. */
extern const struct tsr_embedded tsr__embedded[];
extern const size_t tsr__embedded_count;

/* The file served at path (no query, no trailing slash): path itself, else
 * path's index.html ("/" and "/rtm" are pages). NULL when there is none. */
const struct tsr_embedded *tsr__asset_find(const char *path);

/* Answers a request for a: 405 for a method other than GET and HEAD, 304
 * when If-None-Match names the representation chosen, else 200 with the gzip
 * copy when the client accepts it. */
enum MHD_Result tsr__asset_serve(struct tsr_req *req, const struct tsr_embedded *a);

#endif
