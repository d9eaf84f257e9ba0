/* http_v1_summary.c -- the auditor's derived views (docs/tracking-api.md, "Trips, stops and
 * daily summaries"):
 *   GET /v1/vehicles/{id}/trips?from=&to=&min_stop_s=   trips and stops (motion.h) in [from, to)
 *   GET /v1/vehicles/{id}/summary?date=YYYY-MM-DD       one local day of a vehicle
 *   GET /v1/enterprises/{id}/summary?date=YYYY-MM-DD    the same for every vehicle of it
 *   GET /v1/reports/driver-day?staff_id=&date=          a person's local day across vehicles
 *                                                        (streamed, http_report_stream.h)
 *
 * Memory is bounded however long the range: fixes are read from the per-day route sets
 * (ingest.h) WALK_CHUNK members per command and fed to the motion segmenter (O(1) state), one
 * chunk at a time (store/route_reads.h); only the output list is kept (at most TRIPS_MAX_ITEMS
 * trips and stops; the totals still cover the whole range). An enterprise summary processes its
 * vehicles one after another. Violations of a day are read from {p}alerts:vehicle:{id} (scored by
 * the event's time; by the storage time for alerts of earlier versions) SUMMARY_ALERTS_PAGE at a
 * time (store/alert_reads.h), at most SUMMARY_ALERTS_SCAN_MAX per vehicle.
 */
#define LOG_TAG "summary"
#include "http/http_v1.h"

#include "common/clock.h"
#include "common/log.h"
#include "core/route_member.h"
#include "core/fix_filter.h"
#include "core/motion.h"
#include "core/registry.h"
#include "core/rules.h"
#include "http/http_refusal.h"
#include "http/http_report_stream.h"
#include "store/alert_reads.h"
#include "store/drives.h"
#include "store/route_reads.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <event2/buffer.h>

#define DAY_MS 86400000LL
/* Longest range of one trips request. */
#define TRIPS_MAX_DAYS 31
/* Trips and stops returned by one request, at most (then "truncated": true). */
#define TRIPS_MAX_ITEMS 10000
/* ?min_stop_s= bounds (default MOTION_MIN_STOP_MS_DEFAULT). */
#define MIN_STOP_S_MIN 60
#define MIN_STOP_S_MAX 86400
/* Route members per store command. */
#define WALK_CHUNK 2000
/* Alerts: ids per ZRANGE, and most scanned per vehicle and day. Alerts are scored by their
 * event's time; those stored by earlier versions by when they were stored, never more than the
 * filters' future tolerance before the event: the scan starts that long before the day
 * (ALERT_EARLY_MS) and runs forwards (such alerts of late uploads were stored later). */
#define SUMMARY_ALERTS_PAGE     500
#define SUMMARY_ALERTS_SCAN_MAX 10000
#define ALERT_EARLY_MS          120000
/* Vehicles of one enterprise summary, at most. */
#define ENTERPRISE_SUMMARY_MAX 1000

/* ---- walking a vehicle's fixes in [from, to), chunk by chunk ---- */

struct walk;
typedef void walk_done_fn(struct walk *w, const char *err);

struct walk {
    struct service *d;
    char vehicle[LPG_ID_MAX + 1];
    int64_t from_ms, to_ms;
    int32_t day, last_day; /* UTC days of the route keys */
    int cursor_set;
    int64_t cursor_ms;
    long cursor_offset;
    uint64_t skipped; /* members not in the stored format */
    bool stop;        /* its request is gone: end at the next chunk */
    /* The fatigue rule sees only what the tracking filters accept (no fix, (0,0), poor
     * accuracy, jumps are stored but never evaluated): the trips and summaries walk the day
     * through the same filters, so their driving time is the rule's. */
    struct fix_filter_state filter;
    struct motion motion;
    walk_done_fn *done;
};

static void walk_fetch(struct walk *w);

static void on_walk_chunk(void *arg, const struct route_chunk *chunk, const char *err)
{
    struct walk *w = arg;
    if (err) {
        w->done(w, err);
        return;
    }
    if (w->d->shutting_down) {
        w->done(w, "dispatchd is shutting down");
        return;
    }
    if (w->stop) {
        w->done(w, "the client went away");
        return;
    }
    size_t n = route_chunk_size(chunk);
    int64_t last_ms = 0;
    long same = 0;
    for (size_t i = 0; i < n; i++) {
        struct route_member_read m;
        struct lpg_fix f;
        route_chunk_member(chunk, i, &m);
        if (!m.ok) {
            w->skipped++;
            continue;
        }
        route_fix_to_lpg_fix(&m.fix, &f);
        if (f.time_ms == last_ms) {
            same++;
        } else {
            last_ms = f.time_ms;
            same = 1;
        }
        /* now = the fix's own time: it was stored, so it was not in the future then. */
        if (fix_filter_apply(&w->d->fix_filter_cfg, &w->filter, &f, f.time_ms, NULL, NULL) !=
            FIX_FILTER_OK)
            continue;
        motion_push(&w->motion, &f);
    }
    if (n == WALK_CHUNK && last_ms > 0) {
        /* Possibly more in this day: continue after the members of the last score seen. */
        if (w->cursor_set && last_ms == w->cursor_ms && same == (long)n)
            w->cursor_offset += same;
        else
            w->cursor_offset = same;
        w->cursor_set = 1;
        w->cursor_ms = last_ms;
    } else {
        w->day++;
        w->cursor_set = 0;
    }
    if (w->day > w->last_day) {
        motion_finish(&w->motion);
        w->done(w, NULL);
        return;
    }
    walk_fetch(w);
}

static void walk_fetch(struct walk *w)
{
    const char *why;
    if (route_read_chunk(w->d->store, w->vehicle, w->day, w->cursor_set ? w->cursor_ms : w->from_ms,
                         w->to_ms, w->cursor_set ? w->cursor_offset : 0L, WALK_CHUNK, on_walk_chunk,
                         w, &why) != 0)
        w->done(w, why);
}

