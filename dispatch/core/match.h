/* match.h -- matching an order to a licensed delivery person (docs/domain.md, "Staff and
 * vehicles"). Pure: reads the registry, decides, never writes.
 *
 * Eligible, at time now_ms (local day from the enterprise's UTC offset):
 *   - a driver or delivery person (an escort, 押运员, guards the load and does not deliver);
 *   - has not rejected this order before (lpg_order.rejected_by);
 *   - on duty, and not in a mandatory rest (rest_until_ms <= now);
 *   - qualification and safety-training certificates present, not expired, and valid already
 *     (qualification_from_day / training_from_day, when given, reached);
 *   - bound to a vehicle whose dangerous-goods transport permit is present and not expired,
 *     with an escort of role escort bound beside the driver (escort_id) whose certificates are
 *     in force when the vehicle's kind needs one (lpg_vehicle_kind_needs_escort),
 *     and whose spare capacity (capacity - committed) covers the order's cylinders;
 *   - of the order's enterprise, with a zone that contains the customer's location;
 *   - and nobody at all while the enterprise's gas business licence has expired
 *     (licence_expiry_day before the local day): the reason names the licence.
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

/* ---- time: delivery windows and the instants that change eligibility ---- */

/* An order whose delivery window starts at S is offered to staff from S - lead_ms, not before
 * (docs/http-api.md, "Who may take an order"). Returns that instant when it is still after
 * now_ms -- the order waits, why (may be NULL) says so in the enterprise's local time:
 *   "delivery window starts 2026-11-29 09:00; offered to staff from 2026-11-29 08:00"
 * -- else 0 (no window start, or the order may be offered now). */
int64_t match_window_wait(const struct lpg_order *o, int64_t now_ms, int64_t lead_ms,
                          int32_t utc_offset_min, char *why, size_t cap);

/* Whether o's delivery window ended at or before now_ms while it is still open (not delivered,
 * failed or cancelled) and not yet flagged late. */
bool match_order_late(const struct lpg_order *o, int64_t now_ms);

/* The first instant after now_ms at which time alone changes what re-matching decides or
 * finds: the end of a mandatory rest, the next local midnight of an enterprise (certificates and
 * permits are valid by local day), a waiting order's window start less lead_ms, and the end of
 * an open order's window (it becomes late). Rests and midnights count only while some order
 * waits. now_ms when an order is late already; INT64_MAX when nothing is due. O(waiting orders
 * + staff + orders), no allocation beyond one array of the waiting orders (if that fails, the
 * next local midnight stands for their windows). */
int64_t match_next_instant(struct registry *reg, int64_t now_ms, int64_t lead_ms);

#endif
