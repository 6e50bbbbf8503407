/* events.c - what subscribers hear of a token's life: the events, webhooks, and what is sent */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"
#include "core/scope.h"
#include "core/timefmt.h"
#include "core/uuid.h"
#include "service/events.h"
#include "service/internal.h"

/* The events its owner is mailed of, when there is a relay: those that
 * ask them to act. */
static bool mails_owner(const char *type)
{
    return strcmp(type, TSR_EVENT_EXPIRING) == 0 || strcmp(type, TSR_EVENT_EXPIRED) == 0 ||
           strcmp(type, TSR_EVENT_LEAKED) == 0;
}

void tsr__audit_event(struct tsr_service *svc, struct tsr_audit_row *row, const char *type)
{
    (void)tsr_strscpy(row->event, sizeof(row->event), type);
    row->mail_owner = svc->cfg.senders.mail != NULL && mails_owner(type);
}

/* Writes the types of text (comma or space separated) to out one space
 * apart, each once; "" for every type. */
static enum tsr_err normalise_events(const char *text, char *out, size_t size,
                                     struct tsr_problem *why)
{
    size_t used = 0;

    out[0] = '\0';
    for (const char *s = text ? text : ""; *s;) {
        size_t n = strcspn(s, ", ");

        if (n > 0 && !tsr_scopes_has(TSR_EVENT_TYPES, sizeof(TSR_EVENT_TYPES) - 1, s, n))
            return tsr__refuse(why, TSR_ERR_INVALID, "events",
                               "'%.*s' is not an event; the events are %s", (int)(n > 40 ? 40 : n),
                               s, TSR_EVENT_TYPES);
        /* The known types all fit: out is as long as their list. */
        if (n > 0 && !tsr_scopes_has(out, strlen(out), s, n))
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? " " : "", (int)n, s);
        s += n;
        s += strspn(s, ", ");
    }
    return TSR_OK;
}

/* http:// or https://, a host, no user or password, no white space or
 * control characters. libcurl parses it again when it posts. */
static enum tsr_err check_url(const char *url, struct tsr_problem *why)
{
    size_t len = strlen(url), skip;
    const char *host, *end;

    if (len > TSR_HOOK_URL_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "url", "a URL has at most %d bytes",
                           TSR_HOOK_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= ' ' || c >= 0x7f)
            return tsr__refuse(why, TSR_ERR_INVALID, "url",
                               "a URL has no spaces, control or non-ASCII characters "
                               "(percent-encode them)");
    }
    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return tsr__refuse(why, TSR_ERR_INVALID, "url",
                           "a webhook URL starts with https:// or "
                           "http://");
    host = url + skip;
    end = host + strcspn(host, "/?#");
    if (end == host || *host == ':')
        return tsr__refuse(why, TSR_ERR_INVALID, "url", "the URL names no host");
    if (memchr(host, '@', (size_t)(end - host)) != NULL)
        return tsr__refuse(why, TSR_ERR_INVALID, "url",
                           "the URL carries credentials; the signature proves who sends");
    return TSR_OK;
}

static enum tsr_err check_key(const char *key, struct tsr_problem *why)
{
    size_t len = strlen(key);

    if (len == 0 || len > TSR_HOOK_KEY_MAX)
        return tsr__refuse(why, TSR_ERR_INVALID, "key",
                           "the signing key is 1 to %d characters (the file's first line)",
                           TSR_HOOK_KEY_MAX);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)key[i] < ' ' || (unsigned char)key[i] >= 0x7f)
            return tsr__refuse(why, TSR_ERR_INVALID, "key",
                               "the signing key is printable ASCII (the file's first line)");
    }
    return TSR_OK;
}

enum tsr_err tsr_webhooks_add(struct tsr_service *svc, const char *url, const char *key,
                              const char *events, struct tsr_webhook_row *out,
                              struct tsr_problem *why)
{
    struct tsr_webhook_row hook = {0};
    enum tsr_err rc = check_url(url, why);

    if (rc == TSR_OK)
        rc = check_key(key, why);
    if (rc == TSR_OK)
        rc = normalise_events(events, hook.events, sizeof(hook.events), why);
    if (rc != TSR_OK)
        return rc;
    tsr_uuid7_new(hook.id);
    (void)tsr_strscpy(hook.url, sizeof(hook.url), url);
    (void)tsr_strscpy(hook.key, sizeof(hook.key), key);
    hook.created = tsr_time_now();
    rc = tsr_store_webhook_insert(svc->store, &hook);
    if (rc == TSR_OK && out)
        *out = hook;
    sodium_memzero(hook.key, sizeof(hook.key));
    return rc;
}

enum tsr_err tsr_webhooks_remove(struct tsr_service *svc, const char *id, struct tsr_problem *why)
{
    if (!tsr_uuid_valid(id, strlen(id)))
        return tsr__refuse(why, TSR_ERR_INVALID, "id",
                           "'%.40s' is not a webhook id: ids are UUIDs, as 'tesserad webhook "
                           "list' shows",
                           id);
    return tsr_store_webhook_remove(svc->store, id, tsr_time_now());
}

struct hook_list {
    enum tsr_err (*each)(const struct tsr_webhook_row *, void *);
    void *ctx;
};

static enum tsr_err hook_without_key(const struct tsr_webhook_row *hook, void *ctx)
{
    struct hook_list *l = ctx;
    struct tsr_webhook_row copy = *hook;

    sodium_memzero(copy.key, sizeof(copy.key));
    return l->each(&copy, l->ctx);
}

