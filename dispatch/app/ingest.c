/* ingest.c -- a batch of fixes from any source: check, de-duplicate, store, acknowledge
 * (ingest.h). */
#define LOG_TAG "ingest"
#include "app/ingest.h"
#include "common/clock.h"

#include "app/alerts.h"
#include "app/depot_track.h"
#include "app/dispatcher.h"
#include "app/events.h"
#include "app/route_seal.h"
#include "app/usecase_job.h"
#include "core/fix_filter.h"
#include "common/log.h"
#include "core/model_json.h"
#include "common/pool.h"
#include "core/registry.h"
#include "store/registry_store.h"
#include "core/route_member.h"
#include "core/rules.h"
#include "core/terminal_alarms.h"
#include "store/store.h"

#include <event2/event.h>
#include <jansson.h>

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#define DAY_MS 86400000LL

/* Events (alerts) one batch may raise; beyond it they are counted as dropped. */
#define INGEST_EVENTS_MAX 64

/* Buckets of the vehicle-track table (power of two); chains stay short for 10^4 vehicles. */
#define TRACK_BUCKETS 4096u
/* How often time-based rules (signal lost) are evaluated without a fix. */
#define TRACK_TICK_S 15
/* Returning freed heap once ingest is idle (see ingest_job_done): how long ingest must have had
 * no batch in flight, and the least time between two trims. */
#define TRIM_IDLE_MS         500
#define TRIM_MIN_INTERVAL_MS 10000

/* Per-vehicle tracks and per-device state come from pools (pool.h: blocks of this many
 * objects), not one malloc each: created while batches are in flight, single allocations would
 * pin the heap pages of the batches' freed buffers for good. */
#define TRACK_POOL_BLOCK 256

struct tracks;

/* Vehicle ids of the tracks and device ids of the rate buckets, one after another: an id
 * costs its length, not LPG_ID_MAX + 1 bytes in every entry. */
#define ID_BLOCK_BYTES 16000
struct id_block {
    struct id_block *next;
    size_t used;
    char text[ID_BLOCK_BYTES];
};

/* Per vehicle, whichever device reports for it: the newest stored fix and the rule state
 * (persisted with each batch, loaded from the store the first time it is needed). */
struct vehicle_track {
    struct vehicle_track *next;
    const char *vehicle_id; /* in the table's id blocks */
    int loaded;
    int64_t last_ms; /* time of the vehicle's newest stored fix */
    /* Filters and rules: `live` is persisted; the late state (fixes older than `live` has
     * seen) only exists once the vehicle sent a late fix, and is in memory only: a restart
     * starts late episodes afresh. */
    struct rules_track rules;
    /* The terminal's alarm episodes (persisted with the batch that changes them): NULL until a
     * watched alarm bit is first seen set, so a vehicle without alarms costs a pointer. */
    struct terminal_alarm_state *alarms;
    /* The fleet board (ingest_vehicle_live): the newest fix stored since start, who sent it and
     * when its batch was stored (server clock). has_fix 0 until then. */
    int has_fix;
    uint8_t source; /* enum ingest_source_kind */
    int32_t lat_e7, lon_e7, speed_cm_s, heading_cdeg;
    int64_t fix_ms, seen_ms;
    /* Its depot and stops (depot_track.h): in memory only, re-derived after a restart. */
    struct depot_watch depot;
};

/* Per device (not per connection: reconnecting must not refill the bucket): the position rate
 * limit's token bucket and the cached high-water mark. Devices are authenticated by their
 * transport before they reach ingest, so the table is bounded by the registry; entries are
 * never removed, like tracks (ingest.h, ingest_device_of). */
struct ingest_device {
    struct ingest_device *next;
    const char *device_id; /* in the table's id blocks */
    double tokens;         /* fixes it may send now; refilled at position_rate_max */
    int64_t at_ms;         /* monotonic time of `tokens`; 0: the bucket is new (full) */
    int loaded;            /* hwm read from the store (dropped when its session ends) */
    uint64_t hwm;          /* highest stored seq of this device */
    /* INGEST_SEQ_TIME: the newest backfill fix (late, at or below the mark) stored since start.
     * One not newer is a resend of backfill: stored again (a no-op), not evaluated again. */
    int64_t backfill_ms;
};

/* Per person who drives (issue 12 item 5): the fatigue part of the rule state follows the
 * person from vehicle to vehicle (ingest.h). One entry per person who drove since start,
 * bounded by the registry's staff; never removed, like the tracks. */
struct person_fatigue {
    struct person_fatigue *next;
    const char *staff_id;         /* in the table's id blocks */
    int loaded;                   /* read from the store ({p}staff:{id}:fatigue) */
    char vehicle[LPG_ID_MAX + 1]; /* where it was last counted; "" when never */
    struct rules_fatigue state;
};

/* Redis memory as last read (INFO memory), for /healthz, /metrics and the admins' alert. */
struct redis_memory_watch {
    struct event *poll;
    int polling; /* an INFO is in flight */
    int alerted; /* above the watermark and alerted; re-armed below it minus a margin */
    struct ingest_redis_memory m;
};

struct tracks {
    struct vehicle_track *buckets[TRACK_BUCKETS];
    struct ingest_device *device_buckets[TRACK_BUCKETS];
    struct pool device_pool; /* struct ingest_device */
    struct person_fatigue *person_buckets[TRACK_BUCKETS];
    struct pool person_pool; /* struct person_fatigue */
    struct redis_memory_watch mem;
    size_t n;
    struct event *tick;
    struct service *d;
    size_t jobs;            /* batches in flight (created, not yet ended) */
    struct event *trim;     /* one-shot: ingest went idle */
    int64_t last_trim_ms;   /* monotonic-ish: lpg_now_ms() of the last trim */
    struct pool track_pool; /* struct vehicle_track */
    struct id_block *ids;   /* the tracks' and devices' ids, packed (never removed) */
    struct ingest_stats stats;
};

/* One batch on its way to the store. */
struct ingest_job {
    struct service *d;
    ingest_done_fn *done; /* called once, when the job ends */
    void *done_arg;
    struct ingest_device *dev; /* owned by the table, lives as long as ingest */
    enum ingest_seq_mode seq_mode;
    char device[LPG_ID_MAX + 1];
    char vehicle[LPG_ID_MAX + 1];
    char staff[LPG_ID_MAX + 1];
    char enterprise[LPG_ID_MAX + 1];
    const struct ingest_fix *fixes; /* the caller's (borrowed) or fixes_copy */
    size_t n_fixes;
    struct ingest_fix *fixes_copy; /* owned: when the device's state must be read first (with
                                      the vehicle data the fixes point to, after them) */
    struct lpg_alert *alerts;      /* grown on demand: almost every batch raises none */
    size_t n_alerts, cap_alerts;
    /* The rule states once this batch is stored (owned: its late state, if any, moves to the
     * track then, or is freed with the job). */
    struct rules_track rules_after;
    struct vehicle_track *track; /* owned by the table, lives as long as dispatchd */
    size_t n_stored, n_late;     /* counted once Redis confirms */
    uint64_t filtered[8];        /* by enum fix_filter_reason, counted once confirmed */
    int has_newest;              /* the batch moved the vehicle's latest position */
    struct geo_point newest_pos;
    int32_t newest_speed_cm_s;   /* -1 when the newest fix has no speed */
    int32_t newest_heading_cdeg; /* -1 when the newest fix has no heading */
    int32_t newest_lat_e7, newest_lon_e7;
    enum ingest_source_kind src_kind;
    int64_t last_after; /* the track's newest time once this batch is stored */
    /* The terminal's alarm episodes once this batch is stored (alarms_applied: a live fix with
     * vehicle data was applied; alarms_changed: an edge, so the state is written). */
    struct terminal_alarm_state alarms_after;
    int alarms_applied, alarms_changed;
    int64_t backfill_before; /* dev->backfill_ms before this batch: restored if not stored */
    /* Who drives (the vehicle's signed-on person, else job->staff) and their fatigue, which
     * the batch evaluates in place of the vehicle's (NULL: nobody; the vehicle's own). */
    char driver[LPG_ID_MAX + 1];
    struct person_fatigue *person; /* owned by the table */
    int64_t rest_until_ms;         /* the driver's mandatory rest once this batch is stored */
    size_t n_reads;                /* commands of the read before the first batch */
    /* The depot and stop state once this batch is stored, and what it decided. */
    struct depot_watch depot_after;
    struct depot_batch depot;
};

/*
 * Freed heap after a burst. Every batch in flight holds its job, its Redis transaction (the
 * formatted commands, ~2.5 KB for 25 fixes) and its Ack: with 1,000 handsets that is a few
 * MB at the peak, freed once the batches are stored, but glibc keeps freed memory inside the
 * heap (only the top is trimmed, and the long-lived per-vehicle allocations made meanwhile
 * pin it), so the process would keep the peak's RSS for good. When no batch has been in
 * flight for TRIM_IDLE_MS, malloc_trim(0) hands the free pages back (madvise; allocations do
 * not move). At most once every TRIM_MIN_INTERVAL_MS, so a steady trickle of batches costs one
 * trim (about a millisecond for a 20 MB heap) per 10 s at most.
 */
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tracks *t = arg;
    if (t->jobs > 0)
        return; /* busy again: the next idle moment re-arms */
    int64_t now = lpg_now_ms();
    int64_t wait = t->last_trim_ms + TRIM_MIN_INTERVAL_MS - now;
    if (wait > TRIM_MIN_INTERVAL_MS)
        wait = TRIM_MIN_INTERVAL_MS; /* the wall clock went back */
    if (t->last_trim_ms != 0 && wait > 0) {
        struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000 * 1000)};
        event_add(t->trim, &tv);
        return;
    }
    t->last_trim_ms = now;
