/* dispatcher.h -- putting orders in the hands of eligible staff: automatic assignment when an
 * order is created, and re-matching of waiting orders whenever something that decides
 * eligibility changes (someone comes on duty, a certificate or permit is renewed, a binding
 * changes, an order completes or is rejected). Matching itself is pure (match.h); this module
 * turns its decisions into stored changes through the writer.
 */
#ifndef LPG_DISPATCHER_H
#define LPG_DISPATCHER_H

#include "app/expiring.h"
#include "app/service.h"
#include "core/model.h"
#include "core/order_fsm.h"

struct store_txn;

/* Tries to assign o (a working copy in state CREATED) now. On a match: o becomes ASSIGNED to
 * the person and their vehicle, ev describes the transition, returns 1. Otherwise o->reason
 * says why it waits, returns 0. */
int dispatcher_try_assign(struct service *d, struct lpg_order *o, int64_t now_ms,
                          struct order_event *ev);

/* Schedules a pass over every waiting order (oldest first). Requests made while a pass runs
 * are coalesced into one more pass. Each assignment is its own transaction, so capacity and
 * load are always those of the committed registry. */
void dispatcher_rematch(struct service *d);

/* Re-matching passes and the assignments they made, and the orders flagged late, for
 * /metrics. */
struct dispatcher_stats {
    unsigned long long passes, assigned, late;
    struct expiring_stats expiring; /* the checks the dispatcher starts (app/expiring.h) */
};

/* Once the registry is loaded: starts the periodic pass (every rematch_interval seconds, a
 * pass only when some order waits) and arms the one-shot wake-up at the next instant time
 * changes eligibility (match_next_instant: a rest ends, a local day starts, a window opens less
 * order_window_lead) or an order's window ends undelivered (it is then flagged late: `late`
 * in the order, an entry "event": "late" in its history, audit kind order_late,
 * EV_ORDER_CHANGED then EV_ORDER_LATE, the counter `late`). Also checks for expiring documents
 * now and at every local midnight of an enterprise (expiring_check). Without an event loop (a
 * use-case test): nothing. */
void dispatcher_start(struct service *d);
/* The inputs of the wake-up changed (a rest was recorded, an order created, ...): arms it again
 * at the new next instant, computed once on the next turn of the loop however many changes ask
 * for it in this one (O(waiting orders + staff + orders), in memory). Every re-matching pass
 * ends with it. */
void dispatcher_rearm(struct service *d);

/* The dispatcher's own state (s->dispatcher): whether a re-matching pass is queued, and its
 * counters. 0, or -1 out of memory. A service without it (a use-case test) does not re-match. */
int dispatcher_init(struct service *s);
/* After writer_free: the writer's cancelled re-matching jobs still reach the state. */
void dispatcher_free(struct service *s);

/* Its counters (zeros when the dispatcher is not wired). */
const struct dispatcher_stats *dispatcher_stats(const struct service *d);

/* The one place an order event is stored: adds to txn the order's history entry
 * (registry_store_order_event) and its entry in the tamper-evident record (audit_log.h), kind
 * order_created, order_assigned, order_accepted, order_rejected, order_unassigned,
 * order_cancelled, order_failed, ... (docs/audit.md). o is the order after the event,
 * event_json its history entry (lpg_order_event_text). Returns 0, or -1 when out of
 * memory or the audit record is unavailable: the caller then refuses the change as a store
 * outage (nothing may change unrecorded). */
int dispatcher_store_order_event(struct service *d, struct store_txn *txn,
                                 const struct lpg_order *o, const char *event_json);

/* After a change of order `id` is committed and applied: publishes EV_ORDER_ASSIGNED when it
 * is (still) assigned, for the assignee's handset, then EV_ORDER_CHANGED, for the dispatchers'
 * live feed (events.h; the transports subscribe). */
void dispatcher_order_changed(struct service *d, const char *order_id);

#endif
