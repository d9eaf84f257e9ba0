/*
 * geo_polygon.h - polygons with holes and multipolygons in planar lon/lat: validation,
 * point-in-polygon with a defined boundary rule, bounding box, area and centroid.
 *
 * Representation: the caller owns every array; these structs only point into them, and the
 * library never keeps the pointers beyond a call (the zone index copies, see geo_zone_index.h).
 *
 * Rings: vertices in lon/lat degrees, either orientation (clockwise or not is irrelevant), given
 * OPEN or CLOSED, both accepted: if the last vertex equals the first exactly, it is taken as the
 * closing vertex; otherwise the closing edge last -> first is implied. A ring needs >= 3
 * vertices not counting the closing one. Edges are straight lines in lon/lat (plate carree), not
 * great circles: for zone edges of a few km the difference is centimetres to a metre (README).
 * Self-intersecting rings are not rejected; the even-odd rule still gives a defined answer.
 * Holes are expected to lie inside the outer ring; this is not checked (a hole outside the outer
 * ring removes nothing). A polygon may not span more than 180 degrees of longitude
 * (GEO_ERR_ANTIMERIDIAN).
 *
 * BOUNDARY RULE (point-in-polygon): the polygon is a CLOSED set.
 *   - a point on the outer ring's boundary (edge or vertex) is inside;
 *   - a point strictly inside a hole is outside, but a point on a hole's boundary is inside
 *     (the hole's boundary belongs to the polygon);
 *   - "on the boundary" means within GEO_BOUNDARY_TOL_DEG (1e-9 degree, <= 0.11 mm) of an edge,
 *     measured in planar lon/lat degrees.
 * Consequence for delivery zones: a customer exactly on the border of two adjacent zones (that
 * share the border's vertices) is inside BOTH; the zone index returns both ids and the dispatch
 * layer picks one (e.g. by priority or lowest id). Thanks to the tolerance there is no gap
 * between such zones, whatever the rounding. Elsewhere the even-odd (crossing number) rule
 * decides, with the half-open rule for rays through vertices.
 */
#ifndef GEO_POLYGON_H
#define GEO_POLYGON_H

#include <stdbool.h>
#include <stddef.h>

#include "geo_bbox.h"
#include "geo_core.h"

/* A ring: n vertices pts[0..n-1], lon/lat degrees, open or closed (see above). Caller-owned. */
struct geo_ring {
    const struct geo_point *pts; /* vertices, lon/lat degrees */
    size_t n;                    /* number of entries in pts, a closing duplicate included */
};

/* A polygon: one outer ring and n_holes hole rings holes[0..n_holes-1]. Caller-owned. */
struct geo_polygon {
    struct geo_ring outer;
    const struct geo_ring *holes; /* may be NULL when n_holes == 0 */
    size_t n_holes;
};

/* A multipolygon: the union of n_polys polygons polys[0..n_polys-1] (n_polys >= 1). */
struct geo_multipolygon {
    const struct geo_polygon *polys;
    size_t n_polys;
};

/*
 * Validate a polygon: GEO_ERR_NULL (NULL poly, or NULL pts/holes with a nonzero count),
 * GEO_ERR_EMPTY (a ring with n == 0), GEO_ERR_TOO_FEW_POINTS (< 3 vertices), GEO_ERR_RANGE (a NaN
 * or out-of-range vertex), GEO_ERR_ANTIMERIDIAN (outer ring spans > 180 degrees of lon).
 */
enum geo_status geo_polygon_check(const struct geo_polygon *poly);

/* Validate every part; GEO_ERR_EMPTY if n_polys == 0. */
enum geo_status geo_multipolygon_check(const struct geo_multipolygon *mpoly);

/*
 * Point-in-polygon under the BOUNDARY RULE above. Precondition: geo_polygon_check(poly) ==
 * GEO_OK. False for a NaN point. O(total vertices), no allocation.
 */
bool geo_polygon_contains(const struct geo_polygon *poly, struct geo_point p);

/* True if any part contains p. Precondition: geo_multipolygon_check(mpoly) == GEO_OK. */
bool geo_multipolygon_contains(const struct geo_multipolygon *mpoly, struct geo_point p);

/*
 * Bounding box of the outer ring's vertices (holes lie inside it). Validates like
 * geo_polygon_check. NOTE: because of the boundary tolerance, geo_polygon_contains accepts points
 * up to GEO_BOUNDARY_TOL_DEG outside this box; a box prefilter must widen it by that (or twice
 * that, to absorb rounding, as the zone index does).
 */
enum geo_status geo_polygon_bbox(const struct geo_polygon *poly, struct geo_bbox *out);

/* Union of the parts' boxes. Validates like geo_multipolygon_check. */
enum geo_status geo_multipolygon_bbox(const struct geo_multipolygon *mpoly, struct geo_bbox *out);

/*
 * Area (square metres, holes subtracted) and centroid of a polygon.
 * Area: exact on the sphere for the region this library means by the polygon (edges straight in
 * lon/lat), by Green's theorem edge by edge (no projection error; only the sphere's ~0.5%).
 * Centroid: the shoelace centre of mass in a local equirectangular projection centred on the
 * bounding box (x = cos(lat0) dlon, y = dlat), mapped back to lon/lat. It ignores that cos(lat)
 * shrinks poleward, which moves it from the spherical centroid by about H^2 tan(lat) / (12 R)
 * for a zone H metres tall: 1.5 m for 10 km at 49N, 0.14 m for 3 km. For a concave polygon it can
 * lie outside the polygon (a C-shaped zone): check with geo_polygon_contains before using it as a
 * position. Either out-pointer may be NULL.
 * Errors: those of geo_polygon_check, GEO_ERR_DEGENERATE if the area is below 1e-6 m^2.
 */
enum geo_status geo_polygon_area_centroid(const struct geo_polygon *poly, double *area_m2,
                                          struct geo_point *centroid);

/*
 * Same for a multipolygon, in one projection centred on the union of the parts' boxes: total area
 * and area-weighted centroid. The parts are assumed disjoint (overlaps are counted twice).
 */
enum geo_status geo_multipolygon_area_centroid(const struct geo_multipolygon *mpoly,
                                               double *area_m2, struct geo_point *centroid);

#endif /* GEO_POLYGON_H */
