/*
 * test_geo_simple.c - geo_multipolygon_simple: the cases that matter by hand (bow-ties, folds,
 * collinear overlaps, touching at a vertex or along an edge, holes outside or touching, parts
 * nested), each with the problem and the vertex it must name, then an oracle comparison with
 * brute force (every pair of edges, nesting by point-in-ring) on random small polygons on a
 * coarse grid, where collinear edges, shared vertices and touching are common.
 *
 * Seed of the random part: GEO_TEST_SEED (decimal) if set, else the clock; it is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "geo_test_util.h"

#define BASE_LON 119.7
#define BASE_LAT 49.2
#define STEP     0.001 /* degrees per grid unit */

static struct geo_point gp(int x, int y)
{
    return (struct geo_point){BASE_LON + x * STEP, BASE_LAT + y * STEP};
}

/* A polygon given as rings of grid points: rings[r] has counts[r] points. */
#define MAX_RINGS 8
#define MAX_PTS   64

struct tpoly {
    struct geo_point pts[MAX_RINGS][MAX_PTS];
    struct geo_ring rings[MAX_RINGS];
    struct geo_polygon polys[MAX_RINGS];
    size_t n_polys;
};

/* Builds one polygon from `n_rings` int arrays {x0,y0,x1,y1,...} of lens[r] points each. */
static void poly_from(struct tpoly *t, size_t n_rings, const int *const *xy, const size_t *lens)
{
    for (size_t r = 0; r < n_rings; r++) {
        for (size_t i = 0; i < lens[r]; i++)
            t->pts[r][i] = gp(xy[r][2 * i], xy[r][2 * i + 1]);
        t->rings[r] = (struct geo_ring){t->pts[r], lens[r]};
    }
    t->polys[0] = (struct geo_polygon){t->rings[0], n_rings > 1 ? &t->rings[1] : NULL, n_rings - 1};
    t->n_polys = 1;
}

static enum geo_status check(struct tpoly *t, struct geo_simple_issue *issue)
{
    struct geo_multipolygon mp = {t->polys, t->n_polys};
    return geo_multipolygon_simple(&mp, issue);
}

static void expect_issue(const char *name, struct tpoly *t, enum geo_simple_problem want,
                         size_t ring, size_t vertex)
{
    struct geo_simple_issue is;
    memset(&is, 0, sizeof(is));
    GEO_ASSERT_STATUS(name, check(t, &is), GEO_ERR_NOT_SIMPLE);
    if (is.problem != want || is.at.ring != ring || is.at.vertex != vertex)
        fail_msg("%s: got problem %d (%s) at ring %zu vertex %zu, want %d at ring %zu vertex %zu",
                 name, is.problem, geo_simple_problem_str(is.problem), is.at.ring, is.at.vertex,
                 want, ring, vertex);
}

#define RING(...) ((const int[]){__VA_ARGS__})
#define LEN(...)  (sizeof((const int[]){__VA_ARGS__}) / sizeof(int) / 2)

static void one_ring(struct tpoly *t, const int *xy, size_t n)
{
    poly_from(t, 1, (const int *const[]){xy}, (size_t[]){n});
}

static void test_simple_rings(void **state)
{
    (void)state;
    struct tpoly t;
    /* A square, open and closed; collinear consecutive vertices and vertical edges are fine. */
    one_ring(&t, RING(0, 0, 4, 0, 4, 4, 0, 4), 4);
    GEO_ASSERT_STATUS("square", check(&t, NULL), GEO_OK);
    one_ring(&t, RING(0, 0, 4, 0, 4, 4, 0, 4, 0, 0), 5);
    GEO_ASSERT_STATUS("closed square", check(&t, NULL), GEO_OK);
    one_ring(&t, RING(0, 0, 2, 0, 4, 0, 4, 4, 0, 4, 0, 2), 6);
    GEO_ASSERT_STATUS("straight vertices", check(&t, NULL), GEO_OK);
    /* A comb: many vertices sharing x and y. */
    one_ring(&t, RING(0, 0, 8, 0, 8, 4, 7, 4, 7, 1, 5, 1, 5, 4, 3, 4, 3, 1, 1, 1, 1, 4, 0, 4), 12);
    GEO_ASSERT_STATUS("comb", check(&t, NULL), GEO_OK);
}

