/* depot_track.h -- the vehicle's depot and stops read from its live track (issue 13 item 4),
 * for ingest.c: per batch, each accepted live fix goes through depot_watch.h (O(1)); what it
 * decides is written with the batch and acted on once the batch is stored:
 *   - leaving / entering the vehicle's station: a record in {p}vehicle:{id}:depot (time, the
 *     station, the cylinders aboard at that moment), shown with the trips
 *     (GET /v1/vehicles/{id}/trips "depot"); leaving moves the orders loaded on the vehicle
 *     loaded -> en_route (orders.h ORDERS_TRACK, at the fix's time);
 *   - a stop (the tracking stop rule) within the hand-over radius of the customer of an order
 *     en route on the vehicle: that order en_route -> arrived, at the stop's start;
 *   - a stop of `unplanned_stop` minutes with full cylinders aboard, farther than the hand-over
 *     radius from the customers of the vehicle's orders and outside its station: an
 *     unplanned_stop alert (episode start), ended (episode end) when the vehicle moves.
 * The state is the vehicle track's (in memory, re-derived from the next fix after a restart).
 */
#ifndef LPG_DEPOT_TRACK_H
#define LPG_DEPOT_TRACK_H

#include "app/alerts.h"
#include "app/service.h"
#include "core/depot_watch.h"
#include "store/store.h"

#define DEPOT_BATCH_EVENTS 16 /* events one batch keeps; more are counted and dropped */
#define DEPOT_BATCH_ALERTS 4

struct depot_batch {
    struct depot_event ev[DEPOT_BATCH_EVENTS];
    size_t n, dropped;
    struct lpg_alert alerts[DEPOT_BATCH_ALERTS];
    size_t n_alerts;
};

/* One accepted live fix of `vehicle` (w: the batch's copy of the vehicle's state). */
void depot_track_fix(struct service *d, const char *vehicle, struct depot_watch *w,
                     const struct lpg_fix *f, struct depot_batch *b);
/* Adds the batch's records and alerts to txn (deciding the unplanned stops against the registry
 * as it is now; w as after the batch). 0, or -1 (out of memory). */
int depot_track_store(struct service *d, struct store_txn *txn, const char *vehicle,
                      struct depot_watch *w, struct depot_batch *b, int64_t now_ms);
/* Once the batch is stored: the alerts go out, the orders move. */
void depot_track_applied(struct service *d, const char *vehicle, const struct depot_batch *b,
                         const char *device);

#endif
