/* http_v1_registry.c -- the registry over HTTP: enterprises, zones, staff, vehicles and
 * customers (docs/http-api.md, "Registry").
 *
 *   GET   /v1/{kind}        list, paged by id (?after=&limit=), scoped, filterable by any
 *                           scalar field (?on_duty=true&zone_id=Z1); zones without their
 *                           shape unless ?geometry=1, then at most V1_ZONE_PAGE_VERTICES
 *                           vertices a page
 *   POST  /v1/{kind}        create (201); a dispatcher's enterprise_id defaults to its own
 *   GET   /v1/{kind}/{id}   one
 *   PATCH /v1/{kind}/{id}   change the fields present (staff, vehicles, customers)
 *
 * Consistency across entities is checked in the writer job, against the registry as it is
 * when the change is committed (registry_rules.h, shared with the bulk import): a zone lies
 * within its enterprise's licensed area; a person's zone and vehicle belong to the same
 * enterprise; a vehicle is bound to at most one person, and both sides of a binding are kept
 * in step in the same transaction.
 */
#define LOG_TAG "http"
#include "http/http_v1.h"

#include "app/dispatcher.h"
#include "common/clock.h"
#include "store/accounts.h"
#include "store/entity.h"
#include "handset/handset_server.h"
#include "common/log.h"
#include "core/registry.h"
#include "core/registry_rules.h"
#include "store/writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include "lpg/v1/envelope.pb-c.h"
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
        http_reply_error(call, 400, "invalid_parameter", "geometry is 1, true, 0 or false",
                         "geometry");
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
    if (p->role == AUTH_ROLE_DISPATCHER && ent == NULL)
        ent = p->enterprise_id;
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
        http_reply_error(call, 500, "internal", "out of memory", NULL);
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
        if (v1_allow(call, d, p, AUTH_READ,
                     p->role == AUTH_ROLE_DISPATCHER ? p->enterprise_id : NULL) != 0)
            return;
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s with id %.64s", ops->name, id ? id : "");
        http_reply_error(call, 404, "not_found", msg, NULL);
        return;
    }
    /* Another enterprise's entity looks exactly like a missing one to a dispatcher. */
    if (p->role == AUTH_ROLE_DISPATCHER && strcmp(ops->enterprise(e), p->enterprise_id) != 0)
        e = NULL;
    if (e == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s with id %.64s", ops->name, id);
        http_reply_error(call, 404, "not_found", msg, NULL);
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, ops->enterprise(e)) != 0)
        return;
    http_reply_json(call, 200, ops->to_json(e));
}

/* ---- consistency across entities: registry_rules.h, in the writer ---- */

static int write_status(const char *code)
{
    if (strcmp(code, "already_exists") == 0 || strcmp(code, "vehicle_already_bound") == 0 ||
        strcmp(code, "staff_already_bound") == 0)
        return 409;
    if (strcmp(code, "internal") == 0)
        return 500;
    if (strcmp(code, "not_found") == 0)
        return 404;
    if (strcmp(code, "wrong_enterprise") == 0)
        return 422; /* a reference to another enterprise's entity: invalid input */
    if (strcmp(code, "zone_outside_service_area") == 0 || strcmp(code, "unknown_reference") == 0 ||
        strcmp(code, "invalid_geometry") == 0)
        return 422;
    return 400;
}

/* ---- create / patch through the writer ---- */

struct write_job {
    struct service *d;
    struct http_call *call;
    const struct entity_ops *ops;
    struct auth_principal principal;
    json_t *body; /* create: the entity; patch: the changes */
    char id[LPG_ID_MAX + 1];
    int is_patch;
    struct changeset cs;
    void *entity;                    /* the written entity (in cs) */
    char old_device[LPG_ID_MAX + 1]; /* a staff member's handset before the change */
};

static void write_job_free(struct write_job *job)
{
    changeset_discard(&job->cs);
    json_decref(job->body);
    free(job);
}

static void cancel_write(void *arg)
{
    write_job_free(arg);
}

