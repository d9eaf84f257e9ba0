/*
 * test_rules.c - the pre-rule filters (fix_filter.c) and each rule at and around its
 * thresholds, with synthetic fixes: overspeed exactly 10 s vs 9.5 s, one or two noisy fast
 * fixes, gaps, the limit choice and the warning margin; fatigue 3 h 45 / 4 h (none) / 4 h 10 s,
 * a 19 min vs a
 * 20 min stop, data gaps at the same place vs far away, GPS jitter while parked, a drive across
 * midnight in UTC+8; zone exit 59 vs 60 s; signal lost 5 min; late fixes; the state's text form
 * (round trip, restart in the middle of episodes, garbage rejected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "core/fix_filter.h"
#include "geo_sphere.h"
#include "rules_test_util.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

static struct evlog g_log;

/* ---- a simulated vehicle ---- */

struct sim {
    struct rules_config cfg;
    struct rules_state st;
    struct rules_ctx ctx;
    int64_t t;
    double lon, lat;
    struct evlog *log;
};

static void sim_init(struct sim *s)
{
    rules_config_default(&s->cfg);
    rules_state_init(&s->st);
    s->ctx = (struct rules_ctx){.utc_offset_min = 480};
    s->t = T0_MS;
    s->lon = 119.7;
    s->lat = 49.2;
    s->log = &g_log;
    g_log.n = 0;
}

static size_t sim_fix(struct sim *s, double kmh, uint32_t flags)
{
    struct lpg_fix f = mkfix(s->t, s->lon, s->lat, kmh);
    f.flags = flags;
    return eval_log(&s->cfg, &s->st, &f, &s->ctx, s->log);
}

/* Moves east at kmh for dur_ms, one fix every step_ms (the first one step after now). */
static void sim_drive(struct sim *s, int64_t dur_ms, int64_t step_ms, double kmh)
{
    for (int64_t e = step_ms; e <= dur_ms; e += step_ms) {
        s->t += step_ms;
        s->lon += kmh / 3.6 * ((double)step_ms / 1000.0) /
                  (111320.0 * cos(s->lat * 3.14159265358979323846 / 180));
        sim_fix(s, kmh, 0);
    }
}

/* Stands still for dur_ms, one fix every step_ms with speed 0. */
static void sim_park(struct sim *s, int64_t dur_ms, int64_t step_ms)
{
    for (int64_t e = step_ms; e <= dur_ms; e += step_ms) {
        s->t += step_ms;
        sim_fix(s, 0.0, 0);
    }
}

/* ---- filters ---- */

static void test_filter_reasons(void **state)
{
    (void)state;
    struct fix_filter_config c;
    struct fix_filter_state st;
    fix_filter_config_default(&c);
    assert_int_equal(c.max_future_ms, 60000);
    assert_true(c.max_implied_speed_kmh == 250.0);
    fix_filter_state_init(&st);
    int64_t now = T0_MS;
    double v;
    bool re;

    struct lpg_fix f = mkfix(now, 119.7, 49.2, 30);
    f.mode = LPG_FIX_MODE_NONE;
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_INVALID);
    f = mkfix(now, NAN, 49.2, 30);
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_INVALID);
    f = mkfix(now, 119.7, 91, 30);
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_INVALID);
    f = mkfix(now, 0, 0, 30);
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_ZERO);
    f = mkfix(now + 60001, 119.7, 49.2, 30);
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_FUTURE);
    f = mkfix(now + 60000, 119.7, 49.2, 30); /* exactly 60 s ahead passes */
    f.has_accuracy = true;
    f.accuracy_m = 100.5;
    assert_int_equal(fix_filter_apply(&c, &st, &f, now, &v, &re), FIX_FILTER_ACCURACY);
    f.accuracy_m = 100.0;
    assert_int_equal(fix_filter_apply(&c, &st, &f, now + 60000, &v, &re), FIX_FILTER_OK);
    assert_true(isnan(v)); /* first fix: no implied speed */
    assert_int_equal(fix_filter_apply(&c, &st, &f, now + 60000, &v, &re), FIX_FILTER_DUPLICATE);
    f.time_ms -= 1000;
    assert_int_equal(fix_filter_apply(&c, &st, &f, now + 60000, &v, &re), FIX_FILTER_OUT_OF_ORDER);
    /* 100 m in 1 s = 360 km/h: a jump; 60 m in 1 s = 216 km/h passes. */
    struct geo_point p0 = st.last_pos;
    f = mkfix(st.last_ms + 1000, geo_destination(p0, 90, 100).lon, p0.lat, -1);
    assert_int_equal(fix_filter_apply(&c, &st, &f, f.time_ms, &v, &re), FIX_FILTER_JUMP);
    f.pos = geo_destination(p0, 90, 60);
    assert_int_equal(fix_filter_apply(&c, &st, &f, f.time_ms, &v, &re), FIX_FILTER_OK);
    assert_true(fabs(v - 216.0) < 0.01);
    assert_false(re);
    assert_string_equal(fix_filter_reason_name(FIX_FILTER_JUMP), "jump");
    assert_string_equal(fix_filter_reason_name(FIX_FILTER_REASON_COUNT), "unknown");
}

