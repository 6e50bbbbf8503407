/* api_leaks.c - leaked secrets: POST /v4/auth/revoke, and GitHub's secret-scanning reports */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/secret.h"
#include "http/github.h"
#include "http/parse.h"
#include "http/request.h"
#include "service/log.h"

#define GITHUB_KEY_ID_HEADER    "Github-Public-Key-Identifier"
#define GITHUB_SIGNATURE_HEADER "Github-Public-Key-Signature"

bool tsr__leaks_admit(struct tsr_req *req, enum MHD_Result *answered)
{
    int64_t wait = tsr_leaks_take(req->svc, req->remote);
    char seconds[24];

    if (wait == 0)
        return true;
    snprintf(seconds, sizeof(seconds), "%lld", (long long)(wait > 0 ? wait : 1));
    tsr__req_header(req, "Retry-After", seconds);
    *answered = tsr__reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                                 "too many reports of leaked secrets from this address; try "
                                 "again later",
                                 TSR_SOURCE_NONE, NULL);
    return false;
}

static enum MHD_Result bad_body(struct tsr_req *req, const struct tsr_body_problem *why)
{
    enum tsr_source source = why->field == why->field_buf ? TSR_SOURCE_PATH : TSR_SOURCE_POINTER;

    return tsr__reply_error(req, MHD_HTTP_BAD_REQUEST, why->code, why->detail,
                            why->field ? source : TSR_SOURCE_NONE, why->field);
}

static const char *body_of(const struct tsr_req *req)
{
    return req->body.p ? req->body.p : "";
}

/* The answer never says whether any entry was a live secret: only how many
 * entries came, whatever they were. */
enum MHD_Result tsr__api_leaks_revoke(struct tsr_req *req)
{
    struct tsr_leak_report *report = malloc(sizeof(*report));
    struct tsr_body_problem why;
    json_t *root = NULL;
    enum MHD_Result ret;
    enum tsr_err rc;

    if (!report)
        return tsr__reply_failure(req, TSR_ERR_NOMEM);
    if (tsr__parse_revoke_body(body_of(req), req->body.len, &root, report, &why) != TSR_OK) {
        ret = bad_body(req, &why);
    } else {
        rc =
            tsr_leaks_revoke(req->svc, report->secrets, report->lens, report->n, req->remote, NULL);
        ret = rc != TSR_OK ? tsr__reply_failure(req, rc)
                           : tsr__reply_json(req, MHD_HTTP_ACCEPTED,
                                             json_pack("{s:I}", "count", (json_int_t)report->n));
    }
    json_decref(root);
    free(report);
    return ret;
}

/* ---- GitHub's secret scanning ---- */

/* Whether the body is signed by the GitHub key its headers name. A refusal
 * is logged: a key the operator's file lacks most likely means that GitHub
 * has rotated its keys and the file wants refreshing. */
static bool signed_by_github(const struct tsr_req *req)
{
    const char *id = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, GITHUB_KEY_ID_HEADER);
    const char *value =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, GITHUB_SIGNATURE_HEADER);
    unsigned char sig[TSR_GITHUB_SIGNATURE_MAX];
    size_t sig_len = 0;
    enum tsr_sig_check verdict;

    if (!id || !tsr__github_signature(value, sig, &sig_len)) {
        tsr_log(TSR_LOG_INFO,
                "GitHub secret-scanning report refused from %s: no key id or no "
                "well-formed signature",
                req->remote[0] ? req->remote : "-");
        return false;
    }
    verdict = tsr_sigkeys_verify(req->github_keys, id, strlen(id), body_of(req), req->body.len, sig,
                                 sig_len);
    if (verdict == TSR_SIG_NO_KEY)
        tsr_log(TSR_LOG_WARN,
                "GitHub secret-scanning report refused from %s: its key is not in "
                "--github-keys-file (refresh the file if GitHub has rotated its keys)",
                req->remote[0] ? req->remote : "-");
    else if (verdict == TSR_SIG_BAD)
        tsr_log(TSR_LOG_INFO, "GitHub secret-scanning report refused from %s: bad signature",
                req->remote[0] ? req->remote : "-");
    return verdict == TSR_SIG_GOOD;
}

static enum MHD_Result refuse_unsigned(struct tsr_req *req)
{
    tsr__req_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                    "Github-Public-Key-Signature realm=\"tessera\"");
    return tsr__reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                            "the body must be signed by a GitHub secret-scanning key, named in "
                            "Github-Public-Key-Identifier, with the signature in "
                            "Github-Public-Key-Signature",
                            TSR_SOURCE_NONE, NULL);
}

/* GitHub's feedback on each match: whether it was a live secret of ours.
 * The match is named by the SHA-256 of what GitHub sent, in hex, the form
 * GitHub takes as token_hash: its token_raw would put a secret in a second
 * response, which no answer of Tessera's ever does. */
static json_t *feedback_item(const struct tsr_leak_report *report, size_t i, bool found)
{
    uint8_t hash[TSR_HASH_LEN];
    char hex[TSR_HASH_LEN * 2 + 1];

    tsr_secret_hash(report->secrets[i], report->lens[i], hash);
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    return json_pack("{s:s, s:s%, s:s}", "token_hash", hex, "token_type", report->types[i],
                     report->type_lens[i], "label", found ? "true_positive" : "false_positive");
}

static json_t *feedback_of(const struct tsr_leak_report *report, const bool *found)
{
    json_t *out = json_array();

    for (size_t i = 0; out && i < report->n; i++) {
        if (json_array_append_new(out, feedback_item(report, i, found[i])) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* Revokes what the report holds of ours and answers with the feedback. */
static enum MHD_Result revoke_reported(struct tsr_req *req, const struct tsr_leak_report *report)
{
    bool *found = calloc(report->n, sizeof(*found));
    enum tsr_err rc;
    enum MHD_Result ret;

    if (!found)
        return tsr__reply_failure(req, TSR_ERR_NOMEM);
    rc = tsr_leaks_revoke(req->svc, report->secrets, report->lens, report->n, req->remote, found);
    ret = rc != TSR_OK ? tsr__reply_failure(req, rc)
                       : tsr__reply_json(req, MHD_HTTP_OK, feedback_of(report, found));
    free(found);
    return ret;
}

/* The order of the contract, with the signature for authentication: a
 * server without GitHub's keys has no such endpoint (404), then the
 * signature (401), the content type (415), the query and the body (400). */
enum MHD_Result tsr__api_github_secret_scanning(struct tsr_req *req)
{
    struct tsr_leak_report *report;
    struct tsr_body_problem why;
    json_t *root = NULL;
    enum MHD_Result ret;

    if (!req->github_keys)
        return tsr__reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint",
                                TSR_SOURCE_NONE, NULL);
    if (!signed_by_github(req))
        return refuse_unsigned(req);
    if (!tsr__is_json(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type")))
        return tsr__reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                "the body must be JSON, sent as Content-Type: application/json",
                                TSR_SOURCE_NONE, NULL);
    if (!tsr__query_empty(req, &ret))
        return ret;
    report = malloc(sizeof(*report));
    if (!report)
        return tsr__reply_failure(req, TSR_ERR_NOMEM);
    if (tsr__github_report_parse(body_of(req), req->body.len, &root, report, &why) != TSR_OK)
        ret = bad_body(req, &why);
    else
        ret = revoke_reported(req, report);
    json_decref(root);
    free(report);
    return ret;
}
