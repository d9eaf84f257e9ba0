/*
 * test_geo_sphere.c - table-driven tests of geo_sphere.c: haversine distance, initial bearing,
 * destination point, point-to-segment and point-to-polyline distance.
 *
 * Oracles. "n-vector" values come from tests/geo/oracle_geo.py, which uses formulas different
 * from the library's (n-vector atan2 angle, tangent-plane bearing and destination, numeric
 * minimisation along the arc), R = 6371008.8 m; rerun it to reproduce any number. "Formulary"
 * values are Ed Williams' Aviation Formulary worked example (LAX -> JFK). "Hand" values are
 * derived in the comment next to them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "geo_test_util.h"

/* 1 degree of arc on the sphere: 2 pi R / 360 = 2 pi 6371008.8 / 360 = 111195.08023 m (hand). */
#define ONE_DEG_M 111195.08023353292

/* ---- distance ---------------------------------------------------------------------------- */

struct dist_case {
    const char *name;
    struct geo_point a, b; /* lon, lat degrees */
    double want_m;
    double tol_m;
};

static const struct dist_case DIST_CASES[] = {
    /* Hand: identical points are 0 m apart. */
    {"zero", {119.7, 49.2}, {119.7, 49.2}, 0.0, 0.0},
    /* Hand: 1 degree of longitude on the equator = 2 pi R / 360 = 111195.08023 m. */
    {"equator 1 deg lon", {0.0, 0.0}, {1.0, 0.0}, ONE_DEG_M, 1e-6},
    /* Hand: 1 degree of latitude along a meridian, same 111195.08023 m. */
    {"meridian 1 deg lat", {0.0, 0.0}, {0.0, 1.0}, ONE_DEG_M, 1e-6},
    /* Hand: straddling the equator, -0.5 to +0.5 degree of latitude = 1 degree. */
    {"across equator 1 deg", {0.0, -0.5}, {0.0, 0.5}, ONE_DEG_M, 1e-6},
    /* Hand: across the antimeridian 179.5E -> 179.5W is 1 degree of equator, not 359. */
    {"across antimeridian", {179.5, 0.0}, {-179.5, 0.0}, ONE_DEG_M, 1e-6},
    /* n-vector: 0.0001 degree east at Hailar (49.2N), ~7.27 m. */
    {"short 7 m east, Hailar", {119.7, 49.2}, {119.7001, 49.2}, 7.265716, 1e-5},
    /* n-vector: 0.00009 degree north, ~10 m. */
    {"short 10 m north, Hailar", {119.7, 49.2}, {119.7, 49.20009}, 10.007557, 1e-5},
    /* n-vector: across Hailar city, ~5 km. */
    {"Hailar 5 km", {119.7, 49.2}, {119.765, 49.215}, 5007.918707, 1e-5},
    /* n-vector: Hailar, two points in town (~5.5 km, north-west to south-east). */
    {"Hailar 5.5 km", {119.7386, 49.2121}, {119.7806, 49.1713}, 5467.867433, 1e-5},
    /* n-vector: Beijing -> Jakarta, across the equator. */
    {"Beijing-Jakarta", {116.4074, 39.9042}, {106.8456, -6.2088}, 5220548.502137, 1e-5},
    /* n-vector: near-antipodal pair (antipode of (10, 20) is (-170, -20)), ~pi R. Haversine
     * is ill-conditioned here (1 - h ~ 7e-13 carries h's 1e-16 rounding): ~1 mm error, so
     * tol 2 mm. */
    {"near antipodal", {10.0, 20.0}, {-170.0001, -20.0}, 20015103.993116, 2e-3},
    /* Formulary: LAX (33d57m N, 118d24m W) -> JFK (40d38m N, 73d47m W): d = 0.623585 rad
     * (6 digits, so +-0.5e-6 rad = +-3.2 m); 0.623585 * R = 3972865.4 m. */
    {"Formulary LAX-JFK", {-118.4, 33.95}, {-73.7833333333, 40.6333333333}, 3972865.4, 3.5},
};

static void test_distance_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(DIST_CASES); i++) {
        const struct dist_case *c = &DIST_CASES[i];
        GEO_ASSERT_NEAR(c->name, geo_distance_m(c->a, c->b), c->want_m, c->tol_m);
        /* Symmetry (hand: the great-circle distance is a metric). */
        GEO_ASSERT_NEAR(c->name, geo_distance_m(c->b, c->a), c->want_m, c->tol_m);
    }
}

static void test_distance_nan(void **state)
{
    (void)state;
    struct geo_point bad = {NAN, 49.2}, ok = {119.7, 49.2};
    /* Convention (geo_core.h): formulas return NaN for non-finite input. */
    assert_true(isnan(geo_distance_m(bad, ok)));
}

