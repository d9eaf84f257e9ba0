/*
 * geo_bbox.c - lon/lat bounding boxes (closed, never crossing the antimeridian): from points,
 * union, contains, intersects, and a conservative expansion by metres on the sphere.
 */
#include "geo_bbox.h"

#include <math.h>

#define PI         3.14159265358979323846 /* M_PI is not in strict C11 + POSIX */
#define RAD_TO_DEG (180.0 / PI)           /* degrees per radian */

enum geo_status geo_bbox_from_points(const struct geo_point *pts, size_t n, struct geo_bbox *out)
{
    if (pts == NULL || out == NULL)
        return GEO_ERR_NULL;
    if (n == 0)
        return GEO_ERR_EMPTY;
    struct geo_bbox box = {pts[0].lon, pts[0].lat, pts[0].lon, pts[0].lat};
    for (size_t i = 0; i < n; i++) {
        if (geo_point_check(pts[i]) != GEO_OK)
            return GEO_ERR_RANGE;
        box.min_lon = fmin(box.min_lon, pts[i].lon);
        box.min_lat = fmin(box.min_lat, pts[i].lat);
        box.max_lon = fmax(box.max_lon, pts[i].lon);
        box.max_lat = fmax(box.max_lat, pts[i].lat);
    }
    *out = box;
    return GEO_OK;
}

struct geo_bbox geo_bbox_union(const struct geo_bbox *a, const struct geo_bbox *b)
{
    struct geo_bbox u = {fmin(a->min_lon, b->min_lon), fmin(a->min_lat, b->min_lat),
                         fmax(a->max_lon, b->max_lon), fmax(a->max_lat, b->max_lat)};
    return u;
}

bool geo_bbox_contains(const struct geo_bbox *box, struct geo_point p)
{
    return p.lon >= box->min_lon && p.lon <= box->max_lon && p.lat >= box->min_lat &&
           p.lat <= box->max_lat;
}

bool geo_bbox_intersects(const struct geo_bbox *a, const struct geo_bbox *b)
{
    return a->min_lon <= b->max_lon && b->min_lon <= a->max_lon && a->min_lat <= b->max_lat &&
           b->min_lat <= a->max_lat;
}

enum geo_status geo_bbox_expand_m(const struct geo_bbox *box, double margin_m, struct geo_bbox *out)
{
    if (box == NULL || out == NULL)
        return GEO_ERR_NULL;
    if (!(margin_m >= 0.0) || isinf(margin_m))
        return GEO_ERR_RANGE;

    double d = margin_m / GEO_EARTH_RADIUS_M; /* angular margin, radians */
    double d_deg = d * RAD_TO_DEG;
    struct geo_bbox e = {box->min_lon, fmax(-90.0, box->min_lat - d_deg), box->max_lon,
                         fmin(90.0, box->max_lat + d_deg)};

    /*
     * Within angular distance d of a point at latitude lat, longitude changes by at most
     * asin(sin d / cos lat); the bound grows towards the poles, so take the expanded edge
     * farthest from the equator. Past the pole (or a quarter of the globe) every lon is in.
     */
    double lat_ext = fmax(fabs(e.min_lat), fabs(e.max_lat)) * (PI / 180.0);
    double s = sin(d), c = cos(lat_ext);
    if (d >= PI / 2.0 || s >= c) {
        e.min_lon = -180.0;
        e.max_lon = 180.0;
    } else {
        double dlon_deg = asin(s / c) * RAD_TO_DEG;
        e.min_lon = fmax(-180.0, e.min_lon - dlon_deg);
        e.max_lon = fmin(180.0, e.max_lon + dlon_deg);
    }
    *out = e;
    return GEO_OK;
}
