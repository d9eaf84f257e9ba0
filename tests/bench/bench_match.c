/* bench_match.c -- bench-match: match_order latency over a city-sized world, against a naive
 * matcher in the same run. Not a test (timings would make CTest flaky); run it from a Release
 * build without sanitizers:  bench-match [seed]
 *
 * World (seeded, seed printed; default 20260615): one enterprise over Hailar, a 40 x 25 tiling
 * of lon 119.62..119.90 E, lat 49.15..49.27 N (about 20 x 13 km) into 1,000 zones of 20-80
 * vertices: the grid nodes are jittered (+-15 % of a cell) and every cell side carries 4-19
 * extra vertices offset sideways within a diamond of half-angle atan(0.3) around the side, so
 * sides never cross; neighbours share each side's vertices exactly, and the outer frame is
 * straight, so every point of the rectangle lies in at least one zone. 10 staff per zone
 * (10,000) each with a vehicle; a realistic share of them ineligible (off duty, in rest,
 * certificates missing or expired, no vehicle, permit expired, small vehicles; in 3 % of the
 * zones nobody is on duty, so refusals and their reasons are timed too); 70 % of the
 * vehicles have a position near their zone, the rest use the zone's inside point; 20,000
 * orders already assigned (so loads and committed cylinders are non-trivial); 100,000
 * customers uniformly over the rectangle; 100,000 waiting orders of 1-3 cylinders.
 *
 * Timing: clock_gettime(CLOCK_MONOTONIC) around each match_order call (the pair costs ~20-40 ns
 * through the vDSO, under 2 % of a call), so the distribution is per call; median and p99 of
 * the 100,000 calls. The zone index is built before timing (its build is reported apart).
 * The naive matcher scans all 10,000 staff, runs an exact point-in-polygon test of each one's
 * zone (no box prefilter) and the same eligibility and ranking, written independently here;
 * at ~1 ms a call it is timed on the first 1,000 orders only, and the ratio is naive median /
 * fast median. On those 1,000 orders both must choose the same person (mismatches printed;
 * the exit status is 1 if any).
 *
 * That naive baseline is a straw man (bench-geometry calls a box test before the polygon test
 * the honest naive), so a second one is timed on the same 1,000 orders: per zone, the zone's
 * bounding box (lpg_geometry.bbox, computed when the zone is stored), then the exact
 * point-in-polygon test only when the box holds the customer, then the same eligibility and
 * ranking over that zone's staff (grouped by zone once, outside the timing, as the fast path's
 * index is). It must choose the same person too; bbox_naive_ratio = its median / the fast
 * path's median over the same 1,000 orders (like for like; naive_ratio keeps its old
 * definition, against the median over all 100,000).
 *
 * The last line printed is exactly:
 *   bench-match median_us=<x> p99_us=<y> naive_ratio=<z> bbox_naive_ratio=<b>
 * (naive_ratio: against the scan of every staff member without a box, as before).
 */
#include "bench_util.h"
#include "core/match.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRID_COLS      40
#define GRID_ROWS      25
#define MIN_LON        119.62 /* degrees east */
#define MAX_LON        119.90
#define MIN_LAT        49.15 /* degrees north */
#define MAX_LAT        49.27
#define STAFF_PER_ZONE 10
#define N_CUSTOMERS    100000
#define N_ORDERS       100000
#define N_ASSIGNED     20000
#define N_NAIVE        1000
#define SIDE_MIN_EXTRA 4 /* extra vertices per cell side: 4 sides x 4..19 + 4 corners = 20..80 */
#define SIDE_MAX_EXTRA 19
#define NODE_JITTER    0.15 /* of a cell */
#define SIDE_BULGE     0.3  /* sideways offset <= this x distance to the nearer end */
#define UTC_OFFSET_MIN 480
#define CLOSED_ZONES   0.03 /* share of zones with nobody on duty */

#define N_ZONES (GRID_COLS * GRID_ROWS)
#define N_STAFF (N_ZONES * STAFF_PER_ZONE)

/* ---- seeded RNG: splitmix64 ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

static int rng_int(int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(double p)
{
    return rng_unit() < p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the tiling ---- */

struct side {
    int n; /* extra vertices */
    struct geo_point p[SIDE_MAX_EXTRA];
};