static void test_bow_ties(void **state)
{
    (void)state;
    struct tpoly t;
    /* The symmetric bow-tie: its signed area is 0, which used to be reported as "zero area". Edge
     * 0 (0,0)-(2,2) crosses edge 2 (2,0)-(0,2). */
    one_ring(&t, RING(0, 0, 2, 2, 2, 0, 0, 2), 4);
    expect_issue("symmetric bow-tie", &t, GEO_SIMPLE_SELF_INTERSECTION, 0, 0);
    one_ring(&t, RING(0, 0, 5, 3, 5, 0, 0, 2), 4);
    expect_issue("lopsided bow-tie", &t, GEO_SIMPLE_SELF_INTERSECTION, 0, 0);
    /* Crossing far from vertex 0: edges 2 and 4 of a pentagram-like ring. */
    one_ring(&t, RING(0, 0, 6, 0, 6, 6, 2, -1, 0, 6), 5);
    struct geo_simple_issue is;
    GEO_ASSERT_STATUS("star", check(&t, &is), GEO_ERR_NOT_SIMPLE);
    assert_int_equal(is.problem, GEO_SIMPLE_SELF_INTERSECTION);
}

static void test_degenerate_touches(void **state)
{
    (void)state;
    struct tpoly t;
    /* Folds back: edges 1 (4,0)-(4,4) and 2 (4,4)-(4,2) overlap (a spike at vertex 2); vertex 3
     * then also lies on edge 1, and the sweep may meet either first. */
    one_ring(&t, RING(0, 0, 4, 0, 4, 4, 4, 2), 4);
    struct geo_simple_issue fold;
    GEO_ASSERT_STATUS("fold", check(&t, &fold), GEO_ERR_NOT_SIMPLE);
    assert_true(fold.problem == GEO_SIMPLE_SPIKE || fold.problem == GEO_SIMPLE_SELF_INTERSECTION);
    /* Flat: every vertex on one line. */
    one_ring(&t, RING(0, 0, 2, 0, 4, 0), 3);
    GEO_ASSERT_STATUS("flat", check(&t, NULL), GEO_ERR_NOT_SIMPLE);
    /* Collinear overlap of non-consecutive edges: edge 4 (4,0)-(2,0) lies on edge 0. */
    one_ring(&t, RING(0, 0, 6, 0, 6, 2, 4, 2, 4, 0, 2, 0, 2, 2, 0, 2), 8);
    expect_issue("collinear overlap", &t, GEO_SIMPLE_SELF_INTERSECTION, 0, 0);
    /* A vertex on an edge: vertex 4 (2,0) on edge 0. */
    one_ring(&t, RING(0, 0, 4, 0, 4, 4, 3, 4, 2, 0, 1, 4, 0, 4), 7);
    expect_issue("vertex on edge", &t, GEO_SIMPLE_SELF_INTERSECTION, 0, 0);
    /* Figure eight through a repeated vertex (2,2), vertices 0 and 3. */
    one_ring(&t, RING(2, 2, 0, 0, 0, 4, 2, 2, 4, 0, 4, 4), 6);
    expect_issue("repeated vertex", &t, GEO_SIMPLE_REPEATED_VERTEX, 0, 0);
    struct geo_simple_issue is;
    check(&t, &is);
    assert_int_equal(is.other.vertex, 3);
    /* Two consecutive equal vertices. */
    one_ring(&t, RING(0, 0, 4, 0, 4, 0, 4, 4), 4);
    expect_issue("doubled vertex", &t, GEO_SIMPLE_REPEATED_VERTEX, 0, 1);
    /* Vertices closer than the 1e-9 degree resolution are one vertex. */
    one_ring(&t, RING(0, 0, 4, 0, 4, 4, 0, 4), 4);
    t.pts[0][2].lon = t.pts[0][1].lon + 2e-10;
    t.pts[0][2].lat = t.pts[0][1].lat;
    expect_issue("sub-resolution edge", &t, GEO_SIMPLE_REPEATED_VERTEX, 0, 1);
}

