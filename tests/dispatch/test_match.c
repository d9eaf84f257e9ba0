/* test_match.c -- dispatch/core/match.c: one table row per eligibility condition (each alone makes
 * an otherwise eligible person ineligible, and both match_order's reason and match_staff_eligible's
 * why name it), the boundaries that stay eligible, the per-zone tally, ranking (distance, then
 * active orders, then id), a customer on the border of two zones, a vehicle without a position (the
 * zone's inside point), certificate expiry in the enterprise's local time (UTC+8), and bad input.
 *
 * World: enterprise E1 (UTC+8); zones Z1 = grid 0..10 x 0..10 and Z2 = 10..20 x 0..10 sharing
 * the edge x = 10, in units of 0.01 degree from (119.70E, 49.20N); customer C1 at (5, 5) in Z1,
 * C2 at (10, 5) on the shared edge, C3 at (30, 30) in no zone. "Now" is 2026-06-15T02:00Z,
 * 10:00 local on 2026-06-15.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/match.h"

#define LON0 119.70 /* degrees east */
#define LAT0 49.20  /* degrees north */
#define U    0.01   /* degrees per grid unit */

static struct geo_point at(double x, double y)
{
    return (struct geo_point){LON0 + U * x, LAT0 + U * y};
}

static int32_t day_of(const char *ymd)
{
    int32_t d;
    assert_int_equal(lpg_day_parse(ymd, &d), 0);
    return d;
}

/* UTC instant of a UTC date and time. */
static int64_t utc_ms(const char *ymd, int hh, int mm, int ss)
{
    return ((int64_t)day_of(ymd) * 86400 + hh * 3600 + mm * 60 + ss) * 1000;
}

#define NOW utc_ms("2026-06-15", 2, 0, 0)

static void set_id(char *dst, const char *src)
{
    snprintf(dst, LPG_ID_MAX + 1, "%s", src);
}

static void rect_geometry(struct lpg_geometry *g, double x0, double y0, double x1, double y1)
{
    memset(g, 0, sizeof(*g));
    g->pts = calloc(4, sizeof(*g->pts));
    g->rings = calloc(1, sizeof(*g->rings));
    g->polys = calloc(1, sizeof(*g->polys));
    assert_true(g->pts && g->rings && g->polys);
    double xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
    for (int i = 0; i < 4; i++)
        g->pts[i] = at(xs[i], ys[i]);
    g->rings[0] = (struct geo_ring){g->pts, 4};
    g->polys[0] = (struct geo_polygon){g->rings[0], NULL, 0};
    g->mp = (struct geo_multipolygon){g->polys, 1};
    assert_int_equal(lpg_geometry_finish(g), GEO_OK);
}

static void put_zone(struct registry *reg, const char *id, double x0, double y0, double x1,
                     double y1)
{
    struct lpg_zone *z = calloc(1, sizeof(*z));
    assert_non_null(z);
    set_id(z->id, id);
    set_id(z->enterprise_id, "E1");
    rect_geometry(&z->shape, x0, y0, x1, y1);
    assert_int_equal(registry_put_zone(reg, z), 0);
}

static void put_customer(struct registry *reg, const char *id, const char *ent, double x, double y)
{
    struct lpg_customer *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    set_id(c->id, id);
    set_id(c->enterprise_id, ent);
    c->location = at(x, y);
    assert_int_equal(registry_put_customer(reg, c), 0);
}

static struct registry *world(void)
{
    struct registry *reg = registry_new();
    assert_non_null(reg);
    struct lpg_enterprise *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    set_id(e->id, "E1");
    e->utc_offset_min = 480;
    e->licence_expiry_day = LPG_DAY_NONE;
    rect_geometry(&e->area, -10, -10, 50, 50);
    assert_int_equal(registry_put_enterprise(reg, e), 0);
    put_zone(reg, "Z1", 0, 0, 10, 10);
    put_zone(reg, "Z2", 10, 0, 20, 10);
    put_customer(reg, "C1", "E1", 5, 5);
    put_customer(reg, "C2", "E1", 10, 5);
    put_customer(reg, "C3", "E1", 30, 30);
    put_customer(reg, "CX", "E2", 5, 5);
    return reg;
}