static struct geo_point nodes[GRID_COLS + 1][GRID_ROWS + 1];
static struct side hsides[GRID_COLS][GRID_ROWS + 1]; /* node (c,r) -> (c+1,r) */
static struct side vsides[GRID_COLS + 1][GRID_ROWS]; /* node (c,r) -> (c,r+1) */

static void make_side(struct side *s, struct geo_point a, struct geo_point b, bool frame)
{
    s->n = rng_int(SIDE_MIN_EXTRA, SIDE_MAX_EXTRA);
    double dx = b.lon - a.lon, dy = b.lat - a.lat;
    for (int i = 0; i < s->n; i++) {
        double t = (i + 1.0) / (s->n + 1.0);
        double off = frame ? 0.0 : rng_range(-1.0, 1.0) * SIDE_BULGE * fmin(t, 1.0 - t);
        /* (-dy, dx) is the side turned a quarter; off is in units of the side's length. */
        s->p[i] = (struct geo_point){a.lon + t * dx - off * dy, a.lat + t * dy + off * dx};
    }
}

static void make_tiling(void)
{
    double cw = (MAX_LON - MIN_LON) / GRID_COLS, ch = (MAX_LAT - MIN_LAT) / GRID_ROWS;
    for (int c = 0; c <= GRID_COLS; c++) {
        for (int r = 0; r <= GRID_ROWS; r++) {
            struct geo_point p = {MIN_LON + c * cw, MIN_LAT + r * ch};
            if (c == GRID_COLS)
                p.lon = MAX_LON;
            if (r == GRID_ROWS)
                p.lat = MAX_LAT;
            if (c > 0 && c < GRID_COLS && r > 0 && r < GRID_ROWS) {
                p.lon += rng_range(-NODE_JITTER, NODE_JITTER) * cw;
                p.lat += rng_range(-NODE_JITTER, NODE_JITTER) * ch;
            }
            nodes[c][r] = p;
        }
    }
    for (int c = 0; c < GRID_COLS; c++)
        for (int r = 0; r <= GRID_ROWS; r++)
            make_side(&hsides[c][r], nodes[c][r], nodes[c + 1][r], r == 0 || r == GRID_ROWS);
    for (int c = 0; c <= GRID_COLS; c++)
        for (int r = 0; r < GRID_ROWS; r++)
            make_side(&vsides[c][r], nodes[c][r], nodes[c][r + 1], c == 0 || c == GRID_COLS);
}

