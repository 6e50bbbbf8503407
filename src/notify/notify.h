/* notify.h - the transports of deliveries: webhooks over HTTP(S), e-mail over SMTP
 *
 * An adapter, like src/http: libcurl does the talking. The functions have
 * the shapes of struct tsr_senders (service.h) so that tesserad hands them
 * to the service, which decides what is sent. Safe from any thread; each
 * call makes its own connection and returns within its timeout.
 */
#ifndef TSR_NOTIFY_NOTIFY_H
#define TSR_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "service/service.h"

/* Makes libcurl ready; once, before any thread sends. False when it cannot. */
bool tsr_notify_global_init(void);
void tsr_notify_global_cleanup(void);

/* The SMTP relay mail goes through. */
struct tsr_smtp {
    char url[TSR_HOOK_URL_MAX + 1]; /* smtp://host:port or smtps://host:port */
    char from[TSR_EMAIL_MAX + 1];   /* the envelope and From: address */
    char user[TSR_EMAIL_MAX + 1];   /* "" for no login */
    char password[256];
};

/* Fills smtp from the operator's settings: url must be smtp:// or smtps://
 * with a host; from an address; credentials_file (NULL: none) holds the
 * user name on its first line and the password on its second. On failure
 * writes a one-line reason to err. */
bool tsr_notify_smtp_config(struct tsr_smtp *smtp, const char *url, const char *from,
                            const char *credentials_file, char *err, size_t err_size);

/* struct tsr_senders' post: ctx is unused. Follows no redirect. */
bool tsr_notify_post(void *ctx, const char *url, const char *body, size_t len,
                     const char *const *headers, size_t n, long timeout_s,
                     struct tsr_send_result *out);

/* struct tsr_senders' mail: ctx is a struct tsr_smtp. The message is built
 * here (From, To, Subject, Date, Message-ID, plain-text UTF-8 body with
 * lines ending CRLF, dot-stuffed by libcurl). Over smtp:// STARTTLS is used
 * when the relay offers it, and required when there are credentials. */
bool tsr_notify_mail(void *ctx, const char *to, const char *subject, const char *text,
                     long timeout_s, struct tsr_send_result *out);

#endif
