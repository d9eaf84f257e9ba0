/*
 * test_geo_polygon.c - table-driven tests of geo_polygon.c: validation errors, point-in-polygon
 * (holes, concave rings, rays through vertices, the boundary rule on edges and vertices, the
 * boundary tolerance), multipolygons, area and centroid.
 *
 * Every point-in-polygon case runs on four variants of its polygon: rings open or closed, and
 * in either orientation, since the API accepts all four and must answer the same.
 * Oracles: "rule" = the BOUNDARY RULE documented in geo_polygon.h (closed polygon: outer boundary
 * inside, hole boundary inside, within GEO_BOUNDARY_TOL_DEG = 1e-9 degree); "hand" = read off
 * the coordinates; "Archimedes" = the exact spherical area of a lon/lat rectangle,
 * R^2 * dlon_rad * (sin lat2 - sin lat1), R = 6371008.8 m, evaluated in python3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "geo_test_util.h"

#define TOL GEO_BOUNDARY_TOL_DEG

/* ---- shapes (lon, lat degrees; open rings, counter-clockwise) ---------------------------- */

/* 2x2 degree square, lon 119..121, lat 49..51, with a 1x1 square hole in the middle. */
static const struct geo_point SQ_OUTER[] = {{119, 49}, {121, 49}, {121, 51}, {119, 51}};
static const struct geo_point SQ_HOLE[] = {
    {119.5, 49.5}, {120.5, 49.5}, {120.5, 50.5}, {119.5, 50.5}};
/* A second hole for the two-hole case, lon 120.6..120.9, lat 49.1..49.4. */
static const struct geo_point SQ_HOLE2[] = {
    {120.6, 49.1}, {120.9, 49.1}, {120.9, 49.4}, {120.6, 49.4}};

/* A U (concave): arms lon 119..120 and 121..122 from lat 49 to 52, base lat 49..50; the notch
 * lon 120..121, lat 50..52 is outside. */
static const struct geo_point U_RING[] = {{119, 49}, {122, 49}, {122, 52}, {121, 52},
                                          {121, 50}, {120, 50}, {120, 52}, {119, 52}};

/* A triangle with a diagonal edge (119,49)-(121,51), whose points (119.5,49.5) and (120,50) are
 * exactly representable and exactly on it. */
static const struct geo_point TRI[] = {{119, 49}, {121, 51}, {119, 51}};

struct shape {
    const char *name;
    const struct geo_point *outer;
    size_t n_outer;
    const struct geo_point *holes[2];
    size_t n_hole[2];
    size_t n_holes;
};

static const struct shape SQUARE_1HOLE = {"square+hole", SQ_OUTER, 4, {SQ_HOLE, NULL}, {4, 0}, 1};
static const struct shape SQUARE_2HOLES = {"square+2 holes",    SQ_OUTER, 4,
                                           {SQ_HOLE, SQ_HOLE2}, {4, 4},   2};
static const struct shape U_SHAPE = {"U", U_RING, 8, {NULL, NULL}, {0, 0}, 0};
static const struct shape TRIANGLE = {"triangle", TRI, 3, {NULL, NULL}, {0, 0}, 0};

/* Storage for one variant of a shape: every ring copied, maybe reversed, maybe closed. */
#define MAX_RING 16
struct variant {
    struct geo_point pts[3][MAX_RING + 1];
    struct geo_ring holes[2];
    struct geo_polygon poly;
};

static struct geo_ring make_ring(const struct geo_point *src, size_t n, bool closed, bool reversed,
                                 struct geo_point *dst)
{
    assert_true(n <= MAX_RING);
    for (size_t i = 0; i < n; i++)
        dst[i] = src[reversed ? n - 1 - i : i];
    if (closed)
        dst[n] = dst[0];
    struct geo_ring r = {dst, closed ? n + 1 : n};
    return r;
}

static void make_variant(const struct shape *s, int variant, struct variant *v)
{
    bool closed = variant & 1, reversed = variant & 2;
    v->poly.outer = make_ring(s->outer, s->n_outer, closed, reversed, v->pts[0]);
    for (size_t h = 0; h < s->n_holes; h++)
        v->holes[h] = make_ring(s->holes[h], s->n_hole[h], closed, reversed, v->pts[h + 1]);
    v->poly.holes = s->n_holes ? v->holes : NULL;
    v->poly.n_holes = s->n_holes;
}

