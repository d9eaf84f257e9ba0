/* http_v1_terminals.c -- JT/T 808 terminals over HTTP (docs/http-api.md, "Terminals").
 *
 *   GET    /v1/terminals        list, paged by id (?after=&limit=), a dispatcher's own
 *                               enterprise; admins and auditors all, or ?enterprise_id=
 *   POST   /v1/terminals        {"id","vehicle_id","protocol"?,"auth_code"?} -> 201
 *   GET    /v1/terminals/{id}   one
 *   PATCH  /v1/terminals/{id}   {"vehicle_id"?,"auth_code"?} -> 200
 *   DELETE /v1/terminals/{id}   -> 200 with the terminal as it was
 *
 * The use cases are app/terminals.h's; this file parses the requests and maps the results. A
 * terminal is shown without its code or the code's digest ("has_code" says whether it has one).
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/terminals.h"
#include "http/http_refusal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void on_terminal_written(void *arg, const struct terminal_record *t, const struct refusal *r,
                                int status)
{
    struct http_call *call = arg;
    if (t == NULL)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, status, terminal_to_public_json(t));
}

static void on_created(void *arg, const struct terminal_record *t, const struct refusal *r)
{
    on_terminal_written(arg, t, r, 201);
}

static void on_changed(void *arg, const struct terminal_record *t, const struct refusal *r)
{
    on_terminal_written(arg, t, r, 200);
}

/* A string member of body, or NULL when absent; -1 after replying when present and not a
 * string. */
static int string_field(struct http_call *call, const json_t *body, const char *name,
                        const char **out)
{
    json_t *v = json_object_get(body, name);
    *out = json_string_value(v);
    if (v != NULL && *out == NULL) {
        http_refuse(call, REFUSAL_INVALID, "invalid_field", name, "%s must be a string", name);
        return -1;
    }
    return 0;
}

static void handle_create(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const fields[] = {"id", "vehicle_id", "protocol", "auth_code", NULL};
    const char *id, *vehicle, *protocol, *code;
    struct refusal r;
    if (v1_only_fields(call, body, fields) == 0 && string_field(call, body, "id", &id) == 0 &&
        string_field(call, body, "vehicle_id", &vehicle) == 0 &&
        string_field(call, body, "protocol", &protocol) == 0 &&
        string_field(call, body, "auth_code", &code) == 0 &&
        terminal_create(d, p, id, vehicle, protocol, code, on_created, call, &r) != 0)
        http_reply_refusal(call, &r);
    json_decref(body);
}

static void handle_patch(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    static const char *const fields[] = {"vehicle_id", "auth_code", NULL};
    const char *vehicle, *code;
    struct refusal r;
    if (v1_only_fields(call, body, fields) == 0 &&
        string_field(call, body, "vehicle_id", &vehicle) == 0 &&
        string_field(call, body, "auth_code", &code) == 0 &&
        terminal_change(d, p, http_call_param(call, "id"), vehicle, code, on_changed, call, &r) !=
            0)
        http_reply_refusal(call, &r);
    json_decref(body);
}

static void handle_delete(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    struct refusal r;
    if (terminal_delete(d, p, http_call_param(call, "id"), on_changed, call, &r) != 0)
        http_reply_refusal(call, &r);
}

static void handle_get(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const struct terminal_record *t = terminals_get(d, http_call_param(call, "id"));
    /* Another enterprise's terminal is answered exactly like a missing one. */
    if (t == NULL || v1_hidden(p, t->enterprise_id)) {
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no such terminal");
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, t->enterprise_id) != 0)
        return;
    http_reply_json(call, 200, terminal_to_public_json(t));
}

static void handle_list(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const char *ent = http_call_query(call, "enterprise_id");
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    /* A dispatcher lists its own enterprise; admins and auditors any, or all. */
    if (ent == NULL)
        ent = auth_default_enterprise(p);
    if (v1_allow(call, d, p, AUTH_READ, ent) != 0)
        return;
    int limit = v1_page_limit(call);
    if (limit < 0)
        return;
    const struct terminal_record **page = calloc((size_t)limit, sizeof(*page));
    json_t *items = json_array();
    if (page == NULL || items == NULL) {
        free(page);
        json_decref(items);
        http_refuse(call, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        return;
    }
    size_t n = terminals_list(d, ent, http_call_query(call, "after"), (size_t)limit, page);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, terminal_to_public_json(page[i]));
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == (size_t)limit ? page[n - 1]->id : NULL);
    free(page);
    http_reply_json(call, 200, body);
}

const struct http_route v1_terminal_routes[] = {
    {"GET", "/v1/terminals", handle_list, HTTP_ROUTE_READ},
    {"POST", "/v1/terminals", handle_create, HTTP_ROUTE_WRITE},
    {"GET", "/v1/terminals/{id}", handle_get, HTTP_ROUTE_READ},
    {"PATCH", "/v1/terminals/{id}", handle_patch, HTTP_ROUTE_WRITE},
    {"DELETE", "/v1/terminals/{id}", handle_delete, HTTP_ROUTE_WRITE},
};
const size_t v1_terminal_routes_count = sizeof(v1_terminal_routes) / sizeof(v1_terminal_routes[0]);
