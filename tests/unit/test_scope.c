/* test_scope.c - unit tests for core/scope.c: names, reserved names, lists */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/scope.h"

static bool valid(const char *s)
{
    return tsr_scope_name_valid(s, strlen(s));
}

static bool has(const char *list, const char *s)
{
    return tsr_scopes_has(list, strlen(list), s, strlen(s));
}

static void test_builtins(void **state)
{
    static const char *const want[] = {"global",        "tokens:read", "tokens:write",
                                       "activity:read", "user:read",   "introspect"};

    (void)state;
    assert_int_equal(tsr_builtin_scope_count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < tsr_builtin_scope_count; i++) {
        const char *d = tsr_builtin_scopes[i].description;

        assert_string_equal(tsr_builtin_scopes[i].name, want[i]);
        assert_true(valid(want[i]));
        /* One sentence for people: not empty, no full stop, no line break. */
        assert_non_null(d);
        assert_true(strlen(d) > 10);
        assert_int_not_equal(d[strlen(d) - 1], '.');
        assert_null(strchr(d, '\n'));
        assert_ptr_equal(tsr_scope_builtin(want[i], strlen(want[i])), &tsr_builtin_scopes[i]);
    }
    assert_null(tsr_scope_builtin("admin", 5));
    assert_null(tsr_scope_builtin("orders:read", 11));
    assert_null(tsr_scope_builtin("tokens:rea", 10));
    assert_null(tsr_scope_builtin("tokens:read.x", 13));
    assert_null(tsr_scope_builtin("GLOBAL", 6));
    assert_null(tsr_scope_builtin("", 0));
    assert_null(tsr_scope_builtin(NULL, 0));
    /* Only the len bytes count, not what follows them. */
    assert_ptr_equal(tsr_scope_builtin("globalx", 6), &tsr_builtin_scopes[0]);
}

static void test_every_byte(void **state)
{
    char s[3] = {'a', 0, 'b'};

    (void)state;
    for (int c = 0; c < 256; c++) {
        bool inner = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                     c == ':' || c == '-';
        bool first = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        s[1] = (char)c;
        if (tsr_scope_name_valid(s, 3) != inner)
            fail_msg("byte 0x%02x inside a name: got %d, want %d", c, !inner, inner);
        s[1] = 'b';
        s[0] = (char)c;
        if (tsr_scope_name_valid(s, 3) != first)
            fail_msg("byte 0x%02x first in a name: got %d, want %d", c, !first, first);
        if (tsr_scope_name_valid(s, 1) != first)
            fail_msg("byte 0x%02x alone: got %d, want %d", c, !first, first);
        s[0] = 'a';
    }
}

static void test_names(void **state)
{
    char name[TSR_SCOPE_NAME_MAX + 2];

    (void)state;
    assert_true(valid("orders:read"));
    assert_true(valid("a"));
    assert_true(valid("7"));
    assert_true(valid("9-lives_x.y:z"));
    assert_true(valid("a:"));
    assert_true(valid("a--"));
    assert_false(valid(""));
    assert_false(valid("_orders"));
    assert_false(valid(".orders"));
    assert_false(valid(":orders"));
    assert_false(valid("-orders"));
    assert_false(valid("Orders:read"));
    assert_false(valid("orders:READ"));
    assert_false(valid("orders read"));
    assert_false(valid("orders/read"));
    assert_false(valid("orders:read "));
    assert_false(valid("ordérs"));
    assert_false(tsr_scope_name_valid(NULL, 0));
    assert_false(tsr_scope_name_valid(NULL, 3));
    assert_false(tsr_scope_name_valid("a\0b", 3));
    /* 64 bytes is the limit, 65 is one too many. */
    memset(name, 'x', sizeof(name));
    assert_true(tsr_scope_name_valid(name, TSR_SCOPE_NAME_MAX));
    assert_false(tsr_scope_name_valid(name, TSR_SCOPE_NAME_MAX + 1));
    assert_false(tsr_scope_name_valid(name, (size_t)-1));
}