/* ---- bearing ----------------------------------------------------------------------------- */

struct bearing_case {
    const char *name;
    struct geo_point from, to; /* lon, lat degrees */
    double want_deg;
    double tol_deg;
};

static const struct bearing_case BEARING_CASES[] = {
    /* Hand: due north along a meridian = 0. */
    {"north", {119.7, 49.2}, {119.7, 49.3}, 0.0, 1e-12},
    /* Hand: due south = 180. */
    {"south", {119.7, 49.2}, {119.7, 49.1}, 180.0, 1e-12},
    /* Hand: along the equator eastward = 90 (the equator is a great circle). */
    {"east on equator", {0.0, 0.0}, {1.0, 0.0}, 90.0, 1e-12},
    /* Hand: along the equator westward = 270. */
    {"west on equator", {0.0, 0.0}, {-1.0, 0.0}, 270.0, 1e-12},
    /* n-vector: "east" along the 49.2N parallel starts slightly poleward (great circle), 89.96. */
    {"east at Hailar", {119.7, 49.2}, {119.8, 49.2}, 89.962150243, 1e-8},
    /* n-vector: Beijing -> Jakarta. */
    {"Beijing-Jakarta", {116.4074, 39.9042}, {106.8456, -6.2088}, 193.060648728, 1e-8},
    /* Formulary: LAX -> JFK true course 1.150035 rad = 65.892 deg (6 digits: +-3e-5 deg);
     * n-vector gives 65.892166553. */
    {"Formulary LAX-JFK", {-118.4, 33.95}, {-73.7833333333, 40.6333333333}, 65.892166553, 1e-8},
    /* Hand: coincident points, documented to return 0. */
    {"coincident", {119.7, 49.2}, {119.7, 49.2}, 0.0, 0.0},
};

static void test_bearing_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(BEARING_CASES); i++) {
        const struct bearing_case *c = &BEARING_CASES[i];
        double got = geo_initial_bearing_deg(c->from, c->to);
        GEO_ASSERT_NEAR(c->name, got, c->want_deg, c->tol_deg);
        if (!(got >= 0.0 && got < 360.0))
            fail_msg("%s: bearing %.17g outside [0, 360)", c->name, got);
    }
}

/* ---- destination ------------------------------------------------------------------------- */

struct dest_case {
    const char *name;
    struct geo_point start; /* lon, lat degrees */
    double bearing_deg;
    double distance_m;
    struct geo_point want; /* lon, lat degrees */
};

static const struct dest_case DEST_CASES[] = {
    /* n-vector (tangent-plane rotation): 10 km north-east from Hailar. */
    {"Hailar NE 10 km", {119.7, 49.2}, 45.0, 10000.0, {119.7974462931, 49.2635506037}},
    /* n-vector: 2.5 km at 200 degrees from Hailar. */
    {"Hailar SSW 2.5 km", {119.7, 49.2}, 200.0, 2500.0, {119.6882367365, 49.1788722848}},
    /* n-vector: 50 km east from 179.9E crosses the antimeridian; lon normalised to -179.64. */
    {"over antimeridian", {179.9, 10.0}, 90.0, 50000.0, {-179.6434033765, 9.9996888767}},
    /* Hand: 111195.0797 m north from (0, 0) is ~1 degree of latitude (2 pi R / 360 = 111195.0802,
     * so 0.9999999952 degree, confirmed by n-vector). */
    {"1 deg north", {0.0, 0.0}, 0.0, 111195.0797, {0.0, 0.9999999952}},
};

static void test_destination_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(DEST_CASES); i++) {
        const struct dest_case *c = &DEST_CASES[i];
        struct geo_point got = geo_destination(c->start, c->bearing_deg, c->distance_m);
        /* 1e-9 degree is ~0.1 mm; the oracle prints 10 decimals. */
        GEO_ASSERT_NEAR(c->name, got.lon, c->want.lon, 1e-9);
        GEO_ASSERT_NEAR(c->name, got.lat, c->want.lat, 1e-9);
    }
}

/*
 * Round trip (hand: destination and distance/bearing are inverse formulas): for a grid of
 * bearings and distances from 1 m to 50 km around Hailar, distance(start, dest) == d and
 * initial_bearing(start, dest) == bearing.
 */
