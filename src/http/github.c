/* github.c - GitHub's secret-scanning partner program: its key list, its signature header,
 * its reports */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "http/github.h"

#define BASE64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

/* One entry of the key list: a name and a PEM key, both strings. */
static enum tsr_err add_key(json_t *entry, size_t i, struct tsr_sigkeys *keys, char *err,
                            size_t err_size)
{
    json_t *id = json_object_get(entry, "key_identifier");
    json_t *pem = json_object_get(entry, "key");
    char why[160];

    if (!json_is_string(id) || !json_is_string(pem)) {
        snprintf(err, err_size, "public_keys/%zu needs the strings key_identifier and key", i);
        return TSR_ERR_INVALID;
    }
    if (tsr_sigkeys_add(keys, json_string_value(id), json_string_length(id), json_string_value(pem),
                        json_string_length(pem), why, sizeof(why)) != TSR_OK) {
        snprintf(err, err_size, "public_keys/%zu: %s", i, why);
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

enum tsr_err tsr__github_keys_parse(const char *json, size_t len, struct tsr_sigkeys *keys,
                                    char *err, size_t err_size)
{
    json_error_t error;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    json_t *list = json_object_get(root, "public_keys"), *entry;
    enum tsr_err rc = TSR_OK;
    size_t i;

    if (!root) {
        snprintf(err, err_size, "not JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return TSR_ERR_INVALID;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        snprintf(err, err_size,
                 "not GitHub's list of keys: expected {\"public_keys\": [...]} with at least one "
                 "key");
        rc = TSR_ERR_INVALID;
    }
    json_array_foreach(list, i, entry)
    {
        if (rc == TSR_OK)
            rc = add_key(entry, i, keys, err, err_size);
    }
    json_decref(root);
    return rc;
}

bool tsr__github_signature(const char *value, unsigned char out[TSR_GITHUB_SIGNATURE_MAX],
                           size_t *len)
{
    /* libsodium refuses missing or misplaced padding and bits past the last
     * byte that are not zero, but 1.0.18 reads a byte above 0x7f as one of
     * the alphabet's (fuzz_leak_report found it): the alphabet is checked first,
     * so that each signature has one text. */
    if (!value || value[strspn(value, BASE64_ALPHABET)] != '\0')
        return false;
    if (sodium_base642bin(out, TSR_GITHUB_SIGNATURE_MAX, value, strlen(value), NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return *len > 0;
}

/* Refuses the body: code, a sentence, and the pointer's path of the part at
 * fault (NULL: the whole body), made from a format. */
__attribute__((format(printf, 4, 5))) static enum tsr_err
refuse(struct tsr_body_problem *why, const char *code, const char *path, const char *fmt, ...)
{
    va_list ap;

    why->code = code;
    why->field = NULL;
    if (path) {
        snprintf(why->field_buf, sizeof(why->field_buf), "%s", path);
        why->field = why->field_buf;
    }
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    return TSR_ERR_INVALID;
}

/* Member key of entry i: a string, which out and out_len then hold. */
static enum tsr_err take_string(json_t *entry, size_t i, const char *key, const char **out,
                                size_t *out_len, struct tsr_body_problem *why)
{
    json_t *v = json_object_get(entry, key);
    char path[40];

    snprintf(path, sizeof(path), "%zu/%s", i, key);
    if (!v)
        return refuse(why, "missing_field", path, "%s is required: a string", path);
    if (!json_is_string(v))
        return refuse(why, "invalid_field", path, "%s must be a string", path);
    *out = json_string_value(v);
    *out_len = json_string_length(v);
    return TSR_OK;
}

enum tsr_err tsr__github_report_parse(const char *body, size_t len, json_t **root,
                                      struct tsr_leak_report *report, struct tsr_body_problem *why)
{
    json_error_t error;
    json_t *entry;
    size_t i;
    char path[24];

    report->n = 0;
    why->code = NULL;
    why->field = NULL;
    why->detail[0] = '\0';
    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    if (!*root)
        return refuse(why, "invalid_json", NULL,
                      "the body is not valid JSON: %s (line %d, column %d)", error.text, error.line,
                      error.column);
    if (!json_is_array(*root) || json_array_size(*root) < 1 ||
        json_array_size(*root) > TSR_LEAK_REPORT_MAX)
        return refuse(why, json_is_array(*root) ? "invalid_field" : "invalid_json", NULL,
                      "the body must be an array of 1 to %d matches", TSR_LEAK_REPORT_MAX);
    json_array_foreach(*root, i, entry)
    {
        snprintf(path, sizeof(path), "%zu", i);
        if (!json_is_object(entry))
            return refuse(why, "invalid_field", path, "%s must be an object", path);
        if (take_string(entry, i, "token", &report->secrets[i], &report->lens[i], why) != TSR_OK ||
            take_string(entry, i, "type", &report->types[i], &report->type_lens[i], why) != TSR_OK)
            return TSR_ERR_INVALID;
    }
    report->n = json_array_size(*root);
    return TSR_OK;
}
