/* http_v1_registry.c -- the registry over HTTP: enterprises, zones, staff, vehicles,
 * customers, cylinders and stations (docs/http-api.md, "Registry").
 *
 *   GET   /v1/{kind}        list, paged by id (?after=&limit=), scoped, filterable by any
 *                           scalar field (?on_duty=true&zone_id=Z1); zones without their
 *                           shape unless ?geometry=1, then at most V1_ZONE_PAGE_VERTICES
 *                           vertices a page
 *   POST  /v1/{kind}        create (201); a dispatcher's enterprise_id defaults to its own
 *   GET   /v1/{kind}/{id}   one
 *   PATCH /v1/{kind}/{id}   change the fields present (staff, vehicles, customers, cylinders,
 *                           stations)
 *   DELETE /v1/stations/{id} remove a station no vehicle names (409 station_in_use)
 *
 * Creating and changing is the use case of app/registry_writes.h (checks, consistency across
 * entities, the transaction); this file parses the request and maps the result.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/registry_writes.h"
#include "common/log.h"
#include "core/registry.h"
#include "http/http_refusal.h"
#include "store/entity.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sys/queue.h>

/* ---- listing ---- */

struct list_filter {
    const struct entity_ops *ops;
    json_t *want; /* field -> wanted value (as query text) */
};

/* Compares a scalar JSON field with its query-string text. */
static bool field_matches(json_t *have, const char *want)
{
    char buf[64];
    switch (json_typeof(have)) {
    case JSON_STRING:
        return strcmp(json_string_value(have), want) == 0;
    case JSON_TRUE:
        return strcmp(want, "true") == 0;
    case JSON_FALSE:
        return strcmp(want, "false") == 0;
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(have));
        return strcmp(buf, want) == 0;
    case JSON_NULL:
        return strcmp(want, "null") == 0 || want[0] == '\0';
    default:
        return false;
    }
}

/* A zone's JSON without "shape": built from a shallow copy whose shape is empty, so a large
 * shape is never turned into JSON just to be dropped. */
static json_t *zone_json_without_shape(const struct lpg_zone *z)
{
    struct lpg_zone bare = *z;
    memset(&bare.shape, 0, sizeof(bare.shape));
    json_t *j = lpg_json_from_zone(&bare);
    json_object_del(j, "shape");
    return j;
}

static bool filter_entity(const void *entity, void *arg)
{
    struct list_filter *f = arg;
    /* Shapes cannot be filtered on (objects never match): leave them out of the comparison. */
    json_t *j = f->ops->kind == RS_ZONE ? zone_json_without_shape(entity) : f->ops->to_json(entity);
    bool ok = j != NULL;
    const char *key;
    json_t *want;
    json_object_foreach(f->want, key, want)
    {
        json_t *have = j ? json_object_get(j, key) : NULL;
        if (have == NULL || !field_matches(have, json_string_value(want))) {
            ok = false;
            break;
        }
    }
    json_decref(j);
    return ok;
}

/* Vertices of a zone's shape (closing ones included: what the JSON carries). */
static size_t zone_vertices(const struct lpg_zone *z)
{
    size_t n = 0;
    for (size_t i = 0; i < z->shape.mp.n_polys; i++) {
        const struct geo_polygon *p = &z->shape.mp.polys[i];
        n += p->outer.n;
        for (size_t h = 0; h < p->n_holes; h++)
            n += p->holes[h].n;
    }
    return n;
}

/* Whether a zone listing carries the shapes: ?geometry=1 (or true). Without it, each zone is
 * listed without "shape", so a page of large zones stays small (GET /v1/zones/{id} has it). */
static int want_geometry(struct http_call *call, bool *out)
{
    const char *g = http_call_query(call, "geometry");
    *out = g != NULL && (strcmp(g, "1") == 0 || strcmp(g, "true") == 0);
    if (g != NULL && !*out && strcmp(g, "0") != 0 && strcmp(g, "false") != 0) {
        http_refuse(call, REFUSAL_INVALID, "invalid_parameter", "geometry",
                    "geometry is 1, true, 0 or false");
        return -1;
    }
    return 0;
}