static void test_holes(void **state)
{
    (void)state;
    struct tpoly t;
    const int *shell = RING(0, 0, 10, 0, 10, 10, 0, 10);
    poly_from(&t, 2, (const int *const[]){shell, RING(2, 2, 4, 2, 4, 4, 2, 4)}, (size_t[]){4, 4});
    GEO_ASSERT_STATUS("hole inside", check(&t, NULL), GEO_OK);
    poly_from(&t, 2, (const int *const[]){shell, RING(12, 2, 14, 2, 14, 4)}, (size_t[]){4, 3});
    expect_issue("hole outside", &t, GEO_SIMPLE_HOLE_OUTSIDE, 1, 0);
    /* A hole around its shell. */
    poly_from(&t, 2, (const int *const[]){shell, RING(-2, -2, 12, -2, 12, 12, -2, 12)},
              (size_t[]){4, 4});
    expect_issue("hole around shell", &t, GEO_SIMPLE_HOLE_OUTSIDE, 1, 0);
    /* A hole inside another hole. */
    poly_from(&t, 3,
              (const int *const[]){shell, RING(1, 1, 9, 1, 9, 9, 1, 9), RING(3, 3, 5, 3, 5, 5)},
              (size_t[]){4, 4, 3});
    expect_issue("hole in hole", &t, GEO_SIMPLE_HOLE_OUTSIDE, 2, 0);
    /* A hole whose vertex touches the shell's edge. */
    poly_from(&t, 2, (const int *const[]){shell, RING(5, 0, 7, 3, 3, 3)}, (size_t[]){4, 3});
    expect_issue("hole touches shell", &t, GEO_SIMPLE_RINGS_INTERSECT, 0, 0);
    /* A hole sharing a vertex with the shell. */
    poly_from(&t, 2, (const int *const[]){shell, RING(0, 0, 3, 1, 1, 3)}, (size_t[]){4, 3});
    expect_issue("hole shares a vertex", &t, GEO_SIMPLE_REPEATED_VERTEX, 0, 0);
    /* Two holes crossing. */
    poly_from(
        &t, 3,
        (const int *const[]){shell, RING(2, 2, 6, 2, 6, 6, 2, 6), RING(4, 4, 8, 4, 8, 8, 4, 8)},
        (size_t[]){4, 4, 4});
    GEO_ASSERT_STATUS("holes cross", check(&t, NULL), GEO_ERR_NOT_SIMPLE);
}

static void test_parts(void **state)
{
    (void)state;
    struct tpoly t;
    const int *shell = RING(0, 0, 10, 0, 10, 10, 0, 10);
    const int *hole = RING(2, 2, 8, 2, 8, 8, 2, 8);
    /* Part 1 is an island in part 0's lake: fine. */
    poly_from(&t, 2, (const int *const[]){shell, hole}, (size_t[]){4, 4});
    const int *island = RING(4, 4, 6, 4, 6, 6, 4, 6);
    for (int i = 0; i < 4; i++)
        t.pts[2][i] = gp(island[2 * i], island[2 * i + 1]);
    t.rings[2] = (struct geo_ring){t.pts[2], 4};
    t.polys[1] = (struct geo_polygon){t.rings[2], NULL, 0};
    t.n_polys = 2;
    GEO_ASSERT_STATUS("island in a lake", check(&t, NULL), GEO_OK);
    /* Without the lake the island is a part inside another part. */
    t.polys[0].n_holes = 0;
    t.polys[0].holes = NULL;
    struct geo_simple_issue is;
    GEO_ASSERT_STATUS("nested parts", check(&t, &is), GEO_ERR_NOT_SIMPLE);
    assert_int_equal(is.problem, GEO_SIMPLE_PARTS_OVERLAP);
    assert_int_equal(is.at.poly, 1);
    assert_int_equal(is.other.poly, 0);
    /* Parts crossing. */
    const int *cross = RING(8, 8, 12, 8, 12, 12, 8, 12);
    for (int i = 0; i < 4; i++)
        t.pts[2][i] = gp(cross[2 * i], cross[2 * i + 1]);
    GEO_ASSERT_STATUS("parts cross", check(&t, &is), GEO_ERR_NOT_SIMPLE);
    assert_int_equal(is.problem, GEO_SIMPLE_PARTS_INTERSECT);
}

