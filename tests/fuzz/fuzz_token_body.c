/* fuzz_token_body.c - the JSON body of a token's create or update, then the
 * service's checks of each member */
#include <stdbool.h>
#include <string.h>

#include "core/cidr.h"
#include "core/scope.h"
#include "core/timefmt.h"
#include "core/validate.h"
#include "http/parse.h"
#include "fuzz.h"

/* The service's rules for each member (src/service/tokens.c), through the
 * same core functions. */
static void check_fields(const struct tsr_token_input *in)
{
    char detail[200];
    const char *s;
    size_t len;
    int64_t t;

    if (in->name.has) {
        s = in->name.s;
        len = in->name.len;
        if (tsr_text_check("name", &s, &len, 1, TSR_NAME_MAX_CHARS, false, detail,
                           sizeof(detail)) == TSR_OK)
            FUZZ_CHECK(len > 0 && s >= in->name.s && s + len <= in->name.s + in->name.len);
    }
    if (in->description.has) {
        s = in->description.s;
        len = in->description.len;
        if (tsr_text_check("description", &s, &len, 0, TSR_DESC_MAX_CHARS, true, detail,
                           sizeof(detail)) == TSR_OK)
            FUZZ_CHECK(len <= in->description.len);
    }
    if (in->expires_at.has)
        (void)tsr_time_parse(in->expires_at.s, in->expires_at.len, &t);
    if (in->not_before.has && !in->not_before.null)
        (void)tsr_time_parse(in->not_before.s, in->not_before.len, &t);
    for (size_t i = 0; i < in->scopes.n && i < TSR_LIST_INPUT_MAX; i++)
        (void)tsr_scope_name_valid(in->scopes.items[i].s, in->scopes.items[i].len);
    for (size_t i = 0; i < in->allowed_ips.n && i < TSR_LIST_INPUT_MAX; i++) {
        struct tsr_cidr c, again;
        char text[TSR_CIDR_TEXT_MAX + 1];

        if (tsr_cidr_parse(in->allowed_ips.items[i].s, in->allowed_ips.items[i].len, &c) !=
            TSR_CIDR_OK)
            continue;
        /* What the answer will show must read back as the same block. */
        len = tsr_cidr_text(&c, text);
        FUZZ_CHECK(len == strlen(text) && len <= TSR_CIDR_TEXT_MAX);
        FUZZ_CHECK(tsr_cidr_parse(text, len, &again) == TSR_CIDR_OK && tsr_cidr_equal(&c, &again));
    }
}

/* A string member: has exactly when the document has key, and then it is
 * the document's own string (not_before may also be null). */
static void check_string(const json_t *root, const char *key, const struct tsr_field *f,
                         bool may_be_null)
{
    const json_t *v = json_object_get(root, key);

    FUZZ_CHECK(f->has == (v != NULL));
    if (!v)
        return;
    if (may_be_null && json_is_null(v)) {
        FUZZ_CHECK(f->null);
        return;
    }
    FUZZ_CHECK(!f->null && json_is_string(v));
    FUZZ_CHECK(f->s == json_string_value(v) && f->len == json_string_length(v));
}

/* A list member: has and n as in the document, every item kept (up to
 * TSR_LIST_INPUT_MAX) is the document's string at that index. */
static void check_list(const json_t *root, const char *key, const struct tsr_list_field *list)
{
    const json_t *v = json_object_get(root, key);

    FUZZ_CHECK(list->has == (v != NULL));
    if (!v) {
        FUZZ_CHECK(list->n == 0);
        return;
    }
    FUZZ_CHECK(json_is_array(v) && list->n == json_array_size(v));
    for (size_t i = 0; i < TSR_LIST_INPUT_MAX; i++) {
        const struct tsr_field *item = &list->items[i];

        if (i >= list->n) {
            FUZZ_CHECK(!item->has);
            continue;
        }
        FUZZ_CHECK(item->has && !item->null);
        FUZZ_CHECK(json_is_string(json_array_get(v, i)));
        FUZZ_CHECK(item->s == json_string_value(json_array_get(v, i)));
        FUZZ_CHECK(item->len == json_string_length(json_array_get(v, i)));
    }
}

/* A refusal names a member of the document, or an item "key/N" of one of
 * the two lists: N < the list's length, and that item is the first that is
 * not a string. */
static bool known(const char *key)
{
    static const char *const keys[] = {"name",   "description", "expires_at",
                                       "scopes", "allowed_ips", "not_before"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

static void check_refusal(const json_t *root, const struct tsr_token_input *in,
                          const struct tsr_body_problem *why)
{
    const char *slash;

    FUZZ_CHECK(why->field != NULL);
    if (strcmp(why->code, "unknown_field") == 0) {
        FUZZ_CHECK(!known(why->field) && json_object_get(root, why->field) != NULL);
        return;
    }
    slash = strchr(why->field, '/');
    if (!slash || json_object_get(root, why->field) != NULL) {
        const json_t *v = json_object_get(root, why->field);

        FUZZ_CHECK(v != NULL);
        if (strcmp(why->field, "scopes") == 0 || strcmp(why->field, "allowed_ips") == 0)
            FUZZ_CHECK(strcmp(why->code, "invalid_field") == 0 && !json_is_array(v));
        return;
    }
    FUZZ_CHECK(why->field == why->field_buf);
    FUZZ_CHECK(strcmp(why->code, "invalid_field") == 0);

    size_t key_len = (size_t)(slash - why->field);
    char key[16];
    const struct tsr_list_field *list;
    char *end;
    unsigned long n;
    const json_t *v;

    FUZZ_CHECK(key_len < sizeof(key));
    memcpy(key, why->field, key_len);
    key[key_len] = '\0';
    FUZZ_CHECK(strcmp(key, "scopes") == 0 || strcmp(key, "allowed_ips") == 0);
    list = strcmp(key, "scopes") == 0 ? &in->scopes : &in->allowed_ips;
    FUZZ_CHECK(slash[1] >= '0' && slash[1] <= '9');
    n = strtoul(slash + 1, &end, 10);
    FUZZ_CHECK(*end == '\0');
    v = json_object_get(root, key);
    FUZZ_CHECK(json_is_array(v));
    FUZZ_CHECK(n < json_array_size(v) && list->has && n < list->n);
    FUZZ_CHECK(!json_is_string(json_array_get(v, n)));
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(json_is_string(json_array_get(v, i)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = NULL;
    struct tsr_token_input in;
    struct tsr_body_problem why;

    if (size > TSR_BODY_MAX)
        return 0;
    if (tsr__parse_token_body((const char *)data, size, &root, &in, &why) == TSR_OK) {
        const char *key;
        json_t *value;

        FUZZ_CHECK(json_is_object(root));
        json_object_foreach(root, key, value) FUZZ_CHECK(known(key));
        check_string(root, "name", &in.name, false);
        if (json_is_null(json_object_get(root, "description")))
            /* A null description is taken as an empty one. */
            FUZZ_CHECK(in.description.has && !in.description.null && in.description.len == 0);
        else
            check_string(root, "description", &in.description, false);
        check_string(root, "expires_at", &in.expires_at, false);
        check_string(root, "not_before", &in.not_before, true);
        check_list(root, "scopes", &in.scopes);
        check_list(root, "allowed_ips", &in.allowed_ips);
        check_fields(&in);
    } else {
        FUZZ_CHECK(why.code != NULL && why.detail[0] != '\0');
        if (strcmp(why.code, "invalid_json") == 0)
            FUZZ_CHECK(root == NULL || !json_is_object(root));
        else
            check_refusal(root, &in, &why);
    }
    json_decref(root);
    return 0;
}
