/*
 * test_geo_bbox.c - table-driven tests of geo_bbox.c: from points, union, contains, intersects,
 * expand by metres (hand-derived values and a conservativeness property test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "geo_test_util.h"

/* A box over central Hailar, lon 119.70..119.80 E, lat 49.15..49.25 N. */
static const struct geo_bbox HAILAR = {119.70, 49.15, 119.80, 49.25};

static void test_from_points(void **state)
{
    (void)state;
    const struct geo_point pts[] = {{119.75, 49.20}, {119.70, 49.25}, {119.80, 49.15}};
    struct geo_bbox box;
    GEO_ASSERT_STATUS("3 points", geo_bbox_from_points(pts, 3, &box), GEO_OK);
    /* Hand: min/max of the coordinates above. */
    GEO_ASSERT_NEAR("min_lon", box.min_lon, 119.70, 0.0);
    GEO_ASSERT_NEAR("min_lat", box.min_lat, 49.15, 0.0);
    GEO_ASSERT_NEAR("max_lon", box.max_lon, 119.80, 0.0);
    GEO_ASSERT_NEAR("max_lat", box.max_lat, 49.25, 0.0);
    /* Hand: a single point gives a zero-size box. */
    GEO_ASSERT_STATUS("1 point", geo_bbox_from_points(pts, 1, &box), GEO_OK);
    GEO_ASSERT_NEAR("1 point", box.max_lon - box.min_lon, 0.0, 0.0);

    const struct geo_point bad[] = {{119.75, 49.20}, {119.70, NAN}};
    struct geo_bbox untouched = {1.0, 2.0, 3.0, 4.0};
    GEO_ASSERT_STATUS("NULL pts", geo_bbox_from_points(NULL, 3, &untouched), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("NULL out", geo_bbox_from_points(pts, 3, NULL), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("n=0", geo_bbox_from_points(pts, 0, &untouched), GEO_ERR_EMPTY);
    GEO_ASSERT_STATUS("NaN", geo_bbox_from_points(bad, 2, &untouched), GEO_ERR_RANGE);
    GEO_ASSERT_NEAR("untouched on error", untouched.min_lon, 1.0, 0.0);
}

static void test_union(void **state)
{
    (void)state;
    const struct geo_bbox other = {119.75, 49.00, 119.90, 49.20};
    struct geo_bbox u = geo_bbox_union(&HAILAR, &other);
    /* Hand: component-wise min of the mins and max of the maxes. */
    GEO_ASSERT_NEAR("min_lon", u.min_lon, 119.70, 0.0);
    GEO_ASSERT_NEAR("min_lat", u.min_lat, 49.00, 0.0);
    GEO_ASSERT_NEAR("max_lon", u.max_lon, 119.90, 0.0);
    GEO_ASSERT_NEAR("max_lat", u.max_lat, 49.25, 0.0);
}

static void test_contains(void **state)
{
    (void)state;
    /* Hand: the box is closed, so edges and corners are inside. */
    const struct {
        const char *name;
        struct geo_point p;
        bool want;
    } cases[] = {
        {"centre", {119.75, 49.20}, true},
        {"west edge", {119.70, 49.20}, true},
        {"north edge", {119.75, 49.25}, true},
        {"SE corner", {119.80, 49.15}, true},
        {"just west", {119.6999999, 49.20}, false},
        {"just north", {119.75, 49.2500001}, false},
        {"far away", {0.0, 0.0}, false},
        {"NaN", {NAN, 49.20}, false},
        /* lat/lon swapped by a caller: (49.2, 119.75) is nowhere near the box. */
        {"swapped", {49.20, 119.75}, false},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++)
        GEO_ASSERT_BOOL(cases[i].name, geo_bbox_contains(&HAILAR, cases[i].p), cases[i].want);
}

static void test_intersects(void **state)
{
    (void)state;
    /* Hand: closed boxes intersect iff their lon and lat intervals overlap, touching included. */
    const struct {
        const char *name;
        struct geo_bbox b;
        bool want;
    } cases[] = {
        {"overlap", {119.75, 49.20, 119.85, 49.30}, true},
        {"inside", {119.72, 49.17, 119.78, 49.23}, true},
        {"encloses", {119.0, 49.0, 120.0, 50.0}, true},
        {"touch east edge", {119.80, 49.16, 119.90, 49.24}, true},
        {"touch NE corner", {119.80, 49.25, 119.90, 49.35}, true},
        {"east, apart", {119.8000001, 49.16, 119.90, 49.24}, false},
        {"north, apart", {119.72, 49.2500001, 119.78, 49.30}, false},
        {"lon overlaps, lat not", {119.72, 48.0, 119.78, 49.0}, false},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++) {
        GEO_ASSERT_BOOL(cases[i].name, geo_bbox_intersects(&HAILAR, &cases[i].b), cases[i].want);
        /* Hand: intersection is symmetric. */
        GEO_ASSERT_BOOL(cases[i].name, geo_bbox_intersects(&cases[i].b, &HAILAR), cases[i].want);
    }
}

static void test_expand_table(void **state)
{
    (void)state;
    const struct {
        const char *name;
        struct geo_bbox box;
        double margin_m;
        struct geo_bbox want;
    } cases[] = {
        /* Hand: margin 0 leaves the box unchanged. */
        {"zero margin", HAILAR, 0.0, HAILAR},
        /* Hand: 2 pi R / 360 = 111195.0802 m is 1 degree of lat; at the equator the expanded
         * edge is at lat +-1, so lon grows by asin(sin 1deg / cos 1deg) = asin(tan 1deg) =
         * 1.0001523435 degree. */
        {"point at equator, 1 deg",
         {0.0, 0.0, 0.0, 0.0},
         111195.08023353292,
         {-1.0001523435165864, -1.0, 1.0001523435165864, 1.0}},
        /* Hand: 500 m = 500 / R rad = 0.0044966018 degree of lat; lon by
         * asin(sin(500 / R) / cos(49.25 + 0.0044966 deg)) = 0.0068892290 degree. */
        {"Hailar 500 m",
         HAILAR,
         500.0,
         {119.70 - 0.006889229022660961, 49.15 - 0.00449660181862269, 119.80 + 0.006889229022660961,
          49.25 + 0.00449660181862269}},
        /* Hand: 20 km (0.18 degree) from 89.9N passes the pole: lat clamps to 90, every lon. */
        {"over the pole",
         {10.0, 89.8, 11.0, 89.9},
         20000.0,
         {-180.0, 89.8 - 0.1798640, 180.0, 90.0}},
        /* Hand: near the antimeridian, lon clamps at 180 (no wrap, documented). */
        {"clamp at 180",
         {179.99, 0.0, 180.0, 0.0},
         111195.08023353292,
         {179.99 - 1.0001523435165864, -1.0, 180.0, 1.0}},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++) {
        struct geo_bbox got;
        GEO_ASSERT_STATUS(cases[i].name, geo_bbox_expand_m(&cases[i].box, cases[i].margin_m, &got),
                          GEO_OK);
        /* 1e-7 degree (~1 cm): the hand values above carry 7+ significant decimals. */
        GEO_ASSERT_NEAR(cases[i].name, got.min_lon, cases[i].want.min_lon, 1e-7);
        GEO_ASSERT_NEAR(cases[i].name, got.min_lat, cases[i].want.min_lat, 1e-7);
        GEO_ASSERT_NEAR(cases[i].name, got.max_lon, cases[i].want.max_lon, 1e-7);
        GEO_ASSERT_NEAR(cases[i].name, got.max_lat, cases[i].want.max_lat, 1e-7);
    }

    struct geo_bbox out = {1.0, 2.0, 3.0, 4.0};
    GEO_ASSERT_STATUS("negative", geo_bbox_expand_m(&HAILAR, -1.0, &out), GEO_ERR_RANGE);
    GEO_ASSERT_STATUS("NaN", geo_bbox_expand_m(&HAILAR, NAN, &out), GEO_ERR_RANGE);
    GEO_ASSERT_STATUS("inf", geo_bbox_expand_m(&HAILAR, INFINITY, &out), GEO_ERR_RANGE);
    GEO_ASSERT_STATUS("NULL box", geo_bbox_expand_m(NULL, 1.0, &out), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("NULL out", geo_bbox_expand_m(&HAILAR, 1.0, NULL), GEO_ERR_NULL);
    GEO_ASSERT_NEAR("untouched on error", out.min_lon, 1.0, 0.0);
}

/*
 * Property (the documented guarantee): every point within margin_m of a point of the box lies in
 * the expanded box. Walk margin_m * 0.999999 from the box's corners and edge midpoints in 72
 * directions, for several margins and latitudes up to 70N.
 */
static void test_expand_is_conservative(void **state)
{
    (void)state;
    const double lats[] = {-60.0, 0.0, 49.2, 70.0};
    const double margins_m[] = {10.0, 500.0, 5000.0, 100000.0};
    for (size_t li = 0; li < GEO_ARRAY_LEN(lats); li++) {
        struct geo_bbox box = {119.70, lats[li], 119.80, lats[li] + 0.05};
        for (size_t mi = 0; mi < GEO_ARRAY_LEN(margins_m); mi++) {
            struct geo_bbox big;
            GEO_ASSERT_STATUS("expand", geo_bbox_expand_m(&box, margins_m[mi], &big), GEO_OK);
            const struct geo_point starts[] = {
                {box.min_lon, box.min_lat}, {box.max_lon, box.max_lat}, {box.min_lon, box.max_lat},
                {box.max_lon, box.min_lat}, {119.75, box.min_lat},      {119.75, box.max_lat},
            };
            for (size_t si = 0; si < GEO_ARRAY_LEN(starts); si++) {
                for (int b = 0; b < 360; b += 5) {
                    struct geo_point q =
                        geo_destination(starts[si], (double)b, margins_m[mi] * 0.999999);
                    if (!geo_bbox_contains(&big, q))
                        fail_msg("lat %g margin %g m start %zu bearing %d: (%.9f, %.9f) outside",
                                 lats[li], margins_m[mi], si, b, q.lon, q.lat);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_points),  cmocka_unit_test(test_union),
        cmocka_unit_test(test_contains),     cmocka_unit_test(test_intersects),
        cmocka_unit_test(test_expand_table), cmocka_unit_test(test_expand_is_conservative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
