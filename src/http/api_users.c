/* api_users.c - the caller's own account, and the health check */
#include "core/timefmt.h"
#include "http/request.h"

enum MHD_Result tsr__api_me(struct tsr_req *req)
{
    struct tsr_user_row user;
    enum tsr_err rc = tsr_users_me(req->svc, &req->who, &user);

    if (rc == TSR_ERR_NOT_FOUND)
        rc = TSR_ERR_UNAUTHORIZED; /* removed a moment ago */
    if (rc != TSR_OK)
        return tsr__reply_failure(req, rc);
    return tsr__reply_user(req, &user);
}

enum MHD_Result tsr__api_health(struct tsr_req *req)
{
    if (tsr_service_ping(req->svc) != TSR_OK)
        return tsr__reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                "the database does not answer", TSR_SOURCE_NONE, NULL);
    return tsr__reply_json(req, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}
