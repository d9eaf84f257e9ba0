/*
 * test_model_json.c - entities <-> JSON (model_json.c): RFC 3339 instants against vectors
 * computed independently (Python datetime); round trips of every entity (struct -> JSON -> struct
 * is the identity for stored records, and for client input minus the server-owned fields);
 * golden output; one case per validation error class with the exact field path; GeoJSON
 * (holes, MultiPolygon, Feature, wrong types, swapped axes, too few points, unclosed rings,
 * the vertex cap); PATCH semantics; order events.
 *
 * JSON in the tables is written with single quotes for readability; J() turns them into double
 * quotes (no test string contains an apostrophe).
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

#include "core/model_json.h"

/* ---- helpers ---- */

static json_t *J(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", e.text, s);
    free(s);
    return j;
}

/* Compact dump with sorted keys, for golden comparisons; caller frees. 15 significant digits
 * (jansson's default 17 writes 119.6 as 119.59999999999999). */
static char *dump(const json_t *j)
{
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    assert_non_null(s);
    return s;
}

static void assert_json_text(json_t *j, const char *expected_single_quoted)
{
    char *exp = strdup(expected_single_quoted);
    for (char *p = exp; *p; p++)
        if (*p == '\'')
            *p = '"';
    char *got = dump(j);
    if (strcmp(got, exp) != 0)
        fail_msg("JSON differs:\n got: %s\nwant: %s", got, exp);
    free(got);
    free(exp);
    json_decref(j);
}

static int32_t day_of(const char *ymd)
{
    int32_t d;
    assert_int_equal(lpg_day_parse(ymd, &d), 0);
    return d;
}

#define T_2026_06_01   1780272000000LL /* 2026-06-01T00:00:00.000Z */
#define T_2026_11_28_X 1795900522123LL /* 2026-11-28T21:15:22.123Z */

/* Geometry equality by content: same parts, rings and vertices. */
static void assert_geometry_equal(const struct lpg_geometry *a, const struct lpg_geometry *b)
{
    assert_int_equal(a->mp.n_polys, b->mp.n_polys);
    for (size_t i = 0; i < a->mp.n_polys; i++) {
        const struct geo_polygon *pa = &a->mp.polys[i], *pb = &b->mp.polys[i];
        assert_int_equal(pa->n_holes, pb->n_holes);
        for (size_t r = 0; r <= pa->n_holes; r++) {
            const struct geo_ring *ra = r == 0 ? &pa->outer : &pa->holes[r - 1];
            const struct geo_ring *rb = r == 0 ? &pb->outer : &pb->holes[r - 1];
            assert_int_equal(ra->n, rb->n);
            assert_memory_equal(ra->pts, rb->pts, ra->n * sizeof(struct geo_point));
        }
    }
}

/* ---- instants ---- */

static void test_instants(void **state)
{
    (void)state;
    const struct {
        const char *s;
        int64_t ms; /* -1: refused */
    } cases[] = {
        {"2026-11-28T21:15:22.123Z", T_2026_11_28_X},
        {"2026-11-29T05:15:22.123+08:00", T_2026_11_28_X},
        {"2026-11-28T20:15:22.123-01:00", T_2026_11_28_X},
        {"2026-11-28t21:15:22.123z", T_2026_11_28_X},
        {"2026-11-28T21:15:22.1239999Z", T_2026_11_28_X}, /* truncated to ms */
        {"2026-11-28T21:15:22.12Z", T_2026_11_28_X - 3},
        {"2026-06-01T00:00:00Z", T_2026_06_01},
        {"2000-02-29T00:00:00.000Z", 951782400000LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
        {"1970-01-01T00:00:00.001Z", 1},
        {"1970-01-01T00:00:00.000Z", -1}, /* 0 is "none" */
        {"1969-12-31T23:59:59Z", -1},
        {"2026-02-30T00:00:00Z", -1},
        {"2026-11-28T24:00:00Z", -1},
        {"2026-11-28T23:60:00Z", -1},
        {"2026-11-28T23:59:60Z", -1}, /* leap second */
        {"2026-11-28T21:15:22", -1},  /* no offset */
        {"2026-11-28 21:15:22Z", -1},
        {"2026-11-28T21:15:22.Z", -1},
        {"2026-11-28T21:15:22.1234567890Z", -1},
        {"2026-11-28T21:15:22+8:00", -1},
        {"2026-11-28T21:15:22+08:00x", -1},
        {"2026-11-28T21:15:22ZZ", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 42;
        int rc = lpg_json_instant_parse(cases[i].s, &ms);
        if (cases[i].ms < 0) {
            if (rc != -1)
                fail_msg("\"%s\" was accepted", cases[i].s);
            assert_int_equal(ms, 42);
        } else {
            if (rc != 0 || ms != cases[i].ms)
                fail_msg("\"%s\": rc %d, %lld ms", cases[i].s, rc, (long long)ms);
        }
    }
    assert_int_equal(lpg_json_instant_parse(NULL, &(int64_t){0}), -1);

    char buf[LPG_JSON_INSTANT_LEN + 1];
    lpg_json_instant_format(T_2026_11_28_X, buf);
    assert_string_equal(buf, "2026-11-28T21:15:22.123Z");
    lpg_json_instant_format(951782400000LL, buf);
    assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
    lpg_json_instant_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    lpg_json_instant_format(-5, buf); /* clamped */
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    lpg_json_instant_format(INT64_MAX, buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    /* every ms of a day boundary formats and parses back */
    for (int64_t ms = T_2026_06_01 - 1001; ms <= T_2026_06_01 + 1001; ms += 7) {
        int64_t back;
        lpg_json_instant_format(ms, buf);
        assert_int_equal(lpg_json_instant_parse(buf, &back), 0);
        assert_int_equal(back, ms);
    }
}

/* ---- fixtures: every field set ---- */

static const struct geo_point square_pts[] = {
    {119.0, 48.5}, {120.5, 48.5}, {120.5, 49.5}, {119.0, 49.5}, {119.0, 48.5}};

/* A heap geometry (square with a hole, plus a second square part) built through the parser. */
static void make_geometry(struct lpg_geometry *g)
{
    json_t *j = J("{'type':'MultiPolygon','coordinates':["
                  "[[[119,48.5],[120.5,48.5],[120.5,49.5],[119,49.5],[119,48.5]],"
                  " [[119.5,49],[119.6,49],[119.6,49.1],[119.5,49.1],[119.5,49]]],"
                  "[[[121,48.5],[121.5,48.5],[121.5,49],[121,49]]]]}");
    struct lpg_json_error err;
    assert_int_equal(lpg_json_to_geometry(j, "area", g, &err), 0);
    json_decref(j);
}

static void fixture_staff(struct lpg_staff *s)
{
    memset(s, 0, sizeof(*s));
    strcpy(s->id, "S1");
    strcpy(s->enterprise_id, "E1");
    strcpy(s->name, "Li Si");
    s->role = LPG_ROLE_DELIVERY;
    strcpy(s->qualification_no, "QC-2024-001");
    s->qualification_expiry_day = day_of("2027-03-31");
    strcpy(s->training_no, "TR-77");
    s->training_expiry_day = day_of("2026-12-31");
    s->qualification_from_day = day_of("2024-04-01");
    s->training_from_day = LPG_DAY_NONE;
    strcpy(s->zone_id, "Z1");
    strcpy(s->vehicle_id, "V1");
    strcpy(s->device_id, "H-0001");
    s->on_duty = true;
    s->rest_until_ms = T_2026_11_28_X;
    s->created_ms = T_2026_06_01;
}

static void fixture_vehicle(struct lpg_vehicle *v)
{
    memset(v, 0, sizeof(*v));
    strcpy(v->id, "V1");
    strcpy(v->enterprise_id, "E1");
    strcpy(v->plate, "蒙E·A1234");
    v->kind = LPG_VEHICLE_EBIKE;
    strcpy(v->permit_no, "DG-150700-88");
    v->permit_expiry_day = day_of("2028-01-15");
    v->capacity = 12;
    strcpy(v->staff_id, "S1");
    v->has_position = true;
    v->position = (struct geo_point){119.765432101, 49.212345678};
    v->position_ms = T_2026_11_28_X;
    v->position_speed_cm_s = -1; /* a cache of ingest, never stored */
    v->trip_started_ms = T_2026_11_28_X;
    v->trip_loaded = 4;
    v->trip_handed_over = 3;
    v->trip_returned_full = 1;
    v->trip_empties = 2;
    strcpy(v->driver_id, "S1");
    strcpy(v->driver_via, "card");
    v->driver_since_ms = T_2026_11_28_X;
    v->created_ms = T_2026_06_01;
}

static void fixture_customer(struct lpg_customer *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->id, "C12");
    strcpy(c->enterprise_id, "E1");
    strcpy(c->name, "Hulun Noodle House");
    c->kind = LPG_CUSTOMER_RESTAURANT;
    c->location = (struct geo_point){119.75, 49.25};
    strcpy(c->address, "12 Zhongyang St, Hailar");
    c->premises = LPG_PREMISES_SEMI_UNDERGROUND | LPG_PREMISES_HIGH_RISE_RESIDENTIAL |
                  LPG_PREMISES_HIGH_RISE_PUBLIC;
    strcpy(c->contract_no, "SC-9");
    c->contract_from_day = day_of("2026-01-01");
    c->contract_to_day = day_of("2026-10-31");
    c->licence_expiry_day = LPG_DAY_NONE;
    c->status = LPG_CUSTOMER_SUSPENDED;
    strcpy(c->suspended_reason, "hose through a wall");
    c->created_ms = T_2026_06_01;
}

static void fixture_order(struct lpg_order *o)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->id, "O1");
    strcpy(o->enterprise_id, "E1");
    strcpy(o->customer_id, "C12");
    o->kind = LPG_ORDER_DELIVERY;
    strcpy(o->items[0].spec, "YSP-35.5");
    o->items[0].count = 2;
    strcpy(o->items[1].spec, "YSP-118");
    o->items[1].count = 1;
    o->n_items = 2;
    o->window_start_ms = T_2026_11_28_X;
    o->window_end_ms = T_2026_11_28_X + 3600000;
    strcpy(o->notes, "call before \"arrival\"\nback door");
    o->state = LPG_ORDER_EN_ROUTE;
    strcpy(o->staff_id, "S1");
    strcpy(o->vehicle_id, "V1");
    o->created_ms = T_2026_06_01;
    o->updated_ms = T_2026_06_01 + 1;
}

