/* fuzz_leak_report.c - the bodies of leak reports (POST /v4/auth/revoke's and GitHub's),
 * GitHub's signature header and GitHub's key list
 *
 * The first byte chooses the parser, the rest is its input. What each
 * accepts must be exactly what its contract describes, pointing into the
 * document it parsed; what each refuses must say why, with a field that
 * names the part at fault.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/sigkeys.h"
#include "http/github.h"
#include "http/parse.h"
#include "fuzz.h"

static bool is_code(const char *code, const char *const *codes, size_t n)
{
    for (size_t i = 0; code && i < n; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* An array of 1 to TSR_LEAK_REPORT_MAX items. */
static bool size_ok(const json_t *array)
{
    return json_array_size(array) >= 1 && json_array_size(array) <= TSR_LEAK_REPORT_MAX;
}

/* The number N of a path "N" or "N/rest" (rest, if any, in *rest). */
static size_t index_of(const char *path, const char **rest)
{
    char *end;
    size_t n;

    FUZZ_CHECK(path[0] >= '0' && path[0] <= '9');
    n = strtoul(path, &end, 10);
    FUZZ_CHECK(*end == '\0' || *end == '/');
    *rest = *end == '/' ? end + 1 : NULL;
    return n;
}

/* ---- POST /v4/auth/revoke ---- */

static void check_revoke_refusal(const json_t *root, const struct tsr_body_problem *why)
{
    static const char *const codes[] = {"invalid_json", "invalid_field", "missing_field",
                                        "unknown_field"};
    const json_t *list = json_object_get(root, "credentials"), *item;
    size_t i;

    FUZZ_CHECK(is_code(why->code, codes, 4) && why->detail[0] != '\0');
    if (strcmp(why->code, "invalid_json") == 0) {
        FUZZ_CHECK(!json_is_object(root) && why->field == NULL);
        return;
    }
    FUZZ_CHECK(json_is_object(root) && why->field != NULL);
    if (strcmp(why->code, "unknown_field") == 0) {
        FUZZ_CHECK(strcmp(why->field, "credentials") != 0 &&
                   json_object_get(root, why->field) != NULL);
        return;
    }
    if (strcmp(why->code, "missing_field") == 0) {
        FUZZ_CHECK(list == NULL && json_object_size(root) == 0);
        return;
    }
    FUZZ_CHECK(list != NULL);
    if (why->field != why->field_buf) {
        FUZZ_CHECK(strcmp(why->field, "credentials") == 0);
        FUZZ_CHECK(!json_is_array(list) || !size_ok(list));
        return;
    }
    /* "credentials/N": the first item that is no string. */
    FUZZ_CHECK(strncmp(why->field, "credentials/", 12) == 0 && json_is_array(list) &&
               size_ok(list));
    const char *rest;
    size_t n = index_of(why->field + 12, &rest);

    FUZZ_CHECK(rest == NULL && n < json_array_size(list));
    json_array_foreach(list, i, item)
    {
        if (i == n)
            FUZZ_CHECK(!json_is_string(item));
        else if (i < n)
            FUZZ_CHECK(json_is_string(item));
    }
}

static void revoke_body(const char *data, size_t size)
{
    static struct tsr_leak_report report;
    struct tsr_body_problem why;
    json_t *root = NULL, *list, *item;
    size_t i;

    if (tsr__parse_revoke_body(data, size, &root, &report, &why) != TSR_OK) {
        FUZZ_CHECK(report.n == 0);
        check_revoke_refusal(root, &why);
        json_decref(root);
        return;
    }
    FUZZ_CHECK(json_is_object(root) && json_object_size(root) == 1);
    list = json_object_get(root, "credentials");
    FUZZ_CHECK(json_is_array(list) && size_ok(list) && report.n == json_array_size(list));
    json_array_foreach(list, i, item)
    {
        FUZZ_CHECK(json_is_string(item));
        FUZZ_CHECK(report.secrets[i] == json_string_value(item));
        FUZZ_CHECK(report.lens[i] == json_string_length(item));
    }
    json_decref(root);
}

/* ---- GitHub's report ---- */

