/*
 * geo_sphere.c - great-circle formulas on a sphere of radius GEO_EARTH_RADIUS_M: haversine
 * distance, initial bearing, destination point (Ed Williams' Aviation Formulary forms), and
 * point-to-segment / point-to-polyline distance by the n-vector method (Gade 2010).
 */
#include "geo_sphere.h"

#include <math.h>

/* M_PI is not in strict C11 + POSIX, so spell pi out. */
#define PI         3.14159265358979323846
#define DEG_TO_RAD (PI / 180.0) /* radians per degree */
#define RAD_TO_DEG (180.0 / PI) /* degrees per radian */

/*
 * |a x b| below this (radians, ~6e-9 m on the ground) means the segment has no well-defined
 * great circle: treat it as a point.
 */
#define SEGMENT_DEGENERATE_SIN 1e-15

/* Unit vector (n-vector) of a point; Earth-centred, z towards the north pole. */
struct nvec {
    double x, y, z;
};

static struct nvec nvec_of(struct geo_point p)
{
    double lat = p.lat * DEG_TO_RAD, lon = p.lon * DEG_TO_RAD;
    struct nvec v = {cos(lat) * cos(lon), cos(lat) * sin(lon), sin(lat)};
    return v;
}

static struct nvec nvec_cross(struct nvec a, struct nvec b)
{
    struct nvec c = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
    return c;
}

static double nvec_dot(struct nvec a, struct nvec b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static double nvec_norm(struct nvec a)
{
    return sqrt(nvec_dot(a, a));
}

double geo_distance_m(struct geo_point a, struct geo_point b)
{
    double lat1 = a.lat * DEG_TO_RAD, lat2 = b.lat * DEG_TO_RAD;
    double sin_dlat = sin((lat2 - lat1) / 2.0);
    double sin_dlon = sin((b.lon - a.lon) * DEG_TO_RAD / 2.0);
    double h = sin_dlat * sin_dlat + cos(lat1) * cos(lat2) * sin_dlon * sin_dlon;
    /* Rounding can push h a hair past 1 near antipodes; clamp so sqrt(1 - h) stays real. */
    if (h > 1.0)
        h = 1.0;
    return 2.0 * GEO_EARTH_RADIUS_M * atan2(sqrt(h), sqrt(1.0 - h));
}

double geo_initial_bearing_deg(struct geo_point from, struct geo_point to)
{
    double lat1 = from.lat * DEG_TO_RAD, lat2 = to.lat * DEG_TO_RAD;
    double dlon = (to.lon - from.lon) * DEG_TO_RAD;
    double y = sin(dlon) * cos(lat2);
    double x = cos(lat1) * sin(lat2) - sin(lat1) * cos(lat2) * cos(dlon);
    double deg = atan2(y, x) * RAD_TO_DEG; /* (-180, 180] */
    if (deg < 0.0)
        deg += 360.0;
    /* -tiny + 360 rounds to 360 exactly; keep the documented half-open range [0, 360). */
    return deg >= 360.0 ? 0.0 : deg;
}

struct geo_point geo_destination(struct geo_point start, double bearing_deg, double distance_m)
{
    double lat1 = start.lat * DEG_TO_RAD, lon1 = start.lon * DEG_TO_RAD;
    double brg = bearing_deg * DEG_TO_RAD;
    double d = distance_m / GEO_EARTH_RADIUS_M; /* angular distance, radians */
    double sin_lat2 = sin(lat1) * cos(d) + cos(lat1) * sin(d) * cos(brg);
    if (sin_lat2 > 1.0)
        sin_lat2 = 1.0;
    else if (sin_lat2 < -1.0)
        sin_lat2 = -1.0;
    double lat2 = asin(sin_lat2);
    double lon2 = lon1 + atan2(sin(brg) * sin(d) * cos(lat1), cos(d) - sin(lat1) * sin_lat2);
    double lon_deg = fmod(lon2 * RAD_TO_DEG + 540.0, 360.0) - 180.0; /* [-180, 180) */
    struct geo_point out = {lon_deg, lat2 * RAD_TO_DEG};
    return out;
}

double geo_segment_distance_m(struct geo_point p, struct geo_point a, struct geo_point b)
{
    struct nvec va = nvec_of(a), vb = nvec_of(b), vp = nvec_of(p);
    struct nvec c = nvec_cross(va, vb);
    double c_norm = nvec_norm(c);
    if (!(c_norm > SEGMENT_DEGENERATE_SIN)) /* also catches NaN */
        return geo_distance_m(p, a);
    struct nvec n = {c.x / c_norm, c.y / c_norm, c.z / c_norm};

    double s = nvec_dot(vp, n); /* sin of the cross-track angle */
    struct nvec foot = {vp.x - s * n.x, vp.y - s * n.y, vp.z - s * n.z};
    /* The foot is on the minor arc a-b iff a->foot and foot->b both turn the same way as a->b. */
    if (nvec_dot(nvec_cross(va, foot), n) >= 0.0 && nvec_dot(nvec_cross(foot, vb), n) >= 0.0)
        return GEO_EARTH_RADIUS_M * atan2(fabs(s), nvec_norm(foot));

    double da = geo_distance_m(p, a), db = geo_distance_m(p, b);
    return da < db ? da : db;
}

enum geo_status geo_polyline_distance_m(struct geo_point p, const struct geo_point *line, size_t n,
                                        double *distance_m, size_t *nearest_segment)
{
    if (line == NULL || distance_m == NULL)
        return GEO_ERR_NULL;
    if (n == 0)
        return GEO_ERR_EMPTY;
    if (geo_point_check(p) != GEO_OK)
        return GEO_ERR_RANGE;
    for (size_t i = 0; i < n; i++)
        if (geo_point_check(line[i]) != GEO_OK)
            return GEO_ERR_RANGE;

    double best = geo_distance_m(p, line[0]);
    size_t best_seg = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double d = geo_segment_distance_m(p, line[i], line[i + 1]);
        if (i == 0 || d < best) {
            best = d;
            best_seg = i;
        }
    }
    *distance_m = best;
    if (nearest_segment != NULL)
        *nearest_segment = best_seg;
    return GEO_OK;
}