/* An eligible person and vehicle: on duty, certificates until 2027-01-01, vehicle "V-<id>"
 * bound both ways with a permit, capacity 10, at grid (x, y) (no position if x < 0). */
static void good_staff(struct lpg_staff *s, struct lpg_vehicle *v, const char *id, const char *zone,
                       double x, double y)
{
    memset(s, 0, sizeof(*s));
    memset(v, 0, sizeof(*v));
    set_id(s->id, id);
    set_id(s->enterprise_id, "E1");
    set_id(s->zone_id, zone);
    s->role = LPG_ROLE_DELIVERY;
    s->on_duty = true;
    set_id(s->qualification_no, "QC-1");
    s->qualification_expiry_day = day_of("2027-01-01");
    set_id(s->training_no, "ST-1");
    s->training_expiry_day = day_of("2027-01-01");
    snprintf(s->vehicle_id, sizeof(s->vehicle_id), "V-%s", id);
    set_id(v->id, s->vehicle_id);
    set_id(v->enterprise_id, "E1");
    set_id(v->staff_id, id);
    set_id(v->permit_no, "DG-1");
    v->permit_expiry_day = day_of("2027-01-01");
    v->capacity = 10;
    v->kind = LPG_VEHICLE_VAN; /* a van needs no escort (a truck does: the escort cases) */
    v->has_position = x >= 0;
    if (v->has_position)
        v->position = at(x, y);
}

static void put_pair(struct registry *reg, const struct lpg_staff *s, const struct lpg_vehicle *v)
{
    assert_int_equal(registry_put_staff(reg, lpg_staff_dup(s)), 0);
    assert_int_equal(registry_put_vehicle(reg, lpg_vehicle_dup(v)), 0);
}

static void add_staff(struct registry *reg, const char *id, const char *zone, double x, double y)
{
    struct lpg_staff s;
    struct lpg_vehicle v;
    good_staff(&s, &v, id, zone, x, y);
    put_pair(reg, &s, &v);
}

/* An active order holding `cylinders` on staff's vehicle. */
static void put_active_order(struct registry *reg, const char *id, const char *staff,
                             int32_t cylinders)
{
    struct lpg_order *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    set_id(o->id, id);
    set_id(o->enterprise_id, "E1");
    set_id(o->customer_id, "C1");
    o->state = LPG_ORDER_ASSIGNED;
    set_id(o->staff_id, staff);
    snprintf(o->vehicle_id, sizeof(o->vehicle_id), "V-%s", staff);
    o->n_items = 1;
    set_id(o->items[0].spec, "YSP-35.5");
    o->items[0].count = cylinders;
    assert_int_equal(registry_put_order(reg, o), 0);
}

/* The order matched: customer, cylinders. */
static struct lpg_order order_for(const char *customer, int32_t cylinders)
{
    struct lpg_order o;
    memset(&o, 0, sizeof(o));
    set_id(o.id, "O1");
    set_id(o.enterprise_id, "E1");
    set_id(o.customer_id, customer);
    o.n_items = 1;
    set_id(o.items[0].spec, "YSP-35.5");
    o.items[0].count = cylinders;
    return o;
}

/* ---- one row per condition ---- */

typedef void spoil_fn(struct registry *reg, struct lpg_staff *s, struct lpg_vehicle *v);

