/* test_registry.c -- dispatch/core/registry.c: put / replace / remove with ownership (ASan/LSan
 * check that every entity is freed exactly once), paging by id and by enterprise with after_id,
 * filters, the derived counters (active orders, committed cylinders) across state changes,
 * reassignment, item changes and load order, staff by zone, zones at a point through the zone
 * index after adds and removes, the waiting orders, and deep copies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"

#define LON0 119.70 /* degrees east: Hailar */
#define LAT0 49.20  /* degrees north */
#define U    0.01   /* degrees per grid unit */

static void set_id(char *dst, const char *src)
{
    snprintf(dst, LPG_ID_MAX + 1, "%s", src);
}

/* A finished rectangular geometry x0..x1, y0..y1 in grid units. */
static void rect_geometry(struct lpg_geometry *g, double x0, double y0, double x1, double y1)
{
    memset(g, 0, sizeof(*g));
    g->pts = calloc(4, sizeof(*g->pts));
    g->rings = calloc(1, sizeof(*g->rings));
    g->polys = calloc(1, sizeof(*g->polys));
    assert_non_null(g->pts);
    assert_non_null(g->rings);
    assert_non_null(g->polys);
    double xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
    for (int i = 0; i < 4; i++)
        g->pts[i] = (struct geo_point){LON0 + U * xs[i], LAT0 + U * ys[i]};
    g->rings[0] = (struct geo_ring){g->pts, 4};
    g->polys[0] = (struct geo_polygon){g->rings[0], NULL, 0};
    g->mp = (struct geo_multipolygon){g->polys, 1};
    assert_int_equal(lpg_geometry_finish(g), GEO_OK);
}

static struct lpg_enterprise *new_enterprise(const char *id)
{
    struct lpg_enterprise *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    set_id(e->id, id);
    e->utc_offset_min = 480;
    rect_geometry(&e->area, 0, 0, 100, 100);
    return e;
}

static struct lpg_zone *new_zone(const char *id, const char *ent, double x0, double y0, double x1,
                                 double y1)
{
    struct lpg_zone *z = calloc(1, sizeof(*z));
    assert_non_null(z);
    set_id(z->id, id);
    set_id(z->enterprise_id, ent);
    z->index_id = 12345; /* the registry assigns it */
    rect_geometry(&z->shape, x0, y0, x1, y1);
    return z;
}

static struct lpg_staff *new_staff(const char *id, const char *ent, const char *zone)
{
    struct lpg_staff *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    set_id(s->id, id);
    set_id(s->enterprise_id, ent);
    set_id(s->zone_id, zone);
    s->on_duty = true;
    return s;
}

static struct lpg_vehicle *new_vehicle(const char *id, const char *ent, int32_t capacity)
{
    struct lpg_vehicle *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    set_id(v->id, id);
    set_id(v->enterprise_id, ent);
    v->capacity = capacity;
    return v;
}

static struct lpg_customer *new_customer(const char *id, const char *ent,
                                         enum lpg_customer_kind kind)
{
    struct lpg_customer *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    set_id(c->id, id);
    set_id(c->enterprise_id, ent);
    c->kind = kind;
    c->location = (struct geo_point){LON0 + 0.5 * U, LAT0 + 0.5 * U};
    return c;
}

static struct lpg_order *new_order(const char *id, const char *ent, enum lpg_order_state state,
                                   const char *staff, const char *vehicle, int32_t cylinders,
                                   int64_t created_ms)
{
    struct lpg_order *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    set_id(o->id, id);
    set_id(o->enterprise_id, ent);
    set_id(o->customer_id, "C1");
    o->state = state;
    set_id(o->staff_id, staff);
    set_id(o->vehicle_id, vehicle);
    o->n_items = 1;
    snprintf(o->items[0].spec, sizeof(o->items[0].spec), "YSP-35.5");
    o->items[0].count = cylinders;
    o->created_ms = created_ms;
    return o;
}

/* ---- put, replace, remove ---- */

