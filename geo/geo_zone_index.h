/*
 * geo_zone_index.h - a spatial index answering "which zones contain this point" for thousands
 * of zones: a packed R-tree over zone bounding boxes, followed by exact point-in-polygon tests
 * (geo_multipolygon_contains, so the BOUNDARY RULE of geo_polygon.h applies: a point on a border
 * shared by two zones is in both).
 *
 * Ownership and lifetime: geo_zone_index_build deep-copies every zone (ids, polygons, vertices)
 * into memory owned by the index; the caller's arrays may be freed or reused as soon as it
 * returns. The index is immutable after build: concurrent queries from several threads are safe.
 * geo_zone_index_free releases it. Only build allocates; queries never do.
 */
#ifndef GEO_ZONE_INDEX_H
#define GEO_ZONE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "geo_core.h"
#include "geo_polygon.h"

/* One input zone: a caller-chosen id (unique within one index) and its shape. */
struct geo_zone {
    uint32_t id;                   /* caller's zone id, unique within one index */
    struct geo_multipolygon shape; /* one or more polygons, lon/lat degrees */
};

struct geo_zone_index; /* opaque */

/*
 * Build an index over zones[0..n_zones-1] (n_zones == 0 gives a valid, empty index; zones may
 * then be NULL). On success stores the new index in *out and returns GEO_OK.
 * On failure *out is left untouched and, if bad_zone is not NULL, *bad_zone is set to the
 * position in zones[] of the offending zone (for GEO_ERR_DUPLICATE_ID: the later of the two).
 * Errors: GEO_ERR_NULL, GEO_ERR_NOMEM, GEO_ERR_DUPLICATE_ID, any error of geo_multipolygon_check.
 */
enum geo_status geo_zone_index_build(const struct geo_zone *zones, size_t n_zones,
                                     struct geo_zone_index **out, size_t *bad_zone);

/* Free an index built by geo_zone_index_build. NULL is a no-op. */
void geo_zone_index_free(struct geo_zone_index *idx);

/* Number of zones in the index. */
size_t geo_zone_index_count(const struct geo_zone_index *idx);

/*
 * Find every zone containing p. Writes the total number found to *n_found and the
 * min(total, cap) SMALLEST matching ids to out_ids[] in ascending order (deterministic whatever
 * the tree layout). out_ids may be NULL when cap == 0 (a pure count). Each id appears once even
 * if several parts of its multipolygon contain p. Does not allocate; O(log n + matches) for
 * non-pathological zone sets.
 * Returns GEO_OK, GEO_ERR_TRUNCATED when total > cap (*n_found still holds the total),
 * GEO_ERR_NULL (idx or n_found NULL, or out_ids NULL with cap > 0), GEO_ERR_RANGE (invalid p;
 * *n_found is then 0).
 */
enum geo_status geo_zone_index_query(const struct geo_zone_index *idx, struct geo_point p,
                                     uint32_t *out_ids, size_t cap, size_t *n_found);

#endif /* GEO_ZONE_INDEX_H */