/* Removes the named members (server-owned) from a JSON object. */
static void strip(json_t *j, const char *const *names)
{
    for (; *names != NULL; names++)
        json_object_del(j, *names);
}

/* ---- round trips ---- */

static void test_round_trip_staff(void **state)
{
    (void)state;
    struct lpg_staff x, y;
    struct lpg_json_error err;
    fixture_staff(&x);
    json_t *j = lpg_json_from_staff(&x);
    assert_int_equal(lpg_json_load_staff(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    /* client input: the same minus server-owned fields */
    static const char *const ro[] = {"rest_until", "active_orders", "created_at", NULL};
    strip(j, ro);
    assert_int_equal(lpg_json_to_staff(j, &y, &err), 0);
    x.rest_until_ms = 0;
    x.created_ms = 0;
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
    /* derived counters are written, never read back */
    x.active_orders = 3;
    j = lpg_json_from_staff(&x);
    assert_int_equal(json_integer_value(json_object_get(j, "active_orders")), 3);
    assert_int_equal(lpg_json_load_staff(j, &y, &err), 0);
    assert_int_equal(y.active_orders, 0);
    json_decref(j);
}

static void test_round_trip_vehicle(void **state)
{
    (void)state;
    struct lpg_vehicle x, y;
    struct lpg_json_error err;
    fixture_vehicle(&x);
    json_t *j = lpg_json_from_vehicle(&x);
    assert_int_equal(lpg_json_load_vehicle(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    static const char *const ro[] = {
        "position",    "position_at",      "committed",          "created_at",   "trip_started_at",
        "trip_loaded", "trip_handed_over", "trip_returned_full", "trip_empties", "driver_id",
        "driver_via",  "driver_since",     "handset_driver_id",  "driver_hold",  NULL};
    strip(j, ro);
    assert_int_equal(lpg_json_to_vehicle(j, &y, &err), 0);
    x.has_position = false;
    x.position = (struct geo_point){0, 0};
    x.position_ms = 0;
    x.created_ms = 0;
    x.trip_started_ms = 0;
    x.trip_loaded = x.trip_handed_over = x.trip_returned_full = x.trip_empties = 0;
    memset(x.driver_id, 0, sizeof(x.driver_id));
    memset(x.driver_via, 0, sizeof(x.driver_via));
    x.driver_since_ms = 0;
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
    /* no position: null, and back */
    j = lpg_json_from_vehicle(&x);
    assert_true(json_is_null(json_object_get(j, "position")));
    assert_int_equal(lpg_json_load_vehicle(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
}

static void test_round_trip_customer(void **state)
{
    (void)state;
    struct lpg_customer x, y;
    struct lpg_json_error err;
    fixture_customer(&x);
    json_t *j = lpg_json_from_customer(&x);
    assert_int_equal(lpg_json_load_customer(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    static const char *const ro[] = {"status", "suspended_reason", "created_at", NULL};
    strip(j, ro);
    assert_int_equal(lpg_json_to_customer(j, &y, &err), 0);
    x.status = LPG_CUSTOMER_ACTIVE;
    memset(x.suspended_reason, 0, sizeof(x.suspended_reason));
    x.created_ms = 0;
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
    /* every optional field empty */
    memset(&x, 0, sizeof(x));
    strcpy(x.id, "C1");
    strcpy(x.enterprise_id, "E1");
    strcpy(x.name, "n");
    x.contract_from_day = x.contract_to_day = LPG_DAY_NONE;
    j = lpg_json_from_customer(&x);
    assert_int_equal(lpg_json_load_customer(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
}

static void test_round_trip_order(void **state)
{
    (void)state;
    struct lpg_order x, y;
    struct lpg_json_error err;
    fixture_order(&x);
    json_t *j = lpg_json_from_order(&x);
    assert_int_equal(lpg_json_load_order(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    static const char *const ro[] = {"state",       "staff_id",   "vehicle_id",
                                     "reason",      "created_at", "updated_at",
                                     "rejected_by", "late",       NULL};
    strip(j, ro);
    assert_int_equal(lpg_json_to_order(j, &y, &err), 0);
    x.state = LPG_ORDER_CREATED;
    memset(x.staff_id, 0, sizeof(x.staff_id));
    memset(x.vehicle_id, 0, sizeof(x.vehicle_id));
    x.created_ms = x.updated_ms = 0;
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
    /* a failed re-inspection order without items */
    fixture_order(&x);
    x.kind = LPG_ORDER_REINSPECTION;
    x.n_items = 0;
    memset(x.items, 0, sizeof(x.items));
    x.state = LPG_ORDER_FAILED;
    strcpy(x.reason, "customer absent");
    j = lpg_json_from_order(&x);
    assert_int_equal(lpg_json_load_order(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    json_decref(j);
}

static void test_round_trip_enterprise_zone(void **state)
{
    (void)state;
    struct lpg_enterprise x, y;
    struct lpg_json_error err;
    memset(&x, 0, sizeof(x));
    strcpy(x.id, "E1");
    strcpy(x.name, "Hailar Gas Co.");
    strcpy(x.licence_no, "NM-2023-0042");
    make_geometry(&x.area);
    x.utc_offset_min = 480;
    x.created_ms = T_2026_06_01;
    json_t *j = lpg_json_from_enterprise(&x);
    assert_int_equal(lpg_json_load_enterprise(j, &y, &err), 0);
    assert_string_equal(y.id, x.id);
    assert_string_equal(y.name, x.name);
    assert_string_equal(y.licence_no, x.licence_no);
    assert_int_equal(y.utc_offset_min, 480);
    assert_int_equal(y.created_ms, x.created_ms);
    assert_geometry_equal(&x.area, &y.area);
    assert_memory_equal(&x.area.bbox, &y.area.bbox, sizeof(x.area.bbox));
    json_t *j2 = lpg_json_from_enterprise(&y);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    lpg_geometry_free(&y.area);
    /* client input: created_at refused, the rest the same */
    json_object_del(j, "created_at");
    assert_int_equal(lpg_json_to_enterprise(j, &y, &err), 0);
    assert_int_equal(y.created_ms, 0);
    assert_geometry_equal(&x.area, &y.area);
    lpg_geometry_free(&y.area);
    json_decref(j);

    struct lpg_zone z, w;
    memset(&z, 0, sizeof(z));
    strcpy(z.id, "Z1");
    strcpy(z.enterprise_id, "E1");
    strcpy(z.name, "Hailar north");
    assert_int_equal(lpg_geometry_copy(&z.shape, &x.area), 0);
    z.speed_limit_kmh = 40;
    z.expressway = true;
    z.index_id = 7; /* internal: never written */
    z.created_ms = T_2026_06_01;
    j = lpg_json_from_zone(&z);
    assert_null(json_object_get(j, "index_id"));
    assert_int_equal(lpg_json_load_zone(j, &w, &err), 0);
    assert_string_equal(w.id, "Z1");
    assert_string_equal(w.enterprise_id, "E1");
    assert_string_equal(w.name, "Hailar north");
    assert_int_equal(w.speed_limit_kmh, 40);
    assert_true(w.expressway);
    assert_int_equal(w.index_id, 0);
    assert_int_equal(w.created_ms, z.created_ms);
    assert_geometry_equal(&z.shape, &w.shape);
    lpg_geometry_free(&w.shape);
    lpg_geometry_free(&z.shape);
    lpg_geometry_free(&x.area);
    json_decref(j);
}

static void test_round_trip_order_event(void **state)
{
    (void)state;
    struct order_event x, y;
    struct lpg_json_error err;
    memset(&x, 0, sizeof(x));
    x.at_ms = T_2026_11_28_X;
    x.from = LPG_ORDER_ASSIGNED;
    x.to = LPG_ORDER_CREATED;
    x.actor = ORDER_ACTOR_DEVICE;
    strcpy(x.actor_id, "S1");
    strcpy(x.reason, "vehicle broke down");
    json_t *j = lpg_json_from_order_event(&x);
    assert_int_equal(lpg_json_to_order_event(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    assert_json_text(j, "{'actor':'device','actor_id':'S1','at':'2026-11-28T21:15:22.123Z',"
                        "'from':'assigned','reason':'vehicle broke down','to':'created'}");
    x.actor = ORDER_ACTOR_SYSTEM;
    memset(x.actor_id, 0, sizeof(x.actor_id));
    memset(x.reason, 0, sizeof(x.reason));
    j = lpg_json_from_order_event(&x);
    assert_int_equal(lpg_json_to_order_event(j, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    assert_json_text(j, "{'actor':'system','actor_id':null,'at':'2026-11-28T21:15:22.123Z',"
                        "'from':'assigned','reason':null,'to':'created'}");
    /* The stored text (the history entry) reads back as the same event. */
    char *text = lpg_order_event_text(&x);
    assert_non_null(text);
    json_t *back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_int_equal(lpg_json_to_order_event(back, &y, &err), 0);
    assert_memory_equal(&x, &y, sizeof(x));
    assert_null(strchr(text, '\n')); /* compact: one line */
    json_decref(back);
    free(text);
    j = J("{'at':'2026-11-28T21:15:22.123Z','from':'assigned','to':'created','actor':'robot'}");
    assert_int_equal(lpg_json_to_order_event(j, &y, &err), -1);
    assert_string_equal(err.code, "invalid_field");
    assert_string_equal(err.field, "actor");
    json_decref(j);
}

/* ---- golden output: the contract as clients see it ---- */

static void test_golden(void **state)
{
    (void)state;
    struct lpg_staff s;
    fixture_staff(&s);
    s.zone_id[0] = '\0';
    s.training_expiry_day = LPG_DAY_NONE;
    assert_json_text(lpg_json_from_staff(&s),
                     "{'active_orders':0,'created_at':'2026-06-01T00:00:00.000Z',"
                     "'device_id':'H-0001','enterprise_id':'E1','id':'S1','name':'Li Si',"
                     "'on_duty':true,'qualification_expiry':'2027-03-31',"
                     "'qualification_from':'2024-04-01',"
                     "'qualification_no':'QC-2024-001','rest_until':'2026-11-28T21:15:22.123Z',"
                     "'role':'delivery','training_expiry':null,'training_from':null,"
                     "'training_no':'TR-77',"
                     "'vehicle_id':'V1','zone_id':null}");
    struct lpg_customer c;
    fixture_customer(&c);
    assert_json_text(lpg_json_from_customer(&c),
                     "{'address':'12 Zhongyang St, Hailar','contract_from':'2026-01-01',"
                     "'contract_no':'SC-9','contract_to':'2026-10-31',"
                     "'created_at':'2026-06-01T00:00:00.000Z','enterprise_id':'E1','id':'C12',"
                     "'kind':'restaurant','licence_expiry':null,'licence_no':null,"
                     "'location':{'lat':49.25,'lon':119.75},"
                     "'name':'Hulun Noodle House','premises':['semi_underground',"
                     "'high_rise_residential','high_rise_public'],'status':'suspended',"
                     "'suspended_reason':'hose through a wall'}");
    struct lpg_order o;
    fixture_order(&o);
    o.window_end_ms = 0;
    o.notes[0] = '\0';
    assert_json_text(lpg_json_from_order(&o),
                     "{'created_at':'2026-06-01T00:00:00.000Z','customer_id':'C12',"
                     "'enterprise_id':'E1','id':'O1','items':[{'count':2,'spec':'YSP-35.5'},"
                     "{'count':1,'spec':'YSP-118'}],'kind':'delivery','late':false,'notes':null,"
                     "'reason':null,'rejected_by':[],'staff_id':'S1','state':'en_route',"
                     "'updated_at':'2026-06-01T00:00:00.001Z','vehicle_id':'V1',"
                     "'window_end':null,'window_start':'2026-11-28T21:15:22.123Z'}");
    struct lpg_vehicle v;
    fixture_vehicle(&v);
    v.has_position = false;
    v.position_ms = 0;
    v.committed = 5;
    assert_json_text(
        lpg_json_from_vehicle(&v),
        "{'capacity':12,'committed':5,'created_at':'2026-06-01T00:00:00.000Z',"
        "'driver_hold':null,'driver_id':'S1','driver_since':"
        "'2026-11-28T21:15:22.123Z','driver_via':'card',"
        "'enterprise_id':'E1','escort_id':null,'handset_driver_id':null,'id':'V1','kind':'e-bike','"
        "permit_expiry':"
        "'2028-01-15','permit_no':'DG-150700-88','plate':'蒙E·A1234',"
        "'position':null,'position_at':null,'speed_limit_kmh':0,'staff_id':'S1','station_id':null,'"
        "trip_empties':2,"
        "'trip_handed_over':3,'trip_loaded':4,'trip_returned_full':1,"
        "'trip_started_at':'2026-11-28T21:15:22.123Z'}");
    /* A cylinder: dates, status and movement fields, nulls for what is absent. */
    struct lpg_cylinder cy;
    memset(&cy, 0, sizeof(cy));
    strcpy(cy.id, "HLR-000123");
    strcpy(cy.enterprise_id, "E1");
    strcpy(cy.spec, "YSP-35.5");
    cy.manufactured_day = day_of("2022-03-01");
    cy.last_inspection_day = LPG_DAY_NONE;
    cy.next_inspection_day = day_of("2026-03-01");
    cy.status = LPG_CYL_LOADED;
    strcpy(cy.vehicle_id, "V1");
    strcpy(cy.order_id, "O1");
    cy.created_ms = T_2026_06_01;
    assert_json_text(lpg_json_from_cylinder(&cy),
                     "{'blacklist_reason':null,'blacklisted':false,'check_id':null,"
                     "'created_at':'2026-06-01T00:00:00.000Z','customer_id':null,"
                     "'enterprise_id':'E1','id':'HLR-000123','last_inspection':null,"
                     "'manufactured':'2022-03-01','manufacturer':null,'next_inspection':"
                     "'2026-03-01','order_id':'O1','serial':null,'service_life_years':0,"
                     "'spec':'YSP-35.5','status':'loaded','updated_at':null,'vehicle_id':'V1'}");
}

static void test_cylinder_input(void **state)
{
    (void)state;
    struct lpg_cylinder c, back;
    struct lpg_json_error err;
    json_t *in = json_loads("{\"id\":\"CY1\",\"enterprise_id\":\"E1\",\"spec\":\"YSP-118-II\","
                            "\"manufactured\":\"2024-05-01\",\"next_inspection\":\"2028-05-01\"}",
                            0, NULL);
    assert_int_equal(lpg_json_to_cylinder(in, &c, &err), 0);
    assert_int_equal(c.status, LPG_CYL_IN_STOCK);
    assert_int_equal(c.last_inspection_day, LPG_DAY_NONE);
    json_t *out = lpg_json_from_cylinder(&c);
    assert_int_equal(lpg_json_load_cylinder(out, &back, &err), 0);
    assert_memory_equal(&c, &back, sizeof(c));
    json_decref(out);
    /* movements are the server's */
    json_object_set_new(in, "status", json_string("at_customer"));
    assert_int_equal(lpg_json_to_cylinder(in, &c, &err), -1);
    assert_string_equal(err.code, "read_only_field");
    json_object_del(in, "status");
    json_object_set_new(in, "spec", json_string("YSP-99"));
    assert_int_equal(lpg_json_to_cylinder(in, &c, &err), -1);
    assert_string_equal(err.field, "spec");
    json_object_set_new(in, "spec", json_string("YSP-12"));
    json_object_set_new(in, "next_inspection", json_string("2020-01-01"));
    assert_int_equal(lpg_json_to_cylinder(in, &c, &err), -1);
    assert_string_equal(err.field, "next_inspection");
    json_decref(in);
}

/* ---- validation: one case per error class, with the exact field path ---- */

static int p_customer(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_customer c;
    return lpg_json_to_customer(j, &c, e);
}
static int p_order(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_order o;
    return lpg_json_to_order(j, &o, e);
}
static int p_staff(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_staff s;
    return lpg_json_to_staff(j, &s, e);
}
static int p_vehicle(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_vehicle v;
    return lpg_json_to_vehicle(j, &v, e);
}
static int p_zone(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_zone z;
    int rc = lpg_json_to_zone(j, &z, e);
    if (rc == 0)
        lpg_geometry_free(&z.shape);
    return rc;
}
static int p_enterprise(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_enterprise x;
    int rc = lpg_json_to_enterprise(j, &x, e);
    if (rc == 0)
        lpg_geometry_free(&x.area);
    return rc;
}
static int p_patch_staff(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_staff s, before;
    fixture_staff(&s);
    before = s;
    int rc = lpg_json_patch_staff(j, &s, e);
    if (rc != 0)
        assert_memory_equal(&s, &before, sizeof(s)); /* all or nothing */
    return rc;
}
static int p_patch_customer(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_customer c, before;
    fixture_customer(&c);
    before = c;
    int rc = lpg_json_patch_customer(j, &c, e);
    if (rc != 0)
        assert_memory_equal(&c, &before, sizeof(c));
    return rc;
}
static int p_patch_vehicle(const json_t *j, struct lpg_json_error *e)
{
    struct lpg_vehicle v, before;
    fixture_vehicle(&v);
    before = v;
    int rc = lpg_json_patch_vehicle(j, &v, e);
    if (rc != 0)
        assert_memory_equal(&v, &before, sizeof(v));
    return rc;
}

#define CUST "{'id':'C12','enterprise_id':'E1','name':'Zhang San','kind':'household',"
#define LOC  "'location':{'lon':119.75,'lat':49.25}"
#define CID  "{'id':'C12','enterprise_id':'E1',"
#define ORD  "{'id':'O1','enterprise_id':'E1','customer_id':'C12',"
#define STF  "{'id':'S1','enterprise_id':'E1','name':'Li Si','role':'delivery',"
#define VEH  "{'id':'V1','enterprise_id':'E1','plate':'A1','kind':'van',"
#define SQ   "{'type':'Polygon','coordinates':[[[119,48.5],[120.5,48.5],[120.5,49.5],[119,49.5]]]}"
#define ENT  "{'id':'E1','name':'Hailar Gas','area':"
#define ZON  "{'id':'Z1','enterprise_id':'E1','name':'north','shape':" SQ ","

struct err_case {
    int (*parse)(const json_t *j, struct lpg_json_error *e);
    const char *json;
    const char *code;
    const char *field;
    const char *message; /* a substring of the message */
};

static const struct err_case err_cases[] = {
    /* the valid baselines (code NULL: accepted) */
    {p_customer, CUST LOC "}", NULL, NULL, NULL},
    {p_order, ORD "'items':[{'spec':'YSP-12','count':1}]}", NULL, NULL, NULL},
    {p_staff, STF "'on_duty':true}", NULL, NULL, NULL},
    {p_vehicle, VEH "'capacity':10}", NULL, NULL, NULL},
    {p_zone, ZON "'speed_limit_kmh':40}", NULL, NULL, NULL},
    {p_enterprise, ENT SQ "}", NULL, NULL, NULL},
    /* invalid_body */
    {p_customer, "[1, 2]", "invalid_body", "", "must be a JSON object"},
    {p_order, "'O1'", "invalid_body", "", "must be a JSON object"},
    /* missing_field */
    {p_customer, CUST "'address':'x'}", "missing_field", "location", "location is required"},
    {p_customer, CUST "'location':{'lon':119.75}}", "missing_field", "location.lat",
     "location.lat is required"},
    {p_order, ORD "'items':[{'spec':'YSP-12','count':1},{'spec':'YSP-118'}]}", "missing_field",
     "items[1].count", "items[1].count is required"},
    {p_customer, CID "'name':null,'kind':'household'," LOC "}", "missing_field", "name",
     "may not be null"},
    {p_order, "{'id':'O1','customer_id':'C12'}", "missing_field", "enterprise_id", "required"},
    {p_enterprise, "{'id':'E1','name':'x','area':null}", "missing_field", "area", "required"},
    /* unknown_field */
    {p_customer, "{'id':'C12','enterprise_id':'E1','nmae':'Zhang San','kind':'household'," LOC "}",
     "unknown_field", "nmae", "unknown field \"nmae\""},
    {p_customer, CUST "'location':{'lon':119.75,'lat':49.25,'alt':600}}", "unknown_field",
     "location.alt", "only \"lon\" and \"lat\""},
    {p_order, ORD "'items':[{'spec':'YSP-12','count':1},{'spec':'YSP-118','count':1,'colour':1}]}",
     "unknown_field", "items[1].colour", "unknown field"},
    {p_staff, STF "'index_id':3}", "unknown_field", "index_id", "unknown field"},
    /* read_only_field */
    {p_order, ORD "'state':'delivered'}", "read_only_field", "state", "set by the server"},
    {p_order, ORD "'staff_id':'S1'}", "read_only_field", "staff_id", "set by the server"},
    {p_customer, CUST LOC ",'status':'active'}", "read_only_field", "status", "set by the server"},
    {p_staff, STF "'active_orders':0}", "read_only_field", "active_orders", "set by the server"},
    {p_vehicle, VEH "'capacity':10,'position':{'lon':119,'lat':49}}", "read_only_field", "position",
     "set by the server"},
    {p_enterprise, ENT SQ ",'created_at':'2026-06-01T00:00:00Z'}", "read_only_field", "created_at",
     "set by the server"},
    /* invalid_field: types, formats, ranges, caps */
    {p_order, ORD "'items':[{'spec':'YSP-12','count':1},{'spec':'YSP-118','count':0}]}",
     "invalid_field", "items[1].count", "count 0 is outside [1, 268435455]"},
    {p_order, ORD "'items':[{'spec':'YSP-12','count':'2'}]}", "invalid_field", "items[0].count",
     "count must be an integer"},
    {p_order, ORD "'items':[{'spec':'YSP-12','count':2.5}]}", "invalid_field", "items[0].count",
     "count must be an integer"},
    {p_order, ORD "'items':[{'spec':'YSP-118-II-EXTRA-LONG-NAME','count':1}]}", "invalid_field",
     "items[0].spec", "spec is 26 bytes; at most 23 (LPG_SPEC_MAX)"},
    {p_order,
     ORD "'items':[{'spec':'A','count':1},{'spec':'B','count':1},{'spec':'C','count':1},"
         "{'spec':'D','count':1},{'spec':'E','count':1},{'spec':'F','count':1},"
         "{'spec':'G','count':1},{'spec':'H','count':1},{'spec':'I','count':1}]}",
     "invalid_field", "items", "at most 8 items (LPG_ORDER_ITEMS_MAX)"},
    {p_order, ORD "'items':{'spec':'YSP-12','count':1}}", "invalid_field", "items",
     "items must be an array"},
    {p_order, ORD "'items':[7]}", "invalid_field", "items[0]", "items[0] must be an object"},
    {p_order, ORD "'kind':'refill'}", "invalid_field", "kind",
     "kind \"refill\" is not one of: delivery, re-inspection"},
    {p_order, ORD "'window_start':'2026-06-01 14:00'}", "invalid_field", "window_start",
     "not an RFC 3339 instant"},
    {p_order, ORD "'window_end':1780272000000}", "invalid_field", "window_end",
     "window_end must be a string"},
    {p_customer, "{'id':'C:12','enterprise_id':'E1','name':'Zhang San','kind':'household'," LOC "}",
     "invalid_field", "id", "\"C:12\" is not a valid id"},
    {p_customer, CID "'name':'Zhang San','kind':'cafe'," LOC "}", "invalid_field", "kind",
     "kind \"cafe\" is not one of: household, restaurant, school, hospital, market, elder-care, "
     "mixed-use"},
    {p_customer, CUST LOC ",'contract_to':'2026-02-30'}", "invalid_field", "contract_to",
     "is not a date YYYY-MM-DD"},
    {p_customer, CUST LOC ",'contract_from':'2026-11-01','contract_to':'2026-10-31'}",
     "invalid_field", "contract_to", "contract_to is before contract_from"},
    {p_customer, CUST "'location':{'lon':49.25,'lat':119.75}}", "invalid_field", "location.lat",
     "are lon and lat swapped?"},
    {p_customer, CUST "'location':{'lon':200,'lat':49.25}}", "invalid_field", "location.lon",
     "lon 200 is outside [-180, 180]"},
    {p_customer, CUST "'location':{'lon':'119.75','lat':49.25}}", "invalid_field", "location.lon",
     "must be a number"},
    {p_customer, CUST "'location':[119.75,49.25]}", "invalid_field", "location",
     "must be an object {\"lon\": .., \"lat\": ..}"},
    {p_customer, CUST LOC ",'premises':['underground','attic']}", "invalid_field", "premises[1]",
     "\"attic\" is not one of"},
    {p_customer, CUST LOC ",'premises':['underground','underground']}", "invalid_field",
     "premises[1]", "listed twice"},
    {p_customer, CUST LOC ",'premises':'underground'}", "invalid_field", "premises",
     "must be an array"},
    {p_customer, CID "'name':'','kind':'household'," LOC "}", "invalid_field", "name",
     "name may not be empty"},
    {p_customer, CUST LOC ",'address':5}", "invalid_field", "address", "must be a string"},
    {p_staff, STF "'on_duty':'yes'}", "invalid_field", "on_duty", "true or false"},
    {p_staff, STF "'on_duty':null}", "invalid_field", "on_duty", "may not be null"},
    {p_staff, STF "'vehicle_id':'V 1'}", "invalid_field", "vehicle_id", "not a valid id"},
    {p_staff, STF "'training_expiry':'31/12/2026'}", "invalid_field", "training_expiry",
     "not a date"},
    {p_vehicle, VEH "'capacity':0}", "invalid_field", "capacity",
     "capacity 0 is outside [1, 10000]"},
    {p_vehicle, "{'id':'V1','enterprise_id':'E1','plate':'A1','kind':'bus','capacity':10}",
     "invalid_field", "kind", "kind \"bus\" is not one of: truck, van, tricycle, e-bike"},
    {p_zone, ZON "'speed_limit_kmh':90}", "invalid_field", "speed_limit_kmh",
     "speed_limit_kmh 90 is outside [0, 80]"},
    {p_enterprise, ENT SQ ",'utc_offset_min':900}", "invalid_field", "utc_offset_min",
     "outside [-720, 840]"},
    /* patches */
    {p_patch_staff, "{'on_duty':false,'vehicle_id':null}", NULL, NULL, NULL},
    {p_patch_staff, "{'id':'S1','enterprise_id':'E1'}", NULL, NULL, NULL},
    {p_patch_staff, "{'on_duty':false,'id':'S2'}", "read_only_field", "id",
     "id cannot be changed (it is \"S1\")"},
    {p_patch_staff, "{'on_duty':false,'rest_until':null}", "read_only_field", "rest_until",
     "set by the server"},
    {p_patch_staff, "{'on_duty':false,'name':null}", "invalid_field", "name",
     "required and may not be null"},
    {p_patch_staff, "{'on_duty':false,'zone':'Z2'}", "unknown_field", "zone", "unknown field"},
    {p_patch_vehicle, "{'staff_id':null,'capacity':-1}", "invalid_field", "capacity",
     "outside [1, 10000]"},
    {p_patch_vehicle, "{'committed':0}", "read_only_field", "committed", "set by the server"},
    {p_patch_customer, "{'contract_from':'2026-11-01'}", "invalid_field", "contract_to",
     "contract_to is before contract_from"},
    {p_patch_customer, "{'status':'active'}", "read_only_field", "status", "set by the server"},
    {p_staff, STF "'qualification_expiry':'2027-01-01','qualification_from':'2027-02-01'}",
     "invalid_field", "qualification_from", "qualification_from is after qualification_expiry"},
    {p_patch_staff, "{'training_from':'2027-06-01'}", "invalid_field", "training_from",
     "training_from is after training_expiry"},
    {p_enterprise, ENT SQ ",'licence_expiry':'2030-01-01'}", "invalid_field", "licence_expiry",
     "licence_expiry is given without licence_no"},
    {p_patch_customer, "[]", "invalid_body", "", "must be a JSON object"},
};

static void test_validation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        json_t *j = J(c->json);
        struct lpg_json_error err;
        memset(&err, 0, sizeof(err));
        int rc = c->parse(j, &err);
        json_decref(j);
        if (c->code == NULL) {
            if (rc != 0)
                fail_msg("case %zu (%s) refused: %s %s: %s", i, c->json, err.code, err.field,
                         err.message);
            continue;
        }
        if (rc != -1)
            fail_msg("case %zu (%s) accepted", i, c->json);
        if (strcmp(err.code, c->code) != 0 || strcmp(err.field, c->field) != 0 ||
            strstr(err.message, c->message) == NULL)
            fail_msg("case %zu (%s):\n got %s at \"%s\": %s\nwant %s at \"%s\": ...%s...", i,
                     c->json, err.code, err.field, err.message, c->code, c->field, c->message);
    }
}

/* String caps are named; embedded NULs are refused (json_loads cannot produce them). */
static void test_string_caps(void **state)
{
    (void)state;
    struct lpg_json_error err;
    struct lpg_customer c;
    char name[LPG_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    json_t *j = J(CUST LOC "}");
    json_object_set_new(j, "name", json_string(name));
    assert_int_equal(lpg_json_to_customer(j, &c, &err), -1);
    assert_string_equal(err.code, "invalid_field");
    assert_string_equal(err.field, "name");
    assert_string_equal(err.message, "name is 128 bytes; at most 127 (LPG_NAME_MAX)");
    name[LPG_NAME_MAX] = '\0'; /* exactly at the cap */
    json_object_set_new(j, "name", json_string(name));
    assert_int_equal(lpg_json_to_customer(j, &c, &err), 0);
    assert_string_equal(c.name, name);

    char id[LPG_ID_MAX + 2];
    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    json_object_set_new(j, "id", json_string(id));
    assert_int_equal(lpg_json_to_customer(j, &c, &err), -1);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.message, "id is 65 bytes; at most 64 (LPG_ID_MAX)");
    json_object_set_new(j, "id", json_string("C12"));

    json_object_set_new(j, "address", json_stringn("a\0b", 3));
    assert_int_equal(lpg_json_to_customer(j, &c, &err), -1);
    assert_string_equal(err.field, "address");
    assert_string_equal(err.message, "address contains a NUL character");
    /* "" and null both mean none for optional strings */
    json_object_set_new(j, "address", json_string(""));
    assert_int_equal(lpg_json_to_customer(j, &c, &err), 0);
    json_object_set_new(j, "address", json_null());
    assert_int_equal(lpg_json_to_customer(j, &c, &err), 0);
    assert_string_equal(c.address, "");
    json_decref(j);
}

/* ---- GeoJSON ---- */

struct geo_case {
    const char *json;
    const char *code;  /* NULL: accepted */
    const char *field; /* under "area" */
    const char *message;
    size_t n_polys, n_holes0, n_outer0; /* when accepted */
};

static const struct geo_case geo_cases[] = {
    /* accepted shapes */
    {SQ, NULL, NULL, NULL, 1, 0, 5}, /* unclosed ring: stored closed */
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120.5,48.5],[120.5,49.5],[119,49.5],"
     "[119,48.5]]]}",
     NULL, NULL, NULL, 1, 0, 5},
    {"{'type':'Polygon','coordinates':[[[119,48.5,600],[120.5,48.5,610],[120.5,49.5,0],"
     "[119,49.5,1]]]}",
     NULL, NULL, NULL, 1, 0, 5}, /* altitudes ignored */
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120.5,48.5],[120.5,49.5],[119,49.5]],"
     "[[119.5,49],[119.6,49],[119.6,49.1],[119.5,49.1],[119.5,49]],"
     "[[120,49],[120.1,49],[120.1,49.1]]]}",
     NULL, NULL, NULL, 1, 2, 5}, /* two holes */
    {"{'type':'MultiPolygon','coordinates':[[[[119,48.5],[120,48.5],[120,49]]],"
     "[[[121,48.5],[122,48.5],[122,49],[121,49]]]]}",
     NULL, NULL, NULL, 2, 0, 4},
    {"{'type':'Feature','properties':{'name':'north'},'id':7,'geometry':" SQ "}", NULL, NULL, NULL,
     1, 0, 5},
    {"{'type':'Feature','properties':null,'bbox':[119,48.5,120.5,49.5],'geometry':"
     "{'type':'MultiPolygon','bbox':[1,2,3,4],'coordinates':[[[[119,48.5],[120,48.5],"
     "[120,49]]]]}}",
     NULL, NULL, NULL, 1, 0, 4},
    /* refused */
    {"{'type':'Point','coordinates':[119,48.5]}", "invalid_field", "area.type",
     "unsupported GeoJSON type \"Point\"; expected a GeoJSON Polygon, MultiPolygon, or a Feature",
     0, 0, 0},
    {"{'type':'GeometryCollection','geometries':[]}", "invalid_field", "area.type",
     "unsupported GeoJSON type \"GeometryCollection\"", 0, 0, 0},
    {"{'type':'FeatureCollection','features':[]}", "invalid_field", "area.type",
     "unsupported GeoJSON type \"FeatureCollection\"", 0, 0, 0},
    {"{'type':'Feature','geometry':{'type':'LineString','coordinates':[[119,48.5],[120,49]]}}",
     "invalid_field", "area.geometry.type", "unsupported GeoJSON type \"LineString\"", 0, 0, 0},
    {"{'type':'Feature','properties':{}}", "missing_field", "area.geometry",
     "geometry must be a Polygon or MultiPolygon", 0, 0, 0},
    {"{'type':'Feature','geometry':null}", "invalid_field", "area.geometry",
     "geometry must be a Polygon or MultiPolygon", 0, 0, 0},
    {"{'type':'Feature','geometry':{'type':'Feature','geometry':" SQ "}}", "invalid_field",
     "area.geometry.type", "unsupported GeoJSON type \"Feature\"", 0, 0, 0},
    {"{'coordinates':[]}", "missing_field", "area.type", "needs a string \"type\"", 0, 0, 0},
    {"{'type':7}", "invalid_field", "area.type", "needs a string \"type\"", 0, 0, 0},
    {"[[119,48.5],[120,49]]", "invalid_field", "area", "expected a GeoJSON Polygon", 0, 0, 0},
    {"{'type':'Polygon'}", "missing_field", "area.coordinates", "needs \"coordinates\"", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[]}", "invalid_field", "area.coordinates",
     "non-empty array of rings", 0, 0, 0},
    {"{'type':'MultiPolygon','coordinates':[]}", "invalid_field", "area.coordinates",
     "non-empty array of polygons", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[48.5,119],[48.5,120.5],[49.5,120.5],[49.5,119]]]}",
     "invalid_field", "area.coordinates[0][0]",
     "latitude 119 is outside [-90, 90]; GeoJSON positions are [lon, lat]: are they swapped", 0, 0,
     0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[190,48.5],[120.5,49.5]]]}", "invalid_field",
     "area.coordinates[0][1]", "longitude 190 is outside [-180, 180]", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120,48.5],[119,48.5]]]}", "invalid_field",
     "area.coordinates[0]",
     "at least 3 distinct vertices (4 positions when closed); this one has 2", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120,48.5]]]}", "invalid_field",
     "area.coordinates[0]", "this one has 2", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[]]}", "invalid_field", "area.coordinates[0]",
     "this one has 0", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120,48.5],[120,49],[119,49,1,2]]]}",
     "invalid_field", "area.coordinates[0][3]", "a GeoJSON position is an array [lon, lat]", 0, 0,
     0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120,48.5],['120',49]]]}", "invalid_field",
     "area.coordinates[0][2]", "position values must be numbers", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[119,48.5],[120,48.5],[120,49]]}", "invalid_field",
     "area.coordinates[0][0]", "a GeoJSON position is an array", 0, 0, 0},
    {"{'type':'MultiPolygon','coordinates':[[[[119,48.5],[120,48.5],[120,49]]],"
     "[[[121,48.5],[122,48.5],[122,49]],[[121.1,48.6],[121.2,48.6],[121.2,91]]]]}",
     "invalid_field", "area.coordinates[1][1][2]", "latitude 91 is outside [-90, 90]", 0, 0, 0},
    {"{'type':'MultiPolygon','coordinates':[[[[119,48.5],[120,48.5],[120,49]]],[]]}",
     "invalid_field", "area.coordinates[1]", "non-empty array of rings", 0, 0, 0},
    {"{'type':'Feature','geometry':{'type':'Polygon','coordinates':[[[119,48.5],[120,48.5]]]}}",
     "invalid_field", "area.geometry.coordinates[0]", "this one has 2", 0, 0, 0},
    /* valid positions, but the shape is refused by geometry validation */
    {"{'type':'Polygon','coordinates':[[[-170,10],[170,10],[170,20],[-170,20]]]}", "invalid_field",
     "area", "invalid geometry: ", 0, 0, 0},
    /* not simple polygons: 422 invalid_geometry naming the ring and vertex. The symmetric bow-tie
     * used to be refused as "zero area", the lopsided one accepted. */
    {"{'type':'Polygon','coordinates':[[[119,48],[120,49],[120,48],[119,49],[119,48]]]}",
     "invalid_geometry", "area.coordinates[0][0]",
     "not a simple polygon: the edge from ring 0 (outer ring) vertex 0 crosses or touches the edge "
     "from ring 0 (outer ring) vertex 2",
     0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[119,48],[121,49],[121,48],[119,48.5]]]}",
     "invalid_geometry", "area.coordinates[0][0]", "crosses or touches", 0, 0, 0},
    {"{'type':'Polygon','coordinates':[[[119,48.5],[120.5,48.5],[120.5,49.5],[119,49.5]],"
     "[[121,49],[121.1,49],[121.1,49.1]]]}",
     "invalid_geometry", "area.coordinates[1][0]",
     "the hole at ring 1 (hole 1) vertex 0 lies outside its shell", 0, 0, 0},
    {"{'type':'MultiPolygon','coordinates':[[[[119,48.5],[120,48.5],[120,49]]],"
     "[[[121,48.5],[122,48.5],[122,49],[121,49]],[[121.1,48.6],[121.2,48.6],[121.2,48.7],"
     "[121.2,48.6]]]]}",
     "invalid_geometry", "area.coordinates[1][1][1]", "polygon 1 ring 1 (hole 1) vertex 1", 0, 0,
     0},
};

