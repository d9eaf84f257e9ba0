/*
 * test_rules_tracks.c - real recorded tracks (tests/data/tracks, see its README for origins,
 * licences and the independently computed figures) replayed fix by fix through the filters
 * (fix_filter.c) and every rule (rules_process_fix), with now_ms = each fix's own time (the
 * logs are historical; stack-notes: use the data's own time).
 *
 * Tolerances: fix counts exact; distances (sum of great-circle legs between accepted fixes)
 * within 1 %; maximum speeds within 0.1 km/h; run durations within 5 % (the rule breaks a run
 * on a gap > 15 s, the README's figure does not).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "geo_sphere.h"
#include "rules_test_util.h"
#include "track_load.h"

#define SEC 1000LL
#define MIN (60 * SEC)

struct replay {
    struct evlog log;
    size_t rejected[FIX_FILTER_REASON_COUNT];
    size_t accepted;
    double distance_m;    /* between consecutive accepted fixes */
    double max_speed_kmh; /* reported or derived, of accepted fixes */
    double max_implied_kmh;
    int64_t longest_overspeed_ms;
};

static struct replay rp;

static void replay(const struct lpg_fix *fixes, size_t n, const struct rules_config *cfg,
                   const struct rules_ctx *ctx)
{
    struct fix_filter_config fcfg;
    struct rules_state st;
    struct lpg_fix prev = {0};
    bool after_jump = false; /* the previous fix was rejected as a jump */
    fix_filter_config_default(&fcfg);
    rules_state_init(&st);
    memset(&rp, 0, sizeof rp);
    for (size_t i = 0; i < n; i++) {
        struct rule_event ev[RULES_EVENTS_MAX];
        size_t nev;
        enum fix_filter_reason r = rules_process_fix(&fcfg, cfg, &st, &fixes[i], fixes[i].time_ms,
                                                     ctx, ev, RULES_EVENTS_MAX, &nev);
        rp.rejected[r]++;
        if (r != FIX_FILTER_OK) {
            after_jump = r == FIX_FILTER_JUMP;
            continue;
        }
        evlog_add(&rp.log, ev, nev);
        for (size_t k = 0; k < nev; k++)
            if (ev[k].rule == RULE_OVERSPEED && ev[k].kind == RULE_EVENT_VIOLATION_END &&
                ev[k].duration_ms > rp.longest_overspeed_ms)
                rp.longest_overspeed_ms = ev[k].duration_ms;
        if (rp.accepted > 0) {
            double d = geo_distance_m(prev.pos, fixes[i].pos);
            double v = d / ((double)(fixes[i].time_ms - prev.time_ms) / 1000.0) * 3.6;
            rp.distance_m += d;
            /* A leg ending in a re-anchored fix has no speed: the rules do not see one. */
            if (!after_jump && v > rp.max_implied_kmh)
                rp.max_implied_kmh = v;
            if (!after_jump && !fixes[i].has_speed && v > rp.max_speed_kmh)
                rp.max_speed_kmh = v;
        }
        if (fixes[i].has_speed && fixes[i].speed_kmh > rp.max_speed_kmh)
            rp.max_speed_kmh = fixes[i].speed_kmh;
        rp.accepted++;
        prev = fixes[i];
        after_jump = false;
    }
}

static void load_gpx(const char *name, struct track *t)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", TRACKS_DIR, name);
    assert_int_equal(track_load_gpx(path, t), 0);
    assert_true(t->n > 0);
}

static void print_summary(const char *what)
{
    print_message("%s: accepted %zu, rejected jump %zu dup %zu ooo %zu, %.3f km, max %.1f km/h, "
                  "longest overspeed %.0f s, %zu events\n",
                  what, rp.accepted, rp.rejected[FIX_FILTER_JUMP],
                  rp.rejected[FIX_FILTER_DUPLICATE], rp.rejected[FIX_FILTER_OUT_OF_ORDER],
                  rp.distance_m / 1000.0, rp.max_speed_kmh,
                  (double)rp.longest_overspeed_ms / 1000.0, rp.log.n);
}

/* First day of dg100: the fixes before the first gap longer than 6 h. */
static size_t dg100_day1(const struct track *t)
{
    for (size_t i = 1; i < t->n; i++)
        if (t->fixes[i].time_ms - t->fixes[i - 1].time_ms > 6 * 3600 * SEC)
            return i;
    return t->n;
}

