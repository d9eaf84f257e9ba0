/* test_geometry.c -- dispatch/core/geometry.c: lpg_geometry_finish (validation, bbox, centroid, the
 * inside point), lpg_geometry_copy (deep, canonical layout) and lpg_geometry_within (vertices,
 * proper crossings, bridges across a notch, holes), the latter also against the old brute force
 * (lpg_geometry_within_brute) on random simple shapes (seed: GEO_TEST_SEED, else the clock). Shapes
 * are drawn on a grid of 0.01-degree units anchored at Hailar (119.70E, 49.20N); every expected
 * value is derived by hand in the comment beside it (centroids are area-weighted sums of
 * rectangles: geo_polygon.h's centroid is planar in lon/lat scaled by a constant cos(lat0), so it
 * is exact for these).
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
#include <time.h>

#include "core/model.h"

#define LON0 119.70 /* degrees east */
#define LAT0 49.20  /* degrees north */
#define U    0.01   /* degrees per grid unit */
#define TOL  1e-9   /* degrees: far above rounding, far below one unit */
#define MAXV 16     /* vertices per ring in the tables */

/* A ring in grid units; n == 0 ends a list. */
struct ring_spec {
    size_t n;
    double xy[MAXV][2];
};

/* A polygon: outer ring then up to 2 holes. */
struct poly_spec {
    struct ring_spec outer;
    struct ring_spec holes[2];
};

/* Build an owned geometry from up to 3 polygons (n_polys given); not finished. */
static void build(struct lpg_geometry *g, const struct poly_spec *ps, size_t n_polys)
{
    memset(g, 0, sizeof(*g));
    size_t n_rings = 0, n_pts = 0;
    for (size_t i = 0; i < n_polys; i++) {
        n_rings++, n_pts += ps[i].outer.n;
        for (size_t h = 0; h < 2 && ps[i].holes[h].n; h++)
            n_rings++, n_pts += ps[i].holes[h].n;
    }
    g->polys = calloc(n_polys ? n_polys : 1, sizeof(*g->polys));
    g->rings = calloc(n_rings ? n_rings : 1, sizeof(*g->rings));
    g->pts = calloc(n_pts ? n_pts : 1, sizeof(*g->pts));
    assert_non_null(g->polys);
    assert_non_null(g->rings);
    assert_non_null(g->pts);
    size_t r = 0, p = 0;
    for (size_t i = 0; i < n_polys; i++) {
        size_t first = r;
        for (size_t h = 0; h < 3; h++) {
            const struct ring_spec *rs = h == 0 ? &ps[i].outer : &ps[i].holes[h - 1];
            if (h > 0 && rs->n == 0)
                break;
            for (size_t k = 0; k < rs->n; k++)
                g->pts[p + k] =
                    (struct geo_point){LON0 + U * rs->xy[k][0], LAT0 + U * rs->xy[k][1]};
            g->rings[r++] = (struct geo_ring){&g->pts[p], rs->n};
            p += rs->n;
        }
        g->polys[i].outer = g->rings[first];
        g->polys[i].n_holes = r - first - 1;
        g->polys[i].holes = g->polys[i].n_holes ? &g->rings[first + 1] : NULL;
    }
    g->mp = (struct geo_multipolygon){g->polys, n_polys};
}

static struct geo_point at(double x, double y)
{
    return (struct geo_point){LON0 + U * x, LAT0 + U * y};
}

#define RECT(x0, y0, x1, y1)                                                                       \
    {                                                                                              \
        4,                                                                                         \
        {                                                                                          \
            {x0, y0}, {x1, y0}, {x1, y1},                                                          \
            {                                                                                      \
                x0, y1                                                                             \
            }                                                                                      \
        }                                                                                          \
    }

/* The U of the within tests: base 0..3 x 0..1, arms 0..1 and 2..3 up to y = 2; the notch
 * x 1..2, y 1..2 is outside. */
#define U_SHAPE                                                                                    \
    {                                                                                              \
        8,                                                                                         \
        {                                                                                          \
            {0, 0}, {3, 0}, {3, 2}, {2, 2}, {2, 1}, {1, 1}, {1, 2},                                \
            {                                                                                      \
                0, 2                                                                               \
            }                                                                                      \
        }                                                                                          \
    }

/* ---- finish ---- */