/* A lone spike is rejected and the track continues; a real jump re-anchors after 3 fixes. */
static void test_filter_spike_and_reanchor(void **state)
{
    (void)state;
    struct fix_filter_config c;
    struct fix_filter_state st;
    fix_filter_config_default(&c);
    fix_filter_state_init(&st);
    struct geo_point a = {119.7, 49.2}, b = geo_destination(a, 0, 5000);
    struct lpg_fix f = mkfix(T0_MS, a.lon, a.lat, -1);
    assert_int_equal(fix_filter_apply(&c, &st, &f, f.time_ms, NULL, NULL), FIX_FILTER_OK);
    f = mkfix(T0_MS + 1000, b.lon, b.lat, -1); /* spike */
    assert_int_equal(fix_filter_apply(&c, &st, &f, f.time_ms, NULL, NULL), FIX_FILTER_JUMP);
    f = mkfix(T0_MS + 2000, a.lon, a.lat, -1); /* back on track */
    assert_int_equal(fix_filter_apply(&c, &st, &f, f.time_ms, NULL, NULL), FIX_FILTER_OK);
    /* A real jump to b: rejected twice, the third consistent fix re-anchors. */
    bool re = false;
    for (int i = 0; i < 3; i++) {
        struct geo_point p = geo_destination(b, 90, 10.0 * i);
        f = mkfix(T0_MS + 3000 + 1000 * i, p.lon, p.lat, -1);
        enum fix_filter_reason r = fix_filter_apply(&c, &st, &f, f.time_ms, NULL, &re);
        assert_int_equal(r, i < 2 ? FIX_FILTER_JUMP : FIX_FILTER_OK);
    }
    assert_true(re);
}

/* ---- overspeed ---- */

static void run_speeds(struct sim *s, int64_t step_ms, const double *kmh, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->t += step_ms;
        s->lon += kmh[i] / 3.6 * ((double)step_ms / 1000.0) / 72700.0;
        sim_fix(s, kmh[i], 0);
    }
}

static void test_overspeed_exactly_10s(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    double v[13];
    for (int i = 0; i < 13; i++)
        v[i] = (i >= 1 && i <= 11) ? 70 + i : 40; /* over at fixes 1..11: 10 s at 1 Hz */
    run_speeds(&s, SEC, v, 13);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 1);
    const struct rule_event *e = evlog_find(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_END, -1);
    assert_non_null(e);
    assert_int_equal(e->duration_ms, 10 * SEC);
    assert_int_equal(e->start_ms, T0_MS + 2 * SEC);
    assert_int_equal(e->end_ms, T0_MS + 12 * SEC);
    assert_true(e->max_speed_kmh == 81.0);
    assert_true(e->limit == 60.0);
    assert_false(e->late);
    assert_non_null(strstr(e->message, "81.0 km/h"));
}

static void test_overspeed_9_5s_not_raised(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    double v[22];
    for (int i = 0; i < 22; i++)
        v[i] = (i >= 1 && i <= 20) ? 75 : 40; /* 20 fixes at 2 Hz: 9.5 s */
    run_speeds(&s, 500, v, 22);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 0);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_END, -1), 0);
}

static void test_overspeed_noisy_fixes(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    /* One 336 km/h glitch (gpsd's derived speed) among 30 km/h fixes, then two in a row. */
    double v[40];
    for (int i = 0; i < 40; i++)
        v[i] = 30;
    v[5] = 336;
    v[20] = 120;
    v[21] = 60.5;
    run_speeds(&s, SEC, v, 40);
    /* Two fast fixes 12 s apart (sparse sampling): only two fixes, never raised. */
    s.t += 12 * SEC;
    sim_fix(&s, 90, LPG_FIX_DERIVED_SPEED);
    s.t += 12 * SEC;
    sim_fix(&s, 90, LPG_FIX_DERIVED_SPEED);
    s.t += 10 * SEC;
    sim_fix(&s, 30, 0);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 0);
}