static void test_dg100(void **state)
{
    (void)state;
    struct track t;
    struct rules_config cfg;
    struct rules_ctx ctx = {.utc_offset_min = -300}; /* Ontario, EST */
    rules_config_default(&cfg);
    load_gpx("dg100.gpx", &t);
    size_t n1 = dg100_day1(&t);
    assert_int_equal(n1, 11690);
    assert_int_equal(t.fixes[n1 - 1].time_ms - t.fixes[0].time_ms, 372 * MIN + 21 * SEC);

    /* Day 1 at 60 km/h: figures and overspeed. */
    replay(t.fixes, n1, &cfg, &ctx);
    print_summary("dg100 day 1, limit 60");
    assert_int_equal(rp.accepted, 11690);
    assert_true(fabs(rp.distance_m / 1000.0 - 312.0) < 312.0 * 0.01);
    assert_true(fabs(rp.max_speed_kmh - 130.7) < 0.1);
    assert_true(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1) >= 1);
    assert_true(rp.longest_overspeed_ms <= 2791 * SEC);
    assert_true(rp.longest_overspeed_ms >= 2791 * SEC * 95 / 100);
    /* Not fatigue: its stops are data gaps at the same place. Without them being rest the
     * drives (112.9 + 34.1 + 40.9 + 50.3 min = 3 h 58) would raise the 3 h 45 warning. */
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_WARNING, -1), 0);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);

    /* Expressway (80 km/h). */
    ctx.expressway = true;
    replay(t.fixes, n1, &cfg, &ctx);
    print_summary("dg100 day 1, limit 80");
    assert_true(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1) >= 1);
    assert_true(rp.longest_overspeed_ms <= 1790 * SEC);
    assert_true(rp.longest_overspeed_ms >= 1790 * SEC * 95 / 100);

    /* The whole file (3 days): still no fatigue event at all. */
    ctx.expressway = false;
    replay(t.fixes, t.n, &cfg, &ctx);
    print_summary("dg100 whole file");
    /* Day 2 starts (after a 676 min gap) with a 135 m jump in 1 s (487 km/h): filtered. */
    assert_int_equal(rp.rejected[FIX_FILTER_JUMP], 1);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_WARNING, -1), 0);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);

    /* The gaps are what resets it: with a 3 h limit (no warning margin) day 1 passes, but
     * with the rule's gap distance reduced below the gaps' distances (7..58 m) the gaps are
     * no longer rest and day 1 (about 3 h 45 of driving, short stops excluded) violates it. */
    cfg.continuous_driving_max_ms = 3 * 3600 * SEC;
    cfg.fatigue_warning_ms = 0;
    replay(t.fixes, n1, &cfg, &ctx);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);
    cfg.gap_rest_max_distance_m = 1.0;
    replay(t.fixes, n1, &cfg, &ctx);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 1);
    track_free(&t);
}

/* FATIGUE-POSITIVE CASE, BUILT FROM REAL DATA. No licensed real track has 4 h of continuous
 * driving (see the README), and dg100's day 1 has only about 3 h 45 min of moving time. So:
 * dg100's day-1 drives joined with the stops cut out (every gap of 20 min or more between
 * fixes shortened to 1 s, shifting all later times back; those gaps end 7..58 m from where they
 * began, so the joins stay under the jump filter), followed by the same joined drives driven
 * back: the fixes in reverse order, each interval kept, so the return starts where the outward
 * trip ended. Positions and speeds are all real recorded values. */
static void test_dg100_joined_drives_fatigue(void **state)
{
    (void)state;
    struct track t;
    struct rules_config cfg;
    struct rules_ctx ctx = {.utc_offset_min = -300};
    rules_config_default(&cfg);
    load_gpx("dg100.gpx", &t);
    size_t n1 = dg100_day1(&t);
    int64_t shift = 0;
    size_t cut = 0;
    for (size_t i = 1; i < n1; i++) {
        int64_t gap = t.fixes[i].time_ms + shift - t.fixes[i - 1].time_ms;
        if (gap >= 20 * MIN) {
            shift -= gap - SEC;
            cut++;
        }
        t.fixes[i].time_ms += shift;
    }
    assert_int_equal(cut, 3); /* the 54.6, 44.2 and 21.2 min gaps (14.2 min stays: < 20) */
    struct lpg_fix *j = malloc(sizeof *j * 2 * n1);
    assert_non_null(j);
    memcpy(j, t.fixes, sizeof *j * n1);
    int64_t end = t.fixes[n1 - 1].time_ms;
    for (size_t k = 1; k < n1; k++) {
        j[n1 - 1 + k] = t.fixes[n1 - 1 - k];
        j[n1 - 1 + k].time_ms = end + (end - t.fixes[n1 - 1 - k].time_ms);
    }
    replay(j, 2 * n1 - 1, &cfg, &ctx);
    print_summary("dg100 day 1 joined drives, out and back");
    assert_int_equal(rp.rejected[FIX_FILTER_JUMP], 0);
    const struct rule_event *w = evlog_find(&rp.log, RULE_FATIGUE, RULE_EVENT_WARNING, -1);
    const struct rule_event *v =
        evlog_find(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_CONTINUOUS);
    assert_non_null(w);
    assert_non_null(v);
    assert_int_equal(
        evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_CONTINUOUS), 1);
    assert_true(w->end_ms < v->end_ms);
    assert_true(w->duration_ms >= 225 * MIN && w->duration_ms < 225 * MIN + MIN);
    assert_true(v->duration_ms >= 240 * MIN && v->duration_ms < 240 * MIN + MIN);
    assert_true(v->rest_until_ms == v->end_ms + 20 * MIN);
    /* Driving starts once the vehicle is 50 m from where the log began (13 s in). */
    assert_true(v->start_ms >= j[0].time_ms && v->start_ms < j[0].time_ms + MIN);
    /* Wall time from the start of driving to the violation is at least the driving time. */
    assert_true(v->end_ms - v->start_ms >= v->duration_ms);
    free(j);
    track_free(&t);
}

