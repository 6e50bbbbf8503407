/* sigkeys.c - named public keys that check ECDSA P-256 signatures over bytes (GnuTLS) */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "core/sigkeys.h"

#define P256_BITS 256

struct sigkey {
    char id[TSR_SIGKEY_ID_MAX];
    size_t id_len;
    gnutls_pubkey_t key;
};

struct tsr_sigkeys {
    /* GnuTLS promises that one thread at a time may use an object; a check
     * is a fraction of a millisecond, and senders that sign are few. */
    pthread_mutex_t lock;
    size_t n;
    struct sigkey keys[TSR_SIGKEYS_MAX];
};

enum tsr_err tsr_sigkeys_new(struct tsr_sigkeys **out)
{
    struct tsr_sigkeys *keys = calloc(1, sizeof(*keys));

    if (!keys)
        return TSR_ERR_NOMEM;
    pthread_mutex_init(&keys->lock, NULL);
    *out = keys;
    return TSR_OK;
}

void tsr_sigkeys_free(struct tsr_sigkeys *keys)
{
    if (!keys)
        return;
    for (size_t i = 0; i < keys->n; i++)
        gnutls_pubkey_deinit(keys->keys[i].key);
    pthread_mutex_destroy(&keys->lock);
    free(keys);
}

size_t tsr_sigkeys_count(const struct tsr_sigkeys *keys)
{
    return keys->n;
}

static struct sigkey *find(struct tsr_sigkeys *keys, const char *id, size_t id_len)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->keys[i].id_len == id_len && memcmp(keys->keys[i].id, id, id_len) == 0)
            return &keys->keys[i];
    }
    return NULL;
}

static bool id_ok(const char *id, size_t id_len)
{
    if (id_len == 0 || id_len > TSR_SIGKEY_ID_MAX)
        return false;
    for (size_t i = 0; i < id_len; i++) {
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return false;
    }
    return true;
}

/* GnuTLS takes its input through a datum that is not const; it only reads. */
static gnutls_datum_t datum_of(const void *p, size_t len)
{
    return (gnutls_datum_t){.data = (unsigned char *)(uintptr_t)p, .size = (unsigned)len};
}

/* Parses the PEM into *out, an ECDSA key on P-256; a sentence in why if not. */
static bool import_p256(const char *pem, size_t pem_len, gnutls_pubkey_t *out, char *why,
                        size_t why_size)
{
    gnutls_datum_t text = datum_of(pem, pem_len);
    unsigned bits = 0;
    int rc;

    if (pem_len > UINT_MAX || gnutls_pubkey_init(out) < 0) {
        snprintf(why, why_size, "the key cannot be read");
        return false;
    }
    rc = gnutls_pubkey_import(*out, &text, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        snprintf(why, why_size, "the key is not a PEM public key: %s", gnutls_strerror(rc));
    } else if (gnutls_pubkey_get_pk_algorithm(*out, &bits) != GNUTLS_PK_ECDSA ||
               bits != P256_BITS) {
        snprintf(why, why_size, "the key is not an ECDSA key on the curve P-256");
        rc = -1;
    }
    if (rc < 0) {
        gnutls_pubkey_deinit(*out);
        return false;
    }
    return true;
}

enum tsr_err tsr_sigkeys_add(struct tsr_sigkeys *keys, const char *id, size_t id_len,
                             const char *pem, size_t pem_len, char *why, size_t why_size)
{
    struct sigkey *k;

    if (!id_ok(id, id_len)) {
        snprintf(why, why_size, "a key's name must be 1 to %d bytes with no control characters",
                 TSR_SIGKEY_ID_MAX);
        return TSR_ERR_INVALID;
    }
    if (find(keys, id, id_len)) {
        snprintf(why, why_size, "two keys have the same name");
        return TSR_ERR_INVALID;
    }
    if (keys->n == TSR_SIGKEYS_MAX) {
        snprintf(why, why_size, "more than %d keys", TSR_SIGKEYS_MAX);
        return TSR_ERR_INVALID;
    }
    k = &keys->keys[keys->n];
    if (!import_p256(pem, pem_len, &k->key, why, why_size))
        return TSR_ERR_INVALID;
    memcpy(k->id, id, id_len);
    k->id_len = id_len;
    keys->n++;
    return TSR_OK;
}

enum tsr_sig_check tsr_sigkeys_verify(struct tsr_sigkeys *keys, const char *id, size_t id_len,
                                      const void *data, size_t len, const void *sig, size_t sig_len)
{
    struct sigkey *k = find(keys, id, id_len);
    gnutls_datum_t d = datum_of(data, len), s = datum_of(sig, sig_len);
    int rc;

    if (!k)
        return TSR_SIG_NO_KEY;
    if (len > UINT_MAX || sig_len > UINT_MAX)
        return TSR_SIG_BAD;
    pthread_mutex_lock(&keys->lock);
    rc = gnutls_pubkey_verify_data2(k->key, GNUTLS_SIGN_ECDSA_SHA256, 0, &d, &s);
    pthread_mutex_unlock(&keys->lock);
    return rc >= 0 ? TSR_SIG_GOOD : TSR_SIG_BAD;
}
