/*
 * geo_polygon.c - polygons with holes and multipolygons in planar lon/lat: validation, the
 * even-odd point-in-polygon test with the closed-set boundary rule of geo_polygon.h (boundary
 * within GEO_BOUNDARY_TOL_DEG counts as inside), bounding boxes, exact spherical area of the
 * region bounded by lon/lat-straight edges, and the shoelace centroid in a local equirectangular
 * projection.
 */
#include "geo_polygon.h"

#include <math.h>

#define PI         3.14159265358979323846 /* M_PI is not in strict C11 + POSIX */
#define DEG_TO_RAD (PI / 180.0)           /* radians per degree */

/* Below this area (square metres, i.e. one square millimetre) a polygon has no centroid. */
#define MIN_AREA_M2 1e-6

/* Where a point lies relative to one ring. */
enum ring_side {
    RING_OUTSIDE,
    RING_BOUNDARY, /* within GEO_BOUNDARY_TOL_DEG of an edge or vertex */
    RING_INSIDE,
};

/* Vertices of the ring without the closing duplicate, if any. */
static size_t ring_open_len(const struct geo_ring *ring)
{
    size_t n = ring->n;
    if (n >= 2 && ring->pts[n - 1].lon == ring->pts[0].lon &&
        ring->pts[n - 1].lat == ring->pts[0].lat)
        n--;
    return n;
}

static enum geo_status ring_check(const struct geo_ring *ring)
{
    if (ring->n == 0)
        return GEO_ERR_EMPTY;
    if (ring->pts == NULL)
        return GEO_ERR_NULL;
    double min_lon = 180.0, max_lon = -180.0;
    for (size_t i = 0; i < ring->n; i++) {
        if (geo_point_check(ring->pts[i]) != GEO_OK)
            return GEO_ERR_RANGE;
        min_lon = fmin(min_lon, ring->pts[i].lon);
        max_lon = fmax(max_lon, ring->pts[i].lon);
    }
    if (ring_open_len(ring) < 3)
        return GEO_ERR_TOO_FEW_POINTS;
    if (max_lon - min_lon > 180.0)
        return GEO_ERR_ANTIMERIDIAN;
    return GEO_OK;
}

enum geo_status geo_polygon_check(const struct geo_polygon *poly)
{
    if (poly == NULL)
        return GEO_ERR_NULL;
    enum geo_status st = ring_check(&poly->outer);
    if (st != GEO_OK)
        return st;
    if (poly->n_holes > 0 && poly->holes == NULL)
        return GEO_ERR_NULL;
    for (size_t h = 0; h < poly->n_holes; h++) {
        st = ring_check(&poly->holes[h]);
        if (st != GEO_OK)
            return st;
    }
    return GEO_OK;
}

enum geo_status geo_multipolygon_check(const struct geo_multipolygon *mpoly)
{
    if (mpoly == NULL)
        return GEO_ERR_NULL;
    if (mpoly->n_polys == 0)
        return GEO_ERR_EMPTY;
    if (mpoly->polys == NULL)
        return GEO_ERR_NULL;
    for (size_t i = 0; i < mpoly->n_polys; i++) {
        enum geo_status st = geo_polygon_check(&mpoly->polys[i]);
        if (st != GEO_OK)
            return st;
    }
    return GEO_OK;
}

/* True if p is within GEO_BOUNDARY_TOL_DEG of segment a-b, distances in planar lon/lat degrees. */
static bool near_segment(struct geo_point p, struct geo_point a, struct geo_point b)
{
    const double tol = GEO_BOUNDARY_TOL_DEG;
    /* Cheap rejection first: most edges are nowhere near p. (Plain compares, not fmin/fmax: the
     * coordinates are validated, and libm calls in this loop cost more than the test.) */
    double lo_lon = a.lon < b.lon ? a.lon : b.lon, hi_lon = a.lon < b.lon ? b.lon : a.lon;
    double lo_lat = a.lat < b.lat ? a.lat : b.lat, hi_lat = a.lat < b.lat ? b.lat : a.lat;
    if ((p.lon < lo_lon - tol) | (p.lon > hi_lon + tol) | (p.lat < lo_lat - tol) |
        (p.lat > hi_lat + tol))
        return false;
    double dx = b.lon - a.lon, dy = b.lat - a.lat;
    double len2 = dx * dx + dy * dy;
    double t = 0.0;
    if (len2 > 0.0) {
        t = ((p.lon - a.lon) * dx + (p.lat - a.lat) * dy) / len2;
        t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
    }
    double ex = a.lon + t * dx - p.lon, ey = a.lat + t * dy - p.lat;
    return ex * ex + ey * ey <= tol * tol;
}