#ifdef __GLIBC__
    malloc_trim(0);
    t->stats.heap_trims++;
#endif
}

/* Ends the job and tells its caller the refusal `no`, or (NULL) the device's mark: last, since
 * `done` may hand over the device's next batch at once (the transport resumes reading), which
 * must find the job counted out. The answer is built here, not carried by every job in flight. */
static void job_end(struct ingest_job *job, const struct refusal *no)
{
    struct tracks *t = job->d->tracks;
    ingest_done_fn *done = job->done;
    void *arg = job->done_arg;
    struct ingest_result r;
    if (no) {
        r.position_seq = 0;
        r.refusal = *no;
    } else {
        r.position_seq = job->dev->hwm;
        r.refusal.kind = REFUSAL_NONE;
        r.refusal.code[0] = r.refusal.field[0] = r.refusal.message[0] = '\0';
    }
    free(job->fixes_copy);
    free(job->alerts);
    rules_track_free(&job->rules_after);
    free(job);
    if (--t->jobs == 0 && !event_pending(t->trim, EV_TIMEOUT, NULL)) {
        struct timeval tv = {0, TRIM_IDLE_MS * 1000};
        event_add(t->trim, &tv);
    }
    done(arg, &r);
}

/* Ends the job with a refusal: nothing of the batch was stored. */
static void job_refuse(struct ingest_job *job, enum refusal_kind kind, const char *code,
                       const char *message)
{
    struct refusal no;
    refuse(&no, kind, code, NULL, "%s", message);
    job_end(job, &no);
}

/* A store failure: err is the store's reason (NULL: Redis refused the transaction). */
static void job_store_failed(struct ingest_job *job, const char *err)
{
    int unknown = store_err_outcome_unknown(err);
    char msg[200];
    snprintf(msg, sizeof(msg), "%s; %s", err ? err : "the store refused the batch",
             unknown ? "resend it (resending is always safe)" : "nothing was stored, resend later");
    job_refuse(job, unknown ? REFUSAL_OUTCOME_UNKNOWN : REFUSAL_UNAVAILABLE,
               unknown ? "store_outcome_unknown" : "store_unavailable", msg);
}

/* The fix's sequence number: its own, or its time for a source without one. */
static uint64_t fix_seq(const struct ingest_job *job, const struct ingest_fix *f)
{
    if (job->seq_mode == INGEST_SEQ_TIME)
        return f->fix.time_ms > 0 ? (uint64_t)f->fix.time_ms : 0;
    return f->seq;
}

static int fix_valid(const struct ingest_job *job, const struct ingest_fix *f, int64_t now_ms,
                     int64_t max_future_ms)
{
    const struct lpg_fix *x = &f->fix;
    /* A fix from the future would become the vehicle's latest and make every real fix after
     * it "late": never stored. */
    if (x->time_ms > now_ms + max_future_ms)
        return 0;
    if (fix_seq(job, f) == 0)
        return 0;
    /* Written so that NaN (no position from the source) fails too. */
    if (!(x->pos.lat >= -90.0 && x->pos.lat <= 90.0) ||
        !(x->pos.lon >= -180.0 && x->pos.lon <= 180.0))
        return 0;
    if (x->time_ms < 946684800000LL) /* before 2000: a receiver without a date */
        return 0;
    return 1;
}

/* An optional measure in the stored integer unit (value / unit, rounded), or absent when the
 * source gave none or one that is negative or not finite. */
static void stored_unit(bool has, double value, double unit, int *has_out, uint64_t *out)
{
    double v = value / unit;
    *has_out = has && isfinite(v) && v >= 0.0 && v < 1.8e19;
    *out = *has_out ? (uint64_t)llround(v) : 0;
}

/* The fix in the stored units (route_member.h). A fix that came in them (the handset's
 * integers, through fix.h's units) comes back exactly: the doubles carry them without loss. */
static void to_route_fix(const struct ingest_fix *f, uint64_t seq, struct route_fix *rf)
{
    const struct lpg_fix *x = &f->fix;
    memset(rf, 0, sizeof(*rf));
    rf->seq = seq;
    rf->time_ms = x->time_ms;
    rf->lat_e7 = llround(x->pos.lat * 1e7);
    rf->lon_e7 = llround(x->pos.lon * 1e7);
    stored_unit(x->has_speed, x->speed_kmh, 0.036, &rf->has_speed, &rf->speed_cm_s);
    stored_unit(x->has_heading, x->heading_deg, 0.01, &rf->has_heading, &rf->heading_cdeg);
    stored_unit(x->has_accuracy, x->accuracy_m, 0.01, &rf->has_acc, &rf->accuracy_cm);
    rf->mode = x->mode;
    rf->flags = (x->flags & LPG_FIX_DERIVED_SPEED ? ROUTE_FLAG_DERIVED : 0) |
                (x->flags & LPG_FIX_LATE ? ROUTE_FLAG_LATE : 0);
    const struct lpg_vehicle_data *vd = f->vehicle_data;
    if (vd) {
        /* Only what was sent: a measure not in present is 0, so that the same report always
         * makes the same member (a resent backfill adds nothing to the day set). */
        uint32_t p = vd->present & LPG_VD_ALL;
        rf->has_vd = 1;
        rf->vd.status = vd->status;
        rf->vd.alarm = vd->alarm;
        rf->vd.present = p;
        rf->vd.altitude_m = p & LPG_VD_ALTITUDE ? vd->altitude_m : 0;
        rf->vd.mileage_100m = p & LPG_VD_MILEAGE ? vd->mileage_100m : 0;
        rf->vd.fuel_dl = p & LPG_VD_FUEL ? vd->fuel_dl : 0;
        rf->vd.recorder_speed_dkmh = p & LPG_VD_RECORDER_SPEED ? vd->recorder_speed_dkmh : 0;
        rf->vd.signal = p & LPG_VD_SIGNAL ? vd->signal : 0;
        rf->vd.satellites = p & LPG_VD_SATELLITES ? vd->satellites : 0;
    }
}

static void day_key(const struct service *d, const char *vehicle, int64_t ms, char *out, size_t cap)
{
    char rel[LPG_ID_MAX + 32];
    keys_route_day(rel, sizeof(rel), vehicle, lpg_local_day(ms, 0));
    store_key(d->store, out, cap, rel);
}

static void opt_u(char *out, size_t cap, int has, uint64_t v)
{
    if (has)
        snprintf(out, cap, "%" PRIu64, v);
    else
        snprintf(out, cap, "-");
}

/* The batch is stored (or was entirely a resend): acknowledged with the device's mark. */
static void send_ack(struct ingest_job *job)
{
    job_end(job, NULL);
}

/* A tick's events and new state, waiting for Redis to confirm them. */
struct tick_job {
    struct service *d;
    struct vehicle_track *track;
    struct rules_state after;
    struct lpg_alert alerts[RULES_EVENTS_MAX];
    size_t n;
    char device[LPG_ID_MAX + 1];
};

static void on_tick_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct tick_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        log_debug("tick state not confirmed (%s); retried next tick", err ? err : "refused");
    } else {
        job->track->rules.live = job->after;
        for (size_t i = 0; i < job->n; i++)
            alerts_raised(job->d, &job->alerts[i], job->device[0] ? job->device : NULL);
    }
    free(job);
}

static void ingest_apply_rest(struct service *d, const char *staff_id, int64_t until);

const char *ingest_source_name(enum ingest_source_kind k)
{
    switch (k) {
    case INGEST_SOURCE_VEHICLE_UNIT:
        return "vehicle_unit";
    case INGEST_SOURCE_JT808:
        return "jt808";
    case INGEST_SOURCE_HANDSET:
    default:
        return "handset";
    }
}

/* The batch moved the vehicle's newest position: keep it for the fleet board and tell whoever
 * listens (the live feed, which throttles it per vehicle). */
static void publish_position(struct ingest_job *job)
{
    struct vehicle_track *tr = job->track;
    tr->has_fix = 1;
    tr->fix_ms = job->last_after;
    tr->lat_e7 = job->newest_lat_e7;
    tr->lon_e7 = job->newest_lon_e7;
    tr->speed_cm_s = job->newest_speed_cm_s;
    tr->heading_cdeg = job->newest_heading_cdeg;
    const struct lpg_vehicle *v = registry_vehicle(job->d->registry, job->vehicle);
    struct event_position pos = {
        .time_ms = job->last_after,
        .lat = job->newest_lat_e7 / 1e7,
        .lon = job->newest_lon_e7 / 1e7,
        .speed_cm_s = job->newest_speed_cm_s,
        .heading_cdeg = job->newest_heading_cdeg,
        .source = ingest_source_name(job->src_kind),
    };
    struct service_event ev = {
        .kind = EV_POSITION,
        .enterprise_id = v ? v->enterprise_id : job->enterprise,
        .vehicle_id = job->vehicle,
        .staff_id = job->driver[0] ? job->driver : NULL,
        .position = &pos,
    };
    event_bus_publish(job->d->bus, &ev);
}

/* The vehicle's last position in the registry, which matching ranks by. A cache of
 * {p}vehicle:{id}:last, updated in place on every batch (no copy of the vehicle): the vehicle's
 * record is not written for it (its next stored change carries the position along). */
