/*
 * geo_core.h - types and conventions shared by every file of the geo library: the point
 * type (lon/lat order), the status codes, the Earth model constants.
 *
 * Conventions (see also geo/README.md):
 *   - Coordinates are WGS84 degrees, ALWAYS in lon/lat order: struct geo_point {lon, lat}.
 *   - Distances are metres, angles and bearings are degrees, areas are square metres; every
 *     name or comment says which.
 *   - Error convention: a function that can fail on caller input returns enum geo_status
 *     (GEO_OK == 0) and writes its results through out-pointers, which it leaves untouched on
 *     failure. Pure formulas and predicates (distances, bearings, *_contains) return their value
 *     directly; their documented precondition is that inputs passed the matching geo_*_check.
 *     On non-finite input they return NaN or false; they never read outside the given arrays.
 *   - The library never allocates except in geo_zone_index_build, never does I/O or logging,
 *     and keeps no global state: every function is reentrant.
 */
#ifndef GEO_CORE_H
#define GEO_CORE_H

#include <stdbool.h>

/*
 * Radius of the spherical Earth model, metres: the IUGG mean radius R1 = (2a + b) / 3 of the
 * WGS84 ellipsoid (a = 6378137 m, b = 6356752.3142 m). A sphere rather than the ellipsoid because
 * the formulas are short, closed-form and fast; the price is that spherical distances differ from
 * ellipsoidal (Vincenty) ones by up to ~0.5% (typically 0.1-0.3%): ample for dispatch, where road
 * distance exceeds the straight line by tens of percent anyway.
 */
#define GEO_EARTH_RADIUS_M 6371008.8

/*
 * Boundary tolerance of the point-in-polygon rule, in degrees of planar lon/lat (1e-9 degree is
 * at most 0.11 mm on the ground). A point this close to a ring's boundary is ON the boundary.
 * It is far above the rounding error of the crossing test (~1e-14 degree), so two zones that
 * share an edge (same vertices, either orientation) both contain every point on it: no gap.
 */
#define GEO_BOUNDARY_TOL_DEG 1e-9

/* A position. lon: degrees east [-180, 180]; lat: degrees north [-90, 90]. Lon first, always. */
struct geo_point {
    double lon; /* degrees east, [-180, 180] */
    double lat; /* degrees north, [-90, 90] */
};

/* The one status type of the library. GEO_OK is 0; every error is a distinct positive value. */
enum geo_status {
    GEO_OK = 0,
    GEO_ERR_NULL,           /* a required pointer argument is NULL */
    GEO_ERR_RANGE,          /* NaN/infinite coordinate, lon outside [-180,180], lat outside
                               [-90,90], or a negative/non-finite distance */
    GEO_ERR_EMPTY,          /* a ring or point list has no points */
    GEO_ERR_TOO_FEW_POINTS, /* a ring has fewer than 3 vertices (closing duplicate excluded) */
    GEO_ERR_ANTIMERIDIAN,   /* a polygon spans more than 180 degrees of longitude, i.e. it
                               crosses the antimeridian; not supported (see README) */
    GEO_ERR_DEGENERATE,     /* area below 1e-6 m^2: no centroid can be defined */
    GEO_ERR_DUPLICATE_ID,   /* two zones given to the index share an id */
    GEO_ERR_NOMEM,          /* allocation failed (only geo_zone_index_build allocates) */
    GEO_ERR_TRUNCATED,      /* caller buffer too small: the count written is the total, only
                               the first `cap` results were stored */
    GEO_ERR_NOT_SIMPLE,     /* a ring crosses or touches itself or another ring, or a hole is
                               not inside its shell (geo_simple.h says where) */
};

/* Static English text for a status ("ok", "NaN or out-of-range coordinate", ...); never NULL. */
const char *geo_status_str(enum geo_status status);

/* GEO_OK if p is finite with lon in [-180,180] and lat in [-90,90], else GEO_ERR_RANGE. */
enum geo_status geo_point_check(struct geo_point p);

#endif /* GEO_CORE_H */