/* ---- point in polygon -------------------------------------------------------------------- */

struct pip_case {
    const char *name;
    const struct shape *shape;
    struct geo_point p; /* lon, lat degrees */
    bool want;
};

static const struct pip_case PIP_CASES[] = {
    /* Hand: in the band between the outer ring and the hole. */
    {"band", &SQUARE_1HOLE, {119.25, 50.0}, true},
    /* Hand: strictly inside the hole -> outside the polygon. */
    {"in hole", &SQUARE_1HOLE, {120.0, 50.0}, false},
    /* Hand: outside everything. */
    {"outside east", &SQUARE_1HOLE, {121.5, 50.0}, false},
    {"outside south", &SQUARE_1HOLE, {120.0, 48.9}, false},
    /* Rule: outer boundary is inside (edge and vertex). */
    {"on outer edge", &SQUARE_1HOLE, {121.0, 50.0}, true},
    {"on outer vertex", &SQUARE_1HOLE, {119.0, 49.0}, true},
    {"on outer top edge", &SQUARE_1HOLE, {120.0, 51.0}, true},
    /* Rule: the hole's boundary belongs to the polygon (edge and vertex). */
    {"on hole edge", &SQUARE_1HOLE, {120.0, 49.5}, true},
    {"on hole vertex", &SQUARE_1HOLE, {120.5, 50.5}, true},
    /* Rule, tolerance: 0.5e-9 degree outside the east edge is ON it (within 1e-9) -> inside;
     * 2e-9 degree outside is not. */
    {"0.5 tol outside edge", &SQUARE_1HOLE, {121.0 + 0.5 * TOL, 50.0}, true},
    {"2 tol outside edge", &SQUARE_1HOLE, {121.0 + 2.0 * TOL, 50.0}, false},
    /* Rule, tolerance near a vertex: within 1e-9 of (119, 49) diagonally (0.6e-9 each axis,
     * 0.85e-9 away) -> inside; 1e-9 each axis (1.41e-9 away) -> outside. */
    {"0.85 tol off vertex", &SQUARE_1HOLE, {119.0 - 0.6 * TOL, 49.0 - 0.6 * TOL}, true},
    {"1.41 tol off vertex", &SQUARE_1HOLE, {119.0 - TOL, 49.0 - TOL}, false},
    /* Rule, tolerance into a hole: 0.5e-9 inside the hole's edge is on it -> inside;
     * 2e-9 inside the hole -> outside. */
    {"0.5 tol into hole", &SQUARE_1HOLE, {120.0, 49.5 + 0.5 * TOL}, true},
    {"2 tol into hole", &SQUARE_1HOLE, {120.0, 49.5 + 2.0 * TOL}, false},
    /* Hand: two holes, inside the second one / beside it. */
    {"in second hole", &SQUARE_2HOLES, {120.75, 49.25}, false},
    {"on second hole edge", &SQUARE_2HOLES, {120.9, 49.25}, true},
    {"between holes", &SQUARE_2HOLES, {120.55, 49.25}, true},
    /* Hand: U shape (concave). In each arm, in the base, in the notch (outside). */
    {"U left arm", &U_SHAPE, {119.5, 51.5}, true},
    {"U right arm", &U_SHAPE, {121.5, 51.5}, true},
    {"U base", &U_SHAPE, {120.5, 49.5}, true},
    {"U notch", &U_SHAPE, {120.5, 51.0}, false},
    {"U above notch", &U_SHAPE, {120.5, 52.5}, false},
    /* Hand: rays (towards +lon) through vertices and along horizontal edges are counted once
     * (half-open rule): the ray at lat 50 from inside the left arm runs along the notch floor,
     * the one from west of the U runs through 4 vertices; lat 52 runs along both arm tops. */
    {"U ray along notch floor", &U_SHAPE, {119.5, 50.0}, true},
    {"U ray through vertices", &U_SHAPE, {118.5, 50.0}, false},
    {"U ray along tops", &U_SHAPE, {118.5, 52.0}, false},
    {"U ray from notch", &U_SHAPE, {120.5, 50.5}, false},
    /* Rule: the notch's floor and walls are boundary -> inside; the notch's vertices too. */
    {"U notch floor", &U_SHAPE, {120.5, 50.0}, true},
    {"U notch wall", &U_SHAPE, {121.0, 51.0}, true},
    {"U notch vertex", &U_SHAPE, {120.0, 50.0}, true},
    {"U arm top vertex", &U_SHAPE, {121.0, 52.0}, true},
    /* Hand/rule: points on the diagonal edge (exactly representable) are inside; just below it,
     * outside; above it, inside. */
    {"tri on diagonal", &TRIANGLE, {119.5, 49.5}, true},
    {"tri on diagonal mid", &TRIANGLE, {120.0, 50.0}, true},
    {"tri below diagonal", &TRIANGLE, {120.0, 49.9}, false},
    {"tri above diagonal", &TRIANGLE, {120.0, 50.1}, true},
    {"tri apex", &TRIANGLE, {121.0, 51.0}, true},
    {"tri beyond apex", &TRIANGLE, {121.1, 51.0}, false},
    /* Convention: a NaN point is never inside. */
    {"NaN point", &SQUARE_1HOLE, {NAN, 50.0}, false},
};

