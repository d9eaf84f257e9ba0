/* test_delivery_rules.c -- the pure rules of loading, hand-over and collection
 * (dispatch/core/delivery_rules.h) at and around their limits: inspection due day, service life and
 * its 12-year cap, the 100 m radius, the fix age, the stop speed, two-phase cylinders and
 * restaurants, ownership, every refusal code of a hand-over. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/delivery_rules.h"
#include "core/model_json.h"

#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define M_PER_DEG_LAT 111195.0

static struct delivery_policy pol;
static int32_t today;
static struct lpg_order o;
static struct lpg_staff s;
static struct lpg_vehicle v;
static struct lpg_customer cu;
static struct lpg_cylinder c;
static struct vehicle_fix fix;
static const int64_t NOW = 1796000000000LL;
static char why[320];

static int32_t d(const char *ymd)
{
    int32_t day;
    assert_int_equal(lpg_day_parse(ymd, &day), 0);
    return day;
}

static int setup(void **state)
{
    (void)state;
    delivery_policy_default(&pol);
    today = d("2026-12-03");
    memset(&o, 0, sizeof(o));
    strcpy(o.id, "O1");
    strcpy(o.enterprise_id, "E1");
    strcpy(o.customer_id, "C1");
    strcpy(o.staff_id, "S1");
    strcpy(o.vehicle_id, "V1");
    o.kind = LPG_ORDER_DELIVERY;
    o.state = LPG_ORDER_LOADED;
    o.n_items = 1;
    strcpy(o.items[0].spec, "YSP-35.5");
    o.items[0].count = 2;
    memset(&s, 0, sizeof(s));
    strcpy(s.id, "S1");
    strcpy(s.enterprise_id, "E1");
    strcpy(s.vehicle_id, "V1");
    memset(&v, 0, sizeof(v));
    strcpy(v.id, "V1");
    strcpy(v.enterprise_id, "E1");
    strcpy(v.staff_id, "S1");
    v.capacity = 10;
    memset(&cu, 0, sizeof(cu));
    strcpy(cu.id, "C1");
    strcpy(cu.enterprise_id, "E1");
    cu.kind = LPG_CUSTOMER_HOUSEHOLD;
    cu.location = (struct geo_point){119.7, 49.2};
    memset(&c, 0, sizeof(c));
    strcpy(c.id, "CY1");
    strcpy(c.enterprise_id, "E1");
    strcpy(c.spec, "YSP-35.5");
    c.manufactured_day = d("2024-01-01");
    c.last_inspection_day = LPG_DAY_NONE;
    c.next_inspection_day = LPG_DAY_NONE;
    c.status = LPG_CYL_LOADED;
    strcpy(c.vehicle_id, "V1");
    strcpy(c.order_id, "O1");
    fix = (struct vehicle_fix){true, cu.location, NOW - 1000, 0};
    return 0;
}

static const char *unusable(void)
{
    return cylinder_unusable(&c, "E1", today, &pol, why, sizeof(why));
}

static void test_inspection_due_day(void **state)
{
    (void)state;
    /* No next date: manufacture + 4 years; valid on the due day, overdue the day after. */
    c.manufactured_day = d("2022-12-03");
    assert_int_equal(cylinder_inspection_due_day(&c, &pol), today);
    assert_null(unusable());
    c.manufactured_day = d("2022-12-02");
    assert_string_equal(unusable(), "overdue_inspection");
    assert_non_null(strstr(why, "2026-12-02"));
    /* A last inspection counts from itself; an explicit next date wins over both. */
    c.last_inspection_day = d("2024-06-01");
    assert_null(unusable());
    c.next_inspection_day = d("2026-12-02");
    assert_string_equal(unusable(), "overdue_inspection");
    /* The interval is a setting. */
    c.next_inspection_day = LPG_DAY_NONE;
    pol.inspection_interval_years = 2;
    assert_string_equal(unusable(), "overdue_inspection"); /* 2024-06-01 + 2 y < today */
}

