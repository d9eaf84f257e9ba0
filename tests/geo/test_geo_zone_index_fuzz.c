/*
 * test_geo_zone_index_fuzz.c - seeded randomized test of the zone index against brute force.
 *
 * 3000 zones over a Hailar-sized area (0.6 x 0.4 degree): concave star polygons (some with one
 * or two holes), rectangles, multipolygons of 2-3 parts, a few city-wide zones, and a 20x20
 * block of jittered quadrilaterals that share edges and vertices. Rings are randomly open or
 * closed and randomly oriented. ~32000 query points: uniform ones, exact vertices, points
 * interpolated on edges (holes included), points on the block's shared edges.
 * Checks, per query: the index returns exactly the brute-force set (every zone's
 * geo_multipolygon_contains), ascending; truncated queries keep the smallest ids; a point on a
 * shared block edge is in both neighbouring quads; no point inside the block is in no quad.
 *
 * Seed: taken from the environment variable GEO_TEST_SEED (decimal) if set, otherwise from the
 * clock; printed on stdout either way and in every failure message. Replay a failure with
 *   GEO_TEST_SEED=<seed> ./test_geo_zone_index_fuzz
 * CTest runs this twice: once clock-seeded (explores) and once with GEO_TEST_SEED=1 (stable).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo_test_util.h"

#define N_RANDOM_ZONES 2600
#define BLOCK          20 /* the shared-edge block is BLOCK x BLOCK quads */
#define N_ZONES        (N_RANDOM_ZONES + BLOCK * BLOCK)
#define N_UNIFORM_Q    16000
#define N_VERTEX_Q     6000
#define N_EDGE_Q       6000
#define N_BLOCK_EDGE_Q 2000
#define N_BLOCK_IN_Q   2000
#define MAX_FOUND      256

/* Area of the random zones, degrees. */
#define AREA_MIN_LON 119.50
#define AREA_MAX_LON 120.10
#define AREA_MIN_LAT 49.00
#define AREA_MAX_LAT 49.40
/* The block: BLOCK x BLOCK cells of BLOCK_CELL degrees from (BLOCK_LON, BLOCK_LAT). */
#define BLOCK_LON  119.80
#define BLOCK_LAT  49.05
#define BLOCK_CELL 0.005

/* Capacities of the pools below (asserted, never grown, so pointers stay valid). */
#define MAX_POINTS 400000
#define MAX_RINGS  20000
#define MAX_POLYS  12000

static uint64_t g_seed;
static uint64_t g_rng;

/* splitmix64: small, fast, identical on every platform (unlike rand()). */
static uint64_t rng_next(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) / 9007199254740992.0);
}

static size_t rng_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

struct world {
    struct geo_point *points;
    size_t n_points;
    struct geo_ring *rings;
    size_t n_rings;
    struct geo_polygon *polys;
    size_t n_polys;
    struct geo_zone zones[N_ZONES];
    struct geo_bbox zone_boxes[N_ZONES]; /* padded, for the brute-force prefilter */
    size_t n_zones;
    /* Block node grid and the zone position of each quad. */
    struct geo_point block_nodes[BLOCK + 1][BLOCK + 1];
    size_t block_zone[BLOCK][BLOCK];
};

/* Append a ring from pts[0..n-1], randomly reversed and randomly closed. */
static struct geo_ring add_ring(struct world *w, const struct geo_point *pts, size_t n)
{
    assert_true(w->n_points + n + 1 <= MAX_POINTS);
    bool reversed = rng_next() & 1, closed = rng_next() & 1;
    struct geo_point *dst = &w->points[w->n_points];
    for (size_t i = 0; i < n; i++)
        dst[i] = pts[reversed ? n - 1 - i : i];
    if (closed)
        dst[n] = dst[0];
    w->n_points += closed ? n + 1 : n;
    struct geo_ring r = {dst, closed ? n + 1 : n};
    return r;
}

/*
 * A star-shaped ring around c: n vertices at jittered angles, radii in [rmin, rmax] degrees
 * (lon radius stretched by 1/cos(lat) so shapes are round on the ground). Concave when the
 * radii vary, always simple.
 */