struct finish_case {
    const char *name;
    struct poly_spec polys[2];
    size_t n_polys;
    double bbox[4];     /* grid units */
    double centroid[2]; /* grid units */
    bool centroid_inside;
    double inside[2]; /* grid units */
};

static const struct finish_case finish_cases[] = {
    /* Rectangle 2 x 1: centroid = centre (1, 0.5); the line y = 0.5 crosses at x = 0 and 2, so
     * the inside point is the centre too. */
    {"rectangle", {{RECT(0, 0, 2, 1), {{0}}}}, 1, {0, 0, 2, 1}, {1, 0.5}, true, {1, 0.5}},
    /* C shape: left bar 0..1 x 0..3 (area 3, centre (0.5, 1.5)), arms 1..3 x 0..1 and 1..3 x 2..3
     * (area 2 each, centres (2, 0.5) and (2, 2.5)). Centroid x = (1.5 + 4 + 4) / 7 = 9.5 / 7,
     * y = (4.5 + 1 + 5) / 7 = 1.5: in the mouth, outside. The line y = 1.5 crosses at x = 0
     * and 1 only, so the inside point is (0.5, 1.5). */
    {"C shape, centroid outside",
     {{{8, {{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 2}, {3, 2}, {3, 3}, {0, 3}}}, {{0}}}},
     1,
     {0, 0, 3, 3},
     {9.5 / 7, 1.5},
     false,
     {0.5, 1.5}},
    /* Square 0..4 with a hole 1..3: centroid (2, 2) in the hole; the line y = 2 crosses at
     * 0, 1, 3, 4: spans [0,1] and [3,4] equally wide, the first wins: (0.5, 2). */
    {"square with hole",
     {{RECT(0, 0, 4, 4), {RECT(1, 1, 3, 3)}}},
     1,
     {0, 0, 4, 4},
     {2, 2},
     false,
     {0.5, 2}},
    /* Two parts: 0..1 x 0..1 (area 1) and 3..5 x 0..2 (area 4): centroid x = (0.5 + 16) / 5 =
     * 3.3, y = (0.5 + 4) / 5 = 0.9 (just inside the bigger part); the line y = 0.9 crosses at
     * 0, 1, 3, 5: the widest span is [3, 5], mid (4, 0.9). */
    {"two parts",
     {{RECT(0, 0, 1, 1), {{0}}}, {RECT(3, 0, 5, 2), {{0}}}},
     2,
     {0, 0, 5, 2},
     {3.3, 0.9},
     true,
     {4, 0.9}},
    /* Two identical overlapping parts (the parts are assumed disjoint, this breaks it): the
     * centroid is the centre (0.5, 0.5); every line crosses at x = 0, 0, 1, 1, so even-odd sees
     * only empty spans and the inside point falls back to the first vertex (0, 0), on the
     * boundary, which contains() accepts. */
    {"overlapping parts: vertex fallback",
     {{RECT(0, 0, 1, 1), {{0}}}, {RECT(0, 0, 1, 1), {{0}}}},
     2,
     {0, 0, 1, 1},
     {0.5, 0.5},
     true,
     {0, 0}},
};

static void test_finish_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(finish_cases) / sizeof(finish_cases[0]); i++) {
        const struct finish_case *c = &finish_cases[i];
        struct lpg_geometry g;
        build(&g, c->polys, c->n_polys);
        enum geo_status st = lpg_geometry_finish(&g);
        if (st != GEO_OK)
            fail_msg("%s: status %s", c->name, geo_status_str(st));
        struct geo_point lo = at(c->bbox[0], c->bbox[1]), hi = at(c->bbox[2], c->bbox[3]);
        struct geo_point cen = at(c->centroid[0], c->centroid[1]);
        struct geo_point in = at(c->inside[0], c->inside[1]);
        if (fabs(g.bbox.min_lon - lo.lon) > TOL || fabs(g.bbox.min_lat - lo.lat) > TOL ||
            fabs(g.bbox.max_lon - hi.lon) > TOL || fabs(g.bbox.max_lat - hi.lat) > TOL)
            fail_msg("%s: bbox %.9f %.9f %.9f %.9f", c->name, g.bbox.min_lon, g.bbox.min_lat,
                     g.bbox.max_lon, g.bbox.max_lat);
        if (fabs(g.centroid.lon - cen.lon) > TOL || fabs(g.centroid.lat - cen.lat) > TOL)
            fail_msg("%s: centroid %.12f %.12f, want %.12f %.12f", c->name, g.centroid.lon,
                     g.centroid.lat, cen.lon, cen.lat);
        if (geo_multipolygon_contains(&g.mp, g.centroid) != c->centroid_inside)
            fail_msg("%s: centroid inside = %d", c->name, !c->centroid_inside);
        if (fabs(g.inside.lon - in.lon) > TOL || fabs(g.inside.lat - in.lat) > TOL)
            fail_msg("%s: inside %.12f %.12f, want %.12f %.12f", c->name, g.inside.lon,
                     g.inside.lat, in.lon, in.lat);
        if (!geo_multipolygon_contains(&g.mp, g.inside))
            fail_msg("%s: inside point not inside", c->name);
        lpg_geometry_free(&g);
    }
}

