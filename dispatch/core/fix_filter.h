/*
 * fix_filter.h - the filters every fix passes before any rule sees it (tracking issue item 2):
 * invalid fix, (0,0), time in the future, duplicate / out of order, impossible jump, poor
 * accuracy. Pure: no I/O, no allocation; the per-vehicle state is a small plain struct the
 * caller keeps (and persists, see rules_state_encode) next to the rules' state.
 *
 * Checks, in this order (the first that fails names the reason):
 *   1. invalid:      mode below 2D, a non-finite or out-of-range coordinate, time <= 0, or a
 *                    speed / accuracy that is present but negative or non-finite;
 *   2. zero:         lon == 0 && lat == 0 (a receiver with no position often reports it);
 *   3. future:       time_ms > now_ms + max_future_ms (the caller's clock; tests replaying
 *                    old logs pass the data's own time as now_ms);
 *   4. accuracy:     has_accuracy && accuracy_m > max_accuracy_m (absent accuracy passes);
 *   5. duplicate:    time_ms == the last accepted fix's time;
 *      out_of_order: time_ms <  the last accepted fix's time. The caller stores such a fix in
 *                    the history ("late") but the rules, which follow time forwards, skip it;
 *   6. jump:         the implied speed from the last accepted fix (great-circle distance over
 *                    time) exceeds max_implied_speed_kmh.
 *                    Re-anchoring: a real jump (receiver re-acquired after a cold start, a
 *                    teleport in the data) would otherwise reject every later fix until the
 *                    vehicle drives back. So a rejected fix becomes a candidate; when
 *                    jump_confirm_fixes consecutive rejected fixes are consistent with each
 *                    other (implied speed between them within the limit), the last of them is
 *                    accepted and becomes the new anchor (result FIX_FILTER_OK, *reanchored
 *                    true, no implied speed). A lone spike is never confirmed.
 * Only accepted fixes update the state (except the jump candidate).
 */
#ifndef LPG_FIX_FILTER_H
#define LPG_FIX_FILTER_H

#include "core/fix.h"

#include <stdbool.h>
#include <stdint.h>

/* Stable reason codes: their names (fix_filter_reason_name) are metric labels. */
enum fix_filter_reason {
    FIX_FILTER_OK = 0,
    FIX_FILTER_INVALID,      /* "invalid" */
    FIX_FILTER_ZERO,         /* "zero" */
    FIX_FILTER_FUTURE,       /* "future" */
    FIX_FILTER_ACCURACY,     /* "accuracy" */
    FIX_FILTER_DUPLICATE,    /* "duplicate" */
    FIX_FILTER_OUT_OF_ORDER, /* "out_of_order" */
    FIX_FILTER_JUMP,         /* "jump" */
    FIX_FILTER_REASON_COUNT
};

/* "ok", "invalid", "zero", ...; "unknown" for a value out of range. Never NULL. */
const char *fix_filter_reason_name(enum fix_filter_reason r);

struct fix_filter_config {
    int64_t max_future_ms;        /* default 60000 (60 s) */
    double max_implied_speed_kmh; /* default 250 */
    double max_accuracy_m;        /* default 100 */
    int32_t jump_confirm_fixes;   /* default 3; 0 disables re-anchoring */
};
void fix_filter_config_default(struct fix_filter_config *cfg);

/* Per-vehicle state: zero-initialised (fix_filter_state_init) means "no fix yet". */
struct fix_filter_state {
    int64_t last_ms; /* last accepted fix; 0 when none */
    struct geo_point last_pos;
    int64_t cand_ms; /* jump candidate (last rejected jump); 0 when none */
    struct geo_point cand_pos;
    int32_t cand_count; /* consecutive consistent rejected fixes ending at the candidate */
};
void fix_filter_state_init(struct fix_filter_state *st);

/*
 * Runs the checks on fix. On FIX_FILTER_OK the fix becomes the last accepted one. When not
 * NULL, *implied_speed_kmh receives the speed implied by the move from the previous accepted fix
 * (only when the result is OK and there was a previous fix and no re-anchoring; else NaN) and
 * *reanchored whether the fix was accepted by re-anchoring.
 */
enum fix_filter_reason fix_filter_apply(const struct fix_filter_config *cfg,
                                        struct fix_filter_state *st, const struct lpg_fix *fix,
                                        int64_t now_ms, double *implied_speed_kmh,
                                        bool *reanchored);

#endif /* LPG_FIX_FILTER_H */
