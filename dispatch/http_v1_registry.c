/* http_v1_registry.c -- the registry over HTTP: enterprises, zones, staff, vehicles and
 * customers (docs/http-api.md, "Registry").
 *
 *   GET   /v1/{kind}        list, paged by id (?after=&limit=), scoped, filterable by any
 *                           scalar field (?on_duty=true&zone_id=Z1)
 *   POST  /v1/{kind}        create (201); a dispatcher's enterprise_id defaults to its own
 *   GET   /v1/{kind}/{id}   one
 *   PATCH /v1/{kind}/{id}   change the fields present (staff, vehicles, customers)
 *
 * Consistency across entities is checked in the writer job, against the registry as it is
 * when the change is committed: a zone lies within its enterprise's licensed area; a person's
 * zone and vehicle belong to the same enterprise; a vehicle is bound to at most one person,
 * and both sides of a binding are kept in step in the same transaction.
 */
#define LOG_TAG "http"
#include "http_v1.h"

#include "dispatcher.h"
#include "entity.h"
#include "log.h"
#include "registry.h"
#include "writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
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

static bool filter_entity(const void *entity, void *arg)
{
    struct list_filter *f = arg;
    json_t *j = f->ops->to_json(entity);
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

void v1_list_kind(struct http_call *call, struct dispatchd *d, const struct entity_ops *ops)
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

    /* Every query parameter other than the paging ones is a field filter. */
    struct list_filter f = {ops, json_object()};
    const char *names[] = {"after", "limit", "enterprise_id"};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(http_call_request(call));
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    if (qs) {
        struct evkeyvalq params;
        TAILQ_INIT(&params);
        if (evhttp_parse_query_str(qs, &params) == 0) {
            for (struct evkeyval *kv = params.tqh_first; kv; kv = kv->next.tqe_next) {
                int paging = 0;
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
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
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, ops->to_json(page[i]));
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == (size_t)limit ? ops->id(page[n - 1]) : NULL);
    free(page);
    json_decref(f.want);
    http_reply_json(call, 200, body);
}

void v1_get_one(struct http_call *call, struct dispatchd *d, const struct entity_ops *ops)
{
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    const char *id = http_call_param(call, "id");
    const void *e = id ? ops->get(d->registry, id) : NULL;
    /* Scope first: a dispatcher learns nothing about another enterprise's ids. */
    if (e == NULL) {
        if (v1_allow(call, d, p, AUTH_READ, p->role == AUTH_ROLE_DISPATCHER ? p->enterprise_id
                                                                            : NULL) != 0)
            return;
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s with id %.64s", ops->name, id ? id : "");
        http_reply_error(call, 404, "not_found", msg, NULL);
        return;
    }
    if (v1_allow(call, d, p, AUTH_READ, ops->enterprise(e)) != 0)
        return;
    http_reply_json(call, 200, ops->to_json(e));
}

/* ---- consistency across entities (in the writer, against the current registry) ---- */

static int fail(struct lpg_json_error *err, const char *code, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct lpg_json_error *err, const char *code, const char *field, const char *fmt,
                ...)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int check_enterprise_exists(struct dispatchd *d, const char *ent,
                                   struct lpg_json_error *err)
{
    if (registry_enterprise(d->registry, ent) == NULL)
        return fail(err, "unknown_reference", "enterprise_id", "no enterprise with id %s", ent);
    return 0;
}

/* Binds person `staff_id` and vehicle `vehicle_id` (either may be ""), unbinding whatever each
 * was bound to before, adding every changed entity to cs. The entity being written is already
 * in cs. */
static int rebind(struct dispatchd *d, struct changeset *cs, const char *ent, const char *staff_id,
                  const char *old_vehicle, const char *vehicle_id, struct lpg_json_error *err)
{
    /* Unbind the person's previous vehicle. */
    if (old_vehicle[0] && strcmp(old_vehicle, vehicle_id) != 0) {
        struct lpg_vehicle *ov = changeset_find(cs, RS_VEHICLE, old_vehicle);
        if (ov == NULL) {
            const struct lpg_vehicle *cur = registry_vehicle(d->registry, old_vehicle);
            ov = cur ? lpg_vehicle_dup(cur) : NULL;
            if (ov && changeset_add(cs, RS_VEHICLE, ov) != 0)
                return fail(err, "internal", NULL, "too many changes");
        }
        if (ov && strcmp(ov->staff_id, staff_id) == 0)
            ov->staff_id[0] = '\0';
    }
    if (vehicle_id[0] == '\0')
        return 0;
    struct lpg_vehicle *nv = changeset_find(cs, RS_VEHICLE, vehicle_id);
    if (nv == NULL) {
        const struct lpg_vehicle *cur = registry_vehicle(d->registry, vehicle_id);
        if (cur == NULL)
            return fail(err, "unknown_reference", "vehicle_id", "no vehicle with id %s",
                        vehicle_id);
        nv = lpg_vehicle_dup(cur);
        if (nv == NULL || changeset_add(cs, RS_VEHICLE, nv) != 0)
            return fail(err, "internal", NULL, "out of memory");
    }
    if (strcmp(nv->enterprise_id, ent) != 0)
        return fail(err, "wrong_enterprise", "vehicle_id",
                    "vehicle %s belongs to another enterprise", vehicle_id);
    if (nv->staff_id[0] && strcmp(nv->staff_id, staff_id) != 0)
        return fail(err, "vehicle_already_bound", "vehicle_id",
                    "vehicle %s is bound to %s; unbind it first (one person per vehicle)",
                    vehicle_id, nv->staff_id);
    snprintf(nv->staff_id, sizeof(nv->staff_id), "%s", staff_id);
    return 0;
}

/* The mirror for a vehicle write: its person's vehicle_id follows vehicle.staff_id. */
static int rebind_from_vehicle(struct dispatchd *d, struct changeset *cs,
                               const struct lpg_vehicle *v, const char *old_staff,
                               struct lpg_json_error *err)
{
    if (old_staff[0] && strcmp(old_staff, v->staff_id) != 0) {
        const struct lpg_staff *cur = registry_staff(d->registry, old_staff);
        struct lpg_staff *os = cur ? lpg_staff_dup(cur) : NULL;
        if (os) {
            if (strcmp(os->vehicle_id, v->id) == 0)
                os->vehicle_id[0] = '\0';
            if (changeset_add(cs, RS_STAFF, os) != 0)
                return fail(err, "internal", NULL, "too many changes");
        }
    }
    if (v->staff_id[0] == '\0')
        return 0;
    const struct lpg_staff *cur = registry_staff(d->registry, v->staff_id);
    if (cur == NULL)
        return fail(err, "unknown_reference", "staff_id", "no staff member with id %s",
                    v->staff_id);
    if (strcmp(cur->enterprise_id, v->enterprise_id) != 0)
        return fail(err, "wrong_enterprise", "staff_id",
                    "staff member %s belongs to another enterprise", v->staff_id);
    if (cur->vehicle_id[0] && strcmp(cur->vehicle_id, v->id) != 0)
        return fail(err, "staff_already_bound", "staff_id",
                    "%s is bound to vehicle %s; unbind it first (one vehicle per person)",
                    v->staff_id, cur->vehicle_id);
    struct lpg_staff *ns = lpg_staff_dup(cur);
    if (ns == NULL || changeset_add(cs, RS_STAFF, ns) != 0)
        return fail(err, "internal", NULL, "out of memory");
    snprintf(ns->vehicle_id, sizeof(ns->vehicle_id), "%s", v->id);
    return 0;
}

/* Validates entity e (new version; old: the stored one or NULL) and adds the companion changes
 * to cs. Returns 0, or -1 with err (code decides the status: see write_status()). */
static int check_consistency(struct dispatchd *d, enum rs_kind kind, void *e, const void *old,
                             struct changeset *cs, struct lpg_json_error *err)
{
    switch (kind) {
    case RS_ENTERPRISE:
        return 0;
    case RS_ZONE: {
        struct lpg_zone *z = e;
        const struct lpg_enterprise *ent = registry_enterprise(d->registry, z->enterprise_id);
        if (ent == NULL)
            return check_enterprise_exists(d, z->enterprise_id, err);
        if (!lpg_geometry_within(&z->shape, &ent->area))
            return fail(err, "zone_outside_service_area", "shape",
                        "zone %s does not lie within the licensed service area of %s", z->id,
                        ent->id);
        return 0;
    }
    case RS_STAFF: {
        struct lpg_staff *s = e;
        const struct lpg_staff *o = old;
        if (check_enterprise_exists(d, s->enterprise_id, err) != 0)
            return -1;
        if (s->zone_id[0]) {
            const struct lpg_zone *z = registry_zone(d->registry, s->zone_id);
            if (z == NULL)
                return fail(err, "unknown_reference", "zone_id", "no zone with id %s",
                            s->zone_id);
            if (strcmp(z->enterprise_id, s->enterprise_id) != 0)
                return fail(err, "wrong_enterprise", "zone_id",
                            "zone %s belongs to another enterprise", s->zone_id);
        }
        return rebind(d, cs, s->enterprise_id, s->id, o ? o->vehicle_id : "", s->vehicle_id, err);
    }
    case RS_VEHICLE: {
        struct lpg_vehicle *v = e;
        const struct lpg_vehicle *o = old;
        if (check_enterprise_exists(d, v->enterprise_id, err) != 0)
            return -1;
        return rebind_from_vehicle(d, cs, v, o ? o->staff_id : "", err);
    }
    case RS_CUSTOMER:
        return check_enterprise_exists(d, ((struct lpg_customer *)e)->enterprise_id, err);
    default:
        return 0;
    }
}

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
        return 403;
    if (strcmp(code, "zone_outside_service_area") == 0 || strcmp(code, "unknown_reference") == 0)
        return 422;
    return 400;
}

