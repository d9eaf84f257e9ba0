/* handset_sync.h -- keeping a person's handset in step with their orders (proto/README.md,
 * "Order sync"): OrderList at login and on request, OrderWithdrawn when an order is taken from
 * them, and the pushes (OrderAssigned, OrderWithdrawn) kept in Redis until the handset
 * acknowledges them (PushAck), re-sent in push order at every login.
 */
#ifndef LPG_HANDSET_SYNC_H
#define LPG_HANDSET_SYNC_H

#include "app/service.h"
#include "core/model.h"
#include "handset/handset_ctx.h"
#include "handset/handset_server.h"

#include "lpg/v1/envelope.pb-c.h"

/* Open orders in one OrderList, at most (and fewer when the device's max_frame is small). */
#define HANDSET_LIST_MAX 64

/* Pushes OrderAssigned for o (state assigned) to o->staff_id: kept until acknowledged, sent at
 * once to the person's current handset when it is logged in as them. */
void handset_sync_push_assigned(struct handset_ctx *h, const struct lpg_order *o);

/* Subscribes to EV_ORDER_WITHDRAWN (app/events.h). Returns 0 or -1 (wiring error). */
int handset_sync_watch(struct handset_ctx *h);

/* At login of a person's session: re-sends their pending pushes in push order (dropping an
 * OrderAssigned already answered or taken from them), then the OrderList. */
void handset_sync_login(struct service *d, struct handset_conn *c);

/* OrderListRequest and PushAck from a person's session. Returns 1 when env was one of them
 * (answered), 0 otherwise. */
int handset_sync_handle(struct service *d, struct handset_conn *c, const Lpg__V1__Envelope *env);

#endif
