/* vehicle_thresholds.h -- the driving-time and speed thresholds that apply to one vehicle, as a
 * terminal that enforces them itself needs them (JT/T 808 parameters 0x0055-0x005C, pushed after
 * authentication): the server's own rules' figures (app/dispatchd_settings, core/rules.h).
 *
 * The speed limit is the exception: the server's overspeed rule takes the limit where each fix
 * is (the zones containing it, rules_ctx_zones_at), but a terminal holds one value and cannot
 * follow position. It gets the highest limit the rule can apply to the vehicle anywhere (the
 * lead's decision, issue 14): the expressway limit when the enterprise has an expressway zone,
 * else the ordinary-road limit, with the vehicle's own speed_limit_kmh as ceiling. So the
 * terminal's own overspeed alarm never fires at a speed that is legal where the vehicle is;
 * the server's rule, which knows where it is, is the authority for violations.
 */
#ifndef LPG_VEHICLE_THRESHOLDS_H
#define LPG_VEHICLE_THRESHOLDS_H

#include "app/service.h"

#include <stdint.h>

struct vehicle_thresholds {
    double max_speed_kmh;         /* the highest overspeed limit anywhere (above) */
    int64_t overspeed_duration_s; /* over the limit this long is a violation */
    double overspeed_warning_kmh; /* warn this far below the limit */
    int64_t continuous_driving_s; /* driving without a rest this long is fatigue */
    int64_t daily_driving_s;      /* driving per day */
    int64_t min_rest_s;           /* a rest this long resets continuous driving */
    int64_t fatigue_warning_s;    /* warn this long before continuous_driving_s */
    int64_t max_parking_s;        /* 0: no limit (no parking rule yet) */
};

/* Fills t for vehicle_id (NULL or unknown: the defaults, no zone). */
void vehicle_thresholds(const struct service *s, const char *vehicle_id,
                        struct vehicle_thresholds *t);

#endif
