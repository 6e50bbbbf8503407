/* events.h - the service's events and their deliveries; not for other layers
 *
 * A change raises its event by naming it on its audit row
 * (tsr__audit_event): the store writes the event and its deliveries in the
 * change's own transaction, so an event is never lost nor raised for a
 * change that did not happen. Delivery threads (deliver.c) send them later,
 * never on a request's path, and the first of them also raises the expiry
 * notices as they fall due.
 */
#ifndef TSR_SERVICE_EVENTS_H
#define TSR_SERVICE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/service.h"

#define TSR_EVENT_CREATED  "token.created"
#define TSR_EVENT_UPDATED  "token.updated"
#define TSR_EVENT_ROTATED  "token.rotated"
#define TSR_EVENT_REVOKED  "token.revoked"
#define TSR_EVENT_LEAKED   "token.leaked"
#define TSR_EVENT_EXPIRING "token.expiring"
#define TSR_EVENT_EXPIRED  "token.expired"

/* A delivery's attempt gets this long to be answered (a webhook's 2xx). */
#define TSR_DELIVERY_TIMEOUT_S 10
/* Delivery threads: a slow receiver holds one of them, not all. */
#define TSR_DELIVERY_THREADS 4
/* Expired tokens noticed this long after they expired (a node that was
 * down a while still tells of them, but a first start does not tell of
 * every token that ever expired). */
#define TSR_EXPIRED_NOTICE_WITHIN (7 * 86400)

struct tsr_audit_row;

/* Names the event type on a change's audit row, and whether its owner is
 * mailed of it (the leaked, expiring and expired ones, when the service
 * has a relay). Cannot fail. */
void tsr__audit_event(struct tsr_service *svc, struct tsr_audit_row *row, const char *type);

/* The JSON body a webhook receives for ev, to free(); NULL when out of memory. */
char *tsr__event_body(const struct tsr_event_row *ev);

/* The plain text of the mail to ev's owner, to free(), and its subject in
 * subject; NULL when out of memory. Never holds a secret. */
char *tsr__event_mail(const struct tsr_service *svc, const struct tsr_event_row *ev, int64_t now,
                      char *subject, size_t subject_size);

/* The delivery threads: started by tsr_service_new when the service has a
 * sender, stopped (each finishing its attempt) by tsr_service_free. */
struct tsr__deliverer;
enum tsr_err tsr__deliver_start(struct tsr_service *svc,
                                struct tsr__deliverer **out) TSR_MUST_CHECK;
void tsr__deliver_stop(struct tsr__deliverer *d);

/* Tells the delivery threads that an event was written: they look now. */
void tsr__deliver_wake(struct tsr__deliverer *d);

#endif
