/* ingest.h -- position ingest from any source (handsets, vehicle units, JT/T 808 terminals):
 * a batch of fixes from an authenticated device is checked, de-duplicated by (device, seq), stored
 * in Redis in one transaction, and only then acknowledged with the highest stored sequence number.
 * Resending a batch is always safe: fixes at or below the device's stored high-water mark are
 * skipped.
 *
 * Keys (docs/redis-keys.md):
 *   {p}device:{id}:seq           string: the device's highest stored fix seq (high-water mark)
 *   {p}route:{vehicle}:{yyyymmdd} sorted set: the vehicle's fixes of that UTC day, score =
 *                                fix time (ms), member = "seq:time_ms:lat_e7:lon_e7:speed_cm_s:
 *                                heading_cdeg:accuracy_cm:mode:flags" ('-' when absent); expires
 *                                route_retention_days after the day ends (automatic trimming)
 *                                A terminal's fix (ingest_fix.vehicle_data) has eight more
 *                                fields: its status and alarm words and measures.
 *   {p}vehicle:{id}:last         hash: the newest fix (late fixes never replace it), with its
 *                                vehicle data (field vehicle_data, '-' when it had none)
 *   {p}vehicle:{id}:alarms       string: the terminal's open alarm episodes
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
 * A terminal's own alarms (core/terminal_alarms.h): the watched bits of the alarm word of each
 * live fix with vehicle data, in time order, raise an alert on the bit's rising edge (kind
 * violation_start, rule "terminal_sos", ..., source "terminal") and another on its falling edge
 * (violation_end, with the episode's start and duration): one episode, like the server's rules.
 * The last word is stored with the batch ({p}vehicle:{id}:alarms), so a restart raises nothing
 * for a bit still set. A late fix's alarm bits are stored with it and raise nothing.
 *
 * Limits (proto/README.md, "Positions"): a per-device token bucket (position_rate_max fixes/s,
 * position_rate_burst at once) refuses a batch beyond it whole (refusal rate_limited, resent
 * later); a fix more than position_seq_window above the device's mark, and above the clock in
 * ms plus a day, refuses its batch whole (refusal seq_out_of_window) and never becomes the mark.
 *
 * Sources. Ingest takes plain fixes (core/fix.h) with the identity of the source that sent them
 * (struct ingest_source), whatever the transport: the handset protocol's PositionBatch
 * (handset/handset_positions.c) today, JT/T 808 terminals next. It never talks to a transport:
 * the answer comes back through the caller's `done` callback (the transport keeps its
 * connection alive until then and writes its own reply), and the alerts a batch raises are
 * published on the bus (EV_ALERT_RAISED, events.h), naming the reporting device.
 *
 * Positions are attributed to a vehicle: the one the source names, else the one bound to the
 * source's person (人车对应); a person with no vehicle gets REFUSAL_INVALID. Ingest does not go
 * through the writer: a source's connection hands over one batch at a time (it waits for
 * `done`), which orders the device's batches.
 */
#ifndef LPG_INGEST_H
#define LPG_INGEST_H

#include "app/refusal.h"
#include "app/service.h"
#include "core/fix.h"

#include <stddef.h>
#include <stdint.h>

/* Position ingest counters, for /metrics. */
struct ingest_stats {
    uint64_t batches, fixes_stored, fixes_duplicate, fixes_invalid, fixes_late, batches_refused;
    uint64_t filtered[8];    /* by enum fix_filter_reason (0 = passed to the rules) */
    uint64_t events_dropped; /* rule events beyond the per-batch cap */
    uint64_t heap_trims;     /* freed heap handed back once ingest was idle */
    uint64_t batches_rate_limited, fixes_rate_limited; /* refused by position_rate_max */
    uint64_t batches_seq_refused; /* refused: a seq beyond position_seq_window */
    uint64_t memory_alerts;       /* Redis memory passed redis_memory_watermark (alerted) */
};

/* The vehicle-track table and its tick timer (time-based rules such as signal lost). */
int ingest_init(struct service *d);
void ingest_free(struct service *d);
/* After the registry is loaded: load the track state of every vehicle on an active delivery, so
 * that signal loss is noticed even if its device never reports again after a restart. */
void ingest_watch_active(struct service *d);

/* What kind of source sent the fixes (for logs and per-source rules to come). */
enum ingest_source_kind {
    INGEST_SOURCE_HANDSET,      /* a person's handset or a vehicle unit on lpg.v1 (handset/) */
    INGEST_SOURCE_VEHICLE_UNIT, /* an in-vehicle unit bound to a vehicle, not a person */
    INGEST_SOURCE_JT808,        /* a JT/T 808 terminal (issue 12) */
};

/* What the source's fix numbers are. */
enum ingest_seq_mode {
    /* The device numbers its fixes (ingest_fix.seq, increasing); the mark is the highest. */
    INGEST_SEQ_DEVICE = 0,
    /* The source has no per-fix sequence (JT/T 808: a 16-bit wrapping message serial): a fix's
     * seq is its time in ms (ingest takes fix.time_ms, whatever seq says), the device's mark is
     * the newest time stored. A fix above the mark is new; at or below it, a retransmission
     * (skipped, acknowledged) -- unless it is flagged LPG_FIX_LATE (the terminal said it is
     * blind-area backfill): then it is stored as a late fix, never moves the mark nor the
     * vehicle's newest position, and is exempt from the seq window. Its member is the same for
     * the same fix (seq = time, same values and flags), so a resent backfill adds nothing to
     * the day set; a backfill not newer than the device's newest backfill since start is
     * stored again (a no-op) but not evaluated again by the rules (no second late alert). */
    INGEST_SEQ_TIME = 1,
};

