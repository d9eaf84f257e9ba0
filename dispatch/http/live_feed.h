/* live_feed.h -- the dispatchers' live feed: GET /v1/events, server-sent events
 * (text/event-stream) carrying order changes of the caller's enterprise only (every
 * enterprise for admins and auditors).
 *
 * Each event: "id: <boot>.<n>\nevent: order\ndata: {"type":"order.<state>","order":{...}}\n\n"
 * (and "event: alert" for tracking alerts). <boot> identifies this run of the instance (its
 * start time in ms); <n> increases by one per published event. A client that reconnects with
 * Last-Event-ID gets the events it missed, as long as they are of this boot and still in the
 * replay ring (LIVE_FEED_RING events); otherwise it gets an event "reset" and should reload with
 * GET /v1/orders. A comment line is sent every LIVE_FEED_HEARTBEAT_S seconds so that proxies keep
 * the stream open and dead clients are noticed. A client that does not read is dropped once
 * LIVE_FEED_MAX_BACKLOG bytes are queued for it.
 *
 * Positions (event "position", issue 13): each stored batch that moves a vehicle's newest
 * position is sent to the streams of the vehicle's enterprise that asked for positions, at most
 * once per vehicle per interval (events_position_interval): a position inside the interval
 * replaces the one waiting, and the newest is sent when the interval ends, so the last one is
 * never lost. Position events carry no id and are not replayed (the fleet board, GET
 * /v1/fleet, gives every vehicle's newest position after a reconnect).
 */
#ifndef LPG_LIVE_FEED_H
#define LPG_LIVE_FEED_H

#include "core/auth.h"
#include "http/http_server.h"
#include "core/model.h"

#include <jansson.h>

#define LIVE_FEED_RING            1024            /* events kept for replay */
#define LIVE_FEED_MAX_SUBSCRIBERS 256             /* open streams per instance */
#define LIVE_FEED_HEARTBEAT_S     15              /* seconds between keep-alive comments */
#define LIVE_FEED_MAX_BACKLOG     (1024u * 1024u) /* bytes queued for one slow client */
#define LIVE_FEED_MAX_VEHICLES    100000u         /* vehicles the position throttle tracks */

/* What a stream receives (GET /v1/events?types=orders,alerts,positions). */
#define LIVE_FEED_ORDERS    1u
#define LIVE_FEED_ALERTS    2u
#define LIVE_FEED_POSITIONS 4u
#define LIVE_FEED_ALL       (LIVE_FEED_ORDERS | LIVE_FEED_ALERTS | LIVE_FEED_POSITIONS)

struct event_base;
struct event_bus;
struct event_position;
struct live_feed;

struct live_feed *live_feed_new(struct event_base *base);
/* Ends every stream and frees the feed. */
void live_feed_free(struct live_feed *feed);
/* Ends every stream (graceful shutdown). */
void live_feed_close_all(struct live_feed *feed);

/* Publishes the new state of an order to the streams allowed to see it. */
void live_feed_publish_order(struct live_feed *feed, const struct lpg_order *o);
/* Publishes an event of type `event` (an SSE event name: "alert", ...) with `data` (stolen)
 * to the streams of `enterprise_id`. */
void live_feed_publish(struct live_feed *feed, const char *enterprise_id, const char *event,
                       json_t *data);

/* Publishes vehicle_id's position p (copied; driver_id may be NULL) to the streams of
 * `enterprise_id` that asked for positions, throttled per vehicle (above): the event's text is
 * made only when it goes out. */
void live_feed_publish_position(struct live_feed *feed, const char *enterprise_id,
                                const char *vehicle_id, const char *driver_id,
                                const struct event_position *p);
/* The least time between two position events of one vehicle (events_position_interval). */
void live_feed_set_position_interval(struct live_feed *feed, int64_t seconds);
/* The "position" event's data (docs/http-api.md); NULL when out of memory. */
json_t *live_feed_position_json(const char *enterprise_id, const char *vehicle_id,
                                const char *driver_id, const struct event_position *p);

/* Subscribes the feed to the service's events it streams (app/events.h): EV_ORDER_CHANGED as
 * live_feed_publish_order does, EV_ALERT_RAISED as event "alert", EV_POSITION as event
 * "position" (throttled). 0, or -1 when the bus is full (a wiring error). */
struct event_bus;
int live_feed_listen(struct live_feed *feed, struct event_bus *bus);

/* The value of ?types= ("orders,alerts,positions", any of them, comma-separated; NULL: all)
 * into LIVE_FEED_* bits. 0, or -1 for an unknown or empty name. */
int live_feed_parse_types(const char *text, unsigned *types);

/* Turns the call into a stream for principal p (already authenticated) receiving `types`
 * (LIVE_FEED_*; 0: all). A replay by Last-Event-ID replays only those types. */
void live_feed_subscribe(struct live_feed *feed, struct http_call *call,
                         const struct auth_principal *p, const char *last_event_id, unsigned types);

size_t live_feed_subscribers(const struct live_feed *feed);

/* Streams one user, and one enterprise (its dispatchers), may hold open at once, so that one
 * client cannot take every stream of the instance (events_max_per_user,
 * events_max_per_enterprise). 0 = no limit beyond LIVE_FEED_MAX_SUBSCRIBERS. */
void live_feed_set_limits(struct live_feed *feed, size_t per_enterprise, size_t per_user);

/* Subscriptions refused, for /metrics. */
struct live_feed_stats {
    uint64_t refused_capacity;     /* LIVE_FEED_MAX_SUBSCRIBERS reached (503) */
    uint64_t refused_enterprise;   /* the enterprise's limit reached (429) */
    uint64_t refused_user;         /* the user's limit reached (429) */
    uint64_t positions_sent;       /* position events sent (to every stream that sees them) */
    uint64_t positions_superseded; /* a newer position replaced one waiting for its interval */
    uint64_t positions_dropped;    /* out of memory, or LIVE_FEED_MAX_VEHICLES reached */
};
const struct live_feed_stats *live_feed_stats(const struct live_feed *feed);

#endif
