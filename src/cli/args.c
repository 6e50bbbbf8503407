/* args.c - tessera's command line: options anywhere, verb-noun commands */
#include "cli/args.h"

#include <stdio.h>
#include <string.h>

struct opt_def {
    const char *name; /* without the leading "--" */
    char letter;      /* short form, or 0 */
    enum tsr_opt bit;
    size_t value; /* offset of the value's pointer in struct tsr_args, or 0 for a switch */
    size_t list;  /* offset of its struct tsr_args_list instead, for a list option */
};

#define VALUE(field) offsetof(struct tsr_args, field), 0
#define LIST(field)  0, offsetof(struct tsr_args, field)
#define SWITCH       0, 0

static const struct opt_def opts[] = {
    {"output", 'o', TSR_OPT_OUTPUT, VALUE(output)},
    {"server", 0, TSR_OPT_SERVER, VALUE(server)},
    {"token", 0, TSR_OPT_TOKEN, VALUE(token)},
    {"help", 'h', TSR_OPT_HELP, SWITCH},
    {"version", 0, TSR_OPT_VERSION, SWITCH},
    {"email", 0, TSR_OPT_EMAIL, VALUE(email)},
    {"name", 0, TSR_OPT_NAME, VALUE(name)},
    {"description", 0, TSR_OPT_DESCRIPTION, VALUE(description)},
    {"expires", 0, TSR_OPT_EXPIRES, VALUE(expires)},
    {"search", 0, TSR_OPT_SEARCH, VALUE(search)},
    {"sort", 0, TSR_OPT_SORT, VALUE(sort)},
    {"page", 0, TSR_OPT_PAGE, VALUE(page)},
    {"page-size", 0, TSR_OPT_PAGE_SIZE, VALUE(page_size)},
    {"all", 0, TSR_OPT_ALL, SWITCH},
    {"yes", 'y', TSR_OPT_YES, SWITCH},
    {"scope", 0, TSR_OPT_SCOPE, LIST(scopes)},
    {"allow-ip", 0, TSR_OPT_ALLOW_IP, LIST(allow_ips)},
    {"allow-anywhere", 0, TSR_OPT_ALLOW_ANYWHERE, SWITCH},
    {"not-before", 0, TSR_OPT_NOT_BEFORE, VALUE(not_before)},
    {"clear-not-before", 0, TSR_OPT_CLEAR_NOT_BEFORE, SWITCH},
    {"grace", 0, TSR_OPT_GRACE, VALUE(grace)},
    {"status", 0, TSR_OPT_STATUS, VALUE(status)},
    {"expiring", 0, TSR_OPT_EXPIRING, SWITCH},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

const char *tsr_args_name(unsigned bits)
{
    static char buf[32];

    for (size_t i = 0; i < NOPTS; i++) {
        if (bits & opts[i].bit) {
            snprintf(buf, sizeof(buf), "--%s", opts[i].name);
            return buf;
        }
    }
    return "";
}

static const struct opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
            return &opts[i];
    }
    return NULL;
}

static const struct opt_def *find_short(char letter)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (opts[i].letter != 0 && opts[i].letter == letter)
            return &opts[i];
    }
    return NULL;
}

static enum tsr_err set_value(struct tsr_args *out, const struct opt_def *d, const char *spelled,
                              const char *value, char *why, size_t why_size)
{
    if (d->list != 0) {
        struct tsr_args_list *l = (struct tsr_args_list *)(void *)((char *)out + d->list);

        if (l->n == TSR_ARGS_MAX_LIST) {
            snprintf(why, why_size, "option %s given more than %d times", spelled,
                     TSR_ARGS_MAX_LIST);
            return TSR_ERR_INVALID;
        }
        l->v[l->n++] = value;
        return TSR_OK;
    }
    /* The offset names one of the const char * members: write through it. */
    *(const char **)(void *)((char *)out + d->value) = value;
    return TSR_OK;
}

/* Takes the option d, whose inline value (after '=' or a short letter) is
 * inline_value or NULL; a value option without one takes the next word,
 * whatever it looks like, so that `--sort -name` works. */
static enum tsr_err take(const struct opt_def *d, const char *spelled, const char *inline_value,
                         int argc, char **argv, int *i, struct tsr_args *out, char *why,
                         size_t why_size)
{
    out->given |= d->bit;
    if (d->value == 0 && d->list == 0) {
        if (inline_value != NULL) {
            snprintf(why, why_size, "option %s takes no value", spelled);
            return TSR_ERR_INVALID;
        }
        return TSR_OK;
    }
    if (inline_value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(why, why_size, "option %s needs a value", spelled);
            return TSR_ERR_INVALID;
        }
        inline_value = argv[++*i];
    }
    return set_value(out, d, spelled, inline_value, why, why_size);
}

static enum tsr_err add_word(struct tsr_args *out, const char *word, char *why, size_t why_size)
{
    if (out->nwords == TSR_ARGS_MAX_WORDS) {
        snprintf(why, why_size, "too many arguments, starting at '%.64s'", word);
        return TSR_ERR_INVALID;
    }
    out->words[out->nwords++] = word;
    return TSR_OK;
}

enum tsr_err tsr_args_parse(int argc, char **argv, struct tsr_args *out, char *why, size_t why_size)
{
    enum tsr_err rc = TSR_OK;
    bool options_done = false;

    memset(out, 0, sizeof(*out));
    for (int i = 1; i < argc && rc == TSR_OK; i++) {
        const char *a = argv[i];

        if (options_done || a[0] != '-' || a[1] == '\0') {
            rc = add_word(out, a, why, why_size);
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            const struct opt_def *d = find_long(a + 2, len);

            if (d == NULL) {
                snprintf(why, why_size, "unknown option '%.*s'", (int)(len > 64 ? 64 : len) + 2, a);
                rc = TSR_ERR_INVALID;
            } else {
                char spelled[40];

                snprintf(spelled, sizeof(spelled), "--%s", d->name);
                rc = take(d, spelled, eq ? eq + 1 : NULL, argc, argv, &i, out, why, why_size);
            }
        } else {
            const struct opt_def *d = find_short(a[1]);

            if (d == NULL) {
                snprintf(why, why_size, "unknown option '-%c'", a[1]);
                rc = TSR_ERR_INVALID;
            } else {
                char spelled[4] = {'-', a[1], '\0', '\0'};

                rc = take(d, spelled, a[2] != '\0' ? a + 2 : NULL, argc, argv, &i, out, why,
                          why_size);
            }
        }
    }
    return rc;
}
