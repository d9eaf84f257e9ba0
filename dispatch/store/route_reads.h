/* route_reads.h -- reading what ingest stored about positions (docs/redis-keys.md, "Positions"):
 * a chunk of a vehicle's route day set, its newest fix, and the vehicles nearest a point.
 * Used by the route export, trips and daily summaries (http_v1_tracking.c, http_v1_summary.c).
 * Conventions of every read: store/reads.h.
 */
#ifndef LPG_ROUTE_READS_H
#define LPG_ROUTE_READS_H

#include "core/route_member.h"
#include "store/reads.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;

/* ---- a chunk of a route day set ---- */

/* One member of a chunk: its stored text (valid during the callback) and, when ok, the fix it
 * holds. A member that is not in the stored format (route_member.h) has ok 0. */
struct route_member_read {
    const char *text; /* NULL (len 0) when Redis gave something else than a string */
    size_t len;
    int ok;
    struct route_fix fix;
};
/* The members of one chunk, in Redis' order (score, then member bytes); valid during the
 * callback. */
struct route_chunk;
size_t route_chunk_size(const struct route_chunk *c);
/* Member i (< route_chunk_size) into *m. */
void route_chunk_member(const struct route_chunk *c, size_t i, struct route_member_read *m);

/* chunk is NULL when err is set. */
typedef void route_chunk_fn(void *arg, const struct route_chunk *chunk, const char *err);
/* Reads the members of the vehicle's set of UTC day utc_day (keys_route_day) scored within
 * [min_ms, max_ms), skipping `offset` of them, at most `count`: ZRANGEBYSCORE ... LIMIT. 0 when
 * sent; -1 (with *why, fn not called) when the store is not up. */
int route_read_chunk(struct store *st, const char *vehicle, int32_t utc_day, int64_t min_ms,
                     int64_t max_ms, long offset, int count, route_chunk_fn *fn, void *arg,
                     const char **why);

/* ---- the newest fix ---- */

/* The vehicle's newest fix ({p}vehicle:{id}:last); has_fix 0 when there is none or it does not
 * parse. */
struct route_last {
    int has_fix;
    int64_t seq, time_ms, lat_e7, lon_e7;
    int has_speed;
    uint64_t speed_cm_s;
    int has_vd; /* the fix came with a terminal's vehicle data (route_member.h) */
    struct lpg_vehicle_data vd;
};
/* last is NULL when err is set. */
typedef void route_last_fn(void *arg, const struct route_last *last, const char *err);
int route_read_last(struct store *st, const char *vehicle, route_last_fn *fn, void *arg,
                    const char **why);

/* ---- vehicles near a point ---- */

/* One vehicle of the search ({p}geo:vehicles): its id (valid during the callback), distance
 * from the point in m and position. */
struct route_nearby {
    const char *vehicle_id;
    double distance_m, lon, lat;
};
struct route_nearby_list;
size_t route_nearby_size(const struct route_nearby_list *l);
/* Entry i into *out; -1 when Redis' entry is malformed (to be skipped). */
int route_nearby_get(const struct route_nearby_list *l, size_t i, struct route_nearby *out);
/* list is NULL when err is set. */
typedef void route_nearby_fn(void *arg, const struct route_nearby_list *list, const char *err);
/* The vehicles within radius_m of (lon, lat), nearest first; at most count of them, or every
 * one when count is 0 (GEOSEARCH ... WITHDIST WITHCOORD [COUNT n]). */
int route_read_nearest(struct store *st, double lon, double lat, double radius_m, int count,
                       route_nearby_fn *fn, void *arg, const char **why);

/* The vehicle's depot departures and arrivals in [from_ms, to_ms) (keys.h keys_vehicle_depot),
 * oldest first, at most ROUTE_DEPOT_MAX, as a JSON array of their stored records (the callee's
 * to free; NULL with err on failure). */
#define ROUTE_DEPOT_MAX 1000
typedef void route_depot_fn(void *arg, json_t *events, const char *err);
int route_read_depot(struct store *st, const char *vehicle, int64_t from_ms, int64_t to_ms,
                     route_depot_fn *fn, void *arg, const char **why);

#endif
