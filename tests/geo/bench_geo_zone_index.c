/*
 * bench_geo_zone_index.c - benchmark of geo_zone_index_query against brute force.
 *
 * Builds 5000 zones tiling a city-sized area (a 100 x 50 grid of jittered 8-vertex cells,
 * 0.003 degree each, ~22 x 17 km at Hailar's 49.2N; neighbours share edges) and times, in one
 * run, ROUNDS rounds of:
 *   - the index:                      geo_zone_index_query for N_QUERIES random points,
 *   - brute force, PIP every zone:    geo_multipolygon_contains on all 5000 zones,
 *   - brute force, bbox then PIP:     a bounding-box test first (the honest naive baseline),
 * the brute forces over the first N_BRUTE points (they are slow). Prints the median ns per query
 * of each and the ratios. Not a test: run it from a Release build without sanitizers, e.g.
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel \
 *     --target bench_geo_zone_index && build-rel/tests/geo/bench_geo_zone_index
 * Deterministic inputs (fixed seed); exits non-zero if index and brute force disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "geo.h"

#define COLS      100
#define ROWS      50
#define N_ZONES   (COLS * ROWS)
#define CELL_DEG  0.003  /* cell size, degrees of lon and of lat */
#define LON0      119.60 /* south-west corner, degrees east */
#define LAT0      49.13  /* south-west corner, degrees north */
#define N_QUERIES 20000
#define N_BRUTE   1000
#define ROUNDS    7

static uint64_t rng_state = 42;

static double rng_uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + (hi - lo) * ((double)(z >> 11) / 9007199254740992.0);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* Grid nodes and edge midpoints; both neighbours of an edge read the same midpoint. */
static struct geo_point nodes[COLS + 1][ROWS + 1];
static struct geo_point hmid[COLS][ROWS + 1]; /* midpoint of node (i,j) - (i+1,j) */
static struct geo_point vmid[COLS + 1][ROWS]; /* midpoint of node (i,j) - (i,j+1) */
static struct geo_point cell_pts[N_ZONES][8];
static struct geo_polygon polys[N_ZONES];
static struct geo_zone zones[N_ZONES];
static struct geo_bbox boxes[N_ZONES];
static struct geo_point queries[N_QUERIES];

static void build_tiling(void)
{
    for (int i = 0; i <= COLS; i++)
        for (int j = 0; j <= ROWS; j++)
            nodes[i][j] = (struct geo_point){LON0 + CELL_DEG * (i + rng_uniform(-0.25, 0.25)),
                                             LAT0 + CELL_DEG * (j + rng_uniform(-0.25, 0.25))};
    for (int i = 0; i < COLS; i++)
        for (int j = 0; j <= ROWS; j++)
            hmid[i][j] = (struct geo_point){(nodes[i][j].lon + nodes[i + 1][j].lon) / 2,
                                            (nodes[i][j].lat + nodes[i + 1][j].lat) / 2 +
                                                CELL_DEG * rng_uniform(-0.2, 0.2)};
    for (int i = 0; i <= COLS; i++)
        for (int j = 0; j < ROWS; j++)
            vmid[i][j] = (struct geo_point){(nodes[i][j].lon + nodes[i][j + 1].lon) / 2 +
                                                CELL_DEG * rng_uniform(-0.2, 0.2),
                                            (nodes[i][j].lat + nodes[i][j + 1].lat) / 2};
    for (int i = 0; i < COLS; i++) {
        for (int j = 0; j < ROWS; j++) {
            int k = i * ROWS + j;
            struct geo_point *p = cell_pts[k];
            p[0] = nodes[i][j];
            p[1] = hmid[i][j];
            p[2] = nodes[i + 1][j];
            p[3] = vmid[i + 1][j];
            p[4] = nodes[i + 1][j + 1];
            p[5] = hmid[i][j + 1];
            p[6] = nodes[i][j + 1];
            p[7] = vmid[i][j];
            polys[k] = (struct geo_polygon){{p, 8}, NULL, 0};
            zones[k] = (struct geo_zone){(uint32_t)(1000 + k), {&polys[k], 1}};
            if (geo_polygon_bbox(&polys[k], &boxes[k]) != GEO_OK) {
                fprintf(stderr, "bench: bad generated cell %d\n", k);
                exit(1);
            }
        }
    }
}