/* ---- oracle: brute force on the grid integers ---- */

struct ipt {
    int64_t x, y;
};

static int64_t orient_i(struct ipt a, struct ipt b, struct ipt c)
{
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

static bool on_closed(struct ipt a, struct ipt b, struct ipt c)
{
    return orient_i(a, b, c) == 0 && c.x >= (a.x < b.x ? a.x : b.x) &&
           c.x <= (a.x < b.x ? b.x : a.x) && c.y >= (a.y < b.y ? a.y : b.y) &&
           c.y <= (a.y < b.y ? b.y : a.y);
}

static bool meet(struct ipt a, struct ipt b, struct ipt c, struct ipt d)
{
    int64_t d1 = orient_i(c, d, a), d2 = orient_i(c, d, b), d3 = orient_i(a, b, c),
            d4 = orient_i(a, b, d);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return true;
    return on_closed(c, d, a) || on_closed(c, d, b) || on_closed(a, b, c) || on_closed(a, b, d);
}

struct oring {
    struct ipt v[MAX_PTS];
    int n, poly, hole;
};

/* Strictly inside ring r (p is known not to be on it): crossing number. */
static bool pip(const struct oring *r, struct ipt p)
{
    bool in = false;
    for (int i = 0, j = r->n - 1; i < r->n; j = i++) {
        struct ipt a = r->v[j], b = r->v[i];
        if ((a.y > p.y) != (b.y > p.y)) {
            /* p.x < crossing x, exactly: sign of orient relative to the edge's direction. */
            int64_t o = orient_i(a, b, p);
            if ((b.y > a.y) ? o > 0 : o < 0)
                in = !in;
        }
    }
    return in;
}

static int64_t area2(const struct oring *r)
{
    int64_t s = 0;
    for (int i = 0, j = r->n - 1; i < r->n; j = i++)
        s += r->v[j].x * r->v[i].y - r->v[i].x * r->v[j].y;
    return s < 0 ? -s : s;
}

static bool brute_simple(const struct oring *rs, int n_rings)
{
    for (int a = 0; a < n_rings; a++)
        for (int i = 0; i < rs[a].n; i++)
            for (int b = a; b < n_rings; b++)
                for (int j = b == a ? i + 1 : 0; j < rs[b].n; j++)
                    if (rs[a].v[i].x == rs[b].v[j].x && rs[a].v[i].y == rs[b].v[j].y)
                        return false;
    for (int a = 0; a < n_rings; a++)
        for (int i = 0; i < rs[a].n; i++)
            for (int b = a; b < n_rings; b++)
                for (int j = b == a ? i + 1 : 0; j < rs[b].n; j++) {
                    struct ipt p = rs[a].v[i], q = rs[a].v[(i + 1) % rs[a].n];
                    struct ipt u = rs[b].v[j], w = rs[b].v[(j + 1) % rs[b].n];
                    if (!meet(p, q, u, w))
                        continue;
                    bool consecutive = a == b && ((i + 1) % rs[a].n == j || (j + 1) % rs[a].n == i);
                    if (!consecutive)
                        return false;
                    /* Consecutive: only the shared vertex, unless they fold back. */
                    struct ipt s = (i + 1) % rs[a].n == j ? q : p; /* shared */
                    struct ipt x = (i + 1) % rs[a].n == j ? p : q;
                    struct ipt y = (i + 1) % rs[a].n == j ? w : u;
                    int64_t dx1 = x.x - s.x, dy1 = x.y - s.y, dx2 = y.x - s.x, dy2 = y.y - s.y;
                    if (dx1 * dy2 - dy1 * dx2 == 0 && dx1 * dx2 + dy1 * dy2 > 0)
                        return false;
                }
    /* Disjoint rings: nesting by the innermost ring containing vertex 0. */
    for (int a = 0; a < n_rings; a++) {
        int in = -1;
        for (int b = 0; b < n_rings; b++)
            if (b != a && pip(&rs[b], rs[a].v[0]) && (in < 0 || area2(&rs[b]) < area2(&rs[in])))
                in = b;
        if (rs[a].hole) {
            if (in < 0 || rs[in].hole || rs[in].poly != rs[a].poly)
                return false;
        } else if (in >= 0 && !rs[in].hole) {
            return false;
        }
    }
    return true;
}

static uint64_t g_rng;

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

/* A star-shaped ring around (cx, cy) of n vertices, radius up to rmax, rounded to the grid
 * (which may make it not simple: that is the point). */
static void star(struct oring *r, int cx, int cy, int rmax, int n)
{
    double ang[MAX_PTS];
    for (int i = 0; i < n; i++)
        ang[i] = 6.283185307179586 * (i + rnd(1000) / 1000.0) / n;
    for (int i = 0; i < n; i++) {
        double rad = 1 + rnd((uint32_t)rmax * 100) / 100.0;
        r->v[i] = (struct ipt){cx + (int64_t)lround(rad * cos(ang[i])),
                               cy + (int64_t)lround(rad * sin(ang[i]))};
    }
    r->n = n;
}

static void random_ring(struct oring *r, int grid, int n)
{
    for (int i = 0; i < n; i++)
        r->v[i] = (struct ipt){rnd((uint32_t)grid), rnd((uint32_t)grid)};
    r->n = n;
}

static void test_oracle(void **state)
{
    (void)state;
    const char *env = getenv("GEO_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("test_geo_simple oracle seed %llu (replay: GEO_TEST_SEED=%llu)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    g_rng = seed * 2654435761u + 88172645463325252ull;
    int n_simple = 0, n_not = 0;
    static struct tpoly t;
    for (int iter = 0; iter < 30000; iter++) {
        struct oring rs[MAX_RINGS];
        int n_rings = 0;
        int kind = (int)rnd(5);
        if (kind == 0) { /* random points: mostly not simple */
            random_ring(&rs[n_rings], 6, 3 + (int)rnd(4));
            rs[n_rings].poly = 0;
            rs[n_rings++].hole = 0;
        } else {
            int parts = kind == 4 ? 2 : 1;
            for (int p = 0; p < parts; p++) {
                int cx = 10 + (int)rnd(8), cy = 10 + (int)rnd(8);
                star(&rs[n_rings], cx, cy, 8, 3 + (int)rnd(10));
                rs[n_rings].poly = p;
                rs[n_rings++].hole = 0;
                int holes = kind >= 2 ? (int)rnd(3) : 0;
                for (int h = 0; h < holes; h++) {
                    star(&rs[n_rings], cx - 4 + (int)rnd(9), cy - 4 + (int)rnd(9), 2,
                         3 + (int)rnd(4));
                    rs[n_rings].poly = p;
                    rs[n_rings++].hole = 1;
                }
            }
        }
        /* To geo polygons. */
        size_t np = 0;
        for (int r = 0; r < n_rings; r++) {
            for (int i = 0; i < rs[r].n; i++)
                t.pts[r][i] = gp((int)rs[r].v[i].x, (int)rs[r].v[i].y);
            t.rings[r] = (struct geo_ring){t.pts[r], (size_t)rs[r].n};
        }
        for (int r = 0; r < n_rings; r++) {
            if (rs[r].hole)
                continue;
            int h = 0;
            while (r + 1 + h < n_rings && rs[r + 1 + h].hole)
                h++;
            t.polys[np++] = (struct geo_polygon){t.rings[r], h ? &t.rings[r + 1] : NULL, (size_t)h};
        }
        t.n_polys = np;
        /* The oracle sees the rings as geo does: a last vertex equal to the first closes it. */
        struct oring open[MAX_RINGS];
        for (int r = 0; r < n_rings; r++) {
            open[r] = rs[r];
            if (open[r].n >= 2 && open[r].v[0].x == open[r].v[open[r].n - 1].x &&
                open[r].v[0].y == open[r].v[open[r].n - 1].y)
                open[r].n--;
        }
        bool want = brute_simple(open, n_rings);
        struct geo_simple_issue is;
        enum geo_status st = check(&t, &is);
        if (st == GEO_ERR_TOO_FEW_POINTS) /* a 3-point ring whose last point repeats the first */
            st = GEO_ERR_NOT_SIMPLE;
        if (st != GEO_OK && st != GEO_ERR_NOT_SIMPLE)
            fail_msg("seed %llu iter %d: status %s", (unsigned long long)seed, iter,
                     geo_status_str(st));
        if ((st == GEO_OK) != want) {
            for (int r = 0; r < n_rings; r++) {
                printf("ring %d (poly %d, hole %d):", r, rs[r].poly, rs[r].hole);
                for (int i = 0; i < rs[r].n; i++)
                    printf(" (%lld,%lld)", (long long)rs[r].v[i].x, (long long)rs[r].v[i].y);
                printf("\n");
            }
            fail_msg("seed %llu iter %d: sweep says %s (%s), brute force says %s",
                     (unsigned long long)seed, iter, st == GEO_OK ? "simple" : "not simple",
                     st == GEO_OK ? "" : geo_simple_problem_str(is.problem),
                     want ? "simple" : "not simple");
        }
        want ? n_simple++ : n_not++;
    }
    printf("oracle: %d simple, %d not simple\n", n_simple, n_not);
    assert_true(n_simple > 3000);
    assert_true(n_not > 3000);
}

/* A big star: 100,000 vertices is simple and checked quickly (timing in the bench). */
static void test_large(void **state)
{
    (void)state;
    size_t n = 100000;
    struct geo_point *pts = malloc(n * sizeof(*pts));
    assert_non_null(pts);
    for (size_t i = 0; i < n; i++) {
        double a = 6.283185307179586 * (double)i / (double)n;
        double r = 0.05 * (1.0 + 0.3 * ((i % 2) ? 1.0 : 0.0));
        pts[i] = (struct geo_point){BASE_LON + r * cos(a), BASE_LAT + r * sin(a)};
    }
    struct geo_polygon poly = {{pts, n}, NULL, 0};
    struct geo_multipolygon mp = {&poly, 1};
    GEO_ASSERT_STATUS("large star", geo_multipolygon_simple(&mp, NULL), GEO_OK);
    /* Swap two far-apart vertices: now it crosses itself. */
    struct geo_point tmp = pts[10];
    pts[10] = pts[50010];
    pts[50010] = tmp;
    GEO_ASSERT_STATUS("large star, crossed", geo_multipolygon_simple(&mp, NULL),
                      GEO_ERR_NOT_SIMPLE);
    free(pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_rings),
        cmocka_unit_test(test_bow_ties),
        cmocka_unit_test(test_degenerate_touches),
        cmocka_unit_test(test_holes),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_oracle),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