static void walk_start(struct walk *w, struct service *d, const char *vehicle, int64_t from,
                       int64_t to, int64_t min_stop_ms, motion_emit_fn *emit, walk_done_fn *done)
{
    struct motion_config mc;
    w->d = d;
    snprintf(w->vehicle, sizeof(w->vehicle), "%s", vehicle);
    w->from_ms = from;
    w->to_ms = to;
    w->day = lpg_local_day(from, 0);
    w->last_day = lpg_local_day(to - 1, 0);
    w->cursor_set = 0;
    w->cursor_offset = 0;
    w->skipped = 0;
    w->stop = false;
    fix_filter_state_init(&w->filter);
    w->done = done;
    motion_config_from_rules(&mc, &d->rules_cfg, min_stop_ms);
    motion_init(&w->motion, &mc, emit, w);
    walk_fetch(w);
}

/* ---- JSON helpers ---- */

static json_t *position(struct geo_point p)
{
    return json_pack("{s:f, s:f}", "lon", round(p.lon * 1e7) / 1e7, "lat",
                     round(p.lat * 1e7) / 1e7);
}

static double r1(double x)
{
    return round(x * 10.0) / 10.0;
}

static json_t *segment_json(const struct motion_segment *s)
{
    json_t *j;
    if (s->kind == MOTION_TRIP) {
        j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:f, s:f, s:f, s:o, s:b, s:b}", "type", "trip",
                      "start", lpg_json_instant(s->start_ms), "end", lpg_json_instant(s->end_ms),
                      "start_position", position(s->start_pos), "end_position",
                      position(s->end_pos), "duration_s",
                      (double)(s->end_ms - s->start_ms) / 1000.0, "distance_m", r1(s->distance_m),
                      "driving_s", (double)s->driving_ms / 1000.0, "max_speed_kmh",
                      s->has_max_speed ? json_real(r1(s->max_speed_kmh)) : json_null(),
                      "open_start", s->open_start, "open_end", s->open_end);
    } else {
        j = json_pack("{s:s, s:o, s:o, s:o, s:f, s:b, s:b}", "type", "stop", "start",
                      lpg_json_instant(s->start_ms), "end", lpg_json_instant(s->end_ms), "position",
                      position(s->start_pos), "duration_s",
                      (double)(s->end_ms - s->start_ms) / 1000.0, "open_start", s->open_start,
                      "open_end", s->open_end);
    }
    return j;
}

/* Totals over the emitted segments. */
struct totals {
    uint64_t trips, stops;
    double distance_m;
    int64_t driving_ms;
    double max_speed_kmh;
    bool has_max_speed;
};

static void totals_add(struct totals *t, const struct motion_segment *s)
{
    if (s->kind == MOTION_STOP) {
        t->stops++;
        return;
    }
    t->trips++;
    t->distance_m += s->distance_m;
    t->driving_ms += s->driving_ms;
    if (s->has_max_speed && (!t->has_max_speed || s->max_speed_kmh > t->max_speed_kmh)) {
        t->max_speed_kmh = s->max_speed_kmh;
        t->has_max_speed = true;
    }
}

/* ---- shared request checks ---- */

/* 404 for a vehicle that does not exist or (to a dispatcher) belongs to another enterprise. */

static int query_min_stop(struct http_call *call, int64_t *ms)
{
    const char *s = http_call_query(call, "min_stop_s");
    *ms = MOTION_MIN_STOP_MS_DEFAULT;
    if (s == NULL)
        return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < MIN_STOP_S_MIN || v > MIN_STOP_S_MAX) {
        char msg[96];
        snprintf(msg, sizeof(msg), "min_stop_s is an integer in [%d, %d]", MIN_STOP_S_MIN,
                 MIN_STOP_S_MAX);
        http_reply_error(call, 400, "invalid_parameter", msg, "min_stop_s");
        return -1;
    }
    *ms = (int64_t)v * 1000;
    return 0;
}

static void reply_store_error(struct http_call *call, const char *what, const char *why)
{
    char msg[240];
    snprintf(msg, sizeof(msg), "cannot read the %s: %s; retry later", what, why);
    http_reply_error(call, 503, "store_unavailable", msg, NULL);
}

/* ---- GET /v1/vehicles/{id}/trips ---- */

struct trips_job {
    struct walk w; /* first: the walk's callbacks get the job */
    struct http_call *call;
    int64_t min_stop_ms;
    json_t *items;
    struct totals tot;
    bool truncated;
};

static void on_trip_segment(void *arg, const struct motion_segment *s)
{
    struct trips_job *job = arg;
    totals_add(&job->tot, s);
    if (json_array_size(job->items) >= TRIPS_MAX_ITEMS) {
        job->truncated = true;
        return;
    }
    json_t *j = segment_json(s);
    if (j)
        json_array_append_new(job->items, j);
}

/* The trips are walked; then the depot departures and arrivals of the same range (depot_track.h)
 * go with them as "depot". */
static void on_trips_depot(void *arg, json_t *depot, const char *err)
{
    struct trips_job *job = arg;
    struct walk *w = &job->w;
    if (err) {
        reply_store_error(job->call, "route", err);
    } else {
        json_t *body = json_pack(
            "{s:s, s:o, s:o, s:I, s:o, s:I, s:I, s:f, s:f, s:o, s:I, s:b}", "vehicle_id",
            w->vehicle, "from", lpg_json_instant(w->from_ms), "to", lpg_json_instant(w->to_ms),
            "min_stop_s", (json_int_t)(job->min_stop_ms / 1000), "items", json_incref(job->items),
            "trips", (json_int_t)job->tot.trips, "stops", (json_int_t)job->tot.stops, "distance_m",
            r1(job->tot.distance_m), "driving_s", (double)job->tot.driving_ms / 1000.0,
            "max_speed_kmh",
            job->tot.has_max_speed ? json_real(r1(job->tot.max_speed_kmh)) : json_null(), "fixes",
            (json_int_t)w->motion.n_fixes, "truncated", job->truncated);
        if (body && json_object_set(body, "depot", depot) == 0) {
            http_reply_json(job->call, 200, body);
        } else {
            json_decref(body);
            http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        }
    }
    json_decref(depot);
    json_decref(job->items);
    free(job);
}

