/* test_agent_receiver.c -- the receiver rules (agent_receiver.h): TPVs of one epoch merged
 * into one fix; no fix, no time and no date skipped and counted; time going backwards
 * skipped; speed and course derived from successive fixes only across short gaps, and marked;
 * 2D/3D, accuracy, satellites, altitude; the time offset of replays. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "agent/agent_receiver.h"

#define T0 1795824000000LL /* 2026-11-28T00:00:00Z */

static struct agent_reading tpv(int mode, int64_t t_ms, double lat, double lon)
{
    struct agent_reading r;
    memset(&r, 0, sizeof(r));
    r.mode = mode;
    r.has_time = t_ms != 0;
    r.time_ms = t_ms;
    r.lat = lat;
    r.lon = lon;
    r.speed_m_s = r.track_deg = r.eph_m = r.epx_m = r.epy_m = r.alt_msl_m = NAN;
    r.satellites_used = -1;
    return r;
}

static void test_epoch_merged_into_one_fix(void **state)
{
    (void)state;
    struct agent_receiver rc;
    agent_receiver_init(&rc, 0, 10000);
    struct agent_fix f;
    /* GGA: position, no speed; RMC of the same second: speed and course; GSA: no change. */
    struct agent_reading gga = tpv(3, T0, 49.21, 119.75);
    gga.alt_msl_m = 612.3;
    gga.eph_m = 3.5;
    gga.satellites_used = 9;
    assert_int_equal(agent_receiver_offer(&rc, &gga, 1, &f), 0);
    struct agent_reading rmc = tpv(3, T0, 49.21, 119.75);
    rmc.speed_m_s = 10.0;
    rmc.track_deg = 90.25;
    assert_int_equal(agent_receiver_offer(&rc, &rmc, 2, &f), 0);
    /* The next second completes the first epoch. */
    struct agent_reading next = tpv(2, T0 + 1000, 49.21, 119.7501);
    assert_int_equal(agent_receiver_offer(&rc, &next, 3, &f), 1);
    assert_int_equal(f.time_ms, T0);
    assert_int_equal(f.rx_ms, 1);
    assert_int_equal(f.lat_e7, 492100000);
    assert_int_equal(f.lon_e7, 1197500000);
    assert_true(f.has_speed);
    assert_int_equal(f.speed_cm_s, 1000);
    assert_int_equal(f.heading_cdeg, 9025);
    assert_false(f.speed_derived);
    assert_int_equal(f.mode, 3);
    assert_int_equal(f.source, 1);
    assert_true(f.has_accuracy);
    assert_int_equal(f.accuracy_cm, 350);
    assert_true(f.has_altitude);
    assert_int_equal(f.altitude_cm, 61230);
    assert_true(f.has_satellites);
    assert_int_equal(f.satellites, 9);
    /* The 2D one, without speed: derived from the previous fix 1 s before (7.27 m east at
     * 49.21 N), course east; no altitude in 2D. */
    assert_int_equal(agent_receiver_flush(&rc, &f), 1);
    assert_int_equal(f.mode, 2);
    assert_true(f.speed_derived);
    assert_true(f.has_speed);
    assert_in_range(f.speed_cm_s, 720, 734);
    assert_true(f.has_heading);
    assert_in_range(f.heading_cdeg, 8990, 9000);
    assert_false(f.has_altitude);
    assert_int_equal(rc.c.epochs, 2);
    assert_int_equal(rc.c.derived, 1);
    assert_int_equal(agent_receiver_flush(&rc, &f), 0);
}