static void test_finish_errors(void **state)
{
    (void)state;
    struct lpg_geometry g;
    /* No polygon at all. */
    build(&g, NULL, 0);
    assert_int_equal(lpg_geometry_finish(&g), GEO_ERR_EMPTY);
    lpg_geometry_free(&g);
    /* Two vertices. */
    struct poly_spec two = {{2, {{0, 0}, {1, 1}}}, {{0}}};
    build(&g, &two, 1);
    assert_int_equal(lpg_geometry_finish(&g), GEO_ERR_TOO_FEW_POINTS);
    lpg_geometry_free(&g);
    /* A segment traced back and forth: every edge term cancels exactly, area 0. */
    struct poly_spec line = {{4, {{0, 0}, {1, 0}, {0, 0}, {1, 0}}}, {{0}}};
    build(&g, &line, 1);
    assert_int_equal(lpg_geometry_finish(&g), GEO_ERR_DEGENERATE);
    lpg_geometry_free(&g);
    /* Longitude out of range: 119.70 + 0.01 * 10000 = 219.70. */
    struct poly_spec far = {RECT(0, 0, 10000, 1), {{0}}};
    build(&g, &far, 1);
    assert_int_equal(lpg_geometry_finish(&g), GEO_ERR_RANGE);
    lpg_geometry_free(&g);
    assert_int_equal(lpg_geometry_finish(NULL), GEO_ERR_NULL);
}

/* ---- copy ---- */

static void test_copy_deep(void **state)
{
    (void)state;
    struct poly_spec ps[2] = {{RECT(0, 0, 4, 4), {RECT(1, 1, 2, 2), RECT(2.5, 2.5, 3, 3)}},
                              {RECT(6, 0, 7, 1), {{0}}}};
    struct lpg_geometry src, dst;
    build(&src, ps, 2);
    assert_int_equal(lpg_geometry_finish(&src), GEO_OK);
    assert_int_equal(lpg_geometry_copy(&dst, &src), 0);
    assert_int_equal(dst.mp.n_polys, 2);
    assert_ptr_not_equal(dst.pts, src.pts);
    assert_ptr_not_equal(dst.mp.polys, src.mp.polys);
    for (size_t i = 0; i < 2; i++) {
        const struct geo_polygon *a = &src.mp.polys[i], *b = &dst.mp.polys[i];
        assert_int_equal(a->n_holes, b->n_holes);
        assert_int_equal(a->outer.n, b->outer.n);
        assert_memory_equal(a->outer.pts, b->outer.pts, a->outer.n * sizeof(struct geo_point));
        /* The copy points only into its own arrays. */
        assert_true(b->outer.pts >= dst.pts && b->outer.pts < dst.pts + 17);
        for (size_t h = 0; h < a->n_holes; h++) {
            assert_true(b->holes >= dst.rings && b->holes < dst.rings + 4);
            assert_memory_equal(a->holes[h].pts, b->holes[h].pts,
                                a->holes[h].n * sizeof(struct geo_point));
        }
    }
    assert_memory_equal(&src.bbox, &dst.bbox, sizeof(src.bbox));
    assert_memory_equal(&src.inside, &dst.inside, sizeof(src.inside));
    assert_memory_equal(&src.centroid, &dst.centroid, sizeof(src.centroid));
    /* Changing or freeing the source leaves the copy intact. */
    src.pts[0].lon = 0;
    lpg_geometry_free(&src);
    assert_true(geo_multipolygon_contains(&dst.mp, at(0.5, 0.5)));
    assert_false(geo_multipolygon_contains(&dst.mp, at(1.5, 1.5))); /* in the first hole */
    struct lpg_geometry again;
    assert_int_equal(lpg_geometry_copy(&again, &dst), 0);
    lpg_geometry_free(&dst);
    assert_true(geo_multipolygon_contains(&again.mp, at(6.5, 0.5)));
    lpg_geometry_free(&again);
    /* An empty geometry copies to an empty one. */
    struct lpg_geometry empty = {0}, e2;
    assert_int_equal(lpg_geometry_copy(&e2, &empty), 0);
    assert_int_equal(e2.mp.n_polys, 0);
    lpg_geometry_free(&e2);
}

