/* events.h -- what the service tells whoever listens. The use cases publish events (an order
 * changed, an alert was raised, a device's session must end, ...); the transports subscribe and
 * turn them into their own form (a push to a handset, a line on the live feed). The core and
 * the use cases never call a transport: this bus is the only way up.
 *
 * Delivery is synchronous, in subscription order, on the event loop's thread; an event and the
 * data it points to are borrowed for the duration of the call (a subscriber copies what it
 * keeps). A subscriber may publish in turn, up to EVENT_BUS_MAX_DEPTH nested deliveries.
 */
#ifndef LPG_EVENTS_H
#define LPG_EVENTS_H

#include <jansson.h>
#include <stdint.h>

struct lpg_order;
struct lpg_alert;

enum service_event_kind {
    EV_ORDER_CHANGED,    /* order created or changed (state, assignee): order, json */
    EV_ORDER_ASSIGNED,   /* order given to staff_id: their handset should hear of it */
    EV_ALERT_RAISED,     /* alert json, enterprise_id ("" for a system alert), vehicle_id;
                            alert (NULL for a system alert); device_id: the device to tell
                            (NULL: none, e.g. a compliance alert the device hears as a refusal) */
    EV_SESSION_REVOKED,  /* device_id's session must end; reason says why */
    EV_TERMINAL_REVOKED, /* JT/T 808 terminal_id (as registered) was deleted, bound to another
                            vehicle or given another code: its session must end; vehicle_id:
                            the vehicle it was bound to; reason says why (app/terminals.h) */
    EV_LIMITS_CHANGED,   /* a zone or a vehicle of enterprise_id changed: the speed limit a
                            vehicle's terminal enforces may differ (app/vehicle_thresholds.h;
                            jt808/ pushes its thresholds again where they do) */
    EV_POSITION,         /* a stored batch moved vehicle_id's newest position (enterprise_id:
                            the vehicle's): position (the live feed throttles it per vehicle) */
    EV_ORDER_WITHDRAWN,  /* order is no longer staff_id's (cancelled, failed, unassigned, or
                            given to another person: order->state and order->staff_id say
                            which); reason: the dispatcher's reason. Their handset is told */
    EV_ORDER_LATE,       /* order's delivery window ended undelivered: it is now flagged late
                            (after its EV_ORDER_CHANGED) */
    EV_KIND_COUNT
};

/* EV_POSITION: the vehicle's newest fix, as stored. */
struct event_position {
    int64_t time_ms;      /* the fix's time (UTC ms) */
    double lat, lon;      /* degrees (WGS 84) */
    int32_t speed_cm_s;   /* -1 when the fix had none */
    int32_t heading_cdeg; /* 0.01 degrees; -1 when the fix had none */
    const char *source;   /* "handset", "vehicle_unit" or "jt808" (ingest_source_name) */
};

struct service_event {
    enum service_event_kind kind;
    const char *enterprise_id; /* scope; "" = the whole service (system events) */
    const char *order_id, *staff_id, *device_id, *vehicle_id; /* NULL where not relevant */
    const struct lpg_order *order; /* EV_ORDER_*: the order as it now stands */
    json_t *json;                  /* the event's JSON where it has one (borrowed) */
    const char *reason;            /* a human reason where one applies */
    const struct lpg_alert *alert; /* EV_ALERT_RAISED: the alert (app/alerts.h), NULL if system */
    const char *terminal_id;       /* EV_TERMINAL_REVOKED: the terminal; NULL otherwise */
    const struct event_position *position; /* EV_POSITION: the fix; NULL otherwise */
};

typedef void service_event_fn(void *arg, const struct service_event *ev);

#define EVENT_BUS_MAX_SUBSCRIBERS 8 /* per kind: a fixed table, wired once at start */
#define EVENT_BUS_MAX_DEPTH       4 /* nested publishes (a subscriber publishing) */

struct event_bus;

struct event_bus *event_bus_new(void);
void event_bus_free(struct event_bus *bus);

/* Adds fn for kind. Returns 0, or -1 when the kind's table is full (a wiring error). */
int event_bus_subscribe(struct event_bus *bus, enum service_event_kind kind, service_event_fn *fn,
                        void *arg);

/* Delivers ev to every subscriber of ev->kind. Returns how many heard it, or -1 when the
 * nesting limit stopped it (logged). A NULL bus delivers nothing (tests of a use case alone). */
int event_bus_publish(struct event_bus *bus, const struct service_event *ev);

#endif
