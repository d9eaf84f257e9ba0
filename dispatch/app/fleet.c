/* fleet.c -- the fleet board (fleet.h). */
#include "app/fleet.h"

#include "app/ingest.h"
#include "core/model_json.h"
#include "core/registry.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Open orders of the enterprise, by person (sorted, searched by bsearch). At most this many
 * are looked at per request; beyond it the rest show no current order. */
#define FLEET_OPEN_ORDERS_MAX 20000

static bool order_open(enum lpg_order_state s)
{
    return s >= LPG_ORDER_ASSIGNED && s <= LPG_ORDER_ARRIVED;
}

static int state_by_name(const char *name)
{
    for (int s = 0; s < LPG_ORDER_STATE_COUNT; s++)
        if (strcmp(lpg_order_state_name((enum lpg_order_state)s), name) == 0)
            return s;
    return -1;
}

int fleet_query_check(const struct fleet_query *q, const char **bad)
{
    if (q->state && strcmp(q->state, "none") != 0) {
        int s = state_by_name(q->state);
        if (s < 0 || !order_open((enum lpg_order_state)s)) {
            *bad = "state";
            return -1;
        }
    }
    if (q->q && (q->q[0] == '\0' || strlen(q->q) > LPG_NAME_MAX)) {
        *bad = "q";
        return -1;
    }
    return 0;
}

/* Who is on board: the person signed on, else the bound person. */
static const char *person_of(const struct lpg_vehicle *v, const char **via)
{
    if (v->driver_id[0]) {
        *via = v->driver_via[0] ? v->driver_via : "signed_on";
        return v->driver_id;
    }
    if (v->staff_id[0]) {
        *via = "bound";
        return v->staff_id;
    }
    *via = NULL;
    return NULL;
}

struct open_orders {
    const struct lpg_order **o;
    size_t n;
};

static bool is_open(const void *entity, void *arg)
{
    (void)arg;
    const struct lpg_order *o = entity;
    return order_open(o->state) && o->staff_id[0];
}

static int by_staff(const void *a, const void *b)
{
    const struct lpg_order *x = *(const struct lpg_order *const *)a;
    const struct lpg_order *y = *(const struct lpg_order *const *)b;
    int c = strcmp(x->staff_id, y->staff_id);
    return c ? c : strcmp(x->id, y->id); /* a person's oldest id first: a stable choice */
}

static int key_staff(const void *key, const void *elem)
{
    const struct lpg_order *o = *(const struct lpg_order *const *)elem;
    return strcmp(key, o->staff_id);
}

/* One walk of the enterprise's orders, kept only when someone has an active one. */
static int load_open_orders(struct service *d, const char *enterprise_id, struct open_orders *oo)
{
    oo->o = malloc(FLEET_OPEN_ORDERS_MAX * sizeof(*oo->o));
    oo->n = 0;
    if (oo->o == NULL)
        return -1;
    oo->n = registry_list_orders(d->registry, enterprise_id, NULL, FLEET_OPEN_ORDERS_MAX, is_open,
                                 NULL, oo->o);
    qsort(oo->o, oo->n, sizeof(*oo->o), by_staff);
    return 0;
}

static const struct lpg_order *current_order(const struct open_orders *oo, const char *staff)
{
    if (staff == NULL || oo->n == 0)
        return NULL;
    const struct lpg_order **hit = bsearch(staff, oo->o, oo->n, sizeof(*oo->o), key_staff);
    if (hit == NULL)
        return NULL;
    while (hit > oo->o && strcmp(hit[-1]->staff_id, staff) == 0)
        hit--; /* the first of the person's (bsearch finds any) */
    return *hit;
}

struct fleet_row {
    const struct lpg_vehicle *v;
    struct ingest_vehicle_live live;
    int has_live, online;
    const char *person, *via;
    const struct lpg_order *order;
};

static void row_of(struct service *d, const struct lpg_vehicle *v, const struct open_orders *oo,
                   int64_t now_ms, struct fleet_row *r)
{
    r->v = v;
    r->has_live = ingest_vehicle_live(d, v->id, &r->live) == 0;
    r->online = r->has_live && now_ms - r->live.seen_ms <= FLEET_ONLINE_S * 1000LL;
    r->person = person_of(v, &r->via);
    r->order = current_order(oo, r->person);
}

struct fleet_filter {
    struct service *d;
    const struct fleet_query *q;
    const struct open_orders *oo;
    int64_t now_ms;
    int want_state; /* -2 any, -1 none, else the state */
};

static bool icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return n == 0;
}