static void test_service_life_and_its_cap(void **state)
{
    (void)state;
    c.next_inspection_day = d("2027-06-01"); /* inspection in order: only the age matters */
    c.manufactured_day = d("2018-12-03");    /* 8 years today: the last day */
    assert_null(unusable());
    c.manufactured_day = d("2018-12-02");
    assert_string_equal(unusable(), "past_service_life");
    /* An inspection may extend the life, never beyond the 12-year maximum. */
    c.service_life_years = 10;
    assert_null(unusable());
    c.manufactured_day = d("2014-12-02");
    c.service_life_years = 20;
    assert_string_equal(unusable(), "past_service_life");
    assert_int_equal(cylinder_end_of_life_day(&c, &pol), d("2026-12-02"));
    /* 29 February plus whole years is 28 February. */
    assert_int_equal(lpg_day_add_years(d("2024-02-29"), 1), d("2025-02-28"));
}

static void test_status_owner_blacklist(void **state)
{
    (void)state;
    assert_string_equal(cylinder_unusable(&c, "E2", today, &pol, why, sizeof(why)), "not_owned");
    c.blacklisted = true;
    strcpy(c.blacklist_reason, "valve recall");
    assert_string_equal(unusable(), "blacklisted");
    assert_non_null(strstr(why, "valve recall"));
    c.blacklisted = false;
    const struct {
        enum lpg_cylinder_status st;
        const char *code;
    } cases[] = {{LPG_CYL_SCRAPPED, "scrapped"},
                 {LPG_CYL_LOST, "lost"},
                 {LPG_CYL_DUE_INSPECTION, "withdrawn"},
                 {LPG_CYL_SENT_INSPECTION, "withdrawn"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c.status = cases[i].st;
        assert_string_equal(unusable(), cases[i].code);
    }
}

static const char *hand_over(void)
{
    return handover_check(&o, &s, &v, &cu, &c, &fix, NOW, today, &pol, why, sizeof(why));
}

static void test_hand_over_radius_age_speed(void **state)
{
    (void)state;
    assert_null(hand_over());
    /* 99 m accepted, 101 m refused (the default radius is 100 m). */
    fix.pos.lat = cu.location.lat + 99.0 / M_PER_DEG_LAT;
    assert_null(hand_over());
    fix.pos.lat = cu.location.lat + 101.0 / M_PER_DEG_LAT;
    assert_string_equal(hand_over(), "not_at_customer");
    fix.pos = cu.location;
    /* The fix may be 120 s old, not older. */
    fix.time_ms = NOW - 120000;
    assert_null(hand_over());
    fix.time_ms = NOW - 120001;
    assert_string_equal(hand_over(), "stale_fix");
    fix.time_ms = NOW;
    /* Stopped means below the stop speed. */
    fix.speed_cm_s = pol.stopped_speed_cm_s - 1;
    assert_null(hand_over());
    fix.speed_cm_s = pol.stopped_speed_cm_s;
    assert_string_equal(hand_over(), "vehicle_moving");
    fix.speed_cm_s = -1;
    assert_string_equal(hand_over(), "speed_unknown");
    fix.known = false;
    assert_string_equal(hand_over(), "position_unknown");
}

static void test_hand_over_who_and_what(void **state)
{
    (void)state;
    strcpy(o.staff_id, "S2");
    assert_string_equal(hand_over(), "not_your_order");
    strcpy(o.staff_id, "S1");
    assert_string_equal(
        handover_check(&o, &s, NULL, &cu, &c, &fix, NOW, today, &pol, why, sizeof(why)),
        "no_vehicle");
    strcpy(o.vehicle_id, "V9"); /* rebound since the assignment */
    assert_string_equal(hand_over(), "wrong_vehicle");
    strcpy(o.vehicle_id, "V1");
    strcpy(c.vehicle_id, "V2");
    assert_string_equal(hand_over(), "wrong_vehicle");
    strcpy(c.vehicle_id, "V1");
    strcpy(c.order_id, "O2");
    assert_string_equal(hand_over(), "cylinder_not_loaded_for_order");
    strcpy(c.order_id, "O1");
    c.status = LPG_CYL_IN_STOCK;
    assert_string_equal(hand_over(), "cylinder_not_loaded_for_order");
    c.status = LPG_CYL_LOADED;
    o.state = LPG_ORDER_ACCEPTED;
    assert_string_equal(hand_over(), "order_not_deliverable");
    o.state = LPG_ORDER_ARRIVED; /* a second cylinder of the same visit */
    assert_null(hand_over());
    cu.status = LPG_CUSTOMER_SUSPENDED;
    assert_string_equal(hand_over(), "customer_suspended");
    cu.status = LPG_CUSTOMER_ACTIVE;
    /* §二(四)3: two-phase 50 kg cylinders never go to restaurants. */
    strcpy(c.spec, "YSP-118-II");
    cu.kind = LPG_CUSTOMER_RESTAURANT;
    assert_string_equal(hand_over(), "two_phase_cylinder_to_restaurant");
    cu.kind = LPG_CUSTOMER_HOUSEHOLD;
    assert_null(hand_over());
    /* An unusable cylinder cannot leave the vehicle even when loaded. */
    c.next_inspection_day = today - 1;
    assert_string_equal(hand_over(), "overdue_inspection");
}

static void test_loading(void **state)
{
    (void)state;
    o.state = LPG_ORDER_ACCEPTED;
    c.status = LPG_CYL_IN_STOCK;
    c.vehicle_id[0] = c.order_id[0] = '\0';
    struct load_counts n = {0, 0};
    assert_null(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)));
    n.loaded_of_spec = 2;
    assert_string_equal(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)),
                        "spec_already_loaded");
    n.loaded_of_spec = 1;
    n.on_vehicle = 10;
    assert_string_equal(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)),
                        "vehicle_full");
    n.on_vehicle = 0;
    strcpy(c.spec, "YSP-12");
    assert_string_equal(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)),
                        "spec_not_ordered");
    strcpy(c.spec, "YSP-35.5");
    c.status = LPG_CYL_AT_CUSTOMER;
    assert_string_equal(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)),
                        "cylinder_not_in_stock");
    c.status = LPG_CYL_IN_STOCK;
    o.state = LPG_ORDER_ASSIGNED;
    assert_string_equal(load_check(&o, &s, &v, &c, &n, today, &pol, why, sizeof(why)),
                        "order_not_loading");
}

