/* serve_events.h - tesserad serve's settings for events: expiry notices, retries, e-mail */
#ifndef TSR_TESSERAD_SERVE_EVENTS_H
#define TSR_TESSERAD_SERVE_EVENTS_H

#include <stdbool.h>

#include "notify/notify.h"
#include "service/service.h"

struct serve_events {
    const char *smtp_url;
    const char *smtp_from;
    const char *smtp_credentials;
    const char *public_url;
    struct tsr_smtp smtp; /* filled by events_setup when smtp_url is given */
};

/* Reads the TESSERA_* variables of these settings into e and svc;
 * false (said why) for a value that is wrong. */
bool events_defaults(struct serve_events *e, struct tsr_service_config *svc);

/* --notify-before LIST ("7d,1d"): the windows, into svc. */
bool notify_before_flag(const char *flag, const char *list, struct tsr_service_config *svc);

/* --delivery-retry DURATION: the first retry's wait, into svc. */
bool delivery_retry_flag(const char *flag, const char *text, struct tsr_service_config *svc);

/* Checks the relay's settings and gives svc its senders: webhooks always,
 * e-mail when --smtp-url is given. False (said why) when they are wrong. */
bool events_setup(struct serve_events *e, struct tsr_service_config *svc);

#endif