static void test_destination_round_trip(void **state)
{
    (void)state;
    const struct geo_point start = {119.7, 49.2};
    const double distances_m[] = {1.0, 10.0, 250.0, 5000.0, 50000.0};
    for (size_t di = 0; di < GEO_ARRAY_LEN(distances_m); di++) {
        for (int b = 0; b < 360; b += 15) {
            char name[64];
            snprintf(name, sizeof name, "round trip d=%g m brg=%d", distances_m[di], b);
            struct geo_point dest = geo_destination(start, (double)b, distances_m[di]);
            /* 1e-6 m: round-off of the two formulas, far below anything that matters. */
            GEO_ASSERT_NEAR(name, geo_distance_m(start, dest), distances_m[di], 1e-6);
            /* Bearing precision degrades as 1/d (1e-9 m / 1 m ~ 1e-9 rad); 1e-6 deg is safe. */
            double brg = geo_initial_bearing_deg(start, dest);
            double diff = fmod(brg - b + 540.0, 360.0) - 180.0; /* wrap 359.99.. vs 0 */
            GEO_ASSERT_NEAR(name, diff, 0.0, 1e-6);
        }
    }
}

/* ---- point to segment -------------------------------------------------------------------- */

struct seg_case {
    const char *name;
    struct geo_point p, a, b; /* lon, lat degrees */
    double want_m;
};

static const struct seg_case SEG_CASES[] = {
    /* n-vector (numeric minimisation): foot of the perpendicular inside the segment. */
    {"foot inside", {119.75, 49.21}, {119.70, 49.20}, {119.80, 49.20}, 1110.750864},
    /* n-vector: beyond the a end (west), nearest point is a. */
    {"beyond a", {119.65, 49.21}, {119.70, 49.20}, {119.80, 49.20}, 3798.871069},
    /* n-vector: beyond the b end (east), nearest point is b. */
    {"beyond b", {119.85, 49.19}, {119.70, 49.20}, {119.80, 49.20}, 3799.573461},
    /* n-vector: degenerate segment a == b, distance to a. */
    {"degenerate", {119.72, 49.22}, {119.70, 49.20}, {119.70, 49.20}, 2656.409093},
    /* n-vector: 7 m off a 1.1 km meridian segment, sub-millimetre check at short range. */
    {"short range", {119.7001, 49.2001}, {119.70, 49.20}, {119.70, 49.21}, 7.265701},
    /* n-vector: long diagonal segment (~75 km), foot inside. */
    {"long diagonal", {120.0, 49.5}, {119.50, 49.00}, {120.30, 49.40}, 21975.033578},
    /* n-vector: a point ON the 49.2N parallel is 19.2 m SOUTH of the great circle between two
     * points 0.4 degree apart on that parallel (the arc bulges poleward). */
    {"great circle bulge", {119.70, 49.20}, {119.50, 49.20}, {119.90, 49.20}, 19.199039},
    /* Hand: p == a is 0 m away. */
    {"on endpoint", {119.70, 49.20}, {119.70, 49.20}, {119.80, 49.20}, 0.0},
};

static void test_segment_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(SEG_CASES); i++) {
        const struct seg_case *c = &SEG_CASES[i];
        /* 1e-5 m: the oracle prints 6 decimals. */
        GEO_ASSERT_NEAR(c->name, geo_segment_distance_m(c->p, c->a, c->b), c->want_m, 1e-5);
        /* Hand: the distance does not depend on the segment's direction. */
        GEO_ASSERT_NEAR(c->name, geo_segment_distance_m(c->p, c->b, c->a), c->want_m, 1e-5);
    }
}

/* ---- polyline ---------------------------------------------------------------------------- */

/* A route in Hailar: east 0.1 degree along 49.2N, then north 0.05 degree. */
static const struct geo_point ROUTE[] = {{119.70, 49.20}, {119.80, 49.20}, {119.80, 49.25}};

struct polyline_case {
    const char *name;
    struct geo_point p; /* lon, lat degrees */
    double want_m;
    size_t want_segment;
};

static const struct polyline_case POLYLINE_CASES[] = {
    /* n-vector (min over segments of numeric point-to-segment): east of the north leg. */
    {"beside second leg", {119.81, 49.23}, 726.130728, 1},
    /* n-vector: south of the first leg. */
    {"below first leg", {119.75, 49.19}, 1113.150740, 0},
    /* n-vector: before the start, nearest point is ROUTE[0]. */
    {"before start", {119.69, 49.20}, 726.571564, 0},
    /* n-vector: past the end, nearest point is ROUTE[2]. */
    {"past end", {119.80, 49.26}, 1111.950802, 1},
    /* Hand: on the corner vertex, 0 m; segment 0 is the first of the tied segments. */
    {"on corner", {119.80, 49.20}, 0.0, 0},
};

