/* test_secret.c - unit tests for core/secret.c: checksum, format, parse, hash, hint */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/secret.h"

/* Known answers computed independently with Python: zlib.crc32 of the 30
 * characters, written as 6 base62 digits (0-9A-Za-z), most significant first. */
static const struct {
    const char *random;
    const char *check;
} checksum_kats[] = {
    {"000000000000000000000000000000", "2C8GjS"}, /* crc32 0x77e5db82 */
    {"abcdefghijklmnopqrstuvwxyzABCD", "4dNndU"}, /* crc32 0xfd1c278c */
    {"Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0", "2ZFgkD"}, /* crc32 0x8c42a051 */
    {"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "4IlJEz"}, /* crc32 0xeaf2cd15 */
    {"4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6s", "2Ymqq2"}, /* crc32 0x8bd9c1ca */
};

#define KNOWN_RANDOM  "4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6s"
#define KNOWN_SECRET  "tsr_" KNOWN_RANDOM "2Ymqq2"
#define KNOWN_SESSION "tss_" KNOWN_RANDOM "2Ymqq2"

static void test_checksum_kat(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(checksum_kats) / sizeof(checksum_kats[0]); i++) {
        char out[TSR_SECRET_CHECK_LEN + 1] = {0};
        tsr_secret_checksum(checksum_kats[i].random, out);
        assert_string_equal(out, checksum_kats[i].check);
    }
}

static void test_format_kat(void **state)
{
    char out[TSR_SECRET_LEN + 1];

    (void)state;
    memset(out, 'x', sizeof(out));
    tsr_secret_format(TSR_SECRET_PERSONAL, KNOWN_RANDOM, out);
    assert_string_equal(out, KNOWN_SECRET);
    tsr_secret_format(TSR_SECRET_SESSION, KNOWN_RANDOM, out);
    assert_string_equal(out, KNOWN_SESSION);
    tsr_secret_format(TSR_SECRET_PERSONAL, "000000000000000000000000000000", out);
    assert_string_equal(out, "tsr_0000000000000000000000000000002C8GjS");
}

static void test_parse_known(void **state)
{
    (void)state;
    assert_int_equal(tsr_secret_parse(KNOWN_SECRET, strlen(KNOWN_SECRET)), TSR_SECRET_PERSONAL);
    assert_int_equal(tsr_secret_parse(KNOWN_SESSION, strlen(KNOWN_SESSION)), TSR_SECRET_SESSION);
    assert_int_equal(tsr_secret_parse("tsr_0000000000000000000000000000002C8GjS", 40),
                     TSR_SECRET_PERSONAL);
}

/* Every single-character change of the known secret must be refused: in the
 * prefix, the random part (the checksum no longer matches) or the checksum. */
static void test_parse_one_char_changed(void **state)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-+/=. ";

    (void)state;
    for (size_t pos = 0; pos < TSR_SECRET_LEN; pos++) {
        for (size_t a = 0; a < sizeof(alphabet) - 1; a++) {
            char s[TSR_SECRET_LEN + 1];
            memcpy(s, KNOWN_SECRET, sizeof(s));
            if (s[pos] == alphabet[a])
                continue;
            s[pos] = alphabet[a];
            /* tsr_ -> tss_ is the one change that stays well-formed. */
            if (pos == 2 && alphabet[a] == 's')
                continue;
            if (tsr_secret_parse(s, TSR_SECRET_LEN) != TSR_SECRET_NONE)
                fail_msg("accepted %s (position %zu changed)", s, pos);
        }
    }
}

static void test_parse_rejects(void **state)
{
    (void)state;
    /* Wrong or mis-cased prefix. */
    assert_int_equal(tsr_secret_parse("tst_" KNOWN_RANDOM "2Ymqq2", 40), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("TSR_" KNOWN_RANDOM "2Ymqq2", 40), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("tsr-" KNOWN_RANDOM "2Ymqq2", 40), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("xyz_" KNOWN_RANDOM "2Ymqq2", 40), TSR_SECRET_NONE);
    /* 39 and 41 characters. */
    assert_int_equal(tsr_secret_parse(KNOWN_SECRET, 39), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse(KNOWN_SECRET "0", 41), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("tsr_" KNOWN_RANDOM "2Ymqq", 39), TSR_SECRET_NONE);
    /* Empty, tiny, NULL. */
    assert_int_equal(tsr_secret_parse("", 0), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("tsr_", 4), TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse(NULL, 0), TSR_SECRET_NONE);
    /* Characters outside the alphabet. */
    assert_int_equal(tsr_secret_parse("tsr_4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6-2Ymqq2", 40),
                     TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("tsr_4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6s2Ymq_2", 40),
                     TSR_SECRET_NONE);
    assert_int_equal(tsr_secret_parse("tsr_4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6s2Ymqq ", 40),
                     TSR_SECRET_NONE);
    /* An embedded NUL inside the 40 bytes. */
    assert_int_equal(tsr_secret_parse("tsr_4kP9qRt2LmN8vXw3ZbC7dF1gH5jK6s2Ym\0q2", 40),
                     TSR_SECRET_NONE);
    /* A valid secret followed by more bytes within len. */
    assert_int_equal(tsr_secret_parse(KNOWN_SECRET "\n", 41), TSR_SECRET_NONE);
}