static void test_put_replace_remove(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_non_null(reg);
    assert_int_equal(registry_put_enterprise(reg, new_enterprise("E1")), 0);
    assert_int_equal(registry_put_zone(reg, new_zone("Z1", "E1", 0, 0, 1, 1)), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S1", "E1", "Z1")), 0);
    assert_int_equal(registry_put_vehicle(reg, new_vehicle("V1", "E1", 10)), 0);
    assert_int_equal(registry_put_customer(reg, new_customer("C1", "E1", LPG_CUSTOMER_HOUSEHOLD)),
                     0);
    assert_int_equal(
        registry_put_order(reg, new_order("O1", "E1", LPG_ORDER_CREATED, "", "", 1, 100)), 0);
    struct registry_counts n;
    registry_counts(reg, &n);
    assert_int_equal(n.enterprises, 1);
    assert_int_equal(n.zones, 1);
    assert_int_equal(n.staff, 1);
    assert_int_equal(n.vehicles, 1);
    assert_int_equal(n.customers, 1);
    assert_int_equal(n.orders, 1);

    /* Replace: the new object is returned, the old one freed (ASan would flag a leak or a
     * double free); counts unchanged. */
    struct lpg_customer *c = lpg_customer_dup(registry_customer(reg, "C1"));
    snprintf(c->name, sizeof(c->name), "renamed");
    assert_int_equal(registry_put_customer(reg, c), 0);
    assert_ptr_equal(registry_customer(reg, "C1"), c);
    assert_string_equal(registry_customer(reg, "C1")->name, "renamed");
    struct lpg_zone *z = lpg_zone_dup(registry_zone(reg, "Z1"));
    assert_int_equal(registry_put_zone(reg, z), 0);
    struct lpg_enterprise *e = lpg_enterprise_dup(registry_enterprise(reg, "E1"));
    assert_int_equal(registry_put_enterprise(reg, e), 0);
    registry_counts(reg, &n);
    assert_int_equal(n.customers, 1);
    assert_int_equal(n.zones, 1);

    /* Remove. */
    assert_int_equal(registry_remove_customer(reg, "C1"), 0);
    assert_int_equal(registry_remove_customer(reg, "C1"), -1);
    assert_null(registry_customer(reg, "C1"));
    assert_int_equal(registry_remove_staff(reg, "S1"), 0);
    assert_int_equal(registry_remove_vehicle(reg, "V1"), 0);
    assert_int_equal(registry_remove_zone(reg, "Z1"), 0);
    assert_int_equal(registry_remove_zone(reg, "nope"), -1);
    assert_null(registry_staff(reg, "S1"));
    assert_null(registry_vehicle(reg, "V1"));
    assert_null(registry_zone(reg, "Z1"));
    registry_counts(reg, &n);
    assert_int_equal(n.customers + n.staff + n.vehicles + n.zones, 0);

    /* An entity without an id is refused and freed. */
    assert_int_equal(registry_put_staff(reg, new_staff("", "E1", "Z1")), -1);
    assert_int_equal(registry_put_zone(reg, new_zone("", "E1", 0, 0, 1, 1)), -1);
    assert_null(registry_order(reg, "none"));
    registry_free(reg);
    registry_free(NULL);
}

/* Many entities: map growth, deletion with backward shift, lookups after both. */
static void test_many(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "C%05d", (i * 7919) % 5000);
        assert_int_equal(registry_put_customer(reg, new_customer(id, "E1", 0)), 0);
    }
    for (int i = 0; i < 5000; i += 3) {
        snprintf(id, sizeof(id), "C%05d", i);
        assert_int_equal(registry_remove_customer(reg, id), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "C%05d", i);
        if ((registry_customer(reg, id) != NULL) != (i % 3 != 0))
            fail_msg("%s: present = %d", id, i % 3 == 0);
    }
    struct registry_counts n;
    registry_counts(reg, &n);
    assert_int_equal(n.customers, 5000 - 1667);
    registry_free(reg);
}