static void test_overspeed_gap_breaks_and_limits(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    /* 8 s over, a 16 s gap, 8 s over: two runs of 7 s, never 10 s. */
    double v[8] = {70, 70, 70, 70, 70, 70, 70, 70};
    run_speeds(&s, SEC, v, 8);
    s.t += 15 * SEC;
    run_speeds(&s, SEC, v, 8);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 0);
    /* Limits: min(vehicle, zone, road class). */
    struct rules_ctx c = {0};
    assert_true(rules_speed_limit_kmh(&s.cfg, &c) == 60.0);
    c.expressway = true;
    assert_true(rules_speed_limit_kmh(&s.cfg, &c) == 80.0);
    c.zone_limit_kmh = 70;
    assert_true(rules_speed_limit_kmh(&s.cfg, &c) == 70.0);
    c.vehicle_limit_kmh = 50;
    assert_true(rules_speed_limit_kmh(&s.cfg, &c) == 50.0);
    c.vehicle_limit_kmh = 90;
    assert_true(rules_speed_limit_kmh(&s.cfg, &c) == 70.0);
    /* 75 km/h on an expressway for a minute: warning (margin 5), no violation. */
    sim_init(&s);
    s.ctx.expressway = true;
    double w[60];
    for (int i = 0; i < 60; i++)
        w[i] = 75.5;
    run_speeds(&s, SEC, w, 60);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_WARNING, -1), 1);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 0);
    /* In a 40 km/h zone the same speed is a violation. */
    s.ctx.zone_limit_kmh = 40;
    run_speeds(&s, SEC, w, 60);
    const struct rule_event *e = evlog_find(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1);
    assert_non_null(e);
    assert_true(e->limit == 40.0);
}

/* ---- fatigue ---- */

static void test_fatigue_warning_and_violation_at_thresholds(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    sim_fix(&s, 0, 0);
    sim_drive(&s, 3 * HOUR + 45 * MIN - 10 * SEC, 10 * SEC, 50);
    assert_int_equal(g_log.n, 0);
    sim_drive(&s, 10 * SEC, 10 * SEC, 50); /* 3 h 45 min exactly */
    const struct rule_event *w = evlog_find(&g_log, RULE_FATIGUE, RULE_EVENT_WARNING, -1);
    assert_non_null(w);
    assert_int_equal(w->duration_ms, 3 * HOUR + 45 * MIN);
    sim_drive(&s, 15 * MIN - 10 * SEC, 10 * SEC, 50);
    assert_int_equal(evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);
    assert_int_equal(rules_rest_until_ms(&s.st), 0);
    /* 4 h exactly is not "more than 4 h" (超过4小时): no violation yet. */
    sim_drive(&s, 10 * SEC, 10 * SEC, 50);
    assert_int_equal(evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);
    assert_int_equal(rules_rest_until_ms(&s.st), 0);
    /* One fix interval later it is. */
    sim_drive(&s, 10 * SEC, 10 * SEC, 50);
    const struct rule_event *v =
        evlog_find(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_CONTINUOUS);
    assert_non_null(v);
    assert_int_equal(v->duration_ms, 4 * HOUR + 10 * SEC);
    assert_int_equal(v->start_ms, T0_MS);
    assert_int_equal(v->rest_until_ms, s.t + 20 * MIN);
    assert_int_equal(rules_rest_until_ms(&s.st), s.t + 20 * MIN);
    /* Driving on moves the rest end; a 20 min stop closes the episode. */
    sim_drive(&s, 10 * MIN - 10 * SEC, 10 * SEC, 50);
    int64_t stop_at = s.t;
    assert_int_equal(rules_rest_until_ms(&s.st), stop_at + 20 * MIN);
    sim_park(&s, 20 * MIN, 10 * SEC);
    const struct rule_event *end =
        evlog_find(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_END, RULE_FATIGUE_CONTINUOUS);
    assert_non_null(end);
    assert_int_equal(end->end_ms, stop_at);
    assert_int_equal(end->duration_ms, 4 * HOUR + 10 * MIN);
}

/* 3 h driving, a stop of `stop` (parked fixes or one data gap), 1 h 05 min driving. */
static size_t fatigue_with_stop(int64_t stop, bool as_gap, double gap_move_m)
{
    struct sim s;
    sim_init(&s);
    sim_fix(&s, 0, 0);
    sim_drive(&s, 3 * HOUR, 10 * SEC, 50);
    if (as_gap) {
        s.t += stop;
        struct geo_point p = geo_destination((struct geo_point){s.lon, s.lat}, 45, gap_move_m);
        s.lon = p.lon;
        s.lat = p.lat;
        sim_fix(&s, 3.0, 0);
    } else {
        sim_park(&s, stop, 10 * SEC);
    }
    sim_drive(&s, 65 * MIN, 10 * SEC, 50);
    return evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_CONTINUOUS);
}