static void test_geojson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(geo_cases) / sizeof(geo_cases[0]); i++) {
        const struct geo_case *c = &geo_cases[i];
        json_t *j = J(c->json);
        struct lpg_geometry g;
        struct lpg_json_error err;
        memset(&err, 0, sizeof(err));
        int rc = lpg_json_to_geometry(j, "area", &g, &err);
        if (c->code == NULL) {
            if (rc != 0)
                fail_msg("geo case %zu refused: %s at %s: %s", i, err.code, err.field, err.message);
            assert_int_equal(g.mp.n_polys, c->n_polys);
            assert_int_equal(g.mp.polys[0].n_holes, c->n_holes0);
            assert_int_equal(g.mp.polys[0].outer.n, c->n_outer0);
            /* stored closed, and output reads back identically */
            const struct geo_ring *r = &g.mp.polys[0].outer;
            assert_memory_equal(&r->pts[0], &r->pts[r->n - 1], sizeof(struct geo_point));
            json_t *out = lpg_json_from_geometry(&g);
            assert_string_equal(json_string_value(json_object_get(out, "type")),
                                c->n_polys == 1 ? "Polygon" : "MultiPolygon");
            struct lpg_geometry g2;
            assert_int_equal(lpg_json_to_geometry(out, "area", &g2, &err), 0);
            assert_geometry_equal(&g, &g2);
            json_decref(out);
            lpg_geometry_free(&g2);
            lpg_geometry_free(&g);
        } else {
            if (rc != -1)
                fail_msg("geo case %zu accepted: %s", i, c->json);
            if (strcmp(err.code, c->code) != 0 || strcmp(err.field, c->field) != 0 ||
                strstr(err.message, c->message) == NULL)
                fail_msg("geo case %zu:\n got %s at \"%s\": %s\nwant %s at \"%s\": ...%s...", i,
                         err.code, err.field, err.message, c->code, c->field, c->message);
            assert_null(g.polys); /* nothing left allocated */
            assert_null(g.pts);
        }
        json_decref(j);
    }
}