static void test_polyline_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(POLYLINE_CASES); i++) {
        const struct polyline_case *c = &POLYLINE_CASES[i];
        double d = -1.0;
        size_t seg = 99;
        GEO_ASSERT_STATUS(
            c->name, geo_polyline_distance_m(c->p, ROUTE, GEO_ARRAY_LEN(ROUTE), &d, &seg), GEO_OK);
        GEO_ASSERT_NEAR(c->name, d, c->want_m, 1e-5);
        if (seg != c->want_segment)
            fail_msg("%s: nearest segment %zu, want %zu", c->name, seg, c->want_segment);
    }
}

static void test_polyline_edge_cases(void **state)
{
    (void)state;
    const struct geo_point p = {119.75, 49.19};
    double d = -1.0;
    size_t seg = 99;
    /* Single point: the distance to it (hand: same as geo_distance_m). */
    GEO_ASSERT_STATUS("n=1", geo_polyline_distance_m(p, ROUTE, 1, &d, &seg), GEO_OK);
    GEO_ASSERT_NEAR("n=1", d, geo_distance_m(p, ROUTE[0]), 0.0);
    assert_int_equal(seg, 0);
    /* nearest_segment is optional. */
    GEO_ASSERT_STATUS("no seg out", geo_polyline_distance_m(p, ROUTE, 3, &d, NULL), GEO_OK);

    struct error_case {
        const char *name;
        struct geo_point p;
        const struct geo_point *line;
        size_t n;
        double *out;
        enum geo_status want;
    };
    const struct geo_point nan_line[] = {{119.7, 49.2}, {NAN, 49.3}};
    const struct geo_point far_line[] = {{119.7, 49.2}, {119.7, 90.5}};
    const struct error_case cases[] = {
        {"NULL line", p, NULL, 3, &d, GEO_ERR_NULL},
        {"NULL out", p, ROUTE, 3, NULL, GEO_ERR_NULL},
        {"empty", p, ROUTE, 0, &d, GEO_ERR_EMPTY},
        {"NaN vertex", p, nan_line, 2, &d, GEO_ERR_RANGE},
        {"lat 90.5 vertex", p, far_line, 2, &d, GEO_ERR_RANGE},
        {"NaN point", {119.7, NAN}, ROUTE, 3, &d, GEO_ERR_RANGE},
        {"lon 180.5 point", {180.5, 49.0}, ROUTE, 3, &d, GEO_ERR_RANGE},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++) {
        d = -1.0;
        GEO_ASSERT_STATUS(
            cases[i].name,
            geo_polyline_distance_m(cases[i].p, cases[i].line, cases[i].n, cases[i].out, NULL),
            cases[i].want);
        /* Convention: out-pointers untouched on failure. */
        GEO_ASSERT_NEAR(cases[i].name, d, -1.0, 0.0);
    }
}

/* ---- point validation and status texts --------------------------------------------------- */

static void test_point_check_and_status_str(void **state)
{
    (void)state;
    struct {
        const char *name;
        struct geo_point p;
        enum geo_status want;
    } cases[] = {
        /* Hand: the documented ranges are closed, lon [-180, 180], lat [-90, 90]. */
        {"Hailar", {119.7, 49.2}, GEO_OK},
        {"corner -180,-90", {-180.0, -90.0}, GEO_OK},
        {"corner 180,90", {180.0, 90.0}, GEO_OK},
        {"lon 180.000001", {180.000001, 0.0}, GEO_ERR_RANGE},
        {"lat -90.000001", {0.0, -90.000001}, GEO_ERR_RANGE},
        {"NaN lon", {NAN, 0.0}, GEO_ERR_RANGE},
        {"inf lat", {0.0, INFINITY}, GEO_ERR_RANGE},
        /* Swapped axes: lat/lon given as (49.2, 119.7) puts 119.7 in lat, out of range. */
        {"swapped lat/lon", {49.2, 119.7}, GEO_ERR_RANGE},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++)
        GEO_ASSERT_STATUS(cases[i].name, geo_point_check(cases[i].p), cases[i].want);

    for (int s = GEO_OK; s <= GEO_ERR_NOT_SIMPLE; s++)
        assert_non_null(geo_status_str((enum geo_status)s));
    assert_string_equal(geo_status_str(GEO_OK), "ok");
    assert_string_equal(geo_status_str((enum geo_status)999), "unknown geo status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_table),
        cmocka_unit_test(test_distance_nan),
        cmocka_unit_test(test_bearing_table),
        cmocka_unit_test(test_destination_table),
        cmocka_unit_test(test_destination_round_trip),
        cmocka_unit_test(test_segment_table),
        cmocka_unit_test(test_polyline_table),
        cmocka_unit_test(test_polyline_edge_cases),
        cmocka_unit_test(test_point_check_and_status_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