static void test_reserved(void **state)
{
    (void)state;
    for (size_t i = 0; i < tsr_builtin_scope_count; i++)
        assert_true(
            tsr_scope_reserved(tsr_builtin_scopes[i].name, strlen(tsr_builtin_scopes[i].name)));
    assert_true(tsr_scope_reserved("admin", 5));
    assert_true(tsr_scope_reserved("global", 6));
    assert_false(tsr_scope_reserved("admins", 6));
    assert_false(tsr_scope_reserved("admi", 4));
    assert_false(tsr_scope_reserved("global:read", 11));
    assert_false(tsr_scope_reserved("orders:read", 11));
    assert_false(tsr_scope_reserved("tokens:delete", 13));
    assert_false(tsr_scope_reserved("", 0));
    assert_false(tsr_scope_reserved(NULL, 0));
    /* "adminx" cut at 5 is "admin". */
    assert_true(tsr_scope_reserved("adminx", 5));
}

static void test_has(void **state)
{
    const char *list = "activity:read orders:read tokens:read";

    (void)state;
    assert_true(has(list, "activity:read"));
    assert_true(has(list, "orders:read"));
    assert_true(has(list, "tokens:read"));
    assert_true(has("global", "global"));
    /* Parts, prefixes, extensions and spans of names are not names. */
    assert_false(has(list, "orders"));
    assert_false(has(list, "read"));
    assert_false(has(list, "tokens:rea"));
    assert_false(has(list, "tokens:reads"));
    assert_false(has(list, "activity:read orders:read"));
    assert_false(has(list, "ead orders:r"));
    assert_false(has(list, " "));
    assert_false(has(list, ""));
    assert_false(has("", ""));
    assert_false(has("", "global"));
    assert_false(has("orders:read.all", "orders:read"));
    assert_false(has("xorders:read", "orders:read"));
    /* Only list_len bytes of the list count. */
    assert_false(tsr_scopes_has("a b", 1, "b", 1));
    assert_true(tsr_scopes_has("a b", 3, "b", 1));
    assert_false(tsr_scopes_has("ab", 1, "ab", 2));
    assert_false(tsr_scopes_has(NULL, 0, "a", 1));
    assert_false(tsr_scopes_has("a", 1, NULL, 0));
}

static void test_join_sorts(void **state)
{
    const char *names[] = {"tokens:read", "orders:read", "orders", "activity:read", "orders:"};
    size_t lens[5], order[5];
    char out[128];
    static const size_t want_order[] = {3, 2, 4, 1, 0};

    (void)state;
    for (size_t i = 0; i < 5; i++)
        lens[i] = strlen(names[i]);
    assert_int_equal(tsr_scopes_join(names, lens, 5, order, out, sizeof(out)),
                     strlen("activity:read orders orders: orders:read tokens:read"));
    assert_string_equal(out, "activity:read orders orders: orders:read tokens:read");
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(order[k], want_order[k]);
    for (size_t i = 0; i < 5; i++)
        assert_true(tsr_scopes_has(out, strlen(out), names[i], lens[i]));
}

static void test_join_lens_not_nul(void **state)
{
    /* The names are lens[i] bytes, not NUL-terminated strings. */
    const char *names[] = {"b:write-and-more", "a:readxx"};
    size_t lens[] = {7, 6}, order[2];
    char out[32];

    (void)state;
    assert_int_equal(tsr_scopes_join(names, lens, 2, order, out, sizeof(out)), 14);
    assert_string_equal(out, "a:read b:write");
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
}

