/* client.c - Tessera's HTTP API over libcurl, answers parsed with jansson */
#include "cli/client.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli/config.h"
#include "core/dynbuf.h"

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 30L

struct tsr_client {
    CURL *curl;
    char base[TSR_SERVER_MAX + 1];
};

/* The answer as it comes, and why it stopped coming if it did. */
struct body {
    struct tsr_dynbuf buf;
    enum tsr_err failed;
};

/* jansson's strings may hold a secret (the "key" of a new token): zero every
 * block it frees. */
static void wiping_free(void *p)
{
    if (p != NULL) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

enum tsr_err tsr_client_global_init(void)
{
    json_set_alloc_funcs(malloc, wiping_free);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

void tsr_client_global_cleanup(void)
{
    curl_global_cleanup();
}

enum tsr_err tsr_client_server(const char *server, char *out, size_t size, char *why,
                               size_t why_size)
{
    size_t len = strlen(server);
    bool http = strncasecmp(server, "http://", 7) == 0;
    bool https = strncasecmp(server, "https://", 8) == 0;
    size_t scheme = http ? 7 : 8;

    while (len > 0 && server[len - 1] == '/')
        len--;
    if ((!http && !https) || len <= scheme) {
        snprintf(why, why_size, "the server '%.64s' must be a URL such as http://127.0.0.1:8080",
                 server);
        return TSR_ERR_INVALID;
    }
    if (len > TSR_SERVER_MAX || len >= size) {
        snprintf(why, why_size, "the server URL is longer than %d bytes", TSR_SERVER_MAX);
        return TSR_ERR_INVALID;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)server[i];

        if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#') {
            snprintf(why, why_size,
                     "the server '%.64s' must be a plain URL: no spaces, query or fragment",
                     server);
            return TSR_ERR_INVALID;
        }
    }
    memcpy(out, server, len);
    out[len] = '\0';
    return TSR_OK;
}

enum tsr_err tsr_client_new(const char *server, struct tsr_client **out)
{
    struct tsr_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return TSR_ERR_NOMEM;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        free(c);
        return TSR_ERR_NOMEM;
    }
    snprintf(c->base, sizeof(c->base), "%s", server);
    *out = c;
    return TSR_OK;
}

void tsr_client_free(struct tsr_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const char *tsr_client_base(const struct tsr_client *c)
{
    return c->base;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct body *b = ud;

    b->failed = tsr_dynbuf_add(&b->buf, data, size * n);
    return b->failed == TSR_OK ? size * n : 0; /* 0 makes curl stop: CURLE_WRITE_ERROR */
}

static bool add_header(struct curl_slist **list, const char *header)
{
    struct curl_slist *more = curl_slist_append(*list, header);

    if (more == NULL)
        return false;
    *list = more;
    return true;
}

/* A sentence for a request that got no answer: what failed, what to check. */
static void explain(const struct tsr_client *c, CURLcode code, const char *detail, char *why,
                    size_t why_size)
{
    const char *d = detail[0] != '\0' ? detail : curl_easy_strerror(code);

    /* An if chain, not a switch: CURLcode has a hundred values. */
    if (code == CURLE_COULDNT_CONNECT)
        snprintf(why, why_size, "cannot connect to %s (%s): is the Tessera server running there?",
                 c->base, d);
    else if (code == CURLE_COULDNT_RESOLVE_HOST)
        snprintf(why, why_size, "cannot find the host of %s (%s): check the server URL", c->base,
                 d);
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, why_size,
                 "no answer from %s in time (%s): check the server URL and that the server is "
                 "up",
                 c->base, d);
    else if (code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
             code == CURLE_WEIRD_SERVER_REPLY)
        snprintf(why, why_size,
                 "the connection to %s failed (%s): is it a Tessera server, and does it speak "
                 "%s?",
                 c->base, d, strncasecmp(c->base, "https", 5) == 0 ? "HTTPS" : "plain HTTP");
    else if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION ||
             code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM)
        snprintf(why, why_size, "TLS with %s failed (%s): check the URL and the certificate",
                 c->base, d);
    else
        snprintf(why, why_size, "the request to %s failed: %s", c->base, d);
}

