/*
 * rule_signal_lost.c - no position from a vehicle on an active delivery, tracking issue item 4.
 *
 * Definition: evaluate() remembers the time and place of the last fix. The caller calls
 * rules_tick(now_ms) periodically (any period; the event's times do not depend on it) with
 * ctx->on_active_delivery. When on an active delivery and now_ms - last fix time >=
 * signal_lost_ms (5 min), VIOLATION_START is pushed (start = the last fix's time, pos = its
 * position), once. The next fix closes the episode: VIOLATION_END, end = that fix's time,
 * duration = the time without a fix. Nothing is raised before the first fix, nor when not on
 * a delivery. Fixes are the receiver's time, so a late batch uploaded after an outage closes
 * the episode with late = true and the gap it shows.
 */
#include "core/rules.h"

#include <stdio.h>

struct signal_lost_state {
    int64_t last_ms; /* last fix; 0 when none */
    double last_lon, last_lat;
    bool raised;
};
_Static_assert(sizeof(struct signal_lost_state) <= RULES_STATE_BYTES_SIGNAL_LOST,
               "signal state too big");

static void signal_lost_init(void *state)
{
    *(struct signal_lost_state *)state = (struct signal_lost_state){0};
}

static void signal_lost_evaluate(const struct rules_config *cfg, void *state,
                                 const struct lpg_fix *fix, const struct rules_ctx *ctx,
                                 struct rule_events *out)
{
    struct signal_lost_state *s = state;
    (void)ctx;
    if (s->raised) {
        struct rule_event *e = rule_events_push(out, RULE_SIGNAL_LOST, RULE_EVENT_VIOLATION_END,
                                                (fix->flags & LPG_FIX_LATE) != 0);
        if (e != NULL) {
            e->start_ms = s->last_ms;
            e->end_ms = fix->time_ms;
            e->duration_ms = fix->time_ms - s->last_ms;
            e->pos = fix->pos;
            e->limit = (double)cfg->signal_lost_ms;
            snprintf(e->message, sizeof e->message, "position signal back after %.0f s",
                     (double)e->duration_ms / 1000.0);
        }
        s->raised = false;
    }
    if (fix->time_ms > s->last_ms) {
        s->last_ms = fix->time_ms;
        s->last_lon = fix->pos.lon;
        s->last_lat = fix->pos.lat;
    }
}

static void signal_lost_tick(const struct rules_config *cfg, void *state, int64_t now_ms,
                             const struct rules_ctx *ctx, struct rule_events *out)
{
    struct signal_lost_state *s = state;
    if (s->raised || s->last_ms == 0 || !ctx->on_active_delivery ||
        now_ms - s->last_ms < cfg->signal_lost_ms)
        return;
    s->raised = true;
    struct rule_event *e =
        rule_events_push(out, RULE_SIGNAL_LOST, RULE_EVENT_VIOLATION_START, false);
    if (e != NULL) {
        e->start_ms = s->last_ms;
        e->end_ms = now_ms;
        e->duration_ms = now_ms - s->last_ms;
        e->pos = (struct geo_point){s->last_lon, s->last_lat};
        e->limit = (double)cfg->signal_lost_ms;
        snprintf(e->message, sizeof e->message, "no position for %.0f s on an active delivery",
                 (double)e->duration_ms / 1000.0);
    }
}

static bool signal_lost_state_valid(const void *state)
{
    const struct signal_lost_state *s = state;
    return s->last_ms >= 0 && (s->last_ms != 0 || !s->raised) && s->last_lon >= -180.0 &&
           s->last_lon <= 180.0 && s->last_lat >= -90.0 && s->last_lat <= 90.0;
}

static const struct rule_field signal_lost_fields[] = {
    {'i', offsetof(struct signal_lost_state, last_ms)},
    {'d', offsetof(struct signal_lost_state, last_lon)},
    {'d', offsetof(struct signal_lost_state, last_lat)},
    {'b', offsetof(struct signal_lost_state, raised)},
};

const struct rule_def rule_signal_lost = {
    .name = "signal_lost",
    .id = RULE_SIGNAL_LOST,
    .state_size = sizeof(struct signal_lost_state),
    .init = signal_lost_init,
    .evaluate = signal_lost_evaluate,
    .tick = signal_lost_tick,
    .fields = signal_lost_fields,
    .n_fields = sizeof signal_lost_fields / sizeof signal_lost_fields[0],
    .state_valid = signal_lost_state_valid,
};