static void test_join_byte_order(void **state)
{
    /* Byte order: digits before ':' before letters, '-' and '.' first. */
    const char *names[] = {"a_", "a:", "a9", "a.", "a-", "a"};
    size_t lens[6], order[6];
    char out[32];

    (void)state;
    for (size_t i = 0; i < 6; i++)
        lens[i] = strlen(names[i]);
    assert_int_equal(tsr_scopes_join(names, lens, 6, order, out, sizeof(out)), 16);
    assert_string_equal(out, "a a- a. a9 a: a_");
}

static void test_join_edges(void **state)
{
    const char *names[] = {"global", "b", "a"};
    size_t lens[] = {6, 1, 1}, order[3] = {99, 99, 99};
    char out[16];

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(tsr_scopes_join(names, lens, 0, order, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(order[0], 99);
    assert_int_equal(tsr_scopes_join(names, lens, 1, order, out, sizeof(out)), 6);
    assert_string_equal(out, "global");
    assert_int_equal(order[0], 0);
    /* "a b global" is 10 bytes and its NUL: 11 fits, 10 does not. */
    assert_int_equal(tsr_scopes_join(names, lens, 3, order, out, 11), 10);
    assert_string_equal(out, "a b global");
    memset(out, 'x', sizeof(out));
    assert_int_equal(tsr_scopes_join(names, lens, 3, order, out, 10), (size_t)-1);
    assert_string_equal(out, "");
    assert_int_equal(tsr_scopes_join(names, lens, 0, order, out, 0), (size_t)-1);
    /* Equal names keep their order. */
    {
        const char *dup[] = {"x", "a", "x"};
        size_t dl[] = {1, 1, 1}, dord[3];

        assert_int_equal(tsr_scopes_join(dup, dl, 3, dord, out, sizeof(out)), 5);
        assert_string_equal(out, "a x x");
        assert_int_equal(dord[0], 1);
        assert_int_equal(dord[1], 0);
        assert_int_equal(dord[2], 2);
    }
}

static void test_join_most(void **state)
{
    /* TSR_SCOPES_MAX names of TSR_SCOPE_NAME_MAX bytes fill
     * TSR_SCOPES_TEXT_MAX exactly. */
    static char storage[TSR_SCOPES_MAX][TSR_SCOPE_NAME_MAX];
    static char out[TSR_SCOPES_TEXT_MAX + 1];
    const char *names[TSR_SCOPES_MAX];
    size_t lens[TSR_SCOPES_MAX], order[TSR_SCOPES_MAX];

    (void)state;
    for (size_t i = 0; i < TSR_SCOPES_MAX; i++) {
        memset(storage[i], 'a', TSR_SCOPE_NAME_MAX);
        storage[i][0] = (char)('a' + (TSR_SCOPES_MAX - 1 - i) % 26);
        storage[i][1] = (char)('a' + (TSR_SCOPES_MAX - 1 - i) / 26);
        names[i] = storage[i];
        lens[i] = TSR_SCOPE_NAME_MAX;
    }
    assert_int_equal(tsr_scopes_join(names, lens, TSR_SCOPES_MAX, order, out, sizeof(out)),
                     TSR_SCOPES_TEXT_MAX);
    assert_int_equal(strlen(out), TSR_SCOPES_TEXT_MAX);
    for (size_t k = 0; k + 1 < TSR_SCOPES_MAX; k++)
        assert_true(memcmp(names[order[k]], names[order[k + 1]], TSR_SCOPE_NAME_MAX) < 0);
    for (size_t i = 0; i < TSR_SCOPES_MAX; i++)
        assert_true(tsr_scopes_has(out, strlen(out), names[i], lens[i]));
    assert_int_equal(tsr_scopes_join(names, lens, TSR_SCOPES_MAX, order, out, sizeof(out) - 1),
                     (size_t)-1);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_has),
        cmocka_unit_test(test_join_sorts),
        cmocka_unit_test(test_join_lens_not_nul),
        cmocka_unit_test(test_join_byte_order),
        cmocka_unit_test(test_join_edges),
        cmocka_unit_test(test_join_most),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