static void on_written(void *arg, const struct redisReply *reply, const char *err)
{
    struct write_job *job = arg;
    if (err || reply->type != REDIS_REPLY_ARRAY) {
        v1_reply_store_refused(job->call, err ? err : "the store refused the change");
        write_job_free(job);
        return;
    }
    json_t *out = job->ops->to_json(job->entity);
    /* A person's handset replaced (or removed) here: its open session ends now, as with
     * POST /v1/devices. */
    if (job->ops->kind == RS_STAFF && job->old_device[0] &&
        strcmp(job->old_device, ((const struct lpg_staff *)job->entity)->device_id) != 0) {
        struct handset_conn *c = handset_server_find_device(job->d->handset, job->old_device);
        /* Only a session of this very person: a handset never answers for someone else. */
        if (c && strcmp(handset_conn_staff(c), job->id) == 0)
            handset_conn_error(c, LPG__V1__ERROR__CODE__UNAUTHORIZED,
                               "this handset was replaced; log in with the new device", 0, 0, 1);
    }
    if (changeset_apply(&job->cs, job->d->registry) != 0)
        log_error("out of memory applying a stored change to the registry");
    log_info("%s %s %s by %s", job->ops->name, job->id, job->is_patch ? "changed" : "created",
             job->principal.user);
    http_reply_json(job->call, job->is_patch ? 200 : 201, out);
    /* Staff, vehicles and customers decide who can take waiting orders. */
    dispatcher_rematch(job->d);
    write_job_free(job);
}

static void run_write(struct writer *w, void *arg)
{
    struct write_job *job = arg;
    struct service *d = job->d;
    const struct entity_ops *ops = job->ops;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    const void *old = ops->get(d->registry, job->id);
    void *e = NULL;
    if (old && ops->kind == RS_STAFF)
        snprintf(job->old_device, sizeof(job->old_device), "%s",
                 ((const struct lpg_staff *)old)->device_id);

    if (job->is_patch) {
        if (old && v1_hidden(&job->principal, ops->enterprise(old)))
            old = NULL; /* another enterprise's: exactly like a missing one */
        if (old == NULL ||
            v1_allow(job->call, d, &job->principal, AUTH_WRITE, ops->enterprise(old)) != 0) {
            if (old == NULL) {
                char msg[160];
                snprintf(msg, sizeof(msg), "no %s with id %s", ops->name, job->id);
                http_reply_error(job->call, 404, "not_found", msg, NULL);
            }
            writer_finish(w);
            write_job_free(job);
            return;
        }
        e = ops->dup(old);
        if (e == NULL || ops->patch(job->body, e, &err) != 0) {
            if (e == NULL)
                err.code = "internal";
            if (e)
                ops->destroy(e);
            writer_finish(w);
            http_reply_error(job->call, write_status(err.code), err.code,
                             e ? err.message : "out of memory", err.field[0] ? err.field : NULL);
            write_job_free(job);
            return;
        }
    } else {
        e = calloc(1, ops->size);
        if (e == NULL || ops->from_json(job->body, e, &err) != 0) {
            if (e == NULL)
                snprintf(err.message, sizeof(err.message), "out of memory");
            const char *code = e == NULL ? "internal" : err.code ? err.code : "invalid_field";
            free(e);
            writer_finish(w);
            /* As v1_reply_json_error, but a shape that is not a simple polygon is 422. */
            http_reply_error(job->call, write_status(code), code, err.message,
                             err.field[0] ? err.field : NULL);
            write_job_free(job);
            return;
        }
        if (old != NULL) {
            /* The answer is the same whoever holds the id (one namespace per kind,
             * docs/http-api.md "Ids: one namespace, the same answer"); the log tells an
             * operator when a dispatcher keeps hitting another enterprise's ids. */
            if (v1_hidden(&job->principal, ops->enterprise(old)))
                log_info("%s %s: create by %s refused: the id is taken in another enterprise",
                         ops->name, job->id, job->principal.user);
            ops->destroy(e);
            writer_finish(w);
            char msg[160];
            snprintf(msg, sizeof(msg), "a %s with id %s exists", ops->name, job->id);
            http_reply_error(job->call, 409, "already_exists", msg, "id");
            write_job_free(job);
            return;
        }
        ops->stamp(e, lpg_now_ms());
    }
    job->entity = e;
    if (changeset_add(&job->cs, ops->kind, e) != 0 ||
        registry_rules_check(&(struct registry_rules_view){.reg = d->registry,
                                                           .device = accounts_device_lookup,
                                                           .device_arg = d->accounts},
                             ops->kind, e, old, &job->cs, &err) != 0) {
        if (err.code == NULL)
            err.code = "internal";
        writer_finish(w);
        http_reply_error(job->call, write_status(err.code), err.code, err.message,
                         err.field[0] ? err.field : NULL);
        write_job_free(job);
        return;
    }
    struct store_txn *txn = store_txn_new();
    const char *why = "out of memory";
    if (txn == NULL || changeset_save(&job->cs, d->store, txn) != 0) {
        store_txn_free(txn);
        writer_finish(w);
        http_reply_error(job->call, 500, "internal", why, NULL);
        write_job_free(job);
        return;
    }
    if (writer_commit(w, txn, on_written, job, &why) != 0) {
        v1_reply_store_refused(job->call, why);
        write_job_free(job);
    }
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
    const char *id =
        is_patch ? http_call_param(call, "id") : json_string_value(json_object_get(body, "id"));
    if (!is_patch) {
        /* A dispatcher works in its own enterprise: fill it in when omitted. */
        if (ops->kind != RS_ENTERPRISE && p->role == AUTH_ROLE_DISPATCHER &&
            json_object_get(body, "enterprise_id") == NULL)
            json_object_set_new(body, "enterprise_id", json_string(p->enterprise_id));
        const char *ent = ops->kind == RS_ENTERPRISE
                              ? NULL
                              : json_string_value(json_object_get(body, "enterprise_id"));
        /* Enterprises are created by admins; everything else within one's enterprise. */
        if (v1_allow(call, d, p, ops->kind == RS_ENTERPRISE ? AUTH_ADMIN : AUTH_WRITE,
                     ent && lpg_id_valid(ent) ? ent : NULL) != 0) {
            json_decref(body);
            return;
        }
    }
    if (id == NULL || !lpg_id_valid(id)) {
        json_decref(body);
        http_reply_error(call, 400, id ? "invalid_field" : "missing_field",
                         "id must be 1..64 characters of [A-Za-z0-9_.-]", "id");
        return;
    }
    struct write_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        json_decref(body);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
        return;
    }
    job->d = d;
    job->call = call;
    job->ops = ops;
    job->principal = *p;
    job->body = body;
    job->is_patch = is_patch;
    snprintf(job->id, sizeof(job->id), "%s", id);
    if (writer_submit(d->writer, run_write, cancel_write, job) != 0) {
        write_job_free(job);
        http_reply_error(call, 500, "internal", "out of memory", NULL);
    }
}