static void off_duty(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->on_duty = false;
}
static void in_rest(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->rest_until_ms = NOW + (2 * 60 + 30) * 60000; /* 04:30Z = 12:30 local */
}
static void qual_missing(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->qualification_no[0] = '\0';
}
static void qual_no_date(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->qualification_expiry_day = LPG_DAY_NONE;
}
static void qual_expired(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->qualification_expiry_day = day_of("2026-06-14");
}
static void training_missing(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->training_no[0] = '\0';
}
static void training_expired(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->training_expiry_day = day_of("2026-06-14");
}
/* Valid from tomorrow (local 2026-06-16): the waiting reason names the day. */
static void qual_not_yet(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->qualification_from_day = day_of("2026-06-16");
}
static void training_not_yet(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->training_from_day = day_of("2026-06-20");
}
static void no_vehicle(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->vehicle_id[0] = '\0';
}
static void vehicle_unknown(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    set_id(s->vehicle_id, "V404");
}
static void vehicle_bound_elsewhere(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    set_id(v->staff_id, "S9");
}
static void vehicle_other_enterprise(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    set_id(v->enterprise_id, "E2");
}
static void permit_missing(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    v->permit_no[0] = '\0';
}
static void permit_expired(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    v->permit_expiry_day = day_of("2026-06-14");
}
static void vehicle_full(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)v;
    put_active_order(r, "O-load", s->id, 9); /* 9 of 10 committed; the order needs 2 */
}
static void staff_other_enterprise(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r;
    set_id(s->enterprise_id, "E2"); /* with its vehicle, in E1's zone */
    set_id(v->enterprise_id, "E2");
}
static void escort(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->role = LPG_ROLE_ESCORT;
}
static void zone_elsewhere(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    set_id(s->zone_id, "Z2");
}
static void zone_none(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->zone_id[0] = '\0';
}
static void vehicle_held(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    set_id(v->driver_hold, "card refused");
}

/* The enterprise's gas business licence ran out yesterday (local): it supplies nobody. */
static void enterprise_licence_expired(struct registry *r, struct lpg_staff *s,
                                       struct lpg_vehicle *v)
{
    (void)s, (void)v;
    struct lpg_enterprise *e = lpg_enterprise_dup(registry_enterprise(r, "E1"));
    assert_non_null(e);
    set_id(e->licence_no, "GL-1");
    e->licence_expiry_day = day_of("2026-06-14");
    assert_int_equal(registry_put_enterprise(r, e), 0);
}

/* A truck needs an escort beside the driver: none bound. */
static void truck_without_escort(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    v->kind = LPG_VEHICLE_TRUCK;
}
/* A truck whose escort's training certificate ran out yesterday. */
static void truck_escort_expired(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    struct lpg_staff e;
    struct lpg_vehicle unused;
    good_staff(&e, &unused, "ES1", "", -1, 0);
    e.role = LPG_ROLE_ESCORT;
    e.vehicle_id[0] = '\0';
    e.training_expiry_day = day_of("2026-06-14");
    assert_int_equal(registry_put_staff(r, lpg_staff_dup(&e)), 0);
    (void)s;
    v->kind = LPG_VEHICLE_TRUCK;
    set_id(v->escort_id, "ES1");
}

struct refusal_case {
    const char *name;
    spoil_fn *spoil;
    const char *reason; /* match_order's, exactly */
    const char *why;    /* match_staff_eligible's, exactly */
};

