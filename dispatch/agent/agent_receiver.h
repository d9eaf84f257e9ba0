/*
 * agent_receiver.h - what a receiver's reports become as fixes (prefix agent_receiver_); pure.
 *
 * gpsd reports each epoch (one receiver time) in several TPVs, one per NMEA sentence, each
 * holding what it knows so far: GGA brings the position but no date and no speed, RMC the date
 * and speed, GSA the mode. This module merges the TPVs of one epoch and takes the epoch when
 * the next one starts (or when the caller flushes it after a timeout), then applies the rules
 * of real receivers:
 *
 *   - no fix (mode 0/1) or no position: skipped, counted in no_fix;
 *   - no valid UTC time (absent, or before 2000-01-01: a receiver that has no date yet, or
 *     whose date gpsd could not tell): skipped, counted in no_time. A fix is never sent
 *     without a valid UTC time;
 *   - time going backwards or repeating (a receiver glitch, a spliced log): skipped, counted
 *     in backwards; when AGENT_REANCHOR_EPOCHS epochs in a row are behind the last fix, the
 *     receiver's new timeline is taken from there on (counted in reanchored): its earlier
 *     time was the wrong one;
 *   - missing speed or course: derived from the previous fix when it is at most
 *     derive_max_gap older (across a longer gap, a time jump or a fix lost and regained, a
 *     derived speed would be fiction, so it stays absent), and marked speed_derived;
 *   - every fix is marked source GNSS with its mode (2D/3D), accuracy (eph, else the larger of
 *     epx/epy), satellites used, and altitude in 3D.
 */
#ifndef LPG_AGENT_RECEIVER_H
#define LPG_AGENT_RECEIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/agent_spool.h"

/* Consecutive epochs behind the last fix after which the receiver's new timeline is taken. */
#define AGENT_REANCHOR_EPOCHS 10

/* Earliest receiver time taken as a real date: 2000-01-01T00:00Z, the server's own bound. */
#define AGENT_MIN_TIME_MS 946684800000LL

/* One TPV as libgps decoded it. Doubles are NaN when the receiver did not say. */
struct agent_reading {
    int mode;      /* 0 unknown, 1 no fix, 2 2D, 3 3D */
    bool has_time; /* a TPV without "time" */
    int64_t time_ms;
    double lat, lon;            /* degrees */
    double speed_m_s;           /* ground speed */
    double track_deg;           /* course over ground, true */
    double eph_m, epx_m, epy_m; /* horizontal error estimates */
    double alt_msl_m;
    int satellites_used; /* -1 unknown */
};

struct agent_receiver_counters {
    uint64_t reports; /* TPVs offered */
    uint64_t epochs;  /* fixes produced */
    uint64_t no_fix;
    uint64_t no_time;
    uint64_t backwards;
    uint64_t reanchored; /* times the receiver's timeline was taken after a jump back */
    uint64_t derived;    /* fixes whose speed was derived */
};

struct agent_receiver {
    int64_t time_offset_ms;
    int64_t derive_max_gap_ms;
    bool has_pending;
    struct agent_reading pending;
    int64_t pending_rx_ms;
    bool has_last;
    int64_t last_time_ms; /* receiver time of the last fix produced (before the offset) */
    double last_lat, last_lon;
    unsigned backwards_run; /* epochs in a row behind the last fix */
    struct agent_receiver_counters c;
};

void agent_receiver_init(struct agent_receiver *r, int64_t time_offset_ms,
                         int64_t derive_max_gap_ms);

/* Offers one TPV read at rx_ms (agent clock). Returns 1 when it completed the previous epoch
 * into *out (seq not set), 0 otherwise. */
int agent_receiver_offer(struct agent_receiver *r, const struct agent_reading *rd, int64_t rx_ms,
                         struct agent_fix *out);

/* Takes the epoch in progress, if any (after epoch_timeout, or at shutdown). 1 when *out was
 * filled. */
int agent_receiver_flush(struct agent_receiver *r, struct agent_fix *out);

#endif /* LPG_AGENT_RECEIVER_H */