static size_t star(struct geo_point c, size_t n, double rmin, double rmax, struct geo_point *out)
{
    const double two_pi = 6.283185307179586;
    double lon_scale = 1.0 / 0.6534; /* 1 / cos(49.2 deg) */
    for (size_t i = 0; i < n; i++) {
        double a = two_pi * ((double)i + rng_uniform(-0.3, 0.3)) / (double)n;
        double r = rng_uniform(rmin, rmax);
        out[i].lon = c.lon + r * lon_scale * cos(a);
        out[i].lat = c.lat + r * sin(a);
    }
    return n;
}

/* One random polygon around c of size ~r degrees: a rectangle or a star, maybe with holes. */
static void add_polygon(struct world *w, struct geo_point c, double r)
{
    assert_true(w->n_polys < MAX_POLYS && w->n_rings + 3 <= MAX_RINGS);
    struct geo_polygon *poly = &w->polys[w->n_polys++];
    struct geo_point pts[32];
    memset(poly, 0, sizeof *poly);
    if (rng_below(10) < 2) {
        double dx = rng_uniform(0.2, 1.0) * r, dy = rng_uniform(0.2, 1.0) * r;
        pts[0] = (struct geo_point){c.lon - dx, c.lat - dy};
        pts[1] = (struct geo_point){c.lon + dx, c.lat - dy};
        pts[2] = (struct geo_point){c.lon + dx, c.lat + dy};
        pts[3] = (struct geo_point){c.lon - dx, c.lat + dy};
        poly->outer = add_ring(w, pts, 4);
        return;
    }
    /*
     * Star with radii in [0.3 r, r] (in ground units u = dlon cos(lat), v = dlat, where star()
     * is round). Consecutive vertex angles differ by at most 2 pi 1.6 / 5 = 2.01 rad, so every
     * edge stays at least 0.3 r cos(1.005) = 0.161 r from c: a disc of radius 0.161 r is inside.
     */
    poly->outer = add_ring(w, pts, star(c, 5 + rng_below(20), 0.3 * r, r, pts));
    size_t n_holes = rng_below(10) < 3 ? 1 + rng_below(2) : 0;
    if (n_holes == 0)
        return;
    /*
     * Holes inside that disc and disjoint from each other (a vertex of one hole strictly inside
     * another would rightly be outside the polygon, breaking the "every vertex is in its zone"
     * check): one hole of radius <= 0.12 r at c, or two of radius <= 0.06 r centred 0.07 r north
     * and south of c (reaching 0.13 r from c, and never crossing lat = c.lat).
     */
    poly->holes = &w->rings[w->n_rings];
    poly->n_holes = n_holes;
    for (size_t h = 0; h < n_holes; h++) {
        double dlat = n_holes == 1 ? 0.0 : (h == 0 ? 0.07 * r : -0.07 * r);
        double rmax = n_holes == 1 ? 0.12 * r : 0.06 * r;
        struct geo_point hc = {c.lon, c.lat + dlat};
        w->rings[w->n_rings++] = add_ring(w, pts, star(hc, 4 + rng_below(8), 0.02 * r, rmax, pts));
    }
}

static void add_zone(struct world *w, uint32_t id, size_t first_poly)
{
    struct geo_zone *z = &w->zones[w->n_zones];
    z->id = id;
    z->shape.polys = &w->polys[first_poly];
    z->shape.n_polys = w->n_polys - first_poly;
    struct geo_bbox box;
    GEO_ASSERT_STATUS("generated zone", geo_multipolygon_bbox(&z->shape, &box), GEO_OK);
    /* Pad by 1e-7 degree: far more than the 1e-9 boundary tolerance, so never too tight. */
    box.min_lon -= 1e-7;
    box.min_lat -= 1e-7;
    box.max_lon += 1e-7;
    box.max_lat += 1e-7;
    w->zone_boxes[w->n_zones++] = box;
}

