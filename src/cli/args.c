/* args.c - tessera's command line: options anywhere, verb-noun commands */
#include "cli/args.h"

#include <stdio.h>
#include <string.h>

struct opt_def {
    const char *name; /* without the leading "--" */
    char letter;      /* short form, or 0 */
    enum tsr_opt bit;
    size_t value; /* offset of the value's pointer in struct tsr_args, or 0 for a switch */
};

#define VALUE(field) offsetof(struct tsr_args, field)

static const struct opt_def opts[] = {
    {"output", 'o', TSR_OPT_OUTPUT, VALUE(output)},
    {"server", 0, TSR_OPT_SERVER, VALUE(server)},
    {"token", 0, TSR_OPT_TOKEN, VALUE(token)},
    {"help", 'h', TSR_OPT_HELP, 0},
    {"version", 0, TSR_OPT_VERSION, 0},
    {"email", 0, TSR_OPT_EMAIL, VALUE(email)},
    {"name", 0, TSR_OPT_NAME, VALUE(name)},
    {"description", 0, TSR_OPT_DESCRIPTION, VALUE(description)},
    {"expires", 0, TSR_OPT_EXPIRES, VALUE(expires)},
    {"search", 0, TSR_OPT_SEARCH, VALUE(search)},
    {"sort", 0, TSR_OPT_SORT, VALUE(sort)},
    {"page", 0, TSR_OPT_PAGE, VALUE(page)},
    {"page-size", 0, TSR_OPT_PAGE_SIZE, VALUE(page_size)},
    {"all", 0, TSR_OPT_ALL, 0},
    {"yes", 'y', TSR_OPT_YES, 0},
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

static void set_value(struct tsr_args *out, const struct opt_def *d, const char *value)
{
    /* The offset names one of the const char * members: write through it. */
    const char **slot = (const char **)(void *)((char *)out + d->value);

    *slot = value;
}

/* Takes the option d, whose inline value (after '=' or a short letter) is
 * inline_value or NULL; a value option without one takes the next word,
 * whatever it looks like, so that `--sort -name` works. */
static enum tsr_err take(const struct opt_def *d, const char *spelled, const char *inline_value,
                         int argc, char **argv, int *i, struct tsr_args *out, char *why,
                         size_t why_size)
{
    out->given |= d->bit;
    if (d->value == 0) {
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
    set_value(out, d, inline_value);
    return TSR_OK;
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