/* Cell (c, r) counter-clockwise: bottom forward, right forward, top backward, left backward. */
static void make_zone_shape(struct lpg_geometry *g, int c, int r)
{
    const struct side *b = &hsides[c][r], *rt = &vsides[c + 1][r];
    const struct side *t = &hsides[c][r + 1], *l = &vsides[c][r];
    size_t n = 4 + (size_t)(b->n + rt->n + t->n + l->n), k = 0;
    memset(g, 0, sizeof(*g));
    g->pts = malloc(n * sizeof(*g->pts));
    g->rings = malloc(sizeof(*g->rings));
    g->polys = malloc(sizeof(*g->polys));
    if (g->pts == NULL || g->rings == NULL || g->polys == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    g->pts[k++] = nodes[c][r];
    for (int i = 0; i < b->n; i++)
        g->pts[k++] = b->p[i];
    g->pts[k++] = nodes[c + 1][r];
    for (int i = 0; i < rt->n; i++)
        g->pts[k++] = rt->p[i];
    g->pts[k++] = nodes[c + 1][r + 1];
    for (int i = t->n - 1; i >= 0; i--)
        g->pts[k++] = t->p[i];
    g->pts[k++] = nodes[c][r + 1];
    for (int i = l->n - 1; i >= 0; i--)
        g->pts[k++] = l->p[i];
    g->rings[0] = (struct geo_ring){g->pts, n};
    g->polys[0] = (struct geo_polygon){g->rings[0], NULL, 0};
    g->mp = (struct geo_multipolygon){g->polys, 1};
    enum geo_status st = lpg_geometry_finish(g);
    if (st != GEO_OK) {
        fprintf(stderr, "zone (%d,%d): %s\n", c, r, geo_status_str(st));
        exit(2);
    }
}

/* ---- the world ---- */

struct world {
    struct registry *reg;
    const struct lpg_staff *staff[N_STAFF]; /* for the naive scans */
    const struct lpg_zone *zones[N_ZONES];  /* for the per-zone naive scan */
    struct lpg_order *orders;               /* the orders matched, in the registry too */
    int64_t now_ms;
    size_t min_vertices, max_vertices;
};

static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench-match: %s failed\n", what);
        exit(2);
    }
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void build_world(struct world *w)
{
    w->reg = registry_new();
    if (w->reg == NULL)
        exit(2);
    /* 2026-06-15T02:00Z, 10:00 local. */
    int32_t today;
    lpg_day_parse("2026-06-15", &today);
    w->now_ms = ((int64_t)today * 86400 + 2 * 3600) * 1000;

    struct lpg_enterprise *e = xcalloc(1, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "E1");
    e->utc_offset_min = UTC_OFFSET_MIN;
    e->licence_expiry_day = LPG_DAY_NONE;
    must(registry_put_enterprise(w->reg, e), "put enterprise");

    make_tiling();
    w->min_vertices = SIZE_MAX;
    for (int r = 0; r < GRID_ROWS; r++) {
        for (int c = 0; c < GRID_COLS; c++) {
            struct lpg_zone *z = xcalloc(1, sizeof(*z));
            snprintf(z->id, sizeof(z->id), "Z%04d", r * GRID_COLS + c);
            snprintf(z->enterprise_id, sizeof(z->enterprise_id), "E1");
            make_zone_shape(&z->shape, c, r);
            size_t nv = z->shape.mp.polys[0].outer.n;
            w->min_vertices = nv < w->min_vertices ? nv : w->min_vertices;
            w->max_vertices = nv > w->max_vertices ? nv : w->max_vertices;
            must(registry_put_zone(w->reg, z), "put zone");
        }
    }

    double cw = (MAX_LON - MIN_LON) / GRID_COLS, ch = (MAX_LAT - MIN_LAT) / GRID_ROWS;
    bool closed = false; /* a zone whose staff are all off duty: exercises the refusal text */
    for (int i = 0; i < N_STAFF; i++) {
        int zi = i / STAFF_PER_ZONE;
        if (i % STAFF_PER_ZONE == 0)
            closed = rng_chance(CLOSED_ZONES);
        const struct lpg_zone *zone = NULL;
        char zid[16];
        snprintf(zid, sizeof(zid), "Z%04d", zi);
        zone = registry_zone(w->reg, zid);
        struct lpg_staff *s = xcalloc(1, sizeof(*s));
        struct lpg_vehicle *v = xcalloc(1, sizeof(*v));
        snprintf(s->id, sizeof(s->id), "S%05d", i);
        snprintf(s->enterprise_id, sizeof(s->enterprise_id), "E1");
        snprintf(s->zone_id, sizeof(s->zone_id), "%s", zid);
        s->role = LPG_ROLE_DELIVERY;
        s->on_duty = !closed && rng_chance(0.85);
        if (rng_chance(0.05))
            s->rest_until_ms = w->now_ms + 3600000;
        if (!rng_chance(0.01))
            snprintf(s->qualification_no, sizeof(s->qualification_no), "QC-%05d", i);
        s->qualification_expiry_day = today + (rng_chance(0.04) ? -rng_int(1, 90) : 365);
        snprintf(s->training_no, sizeof(s->training_no), "ST-%05d", i);
        s->training_expiry_day = today + (rng_chance(0.03) ? -rng_int(1, 90) : 200);
        snprintf(v->id, sizeof(v->id), "V%05d", i);
        if (!rng_chance(0.02))
            snprintf(s->vehicle_id, sizeof(s->vehicle_id), "%s", v->id);
        snprintf(v->enterprise_id, sizeof(v->enterprise_id), "E1");
        snprintf(v->staff_id, sizeof(v->staff_id), "%s", s->id);
        snprintf(v->permit_no, sizeof(v->permit_no), "DG-%05d", i);
        v->permit_expiry_day = today + (rng_chance(0.03) ? -rng_int(1, 90) : 300);
        v->capacity = rng_chance(0.05) ? rng_int(2, 5) : rng_int(20, 60);
        v->kind = LPG_VEHICLE_VAN; /* no escort needed: matching as before */
        v->has_position = rng_chance(0.7);
        if (v->has_position)
            v->position = (struct geo_point){zone->shape.inside.lon + rng_range(-cw, cw),
                                             zone->shape.inside.lat + rng_range(-ch, ch)};
        must(registry_put_staff(w->reg, s), "put staff");
        must(registry_put_vehicle(w->reg, v), "put vehicle");
    }
    for (int i = 0; i < N_STAFF; i++) {
        char id[16];
        snprintf(id, sizeof(id), "S%05d", i);
        w->staff[i] = registry_staff(w->reg, id);
    }
    for (int k = 0; k < N_ZONES; k++) {
        char id[16];
        snprintf(id, sizeof(id), "Z%04d", k);
        w->zones[k] = registry_zone(w->reg, id);
    }
    for (int i = 0; i < N_CUSTOMERS; i++) {
        struct lpg_customer *c = xcalloc(1, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "C%06d", i);
        snprintf(c->enterprise_id, sizeof(c->enterprise_id), "E1");
        c->location = (struct geo_point){rng_range(MIN_LON, MAX_LON), rng_range(MIN_LAT, MAX_LAT)};
        snprintf(c->contract_no, sizeof(c->contract_no), "GC-%06d", i);
        must(registry_put_customer(w->reg, c), "put customer");
    }
    /* Orders already under way: loads and committed cylinders. */
    for (int i = 0; i < N_ASSIGNED; i++) {
        struct lpg_order *o = xcalloc(1, sizeof(*o));
        int si = rng_int(0, N_STAFF - 1);
        snprintf(o->id, sizeof(o->id), "A%06d", i);
        snprintf(o->enterprise_id, sizeof(o->enterprise_id), "E1");
        snprintf(o->customer_id, sizeof(o->customer_id), "C%06d", rng_int(0, N_CUSTOMERS - 1));
        o->state = (enum lpg_order_state)rng_int(LPG_ORDER_ASSIGNED, LPG_ORDER_ARRIVED);
        snprintf(o->staff_id, sizeof(o->staff_id), "S%05d", si);
        snprintf(o->vehicle_id, sizeof(o->vehicle_id), "V%05d", si);
        o->n_items = 1;
        snprintf(o->items[0].spec, sizeof(o->items[0].spec), "YSP-35.5");
        o->items[0].count = rng_int(1, 4);
        o->created_ms = w->now_ms - 3600000 + i;
        must(registry_put_order(w->reg, o), "put assigned order");
    }
    w->orders = xcalloc(N_ORDERS, sizeof(*w->orders));
    for (int i = 0; i < N_ORDERS; i++) {
        struct lpg_order *o = &w->orders[i];
        snprintf(o->id, sizeof(o->id), "O%06d", i);
        snprintf(o->enterprise_id, sizeof(o->enterprise_id), "E1");
        snprintf(o->customer_id, sizeof(o->customer_id), "C%06d", rng_int(0, N_CUSTOMERS - 1));
        o->state = LPG_ORDER_CREATED;
        o->n_items = 1;
        snprintf(o->items[0].spec, sizeof(o->items[0].spec), "YSP-35.5");
        o->items[0].count = rng_int(1, 3);
        o->created_ms = w->now_ms - N_ORDERS + i;
        must(registry_put_order(w->reg, lpg_order_dup(o)), "put order");
    }
}

