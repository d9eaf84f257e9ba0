/*
 * geo_sphere.h - great-circle formulas on the spherical Earth (radius GEO_EARTH_RADIUS_M):
 * distance, initial bearing, destination point, distance from a point to a great-circle
 * segment and to a polyline.
 *
 * All points are lon/lat degrees (struct geo_point, lon first). These are pure formulas:
 * by the convention in geo_core.h they expect valid points (geo_point_check) and return NaN for
 * non-finite input. Accuracy is that of the sphere: within ~0.5% of WGS84 ellipsoid distances.
 */
#ifndef GEO_SPHERE_H
#define GEO_SPHERE_H

#include <stddef.h>

#include "geo_core.h"

/*
 * Great-circle distance between a and b, metres, by the haversine formula in its atan2 form:
 * round-off below 1e-6 m for city distances (best conditioned at short range, where dispatch
 * needs it), growing to ~1 mm for nearly antipodal points.
 */
double geo_distance_m(struct geo_point a, struct geo_point b);

/*
 * Initial bearing (forward azimuth) of the great circle from `from` to `to`, degrees clockwise
 * from true north, in [0, 360). The bearing changes along a great circle; this is the one at
 * `from`. Returns 0 when the points coincide.
 */
double geo_initial_bearing_deg(struct geo_point from, struct geo_point to);

/*
 * The point reached from `start` after travelling distance_m metres along the great circle
 * that leaves `start` at bearing_deg (degrees clockwise from north). The result's lon is
 * normalised to [-180, 180).
 */
struct geo_point geo_destination(struct geo_point start, double bearing_deg, double distance_m);

/*
 * Shortest distance, metres, from p to the great-circle arc a-b (the minor arc, so a and b must
 * not be antipodal).
 *
 * Method: n-vectors (unit vectors of the points). The arc's plane has normal n = a x b / |a x b|;
 * p's cross-track angle is asin(p . n) and the foot of the perpendicular is p - (p . n) n. If the
 * foot lies on the arc (between a and b) the distance is the cross-track distance, otherwise the
 * distance to the nearer endpoint. Unlike acos-based along-track formulas this stays accurate to
 * well under a millimetre for segments from 1 m to thousands of km, which covers delivery routes.
 * A degenerate segment (a == b, or shorter than ~1e-8 m) gives the distance to a.
 * Note the segment is a great circle, not a straight line in lon/lat: over 50 km east-west at
 * 49N the two differ by ~55 m (L^2 tan(lat) / 8R), over 5 km by ~0.6 m.
 */
double geo_segment_distance_m(struct geo_point p, struct geo_point a, struct geo_point b);

/*
 * Shortest distance, metres, from p to the polyline line[0..n-1] (n - 1 great-circle segments;
 * n == 1 is the distance to that single point). Writes the distance to *distance_m and, if
 * nearest_segment is not NULL, the index i of the nearest segment line[i]-line[i+1] (0 if n == 1;
 * the first one on ties).
 * Errors: GEO_ERR_NULL (line or distance_m NULL), GEO_ERR_EMPTY (n == 0), GEO_ERR_RANGE (p or a
 * vertex invalid).
 */
enum geo_status geo_polyline_distance_m(struct geo_point p, const struct geo_point *line, size_t n,
                                        double *distance_m, size_t *nearest_segment);

#endif /* GEO_SPHERE_H */