/* ---- routes: one set of handlers per kind ---- */

#define KIND_HANDLERS(kind, KIND)                                                                  \
    static void list_##kind(struct http_call *c, void *d)                                          \
    {                                                                                              \
        v1_list_kind(c, d, &entity_ops[KIND]);                                                     \
    }                                                                                              \
    static void get_##kind(struct http_call *c, void *d)                                           \
    {                                                                                              \
        v1_get_one(c, d, &entity_ops[KIND]);                                                       \
    }                                                                                              \
    static void create_##kind(struct http_call *c, void *d)                                        \
    {                                                                                              \
        submit_write(c, d, &entity_ops[KIND], 0);                                                  \
    }                                                                                              \
    static void patch_##kind(struct http_call *c, void *d)                                         \
    {                                                                                              \
        submit_write(c, d, &entity_ops[KIND], 1);                                                  \
    }

KIND_HANDLERS(enterprises, RS_ENTERPRISE)
KIND_HANDLERS(zones, RS_ZONE)
KIND_HANDLERS(staff, RS_STAFF)
KIND_HANDLERS(vehicles, RS_VEHICLE)
KIND_HANDLERS(customers, RS_CUSTOMER)
KIND_HANDLERS(cylinders, RS_CYLINDER)

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
};
const size_t v1_registry_routes_count = sizeof(v1_registry_routes) / sizeof(v1_registry_routes[0]);

/* Unused handlers of kinds without PATCH would warn; reference them in one place. */
static void (*const unused_patch_handlers[])(struct http_call *, void *)
    __attribute__((unused)) = {patch_enterprises, patch_zones};
