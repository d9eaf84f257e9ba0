/* test_motion.c -- dispatch/core/motion.c: trips and stops from fixes with the fatigue rule's
 * thresholds (5 km/h, 50 m displacement, 60 s gaps, 200 m parked gaps, 20 km/h gap credit) and
 * a 5 min minimum stop. Fixes run along the meridian 120E from 30N at 1 Hz, so the distance
 * driven is exactly the difference of the path positions (metres along the meridian); every
 * expected figure is derived in the comment beside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/motion.h"

#define T0      1795215600000LL /* 2026-11-20T23:00:00Z */
#define MAX_SEG 16
#define PI      3.14159265358979323846

struct out {
    struct motion_segment seg[MAX_SEG];
    size_t n;
};

static void collect(void *arg, const struct motion_segment *s)
{
    struct out *o = arg;
    assert_true(o->n < MAX_SEG);
    o->seg[o->n++] = *s;
}

static struct motion m;
static struct out out;
/* The fatigue rule, fed the same fixes when `with_rules` (cross-check of driving time). */
static bool with_rules;
static struct rules_config rcfg;
static struct rules_state rst;

static void start(void)
{
    struct rules_config rc;
    struct motion_config mc;
    rules_config_default(&rc);
    motion_config_from_rules(&mc, &rc, MOTION_MIN_STOP_MS_DEFAULT);
    memset(&out, 0, sizeof(out));
    motion_init(&m, &mc, collect, &out);
}

static double lat_at(double s_m)
{
    return 30.0 + s_m / GEO_EARTH_RADIUS_M * 180.0 / PI;
}

/* A fix at T0 + t seconds, s metres along the meridian, measured speed v m/s (v < 0: none). */
static void fix_at(int64_t t, double s_m, double v_ms, double east_m)
{
    struct lpg_fix f;
    memset(&f, 0, sizeof(f));
    f.time_ms = T0 + t * 1000;
    f.pos.lat = lat_at(s_m);
    f.pos.lon = 120.0 + east_m / (GEO_EARTH_RADIUS_M * cos(f.pos.lat * PI / 180.0)) * 180.0 / PI;
    if (v_ms >= 0) {
        f.has_speed = true;
        f.speed_kmh = v_ms * 3.6;
    }
    f.mode = LPG_FIX_MODE_3D;
    motion_push(&m, &f);
    if (with_rules) {
        struct rules_ctx ctx = {.utc_offset_min = 480};
        struct rule_event ev[RULES_EVENTS_MAX];
        rules_evaluate(&rcfg, &rst, &f, &ctx, ev, RULES_EVENTS_MAX);
    }
}

static void assert_trip(const struct motion_segment *s, int64_t t0, int64_t t1, double dist,
                        int64_t driving_s, double vmax_kmh)
{
    assert_int_equal(s->kind, MOTION_TRIP);
    assert_int_equal(s->start_ms, T0 + t0 * 1000);
    assert_int_equal(s->end_ms, T0 + t1 * 1000);
    assert_true(fabs(s->distance_m - dist) < 1e-3);
    assert_int_equal(s->driving_ms, driving_s * 1000);
    assert_true(s->has_max_speed);
    assert_true(fabs(s->max_speed_kmh - vmax_kmh) < 1e-9);
}

static void assert_stop(const struct motion_segment *s, int64_t t0, int64_t t1, double at_m)
{
    assert_int_equal(s->kind, MOTION_STOP);
    assert_int_equal(s->start_ms, T0 + t0 * 1000);
    assert_int_equal(s->end_ms, T0 + t1 * 1000);
    assert_true(fabs(s->start_pos.lat - lat_at(at_m)) < 1e-9);
    assert_true(s->distance_m == 0.0 && s->driving_ms == 0);
}

/* The whole scenario (t in s from T0, s = metres along the meridian):
 *   A   t 0..600      36 km/h (10 m/s), s 0..6000
 *   B   t 601..2100   standing at 6000 (speed 0): 25 min
 *   C   t 2101..2400  72 km/h (20 m/s), s 6020..12000; 2101 and 2102 are only 20 and 40 m from
 *                     the anchor (< 50 m): still stopped; 2103 (60 m) moves
 *   D   t 2401..2520  standing at 12000: a 2 min halt (the run 2400..2523 is 123 s < 5 min)
 *       t 2521..2820  54 km/h (15 m/s), s 12015..16500; 2521..2523 (15, 30, 45 m) stopped
 *   E   t 4620        after a 30 min data gap, 100 m on, speed 0 (parked: <= 200 m, 0.2 km/h),
 *       t 4621..4680  standing at 16600; t 4681.. 54 km/h: 4681..4683 stopped, 4684 moves
 *       t ..4980      s 16600 + 15 (t - 4680) = 21100
 *   F   t 5280        after a 5 min gap 1000 m on (12 km/h: driven; credit 1000 m / 20 km/h =
 *                     180 s), 36 km/h
 *       t 5281..5400  36 km/h, s 22110..23300: the end
 */
