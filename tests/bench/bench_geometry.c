/* bench_geometry.c -- the cost of accepting a zone (dispatch/core/geometry.c) at the size that
 * froze the service: a 50,000-vertex zone inside a 50,000-vertex supply area, both wavy circles
 * around Hailar (every edge a few metres long, so bounding boxes prune nothing). Times
 *   - lpg_geometry_validate of each shape (vertex caps + the simple-polygon sweep),
 *   - lpg_geometry_within, the sweep (median of 5 rounds), also for the zone that is the area
 *     itself (every edge shared: the worst case for touching),
 *   - lpg_geometry_within_brute, the O(n m) test the service used before (one round, ~20 s;
 *     skipped with the argument "quick").
 * Last line: "bench-geometry n=<vertices> validate_ms=<zone+area> within_ms=<median>
 * within_equal_ms=<median> brute_ms=<one round> ratio=<brute/within>".
 * Times are CPU time of the process (the machine is shared). Not a test: timings would make
 * CTest flaky. Run it from a Release build without sanitizers. */
#include "core/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this process: the machine is shared, and wall time would measure the others. */
#define BENCH_CLOCK CLOCK_PROCESS_CPUTIME_ID
#define N           50000
#define ROUNDS      5

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(BENCH_CLOCK, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One closed ring of n vertices: radius r degrees, waving by 2 % over 1,000 periods. */
static void wavy_circle(struct lpg_geometry *g, size_t n, double r)
{
    memset(g, 0, sizeof(*g));
    g->pts = malloc((n + 1) * sizeof(*g->pts));
    g->rings = malloc(sizeof(*g->rings));
    g->polys = malloc(sizeof(*g->polys));
    if (!g->pts || !g->rings || !g->polys)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        double a = 6.283185307179586 * (double)i / (double)n;
        double rr = r * (1.0 + 0.02 * sin(1000.0 * a));
        g->pts[i] = (struct geo_point){119.75 + rr * cos(a), 49.2 + rr * sin(a) * 0.66};
    }
    g->pts[n] = g->pts[0];
    g->rings[0] = (struct geo_ring){g->pts, n + 1};
    g->polys[0] = (struct geo_polygon){g->rings[0], NULL, 0};
    g->mp = (struct geo_multipolygon){g->polys, 1};
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    struct lpg_geometry area, zone;
    wavy_circle(&area, N, 0.30);
    wavy_circle(&zone, N, 0.20);
    lpg_geometry_set_limits(N, N);
    char msg[256], where[64];
    double t0 = now_ms();
    if (lpg_geometry_validate(&zone, false, msg, sizeof(msg), where, sizeof(where)) != 0 ||
        lpg_geometry_validate(&area, false, msg, sizeof(msg), where, sizeof(where)) != 0) {
        fprintf(stderr, "not valid: %s at %s\n", msg, where);
        return 1;
    }
    double validate_ms = now_ms() - t0;
    if (lpg_geometry_finish(&area) != GEO_OK || lpg_geometry_finish(&zone) != GEO_OK)
        return 1;

    double within[ROUNDS], equal[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        t0 = now_ms();
        if (!lpg_geometry_within(&zone, &area))
            return fprintf(stderr, "zone not within\n"), 1;
        within[r] = now_ms() - t0;
        t0 = now_ms();
        if (!lpg_geometry_within(&area, &area))
            return fprintf(stderr, "area not within itself\n"), 1;
        equal[r] = now_ms() - t0;
    }
    double within_ms = median(within, ROUNDS), equal_ms = median(equal, ROUNDS);
    printf("validate (zone + area, %d vertices each): %.1f ms\n", N, validate_ms);
    printf("within, sweep: median %.1f ms; the area within itself: %.1f ms\n", within_ms, equal_ms);
    double brute_ms = 0;
    if (!quick) {
        t0 = now_ms();
        if (!lpg_geometry_within_brute(&zone, &area))
            return fprintf(stderr, "brute: zone not within\n"), 1;
        brute_ms = now_ms() - t0;
        printf("within, brute force (before): %.0f ms\n", brute_ms);
    }
    printf("bench-geometry n=%d validate_ms=%.1f within_ms=%.1f within_equal_ms=%.1f "
           "brute_ms=%.0f ratio=%.0f\n",
           N, validate_ms, within_ms, equal_ms, brute_ms, quick ? 0.0 : brute_ms / within_ms);
    lpg_geometry_free(&area);
    lpg_geometry_free(&zone);
    return 0;
}
