/*
 * geo_zone_index.c - "which zones contain this point": a static, packed R-tree over zone
 * bounding boxes, then exact geo_multipolygon_contains tests.
 *
 * Layout: zones are sorted once by the Hilbert-curve key of their box centre, then packed
 * bottom-up into nodes of NODE_FANOUT consecutive entries. Because every level is ordered along
 * the same curve, the tree is implicit: entry j of level k covers entries
 * [j * NODE_FANOUT, (j + 1) * NODE_FANOUT) of level k - 1, and level 0 entry i is zone i. No child
 * pointers, one contiguous box array. (Sort-Tile-Recursive packing gives similar leaves but needs
 * explicit child links above the leaf level; a Hilbert-packed tree is as good for point queries on
 * city-sized zone sets.) Queries walk the tree depth-first with a fixed-size stack.
 */
#include "geo_zone_index.h"

#include <stdlib.h>
#include <string.h>

#include "geo_bbox.h"

#define NODE_FANOUT 16 /* children per node */
/* Levels needed for SIZE_MAX zones at fanout 16: 1 + 64 / 4. */
#define MAX_LEVELS 17
/* Depth-first traversal holds at most NODE_FANOUT entries per level. */
#define STACK_CAP (MAX_LEVELS * NODE_FANOUT)
/*
 * Zone and part boxes are widened by this (degrees) so the box prefilter never rejects a point
 * that the polygon test's boundary tolerance would accept: twice the tolerance absorbs rounding.
 */
#define BOX_PAD_DEG   (2.0 * GEO_BOUNDARY_TOL_DEG)
#define HILBERT_ORDER 16 /* bits per axis of the Hilbert grid */

/* A zone as stored in the index; shape and part_boxes point into index-owned arrays. */
struct zone_rec {
    uint32_t id;
    struct geo_multipolygon shape;
    const struct geo_bbox *part_boxes; /* shape.n_polys padded boxes */
};

struct geo_zone_index {
    size_t n_zones;
    size_t n_levels;              /* 0 for an empty index; top level has one box */
    size_t level_len[MAX_LEVELS]; /* entries per level */
    size_t level_off[MAX_LEVELS]; /* offset of each level in boxes[] */
    struct geo_bbox *boxes;       /* all levels; level 0 is the zones' padded boxes */
    struct zone_rec *zones;       /* in Hilbert order, parallel to level 0 */
    struct geo_polygon *polys;    /* copies, pointing into rings[] */
    struct geo_ring *rings;       /* copies, pointing into points[] */
    struct geo_point *points;     /* every vertex of every ring, copied */
    struct geo_bbox *part_boxes;  /* one padded box per polygon, parallel to polys[] */
};

/* Sort record for Hilbert ordering and for the duplicate-id check. */
struct sort_key {
    uint64_t key;
    size_t pos; /* position in the caller's zones[] */
};

static int sort_key_cmp(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos ? 1 : 0);
}

