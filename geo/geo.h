/*
 * geo.h - umbrella header of the geo library (pure WGS84 geometry, libm only). Include this or
 * the individual headers: geo_core.h (point, status, constants), geo_sphere.h (great-circle
 * formulas), geo_bbox.h (bounding boxes), geo_polygon.h (polygons, boundary rule, area and
 * centroid), geo_simple.h (simple polygons, within), geo_zone_index.h (which zones contain
 * a point).
 */
#ifndef GEO_H
#define GEO_H

#include "geo_bbox.h"
#include "geo_core.h"
#include "geo_polygon.h"
#include "geo_simple.h"
#include "geo_sphere.h"
#include "geo_zone_index.h"

#endif /* GEO_H */
