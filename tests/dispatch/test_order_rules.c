/*
 * test_order_rules.c - the order-creation rules (order_rules.c): a valid order is accepted; one
 * case per refusal code (each a change to a valid fixture, with the code, field and message
 * expected); every documented code is covered; the check order; re-inspection orders; contract
 * validity at local-day boundaries (UTC+8).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/order_rules.h"

/* ---- fixtures ---- */

/* Supply area: a box around Hailar, 119.0..120.5 E, 48.9..49.5 N (open ring). */
static const struct geo_point area_pts[] = {
    {119.0, 48.9}, {120.5, 48.9}, {120.5, 49.5}, {119.0, 49.5}};
static struct geo_polygon area_poly;

static struct lpg_enterprise ent;
static struct lpg_customer cust;
static struct lpg_order ord;
static int64_t now_ms;

static int32_t day_of(const char *ymd)
{
    int32_t d;
    assert_int_equal(lpg_day_parse(ymd, &d), 0);
    return d;
}

/* UTC ms of a local (UTC+8) date and time. */
static int64_t local_ms(const char *ymd, int hh, int mm)
{
    return (int64_t)day_of(ymd) * 86400000 + ((int64_t)hh * 60 + mm - 480) * 60000;
}

static int setup(void **state)
{
    (void)state;
    memset(&ent, 0, sizeof(ent));
    strcpy(ent.id, "E1");
    strcpy(ent.name, "Hailar Gas");
    ent.utc_offset_min = 480;
    ent.licence_expiry_day = LPG_DAY_NONE;
    area_poly = (struct geo_polygon){.outer = {area_pts, 4}};
    ent.area.mp = (struct geo_multipolygon){&area_poly, 1};
    assert_int_equal(lpg_geometry_finish(&ent.area), GEO_OK); /* arrays are static: never freed */

    memset(&cust, 0, sizeof(cust));
    strcpy(cust.id, "C12");
    strcpy(cust.enterprise_id, "E1");
    strcpy(cust.name, "Zhang San");
    cust.kind = LPG_CUSTOMER_HOUSEHOLD;
    cust.location = (struct geo_point){119.7654, 49.2123};
    strcpy(cust.contract_no, "SC-9");
    cust.contract_from_day = day_of("2026-01-01");
    cust.contract_to_day = day_of("2026-10-31");
    cust.status = LPG_CUSTOMER_ACTIVE;
    cust.licence_expiry_day = LPG_DAY_NONE;

    memset(&ord, 0, sizeof(ord));
    strcpy(ord.id, "O1");
    strcpy(ord.enterprise_id, "E1");
    strcpy(ord.customer_id, "C12");
    ord.kind = LPG_ORDER_DELIVERY;
    strcpy(ord.items[0].spec, "YSP-35.5");
    ord.items[0].count = 2;
    strcpy(ord.items[1].spec, "YSP-12");
    ord.items[1].count = 1;
    ord.n_items = 2;
    now_ms = local_ms("2026-06-01", 10, 0);
    ord.window_start_ms = local_ms("2026-06-01", 14, 0);
    ord.window_end_ms = local_ms("2026-06-01", 18, 0);
    return 0;
}

static int check(struct order_refusal *r)
{
    memset(r, 0, sizeof(*r));
    return order_rules_check(&ent, &cust, &ord, now_ms, r);
}

/* ---- one case per refusal ---- */

struct refusal_case {
    const char *name;
    void (*mutate)(void);
    const char *code;
    const char *field;   /* NULL: none */
    const char *message; /* exact */
};