static void test_point_in_polygon_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(PIP_CASES); i++) {
        const struct pip_case *c = &PIP_CASES[i];
        for (int variant = 0; variant < 4; variant++) {
            struct variant v;
            make_variant(c->shape, variant, &v);
            GEO_ASSERT_STATUS(c->name, geo_polygon_check(&v.poly), GEO_OK);
            bool got = geo_polygon_contains(&v.poly, c->p);
            if (got != c->want)
                fail_msg("%s (%s, %s, %s): got %s, want %s", c->name, c->shape->name,
                         (variant & 1) ? "closed" : "open", (variant & 2) ? "cw" : "ccw",
                         got ? "inside" : "outside", c->want ? "inside" : "outside");
        }
    }
}

/*
 * Rule, adjacent zones: two zones sharing an edge (same vertices, opposite orientation) both
 * contain every point on it, including points interpolated along a slanted shared edge (which
 * round off the exact line by ~1e-14 degree), and no point near the edge is in neither.
 */
static void test_adjacent_zones_share_boundary(void **state)
{
    (void)state;
    /* West and east zones share the slanted edge (119.9, 49.0)-(120.1, 51.0). */
    const struct geo_point west[] = {{119.0, 49.0}, {119.9, 49.0}, {120.1, 51.0}, {119.0, 51.0}};
    const struct geo_point east[] = {{119.9, 49.0}, {121.0, 49.0}, {121.0, 51.0}, {120.1, 51.0}};
    struct geo_polygon pw = {{west, 4}, NULL, 0}, pe = {{east, 4}, NULL, 0};
    for (int k = 0; k <= 1000; k++) {
        double t = k / 1000.0;
        struct geo_point on = {119.9 + t * 0.2, 49.0 + t * 2.0};
        if (!geo_polygon_contains(&pw, on) || !geo_polygon_contains(&pe, on))
            fail_msg("t=%g (%.17g, %.17g): on shared edge but west=%d east=%d", t, on.lon, on.lat,
                     geo_polygon_contains(&pw, on), geo_polygon_contains(&pe, on));
        /* Points beside the edge, at 0.5 to 100 tolerances: in at least one zone, never a gap. */
        for (double off = 0.5 * TOL; off < 100 * TOL; off *= 3.0) {
            struct geo_point side[2] = {{on.lon - off, on.lat}, {on.lon + off, on.lat}};
            for (int s = 0; s < 2; s++)
                if (!geo_polygon_contains(&pw, side[s]) && !geo_polygon_contains(&pe, side[s]))
                    fail_msg("t=%g off=%g: (%.17g, %.17g) in neither zone", t, off, side[s].lon,
                             side[s].lat);
        }
    }
}

/* ---- multipolygon ------------------------------------------------------------------------ */

static const struct geo_point MP_A[] = {{119, 49}, {120, 49}, {120, 50}, {119, 50}};
static const struct geo_point MP_B[] = {{120, 49}, {121, 49}, {121, 50}, {120, 50}};
static const struct geo_point MP_C[] = {{125, 49}, {126, 49}, {126, 50}, {125, 50}};
static const struct geo_polygon MP_PARTS[] = {
    {{MP_A, 4}, NULL, 0}, {{MP_B, 4}, NULL, 0}, {{MP_C, 4}, NULL, 0}};