static void test_fatigue_19_vs_20_min_stop(void **state)
{
    (void)state;
    assert_int_equal(fatigue_with_stop(19 * MIN, false, 0), 1);
    assert_int_equal(fatigue_with_stop(19 * MIN + 50 * SEC, false, 0), 1);
    assert_int_equal(fatigue_with_stop(20 * MIN, false, 0), 0);
}

/* Gap-as-rest: a gap >= 20 min ending <= 200 m from where it began is a rest. */
static void test_fatigue_data_gap_rest(void **state)
{
    (void)state;
    assert_int_equal(fatigue_with_stop(20 * MIN, true, 150), 0);
    assert_int_equal(fatigue_with_stop(20 * MIN, true, 200), 0);
    assert_int_equal(fatigue_with_stop(19 * MIN, true, 20), 1);  /* too short */
    assert_int_equal(fatigue_with_stop(20 * MIN, true, 250), 1); /* moved: not rest */
    assert_int_equal(fatigue_with_stop(60 * MIN, true, 15000), 1);
}

/* GPS jitter while parked: wandering positions within ~20 m, noisy measured speeds (some
 * above 5 km/h) and fixes without speed whose implied speeds reach tens of km/h. */
static void test_fatigue_jitter_while_parked(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    sim_fix(&s, 0, 0);
    sim_drive(&s, 3 * HOUR + 40 * MIN, 10 * SEC, 50);
    assert_int_equal(g_log.n, 0);
    struct geo_point park = {s.lon, s.lat};
    uint32_t seed = 12345;
    for (int i = 1; i <= 30 * 60; i++) { /* 30 min at 1 Hz */
        seed = seed * 1103515245u + 12345u;
        double r1 = (double)((seed >> 8) % 1000) / 1000.0;
        seed = seed * 1103515245u + 12345u;
        double r2 = (double)((seed >> 8) % 1000) / 1000.0;
        struct geo_point p = geo_destination(park, r1 * 360.0, r2 * 20.0);
        struct lpg_fix f = mkfix(s.t + i * SEC, p.lon, p.lat, -1);
        if (i % 3 == 0) {
            f.has_speed = true;
            f.speed_kmh = (i % 30 == 0) ? 8.0 : r2 * 4.9; /* noisy, a few spikes over 5 */
        } else if (i % 3 == 1) {
            f.has_speed = true; /* implied from jitter, flagged derived */
            f.speed_kmh = r2 * 40.0;
            f.flags = LPG_FIX_DERIVED_SPEED;
        }
        eval_log(&s.cfg, &s.st, &f, &s.ctx, &g_log);
    }
    s.t += 30 * MIN;
    /* No warning while parked (3 h 40 + 5 min of "driving" would have raised one), and the
     * 30 min counts as rest: 1 h more driving raises nothing. */
    assert_int_equal(g_log.n, 0);
    sim_drive(&s, 1 * HOUR, 10 * SEC, 50);
    assert_int_equal(evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_WARNING, -1), 0);
}

/* Three 3 h drives with 25 min rests, starting 16:00 local: 7 h 10 min of driving before
 * local midnight, 1 h 50 min after. */
static void drive_evening(struct sim *s, int32_t offset_min)
{
    s->ctx.utc_offset_min = offset_min;
    /* 2023-11-15 16:00 in UTC+8 = 08:00 UTC. */
    s->t = 1700035200000LL; /* 2023-11-15T08:00:00Z */
    sim_fix(s, 0, 0);
    for (int leg = 0; leg < 3; leg++) {
        sim_drive(s, 3 * HOUR, 10 * SEC, 50);
        if (leg < 2)
            sim_park(s, 25 * MIN, 10 * SEC);
    }
}

static void test_fatigue_daily_across_midnight(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    drive_evening(&s, 480); /* UTC+8: split 7 h 10 / 1 h 50 across local midnight */
    assert_int_equal(
        evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_DAILY), 0);
    sim_init(&s);
    drive_evening(&s, 0); /* UTC: all 9 h on one day */
    const struct rule_event *e =
        evlog_find(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_DAILY);
    assert_non_null(e);
    assert_int_equal(e->rest_until_ms, 1700092800000LL); /* 2023-11-16T00:00:00Z */
    assert_int_equal(rules_rest_until_ms(&s.st), 1700092800000LL);
    /* 8 h 50 min in UTC+8, all before midnight (start 14:00 local): violation; the next
     * day's first fix closes it. */
    sim_init(&s);
    s.t = 1700035200000LL - 2 * HOUR;
    sim_fix(&s, 0, 0);
    for (int leg = 0; leg < 3; leg++) {
        sim_drive(&s, leg < 2 ? 3 * HOUR : 2 * HOUR + 50 * MIN, 10 * SEC, 50);
        sim_park(&s, 25 * MIN, 10 * SEC);
    }
    assert_int_equal(
        evlog_count(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_DAILY), 1);
    sim_park(&s, 60 * MIN, 10 * SEC); /* crosses local midnight */
    const struct rule_event *end =
        evlog_find(&g_log, RULE_FATIGUE, RULE_EVENT_VIOLATION_END, RULE_FATIGUE_DAILY);
    assert_non_null(end);
    assert_int_equal(end->duration_ms, 8 * HOUR + 50 * MIN);
}

