/* handset_dispatch.h -- the delivery person's side of dispatch over the handset protocol:
 * device login with its credential, OrderAssigned pushed on assignment and re-sent at every
 * login until answered, OrderAccept / OrderReject, and DutyChange. Implements the handset
 * server's hooks (handset_server.h) on top of the registry and the order use cases
 * (app/orders.h); assignments reach the handsets through the event bus (handset_dispatch_watch).
 */
#ifndef LPG_HANDSET_DISPATCH_H
#define LPG_HANDSET_DISPATCH_H

#include "app/service.h"
#include "handset/handset_ctx.h"
#include "handset/handset_server.h"
#include "core/model.h"

extern const struct handset_hooks handset_dispatch_hooks; /* ctx: struct handset_ctx * */

/* Pushes OrderAssigned for o to its person: kept in Redis until their handset acknowledges it
 * and sent at once if it is connected (handset_sync.h). */
void handset_dispatch_notify_assigned(struct handset_ctx *h, const struct lpg_order *o);
/* Subscribes the handsets to the service's assignments (EV_ORDER_ASSIGNED, app/events.h): each
 * is pushed as by handset_dispatch_notify_assigned; and to withdrawals (EV_ORDER_WITHDRAWN:
 * OrderWithdrawn, handset_sync.h). 0, or -1 when the bus is full. */
int handset_dispatch_watch(struct handset_ctx *h);

#endif
