/* http_v1_compliance.c -- delivery compliance over HTTP (docs/compliance.md):
 *
 *   GET  /v1/cylinders/{id}/history   the cylinder's life events, oldest first
 *   POST /v1/cylinders/{id}/events    a station event: filled, due_inspection,
 *                                     sent_for_inspection, inspected, scrapped, lost
 *   GET  /v1/vehicles/{id}/load       what the vehicle carries and its trip counters
 *   GET  /v1/orders/{id}/checks       the order's safety checks
 *   GET  /v1/checks/{id}              one safety check
 *   GET  /v1/hazards                  the hazard ledger (台账): ?status=open|overdue|closed,
 *                                     customer_id, from, to (found between), enterprise_id
 *   GET  /v1/hazards/{id}             one rectification notice
 *
 * Cylinders themselves are listed, created and patched by the registry handlers
 * (http_v1_registry.c); their movements (status, vehicle, customer, order) are never edited:
 * handsets scan them (app/delivery.c) and the station records its events here (the state
 * machine is app/stations.c). Every station event goes into the cylinder's history and the
 * audit log in the same transaction.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "store/compliance_reads.h"
#include "common/clock.h"
#include "app/stations.h"
#include "http/http_refusal.h"
#include "store/entity.h"
#include "common/log.h"
#include "core/registry.h"
#include "store/registry_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Events returned by one history request, at most (a cylinder's whole life is a few hundred
 * movements a year). */
#define HISTORY_MAX 5000

static void handle_history(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    const struct lpg_cylinder *c =
        p ? v1_scoped_entity(call, d, p, &entity_ops[RS_CYLINDER]) : NULL;
    if (c == NULL)
        return;
    const char *why;
    if (compliance_read_cylinder_history(d->store, c->id, HISTORY_MAX, v1_on_items, call, &why) !=
        0)
        v1_reply_read_unsent(call, why);
}

/* ---- station events ---- */

/* The use case's answer (app/stations.h): the cylinder, or the refusal's HTTP form. */
static void on_event_done(void *arg, const struct station_result *res)
{
    struct http_call *call = arg;
    if (res->cancelled)
        return; /* shutting down: the server ends the call */
    if (res->store_err)
        v1_reply_store_refused(call, res->store_err);
    else if (res->refusal)
        http_reply_refusal(call, res->refusal);
    else
        http_reply_json(call, 200, lpg_json_from_cylinder(res->cylinder));
}

static void handle_event(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const allowed[] = {"event", "note", "next_inspection", "service_life_years",
                                          NULL};
    const char *name = json_string_value(json_object_get(body, "event"));
    const char *note = json_string_value(json_object_get(body, "note"));
    const char *next = json_string_value(json_object_get(body, "next_inspection"));
    json_t *life = json_object_get(body, "service_life_years");
    const struct station_event *ev = station_event_find(name);
    struct station_request req = {.user = p, .event = ev, .note = note};
    struct refusal r;
    if (v1_only_fields(call, body, allowed) != 0)
        goto done;
    if (ev == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "event is one of %s", station_event_names());
        http_reply_error(call, 400, name ? "invalid_field" : "missing_field", msg, "event");
        goto done;
    }
    if (note && (strlen(note) > LPG_TEXT_MAX || !lpg_utf8_valid(note, strlen(note)))) {
        http_reply_error(call, 400, "invalid_field", "note is UTF-8 of at most 255 bytes", "note");
        goto done;
    }
    bool inspection = station_event_is_inspection(ev);
    req.next_inspection_day = LPG_DAY_NONE;
    if (inspection && (next == NULL || lpg_day_parse(next, &req.next_inspection_day) != 0)) {
        http_reply_error(call, 400, next ? "invalid_field" : "missing_field",
                         "an inspection records the next inspection date, YYYY-MM-DD",
                         "next_inspection");
        goto done;
    }
    if (life && (!json_is_integer(life) || json_integer_value(life) < 1 ||
                 json_integer_value(life) > d->delivery_cfg.max_life_years || !inspection)) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "service_life_years (an inspection's extension) is 1..%d (cylinder_max_life)",
                 (int)d->delivery_cfg.max_life_years);
        http_reply_error(call, 400, "invalid_field", msg, "service_life_years");
        goto done;
    }
    req.service_life_years = life ? (int32_t)json_integer_value(life) : 0;
    req.cylinder_id = http_call_param(call, "id");
    if (stations_submit(d, &req, on_event_done, call, &r) != 0)
        http_reply_refusal(call, &r);
