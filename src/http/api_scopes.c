/* api_scopes.c - /v4/iam/scopes: the scopes a token can be given, for the forms that offer them */
#include "http/parse.h"
#include "http/request.h"

static enum tsr_err add_scope(const struct tsr_scope_row *s, bool builtin, void *ctx)
{
    json_t *item = json_pack("{s:s, s:s, s:s}", "name", s->name, "description", s->description,
                             "kind", builtin ? "builtin" : "operator");

    if (json_array_append_new(ctx, item) != 0)
        return TSR_ERR_NOMEM;
    return TSR_OK;
}

/* Any credential may read the list, whatever its scopes: a client needs it
 * to say what it may ask for. Pages like the activity log, by the same
 * parser. */
enum MHD_Result tsr__api_scopes_list(struct tsr_req *req)
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
    rc = tsr_scopes_list(req->svc, (p.page - 1) * p.q.limit, p.q.limit, add_scope, results, &total);
    if (rc != TSR_OK) {
        json_decref(results);
        return tsr__reply_failure(req, rc);
    }
    return tsr__reply_page(req, total, p.q.limit, results);
}
