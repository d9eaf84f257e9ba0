/*
 * motion.h - trips and stops from a vehicle's fixes (tracking issue item 6, the auditor's
 * trips/stops and daily summary). Pure: no I/O, no allocation; O(1) state however many fixes.
 *
 * Moving vs stopped is exactly the fatigue rule's classification (rule_fatigue.c), with the
 * same thresholds (rules_config: stop_speed_kmh 5 km/h, min_displacement_m 50 m, fix_gap_ms
 * 60 s, gap_rest_max_distance_m 200 m, gap_assumed_speed_kmh 20 km/h). Every interval between
 * consecutive fixes p -> f is MOVING or STOPPED:
 *   - a data gap (> fix_gap_ms) is STOPPED when f is within gap_rest_max_distance_m of p and
 *     the average speed is below stop_speed_kmh (the logger records nothing while parked);
 *     otherwise MOVING, credited as driving for min(gap, distance / gap_assumed_speed_kmh);
 *   - after a moving interval: MOVING iff the measured speed at f (has_speed, not
 *     LPG_FIX_DERIVED_SPEED) is >= stop_speed_kmh; without one, iff the implied speed is;
 *   - after a stopped interval: MOVING iff f is >= min_displacement_m from the anchor (f of
 *     the first stopped interval) and (no measured speed, or measured speed >= stop_speed_kmh).
 *
 * Segmentation. A run of consecutive STOPPED intervals lasting >= min_stop_ms (from the last
 * moving fix to the last stopped fix) is a STOP; its position is the anchor. Everything between
 * two stops (or a stop and an end of the input) that contains at least one moving interval is a
 * TRIP; shorter stopped runs (a traffic light, a 2 min halt) are part of the trip they interrupt.
 * A trip runs from the end of the previous stop (or the first fix) to the start of the next
 * stop (or the last fix). Its distance is the great-circle sum over its intervals; the first
 * interval after a stop is measured from the stop's anchor (a vehicle leaving a parking place
 * is recognised only 50 m out: this puts those metres in the trip). Intervals inside stops,
 * including parked data gaps, add no distance. driving_ms is the fatigue rule's driving
 * credit (moving intervals only; a short halt pauses it). max_speed_kmh is the highest
 * measured speed at the end of a moving interval (derived speeds are ignored: they spike on
 * position jitter); has_max_speed is false when there was none.
 *
 * Segments are cut at the ends of the input: a stop or trip open at the first or last fix is
 * reported from/to that fix (open_start / open_end).
 */
#ifndef LPG_MOTION_H
#define LPG_MOTION_H

#include "core/fix.h"
#include "core/rules.h"

#include <stdbool.h>
#include <stdint.h>

#define MOTION_MIN_STOP_MS_DEFAULT (5 * 60 * 1000LL) /* a stop lasts at least 5 min */

struct motion_config {
    double stop_speed_kmh;
    double min_displacement_m;
    int64_t fix_gap_ms;
    double gap_rest_max_distance_m;
    double gap_assumed_speed_kmh;
    int64_t min_stop_ms; /* shortest stopped run reported as a stop */
};

/* The fatigue rule's thresholds from cfg, and min_stop_ms. */
void motion_config_from_rules(struct motion_config *m, const struct rules_config *cfg,
                              int64_t min_stop_ms);

enum motion_kind { MOTION_TRIP, MOTION_STOP };

struct motion_segment {
    enum motion_kind kind;
    int64_t start_ms, end_ms;
    struct geo_point start_pos, end_pos; /* a stop: both are its position (the anchor) */
    double distance_m;                   /* trips; 0 for stops */
    int64_t driving_ms;                  /* trips; 0 for stops */
    double max_speed_kmh;                /* trips, when has_max_speed */
    bool has_max_speed;
    bool open_start; /* begins at the first fix of the input */
    bool open_end;   /* ends at the last fix of the input */
};

typedef void motion_emit_fn(void *arg, const struct motion_segment *seg);

struct motion {
    struct motion_config cfg;
    motion_emit_fn *emit;
    void *arg;
    uint64_t n_fixes;   /* fixes accepted (in time order) */
    uint64_t n_ignored; /* fixes not after the previous one: ignored */
    /* the previous fix */
    bool have_last;
    int64_t last_ms;
    struct geo_point last_pos;
    bool last_moving; /* the last interval was moving (for the first fix: its measured speed) */
    /* the open trip-to-be (everything since the last stop) */
    bool seg_open;
    bool seg_from_first;
    bool seg_moved;
    bool seg_after_stop; /* its first moving interval is measured from the stop's anchor */
    struct motion_segment seg;
    /* the current run of stopped intervals */
    bool run_open;
    bool run_from_first;
    int64_t run_start_ms, run_end_ms;
    struct geo_point anchor, run_end_pos;
    double run_distance_m;
};

void motion_init(struct motion *m, const struct motion_config *cfg, motion_emit_fn *emit,
                 void *arg);
/* The next fix, in time order (a fix not after the previous one is ignored). Emits every
 * segment that this fix completes. */
void motion_push(struct motion *m, const struct lpg_fix *fix);
/* The end of the input: emits the open segments (a trip, then a stop, at most). */
void motion_finish(struct motion *m);

#endif /* LPG_MOTION_H */