/* ---- paging ---- */

static bool is_restaurant(const void *entity, void *arg)
{
    (void)arg;
    return ((const struct lpg_customer *)entity)->kind == LPG_CUSTOMER_RESTAURANT;
}

static void test_paging(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    char id[32];
    /* E1: C00..C24 inserted out of order (7 is coprime with 25); E2: C25..C34; kind restaurant
     * for every id divisible by 5. */
    for (int i = 0; i < 25; i++) {
        int k = (i * 7) % 25;
        snprintf(id, sizeof(id), "C%02d", k);
        assert_int_equal(registry_put_customer(reg, new_customer(id, "E1", k % 5 == 0 ? 1 : 0)), 0);
    }
    for (int k = 34; k >= 25; k--) {
        snprintf(id, sizeof(id), "C%02d", k);
        assert_int_equal(registry_put_customer(reg, new_customer(id, "E2", k % 5 == 0 ? 1 : 0)), 0);
    }
    const struct lpg_customer *out[40];
    /* Page 1 and 2 of E1, 10 at a time. */
    size_t n = registry_list_customers(reg, "E1", NULL, 10, NULL, NULL, out);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "C%02zu", i);
        assert_string_equal(out[i]->id, id);
    }
    n = registry_list_customers(reg, "E1", out[9]->id, 10, NULL, NULL, out);
    assert_int_equal(n, 10);
    assert_string_equal(out[0]->id, "C10");
    assert_string_equal(out[9]->id, "C19");
    /* Last page is short and ends at the enterprise's boundary (C25 is E2's). */
    n = registry_list_customers(reg, "E1", "C19", 10, NULL, NULL, out);
    assert_int_equal(n, 5);
    assert_string_equal(out[4]->id, "C24");
    /* after_id need not exist: ids strictly greater. */
    n = registry_list_customers(reg, "E1", "C115", 3, NULL, NULL, out);
    assert_int_equal(n, 3);
    assert_string_equal(out[0]->id, "C12");
    /* Every enterprise: ids across both. */
    n = registry_list_customers(reg, NULL, "C22", 5, NULL, NULL, out);
    assert_int_equal(n, 5);
    assert_string_equal(out[0]->id, "C23");
    assert_string_equal(out[4]->id, "C27");
    assert_int_equal(registry_list_customers(reg, NULL, "", 100, NULL, NULL, out), 35);
    assert_int_equal(registry_list_customers(reg, "E9", NULL, 100, NULL, NULL, out), 0);
    /* Filter: restaurants of E2 are C25 and C30. */
    n = registry_list_customers(reg, "E2", NULL, 100, is_restaurant, NULL, out);
    assert_int_equal(n, 2);
    assert_string_equal(out[0]->id, "C25");
    assert_string_equal(out[1]->id, "C30");
    /* Inserts and removes after a listing (the lazily sorted tail is merged). */
    assert_int_equal(registry_put_customer(reg, new_customer("C055", "E1", 0)), 0);
    assert_int_equal(registry_put_customer(reg, new_customer("A", "E1", 0)), 0);
    assert_int_equal(registry_remove_customer(reg, "C06"), 0);
    n = registry_list_customers(reg, "E1", NULL, 8, NULL, NULL, out);
    const char *want[] = {"A", "C00", "C01", "C02", "C03", "C04", "C05", "C055"};
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i]->id, want[i]);
    n = registry_list_customers(reg, "E1", "C055", 1, NULL, NULL, out);
    assert_string_equal(out[0]->id, "C07");
    /* Moving a customer to another enterprise moves it between the listings. */
    struct lpg_customer *c = lpg_customer_dup(registry_customer(reg, "C07"));
    set_id(c->enterprise_id, "E2");
    assert_int_equal(registry_put_customer(reg, c), 0);
    n = registry_list_customers(reg, "E1", "C055", 1, NULL, NULL, out);
    assert_string_equal(out[0]->id, "C08");
    n = registry_list_customers(reg, "E2", NULL, 1, NULL, NULL, out);
    assert_string_equal(out[0]->id, "C07");

    /* Other kinds share the code; one check each. */
    assert_int_equal(registry_put_enterprise(reg, new_enterprise("E2")), 0);
    assert_int_equal(registry_put_enterprise(reg, new_enterprise("E1")), 0);
    const struct lpg_enterprise *eo[4];
    assert_int_equal(registry_list_enterprises(reg, NULL, 4, eo), 2);
    assert_string_equal(eo[0]->id, "E1");
    assert_int_equal(registry_list_enterprises(reg, "E1", 4, eo), 1);
    assert_string_equal(eo[0]->id, "E2");
    assert_int_equal(registry_put_order(reg, new_order("O2", "E1", 0, "", "", 1, 1)), 0);
    assert_int_equal(registry_put_order(reg, new_order("O1", "E1", 0, "", "", 1, 2)), 0);
    const struct lpg_order *oo[4];
    assert_int_equal(registry_list_orders(reg, "E1", NULL, 4, NULL, NULL, oo), 2);
    assert_string_equal(oo[0]->id, "O1");
    registry_free(reg);
}

