/* entity.c -- the per-kind operations table and changesets (entity.h). */
#include "core/entity.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- destroy: entities with geometry own arrays besides the struct ---- */

static void destroy_plain(void *e)
{
    free(e);
}

static void destroy_enterprise(void *e)
{
    struct lpg_enterprise *x = e;
    if (x)
        lpg_geometry_free(&x->area);
    free(x);
}

static void destroy_zone(void *e)
{
    struct lpg_zone *x = e;
    if (x)
        lpg_geometry_free(&x->shape);
    free(x);
}

static void destroy_station(void *e)
{
    struct lpg_station *x = e;
    if (x)
        lpg_geometry_free(&x->shape);
    free(x);
}

/* ---- one set of adapters per kind (casts from void * in one place) ---- */

#define ENTITY_ADAPTERS(kind, type, ENT_FIELD)                                                     \
    static json_t *to_json_##kind(const void *e)                                                   \
    {                                                                                              \
        return lpg_json_from_##kind((const struct type *)e);                                       \
    }                                                                                              \
    static int from_json_##kind(const json_t *in, void *out, struct lpg_json_error *err)           \
    {                                                                                              \
        return lpg_json_to_##kind(in, (struct type *)out, err);                                    \
    }                                                                                              \
    static const void *get_##kind(const struct registry *reg, const char *id)                      \
    {                                                                                              \
        return registry_##kind(reg, id);                                                           \
    }                                                                                              \
    static int put_##kind(struct registry *reg, void *e)                                           \
    {                                                                                              \
        return registry_put_##kind(reg, (struct type *)e);                                         \
    }                                                                                              \
    static void *dup_##kind(const void *e)                                                         \
    {                                                                                              \
        return lpg_##kind##_dup((const struct type *)e);                                           \
    }                                                                                              \
    static const char *id_##kind(const void *e)                                                    \
    {                                                                                              \
        return ((const struct type *)e)->id;                                                       \
    }                                                                                              \
    static const char *enterprise_##kind(const void *e)                                            \
    {                                                                                              \
        return ((const struct type *)e)->ENT_FIELD;                                                \
    }                                                                                              \
    static void stamp_##kind(void *e, int64_t now_ms)                                              \
    {                                                                                              \
        ((struct type *)e)->created_ms = now_ms;                                                   \
    }

ENTITY_ADAPTERS(enterprise, lpg_enterprise, id)
ENTITY_ADAPTERS(zone, lpg_zone, enterprise_id)
ENTITY_ADAPTERS(staff, lpg_staff, enterprise_id)
ENTITY_ADAPTERS(vehicle, lpg_vehicle, enterprise_id)
ENTITY_ADAPTERS(customer, lpg_customer, enterprise_id)
ENTITY_ADAPTERS(order, lpg_order, enterprise_id)
ENTITY_ADAPTERS(cylinder, lpg_cylinder, enterprise_id)
ENTITY_ADAPTERS(station, lpg_station, enterprise_id)

/* Hazards have no client input form: they are created by failed safety checks only. */
static json_t *to_json_hazard(const void *e)
{
    return lpg_json_from_hazard((const struct lpg_hazard *)e);
}
static int from_json_hazard(const json_t *in, void *out, struct lpg_json_error *err)
{
    (void)in;
    (void)out;
    if (err) {
        err->code = "read_only_field";
        err->field[0] = '\0';
        snprintf(err->message, sizeof(err->message),
                 "hazard notices are issued by failed safety checks, not created by clients");
    }
    return -1;
}
static const void *get_hazard(const struct registry *reg, const char *id)
{
    return registry_hazard(reg, id);
}
static int put_hazard(struct registry *reg, void *e)
{
    return registry_put_hazard(reg, (struct lpg_hazard *)e);
}
static void *dup_hazard(const void *e)
{
    return lpg_hazard_dup((const struct lpg_hazard *)e);
}
static const char *id_hazard(const void *e)
{
    return ((const struct lpg_hazard *)e)->id;
}
static const char *enterprise_hazard(const void *e)
{
    return ((const struct lpg_hazard *)e)->enterprise_id;
}
static void stamp_hazard(void *e, int64_t now_ms)
{
    ((struct lpg_hazard *)e)->created_ms = now_ms;
}

static int patch_staff(const json_t *in, void *e, struct lpg_json_error *err)
{
    return lpg_json_patch_staff(in, e, err);
}
static int patch_vehicle(const json_t *in, void *e, struct lpg_json_error *err)
{
    return lpg_json_patch_vehicle(in, e, err);
}
static int patch_customer(const json_t *in, void *e, struct lpg_json_error *err)
{
    return lpg_json_patch_customer(in, e, err);
}
static int patch_cylinder(const json_t *in, void *e, struct lpg_json_error *err)
{
    return lpg_json_patch_cylinder(in, e, err);
}
static int patch_station(const json_t *in, void *e, struct lpg_json_error *err)
{
    return lpg_json_patch_station(in, e, err);
}

