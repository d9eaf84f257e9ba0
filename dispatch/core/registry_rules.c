/* registry_rules.c -- consistency of a registry entity with the others (registry_rules.h).
 * Moved here from http_v1_registry.c so that single writes and bulk imports share one copy. */
#include "core/registry_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* The current version of (kind, id) outside the changeset: pending, else the registry. */
static const void *lookup(const struct registry_rules_view *view, enum rs_kind kind, const char *id)
{
    const void *e = view->pending ? view->pending(view->arg, kind, id) : NULL;
    return e ? e : entity_ops[kind].get(view->reg, id);
}

static int check_enterprise_exists(const struct registry_rules_view *view, const char *ent,
                                   struct lpg_json_error *err)
{
    if (registry_enterprise(view->reg, ent) == NULL)
        return fail(err, "unknown_reference", "enterprise_id", "no enterprise with id %s", ent);
    return 0;
}

/* A person's handset (device_id) can only be one registered for this very person by
 * POST /v1/devices (which checks the person's enterprise); choosing among those is what a
 * write of device_id does. Checked only when device_id changes, so that other changes of a
 * person never depend on the device table. One answer for a device id that does not exist and
 * for one registered to anybody else, in this enterprise or another: naming another
 * enterprise's handset is what let a dispatcher route its orders to that handset, and the
 * answer must not tell which ids exist elsewhere. */
static int check_device(const struct registry_rules_view *view, const struct lpg_staff *s,
                        const struct lpg_staff *old, struct lpg_json_error *err)
{
    if (s->device_id[0] == '\0' || (old && strcmp(old->device_id, s->device_id) == 0))
        return 0;
    const struct device_record *dev =
        view->device ? view->device(view->device_arg, s->device_id) : NULL;
    if (dev == NULL || strcmp(dev->staff_id, s->id) != 0 ||
        strcmp(dev->enterprise_id, s->enterprise_id) != 0)
        return fail(err, "unknown_reference", "device_id",
                    "no device %s registered for %s (POST /v1/devices registers one)", s->device_id,
                    s->id);
    return 0;
}

/* Binds person `staff_id` and vehicle `vehicle_id` (either may be ""), unbinding whatever each
 * was bound to before, adding every changed entity to cs. The entity being written is already
 * in cs. */