void v1_list_kind(struct http_call *call, struct service *d, const struct entity_ops *ops)
{
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
    bool zones = ops->kind == RS_ZONE, geometry = false;
    if (zones && want_geometry(call, &geometry) != 0)
        return;

    /* Every query parameter other than the paging ones is a field filter. */
    struct list_filter f = {ops, json_object()};
    const char *names[] = {"after", "limit", "enterprise_id", "geometry"};
    size_t n_names = zones ? 4 : 3; /* "geometry" is a parameter of zone listings only */
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(http_call_request(call));
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    if (qs) {
        struct evkeyvalq params;
        TAILQ_INIT(&params);
        if (evhttp_parse_query_str(qs, &params) == 0) {
            for (struct evkeyval *kv = params.tqh_first; kv; kv = kv->next.tqe_next) {
                int paging = 0;
                for (size_t i = 0; i < n_names; i++)
                    paging |= strcmp(kv->key, names[i]) == 0;
                if (!paging)
                    json_object_set_new(f.want, kv->key, json_string(kv->value));
            }
        }
        evhttp_clear_headers(&params);
    }
    const void **page = calloc((size_t)limit, sizeof(*page));
    if (page == NULL || f.want == NULL) {
        free(page);
        json_decref(f.want);
        http_refuse(call, REFUSAL_INTERNAL, "internal", NULL, "out of memory");
        return;
    }
    size_t n = ops->list(d->registry, ent, http_call_query(call, "after"), (size_t)limit,
                         json_object_size(f.want) ? filter_entity : NULL, &f, page);
    json_t *items = json_array();
    /* With shapes, a page also ends once it holds V1_ZONE_PAGE_VERTICES vertices (always at
     * least one zone): the next page starts after the last zone listed. */
    size_t vertices = 0;
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        if (zones && geometry) {
            size_t v = zone_vertices(page[i]);
            if (i > 0 && vertices + v > V1_ZONE_PAGE_VERTICES) {
                n = i;
                cut = true;
                break;
            }
            vertices += v;
        }
        json_array_append_new(items, zones && !geometry ? zone_json_without_shape(page[i])
                                                        : ops->to_json(page[i]));
    }
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             cut || n == (size_t)limit ? ops->id(page[n - 1]) : NULL);
    free(page);
    json_decref(f.want);
    http_reply_json(call, 200, body);
}

void v1_get_one(struct http_call *call, struct service *d, const struct entity_ops *ops)
{
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    const void *e = id ? ops->get(d->registry, id) : NULL;
    /* Scope first: a dispatcher learns nothing about another enterprise's ids. */
    if (e == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, auth_default_enterprise(p)) != 0)
            return;
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no %s with id %.64s", ops->name,
                    id ? id : "");
        return;
    }
    /* Another enterprise's entity looks exactly like a missing one to a dispatcher (and to an
     * auditor outside its jurisdiction). */
    if (!auth_sees_enterprise(p, ops->enterprise(e)))
        e = NULL;
    if (e == NULL) {
        http_refuse(call, REFUSAL_NOT_FOUND, "not_found", NULL, "no %s with id %.64s", ops->name,
                    id);
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, ops->enterprise(e)) != 0)
        return;
    http_reply_json(call, 200, ops->to_json(e));
}

/* ---- create / patch: app/registry_writes.h ---- */

static void on_write_done(void *arg, json_t *entity, int created, const struct refusal *r)
{
    struct http_call *call = arg;
    if (r)
        http_reply_refusal(call, r);
    else
        http_reply_json(call, created ? 201 : 200, entity);
}

