/* depot_watch.h -- what a vehicle's live track says about its depot and its stops (issue 13
 * item 4): leaving and entering its station, a stop (the tracking stop rule of motion.h)
 * beginning, lasting long, and ending. Pure: no I/O, no allocation; O(1) state and O(1) work
 * per fix (a polygon station: its vertices). The caller (app/ingest.c) feeds the fixes its
 * filters accepted, in time order, and turns the events into records, order transitions and
 * alerts.
 *
 * The state is in memory only and re-derivable: after a restart (a zeroed state) the first fix
 * only says where the vehicle is (inside its station or not) and starts the stop rule afresh;
 * no departure or arrival is invented for it. A stop that was under way is found again once it
 * has lasted min_stop_ms from the first fix after the restart.
 */
#ifndef LPG_DEPOT_WATCH_H
#define LPG_DEPOT_WATCH_H

#include "core/fix.h"
#include "core/model.h"
#include "core/motion.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct depot_watch_config {
    struct motion_config motion; /* its min_stop_ms: when a run of stopped fixes is a stop */
    int64_t long_stop_ms;        /* a stop this long raises DEPOT_EV_STOP_LONG (10 min) */
};

enum depot_event_kind {
    DEPOT_EV_LEFT,       /* the first fix outside the station after one inside */
    DEPOT_EV_ENTERED,    /* the first fix inside after one outside */
    DEPOT_EV_STOP_BEGAN, /* the stop rule says stopped: at pos (the anchor) since start_ms */
    DEPOT_EV_STOP_LONG,  /* the same stop has lasted long_stop_ms */
    DEPOT_EV_STOP_ENDED, /* the vehicle moves again after a reported stop */
};

struct depot_event {
    enum depot_event_kind kind;
    int64_t at_ms;        /* the fix that decided it */
    int64_t start_ms;     /* stops: when the stop began (the last moving fix) */
    struct geo_point pos; /* the deciding fix; stops: the stop's anchor */
    bool station_event;   /* LEFT / ENTERED */
};

/* At most this many events for one fix: a station event, and a stop's end, or its beginning
 * and (a data gap long enough) its long mark at once; one spare. */
#define DEPOT_EVENTS_PER_FIX 4

struct depot_watch {
    bool known;  /* a fix was seen (since start) */
    bool inside; /* that fix lay inside the vehicle's station */
    bool motion_ready;
    struct motion motion;
    int64_t stop_start_ms; /* the stop reported (DEPOT_EV_STOP_BEGAN), 0 when none */
    bool stop_long;        /* and DEPOT_EV_STOP_LONG was reported for it */
    struct geo_point stop_pos;
    bool alerted; /* the caller's: it raised an alert for this stop (cleared at STOP_ENDED) */
};

/* A zeroed struct is the state of a vehicle not seen since start. */
void depot_watch_init(struct depot_watch *w);

/* The next accepted live fix of the vehicle; st is its station (NULL: none: no station events).
 * Writes the events it decides into out[DEPOT_EVENTS_PER_FIX] and returns their count. */
size_t depot_watch_push(struct depot_watch *w, const struct depot_watch_config *cfg,
                        const struct lpg_station *st, const struct lpg_fix *f,
                        struct depot_event *out);

/* Whether the vehicle's stop at p is "planned": within radius_m of one of the n points (its
 * customers) or inside its station. */
bool depot_stop_is_planned(struct geo_point p, const struct geo_point *places, size_t n,
                           double radius_m, const struct lpg_station *st);

#endif
