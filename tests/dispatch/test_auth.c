/* test_auth.c -- unit tests of dispatch/core/auth.c: scrypt against RFC 7914's vectors, password
 * hashing and its encoding (one case per malformed encoding), tokens and device secrets
 * (SHA-256 against FIPS 180-2's vectors), the constant-time comparisons, the whole access
 * policy table, and the JSON mapping of principals and users.
 *
 * Oracles: RFC 7914 section 12 (scrypt), FIPS 180-2 appendix B (SHA-256), and encodings made
 * with Python's hashlib.scrypt (hashes at lower parameters than ours, to check that old hashes
 * still verify and that our encoding is read the way another implementation writes it).
 *
 * The test links with -Wl,--wrap=CRYPTO_memcmp (tests/dispatch/CMakeLists.txt): auth.c's calls
 * to CRYPTO_memcmp land in __wrap_CRYPTO_memcmp below, which counts them and records the
 * length compared before calling the real one. */
#include "core/auth.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- CRYPTO_memcmp spy ---- */

int __real_CRYPTO_memcmp(const void *a, const void *b, size_t len);
int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len);

static int memcmp_calls;
static size_t memcmp_last_len;

int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    memcmp_calls++;
    memcmp_last_len = len;
    return __real_CRYPTO_memcmp(a, b, len);
}

/* ---- helpers ---- */

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- scrypt primitive: RFC 7914 section 12 ---- */

struct scrypt_vector {
    const char *pw, *salt;
    unsigned ln, r, p;
    const char *dk_hex; /* 64 bytes */
};

static const struct scrypt_vector rfc7914[] = {
    {"", "", 4, 1, 1,
     "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
     "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"},
    {"password", "NaCl", 10, 8, 16,
     "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
     "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
    {"pleaseletmein", "SodiumChloride", 14, 8, 1,
     "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
     "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"},
    /* The fourth vector (N = 2^20, r = 8: 1 GiB) is beyond AUTH_SCRYPT_MAXMEM on purpose. */
};

static void test_scrypt_rfc7914_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc7914) / sizeof(rfc7914[0]); i++) {
        const struct scrypt_vector *v = &rfc7914[i];
        uint8_t want[64], got[64];
        hex_to_bytes(v->dk_hex, want, sizeof(want));
        assert_int_equal(auth_scrypt((const uint8_t *)v->pw, strlen(v->pw),
                                     (const uint8_t *)v->salt, strlen(v->salt), v->ln, v->r, v->p,
                                     got, sizeof(got)),
                         0);
        assert_memory_equal(got, want, sizeof(want));
    }
}

static void test_scrypt_refuses_out_of_limit_parameters(void **state)
{
    (void)state;
    uint8_t out[32];
    const uint8_t pw[] = "pw", salt[] = "salt";
    /* ln, r, p */
    const unsigned bad[][3] = {
        {0, 8, 1},  /* N = 1 */
        {21, 2, 1}, /* ln above AUTH_SCRYPT_LN_MAX */
        {4, 0, 1},  /* r = 0 */
        {4, 33, 1}, /* r above AUTH_SCRYPT_R_MAX */
        {4, 1, 0},  /* p = 0 */
        {4, 1, 17}, /* p above AUTH_SCRYPT_P_MAX */
        {16, 1, 1}, /* N >= 2^(16 r) (RFC 7914) */
        {18, 8, 1}, /* 256 MiB > AUTH_SCRYPT_MAXMEM */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_scrypt(pw, 2, salt, 4, bad[i][0], bad[i][1], bad[i][2], out, 32), -1);
    assert_int_equal(auth_scrypt(pw, 2, salt, 4, 4, 1, 1, out, 0), -1);
    assert_int_equal(auth_scrypt(pw, 2, salt, 4, 4, 1, 1, NULL, 32), -1);
}

/* ---- password hashes ---- */

#define CURRENT_PREFIX "scrypt$ln=14,r=8,p=1$"
/* 22 + 1 + 43 characters of salt and key after the prefix */
#define CURRENT_LEN (sizeof(CURRENT_PREFIX) - 1 + 22 + 1 + 43)

static void test_hash_verify_round_trip(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX];
    assert_int_equal(auth_password_hash("correct horse battery", h, sizeof(h)), 0);
    assert_int_equal(strncmp(h, CURRENT_PREFIX, strlen(CURRENT_PREFIX)), 0);
    assert_int_equal(strlen(h), CURRENT_LEN);
    assert_int_equal(auth_password_verify("correct horse battery", h), 1);
    assert_int_equal(auth_password_needs_rehash(h), 0);

    /* any byte but NUL, and the longest password allowed */
    char long_pw[AUTH_PASSWORD_MAX + 1];
    memset(long_pw, 0xE6, AUTH_PASSWORD_MAX);
    long_pw[AUTH_PASSWORD_MAX] = '\0';
    assert_int_equal(auth_password_hash(long_pw, h, sizeof(h)), 0);
    assert_int_equal(auth_password_verify(long_pw, h), 1);
}

static void test_hash_wrong_password(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX];
    assert_int_equal(auth_password_hash("correct horse battery", h, sizeof(h)), 0);
    assert_int_equal(auth_password_verify("correct horse batterY", h), 0);
    assert_int_equal(auth_password_verify("correct horse battery ", h), 0);
    assert_int_equal(auth_password_verify("correct horse batter", h), 0);
    assert_int_equal(auth_password_verify("", h), 0);
    assert_int_equal(auth_password_verify(NULL, h), 0);
    char too_long[AUTH_PASSWORD_MAX + 2];
    memset(too_long, 'x', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    assert_int_equal(auth_password_verify(too_long, h), 0);
}