static const struct geo_multipolygon MULTI = {MP_PARTS, 3};

static void test_multipolygon(void **state)
{
    (void)state;
    GEO_ASSERT_STATUS("check", geo_multipolygon_check(&MULTI), GEO_OK);
    const struct {
        const char *name;
        struct geo_point p;
        bool want;
    } cases[] = {
        /* Hand: inside part A, part C (far east), between B and C (outside all parts). */
        {"in A", {119.5, 49.5}, true},
        {"in C", {125.5, 49.5}, true},
        {"between B and C", {123.0, 49.5}, false},
        /* Rule: on the edge shared by A and B -> inside (the union is closed). */
        {"A/B shared edge", {120.0, 49.5}, true},
        {"C vertex", {126.0, 50.0}, true},
        {"north of A", {119.5, 50.5}, false},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++)
        GEO_ASSERT_BOOL(cases[i].name, geo_multipolygon_contains(&MULTI, cases[i].p),
                        cases[i].want);

    struct geo_bbox box;
    GEO_ASSERT_STATUS("bbox", geo_multipolygon_bbox(&MULTI, &box), GEO_OK);
    /* Hand: union of the three squares. */
    GEO_ASSERT_NEAR("bbox min_lon", box.min_lon, 119.0, 0.0);
    GEO_ASSERT_NEAR("bbox max_lon", box.max_lon, 126.0, 0.0);
    GEO_ASSERT_NEAR("bbox min_lat", box.min_lat, 49.0, 0.0);
    GEO_ASSERT_NEAR("bbox max_lat", box.max_lat, 50.0, 0.0);

    double area;
    struct geo_point c;
    GEO_ASSERT_STATUS("area", geo_multipolygon_area_centroid(&MULTI, &area, &c), GEO_OK);
    /* Archimedes: 3 squares of 1x1 degree at lat 49..50 = 24089695120.250 m^2. */
    GEO_ASSERT_NEAR("area", area, 24089695120.250126, 24089695120.25 * 1e-9);
    /* Hand: equal projected areas, so the centroid is the mean of the three centres:
     * lon (119.5 + 120.5 + 125.5) / 3 = 121.8333, lat 49.5. */
    GEO_ASSERT_NEAR("centroid lon", c.lon, 365.5 / 3.0, 1e-9);
    GEO_ASSERT_NEAR("centroid lat", c.lat, 49.5, 1e-9);

    struct geo_multipolygon empty = {MP_PARTS, 0}, null_parts = {NULL, 2};
    GEO_ASSERT_STATUS("no parts", geo_multipolygon_check(&empty), GEO_ERR_EMPTY);
    GEO_ASSERT_STATUS("NULL parts", geo_multipolygon_check(&null_parts), GEO_ERR_NULL);
    GEO_ASSERT_STATUS("NULL mpoly", geo_multipolygon_check(NULL), GEO_ERR_NULL);
}

/* ---- area and centroid ------------------------------------------------------------------- */

static const struct geo_point EQ_SQ[] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
static const struct geo_point HAILAR_SQ[] = {
    {119.70, 49.20}, {119.71, 49.20}, {119.71, 49.21}, {119.70, 49.21}};
/* L: [119,121]x[49,50] plus [119,120]x[50,51]. */
static const struct geo_point L_RING[] = {{119, 49}, {121, 49}, {121, 50},
                                          {120, 50}, {120, 51}, {119, 51}};

struct area_case {
    const char *name;
    const struct shape *shape;
    double want_area_m2;
    double rel_tol;
    struct geo_point want_centroid; /* lon, lat degrees */
    double centroid_tol_deg;
};

static const struct shape EQ_SHAPE = {"equator 1x1", EQ_SQ, 4, {NULL, NULL}, {0, 0}, 0};
static const struct shape HAILAR_SHAPE = {"Hailar 0.01", HAILAR_SQ, 4, {NULL, NULL}, {0, 0}, 0};
static const struct shape L_SHAPE = {"L", L_RING, 6, {NULL, NULL}, {0, 0}, 0};