/* ---- zone exit, signal lost, late ---- */

static void test_zone_exit(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    s.ctx.has_zone = true;
    s.ctx.inside_zone = true;
    sim_drive(&s, 10 * SEC, SEC, 30);
    s.ctx.inside_zone = false;
    sim_drive(&s, 59 * SEC, SEC, 30); /* outside from the first fix: 58 s */
    assert_int_equal(g_log.n, 0);
    sim_drive(&s, 2 * SEC, SEC, 30); /* 59 s, 60 s */
    const struct rule_event *e = evlog_find(&g_log, RULE_ZONE_EXIT, RULE_EVENT_VIOLATION_START, -1);
    assert_non_null(e);
    assert_int_equal(e->duration_ms, 60 * SEC);
    sim_drive(&s, 30 * SEC, SEC, 30);
    s.ctx.inside_zone = true;
    sim_drive(&s, SEC, SEC, 30);
    e = evlog_find(&g_log, RULE_ZONE_EXIT, RULE_EVENT_VIOLATION_END, -1);
    assert_non_null(e);
    assert_int_equal(e->duration_ms, 91 * SEC);
    assert_int_equal(evlog_count(&g_log, RULE_ZONE_EXIT, RULE_EVENT_VIOLATION_START, -1), 1);
    /* No zone: never raised. */
    sim_init(&s);
    s.ctx.has_zone = false;
    sim_drive(&s, 5 * MIN, SEC, 30);
    assert_int_equal(g_log.n, 0);
}

static void test_signal_lost(void **state)
{
    (void)state;
    struct sim s;
    struct rule_event ev[RULES_EVENTS_MAX];
    sim_init(&s);
    s.ctx.on_active_delivery = true;
    assert_int_equal(rules_tick(&s.cfg, &s.st, s.t + HOUR, &s.ctx, ev, RULES_EVENTS_MAX), 0);
    sim_drive(&s, 10 * SEC, SEC, 30);
    int64_t last = s.t;
    assert_int_equal(rules_tick(&s.cfg, &s.st, last + 5 * MIN - 1, &s.ctx, ev, 8), 0);
    s.ctx.on_active_delivery = false;
    assert_int_equal(rules_tick(&s.cfg, &s.st, last + 10 * MIN, &s.ctx, ev, 8), 0);
    s.ctx.on_active_delivery = true;
    assert_int_equal(rules_tick(&s.cfg, &s.st, last + 5 * MIN, &s.ctx, ev, 8), 1);
    assert_int_equal(ev[0].rule, RULE_SIGNAL_LOST);
    assert_int_equal(ev[0].kind, RULE_EVENT_VIOLATION_START);
    assert_int_equal(ev[0].start_ms, last);
    assert_int_equal(rules_tick(&s.cfg, &s.st, last + 6 * MIN, &s.ctx, ev, 8), 0); /* once */
    /* The unit uploads its buffer: a late fix closes the episode, marked late. */
    s.t = last + 7 * MIN;
    sim_fix(&s, 30, LPG_FIX_LATE);
    const struct rule_event *e = evlog_find(&g_log, RULE_SIGNAL_LOST, RULE_EVENT_VIOLATION_END, -1);
    assert_non_null(e);
    assert_true(e->late);
    assert_int_equal(e->duration_ms, 7 * MIN);
}

