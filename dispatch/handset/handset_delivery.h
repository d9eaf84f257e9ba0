/* handset_delivery.h -- delivery compliance over the handset protocol: CylinderScan,
 * SafetyCheck, DeliveryConfirm and StationReturn read into plain commands for the use case
 * (app/delivery.h), whose result is answered as Ack, Error (INVALID_ARGUMENT, UNAVAILABLE,
 * REFUSED with the rule's code) or LoadReconciliation.
 */
#ifndef LPG_HANDSET_DELIVERY_H
#define LPG_HANDSET_DELIVERY_H

#include "app/service.h"
#include "handset/handset_server.h"

struct Lpg__V1__Envelope;

/* Handles CylinderScan, SafetyCheck, DeliveryConfirm and StationReturn from a logged-in
 * handset. Returns 0 when the envelope was one of them (answered now or later), -1 when it is
 * not a delivery message. */
int handset_delivery_handle(struct service *d, struct handset_conn *c,
                            const struct Lpg__V1__Envelope *env);

#endif
