/* represent.c - the two shapes of tokens and users: Tessera's and Azion's
 *
 * The handlers get the same results from the service whichever client
 * asked; this is where they become Tessera's {"data": …} with "id", or the
 * bare objects with "uuid" that Azion's CLI, SDK and Console read
 * (docs/azion.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/dynbuf.h"
#include "core/timefmt.h"
#include "http/request.h"

/* Azion's Console has asked for pages of 100 and of 200. */
#define AZION_PAGE_SIZE_MAX 200

/* Azion's version of its API whose shapes these are. */
#define AZION_SCHEMA_VERSION 3

/* The words of a stored list ("a b c") as a JSON array of strings. */
static json_t *words_json(const char *s)
{
    json_t *a = json_array();

    while (a && *s) {
        size_t len = strcspn(s, " ");

        if (len > 0 && json_array_append_new(a, json_stringn(s, len)) != 0) {
            json_decref(a);
            return NULL;
        }
        s += len;
        s += strspn(s, " ");
    }
    return a;
}

static json_t *time_or_null(int64_t t)
{
    char text[TSR_TIME_LEN + 1];

    if (t == 0)
        return json_null();
    tsr_time_format(t, text);
    return json_string(text);
}

/* Tessera's members after the five that both shapes share. */
static int add_details(json_t *o, const struct tsr_token_row *t, int64_t now)
{
    return json_object_set_new(o, "key_hint", json_string(t->key_hint)) |
           json_object_set_new(o, "last_used_at", time_or_null(t->last_used_at)) |
           json_object_set_new(o, "status", json_string(tsr_token_status(t, now))) |
           json_object_set_new(o, "scopes", words_json(t->scopes)) |
           json_object_set_new(o, "allowed_ips", words_json(t->allowed_ips)) |
           json_object_set_new(o, "not_before", time_or_null(t->not_before)) |
           json_object_set_new(o, "last_used_ip",
                               t->last_used_ip[0] ? json_string(t->last_used_ip) : json_null());
}

json_t *tsr__token_item(const struct tsr_req *req, const struct tsr_token_row *t, int64_t now)
{
    char created[TSR_TIME_LEN + 1], expires[TSR_TIME_LEN + 1];
    json_t *o;

    tsr_time_format(t->created, created);
    tsr_time_format(t->expires_at, expires);
    /* Azion's description is null when there is none. */
    o = req->azion
            ? json_pack("{s:s, s:s, s:o, s:s, s:s}", "uuid", t->id, "name", t->name, "description",
                        t->description[0] ? json_string(t->description) : json_null(), "created",
                        created, "expires_at", expires)
            : json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->id, "name", t->name, "description",
                        t->description, "created", created, "expires_at", expires);
    if (o && add_details(o, t, now) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Azion's bare object, or Tessera's envelope; item's reference is taken. */
static json_t *envelope(const struct tsr_req *req, json_t *item)
{
    if (!item || req->azion)
        return item;
    return json_pack("{s:o}", "data", item);
}

enum MHD_Result tsr__reply_token(struct tsr_req *req, unsigned status,
                                 const struct tsr_token_row *t)
{
    return tsr__reply_json(req, status, envelope(req, tsr__token_item(req, t, tsr_time_now())));
}

enum MHD_Result tsr__reply_token_with_key(struct tsr_req *req, unsigned status,
                                          const struct tsr_token_row *t, const char *secret)
{
    json_t *item = tsr__token_item(req, t, tsr_time_now());
    struct tsr_user_row user;
    enum tsr_err rc;

    if (item && req->azion) {
        /* Azion's create answer names its creator by number. */
        rc = tsr_users_me(req->svc, &req->who, &user);
        if (rc != TSR_OK) {
            json_decref(item);
            return tsr__reply_failure(req, rc == TSR_ERR_NOT_FOUND ? TSR_ERR_UNAUTHORIZED : rc);
        }
        json_object_set_new(item, "user_id", json_integer((json_int_t)user.number));
    }
    if (item && json_object_set_new(item, "key", json_string(secret)) != 0) {
        json_decref(item);
        item = NULL;
    }
    return tsr__reply_json(req, status, envelope(req, item));
}

enum MHD_Result tsr__reply_user(struct tsr_req *req, const struct tsr_user_row *user)
{
    char created[TSR_TIME_LEN + 1], number[24];

    if (req->azion) {
        snprintf(number, sizeof(number), "%" PRId64, user->number);
        return tsr__reply_json(
            req, MHD_HTTP_OK,
            json_pack("{s:{s:s, s:s}}", "results", "client_id", number, "email", user->email));
    }
    tsr_time_format(user->created, created);
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:{s:s, s:s, s:s}}", "data", "id", user->id, "email",
                                     user->email, "created", created));
}