static void on_trips_done(struct walk *w, const char *err)
{
    struct trips_job *job = (struct trips_job *)w;
    const char *why = err;
    if (err == NULL && route_read_depot(w->d->store, w->vehicle, w->from_ms, w->to_ms,
                                        on_trips_depot, job, &why) == 0)
        return;
    reply_store_error(job->call, "route", why);
    json_decref(job->items);
    free(job);
}

static void handle_trips(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_vehicle *v = v1_scoped_vehicle(call, d, p);
    if (v == NULL)
        return;
    int64_t from, to, min_stop;
    if (v1_query_instant(call, "from", &from) != 0 || v1_query_instant(call, "to", &to) != 0 ||
        query_min_stop(call, &min_stop) != 0)
        return;
    if (to <= from) {
        http_reply_error(call, 400, "invalid_parameter", "to must be after from", "to");
        return;
    }
    if (to - from > TRIPS_MAX_DAYS * DAY_MS) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the range may cover at most %d days", TRIPS_MAX_DAYS);
        http_reply_error(call, 400, "range_too_long", msg, "to");
        return;
    }
    struct trips_job *job = calloc(1, sizeof(*job));
    if (job)
        job->items = json_array();
    if (job == NULL || job->items == NULL) {
        free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->call = call;
    job->min_stop_ms = min_stop;
    walk_start(&job->w, d, v->id, from, to, min_stop, on_trip_segment, on_trips_done);
}

/* ---- daily summaries ---- */

struct summary_job {
    struct walk w; /* first */
    struct http_call *call;
    struct service *d;
    char enterprise_id[LPG_ID_MAX + 1]; /* "" for a single vehicle's summary */
    int32_t day;
    int32_t utc_offset_min;
    int64_t day_start_ms, day_end_ms;
    char (*vehicles)[LPG_ID_MAX + 1];
    size_t n_vehicles, next;
    bool vehicles_truncated;
    json_t *items; /* enterprise: one summary per vehicle */
    /* the vehicle being summarised */
    struct totals tot;
    uint64_t alerts_scanned;
    uint64_t alert_count[RULE_COUNT][RULE_EVENT_KIND_COUNT];
    bool alerts_truncated;
};

static void summary_job_free(struct summary_job *job)
{
    json_decref(job->items);
    free(job->vehicles);
    free(job);
}

static void summary_next_vehicle(struct summary_job *job);

static void on_summary_segment(void *arg, const struct motion_segment *s)
{
    struct summary_job *job = arg;
    totals_add(&job->tot, s);
}

static json_t *summary_json(struct summary_job *job)
{
    json_t *by_rule = json_object();
    uint64_t violations = 0, total = 0;
    for (int r = 0; r < RULE_COUNT; r++) {
        json_t *kinds = json_object();
        for (int k = 0; k < RULE_EVENT_KIND_COUNT; k++) {
            json_object_set_new(kinds, rule_event_kind_name((enum rule_event_kind)k),
                                json_integer((json_int_t)job->alert_count[r][k]));
            total += job->alert_count[r][k];
        }
        violations += job->alert_count[r][RULE_EVENT_VIOLATION_START];
        json_object_set_new(by_rule, rules_table[r]->name, kinds);
    }
    char date[11];
    lpg_day_format(job->day, date);
    const struct lpg_vehicle *v = registry_vehicle(job->d->registry, job->w.vehicle);
    return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:I, s:f, s:f, s:o, s:I, s:I, s:{s:I, s:I, "
                     "s:o, s:b}}",
                     "vehicle_id", job->w.vehicle, "enterprise_id", v ? v->enterprise_id : "",
                     "date", date, "utc_offset_min", (int)job->utc_offset_min, "from",
                     lpg_json_instant(job->day_start_ms), "to", lpg_json_instant(job->day_end_ms),
                     "fixes", (json_int_t)job->w.motion.n_fixes, "distance_m",
                     r1(job->tot.distance_m), "driving_s", (double)job->tot.driving_ms / 1000.0,
                     "max_speed_kmh",
                     job->tot.has_max_speed ? json_real(r1(job->tot.max_speed_kmh)) : json_null(),
                     "trips", (json_int_t)job->tot.trips, "stops", (json_int_t)job->tot.stops,
                     "violations", "count", (json_int_t)violations, "alerts", (json_int_t)total,
                     "by_rule", by_rule, "truncated", job->alerts_truncated);
}

/* The vehicle is done: reply (single vehicle) or go on with the next one. */
static void summary_vehicle_done(struct summary_job *job)
{
    json_t *s = summary_json(job);
    if (s == NULL) {
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        summary_job_free(job);
        return;
    }
    if (job->enterprise_id[0] == '\0') {
        http_reply_json(job->call, 200, s);
        summary_job_free(job);
        return;
    }
    json_array_append_new(job->items, s);
    summary_next_vehicle(job);
}

static void summary_fail(struct summary_job *job, const char *what, const char *why)
{
    reply_store_error(job->call, what, why);
    summary_job_free(job);
}

static void summary_alert_page(struct summary_job *job);

/* When an alert happened: its "end" (the instant it was decided, or the episode's end), else
 * its "start", else when it was stored. */