static void ingest_set_position(struct service *d, const char *vehicle, struct geo_point p,
                                int64_t ms, int32_t speed_cm_s)
{
    const struct lpg_vehicle *cur = registry_vehicle(d->registry, vehicle);
    if (cur == NULL || (cur->has_position && cur->position_ms >= ms))
        return;
    registry_set_vehicle_position(d->registry, vehicle, p, ms, speed_cm_s);
}

/* Adds the day's ZADD (argv[1] is its key) and its expiry: the day set expires retention days
 * after its UTC day ends -- trimming without a sweeper. The same fixes extend the seal record of
 * their route (local) days (app/route_seal.h), in this transaction. */
static int flush_day(struct service *d, struct store_txn *txn, const char *vehicle,
                     const char **argv, int argc, int32_t day)
{
    char expire[24];
    int64_t expire_s = ((int64_t)day + 1) * (DAY_MS / 1000) + d->cfg.route_retention_days * 86400;
    snprintf(expire, sizeof(expire), "%lld", (long long)expire_s);
    if (store_txn_add(txn, argc, argv, NULL) != 0 ||
        store_txn_addv(txn, "EXPIREAT", argv[1], expire, NULL) != 0)
        return -1;
    return route_seal_batch(d, txn, vehicle, argv + 2, (size_t)(argc - 2) / 2);
}

/* What the rules need to know about the vehicle's situation, from the registry. The zone
 * inside-zone test is made per fix by the caller. */
static void ingest_rules_ctx(struct service *d, const struct ingest_job *job, struct rules_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->utc_offset_min = LPG_DEFAULT_UTC_OFFSET_MIN;
    const struct lpg_staff *s = registry_staff(d->registry, job->staff);
    const struct lpg_enterprise *e = registry_enterprise(d->registry, job->enterprise);
    if (e)
        ctx->utc_offset_min = e->utc_offset_min;
    const struct lpg_vehicle *v = registry_vehicle(d->registry, job->vehicle);
    if (v)
        ctx->vehicle_limit_kmh = v->speed_limit_kmh;
    if (s) {
        ctx->on_active_delivery = s->active_orders > 0;
        /* The person's zone is for zone exit only; the speed limit comes from where each fix
         * is (ingest_limit_at). */
        ctx->has_zone = s->zone_id[0] && registry_zone(d->registry, s->zone_id) != NULL;
    }
}

/* The zones a fix may lie in at once that the limit considers; more overlapping zones of one
 * enterprise at one point are left out (ascending id: the same ones every time). */
#define INGEST_LIMIT_ZONES_MAX 16

/* The speed limit's context at this fix: the zones of the vehicle's enterprise containing it,
 * through the registry's zone index (O(log n) per fix). */
static void ingest_limit_at(struct service *d, const char *enterprise, struct geo_point p,
                            struct rules_ctx *ctx)
{
    const struct lpg_zone *zones[INGEST_LIMIT_ZONES_MAX];
    size_t n = registry_zones_at(d->registry, enterprise, p, zones, INGEST_LIMIT_ZONES_MAX);
    rules_ctx_zones_at(ctx, zones, n < INGEST_LIMIT_ZONES_MAX ? n : INGEST_LIMIT_ZONES_MAX);
}

/* The vehicle's alarm episodes become st: kept only once a watched bit was ever set. Out of
 * memory: the track is read again from the store (which has the state) at its next batch. */
static void track_set_alarms(struct vehicle_track *tr, const struct terminal_alarm_state *st)
{
    if (tr->alarms == NULL && st->word == 0)
        return; /* nothing open, and never was: the initial state says the same */
    if (tr->alarms == NULL)
        tr->alarms = malloc(sizeof(*tr->alarms));
    if (tr->alarms == NULL) {
        tr->loaded = 0;
        return;
    }
    *tr->alarms = *st;
}

/* The stored episodes (GET {p}vehicle:{id}:alarms): none, or one that does not decode, is the
 * initial state. */
static void track_load_alarms(struct vehicle_track *tr, const redisReply *r)
{
    struct terminal_alarm_state st;
    terminal_alarm_state_init(&st);
    if (r->type == REDIS_REPLY_STRING && terminal_alarm_state_decode(&st, r->str, r->len) != 0) {
        log_warn("stored alarm state of vehicle %s does not decode; starting afresh",
                 tr->vehicle_id);
        terminal_alarm_state_init(&st);
    }
    if (tr->alarms)
        *tr->alarms = st;
    else
        track_set_alarms(tr, &st);
}

static void on_stored(void *arg, const struct redisReply *reply, const char *err)
{
    struct ingest_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        job->dev->loaded = 0;   /* re-read the high-water mark before the next batch */
        job->track->loaded = 0; /* and the vehicle's state */
        if (job->person)
            job->person->loaded = 0; /* and the driver's fatigue */
        job->dev->backfill_ms = job->backfill_before;
        job_store_failed(job, err);
        return;
    }
    rules_track_move(&job->track->rules, &job->rules_after);
    if (job->alarms_applied)
        track_set_alarms(job->track, &job->alarms_after);
    job->track->last_ms = job->last_after;
    job->d->tracks->stats.fixes_stored += job->n_stored;
    job->d->tracks->stats.fixes_late += job->n_late;
    for (int r = 0; r < 8; r++)
        job->d->tracks->stats.filtered[r] += job->filtered[r];
    job->track->seen_ms = lpg_now_ms();
    job->track->source = (uint8_t)job->src_kind;
    if (job->has_newest) {
        ingest_set_position(job->d, job->vehicle, job->newest_pos, job->last_after,
                            job->newest_speed_cm_s);
        publish_position(job);
    }
    ingest_apply_rest(job->d, job->driver[0] ? job->driver : job->staff,
                      job->person ? job->rest_until_ms
                                  : rules_rest_until_ms(&job->track->rules.live));
    /* Stored: now tell the dispatchers and the reporting device (live events only), before the
     * batch's acknowledgement. */
    for (size_t i = 0; i < job->n_alerts; i++)
        alerts_raised(job->d, &job->alerts[i], job->device);
    job->track->depot = job->depot_after;
    depot_track_applied(job->d, job->vehicle, &job->depot, job->device);
    send_ack(job);
}

/* A device may number its fixes by their time in ms (a client without storage, like the demo's
 * simulated handsets): a seq up to the server's clock plus this slack is within the window
 * whatever the mark. */
#define SEQ_CLOCK_SLACK_MS DAY_MS

/*
 * The sequence window. Before it, one fix with seq 2^64-1 became the device's mark, and every
 * later fix was "at or below the mark", acknowledged and dropped, for good. Now a seq is taken
 * only if it is at most position_seq_window above the mark as the batch arrives, or at most the
 * server's clock in ms plus a day (numbering by time). A batch with a fix beyond both is refused
 * whole (REFUSED seq_out_of_window, nothing stored, the mark kept), so a unit that numbers
 * wrongly is told at once instead of losing its fixes in silence. Invalid fixes are ignored here
 * as everywhere: they never move the mark. So the mark never passes max(clock + 1 day, the
 * previous mark + window): reaching 2^64 would take 10^11 batches at the default window.
 *
 * A unit whose numbering restarts (new install, spool lost) sends seqs BELOW the mark: they
 * are skipped as resends and the Ack's position_seq (the mark) tells it where the server is;
 * lpg-agent then continues after the mark (docs/agent.md). Returns 0, or -1 once refused.
 */
static int seq_window_check(struct ingest_job *job, uint64_t hwm, int64_t now)
{
    struct service *d = job->d;
    uint64_t window = (uint64_t)d->cfg.position_seq_window;
    uint64_t clock_max = (uint64_t)(now > 0 ? now : 0) + SEQ_CLOCK_SLACK_MS;
    for (size_t i = 0; i < job->n_fixes; i++) {
        const struct ingest_fix *f = &job->fixes[i];
        uint64_t seq = fix_seq(job, f);
        /* Backfill by time is late by definition: never beyond the window. */
        if (!fix_valid(job, f, now, d->fix_filter_cfg.max_future_ms) || seq <= hwm ||
            seq - hwm <= window || seq <= clock_max ||
            (job->seq_mode == INGEST_SEQ_TIME && (f->fix.flags & LPG_FIX_LATE)))
            continue;
        char msg[300];
        snprintf(msg, sizeof(msg),
                 "fix seq %" PRIu64 " is more than %" PRIu64 " above this device's stored "
                 "high-water mark %" PRIu64 " (and above the server's clock in ms plus a day); "
                 "nothing of the batch was stored: number fixes from %" PRIu64 " on",
                 seq, window, hwm, hwm + 1);
        d->tracks->stats.batches_seq_refused++;
        log_debug("device %s: %s", job->device, msg); /* counted; bounded by the rate limit */
        job_refuse(job, REFUSAL_RULE, "seq_out_of_window", msg);
        return -1;
    }
    return 0;
}

/* Adds an alert of ev to the batch (source: "" for a tracking rule, else its name); beyond
 * INGEST_EVENTS_MAX, or out of memory, it is counted as dropped. Returns the alert or NULL. */
