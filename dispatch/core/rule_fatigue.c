/*
 * rule_fatigue.c - fatigue driving (疲劳驾驶), tracking issue item 4; reg. 道路交通安全法实施条例
 * Art. 62; JT/T 808 parameters 0x0057 (continuous driving time), 0x0058 (cumulative driving
 * time per day), 0x0059 (minimum rest time), 0x005C (fatigue warning difference).
 *
 * Definition. Every interval between consecutive (filtered) fixes p -> f is classified:
 *   A. data gap (f.t - p.t > fix_gap_ms, 60 s):
 *      - STOPPED if distance(p, f) <= gap_rest_max_distance_m (200 m) and the average speed
 *        over the gap is below stop_speed_kmh (5 km/h). For a gap >= min_rest_ms (20 min) the
 *        speed condition always holds (200 m / 20 min = 0.6 km/h), so exactly:
 *        "gap >= 20 min AND distance <= 200 m => rest" (dg100: the logger records nothing
 *        while parked). Shorter parked gaps add stopped time to the stop they are part of.
 *      - otherwise MOVING (it was driven during the gap, so the gap is never rest); it counts
 *        as driving for min(gap, distance / gap_assumed_speed_kmh), so a unit switched off
 *        overnight and moved 1 km is not credited 10 h of driving.
 *   B. normal interval, classified by the speed at f, measured by the receiver
 *      (has_speed and not LPG_FIX_DERIVED_SPEED: derived speeds come from position jitter):
 *      - after a moving interval: MOVING iff speed >= stop_speed_kmh; without a measured
 *        speed, iff distance(p, f) / time >= stop_speed_kmh;
 *      - after a stopped interval (the vehicle stands at the anchor, f's position when the
 *        stop began): MOVING iff f is >= min_displacement_m (50 m) from the anchor AND (no
 *        measured speed, or speed >= stop_speed_kmh). GPS jitter while parked -- positions
 *        wandering a few metres, noisy speeds, implied speeds of tens of km/h -- never moves
 *        the vehicle 50 m from where it parked, so it never counts as driving.
 * MOVING time adds to the continuous and to the daily driving time. STOPPED time adds to the
 * current stop; a stop ends at the next moving interval. A stop (consecutive stopped
 * intervals) totalling >= min_rest_ms (20 min) is a rest: it resets continuous driving, at the
 * fix where it reaches 20 min. A shorter stop pauses the driving time (neither adds nor
 * resets). A stop's time runs from the last moving fix to the latest stopped fix (or the fix
 * ending a parked gap): 19 min (or 19 min 50 s) of it does not reset, 20 min does.
 *
 * Events (rule_event.code says continuous or daily):
 *   - WARNING when continuous driving reaches continuous_driving_max_ms - fatigue_warning_ms
 *     (3 h 45 min), once per driving period;
 *   - VIOLATION_START when it exceeds continuous_driving_max_ms (4 h: "more than 4 h", so the
 *     first fix past 4 h, not the one at exactly 4 h): start = first driving
 *     after the last rest, rest_until = now + min_rest (updated while driving on);
 *     VIOLATION_END when the rest is taken: end = when driving stopped, duration = continuous
 *     driving time;
 *   - daily: driving per calendar day in the enterprise's time zone (ctx->utc_offset_min);
 *     an interval across local midnight is split between the two days. VIOLATION_START when
 *     a day's driving exceeds daily_driving_max_ms (8 h), rest_until = next local midnight;
 *     VIOLATION_END at the first fix of the next day.
 * rules_rest_until_ms() gives the mandatory rest end for the dispatch layer (0 when none).
 * Not handled: a rest taken with no fixes at all and no fix since (the end comes with the next
 * fix; a tick could close it early).
 */
#include "core/rules.h"

#include "geo_sphere.h"

#include <stdio.h>

#define DAY_MS 86400000LL

struct fatigue_state {
    int64_t last_ms; /* previous fix; 0 when none */
    double last_lon, last_lat;
    double anchor_lon, anchor_lat; /* where the current stop began */
    int64_t stop_start_ms;         /* start of the current stop; 0 while moving */
    int64_t stop_ms;               /* stopped time of the current stop */
    int64_t drive_start_ms;        /* first driving after the last rest; 0 when none */
    int64_t drive_ms;              /* continuous driving time */
    int64_t daily_ms;              /* driving time on local day `day` */
    int64_t rest_until_ms;         /* mandatory rest until; 0 when none */
    int32_t day;                   /* local day (days since 1970-01-01) of daily_ms */
    bool moving;                   /* the last interval was moving */
    bool warned;
    bool violated;
    bool daily_violated;
    bool rebase; /* the person changed vehicle: the next fix is the first in the new one (not
                    persisted: rules_fatigue_change_vehicle) */
};
_Static_assert(sizeof(struct fatigue_state) <= RULES_STATE_BYTES_FATIGUE, "fatigue state too big");