/* ---- derived counters ---- */

static void assert_load(struct registry *reg, const char *staff, int32_t active,
                        const char *vehicle, int32_t committed)
{
    const struct lpg_staff *s = registry_staff(reg, staff);
    const struct lpg_vehicle *v = registry_vehicle(reg, vehicle);
    assert_non_null(s);
    assert_non_null(v);
    if (s->active_orders != active || v->committed != committed)
        fail_msg("%s active %d (want %d), %s committed %d (want %d)", staff, s->active_orders,
                 active, vehicle, v->committed, committed);
}

static void put_order_state(struct registry *reg, const char *id, enum lpg_order_state st,
                            const char *staff, const char *vehicle, int32_t cylinders)
{
    struct lpg_order *o = lpg_order_dup(registry_order(reg, id));
    assert_non_null(o);
    o->state = st;
    set_id(o->staff_id, staff);
    set_id(o->vehicle_id, vehicle);
    o->items[0].count = cylinders;
    assert_int_equal(registry_put_order(reg, o), 0);
}

static void test_counters(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_int_equal(registry_put_staff(reg, new_staff("S1", "E1", "Z1")), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S2", "E1", "Z1")), 0);
    assert_int_equal(registry_put_vehicle(reg, new_vehicle("V1", "E1", 10)), 0);
    assert_int_equal(registry_put_vehicle(reg, new_vehicle("V2", "E1", 10)), 0);
    assert_int_equal(registry_put_order(reg, new_order("O1", "E1", 0, "", "", 3, 1)), 0);
    assert_load(reg, "S1", 0, "V1", 0); /* created: not active */
    put_order_state(reg, "O1", LPG_ORDER_ASSIGNED, "S1", "V1", 3);
    assert_load(reg, "S1", 1, "V1", 3);
    assert_int_equal(
        registry_put_order(reg, new_order("O2", "E1", LPG_ORDER_LOADED, "S1", "V1", 2, 2)), 0);
    assert_load(reg, "S1", 2, "V1", 5);
    put_order_state(reg, "O1", LPG_ORDER_EN_ROUTE, "S1", "V1", 3);
    put_order_state(reg, "O1", LPG_ORDER_ARRIVED, "S1", "V1", 3);
    assert_load(reg, "S1", 2, "V1", 5);
    /* Items changed while active: committed follows. */
    put_order_state(reg, "O1", LPG_ORDER_ARRIVED, "S1", "V1", 4);
    assert_load(reg, "S1", 2, "V1", 6);
    /* Reassignment moves both counts. */
    put_order_state(reg, "O1", LPG_ORDER_ASSIGNED, "S2", "V2", 4);
    assert_load(reg, "S1", 1, "V1", 2);
    assert_load(reg, "S2", 1, "V2", 4);
    /* Finished states release. */
    put_order_state(reg, "O1", LPG_ORDER_DELIVERED, "S2", "V2", 4);
    put_order_state(reg, "O2", LPG_ORDER_FAILED, "S1", "V1", 2);
    assert_load(reg, "S1", 0, "V1", 0);
    assert_load(reg, "S2", 0, "V2", 0);
    /* Back to created (e.g. an assignment withdrawn): not active. */
    put_order_state(reg, "O2", LPG_ORDER_ASSIGNED, "S1", "V1", 2);
    assert_load(reg, "S1", 1, "V1", 2);
    put_order_state(reg, "O2", LPG_ORDER_CREATED, "", "", 2);
    assert_load(reg, "S1", 0, "V1", 0);

    /* Load order: orders before their staff and vehicle (as from Redis), and a stale derived
     * value in a put staff is overwritten. */
    assert_int_equal(
        registry_put_order(reg, new_order("O3", "E1", LPG_ORDER_ACCEPTED, "S3", "V3", 5, 3)), 0);
    struct lpg_staff *s3 = new_staff("S3", "E1", "Z1");
    s3->active_orders = 99;
    assert_int_equal(registry_put_staff(reg, s3), 0);
    struct lpg_vehicle *v3 = new_vehicle("V3", "E1", 10);
    v3->committed = 99;
    assert_int_equal(registry_put_vehicle(reg, v3), 0);
    assert_load(reg, "S3", 1, "V3", 5);
    /* Replacing the staff keeps the count; removing and re-adding too. */
    assert_int_equal(registry_put_staff(reg, lpg_staff_dup(registry_staff(reg, "S3"))), 0);
    assert_int_equal(registry_remove_staff(reg, "S3"), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S3", "E1", "Z1")), 0);
    assert_int_equal(registry_remove_vehicle(reg, "V3"), 0);
    assert_int_equal(registry_put_vehicle(reg, new_vehicle("V3", "E1", 10)), 0);
    assert_load(reg, "S3", 1, "V3", 5);
    put_order_state(reg, "O3", LPG_ORDER_CANCELLED, "S3", "V3", 5);
    assert_load(reg, "S3", 0, "V3", 0);
    registry_free(reg);
}

/* ---- staff by zone ---- */

static struct lpg_cylinder *cyl(const char *id, const char *vehicle, const char *order)
{
    struct lpg_cylinder *c = calloc(1, sizeof(*c));
    strcpy(c->id, id);
    strcpy(c->enterprise_id, "E1");
    strcpy(c->spec, "YSP-35.5");
    strcpy(c->vehicle_id, vehicle);
    strcpy(c->order_id, order);
    c->status = vehicle[0] ? LPG_CYL_LOADED : order[0] ? LPG_CYL_AT_CUSTOMER : LPG_CYL_IN_STOCK;
    return c;
}

/* Cylinders grouped by the vehicle they are aboard and the order they travel on, following
 * every put and remove. */
static void test_cylinder_groups(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    const struct lpg_cylinder *out[8];
    assert_int_equal(registry_put_cylinder(reg, cyl("C3", "V1", "O1")), 0);
    assert_int_equal(registry_put_cylinder(reg, cyl("C1", "V1", "O1")), 0);
    assert_int_equal(registry_put_cylinder(reg, cyl("C2", "V2", "O2")), 0);
    assert_int_equal(registry_put_cylinder(reg, cyl("C4", "", "")), 0);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V1", out, 8), 2);
    assert_string_equal(out[0]->id, "C1"); /* by code */
    assert_string_equal(out[1]->id, "C3");
    assert_int_equal(registry_cylinders_of_order(reg, "O2", out, 8), 1);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "", out, 8), 0);
    /* C1 handed over on O1: off the vehicle, still on the order. */
    assert_int_equal(registry_put_cylinder(reg, cyl("C1", "", "O1")), 0);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V1", out, 8), 1);
    assert_string_equal(out[0]->id, "C3");
    assert_int_equal(registry_cylinders_of_order(reg, "O1", out, 8), 2);
    /* C3 moved to V2 for O2; C4 loaded on V1. */
    assert_int_equal(registry_put_cylinder(reg, cyl("C3", "V2", "O2")), 0);
    assert_int_equal(registry_put_cylinder(reg, cyl("C4", "V1", "O3")), 0);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V2", out, 8), 2);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V1", out, 8), 1);
    assert_string_equal(out[0]->id, "C4");
    assert_int_equal(registry_cylinders_of_order(reg, "O1", out, 8), 1);
    assert_int_equal(registry_remove_cylinder(reg, "C3"), 0);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V2", out, 8), 1);
    assert_int_equal(registry_cylinders_of_order(reg, "O2", out, 8), 1);
    assert_int_equal(registry_remove_cylinder(reg, "C2"), 0);
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V2", out, 8), 0);
    assert_int_equal(registry_cylinders_of_order(reg, "O2", out, 8), 0);
    /* Many on one vehicle: the group grows. */
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "M%03d", 99 - i);
        assert_int_equal(registry_put_cylinder(reg, cyl(id, "V9", "O9")), 0);
    }
    assert_int_equal(registry_cylinders_on_vehicle(reg, "V9", out, 8), 100);
    assert_string_equal(out[0]->id, "M000");
    registry_free(reg);
}

