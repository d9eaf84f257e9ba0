/* handset_dispatch.h -- the delivery person's side of dispatch over the handset protocol:
 * device login with its credential, OrderAssigned pushed on assignment and re-sent at every
 * login until answered, OrderAccept / OrderReject, and DutyChange. Implements the handset
 * server's hooks (handset_server.h) on top of the registry, the writer and the dispatcher.
 */
#ifndef LPG_HANDSET_DISPATCH_H
#define LPG_HANDSET_DISPATCH_H

#include "app/service.h"
#include "handset/handset_server.h"
#include "core/model.h"

extern const struct handset_hooks handset_dispatch_hooks; /* ctx: struct service * */

/* Tells the person's device, if connected, that order o is assigned to them. */
void handset_dispatch_notify_assigned(struct service *d, const struct lpg_order *o);

#endif