static bool fleet_filter(const void *entity, void *arg)
{
    const struct fleet_filter *f = arg;
    const struct lpg_vehicle *v = entity;
    if (f->q->q && !icontains(v->id, f->q->q) && !icontains(v->plate, f->q->q))
        return false;
    if (f->q->online < 0 && f->want_state == -2)
        return true;
    struct fleet_row r;
    row_of(f->d, v, f->oo, f->now_ms, &r);
    if (f->q->online >= 0 && r.online != f->q->online)
        return false;
    if (f->want_state == -1)
        return r.order == NULL;
    if (f->want_state >= 0)
        return r.order && (int)r.order->state == f->want_state;
    return true;
}

static json_t *instant_or_null(int64_t ms)
{
    return ms > 0 ? lpg_json_instant(ms) : json_null();
}

static json_t *row_json(const struct fleet_row *r, const struct registry *reg, int64_t now_ms)
{
    const struct lpg_vehicle *v = r->v;
    json_t *pos = json_null();
    int64_t fix_ms = 0;
    if (r->has_live && r->live.has_fix) {
        fix_ms = r->live.fix_ms;
        pos = json_pack(
            "{s:f, s:f, s:o, s:o, s:o}", "lat", r->live.lat, "lon", r->live.lon, "speed_kmh",
            r->live.speed_cm_s >= 0 ? json_real(r->live.speed_cm_s * 0.036) : json_null(),
            "heading",
            r->live.heading_cdeg >= 0 ? json_real(r->live.heading_cdeg / 100.0) : json_null(),
            "time", lpg_json_instant(fix_ms));
    } else if (v->has_position) {
        /* Not reported since start: the registry's cached position (no heading kept). */
        fix_ms = v->position_ms;
        pos = json_pack("{s:f, s:f, s:o, s:o, s:o}", "lat", v->position.lat, "lon", v->position.lon,
                        "speed_kmh",
                        v->position_speed_cm_s >= 0 ? json_real(v->position_speed_cm_s * 0.036)
                                                    : json_null(),
                        "heading", json_null(), "time", lpg_json_instant(fix_ms));
    }
    const struct lpg_staff *s = r->person ? registry_staff(reg, r->person) : NULL;
    int32_t aboard =
        v->trip_started_ms ? v->trip_loaded - v->trip_handed_over - v->trip_returned_full : 0;
    json_t *order = r->order ? json_pack("{s:s, s:s}", "id", r->order->id, "state",
                                         lpg_order_state_name(r->order->state))
                             : json_null();
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "vehicle_id", v->id,
        "enterprise_id", v->enterprise_id, "plate", v->plate, "position", pos ? pos : json_null(),
        "age_s",
        fix_ms > 0 ? json_integer(now_ms > fix_ms ? (now_ms - fix_ms) / 1000 : 0) : json_null(),
        "online", r->online, "source",
        r->has_live ? json_string(ingest_source_name(r->live.source)) : json_null(), "last_seen",
        r->has_live ? instant_or_null(r->live.seen_ms) : json_null(), "person_id",
        r->person ? json_string(r->person) : json_null(), "person_via",
        r->via ? json_string(r->via) : json_null(), "cylinders_aboard", (int)aboard, "order",
        order ? order : json_null(), "rest_until",
        s && s->rest_until_ms > now_ms ? lpg_json_instant(s->rest_until_ms) : json_null());
}

/* Whether anyone of the enterprise has an active order (the order walk is skipped otherwise). */
static bool any_active(const void *entity, void *arg)
{
    (void)arg;
    return ((const struct lpg_staff *)entity)->active_orders > 0;
}

json_t *fleet_list(struct service *d, const struct fleet_query *q, int64_t now_ms)
{
    struct open_orders oo = {NULL, 0};
    const struct lpg_staff *busy = NULL;
    if (registry_list_staff(d->registry, q->enterprise_id, NULL, 1, any_active, NULL, &busy) > 0 &&
        load_open_orders(d, q->enterprise_id, &oo) != 0)
        return NULL;
    const struct lpg_vehicle **page = calloc(q->limit ? q->limit : 1, sizeof(*page));
    json_t *items = json_array();
    if (page == NULL || items == NULL) {
        free(page);
        free(oo.o);
        json_decref(items);
        return NULL;
    }
    struct fleet_filter f = {d, q, &oo, now_ms, -2};
    if (q->state)
        f.want_state = strcmp(q->state, "none") == 0 ? -1 : state_by_name(q->state);
    bool filtered = q->q || q->online >= 0 || q->state;
    size_t n = registry_list_vehicles(d->registry, q->enterprise_id, q->after, q->limit,
                                      filtered ? fleet_filter : NULL, &f, page);
    for (size_t i = 0; i < n; i++) {
        struct fleet_row r;
        row_of(d, page[i], &oo, now_ms, &r);
        json_array_append_new(items, row_json(&r, d->registry, now_ms));
    }
    json_t *body = json_pack("{s:o, s:s?}", "items", items, "next_after",
                             n == q->limit && n > 0 ? page[n - 1]->id : NULL);
    free(page);
    free(oo.o);
    return body;
}