static void m_bad_kind(void)
{
    ord.kind = (enum lpg_order_kind)7;
}
static void m_too_many(void)
{
    ord.n_items = LPG_ORDER_ITEMS_MAX + 1;
}
static void m_reinspection_items(void)
{
    ord.kind = LPG_ORDER_REINSPECTION;
}
static void m_no_items(void)
{
    ord.n_items = 0;
}
static void m_count_zero(void)
{
    ord.items[1].count = 0;
}
static void m_count_high(void)
{
    ord.items[0].count = ORDER_RULES_ITEM_COUNT_MAX + 1;
}
static void m_unknown_spec(void)
{
    strcpy(ord.items[1].spec, "YSP-99");
}
static void m_duplicate_spec(void)
{
    strcpy(ord.items[1].spec, "YSP-35.5");
}
static void m_window_reversed(void)
{
    ord.window_end_ms = local_ms("2026-06-01", 13, 30);
}
static void m_window_negative(void)
{
    ord.window_start_ms = -5;
}
static void m_window_past(void)
{
    ord.window_start_ms = 0;
    ord.window_end_ms = local_ms("2026-06-01", 9, 0);
}
static void m_enterprise(void)
{
    strcpy(ord.enterprise_id, "E2");
}
static void m_customer(void)
{
    strcpy(ord.customer_id, "C13");
}
static void m_customer_other_enterprise(void)
{
    strcpy(cust.enterprise_id, "E2");
}
static void m_licence_expired(void)
{
    strcpy(ent.licence_no, "GL-15-0001");
    ent.licence_expiry_day = day_of("2026-05-31"); /* now is 2026-06-01 10:00 local */
}
static void m_reseller_unlicensed(void)
{
    cust.kind = LPG_CUSTOMER_RESELLER;
}
static void m_reseller_expired(void)
{
    cust.kind = LPG_CUSTOMER_RESELLER;
    strcpy(cust.licence_no, "GL-R-7");
    cust.licence_expiry_day = day_of("2026-05-31");
}
static void m_no_contract(void)
{
    cust.contract_no[0] = '\0';
}
static void m_contract_expired(void)
{
    now_ms = local_ms("2026-11-01", 0, 0);
    ord.window_start_ms = ord.window_end_ms = 0;
}
static void m_contract_future(void)
{
    cust.contract_from_day = day_of("2026-06-02");
}
static void m_suspended(void)
{
    cust.status = LPG_CUSTOMER_SUSPENDED;
    strcpy(cust.suspended_reason, "hose through a wall (notice RN-3)");
}
static void m_suspended_no_reason(void)
{
    cust.status = LPG_CUSTOMER_SUSPENDED;
}
static void m_underground(void)
{
    cust.premises = LPG_PREMISES_UNDERGROUND;
}
static void m_semi_underground(void)
{
    cust.premises = LPG_PREMISES_SEMI_UNDERGROUND;
}
static void m_high_rise(void)
{
    cust.premises = LPG_PREMISES_HIGH_RISE_RESIDENTIAL;
}
/* §二(一)3: 高层民用建筑 is every high-rise civil building, a public one too. */
static void m_high_rise_public(void)
{
    cust.premises = LPG_PREMISES_HIGH_RISE_PUBLIC;
}
static void m_two_phase(void)
{
    cust.kind = LPG_CUSTOMER_RESTAURANT;
    strcpy(ord.items[1].spec, "YSP-118-II");
}
static void m_outside(void)
{
    cust.location = (struct geo_point){121.0, 49.2};
}
static void m_no_area(void)
{
    memset(&ent.area, 0, sizeof(ent.area));
}