static void drive_scenario(void)
{
    for (int64_t t = 0; t <= 600; t++)
        fix_at(t, 10.0 * (double)t, 10, 0);
    for (int64_t t = 601; t <= 2100; t++)
        fix_at(t, 6000, 0, 0);
    for (int64_t t = 2101; t <= 2400; t++)
        fix_at(t, 6000 + 20.0 * (double)(t - 2100), 20, 0);
    for (int64_t t = 2401; t <= 2520; t++)
        fix_at(t, 12000, 0, 0);
    for (int64_t t = 2521; t <= 2820; t++)
        fix_at(t, 12000 + 15.0 * (double)(t - 2520), 15, 0);
    fix_at(4620, 16600, 0, 0);
    for (int64_t t = 4621; t <= 4680; t++)
        fix_at(t, 16600, 0, 0);
    for (int64_t t = 4681; t <= 4980; t++)
        fix_at(t, 16600 + 15.0 * (double)(t - 4680), 15, 0);
    fix_at(5280, 22100, 10, 0);
    for (int64_t t = 5281; t <= 5400; t++)
        fix_at(t, 22100 + 10.0 * (double)(t - 5280), 10, 0);
    motion_finish(&m);
}

static void test_scenario(void **state)
{
    (void)state;
    start();
    drive_scenario();
    assert_int_equal(out.n, 5);
    /* T1: 0..600, 6000 m, 600 s driving, 36 km/h; it began at the first fix. */
    assert_trip(&out.seg[0], 0, 600, 6000, 600, 36);
    assert_true(out.seg[0].open_start && !out.seg[0].open_end);
    /* S1: from the last moving fix (600) to the last stopped fix (2102), at 6000. */
    assert_stop(&out.seg[1], 600, 2102, 6000);
    /* T2: 2102..2820: from the anchor (6000) to 16500 = 10500 m, the 2 min halt included;
     * driving = moving intervals 2102..2400 (298 s) + 2523..2820 (297 s) = 595 s. */
    assert_trip(&out.seg[2], 2102, 2820, 10500, 595, 72);
    /* S2: the parked gap: 2820..4683 at the anchor 16600. */
    assert_stop(&out.seg[3], 2820, 4683, 16600);
    /* T3: 4683..5400, 16600 -> 23300 = 6700 m; driving 4683..4980 (297 s) + gap credit 180 s +
     * 5280..5400 (120 s) = 597 s; 54 km/h at most; it ends at the last fix. */
    assert_trip(&out.seg[4], 4683, 5400, 6700, 597, 54);
    assert_true(!out.seg[4].open_start && out.seg[4].open_end);
    assert_int_equal(m.n_fixes, 601 + 1500 + 300 + 120 + 300 + 1 + 60 + 300 + 1 + 120);
}

/* Fed one fix at a time in chunks of any size, the result is the same: the state is O(1). Here:
 * a resent (duplicate) and an older fix are ignored. */
static void test_ignores_fixes_out_of_order(void **state)
{
    (void)state;
    start();
    for (int64_t t = 0; t <= 100; t++) {
        fix_at(t, 10.0 * (double)t, 10, 0);
        if (t == 50) {
            fix_at(50, 500, 10, 0);
            fix_at(20, 200, 10, 0);
        }
    }
    motion_finish(&m);
    assert_int_equal(out.n, 1);
    assert_trip(&out.seg[0], 0, 100, 1000, 100, 36);
    assert_int_equal(m.n_fixes, 101);
    assert_int_equal(m.n_ignored, 2);
}

