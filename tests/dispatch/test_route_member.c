/* test_route_member.c -- the stored form of a fix: format/parse round trips, absent fields,
 * flags, and malformed members refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/route_member.h"

#include <string.h>

static void test_round_trip(void **state)
{
    (void)state;
    struct route_fix f = {.seq = 42,
                          .time_ms = 1795824000123,
                          .lat_e7 = -492100000,
                          .lon_e7 = 1197500000,
                          .has_speed = 1,
                          .speed_cm_s = 2000,
                          .has_heading = 0,
                          .has_acc = 1,
                          .accuracy_cm = 350,
                          .mode = 3,
                          .flags = ROUTE_FLAG_LATE};
    char m[ROUTE_MEMBER_MAX];
    int n = route_member_format(&f, m, sizeof(m));
    assert_string_equal(m, "42:1795824000123:-492100000:1197500000:2000:-:350:3:2");
    assert_int_equal(n, (int)strlen(m));
    struct route_fix g;
    assert_int_equal(route_member_parse(m, strlen(m), &g), 0);
    /* Field by field: the struct has padding, whose bytes are not part of the value. */
    assert_int_equal(g.seq, f.seq);
    assert_int_equal(g.time_ms, f.time_ms);
    assert_int_equal(g.lat_e7, f.lat_e7);
    assert_int_equal(g.lon_e7, f.lon_e7);
    assert_int_equal(g.has_speed, 1);
    assert_int_equal(g.speed_cm_s, 2000);
    assert_int_equal(g.has_heading, 0);
    assert_int_equal(g.has_acc, 1);
    assert_int_equal(g.accuracy_cm, 350);
    assert_int_equal(g.mode, 3);
    assert_int_equal(g.flags, ROUTE_FLAG_LATE);
    struct lpg_fix x;
    route_fix_to_lpg_fix(&g, &x);
    assert_true(x.has_speed);
    assert_true(x.speed_kmh > 71.99 && x.speed_kmh < 72.01); /* 2000 cm/s = 72 km/h */
    assert_false(x.has_heading);
    assert_true(x.flags & LPG_FIX_LATE);
    assert_false(x.flags & LPG_FIX_DERIVED_SPEED);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1:2:3:4:5:6:7:8",                         /* 8 fields */
        "1:2:3:4:5:6:7:8:9:10",                    /* 10 fields */
        "1:0:0:0:-:-:-:3:0",                       /* time 0 */
        "1:5:900000001:0:-:-:-:3:0",               /* latitude out of range */
        "1:5:0:-1800000001:-:-:-:3:0",             /* longitude out of range */
        "x:5:0:0:-:-:-:3:0",                       /* not a number */
        "1:5:0:0:--:-:-:3:0",                      /* bad absent marker */
        "1:5:0:0:-:-:-:256:0",                     /* mode out of range */
        "99999999999999999999999:5:0:0:-:-:-:3:0", /* overflow */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct route_fix f;
        if (route_member_parse(bad[i], strlen(bad[i]), &f) == 0)
            fail_msg("accepted malformed member \"%s\"", bad[i]);
    }
}

static void test_unknown_mode(void **state)
{
    (void)state;
    struct route_fix rf = {.seq = 1, .time_ms = 1, .mode = 0};
    struct lpg_fix f;
    route_fix_to_lpg_fix(&rf, &f);
    assert_int_equal(f.mode, LPG_FIX_MODE_3D); /* unknown is taken as 3D */
    rf.mode = 1;
    route_fix_to_lpg_fix(&rf, &f);
    assert_int_equal(f.mode, 1); /* no fix stays no fix: the filters refuse it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_unknown_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
