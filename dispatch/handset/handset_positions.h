/* handset_positions.h -- the tracking side of the handset protocol: PositionBatch in (decoded
 * into fixes for ingest, answered Ack with position_seq or Error as ingest answers), Alert out
 * (the alerts the device's own fixes raised, pushed from the bus). proto/README.md,
 * "Positions", is the wire contract.
 */
#ifndef LPG_HANDSET_POSITIONS_H
#define LPG_HANDSET_POSITIONS_H

#include "app/service.h"
#include "handset/handset_ctx.h"
#include "handset/handset_server.h"

struct Lpg__V1__Envelope;

/* Handles the PositionBatch of env from the logged-in connection c: holds c until ingest has
 * answered, then replies Ack (ack_seq = the request id, position_seq = the device's mark) or
 * Error (INVALID_ARGUMENT, REFUSED with the refusal code, or UNAVAILABLE). */
void handset_positions_batch(struct service *s, struct handset_conn *c,
                             const struct Lpg__V1__Envelope *env);

/* Subscribes to EV_ALERT_RAISED: an alert naming a device whose session is open here is sent to
 * it as an Alert message. 0, or -1 when the bus is full (a wiring error). */
int handset_positions_listen(struct handset_ctx *h);

#endif
