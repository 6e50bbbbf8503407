/* sigkeys.h - named public keys that check ECDSA P-256 signatures over bytes
 *
 * For senders that sign what they send with a key they publish under a name
 * (GitHub's secret scanning): the operator's copy of the keys is read once,
 * then each message is checked against the key its sender names. GnuTLS
 * parses the keys and checks the signatures.
 */
#ifndef TSR_CORE_SIGKEYS_H
#define TSR_CORE_SIGKEYS_H

#include <stddef.h>

#include "core/err.h"

#define TSR_SIGKEY_ID_MAX 128 /* bytes of a key's name */
#define TSR_SIGKEYS_MAX   64  /* keys one set holds */

struct tsr_sigkeys;

/* Makes an empty set of keys. */
enum tsr_err tsr_sigkeys_new(struct tsr_sigkeys **out) TSR_MUST_CHECK;

/* Frees the set; NULL is a no-op. */
void tsr_sigkeys_free(struct tsr_sigkeys *keys);

/* Adds the public key in the pem_len bytes at pem (PEM, "-----BEGIN PUBLIC
 * KEY-----") under the name of id_len bytes at id. TSR_ERR_INVALID, with a
 * sentence for people in why, when the name is empty, longer than
 * TSR_SIGKEY_ID_MAX, holds a control character or is taken, when the PEM is
 * no public key, when the key is not ECDSA on P-256, or when the set is full;
 * TSR_ERR_NOMEM. */
enum tsr_err tsr_sigkeys_add(struct tsr_sigkeys *keys, const char *id, size_t id_len,
                             const char *pem, size_t pem_len, char *why,
                             size_t why_size) TSR_MUST_CHECK;

/* How many keys the set holds. */
size_t tsr_sigkeys_count(const struct tsr_sigkeys *keys);

enum tsr_sig_check {
    TSR_SIG_GOOD,   /* the named key signed the data */
    TSR_SIG_NO_KEY, /* the set has no key of that name */
    TSR_SIG_BAD,    /* it did not, or the signature is malformed */
};

/* Checks the sig_len bytes at sig (an ECDSA signature as DER, RFC 3279's
 * Ecdsa-Sig-Value) over the len bytes at data, hashed with SHA-256, against
 * the key named by the id_len bytes at id. Safe from many threads once no
 * key is being added. Cannot fail otherwise. */
enum tsr_sig_check tsr_sigkeys_verify(struct tsr_sigkeys *keys, const char *id, size_t id_len,
                                      const void *data, size_t len, const void *sig,
                                      size_t sig_len);

#endif
