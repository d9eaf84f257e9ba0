/* test_depot_watch.c -- the depot and stop events of one vehicle's live fixes
 * (dispatch/core/depot_watch.h): leaving and entering the station, a stop found by the tracking
 * stop rule, its long mark and its end; nothing invented for the first fix after a restart;
 * which stops are planned. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/depot_watch.h"

#include <string.h>

#define M_PER_DEG_LAT 111195.0
#define T0            1796000000000LL

static struct depot_watch_config cfg;
static struct lpg_station st;
static struct depot_watch w;
static struct depot_event ev[DEPOT_EVENTS_PER_FIX];

static int setup(void **state)
{
    (void)state;
    struct rules_config rc;
    rules_config_default(&rc);
    motion_config_from_rules(&cfg.motion, &rc, MOTION_MIN_STOP_MS_DEFAULT);
    cfg.long_stop_ms = 10 * 60000;
    memset(&st, 0, sizeof(st));
    strcpy(st.id, "ST1");
    strcpy(st.enterprise_id, "E1");
    st.has_center = true;
    st.center = (struct geo_point){119.7, 49.2};
    st.radius_m = 100;
    depot_watch_init(&w);
    return 0;
}

/* One fix north_m north of the station's centre at T0 + s seconds, at kmh. */
static size_t at(double north_m, int64_t s, double kmh)
{
    struct lpg_fix f;
    memset(&f, 0, sizeof(f));
    f.time_ms = T0 + s * 1000;
    f.pos = (struct geo_point){st.center.lon, st.center.lat + north_m / M_PER_DEG_LAT};
    f.speed_kmh = kmh;
    f.has_speed = true;
    f.mode = 3;
    return depot_watch_push(&w, &cfg, &st, &f, ev);
}

static void test_a_round_trip(void **state)
{
    (void)state;
    assert_int_equal(at(0, 0, 0), 0); /* the first fix only says where it is */
    assert_int_equal(at(50, 10, 30), 0);
    assert_int_equal(at(150, 20, 30), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_LEFT);
    assert_int_equal(ev[0].at_ms, T0 + 20000);
    /* Driving 1 km north, then stopped there: a stop once it lasted 5 min, long at 10. */
    assert_int_equal(at(1000, 120, 40), 0);
    int64_t s = 130;
    size_t n = 0;
    for (; s <= 120 + 299; s += 10)
        n += at(1000, s, 0);
    assert_int_equal(n, 0);
    assert_int_equal(at(1000, 420, 0), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_STOP_BEGAN);
    assert_int_equal(ev[0].start_ms, T0 + 120000);
    for (s = 430; s < 720; s += 10)
        assert_int_equal(at(1000, s, 0), 0);
    assert_int_equal(at(1000, 720, 0), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_STOP_LONG);
    assert_int_equal(at(1000, 730, 0), 0); /* once per stop */
    /* It moves: the stop ends, once. */
    assert_int_equal(at(900, 740, 40), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_STOP_ENDED);
    assert_int_equal(ev[0].start_ms, T0 + 120000);
    assert_int_equal(at(500, 760, 40), 0);
    assert_int_equal(at(20, 790, 20), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_ENTERED);
}

static void test_a_restart_invents_nothing(void **state)
{
    (void)state;
    assert_int_equal(at(0, 0, 30), 0);
    depot_watch_init(&w); /* the state is in memory only */
    assert_int_equal(at(500, 60, 30), 0);
    assert_int_equal(at(900, 90, 30), 0);
    assert_int_equal(at(50, 200, 30), 1);
    assert_int_equal(ev[0].kind, DEPOT_EV_ENTERED);
}

static void test_no_station_no_station_events(void **state)
{
    (void)state;
    struct lpg_fix f;
    memset(&f, 0, sizeof(f));
    f.pos = st.center;
    f.time_ms = T0;
    assert_int_equal(depot_watch_push(&w, &cfg, NULL, &f, ev), 0);
    f.pos.lat += 0.01;
    f.time_ms += 60000;
    f.speed_kmh = 40;
    f.has_speed = true;
    assert_int_equal(depot_watch_push(&w, &cfg, NULL, &f, ev), 0);
}

static void test_planned_stops(void **state)
{
    (void)state;
    struct geo_point c[2] = {{119.71, 49.2}, {119.72, 49.2}};
    struct geo_point p = {119.72, 49.2 + 99 / M_PER_DEG_LAT};
    assert_true(depot_stop_is_planned(p, c, 2, 100, &st));
    p.lat = 49.2 + 101 / M_PER_DEG_LAT;
    assert_false(depot_stop_is_planned(p, c, 2, 100, &st));
    assert_true(depot_stop_is_planned(st.center, c, 0, 100, &st));
    assert_false(depot_stop_is_planned(st.center, c, 0, 100, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_a_round_trip, setup),
        cmocka_unit_test_setup(test_a_restart_invents_nothing, setup),
        cmocka_unit_test_setup(test_no_station_no_station_events, setup),
        cmocka_unit_test_setup(test_planned_stops, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
