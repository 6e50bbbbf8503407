/* embed.c - build-time generator: turns the files under web/ into C arrays
 *
 * Usage: tsr_embed OUTPUT.c WEB_ROOT FILE...
 *
 * Each FILE (under WEB_ROOT) becomes one entry of tsr__embedded[], sorted by
 * URL path so that the server can bsearch it: web/console/X is served at /X,
 * any other web/D/X at /D/X. An entry carries its content type, a strong
 * ETag (the first 128 bits of the SHA-256 of the bytes, in hex) and, when
 * gzip makes it at least 10% smaller, a gzip copy made at level 9 with no
 * name and no time stamp, so that the output is the same on every build.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#define FILE_MAX (4 * 1024 * 1024) /* a console file larger than this is a mistake */

struct entry {
    char *url;
    const char *type;
    unsigned char *data;
    size_t size;
    unsigned char *gz;
    size_t gz_size;
    char etag[33];
};

static const struct {
    const char *ext;
    const char *type;
    bool compress;
} types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".json", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".png", "image/png", false},
    {".ico", "image/x-icon", true},
    {".webp", "image/webp", false},
    {".woff2", "font/woff2", false},
};

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "tsr_embed: %s '%s': %s\n", what, path, errno ? strerror(errno) : "bad input");
    return 1;
}

static const char *type_of(const char *path, bool *compress)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i].ext);

        if (len > n && strcmp(path + len - n, types[i].ext) == 0) {
            *compress = types[i].compress;
            return types[i].type;
        }
    }
    *compress = false;
    return NULL;
}

static bool read_all(const char *path, unsigned char **out, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0, n;

    if (!f)
        return false;
    do {
        if (used == cap) {
            unsigned char *grown;

            cap = cap ? cap * 2 : 65536;
            if (cap > FILE_MAX + 1 || !(grown = realloc(buf, cap))) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return false;
            }
            buf = grown;
        }
        n = fread(buf + used, 1, cap - used, f);
        used += n;
    } while (n > 0);
    if (ferror(f) || used > FILE_MAX) {
        free(buf);
        fclose(f);
        errno = errno ? errno : EFBIG;
        return false;
    }
    fclose(f);
    *out = buf;
    *size = used;
    return true;
}

/* Deflates data into a gzip member with an empty header (no name, time 0). */
static bool gzip(const unsigned char *data, size_t size, unsigned char **out, size_t *out_size)
{
    z_stream zs;
    uLong bound;
    unsigned char *buf;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    bound = deflateBound(&zs, (uLong)size) + 32;
    buf = malloc(bound);
    if (!buf) {
        deflateEnd(&zs);
        return false;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    zrc = deflate(&zs, Z_FINISH);
    *out_size = zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    *out = buf;
    return true;
}

/* "console/app.js" -> "/app.js"; "rtm/app.js" -> "/rtm/app.js". */
static char *url_of(const char *rel)
{
    const char *tail = strncmp(rel, "console/", 8) == 0 ? rel + 7 : NULL;
    size_t len = tail ? strlen(tail) : strlen(rel) + 1;
    char *url = malloc(len + 1);

    if (!url)
        return NULL;
    if (tail) {
        memcpy(url, tail, len + 1);
    } else {
        url[0] = '/';
        memcpy(url + 1, rel, len);
    }
    return url;
}

static bool load(struct entry *e, const char *root, const char *path)
{
    size_t root_len = strlen(root);
    unsigned char hash[crypto_hash_sha256_BYTES];
    bool compress;

    errno = 0;
    while (root_len > 0 && root[root_len - 1] == '/')
        root_len--;
    if (strncmp(path, root, root_len) != 0 || path[root_len] != '/')
        return false;
    e->type = type_of(path, &compress);
    if (!e->type || !read_all(path, &e->data, &e->size))
        return false;
    e->url = url_of(path + root_len + 1);
    if (!e->url)
        return false;
    crypto_hash_sha256(hash, e->data, e->size);
    sodium_bin2hex(e->etag, sizeof(e->etag), hash, 16);
    if (compress && e->size >= 256 && gzip(e->data, e->size, &e->gz, &e->gz_size) &&
        e->gz_size > e->size - e->size / 10) {
        free(e->gz); /* saves too little to be worth a second copy */
        e->gz = NULL;
        e->gz_size = 0;
    }
    return true;
}

static void write_bytes(FILE *out, const char *name, size_t i, const unsigned char *p, size_t n)
{
    fprintf(out, "static const unsigned char %s%zu[%zu] = {", name, i, n ? n : 1);
    if (n == 0)
        fputs("0", out);
    for (size_t j = 0; j < n; j++)
        fprintf(out, "%s0x%02x,", j % 16 == 0 ? "\n    " : "", p[j]);
    fputs("\n};\n", out);
}

/* Writes s as a C string literal; URLs and types are plain ASCII. */
static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int by_url(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->url, ((const struct entry *)b)->url);
}

static bool write_source(FILE *out, struct entry *e, size_t n)
{
    fputs("/* Generated by tools/embed.c from web/: do not edit. */\n"
          "#include \"http/assets.h\"\n\n",
          out);
    for (size_t i = 0; i < n; i++) {
        write_bytes(out, "data", i, e[i].data, e[i].size);
        if (e[i].gz)
            write_bytes(out, "gz", i, e[i].gz, e[i].gz_size);
    }
    fputs("\nconst struct tsr_embedded tsr__embedded[] = {\n", out);
    for (size_t i = 0; i < n; i++) {
        fputs("    {", out);
        write_string(out, e[i].url);
        fputs(", ", out);
        write_string(out, e[i].type);
        fprintf(out, ", data%zu, %zu, ", i, e[i].size);
        if (e[i].gz)
            fprintf(out, "gz%zu, %zu, ", i, e[i].gz_size);
        else
            fputs("NULL, 0, ", out);
        fprintf(out, "\"\\\"%s\\\"\", \"\\\"%s-gz\\\"\"},\n", e[i].etag, e[i].etag);
    }
    if (n == 0)
        fputs("    {\"\", \"\", NULL, 0, NULL, 0, \"\", \"\"},\n", out);
    fprintf(out, "};\n\nconst size_t tsr__embedded_count = %zu;\n", n);
    return !ferror(out);
}

int main(int argc, char **argv)
{
    struct entry *e;
    size_t n = argc > 3 ? (size_t)(argc - 3) : 0;
    FILE *out;
    int status = 0;

    if (argc < 3) {
        fputs("usage: tsr_embed OUTPUT.c WEB_ROOT FILE...\n", stderr);
        return 2;
    }
    if (sodium_init() < 0)
        return fail("cannot initialise", "libsodium");
    e = calloc(n ? n : 1, sizeof(*e));
    if (!e)
        return fail("out of memory for", argv[1]);
    for (size_t i = 0; i < n && status == 0; i++) {
        if (!load(&e[i], argv[2], argv[i + 3]))
            status = fail("cannot embed", argv[i + 3]);
    }
    if (status == 0) {
        qsort(e, n, sizeof(*e), by_url);
        out = fopen(argv[1], "w");
        if (!out) {
            status = fail("cannot write", argv[1]);
        } else {
            bool written = write_source(out, e, n);

            if (fclose(out) != 0 || !written)
                status = fail("cannot write", argv[1]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(e[i].url);
        free(e[i].data);
        free(e[i].gz);
    }
    free(e);
    return status;
}
