/* api_activity.c - /v4/iam/activity: the audit log, read by its owner */
#include <stdio.h>
#include <string.h>

#include "core/timefmt.h"
#include "http/parse.h"
#include "http/request.h"

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

/* Pages like the token list, and by the same parser, without its search
 * and ordering. */
enum MHD_Result tsr__api_activity_list(struct tsr_req *req)
{
    struct tsr_list_params p;
    json_t *results = json_array();
    int64_t total = 0;
    enum MHD_Result ret;
    enum tsr_err rc;

    tsr__list_params_init(&p);
    p.paging_only = true;
    if (!tsr__read_list_params(req, &p, &ret) || !results) {
        json_decref(results);
        return results ? ret : tsr__reply_failure(req, TSR_ERR_NOMEM);
    }
    rc = tsr_activity_list(req->svc, &req->who, (p.page - 1) * p.q.limit, p.q.limit, add_entry,
                           results, &total);
    if (rc != TSR_OK) {
        json_decref(results);
        return tsr__reply_failure(req, rc);
    }
    return tsr__reply_page(req, total, p.q.limit, results);
}
