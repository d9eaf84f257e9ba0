/*
 * geo_core.c - the shared pieces of the geo library: status texts and point validation.
 */
#include "geo_core.h"

#include <math.h>

const char *geo_status_str(enum geo_status status)
{
    switch (status) {
    case GEO_OK:
        return "ok";
    case GEO_ERR_NULL:
        return "required pointer argument is NULL";
    case GEO_ERR_RANGE:
        return "NaN or out-of-range coordinate or distance";
    case GEO_ERR_EMPTY:
        return "no points";
    case GEO_ERR_TOO_FEW_POINTS:
        return "ring has fewer than 3 vertices";
    case GEO_ERR_ANTIMERIDIAN:
        return "polygon crosses the antimeridian (unsupported)";
    case GEO_ERR_DEGENERATE:
        return "polygon has zero area";
    case GEO_ERR_DUPLICATE_ID:
        return "duplicate zone id";
    case GEO_ERR_NOMEM:
        return "out of memory";
    case GEO_ERR_TRUNCATED:
        return "output buffer too small, results truncated";
    case GEO_ERR_NOT_SIMPLE:
        return "not a simple polygon";
    }
    return "unknown geo status";
}

enum geo_status geo_point_check(struct geo_point p)
{
    /* Written so that NaN fails every comparison and lands in the error branch. */
    if (p.lon >= -180.0 && p.lon <= 180.0 && p.lat >= -90.0 && p.lat <= 90.0)
        return GEO_OK;
    return GEO_ERR_RANGE;
}