static const struct refusal_case cases[] = {
    {"kind", m_bad_kind, "invalid_order_kind", "kind", "order O1 has an unknown kind (7)"},
    {"too many items", m_too_many, "too_many_items", "items",
     "order O1 has 9 items; at most 8 distinct cylinder specs (LPG_ORDER_ITEMS_MAX) are allowed"},
    {"re-inspection with items", m_reinspection_items, "reinspection_with_items", "items",
     "re-inspection order O1 carries cylinders; a re-inspection is a visit only: deliver on a "
     "separate order once the check has passed"},
    {"no items", m_no_items, "no_items", "items",
     "delivery order O1 has no items: give at least one cylinder spec and count"},
    {"count 0", m_count_zero, "invalid_item_count", "items[1].count",
     "item 1 (YSP-12) asks for 0 cylinders; each item takes 1 to 50 (ORDER_RULES_ITEM_COUNT_MAX)"},
    {"count 51", m_count_high, "invalid_item_count", "items[0].count",
     "item 0 (YSP-35.5) asks for 51 cylinders; each item takes 1 to 50 "
     "(ORDER_RULES_ITEM_COUNT_MAX)"},
    {"unknown spec", m_unknown_spec, "unknown_cylinder_spec", "items[1].spec",
     "item 1: unknown cylinder spec \"YSP-99\""},
    {"duplicate spec", m_duplicate_spec, "duplicate_cylinder_spec", "items[1].spec",
     "cylinder spec YSP-35.5 is listed in items 0 and 1; give each spec once with its total "
     "count"},
    {"window reversed", m_window_reversed, "invalid_window", "window_end",
     "order O1: the delivery window ends (2026-06-01 13:30) before it starts (2026-06-01 14:00)"},
    {"window negative", m_window_negative, "invalid_window", "window_start",
     "order O1: a delivery window instant is before 1970"},
    {"window past", m_window_past, "window_in_past", "window_end",
     "order O1: the delivery window ended at 2026-06-01 09:00, before the order was created"},
    {"enterprise", m_enterprise, "enterprise_mismatch", "enterprise_id",
     "order O1 is for enterprise E2, checked against enterprise E1"},
    {"customer", m_customer, "customer_mismatch", "customer_id",
     "order O1 is for customer C13, checked against customer C12"},
    {"customer of another enterprise", m_customer_other_enterprise, "customer_not_in_enterprise",
     "customer_id", "customer C12 is not a customer of enterprise E1"},
    {"enterprise licence expired", m_licence_expired, "enterprise_licence_expired", "enterprise_id",
     "enterprise E1's gas business licence GL-15-0001 expired on 2026-05-31"},
    {"no contract", m_no_contract, "no_supply_contract", "customer_id",
     "customer C12 has no supply contract"},
    {"contract expired", m_contract_expired, "supply_contract_not_in_force", "customer_id",
     "customer C12's supply contract SC-9 expired on 2026-10-31"},
    {"contract not started", m_contract_future, "supply_contract_not_in_force", "customer_id",
     "customer C12's supply contract SC-9 only starts on 2026-06-02"},
    {"reseller without a licence", m_reseller_unlicensed, "reseller_unlicensed", "customer_id",
     "customer C12 is a reseller without a gas business licence (number and expiry)"},
    {"reseller's licence expired", m_reseller_expired, "reseller_licence_expired", "customer_id",
     "customer C12's gas business licence GL-R-7 expired on 2026-05-31"},
    {"suspended", m_suspended, "customer_suspended", "customer_id",
     "supply to customer C12 is suspended: hose through a wall (notice RN-3); a passing "
     "re-inspection lifts it"},
    {"suspended, no reason", m_suspended_no_reason, "customer_suspended", "customer_id",
     "supply to customer C12 is suspended: no reason recorded; a passing re-inspection lifts it"},
    {"underground", m_underground, "premises_underground", "customer_id",
     "customer C12's premises are underground: bottled LPG may not be supplied there"},
    {"semi-underground", m_semi_underground, "premises_semi_underground", "customer_id",
     "customer C12's premises are semi-underground: bottled LPG may not be supplied there"},
    {"high-rise", m_high_rise, "premises_high_rise_residential", "customer_id",
     "customer C12's premises are in a high-rise residential building: bottled LPG may not be "
     "supplied there"},
    {"high-rise public", m_high_rise_public, "premises_high_rise_public", "customer_id",
     "customer C12's premises are in a high-rise public building: bottled LPG may not be "
     "supplied there"},
    {"two-phase to restaurant", m_two_phase, "two_phase_cylinder_to_restaurant", "items[1].spec",
     "YSP-118-II is a gas-liquid two-phase cylinder and customer C12 is a restaurant: two-phase "
     "cylinders are never supplied to restaurants"},
    {"outside area", m_outside, "outside_service_area", "customer_id",
     "customer C12's location (lon 121.000000, lat 49.200000) is outside enterprise E1's "
     "supply area"},
    {"no area", m_no_area, "outside_service_area", "customer_id",
     "enterprise E1 has no supply area"},
};

static void test_valid_order_accepted(void **state)
{
    (void)state;
    struct order_refusal r;
    assert_int_equal(check(&r), 0);
    assert_null(r.code); /* untouched */
}

static void test_each_refusal(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup(NULL);
        cases[i].mutate();
        struct order_refusal r;
        if (check(&r) != -1)
            fail_msg("case \"%s\" was accepted", cases[i].name);
        if (strcmp(r.code, cases[i].code) != 0)
            fail_msg("case \"%s\": code %s, expected %s", cases[i].name, r.code, cases[i].code);
        if (cases[i].field == NULL)
            assert_null(r.field);
        else
            assert_string_equal(r.field, cases[i].field);
        assert_string_equal(r.message, cases[i].message);
    }
}