static void test_staff_in_zone(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_int_equal(registry_put_staff(reg, new_staff("S3", "E1", "Z1")), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S1", "E1", "Z1")), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S2", "E1", "Z2")), 0);
    assert_int_equal(registry_put_staff(reg, new_staff("S0", "E1", "")), 0);
    const struct lpg_staff *out[4];
    assert_int_equal(registry_staff_in_zone(reg, "Z1", out, 4), 2);
    assert_string_equal(out[0]->id, "S1"); /* sorted by id */
    assert_string_equal(out[1]->id, "S3");
    assert_int_equal(registry_staff_in_zone(reg, "Z1", out, 1), 2); /* total beyond cap */
    assert_string_equal(out[0]->id, "S1");
    /* Rezone S2 into Z1; the old bucket empties. */
    struct lpg_staff *s2 = lpg_staff_dup(registry_staff(reg, "S2"));
    set_id(s2->zone_id, "Z1");
    assert_int_equal(registry_put_staff(reg, s2), 0);
    assert_int_equal(registry_staff_in_zone(reg, "Z2", out, 4), 0);
    assert_int_equal(registry_staff_in_zone(reg, "Z1", out, 4), 3);
    assert_string_equal(out[1]->id, "S2");
    assert_ptr_equal(out[1], s2);
    /* Replacing in the same zone returns the new object. */
    struct lpg_staff *s3 = lpg_staff_dup(registry_staff(reg, "S3"));
    assert_int_equal(registry_put_staff(reg, s3), 0);
    assert_int_equal(registry_staff_in_zone(reg, "Z1", out, 4), 3);
    assert_ptr_equal(out[2], s3);
    assert_int_equal(registry_remove_staff(reg, "S1"), 0);
    assert_int_equal(registry_staff_in_zone(reg, "Z1", out, 4), 2);
    assert_string_equal(out[0]->id, "S2");
    registry_free(reg);
}