static struct lpg_alert *job_add_alert(struct ingest_job *job, const struct rule_event *ev,
                                       int64_t now)
{
    if (job->n_alerts == job->cap_alerts) {
        size_t cap = job->cap_alerts ? job->cap_alerts * 2 : 4;
        struct lpg_alert *bigger =
            cap <= INGEST_EVENTS_MAX ? realloc(job->alerts, cap * sizeof(*bigger)) : NULL;
        if (bigger == NULL) {
            job->d->tracks->stats.events_dropped++;
            return NULL;
        }
        job->alerts = bigger;
        job->cap_alerts = cap;
    }
    struct lpg_alert *a = &job->alerts[job->n_alerts++];
    /* Fatigue is the driver's (the signed-on person's), the other rules the vehicle's person's. */
    const char *staff = ev->rule == RULE_FATIGUE && job->driver[0] ? job->driver : job->staff;
    alerts_from_event(a, ev, job->enterprise, job->vehicle, staff, now);
    return a;
}

/* A live fix's alarm word: its edges become the terminal's alerts (one per episode start and
 * end), the state moves on (stored with the batch when an edge was found). */
static void apply_terminal_alarms(struct ingest_job *job, const struct route_fix *rf, int64_t now)
{
    struct terminal_alarm_edge edges[TERMINAL_ALARM_COUNT];
    size_t n = terminal_alarms_apply(&job->alarms_after, rf->vd.alarm, rf->time_ms, edges);
    job->alarms_applied = 1;
    for (size_t i = 0; i < n; i++) {
        const struct terminal_alarm_edge *e = &edges[i];
        struct rule_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = e->raised ? RULE_EVENT_VIOLATION_START : RULE_EVENT_VIOLATION_END;
        ev.start_ms = e->start_ms;
        ev.end_ms = e->end_ms;
        ev.duration_ms = e->end_ms - e->start_ms;
        ev.pos.lat = (double)rf->lat_e7 / 1e7;
        ev.pos.lon = (double)rf->lon_e7 / 1e7;
        if (e->raised)
            snprintf(ev.message, sizeof(ev.message), "terminal alarm: %s", e->def->what);
        else
            snprintf(ev.message, sizeof(ev.message), "terminal alarm over: %s after %lld s",
                     e->def->what, (long long)(ev.duration_ms / 1000));
        struct lpg_alert *a = job_add_alert(job, &ev, now);
        if (a)
            alerts_set_terminal(a, e->def->name);
        job->alarms_changed = 1;
    }
}

/* With the high-water mark known: store what is new, in one transaction. */
static void store_batch(struct ingest_job *job)
{
    struct service *d = job->d;
    struct ingest_device *dev = job->dev;
    size_t n_fixes = job->n_fixes;
    int64_t now = lpg_now_ms();
    if (seq_window_check(job, dev->hwm, now) != 0)
        return;
    struct store_txn *txn = store_txn_new();
    uint64_t hwm = dev->hwm;
    struct rules_ctx ctx;
    ingest_rules_ctx(d, job, &ctx);
    const struct lpg_staff *person = registry_staff(d->registry, job->staff);
    const struct lpg_zone *zone =
        person && person->zone_id[0] ? registry_zone(d->registry, person->zone_id) : NULL;
    int rc = rules_track_copy(&job->rules_after, &job->track->rules);
    struct person_fatigue *pf = job->person;
    if (pf) {
        /* Fatigue follows the person: their state, not the vehicle's, meets these fixes. */
        struct rules_fatigue f = pf->state;
        if (strcmp(pf->vehicle, job->vehicle) != 0)
            rules_fatigue_change_vehicle(&f);
        rules_fatigue_put(&job->rules_after.live, &f);
    }
    if (job->track->alarms)
        job->alarms_after = *job->track->alarms;
    else
        terminal_alarm_state_init(&job->alarms_after);
    int64_t backfill_ms = dev->backfill_ms; /* resent backfill is not evaluated again */
    job->depot_after = job->track->depot;
    job->backfill_before = backfill_ms;
    struct rule_event events[RULES_EVENTS_MAX];
    int64_t newest = job->track->last_ms;
    struct route_fix newest_rf;
    const struct route_fix *newest_fix = NULL;
    size_t stored = 0, dup = 0, invalid = 0, late = 0;
    /* The current day's ZADD: argv = ZADD key (score member)*, strings in zpool. */
    char zkey[256];
    int32_t zday = INT32_MIN;
    int zargc = 0;
    const char **zargv = malloc((2 + 2 * n_fixes) * sizeof(*zargv));
    char *zpool = malloc(n_fixes * (24 + ROUTE_MEMBER_MAX) + 1);
    size_t zused = 0;
    if (!txn || !zargv || !zpool)
        rc = -1;
    if (zargv) {
        zargv[0] = "ZADD";
        zargv[1] = zkey;
    }
    for (size_t i = 0; rc == 0 && i < n_fixes; i++) {
        const struct ingest_fix *f = &job->fixes[i];
        if (!fix_valid(job, f, now, d->fix_filter_cfg.max_future_ms)) {
            invalid++;
            continue;
        }
        uint64_t seq = fix_seq(job, f);
        /* Backfill (INGEST_SEQ_TIME, flagged late, at or below the mark): stored as a late fix,
         * the mark and the newest position stay. */
        int backfill = 0;
        if (seq <= hwm) {
            if (job->seq_mode != INGEST_SEQ_TIME || !(f->fix.flags & LPG_FIX_LATE)) {
                dup++;
                continue;
            }
            backfill = 1;
        } else {
            hwm = seq;
        }
        /* One ZADD (and one EXPIREAT) per day key per batch, not per fix: a batch almost
         * always falls in one UTC day. */
        int32_t day = lpg_local_day(f->fix.time_ms, 0);
        if (day != zday && zargc > 2)
            rc = flush_day(d, txn, job->vehicle, zargv, zargc, zday);
        if (day != zday) {
            zargc = 2;
            zday = day;
            day_key(d, job->vehicle, f->fix.time_ms, zkey, sizeof(zkey));
        }
        struct route_fix rf;
        to_route_fix(f, seq, &rf);
        char *score = zpool + zused;
        zused += (size_t)snprintf(score, 24, "%" PRId64, rf.time_ms) + 1;
        char *member = zpool + zused;
        zused += (size_t)route_member_format(&rf, member, ROUTE_MEMBER_MAX) + 1;
        zargv[zargc++] = score;
        zargv[zargc++] = member;
        stored++;
        /* The rules see the fixes that pass the filters, in arrival order. A fix older than
         * what they have seen (a unit uploading what it buffered) is evaluated on the
         * vehicle's separate late state instead: its violations are recorded, marked late. */
        struct lpg_fix fx;
        route_fix_to_lpg_fix(&rf, &fx);
        ctx.inside_zone = zone == NULL || geo_multipolygon_contains(&zone->shape.mp, fx.pos);
        ingest_limit_at(d, job->enterprise, fx.pos, &ctx);
        if (backfill && rf.time_ms <= backfill_ms) {
            late++; /* a resent backfill: its member is the same, its events were recorded */
            continue;
        }
        if (backfill)
            backfill_ms = rf.time_ms;
        size_t n_ev = 0;
        bool late_evaluated;
        enum fix_filter_reason fr =
            rules_track_process_fix(&d->fix_filter_cfg, &d->rules_cfg, &job->rules_after, &fx, now,
                                    &ctx, events, RULES_EVENTS_MAX, &n_ev, &late_evaluated);
        job->filtered[fr]++;
        if (fr == FIX_FILTER_OUT_OF_ORDER && !late_evaluated)
            d->tracks->stats.events_dropped++; /* no memory for the late state: not evaluated */
        for (size_t e = 0; e < n_ev; e++)
            job_add_alert(job, &events[e], now);
        /* The terminal's own alarms follow its live fixes (a report without a valid position
         * too: a GNSS fault comes without one), never what it uploads late: its backfill, or
         * anything flagged late (then stored with the fix, raising nothing). */
        if (rf.has_vd && !(rf.flags & ROUTE_FLAG_LATE))
            apply_terminal_alarms(job, &rf, now);
        /* Only a fix the filters accept may become the vehicle's latest position; late is a
         * stored fix older than the vehicle's newest (not one the filters refused). */
        if (!backfill && fr == FIX_FILTER_OK && rf.time_ms > newest) {
            depot_track_fix(d, job->vehicle, &job->depot_after, &fx, &job->depot);
            newest = rf.time_ms;
            newest_rf = rf;
            newest_fix = &newest_rf;
        } else if (backfill || fr == FIX_FILTER_OUT_OF_ORDER ||
                   (fr == FIX_FILTER_OK && rf.time_ms <= newest)) {
            /* Late only as the filters see it (older than the last accepted fix): a fix they
             * drop (invalid, accuracy, jump...) is counted under its own reason in
             * lpg_fixes_filtered_total, whatever its time. */
            late++;
        }
    }
    /* The driver's fatigue leaves the vehicle's state with the vehicle it was counted in (kept
     * as it was while the change of vehicle is pending: no fix reached the rule). The vehicle
     * keeps none of it: its stored state never holds a person's fatigue, so only a state from
     * before fatigue followed the person is ever inherited (person_load). */
    struct rules_fatigue fatigue_after;
    char fatigue_vehicle[LPG_ID_MAX + 1];
    if (pf) {
        struct rules_fatigue none;
        rules_fatigue_get(&job->rules_after.live, &fatigue_after);
        rules_fatigue_init(&none);
        rules_fatigue_put(&job->rules_after.live, &none);
        snprintf(fatigue_vehicle, sizeof(fatigue_vehicle), "%s",
                 rules_fatigue_change_pending(&fatigue_after) ? pf->vehicle : job->vehicle);
        job->rest_until_ms = rules_fatigue_rest_until_ms(&fatigue_after);
    }
    if (rc == 0 && zargc > 2)
        rc = flush_day(d, txn, job->vehicle, zargv, zargc, zday);
    free(zargv);
    free(zpool);
    char rel[LPG_ID_MAX + 32], key[256], v[24];
    if (rc == 0 && stored > 0) {
        keys_device_seq(rel, sizeof(rel), job->device);
        store_key(d->store, key, sizeof(key), rel);
        snprintf(v, sizeof(v), "%" PRIu64, hwm);
        rc = store_txn_addv(txn, "SET", key, v, NULL);
    }
    if (newest_fix) {
        job->has_newest = 1;
        job->newest_pos.lon = newest_fix->lon_e7 / 1e7;
        job->newest_pos.lat = newest_fix->lat_e7 / 1e7;
        job->newest_speed_cm_s = newest_fix->has_speed && newest_fix->speed_cm_s <= INT32_MAX
                                     ? (int32_t)newest_fix->speed_cm_s
                                     : -1;
        job->newest_heading_cdeg = newest_fix->has_heading && newest_fix->heading_cdeg <= 36000
                                       ? (int32_t)newest_fix->heading_cdeg
                                       : -1;
        job->newest_lat_e7 = (int32_t)newest_fix->lat_e7;
        job->newest_lon_e7 = (int32_t)newest_fix->lon_e7;
    }
    if (rc == 0 && newest_fix) {
        char t[24], lat[24], lon[24], sp[24], glon[32], glat[32], geo[96], vd[ROUTE_VD_MAX];
        keys_vehicle_last(rel, sizeof(rel), job->vehicle);
        store_key(d->store, key, sizeof(key), rel);
        snprintf(t, sizeof(t), "%" PRId64, newest_fix->time_ms);
        snprintf(lat, sizeof(lat), "%d", (int)newest_fix->lat_e7);
        snprintf(lon, sizeof(lon), "%d", (int)newest_fix->lon_e7);
        opt_u(sp, sizeof(sp), newest_fix->has_speed, newest_fix->speed_cm_s);
        snprintf(v, sizeof(v), "%" PRIu64, newest_fix->seq);
        /* Always written: a newer fix without vehicle data must not show an older one's. */
        if (newest_fix->has_vd)
            route_vd_format(&newest_fix->vd, vd, sizeof(vd));
        else
            snprintf(vd, sizeof(vd), "-");
        rc = store_txn_addv(txn, "HSET", key, "time_ms", t, "lat_e7", lat, "lon_e7", lon,
                            "speed_cm_s", sp, "seq", v, "device", job->device, "vehicle_data", vd,
                            NULL);
        /* Coordinates formatted by us: hiredis' %f would keep only 6 decimals. */
        snprintf(glon, sizeof(glon), "%.7f", newest_fix->lon_e7 / 1e7);
        snprintf(glat, sizeof(glat), "%.7f", newest_fix->lat_e7 / 1e7);
        store_key(d->store, geo, sizeof(geo), KEYS_GEO_VEHICLES);
        /* GEO covers |lat| <= 85.05; such latitudes are far from any delivery. */
        if (rc == 0 && newest_fix->lat_e7 < 850500000 && newest_fix->lat_e7 > -850500000)
            rc = store_txn_addv(txn, "GEOADD", geo, glon, glat, job->vehicle, NULL);
    }
    /* The rule state travels with the batch: a restart continues every episode. */
    if (rc == 0 && stored > 0) {
        char text[RULES_STATE_TEXT_MAX];
        int tl = rules_state_encode(&job->rules_after.live, text, sizeof(text));
        keys_vehicle_rules(rel, sizeof(rel), job->vehicle);
        store_key(d->store, key, sizeof(key), rel);
        rc = tl < 0 ? -1 : store_txn_addv(txn, "SET", key, text, NULL);
    }
    /* So does the driver's fatigue. */
    if (rc == 0 && stored > 0 && pf) {
        char text[RULES_FATIGUE_TEXT_MAX];
        int tl = rules_fatigue_encode(&fatigue_after, text, sizeof(text));
        keys_staff_fatigue(rel, sizeof(rel), pf->staff_id);
        store_key(d->store, key, sizeof(key), rel);
        rc = tl < 0
                 ? -1
                 : store_txn_addv(txn, "HSET", key, "vehicle",
                                  fatigue_vehicle[0] ? fatigue_vehicle : "-", "state", text, NULL);
    }
    /* The terminal's episodes travel with the batch too: a restart raises nothing again. */
    if (rc == 0 && job->alarms_changed) {
        char text[TERMINAL_ALARM_STATE_TEXT_MAX];
        int tl = terminal_alarm_state_encode(&job->alarms_after, text, sizeof(text));
        keys_vehicle_alarms(rel, sizeof(rel), job->vehicle);
        store_key(d->store, key, sizeof(key), rel);
        rc = tl < 0 ? -1 : store_txn_addv(txn, "SET", key, text, NULL);
    }
    for (size_t i = 0; rc == 0 && i < job->n_alerts; i++)
        rc = alerts_store(d, txn, &job->alerts[i]);
    if (rc == 0)
        rc = depot_track_store(d, txn, job->vehicle, &job->depot_after, &job->depot, now);
    d->tracks->stats.batches++;
    d->tracks->stats.fixes_duplicate += dup;
    d->tracks->stats.fixes_invalid += invalid;
    if (rc != 0) {
        store_txn_free(txn);
        job_refuse(job, REFUSAL_UNAVAILABLE, "not_recorded",
                   "the batch could not be recorded (audit record unavailable or out of memory); "
                   "nothing was stored, resend later");
        return;
    }
    if (stored == 0) {
        /* Nothing new (a resend): acknowledge at once with the high-water mark. */
        store_txn_free(txn);
        send_ack(job);
        return;
    }
    const char *why;
    /* Remember the new mark and newest time now: the device's next batch waits for this one's
     * answer (its transport hands over one at a time), and a failure resets `loaded`. */
    uint64_t old_hwm = dev->hwm;
    dev->hwm = hwm;
    dev->backfill_ms = backfill_ms;
    job->last_after = newest;
    /* The driver's next batch may be of another vehicle, before this one is confirmed: it
     * starts from this state (a failure re-reads the stored one). */
    if (pf) {
        pf->state = fatigue_after;
        snprintf(pf->vehicle, sizeof(pf->vehicle), "%s", fatigue_vehicle);
    }
    if (store_txn_exec(d->store, txn, on_stored, job, &why) != 0) {
        dev->hwm = old_hwm;
        dev->backfill_ms = job->backfill_before;
        if (pf)
            pf->loaded = 0;
        char msg[200];
        snprintf(msg, sizeof(msg), "%s; nothing was stored, resend later", why);
        job_refuse(job, REFUSAL_UNAVAILABLE, "store_unavailable", msg);
        return;
    }
    job->n_stored = stored;
    job->n_late = late;
}