static const struct refusal_case refusal_cases[] = {
    {"off duty", off_duty, "zone Z1: 1 staff; 1 off duty", "off duty"},
    {"escort", escort, "zone Z1: 1 staff; 1 escort (does not deliver)",
     "escort (does not deliver)"},
    {"in rest", in_rest, "zone Z1: 1 staff; 1 in mandatory rest until 2026-06-15 12:30",
     "in mandatory rest until 2026-06-15 12:30"},
    {"qualification number missing", qual_missing,
     "zone Z1: 1 staff; 1 qualification certificate missing", "qualification certificate missing"},
    {"qualification date missing", qual_no_date,
     "zone Z1: 1 staff; 1 qualification certificate missing", "qualification certificate missing"},
    {"qualification expired", qual_expired,
     "zone Z1: 1 staff; 1 qualification certificate expired 2026-06-14",
     "qualification certificate expired 2026-06-14"},
    {"training missing", training_missing,
     "zone Z1: 1 staff; 1 safety-training certificate missing",
     "safety-training certificate missing"},
    {"training expired", training_expired,
     "zone Z1: 1 staff; 1 safety-training certificate expired 2026-06-14",
     "safety-training certificate expired 2026-06-14"},
    {"qualification not valid yet", qual_not_yet,
     "zone Z1: 1 staff; 1 qualification certificate valid from 2026-06-16",
     "qualification certificate valid from 2026-06-16"},
    {"training not valid yet", training_not_yet,
     "zone Z1: 1 staff; 1 safety-training certificate valid from 2026-06-20",
     "safety-training certificate valid from 2026-06-20"},
    {"no vehicle", no_vehicle, "zone Z1: 1 staff; 1 no vehicle bound", "no vehicle bound"},
    {"vehicle unknown", vehicle_unknown, "zone Z1: 1 staff; 1 no vehicle bound",
     "bound vehicle not found"},
    {"vehicle bound to another person", vehicle_bound_elsewhere,
     "zone Z1: 1 staff; 1 no vehicle bound", "bound vehicle is bound to another person"},
    {"vehicle of another enterprise", vehicle_other_enterprise,
     "zone Z1: 1 staff; 1 no vehicle bound", "bound vehicle belongs to another enterprise"},
    {"permit missing", permit_missing, "zone Z1: 1 staff; 1 vehicle permit missing",
     "vehicle permit missing"},
    {"permit expired", permit_expired, "zone Z1: 1 staff; 1 vehicle permit expired 2026-06-14",
     "vehicle permit expired 2026-06-14"},
    {"vehicle full", vehicle_full, "zone Z1: 1 staff; 1 vehicle full (9/10, order needs 2)",
     "vehicle full (9/10, order needs 2)"},
    {"staff of another enterprise", staff_other_enterprise,
     "zone Z1: 1 staff; 1 of another enterprise", "of another enterprise"},
    {"zone not containing the customer", zone_elsewhere, "zone Z1 has no staff",
     "zone Z2 does not contain the customer's location"},
    {"no zone", zone_none, "zone Z1 has no staff", "not assigned to a zone"},
    {"truck without an escort", truck_without_escort,
     "zone Z1: 1 staff; 1 no escort on board (the vehicle's kind needs one)",
     "no escort on board (the vehicle's kind needs one)"},
    {"truck whose escort's certificate expired", truck_escort_expired,
     "zone Z1: 1 staff; 1 escort's certificates not in force",
     "escort's certificates not in force"},
    {"enterprise licence expired", enterprise_licence_expired,
     "enterprise E1's gas business licence GL-1 expired on 2026-06-14",
     "enterprise E1's gas business licence GL-1 expired on 2026-06-14"},
    {"vehicle held (driver's card)", vehicle_held, "zone Z1: 1 staff; 1 vehicle held: card refused",
     "vehicle held: card refused"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refusal_cases) / sizeof(refusal_cases[0]); i++) {
        const struct refusal_case *c = &refusal_cases[i];
        struct registry *reg = world();
        struct lpg_staff s;
        struct lpg_vehicle v;
        good_staff(&s, &v, "S1", "Z1", 5, 6);
        c->spoil(reg, &s, &v);
        put_pair(reg, &s, &v);
        struct lpg_order o = order_for("C1", 2);
        struct match_result r;
        int rc = match_order(reg, &o, NOW, &r);
        if (rc != 1 || r.staff != NULL || strcmp(r.reason, c->reason) != 0)
            fail_msg("%s: rc %d, reason \"%s\", want \"%s\"", c->name, rc, r.reason, c->reason);
        char why[LPG_TEXT_MAX + 1];
        bool ok = match_staff_eligible(reg, &o, registry_staff(reg, "S1"), NOW, why, sizeof(why));
        if (ok || strcmp(why, c->why) != 0)
            fail_msg("%s: eligible %d, why \"%s\", want \"%s\"", c->name, ok, why, c->why);
        registry_free(reg);
    }
}

/* The same person unspoiled, and the boundaries that are still eligible. */
static void at_rest_end(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->rest_until_ms = NOW; /* rest ends now: rest_until_ms <= now */
}
static void expiring_today(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r;
    s->qualification_expiry_day = s->training_expiry_day = v->permit_expiry_day =
        day_of("2026-06-15");
}
static void exactly_full(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)v;
    put_active_order(r, "O-load", s->id, 8); /* 8 + 2 = 10 */
}
static void vehicle_mirror_empty(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s;
    v->staff_id[0] = '\0'; /* the back-reference is tolerated when empty */
}
static void unspoiled(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)s, (void)v;
}