static int alert_time(json_t *a, int64_t *ms)
{
    const char *names[] = {"end", "start", "created_at"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *s = json_string_value(json_object_get(a, names[i]));
        if (s && lpg_json_instant_parse(s, ms) == 0)
            return 0;
    }
    return -1;
}

static void count_alert(struct summary_job *job, json_t *a)
{
    int64_t t;
    if (alert_time(a, &t) != 0 || t < job->day_start_ms || t >= job->day_end_ms)
        return;
    const char *rule = json_string_value(json_object_get(a, "rule"));
    const char *kind = json_string_value(json_object_get(a, "kind"));
    if (rule == NULL || kind == NULL)
        return;
    for (int r = 0; r < RULE_COUNT; r++)
        for (int k = 0; k < RULE_EVENT_KIND_COUNT; k++)
            if (strcmp(rule, rules_table[r]->name) == 0 &&
                strcmp(kind, rule_event_kind_name((enum rule_event_kind)k)) == 0)
                job->alert_count[r][k]++;
}

/* A read of the store that failed: 500 when it ran out of memory, else 503. */
static void summary_read_failed(struct summary_job *job, const char *why)
{
    if (why == STORE_READ_NOMEM) {
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
        summary_job_free(job);
        return;
    }
    summary_fail(job, "alerts", why);
}

static void on_alert_page(void *arg, const struct alert_page *page, const char *err)
{
    struct summary_job *job = arg;
    if (err) {
        summary_read_failed(job, err);
        return;
    }
    for (size_t i = 0; i < page->n_alerts; i++)
        if (page->alerts[i]) /* expired alerts are simply absent */
            count_alert(job, page->alerts[i]);
    job->alerts_scanned += page->n_ids;
    if (page->n_ids < SUMMARY_ALERTS_PAGE) {
        summary_vehicle_done(job);
    } else if (job->alerts_scanned >= SUMMARY_ALERTS_SCAN_MAX) {
        job->alerts_truncated = true;
        summary_vehicle_done(job);
    } else {
        summary_alert_page(job);
    }
}

static void summary_alert_page(struct summary_job *job)
{
    const char *why;
    if (alert_read_vehicle_page(job->d->store, job->w.vehicle, job->day_start_ms - ALERT_EARLY_MS,
                                job->alerts_scanned, SUMMARY_ALERTS_PAGE, on_alert_page, job,
                                &why) != 0)
        summary_read_failed(job, why);
}

static void on_summary_route_done(struct walk *w, const char *err)
{
    struct summary_job *job = (struct summary_job *)w;
    if (err) {
        summary_fail(job, "route", err);
        return;
    }
    summary_alert_page(job);
}

static void summary_vehicle_start(struct summary_job *job, const char *vehicle)
{
    memset(&job->tot, 0, sizeof(job->tot));
    memset(job->alert_count, 0, sizeof(job->alert_count));
    job->alerts_scanned = 0;
    job->alerts_truncated = false;
    walk_start(&job->w, job->d, vehicle, job->day_start_ms, job->day_end_ms,
               MOTION_MIN_STOP_MS_DEFAULT, on_summary_segment, on_summary_route_done);
}

static void summary_next_vehicle(struct summary_job *job)
{
    if (job->d->shutting_down) {
        summary_fail(job, "route", "dispatchd is shutting down");
        return;
    }
    /* Vehicles removed since the request started are skipped. */
    while (job->next < job->n_vehicles &&
           registry_vehicle(job->d->registry, job->vehicles[job->next]) == NULL)
        job->next++;
    if (job->next < job->n_vehicles) {
        summary_vehicle_start(job, job->vehicles[job->next++]);
        return;
    }
    char date[11];
    lpg_day_format(job->day, date);
    json_t *body =
        json_pack("{s:s, s:s, s:i, s:o, s:o, s:O, s:b}", "enterprise_id", job->enterprise_id,
                  "date", date, "utc_offset_min", (int)job->utc_offset_min, "from",
                  lpg_json_instant(job->day_start_ms), "to", lpg_json_instant(job->day_end_ms),
                  "items", job->items, "truncated", job->vehicles_truncated);
    if (body)
        http_reply_json(job->call, 200, body);
    else
        http_reply_error(job->call, 500, "internal", "out of memory", NULL);
    summary_job_free(job);
}

/* ?date=YYYY-MM-DD -> the local day; -1 after replying. */
static int query_date(struct http_call *call, int32_t *day)
{
    const char *s = http_call_query(call, "date");
    if (s == NULL || lpg_day_parse(s, day) != 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "date is required: a calendar date YYYY-MM-DD (the enterprise's time "
                         "zone)",
                         "date");
        return -1;
    }
    return 0;
}

static struct summary_job *summary_job_new(struct http_call *call, struct service *d, int32_t day,
                                           const struct lpg_enterprise *e)
{
    struct summary_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    job->call = call;
    job->d = d;
    job->day = day;
    job->utc_offset_min = e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN;
    job->day_start_ms = (int64_t)day * DAY_MS - (int64_t)job->utc_offset_min * 60000;
    job->day_end_ms = job->day_start_ms + DAY_MS;
    return job;
}

static void handle_vehicle_summary(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_vehicle *v = v1_scoped_vehicle(call, d, p);
    if (v == NULL)
        return;
    int32_t day;
    if (query_date(call, &day) != 0)
        return;
    struct summary_job *job =
        summary_job_new(call, d, day, registry_enterprise(d->registry, v->enterprise_id));
    if (job)
        summary_vehicle_start(job, v->id);
}