static void test_collecting_empties(void **state)
{
    (void)state;
    c.status = LPG_CYL_AT_CUSTOMER;
    strcpy(c.customer_id, "C1");
    c.vehicle_id[0] = '\0';
    assert_null(collect_check(&o, &s, &v, &cu, &c, &fix, 0, NOW, &pol, why, sizeof(why)));
    strcpy(c.customer_id, "C2");
    assert_string_equal(collect_check(&o, &s, &v, &cu, &c, &fix, 0, NOW, &pol, why, sizeof(why)),
                        "cylinder_not_at_customer");
    strcpy(c.customer_id, "C1");
    assert_string_equal(collect_check(&o, &s, &v, &cu, &c, &fix, 10, NOW, &pol, why, sizeof(why)),
                        "vehicle_full");
    fix.speed_cm_s = 1000;
    assert_string_equal(collect_check(&o, &s, &v, &cu, &c, &fix, 0, NOW, &pol, why, sizeof(why)),
                        "vehicle_moving");
    strcpy(c.enterprise_id, "E2");
    assert_string_equal(collect_check(&o, &s, &v, &cu, &c, &fix, 0, NOW, &pol, why, sizeof(why)),
                        "not_owned");
}

/* Loading and the station return: a circle station 200 m round, then a square one. */
static void test_at_station(void **state)
{
    (void)state;
    struct lpg_station st;
    memset(&st, 0, sizeof(st));
    strcpy(st.id, "ST1");
    strcpy(st.enterprise_id, "E1");
    st.has_center = true;
    st.center = (struct geo_point){119.6, 49.1};
    st.radius_m = 200;
    fix = (struct vehicle_fix){true, st.center, NOW - 1000, 500}; /* moving is allowed */
    assert_null(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)));
    fix.pos.lat = st.center.lat + 199.0 / M_PER_DEG_LAT;
    assert_null(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)));
    fix.pos.lat = st.center.lat + 201.0 / M_PER_DEG_LAT;
    assert_string_equal(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)),
                        "not_at_station");
    fix.pos = st.center;
    fix.time_ms = NOW - 120001;
    assert_string_equal(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)), "stale_fix");
    fix.known = false;
    assert_string_equal(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)),
                        "position_unknown");
    assert_string_equal(station_check(&v, NULL, &fix, NOW, &pol, why, sizeof(why)), "no_station");
    strcpy(st.enterprise_id, "E2"); /* another enterprise's station is none */
    assert_string_equal(station_check(&v, &st, &fix, NOW, &pol, why, sizeof(why)), "no_station");
}