static void test_hash_salted(void **state)
{
    (void)state;
    char a[AUTH_HASH_MAX], b[AUTH_HASH_MAX];
    assert_int_equal(auth_password_hash("same password", a, sizeof(a)), 0);
    assert_int_equal(auth_password_hash("same password", b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    /* the salts differ, not just the keys */
    assert_memory_not_equal(a + strlen(CURRENT_PREFIX), b + strlen(CURRENT_PREFIX), 22);
    assert_int_equal(auth_password_verify("same password", a), 1);
    assert_int_equal(auth_password_verify("same password", b), 1);
}

/* Written by Python's hashlib.scrypt (lower parameters than ours, and other lengths):
 *   salt = bytes(range(0xa0, 0xb0)); scrypt(b"old-params-pass", salt, n=1024, r=8, p=1, 32)
 *   salt = bytes(range(32));         scrypt(b"old-params-pass", salt, n=2048, r=4, p=2, 64) */
#define OLD_SALT "oKGio6SlpqeoqaqrrK2urw"
#define OLD_KEY  "1x1ZxrpbjEeoNBm7CyuSnW2q94E5plsC3E0FcHtZaF8"
#define OLD_HASH "scrypt$ln=10,r=8,p=1$" OLD_SALT "$" OLD_KEY
#define OLD_HASH_2                                                                                 \
    "scrypt$ln=11,r=4,p=2$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8$wX5vLiwDOHcBuqndzG2Z6x+hwRL" \
    "ElAGONPhneza6p72urRYuRb4UnVSEfrTNz4ihGf6+0MYeVrRg3hRjQvHccQ"

static void test_hash_lower_parameters_still_verify(void **state)
{
    (void)state;
    assert_int_equal(auth_password_verify("old-params-pass", OLD_HASH), 1);
    assert_int_equal(auth_password_verify("old-params-pasS", OLD_HASH), 0);
    assert_int_equal(auth_password_needs_rehash(OLD_HASH), 1);
    assert_int_equal(auth_password_verify("old-params-pass", OLD_HASH_2), 1);
    assert_int_equal(auth_password_verify("old-params-pasS", OLD_HASH_2), 0);
    assert_int_equal(auth_password_needs_rehash(OLD_HASH_2), 1);

    /* our own hash at other parameters */
    const struct auth_scrypt_params low = {10, 8, 1};
    char h[AUTH_HASH_MAX];
    assert_int_equal(auth_password_hash_with("low cost pass", &low, h, sizeof(h)), 0);
    assert_int_equal(strncmp(h, "scrypt$ln=10,r=8,p=1$", 21), 0);
    assert_int_equal(auth_password_verify("low cost pass", h), 1);
    assert_int_equal(auth_password_needs_rehash(h), 1);
}

static void test_hash_refusals(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX];
    char too_long[AUTH_PASSWORD_MAX + 2];
    memset(too_long, 'x', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    assert_int_equal(auth_password_hash(NULL, h, sizeof(h)), -1);
    assert_string_equal(h, "");
    assert_int_equal(auth_password_hash(too_long, h, sizeof(h)), -1);
    assert_int_equal(auth_password_hash("fits exactly", h, CURRENT_LEN), -1); /* no room for NUL */
    assert_string_equal(h, "");
    assert_int_equal(auth_password_hash("fits exactly", h, CURRENT_LEN + 1), 0);
    assert_int_equal(auth_password_hash("pw", NULL, 0), -1);
    const struct auth_scrypt_params bad[] = {{0, 8, 1}, {14, 0, 1}, {14, 8, 0}, {18, 8, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_password_hash_with("pw", &bad[i], h, sizeof(h)), -1);
    assert_int_equal(auth_password_hash_with("pw", NULL, h, sizeof(h)), -1);
}

static void test_dummy_hash(void **state)
{
    (void)state;
    const char *d = auth_password_dummy_hash();
    assert_int_equal(auth_password_needs_rehash(d), 0); /* same cost as a real verification */
    assert_int_equal(auth_password_verify("", d), 0);
    assert_int_equal(auth_password_verify("correct horse battery", d), 0);
}

/* One hash at the current parameters, timed (printed, never asserted: see auth.h). */
static void test_hash_time(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX];
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = now_ms();
        assert_int_equal(auth_password_hash("time me please", h, sizeof(h)), 0);
        double dt = now_ms() - t0;
        if (dt < best)
            best = dt;
    }
    double t0 = now_ms();
    assert_int_equal(auth_password_verify("time me please", h), 1);
    double verify_ms = now_ms() - t0;
    print_message("auth: one scrypt hash (N=2^%d, r=%d, p=%d) takes %.1f ms (best of 3); "
                  "one verify %.1f ms\n",
                  AUTH_SCRYPT_LN, AUTH_SCRYPT_R, AUTH_SCRYPT_P, best, verify_ms);
}

/* ---- malformed encodings: one case each; verify and needs_rehash both say -1 ---- */

static void check_malformed(const char *enc)
{
    assert_int_equal(auth_password_verify("old-params-pass", enc), -1);
    assert_int_equal(auth_password_needs_rehash(enc), -1);
}

#define P "scrypt$ln=10,r=8,p=1$"
#define MALFORMED_CASES(X)                                                                         \
    X(empty, "")                                                                                   \
    X(scheme_only, "scrypt")                                                                       \
    X(scheme_and_dollar, "scrypt$")                                                                \
    X(params_only, "scrypt$ln=10,r=8,p=1")                                                         \
    X(wrong_scheme, "bcrypt$ln=10,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                  \
    X(uppercase_scheme, "SCRYPT$ln=10,r=8,p=1$" OLD_SALT "$" OLD_KEY)                              \
    X(phc_leading_dollar, "$" P OLD_SALT "$" OLD_KEY)                                              \
    X(missing_ln, "scrypt$r=8,p=1$" OLD_SALT "$" OLD_KEY)                                          \
    X(params_out_of_order, "scrypt$r=8,ln=10,p=1$" OLD_SALT "$" OLD_KEY)                           \
    X(space_in_params, "scrypt$ln=10, r=8,p=1$" OLD_SALT "$" OLD_KEY)                              \
    X(leading_zero, "scrypt$ln=010,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                 \
    X(plus_sign, "scrypt$ln=+10,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                    \
    X(not_a_number, "scrypt$ln=ten,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                 \
    X(empty_number, "scrypt$ln=,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                    \
    X(number_wraps_32_bits, "scrypt$ln=4294967306,r=8,p=1$" OLD_SALT "$" OLD_KEY)                  \
    X(ln_zero, "scrypt$ln=0,r=8,p=1$" OLD_SALT "$" OLD_KEY)                                        \
    X(ln_too_big, "scrypt$ln=21,r=2,p=1$" OLD_SALT "$" OLD_KEY)                                    \
    X(r_zero, "scrypt$ln=10,r=0,p=1$" OLD_SALT "$" OLD_KEY)                                        \
    X(r_too_big, "scrypt$ln=10,r=33,p=1$" OLD_SALT "$" OLD_KEY)                                    \
    X(p_zero, "scrypt$ln=10,r=8,p=0$" OLD_SALT "$" OLD_KEY)                                        \
    X(p_too_big, "scrypt$ln=10,r=8,p=17$" OLD_SALT "$" OLD_KEY)                                    \
    X(memory_over_cap, "scrypt$ln=18,r=8,p=1$" OLD_SALT "$" OLD_KEY)                               \
    X(n_too_big_for_r, "scrypt$ln=16,r=1,p=1$" OLD_SALT "$" OLD_KEY)                               \
    X(missing_key, P OLD_SALT)                                                                     \
    X(empty_salt, P "$" OLD_KEY)                                                                   \
    X(empty_key, P OLD_SALT "$")                                                                   \
    X(extra_field, P OLD_SALT "$" OLD_KEY "$x")                                                    \
    X(salt_too_short, P "oKGio6Slpqc$" OLD_KEY)                                                    \
    X(salt_too_long, P "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g$" OLD_KEY)                    \
    X(key_too_short, P OLD_SALT "$AAECAwQFBgc")                                                    \
    X(key_too_long, P OLD_SALT "$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v" \
                               "MDEyMzQ1Njc4OTo7PD0+P0A")                                          \
    X(key_length_4k_plus_1, P OLD_SALT "$1x1ZxrpbjEeoNBm7CyuSnW2q94E5plsC3E0FcHtZa")               \
    X(bad_char_in_salt, P "oKGio6Slpqeo*aqrrK2urw$" OLD_KEY)                                       \
    X(padded_key, P OLD_SALT "$" OLD_KEY "=")                                                      \
    X(url_alphabet_in_salt, P "oKGio6Slpqeo-aqrrK2urw$" OLD_KEY)                                   \
    X(non_canonical_salt, P "oKGio6SlpqeoqaqrrK2urx$" OLD_KEY)                                     \
    X(non_canonical_key, P OLD_SALT "$1x1ZxrpbjEeoNBm7CyuSnW2q94E5plsC3E0FcHtZaF9")                \
    X(trailing_newline, OLD_HASH "\n")                                                             \
    X(longer_than_hash_max, P OLD_SALT                                                             \
      "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"           \
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

#define MALFORMED_TEST(name, enc)                                                                  \
    static void test_malformed_##name(void **state)                                                \
    {                                                                                              \
        (void)state;                                                                               \
        check_malformed(enc);                                                                      \
    }
MALFORMED_CASES(MALFORMED_TEST)

static void test_malformed_null(void **state)
{
    (void)state;
    check_malformed(NULL);
}

/* The base of the cases above is well formed: each case fails for its own reason. */
static void test_malformed_base_is_valid(void **state)
{
    (void)state;
    assert_int_equal(auth_password_verify("old-params-pass", P OLD_SALT "$" OLD_KEY), 1);
}

/* ---- password policy ---- */

static void test_password_policy(void **state)
{
    (void)state;
    char why[128];
    char max[AUTH_PASSWORD_MAX + 1], over[AUTH_PASSWORD_MAX + 2];
    memset(max, 'a', sizeof(max) - 1);
    max[sizeof(max) - 2] = 'b';
    max[sizeof(max) - 1] = '\0';
    memset(over, 'a', sizeof(over) - 1);
    over[0] = 'b';
    over[sizeof(over) - 1] = '\0';
    const struct {
        const char *pw;
        bool ok;
        const char *why;
    } cases[] = {
        {NULL, false, "no password"},
        {"", false, "password is shorter than 10 bytes"},
        {"123456789", false, "password is shorter than 10 bytes"},
        {"1234567890", true, ""},
        {"aaaaaaaaaa", false, "password is one character repeated"},
        {"aaaaaaaaab", true, ""},
        {"燃气安全送气", true, ""}, /* 6 characters, 18 bytes */
        {max, true, ""},
        {over, false, "password is longer than 256 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strcpy(why, "unchanged");
        assert_int_equal(auth_password_acceptable(cases[i].pw, why, sizeof(why)), cases[i].ok);
        assert_string_equal(why, cases[i].why);
    }
    assert_true(auth_password_acceptable("1234567890", NULL, 0));
}

/* ---- tokens and device secrets ---- */

static bool all_base64url(const char *s)
{
    for (; *s; s++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *s))
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_token_format_and_uniqueness(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*t)[AUTH_TOKEN_LEN + 1] = calloc(N, sizeof(*t));
    assert_non_null(t);
    for (int i = 0; i < N; i++) {
        assert_int_equal(auth_token_new(t[i]), 0);
        assert_int_equal(strlen(t[i]), AUTH_TOKEN_LEN);
        assert_true(all_base64url(t[i]));
        assert_true(auth_token_well_formed(t[i]));
    }
    qsort(t, N, sizeof(*t), cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(t[i - 1], t[i]);
    free(t);

    char s[AUTH_DEVICE_SECRET_LEN + 1], s2[AUTH_DEVICE_SECRET_LEN + 1];
    assert_int_equal(auth_device_secret_new(s), 0);
    assert_int_equal(auth_device_secret_new(s2), 0);
    assert_int_equal(strlen(s), AUTH_DEVICE_SECRET_LEN);
    assert_true(all_base64url(s));
    assert_string_not_equal(s, s2);
}

static void test_token_well_formed(void **state)
{
    (void)state;
    /* 32 zero bytes, then 31 zero bytes and 0xff */
    assert_true(auth_token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_true(auth_token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_w"));
    const char *bad[] = {
        NULL,
        "",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/w",  /* standard alphabet */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_x",  /* non-canonical last character */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA w",  /* space */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(auth_token_well_formed(bad[i]));
}

/* FIPS 180-2 appendix B.1, and the digest of the empty string. */
static void test_digest_known_answers(void **state)
{
    (void)state;
    char hex[AUTH_DIGEST_HEX_LEN + 1];
    assert_int_equal(auth_token_digest("abc", hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(auth_device_secret_digest("abc", hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(auth_token_digest("", hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(auth_token_digest(NULL, hex), -1);
    assert_string_equal(hex, "");
}

static void test_device_secret_verify(void **state)
{
    (void)state;
    char s[AUTH_DEVICE_SECRET_LEN + 1], other[AUTH_DEVICE_SECRET_LEN + 1];
    char d[AUTH_DIGEST_HEX_LEN + 1];
    assert_int_equal(auth_device_secret_new(s), 0);
    assert_int_equal(auth_device_secret_new(other), 0);
    assert_int_equal(auth_device_secret_digest(s, d), 0);
    assert_int_equal(auth_device_secret_verify(s, d), 1);
    assert_int_equal(auth_device_secret_verify(other, d), 0);
    assert_int_equal(auth_device_secret_verify(NULL, d), 0);
    assert_int_equal(auth_device_secret_verify("short", d), 0);
    assert_int_equal(auth_device_secret_verify(d, d), 0); /* the digest is not the secret */

    char upper[AUTH_DIGEST_HEX_LEN + 1];
    for (size_t i = 0; i <= AUTH_DIGEST_HEX_LEN; i++)
        upper[i] = (d[i] >= 'a' && d[i] <= 'f') ? (char)(d[i] - 'a' + 'A') : d[i];
    assert_int_equal(auth_device_secret_verify(s, upper), 1);

    /* a digest differing in its first or in its last byte */
    char first[AUTH_DIGEST_HEX_LEN + 1], last[AUTH_DIGEST_HEX_LEN + 1];
    memcpy(first, d, sizeof(d));
    memcpy(last, d, sizeof(d));
    first[0] = first[0] == '0' ? '1' : '0';
    last[63] = last[63] == '0' ? '1' : '0';
    assert_int_equal(auth_device_secret_verify(s, first), 0);
    assert_int_equal(auth_device_secret_verify(s, last), 0);

    char bad_len[AUTH_DIGEST_HEX_LEN + 1];
    memcpy(bad_len, d, sizeof(d));
    bad_len[63] = '\0';
    char bad_char[AUTH_DIGEST_HEX_LEN + 1];
    memcpy(bad_char, d, sizeof(d));
    bad_char[10] = 'g';
    assert_int_equal(auth_device_secret_verify(s, bad_len), -1);
    assert_int_equal(auth_device_secret_verify(s, bad_char), -1);
    assert_int_equal(auth_device_secret_verify(s, ""), -1);
    assert_int_equal(auth_device_secret_verify(s, NULL), -1);
}

/* Every comparison of secret-derived bytes goes through CRYPTO_memcmp, over the whole key or
 * digest, whether or not it matches. */
static void test_constant_time_compare_used(void **state)
{
    (void)state;
    char s[AUTH_DEVICE_SECRET_LEN + 1], d[AUTH_DIGEST_HEX_LEN + 1];
    assert_int_equal(auth_device_secret_new(s), 0);
    assert_int_equal(auth_device_secret_digest(s, d), 0);

    memcmp_calls = 0;
    memcmp_last_len = 0;
    assert_int_equal(auth_device_secret_verify(s, d), 1);
    assert_int_equal(memcmp_calls, 1);
    assert_int_equal(memcmp_last_len, 32);
    d[0] = d[0] == '0' ? '1' : '0';
    assert_int_equal(auth_device_secret_verify(s, d), 0);
    assert_int_equal(memcmp_calls, 2);
    assert_int_equal(memcmp_last_len, 32);

    memcmp_calls = 0;
    assert_int_equal(auth_password_verify("old-params-pass", OLD_HASH), 1);
    assert_int_equal(memcmp_calls, 1);
    assert_int_equal(memcmp_last_len, 32);
    assert_int_equal(auth_password_verify("wrong", OLD_HASH), 0);
    assert_int_equal(memcmp_calls, 2);
    assert_int_equal(memcmp_last_len, 32);
    assert_int_equal(auth_password_verify("old-params-pass", OLD_HASH_2), 1);
    assert_int_equal(memcmp_calls, 3);
    assert_int_equal(memcmp_last_len, 64);
}

/* ---- roles ---- */

static void test_role_names(void **state)
{
    (void)state;
    const char *names[] = {"admin", "dispatcher", "auditor"};
    for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
        assert_string_equal(auth_role_name((enum auth_role)r), names[r]);
        assert_int_equal(auth_role_parse(names[r]), r);
    }
    assert_string_equal(auth_role_name(AUTH_ROLE_COUNT), "?");
    assert_string_equal(auth_role_name((enum auth_role) - 1), "?");
    assert_int_equal(auth_role_parse("Admin"), -1);
    assert_int_equal(auth_role_parse(""), -1);
    assert_int_equal(auth_role_parse(NULL), -1);
}

/* ---- the access policy ---- */

#define T_NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

static struct auth_principal principal(enum auth_role role, int64_t expires_ms)
{
    struct auth_principal p;
    memset(&p, 0, sizeof(p));
    strcpy(p.user, role == AUTH_ROLE_ADMIN        ? "root"
                   : role == AUTH_ROLE_DISPATCHER ? "disp-1"
                                                  : "aud-1");
    p.role = role;
    if (role == AUTH_ROLE_DISPATCHER)
        strcpy(p.enterprise_id, "ent-a");
    p.expires_ms = expires_ms;
    return p;
}

enum where { OWN, OTHER, NONE };

static const char *where_id(enum where w)
{
    return w == OWN ? "ent-a" : w == OTHER ? "ent-b" : NULL;
}

/* The expected policy, written out row by row (not derived from auth.c's table). OWN is the
 * dispatcher's enterprise, ent-a; for an admin or auditor it is just some enterprise. */
static const struct {
    enum auth_role role;
    enum auth_action action;
    enum where where;
    int status; /* 0: allowed */
    const char *code;
} policy_rows[] = {
    {AUTH_ROLE_ADMIN, AUTH_READ, OWN, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_READ, OTHER, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_READ, NONE, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_WRITE, OWN, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_WRITE, OTHER, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_WRITE, NONE, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_ADMIN, OWN, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_ADMIN, OTHER, 0, NULL},
    {AUTH_ROLE_ADMIN, AUTH_ADMIN, NONE, 0, NULL},

    {AUTH_ROLE_DISPATCHER, AUTH_READ, OWN, 0, NULL},
    {AUTH_ROLE_DISPATCHER, AUTH_READ, OTHER, 403, "wrong_enterprise"},
    {AUTH_ROLE_DISPATCHER, AUTH_READ, NONE, 403, "forbidden"},
    {AUTH_ROLE_DISPATCHER, AUTH_WRITE, OWN, 0, NULL},
    {AUTH_ROLE_DISPATCHER, AUTH_WRITE, OTHER, 403, "wrong_enterprise"},
    {AUTH_ROLE_DISPATCHER, AUTH_WRITE, NONE, 403, "forbidden"},
    {AUTH_ROLE_DISPATCHER, AUTH_ADMIN, OWN, 403, "forbidden"},
    {AUTH_ROLE_DISPATCHER, AUTH_ADMIN, OTHER, 403, "forbidden"},
    {AUTH_ROLE_DISPATCHER, AUTH_ADMIN, NONE, 403, "forbidden"},

    {AUTH_ROLE_AUDITOR, AUTH_READ, OWN, 0, NULL},
    {AUTH_ROLE_AUDITOR, AUTH_READ, OTHER, 0, NULL},
    {AUTH_ROLE_AUDITOR, AUTH_READ, NONE, 0, NULL},
    {AUTH_ROLE_AUDITOR, AUTH_WRITE, OWN, 403, "read_only"},
    {AUTH_ROLE_AUDITOR, AUTH_WRITE, OTHER, 403, "read_only"},
    {AUTH_ROLE_AUDITOR, AUTH_WRITE, NONE, 403, "read_only"},
    {AUTH_ROLE_AUDITOR, AUTH_ADMIN, OWN, 403, "read_only"},
    {AUTH_ROLE_AUDITOR, AUTH_ADMIN, OTHER, 403, "read_only"},
    {AUTH_ROLE_AUDITOR, AUTH_ADMIN, NONE, 403, "read_only"},
};

static void test_policy_table(void **state)
{
    (void)state;
    const size_t n = sizeof(policy_rows) / sizeof(policy_rows[0]);
    assert_int_equal(n, AUTH_ROLE_COUNT * AUTH_ACTION_COUNT * 3);
    for (size_t i = 0; i < n; i++) {
        for (int expired = 0; expired <= 1; expired++) {
            /* valid until T_NOW + 1 (the last allowed instant is T_NOW), or until T_NOW */
            struct auth_principal p = principal(policy_rows[i].role, T_NOW + (expired ? 0 : 1));
            struct auth_denial why;
            int rc =
                auth_check(&p, policy_rows[i].action, where_id(policy_rows[i].where), T_NOW, &why);
            int want_status = expired ? 401 : policy_rows[i].status;
            const char *want_code = expired ? "token_expired" : policy_rows[i].code;
            if (want_status == 0) {
                assert_int_equal(rc, 0);
                assert_int_equal(why.http_status, 0);
                assert_null(why.code);
            } else {
                assert_int_equal(rc, -1);
                assert_int_equal(why.http_status, want_status);
                assert_string_equal(why.code, want_code);
                assert_true(strlen(why.message) > 0);
            }
            /* the answer does not depend on being asked for a reason */
            assert_int_equal(
                auth_check(&p, policy_rows[i].action, where_id(policy_rows[i].where), T_NOW, NULL),
                rc);
        }
    }
}

static void test_policy_messages(void **state)
{
    (void)state;
    struct auth_principal p = principal(AUTH_ROLE_DISPATCHER, T_NOW + 1000);
    struct auth_denial why;
    assert_int_equal(auth_check(&p, AUTH_WRITE, "ent-b", T_NOW, &why), -1);
    assert_string_equal(why.message,
                        "dispatcher of enterprise ent-a may not write enterprise ent-b");
    assert_int_equal(auth_check(&p, AUTH_READ, NULL, T_NOW, &why), -1);
    assert_string_equal(why.message, "a dispatcher may not read resources outside an enterprise");
    p = principal(AUTH_ROLE_AUDITOR, T_NOW + 1000);
    assert_int_equal(auth_check(&p, AUTH_ADMIN, NULL, T_NOW, &why), -1);
    assert_string_equal(why.message, "auditor access is read-only");
}

static void expect_denied(const struct auth_principal *p, enum auth_action a, const char *ent,
                          int status, const char *code)
{
    struct auth_denial why;
    assert_int_equal(auth_check(p, a, ent, T_NOW, &why), -1);
    assert_int_equal(why.http_status, status);
    assert_string_equal(why.code, code);
}

static void test_policy_invalid_inputs(void **state)
{
    (void)state;
    expect_denied(NULL, AUTH_READ, NULL, 401, "unauthenticated");

    struct auth_principal p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    p.role = AUTH_ROLE_COUNT;
    expect_denied(&p, AUTH_READ, NULL, 401, "unauthenticated");
    p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    p.user[0] = '\0';
    expect_denied(&p, AUTH_READ, NULL, 401, "unauthenticated");
    p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    strcpy(p.user, "bad:user");
    expect_denied(&p, AUTH_READ, NULL, 401, "unauthenticated");
    p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    memset(p.user, 'u', sizeof(p.user)); /* not NUL-terminated */
    expect_denied(&p, AUTH_READ, NULL, 401, "unauthenticated");
    p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    strcpy(p.enterprise_id, "ent-a"); /* only dispatchers have one */
    expect_denied(&p, AUTH_READ, NULL, 401, "unauthenticated");
    p = principal(AUTH_ROLE_DISPATCHER, T_NOW + 1000);
    p.enterprise_id[0] = '\0'; /* a dispatcher without an enterprise */
    expect_denied(&p, AUTH_READ, "ent-a", 401, "unauthenticated");
    expect_denied(&p, AUTH_READ, "", 401, "unauthenticated");

    /* expiry is checked before the action and the scope */
    p = principal(AUTH_ROLE_ADMIN, 0);
    expect_denied(&p, AUTH_ACTION_COUNT, "", 401, "token_expired");

    p = principal(AUTH_ROLE_ADMIN, T_NOW + 1000);
    expect_denied(&p, AUTH_ACTION_COUNT, NULL, 403, "forbidden");
    expect_denied(&p, (enum auth_action) - 1, NULL, 403, "forbidden");
    expect_denied(&p, AUTH_READ, "", 403, "forbidden");
    expect_denied(&p, AUTH_READ, "ent:a", 403, "forbidden");
    p = principal(AUTH_ROLE_DISPATCHER, T_NOW + 1000);
    expect_denied(&p, AUTH_READ, "", 403, "forbidden");
    expect_denied(&p, AUTH_READ, "ent-a ", 403, "forbidden");
    expect_denied(&p, AUTH_READ, "ENT-A", 403, "wrong_enterprise"); /* ids are case-sensitive */
}

/* ---- users and principals ---- */

/* Field by field: structs returned by value may differ in their padding bytes. */
static void assert_principal_equal(const struct auth_principal *a, const struct auth_principal *b)
{
    assert_string_equal(a->user, b->user);
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->enterprise_id, b->enterprise_id);
    assert_int_equal(a->expires_ms, b->expires_ms);
}

static void assert_user_equal(const struct auth_user *a, const struct auth_user *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->enterprise_id, b->enterprise_id);
    assert_string_equal(a->password_hash, b->password_hash);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->created_ms, b->created_ms);
}

static struct auth_user user(enum auth_role role)
{
    struct auth_user u;
    memset(&u, 0, sizeof(u));
    strcpy(u.name, role == AUTH_ROLE_DISPATCHER ? "disp-1" : "someone");
    u.role = role;
    if (role == AUTH_ROLE_DISPATCHER)
        strcpy(u.enterprise_id, "ent-a");
    strcpy(u.password_hash, OLD_HASH);
    u.created_ms = T_NOW - 86400000;
    return u;
}

static void test_principal_for_user(void **state)
{
    (void)state;
    char why[128];
    struct auth_principal p;
    struct auth_user u = user(AUTH_ROLE_DISPATCHER);
    assert_int_equal(auth_principal_for_user(&u, T_NOW, 3600000, &p, why, sizeof(why)), 0);
    assert_string_equal(p.user, "disp-1");
    assert_int_equal(p.role, AUTH_ROLE_DISPATCHER);
    assert_string_equal(p.enterprise_id, "ent-a");
    assert_int_equal(p.expires_ms, T_NOW + 3600000);
    assert_int_equal(auth_check(&p, AUTH_WRITE, "ent-a", T_NOW, NULL), 0);

    u.disabled = true;
    assert_int_equal(auth_principal_for_user(&u, T_NOW, 3600000, &p, why, sizeof(why)), -1);
    assert_string_equal(why, "user disp-1 is disabled");
    assert_int_equal(p.user[0], '\0');
    u.disabled = false;
    assert_int_equal(auth_principal_for_user(&u, T_NOW, 0, &p, why, sizeof(why)), -1);
    assert_int_equal(auth_principal_for_user(&u, INT64_MAX - 10, 11, &p, why, sizeof(why)), -1);
    assert_int_equal(auth_principal_for_user(NULL, T_NOW, 1, &p, why, sizeof(why)), -1);
    u.password_hash[0] = '\0';
    assert_int_equal(auth_principal_for_user(&u, T_NOW, 1, &p, why, sizeof(why)), -1);
    assert_string_equal(why, "malformed password_hash");
}

/* An auditor limited to a jurisdiction reads its enterprises only: the others are another
 * enterprise's (wrong_enterprise, hidden like a dispatcher's neighbours), the unscoped reads are
 * closed, writes stay read_only; the list survives the session's JSON and is bounded. */
static void test_jurisdiction(void **state)
{
    (void)state;
    struct auth_principal p = principal(AUTH_ROLE_AUDITOR, T_NOW + 1000), back;
    struct auth_denial why;
    assert_int_equal(auth_check(&p, AUTH_READ, NULL, T_NOW, &why), 0); /* unlimited: as before */
    assert_true(auth_sees_enterprise(&p, "ent-b"));
    assert_null(auth_default_enterprise(&p));
    p.jurisdiction.n = 2;
    strcpy(p.jurisdiction.ids[0], "ent-a");
    strcpy(p.jurisdiction.ids[1], "ent-c");
    assert_int_equal(auth_check(&p, AUTH_READ, "ent-c", T_NOW, &why), 0);
    assert_int_equal(auth_check(&p, AUTH_READ, "ent-b", T_NOW, &why), -1);
    assert_int_equal(why.http_status, 403);
    assert_string_equal(why.code, "wrong_enterprise");
    assert_int_equal(auth_check(&p, AUTH_READ, NULL, T_NOW, &why), -1);
    assert_string_equal(why.code, "forbidden");
    assert_int_equal(auth_check(&p, AUTH_WRITE, "ent-a", T_NOW, &why), -1);
    assert_string_equal(why.code, "read_only");
    assert_true(auth_sees_enterprise(&p, "ent-a"));
    assert_false(auth_sees_enterprise(&p, "ent-b"));
    assert_null(auth_default_enterprise(&p));
    json_t *j = auth_principal_to_json(&p);
    assert_non_null(j);
    char why_s[128];
    assert_int_equal(auth_principal_from_json(j, &back, why_s, sizeof(why_s)), 0);
    assert_int_equal(back.jurisdiction.n, 2);
    assert_string_equal(back.jurisdiction.ids[1], "ent-c");
    json_decref(j);
    p.jurisdiction.n = 1;
    assert_string_equal(auth_default_enterprise(&p), "ent-a");
    /* a dispatcher has none; duplicates and oversize lists are refused */
    struct auth_principal dp = principal(AUTH_ROLE_DISPATCHER, T_NOW + 1000);
    dp.jurisdiction = p.jurisdiction;
    assert_int_equal(auth_check(&dp, AUTH_READ, "ent-a", T_NOW, &why), -1);
    assert_int_equal(why.http_status, 401);
    struct auth_jurisdiction jd;
    json_t *dup = json_pack("[s,s]", "ent-a", "ent-a");
    assert_int_equal(auth_jurisdiction_from_json(dup, &jd, why_s, sizeof(why_s)), -1);
    json_decref(dup);
    json_t *big = json_array();
    for (int i = 0; i <= AUTH_JURISDICTION_MAX; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        json_array_append_new(big, json_string(id));
    }
    assert_int_equal(auth_jurisdiction_from_json(big, &jd, why_s, sizeof(why_s)), -1);
    json_array_remove(big, 0);
    assert_int_equal(auth_jurisdiction_from_json(big, &jd, why_s, sizeof(why_s)), 0);
    assert_int_equal(jd.n, AUTH_JURISDICTION_MAX);
    json_decref(big);
    json_t *bad = json_pack("{s:s,s:s,s:I,s:[s]}", "user", "disp-1", "role", "admin", "expires_ms",
                            (json_int_t)T_NOW, "enterprises", "ent-a");
    assert_int_equal(auth_principal_from_json(bad, &back, why_s, sizeof(why_s)), -1);
    json_decref(bad);
}

static void test_principal_json_round_trip(void **state)
{
    (void)state;
    for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
        struct auth_principal p = principal((enum auth_role)r, T_NOW + 3600000), back;
        json_t *j = auth_principal_to_json(&p);
        assert_non_null(j);
        assert_int_equal(json_object_get(j, "enterprise_id") != NULL, r == AUTH_ROLE_DISPATCHER);
        char why[128];
        assert_int_equal(auth_principal_from_json(j, &back, why, sizeof(why)), 0);
        assert_principal_equal(&back, &p);
        json_decref(j);
    }
    struct auth_principal p = principal(AUTH_ROLE_DISPATCHER, T_NOW);
    json_t *j = auth_principal_to_json(&p);
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"enterprise_id\":\"ent-a\",\"expires_ms\":1767225600000,"
                              "\"role\":\"dispatcher\",\"user\":\"disp-1\"}");
    free(text);
    json_decref(j);

    p.role = AUTH_ROLE_COUNT;
    assert_null(auth_principal_to_json(&p));
    assert_null(auth_principal_to_json(NULL));
}

static void test_principal_from_json_rejects(void **state)
{
    (void)state;
    const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"[]", "principal: not an object"},
        {"{\"role\":\"admin\",\"expires_ms\":1}", "user: missing or not a string"},
        {"{\"user\":7,\"role\":\"admin\",\"expires_ms\":1}", "user: missing or not a string"},
        {"{\"user\":\"a:b\",\"role\":\"admin\",\"expires_ms\":1}", "user: not a valid id"},
        {"{\"user\":\"a\\u0000b\",\"role\":\"admin\",\"expires_ms\":1}", "user: not a valid id"},
        {"{\"user\":\"u\",\"role\":\"root\",\"expires_ms\":1}",
         "role: missing or not one of admin, dispatcher, auditor"},
        {"{\"user\":\"u\",\"role\":\"dispatcher\",\"expires_ms\":1}",
         "enterprise_id: missing or not a string"},
        {"{\"user\":\"u\",\"role\":\"admin\",\"enterprise_id\":\"e\",\"expires_ms\":1}",
         "enterprise_id: only a dispatcher belongs to an enterprise"},
        {"{\"user\":\"u\",\"role\":\"auditor\",\"expires_ms\":\"1\"}",
         "expires_ms: missing or not an integer"},
        {"{\"user\":\"u\",\"role\":\"auditor\",\"expires_ms\":1.5}",
         "expires_ms: missing or not an integer"},
        {"{\"user\":\"u\",\"role\":\"auditor\"}", "expires_ms: missing or not an integer"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t err;
        json_t *j = json_loads(cases[i].json, JSON_ALLOW_NUL, &err);
        assert_non_null(j);
        struct auth_principal p;
        char why[128];
        memset(&p, 0x55, sizeof(p));
        assert_int_equal(auth_principal_from_json(j, &p, why, sizeof(why)), -1);
        assert_string_equal(why, cases[i].why);
        assert_int_equal(p.user[0], '\0'); /* zeroed on failure */
        json_decref(j);
    }
    /* too long a user name (LPG_ID_MAX + 1 bytes) */
    char name[LPG_ID_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    json_t *j =
        json_pack("{s:s, s:s, s:I}", "user", name, "role", "admin", "expires_ms", (json_int_t)1);
    struct auth_principal p;
    assert_int_equal(auth_principal_from_json(j, &p, NULL, 0), -1);
    json_decref(j);
    /* unknown keys are ignored */
    j = json_loads("{\"user\":\"u\",\"role\":\"auditor\",\"expires_ms\":5,\"ip\":\"::1\"}", 0,
                   NULL);
    assert_int_equal(auth_principal_from_json(j, &p, NULL, 0), 0);
    assert_int_equal(p.expires_ms, 5);
    json_decref(j);
}

static void test_user_json_round_trip(void **state)
{
    (void)state;
    for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
        struct auth_user u = user((enum auth_role)r), back;
        u.disabled = r == AUTH_ROLE_AUDITOR;
        json_t *j = auth_user_to_store_json(&u);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "password_hash")), OLD_HASH);
        char why[128];
        assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), 0);
        assert_user_equal(&back, &u);
        json_decref(j);
    }
}

static void test_user_public_json_has_no_hash(void **state)
{
    (void)state;
    for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
        struct auth_user u = user((enum auth_role)r);
        json_t *j = auth_user_to_public_json(&u);
        assert_non_null(j);
        assert_null(json_object_get(j, "password_hash"));
        char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
        assert_null(strstr(text, "scrypt"));
        assert_null(strstr(text, OLD_SALT));
        assert_null(strstr(text, OLD_KEY));
        if (r == AUTH_ROLE_DISPATCHER)
            assert_string_equal(text, "{\"created_ms\":1767139200000,\"disabled\":false,"
                                      "\"enterprise_id\":\"ent-a\",\"name\":\"disp-1\","
                                      "\"role\":\"dispatcher\"}");
        free(text);
        /* and the public form cannot be loaded as a stored user */
        struct auth_user back;
        char why[128];
        assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), -1);
        assert_string_equal(why, "password_hash: missing or not a string");
        json_decref(j);
    }
}