static int rebind(const struct registry_rules_view *view, struct changeset *cs, const char *ent,
                  const char *staff_id, const char *old_vehicle, const char *vehicle_id,
                  struct lpg_json_error *err)
{
    /* Unbind the person's previous vehicle. */
    if (old_vehicle[0] && strcmp(old_vehicle, vehicle_id) != 0) {
        struct lpg_vehicle *ov = changeset_find(cs, RS_VEHICLE, old_vehicle);
        if (ov == NULL) {
            const struct lpg_vehicle *cur = lookup(view, RS_VEHICLE, old_vehicle);
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
        const struct lpg_vehicle *cur = lookup(view, RS_VEHICLE, vehicle_id);
        /* Another enterprise's vehicle is answered exactly like a missing one. */
        if (cur == NULL || strcmp(cur->enterprise_id, ent) != 0)
            return fail(err, "unknown_reference", "vehicle_id",
                        "no vehicle with id %s in enterprise %s", vehicle_id, ent);
        nv = lpg_vehicle_dup(cur);
        if (nv == NULL || changeset_add(cs, RS_VEHICLE, nv) != 0)
            return fail(err, "internal", NULL, "out of memory");
    }
    if (strcmp(nv->enterprise_id, ent) != 0)
        return fail(err, "unknown_reference", "vehicle_id",
                    "no vehicle with id %s in enterprise %s", vehicle_id, ent);
    if (nv->staff_id[0] && strcmp(nv->staff_id, staff_id) != 0)
        return fail(err, "vehicle_already_bound", "vehicle_id",
                    "vehicle %s is bound to %s; unbind it first (one person per vehicle)",
                    vehicle_id, nv->staff_id);
    snprintf(nv->staff_id, sizeof(nv->staff_id), "%s", staff_id);
    return 0;
}

/* The mirror for a vehicle write: its person's vehicle_id follows vehicle.staff_id. */
static int rebind_from_vehicle(const struct registry_rules_view *view, struct changeset *cs,
                               const struct lpg_vehicle *v, const char *old_staff,
                               struct lpg_json_error *err)
{
    if (old_staff[0] && strcmp(old_staff, v->staff_id) != 0) {
        const struct lpg_staff *cur = changeset_find(cs, RS_STAFF, old_staff);
        if (cur == NULL)
            cur = lookup(view, RS_STAFF, old_staff);
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
    const struct lpg_staff *cur = changeset_find(cs, RS_STAFF, v->staff_id);
    if (cur == NULL)
        cur = lookup(view, RS_STAFF, v->staff_id);
    /* Another enterprise's person is answered exactly like a missing one. */
    if (cur == NULL || strcmp(cur->enterprise_id, v->enterprise_id) != 0)
        return fail(err, "unknown_reference", "staff_id",
                    "no staff member with id %s in enterprise %s", v->staff_id, v->enterprise_id);
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

/* The current version of vehicle `id` for this write: the changeset, else lookup(). */
static const struct lpg_vehicle *current_vehicle(const struct registry_rules_view *view,
                                                 struct changeset *cs, const char *id)
{
    const struct lpg_vehicle *v = changeset_find(cs, RS_VEHICLE, id);
    return v ? v : lookup(view, RS_VEHICLE, id);
}

struct escort_scan {
    const struct registry_rules_view *view;
    struct changeset *cs;
    const char *escort_id, *except; /* except: the vehicle being written */
};

/* A registry vehicle escorted by scan->escort_id, other than the one written, whose current
 * version (a pending or changed one may have cleared it) still names that escort. */
static bool escorted_elsewhere(const void *entity, void *arg)
{
    const struct lpg_vehicle *rv = entity;
    const struct escort_scan *sc = arg;
    if (strcmp(rv->escort_id, sc->escort_id) != 0 || strcmp(rv->id, sc->except) == 0)
        return false;
    const struct lpg_vehicle *cur = current_vehicle(sc->view, sc->cs, rv->id);
    return cur && strcmp(cur->escort_id, sc->escort_id) == 0;
}

/* One vehicle per escort (issue 14): an escort rides beside one driver, so a second vehicle
 * naming the same escort would let both trucks pass the escort check of matching with one
 * person. Checked only when escort_id changes (like check_device): a vehicle keeps what it has
 * when other fields change. The escort is of v's enterprise (checked before), so only that
 * enterprise's vehicles can hold it: the registry's, then the caller's pending ones (a bulk
 * import's earlier rows). The cost is one pass over the enterprise's vehicles, paid only when
 * an escort is bound. */
static int check_escort_free(const struct registry_rules_view *view, struct changeset *cs,
                             const struct lpg_vehicle *v, const struct lpg_vehicle *old,
                             struct lpg_json_error *err)
{
    if (v->escort_id[0] == '\0' || (old && strcmp(old->escort_id, v->escort_id) == 0))
        return 0;
    struct escort_scan sc = {view, cs, v->escort_id, v->id};
    const struct lpg_vehicle *other = NULL;
    if (registry_list_vehicles(view->reg, v->enterprise_id, NULL, 1, escorted_elsewhere, &sc,
                               &other) == 0)
        other = NULL;
    if (other == NULL && view->escorted_by) {
        const struct lpg_vehicle *pv = view->escorted_by(view->arg, v->escort_id, v->id);
        if (pv && strcmp(pv->enterprise_id, v->enterprise_id) == 0 &&
            strcmp(pv->escort_id, v->escort_id) == 0)
            other = pv;
    }
    if (other)
        return fail(err, "escort_in_use", "escort_id",
                    "escort %s is bound to vehicle %s; clear its escort_id first (one vehicle per "
                    "escort)",
                    v->escort_id, other->id);
    return 0;
}

int registry_rules_check(const struct registry_rules_view *view, enum rs_kind kind, void *e,
                         const void *old, struct changeset *cs, struct lpg_json_error *err)
{
    switch (kind) {
    case RS_ENTERPRISE:
        return 0;
    case RS_ZONE: {
        struct lpg_zone *z = e;
        const struct lpg_enterprise *ent = registry_enterprise(view->reg, z->enterprise_id);
        if (ent == NULL)
            return check_enterprise_exists(view, z->enterprise_id, err);
        if (!lpg_geometry_within(&z->shape, &ent->area))
            return fail(err, "zone_outside_service_area", "shape",
                        "zone %s does not lie within the supply area of %s", z->id, ent->id);
        return 0;
    }
    case RS_STAFF: {
        struct lpg_staff *s = e;
        const struct lpg_staff *o = old;
        if (check_enterprise_exists(view, s->enterprise_id, err) != 0)
            return -1;
        if (s->zone_id[0]) {
            const struct lpg_zone *z = lookup(view, RS_ZONE, s->zone_id);
            /* Another enterprise's zone is answered exactly like a missing one. */
            if (z == NULL || strcmp(z->enterprise_id, s->enterprise_id) != 0)
                return fail(err, "unknown_reference", "zone_id",
                            "no zone with id %s in enterprise %s", s->zone_id, s->enterprise_id);
        }
        if (check_device(view, s, o, err) != 0)
            return -1;
        return rebind(view, cs, s->enterprise_id, s->id, o ? o->vehicle_id : "", s->vehicle_id,
                      err);
    }
    case RS_STATION: {
        struct lpg_station *st = e;
        const struct lpg_enterprise *ent = registry_enterprise(view->reg, st->enterprise_id);
        if (ent == NULL)
            return check_enterprise_exists(view, st->enterprise_id, err);
        /* A depot outside the supply area is a typo in its coordinates: refuse it like a
         * zone (a circle by its centre). */
        bool inside = st->shape.mp.n_polys > 0
                          ? lpg_geometry_within(&st->shape, &ent->area)
                          : geo_multipolygon_contains(&ent->area.mp, st->center);
        if (!inside)
            return fail(err, "zone_outside_service_area", st->shape.mp.n_polys ? "shape" : "center",
                        "station %s does not lie within the supply area of %s", st->id, ent->id);
        return 0;
    }
    case RS_VEHICLE: {
        struct lpg_vehicle *v = e;
        const struct lpg_vehicle *o = old;
        if (check_enterprise_exists(view, v->enterprise_id, err) != 0)
            return -1;
        if (v->station_id[0]) {
            const struct lpg_station *st = lookup(view, RS_STATION, v->station_id);
            /* Another enterprise's station is answered exactly like a missing one. */
            if (st == NULL || strcmp(st->enterprise_id, v->enterprise_id) != 0)
                return fail(err, "unknown_reference", "station_id",
                            "no station with id %s in enterprise %s", v->station_id,
                            v->enterprise_id);
        }
        if (v->escort_id[0]) {
            const struct lpg_staff *es = lookup(view, RS_STAFF, v->escort_id);
            if (es == NULL || strcmp(es->enterprise_id, v->enterprise_id) != 0)
                return fail(err, "unknown_reference", "escort_id",
                            "no staff with id %s in enterprise %s", v->escort_id, v->enterprise_id);
            if (es->role != LPG_ROLE_ESCORT)
                return fail(err, "not_an_escort", "escort_id", "staff %s is a %s, not an escort",
                            es->id, lpg_staff_role_name(es->role));
            if (check_escort_free(view, cs, v, o, err) != 0)
                return -1;
        }
        return rebind_from_vehicle(view, cs, v, o ? o->staff_id : "", err);
    }
    case RS_CUSTOMER:
        return check_enterprise_exists(view, ((struct lpg_customer *)e)->enterprise_id, err);
    case RS_CYLINDER: {
        struct lpg_cylinder *c = e;
        if (c->blacklisted && c->blacklist_reason[0] == '\0')
            return fail(err, "invalid_field", "blacklist_reason",
                        "a blacklisted cylinder needs a blacklist_reason");
        return check_enterprise_exists(view, c->enterprise_id, err);
    }
    default:
        return 0;
    }
}