static void test_late_fixes_mark_events(void **state)
{
    (void)state;
    struct sim s;
    sim_init(&s);
    for (int i = 0; i < 15; i++) {
        s.t += SEC;
        sim_fix(&s, 90, LPG_FIX_LATE);
    }
    s.t += SEC;
    sim_fix(&s, 30, LPG_FIX_LATE);
    assert_int_equal(evlog_count(&g_log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 1);
    for (size_t i = 0; i < g_log.n; i++)
        assert_true(g_log.ev[i].late);
}

/* ---- persistence ---- */

/* A scripted day with every rule active: n fixes; ticks every 60 s. */
struct scripted {
    struct lpg_fix f;
    struct rules_ctx ctx;
};
static struct scripted script[8000];
static size_t script_n;

static void build_script(void)
{
    double lon = 119.7, lat = 49.2;
    int64_t t = T0_MS;
    script_n = 0;
    for (int i = 0; script_n < sizeof script / sizeof script[0]; i++) {
        /* Speed profile: cruising 55, a 40 s burst at 75, parking now and then, a 25 min
         * gap every 2000 fixes; zone exit for 90 s every 700 fixes. */
        double kmh = 55;
        if (i % 300 >= 100 && i % 300 < 140)
            kmh = 75;
        if (i % 1000 >= 900)
            kmh = 0;
        int64_t step = (i % 2000 == 1999) ? 25 * MIN : 5 * SEC;
        t += step;
        lon += kmh / 3.6 * 5.0 / 72700.0;
        struct scripted *sc = &script[script_n++];
        sc->f = mkfix(t, lon, lat, kmh);
        sc->ctx = (struct rules_ctx){.utc_offset_min = 480,
                                     .has_zone = true,
                                     .inside_zone = !(i % 700 >= 600 && i % 700 < 618),
                                     .on_active_delivery = true};
    }
}

static void run_script(const struct rules_config *cfg, struct rules_state *st, size_t from,
                       size_t to, struct evlog *log)
{
    struct rule_event ev[RULES_EVENTS_MAX];
    for (size_t i = from; i < to; i++) {
        eval_log(cfg, st, &script[i].f, &script[i].ctx, log);
        /* A tick 30 s after each fix, and 6 min after it before a long gap. */
        int64_t t = script[i].f.time_ms;
        bool long_gap = i + 1 < script_n && script[i + 1].f.time_ms - t > 6 * MIN;
        size_t n = rules_tick(cfg, st, t + (long_gap ? 6 * MIN : 30 * SEC), &script[i].ctx, ev,
                              RULES_EVENTS_MAX);
        evlog_add(log, ev, n);
    }
}

static struct evlog log_a, log_b;

static void assert_same_events(const struct evlog *a, const struct evlog *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct rule_event *x = &a->ev[i], *y = &b->ev[i];
        assert_int_equal(x->rule, y->rule);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->code, y->code);
        assert_int_equal(x->start_ms, y->start_ms);
        assert_int_equal(x->end_ms, y->end_ms);
        assert_int_equal(x->duration_ms, y->duration_ms);
        assert_true(x->max_speed_kmh == y->max_speed_kmh);
        assert_true(x->limit == y->limit);
        assert_int_equal(x->rest_until_ms, y->rest_until_ms);
        assert_string_equal(x->message, y->message);
    }
}

/* rules_track: the late state exists only once a late fix came, evaluates late fixes exactly
 * as a state of their own would (events marked late), leaves the live episodes alone, and is
 * copied and moved with the track. */
