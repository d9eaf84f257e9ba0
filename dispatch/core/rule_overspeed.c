/*
 * rule_overspeed.c - overspeed (超速), tracking issue item 4; reg. 危险货物道路运输安全管理办法
 * Art. 46; JT/T 808 parameters 0x0055 (max speed), 0x0056 (overspeed duration), 0x005B
 * (overspeed warning difference).
 *
 * Definition
 *   - The limit at a fix is rules_speed_limit_kmh(): the lowest of the vehicle's limit, the
 *     zone's limit and the road-class default (60 km/h, 80 km/h on an expressway).
 *   - A fix is over when its speed > the limit at that fix. Fixes without a speed are ignored
 *     (they neither extend nor break a run). Derived speeds count (gpsd's glitches are one or
 *     two readings, which the run conditions below never accept).
 *   - A run is a sequence of over fixes with no fix at or under the limit between them and no
 *     gap between consecutive fixes longer than overspeed_max_gap_ms (15 s).
 *   - The run becomes a violation when (last over fix time - first over fix time) >=
 *     overspeed_duration_ms (10 s) AND it has >= overspeed_min_fixes (3) fixes: so one or two
 *     fast fixes never raise, whatever their spacing. VIOLATION_START is pushed then (the live
 *     alert); VIOLATION_END when the run ends (a fix at or under the limit, or a gap), with
 *     start = first over fix, end = last over fix, duration = end - start, the maximum speed
 *     and the lowest limit applied during the run. One START/END pair per episode.
 *   - Warning: speed > limit - overspeed_warning_margin_kmh under the same duration and fix
 *     count conditions, while the current fix is not over the limit; once per warning run (the
 *     run ends at a fix at or below limit - margin, or a gap).
 */
#include "core/rules.h"

#include <stdio.h>

struct overspeed_state {
    int64_t last_ms;      /* last fix with a speed; 0 when none */
    int64_t start_ms;     /* first over fix of the current run; 0 when no run */
    int64_t last_over_ms; /* latest over fix of the run */
    double max_kmh;
    double limit_kmh; /* lowest limit applied during the run */
    double last_over_lon, last_over_lat;
    int64_t warn_start_ms; /* first fix of the current warning run; 0 when none */
    int32_t n_over;
    int32_t n_warn;
    bool raised; /* the run was raised (START pushed) */
    bool warned; /* the warning run was warned */
};
_Static_assert(sizeof(struct overspeed_state) <= RULES_STATE_BYTES_OVERSPEED,
               "overspeed state too big");

static void overspeed_init(void *state)
{
    *(struct overspeed_state *)state = (struct overspeed_state){0};
}

static void close_run(struct overspeed_state *s, bool late, struct rule_events *out)
{
    if (s->raised) {
        struct rule_event *e =
            rule_events_push(out, RULE_OVERSPEED, RULE_EVENT_VIOLATION_END, late);
        if (e != NULL) {
            e->start_ms = s->start_ms;
            e->end_ms = s->last_over_ms;
            e->duration_ms = s->last_over_ms - s->start_ms;
            e->pos = (struct geo_point){s->last_over_lon, s->last_over_lat};
            e->max_speed_kmh = s->max_kmh;
            e->limit = s->limit_kmh;
            snprintf(e->message, sizeof e->message,
                     "overspeed ended: max %.1f km/h over the %.0f km/h limit for %.1f s",
                     s->max_kmh, s->limit_kmh, (double)e->duration_ms / 1000.0);
        }
    }
    s->start_ms = 0;
    s->last_over_ms = 0;
    s->n_over = 0;
    s->max_kmh = 0.0;
    s->limit_kmh = 0.0;
    s->last_over_lon = s->last_over_lat = 0.0;
    s->raised = false;
}

static void end_warning_run(struct overspeed_state *s)
{
    s->warn_start_ms = 0;
    s->n_warn = 0;
    s->warned = false;
}

static void overspeed_evaluate(const struct rules_config *cfg, void *state,
                               const struct lpg_fix *fix, const struct rules_ctx *ctx,
                               struct rule_events *out)
{
    struct overspeed_state *s = state;
    bool late = (fix->flags & LPG_FIX_LATE) != 0;
    if (!fix->has_speed)
        return;
    double lim = rules_speed_limit_kmh(cfg, ctx);
    int64_t t = fix->time_ms;

