/* test_route_seal.c -- the pure part of sealed routes (dispatch/core/route_seal.c): fingerprints,
 * the digest in canonical order whatever the arrival order, and naming the first fix that
 * differs from the log (edited, removed, inserted), late fixes after a seal. Expected hashes
 * computed independently with Python's hashlib (sha256 of the same bytes). */
#include "core/route_seal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define DAY    20000 /* 2024-10-04 */
#define BASE   1728000000000LL
#define M1     "1:1728000001000:492391000:1197412000:850:9000:350:3:0"
#define M2     "2:1728000002000:492392000:1197413000:850:9000:350:3:0"
#define M3     "3:1728000002000:492393000:1197414000:-:-:-:0:2"
#define ALL3   "5791badb4b3f0fc00bd8fea19b2c38b85c23c563957bb6e2a46264b04ca0df27"
#define FIRST2 "f39e8a922eec4f626998ab5e0245b7dcf48dfd38c792d336e81e4819d02468c2"

static struct route_seal_member mem(int64_t score, const char *text)
{
    return (struct route_seal_member){score, text, strlen(text)};
}

/* The log of the members given, in that order. */
static void log_of(const struct route_seal_member *m, size_t n, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char fp[ROUTE_FP_LEN + 1];
        assert_int_equal(route_seal_fingerprint(DAY, m[i].score, m[i].text, m[i].len, fp), 0);
        strcat(out, fp);
    }
}

static void test_fingerprint(void **state)
{
    (void)state;
    char fp[ROUTE_FP_LEN + 1];
    assert_int_equal(route_seal_fingerprint(DAY, BASE + 1000, M1, strlen(M1), fp), 0);
    assert_string_equal(fp, "00003e8"
                            "4c1645009");
    assert_int_equal(route_seal_fingerprint(DAY, BASE + 2000, M3, strlen(M3), fp), 0);
    assert_string_equal(fp, "00007d0"
                            "d77aa8fd1");
    /* Not in the day: refused, never wrapped. */
    assert_int_equal(route_seal_fingerprint(DAY, BASE - 1, M1, strlen(M1), fp), -1);
    assert_int_equal(route_seal_fingerprint(DAY, BASE + 86400000LL, M1, strlen(M1), fp), -1);
}

/* The digest is over (score, bytes) order: the same whatever order the fixes arrived in, and
 * the sha256 of the members joined by "\n" (what an auditor computes by hand). */
static void test_digest_canonical(void **state)
{
    (void)state;
    struct route_seal_member a[] = {mem(BASE + 1000, M1), mem(BASE + 2000, M2),
                                    mem(BASE + 2000, M3)};
    struct route_seal_member b[] = {mem(BASE + 2000, M3), mem(BASE + 1000, M1),
                                    mem(BASE + 2000, M2)};
    char la[128], lb[128];
    log_of(a, 3, la);
    log_of(b, 3, lb);
    struct route_seal_check c;
    assert_int_equal(route_seal_check(DAY, a, 3, lb, strlen(lb), strlen(lb), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_string_equal(c.digest, ALL3);
    assert_int_equal(c.fixes, 3);
    assert_int_equal(c.sealed_fixes, 3);
    assert_int_equal(c.recorded, 3);
    assert_int_equal(route_seal_check(DAY, b, 3, la, strlen(la), strlen(la), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_string_equal(c.digest, ALL3);
    /* A resent fix appends its fingerprint again: the log is a set. */
    char dup[160];
    snprintf(dup, sizeof(dup), "%s%.16s", la, la);
    assert_int_equal(route_seal_check(DAY, a, 3, dup, strlen(dup), strlen(dup), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_int_equal(c.recorded, 3);
}

static void test_edited(void **state)
{
    (void)state;
    struct route_seal_member a[] = {mem(BASE + 1000, M1), mem(BASE + 2000, M2),
                                    mem(BASE + 2000, M3)};
    char log[128];
    log_of(a, 3, log);
    /* M2's latitude changed in place: same time, other bytes. */
    struct route_seal_member e[] = {
        mem(BASE + 1000, M1),
        mem(BASE + 2000, "2:1728000002000:492399999:1197413000:850:9000:350:3:0"),
        mem(BASE + 2000, M3)};
    struct route_seal_check c;
    assert_int_equal(route_seal_check(DAY, e, 3, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_EDITED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + 2000);
    assert_int_equal(c.unmatched_set, 1);
    assert_int_equal(c.unmatched_log, 1);
    assert_string_not_equal(c.digest, ALL3);
    /* Only its score moved: the fix is no longer where it was recorded. */
    struct route_seal_member s[] = {mem(BASE + 1000, M1), mem(BASE + 500, M2),
                                    mem(BASE + 2000, M3)};
    assert_int_equal(route_seal_check(DAY, s, 3, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_INSERTED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + 500);
}

static void test_removed_inserted(void **state)
{
    (void)state;
    struct route_seal_member a[] = {mem(BASE + 1000, M1), mem(BASE + 2000, M2),
                                    mem(BASE + 2000, M3)};
    char log[128];
    log_of(a, 3, log);
    struct route_seal_check c;
    assert_int_equal(route_seal_check(DAY, a + 1, 2, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_REMOVED);
    assert_int_equal(c.member, -1);
    assert_int_equal(c.time_ms, BASE + 1000);
    struct route_seal_member x[] = {mem(BASE + 1000, M1),
                                    mem(BASE + 1500, "9:1728000001500:1:1:-:-:-:0:0"),
                                    mem(BASE + 2000, M2), mem(BASE + 2000, M3)};
    assert_int_equal(route_seal_check(DAY, x, 4, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_INSERTED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + 1500);
    /* A log that is not fingerprints was edited. */
    char bad[128];
    snprintf(bad, sizeof(bad), "%s", log);
    bad[3] = 'z';
    assert_int_equal(route_seal_check(DAY, a, 3, bad, strlen(bad), strlen(bad), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_LOG_BROKEN);
    assert_int_equal(route_seal_check(DAY, a, 3, log, strlen(log) - 1, strlen(log) - 1, &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_LOG_BROKEN);
}

/* A fix recorded after the seal is no difference, is counted, and stays out of the digest. */
static void test_late_after_seal(void **state)
{
    (void)state;
    struct route_seal_member a[] = {mem(BASE + 1000, M1), mem(BASE + 2000, M2),
                                    mem(BASE + 2000, M3)};
    char log[128];
    log_of(a, 3, log);
    size_t sealed = 2 * ROUTE_FP_LEN; /* M1 and M2 were sealed */
    struct route_seal_check c;
    assert_int_equal(route_seal_check(DAY, a, 3, log, strlen(log), sealed, &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_int_equal(c.late_after_seal, 1);
    assert_int_equal(c.sealed_fixes, 2);
    assert_string_equal(c.digest, FIRST2);
    /* Late since the last check: M3 once, M1 again (a resend) is not late. */
    char more[160];
    snprintf(more, sizeof(more), "%s%.16s", log, log);
    size_t n;
    int64_t first, last;
    assert_int_equal(route_seal_late(more, strlen(more), sealed, sealed, &n, &first, &last), 0);
    assert_int_equal(n, 1);
    assert_int_equal(first, 2000);
    assert_int_equal(last, 2000);
    assert_int_equal(route_seal_late(more, strlen(more), sealed, strlen(more), &n, &first, &last),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(route_seal_late(more, strlen(more), sealed, 5, &n, &first, &last), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),     cmocka_unit_test(test_digest_canonical),
        cmocka_unit_test(test_edited),          cmocka_unit_test(test_removed_inserted),
        cmocka_unit_test(test_late_after_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
