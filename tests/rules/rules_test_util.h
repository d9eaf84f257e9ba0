/*
 * rules_test_util.h - helpers shared by the rules tests: building fixes, running a sequence of
 * fixes through the engine and collecting its events.
 */
#ifndef RULES_TEST_UTIL_H
#define RULES_TEST_UTIL_H

#include "core/rules.h"

#include <stdlib.h>
#include <string.h>

#define T0_MS 1700000000000LL /* 2023-11-14T22:13:20Z, an arbitrary epoch for synthetic data */

/* Collected events of a run. */
struct evlog {
    struct rule_event ev[4096];
    size_t n;
};

static inline struct lpg_fix mkfix(int64_t t_ms, double lon, double lat, double speed_kmh)
{
    struct lpg_fix f = {.time_ms = t_ms, .pos = {lon, lat}, .mode = LPG_FIX_MODE_3D};
    if (speed_kmh >= 0.0) {
        f.speed_kmh = speed_kmh;
        f.has_speed = true;
    }
    return f;
}

static inline void evlog_add(struct evlog *log, const struct rule_event *ev, size_t n)
{
    for (size_t i = 0; i < n && log->n < sizeof log->ev / sizeof log->ev[0]; i++)
        log->ev[log->n++] = ev[i];
}

/* Evaluates f (already filtered) and logs its events; returns how many. */
static inline size_t eval_log(const struct rules_config *cfg, struct rules_state *st,
                              const struct lpg_fix *f, const struct rules_ctx *ctx,
                              struct evlog *log)
{
    struct rule_event ev[RULES_EVENTS_MAX];
    size_t n = rules_evaluate(cfg, st, f, ctx, ev, RULES_EVENTS_MAX);
    evlog_add(log, ev, n);
    return n;
}

/* Events of a rule and kind (code < 0: any code). */
static inline size_t evlog_count(const struct evlog *log, enum rule_id rule,
                                 enum rule_event_kind kind, int code)
{
    size_t c = 0;
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].rule == rule && log->ev[i].kind == kind &&
            (code < 0 || log->ev[i].code == code))
            c++;
    return c;
}

static inline const struct rule_event *evlog_find(const struct evlog *log, enum rule_id rule,
                                                  enum rule_event_kind kind, int code)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].rule == rule && log->ev[i].kind == kind &&
            (code < 0 || log->ev[i].code == code))
            return &log->ev[i];
    return NULL;
}

#endif
