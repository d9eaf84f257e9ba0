/*
 * fix.h - one position fix as the pre-rule filters (fix_filter.h) and the rules (rules.h) see
 * it. Conversions from the wire (handset protobuf, JT/T 808, gpsd's m/s) are done by the
 * adapters that receive them, never here.
 *
 * Units are in the field names: time in UTC milliseconds since the Unix epoch (the receiver's
 * time, i.e. when the position was measured, not when it arrived), speed in km/h (the unit of
 * every legal limit and of JT/T 808), heading in degrees clockwise from true north, accuracy in
 * metres (horizontal, ~1 sigma as the device reports it). Positions are WGS84 lon/lat degrees.
 */
#ifndef LPG_FIX_H
#define LPG_FIX_H

#include "geo_core.h"

#include <stdbool.h>
#include <stdint.h>

/* Fix dimension, as gpsd's fix.mode (0/1 = no fix, 2 = 2D, 3 = 3D). */
enum lpg_fix_mode {
    LPG_FIX_MODE_NONE = 1, /* no fix: refused by the filters (so is 0, "not seen") */
    LPG_FIX_MODE_2D = 2,
    LPG_FIX_MODE_3D = 3,
};

enum lpg_fix_flags {
    /* speed_kmh was not measured by the receiver but derived from the position change (gpsd
     * does this when a sentence has no speed; fix_filter/rules_process_fix do it for fixes
     * without speed). Derived speeds spike on position jumps: the fatigue rule ignores them
     * and the overspeed rule needs a sustained run of them. */
    LPG_FIX_DERIVED_SPEED = 1u << 0,
    /* Arrived late (the unit uploads what it buffered while offline): evaluated, but events
     * are marked late and the caller raises no live alert for them. */
    LPG_FIX_LATE = 1u << 1,
};

struct lpg_fix {
    int64_t time_ms;      /* UTC ms since the epoch, receiver's time */
    struct geo_point pos; /* lon, lat degrees */
    double speed_kmh;     /* ground speed, km/h; valid when has_speed */
    double heading_deg;   /* course over ground, [0, 360); valid when has_heading */
    double accuracy_m;    /* horizontal accuracy, metres; valid when has_accuracy */
    bool has_speed;
    bool has_heading;
    bool has_accuracy;
    uint8_t mode;   /* enum lpg_fix_mode */
    uint32_t flags; /* enum lpg_fix_flags bits */
};

/* Which optional measures of struct lpg_vehicle_data the terminal sent. */
enum lpg_vehicle_data_present {
    LPG_VD_MILEAGE = 1u << 0,
    LPG_VD_FUEL = 1u << 1,
    LPG_VD_RECORDER_SPEED = 1u << 2,
    LPG_VD_SIGNAL = 1u << 3,
    LPG_VD_SATELLITES = 1u << 4,
    LPG_VD_ALTITUDE = 1u << 5,
};
#define LPG_VD_ALL 0x3fu /* every bit above */

/* What an in-vehicle terminal reports beside the fix, kept with it (route_member.h) as sent:
 * the words bit for bit, the measures in the terminal's integer units. */
struct lpg_vehicle_data {
    uint32_t status;  /* the terminal's status word as sent (JT/T 808: bit 0 ACC, 1 fix valid,
                         2 south, 3 west, ...) */
    uint32_t alarm;   /* the terminal's alarm word as sent (core/terminal_alarms.h) */
    uint32_t present; /* enum lpg_vehicle_data_present bits */
    int32_t altitude_m;
    uint32_t mileage_100m;        /* odometer, 0.1 km */
    uint16_t fuel_dl;             /* 0.1 L */
    uint16_t recorder_speed_dkmh; /* tachograph speed, 0.1 km/h */
    uint8_t signal, satellites;
};

#endif /* LPG_FIX_H */