static void test_no_fix_no_time_backwards(void **state)
{
    (void)state;
    struct agent_receiver rc;
    agent_receiver_init(&rc, 0, 10000);
    struct agent_fix f;
    struct agent_reading r = tpv(1, T0, 49.21, 119.75); /* NO_FIX */
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0);
    r = tpv(0, T0, 49.21, 119.75); /* mode not seen yet */
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0);
    r = tpv(3, T0, NAN, NAN);
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0);
    assert_int_equal(rc.c.no_fix, 3);
    r = tpv(3, 0, 49.21, 119.75); /* a TPV without time */
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0);
    r = tpv(3, 86400000LL * 3, 49.21, 119.75); /* 1970-01-04: a receiver with no date */
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0);
    assert_int_equal(rc.c.no_time, 2);
    assert_int_equal(agent_receiver_flush(&rc, &f), 0);

    r = tpv(3, T0 + 5000, 49.21, 119.75);
    agent_receiver_offer(&rc, &r, 0, &f);
    r = tpv(3, T0 + 4000, 49.21, 119.75); /* time going backwards */
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 1);
    assert_int_equal(f.time_ms, T0 + 5000);
    r = tpv(3, T0 + 6000, 49.21, 119.75);
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 0); /* the backwards one skipped */
    assert_int_equal(rc.c.backwards, 1);
    assert_int_equal(agent_receiver_flush(&rc, &f), 1);
    assert_int_equal(f.time_ms, T0 + 6000);
    /* Same place 1 s later, no speed: derived 0, but no course (no movement to point). */
    assert_true(f.has_speed);
    assert_int_equal(f.speed_cm_s, 0);
    assert_false(f.has_heading);
}

static void test_staying_back_in_time_is_followed(void **state)
{
    (void)state;
    struct agent_receiver rc;
    agent_receiver_init(&rc, 0, 10000);
    struct agent_fix f;
    int64_t t = T0 + 3600 * 1000LL;
    struct agent_reading r = tpv(3, t, 49.21, 119.75);
    agent_receiver_offer(&rc, &r, 0, &f);
    /* An hour back, then on from there: the first AGENT_REANCHOR_EPOCHS - 1 are dropped,
     * the next one is taken and the new timeline followed. */
    int produced = 0;
    for (int i = 0; i <= AGENT_REANCHOR_EPOCHS + 2; i++) {
        r = tpv(3, T0 + i * 1000LL, 49.21, 119.75);
        if (agent_receiver_offer(&rc, &r, 0, &f)) {
            produced++;
            if (produced == 1)
                assert_int_equal(f.time_ms, t);
            else if (produced == 2)
                assert_int_equal(f.time_ms, T0 + (AGENT_REANCHOR_EPOCHS - 1) * 1000LL);
        }
    }
    assert_int_equal(rc.c.backwards, AGENT_REANCHOR_EPOCHS);
    assert_int_equal(rc.c.reanchored, 1);
    assert_int_equal(produced, 4); /* t, then T0+9 s, T0+10 s, T0+11 s */
    /* No speed is derived across the jump. */
    assert_int_equal(agent_receiver_flush(&rc, &f), 1);
    assert_int_equal(f.time_ms, T0 + (AGENT_REANCHOR_EPOCHS + 2) * 1000LL);
}

static void test_no_derivation_across_a_gap(void **state)
{
    (void)state;
    struct agent_receiver rc;
    agent_receiver_init(&rc, -3600 * 1000LL, 10000);
    struct agent_fix f;
    struct agent_reading r = tpv(3, T0, 49.21, 119.75);
    agent_receiver_offer(&rc, &r, 0, &f);
    /* Fix lost for 60 s and regained 1 km away: no speed is invented. */
    r = tpv(3, T0 + 60000, 49.219, 119.75);
    assert_int_equal(agent_receiver_offer(&rc, &r, 0, &f), 1);
    assert_int_equal(f.time_ms, T0 - 3600 * 1000LL); /* the offset applied */
    assert_int_equal(agent_receiver_flush(&rc, &f), 1);
    assert_false(f.has_speed);
    assert_false(f.has_heading);
    assert_false(f.speed_derived);
    assert_false(f.has_accuracy);
    /* epx/epy without eph: the larger one. */
    r = tpv(3, T0 + 61000, 49.219, 119.75);
    r.epx_m = 2.0;
    r.epy_m = 4.5;
    agent_receiver_offer(&rc, &r, 0, &f);
    assert_int_equal(agent_receiver_flush(&rc, &f), 1);
    assert_true(f.has_accuracy);
    assert_int_equal(f.accuracy_cm, 450);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_merged_into_one_fix),
        cmocka_unit_test(test_no_fix_no_time_backwards),
        cmocka_unit_test(test_staying_back_in_time_is_followed),
        cmocka_unit_test(test_no_derivation_across_a_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