enum tsr_err tsr_client_send(struct tsr_client *c, const struct tsr_request *req,
                             struct tsr_response *resp, char *why, size_t why_size)
{
    CURL *h = c->curl;
    char url[TSR_SERVER_MAX + 4096];
    char auth[TSR_SECRET_LEN + 64];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    struct body body = {.failed = TSR_OK};
    char *text = NULL;
    CURLcode code;
    enum tsr_err rc = TSR_OK;
    int n;

    memset(resp, 0, sizeof(*resp));
    tsr_dynbuf_init(&body.buf, TSR_CLIENT_BODY_MAX);
    auth[0] = '\0';
    n = snprintf(url, sizeof(url), "%s%s", c->base, req->path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(why, why_size, "the request's URL is too long");
        return TSR_ERR_IO;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tessera/" TSR_VERSION);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);

    if (req->token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Token %s", req->token);
    /* "Expect:" stops curl from waiting for "100 Continue" before a body. */
    if (!add_header(&headers, "Accept: application/json") || !add_header(&headers, "Expect:") ||
        (req->body != NULL && !add_header(&headers, "Content-Type: application/json")) ||
        (req->token != NULL && !add_header(&headers, auth))) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (req->user != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (req->body != NULL) {
        text = json_dumps(req->body, JSON_COMPACT);
        if (text == NULL) {
            rc = TSR_ERR_NOMEM;
            goto out;
        }
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
    }

    code = curl_easy_perform(h);
    if (body.failed == TSR_ERR_NOMEM) {
        rc = TSR_ERR_NOMEM;
        goto out;
    }
    if (body.failed != TSR_OK) {
        snprintf(why, why_size, "the answer of %s is larger than %d bytes: is it a Tessera server?",
                 c->base, TSR_CLIENT_BODY_MAX);
        rc = TSR_ERR_IO;
        goto out;
    }
    if (code != CURLE_OK) {
        explain(c, code, errbuf, why, why_size);
        rc = TSR_ERR_IO;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (body.buf.len > 0)
        resp->json = json_loadb(body.buf.p, body.buf.len, JSON_REJECT_DUPLICATES, NULL);
out:
    /* curl keeps its own copies of the options; drop the ones that hold a
     * secret before the buffers they came from are wiped. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    sodium_memzero(auth, sizeof(auth));
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    tsr_dynbuf_release(&body.buf);
    return rc;
}

bool tsr_response_detail(const struct tsr_response *resp, char *out, size_t size)
{
    json_t *errors = json_object_get(resp->json, "errors");
    json_t *first = json_array_get(errors, 0);
    const char *detail = json_string_value(json_object_get(first, "detail"));

    if (detail != NULL && detail[0] != '\0') {
        snprintf(out, size, "%s", detail);
        return true;
    }
    snprintf(out, size,
             "the server answered HTTP %ld without a Tessera error: is it a Tessera "
             "server?",
             resp->status);
    return false;
}

void tsr_response_release(struct tsr_response *resp)
{
    json_decref(resp->json);
    resp->json = NULL;
    resp->status = 0;
}

enum tsr_err tsr_client_query(struct tsr_client *c, char *buf, size_t size, const char *name,
                              const char *value)
{
    char *esc = curl_easy_escape(c->curl, value, 0);
    size_t used = strlen(buf);
    int n;

    if (esc == NULL)
        return TSR_ERR_NOMEM;
    n = snprintf(buf + used, size - used, "%c%s=%s", strchr(buf, '?') ? '&' : '?', name, esc);
    curl_free(esc);
    if (n < 0 || (size_t)n >= size - used) {
        buf[used] = '\0';
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}