/* ---- within ---- */

struct within_case {
    const char *name;
    struct poly_spec outer[2];
    size_t n_outer;
    struct poly_spec inner;
    bool want;
};

static const struct within_case within_cases[] = {
    {"strictly inside", {{RECT(0, 0, 10, 10), {{0}}}}, 1, {RECT(2, 2, 4, 4), {{0}}}, true},
    {"shares two edges", {{RECT(0, 0, 10, 10), {{0}}}}, 1, {RECT(0, 0, 2, 2), {{0}}}, true},
    {"equal", {{RECT(0, 0, 10, 10), {{0}}}}, 1, {RECT(0, 0, 10, 10), {{0}}}, true},
    {"partly outside (vertex out)",
     {{RECT(0, 0, 10, 10), {{0}}}},
     1,
     {RECT(8, 8, 12, 12), {{0}}},
     false},
    {"touches a corner from outside",
     {{RECT(0, 0, 10, 10), {{0}}}},
     1,
     {RECT(10, 10, 12, 12), {{0}}},
     false},
    /* Every vertex of the 3 x 2 rectangle is on the U's boundary and its top edge runs along the
     * arms' tops through the U's vertices (1,2) and (2,2): no proper crossing, but the piece
     * between them (midpoint (1.5, 2)) is outside. */
    {"covers the notch of a U", {{U_SHAPE, {{0}}}}, 1, {RECT(0, 0, 3, 2), {{0}}}, false},
    /* Vertices (1,1.2), (2,1.2), (2,1.8), (1,1.8) lie on the arms' inner sides; the horizontal
     * edges bridge the notch between two boundary points, touching no vertex. */
    {"bridges the notch", {{U_SHAPE, {{0}}}}, 1, {RECT(1, 1.2, 2, 1.8), {{0}}}, false},
    /* The edge (0.5,1.5)-(2.5,1.5) properly crosses both inner sides of the arms. */
    {"edge crosses the notch",
     {{U_SHAPE, {{0}}}},
     1,
     {{3, {{0.5, 1.5}, {2.5, 1.5}, {1.5, 0.5}}}, {{0}}},
     false},
    {"inside the U's base", {{U_SHAPE, {{0}}}}, 1, {RECT(0, 0, 3, 1), {{0}}}, true},
    /* The area has a hole 4..6; the zone 3..7 has all vertices and edges in the area but
     * swallows the hole: the hole's inside point (5,5) is in the zone. */
    {"swallows a hole",
     {{RECT(0, 0, 10, 10), {RECT(4, 4, 6, 6)}}},
     1,
     {RECT(3, 3, 7, 7), {{0}}},
     false},
    /* Same zone with the same hole: (5,5) is not in it. */
    {"keeps the hole out",
     {{RECT(0, 0, 10, 10), {RECT(4, 4, 6, 6)}}},
     1,
     {RECT(3, 3, 7, 7), {RECT(4, 4, 6, 6)}},
     true},
    {"inside the hole",
     {{RECT(0, 0, 10, 10), {RECT(4, 4, 6, 6)}}},
     1,
     {RECT(4.5, 4.5, 5.5, 5.5), {{0}}},
     false},
    /* Island 4..6 in a lake 2..8: the island zone is within; the lake's inside point (5,5) is
     * filled by the island part, so it does not count as a swallowed hole. */
    {"island in a lake",
     {{RECT(0, 0, 10, 10), {RECT(2, 2, 8, 8)}}, {RECT(4, 4, 6, 6), {{0}}}},
     2,
     {RECT(4, 4, 6, 6), {{0}}},
     true},
    {"island zone reaching into the lake",
     {{RECT(0, 0, 10, 10), {RECT(2, 2, 8, 8)}}, {RECT(4, 4, 6, 6), {{0}}}},
     2,
     {RECT(3, 3, 7, 7), {{0}}},
     false},
};

