/* uuid.h - UUIDv7 (RFC 9562): time-ordered ids, lowercase canonical text */
#ifndef TSR_CORE_UUID_H
#define TSR_CORE_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSR_UUID_LEN 36 /* "0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b", without the NUL */

/* Writes the UUIDv7 made of unix_ms (48 bits used) and the first 74 bits of
 * rand as lowercase canonical text and a NUL to out. Cannot fail. */
void tsr_uuid7_format(uint64_t unix_ms, const uint8_t rand[10], char out[TSR_UUID_LEN + 1]);

/* Writes a new UUIDv7 for the current time, with libsodium's CSPRNG, to out.
 * Cannot fail. */
void tsr_uuid7_new(char out[TSR_UUID_LEN + 1]);

/* True when the len bytes at s are a UUID of any version in lowercase
 * canonical form (8-4-4-4-12 lowercase hex digits). */
bool tsr_uuid_valid(const char *s, size_t len);

#define TSR_UUID_BYTES 16

/* Writes the 16 bytes of s, a UUID that tsr_uuid_valid accepts, to out.
 * Cannot fail. */
void tsr_uuid_to_bytes(const char *s, uint8_t out[TSR_UUID_BYTES]);

/* Writes the 16 bytes of in as lowercase canonical text and a NUL to out.
 * Cannot fail. */
void tsr_uuid_from_bytes(const uint8_t in[TSR_UUID_BYTES], char out[TSR_UUID_LEN + 1]);

#endif
