/* ingest.h -- position ingest from handsets and vehicle units: a PositionBatch from a logged-in
 * device is checked, de-duplicated by (device, seq), stored in Redis in one transaction, and
 * only then acknowledged with the highest stored sequence number. Resending a batch is always
 * safe: fixes at or below the device's stored high-water mark are skipped.
 *
 * Keys (docs/redis-keys.md):
 *   {p}device:{id}:seq           string: the device's highest stored fix seq (high-water mark)
 *   {p}route:{vehicle}:{yyyymmdd} sorted set: the vehicle's fixes of that UTC day, score =
 *                                fix time (ms), member = "seq:time_ms:lat_e7:lon_e7:speed_cm_s:
 *                                heading_cdeg:accuracy_cm:mode:flags" ('-' when absent); expires
 *                                route_retention_days after the day ends (automatic trimming)
 *   {p}vehicle:{id}:last         hash: the newest fix (late fixes never replace it)
 *   {p}geo:vehicles              GEO set: every vehicle's newest position (nearest queries)
 * Late fixes (older than the vehicle's newest) go into the day sets in time order like any
 * other, but do not move the vehicle's latest position.
 *
 * Each fix is also run through the filters and the tracking rules (rules.h) of its vehicle;
 * the rule state is stored with the batch ({p}vehicle:{id}:rules), so a restart continues every
 * episode, and alerts are stored in the same transaction (alerts.h). A fatigue rest goes into
 * the person's record (rest_until), which matching reads. Every TRACK_TICK_S seconds the
 * time-based rules (signal lost) run for every vehicle seen since start.
 *
 * Limits (proto/README.md, "Positions"): a per-device token bucket (position_rate_max fixes/s,
 * position_rate_burst at once) refuses a batch beyond it whole (REFUSED rate_limited, resent
 * later); a fix more than position_seq_window above the device's mark, and above the clock in
 * ms plus a day, refuses its batch whole (REFUSED seq_out_of_window) and never becomes the mark.
 *
 * Positions are attributed to the vehicle bound to the device's person (人车对应); a device
 * whose person has no vehicle gets INVALID_ARGUMENT. Ingest does not go through the writer: a
 * device's connection processes one request at a time, which orders its batches.
 */
#ifndef LPG_INGEST_H
#define LPG_INGEST_H

#include "app/service.h"
#include "handset/handset_server.h"

struct Lpg__V1__Envelope;

/* The vehicle-track table and its tick timer (time-based rules such as signal lost). */
int ingest_init(struct service *d);
void ingest_free(struct service *d);
/* After the registry is loaded: load the track state of every vehicle on an active delivery, so
 * that signal loss is noticed even if its device never reports again after a restart. */
void ingest_watch_active(struct service *d);

/* Handles a PositionBatch (replies Ack or Error, now or later; holds the connection while
 * the store works). */
void ingest_position_batch(struct service *d, struct handset_conn *c,
                           const struct Lpg__V1__Envelope *env);

/* Redis's memory as last read with INFO memory, every redis_memory_check_interval seconds
 * (also the position ingest's last line of defence: at maxmemory, with noeviction, Redis
 * refuses every write). Passing redis_memory_watermark % of maxmemory raises a system alert to
 * the admins once (alerts_system), re-armed 5 points below the mark. */
struct ingest_redis_memory {
    int known;       /* a recent reading (Redis up) */
    uint64_t used;   /* used_memory, bytes */
    uint64_t max;    /* maxmemory, bytes; 0 = no limit */
    int percent;     /* used / max, rounded down; 0 without a limit */
    int above;       /* at or above the watermark */
    int64_t read_ms; /* when read (UTC ms) */
};
const struct ingest_redis_memory *ingest_redis_memory(const struct service *d);

#endif
