/* test_terminal.c -- the pure rules of JT/T 808 terminals (dispatch/core/terminal.c): which
 * ids may be registered, ids compared by their significant digits (the 2013 header pads to 12
 * digits, the 2019 one to 20), plates compared without spaces, dashes, middle dots and ASCII
 * case, and the authentication code (its form, its digest, the constant-time check).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/terminal.h"

#include <string.h>

static void test_id_valid(void **state)
{
    (void)state;
    assert_true(terminal_id_valid("13912345678"));            /* 11 digits */
    assert_true(terminal_id_valid("013912345678"));           /* 12, as the 2013 header */
    assert_true(terminal_id_valid("00000000013912345678"));   /* 20, as the 2019 header */
    assert_false(terminal_id_valid("1391234567"));            /* 10 */
    assert_false(terminal_id_valid("000000000139123456789")); /* 21 */
    assert_false(terminal_id_valid("1391234567a"));
    assert_false(terminal_id_valid("4eb6fb4afd9e")); /* a packed IMEI: not BCD */
    assert_false(terminal_id_valid("00000000000"));
    assert_false(terminal_id_valid(""));
    assert_false(terminal_id_valid(NULL));
}

static void test_id_significant(void **state)
{
    (void)state;
    assert_string_equal(terminal_id_significant("013912345678"), "13912345678");
    assert_string_equal(terminal_id_significant("00000000013912345678"), "13912345678");
    assert_string_equal(terminal_id_significant("13912345678"), "13912345678");
    assert_string_equal(terminal_id_significant("005704455529"), "5704455529");
    assert_null(terminal_id_significant("000000000000"));
    assert_null(terminal_id_significant("12 45"));
    assert_null(terminal_id_significant("123456789012345678901"));
    assert_true(terminal_id_same("013912345678", "13912345678"));
    assert_true(terminal_id_same("00000000013912345678", "013912345678"));
    assert_false(terminal_id_same("13912345678", "13912345679"));
    assert_false(terminal_id_same("139123456780", "13912345678")); /* trailing zeros count */
    assert_false(terminal_id_same("000000000000", "000000000000"));
}

static void test_plate_same(void **state)
{
    (void)state;
    assert_true(terminal_plate_same("蒙E12345", "蒙E12345"));
    assert_true(terminal_plate_same("蒙E·12345", "蒙E12345"));
    assert_true(terminal_plate_same("蒙e 12-345", "蒙E12345"));
    assert_true(terminal_plate_same("MB-12345", "mb 12345"));
    assert_false(terminal_plate_same("蒙E12345", "蒙E12346"));
    assert_false(terminal_plate_same("蒙E12345", "蒙E1234"));
    assert_false(terminal_plate_same("粤E12345", "蒙E12345"));
    /* Only ASCII folds: the province character is compared byte for byte. */
    assert_false(terminal_plate_same("ＭB12345", "MB12345"));
    assert_false(terminal_plate_same("", ""));
    assert_false(terminal_plate_same(" - ", "-"));
    assert_false(terminal_plate_same(NULL, "MB12345"));
}

static void test_code(void **state)
{
    (void)state;
    char a[TERMINAL_CODE_LEN + 1], b[TERMINAL_CODE_LEN + 1];
    assert_int_equal(terminal_code_new(a), 0);
    assert_int_equal(terminal_code_new(b), 0);
    assert_int_equal(strlen(a), TERMINAL_CODE_LEN);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < TERMINAL_CODE_LEN; i++)
        assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]));
    assert_true(terminal_code_acceptable(a));
    char dig[65];
    assert_int_equal(terminal_code_digest((const uint8_t *)a, strlen(a), dig), 0);
    assert_int_equal(strlen(dig), 64);
    assert_true(terminal_code_matches((const uint8_t *)a, strlen(a), dig));
    assert_false(terminal_code_matches((const uint8_t *)b, strlen(b), dig));
    assert_false(terminal_code_matches((const uint8_t *)a, strlen(a) - 1, dig));
    assert_false(terminal_code_matches((const uint8_t *)a, strlen(a), ""));
    assert_false(terminal_code_matches(NULL, 0, dig));
    /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
    assert_int_equal(terminal_code_digest((const uint8_t *)"abc", 3, dig), 0);
    assert_string_equal(dig, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_false(terminal_code_acceptable(""));
    assert_false(terminal_code_acceptable("with space"));
    assert_false(terminal_code_acceptable("密码"));
    assert_true(terminal_code_acceptable("authentication"));
    char longest[TERMINAL_CODE_MAX + 2];
    memset(longest, 'x', sizeof(longest) - 1);
    longest[TERMINAL_CODE_MAX + 1] = '\0';
    assert_false(terminal_code_acceptable(longest));
    longest[TERMINAL_CODE_MAX] = '\0';
    assert_true(terminal_code_acceptable(longest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_id_significant),
        cmocka_unit_test(test_plate_same),
        cmocka_unit_test(test_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
