/* match.h -- matching an order to a licensed delivery person (docs/domain.md, "Staff and
 * vehicles"). Pure: reads the registry, decides, never writes.
 *
 * Eligible, at time now_ms (local day from the enterprise's UTC offset):
 *   - a driver or delivery person (an escort, 押运员, guards the load and does not deliver);
 *   - has not rejected this order before (lpg_order.rejected_by);
 *   - on duty, and not in a mandatory rest (rest_until_ms <= now);
 *   - qualification and safety-training certificates present and not expired;
 *   - bound to a vehicle whose dangerous-goods transport permit is present and not expired,
 *     and whose spare capacity (capacity - committed) covers the order's cylinders;
 *   - of the order's enterprise, with a zone that contains the customer's location.
 * Ranked by great-circle distance from the vehicle's last position (the zone's inside point
 * when it has none) to the customer, then by active orders, then by id (deterministic).
 *
 * When nobody is eligible the result says why, in terms a dispatcher can act on, e.g.
 *   "zone Z3: 2 staff; 1 certificate expired 2026-10-01, 1 off duty"
 *   "no zone of enterprise E1 contains the customer's location"
 */
#ifndef LPG_MATCH_H
#define LPG_MATCH_H

#include "core/model.h"
#include "core/registry.h"

#include <stdbool.h>
#include <stddef.h>

struct match_result {
    const struct lpg_staff *staff; /* NULL when nobody is eligible */
    const struct lpg_vehicle *vehicle;
    double distance_m;
    char reason[LPG_TEXT_MAX + 1]; /* why nobody is eligible; "" when matched */
};

/* Finds the best eligible person for order o (its customer must exist). Returns 0 when
 * matched, 1 when nobody is eligible (reason set), -1 on bad input (reason set). */
int match_order(struct registry *reg, const struct lpg_order *o, int64_t now_ms,
                struct match_result *out);

/* Whether person s may take order o now (for manual assignment). Returns true, or false with
 * the reason in why. */
bool match_staff_eligible(struct registry *reg, const struct lpg_order *o,
                          const struct lpg_staff *s, int64_t now_ms, char *why, size_t cap);

#endif
