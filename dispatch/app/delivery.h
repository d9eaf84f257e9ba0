/* delivery.h -- delivery compliance over the handset protocol (docs/compliance.md): cylinder
 * scans (load at the station, hand-over and empty collection at the customer, return to stock),
 * the safety check of every cylinder handed over, delivery confirmation, and the load
 * reconciliation when the vehicle is back at the station.
 *
 * Every request is one writer job: it is decided against the registry as it is (the pure rules
 * of delivery_rules.h and safety_check.h), and its outcome -- the movement, or the refusal --
 * is committed in one Redis transaction together with the cylinder's life events, the order's
 * history, the safety-check record, the hazard notice, the alert and the audit-log entries
 * (audit_log.h). Only then is the handset answered: Ack, Error REFUSED with the rule's code, or
 * LoadReconciliation. A refused hand-over or collection is a suspected roadside sale: an alert
 * to the enterprise's dispatchers, kept with the violations.
 *
 * Keys (docs/redis-keys.md), besides the registry's records of cylinders, hazards, orders,
 * vehicles and customers:
 *   {p}check:{id}                string: a safety-check record as JSON (kept for good)
 *   {p}order:{id}:checks         list: the ids of the order's checks, oldest first
 *   {p}customer:{id}:checks      sorted set: the customer's check ids by time (ms)
 *   {p}cylinder:{id}:history     list: the cylinder's life events (registry_store.h)
 */
#ifndef LPG_DELIVERY_H
#define LPG_DELIVERY_H

#include "app/service.h"

#include <jansson.h>
#include "handset/handset_server.h"

struct Lpg__V1__Envelope;

/* Handles CylinderScan, SafetyCheck, DeliveryConfirm and StationReturn from a logged-in
 * handset. Returns 0 when the envelope was one of them (answered now or later), -1 when it is
 * not a delivery message. */
int delivery_handle(struct service *d, struct handset_conn *c, const struct Lpg__V1__Envelope *env);

/* One life event of a cylinder as JSON: {"at", "event", "actor", "order_id", "vehicle_id",
 * "customer_id", "note"}; shared with the station's events over HTTP. New reference. */
json_t *delivery_cylinder_event(int64_t at_ms, const char *event, const char *actor,
                                const struct lpg_cylinder *c, const char *note);

#endif