int main(void)
{
    build_tiling();
    for (size_t q = 0; q < N_QUERIES; q++)
        queries[q] = (struct geo_point){rng_uniform(LON0 - 0.01, LON0 + COLS * CELL_DEG + 0.01),
                                        rng_uniform(LAT0 - 0.01, LAT0 + ROWS * CELL_DEG + 0.01)};

    double t0 = now_ns();
    struct geo_zone_index *idx = NULL;
    size_t bad = 0;
    enum geo_status st = geo_zone_index_build(zones, N_ZONES, &idx, &bad);
    double build_ms = (now_ns() - t0) / 1e6;
    if (st != GEO_OK) {
        fprintf(stderr, "bench: build failed: %s (zone %zu)\n", geo_status_str(st), bad);
        return 1;
    }

    double t_index[ROUNDS], t_brute[ROUNDS], t_brute_box[ROUNDS];
    size_t hits_index = 0, hits_brute = 0, hits_brute_box = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint32_t ids[16];
        size_t n, hits = 0, hits_sub = 0;
        t0 = now_ns();
        for (size_t q = 0; q < N_QUERIES; q++) {
            geo_zone_index_query(idx, queries[q], ids, 16, &n);
            hits += n;
            if (q < N_BRUTE)
                hits_sub += n;
        }
        t_index[r] = (now_ns() - t0) / N_QUERIES;
        hits_index = hits_sub;
        (void)hits;

        hits = 0;
        t0 = now_ns();
        for (size_t q = 0; q < N_BRUTE; q++)
            for (size_t z = 0; z < N_ZONES; z++)
                hits += geo_multipolygon_contains(&zones[z].shape, queries[q]);
        t_brute[r] = (now_ns() - t0) / N_BRUTE;
        hits_brute = hits;

        hits = 0;
        t0 = now_ns();
        for (size_t q = 0; q < N_BRUTE; q++)
            for (size_t z = 0; z < N_ZONES; z++)
                hits += geo_bbox_contains(&boxes[z], queries[q]) &&
                        geo_multipolygon_contains(&zones[z].shape, queries[q]);
        t_brute_box[r] = (now_ns() - t0) / N_BRUTE;
        hits_brute_box = hits;
    }
    geo_zone_index_free(idx);
    if (hits_index != hits_brute || hits_index != hits_brute_box) {
        fprintf(stderr, "bench: results differ: index %zu, brute %zu, bbox+brute %zu hits\n",
                hits_index, hits_brute, hits_brute_box);
        return 1;
    }

    double m_index = median(t_index, ROUNDS), m_brute = median(t_brute, ROUNDS),
           m_box = median(t_brute_box, ROUNDS);
    printf("bench_geo_zone_index: %d zones (%d x %d jittered 8-vertex cells of %.3f deg, "
           "~%.0f x %.0f km), build %.1f ms\n",
           N_ZONES, COLS, ROWS, CELL_DEG, COLS * CELL_DEG * 111.195 * 0.6534,
           ROWS * CELL_DEG * 111.195, build_ms);
    printf("%d rounds; index %d queries/round, brute force %d queries/round; %zu hits in the "
           "brute-force subset\n",
           ROUNDS, N_QUERIES, N_BRUTE, hits_index);
    printf("  %-28s %12.1f ns/query (median)\n", "index (packed R-tree + PIP)", m_index);
    printf("  %-28s %12.1f ns/query (median)\n", "brute force (PIP all zones)", m_brute);
    printf("  %-28s %12.1f ns/query (median)\n", "brute force (bbox, then PIP)", m_box);
    printf("  speed-up: %.0fx vs PIP all, %.0fx vs bbox+PIP\n", m_brute / m_index, m_box / m_index);
    return 0;
}
