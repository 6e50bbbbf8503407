/* secret.h - the secret format: generate, parse, checksum, hash, hint
 *
 * A secret is a 4-character prefix ("tsr_" for personal tokens, "tss_" for
 * session tokens), 30 base62 characters of randomness, then the CRC-32 (IEEE,
 * zlib's crc32) of those 30 characters as 6 base62 digits, most significant
 * first, zero-padded. The alphabet is 0-9A-Za-z in that order.
 */
#ifndef TSR_CORE_SECRET_H
#define TSR_CORE_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define TSR_SECRET_LEN        40 /* whole secret, without the NUL */
#define TSR_SECRET_PREFIX_LEN 4
#define TSR_SECRET_RANDOM_LEN 30
#define TSR_SECRET_CHECK_LEN  6
#define TSR_KEY_HINT_LEN      8 /* the first characters of a secret, shown in lists */
#define TSR_HASH_LEN          32

enum tsr_secret_kind {
    TSR_SECRET_NONE = 0, /* not a well-formed secret */
    TSR_SECRET_PERSONAL, /* tsr_ */
    TSR_SECRET_SESSION,  /* tss_ */
};

/* Writes a new secret of kind (PERSONAL or SESSION) and its NUL to out, with
 * randomness from libsodium's CSPRNG. Cannot fail. */
void tsr_secret_generate(enum tsr_secret_kind kind, char out[TSR_SECRET_LEN + 1]);

/* Writes the secret of kind made of the given 30 base62 characters (which the
 * caller guarantees are in the alphabet) and its NUL to out. Cannot fail. */
void tsr_secret_format(enum tsr_secret_kind kind, const char random[TSR_SECRET_RANDOM_LEN],
                       char out[TSR_SECRET_LEN + 1]);

/* Writes the 6 checksum characters (no NUL) of the 30 characters in random.
 * Cannot fail. */
void tsr_secret_checksum(const char random[TSR_SECRET_RANDOM_LEN], char out[TSR_SECRET_CHECK_LEN]);

/* Checks the prefix, the length, the alphabet and the checksum of the len
 * bytes at s, with no I/O. Returns the kind, or TSR_SECRET_NONE when s is not
 * a well-formed secret. s need not be NUL-terminated. */
enum tsr_secret_kind tsr_secret_parse(const char *s, size_t len);

/* Writes the SHA-256 of the len bytes at s to out. Cannot fail. */
void tsr_secret_hash(const char *s, size_t len, uint8_t out[TSR_HASH_LEN]);

/* Writes the first TSR_KEY_HINT_LEN characters of secret and a NUL to out.
 * Cannot fail. */
void tsr_secret_hint(const char *secret, char out[TSR_KEY_HINT_LEN + 1]);

#endif