done:
    json_decref(body);
}

/* ---- a vehicle's load ---- */

struct aboard_filter {
    const char *vehicle_id;
};

static bool aboard(const void *e, void *arg)
{
    const struct lpg_cylinder *c = e;
    const struct aboard_filter *f = arg;
    return (c->status == LPG_CYL_LOADED || c->status == LPG_CYL_COLLECTED_EMPTY) &&
           strcmp(c->vehicle_id, f->vehicle_id) == 0;
}

static void handle_load(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    const struct lpg_vehicle *v = p ? v1_scoped_vehicle(call, d, p) : NULL;
    if (v == NULL)
        return;
    json_t *full = json_array(), *empty = json_array();
    const struct lpg_cylinder *page[256];
    struct aboard_filter f = {v->id};
    char after[LPG_ID_MAX + 1] = "";
    size_t n;
    do {
        n = registry_list_cylinders(d->registry, v->enterprise_id, after, 256, aboard, &f, page);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(page[i]->status == LPG_CYL_LOADED ? full : empty,
                                  json_pack("{s:s, s:s, s:s?}", "id", page[i]->id, "spec",
                                            page[i]->spec, "order_id",
                                            page[i]->order_id[0] ? page[i]->order_id : NULL));
        if (n)
            snprintf(after, sizeof(after), "%s", page[n - 1]->id);
    } while (n == 256);
    json_t *trip = json_pack("{s:i, s:i, s:i, s:i}", "loaded", (int)v->trip_loaded, "handed_over",
                             (int)v->trip_handed_over, "returned_full", (int)v->trip_returned_full,
                             "empties", (int)v->trip_empties);
    json_object_set_new(trip, "started_at", lpg_json_instant(v->trip_started_ms));
    http_reply_json(call, 200,
                    json_pack("{s:s, s:i, s:o, s:o, s:o}", "vehicle_id", v->id, "capacity",
                              (int)v->capacity, "full", full, "empty", empty, "trip", trip));
}

/* ---- safety checks ---- */

static void handle_order_checks(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_order *o = v1_scoped_entity(call, d, p, &entity_ops[RS_ORDER]);
    if (o == NULL)
        return;
    /* An order has one check per cylinder: bounded by its items. */
    const char *why;
    if (compliance_read_order_checks(d->store, o->id, 1000, v1_on_items, call, &why) != 0)
        v1_reply_read_unsent(call, why);
}

struct check_read {
    struct http_call *call;
    struct service *d;
    struct auth_principal principal;
};

static void on_check(void *arg, json_t *j, const char *err)
{
    struct check_read *rd = arg;
    struct http_call *call = rd->call;
    const char *ent = json_string_value(json_object_get(j, "enterprise_id"));
    if (err) {
        v1_reply_store_unreadable(call);
    } else if (j == NULL || ent == NULL || v1_hidden(&rd->principal, ent)) {
        http_reply_error(call, 404, "not_found", "no such safety check", NULL);
    } else if (v1_allow(call, rd->d, &rd->principal, AUTH_READ, ent) == 0) {
        http_reply_json(call, 200, json_incref(j));
    }
    free(rd);
}