static void test_within_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(within_cases) / sizeof(within_cases[0]); i++) {
        const struct within_case *c = &within_cases[i];
        struct lpg_geometry outer, inner;
        build(&outer, c->outer, c->n_outer);
        build(&inner, &c->inner, 1);
        assert_int_equal(lpg_geometry_finish(&outer), GEO_OK);
        assert_int_equal(lpg_geometry_finish(&inner), GEO_OK);
        bool got = lpg_geometry_within(&inner, &outer);
        if (got != c->want)
            fail_msg("%s: within = %d, want %d", c->name, got, c->want);
        if (lpg_geometry_within_brute(&inner, &outer) != c->want)
            fail_msg("%s: brute force within = %d, want %d", c->name, !c->want, c->want);
        lpg_geometry_free(&outer);
        lpg_geometry_free(&inner);
    }
    /* Found by test_within_random: the area's hole is crossed by its middle scan line only at
     * vertex (18,18), so the brute force's "point inside the hole" lies on the hole's boundary
     * and it misses that the zone (the area's shell) covers the hole. */
    struct poly_spec area = {{4, {{23, 32}, {13, 26}, {17, 15}, {32, 18}}},
                             {{4, {{20, 20}, {16, 18}, {18, 18}, {20, 16}}}}};
    struct poly_spec shell = {area.outer, {{0}}};
    struct lpg_geometry outer, inner;
    build(&outer, &area, 1);
    build(&inner, &shell, 1);
    assert_int_equal(lpg_geometry_finish(&outer), GEO_OK);
    assert_int_equal(lpg_geometry_finish(&inner), GEO_OK);
    assert_false(lpg_geometry_within(&inner, &outer));
    assert_true(lpg_geometry_within_brute(&inner, &outer)); /* the old answer, wrong */
    lpg_geometry_free(&outer);
    lpg_geometry_free(&inner);
    struct lpg_geometry empty = {0};
    assert_false(lpg_geometry_within(&empty, &empty));
    assert_false(lpg_geometry_within(NULL, NULL));
}

/* ---- a large zone: the size that froze the service (timing: tests/bench/bench-geometry) ---- */

/* A wavy circle of n vertices (radius r grid units, 2 % waves), centred at (cx, cy). */
static void wavy(struct lpg_geometry *g, size_t n, double cx, double cy, double r)
{
    memset(g, 0, sizeof(*g));
    g->pts = calloc(n, sizeof(*g->pts));
    g->rings = calloc(1, sizeof(*g->rings));
    g->polys = calloc(1, sizeof(*g->polys));
    assert_true(g->pts && g->rings && g->polys);
    for (size_t i = 0; i < n; i++) {
        double a = 6.283185307179586 * (double)i / (double)n;
        double rr = r * (1.0 + 0.02 * sin(500.0 * a));
        g->pts[i] = at(cx + rr * cos(a), cy + rr * sin(a));
    }
    g->rings[0] = (struct geo_ring){g->pts, n};
    g->polys[0] = (struct geo_polygon){g->rings[0], NULL, 0};
    g->mp = (struct geo_multipolygon){g->polys, 1};
    assert_int_equal(lpg_geometry_finish(g), GEO_OK);
}

static void test_within_large(void **state)
{
    (void)state;
    struct lpg_geometry area, zone, off;
    wavy(&area, 20000, 0, 0, 30);
    wavy(&zone, 20000, 0, 0, 20);
    wavy(&off, 20000, 12, 0, 20); /* reaches 32 units east: crosses the area's edge */
    assert_true(lpg_geometry_within(&zone, &area));
    assert_true(lpg_geometry_within(&area, &area));
    assert_false(lpg_geometry_within(&off, &area));
    assert_false(lpg_geometry_within(&area, &zone));
    lpg_geometry_free(&area);
    lpg_geometry_free(&zone);
    lpg_geometry_free(&off);
}

/* ---- the checks of client input: vertex caps, then a simple polygon ---- */

