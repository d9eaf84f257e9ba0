/*
 * rule_zone_exit.c - a vehicle outside its person's fixed delivery zone (固定配送范围),
 * tracking issue item 4.
 *
 * Definition: the caller decides, with geo/ (geo_multipolygon_contains, boundary inside),
 * whether the fix lies in the zone and passes ctx->inside_zone; the rule never sees geometry.
 * An episode starts at the first fix outside; when a fix outside comes zone_exit_duration_ms
 * (60 s) or more after that start, with no fix inside between, VIOLATION_START is pushed.
 * The next fix inside closes the episode: VIOLATION_END with start = first fix outside, end =
 * the fix inside, duration = end - start. A person without a zone (ctx->has_zone false) never
 * raises; an open episode is dropped silently then (the zone was taken away, not re-entered).
 */
#include "core/rules.h"

#include <stdio.h>

struct zone_exit_state {
    int64_t outside_since_ms; /* first fix outside of the episode; 0 when inside */
    bool raised;
};
_Static_assert(sizeof(struct zone_exit_state) <= RULES_STATE_BYTES_ZONE_EXIT, "zone state too big");

static void zone_exit_init(void *state)
{
    *(struct zone_exit_state *)state = (struct zone_exit_state){0};
}

static void zone_exit_evaluate(const struct rules_config *cfg, void *state,
                               const struct lpg_fix *fix, const struct rules_ctx *ctx,
                               struct rule_events *out)
{
    struct zone_exit_state *s = state;
    bool late = (fix->flags & LPG_FIX_LATE) != 0;
    int64_t t = fix->time_ms;

    if (!ctx->has_zone) {
        s->outside_since_ms = 0;
        s->raised = false;
        return;
    }
    if (ctx->inside_zone) {
        if (s->raised) {
            struct rule_event *e =
                rule_events_push(out, RULE_ZONE_EXIT, RULE_EVENT_VIOLATION_END, late);
            if (e != NULL) {
                e->start_ms = s->outside_since_ms;
                e->end_ms = t;
                e->duration_ms = t - s->outside_since_ms;
                e->pos = fix->pos;
                e->limit = (double)cfg->zone_exit_duration_ms;
                snprintf(e->message, sizeof e->message,
                         "back in the delivery zone after %.0f s outside",
                         (double)e->duration_ms / 1000.0);
            }
        }
        s->outside_since_ms = 0;
        s->raised = false;
        return;
    }
    if (s->outside_since_ms == 0)
        s->outside_since_ms = t;
    if (!s->raised && t - s->outside_since_ms >= cfg->zone_exit_duration_ms) {
        s->raised = true;
        struct rule_event *e =
            rule_events_push(out, RULE_ZONE_EXIT, RULE_EVENT_VIOLATION_START, late);
        if (e != NULL) {
            e->start_ms = s->outside_since_ms;
            e->end_ms = t;
            e->duration_ms = t - s->outside_since_ms;
            e->pos = fix->pos;
            e->max_speed_kmh = fix->has_speed ? fix->speed_kmh : 0.0;
            e->limit = (double)cfg->zone_exit_duration_ms;
            snprintf(e->message, sizeof e->message, "outside the delivery zone for %.0f s",
                     (double)e->duration_ms / 1000.0);
        }
    }
}

static bool zone_exit_state_valid(const void *state)
{
    const struct zone_exit_state *s = state;
    return s->outside_since_ms >= 0 && (s->outside_since_ms != 0 || !s->raised);
}

static const struct rule_field zone_exit_fields[] = {
    {'i', offsetof(struct zone_exit_state, outside_since_ms)},
    {'b', offsetof(struct zone_exit_state, raised)},
};

const struct rule_def rule_zone_exit = {
    .name = "zone_exit",
    .id = RULE_ZONE_EXIT,
    .state_size = sizeof(struct zone_exit_state),
    .init = zone_exit_init,
    .evaluate = zone_exit_evaluate,
    .tick = NULL,
    .fields = zone_exit_fields,
    .n_fields = sizeof zone_exit_fields / sizeof zone_exit_fields[0],
    .state_valid = zone_exit_state_valid,
};