    if (s->last_ms != 0 && t - s->last_ms > cfg->overspeed_max_gap_ms) {
        close_run(s, late, out);
        end_warning_run(s);
    }
    s->last_ms = t;

    bool over = fix->speed_kmh > lim;
    if (over) {
        if (s->start_ms == 0) {
            s->start_ms = t;
            s->limit_kmh = lim;
        }
        s->n_over++;
        s->last_over_ms = t;
        s->last_over_lon = fix->pos.lon;
        s->last_over_lat = fix->pos.lat;
        if (fix->speed_kmh > s->max_kmh)
            s->max_kmh = fix->speed_kmh;
        if (lim < s->limit_kmh)
            s->limit_kmh = lim;
        if (!s->raised && s->n_over >= cfg->overspeed_min_fixes &&
            t - s->start_ms >= cfg->overspeed_duration_ms) {
            s->raised = true;
            struct rule_event *e =
                rule_events_push(out, RULE_OVERSPEED, RULE_EVENT_VIOLATION_START, late);
            if (e != NULL) {
                e->start_ms = s->start_ms;
                e->end_ms = t;
                e->duration_ms = t - s->start_ms;
                e->pos = fix->pos;
                e->max_speed_kmh = s->max_kmh;
                e->limit = s->limit_kmh;
                snprintf(e->message, sizeof e->message,
                         "overspeed: %.1f km/h over the %.0f km/h limit for %.1f s", fix->speed_kmh,
                         s->limit_kmh, (double)e->duration_ms / 1000.0);
            }
        }
    } else {
        close_run(s, late, out);
    }

    if (fix->speed_kmh > lim - cfg->overspeed_warning_margin_kmh) {
        if (s->warn_start_ms == 0)
            s->warn_start_ms = t;
        s->n_warn++;
        if (!over && !s->warned && s->n_warn >= cfg->overspeed_min_fixes &&
            t - s->warn_start_ms >= cfg->overspeed_duration_ms) {
            s->warned = true;
            struct rule_event *e = rule_events_push(out, RULE_OVERSPEED, RULE_EVENT_WARNING, late);
            if (e != NULL) {
                e->start_ms = s->warn_start_ms;
                e->end_ms = t;
                e->duration_ms = t - s->warn_start_ms;
                e->pos = fix->pos;
                e->max_speed_kmh = fix->speed_kmh;
                e->limit = lim;
                snprintf(e->message, sizeof e->message,
                         "approaching the speed limit: %.1f km/h, limit %.0f km/h", fix->speed_kmh,
                         lim);
            }
        }
    } else {
        end_warning_run(s);
    }
}

static bool overspeed_state_valid(const void *state)
{
    const struct overspeed_state *s = state;
    return s->last_ms >= 0 && s->start_ms >= 0 && s->last_over_ms >= s->start_ms &&
           s->n_over >= 0 && s->n_warn >= 0 && s->warn_start_ms >= 0 && s->max_kmh >= 0.0 &&
           (s->start_ms != 0 || (s->n_over == 0 && !s->raised));
}

#define F(t, m)                                                                                    \
    {                                                                                              \
        t, offsetof(struct overspeed_state, m)                                                     \
    }
static const struct rule_field overspeed_fields[] = {
    F('i', last_ms),   F('i', start_ms),      F('i', last_over_ms),  F('d', max_kmh),
    F('d', limit_kmh), F('d', last_over_lon), F('d', last_over_lat), F('i', warn_start_ms),
    F('n', n_over),    F('n', n_warn),        F('b', raised),        F('b', warned),
};
#undef F

const struct rule_def rule_overspeed = {
    .name = "overspeed",
    .id = RULE_OVERSPEED,
    .state_size = sizeof(struct overspeed_state),
    .init = overspeed_init,
    .evaluate = overspeed_evaluate,
    .tick = NULL,
    .fields = overspeed_fields,
    .n_fields = sizeof overspeed_fields / sizeof overspeed_fields[0],
    .state_valid = overspeed_state_valid,
};