/* The driver's stored fatigue (HMGET vehicle state). None stored: the bound person of a vehicle
 * whose rule state predates fatigue per person takes the vehicle's (an upgrade keeps their
 * driving time); anyone else starts afresh -- a second driver resets nothing for the first. */
static void person_load(struct ingest_job *job, const redisReply *r)
{
    struct person_fatigue *pf = job->person;
    rules_fatigue_init(&pf->state);
    pf->vehicle[0] = '\0';
    const redisReply *veh = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[0] : NULL;
    const redisReply *st = veh ? r->element[1] : NULL;
    if (st && st->type == REDIS_REPLY_STRING) {
        if (rules_fatigue_decode(&pf->state, st->str, st->len) != 0) {
            log_warn("stored fatigue of %s does not decode; starting afresh", pf->staff_id);
            rules_fatigue_init(&pf->state);
        } else if (veh->type == REDIS_REPLY_STRING && veh->len < sizeof(pf->vehicle) &&
                   !(veh->len == 1 && veh->str[0] == '-')) {
            memcpy(pf->vehicle, veh->str, veh->len);
            pf->vehicle[veh->len] = '\0';
        }
    } else {
        const struct lpg_vehicle *v = registry_vehicle(job->d->registry, job->vehicle);
        if (v && strcmp(v->staff_id, pf->staff_id) == 0) {
            rules_fatigue_get(&job->track->rules.live, &pf->state);
            snprintf(pf->vehicle, sizeof(pf->vehicle), "%s", job->vehicle);
        }
    }
    pf->loaded = 1;
}

static void on_marks(void *arg, const struct redisReply *reply, const char *err)
{
    struct ingest_job *job = arg;
    struct ingest_device *dev = job->dev;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != job->n_reads) {
        job_refuse(job, REFUSAL_UNAVAILABLE, "store_unavailable",
                   "could not read the device's position state; resend later");
        return;
    }
    const redisReply *h = reply->element[0], *t = reply->element[1];
    if (!dev->loaded) {
        dev->hwm = h->type == REDIS_REPLY_STRING ? strtoull(h->str, NULL, 10) : 0;
        dev->loaded = 1;
    }
    struct vehicle_track *tr = job->track;
    if (!tr->loaded) {
        tr->last_ms = t->type == REDIS_REPLY_STRING ? strtoll(t->str, NULL, 10) : 0;
        const redisReply *r = reply->element[2];
        rules_state_init(&tr->rules.live);
        if (r->type == REDIS_REPLY_STRING &&
            rules_state_decode(&tr->rules.live, r->str, r->len) != 0) {
            /* Better to start the episodes afresh than to refuse the vehicle's positions. */
            log_warn("stored rule state of vehicle %s does not decode; starting afresh",
                     job->vehicle);
            rules_state_init(&tr->rules.live);
        }
        track_load_alarms(tr, reply->element[3]);
        tr->loaded = 1;
    }
    if (job->person && !job->person->loaded && job->n_reads == 5)
        person_load(job, reply->element[4]);
    store_batch(job);
}