/* ---- the naive matcher: every staff member, exact zone test, same rules ---- */

static bool doc_ok(const char *no, int32_t expiry_day, int32_t today)
{
    return no[0] != '\0' && expiry_day != LPG_DAY_NONE && today <= expiry_day;
}

/* The eligibility and ranking of one staff member s of zone z (whose shape holds the
 * customer), shared by both naive matchers. */
static void naive_consider(struct world *w, const struct lpg_staff *s, const struct lpg_zone *z,
                           const struct lpg_order *o, const struct lpg_customer *cu, int32_t today,
                           int32_t need, const struct lpg_staff **best, double *best_d)
{
    if (strcmp(s->enterprise_id, o->enterprise_id) != 0)
        return;
    if (!s->on_duty || s->rest_until_ms > w->now_ms ||
        !doc_ok(s->qualification_no, s->qualification_expiry_day, today) ||
        !doc_ok(s->training_no, s->training_expiry_day, today))
        return;
    const struct lpg_vehicle *v = registry_vehicle(w->reg, s->vehicle_id);
    if (v == NULL || strcmp(v->enterprise_id, s->enterprise_id) != 0 ||
        (v->staff_id[0] && strcmp(v->staff_id, s->id) != 0) ||
        !doc_ok(v->permit_no, v->permit_expiry_day, today) || v->capacity - v->committed < need)
        return;
    double d = geo_distance_m(v->has_position ? v->position : z->shape.inside, cu->location);
    const struct lpg_staff *b = *best;
    if (b == NULL || d < *best_d ||
        (d == *best_d && (s->active_orders < b->active_orders ||
                          (s->active_orders == b->active_orders && strcmp(s->id, b->id) < 0)))) {
        *best = s;
        *best_d = d;
    }
}