static void handle_enterprise_summary(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    const struct lpg_enterprise *e = id ? registry_enterprise(d->registry, id) : NULL;
    if (e && v1_hidden(p, e->id))
        e = NULL;
    if (e == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) != 0)
            return;
        char msg[160];
        snprintf(msg, sizeof(msg), "no enterprise with id %.64s", id ? id : "");
        http_reply_error(call, 404, "not_found", msg, NULL);
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, e->id) != 0)
        return;
    int32_t day;
    if (query_date(call, &day) != 0)
        return;
    struct summary_job *job = summary_job_new(call, d, day, e);
    if (job == NULL)
        return;
    snprintf(job->enterprise_id, sizeof(job->enterprise_id), "%s", e->id);
    job->items = json_array();
    job->vehicles = calloc(ENTERPRISE_SUMMARY_MAX, sizeof(*job->vehicles));
    const struct lpg_vehicle **page = calloc(V1_PAGE_MAX, sizeof(*page));
    if (job->items == NULL || job->vehicles == NULL || page == NULL) {
        free(page);
        summary_job_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    /* The ids now (the registry may change while the summaries are read). */
    char after[LPG_ID_MAX + 1] = "";
    for (;;) {
        size_t n = registry_list_vehicles(d->registry, e->id, after, V1_PAGE_MAX, NULL, NULL, page);
        for (size_t i = 0; i < n; i++) {
            if (job->n_vehicles == ENTERPRISE_SUMMARY_MAX) {
                job->vehicles_truncated = true;
                break;
            }
            snprintf(job->vehicles[job->n_vehicles++], LPG_ID_MAX + 1, "%s", page[i]->id);
        }
        if (n < V1_PAGE_MAX || job->vehicles_truncated)
            break;
        snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    }
    free(page);
    summary_next_vehicle(job);
}

/* ---- GET /v1/reports/driver-day?staff_id=&date=YYYY-MM-DD[&format=csv] ----
 *
 * The person's sign-on index ({p}staff:{id}:drives, store/drives.h) gives the intervals during
 * which they drove which vehicle; each interval (cut to the local day) is walked like a trip
 * request, and the vehicle's alerts in it that name the person are listed.
 *
 * Streamed (http_report_stream.h): each interval is written as soon as its walk is done, each
 * page of alerts as soon as it is read, the totals last; what is held is the interval list (from
 * the events read) and one page of alerts. The CSV puts each interval's alerts right after it,
 * so it walks an interval, then reads its alerts, interval by interval; the JSON lists every
 * interval before the alerts, so it walks all the intervals first, then reads the alerts of each
 * in turn. The stream starts once the first interval is walked (with none, once the index is
 * read): a store that fails before is a 503, one that fails after cuts the stream, which then
 * lacks its closing part (JSON) or its "# end" line (CSV).
 *
 * Bounded (then "truncated": true): the newest DDAY_EVENTS_MAX sign-on events up to the day's
 * end, so at most as many intervals (DDAY_MAX_INTERVALS: every interval opens with a sign-on;
 * they do not overlap, so their walks together read at most one day of route, in chunks), at
 * most DDAY_ALERTS_SCAN_MAX alert ids scanned per interval and DDAY_ALERTS_MAX alerts listed
 * (the list is no longer held, so the cap only bounds the work). */
#define DDAY_EVENTS_MAX      256
#define DDAY_MAX_INTERVALS   DDAY_EVENTS_MAX
#define DDAY_ALERTS_SCAN_MAX 5000
#define DDAY_ALERTS_MAX      10000

struct dday_interval {
    char vehicle[LPG_ID_MAX + 1];
    int64_t on_ms, off_ms;
    bool open_start, open_end; /* signed on before the day / still signed on at its end */
};

enum dday_phase {
    DDAY_WALK,   /* walking interval cur */
    DDAY_ALERTS, /* reading the alerts of interval cur */
};

struct dday_job {
    struct walk w;           /* first: the walk's callbacks get the job */
    struct report_stream rs; /* rs.call: NULL once the client went away */
    struct service *d;
    int csv;
    char staff[LPG_ID_MAX + 1];
    char enterprise_id[LPG_ID_MAX + 1];
    char date[11];
    int32_t day;
    int32_t utc_offset_min;
    int64_t day_start_ms, day_end_ms;
    struct dday_interval iv[DDAY_MAX_INTERVALS];
    size_t n_iv, cur;
    enum dday_phase phase;
    struct totals tot;       /* of the interval being walked */
    struct totals sum;       /* of the intervals written */
    uint64_t fixes;          /* of the intervals written */
    uint64_t alerts_scanned; /* of the current interval */
    size_t n_alerts;         /* written */
    bool truncated;
    bool in_flight; /* a walk or an alert read will call back: the job is not freed before */
    bool ended;     /* the closing part is in rs.out: the stream ends once it is handed over */
};

static void dday_free(struct dday_job *job)
{
    report_stream_release(&job->rs);
    free(job);
}

/* A read failed (what: which one) or the stream cannot go on: before the 200 an error reply
 * (500 out of memory, else 503), after it the stream ends without its closing part. */
static void dday_abort(struct dday_job *job, const char *what, const char *why)
{
    if (job->rs.started) {
        log_warn("driver-day report of %s ended early after %zu of %zu intervals, %zu alerts: "
                 "%s: %s",
                 job->staff, job->cur, job->n_iv, job->n_alerts, what, why);
        http_stream_end(job->rs.call);
    } else if (why == STORE_READ_NOMEM) {
        http_reply_error(job->rs.call, 500, "internal", "out of memory", NULL);
    } else {
        reply_store_error(job->rs.call, what, why);
    }
    dday_free(job);
}

static void on_dday_closed(void *arg)
{
    struct dday_job *job = arg;
    job->rs.call = NULL;
    job->w.stop = true; /* a walk under way ends at its next chunk */
    if (!job->in_flight)
        dday_free(job);
}

/* The 200, and what comes before the first interval: the CSV header, or the JSON object's
 * fields up to its "intervals" array. */
