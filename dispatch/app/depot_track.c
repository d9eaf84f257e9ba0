/* depot_track.c -- see depot_track.h. */
#define LOG_TAG "depot"
#include "app/depot_track.h"

#include "app/orders.h"
#include "common/log.h"
#include "core/model_json.h"
#include "core/registry.h"
#include "store/keys.h"

#include "geo_sphere.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Orders one vehicle is taken to carry at once, for the look-ups below (distinct orders of the
 * cylinders aboard); beyond it the rest are not moved by the track (the hand-over still is). */
#define VEHICLE_ORDERS_MAX 64
#define ABOARD_MAX         20000 /* a vehicle's capacity is at most 10,000 */

static void watch_config(const struct service *d, struct depot_watch_config *c)
{
    motion_config_from_rules(&c->motion, &d->rules_cfg, MOTION_MIN_STOP_MS_DEFAULT);
    int64_t min = d->cfg.unplanned_stop > 0 ? d->cfg.unplanned_stop : 10;
    c->long_stop_ms = min * 60000;
}

static const struct lpg_station *station_of(const struct service *d, const struct lpg_vehicle *v)
{
    const struct lpg_station *st =
        v && v->station_id[0] ? registry_station(d->registry, v->station_id) : NULL;
    return st && strcmp(st->enterprise_id, v->enterprise_id) == 0 ? st : NULL;
}

void depot_track_fix(struct service *d, const char *vehicle, struct depot_watch *w,
                     const struct lpg_fix *f, struct depot_batch *b)
{
    struct depot_watch_config cfg;
    watch_config(d, &cfg);
    const struct lpg_vehicle *v = registry_vehicle(d->registry, vehicle);
    struct depot_event ev[DEPOT_EVENTS_PER_FIX];
    size_t n = depot_watch_push(w, &cfg, station_of(d, v), f, ev);
    for (size_t i = 0; i < n; i++) {
        if (b->n == DEPOT_BATCH_EVENTS)
            b->dropped++;
        else
            b->ev[b->n++] = ev[i];
    }
}

/* The cylinders aboard: full (loaded for an order) and empty; the distinct orders of the full
 * ones into orders[] (at most VEHICLE_ORDERS_MAX), their count in *n_orders. */
static void aboard(const struct service *d, const char *vehicle, int *full, int *empty,
                   const struct lpg_order **orders, size_t *n_orders)
{
    *full = *empty = 0;
    if (n_orders)
        *n_orders = 0;
    size_t n = registry_cylinders_on_vehicle(d->registry, vehicle, NULL, 0);
    if (n > ABOARD_MAX)
        n = ABOARD_MAX;
    const struct lpg_cylinder **cy = calloc(n ? n : 1, sizeof(*cy));
    if (cy == NULL)
        return;
    n = registry_cylinders_on_vehicle(d->registry, vehicle, cy, n);
    for (size_t i = 0; i < n && i < ABOARD_MAX; i++) {
        if (cy[i]->status == LPG_CYL_COLLECTED_EMPTY) {
            (*empty)++;
            continue;
        }
        if (cy[i]->status != LPG_CYL_LOADED)
            continue;
        (*full)++;
        if (n_orders == NULL || cy[i]->order_id[0] == '\0')
            continue;
        const struct lpg_order *o = registry_order(d->registry, cy[i]->order_id);
        bool seen = o == NULL;
        for (size_t k = 0; !seen && k < *n_orders; k++)
            seen = orders[k] == o;
        if (!seen && *n_orders < VEHICLE_ORDERS_MAX)
            orders[(*n_orders)++] = o;
    }
    free(cy);
}

static int store_depot_record(struct service *d, struct store_txn *txn, const char *vehicle,
                              const struct lpg_vehicle *v, const struct depot_event *e)
{
    int full, empty;
    aboard(d, vehicle, &full, &empty, NULL, NULL);
    json_t *j = json_pack("{s:o, s:s, s:s, s:i, s:i, s:f, s:f}", "at", lpg_json_instant(e->at_ms),
                          "event", e->kind == DEPOT_EV_LEFT ? "departure" : "arrival", "station_id",
                          v ? v->station_id : "", "full", full, "empty", empty, "lon", e->pos.lon,
                          "lat", e->pos.lat);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    char rel[LPG_ID_MAX + 32], key[256], score[24];
    int rc = -1;
    if (text && keys_vehicle_depot(rel, sizeof(rel), vehicle) >= 0 &&
        store_key(d->store, key, sizeof(key), rel) >= 0) {
        snprintf(score, sizeof(score), "%" PRId64, e->at_ms);
        rc = store_txn_addv(txn, "ZADD", key, score, text, NULL);
        /* Kept as long as the route they belong to. */
        char old[24];
        int64_t keep_ms = d->cfg.route_retention_days * (int64_t)86400000;
        snprintf(old, sizeof(old), "(%" PRId64, e->at_ms - keep_ms);
        if (rc == 0 && d->cfg.route_retention_days > 0)
            rc = store_txn_addv(txn, "ZREMRANGEBYSCORE", key, "-inf", old, NULL);
    }
    free(text);
    return rc;
}

/* A stop of the long-stop length: unplanned when full cylinders are aboard and it is neither at
 * a customer of the vehicle's orders nor in its station. */