static void test_mtk_logger_m241(void **state)
{
    (void)state;
    struct track t;
    struct rules_config cfg;
    struct rules_ctx ctx = {.utc_offset_min = 120};
    rules_config_default(&cfg);
    load_gpx("mtk_logger_m241.gpx", &t);
    assert_int_equal(t.n, 1199);
    assert_int_equal(t.fixes[t.n - 1].time_ms - t.fixes[0].time_ms, 1788 * SEC); /* 29.8 min */
    replay(t.fixes, t.n, &cfg, &ctx);
    print_summary("mtk_logger_m241, limit 60");
    assert_true(fabs(rp.max_speed_kmh - 66.3) < 0.1);
    /* Never > 60 for more than 5 s: no sustained overspeed. */
    assert_int_equal(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1), 0);
    /* Its repeated points (same time) are filtered as duplicates. */
    assert_true(rp.rejected[FIX_FILTER_DUPLICATE] > 0);
    assert_int_equal(rp.rejected[FIX_FILTER_JUMP], 0);
    /* With a 5 s duration it would raise (the README's 5 s runs), showing the margin. */
    cfg.overspeed_duration_ms = 4 * SEC;
    replay(t.fixes, t.n, &cfg, &ctx);
    assert_true(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1) >= 1);
    track_free(&t);
}

static void test_barefoot(void **state)
{
    (void)state;
    struct track t;
    struct rules_config cfg;
    struct rules_ctx ctx = {.utc_offset_min = 120};
    char path[512];
    rules_config_default(&cfg);
    snprintf(path, sizeof path, "%s/barefoot-x0001-001.json", TRACKS_DIR);
    assert_int_equal(track_load_barefoot(path, &t), 0);
    assert_int_equal(t.n, 1194);
    assert_int_equal(t.fixes[t.n - 1].time_ms - t.fixes[0].time_ms, 1195 * SEC); /* 19.9 min */
    replay(t.fixes, t.n, &cfg, &ctx);
    print_summary("barefoot, limit 60 (derived speeds)");
    /* The 1,693 km/h jump is filtered: the fixes after it are rejected until three agree. */
    assert_true(rp.rejected[FIX_FILTER_JUMP] >= 1 && rp.rejected[FIX_FILTER_JUMP] <= 2);
    assert_true(rp.max_speed_kmh < 250.0);
    assert_true(fabs(rp.distance_m / 1000.0 - 13.6) < 13.6 * 0.01);
    /* Sustained speeding (210 s > 60 km/h): raised, with derived speeds. */
    assert_true(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1) >= 1);
    ctx.expressway = true; /* 200 s > 80 km/h */
    replay(t.fixes, t.n, &cfg, &ctx);
    print_summary("barefoot, limit 80");
    assert_true(evlog_count(&rp.log, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, -1) >= 1);
    track_free(&t);
}

static void test_iblue747(void **state)
{
    (void)state;
    struct track t;
    struct rules_config cfg;
    struct rules_ctx ctx = {.utc_offset_min = 120};
    rules_config_default(&cfg);
    load_gpx("iblue747-csv.gpx", &t);
    assert_int_equal(t.n, 747);
    replay(t.fixes, t.n, &cfg, &ctx);
    print_summary("iblue747");
    assert_int_equal(rp.accepted, 747);
    assert_true(fabs(rp.max_speed_kmh - 106.9) < 0.1);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_WARNING, -1), 0);
    /* Its stationary fixes (34, 57 and 72 min of them, speed 0-4 km/h, wandering metres)
     * are not driving: of its 281 min only the ~70 min drive counts, so a daily ceiling of
     * 75 min holds and one of 65 min is exceeded. */
    cfg.daily_driving_max_ms = 75 * MIN;
    replay(t.fixes, t.n, &cfg, &ctx);
    assert_int_equal(evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, -1), 0);
    cfg.daily_driving_max_ms = 65 * MIN;
    replay(t.fixes, t.n, &cfg, &ctx);
    assert_int_equal(
        evlog_count(&rp.log, RULE_FATIGUE, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_DAILY), 1);
    track_free(&t);
}

static void test_time_parse(void **state)
{
    (void)state;
    assert_int_equal(track_parse_time_ms("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(track_parse_time_ms("2014-09-10 06:54:07+0200"), 1410324847000LL);
    assert_int_equal(track_parse_time_ms("2020-02-14T18:04:30.5Z"), 1581703470500LL);
    assert_int_equal(track_parse_time_ms("garbage"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_dg100),
        cmocka_unit_test(test_dg100_joined_drives_fatigue),
        cmocka_unit_test(test_mtk_logger_m241),
        cmocka_unit_test(test_barefoot),
        cmocka_unit_test(test_iblue747),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