static int dday_start_stream(struct dday_job *job)
{
    report_stream_start(&job->rs, job->csv, on_dday_closed, job);
    struct evbuffer *b = job->rs.out;
    if (job->csv) {
        /* Ids are [A-Za-z0-9_.-] (lpg_id_valid): nothing to quote. */
        return evbuffer_add_printf(b, "record,staff_id,date,vehicle_id,on,off,fixes,trips,"
                                      "distance_m,driving_s,alert_id,rule,kind,message\r\n") < 0
                   ? -1
                   : 0;
    }
    json_t *head = json_pack(
        "{s:s, s:s, s:s, s:i, s:o, s:o}", "staff_id", job->staff, "enterprise_id",
        job->enterprise_id, "date", job->date, "utc_offset_min", (int)job->utc_offset_min, "from",
        lpg_json_instant(job->day_start_ms), "to", lpg_json_instant(job->day_end_ms));
    if (report_add_json(b, head, 1) != 0)
        return -1;
    return evbuffer_add_printf(b, ",\"intervals\":[") < 0 ? -1 : 0;
}

/* The interval just walked (job->tot, fixes), as a JSON array element or a CSV row. */
static int dday_write_interval(struct dday_job *job, const struct dday_interval *iv, uint64_t fixes)
{
    struct evbuffer *b = job->rs.out;
    const struct totals *t = &job->tot;
    if (job->csv) {
        char on[LPG_JSON_INSTANT_LEN + 1], off[LPG_JSON_INSTANT_LEN + 1];
        lpg_json_instant_format(iv->on_ms, on);
        lpg_json_instant_format(iv->off_ms, off);
        return evbuffer_add_printf(
                   b, "interval,%s,%s,%s,%s,%s,%" PRIu64 ",%" PRIu64 ",%.1f,%.3f,,,,\r\n",
                   job->staff, job->date, iv->vehicle, on, off, fixes, t->trips, r1(t->distance_m),
                   (double)t->driving_ms / 1000.0) < 0
                   ? -1
                   : 0;
    }
    if (job->cur > 0 && evbuffer_add(b, ",", 1) != 0)
        return -1;
    return report_add_json(
        b,
        json_pack("{s:s, s:o, s:o, s:b, s:b, s:I, s:I, s:f, s:f, s:o}", "vehicle_id", iv->vehicle,
                  "on", lpg_json_instant(iv->on_ms), "off", lpg_json_instant(iv->off_ms),
                  "open_start", iv->open_start, "open_end", iv->open_end, "fixes",
                  (json_int_t)fixes, "trips", (json_int_t)t->trips, "distance_m", r1(t->distance_m),
                  "driving_s", (double)t->driving_ms / 1000.0, "max_speed_kmh",
                  t->has_max_speed ? json_real(r1(t->max_speed_kmh)) : json_null()),
        0);
}

/* One CSV field: as it is, or quoted (RFC 4180) when it holds a separator, a quote or a line
 * end; NULL is empty. */
static void csv_field(struct evbuffer *b, const char *v)
{
    if (v == NULL)
        return;
    if (strpbrk(v, ",\"\r\n") == NULL) {
        evbuffer_add(b, v, strlen(v));
        return;
    }
    evbuffer_add(b, "\"", 1);
    for (const char *q; (q = strchr(v, '"')) != NULL; v = q + 1) {
        evbuffer_add(b, v, (size_t)(q - v) + 1);
        evbuffer_add(b, "\"", 1);
    }
    evbuffer_add(b, v, strlen(v));
    evbuffer_add(b, "\"", 1);
}

/* An alert of interval iv, as GET /v1/alerts lists it (JSON) or a CSV "alert" row: on and off
 * are the alert's start and end; what the store holds is quoted as needed. */
static int dday_write_alert(struct dday_job *job, const struct dday_interval *iv, json_t *al)
{
    struct evbuffer *b = job->rs.out;
    if (!job->csv) {
        if (job->n_alerts > 0 && evbuffer_add(b, ",", 1) != 0)
            return -1;
        return report_add_json(b, json_incref(al), 0);
    }
    evbuffer_add_printf(b, "alert,%s,%s,%s,", job->staff, job->date, iv->vehicle);
    csv_field(b, json_string_value(json_object_get(al, "start")));
    evbuffer_add(b, ",", 1);
    csv_field(b, json_string_value(json_object_get(al, "end")));
    evbuffer_add(b, ",,,,,", 5);
    csv_field(b, json_string_value(json_object_get(al, "id")));
    evbuffer_add(b, ",", 1);
    csv_field(b, json_string_value(json_object_get(al, "rule")));
    evbuffer_add(b, ",", 1);
    csv_field(b, json_string_value(json_object_get(al, "kind")));
    evbuffer_add(b, ",", 1);
    csv_field(b, json_string_value(json_object_get(al, "message")));
    return evbuffer_add(b, "\r\n", 2) == 0 ? 0 : -1;
}

/* The closing part, written last: the totals (JSON) or the "total" row and the end line (CSV).
 * Its absence is how a client tells a cut stream. */