/*
 * Even-odd rule: count crossings of the ray from p towards +lon. An edge counts when its end
 * latitudes straddle p.lat half-open ((a.lat > p.lat) != (b.lat > p.lat)), so a ray through a
 * vertex is counted exactly once and horizontal edges never. Points within the tolerance of an
 * edge return RING_BOUNDARY before the parity matters; every other point is at least 1e-9 degree
 * from every edge, far beyond the ~1e-14 degree rounding of the crossing abscissa, so its parity
 * is exact.
 */
static enum ring_side ring_classify(const struct geo_ring *ring, struct geo_point p)
{
    const struct geo_point *v = ring->pts;
    size_t n = ring->n;
    bool inside = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        struct geo_point a = v[j], b = v[i];
        if (near_segment(p, a, b))
            return RING_BOUNDARY;
        if ((a.lat > p.lat) != (b.lat > p.lat)) {
            double x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
            if (p.lon < x)
                inside = !inside;
        }
    }
    return inside ? RING_INSIDE : RING_OUTSIDE;
}

bool geo_polygon_contains(const struct geo_polygon *poly, struct geo_point p)
{
    if (geo_point_check(p) != GEO_OK)
        return false;
    switch (ring_classify(&poly->outer, p)) {
    case RING_OUTSIDE:
        return false;
    case RING_BOUNDARY:
        return true;
    case RING_INSIDE:
        break;
    }
    /* Strictly inside the outer ring: out only if strictly inside a hole (its edge is ours). */
    for (size_t h = 0; h < poly->n_holes; h++)
        if (ring_classify(&poly->holes[h], p) == RING_INSIDE)
            return false;
    return true;
}

bool geo_multipolygon_contains(const struct geo_multipolygon *mpoly, struct geo_point p)
{
    for (size_t i = 0; i < mpoly->n_polys; i++)
        if (geo_polygon_contains(&mpoly->polys[i], p))
            return true;
    return false;
}

enum geo_status geo_polygon_bbox(const struct geo_polygon *poly, struct geo_bbox *out)
{
    if (out == NULL)
        return GEO_ERR_NULL;
    enum geo_status st = geo_polygon_check(poly);
    if (st != GEO_OK)
        return st;
    return geo_bbox_from_points(poly->outer.pts, poly->outer.n, out);
}

enum geo_status geo_multipolygon_bbox(const struct geo_multipolygon *mpoly, struct geo_bbox *out)
{
    if (out == NULL)
        return GEO_ERR_NULL;
    enum geo_status st = geo_multipolygon_check(mpoly);
    if (st != GEO_OK)
        return st;
    struct geo_bbox total;
    for (size_t i = 0; i < mpoly->n_polys; i++) {
        struct geo_bbox box;
        st = geo_polygon_bbox(&mpoly->polys[i], &box);
        if (st != GEO_OK)
            return st;
        total = i == 0 ? box : geo_bbox_union(&total, &box);
    }
    *out = total;
    return GEO_OK;
}

/*
 * Area of one ring on the sphere, in units of R^2 (steradians), for edges that are straight in
 * lon/lat (exactly the region geo_polygon_contains tests). Green's theorem turns
 * area = R^2 * integral of cos(lat) dlat dlon into R^2 * |sum over edges of the integral of
 * sin(lat) dlon|, and along an edge where lat is linear in lon that integral is
 * dlon * sin(lat_mid) * sinc(dlat / 2). Subtracting the constant sin(lat0) (its loop integral is
 * 0) keeps the terms small, so there is no cancellation for city-sized rings.
 */
static double ring_area_sr(const struct geo_ring *ring, double lat0_rad)
{
    const struct geo_point *v = ring->pts;
    size_t n = ring->n;
    double sum = 0.0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double dlon = (v[i].lon - v[j].lon) * DEG_TO_RAD;
        double lat_mid = (v[i].lat + v[j].lat) / 2.0 * DEG_TO_RAD;
        double h = (v[i].lat - v[j].lat) / 2.0 * DEG_TO_RAD;
        /* sinc(h) - 1, by its series where the direct form would lose digits. */
        double sinc_m1 = fabs(h) < 1e-4 ? -h * h / 6.0 * (1.0 - h * h / 20.0) : sin(h) / h - 1.0;
        double sin_diff = 2.0 * cos((lat_mid + lat0_rad) / 2.0) * sin((lat_mid - lat0_rad) / 2.0);
        sum += dlon * (sin_diff + sin(lat_mid) * sinc_m1);
    }
    return fabs(sum);
}