static void test_user_json_rejects(void **state)
{
    (void)state;
    struct auth_user u = user(AUTH_ROLE_DISPATCHER), back;
    char why[128];

    json_t *j = auth_user_to_store_json(&u);
    json_object_set_new(j, "password_hash", json_string("scrypt$ln=10"));
    assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), -1);
    assert_string_equal(why, "password_hash: malformed");
    json_decref(j);

    j = auth_user_to_store_json(&u);
    json_object_set_new(j, "disabled", json_integer(0));
    assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), -1);
    assert_string_equal(why, "disabled: missing or not a boolean");
    json_decref(j);

    j = auth_user_to_store_json(&u);
    json_object_del(j, "created_ms");
    assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), -1);
    assert_string_equal(why, "created_ms: missing or not an integer");
    json_decref(j);

    j = auth_user_to_store_json(&u);
    json_object_set_new(j, "name", json_string(""));
    assert_int_equal(auth_user_from_json(j, &back, why, sizeof(why)), -1);
    assert_string_equal(why, "name: not a valid id");
    assert_int_equal(back.name[0], '\0');
    json_decref(j);

    assert_int_equal(auth_user_from_json(NULL, &back, why, sizeof(why)), -1);
    assert_string_equal(why, "user: not an object");

    /* values that could not be read back are not written */
    struct auth_user bad = user(AUTH_ROLE_ADMIN);
    strcpy(bad.enterprise_id, "ent-a");
    assert_null(auth_user_to_public_json(&bad));
    assert_null(auth_user_to_store_json(&bad));
    bad = user(AUTH_ROLE_ADMIN);
    strcpy(bad.password_hash, "plaintext!");
    assert_null(auth_user_to_store_json(&bad));
    assert_null(auth_user_to_public_json(NULL));
}

