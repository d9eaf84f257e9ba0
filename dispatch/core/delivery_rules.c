/* delivery_rules.c -- loading, hand-over and collection rules (delivery_rules.h). Pure. */
#include "core/delivery_rules.h"

#include "core/legal_defaults.h"

#include "geo_sphere.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void delivery_policy_default(struct delivery_policy *p)
{
    p->inspection_interval_years = LEGAL_INSPECTION_INTERVAL_YEARS;
    p->design_life_years = LEGAL_DESIGN_LIFE_YEARS;
    p->max_life_years = LEGAL_MAX_LIFE_YEARS;
    p->handover_max_distance_m = LEGAL_HANDOVER_MAX_DISTANCE_M;
    p->handover_max_fix_age_ms = LEGAL_HANDOVER_MAX_FIX_AGE_S * 1000LL;
    /* the tracking rules' stop speed, converted as dispatchd converts the setting */
    p->stopped_speed_cm_s = LPG_KMH_TO_CM_S(LEGAL_STOP_SPEED_KMH);
}

__attribute__((format(printf, 4, 5))) static const char *
refuse(char *why, size_t cap, const char *code, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

int32_t cylinder_inspection_due_day(const struct lpg_cylinder *c, const struct delivery_policy *p)
{
    if (c->next_inspection_day != LPG_DAY_NONE)
        return c->next_inspection_day;
    int32_t base =
        c->last_inspection_day != LPG_DAY_NONE ? c->last_inspection_day : c->manufactured_day;
    return lpg_day_add_years(base, p->inspection_interval_years);
}

int32_t cylinder_end_of_life_day(const struct lpg_cylinder *c, const struct delivery_policy *p)
{
    int32_t years = c->service_life_years > 0 ? c->service_life_years : p->design_life_years;
    if (years > p->max_life_years)
        years = p->max_life_years;
    return lpg_day_add_years(c->manufactured_day, years);
}

const char *cylinder_unusable(const struct lpg_cylinder *c, const char *enterprise_id,
                              int32_t today, const struct delivery_policy *p, char *why, size_t cap)
{
    char day[11];
    if (strcmp(c->enterprise_id, enterprise_id) != 0)
        return refuse(why, cap, "not_owned", "cylinder %s is not owned by %s", c->id,
                      enterprise_id);
    if (c->status == LPG_CYL_SCRAPPED)
        return refuse(why, cap, "scrapped", "cylinder %s is scrapped", c->id);
    if (c->status == LPG_CYL_LOST)
        return refuse(why, cap, "lost", "cylinder %s is reported lost", c->id);
    if (c->blacklisted)
        return refuse(why, cap, "blacklisted", "cylinder %s is blacklisted: %s", c->id,
                      c->blacklist_reason[0] ? c->blacklist_reason : "no reason recorded");
    if (c->status == LPG_CYL_DUE_INSPECTION || c->status == LPG_CYL_SENT_INSPECTION)
        return refuse(why, cap, "withdrawn", "cylinder %s is %s", c->id,
                      lpg_cylinder_status_name(c->status));
    /* Valid on its due day, overdue from the next (like documents, model.h). */
    int32_t due = cylinder_inspection_due_day(c, p);
    if (today > due) {
        lpg_day_format(due, day);
        return refuse(why, cap, "overdue_inspection", "cylinder %s was due for inspection on %s",
                      c->id, day);
    }
    int32_t end = cylinder_end_of_life_day(c, p);
    if (today > end) {
        lpg_day_format(end, day);
        return refuse(why, cap, "past_service_life",
                      "cylinder %s reached the end of its "
                      "service life on %s",
                      c->id, day);
    }
    return NULL;
}

/* The order is the scanning person's, and they drive the order's vehicle. */
static const char *order_holder_check(const struct lpg_order *o, const struct lpg_staff *s,
                                      const struct lpg_vehicle *v, char *why, size_t cap)
{
    if (o == NULL || strcmp(o->staff_id, s->id) != 0)
        return refuse(why, cap, "not_your_order", "order %s is not assigned to you",
                      o ? o->id : "?");
    if (v == NULL)
        return refuse(why, cap, "no_vehicle", "you are not bound to a vehicle (人车对应)");
    if (strcmp(v->id, o->vehicle_id) != 0 || strcmp(v->staff_id, s->id) != 0)
        return refuse(why, cap, "wrong_vehicle",
                      "order %s travels on vehicle %s; you are bound to %s", o->id, o->vehicle_id,
                      v->id);
    return NULL;
}

const char *load_check(const struct lpg_order *o, const struct lpg_staff *s,
                       const struct lpg_vehicle *v, const struct lpg_cylinder *c,
                       const struct load_counts *n, int32_t today, const struct delivery_policy *p,
                       char *why, size_t cap)
{
    const char *code = order_holder_check(o, s, v, why, cap);
    if (code)
        return code;
    if (o->state != LPG_ORDER_ACCEPTED)
        return refuse(why, cap, "order_not_loading",
                      "order %s is %s; cylinders are loaded for an accepted order", o->id,
                      lpg_order_state_name(o->state));
    if ((code = cylinder_unusable(c, o->enterprise_id, today, p, why, cap)) != NULL)
        return code;
    if (c->status != LPG_CYL_IN_STOCK)
        return refuse(why, cap, "cylinder_not_in_stock",
                      "cylinder %s is %s, not a full cylinder in stock", c->id,
                      lpg_cylinder_status_name(c->status));
    int32_t wanted = 0;
    for (int32_t i = 0; i < o->n_items && i < LPG_ORDER_ITEMS_MAX; i++)
        if (strcmp(o->items[i].spec, c->spec) == 0)
            wanted += o->items[i].count;
    if (wanted == 0)
        return refuse(why, cap, "spec_not_ordered", "order %s has no %s cylinder", o->id, c->spec);
    if (n->loaded_of_spec >= wanted)
        return refuse(why, cap, "spec_already_loaded",
                      "order %s needs %d %s; %d are loaded already", o->id, (int)wanted, c->spec,
                      (int)n->loaded_of_spec);
    if (n->on_vehicle >= v->capacity)
        return refuse(why, cap, "vehicle_full", "vehicle %s carries %d cylinders, its capacity",
                      v->id, (int)n->on_vehicle);
    return NULL;
}

const char *station_check(const struct lpg_vehicle *v, const struct lpg_station *st,
                          const struct vehicle_fix *fix, int64_t now_ms,
                          const struct delivery_policy *p, char *why, size_t cap)
{
    if (st == NULL || strcmp(st->enterprise_id, v->enterprise_id) != 0)
        return refuse(why, cap, "no_station",
                      "vehicle %s belongs to no station; a dispatcher sets its station_id", v->id);
    if (!fix->known)
        return refuse(why, cap, "position_unknown",
                      "the vehicle has reported no position; it must be seen at station %s",
                      st->id);
    int64_t age = now_ms - fix->time_ms;
    if (age > p->handover_max_fix_age_ms)
        return refuse(why, cap, "stale_fix",
                      "the vehicle's newest fix is %lld s old; at most %lld s are accepted",
                      (long long)(age / 1000), (long long)(p->handover_max_fix_age_ms / 1000));
    if (!lpg_station_contains(st, fix->pos))
        return refuse(why, cap, "not_at_station", "the vehicle is not at its station %s (%s)",
                      st->id, st->name);
    return NULL;
}

const char *at_customer_check(const struct lpg_customer *cu, const struct vehicle_fix *fix,
                              int64_t now_ms, const struct delivery_policy *p, char *why,
                              size_t cap)
{
    if (!fix->known)
        return refuse(why, cap, "position_unknown",
                      "the vehicle has reported no position; a hand-over needs one");
    int64_t age = now_ms - fix->time_ms;
    if (age > p->handover_max_fix_age_ms)
        return refuse(why, cap, "stale_fix",
                      "the vehicle's newest fix is %lld s old; at most %lld s are accepted",
                      (long long)(age / 1000), (long long)(p->handover_max_fix_age_ms / 1000));
    if (fix->speed_cm_s < 0)
        return refuse(why, cap, "speed_unknown",
                      "the vehicle's newest fix has no speed; it must be seen stopped");
    if (fix->speed_cm_s >= p->stopped_speed_cm_s)
        return refuse(why, cap, "vehicle_moving",
                      "the vehicle is moving (%.1f km/h): nothing leaves a vehicle in transit",
                      fix->speed_cm_s * 0.036);
    double dist = geo_distance_m(fix->pos, cu->location);
    if (dist > p->handover_max_distance_m)
        return refuse(why, cap, "not_at_customer",
                      "the vehicle is %.0f m from customer %s; at most %.0f m", dist, cu->id,
                      p->handover_max_distance_m);
    return NULL;
}

/* A delivery is under way for the customer: loaded (not yet at the door) or arrived. */
static const char *deliverable(const struct lpg_order *o, char *why, size_t cap)
{
    if (o->state != LPG_ORDER_LOADED && o->state != LPG_ORDER_EN_ROUTE &&
        o->state != LPG_ORDER_ARRIVED)
        return refuse(why, cap, "order_not_deliverable",
                      "order %s is %s; cylinders are handed over on a loaded order", o->id,
                      lpg_order_state_name(o->state));
    return NULL;
}

const char *handover_check(const struct lpg_order *o, const struct lpg_staff *s,
                           const struct lpg_vehicle *v, const struct lpg_customer *cu,
                           const struct lpg_cylinder *c, const struct vehicle_fix *fix,
                           int64_t now_ms, int32_t today, const struct delivery_policy *p,
                           char *why, size_t cap)
{
    const char *code = order_holder_check(o, s, v, why, cap);
    if (code || (code = deliverable(o, why, cap)) != NULL)
        return code;
    if (c == NULL)
        return refuse(why, cap, "cylinder_not_loaded_for_order",
                      "the cylinder is not registered, so it was not loaded for order %s", o->id);
    if (c->status == LPG_CYL_LOADED && strcmp(c->vehicle_id, v->id) != 0)
        return refuse(why, cap, "wrong_vehicle", "cylinder %s is on vehicle %s, not on yours (%s)",
                      c->id, c->vehicle_id, v->id);
    if (c->status != LPG_CYL_LOADED || strcmp(c->order_id, o->id) != 0)
        return refuse(why, cap, "cylinder_not_loaded_for_order",
                      "cylinder %s was not loaded for order %s (it is %s%s%s)", c->id, o->id,
                      lpg_cylinder_status_name(c->status), c->order_id[0] ? " for order " : "",
                      c->order_id);
    if ((code = cylinder_unusable(c, o->enterprise_id, today, p, why, cap)) != NULL)
        return code;
    if (cu == NULL)
        return refuse(why, cap, "not_at_customer", "the order's customer no longer exists");
    if (cu->status == LPG_CUSTOMER_SUSPENDED)
        return refuse(why, cap, "customer_suspended", "supply to customer %s is suspended: %s",
                      cu->id, cu->suspended_reason);
    const struct lpg_cylinder_spec *spec = lpg_cylinder_spec_find(c->spec);
    if (spec && spec->two_phase && cu->kind == LPG_CUSTOMER_RESTAURANT)
        return refuse(why, cap, "two_phase_cylinder_to_restaurant",
                      "%s two-phase cylinders are never delivered to restaurants", c->spec);
    return at_customer_check(cu, fix, now_ms, p, why, cap);
}

const char *collect_check(const struct lpg_order *o, const struct lpg_staff *s,
                          const struct lpg_vehicle *v, const struct lpg_customer *cu,
                          const struct lpg_cylinder *c, const struct vehicle_fix *fix,
                          int32_t on_vehicle, int64_t now_ms, const struct delivery_policy *p,
                          char *why, size_t cap)
{
    const char *code = order_holder_check(o, s, v, why, cap);
    if (code || (code = deliverable(o, why, cap)) != NULL)
        return code;
    if (c == NULL || strcmp(c->enterprise_id, o->enterprise_id) != 0)
        return refuse(why, cap, "not_owned", "the cylinder is not one of %s's", o->enterprise_id);
    if (c->status != LPG_CYL_AT_CUSTOMER || strcmp(c->customer_id, o->customer_id) != 0)
        return refuse(why, cap, "cylinder_not_at_customer", "cylinder %s is %s, not at customer %s",
                      c->id, lpg_cylinder_status_name(c->status), o->customer_id);
    if (cu == NULL)
        return refuse(why, cap, "not_at_customer", "the order's customer no longer exists");
    if ((code = at_customer_check(cu, fix, now_ms, p, why, cap)) != NULL)
        return code;
    if (on_vehicle >= v->capacity)
        return refuse(why, cap, "vehicle_full", "vehicle %s carries %d cylinders, its capacity",
                      v->id, (int)on_vehicle);
    return NULL;
}