/* Every staff member, the exact test of its zone, no box. */
static const struct lpg_staff *naive_match(struct world *w, const struct lpg_order *o,
                                           double *distance_m)
{
    const struct lpg_customer *cu = registry_customer(w->reg, o->customer_id);
    const struct lpg_enterprise *e = registry_enterprise(w->reg, o->enterprise_id);
    int32_t today = lpg_local_day(w->now_ms, e->utc_offset_min);
    int32_t need = lpg_order_cylinders(o);
    const struct lpg_staff *best = NULL;
    double best_d = 0.0;
    for (size_t i = 0; i < N_STAFF; i++) {
        const struct lpg_staff *s = w->staff[i];
        const struct lpg_zone *z = registry_zone(w->reg, s->zone_id);
        if (z == NULL || strcmp(z->enterprise_id, o->enterprise_id) != 0 ||
            !geo_multipolygon_contains(&z->shape.mp, cu->location))
            continue;
        naive_consider(w, s, z, o, cu, today, need, &best, &best_d);
    }
    *distance_m = best_d;
    return best;
}

/* Per zone: its box, then its exact test, then its staff (w->zones[k], w->staff grouped by
 * zone: staff k * STAFF_PER_ZONE .. (k + 1) * STAFF_PER_ZONE - 1 are zone k's). */
static const struct lpg_staff *bbox_naive_match(struct world *w, const struct lpg_order *o,
                                                double *distance_m)
{
    const struct lpg_customer *cu = registry_customer(w->reg, o->customer_id);
    const struct lpg_enterprise *e = registry_enterprise(w->reg, o->enterprise_id);
    int32_t today = lpg_local_day(w->now_ms, e->utc_offset_min);
    int32_t need = lpg_order_cylinders(o);
    const struct lpg_staff *best = NULL;
    double best_d = 0.0;
    for (size_t k = 0; k < N_ZONES; k++) {
        const struct lpg_zone *z = w->zones[k];
        if (!geo_bbox_contains(&z->shape.bbox, cu->location) ||
            strcmp(z->enterprise_id, o->enterprise_id) != 0 ||
            !geo_multipolygon_contains(&z->shape.mp, cu->location))
            continue;
        for (size_t i = k * STAFF_PER_ZONE; i < (k + 1) * STAFF_PER_ZONE; i++)
            naive_consider(w, w->staff[i], z, o, cu, today, need, &best, &best_d);
    }
    *distance_m = best_d;
    return best;
}