/* Who sends: authenticated by its transport before it reaches ingest. Borrowed for the call. */
struct ingest_source {
    enum ingest_source_kind kind;
    enum ingest_seq_mode seq_mode; /* INGEST_SEQ_DEVICE (0) unless said */
    /* Required: whose sequence numbers these are (its high-water mark {p}device:{id}:seq and
     * its rate bucket) and where alerts of its batches are told (EV_ALERT_RAISED device_id). */
    const char *device_id;
    /* The person the device is logged in as, or NULL (a unit bound to a vehicle). */
    const char *staff_id;
    /* The vehicle the fixes are of, or NULL: the vehicle bound to staff_id. When set, the rules
     * run with the vehicle's bound person (zone, deliveries, rest) unless staff_id names one. */
    const char *vehicle_id;
};

/*
 * One fix of a batch: the fix (units in core/fix.h; flags LPG_FIX_LATE for what the source
 * buffered while offline, LPG_FIX_DERIVED_SPEED) and the source's sequence number.
 *
 * Batch semantics (proto/README.md, "Positions"), the same for every source:
 *   - seq is per device, > 0, increasing; a fix at or below the device's stored mark is a
 *     resend: skipped (acknowledged, not stored twice). So resending a batch is always safe.
 *     (A source without sequence numbers numbers its fixes by time: INGEST_SEQ_TIME.)
 *   - an unusable fix (seq 0, time before 2000 or beyond the clock's future margin, a position
 *     out of range or NaN: the source had none) is counted invalid and skipped; it never
 *     moves the mark.
 *   - a batch is refused whole, nothing stored, when it is empty or above position_batch_max,
 *     beyond the device's rate limit, or when a usable fix's seq is beyond the window.
 *   - mode 0 is "the source did not say" (stored as 0, taken as a 3D fix by the rules).
 * Stored members keep the wire's integer units (route_member.h): 1e-7 degrees, cm/s, 0.01
 * degrees, cm, rounded to the nearest; a fix that came in those units goes back unchanged.
 * A terminal's report without a valid position (JT/T 808 status bit 1 clear) should still come
 * with the coordinates the terminal sent and mode LPG_FIX_MODE_NONE: it is then stored (the
 * filters keep it from the rules and from the newest position) and its alarm bits count; a NaN
 * position makes it invalid, skipped whole.
 */
struct ingest_fix {
    uint64_t seq;
    struct lpg_fix fix;
    /* NULL for sources without it; borrowed like the fix. Measures not in present are ignored;
     * its alarm word drives the terminal's alarm episodes (live fixes only). */
    const struct lpg_vehicle_data *vehicle_data;
};

/* The answer to a batch. refusal.kind == REFUSAL_NONE: stored (or nothing new: all resends),
 * position_seq is the device's high-water mark once stored -- the Ack. Otherwise nothing of the
 * batch was stored and refusal says why (codes: "rate_limited" and "seq_out_of_window" for
 * REFUSAL_RATE_LIMITED / REFUSAL_RULE; REFUSAL_INVALID for a bad batch or an unbound person;
 * REFUSAL_UNAVAILABLE / REFUSAL_OUTCOME_UNKNOWN / REFUSAL_INTERNAL: resend later, resending
 * is safe). */
struct ingest_result {
    uint64_t position_seq;
    struct refusal refusal;
};

typedef void ingest_done_fn(void *arg, const struct ingest_result *r);

/* Checks, stores and acknowledges n fixes of src. `done` is called exactly once, before this
 * returns (a refusal, a pure resend) or later once the store answered; the fixes are borrowed
 * for this call only, and read only when 1 <= n <= position_batch_max (a batch out of that range
 * is refused first, so a transport may pass NULL rather than convert it). Alerts raised by the
 * batch are published (EV_ALERT_RAISED) once stored, before `done`; so is the vehicle's new
 * newest position when the batch moved it (EV_POSITION, with the source's kind). */
void ingest_positions(struct service *s, const struct ingest_source *src,
                      const struct ingest_fix *fixes, size_t n, ingest_done_fn *done, void *arg);

/* Per-device state (the rate bucket and the cached high-water mark), owned by ingest: one entry
 * per device that sent a batch since start, so bounded by the registered devices (a device
 * reaches ingest only once its transport authenticated it); entries live until ingest_free,
 * like the vehicle tracks, because the rate bucket must outlive a reconnection. A transport may
 * keep the handle of a device's entry for its session and call ingest_device_session_ended when
 * the session ends: the cached mark is then read again from the store at the next batch (as a
 * new session always did). NULL when out of memory. */
struct ingest_device;
struct ingest_device *ingest_device_of(struct service *s, const char *device_id);
void ingest_device_session_ended(struct ingest_device *dev);

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

/* The source kind's name on the API: "handset", "vehicle_unit", "jt808". */
const char *ingest_source_name(enum ingest_source_kind k);

/* What ingest knows of a vehicle since start, from memory only (the fleet board, GET /v1/fleet):
 * when a batch of it was last stored (server clock) and by which kind of source, and the newest
 * fix stored since start. */
struct ingest_vehicle_live {
    int64_t seen_ms; /* when its last batch was stored (UTC ms, server clock) */
    enum ingest_source_kind source;
    int has_fix; /* the fields below are set (a batch moved its newest position) */
    int64_t fix_ms;
    double lat, lon;
    int32_t speed_cm_s, heading_cdeg; /* -1 when the fix had none */
};
/* 0 and *out, or -1 (out zeroed) when no batch of the vehicle was stored since start. O(1). */
int ingest_vehicle_live(const struct service *d, const char *vehicle_id,
                        struct ingest_vehicle_live *out);

/* Its counters (zeros before ingest_init). */
const struct ingest_stats *ingest_stats(const struct service *d);

#endif