static void build_world(struct world *w, const uint32_t *ids)
{
    /* Random zones: mostly 100 m - 3 km, 1% city-wide (up to ~0.2 degree), 15% multipart. */
    for (size_t k = 0; k < N_RANDOM_ZONES; k++) {
        size_t first = w->n_polys;
        double r = rng_below(100) == 0 ? rng_uniform(0.05, 0.2) : rng_uniform(0.001, 0.03);
        struct geo_point c = {rng_uniform(AREA_MIN_LON, AREA_MAX_LON),
                              rng_uniform(AREA_MIN_LAT, AREA_MAX_LAT)};
        size_t parts = rng_below(100) < 15 ? 2 + rng_below(2) : 1;
        for (size_t p = 0; p < parts; p++) {
            struct geo_point pc = {c.lon + rng_uniform(-3.0, 3.0) * r * (p > 0),
                                   c.lat + rng_uniform(-3.0, 3.0) * r * (p > 0)};
            add_polygon(w, pc, r);
        }
        add_zone(w, ids[w->n_zones], first);
    }
    /* The block: jittered nodes (<= 0.3 cell), quads share their edges' vertices exactly. */
    for (int i = 0; i <= BLOCK; i++)
        for (int j = 0; j <= BLOCK; j++)
            w->block_nodes[i][j] =
                (struct geo_point){BLOCK_LON + BLOCK_CELL * (i + rng_uniform(-0.3, 0.3)),
                                   BLOCK_LAT + BLOCK_CELL * (j + rng_uniform(-0.3, 0.3))};
    for (int i = 0; i < BLOCK; i++) {
        for (int j = 0; j < BLOCK; j++) {
            const struct geo_point quad[4] = {w->block_nodes[i][j], w->block_nodes[i + 1][j],
                                              w->block_nodes[i + 1][j + 1],
                                              w->block_nodes[i][j + 1]};
            size_t first = w->n_polys;
            struct geo_polygon *poly = &w->polys[w->n_polys++];
            memset(poly, 0, sizeof *poly);
            poly->outer = add_ring(w, quad, 4);
            w->block_zone[i][j] = w->n_zones;
            add_zone(w, ids[w->n_zones], first);
        }
    }
}

/* Brute force: every zone, in input order; returns the count, ids sorted ascending. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static size_t brute_force(const struct world *w, struct geo_point p, uint32_t *ids)
{
    size_t n = 0;
    for (size_t z = 0; z < w->n_zones; z++) {
        if (geo_bbox_contains(&w->zone_boxes[z], p) &&
            geo_multipolygon_contains(&w->zones[z].shape, p)) {
            assert_true(n < MAX_FOUND);
            ids[n++] = w->zones[z].id;
        }
    }
    qsort(ids, n, sizeof ids[0], cmp_u32);
    return n;
}

static bool has_id(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Query the index and compare with brute force; returns the number found. */
static size_t check_query(const struct geo_zone_index *idx, const struct world *w,
                          struct geo_point p, const char *kind, size_t qi, uint32_t *found)
{
    uint32_t want[MAX_FOUND];
    size_t n_want = brute_force(w, p, want), n = 0;
    GEO_ASSERT_STATUS(kind, geo_zone_index_query(idx, p, found, MAX_FOUND, &n), GEO_OK);
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++)
        same = found[i] == want[i];
    if (!same)
        fail_msg("seed %llu, %s query %zu at (%.17g, %.17g): index found %zu, brute force %zu "
                 "(first ids %u vs %u)",
                 (unsigned long long)g_seed, kind, qi, p.lon, p.lat, n, n_want,
                 n > 0 ? found[0] : 0, n_want > 0 ? want[0] : 0);

    /* Every 8th query: a small cap must keep the smallest ids, ascending, and report the total. */
    if (qi % 8 == 0) {
        size_t cap = rng_below(4), n_cap = 0;
        uint32_t small[4];
        enum geo_status st = geo_zone_index_query(idx, p, small, cap, &n_cap);
        GEO_ASSERT_STATUS(kind, st, n_want > cap ? GEO_ERR_TRUNCATED : GEO_OK);
        if (n_cap != n_want)
            fail_msg("seed %llu, %s query %zu: cap %zu reported %zu, want %zu",
                     (unsigned long long)g_seed, kind, qi, cap, n_cap, n_want);
        for (size_t i = 0; i < cap && i < n_want; i++)
            if (small[i] != want[i])
                fail_msg("seed %llu, %s query %zu: cap %zu ids[%zu] = %u, want %u",
                         (unsigned long long)g_seed, kind, qi, cap, i, small[i], want[i]);
    }
    return n;
}