static const struct area_case AREA_CASES[] = {
    /* Archimedes: R^2 * rad(1) * (sin 1deg - sin 0) = 12363718145.180 m^2. Hand centroid: the
     * projection is affine, so the square's centre (0.5, 0.5). */
    {"equator 1x1 deg", &EQ_SHAPE, 12363718145.180046, 1e-9, {0.5, 0.5}, 1e-12},
    /* Archimedes: 0.01 x 0.01 degree at Hailar, 807830.151 m^2 (~0.81 km^2). */
    {"Hailar 0.01 deg", &HAILAR_SHAPE, 807830.1511912701, 1e-9, {119.705, 49.205}, 1e-12},
    /* Archimedes: outer 2x2 minus hole 1x1 = 23841431881.881 m^2; hand: symmetric, centroid at
     * the common centre (120, 50). */
    {"square with hole", &SQUARE_1HOLE, 23841431881.8808, 1e-9, {120.0, 50.0}, 1e-12},
    /* Archimedes: two rectangles, 23924388040.173 m^2. Hand centroid: areas 2 and 1 (projected,
     * in square degrees times cos lat0) with centres (120, 49.5) and (119.5, 50.5):
     * ((2*120 + 119.5) / 3, (2*49.5 + 50.5) / 3) = (119.8333, 49.8333). */
    {"L shape", &L_SHAPE, 23924388040.173466, 1e-9, {359.5 / 3.0, 149.5 / 3.0}, 1e-12},
    /* Archimedes: U = base [119,122]x[49,50] + arms [119,120]x[50,52] and [121,122]x[50,52]
     * = 55212654872.069 m^2. Hand centroid: symmetric in lon about 120.5; lat: base area 3 at
     * 49.5, arms 2 + 2 at 51 -> (3*49.5 + 4*51) / 7 = 50.357. */
    {"U shape", &U_SHAPE, 55212654872.068954, 1e-9, {120.5, (3 * 49.5 + 4 * 51.0) / 7.0}, 1e-12},
    /* Numeric (Simpson, 2e5 steps, python3): R^2 * integral over lat 49..51 of
     * rad(lat - 49) cos(lat) dlat = 15784285506.217 m^2 (the diagonal is straight in lon/lat).
     * Hand centroid: triangle vertex mean ((119+121+119)/3, (49+51+51)/3). */
    {"triangle", &TRIANGLE, 15784285506.216543, 1e-9, {359.0 / 3.0, 151.0 / 3.0}, 1e-12},
};

static void test_area_centroid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < GEO_ARRAY_LEN(AREA_CASES); i++) {
        const struct area_case *c = &AREA_CASES[i];
        for (int variant = 0; variant < 4; variant++) {
            struct variant v;
            make_variant(c->shape, variant, &v);
            double area = -1.0;
            struct geo_point cen = {-1.0, -1.0};
            GEO_ASSERT_STATUS(c->name, geo_polygon_area_centroid(&v.poly, &area, &cen), GEO_OK);
            GEO_ASSERT_NEAR(c->name, area, c->want_area_m2, c->want_area_m2 * c->rel_tol);
            GEO_ASSERT_NEAR(c->name, cen.lon, c->want_centroid.lon, c->centroid_tol_deg);
            GEO_ASSERT_NEAR(c->name, cen.lat, c->want_centroid.lat, c->centroid_tol_deg);
        }
    }
    /* Either out-pointer may be NULL. */
    struct variant v;
    make_variant(&L_SHAPE, 0, &v);
    GEO_ASSERT_STATUS("NULL outs", geo_polygon_area_centroid(&v.poly, NULL, NULL), GEO_OK);
}

static void test_area_degenerate(void **state)
{
    (void)state;
    /* Hand: three collinear points enclose nothing. */
    const struct geo_point line[] = {{119.0, 49.0}, {119.5, 49.5}, {120.0, 50.0}};
    struct geo_polygon p = {{line, 3}, NULL, 0};
    GEO_ASSERT_STATUS("check passes", geo_polygon_check(&p), GEO_OK);
    double area = -1.0;
    GEO_ASSERT_STATUS("collinear", geo_polygon_area_centroid(&p, &area, NULL), GEO_ERR_DEGENERATE);
    GEO_ASSERT_NEAR("untouched", area, -1.0, 0.0);
    /* Hand: a hole equal to the outer ring leaves zero area. */
    struct geo_ring hole = {SQ_OUTER, 4};
    struct geo_polygon q = {{SQ_OUTER, 4}, &hole, 1};
    GEO_ASSERT_STATUS("hole == outer", geo_polygon_area_centroid(&q, &area, NULL),
                      GEO_ERR_DEGENERATE);
}