static void test_validate(void **state)
{
    (void)state;
    char msg[256], where[64];
    struct lpg_geometry g;
    /* A hexagon: 6 vertices, closing one not counted. */
    struct poly_spec hex = {{7, {{0, 0}, {2, 0}, {3, 1}, {2, 2}, {0, 2}, {-1, 1}, {0, 0}}}, {{0}}};
    build(&g, &hex, 1);
    assert_int_equal(lpg_geometry_validate(&g, false, msg, sizeof(msg), where, sizeof(where)), 0);
    lpg_geometry_set_limits(5, 10);
    assert_int_equal(lpg_geometry_validate(&g, false, msg, sizeof(msg), where, sizeof(where)), -1);
    assert_string_equal(where, "[0][5]");
    assert_string_equal(msg, "too many vertices: a ring has 6, at most 5 are accepted "
                             "(geometry_ring_vertices_max); simplify it");
    lpg_geometry_free(&g);
    /* Two parts of 6 vertices each: 12 > 10 in all, found at the second part. */
    lpg_geometry_set_limits(6, 10);
    struct poly_spec two[2] = {hex, hex};
    for (size_t i = 0; i < 7; i++)
        two[1].outer.xy[i][0] += 10;
    build(&g, two, 2);
    assert_int_equal(lpg_geometry_validate(&g, true, msg, sizeof(msg), where, sizeof(where)), -1);
    assert_string_equal(where, "[1][0][0]");
    assert_non_null(strstr(msg, "more than 10 in one shape (geometry_vertices_max)"));
    lpg_geometry_set_limits(LPG_GEOMETRY_RING_VERTICES_DEFAULT, LPG_GEOMETRY_VERTICES_DEFAULT);
    assert_int_equal(lpg_geometry_validate(&g, true, msg, sizeof(msg), where, sizeof(where)), 0);
    lpg_geometry_free(&g);
    /* Not simple: the message names the problem, ring and vertex; where indexes the vertex. */
    struct poly_spec bow = {{4, {{0, 0}, {2, 2}, {2, 0}, {0, 2}}}, {{0}}};
    build(&g, &bow, 1);
    assert_int_equal(lpg_geometry_validate(&g, false, msg, sizeof(msg), where, sizeof(where)), -1);
    assert_string_equal(where, "[0][0]");
    assert_string_equal(msg, "not a simple polygon: the edge from ring 0 (outer ring) vertex 0 "
                             "crosses or touches the edge from ring 0 (outer ring) vertex 2 "
                             "(edges of one ring cross or touch)");
    lpg_geometry_free(&g);
}

/* ---- within by the sweep vs the brute force, on random simple shapes ---- */

static uint64_t g_rng;

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

/* A star-shaped ring of n vertices around (cx, cy), radii 1..rmax, on the integer grid: the
 * rounding makes collinear edges and shared vertices common. */
static void star(struct ring_spec *r, int cx, int cy, int rmax, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double a = 6.283185307179586 * ((double)i + rnd(1000) / 1000.0) / (double)n;
        double rad = 1 + rnd((uint32_t)rmax * 100) / 100.0;
        r->xy[i][0] = cx + round(rad * cos(a));
        r->xy[i][1] = cy + round(rad * sin(a));
    }
    r->n = n;
}

/* A point of inner outside outer on a 1/8-unit lattice over inner's box, if there is one. */
static bool witness_outside(const struct lpg_geometry *inner, const struct lpg_geometry *outer)
{
    for (double x = (inner->bbox.min_lon - LON0) / U; x <= (inner->bbox.max_lon - LON0) / U;
         x += 0.125)
        for (double y = (inner->bbox.min_lat - LAT0) / U; y <= (inner->bbox.max_lat - LAT0) / U;
             y += 0.125)
            if (geo_multipolygon_contains(&inner->mp, at(x, y)) &&
                !geo_multipolygon_contains(&outer->mp, at(x, y)))
                return true;
    return false;
}

static bool simple(struct lpg_geometry *g)
{
    return geo_multipolygon_simple(&g->mp, NULL) == GEO_OK && lpg_geometry_finish(g) == GEO_OK;
}