/* Every documented code has a case, and the cases only use documented codes. */
static void test_codes_covered(void **state)
{
    (void)state;
    size_t n = 0;
    for (const char *code; (code = order_rules_code(n)) != NULL; n++) {
        bool found = false;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !found; i++)
            found = strcmp(cases[i].code, code) == 0;
        if (!found)
            fail_msg("code %s has no test case", code);
    }
    assert_int_equal(n, 24);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool found = false;
        for (size_t k = 0; order_rules_code(k) != NULL && !found; k++)
            found = strcmp(order_rules_code(k), cases[i].code) == 0;
        assert_true(found);
    }
}

/* The rules run in the documented order: with several failing, the first is reported. */
static void test_first_failure_wins(void **state)
{
    (void)state;
    struct order_refusal r;
    m_outside();
    m_underground();
    m_suspended();
    m_no_contract();
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "no_supply_contract");
    m_unknown_spec();
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "unknown_cylinder_spec");

    /* premises before two-phase; of the premises flags, underground first */
    setup(NULL);
    m_two_phase();
    cust.premises = LPG_PREMISES_UNDERGROUND | LPG_PREMISES_HIGH_RISE_RESIDENTIAL;
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "premises_underground");
}

static void test_reinspection(void **state)
{
    (void)state;
    struct order_refusal r;
    /* a re-inspection of a suspended customer, without items: accepted */
    m_suspended();
    ord.kind = LPG_ORDER_REINSPECTION;
    ord.n_items = 0;
    assert_int_equal(check(&r), 0);
    /* the other rules still apply */
    m_underground();
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "premises_underground");
    cust.premises = 0;
    m_no_contract();
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "no_supply_contract");
    /* a delivery order for the same suspended customer is refused */
    setup(NULL);
    m_suspended();
    assert_int_equal(check(&r), -1);
    assert_string_equal(r.code, "customer_suspended");
}

/* In force from contract_from_day 00:00 to contract_to_day 24:00 local time (UTC+8). */
static void test_contract_days(void **state)
{
    (void)state;
    struct order_refusal r;
    ord.window_start_ms = ord.window_end_ms = 0;
    const struct {
        int64_t now;
        int rc;
    } steps[] = {
        {local_ms("2025-12-31", 23, 59), -1}, /* 2025-12-31T15:59Z */
        {local_ms("2026-01-01", 0, 0), 0},    /* 2025-12-31T16:00Z: already Jan 1 locally */
        {local_ms("2026-10-31", 23, 59), 0},
        {local_ms("2026-11-01", 0, 0), -1}, /* 2026-10-31T16:00Z: expired locally */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        now_ms = steps[i].now;
        assert_int_equal(check(&r), steps[i].rc);
        if (steps[i].rc != 0)
            assert_string_equal(r.code, "supply_contract_not_in_force");
    }
    /* open-ended contracts */
    cust.contract_from_day = LPG_DAY_NONE;
    cust.contract_to_day = LPG_DAY_NONE;
    now_ms = local_ms("2040-01-01", 12, 0);
    assert_int_equal(check(&r), 0);
}

/* Boundary of the service area counts as inside (geo's closed-set rule); open windows. */
static void test_edges(void **state)
{
    (void)state;
    struct order_refusal r;
    cust.location = (struct geo_point){120.5, 49.0};
    assert_int_equal(check(&r), 0);
    ord.window_start_ms = 0;
    ord.window_end_ms = 0;
    assert_int_equal(check(&r), 0);
    ord.window_start_ms = local_ms("2026-06-02", 8, 0); /* open end */
    assert_int_equal(check(&r), 0);
    /* a two-phase cylinder is fine for a household, and a restaurant may have YSP-118 */
    strcpy(ord.items[1].spec, "YSP-118-II");
    assert_int_equal(check(&r), 0);
    cust.kind = LPG_CUSTOMER_RESTAURANT;
    strcpy(ord.items[1].spec, "YSP-118");
    assert_int_equal(check(&r), 0);
    /* a count at the cap */
    ord.items[0].count = ORDER_RULES_ITEM_COUNT_MAX;
    assert_int_equal(check(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_valid_order_accepted, setup),
        cmocka_unit_test_setup(test_each_refusal, setup),
        cmocka_unit_test_setup(test_codes_covered, setup),
        cmocka_unit_test_setup(test_first_failure_wins, setup),
        cmocka_unit_test_setup(test_reinspection, setup),
        cmocka_unit_test_setup(test_contract_days, setup),
        cmocka_unit_test_setup(test_edges, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