/* A random point of a random ring of a random zone: vertex i (i < n) and the edge i -> i+1. */
static void random_ring_edge(const struct world *w, struct geo_point *a, struct geo_point *b)
{
    const struct geo_zone *z = &w->zones[rng_below(w->n_zones)];
    const struct geo_polygon *poly = &z->shape.polys[rng_below(z->shape.n_polys)];
    size_t r = rng_below(poly->n_holes + 1);
    const struct geo_ring *ring = r == 0 ? &poly->outer : &poly->holes[r - 1];
    size_t i = rng_below(ring->n);
    *a = ring->pts[i];
    *b = ring->pts[(i + 1) % ring->n];
}

static uint64_t seed_from_env(void)
{
    const char *s = getenv("GEO_TEST_SEED");
    if (s != NULL && *s != '\0') {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
            fail_msg("GEO_TEST_SEED=\"%s\" is not a decimal integer", s);
        return v;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
}

/* The world and index live in the test state so teardown frees them even after a failure. */
struct fuzz_state {
    struct world *w;
    struct geo_zone_index *idx;
};

static int fuzz_setup(void **state)
{
    struct fuzz_state *fs = calloc(1, sizeof *fs);
    if (fs == NULL)
        return -1;
    *state = fs;
    fs->w = calloc(1, sizeof *fs->w);
    if (fs->w == NULL)
        return -1;
    fs->w->points = calloc(MAX_POINTS, sizeof *fs->w->points);
    fs->w->rings = calloc(MAX_RINGS, sizeof *fs->w->rings);
    fs->w->polys = calloc(MAX_POLYS, sizeof *fs->w->polys);
    return fs->w->points && fs->w->rings && fs->w->polys ? 0 : -1;
}

static int fuzz_teardown(void **state)
{
    struct fuzz_state *fs = *state;
    if (fs == NULL)
        return 0;
    geo_zone_index_free(fs->idx);
    if (fs->w != NULL) {
        free(fs->w->points);
        free(fs->w->rings);
        free(fs->w->polys);
        free(fs->w);
    }
    free(fs);
    return 0;
}

static void test_zone_index_matches_brute_force(void **state)
{
    struct fuzz_state *fs = *state;
    struct world *w = fs->w;
    g_seed = seed_from_env();
    g_rng = g_seed;
    printf("test_geo_zone_index_fuzz: seed %llu (replay: GEO_TEST_SEED=%llu)\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed);
    fflush(stdout);

    /* Unique, shuffled, non-contiguous ids. */
    static uint32_t ids[N_ZONES];
    for (size_t i = 0; i < N_ZONES; i++)
        ids[i] = (uint32_t)(3 * i + 1);
    for (size_t i = N_ZONES - 1; i > 0; i--) {
        size_t j = rng_below(i + 1);
        uint32_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    build_world(w, ids);

    size_t bad = 0;
    enum geo_status st = geo_zone_index_build(w->zones, w->n_zones, &fs->idx, &bad);
    const struct geo_zone_index *idx = fs->idx;
    if (st != GEO_OK)
        fail_msg("seed %llu: build failed: %s at zone %zu", (unsigned long long)g_seed,
                 geo_status_str(st), bad);

    uint32_t found[MAX_FOUND];
    size_t qi = 0, total_hits = 0;
    for (size_t k = 0; k < N_UNIFORM_Q; k++, qi++) {
        struct geo_point p = {rng_uniform(AREA_MIN_LON - 0.1, AREA_MAX_LON + 0.1),
                              rng_uniform(AREA_MIN_LAT - 0.1, AREA_MAX_LAT + 0.1)};
        total_hits += check_query(idx, w, p, "uniform", qi, found);
    }
    for (size_t k = 0; k < N_VERTEX_Q; k++, qi++) {
        struct geo_point a, b;
        random_ring_edge(w, &a, &b);
        size_t n = check_query(idx, w, a, "vertex", qi, found);
        if (n == 0) /* the rule: a vertex of a zone is in that zone */
            fail_msg("seed %llu: vertex query %zu (%.17g, %.17g) found no zone",
                     (unsigned long long)g_seed, qi, a.lon, a.lat);
        total_hits += n;
    }
    for (size_t k = 0; k < N_EDGE_Q; k++, qi++) {
        struct geo_point a, b;
        random_ring_edge(w, &a, &b);
        double t = (k % 4 == 0) ? 0.5 : rng_uniform(0.0, 1.0);
        struct geo_point p = {a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)};
        size_t n = check_query(idx, w, p, "edge", qi, found);
        if (n == 0) /* the rule: a point on a zone's edge (outer or hole) is in that zone */
            fail_msg("seed %llu: edge query %zu (%.17g, %.17g) found no zone",
                     (unsigned long long)g_seed, qi, p.lon, p.lat);
        total_hits += n;
    }
    /* Shared interior edges of the block: both neighbouring quads contain every point. */
    for (size_t k = 0; k < N_BLOCK_EDGE_Q; k++, qi++) {
        int i = 1 + (int)rng_below(BLOCK - 1), j = (int)rng_below(BLOCK);
        bool vertical = rng_next() & 1; /* edge between quads (i-1, j) | (i, j), or transposed */
        struct geo_point a = vertical ? w->block_nodes[i][j] : w->block_nodes[j][i];
        struct geo_point b = vertical ? w->block_nodes[i][j + 1] : w->block_nodes[j + 1][i];
        uint32_t z1 = w->zones[vertical ? w->block_zone[i - 1][j] : w->block_zone[j][i - 1]].id;
        uint32_t z2 = w->zones[vertical ? w->block_zone[i][j] : w->block_zone[j][i]].id;
        double t = rng_uniform(0.0, 1.0);
        struct geo_point p = {a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)};
        size_t n = check_query(idx, w, p, "shared edge", qi, found);
        if (!has_id(found, n, z1) || !has_id(found, n, z2))
            fail_msg("seed %llu: shared-edge query %zu (%.17g, %.17g): zones %u and %u not both "
                     "found",
                     (unsigned long long)g_seed, qi, p.lon, p.lat, z1, z2);
        total_hits += n;
    }
    /* Inside the block (one cell in from its jittered border): some quad always holds p. */
    for (size_t k = 0; k < N_BLOCK_IN_Q; k++, qi++) {
        struct geo_point p = {BLOCK_LON + BLOCK_CELL * rng_uniform(1.0, BLOCK - 1.0),
                              BLOCK_LAT + BLOCK_CELL * rng_uniform(1.0, BLOCK - 1.0)};
        size_t n = check_query(idx, w, p, "block interior", qi, found);
        bool in_quad = false;
        for (size_t f = 0; f < n && !in_quad; f++)
            for (int i = 0; i < BLOCK * BLOCK && !in_quad; i++)
                in_quad = found[f] == w->zones[w->block_zone[i / BLOCK][i % BLOCK]].id;
        if (!in_quad)
            fail_msg("seed %llu: block query %zu (%.17g, %.17g) is in a gap between quads",
                     (unsigned long long)g_seed, qi, p.lon, p.lat);
        total_hits += n;
    }
    printf("test_geo_zone_index_fuzz: %zu zones, %zu queries, %zu hits, all equal to brute "
           "force\n",
           w->n_zones, qi, total_hits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zone_index_matches_brute_force, fuzz_setup,
                                        fuzz_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