/* Valid from today (local): eligible from local midnight. */
static void valid_from_today(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    (void)r, (void)v;
    s->qualification_from_day = day_of("2026-06-15");
    s->training_from_day = LPG_DAY_NONE;
}

/* A truck with a certified escort bound beside the driver. */
static void truck_with_escort(struct registry *r, struct lpg_staff *s, struct lpg_vehicle *v)
{
    truck_escort_expired(r, s, v);
    struct lpg_staff *e = lpg_staff_dup(registry_staff(r, "ES1"));
    assert_non_null(e);
    e->training_expiry_day = day_of("2026-06-15"); /* valid through today */
    assert_int_equal(registry_put_staff(r, e), 0);
}

static void test_still_eligible(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        spoil_fn *spoil;
    } cases[] = {{"unspoiled", unspoiled},
                 {"rest ends now", at_rest_end},
                 {"documents expire today", expiring_today},
                 {"certificate valid from today", valid_from_today},
                 {"vehicle exactly full", exactly_full},
                 {"vehicle back-reference empty", vehicle_mirror_empty},
                 {"truck with a certified escort", truck_with_escort}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct registry *reg = world();
        struct lpg_staff s;
        struct lpg_vehicle v;
        good_staff(&s, &v, "S1", "Z1", 5, 6);
        cases[i].spoil(reg, &s, &v);
        put_pair(reg, &s, &v);
        struct lpg_order o = order_for("C1", 2);
        struct match_result r;
        int rc = match_order(reg, &o, NOW, &r);
        if (rc != 0 || r.staff == NULL || strcmp(r.staff->id, "S1") != 0 || r.reason[0])
            fail_msg("%s: rc %d, reason \"%s\"", cases[i].name, rc, r.reason);
        assert_ptr_equal(r.vehicle, registry_vehicle(reg, "V-S1"));
        char why[64] = "x";
        if (!match_staff_eligible(reg, &o, r.staff, NOW, why, sizeof(why)))
            fail_msg("%s: not eligible: %s", cases[i].name, why);
        registry_free(reg);
    }
}

/* Several staff, several causes: counted per cause, earliest date, the fullest-but-roomiest
 * vehicle named. */
static void test_tally(void **state)
{
    (void)state;
    struct registry *reg = world();
    struct lpg_staff s;
    struct lpg_vehicle v;
    good_staff(&s, &v, "SA", "Z1", 5, 6);
    s.on_duty = false;
    s.qualification_expiry_day = day_of("2026-06-01");
    put_pair(reg, &s, &v);
    good_staff(&s, &v, "SB", "Z1", 5, 6);
    s.qualification_expiry_day = day_of("2026-05-01");
    put_pair(reg, &s, &v);
    add_staff(reg, "SC", "Z1", 5, 6);
    put_active_order(reg, "OC", "SC", 9); /* 1 spare */
    add_staff(reg, "SD", "Z1", 5, 6);
    put_active_order(reg, "OD", "SD", 8); /* 2 spare: named */
    struct lpg_order o = order_for("C1", 3);
    struct match_result r;
    assert_int_equal(match_order(reg, &o, NOW, &r), 1);
    assert_string_equal(r.reason, "zone Z1: 4 staff; 1 off duty, 2 qualification certificate "
                                  "expired 2026-05-01, 2 vehicle full (8/10, order needs 3)");
    /* One person, two causes: both named. */
    char why[LPG_TEXT_MAX + 1];
    assert_false(match_staff_eligible(reg, &o, registry_staff(reg, "SA"), NOW, why, sizeof(why)));
    assert_string_equal(why, "off duty, qualification certificate expired 2026-06-01");
    /* A tiny buffer is truncated, never overrun. */
    char tiny[8];
    assert_false(match_staff_eligible(reg, &o, registry_staff(reg, "SA"), NOW, tiny, sizeof(tiny)));
    assert_string_equal(tiny, "off ...");
    registry_free(reg);
}

/* ---- ranking ---- */

