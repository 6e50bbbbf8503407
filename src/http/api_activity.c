/* api_activity.c - /v4/iam/activity: the audit log, read by its owner */
#include <stdio.h>
#include <string.h>

#include "core/timefmt.h"
#include "http/request.h"

/* The same page rules as the token list (api_tokens.c), so that both lists
 * page alike. */
#define PAGE_SIZE_DEFAULT 20
#define PAGE_SIZE_MAX     100
#define PAGE_MAX          1000000000LL

struct activity_params {
    struct tsr_req *req;
    int64_t page;
    int64_t page_size;
    unsigned seen; /* one bit per known parameter, to refuse repeats */
    bool failed;   /* an error has been queued */
    enum MHD_Result ret;
};

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

static enum MHD_Result bad_parameter(struct activity_params *ap, const char *name,
                                     const char *detail)
{
    ap->failed = true;
    ap->ret = tsr__reply_error(ap->req, MHD_HTTP_BAD_REQUEST, "invalid_parameter", detail,
                               TSR_SOURCE_PARAMETER, name);
    return MHD_NO; /* stops the iteration */
}

/* Checks one parameter; names are matched with their lengths, so that a name
 * with a NUL in it is never taken for a known one. */
static enum MHD_Result take_parameter(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    static const char *const names[] = {"page", "page_size"};
    struct activity_params *ap = cls;
    char detail[96];
    size_t i;
    size_t len = value ? value_size : 0;

    (void)kind;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == key_size && memcmp(names[i], key, key_size) == 0)
            break;
    }
    if (i == sizeof(names) / sizeof(names[0])) {
        ap->failed = true;
        ap->ret = tsr__reply_unknown_parameter(ap->req, key, key_size);
        return MHD_NO;
    }
    if (ap->seen & (1u << i)) {
        snprintf(detail, sizeof(detail), "%s must be given at most once", names[i]);
        return bad_parameter(ap, names[i], detail);
    }
    ap->seen |= 1u << i;
    if (i == 0 && !parse_count(value ? value : "", len, 1, PAGE_MAX, &ap->page))
        return bad_parameter(ap, "page", "page must be a whole number from 1");
    if (i == 1 && !parse_count(value ? value : "", len, 1, PAGE_SIZE_MAX, &ap->page_size))
        return bad_parameter(ap, "page_size", "page_size must be a whole number from 1 to 100");
    return MHD_YES;
}

/* A string member, or null when s is empty: the store's "not set", and the
 * name of a session (sessions have none) or of a token gone from the database. */
static json_t *string_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static enum tsr_err add_entry(const struct tsr_audit_entry *e, void *ctx)
{
    json_t *results = ctx;
    char at[TSR_TIME_LEN + 1];
    json_t *item;

    tsr_time_format(e->row.at, at);
    item = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I}", "action", e->row.action, "outcome",
                     e->row.outcome, "at", at, "token_id", string_or_null(e->row.token_id),
                     "token_name", string_or_null(e->has_token_name ? e->token_name : ""),
                     "remote_addr", string_or_null(e->row.remote_addr), "count",
                     (json_int_t)e->row.count);
    if (json_array_append_new(results, item) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

enum MHD_Result tsr__api_activity_list(struct tsr_req *req)
{
    struct activity_params ap = {.req = req, .page = 1, .page_size = PAGE_SIZE_DEFAULT};
    json_t *results = json_array();
    int64_t total = 0;
    enum tsr_err rc;

    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, take_parameter, &ap);
    if (ap.failed || !results) {
        json_decref(results);
        return ap.failed ? ap.ret : tsr__reply_failure(req, TSR_ERR_NOMEM);
    }
    rc = tsr_activity_list(req->svc, &req->who, (ap.page - 1) * ap.page_size, ap.page_size,
                           add_entry, results, &total);
    if (rc != TSR_OK) {
        json_decref(results);
        return tsr__reply_failure(req, rc);
    }
    return tsr__reply_json(req, MHD_HTTP_OK,
                           json_pack("{s:I, s:I, s:o}", "count", (json_int_t)total, "total_pages",
                                     (json_int_t)((total + ap.page_size - 1) / ap.page_size),
                                     "results", results));
}