/* ---- the vehicle-track table ---- */

static unsigned track_bucket(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (TRACK_BUCKETS - 1);
}

/* Room in the id blocks for id (a registry id: <= LPG_ID_MAX + 1 bytes). 0 or -1 (OOM). */
static int id_room(struct tracks *t, const char *id)
{
    size_t len = strlen(id) + 1;
    if (t->ids == NULL || t->ids->used + len > ID_BLOCK_BYTES) {
        struct id_block *blk = malloc(sizeof(*blk));
        if (blk == NULL)
            return -1;
        blk->next = t->ids;
        blk->used = 0;
        t->ids = blk;
    }
    return 0;
}

/* A copy of id in the id blocks, after id_room() said there is room. */
static const char *id_keep(struct tracks *t, const char *id)
{
    size_t len = strlen(id) + 1;
    char *copy = t->ids->text + t->ids->used;
    memcpy(copy, id, len);
    t->ids->used += len;
    return copy;
}

static struct vehicle_track *track_get(struct service *d, const char *vehicle)
{
    struct tracks *t = d->tracks;
    unsigned b = track_bucket(vehicle);
    for (struct vehicle_track *tr = t->buckets[b]; tr; tr = tr->next)
        if (strcmp(tr->vehicle_id, vehicle) == 0)
            return tr;
    if (id_room(t, vehicle) != 0)
        return NULL;
    struct vehicle_track *tr = pool_take(&t->track_pool);
    if (tr == NULL)
        return NULL;
    tr->vehicle_id = id_keep(t, vehicle);
    rules_track_init(&tr->rules);
    tr->alarms = NULL;
    tr->next = t->buckets[b];
    t->buckets[b] = tr;
    t->n++;
    return tr;
}

static struct person_fatigue *person_get(struct tracks *t, const char *staff)
{
    unsigned b = track_bucket(staff);
    for (struct person_fatigue *p = t->person_buckets[b]; p; p = p->next)
        if (strcmp(p->staff_id, staff) == 0)
            return p;
    if (id_room(t, staff) != 0)
        return NULL;
    struct person_fatigue *p = pool_take(&t->person_pool);
    if (p == NULL)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->staff_id = id_keep(t, staff);
    rules_fatigue_init(&p->state);
    p->next = t->person_buckets[b];
    t->person_buckets[b] = p;
    return p;
}

/* ---- fatigue -> eligibility: a person in mandatory rest takes no new orders ---- */

struct rest_job {
    struct usecase_job base; /* first: the lifecycle (usecase_job.h) */
    char staff[LPG_ID_MAX + 1];
    int64_t rest_until_ms;
    struct lpg_staff *updated;
};

static void rest_free(struct usecase_job *base)
{
    struct rest_job *job = (struct rest_job *)base;
    free(job->updated);
    free(job);
}

/* Nobody waits for it: logged; the rule asks again on the person's next batch. */
static void rest_failed(struct usecase_job *base, const struct usecase_failure *f)
{
    struct rest_job *job = (struct rest_job *)base;
    if (!f->cancelled)
        log_warn("could not record the mandatory rest of %s: %s", job->staff, f->store_err);
}

static void on_rest_stored(struct usecase_job *base)
{
    struct rest_job *job = (struct rest_job *)base;
    registry_put_staff(job->base.s->registry, job->updated);
    job->updated = NULL;
    /* A rest ended early lets the person take waiting orders now; a new one moves the instant
     * of the dispatcher's next wake-up (each pass ends by arming it). */
    dispatcher_rematch(job->base.s);
}

static void run_rest(struct usecase_job *base)
{
    struct rest_job *job = (struct rest_job *)base;
    const struct lpg_staff *cur = registry_staff(job->base.s->registry, job->staff);
    if (cur == NULL || cur->rest_until_ms == job->rest_until_ms) {
        usecase_job_end(&job->base);
        return;
    }
    job->updated = lpg_staff_dup(cur);
    json_t *rec = NULL;
    char *text = NULL;
    if (job->updated) {
        job->updated->rest_until_ms = job->rest_until_ms;
        rec = lpg_json_from_staff(job->updated);
        text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    }
    json_decref(rec);
    struct store_txn *txn = store_txn_new();
    int rc = txn && text ? registry_store_save(job->base.s->store, txn, RS_STAFF, job->staff, text,
                                               strlen(text))
                         : -1;
    free(text);
    if (rc != 0) {
        store_txn_free(txn);
        usecase_job_store_failed(&job->base, "out of memory");
        return;
    }
    usecase_job_commit(&job->base, txn);
}

static const struct usecase_job_ops rest_job_ops = {
    .store_refused = "refused",
    .run = run_rest,
    .applied = on_rest_stored,
    .failed = rest_failed,
    .free = rest_free,
};

/* The fatigue rule's "rest until" goes into the person's record (through the writer, like any
 * change of a stored entity), where matching reads it. */
static void ingest_apply_rest(struct service *d, const char *staff_id, int64_t until)
{
    const struct lpg_staff *s = registry_staff(d->registry, staff_id);
    if (s == NULL || s->rest_until_ms == until)
        return;
    struct rest_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return;
    usecase_job_init(&job->base, &rest_job_ops, d);
    snprintf(job->staff, sizeof(job->staff), "%s", staff_id);
    job->rest_until_ms = until;
    if (usecase_job_submit(&job->base) != 0)
        usecase_job_discard(&job->base);
}

/* ---- time-based rules: signal lost ---- */

static void tick_vehicle(struct service *d, struct vehicle_track *tr, int64_t now)
{
    const struct lpg_vehicle *v = registry_vehicle(d->registry, tr->vehicle_id);
    const struct lpg_staff *s =
        v && v->staff_id[0] ? registry_staff(d->registry, v->staff_id) : NULL;
    if (s == NULL)
        return;
    const struct lpg_enterprise *e = registry_enterprise(d->registry, s->enterprise_id);
    struct rules_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.utc_offset_min = e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN;
    ctx.on_active_delivery = s->active_orders > 0;
    ctx.has_zone = s->zone_id[0] != '\0';
    ctx.inside_zone = true;
    struct rule_event events[RULES_EVENTS_MAX];
    struct rules_state after = tr->rules.live;
    size_t n = rules_tick(&d->rules_cfg, &after, now, &ctx, events, RULES_EVENTS_MAX);
    if (n == 0)
        return;
    /* Store the events with the new state, then raise them. */
    struct lpg_alert alerts[RULES_EVENTS_MAX];
    struct store_txn *txn = store_txn_new();
    int rc = txn ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        alerts_from_event(&alerts[i], &events[i], s->enterprise_id, v->id, s->id, now);
        rc = alerts_store(d, txn, &alerts[i]);
    }
    char text[RULES_STATE_TEXT_MAX], rel[LPG_ID_MAX + 32], key[256];
    int tl = rules_state_encode(&after, text, sizeof(text));
    keys_vehicle_rules(rel, sizeof(rel), v->id);
    store_key(d->store, key, sizeof(key), rel);
    if (rc == 0)
        rc = tl < 0 ? -1 : store_txn_addv(txn, "SET", key, text, NULL);
    const char *why = "out of memory";
    struct tick_job *job = rc == 0 ? calloc(1, sizeof(*job)) : NULL;
    if (job == NULL) {
        store_txn_free(txn);
    } else {
        job->d = d;
        job->track = tr;
        job->after = after;
        memcpy(job->alerts, alerts, n * sizeof(alerts[0]));
        job->n = n;
        snprintf(job->device, sizeof(job->device), "%s", s->device_id);
        /* Applied and raised once Redis confirms (on_tick_stored); else retried next tick. */
        if (store_txn_exec(d->store, txn, on_tick_stored, job, &why) == 0)
            return;
        free(job);
    }
    log_debug("tick of vehicle %s not stored (%s); retried next tick", v->id, why);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tracks *t = arg;
    struct service *d = t->d;
    if (!d->loaded || store_state(d->store) != STORE_UP)
        return;
    int64_t now = lpg_now_ms();
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        for (struct vehicle_track *tr = t->buckets[b]; tr; tr = tr->next)
            if (tr->loaded)
                tick_vehicle(d, tr, now);
}

/* ---- at start: vehicles on an active delivery are watched even before they report ---- */

static void on_track_loaded(void *arg, const struct redisReply *reply, const char *err)
{
    struct vehicle_track *tr = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || tr->loaded)
        return; /* loaded by a batch meanwhile, or lost: the next batch loads it */
    const redisReply *t = reply->element[0], *r = reply->element[1];
    tr->last_ms = t->type == REDIS_REPLY_STRING ? strtoll(t->str, NULL, 10) : 0;
    rules_state_init(&tr->rules.live);
    if (r->type == REDIS_REPLY_STRING && rules_state_decode(&tr->rules.live, r->str, r->len) != 0)
        rules_state_init(&tr->rules.live);
    track_load_alarms(tr, reply->element[2]);
    tr->loaded = 1;
}