static double polygon_area_sr(const struct geo_polygon *poly, double lat0_rad)
{
    double a = ring_area_sr(&poly->outer, lat0_rad);
    for (size_t h = 0; h < poly->n_holes; h++)
        a -= ring_area_sr(&poly->holes[h], lat0_rad);
    return a;
}

/*
 * Planar first moments in the equirectangular projection about (lon0, lat0):
 * x = (lon - lon0) cos(lat0), y = lat - lat0, both in degrees. Used for the centroid only.
 */
struct moments {
    double area; /* square degrees (projected) */
    double mx;   /* integral of x over the area */
    double my;   /* integral of y over the area */
};

/* Shoelace moments of one ring, made positive whatever the ring's orientation. */
static struct moments ring_moments(const struct geo_ring *ring, double lon0, double lat0,
                                   double coslat0)
{
    struct moments m = {0.0, 0.0, 0.0};
    const struct geo_point *v = ring->pts;
    size_t n = ring->n;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double xj = (v[j].lon - lon0) * coslat0, yj = v[j].lat - lat0;
        double xi = (v[i].lon - lon0) * coslat0, yi = v[i].lat - lat0;
        double cross = xj * yi - xi * yj;
        m.area += cross;
        m.mx += (xj + xi) * cross;
        m.my += (yj + yi) * cross;
    }
    double sign = m.area < 0.0 ? -1.0 : 1.0;
    m.area *= sign / 2.0;
    m.mx *= sign / 6.0;
    m.my *= sign / 6.0;
    return m;
}

static struct moments polygon_moments(const struct geo_polygon *poly, double lon0, double lat0,
                                      double coslat0)
{
    struct moments m = ring_moments(&poly->outer, lon0, lat0, coslat0);
    for (size_t h = 0; h < poly->n_holes; h++) {
        struct moments hm = ring_moments(&poly->holes[h], lon0, lat0, coslat0);
        m.area -= hm.area;
        m.mx -= hm.mx;
        m.my -= hm.my;
    }
    return m;
}

/* Turn the spherical area and planar moments into outputs. lon0/lat0: projection centre. */
static enum geo_status area_centroid_finish(double area_sr, struct moments m, double lon0,
                                            double lat0, double coslat0, double *area_m2,
                                            struct geo_point *centroid)
{
    double a_m2 = area_sr * GEO_EARTH_RADIUS_M * GEO_EARTH_RADIUS_M;
    if (!(a_m2 >= MIN_AREA_M2) || !(m.area > 0.0) || !(coslat0 > 0.0))
        return GEO_ERR_DEGENERATE;
    if (area_m2 != NULL)
        *area_m2 = a_m2;
    if (centroid != NULL) {
        centroid->lon = lon0 + m.mx / m.area / coslat0;
        centroid->lat = lat0 + m.my / m.area;
    }
    return GEO_OK;
}

enum geo_status geo_polygon_area_centroid(const struct geo_polygon *poly, double *area_m2,
                                          struct geo_point *centroid)
{
    struct geo_multipolygon one = {poly, 1};
    return geo_multipolygon_area_centroid(&one, area_m2, centroid);
}

enum geo_status geo_multipolygon_area_centroid(const struct geo_multipolygon *mpoly,
                                               double *area_m2, struct geo_point *centroid)
{
    struct geo_bbox box;
    enum geo_status st = geo_multipolygon_bbox(mpoly, &box);
    if (st != GEO_OK)
        return st;
    /* One projection for all parts, so their moments add up. */
    double lon0 = (box.min_lon + box.max_lon) / 2.0, lat0 = (box.min_lat + box.max_lat) / 2.0;
    double coslat0 = cos(lat0 * DEG_TO_RAD);
    double area_sr = 0.0;
    struct moments total = {0.0, 0.0, 0.0};
    for (size_t i = 0; i < mpoly->n_polys; i++) {
        area_sr += polygon_area_sr(&mpoly->polys[i], lat0 * DEG_TO_RAD);
        struct moments m = polygon_moments(&mpoly->polys[i], lon0, lat0, coslat0);
        total.area += m.area;
        total.mx += m.mx;
        total.my += m.my;
    }
    return area_centroid_finish(area_sr, total, lon0, lat0, coslat0, area_m2, centroid);
}
