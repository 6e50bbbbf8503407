/* parse.c - the pure parsers of request parts: no libmicrohttpd here
 *
 * What libmicrohttpd hands the handlers (a header's value, a body, one query
 * parameter) is read here, apart from any connection, so that the fuzz
 * harnesses (tests/fuzz/) attack each parser without a server.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/limits.h"
#include "core/validate.h"
#include "http/parse.h"

#define PAGE_SIZE_DEFAULT 20
#define PAGE_MAX          1000000000LL
#define SEARCH_MAX_CHARS  500

/* ---- Authorization ---- */

/* Splits "<scheme> <credential>": the scheme compared case-insensitively,
 * one or more spaces, then a credential with no white space in it. */
static bool split_scheme(const char *value, const char *scheme, const char **cred, size_t *len)
{
    size_t n = strlen(scheme);
    const char *p;

    if (!value || strncasecmp(value, scheme, n) != 0 || (value[n] != ' ' && value[n] != '\t'))
        return false;
    p = value + n;
    while (*p == ' ' || *p == '\t')
        p++;
    *len = strcspn(p, " \t");
    /* White space after the credential is not part of the header's value. */
    if (*len == 0 || p[strspn(p + *len, " \t") + *len] != '\0')
        return false;
    *cred = p;
    return true;
}

bool tsr__parse_bearer(const char *value, const char **secret, size_t *len)
{
    return split_scheme(value, "Token", secret, len) || split_scheme(value, "Bearer", secret, len);
}