/* Distance along the Hilbert curve of cell (x, y) on a 2^HILBERT_ORDER square grid. */
static uint64_t hilbert_key(uint32_t x, uint32_t y)
{
    const uint32_t n = 1u << HILBERT_ORDER;
    uint64_t d = 0;
    for (uint32_t s = n / 2; s > 0; s /= 2) {
        uint32_t rx = (x & s) ? 1u : 0u, ry = (y & s) ? 1u : 0u;
        d += (uint64_t)s * s * ((3u * rx) ^ ry);
        if (ry == 0) { /* rotate the quadrant so the curve stays continuous */
            if (rx == 1) {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

/* Map v in [lo, hi] to a grid cell in [0, 2^HILBERT_ORDER - 1]. */
static uint32_t grid_cell(double v, double lo, double hi)
{
    const double top = (double)((1u << HILBERT_ORDER) - 1);
    if (!(hi > lo))
        return 0;
    double c = (v - lo) / (hi - lo) * top;
    return c <= 0.0 ? 0 : (c >= top ? (uint32_t)top : (uint32_t)c);
}

static struct geo_bbox pad_box(struct geo_bbox b)
{
    b.min_lon -= BOX_PAD_DEG;
    b.min_lat -= BOX_PAD_DEG;
    b.max_lon += BOX_PAD_DEG;
    b.max_lat += BOX_PAD_DEG;
    return b;
}

/* calloc with a zero-size guard, so an empty array still gets a distinct non-NULL block. */
static void *alloc_array(size_t n, size_t size)
{
    return calloc(n == 0 ? 1 : n, size);
}

/* a += b unless that overflows; false on overflow. */
static bool add_size(size_t *a, size_t b)
{
    if (b > SIZE_MAX - *a)
        return false;
    *a += b;
    return true;
}

void geo_zone_index_free(struct geo_zone_index *idx)
{
    if (idx == NULL)
        return;
    free(idx->boxes);
    free(idx->zones);
    free(idx->polys);
    free(idx->rings);
    free(idx->points);
    free(idx->part_boxes);
    free(idx);
}

size_t geo_zone_index_count(const struct geo_zone_index *idx)
{
    return idx == NULL ? 0 : idx->n_zones;
}

/* Validate every zone and count what must be copied. */
static enum geo_status count_zones(const struct geo_zone *zones, size_t n_zones, size_t *n_polys,
                                   size_t *n_rings, size_t *n_points, size_t *bad_zone)
{
    *n_polys = *n_rings = *n_points = 0;
    for (size_t z = 0; z < n_zones; z++) {
        const struct geo_multipolygon *mp = &zones[z].shape;
        enum geo_status st = geo_multipolygon_check(mp);
        if (st != GEO_OK) {
            *bad_zone = z;
            return st;
        }
        bool ok = add_size(n_polys, mp->n_polys);
        for (size_t i = 0; ok && i < mp->n_polys; i++) {
            const struct geo_polygon *poly = &mp->polys[i];
            ok = add_size(n_rings, 1) && add_size(n_rings, poly->n_holes) &&
                 add_size(n_points, poly->outer.n);
            for (size_t h = 0; ok && h < poly->n_holes; h++)
                ok = add_size(n_points, poly->holes[h].n);
        }
        if (!ok) {
            *bad_zone = z;
            return GEO_ERR_NOMEM;
        }
    }
    return GEO_OK;
}

/* Second position of the first duplicated id found, or GEO_OK. keys is scratch of n_zones. */
static enum geo_status find_duplicate_id(const struct geo_zone *zones, size_t n_zones,
                                         struct sort_key *keys, size_t *bad_zone)
{
    for (size_t z = 0; z < n_zones; z++) {
        keys[z].key = zones[z].id;
        keys[z].pos = z;
    }
    qsort(keys, n_zones, sizeof keys[0], sort_key_cmp);
    for (size_t z = 1; z < n_zones; z++) {
        if (keys[z].key == keys[z - 1].key) {
            *bad_zone = keys[z].pos;
            return GEO_ERR_DUPLICATE_ID;
        }
    }
    return GEO_OK;
}

/* Copy one ring's points into the index and make *dst a view of them. */
static void copy_ring(const struct geo_ring *src, struct geo_ring *dst, struct geo_point *points,
                      size_t *next_point)
{
    memcpy(&points[*next_point], src->pts, src->n * sizeof src->pts[0]);
    dst->pts = &points[*next_point];
    dst->n = src->n;
    *next_point += src->n;
}

/* Deep-copy zones[keys[k].pos] into slot k for every k; boxes[] gets the padded zone boxes. */
static void copy_zones(struct geo_zone_index *idx, const struct geo_zone *zones,
                       const struct sort_key *keys)
{
    size_t next_poly = 0, next_ring = 0, next_point = 0;
    for (size_t k = 0; k < idx->n_zones; k++) {
        const struct geo_zone *src = &zones[keys[k].pos];
        struct zone_rec *dst = &idx->zones[k];
        dst->id = src->id;
        dst->shape.polys = &idx->polys[next_poly];
        dst->shape.n_polys = src->shape.n_polys;
        dst->part_boxes = &idx->part_boxes[next_poly];
        for (size_t i = 0; i < src->shape.n_polys; i++, next_poly++) {
            const struct geo_polygon *sp = &src->shape.polys[i];
            struct geo_polygon *dp = &idx->polys[next_poly];
            copy_ring(&sp->outer, &dp->outer, idx->points, &next_point);
            dp->holes = &idx->rings[next_ring];
            dp->n_holes = sp->n_holes;
            for (size_t h = 0; h < sp->n_holes; h++)
                copy_ring(&sp->holes[h], &idx->rings[next_ring++], idx->points, &next_point);
            struct geo_bbox box;
            (void)geo_polygon_bbox(dp, &box); /* validated in count_zones */
            idx->part_boxes[next_poly] = pad_box(box);
            idx->boxes[k] = i == 0 ? idx->part_boxes[next_poly]
                                   : geo_bbox_union(&idx->boxes[k], &idx->part_boxes[next_poly]);
        }
    }
}

/* Lay out the levels above 0 and fill their boxes; boxes[] must be large enough. */
static void build_levels(struct geo_zone_index *idx)
{
    for (size_t k = 1; k < idx->n_levels; k++) {
        const struct geo_bbox *below = &idx->boxes[idx->level_off[k - 1]];
        struct geo_bbox *here = &idx->boxes[idx->level_off[k]];
        size_t n_below = idx->level_len[k - 1];
        for (size_t j = 0; j < idx->level_len[k]; j++) {
            size_t first = j * NODE_FANOUT;
            size_t last = first + NODE_FANOUT < n_below ? first + NODE_FANOUT : n_below;
            here[j] = below[first];
            for (size_t c = first + 1; c < last; c++)
                here[j] = geo_bbox_union(&here[j], &below[c]);
        }
    }
}

enum geo_status geo_zone_index_build(const struct geo_zone *zones, size_t n_zones,
                                     struct geo_zone_index **out, size_t *bad_zone)
{
    size_t bad_scratch;
    if (bad_zone == NULL)
        bad_zone = &bad_scratch;
    if (out == NULL || (zones == NULL && n_zones > 0))
        return GEO_ERR_NULL;

    size_t n_polys, n_rings, n_points;
    enum geo_status st = count_zones(zones, n_zones, &n_polys, &n_rings, &n_points, bad_zone);
    if (st != GEO_OK)
        return st;

    struct sort_key *keys = NULL;
    struct geo_zone_index *idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return GEO_ERR_NOMEM;
    idx->n_zones = n_zones;

    /* Level sizes: N, ceil(N / F), ... down to a single root box. */
    size_t n_boxes = 0;
    for (size_t len = n_zones; len > 0 && idx->n_levels < MAX_LEVELS; idx->n_levels++) {
        idx->level_len[idx->n_levels] = len;
        idx->level_off[idx->n_levels] = n_boxes;
        n_boxes += len; /* total < 2 * N * 16/15: cannot overflow with N zones in memory */
        if (len == 1)
            len = 0;
        else
            len = (len + NODE_FANOUT - 1) / NODE_FANOUT;
    }

    st = GEO_ERR_NOMEM;
    keys = alloc_array(n_zones, sizeof *keys);
    idx->boxes = alloc_array(n_boxes, sizeof *idx->boxes);
    idx->zones = alloc_array(n_zones, sizeof *idx->zones);
    idx->polys = alloc_array(n_polys, sizeof *idx->polys);
    idx->rings = alloc_array(n_rings, sizeof *idx->rings);
    idx->points = alloc_array(n_points, sizeof *idx->points);
    idx->part_boxes = alloc_array(n_polys, sizeof *idx->part_boxes);
    if (keys == NULL || idx->boxes == NULL || idx->zones == NULL || idx->polys == NULL ||
        idx->rings == NULL || idx->points == NULL || idx->part_boxes == NULL)
        goto out;

    st = find_duplicate_id(zones, n_zones, keys, bad_zone);
    if (st != GEO_OK)
        goto out;

    /* Hilbert order of the zone box centres, on a grid over the extent of all zones. */
    struct geo_bbox extent = {0.0, 0.0, 0.0, 0.0};
    for (size_t z = 0; z < n_zones; z++) {
        struct geo_bbox box;
        (void)geo_multipolygon_bbox(&zones[z].shape, &box); /* validated in count_zones */
        extent = z == 0 ? box : geo_bbox_union(&extent, &box);
    }
    for (size_t z = 0; z < n_zones; z++) {
        struct geo_bbox box;
        (void)geo_multipolygon_bbox(&zones[z].shape, &box);
        uint32_t gx = grid_cell((box.min_lon + box.max_lon) / 2.0, extent.min_lon, extent.max_lon);
        uint32_t gy = grid_cell((box.min_lat + box.max_lat) / 2.0, extent.min_lat, extent.max_lat);
        keys[z].key = hilbert_key(gx, gy);
        keys[z].pos = z;
    }
    qsort(keys, n_zones, sizeof keys[0], sort_key_cmp);

    copy_zones(idx, zones, keys);
    build_levels(idx);
    *out = idx;
    idx = NULL; /* handed off to the caller */
    st = GEO_OK;
out:
    free(keys);
    geo_zone_index_free(idx);
    return st;
}

/* Insert id into the ascending array ids[0..*n_kept-1] of capacity cap, keeping the smallest. */
static void keep_smallest(uint32_t *ids, size_t cap, size_t *n_kept, uint32_t id)
{
    size_t n = *n_kept;
    if (n == cap) {
        if (cap == 0 || id >= ids[cap - 1])
            return;
        n--; /* drop the largest to make room */
    }
    size_t i = n;
    for (; i > 0 && ids[i - 1] > id; i--)
        ids[i] = ids[i - 1];
    ids[i] = id;
    *n_kept = n + 1;
}

/*
 * Closed-box test for the hot loop: same result as geo_bbox_contains, but inlined and with
 * non-short-circuit '&' so the CPU does not mispredict a branch per coordinate.
 */
static inline bool box_holds(const struct geo_bbox *b, struct geo_point p)
{
    return (p.lon >= b->min_lon) & (p.lon <= b->max_lon) & (p.lat >= b->min_lat) &
           (p.lat <= b->max_lat);
}

static bool zone_contains(const struct zone_rec *zone, struct geo_point p)
{
    for (size_t i = 0; i < zone->shape.n_polys; i++)
        if (box_holds(&zone->part_boxes[i], p) && geo_polygon_contains(&zone->shape.polys[i], p))
            return true;
    return false;
}

enum geo_status geo_zone_index_query(const struct geo_zone_index *idx, struct geo_point p,
                                     uint32_t *out_ids, size_t cap, size_t *n_found)
{
    if (idx == NULL || n_found == NULL || (out_ids == NULL && cap > 0))
        return GEO_ERR_NULL;
    *n_found = 0;
    if (geo_point_check(p) != GEO_OK)
        return GEO_ERR_RANGE;
    if (idx->n_levels == 0)
        return GEO_OK;

    size_t stack_entry[STACK_CAP];
    unsigned char stack_level[STACK_CAP];
    size_t sp = 0, total = 0, kept = 0;
    size_t top = idx->n_levels - 1;
    if (box_holds(&idx->boxes[idx->level_off[top]], p)) {
        stack_entry[sp] = 0;
        stack_level[sp++] = (unsigned char)top;
    }
    while (sp > 0) {
        sp--;
        size_t entry = stack_entry[sp], level = stack_level[sp];
        if (level == 0) {
            if (zone_contains(&idx->zones[entry], p)) {
                total++;
                keep_smallest(out_ids, cap, &kept, idx->zones[entry].id);
            }
            continue;
        }
        /* Children of this entry; push those whose box holds p (at most NODE_FANOUT). */
        const struct geo_bbox *below = &idx->boxes[idx->level_off[level - 1]];
        size_t first = entry * NODE_FANOUT, n_below = idx->level_len[level - 1];
        size_t last = first + NODE_FANOUT < n_below ? first + NODE_FANOUT : n_below;
        for (size_t c = first; c < last; c++) {
            if (box_holds(&below[c], p)) {
                stack_entry[sp] = c;
                stack_level[sp++] = (unsigned char)(level - 1);
            }
        }
    }
    *n_found = total;
    return total > cap ? GEO_ERR_TRUNCATED : GEO_OK;
}
