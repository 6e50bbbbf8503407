/* github.h - what GitHub's secret-scanning partner program sends: its key list, its
 * signature header, its reports
 *
 * Pure: no libmicrohttpd, no I/O. The handler (api_leaks.c) and tesserad's
 * start-up call these, and so does the fuzz harness (tests/fuzz/).
 */
#ifndef TSR_HTTP_GITHUB_H
#define TSR_HTTP_GITHUB_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"
#include "core/sigkeys.h"
#include "http/parse.h"

/* The most bytes an ECDSA P-256 signature takes as DER is 72; room for
 * more, so that a longer one is refused by the check, not cut here. */
#define TSR_GITHUB_SIGNATURE_MAX 256

/* Adds every key of the len bytes at json, the document GitHub publishes at
 * https://api.github.com/meta/public_keys/secret_scanning
 * ({"public_keys":[{"key_identifier":"…","key":"-----BEGIN PUBLIC KEY-----…",
 * "is_current":true}, …]}), to keys, current or not: GitHub may sign with
 * any key it still lists. Members GitHub may add later are ignored.
 * TSR_ERR_INVALID, with a sentence for people in err, for anything else:
 * not that shape, no key, a key that tsr_sigkeys_add refuses. */
enum tsr_err tsr__github_keys_parse(const char *json, size_t len, struct tsr_sigkeys *keys,
                                    char *err, size_t err_size) TSR_MUST_CHECK;

/* Decodes the value of a Github-Public-Key-Signature header (NULL: none),
 * standard base64 with padding, into out; *len is its length. False when
 * it is absent, not that, empty, or longer than TSR_GITHUB_SIGNATURE_MAX. */
bool tsr__github_signature(const char *value, unsigned char out[TSR_GITHUB_SIGNATURE_MAX],
                           size_t *len);

/* Parses the len bytes at body as a report: a JSON array of 1 to
 * TSR_LEAK_REPORT_MAX objects, each with the strings "token" and "type"
 * (other members, "url" and "source" among them, are not read), into
 * *report. Returns TSR_OK, or TSR_ERR_INVALID with *why filled in (its
 * field a pointer's path such as "3/token", in why->field_buf, or NULL for
 * the whole body). Either way *root is the parsed document or NULL; the
 * caller json_decref()s it, and report's strings stay valid as long as it. */
enum tsr_err tsr__github_report_parse(const char *body, size_t len, json_t **root,
                                      struct tsr_leak_report *report,
                                      struct tsr_body_problem *why) TSR_MUST_CHECK;

#endif