/* Holes are holes; MultiPolygon parts are separate; inside and bbox are computed. */
static void test_geojson_semantics(void **state)
{
    (void)state;
    struct lpg_geometry g;
    make_geometry(&g);
    assert_int_equal(g.mp.n_polys, 2);
    assert_int_equal(g.mp.polys[0].n_holes, 1);
    assert_true(geo_multipolygon_contains(&g.mp, (struct geo_point){119.2, 48.7}));
    assert_false(geo_multipolygon_contains(&g.mp, (struct geo_point){119.55, 49.05})); /* hole */
    assert_true(geo_multipolygon_contains(&g.mp, (struct geo_point){121.2, 48.7}));
    assert_false(geo_multipolygon_contains(&g.mp, (struct geo_point){120.75, 48.7}));
    assert_true(geo_multipolygon_contains(&g.mp, g.inside));
    assert_true(g.bbox.min_lon == 119.0 && g.bbox.max_lon == 121.5);
    /* output: a MultiPolygon, rings closed, [lon, lat] */
    json_t *out = lpg_json_from_geometry(&g);
    char *s = dump(out);
    assert_string_equal(
        s, "{\"coordinates\":[[[[119.0,48.5],[120.5,48.5],[120.5,49.5],[119.0,49.5],[119.0,48.5]],"
           "[[119.5,49.0],[119.6,49.0],[119.6,49.1],[119.5,49.1],[119.5,49.0]]],"
           "[[[121.0,48.5],[121.5,48.5],[121.5,49.0],[121.0,49.0],[121.0,48.5]]]],"
           "\"type\":\"MultiPolygon\"}");
    free(s);
    json_decref(out);
    lpg_geometry_free(&g);

    /* a geometry built elsewhere with open rings is written closed */
    struct geo_polygon poly = {.outer = {square_pts, 4}, .holes = NULL, .n_holes = 0};
    struct lpg_geometry open = {.mp = {&poly, 1}};
    out = lpg_json_from_geometry(&open);
    json_t *ring = json_array_get(json_object_get(out, "coordinates"), 0);
    assert_int_equal(json_array_size(ring), 5);
    assert_true(json_equal(json_array_get(ring, 0), json_array_get(ring, 4)));
    json_decref(out);
    /* no polygon: null */
    struct lpg_geometry empty;
    memset(&empty, 0, sizeof(empty));
    out = lpg_json_from_geometry(&empty);
    assert_true(json_is_null(out));
    json_decref(out);
}