static int station_from(const char *text, struct lpg_station *st, const char **code)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    int rc = lpg_json_to_station(j, st, &err);
    json_decref(j);
    *code = err.code;
    return rc;
}

/* A station is a polygon or a circle, exactly one; it round-trips through its stored form. */
static void test_station_json(void **state)
{
    (void)state;
    struct lpg_station st;
    const char *code;
    assert_int_equal(station_from("{\"id\":\"ST1\",\"enterprise_id\":\"E1\",\"name\":\"D\","
                                  "\"center\":{\"lon\":119.6,\"lat\":49.1},\"radius_m\":150}",
                                  &st, &code),
                     0);
    assert_true(lpg_station_contains(&st, (struct geo_point){119.6, 49.1 + 149 / M_PER_DEG_LAT}));
    assert_false(lpg_station_contains(&st, (struct geo_point){119.6, 49.1 + 151 / M_PER_DEG_LAT}));
    json_t *out = lpg_json_from_station(&st);
    struct lpg_station back;
    struct lpg_json_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(lpg_json_load_station(out, &back, &err), 0);
    assert_int_equal(back.radius_m, 150);
    json_decref(out);
    assert_int_equal(station_from("{\"id\":\"ST2\",\"enterprise_id\":\"E1\",\"name\":\"D\","
                                  "\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.1],"
                                  "[119.61,49.1],[119.61,49.11],[119.6,49.11],[119.6,49.1]]]}}",
                                  &st, &code),
                     0);
    assert_true(lpg_station_contains(&st, (struct geo_point){119.605, 49.105}));
    assert_false(lpg_station_contains(&st, (struct geo_point){119.615, 49.105}));
    out = lpg_json_from_station(&st);
    assert_int_equal(lpg_json_load_station(out, &back, &err), 0);
    assert_int_equal(back.shape.mp.n_polys, 1);
    lpg_geometry_free(&back.shape);
    lpg_geometry_free(&st.shape);
    json_decref(out);
    /* Neither, both, a centre without a radius: refused. */
    assert_int_equal(
        station_from("{\"id\":\"S\",\"enterprise_id\":\"E1\",\"name\":\"D\"}", &st, &code), -1);
    assert_string_equal(code, "missing_field");
    assert_int_equal(station_from("{\"id\":\"S\",\"enterprise_id\":\"E1\",\"name\":\"D\","
                                  "\"center\":{\"lon\":119.6,\"lat\":49.1}}",
                                  &st, &code),
                     -1);
    assert_int_equal(station_from("{\"id\":\"S\",\"enterprise_id\":\"E1\",\"name\":\"D\","
                                  "\"center\":{\"lon\":119.6,\"lat\":49.1},\"radius_m\":10,"
                                  "\"shape\":{\"type\":\"Polygon\",\"coordinates\":[[[119.6,49.1],"
                                  "[119.61,49.1],[119.61,49.11],[119.6,49.1]]]}}",
                                  &st, &code),
                     -1);
    assert_string_equal(code, "invalid_field");
    assert_int_equal(station_from("{\"id\":\"S\",\"enterprise_id\":\"E1\",\"name\":\"D\","
                                  "\"center\":{\"lon\":119.6,\"lat\":49.1},\"radius_m\":5001}",
                                  &st, &code),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_inspection_due_day, setup),
        cmocka_unit_test_setup(test_service_life_and_its_cap, setup),
        cmocka_unit_test_setup(test_status_owner_blacklist, setup),
        cmocka_unit_test_setup(test_hand_over_radius_age_speed, setup),
        cmocka_unit_test_setup(test_hand_over_who_and_what, setup),
        cmocka_unit_test_setup(test_loading, setup),
        cmocka_unit_test_setup(test_collecting_empties, setup),
        cmocka_unit_test_setup(test_at_station, setup),
        cmocka_unit_test_setup(test_station_json, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