bool tsr__parse_basic(const char *value, char *buf, size_t size, const char **email,
                      size_t *email_len, const char **password, size_t *password_len)
{
    const char *b64;
    size_t b64_len, bin_len;
    char *colon;

    if (!split_scheme(value, "Basic", &b64, &b64_len))
        return false;
    if (sodium_base642bin((unsigned char *)buf, size - 1, b64, b64_len, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    buf[bin_len] = '\0';
    colon = memchr(buf, ':', bin_len);
    if (!colon)
        return false;
    *email = buf;
    *email_len = (size_t)(colon - buf);
    *password = colon + 1;
    *password_len = bin_len - *email_len - 1;
    return true;
}

/* ---- Content-Type ---- */

/* The next parameter of a media type from *p (just after a media type or
 * a parameter): its text without the white space around it in *param and
 * *len. False at the end of the value, or of its media range (a comma). */
static bool next_param(const char **p, const char **param, size_t *len)
{
    const char *s = *p + strspn(*p, " \t");
    size_t n;

    if (*s != ';')
        return false;
    s++;
    s += strspn(s, " \t");
    n = strcspn(s, ";,");
    *p = s + n;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *param = s;
    *len = n;
    return true;
}

static bool param_is(const char *param, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(param, want, len) == 0;
}

/* Azion's clients mark their JSON with the version of Azion's API they
 * speak; version 3 is the one Tessera answers. A quoted value is the same
 * value (RFC 9110 5.6.6), as it is for the charset. */
static bool is_azion_version(const char *param, size_t len)
{
    return param_is(param, len, "version=3") || param_is(param, len, "version=\"3\"");
}

/* Whether the media type media, with the parameters that may follow it
 * (a charset that says UTF-8; Azion's version for JSON), starts type. */
static bool media_type_is(const char *type, const char *media, bool versioned)
{
    size_t len = strlen(media), plen;
    const char *p, *param;

    if (!type || strncasecmp(type, media, len) != 0)
        return false;
    p = type + len;
    while (next_param(&p, &param, &plen)) {
        if (!param_is(param, plen, "charset=utf-8") &&
            !param_is(param, plen, "charset=\"utf-8\"") &&
            !(versioned && is_azion_version(param, plen)))
            return false;
    }
    return p[strspn(p, " \t")] == '\0';
}

bool tsr__is_media_type(const char *type, const char *media)
{
    return media_type_is(type, media, false);
}

bool tsr__is_json(const char *type)
{
    return media_type_is(type, "application/json", true);
}

bool tsr__asks_azion(const char *value)
{
    const char *p = value, *param;
    size_t len;

    while (p && *p) {
        p += strcspn(p, ";,");
        while (next_param(&p, &param, &len)) {
            if (is_azion_version(param, len))
                return true;
        }
        if (*p == ',')
            p++;
    }
    return false;
}

/* ---- the body of a token's create or update ---- */

/* Parses the document of a body that must be a JSON object into *root;
 * false with *why filled when it is not. */
static bool load_object(const char *body, size_t len, json_t **root, struct tsr_body_problem *why)
{
    json_error_t error;

    why->code = NULL;
    why->field = NULL;
    why->detail[0] = '\0';
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    if (!*root) {
        why->code = "invalid_json";
        snprintf(why->detail, sizeof(why->detail),
                 "the body is not valid JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return false;
    }
    if (!json_is_object(*root)) {
        why->code = "invalid_json";
        snprintf(why->detail, sizeof(why->detail), "the body must be a JSON object");
        return false;
    }
    return true;
}

/* Takes one member of the body: it must be a string. */
static bool take_field(const char *key, json_t *value, struct tsr_field *f,
                       struct tsr_body_problem *why)
{
    if (!json_is_string(value)) {
        why->code = "invalid_field";
        why->field = key;
        snprintf(why->detail, sizeof(why->detail), "%s must be a string%s", key,
                 strcmp(key, "description") == 0 ? " or null" : "");
        return false;
    }
    f->has = true;
    f->s = json_string_value(value);
    f->len = json_string_length(value);
    return true;
}

/* Takes a member that must be an array of strings: how many it has, and
 * the first TSR_LIST_INPUT_MAX of them (the service refuses more by count). */
static bool take_list(const char *key, json_t *value, struct tsr_list_field *list,
                      struct tsr_body_problem *why)
{
    size_t i;
    json_t *item;

    why->code = "invalid_field";
    if (!json_is_array(value)) {
        why->field = key;
        snprintf(why->detail, sizeof(why->detail), "%s must be an array of strings", key);
        return false;
    }
    list->has = true;
    list->n = json_array_size(value);
    json_array_foreach(value, i, item)
    {
        if (!json_is_string(item)) {
            snprintf(why->field_buf, sizeof(why->field_buf), "%s/%zu", key, i);
            why->field = why->field_buf;
            snprintf(why->detail, sizeof(why->detail), "%s/%zu must be a string", key, i);
            return false;
        }
        if (i < TSR_LIST_INPUT_MAX) {
            list->items[i].has = true;
            list->items[i].s = json_string_value(item);
            list->items[i].len = json_string_length(item);
        }
    }
    why->code = NULL;
    return true;
}

/* A member name fit to quote in a sentence: at most 64 bytes, cut at a
 * character boundary (jansson has checked it is UTF-8). */
static void quote_key(const char *key, char *out, size_t size)
{
    size_t n = strlen(key);

    if (n >= size)
        n = size - 1;
    while (n > 0 && n < strlen(key) && ((unsigned char)key[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, key, n);
    out[n] = '\0';
}

static void unknown_field(const char *key, struct tsr_body_problem *why)
{
    char quoted[65];

    quote_key(key, quoted, sizeof(quoted));
    why->code = "unknown_field";
    why->field = key;
    snprintf(why->detail, sizeof(why->detail), "unknown field '%s'", quoted);
}

enum tsr_err tsr__parse_token_body(const char *body, size_t len, json_t **root,
                                   struct tsr_token_input *in, struct tsr_body_problem *why)
{
    const char *key;
    json_t *value;

    memset(in, 0, sizeof(*in));
    if (!load_object(body, len, root, why))
        return TSR_ERR_INVALID;
    json_object_foreach(*root, key, value)
    {
        struct tsr_list_field *list = strcmp(key, "scopes") == 0        ? &in->scopes
                                      : strcmp(key, "allowed_ips") == 0 ? &in->allowed_ips
                                                                        : NULL;
        struct tsr_field *f = strcmp(key, "name") == 0          ? &in->name
                              : strcmp(key, "description") == 0 ? &in->description
                              : strcmp(key, "expires_at") == 0  ? &in->expires_at
                              : strcmp(key, "not_before") == 0  ? &in->not_before
                                                                : NULL;

        if (list) {
            if (!take_list(key, value, list, why))
                return TSR_ERR_INVALID;
            continue;
        }
        if (!f) {
            unknown_field(key, why);
            return TSR_ERR_INVALID;
        }
        if (f == &in->not_before && json_is_null(value)) {
            f->has = f->null = true;
            continue;
        }
        /* Azion's clients send a description left blank as null. */
        if (f == &in->description && json_is_null(value)) {
            f->has = true;
            f->s = "";
            continue;
        }
        if (!take_field(key, value, f, why))
            return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* grace_period: a whole number; its range is the service's rule. A number
 * past int64 is kept as out of range, never wrapped. */
static bool take_grace(json_t *value, struct tsr_rotate_input *in, struct tsr_body_problem *why)
{
    if (!json_is_integer(value)) {
        why->code = "invalid_field";
        why->field = "grace_period";
        snprintf(why->detail, sizeof(why->detail),
                 "grace_period must be a whole number of seconds");
        return false;
    }
    in->has_grace = true;
    in->grace_period = json_integer_value(value);
    return true;
}

enum tsr_err tsr__parse_rotate_body(const char *body, size_t len, json_t **root,
                                    struct tsr_rotate_input *in, struct tsr_body_problem *why)
{
    const char *key;
    json_t *value;

    memset(in, 0, sizeof(*in));
    *root = NULL;
    why->code = NULL;
    why->field = NULL;
    why->detail[0] = '\0';
    if (len == 0)
        return TSR_OK;
    if (!load_object(body, len, root, why))
        return TSR_ERR_INVALID;
    json_object_foreach(*root, key, value)
    {
        bool ok;

        if (strcmp(key, "expires_at") == 0)
            ok = take_field(key, value, &in->expires_at, why);
        else if (strcmp(key, "grace_period") == 0)
            ok = take_grace(value, in, why);
        else {
            unknown_field(key, why);
            ok = false;
        }
        if (!ok)
            return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* ---- the body of a leak report ---- */

static void body_problem_init(struct tsr_body_problem *why)
{
    why->code = NULL;
    why->field = NULL;
    why->field_buf[0] = '\0';
    why->detail[0] = '\0';
}

/* Takes the credentials member: an array of 1 to TSR_LEAK_REPORT_MAX strings. */
static bool take_credentials(json_t *value, struct tsr_leak_report *report,
                             struct tsr_body_problem *why)
{
    size_t i;
    json_t *item;

    why->code = "invalid_field";
    why->field = "credentials";
    if (!json_is_array(value) || json_array_size(value) < 1 ||
        json_array_size(value) > TSR_LEAK_REPORT_MAX) {
        snprintf(why->detail, sizeof(why->detail),
                 "credentials must be an array of 1 to %d strings", TSR_LEAK_REPORT_MAX);
        return false;
    }
    json_array_foreach(value, i, item)
    {
        if (!json_is_string(item)) {
            snprintf(why->field_buf, sizeof(why->field_buf), "credentials/%zu", i);
            why->field = why->field_buf;
            snprintf(why->detail, sizeof(why->detail), "credentials/%zu must be a string", i);
            return false;
        }
        report->secrets[i] = json_string_value(item);
        report->lens[i] = json_string_length(item);
    }
    report->n = json_array_size(value);
    body_problem_init(why);
    return true;
}

enum tsr_err tsr__parse_revoke_body(const char *body, size_t len, json_t **root,
                                    struct tsr_leak_report *report, struct tsr_body_problem *why)
{
    const char *key;
    json_t *value;

    report->n = 0;
    body_problem_init(why);
    if (!load_object(body, len, root, why))
        return TSR_ERR_INVALID;
    json_object_foreach(*root, key, value)
    {
        if (strcmp(key, "credentials") != 0) {
            report->n = 0;
            unknown_field(key, why);
            return TSR_ERR_INVALID;
        }
        if (!take_credentials(value, report, why))
            return TSR_ERR_INVALID;
    }
    if (report->n == 0) {
        why->code = "missing_field";
        why->field = "credentials";
        snprintf(why->detail, sizeof(why->detail),
                 "credentials is required: the secrets found, 1 to %d strings",
                 TSR_LEAK_REPORT_MAX);
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

/* ---- the token list's query ---- */

static bool parse_count(const char *value, size_t len, int64_t min, int64_t max, int64_t *out)
{
    int64_t n = 0;

    if (len == 0 || len > 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return false;
        n = n * 10 + (value[i] - '0');
    }
    if (n < min || n > max)
        return false;
    *out = n;
    return true;
}

static bool parse_ordering(const char *value, size_t len, struct tsr_token_query *q)
{
    static const struct {
        const char *name;
        enum tsr_token_order order;
    } orders[] = {{"name", TSR_ORDER_NAME},
                  {"created", TSR_ORDER_CREATED},
                  {"expires_at", TSR_ORDER_EXPIRES_AT},
                  {"last_used_at", TSR_ORDER_LAST_USED_AT}};

    q->descending = len > 0 && value[0] == '-';
    if (q->descending) {
        value++;
        len--;
    }
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        if (strlen(orders[i].name) == len && memcmp(orders[i].name, value, len) == 0) {
            q->order = orders[i].order;
            return true;
        }
    }
    return false;
}

static bool search_ok(const char *value, size_t len)
{
    size_t chars;

    return tsr_utf8_count(value, len, &chars) && chars <= SEARCH_MAX_CHARS &&
           !tsr_has_control(value, len, true);
}

static enum tsr_err bad_parameter(struct tsr_param_problem *why, const char *name,
                                  const char *detail)
{
    why->name = name;
    snprintf(why->detail, sizeof(why->detail), "%s", detail);
    return TSR_ERR_INVALID;
}

static enum tsr_err take_status(struct tsr_list_params *lp, const char *value, size_t len,
                                struct tsr_param_problem *why)
{
    static const char *const names[] = {"active", "expiring", "expired"};
    static const enum tsr_list_status statuses[] = {TSR_LIST_ACTIVE, TSR_LIST_EXPIRING,
                                                    TSR_LIST_EXPIRED};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == len && memcmp(names[i], value, len) == 0) {
            lp->status = statuses[i];
            lp->status_text = names[i];
            return TSR_OK;
        }
    }
    return bad_parameter(why, "status", "status must be one of active, expiring and expired");
}

static enum tsr_err take_value(struct tsr_list_params *lp, size_t which, const char *value,
                               size_t len, struct tsr_param_problem *why)
{
    struct tsr_token_query *q = &lp->q;

    switch (which) {
    case 0:
        if (!parse_count(value, len, 1, PAGE_MAX, &lp->page))
            return bad_parameter(why, "page", "page must be a whole number from 1");
        break;
    case 1:
        if (!parse_count(value, len, 1, lp->page_size_max, &q->limit)) {
            char detail[64];

            snprintf(detail, sizeof(detail), "page_size must be a whole number from 1 to %" PRId64,
                     lp->page_size_max);
            return bad_parameter(why, "page_size", detail);
        }
        break;
    case 2:
        if (!search_ok(value, len))
            return bad_parameter(why, "search",
                                 "search must be valid UTF-8 text of at most 500 characters with "
                                 "no control characters");
        q->search = value;
        q->search_len = len;
        break;
    case 4:
        return take_status(lp, value, len, why);
    default:
        if (!parse_ordering(value, len, q))
            return bad_parameter(why, "ordering",
                                 "ordering must be one of name, created, expires_at and "
                                 "last_used_at, each optionally prefixed by '-'");
        lp->ordering = value;
        lp->ordering_len = len;
        break;
    }
    return TSR_OK;
}

void tsr__list_params_init(struct tsr_list_params *lp)
{
    memset(lp, 0, sizeof(*lp));
    lp->page = 1;
    lp->q.order = TSR_ORDER_CREATED;
    lp->q.descending = true;
    lp->q.limit = PAGE_SIZE_DEFAULT;
    lp->page_size_max = TSR_PAGE_SIZE_MAX;
}

/* Names are matched with their lengths, so that a name with a NUL in it is
 * never taken for a known one. */
enum tsr_err tsr__parse_list_param(struct tsr_list_params *lp, const char *key, size_t key_size,
                                   const char *value, size_t value_size,
                                   struct tsr_param_problem *why)
{
    static const char *const names[] = {"page", "page_size", "search", "ordering", "status"};
    size_t known = lp->paging_only ? 2 : sizeof(names) / sizeof(names[0]);
    size_t i;

    why->unknown = false;
    why->name = NULL;
    why->detail[0] = '\0';
    for (i = 0; i < known; i++) {
        if (strlen(names[i]) == key_size && memcmp(names[i], key, key_size) == 0)
            break;
    }
    if (i == known) {
        why->unknown = true;
        return TSR_ERR_INVALID;
    }
    if (lp->seen & (1u << i)) {
        why->name = names[i];
        snprintf(why->detail, sizeof(why->detail), "%s must be given at most once", names[i]);
        return TSR_ERR_INVALID;
    }
    lp->seen |= 1u << i;
    return take_value(lp, i, value ? value : "", value ? value_size : 0, why);
}

/* ---- verify's scopes ---- */

enum tsr_err tsr__parse_scope_param(struct tsr_scope_query *q, const char *key, size_t key_size,
                                    const char *value, size_t value_size,
                                    struct tsr_param_problem *why)
{
    why->unknown = false;
    why->name = "scope";
    why->detail[0] = '\0';
    if (key_size != 5 || memcmp(key, "scope", 5) != 0) {
        why->unknown = true;
        why->name = NULL;
        return TSR_ERR_INVALID;
    }
    if (q->n == TSR_VERIFY_SCOPES_MAX) {
        snprintf(why->detail, sizeof(why->detail), "scope may be given at most %d times",
                 TSR_VERIFY_SCOPES_MAX);
        return TSR_ERR_INVALID;
    }
    if (!value || !tsr_scope_name_valid(value, value_size)) {
        snprintf(why->detail, sizeof(why->detail),
                 "scope must be a scope name: 1 to %d of a-z 0-9 _ . : -, starting with a letter "
                 "or a digit",
                 TSR_SCOPE_NAME_MAX);
        return TSR_ERR_INVALID;
    }
    q->names[q->n] = value;
    q->lens[q->n++] = value_size;
    return TSR_OK;
}

/* ---- framing, and the headers of the consoles' pages ---- */

bool tsr__is_chunked(const char *v, size_t size)
{
    while (size > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        size--;
    }
    while (size > 0 && (v[size - 1] == ' ' || v[size - 1] == '\t'))
        size--;
    return size == 7 && strncasecmp(v, "chunked", 7) == 0;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Whether the q parameter among the element's parameters [p, end) is zero. */
static bool q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;

        p = skip_space(p);
        if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p >= stop || *p != '0')
                return false;
            for (p++; p < stop && *p != ' ' && *p != '\t'; p++) {
                if (*p != '.' && *p != '0')
                    return false;
            }
            return true;
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

/* Accept-Encoding (RFC 9110 12.5.3): gzip unless it, or the "*" that stands
 * for it, has q=0. */
bool tsr__accepts_gzip(const char *value)
{
    bool named = false, gzip = false, star = false;
    const char *p = value;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *name = skip_space(p);
        size_t len = strcspn(name, ";, \t");
        const char *params = name + len < end ? name + len : end;

        if ((len == 4 && strncasecmp(name, "gzip", 4) == 0) ||
            (len == 6 && strncasecmp(name, "x-gzip", 6) == 0)) {
            named = true;
            gzip = !q_is_zero(params, end);
        } else if (len == 1 && name[0] == '*') {
            star = !q_is_zero(params, end);
        }
        p = comma ? comma + 1 : NULL;
    }
    return named ? gzip : star;
}

/* If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags compared
 * weakly, so W/"x" names "x" too. */
bool tsr__none_match(const char *value, const char *etag)
{
    size_t etag_len = strlen(etag);
    const char *p = value;

    while (p && *p) {
        const char *tag = skip_space(p);
        const char *comma = strchr(tag, ',');
        size_t len = comma ? (size_t)(comma - tag) : strlen(tag);

        while (len > 0 && (tag[len - 1] == ' ' || tag[len - 1] == '\t'))
            len--;
        if (len == 1 && tag[0] == '*')
            return true;
        if (len >= 2 && tag[0] == 'W' && tag[1] == '/') {
            tag += 2;
            len -= 2;
        }
        if (len == etag_len && memcmp(tag, etag, len) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}