/* The vertex cap: a ring of LPG_JSON_GEOMETRY_VERTICES_MAX stored vertices is accepted (with the
 * settings' caps at their highest), one more is refused before anything is allocated. */
static void test_geojson_vertex_cap(void **state)
{
    (void)state;
    lpg_geometry_set_limits(LPG_JSON_GEOMETRY_VERTICES_MAX, LPG_JSON_GEOMETRY_VERTICES_MAX);
    for (int extra = 0; extra <= 1; extra++) {
        size_t distinct = LPG_JSON_GEOMETRY_VERTICES_MAX - 1 + (size_t)extra; /* + closing */
        json_t *ring = json_array();
        for (size_t i = 0; i < distinct; i++) {
            /* a many-sided convex polygon: points on a small circle */
            double a = 6.283185307179586 * (double)i / (double)distinct;
            double lon = 119.5 + 0.1 * cos(a), lat = 49.0 + 0.1 * sin(a);
            json_array_append_new(ring, json_pack("[f, f]", lon, lat));
        }
        json_t *j = json_pack("{s:s, s:[o]}", "type", "Polygon", "coordinates", ring);
        struct lpg_geometry g;
        struct lpg_json_error err;
        int rc = lpg_json_to_geometry(j, "shape", &g, &err);
        if (extra == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(g.mp.polys[0].outer.n, LPG_JSON_GEOMETRY_VERTICES_MAX);
            lpg_geometry_free(&g);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err.field, "shape");
            assert_string_equal(err.message, "the geometry has more than 100000 vertices "
                                             "(LPG_JSON_GEOMETRY_VERTICES_MAX); simplify it");
        }
        json_decref(j);
    }
    lpg_geometry_set_limits(LPG_GEOMETRY_RING_VERTICES_DEFAULT, LPG_GEOMETRY_VERTICES_DEFAULT);
}