int64_t tsr__page_size_max(const struct tsr_req *req)
{
    return req->azion ? AZION_PAGE_SIZE_MAX : TSR_PAGE_SIZE_MAX;
}

/* ---- Azion's links between pages ---- */

/* A link holds the request's path and its search (500 characters of up to
 * four bytes, three characters each once encoded) with room to spare. */
#define LINK_MAX (TSR_PATH_MAX + 8192)

static bool add_text(struct tsr_dynbuf *b, const char *s, size_t len)
{
    return tsr_dynbuf_add(b, s, len) == TSR_OK;
}

/* Appends "&name=" and the len bytes of value, percent-encoded but for
 * RFC 3986's unreserved characters. */
static bool add_param(struct tsr_dynbuf *b, const char *name, const char *value, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    bool ok = add_text(b, "&", 1) && add_text(b, name, strlen(name)) && add_text(b, "=", 1);

    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            ok = add_text(b, (const char *)&value[i], 1);
        else
            ok = add_text(b, escaped, sizeof(escaped));
    }
    return ok;
}

/* The path-relative URL of page of the list that p asked for, keeping its
 * page size, search, ordering and status; NULL when out of memory. */
static json_t *page_link(const struct tsr_req *req, const struct tsr_list_params *p, int64_t page)
{
    struct tsr_dynbuf b;
    char head[TSR_PATH_MAX + 64];
    json_t *link = NULL;
    int n = snprintf(head, sizeof(head), "%s?page=%" PRId64 "&page_size=%" PRId64, req->path, page,
                     p->q.limit);

    tsr_dynbuf_init(&b, LINK_MAX);
    if (n > 0 && (size_t)n < sizeof(head) && add_text(&b, head, (size_t)n) &&
        (p->q.search_len == 0 || add_param(&b, "search", p->q.search, p->q.search_len)) &&
        (p->ordering_len == 0 || add_param(&b, "ordering", p->ordering, p->ordering_len)) &&
        (!p->status_text || add_param(&b, "status", p->status_text, strlen(p->status_text))))
        link = json_stringn(b.p, b.len);
    tsr_dynbuf_release(&b);
    return link;
}

/* The page before p's: the last one when p's is past the end. */
static int64_t previous_page(const struct tsr_list_params *p, int64_t pages)
{
    if (p->page - 1 <= pages)
        return p->page - 1;
    return pages > 0 ? pages : 1;
}

static json_t *azion_page(const struct tsr_req *req, int64_t total, int64_t pages,
                          const struct tsr_list_params *p, json_t *results)
{
    json_t *next = p->page < pages ? page_link(req, p, p->page + 1) : json_null();
    json_t *previous = p->page > 1 ? page_link(req, p, previous_page(p, pages)) : json_null();

    if (!next || !previous) {
        json_decref(next);
        json_decref(previous);
        json_decref(results);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:i, s:{s:o, s:o}, s:o}", "count", (json_int_t)total,
                     "total_pages", (json_int_t)pages, "schema_version", AZION_SCHEMA_VERSION,
                     "links", "next", next, "previous", previous, "results", results);
}

enum MHD_Result tsr__reply_token_page(struct tsr_req *req, int64_t total,
                                      const struct tsr_list_params *p, json_t *results)
{
    int64_t pages = (total + p->q.limit - 1) / p->q.limit;

    if (!req->azion)
        return tsr__reply_page(req, total, p->q.limit, results);
    return tsr__reply_json(req, MHD_HTTP_OK, azion_page(req, total, pages, p, results));
}