static void check_github_refusal(const json_t *root, const struct tsr_body_problem *why)
{
    static const char *const codes[] = {"invalid_json", "invalid_field", "missing_field"};
    const char *rest;
    const json_t *entry, *v;
    size_t n;

    FUZZ_CHECK(is_code(why->code, codes, 3) && why->detail[0] != '\0');
    if (strcmp(why->code, "invalid_json") == 0) {
        FUZZ_CHECK(!json_is_array(root) && why->field == NULL);
        return;
    }
    FUZZ_CHECK(json_is_array(root));
    if (why->field == NULL) {
        FUZZ_CHECK(strcmp(why->code, "invalid_field") == 0 && !size_ok(root));
        return;
    }
    FUZZ_CHECK(why->field == why->field_buf && size_ok(root));
    n = index_of(why->field, &rest);
    FUZZ_CHECK(n < json_array_size(root));
    /* Every entry before the one at fault is a good match. */
    for (size_t i = 0; i < n; i++) {
        entry = json_array_get(root, i);
        FUZZ_CHECK(json_is_object(entry) && json_is_string(json_object_get(entry, "token")) &&
                   json_is_string(json_object_get(entry, "type")));
    }
    entry = json_array_get(root, n);
    if (!rest) {
        FUZZ_CHECK(strcmp(why->code, "invalid_field") == 0 && !json_is_object(entry));
        return;
    }
    FUZZ_CHECK(json_is_object(entry));
    FUZZ_CHECK(strcmp(rest, "token") == 0 ||
               (strcmp(rest, "type") == 0 && json_is_string(json_object_get(entry, "token"))));
    v = json_object_get(entry, rest);
    FUZZ_CHECK(strcmp(why->code, v ? "invalid_field" : "missing_field") == 0);
    FUZZ_CHECK(!json_is_string(v));
}

static void github_report(const char *data, size_t size)
{
    static struct tsr_leak_report report;
    struct tsr_body_problem why;
    json_t *root = NULL, *entry;
    size_t i;

    if (tsr__github_report_parse(data, size, &root, &report, &why) != TSR_OK) {
        FUZZ_CHECK(report.n == 0);
        check_github_refusal(root, &why);
        json_decref(root);
        return;
    }
    FUZZ_CHECK(json_is_array(root) && size_ok(root) && report.n == json_array_size(root));
    json_array_foreach(root, i, entry)
    {
        json_t *token = json_object_get(entry, "token"), *type = json_object_get(entry, "type");

        FUZZ_CHECK(json_is_string(token) && json_is_string(type));
        FUZZ_CHECK(report.secrets[i] == json_string_value(token) &&
                   report.lens[i] == json_string_length(token));
        FUZZ_CHECK(report.types[i] == json_string_value(type) &&
                   report.type_lens[i] == json_string_length(type));
    }
    json_decref(root);
}

/* ---- the signature header ---- */

/* A header that decodes is the one base64 text of its bytes; and any bytes
 * that fit, encoded, decode back to themselves. */
static void signature(const char *data, size_t size)
{
    unsigned char out[TSR_GITHUB_SIGNATURE_MAX];
    char *value = malloc(size + 1), *again;
    size_t len = 0, b64 = sodium_base64_encoded_len(TSR_GITHUB_SIGNATURE_MAX,
                                                    sodium_base64_VARIANT_ORIGINAL);

    FUZZ_CHECK(value != NULL);
    memcpy(value, data, size);
    value[size] = '\0';
    again = malloc(b64);
    FUZZ_CHECK(again != NULL);
    if (tsr__github_signature(value, out, &len)) {
        FUZZ_CHECK(len >= 1 && len <= TSR_GITHUB_SIGNATURE_MAX);
        sodium_bin2base64(again, b64, out, len, sodium_base64_VARIANT_ORIGINAL);
        FUZZ_CHECK(strcmp(again, value) == 0);
    }
    if (size >= 1 && size <= TSR_GITHUB_SIGNATURE_MAX) {
        sodium_bin2base64(again, b64, (const unsigned char *)data, size,
                          sodium_base64_VARIANT_ORIGINAL);
        FUZZ_CHECK(tsr__github_signature(again, out, &len));
        FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
    }
    FUZZ_CHECK(!tsr__github_signature(NULL, out, &len));
    free(again);
    free(value);
}

/* ---- GitHub's key list ---- */

static void key_list(const char *data, size_t size)
{
    struct tsr_sigkeys *keys = NULL;
    char err[256] = "";
    json_t *root;

    FUZZ_CHECK(tsr_sigkeys_new(&keys) == TSR_OK);
    if (tsr__github_keys_parse(data, size, keys, err, sizeof(err)) == TSR_OK) {
        root = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
        FUZZ_CHECK(root != NULL);
        /* Every entry became a key. */
        FUZZ_CHECK(tsr_sigkeys_count(keys) >= 1 &&
                   tsr_sigkeys_count(keys) ==
                       json_array_size(json_object_get(root, "public_keys")));
        json_decref(root);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    tsr_sigkeys_free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;

    if (size < 1 || size - 1 > TSR_BODY_MAX)
        return 0;
    switch (data[0] % 4) {
    case 0:
        revoke_body(text, size - 1);
        break;
    case 1:
        github_report(text, size - 1);
        break;
    case 2:
        signature(text, size - 1);
        break;
    default:
        key_list(text, size - 1);
        break;
    }
    return 0;
}