/* The parser reads exactly len bytes: a secret in a buffer with no NUL and
 * nothing after it (ASan checks the heap copy's bounds). */
static void test_parse_no_nul(void **state)
{
    char *buf = test_malloc(TSR_SECRET_LEN);

    (void)state;
    memcpy(buf, KNOWN_SECRET, TSR_SECRET_LEN);
    assert_int_equal(tsr_secret_parse(buf, TSR_SECRET_LEN), TSR_SECRET_PERSONAL);
    for (size_t len = 0; len < TSR_SECRET_LEN; len++)
        assert_int_equal(tsr_secret_parse(buf, len), TSR_SECRET_NONE);
    test_free(buf);
}

static void test_generate(void **state)
{
    enum { N = 200 };
    static char seen[N][TSR_SECRET_LEN + 1];

    (void)state;
    for (int i = 0; i < N; i++) {
        enum tsr_secret_kind kind = i % 2 ? TSR_SECRET_SESSION : TSR_SECRET_PERSONAL;
        tsr_secret_generate(kind, seen[i]);
        assert_int_equal(strlen(seen[i]), TSR_SECRET_LEN);
        assert_memory_equal(seen[i], kind == TSR_SECRET_SESSION ? "tss_" : "tsr_", 4);
        assert_int_equal(tsr_secret_parse(seen[i], TSR_SECRET_LEN), kind);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

/* A rough check that rejection sampling reaches the whole alphabet: 62
 * symbols over 200 * 30 draws each appear (a miss has odds near 1e-40). */
static void test_generate_alphabet(void **state)
{
    int counts[128] = {0};

    (void)state;
    for (int i = 0; i < 200; i++) {
        char s[TSR_SECRET_LEN + 1];
        tsr_secret_generate(TSR_SECRET_PERSONAL, s);
        for (int k = TSR_SECRET_PREFIX_LEN; k < TSR_SECRET_PREFIX_LEN + TSR_SECRET_RANDOM_LEN; k++)
            counts[(unsigned char)s[k] & 0x7f]++;
    }
    for (int c = 0; c < 128; c++) {
        int in = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (in && counts[c] == 0)
            fail_msg("character '%c' never generated", c);
        if (!in && counts[c] != 0)
            fail_msg("character %d generated", c);
    }
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static void test_hash_kat(void **state)
{
    uint8_t h[TSR_HASH_LEN];
    char x[2 * TSR_HASH_LEN + 1];

    (void)state;
    tsr_secret_hash("abc", 3, h);
    hex(h, sizeof(h), x);
    assert_string_equal(x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    tsr_secret_hash("", 0, h);
    hex(h, sizeof(h), x);
    assert_string_equal(x, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tsr_secret_hash(KNOWN_SECRET, TSR_SECRET_LEN, h);
    hex(h, sizeof(h), x);
    assert_string_equal(x, "cd64daf833a078723353f303350be7097c75226b0544b96cc18c748d857c1654");
}

static void test_hint(void **state)
{
    char out[TSR_KEY_HINT_LEN + 1];

    (void)state;
    memset(out, 'x', sizeof(out));
    tsr_secret_hint(KNOWN_SECRET, out);
    assert_string_equal(out, "tsr_4kP9");
    tsr_secret_hint(KNOWN_SESSION, out);
    assert_string_equal(out, "tss_4kP9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_kat),  cmocka_unit_test(test_format_kat),
        cmocka_unit_test(test_parse_known),   cmocka_unit_test(test_parse_one_char_changed),
        cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_parse_no_nul),
        cmocka_unit_test(test_generate),      cmocka_unit_test(test_generate_alphabet),
        cmocka_unit_test(test_hash_kat),      cmocka_unit_test(test_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