/* ---- PATCH semantics ---- */

static void test_patch(void **state)
{
    (void)state;
    struct lpg_json_error err;
    struct lpg_staff s, expect;
    fixture_staff(&s);
    expect = s;
    json_t *j = J("{'on_duty':false,'vehicle_id':null,'zone_id':'Z2','training_no':'',"
                  "'qualification_expiry':'2028-03-31','id':'S1'}");
    assert_int_equal(lpg_json_patch_staff(j, &s, &err), 0);
    json_decref(j);
    expect.on_duty = false;
    memset(expect.vehicle_id, 0, sizeof(expect.vehicle_id));
    strcpy(expect.zone_id, "Z2");
    memset(expect.training_no, 0, sizeof(expect.training_no));
    expect.qualification_expiry_day = day_of("2028-03-31");
    assert_memory_equal(&s, &expect, sizeof(s));
    /* an empty patch changes nothing */
    j = J("{}");
    assert_int_equal(lpg_json_patch_staff(j, &s, &err), 0);
    assert_memory_equal(&s, &expect, sizeof(s));
    json_decref(j);

    struct lpg_vehicle v, ve;
    fixture_vehicle(&v);
    ve = v;
    j = J("{'staff_id':'S9','permit_expiry':null,'capacity':20}");
    assert_int_equal(lpg_json_patch_vehicle(j, &v, &err), 0);
    json_decref(j);
    strcpy(ve.staff_id, "S9");
    ve.permit_expiry_day = LPG_DAY_NONE;
    ve.capacity = 20;
    assert_memory_equal(&v, &ve, sizeof(v));

    struct lpg_customer c, ce;
    fixture_customer(&c);
    ce = c;
    j = J("{'location':{'lon':119.8,'lat':49.3},'premises':[],'contract_to':'2027-10-31'}");
    assert_int_equal(lpg_json_patch_customer(j, &c, &err), 0);
    json_decref(j);
    ce.location = (struct geo_point){119.8, 49.3};
    ce.premises = 0;
    ce.contract_to_day = day_of("2027-10-31");
    assert_memory_equal(&c, &ce, sizeof(c));
    /* the suspension stays what the server made it */
    assert_int_equal(c.status, LPG_CUSTOMER_SUSPENDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instants),
        cmocka_unit_test(test_round_trip_staff),
        cmocka_unit_test(test_round_trip_vehicle),
        cmocka_unit_test(test_round_trip_customer),
        cmocka_unit_test(test_round_trip_order),
        cmocka_unit_test(test_round_trip_enterprise_zone),
        cmocka_unit_test(test_round_trip_order_event),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_cylinder_input),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_string_caps),
        cmocka_unit_test(test_geojson),
        cmocka_unit_test(test_geojson_semantics),
        cmocka_unit_test(test_geojson_vertex_cap),
        cmocka_unit_test(test_patch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