static void handle_check(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    if (id == NULL || !lpg_id_valid(id)) {
        http_reply_error(call, 404, "not_found", "no such safety check", NULL);
        return;
    }
    struct check_read *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    rd->call = call;
    rd->d = d;
    rd->principal = *p;
    const char *why;
    if (compliance_read_check(d->store, id, on_check, rd, &why) != 0) {
        free(rd);
        v1_reply_read_unsent(call, why);
    }
}

/* ---- the hazard ledger ---- */

static json_t *hazard_json(const struct lpg_hazard *h, int64_t now_ms)
{
    json_t *j = lpg_json_from_hazard(h);
    json_object_set_new(j, "overdue",
                        json_boolean(h->status == LPG_HAZARD_OPEN && now_ms > h->deadline_ms));
    return j;
}

struct ledger_filter {
    int status; /* -1 any, LPG_HAZARD_OPEN, LPG_HAZARD_CLOSED, 2 overdue */
    const char *customer_id;
    int64_t from_ms, to_ms; /* found within [from, to); 0 = open end */
    int64_t now_ms;
};

static bool ledger_match(const void *e, void *arg)
{
    const struct lpg_hazard *h = e;
    const struct ledger_filter *f = arg;
    if (f->status == 2 && !(h->status == LPG_HAZARD_OPEN && f->now_ms > h->deadline_ms))
        return false;
    if (f->status >= 0 && f->status < 2 && (int)h->status != f->status)
        return false;
    if (f->customer_id && strcmp(h->customer_id, f->customer_id) != 0)
        return false;
    return (f->from_ms == 0 || h->found_ms >= f->from_ms) &&
           (f->to_ms == 0 || h->found_ms < f->to_ms);
}

static void handle_hazards(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    struct ledger_filter f = {-1, http_call_query(call, "customer_id"), 0, 0, lpg_now_ms()};
    const char *status = http_call_query(call, "status");
    if (status) {
        f.status = strcmp(status, "overdue") == 0 ? 2 : lpg_hazard_status_parse(status);
        if (f.status < 0) {
            http_reply_error(call, 400, "invalid_field", "status is open, overdue or closed",
                             "status");
            return;
        }
    }
    if ((http_call_query(call, "from") && v1_query_instant(call, "from", &f.from_ms) != 0) ||
        (http_call_query(call, "to") && v1_query_instant(call, "to", &f.to_ms) != 0))
        return;
    const struct lpg_hazard **page = calloc((size_t)limit, sizeof(*page));
    if (page == NULL) {
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    size_t n = registry_list_hazards(d->registry, ent, http_call_query(call, "after"),
                                     (size_t)limit, ledger_match, &f, page);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, hazard_json(page[i], f.now_ms));
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == (size_t)limit ? page[n - 1]->id : NULL);
    free(page);
    http_reply_json(call, 200, body);
}

static void handle_hazard(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_hazard *h = v1_scoped_entity(call, d, p, &entity_ops[RS_HAZARD]);
    if (h != NULL)
        http_reply_json(call, 200, hazard_json(h, lpg_now_ms()));
}

const struct http_route v1_compliance_routes[] = {
    {"GET", "/v1/cylinders/{id}/history", handle_history, HTTP_ROUTE_READ},
    {"POST", "/v1/cylinders/{id}/events", handle_event, HTTP_ROUTE_WRITE},
    {"GET", "/v1/vehicles/{id}/load", handle_load, HTTP_ROUTE_READ},
    {"GET", "/v1/orders/{id}/checks", handle_order_checks, HTTP_ROUTE_READ},
    {"GET", "/v1/checks/{id}", handle_check, HTTP_ROUTE_READ},
    {"GET", "/v1/hazards", handle_hazards, HTTP_ROUTE_READ},
    {"GET", "/v1/hazards/{id}", handle_hazard, HTTP_ROUTE_READ},
};
const size_t v1_compliance_routes_count =
    sizeof(v1_compliance_routes) / sizeof(v1_compliance_routes[0]);