static void test_rank_distance(void **state)
{
    (void)state;
    struct registry *reg = world();
    add_staff(reg, "S-far", "Z1", 5, 9);
    add_staff(reg, "S-near", "Z1", 5, 6);
    add_staff(reg, "S-mid", "Z1", 5, 7);
    struct lpg_order o = order_for("C1", 1);
    struct match_result r;
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S-near");
    assert_string_equal(r.vehicle->id, "V-S-near");
    /* 0.01 degree of latitude: 1111.95 m on the sphere R = 6371008.8 m (pi R / 18000). */
    assert_true(r.distance_m > 1111.9 && r.distance_m < 1112.0);
    registry_free(reg);
}

static void test_rank_load_then_id(void **state)
{
    (void)state;
    struct registry *reg = world();
    add_staff(reg, "S-c", "Z1", 5, 6);
    add_staff(reg, "S-b", "Z1", 5, 6);
    add_staff(reg, "S-a", "Z1", 5, 6);
    put_active_order(reg, "O-a1", "S-a", 1);
    put_active_order(reg, "O-a2", "S-a", 1);
    put_active_order(reg, "O-b1", "S-b", 1);
    put_active_order(reg, "O-c1", "S-c", 1);
    /* Same distance; S-a has 2 active orders, S-b and S-c 1: S-b by id. */
    struct lpg_order o = order_for("C1", 1);
    struct match_result r;
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S-b");
    /* Equal loads everywhere: the smallest id. */
    put_active_order(reg, "O-b2", "S-b", 1);
    put_active_order(reg, "O-c2", "S-c", 1);
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S-a");
    registry_free(reg);
}

/* A vehicle without a fix is placed at its zone's inside point: Z1's is its centre (5, 5)
 * (the line through the centroid crosses at x = 0 and 10). Customer C4 at (5.1, 5) is 0.1 unit
 * east of it; the other vehicle is 0.4 unit east of C4. */
static void test_no_position_uses_inside_point(void **state)
{
    (void)state;
    struct registry *reg = world();
    put_customer(reg, "C4", "E1", 5.1, 5);
    add_staff(reg, "S-fix", "Z1", 5.5, 5);
    add_staff(reg, "S-nofix", "Z1", -1, -1);
    struct lpg_order o = order_for("C4", 1);
    struct match_result r;
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S-nofix");
    const struct lpg_zone *z1 = registry_zone(reg, "Z1");
    assert_true(fabs(z1->shape.inside.lon - at(5, 5).lon) < 1e-12);
    assert_true(fabs(z1->shape.inside.lat - at(5, 5).lat) < 1e-12);
    assert_true(r.distance_m == geo_distance_m(z1->shape.inside, at(5.1, 5)));
    registry_free(reg);
}

/* C2 lies on the edge shared by Z1 and Z2: it is in both, and both zones' staff compete. */
static void test_border_of_two_zones(void **state)
{
    (void)state;
    struct registry *reg = world();
    struct lpg_staff s;
    struct lpg_vehicle v;
    good_staff(&s, &v, "S1", "Z1", 9, 5); /* 1 unit west of C2 */
    s.on_duty = false;
    put_pair(reg, &s, &v);
    struct lpg_order o = order_for("C2", 1);
    struct match_result r;
    assert_int_equal(match_order(reg, &o, NOW, &r), 1);
    assert_string_equal(r.reason, "zone Z1: 1 staff; 1 off duty; zone Z2 has no staff");
    add_staff(reg, "S2", "Z2", 12, 5); /* 2 units east */
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S2"); /* only Z2's person is eligible */
    s.on_duty = true;
    put_pair(reg, &s, &v);
    assert_int_equal(match_order(reg, &o, NOW, &r), 0);
    assert_string_equal(r.staff->id, "S1"); /* both eligible: the nearer, from the other zone */
    char why[LPG_TEXT_MAX + 1];
    assert_true(match_staff_eligible(reg, &o, registry_staff(reg, "S2"), NOW, why, sizeof(why)));
    registry_free(reg);
}

/* The qualification certificate expires on 2026-10-01, local (UTC+8) calendar: valid until
 * 2026-10-01T23:59:59 local = 15:59:59Z, invalid from 16:00Z (2026-10-02 local). */