static size_t list_enterprise(const struct registry *reg, const char *ent, const char *after,
                              size_t limit, registry_filter_fn *filter, void *arg, const void **out)
{
    /* Enterprises are few; the enterprise scope of an enterprise is itself. */
    const struct lpg_enterprise **page = (const struct lpg_enterprise **)out;
    size_t n = 0;
    const char *cursor = after;
    while (n < limit) {
        const struct lpg_enterprise *one[1];
        if (registry_list_enterprises(reg, cursor, 1, one) == 0)
            break;
        cursor = one[0]->id;
        if (ent && strcmp(one[0]->id, ent) != 0)
            continue;
        if (filter && !filter(one[0], arg))
            continue;
        page[n++] = one[0];
    }
    return n;
}

#define LISTER(kind, type, fn)                                                                     \
    static size_t list_##kind(const struct registry *reg, const char *ent, const char *after,      \
                              size_t limit, registry_filter_fn *filter, void *arg,                 \
                              const void **out)                                                    \
    {                                                                                              \
        return fn(reg, ent, after, limit, filter, arg, (const struct type **)out);                 \
    }

LISTER(zone, lpg_zone, registry_list_zones)
LISTER(staff, lpg_staff, registry_list_staff)
LISTER(vehicle, lpg_vehicle, registry_list_vehicles)
LISTER(customer, lpg_customer, registry_list_customers)
LISTER(order, lpg_order, registry_list_orders)
LISTER(cylinder, lpg_cylinder, registry_list_cylinders)
LISTER(hazard, lpg_hazard, registry_list_hazards)
LISTER(station, lpg_station, registry_list_stations)

#define ROW(KIND, kind, type, plural, patch, destroy)                                              \
    [KIND] = {KIND,                                                                                \
              #kind,                                                                               \
              plural,                                                                              \
              sizeof(struct type),                                                                 \
              to_json_##kind,                                                                      \
              from_json_##kind,                                                                    \
              patch,                                                                               \
              get_##kind,                                                                          \
              put_##kind,                                                                          \
              dup_##kind,                                                                          \
              destroy,                                                                             \
              id_##kind,                                                                           \
              enterprise_##kind,                                                                   \
              stamp_##kind,                                                                        \
              list_##kind}

const struct entity_ops entity_ops[RS_KIND_COUNT] = {
    ROW(RS_ENTERPRISE, enterprise, lpg_enterprise, "enterprises", NULL, destroy_enterprise),
    ROW(RS_ZONE, zone, lpg_zone, "zones", NULL, destroy_zone),
    ROW(RS_STAFF, staff, lpg_staff, "staff", patch_staff, destroy_plain),
    ROW(RS_VEHICLE, vehicle, lpg_vehicle, "vehicles", patch_vehicle, destroy_plain),
    ROW(RS_CUSTOMER, customer, lpg_customer, "customers", patch_customer, destroy_plain),
    ROW(RS_ORDER, order, lpg_order, "orders", NULL, destroy_plain),
    ROW(RS_CYLINDER, cylinder, lpg_cylinder, "cylinders", patch_cylinder, destroy_plain),
    ROW(RS_HAZARD, hazard, lpg_hazard, "hazards", NULL, destroy_plain),
    ROW(RS_STATION, station, lpg_station, "stations", patch_station, destroy_station),
};

/* ---- changesets ---- */

/* The table is indexed by kind, and every row says which kind it is. */
static const struct entity_ops *ops_of(enum rs_kind kind)
{
    assert((unsigned)kind < RS_KIND_COUNT && entity_ops[kind].kind == kind);
    return &entity_ops[kind];
}

void *changeset_find(struct changeset *cs, enum rs_kind kind, const char *id)
{
    assert(cs->n <= cs->cap);
    (void)ops_of(kind);
    for (size_t i = 0; i < cs->n; i++)
        if (cs->items[i].kind == kind && strcmp(entity_ops[kind].id(cs->items[i].entity), id) == 0)
            return cs->items[i].entity;
    return NULL;
}

int changeset_add(struct changeset *cs, enum rs_kind kind, void *entity)
{
    assert(entity != NULL && cs->n <= cs->cap);
    (void)ops_of(kind);
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->items[i].kind == kind &&
            strcmp(entity_ops[kind].id(cs->items[i].entity), entity_ops[kind].id(entity)) == 0) {
            if (cs->items[i].entity != entity)
                entity_ops[kind].destroy(cs->items[i].entity);
            cs->items[i].entity = entity;
            return 0;
        }
    }
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 8;
        struct changeset_item *items =
            cs->n < CHANGESET_LIMIT ? realloc(cs->items, cap * sizeof(*items)) : NULL;
        if (items == NULL) {
            entity_ops[kind].destroy(entity);
            return -1;
        }
        cs->items = items;
        cs->cap = cap;
    }
    assert(cs->n < cs->cap);
    cs->items[cs->n].kind = kind;
    cs->items[cs->n].entity = entity;
    cs->n++;
    return 0;
}

int changeset_apply(struct changeset *cs, struct registry *reg)
{
    int rc = 0;
    for (size_t i = 0; i < cs->n; i++)
        if (ops_of(cs->items[i].kind)->put(reg, cs->items[i].entity) != 0)
            rc = -1; /* put frees the entity on failure */
    free(cs->items);
    memset(cs, 0, sizeof(*cs));
    return rc;
}

void changeset_discard(struct changeset *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        ops_of(cs->items[i].kind)->destroy(cs->items[i].entity);
    free(cs->items);
    memset(cs, 0, sizeof(*cs));
}
