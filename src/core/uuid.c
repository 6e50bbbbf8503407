/* uuid.c - UUIDv7 (RFC 9562): time-ordered ids, lowercase canonical text */
#include "core/uuid.h"

#include <stdlib.h>

#include <sodium.h>

#include "core/timefmt.h"

static const char hex[] = "0123456789abcdef";

/* Reads 8 bytes as a big-endian integer. */
static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Writes the 16 hex digits of v, most significant first, at p. */
static void put_hex64(char *p, uint64_t v)
{
    for (int i = 15; i >= 0; i--) {
        p[i] = hex[v & 0xf];
        v >>= 4;
    }
}

void tsr_uuid7_format(uint64_t unix_ms, const uint8_t rand[10], char out[TSR_UUID_LEN + 1])
{
    /* The layout of RFC 9562 section 5.7, as two 64-bit halves:
     *   hi = unix_ts_ms(48) ver(4) rand_a(12)
     *   lo = var(2) rand_b(62)
     * rand_a is the first 12 bits of rand and rand_b the next 62, in order,
     * most significant bit first; the last 6 bits of rand are unused. */
    uint64_t r0 = load_be64(rand);                  /* rand bits 0-63 */
    uint64_t r1 = (uint64_t)rand[8] << 8 | rand[9]; /* rand bits 64-79 */
    uint64_t rand_a = r0 >> 52;                     /* bits 0-11 */
    uint64_t rand_b = (r0 << 12) >> 2 | r1 >> 6;    /* bits 12-73 */
    uint64_t hi = (unix_ms & UINT64_C(0xffffffffffff)) << 16 | UINT64_C(0x7000) | rand_a;
    uint64_t lo = UINT64_C(0x8000000000000000) | rand_b;
    char digits[32];

    put_hex64(digits, hi);
    put_hex64(digits + 16, lo);

    /* 8-4-4-4-12 */
    size_t o = 0;
    for (size_t i = 0; i < sizeof(digits); i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = digits[i];
    }
    out[TSR_UUID_LEN] = '\0';
}

void tsr_uuid7_new(char out[TSR_UUID_LEN + 1])
{
    uint8_t rand[10];

    /* See secret.c: no CSPRNG, no safe ids, so this is fatal. */
    if (sodium_init() < 0)
        abort();
    randombytes_buf(rand, sizeof(rand));
    tsr_uuid7_format((uint64_t)tsr_time_now_ms(), rand, out);
}

bool tsr_uuid_valid(const char *s, size_t len)
{
    if (s == NULL || len != TSR_UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

static uint8_t nibble(char c)
{
    return (uint8_t)(c <= '9' ? c - '0' : c - 'a' + 10);
}

void tsr_uuid_to_bytes(const char *s, uint8_t out[TSR_UUID_BYTES])
{
    size_t o = 0;

    for (size_t i = 0; i < TSR_UUID_LEN; i += 2) {
        if (s[i] == '-')
            i++;
        out[o++] = (uint8_t)(nibble(s[i]) << 4 | nibble(s[i + 1]));
    }
}

void tsr_uuid_from_bytes(const uint8_t in[TSR_UUID_BYTES], char out[TSR_UUID_LEN + 1])
{
    size_t o = 0;

    for (size_t i = 0; i < TSR_UUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[in[i] >> 4];
        out[o++] = hex[in[i] & 0xf];
    }
    out[TSR_UUID_LEN] = '\0';
}