static void fatigue_init(void *state)
{
    *(struct fatigue_state *)state = (struct fatigue_state){0};
}

static int64_t fatigue_rest_until_ms(const void *state)
{
    return ((const struct fatigue_state *)state)->rest_until_ms;
}

static int32_t local_day(int64_t ms, int32_t off_min)
{
    int64_t l = ms + (int64_t)off_min * 60000;
    int64_t d = l / DAY_MS;
    if (l % DAY_MS < 0)
        d--;
    return (int32_t)d;
}

/* UTC ms of the local midnight that ends local day d. */
static int64_t day_end_ms(int32_t d, int32_t off_min)
{
    return ((int64_t)d + 1) * DAY_MS - (int64_t)off_min * 60000;
}

static struct rule_event *push(struct rule_events *out, enum rule_event_kind kind, int32_t code,
                               const struct lpg_fix *fix)
{
    struct rule_event *e =
        rule_events_push(out, RULE_FATIGUE, kind, (fix->flags & LPG_FIX_LATE) != 0);
    if (e != NULL) {
        e->code = code;
        e->pos = fix->pos;
        e->max_speed_kmh = fix->has_speed ? fix->speed_kmh : 0.0;
    }
    return e;
}

/* Moves to local day d (closing a daily violation of the previous day). */
static void roll_day(struct fatigue_state *s, int32_t d, const struct rules_config *cfg,
                     const struct rules_ctx *ctx, const struct lpg_fix *fix,
                     struct rule_events *out)
{
    if (d == s->day)
        return;
    if (s->daily_violated) {
        struct rule_event *e = push(out, RULE_EVENT_VIOLATION_END, RULE_FATIGUE_DAILY, fix);
        if (e != NULL) {
            e->start_ms = day_end_ms(s->day - 1, ctx->utc_offset_min);
            e->end_ms = day_end_ms(s->day, ctx->utc_offset_min);
            e->duration_ms = s->daily_ms;
            e->limit = (double)cfg->daily_driving_max_ms;
            snprintf(e->message, sizeof e->message, "daily driving time of the day: %.1f h",
                     (double)s->daily_ms / 3600e3);
        }
    }
    s->day = d;
    s->daily_ms = 0;
    s->daily_violated = false;
}

