/* test_route_seal.c -- the pure part of sealed routes (dispatch/core/route_seal.c): fingerprints,
 * the digest in canonical order whatever the arrival order, and naming the first fix that
 * differs from the log (edited, removed, inserted), late fixes after a seal; route days are local
 * days (their span, tag, a day across UTC midnight). Expected hashes computed independently with
 * Python's hashlib (sha256 of the same bytes). */
#include "core/route_seal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define DAY    20000           /* 2024-10-04 */
#define BASE   1728000000000LL /* its UTC midnight: the route day of offset 0 starts there */
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
        assert_int_equal(route_seal_fingerprint(BASE, m[i].score, m[i].text, m[i].len, fp), 0);
        strcat(out, fp);
    }
}

static void test_fingerprint(void **state)
{
    (void)state;
    char fp[ROUTE_FP_LEN + 1];
    assert_int_equal(route_seal_fingerprint(BASE, BASE + 1000, M1, strlen(M1), fp), 0);
    assert_string_equal(fp, "00003e8"
                            "4c1645009");
    assert_int_equal(route_seal_fingerprint(BASE, BASE + 2000, M3, strlen(M3), fp), 0);
    assert_string_equal(fp, "00007d0"
                            "d77aa8fd1");
    /* In the local day of UTC+8 (docs/audit.md's example): 08:00:01 after its midnight. */
    assert_int_equal(route_seal_fingerprint(BASE - 8 * 3600000LL, BASE + 1000, M1, strlen(M1), fp),
                     0);
    assert_string_equal(fp, "1b777e8"
                            "4c1645009");
    /* Not in the day: refused, never wrapped. */
    assert_int_equal(route_seal_fingerprint(BASE, BASE - 1, M1, strlen(M1), fp), -1);
    assert_int_equal(route_seal_fingerprint(BASE, BASE + 86400000LL, M1, strlen(M1), fp), -1);
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
    assert_int_equal(route_seal_check(BASE, a, 3, lb, strlen(lb), strlen(lb), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_string_equal(c.digest, ALL3);
    assert_int_equal(c.fixes, 3);
    assert_int_equal(c.sealed_fixes, 3);
    assert_int_equal(c.recorded, 3);
    assert_int_equal(route_seal_check(BASE, b, 3, la, strlen(la), strlen(la), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_string_equal(c.digest, ALL3);
    /* A resent fix appends its fingerprint again: the log is a set. */
    char dup[160];
    snprintf(dup, sizeof(dup), "%s%.16s", la, la);
    assert_int_equal(route_seal_check(BASE, a, 3, dup, strlen(dup), strlen(dup), &c), 0);
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
    assert_int_equal(route_seal_check(BASE, e, 3, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_EDITED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + 2000);
    assert_int_equal(c.unmatched_set, 1);
    assert_int_equal(c.unmatched_log, 1);
    assert_string_not_equal(c.digest, ALL3);
    /* Only its score moved: the fix is no longer where it was recorded. */
    struct route_seal_member s[] = {mem(BASE + 1000, M1), mem(BASE + 500, M2),
                                    mem(BASE + 2000, M3)};
    assert_int_equal(route_seal_check(BASE, s, 3, log, strlen(log), strlen(log), &c), 0);
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
    assert_int_equal(route_seal_check(BASE, a + 1, 2, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_REMOVED);
    assert_int_equal(c.member, -1);
    assert_int_equal(c.time_ms, BASE + 1000);
    struct route_seal_member x[] = {mem(BASE + 1000, M1),
                                    mem(BASE + 1500, "9:1728000001500:1:1:-:-:-:0:0"),
                                    mem(BASE + 2000, M2), mem(BASE + 2000, M3)};
    assert_int_equal(route_seal_check(BASE, x, 4, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_INSERTED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + 1500);
    /* A log that is not fingerprints was edited. */
    char bad[128];
    snprintf(bad, sizeof(bad), "%s", log);
    bad[3] = 'z';
    assert_int_equal(route_seal_check(BASE, a, 3, bad, strlen(bad), strlen(bad), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_LOG_BROKEN);
    assert_int_equal(route_seal_check(BASE, a, 3, log, strlen(log) - 1, strlen(log) - 1, &c), 0);
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
    assert_int_equal(route_seal_check(BASE, a, 3, log, strlen(log), sealed, &c), 0);
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

#define H    3600000LL
#define MIN  60000LL
#define UTC8 480

/* A local day at UTC+8 is [16:00 UTC the day before, 16:00 UTC): its span, its tag, the day an
 * instant is in on either side of both midnights. */
static void test_local_day(void **state)
{
    (void)state;
    struct route_seal_day rd, at;
    route_seal_day_of(DAY, UTC8, &rd);
    assert_int_equal(rd.day, DAY);
    assert_int_equal(rd.from_ms, BASE - 8 * H);
    assert_int_equal(rd.to_ms, BASE + 16 * H);
    char tag[ROUTE_DAY_TAG_MAX];
    route_seal_day_tag(&rd, tag);
    assert_string_equal(tag, "20241004+0800");
    struct route_seal_day back;
    assert_int_equal(route_seal_day_parse_tag(tag, &back), 0);
    assert_memory_equal(&back, &rd, sizeof(rd));
    /* Offset 0: the bare date, the UTC day (the keys of seals kept per UTC day). */
    route_seal_day_of(DAY, 0, &rd);
    route_seal_day_tag(&rd, tag);
    assert_string_equal(tag, "20241004");
    assert_int_equal(route_seal_day_parse_tag("20241004", &back), 0);
    assert_int_equal(back.utc_offset_min, 0);
    assert_int_equal(back.from_ms, BASE);
    route_seal_day_of(DAY, -330, &rd);
    route_seal_day_tag(&rd, tag);
    assert_string_equal(tag, "20241004-0530");
    assert_int_equal(route_seal_day_parse_tag(tag, &back), 0);
    assert_int_equal(back.from_ms, BASE + 330 * MIN);
    const char *bad[] = {"2024100",  "20241004+", "20241004+0000", "20241004+0860", "20241004*0800",
                         "20241304", "2024100a",  "20241004+1500", "20241004-1300", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(route_seal_day_parse_tag(bad[i], &back), -1);
    /* Local 07:59 and 08:01 (UTC 23:59 the day before, 00:01): one local day. */
    route_seal_day_at(BASE - 1 * MIN, UTC8, &rd);
    route_seal_day_at(BASE + 1 * MIN, UTC8, &at);
    assert_int_equal(rd.day, DAY);
    assert_int_equal(at.day, DAY);
    /* Local 23:59 and 00:01 the next day (UTC 15:59, 16:01): two. */
    route_seal_day_at(BASE + 16 * H - 1 * MIN, UTC8, &rd);
    route_seal_day_at(BASE + 16 * H + 1 * MIN, UTC8, &at);
    assert_int_equal(rd.day, DAY);
    assert_int_equal(at.day, DAY + 1);
    assert_int_equal(at.from_ms, BASE + 16 * H);
}

/* A local day's fixes from both UTC sets are one day: fingerprints counted from local midnight,
 * the digest over (score, bytes) across the UTC midnight, an edit named at its time. */
static void test_day_across_utc_midnight(void **state)
{
    (void)state;
    struct route_seal_day rd;
    route_seal_day_of(DAY, UTC8, &rd);
    const char *a = "1:1727999940000:492391000:1197412000:850:9000:350:3:0"; /* local 07:59 */
    const char *b = "2:1728000060000:492392000:1197413000:850:9000:350:3:0"; /* local 08:01 */
    char fp[ROUTE_FP_LEN + 1], log[64] = "";
    /* Local 07:59 is 479 min into the day: 0x1b689a0 ms. */
    assert_int_equal(route_seal_fingerprint(rd.from_ms, BASE - MIN, a, strlen(a), fp), 0);
    assert_memory_equal(fp, "1b689a0", 7);
    strcat(log, fp);
    assert_int_equal(route_seal_fingerprint(rd.from_ms, BASE + MIN, b, strlen(b), fp), 0);
    strcat(log, fp);
    /* Local 00:00 is in, local 24:00 (the next day's 00:00) is not. */
    assert_int_equal(route_seal_fingerprint(rd.from_ms, rd.from_ms, a, strlen(a), fp), 0);
    assert_int_equal(route_seal_fingerprint(rd.from_ms, rd.to_ms, a, strlen(a), fp), -1);
    /* As read: the later UTC set first would not matter, the digest is in canonical order. */
    struct route_seal_member m[] = {mem(BASE + MIN, b), mem(BASE - MIN, a)};
    struct route_seal_check c;
    assert_int_equal(route_seal_check(rd.from_ms, m, 2, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_SAME);
    assert_int_equal(c.sealed_fixes, 2);
    /* sha256(a "\n" b "\n"), by hashlib. */
    assert_string_equal(c.digest,
                        "0aa81f93ab748684f66da9d0b1d335c11a21076028f2227f81fb6121a7433c21");
    struct route_seal_member e[] = {
        mem(BASE - MIN, a),
        mem(BASE + MIN, "2:1728000060000:492392001:1197413000:850:9000:350:3:0")};
    assert_int_equal(route_seal_check(rd.from_ms, e, 2, log, strlen(log), strlen(log), &c), 0);
    assert_int_equal(c.what, ROUTE_SEAL_EDITED);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.time_ms, BASE + MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_digest_canonical),
        cmocka_unit_test(test_edited),
        cmocka_unit_test(test_removed_inserted),
        cmocka_unit_test(test_late_after_seal),
        cmocka_unit_test(test_local_day),
        cmocka_unit_test(test_day_across_utc_midnight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