static void test_expiry_in_local_time(void **state)
{
    (void)state;
    struct registry *reg = world();
    struct lpg_staff s;
    struct lpg_vehicle v;
    good_staff(&s, &v, "S1", "Z1", 5, 6);
    s.qualification_expiry_day = day_of("2026-10-01");
    v.permit_expiry_day = day_of("2027-01-01");
    put_pair(reg, &s, &v);
    struct lpg_order o = order_for("C1", 1);
    struct match_result r;
    static const struct {
        int hh, mm, ss;
        int rc;
    } cases[] = {
        {0, 0, 0, 0},    /* 08:00 local on 10-01 */
        {15, 59, 59, 0}, /* 23:59:59 local, the expiry day's last second */
        {16, 0, 0, 1},   /* 00:00 local on 10-02 */
        {16, 30, 0, 1},  /* the brief's example: already 2026-10-02 locally */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t now = utc_ms("2026-10-01", cases[i].hh, cases[i].mm, cases[i].ss);
        int rc = match_order(reg, &o, now, &r);
        if (rc != cases[i].rc)
            fail_msg("%02d:%02d:%02dZ: rc %d, want %d (%s)", cases[i].hh, cases[i].mm, cases[i].ss,
                     rc, cases[i].rc, r.reason);
        if (rc == 1)
            assert_string_equal(r.reason,
                                "zone Z1: 1 staff; 1 qualification certificate expired 2026-10-01");
    }
    registry_free(reg);
}

static void test_no_zone_and_bad_input(void **state)
{
    (void)state;
    struct registry *reg = world();
    add_staff(reg, "S1", "Z1", 5, 6);
    struct match_result r;
    struct lpg_order o = order_for("C3", 1);
    assert_int_equal(match_order(reg, &o, NOW, &r), 1);
    assert_null(r.staff);
    assert_string_equal(r.reason, "no zone of enterprise E1 contains the customer's location");

    o = order_for("C404", 1);
    assert_int_equal(match_order(reg, &o, NOW, &r), -1);
    assert_string_equal(r.reason, "customer C404 not found");
    o = order_for("CX", 1); /* E2's customer on an E1 order */
    assert_int_equal(match_order(reg, &o, NOW, &r), -1);
    assert_string_equal(r.reason, "customer CX is not a customer of enterprise E1");
    o = order_for("C1", 1);
    set_id(o.enterprise_id, "E2");
    put_customer(reg, "C1", "E2", 5, 5);
    assert_int_equal(match_order(reg, &o, NOW, &r), -1);
    assert_string_equal(r.reason, "enterprise E2 not found");
    assert_int_equal(match_order(reg, NULL, NOW, &r), -1);
    assert_int_equal(match_order(reg, &o, NOW, NULL), -1);
    char why[8];
    assert_false(match_staff_eligible(reg, &o, NULL, NOW, why, sizeof(why)));
    assert_false(match_staff_eligible(reg, &o, registry_staff(reg, "S1"), NOW, NULL, 0));
    registry_free(reg);
}

/* ---- time: windows, lateness, the next instant ---- */

/* Offered from the window's start less the lead, not before; the reason in local time. */
static void test_window_wait(void **state)
{
    (void)state;
    struct lpg_order o = order_for("C1", 1);
    char why[LPG_TEXT_MAX + 1];
    assert_int_equal(match_window_wait(&o, NOW, 3600000, 480, why, sizeof(why)), 0); /* open */
    assert_string_equal(why, "");
    o.window_start_ms = NOW + 3 * 3600000; /* 05:00Z = 13:00 local */
    assert_int_equal(match_window_wait(&o, NOW, 3600000, 480, why, sizeof(why)), NOW + 2 * 3600000);
    assert_string_equal(why,
                        "delivery window starts 2026-06-15 13:00; offered to staff from 2026-06-15 "
                        "12:00");
    /* At the instant start - lead it may be offered; lead 0: at the start. */
    assert_int_equal(match_window_wait(&o, NOW + 2 * 3600000, 3600000, 480, why, sizeof(why)), 0);
    assert_int_equal(match_window_wait(&o, NOW + 2 * 3600000, 0, 480, NULL, 0), NOW + 3 * 3600000);
}