static bool unplanned(const struct service *d, const char *vehicle, const struct lpg_vehicle *v,
                      struct geo_point at)
{
    const struct lpg_order *orders[VEHICLE_ORDERS_MAX];
    size_t n_orders = 0;
    int full, empty;
    aboard(d, vehicle, &full, &empty, orders, &n_orders);
    if (full == 0)
        return false;
    struct geo_point places[VEHICLE_ORDERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < n_orders; i++) {
        const struct lpg_customer *cu = registry_customer(d->registry, orders[i]->customer_id);
        if (cu)
            places[n++] = cu->location;
    }
    return !depot_stop_is_planned(at, places, n, d->delivery_cfg.handover_max_distance_m,
                                  station_of(d, v));
}

static void add_alert(struct service *d, struct depot_batch *b, const struct lpg_vehicle *v,
                      const struct depot_event *e, bool start, int64_t now_ms)
{
    if (b->n_alerts == DEPOT_BATCH_ALERTS || v == NULL)
        return;
    char msg[RULE_EVENT_MESSAGE_MAX];
    int64_t minutes = (e->at_ms - e->start_ms) / 60000;
    if (start)
        snprintf(msg, sizeof(msg),
                 "unplanned stop: %.40s stopped %lld min, full cylinders aboard, away from its "
                 "customers and station",
                 v->id, (long long)minutes);
    else
        snprintf(msg, sizeof(msg), "unplanned stop over: %.40s moves again after %lld min", v->id,
                 (long long)minutes);
    struct lpg_alert *a = &b->alerts[b->n_alerts++];
    const char *staff = v->driver_id[0] ? v->driver_id : v->staff_id;
    alerts_compliance(a, "unplanned_stop", v->enterprise_id, v->id, staff, e->pos, msg, now_ms);
    /* An episode like the tracking rules': its start, then its end with the duration. */
    a->ev.kind = start ? RULE_EVENT_VIOLATION_START : RULE_EVENT_VIOLATION_END;
    a->ev.start_ms = e->start_ms;
    a->ev.end_ms = e->at_ms;
    a->ev.duration_ms = e->at_ms - e->start_ms;
    (void)d;
}

int depot_track_store(struct service *d, struct store_txn *txn, const char *vehicle,
                      struct depot_watch *w, struct depot_batch *b, int64_t now_ms)
{
    const struct lpg_vehicle *v = registry_vehicle(d->registry, vehicle);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const struct depot_event *e = &b->ev[i];
        switch (e->kind) {
        case DEPOT_EV_LEFT:
        case DEPOT_EV_ENTERED:
            rc = store_depot_record(d, txn, vehicle, v, e);
            break;
        case DEPOT_EV_STOP_LONG:
            if (!w->alerted && unplanned(d, vehicle, v, e->pos)) {
                add_alert(d, b, v, e, true, now_ms);
                w->alerted = true;
            }
            break;
        case DEPOT_EV_STOP_ENDED:
            if (w->alerted) {
                add_alert(d, b, v, e, false, now_ms);
                w->alerted = false;
            }
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; rc == 0 && i < b->n_alerts; i++)
        rc = alerts_store(d, txn, &b->alerts[i]);
    if (b->dropped)
        log_warn("vehicle %s: %zu depot/stop events of one batch dropped", vehicle, b->dropped);
    return rc;
}

static void on_track_order(void *arg, const struct orders_result *res)
{
    (void)arg;
    /* A refusal is the order having moved meanwhile (a hand-over, a cancellation): fine. */
    if (res->store_err)
        log_warn("an order change read from the track was not stored: %s", res->store_err);
}

static void move_order(struct service *d, const struct lpg_order *o, enum lpg_order_state from,
                       enum lpg_order_state to, int64_t at_ms)
{
    struct orders_request req = {
        .op = ORDERS_TRACK, .order_id = o->id, .from = from, .to = to, .at_ms = at_ms};
    struct refusal r;
    if (orders_submit(d, &req, on_track_order, NULL, &r) != 0)
        log_warn("order %s: %s", o->id, r.message);
}

void depot_track_applied(struct service *d, const char *vehicle, const struct depot_batch *b,
                         const char *device)
{
    for (size_t i = 0; i < b->n_alerts; i++)
        alerts_raised(d, &b->alerts[i], device);
    for (size_t i = 0; i < b->n; i++) {
        const struct depot_event *e = &b->ev[i];
        if (e->kind != DEPOT_EV_LEFT && e->kind != DEPOT_EV_STOP_BEGAN)
            continue;
        const struct lpg_order *orders[VEHICLE_ORDERS_MAX];
        size_t n = 0;
        int full, empty;
        aboard(d, vehicle, &full, &empty, orders, &n);
        for (size_t k = 0; k < n; k++) {
            const struct lpg_order *o = orders[k];
            if (e->kind == DEPOT_EV_LEFT && o->state == LPG_ORDER_LOADED) {
                move_order(d, o, LPG_ORDER_LOADED, LPG_ORDER_EN_ROUTE, e->at_ms);
            } else if (e->kind == DEPOT_EV_STOP_BEGAN && o->state == LPG_ORDER_EN_ROUTE) {
                const struct lpg_customer *cu = registry_customer(d->registry, o->customer_id);
                if (cu &&
                    geo_distance_m(cu->location, e->pos) <= d->delivery_cfg.handover_max_distance_m)
                    move_order(d, o, LPG_ORDER_EN_ROUTE, LPG_ORDER_ARRIVED, e->start_ms);
            }
        }
    }
}
