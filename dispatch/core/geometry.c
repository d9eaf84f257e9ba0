/* geometry.c -- the geometry an entity owns (struct lpg_geometry, model.h): finishing a shape
 * after parsing (validation, bounding box, centroid, a point guaranteed inside), the checks of
 * client input (vertex caps, a simple polygon), deep copy, and the "zone within the supply
 * area" test. Allocates only in lpg_geometry_copy and (scratch, freed before returning) in
 * lpg_geometry_finish / lpg_geometry_validate / lpg_geometry_within. The only state is the pair
 * of vertex caps, set once at startup (lpg_geometry_set_limits).
 *
 * Planar lon/lat throughout, like geo/geo_polygon.h: edges are straight in lon/lat and "on the
 * boundary" means within GEO_BOUNDARY_TOL_DEG of an edge.
 */
#include "core/model.h"

#include "geo_sphere.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Latitudes tried for the inside point after the centroid's: the middle of LPG_SCAN_LINES equal
 * bands of the bounding box, in bit-reversed order so that early tries are spread out. */
#define LPG_SCAN_LINES 64

static size_t geometry_edge_count(const struct geo_multipolygon *mp)
{
    size_t n = 0;
    for (size_t i = 0; i < mp->n_polys; i++) {
        n += mp->polys[i].outer.n;
        for (size_t h = 0; h < mp->polys[i].n_holes; h++)
            n += mp->polys[i].holes[h].n;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Abscissae where the horizontal line at `lat` crosses the ring's edges, with the half-open rule
 * of geo_polygon.c ((a.lat > lat) != (b.lat > lat)): a line through a vertex counts it once and
 * horizontal edges never, so every ring contributes an even number of crossings. */
static size_t ring_crossings(const struct geo_ring *ring, double lat, double *xs, size_t n)
{
    const struct geo_point *v = ring->pts;
    for (size_t i = 0, j = ring->n - 1; i < ring->n; j = i++) {
        struct geo_point a = v[j], b = v[i];
        if ((a.lat > lat) != (b.lat > lat))
            xs[n++] = a.lon + (lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
    }
    return n;
}

/* The midpoint of the widest interior span of the line at `lat` (spans are [x0,x1], [x2,x3], ...
 * of the sorted crossings: the even-odd rule), if that midpoint passes `accept`. `xs` has room
 * for every edge. Returns true and sets *out on success. */
static bool widest_span_mid(const struct geo_ring *const *rings, size_t n_rings, double lat,
                            double *xs, const struct geo_multipolygon *accept,
                            struct geo_point *out)
{
    size_t n = 0;
    for (size_t r = 0; r < n_rings; r++)
        n = ring_crossings(rings[r], lat, xs, n);
    if (n < 2)
        return false;
    qsort(xs, n, sizeof(*xs), cmp_double);
    double best_w = 0.0, best_x = 0.0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        double w = xs[i + 1] - xs[i];
        if (w > best_w) {
            best_w = w;
            best_x = xs[i] + w / 2.0;
        }
    }
    if (!(best_w > 0.0))
        return false;
    struct geo_point p = {best_x, lat};
    if (!geo_multipolygon_contains(accept, p))
        return false;
    *out = p;
    return true;
}

/* Bit-reversal of i over LPG_SCAN_LINES (a power of two): 0, 32, 16, 48, 8, ... */
static unsigned scan_order(unsigned i)
{
    unsigned r = 0;
    for (unsigned bit = 1; bit < LPG_SCAN_LINES; bit <<= 1, i >>= 1)
        r = (r << 1) | (i & 1u);
    return r;
}

/*
 * A point inside the region bounded by `rings` (even-odd), checked with
 * geo_multipolygon_contains(accept): first on the line through first_lat, then on the middles of
 * LPG_SCAN_LINES bands of [min_lat, max_lat]. false if no line gave one (a shape thinner than
 * 1/64 of its height everywhere along those lines, or a self-intersecting one).
 */
static bool scan_inside(const struct geo_ring *const *rings, size_t n_rings, double first_lat,
                        double min_lat, double max_lat, double *xs,
                        const struct geo_multipolygon *accept, struct geo_point *out)
{
    if (widest_span_mid(rings, n_rings, first_lat, xs, accept, out))
        return true;
    for (unsigned i = 0; i < LPG_SCAN_LINES; i++) {
        double f = (scan_order(i) + 0.5) / LPG_SCAN_LINES;
        if (widest_span_mid(rings, n_rings, min_lat + f * (max_lat - min_lat), xs, accept, out))
            return true;
    }
    return false;
}

/*
 * The inside point: the midpoint of the widest interior span of the horizontal line through the
 * centroid's latitude (for a convex or mildly concave zone that is near the centroid, and far from
 * the boundary along that line); if that line gives nothing inside (a sliver, or a multipolygon
 * whose parts overlap so that even-odd disagrees with the union), the same on 64 other latitudes
 * of the box; as the last resort the first vertex of the first outer ring, which is inside by the
 * boundary rule (a closed set). So `inside` always satisfies geo_multipolygon_contains.
 */
enum geo_status lpg_geometry_finish(struct lpg_geometry *g)
{
    if (g == NULL)
        return GEO_ERR_NULL;
    const struct geo_multipolygon *mp = &g->mp;
    enum geo_status st = geo_multipolygon_check(mp);
    if (st != GEO_OK)
        return st;
    struct geo_bbox bbox;
    struct geo_point centroid;
    st = geo_multipolygon_bbox(mp, &bbox);
    if (st == GEO_OK)
        st = geo_multipolygon_area_centroid(mp, NULL, &centroid);
    if (st != GEO_OK)
        return st;

    size_t n_edges = geometry_edge_count(mp), n_rings = 0;
    for (size_t i = 0; i < mp->n_polys; i++)
        n_rings += 1 + mp->polys[i].n_holes;
    double *xs = malloc(n_edges * sizeof(*xs));
    const struct geo_ring **rings = malloc(n_rings * sizeof(*rings));
    if (xs == NULL || rings == NULL) {
        free(xs);
        free(rings);
        return GEO_ERR_NOMEM;
    }
    size_t r = 0;
    for (size_t i = 0; i < mp->n_polys; i++) {
        rings[r++] = &mp->polys[i].outer;
        for (size_t h = 0; h < mp->polys[i].n_holes; h++)
            rings[r++] = &mp->polys[i].holes[h];
    }
    struct geo_point inside;
    if (!scan_inside(rings, n_rings, centroid.lat, bbox.min_lat, bbox.max_lat, xs, mp, &inside))
        inside = mp->polys[0].outer.pts[0];
    free(xs);
    free(rings);
    g->bbox = bbox;
    g->centroid = centroid;
    g->inside = inside;
    return GEO_OK;
}

/* Copies into one canonical layout: pts[] holds every ring's vertices in order; rings[] holds,
 * per polygon, its outer ring then its holes; polys[i].outer is a copy of its rings[] entry and
 * polys[i].holes points just after it. Reads src only through src->mp, so any source layout
 * (even caller arrays that are not src's own) is accepted. */
int lpg_geometry_copy(struct lpg_geometry *dst, const struct lpg_geometry *src)
{
    memset(dst, 0, sizeof(*dst));
    const struct geo_multipolygon *mp = &src->mp;
    if (mp->n_polys == 0 || mp->polys == NULL)
        return 0; /* an empty geometry copies to an empty one */
    size_t n_pts = geometry_edge_count(mp), n_rings = 0;
    for (size_t i = 0; i < mp->n_polys; i++)
        n_rings += 1 + mp->polys[i].n_holes;
    struct geo_polygon *polys = calloc(mp->n_polys, sizeof(*polys));
    struct geo_ring *rings = calloc(n_rings, sizeof(*rings));
    struct geo_point *pts = calloc(n_pts ? n_pts : 1, sizeof(*pts));
    if (polys == NULL || rings == NULL || pts == NULL) {
        free(polys);
        free(rings);
        free(pts);
        return -1;
    }
    size_t r = 0, p = 0;
    for (size_t i = 0; i < mp->n_polys; i++) {
        const struct geo_polygon *sp = &mp->polys[i];
        size_t first = r;
        for (size_t h = 0; h <= sp->n_holes; h++) {
            const struct geo_ring *sr = h == 0 ? &sp->outer : &sp->holes[h - 1];
            if (sr->n > 0)
                memcpy(&pts[p], sr->pts, sr->n * sizeof(*pts));
            rings[r++] = (struct geo_ring){&pts[p], sr->n};
            p += sr->n;
        }
        polys[i].outer = rings[first];
        polys[i].holes = sp->n_holes ? &rings[first + 1] : NULL;
        polys[i].n_holes = sp->n_holes;
    }
    dst->polys = polys;
    dst->rings = rings;
    dst->pts = pts;
    dst->mp = (struct geo_multipolygon){polys, mp->n_polys};
    dst->bbox = src->bbox;
    dst->centroid = src->centroid;
    dst->inside = src->inside;
    return 0;
}

/* ---- within ---- */

/* Signed distance-like orientation of c relative to the line a->b, normalised to degrees of
 * distance from the line: > 0 left, < 0 right; |value| <= tolerance counts as on the line. */
static double side_deg(struct geo_point a, struct geo_point b, struct geo_point c)
{
    double dx = b.lon - a.lon, dy = b.lat - a.lat;
    double len = sqrt(dx * dx + dy * dy);
    double cross = dx * (c.lat - a.lat) - dy * (c.lon - a.lon);
    return len > 0.0 ? cross / len : 0.0;
}

/* A proper crossing: each segment's endpoints lie strictly (beyond the boundary tolerance) on
 * opposite sides of the other's line. Touching, an endpoint on the other segment, and collinear
 * overlap are not proper crossings. */
static bool proper_cross(struct geo_point a, struct geo_point b, struct geo_point c,
                         struct geo_point d)
{
    const double tol = GEO_BOUNDARY_TOL_DEG;
    if (fmax(a.lon, b.lon) < fmin(c.lon, d.lon) || fmax(c.lon, d.lon) < fmin(a.lon, b.lon) ||
        fmax(a.lat, b.lat) < fmin(c.lat, d.lat) || fmax(c.lat, d.lat) < fmin(a.lat, b.lat))
        return false;
    double s1 = side_deg(a, b, c), s2 = side_deg(a, b, d);
    double s3 = side_deg(c, d, a), s4 = side_deg(c, d, b);
    return ((s1 > tol && s2 < -tol) || (s1 < -tol && s2 > tol)) &&
           ((s3 > tol && s4 < -tol) || (s3 < -tol && s4 > tol));
}

/* Parameter t in (0, 1) of the projection of c on a->b when c lies within the tolerance of the
 * segment's interior; -1 otherwise. */
static double touch_param(struct geo_point a, struct geo_point b, struct geo_point c)
{
    double dx = b.lon - a.lon, dy = b.lat - a.lat;
    double len2 = dx * dx + dy * dy;
    if (len2 <= 0.0)
        return -1.0;
    double t = ((c.lon - a.lon) * dx + (c.lat - a.lat) * dy) / len2;
    if (!(t > 0.0 && t < 1.0))
        return -1.0;
    double ex = a.lon + t * dx - c.lon, ey = a.lat + t * dy - c.lat;
    return ex * ex + ey * ey <= GEO_BOUNDARY_TOL_DEG * GEO_BOUNDARY_TOL_DEG ? t : -1.0;
}

struct ring_list {
    const struct geo_ring **rings;
    size_t n;
};

/* Whether segment a-b of inner lies in outer: no proper crossing with any edge of outer, and the
 * midpoint of every piece between the outer vertices that touch it is in outer. Between two
 * consecutive touch points a piece meets outer's boundary nowhere or all along (collinear), so
 * its midpoint decides for the whole piece. ts has room for every outer vertex + 2. */
static bool segment_within(struct geo_point a, struct geo_point b, const struct ring_list *ol,
                           const struct geo_multipolygon *outer, double *ts)
{
    size_t nt = 0;
    ts[nt++] = 0.0;
    ts[nt++] = 1.0;
    for (size_t r = 0; r < ol->n; r++) {
        const struct geo_ring *ring = ol->rings[r];
        for (size_t i = 0, j = ring->n - 1; i < ring->n; j = i++) {
            if (proper_cross(a, b, ring->pts[j], ring->pts[i]))
                return false;
            double t = touch_param(a, b, ring->pts[i]);
            if (t > 0.0)
                ts[nt++] = t;
        }
    }
    qsort(ts, nt, sizeof(*ts), cmp_double);
    for (size_t k = 0; k + 1 < nt; k++) {
        if (ts[k + 1] - ts[k] <= 0.0)
            continue;
        double m = (ts[k] + ts[k + 1]) / 2.0;
        struct geo_point p = {a.lon + m * (b.lon - a.lon), a.lat + m * (b.lat - a.lat)};
        if (!geo_multipolygon_contains(outer, p))
            return false;
    }
    return true;
}

/*
 * inner within outer, both closed sets (boundary included), in planar lon/lat:
 *   1. every vertex of inner (outer rings and holes) is in outer;
 *   2. no edge of inner properly crosses an edge of outer (beyond GEO_BOUNDARY_TOL_DEG), and each
 *      piece of an inner edge between the outer vertices lying on it has its midpoint in outer,
 *      so inner's boundary is in outer: this catches an edge that leaves a concave outer and comes
 *      back through its vertices or between two boundary points (a bridge across a notch);
 *   3. no hole of outer lies inside inner: a point strictly inside each outer hole (found like
 *      lpg_geometry_finish's inside point) must not be in inner, unless another part of outer
 *      fills that hole (an island in a lake).
 * Edge cases: shared edges, shared vertices and inner touching outer's boundary from inside are
 * within (inner == outer is within); a hole of inner that exactly covers a hole of outer is
 * within; touching from outside at one point is not (some vertex or midpoint is out). A bounded
 * gap enclosed by several parts of outer without being a hole of any part is not detected.
 * Empty or invalid geometry: false. Cost O(edges(inner) x vertices(outer)): 19.7 s for a
 * 50,000-vertex zone in a 50,000-vertex area, which is why the service now uses
 * lpg_geometry_within; this stays as the reference its tests and bench compare with.
 */
bool lpg_geometry_within_brute(const struct lpg_geometry *inner, const struct lpg_geometry *outer)
{
    if (inner == NULL || outer == NULL)
        return false;
    const struct geo_multipolygon *im = &inner->mp, *om = &outer->mp;
    if (geo_multipolygon_check(im) != GEO_OK || geo_multipolygon_check(om) != GEO_OK)
        return false;
    struct geo_bbox ib, ob;
    if (geo_multipolygon_bbox(im, &ib) != GEO_OK || geo_multipolygon_bbox(om, &ob) != GEO_OK)
        return false;
    const double pad = 2 * GEO_BOUNDARY_TOL_DEG;
    if (ib.min_lon < ob.min_lon - pad || ib.max_lon > ob.max_lon + pad ||
        ib.min_lat < ob.min_lat - pad || ib.max_lat > ob.max_lat + pad)
        return false;

    size_t n_rings = 0, n_out_pts = geometry_edge_count(om);
    for (size_t i = 0; i < om->n_polys; i++)
        n_rings += 1 + om->polys[i].n_holes;
    const struct geo_ring **rings = malloc(n_rings * sizeof(*rings));
    double *ts = malloc((n_out_pts + 2) * sizeof(*ts));
    bool ok = rings != NULL && ts != NULL;
    struct ring_list ol = {rings, 0};
    for (size_t i = 0; ok && i < om->n_polys; i++) {
        rings[ol.n++] = &om->polys[i].outer;
        for (size_t h = 0; h < om->polys[i].n_holes; h++)
            rings[ol.n++] = &om->polys[i].holes[h];
    }
    /* 1 and 2: inner's boundary, ring by ring. */
    for (size_t i = 0; ok && i < im->n_polys; i++) {
        const struct geo_polygon *ip = &im->polys[i];
        for (size_t h = 0; ok && h <= ip->n_holes; h++) {
            const struct geo_ring *ring = h == 0 ? &ip->outer : &ip->holes[h - 1];
            for (size_t k = 0; ok && k < ring->n; k++)
                ok = geo_multipolygon_contains(om, ring->pts[k]);
            for (size_t k = 0, j = ring->n - 1; ok && k < ring->n; j = k++)
                ok = segment_within(ring->pts[j], ring->pts[k], &ol, om, ts);
        }
    }
    /* 3: outer's holes must stay outside inner. ts doubles as the crossings buffer (a ring has
     * fewer edges than outer has vertices + 2). */
    for (size_t i = 0; ok && i < om->n_polys; i++) {
        const struct geo_polygon *op = &om->polys[i];
        for (size_t h = 0; ok && h < op->n_holes; h++) {
            const struct geo_ring *hole = &op->holes[h];
            struct geo_bbox hb;
            struct geo_point p;
            struct geo_polygon hp = {*hole, NULL, 0};
            struct geo_multipolygon hm = {&hp, 1};
            if (geo_bbox_from_points(hole->pts, hole->n, &hb) != GEO_OK ||
                !scan_inside(&hole, 1, (hb.min_lat + hb.max_lat) / 2, hb.min_lat, hb.max_lat, ts,
                             &hm, &p))
                continue; /* a degenerate hole removes nothing */
            if (!geo_multipolygon_contains(om, p) && geo_multipolygon_contains(im, p))
                ok = false;
        }
    }
    free(rings);
    free(ts);
    return ok;
}

/* ---- the checks of client input, and within by a sweep ---- */

static size_t g_ring_vertices_max = LPG_GEOMETRY_RING_VERTICES_DEFAULT;
static size_t g_vertices_max = LPG_GEOMETRY_VERTICES_DEFAULT;

void lpg_geometry_set_limits(size_t ring_vertices_max, size_t vertices_max)
{
    g_ring_vertices_max = ring_vertices_max;
    g_vertices_max = vertices_max;
}

/* Writes "[p][r][v]" (MultiPolygon) or "[r][v]" (Polygon): the GeoJSON coordinates index. */
static void vertex_path(char *buf, size_t len, bool multi, struct geo_vertex_ref v)
{
    if (multi)
        snprintf(buf, len, "[%zu][%zu][%zu]", v.poly, v.ring, v.vertex);
    else
        snprintf(buf, len, "[%zu][%zu]", v.ring, v.vertex);
}

/* "ring 1 (hole 1) vertex 3" or "polygon 2 ring 0 (outer ring) vertex 3". */
static void vertex_words(char *buf, size_t len, bool multi, struct geo_vertex_ref v)
{
    char ring[32];
    if (v.ring == 0)
        snprintf(ring, sizeof(ring), "outer ring");
    else
        snprintf(ring, sizeof(ring), "hole %zu", v.ring);
    if (multi)
        snprintf(buf, len, "polygon %zu ring %zu (%s) vertex %zu", v.poly, v.ring, ring, v.vertex);
    else
        snprintf(buf, len, "ring %zu (%s) vertex %zu", v.ring, ring, v.vertex);
}

int lpg_geometry_validate(const struct lpg_geometry *g, bool multi, char *msg, size_t msg_len,
                          char *where, size_t where_len)
{
    const struct geo_multipolygon *mp = &g->mp;
    where[0] = '\0';
    enum geo_status st = geo_multipolygon_check(mp);
    if (st != GEO_OK)
        return 0; /* malformed (range, too few points, antimeridian): lpg_geometry_finish says */
    /* Caps first: they bound the work of everything after (closing vertices not counted). */
    size_t total = 0;
    for (size_t i = 0; i < mp->n_polys; i++)
        for (size_t h = 0; h <= mp->polys[i].n_holes; h++) {
            const struct geo_ring *r = h == 0 ? &mp->polys[i].outer : &mp->polys[i].holes[h - 1];
            size_t n = r->n;
            if (n >= 2 && r->pts[0].lon == r->pts[n - 1].lon && r->pts[0].lat == r->pts[n - 1].lat)
                n--;
            total += n;
            if (n > g_ring_vertices_max) {
                struct geo_vertex_ref v = {i, h, g_ring_vertices_max};
                vertex_path(where, where_len, multi, v);
                snprintf(msg, msg_len,
                         "too many vertices: a ring has %zu, at most %zu are accepted "
                         "(geometry_ring_vertices_max); simplify it",
                         n, g_ring_vertices_max);
                return -1;
            }
            if (total > g_vertices_max) {
                struct geo_vertex_ref v = {i, h, 0};
                vertex_path(where, where_len, multi, v);
                snprintf(msg, msg_len,
                         "too many vertices: more than %zu in one shape "
                         "(geometry_vertices_max); simplify it",
                         g_vertices_max);
                return -1;
            }
        }
    struct geo_simple_issue is;
    st = geo_multipolygon_simple(mp, &is);
    if (st == GEO_OK)
        return 0;
    if (st != GEO_ERR_NOT_SIMPLE) {
        snprintf(msg, msg_len, "invalid geometry: %s", geo_status_str(st));
        return st == GEO_ERR_NOMEM ? -2 : -1;
    }
    char at[96], other[96];
    vertex_words(at, sizeof(at), multi, is.at);
    vertex_words(other, sizeof(other), multi, is.other);
    vertex_path(where, where_len, multi, is.at);
    switch (is.problem) {
    case GEO_SIMPLE_REPEATED_VERTEX:
        snprintf(msg, msg_len, "not a simple polygon: %s repeats %s (only the closing vertex may)",
                 other, at);
        break;
    case GEO_SIMPLE_SPIKE:
        snprintf(msg, msg_len, "not a simple polygon: the ring folds back on itself at %s", at);
        break;
    case GEO_SIMPLE_SELF_INTERSECTION:
    case GEO_SIMPLE_RINGS_INTERSECT:
    case GEO_SIMPLE_PARTS_INTERSECT:
        snprintf(msg, msg_len,
                 "not a simple polygon: the edge from %s crosses or touches the edge from %s (%s)",
                 at, other, geo_simple_problem_str(is.problem));
        break;
    case GEO_SIMPLE_HOLE_OUTSIDE:
        if (is.other.ring == GEO_SIMPLE_NONE)
            snprintf(msg, msg_len, "not a simple polygon: the hole at %s lies outside its shell",
                     at);
        else
            snprintf(msg, msg_len,
                     "not a simple polygon: the hole at %s is not inside its shell (it lies in "
                     "polygon %zu ring %zu)",
                     at, is.other.poly, is.other.ring);
        break;
    case GEO_SIMPLE_PARTS_OVERLAP:
        snprintf(msg, msg_len,
                 "not a simple polygon: the part at %s lies inside polygon %zu (parts must be "
                 "disjoint)",
                 at, is.other.poly);
        break;
    default:
        snprintf(msg, msg_len, "not a simple polygon: %s at %s", geo_simple_problem_str(is.problem),
                 at);
        break;
    }
    return -1;
}

/*
 * inner within outer, both closed sets, on vertices rounded to 1e-9 degree: the bounding boxes
 * first (most refusals end there), then one sweep over both shapes' edges
 * (geo_multipolygon_within: O((n + m) log(n + m)), where lpg_geometry_within_brute is O(n m)).
 * It needs both shapes simple, which every shape accepted since simplicity is enforced is; an
 * older stored shape that is not gets an unspecified (but prompt) answer.
 */
bool lpg_geometry_within(const struct lpg_geometry *inner, const struct lpg_geometry *outer)
{
    if (inner == NULL || outer == NULL)
        return false;
    struct geo_bbox ib, ob;
    if (geo_multipolygon_bbox(&inner->mp, &ib) != GEO_OK ||
        geo_multipolygon_bbox(&outer->mp, &ob) != GEO_OK)
        return false;
    const double pad = 2 * GEO_BOUNDARY_TOL_DEG; /* as the brute force: rounding */
    if (ib.min_lon < ob.min_lon - pad || ib.max_lon > ob.max_lon + pad ||
        ib.min_lat < ob.min_lat - pad || ib.max_lat > ob.max_lat + pad)
        return false;
    bool within = false;
    if (geo_multipolygon_within(&inner->mp, &outer->mp, &within) != GEO_OK)
        return false;
    return within;
}

bool lpg_station_contains(const struct lpg_station *st, struct geo_point p)
{
    if (st->shape.mp.n_polys > 0)
        return geo_multipolygon_contains(&st->shape.mp, p);
    return st->has_center && st->radius_m > 0 && geo_distance_m(p, st->center) <= st->radius_m;
}