/* Credits `credit` ms of driving over the interval (a, b], split at local midnights. */
static void add_driving(struct fatigue_state *s, int64_t a, int64_t b, int64_t credit,
                        const struct rules_config *cfg, const struct rules_ctx *ctx,
                        const struct lpg_fix *fix, struct rule_events *out)
{
    int64_t dt = b - a;
    int64_t t = a;
    while (t < b) {
        int32_t d = local_day(t, ctx->utc_offset_min);
        int64_t seg_end = day_end_ms(d, ctx->utc_offset_min);
        if (seg_end > b)
            seg_end = b;
        int64_t part = credit == dt
                           ? seg_end - t
                           : (int64_t)((double)credit * (double)(seg_end - t) / (double)dt);
        roll_day(s, d, cfg, ctx, fix, out);
        s->daily_ms += part;
        if (!s->daily_violated && s->daily_ms > cfg->daily_driving_max_ms) {
            s->daily_violated = true;
            int64_t until = day_end_ms(d, ctx->utc_offset_min);
            if (until > s->rest_until_ms)
                s->rest_until_ms = until;
            struct rule_event *e = push(out, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_DAILY, fix);
            if (e != NULL) {
                e->start_ms = day_end_ms(d - 1, ctx->utc_offset_min);
                e->end_ms = fix->time_ms;
                e->duration_ms = s->daily_ms;
                e->limit = (double)cfg->daily_driving_max_ms;
                e->rest_until_ms = until;
                snprintf(e->message, sizeof e->message,
                         "daily driving time over %.1f h: rest until the end of the day",
                         (double)cfg->daily_driving_max_ms / 3600e3);
            }
        }
        t = seg_end;
    }

    if (s->drive_ms == 0)
        s->drive_start_ms = a;
    s->drive_ms += credit;
    if (!s->warned && s->drive_ms >= cfg->continuous_driving_max_ms - cfg->fatigue_warning_ms) {
        s->warned = true;
        struct rule_event *e = push(out, RULE_EVENT_WARNING, RULE_FATIGUE_CONTINUOUS, fix);
        if (e != NULL) {
            e->start_ms = s->drive_start_ms;
            e->end_ms = fix->time_ms;
            e->duration_ms = s->drive_ms;
            e->limit = (double)cfg->continuous_driving_max_ms;
            snprintf(e->message, sizeof e->message,
                     "continuous driving %.0f min: rest %.0f min soon", (double)s->drive_ms / 60e3,
                     (double)cfg->min_rest_ms / 60e3);
        }
    }
    /* Strictly more: the rule is 连续驾驶机动车超过4小时 (道路交通安全法实施条例 Art. 62 (7)),
     * so exactly 4 h is not yet a violation; the first fix past it is. */
    if (s->drive_ms > cfg->continuous_driving_max_ms) {
        int64_t until = fix->time_ms + cfg->min_rest_ms;
        if (until > s->rest_until_ms)
            s->rest_until_ms = until;
        if (!s->violated) {
            s->violated = true;
            struct rule_event *e =
                push(out, RULE_EVENT_VIOLATION_START, RULE_FATIGUE_CONTINUOUS, fix);
            if (e != NULL) {
                e->start_ms = s->drive_start_ms;
                e->end_ms = fix->time_ms;
                e->duration_ms = s->drive_ms;
                e->limit = (double)cfg->continuous_driving_max_ms;
                e->rest_until_ms = s->rest_until_ms;
                snprintf(e->message, sizeof e->message,
                         "fatigue: %.0f min of continuous driving; mandatory rest of %.0f min",
                         (double)s->drive_ms / 60e3, (double)cfg->min_rest_ms / 60e3);
            }
        }
    }
}

static void add_stopped(struct fatigue_state *s, int64_t a, int64_t b,
                        const struct rules_config *cfg, const struct lpg_fix *fix,
                        struct rule_events *out)
{
    if (s->stop_start_ms == 0) {
        s->stop_start_ms = a;
        s->stop_ms = 0;
        s->anchor_lon = fix->pos.lon;
        s->anchor_lat = fix->pos.lat;
    }
    s->stop_ms += b - a;
    if (s->stop_ms >= cfg->min_rest_ms && (s->drive_ms > 0 || s->warned || s->violated)) {
        if (s->violated) {
            struct rule_event *e =
                push(out, RULE_EVENT_VIOLATION_END, RULE_FATIGUE_CONTINUOUS, fix);
            if (e != NULL) {
                e->start_ms = s->drive_start_ms;
                e->end_ms = s->stop_start_ms;
                e->duration_ms = s->drive_ms;
                e->limit = (double)cfg->continuous_driving_max_ms;
                e->rest_until_ms = s->rest_until_ms;
                snprintf(e->message, sizeof e->message,
                         "fatigue ended: %.0f min of continuous driving, then a %.0f min rest",
                         (double)s->drive_ms / 60e3, (double)s->stop_ms / 60e3);
            }
        }
        s->drive_ms = 0;
        s->drive_start_ms = 0;
        s->warned = false;
        s->violated = false;
    }
}

