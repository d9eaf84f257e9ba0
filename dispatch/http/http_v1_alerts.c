/* http_v1_alerts.c -- GET /v1/alerts and POST /v1/alerts/{id}/ack: the request is parsed and
 * the caller's scope checked here, the listing and the acknowledgement are app/alerts.c's use
 * cases, their refusals mapped by http_reply_refusal (docs/tracking-api.md). */
#include "app/alerts.h"
#include "core/registry.h"
#include "http/http_refusal.h"
#include "http/http_v1.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* ---- GET /v1/alerts?enterprise_id=&vehicle_id=&rule=&from=&to=&limit=&cursor= ---- */

static void on_page(void *arg, json_t *page, const struct refusal *r)
{
    struct http_call *call = arg;
    if (r)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, 200, page);
}

static int parse_time_param(struct http_call *call, const char *name, int64_t dflt, int64_t *out)
{
    const char *s = http_call_query(call, name);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    if (lpg_json_instant_parse(s, out) != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be an RFC 3339 instant, e.g. 2026-11-28T00:00:00Z",
                 name);
        http_reply_error(call, 400, "invalid_parameter", msg, name);
        return -1;
    }
    return 0;
}

static void handle_list(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *ent = http_call_query(call, "enterprise_id");
    const char *veh = http_call_query(call, "vehicle_id");
    if (veh) {
        const struct lpg_vehicle *v = lpg_id_valid(veh) ? registry_vehicle(d->registry, veh) : NULL;
        if (v == NULL || !auth_sees_enterprise(p, v->enterprise_id)) {
            http_reply_error(call, 404, "not_found", "no such vehicle", "vehicle_id");
            return;
        }
        ent = v->enterprise_id;
    } else if (ent == NULL) {
        ent = auth_default_enterprise(p);
    }
    if (ent == NULL) {
        http_reply_error(call, 400, "missing_parameter", "name an enterprise_id or a vehicle_id",
                         "enterprise_id");
        return;
    }
    if (!lpg_id_valid(ent)) {
        http_reply_error(call, 400, "invalid_parameter", "enterprise_id is not a valid id",
                         "enterprise_id");
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int64_t from, to;
    if (parse_time_param(call, "from", 0, &from) != 0 ||
        parse_time_param(call, "to", INT64_MAX / 2, &to) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    if (limit > ALERTS_PAGE_MAX)
        limit = ALERTS_PAGE_MAX;
    const char *rule_name = http_call_query(call, "rule");
    if (rule_name && !alerts_rule_known(rule_name)) {
        http_reply_error(call, 400, "invalid_parameter",
                         "rule must be overspeed, fatigue, zone_exit, signal_lost, "
                         "roadside_sale, load_mismatch, hazard or a terminal alarm "
                         "(terminal_sos, ...)",
                         "rule");
        return;
    }
    struct alerts_cursor at = {from, 0};
    const char *cursor = http_call_query(call, "cursor");
    if (cursor && alerts_cursor_parse(cursor, &at) != 0) {
        http_reply_error(call, 400, "invalid_parameter",
                         "cursor must be the \"next\" of a previous page", "cursor");
        return;
    }
    if (at.ms < from) /* a cursor never reaches before `from` */
        at = (struct alerts_cursor){from, 0};
    struct alerts_query q = {
        .enterprise_id = ent,
        .vehicle_id = veh,
        .rule = rule_name,
        .to_ms = to,
        .at = at,
        .limit = limit,
    };
    alerts_list(d, &q, on_page, call);
}

/* ---- POST /v1/alerts/{id}/ack {"note"} ---- */

static void on_acked(void *arg, json_t *acked, const struct refusal *r)
{
    struct http_call *call = arg;
    if (r)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, 200, acked);
}

static void handle_ack(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const ack_fields[] = {"note", NULL};
    if (v1_only_fields(call, body, ack_fields) != 0) {
        json_decref(body);
        return;
    }
    const char *note = json_string_value(json_object_get(body, "note"));
    int blank = note == NULL || note[strspn(note, " \t\r\n\v\f")] == '\0';
    if (blank || strlen(note) > LPG_TEXT_MAX) {
        json_decref(body);
        http_reply_error(call, 400, blank ? "missing_field" : "invalid_field",
                         "an acknowledgement needs a note (1..255 bytes): what was done", "note");
        return;
    }
    if (id == NULL || !lpg_id_valid(id)) {
        json_decref(body);
        http_reply_error(call, 404, "not_found", "no such alert", NULL);
        return;
    }
    alerts_acknowledge(d, p, id, note, on_acked, call); /* copies id and note */
    json_decref(body);
}

const struct http_route v1_alert_routes[] = {
    {"GET", "/v1/alerts", handle_list, HTTP_ROUTE_READ},
    {"POST", "/v1/alerts/{id}/ack", handle_ack, HTTP_ROUTE_WRITE},
};
const size_t v1_alert_routes_count = sizeof(v1_alert_routes) / sizeof(v1_alert_routes[0]);
