/* fuzz_authorization.c - the Authorization header: Token/Bearer and Basic */
#include <string.h>

#include "core/secret.h"
#include "http/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libmicrohttpd hands the handlers a NUL-terminated value. */
    char *value = malloc(size + 1);
    char buf[TSR_EMAIL_MAX + TSR_PASSWORD_MAX + 8];
    const char *secret, *email, *password;
    size_t len, email_len, password_len;

    FUZZ_CHECK(value != NULL);
    memcpy(value, data, size);
    value[size] = '\0';

    if (tsr__parse_bearer(value, &secret, &len)) {
        FUZZ_CHECK(secret > value && secret + len <= value + strlen(value));
        FUZZ_CHECK(len > 0 && strcspn(secret, " \t") == len);
        (void)tsr_secret_parse(secret, len);
    }

    if (tsr__parse_basic(value, buf, sizeof(buf), &email, &email_len, &password, &password_len)) {
        FUZZ_CHECK(email == buf && email_len < sizeof(buf) && buf[email_len] == ':');
        FUZZ_CHECK(password == buf + email_len + 1 && password + password_len < buf + sizeof(buf));
        FUZZ_CHECK(password[password_len] == '\0');
    }
    free(value);
    return 0;
}