static void submit_write(struct http_call *call, struct service *d, const struct entity_ops *ops,
                         int is_patch)
{
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    struct refusal r;
    if (registry_write(d, p, ops->kind, http_call_param(call, "id"), body, is_patch, on_write_done,
                       call, &r) != 0)
        http_reply_refusal(call, &r);
}

/* DELETE /v1/stations/{id}: 200 with the station as it was; 409 station_in_use while a vehicle
 * names it. */
static void delete_station(struct http_call *call, void *ctx)
{
    struct service *d = http_service(ctx);
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    struct refusal r;
    if (registry_delete_station(d, p, http_call_param(call, "id"), on_write_done, call, &r) != 0)
        http_reply_refusal(call, &r);
}

/* ---- routes: one set of handlers per kind ---- */

#define KIND_HANDLERS(kind, KIND)                                                                  \
    static void list_##kind(struct http_call *c, void *d)                                          \
    {                                                                                              \
        v1_list_kind(c, http_service(d), &entity_ops[KIND]);                                       \
    }                                                                                              \
    static void get_##kind(struct http_call *c, void *d)                                           \
    {                                                                                              \
        v1_get_one(c, http_service(d), &entity_ops[KIND]);                                         \
    }                                                                                              \
    static void create_##kind(struct http_call *c, void *d)                                        \
    {                                                                                              \
        submit_write(c, http_service(d), &entity_ops[KIND], 0);                                    \
    }                                                                                              \
    static void patch_##kind(struct http_call *c, void *d)                                         \
    {                                                                                              \
        submit_write(c, http_service(d), &entity_ops[KIND], 1);                                    \
    }

KIND_HANDLERS(enterprises, RS_ENTERPRISE)
KIND_HANDLERS(zones, RS_ZONE)
KIND_HANDLERS(staff, RS_STAFF)
KIND_HANDLERS(vehicles, RS_VEHICLE)
KIND_HANDLERS(customers, RS_CUSTOMER)
KIND_HANDLERS(cylinders, RS_CYLINDER)
KIND_HANDLERS(stations, RS_STATION)

#define KIND_ROUTES(kind, path)                                                                    \
    {"GET", "/v1/" path, list_##kind, HTTP_ROUTE_READ},                                            \
        {"POST", "/v1/" path, create_##kind, HTTP_ROUTE_WRITE},                                    \
    {                                                                                              \
        "GET", "/v1/" path "/{id}", get_##kind, HTTP_ROUTE_READ                                    \
    }

const struct http_route v1_registry_routes[] = {
    KIND_ROUTES(enterprises, "enterprises"),
    KIND_ROUTES(zones, "zones"),
    KIND_ROUTES(staff, "staff"),
    {"PATCH", "/v1/staff/{id}", patch_staff, HTTP_ROUTE_WRITE},
    KIND_ROUTES(vehicles, "vehicles"),
    {"PATCH", "/v1/vehicles/{id}", patch_vehicles, HTTP_ROUTE_WRITE},
    KIND_ROUTES(customers, "customers"),
    {"PATCH", "/v1/customers/{id}", patch_customers, HTTP_ROUTE_WRITE},
    KIND_ROUTES(cylinders, "cylinders"),
    {"PATCH", "/v1/cylinders/{id}", patch_cylinders, HTTP_ROUTE_WRITE},
    KIND_ROUTES(stations, "stations"),
    {"PATCH", "/v1/stations/{id}", patch_stations, HTTP_ROUTE_WRITE},
    {"DELETE", "/v1/stations/{id}", delete_station, HTTP_ROUTE_WRITE},
};
const size_t v1_registry_routes_count = sizeof(v1_registry_routes) / sizeof(v1_registry_routes[0]);

/* Unused handlers of kinds without PATCH would warn; reference them in one place. */
static void (*const unused_patch_handlers[])(struct http_call *, void *)
    __attribute__((unused)) = {patch_enterprises, patch_zones};
