/*
 * geo_bbox.h - axis-aligned lon/lat bounding boxes: build from points, union, contains,
 * intersects, expand by a distance in metres.
 *
 * Antimeridian: NOT supported. A box always has min_lon <= max_lon and never wraps across
 * +-180 degrees; geo_bbox_expand_m clamps at +-180 (so near the antimeridian the expanded box
 * misses points on the far side). Our service area (China, 73E-135E) is nowhere near it.
 */
#ifndef GEO_BBOX_H
#define GEO_BBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "geo_core.h"

/* A closed lon/lat box, degrees. Lon fields first, like struct geo_point. */
struct geo_bbox {
    double min_lon; /* west edge, degrees east [-180, 180] */
    double min_lat; /* south edge, degrees north [-90, 90] */
    double max_lon; /* east edge, degrees east, >= min_lon */
    double max_lat; /* north edge, degrees north, >= min_lat */
};

/* Smallest box holding pts[0..n-1]. GEO_ERR_NULL, GEO_ERR_EMPTY (n == 0), GEO_ERR_RANGE. */
enum geo_status geo_bbox_from_points(const struct geo_point *pts, size_t n, struct geo_bbox *out);

/* Smallest box holding both a and b. */
struct geo_bbox geo_bbox_union(const struct geo_bbox *a, const struct geo_bbox *b);

/* True if p is inside box or on its edge (closed box). */
bool geo_bbox_contains(const struct geo_bbox *box, struct geo_point p);

/* True if the boxes share at least one point (touching edges or corners count). */
bool geo_bbox_intersects(const struct geo_bbox *a, const struct geo_bbox *b);

/*
 * Grow box so that it contains every point within margin_m metres (great-circle) of the original
 * box: lat by margin_m / R, lon by asin(sin(margin_m / R) / cos(lat_ext)) where lat_ext is the
 * expanded edge latitude farthest from the equator, so the margin is conservative everywhere in
 * the box. Lat is clamped to [-90, 90]; if the box reaches a pole, lon becomes [-180, 180]; lon is
 * clamped at +-180 (no wrap, see above). GEO_ERR_RANGE if margin_m is negative or not finite.
 */
enum geo_status geo_bbox_expand_m(const struct geo_bbox *box, double margin_m,
                                  struct geo_bbox *out);

#endif /* GEO_BBOX_H */