/* ---- validation -------------------------------------------------------------------------- */

static void test_polygon_check_errors(void **state)
{
    (void)state;
    static const struct geo_point two[] = {{119, 49}, {120, 49}};
    static const struct geo_point two_closed[] = {{119, 49}, {120, 49}, {119, 49}};
    static const struct geo_point nan_pt[] = {{119, 49}, {120, NAN}, {120, 50}};
    static const struct geo_point lat91[] = {{119, 49}, {120, 91}, {120, 50}};
    static const struct geo_point lon181[] = {{119, 49}, {181, 49}, {120, 50}};
    /* Crosses the antimeridian: 179E .. 179W spans 358 degrees as given. */
    static const struct geo_point anti[] = {{179, 0}, {-179, 0}, {-179, 1}, {179, 1}};
    static const struct geo_point tri_closed[] = {{119, 49}, {120, 49}, {120, 50}, {119, 49}};
    static const struct geo_ring good_hole = {SQ_HOLE, 4}, bad_hole = {two, 2},
                                 null_hole = {NULL, 4}, empty_hole = {SQ_HOLE, 0};
    const struct {
        const char *name;
        struct geo_polygon poly;
        enum geo_status want;
    } cases[] = {
        {"ok square", {{SQ_OUTER, 4}, NULL, 0}, GEO_OK},
        {"ok closed triangle", {{tri_closed, 4}, NULL, 0}, GEO_OK},
        {"ok with hole", {{SQ_OUTER, 4}, &good_hole, 1}, GEO_OK},
        {"empty outer", {{SQ_OUTER, 0}, NULL, 0}, GEO_ERR_EMPTY},
        {"NULL outer pts", {{NULL, 4}, NULL, 0}, GEO_ERR_NULL},
        {"2 points", {{two, 2}, NULL, 0}, GEO_ERR_TOO_FEW_POINTS},
        {"2 points + closing", {{two_closed, 3}, NULL, 0}, GEO_ERR_TOO_FEW_POINTS},
        {"NaN vertex", {{nan_pt, 3}, NULL, 0}, GEO_ERR_RANGE},
        {"lat 91", {{lat91, 3}, NULL, 0}, GEO_ERR_RANGE},
        {"lon 181", {{lon181, 3}, NULL, 0}, GEO_ERR_RANGE},
        {"antimeridian", {{anti, 4}, NULL, 0}, GEO_ERR_ANTIMERIDIAN},
        {"holes NULL, n_holes 1", {{SQ_OUTER, 4}, NULL, 1}, GEO_ERR_NULL},
        {"hole 2 points", {{SQ_OUTER, 4}, &bad_hole, 1}, GEO_ERR_TOO_FEW_POINTS},
        {"hole NULL pts", {{SQ_OUTER, 4}, &null_hole, 1}, GEO_ERR_NULL},
        {"hole empty", {{SQ_OUTER, 4}, &empty_hole, 1}, GEO_ERR_EMPTY},
    };
    for (size_t i = 0; i < GEO_ARRAY_LEN(cases); i++) {
        GEO_ASSERT_STATUS(cases[i].name, geo_polygon_check(&cases[i].poly), cases[i].want);
        /* The bbox and area functions validate the same way. */
        struct geo_bbox box;
        GEO_ASSERT_STATUS(cases[i].name, geo_polygon_bbox(&cases[i].poly, &box), cases[i].want);
        if (cases[i].want != GEO_OK)
            GEO_ASSERT_STATUS(cases[i].name, geo_polygon_area_centroid(&cases[i].poly, NULL, NULL),
                              cases[i].want);
    }
    GEO_ASSERT_STATUS("NULL poly", geo_polygon_check(NULL), GEO_ERR_NULL);
    struct geo_polygon ok = {{SQ_OUTER, 4}, NULL, 0};
    GEO_ASSERT_STATUS("NULL bbox out", geo_polygon_bbox(&ok, NULL), GEO_ERR_NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_in_polygon_table),
        cmocka_unit_test(test_adjacent_zones_share_boundary),
        cmocka_unit_test(test_multipolygon),
        cmocka_unit_test(test_area_centroid_table),
        cmocka_unit_test(test_area_degenerate),
        cmocka_unit_test(test_polygon_check_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