static void test_within_random(void **state)
{
    (void)state;
    const char *env = getenv("GEO_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_within_random seed %llu (replay: GEO_TEST_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    g_rng = seed * 2654435761u + 88172645463325252ull;
    int n_in = 0, n_out = 0, n_brute_wrong = 0;
    for (int iter = 0; n_in + n_out < 6000 && iter < 200000; iter++) {
        struct poly_spec op[2], ip;
        memset(op, 0, sizeof(op));
        memset(&ip, 0, sizeof(ip));
        size_t n_outer = 1 + (rnd(4) == 0); /* parts far apart: no island in a lake */
        for (size_t k = 0; k < n_outer; k++) {
            star(&op[k].outer, 20 + 40 * (int)k, 20, 12, 3 + rnd(MAXV - 3));
            size_t holes = rnd(3);
            for (size_t h = 0; h < holes; h++)
                star(&op[k].holes[h], 16 + (int)rnd(9) + 40 * (int)k, 16 + (int)rnd(9), 3,
                     3 + rnd(5));
        }
        switch (rnd(4)) {
        case 0: /* a copy of the area, maybe without its holes: shares every edge */
            ip = op[0];
            if (rnd(2))
                memset(ip.holes, 0, sizeof(ip.holes));
            break;
        case 1: /* a fan of consecutive area vertices and a point near the centre */
        {
            size_t n = op[0].outer.n, first = rnd((uint32_t)n), len = 2 + rnd((uint32_t)n - 1);
            for (size_t i = 0; i < len && i < MAXV - 1; i++) {
                ip.outer.xy[i][0] = op[0].outer.xy[(first + i) % n][0];
                ip.outer.xy[i][1] = op[0].outer.xy[(first + i) % n][1];
                ip.outer.n = i + 1;
            }
            ip.outer.xy[ip.outer.n][0] = 18 + rnd(5);
            ip.outer.xy[ip.outer.n][1] = 18 + rnd(5);
            ip.outer.n++;
            break;
        }
        default: /* a star somewhere near, maybe with a hole */
            star(&ip.outer, 14 + (int)rnd(13), 14 + (int)rnd(13), 10, 3 + rnd(MAXV - 3));
            if (rnd(3) == 0)
                star(&ip.holes[0], 16 + (int)rnd(9), 16 + (int)rnd(9), 3, 3 + rnd(5));
            break;
        }
        struct lpg_geometry outer, inner;
        build(&outer, op, n_outer);
        build(&inner, &ip, 1);
        if (simple(&outer) && simple(&inner)) {
            bool want = lpg_geometry_within_brute(&inner, &outer);
            bool got = lpg_geometry_within(&inner, &outer);
            /* The brute force picks one point inside each hole of the area, on a scan line;
             * when that point falls on the hole's boundary it misses a zone covering the hole.
             * Such a disagreement is settled by a point of the zone outside the area. */
            if (!got && want && witness_outside(&inner, &outer)) {
                n_brute_wrong++;
                want = false;
            }
            if (got != want) {
                for (size_t k = 0; k < n_outer; k++)
                    for (size_t h = 0; h < 3; h++) {
                        const struct ring_spec *r = h ? &op[k].holes[h - 1] : &op[k].outer;
                        printf("outer %zu ring %zu:", k, h);
                        for (size_t i = 0; i < r->n; i++)
                            printf(" (%g,%g)", r->xy[i][0], r->xy[i][1]);
                        printf("\n");
                    }
                for (size_t h = 0; h < 3; h++) {
                    const struct ring_spec *r = h ? &ip.holes[h - 1] : &ip.outer;
                    printf("inner ring %zu:", h);
                    for (size_t i = 0; i < r->n; i++)
                        printf(" (%g,%g)", r->xy[i][0], r->xy[i][1]);
                    printf("\n");
                }
                fail_msg("seed %llu iter %d: sweep says %d, brute force %d",
                         (unsigned long long)seed, iter, got, want);
            }
            want ? n_in++ : n_out++;
        }
        lpg_geometry_free(&outer);
        lpg_geometry_free(&inner);
    }
    printf("within: %d within, %d not (%d where the brute force was wrong: a witness point)\n",
           n_in, n_out, n_brute_wrong);
    assert_true(n_in > 600);
    assert_true(n_out > 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finish_table),  cmocka_unit_test(test_finish_errors),
        cmocka_unit_test(test_copy_deep),     cmocka_unit_test(test_within_table),
        cmocka_unit_test(test_within_random), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_within_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
