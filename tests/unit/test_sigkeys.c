/* test_sigkeys.c - named public keys: what they take, and what signatures they hold good
 *
 * The key pairs are made here, with GnuTLS, and the signatures made with
 * their private halves: the module under test only ever sees the public
 * half, as the server does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "core/sigkeys.h"

#define DATA "[{\"token\":\"tsr_x\",\"type\":\"tessera_personal_token\"}]"

struct pair {
    gnutls_privkey_t priv;
    char *pem; /* the public half */
};

static void make_pair(gnutls_pk_algorithm_t algo, unsigned bits, struct pair *out)
{
    gnutls_pubkey_t pub;
    gnutls_datum_t pem;

    assert_int_equal(gnutls_privkey_init(&out->priv), 0);
    assert_int_equal(gnutls_privkey_generate(out->priv, algo, bits, 0), 0);
    assert_int_equal(gnutls_pubkey_init(&pub), 0);
    assert_int_equal(gnutls_pubkey_import_privkey(pub, out->priv, 0, 0), 0);
    assert_int_equal(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem), 0);
    out->pem = calloc(1, pem.size + 1);
    assert_non_null(out->pem);
    memcpy(out->pem, pem.data, pem.size);
    gnutls_free(pem.data);
    gnutls_pubkey_deinit(pub);
}

static void free_pair(struct pair *p)
{
    gnutls_privkey_deinit(p->priv);
    free(p->pem);
}

/* The DER signature of data by p, in sig (of size bytes); its length. */
static size_t sign(const struct pair *p, const char *data, unsigned char *sig, size_t size)
{
    gnutls_datum_t d = {.data = (unsigned char *)(uintptr_t)data, .size = (unsigned)strlen(data)};
    gnutls_datum_t s;
    size_t len;

    assert_int_equal(gnutls_privkey_sign_data(p->priv, GNUTLS_DIG_SHA256, 0, &d, &s), 0);
    assert_true(s.size <= size);
    memcpy(sig, s.data, s.size);
    len = s.size;
    gnutls_free(s.data);
    return len;
}

static enum tsr_sig_check check(struct tsr_sigkeys *keys, const char *id, const char *data,
                                const unsigned char *sig, size_t sig_len)
{
    return tsr_sigkeys_verify(keys, id, strlen(id), data, strlen(data), sig, sig_len);
}

static enum tsr_err add(struct tsr_sigkeys *keys, const char *id, const char *pem)
{
    char why[200] = "";
    enum tsr_err rc = tsr_sigkeys_add(keys, id, strlen(id), pem, strlen(pem), why, sizeof(why));

    if (rc != TSR_OK)
        assert_true(why[0] != '\0');
    return rc;
}

static void test_good_and_bad_signatures(void **state)
{
    struct pair a, b;
    struct tsr_sigkeys *keys = NULL;
    unsigned char sig[256];
    size_t len;

    (void)state;
    make_pair(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &a);
    make_pair(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &b);
    assert_int_equal(tsr_sigkeys_new(&keys), TSR_OK);
    assert_int_equal(add(keys, "key-a", a.pem), TSR_OK);
    assert_int_equal(add(keys, "key-b", b.pem), TSR_OK);
    assert_int_equal(tsr_sigkeys_count(keys), 2);

    len = sign(&a, DATA, sig, sizeof(sig));
    assert_int_equal(check(keys, "key-a", DATA, sig, len), TSR_SIG_GOOD);
    /* Another key, another message, a changed or cut signature: refused. */
    assert_int_equal(check(keys, "key-b", DATA, sig, len), TSR_SIG_BAD);
    assert_int_equal(check(keys, "key-a", DATA " ", sig, len), TSR_SIG_BAD);
    assert_int_equal(check(keys, "key-a", DATA, sig, len - 1), TSR_SIG_BAD);
    sig[len - 1] ^= 1;
    assert_int_equal(check(keys, "key-a", DATA, sig, len), TSR_SIG_BAD);
    assert_int_equal(check(keys, "key-a", DATA, sig, 0), TSR_SIG_BAD);
    assert_int_equal(check(keys, "key-a", DATA, (const unsigned char *)"garbage", 7), TSR_SIG_BAD);
    /* Names compare in full. */
    assert_int_equal(check(keys, "key-", DATA, sig, len), TSR_SIG_NO_KEY);
    assert_int_equal(check(keys, "key-aa", DATA, sig, len), TSR_SIG_NO_KEY);
    assert_int_equal(check(keys, "", DATA, sig, len), TSR_SIG_NO_KEY);

    tsr_sigkeys_free(keys);
    tsr_sigkeys_free(NULL);
    free_pair(&a);
    free_pair(&b);
}

static void test_what_a_set_refuses(void **state)
{
    struct pair p256, p384, rsa;
    struct tsr_sigkeys *keys = NULL;
    char id[TSR_SIGKEY_ID_MAX + 2];

    (void)state;
    make_pair(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &p256);
    make_pair(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), &p384);
    make_pair(GNUTLS_PK_RSA, 2048, &rsa);
    assert_int_equal(tsr_sigkeys_new(&keys), TSR_OK);
    assert_int_equal(add(keys, "p384", p384.pem), TSR_ERR_INVALID);
    assert_int_equal(add(keys, "rsa", rsa.pem), TSR_ERR_INVALID);
    assert_int_equal(
        add(keys, "junk", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        TSR_ERR_INVALID);
    assert_int_equal(add(keys, "empty", ""), TSR_ERR_INVALID);
    assert_int_equal(add(keys, "", p256.pem), TSR_ERR_INVALID);
    assert_int_equal(add(keys, "tab\tin it", p256.pem), TSR_ERR_INVALID);
    memset(id, 'k', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(add(keys, id, p256.pem), TSR_ERR_INVALID);
    id[TSR_SIGKEY_ID_MAX] = '\0';
    assert_int_equal(add(keys, id, p256.pem), TSR_OK);
    assert_int_equal(add(keys, id, p256.pem), TSR_ERR_INVALID);
    assert_int_equal(tsr_sigkeys_count(keys), 1);
    tsr_sigkeys_free(keys);
    free_pair(&p256);
    free_pair(&p384);
    free_pair(&rsa);
}

static void test_a_full_set(void **state)
{
    struct pair p;
    struct tsr_sigkeys *keys = NULL;
    char id[16];

    (void)state;
    make_pair(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), &p);
    assert_int_equal(tsr_sigkeys_new(&keys), TSR_OK);
    for (int i = 0; i < TSR_SIGKEYS_MAX; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        assert_int_equal(add(keys, id, p.pem), TSR_OK);
    }
    assert_int_equal(add(keys, "one more", p.pem), TSR_ERR_INVALID);
    tsr_sigkeys_free(keys);
    free_pair(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_and_bad_signatures),
        cmocka_unit_test(test_what_a_set_refuses),
        cmocka_unit_test(test_a_full_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