static void test_track_late_state_is_lazy(void **state)
{
    (void)state;
    struct rules_config cfg;
    struct fix_filter_config fcfg;
    rules_config_default(&cfg);
    fix_filter_config_default(&fcfg);
    struct rules_ctx ctx = {.utc_offset_min = 480};
    struct rules_track tr;
    rules_track_init(&tr);
    struct rule_event ev[RULES_EVENTS_MAX];
    size_t n;
    bool late;
    const int64_t now = T0_MS + 2 * HOUR;
    const double lat = 49.2, step = 25.0 / 72700.0; /* ~25 m per second: 90 km/h */

    /* Live: an hour later than the late stretch, below the limit. */
    double lon = 119.8;
    for (int i = 0; i < 20; i++) {
        struct lpg_fix f = mkfix(T0_MS + HOUR + i * SEC, lon += step / 2, lat, 45);
        assert_int_equal(rules_track_process_fix(&fcfg, &cfg, &tr, &f, now, &ctx, ev,
                                                 RULES_EVENTS_MAX, &n, &late),
                         FIX_FILTER_OK);
        assert_false(late);
        assert_int_equal(n, 0);
    }
    assert_null(tr.late); /* no late fix yet: no late state */
    struct rules_state live_before = tr.live;

    /* The late stretch: 15 s at 90 km/h then 30 km/h, an hour in the past. The same fixes on
     * a state of their own, flagged late, are the reference. */
    struct rules_state ref;
    rules_state_init(&ref);
    struct evlog got = {.n = 0}, want = {.n = 0};
    struct rules_track copy = {.late = NULL};
    lon = 119.7;
    for (int i = 0; i < 18; i++) {
        struct lpg_fix f = mkfix(T0_MS + i * SEC, lon += step, lat, i < 15 ? 90 : 30);
        assert_int_equal(rules_track_process_fix(&fcfg, &cfg, &tr, &f, now, &ctx, ev,
                                                 RULES_EVENTS_MAX, &n, &late),
                         FIX_FILTER_OUT_OF_ORDER);
        assert_true(late);
        assert_non_null(tr.late);
        evlog_add(&got, ev, n);
        struct lpg_fix lf = f;
        lf.flags |= LPG_FIX_LATE;
        assert_int_equal(
            rules_process_fix(&fcfg, &cfg, &ref, &lf, now, &ctx, ev, RULES_EVENTS_MAX, &n),
            FIX_FILTER_OK);
        evlog_add(&want, ev, n);
        if (i == 7)
            assert_int_equal(rules_track_copy(&copy, &tr), 0); /* mid-episode */
    }
    assert_same_events(&got, &want);
    assert_int_equal(evlog_count(&got, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 1);
    const struct rule_event *end = evlog_find(&got, RULE_OVERSPEED, RULE_EVENT_VIOLATION_END, -1);
    assert_non_null(end);
    assert_int_equal(end->start_ms, T0_MS);
    for (size_t i = 0; i < got.n; i++)
        assert_true(got.ev[i].late);
    assert_memory_equal(&tr.live, &live_before, sizeof live_before); /* live untouched */

    /* The copy is independent: continued from fix 8, it raises the same episode. */
    assert_non_null(copy.late);
    assert_ptr_not_equal(copy.late, tr.late);
    struct evlog from_copy = {.n = 0};
    lon = 119.7 + 8 * step;
    for (int i = 8; i < 18; i++) {
        struct lpg_fix f = mkfix(T0_MS + i * SEC, lon += step, lat, i < 15 ? 90 : 30);
        rules_track_process_fix(&fcfg, &cfg, &copy, &f, now, &ctx, ev, RULES_EVENTS_MAX, &n, &late);
        evlog_add(&from_copy, ev, n);
    }
    assert_int_equal(evlog_count(&from_copy, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 1);
    assert_int_equal(evlog_count(&from_copy, RULE_OVERSPEED, RULE_EVENT_VIOLATION_END, -1), 1);

    /* Move: the destination takes the copy's late state, the source has none left. */
    struct rules_state *moved = copy.late;
    rules_track_move(&tr, &copy);
    assert_ptr_equal(tr.late, moved);
    assert_null(copy.late);

    /* A stretch older than the late state's last fix starts the late episodes afresh. */
    struct evlog older = {.n = 0};
    lon = 119.6;
    for (int i = 0; i < 16; i++) {
        struct lpg_fix f = mkfix(T0_MS - HOUR + i * SEC, lon += step, lat, i < 15 ? 90 : 30);
        assert_int_equal(rules_track_process_fix(&fcfg, &cfg, &tr, &f, now, &ctx, ev,
                                                 RULES_EVENTS_MAX, &n, &late),
                         FIX_FILTER_OUT_OF_ORDER);
        assert_true(late);
        evlog_add(&older, ev, n);
    }
    const struct rule_event *start =
        evlog_find(&older, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1);
    assert_non_null(start);
    assert_int_equal(start->start_ms, T0_MS - HOUR);
    assert_true(start->late);

    rules_track_free(&copy);
    rules_track_free(&tr);
    assert_null(tr.late);
}

static void test_state_restart_continues_episodes(void **state)
{
    (void)state;
    struct rules_config cfg;
    struct rules_state st;
    rules_config_default(&cfg);
    build_script();
    rules_state_init(&st);
    log_a.n = 0;
    run_script(&cfg, &st, 0, script_n, &log_a);
    /* The script raises every rule. */
    for (int r = 0; r < RULE_COUNT; r++)
        if (r != RULE_SIGNAL_LOST)
            assert_true(evlog_count(&log_a, (enum rule_id)r, RULE_EVENT_VIOLATION_START, -1) > 0);
    assert_true(evlog_count(&log_a, RULE_SIGNAL_LOST, RULE_EVENT_VIOLATION_START, -1) > 0);
    assert_true(evlog_count(&log_a, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1) > 0);

    /* Split at many points, including inside overspeed, zone-exit and fatigue episodes. */
    size_t splits[] = {1, 105, 130, 620, 650, 950, 1999, 2000, 3333, 5000, 7001};
    for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
        char text[RULES_STATE_TEXT_MAX];
        struct rules_state a, b;
        rules_state_init(&a);
        log_b.n = 0;
        run_script(&cfg, &a, 0, splits[k], &log_b);
        int len = rules_state_encode(&a, text, sizeof text);
        assert_true(len > 0);
        assert_int_equal((size_t)len, strlen(text));
        memset(&b, 0xA5, sizeof b);
        assert_int_equal(rules_state_decode(&b, text, (size_t)len), 0);
        char again[RULES_STATE_TEXT_MAX];
        assert_int_equal(rules_state_encode(&b, again, sizeof again), len);
        assert_string_equal(text, again);
        run_script(&cfg, &b, splits[k], script_n, &log_b);
        assert_same_events(&log_a, &log_b);
    }
}

static void test_state_garbage_rejected(void **state)
{
    (void)state;
    struct rules_config cfg;
    struct rules_state st, keep;
    char text[RULES_STATE_TEXT_MAX];
    rules_config_default(&cfg);
    build_script();
    rules_state_init(&st);
    log_a.n = 0;
    run_script(&cfg, &st, 0, 650, &log_a);
    int len = rules_state_encode(&st, text, sizeof text);
    assert_true(len > 0);
    assert_int_equal(rules_state_encode(&st, text, (size_t)len), -1); /* no room for NUL */
    len = rules_state_encode(&st, text, sizeof text);
    keep = st;

    const char *bad[] = {
        "",
        "lpgrules/1",
        "lpgrules/2 filter=0,0,0,0,0,0,0;overspeed=",
        "hello world",
        "lpgrules/1 filter=0,0,0,0,0,0,0",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,2",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,1;signal_lost=0,0,0,0",
        "lpgrules/1 filter=0,nan,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,0",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,0;extra=1",
        "lpgrules/1 filter=0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0;overspeed=0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,0",
        "lpgrules/1 filter=0,0,0,0,0,0,99999999999;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,"
        "0,0,0,0,0,0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,0",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0, 0",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=-5,0;signal_lost=0,0,0,0",
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,1.5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rules_state_decode(&st, bad[i], strlen(bad[i])), -1);
        assert_memory_equal(&st, &keep, sizeof st);
    }
    /* The all-zero text is valid (a fresh vehicle). */
    const char *zero =
        "lpgrules/1 filter=0,0,0,0,0,0,0;overspeed=0,0,0,0,0,0,0,0,0,0,0,0;fatigue=0,0,0,0,0,0,0,"
        "0,0,0,0,0,0,0,0,0;zone_exit=0,0;signal_lost=0,0,0,0";
    struct rules_state z;
    assert_int_equal(rules_state_decode(&z, zero, strlen(zero)), 0);
    /* Every proper prefix of a valid text is rejected. */
    for (int n = 0; n < len; n++)
        assert_int_equal(rules_state_decode(&st, text, (size_t)n), -1);
    /* Random single-byte mutations: rejected or decoded, never a crash (ASan/UBSan run). */
    uint32_t seed = 7;
    for (int i = 0; i < 20000; i++) {
        char m[RULES_STATE_TEXT_MAX];
        memcpy(m, text, (size_t)len);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % (size_t)len;
        seed = seed * 1103515245u + 12345u;
        m[at] = (char)(seed >> 16);
        struct rules_state x;
        if (rules_state_decode(&x, m, (size_t)len) == 0) {
            char re[RULES_STATE_TEXT_MAX];
            assert_true(rules_state_encode(&x, re, sizeof re) > 0);
        }
    }
    /* Over-long input. */
    char big[RULES_STATE_TEXT_MAX + 10];
    memset(big, '1', sizeof big);
    memcpy(big, text, (size_t)len);
    assert_int_equal(rules_state_decode(&st, big, sizeof big), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_reasons),
        cmocka_unit_test(test_filter_spike_and_reanchor),
        cmocka_unit_test(test_overspeed_exactly_10s),
        cmocka_unit_test(test_overspeed_9_5s_not_raised),
        cmocka_unit_test(test_overspeed_noisy_fixes),
        cmocka_unit_test(test_overspeed_gap_breaks_and_limits),
        cmocka_unit_test(test_fatigue_warning_and_violation_at_thresholds),
        cmocka_unit_test(test_fatigue_19_vs_20_min_stop),
        cmocka_unit_test(test_fatigue_data_gap_rest),
        cmocka_unit_test(test_fatigue_jitter_while_parked),
        cmocka_unit_test(test_fatigue_daily_across_midnight),
        cmocka_unit_test(test_zone_exit),
        cmocka_unit_test(test_signal_lost),
        cmocka_unit_test(test_late_fixes_mark_events),
        cmocka_unit_test(test_track_late_state_is_lazy),
        cmocka_unit_test(test_state_restart_continues_episodes),
        cmocka_unit_test(test_state_garbage_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