static void fatigue_evaluate(const struct rules_config *cfg, void *state, const struct lpg_fix *fix,
                             const struct rules_ctx *ctx, struct rule_events *out)
{
    struct fatigue_state *s = state;
    const int64_t t = fix->time_ms;
    const bool measured = fix->has_speed && !(fix->flags & LPG_FIX_DERIVED_SPEED);

    if (s->rebase && s->last_ms != 0) {
        /* The first fix in the person's new vehicle: the time since their last fix (in the
         * previous one) is stopped time here, where the new stop is anchored. */
        s->rebase = false;
        if (t > s->last_ms) {
            add_stopped(s, s->last_ms, t, cfg, fix, out);
            roll_day(s, local_day(t, ctx->utc_offset_min), cfg, ctx, fix, out);
            s->last_ms = t;
        }
        s->moving = false;
        s->anchor_lon = s->last_lon = fix->pos.lon;
        s->anchor_lat = s->last_lat = fix->pos.lat;
        return;
    }
    s->rebase = false;
    if (s->last_ms == 0 || t <= s->last_ms) {
        if (s->last_ms == 0) {
            s->day = local_day(t, ctx->utc_offset_min);
            s->moving = measured && fix->speed_kmh >= cfg->stop_speed_kmh;
            s->anchor_lon = fix->pos.lon;
            s->anchor_lat = fix->pos.lat;
            s->stop_start_ms = s->moving ? 0 : t;
            s->stop_ms = 0;
            s->last_ms = t;
            s->last_lon = fix->pos.lon;
            s->last_lat = fix->pos.lat;
        }
        return; /* not after the previous fix: the filters keep these away */
    }

    const int64_t dt = t - s->last_ms;
    const struct geo_point prev = {s->last_lon, s->last_lat};
    const double d_m = geo_distance_m(prev, fix->pos);
    const double avg_kmh = d_m / ((double)dt / 1000.0) * 3.6;
    bool moving;
    int64_t credit = dt;

    if (dt > cfg->fix_gap_ms) {
        moving = !(d_m <= cfg->gap_rest_max_distance_m && avg_kmh < cfg->stop_speed_kmh);
        if (moving && cfg->gap_assumed_speed_kmh > 0.0) {
            double need_ms = d_m / (cfg->gap_assumed_speed_kmh / 3.6) * 1000.0;
            if (need_ms < (double)dt)
                credit = (int64_t)need_ms;
        }
    } else if (s->moving) {
        moving = measured ? fix->speed_kmh >= cfg->stop_speed_kmh : avg_kmh >= cfg->stop_speed_kmh;
    } else {
        const struct geo_point anchor = {s->anchor_lon, s->anchor_lat};
        moving = geo_distance_m(anchor, fix->pos) >= cfg->min_displacement_m &&
                 (!measured || fix->speed_kmh >= cfg->stop_speed_kmh);
    }

    if (moving) {
        s->stop_start_ms = 0;
        s->stop_ms = 0;
        add_driving(s, s->last_ms, t, credit, cfg, ctx, fix, out);
    } else {
        add_stopped(s, s->last_ms, t, cfg, fix, out);
    }
    roll_day(s, local_day(t, ctx->utc_offset_min), cfg, ctx, fix, out);
    s->moving = moving;
    s->last_ms = t;
    s->last_lon = fix->pos.lon;
    s->last_lat = fix->pos.lat;
}

static bool fatigue_state_valid(const void *state)
{
    const struct fatigue_state *s = state;
    return s->last_ms >= 0 && s->stop_start_ms >= 0 && s->stop_ms >= 0 && s->drive_start_ms >= 0 &&
           s->drive_ms >= 0 && s->daily_ms >= 0 && s->rest_until_ms >= 0 && s->last_lon >= -180.0 &&
           s->last_lon <= 180.0 && s->last_lat >= -90.0 && s->last_lat <= 90.0 &&
           s->anchor_lon >= -180.0 && s->anchor_lon <= 180.0 && s->anchor_lat >= -90.0 &&
           s->anchor_lat <= 90.0;
}

#define F(t, m)                                                                                    \
    {                                                                                              \
        t, offsetof(struct fatigue_state, m)                                                       \
    }
static const struct rule_field fatigue_fields[] = {
    F('i', last_ms),    F('d', last_lon),      F('d', last_lat),      F('d', anchor_lon),
    F('d', anchor_lat), F('i', stop_start_ms), F('i', stop_ms),       F('i', drive_start_ms),
    F('i', drive_ms),   F('i', daily_ms),      F('i', rest_until_ms), F('n', day),
    F('b', moving),     F('b', warned),        F('b', violated),      F('b', daily_violated),
};
#undef F

void rules_fatigue_change_vehicle(struct rules_fatigue *f)
{
    struct fatigue_state *s = (struct fatigue_state *)f->b;
    s->rebase = true;
}

bool rules_fatigue_change_pending(const struct rules_fatigue *f)
{
    return ((const struct fatigue_state *)f->b)->rebase;
}

const struct rule_def rule_fatigue = {
    .name = "fatigue",
    .id = RULE_FATIGUE,
    .state_size = sizeof(struct fatigue_state),
    .init = fatigue_init,
    .evaluate = fatigue_evaluate,
    .tick = NULL,
    .fields = fatigue_fields,
    .n_fields = sizeof fatigue_fields / sizeof fatigue_fields[0],
    .state_valid = fatigue_state_valid,
    .rest_until_ms = fatigue_rest_until_ms,
};
