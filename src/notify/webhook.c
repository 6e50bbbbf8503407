/* webhook.c - a delivery as one HTTP(S) POST, over libcurl */
#include "notify/notify.h"

#include <stdio.h>
#include <string.h>

#include "notify/transfer.h"

/* What a receiver says back is read only to keep the connection orderly;
 * past this much the transfer stops, and its status still counts. */
#define RESPONSE_MAX (64 * 1024)

#define USER_AGENT "Tessera-Hookshot/" TSR_VERSION

struct response {
    size_t len;
    bool capped;
};

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct response *r = userdata;
    size_t n = size * nmemb;

    (void)data;
    if (n > RESPONSE_MAX - r->len) {
        r->capped = true;
        return 0;
    }
    r->len += n;
    return n;
}

#define HEADER_NAME_MAX 255

/* A header "Name: value" with a token for its name and no line break (that
 * would start a header of its own). */
static bool header_valid(const char *h)
{
    const char *colon = strchr(h, ':');

    if (colon == NULL || colon == h || colon - h > HEADER_NAME_MAX || strpbrk(h, "\r\n") != NULL)
        return false;
    for (const char *p = h; p < colon; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p) != NULL)
            return false;
    return true;
}

/* curl_slist_append that frees the list when it fails, so that a chain of
 * them is checked once, at its end. */
static struct curl_slist *append(struct curl_slist *list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(list, line);

    if (grown == NULL)
        curl_slist_free_all(list);
    return grown;
}

/* curl takes "Name:" to mean "send no Name"; "Name;" is its way of sending
 * one with an empty value, as the caller asked. */
static struct curl_slist *append_header(struct curl_slist *list, const char *h)
{
    size_t name_len = (size_t)(strchr(h, ':') - h);
    const char *value = h + name_len + 1;
    char name[HEADER_NAME_MAX + 2];

    value += strspn(value, " \t");
    if (*value != '\0')
        return append(list, h);
    memcpy(name, h, name_len);
    memcpy(name + name_len, ";", 2);
    return append(list, name);
}

/* The caller's headers after our own, so that one of theirs may replace
 * ours; Expect is left out so that a large body is not held back a second
 * waiting for a 100 Continue the receiver may never send. */
static struct curl_slist *header_list(const char *const *headers, size_t n)
{
    struct curl_slist *list = append(NULL, "Content-Type: application/json");

    if (list != NULL)
        list = append(list, "Expect:");
    for (size_t i = 0; i < n && list != NULL; i++)
        list = append_header(list, headers[i]);
    return list;
}

static CURLcode set_request(CURL *curl, const char *url, const char *body, size_t len,
                            struct curl_slist *headers, struct response *r)
{
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_URL, url);

    /* Without fields curl would POST what its read callback gives: stdin. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    /* A redirect would let the receiver send a signed delivery elsewhere. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    return rc;
}

/* The receiver's answer, once the transfer ended with rc. */
static bool judge(CURL *curl, CURLcode rc, const struct response *r, const char *errbuf,
                  struct tsr_send_result *out)
{
    long status = 0;

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r->capped && status != 0))
        return tsr__notify_curl_fail(out, status, rc, errbuf);
    if (status >= 200 && status <= 299)
        return tsr__notify_ok(out, status);
    if (status >= 300 && status <= 399)
        return tsr__notify_fail(out, status, "answered %ld (redirects are not followed)", status);
    return tsr__notify_fail(out, status, "answered %ld", status);
}

bool tsr_notify_post(void *ctx, const char *url, const char *body, size_t len,
                     const char *const *headers, size_t n, long timeout_s,
                     struct tsr_send_result *out)
{
    char errbuf[CURL_ERROR_SIZE];
    struct response r = {0};
    struct curl_slist *list;
    CURL *curl;
    bool sent;
    CURLcode rc;

    (void)ctx;
    if (body == NULL && len > 0)
        return tsr__notify_fail(out, 0, "no body of %zu bytes was given", len);
    if (timeout_s < 1)
        return tsr__notify_fail(out, 0, "the timeout must be at least a second");
    for (size_t i = 0; i < n; i++)
        if (headers[i] == NULL || !header_valid(headers[i]))
            return tsr__notify_fail(out, 0, "header %zu is not a single \"Name: value\" line", i);
    list = header_list(headers, n);
    curl = tsr__notify_handle("http,https", timeout_s, errbuf);
    if (list == NULL || curl == NULL) {
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        return tsr__notify_fail(out, 0, "out of memory");
    }
    rc = set_request(curl, url, body, len, list, &r);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(curl);
    sent = judge(curl, rc, &r, errbuf, out);
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    return sent;
}
