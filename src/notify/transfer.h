/* transfer.h - what the webhook and the mail transports share: one libcurl
 * handle set up for a bounded, signal-free transfer, and one-line errors
 */
#ifndef TSR_NOTIFY_TRANSFER_H
#define TSR_NOTIFY_TRANSFER_H

#include <stdbool.h>

#include <curl/curl.h>

#include "service/service.h"

/* The longest a connection may take to open, below the call's own timeout. */
#define TSR__NOTIFY_CONNECT_TIMEOUT_S 10L

/* A fresh handle that speaks only protocols (a CURLOPT_PROTOCOLS_STR list),
 * gives up after timeout_s seconds, never raises signals (the caller's
 * threads) and writes its errors to errbuf; NULL when curl cannot. */
CURL *tsr__notify_handle(const char *protocols, long timeout_s, char errbuf[CURL_ERROR_SIZE]);

/* Sets out to a failure: status as given, error from the printf format on
 * one line, cut to fit. Returns false, for `return tsr__notify_fail(...)`. */
bool tsr__notify_fail(struct tsr_send_result *out, long status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets out to a failure from a transfer that ended with rc: curl's error
 * buffer when it said something, else curl's name for rc. */
bool tsr__notify_curl_fail(struct tsr_send_result *out, long status, CURLcode rc,
                           const char *errbuf);

/* Sets out to a success with status. Returns true. */
bool tsr__notify_ok(struct tsr_send_result *out, long status);

#endif
