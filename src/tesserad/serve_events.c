/* serve_events.c - tesserad serve's settings for events: expiry notices, retries, e-mail */
#include "tesserad/serve_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "core/dynbuf.h"
#include "tesserad/commands.h"

#define WINDOW_MAX (365 * 86400)
#define RETRY_MAX  3600

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

bool notify_before_flag(const char *flag, const char *list, struct tsr_service_config *svc)
{
    char item[32];
    size_t n = 0;

    for (const char *s = list;; s++) {
        size_t len = strcspn(s, ",");
        int64_t seconds = 0;

        if (n == TSR_NOTIFY_WINDOWS_MAX) {
            die_message("%s takes at most %d lengths of time", flag, TSR_NOTIFY_WINDOWS_MAX);
            return false;
        }
        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), s);
        if (len >= sizeof(item) ||
            tsr_duration_seconds(item, WINDOW_MAX, &seconds) != TSR_DURATION_OK || seconds == 0) {
            die_message("%s takes lengths of time from 1s to 365d, one comma apart "
                        "(such as 7d,1d), not '%.64s'",
                        flag, list);
            return false;
        }
        svc->notify_before[n++] = seconds;
        s += len;
        if (*s == '\0')
            break;
    }
    qsort(svc->notify_before, n, sizeof(svc->notify_before[0]), by_value);
    svc->notify_windows = 0;
    for (size_t i = 0; i < n; i++) {
        if (svc->notify_windows == 0 ||
            svc->notify_before[svc->notify_windows - 1] != svc->notify_before[i])
            svc->notify_before[svc->notify_windows++] = svc->notify_before[i];
    }
    return true;
}

bool delivery_retry_flag(const char *flag, const char *text, struct tsr_service_config *svc)
{
    int64_t seconds = 0;

    if (tsr_duration_seconds(text, RETRY_MAX, &seconds) != TSR_DURATION_OK || seconds == 0) {
        die_message("%s takes a length of time from 1s to 1h (such as 30s), not '%.64s'", flag,
                    text);
        return false;
    }
    svc->retry_first_s = seconds;
    return true;
}

static const char *env_text(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

bool events_defaults(struct serve_events *e, struct tsr_service_config *svc)
{
    const char *before = env_text("TESSERA_NOTIFY_BEFORE");
    const char *retry = env_text("TESSERA_DELIVERY_RETRY");

    memset(e, 0, sizeof(*e));
    e->smtp_url = env_text("TESSERA_SMTP_URL");
    e->smtp_from = env_text("TESSERA_SMTP_FROM");
    e->smtp_credentials = env_text("TESSERA_SMTP_CREDENTIALS_FILE");
    e->public_url = env_text("TESSERA_PUBLIC_URL");
    return (!before || notify_before_flag("TESSERA_NOTIFY_BEFORE", before, svc)) &&
           (!retry || delivery_retry_flag("TESSERA_DELIVERY_RETRY", retry, svc));
}

bool events_setup(struct serve_events *e, struct tsr_service_config *svc)
{
    char err[256];

    svc->senders = (struct tsr_senders){.post = tsr_notify_post};
    if (e->public_url &&
        tsr_strscpy(svc->console_url, sizeof(svc->console_url), e->public_url) != TSR_OK) {
        die_message("--public-url is longer than %d bytes", TSR_HOOK_URL_MAX);
        return false;
    }
    if (!e->smtp_url) {
        if (e->smtp_from || e->smtp_credentials) {
            die_message("--smtp-from and --smtp-credentials-file need --smtp-url");
            return false;
        }
        return true;
    }
    if (!e->smtp_from) {
        die_message("--smtp-url needs --smtp-from, the address mail comes from");
        return false;
    }
    if (!tsr_notify_smtp_config(&e->smtp, e->smtp_url, e->smtp_from, e->smtp_credentials, err,
                                sizeof(err))) {
        die_message("%s", err);
        return false;
    }
    svc->senders.mail = tsr_notify_mail;
    svc->senders.ctx = &e->smtp;
    return true;
}