/* ---- create / patch through the writer ---- */

struct write_job {
    struct dispatchd *d;
    struct http_call *call;
    const struct entity_ops *ops;
    struct auth_principal principal;
    json_t *body;  /* create: the entity; patch: the changes */
    char id[LPG_ID_MAX + 1];
    int is_patch;
    struct changeset cs;
    void *entity; /* the written entity (in cs) */
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
    struct dispatchd *d = job->d;
    const struct entity_ops *ops = job->ops;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    const void *old = ops->get(d->registry, job->id);
    void *e = NULL;

    if (job->is_patch) {
        if (old == NULL || v1_allow(job->call, d, &job->principal, AUTH_WRITE,
                                    ops->enterprise(old)) != 0) {
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
            free(e);
            writer_finish(w);
            v1_reply_json_error(job->call, &err);
            write_job_free(job);
            return;
        }
        if (old != NULL) {
            ops->destroy(e);
            writer_finish(w);
            char msg[160];
            snprintf(msg, sizeof(msg), "a %s with id %s exists", ops->name, job->id);
            http_reply_error(job->call, 409, "already_exists", msg, "id");
            write_job_free(job);
            return;
        }
        ops->stamp(e, dispatchd_now_ms());
    }
    job->entity = e;
    if (changeset_add(&job->cs, ops->kind, e) != 0 ||
        check_consistency(d, ops->kind, e, old, &job->cs, &err) != 0) {
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

static void submit_write(struct http_call *call, struct dispatchd *d,
                         const struct entity_ops *ops, int is_patch)
{
    const struct auth_principal *p = v1_authenticate(call, d);
    if (p == NULL)
        return;
    json_t *body = http_call_json_body(call);
    if (body == NULL)
        return;
    const char *id = is_patch ? http_call_param(call, "id")
                              : json_string_value(json_object_get(body, "id"));
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
        v1_list_kind(c, d, &entity_ops[KIND]);                                                        \
    }                                                                                              \
    static void get_##kind(struct http_call *c, void *d)                                           \
    {                                                                                              \
        v1_get_one(c, d, &entity_ops[KIND]);                                                          \
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

#define KIND_ROUTES(kind, path)                                                                    \
    {"GET", "/v1/" path, list_##kind, HTTP_ROUTE_READ},                                            \
        {"POST", "/v1/" path, create_##kind, HTTP_ROUTE_WRITE},                                    \
        {"GET", "/v1/" path "/{id}", get_##kind, HTTP_ROUTE_READ}

const struct http_route v1_registry_routes[] = {
    KIND_ROUTES(enterprises, "enterprises"),
    KIND_ROUTES(zones, "zones"),
    KIND_ROUTES(staff, "staff"),
    {"PATCH", "/v1/staff/{id}", patch_staff, HTTP_ROUTE_WRITE},
    KIND_ROUTES(vehicles, "vehicles"),
    {"PATCH", "/v1/vehicles/{id}", patch_vehicles, HTTP_ROUTE_WRITE},
    KIND_ROUTES(customers, "customers"),
    {"PATCH", "/v1/customers/{id}", patch_customers, HTTP_ROUTE_WRITE},
};
const size_t v1_registry_routes_count = sizeof(v1_registry_routes) / sizeof(v1_registry_routes[0]);

/* Unused handlers of kinds without PATCH would warn; reference them in one place. */
static void (*const unused_patch_handlers[])(struct http_call *, void *) __attribute__((unused)) = {
    patch_enterprises, patch_zones};
