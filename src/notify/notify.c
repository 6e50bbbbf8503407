/* notify.c - libcurl's set-up, and the handle and errors both transports share */
#include "notify/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/validate.h"
#include "notify/transfer.h"

bool tsr_notify_global_init(void)
{
    /* Mail's Message-ID draws from libsodium's generator. */
    return sodium_init() >= 0 && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void tsr_notify_global_cleanup(void)
{
    curl_global_cleanup();
}

CURL *tsr__notify_handle(const char *protocols, long timeout_s, char errbuf[CURL_ERROR_SIZE])
{
    CURL *curl = curl_easy_init();
    long connect_s =
        timeout_s < TSR__NOTIFY_CONNECT_TIMEOUT_S ? timeout_s : TSR__NOTIFY_CONNECT_TIMEOUT_S;

    if (curl == NULL)
        return NULL;
    errbuf[0] = '\0';
    if (curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect_s) != CURLE_OK) {
        curl_easy_cleanup(curl);
        return NULL;
    }
    return curl;
}

/* The length of the character at s (1 to 4 bytes), 0 when no valid UTF-8
 * character starts there. */
static size_t char_len(const char *s)
{
    size_t count;

    for (size_t k = 1; k <= 4 && s[k - 1] != '\0'; k++)
        if (tsr_utf8_count(s, k, &count) && count == 1)
            return k;
    return 0;
}

/* Copies text to error on one line that stores and prints anywhere:
 * control characters become spaces, bytes that are not UTF-8 question
 * marks (a URL or a relay may give either), and a cut to size never splits
 * a character. */
static void one_line(char error[TSR_DELIVERY_ERROR_MAX + 1], const char *text)
{
    size_t len = 0;

    for (size_t i = 0, k; text[i] != '\0'; i += k ? k : 1) {
        k = char_len(text + i);
        if (len + (k ? k : 1) > TSR_DELIVERY_ERROR_MAX)
            break;
        if (k == 0)
            error[len++] = '?';
        else if (k == 1 && ((unsigned char)text[i] < 0x20 || text[i] == 0x7f))
            error[len++] = ' ';
        else
            for (size_t j = 0; j < k; j++)
                error[len++] = text[i + j];
    }
    while (len > 0 && error[len - 1] == ' ')
        len--;
    error[len] = '\0';
}

bool tsr__notify_fail(struct tsr_send_result *out, long status, const char *fmt, ...)
{
    char text[TSR_DELIVERY_ERROR_MAX * 2];
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
        text[0] = '\0';
    va_end(ap);
    out->status = status;
    one_line(out->error, text);
    if (out->error[0] == '\0')
        snprintf(out->error, sizeof(out->error), "failed for a reason nobody gave");
    return false;
}

bool tsr__notify_curl_fail(struct tsr_send_result *out, long status, CURLcode rc,
                           const char *errbuf)
{
    return tsr__notify_fail(out, status, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
}

bool tsr__notify_ok(struct tsr_send_result *out, long status)
{
    out->status = status;
    out->error[0] = '\0';
    return true;
}
