/* order_fsm.h -- the order state machine (docs/domain.md: "task state machines are small and
 * explicit ... with a reason on every failure"). Pure: no I/O.
 *
 * The machine is one table of allowed transitions (order_fsm.c, `transitions[]`): each row is
 * (from, to, the actors allowed to make it, whether a reason is required). Anything not in the
 * table is refused. The rows, in words:
 *
 *   created  -> assigned   system (matching) or dispatcher (manual assignment)
 *   assigned -> accepted   device (the assigned person's handset)
 *   assigned -> created    device (the person rejects it) or dispatcher (un-assigns it); reason
 *                          required; the order waits again and is re-matched
 *   accepted -> created    dispatcher (un-assigns it); reason required
 *   accepted -> loaded     device (cylinders scanned onto the vehicle)
 *   loaded   -> en_route   device
 *   en_route -> arrived    device
 *   loaded   -> arrived    device (the first hand-over accepted at the customer proves arrival)
 *   accepted -> arrived    device (a re-inspection visit, which carries no cylinders)
 *   arrived  -> delivered  device
 *   any non-final -> failed     dispatcher, or device for an order it holds (assigned..arrived);
 *                               reason required. A created order is held by no device, so only
 *                               a dispatcher can fail it.
 *   any non-final -> cancelled  dispatcher; reason required
 *
 * delivered, failed and cancelled are final: no exits. A transition to the same state is never
 * allowed. Whether a device is the one the order is assigned to (and whether the person may take
 * it) is for the caller to check; this module only knows states and actor kinds.
 *
 * Error convention: 0 / -1 with a human-readable reason in a caller buffer.
 */
#ifndef LPG_ORDER_FSM_H
#define LPG_ORDER_FSM_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who asks for a transition. */
enum order_actor {
    ORDER_ACTOR_SYSTEM,     /* the service itself (automatic matching) */
    ORDER_ACTOR_DISPATCHER, /* a dispatcher of the order's enterprise, through the HTTP API */
    ORDER_ACTOR_DEVICE,     /* the assigned person's handset */
    ORDER_ACTOR_COUNT
};

/* Bit of an actor in an actor mask. */
#define ORDER_ACTOR_BIT(a) (1u << (unsigned)(a))
#define ORDER_ACTOR_ANY    ((1u << ORDER_ACTOR_COUNT) - 1u)

/* "system", "dispatcher", "device"; "?" when out of range. Parse returns -1 when unknown. */
const char *order_fsm_actor_name(enum order_actor a);
int order_fsm_actor_parse(const char *s);

/* One entry of an order's history (JSON: lpg_json_from_order_event in model_json.h). */
struct order_event {
    int64_t at_ms; /* UTC ms */
    enum lpg_order_state from, to;
    enum order_actor actor;
    char actor_id[LPG_ID_MAX + 1]; /* dispatcher user, staff id (device) or "" (system) */
    char reason[LPG_TEXT_MAX + 1]; /* "" when none was given */
};

/* delivered, failed, cancelled. */
bool order_fsm_is_final(enum lpg_order_state s);

/* assigned, accepted, loaded, en_route, arrived: the order holds a person and counts against
 * their vehicle's capacity. */
bool order_fsm_is_active(enum lpg_order_state s);

/* Whether a transition needs a reason (false when the transition does not exist). */
bool order_fsm_reason_required(enum lpg_order_state from, enum lpg_order_state to);

/* May `actor` move an order from `from` to `to`, with `reason` (NULL or "" for none)?
 * Returns 0, or -1 with why (NUL-terminated, truncated to cap) saying what is wrong and what is
 * possible, e.g. "cannot go from delivered to assigned: delivered is final". A reason longer than
 * LPG_TEXT_MAX bytes is refused. why may be NULL when cap is 0. */
int order_fsm_check(enum lpg_order_state from, enum lpg_order_state to, enum order_actor actor,
                    const char *reason, char *why, size_t cap);

/* States reachable from `from` by any actor in actor_mask (ORDER_ACTOR_ANY for all), in state
 * order, into out[] (at most cap). Returns the total number (which may exceed cap). */
size_t order_fsm_targets(enum lpg_order_state from, unsigned actor_mask, enum lpg_order_state *out,
                         size_t cap);

/* The same as text for messages and docs: "assigned, failed, cancelled", or "none" for a final
 * state. Always NUL-terminated (truncated to cap). */
void order_fsm_targets_str(enum lpg_order_state from, unsigned actor_mask, char *out, size_t cap);

/* Checks a transition (order_fsm_check) and, when allowed, applies it to o and describes it in
 * ev (ev may be NULL): o->state = to; o->updated_ms = at_ms; o->reason = the reason when going to
 * created (why it waits again), failed or cancelled, "" otherwise; o->staff_id and o->vehicle_id
 * cleared when going back to created. Setting staff_id/vehicle_id on assignment is the caller's
 * (it knows who). actor_id may be NULL. Returns 0, or -1 with why and o unchanged. */
int order_fsm_apply(struct lpg_order *o, enum lpg_order_state to, enum order_actor actor,
                    const char *actor_id, const char *reason, int64_t at_ms, struct order_event *ev,
                    char *why, size_t cap);

#endif