/* ---- statistics ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n-1], q in (0, 1]. */
static int64_t percentile(const int64_t *v, size_t n, double q)
{
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 20260615u;
    rng_state = seed;
    printf("bench-match: seed %" PRIu64 " (replay: bench-match %" PRIu64 ")\n", seed, seed);

    static struct world w;
    double t0 = now_s();
    build_world(&w);
    double t1 = now_s();
    /* The zone index is built lazily: once here, outside the timed calls. */
    const struct lpg_zone *warm[1];
    registry_zones_at(w.reg, "E1", (struct geo_point){119.76, 49.21}, warm, 1);
    double t2 = now_s();
    struct registry_counts rc;
    registry_counts(w.reg, &rc);
    printf("world: %zu zones (%zu-%zu vertices), %zu staff, %zu vehicles, %zu customers, %zu "
           "orders; built in %.0f ms, zone index in %.1f ms\n",
           rc.zones, w.min_vertices, w.max_vertices, rc.staff, rc.vehicles, rc.customers, rc.orders,
           (t1 - t0) * 1e3, (t2 - t1) * 1e3);

    /* Fast: every order, one clock pair per call. */
    int64_t *lat = xcalloc(N_ORDERS, sizeof(*lat));
    const struct lpg_staff **chosen = xcalloc(N_NAIVE, sizeof(*chosen));
    size_t matched = 0, refused = 0, errors = 0;
    for (size_t i = 0; i < N_ORDERS; i++) {
        struct match_result r;
        int64_t a = bench_mono_ns();
        int rcm = match_order(w.reg, &w.orders[i], w.now_ms, &r);
        int64_t b = bench_mono_ns();
        lat[i] = b - a;
        matched += rcm == 0;
        refused += rcm == 1;
        errors += rcm < 0;
        if (i < N_NAIVE)
            chosen[i] = r.staff;
        if (rcm == 1 && refused <= 3)
            printf("  refused %s: %s\n", w.orders[i].id, r.reason);
    }
    /* The fast path on the orders the naive matchers are timed on, for a like-for-like ratio. */
    int64_t *lat1k = xcalloc(N_NAIVE, sizeof(*lat1k));
    memcpy(lat1k, lat, N_NAIVE * sizeof(*lat1k));
    qsort(lat1k, N_NAIVE, sizeof(*lat1k), cmp_i64);
    double med1k_us = (double)percentile(lat1k, N_NAIVE, 0.5) / 1e3;
    free(lat1k);
    qsort(lat, N_ORDERS, sizeof(*lat), cmp_i64);
    double med_us = (double)percentile(lat, N_ORDERS, 0.5) / 1e3;
    double p99_us = (double)percentile(lat, N_ORDERS, 0.99) / 1e3;
    double max_us = (double)lat[N_ORDERS - 1] / 1e3;
    printf("fast: %d orders, %zu matched, %zu refused, %zu errors; per call median %.2f us, p99 "
           "%.2f us, max %.1f us\n",
           N_ORDERS, matched, refused, errors, med_us, p99_us, max_us);

    /* Naive: the first N_NAIVE orders. */
    int64_t *nlat = xcalloc(N_NAIVE, sizeof(*nlat));
    size_t mismatches = 0;
    for (size_t i = 0; i < N_NAIVE; i++) {
        double d;
        int64_t a = bench_mono_ns();
        const struct lpg_staff *s = naive_match(&w, &w.orders[i], &d);
        int64_t b = bench_mono_ns();
        nlat[i] = b - a;
        if (s != chosen[i]) {
            if (++mismatches <= 5)
                printf("  MISMATCH %s: fast %s, naive %s\n", w.orders[i].id,
                       chosen[i] ? chosen[i]->id : "-", s ? s->id : "-");
        }
    }
    qsort(nlat, N_NAIVE, sizeof(*nlat), cmp_i64);
    double naive_med_us = (double)percentile(nlat, N_NAIVE, 0.5) / 1e3;
    double ratio = naive_med_us / med_us;
    printf("naive (all %d staff, exact zone test each; first %d orders): median %.1f us; "
           "mismatches %zu\n",
           N_STAFF, N_NAIVE, naive_med_us, mismatches);

    /* The honest naive: per zone, box then polygon, then that zone's staff. */
    size_t bbox_mismatches = 0;
    for (size_t i = 0; i < N_NAIVE; i++) {
        double d;
        int64_t a = bench_mono_ns();
        const struct lpg_staff *s = bbox_naive_match(&w, &w.orders[i], &d);
        int64_t b = bench_mono_ns();
        nlat[i] = b - a;
        if (s != chosen[i] && ++bbox_mismatches <= 5)
            printf("  MISMATCH (bbox naive) %s: fast %s, naive %s\n", w.orders[i].id,
                   chosen[i] ? chosen[i]->id : "-", s ? s->id : "-");
    }
    qsort(nlat, N_NAIVE, sizeof(*nlat), cmp_i64);
    double bbox_med_us = (double)percentile(nlat, N_NAIVE, 0.5) / 1e3;
    double bbox_ratio = bbox_med_us / med1k_us;
    printf("bbox naive (per zone: bounding box, then the exact test, then its %d staff; first %d "
           "orders): median %.2f us, p99 %.2f us; mismatches %zu; fast on the same orders: "
           "median %.2f us\n",
           STAFF_PER_ZONE, N_NAIVE, bbox_med_us, (double)percentile(nlat, N_NAIVE, 0.99) / 1e3,
           bbox_mismatches, med1k_us);
    mismatches += bbox_mismatches;

    free(lat);
    free(nlat);
    free(chosen);
    free(w.orders);
    double t3 = now_s();
    registry_free(w.reg);
    printf("registry freed in %.0f ms\n", (now_s() - t3) * 1e3);
    printf("bench-match median_us=%.2f p99_us=%.2f naive_ratio=%.0f bbox_naive_ratio=%.1f\n",
           med_us, p99_us, ratio, bbox_ratio);
    return mismatches == 0 && errors == 0 ? 0 : 1;
}