void ingest_watch_active(struct service *d)
{
    const struct lpg_vehicle *page[256];
    const char *after = NULL;
    char cursor[LPG_ID_MAX + 1] = "";
    size_t watched = 0, n;
    do {
        n = registry_list_vehicles(d->registry, NULL, after, 256, NULL, NULL, page);
        for (size_t i = 0; i < n; i++) {
            const struct lpg_vehicle *v = page[i];
            const struct lpg_staff *s =
                v->staff_id[0] ? registry_staff(d->registry, v->staff_id) : NULL;
            if (s == NULL || s->active_orders == 0)
                continue;
            struct vehicle_track *tr = track_get(d, v->id);
            if (tr == NULL || tr->loaded)
                continue;
            char rel[LPG_ID_MAX + 32], k1[256], k2[256], k3[256];
            keys_vehicle_last(rel, sizeof(rel), v->id);
            store_key(d->store, k1, sizeof(k1), rel);
            keys_vehicle_rules(rel, sizeof(rel), v->id);
            store_key(d->store, k2, sizeof(k2), rel);
            keys_vehicle_alarms(rel, sizeof(rel), v->id);
            store_key(d->store, k3, sizeof(k3), rel);
            struct store_txn *txn = store_txn_new();
            const char *why;
            if (txn == NULL || store_txn_addv(txn, "HGET", k1, "time_ms", NULL) != 0 ||
                store_txn_addv(txn, "GET", k2, NULL) != 0 ||
                store_txn_addv(txn, "GET", k3, NULL) != 0) {
                store_txn_free(txn);
                continue;
            }
            if (store_txn_exec(d->store, txn, on_track_loaded, tr, &why) == 0)
                watched++;
        }
        if (n > 0) {
            snprintf(cursor, sizeof(cursor), "%s", page[n - 1]->id);
            after = cursor;
        }
    } while (n == 256);
    if (watched)
        log_info("watching %zu vehicles on active deliveries for signal loss", watched);
}

/* ---- Redis memory: the watermark ---- */

/* The value of "name:" in INFO's text, or -1. */
static long long info_field(const char *text, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = text, *end = text + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (ll > nl && memcmp(p, name, nl) == 0 && p[nl] == ':') {
            char num[32];
            size_t k = ll - nl - 1 < sizeof(num) - 1 ? ll - nl - 1 : sizeof(num) - 1;
            memcpy(num, p + nl + 1, k);
            num[k] = '\0';
            char *e;
            long long v = strtoll(num, &e, 10);
            return e != num && v >= 0 ? v : -1;
        }
        p = eol ? eol + 1 : end;
    }
    return -1;
}

static void on_system_alert_stored(void *arg, const struct redisReply *reply, const char *err)
{
    (void)arg;
    if (err || reply->type != REDIS_REPLY_ARRAY)
        log_warn("the Redis memory alert was not recorded (%s); it was logged and sent live",
                 err ? err : "refused");
}

static void on_memory_info(void *arg, const struct redisReply *reply, const char *err)
{
    struct service *d = arg;
    struct redis_memory_watch *w = &d->tracks->mem;
    w->polling = 0;
    if (err || reply->type != REDIS_REPLY_STRING) {
        w->m.known = 0;
        return;
    }
    long long used = info_field(reply->str, reply->len, "used_memory");
    long long max = info_field(reply->str, reply->len, "maxmemory");
    if (used < 0 || max < 0) {
        w->m.known = 0;
        return;
    }
    w->m.known = 1;
    w->m.used = (uint64_t)used;
    w->m.max = (uint64_t)max;
    w->m.read_ms = lpg_now_ms();
    int64_t mark = d->cfg.redis_memory_watermark;
    /* Percent of maxmemory, rounded down; no maxmemory: never "above" (the /healthz warning
     * says that there is no limit at all). */
    int64_t pct = max > 0 ? (int64_t)((double)used * 100.0 / (double)max) : 0;
    w->m.percent = (int)pct;
    w->m.above = max > 0 && pct >= mark;
    if (!w->m.above) {
        /* Re-armed only well below the mark: memory wobbling around it alerts once. */
        if (w->alerted && pct < mark - 5)
            w->alerted = 0;
        return;
    }
    if (w->alerted)
        return;
    w->alerted = 1;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "Redis memory at %lld%% of maxmemory (%lld of %lld bytes; watermark %lld%%): at "
             "maxmemory every write is refused (positions, orders); add memory or shorten "
             "retention",
             (long long)pct, used, max, (long long)mark);
    d->tracks->stats.memory_alerts++;
    struct store_txn *txn = store_txn_new();
    if (alerts_system(d, "redis_memory", msg, txn) != 0) {
        store_txn_free(txn);
        return;
    }
    const char *why;
    if (store_txn_exec(d->store, txn, on_system_alert_stored, NULL, &why) != 0)
        log_warn("the Redis memory alert was not recorded (%s); it was logged and sent live", why);
}

static void on_memory_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *d = arg;
    struct redis_memory_watch *w = &d->tracks->mem;
    if (w->polling)
        return; /* the last INFO has not come back: no pile-up */
    if (store_state(d->store) != STORE_UP) {
        w->m.known = 0;
        return;
    }
    const char *argv[] = {"INFO", "memory"};
    const char *why;
    if (store_command_argv(d->store, on_memory_info, d, 2, argv, NULL, &why) == 0)
        w->polling = 1;
}

const struct ingest_redis_memory *ingest_redis_memory(const struct service *d)
{
    return d->tracks ? &d->tracks->mem.m : NULL;
}

const struct ingest_stats *ingest_stats(const struct service *d)
{
    static const struct ingest_stats none;
    return d->tracks ? &d->tracks->stats : &none;
}

int ingest_init(struct service *d)
{
    struct tracks *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    t->d = d;
    pool_init(&t->track_pool, sizeof(struct vehicle_track), TRACK_POOL_BLOCK);
    pool_init(&t->device_pool, sizeof(struct ingest_device), TRACK_POOL_BLOCK);
    pool_init(&t->person_pool, sizeof(struct person_fatigue), TRACK_POOL_BLOCK);
    t->tick = event_new(d->base, -1, EV_PERSIST, on_tick, t);
    t->trim = event_new(d->base, -1, 0, on_trim, t);
    t->mem.poll = event_new(d->base, -1, EV_PERSIST, on_memory_poll, d);
    struct timeval tv = {TRACK_TICK_S, 0};
    struct timeval mem_tv = {(time_t)d->cfg.redis_memory_check_interval, 0};
    if (t->tick == NULL || t->trim == NULL || t->mem.poll == NULL || event_add(t->tick, &tv) != 0 ||
        event_add(t->mem.poll, &mem_tv) != 0) {
        if (t->tick)
            event_free(t->tick);
        if (t->trim)
            event_free(t->trim);
        if (t->mem.poll)
            event_free(t->mem.poll);
        free(t);
        return -1;
    }
    d->tracks = t;
    return 0;
}

void ingest_free(struct service *d)
{
    struct tracks *t = d->tracks;
    if (t == NULL)
        return;
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        for (struct vehicle_track *tr = t->buckets[b], *next; tr; tr = next) {
            next = tr->next;
            rules_track_free(&tr->rules);
            free(tr->alarms);
        }
    event_free(t->tick);
    event_free(t->trim);
    event_free(t->mem.poll);
    pool_free_all(&t->track_pool);
    pool_free_all(&t->device_pool);
    pool_free_all(&t->person_pool);
    for (struct id_block *blk = t->ids, *next; blk; blk = next) {
        next = blk->next;
        free(blk);
    }
    free(t);
    d->tracks = NULL;
}

/* ---- the per-device position rate limit ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ingest_device *device_get(struct tracks *t, const char *device)
{
    unsigned b = track_bucket(device);
    for (struct ingest_device *r = t->device_buckets[b]; r; r = r->next)
        if (strcmp(r->device_id, device) == 0)
            return r;
    if (id_room(t, device) != 0)
        return NULL;
    struct ingest_device *r = pool_take(&t->device_pool);
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->device_id = id_keep(t, device);
    r->next = t->device_buckets[b];
    t->device_buckets[b] = r;
    return r;
}

struct ingest_device *ingest_device_of(struct service *s, const char *device_id)
{
    return s->tracks && device_id && device_id[0] ? device_get(s->tracks, device_id) : NULL;
}

void ingest_device_session_ended(struct ingest_device *dev)
{
    /* Read again at the next batch, as a new session always did: the mark in the store is the
     * truth (it may have been changed meanwhile by hand or by a test); the bucket stays. */
    if (dev)
        dev->loaded = 0;
}

/*
 * A token bucket per device: position_rate_burst fixes at once, refilled at
 * position_rate_max fixes/s. A batch costs its number of fixes and goes in whole or not at all
 * (a refused batch is not acknowledged: the device resends it, nothing is lost). Store and
 * forward: a unit back after an hour offline at 1 Hz sends its 3,600 late fixes at once and the
 * full bucket (36,000 by default) takes them; a longer backlog drains at the refill rate minus
 * what the unit sends live, so it is delayed, never refused for good (the burst is at least
 * 2,000, the largest batch, so every batch fits in a full bucket). Resends cost again: the
 * limit is on what a device makes the service do, not on what it stores.
 * Returns 0 when admitted, else the seconds after which the batch would be (>= 1).
 */
