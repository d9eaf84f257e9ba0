/* orders.h -- the order use cases, once for every transport: creation (the rules of
 * order_rules.h, duplicate id, references, initial state, automatic assignment), assignment by
 * hand, unassignment, cancellation, failure, a person's acceptance and rejection, and a
 * person's duty (which decides who orders may go to). HTTP (http_v1_orders.c) and the handset
 * protocol (handset_dispatch.c) parse their input into an orders_request, call orders_submit
 * and map the result to their own form.
 *
 * Each request is one writer job: decided against the registry as it is (order_fsm.h for
 * every transition), then committed in one Redis transaction with the order's history entry
 * and its audit entry (dispatcher_store_order_event); the registry is updated after the
 * commit, the change is published on the bus (EV_ORDER_ASSIGNED, EV_ORDER_CHANGED: events.h)
 * and the caller's callback gets the result. An order leaving a person (rejected, unassigned,
 * cancelled, failed) or a person coming on or off duty starts a re-matching pass.
 */
#ifndef LPG_ORDERS_H
#define LPG_ORDERS_H

#include "app/refusal.h"
#include "app/service.h"
#include "core/auth.h"
#include "core/model.h"

#include <jansson.h>
#include <stdbool.h>

enum orders_op {
    ORDERS_CREATE,   /* by a user: order (JSON), checked by the rules, then auto-assigned */
    ORDERS_ASSIGN,   /* by a user: order_id to assignee, an eligible person of its enterprise */
    ORDERS_UNASSIGN, /* by a user: back to waiting (reason); not straight back to the person */
    ORDERS_CANCEL,   /* by a user (reason) */
    ORDERS_FAIL,     /* by a user (reason) */
    ORDERS_ACCEPT,   /* by the assignee's device */
    ORDERS_REJECT,   /* by the assignee's device (reason): back to waiting, not to them again */
    ORDERS_DUTY,     /* by a person's device: on_duty; changes their staff record */
    ORDERS_TRACK     /* by the vehicle's track (ingest): order_id from `from` to `to` at at_ms
                        (loaded -> en_route, en_route -> arrived), actor system "track"; refused
                        (illegal_transition) when the order is no longer in `from` */
};

/* Who asks: a user of the API (user != NULL: the principal's scope is checked, the actor is
 * ORDER_ACTOR_DISPATCHER) or the person logged in on a device (staff_id, actor DEVICE: they
 * may answer only what is assigned to them). Strings are borrowed for the call (copied). */
struct orders_request {
    enum orders_op op;
    const struct auth_principal *user; /* a user of the API, or NULL for a device */
    const char *staff_id;              /* a device's person (user == NULL) */
    const char *order_id;              /* every op but CREATE and DUTY */
    const char *assignee;              /* ASSIGN: the staff id given, NULL when absent */
    const char *reason;                /* NULL when absent; checked for length by users' ops */
    json_t *order;                     /* CREATE: the order's JSON, with its id (borrowed) */
    bool on_duty;                      /* DUTY */
    enum lpg_order_state from, to;     /* TRACK */
    int64_t at_ms;                     /* TRACK: when the track says it happened */
};

/* The outcome, borrowed for the callback. Exactly one of: success (refusal and store_err NULL;
 * order, or staff for DUTY, as committed), refusal (nothing was written), store_err (the store
 * refused or lost the commit: its reason; store_err_outcome_unknown() tells whether it may
 * have been written), cancelled (the service shut down before the job ran: nothing to answer,
 * only release what the caller holds). */
struct orders_result {
    const struct lpg_order *order;
    const struct lpg_staff *staff;
    bool created; /* ORDERS_CREATE succeeded */
    const struct refusal *refusal;
    const char *store_err;
    bool cancelled;
};

typedef void orders_done_fn(void *arg, const struct orders_result *res);

/* Queues the request. Returns 0: done(arg, ...) is called exactly once, later. Returns -1
 * with *r filled (out of memory) when nothing was queued: done is not called. */
int orders_submit(struct service *s, const struct orders_request *req, orders_done_fn *done,
                  void *arg, struct refusal *r);

/* A new order id for a creation that names none: time-ordered, unique per instance and
 * beyond (random suffix), e.g. "o-2026112821152212-3f9a1c". */
void orders_new_id(char out[LPG_ID_MAX + 1]);

#endif