#define MALFORMED_ENTRY(name, enc) cmocka_unit_test(test_malformed_##name),

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrypt_rfc7914_vectors),
        cmocka_unit_test(test_scrypt_refuses_out_of_limit_parameters),
        cmocka_unit_test(test_hash_verify_round_trip),
        cmocka_unit_test(test_hash_wrong_password),
        cmocka_unit_test(test_hash_salted),
        cmocka_unit_test(test_hash_lower_parameters_still_verify),
        cmocka_unit_test(test_hash_refusals),
        cmocka_unit_test(test_dummy_hash),
        cmocka_unit_test(test_hash_time),
        cmocka_unit_test(test_malformed_base_is_valid),
        cmocka_unit_test(test_malformed_null),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_token_format_and_uniqueness),
        cmocka_unit_test(test_token_well_formed),
        cmocka_unit_test(test_digest_known_answers),
        cmocka_unit_test(test_device_secret_verify),
        cmocka_unit_test(test_constant_time_compare_used),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_policy_table),
        cmocka_unit_test(test_policy_messages),
        cmocka_unit_test(test_policy_invalid_inputs),
        cmocka_unit_test(test_principal_for_user),
        cmocka_unit_test(test_principal_json_round_trip),
        cmocka_unit_test(test_principal_from_json_rejects),
        cmocka_unit_test(test_user_json_round_trip),
        cmocka_unit_test(test_user_public_json_has_no_hash),
        cmocka_unit_test(test_user_json_rejects),
        cmocka_unit_test(test_jurisdiction),
    };
    /* one test per malformed encoding */
    const struct CMUnitTest malformed[] = {MALFORMED_CASES(MALFORMED_ENTRY)};
    int failed = cmocka_run_group_tests_name("dispatch.auth", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("dispatch.auth.malformed_hash", malformed, NULL, NULL);
    return failed;
}
