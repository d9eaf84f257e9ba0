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

/* A terminal's fix: the vehicle data suffix round-trips, measures not sent are '-', the
 * longest member fits, and an old member (nine fields) still parses without vehicle data. */
static void test_vehicle_data_round_trip(void **state)
{
    (void)state;
    struct route_fix f = {.seq = 1795824000123,
                          .time_ms = 1795824000123,
                          .lat_e7 = 492100000,
                          .lon_e7 = 1197500000,
                          .mode = 3,
                          .has_vd = 1,
                          .vd = {.status = 0x000C0003u,
                                 .alarm = 0x80000001u,
                                 .present = LPG_VD_ALTITUDE | LPG_VD_MILEAGE | LPG_VD_SIGNAL,
                                 .altitude_m = -12,
                                 .mileage_100m = 123456,
                                 .signal = 31}};
    char m[ROUTE_MEMBER_MAX];
    route_member_format(&f, m, sizeof(m));
    assert_string_equal(m, "1795824000123:1795824000123:492100000:1197500000:-:-:-:3:0:"
                           "786435:2147483649:-12:123456:-:-:31:-");
    struct route_fix g;
    assert_int_equal(route_member_parse(m, strlen(m), &g), 0);
    assert_true(g.has_vd);
    assert_int_equal(g.vd.status, f.vd.status);
    assert_int_equal(g.vd.alarm, f.vd.alarm);
    assert_int_equal(g.vd.present, f.vd.present);
    assert_int_equal(g.vd.altitude_m, -12);
    assert_int_equal(g.vd.mileage_100m, 123456);
    assert_int_equal(g.vd.fuel_dl, 0);
    assert_int_equal(g.vd.signal, 31);

    /* The longest: every field at its widest. */
    f.seq = UINT64_MAX;
    f.time_ms = f.lat_e7 = f.lon_e7 = INT64_MIN + 1;
    f.has_speed = f.has_heading = f.has_acc = 1;
    f.speed_cm_s = f.heading_cdeg = f.accuracy_cm = UINT64_MAX;
    f.mode = f.flags = INT32_MIN;
    f.vd = (struct lpg_vehicle_data){UINT32_MAX, UINT32_MAX, LPG_VD_ALL, INT32_MIN, UINT32_MAX,
                                     UINT16_MAX, UINT16_MAX, UINT8_MAX,  UINT8_MAX};
    int n = route_member_format(&f, m, sizeof(m));
    assert_true(n < ROUTE_MEMBER_MAX);

    const char *old = "42:1795824000123:-492100000:1197500000:2000:-:350:3:2";
    assert_int_equal(route_member_parse(old, strlen(old), &g), 0);
    assert_false(g.has_vd);

    char t[ROUTE_VD_MAX];
    struct lpg_vehicle_data vd = {.status = 1,
                                  .alarm = 0,
                                  .present = LPG_VD_ALL | 0x100,
                                  .altitude_m = 5,
                                  .mileage_100m = 7,
                                  .fuel_dl = 8,
                                  .recorder_speed_dkmh = 9,
                                  .signal = 10,
                                  .satellites = 11};
    route_vd_format(&vd, t, sizeof(t));
    assert_string_equal(t, "1:0:5:7:8:9:10:11");
    struct lpg_vehicle_data back;
    assert_int_equal(route_vd_parse(t, strlen(t), &back), 0);
    assert_int_equal(back.present, LPG_VD_ALL); /* unknown bits are not kept */
    assert_int_equal(back.satellites, 11);
}

static void test_vehicle_data_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1:5:0:0:-:-:-:3:0:1:2:3:4:5:6:7",            /* 16 fields */
        "1:5:0:0:-:-:-:3:0:1:2:3:4:5:6:7:8:9",        /* 18 fields */
        "1:5:0:0:-:-:-:3:0:-:2:3:4:5:6:7:8",          /* status absent */
        "1:5:0:0:-:-:-:3:0:4294967296:0:-:-:-:-:-:-", /* status beyond 32 bits */
        "1:5:0:0:-:-:-:3:0:0:0:-:-:65536:-:-:-",      /* fuel beyond 16 bits */
        "1:5:0:0:-:-:-:3:0:0:0:-:-:-:-:256:-",        /* signal beyond a byte */
        "1:5:0:0:-:-:-:3:0:0:0:2147483648:-:-:-:-:-", /* altitude beyond int32 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct route_fix f;
        if (route_member_parse(bad[i], strlen(bad[i]), &f) == 0)
            fail_msg("accepted malformed member \"%s\"", bad[i]);
    }
    struct lpg_vehicle_data vd;
    assert_int_equal(route_vd_parse("1:2:3", 5, &vd), -1);
    assert_int_equal(route_vd_parse("-", 1, &vd), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_unknown_mode),
        cmocka_unit_test(test_vehicle_data_round_trip),
        cmocka_unit_test(test_vehicle_data_malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