/* ---- zones at a point ---- */

static struct geo_point at(double x, double y)
{
    return (struct geo_point){LON0 + U * x, LAT0 + U * y};
}

static void assert_zones(struct registry *reg, const char *ent, struct geo_point p, size_t cap,
                         size_t want_total, const char *want_ids)
{
    const struct lpg_zone *out[8];
    size_t n = registry_zones_at(reg, ent, p, out, cap);
    char got[128] = "";
    for (size_t i = 0; i < n && i < cap; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", out[i]->id);
    if (n != want_total || strcmp(got, want_ids) != 0)
        fail_msg("zones at (%.4f, %.4f) of %s: %zu [%s], want %zu [%s]", p.lon, p.lat,
                 ent ? ent : "*", n, got, want_total, want_ids);
}

static void test_zones_at(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    /* E1: zb 0..1 and za 1..2 side by side (added b first so index ids and id order differ),
     * zc 0..2 x 0..1 overlapping both; E2: zx 0..1 overlapping zb. */
    assert_int_equal(registry_put_zone(reg, new_zone("zb", "E1", 0, 0, 1, 1)), 0);
    assert_int_equal(registry_put_zone(reg, new_zone("za", "E1", 1, 0, 2, 1)), 0);
    assert_int_equal(registry_put_zone(reg, new_zone("zc", "E1", 0, 0, 2, 1)), 0);
    assert_int_equal(registry_put_zone(reg, new_zone("zx", "E2", 0, 0, 1, 1)), 0);
    /* Index ids dense, in order of arrival. */
    assert_int_equal(registry_zone(reg, "zb")->index_id, 0);
    assert_int_equal(registry_zone(reg, "za")->index_id, 1);
    assert_int_equal(registry_zone(reg, "zx")->index_id, 3);
    assert_zones(reg, "E1", at(0.5, 0.5), 8, 2, "zb zc");
    assert_zones(reg, "E1", at(1.5, 0.5), 8, 2, "za zc");
    /* On the shared edge x = 1: in both (boundary rule), ascending by id. */
    assert_zones(reg, "E1", at(1, 0.5), 8, 3, "za zb zc");
    assert_zones(reg, "E1", at(1, 0.5), 2, 3, "za zb"); /* cap: smallest ids, total */
    assert_zones(reg, "E2", at(1, 0.5), 8, 1, "zx");
    assert_zones(reg, NULL, at(0.5, 0.5), 8, 3, "zb zc zx");
    assert_zones(reg, "E1", at(5, 5), 8, 0, "");
    /* Remove zb: the index is rebuilt; its id is reused by the next new zone. */
    assert_int_equal(registry_remove_zone(reg, "zb"), 0);
    assert_zones(reg, "E1", at(1, 0.5), 8, 2, "za zc");
    assert_int_equal(registry_put_zone(reg, new_zone("zd", "E1", 4, 4, 6, 6)), 0);
    assert_int_equal(registry_zone(reg, "zd")->index_id, 0);
    assert_zones(reg, "E1", at(5, 5), 8, 1, "zd");
    /* Reshape zc (replace): keeps its index id, the index follows the new shape. */
    uint32_t zc_index = registry_zone(reg, "zc")->index_id;
    assert_int_equal(registry_put_zone(reg, new_zone("zc", "E1", 4, 4, 5, 5)), 0);
    assert_int_equal(registry_zone(reg, "zc")->index_id, zc_index);
    assert_zones(reg, "E1", at(1.5, 0.5), 8, 1, "za");
    assert_zones(reg, "E1", at(4.5, 4.5), 8, 2, "zc zd");
    registry_free(reg);
}

/* ---- waiting orders ---- */

static void assert_waiting(struct registry *reg, const char *want)
{
    const struct lpg_order *out[8];
    size_t n = registry_waiting_orders(reg, out, 8);
    char got[128] = "";
    for (size_t i = 0; i < n && i < 8; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", out[i]->id);
    if (strcmp(got, want) != 0)
        fail_msg("waiting [%s], want [%s]", got, want);
}

static void test_waiting(void **state)
{
    (void)state;
    struct registry *reg = registry_new();
    assert_int_equal(registry_put_order(reg, new_order("O3", "E1", 0, "", "", 1, 300)), 0);
    assert_int_equal(registry_put_order(reg, new_order("O1", "E1", 0, "", "", 1, 100)), 0);
    assert_int_equal(registry_put_order(reg, new_order("O2", "E1", 0, "", "", 1, 200)), 0);
    assert_int_equal(
        registry_put_order(reg, new_order("O9", "E1", LPG_ORDER_ASSIGNED, "S", "V", 1, 50)), 0);
    assert_waiting(reg, "O1 O2 O3");
    /* Same instant: by id. */
    assert_int_equal(registry_put_order(reg, new_order("O0", "E1", 0, "", "", 1, 200)), 0);
    assert_waiting(reg, "O1 O0 O2 O3");
    /* Assigned: leaves; replaced while waiting (a new reason): stays, once. */
    put_order_state(reg, "O1", LPG_ORDER_ASSIGNED, "S", "V", 1);
    struct lpg_order *o2 = lpg_order_dup(registry_order(reg, "O2"));
    snprintf(o2->reason, sizeof(o2->reason), "nobody eligible");
    assert_int_equal(registry_put_order(reg, o2), 0);
    assert_waiting(reg, "O0 O2 O3");
    const struct lpg_order *out[1];
    assert_int_equal(registry_waiting_orders(reg, out, 1), 3);
    assert_ptr_equal(out[0], registry_order(reg, "O0"));
    /* Back to created (assignment withdrawn): waits again by its creation time. */
    put_order_state(reg, "O9", LPG_ORDER_CREATED, "", "", 1);
    assert_waiting(reg, "O9 O0 O2 O3");
    put_order_state(reg, "O0", LPG_ORDER_CANCELLED, "", "", 1);
    put_order_state(reg, "O9", LPG_ORDER_CANCELLED, "", "", 1);
    assert_waiting(reg, "O2 O3");
    registry_free(reg);
}

/* ---- deep copies ---- */

static void test_dup(void **state)
{
    (void)state;
    struct lpg_zone *z = new_zone("Z1", "E1", 0, 0, 2, 1);
    struct lpg_zone *d = lpg_zone_dup(z);
    assert_non_null(d);
    assert_string_equal(d->id, "Z1");
    assert_ptr_not_equal(d->shape.pts, z->shape.pts);
    assert_ptr_not_equal(d->shape.mp.polys, z->shape.mp.polys);
    assert_memory_equal(d->shape.pts, z->shape.pts, 4 * sizeof(struct geo_point));
    assert_memory_equal(&d->shape.inside, &z->shape.inside, sizeof(struct geo_point));
    z->shape.pts[0].lon = 0;
    assert_true(d->shape.mp.polys[0].outer.pts[0].lon > 100);
    lpg_geometry_free(&z->shape);
    free(z);
    lpg_geometry_free(&d->shape);
    free(d);

    struct lpg_enterprise *e = new_enterprise("E1");
    struct lpg_enterprise *ed = lpg_enterprise_dup(e);
    assert_ptr_not_equal(ed->area.pts, e->area.pts);
    assert_int_equal(ed->utc_offset_min, 480);
    lpg_geometry_free(&e->area);
    free(e);
    assert_true(geo_multipolygon_contains(&ed->area.mp, at(50, 50)));
    lpg_geometry_free(&ed->area);
    free(ed);

    struct lpg_order *o = new_order("O1", "E1", LPG_ORDER_ASSIGNED, "S1", "V1", 3, 7);
    struct lpg_order *od = lpg_order_dup(o);
    assert_memory_equal(o, od, sizeof(*o));
    free(o);
    free(od);
    struct lpg_staff *s = new_staff("S1", "E1", "Z1");
    struct lpg_staff *sd = lpg_staff_dup(s);
    assert_memory_equal(s, sd, sizeof(*s));
    free(s);
    free(sd);
    struct lpg_vehicle *v = new_vehicle("V1", "E1", 3);
    struct lpg_vehicle *vd = lpg_vehicle_dup(v);
    assert_memory_equal(v, vd, sizeof(*v));
    free(v);
    free(vd);
    assert_null(lpg_customer_dup(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_replace_remove),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_staff_in_zone),
        cmocka_unit_test(test_cylinder_groups),
        cmocka_unit_test(test_zones_at),
        cmocka_unit_test(test_waiting),
        cmocka_unit_test(test_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