static int dday_write_end(struct dday_job *job)
{
    struct evbuffer *b = job->rs.out;
    const struct totals *sum = &job->sum;
    size_t n_vehicles = 0;
    for (size_t i = 0; i < job->n_iv; i++) {
        size_t k = 0;
        while (k < i && strcmp(job->iv[k].vehicle, job->iv[i].vehicle) != 0)
            k++;
        n_vehicles += k == i;
    }
    if (job->csv) {
        char from[LPG_JSON_INSTANT_LEN + 1], to[LPG_JSON_INSTANT_LEN + 1];
        lpg_json_instant_format(job->day_start_ms, from);
        lpg_json_instant_format(job->day_end_ms, to);
        evbuffer_add_printf(b, "total,%s,%s,,%s,%s,%" PRIu64 ",%" PRIu64 ",%.1f,%.3f,,,,\r\n",
                            job->staff, job->date, from, to, job->fixes, sum->trips,
                            r1(sum->distance_m), (double)sum->driving_ms / 1000.0);
        return evbuffer_add_printf(b,
                                   "# end: %zu intervals, %zu vehicles, distance_m %.1f, "
                                   "driving_s %.3f, %zu alerts%s\r\n",
                                   job->n_iv, n_vehicles, r1(sum->distance_m),
                                   (double)sum->driving_ms / 1000.0, job->n_alerts,
                                   job->truncated ? ", truncated" : "") < 0
                   ? -1
                   : 0;
    }
    if (evbuffer_add_printf(b, "],\"totals\":") < 0 ||
        report_add_json(
            b,
            json_pack("{s:I, s:I, s:I, s:f, s:f, s:I}", "vehicles", (json_int_t)n_vehicles,
                      "intervals", (json_int_t)job->n_iv, "trips", (json_int_t)sum->trips,
                      "distance_m", r1(sum->distance_m), "driving_s",
                      (double)sum->driving_ms / 1000.0, "alerts", (json_int_t)job->n_alerts),
            0) != 0)
        return -1;
    /* the final newline: http_reply_json's */
    return evbuffer_add_printf(b, ",\"truncated\":%s}\n", job->truncated ? "true" : "false") < 0
               ? -1
               : 0;
}

static void dday_step(struct dday_job *job);

static void on_dday_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dday_step(arg);
}

static void on_dday_segment(void *arg, const struct motion_segment *s)
{
    struct dday_job *job = arg;
    totals_add(&job->tot, s);
}

/* The interval after the current one: CSV, its walk; JSON, the same phase. */
static void dday_next_interval(struct dday_job *job)
{
    job->cur++;
    job->alerts_scanned = 0;
    if (job->csv)
        job->phase = DDAY_WALK;
}

static void on_dday_route_done(struct walk *w, const char *err)
{
    struct dday_job *job = (struct dday_job *)w;
    job->in_flight = false;
    if (job->rs.call == NULL) {
        dday_free(job);
        return;
    }
    if (err) {
        dday_abort(job, "route", err);
        return;
    }
    if ((!job->rs.started && dday_start_stream(job) != 0) ||
        dday_write_interval(job, &job->iv[job->cur], w->motion.n_fixes) != 0) {
        dday_abort(job, "report", STORE_READ_NOMEM);
        return;
    }
    job->fixes += w->motion.n_fixes;
    job->sum.trips += job->tot.trips;
    job->sum.distance_m += job->tot.distance_m;
    job->sum.driving_ms += job->tot.driving_ms;
    if (job->csv) {
        job->phase = DDAY_ALERTS; /* its alerts, right after it */
        job->alerts_scanned = 0;
    } else {
        job->cur++;
    }
    dday_step(job);
}

static void on_dday_alerts(void *arg, const struct alert_page *page, const char *err)
{
    struct dday_job *job = arg;
    job->in_flight = false;
    if (job->rs.call == NULL) {
        dday_free(job);
        return;
    }
    if (err) {
        dday_abort(job, "alerts", err);
        return;
    }
    const struct dday_interval *iv = &job->iv[job->cur];
    for (size_t i = 0; i < page->n_alerts; i++) {
        json_t *a = page->alerts[i];
        int64_t t;
        const char *who = a ? json_string_value(json_object_get(a, "staff_id")) : NULL;
        if (who == NULL || strcmp(who, job->staff) != 0 || alert_time(a, &t) != 0 ||
            t < iv->on_ms || t >= iv->off_ms)
            continue;
        if (job->n_alerts >= DDAY_ALERTS_MAX) {
            job->truncated = true;
            break;
        }
        if (dday_write_alert(job, iv, a) != 0) {
            dday_abort(job, "report", STORE_READ_NOMEM);
            return;
        }
        job->n_alerts++;
    }
    job->alerts_scanned += page->n_ids;
    if (page->n_ids < SUMMARY_ALERTS_PAGE) {
        dday_next_interval(job);
    } else if (job->alerts_scanned >= DDAY_ALERTS_SCAN_MAX) {
        job->truncated = true;
        dday_next_interval(job);
    } /* else the next page of the same interval */
    dday_step(job);
}

/* Hands what is written to the client, then starts the next read: the walk or the next alert
 * page of the current interval, the JSON's alerts once every interval is written, the closing
 * part after the last. */
static void dday_step(struct dday_job *job)
{
    if (job->rs.call == NULL) {
        dday_free(job);
        return;
    }
    const char *why;
    int fl = report_stream_flush(&job->rs, &why);
    if (fl < 0) {
        dday_abort(job, "report", why);
        return;
    }
    if (fl > 0)
        return; /* the retry timer steps again */
    if (job->ended) {
        http_stream_end(job->rs.call);
        dday_free(job);
        return;
    }
    if (job->d->shutting_down) {
        dday_abort(job, "route", "dispatchd is shutting down");
        return;
    }
    for (;;) {
        /* Past the alert cap nothing more can be listed: the rest of the alerts is not read. */
        if (job->phase == DDAY_ALERTS && job->cur < job->n_iv && job->n_alerts >= DDAY_ALERTS_MAX &&
            job->truncated) {
            dday_next_interval(job);
            continue;
        }
        if (job->cur < job->n_iv)
            break;
        /* every interval is written */
        if ((!job->rs.started && dday_start_stream(job) != 0) ||
            (!job->csv && job->phase == DDAY_WALK &&
             evbuffer_add_printf(job->rs.out, "],\"alerts\":[") < 0)) {
            dday_abort(job, "report", STORE_READ_NOMEM);
            return;
        }
        if (!job->csv && job->phase == DDAY_WALK) { /* JSON: now the alerts, interval by interval */
            job->phase = DDAY_ALERTS;
            job->cur = 0;
            job->alerts_scanned = 0;
            continue;
        }
        if (dday_write_end(job) != 0) {
            dday_abort(job, "report", STORE_READ_NOMEM);
            return;
        }
        job->ended = true;
        dday_step(job);
        return;
    }
    const struct dday_interval *iv = &job->iv[job->cur];
    job->in_flight = true;
    if (job->phase == DDAY_WALK) {
        memset(&job->tot, 0, sizeof(job->tot));
        walk_start(&job->w, job->d, iv->vehicle, iv->on_ms, iv->off_ms, MOTION_MIN_STOP_MS_DEFAULT,
                   on_dday_segment, on_dday_route_done);
        return;
    }
    if (alert_read_vehicle_page(job->d->store, iv->vehicle, iv->on_ms - ALERT_EARLY_MS,
                                job->alerts_scanned, SUMMARY_ALERTS_PAGE, on_dday_alerts, job,
                                &why) != 0) {
        job->in_flight = false;
        dday_abort(job, "alerts", why);
    }
}