static void test_order_late(void **state)
{
    (void)state;
    struct lpg_order o = order_for("C1", 1);
    assert_false(match_order_late(&o, NOW)); /* no window end */
    o.window_end_ms = NOW;
    assert_true(match_order_late(&o, NOW)); /* ended at now */
    assert_false(match_order_late(&o, NOW - 1));
    o.state = LPG_ORDER_EN_ROUTE;
    assert_true(match_order_late(&o, NOW));
    o.late = true; /* once */
    assert_false(match_order_late(&o, NOW));
    o.late = false;
    o.state = LPG_ORDER_DELIVERED;
    assert_false(match_order_late(&o, NOW));
    o.state = LPG_ORDER_CANCELLED;
    assert_false(match_order_late(&o, NOW));
}

static void put_waiting(struct registry *reg, const char *id, int64_t window_start,
                        int64_t window_end)
{
    struct lpg_order *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    *o = order_for("C1", 1);
    set_id(o->id, id);
    o->created_ms = NOW - 1000;
    o->window_start_ms = window_start;
    o->window_end_ms = window_end;
    assert_int_equal(registry_put_order(reg, o), 0);
}

/* The earliest of: a rest's end, the next local midnight, a window start less the lead (these
 * three only while an order waits), an open order's window end. */
static void test_next_instant(void **state)
{
    (void)state;
    struct registry *reg = world();
    int64_t midnight = utc_ms("2026-06-15", 16, 0, 0); /* 00:00 local on 06-16 */
    assert_int_equal(match_next_instant(reg, NOW, 0), INT64_MAX);
    struct lpg_staff s;
    struct lpg_vehicle v;
    good_staff(&s, &v, "S1", "Z1", 1, 1);
    s.rest_until_ms = NOW + 20 * 60000;
    put_pair(reg, &s, &v);
    /* Nobody waits: the rest does not matter. */
    assert_int_equal(match_next_instant(reg, NOW, 0), INT64_MAX);
    /* An assigned order whose window ends in 5 h: it may become late. */
    put_active_order(reg, "OA", "S1", 1);
    struct lpg_order *oa = lpg_order_dup(registry_order(reg, "OA"));
    oa->window_end_ms = NOW + 5 * 3600000;
    assert_int_equal(registry_put_order(reg, oa), 0);
    assert_int_equal(match_next_instant(reg, NOW, 0), NOW + 5 * 3600000);
    /* A waiting order: the rest's end comes first. */
    put_waiting(reg, "OW", 0, 0);
    assert_int_equal(match_next_instant(reg, NOW, 0), NOW + 20 * 60000);
    /* Past the rest: midnight (local), before the window end. */
    assert_int_equal(match_next_instant(reg, NOW + 20 * 60000, 0), NOW + 5 * 3600000);
    assert_int_equal(match_next_instant(reg, NOW + 6 * 3600000, 0), NOW + 6 * 3600000); /* late */
    /* A window opening in 10 min with a 5 min lead. */
    put_waiting(reg, "OW2", NOW + 10 * 60000, 0);
    assert_int_equal(match_next_instant(reg, NOW, 5 * 60000), NOW + 5 * 60000);
    /* Without the rest and the assigned order's end: the midnight. */
    assert_int_equal(registry_remove_staff(reg, "S1"), 0);
    oa = lpg_order_dup(registry_order(reg, "OA"));
    oa->late = true;
    assert_int_equal(registry_put_order(reg, oa), 0);
    assert_int_equal(match_next_instant(reg, NOW + 10 * 60000, 0), midnight);
    registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_still_eligible),
        cmocka_unit_test(test_tally),
        cmocka_unit_test(test_rank_distance),
        cmocka_unit_test(test_rank_load_then_id),
        cmocka_unit_test(test_no_position_uses_inside_point),
        cmocka_unit_test(test_border_of_two_zones),
        cmocka_unit_test(test_expiry_in_local_time),
        cmocka_unit_test(test_no_zone_and_bad_input),
        cmocka_unit_test(test_window_wait),
        cmocka_unit_test(test_order_late),
        cmocka_unit_test(test_next_instant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
