/* delivery_rules.h -- the rules no other system enforces (docs/domain.md, "No selling during
 * transport", "Cylinders"): may this cylinder be loaded, handed over, collected? Pure: no I/O;
 * the caller (delivery.c) looks the entities up and applies the outcome.
 *
 * Each check returns NULL when the movement is allowed, or a refusal code (a static string,
 * listed below) with a human-readable reason in why[]. The codes are part of the handset and
 * HTTP contracts (proto/README.md, docs/compliance.md).
 *
 * Cylinder usability (loading and hand-over; cylinder_unusable):
 *   not_owned            the cylinder belongs to another enterprise
 *   scrapped, lost       by status
 *   blacklisted          blacklisted by the enterprise or the authority
 *   withdrawn            due for or away at its periodic inspection
 *   overdue_inspection   next inspection date passed (next_inspection, else last inspection or
 *                        manufacture + the interval, default 4 years)
 *   past_service_life    manufacture + service life passed (the cylinder's service_life_years,
 *                        else the design life, default 8 years; never beyond the maximum, 12)
 * Loading (load_check), for an order assigned to the scanning person:
 *   not_your_order, order_not_loading (state is not accepted), no_vehicle, wrong_vehicle,
 *   cylinder_not_in_stock, spec_not_ordered, spec_already_loaded, vehicle_full, and the above
 * Hand-over (handover_check): the roadside-sale guard
 *   not_your_order, order_not_deliverable (state is not loaded / arrived), no_vehicle,
 *   wrong_vehicle (the person is not bound to the vehicle of the order or of the cylinder),
 *   cylinder_not_loaded_for_order, customer_suspended, two_phase_cylinder_to_restaurant,
 *   position_unknown, stale_fix, speed_unknown, vehicle_moving, not_at_customer, and the above
 * At the station (station_check): loading and the StationReturn reconciliation
 *   no_station (the vehicle belongs to no station, or it no longer exists), position_unknown,
 *   stale_fix, not_at_station (the newest fix lies outside the vehicle's station)
 * Collecting an empty (collect_check):
 *   not_your_order, order_not_deliverable, no_vehicle, not_owned, cylinder_not_at_customer,
 *   position_unknown, stale_fix, speed_unknown, vehicle_moving, not_at_customer, vehicle_full
 */
#ifndef LPG_DELIVERY_RULES_H
#define LPG_DELIVERY_RULES_H

#include "core/model.h"

#include <stddef.h>
#include <stdint.h>

struct delivery_policy {
    int32_t inspection_interval_years; /* periodic inspection: 4 (reg. default) */
    int32_t design_life_years;         /* service life without an extension: 8 */
    int32_t max_life_years;            /* never beyond: 12 */
    double handover_max_distance_m;    /* from the customer's registered location: 100 */
    int64_t handover_max_fix_age_ms;   /* the vehicle's newest fix must be this fresh: 120 s */
    int32_t stopped_speed_cm_s;        /* stopped below this speed (the tracking stop speed) */
};

void delivery_policy_default(struct delivery_policy *p);

/* The day a cylinder's inspection falls due and the last day of its service life. */
int32_t cylinder_inspection_due_day(const struct lpg_cylinder *c, const struct delivery_policy *p);
int32_t cylinder_end_of_life_day(const struct lpg_cylinder *c, const struct delivery_policy *p);

const char *cylinder_unusable(const struct lpg_cylinder *c, const char *enterprise_id,
                              int32_t today, const struct delivery_policy *p, char *why,
                              size_t cap);

/* What the vehicle carries now and what an order has loaded, counted by the caller. */
struct load_counts {
    int32_t on_vehicle;     /* full and empty cylinders aboard */
    int32_t loaded_of_spec; /* cylinders of the scanned spec loaded for it */
};

const char *load_check(const struct lpg_order *o, const struct lpg_staff *s,
                       const struct lpg_vehicle *v, const struct lpg_cylinder *c,
                       const struct load_counts *n, int32_t today, const struct delivery_policy *p,
                       char *why, size_t cap);

/* Where the vehicle is, as far as the service knows (its newest fix). */
struct vehicle_fix {
    bool known;
    struct geo_point pos;
    int64_t time_ms;
    int32_t speed_cm_s; /* -1 when unknown */
};

const char *handover_check(const struct lpg_order *o, const struct lpg_staff *s,
                           const struct lpg_vehicle *v, const struct lpg_customer *cu,
                           const struct lpg_cylinder *c, const struct vehicle_fix *fix,
                           int64_t now_ms, int32_t today, const struct delivery_policy *p,
                           char *why, size_t cap);

const char *collect_check(const struct lpg_order *o, const struct lpg_staff *s,
                          const struct lpg_vehicle *v, const struct lpg_customer *cu,
                          const struct lpg_cylinder *c, const struct vehicle_fix *fix,
                          int32_t on_vehicle, int64_t now_ms, const struct delivery_policy *p,
                          char *why, size_t cap);

/* Whether the vehicle is at its station: st is the vehicle's station (NULL: none). Its newest
 * fix must be as fresh as a hand-over's and lie inside the station; speed is not asked (a
 * vehicle creeping across the yard is still there). */
const char *station_check(const struct lpg_vehicle *v, const struct lpg_station *st,
                          const struct vehicle_fix *fix, int64_t now_ms,
                          const struct delivery_policy *p, char *why, size_t cap);

/* The "at the customer, stopped, fresh fix" part shared by hand-over, collection and the
 * safety check's position. */
const char *at_customer_check(const struct lpg_customer *cu, const struct vehicle_fix *fix,
                              int64_t now_ms, const struct delivery_policy *p, char *why,
                              size_t cap);

#endif
