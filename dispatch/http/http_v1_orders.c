/* http_v1_orders.c -- orders over HTTP (docs/http-api.md, "Orders").
 *
 *   GET  /v1/orders                  list (scoped, paged, filterable: ?state=created)
 *   POST /v1/orders                  create: the rules (order_rules.h), then automatic
 *                                    assignment; 201 with the order, assigned or waiting with
 *                                    the reason; 422 with the rule's code when refused
 *   GET  /v1/orders/{id}             one
 *   GET  /v1/orders/{id}/history     its transitions, oldest first
 *   POST /v1/orders/{id}/assign      {"staff_id"}: by hand, to an eligible person only
 *   POST /v1/orders/{id}/unassign    {"reason"}: back to waiting (then re-matched)
 *   POST /v1/orders/{id}/cancel      {"reason"}
 *   POST /v1/orders/{id}/fail        {"reason"}
 *   GET  /v1/events                  live feed of order changes (server-sent events)
 * An illegal transition is 409 and changes nothing.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/orders.h"
#include "http/http_refusal.h"
#include "http/live_feed.h"
#include "store/compliance_reads.h"
#include "store/entity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The answer of the use case (app/orders.h): the order, or the refusal's HTTP form. */
static void on_order_done(void *arg, const struct orders_result *res)
{
    struct http_call *call = arg;
    if (res->cancelled)
        return; /* shutting down: the server ends the call */
    if (res->store_err)
        v1_reply_store_refused(call, res->store_err);
    else if (res->refusal)
        http_reply_refusal(call, res->refusal);
    else
        http_reply_json(call, res->created ? 201 : 200, lpg_json_from_order(res->order));
}

static void submit_order(struct http_call *call, void *ctx, enum orders_op op)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    /* The actions take a reason (and assign a staff_id); orders themselves are checked field by
     * field by model_json. */
    static const char *const action_fields[] = {"reason", "staff_id", NULL};
    if (op != ORDERS_CREATE && v1_only_fields(call, body, action_fields) != 0) {
        json_decref(body);
        return;
    }
    if (op == ORDERS_CREATE) {
        if (p->role == AUTH_ROLE_DISPATCHER && json_object_get(body, "enterprise_id") == NULL)
            json_object_set_new(body, "enterprise_id", json_string(p->enterprise_id));
        if (json_object_get(body, "id") == NULL) {
            char id[LPG_ID_MAX + 1];
            orders_new_id(id);
            json_object_set_new(body, "id", json_string(id));
        }
        const char *ent = json_string_value(json_object_get(body, "enterprise_id"));
        if (v1_allow(call, d, p, AUTH_WRITE, ent && lpg_id_valid(ent) ? ent : NULL) != 0) {
            json_decref(body);
            return;
        }
    }
    struct orders_request req = {
        .op = op,
        .user = p,
        .order_id = op == ORDERS_CREATE ? NULL : http_call_param(call, "id"),
        .assignee = json_string_value(json_object_get(body, "staff_id")),
        .reason = json_string_value(json_object_get(body, "reason")),
        .order = op == ORDERS_CREATE ? body : NULL,
    };
    struct refusal r;
    if (orders_submit(d, &req, on_order_done, call, &r) != 0)
        http_reply_refusal(call, &r);
    json_decref(body);
}

static void handle_create(struct http_call *call, void *ctx)
{
    submit_order(call, ctx, ORDERS_CREATE);
}
static void handle_assign(struct http_call *call, void *ctx)
{
    submit_order(call, ctx, ORDERS_ASSIGN);
}
static void handle_unassign(struct http_call *call, void *ctx)
{
    submit_order(call, ctx, ORDERS_UNASSIGN);
}
static void handle_cancel(struct http_call *call, void *ctx)
{
    submit_order(call, ctx, ORDERS_CANCEL);
}
static void handle_fail(struct http_call *call, void *ctx)
{
    submit_order(call, ctx, ORDERS_FAIL);
}

/* ---- history: read from the store (store/compliance_reads.h) ---- */

/* Events returned by one history request, at most (an order has a handful of transitions; a
 * cap all the same, as on every list). */
#define ORDER_HISTORY_MAX 5000

/* GET /v1/events: the live feed of order changes (live_feed.h). */
static void handle_events(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    /* Dispatchers see their enterprise; admins and auditors every one. */
    if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) != 0)
        return;
    unsigned types;
    if (live_feed_parse_types(http_call_query(call, "types"), &types) != 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "types: a comma-separated list of orders, alerts, positions", "types");
        return;
    }
    live_feed_subscribe(((struct http_ctx *)ctx)->feed, call, p,
                        http_call_header(call, "Last-Event-ID"), types);
}

static void handle_history(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct lpg_order *o = v1_scoped_entity(call, d, p, &entity_ops[RS_ORDER]);
    if (o == NULL)
        return;
    const char *why;
    if (compliance_read_order_history(d->store, o->id, ORDER_HISTORY_MAX, v1_on_items, call,
                                      &why) != 0)
        v1_reply_read_unsent(call, why);
}

/* List and get come from the generic registry handlers, bound to the order kind here. */
static void handle_list(struct http_call *call, void *ctx)
{
    v1_list_kind(call, http_service(ctx), &entity_ops[RS_ORDER]);
}
static void handle_get(struct http_call *call, void *ctx)
{
    v1_get_one(call, http_service(ctx), &entity_ops[RS_ORDER]);
}

const struct http_route v1_order_routes[] = {
    {"GET", "/v1/orders", handle_list, HTTP_ROUTE_READ},
    {"POST", "/v1/orders", handle_create, HTTP_ROUTE_WRITE},
    {"GET", "/v1/orders/{id}", handle_get, HTTP_ROUTE_READ},
    {"GET", "/v1/orders/{id}/history", handle_history, HTTP_ROUTE_READ},
    {"POST", "/v1/orders/{id}/assign", handle_assign, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/unassign", handle_unassign, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/cancel", handle_cancel, HTTP_ROUTE_WRITE},
    {"POST", "/v1/orders/{id}/fail", handle_fail, HTTP_ROUTE_WRITE},
    {"GET", "/v1/events", handle_events, HTTP_ROUTE_READ},
};
const size_t v1_order_routes_count = sizeof(v1_order_routes) / sizeof(v1_order_routes[0]);