/* An interval [from, to) of vehicle, cut to the day; nothing when empty. */
static void dday_add(struct dday_job *job, const char *vehicle, int64_t from, int64_t to)
{
    bool open_start = from < job->day_start_ms, open_end = to >= job->day_end_ms;
    if (open_start)
        from = job->day_start_ms;
    if (open_end)
        to = job->day_end_ms;
    if (to <= from)
        return;
    if (job->n_iv == DDAY_MAX_INTERVALS) {
        job->truncated = true;
        return;
    }
    struct dday_interval *iv = &job->iv[job->n_iv++];
    snprintf(iv->vehicle, sizeof(iv->vehicle), "%s", vehicle);
    iv->on_ms = from;
    iv->off_ms = to;
    iv->open_start = open_start;
    iv->open_end = open_end;
}

static void on_dday_drives(void *arg, const struct drive_event *ev, size_t n, const char *err)
{
    struct dday_job *job = arg;
    if (err) {
        dday_abort(job, "sign-on index", err);
        return;
    }
    /* The newest events were read: a full read that starts inside the day may miss the
     * sign-on that opened its first interval. */
    if (n == DDAY_EVENTS_MAX && ev[0].at_ms >= job->day_start_ms)
        job->truncated = true;
    /* One vehicle at a time: a sign-on elsewhere ends the open interval; a sign-off ends it
     * when it names its vehicle (a resent one for another vehicle changes nothing). */
    const char *open = NULL;
    int64_t since = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].on) {
            if (open && strcmp(open, ev[i].vehicle) == 0)
                continue;
            if (open)
                dday_add(job, open, since, ev[i].at_ms);
            open = ev[i].vehicle;
            since = ev[i].at_ms;
        } else if (open && strcmp(open, ev[i].vehicle) == 0) {
            dday_add(job, open, since, ev[i].at_ms);
            open = NULL;
        }
    }
    if (open) {
        /* still signed on: until now, or the day's end */
        int64_t now = lpg_now_ms();
        size_t before = job->n_iv;
        dday_add(job, open, since, now < job->day_end_ms ? now : job->day_end_ms);
        if (job->n_iv > before)
            job->iv[job->n_iv - 1].open_end = true;
    }
    job->phase = DDAY_WALK;
    job->cur = 0;
    dday_step(job);
}

static void handle_driver_day(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_query(call, "staff_id");
    if (id == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) == 0)
            http_reply_error(call, 400, "missing_parameter", "name a staff_id", "staff_id");
        return;
    }
    const struct lpg_staff *s = registry_staff(d->registry, id);
    /* another enterprise's person is as missing as one that does not exist */
    if (s && v1_hidden(p, s->enterprise_id))
        s = NULL;
    if (s == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) != 0)
            return;
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no staff with id %.64s", id);
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, s->enterprise_id) != 0)
        return;
    int32_t day;
    if (query_date(call, &day) != 0)
        return;
    int csv = report_format_csv(call);
    if (csv < 0)
        return;
    const struct lpg_enterprise *e = registry_enterprise(d->registry, s->enterprise_id);
    struct dday_job *job = calloc(1, sizeof(*job));
    if (job == NULL || report_stream_init(&job->rs, d->base, call, on_dday_retry, job) != 0) {
        if (job)
            dday_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->csv = csv;
    snprintf(job->staff, sizeof(job->staff), "%s", s->id);
    snprintf(job->enterprise_id, sizeof(job->enterprise_id), "%s", s->enterprise_id);
    job->day = day;
    lpg_day_format(day, job->date);
    job->utc_offset_min = e ? e->utc_offset_min : LPG_DEFAULT_UTC_OFFSET_MIN;
    job->day_start_ms = (int64_t)day * DAY_MS - (int64_t)job->utc_offset_min * 60000;
    job->day_end_ms = job->day_start_ms + DAY_MS;
    const char *why;
    if (drives_read(d->store, job->staff, job->day_end_ms - 1, DDAY_EVENTS_MAX, on_dday_drives, job,
                    &why) != 0)
        dday_abort(job, "sign-on index", why);
}

const struct http_route v1_summary_routes[] = {
    {"GET", "/v1/vehicles/{id}/trips", handle_trips, HTTP_ROUTE_READ},
    {"GET", "/v1/vehicles/{id}/summary", handle_vehicle_summary, HTTP_ROUTE_READ},
    {"GET", "/v1/enterprises/{id}/summary", handle_enterprise_summary, HTTP_ROUTE_READ},
    {"GET", "/v1/reports/driver-day", handle_driver_day, HTTP_ROUTE_READ},
};
const size_t v1_summary_routes_count = sizeof(v1_summary_routes) / sizeof(v1_summary_routes[0]);