/* Driving at 36 km/h to s = 1000 at t = 100, standing for n seconds, then 60 m on at 36 km/h. */
static void halt(int64_t n)
{
    start();
    for (int64_t t = 0; t <= 100; t++)
        fix_at(t, 10.0 * (double)t, 10, 0);
    for (int64_t t = 101; t <= 100 + n; t++)
        fix_at(t, 1000, 0, 0);
    for (int64_t k = 1; k <= 10; k++)
        fix_at(100 + n + k, 1000 + 60.0 * (double)k, 10, 0);
    motion_finish(&m);
}

static void test_min_stop_threshold(void **state)
{
    (void)state;
    /* 299 s standing (100..399): part of one trip, 1000 + 600 m. */
    halt(299);
    assert_int_equal(out.n, 1);
    assert_trip(&out.seg[0], 0, 409, 1600, 110, 36);
    /* 300 s (100..400): a stop. */
    halt(300);
    assert_int_equal(out.n, 3);
    assert_trip(&out.seg[0], 0, 100, 1000, 100, 36);
    assert_stop(&out.seg[1], 100, 400, 1000);
    assert_trip(&out.seg[2], 400, 410, 600, 10, 36);
}

/* 30 min parked with GPS jitter: positions wandering +-8 m, noisy measured speeds below and
 * above 5 km/h, derived speeds of 40 km/h: one stop, no trip. */
static void test_parked_jitter_is_one_stop(void **state)
{
    (void)state;
    start();
    for (int64_t t = 0; t <= 1800; t++) {
        double n = (double)(t % 7) - 3.0;            /* -3..3 */
        double v = (t % 13 == 5) ? 30.0 / 3.6 : 1.0; /* a noisy 30 km/h now and then */
        fix_at(t, 1000 + 2.5 * n, v, 2.5 * (double)((t * 5) % 7 - 3));
    }
    motion_finish(&m);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.seg[0].kind, MOTION_STOP);
    assert_int_equal(out.seg[0].start_ms, T0);
    assert_int_equal(out.seg[0].end_ms, T0 + 1800 * 1000);
    assert_true(out.seg[0].open_start && out.seg[0].open_end);
}

/* A data gap while driving (30 min, 15 km away) is driving, never a stop; credited at most
 * distance / 20 km/h = 2700 s > 1800 s: the whole gap. */
static void test_gap_while_moving_is_driving(void **state)
{
    (void)state;
    start();
    for (int64_t t = 0; t <= 60; t++)
        fix_at(t, 10.0 * (double)t, 10, 0);
    for (int64_t t = 1860; t <= 1920; t++)
        fix_at(t, 600 + 15000 + 10.0 * (double)(t - 1860), 10, 0);
    motion_finish(&m);
    assert_int_equal(out.n, 1);
    assert_trip(&out.seg[0], 0, 1920, 600 + 15000 + 600, 60 + 1800 + 60, 36);
}

static void test_empty_and_single(void **state)
{
    (void)state;
    start();
    motion_finish(&m);
    assert_int_equal(out.n, 0);
    start();
    fix_at(0, 0, 10, 0);
    motion_finish(&m);
    assert_int_equal(out.n, 0); /* one fix: no interval, no trip */
}

/* The fatigue rule's daily driving time (its persisted state, field daily_ms) over the
 * scenario, all on local day 2026-11-21 (07:00..08:30 in UTC+8), equals the driving time of
 * the trips: the same classification of every interval. */
static void test_driving_time_matches_the_fatigue_rule(void **state)
{
    (void)state;
    start();
    rules_config_default(&rcfg);
    rules_state_init(&rst);
    with_rules = true;
    drive_scenario();
    with_rules = false;
    int64_t driving = 0;
    for (size_t i = 0; i < out.n; i++)
        driving += out.seg[i].driving_ms;
    assert_int_equal(driving, (600 + 595 + 597) * 1000);
    char text[RULES_STATE_TEXT_MAX];
    assert_true(rules_state_encode(&rst, text, sizeof(text)) > 0);
    const char *f = strstr(text, "fatigue=");
    assert_non_null(f);
    f += strlen("fatigue=");
    for (int i = 0; i < 9; i++) { /* daily_ms is the 10th field */
        f = strchr(f, ',');
        assert_non_null(f);
        f++;
    }
    assert_int_equal(strtoll(f, NULL, 10), driving);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario),
        cmocka_unit_test(test_ignores_fixes_out_of_order),
        cmocka_unit_test(test_min_stop_threshold),
        cmocka_unit_test(test_parked_jitter_is_one_stop),
        cmocka_unit_test(test_gap_while_moving_is_driving),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_driving_time_matches_the_fatigue_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
