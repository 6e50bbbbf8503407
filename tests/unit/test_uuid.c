/* test_uuid.c - unit tests for core/uuid.c: UUIDv7 layout, validity, ordering */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timefmt.h"
#include "core/uuid.h"

/* Known answers computed independently with Python: the 128-bit value
 * ms(48) | 7(4) | rand bits 0-11 | 0b10 | rand bits 12-73, rand read MSB first,
 * then str(uuid.UUID(int=...)). */
static void test_format_kat(void **state)
{
    static const uint8_t seq[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const uint8_t zero[10] = {0};
    static const uint8_t ones[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t a5[10] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
    static const uint8_t mix[10] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc};
    char out[TSR_UUID_LEN + 1];

    (void)state;
    tsr_uuid7_format(UINT64_C(0x0193a0b27c1e), seq, out);
    assert_string_equal(out, "0193a0b2-7c1e-7010-880c-1014181c2024");
    tsr_uuid7_format(0, zero, out);
    assert_string_equal(out, "00000000-0000-7000-8000-000000000000");
    tsr_uuid7_format(UINT64_C(0xffffffffffff), ones, out);
    assert_string_equal(out, "ffffffff-ffff-7fff-bfff-ffffffffffff");
    /* Only the low 48 bits of the time are used. */
    tsr_uuid7_format(UINT64_C(0x123456789abcdef0), a5, out);
    assert_string_equal(out, "56789abc-def0-7a5a-9696-969696969696");
    tsr_uuid7_format(UINT64_C(1767225600000), mix, out);
    assert_string_equal(out, "019b76da-a800-7012-8d15-9e26af37bffb");
}

/* Version nibble 7 and variant 10xx, whatever the random bytes. */
static void test_format_version_variant(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        uint8_t rand[10];
        char out[TSR_UUID_LEN + 1];
        memset(rand, b, sizeof(rand));
        tsr_uuid7_format((uint64_t)b * 1000003u, rand, out);
        assert_int_equal(out[14], '7');
        assert_non_null(strchr("89ab", out[19]));
        assert_true(tsr_uuid_valid(out, TSR_UUID_LEN));
    }
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b", 36));
    /* Any version, any variant. */
    assert_true(tsr_uuid_valid("00000000-0000-0000-0000-000000000000", 36));
    assert_true(tsr_uuid_valid("550e8400-e29b-41d4-a716-446655440000", 36));
    assert_true(tsr_uuid_valid("ffffffff-ffff-ffff-ffff-ffffffffffff", 36));

    /* Upper case. */
    assert_false(tsr_uuid_valid("0193A0B2-7C1E-7D3F-8A4B-1C2D3E4F5A6B", 36));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6B", 36));
    /* Short, long, empty. */
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6", 35));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6bc", 37));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b", 35));
    assert_false(tsr_uuid_valid("", 0));
    assert_false(tsr_uuid_valid(NULL, 0));
    /* Dashes missing, moved or doubled. */
    assert_false(tsr_uuid_valid("0193a0b27c1e7d3f8a4b1c2d3e4f5a6b", 32));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b1-c2d3e4f5a6b", 36));
    assert_false(tsr_uuid_valid("0193a0b-27c1e-7d3f-8a4b-1c2d3e4f5a6b", 36));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a-b", 36));
    assert_false(tsr_uuid_valid("0193a0b2_7c1e_7d3f_8a4b_1c2d3e4f5a6b", 36));
    /* Non-hex characters, braces. */
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6g", 36));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6 ", 36));
    assert_false(tsr_uuid_valid("{193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6}", 36));
    assert_false(tsr_uuid_valid("0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6\0", 36));
}

static void test_new(void **state)
{
    enum { N = 100 };
    static char ids[N][TSR_UUID_LEN + 1];

    (void)state;
    for (int i = 0; i < N; i++) {
        tsr_uuid7_new(ids[i]);
        assert_int_equal(strlen(ids[i]), TSR_UUID_LEN);
        assert_true(tsr_uuid_valid(ids[i], TSR_UUID_LEN));
        assert_int_equal(ids[i][14], '7');
        assert_non_null(strchr("89ab", ids[i][19]));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
}

/* The time prefix is the current time in ms. */
static void test_new_time(void **state)
{
    char id[TSR_UUID_LEN + 1];
    char hex[13];

    (void)state;
    int64_t before = tsr_time_now_ms();
    tsr_uuid7_new(id);
    int64_t after = tsr_time_now_ms();
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    int64_t ms = (int64_t)strtoull(hex, NULL, 16);
    assert_true(ms >= before && ms <= after);
}

/* Ids made in later milliseconds sort after earlier ones, as text. */
static void test_new_ordered(void **state)
{
    char prev[TSR_UUID_LEN + 1];
    char next[TSR_UUID_LEN + 1];

    (void)state;
    for (int round = 0; round < 5; round++) {
        tsr_uuid7_new(prev);
        int64_t ms = tsr_time_now_ms();
        while (tsr_time_now_ms() <= ms + 1)
            ;
        tsr_uuid7_new(next);
        if (strcmp(prev, next) >= 0)
            fail_msg("%s made before %s sorts after it", prev, next);
    }
}

static void test_bytes_round_trip(void **state)
{
    static const uint8_t kat[TSR_UUID_BYTES] = {0x01, 0x93, 0xa0, 0xb2, 0x7c, 0x1e, 0x7d, 0x3f,
                                                0x8a, 0x4b, 0x1c, 0x2d, 0x3e, 0x4f, 0x5a, 0x6b};
    uint8_t bytes[TSR_UUID_BYTES];
    char text[TSR_UUID_LEN + 1], back[TSR_UUID_LEN + 1];

    (void)state;
    tsr_uuid_from_bytes(kat, text);
    assert_string_equal(text, "0193a0b2-7c1e-7d3f-8a4b-1c2d3e4f5a6b");
    tsr_uuid_to_bytes(text, bytes);
    assert_memory_equal(bytes, kat, sizeof(kat));
    for (int i = 0; i < 1000; i++) {
        tsr_uuid7_new(text);
        tsr_uuid_to_bytes(text, bytes);
        tsr_uuid_from_bytes(bytes, back);
        assert_string_equal(back, text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_kat),
        cmocka_unit_test(test_format_version_variant),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_new_time),
        cmocka_unit_test(test_new_ordered),
        cmocka_unit_test(test_bytes_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