static int64_t rate_admit(struct service *d, struct ingest_device *r, size_t n)
{
    double rate = (double)d->cfg.position_rate_max;
    double burst = (double)d->cfg.position_rate_burst;
    int64_t now = mono_ms();
    if (r->at_ms == 0) {
        r->tokens = burst; /* a device starts with a full bucket: its backlog goes in at once */
        r->at_ms = now;
    }
    if (now > r->at_ms) {
        r->tokens += (double)(now - r->at_ms) * rate / 1000.0;
        if (r->tokens > burst)
            r->tokens = burst;
    }
    r->at_ms = now;
    if (r->tokens >= (double)n) {
        r->tokens -= (double)n;
        return 0;
    }
    int64_t wait = (int64_t)(((double)n - r->tokens) / rate) + 1;
    return wait;
}

/* A refusal before any job exists: answered at once. */
static void answer_now(ingest_done_fn *done, void *arg, enum refusal_kind kind, const char *code,
                       const char *message)
{
    struct ingest_result r;
    r.position_seq = 0;
    refuse(&r.refusal, kind, code, NULL, "%s", message);
    done(arg, &r);
}

void ingest_positions(struct service *d, const struct ingest_source *src,
                      const struct ingest_fix *fixes, size_t n, ingest_done_fn *done, void *arg)
{
    if (!d->loaded) {
        answer_now(done, arg, REFUSAL_UNAVAILABLE, "loading",
                   "the service is loading; nothing was stored, resend shortly");
        return;
    }
    if (src->device_id == NULL || src->device_id[0] == '\0') {
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "the source has no device id");
        return;
    }
    /* The vehicle: the one the source names, else its person's. The person: the one the source
     * is logged in as, else the vehicle's (the rules read their zone, deliveries and rest). */
    const struct lpg_staff *s = src->staff_id ? registry_staff(d->registry, src->staff_id) : NULL;
    const struct lpg_vehicle *v = NULL;
    const char *refusal = NULL, *code = NULL;
    char msg[160];
    if (src->vehicle_id) {
        v = registry_vehicle(d->registry, src->vehicle_id);
        if (v == NULL) {
            refusal = "the vehicle this device reports for is not registered";
            code = "unknown_vehicle";
        } else if (s == NULL && v->staff_id[0]) {
            s = registry_staff(d->registry, v->staff_id);
        }
    } else if (s == NULL || s->vehicle_id[0] == '\0') {
        refusal = "no vehicle is bound to you: positions are recorded per vehicle";
        code = "no_vehicle";
    }
    if (refusal == NULL && (n == 0 || n > (size_t)d->cfg.position_batch_max)) {
        snprintf(msg, sizeof(msg), "a batch carries 1..%lld fixes (got %zu)",
                 (long long)d->cfg.position_batch_max, n);
        refusal = msg;
        code = "batch_size";
    }
    if (refusal) {
        d->tracks->stats.batches_refused++;
        answer_now(done, arg, REFUSAL_INVALID, code, refusal);
        return;
    }
    struct ingest_device *dev = device_get(d->tracks, src->device_id);
    if (dev == NULL) {
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    int64_t wait_s = rate_admit(d, dev, n);
    if (wait_s > 0) {
        d->tracks->stats.batches_rate_limited++;
        d->tracks->stats.fixes_rate_limited += n;
        char limited[256];
        snprintf(limited, sizeof(limited),
                 "position rate limit (%lld fixes/s per device, %lld at once): nothing of the "
                 "batch was stored; resend it in %lld s",
                 (long long)d->cfg.position_rate_max, (long long)d->cfg.position_rate_burst,
                 (long long)wait_s);
        answer_now(done, arg, REFUSAL_RATE_LIMITED, "rate_limited", limited);
        return;
    }
    struct ingest_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    job->d = d;
    job->done = done;
    job->done_arg = arg;
    job->dev = dev;
    job->seq_mode = src->seq_mode == INGEST_SEQ_TIME ? INGEST_SEQ_TIME : INGEST_SEQ_DEVICE;
    job->src_kind = src->kind;
    snprintf(job->device, sizeof(job->device), "%s", src->device_id);
    snprintf(job->vehicle, sizeof(job->vehicle), "%s", v ? v->id : s->vehicle_id);
    snprintf(job->staff, sizeof(job->staff), "%s", s ? s->id : "");
    snprintf(job->enterprise, sizeof(job->enterprise), "%s",
             s ? s->enterprise_id : v->enterprise_id);
    job->track = track_get(d, job->vehicle);
    if (job->track == NULL) {
        free(job);
        answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    /* Who drives: the person signed on to the vehicle (driver's card, handset login), else the
     * person the batch is of. Their fatigue follows them (struct person_fatigue). */
    const struct lpg_vehicle *jv = registry_vehicle(d->registry, job->vehicle);
    snprintf(job->driver, sizeof(job->driver), "%s",
             jv && jv->driver_id[0] ? jv->driver_id : job->staff);
    if (job->driver[0]) {
        job->person = person_get(d->tracks, job->driver);
        if (job->person == NULL) {
            free(job);
            answer_now(done, arg, REFUSAL_INTERNAL, "internal", "out of memory");
            return;
        }
    }
    job->fixes = fixes;
    job->n_fixes = n;
    d->tracks->jobs++; /* job_end counts the job out and answers */
    if (dev->loaded && job->track->loaded && (job->person == NULL || job->person->loaded)) {
        /* The usual case: the batch is turned into commands now, while the fixes are lent. */
        store_batch(job); /* may end (free) the job */
        return;
    }
    /* The device's state must be read first, and the caller's fixes are lent for this call
     * only: keep a copy. */
    size_t n_vd = 0;
    for (size_t i = 0; i < n; i++)
        n_vd += fixes[i].vehicle_data != NULL;
    /* One block: the fixes, then the vehicle data they point to (a multiple of 8 bytes apart,
     * so aligned). Bounded by position_batch_max. */
    _Static_assert(sizeof(struct ingest_fix) % _Alignof(struct lpg_vehicle_data) == 0,
                   "vehicle data after the fixes is aligned");
    job->fixes_copy = malloc(n * sizeof(*fixes) + n_vd * sizeof(struct lpg_vehicle_data));
    if (job->fixes_copy == NULL) {
        job_refuse(job, REFUSAL_INTERNAL, "internal", "out of memory");
        return;
    }
    memcpy(job->fixes_copy, fixes, n * sizeof(*fixes));
    struct lpg_vehicle_data *vds = (struct lpg_vehicle_data *)(job->fixes_copy + n);
    for (size_t i = 0, k = 0; i < n; i++)
        if (fixes[i].vehicle_data) {
            vds[k] = *fixes[i].vehicle_data;
            job->fixes_copy[i].vehicle_data = &vds[k++];
        }
    job->fixes = job->fixes_copy;
    /* First batch of this device's session (or of this vehicle since start): read the device's
     * mark, the vehicle's newest time and its rule state. */
    char k1[256], k2[256], rel[LPG_ID_MAX + 32];
    keys_device_seq(rel, sizeof(rel), job->device);
    store_key(d->store, k1, sizeof(k1), rel);
    keys_vehicle_last(rel, sizeof(rel), job->vehicle);
    store_key(d->store, k2, sizeof(k2), rel);
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    char k3[256];
    keys_vehicle_rules(rel, sizeof(rel), job->vehicle);
    store_key(d->store, k3, sizeof(k3), rel);
    char k4[256];
    keys_vehicle_alarms(rel, sizeof(rel), job->vehicle);
    store_key(d->store, k4, sizeof(k4), rel);
    char k5[256];
    if (job->person) {
        keys_staff_fatigue(rel, sizeof(rel), job->person->staff_id);
        store_key(d->store, k5, sizeof(k5), rel);
    }
    job->n_reads = job->person ? 5 : 4;
    if (txn == NULL || store_txn_addv(txn, "GET", k1, NULL) != 0 ||
        store_txn_addv(txn, "HGET", k2, "time_ms", NULL) != 0 ||
        store_txn_addv(txn, "GET", k3, NULL) != 0 || store_txn_addv(txn, "GET", k4, NULL) != 0 ||
        (job->person && store_txn_addv(txn, "HMGET", k5, "vehicle", "state", NULL) != 0)) {
        store_txn_free(txn);
        txn = NULL;
    }
    /* store_txn_exec owns txn from here, whatever it returns. */
    if (txn == NULL || store_txn_exec(d->store, txn, on_marks, job, &why) != 0) {
        char m[200];
        snprintf(m, sizeof(m), "%s; nothing was stored, resend later", why);
        job_refuse(job, REFUSAL_UNAVAILABLE, "store_unavailable", m);
    }
}

int ingest_vehicle_live(const struct service *d, const char *vehicle_id,
                        struct ingest_vehicle_live *out)
{
    memset(out, 0, sizeof(*out));
    if (d->tracks == NULL || vehicle_id == NULL)
        return -1;
    unsigned b = track_bucket(vehicle_id);
    for (const struct vehicle_track *tr = d->tracks->buckets[b]; tr; tr = tr->next) {
        if (strcmp(tr->vehicle_id, vehicle_id) != 0)
            continue;
        if (tr->seen_ms == 0)
            return -1; /* read for the rules, never reported since start */
        out->seen_ms = tr->seen_ms;
        out->source = (enum ingest_source_kind)tr->source;
        out->has_fix = tr->has_fix;
        out->fix_ms = tr->fix_ms;
        out->lat = tr->lat_e7 / 1e7;
        out->lon = tr->lon_e7 / 1e7;
        out->speed_cm_s = tr->speed_cm_s;
        out->heading_cdeg = tr->heading_cdeg;
        return 0;
    }
    return -1;
}