enum tsr_err tsr_webhooks_list(struct tsr_service *svc,
                               enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                               void *ctx)
{
    struct hook_list l = {each, ctx};

    return tsr_store_webhook_each(svc->store, hook_without_key, &l);
}

enum tsr_err tsr_deliveries_list(struct tsr_service *svc, const char *webhook_id,
                                 enum tsr_delivery_state state, int64_t limit,
                                 enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                 void *ctx)
{
    return tsr_store_delivery_each(svc->store, webhook_id, state, limit, each, ctx);
}

/* ---- what is sent ---- */

static json_t *time_or_null(int64_t t)
{
    char text[TSR_TIME_LEN + 1];

    if (t <= 0)
        return json_null();
    tsr_time_format(t, text);
    return json_string(text);
}

/* The scopes text as an array of names. */
static json_t *scopes_array(const char *text)
{
    json_t *a = json_array();

    for (const char *s = text; a && *s;) {
        size_t n = strcspn(s, " ");

        if (n > 0)
            json_array_append_new(a, json_stringn(s, n));
        s += n;
        s += strspn(s, " ");
    }
    return a;
}

char *tsr__event_body(const struct tsr_event_row *ev)
{
    json_t *token = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", ev->token_id, "name", ev->name,
                              "key_hint", ev->key_hint, "expires_at", time_or_null(ev->expires_at),
                              "scopes", scopes_array(ev->scopes));
    json_t *data = json_pack("{s:o, s:s}", "token", token, "user_id", ev->user_id);
    json_t *body;
    char *text;

    if (data && ev->notice_before > 0)
        json_object_set_new(data, "notice_before_seconds", json_integer(ev->notice_before));
    body = json_pack("{s:s, s:s, s:o, s:o}", "id", ev->id, "type", ev->type, "created_at",
                     time_or_null(ev->at), "data", data);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* "7 days", "1 day", "5 hours", "40 minutes": how long is left, as a person says it. */
static void how_long(int64_t seconds, char *out, size_t size)
{
    int64_t n;
    const char *unit;

    if (seconds >= 86400) {
        n = (seconds + 43200) / 86400;
        unit = "day";
    } else if (seconds >= 3600) {
        n = (seconds + 1800) / 3600;
        unit = "hour";
    } else {
        n = seconds >= 60 ? (seconds + 30) / 60 : 1;
        unit = "minute";
    }
    snprintf(out, size, "%lld %s%s", (long long)n, unit, n == 1 ? "" : "s");
}

/* The first sentence of a mail, and its subject, for the event. */
static void mail_lines(const struct tsr_event_row *ev, int64_t now, char *subject, size_t ssize,
                       char *first, size_t fsize)
{
    char left[32], when[TSR_TIME_LEN + 1];

    tsr_time_format(ev->expires_at, when);
    if (strcmp(ev->type, TSR_EVENT_EXPIRING) == 0) {
        how_long(ev->expires_at > now ? ev->expires_at - now : 0, left, sizeof(left));
        snprintf(subject, ssize, "Your Tessera token \"%s\" expires in %s", ev->name, left);
        snprintf(first, fsize,
                 "Your personal token \"%s\" expires at %s (in %s). If it is still\n"
                 "needed, regenerate it or create a new one before then.",
                 ev->name, when, left);
    } else if (strcmp(ev->type, TSR_EVENT_EXPIRED) == 0) {
        snprintf(subject, ssize, "Your Tessera token \"%s\" has expired", ev->name);
        snprintf(first, fsize,
                 "Your personal token \"%s\" expired at %s. Whatever uses it is now\n"
                 "refused; create a new one if it is still needed.",
                 ev->name, when);
    } else {
        snprintf(subject, ssize, "Your Tessera token \"%s\" was exposed and has been revoked",
                 ev->name);
        snprintf(first, fsize,
                 "Your personal token \"%s\" was reported as exposed in public, and\n"
                 "Tessera has revoked it: it no longer works. Create a new one, and\n"
                 "remove the old secret from wherever it was found.",
                 ev->name);
    }
}

/* Room for the longest mail: a name, the scopes and the console's URL at
 * their longest, and the words around them. */
#define MAIL_TEXT_MAX (TSR_NAME_MAX_BYTES * 2 + TSR_SCOPES_TEXT_MAX + TSR_HOOK_URL_MAX + 2048)

char *tsr__event_mail(const struct tsr_service *svc, const struct tsr_event_row *ev, int64_t now,
                      char *subject, size_t subject_size)
{
    char first[TSR_NAME_MAX_BYTES + 400], console[TSR_HOOK_URL_MAX + 64] = "";
    char *text = malloc(MAIL_TEXT_MAX);

    if (!text)
        return NULL;
    mail_lines(ev, now, subject, subject_size, first, sizeof(first));
    if (svc->cfg.console_url[0] != '\0')
        snprintf(console, sizeof(console), "\nYour tokens: %s\n", svc->cfg.console_url);
    snprintf(text, MAIL_TEXT_MAX,
             "Hello,\n\n%s\n\n"
             "Token:   %s\n"
             "Id:      %s\n"
             "Secret:  begins %s... (the rest is never sent)\n"
             "Scopes:  %s\n%s\n"
             "You get this message because you own this token. It never\n"
             "contains a secret: do not trust one that asks for it.\n",
             first, ev->name, ev->token_id, ev->key_hint, ev->scopes, console);
    return text;
}
